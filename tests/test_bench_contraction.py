"""benchmarks/contraction.py's sanity line and goals: exact poolers must match PyG's pooled node
and edge counts; the pruned ASAP (asap-topk) only its node count, and its goal is reported."""

from __future__ import annotations

from tests.conftest import load_bench


def _row(pooler, impl, nodes, edges, time_ms=10.0, out_sum=1.0):
    return {
        "status": "ok",
        "pooler": pooler,
        "n": 10_000,
        "impl": impl,
        "out_nodes": nodes,
        "out_edges": edges,
        "out_sum": out_sum,
        "time_ms": time_ms,
        "peak_MB": 10.0,
        "repeats": 5,
    }


def test_sanity_checks_edge_counts_of_exact_poolers_only(monkeypatch):
    bench = load_bench(monkeypatch, "contraction")
    rows = [
        _row("asap", "hipool", 5000, 1_373_198),
        _row("asap", "pyg", 5000, 1_373_198),
        _row("asap-topk", "hipool", 5000, 79_984),
        _row("asap-topk", "pyg", 5000, 1_373_198),
    ]
    assert bench.sanity(rows) == ([], 0.0)
    rows[0]["out_edges"] = 1_373_197
    mismatches, _ = bench.sanity(rows)
    assert mismatches == ["asap N=10000: hipool 1373197 vs PyG 1373198 edges"]
    rows[2]["out_nodes"] = 4999
    assert len(bench.sanity(rows)[0]) == 2  # the pruned one's node count still counts


def test_goals_report_exact_and_pruned_asap(monkeypatch):
    bench = load_bench(monkeypatch, "contraction")
    import _bench

    rows = [
        _row("asap", "hipool", 5000, 1, time_ms=60.0),
        _row("asap", "pyg", 5000, 1, time_ms=180.0),
        _row("asap-topk", "hipool", 5000, 1, time_ms=30.0),
        _row("asap-topk", "pyg", 5000, 1, time_ms=180.0),
    ]
    _bench.add_ratios(rows, "pyg")
    goals = {g["pooler"]: g for g in bench.check_goals(rows, ["asap", "asap-topk"])}
    assert goals["asap"]["met"] is False and "3.0x" in goals["asap"]["detail"]
    assert goals["asap-topk"]["met"] is True and "6.0x" in goals["asap-topk"]["detail"]
    cells = bench.table_rows(rows)
    assert cells[2][-3:] == ["", 5000, 1]  # rounds, out_nodes, out_edges
