"""`hipool train`: run folder, resume after an interruption, errors, and 2-process DDP."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import hipool.train.loop as loop
from hipool.cli import main
from hipool.train.checkpoint import load_checkpoint
from tests.train.harness_data import write_toy

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def toy(tmp_path):
    return write_toy(tmp_path / "toy.jsonl", n=48)


def _train(toy, out, *extra):
    return ["train", "--dataset", str(toy), "--out", str(out), "--no-progress", "--lr", "0.01", *extra]


def test_train_writes_a_complete_run_folder(toy, tmp_path, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model:\n  pool: sag\n  hidden: 16\n  schedule: [0.5]\ntrain:\n  epochs: 4\n  batch_size: 8\n")
    out = tmp_path / "run"
    assert main(["train", str(cfg), "--dataset", str(toy), "--out", str(out), "--no-progress", "--epochs", "5"]) == 0
    assert "train: best val acc" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoint.pt",
        "config.yaml",
        "metrics.csv",
        "result.json",
        "run.json",
        "split.json",
    ]
    result = json.loads((out / "result.json").read_text())
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == result["epochs_run"] == 5  # the flag overrides the file
    assert result["test_acc"] is not None and result["parameters"] > 0 and result["processes"] == 1
    assert result["argv"][:2] == ["hipool", "train"]
    split = json.loads((out / "split.json").read_text())["splits"][0]
    assert (len(split["train"]), len(split["val"]), len(split["test"])) == (38, 6, 4)  # 19/3/2 per class
    assert sorted(split["train"] + split["val"] + split["test"]) == list(range(48))
    payload = torch.load(out / "checkpoint.pt", weights_only=True)
    assert payload["config"]["pool"] == "sag" and payload["config"]["hidden"] == 16
    model = load_checkpoint(out / "checkpoint.pt")
    assert model.config.levels == 1
    config = (out / "config.yaml").read_text()
    assert "batch_size: 8" in config and "epochs: 5" in config
    assert json.loads((out / "run.json").read_text())["files"] == {  # every file, recorded as it was written
        "config": "config.yaml",
        "split": "split.json",
        "result": "result.json",
        "models": {"model": {"checkpoint": "checkpoint.pt", "metrics": "metrics.csv"}},
    }
    assert main(["train", str(cfg), "--dataset", str(toy), "--out", str(out), "--no-progress", "--epochs", "5"]) == 0
    assert "already holds a finished run" in capsys.readouterr().out


def test_interrupted_train_resumes_to_the_same_result(toy, tmp_path, monkeypatch):
    args = ["--model", "topk", "--epochs", "6", "--no-patience", "--batch-size", "8"]
    assert main(_train(toy, tmp_path / "whole", *args)) == 0

    real, calls = loop.run_epoch, []

    def interrupting(model, loader, optimizer=None, *a, **k):
        if optimizer is not None:
            calls.append(1)
            if len(calls) == 4:
                raise KeyboardInterrupt
        return real(model, loader, optimizer, *a, **k)

    monkeypatch.setattr(loop, "run_epoch", interrupting)
    assert main(_train(toy, tmp_path / "cut", *args)) == 130
    assert (tmp_path / "cut" / "state.pt").is_file() and not (tmp_path / "cut" / "result.json").exists()
    assert len(list(csv.DictReader(open(tmp_path / "cut" / "metrics.csv")))) == 3
    monkeypatch.setattr(loop, "run_epoch", real)
    assert main(_train(toy, tmp_path / "cut", *args)) == 0
    assert not (tmp_path / "cut" / "state.pt").exists()
    assert json.loads((tmp_path / "cut" / "result.json").read_text())["resumed_at_epoch"] == 3

    def metrics(d):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(open(d / "metrics.csv"))]

    assert metrics(tmp_path / "cut") == metrics(tmp_path / "whole")
    a, b = (
        torch.load(d / "checkpoint.pt", weights_only=True)["state_dict"] for d in (tmp_path / "cut", tmp_path / "whole")
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_train_errors(toy, tmp_path, capsys):
    if not torch.cuda.is_available():
        assert main(_train(toy, tmp_path / "a", "--device", "cuda")) == 2
        assert "--device cuda: no CUDA device here" in capsys.readouterr().err
    cfg = tmp_path / "node.yaml"
    cfg.write_text("task: node\n")
    assert main(["train", str(cfg), "--model", "topk", "--dataset", str(toy), "--out", str(tmp_path / "b")]) == 2
    assert "give a config file or --model, not both" in capsys.readouterr().err
    assert main(["train", str(cfg), "--dataset", str(toy), "--out", str(tmp_path / "b")]) == 2
    assert "'task: node'; hipool train classifies graphs" in capsys.readouterr().err
    assert main(_train(toy, tmp_path / "c", "--model", "topkpool")) == 2
    assert "unknown model 'topkpool'; did you mean 'topk'?" in capsys.readouterr().err
    assert main(_train(toy, tmp_path / "d", "--val", "0.5", "--test", "0.5")) == 2
    assert "together below 1" in capsys.readouterr().err
    assert not any((tmp_path / n).exists() for n in "abcd")


def test_train_flags_set_the_schedule_and_clipping(toy, tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            _train(
                toy,
                out,
                "--model",
                "topk",
                "--epochs",
                "5",
                "--no-patience",
                "--batch-size",
                "8",
                "--lr-schedule",
                "step",
                "--lr-step",
                "2",
                "--lr-factor",
                "0.5",
                "--min-lr",
                "0.003",
                "--grad-clip",
                "1",
            )
        )
        == 0
    )
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.003], rel=1e-12)
    train = yaml.safe_load((out / "config.yaml").read_text())["train"]
    assert {k: train.get(k) for k in ("lr_schedule", "lr_step", "lr_factor", "min_lr", "grad_clip", "lr_patience")} == {
        "lr_schedule": "step",
        "lr_step": 2,
        "lr_factor": 0.5,
        "min_lr": 0.003,
        "grad_clip": 1.0,
        "lr_patience": None,
    }  # lr_patience is plateau's: not recorded for a step schedule
    capsys.readouterr()
    for flag, value in (
        ("--grad-clip", "nan"),
        ("--grad-clip", "inf"),
        ("--weight-decay", "1e400"),
        ("--lr-factor", "-inf"),
        ("--min-lr", "nan"),
    ):  # named by the flag, not the setting
        with pytest.raises(SystemExit):
            main(_train(toy, tmp_path / "bad", f"{flag}={value}"))
        assert f"argument {flag}: must be a" in capsys.readouterr().err
    assert main(_train(toy, tmp_path / "bad", "--grad-clip", "-1")) == 2
    assert (
        "train settings (file and flags): 'grad_clip' must be a finite number > 0, or 0 or null for no "
        "clipping, got -1.0"
    ) in capsys.readouterr().err
    assert main(_train(toy, tmp_path / "bad", "--lr-schedule", "plateau", "--min-lr", "0.05")) == 2
    assert "'min_lr' must be below 'lr' (0.01) when 'lr_schedule' is 'plateau', got 0.05" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(_train(toy, tmp_path / "bad", "--lr-schedule", "cosine"))
    assert "argument --lr-schedule: invalid choice: 'cosine'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_compare_flags_reach_the_train_settings(tmp_path, monkeypatch, capsys):
    import hipool.compare

    seen = []
    monkeypatch.setattr(hipool.compare, "compare", seen.append)
    base = ["compare", "--dataset", "toy", "--models", "topk", "--out", str(tmp_path / "cmp"), "--no-progress"]
    assert (
        main(
            base
            + [
                "--lr-schedule",
                "plateau",
                "--lr-patience",
                "3",
                "--lr-factor",
                "0.2",
                "--min-lr",
                "1e-5",
                "--grad-clip",
                "0.5",
                "--weight-decay",
                "0.01",
            ]
        )
        == 0
    )
    train = seen[0].train
    assert (
        train.lr_schedule,
        train.lr_patience,
        train.lr_factor,
        train.min_lr,
        train.grad_clip,
        train.weight_decay,
    ) == ("plateau", 3, 0.2, 1e-5, 0.5, 0.01)
    assert main(base + ["--lr-schedule", "step", "--lr-step", "4", "--grad-clip", "0"]) == 0
    assert (seen[1].train.lr_schedule, seen[1].train.lr_step, seen[1].train.grad_clip) == ("step", 4, None)
    assert main(base + ["--lr-factor", "1.5"]) == 2
    assert "training flags: 'lr_factor' must be a finite number in (0, 1), got 1.5" in capsys.readouterr().err
    assert len(seen) == 2


def test_two_process_ddp_training_keeps_replicas_identical(toy, tmp_path):
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "hipool",
        *_train(toy, out, "--epochs", "8", "--no-patience", "--batch-size", "8", "--threads", "1"),
    ]
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("train: best val acc") == 1  # only process 0 speaks and writes
    result = json.loads((out / "result.json").read_text())
    assert result["processes"] == 2 and result["replicas_identical"] is True
    assert len(result["param_checksums"]) == 2 and len(set(result["param_checksums"])) == 1
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 8 and float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    load_checkpoint(out / "checkpoint.pt")
