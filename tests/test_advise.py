"""hipool advise: the measurements on hand-computed graphs, the sample, the rules and bad input."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch_geometric.data import Data

from hipool.advise import advise, measure_dataset, measure_graph, recommend, sample_indices
from hipool.advise.measure import simple_edges
from hipool.advise.thresholds import AUTO_SPREAD, CLEAR_EXCESS, LARGE_NODES, SMALL_NODES, SOME_EXCESS, VERY_LARGE_NODES
from hipool.config import ModelConfig
from hipool.data.base import GraphDataset

pytest.importorskip("networkx")


def graph(edges, n, label=0, both=True, **extra) -> Data:
    e = torch.tensor(edges, dtype=torch.long).t() if edges else torch.empty(2, 0, dtype=torch.long)
    if both and e.numel():
        e = torch.cat([e, e.flip(0)], dim=1)
    return Data(x=torch.ones(n, 1), edge_index=e, y=torch.tensor([label]), num_nodes=n, **extra)


def dataset(graphs, name="toy", classes=2) -> GraphDataset:
    return GraphDataset(name=name, graphs=graphs, num_features=1, num_classes=classes)


TRIANGLES = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]


def cliques_graph() -> Data:
    """Four 5-cliques A, B, C, D; A-B and C-D joined by 3 edges each, A-C by one."""
    edges = [(5 * c + i, 5 * c + j) for c in range(4) for i in range(5) for j in range(i + 1, 5)]
    edges += [(0, 5), (1, 6), (2, 7), (10, 15), (11, 16), (12, 17), (4, 14)]
    return graph(edges, 20)


# -- one graph -------------------------------------------------------------------------------------
def test_two_triangles_joined_by_an_edge():
    g = measure_graph(graph(TRIANGLES, 6), 0)
    assert (g.nodes, g.edges, g.degree_max) == (6, 7, 3)
    assert g.density == pytest.approx(14 / 30) and g.degree_mean == pytest.approx(14 / 6)
    assert g.diameter == 3 and g.components == 1
    # the two triangles: 2 * (3/7 - (7/14)^2) = 5/14
    assert g.communities == 2 and g.modularity == pytest.approx(5 / 14)
    assert g.cut_share == pytest.approx(1 / 7) and g.coarse_share == pytest.approx(2 / 6)
    assert g.quotient_edges == 1 and g.second_modularity is None  # one edge between two communities: no second level


def test_cliques_of_cliques_have_a_second_level():
    g = measure_graph(cliques_graph(), 0)
    assert (g.nodes, g.edges) == (20, 47) and g.diameter == 7
    # four cliques, 10 edges each, degree sums 24, 23, 24, 23 of 2m = 94
    assert g.communities == 4
    assert g.modularity == pytest.approx(40 / 47 - (2 * 24**2 + 2 * 23**2) / 94**2)
    assert g.cut_share == pytest.approx(7 / 47)
    # their own graph: A-B weight 3, C-D 3, A-C 1; Louvain pairs them: 2 * (3/7 - 1/4) = 5/14
    assert g.quotient_edges == 3 and g.second_modularity == pytest.approx(5 / 14)
    assert g.null_modularity is not None and g.excess == pytest.approx(g.modularity - g.null_modularity)


def test_path_star_and_edge_cases():
    path = measure_graph(graph([(i, i + 1) for i in range(9)], 10), 0, seed=3)
    assert path.diameter == 9 and path.degree_max == 2  # double sweep is exact on trees, whatever the start
    star = measure_graph(graph([(0, i) for i in range(1, 8)], 8), 0)
    assert star.diameter == 2 and star.degree_max == 7
    # one direction only, a self-loop and a repeated edge: read as one simple undirected edge
    n, edges = simple_edges(graph([(0, 1), (1, 0), (1, 1), (0, 1)], 3, both=False))
    assert n == 3 and edges.tolist() == [[0, 1]]
    lone = measure_graph(graph([], 1), 0)
    assert (lone.edges, lone.diameter, lone.modularity, lone.density) == (0, 0, None, 0.0)
    empty = measure_graph(graph([], 4), 0)
    assert empty.components == 4 and empty.modularity is None and empty.diameter == 0
    split = measure_graph(graph([(0, 1), (1, 2), (3, 4)], 5), 0)
    assert split.components == 2 and split.largest_component == 3 and split.diameter == 2


def test_known_levels_count_groups_and_ungrouped_nodes():
    labels = torch.tensor([[0, 0], [0, 0], [1, 0], [1, 0], [-1, -1], [2, -1]])
    g = measure_graph(graph(TRIANGLES, 6, level_labels=labels), 0)
    assert g.known_levels == [{"groups": 3, "grouped": 5, "kept": 4}, {"groups": 1, "grouped": 4, "kept": 3}]


# -- the sample ------------------------------------------------------------------------------------
def test_stratified_sample():
    labels = [0] * 80 + [1] * 18 + [2] * 2
    s = sample_indices(labels, 100, 10, seed=1)
    assert s == sorted(s) and len(s) == 10 and len(set(s)) == 10
    counts = [sum(1 for i in s if labels[i] == c) for c in range(3)]
    assert counts == [8, 1, 1]  # shares kept (8, 1.8, 0.2), and every class represented
    assert sample_indices(labels, 100, 10, seed=1) == s and sample_indices(labels, 100, 10, seed=2) != s
    assert sample_indices(labels, 100, 500, seed=0) == list(range(100))
    assert len(sample_indices(None, 100, 7, seed=0)) == 7
    with pytest.raises(ValueError, match="--sample must be >= 1, got 0"):
        sample_indices(labels, 100, 0, seed=0)


# -- the rules -------------------------------------------------------------------------------------
def planted(n_comm: int, size: int, seed: int, label: int) -> Data:
    """``n_comm`` dense communities of ``size`` nodes in a ring, one edge between neighbours."""
    gen = torch.Generator().manual_seed(seed)
    edges = []
    for c in range(n_comm):
        base = c * size
        for i in range(size):
            for j in range(i + 1, size):
                if torch.rand(1, generator=gen).item() < 0.6:
                    edges.append((base + i, base + j))
        edges.append((base, ((c + 1) % n_comm) * size + 1))
    return graph(edges, n_comm * size, label)


def test_small_graphs_are_global_and_large_modular_graphs_hierarchical():
    small = dataset([graph([(i, i + 1) for i in range(11)] + [(0, 11)], 12, label=i % 2) for i in range(10)])
    rec = advise(small)["recommendation"]
    assert rec["decision"] == "global" and rec["size"] == "small" and rec["model"] == "gin-global"
    assert rec["hierarchical"]["pool"] == "edgepool"  # the candidate --check tests
    sizes = [rule["rule"] for rule in rec["reasons"]]
    assert sizes[0] == "size" and "under 50" in rec["reasons"][0]["text"]
    large = dataset([planted(10, 12, seed=i, label=i % 2) for i in range(6)])
    out = advise(large)
    m, rec = out["measurements"], out["recommendation"]
    assert m["nodes"]["median"] == 120 and m["excess_modularity"]["median"] >= CLEAR_EXCESS
    assert (rec["decision"], rec["confidence"], rec["signal"]) == ("hierarchical", "clear", "clear")
    h = rec["hierarchical"]
    assert (h["pool"], h["family"], h["levels"], h["schedule"]) == ("edgepool", "contraction", 4, [0.5] * 4)
    assert rec["model"] == "gin-edgepool" and h["config"]["levels_read"] == "all"  # the recipe
    assert h["kept"]["median"]["sizes"] == [60, 30, 15, 8]
    for reason in rec["reasons"]:  # every reason is a sentence tied to a number
        assert reason["text"].endswith(".") and reason["measure"] and reason["about"] in ("decision", "model")


def test_known_hierarchy_is_pooled_along():
    labels = torch.tensor([[0, 0], [0, 0], [0, 0], [1, 0], [1, 0], [1, 0]])
    data = dataset([graph(TRIANGLES, 6, label=i % 2, level_labels=labels) for i in range(4)])
    out = advise(data)
    rec, known = out["recommendation"], out["measurements"]["known"]
    assert known["columns"] == 2 and known["levels"][0]["kept_share"]["median"] == pytest.approx(2 / 6)
    assert (rec["decision"], rec["signal"], rec["confidence"]) == ("hierarchical", "known", "leaning")
    h = rec["hierarchical"]
    assert (h["pool"], h["levels"], h["schedule"], rec["model"]) == ("given", 2, None, "gin-given")
    assert h["kept"]["median"]["sizes"] == [2, 1] and h["kept"]["median"]["shares"] == pytest.approx([1 / 3, 1 / 6])


def _measured(**changes):
    """The measurements of a few small graphs with some summaries replaced."""
    m = measure_dataset(dataset([graph(TRIANGLES, 6, label=i % 2) for i in range(4)]))
    m = copy.deepcopy(m)
    for key, value in changes.items():
        if isinstance(value, dict):
            m[key].update(value)
        else:
            m[key] = value
    return m


@pytest.mark.parametrize(
    "median,excess,second,decision,confidence",
    [
        (20, 0.0, None, "global", "clear"),
        (20, SOME_EXCESS, None, "global", "leaning"),
        (20, CLEAR_EXCESS, None, "hierarchical", "leaning"),
        (70, 0.05, None, "global", "leaning"),
        (70, SOME_EXCESS + 0.01, 0.1, "hierarchical", "leaning"),
        (70, SOME_EXCESS + 0.01, 0.35, "hierarchical", "clear"),  # a second level makes it clear
        (LARGE_NODES, 0.0, None, "hierarchical", "leaning"),
        (400, 0.2, None, "hierarchical", "clear"),
    ],
)
def test_decision_table(median, excess, second, decision, confidence):
    m = _measured(
        nodes={"median": median, "p10": median, "p90": median},
        size_spread=1.0,
        excess_modularity={"median": excess},
        second_modularity={"median": second},
    )
    rec = recommend(m)
    assert (rec["decision"], rec["confidence"]) == (decision, confidence)


def test_wide_sizes_get_an_auto_schedule_and_huge_graphs_graclus():
    m = _measured(nodes={"median": 300, "p10": 40, "p90": 1200}, size_spread=30.0, excess_modularity={"median": 0.4})
    rec = recommend(m)
    h = rec["hierarchical"]
    assert (h["schedule"], h["levels"], h["auto_top"], rec["model"]) == ("auto", 4, 10, "gin-edgepool-auto")
    assert h["config"]["schedule"] == "auto" and h["config"]["auto_top"] == 10
    text = next(r["text"] for r in rec["reasons"] if r["rule"] == "schedule")
    assert f"from {AUTO_SPREAD:g} x" in text and "30.0 x" in text
    alike = recommend(_measured(nodes={"median": 300, "p10": 200, "p90": 400}, size_spread=2.0))
    assert alike["hierarchical"]["schedule"] == [0.5] * 4  # ceil(log2(300 / 10)) = 5 levels, at most 4
    huge = recommend(_measured(nodes={"median": VERY_LARGE_NODES}, size_spread=1.5))
    assert huge["hierarchical"]["pool"] == "graclus" and huge["hierarchical"]["family"] == "contraction"


def test_edge_features_choose_gine():
    m = _measured(edge_features=3, nodes={"median": SMALL_NODES - 1}, excess_modularity={"median": 0.0})
    assert recommend(m)["model"] == "gine-global"


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "graphs,rule",
    [
        ([], "empty"),
        ([graph([], 1, label=i % 2) for i in range(6)], "one-node"),
        ([graph([], 5, label=i % 2) for i in range(6)], "no-edges"),
    ],
)
def test_nothing_to_pool_is_still_advised(graphs, rule):
    out = advise(dataset(graphs))
    rec = out["recommendation"]
    assert rec["decision"] == "global" and rec["confidence"] == "clear"
    assert rec["reasons"][0]["rule"] == rule and rec["reasons"][0]["text"]
    assert out["measurements"]["sampled"] == len(graphs)
    if graphs:
        assert rec["hierarchical"]["levels"] >= 1  # a candidate for --check all the same
    for key in ("modularity", "excess_modularity", "second_modularity"):
        assert out["measurements"][key]["median"] is None


def test_measurements_summaries():
    graphs = [graph(TRIANGLES, 6, label=0), graph([(i, i + 1) for i in range(9)], 10, label=1), graph([], 1, label=1)]
    m = measure_dataset(dataset(graphs))
    assert m["nodes"]["min"] == 1 and m["nodes"]["max"] == 10 and m["nodes"]["median"] == 6
    assert m["one_node_graphs"] == 1 and m["graphs_without_edges"] == 1
    assert m["diameter"]["median"] == 6 and m["diameter"]["max"] == 9  # over the graphs with edges: 3 and 9
    assert m["classes"]["counts"] == {"0": 1, "1": 2} and m["classes"]["balance"] == 0.5
    assert m["classes"]["majority"] == pytest.approx(2 / 3)
    assert m["sampling"] == "all" and m["modularity"]["defined"] == 2
    assert m["size_spread"] == pytest.approx((6 + 0.8 * 4) / (1 + 0.2 * 5))
    assert math.isfinite(m["density"]["median"])


def test_large_graphs_cap_the_work(monkeypatch):
    import hipool.advise.measure as measure

    monkeypatch.setattr(measure, "NULL_MAX_EDGES", 40)  # the cliques have 47 edges: no shuffle
    g = measure_graph(cliques_graph(), 0)
    assert g.modularity is not None and g.null_modularity is None and g.excess is None
    monkeypatch.setattr(measure, "SIGNAL_MAX_EDGES", 40)  # no Louvain at all; size and diameter still measured
    g = measure_graph(cliques_graph(), 0)
    assert (g.modularity, g.second_modularity, g.cut_share) == (None, None, None) and g.diameter == 7
    m = measure_dataset(dataset([cliques_graph()] * 3))
    rec = recommend(m)
    assert rec["signal"] == "none" and "size alone decides" in rec["reasons"][1]["text"]


def test_the_advised_auto_config_is_a_model_config():
    from hipool.advise import model_config

    m = _measured(nodes={"median": 300, "p10": 40, "p90": 1200}, size_spread=30.0, excess_modularity={"median": 0.4})
    config = model_config(recommend(m))
    assert config.pool == "edgepool" and config.levels == 4 and config.auto_top == 10
    assert config.is_auto and ModelConfig.from_dict(config.to_dict()) == config
    twin = model_config(recommend(_measured(excess_modularity={"median": 0.0})))
    assert twin.is_global
