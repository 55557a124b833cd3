"""hipool.nn.cluster_core: the pooled products of a sparse clustering, against plain autograd."""

from functools import partial

import pytest
import torch
from torch_geometric.utils import to_dense_adj

from hipool.nn.cluster_core import LinearLogits, pieces, sparse_products
from hipool.nn.losses import EPS, row_entropy

D = torch.float64


def _batch(sizes, p=0.5, seed=0, loops=False, symmetric=False):
    """A batch of random directed graphs with ``sizes`` nodes each, positive edge weights;
    ``symmetric``: undirected, both directions stored with equal weights, sorted by (row, col)
    as PyG's ``coalesce`` leaves them."""
    g = torch.Generator().manual_seed(seed)
    edges, weights, offset = [], [], 0
    for n in sizes:
        a = torch.rand(n, n, generator=g) < p
        wn = torch.rand(n, n, generator=g, dtype=D) + 0.1
        if symmetric:
            a, wn = a | a.t(), wn + wn.t()
        if not loops:
            a.fill_diagonal_(False)
        edges.append(a.nonzero().t() + offset)
        weights.append(wn[a])
        offset += n
    ei = torch.cat(edges, 1) if edges else torch.zeros(2, 0, dtype=torch.long)
    w = torch.cat(weights) if weights else torch.zeros(0, dtype=D)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return ei, w, batch, torch.tensor(sizes)


def _reference(S, x, d, ei, w, batch, counts):
    """The same products by plain autograd on dense per-graph blocks."""
    adj = to_dense_adj(ei, batch, w, batch_size=counts.numel(), max_num_nodes=int(counts.max()))
    outs = {"adj": [], "gram": [], "x": [], "degree": [], "size": []}
    start = 0
    for g, n in enumerate(counts.tolist()):
        s = S[start : start + n]
        outs["adj"].append(s.t() @ adj[g, :n, :n] @ s)
        outs["gram"].append(s.t() @ s)
        outs["x"].append(s.t() @ x[start : start + n])
        outs["degree"].append(s.t() @ d[start : start + n])
        outs["size"].append(s.sum(0))
        start += n
    return {k: torch.stack(v) for k, v in outs.items()}


@pytest.mark.parametrize(
    "counts, rows, expected",
    [
        ([10], 4, [(0, 10, 0, 1)]),
        ([3, 0, 5, 2], 4, [(0, 3, 0, 2), (3, 8, 2, 3), (8, 10, 3, 4)]),
        ([1, 1, 1], 100, [(0, 3, 0, 3)]),
        ([2, 2, 2], 4, [(0, 4, 0, 2), (4, 6, 2, 3)]),
        ([0, 0], 4, []),
        ([4], 0, [(0, 4, 0, 1)]),
    ],
)
def test_pieces_are_runs_of_graphs_or_one_large_graph(counts, rows, expected):
    assert pieces(counts, rows) == expected


@pytest.fixture(params=[False, True], ids=["directed", "undirected"])
def symmetric(request, monkeypatch):
    """Both backward paths: an undirected graph takes ``(A S)(Gᵀ + G)`` (checked to be taken)."""
    import hipool.nn.cluster_core as core

    taken = []
    real = core._same_matrix
    monkeypatch.setattr(core, "_same_matrix", lambda a, b: taken.append((real(a, b), a.col.numel())) or taken[-1][0])
    yield request.param
    assert taken and all(same == request.param or edges == 0 for same, edges in taken)  # no edges: A = Aᵀ


@pytest.mark.parametrize("sizes", [[7], [5, 1, 6, 4], [1], [3, 0, 4]])
@pytest.mark.parametrize("piece_elements", [1, 12, 1 << 20])  # a piece of one row; a few rows; all
def test_products_match_plain_autograd(sizes, piece_elements, symmetric):
    C = 3 if min(sizes) else 2
    ei, w, batch, counts = _batch([n for n in sizes], seed=len(sizes), symmetric=symmetric)
    N = int(counts.sum())
    g = torch.Generator().manual_seed(1)
    S = torch.softmax(torch.randn(N, C, generator=g, dtype=D), -1).requires_grad_()
    x = torch.randn(N, 4, generator=g, dtype=D, requires_grad=True)
    d = torch.rand(N, generator=g, dtype=D, requires_grad=True)
    w.requires_grad_()
    p = sparse_products(S, x, d, ei, w, batch, counts, piece_elements=piece_elements)
    ref = _reference(S, x, d, ei, w, batch, counts)
    weights = {k: torch.randn(v.shape, generator=g, dtype=D) for k, v in ref.items()}
    got = sum((getattr(p, k) * v).sum() for k, v in weights.items())
    want = sum((ref[k] * v).sum() for k, v in weights.items())
    for k in ref:
        torch.testing.assert_close(getattr(p, k), ref[k])
    grads = torch.autograd.grad(got, (S, x, d, w))
    ref_grads = torch.autograd.grad(want, (S, x, d, w))
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("sizes", [[6], [4, 1, 5]])
def test_products_gradcheck(sizes, symmetric):
    ei, w, batch, counts = _batch(sizes, seed=3, symmetric=symmetric)
    N, C = int(counts.sum()), 2
    g = torch.Generator().manual_seed(2)
    S = torch.rand(N, C, generator=g, dtype=D, requires_grad=True)
    x = torch.randn(N, 2, generator=g, dtype=D, requires_grad=True)
    d = torch.rand(N, generator=g, dtype=D, requires_grad=True)
    w.requires_grad_()

    def f(S, x, d, w):
        return tuple(sparse_products(S, x, d, ei, w, batch, counts, piece_elements=6))

    assert torch.autograd.gradcheck(f, (S, x, d, w))


@pytest.mark.parametrize("sizes", [[6], [4, 1, 5], [3, 0, 4]])
def test_logits_in_place_softmax_gradcheck(sizes):
    ei, w, batch, counts = _batch(sizes, seed=4)
    N, C = int(counts.sum()), 3
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(N, C, generator=g, dtype=D, requires_grad=True)
    x = torch.randn(N, 2, generator=g, dtype=D)
    d = torch.rand(N, generator=g, dtype=D)
    # A weighted S enters the loss too: the gradient of the returned S joins that of the products.
    probe = torch.randn(N, C, generator=g, dtype=D)

    def f(logits):
        p = sparse_products(logits * 1, x, d, ei, w, batch, counts, logits=True, piece_elements=6)
        return (p.adj, p.gram, p.x, p.degree, p.size, (p.S * probe).sum())

    assert torch.autograd.gradcheck(f, (logits,))
    p = sparse_products(logits * 1, x, d, ei, w, batch, counts, logits=True)
    ref = sparse_products(torch.softmax(logits, -1), x, d, ei, w, batch, counts)
    for a, b in zip(p, ref):
        torch.testing.assert_close(a, b)


def test_logits_masked_clusters_get_no_gradient():
    ei, w, batch, counts = _batch([5], seed=6)
    logits = torch.randn(5, 3, dtype=D, requires_grad=True)
    masked = logits.masked_fill(torch.tensor([False, False, True]), float("-inf"))
    p = sparse_products(masked, None, torch.ones(5, dtype=D), ei, w, batch, counts, logits=True)
    assert torch.all(p.S[:, 2] == 0)
    (p.adj.sum() + p.gram.sum()).backward()
    assert torch.isfinite(logits.grad).all() and torch.all(logits.grad[:, 2] == 0)


def test_logits_given_as_a_view_are_not_overwritten():
    ei, w, batch, counts = _batch([5], seed=7)
    wide = torch.randn(5, 4, dtype=D, requires_grad=True) * 1
    before = wide.detach().clone()
    p = sparse_products(wide[:, :3], None, torch.ones(5, dtype=D), ei, w, batch, counts, logits=True)
    torch.testing.assert_close(p.S, torch.softmax(before[:, :3], -1))
    assert torch.equal(wide.detach(), before)


def test_no_edges_and_repeated_edges():
    S = torch.softmax(torch.randn(3, 2, dtype=D), -1).requires_grad_()
    batch, counts = torch.zeros(3, dtype=torch.long), torch.tensor([3])
    none = torch.zeros(2, 0, dtype=torch.long)
    p = sparse_products(S, None, torch.zeros(3, dtype=D), none, None, batch, counts)
    assert torch.all(p.adj == 0)
    p.gram.sum().backward()
    # One node with a self-loop stored three times: more edges than entries of A.
    s1 = torch.ones(1, 1, dtype=D, requires_grad=True)
    ei = torch.zeros(2, 3, dtype=torch.long)
    w = torch.tensor([1.0, 2.0, 3.0], dtype=D, requires_grad=True)
    one = torch.zeros(1, dtype=torch.long)
    p = sparse_products(s1, None, torch.zeros(1, dtype=D), ei, w, one, torch.tensor([1]), piece_elements=1)
    assert float(p.adj.detach()) == 6.0
    p.adj.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0, 1.0] and float(s1.grad) == 12.0


@pytest.mark.parametrize("shape", [(7, 3), (2, 5, 4)])
def test_row_entropy_matches_plain_autograd(shape):
    g = torch.Generator().manual_seed(8)
    S = torch.softmax(torch.randn(*shape, generator=g, dtype=D), -1)
    S = (S * (torch.rand(shape[:-1], generator=g, dtype=D) > 0.3).unsqueeze(-1)).requires_grad_()  # zero rows
    want = (-S * torch.log(S + EPS)).sum(-1)
    got = row_entropy(S)
    torch.testing.assert_close(got, want)
    probe = torch.randn(want.shape, generator=g, dtype=D)
    torch.testing.assert_close(
        torch.autograd.grad((got * probe).sum(), S)[0], torch.autograd.grad((want * probe).sum(), S)[0]
    )
    # Numerically only away from 0, where a step of the finite difference would leave the domain.
    assert torch.autograd.gradcheck(row_entropy, (S.detach().clamp_min(0.05).requires_grad_(),))


@pytest.mark.parametrize("sizes", [[6], [4, 1, 5], [3, 0, 4]])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shared", [False, True])  # the assignment reads the pooled features x
def test_linear_logits_gradcheck(sizes, bias, shared):
    ei, w, batch, counts = _batch(sizes, seed=9)
    N, C, F = int(counts.sum()), 3, 2
    g = torch.Generator().manual_seed(10)
    h = torch.randn(N, F, generator=g, dtype=D, requires_grad=True)
    W = torch.randn(C, F, generator=g, dtype=D, requires_grad=True)
    b = torch.randn(C, generator=g, dtype=D, requires_grad=True) if bias else None
    x = torch.randn(N, 2, generator=g, dtype=D, requires_grad=True)
    d = torch.rand(N, generator=g, dtype=D)
    mask = torch.ones(len(sizes), C, dtype=torch.bool)
    mask[-1, -1] = False  # the last graph may use two clusters only
    probe = torch.randn(N, C, generator=g, dtype=D)

    def f(h, x, W, *b):
        head = LinearLogits(h, W, b[0] if b else None, mask)
        p = sparse_products(head, h if shared else x, d, ei, w, batch, counts, piece_elements=6)
        return (p.adj, p.gram, p.x, p.degree, p.size, (p.S * probe).sum())

    inputs = (h, x, W) + ((b,) if bias else ())
    assert torch.autograd.gradcheck(f, inputs)
    # The same values and gradients as logits formed whole, masked, then softmaxed.
    logits = h @ W.t() + (b if bias else 0)
    logits = logits.masked_fill(~mask[batch], float("-inf"))
    ref = sparse_products(torch.softmax(logits, -1), h if shared else x, d, ei, w, batch, counts)
    got = f(*inputs)
    for a, r in zip(got[:5], ref[1:]):
        torch.testing.assert_close(a, r)
    want = sum(t.sum() for t in ref[1:]) + (ref.S * probe).sum()
    have = sum(t.sum() for t in got)
    grad = partial(torch.autograd.grad, inputs=inputs, materialize_grads=True)  # shared: x is unused
    for a, r in zip(grad(have), grad(want)):
        torch.testing.assert_close(a, r)


@pytest.mark.parametrize(
    "pooler, kwargs", [("DMoNPool", {}), ("MinCutPool", {}), ("MinCutPool", {"temp": 0.5}), ("DiffPool", {})]
)
def test_linear_assignment_path_equals_the_logits_path(pooler, kwargs):
    """A linear assignment on the sparse path forms its logits in chunks (LinearLogits); any other
    assignment forms them whole.  The same linear map down both paths gives the same results
    (the graph of 2 nodes uses 2 of the 4 clusters: the mask)."""
    import hipool.nn.clustering as cl

    ei, w, batch, counts = _batch([9, 2, 7], seed=11)
    x = torch.randn(int(counts.sum()), 5, dtype=D, requires_grad=True)
    torch.manual_seed(0)
    fused = getattr(cl, pooler)(5, 4, assign="linear", mode="sparse", **kwargs).double()
    plain = getattr(cl, pooler)(5, 4, assign="linear", mode="sparse", **kwargs).double()
    plain.load_state_dict(fused.state_dict())
    plain.assign.kind = "linear, whole"  # not "linear": the pooler calls the map and takes the logits
    results = []
    for pool in (fused, plain):
        out = pool(x, ei, None, batch, edge_weight=w)
        loss = out.x.sum() + sum(out.aux_losses.values()) + (out.assignment * out.assignment).sum()
        results.append((out, torch.autograd.grad(loss, [x] + list(pool.parameters()))))
    (a, ga), (b, gb) = results
    torch.testing.assert_close(a.x, b.x)
    torch.testing.assert_close(a.assignment, b.assignment)
    torch.testing.assert_close(a.edge_weight, b.edge_weight)
    for k in a.aux_losses:
        torch.testing.assert_close(a.aux_losses[k], b.aux_losses[k])
    for p, q in zip(ga, gb):
        torch.testing.assert_close(p, q)
