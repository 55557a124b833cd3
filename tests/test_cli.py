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
    for name in ("given", "global"):   # the very same blocks, readouts and head
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
    assert main(["demo", "--dataset", "communities", "--out", str(out), "--graphs", "24", "--epochs", "1",
                 "--no-progress"]) == 0
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
    assert "neither a molecule CSV (.csv) nor JSON Lines" in capsys.readouterr().err


def test_data_summary_of_own_graphs_and_molecules(tmp_path, capsys):
    import pytest
    jsonl = tmp_path / "g.jsonl"
    jsonl.write_text('{"label": "a", "edges": [[0, 1], [1, 2]], "levels": [[0], [0], [1]]}\n'
                     '{"label": "b", "edges": [[0, 1]]}\n')
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
