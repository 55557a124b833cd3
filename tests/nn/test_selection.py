"""TopKPooling / SAGPooling against PyG's, same weights and input; invariances; edge cases."""

import pytest
import torch
import torch_geometric.nn as pyg
from torch_geometric.data import Batch

from hipool.nn import DROPPED, PoolOutput, SAGPooling, TopKPooling, num_kept, topk
from tests.conftest import random_batch, random_graph

PAIRS = [(pyg.TopKPooling, TopKPooling), (pyg.SAGPooling, SAGPooling)]
# graphs of very different sizes, including one-node and two-node graphs
SIZES = [3, 50, 7, 1, 400, 20, 2, 1000]


def pair(pyg_cls, our_cls, **kw):
    torch.manual_seed(0)
    theirs = pyg_cls(16, **kw)
    ours = our_cls(16, **kw)
    ours.load_state_dict(theirs.state_dict())  # strict: same names and shapes
    return theirs, ours


def assert_same(theirs, ours):
    """Indices exactly equal; features and scores equal to float rounding (our score is a
    matrix-vector product, PyG's an elementwise product and sum)."""
    assert isinstance(ours, PoolOutput)
    for name, a, b in zip(("x", "edge_index", "edge_attr", "batch", "perm", "score"), theirs, ours):
        if a is None:
            assert b is None, name
        elif name in ("x", "score"):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
        else:
            assert torch.equal(a, b), name


@pytest.mark.parametrize("pyg_cls,our_cls", PAIRS)
@pytest.mark.parametrize(
    "kw",
    [
        dict(ratio=0.5),
        dict(ratio=0.8),
        dict(ratio=0.25),
        dict(ratio=5),
        dict(ratio=1),
        dict(min_score=0.01),
        dict(min_score=0.2),
        dict(ratio=0.5, multiplier=2.0),
        dict(ratio=0.5, nonlinearity="sigmoid"),
    ],
)
def test_equals_pyg(pyg_cls, our_cls, kw):
    b = random_batch(SIZES, edge_dim=3)
    theirs, ours = pair(pyg_cls, our_cls, **kw)
    assert_same(theirs(b.x, b.edge_index, b.edge_attr, b.batch), ours(b.x, b.edge_index, b.edge_attr, b.batch))


@pytest.mark.parametrize("pyg_cls,our_cls", PAIRS)
def test_gradients_equal_pyg(pyg_cls, our_cls):
    b = random_batch([30, 5, 80])
    theirs, ours = pair(pyg_cls, our_cls, ratio=0.5)
    x1 = b.x.clone().requires_grad_()
    x2 = b.x.clone().requires_grad_()
    (theirs(x1, b.edge_index, batch=b.batch)[0] ** 2).sum().backward()
    (ours(x2, b.edge_index, batch=b.batch).x ** 2).sum().backward()
    torch.testing.assert_close(x2.grad, x1.grad, rtol=1e-4, atol=1e-5)
    for (n1, p1), (n2, p2) in zip(theirs.named_parameters(), ours.named_parameters()):
        assert n1 == n2
        torch.testing.assert_close(p2.grad, p1.grad, rtol=1e-4, atol=1e-5)
    # SAGPool's 1x1 select.weight only sets a sign (y * w / |w|): zero gradient there, as in PyG
    assert sum(p.grad.abs().sum() for p in ours.parameters()) > 0


def test_seed_unpacking_and_record_fields():
    b = random_batch([10, 6])
    out = TopKPooling(16, ratio=0.5)(b.x, b.edge_index, batch=b.batch)
    x, edge_index, _, batch, perm, score = out
    assert len(out) == 6 and out[0] is out.x and out[-1] is out.score
    assert x.shape == (8, 16) and batch.tolist() == [0] * 5 + [1] * 3
    # the input -> output map is the inverse of perm, DROPPED elsewhere
    assert out.cluster.shape == (16,)
    assert torch.equal(out.cluster[perm], torch.arange(8))
    assert int((out.cluster == DROPPED).sum()) == 8
    assert out.aux_losses == {} and out.assignment is None
    assert out.kept.sum() == 8


def test_exact_k_differs_from_pyg_float32_on_purpose():
    # PyG: ceil(0.3f * 50) in float32 = 16; exact: 15.  The 15 we keep are PyG's first 15.
    assert num_kept(torch.tensor([50, 25, 30, 10]), 0.3).tolist() == [15, 8, 9, 3]
    assert num_kept(torch.tensor([30]), 0.1).tolist() == [3]  # float64 ceil(0.1 * 30) would be 4
    b = random_batch([50])
    theirs, ours = pair(pyg.TopKPooling, TopKPooling, ratio=0.3)
    p_theirs = theirs(b.x, b.edge_index, batch=b.batch).__getitem__(4)
    p_ours = ours(b.x, b.edge_index, batch=b.batch).perm
    assert p_theirs.numel() == 16 and p_ours.numel() == 15
    assert torch.equal(p_ours, p_theirs[:15])


def test_float_ratio_one_keeps_all_nodes_int_one_keeps_one():
    b = random_batch([7, 3])
    out = TopKPooling(16, ratio=1.0)(b.x, b.edge_index, batch=b.batch)
    assert out.num_nodes == 10 and out.edge_index.size(1) == b.edge_index.size(1)
    out = TopKPooling(16, ratio=1)(b.x, b.edge_index, batch=b.batch)
    assert out.batch.tolist() == [0, 1]


def test_int_ratio_is_min_of_k_and_size():
    b = random_batch([2, 10, 30])
    out = TopKPooling(16, ratio=5)(b.x, b.edge_index, batch=b.batch)
    assert torch.bincount(out.batch).tolist() == [2, 5, 5]


def test_ties_are_broken_by_lower_index():
    score = torch.tensor([0.5, 0.9, 0.5, 0.5, 0.9, 0.1, 0.5])
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    # graph 0: 0.9 at 1, then ties at 0, 2, 3 -> keep 0, 2 ; graph 1: 0.9 at 4 then 0.5 at 6
    assert topk(score, 3, batch).tolist() == [1, 0, 2, 4, 6, 5]
    x = torch.ones(6, 4)  # every node scores the same
    out = TopKPooling(4, ratio=0.5)(x, torch.empty(2, 0, dtype=torch.long))
    assert out.perm.tolist() == [0, 1, 2]


def test_batch_equals_graphs_one_at_a_time():
    sizes = [12, 1, 40, 5]
    graphs = [random_graph(n, seed=i) for i, n in enumerate(sizes)]
    b = Batch.from_data_list(graphs)
    pool = SAGPooling(16, ratio=0.5)
    whole = pool(b.x, b.edge_index, batch=b.batch)
    offset = 0
    for g, data in enumerate(graphs):
        one = pool(data.x, data.edge_index)
        mask = whole.batch == g
        torch.testing.assert_close(whole.x[mask], one.x)
        assert torch.equal(whole.perm[mask] - b.ptr[g], one.perm)
        emask = mask[whole.edge_index[0]]
        assert torch.equal(whole.edge_index[:, emask] - offset, one.edge_index)
        offset += one.num_nodes


def test_permutation_equivariance():
    data = random_graph(60, seed=3)
    pool = TopKPooling(16, ratio=0.4)
    out = pool(data.x, data.edge_index)
    perm = torch.randperm(60, generator=torch.Generator().manual_seed(1))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(60)
    out_p = pool(data.x[perm], inv[data.edge_index])
    # the same original nodes are kept, in the same (score) order, with the same features
    assert torch.equal(perm[out_p.perm], out.perm)
    torch.testing.assert_close(out_p.x, out.x)

    # edges: the same set of original-node pairs
    def pairs(o, relabel):
        orig = relabel[o.perm]
        return sorted(map(tuple, orig[o.edge_index].t().tolist()))

    assert pairs(out_p, perm) == pairs(out, torch.arange(60))


def test_edge_cases_one_node_no_edges_isolated():
    pool = TopKPooling(16, ratio=0.5)
    one = random_graph(1)
    out = pool(one.x, one.edge_index)
    assert out.num_nodes == 1 and out.edge_index.shape == (2, 0)
    x = torch.randn(6, 16)
    no_edges = torch.empty(2, 0, dtype=torch.long)
    out = pool(x, no_edges, edge_attr=torch.empty(0, 2))
    assert out.num_nodes == 3 and out.edge_attr.shape == (0, 2)
    isolated = torch.tensor([[0, 1], [1, 0]])  # nodes 2..5 isolated
    out = SAGPooling(16, ratio=0.5)(x, isolated)
    assert out.num_nodes == 3
    # an empty graph: nothing to pool, nothing breaks
    out = pool(torch.empty(0, 16), no_edges, batch=torch.empty(0, dtype=torch.long))
    assert out.num_nodes == 0


def test_edge_attr_any_width_is_carried():
    data = random_graph(30, edge_dim=0)
    ea = torch.arange(data.edge_index.size(1) * 2 * 3, dtype=torch.float).view(-1, 2, 3)
    out = TopKPooling(16, ratio=0.5)(data.x, data.edge_index, ea)
    kept = out.cluster[data.edge_index].ge(0).all(0)
    assert torch.equal(out.edge_attr, ea[kept])


def test_repr_and_state_dict_names():
    assert repr(TopKPooling(8, ratio=0.3)) == "TopKPooling(8, ratio=0.3, multiplier=1.0)"
    assert list(TopKPooling(8).state_dict()) == list(pyg.TopKPooling(8).state_dict())
    assert list(SAGPooling(8).state_dict()) == list(pyg.SAGPooling(8).state_dict())
    sag = SAGPooling(8, GNN=pyg.GCNConv)
    assert list(sag.state_dict()) == list(pyg.SAGPooling(8, GNN=pyg.GCNConv).state_dict())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_topk_order_matches_reference_sort(dtype):
    """Graph ascending, score descending, index ascending; -0.0 and 0.0 tie."""
    g = torch.Generator().manual_seed(0)
    batch = torch.repeat_interleave(torch.arange(30), torch.randint(1, 40, (30,), generator=g))
    score = torch.round(torch.randn(batch.numel(), generator=g) * 4) / 4  # many ties, some -0.0
    score = score.to(dtype)
    assert (score == 0).any() and (torch.signbit(score) & (score == 0)).any()
    for ratio in (0.5, 3, 1.0):
        kept = topk(score, ratio, batch).tolist()
        expect = []
        for gid in range(30):
            nodes = (batch == gid).nonzero().view(-1).tolist()
            nodes.sort(key=lambda i: (-float(score[i]), i))
            expect += nodes[: int(num_kept(torch.tensor([len(nodes)]), ratio))]
        assert kept == expect


def test_sag_scores_graphconv_projected_first_equal_graphconv():
    """SAGPool's default score layer is computed as W1 (sum of e_ji x_j) = sum of e_ji (W1 x_j):
    the same values and gradients as PyG's GraphConv, with and without edge weights."""
    from torch_geometric.nn import GraphConv

    from hipool.nn.selection import graphconv_projected, projected_first

    g = torch.Generator().manual_seed(3)
    x = torch.randn(25, 6, dtype=torch.float64, generator=g, requires_grad=True)
    ei = torch.randint(25, (2, 70), generator=g)
    w = torch.rand(70, dtype=torch.float64, generator=g, requires_grad=True)
    conv = GraphConv(6, 1).double()
    assert projected_first(conv) and not projected_first(GraphConv(6, 1, aggr="mean"))
    for weight in (None, w):
        ours = graphconv_projected(conv, x, ei, weight)
        ref = conv(x, ei, weight)
        torch.testing.assert_close(ours, ref)
        g1 = torch.autograd.grad(ours.sum(), [x, *conv.parameters()])
        g2 = torch.autograd.grad(ref.sum(), [x, *conv.parameters()])
        for a, b in zip(g1, g2):
            torch.testing.assert_close(a, b)
    gw1 = torch.autograd.grad(graphconv_projected(conv, x, ei, w).sum(), w)[0]
    gw2 = torch.autograd.grad(conv(x, ei, w).sum(), w)[0]
    torch.testing.assert_close(gw1, gw2)
