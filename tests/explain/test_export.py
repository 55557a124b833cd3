"""hipool.explain.export: one graph's hierarchy as data, JSON, networkx and GraphML."""

from __future__ import annotations

import json

import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.utils import to_undirected

from hipool.config import ModelConfig
from hipool.explain.export import DROPPED_NAME, explain_graph, write_graphml
from hipool.nn import REGISTRY
from hipool.nn.models import build_model

nx = pytest.importorskip("networkx")


def _graph(n=24, seed=0, groups=4):
    """A graph of ``groups`` rings of ``n // groups`` nodes joined in a chain, with truth labels."""
    g = torch.Generator().manual_seed(seed)
    size = n // groups
    edges = []
    for k in range(groups):
        ring = [k * size + i for i in range(size)]
        edges += [(ring[i], ring[(i + 1) % size]) for i in range(size)]
        if k:
            edges.append((ring[0], ring[0] - size))
    ei = to_undirected(torch.tensor(edges).t(), num_nodes=n)
    truth = torch.stack([torch.arange(n) // size, torch.arange(n) // (2 * size)], dim=1)
    return Data(x=torch.randn(n, 5, generator=g), edge_index=ei, y=torch.tensor([1]), level_labels=truth)


def _model(pool, schedule, **kw):
    torch.manual_seed(0)
    cfg = ModelConfig(conv="graphconv", hidden=8, pool=pool, schedule=schedule, readout="meanmax", combine="sum", **kw)
    return build_model(cfg, 5, 2).eval()


def _schedule(name):
    spec = REGISTRY[name]
    return [6, 2] if spec.needs_count else [spec.example_entry()] * 2


#: Every registered pooler (a new one is explained by registering it).
MODELS = {name: (lambda name=name: _model(name, _schedule(name))) for name in REGISTRY}


@pytest.mark.parametrize("name", list(MODELS))
def test_clusters_compose_the_models_own_hierarchy(name):
    data = _graph()
    model = MODELS[name]()
    h = explain_graph(model, data, graph=7)
    with torch.no_grad():
        _, hier = model(Batch.from_data_list([data]), return_hierarchy=True)
    assert h.num_levels == 2 and h.poolers == [name, name]
    for level, expected in enumerate(hier.graph(0), start=1):
        assert torch.equal(h.cluster(level), expected)
    assert h.num_nodes == [hier.num_nodes_at(lv) for lv in range(3)]
    assert torch.equal(h.cluster(0), torch.arange(24))
    # members count the original nodes at each level
    for level in (1, 2):
        c = h.cluster(level)
        assert int(h.members(level).sum()) == int((c >= 0).sum())


def test_batched_hierarchy_matches_one_graph_at_a_time():
    graphs = [_graph(24, seed=s) for s in range(3)]
    model = MODELS["topk"]()
    with torch.no_grad():
        _, hier = model(Batch.from_data_list(graphs), return_hierarchy=True)
    for i, g in enumerate(graphs):
        h = explain_graph(model, g)
        for level, expected in enumerate(hier.graph(i), start=1):
            assert torch.equal(h.cluster(level), expected)


def test_json_export_names_dropped_nodes_scores_and_soft_assignments(tmp_path):
    data = _graph()
    h = explain_graph(MODELS["topk"](), data, graph=3, truth_names=["ring", "pair"], class_names=["a", "b"])
    d = json.loads(h.write_json(tmp_path / "h.json").read_text())
    assert d["format"] == "hipool-hierarchy/1" and d["graph"] == 3 and d["label"] == 1
    assert d["truth_levels"] == ["ring", "pair"] and d["class_names"] == ["a", "b"]
    assert abs(sum(d["probabilities"]) - 1) < 1e-5
    assert [lv["num_nodes"] for lv in d["levels"]] == [24, 12, 6]
    assert len(d["levels"][1]["score"]) == 12 and d["levels"][1]["assignment"] is None
    for node in d["nodes"]:
        c = [h.cluster(lv)[node["id"]].item() for lv in (1, 2)]
        assert node["pooled"] == [DROPPED_NAME if v < 0 else v for v in c]
        assert node["truth"] == data.level_labels[node["id"]].tolist()
    assert sum(DROPPED_NAME in n["pooled"] for n in d["nodes"]) == 24 - 6  # 6 survive both levels
    # each undirected edge once
    pairs = d["levels"][0]["edges"]
    assert (
        all(u <= v for u, v in pairs) and len(pairs) == len({tuple(p) for p in pairs}) == data.edge_index.size(1) // 2
    )

    hd = explain_graph(MODELS["diffpool"](), data).to_dict()
    a = torch.tensor(hd["levels"][1]["assignment"])
    assert a.shape == (24, 6) and torch.allclose(a.sum(1), torch.ones(24), atol=1e-5)
    assert hd["levels"][1]["score"] is None and len(hd["levels"][1]["edge_weight"]) == len(hd["levels"][1]["edges"])
    assert all(DROPPED_NAME not in n["pooled"] for n in hd["nodes"])  # clustering keeps every node


def test_networkx_and_graphml(tmp_path):
    data = _graph()
    h = explain_graph(MODELS["edgepool"](), data, truth_names=["ring", "pair"])
    g0 = h.to_networkx(0)
    assert g0.number_of_nodes() == 24 and g0.number_of_edges() == data.edge_index.size(1) // 2
    assert g0.nodes[7]["level1"] == int(h.cluster(1)[7]) and g0.nodes[7]["truth_ring"] == 1
    g2 = h.to_networkx(2)
    assert g2.number_of_nodes() == h.num_nodes[2]
    assert sum(d["members"] for _, d in g2.nodes(data=True)) == 24
    paths = write_graphml(h, tmp_path / "gml")
    assert [p.name for p in paths] == ["graph.graphml", "level1.graphml", "level2.graphml"]
    back = nx.read_graphml(paths[0], node_type=int)
    assert back.nodes[5]["level2"] == int(h.cluster(2)[5])
    with pytest.raises(ValueError, match=r"level must be an int in \[0, 2\], got 3"):
        h.to_networkx(3)


def test_explain_graph_refuses_a_batch():
    with pytest.raises(ValueError, match="pass one graph, got a batch of 2"):
        explain_graph(MODELS["topk"](), Batch.from_data_list([_graph(), _graph()]))


def test_explain_graph_leaves_training_mode_alone():
    model = MODELS["topk"]().train()
    explain_graph(model, _graph())
    assert model.training
