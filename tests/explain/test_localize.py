"""Where is the defect: suspects pooled along the known hierarchy, hit rates, and hipool explain --suspects."""

import json

import pytest
import torch
from torch_geometric.data import Data

from hipool import ModelConfig
from hipool.data.base import Breakdown, GraphDataset
from hipool.explain.localize import component_mask, hit_rates, hit_rates_markdown, suspects
from hipool.hierarchy import Hierarchy
from hipool.nn import build_model


class Oracle(torch.nn.Module):
    """A stand-in with a node head whose score is the node's feature 0 (so the ranking is known)."""

    def __init__(self):
        super().__init__()
        self.config = ModelConfig(localize=1.0)
        self.locator = torch.nn.Identity()

    def forward(self, data, return_hierarchy=False):
        h = Hierarchy(torch.zeros(data.num_nodes, dtype=torch.long), 1)
        h.node_scores = data.x[:, 0]
        return torch.zeros(1, 2), h


def _graph(scores, blocks, subsystems, defect, level):
    n = len(scores)
    x = torch.tensor(scores, dtype=torch.float).view(n, 1)
    return Data(
        x=x,
        edge_index=torch.empty(2, 0, dtype=torch.long),
        y=torch.tensor([int(any(defect))]),
        level_labels=torch.tensor([blocks, subsystems]).t(),
        defect_mask=torch.tensor(defect),
        defect_level=torch.tensor([level]),
    )


def _dataset():
    graphs = [
        # the defect (node 2) scores highest: every top-1 hit
        _graph([0.1, 0.2, 5.0, 0.3, 0.0], [0, 0, 1, 1, -1], [0, 0, 0, 0, 1], [False, False, True, False, False], 1),
        # the defect (node 4, block 2) is ranked 3rd of the nodes; block 2's best score is below block 0's
        _graph([3.0, 2.0, 0.0, 0.0, 1.0], [0, 0, 1, 1, 2], [0, 0, 0, 1, 1], [False, False, False, False, True], 2),
        # a passing graph: not counted
        _graph([9.0, 0.0], [0, 0], [0, 0], [False, False], 0),
    ]
    return GraphDataset(
        "mine",
        graphs,
        1,
        2,
        breakdown=Breakdown("defect_level", ("pass", "component", "block")),
        level_names=("block", "subsystem"),
    )


def test_suspects_rank_nodes_and_groups_by_their_worst_member():
    one = suspects(Oracle(), _dataset(), 1, top=3)
    assert [r["node"] for r in one["components"]] == [0, 1, 4]
    assert [r["defect"] for r in one["components"]] == [False, False, True]
    assert [(r["group"], r["defect"]) for r in one["block"]] == [(0, False), (2, True), (1, False)]
    assert one["block"][0]["score"] == pytest.approx(torch.sigmoid(torch.tensor(3.0)).item())
    assert [(r["group"], r["defect"]) for r in one["subsystem"]] == [(0, False), (1, True)]


def test_hit_rates_count_failing_graphs_only():
    result = hit_rates(Oracle(), _dataset(), [0, 1, 2])
    rates = result["rates"]
    assert rates["all"]["component top-1"] == {"hit": 1, "count": 2, "rate": 0.5}
    assert rates["all"]["component top-5"]["rate"] == 1.0
    assert rates["all"]["block top-1"] == {"hit": 1, "count": 2, "rate": 0.5}
    assert rates["all"]["subsystem top-1"]["hit"] == 1
    assert rates["block"]["component top-1"] == {"hit": 0, "count": 1, "rate": 0.0}
    assert "pass" not in rates
    text = hit_rates_markdown(result, "t")
    assert "| all | 0.500 (1/2) | 1.000 (2/2) | 0.500 (1/2) | 0.500 (1/2) |" in text


def test_a_model_without_a_node_head_is_a_clear_error():
    model = build_model(ModelConfig(hidden=8, schedule=[0.5]), 1, 2)
    with pytest.raises(ValueError, match="trained without a localisation loss"):
        suspects(model, _dataset(), 0)


def test_circuit_components_leave_out_the_nets():
    from hipool.data.circuits import FEATURE_NAMES, make_circuit

    data = make_circuit(0, "component", min_components=50, max_components=60).data
    ds = GraphDataset("circuits:n=1", [data], data.num_features, 2)
    comp = component_mask(ds, data)
    assert bool((data.x[comp, FEATURE_NAMES.index("is_NET")] == 0).all()) and 0 < int(comp.sum()) < data.num_nodes


def test_trained_model_on_tiny_circuits_finds_suspects(tmp_path):
    """A real model with localize trains end to end (loss with the node term) and is explained."""
    from hipool.data.circuits import DEFECT_LEVEL_NAMES, NUM_CLASSES, NUM_FEATURES, make_circuit_dataset
    from hipool.train.runner import train_model
    from hipool.train.settings import TrainSettings

    graphs = make_circuit_dataset(12, seed=3, min_components=50, max_components=60)
    ds = GraphDataset(
        "circuits:n=12",
        graphs,
        NUM_FEATURES,
        NUM_CLASSES,
        breakdown=Breakdown("defect_level", DEFECT_LEVEL_NAMES),
        level_names=("block", "subsystem"),
    )
    cfg = ModelConfig(conv="gine", hidden=8, pool="given", localize=1.0, levels_read="all", combine="sum")
    model, result, run = train_model(
        ds, cfg, TrainSettings(epochs=2, patience=None), range(8), range(8, 10), range(10, 12)
    )
    assert len(result.history) == 2 and run.test_acc is not None
    rates = hit_rates(model, ds, range(12))
    assert rates["rates"]["all"]["component top-1"]["count"] == sum(int(g.y) for g in graphs)


def test_explain_suspects_end_to_end(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from hipool.cli import main

    model = tmp_path / "loc.yaml"
    model.write_text("conv: gine\nhidden: 8\npool: given\nlevels_read: all\ncombine: sum\nlocalize: 1.0\n")
    run, cache = tmp_path / "run", tmp_path / "cache"
    assert (
        main(
            [
                "train",
                str(model),
                "--dataset",
                "circuits:n=30,min=50,max=60",
                "--out",
                str(run),
                "--epochs",
                "2",
                "--cache-dir",
                str(cache),
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "explain",
                str(run),
                "--suspects",
                "--out",
                str(tmp_path / "s"),
                "--cache-dir",
                str(cache),
                "--no-progress",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "most suspicious" in printed and "component top-1" in printed and "block top-1" in printed
    result = json.loads((tmp_path / "s" / "suspects.json").read_text())
    assert result["target"] == "defect_mask" and result["graph"]["components"]
    assert (tmp_path / "s" / "suspects.md").read_text().startswith("# Where is the defect")
    # a model without a node head: a clear error, not a traceback
    plain = tmp_path / "plain"
    assert (
        main(
            [
                "train",
                "--model",
                "topk",
                "--dataset",
                "circuits:n=30,min=50,max=60",
                "--out",
                str(plain),
                "--epochs",
                "1",
                "--cache-dir",
                str(cache),
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["explain", str(plain), "--suspects", "--cache-dir", str(cache), "--no-progress"]) == 2
    assert "trained without a localisation loss" in capsys.readouterr().err
