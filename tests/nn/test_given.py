"""pool: given — pooling along the data's own hierarchy (level_labels)."""

import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader

from hipool import ModelConfig
from hipool.data.base import GraphDataset
from hipool.nn import build_model
from hipool.nn.given import GivenPool, carry_labels
from hipool.nn.models import check_model_data
from tests.conftest import random_batch


def _graph():
    # 6 nodes: groups {0, 1, 2} and {3, 4}, node 5 in none; edges 0-1, 1-3, 2-4, 4-5 (both ways), 3-3 loop
    e = torch.tensor([[0, 1, 1, 3, 2, 4, 4, 5, 3], [1, 0, 3, 1, 4, 2, 5, 4, 3]])
    x = torch.arange(12, dtype=torch.float).view(6, 2)
    attr = torch.arange(18, dtype=torch.float).view(9, 2)
    groups = torch.tensor([0, 0, 0, 1, 1, -1])
    return x, e, attr, groups


def test_given_pools_exactly_along_the_groups():
    x, e, attr, groups = _graph()
    out = GivenPool(2, reduce="sum")(x, e, edge_attr=attr, edge_weight=torch.ones(9), groups=groups)
    assert out.cluster.tolist() == [0, 0, 0, 1, 1, 2]
    torch.testing.assert_close(out.x, torch.stack([x[:3].sum(0), x[3:5].sum(0), x[5]]))
    mean = GivenPool(2)(x, e, groups=groups)  # the default: a group's mean
    torch.testing.assert_close(mean.x, torch.stack([x[:3].mean(0), x[3:5].mean(0), x[5]]))
    # group 0 - group 1: edges 1-3 and 2-4 (both directions), summed; group 1 - node 5: 4-5
    pairs = {tuple(p): i for i, p in enumerate(out.edge_index.t().tolist())}
    assert set(pairs) == {(0, 1), (1, 0), (1, 2), (2, 1)}  # inner edges and the loop 3-3 are gone
    torch.testing.assert_close(out.edge_attr[pairs[(0, 1)]], attr[2] + attr[4])
    torch.testing.assert_close(out.edge_attr[pairs[(1, 0)]], attr[3] + attr[5])
    torch.testing.assert_close(out.edge_attr[pairs[(1, 2)]], attr[6])
    assert out.edge_weight[pairs[(0, 1)]] == 2 and out.edge_weight[pairs[(2, 1)]] == 1
    assert out.batch.tolist() == [0, 0, 0] and out.perm is None


@pytest.mark.parametrize("reduce", ["mean", "max"])  # sum: above
def test_given_reduce(reduce):
    x, e, _, groups = _graph()
    out = GivenPool(2, reduce=reduce)(x, e, groups=groups)
    ref = x[:3].mean(0) if reduce == "mean" else x[:3].max(0).values
    torch.testing.assert_close(out.x[0], ref)


def test_given_meanmax_is_projected_back_to_the_width_and_learns():
    x, e, _, groups = _graph()
    pool = GivenPool(2, reduce="meanmax")
    out = pool(x, e, groups=groups)
    assert out.x.shape == (3, 2)
    out.x.sum().backward()
    assert pool.lin.weight.grad is not None


def test_batched_equals_one_graph_at_a_time():
    b = random_batch([9, 7, 12], channels=4, edge_dim=3, level_labels=True)
    pool = GivenPool(4)
    out = pool(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch, groups=b.level_labels[:, 0])
    start = 0
    for i, g in enumerate(b.to_data_list()):
        one = pool(g.x, g.edge_index, edge_attr=g.edge_attr, groups=g.level_labels[:, 0])
        mine = out.batch == i
        torch.testing.assert_close(out.x[mine], one.x)
        sub = out.batch[out.edge_index[0]] == i
        torch.testing.assert_close(out.edge_index[:, sub] - start, one.edge_index)
        torch.testing.assert_close(out.edge_attr[sub], one.edge_attr)
        start += one.num_nodes


def test_carry_labels_takes_the_shared_coarser_label():
    labels = torch.tensor([[0, 0], [0, 0], [1, 0], [1, 1], [-1, 1], [-1, -1]])
    cluster = torch.tensor([0, 0, 1, 1, 2, 3])
    assert carry_labels(labels, cluster, 4).tolist() == [[0, 0], [1, 1], [-1, 1], [-1, -1]]
    dropped = torch.tensor([0, -1, 1, -1, -1, -1])
    assert carry_labels(labels, dropped, 2).tolist() == [[0, 0], [1, 0]]


def test_given_model_recovers_the_truth_exactly():
    """Level l of a 'given' model is the data's level-l grouping: NMI = ARI = 1 against it."""
    pytest.importorskip("sklearn")
    from hipool.explain.export import explain_graph
    from hipool.explain.metrics import hierarchy_metrics

    b = random_batch([30], channels=4, level_labels=True)
    g = b.to_data_list()[0]
    model = build_model(ModelConfig(hidden=8, pool="given", levels=2), 4, 2).eval()
    h = explain_graph(model, g, truth_names=("fine", "coarse"))
    rows = hierarchy_metrics(h)
    for level, col in ((1, "fine"), (2, "coarse")):
        rec = rows[level - 1]["recovery"][col]
        assert rec["nmi"] == pytest.approx(1.0) and rec["ari"] == pytest.approx(1.0)
    assert h.num_nodes == [30, 11, 6]  # 29 grouped nodes in 10 groups of 3 (+1 alone), then 5 of 6


def test_given_after_a_learned_pooler_reads_the_carried_labels():
    b = random_batch([14, 20], channels=4, level_labels=True)
    model = build_model(ModelConfig(hidden=8, pool=["edgepool", "given"], schedule=[0.5, "given"]), 4, 2)
    logits, h = model(b, return_hierarchy=True)
    assert logits.shape == (2, 2) and h.num_levels == 2


def test_schedule_and_pool_given_must_agree():
    assert ModelConfig(pool="given").schedule == ["given", "given"]
    assert ModelConfig(pool="given", levels=1).schedule == ["given"]
    assert ModelConfig(pool="given", schedule="given→given").levels == 2
    with pytest.raises(
        ValueError,
        match=r"'schedule\[0\]' is 0.5, but level 1 pools along the data's known "
        r"hierarchy \(pool: given\).*write 'given'",
    ):
        ModelConfig(pool="given", schedule=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"'schedule\[1\]' is 'given', but level 2 uses topk"):
        ModelConfig(pool=["given", "topk"], schedule=["given", "given"])
    with pytest.raises(
        ValueError,
        match=r"'pool_options' \(given, level 1\): GivenPool: 'reduce' must be one of sum, mean, max, meanmax",
    ):
        ModelConfig(pool="given", pool_options={"reduce": "median"})
    twin = ModelConfig(pool="given").global_twin()
    assert twin.is_global and twin.levels == 2


def test_data_without_level_labels_is_a_clear_error():
    g = Data(x=torch.randn(5, 4), edge_index=torch.tensor([[0, 1], [1, 0]]), y=torch.tensor([0]))
    model = build_model(ModelConfig(hidden=8, pool="given"), 4, 2)
    with pytest.raises(
        ValueError,
        match=r"level 1 pools along the data's known hierarchy \(pool: given\), but "
        r"the graph has no 'level_labels'",
    ):
        model(Batch.from_data_list([g]))
    ds = GraphDataset("mine", [g], 4, 2)
    with pytest.raises(
        ValueError,
        match=r"dataset mine: level 2 of the model pools along column 1 .* but graph 0 "
        r"has no 'level_labels'",
    ):
        check_model_data(ModelConfig(pool="given"), ds)
    g.level_labels = torch.zeros(5, 1, dtype=torch.long)
    with pytest.raises(ValueError, match=r"graph 0 has 1 'level_labels' column\(s\) \(block\)"):
        check_model_data(ModelConfig(pool="given"), GraphDataset("mine", [g], 4, 2, level_names=("block",)))
    with pytest.raises(
        ValueError,
        match=r"level 2 pools along column 1 of 'level_labels' \(pool: given\), but "
        r"the data has 1 column",
    ):
        model(next(iter(DataLoader([g], batch_size=1))))
