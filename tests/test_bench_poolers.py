"""benchmarks/poolers.py: a smoke run (three poolers, 200 nodes, one repeat: about 20 s on a loaded
2-core machine) and its option parsing and SKIP table (no worker started)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import load_bench

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "poolers.py"


def _script(monkeypatch):
    return load_bench(monkeypatch, "poolers")


def test_smoke_run_prints_a_row_per_pooler_and_the_tgp_line(tmp_path):
    out = tmp_path / "poolers.json"
    args = ["--sizes", "200", "--repeats", "1", "--pooler", "topk,mincut,given", "--timeout-s", "60"]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # a guard: the run takes ~20 s (four Python processes importing torch)
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    tgp_lines = [line for line in lines if line.startswith("tgp: ")]
    assert len(tgp_lines) == 1
    if importlib.util.find_spec("tgp") is None:
        assert tgp_lines[0].startswith("tgp: not installed (pip install torch_geometric_pool torch_scatter")
    assert "N = 200 nodes" in lines
    rows = {line.split()[0]: line for line in lines if line.split()[:1] in (["topk"], ["mincut"], ["given"])}
    assert set(rows) == {"topk", "mincut", "given"}
    assert "ratio 0.5" in rows["topk"] and "C=100" in rows["mincut"] and "groups of 4" in rows["given"]
    assert "—" in rows["given"]  # no tgp counterpart
    assert "load average" in proc.stdout and "torch " in proc.stdout
    results = json.loads(out.read_text())["results"]
    hipool = {r["pooler"]: r for r in results if r["impl"] == "hipool"}
    assert set(hipool) == {"topk", "mincut", "given"}
    assert all(r["status"] == "ok" and r["time_ms"] > 0 for r in hipool.values()), hipool
    assert len(hipool["mincut"]["aux_losses"]) == 2  # mincut and ortho went into the backward pass


def test_options_take_comma_lists_and_the_skip_table_starts_no_worker(monkeypatch):
    script = _script(monkeypatch)
    _, args = script.parse_args(["--sizes", "1000,10_000", "--pooler", "topk,sep"])
    assert args.sizes == [1000, 10000] and args.pooler == "topk,sep" and args.threads == 1
    _, args = script.parse_args(["--sizes", "100000"])
    assert args.pooler == "all" and args.timeout_s == 600 and args.clusters == 256
    monkeypatch.setattr(script.subprocess, "Popen", None)  # a started worker would fail here
    for impl in ("hipool", "tgp"):
        row = script.measure(args, "sep", 100_000, impl, cap_bytes=10**9)
        assert row["status"] == "skipped" and row["reason"].endswith(script.SKIP[(impl, "sep")][1])
    spec = {"entry": "count", "fixed_entry": None, "options": ["mode", "assign", "temp"]}
    assert script.settings(spec, 1000, args) == (256, {"mode": "sparse", "assign": "linear"})
    assert script.settings(spec, 200, args)[0] == 100  # at most N // 2 clusters
    assert script.settings({"entry": "order", "fixed_entry": None, "options": []}, 1000, args) == (1, {})
    assert script.settings({"entry": "pairs", "fixed_entry": 0.5, "options": []}, 1000, args) == (0.5, {})
    # tgp's LaPooling and BNPool semantics; NMF at its defaults (its sparse path above 500 nodes)
    lap = {"entry": "natural", "fixed_entry": "natural", "options": ["attention", "distance_weight", "hops"]}
    assert script.settings(lap, 1000, args, "lapool") == ("natural", {"distance_weight": False, "attention": "softmax"})
    nmf = {"entry": "count", "fixed_entry": None, "options": ["dense_max_nodes", "max_iter"]}
    assert script.settings(nmf, 10_000, args, "nmf") == (256, {})
    bn = {"entry": "count", "fixed_entry": None, "options": ["dense_limit", "recon"]}
    assert script.settings(bn, 10_000, args, "bnpool") == (256, {"recon": "sampled"})  # tgp's sparse loss
    assert script.settings(bn, 10_000, args, "ndp") == (256, {})  # ndp's dense_limit is no guard


def test_the_goal_against_a_peer_killed_for_time_uses_bounds(monkeypatch):
    script = _script(monkeypatch)
    registry = {"nmf": {"class": "NMFPool"}}
    ours = {
        "pooler": "nmf",
        "n": script.GOAL_N,
        "impl": "hipool",
        "status": "ok",
        "time_ms": 13_000.0,
        "peak_MB": 300.0,
    }
    peer = {"pooler": "nmf", "n": script.GOAL_N, "impl": "tgp", "status": "timeout", "note": "timeout"}
    cases = [
        ({"timeout_s": 300.0, "peak_seen_MB": 1200.0}, True, "time > 23.1x", "memory <= 0.25"),
        ({"timeout_s": 300.0, "peak_seen_MB": 200.0}, False, "time > 23.1x", "memory <= 1.50"),
        ({"timeout_s": 10.0, "peak_seen_MB": 1200.0}, False, "time > 0.8x", "memory <= 0.25"),
        ({"timeout_s": 300.0}, None, "time > 23.1x", "memory not decided"),
    ]
    for extra, met, time_part, memory_part in cases:
        (goal,) = script.check_goal([ours, {**peer, **extra}], ["nmf"], registry, tgp_ok=True)
        assert goal["met"] is met
        assert time_part in goal["detail"] and memory_part in goal["detail"]
    # the other way round (hipool killed, tgp finished) is not measured, as before
    (goal,) = script.check_goal(
        [{**ours, "status": "timeout", "note": "timeout"}, {**peer, "status": "ok", "time_ms": 1.0, "peak_MB": 1.0}],
        ["nmf"],
        registry,
        tgp_ok=True,
    )
    assert goal["met"] is None and "hipool timeout" in goal["detail"]
