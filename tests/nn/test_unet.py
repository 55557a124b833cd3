"""Unpooling by every pooler's record, the Graph U-Net node model, and the config keys of issue 4."""

import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader
from torch_geometric.utils import to_dense_batch

from hipool import ModelConfig
from hipool.data.communities import (
    NODE_CLASS_NAMES,
    community_link_degree,
    make_community_dataset,
)
from hipool.nn import (
    REGISTRY,
    DiffPool,
    EdgePool,
    Graclus,
    GraphUNet,
    TopKPooling,
    build_model,
)
from hipool.train.loop import run_epoch
from tests.conftest import random_batch

F = 8
ALL = sorted(REGISTRY)


def schedule_for(name):
    if name == "given":
        return "given"
    return 4 if REGISTRY[name].needs_count else REGISTRY[name].example_entry()


# ---------------------------------------------------------------------------
# unpool
# ---------------------------------------------------------------------------
def test_unpool_selection_copies_kept_and_zeros_dropped():
    b = random_batch([10, 7], channels=F)
    out = TopKPooling(F, 0.5)(b.x, b.edge_index, batch=b.batch)
    y = torch.randn(out.num_nodes, 3)
    up = out.unpool(y)
    assert torch.equal(up[out.perm], y)
    dropped = torch.ones(b.num_nodes, dtype=torch.bool)
    dropped[out.perm] = False
    assert bool((up[dropped] == 0).all())


@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_unpool_clustering_is_s_times_x(mode):
    b = random_batch([12, 3, 9], channels=F)  # the 3-node graph has fewer nodes than clusters
    out = DiffPool(F, 5, mode=mode)(b.x, b.edge_index, batch=b.batch)
    y = torch.randn(out.num_nodes, 2, requires_grad=True)
    up = out.unpool(y)
    yd, _ = to_dense_batch(y, out.batch, max_num_nodes=5)  # [B, 5, 2], zero padded
    ref = torch.einsum("nc,ncf->nf", out.assignment, yd[b.batch])
    torch.testing.assert_close(up, ref)
    up.sum().backward()
    assert y.grad is not None and bool(torch.isfinite(y.grad).all())


@pytest.mark.parametrize("pool", [EdgePool(F), Graclus()])
def test_unpool_contraction_copies_to_both_members(pool):
    b = random_batch([15, 6], channels=F)
    out = pool(b.x, b.edge_index, batch=b.batch)
    y = torch.randn(out.num_nodes, 3)
    assert torch.equal(out.unpool(y), y[out.cluster])


def test_unpool_checks_its_input():
    b = random_batch([10], channels=F)
    out = TopKPooling(F, 0.5)(b.x, b.edge_index)
    with pytest.raises(ValueError, match=r"shape \[5, F\]"):
        out.unpool(torch.randn(4, 2))


# ---------------------------------------------------------------------------
# every pooler in the config, both tasks
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("task", ["graph", "node"])
def test_every_pooler_in_both_tasks(name, task):
    s = schedule_for(name)
    cfg = ModelConfig(conv="gcn", hidden=8, pool=name, schedule=[s, s], task=task)
    b = random_batch([14, 9, 20], channels=F, level_labels=True)
    model = build_model(cfg, F, 3)
    logits, h = model(b, return_hierarchy=True)
    assert logits.shape == ((3, 3) if task == "graph" else (b.num_nodes, 3))
    assert h.num_levels == 2
    for level in (1, 2):  # the input→output map composes back to the input nodes
        c = h.cluster(level)
        assert c.shape == (b.num_nodes,) and int(c.max()) < h.num_nodes_at(level)
    loss = logits.sum() + (model.aux_loss(h) or 0)
    loss.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if p.requires_grad and "select.weight" not in n)


def test_unet_structure_and_global_twin():
    cfg = ModelConfig(conv="gcn", hidden=8, pool="topk", schedule=[0.5, 0.5], task="node", skip="concat")
    model = build_model(cfg, F, 4)
    assert isinstance(model, GraphUNet)
    assert len(model.down) == 3 and len(model.up) == 2
    assert model.up[0].in_channels == 16  # concat skip doubles the width
    twin = build_model(cfg.global_twin(), F, 4)
    assert isinstance(twin, GraphUNet) and len(twin.pools) == 0
    b = random_batch([10, 5], channels=F)
    logits, h = twin(b, return_hierarchy=True)
    assert logits.shape == (15, 4) and h.num_levels == 0


@pytest.mark.parametrize("pool", ["topk", "edgepool", "none"])
def test_unet_is_permutation_equivariant(pool):
    """Relabelling the nodes relabels the predictions (random features: no ties)."""
    cfg = ModelConfig(conv="gcn", hidden=8, pool=pool, schedule=[0.5, 0.5], task="node")
    torch.manual_seed(0)
    model = build_model(cfg, F, 3).eval()
    b = random_batch([12], channels=F)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(12)
    out = model(b.x, b.edge_index)
    torch.testing.assert_close(model(b.x[perm], inv[b.edge_index]), out[perm], rtol=1e-4, atol=1e-5)


def test_unet_learns_node_labels_on_community_graphs():
    """The community graphs' node task: how many communities a node's community links to.

    One training run, so its margin depends on the draw: with Graclus's batch-independent tie order,
    seeds 0-5 gave +0.05, +0.16, +0.17, +0.14, +0.15, +0.14 over the majority class."""
    torch.manual_seed(1)
    graphs = make_community_dataset(40, seed=1, max_nodes=120)
    for g in graphs:
        g.y = community_link_degree(g)
    train, test = graphs[:30], graphs[30:]
    y_test = torch.cat([g.y for g in test])
    majority = float(torch.bincount(y_test, minlength=len(NODE_CLASS_NAMES)).max()) / y_test.numel()
    cfg = ModelConfig(conv="gcn", hidden=32, pool="graclus", schedule=[0.5, 0.5], task="node")
    model = build_model(cfg, graphs[0].num_features, len(NODE_CLASS_NAMES))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loader = DataLoader(train, batch_size=10, shuffle=True)
    first, _ = run_epoch(model, DataLoader(train, batch_size=10), None)
    for _ in range(40):
        run_epoch(model, loader, opt)
    last, _ = run_epoch(model, DataLoader(train, batch_size=10), None)
    _, acc = run_epoch(model, DataLoader(test, batch_size=10), None)
    assert last < 0.9 * first
    assert acc > majority + 0.05, (acc, majority)


def test_community_link_degree_by_class():
    graphs = make_community_dataset(3, seed=0)
    for g in graphs:
        c = torch.bincount(community_link_degree(g), minlength=3)
        if g.y.item() == 1:  # ring: every community has two links
            assert c[0] == 0 and c[2] == 0
        if g.y.item() == 0:  # chain: ends one link, middles two, never three
            assert c[0] > 0 and c[1] > 0 and c[2] == 0
        if g.y.item() == 2:  # star: leaves one, centre three or more
            assert c[0] > 0 and c[1] == 0 and c[2] > 0


# ---------------------------------------------------------------------------
# config errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(pool="edgepool", schedule=[0.4]), r"schedule\[0\]' is 0.4, but edgepool .* write 0.5"),
        (dict(pool="graclus", schedule="100→50"), "graclus at level 1 merges matched pairs"),
        (dict(task="nodes"), "'task' must be one of graph, node"),
        (dict(task="node", skip="max"), "'skip' must be one of sum, concat"),
        (dict(task="node", combine="sum"), "a node model"),
        (dict(pool="asap", pool_options={"gnn": "gin"}), None),
        (dict(pool="edgepool", pool_options={"edge_score_method": "relu"}), "edge_score_method"),
        (dict(pool="graclus", pool_options={"reduce": "median"}), "reduce"),
        (dict(pool="graclus", pool_options={"ratio": 2}), r"\['ratio'\] do not apply to graclus"),
    ],
)
def test_config_errors(kw, match):
    with pytest.raises(ValueError, match=match or "asap's 'gnn' must be one of graphconv, gcn"):
        build_model(ModelConfig(**kw), F, 2)


def test_config_yaml_round_trip(tmp_path):
    cfg = ModelConfig(
        pool=["asap", "edgepool", "graclus"],
        schedule=[0.5, 0.5, 0.5],
        task="node",
        skip="concat",
        pool_options={"edgepool": {"edge_score_method": "tanh"}, "graclus": {"reduce": "mean"}},
    )
    cfg.to_yaml(tmp_path / "m.yaml")
    again = ModelConfig.from_yaml(tmp_path / "m.yaml")
    assert again == cfg
    model = build_model(again, F, 2)
    assert model.pools[1].compute_edge_score == EdgePool.compute_edge_score_tanh
    assert model.pools[2].reduce == "mean"


def test_batch_of_data_objects_works_in_unet():
    b = Batch.from_data_list(make_community_dataset(3, seed=0, max_nodes=60))
    model = build_model(ModelConfig(hidden=8, pool="edgepool", schedule=[0.5], task="node"), b.num_features, 3)
    assert model(b).shape == (b.num_nodes, 3)
