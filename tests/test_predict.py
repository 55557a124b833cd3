"""`hipool predict`: a trained model's classes for netlist files, netlist folders and dataset specs;
error rows, exit statuses, run folders and checkpoints, the CSV (atomic), the table and JSON."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Batch, Data

import hipool.io
from hipool.cli import main
from hipool.data.base import GraphDataset
from hipool.data.own import save_jsonl
from hipool.data.registry import load_dataset
from hipool.predict import Predictor, Row, predict_rows
from hipool.train.checkpoint import load_checkpoint
from tests.train.harness_data import write_toy


def _comb(n: int) -> str:
    ins = [f"i{k}" for k in range(n)]
    lines = [f"INPUT({i})" for i in ins] + ["OUTPUT(o)"]
    prev = ins[0]
    for k in range(1, n):
        lines.append(f"g{k} = {['AND', 'OR', 'XOR', 'NAND'][k % 4]}({prev}, {ins[k]})")
        prev = f"g{k}"
    return "\n".join([*lines, f"o = NOT({prev})"]) + "\n"


def _seq(n: int) -> str:
    lines = [f"INPUT(i{k})" for k in range(n)] + ["OUTPUT(q0)"]
    for k in range(n):
        lines += [f"q{k} = DFF(d{k})", f"d{k} = XOR(i{k}, q{(k + 1) % n})"]
    return "\n".join(lines) + "\n"


def _blif(n: int, nested: bool = False) -> str:
    """A top with ``n`` inverter instances (depth 1), or instances of a cell that holds an inverter (depth 2)."""
    cell = "wrap" if nested else "inv"
    text = ".model top\n.inputs " + " ".join(f"a{k}" for k in range(n)) + "\n.outputs y\n"
    text += "".join(f".subckt {cell} x=a{k} y=n{k}\n" for k in range(n))
    text += ".names " + " ".join(f"n{k}" for k in range(n)) + " y\n" + "1" * n + " 1\n.end\n"
    if nested:
        text += ".model wrap\n.inputs x\n.outputs y\n.subckt inv x=x y=y\n.end\n"
    return text + ".model inv\n.inputs x\n.outputs y\n.names x y\n0 1\n.end\n"


BROKEN = "INPUT(a)\nb = AND(a, c)\n"  # line 2 reads a signal nothing drives


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A folder of 20 small netlists (comb/seq, 4 BLIF designs with one level of subcircuits), a
    `hipool train` run of a GINE model pooling along their hierarchy (pool: given) and a 2-fold,
    2-repeat `hipool compare` run of topk and global."""
    root = tmp_path_factory.mktemp("predict")
    designs = root / "designs"
    designs.mkdir()
    rows = ["file,label"]
    for k in range(8):
        (designs / f"c{k}.bench").write_text(_comb(3 + k))
        (designs / f"s{k}.bench").write_text(_seq(2 + k))
        rows += [f"c{k}.bench,comb", f"s{k}.bench,seq"]
    for k in range(4):
        (designs / f"h{k}.blif").write_text(_blif(2 + k))
        rows.append(f"h{k}.blif,comb")
    (designs / "labels.csv").write_text("\n".join(rows) + "\n")
    cfg = root / "run.yaml"
    cfg.write_text(
        "model:\n  conv: gine\n  hidden: 8\n  pool: given\n  levels: 1\ntrain:\n  epochs: 2\n  batch_size: 4\n"
    )
    train = root / "train"
    here = os.getcwd()
    os.chdir(root)  # a relative --dataset: run.json records it absolute, so predict finds it from anywhere
    try:
        assert main(["train", str(cfg), "--dataset", "designs", "--out", str(train), "--no-progress"]) == 0
    finally:
        os.chdir(here)
    assert json.loads((train / "run.json").read_text())["data"]["spec"] == str((root / "designs").resolve())
    cmp = root / "cmp"
    args = ["--models", "topk,global", "--folds", "2", "--repeats", "2", "--epochs", "1", "--no-progress"]
    assert main(["compare", "--dataset", str(designs), "--out", str(cmp), *args]) == 0
    return {"root": root, "designs": designs, "train": train, "compare": cmp}


@pytest.fixture
def inputs(tmp_path, runs):
    """a.bench and b.blif (copies of two training designs) and broken.bench, in tmp_path."""
    shutil.copy(runs["designs"] / "c1.bench", tmp_path / "a.bench")
    shutil.copy(runs["designs"] / "h1.blif", tmp_path / "b.blif")
    (tmp_path / "broken.bench").write_text(BROKEN)
    return tmp_path


def _read(path: Path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _reference(checkpoint: Path, graphs) -> torch.Tensor:
    """The probabilities the checkpoint's model gives ``graphs`` in one batch."""
    model = load_checkpoint(checkpoint).eval()
    with torch.no_grad():
        return torch.softmax(model(Batch.from_data_list(list(graphs))).double(), dim=1)


def _probs(row, classes=("comb", "seq")):
    return [float(row[f"probability_{c}"]) for c in classes]


def test_netlist_files_an_error_row_and_the_model_s_own_predictions(runs, inputs, capsys):
    out = inputs / "p.csv"
    files = [str(inputs / n) for n in ("a.bench", "b.blif", "broken.bench")]
    assert main(["predict", str(runs["train"]), *files, "--out", str(out), "--no-progress"]) == 1
    printed = capsys.readouterr().out
    rows = _read(out)
    assert list(rows[0]) == ["file", "predicted", "probability_comb", "probability_seq", "error"]
    assert [r["file"] for r in rows] == files
    broken = rows[2]
    assert broken["error"].startswith(f"{files[2]}:2: gate 'b' reads signal 'c', which nothing drives")
    assert broken["predicted"] == broken["probability_comb"] == broken["probability_seq"] == ""
    # the same graphs through load_dataset (the training folder: same depth), the same model
    by_id = {g.graph_id: g for g in load_dataset(str(runs["designs"]))}
    expected = _reference(runs["train"] / "checkpoint.pt", [by_id["c1.bench"], by_id["h1.blif"]])
    for row, want in zip(rows[:2], expected):
        got = _probs(row)
        assert row["error"] == "" and sum(got) == pytest.approx(1.0, abs=1e-7)
        assert got == pytest.approx(want.tolist(), abs=1e-7)
        assert (
            row["predicted"] == ("comb", "seq")[int(torch.tensor(got).argmax())] == ("comb", "seq")[int(want.argmax())]
        )
    # the table: a header, the rows aligned, the error on its row
    lines = printed.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("file "))
    assert lines[head].split() == ["file", "predicted", "probability_comb", "probability_seq", "error"]
    assert "broken.bench:2: gate 'b'" in lines[head + 3]
    assert f"predictions: {out} (3 rows, 1 with an error)" in printed


def test_a_folder_of_netlists_is_every_netlist_in_it_and_all_fine_exits_0(runs, tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["predict", str(runs["train"]), str(runs["designs"]), "--out", str(out), "--no-progress"]) == 0
    rows = _read(out)
    names = sorted(p.name for p in runs["designs"].iterdir() if p.suffix in (".bench", ".blif"))
    assert [Path(r["file"]).name for r in rows] == names and all(r["error"] == "" for r in rows)
    ds = load_dataset(str(runs["designs"]))  # the same graphs, the same order (sorted by name)
    expected = _reference(runs["train"] / "checkpoint.pt", ds)
    assert [_probs(r) for r in rows] == [pytest.approx(p, abs=1e-7) for p in expected.tolist()]


def test_a_dataset_spec_and_features_the_model_was_not_trained_on(runs, tmp_path, capsys):
    designs = load_dataset(str(runs["designs"]))
    spec = save_jsonl(designs, tmp_path / "designs.jsonl")
    toy = write_toy(tmp_path / "toy.jsonl", n=4)  # 4 node features, the model reads 16
    bare = [Data(x=g.x, edge_index=g.edge_index, y=g.y) for g in designs.graphs[:2]]  # no edge_attr
    no_edges = save_jsonl(GraphDataset("bare", bare, num_features=16, num_classes=2), tmp_path / "bare.jsonl")
    flat = [Data(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr, y=g.y) for g in designs.graphs[:1]]
    no_levels = save_jsonl(GraphDataset("flat", flat, num_features=16, num_classes=2), tmp_path / "flat.jsonl")
    out = tmp_path / "p.csv"
    args = [str(spec), str(toy), str(no_edges), str(no_levels), "--out", str(out), "--no-progress"]
    assert main(["predict", str(runs["train"]), *args]) == 1
    rows = _read(out)
    n = len(designs)
    assert [r["file"] for r in rows[:n]] == [f"{spec}#{i}" for i in range(n)]
    again = load_dataset(str(spec))
    expected = _reference(runs["train"] / "checkpoint.pt", again)
    assert [_probs(r) for r in rows[:n]] == [pytest.approx(p, abs=1e-7) for p in expected.tolist()]
    toy_rows = rows[n : n + 4]
    assert [r["file"] for r in toy_rows] == [f"{toy}#{i}" for i in range(4)]
    for r in toy_rows:
        assert r["predicted"] == "" and r["error"] == (
            f"{r['file']}: the model expects 16 node features (x columns; trained on dataset designs), the graph gives 4"
        )
    assert "the model reads 7 edge features (edge_attr columns; conv 'gine'" in rows[n + 4]["error"]
    assert rows[n + 4]["error"].endswith("the graph gives none (no edge_attr)")
    assert rows[n + 6]["error"].startswith(f"{no_levels}#0: the model pools along the known hierarchy (pool: given)")
    assert "expects level_labels of 1 column(s)" in rows[n + 6]["error"]
    assert len(rows) == n + 7


def test_the_depth_of_the_known_hierarchy_is_the_training_designs(runs, tmp_path):
    (tmp_path / "deep.blif").write_text(_blif(3, nested=True))  # nested 2 deep; trained on 1
    (tmp_path / "flat.bench").write_text(_comb(4))  # nested 0 deep: level_labels padded to 1 column
    out = tmp_path / "p.csv"
    files = [str(tmp_path / "deep.blif"), str(tmp_path / "flat.bench")]
    assert main(["predict", str(runs["train"]), *files, "--out", str(out), "--no-progress"]) == 1
    deep, flat = _read(out)
    assert deep["error"].startswith(f"{files[0]}: the design nests subcircuit instances 2 deep, but the model")
    assert "designs nested at most 1 deep (level_labels of 1 column(s), dataset designs)" in deep["error"]
    assert flat["error"] == "" and flat["predicted"] in ("comb", "seq")
    # a model without given levels reads no level_labels: the deep design is predicted
    assert main(["predict", str(runs["compare"]), *files, "--out", str(out), "--no-progress"]) == 0


def test_a_compare_run_model_fold_and_checkpoint_paths(runs, inputs, capsys):
    cmp, a = runs["compare"], str(inputs / "a.bench")
    graph = next(g for g in load_dataset(str(runs["designs"])) if g.graph_id == "c1.bench")
    out = inputs / "p.csv"

    def predicted(*args):
        assert main(["predict", *args, a, "--out", str(out), "--no-progress"]) == 0
        return _probs(_read(out)[0])

    units = cmp / "units"
    want = _reference(units / "global/fold01/final-c00-r0.pt", [graph])[0].tolist()
    assert predicted(str(cmp), "--model", "global", "--fold", "1") == pytest.approx(want, abs=1e-7)
    assert "model global, fold 1, final-c00-r0.pt" in capsys.readouterr().out
    want = _reference(units / "topk/fold00/final-c00-r0.pt", [graph])[0].tolist()  # default: the first pooling model
    assert predicted(str(cmp)) == pytest.approx(want, abs=1e-7)
    # a checkpoint: its run folder and its model, fold and repeat
    r1 = units / "topk/fold01/final-c00-r1.pt"
    assert predicted(str(r1)) == pytest.approx(_reference(r1, [graph])[0].tolist(), abs=1e-7)
    assert "compare run" in capsys.readouterr().out
    assert predicted(str(r1), "--model", "topk", "--fold", "1") == pytest.approx(_reference(r1, [graph])[0].tolist())
    ckpt = runs["train"] / "checkpoint.pt"
    assert predicted(str(ckpt)) == pytest.approx(_reference(ckpt, [graph])[0].tolist(), abs=1e-7)
    capsys.readouterr()
    assert main(["predict", str(r1), a, "--fold", "0", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--fold 0: checkpoint" in err and "is model 'topk', fold 1, of run folder" in err
    assert main(["predict", str(ckpt), a, "--fold", "0", "--out", str(out), "--no-progress"]) == 2
    assert "is the one model of run folder" in capsys.readouterr().err
    assert main(["predict", str(runs["train"]), a, "--model", "x", "--out", str(out), "--no-progress"]) == 2
    assert "a `hipool train` run holds one model" in capsys.readouterr().err
    # a checkpoint outside any run folder
    bare = inputs / "lone" / "model.pt"
    bare.parent.mkdir()
    shutil.copy(ckpt, bare)
    assert main(["predict", str(bare), a, "--out", str(out), "--no-progress"]) == 2
    assert f"checkpoint {bare}: no run folder above it" in capsys.readouterr().err


def test_a_missing_run_folder_an_unknown_ending_and_a_bad_out(runs, inputs, tmp_path, capsys):
    out = tmp_path / "p.csv"
    a = str(inputs / "a.bench")
    assert main(["predict", str(tmp_path / "nope"), a, "--out", str(out), "--no-progress"]) == 2
    assert f"hipool predict: error: run folder {tmp_path / 'nope'}: no such folder" in capsys.readouterr().err
    assert not out.exists()
    (tmp_path / "design.v").write_text("module top; endmodule\n")
    files = [str(tmp_path / "design.v"), str(tmp_path / "gone.v"), str(tmp_path / "gone.bench"), a, "NOPE"]
    assert main(["predict", str(runs["train"]), *files, "--out", str(out), "--no-progress"]) == 1
    rows = _read(out)
    assert len(rows) == 5 and rows[4]["file"] == "NOPE" and rows[4]["error"].startswith("unknown dataset 'NOPE';")
    assert rows[0]["error"].startswith(f"{files[0]}: not a netlist file hipool reads (endings: .bench, .blif")
    assert rows[1]["error"].startswith(f"{files[1]}: no such file (and not an ending hipool reads: .bench")
    assert rows[2]["error"] == f"{files[2]}: no such file"
    assert rows[3]["error"] == "" and rows[3]["predicted"] in ("comb", "seq")
    capsys.readouterr()
    assert main(["predict", str(runs["train"]), a, "--out", str(tmp_path), "--no-progress"]) == 2
    assert f"--out {tmp_path}: is a folder" in capsys.readouterr().err


def test_json(runs, inputs, capsys):
    out = inputs / "p.csv"
    files = [str(inputs / "a.bench"), str(inputs / "broken.bench")]
    assert main(["predict", str(runs["train"]), *files, "--json", "--out", str(out), "--no-progress"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["classes"] == ["comb", "seq"] and doc["errors"] == 1 and doc["out"] == str(out)
    assert doc["run"] == str(runs["train"]) and doc["checkpoint"].endswith("checkpoint.pt")
    good, bad = doc["rows"]
    assert good["file"] == files[0] and good["error"] == ""
    assert sum(good["probabilities"].values()) == pytest.approx(1.0)
    assert good["predicted"] == max(good["probabilities"], key=good["probabilities"].get)
    assert bad["predicted"] is None and bad["probabilities"] is None and ":2: gate 'b'" in bad["error"]
    assert f"predictions: {out} (2 rows, 1 with an error)" in captured.err
    csv_row = _read(out)[0]  # the CSV holds the same numbers (to 8 decimals)
    assert _probs(csv_row) == pytest.approx(list(good["probabilities"].values()), abs=1e-8)


def test_the_csv_is_written_atomically(runs, inputs, monkeypatch, capsys):
    out = inputs / "p.csv"
    out.write_text("the old predictions\n")
    a = str(inputs / "a.bench")
    # a failure before the write: the old file stays as it was
    assert main(["predict", str(inputs / "nope"), a, "--out", str(out), "--no-progress"]) == 2
    assert out.read_text() == "the old predictions\n"

    # a failure in the write itself (a full disk at the rename): the old file stays, no temporary file is left
    def full(src, dst):
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(hipool.io.os, "replace", full)
    capsys.readouterr()
    assert main(["predict", str(runs["train"]), a, "--out", str(out), "--no-progress"]) == 2
    assert f"cannot write {out}: no space left on device" in capsys.readouterr().err
    assert out.read_text() == "the old predictions\n"
    assert sorted(os.listdir(inputs)) == ["a.bench", "b.blif", "broken.bench", "p.csv"]
    monkeypatch.undo()
    assert main(["predict", str(runs["train"]), a, "--out", str(out), "--no-progress"]) == 0
    assert len(_read(out)) == 1


def test_a_batch_the_model_fails_on_is_retried_graph_by_graph():
    class Picky(torch.nn.Module):  # fails on any batch holding a graph of 5 nodes
        def forward(self, batch):
            if (torch.bincount(batch.batch) == 5).any():
                raise ValueError("five nodes")
            return torch.stack([batch.x.sum(0).new_zeros(()) + i for i in range(2)]).expand(batch.num_graphs, 2)

    graphs = [Data(x=torch.ones(n, 1), edge_index=torch.empty(2, 0, dtype=torch.long)) for n in (3, 5, 4)]
    predictor = Predictor(Picky(), ["a", "b"], True, None, "toy", "a picky model")
    rows = predict_rows(predictor, [(Row(f"g{i}"), g) for i, g in enumerate(graphs)] + [(Row("bad", error="x"), None)])
    assert [r.predicted for r in rows] == ["b", None, "b", None]
    assert rows[1].error == "g1: the model cannot take this graph (five nodes)" and rows[3].error == "x"
    assert rows[0].probabilities == pytest.approx([1 / (1 + math.e), math.e / (1 + math.e)])
