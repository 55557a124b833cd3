"""Input validation shared by every pooler and model.

Bad input must fail with a :class:`ValueError` that names the argument and the
problem, not with an index error from deep inside torch or, worse, a silently
wrong result.  The checks are a handful of vectorised reductions over ``x``,
``edge_index`` and ``batch`` (O(N + E), far below the cost of the pooling and
convolutions they guard).  They can be switched off globally for the last bit
of speed::

    import hipool
    hipool.set_checks(False)            # everywhere
    with hipool.checks_disabled():      # or for a block
        ...

or by setting the environment variable ``HIPOOL_CHECKS=0``.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple, Union

import torch
from torch import Tensor

_ENABLED = os.environ.get("HIPOOL_CHECKS", "1").strip().lower() not in {"0", "false", "no", "off"}


def set_checks(enabled: bool) -> None:
    """Turn input validation on or off for every hipool pooler and model."""
    global _ENABLED
    _ENABLED = bool(enabled)


def checks_enabled() -> bool:
    """Whether input validation is currently on."""
    return _ENABLED


@contextmanager
def checks_disabled() -> Iterator[None]:
    """Context manager that switches validation off inside its block."""
    global _ENABLED
    before = _ENABLED
    _ENABLED = False
    try:
        yield
    finally:
        _ENABLED = before


def check_ratio(ratio: Union[float, int, None], where: str, name: str = "ratio") -> None:
    """Validate a pooling ratio: a float in (0, 1] or an int k >= 1."""
    if ratio is None:
        return
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
        raise ValueError(f"{where}: '{name}' must be a float in (0, 1] or an int k >= 1, "
                         f"got {ratio!r} of type {type(ratio).__name__}")
    if isinstance(ratio, int):
        if ratio < 1:
            raise ValueError(f"{where}: '{name}' as an int is the number of nodes k to keep "
                             f"per graph and must be >= 1, got {ratio}")
    elif not (0.0 < ratio <= 1.0):
        raise ValueError(f"{where}: '{name}' as a float is the fraction of nodes to keep "
                         f"and must be in (0, 1], got {ratio}")


def _fail_edge_index(edge_index: Tensor, num_nodes: int, where: str) -> None:
    lo, hi = int(edge_index.min()), int(edge_index.max())
    bad = ((edge_index < 0) | (edge_index >= num_nodes)).any(dim=0).nonzero().view(-1)
    j = int(bad[0])
    raise ValueError(
        f"{where}: 'edge_index' refers to nodes outside [0, {num_nodes}) "
        f"(x has {num_nodes} nodes; edge_index ranges over [{lo}, {hi}], "
        f"{bad.numel()} bad edge(s), first is column {j}: "
        f"({int(edge_index[0, j])}, {int(edge_index[1, j])}))")


def check_graph(
    x: Tensor,
    edge_index: Tensor,
    batch: Optional[Tensor] = None,
    edge_attr: Optional[Tensor] = None,
    where: str = "hipool",
    edge_weight: Optional[Tensor] = None,
) -> None:
    """Validate one (batched) graph in PyG's sparse layout.

    Raises ``ValueError`` naming the argument for: ``edge_index`` of the wrong
    shape or dtype or pointing outside ``[0, N)``; an edge joining two graphs of ``batch``; ``batch`` of the wrong
    length, dtype or not sorted; ``edge_attr`` whose first dimension is not the
    number of edges; ``edge_weight`` not of shape ``[num_edges]``; NaN or inf
    in ``x``.  Does nothing when checks are off.
    """
    if not _ENABLED:
        return
    if not isinstance(x, Tensor):
        raise ValueError(f"{where}: 'x' must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in (1, 2):
        raise ValueError(f"{where}: 'x' must have shape [num_nodes] or [num_nodes, channels], "
                         f"got shape {tuple(x.shape)}")
    if not isinstance(edge_index, Tensor):
        raise ValueError(f"{where}: 'edge_index' must be a torch.Tensor, got {type(edge_index).__name__}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"{where}: 'edge_index' must have shape [2, num_edges], "
                         f"got shape {tuple(edge_index.shape)}")
    if edge_index.dtype != torch.long:
        raise ValueError(f"{where}: 'edge_index' must have dtype torch.long (int64), "
                         f"got {edge_index.dtype}")
    n = x.size(0)
    if edge_attr is not None and (edge_attr.dim() == 0 or edge_attr.size(0) != edge_index.size(1)):
        raise ValueError(f"{where}: 'edge_attr' must have one row per edge "
                         f"({edge_index.size(1)}), got shape {tuple(edge_attr.shape)}")
    if edge_weight is not None and (edge_weight.dim() != 1 or edge_weight.size(0) != edge_index.size(1)):
        raise ValueError(f"{where}: 'edge_weight' must have shape [num_edges] = "
                         f"[{edge_index.size(1)}], got {list(edge_weight.shape)}")
    if batch is not None:
        if not isinstance(batch, Tensor) or batch.dim() != 1:
            raise ValueError(f"{where}: 'batch' must be a 1-D tensor, got "
                             f"{tuple(batch.shape) if isinstance(batch, Tensor) else type(batch).__name__}")
        if batch.dtype != torch.long:
            raise ValueError(f"{where}: 'batch' must have dtype torch.long (int64), got {batch.dtype}")
        if batch.size(0) != n:
            raise ValueError(f"{where}: 'x' has {n} nodes but 'batch' has {batch.size(0)} entries; "
                             f"they must have the same length")

    # One synchronisation for all value checks; details only on failure.
    flags = []
    if edge_index.numel() > 0:
        lo, hi = torch.aminmax(edge_index)
        flags.append((lo >= 0) & (hi < n))
    if x.is_floating_point() and x.numel() > 0:
        # A sum is finite iff no NaN/inf (or, rarely, finite values overflow: the
        # precise check below then passes).  25x cheaper than isfinite(x).all().
        flags.append(torch.isfinite(x.sum()))
    if batch is not None and n > 1:
        flags.append((batch[1:] >= batch[:-1]).all() & (batch[0] >= 0))
    elif batch is not None and n == 1:
        flags.append(batch[0] >= 0)
    if batch is not None and edge_index.numel() > 0 and n > 0:
        # Every edge inside one graph (indices clamped: an out-of-range one fails above).
        ends = batch[edge_index.clamp(0, n - 1)]
        flags.append((ends[0] == ends[1]).all())
    if not flags or bool(torch.stack(flags).all()):
        return

    if edge_index.numel() > 0 and not bool((edge_index.min() >= 0) & (edge_index.max() < n)):
        _fail_edge_index(edge_index, n, where)
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).view(n, -1).any(dim=1).nonzero().view(-1)
        kind = "NaN" if bool(torch.isnan(x).any()) else "inf"
        raise ValueError(f"{where}: 'x' contains {kind} values in {bad.numel()} node(s), "
                         f"first at node {int(bad[0])}")
    if batch is not None and n > 0 and int(batch.min()) < 0:
        raise ValueError(f"{where}: 'batch' has negative graph ids (min {int(batch.min())})")
    unsorted = (batch[1:] < batch[:-1]).nonzero() if batch is not None else batch
    if unsorted is not None and unsorted.numel() > 0:
        i = int(unsorted[0])
        raise ValueError(f"{where}: 'batch' must be sorted (nodes of one graph contiguous, graphs in "
                         f"increasing order, as PyG's DataLoader makes it); batch[{i}] = "
                         f"{int(batch[i])} > batch[{i + 1}] = {int(batch[i + 1])}")
    if batch is not None and edge_index.numel() > 0:
        cross = batch[edge_index[0]] != batch[edge_index[1]]
        if bool(cross.any()):
            e = int(cross.nonzero()[0])
            a, b = edge_index[:, e].tolist()
            raise ValueError(f"{where}: edge {e} ({a} -> {b}) joins graph {int(batch[a])} and graph "
                             f"{int(batch[b])}; 'batch' disagrees with 'edge_index'")
    # Otherwise the sum of x overflowed on finite values: nothing is wrong.


def prepare_pool_input(x: Tensor, edge_index: Tensor, batch: Optional[Tensor], edge_attr: Optional[Tensor],
                       edge_weight: Optional[Tensor], where: str,
                       in_channels: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """A pooler's input checks: :func:`check_graph`, and ``x`` as ``[N, F]`` with ``F ==
    in_channels`` (when given).  Returns ``(x, batch)``, with ``batch`` all zeros when it
    was ``None``."""
    check_graph(x, edge_index, batch, edge_attr, where=where, edge_weight=edge_weight)
    x = x.view(-1, 1) if x.dim() == 1 else x
    if in_channels is not None and x.size(1) != in_channels:
        raise ValueError(f"{where}: 'x' has {x.size(1)} features but the pooler was built for "
                         f"in_channels={in_channels}")
    if batch is None:
        batch = edge_index.new_zeros(x.size(0))
    return x, batch
