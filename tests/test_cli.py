"""`hipool demo` end to end on a small setting, and CLI error handling."""

import csv
import json

import torch
import yaml

from hipool.cli import main
from hipool.train.checkpoint import load_checkpoint


def test_demo_writes_a_complete_run_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HIPOOL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert main(["demo", "--out", str(out), "--graphs", "24", "--epochs", "2", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| hierarchical |" in printed and "| given |" in printed and "| global |" in printed
    assert "s / epoch" in printed
    # the default benchmark is circuits: accuracy per defect level
    assert "| component acc | block acc | subsystem acc |" in printed
    kinds = {"hierarchical": "HierarchicalGNN", "given": "HierarchicalGNN", "global": "GlobalGNN"}
    for name in kinds:
        rows = list(csv.DictReader(open(out / name / "metrics.csv")))
        assert [r["epoch"] for r in rows] == ["1", "2"]
        payload = torch.load(out / name / "checkpoint.pt", weights_only=True)
        assert payload["model_class"] == kinds[name]
        load_checkpoint(out / name / "checkpoint.pt")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"].startswith("circuits")
    assert [r["model"] for r in summary["rows"]] == ["hierarchical", "given", "global"]
    configs = yaml.safe_load((out / "config.yaml").read_text())["models"]
    same = {k: v for k, v in configs["hierarchical"].items() if k not in ("pool", "schedule", "levels")}
    for name in ("given", "global"):  # the very same blocks, readouts and head
        assert {k: v for k, v in configs[name].items() if k in same} == same, name
    assert all(0 <= r["test_acc"] <= 1 and r["parameters"] > 0 for r in summary["rows"])
    for r in summary["rows"]:  # the per-level accuracies add up to the overall one
        groups = r["test_groups"]
        assert set(groups) == {"pass", "component", "block", "subsystem"}
        correct = sum(g["acc"] * g["count"] for g in groups.values() if g["count"])
        assert abs(correct / sum(g["count"] for g in groups.values()) - r["test_acc"]) < 1e-9
    assert (out / "config.yaml").read_text().startswith("demo:")
    assert json.loads((out / "run.json").read_text())["command"] == "demo"
    report = (out / "report.html").read_text()
    pictures = sorted((out / "report").glob("graph*/*.png"))
    assert [p.name for p in pictures] == ["coarsened.png", "levels.png", "original.png"]
    for p in pictures:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.relative_to(out).as_posix() in report
    assert "true defect level × deciding level" in report and "report.html" in printed
    assert not [p for p in out.rglob("*.tmp")]


def test_demo_on_communities(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            ["demo", "--dataset", "communities", "--out", str(out), "--graphs", "24", "--epochs", "1", "--no-progress"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "24 communities:n=24,seed=0 graphs" in printed and "component acc" not in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == "communities:n=24,seed=0" and summary["rows"][0]["test_groups"] is None
    assert "pool: edgepool" in (out / "config.yaml").read_text() and "pool: given" in (out / "config.yaml").read_text()


def test_demo_bad_config_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "m.yaml"
    bad.write_text("conv: gat\n")
    assert main(["demo", "--out", str(tmp_path / "r"), "--config", str(bad), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"hipool demo: error: {bad}:1: 'conv' must be one of" in err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_data_summary_of_a_tu_dataset(tmp_path, capsys):
    from tests.conftest import SHARED

    if not (SHARED / "TU" / "MUTAG" / "raw").is_dir():
        import pytest

        pytest.skip("shared MUTAG missing")
    args = ["data", "summary", "MUTAG", "--data-root", str(SHARED / "TU"), "--cache-dir", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "graphs              188" in out and "-1: 63, 1: 125" in out and "node features       7" in out
    assert main(args + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["graphs"] == 188


def test_data_summary_of_the_community_graphs(capsys):
    assert main(["data", "summary", "communities"]) == 0
    out = capsys.readouterr().out
    assert "chain: 134, ring: 133, star: 133" in out and "2 known level(s) (level_labels)" in out


def test_data_summary_unknown_name_is_a_clear_error(tmp_path, capsys):
    assert main(["data", "summary", "NOPE", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "hipool data summary: unknown dataset 'NOPE'; available: circuits, communities; TU datasets AIDS, DD," in err
    assert f"local TU folders: none under {tmp_path}" in err and "'tu:NAME'" in err
    (tmp_path / "MINE" / "raw").mkdir(parents=True)
    assert main(["data", "summary", "mine", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'mine'; did you mean 'MINE'?" in err and f"MINE (under {tmp_path})" in err
    assert main(["data", "summary", "MUTAG", "--data-root", str(tmp_path)]) == 2
    assert "hipool data summary: TU MUTAG: no raw files at" in capsys.readouterr().err
    assert main(["data", "summary", "tu:NOPE", "--data-root", str(tmp_path)]) == 2
    assert "hipool data summary: TU NOPE: no raw files at" in capsys.readouterr().err
    assert main(["data", "summary", str(tmp_path / "missing.csv")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "graph.txt").write_text("0 1\n")
    assert main(["data", "summary", str(tmp_path / "graph.txt")]) == 2
    assert "neither a molecule CSV (.csv), JSON Lines (.jsonl) nor a netlist" in capsys.readouterr().err


def test_data_summary_of_own_graphs_and_molecules(tmp_path, capsys):
    import pytest

    jsonl = tmp_path / "g.jsonl"
    jsonl.write_text(
        '{"label": "a", "edges": [[0, 1], [1, 2]], "levels": [[0], [0], [1]]}\n{"label": "b", "edges": [[0, 1]]}\n'
    )
    assert main(["data", "summary", str(jsonl)]) == 0
    out = capsys.readouterr().out
    assert "graphs              2" in out and "a: 1, b: 1" in out and "1 known level(s)" in out
    pytest.importorskip("rdkit")
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("smiles,active\nCCO,0\nc1ccccc1,1\nnot-a-smiles,1\nCC(=O)O,1\n")
    assert main(["data", "summary", str(csv_path)]) == 0
    out = capsys.readouterr().out
    assert "graphs              3" in out and "0: 1, 1: 2" in out
    assert "skipped 1 invalid SMILES at rows 4" in out


def _toy(tmp_path):
    from tests.train.harness_data import write_toy

    return write_toy(tmp_path / "toy.jsonl", n=24)


def _train(toy, out, *extra):
    return ["train", "--dataset", str(toy), "--out", str(out), "--no-progress", "--epochs", "2", *extra]


def test_a_full_disk_is_one_line_and_the_rerun_resumes_clean(tmp_path, capsys, monkeypatch):
    toy, out = _toy(tmp_path), tmp_path / "run"
    real = torch.save

    def full(obj, f, *args, **kwargs):  # torch's message when the disk fills up mid-file
        real(obj, f, *args, **kwargs)
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 2368 vs 2262")

    monkeypatch.setattr(torch, "save", full)
    assert main(_train(toy, out)) == 2
    assert capsys.readouterr().err == f"hipool train: error: cannot write {out / 'state.pt'}: no space left on device\n"
    assert not list(out.glob(".*.tmp"))
    monkeypatch.undo()
    assert main(_train(toy, out)) == 0
    assert (out / "result.json").is_file() and not list(out.rglob("*.tmp"))


def test_os_errors_are_one_line_naming_the_path(tmp_path, capsys, monkeypatch):
    import errno

    toy = _toy(tmp_path)
    (tmp_path / "file").write_text("x")
    assert main(_train(toy, tmp_path / "file")) == 2
    assert capsys.readouterr().err == f"hipool train: error: --out {tmp_path / 'file'}: is a file, not a folder\n"
    assert main(_train(toy, tmp_path / "file" / "run")) == 2
    assert capsys.readouterr().err == (
        f"hipool train: error: cannot write {tmp_path / 'file' / 'run'}: a part of the path is a file, not a folder\n"
    )
    long = tmp_path / ("n" * 300)
    assert main(_train(toy, long)) == 2
    assert capsys.readouterr().err.endswith(": file name too long\n")

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("hipool.io.tempfile.mkstemp", read_only)
    assert main(_train(toy, tmp_path / "ro")) == 2
    assert capsys.readouterr().err == (
        f"hipool train: error: cannot write {tmp_path / 'ro' / 'run.json'}: read-only file system\n"
    )
    monkeypatch.undo()

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x"))

    monkeypatch.setattr("hipool.train.command.run_train", denied)
    assert main(_train(toy, tmp_path / "x")) == 2
    assert capsys.readouterr().err == f"hipool train: error: {tmp_path / 'x'}: permission denied\n"

    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr("hipool.train.command.run_train", no_memory)
    assert main(_train(toy, tmp_path / "x")) == 2
    assert capsys.readouterr().err.startswith("hipool train: error: out of memory")


def test_thread_job_and_seed_flags_are_bounded(tmp_path, capsys):
    import pytest

    from hipool.train.runner import PER_CPU, cpu_count

    most = PER_CPU * cpu_count()
    for args, message in [
        (
            ["train", "--dataset", "x", "--out", "o", "--threads", "100000"],
            f"argument --threads: 100000: at most 4 x the {cpu_count()} CPU(s) this process may use ({most})",
        ),
        (
            ["compare", "--dataset", "x", "--models", "topk", "--out", "o", "--jobs", str(most + 1)],
            f"argument --jobs: {most + 1}: at most 4 x the",
        ),
        (
            ["train", "--dataset", "x", "--out", "o", "--seed", "-1"],
            "argument --seed: must be an int from 0 to 4294967295, got -1",
        ),
        (["demo", "--seed", str(2**40)], "argument --seed: must be an int from 0 to 4294967295"),
        (["demo", "--graphs", "3"], None),
    ]:
        if message is None:
            assert main(args + ["--out", str(tmp_path / "d")]) == 2
            assert (
                "hipool demo: error: --graphs must be an int from 20 (a test split with graphs of every class) "
                "to 100,000, got 3" in capsys.readouterr().err
            )
            continue
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2 and message in capsys.readouterr().err
    from hipool.train.command import TrainRequest, run_train

    with pytest.raises(ValueError, match=rf"^--threads 100000: at most 4 x the {cpu_count()} CPU"):
        run_train(TrainRequest(dataset="x", out=tmp_path / "o", threads=100000))
    assert not (tmp_path / "o").exists()


def test_damaged_run_folder_files_on_resume_are_named(tmp_path, capsys):
    toy, out = _toy(tmp_path), tmp_path / "run"
    assert main(_train(toy, out)) == 0
    capsys.readouterr()
    result = (out / "result.json").read_bytes()
    (out / "result.json").write_bytes(b"\xff")
    assert main(_train(toy, out)) == 2
    assert capsys.readouterr().err == (
        f"hipool train: error: {out / 'result.json'}:1: result file is not UTF-8 text "
        f"(byte 0 is ff: invalid start byte)\n"
    )
    (out / "result.json").write_text("[1, 2]")
    assert main(_train(toy, out)) == 2
    assert f"result file {out / 'result.json'}: not the record hipool writes" in capsys.readouterr().err
    (out / "result.json").write_bytes(result)
    (out / "run.json").write_text('{"format": "hipool-run/1", "command": "train", "identity": "x"}')
    assert main(_train(toy, out)) == 2
    assert capsys.readouterr().err == (
        f"hipool train: error: {out / 'run.json'}: the run record's 'identity' is 'x', "
        f"not of the type hipool writes there; cannot read this run folder's record; "
        f"choose another --out\n"
    )


def test_an_interrupted_train_with_a_damaged_state_is_named(tmp_path, capsys):
    toy, out = _toy(tmp_path), tmp_path / "run"
    assert main(_train(toy, out)) == 0
    capsys.readouterr()
    (out / "result.json").unlink()
    state = {"format": "hipool-train-state/1", "model": {}, "optimizer": {}}
    torch.save(state, out / "state.pt")
    assert main(_train(toy, out)) == 2
    assert capsys.readouterr().err == (
        f"hipool train: error: training state {out / 'state.pt'}: damaged: it has no "
        f"'history', 'best_epoch', 'best_val_acc', 'best_val_loss', 'best_state', "
        f"'since_best', 'rng'; delete it to start this run over\n"
    )
    (out / "state.pt").write_bytes(b"PK\x03\x04 truncated")
    assert main(_train(toy, out)) == 2
    assert f"training state {out / 'state.pt'}: cannot read it (" in capsys.readouterr().err
    (out / "state.pt").unlink()
    assert main(_train(toy, out)) == 0
