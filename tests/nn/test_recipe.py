"""The model options of the edge-aware recipe: convs per level, edge-aware convs, norms, residuals,
activations, the input encoder, readouts from level 0, and the localisation loss."""

import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.nn import BatchNorm, GATv2Conv, GINEConv, GraphNorm, LayerNorm

from hipool import ModelConfig
from hipool.data.base import GraphDataset
from hipool.nn import REGISTRY, build_model
from hipool.nn.models import check_model_data, localize_loss
from tests.conftest import random_batch

F, D = 6, 3


def _schedule(name):
    if name == "given":
        return "given"
    return 3 if REGISTRY[name].needs_count else REGISTRY[name].example_entry()


def test_defaults_build_the_seed_model():
    model = build_model(ModelConfig(), 5, 2)
    assert len(model.convs) == 2 and len(model.norms) == 0 and model.encoder is None
    assert model.locator is None and model.readout_names == ["level 2"]
    # the seed model's parameters keep their names (checkpoints of earlier releases load)
    assert set(k.split(".")[0] for k in model.state_dict()) == {"convs", "head", "pools"}


def test_convs_per_level_and_levels_read_all_set_the_blocks():
    cfg = ModelConfig(
        hidden=8, schedule=[0.5, 0.5], convs_per_level=3, levels_read="all", combine="concat", readout="meanmax"
    )
    model = build_model(cfg, F, 2)
    assert len(model.convs) == 9  # 3 blocks (levels + 1) of 3 convs
    assert model.readout_names == ["level 0", "level 1", "level 2"]
    assert model.head.in_features == 3 * 16  # three meanmax readouts, concatenated
    twin = build_model(cfg.global_twin(), F, 2)
    assert len(twin.convs) == 9 and twin.readout_names == ["layer 0", "layer 1", "layer 2"]
    per_level, h = model.level_readouts(random_batch([7, 9], channels=F))
    assert len(per_level) == 3 and h.num_levels == 2


def test_level_zero_readout_is_the_global_twins_first_readout():
    """With levels_read: all the hierarchical model reads the full-resolution graph its twin reads."""
    cfg = ModelConfig(
        hidden=8,
        pool="topk",
        schedule=[0.5, 0.5],
        levels_read="all",
        combine="sum",
        convs_per_level=2,
        norm="graph",
        residual=True,
        encoder=True,
    )
    torch.manual_seed(0)
    model = build_model(cfg, F, 2).eval()
    twin = build_model(cfg.global_twin(), F, 2).eval()
    missing = twin.load_state_dict(model.state_dict(), strict=False)
    assert all(k.startswith("pools.") for k in missing.unexpected_keys) and not missing.missing_keys
    b = random_batch([7, 9, 11], channels=F)
    ours, _ = model.level_readouts(b)
    theirs, _ = twin.level_readouts(b)
    torch.testing.assert_close(ours[0], theirs[0])
    assert not torch.allclose(ours[1], theirs[1])


@pytest.mark.parametrize("conv,cls", [("gine", GINEConv), ("gatv2", GATv2Conv)])
def test_edge_aware_convs_read_edge_attr(conv, cls):
    model = build_model(ModelConfig(conv=conv, hidden=8, schedule=[0.5]), F, 2, edge_channels=D).eval()
    assert isinstance(model.convs[0], cls)
    b = random_batch([8, 6], channels=F, edge_dim=D)
    out = model(b)
    b2 = b.clone()
    b2.edge_attr = b.edge_attr * 3 + 1
    assert not torch.allclose(model(b2), out)  # the edge features change the prediction


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_edge_attr_reaches_every_level_through_every_pooler(name):
    """Each pooler carries edge_attr of width D into the next level, where gine reads it: the logits
    have a gradient with respect to the input edge features through the level-2 convs."""
    s = _schedule(name)
    cfg = ModelConfig(conv="gine", hidden=8, pool=name, schedule=[s, s], levels_read="all", combine="last")
    torch.manual_seed(0)
    model = build_model(cfg, F, 2, edge_channels=D)
    b = random_batch([12, 9, 15], channels=F, edge_dim=D, level_labels=True)
    b.edge_attr.requires_grad_(True)
    logits, h = model(b, return_hierarchy=True)
    for level in (1, 2):
        rec = h[level]
        assert rec.edge_attr is not None and rec.edge_attr.shape == (rec.edge_index.size(1), D), name
    logits.sum().backward()
    assert b.edge_attr.grad is not None and bool(b.edge_attr.grad.abs().sum() > 0)


@pytest.mark.parametrize("norm,cls", [("batch", BatchNorm), ("layer", LayerNorm), ("graph", GraphNorm)])
def test_norms_and_batching_equals_one_graph_at_a_time(norm, cls):
    cfg = ModelConfig(
        conv="gine",
        hidden=8,
        pool="given",
        levels=2,
        norm=norm,
        residual=True,
        encoder=True,
        convs_per_level=2,
        levels_read="all",
        combine="sum",
        act="gelu",
    )
    torch.manual_seed(0)
    model = build_model(cfg, F, 3, edge_channels=D)
    assert isinstance(model.norms[0], cls) and len(model.norms) == len(model.convs) == 6
    b = random_batch([10, 7, 13], channels=F, edge_dim=D, level_labels=True)
    model.train()
    model(b).sum().backward()  # batch statistics in training: runs, and trains the norms
    model.eval()
    together = model(b)
    alone = torch.cat([model(Batch.from_data_list([g])) for g in b.to_data_list()])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_recipe_is_permutation_invariant():
    cfg = ModelConfig(
        conv="gine",
        hidden=8,
        pool="given",
        levels=2,
        norm="graph",
        residual=True,
        encoder=True,
        convs_per_level=2,
        levels_read="all",
        combine="sum",
        readout="meanmax",
    )
    torch.manual_seed(0)
    model = build_model(cfg, F, 3, edge_channels=D).eval()
    g = random_batch([14], channels=F, edge_dim=D, level_labels=True).to_data_list()[0]
    perm = torch.randperm(14, generator=torch.Generator().manual_seed(1))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(14)
    h = Data(x=g.x[perm], edge_index=inv[g.edge_index], edge_attr=g.edge_attr, level_labels=g.level_labels[perm])
    torch.testing.assert_close(model(h), model(g), rtol=1e-4, atol=1e-5)


def test_residual_adds_the_block_input():
    cfg = ModelConfig(hidden=8, schedule=[0.5], residual=True, encoder=True, act="tanh")
    model = build_model(cfg, F, 2).eval()
    b = random_batch([6], channels=F)
    x = model.encoder(b.x)
    out = model._block(0, x, b.edge_index, None, None, b.batch, 1)
    torch.testing.assert_close(out, x + torch.tanh(model.convs[0](x, b.edge_index)))


def test_localisation_loss_trains_the_node_head():
    cfg = ModelConfig(hidden=8, pool="topk", schedule=[0.5], localize=2.0)
    model = build_model(cfg, F, 2)
    b = random_batch([8, 6], channels=F)
    b.defect_mask = torch.zeros(14, dtype=torch.bool)
    b.defect_mask[[2, 9]] = True
    logits, h = model(b, return_hierarchy=True)
    assert h.node_scores.shape == (14,)
    aux = model.aux_loss(h, b)
    torch.testing.assert_close(aux, 2.0 * localize_loss(h.node_scores, b.defect_mask.float()))
    aux.backward()
    assert model.locator.weight.grad is not None and bool(model.locator.weight.grad.abs().sum() > 0)
    # positives weighted by negatives / positives (12 / 2 = 6)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        h.node_scores, b.defect_mask.float(), pos_weight=torch.tensor(6.0)
    )
    torch.testing.assert_close(localize_loss(h.node_scores, b.defect_mask.float()), ref)
    assert model.aux_loss(h) is None  # no data, no target: no term
    del b.defect_mask
    with pytest.raises(ValueError, match="node attribute 'defect_mask'"):
        model.aux_loss(h, b)
    twin = build_model(cfg.global_twin(), F, 2)
    assert twin.locator is not None  # the twin has the same node head


def test_suspects_readout_is_the_highest_node_score_per_graph():
    cfg = ModelConfig(hidden=8, pool="topk", schedule=[0.5], localize=1.0, combine="concat", levels_read="all")
    model = build_model(cfg, F, 2).eval()
    assert model.readout_names == ["level 0", "level 1", "suspects"]
    assert model.head.in_features == 3 * 8
    b = random_batch([8, 6], channels=F)
    per_level, h = model.level_readouts(b)
    top = torch.stack([h.node_scores[:8].max(), h.node_scores[8:].max()]).view(2, 1)
    torch.testing.assert_close(per_level[-1], model.suspicion(top))
    last = build_model(ModelConfig(hidden=8, schedule=[0.5], localize=1.0), F, 2).eval()
    per_level, _ = last.level_readouts(b)  # combine: last -> the last level plus the suspects
    torch.testing.assert_close(last._graph_vector(per_level), per_level[0] + per_level[1])


def test_convs_per_level_per_block():
    cfg = ModelConfig(hidden=8, schedule=[0.5, 0.5], convs_per_level=[3, 1, 2], levels_read="all")
    model = build_model(cfg, F, 2)
    assert len(model.convs) == 6 and model._block_start == [0, 3, 4, 6]
    assert build_model(cfg.global_twin(), F, 2)._block_start == [0, 3, 4, 6]
    assert model(random_batch([7, 9], channels=F)).shape == (2, 2)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (
            {"convs_per_level": 0},
            r"'convs_per_level' must be an int >= 1 or a list of them \(one per conv block\), got 0",
        ),
        ({"convs_per_level": [2, 0, 1], "levels_read": "all"}, r"'convs_per_level' must be an int >= 1 or a list"),
        (
            {"convs_per_level": [2, 2], "levels_read": "all"},
            r"'convs_per_level' lists 2 counts, but the model has 3 conv blocks \(2 levels "
            r"\+ level 0, levels_read: all\)",
        ),
        ({"norm": "instance"}, r"'norm' must be one of none, batch, layer, graph, got 'instance'"),
        ({"act": "swish"}, r"'act' must be one of relu, gelu, elu, leaky_relu, tanh, got 'swish'"),
        ({"levels_read": "some"}, r"'levels_read' must be one of pooled, all, got 'some'"),
        ({"residual": "yes"}, r"'residual' must be true or false, got 'yes'"),
        ({"encoder": 1}, r"'encoder' must be true or false, got 1"),
        ({"localize": -1}, r"'localize' \(weight of the node-level loss\) must be a finite number >= 0, got -1"),
        ({"localize": float("nan")}, r"'localize' .* got nan"),
        ({"localize_target": "no such"}, r"'localize_target' must name a node attribute, got 'no such'"),
        ({"conv": "gat"}, r"'conv' must be one of gcn, graphconv, gin, sage, gine, gatv2, got 'gat'"),
        ({"task": "node", "convs_per_level": 2}, r"'convs_per_level' apply to graph classifiers"),
    ],
)
def test_bad_options_name_key_value_and_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)


def test_yaml_errors_name_file_and_line(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("model:\n  conv: gine\n  hidden: 32\n  norm: instance\n")
    with pytest.raises(ValueError, match=rf"{path}:4: 'norm' must be one of none, batch, layer, graph"):
        ModelConfig.from_yaml(path)
    path.write_text("pool: given\nschedule: [0.5, 0.5]\n")
    with pytest.raises(ValueError, match=rf"{path}:2: 'schedule\[0\]' is 0.5, but level 1 pools along"):
        ModelConfig.from_yaml(path)
    path.write_text("")
    with pytest.raises(ValueError, match=rf"model config {path}: the file is empty"):
        ModelConfig.from_yaml(path)
    path.write_text("conv: gine\nconvs_per_level: 2\nnorm: batch\nresidual: true\nlevels_read: all\n")
    cfg = ModelConfig.from_yaml(path)
    assert cfg.conv == "gine" and cfg.convs_per_level == 2 and cfg.residual is True
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_edge_aware_conv_on_data_without_edge_attr_names_the_dataset():
    g = Data(x=torch.randn(4, F), edge_index=torch.tensor([[0, 1], [1, 0]]), y=torch.tensor([0]))
    with pytest.raises(
        ValueError,
        match=r"dataset PROTEINS: graph 0 has no edge_attr, but conv 'gine' reads edge "
        r"features \(dataset PROTEINS has no edge features: use one of gcn",
    ):
        check_model_data(ModelConfig(conv="gine"), GraphDataset("PROTEINS", [g], F, 2))
    with pytest.raises(ValueError, match="conv 'gatv2' reads edge features, so the model needs their width"):
        build_model(ModelConfig(conv="gatv2"), F, 2)
    model = build_model(ModelConfig(conv="gine", hidden=8, schedule=[0.5]), F, 2, edge_channels=D)
    with pytest.raises(
        ValueError,
        match=r"reads edge features of width 3 \(edge_channels\), but the graph has "
        r"no edge_attr",
    ):
        model(Batch.from_data_list([g]))
    bad = Data(
        x=torch.randn(4, F), edge_index=torch.tensor([[0, 1], [1, 0]]), y=torch.tensor([0]), edge_attr=torch.randn(2, 2)
    )
    with pytest.raises(ValueError, match=r"graph 1 has edge_attr of width 2, graph 0 of width 3"):
        g.edge_attr = torch.randn(2, 3)
        check_model_data(ModelConfig(conv="gine"), GraphDataset("mine", [g, bad], F, 2))
    with pytest.raises(ValueError, match=r"dataset mine: graph 0 has no node attribute 'defect_mask'"):
        check_model_data(ModelConfig(localize=1.0), GraphDataset("mine", [g], F, 2))
