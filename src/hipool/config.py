"""The model config: one small typed description of a model, shared by the API and the CLI.

A hierarchical model is ``levels`` blocks of *conv → pool*, a readout, and a
classifier head::

    conv: gcn              # gcn | graphconv | gin | sage | gine | gatv2 (the last two read edge_attr)
    hidden: 64
    convs_per_level: 1     # message-passing layers in each conv block, or one count per block
                           # ([4, 2, 2]: 4 on the input graph, 2 on each pooled one)
    norm: none             # none | batch | layer | graph: after every conv (PyG's norm layers)
    act: relu              # relu | gelu | elu | leaky_relu | tanh
    residual: false        # x + conv(x) where the widths agree
    encoder: false         # a linear layer in_channels -> hidden before the first conv
    pool: topk             # one name for every level, or a list: [topk, sag] (hipool poolers lists them)
    schedule: [0.5, 0.5]   # per level: float = ratio kept, int = target nodes per graph,
                           # 'given' for pool: given (the data's own groups)
    readout: mean          # mean | sum | max | meanmax | attention
    combine: last          # last | sum | concat  (readouts of every level, SAGPool-style)
    levels_read: pooled    # pooled: a readout after every pooling (conv -> pool -> readout);
                           # all: also level 0 and a conv block after the last pooling
    dropout: 0.0
    head: []               # hidden widths of the classifier MLP ([] = one linear layer)
    pool_options: {}       # options for the poolers: flat ({min_score: 0.1}) for every level,
                           # or per pooler name ({diffpool: {assign: gcn}, topk: {...}})
    aux_weights: {}        # weights of the poolers' auxiliary losses in the training loss:
                           # by name ({link: 1.0, entropy: 0.1}) or per level ({level2/link: 0.5});
                           # unnamed losses weigh 1.0
    task: graph            # graph: one prediction per graph | node: Graph U-Net, one per node
    skip: sum              # node task: how the way up joins the way down (sum | concat)
    localize: 0.0          # weight of a node-level loss against the data's 'localize_target'
    localize_target: defect_mask  # a bool/0-1 node attribute (circuits: the defect's nodes)

``schedule`` may also be a string of target sizes, ``"100→50→25→10"`` (or with
``->``): each graph is pooled to ``min(its size, target)`` at each level.  ``schedule: auto``
(with ``levels``, default 3, and ``auto_top``, default 10) gives each graph its own sizes from
its input size, halving it toward ``auto_top`` and skipping the levels it no longer needs
(:mod:`hipool.nn.auto` has the rule per pooler family).
The poolers and what their schedule entries are come from the registry
(:mod:`hipool.nn.registry`; ``hipool poolers`` prints it): clustering poolers need an int
(the number of clusters) at their levels; selection poolers take either; contraction
poolers merge matched pairs, so their entry must be ``0.5`` (each graph ends up with
between half and all of its nodes).
In YAML, ``1`` is an int (keep one node) and ``1.0`` a float (keep all nodes).
``pool: given`` pools along the data's own hierarchy (``level_labels``); its schedule
entry is the word ``given`` (the data sets the sizes), and ``schedule`` may be left out
when every level is ``given`` (``levels`` then counts them, default 2).
``levels`` may be given with a scalar ``schedule`` (``levels: 3, schedule: 0.5``);
with a list it must match its length.  ``pool: none`` gives the global-pooling
baseline (the same convs, no pooling; see :meth:`ModelConfig.global_twin`).
With ``task: node`` the model is a Graph U-Net (pool down, unpool back up with
skip connections, a prediction per node; ``readout`` and ``combine`` do not apply).

Every key is checked for its type (``true`` is not a number, ``'64'`` is not an
int), range and finiteness (``.nan`` and ``.inf`` are refused everywhere,
``pool_options`` included), with an error that names the key (and, from a file, the
file and line).  Sanity bounds: at most :data:`MAX_LEVELS` (32) levels, widths
(``hidden``, ``head``) at most :data:`MAX_WIDTH` (16384), at most :data:`MAX_CONVS`
(32) convs per block and :data:`MAX_HEAD_LAYERS` (16) head layers; together they may not
make a model of more than :data:`hipool.nn.models.MAX_PARAMETERS` (2**30) parameters on the
data's features (checked before any training: :func:`hipool.nn.models.check_model_size`).
In YAML, numbers are plain decimal: ``010``, ``0x10`` and ``1:30`` are text (YAML 1.1
would read them as 8, 16 and 90), and the key's check says so.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Dict, List, Optional, Tuple, Union, cast

import yaml

from .checks import check_ratio, is_int, is_number
from .io import as_path, atomic_write_text, clip, read_yaml, shown, with_line
from .nn.auto import AUTO, DEFAULT_LEVELS, DEFAULT_TOP, cluster_caps
from .nn.convs import CONVS, EDGE_CONVS
from .nn.readout import READOUTS
from .nn.registry import FIXED_REASONS, GIVEN, NATURAL, REGISTRY

COMBINES = ("last", "sum", "concat")
NORMS = ("none", "batch", "layer", "graph")
ACTS = ("relu", "gelu", "elu", "leaky_relu", "tanh")
LEVELS_READ = ("pooled", "all")
TASKS = ("graph", "node")
SKIPS = ("sum", "concat")
GLOBAL = "none"

Ratio = Union[float, int]
#: One level's schedule entry: a ratio, a count, or :data:`GIVEN`.
Entry = Union[float, int, str]

#: Names of a graph's structure and features, which are not a 0/1 node mark ``localize_target`` can name.
_NOT_NODE_ATTRIBUTES = frozenset(
    {"x", "edge_index", "edge_attr", "edge_weight", "y", "batch", "ptr", "pos", "level_labels"}
)

#: Most pooling levels of a model.
MAX_LEVELS = 32
#: Widest layer (``hidden``, every entry of ``head``).
MAX_WIDTH = 16384
#: Most convs in one conv block (``convs_per_level``).
MAX_CONVS = 32
#: Most hidden layers of the classifier head.
MAX_HEAD_LAYERS = 16


def text_number_hint(value: Any) -> str:
    """For a string that reads as a number (``'1e-3'``: YAML 1.1 reads exponents without a
    dot as text), a hint on how to write it as a number; else ``''``."""
    if isinstance(value, str):
        if re.fullmatch(
            r"[-+]?(?:0[0-9_]+|0[xXoObB][0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)", value.strip()
        ):
            return (
                " (text: hipool reads numbers in plain decimal; an octal 010, a hex 0x10 or a base-60 1:30 "
                "is not read as a number)"
            )
        try:
            float(value)
        except ValueError:
            return ""
        return " (text, not a number: write numbers without quotes, and exponents with a dot, 1.0e-3)"
    return ""


def is_finite_number(v: Any) -> bool:
    """An int or float (not a bool) that is finite as a float: an int beyond float range (``10**400``)
    is not (``math.isfinite`` would raise ``OverflowError`` on it)."""
    if not is_number(v):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def check_int(v: Any, name: str, where: str, low: int = 1, high: Optional[int] = None, extra: str = "") -> int:
    """``v`` if it is an int in ``[low, high]``; else a ``ValueError`` naming ``name``."""
    if not is_int(v) or v < low:
        raise ValueError(f"{where}: '{name}' must be an int >= {low}{extra}, got {shown(v)}{text_number_hint(v)}")
    if high is not None and v > high:
        raise ValueError(f"{where}: '{name}' must be at most {high:,}, got {shown(v)}")
    return v


def _non_finite(value: Any, path: str, depth: int = 0) -> Optional[Tuple[str, float]]:
    """``(dotted path, value)`` of the first NaN or infinite number in nested options, else ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if depth > 16:
        return None
    items = (
        value.items()
        if isinstance(value, dict)
        else ((f"[{i}]", v) for i, v in enumerate(value))
        if isinstance(value, (list, tuple))
        else ()
    )
    for k, v in items:
        found = _non_finite(v, f"{path}{k}" if str(k).startswith("[") else f"{path}.{k}", depth + 1)
        if found:
            return found
    return None


def _not_plain(value: Any, path: str, depth: int = 0) -> Optional[Tuple[str, Any]]:
    """``(dotted path, value)`` of the first value in nested options that a YAML file cannot hold
    (a function, a class, a tensor), else ``None``: a config is written to run folders and read back."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return None
    if not isinstance(value, (dict, list, tuple)) or depth > 16:
        return path, value
    items = value.items() if isinstance(value, dict) else ((f"[{i}]", v) for i, v in enumerate(value))
    for k, v in items:
        found = _not_plain(v, f"{path}{k}" if str(k).startswith("[") else f"{path}.{k}", depth + 1)
        if found:
            return found
    return None


def parse_schedule(value: Any) -> List[Entry]:
    """``"100→50→25"`` / ``"0.5,0.5"`` / ``[0.5, 0.5]`` / ``0.5`` → list of ratios or sizes
    (``given``, ``natural`` and ``auto`` stay words: the entry of a ``pool: given`` level, of a
    pooler that sets its own sizes (NDP, SEP), and the per-graph schedule of :mod:`hipool.nn.auto`)."""
    if isinstance(value, str):
        parts = [p.strip() for p in re.split(r"→|->|,", value) if p.strip()]
        if not parts:
            raise ValueError(f"model config: 'schedule' string {shown(value)} names no level")
        out: List[Entry] = []
        for p in parts:
            if p in (GIVEN, AUTO, NATURAL):
                out.append(p)
                continue
            try:
                out.append(int(p) if re.fullmatch(r"[+-]?\d+", p) else float(p))
            except ValueError:
                raise ValueError(
                    f"model config: 'schedule' entry {shown(p)} in {shown(value)} is not a number"
                ) from None
        return out
    if is_number(value):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError(
        f"model config: 'schedule' must be a list, a number or a string like '100→50→25', got {shown(value)}"
    )


def from_mapping(
    cls,
    data: Any,
    source: str,
    *,
    allowed: List[str],
    unknown: str,
    prefix: str,
    not_mapping: str = "expected a mapping of settings",
):
    """``cls(**data)`` for a settings dataclass, with errors that start with ``source``: a key
    not in ``allowed`` (listed), or the class's own check (its ``prefix`` replaced by ``source``)."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: {not_mapping}, got {type(data).__name__}")
    extra = sorted((k for k in data if k not in allowed), key=repr)
    if extra:
        listed = ", ".join(shown(k, 60) for k in extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        raise ValueError(f"{source}: {unknown} {listed}; allowed: {', '.join(allowed)}")
    try:
        return cls(**data)
    except ValueError as e:
        raise ValueError(f"{source}: {e}".replace(prefix, "")) from None


@dataclass
class ModelConfig:
    """Description of a hierarchical (or, with ``pool: none``, global) GNN classifier."""

    conv: str = "gcn"
    hidden: int = 64
    pool: Union[str, List[str]] = "topk"
    schedule: Union[str, Ratio, List[Entry], None] = None  # None: [0.5, 0.5], or 'given' per level
    levels: Optional[int] = None
    readout: str = "mean"
    combine: str = "last"
    dropout: float = 0.0
    head: List[int] = field(default_factory=list)
    pool_options: Dict[str, Any] = field(default_factory=dict)
    aux_weights: Dict[str, float] = field(default_factory=dict)
    task: str = "graph"
    skip: str = "sum"
    convs_per_level: Union[int, List[int]] = 1
    norm: str = "none"
    act: str = "relu"
    residual: bool = False
    encoder: bool = False
    levels_read: str = "pooled"
    localize: float = 0.0
    localize_target: str = "defect_mask"
    auto_top: int = DEFAULT_TOP  # schedule: auto halves each graph toward this many nodes

    def __post_init__(self) -> None:
        where = "model config"
        if isinstance(self.pool, tuple):
            self.pool = list(self.pool)
        if not (
            isinstance(self.pool, str)
            or (isinstance(self.pool, list) and self.pool and all(isinstance(p, str) for p in self.pool))
        ):
            raise ValueError(
                f"model config: 'pool' must be a pooler's name or a list of them (one per level), "
                f"got {shown(self.pool)}"
            )
        if self.levels is not None:
            check_int(self.levels, "levels", where, high=MAX_LEVELS)
        if self.schedule is None:
            all_given = self.pool == GIVEN or (isinstance(self.pool, list) and all(p == GIVEN for p in self.pool))
            if all_given:
                n = len(self.pool) if isinstance(self.pool, list) else self.levels
                self.schedule = [GIVEN] * (n or 2)
            else:
                self.schedule = [0.5, 0.5]
        sched = parse_schedule(self.schedule)
        if sched == [AUTO] and self.levels is None:  # the pool list's length, else the default
            sched = [AUTO] * (len(self.pool) if isinstance(self.pool, list) else DEFAULT_LEVELS)
        if not sched:
            raise ValueError("model config: 'schedule' lists no level; give one entry per level (e.g. [0.5, 0.5])")
        if len(sched) > MAX_LEVELS:
            raise ValueError(f"model config: 'schedule' has {len(sched)} levels; at most {MAX_LEVELS}")
        if self.levels is not None:
            if len(sched) == 1:
                sched = sched * self.levels
            elif len(sched) != self.levels:
                raise ValueError(
                    f"model config: 'levels' is {self.levels} but 'schedule' has {len(sched)} entries {shown(sched)}"
                )
        self.schedule = sched
        self.levels = len(sched)
        for i, r in enumerate(sched):
            if r in (GIVEN, AUTO, NATURAL):
                continue
            if isinstance(r, str) or not is_number(r):
                raise ValueError(
                    f"model config: 'schedule[{i}]' must be a number (a float: the fraction of nodes "
                    f"kept, an int: nodes kept per graph), 'given', 'natural' or 'auto', got {shown(r)}"
                    f"{text_number_hint(r)}"
                )
            check_ratio(r, "model config", name=f"schedule[{i}]")

        if self.conv not in CONVS:
            raise ValueError(f"model config: 'conv' must be one of {', '.join(CONVS)}, got {shown(self.conv)}")
        self._check_block()
        check_int(self.hidden, "hidden", where, high=MAX_WIDTH)
        pools = [self.pool] * self.levels if isinstance(self.pool, str) else list(self.pool)
        if len(pools) != self.levels:
            raise ValueError(
                f"model config: 'pool' lists {len(pools)} poolers but the schedule has {self.levels} levels"
            )
        allowed = sorted(REGISTRY) + [GLOBAL]
        for p in pools:
            if p not in allowed:
                raise ValueError(f"model config: unknown pooler {shown(p)} in 'pool'; choose from {', '.join(allowed)}")
        if GLOBAL in pools and any(p != GLOBAL for p in pools):
            raise ValueError("model config: 'pool: none' (global baseline) cannot be mixed with poolers")
        if self.readout not in READOUTS:
            raise ValueError(f"model config: 'readout' must be one of {', '.join(READOUTS)}, got {shown(self.readout)}")
        if self.combine not in COMBINES:
            raise ValueError(f"model config: 'combine' must be one of {', '.join(COMBINES)}, got {shown(self.combine)}")
        if not is_number(self.dropout) or not 0 <= self.dropout < 1:
            raise ValueError(
                f"model config: 'dropout' must be a number in [0, 1), got {shown(self.dropout)}"
                f"{text_number_hint(self.dropout)}"
            )
        if isinstance(self.head, tuple):
            self.head = list(self.head)
        if not isinstance(self.head, list) or not all(is_int(h) and h >= 1 for h in self.head):
            raise ValueError(f"model config: 'head' must be a list of positive ints, got {shown(self.head)}")
        if len(self.head) > MAX_HEAD_LAYERS or any(h > MAX_WIDTH for h in self.head):
            raise ValueError(
                f"model config: 'head' may have at most {MAX_HEAD_LAYERS} layers of at most "
                f"{MAX_WIDTH:,} units, got {shown(self.head)}"
            )
        if not isinstance(self.pool_options, dict):
            raise ValueError(f"model config: 'pool_options' must be a mapping, got {shown(self.pool_options)}")
        bad = [k for k in self.pool_options if not isinstance(k, str)]
        if bad:
            raise ValueError(f"model config: 'pool_options' keys must be option or pooler names, got {shown(bad[0])}")
        odd = _not_plain(self.pool_options, "pool_options")
        if odd:
            raise ValueError(
                f"model config: '{clip(odd[0], 80)}' must be plain data (text, a number, "
                f"true/false, null, a list or a mapping: what a YAML file holds), got "
                f"{shown(odd[1])}"
            )
        found = _non_finite(self.pool_options, "pool_options")
        if found:
            raise ValueError(f"model config: '{clip(found[0], 80)}' must be a finite number, got {found[1]}")
        named = [k for k in self.pool_options if k in REGISTRY]
        if named:
            if len(named) != len(self.pool_options):
                others = sorted(set(self.pool_options) - set(named))
                raise ValueError(
                    f"model config: 'pool_options' mixes per-pooler sections {named} with "
                    f"flat options {shown(others)}; put every option under its pooler's name"
                )
            for name, opts in self.pool_options.items():
                if not isinstance(opts, dict):
                    raise ValueError(f"model config: 'pool_options.{name}' must be a mapping, got {shown(opts)}")
                if name not in pools:
                    raise ValueError(
                        f"model config: 'pool_options' has a section for {name!r}, which no level uses (pool: {pools})"
                    )
        if self.task not in TASKS:
            raise ValueError(f"model config: 'task' must be one of {', '.join(TASKS)}, got {shown(self.task)}")
        if self.skip not in SKIPS:
            raise ValueError(f"model config: 'skip' must be one of {', '.join(SKIPS)}, got {shown(self.skip)}")
        if self.task == "node" and self.combine != "last":
            raise ValueError(
                "model config: 'combine' joins per-level graph readouts; a node model "
                "('task: node') has none, so leave it at 'last'"
            )
        self._check_auto(pools, sched)
        for i, (p, r) in enumerate(zip(pools, sched)):
            if r == AUTO:
                continue
            if (p == GIVEN) != (r == GIVEN):
                raise ValueError(
                    f"model config: 'schedule[{i}]' is {r!r}, but level {i + 1} "
                    + (
                        "pools along the data's known hierarchy (pool: given), whose groups set its size; "
                        "write 'given' there (or leave 'schedule' out when every level is given)"
                        if p == GIVEN
                        else f"uses {p}; 'given' is the entry of a 'pool: given' level only"
                    )
                )
            if r == GIVEN:
                continue
            spec = REGISTRY[p] if p != GLOBAL else None
            fixed = spec.fixed_entry if spec is not None else None
            if spec is not None and fixed is not None and r != fixed:
                raise ValueError(
                    f"model config: 'schedule[{i}]' is {r!r}, but {p} at level {i + 1} "
                    f"{FIXED_REASONS[spec.entry]}; write {fixed}"
                )
            if spec is None and r == NATURAL:
                raise ValueError(
                    f"model config: 'schedule[{i}]' is 'natural', the entry of a pooler that sets its own "
                    f"sizes (NDP, SEP); level {i + 1} does not pool"
                )
            if spec is not None and spec.needs_count and not isinstance(r, int):
                raise ValueError(
                    f"model config: 'schedule[{i}]' is {r!r}, but {p} at level {i + 1} needs "
                    f'an absolute cluster count (an int, e.g. "100→50→25")'
                )
            if spec is not None and spec.entry == "order" and not isinstance(r, int):
                raise ValueError(
                    f"model config: 'schedule[{i}]' is {r!r}, but {p} at level {i + 1} takes the hop "
                    f"distance k as its entry (an int >= 1, e.g. [1, 1]: kept nodes more than 1 hop apart)"
                )
        self._check_aux_weights(pools)
        self._check_poolers(pools)
        if (
            isinstance(self.convs_per_level, list)
            and self.task == "graph"
            and len(self.convs_per_level) != self.num_blocks
        ):
            raise ValueError(
                f"model config: 'convs_per_level' lists {len(self.convs_per_level)} counts, but the "
                f"model has {self.num_blocks} conv blocks ({self.levels} levels"
                f"{' + level 0, levels_read: all' if self.levels_read == 'all' else ''})"
            )

    def _check_auto(self, pools: List[str], sched: List[Entry]) -> None:
        """``schedule: auto`` (:mod:`hipool.nn.auto`): every level or none, no ``given`` level, no
        ``min_score``; ``auto_top`` an int >= 1, set only with it."""
        auto = [r == AUTO for r in sched]
        if any(auto) and not all(auto):
            raise ValueError(
                f"model config: 'schedule' {shown(sched)} mixes 'auto' with other entries; 'auto' sets "
                f"every level's sizes per graph, so write 'schedule: auto' (with 'levels') or no 'auto'"
            )
        if not is_int(self.auto_top) or not 1 <= self.auto_top <= 10**9:
            raise ValueError(
                f"model config: 'auto_top' (the size schedule: auto halves each graph toward) must be an "
                f"int from 1 to 1000000000, got {shown(self.auto_top)}{text_number_hint(self.auto_top)}"
            )
        if not any(auto):
            if self.auto_top != DEFAULT_TOP:
                raise ValueError("model config: 'auto_top' applies to 'schedule: auto' only")
            return
        if GIVEN in pools:
            raise ValueError(
                "model config: 'schedule: auto' cannot size a 'pool: given' level (the data's groups set "
                "its size); give the other levels a schedule instead"
            )
        fixed_size = sorted(p for p in set(pools) - {GLOBAL} if not REGISTRY[p].sizeable)
        if fixed_size:
            raise ValueError(
                f"model config: 'schedule: auto' sets each graph's sizes, but {', '.join(fixed_size)} "
                f"cannot take them (the method sets its own sizes); give a schedule instead"
            )
        for p in set(pools) - {GLOBAL}:
            if self.options_for(p).get("min_score") is not None:
                raise ValueError(
                    f"model config: {p}'s 'min_score' keeps nodes by score, but 'schedule: auto' sets the "
                    f"nodes kept per graph; use one or the other"
                )

    @property
    def is_auto(self) -> bool:
        """Whether the schedule is ``auto`` (each graph's sizes from its own, :mod:`hipool.nn.auto`)."""
        return bool(self.entries) and self.entries[0] == AUTO

    @property
    def build_entries(self) -> List[Entry]:
        """The schedule entry every level's pooler is built with: the schedule itself, or for
        ``schedule: auto`` ``1.0`` at a selection level (the per-graph sizes cap it), the cluster cap
        :func:`~hipool.nn.auto.cluster_caps` at a clustering level and ``0.5`` at a contraction one."""
        if not self.is_auto:
            return list(self.entries)
        caps = cluster_caps(self.num_levels, self.auto_top)
        out: List[Entry] = []
        for p, cap in zip(self.poolers, caps):
            if p == GLOBAL:
                out.append(1.0)
                continue
            spec = REGISTRY[p]
            fixed = spec.fixed_entry
            out.append(cap if spec.needs_count else fixed if fixed is not None else 1.0)
        return out

    def _check_poolers(self, pools: List[str]) -> None:
        """Build every level's pooler on torch's meta device (no memory, no data), so that a
        ``pool_options`` value or key the pooler refuses fails when the config is read, with the
        file and line, not later when the model is built."""
        import torch

        sectioned = any(k in REGISTRY for k in self.pool_options)
        for i, (p, r) in enumerate(zip(pools, self.build_entries)):
            if p == GLOBAL:
                continue
            try:
                with torch.device("meta"):
                    pool = REGISTRY[p].build(self.hidden, r, self.options_for(p))
                width = getattr(pool, "out_channels", self.hidden)
                if width != self.hidden:
                    raise ValueError(
                        f"its output is {width} wide for {self.hidden} in; a model's levels keep the width "
                        f"'hidden' (EigenPool: num_modes: 1; use the class directly for more)"
                    )
            except (TypeError, ValueError) as e:
                key = f"pool_options.{p}" if sectioned and p in self.pool_options else "pool_options"
                message = str(e).removeprefix("model config: ").removeprefix(f"{p}: ")
                if "allowed:" not in message:
                    message += f" ({p}'s options: {', '.join(REGISTRY[p].options) or 'none'})"
                raise ValueError(f"model config: '{key}' ({p}, level {i + 1}): {message}") from None

    def _check_block(self) -> None:
        """The options of the conv blocks, readouts and the localisation loss."""
        v = self.convs_per_level
        counts = v if isinstance(v, (list, tuple)) else [v]
        if not counts or any(not is_int(c) or c < 1 for c in counts):
            raise ValueError(
                f"model config: 'convs_per_level' must be an int >= 1 or a list of them (one per "
                f"conv block), got {shown(v)}{text_number_hint(v)}"
            )
        if len(counts) > MAX_LEVELS + 1 or max(counts) > MAX_CONVS:
            raise ValueError(
                f"model config: 'convs_per_level' may give at most {MAX_CONVS} convs per block, got {shown(v)}"
            )
        if isinstance(v, (list, tuple)):
            self.convs_per_level = list(v)
        for key, allowed in (("norm", NORMS), ("act", ACTS), ("levels_read", LEVELS_READ)):
            if getattr(self, key) not in allowed:
                raise ValueError(
                    f"model config: '{key}' must be one of {', '.join(allowed)}, got {shown(getattr(self, key))}"
                )
        for key in ("residual", "encoder"):
            if not isinstance(getattr(self, key), bool):
                raise ValueError(f"model config: '{key}' must be true or false, got {shown(getattr(self, key))}")
        w = self.localize
        if not is_finite_number(w) or w < 0:
            raise ValueError(
                f"model config: 'localize' (weight of the node-level loss) must be a finite "
                f"number >= 0, got {shown(w)}{text_number_hint(w)}"
            )
        self.localize = float(w)
        if (
            not isinstance(self.localize_target, str)
            or not self.localize_target.isidentifier()
            or len(self.localize_target) > 100
            or self.localize_target.startswith("_")
            or self.localize_target in _NOT_NODE_ATTRIBUTES
        ):
            raise ValueError(
                f"model config: 'localize_target' must name a node attribute, got {shown(self.localize_target)}"
            )
        if self.task == "node":
            used = [
                k
                for k, default in (
                    ("localize", 0.0),
                    ("levels_read", "pooled"),
                    ("convs_per_level", 1),
                    ("norm", "none"),
                    ("residual", False),
                    ("encoder", False),
                )
                if getattr(self, k) != default
            ]
            if used:
                raise ValueError(
                    f"model config: {', '.join(map(repr, used))} apply to graph classifiers "
                    f"('task: graph'); the Graph U-Net ('task: node') has one conv per level "
                    f"and predicts per node already"
                )

    @property
    def num_blocks(self) -> int:
        """Conv blocks of a graph classifier: ``levels``, or ``levels + 1`` with ``levels_read: all``."""
        return self.levels + (1 if self.levels_read == "all" else 0)  # type: ignore[operator]

    def block_convs(self) -> List[int]:
        """The number of convs of every conv block (``convs_per_level``, spread over the blocks)."""
        v = self.convs_per_level
        return list(v) if isinstance(v, list) else [v] * self.num_blocks

    def _check_aux_weights(self, pools: List[str]) -> None:
        if not isinstance(self.aux_weights, dict):
            raise ValueError(f"model config: 'aux_weights' must be a mapping, got {shown(self.aux_weights)}")
        per_level = [REGISTRY[p].losses if p != GLOBAL else () for p in pools]
        known = sorted({name for losses in per_level for name in losses})
        for key, value in self.aux_weights.items():
            if not isinstance(key, str):
                raise ValueError(f"model config: 'aux_weights' keys must be loss names, got {shown(key)}")
            if not is_finite_number(value) or value < 0:
                raise ValueError(
                    f"model config: 'aux_weights.{clip(key, 60)}' must be a finite number "
                    f">= 0, got {shown(value)}{text_number_hint(value)}"
                )
            m = re.fullmatch(r"level(\d{1,6})/(\w+)", key)
            if m:
                level, name = int(m.group(1)), m.group(2)
                if not 1 <= level <= len(pools) or name not in per_level[level - 1]:
                    at = (
                        f"level {level} ({pools[level - 1]}) has losses {list(per_level[level - 1])}"
                        if 1 <= level <= len(pools)
                        else f"levels are 1..{len(pools)}"
                    )
                    raise ValueError(f"model config: 'aux_weights' key {shown(key)} names no loss: {at}")
            elif key not in known:
                raise ValueError(
                    f"model config: 'aux_weights' key {shown(key)} is not a loss of the configured "
                    f"poolers; known: {', '.join(known) or 'none (selection poolers have none)'}"
                )

    def options_for(self, pooler: str) -> Dict[str, Any]:
        """The ``pool_options`` that apply to ``pooler`` (flat, or its own section)."""
        if any(k in REGISTRY for k in self.pool_options):
            return dict(self.pool_options.get(pooler, {}))
        return dict(self.pool_options)

    def aux_weight(self, level: int, name: str) -> float:
        """Weight of loss ``name`` of ``level`` (1-based): per-level key, else by name, else 1."""
        return float(self.aux_weights.get(f"level{level}/{name}", self.aux_weights.get(name, 1.0)))

    # -- derived -------------------------------------------------------------
    @property
    def entries(self) -> List[Entry]:
        """The schedule as checked: one entry per level (``schedule`` after ``__post_init__``)."""
        return cast(List[Entry], self.schedule)

    @property
    def num_levels(self) -> int:
        """The number of pooling levels (``levels`` after ``__post_init__``)."""
        return cast(int, self.levels)

    @property
    def poolers(self) -> List[str]:
        """The pooler of every level."""
        return [self.pool] * self.num_levels if isinstance(self.pool, str) else list(self.pool)

    @property
    def is_global(self) -> bool:
        return self.poolers[0] == GLOBAL

    @property
    def edge_aware(self) -> bool:
        """Whether the convs read ``edge_attr`` (the data must have it)."""
        return self.conv in EDGE_CONVS

    @property
    def given_levels(self) -> List[int]:
        """The levels (1-based) that pool along the data's ``level_labels`` (``pool: given``)."""
        return [i for i, p in enumerate(self.poolers, start=1) if p == GIVEN]

    def global_twin(self) -> "ModelConfig":
        """The same model with no pooling: the fair global-pooling baseline."""
        sched = [1.0 if r in (GIVEN, AUTO, NATURAL) else r for r in self.schedule]  # type: ignore[union-attr]
        return replace(self, pool=GLOBAL, schedule=sched, pool_options={}, aux_weights={}, auto_top=DEFAULT_TOP)

    # -- (de)serialisation ---------------------------------------------------
    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "model config") -> "ModelConfig":
        return from_mapping(
            cls,
            data,
            source,
            allowed=sorted(f.name for f in fields(cls)),
            unknown="unknown key(s)",
            prefix="model config: ",
        )

    @classmethod
    def from_yaml(cls, path: Union[str, os.PathLike]) -> "ModelConfig":
        path = as_path(path, "model config")
        data, node = read_yaml(path, "model config", nodes=True)
        if data is None:
            raise ValueError(
                f"model config {path}: the file is empty; write at least one key (e.g. pool: topk), "
                f"or leave the file out for the default model"
            )
        if isinstance(data, dict) and "model" in data and node is not None:
            root = node
            key, node = next((k, v) for k, v in root.value if getattr(k, "value", None) == "model")
            if not isinstance(data["model"], dict) or not data["model"]:
                raise ValueError(
                    f"{path}:{key.start_mark.line + 1}: the 'model' section must be a mapping of "
                    f"settings (e.g. pool: topk), got {shown(data['model'])}"
                )
            other = next((k for k, _ in root.value if getattr(k, "value", None) != "model"), None)
            if other is not None:
                note = (
                    " (training settings are read by `hipool train CONFIG`, not here)" if other.value == "train" else ""
                )
                raise ValueError(
                    f"{path}:{other.start_mark.line + 1}: unknown section {shown(other.value)}{note}; "
                    f"a model config has its keys at the top level or under 'model' only"
                )
            data = data["model"]
        try:
            return cls.from_dict(data, source=str(path))
        except ValueError as e:
            raise with_line(e, str(path), node) from None

    def to_dict(self) -> Dict[str, Any]:
        """The config as plain data; ``auto_top`` only with ``schedule: auto`` (it must be the default
        otherwise), so that the records of runs made before it existed still match."""
        out = asdict(self)
        if not self.is_auto:
            del out["auto_top"]
        return out

    def to_yaml(self, path: Union[str, os.PathLike, None] = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            atomic_write_text(as_path(path, "ModelConfig.to_yaml"), text)
        return text
