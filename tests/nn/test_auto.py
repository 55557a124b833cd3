"""``schedule: auto`` (hipool.nn.auto): the rule's numbers, the config, every sizeable pooler of the
registry taking per-graph sizes (so a new pooler is tested by registering), skipped graphs passing
unchanged, batching = one graph at a time, gradients and bad input."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch_geometric.data import Batch, Data

from hipool.config import ModelConfig
from hipool.nn import REGISTRY
from hipool.nn.auto import auto_plan, auto_sizes, cluster_caps, levels_used, suggested_levels
from hipool.nn.matching import limit_merges
from hipool.nn.models import build_model
from hipool.nn.select import topk
from hipool.record import DROPPED

SIZEABLE = [n for n, s in REGISTRY.items() if s.sizeable]


def _graph(n: int, seed: int, y: int = 0) -> Data:
    """A ring with random chords, 3 features."""
    g = torch.Generator().manual_seed(seed)
    src = torch.arange(n)
    chords = torch.randint(0, n, (2, n), generator=g)
    e = torch.cat([torch.stack([src, (src + 1) % n]), chords[:, chords[0] != chords[1]]], 1)
    e = torch.unique(torch.cat([e, e.flip(0)], 1), dim=1)
    return Data(x=torch.randn(n, 3, generator=g), edge_index=e, y=torch.tensor([y]))


def _pooler(name: str, entry=None, channels: int = 3):
    spec = REGISTRY[name]
    torch.manual_seed(0)
    if entry is None:
        entry = spec.fixed_entry if spec.fixed_entry is not None else 8 if spec.needs_count else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spec.build(channels, entry, {}).eval()


# -- the rule ----------------------------------------------------------------------------------
def test_sizes_halve_toward_the_top_and_never_below_it():
    n = torch.tensor([1, 5, 10, 11, 20, 21, 100, 2000])
    assert auto_sizes(n, 1, 10).tolist() == [10, 10, 10, 10, 10, 11, 50, 1000]
    assert auto_sizes(n, 3, 10).tolist() == [10, 10, 10, 10, 10, 10, 13, 250]
    assert cluster_caps(3, 10) == [40, 20, 10]
    assert cluster_caps(1, 7) == [7]
    assert auto_plan(2000, 3) == [1000, 500, 250]
    assert auto_plan(2000, 3, caps=cluster_caps(3, 10)) == [40, 20, 10]
    assert auto_plan(30, 3) == [15, 10, 10]
    assert auto_plan(6, 3) == [6, 6, 6]
    assert [levels_used(n, 3) for n in (6, 20, 30, 80, 81, 5000)] == [0, 1, 2, 3, 3, 3]
    assert [suggested_levels(n) for n in (5, 10, 11, 40, 41, 100, 10**6)] == [1, 1, 1, 2, 3, 4, 4]
    with pytest.raises(ValueError, match="1-based"):
        auto_sizes(n, 0, 10)


# -- the config ---------------------------------------------------------------------------------
def test_config_auto_levels_entries_and_round_trip(tmp_path):
    c = ModelConfig(pool="topk", schedule="auto")
    assert c.is_auto and c.num_levels == 3 and c.entries == ["auto"] * 3 and c.auto_top == 10
    assert c.build_entries == [1.0, 1.0, 1.0]
    c2 = ModelConfig(pool=["diffpool", "topk", "edgepool"], schedule="auto", levels=3, auto_top=5)
    assert c2.build_entries == [20, 1.0, 0.5]
    assert ModelConfig(pool="mincut", schedule=["auto", "auto"]).build_entries == [20, 10]
    c2.to_yaml(tmp_path / "m.yaml")
    back = ModelConfig.from_yaml(tmp_path / "m.yaml")
    assert back == c2 and back.is_auto
    twin = c2.global_twin()
    assert twin.is_global and not twin.is_auto and twin.num_levels == 3 and twin.auto_top == 10
    assert not ModelConfig(pool="topk", schedule=[0.5, 0.5]).is_auto


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pool": "topk", "schedule": ["auto", 0.5]}, "mixes 'auto'"),
        ({"pool": "given", "schedule": "auto"}, "cannot size a 'pool: given'"),
        ({"pool": ["given", "topk"], "schedule": ["auto", "auto"]}, "cannot size a 'pool: given'"),
        ({"pool": "topk", "schedule": "auto", "pool_options": {"min_score": 0.1}}, "min_score"),
        ({"pool": "topk", "schedule": "auto", "auto_top": 0}, "'auto_top'.*from 1"),
        ({"pool": "topk", "schedule": "auto", "auto_top": 2.5}, "'auto_top'"),
        ({"pool": "topk", "schedule": "auto", "auto_top": True}, "'auto_top'"),
        ({"pool": "topk", "schedule": [0.5], "auto_top": 20}, "applies to 'schedule: auto' only"),
        ({"pool": "topk", "schedule": "auto", "levels": 2, "auto_top": "10"}, "'auto_top'"),
        ({"pool": "topk", "schedule": "autox"}, "not a number"),
        ({"pool": "kmis", "schedule": "auto"}, "kmis cannot take them"),
        ({"pool": ["topk", "ndp"], "schedule": "auto"}, "ndp cannot take them"),
    ],
)
def test_config_refuses_bad_auto(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)


def test_config_auto_from_yaml_names_the_line(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("pool: topk\nschedule: auto\nlevels: 2\nauto_top: -3\n")
    with pytest.raises(ValueError, match=r"m.yaml:4: .*auto_top"):
        ModelConfig.from_yaml(p)
    p.write_text("pool: edgepool\nschedule: auto\nlevels: 2\n")
    assert ModelConfig.from_yaml(p).build_entries == [0.5, 0.5]


# -- the poolers --------------------------------------------------------------------------------
GRAPHS = [_graph(n, seed) for seed, n in enumerate((4, 9, 23, 60))]


def _batch():
    b = Batch.from_data_list(GRAPHS)
    return b.x, b.edge_index, b.batch


@pytest.mark.parametrize("name", SIZEABLE)
def test_every_pooler_keeps_at_most_the_sizes_per_graph(name):
    x, e, batch = _batch()
    counts = torch.bincount(batch)
    sizes = torch.tensor([3, 9, 10, 12])
    spec = REGISTRY[name]
    out = _pooler(name)(x, e, batch=batch, sizes=sizes)
    out.validate()
    got = torch.bincount(out.batch, minlength=4)
    if spec.family == "contraction":  # at most n - sizes merges, at most half of a graph
        assert (got >= torch.maximum(sizes.clamp(max=counts), torch.div(counts + 1, 2, rounding_mode="floor"))).all()
        assert (got <= counts).all()
        assert got[1] == counts[1]  # 9 <= 9: no merge at all
    else:
        cap = 8 if spec.needs_count else 10**9
        assert got.tolist() == torch.minimum(torch.minimum(counts, sizes), torch.tensor(cap)).tolist()


@pytest.mark.parametrize("name", SIZEABLE)
def test_sizes_batch_gives_what_each_graph_gives_alone(name):
    x, e, batch = _batch()
    sizes = torch.tensor([3, 9, 10, 12])
    pool = _pooler(name)
    whole = pool(x, e, batch=batch, sizes=sizes)
    for g, graph in enumerate(GRAPHS):
        alone = pool(
            graph.x, graph.edge_index, batch=torch.zeros(graph.num_nodes, dtype=torch.long), sizes=sizes[g : g + 1]
        )
        torch.testing.assert_close(whole.x[whole.batch == g], alone.x, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", [n for n in SIZEABLE if REGISTRY[n].family != "selection"])
def test_a_graph_within_its_size_passes_unchanged(name):
    """Clustering and contraction skip a graph no larger than its size: same nodes, features, edges."""
    g = GRAPHS[1]
    spec = REGISTRY[name]
    options = {"reduce": "mean"} if name == "graclus" else {}
    torch.manual_seed(0)
    pool = spec.build(3, spec.fixed_entry if spec.fixed_entry is not None else 16, options).eval()
    batch = torch.zeros(g.num_nodes, dtype=torch.long)
    out = pool(g.x, g.edge_index, batch=batch, sizes=torch.tensor([g.num_nodes]))
    assert torch.equal(out.cluster, torch.arange(g.num_nodes))
    # DMoN applies its SELU to every pooled feature; MinCut and DMoN normalise the pooled adjacency
    torch.testing.assert_close(out.x, torch.selu(g.x) if name == "dmon" else g.x)
    kept = sorted(map(tuple, out.edge_index.t().tolist()))
    assert kept == sorted(map(tuple, g.edge_index.t().tolist()))


@pytest.mark.parametrize("name", ["topk", "sag"])
def test_selection_keeps_every_node_of_a_skipped_graph(name):
    g = GRAPHS[1]
    out = _pooler(name)(g.x, g.edge_index, batch=torch.zeros(g.num_nodes, dtype=torch.long), sizes=torch.tensor([50]))
    assert sorted(out.perm.tolist()) == list(range(g.num_nodes))
    assert (out.cluster != DROPPED).all()


@pytest.mark.parametrize("name", SIZEABLE)
@pytest.mark.parametrize(
    "sizes, message",
    [
        (torch.tensor([1.0, 2.0, 3.0, 4.0]), "integer"),
        (torch.tensor([3, 3]), r"\[B >= 4\]"),
        (torch.tensor([[3, 3, 3, 3]]), "integer"),
        (torch.tensor([3, 0, 3, 3]), "got 0 for graph 1"),
        ([3, 3, 3, 3], "got list"),
    ],
)
def test_bad_sizes_are_named(name, sizes, message):
    x, e, batch = _batch()
    with pytest.raises(ValueError, match=f"'sizes'.*{message}"):
        _pooler(name)(x, e, batch=batch, sizes=sizes)


def test_topk_max_kept_and_min_score_exclude_each_other():
    score = torch.tensor([0.1, 0.9, 0.5, 0.3, 0.8])
    batch = torch.tensor([0, 0, 0, 1, 1])
    assert topk(score, 1.0, batch, max_kept=torch.tensor([2, 1])).tolist() == [1, 2, 4]
    assert topk(score, 0.5, batch, max_kept=torch.tensor([5, 5])).tolist() == [1, 2, 4]
    with pytest.raises(ValueError, match="exclude each other"):
        topk(score, None, batch, min_score=0.2, max_kept=torch.tensor([2, 1]))


def test_limit_merges_keeps_each_graphs_best_pairs():
    # graph 0: nodes 0..3, graph 1: nodes 4..7; taken edges best first
    ei = torch.tensor([[0, 2, 4, 6], [1, 3, 5, 7]])
    rank = torch.tensor([3, 0, 1, 2])  # edge 1 is best, then 2, 3, 0
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    taken = torch.tensor([1, 2, 3, 0])
    assert limit_merges(taken, rank, ei, batch, torch.tensor([1, 2])).tolist() == [1, 2, 3]
    assert limit_merges(taken, rank, ei, batch, torch.tensor([0, 1])).tolist() == [2]
    assert limit_merges(taken, rank, ei, batch, torch.tensor([5, 5])).tolist() == [1, 2, 3, 0]
    assert limit_merges(taken[:0], rank, ei, batch, torch.tensor([1, 1])).numel() == 0


# -- models -------------------------------------------------------------------------------------
MODEL_GRAPHS = [_graph(n, 10 + i, y=i % 2) for i, n in enumerate((6, 20, 45, 130))]


@pytest.mark.parametrize("pool", SIZEABLE)
def test_model_levels_follow_the_rule(pool):
    cfg = ModelConfig(pool=pool, schedule="auto", levels=3, hidden=8)
    model = build_model(cfg, 3, 2).eval()
    _, h = model(Batch.from_data_list(MODEL_GRAPHS), return_hierarchy=True)
    spec = REGISTRY[pool]
    for g, data in enumerate(MODEL_GRAPHS):
        got = [int(h.sizes(level)[g]) for level in range(1, 4)]
        if spec.family == "contraction":
            plan = auto_plan(data.num_nodes, 3)
            prev = data.num_nodes
            for level, s in enumerate(got):
                assert plan[level] <= s <= prev and s >= math.ceil(prev / 2)
                prev = s
        else:
            caps = cluster_caps(3, 10) if spec.needs_count else None
            assert got == auto_plan(data.num_nodes, 3, caps=caps), (pool, g)


@pytest.mark.parametrize("pool", ["topk", "mincut", "edgepool"])
def test_model_batch_equals_one_graph_at_a_time_and_trains(pool):
    cfg = ModelConfig(pool=pool, schedule="auto", levels=2, hidden=8, auto_top=4)
    torch.manual_seed(0)
    model = build_model(cfg, 3, 2).eval()
    batch = Batch.from_data_list(MODEL_GRAPHS)
    whole = model(batch)
    for g, data in enumerate(MODEL_GRAPHS):
        torch.testing.assert_close(whole[g : g + 1], model(Batch.from_data_list([data])), atol=1e-5, rtol=1e-4)
    model.train()
    logits, h = model(batch, return_hierarchy=True)
    loss = torch.nn.functional.cross_entropy(logits, batch.y)
    aux = model.aux_loss(h)
    (loss + (aux if aux is not None else 0)).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert any(float(gr.abs().sum()) > 0 for gr in grads)


def test_unet_with_auto_gives_one_prediction_per_node():
    cfg = ModelConfig(pool="topk", schedule="auto", levels=2, hidden=8, task="node")
    model = build_model(cfg, 3, 2).eval()
    batch = Batch.from_data_list(MODEL_GRAPHS)
    assert model(batch).shape == (batch.num_nodes, 2)
