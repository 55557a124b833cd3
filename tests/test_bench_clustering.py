"""benchmarks/clustering.py's sanity line: hipool's two modes must agree on every auxiliary loss;
PyG's are compared only where hipool defines them as PyG does (not DiffPool's, normalised)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import load_bench

ROOT = Path(__file__).resolve().parents[1]


def _script(monkeypatch):
    return load_bench(monkeypatch, "clustering")


def _row(pooler, impl, losses):
    return {"status": "ok", "pooler": pooler, "n": 1000, "impl": impl, "aux_losses": losses}


def test_loss_spread_leaves_out_pygs_diffpool_losses_only(monkeypatch):
    bench = _script(monkeypatch)
    rows = [
        _row("diffpool", "hipool-sparse", [0.997, 0.9695]),
        _row("diffpool", "hipool-dense", [0.996, 0.9695]),
        _row("diffpool", "pyg-dense", [8.9e-5, 5.376]),  # unnormalised: not comparable
        _row("dmon", "hipool-sparse", [-1e-6, 1.35, 0.0028]),
        _row("dmon", "hipool-dense", [-1e-6, 1.35, 0.0028]),
        _row("dmon", "pyg-dense", [-1e-6, 1.25, 0.0028]),
    ]
    assert abs(bench.loss_spread(rows, False) - 0.001) < 1e-9
    assert abs(bench.loss_spread(rows, True) - 0.1) < 1e-9
    rows.append({**_row("dmon", "hipool-dense", [0.0, 0.0, 0.0]), "status": "failed"})
    assert abs(bench.loss_spread(rows, True) - 0.1) < 1e-9


def test_tensor_peak_counts_what_is_alive_together(monkeypatch):
    """``_bench.tensor_peak_bytes``: the most bytes alive at once during the call, over what was
    alive before it; frees of tensors from before the call do not lower it below 0."""
    import torch

    _script(monkeypatch)
    import _bench

    before = torch.empty(250_000)  # 1 MB, alive before and freed inside

    def step():
        nonlocal before
        before = None
        a = torch.empty(500_000)  # 2 MB
        b = torch.empty(1_000_000)  # 4 MB, with a: 6 MB
        del a
        c = torch.empty(750_000)  # 3 MB, with b: 7 MB
        del b, c

    assert _bench.tensor_peak_bytes(step) == 7_000_000
    assert _bench.tensor_peak_bytes(lambda: None) == 0


def test_tensor_ratio_and_its_columns(monkeypatch):
    bench = _script(monkeypatch)
    import _bench

    rows = [
        {
            **_row("dmon", "hipool-sparse", []),
            "n": 10_000,
            "time_ms": 80.0,
            "peak_MB": 55.0,
            "tensor_MB": 25.0,
            "repeats": 3,
        },
        {
            **_row("dmon", "pyg-dense", []),
            "n": 10_000,
            "time_ms": 800.0,
            "peak_MB": 550.0,
            "tensor_MB": 500.0,
            "repeats": 3,
        },
        {**_row("mincut", "hipool-sparse", []), "time_ms": 80.0, "peak_MB": 55.0, "repeats": 3},
        {**_row("mincut", "pyg-dense", []), "time_ms": 800.0, "peak_MB": 550.0, "tensor_MB": 500.0, "repeats": 3},
    ]
    _bench.add_ratios(rows, "pyg-dense")
    assert rows[0]["tensor_ratio"] == 0.05 and rows[0]["mem_ratio"] == 0.1
    assert "tensor_ratio" not in rows[2]  # measured on one side only: no ratio
    cells = bench.table_rows(rows)
    assert cells[0][-2:] == ["25.0", "0.0500"] and cells[2][-2:] == ["", ""]
    goal = bench.check_goals(rows, ["dmon"])[0]
    assert goal["met"] is True and "tensor_ratio 0.0500" in goal["detail"]
