"""Clustering poolers inside models: configs, schedules in cluster counts, weighted losses, training."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch_geometric.loader import DataLoader

from hipool import ModelConfig
from hipool.nn import HierarchicalGNN, build_model
from hipool.train.checkpoint import load_checkpoint, save_checkpoint
from hipool.train.loop import fit, run_epoch
from tests.conftest import random_batch, random_graph


def _dataset(n=24, channels=6):
    out = []
    for i in range(n):
        g = random_graph(12 + (i % 5) * 4, channels, seed=i)
        g.y = torch.tensor([i % 2])
        out.append(g)
    return out


@pytest.mark.parametrize("pool", ["diffpool", "mincut", "dmon"])
def test_schedule_in_cluster_counts_builds_the_hierarchy(pool):
    model = build_model(ModelConfig(pool=pool, schedule="10→4→1", hidden=8), 6, 3)
    batch = random_batch([30, 8, 15], channels=6)
    logits, h = model(batch, return_hierarchy=True)
    assert logits.shape == (3, 3)
    assert [h.sizes(level).tolist() for level in (1, 2, 3)] == [[10, 8, 10], [4, 4, 4], [1, 1, 1]]
    assert all(r.mode == "dense" for r in h.records)
    assert set(h.aux_losses()) == {f"level{level}/{name}" for level in (1, 2, 3) for name in model.pools[0].LOSSES}
    # every input node reaches the single top node of its graph
    assert torch.equal(h.cluster(3), batch.batch)


def test_mixed_poolers_and_per_pooler_options():
    cfg = ModelConfig(
        pool=["diffpool", "topk", "mincut"],
        schedule="20→10→3",
        hidden=8,
        pool_options={"diffpool": {"assign": "sage", "mode": "sparse"}, "topk": {"min_score": None}},
    )
    model = build_model(cfg, 6, 2)
    assert model.pools[0].assign.kind == "sage" and model.pools[0].mode == "sparse"
    assert model.pools[2].assign.kind == "linear"
    _, h = model(random_batch([40, 25], channels=6), return_hierarchy=True)
    assert [h.sizes(level).tolist() for level in (1, 2, 3)] == [[20, 20], [10, 10], [3, 3]]
    assert [r.mode for r in h.records] == ["sparse", None, "dense"]
    # the selection level carried the pooled graph's weights to the next conv
    assert h[2].edge_weight is not None and h[2].edge_weight.numel() == h[2].edge_index.size(1)


def test_weighted_pooled_graph_reaches_the_next_conv():
    """Changing the pooled edge weights changes the logits: the conv after the pool reads them."""
    cfg = ModelConfig(pool="mincut", schedule=[5, 2], conv="gcn", hidden=8)
    model = build_model(cfg, 6, 2)
    batch = random_batch([20], channels=6)
    ref = model(batch)
    pool = model.pools[0]
    original = pool.forward

    def halve(*args, **kwargs):
        out = original(*args, **kwargs)
        out.edge_weight = out.edge_weight * torch.linspace(0.1, 1.0, out.edge_weight.numel())
        return out

    pool.forward = halve
    assert not torch.allclose(model(batch), ref)


def test_config_errors_for_clustering():
    with pytest.raises(
        ValueError,
        match=r"'schedule\[0\]' is 0.5, but diffpool at level 1 needs an absolute "
        r"cluster count",
    ):
        ModelConfig(pool="diffpool", schedule=[0.5])
    with pytest.raises(ValueError, match="mixes per-pooler sections"):
        ModelConfig(pool="diffpool", schedule=[4], pool_options={"diffpool": {}, "assign": "gcn"})
    with pytest.raises(ValueError, match="has a section for 'mincut', which no level uses"):
        ModelConfig(pool="diffpool", schedule=[4], pool_options={"mincut": {}})
    with pytest.raises(
        ValueError,
        match=r"'aux_weights' key 'ortho' is not a loss of the configured poolers; "
        r"known: entropy, link",
    ):
        ModelConfig(pool="diffpool", schedule=[4], aux_weights={"ortho": 1.0})
    with pytest.raises(ValueError, match=r"key 'level2/link' names no loss: level 2 \(topk\) has losses \[\]"):
        ModelConfig(pool=["diffpool", "topk"], schedule=[4, 2], aux_weights={"level2/link": 1.0})
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="'aux_weights.link' must be a finite number >= 0"):
            ModelConfig(pool="diffpool", schedule=[4], aux_weights={"link": bad})
    # pool_options are checked when the config is made (the poolers built on the meta device)
    with pytest.raises(ValueError, match=r"'pool_options' \['temp'\] do not apply to diffpool"):
        ModelConfig(pool="diffpool", schedule=[4], pool_options={"temp": 2.0})
    with pytest.raises(ValueError, match=r"\(diffpool, level 1\): DiffPool: 'mode' must be one of"):
        ModelConfig(pool="diffpool", schedule=[4], pool_options={"mode": "fast"})


def test_conv_that_ignores_weights_is_warned_about():
    with pytest.warns(UserWarning, match="conv 'sage' ignores edge weights"):
        build_model(ModelConfig(pool="mincut", conv="sage", schedule=[4, 2]), 6, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_model(ModelConfig(pool="mincut", conv="gcn", schedule=[4, 2]), 6, 2)
        build_model(ModelConfig(pool="mincut", conv="sage", schedule=[4]), 6, 2)  # no conv after it


def test_config_round_trips_through_yaml(tmp_path):
    cfg = ModelConfig(
        pool=["dmon", "sag"],
        schedule="16→4",
        pool_options={"dmon": {"dropout": 0.1}},
        aux_weights={"cluster": 0.5, "level1/spectral": 2.0},
    )
    path = tmp_path / "m.yaml"
    cfg.to_yaml(path)
    assert ModelConfig.from_yaml(path) == cfg


def test_training_loss_adds_weighted_aux_losses():
    data = _dataset()
    cfg = ModelConfig(
        pool=["diffpool", "mincut"],
        schedule=[6, 2],
        hidden=8,
        aux_weights={"entropy": 0.0, "level2/ortho": 3.0, "mincut": 0.5},
    )
    torch.manual_seed(0)
    model = build_model(cfg, 6, 2).eval()
    batch = next(iter(DataLoader(data, batch_size=len(data))))
    logits, h = model(batch, return_hierarchy=True)
    aux = h.aux_losses()
    expected_aux = aux["level1/link"] + 0.5 * aux["level2/mincut"] + 3.0 * aux["level2/ortho"]
    torch.testing.assert_close(model.aux_loss(h), expected_aux)
    ce = torch.nn.functional.cross_entropy(logits, batch.y)
    loader = DataLoader(data, batch_size=len(data))
    loss, _ = run_epoch(model, loader)
    assert loss == pytest.approx(float(ce + expected_aux), rel=1e-6)
    loss2, _ = run_epoch(model, loader, aux_weight=2.0)
    assert loss2 == pytest.approx(float(ce + 2 * expected_aux), rel=1e-6)
    assert run_epoch(model, loader, aux_weight=0.0)[0] == pytest.approx(float(ce), rel=1e-6)


@pytest.mark.parametrize("pool", ["diffpool", "mincut", "dmon"])
def test_clustering_model_trains_and_checkpoints(pool, tmp_path):
    data = _dataset(32)
    torch.manual_seed(0)
    model = build_model(ModelConfig(pool=pool, schedule=[6, 2], hidden=16), 6, 2)
    before = [p.detach().clone() for p in model.parameters()]
    result = fit(
        model,
        DataLoader(data[:24], batch_size=8, shuffle=True),
        DataLoader(data[24:], batch_size=8),
        epochs=3,
        lr=0.01,
        progress=False,
    )
    assert len(result.history) == 3
    assert all(torch.isfinite(torch.tensor([m.train_loss for m in result.history])))
    changed = [not torch.equal(a, b) for a, b in zip(before, model.parameters())]
    assert all(changed), "every parameter (assignment networks included) should train"
    save_checkpoint(tmp_path / "c.pt", model, {})
    again = load_checkpoint(tmp_path / "c.pt")
    assert isinstance(again, HierarchicalGNN)
    batch = next(iter(DataLoader(data, batch_size=8)))
    torch.testing.assert_close(again.eval()(batch), model.eval()(batch))
