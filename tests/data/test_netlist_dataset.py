"""Netlists as a dataset (hipool.data.netlists.dataset): a file, a folder with labels.csv, mixed
formats, the designer's hierarchy as level_labels of one width, load_dataset and the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from torch_geometric.loader import DataLoader

from hipool import ModelConfig
from hipool.cli import main
from hipool.data.netlists import NUM_GATE_FEATURES, NetlistError
from hipool.data.netlists.dataset import load_netlists, read_netlist
from hipool.data.registry import load_dataset
from hipool.nn import build_model
from hipool.nn.models import check_model_data

HALF = "INPUT(a)\nINPUT(b)\nOUTPUT(s)\nOUTPUT(c)\ns = XOR(a, b)\nc = AND(a, b)\n"
TOGGLE = "INPUT(t)\nOUTPUT(q)\nq = DFF(d)\nd = XOR(t, q)\n"
AAG = "aag 3 2 0 1 1\n2\n4\n6\n6 2 5\n"  # y = a AND NOT b
BLIF = """.model top
.inputs a b
.outputs y
.subckt inv x=a y=na
.subckt inv x=b y=nb
.names na nb y
11 1
.end
.model inv
.inputs x
.outputs y
.names x m
1 1
.names m y
0 1
.end
"""


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "designs"
    d.mkdir()
    (d / "half.bench").write_text(HALF)
    (d / "toggle.bench").write_text(TOGGLE)
    (d / "andn.aag").write_text(AAG)
    (d / "nor.blif").write_text(BLIF)
    (d / "README.md").write_text("not a netlist")
    (d / "labels.csv").write_text("file,label\nhalf.bench,comb\ntoggle.bench,seq\nandn.aag,comb\nnor.blif,comb\n")
    return d


def test_a_folder_of_mixed_netlists_with_labels(folder):
    ds = load_netlists(folder)
    assert ds.name == "designs" and len(ds) == 4 and ds.num_features == NUM_GATE_FEATURES
    assert ds.class_names == ["comb", "seq"] and ds.num_classes == 2
    by_id = {g.graph_id: g for g in ds}
    assert sorted(by_id) == ["andn.aag", "half.bench", "nor.blif", "toggle.bench"]
    assert int(by_id["toggle.bench"].y) == 1 and int(by_id["half.bench"].y) == 0
    assert by_id["half.bench"].num_nodes == 2 + 2 + 2  # inputs, gates, output nodes
    # the one hierarchical design sets the width: every graph has one level_labels column
    assert all(g.level_labels.shape == (g.num_nodes, 1) for g in ds)
    assert (by_id["half.bench"].level_labels == -1).all()
    assert ds.level_names == ("instances at depth 1",)
    nor = by_id["nor.blif"]
    assert sorted(set(nor.level_labels[:, 0].tolist())) == [-1, 0, 1]  # the two inverter instances
    assert any("README.md" in n for n in ds.notes)
    assert load_dataset(str(folder)).name == "designs"  # load_dataset reads a folder of netlists


def test_a_model_pools_along_the_netlists_own_hierarchy(folder):
    ds = load_netlists(folder)
    config = ModelConfig(conv="gine", hidden=8, pool="given", levels=1)
    check_model_data(config, ds)
    model = build_model(config, ds.num_features, ds.num_classes, edge_channels=ds[0].edge_attr.size(1))
    logits, hierarchy = model(next(iter(DataLoader(list(ds), batch_size=4))), return_hierarchy=True)
    assert logits.shape == (4, 2) and torch.isfinite(logits).all()
    assert hierarchy.num_nodes_at(1) < hierarchy.num_nodes_at(0)


def test_one_file_is_a_dataset_of_one_unlabelled_graph(folder):
    ds = load_dataset(str(folder / "half.bench"))
    assert ds.name == "half" and len(ds) == 1 and ds.num_classes == 1 and int(ds[0].y) == 0
    assert "one netlist, no labels" in ds.notes[0]


def test_bad_folders_and_files_are_named(folder, tmp_path, capsys):
    (folder / "labels.csv").write_text("file,label\nhalf.bench,comb\n")
    with pytest.raises(ValueError, match=r"designs: 3 netlists have no row in labels.csv: andn.aag"):
        load_netlists(folder)
    (folder / "labels.csv").unlink()
    with pytest.raises(ValueError, match=r"labels.csv: labels file not found"):
        load_netlists(folder)
    with pytest.raises(NetlistError, match=r"x.v: not a netlist file hipool reads \(endings: .bench, .blif, .aag"):
        read_netlist(tmp_path / "x.v")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "g.bench").write_text("INPUT(a)\nb = AND(a, c)\n")
    (bad / "labels.csv").write_text("file,label\ng.bench,0\n")
    assert main(["data", "summary", str(bad)]) == 2
    assert "g.bench:2: gate 'b' reads signal 'c', which nothing drives" in capsys.readouterr().err


def test_hipool_data_summary_of_netlists(folder, capsys):
    assert main(["data", "summary", str(folder), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["graphs"] == 4 and summary["classes"]["label"] == {"comb": 3, "seq": 1}
