"""`hipool compare`: the fair protocol, its files, resume after a kill, worker processes, bad input."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hipool.cli import main
from hipool.compare import CompareSettings, Comparison, Unit, make_folds
from hipool.data.registry import load_dataset
from hipool.train.settings import TrainSettings
from tests.train.harness_data import write_toy

TIMING = ("seconds_per_epoch", "peak_mb", "unit_seconds")


@pytest.fixture
def toy(tmp_path):
    return write_toy(tmp_path / "toy.jsonl", n=48)


def _args(toy, out, *extra):
    return ["compare", "--dataset", str(toy), "--out", str(out), "--no-progress", *extra]


def _rows(path, drop=TIMING):
    return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(open(path))]


def test_compare_writes_folds_units_summary_and_plot(toy, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert (
        main(
            _args(
                toy, out, "--models", "topk,global", "--folds", "3", "--repeats", "2", "--epochs", "3", "--lr", "0.01"
            )
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "| topk |" in printed and "| global |" in printed
    folds = json.loads((out / "folds.json").read_text())
    assert folds["num_graphs"] == 48 and len(folds["splits"]) == 3
    tests = [set(f["test"]) for f in folds["splits"]]
    assert set().union(*tests) == set(range(48)) and sum(map(len, tests)) == 48  # a partition
    labels = [int(g.y) for g in load_dataset(str(toy))]
    for f in folds["splits"]:
        parts = [set(f[k]) for k in ("train", "holdout", "test")]
        assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
        assert set().union(*parts) == set(range(48))
        assert sorted(labels[i] for i in f["test"]).count(1) == 8  # stratified: 8 of each class per fold
    units = sorted(str(p.relative_to(out)) for p in (out / "units").rglob("*.json"))
    assert units == sorted(
        f"units/{m}/fold{k:02d}/final-c00-r{r}.json" for m in ("topk", "global") for k in range(3) for r in range(2)
    )
    unit = json.loads((out / "units/topk/fold01/final-c00-r1.json").read_text())
    assert unit["seed"] == Unit("topk", 1, "final", 0, 1).seed(0) and len(unit["history"]) == 3
    assert unit["config"]["pool"] == "topk" and unit["train"]["epochs"] == 3
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [r["model"] for r in rows] == ["topk", "global"]
    fold_rows = list(csv.DictReader(open(out / "folds.csv")))
    for r in rows:
        accs = [float(f["test_acc"]) for f in fold_rows if f["model"] == r["model"]]
        assert len(accs) == 3 and r["folds"] == "3"
        assert float(r["test_acc_mean"]) == pytest.approx(sum(accs) / 3, abs=1e-5)
        assert float(r["parameters"]) > 0 and float(r["seconds_per_epoch"]) > 0 and float(r["peak_mb"]) >= 0
    for f in fold_rows:  # the fold's score is the mean of its repeats
        reps = [float(a) for a in f["test_acc_repeats"].split(";")]
        assert len(reps) == 2 and float(f["test_acc"]) == pytest.approx(sum(reps) / 2, abs=1e-4)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["versions"]["torch"] and summary["seed"] == 0 and summary["argv"][:2] == ["hipool", "compare"]
    md = (out / "summary.md").read_text()
    assert "± " in md and "command: `hipool compare --dataset" in md and "versions: hipool" in md
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.rglob("*.tmp"))


def test_model_selection_picks_the_best_holdout_config(toy, tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("lr: [0.00001, 0.02]\nhidden: [8]\n")
    out = tmp_path / "cmp"
    assert (
        main(
            _args(toy, out, "--models", "topk", "--folds", "2", "--repeats", "1", "--epochs", "4", "--grid", str(grid))
        )
        == 0
    )
    for fold in range(2):
        scores = []
        for c in range(2):
            r = json.loads((out / f"units/topk/fold{fold:02d}/select-c{c:02d}-r0.json").read_text())
            assert r["result"]["test_acc"] is None  # the test fold is not touched in selection
            scores.append((-r["result"]["val_acc"], r["result"]["val_loss"], c))
        best = min(scores)[2]
        finals = list((out / f"units/topk/fold{fold:02d}").glob("final-*.json"))
        assert [p.name for p in finals] == [f"final-c{best:02d}-r0.json"]
    fold_rows = list(csv.DictReader(open(out / "folds.csv")))
    assert {r["selected"] for r in fold_rows} <= {"lr=1e-05, hidden=8", "lr=0.02, hidden=8"}


def test_resume_runs_only_missing_units(toy, tmp_path):
    out = tmp_path / "cmp"
    args = _args(toy, out, "--models", "topk", "--folds", "2", "--repeats", "2", "--epochs", "2")
    assert main(args) == 0
    summary = _rows(out / "summary.csv")
    files = sorted((out / "units").rglob("*.json"))
    stamps = {p: p.stat().st_mtime_ns for p in files}
    files[1].unlink()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # as a kill mid-write leaves, and as another compare's worker writing now has
        (files[0].parent / f".final-c00-r9.json.pid{dead.pid}.k2j4h5g6.tmp").write_text("half")
        (files[0].parent / ".final-c00-r8.json.a1b2c3d4.tmp").write_text("half")  # before pids were recorded
        (files[0].parent / f".final-c00-r7.json.pid{live.pid}.q1w2e3r4.tmp").write_text("writing")
        time.sleep(0.01)
        assert main(args) == 0
        assert [p.name for p in out.rglob("*.tmp")] == [f".final-c00-r7.json.pid{live.pid}.q1w2e3r4.tmp"]
    finally:
        live.kill()
        live.wait()
    assert files[1].is_file()
    assert all(p.stat().st_mtime_ns == stamps[p] for p in files if p != files[1])
    assert _rows(out / "summary.csv") == summary
    # the wall time of both invocations is kept: the first ran every unit, the second one
    wall = json.loads((out / "wall.json").read_text())["invocations"]
    assert [r["runs"] for r in wall] == [len(files), 1] and all(r["seconds"] >= 0 for r in wall)
    saved = json.loads((out / "summary.json").read_text())
    assert saved["invocations"] == 2
    assert abs(saved["wall_seconds_all"] - sum(r["seconds"] for r in wall)) < 1e-6
    assert "all 2 invocation(s)" in (out / "summary.md").read_text()


def test_kill_mid_run_then_rerun_equals_uninterrupted_run(toy, tmp_path):
    common = [
        "--models",
        "topk,global",
        "--folds",
        "3",
        "--repeats",
        "2",
        "--epochs",
        "25",
        "--no-patience",
        "--threads",
        "1",
    ]
    cmd = [sys.executable, "-m", "hipool", *_args(toy, tmp_path / "killed", *common)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if len(list((tmp_path / "killed").glob("units/*/*/*.json"))) >= 3:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    done = len(list((tmp_path / "killed").glob("units/*/*/*.json")))
    assert 3 <= done < 12 and not (tmp_path / "killed" / "summary.csv").exists()
    assert main(_args(toy, tmp_path / "killed", *common)) == 0
    assert main(_args(toy, tmp_path / "whole", *common)) == 0
    assert _rows(tmp_path / "killed" / "summary.csv") == _rows(tmp_path / "whole" / "summary.csv")
    assert _rows(tmp_path / "killed" / "folds.csv") == _rows(tmp_path / "whole" / "folds.csv")
    assert len(list((tmp_path / "killed").glob("units/*/*/*.json"))) == 12


def test_worker_processes_give_the_same_results(toy, tmp_path):
    common = ["--models", "topk,global", "--folds", "2", "--repeats", "2", "--epochs", "3", "--threads", "1"]
    assert main(_args(toy, tmp_path / "one", *common)) == 0
    assert main(_args(toy, tmp_path / "two", *common, "--jobs", "2")) == 0
    assert _rows(tmp_path / "one" / "summary.csv") == _rows(tmp_path / "two" / "summary.csv")
    for p in (tmp_path / "one" / "units").rglob("*.json"):
        a = json.loads(p.read_text())
        b = json.loads((tmp_path / "two" / p.relative_to(tmp_path / "one")).read_text())
        assert [h[1:5] for h in a["history"]] == [h[1:5] for h in b["history"]]


def test_bad_input_is_refused_and_nothing_is_written(toy, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(_args(toy, out, "--models", "topk,sagpool")) == 2
    assert "unknown model 'sagpool'; did you mean 'sag'? available: acc, asap, " in capsys.readouterr().err
    assert (
        main(["compare", "--dataset", "PROTIENS", "--data-root", str(tmp_path), "--models", "topk", "--out", str(out)])
        == 2
    )
    err = capsys.readouterr().err
    assert "unknown dataset 'PROTIENS'; did you mean 'PROTEINS'? available: circuits, communities" in err
    grid = tmp_path / "g.yaml"
    grid.write_text("lr: [0.1]\nlayers: [2, 3]\n")
    assert main(_args(toy, out, "--models", "topk", "--grid", str(grid))) == 2
    assert f"{grid}:2: unknown grid parameter 'layers'" in capsys.readouterr().err
    assert not out.exists()

    other = write_toy(tmp_path / "other.jsonl", n=40, seed=1)
    assert (
        main(_args(other, tmp_path / "o", "--models", "global", "--folds", "2", "--repeats", "1", "--epochs", "1")) == 0
    )
    assert main(_args(toy, out, "--models", "topk", "--splits", str(tmp_path / "o" / "folds.json"))) == 2
    assert "made for 'other' with 40 graphs, not for 'toy' with 48 graphs" in capsys.readouterr().err
    assert not out.exists()

    assert main(["train", "--dataset", str(toy), "--out", str(tmp_path / "t"), "--epochs", "1", "--no-progress"]) == 0
    before = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert main(_args(toy, tmp_path / "t", "--models", "topk")) == 2
    assert "holds a `hipool train` run, not a `hipool compare` run" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == before

    assert (
        main(_args(other, tmp_path / "o", "--models", "global", "--folds", "2", "--repeats", "1", "--epochs", "2")) == 2
    )
    assert "with other settings (train.epochs: 1 there, 2 now)" in capsys.readouterr().err


def test_splits_file_is_reused_and_regression_is_refused(toy, tmp_path, capsys):
    first = tmp_path / "a"
    assert main(_args(toy, first, "--models", "global", "--folds", "2", "--repeats", "1", "--epochs", "1")) == 0
    second = tmp_path / "b"
    assert (
        main(
            _args(
                toy,
                second,
                "--models",
                "global",
                "--splits",
                str(first / "folds.json"),
                "--repeats",
                "1",
                "--epochs",
                "1",
            )
        )
        == 0
    )
    a, b = (json.loads((d / "folds.json").read_text())["splits"] for d in (first, second))
    assert a == b
    ds = load_dataset(str(toy))
    for g in ds.graphs:
        g.y = g.y.float() + 0.5
    with pytest.raises(ValueError, match="graph 0 has a float label .*regression targets are not supported"):
        Comparison(CompareSettings("toy", ["topk"], tmp_path / "r", folds=2), ds)


def test_folds_are_seeded(toy):
    ds = load_dataset(str(toy))
    assert make_folds(ds, 4, 0.1, 3) == make_folds(ds, 4, 0.1, 3)
    assert make_folds(ds, 4, 0.1, 3) != make_folds(ds, 4, 0.1, 4)
    s = CompareSettings("toy", ["topk"], Path("unused"), folds=2, train=TrainSettings(epochs=1))
    assert Comparison(s, ds).folds == make_folds(ds, 2, 0.1, 0)


def test_models_can_be_added_to_a_comparison_but_not_changed(toy, tmp_path, capsys):
    out = tmp_path / "cmp"
    common = ["--folds", "2", "--repeats", "1", "--epochs", "1"]
    assert main(_args(toy, out, "--models", "global", *common)) == 0
    assert main(_args(toy, out, "--models", "global,topk", *common)) == 0
    assert [r["model"] for r in csv.DictReader(open(out / "summary.csv"))] == ["global", "topk"]
    assert set(json.loads((out / "run.json").read_text())["models"]) == {"global", "topk"}
    mine = tmp_path / "topk.yaml"
    mine.write_text("pool: topk\nschedule: [0.8]\n")
    assert main(_args(toy, out, "--models", str(mine), *common)) == 2
    assert "model 'topk' there has another config or grid than now" in capsys.readouterr().err


def test_a_unit_record_naming_another_checkpoint_is_refused_and_not_recorded(toy, tmp_path, capsys):
    """A unit writes its checkpoint next to its record; a record naming another file (an absolute
    path, another folder's) must not reach run.json, which the readers would then refuse."""
    out = tmp_path / "cmp"
    args = _args(toy, out, "--models", "global", "--folds", "2", "--repeats", "1", "--epochs", "1")
    assert main(args) == 0
    before = (out / "run.json").read_text()
    unit = out / "units" / "global" / "fold00" / "final-c00-r0.json"
    record = json.loads(unit.read_text())
    record["files"] = {"checkpoint": str(tmp_path / "elsewhere.pt")}
    (tmp_path / "elsewhere.pt").write_bytes(b"")
    unit.write_text(json.dumps(record))
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "units/global/fold00/final-c00-r0.json: the record's 'files.checkpoint' is" in err
    assert "a unit writes its checkpoint next to its record, units/global/fold00/final-c00-r0.pt" in err
    assert (out / "run.json").read_text() == before


def test_a_failing_run_is_named(toy, tmp_path):
    ds = load_dataset(str(toy))
    ds.graphs[5].x[0, 0] = float("nan")
    s = CompareSettings(
        "toy", ["global"], tmp_path / "r", folds=2, repeats=1, progress=False, train=TrainSettings(epochs=1)
    )
    with pytest.raises(ValueError, match=r"training run global fold \d final c0 r0: GlobalGNN: .x. contains NaN"):
        Comparison(s, ds, log=lambda *_: None).run()


def test_a_damaged_unit_record_is_named_on_resume(toy, tmp_path, capsys):
    out = tmp_path / "cmp"
    args = _args(toy, out, "--models", "global", "--folds", "2", "--repeats", "1", "--epochs", "1")
    assert main(args) == 0
    unit = sorted((out / "units").rglob("*.json"))[0]
    unit.write_text('{"format": "hipool-unit/1", "result": {"val_acc": "high"}}')
    capsys.readouterr()
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"hipool compare: error: {unit}: the record's 'result.val_acc' is 'high', not a "
        f"number; delete it to run that training run again\n"
    )
    unit.write_bytes(b"\xff")
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"hipool compare: error: {unit}:1: training run record is not UTF-8 text "
        f"(byte 0 is ff: invalid start byte); delete it to run that training run "
        f"again\n"
    )
    (out / "folds.json").write_text('{"splits": [1, 2]}')
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"hipool compare: error: splits file {out / 'folds.json'} was made for None "
        f"with None graphs, not for 'toy' with 48 graphs (graph count or labels "
        f"differ); delete it or use another folder\n"
    )


def test_worker_and_seed_bounds_hold_for_the_api(toy, tmp_path):
    from hipool.compare import compare
    from hipool.train.runner import cpu_count

    s = CompareSettings(str(toy), ["topk"], tmp_path / "o", jobs=10_000)
    with pytest.raises(ValueError, match=rf"^--jobs 10000: at most 4 x the {cpu_count()} CPU\(s\)"):
        compare(s)
    s = CompareSettings(str(toy), ["topk"], tmp_path / "o", seed=-5)
    with pytest.raises(ValueError, match=r"^--seed must be an int from 0 to 4294967295, got -5$"):
        compare(s)
    assert not (tmp_path / "o").exists()


def test_run_json_records_every_file_the_units_wrote(toy, tmp_path):
    """Worker processes write their units' files only (each record lists its own); the parent records
    them in run.json fold by fold, where they are the very files the layout names."""
    from hipool.runs import FoldFiles, load_manifest

    grid = tmp_path / "grid.yaml"
    grid.write_text("topk:\n  hidden: [8, 16]\n")
    out = tmp_path / "cmp"
    assert (
        main(
            _args(
                toy,
                out,
                "--models",
                "topk,global",
                "--folds",
                "2",
                "--repeats",
                "2",
                "--epochs",
                "1",
                "--grid",
                str(grid),
                "--jobs",
                "2",
                "--threads",
                "1",
            )
        )
        == 0
    )
    recorded = load_manifest(out)
    assert recorded.recorded and recorded.files.split == "folds.json" and recorded.files.picture == "accuracy.png"
    assert (
        recorded.files.summary,
        recorded.files.summary_json,
        recorded.files.summary_csv,
        recorded.files.folds_csv,
    ) == ("summary.md", "summary.json", "summary.csv", "folds.csv")
    for fold, files in recorded.files.models["topk"].folds.items():
        c = files.selected
        base = f"units/topk/fold{fold:02d}"
        assert files == FoldFiles(
            c,
            (f"{base}/select-c00-r0.json", f"{base}/select-c01-r0.json"),
            (f"{base}/final-c{c:02d}-r0.json", f"{base}/final-c{c:02d}-r1.json"),
            (f"{base}/final-c{c:02d}-r0.pt", f"{base}/final-c{c:02d}-r1.pt"),
        )
        unit = json.loads((out / files.finals[1]).read_text())
        assert unit["files"] == {"checkpoint": files.checkpoints[1]}
        assert json.loads((out / files.selection[0]).read_text())["files"] == {}
    assert sorted(recorded.files.models["global"].folds) == [0, 1]
    manifest = json.loads((out / "run.json").read_text())
    del manifest["files"]  # as a hipool that did not record them wrote it: found by their names
    (out / "run.json").write_text(json.dumps(manifest))
    found = load_manifest(out)
    assert not found.recorded and found.files == recorded.files
