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
from hipool.train.settings import TrainSettings
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
    cfg = ModelConfig(
        conv="gin", hidden=8, pool=["sag", "topk"], schedule="5→2", readout="attention", combine="concat", head=[4]
    )
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


# plateau: the holdout's labels are flipped, so its loss rises as the model learns and the lr drops at
# after epochs 4 and 7; at the cut after epoch 3 the state file holds the scheduler's 2 bad epochs so far
SCHEDULES = {
    "none": None,
    "plateau": dict(lr_schedule="plateau", lr_patience=2, grad_clip=0.5),
    "step": dict(lr_schedule="step", lr_step=2, lr_factor=0.5, min_lr=0.004),
}


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_fit_resumes_from_its_state_file_exactly(tmp_path, schedule):
    data = toy_dataset()
    val = [g.clone() for g in data[40:]]
    if schedule == "plateau":
        for g in val:
            g.y = 1 - g.y

    def run(epochs, state):
        torch.manual_seed(0)
        model = build_model(ModelConfig(hidden=8, schedule=[0.5], dropout=0.2), 4, 2)
        train = DataLoader(data[:40], batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(1))
        if SCHEDULES[schedule] is None:  # the keyword form of fit
            result = fit(
                model, train, DataLoader(val, batch_size=20), epochs=epochs, lr=0.01, progress=False, state_path=state
            )
        else:
            settings = TrainSettings(epochs=epochs, lr=0.01, patience=None, **SCHEDULES[schedule])
            result = fit(model, train, DataLoader(val, batch_size=20), settings, progress=False, state_path=state)
        return model, result

    whole, whole_result = run(8, None)
    run(3, tmp_path / "state.pt")  # "killed" after epoch 3: its state file stays
    resumed, result = run(8, tmp_path / "state.pt")
    assert result.resumed_at == 3 and [m.epoch for m in result.history] == list(range(1, 9))
    lrs = [m.lr for m in whole_result.history]
    expected = {
        "none": [0.01] * 8,
        "plateau": [0.01] * 4 + [0.005] * 3 + [0.0025],
        "step": [0.01, 0.01, 0.005, 0.005, 0.004, 0.004, 0.004, 0.004],
    }[schedule]
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert [m.lr for m in result.history] == lrs
    assert [m.train_loss for m in result.history] == [m.train_loss for m in whole_result.history]
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))
    torch.save({"format": "other"}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="bad.pt: not a hipool training state"):
        run(2, tmp_path / "bad.pt")


class Constant(torch.nn.Module):
    """Logits that no parameter changes: the validation loss is log 2 every epoch (a plateau).
    Its ``aux_loss`` takes the batch, and records what it was given."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.aux_calls = []

    def forward(self, data, return_hierarchy=False):
        logits = torch.zeros(data.num_graphs, 2) + 0 * self.w
        return (logits, None) if return_hierarchy else logits

    def aux_loss(self, hierarchy, data=None):
        self.aux_calls.append(data)
        return None


@pytest.mark.parametrize(
    "options, expected",
    [
        (dict(), [0.1] * 7),
        (dict(lr_schedule="plateau", lr_patience=1), [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]),
        (dict(lr_schedule="plateau", lr_patience=1, lr_factor=0.1, min_lr=0.005), [0.1] * 3 + [0.01] * 2 + [0.005] * 2),
        (dict(lr_schedule="step", lr_step=2), [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]),
        (dict(lr_schedule="step", lr_step=3, lr_factor=0.2, min_lr=0.01), [0.1] * 3 + [0.02] * 3 + [0.01]),
    ],
)
def test_lr_schedule_lowers_the_lr_of_later_epochs(tmp_path, options, expected):
    data = toy_dataset(8)
    model = Constant()
    result = fit(
        model,
        DataLoader(data, batch_size=4),
        DataLoader(data, batch_size=8),
        TrainSettings(epochs=7, lr=0.1, patience=None, **options),
        progress=False,
        metrics_path=tmp_path / "m.csv",
    )
    rows = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert [float(r["lr"]) for r in rows] == pytest.approx(expected, rel=1e-12)
    assert [m.lr for m in result.history] == pytest.approx(expected, rel=1e-12)
    # the auxiliary-loss hook gets the batch, in training and in validation
    assert len(model.aux_calls) == 7 * 3 and all(d is not None and d.num_graphs in (4, 8) for d in model.aux_calls)


def _grad_norms(model, data, **settings):
    """The global gradient norm that every optimizer step of ``fit`` saw."""
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    norms = []

    def hook(optimizer, args, kwargs):
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))

    handle = register_optimizer_step_pre_hook(hook)
    try:
        fit(
            model,
            DataLoader(data[:20], batch_size=5),
            DataLoader(data[20:], batch_size=10),
            TrainSettings(epochs=2, lr=0.01, **settings),
            progress=False,
        )
    finally:
        handle.remove()
    return norms


def test_grad_clip_bounds_the_gradient_norm():
    data = toy_dataset(30)
    for g in data:
        g.x = g.x * 1e3  # huge inputs: huge gradients
    torch.manual_seed(0)
    free = _grad_norms(build_model(ModelConfig(hidden=8, schedule=[0.5]), 4, 2), data)
    torch.manual_seed(0)
    clipped = _grad_norms(build_model(ModelConfig(hidden=8, schedule=[0.5]), 4, 2), data, grad_clip=0.5)
    assert len(free) == len(clipped) == 8
    assert min(free) > 5.0  # without clipping every step is far above the bound
    assert max(clipped) <= 0.5 * (1 + 1e-5) and max(clipped) > 0.49


def test_fit_takes_settings_or_keywords_not_both():
    data = toy_dataset(8)
    loader = DataLoader(data, batch_size=4)
    with pytest.raises(TypeError, match="fit: give 'settings' or the keywords epochs, lr, not both"):
        fit(Constant(), loader, loader, TrainSettings(), epochs=3, lr=0.1)
    with pytest.raises(TypeError, match="fit: give 'settings' or 'epochs'"):
        fit(Constant(), loader, loader)


def test_state_without_a_schedule_resumes_only_a_run_without_one(tmp_path):
    data = toy_dataset(8)
    loader = DataLoader(data, batch_size=4)
    state = tmp_path / "state.pt"
    fit(Constant(), loader, loader, TrainSettings(epochs=2, lr=0.1), progress=False, state_path=state)
    old = torch.load(state, weights_only=True)  # as written before schedules existed: no scheduler, no lr column
    del old["lr_schedule"], old["scheduler"]
    for row in old["history"]:
        del row["lr"]
    torch.save(old, state)
    result = fit(Constant(), loader, loader, TrainSettings(epochs=3, lr=0.1), progress=False, state_path=state)
    assert result.resumed_at == 2 and [m.lr for m in result.history] == [0.1] * 3
    with pytest.raises(
        ValueError,
        match=r"state.pt: was written with lr_schedule 'none', this run has 'plateau'; "
        r"delete it to start this run over",
    ):
        fit(
            Constant(),
            loader,
            loader,
            TrainSettings(epochs=4, lr=0.1, lr_schedule="plateau"),
            progress=False,
            state_path=state,
        )


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
