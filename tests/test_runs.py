"""Run folders: claims, resumes, and refusals that write nothing."""

import json

import pytest

from hipool.runs import (
    MANIFEST,
    FoldFiles,
    ModelFiles,
    check_run_folder,
    claim_run_folder,
    load_manifest,
    record_files,
    update_manifest,
)


def _listing(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_claim_then_resume_then_refuse(tmp_path):
    out = tmp_path / "run"
    assert claim_run_folder(out, "compare", {"seed": 0, "train": {"epochs": 5}}, argv=["hipool", "compare"]) is False
    record = json.loads((out / MANIFEST).read_text())
    assert record["command"] == "compare" and record["argv"] == ["hipool", "compare"]
    assert claim_run_folder(out, "compare", {"seed": 0, "train": {"epochs": 5}}) is True
    before = _listing(out)
    with pytest.raises(ValueError, match=r"holds a `hipool compare` run, not a `hipool train` run; choose another"):
        claim_run_folder(out, "train", {"seed": 0})
    with pytest.raises(
        ValueError,
        match=r"with other settings \(train.epochs: 5 there, 6 now\); repeat that "
        r"command to resume it",
    ):
        claim_run_folder(out, "compare", {"seed": 0, "train": {"epochs": 6}})
    assert _listing(out) == before  # nothing was written
    update_manifest(out, models={"topk": {}})
    assert json.loads((out / MANIFEST).read_text())["models"] == {"topk": {}}


def test_foreign_folders_are_left_alone(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(ValueError, match=r"holds files that hipool did not write \(thesis.tex\)"):
        claim_run_folder(tmp_path / "mine", "train", {})
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        check_run_folder(tmp_path / "file", "train", {})
    (tmp_path / "empty").mkdir()
    assert claim_run_folder(tmp_path / "empty", "train", {}) is False
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / MANIFEST).write_text("{not json")
    with pytest.raises(ValueError, match="cannot read this run folder's record"):
        check_run_folder(tmp_path / "broken", "train", {})


def _dead_pid():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_files_are_removed_live_ones_kept(tmp_path):
    import os

    from hipool.io import atomic_path, remove_stale_temps

    with atomic_path(tmp_path / "a" / "state.pt") as tmp:
        assert tmp.name.startswith(f".state.pt.pid{os.getpid()}.") and tmp.name.endswith(".tmp")
        # the writer is alive (this process): its file is kept
        assert remove_stale_temps(tmp_path) == [] and tmp.exists()
        tmp.write_text("x")
    assert (tmp_path / "a" / "state.pt").read_text() == "x" and not tmp.exists()
    dead = tmp_path / "a" / "b" / f".result.json.pid{_dead_pid()}.abcd1234.tmp"
    dead.parent.mkdir()
    dead.write_text("half")
    old = tmp_path / "a" / ".metrics.csv.x7k2m9qa.tmp"  # written before the pid was in the name
    old.write_text("half")
    mine = tmp_path / "a" / f".metrics.csv.pid{os.getppid()}.abcd1234.tmp"  # a live writer
    mine.write_text("writing")
    others = [tmp_path / "a" / ".hidden.tmp", tmp_path / "a" / "notes.tmp", tmp_path / "a" / ".x.pidA.tmp"]
    for p in others:
        p.write_text("keep")
    assert remove_stale_temps(tmp_path / "a", recursive=False) == [old]
    assert remove_stale_temps(tmp_path / "a", legacy=False) == [dead]
    assert not dead.exists() and not old.exists() and mine.exists() and all(p.exists() for p in others)


def test_a_claim_interrupted_while_writing_run_json_can_be_repeated(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / f".run.json.pid{_dead_pid()}.abcd1234.tmp").write_text("{")
    assert claim_run_folder(out, "train", {"seed": 0}) is False
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]


@pytest.mark.parametrize(
    "content,match",
    [
        (
            b"\xff\xfe{}",
            r"run.json:1: run record is not UTF-8 text \(byte 0 is ff: invalid start byte\); cannot read "
            r"this run folder's record; choose another --out$",
        ),
        (b"[" * 100_000 + b"]" * 100_000, r"run record .*run.json: nested too deeply to read; cannot read"),
        (b'{"format": "hipool-run/1"}', r"run.json: the run record has no 'command'"),
        (
            b'{"format": "hipool-run/1", "command": "train", "identity": [1]}',
            r"run.json: the run record's 'identity' is \[1\], not of the type hipool writes there",
        ),
        (
            b'{"format": "hipool-run/1", "command": "train", "argv": [1, 2]}',
            r"run.json: the run record's 'argv' must be a list of strings",
        ),
        (
            b'{"format": "hipool-run/1", "command": "demo", "models": ["../../etc"]}',
            r"run.json: the run record names a model '../../etc', which is not a folder name",
        ),
        (
            b'{"format": "hipool-run/1", "command": "compare", "models": ["topk"]}',
            r"run.json: the run record's 'models' must be a mapping in a compare run",
        ),
        (
            b'{"format": "hipool-run/1", "command": "compare", "models": {"topk": 3}}',
            r"run.json: the run record's 'models.topk' must be a mapping with a 'config' mapping",
        ),
        (
            b'{"format": "hipool-run/1", "command": "train", "data": {"spec": 5}}',
            r"run.json: the run record's 'data.spec' is 5, not a string",
        ),
        (b'{"format": "hipool-run/2", "command": "train"}', r"run.json: not a hipool run record"),
        (
            b'{"format": "hipool-run/1", "command": "train", "files": []}',
            r"run.json: the run record's 'files' is \[\], not of the type hipool writes there",
        ),
        (
            b'{"format": "hipool-run/1", "command": "train", "files": {"config": "../../etc/passwd"}}',
            r"run.json: the run record's 'files.config' is '../../etc/passwd', not a path inside the run folder",
        ),
        (
            b'{"format": "hipool-run/1", "command": "train", "files": {"models": {"model": {"checkpoint": "/x.pt"}}}}',
            r"the run record's 'files.models.model.checkpoint' is '/x.pt', not a path inside the run folder",
        ),
        (
            b'{"format": "hipool-run/1", "command": "compare", "files": {"models": {"m": {"folds": {"x": {}}}}}}',
            r"the run record's 'files.models.m.folds' is 'x', not a fold number",
        ),
        (
            b'{"format": "hipool-run/1", "command": "compare", "files": {"models": {"m": {"folds": {"0": {}}}}}}',
            r"the run record's 'files.models.m.folds.0.selected' is None, not a config index",
        ),
        (
            b'{"format": "hipool-run/1", "command": "compare", "models": {"m": {"config": {}, "grid": [{"config": {}}]}}, '
            b'"files": {"models": {"m": {"folds": {"0": {"selected": 3}}}}}}',
            r"the run record's 'files.models.m.folds.0.selected' is 3, but model 'm' has 1 config\(s\)",
        ),
        (
            b'{"format": "hipool-run/1", "command": "compare", "files": {"models": {"m": {"folds": {"0": '
            b'{"selected": 0, "finals": ["a", null]}}}}}}',
            r"the run record's 'files.models.m.folds.0.finals' is \['a', None\], not a list of paths",
        ),
        (
            b'{"format": "hipool-run/1", "command": "compare", "models": {"m": {"config": {}, "grid": 5}}}',
            r"the run record's 'models.m.grid' is 5, not a list of grid points",
        ),
        (b"", r"run.json:1:1: run record is not valid JSON \(Expecting value\)"),
    ],
)
def test_a_damaged_run_record_is_named(tmp_path, content, match):
    (tmp_path / MANIFEST).write_bytes(content)
    with pytest.raises(ValueError, match=match):
        check_run_folder(tmp_path, "train", {})


def test_run_json_larger_than_the_bound_is_refused(tmp_path, monkeypatch):
    import hipool.runs.store

    monkeypatch.setattr(hipool.runs.store, "MAX_JSON_BYTES", 100)
    (tmp_path / MANIFEST).write_text(json.dumps({"format": "hipool-run/1", "command": "train", "pad": "x" * 200}))
    with pytest.raises(ValueError, match=r"run record .*run.json: larger than 100 bytes, the most hipool reads"):
        check_run_folder(tmp_path, "train", {})


def test_a_full_disk_or_a_read_only_folder_names_the_file(tmp_path, monkeypatch):
    import errno
    import pathlib

    import torch

    from hipool.io import WriteError, atomic_torch_save, atomic_write_text, describe_os_error

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    with pytest.raises(WriteError) as info:
        atomic_write_text(tmp_path / "result.json", "{}")
    assert str(info.value) == f"cannot write {tmp_path / 'result.json'}: no space left on device"
    assert describe_os_error(info.value) == str(info.value) and info.value.errno == errno.ENOSPC
    monkeypatch.undo()

    def torch_full(obj, f, *args, **kwargs):
        open(f, "wb").write(b"PK")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", torch_full)
    with pytest.raises(WriteError, match=r"^cannot write .*checkpoint.pt: no space left on device$"):
        atomic_torch_save({}, tmp_path / "checkpoint.pt")
    monkeypatch.setattr(torch, "save", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("File write failed")))
    with pytest.raises(WriteError, match="no space left on device"):
        atomic_torch_save({}, tmp_path / "checkpoint.pt")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temporary file is left

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("hipool.io.tempfile.mkstemp", read_only)
    with pytest.raises(WriteError, match=r"^cannot write .*x.json: read-only file system$"):
        atomic_write_text(tmp_path / "x.json", "{}")
    monkeypatch.undo()
    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteError, match=rf"^cannot write {tmp_path / 'file'}: exists and is not a folder$"):
        atomic_write_text(tmp_path / "file" / "x.json", "{}")
    with pytest.raises(WriteError, match=r"file name too long$"):
        atomic_write_text(tmp_path / ("n" * 300) / "x.json", "{}")
    long = atomic_write_text(tmp_path / ("m" * 250), "ok")  # a long but valid name: its temporary name fits
    assert long.read_text() == "ok"


def test_splits_files_that_are_not_what_hipool_writes(tmp_path):
    from hipool.data.splits import labels_hash
    from hipool.runs import read_splits

    labels = [0, 1, 0, 1]
    path = tmp_path / "split.json"

    def write(splits):
        path.write_text(
            json.dumps({"dataset": "d", "num_graphs": 4, "labels_hash": labels_hash(labels), "splits": splits})
        )

    for splits, match in [
        ([], "holds no split"),
        ([[0, 1]], "split 0 is not a mapping of part names to index lists"),
        ([{"train": 3}], "split 0 part 'train' is not a list of indices"),
        ([{"train": [0, 1], "val": [2]}], r"split 0 has no 'test' part \(it has 'train', 'val'\)"),
        ([{"train": [0, 1], "val": [1], "test": [3]}], r"split 0 has graph 1 in both 'train' and 'val'"),
        ([{"train": [True], "val": [2], "test": [3]}], "split 0 part 'train' has entries that are not graph"),
    ]:
        write(splits)
        with pytest.raises(ValueError, match=rf"^splits file {path}: {match}"):
            read_splits(path, dataset="d", labels=labels, parts=("train", "val", "test"))
    path.write_bytes(b'{"splits": "\xff"}')
    with pytest.raises(
        ValueError, match=rf"^{path}:1: splits file is not UTF-8 text \(byte 12 is ff: invalid start byte\)$"
    ):
        read_splits(path, dataset="d", labels=labels)
    write([{"train": [0, 1], "val": [2], "test": [3]}])
    assert read_splits(path, dataset="d", labels=labels, parts=("train", "val", "test")) == [
        {"train": [0, 1], "val": [2], "test": [3]}
    ]


def test_files_are_recorded_model_by_model_and_fold_by_fold(tmp_path):
    out = tmp_path / "run"
    models = {"m": {"config": {}, "grid": [{"config": {}}, {"config": {}}]}}
    claim_run_folder(out, "compare", {"seed": 0}, extra={"models": models}, argv=None)
    claimed = json.loads((out / MANIFEST).read_text())
    assert claimed["files"] == {} and load_manifest(out).recorded
    record_files(out, split="folds.json")
    record_files(out, models={"m": ModelFiles(folds={0: FoldFiles(1, ("s0.json", "s1.json"), ("f.json",), ("f.pt",))})})
    record_files(out, models={"m": ModelFiles(folds={1: FoldFiles(0)})}, summary="summary.md")
    record = json.loads((out / MANIFEST).read_text())
    assert {k: v for k, v in record.items() if k != "files"} == {k: v for k, v in claimed.items() if k != "files"}
    assert record["files"] == {
        "split": "folds.json",
        "summary": "summary.md",
        "models": {
            "m": {
                "folds": {
                    "0": {
                        "selected": 1,
                        "selection": ["s0.json", "s1.json"],
                        "finals": ["f.json"],
                        "checkpoints": ["f.pt"],
                    },
                    "1": {"selected": 0, "selection": [], "finals": [], "checkpoints": []},
                }
            }
        },
    }
    files = load_manifest(out).files
    assert files.models["m"].folds[0].checkpoints == ("f.pt",) and files.split == "folds.json"
    stamp = (out / MANIFEST).stat().st_mtime_ns
    record_files(out, split="folds.json")  # nothing new: run.json is left as it is
    assert (out / MANIFEST).stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match=r"^record_files: no file named 'notes' in a run record"):
        record_files(out, notes="notes.txt")
    with pytest.raises(ValueError, match=r"no run.json to record files in"):
        record_files(tmp_path / "none", split="split.json")


def test_open_run_says_what_is_missing(tmp_path):
    from hipool.runs import open_run

    out = tmp_path / "run"
    claim_run_folder(out, "train", {"model": {"pool": "topk"}})
    with pytest.raises(ValueError, match=rf"^run folder {out}: no checkpoint.pt: the training has not finished"):
        open_run(out)
    with pytest.raises(ValueError, match=r"a `hipool train` run holds one model; --model and --fold apply to"):
        open_run(out, model="x")
    with pytest.raises(ValueError, match=r"no such folder"):
        open_run(tmp_path / "nowhere")
    (out / "checkpoint.pt").write_bytes(b"weights")  # found by the name the record gives it
    record_files(out, models={"model": ModelFiles(checkpoint="checkpoint.pt")})
    found = open_run(out)
    assert found.checkpoint == out / "checkpoint.pt" and found.config == {"pool": "topk"} and found.split is None


def test_a_relative_dataset_path_is_recorded_absolute(tmp_path, monkeypatch):
    from hipool.runs import data_record

    (tmp_path / "designs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert data_record("designs", None)["spec"] == str(tmp_path / "designs")
    assert data_record("MUTAG", "root")["spec"] == "MUTAG"  # a name, not a path here: as typed
    assert data_record("MUTAG", "root")["data_root"] == str(tmp_path / "root")


def test_atomic_writes_get_the_mode_a_plain_write_would(tmp_path):
    import os
    import stat

    from hipool.io import atomic_write_text

    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640  # not mkstemp's 0600
