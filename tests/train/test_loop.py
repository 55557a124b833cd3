"""Training loop, checkpoints, splits, atomic writes."""
import csv

import pytest
import torch
from torch_geometric.loader import DataLoader

from hipool import ModelConfig
from hipool.data.splits import stratified_split
from hipool.io import atomic_path, atomic_write_text
from hipool.nn import build_model
from hipool.train.checkpoint import load_checkpoint, save_checkpoint
from hipool.train.loop import fit, run_epoch
from tests.conftest import random_graph


def toy_dataset(n=60):
    """Class = whether the graph's features are shifted: learnable in a few epochs."""
    graphs = []
    for i in range(n):
        g = random_graph(8 + i % 7, channels=4, seed=i)
        y = i % 2
        g.x = g.x + 2.0 * y
        g.y = torch.tensor([y])
        graphs.append(g)
    return graphs


def test_fit_learns_writes_metrics_and_keeps_best(tmp_path):
    data = toy_dataset()
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, schedule=[0.5]), 4, 2)
    train = DataLoader(data[:40], batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))
    val = DataLoader(data[40:], batch_size=20)
    before, _ = run_epoch(model, val)
    result = fit(model, train, val, epochs=8, lr=0.01, progress=False, metrics_path=tmp_path / "m.csv")
    rows = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert len(rows) == len(result.history) == 8
    assert [int(r["epoch"]) for r in rows] == list(range(1, 9))
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert result.best_val_acc >= 0.9
    # the model holds the best epoch's weights
    loss, acc = run_epoch(model, val)
    assert acc == result.best_val_acc and loss < before
    assert result.seconds_per_epoch > 0


def test_fit_early_stopping():
    data = toy_dataset(20)
    model = build_model(ModelConfig(hidden=4, schedule=[0.5]), 4, 2)
    loader = DataLoader(data, batch_size=10)
    result = fit(model, loader, loader, epochs=50, lr=0.0, patience=3, progress=False)
    assert len(result.history) == 4 and result.best_epoch == 1  # lr 0: never improves after epoch 1
    with pytest.raises(ValueError, match="'epochs' must be >= 1"):
        fit(model, loader, loader, epochs=0)


def test_checkpoint_round_trip_weights_only(tmp_path):
    cfg = ModelConfig(conv="gin", hidden=8, pool=["sag", "topk"], schedule="5→2", readout="attention",
                      combine="concat", head=[4])
    torch.manual_seed(0)
    model = build_model(cfg, 4, 3).eval()
    path = save_checkpoint(tmp_path / "ck" / "model.pt", model, extra={"epoch": 3})
    payload = torch.load(path, weights_only=True)  # safe loading works
    assert payload["config"]["pool"] == ["sag", "topk"] and payload["extra"] == {"epoch": 3}
    again = load_checkpoint(path).eval()
    g = random_graph(12, channels=4)
    torch.testing.assert_close(again(g.x, g.edge_index), model(g.x, g.edge_index))
    assert list(tmp_path.joinpath("ck").iterdir()) == [path]  # no temporary files left
    with pytest.raises(ValueError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a hipool checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_stratified_split():
    labels = [0] * 50 + [1] * 30 + [2] * 20
    parts = stratified_split(labels, [0.7, 0.15, 0.15], seed=1)
    assert sorted(sum(parts, [])) == list(range(100))
    counts = [[sum(labels[i] == c for i in p) for c in range(3)] for p in parts]
    for part, frac in zip(counts, [0.7, 0.15, 0.15]):  # each class within one of its exact share
        assert all(abs(c - frac * size) <= 1 for c, size in zip(part, [50, 30, 20]))
    assert counts[0] == [35, 21, 14]
    assert parts == stratified_split(labels, [0.7, 0.15, 0.15], seed=1)
    assert parts != stratified_split(labels, [0.7, 0.15, 0.15], seed=2)
    with pytest.raises(ValueError, match="must be non-negative and sum to 1"):
        stratified_split(labels, [0.5, 0.2])


def test_fit_resumes_from_its_state_file_exactly(tmp_path):
    data = toy_dataset()

    def run(epochs, state):
        torch.manual_seed(0)
        model = build_model(ModelConfig(hidden=8, schedule=[0.5], dropout=0.2), 4, 2)
        train = DataLoader(data[:40], batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(1))
        result = fit(model, train, DataLoader(data[40:], batch_size=20), epochs=epochs, lr=0.01,
                     progress=False, state_path=state)
        return model, result

    whole, whole_result = run(6, None)
    run(3, tmp_path / "state.pt")           # "killed" after epoch 3: its state file stays
    resumed, result = run(6, tmp_path / "state.pt")
    assert result.resumed_at == 3 and [m.epoch for m in result.history] == [1, 2, 3, 4, 5, 6]
    assert [m.train_loss for m in result.history] == [m.train_loss for m in whole_result.history]
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))
    torch.save({"format": "other"}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="bad.pt: not a hipool training state"):
        run(2, tmp_path / "bad.pt")


def test_peak_memory_sees_a_large_allocation():
    from hipool.train.measure import PeakMemory
    with PeakMemory("cpu") as m:
        big = torch.ones(25_000_000)  # 100 MB, written, then freed
        del big
    if m.method == "hwm":  # the kernel's exact high-water mark (Linux)
        assert 95 <= m.peak_mb <= 140
    else:  # sampled or ru_maxrss: a lower bound only
        assert 0 <= m.peak_mb <= 400
    with PeakMemory("cpu") as small:
        torch.ones(1000).sum()
    assert small.peak_mb < 50
