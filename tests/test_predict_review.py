"""Review probes of `hipool predict` and the changes around it (data_record, the analog
benchmarks, the benchmark scripts).  Each failing test demonstrates one bug; the passing ones
are regression tests of what works."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from hipool.cli import main
from hipool.data.netlists.benchmarks import load_benchmark
from hipool.data.registry import load_dataset
from hipool.predict import open_predictor, read_inputs
from hipool.runs.store import data_record
from tests.test_predict import _comb, _probs, _read, _reference, runs  # noqa: F401 (runs: a fixture)

ROOT = Path(__file__).resolve().parents[1]
TINY = "model:\n  conv: gcn\n  hidden: 8\n  pool: topk\n  levels: 1\n  schedule: [0.5]\ntrain:\n  epochs: 1\n  batch_size: 16\n"


# -- a run's dataset spec: names that load_dataset reads by name --------------------------------
@pytest.mark.parametrize("name", ["communities", "circuits", "align_ota", "analoggenie"])
def test_data_record_keeps_a_dataset_name_when_a_same_named_folder_is_here(tmp_path, monkeypatch, name):
    """load_dataset reads these names as names before any path, so the recorded spec must stay the
    name; made absolute it names the folder, and explain/report/predict load that instead."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).mkdir()  # e.g. the data root as the current folder: it holds align_ota/
    assert data_record(name, None)["spec"] == name


@pytest.fixture(scope="module")
def communities_run(tmp_path_factory):
    """`hipool train --dataset communities` started in a folder that holds a `communities/` folder."""
    root = tmp_path_factory.mktemp("communities")
    (root / "communities").mkdir()
    (root / "communities" / "notes.txt").write_text("my own notes, not graphs\n")
    (root / "run.yaml").write_text(TINY)
    here = os.getcwd()
    os.chdir(root)
    try:
        assert main(["train", "run.yaml", "--dataset", "communities", "--out", "run", "--no-progress"]) == 0
    finally:
        os.chdir(here)
    return root


def test_a_run_trained_on_builtin_communities_predicts_from_anywhere(communities_run, tmp_path, capsys):
    run = communities_run / "run"
    out = tmp_path / "p.csv"
    code = main(["predict", str(run), "communities:n=4", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err  # now 2: "<cwd>/communities: no graph files ..." (the folder, not the dataset)
    assert len(_read(out)) == 4


def test_an_old_run_s_builtin_name_is_not_taken_from_its_cwd(communities_run, tmp_path, capsys):
    """A run written before data_record made paths absolute records "communities" and its cwd;
    predict's _dataset_from_run_cwd must not turn the name into <cwd>/communities."""
    old = tmp_path / "old"
    shutil.copytree(communities_run / "run", old)
    manifest = json.loads((old / "run.json").read_text())
    manifest["data"]["spec"] = "communities"
    manifest["cwd"] = str(communities_run)
    (old / "run.json").write_text(json.dumps(manifest))
    out = tmp_path / "p.csv"
    code = main(["predict", str(old), "communities:n=3", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err


# -- FILES ------------------------------------------------------------------------------------------
def test_a_folder_whose_name_has_a_netlist_ending_is_a_folder_of_netlists(runs, tmp_path):  # noqa: F811
    """The docstring: a folder holding netlist files gives one row per netlist in it.  A folder
    named like a netlist (designs.net/, opamps.sp/) is read as one netlist file instead."""
    folder = tmp_path / "designs.net"
    folder.mkdir()
    (folder / "a.bench").write_text(_comb(3))
    (folder / "b.bench").write_text(_comb(5))
    out = tmp_path / "p.csv"
    code = main(["predict", str(runs["train"]), str(folder), "--out", str(out), "--no-progress"])
    rows = _read(out)
    assert [Path(r["file"]).name for r in rows] == ["a.bench", "b.bench"], rows
    assert code == 0


# -- the analog benchmarks: a design predicted as the benchmark reads it ---------------------------
_SPECTRE = "M0 (out n1 VSS VSS) nmos4\nM1 (out in VDD VDD) pmos4\nR0 (VDD n1) resistor\nR{k} (n1 VSS) resistor\n"


def _fake_analoggenie(root: Path) -> Path:
    """<root>/analoggenie/Dataset as AnalogGenie lays it out: 10 designs in two categories, each
    with its Port<id>.txt."""
    ds = root / "analoggenie" / "Dataset"
    ds.mkdir(parents=True)
    (ds / "data_categorization.md").write_text("- 1–5: opamp\n- 6–10: comparators\n")
    for i in range(1, 11):
        d = ds / str(i)
        d.mkdir()
        text = _SPECTRE.format(k=i) + "".join(f"C{j} (out VSS) capacitor\n" for j in range(i % 5 if i > 5 else 0))
        (d / f"{i}.cir").write_text(text)
        (d / f"Port{i}.txt").write_text("VDD VSS out in\n")
    return ds


def test_an_analoggenie_design_is_predicted_as_the_model_sees_it_in_the_benchmark(tmp_path, capsys):
    """load_benchmark marks the pins of Port<id>.txt (is_port); predict reads the same file with
    read_netlist, which marks none: the model gets another graph than the one it was trained on
    for the very same design, and the probabilities differ from the model's on it."""
    root = tmp_path / "data"
    ds = _fake_analoggenie(root)
    cfg = tmp_path / "run.yaml"
    cfg.write_text(TINY)
    run = tmp_path / "run"
    spec = "analoggenie:min_class=1"
    args = ["--dataset", spec, "--data-root", str(root), "--val", "0.2", "--test", "0.2", "--out", str(run)]
    assert main(["train", str(cfg), *args, "--no-progress"]) == 0
    design = ds / "3" / "3.cir"
    out = tmp_path / "p.csv"
    assert main(["predict", str(run), str(design), "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    (row,) = _read(out)
    bench = load_benchmark(spec, root)
    graph = next(g for g in bench.graphs if g.graph_id == "3.cir")
    names = bench.class_names
    want = _reference(run / "checkpoint.pt", [graph])[0].tolist()
    # the graph predict builds for the file is the benchmark's graph of it (the pins marked) ...
    predictor = open_predictor(run)
    ((_, mine),) = read_inputs([str(design)], predictor)
    differ = sorted({c for c in (mine.x != graph.x).nonzero()[:, 1].tolist()})
    assert not differ, f"x columns {differ} differ (ANALOG_FEATURE_NAMES: is_port is column 30)"
    # ... and so the probabilities are the model's on the design
    assert _probs(row, names) == pytest.approx(want, abs=1e-7)


# -- regression probes: untrusted checkpoints, the device, --out, batches ----------------------------
class _Evil:
    marker = ""  # the file its unpickling would create

    def __reduce__(self):
        return (os.system, (f"touch {_Evil.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(runs, tmp_path, capsys):  # noqa: F811
    run = tmp_path / "run"
    shutil.copytree(runs["train"], run)
    _Evil.marker = str(tmp_path / "pwned")
    torch.save({"format": "hipool-checkpoint/1", "payload": _Evil()}, run / "checkpoint.pt")
    out = tmp_path / "p.csv"
    a = tmp_path / "a.bench"
    a.write_text(_comb(3))
    assert main(["predict", str(run), str(a), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {run / 'checkpoint.pt'}:" in err and "Traceback" not in err
    assert not (tmp_path / "pwned").exists() and not out.exists()
    # the same with the checkpoint given as RUN
    assert main(["predict", str(run / "checkpoint.pt"), str(a), "--out", str(out), "--no-progress"]) == 2
    assert not (tmp_path / "pwned").exists() and not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_device_cuda_without_a_gpu_is_a_clear_error(runs, tmp_path, capsys):  # noqa: F811
    a = tmp_path / "a.bench"
    a.write_text(_comb(3))
    out = tmp_path / "p.csv"
    assert main(["predict", str(runs["train"]), str(a), "--device", "cuda", "--out", str(out), "--no-progress"]) == 2
    assert "--device cuda: no CUDA device here" in capsys.readouterr().err and not out.exists()


def test_an_out_below_a_file_fails_with_exit_2_and_writes_nothing(runs, tmp_path, capsys):  # noqa: F811
    a = tmp_path / "a.bench"
    a.write_text(_comb(3))
    out = a / "sub" / "p.csv"  # a.bench is a file
    assert main(["predict", str(runs["train"]), str(a), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "hipool predict: error:" in err and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["a.bench"]


def test_predictions_do_not_depend_on_the_batch_size(runs, tmp_path):  # noqa: F811
    out1, out32 = tmp_path / "one.csv", tmp_path / "many.csv"
    args = [str(runs["train"]), str(runs["designs"]), "--no-progress"]
    assert main(["predict", *args, "--batch-size", "1", "--out", str(out1)]) == 0
    assert main(["predict", *args, "--out", str(out32)]) == 0
    one, many = _read(out1), _read(out32)
    assert [r["predicted"] for r in one] == [r["predicted"] for r in many]
    for a, b in zip(one, many):
        assert _probs(a) == pytest.approx(_probs(b), abs=1e-7)
    ds = load_dataset(str(runs["designs"]))
    expected = _reference(runs["train"] / "checkpoint.pt", ds)
    assert [_probs(r) for r in one] == [pytest.approx(p, abs=1e-7) for p in expected.tolist()]


def test_unknown_dataset_message_names_the_analog_benchmarks(tmp_path, capsys):
    from hipool.data.registry import available_datasets, unknown_dataset_message

    assert available_datasets(tmp_path)["benchmarks"] == ["align_ota", "analoggenie"]
    text = unknown_dataset_message("analoggeni", tmp_path)
    assert "did you mean 'analoggenie'" in text.lower() or "'analoggenie'?" in text
    assert "the analog benchmarks align_ota, analoggenie" in text


# -- benchmarks/netlist_readers.py -----------------------------------------------------------------
def test_netlist_readers_main_returns_its_exit_status(tmp_path, monkeypatch, capsys):
    """`return 0` of main() moved into the new _analog_rates(): main() returns None."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import netlist_readers

    monkeypatch.setattr(netlist_readers, "SPICE", tmp_path / "no-spice")
    (tmp_path / "circuits").mkdir()
    assert netlist_readers.main(["--circuits", str(tmp_path / "circuits")]) == 0
