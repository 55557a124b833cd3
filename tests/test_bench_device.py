"""``--device`` of the benchmark scripts (issue 24): each still runs on the CPU (tiny sizes, in this
process), and ``--device cuda`` on a machine without CUDA stops at once with one line, before any
data is loaded or trained on.  Nothing here needs a GPU; on a machine with one the refusal tests
are skipped (the CPU runs still run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import load_bench

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
PROTEINS = ROOT.parent / "shared" / "datasets" / "TU" / "PROTEINS" / "raw"
NO_CUDA = "--device cuda: torch.cuda.is_available() is False"
needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: nothing to refuse")


def _script(monkeypatch, name: str):
    return load_bench(monkeypatch, name)


@pytest.fixture(autouse=True)
def _keep_threads():
    threads = torch.get_num_threads()  # the scripts set torch's thread count in this process
    yield
    torch.set_num_threads(threads)


def _refused(stop: pytest.ExceptionInfo) -> str:
    """The one line a script exits with (``sys.exit(message)``: printed, no traceback)."""
    message = stop.value.code
    assert isinstance(message, str) and "\n" not in message, message
    assert NO_CUDA in message and "use --device cpu" in message, message
    return message


#: Every script that takes ``--device``, with the arguments it needs besides (the refusal
#: comes first: these never reach a dataset).
REFUSING = {
    "asap_phases": [],
    "clustering_auto": [],
    "clustering_training": ["--out", "unused.json"],
    "hierarchy_recovery": ["--out", "unused"],
    "sample_efficiency": ["--out", "unused"],
    "seed_proteins": ["--data-root", "missing", "--cache", "unused"],
    "ddp": ["--data-root", "missing"],
}


@needs_no_cuda
@pytest.mark.parametrize("name", sorted(REFUSING))
def test_cuda_without_a_gpu_is_one_line(monkeypatch, tmp_path, name):
    script = _script(monkeypatch, name)
    monkeypatch.chdir(tmp_path)  # nothing may be written; if something were, it lands here
    with pytest.raises(SystemExit) as stop:
        script.main(["--device", "cuda", *REFUSING[name]])
    _refused(stop)
    assert not any(tmp_path.iterdir())


@needs_no_cuda
def test_cuda_refusal_as_a_command_prints_no_traceback():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "clustering_auto.py"), "--device", "cuda"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("clustering_auto.py: error: --device cuda:") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_device_is_an_option_of_cpu_or_cuda(monkeypatch, capsys):
    for name in REFUSING:
        script = _script(monkeypatch, name)
        with pytest.raises(SystemExit) as stop:
            script.main(["--device", "tpu"])
        assert stop.value.code == 2 and "invalid choice: 'tpu'" in capsys.readouterr().err


def test_clustering_auto_on_the_cpu(monkeypatch, capsys):
    script = _script(monkeypatch, "clustering_auto")
    script.main(["--clusters", "4", "--sizes", "25", "--total", "50", "--repeats", "1", "--threads", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["C", "n", "B", "dense", "ms"] and "MB" not in lines[0]  # peaks: CUDA only
    assert lines[1].split()[:3] == ["4", "25", "2"] and lines[1].rstrip().endswith(("dense", "(slower here)"))


def test_clustering_training_on_the_cpu_records_the_device(monkeypatch, tmp_path):
    script = _script(monkeypatch, "clustering_training")
    monkeypatch.setattr(script, "datasets", lambda quick: {"communities": "communities:n=40,seed=0"})
    out = tmp_path / "ct.json"
    args = ["--epochs", "1", "--poolers", "mincut", "--datasets", "communities", "--out", str(out)]
    assert script.main([*args, "--device", "cpu"]) == 0
    (row,) = json.loads(out.read_text())
    assert row["device"] == "cpu" and row["epochs_run"] == 1 and 0 <= row["test_acc"] <= 1
    # a row of an older file (no device: the CPU) is the same cell, and is replaced
    del row["device"]
    out.write_text(json.dumps([row]))
    assert script.main(args) == 0
    assert [r["device"] for r in json.loads(out.read_text())] == ["cpu"]


def test_hierarchy_recovery_trains_on_the_cpu(monkeypatch, tmp_path, capsys):
    script = _script(monkeypatch, "hierarchy_recovery")
    monkeypatch.setitem(script.GRAPHS, "communities", 60)
    args = ["--datasets", "communities", "--poolers", "topk", "--epochs", "1", "--threads", "1"]
    assert script.main([*args, "--out", str(tmp_path), "--device", "cpu"]) == 0
    assert "| communities (community) | topk |" in capsys.readouterr().out
    result = json.loads((tmp_path / "communities" / "topk" / "result.json").read_text())
    assert result["device"] == "cpu"


def test_sample_efficiency_on_the_cpu_records_the_device(monkeypatch, tmp_path):
    script = _script(monkeypatch, "sample_efficiency")
    sizes = ["--sizes", "20", "--pool", "80", "--test", "30", "--val", "20", "--epochs", "1"]
    assert script.main(["--models", "gine-global", *sizes, "--threads", "1", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "gine-global-20.json").read_text())
    assert record["device"] == "cpu" and record["train"] == 20


def test_seed_proteins_on_the_cpu(monkeypatch, tmp_path, capsys):
    if not PROTEINS.is_dir():
        pytest.skip(f"shared dataset missing: {PROTEINS}")
    script = _script(monkeypatch, "seed_proteins")
    args = ["--epochs", "2", "--batch-size", "256", "--hidden", "8", "--cache", str(tmp_path), "--device", "cpu"]
    assert script.main(args) == 0
    out = capsys.readouterr().out
    assert "- device cpu, threads 1, epochs 2" in out and "CUDA allocator peak" not in out


def _fake_train(calls):
    """``ddp.run`` without processes: records the command and writes what ``hipool train`` would."""

    def run(cmd, env, label):
        calls.append(cmd)
        out = Path(cmd[cmd.index("--out") + 1])
        out.mkdir(parents=True)
        rows = "epoch,train_loss,seconds\n1,0.7,2.0\n2,0.6,1.0\n"
        (out / "metrics.csv").write_text(rows)
        (out / "result.json").write_text(json.dumps({"peak_mb": 12.5}))

    return run


def test_ddp_on_the_cpu_runs_gloo_processes_and_threads(monkeypatch, tmp_path, capsys):
    script = _script(monkeypatch, "ddp")
    calls = []
    monkeypatch.setattr(script, "run", _fake_train(calls))
    script.main(["--procs", "2", "--device", "cpu", "--out", str(tmp_path / "ddp.json")])
    assert len(calls) == 3 and not any("--device" in cmd for cmd in calls)  # hipool train's default: cpu
    assert "torch.distributed.run" in calls[2] and calls[2][calls[2].index("--batch-size") + 1] == "16"
    results = json.loads((tmp_path / "ddp.json").read_text())
    assert [r["setup"] for r in results] == ["1 proc x 1 thread", "1 proc x 2 threads", "2 procs x 1 thread"]
    assert all(r["device"] == "cpu" and r["peak_MB"] == 12.5 and r["seconds_per_epoch"] == 1.0 for r in results)
    assert "over one process with 2 threads" in capsys.readouterr().out


def test_ddp_on_gpus_takes_one_per_process(monkeypatch, tmp_path, capsys):
    script = _script(monkeypatch, "ddp")
    gpus = {"torch": "x", "cuda_build": "12", "name": "Test GPU", "free_bytes": 8e9, "total_bytes": 9e9}
    monkeypatch.setattr(script, "probe_device", lambda device: {"device": "cuda", "count": 1, **gpus})
    with pytest.raises(SystemExit) as stop:
        script.main(["--procs", "2", "--device", "cuda"])
    assert stop.value.code == 2
    assert "one GPU per process, and this machine has 1 (Test GPU)" in capsys.readouterr().err
    monkeypatch.setattr(script, "probe_device", lambda device: {"device": "cuda", "count": 4, **gpus})
    with pytest.raises(SystemExit):
        script.main(["--procs", "8", "--device", "cuda"])
    assert "has 4 (Test GPU); use --procs 4" in capsys.readouterr().err
    calls = []
    monkeypatch.setattr(script, "run", _fake_train(calls))
    script.main(["--procs", "2", "--device", "cuda", "--out", str(tmp_path / "ddp.json")])
    assert len(calls) == 2 and all(cmd[cmd.index("--device") + 1] == "cuda" for cmd in calls)
    assert "torch.distributed.run" in calls[1] and "--nproc_per_node=2" in calls[1]
    results = json.loads((tmp_path / "ddp.json").read_text())
    assert [r["setup"] for r in results] == ["1 proc x 1 GPU", "2 procs x 2 GPUs"]
    out = capsys.readouterr().out
    assert out.startswith("device: cuda, Test GPU") and "on 2 GPUs: 1.00x over one" in out


def _compare_run(tmp_path) -> Path:
    from hipool.cli import main

    out = tmp_path / "cmp"
    args = ["--dataset", "communities:n=60,seed=0", "--models", "topk", "--folds", "2", "--repeats", "1"]
    assert main(["compare", *args, "--epochs", "1", "--threads", "1", "--out", str(out), "--no-progress"]) == 0
    return out


def test_reproduce_fold_on_the_cpu_and_a_gpu_it_lacks(monkeypatch, tmp_path, capsys):
    script = _script(monkeypatch, "reproduce_fold")
    out = _compare_run(tmp_path)
    assert script.main([str(out), "topk", "0", "--device", "cpu"]) == 0
    assert "(the same)" in capsys.readouterr().out
    if torch.cuda.is_available():
        return
    assert script.main([str(out), "topk", "0", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert NO_CUDA in err and err.count("\n") == 1
    # a record made on a GPU: reproduced on its device unless --device says otherwise
    record_path = next((out / "units" / "topk" / "fold00").glob("final-c*-r0.json"))
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "device": "cuda:0"}))
    assert script.main([str(out), "topk", "0"]) == 2
    assert NO_CUDA in capsys.readouterr().err
    assert script.main([str(out), "topk", "0", "--device", "cpu"]) == 0
    assert "recorded on cuda:0, reproduced on cpu" in capsys.readouterr().out
