"""Large batches: a ``gin`` block aggregates by one CSR product (hipool.nn.convs.SPARSE_AGGREGATION_EDGES);
the model computes the same values and gradients as with PyG's edge-list path."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, Data

import hipool.nn.blocks as blocks
from hipool.nn import build_model
from hipool.nn.convs import aggregation_adjacency
from hipool.presets import preset


def _graphs(seed: int, count: int = 4):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(count):
        n = 12 + 5 * i
        e = torch.randint(0, n, (2, 4 * n), generator=gen)
        e = torch.cat([e, e[:, :5]], 1)  # repeated edges count twice, as in PyG's scatter
        out.append(Data(x=torch.randn(n, 6, generator=gen), edge_index=e, y=torch.tensor([i % 2])))
    out.append(
        Data(x=torch.randn(3, 6, generator=gen), edge_index=torch.empty(2, 0, dtype=torch.long), y=torch.tensor([0]))
    )
    return Batch.from_data_list(out)


def test_aggregation_adjacency_counts_every_edge_into_its_target():
    ei = torch.tensor([[0, 0, 1, 2, 2, 3], [1, 1, 2, 0, 1, 3]])
    adj = aggregation_adjacency(ei, 5, torch.float32)
    expected = torch.zeros(5, 5)
    expected.index_put_((ei[1], ei[0]), torch.ones(ei.size(1)), accumulate=True)
    assert torch.equal(adj.to_dense(), expected)
    none = aggregation_adjacency(torch.empty(2, 0, dtype=torch.long), 3, torch.float64)
    assert none.to_dense().abs().sum() == 0 and none.dtype == torch.float64


@pytest.mark.parametrize("name", ["gin-edgepool", "gin-global", "gin-topk"])
def test_the_csr_path_gives_the_edge_path_values_and_gradients(name, monkeypatch):
    batch = _graphs(0)
    torch.manual_seed(0)
    model = build_model(preset(name), 6, 2).eval()
    runs = []
    for threshold in (10**12, 0):  # never, then always the CSR path
        monkeypatch.setattr(blocks, "SPARSE_AGGREGATION_EDGES", threshold)
        model.zero_grad()
        out = model(batch)
        out.logsumexp(-1).sum().backward()
        runs.append((out.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    (a, ga), (b, gb) = runs
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert len(ga) == len(gb) > 0
    for x, y in zip(ga, gb):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)


def test_the_csr_path_is_taken_only_from_the_threshold(monkeypatch):
    batch = _graphs(1)
    model = build_model(preset("gin-global"), 6, 2).eval()
    seen = []
    real = blocks.aggregation_adjacency
    monkeypatch.setattr(blocks, "aggregation_adjacency", lambda *a: seen.append(1) or real(*a))
    monkeypatch.setattr(blocks, "SPARSE_AGGREGATION_EDGES", batch.edge_index.size(1) + 1)
    model(batch)
    assert not seen
    monkeypatch.setattr(blocks, "SPARSE_AGGREGATION_EDGES", batch.edge_index.size(1))
    model(batch)
    assert seen
