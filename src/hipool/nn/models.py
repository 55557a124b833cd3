"""Models built from a :class:`~hipool.config.ModelConfig`.

:class:`HierarchicalGNN`: ``levels`` blocks of *conv → pool*, a readout and a head::

    x ─ conv₁ ─ pool₁ ─ conv₂ ─ pool₂ ─ … ─ readout ─ head ─ logits

With ``combine: sum`` or ``concat`` the readouts after every pool are combined,
as in SAGPool's hierarchical variant (Lee et al. 2019).

:class:`GlobalGNN`: the same convs, readout and head with no pooling — the
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

import inspect
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.nn import MLP, GCNConv, GraphConv, SAGEConv

from ..checks import check_graph
from ..config import ModelConfig
from ..hierarchy import Hierarchy
from .asap import ASAPooling
from .clustering import DiffPool, DMoNPool, MinCutPool
from .contraction import EdgePool, Graclus
from .convs import WEIGHTED_CONVS, make_conv, run_conv
from .readout import Readout
from .selection import SAGPooling, TopKPooling

#: Factories ``(channels, ratio, options) -> pooler`` by config name.
PoolerFactory = Callable[[int, Union[float, int], dict], torch.nn.Module]
POOLERS: Dict[str, PoolerFactory] = {}


@dataclass(frozen=True)
class PoolerInfo:
    """What configs need to know of a registered pooler."""

    needs_count: bool = False       # schedule entry must be an int (number of clusters)
    losses: Tuple[str, ...] = ()    # names of its auxiliary losses
    weighted: bool = False          # its pooled graphs carry edge weights
    fixed_ratio: Optional[float] = None  # the only schedule entry it takes (pair merging: 0.5)


POOLER_INFO: Dict[str, PoolerInfo] = {}

_SAG_GNNS = {"graphconv": GraphConv, "gcn": GCNConv, "sage": SAGEConv}


def register_pooler(name: str, info: PoolerInfo = PoolerInfo()) -> Callable[[PoolerFactory], PoolerFactory]:
    """Decorator: make a pooler available to model configs under ``name``."""
    def deco(factory: PoolerFactory) -> PoolerFactory:
        POOLERS[name] = factory
        POOLER_INFO[name] = info
        return factory
    return deco


def _checked_options(name: str, options: dict, allowed: Tuple[str, ...]) -> dict:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"model config: 'pool_options' {unknown} do not apply to {name}; "
                         f"allowed: {', '.join(allowed)}")
    return dict(options)


@register_pooler("topk")
def _topk(channels: int, ratio, options: dict) -> torch.nn.Module:
    opts = _checked_options("topk", options, ("min_score", "multiplier", "nonlinearity"))
    return TopKPooling(channels, ratio=ratio, **opts)


@register_pooler("sag")
def _sag(channels: int, ratio, options: dict) -> torch.nn.Module:
    opts = _checked_options("sag", options, ("min_score", "multiplier", "nonlinearity", "gnn"))
    gnn = opts.pop("gnn", "graphconv")
    if gnn not in _SAG_GNNS:
        raise ValueError(f"model config: pool_options.gnn must be one of {', '.join(_SAG_GNNS)}, got {gnn!r}")
    return SAGPooling(channels, ratio=ratio, GNN=_SAG_GNNS[gnn], **opts)


_ASAP_GNNS = {"graphconv": GraphConv, "gcn": GCNConv}


@register_pooler("asap")
def _asap(channels: int, ratio, options: dict) -> torch.nn.Module:
    opts = _checked_options("asap", options, ("dropout", "negative_slope", "add_self_loops", "gnn"))
    gnn = opts.pop("gnn", None)
    if gnn is not None and gnn not in _ASAP_GNNS:
        raise ValueError(f"model config: asap's 'gnn' must be one of {', '.join(_ASAP_GNNS)} or "
                         f"null, got {gnn!r}")
    try:
        return ASAPooling(channels, ratio=ratio, GNN=_ASAP_GNNS.get(gnn), **opts)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model config: asap: {e}") from None


@register_pooler("edgepool", PoolerInfo(fixed_ratio=0.5))
def _edgepool(channels: int, ratio, options: dict) -> torch.nn.Module:
    opts = _checked_options("edgepool", options, ("edge_score_method", "dropout", "add_to_edge_score"))
    if not isinstance(opts.get("edge_score_method", "softmax"), str):
        raise ValueError("model config: edgepool's 'edge_score_method' must be softmax, tanh or sigmoid")
    try:
        return EdgePool(channels, **opts)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model config: edgepool: {e}") from None


@register_pooler("graclus", PoolerInfo(fixed_ratio=0.5))
def _graclus(channels: int, ratio, options: dict) -> torch.nn.Module:
    opts = _checked_options("graclus", options, ("reduce", "seed"))
    try:
        return Graclus(channels, **opts)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model config: graclus: {e}") from None


def _keyword_options(cls: type) -> Tuple[str, ...]:
    """The keyword-only arguments of ``cls`` and its bases' ``__init__``: its config options."""
    names = {p.name for klass in cls.__mro__ if "__init__" in vars(klass)
             for p in inspect.signature(klass.__init__).parameters.values()
             if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return tuple(sorted(names))


def _register_clustering(name: str, cls: type) -> None:
    allowed = _keyword_options(cls)

    def factory(channels: int, clusters, options: dict) -> torch.nn.Module:
        opts = _checked_options(name, options, allowed)
        try:
            return cls(channels, clusters, **opts)
        except (TypeError, ValueError) as e:
            raise ValueError(f"model config: {name}: {e}") from None
    register_pooler(name, PoolerInfo(needs_count=True, losses=cls.LOSSES, weighted=True))(factory)


_register_clustering("diffpool", DiffPool)
_register_clustering("mincut", MinCutPool)
_register_clustering("dmon", DMoNPool)


def _head(in_channels: int, hidden: List[int], num_classes: int, dropout: float) -> torch.nn.Module:
    if not hidden:
        return torch.nn.Linear(in_channels, num_classes)
    return MLP([in_channels, *hidden, num_classes], dropout=dropout, norm=None)


def _unpack(x, edge_index, batch, edge_attr):
    """(x, edge_index, batch, edge_attr, num_graphs or None) from tensors or a Data/Batch."""
    if isinstance(x, Data):
        data = x
        num_graphs = data.num_graphs if isinstance(data, Batch) else None
        return data.x, data.edge_index, getattr(data, "batch", None), getattr(data, "edge_attr", None), num_graphs
    if edge_index is None:
        raise ValueError("forward: pass (x, edge_index, batch) or a torch_geometric Data/Batch")
    return x, edge_index, batch, edge_attr, None


class _Model(torch.nn.Module):
    """What every model shares: input checks and the weighted auxiliary loss."""

    def __init__(self, config: ModelConfig, in_channels: int, num_classes: int):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("num_classes", num_classes)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{type(self).__name__}: '{name}' must be a positive int, got {v!r}")
        self.config = config
        self.in_channels = in_channels
        self.num_classes = num_classes

    def _make_pools(self) -> torch.nn.ModuleList:
        config = self.config
        pools = torch.nn.ModuleList(
            POOLERS[name](config.hidden, ratio, config.options_for(name))
            for name, ratio in zip(config.poolers, config.schedule))
        weighted = [n for n in config.poolers[:-1] if POOLER_INFO[n].weighted]
        if weighted and config.conv not in WEIGHTED_CONVS:
            warnings.warn(f"conv {config.conv!r} ignores edge weights, so the convs after "
                          f"{weighted[0]} see its pooled graphs unweighted; use "
                          f"{' or '.join(WEIGHTED_CONVS)} to use them", stacklevel=3)
        return pools

    def aux_loss(self, hierarchy: Hierarchy) -> Optional[Tensor]:
        """The poolers' auxiliary losses of one forward pass, weighted by ``config.aux_weights``
        (``None`` when the poolers have none)."""
        terms = [self.config.aux_weight(level, name) * value
                 for level, rec in enumerate(hierarchy.records, start=1)
                 for name, value in rec.aux_losses.items()]
        return torch.stack(terms).sum() if terms else None

    def _conv_with(self, conv: torch.nn.Module, x: Tensor, edge_index: Tensor,
                   edge_weight: Optional[Tensor] = None) -> Tensor:
        x = run_conv(conv, self.config.conv in WEIGHTED_CONVS, x, edge_index, edge_weight).relu()
        return torch.nn.functional.dropout(x, p=self.config.dropout, training=self.training)

    def _prepare(self, x, edge_index, batch, edge_attr):
        x, edge_index, batch, edge_attr, num_graphs = _unpack(x, edge_index, batch, edge_attr)
        check_graph(x, edge_index, batch, edge_attr, where=type(self).__name__)
        if x.dim() == 1:
            x = x.view(-1, 1)
        if x.size(1) != self.in_channels:
            raise ValueError(f"{type(self).__name__}: 'x' has {x.size(1)} features but the model "
                             f"was built for in_channels={self.in_channels}")
        if batch is None:
            batch = edge_index.new_zeros(x.size(0))
        if num_graphs is None:  # graphs with no nodes can only be known from a Batch
            num_graphs = int(batch[-1]) + 1 if batch.numel() > 0 else 1
        return x, edge_index, batch, edge_attr, num_graphs

class _GraphClassifier(_Model):
    """Shared parts of the two graph classifiers: convs, readouts, head."""

    def __init__(self, config: ModelConfig, in_channels: int, num_classes: int):
        super().__init__(config, in_channels, num_classes)
        h = config.hidden
        self.convs = torch.nn.ModuleList(
            make_conv(config.conv, in_channels if i == 0 else h, h) for i in range(config.levels))
        n_readouts = 1 if config.combine == "last" else config.levels
        self.readouts = torch.nn.ModuleList(Readout(config.readout, h) for _ in range(n_readouts))
        width = self.readouts[0].out_channels * (config.levels if config.combine == "concat" else 1)
        self.head = _head(width, config.head, num_classes, config.dropout)

    def _graph_vector(self, per_level: List[Tensor]) -> Tensor:
        if self.config.combine == "last":
            return per_level[-1]
        if self.config.combine == "sum":
            return torch.stack(per_level).sum(0)
        return torch.cat(per_level, dim=-1)

    def _conv(self, i: int, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        return self._conv_with(self.convs[i], x, edge_index, edge_weight)

    def _readout(self, i: int, x: Tensor, batch: Tensor, num_graphs: int) -> Optional[Tensor]:
        last = i == self.config.levels - 1
        if self.config.combine == "last":
            return self.readouts[0](x, batch, num_graphs) if last else None
        return self.readouts[i](x, batch, num_graphs)

    def level_readouts(self, x: Union[Tensor, Data], edge_index: Optional[Tensor] = None,
                 batch: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None
                 ) -> Tuple[List[Tensor], Hierarchy]:
        """The graph vectors ``[num_graphs, width]`` the head combines (one per level with
        ``combine: sum``/``concat``, the last level's only with ``combine: last``) and the
        hierarchy of the pass.  ``classify(level_readouts)`` gives the logits."""
        raise NotImplementedError

    def classify(self, per_level: List[Tensor]) -> Tensor:
        """Logits from the per-level graph vectors :meth:`level_readouts` returns."""
        return self.head(self._graph_vector(per_level))

    def forward(self, x: Union[Tensor, Data], edge_index: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None,
                *, return_hierarchy: bool = False):
        per_level, hierarchy = self.level_readouts(x, edge_index, batch, edge_attr)
        logits = self.classify(per_level)
        return (logits, hierarchy) if return_hierarchy else logits


class HierarchicalGNN(_GraphClassifier):
    """Hierarchical-pooling graph classifier (see the module docstring).

    Args:
        config: the model description; ``config.is_global`` must be false.
        in_channels: width of the input node features.
        num_classes: number of output logits.
    """

    def __init__(self, config: ModelConfig, in_channels: int, num_classes: int):
        if config.is_global:
            raise ValueError("HierarchicalGNN: config has 'pool: none'; use GlobalGNN or build_model")
        super().__init__(config, in_channels, num_classes)
        self.pools = self._make_pools()

    def level_readouts(self, x: Union[Tensor, Data], edge_index: Optional[Tensor] = None,
                 batch: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None
                 ) -> Tuple[List[Tensor], Hierarchy]:
        x, edge_index, batch, edge_attr, num_graphs = self._prepare(x, edge_index, batch, edge_attr)
        hierarchy = Hierarchy(batch, num_graphs)
        per_level: List[Tensor] = []
        edge_weight: Optional[Tensor] = None
        for i, pool in enumerate(self.pools):
            x = self._conv(i, x, edge_index, edge_weight)
            # Keywords: PyG's poolers disagree on the order of batch and edge_weight.
            out = pool(x, edge_index, edge_attr=edge_attr, batch=batch, edge_weight=edge_weight)
            hierarchy.append(out)
            x, edge_index, edge_attr, batch = out.x, out.edge_index, out.edge_attr, out.batch
            edge_weight = out.edge_weight
            r = self._readout(i, x, batch, num_graphs)
            if r is not None:
                per_level.append(r)
        return per_level, hierarchy


class GlobalGNN(_GraphClassifier):
    """The global-pooling twin of a :class:`HierarchicalGNN`: same convs, readout and head,
    no pooling.  With ``return_hierarchy=True`` the hierarchy has no levels."""

    def level_readouts(self, x: Union[Tensor, Data], edge_index: Optional[Tensor] = None,
                 batch: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None
                 ) -> Tuple[List[Tensor], Hierarchy]:
        x, edge_index, batch, edge_attr, num_graphs = self._prepare(x, edge_index, batch, edge_attr)
        per_level: List[Tensor] = []
        for i in range(self.config.levels):
            x = self._conv(i, x, edge_index)
            r = self._readout(i, x, batch, num_graphs)
            if r is not None:
                per_level.append(r)
        return per_level, Hierarchy(batch, num_graphs)


class GraphUNet(_Model):
    """Node classifier through the pooling hierarchy and back (see the module docstring).

    ``config.levels`` pooling steps: ``levels + 1`` convs on the way down (one per
    level, the last on the coarsest graph), ``levels`` on the way up (one per
    unpooling), then the head on every node.  With ``pool: none`` it is the
    global twin: the same convs and skips on the input graph, no pooling.

    Args:
        config: the model description, with ``task: node``.
        in_channels: width of the input node features.
        num_classes: number of output logits per node.
    """

    def __init__(self, config: ModelConfig, in_channels: int, num_classes: int):
        if config.task != "node":
            raise ValueError("GraphUNet: config has 'task: graph'; use build_model for graph classifiers")
        super().__init__(config, in_channels, num_classes)
        h, levels = config.hidden, config.levels
        self.down = torch.nn.ModuleList(
            make_conv(config.conv, in_channels if i == 0 else h, h) for i in range(levels + 1))
        up_in = h if config.skip == "sum" else 2 * h
        self.up = torch.nn.ModuleList(make_conv(config.conv, up_in, h) for _ in range(levels))
        self.pools = torch.nn.ModuleList() if config.is_global else self._make_pools()
        self.head = _head(h, config.head, num_classes, config.dropout)

    def forward(self, x: Union[Tensor, Data], edge_index: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None,
                *, return_hierarchy: bool = False):
        x, edge_index, batch, edge_attr, num_graphs = self._prepare(x, edge_index, batch, edge_attr)
        hierarchy = Hierarchy(batch, num_graphs)
        edge_weight: Optional[Tensor] = None
        x = self._conv_with(self.down[0], x, edge_index)
        skips: List[Tuple[Tensor, Tensor, Optional[Tensor]]] = []
        for i in range(self.config.levels):
            skips.append((x, edge_index, edge_weight))
            if self.pools:
                out = self.pools[i](x, edge_index, edge_attr=edge_attr, batch=batch, edge_weight=edge_weight)
                hierarchy.append(out)
                x, edge_index, edge_attr, batch = out.x, out.edge_index, out.edge_attr, out.batch
                edge_weight = out.edge_weight
            x = self._conv_with(self.down[i + 1], x, edge_index, edge_weight)
        for i in reversed(range(self.config.levels)):
            res, edge_index, edge_weight = skips[i]
            if self.pools:
                x = hierarchy[i + 1].unpool(x)
            x = x + res if self.config.skip == "sum" else torch.cat([x, res], dim=-1)
            x = self._conv_with(self.up[i], x, edge_index, edge_weight)
        logits = self.head(x)
        return (logits, hierarchy) if return_hierarchy else logits


def build_model(config: ModelConfig, in_channels: int, num_classes: int) -> _Model:
    """:class:`GraphUNet` for ``task: node``; else :class:`GlobalGNN` for ``pool: none``
    and :class:`HierarchicalGNN` otherwise."""
    if config.task == "node":
        return GraphUNet(config, in_channels, num_classes)
    cls = GlobalGNN if config.is_global else HierarchicalGNN
    return cls(config, in_channels, num_classes)
