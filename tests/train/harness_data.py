"""A tiny learnable dataset for the harness tests, written as JSON Lines (no shared data needed)."""

from pathlib import Path

import torch
from torch_geometric.data import Data

from hipool.data.base import GraphDataset
from hipool.data.own import save_jsonl


def toy_graphs(n: int = 48, seed: int = 0):
    """Rings with chords, 6-13 nodes, 4 features; class 1 has its features shifted by +1."""
    g = torch.Generator().manual_seed(seed)
    graphs = []
    for i in range(n):
        size = 6 + i % 8
        y = i % 2
        ring = torch.arange(size)
        src = torch.cat([ring, ring[::2]])
        dst = torch.cat([(ring + 1) % size, (ring[::2] + size // 2) % size])
        keep = src != dst
        src, dst = src[keep], dst[keep]
        ei = torch.unique(torch.stack([torch.cat([src, dst]), torch.cat([dst, src])]), dim=1)
        x = torch.randn(size, 4, generator=g) + 1.0 * y
        graphs.append(Data(x=x, edge_index=ei, y=torch.tensor([y])))
    return graphs


def write_toy(path: Path, n: int = 48, seed: int = 0) -> Path:
    graphs = toy_graphs(n, seed)
    save_jsonl(GraphDataset("toy", graphs, num_features=4, num_classes=2, class_names=["0", "1"]), path)
    return path
