"""EigenPool (Ma et al., KDD 2019): the spectral partition on graphs with an obvious structure and
against a float64 reference embedding (every node nearest its own centroid), the subgraph
eigenvector operators, pooled features and ``A_coar`` against dense references written from the
paper's equations, batching, permutation equivariance, edge features, edge cases, bad arguments,
(the pooler contract runs in ``tests/nn/test_contract.py``)."""

from __future__ import annotations

import math

import pytest
import torch

from hipool.nn.eigenpool import EigenPool, spectral_partition, subgraph_modes
from hipool.nn.kmis import feature_key
from tests.nn.graphs import clique as _clique
from tests.nn.graphs import sym as _sym

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------------------
# graphs
# ---------------------------------------------------------------------------


def _cliques(sizes, bridges=True) -> torch.Tensor:
    """Cliques of ``sizes`` in a row, consecutive ones joined by one edge (both directions)."""
    es, off = [], 0
    for c, n in enumerate(sizes):
        es.append(_clique(n, off))
        if bridges and c + 1 < len(sizes):
            es.append(torch.tensor([[off + n - 1, off + n], [off + n, off + n - 1]]))
        off += n
    return torch.cat(es, 1)


def _random_graph(n: int, p: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    m = torch.triu(torch.rand(n, n, generator=g) < p, 1)
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n]) if n > 2 else torch.empty(2, 0, dtype=torch.long)
    return _sym(torch.cat([m.nonzero().t(), ring], 1))


def _weights(e: torch.Tensor, seed: int) -> torch.Tensor:
    """Random symmetric weights in [0.5, 1.5] (one per undirected pair): simple spectra."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = torch.minimum(e[0], e[1]), torch.maximum(e[0], e[1])
    key = lo * 1000 + hi
    uniq, inv = torch.unique(key, return_inverse=True)
    return (torch.rand(uniq.numel(), generator=g, dtype=torch.float64) + 0.5)[inv]


def _batch(graphs):
    """``[(x, e, w or None), ...]`` -> one batch ``(x, e, w, batch)``."""
    xs, es, ws, bs, off = [], [], [], [], 0
    for i, (x, e, w) in enumerate(graphs):
        xs.append(x), es.append(e + off), bs.append(torch.full((x.size(0),), i))
        ws.append(w if w is not None else torch.ones(e.size(1), dtype=x.dtype))
        off += x.size(0)
    return torch.cat(xs), torch.cat(es, 1), torch.cat(ws), torch.cat(bs)


def _graphs(seed=0, weighted=True):
    out = []
    for i, n in enumerate([9, 14, 11]):
        e = _random_graph(n, 0.3, seed + i)
        g = torch.Generator().manual_seed(100 + seed + i)
        x = torch.randn(n, 4, generator=g, dtype=torch.float64)
        out.append((x, e, _weights(e, seed + i) if weighted else None))
    return out


# ---------------------------------------------------------------------------
# dense references from the paper's equations
# ---------------------------------------------------------------------------
def _dense(e, n, w=None):
    A = torch.zeros(n, n, dtype=torch.float64)
    A.index_put_((e[0], e[1]), torch.ones(e.size(1), dtype=torch.float64) if w is None else w.double(), accumulate=True)
    return A


def _W(e, n, w=None):
    A = _dense(e, n, w)
    A.fill_diagonal_(0)
    return (A + A.t()) / 2


def _ref_theta(W: torch.Tensor, labels: torch.Tensor, H: int, x=None) -> torch.Tensor:
    """Θ from the paper, subgraph by subgraph (each subgraph connected, simple spectrum): column ``l``
    of node ``i`` is ``u_l`` of its subgraph's ``L = D - W`` at ``i``; ``u_1`` the constant ``1/√n_k``,
    the others with their largest entry positive (two entries of equal magnitude: the one with the
    larger feature key, :func:`~hipool.nn.kmis.feature_key` of ``x``, else the lower index); 0 past
    the subgraph's size."""
    theta = torch.zeros(W.size(0), H, dtype=torch.float64)
    key = feature_key(x) if x is not None else -torch.arange(W.size(0), dtype=torch.float64)
    for c in labels.unique():
        idx = (labels == c).nonzero().view(-1)
        Wk = W[idx][:, idx]
        _, U = torch.linalg.eigh(torch.diag(Wk.sum(1)) - Wk)
        theta[idx, 0] = 1 / math.sqrt(idx.numel())
        for mode in range(1, min(H, idx.numel())):
            u = U[:, mode]
            top = (u.abs() >= u.abs().max() - 1e-9).nonzero().view(-1)
            lead = top[key[idx[top]].argmax()]
            theta[idx, mode] = u * torch.sign(u[lead])
    return theta


def _ref_pool(x, e, n, labels, H, w=None, attr=None):
    """``X' = [Θ_1ᵀX | … | Θ_Hᵀ X]`` and ``A_coar = Sᵀ A_ext S`` (and ``Sᵀ E_c S`` off the diagonal)."""
    theta = _ref_theta(_W(e, n, w), labels, H, x)
    k = int(labels.max()) + 1
    S = torch.nn.functional.one_hot(labels, k).double()
    X = torch.cat([S.t() @ (theta[:, mode : mode + 1] * x.double()) for mode in range(H)], 1)
    A = _dense(e, n, w)
    ext = labels.view(-1, 1) != labels.view(1, -1)
    coar = S.t() @ (A * ext) @ S
    attrs = None
    if attr is not None:
        attrs = torch.stack([S.t() @ (_dense(e, n, attr[:, c]) * ext) @ S for c in range(attr.size(1))], -1)
    return X, coar, attrs


def _to_dense(out, k):
    A = torch.zeros(k, k, dtype=torch.float64)
    A[out.edge_index[0], out.edge_index[1]] = out.edge_weight.double()
    return A


def _ref_embedding(W: torch.Tensor, k: int) -> torch.Tensor:
    """NJW: unit rows of the eigenvectors of the k smallest eigenvalues of I - D^-1/2 W D^-1/2."""
    d = W.sum(1)
    dinv = torch.where(d > 0, d.rsqrt(), torch.zeros_like(d))
    L = torch.eye(W.size(0), dtype=W.dtype) - dinv.view(-1, 1) * W * dinv.view(1, -1)
    _, U = torch.linalg.eigh(L)
    Y = U[:, :k]
    return Y / Y.norm(dim=1, keepdim=True).clamp_min(1e-12)


# ---------------------------------------------------------------------------
# the partition
# ---------------------------------------------------------------------------
def test_two_cliques_are_the_two_clusters():
    e = _cliques([6, 5])
    x = torch.randn(11, 3)
    out = EigenPool(3, 2)(x, e)
    assert out.cluster.tolist() == [0] * 6 + [1] * 5
    assert out.x.shape == (2, 3)
    # the paper's A_coar: the one bridge, both directions, weight 1
    assert sorted(zip(out.edge_index[0].tolist(), out.edge_index[1].tolist())) == [(0, 1), (1, 0)]
    assert out.edge_weight.tolist() == [1.0, 1.0]
    assert out.assignment is None and out.aux_losses == {}


def test_three_cliques_in_a_row_and_components():
    e = _cliques([5, 6, 7])
    out = EigenPool(2, 3)(torch.randn(18, 2), e)
    assert out.cluster.tolist() == [0] * 5 + [1] * 6 + [2] * 7
    # three components, three clusters: the components, whatever the features
    e = _cliques([4, 4, 4], bridges=False)
    out = EigenPool(2, 3)(torch.zeros(12, 2), e)
    assert out.cluster.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert out.edge_index.numel() == 0


def test_every_node_is_nearest_its_own_centroid_of_a_reference_embedding():
    """Lloyd's fixed point, checked against an embedding computed here (float64 eigh)."""
    for seed in range(4):
        n, k = 16, 3
        e = _random_graph(n, 0.25, seed)
        w = _weights(e, seed)
        labels = spectral_partition(e, torch.zeros(n, dtype=torch.long), torch.tensor([k]), None, w)
        assert sorted(labels.unique().tolist()) == list(range(k))
        Y = _ref_embedding(_W(e, n, w), k)
        cent = torch.stack([Y[labels == c].mean(0) for c in range(k)])
        D = torch.cdist(Y, cent) ** 2
        own = D.gather(1, labels.view(-1, 1)).view(-1)
        assert (own <= D.min(1).values + 1e-7).all()


def test_exactly_k_nonempty_clusters_when_points_coincide():
    # a star: every leaf embeds at the same point, yet k clusters are made
    n = 9
    e = _sym(torch.stack([torch.zeros(n - 1, dtype=torch.long), torch.arange(1, n)]))
    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(0))
    out = EigenPool(2, 4)(x, e)
    assert torch.bincount(out.cluster).tolist().count(0) == 0 and out.num_nodes == 4
    # clusters are numbered by their smallest node
    firsts = [int((out.cluster == c).nonzero()[0]) for c in range(4)]
    assert firsts == sorted(firsts)


def test_partition_is_deterministic():
    x, e, w, b = _batch(_graphs())
    pool = EigenPool(4, 3)
    a, c = pool(x, e, batch=b, edge_weight=w), pool(x, e, batch=b, edge_weight=w)
    assert torch.equal(a.cluster, c.cluster) and torch.equal(a.x, c.x)


# ---------------------------------------------------------------------------
# the pooling operators, pooled features and adjacency against the paper
# ---------------------------------------------------------------------------
def test_subgraph_operators_match_the_reference():
    n = 15
    e = _cliques([5, 6, 4])
    w = _weights(e, 3)
    labels = torch.tensor([0] * 5 + [1] * 6 + [2] * 4)
    theta = subgraph_modes(e, labels, 3, 5, edge_weight=w)
    ref = _ref_theta(_W(e, n, w), labels, 5)
    torch.testing.assert_close(theta, ref, atol=1e-10, rtol=1e-10)
    # orthonormal columns per subgraph, and 0 past a subgraph's size (the 4-clique has no 5th mode)
    for c in range(3):
        t = theta[labels == c]
        m = min(5, t.size(0))
        torch.testing.assert_close(t[:, :m].t() @ t[:, :m], torch.eye(m, dtype=torch.float64), atol=1e-10, rtol=0)
    assert (theta[labels == 2, 4] == 0).all()


@pytest.mark.parametrize("H", [1, 3])
def test_pooled_features_and_coarse_adjacency_match_the_reference(H):
    x, e, w, b = _batch(_graphs(seed=1))
    attr = torch.randn(e.size(1), 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    out = EigenPool(4, 3, num_modes=H)(x, e, edge_attr=attr, batch=b, edge_weight=w)
    out.validate(b)
    assert out.x.shape == (9, 4 * H) and out.edge_attr.size(1) == 3
    n_all = x.size(0)
    Xr, Ar, Er = _ref_pool(x, e, n_all, out.cluster, H, w, attr)
    torch.testing.assert_close(out.x, Xr, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(_to_dense(out, 9), Ar, atol=1e-12, rtol=0)
    Ed = torch.zeros(9, 9, 3, dtype=torch.float64)
    Ed[out.edge_index[0], out.edge_index[1]] = out.edge_attr
    torch.testing.assert_close(Ed, Er, atol=1e-12, rtol=0)
    # no self-loops, and the weights are the number of edges between subgraphs without edge_weight
    assert (out.edge_index[0] != out.edge_index[1]).all()
    plain = EigenPool(4, 3, num_modes=H)(x, e, batch=b)
    _, Ap, _ = _ref_pool(x, e, n_all, plain.cluster, H)
    torch.testing.assert_close(_to_dense(plain, 9), Ap)


def test_first_mode_is_a_scaled_sum_even_on_a_disconnected_subgraph():
    # two components forced into one subgraph (k = 1): mode 1 is still 1/sqrt(n), mode 2 orthogonal to it
    e = _cliques([3, 4], bridges=False)
    x = torch.randn(7, 2, dtype=torch.float64)
    out = EigenPool(2, 1, num_modes=3)(x, e)
    torch.testing.assert_close(out.x[0, :2], x.sum(0) / math.sqrt(7))
    theta = subgraph_modes(e, torch.zeros(7, dtype=torch.long), 1, 3)
    torch.testing.assert_close(theta.t() @ theta, torch.eye(3, dtype=torch.float64), atol=1e-10, rtol=0)
    # mode 2 separates the components (the Fiedler vector of the deflated null space)
    assert theta[:3, 1].sign().unique().numel() == 1 and theta[3:, 1].sign().unique().numel() == 1
    assert theta[0, 1] * theta[3, 1] < 0


def test_edge_attr_of_any_width_is_summed_over_the_joined_edges():
    e = _cliques([4, 4])
    for shape in [(e.size(1),), (e.size(1), 3), (e.size(1), 2, 2)]:
        attr = torch.randn(*shape)
        out = EigenPool(2, 2)(torch.randn(8, 2), e, edge_attr=attr)
        bridge = (out.cluster[e[0]] == 0) & (out.cluster[e[1]] == 1)
        assert out.edge_attr.shape == (2, *shape[1:])
        first = (out.edge_index[0] == 0).nonzero().item()
        torch.testing.assert_close(out.edge_attr[first], attr[bridge].sum(0))
    ints = torch.randint(0, 5, (e.size(1), 3))
    out = EigenPool(2, 2)(torch.randn(8, 2), e, edge_attr=ints)
    assert out.edge_attr.dtype == torch.long


# ---------------------------------------------------------------------------
# batching, permutations
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("H", [1, 3])
def test_a_batch_gives_what_each_graph_gives_alone(H):
    graphs = _graphs(seed=2)
    x, e, w, b = _batch(graphs)
    pool = EigenPool(4, 4, num_modes=H)
    whole = pool(x, e, batch=b, edge_weight=w)
    start, offset = 0, 0
    for g, (xg, eg, wg) in enumerate(graphs):
        alone = pool(xg, eg, edge_weight=wg)
        assert torch.equal(whole.cluster[start : start + xg.size(0)] - offset, alone.cluster)
        torch.testing.assert_close(whole.x[whole.batch == g], alone.x)
        mine = whole.batch[whole.edge_index[0]] == g
        torch.testing.assert_close(whole.edge_weight[mine], alone.edge_weight)
        start += xg.size(0)
        offset += alone.num_nodes


@pytest.mark.parametrize("H", [1, 3])
def test_permuting_the_nodes_permutes_the_output(H):
    """H=1 always; H=3 on weighted graphs (simple subgraph spectra: the eigenvectors are unique)."""
    x, e, w, b = _batch(_graphs(seed=3))
    perm = torch.cat(
        [torch.randperm(n, generator=torch.Generator().manual_seed(9)) + s for s, n in [(0, 9), (9, 14), (23, 11)]]
    )
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    pool = EigenPool(4, 3, num_modes=H)
    out = pool(x, e, batch=b, edge_weight=w)
    outp = pool(x[perm], inv[e], batch=b, edge_weight=w)
    c, cp = out.cluster, outp.cluster[inv]
    torch.testing.assert_close(outp.x[cp], out.x[c], atol=1e-9, rtol=1e-9)
    # the same partition (up to numbering)
    assert torch.equal(c.view(-1, 1) == c.view(1, -1), cp.view(-1, 1) == cp.view(1, -1))
    torch.testing.assert_close(outp.edge_weight.sort().values, out.edge_weight.sort().values)


def test_a_graph_without_edges_is_split_by_its_features():
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(1))
    e = torch.empty(2, 0, dtype=torch.long)
    out = EigenPool(3, 3)(x, e)
    assert out.num_nodes == 3 and out.edge_index.numel() == 0
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(2))
    outp = EigenPool(3, 3)(x[perm], e)
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(7)
    cp = outp.cluster[inv]
    assert torch.equal(out.cluster.view(-1, 1) == out.cluster.view(1, -1), cp.view(-1, 1) == cp.view(1, -1))


# ---------------------------------------------------------------------------
# small graphs, sizes, dtypes
# ---------------------------------------------------------------------------
def test_small_graphs_keep_their_nodes_and_one_node_graphs_pass():
    x, e, _, b = _batch(
        [(torch.randn(1, 2), torch.empty(2, 0, dtype=torch.long), None), (torch.randn(3, 2), _clique(3), None)]
    )
    out = EigenPool(2, 5, num_modes=2)(x, e, batch=b)
    out.validate(b)
    assert out.cluster.tolist() == [0, 1, 2, 3]
    # one node per subgraph: mode 1 is the node itself, mode 2 is 0
    torch.testing.assert_close(out.x[:, :2], x)
    assert (out.x[:, 2:] == 0).all()
    assert out.edge_index.size(1) == 6


def test_an_empty_batch_and_empty_graph_ids():
    out = EigenPool(3, 2)(torch.zeros(0, 3), torch.empty(2, 0, dtype=torch.long))
    assert out.num_nodes == 0 and out.cluster.numel() == 0 and out.x.shape == (0, 3)
    # graph 1 has no nodes (ids 0 and 2): two output graphs, nothing for graph 1
    x = torch.randn(8, 2)
    e = torch.cat([_clique(4), _clique(4, 4)], 1)
    b = torch.tensor([0] * 4 + [2] * 4)
    out = EigenPool(2, 2)(x, e, batch=b)
    out.validate(b)
    assert out.batch.tolist() == [0, 0, 2, 2]


def test_sizes_cap_the_clusters():
    x, e, w, b = _batch(_graphs())
    out = EigenPool(4, 5)(x, e, batch=b, edge_weight=w, sizes=torch.tensor([2, 9, 3]))
    assert torch.bincount(out.batch).tolist() == [2, 5, 3]
    with pytest.raises(ValueError, match="sizes"):
        EigenPool(4, 5)(x, e, batch=b, sizes=torch.tensor([2, 0, 3]))


def test_float64_and_float32_agree():
    x, e, w, b = _batch(_graphs())
    a = EigenPool(4, 3, num_modes=2)(x, e, batch=b, edge_weight=w)
    c = EigenPool(4, 3, num_modes=2)(x.float(), e, batch=b, edge_weight=w.float())
    assert c.x.dtype == torch.float32 and torch.equal(a.cluster, c.cluster)
    torch.testing.assert_close(c.x.double(), a.x, atol=1e-5, rtol=1e-5)


def test_gradients_flow_to_the_features():
    x, e, w, b = _batch(_graphs())
    x.requires_grad_(True)
    out = EigenPool(4, 3, num_modes=2)(x, e, batch=b, edge_weight=w)
    out.x.pow(2).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


# ---------------------------------------------------------------------------
# bad arguments and input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_clusters": 0}, "num_clusters"),
        ({"num_clusters": 0.5}, "num_clusters"),
        ({"num_clusters": True}, "num_clusters"),
        ({"in_channels": 0}, "in_channels"),
        ({"num_modes": 0}, "num_modes"),
        ({"num_modes": 1.5}, "num_modes"),
        ({"kmeans_iters": -1}, "kmeans_iters"),
        ({"dense_limit": 0}, "dense_limit"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    args = {"in_channels": 3, "num_clusters": 2, **kwargs}
    with pytest.raises(ValueError, match=f"'{name}'"):
        EigenPool(args.pop("in_channels"), args.pop("num_clusters"), **args)


def test_bad_input_is_refused():
    e = _clique(5)
    with pytest.raises(ValueError, match="dense_limit=4"):
        EigenPool(2, 1, num_modes=2, dense_limit=4)(torch.randn(5, 2), e)
    with pytest.raises(ValueError, match="edge_weight"):
        EigenPool(2, 2)(torch.randn(5, 2), e, edge_weight=-torch.ones(e.size(1)))
    with pytest.raises(ValueError, match="in_channels=2"):
        EigenPool(2, 2)(torch.randn(5, 3), e)


def test_unpool_copies_each_subgraph_back_to_its_nodes():
    x, e, w, b = _batch(_graphs())
    out = EigenPool(4, 3)(x, e, batch=b, edge_weight=w)
    torch.testing.assert_close(out.unpool(out.x), out.x[out.cluster])


def test_out_channels_and_repr():
    pool = EigenPool(8, 4, num_modes=3)
    assert pool.out_channels == 24 and "num_modes=3" in repr(pool)
    assert list(pool.parameters()) == []
