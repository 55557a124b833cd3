"""Review of ``schedule: auto`` (hipool.nn.auto, the poolers' ``sizes=``, the config): edge cases that
hold (passing) and the bugs it found (fixed since).  Tiny graphs only."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch_geometric.data import Batch, Data

from hipool.config import ModelConfig
from hipool.data.base import GraphDataset
from hipool.nn import REGISTRY
from hipool.nn.auto import auto_plan
from hipool.nn.contraction import EdgePool
from hipool.nn.models import build_model, check_model_data

SIZEABLE = [n for n, s in REGISTRY.items() if s.sizeable]


def ring(n: int, seed: int = 0, y: int = 0) -> Data:
    """A ring of ``n`` nodes (both directions), 3 random features; 0 nodes: an empty graph."""
    g = torch.Generator().manual_seed(seed)
    if n == 0:
        return Data(x=torch.zeros(0, 3), edge_index=torch.zeros(2, 0, dtype=torch.long), y=torch.tensor([y]))
    s = torch.arange(n)
    e = torch.stack([s, (s + 1) % n]) if n > 1 else torch.zeros(2, 0, dtype=torch.long)
    e = torch.cat([e, e.flip(0)], 1)
    return Data(x=torch.randn(n, 3, generator=g), edge_index=e, y=torch.tensor([y]))


def model(cfg: ModelConfig):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_model(cfg, 3, 2).eval()


# -- edge cases that hold ---------------------------------------------------------------------------
#: empty graphs in the middle and at the end (batch[-1] + 1 < num_graphs), a one-node graph
MIXED = [ring(25, 1), ring(0), ring(60, 2, 1), ring(1, 3), ring(0), ring(0, y=1)]


@pytest.mark.parametrize("pool", SIZEABLE)
def test_auto_batch_with_empty_and_trailing_empty_graphs_equals_one_graph_at_a_time(pool):
    b = Batch.from_data_list(MIXED)
    assert int(b.batch[-1]) + 1 < b.num_graphs
    m = model(ModelConfig(pool=pool, schedule="auto", levels=3, hidden=8))
    out, h = m(b, return_hierarchy=True)
    assert out.shape == (6, 2) and torch.isfinite(out).all()
    for g, data in enumerate(MIXED):
        torch.testing.assert_close(out[g : g + 1], m(Batch.from_data_list([data])), atol=1e-5, rtol=1e-4)
    if REGISTRY[pool].family != "contraction":
        caps = [40, 20, 10] if REGISTRY[pool].needs_count else None
        for g, data in enumerate(MIXED):
            got = [int(h.sizes(level)[g]) for level in (1, 2, 3)]
            assert got == auto_plan(data.num_nodes, 3, caps=caps)


@pytest.mark.parametrize("pool", ["diffpool", "mincut", "dmon"])
def test_auto_clustering_dense_and_sparse_modes_agree_with_sizes(pool):
    b = Batch.from_data_list([ring(25, 1), ring(60, 2), ring(7, 4)])
    got = {}
    for mode in ("dense", "sparse"):
        m = model(ModelConfig(pool=pool, schedule="auto", levels=3, hidden=8, pool_options={"mode": mode}))
        logits, h = m(b, return_hierarchy=True)
        got[mode] = (logits, m.aux_loss(h), [h.sizes(level).tolist() for level in range(4)])
    torch.testing.assert_close(got["dense"][0], got["sparse"][0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got["dense"][1], got["sparse"][1], atol=1e-5, rtol=1e-4)
    assert got["dense"][2] == got["sparse"][2]


@pytest.mark.parametrize("pool", ["topk", "asap", "diffpool", "edgepool"])
def test_auto_model_is_invariant_to_node_order(pool):
    # (graclus is left out: on an unweighted ring every pair ties and its documented tie-break is by
    # pair position, so it is not node-order invariant with a fixed schedule either)
    graphs = [ring(30, 1), ring(13, 2)]
    m = model(ModelConfig(pool=pool, schedule="auto", levels=2, hidden=8))
    before = m(Batch.from_data_list(graphs))
    shuffled = []
    for i, g in enumerate(graphs):
        perm = torch.randperm(g.num_nodes, generator=torch.Generator().manual_seed(i))
        inv = torch.empty_like(perm)
        inv[perm] = torch.arange(g.num_nodes)
        shuffled.append(Data(x=g.x[perm], edge_index=inv[g.edge_index], y=g.y))
    torch.testing.assert_close(m(Batch.from_data_list(shuffled)), before, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("pool", SIZEABLE)
def test_auto_graph_unet_batch_equals_one_graph_at_a_time(pool):
    graphs = [ring(25, 1), ring(0), ring(40, 2), ring(1, 3)]
    m = model(ModelConfig(pool=pool, schedule="auto", levels=2, hidden=8, task="node"))
    out = m(Batch.from_data_list(graphs))
    alone = torch.cat([m(Batch.from_data_list([g])) for g in graphs if g.num_nodes])
    assert out.shape == (66, 2)
    torch.testing.assert_close(out, alone, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("pools", [["diffpool", "topk", "edgepool"], ["graclus", "asap", "dmon"]])
def test_auto_mixed_pool_list_with_levels_read_all_and_concat(pools):
    cfg = ModelConfig(pool=pools, schedule="auto", hidden=8, levels_read="all", combine="concat")
    assert cfg.num_levels == 3 and cfg.num_blocks == 4
    graphs = [ring(25, 1), ring(60, 2), ring(7, 4)]
    m = model(cfg)
    out, h = m(Batch.from_data_list(graphs), return_hierarchy=True)
    assert out.shape == (3, 2)
    assert int(h.sizes(3)[0]) <= 25 and int(h.sizes(3)[2]) == 7  # the 7-node graph skips every level
    for g, data in enumerate(graphs):
        torch.testing.assert_close(out[g : g + 1], m(Batch.from_data_list([data])), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("pool", SIZEABLE)
def test_sizes_on_another_device_are_refused(pool):
    g = ring(9)
    spec = REGISTRY[pool]
    entry = spec.fixed_entry if spec.fixed_entry is not None else 8 if spec.needs_count else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = spec.build(3, entry, {})
    with pytest.raises(ValueError, match="'sizes'.*on cpu, got torch.int64 .* on meta"):
        p(g.x, g.edge_index, batch=torch.zeros(9, dtype=torch.long), sizes=torch.tensor([4], device="meta"))


def test_auto_top_round_trip_and_to_dict_omits_it_only_when_not_auto(tmp_path):
    auto = ModelConfig(pool=["mincut", "edgepool"], schedule="auto", levels=2, auto_top=7)
    assert auto.to_dict()["auto_top"] == 7
    auto.to_yaml(tmp_path / "a.yaml")
    back = ModelConfig.from_yaml(tmp_path / "a.yaml")
    assert back == auto and back.build_entries == [14, 0.5]
    fixed = ModelConfig(pool="topk", schedule=[0.5, 0.5])
    assert "auto_top" not in fixed.to_dict() and ModelConfig.from_dict(fixed.to_dict()) == fixed
    twin = auto.global_twin()
    assert "auto_top" not in twin.to_dict() and ModelConfig.from_dict(twin.to_dict()) == twin


# -- bugs ---------------------------------------------------------------------------------------------
def test_auto_cluster_caps_far_beyond_the_data_cost_nothing():
    """A fixed schedule asking 1000 clusters of 6-node graphs is refused (the dense [B, k, k] adjacency);
    schedule: auto builds the clustering poolers with cluster_caps (auto_top * 2**(L - l)), which are
    meant for the largest graphs, so a level uses only the columns its batch needs: 6-node graphs
    pool with at most 6 columns whatever the cap."""
    ds = GraphDataset(name="tiny", graphs=[ring(6, i, i % 2) for i in range(4)], num_features=3, num_classes=2)
    with pytest.raises(ValueError, match="clusters"):
        check_model_data(ModelConfig(pool="mincut", schedule=[1000, 500], hidden=8), ds)
    cfg = ModelConfig(pool="mincut", schedule="auto", levels=2, auto_top=1000, hidden=8)
    assert cfg.build_entries == [2000, 1000]
    check_model_data(cfg, ds)
    model = build_model(cfg, 3, 2).eval()
    _, h = model(Batch.from_data_list(list(ds)), return_hierarchy=True)
    assert [rec.assignment.size(1) for rec in h.records] == [6, 6]


def test_edgepool_self_loop_does_not_use_up_the_merge_budget():
    """sizes=[3] on 4 nodes allows one merge; the matching has a self-loop (0, 0) (no merge) and the
    real pair (2, 3).  limit_merges counts the self-loop as the merge and drops the pair: 4 nodes stay."""
    scores = torch.tensor([0.9, 0.5, 0.5, 0.1, 0.1])
    pool = EdgePool(1, edge_score_method=lambda raw, ei, n: scores + 0 * raw)
    ei = torch.tensor([[0, 2, 3, 0, 1], [0, 3, 2, 1, 0]])
    x, batch = torch.ones(4, 1), torch.zeros(4, dtype=torch.long)
    assert pool(x, ei, batch=batch).x.size(0) == 3  # without sizes: {0}, {1}, {2, 3}
    assert pool(x, ei, batch=batch, sizes=torch.tensor([3])).x.size(0) == 3


def test_stacked_edgepool_reaches_its_size_when_the_matching_allows():
    """EdgePool's pooled graphs keep the merged pairs' edges as self-loops, so at level 2 of an auto
    schedule the self-loops eat the budget: the graph stays above its size though real pairs remain."""
    torch.manual_seed(0)
    g = ring(40, 1)
    pool = EdgePool(3)
    level1 = pool(g.x, g.edge_index, batch=torch.zeros(40, dtype=torch.long))
    assert bool((level1.edge_index[0] == level1.edge_index[1]).any())  # self-loops in the pooled graph
    free = pool(level1.x, level1.edge_index, batch=level1.batch).x.size(0)  # no budget
    n1 = level1.x.size(0)
    target = (n1 + free) // 2
    assert free <= target < n1
    got = pool(level1.x, level1.edge_index, batch=level1.batch, sizes=torch.tensor([target])).x.size(0)
    assert got == target


def test_grid_over_schedule_from_an_auto_base_with_its_own_auto_top():
    """a grid over 'schedule' on a base with schedule: auto and auto_top 5 fails at the fixed
    point with "'auto_top' applies to 'schedule: auto' only", a key the grid never set."""
    from hipool.grid import Grid
    from hipool.train.settings import TrainSettings

    base = ModelConfig(pool="topk", schedule="auto", levels=2, auto_top=5)
    grid = Grid(common={"schedule": ["auto", [0.5, 0.5]]}, per_model={})
    points = grid.points("m", base, TrainSettings(), is_global=False)
    assert [p.config.is_auto for p in points] == [True, False]


def test_auto_with_a_pool_list_takes_its_levels_from_the_list():
    """'pool: [mincut, edgepool]' with 'schedule: auto' and no 'levels' failed with
    "'pool' lists 2 poolers but the schedule has 3 levels" (auto's default of 3 levels wins over the
    list), although 'pool: [given, given]' without a schedule takes its levels from the list."""
    cfg = ModelConfig(pool=["mincut", "edgepool"], schedule="auto")
    assert cfg.num_levels == 2
