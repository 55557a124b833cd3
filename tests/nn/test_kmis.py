"""k-MIS pooling (Bacciu, Conte & Landolfi, AAAI 2023): the set against brute force and a
sequential reference, known answers on a path, batching, permutation equivariance, gradients,
edge features, bad arguments; the pooler contract runs in ``tests/nn/test_contract.py``.

The PyG installed here (2.8.1) has no ``KMISPooling``: nothing in ``torch_geometric`` mentions a
k-MIS (its pull request, pyg-team/pytorch_geometric#6488, built on torch_sparse), so the reference
is the small sequential implementation below: greedy in rank order, closest-centre clusters, ``SᵀAS``.
"""

from __future__ import annotations

import pytest
import torch

from hipool import Hierarchy
from hipool.nn import kmis as kmis_module
from hipool.nn.kmis import (
    KMISPooling,
    kmis_clusters,
    kmis_rank,
    maximal_k_independent_set,
    undirected,
)
from tests.nn.graphs import hop_distances
from tests.nn.graphs import sym as _sym

# ---------------------------------------------------------------------------
# helpers and the sequential reference
# ---------------------------------------------------------------------------


def _path(n: int) -> torch.Tensor:
    s = torch.arange(n - 1)
    return _sym(torch.stack([s, s + 1]))


def _random_graph(n: int, p: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    m = torch.rand(n, n, generator=g) < p
    m = torch.triu(m, 1)
    e = m.nonzero().t()
    return _sym(e) if e.numel() else torch.empty(2, 0, dtype=torch.long)


def _distances(e: torch.Tensor, n: int):
    adj = [[] for _ in range(n)]
    for a, b in e.t().tolist():
        if a != b:
            adj[a].append(b)
            adj[b].append(a)
    inf = n + 1  # unreached: farther than any hop distance
    return [[inf if d is None else d for d in row] for row in hop_distances(adj)]


def _reference(e: torch.Tensor, n: int, rank: torch.Tensor, k: int):
    """Sequential greedy k-MIS in rank order and closest-centre clusters (ties to the better rank)."""
    dist = _distances(e, n)
    order = torch.argsort(rank).tolist()
    mis = []
    for u in order:
        if all(dist[u][v] > k for v in mis):
            mis.append(u)
    owner = []
    for u in range(n):
        owner.append(min(mis, key=lambda c: (dist[u][c], int(rank[c]))))
    return sorted(mis), owner, dist


def _batch(graphs):
    xs, es, bs, off = [], [], [], 0
    for i, (x, e) in enumerate(graphs):
        xs.append(x), es.append(e + off), bs.append(torch.full((x.size(0),), i))
        off += x.size(0)
    return torch.cat(xs), torch.cat(es, 1), torch.cat(bs)


# ---------------------------------------------------------------------------
# the set and the clusters
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_the_set_is_the_sequential_greedy_k_mis(k, seed):
    n = 12 + seed * 5
    e = _random_graph(n, 0.15, seed)
    rank = torch.randperm(n, generator=torch.Generator().manual_seed(100 + seed))
    mis, rounds = maximal_k_independent_set(undirected(e, None, n)[0], rank, k)
    ref_mis, ref_owner, dist = _reference(e, n, rank, k)
    got = mis.nonzero().view(-1).tolist()
    assert got == ref_mis
    # brute force: independent in the k-th power graph and maximal
    assert all(dist[a][b] > k for a in got for b in got if a != b)
    assert all(min(dist[u][c] for c in got) <= k for u in range(n))
    assert 1 <= rounds <= len(got)
    owner = kmis_clusters(undirected(e, None, n)[0], rank, mis, k)
    assert owner.tolist() == ref_owner


def test_a_path_with_known_answers():
    """Equal features and no score: ties by index, so the greedy walks the path from node 0."""
    n = 7
    e = _path(n)
    x = torch.ones(n, 2)
    out1 = KMISPooling(2, 1, scorer="none", score_heuristic=None)(x, e)
    out2 = KMISPooling(2, 2, scorer="none", score_heuristic=None)(x, e)
    out3 = KMISPooling(2, 3, scorer="none", score_heuristic=None)(x, e)
    assert out1.centers.tolist() == [0, 2, 4, 6]
    assert out1.cluster.tolist() == [0, 0, 1, 1, 2, 2, 3]  # 1 ties between 0 and 2: the better rank, 0
    assert out2.centers.tolist() == [0, 3, 6]
    assert out2.cluster.tolist() == [0, 0, 1, 1, 1, 2, 2]  # node 2 is 1 hop from 3, 2 from 0: closest wins
    assert out3.centers.tolist() == [0, 4]
    assert out3.cluster.tolist() == [0, 0, 0, 1, 1, 1, 1]
    # pooled path: consecutive clusters joined, one edge each way, weight 1
    assert out2.edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert out2.edge_weight.tolist() == [1.0] * 4
    # sum of the members' features
    assert out2.x[:, 0].tolist() == [2.0, 3.0, 2.0]


def test_the_greedy_heuristic_keeps_more_nodes_on_a_path():
    """Divided by the k-hop walk count, the end nodes rank first: the path keeps both ends."""
    n = 9
    x = torch.ones(n, 1)
    out = KMISPooling(1, 2, scorer="none")(x, _path(n))
    # walks of <= 2 steps: 5 at the ends, 8 next to them, 9 inside; 0, then 8, then 3 (index)
    assert out.centers.tolist() == [0, 3, 8]
    plain = KMISPooling(1, 2, scorer="none", score_heuristic=None)(x, _path(n))
    assert plain.centers.tolist() == [0, 3, 6]


def test_the_full_pooling_matches_the_reference():
    """Degree scorer, k = 2: centres, clusters, ``Sᵀ X`` and ``Sᵀ A S`` against the reference."""
    n, k = 30, 2
    e = _random_graph(n, 0.12, 3)
    x = torch.randn(n, 4, generator=torch.Generator().manual_seed(1))
    table = torch.rand(n, n, generator=torch.Generator().manual_seed(2)) + 0.5
    w = table[e.min(0).values, e.max(0).values]  # symmetric weights
    pool = KMISPooling(4, k, scorer="degree", score_heuristic=None)
    out = pool(x, e, edge_weight=w)
    deg = torch.zeros(n).index_add_(0, e[1], w)
    rank = kmis_rank(deg.double(), kmis_module.feature_key(x))
    ref_mis, ref_owner, _ = _reference(e, n, rank, k)
    assert out.centers.tolist() == ref_mis
    c = torch.tensor([ref_mis.index(o) for o in ref_owner])
    assert torch.equal(out.cluster, c)
    S = torch.zeros(n, len(ref_mis))
    S[torch.arange(n), c] = 1
    torch.testing.assert_close(out.x, S.t() @ x)
    A = torch.zeros(n, n)
    A.index_put_((e[0], e[1]), w, accumulate=True)
    Ap = S.t() @ A @ S
    Ap.fill_diagonal_(0)
    dense = torch.zeros_like(Ap)
    dense[out.edge_index[0], out.edge_index[1]] = out.edge_weight
    torch.testing.assert_close(dense, Ap)
    torch.testing.assert_close(out.score, deg[out.centers])


# ---------------------------------------------------------------------------
# batching, equivariance, gradients
# ---------------------------------------------------------------------------
GRAPHS = [
    (torch.randn(n, 5, generator=torch.Generator().manual_seed(n)), _random_graph(n, 0.2, n)) for n in (9, 14, 1, 11)
]


@pytest.mark.parametrize("scorer", ["linear", "degree", "none"])
@pytest.mark.parametrize("k", [1, 2])
def test_a_batch_gives_what_each_graph_gives_alone(scorer, k):
    torch.manual_seed(0)
    pool = KMISPooling(5, k, scorer=scorer)
    x, e, batch = _batch(GRAPHS)
    whole = pool(x, e, batch=batch).validate(batch)
    start = 0
    for g, (xg, eg) in enumerate(GRAPHS):
        alone = pool(xg, eg)
        mine = whole.batch == g
        offset = int(mine.nonzero()[0])
        torch.testing.assert_close(whole.x[mine], alone.x)
        assert torch.equal(whole.cluster[start : start + xg.size(0)] - offset, alone.cluster)
        sel = whole.batch[whole.edge_index[0]] == g
        assert torch.equal(whole.edge_index[:, sel] - offset, alone.edge_index)
        torch.testing.assert_close(whole.edge_weight[sel], alone.edge_weight)
        start += xg.size(0)


def test_sizes_skip_the_small_graphs():
    """``schedule: auto``: a graph of at most ``sizes[g]`` nodes keeps every node as its own cluster;
    the others pool as alone."""
    torch.manual_seed(0)
    pool = KMISPooling(5, 1, scorer="degree")
    x, e, batch = _batch(GRAPHS)  # sizes 9, 14, 1, 11
    out = pool(x, e, batch=batch, sizes=torch.tensor([10, 10, 10, 10])).validate(batch)
    assert torch.bincount(out.batch).tolist()[0] == 9 and torch.bincount(out.batch).tolist()[2] == 1
    start = 0
    for g, (xg, eg) in enumerate(GRAPHS):
        mine = out.batch == g
        offset = int(mine.nonzero()[0])
        local = out.cluster[start : start + xg.size(0)] - offset
        if xg.size(0) <= 10:
            assert local.tolist() == list(range(xg.size(0)))
            torch.testing.assert_close(out.x[mine], xg)
            sel = out.batch[out.edge_index[0]] == g
            assert torch.equal(out.edge_index[:, sel] - offset, eg)
        else:
            assert torch.equal(local, pool(xg, eg).cluster)
        start += xg.size(0)
    with pytest.raises(ValueError, match="'sizes'"):
        pool(x, e, batch=batch, sizes=torch.tensor([0, 10, 10, 10]))


@pytest.mark.parametrize("scorer", ["linear", "degree", "none"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_permuting_the_nodes_permutes_the_output(scorer, k):
    torch.manual_seed(0)
    pool = KMISPooling(5, k, scorer=scorer, reduce="mean")
    n = 25
    e = _random_graph(n, 0.15, 11)
    x = torch.randn(n, 5, generator=torch.Generator().manual_seed(4))
    ea = torch.randn(e.size(1), 3)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(5))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)
    out = pool(x, e, edge_attr=ea)
    outp = pool(x[perm], inv[e], edge_attr=ea)
    # node v of the original is node inv[v] of the permuted graph
    c, cp = out.cluster, outp.cluster[inv]
    assert out.num_nodes == outp.num_nodes
    assert torch.equal(perm[outp.centers].sort().values, out.centers)
    torch.testing.assert_close(outp.x[cp], out.x[c])
    m = out.num_nodes
    # map the permuted output's node ids to the original's through the centres
    to_orig = torch.empty(m, dtype=torch.long)
    to_orig[cp] = c
    a = torch.zeros(m, m, 3)
    ap = torch.zeros(m, m, 3)
    a[out.edge_index[0], out.edge_index[1]] = out.edge_attr
    ap[to_orig[outp.edge_index[0]], to_orig[outp.edge_index[1]]] = outp.edge_attr
    torch.testing.assert_close(a, ap)


def test_ties_are_broken_by_features_not_by_index():
    """On a ring every node has the same degree: the features decide, wherever the nodes sit."""
    n = 10
    s = torch.arange(n)
    e = _sym(torch.stack([s, (s + 1) % n]))
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    best = int(torch.argmax(kmis_module.feature_key(x)))
    pool = KMISPooling(3, 2, scorer="degree")
    for shift in range(3):
        perm = (s + shift) % n
        inv = torch.empty_like(perm)
        inv[perm] = s
        out = pool(x[perm], inv[e])
        assert int(inv[best]) in out.centers.tolist()


def test_gradients_reach_the_scorer():
    torch.manual_seed(0)
    pool = KMISPooling(5, 1).train()
    x, e, batch = _batch(GRAPHS)
    x.requires_grad_(True)
    out = pool(x, e, batch=batch)
    (out.x.pow(2).sum() + out.score.sum()).backward()
    assert pool.lin.weight.grad is not None and pool.lin.weight.grad.abs().sum() > 0
    assert pool.lin.bias.grad is not None and pool.lin.bias.grad.abs() > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()
    # the gate: x' = sum over the cluster of sigmoid(w·x + b) x
    s = torch.sigmoid(pool.lin(x)).detach()
    torch.testing.assert_close(out.x.detach(), torch.zeros_like(out.x).index_add_(0, out.cluster, (x * s).detach()))


def test_non_learned_scorers_have_no_parameters():
    assert list(KMISPooling(4, 1, scorer="degree").parameters()) == []
    assert list(KMISPooling(4, 1, scorer="none").parameters()) == []


# ---------------------------------------------------------------------------
# edges and edge features
# ---------------------------------------------------------------------------
def _square():
    """The 4-cycle 0-1-2-3-0, edges both ways.  k = 1, ties by index: centres 0 and 2; 1 and 3
    tie between them and join 0 (the better rank): clusters A = {0, 1, 3}, B = {2}."""
    e = _sym(torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]))
    ea = torch.arange(e.size(1) * 3, dtype=torch.float).view(-1, 3)
    return e, ea


def _attr_of(e, ea, a, b):
    return ea[((e[0] == a) & (e[1] == b)).nonzero().view(-1)[0]]


def test_edge_attr_of_width_three_is_summed_by_hand():
    e, ea = _square()
    x = torch.ones(4, 2)
    out = KMISPooling(2, 1, scorer="none", score_heuristic=None)(x, e, edge_attr=ea)
    assert out.centers.tolist() == [0, 2]
    assert out.cluster.tolist() == [0, 0, 1, 0]
    assert out.edge_index.tolist() == [[0, 1], [1, 0]]
    torch.testing.assert_close(out.edge_attr[0], _attr_of(e, ea, 1, 2) + _attr_of(e, ea, 3, 2))
    torch.testing.assert_close(out.edge_attr[1], _attr_of(e, ea, 2, 1) + _attr_of(e, ea, 2, 3))
    assert out.edge_weight.tolist() == [2.0, 2.0]
    mean = KMISPooling(2, 1, scorer="none", score_heuristic=None, edge_reduce="mean")(x, e, edge_attr=ea)
    torch.testing.assert_close(mean.edge_attr, out.edge_attr / 2)
    assert mean.edge_weight.tolist() == [2.0, 2.0]  # weights are always summed
    loops = KMISPooling(2, 1, scorer="none", score_heuristic=None, keep_self_loops=True)(x, e, edge_attr=ea)
    assert loops.edge_index.tolist() == [[0, 0, 1], [0, 1, 0]]
    inside = sum(_attr_of(e, ea, a, b) for a, b in [(0, 1), (1, 0), (0, 3), (3, 0)])
    torch.testing.assert_close(loops.edge_attr[0], inside)
    assert loops.edge_weight.tolist() == [4.0, 2.0, 2.0]


def test_edge_weights_are_summed():
    e, _ = _square()
    w = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    out = KMISPooling(2, 1, scorer="none", score_heuristic=None)(torch.ones(4, 2), e, edge_weight=w)
    expect = sum(float(w[i]) for i in range(e.size(1)) if e[1, i] == 2 and e[0, i] in (1, 3))
    assert float(out.edge_weight[0]) == expect


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "center"])
def test_reduce(reduce):
    e, _ = _square()
    x = torch.tensor([[1.0, -1.0], [2.0, 5.0], [3.0, 0.0], [4.0, 2.0]])
    score = torch.tensor([2.0, 0.0, 1.0, 0.0])  # centres 0 then 2, whatever the features
    out = KMISPooling(2, 1, scorer="given", score_heuristic=None, reduce=reduce)(x, e, score=score)
    a = x[[0, 1, 3]]
    first = {"sum": a.sum(0), "mean": a.mean(0), "max": a.amax(0), "center": x[0]}[reduce]
    torch.testing.assert_close(out.x[0], first)
    torch.testing.assert_close(out.x[1], x[2])
    assert (out.perm is not None) == (reduce == "center")


def test_given_and_callable_scorers():
    n = 7
    e = _path(n)
    x = torch.ones(n, 1)
    score = torch.tensor([0.0, 5.0, 0.0, 0.0, 0.0, 4.0, 0.0])
    out = KMISPooling(1, 1, scorer="given", score_heuristic=None)(x, e, score=score)
    assert out.centers.tolist() == [1, 3, 5]
    torch.testing.assert_close(out.score, score[[1, 3, 5]])
    out2 = KMISPooling(1, 1, scorer=lambda x, ei, w, b: score, score_heuristic=None)(x, e)
    assert out2.centers.tolist() == [1, 3, 5]


def test_empty_and_edgeless_graphs():
    pool = KMISPooling(3, 2)
    out = pool(torch.randn(5, 3), torch.empty(2, 0, dtype=torch.long))
    assert out.centers.tolist() == [0, 1, 2, 3, 4] and out.edge_index.size(1) == 0
    out = pool(torch.randn(0, 3), torch.empty(2, 0, dtype=torch.long))
    assert out.num_nodes == 0


# ---------------------------------------------------------------------------
# bad arguments
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"k": 0}, "'k'"),
        ({"k": 1.5}, "'k'"),
        ({"k": True}, "'k'"),
        ({"scorer": "random"}, "'scorer'"),
        ({"score_heuristic": "w-greedy"}, "'score_heuristic'"),
        ({"reduce": "min"}, "'reduce'"),
        ({"edge_reduce": "max"}, "'edge_reduce'"),
        ({"keep_self_loops": "yes"}, "'keep_self_loops'"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, name):
    args = {"in_channels": 4, "k": 1, **kwargs}
    with pytest.raises(ValueError, match=name):
        KMISPooling(args.pop("in_channels"), args.pop("k"), **args)


def test_bad_forward_input():
    e = _path(4)
    with pytest.raises(ValueError, match="in_channels=4"):
        KMISPooling(4, 1)(torch.randn(4, 3), e)
    with pytest.raises(ValueError, match="scorer='given'"):
        KMISPooling(4, 1, scorer="given")(torch.randn(4, 4), e)
    with pytest.raises(ValueError, match="'score'"):
        KMISPooling(4, 1, scorer="degree")(torch.randn(4, 4), e, score=torch.ones(4))
    with pytest.raises(ValueError, match="one value per node"):
        KMISPooling(4, 1, scorer="given")(torch.randn(4, 4), e, score=torch.ones(3))
    with pytest.raises(ValueError, match="finite"):
        KMISPooling(4, 1, scorer="given")(torch.randn(4, 4), e, score=torch.tensor([1.0, float("nan"), 0, 0]))


def test_hierarchy_composes_two_levels():
    x, e, batch = _batch(GRAPHS)
    h = Hierarchy(batch, num_graphs=len(GRAPHS))
    first = KMISPooling(5, 1, scorer="degree")(x, e, batch=batch)
    h.append(first)
    second = KMISPooling(5, 1, scorer="degree")(first.x, first.edge_index, batch=first.batch)
    h.append(second)
    assert torch.equal(h.cluster(2), second.cluster[first.cluster])


def test_undirected_reads_every_storage_as_max_of_both_directions():
    """``W = max(A, Aᵀ)`` with repeats summed and self-loops dropped, whether the edges come
    coalesced and symmetric (the one-sort path) or not (repeats, one direction, unsorted)."""
    from torch_geometric.utils import coalesce, to_undirected

    g = torch.Generator().manual_seed(11)
    n = 30
    e = to_undirected(torch.randint(n, (2, 80), generator=g), num_nodes=n)  # coalesced, symmetric
    w = torch.rand(e.size(1), generator=g, dtype=torch.float64)  # w_ij != w_ji
    loops = torch.tensor([[3, 5], [3, 5]])
    cases = [
        (e, w),  # the one-sort path
        (e[:, torch.randperm(e.size(1), generator=g)], None),  # unsorted
        (torch.cat([e, e[:, :7], loops], 1), torch.cat([w, w[:7], torch.ones(2, dtype=torch.float64)])),  # repeats
        (e[:, e[0] < e[1]], w[e[0] < e[1]]),  # one direction only
    ]
    for edges, weight in cases:
        got_e, got_w = undirected(edges, weight, n)
        wt = torch.ones(edges.size(1), dtype=torch.float64) if weight is None else weight
        A = torch.zeros(n, n, dtype=torch.float64).index_put_((edges[0], edges[1]), wt, accumulate=True)
        A.fill_diagonal_(0)
        W = torch.maximum(A, A.t())
        want_e = coalesce(W.nonzero().t(), num_nodes=n)
        assert torch.equal(got_e, want_e)
        torch.testing.assert_close(got_w.double(), W[got_e[0], got_e[1]])
