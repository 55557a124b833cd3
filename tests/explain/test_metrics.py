"""hipool.explain.metrics: recovery, balance, connectedness, coverage (exact values)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hipool.explain.export import explain_graph
from hipool.explain.metrics import (
    balance,
    connected_share,
    hierarchy_metrics,
    metrics_table,
    nearest_fill,
    recovery,
    summarize_metrics,
)

pytest.importorskip("sklearn")

from .test_export import MODELS, _graph  # noqa: E402


def _entropy(p):
    p = np.asarray(p, float)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum())


def _nmi(a, b):
    """NMI with the arithmetic mean, from its definition."""
    a, b = np.asarray(a), np.asarray(b)
    n = len(a)
    mi = 0.0
    for u in np.unique(a):
        for v in np.unique(b):
            nuv = np.sum((a == u) & (b == v))
            if nuv:
                mi += nuv / n * math.log(n * nuv / (np.sum(a == u) * np.sum(b == v)))
    ha, hb = _entropy(np.bincount(a)), _entropy(np.bincount(b))
    return mi / ((ha + hb) / 2)


def test_recovery_is_one_for_the_truth_relabelled_and_matches_the_definition():
    truth = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    r = recovery(torch.tensor([5, 5, 5, 0, 0, 9, 9, 9]), truth)
    assert r["nmi"] == pytest.approx(1.0) and r["ari"] == pytest.approx(1.0) and r["nodes"] == 8
    c = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0])
    assert recovery(c, truth)["nmi"] == pytest.approx(_nmi(truth.numpy(), c.numpy()))


def test_recovery_leaves_out_dropped_and_unlabelled_nodes():
    truth = torch.tensor([0, 0, 1, 1, -1, 1])
    c = torch.tensor([3, 3, 4, -1, 7, 4])  # node 3 dropped, node 4 unlabelled
    r = recovery(c, truth)
    assert r["nodes"] == 4 and r["nmi"] == pytest.approx(1.0) and r["ari"] == pytest.approx(1.0)
    assert recovery(torch.tensor([-1, -1, 0, -1, 0, -1]), truth)["nmi"] is None  # one node left


def test_shuffled_nmi_is_the_chance_level():
    g = torch.Generator().manual_seed(0)
    truth = torch.arange(400) // 20
    r = recovery(truth.clone(), truth)
    assert r["nmi"] == pytest.approx(1.0) and r["nmi_shuffled"] < 0.6  # 20 groups of 20: shuffled is far lower
    singletons = recovery(torch.randperm(400, generator=g), truth)
    # every node its own cluster: a high NMI that says nothing, and the shuffled level equals it
    assert singletons["nmi"] == pytest.approx(singletons["nmi_shuffled"]) and singletons["ari"] == pytest.approx(0)


def test_nearest_fill_takes_the_closest_kept_node():
    # path 0-1-2-3-4-5-6; kept: 0 (cluster 8) and 5 (cluster 2)
    ei = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]])
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    c = torch.tensor([8, -1, -1, -1, -1, 2, -1])
    assert nearest_fill(c, ei).tolist() == [8, 8, 8, 2, 2, 2, 2]  # node 3: 3 steps from 0, 2 from 5
    tie = torch.tensor([8, -1, -1, -1, 2, -1, -1])  # node 2: 2 steps from both
    assert nearest_fill(tie, ei).tolist() == [8, 8, 2, 2, 2, 2, 2]  # ties go to the smaller label
    isolated = torch.tensor([[0], [1]])
    assert nearest_fill(torch.tensor([1, -1, -1]), torch.cat([isolated, isolated.flip(0)], 1)).tolist() == [1, 1, -1]


def test_balance_is_the_normalized_entropy_of_cluster_sizes():
    b = balance(torch.tensor([0, 0, 1, 1]), 2)
    assert b["balance"] == pytest.approx(1.0) and b["entropy"] == pytest.approx(math.log(2))
    b = balance(torch.tensor([0, 0, 0, 1, -1]), 2)
    assert b["entropy"] == pytest.approx(_entropy([3, 1])) and b["balance"] == pytest.approx(
        _entropy([3, 1]) / math.log(2)
    )
    b = balance(torch.tensor([0, 0, 1, 1]), 4)  # two empty clusters lower the balance
    assert b["balance"] == pytest.approx(0.5)
    assert balance(torch.tensor([0, 0]), 1)["balance"] == 1.0


def test_connected_share_counts_clusters_whose_members_touch():
    ei = torch.tensor([[0, 1, 2], [1, 2, 3]])
    ei = torch.cat([ei, ei.flip(0)], dim=1)  # path 0-1-2-3
    assert connected_share(torch.tensor([0, 0, 1, 1]), ei) == 1.0
    assert connected_share(torch.tensor([0, 1, 0, 1]), ei) == 0.0
    assert connected_share(torch.tensor([0, 1, 1, 0]), ei) == 0.5
    assert connected_share(torch.tensor([0, -1, 0, 1]), ei) == 0.5  # 0 and 2 apart once 1 is dropped


def test_hierarchy_metrics_of_a_model():
    data = _graph()
    h = explain_graph(MODELS["topk"](), data, truth_names=["ring", "pair"])
    rows = hierarchy_metrics(h)
    assert [r["level"] for r in rows] == [1, 2] and [r["nodes"] for r in rows] == [12, 6]
    assert rows[0]["represented"] == pytest.approx(12 / 24) and rows[1]["represented"] == pytest.approx(6 / 24)
    assert rows[0]["connected"] == 1.0 and rows[0]["balance"] == pytest.approx(1.0)  # singletons
    assert set(rows[0]["recovery"]) == {"ring", "pair"}
    filled = hierarchy_metrics(h, dropped="nearest")
    assert filled[0]["recovery"]["ring"]["nodes"] == 24 and rows[0]["recovery"]["ring"]["nodes"] == 12
    with pytest.raises(ValueError, match="'dropped' must be one of ignore, nearest"):
        hierarchy_metrics(h, dropped="zero")


def test_metrics_do_not_depend_on_node_order():
    data = _graph(seed=3)
    model = MODELS["diffpool"]()
    perm = torch.randperm(24, generator=torch.Generator().manual_seed(1))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(24)
    permuted = data.clone()
    permuted.x, permuted.level_labels = data.x[perm], data.level_labels[perm]
    permuted.edge_index = inv[data.edge_index]
    a = hierarchy_metrics(explain_graph(model, data))
    b = hierarchy_metrics(explain_graph(model, permuted))
    for ra, rb in zip(a, b):
        assert ra["balance"] == pytest.approx(rb["balance"], abs=1e-6)
        assert ra["connected"] == rb["connected"]
        assert ra["recovery"]["truth level 1"]["nmi"] == pytest.approx(rb["recovery"]["truth level 1"]["nmi"], abs=1e-6)


def test_summary_and_table():
    data = [_graph(seed=s) for s in range(3)]
    model = MODELS["edgepool"]()
    per = [hierarchy_metrics(explain_graph(model, d, truth_names=["ring", "pair"])) for d in data]
    s = summarize_metrics(per)
    assert len(s) == 2 and s[0]["graphs"] == 3
    nmis = [p[0]["recovery"]["ring"]["nmi"] for p in per]
    assert s[0]["recovery"]["ring"]["nmi"] == pytest.approx(np.mean(nmis))
    assert s[0]["recovery"]["ring"]["nmi_std"] == pytest.approx(np.std(nmis))
    table = metrics_table(s)
    assert "| level | nodes | represented | balance | connected | NMI ring |" in table
    assert len(table.strip().splitlines()) == 4


def test_functional_groups_of_molecules_are_a_truth_level(tmp_path):
    pytest.importorskip("rdkit")
    from hipool.config import ModelConfig
    from hipool.data import load_dataset
    from hipool.nn.models import build_model

    csv = tmp_path / "m.csv"
    csv.write_text("smiles,y\nCC(=O)Oc1ccccc1C(=O)O,1\nCCN(CC)CC,0\n")
    ds = load_dataset(str(csv))
    assert ds.level_names == ("functional group",)
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(conv="gcn", hidden=8, pool="edgepool", schedule=[0.5, 0.5]), ds.num_features, ds.num_classes
    )
    h = explain_graph(model, ds[0], truth_names=ds.level_names)
    rows = hierarchy_metrics(h)
    rec = rows[0]["recovery"]["functional group"]
    labelled = int((ds[0].level_labels[:, 0] >= 0).sum())
    assert rec["nodes"] == labelled and 0 <= rec["nmi"] <= 1
