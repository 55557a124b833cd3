"""What every model of :mod:`hipool.nn.models` is built from: the shared base class
(:class:`Model`: input checks, conv blocks with their norms, the poolers from the registry, the
weighted auxiliary loss), the classifier head, the norms and activations by config name, and
the node-level localisation loss.
"""

from __future__ import annotations

import warnings
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.nn import MLP, BatchNorm, GraphNorm, LayerNorm

from ..checks import check_device, check_features, check_graph, is_int, param_device, param_dtype
from ..config import ModelConfig
from ..data.base import columns
from ..hierarchy import Hierarchy
from .auto import auto_sizes
from .convs import (
    CONV_NAMES,
    EDGE_CONVS,
    SPARSE_AGGREGATION_EDGES,
    WEIGHTED_CONVS,
    aggregation_adjacency,
    make_conv,
    run_conv,
)
from .given import GivenPool, carry_labels
from .registry import REGISTRY


def head(in_channels: int, hidden: List[int], num_classes: int, dropout: float) -> torch.nn.Module:
    if not hidden:
        return torch.nn.Linear(in_channels, num_classes)
    return MLP([in_channels, *hidden, num_classes], dropout=dropout, norm=None)


_ACTS: Dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "gelu": torch.nn.functional.gelu,
    "elu": torch.nn.functional.elu,
    "leaky_relu": torch.nn.functional.leaky_relu,
    "tanh": torch.tanh,
}


def _make_norm(kind: str, channels: int) -> torch.nn.Module:
    """PyG's norm layer by config name (``layer``: per node, not per graph)."""
    if kind == "batch":
        return BatchNorm(channels, allow_single_element=True)
    if kind == "layer":
        return LayerNorm(channels, mode="node")
    return GraphNorm(channels)


def _run_norm(norm: torch.nn.Module, x: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """GraphNorm needs the graphs; BatchNorm and the per-node LayerNorm do not."""
    return norm(x, batch, num_graphs) if isinstance(norm, GraphNorm) else norm(x)


def _unpack(x, edge_index, batch, edge_attr):
    """(x, edge_index, batch, edge_attr, num_graphs or None, data or None) from tensors or a Data/Batch."""
    if isinstance(x, Data):
        data = x
        num_graphs = data.num_graphs if isinstance(data, Batch) else None
        return (
            data.x,
            data.edge_index,
            getattr(data, "batch", None),
            getattr(data, "edge_attr", None),
            num_graphs,
            data,
        )
    if edge_index is None:
        raise ValueError("forward: pass (x, edge_index, batch) or a torch_geometric Data/Batch")
    return x, edge_index, batch, edge_attr, None, None


class Model(torch.nn.Module):
    """What every model shares: input checks, conv blocks and the weighted auxiliary loss.

    ``edge_channels`` is the width ``D`` of the data's ``edge_attr``; the edge-aware
    convs (``gine``, ``gatv2``) need it, the others ignore it."""

    pools: torch.nn.ModuleList

    def __init__(self, config: ModelConfig, in_channels: int, num_classes: int, edge_channels: Optional[int] = None):
        super().__init__()
        if not isinstance(config, ModelConfig):
            raise ValueError(f"{type(self).__name__}: 'config' must be a ModelConfig, got {type(config).__name__}")
        for name, v in (("in_channels", in_channels), ("num_classes", num_classes)):
            if not is_int(v) or v < 1:
                raise ValueError(f"{type(self).__name__}: '{name}' must be a positive int, got {v!r}")
        if edge_channels is not None and (not is_int(edge_channels) or edge_channels < 0):
            raise ValueError(f"{type(self).__name__}: 'edge_channels' must be an int >= 0, got {edge_channels!r}")
        if config.edge_aware and not edge_channels:
            raise ValueError(
                f"{type(self).__name__}: conv {config.conv!r} reads edge features, so the model "
                f"needs their width: build it with edge_channels=D for data whose edge_attr is "
                f"[E, D] (data without edge_attr needs another conv: "
                f"{', '.join(CONV_NAMES)})"
            )
        self.config = config
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.edge_channels = edge_channels if config.edge_aware else None
        self._act = _ACTS[config.act]
        self.encoder = torch.nn.Linear(in_channels, config.hidden) if config.encoder else None

    def _make_convs(self) -> None:
        """The conv blocks (``config.block_convs()`` convs each; flat, block by block), with their norms."""
        cfg, h = self.config, self.config.hidden
        first = h if self.encoder is not None else self.in_channels
        counts = cfg.block_convs()
        self._block_start = [sum(counts[:b]) for b in range(len(counts) + 1)]
        count = self._block_start[-1]
        self.convs = torch.nn.ModuleList(
            make_conv(cfg.conv, first if i == 0 else h, h, self.edge_channels) for i in range(count)
        )
        self.norms = torch.nn.ModuleList(_make_norm(cfg.norm, h) for _ in range(count if cfg.norm != "none" else 0))

    def _make_pools(self) -> torch.nn.ModuleList:
        config = self.config
        pools = torch.nn.ModuleList()
        for name, ratio in zip(config.poolers, config.build_entries):
            options = config.options_for(name)
            spec = REGISTRY[name]
            if config.edge_aware and "pool_edge_attr" in spec.options:
                options.setdefault("pool_edge_attr", True)  # the next convs read the pooled edge_attr
            pools.append(spec.build(config.hidden, ratio, options))
        weighted = [n for n in config.poolers[:-1] if REGISTRY[n].weighted]
        if weighted and config.conv not in WEIGHTED_CONVS + EDGE_CONVS:
            warnings.warn(
                f"conv {config.conv!r} ignores edge weights, so the convs after "
                f"{weighted[0]} see its pooled graphs unweighted; use "
                f"{' or '.join(WEIGHTED_CONVS)} to use them",
                stacklevel=3,
            )
        return pools

    def _pool(
        self,
        i: int,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor],
        batch: Tensor,
        edge_weight: Optional[Tensor],
        labels: Optional[Tensor],
        hierarchy: Hierarchy,
    ):
        """Pooling step ``i``: its record (appended to ``hierarchy``) and the ``level_labels`` of the
        pooled nodes (``None`` when no level is ``given``); ``given`` reads column ``i``.  With
        ``schedule: auto`` every graph's most nodes at this level come from its input size
        (:func:`~hipool.nn.auto.auto_sizes` of ``hierarchy``'s level-0 graphs)."""
        pool: torch.nn.Module = self.pools[i]
        extra: Dict[str, Tensor] = (
            {"groups": labels[:, i]} if isinstance(pool, GivenPool) and labels is not None else {}
        )
        if self.config.is_auto:
            n0 = torch.bincount(hierarchy.batch(0), minlength=hierarchy.num_graphs)
            extra["sizes"] = auto_sizes(n0, i + 1, self.config.auto_top)
        # Keywords: PyG's poolers disagree on the order of batch and edge_weight.
        out = pool(x, edge_index, edge_attr=edge_attr, batch=batch, edge_weight=edge_weight, **extra)
        hierarchy.append(out)
        if labels is not None:
            labels = carry_labels(labels, out.cluster, out.num_nodes)
        return out, labels

    def aux_loss(self, hierarchy: Hierarchy, data: Optional[Data] = None) -> Optional[Tensor]:
        """The poolers' auxiliary losses of one forward pass, weighted by ``config.aux_weights``,
        plus ``config.localize`` times the node-level localisation loss when the model has a node
        head and ``data`` is given (``None`` when there is no term)."""
        if not isinstance(hierarchy, Hierarchy):
            raise ValueError(
                f"aux_loss: 'hierarchy' must be the Hierarchy of a forward pass (return_hierarchy=True), "
                f"got {type(hierarchy).__name__}"
            )
        terms = [
            self.config.aux_weight(level, name) * value
            for level, rec in enumerate(hierarchy.records, start=1)
            for name, value in rec.aux_losses.items()
        ]
        scores = getattr(hierarchy, "node_scores", None)
        if scores is not None and data is not None:
            terms.append(self.config.localize * localize_loss(scores, node_target(data, self.config)))
        return torch.stack(terms).sum() if terms else None

    def _block(
        self,
        b: int,
        x: Tensor,
        edge_index: Tensor,
        edge_weight: Optional[Tensor],
        edge_attr: Optional[Tensor],
        batch: Tensor,
        num_graphs: int,
    ) -> Tensor:
        """Conv block ``b``: its convs, each conv → norm → act → dropout (+ x if residual)."""
        cfg = self.config
        weighted = cfg.conv in WEIGHTED_CONVS
        graph = edge_index
        if cfg.conv == "gin" and edge_index.size(1) >= SPARSE_AGGREGATION_EDGES:  # built once for the block's convs
            graph = aggregation_adjacency(edge_index, x.size(0), x.dtype)
        for k in range(self._block_start[b], self._block_start[b + 1]):
            h = run_conv(self.convs[k], weighted, x, graph, edge_weight, edge_attr)
            if len(self.norms):
                h = _run_norm(self.norms[k], h, batch, num_graphs)
            h = torch.nn.functional.dropout(self._act(h), p=cfg.dropout, training=self.training)
            x = x + h if cfg.residual and x.shape == h.shape else h
        return x

    def _conv_with(
        self,
        conv: torch.nn.Module,
        x: Tensor,
        edge_index: Tensor,
        edge_weight: Optional[Tensor] = None,
        edge_attr: Optional[Tensor] = None,
    ) -> Tensor:
        x = self._act(run_conv(conv, self.config.conv in WEIGHTED_CONVS, x, edge_index, edge_weight, edge_attr))
        return torch.nn.functional.dropout(x, p=self.config.dropout, training=self.training)

    def _prepare(self, x, edge_index, batch, edge_attr):
        x, edge_index, batch, edge_attr, num_graphs, data = _unpack(x, edge_index, batch, edge_attr)
        check_device(x, type(self).__name__, param_device(self), owner="model")
        check_graph(x, edge_index, batch, edge_attr, where=type(self).__name__)
        x = check_features(
            x, type(self).__name__, self.in_channels, param_dtype(self), owner="model", device=param_device(self)
        )
        if self.edge_channels:
            if isinstance(edge_attr, Tensor) and edge_attr.dim() > 2:
                raise ValueError(
                    f"{type(self).__name__}: conv {self.config.conv!r} reads 'edge_attr' as [E, D], "
                    f"got shape {tuple(edge_attr.shape)}"
                )
            width = columns(edge_attr)
            if width != self.edge_channels:
                got = f"edge_attr of width {width}" if width else "no edge_attr"
                raise ValueError(
                    f"{type(self).__name__}: conv {self.config.conv!r} reads edge features of "
                    f"width {self.edge_channels} (edge_channels), but the graph has {got}"
                )
        if batch is None:
            batch = edge_index.new_zeros(x.size(0))
        if num_graphs is None:  # graphs with no nodes can only be known from a Batch
            num_graphs = int(batch[-1]) + 1 if batch.numel() > 0 else 1
        if self.encoder is not None:
            x = self.encoder(x)
        return x, edge_index, batch, edge_attr, num_graphs, data


def node_target(data: Data, config: ModelConfig) -> Tensor:
    """The node-level target of the localisation loss: ``data.<localize_target>`` as floats ``[N]``."""
    name = config.localize_target
    target = getattr(data, name, None)
    if target is not None and not isinstance(target, Tensor):  # a method or property of Data, say
        raise ValueError(
            f"model config: 'localize_target' {name!r} is not a node attribute of the batch (it is "
            f"{type(target).__name__}); name a 0/1 tensor with one value per node"
        )
    if target is None:
        raise ValueError(
            f"model config: 'localize' trains a node-level loss against the node attribute "
            f"{name!r}, which this batch does not have (circuits have 'defect_mask'); "
            f"set localize: 0 or name another attribute in 'localize_target'"
        )
    if target.numel() != data.num_nodes:
        raise ValueError(
            f"model config: 'localize_target' {name!r} has {target.numel()} values for "
            f"{data.num_nodes} nodes; it must be one 0/1 value per node"
        )
    return target.view(-1).float()


def localize_loss(scores: Tensor, target: Tensor) -> Tensor:
    r"""Binary cross-entropy of node scores (logits) against a 0/1 node target, positives weighted
    by :math:`\min(n_- / n_+, 100)` of the batch: the marked nodes (a defect's) are few."""
    pos = target.sum()
    weight = ((target.numel() - pos) / pos.clamp(min=1.0)).clamp(min=1.0, max=100.0)
    return torch.nn.functional.binary_cross_entropy_with_logits(scores, target, pos_weight=weight)
