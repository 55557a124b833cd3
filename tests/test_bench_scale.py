"""benchmarks/scale.py: a ``--quick`` smoke run (two poolers on a synthetic circuit of ~3k nodes,
one step each: about 20 s on a loaded 2-core machine), and its parts in-process: the options,
the goal check of measured, slow, too large and failed cells, the channels of a circuit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from tests.conftest import load_bench

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "scale.py"


def _script(monkeypatch):
    return load_bench(monkeypatch, "scale")


def test_quick_run_prints_nodes_per_level_and_the_goal(tmp_path):
    out = tmp_path / "scale.json"
    args = ["--quick", "--graph", "synthetic", "--pooler", "edgepool", "given", "--timeout-s", "120"]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # a guard: two workers importing torch, one training step each
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    rows = {line.split()[1]: line for line in lines if line.startswith("synthetic ")}
    assert set(rows) == {"edgepool", "given"}
    results = {r["pooler"]: r for r in json.loads(out.read_text())["results"]}
    for pooler, r in results.items():
        assert r["status"] == "ok" and r["s_step"] > 0 and r["peak_GB"] > 0, r
        assert len(r["nodes"]) == 4 and r["nodes"][0] > 2000  # the input and 3 pooled levels
        assert r["nodes"] == sorted(r["nodes"], reverse=True)
        assert " → ".join(f"{n:,}" for n in r["nodes"]) in rows[pooler]
        assert r["goal_met"] is True and rows[pooler].endswith("yes")  # a few thousand nodes: fast, small
        assert f"- synthetic {pooler}: met (" in proc.stdout
    assert results["edgepool"]["schedule"] == ["0.5"] * 3 and results["given"]["schedule"] == ["given"] * 3
    assert "channels from the interface nets" in results["given"]["hierarchy"]
    assert "Goal (issue 24): < 10 s per step and < 4 GB for every pooler on 2 CPU cores" in lines
    assert "- every cell meets the goal" in lines
    assert "load average (1/5/15 min) before" in proc.stdout


def test_goal_says_why_a_cell_misses_it(monkeypatch):
    script = _script(monkeypatch)
    args = script.parse_args([])
    assert args.pooler == list(script.POOLERS) + ["global"] and args.threads == 2 and args.clusters == [256, 64, 16]
    ok = {"graph": "hyp", "pooler": "mincut", "status": "ok", "s_step": 3.0, "peak_GB": 1.5}
    assert script.goal(ok, args)[0] is True
    assert script.goal({**ok, "s_step": 12.5}, args) == (False, "12.5 s per step >= 10 s")
    assert script.goal({**ok, "peak_GB": 4.2}, args) == (False, "peak 4.20 GB >= 4 GB")
    failed = {"graph": "hyp", "pooler": "kmis", "status": "failed", "note": "time-out after 300 s (loading the graph)"}
    assert script.goal(failed, args) == (False, failed["note"])
    assert script.goal({**ok, "pooler": "global"}, args)[0] is None  # the reference is not judged
    assert script.goal({**failed, "pooler": "global"}, args) == (None, f"reference, no pooling: {failed['note']}")
    assert script.goal(ok, script.parse_args(["--threads", "4"]))[0] is None  # not the goal's machine
    row = script.table_rows([failed], args)[0]
    assert row[2] == failed["note"] and row[-1] == "NO"
    quick = script.parse_args(["--quick", "--pooler", "dmon", "dmon"])
    assert (quick.aig, quick.components, quick.clusters, quick.repeats) == ("bar.aig", 2000, [64, 16, 4], 1)
    assert quick.pooler == ["dmon"]


def test_a_missing_hyp_is_skipped_without_a_worker(monkeypatch, tmp_path):
    script = _script(monkeypatch)
    args = script.parse_args(["--circuits", str(tmp_path)])
    monkeypatch.setattr(script.subprocess, "run", None)  # a started worker would fail here
    row = script.measure(args, "hyp", "edgepool")
    assert row["status"] == "skipped" and "no epfl/arithmetic/hyp.aig" in row["note"]


def test_channels_join_whole_subsystems(monkeypatch):
    script = _script(monkeypatch)
    from hipool.data.circuits import make_circuit

    data = make_circuit(3, min_components=400, max_components=500).data
    channel = script.channel_labels(data)
    sub = data.level_labels[:, 1]
    assert torch.equal(channel < 0, sub < 0)
    pairs = torch.stack([sub, channel], 1)[sub >= 0].unique(dim=0)
    assert pairs[:, 0].unique().numel() == pairs.size(0)  # one channel per subsystem: nested
    assert 2 <= int(channel.max()) + 1 < int(sub.max()) + 1  # the power subsystem and at least one chain
    cfg = script.model_config("given", [4, 2, 1])
    assert cfg.levels == 3 and cfg.pool == "given"
    assert script.model_config("mincut", [8, 4, 2]).pool_options == {"mode": "sparse"}
    assert script.model_config("global", [8, 4, 2]).levels == 3


def test_sigterm_still_prints_the_table():
    """gpu.sh stops a run at its limit with SIGTERM: the cells not measured say so, and the
    table and the goal lines are printed."""
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--quick", "--graph", "synthetic", "--pooler", "given", "global"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)  # inside the first cell's worker
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert "skipped (interrupted)" in out, err[-2000:]
    assert "Goal (issue 24)" in out and "wall time" in out
