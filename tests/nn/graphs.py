"""Small graphs the pooler tests share."""

from __future__ import annotations

import torch


def sym(e: torch.Tensor) -> torch.Tensor:
    """``e`` with both directions of every edge, duplicates merged (sorted)."""
    return torch.unique(torch.cat([e, e.flip(0)], 1), dim=1)


def clique(n: int, offset: int = 0) -> torch.Tensor:
    """Every ordered pair of distinct nodes ``offset .. offset + n - 1``."""
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = i != j
    return torch.stack([i[keep], j[keep]]) + offset
