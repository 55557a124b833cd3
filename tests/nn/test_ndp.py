"""Node decimation pooling (Bianchi et al., TNNLS 2020): the spectral split (bipartite graphs, a
dense numpy reference), the Kron reduction against numpy, sparsification, batching, tiny graphs,
permutation equivariance, ``ndp_levels`` against the pooler level by level, the large-component
path, ``dropped="attach"``, edge features, bad arguments, and the pooler contract of
``tests/nn/test_contract.py``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hipool import Hierarchy
from hipool.nn.kmis import feature_key
from hipool.nn.ndp import NDPPooling, connected_components, ndp_levels
from hipool.nn.registry import PoolerSpec, Registry
from hipool.record import DROPPED
from tests.nn import test_contract as contract
from tests.nn.graphs import sym as _sym

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _weighted(n: int, p: float, seed: int, connected: bool = True):
    """A random undirected graph (a spanning path when ``connected``) with symmetric weights in [0.5, 1.5]."""
    g = torch.Generator().manual_seed(seed)
    m = torch.triu(torch.rand(n, n, generator=g) < p, 1)
    if connected:
        i = torch.arange(n - 1)
        m[i, i + 1] = True
    e = _sym(m.nonzero().t())
    table = torch.rand(n, n, generator=g) + 0.5
    w = table[e.min(0).values, e.max(0).values]
    return e, w


def _dense(e: torch.Tensor, w: torch.Tensor, n: int) -> np.ndarray:
    A = np.zeros((n, n))
    np.add.at(A, (e[0].numpy(), e[1].numpy()), w.double().numpy())
    return A


def _numpy_split(A: np.ndarray, key: np.ndarray) -> np.ndarray:
    """The split of a connected graph with a simple largest eigenvalue, by numpy: kept = u >= 0
    with the entry of largest magnitude positive."""
    d = A.sum(1)
    Ls = np.eye(len(A)) - A / np.sqrt(np.outer(d, d))
    vals, vecs = np.linalg.eigh(Ls)
    assert vals[-1] - vals[-2] > 1e-6, "the test graph must have a simple largest eigenvalue"
    u = vecs[:, -1]
    if u[np.argmax(np.abs(u))] < 0:
        u = -u
    return u >= -1e-8 * np.abs(u).max()


def _numpy_kron(A: np.ndarray, kept: np.ndarray) -> np.ndarray:
    L = np.diag(A.sum(1)) - A
    k, d = np.nonzero(kept)[0], np.nonzero(~kept)[0]
    S = L[np.ix_(k, k)] - L[np.ix_(k, d)] @ np.linalg.solve(L[np.ix_(d, d)], L[np.ix_(d, k)])
    W = -S
    np.fill_diagonal(W, 0)
    return W


def _pooled_dense(out, m: int) -> np.ndarray:
    W = np.zeros((m, m))
    W[out.edge_index[0].numpy(), out.edge_index[1].numpy()] = out.edge_weight.double().numpy()
    return W


def _batch(graphs):
    xs, es, ws, bs, off = [], [], [], [], 0
    for i, (x, e, w) in enumerate(graphs):
        xs.append(x), es.append(e + off), ws.append(w), bs.append(torch.full((x.size(0),), i))
        off += x.size(0)
    return torch.cat(xs), torch.cat(es, 1), torch.cat(ws), torch.cat(bs)


# ---------------------------------------------------------------------------
# the split
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_on_a_bipartite_graph_the_split_is_the_bipartition(seed):
    """For a connected bipartite graph the largest eigenvalue of L_s is 2 with eigenvector
    D^{1/2} (±1 by side): the kept nodes are exactly one side."""
    g = torch.Generator().manual_seed(seed)
    a, b = 5 + seed, 7
    left, right = torch.arange(a), torch.arange(a, a + b)
    m = torch.rand(a, b, generator=g) < 0.35
    m[torch.arange(a), torch.arange(a) % b] = True  # every left node has an edge ...
    m[torch.arange(b) % a, torch.arange(b)] = True  # ... and every right node
    m[0, :] = True  # connected through left node 0
    m[:, 0] = True
    src, dst = m.nonzero().t()
    e = _sym(torch.stack([left[src], right[dst]]))
    x = torch.randn(a + b, 3, generator=g)
    out = NDPPooling(epsilon=0.0)(x, e)
    kept = set(out.perm.tolist())
    assert kept in (set(left.tolist()), set(right.tolist()))


@pytest.mark.parametrize("seed", range(3))
def test_the_split_and_the_kron_reduction_match_numpy(seed):
    n = 14 + 3 * seed
    e, w = _weighted(n, 0.3, seed)
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed))
    out = NDPPooling(epsilon=0.0)(x, e, edge_weight=w)
    A = _dense(e, w, n)
    kept = _numpy_split(A, feature_key(x).numpy())
    assert out.perm.tolist() == np.nonzero(kept)[0].tolist()
    ref = _numpy_kron(A, kept)
    np.testing.assert_allclose(_pooled_dense(out, out.num_nodes), ref, atol=1e-6, rtol=1e-5)
    # the pooled graph is a Kron reduction: symmetric, weights >= the kept-kept input weights
    P = _pooled_dense(out, out.num_nodes)
    np.testing.assert_allclose(P, P.T, atol=1e-6)
    k = np.nonzero(kept)[0]
    assert (P >= A[np.ix_(k, k)] - 1e-6).all()
    assert torch.equal(out.cluster[out.perm], torch.arange(out.num_nodes))
    assert (out.cluster[~torch.from_numpy(kept)] == DROPPED).all()


def _weighted_path(b: float):
    """The path 0-1-2-3 with weights 1, ``b``, 3 (``b < 2``): degrees 1, 1 + b, 3 + b, 3, so node 2
    has the largest |u| (u = D^{1/2}(±1) on a bipartite graph): kept 0 and 2, joined through
    dropped 1 by 1·b/(1 + b); dropped 3 is a leaf and adds nothing."""
    e = _sym(torch.tensor([[0, 1, 2], [1, 2, 3]]))
    w = torch.tensor([1.0, b, 3.0])[e.min(0).values]
    return e, w


def test_the_kron_reduction_of_a_path_through_one_dropped_node():
    e, w = _weighted_path(2.0)
    out = NDPPooling(epsilon=0.0)(torch.randn(4, 2), e, edge_weight=w)
    assert out.perm.tolist() == [0, 2]
    assert out.cluster.tolist() == [0, DROPPED, 1, DROPPED]
    assert out.edge_index.tolist() == [[0, 1], [1, 0]]
    torch.testing.assert_close(out.edge_weight, torch.tensor([2 / 3, 2 / 3]))


def test_sparsification_threshold():
    n = 24
    e, w = _weighted(n, 0.25, 7)
    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(0))
    full = NDPPooling(epsilon=0.0)(x, e, edge_weight=w)
    wmax = float(w.max())
    weights = full.edge_weight.double().sort().values  # every weight twice (both directions)
    k = 2 * (weights.numel() // 4)
    assert weights[k - 1] < weights[k]
    eps = float(weights[k - 1] + weights[k]) / 2 / wmax  # between two pooled weights
    cut = NDPPooling(epsilon=eps)(x, e, edge_weight=w)
    assert cut.perm.tolist() == full.perm.tolist()
    keep = full.edge_weight >= eps * wmax
    assert 0 < int(keep.sum()) < full.edge_weight.numel()
    assert torch.equal(cut.edge_index, full.edge_index[:, keep])
    torch.testing.assert_close(cut.edge_weight, full.edge_weight[keep])
    # relative: scaling every weight scales the pooled weights and keeps the same edges
    scaled = NDPPooling(epsilon=eps)(x, e, edge_weight=10 * w)
    assert torch.equal(scaled.edge_index, cut.edge_index)
    torch.testing.assert_close(scaled.edge_weight, 10 * cut.edge_weight)
    # absolute: the same threshold drops nothing of the scaled graph that it kept before
    absolute = NDPPooling(epsilon=eps * wmax, relative=False)(x, e, edge_weight=w)
    assert torch.equal(absolute.edge_index, cut.edge_index)
    absolute10 = NDPPooling(epsilon=eps * wmax, relative=False)(x, e, edge_weight=10 * w)
    assert absolute10.edge_index.size(1) > cut.edge_index.size(1)


def test_default_epsilon_drops_light_edges():
    """The Kron edge 1·b/(1 + b) against 1e-2 of the largest input weight (3)."""
    x = torch.randn(4, 2)
    e, w = _weighted_path(0.02)  # 0.0196 < 0.03: dropped
    out = NDPPooling()(x, e, edge_weight=w)
    assert out.perm.tolist() == [0, 2] and out.edge_index.size(1) == 0
    e, w = _weighted_path(0.05)  # 0.0476 >= 0.03: kept
    out = NDPPooling()(x, e, edge_weight=w)
    assert out.edge_index.size(1) == 2
    torch.testing.assert_close(out.edge_weight, torch.full((2,), 0.05 / 1.05))
    assert (
        NDPPooling(relative=False)(x, *_weighted_path(0.02)[:1], edge_weight=_weighted_path(0.02)[1]).edge_index.size(1)
        == 2
    )


# ---------------------------------------------------------------------------
# tiny graphs, components, batching, equivariance
# ---------------------------------------------------------------------------
def test_tiny_graphs():
    pool = NDPPooling()
    one = pool(torch.randn(1, 2), torch.empty(2, 0, dtype=torch.long))
    assert one.perm.tolist() == [0] and one.edge_index.size(1) == 0
    x = torch.tensor([[0.0, 1.0], [3.0, -1.0]])
    two = pool(x, torch.tensor([[0, 1], [1, 0]]))
    assert two.num_nodes == 1 and two.edge_index.size(1) == 0
    best = int(torch.argmax(feature_key(x)))  # the tie between the two ends goes to the features
    assert two.perm.tolist() == [best]
    assert pool(x.flip(0), torch.tensor([[0, 1], [1, 0]])).perm.tolist() == [1 - best]
    assert NDPPooling(tiebreak="index")(x.flip(0), torch.tensor([[0, 1], [1, 0]])).perm.tolist() == [0]
    none = pool(torch.randn(3, 2), torch.empty(2, 0, dtype=torch.long))
    assert none.perm.tolist() == [0, 1, 2] and none.edge_index.size(1) == 0
    loops = pool(torch.randn(3, 2), torch.tensor([[0, 1, 2], [0, 1, 2]]))  # self-loops only: no edges
    assert loops.perm.tolist() == [0, 1, 2]
    empty = pool(torch.randn(0, 2), torch.empty(2, 0, dtype=torch.long))
    assert empty.num_nodes == 0


def test_every_component_is_halved():
    """Two disjoint 6-cycles and an isolated node: each cycle keeps alternate nodes."""
    s = torch.arange(6)
    ring = _sym(torch.stack([s, (s + 1) % 6]))
    e = torch.cat([ring, ring + 6], 1)
    out = NDPPooling()(torch.randn(13, 2), e)
    assert out.num_nodes == 3 + 3 + 1
    kept = out.perm.tolist()
    assert 12 in kept
    for start in (0, 6):
        mine = [v - start for v in kept if start <= v < start + 6]
        assert mine in ([0, 2, 4], [1, 3, 5])
    assert connected_components(e, 13).tolist() == [0] * 6 + [6] * 6 + [12]


GRAPHS = [
    (torch.randn(n, 4, generator=torch.Generator().manual_seed(n)), *_weighted(n, 0.25, n, connected=n % 2 == 0))
    for n in (10, 1, 13, 2, 17)
]


@pytest.mark.parametrize("dropped", ["drop", "attach"])
def test_a_batch_gives_what_each_graph_gives_alone(dropped):
    pool = NDPPooling(dropped=dropped)
    x, e, w, batch = _batch(GRAPHS)
    ea = torch.randn(e.size(1), 3)
    whole = pool(x, e, edge_attr=ea, batch=batch, edge_weight=w).validate(batch)
    start, estart = 0, 0
    for g, (xg, eg, wg) in enumerate(GRAPHS):
        alone = pool(xg, eg, edge_attr=ea[estart : estart + eg.size(1)], edge_weight=wg)
        mine = whole.batch == g
        offset = int(mine.nonzero()[0])
        torch.testing.assert_close(whole.x[mine], alone.x)
        c = whole.cluster[start : start + xg.size(0)]
        assert torch.equal(torch.where(c == DROPPED, c, c - offset), alone.cluster)
        sel = whole.batch[whole.edge_index[0]] == g
        assert torch.equal(whole.edge_index[:, sel] - offset, alone.edge_index)
        torch.testing.assert_close(whole.edge_weight[sel], alone.edge_weight)
        torch.testing.assert_close(whole.edge_attr[sel], alone.edge_attr)
        start += xg.size(0)
        estart += eg.size(1)


def test_sizes_skip_the_small_graphs():
    """``schedule: auto``: a graph of at most ``sizes[g]`` nodes passes unchanged; the others pool
    as alone."""
    pool = NDPPooling()
    x, e, w, batch = _batch(GRAPHS)  # sizes 10, 1, 13, 2, 17
    ea = torch.randn(e.size(1), 2)
    out = pool(x, e, edge_attr=ea, batch=batch, edge_weight=w, sizes=torch.full((5,), 10)).validate(batch)
    start, estart = 0, 0
    for g, (xg, eg, wg) in enumerate(GRAPHS):
        mine = out.batch == g
        offset = int(mine.nonzero()[0])
        c = out.cluster[start : start + xg.size(0)]
        sel = out.batch[out.edge_index[0]] == g
        eag = ea[estart : estart + eg.size(1)]
        if xg.size(0) <= 10:
            assert (c - offset).tolist() == list(range(xg.size(0)))
            torch.testing.assert_close(out.x[mine], xg)
            assert torch.equal(out.edge_index[:, sel] - offset, eg)  # already coalesced
            torch.testing.assert_close(out.edge_weight[sel], wg)
            torch.testing.assert_close(out.edge_attr[sel], eag)
        else:
            alone = pool(xg, eg, edge_attr=eag, edge_weight=wg)
            assert torch.equal(torch.where(c == DROPPED, c, c - offset), alone.cluster)
            assert torch.equal(out.edge_index[:, sel] - offset, alone.edge_index)
            torch.testing.assert_close(out.edge_weight[sel], alone.edge_weight)
            torch.testing.assert_close(out.edge_attr[sel], alone.edge_attr)
        start += xg.size(0)
        estart += eg.size(1)


@pytest.mark.parametrize("graph", ["weighted", "ring", "complete", "grid"])
def test_permuting_the_nodes_permutes_the_output(graph):
    """Also on symmetric graphs (ring, complete, grid: ties and a degenerate eigenvalue), where
    the features break the ties."""
    if graph == "weighted":
        n = 20
        e, w = _weighted(n, 0.2, 3)
    elif graph == "ring":
        n = 9
        s = torch.arange(n)
        e = _sym(torch.stack([s, (s + 1) % n]))
        w = torch.ones(e.size(1))
    elif graph == "complete":
        n = 7
        e = _sym(torch.triu(torch.ones(n, n, dtype=torch.bool), 1).nonzero().t())
        w = torch.ones(e.size(1))
    else:
        n = 16
        r = torch.arange(n)
        right = r[r % 4 != 3]
        down = r[r < 12]
        e = _sym(torch.cat([torch.stack([right, right + 1]), torch.stack([down, down + 4])], 1))
        w = torch.ones(e.size(1))
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(1))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(2))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)
    for dropped in ("drop", "attach"):
        pool = NDPPooling(dropped=dropped)
        out = pool(x, e, edge_weight=w)
        outp = pool(x[perm], inv[e], edge_weight=w)
        assert 0 < out.num_nodes < n
        assert torch.equal(perm[outp.perm].sort().values, out.perm)
        c, cp = out.cluster, outp.cluster[inv]
        assert torch.equal(c == DROPPED, cp == DROPPED)
        kept = c != DROPPED
        torch.testing.assert_close(outp.x[cp[kept]], out.x[c[kept]])
        m = out.num_nodes
        to_orig = torch.empty(m, dtype=torch.long)
        to_orig[outp.cluster[inv[out.perm]]] = torch.arange(m)
        P = _pooled_dense(out, m)
        Pp = np.zeros((m, m))
        Pp[to_orig[outp.edge_index[0]].numpy(), to_orig[outp.edge_index[1]].numpy()] = outp.edge_weight.numpy()
        np.testing.assert_allclose(Pp, P, atol=1e-6)


# ---------------------------------------------------------------------------
# ndp_levels, the large-component path, attach, edge features
# ---------------------------------------------------------------------------
def _same(a, b):
    assert torch.equal(a.cluster, b.cluster)
    assert torch.equal(a.perm, b.perm)
    assert torch.equal(a.batch, b.batch)
    assert torch.equal(a.edge_index, b.edge_index)
    torch.testing.assert_close(a.edge_weight, b.edge_weight)
    if a.edge_attr is not None or b.edge_attr is not None:
        torch.testing.assert_close(a.edge_attr, b.edge_attr)


@pytest.mark.parametrize("with_x", [True, False])
def test_ndp_levels_equals_the_pooler_level_by_level(with_x):
    x, e, w, batch = _batch(GRAPHS)
    ea = torch.randn(e.size(1), 2)
    levels = ndp_levels(e, x.size(0), 3, edge_weight=w, batch=batch, x=x if with_x else None, edge_attr=ea)
    assert len(levels) == 3
    pool = NDPPooling(tiebreak="features" if with_x else "index")
    h = Hierarchy(batch, num_graphs=len(GRAPHS))
    xi, ei, wi, eai, bi = x, e, w, ea, batch
    for rec in levels:
        out = pool(xi, ei, edge_attr=eai, batch=bi, edge_weight=wi)
        _same(rec, out)
        if with_x:
            torch.testing.assert_close(rec.x, out.x)
        else:
            assert rec.x.shape == (out.num_nodes, 0)
        h.append(rec)
        xi, ei, wi, eai, bi = out.x, out.edge_index, out.edge_weight, out.edge_attr, out.batch
    assert h.sizes(3).min() >= 1 and h.sizes(3).sum() < h.sizes(0).sum()


def test_ndp_levels_without_weights_or_batch():
    s = torch.arange(8)
    e = _sym(torch.stack([s, (s + 1) % 8]))
    levels = ndp_levels(e, 8, 2)
    assert [r.num_nodes for r in levels] == [4, 2]
    assert levels[0].perm.tolist() == [0, 2, 4, 6]  # index ties: node 0's side
    assert levels[0].edge_weight.dtype == torch.get_default_dtype()


@pytest.mark.parametrize("dropped", ["drop", "attach"])
@pytest.mark.parametrize("sparsify", [{}, {"epsilon": 0.0}, {"epsilon": 0.2}, {"epsilon": 0.3, "relative": False}])
def test_the_large_component_path_agrees_with_the_dense_one(dropped, sparsify):
    """Components above ``dense_limit`` take lobpcg and scipy's sparse LU (and drop the edges the
    sparsification will drop before they leave scipy): the same pooling on a graph with a simple
    largest eigenvalue, at every threshold."""
    n = 30
    e, w = _weighted(n, 0.15, 5)
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(3))
    A = _dense(e, w, n)
    _numpy_split(A, feature_key(x).numpy())  # asserts a simple largest eigenvalue
    dense = NDPPooling(dropped=dropped, **sparsify)(x, e, edge_weight=w)
    sparse = NDPPooling(dropped=dropped, dense_limit=8, **sparsify)(x, e, edge_weight=w)
    _same(dense, sparse)
    if sparsify.get("epsilon", 0.01) >= 0.2:  # the threshold removes edges here
        full = NDPPooling(dropped=dropped, epsilon=0.0, dense_limit=8)(x, e, edge_weight=w)
        assert sparse.edge_index.size(1) < full.edge_index.size(1)


def test_small_chunks_give_the_same_pooling(monkeypatch):
    """Components of one padded size are decomposed in chunks of bounded memory: any chunking
    gives the same result."""
    from hipool.nn import ndp as ndp_module

    x, e, w, batch = _batch(GRAPHS)
    whole = NDPPooling(dropped="attach")(x, e, batch=batch, edge_weight=w)
    monkeypatch.setattr(ndp_module, "_CHUNK_ENTRIES", 1)  # one component per chunk
    chunked = NDPPooling(dropped="attach")(x, e, batch=batch, edge_weight=w)
    _same(whole, chunked)


def test_attach_joins_the_most_likely_first_hit_kept_node():
    n = 18
    e, w = _weighted(n, 0.25, 9)
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    out = NDPPooling(dropped="attach", epsilon=0.0)(x, e, edge_weight=w)
    drop = NDPPooling(epsilon=0.0)(x, e, edge_weight=w)
    assert torch.equal(out.perm, drop.perm) and torch.equal(out.edge_index, drop.edge_index)
    assert (out.cluster >= 0).all()
    A = _dense(e, w, n)
    L = np.diag(A.sum(1)) - A
    kept = np.zeros(n, dtype=bool)
    kept[out.perm.numpy()] = True
    k, d = np.nonzero(kept)[0], np.nonzero(~kept)[0]
    prob = -np.linalg.solve(L[np.ix_(d, d)], L[np.ix_(d, k)])
    np.testing.assert_allclose(prob.sum(1), 1.0, atol=1e-9)  # a walk surely hits a kept node
    assert out.cluster[torch.from_numpy(d)].tolist() == np.argmax(prob, 1).tolist()
    # the record: unpool copies a kept node's features to the dropped nodes attached to it
    lifted = out.unpool(out.x)
    torch.testing.assert_close(lifted[torch.from_numpy(d)], out.x[out.cluster[torch.from_numpy(d)]])


def test_edge_attr_rule():
    """Kept-kept input edges carry their edge_attr; edges made through dropped nodes carry zeros."""
    # a 4-cycle 0-1-2-3 with the chord 0-2: not bipartite
    e = _sym(torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 0, 2]]))
    ea = torch.arange(e.size(1) * 3, dtype=torch.float).view(-1, 3) + 1
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    out = NDPPooling(epsilon=0.0)(x, e, edge_attr=ea)
    perm = out.perm.tolist()
    assert out.edge_attr.shape == (out.edge_index.size(1), 3)
    for (i, j), attr in zip(out.edge_index.t().tolist(), out.edge_attr):
        a, b = perm[i], perm[j]
        hit = ((e[0] == a) & (e[1] == b)).nonzero().view(-1)
        expect = ea[hit].sum(0) if hit.numel() else torch.zeros(3)
        torch.testing.assert_close(attr, expect)


# ---------------------------------------------------------------------------
# bad arguments
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"epsilon": -0.1}, "'epsilon'"),
        ({"epsilon": float("nan")}, "'epsilon'"),
        ({"relative": 1}, "'relative'"),
        ({"dropped": "nearest"}, "'dropped'"),
        ({"tiebreak": "random"}, "'tiebreak'"),
        ({"dense_limit": 1}, "'dense_limit'"),
        ({"in_channels": 0}, "'in_channels'"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        NDPPooling(**kwargs)


def test_bad_input():
    e = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="'edge_weight' must be >= 0"):
        NDPPooling()(torch.randn(2, 2), e, edge_weight=torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="in_channels=3"):
        NDPPooling(3)(torch.randn(2, 2), e)
    with pytest.raises(ValueError, match="'levels'"):
        ndp_levels(e, 2, 0)
    with pytest.raises(ValueError, match="'num_nodes'"):
        ndp_levels(e, -1, 1)
    with pytest.raises(ValueError, match="'x'"):
        ndp_levels(e, 2, 1, x=torch.randn(3, 2))


# ---------------------------------------------------------------------------
# the pooler contract (tests/nn/test_contract.py), run on a registry holding NDP
# ---------------------------------------------------------------------------
@pytest.fixture(params=["drop", "attach"])
def ndp_registry(monkeypatch, request):
    dropped = request.param

    class _NDP(NDPPooling):
        def __init__(self, in_channels=None):
            super().__init__(in_channels, dropped=dropped)

    reg = Registry()
    reg.register(PoolerSpec("ndp", _NDP, "contraction", "pairs", summary="NDP", paper="Bianchi et al."))
    monkeypatch.setattr(contract, "REGISTRY", reg)
    return reg


def test_the_pooler_contract(ndp_registry):
    contract.test_cluster_maps_chain_through_two_levels("ndp")
    contract.test_a_batch_gives_what_each_graph_gives_alone("ndp")
    contract.test_permuting_the_nodes_permutes_the_output("ndp")
    with pytest.raises(pytest.skip.Exception):
        contract.test_gradients_reach_every_trainable_parameter("ndp")
