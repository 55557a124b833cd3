"""Nothing silently wrong (issue 17): bad input to the poolers and models is a ValueError naming the
pooler or model, the argument and the problem; the corner cases that are valid give the right
result; no NaN gradient where the values are defined."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch_geometric.nn as pyg
from torch_geometric.data import Batch, Data
from torch_geometric.nn import dense_diff_pool as pyg_diff
from torch_geometric.utils import to_dense_adj, to_dense_batch

import hipool
from hipool import ModelConfig
from hipool.checks import check_graph
from hipool.nn import (
    REGISTRY,
    ASAPooling,
    DiffPool,
    DMoNPool,
    EdgePool,
    Graclus,
    MinCutPool,
    PoolOutput,
    SAGPooling,
    TopKPooling,
    build_model,
    num_kept,
)
from hipool.nn import functional as HF
from hipool.nn.functional import gather_as
from tests.conftest import random_batch, random_graph

NAN, INF = float("nan"), float("inf")
X = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
E = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
B = torch.tensor([0, 0, 1, 1])


def _weights(*values):
    return torch.tensor(values, dtype=torch.float32)


# ---------------------------------------------------------------------------
# edge weights and edge features
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls,reason", [(MinCutPool, "MinCut's cut loss"), (DMoNPool, "DMoN's modularity")])
@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_spectral_poolers_refuse_nonfinite_and_negative_weights(cls, reason, mode):
    """They returned a NaN adjacency with a loss of exactly 0.0."""
    pool = cls(3, 2, mode=mode)
    name = cls.__name__
    with pytest.raises(
        ValueError,
        match=rf"^{name}: 'edge_weight' must be finite; edge 1 \(1 -> 0\) has nan "
        rf"\(2 non-finite weight\(s\)\)$",
    ):
        pool(X, E, batch=B, edge_weight=_weights(1, NAN, 1, INF))
    with pytest.raises(
        ValueError,
        match=rf"^{name}: 'edge_weight' must be >= 0 \({reason}.*degrees\); "
        rf"edge 2 \(2 -> 3\) has -2.0 \(1 negative weight\(s\)\)$",
    ):
        pool(X, E, batch=B, edge_weight=_weights(1, 1, -2, 1))
    pool(X, E, batch=B, edge_weight=_weights(1, 0, 2, 1))  # zero is a weight like any other


def test_functional_forms_refuse_nonfinite_and_negative_adjacency():
    s = torch.randn(4, 2)
    with pytest.raises(ValueError, match=r"^mincut_pool: 'edge_weight' must be >= 0 .* edge 2 \(2 -> 3\)"):
        HF.mincut_pool(X, E, s, B, _weights(1, 1, -2, 1))
    with pytest.raises(ValueError, match=r"^dmon_pool: 'edge_weight' must be finite; edge 0 \(0 -> 1\) has inf"):
        HF.dmon_pool(X, E, s, B, _weights(INF, 1, 1, 1))
    adj = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    bad = adj.clone()
    bad[0, 1, 0] = -1.0
    x, logits = torch.randn(1, 2, 3), torch.randn(1, 2, 2)
    with pytest.raises(
        ValueError,
        match=r"^dense_dmon_pool: 'adj' must be >= 0 \(DMoN's.*\); graph 0 has -1.0 "
        r"at edge \(1, 0\)$",
    ):
        HF.dense_dmon_pool(x, bad, logits)
    with pytest.raises(ValueError, match=r"^dense_mincut_pool: 'adj' must be >= 0"):
        HF.dense_mincut_pool(x, bad, logits)
    bad[0, 1, 0] = NAN
    with pytest.raises(ValueError, match=r"^dense_diff_pool: 'adj' must be finite; graph 0 has nan at edge \(1, 0\)$"):
        HF.dense_diff_pool(x, bad, logits)
    xn = x.clone()
    xn[0, 1, 2] = INF
    with pytest.raises(ValueError, match=r"^dense_mincut_pool: 'x' contains NaN/inf, first at graph 0, node 1$"):
        HF.dense_mincut_pool(xn, adj, logits)
    with pytest.raises(ValueError, match=r"'x' has dtype torch.int64; it must be floating point"):
        HF.dense_diff_pool(x.long(), adj, logits)


def test_diffpool_takes_negative_weights_where_it_reads_no_degrees():
    """DiffPool's link loss and SᵀAS are defined for any weights; its default pooled adjacency
    normalisation and gcn assignment read degrees, so only they need weights >= 0."""
    w = _weights(1, -0.5, 2, 1)
    with pytest.raises(ValueError, match=r"^DiffPool: 'edge_weight' must be >= 0 \(adj_norm=True"):
        DiffPool(3, 2)(X, E, batch=B, edge_weight=w)
    with pytest.raises(ValueError, match=r"^DiffPool: 'edge_weight' must be >= 0 \(the 'gcn' assignment"):
        DiffPool(3, 2, adj_norm=False)(X, E, batch=B, edge_weight=w)
    torch.manual_seed(0)
    pool = DiffPool(3, 2, assign="linear", reduce="sum", link_norm="nodes", entropy_norm=False, adj_norm=False)
    out = pool(X, E, batch=B, edge_weight=w)
    Xd, mask = to_dense_batch(X, B)
    S, _ = to_dense_batch(pool.assign(X, E, w), B)
    A = to_dense_adj(E, B, w)
    ref_x, ref_adj, _, _ = pyg_diff(Xd, A, S, mask)
    torch.testing.assert_close(out.x, ref_x.view(-1, 3))
    torch.testing.assert_close(out.edge_weight, ref_adj[ref_adj != 0])


def test_sag_refuses_negative_weights_only_with_a_degree_normalising_gnn():
    w = _weights(1, 1, -2, 1)
    with pytest.raises(
        ValueError,
        match=r"^SAGPooling: 'edge_weight' must be >= 0 \(GCNConv normalises by "
        r"weighted degrees\); edge 2 \(2 -> 3\) has -2.0",
    ):
        SAGPooling(3, GNN=pyg.GCNConv)(X, E, batch=B, edge_weight=w)
    torch.manual_seed(0)
    theirs = pyg.SAGPooling(3, GNN=pyg.GraphConv)
    ours = SAGPooling(3, GNN=pyg.GraphConv)
    ours.load_state_dict(theirs.state_dict())
    a = theirs(X, E, batch=B, attn=None)  # PyG's SAG takes no edge_weight; compare the scorer itself
    b = ours(X, E, batch=B)
    torch.testing.assert_close(b.x, a[0])
    ours(X, E, batch=B, edge_weight=w)  # GraphConv sums weighted messages: any finite weight


def test_graclus_names_the_negative_weight():
    with pytest.raises(
        ValueError,
        match=r"^Graclus: 'edge_weight' must be >= 0 \(the normalized cut divides by "
        r"weighted degrees\); edge 2 \(2 -> 3\) has -2.0",
    ):
        Graclus()(X, E, batch=B, edge_weight=_weights(1, 1, -2, 1))


def test_nonfinite_edge_attr_is_refused_by_check_graph_in_its_one_sync():
    attr = torch.zeros(4, 2)
    attr[3, 1] = NAN
    attr[1, 0] = INF
    with pytest.raises(
        ValueError,
        match=r"^t: 'edge_attr' contains NaN values in 2 edge\(s\), first at "
        r"edge 1 \(1 -> 0\)$",
    ):
        check_graph(X, E, B, attr, where="t")
    check_graph(X, E, B, attr.long(), where="t")  # integer features are finite
    check_graph(X, E, B, torch.full((4, 2), 3e38), where="t")  # sum overflows, values are finite
    for name in ("topk", "mincut", "asap", "given"):
        pool = REGISTRY[name].build(3, 2 if REGISTRY[name].needs_count else "given" if name == "given" else 0.5, {})
        with pytest.raises(ValueError, match=rf"^{type(pool).__name__}: 'edge_attr' contains NaN"):
            kw = {"groups": torch.zeros(4, dtype=torch.long)} if name == "given" else {}
            pool(X, E, edge_attr=attr, batch=B, **kw)
    with hipool.checks_disabled():
        TopKPooling(3)(X, E, attr, B)


def test_checks_are_one_synchronisation():
    """All value checks of check_graph, the new ones included, are read back to the host once
    (on the CPU the one-graph shortcut also reads ``batch``'s two ends with ``int``, which costs
    no synchronisation there and is not taken on other devices)."""
    calls = []
    original = torch.Tensor.__bool__

    def counting(self):
        calls.append(1)
        return original(self)

    torch.Tensor.__bool__ = counting
    try:
        check_graph(
            X, E, B, torch.randn(4, 2), where="t", edge_weight=_weights(1, 1, 2, 1), nonnegative_weights="degrees"
        )
    finally:
        torch.Tensor.__bool__ = original
    assert len(calls) == 1


# ---------------------------------------------------------------------------
# ratios and the other numeric arguments
# ---------------------------------------------------------------------------
def test_any_ratio_keeps_at_least_one_node_of_every_nonempty_graph():
    assert num_kept(torch.tensor([0, 1, 2, 5, 1000]), 1e-300).tolist() == [0, 1, 1, 1, 1]
    assert num_kept(torch.tensor([0, 1, 2, 5, 1000]), 1e-7).tolist() == [0, 1, 1, 1, 1]
    assert num_kept(torch.tensor([0, 1, 3, 30]), 0.1).tolist() == [0, 1, 1, 3]  # unchanged above one
    x = torch.randn(9, 3)
    edges = torch.tensor([[0, 1, 5, 6], [1, 0, 6, 7]])
    batch = torch.tensor([0, 0, 0, 2, 2, 3, 3, 3, 3])  # graph 1 is empty
    for cls in (TopKPooling, SAGPooling, ASAPooling):
        torch.manual_seed(0)
        tiny = cls(3, ratio=1e-300)
        one = cls(3, ratio=1)
        one.load_state_dict(tiny.state_dict())
        a, b = tiny(x, edges, batch=batch), one(x, edges, batch=batch)
        assert a.batch.tolist() == [0, 2, 3], cls
        assert torch.equal(a.perm, b.perm) and torch.equal(a.x, b.x)  # each graph's best node


def test_min_score_keeps_each_graphs_best_node_whatever_its_value():
    x = torch.randn(9, 3)
    batch = torch.tensor([0, 0, 0, 2, 2, 3, 3, 3, 3])
    torch.manual_seed(0)
    keep_all = TopKPooling(3, ratio=None, min_score=-1.0)(x, torch.empty(2, 0, dtype=torch.long), batch=batch)
    assert keep_all.perm.tolist() == list(range(9))
    torch.manual_seed(0)
    best = TopKPooling(3, ratio=None, min_score=2.0)(x, torch.empty(2, 0, dtype=torch.long), batch=batch)
    assert best.batch.tolist() == [0, 2, 3]
    with pytest.raises(ValueError, match=r"^topk: 'min_score' must be a finite number, got nan$"):
        hipool.nn.topk(torch.rand(3), None, torch.zeros(3, dtype=torch.long), min_score=NAN)


CONSTRUCTORS = [
    (lambda: TopKPooling(3, ratio=NAN), r"TopKPooling: 'ratio' as a float .* must be in \(0, 1\], got nan"),
    (lambda: TopKPooling(3, ratio=INF), r"TopKPooling: 'ratio' as a float .* got inf"),
    (lambda: TopKPooling(3, min_score=NAN), r"TopKPooling: 'min_score' must be a finite number or None, got nan"),
    (lambda: SAGPooling(3, min_score=-INF), r"SAGPooling: 'min_score' must be a finite number or None, got -inf"),
    (lambda: TopKPooling(3, multiplier=NAN), r"TopKPooling: 'multiplier' must be a finite number, got nan"),
    (lambda: TopKPooling(3, multiplier="2"), r"TopKPooling: 'multiplier' must be a finite number, got '2' of type str"),
    (lambda: TopKPooling(3, nonlinearity=3), r"TopKPooling: 'nonlinearity' must be an activation's name"),
    (lambda: TopKPooling(0), r"TopKPooling: 'in_channels' must be an int >= 1, got 0$"),
    (lambda: SAGPooling(3.0), r"SAGPooling: 'in_channels' must be an int >= 1, got 3.0 of type float"),
    (lambda: SAGPooling(3, GNN="gcn"), r"SAGPooling: 'GNN' must be a layer class"),
    (lambda: MinCutPool(3, 2, temp=NAN), r"MinCutPool: 'temp' must be a finite number in \(0, inf\), got nan"),
    (lambda: MinCutPool(3, 2, temp=INF), r"MinCutPool: 'temp' must be a finite number in \(0, inf\), got inf"),
    (lambda: MinCutPool(3, 2, temp=0), r"MinCutPool: 'temp' .* got 0"),
    (
        lambda: MinCutPool(3, 2, edge_threshold=NAN),
        r"MinCutPool: 'edge_threshold' must be a finite number in "
        r"\[0, inf\) or None, got nan",
    ),
    (lambda: DMoNPool(3, 2, edge_threshold=INF), r"DMoNPool: 'edge_threshold' .* got inf"),
    (lambda: DMoNPool(3, 2, dropout=1.0), r"DMoNPool: 'dropout' must be a finite number in \[0, 1\), got 1.0"),
    (lambda: DMoNPool(3, 2, dropout=NAN), r"DMoNPool: 'dropout' .* got nan"),
    (lambda: DiffPool(3, 0), r"DiffPool: 'num_clusters' must be an int >= 1, got 0$"),
    (
        lambda: DiffPool(3, 2.0),
        r"DiffPool: 'num_clusters' must be an int >= 1, got 2.0 of type float \(clustering "
        r"poolers need an absolute cluster count, not a ratio\)",
    ),
    (lambda: DiffPool(3, True), r"DiffPool: 'num_clusters' must be an int >= 1, got True of type bool"),
    (lambda: DiffPool(-1, 2), r"DiffPool: 'in_channels' must be an int >= 1, got -1"),
    (lambda: DiffPool(3, 2, assign_hidden=0), r"DiffPool: 'assign_hidden' must be an int >= 1 or None, got 0"),
    (lambda: DiffPool(3, 2, edge_topk=1.5), r"DiffPool: 'edge_topk' must be an int >= 1 or None, got 1.5"),
    (lambda: DiffPool(3, 2, pool_edge_attr="no"), r"DiffPool: 'pool_edge_attr' must be True or False, got 'no'"),
    (lambda: DiffPool(3, 2, adj_norm=1), r"DiffPool: 'adj_norm' must be True or False, got 1 of type int"),
    (lambda: DiffPool(3, 2, mode=None), r"DiffPool: 'mode' must be one of auto, dense, sparse, got None"),
    (lambda: DiffPool(3, 2, assign=["gcn"]), r"DiffPool: 'assign' must be one of linear, mlp, .*, got \['gcn'\]"),
    (lambda: ASAPooling(3, negative_slope=NAN), r"ASAPooling: 'negative_slope' must be a finite number, got nan"),
    (lambda: ASAPooling(3, add_self_loops="yes"), r"ASAPooling: 'add_self_loops' must be True or False"),
    (lambda: ASAPooling(3, ratio=1e-400), r"ASAPooling: 'ratio' as a float .* got 0.0"),
    (lambda: EdgePool(3, add_to_edge_score=NAN), r"EdgePool: 'add_to_edge_score' must be a finite number, got nan"),
    (lambda: EdgePool(3, dropout=-0.1), r"EdgePool: 'dropout' must be a finite number in \[0, 1\), got -0.1"),
    (lambda: EdgePool(True), r"EdgePool: 'in_channels' must be an int >= 1, got True of type bool"),
    (lambda: Graclus(0), r"Graclus: 'in_channels' must be an int >= 1 or None, got 0"),
    (lambda: Graclus(seed=2**70), r"Graclus: 'seed' must be an int in \[-2\*\*63, 2\*\*64\) or None"),
]


@pytest.mark.parametrize("make,match", CONSTRUCTORS)
def test_constructor_arguments_are_checked(make, match):
    with pytest.raises(ValueError, match="^" + match):
        make()
    with hipool.checks_disabled(), pytest.raises(ValueError):  # free, so never switched off
        make()


def test_registry_factories_name_the_config_and_check_their_fixed_entry():
    with pytest.raises(ValueError, match=r"^model config: mincut: MinCutPool: 'temp' must be a finite number"):
        REGISTRY["mincut"].build(8, 4, {"temp": NAN})
    with pytest.raises(ValueError, match=r"^model config: topk: TopKPooling: 'min_score' must be a finite"):
        REGISTRY["topk"].build(8, 0.5, {"min_score": NAN})
    with pytest.raises(ValueError, match=r"^model config: edgepool takes the schedule entry 0.5 only, got nan"):
        REGISTRY["edgepool"].build(8, NAN, {})
    with pytest.raises(ValueError, match=r"^model config: given takes the schedule entry 'given' only, got 0.5"):
        REGISTRY["given"].build(8, 0.5, {})
    assert set(REGISTRY["mincut"].options) >= {"temp", "mode", "assign", "dropout"}


# ---------------------------------------------------------------------------
# node features: width and dtype
# ---------------------------------------------------------------------------
def _pool(name, channels=3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return REGISTRY[name].build(channels, REGISTRY[name].example_entry(), {})


def _call(pool, x):
    kw = {"groups": torch.zeros(x.size(0), dtype=torch.long)} if type(pool).__name__ == "GivenPool" else {}
    return pool(x, E, batch=B, **kw)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_pooler_names_wrong_width_and_integer_features(name):
    pool = _pool(name)
    where = type(pool).__name__
    with pytest.raises(ValueError, match=rf"^{where}: 'x' has 5 features but the pooler was built for in_channels=3$"):
        _call(pool, torch.randn(4, 5))
    with pytest.raises(
        ValueError,
        match=rf"^{where}: 'x' has dtype torch.int64, but node features must be floating "
        rf"point \(call x.float\(\) on integer or boolean features\)$",
    ):
        _call(pool, torch.ones(4, 3, dtype=torch.long))
    if any(True for _ in pool.parameters()):
        with pytest.raises(
            ValueError,
            match=rf"^{where}: 'x' has dtype torch.float64 but the parameters are "
            rf"torch.float32; call x.float\(\)",
        ):
            _call(pool, X.double())
        _call(pool.double(), X.double())  # a double pooler takes double features
    else:
        _call(pool, X.double())  # nothing to disagree with


def test_attn_is_checked_like_x():
    with pytest.raises(
        ValueError,
        match=r"^TopKPooling: 'attn' has 2 features but the pooler was built for "
        r"in_channels=3$",
    ):
        TopKPooling(3)(X, E, batch=B, attn=torch.randn(4, 2))
    with pytest.raises(ValueError, match=r"^SAGPooling: 'attn' must have one row per node \(4\), got \(3, 3\)$"):
        SAGPooling(3)(X, E, batch=B, attn=torch.randn(3, 3))


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------
def test_model_input_errors_name_the_model_and_argument():
    model = build_model(ModelConfig(hidden=4), 16, 2)
    b = random_batch([5, 4])
    with pytest.raises(
        ValueError,
        match=r"^HierarchicalGNN: 'x' has dtype torch.int64, but node features must "
        r"be floating point \(call x.float\(\)",
    ):
        model(b.x.long(), b.edge_index, b.batch)
    with pytest.raises(
        ValueError,
        match=r"^HierarchicalGNN: 'x' has dtype torch.float64 but the parameters are "
        r"torch.float32",
    ):
        model(b.x.double(), b.edge_index, b.batch)
    with pytest.raises(ValueError, match=r"^HierarchicalGNN: 'x' has 15 features but the model was built"):
        model(b.x[:, :15], b.edge_index, b.batch)
    with pytest.raises(ValueError, match=r"^HierarchicalGNN: 'x' has 9 nodes but 'batch' has 8 entries"):
        model(b.x, b.edge_index, b.batch[:-1])
    with pytest.raises(ValueError, match=r"^HierarchicalGNN: 'edge_attr' contains inf values"):
        model(b.x, b.edge_index, b.batch, torch.full((b.edge_index.size(1), 2), INF))
    unet = build_model(ModelConfig(hidden=4, task="node"), 16, 2)
    with pytest.raises(ValueError, match=r"^GraphUNet: 'x' has 15 features"):
        unet(b.x[:, :15], b.edge_index, b.batch)
    gine = build_model(ModelConfig(hidden=4, conv="gine"), 16, 2, edge_channels=3)
    e = b.edge_index.size(1)
    with pytest.raises(
        ValueError,
        match=r"^HierarchicalGNN: conv 'gine' reads edge features of width 3 "
        r"\(edge_channels\), but the graph has no edge_attr$",
    ):
        gine(b.x, b.edge_index, b.batch)
    with pytest.raises(ValueError, match=r"but the graph has edge_attr of width 2$"):
        gine(b.x, b.edge_index, b.batch, torch.randn(e, 2))
    gine(b.x, b.edge_index, b.batch, torch.randn(e, 3))


def test_level_labels_are_checked():
    model = build_model(ModelConfig(pool="given", hidden=4, levels=2), 16, 2)
    b = random_batch([5, 4], level_labels=True)
    labels = b.level_labels
    with pytest.raises(
        ValueError,
        match=r"^HierarchicalGNN: 'level_labels' must be an integer tensor \[N=9, L\], "
        r"got torch.int64 \(9, 2, 1\)$",
    ):
        model(b.x, b.edge_index, b.batch, level_labels=labels.unsqueeze(-1))
    with pytest.raises(ValueError, match=r"got torch.bool \(9, 2\)$"):
        model(b.x, b.edge_index, b.batch, level_labels=labels > 0)
    with pytest.raises(ValueError, match=r"got torch.int64 \(8, 2\)$"):
        model(b.x, b.edge_index, b.batch, level_labels=labels[:-1])
    bad = labels.clone()
    bad[3, 1] = -4
    with pytest.raises(
        ValueError,
        match=r"^HierarchicalGNN: 'level_labels' holds -4 at node 3, column 1; group "
        r"ids are >= 0, -1 for a node in no group$",
    ):
        model(b.x, b.edge_index, b.batch, level_labels=bad)
    with pytest.raises(ValueError, match=r"level 2 pools along column 1 .* but the data has 1 column"):
        model(b.x, b.edge_index, b.batch, level_labels=labels[:, :1])


def _graphs():
    """A graph, an empty one, a single node and a graph without edges: all valid input."""
    g = random_graph(6, 16, seed=3)
    g.level_labels = torch.tensor([[0, 0], [0, 0], [1, 0], [1, 0], [2, 1], [-1, -1]])
    empty = Data(
        x=torch.empty(0, 16),
        edge_index=torch.empty(2, 0, dtype=torch.long),
        level_labels=torch.empty(0, 2, dtype=torch.long),
    )
    single = Data(
        x=torch.randn(1, 16), edge_index=torch.empty(2, 0, dtype=torch.long), level_labels=torch.tensor([[0, 0]])
    )
    edgeless = Data(
        x=torch.randn(4, 16),
        edge_index=torch.empty(2, 0, dtype=torch.long),
        level_labels=torch.tensor([[0, 0], [0, 0], [1, 0], [-1, -1]]),
    )
    return [g, empty, single, edgeless]


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("task", ["graph", "node"])
def test_empty_single_node_and_edgeless_graphs_give_what_they_give_alone(name, task):
    """A batch holding an empty graph, a single node and a graph without edges: every graph's
    logits are those it gets on its own, and the empty graph's row (graph task) is finite."""
    info = REGISTRY[name]
    schedule = [3, 2] if info.needs_count else "given" if name == "given" else [info.example_entry()] * 2
    cfg = ModelConfig(pool=name, schedule=schedule, levels=2 if name == "given" else None, hidden=8, task=task)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(cfg, 16, 3).eval()
    graphs = _graphs()
    together = model(Batch.from_data_list(graphs))
    assert torch.isfinite(together).all()
    rows = 0
    for g in graphs:
        if g.num_nodes == 0:
            rows += 0 if task == "node" else 1
            continue
        alone = model(Batch.from_data_list([g]))
        k = alone.size(0)
        torch.testing.assert_close(together[rows : rows + k], alone, rtol=1e-4, atol=1e-5)
        rows += k
    assert rows == together.size(0)


# ---------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["dense", "sparse"])
@pytest.mark.parametrize("cls", [MinCutPool, DMoNPool, DiffPool])
def test_saturated_assignment_keeps_finite_gradients(cls, mode):
    """A cluster of a graph with a denormal soft size (logits 90 apart: exp(-90) in float32) made
    the cluster mean's derivative -mean/size overflow, and NaN reached every parameter."""
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
    edges = torch.tensor([[0, 1, 1, 2, 3, 4, 4, 5], [1, 0, 2, 1, 4, 3, 5, 4]])
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    pool = cls(3, 3, assign="linear", mode=mode)
    with torch.no_grad():
        pool.assign.net.weight.zero_()
        pool.assign.net.bias.copy_(torch.tensor([0.0, 0.5, -90.0]))
    out = pool(x, edges, batch=batch)
    S = out.assignment.detach().double()
    assert 0 < float(S[:3, 2].sum()) < 1e-38  # the denormal cluster
    (out.x.sum() + sum(out.aux_losses.values())).backward()
    for p in [x, *pool.parameters()]:
        assert torch.isfinite(p.grad).all()
    # The clusters with a normal size keep their mean, SᵀX / Σ S.
    xd = x.detach().double()
    for g in range(2):
        rows = slice(3 * g, 3 * g + 3)
        mean = (S[rows].t() @ xd[rows]) / S[rows].sum(0).unsqueeze(-1)
        pooled = out.x[3 * g : 3 * g + 3].detach().double()
        y = torch.nn.functional.selu(mean) if cls is DMoNPool else mean
        torch.testing.assert_close(pooled[:2], y[:2], rtol=1e-5, atol=1e-6)
        assert float(pooled[2].abs().max()) < 1e-10  # the empty-ish one shrinks to 0


def test_dmon_spectral_loss_is_scale_invariant_in_the_weights():
    """Modularity does not change when every weight is scaled; squaring Sᵀd underflowed in float32
    at weights of 1e-30 (the loss came out -1, with NaN gradients)."""
    b = random_batch([7, 5], channels=3, seed=4)
    w = torch.rand(b.edge_index.size(1), generator=torch.Generator().manual_seed(0)) + 0.5
    s = torch.randn(b.num_nodes, 3, generator=torch.Generator().manual_seed(1))
    ref = HF.dmon_pool(b.x.double(), b.edge_index, s.double(), b.batch, w.double())[2]
    for scale in (1.0, 1e-30, 1e30):
        logits, weights = s.clone().requires_grad_(), (w * scale).requires_grad_()
        spectral = HF.dmon_pool(b.x, b.edge_index, logits, b.batch, weights)[2]
        torch.testing.assert_close(spectral.double(), ref, rtol=1e-5, atol=1e-6)
        spectral.backward()
        assert torch.isfinite(logits.grad).all() and torch.isfinite(weights.grad).all()
    # and it is still PyG's DMoN value (tests/nn/test_clustering.py compares dmon_pool to PyG)
    Xd, mask = to_dense_batch(b.x.double(), b.batch)
    A = to_dense_adj(b.edge_index, b.batch, w.double())
    Sd, _ = to_dense_batch(s.double(), b.batch)
    torch.testing.assert_close(HF.dense_dmon_pool(Xd, A, Sd, mask)[2], ref)


def test_edge_weight_gradient_with_more_edges_than_matrix_entries():
    """torch.sparse.sampled_addmm refuses a pattern with more (repeated) entries than the matrix has."""
    edges = torch.tensor([[0] * 10 + [1, 2], [0] * 10 + [2, 1]])
    S = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    w = torch.rand(12, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda S, w: gather_as(edges, w, S), (S, w))


def test_clustering_batch_without_nodes_gives_an_empty_record():
    for cls in (MinCutPool, DMoNPool, DiffPool):
        out = cls(3, 4, pool_edge_attr=True)(
            torch.empty(0, 3), torch.empty(2, 0, dtype=torch.long), edge_attr=torch.empty(0, 2)
        )
        assert out.x.shape == (0, 3) and out.edge_index.shape == (2, 0) and out.edge_attr.shape == (0, 2)
        assert out.assignment.shape == (0, 4) and out.cluster.numel() == 0
        assert {k: float(v) for k, v in out.aux_losses.items()} == {k: 0.0 for k in cls.LOSSES}
        out.validate(torch.empty(0, dtype=torch.long))


# ---------------------------------------------------------------------------
# the record checks itself
# ---------------------------------------------------------------------------
def _record(**changes):
    fields = dict(
        x=torch.randn(2, 3),
        edge_index=torch.tensor([[0], [1]]),
        edge_attr=None,
        batch=torch.tensor([0, 0]),
        perm=torch.tensor([0, 2]),
        score=torch.rand(2),
        cluster=torch.tensor([0, -1, 1]),
    )
    fields.update(changes)
    return PoolOutput(**fields)


def test_record_checks_its_shapes_when_built():
    with pytest.raises(
        ValueError,
        match=r"^PoolOutput: 'batch' must have shape \[2\], got \[3\] \(a pooler built "
        r"an inconsistent record\)$",
    ):
        _record(batch=torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match=r"'edge_weight' must have shape \[1\], got \[2\]"):
        _record(edge_weight=torch.rand(2))
    with pytest.raises(ValueError, match=r"'edge_attr' must have 1 rows"):
        _record(edge_attr=torch.rand(3, 2))
    with hipool.checks_disabled():
        _record(batch=torch.tensor([0, 0, 1]))


def test_record_validate_checks_the_values():
    _record().validate(torch.tensor([0, 0, 0]))
    with pytest.raises(ValueError, match=r"'edge_index' must lie in \[0, 2\), got \[0, 2\]"):
        _record(edge_index=torch.tensor([[0], [2]])).validate()
    with pytest.raises(ValueError, match=r"'cluster' must lie in \[-1, 2\)"):
        _record(cluster=torch.tensor([0, -2, 1])).validate()
    with pytest.raises(ValueError, match="a pooled edge joins two graphs"):
        _record(batch=torch.tensor([0, 1])).validate()
    with pytest.raises(ValueError, match=r"'x' is not finite"):
        _record(x=torch.tensor([[0.0] * 3, [math.nan] * 3])).validate()
    with pytest.raises(ValueError, match=r"graph\(s\) \[1\] had nodes but kept none"):
        _record(cluster=torch.tensor([0, 1, -1])).validate(torch.tensor([0, 0, 1]))


def test_more_clusters_than_a_level_can_have_nodes_is_refused_before_training():
    from hipool.config import ModelConfig
    from hipool.data.base import GraphDataset
    from hipool.nn.models import check_model_data

    graphs = [
        Data(x=torch.ones(n, 2), edge_index=torch.empty(2, 0, dtype=torch.long), y=torch.tensor([n % 2]))
        for n in (5, 12, 7)
    ]
    ds = GraphDataset(name="toy", graphs=graphs, num_features=2, num_classes=2)
    check_model_data(ModelConfig(pool="mincut", schedule=[12, 6]), ds)  # the largest graph has 12 nodes
    with pytest.raises(
        ValueError,
        match=r"^dataset toy: 'schedule\[0\]' asks mincut for 13 clusters, but the "
        r"largest graph of the dataset has 12 nodes",
    ):
        check_model_data(ModelConfig(pool="mincut", schedule=[13, 6]), ds)
    with pytest.raises(ValueError, match=r"'schedule\[1\]' asks dmon for 7 clusters, but level 1 keeps at most 6"):
        check_model_data(ModelConfig(pool="dmon", schedule=[6, 7]), ds)
    # a selection level in front bounds what the clustering level gets: ceil(0.5 * 12) = 6
    with pytest.raises(ValueError, match=r"'schedule\[1\]' asks diffpool for 7 clusters, but level 1 keeps at most 6"):
        check_model_data(ModelConfig(pool=["topk", "diffpool"], schedule=[0.5, 7]), ds)
    check_model_data(ModelConfig(pool=["topk", "diffpool"], schedule=[0.5, 6]), ds)
