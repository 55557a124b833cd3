"""EdgePool against PyG's EdgePooling, the parallel greedy matching against a sequential
reference, and Graclus (normalized-cut heavy-edge matching) against its definition."""

import pytest
import torch
import torch_geometric.nn as pyg
from torch_geometric.data import Batch, Data
from torch_geometric.utils import coalesce, degree

from hipool import Hierarchy
from hipool.nn import EdgePool, EdgePooling, Graclus, graclus
from hipool.nn.matching import greedy_matching, rank_by_score
from tests.conftest import random_graph

F = 16


# ---------------------------------------------------------------------------
# the matching
# ---------------------------------------------------------------------------
def sequential_greedy(edge_index, rank, num_nodes):
    """The definition: edges best first, taken while both ends are free (PyG's loop)."""
    free = [True] * num_nodes
    taken = []
    for e in torch.argsort(rank).tolist():
        u, v = edge_index[:, e].tolist()
        if free[u] and free[v]:
            taken.append(e)
            free[u] = free[v] = False
    return taken


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n,m", [(10, 30), (60, 300), (200, 400)])
def test_parallel_matching_equals_sequential_greedy(seed, n, m):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, m), generator=g)  # with self-loops and duplicates
    score = torch.rand(m, generator=g)
    q = m // 4
    score[:q] = score[q : 2 * q]  # many exact ties, broken by edge order
    rank = rank_by_score(score)
    taken, rounds = greedy_matching(ei, rank, n)
    assert taken.tolist() == sequential_greedy(ei, rank, n)
    assert 1 <= rounds <= m


def test_matching_is_valid_and_maximal():
    ei = random_graph(300, degree=4, seed=3).edge_index
    taken, _ = greedy_matching(ei, rank_by_score(torch.rand(ei.size(1))), 300)
    ends = torch.cat([ei[0, taken], ei[1, taken][ei[0, taken] != ei[1, taken]]])
    assert ends.unique().numel() == ends.numel()  # no node in two taken edges
    matched = torch.zeros(300, dtype=torch.bool)
    matched[ends] = True
    assert bool((matched[ei[0]] | matched[ei[1]]).all())  # every edge touches a matched node


def test_rank_ties_follow_the_tiebreak():
    score = torch.tensor([1.0, 2.0, 1.0, 2.0])
    assert torch.argsort(rank_by_score(score)).tolist() == [1, 3, 0, 2]
    assert rank_by_score(score, tiebreak=torch.tensor([5, 9, 1, 3])).tolist() == [3, 1, 2, 0]


def test_float_keys_order_like_a_stable_descending_sort():
    g = torch.Generator().manual_seed(0)
    score = torch.cat(
        [
            torch.randn(500, generator=g) * 1e3,
            torch.tensor([0.0, -0.0, 1e-40, -1e-40, float("inf"), -float("inf"), 3.0, 3.0, -3.0, -3.0]),
        ]
    )
    score = score[torch.randperm(score.numel(), generator=g)]
    expected = torch.sort(score, descending=True, stable=True).indices
    assert torch.equal(torch.argsort(rank_by_score(score)), expected)
    assert torch.equal(torch.argsort(rank_by_score(score.double())), expected)


def test_no_edges_no_rounds():
    taken, rounds = greedy_matching(torch.empty(2, 0, dtype=torch.long), torch.empty(0, dtype=torch.long), 5)
    assert taken.numel() == 0 and rounds == 0


# ---------------------------------------------------------------------------
# EdgePool against PyG
# ---------------------------------------------------------------------------
def untied_graph(n=120, m=700, seed=0):
    """No duplicate edges, no self-loops, every target with in-degree >= 2 (a softmax
    over one edge gives exactly 1.0: a tie)."""
    g = torch.Generator().manual_seed(seed)
    ei = coalesce(torch.randint(0, n, (2, m), generator=g), num_nodes=n)
    ei = ei[:, ei[0] != ei[1]]
    ei = ei[:, degree(ei[1], n)[ei[1]] >= 2]
    return torch.randn(n, F, generator=g), ei


SCORES = {
    "softmax": None,
    "tanh": pyg.EdgePooling.compute_edge_score_tanh,
    "sigmoid": pyg.EdgePooling.compute_edge_score_sigmoid,
}


def pair(method="softmax", **kw):
    torch.manual_seed(0)
    theirs = pyg.EdgePooling(F, edge_score_method=SCORES[method], **kw)
    ours = EdgePool(F, edge_score_method=method, **kw)
    ours.load_state_dict(theirs.state_dict())  # strict
    return theirs, ours


@pytest.mark.parametrize("method", list(SCORES))
@pytest.mark.parametrize("add", [0.5, 0.0])
@pytest.mark.parametrize("seed", range(3))
def test_equals_pyg_on_one_graph(method, add, seed):
    x, ei = untied_graph(seed=seed)
    theirs, ours = pair(method, add_to_edge_score=add)
    batch = torch.zeros(x.size(0), dtype=torch.long)
    px, pei, pb, pinfo = theirs(x, ei, batch)
    out = ours(x, ei, batch)
    ox, oei, ob, oinfo = out  # PyG's 4-tuple
    assert torch.equal(oinfo.cluster, pinfo.cluster)
    assert torch.equal(out.cluster, pinfo.cluster)
    torch.testing.assert_close(oinfo.new_edge_score, pinfo.new_edge_score, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ox, px, rtol=1e-5, atol=1e-5)
    assert torch.equal(oei, pei) and torch.equal(ob, pb)
    # PyG's unpool and ours on the same record; our record holds the same input graph
    y = torch.randn_like(px)
    for a, b in zip(theirs.unpool(y, pinfo), ours.unpool(y, pinfo)):
        assert torch.equal(a, b)
    assert torch.equal(oinfo.edge_index, pinfo.edge_index) and torch.equal(oinfo.batch, pinfo.batch)


def test_gradients_equal_pyg():
    x, ei = untied_graph(seed=5)
    theirs, ours = pair("softmax")
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    w = torch.randn(1, F)
    (theirs(xa, ei, torch.zeros(x.size(0), dtype=torch.long))[0] * w).sum().backward()
    (ours(xb, ei).x * w).sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-4, atol=1e-5)
    for (name, p), q in zip(theirs.named_parameters(), ours.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_batch_equals_graph_by_graph():
    graphs = [untied_graph(n, 5 * n, seed=n) for n in (30, 80, 12)]
    data = Batch.from_data_list([Data(x=x, edge_index=ei) for x, ei in graphs])
    theirs, ours = pair("tanh")
    out = ours(data.x, data.edge_index, data.batch)
    assert bool((out.batch[1:] >= out.batch[:-1]).all())  # per graph, unlike PyG's
    for g, (x, ei) in enumerate(graphs):
        px, pei, _, pinfo = theirs(x, ei, torch.zeros(x.size(0), dtype=torch.long))
        rows = (out.batch == g).nonzero().view(-1)
        torch.testing.assert_close(out.x[rows], px, rtol=1e-5, atol=1e-5)
        nodes = (data.batch == g).nonzero().view(-1)
        assert torch.equal(out.cluster[nodes] - rows[0], pinfo.cluster)
        mine = out.edge_index[:, (out.batch[out.edge_index[0]] == g)] - rows[0]
        assert torch.equal(mine, pei)


def test_pyg_name_and_state_dict_both_ways():
    assert EdgePooling is EdgePool
    theirs, ours = pair()
    theirs.load_state_dict(ours.state_dict())
    assert set(ours.state_dict()) == {"lin.weight", "lin.bias"}
    assert repr(ours) == f"EdgePool({F})"
    ours2 = EdgePool(
        in_channels=F, edge_score_method=pyg.EdgePooling.compute_edge_score_tanh, dropout=0.2, add_to_edge_score=0.0
    )  # PyG's callables work too
    assert ours2.dropout == 0.2 and ours2.add_to_edge_score == 0.0


def test_edge_attr_and_weights_are_summed_over_merged_edges():
    # path 0-1-2-3 with both directions; tanh scores from features make (1,2) the best edge
    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    pool = EdgePool(1, edge_score_method="tanh", add_to_edge_score=0.0)
    with torch.no_grad():
        pool.lin.weight.copy_(torch.tensor([[1.0, 1.0]]))
        pool.lin.bias.zero_()
    x = torch.tensor([[0.0], [2.0], [3.0], [0.1]])
    attr = torch.arange(6, dtype=torch.float).view(-1, 1)
    w = torch.ones(6)
    out = pool(x, ei, edge_attr=attr, edge_weight=w)
    assert out.cluster.tolist() == [1, 0, 0, 2]  # pair {1,2} first, then 0 and 3
    got = {
        tuple(e): (float(a), float(b))
        for e, a, b in zip(out.edge_index.t().tolist(), out.edge_attr.view(-1), out.edge_weight)
    }
    assert got[(0, 0)] == (2.0 + 3.0, 2.0)  # edges 1->2 and 2->1 became a self-loop
    assert got[(0, 1)] == (1.0, 1.0) and got[(0, 2)] == (4.0, 1.0)
    torch.testing.assert_close(out.x[0], torch.tanh(torch.tensor(5.0)) * torch.tensor([5.0]))


@pytest.mark.parametrize("case", ["no_edges", "self_loops", "one_node", "isolated", "duplicates"])
def test_edge_cases(case):
    pool = EdgePool(F)
    x = torch.randn(6, F)
    ei = {
        "no_edges": torch.empty(2, 0, dtype=torch.long),
        "self_loops": torch.tensor([[0, 1, 2], [0, 1, 2]]),
        "one_node": torch.empty(2, 0, dtype=torch.long),
        "isolated": torch.tensor([[0, 1], [1, 0]]),
        "duplicates": torch.tensor([[0, 0, 0, 1], [1, 1, 1, 0]]),
    }[case]
    if case == "one_node":
        x = x[:1]
    out = pool(x, ei)
    assert out.cluster.min() >= 0 and out.num_input_nodes == x.size(0)
    assert bool(torch.isfinite(out.x).all())
    sizes = torch.bincount(out.cluster)
    assert bool((sizes >= 1).all() & (sizes <= 2).all())
    if case in ("no_edges", "one_node"):
        assert torch.equal(out.cluster, torch.arange(x.size(0)))
        torch.testing.assert_close(out.x, x)
    if case == "self_loops":  # a taken self-loop keeps its node alone, scaled by its score
        assert out.num_nodes == 6
    if case in ("isolated", "duplicates"):
        assert out.cluster[0] == out.cluster[1] and out.num_nodes == 5


def test_bad_input():
    pool = EdgePool(F)
    x = torch.randn(4, F)
    with pytest.raises(ValueError, match="joins graph 0 and graph 1"):
        pool(x, torch.tensor([[0], [3]]), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="in_channels=16"):
        pool(torch.randn(4, 3), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="edge_index"):
        pool(x, torch.tensor([[0], [7]]))
    with pytest.raises(ValueError, match="edge_score_method"):
        EdgePool(F, edge_score_method="relu")
    with pytest.raises(ValueError, match="dropout"):
        EdgePool(F, dropout=1.5)
    with pytest.raises(ValueError, match="in_channels"):
        EdgePool(0)


def test_hierarchy_composes_and_unpool_copies():
    data = random_graph(40, channels=F, seed=2)
    pool = EdgePool(F)
    out1 = pool(data.x, data.edge_index)
    out2 = pool(out1.x, out1.edge_index, out1.batch)
    h = Hierarchy(torch.zeros(40, dtype=torch.long))
    h.append(out1)
    h.append(out2)
    assert torch.equal(h.cluster(2), out2.cluster[out1.cluster])
    y = torch.randn(out1.num_nodes, 3)
    assert torch.equal(out1.unpool(y), y[out1.cluster])


# ---------------------------------------------------------------------------
# Graclus
# ---------------------------------------------------------------------------
def reference_graclus(ei, w, n):
    """Heaviest normalized-cut pair first, both ends free; cluster = smallest member."""
    W = torch.zeros(n, n, dtype=torch.float64)
    for (u, v), x in zip(ei.t().tolist(), w.tolist()):
        if u != v:
            W[u, v] += x / 2
            W[v, u] += x / 2
    d = W.sum(1)
    pairs = [(float(W[u, v] * (1 / d[u] + 1 / d[v])), u, v) for u in range(n) for v in range(u + 1, n) if W[u, v] > 0]
    cluster = list(range(n))
    free = [True] * n
    for _, u, v in sorted(pairs, key=lambda t: -t[0]):
        if free[u] and free[v]:
            free[u] = free[v] = False
            cluster[v] = u
    return cluster


@pytest.mark.parametrize("seed", range(4))
def test_graclus_is_normalized_cut_greedy(seed):
    g = torch.Generator().manual_seed(seed)
    n = 40
    ei = torch.randint(0, n, (2, 120), generator=g)
    w = torch.rand(120, generator=g) + 0.1  # distinct weights: no ties
    assert graclus(ei, w, n).tolist() == reference_graclus(ei, w, n)


def test_graclus_normalizes_by_degree():
    # hub 0 joined to 1..4 with weight 3; 1-5 weight 2 where 5 is a leaf: heavy-edge
    # matching would take a hub edge (3), the normalized cut prefers 1-5 (2/5 + 2/2 > 3/12 + 3/5)
    ei = torch.tensor([[0, 0, 0, 0, 1], [1, 2, 3, 4, 5]])
    w = torch.tensor([3.0, 3.0, 3.0, 3.0, 2.0])
    c = graclus(ei, w, 6)
    assert c[5] == 1


def test_graclus_is_deterministic_given_a_seed():
    ring = torch.stack([torch.arange(30), (torch.arange(30) + 1) % 30])  # every pair ties
    a = graclus(ring, num_nodes=30, seed=1)
    assert torch.equal(a, graclus(ring, num_nodes=30, seed=1))
    others = {tuple(graclus(ring, num_nodes=30, seed=s).tolist()) for s in range(2, 8)}
    assert len(others | {tuple(a.tolist())}) > 1  # the seed decides the ties
    # a valid matching: pairs are ring neighbours, every node in at most one pair
    sizes = torch.bincount(a, minlength=30)
    assert int(sizes.max()) <= 2
    for v in range(30):
        if a[v] != v:
            assert (v - int(a[v])) % 30 in (1, 29)


@pytest.mark.parametrize("reduce,pyg_pool", [("max", pyg.max_pool), ("mean", pyg.avg_pool)])
def test_graclus_pooling_equals_pyg_pool_on_its_clusters(reduce, pyg_pool):
    data = Batch.from_data_list([random_graph(n, channels=F, edge_dim=3, seed=n) for n in (25, 9, 40)])
    out = Graclus(reduce=reduce)(data.x, data.edge_index, data.edge_attr, data.batch)
    ref = pyg_pool(graclus(data.edge_index, num_nodes=data.num_nodes, batch=data.batch), data.clone())
    torch.testing.assert_close(out.x, ref.x)
    assert torch.equal(out.edge_index, ref.edge_index)
    torch.testing.assert_close(out.edge_attr, ref.edge_attr)
    assert torch.equal(out.batch, ref.batch)
    assert bool((out.batch[1:] >= out.batch[:-1]).all())


def test_graclus_matches_a_graph_alone_as_in_any_batch():
    """Ties are broken by the seed and a pair's place within its own graph: batching (or a gap in
    the graph ids) changes no graph's matching (before, a batch's random order mixed graphs)."""
    ring = random_graph(30, channels=F, degree=0)
    ring.edge_index = torch.stack([torch.arange(30), (torch.arange(30) + 1) % 30])  # every weight ties
    graphs = [ring, random_graph(12, channels=F, seed=1), ring]
    data = Batch.from_data_list(graphs)
    for seed in (0, 3):
        out = Graclus(seed=seed)(data.x, data.edge_index, batch=data.batch)
        alone = [Graclus(seed=seed)(g.x, g.edge_index).cluster for g in graphs]
        local = (
            out.cluster - torch.cat([torch.zeros(1, dtype=torch.long), torch.bincount(out.batch).cumsum(0)])[data.batch]
        )
        assert torch.equal(local, torch.cat(alone))
    gap = Graclus()(data.x, data.edge_index, batch=data.batch * 2)  # graph ids 0, 2, 4
    assert torch.equal(gap.cluster, Graclus()(data.x, data.edge_index, batch=data.batch).cluster)
    for bad, match in (
        (
            dict(num_nodes=2),
            r"'num_nodes' must be an int above every node of 'edge_index' \(which "
            r"ranges over \[0, 29\]\), got 2",
        ),
        (dict(seed="1"), "'seed' must be an int or None, got '1'"),
        (dict(batch=[0] * 30), "'batch' must be an int64 tensor \\[num_nodes=30\\], got list"),
    ):
        with pytest.raises(ValueError, match=match):
            graclus(ring.edge_index, **bad)
    with pytest.raises(ValueError, match="'edge_index' must be an int64 tensor of shape \\[2, E\\], got list"):
        graclus([[0], [1]])


def test_graclus_edge_cases_and_errors():
    x = torch.randn(5, 4)
    out = Graclus()(x, torch.empty(2, 0, dtype=torch.long))
    assert torch.equal(out.cluster, torch.arange(5)) and torch.equal(out.x, x)
    out = Graclus()(x[:1], torch.tensor([[0], [0]]))  # one node with a self-loop
    assert out.num_nodes == 1 and out.edge_index.numel() == 0
    with pytest.raises(ValueError, match="edge 1 has -1.0"):
        graclus(torch.tensor([[0, 1], [1, 2]]), torch.tensor([1.0, -1.0]), 3)
    with pytest.raises(ValueError, match="reduce"):
        Graclus(reduce="median")
    with pytest.raises(ValueError, match="joins graph"):
        Graclus()(x, torch.tensor([[0], [4]]), batch=torch.tensor([0, 0, 0, 1, 1]))
    # weights decide the matching: 0-1 light, 1-2 heavy
    c = graclus(torch.tensor([[0, 1], [1, 2]]), torch.tensor([0.1, 5.0]), 3)
    assert c.tolist() == [0, 1, 1]


# ---------------------------------------------------------------------------
# Graclus's fast parts against the plain versions they replace
# ---------------------------------------------------------------------------
def _scatter_reference(x, cluster, num, reduce):
    """Graclus's pooled features as PyG's scatter computes them (``amax`` splits a tied gradient evenly)."""
    from torch_geometric.utils import scatter

    return scatter(x, cluster, dim=0, dim_size=num, reduce=reduce)


@pytest.mark.parametrize("reduce", ["max", "mean", "sum"])
def test_graclus_pair_reduce_equals_scatter_with_its_gradient_and_ties(reduce):
    data = Batch.from_data_list([random_graph(n, channels=F, seed=n) for n in (25, 9, 40)])
    # integer features: many exact ties inside pairs, where the max's gradient is split; no zeros
    # (torch's amax backward counts a zero of a node alone as tied with the scatter's zero start,
    # see the next test)
    x = torch.randint(1, 3, (data.num_nodes, F)).double().mul(torch.randint(0, 2, (data.num_nodes, F)) * 2 - 1)
    x.requires_grad_()
    out = Graclus(reduce=reduce)(x, data.edge_index, batch=data.batch)
    ref = _scatter_reference(x, out.cluster, out.num_nodes, reduce)
    assert torch.equal(out.x, ref)
    g = torch.randn_like(ref)
    (got,) = torch.autograd.grad(out.x, x, g)
    (want,) = torch.autograd.grad(ref, x, g)
    assert bool((got == 0.5 * g[out.cluster]).any()) == (reduce in ("max", "mean"))  # ties met
    torch.testing.assert_close(got, want, rtol=0, atol=1e-15)
    if reduce != "max":  # max is not differentiable at ties; gradcheck on distinct values below
        torch.autograd.gradcheck(lambda t: Graclus(reduce=reduce)(t, data.edge_index, batch=data.batch).x, (x,))
    xs = torch.randn(data.num_nodes, 3, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda t: Graclus(reduce=reduce)(t, data.edge_index, batch=data.batch).x, (xs,))


def test_graclus_max_gives_a_node_alone_its_whole_gradient_at_zero():
    """PyG's max_pool (scatter ``amax`` from zeros) halves the gradient of a lone node's feature
    that is exactly 0, as if it tied with the start value; hipool does not."""
    x = torch.tensor([[1.0, 2.0], [1.0, 3.0], [5.0, 0.0]], requires_grad=True)
    out = Graclus()(x, torch.tensor([[0, 1], [1, 0]]))  # pair {0, 1}; node 2 alone
    (grad,) = torch.autograd.grad(out.x, x, torch.tensor([[1.0, 10.0], [100.0, 1000.0]]))
    assert grad.tolist() == [[0.5, 0.0], [0.5, 10.0], [100.0, 1000.0]]


def test_graclus_sum_keeps_an_unmatched_node_infinite_not_nan():
    from hipool.nn.contraction import _pair_reduce

    x = torch.tensor([[1.0], [2.0], [float("inf")]])  # (the pooler's input checks refuse inf)
    got = _pair_reduce(x, torch.tensor([0, 2]), torch.tensor([1, 2]), "sum")
    assert got.tolist() == [[3.0], [float("inf")]]


def test_graclus_takes_one_dimensional_features():
    x = torch.tensor([1.0, 2.0, 5.0], requires_grad=True)
    for reduce, want in (("max", [[2.0], [5.0]]), ("mean", [[1.5], [5.0]]), ("sum", [[3.0], [5.0]])):
        out = Graclus(reduce=reduce)(x, torch.tensor([[0, 1], [1, 0]]))
        assert out.x.tolist() == want
        out.x.sum().backward()


@pytest.mark.parametrize("seed", range(3))
def test_graclus_undirected_pairs_equal_coalesce(seed):
    from hipool.nn.contraction import _undirected_pairs

    g = torch.Generator().manual_seed(seed)
    n = 50
    src, dst = torch.randint(0, n, (2, 400), generator=g)  # both directions, duplicates
    w = torch.rand(400, generator=g, dtype=torch.float64)
    pairs, pw = _undirected_pairs(src, dst, w, n)
    ref, ref_w = coalesce(torch.stack([torch.minimum(src, dst), torch.maximum(src, dst)]), w, n, reduce="sum")
    assert torch.equal(pairs, ref)
    torch.testing.assert_close(pw, ref_w, rtol=1e-15, atol=0)


def test_graclus_rank_orders_by_the_float32_ncut_then_the_tiebreak():
    from hipool.nn.contraction import _ncut_rank

    g = torch.Generator().manual_seed(0)
    ncut = torch.rand(300, generator=g, dtype=torch.float64) * 2 + 1e-3
    ncut[:100] = ncut[100:200]  # exact ties, decided by the tiebreak
    ncut[200:210] = ncut[210:220] * (1 + 1e-12)  # float64 apart, one float32: ties too
    tiebreak = torch.randperm(300, generator=g) * 1000 + 2**31  # distinct, within [0, 2**32)
    key = _ncut_rank(ncut, tiebreak)
    assert torch.equal(torch.argsort(key), torch.argsort(rank_by_score(ncut.float(), tiebreak)))
    assert key.unique().numel() == 300
    # 1/2 + 1/12 and 1/3 + 1/4 are one value, which float64 tells apart by its last bit
    ncut = torch.tensor([1 / 2 + 1 / 12, 1 / 3 + 1 / 4], dtype=torch.float64)
    assert ncut[0] != ncut[1]
    for tb, first in (([5, 9], 0), ([9, 5], 1)):
        assert int(torch.argmin(_ncut_rank(ncut, torch.tensor(tb)))) == first


def test_graclus_without_edge_attr_equals_pyg_pool():
    data = Batch.from_data_list([random_graph(n, channels=F, seed=n) for n in (25, 9, 40)])
    out = Graclus()(data.x, data.edge_index, batch=data.batch)
    plain = Data(x=data.x, edge_index=data.edge_index, batch=data.batch)
    ref = pyg.max_pool(graclus(data.edge_index, num_nodes=data.num_nodes, batch=data.batch), plain)
    assert torch.equal(out.edge_index, ref.edge_index) and out.edge_attr is None
