"""NMF pooling (Bacciu & Di Sotto, AI*IA 2019): NNDSVDa, the multiplicative updates, the
assignment and the pooled graph against a dense float64 reference written from the equations (and
against scikit-learn's ``non_negative_factorization`` where it is installed); the updates never
raise the error; small graphs, batching, permutation equivariance on graphs whose singular values
repeat, gradients, edge features, sizes, the sparse path of large graphs, bad arguments and a model using it (the
pooler contract runs in ``tests/nn/test_contract.py``).

torch-geometric-pool (tgp) is not installed here, so nothing is compared with its ``NMFPooling``.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from hipool import ModelConfig
from hipool.nn import build_model
from hipool.nn.nmf import NMFPool, nmf_mu, nndsvd_init
from tests.nn.graphs import sym as _sym

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------------------
# graphs
# ---------------------------------------------------------------------------


def _directed(n: int, seed: int, p: float = 0.3):
    """A random directed graph with random positive weights: distinct singular values, no ties."""
    g = torch.Generator().manual_seed(seed)
    m = torch.rand(n, n, generator=g) < p
    m[torch.arange(n), (torch.arange(n) + 1) % n] = True
    e = m.nonzero().t()
    return (
        torch.randn(n, 4, generator=g),
        e,
        torch.rand(e.size(1), generator=g) + 0.25,
        torch.randn(e.size(1), 3, generator=g),
    )


def _ring(n: int, seed: int):
    """A ring, edges both ways, unit weights: every singular value but the largest repeats."""
    g = torch.Generator().manual_seed(seed)
    s = torch.arange(n)
    e = _sym(torch.stack([s, (s + 1) % n]))
    return torch.randn(n, 4, generator=g), e, torch.ones(e.size(1)), torch.randn(e.size(1), 3, generator=g)


def _batch(graphs):
    xs, es, ws, eas, bs, off = [], [], [], [], [], 0
    for i, (x, e, w, ea) in enumerate(graphs):
        xs.append(x), es.append(e + off), ws.append(w), eas.append(ea)
        bs.append(torch.full((x.size(0),), i))
        off += x.size(0)
    return torch.cat(xs), torch.cat(es, 1), torch.cat(ws), torch.cat(eas), torch.cat(bs)


def _dense(e: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    v = values.double()
    out = torch.zeros(n, n, *v.shape[1:], dtype=torch.float64)
    out.index_put_((e[0], e[1]), v, accumulate=True)
    return out


# ---------------------------------------------------------------------------
# the reference, from the equations
# ---------------------------------------------------------------------------
def _ref_nndsvda(A: torch.Tensor, k: int):
    """Boutsidis & Gallopoulos (2008), scikit-learn's variant: the larger non-negative part of each
    singular triplet, entries below 1e-6 replaced by the mean of A."""
    U, s, Vh = torch.linalg.svd(A)
    n = A.size(0)
    W, H = torch.zeros(n, k, dtype=A.dtype), torch.zeros(k, n, dtype=A.dtype)
    W[:, 0] = s[0].sqrt() * U[:, 0].abs()
    H[0] = s[0].sqrt() * Vh[0].abs()
    for j in range(1, k):
        x, y = U[:, j], Vh[j]
        xp, yp, xn, yn = x.clamp(min=0), y.clamp(min=0), (-x).clamp(min=0), (-y).clamp(min=0)
        mp, mn = xp.norm() * yp.norm(), xn.norm() * yn.norm()
        u, v, sigma = (xp / xp.norm(), yp / yp.norm(), mp) if mp > mn else (xn / xn.norm(), yn / yn.norm(), mn)
        W[:, j] = (s[j] * sigma).sqrt() * u
        H[j] = (s[j] * sigma).sqrt() * v
    W[W < 1e-6] = A.mean()
    H[H < 1e-6] = A.mean()
    return W, H


def _ref_mu(A, W, H, max_iter: int, tol: float):
    """Lee & Seung's multiplicative updates; stop when the error fell by less than tol x the
    initial error over 10 updates."""
    err0 = prev = (A - W @ H).norm()
    for it in range(1, max_iter + 1):
        W = W * (A @ H.t()) / (W @ H @ H.t())
        H = H * (W.t() @ A) / (W.t() @ W @ H)
        if tol > 0 and it % 10 == 0:
            err = (A - W @ H).norm()
            if (prev - err) / err0 < tol:
                break
            prev = err
    return W, H


def _reference(x, e, w, ea, batch, k: int, *, max_iter=200, tol=1e-4, assignment="normalized", reduce="sum"):
    n = x.size(0)
    A = _dense(e, w, n)
    blocks = []
    for g in batch.unique():
        m = (batch == g).nonzero().view(-1)
        kg = min(k, m.numel())
        if kg == m.numel():
            blocks.append(torch.eye(kg, dtype=torch.float64))
            continue
        W, H = _ref_mu(A[m][:, m], *_ref_nndsvda(A[m][:, m], kg), max_iter, tol)
        S = H.t()
        blocks.append(S / S.sum(1, keepdim=True) if assignment == "normalized" else S)
    S = torch.block_diag(*blocks)
    X = S.t() @ x.double()
    if reduce == "mean":
        X = X / S.sum(0).view(-1, 1)
    off = ~torch.eye(S.size(1), dtype=torch.bool)
    Ap = (S.t() @ A @ S) * off
    Ep = torch.einsum("ia,ijd,jb->abd", S, _dense(e, ea, n), S) * off.unsqueeze(-1)
    return S, X, Ap, Ep


def _pooled(out):
    k = out.num_nodes
    return _dense(out.edge_index, out.edge_weight.detach(), k), _dense(out.edge_index, out.edge_attr.detach(), k)


def _global_s(out, batch):
    """The assignment over the output nodes, ``[N, N']`` (from the per-graph slots)."""
    k = torch.bincount(out.batch, minlength=int(batch.max()) + 1)
    offset = torch.cumsum(k, 0) - k
    S = torch.zeros(out.num_input_nodes, out.num_nodes, dtype=torch.float64)
    for i in range(out.num_input_nodes):
        g = int(batch[i])
        S[i, offset[g] : offset[g] + k[g]] = out.assignment[i, : k[g]].double()
    return S


# ---------------------------------------------------------------------------
# against the reference
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [{}, {"assignment": "raw"}, {"reduce": "mean", "tol": 0.0, "max_iter": 60}],
    ids=["default", "raw", "mean"],
)
def test_everything_matches_the_dense_reference(options):
    graphs = [_directed(n, seed) for seed, n in enumerate((11, 7, 3, 9))]
    x, e, w, ea, batch = _batch(graphs)
    out = NMFPool(4, 4, **options)(x.double(), e, edge_attr=ea.double(), batch=batch, edge_weight=w.double())
    out.validate(input_batch=batch)
    S, X, Ap, Ep = _reference(x, e, w, ea, batch, 4, **options)
    torch.testing.assert_close(_global_s(out, batch), S)
    torch.testing.assert_close(out.x.detach(), X)
    A_out, E_out = _pooled(out)
    torch.testing.assert_close(A_out, Ap)
    torch.testing.assert_close(E_out, Ep)
    assert torch.equal(out.cluster, S.argmax(1))
    assert torch.bincount(out.batch).tolist() == [4, 4, 3, 4]  # the 3-node graph keeps its nodes
    assert out.nmf_error[2] == 0 and (out.nmf_error[[0, 1, 3]] > 0).all()


def test_nndsvd_and_the_updates_match_scikit_learn():
    sklearn = pytest.importorskip("sklearn.decomposition")
    g = torch.Generator().manual_seed(3)
    A = (torch.rand(12, 12, generator=g) < 0.3).double() * torch.rand(12, 12, generator=g).double()
    x = torch.randn(12, 3, generator=g).double()
    for k in (2, 3, 5):
        w, h = nndsvd_init(A, k, x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning
            W, H, iters = sklearn.non_negative_factorization(
                A.numpy(), n_components=k, init="nndsvda", solver="mu", max_iter=200, tol=1e-4
            )
        w2, h2, _, it = nmf_mu(A[None], w[None], h[None], 200, 1e-4)
        assert int(it) == iters
        torch.testing.assert_close(w2[0], torch.from_numpy(W), atol=1e-10, rtol=1e-8)
        torch.testing.assert_close(h2[0], torch.from_numpy(H), atol=1e-10, rtol=1e-8)


def test_the_updates_never_raise_the_error():
    x, e, w, _ = _directed(15, 1)
    A = _dense(e, w, 15)
    W, H = nndsvd_init(A, 5, x.double())
    errors = [float(nmf_mu(A[None], W[None], H[None], t, 0.0)[2]) for t in (1, 2, 5, 10, 30, 100)]
    assert all(b <= a + 1e-12 for a, b in zip(errors, errors[1:]))
    assert errors[-1] < float((A - W @ H).norm())


# ---------------------------------------------------------------------------
# small graphs
# ---------------------------------------------------------------------------
def test_small_graphs_keep_their_nodes_and_one_cluster_takes_all():
    x, e, w, ea = _directed(5, 0)
    out = NMFPool(4, 5)(x, e, edge_attr=ea, edge_weight=w)
    assert torch.equal(out.assignment, torch.eye(5)) and out.cluster.tolist() == [0, 1, 2, 3, 4]
    torch.testing.assert_close(out.x, x)
    torch.testing.assert_close(_pooled(out)[0], _dense(e, w, 5) * (1 - torch.eye(5, dtype=torch.float64)))
    one = NMFPool(4, 1)(x, e, edge_weight=w)
    torch.testing.assert_close(one.assignment, torch.ones(5, 1))
    torch.testing.assert_close(one.x, x.sum(0, keepdim=True))
    assert one.edge_index.size(1) == 0
    single = NMFPool(4, 3)(x[:1], torch.empty(2, 0, dtype=torch.long))
    assert single.num_nodes == 1 and single.cluster.tolist() == [0]
    empty = NMFPool(4, 3)(x[:0], torch.empty(2, 0, dtype=torch.long), edge_attr=torch.empty(0, 3))
    assert empty.num_nodes == 0 and empty.edge_attr.shape == (0, 3)
    # no edges and fewer clusters than nodes: nothing to factorise, every node spread evenly
    flat = NMFPool(4, 2)(x, torch.empty(2, 0, dtype=torch.long), edge_attr=torch.empty(0, 3))
    torch.testing.assert_close(flat.assignment, torch.full((5, 2), 0.5))
    assert flat.edge_index.size(1) == 0 and flat.edge_attr.shape == (0, 3)
    # half-precision features (no parameters to disagree with): products in float32, outputs in half
    half = NMFPool(4, 2)(x.half(), e, edge_attr=ea.half(), edge_weight=w.half())
    assert half.x.dtype == half.edge_weight.dtype == half.edge_attr.dtype == torch.float16
    torch.testing.assert_close(
        half.x.float(), NMFPool(4, 2)(x, e, edge_weight=w.half().float()).x, atol=2e-2, rtol=1e-2
    )


# ---------------------------------------------------------------------------
# batching, equivariance, gradients
# ---------------------------------------------------------------------------
def test_a_batch_gives_what_each_graph_gives_alone():
    graphs = [_ring(8, 0), _directed(13, 1), _directed(2, 2), _ring(6, 3), _directed(20, 4)]
    x, e, w, ea, batch = _batch(graphs)
    pool = NMFPool(4, 3)
    whole = pool(x, e, edge_attr=ea, batch=batch, edge_weight=w)
    whole.validate(input_batch=batch)
    start = 0
    for g, (xg, eg, wg, eag) in enumerate(graphs):
        alone = pool(xg, eg, edge_attr=eag, edge_weight=wg)
        mine = whole.batch == g
        off = int(mine.nonzero()[0])
        n = xg.size(0)
        torch.testing.assert_close(whole.assignment[start : start + n, : alone.assignment.size(1)], alone.assignment)
        torch.testing.assert_close(whole.x[mine], alone.x)
        assert torch.equal(whole.cluster[start : start + n] - off, alone.cluster)
        keep = whole.batch[whole.edge_index[0]] == g
        assert torch.equal(whole.edge_index[:, keep] - off, alone.edge_index)
        torch.testing.assert_close(whole.edge_weight[keep], alone.edge_weight)
        torch.testing.assert_close(whole.edge_attr[keep], alone.edge_attr)
        start += n


@pytest.mark.parametrize("make", [_ring, _directed], ids=["ring (repeated singular values)", "directed"])
def test_permuting_the_nodes_permutes_the_assignment(make):
    x, e, w, ea = make(10, 7)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(2))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(10)
    pool = NMFPool(4, 4)
    out = pool(x, e, edge_attr=ea, edge_weight=w)
    outp = pool(x[perm], inv[e], edge_attr=ea, edge_weight=w)
    torch.testing.assert_close(outp.assignment[inv], out.assignment, atol=1e-5, rtol=1e-4)
    assert torch.equal(outp.cluster[inv], out.cluster)
    torch.testing.assert_close(outp.x, out.x, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(_pooled(outp)[0], _pooled(out)[0], atol=1e-5, rtol=1e-4)


def test_repeated_singular_values_get_a_basis_from_the_features():
    """A ring's singular values repeat (2 twice, √2 four times, 0 twice for 8 nodes): the SVD's basis
    within each repeated value is the solver's, but the initialisation is not: another orthonormal
    basis of the same spaces gives the same W and H."""
    x, e, w, _ = _ring(8, 1)
    A = _dense(e, w, 8)
    U, sig, Vh = torch.linalg.svd(A)
    torch.testing.assert_close(sig, torch.tensor([2, 2, 2**0.5, 2**0.5, 2**0.5, 2**0.5, 0, 0], dtype=torch.float64))
    w0, h0 = nndsvd_init(A, 4, x.double())  # k = 4 cuts the group of √2 in two
    g = torch.Generator().manual_seed(0)
    Q = torch.zeros(8, 8, dtype=torch.float64)
    for a, b in ((0, 2), (2, 6), (6, 8)):
        Q[a:b, a:b] = torch.linalg.qr(torch.randn(b - a, b - a, generator=g, dtype=torch.float64))[0]
    torch.testing.assert_close((U @ Q) @ torch.diag(sig) @ (Vh.t() @ Q).t(), A)  # the same SVD
    from unittest import mock

    with mock.patch("torch.linalg.svd", return_value=(U @ Q, sig, (Vh.t() @ Q).t())):
        w1, h1 = nndsvd_init(A, 4, x.double())
    torch.testing.assert_close(w1, w0)
    torch.testing.assert_close(h1, h0)


def test_gradients_reach_the_features_weights_and_edge_features():
    x, e, w, ea = _directed(12, 5)
    x, w, ea = x.requires_grad_(), w.requires_grad_(), ea.requires_grad_()
    out = NMFPool(4, 3)(x, e, edge_attr=ea, edge_weight=w)
    gen = torch.Generator().manual_seed(0)
    loss = (out.x**2).sum() + out.unpool(out.x).sum()
    loss = loss + (out.edge_weight * torch.rand(out.edge_weight.shape, generator=gen)).sum()
    loss = loss + (out.edge_attr * torch.rand(out.edge_attr.shape, generator=gen)).sum()
    for grad in torch.autograd.grad(loss, (x, w, ea)):
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert list(NMFPool(4, 3).parameters()) == []


# ---------------------------------------------------------------------------
# options, sizes, limits, bad arguments
# ---------------------------------------------------------------------------
def test_options_and_sizes():
    graphs = [_directed(n, s) for s, n in enumerate((9, 6))]
    x, e, w, ea, batch = _batch(graphs)
    out = NMFPool(4, 4)(x, e, edge_attr=ea, batch=batch, edge_weight=w, sizes=torch.tensor([2, 6]))
    assert torch.bincount(out.batch).tolist() == [2, 4]
    none = NMFPool(4, 4, pool_edge_attr=False)(x, e, edge_attr=ea, batch=batch, edge_weight=w)
    assert none.edge_attr is None
    loops = NMFPool(4, 4, keep_self_loops=True)(x, e, batch=batch, edge_weight=w)
    assert (loops.edge_index[0] == loops.edge_index[1]).any()
    S = _global_s(loops, batch)
    torch.testing.assert_close(
        _dense(loops.edge_index, loops.edge_weight, loops.num_nodes), S.t() @ _dense(e, w, 15) @ S
    )
    with pytest.raises(ValueError, match=r"^NMFPool: 'edge_weight' must be >= 0 \(NMF factorises"):
        NMFPool(4, 4)(x, e, batch=batch, edge_weight=-w)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"in_channels": 0}, "'in_channels'"),
        ({"num_clusters": 0}, "'num_clusters'"),
        ({"num_clusters": 0.5}, "'num_clusters'"),
        ({"num_clusters": True}, "'num_clusters'"),
        ({"max_iter": 0}, "'max_iter'"),
        ({"tol": -1e-3}, "'tol'"),
        ({"tol": float("nan")}, "'tol'"),
        ({"assignment": "softmax"}, "'assignment'"),
        ({"reduce": "max"}, "'reduce'"),
        ({"pool_edge_attr": "yes"}, "'pool_edge_attr'"),
        ({"keep_self_loops": 0}, "'keep_self_loops'"),
        ({"dense_max_nodes": 0}, "'dense_max_nodes'"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, name):
    args = {"in_channels": 4, "num_clusters": 3, **kwargs}
    with pytest.raises(ValueError, match=f"^NMFPool: {name}"):
        NMFPool(args.pop("in_channels"), args.pop("num_clusters"), **args)


# ---------------------------------------------------------------------------
# a model that uses it (the contract runs in tests/nn/test_contract.py)
# ---------------------------------------------------------------------------
def test_a_model_with_two_levels():
    cfg = ModelConfig(pool="nmf", schedule=[4, 2], hidden=8, conv="gcn")
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(cfg, 4, 3)
    x, e, w, ea, batch = _batch([_ring(8, 0), _directed(10, 1)])
    logits = model(x, e, batch)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
