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

Switching them off skips the per-call checks that read tensor values or that a correct
caller never needs: :func:`check_graph` (shapes, dtypes, devices, index ranges, ``batch`` order,
edges joining graphs, NaN/inf in ``x``, ``edge_attr`` and ``edge_weight``, negative
weights where a method reads them as degrees), the NaN check of the clustering
assignment, the value checks of the dense functional forms (finite ``x``/``adj``,
``adj >= 0``, ``mask`` against ``adj``), a model's ``level_labels >= -1`` and the
shape checks of every :class:`~hipool.record.PoolOutput` built.  What stays on costs no
synchronisation: every constructor argument (ratios, cluster counts, temperatures, ...;
the helpers :func:`check_number`, :func:`check_int`, :func:`check_bool`), the width,
dtype and device of ``x`` against the module's ``in_channels`` and parameters
(:func:`check_features`), ``edge_weight`` of ``x``'s dtype, and the shapes a model needs
(``edge_attr`` of an edge-aware conv, ``level_labels``).
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from typing import Iterator, Literal, Optional, Tuple, Union, overload

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


def is_int(value) -> bool:
    """An ``int`` that is not a ``bool`` (``True`` is an int to Python, not to a user)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """An ``int`` or ``float`` that is not a ``bool``."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_name(value) -> str:
    return type(value).__name__


@overload
def check_number(
    value,
    where: str,
    name: str,
    *,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: Literal[False] = False,
) -> float: ...
@overload
def check_number(
    value,
    where: str,
    name: str,
    *,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = ...,
) -> Optional[float]: ...
def check_number(
    value,
    where: str,
    name: str,
    *,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> Optional[float]:
    """A constructor's real-valued argument: a finite int or float (not a bool) in the range
    ``[low, high]`` (``(low, …`` with ``low_open``, ``…, high)`` with ``high_open``; ``None``
    bounds are unbounded).  Returns it as a float (``None`` stays ``None`` with ``allow_none``).
    Raises ``ValueError`` naming ``where``, ``name``, the value and the range."""
    if value is None and allow_none:
        return None
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    allowed = (
        "a finite number"
        + (
            ""
            if low is None and high is None
            else f" in {'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        )
        + (" or None" if allow_none else "")
    )
    if not is_number(value):
        raise ValueError(f"{where}: '{name}' must be {allowed}, got {value!r} of type {_type_name(value)}")
    v = float(value) if not isinstance(value, int) or abs(value) < 2**1023 else math.inf
    if (
        not math.isfinite(v)
        or (low is not None and (v < low or (low_open and v == low)))
        or (high is not None and (v > high or (high_open and v == high)))
    ):
        raise ValueError(f"{where}: '{name}' must be {allowed}, got {value!r}")
    return v


@overload
def check_int(
    value, where: str, name: str, *, low: int = 1, allow_none: Literal[False] = False, hint: str = ""
) -> int: ...
@overload
def check_int(
    value, where: str, name: str, *, low: int = 1, allow_none: bool = ..., hint: str = ""
) -> Optional[int]: ...
def check_int(value, where: str, name: str, *, low: int = 1, allow_none: bool = False, hint: str = "") -> Optional[int]:
    """A constructor's integer argument: an ``int`` (not a bool, not a float) ``>= low``.
    Returns it (``None`` stays ``None`` with ``allow_none``); ``hint`` is added to the message."""
    if value is None and allow_none:
        return None
    if not is_int(value) or value < low:
        kind = "" if is_int(value) else f" of type {_type_name(value)}"
        raise ValueError(
            f"{where}: '{name}' must be an int >= {low}{' or None' if allow_none else ''}, got {value!r}{kind}{hint}"
        )
    return value


def check_bool(value, where: str, name: str) -> bool:
    """A constructor's flag: ``True`` or ``False`` (``bool("no")`` is ``True``, so a string or a
    number is refused rather than read as a flag)."""
    if not isinstance(value, bool):
        raise ValueError(f"{where}: '{name}' must be True or False, got {value!r} of type {_type_name(value)}")
    return value


def check_ratio(ratio: Union[float, int, None], where: str, name: str = "ratio") -> None:
    """Validate a pooling ratio: a float in (0, 1] or an int k >= 1.

    A float keeps ``ceil(ratio * n)`` nodes of a graph of ``n`` nodes, and never fewer than one
    (:func:`hipool.nn.select.num_kept`), so any ratio in (0, 1] keeps at least one node of every
    non-empty graph; an int ``k`` keeps ``min(k, n)``."""
    if ratio is None:
        return
    if not is_number(ratio):
        raise ValueError(
            f"{where}: '{name}' must be a float in (0, 1] or an int k >= 1, "
            f"got {ratio!r} of type {type(ratio).__name__}"
        )
    if isinstance(ratio, int):
        if ratio < 1:
            raise ValueError(
                f"{where}: '{name}' as an int is the number of nodes k to keep per graph and must be >= 1, got {ratio}"
            )
    elif not (0.0 < ratio <= 1.0):
        raise ValueError(
            f"{where}: '{name}' as a float is the fraction of nodes to keep and must be in (0, 1], got {ratio}"
        )


def _edge(edge_index: Tensor, e: int) -> str:
    return f"edge {e} ({int(edge_index[0, e])} -> {int(edge_index[1, e])})"


def check_edge_index_type(edge_index, where: str) -> None:
    """A ``ValueError`` naming ``where`` unless ``edge_index`` is an int64 tensor of shape ``[2, E]``
    (its values are not read)."""
    if (
        not isinstance(edge_index, Tensor)
        or edge_index.dim() != 2
        or edge_index.size(0) != 2
        or edge_index.dtype != torch.long
    ):
        is_tensor = isinstance(edge_index, Tensor)
        got = f"{edge_index.dtype} {tuple(edge_index.shape)}" if is_tensor else _type_name(edge_index)
        raise ValueError(f"{where}: 'edge_index' must be an int64 tensor of shape [2, E], got {got}")


def _fail_edge_index(edge_index: Tensor, num_nodes: int, where: str) -> None:
    lo, hi = int(edge_index.min()), int(edge_index.max())
    bad = ((edge_index < 0) | (edge_index >= num_nodes)).any(dim=0).nonzero().view(-1)
    j = int(bad[0])
    raise ValueError(
        f"{where}: 'edge_index' refers to nodes outside [0, {num_nodes}) "
        f"(x has {num_nodes} nodes; edge_index ranges over [{lo}, {hi}], "
        f"{bad.numel()} bad edge(s), first is column {j}: "
        f"({int(edge_index[0, j])}, {int(edge_index[1, j])}))"
    )


def _floating_x_message(x: Tensor, where: str, wanted: Optional[torch.dtype] = None) -> str:
    target = {torch.float64: ".double()", torch.float16: ".half()", torch.bfloat16: ".bfloat16()"}.get(
        wanted, ".float()"
    )
    if not x.is_floating_point():
        return (
            f"{where}: 'x' has dtype {x.dtype}, but node features must be floating point "
            f"(call x{target} on integer or boolean features)"
        )
    return (
        f"{where}: 'x' has dtype {x.dtype} but the parameters are {wanted}; call x{target} "
        f"(or convert the module with .to({x.dtype}))"
    )


def is_one_graph_on_cpu(batch: Optional[Tensor]) -> bool:
    """``True`` for a non-empty CPU ``batch`` whose first and last node share a graph: one graph when
    ``batch`` is sorted (as the pool input checks require).  Reads two values, which costs no
    synchronisation on the CPU; on other devices it answers ``False`` without reading."""
    return batch is not None and batch.numel() > 0 and batch.device.type == "cpu" and int(batch[0]) == int(batch[-1])


def check_graph(
    x: Tensor,
    edge_index: Tensor,
    batch: Optional[Tensor] = None,
    edge_attr: Optional[Tensor] = None,
    where: str = "hipool",
    edge_weight: Optional[Tensor] = None,
    *,
    nonnegative_weights: Optional[str] = None,
) -> None:
    """Validate one (batched) graph in PyG's sparse layout.

    Raises ``ValueError`` naming the argument for: ``x`` not floating point, or holding NaN
    or inf, or on the meta device; ``edge_index`` of the wrong shape or dtype or pointing
    outside ``[0, N)``; an edge joining two graphs of ``batch``; ``batch`` of the wrong length,
    dtype, negative or not sorted; ``edge_attr`` whose first dimension is not the number of
    edges, complex, or holding NaN or inf; ``edge_weight`` not of shape ``[num_edges]``,
    boolean or complex, or holding NaN or inf; any of them on another device than ``x``.

    A ``batch`` with gaps in its graph ids (``0, 0, 2, 2``) is valid: the ids without nodes are
    graphs without nodes, as in PyG (the models give them the readout of an empty graph).

    ``nonnegative_weights``: the reason the caller needs ``edge_weight >= 0`` (the degree
    normalisation of MinCut and DMoN, say); negative weights are then refused with it.
    ``None`` (default) accepts them.

    The value checks are O(N + E) reductions joined into one host synchronisation; the
    offending node or edge is looked for only when one fails.  Does nothing when checks
    are off.
    """
    if not _ENABLED:
        return
    if not isinstance(x, Tensor):
        raise ValueError(f"{where}: 'x' must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in (1, 2):
        raise ValueError(
            f"{where}: 'x' must have shape [num_nodes] or [num_nodes, channels], got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise ValueError(_floating_x_message(x, where))
    if x.device.type == "meta":
        raise ValueError(f"{where}: 'x' is on the meta device, which holds shapes but no values")
    if not isinstance(edge_index, Tensor):
        raise ValueError(f"{where}: 'edge_index' must be a torch.Tensor, got {type(edge_index).__name__}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"{where}: 'edge_index' must have shape [2, num_edges], got shape {tuple(edge_index.shape)}")
    if edge_index.dtype != torch.long:
        raise ValueError(f"{where}: 'edge_index' must have dtype torch.long (int64), got {edge_index.dtype}")
    n, num_edges = x.size(0), edge_index.size(1)
    if edge_attr is not None and (
        not isinstance(edge_attr, Tensor) or edge_attr.dim() == 0 or edge_attr.size(0) != num_edges
    ):
        shape = tuple(edge_attr.shape) if isinstance(edge_attr, Tensor) else type(edge_attr).__name__
        raise ValueError(f"{where}: 'edge_attr' must have one row per edge ({num_edges}), got shape {shape}")
    if edge_attr is not None and edge_attr.is_complex():
        # the convs read edge_attr as x's dtype: a complex value would lose its imaginary part unseen
        raise ValueError(f"{where}: 'edge_attr' must hold real numbers, got dtype {edge_attr.dtype}")
    if edge_weight is not None and (
        not isinstance(edge_weight, Tensor) or edge_weight.dim() != 1 or edge_weight.size(0) != num_edges
    ):
        shape = list(edge_weight.shape) if isinstance(edge_weight, Tensor) else type(edge_weight).__name__
        raise ValueError(f"{where}: 'edge_weight' must have shape [num_edges] = [{num_edges}], got {shape}")
    if edge_weight is not None and (edge_weight.dtype == torch.bool or edge_weight.is_complex()):
        raise ValueError(f"{where}: 'edge_weight' must hold real numbers, got dtype {edge_weight.dtype}")
    if batch is not None:
        if not isinstance(batch, Tensor) or batch.dim() != 1:
            raise ValueError(
                f"{where}: 'batch' must be a 1-D tensor, got "
                f"{tuple(batch.shape) if isinstance(batch, Tensor) else type(batch).__name__}"
            )
        if batch.dtype != torch.long:
            raise ValueError(f"{where}: 'batch' must have dtype torch.long (int64), got {batch.dtype}")
        if batch.size(0) != n:
            raise ValueError(
                f"{where}: 'x' has {n} nodes but 'batch' has {batch.size(0)} entries; they must have the same length"
            )
    for name, t in (
        ("edge_index", edge_index),
        ("batch", batch),
        ("edge_attr", edge_attr),
        ("edge_weight", edge_weight),
    ):
        if t is not None and t.device != x.device:
            raise ValueError(
                f"{where}: 'x' is on {x.device} but '{name}' is on {t.device}; move every "
                f"tensor of the graph to one device (e.g. data.to(device))"
            )

    # One synchronisation for all value checks; details only on failure.
    flags = []
    if num_edges > 0:
        lo, hi = torch.aminmax(edge_index)
        flags.append((lo >= 0) & (hi < n))
    if x.numel() > 0:
        # A sum is finite iff no NaN/inf (or, rarely, finite values overflow: the
        # precise check below then passes).  25x cheaper than isfinite(x).all().
        flags.append(torch.isfinite(x.detach().sum()))
    if batch is not None and n > 1:
        flags.append((batch[1:] >= batch[:-1]).all() & (batch[0] >= 0))
    elif batch is not None and n == 1:
        flags.append(batch[0] >= 0)
    # One graph (sorted: checked above; unsorted, the checks below look at every edge): no edge can
    # join two, which skips 3/4 of the checks' time at 80k edges.
    if batch is not None and num_edges > 0 and n > 0 and not is_one_graph_on_cpu(batch):
        # Every edge inside one graph (indices clamped: an out-of-range one fails above).
        ends = batch[edge_index.clamp(0, n - 1)]
        flags.append((ends[0] == ends[1]).all())
    if edge_weight is not None and num_edges > 0:
        w_lo, w_hi = torch.aminmax(edge_weight.detach())  # NaN propagates to both
        flags.append(torch.isfinite(w_lo) & torch.isfinite(w_hi))
        if nonnegative_weights is not None:
            flags.append(w_lo >= 0)
    if edge_attr is not None and edge_attr.is_floating_point() and edge_attr.numel() > 0:
        flags.append(torch.isfinite(edge_attr.detach().sum()))
    if not flags or bool(torch.stack(flags).all()):
        return

    if num_edges > 0 and not bool((edge_index.min() >= 0) & (edge_index.max() < n)):
        _fail_edge_index(edge_index, n, where)
    if not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).view(n, -1).any(dim=1).nonzero().view(-1)
        kind = "NaN" if bool(torch.isnan(x).any()) else "inf"
        raise ValueError(f"{where}: 'x' contains {kind} values in {bad.numel()} node(s), first at node {int(bad[0])}")
    if batch is not None and n > 0 and int(batch.min()) < 0:
        raise ValueError(f"{where}: 'batch' has negative graph ids (min {int(batch.min())})")
    unsorted = (batch[1:] < batch[:-1]).nonzero() if batch is not None else batch
    if unsorted is not None and unsorted.numel() > 0:
        i = int(unsorted[0])
        raise ValueError(
            f"{where}: 'batch' must be sorted (nodes of one graph contiguous, graphs in "
            f"increasing order, as PyG's DataLoader makes it); batch[{i}] = "
            f"{int(batch[i])} > batch[{i + 1}] = {int(batch[i + 1])}"
        )
    if batch is not None and num_edges > 0:
        cross = batch[edge_index[0]] != batch[edge_index[1]]
        if bool(cross.any()):
            e = int(cross.nonzero()[0])
            a, b = edge_index[:, e].tolist()
            raise ValueError(
                f"{where}: edge {e} ({a} -> {b}) joins graph {int(batch[a])} and graph "
                f"{int(batch[b])}; 'batch' disagrees with 'edge_index'"
            )
    if edge_weight is not None and num_edges > 0:
        w = edge_weight.detach()
        bad = ~torch.isfinite(w)
        if bool(bad.any()):
            e = int(bad.nonzero()[0])
            raise ValueError(
                f"{where}: 'edge_weight' must be finite; {_edge(edge_index, e)} has "
                f"{float(w[e])} ({int(bad.sum())} non-finite weight(s))"
            )
        neg = w < 0
        if nonnegative_weights is not None and bool(neg.any()):
            e = int(neg.nonzero()[0])
            raise ValueError(
                f"{where}: 'edge_weight' must be >= 0 ({nonnegative_weights}); "
                f"{_edge(edge_index, e)} has {float(w[e])} ({int(neg.sum())} negative "
                f"weight(s))"
            )
    if edge_attr is not None and edge_attr.is_floating_point() and edge_attr.numel() > 0:
        bad = (~torch.isfinite(edge_attr.detach())).reshape(num_edges, -1).any(dim=1)
        if bool(bad.any()):
            e = int(bad.nonzero()[0])
            kind = "NaN" if bool(torch.isnan(edge_attr).any()) else "inf"
            raise ValueError(
                f"{where}: 'edge_attr' contains {kind} values in {int(bad.sum())} edge(s), "
                f"first at {_edge(edge_index, e)}"
            )
    # Otherwise a sum of finite values overflowed: nothing is wrong.


def prepare_pool_input(
    x: Tensor,
    edge_index: Tensor,
    batch: Optional[Tensor],
    edge_attr: Optional[Tensor],
    edge_weight: Optional[Tensor],
    where: str,
    in_channels: Optional[int] = None,
    *,
    dtype: Optional[torch.dtype] = None,
    device: Optional[torch.device] = None,
    nonnegative_weights: Optional[str] = None,
) -> Tuple[Tensor, Tensor]:
    """A pooler's input checks: :func:`check_graph` (with ``nonnegative_weights``), then —
    whether checks are on or not, as they cost nothing — ``x`` as ``[N, F]`` with ``F ==
    in_channels``, dtype ``dtype`` and on ``device`` (the pooler's parameters'; each when given),
    and ``edge_weight`` of ``x``'s dtype.  Returns ``(x, batch)``, with ``batch`` all zeros when it
    was ``None``."""
    check_device(x, where, device)  # first: the value checks would run on the wrong device
    check_graph(
        x, edge_index, batch, edge_attr, where=where, edge_weight=edge_weight, nonnegative_weights=nonnegative_weights
    )
    x = check_features(x, where, in_channels, dtype, device=device)
    if isinstance(edge_weight, Tensor) and edge_weight.dtype != x.dtype:
        raise ValueError(
            f"{where}: 'edge_weight' has dtype {edge_weight.dtype} but 'x' has {x.dtype}; "
            f"give them one dtype (edge_weight.to(x.dtype))"
        )
    if batch is None:
        batch = edge_index.new_zeros(x.size(0))
    return x, batch


def check_features(
    x: Tensor,
    where: str,
    in_channels: Optional[int] = None,
    dtype: Optional[torch.dtype] = None,
    owner: str = "pooler",
    *,
    device: Optional[torch.device] = None,
) -> Tensor:
    """``x`` as ``[N, F]``, checked to have ``F == in_channels`` columns, dtype ``dtype`` and to lie on
    ``device`` (each when given).  Metadata only (no synchronisation), so it runs whether checks
    are on or not."""
    if not isinstance(x, Tensor) or x.dim() not in (1, 2):
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{where}: 'x' must have shape [num_nodes] or [num_nodes, channels], got {shape}")
    x = x.view(-1, 1) if x.dim() == 1 else x
    if in_channels is not None and x.size(1) != in_channels:
        raise ValueError(
            f"{where}: 'x' has {x.size(1)} features but the {owner} was built for in_channels={in_channels}"
        )
    if dtype is not None and x.dtype != dtype:
        raise ValueError(_floating_x_message(x, where, dtype))
    check_device(x, where, device, owner)
    return x


def check_device(x, where: str, device: Optional[torch.device], owner: str = "pooler") -> None:
    """``x`` (when a tensor) on ``device``, the module's parameters' (when given): metadata only."""
    if device is not None and isinstance(x, Tensor) and x.device != device:
        raise ValueError(
            f"{where}: 'x' is on {x.device} but the {owner}'s parameters are on {device}; "
            f"move the data or the {owner} (.to(device))"
        )


def param_dtype(module: torch.nn.Module) -> Optional[torch.dtype]:
    """The dtype of ``module``'s first floating-point parameter (``None`` if it has none)."""
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return None


def param_device(module: torch.nn.Module) -> Optional[torch.device]:
    """The device of ``module``'s first parameter (``None`` if it has none)."""
    for p in module.parameters():
        return p.device
    return None


def check_sizes(sizes: Optional[Tensor], batch: Tensor, where: str) -> Optional[Tensor]:
    """``sizes``, the most nodes each graph may keep at a level (``schedule: auto``), checked: an
    integer tensor ``[B]`` on ``batch``'s device with one entry per graph of ``batch`` (at least
    ``batch[-1] + 1`` of them) and every entry ``>= 1``; returned as int64 (``None`` stays)."""
    if sizes is None:
        return None
    need = int(batch[-1]) + 1 if batch.numel() else 0
    if (
        not isinstance(sizes, Tensor)
        or sizes.dim() != 1
        or sizes.is_floating_point()
        or sizes.is_complex()
        or sizes.dtype == torch.bool
        or sizes.size(0) < need
        or sizes.device != batch.device
    ):
        got = (
            f"{sizes.dtype} {tuple(sizes.shape)} on {sizes.device}" if isinstance(sizes, Tensor) else _type_name(sizes)
        )
        raise ValueError(
            f"{where}: 'sizes' (nodes kept per graph) must be an integer [B >= {need}] tensor on "
            f"{batch.device}, got {got}"
        )
    if sizes.numel() and int(sizes.min()) < 1:
        g = int((sizes < 1).nonzero()[0])
        raise ValueError(f"{where}: 'sizes' must be >= 1 for every graph, got {int(sizes[g])} for graph {g}")
    return sizes.long()
