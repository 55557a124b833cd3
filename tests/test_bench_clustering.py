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
