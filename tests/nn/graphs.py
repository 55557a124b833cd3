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


def hop_distances(adj) -> list:
    """Breadth-first hop distances: ``adj[u]`` the nodes ``u`` reaches in one hop; row ``s`` of the
    result holds every node's distance from ``s``, ``None`` where it is not reached."""
    from collections import deque

    n = len(adj)
    dist = []
    for s in range(n):
        d = [None] * n
        d[s] = 0
        q = deque([s])
        while q:
            u = q.popleft()
            for v in adj[u]:
                if d[v] is None:
                    d[v] = d[u] + 1
                    q.append(v)
        dist.append(d)
    return dist
