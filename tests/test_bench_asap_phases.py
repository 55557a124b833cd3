"""benchmarks/asap_phases.py: its clocks wrap hipool's functions and put them back, and a tiny
run gives both rows per size with phases that fit in the step."""

from __future__ import annotations

import time

import pytest
import torch

from tests.conftest import load_bench


def test_clocked_sums_calls_and_restores(monkeypatch):
    bench = load_bench(monkeypatch, "asap_phases")

    class Module:
        @staticmethod
        def slow(t):
            time.sleep(t)
            return t

        @staticmethod
        def fails():
            raise ValueError("inside")

    original = Module.slow
    with bench.clocked(Module, ("slow", "fails")) as seconds:
        assert Module.slow(0.01) == 0.01 and Module.slow(0.02) == 0.02
        with pytest.raises(ValueError, match="inside"):
            Module.fails()
    assert 0.03 <= seconds["slow"] < 1.0 and seconds["fails"] >= 0.0
    assert Module.slow is original  # restored

    with pytest.raises(KeyError):  # restored after an error in the body too
        with bench.clocked(Module, ("slow",)):
            raise KeyError("body")
    assert Module.slow is original


def test_tiny_run_gives_both_rows_per_size(monkeypatch, capsys):
    bench = load_bench(monkeypatch, "asap_phases")
    import hipool.nn.asap as asap

    product, coarsen = asap._triple_product, asap._coarsen_csr
    threads = torch.get_num_threads()
    try:
        rows = bench.main(["--sizes", "200", "400", "--repeats", "2", "--features", "8", "--threads", "1"])
    finally:
        torch.set_num_threads(threads)  # main sets it for the process
    assert asap._triple_product is product and asap._coarsen_csr is coarsen
    assert [(r["n"], r["mode"]) for r in rows] == [
        (200, "alone"),
        (200, "after PyG"),
        (400, "alone"),
        (400, "after PyG"),
    ]
    for r in rows:
        assert r["pooled_edges"] > 0
        assert r["budget"] == pytest.approx(r["pyg"] / bench.GOAL)
        assert all(r[p] >= 0 for p in bench.PHASES)
        # each step's phases add up to it; the median of two is their mean, so the medians add up too
        assert sum(r[p] for p in bench.PHASES) == pytest.approx(r["hipool"], rel=1e-9)
        assert r["hipool faults"] >= 0 and r["pyg faults"] >= 0
    out = capsys.readouterr().out
    assert "5x budget" in out and "after PyG" in out and "N=400" in out


def test_bad_arguments_name_the_option(monkeypatch, capsys):
    bench = load_bench(monkeypatch, "asap_phases")
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeats", "0"])
    assert "--repeats must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse_args(["--ratio", "1.5"])
    assert "--ratio must be in (0, 1]" in capsys.readouterr().err
