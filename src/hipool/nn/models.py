"""Models built from a :class:`~hipool.config.ModelConfig`.

:class:`HierarchicalGNN`: conv blocks, poolers, readouts and a head.  A conv block is
``convs_per_level`` times *conv → norm → act → dropout* (``+ x`` with ``residual``), after an
optional linear ``encoder``.  With ``levels_read: pooled`` (the seed model)::

    x ─ block₁ ─ pool₁ ─ readout ─ block₂ ─ pool₂ ─ readout ─ … ─ combine ─ head ─ logits

and with ``levels_read: all`` every level is read after its block, level 0 included::

    x ─ block₀ ─ readout₀ ─ pool₁ ─ block₁ ─ readout₁ ─ … ─ pool_L ─ block_L ─ readout_L ─ combine ─ head

``combine: last`` uses the last readout only; ``sum``/``concat`` join them, as in SAGPool's
hierarchical variant (Lee et al. 2019).  With ``localize`` a node head scores every input
node after block 0 (trained against a node attribute, see :func:`localize_loss`) and each
graph's highest score joins the readouts (``suspects``).

:class:`GlobalGNN`: the same blocks, readouts and head with no pooling — the
baseline a hierarchical model must beat to be worth its cost.

:class:`GraphUNet` (``task: node``): node classification through the hierarchy
and back, as in Gao & Ji's Graph U-Nets (ICML 2019)::

    x ─ conv ─ pool₁ ─ conv ─ pool₂ ─ conv ─ unpool₂ ─(+ skip)─ conv ─ unpool₁ ─(+ skip)─ conv ─ head

Every pooler lifts features back with its record's
:meth:`~hipool.record.PoolOutput.unpool`; skips add (``skip: sum``) or concatenate
(``skip: concat``) the features the level had on the way down.

All return logits (per graph, or per node for ``GraphUNet``), and
``(logits, hierarchy)`` with ``return_hierarchy=True``.  The graph classifiers
split their forward pass in two, ``level_readouts`` (the per-level graph vectors) and
``classify`` (combine and head), so that :mod:`hipool.explain.decide` can ask
what each level's readout contributed.
"""

from __future__ import annotations

import math
import warnings
from typing import List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from ..checks import checks_enabled
from ..config import ModelConfig
from ..data.base import LEVEL_LABELS, columns
from ..hierarchy import Hierarchy
from .blocks import Model, head, localize_loss, node_target  # noqa: F401 (node_target: re-exported)
from .convs import CONV_NAMES, make_conv
from .readout import Readout
from .registry import REGISTRY


class _GraphClassifier(Model):
    """Shared parts of the two graph classifiers: conv blocks, readouts, node head, classifier head.

    ``levels_read: pooled`` (the seed model): ``levels`` blocks, conv block → pool → readout.
    ``levels_read: all``: ``levels + 1`` blocks, conv block → readout → pool → … → conv block →
    readout, so level 0 (the input graph) is read too and the last pooled graph is convolved."""

    def __init__(self, config: ModelConfig, in_channels: int, num_classes: int, edge_channels: Optional[int] = None):
        super().__init__(config, in_channels, num_classes, edge_channels)
        h = config.hidden
        self.read_all = config.levels_read == "all"
        self.num_blocks = config.num_blocks
        self._make_convs()
        n_readouts = 1 if config.combine == "last" else self.num_blocks
        readouts = [Readout(config.readout, h) for _ in range(n_readouts)]
        self.readouts = torch.nn.ModuleList(readouts)
        out = readouts[0].out_channels
        #: Node scores (logits) for the localisation loss, read on the input graph after block 0, and
        #: the "suspects" readout: each graph's highest node score, mapped to a readout's width.
        self.locator = torch.nn.Linear(h, 1) if config.localize > 0 else None
        self.suspicion = torch.nn.Linear(1, out) if config.localize > 0 else None
        n_read = self.num_blocks + (1 if self.suspicion is not None else 0)
        width = out * (n_read if config.combine == "concat" else 1)
        self.head = head(width, config.head, num_classes, config.dropout)

    @property
    def readout_names(self) -> List[str]:
        """The name of every graph vector :meth:`level_readouts` returns: ``level l`` (``level 0``:
        the input graph) for a pooling model, ``layer l`` for a global one, and ``suspects`` (the
        highest node score, with ``localize``)."""
        word = "layer" if self.config.is_global else "level"
        levels = list(range(self.num_blocks)) if self.read_all else list(range(1, self.config.num_levels + 1))
        names = [f"{word} {i}" for i in (levels[-1:] if self.config.combine == "last" else levels)]
        return names + (["suspects"] if self.suspicion is not None else [])

    def _graph_vector(self, per_level: List[Tensor]) -> Tensor:
        if self.config.combine == "concat":
            return torch.cat(per_level, dim=-1)
        return per_level[0] if len(per_level) == 1 else torch.stack(per_level).sum(0)

    def _readout(self, i: int, x: Tensor, batch: Tensor, num_graphs: int) -> Optional[Tensor]:
        """Readout number ``i`` (of ``num_blocks``); ``None`` when ``combine: last`` skips it."""
        if self.config.combine == "last":
            return self.readouts[0](x, batch, num_graphs) if i == self.num_blocks - 1 else None
        return self.readouts[i](x, batch, num_graphs)

    def _node_scores(self, x: Tensor, hierarchy: Hierarchy) -> Optional[Tensor]:
        """With ``localize``: the node scores (kept on ``hierarchy``) and the suspects readout."""
        if self.locator is None or self.suspicion is None:
            return None
        scores = self.locator(x).view(-1)
        hierarchy.node_scores = scores
        top = scatter(scores.view(-1, 1), hierarchy.batch(0), 0, dim_size=hierarchy.num_graphs, reduce="max")
        return self.suspicion(top)

    def level_readouts(
        self,
        x: Union[Tensor, Data],
        edge_index: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        *,
        level_labels: Optional[Tensor] = None,
    ) -> Tuple[List[Tensor], Hierarchy]:
        """The graph vectors ``[num_graphs, width]`` the head combines (one per readout with
        ``combine: sum``/``concat``, see :attr:`readout_names`; the last one only with
        ``combine: last``; then the suspects readout with ``localize``) and the hierarchy of
        the pass.  ``classify(level_readouts)`` gives the logits."""
        raise NotImplementedError

    def classify(self, per_level: List[Tensor]) -> Tensor:
        """Logits from the per-level graph vectors :meth:`level_readouts` returns."""
        return self.head(self._graph_vector(per_level))

    def forward(
        self,
        x: Union[Tensor, Data],
        edge_index: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        *,
        level_labels: Optional[Tensor] = None,
        return_hierarchy: bool = False,
    ):
        per_level, hierarchy = self.level_readouts(x, edge_index, batch, edge_attr, level_labels=level_labels)
        logits = self.classify(per_level)
        return (logits, hierarchy) if return_hierarchy else logits


def _labels_for(
    config: ModelConfig, data: Optional[Data], level_labels: Optional[Tensor], num_nodes: int, where: str
) -> Optional[Tensor]:
    """The ``level_labels`` ``[N, L]`` a model with ``pool: given`` levels needs, checked."""
    given = config.given_levels
    if not given:
        return None
    if level_labels is None and data is not None:
        level_labels = getattr(data, LEVEL_LABELS, None)
    if level_labels is None:
        raise ValueError(
            f"{where}: level {given[0]} pools along the data's known hierarchy (pool: given), "
            f"but the graph has no {LEVEL_LABELS!r}; use data that carries its groups "
            f"(circuits, communities, molecules, your graphs' level1.. attributes) or a learned "
            f"pooler"
        )
    if (
        not isinstance(level_labels, Tensor)
        or level_labels.dim() not in (1, 2)
        or level_labels.size(0) != num_nodes
        or level_labels.is_floating_point()
        or level_labels.is_complex()
        or level_labels.dtype == torch.bool
    ):
        got = (
            f"{level_labels.dtype} {tuple(level_labels.shape)}"
            if isinstance(level_labels, Tensor)
            else type(level_labels).__name__
        )
        raise ValueError(f"{where}: {LEVEL_LABELS!r} must be an integer tensor [N={num_nodes}, L], got {got}")
    if level_labels.dim() == 1:
        level_labels = level_labels.view(-1, 1)
    if level_labels.size(1) < given[-1]:
        raise ValueError(
            f"{where}: level {given[-1]} pools along column {given[-1] - 1} of {LEVEL_LABELS!r} "
            f"(pool: given), but the data has {level_labels.size(1)} column(s)"
        )
    level_labels = level_labels.long()
    if checks_enabled() and level_labels.numel() and int(level_labels.min()) < -1:
        node, col = (level_labels < -1).nonzero()[0].tolist()
        raise ValueError(
            f"{where}: {LEVEL_LABELS!r} holds {int(level_labels[node, col])} at node {node}, "
            f"column {col}; group ids are >= 0, -1 for a node in no group"
        )
    return level_labels


class HierarchicalGNN(_GraphClassifier):
    """Hierarchical-pooling graph classifier (see the module docstring).

    Args:
        config: the model description; ``config.is_global`` must be false.
        in_channels: width of the input node features.
        num_classes: number of output logits.
        edge_channels: width of ``edge_attr`` (needed by the edge-aware convs).
    """

    def __init__(self, config: ModelConfig, in_channels: int, num_classes: int, edge_channels: Optional[int] = None):
        if config.is_global:
            raise ValueError("HierarchicalGNN: config has 'pool: none'; use GlobalGNN or build_model")
        super().__init__(config, in_channels, num_classes, edge_channels)
        self.pools = self._make_pools()

    def level_readouts(
        self,
        x: Union[Tensor, Data],
        edge_index: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        *,
        level_labels: Optional[Tensor] = None,
    ) -> Tuple[List[Tensor], Hierarchy]:
        x, edge_index, batch, edge_attr, num_graphs, data = self._prepare(x, edge_index, batch, edge_attr)
        labels = _labels_for(self.config, data, level_labels, x.size(0), type(self).__name__)
        hierarchy = Hierarchy(batch, num_graphs, validate=False)
        per_level: List[Tensor] = []
        edge_weight: Optional[Tensor] = None
        levels = self.config.num_levels
        suspects = None
        for i in range(self.num_blocks):
            x = self._block(i, x, edge_index, edge_weight, edge_attr, batch, num_graphs)
            if i == 0:
                suspects = self._node_scores(x, hierarchy)
            if self.read_all:
                r = self._readout(i, x, batch, num_graphs)
                if r is not None:
                    per_level.append(r)
            if i == levels:
                break
            out, labels = self._pool(i, x, edge_index, edge_attr, batch, edge_weight, labels, hierarchy)
            x, edge_index, edge_attr, batch = out.x, out.edge_index, out.edge_attr, out.batch
            edge_weight = out.edge_weight
            if not self.read_all:
                r = self._readout(i, x, batch, num_graphs)
                if r is not None:
                    per_level.append(r)
        if suspects is not None:
            per_level.append(suspects)
        return per_level, hierarchy


class GlobalGNN(_GraphClassifier):
    """The global-pooling twin of a :class:`HierarchicalGNN`: same conv blocks, readouts and head,
    no pooling.  With ``return_hierarchy=True`` the hierarchy has no levels."""

    def level_readouts(
        self,
        x: Union[Tensor, Data],
        edge_index: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        *,
        level_labels: Optional[Tensor] = None,
    ) -> Tuple[List[Tensor], Hierarchy]:
        x, edge_index, batch, edge_attr, num_graphs, _ = self._prepare(x, edge_index, batch, edge_attr)
        hierarchy = Hierarchy(batch, num_graphs, validate=False)
        per_level: List[Tensor] = []
        suspects = None
        for i in range(self.num_blocks):
            x = self._block(i, x, edge_index, None, edge_attr, batch, num_graphs)
            if i == 0:
                suspects = self._node_scores(x, hierarchy)
            r = self._readout(i, x, batch, num_graphs)
            if r is not None:
                per_level.append(r)
        if suspects is not None:
            per_level.append(suspects)
        return per_level, hierarchy


class GraphUNet(Model):
    """Node classifier through the pooling hierarchy and back (see the module docstring).

    ``config.levels`` pooling steps: ``levels + 1`` convs on the way down (one per
    level, the last on the coarsest graph), ``levels`` on the way up (one per
    unpooling), then the head on every node.  With ``pool: none`` it is the
    global twin: the same convs and skips on the input graph, no pooling.

    Args:
        config: the model description, with ``task: node``.
        in_channels: width of the input node features.
        num_classes: number of output logits per node.
        edge_channels: width of ``edge_attr`` (needed by the edge-aware convs).
    """

    def __init__(self, config: ModelConfig, in_channels: int, num_classes: int, edge_channels: Optional[int] = None):
        if config.task != "node":
            raise ValueError("GraphUNet: config has 'task: graph'; use build_model for graph classifiers")
        super().__init__(config, in_channels, num_classes, edge_channels)
        h, levels, e = config.hidden, config.num_levels, self.edge_channels
        self.down = torch.nn.ModuleList(
            make_conv(config.conv, in_channels if i == 0 else h, h, e) for i in range(levels + 1)
        )
        up_in = h if config.skip == "sum" else 2 * h
        self.up = torch.nn.ModuleList(make_conv(config.conv, up_in, h, e) for _ in range(levels))
        self.pools = torch.nn.ModuleList() if config.is_global else self._make_pools()
        self.head = head(h, config.head, num_classes, config.dropout)

    def forward(
        self,
        x: Union[Tensor, Data],
        edge_index: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
        *,
        level_labels: Optional[Tensor] = None,
        return_hierarchy: bool = False,
    ):
        x, edge_index, batch, edge_attr, num_graphs, data = self._prepare(x, edge_index, batch, edge_attr)
        labels = _labels_for(self.config, data, level_labels, x.size(0), type(self).__name__)
        hierarchy = Hierarchy(batch, num_graphs, validate=False)
        edge_weight: Optional[Tensor] = None
        x = self._conv_with(self.down[0], x, edge_index, None, edge_attr)
        skips: List[Tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor]]] = []
        for i in range(self.config.num_levels):
            skips.append((x, edge_index, edge_weight, edge_attr))
            if self.pools:
                out, labels = self._pool(i, x, edge_index, edge_attr, batch, edge_weight, labels, hierarchy)
                x, edge_index, edge_attr, batch = out.x, out.edge_index, out.edge_attr, out.batch
                edge_weight = out.edge_weight
            x = self._conv_with(self.down[i + 1], x, edge_index, edge_weight, edge_attr)
        for i in reversed(range(self.config.num_levels)):
            res, edge_index, edge_weight, edge_attr = skips[i]
            if self.pools:
                x = hierarchy[i + 1].unpool(x)
            x = x + res if self.config.skip == "sum" else torch.cat([x, res], dim=-1)
            x = self._conv_with(self.up[i], x, edge_index, edge_weight, edge_attr)
        logits = self.head(x)
        return (logits, hierarchy) if return_hierarchy else logits


def _check_cluster_counts(config: ModelConfig, name: str, largest: int) -> None:
    """Refuse a clustering level whose cluster count exceeds the most nodes any graph of the dataset
    can bring to that level (``largest`` nodes at level 0, then what each level keeps at most)."""
    if config.is_global or config.task != "graph":
        return
    n = largest
    for i, (p, r) in enumerate(zip(config.poolers, config.entries)):
        if isinstance(r, str) or p not in REGISTRY or REGISTRY[p].entry == "order":
            continue  # given, natural: the data or the method sets the sizes; k-MIS: r is a hop distance
        if REGISTRY[p].needs_count:
            if r > n:
                at = "the largest graph of the dataset has" if i == 0 else f"level {i} keeps at most"
                raise ValueError(
                    f"dataset {name}: 'schedule[{i}]' asks {p} for {r} clusters, but {at} {n} "
                    f"nodes; a level cannot use more clusters than it has nodes (the presets "
                    f"take ceil(mean graph size / 2) at level 1)"
                )
            n = int(r)
        elif isinstance(r, int):
            n = min(n, r)
        elif REGISTRY[p].fixed_entry is None:
            n = max(1, math.ceil(r * n))


def check_model_data(config: ModelConfig, dataset) -> None:
    """Fail before training, naming the dataset, graph and level, when ``dataset`` (a
    :class:`~hipool.data.base.GraphDataset`) cannot feed a model of ``config``: an edge-aware conv
    on graphs without ``edge_attr`` (or of mixed widths), ``pool: given`` at a level the data has
    no ``level_labels`` column for, ``localize`` without its node attribute, a level with more
    clusters than the largest graph can bring to it (the dense ``[graphs, k, k]`` adjacency of a
    ``schedule`` entry like 100000 would be terabytes, and empty clusters add nothing), a model of
    more than :data:`MAX_PARAMETERS` parameters on its features (:func:`check_model_size`)."""
    name = dataset.name
    _check_cluster_counts(config, name, max((g.num_nodes for g in dataset), default=0))
    width = dataset.num_edge_features
    given = config.given_levels
    for i, g in enumerate(dataset):
        if config.edge_aware:
            w = columns(getattr(g, "edge_attr", None))
            if not w or w != width:
                has = f"edge_attr of width {w}, graph 0 of width {width}" if w else "no edge_attr"
                hint = (
                    f"dataset {name} has no edge features: use one of {', '.join(CONV_NAMES)}"
                    if width == 0
                    else "every graph needs edge_attr of one width"
                )
                raise ValueError(
                    f"dataset {name}: graph {i} has {has}, but conv {config.conv!r} reads edge features ({hint})"
                )
        if given:
            cols = columns(getattr(g, LEVEL_LABELS, None))
            if cols < given[-1]:
                have = (
                    f"no {LEVEL_LABELS!r}"
                    if not cols
                    else f"{cols} {LEVEL_LABELS!r} column(s)"
                    + (f" ({', '.join(dataset.level_names)})" if dataset.level_names else "")
                )
                raise ValueError(
                    f"dataset {name}: level {given[-1]} of the model pools along column "
                    f"{given[-1] - 1} of the data's known hierarchy (pool: given), but graph {i} "
                    f"has {have}"
                )
        if config.localize > 0 and config.task == "graph":
            target = getattr(g, config.localize_target, None)
            if not isinstance(target, Tensor) or target.numel() != g.num_nodes:
                raise ValueError(
                    f"dataset {name}: graph {i} has no node attribute {config.localize_target!r} "
                    f"(one 0/1 value per node), which 'localize' trains against; set localize: 0 "
                    f"or name another attribute in 'localize_target'"
                )
    check_model_size(config, dataset.num_features, dataset.num_classes, width or None)


#: Most parameters :func:`build_model` builds (4 GiB of float32 weights, 16 GiB with the gradients
#: and Adam's two moments): the bounds of each config key allow far more in product (hidden 16384
#: x 32 convs x 32 levels is over a trillion), which would exhaust the memory instead of failing
#: with a message.
MAX_PARAMETERS = 2**30


def _model_class(config: ModelConfig) -> type:
    if not isinstance(config, ModelConfig):
        raise ValueError(f"build_model: 'config' must be a ModelConfig, got {type(config).__name__}")
    if config.task == "node":
        return GraphUNet
    return GlobalGNN if config.is_global else HierarchicalGNN


def check_model_size(
    config: ModelConfig, in_channels: int, num_classes: int, edge_channels: Optional[int] = None
) -> int:
    """The parameter count of the model :func:`build_model` would build, counted on torch's ``meta``
    device (no memory); more than :data:`MAX_PARAMETERS` is a ``ValueError`` naming the config keys
    that set the size (and every argument :func:`build_model` refuses is refused here)."""
    cls = _model_class(config)
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")  # the real build warns once
        count = sum(p.numel() for p in cls(config, in_channels, num_classes, edge_channels).parameters())
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"model config: the model would have {count:,} parameters ({count * 4 / 2**30:,.1f} GiB "
            f"as float32, before gradients and optimizer state), more than the {MAX_PARAMETERS:,} "
            f"hipool builds; lower 'hidden' ({config.hidden}), 'convs_per_level', 'levels' or 'head' "
            f"(the data has {in_channels} node features)"
        )
    return count


def build_model(config: ModelConfig, in_channels: int, num_classes: int, edge_channels: Optional[int] = None) -> Model:
    """:class:`GraphUNet` for ``task: node``; else :class:`GlobalGNN` for ``pool: none``
    and :class:`HierarchicalGNN` otherwise.  ``edge_channels``: the width of the data's
    ``edge_attr`` (the edge-aware convs need it; :func:`edge_channels_of` reads it off a dataset).

    The model is first counted without memory (:func:`check_model_size`): more than
    :data:`MAX_PARAMETERS` parameters is a ``ValueError`` naming the config keys that set the size."""
    cls = _model_class(config)
    if torch.empty(0).device.type != "meta":  # on meta already: nothing is allocated
        check_model_size(config, in_channels, num_classes, edge_channels)
    return cls(config, in_channels, num_classes, edge_channels)
