"""Review of ``hipool advise``: the measures against networkx and hand computation, the sample, the
rules' words, the interval, the files and bad arguments.  Edge cases that hold pass; the bugs found
fail until fixed.  Tiny graphs, no training."""

from __future__ import annotations

import json
import pickle
import statistics
import warnings

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from hipool.advise import advise, measure_dataset, measure_graph, model_config, recommend, sample_indices
from hipool.advise.check import interval, t_quantile, verdict
from hipool.advise.command import AdviseRequest, run_advise
from hipool.advise.summary import percentile
from hipool.cli import main
from hipool.config import ModelConfig
from hipool.data.base import GraphDataset
from hipool.nn.auto import auto_plan
from hipool.nn.models import build_model, check_model_data

nx = pytest.importorskip("networkx")


def graph(edges, n, label=0, both=True, **extra) -> Data:
    e = torch.tensor(edges, dtype=torch.long).t() if edges else torch.empty(2, 0, dtype=torch.long)
    if both and e.numel():
        e = torch.cat([e, e.flip(0)], dim=1)
    return Data(x=torch.ones(n, 1), edge_index=e, y=torch.tensor([label]), num_nodes=n, **extra)


def dataset(graphs, name="toy", classes=2, features=1) -> GraphDataset:
    return GraphDataset(name=name, graphs=graphs, num_features=features, num_classes=classes)


def planted(n_comm: int, size: int, seed: int, label: int, edge_attr: bool = False) -> Data:
    """``n_comm`` dense communities of ``size`` nodes in a ring; 2 random features."""
    gen = torch.Generator().manual_seed(seed)
    edges = []
    for c in range(n_comm):
        base = c * size
        edges += [
            (base + i, base + j)
            for i in range(size)
            for j in range(i + 1, size)
            if torch.rand(1, generator=gen).item() < 0.6
        ]
        edges.append((base, ((c + 1) % n_comm) * size + 1))
    e = torch.tensor(edges).t()
    e = torch.cat([e, e.flip(0)], 1)
    n = n_comm * size
    d = Data(x=torch.randn(n, 2, generator=gen), edge_index=e, y=torch.tensor([label]), num_nodes=n)
    if edge_attr:
        d.edge_attr = torch.randn(e.size(1), 3, generator=gen)
    return d


# -- the measures against networkx -----------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_measures_match_networkx_with_self_loops_repeats_one_direction_and_isolated_nodes(seed):
    rng = np.random.default_rng(seed)
    n = 30
    raw = rng.integers(0, n - 3, size=(2, 50))  # the last 3 nodes are isolated
    raw = np.concatenate([raw, [[4, 4, 7], [4, 9, 7]]], axis=1)  # self-loops and a repeat
    data = Data(x=torch.ones(n, 1), edge_index=torch.tensor(raw), num_nodes=n)  # one direction only
    g = measure_graph(data, index=3, seed=seed)
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from((int(u), int(v)) for u, v in raw.T if u != v)
    m = G.number_of_edges()
    assert (g.nodes, g.edges) == (n, m)
    assert g.density == pytest.approx(nx.density(G))
    assert g.degree_mean == pytest.approx(2 * m / n) and g.degree_max == max(d for _, d in G.degree())
    assert g.components == nx.number_connected_components(G)
    largest = max(nx.connected_components(G), key=len)
    assert g.largest_component == len(largest)
    assert g.diameter <= nx.diameter(G.subgraph(largest))
    # the same Louvain (seeded as measure_graph seeds it) on the same simple graph
    H = nx.Graph()
    H.add_nodes_from(range(n))
    H.add_edges_from(sorted({(min(u, v), max(u, v)) for u, v in G.edges()}))
    parts = nx.community.louvain_communities(H, seed=seed * 1_000_003 + 3)
    assert g.modularity == pytest.approx(nx.community.modularity(H, parts))
    member = {v: i for i, p in enumerate(parts) for v in p}
    cut = sum(1 for u, v in H.edges() if member[u] != member[v])
    assert g.cut_share == pytest.approx(cut / m) and g.coarse_share == pytest.approx(len(parts) / n)
    assert g.communities == len(parts)


@pytest.mark.parametrize("seed", range(6))
def test_double_sweep_is_exact_on_random_trees(seed):
    T = nx.random_labeled_tree(25, seed=seed) if hasattr(nx, "random_labeled_tree") else nx.random_tree(25, seed=seed)
    g = measure_graph(graph(list(T.edges()), 25), index=seed, seed=seed)
    assert g.diameter == nx.diameter(T)


def test_percentile_is_numpys_linear_percentile():
    values = [5, 1, 9, 2, 2, 7, 3]
    for q in (0, 10, 25, 50, 90, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


# -- the interval -----------------------------------------------------------------------------------
def test_interval_matches_scipys_t_interval():
    stats = pytest.importorskip("scipy.stats")
    d = [0.02, -0.01, 0.05, 0.03, 0.00]
    ci = interval(d)
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=statistics.fmean(d), scale=stats.sem(d))
    assert ci["low"] == pytest.approx(lo, abs=1e-4) and ci["high"] == pytest.approx(hi, abs=1e-4)
    assert ci["std"] == pytest.approx(statistics.stdev(d)) and ci["df"] == 4
    for df in list(range(1, 31)) + [31, 35, 50, 100, 500]:
        assert t_quantile(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-3)


def test_verdict_on_a_zero_width_interval_and_on_an_interval_touching_zero():
    same = interval([0.05, 0.05, 0.05])
    assert same["low"] == pytest.approx(0.05) and verdict("hierarchical", same)["verdict"] == "agrees"
    assert verdict("global", same)["verdict"] == "disagrees"
    assert verdict("hierarchical", {"low": 0.0, "high": 0.1})["verdict"] == "inconclusive"
    assert verdict("global", {"low": None, "high": None})["verdict"] == "inconclusive"


# -- edge cases of the data -------------------------------------------------------------------------
def test_one_class_dataset_is_advised_and_sampled():
    graphs = [graph([(i, i + 1) for i in range(k - 1)], k, label=0) for k in range(5, 15)]
    out = advise(dataset(graphs, classes=1), sample=4)
    m = out["measurements"]
    assert m["sampled"] == 4 and m["sampling"] == "stratified by class"
    assert m["classes"]["counts"] == {"0": 10} and m["classes"]["balance"] == 1.0
    assert out["recommendation"]["decision"] in ("global", "hierarchical")


def test_empty_one_node_and_edgeless_graphs_mixed_in():
    graphs = [graph([], 0), graph([], 1), graph([], 4)] + [planted(3, 6, i, i % 2) for i in range(5)]
    out = advise(dataset(graphs))
    m = out["measurements"]
    assert m["one_node_graphs"] == 2 and m["graphs_without_edges"] == 3
    assert m["nodes"]["min"] == 0
    assert m["diameter"]["defined"] == 5 and m["modularity"]["defined"] == 5
    json.dumps(out, allow_nan=False)  # no NaN or inf anywhere


def test_multi_task_labels_are_sampled_uniformly():
    graphs = [planted(2, 6, i, 0) for i in range(8)]
    for i, g in enumerate(graphs):
        g.y = torch.tensor([[i % 2, (i // 2) % 2]])
    ds = GraphDataset(name="mt", graphs=graphs, num_features=2, num_classes=2, task_names=["a", "b"])
    m = advise(ds, sample=5)["measurements"]
    assert m["sampling"] == "uniform" and m["sampled"] == 5 and m["classes"]["counts"] is None
    assert all(g["label"] is None for g in m["per_graph"])


def test_same_seed_same_advice_other_seed_other_sample():
    graphs = [planted(2 + i % 4, 6, i, i % 2) for i in range(12)]
    ds = dataset(graphs)
    assert advise(ds, sample=6, seed=3) == advise(ds, sample=6, seed=3)
    a = advise(ds, sample=6, seed=3)["measurements"]["per_graph"]
    b = advise(ds, sample=6, seed=4)["measurements"]["per_graph"]
    assert [g["index"] for g in a] != [g["index"] for g in b]


@pytest.mark.parametrize("edge_attr", [False, True])
def test_written_auto_config_loads_and_builds_on_the_datasets_features(tmp_path, edge_attr):
    graphs = [planted(k, 10, i, i % 2, edge_attr=edge_attr) for i, k in enumerate([2, 2, 3, 3, 8, 12, 16, 20, 2, 24])]
    ds = dataset(graphs, features=2)
    rec = advise(ds)["recommendation"]
    assert rec["hierarchical"]["schedule"] == "auto" and rec["decision"] == "hierarchical"
    path = tmp_path / "m.yaml"
    model_config(rec).to_yaml(path)
    config = ModelConfig.from_yaml(path)
    assert config.is_auto and config.conv == ("gine" if edge_attr else "gin")
    check_model_data(config, ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(config, ds.num_features, ds.num_classes, ds.num_edge_features or None).eval()
    assert model(Batch.from_data_list(graphs)).shape == (10, 2)


def test_advise_never_unpickles_a_dataset_file(tmp_path, capsys):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for name in ("data.pt", "data.jsonl"):
        (tmp_path / name).write_bytes(pickle.dumps(Evil()))
        assert main(["advise", str(tmp_path / name), "--no-progress"]) == 2
        assert not marker.exists()
    assert "Traceback" not in capsys.readouterr().err


def test_bad_arguments_of_the_api_are_refused_before_loading(tmp_path):
    with pytest.raises(ValueError, match="--sample must be >= 1, got 0"):
        run_advise(AdviseRequest(dataset="NOPE", sample=0))
    with pytest.raises(ValueError, match="--check-folds must be >= 2"):
        run_advise(AdviseRequest(dataset="NOPE", check=True, check_folds=1))
    with pytest.raises(ValueError, match="--write-config .*is a folder"):
        run_advise(AdviseRequest(dataset="NOPE", write_config=tmp_path))


# -- bugs -------------------------------------------------------------------------------------------
def test_stratified_sample_gives_every_class_a_graph_when_the_sample_has_room():
    """docs/advise.md: 'each class gets its share of the sample (largest remainders, at least one graph
    per class while there is room)'.  98 / 1 / 1 graphs with a sample of 3: floors (2, 0, 0) leave one
    extra slot, which goes to class 1; class 2 gets none though 3 slots could hold every class."""
    labels = [0] * 98 + [1, 2]
    s = sample_indices(labels, 100, 3, seed=0)
    assert len(s) == 3
    assert {labels[i] for i in s} == {0, 1, 2}


def test_auto_schedule_reason_states_the_p90_graphs_real_end_size():
    """The reason says '{levels} level(s) halve the p90 graph to about 10'; levels are capped at 4, so a
    p90 graph of 5,000 nodes ends at auto_plan(5000, 4)[-1] = 313 nodes, not about 10."""
    graphs = [planted(3, 10, i, i % 2) for i in range(4)]
    m = measure_dataset(dataset(graphs))
    m["nodes"].update({"median": 600, "p10": 100, "p90": 5000})
    m["size_spread"] = 50.0
    rec = recommend(m)
    h = rec["hierarchical"]
    assert (h["schedule"], h["levels"]) == ("auto", 4)
    text = next(r["text"] for r in rec["reasons"] if r["rule"] == "schedule")
    end = auto_plan(5000, 4)[-1]
    assert end == 313
    assert f"about {end}" in text  # it says "to about 10."


def test_an_unwritable_json_path_is_refused_before_the_dataset_is_measured(tmp_path, monkeypatch):
    """--json (and --write-config) under a path whose parent is a file are refused before the
    measurements (and the --check), naming the path; a missing folder is made at the end."""
    import hipool.advise.command as command

    (tmp_path / "afile").write_text("x")
    data = tmp_path / "g.jsonl"
    data.write_text("".join(json.dumps({"label": i % 2, "edges": [[0, 1], [1, 2]]}) + "\n" for i in range(4)))
    measured = []
    real = command.advise
    monkeypatch.setattr(command, "advise", lambda *a, **k: measured.append(1) or real(*a, **k))
    with pytest.raises(Exception, match="afile"):
        run_advise(
            AdviseRequest(dataset=str(data), json=tmp_path / "afile" / "out.json", progress=False), write=lambda _: None
        )
    assert not measured


def test_global_advice_names_the_depth_of_the_twin_it_writes():
    """With global advice --write-config writes the checked candidate's twin, whose depth follows the
    candidate's levels (here 4 levels: 5 conv blocks), not the preset gin-global's 3: the printed
    advice says so, so the name does not promise the preset."""
    from hipool.advise.command import format_recommendation

    graphs = [graph([(i, i + 1) for i in range(k - 1)] + [(0, k - 1)], k, label=k % 2) for k in range(8, 40, 3)]
    m = measure_dataset(dataset(graphs))
    m["nodes"].update({"median": 30, "p10": 10, "p90": 150})
    m["size_spread"] = 15.0
    m["excess_modularity"]["median"] = 0.0
    rec = recommend(m)
    assert rec["decision"] == "global" and rec["model"] == "gin-global"
    written = model_config(rec)
    assert written == model_config(rec, "hierarchical").global_twin() and written.num_blocks == 5
    assert "(5 conv blocks: the global twin of the candidate below)" in format_recommendation(rec, m)
