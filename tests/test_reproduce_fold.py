"""benchmarks/reproduce_fold.py re-runs a final unit of a compare run and finds the same test accuracy."""

from __future__ import annotations

import json
from pathlib import Path

from hipool.cli import main
from tests.conftest import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reproduce_fold.py"


def _script():
    return load_script(SCRIPT, "reproduce_fold")


def test_a_final_unit_reproduces_exactly_and_a_changed_record_does_not(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["--dataset", "communities:n=60,seed=0", "--models", "topk", "--folds", "2", "--repeats", "1"]
    assert main(["compare", *args, "--epochs", "2", "--threads", "1", "--out", str(out), "--no-progress"]) == 0
    script = _script()
    assert script.main([str(out), "topk", "1"]) == 0
    text = capsys.readouterr().out
    assert "(the same)" in text and "recorded test accuracy" in text
    record_path = next((out / "units" / "topk" / "fold01").glob("final-c*-r0.json"))
    record = json.loads(record_path.read_text())
    record["seed"] += 1  # another seed: another run, which the checker must not call the same
    record["result"]["test_acc"] = -1.0
    record_path.write_text(json.dumps(record))
    assert script.main([str(out), "topk", "1"]) == 1
    assert script.main([str(out), "topk", "7"]) == 2
    assert script.main([str(tmp_path / "nothing"), "topk", "0"]) == 2


def test_a_dataset_name_finds_the_campaign_folder_in_results(tmp_path, monkeypatch, capsys):
    out = tmp_path / "results" / "tu-X" / "run"
    args = ["--dataset", "communities:n=40,seed=1", "--models", "topk", "--folds", "2", "--repeats", "1"]
    assert main(["compare", *args, "--epochs", "1", "--threads", "1", "--out", str(out), "--no-progress"]) == 0
    script = _script()
    monkeypatch.setattr(script, "ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)  # no runs/X here
    assert script.main(["X", "topk", "0"]) == 0
    assert str(out) in capsys.readouterr().out
    assert script.main(["Y", "topk", "0"]) == 2
    assert "nor runs/Y, results/tu-Y/run" in capsys.readouterr().err
