"""Shared test helpers: random batches of graphs, local copies of the shared datasets, and the
repository's scripts (benchmarks/, results/) loaded as modules."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Sequence

import pytest
import torch
from torch_geometric.data import Batch, Data

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"


def load_script(path: Path, name: str):
    """The script at ``path`` imported as a module named ``name`` (its ``__main__`` block not run)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_bench(monkeypatch, name: str):
    """``benchmarks/<name>.py`` as a module, with ``benchmarks/`` on ``sys.path`` for this test
    (the scripts import ``_bench``)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return load_script(ROOT / "benchmarks" / f"{name}.py", f"bench_{name}")


def random_graph(n: int, channels: int = 16, degree: int = 3, edge_dim: int = 0, seed: int = 0) -> Data:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, channels, generator=g)
    e = torch.randint(0, n, (2, degree * n), generator=g) if n > 1 else torch.empty(2, 0, dtype=torch.long)
    data = Data(x=x, edge_index=e)
    if edge_dim:
        data.edge_attr = torch.randn(e.size(1), edge_dim, generator=g)
    return data


def random_batch(
    sizes: Sequence[int], channels: int = 16, edge_dim: int = 0, seed: int = 0, level_labels: bool = False
) -> Batch:
    """Random graphs of ``sizes`` nodes in one batch.  With ``level_labels`` each has a nested
    two-level ``level_labels`` (level 1: groups of 3 consecutive nodes, level 2: groups of 6; the
    last node of every graph in no group, -1), so ``pool: given`` runs on it."""
    graphs = []
    for i, n in enumerate(sizes):
        g = random_graph(n, channels, edge_dim=edge_dim, seed=seed + i)
        if level_labels:
            local = torch.arange(n)
            g.level_labels = torch.stack([local // 3, local // 6], dim=1)
            g.level_labels[-1:] = -1
        graphs.append(g)
    return Batch.from_data_list(graphs)


@pytest.fixture
def tu_root(tmp_path_factory) -> Path:
    """A writable copy of ../shared/datasets/TU/{MUTAG,PROTEINS} (never written in place)."""
    root = tmp_path_factory.mktemp("TU")
    for name in ("MUTAG", "PROTEINS"):
        src = SHARED / "TU" / name / "raw"
        if not src.is_dir():
            pytest.skip(f"shared dataset missing: {src}")
        shutil.copytree(src, root / name / "raw")
    return root
