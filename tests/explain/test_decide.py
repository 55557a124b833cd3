"""hipool.explain.decide: each level's contribution to a prediction."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from hipool.config import ModelConfig
from hipool.data.base import Breakdown
from hipool.explain.decide import decision_tables, decisions, level_contributions
from hipool.nn.models import build_model

from .test_export import _graph


def _model(head, combine="sum", pool="topk", **kw):
    torch.manual_seed(0)
    cfg = ModelConfig(
        conv="graphconv",
        hidden=8,
        pool=pool,
        schedule=[0.5, 0.5, 0.5],
        readout="meanmax",
        combine=combine,
        head=head,
        **kw,
    )
    return build_model(cfg, 5, 3).eval()


def _graphs(k=5):
    gs = [_graph(24, seed=s) for s in range(k)]
    for i, g in enumerate(gs):
        g.y = torch.tensor([i % 3])
        g.kind = torch.tensor([i % 2])
    return gs


def _margin(z, c):
    others = [z[k] for k in range(z.numel()) if k != c]
    return float(z[c] - sum(others) / len(others))


@pytest.mark.parametrize("combine", ["sum", "concat"])
def test_forward_is_level_readouts_then_classify(combine):
    model = _model([16], combine)
    batch = Batch.from_data_list(_graphs())
    per_level, _ = model.level_readouts(batch)
    assert len(per_level) == 3
    assert torch.allclose(model(batch), model.classify(per_level))


def test_ablation_is_the_margin_drop_without_a_level():
    model = _model([16])
    graphs = _graphs()
    out = level_contributions(model, Batch.from_data_list(graphs))
    for g, data in enumerate(graphs):
        with torch.no_grad():
            per_level, _ = model.level_readouts(Batch.from_data_list([data]))
            full = model.classify(per_level)[0]
            c = int(full.argmax())
            assert int(out["prediction"][g]) == c
            assert float(out["margin"][g]) == pytest.approx(_margin(full, c), abs=1e-5)
            for lv in range(3):
                cut = [torch.zeros_like(r) if j == lv else r for j, r in enumerate(per_level)]
                drop = _margin(full, c) - _margin(model.classify(cut)[0], c)
                assert float(out["ablation"][g, lv]) == pytest.approx(drop, abs=1e-5)


@pytest.mark.parametrize("combine", ["sum", "concat"])
def test_gradient_equals_ablation_for_a_linear_head(combine):
    out = level_contributions(_model([], combine), Batch.from_data_list(_graphs()))
    assert torch.allclose(out["gradient"], out["ablation"], atol=1e-5)
    assert not torch.allclose(out["ablation"], torch.zeros_like(out["ablation"]))


def test_a_batch_gives_what_one_graph_at_a_time_gives():
    model = _model([16])
    graphs = _graphs()
    together = level_contributions(model, Batch.from_data_list(graphs))
    for g, data in enumerate(graphs):
        alone = level_contributions(model, Batch.from_data_list([data]))
        for key in ("ablation", "gradient"):
            assert torch.allclose(together[key][g], alone[key][0], atol=1e-5)


def test_decisions_summary_and_group_table():
    model = _model([16])
    graphs = _graphs(7)
    r = decisions(
        model, graphs, indices=list(range(10, 17)), breakdown=Breakdown("kind", ("even", "odd")), batch_size=3
    )
    assert r["levels"] == ["level 1", "level 2", "level 3"]
    assert [row["graph"] for row in r["graphs"]] == list(range(10, 17))
    for row in r["graphs"]:
        assert row["decided"]["ablation"] == max(range(3), key=lambda lv: row["ablation"][lv])
    for m in ("ablation", "gradient"):
        assert sum(r["summary"][m]["decided"]) == pytest.approx(1.0)
        assert sum(sum(c) for c in r["table"][m].values()) == 7
        assert sum(r["table"][m]["even"]) == 4 and sum(r["table"][m]["odd"]) == 3
    text = decision_tables(r, "parity")
    assert "| parity | level 1 | level 2 | level 3 | graphs |" in text and "| even |" in text


def test_a_global_model_reports_layers():
    torch.manual_seed(0)
    twin = build_model(_model([16]).config.global_twin(), 5, 3).eval()
    r = decisions(twin, _graphs(3))
    assert r["levels"] == ["layer 1", "layer 2", "layer 3"] and "table" not in r


def test_combine_last_is_a_clear_error():
    with pytest.raises(ValueError, match="reads out only after its last level"):
        level_contributions(_model([16], "last"), Batch.from_data_list(_graphs(2)))
