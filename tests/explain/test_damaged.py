"""`hipool explain` and `hipool report` on run folders with damaged files: every one a clear,
one-line error naming the file, never a traceback."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

from hipool.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def _run(capsys, command, *args):
    code = main([command, *map(str, args), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    return err.rstrip("\n")


@pytest.fixture
def copy(train_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(train_run, folder, ignore=shutil.ignore_patterns("report*", "explain"))
    return folder


def test_damaged_run_json(copy, capsys):
    manifest = copy / "run.json"
    record = json.loads(manifest.read_text())
    manifest.write_bytes(b'{"format": "hipool-run/1", "command": "tr\xe9in"}')
    assert _run(capsys, "explain", copy, "--graph", 0) == (
        f"hipool explain: error: {manifest}:1: run record is not UTF-8 text (byte 41 is e9: invalid continuation "
        f"byte); cannot read this run folder's record"
    )
    manifest.write_text("[" * 50_000 + "]" * 50_000)
    assert _run(capsys, "report", copy) == (
        f"hipool report: error: run record {manifest}: nested too deeply to read; cannot read this run folder's record"
    )
    manifest.write_text(json.dumps({**record, "command": 7}))
    assert _run(capsys, "explain", copy) == (
        f"hipool explain: error: {manifest}: the run record's 'command' is 7, not "
        f"of the type hipool writes there; cannot read this run folder's record"
    )
    manifest.write_text(json.dumps({**record, "command": "import"}))
    assert _run(capsys, "explain", copy) == (
        f"hipool explain: error: run folder {copy}: a `hipool 'import'` run; explain takes train, demo and compare runs"
    )
    manifest.write_text(json.dumps({**record, "data": {"spec": None}, "identity": {"dataset": [1]}}))
    assert _run(capsys, "explain", copy) == (
        f"hipool explain: error: run folder {copy}: run.json names the dataset [1], not a dataset spec; pass --dataset"
    )


def test_damaged_checkpoint_split_and_metrics(copy, cache, capsys):
    ck = copy / "checkpoint.pt"
    payload = torch.load(ck, weights_only=True)
    torch.save({k: v for k, v in payload.items() if k != "config"}, ck)
    assert _run(capsys, "explain", copy, "--graph", 0, "--cache-dir", cache) == (
        f"hipool explain: error: checkpoint {ck}: damaged: it has no 'config'"
    )
    torch.save(payload, ck)
    split = copy / "split.json"
    good = split.read_text()
    split.write_text(json.dumps({**json.loads(good), "splits": [{"train": [0], "val": [0], "test": [1]}]}))
    assert _run(capsys, "explain", copy, "--metrics", "--cache-dir", cache) == (
        f"hipool explain: error: splits file {split}: split 0 has graph 0 in both 'train' and 'val'"
    )
    split.write_text(json.dumps({**json.loads(good), "splits": {"test": 1}}))
    assert _run(capsys, "explain", copy, "--metrics", "--cache-dir", cache) == (
        f"hipool explain: error: splits file {split}: not a hipool splits file (no 'splits' list)"
    )
    split.write_text(good)
    metrics = copy / "metrics.csv"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join(lines[:2] + [lines[2].replace(lines[2].split(",")[1], "abc", 1)]) + "\n")
    assert _run(capsys, "report", copy, "--no-metrics", "--cache-dir", cache) == (
        f"hipool report: error: {metrics}:3: 'abc' is not a number"
    )
    metrics.write_text("x,y\n1,2\n")
    assert _run(capsys, "report", copy, "--no-metrics", "--cache-dir", cache).startswith(
        f"hipool report: error: {metrics}:1: not a metrics file of hipool (columns ['x', 'y']; expected "
    )
    metrics.write_bytes(b"epoch,train_loss\n1,\xff\n")
    assert _run(capsys, "report", copy, "--no-metrics", "--cache-dir", cache) == (
        f"hipool report: error: {metrics}:2: metrics file is not UTF-8 text (byte 19 is ff: invalid start byte)"
    )
    metrics.write_text("\n".join(lines) + "\n")
    result = copy / "result.json"
    result.write_text(json.dumps({**json.loads(result.read_text()), "test_acc": "<script>"}))
    assert _run(capsys, "report", copy, "--no-metrics", "--cache-dir", cache) == (
        f"hipool report: error: result file {result}: its 'test_acc' is '<script>', not a number"
    )


def test_a_damaged_unit_record_of_a_compare_run(compare_run, cache, tmp_path, capsys):
    folder = tmp_path / "cmp"
    shutil.copytree(compare_run, folder, ignore=shutil.ignore_patterns("report*", "explain"))
    unit = sorted((folder / "units").rglob("final-c*-r0.json"))[0]
    unit.write_text('{"format": "hipool-unit/1", "result": {}}')
    assert _run(capsys, "report", folder, "--no-metrics", "--cache-dir", cache) == (
        f"hipool report: error: {unit}: the record's 'result.val_acc' is None, not a number"
    )


def test_explain_removes_what_an_interrupted_explain_left(train_run, cache, tmp_path, capsys):
    import subprocess
    import sys

    out = tmp_path / "g0"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = out / f".levels.png.pid{dead.pid}.abcd1234.tmp"
    stale.write_bytes(b"half a picture")
    live = out / f".original.png.pid{os.getppid()}.abcd1234.tmp"
    live.write_bytes(b"being written")
    assert (
        main(["explain", str(train_run), "--graph", "0", "--out", str(out), "--cache-dir", str(cache), "--no-progress"])
        == 0
    )
    capsys.readouterr()
    assert not stale.exists() and live.exists()
