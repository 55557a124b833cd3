"""One graph's pooling hierarchy, as data: JSON, GraphML and networkx graphs per level.

:func:`explain_graph` runs a trained graph classifier on one graph and returns a
:class:`GraphHierarchy`: for every level ``l = 0..L`` its graph (``l = 0`` is the
input), and for every pooling step how its input nodes map to its output nodes.
Composed back to the input, that says for every original node which pooled node
it belongs to at every level, or that it was dropped (selection poolers).

JSON (:meth:`GraphHierarchy.to_dict`, format ``hipool-hierarchy/1``)::

    {"format": "hipool-hierarchy/1", "graph": 17, "label": 1, "prediction": 1,
     "probabilities": [0.2, 0.8], "class_names": ["pass", "fail"],
     "truth_levels": ["block", "subsystem"],
     "levels": [{"level": 0, "num_nodes": 120, "edges": [[0, 1], ...]},
                {"level": 1, "pooler": "edgepool", "num_nodes": 61, "edges": [...],
                 "edge_weight": null, "score": [...], "assignment": null}, ...],
     "nodes": [{"id": 0, "pooled": [3, 1, "dropped"], "truth": [4, 0]}, ...]}

``edges`` lists every undirected pair once (``u <= v``; self-loops kept);
``score`` is each pooled node's score (selection: the node's score; EdgePool: the
merged edge's score; ``null`` where a pooler has none); ``assignment`` is the soft
assignment ``[n_{l-1}][n_l]`` of clustering poolers (DiffPool, MinCut, DMoN, ASAP),
``null`` for hard ones.

GraphML (:func:`write_graphml`): the original graph with one node attribute per
level (``level1``, ``level2``, ...: the pooled node, ``-1`` = dropped) and the
ground truth (``truth_block``, ...), for Gephi, Cytoscape or yEd; and each
coarsened level as ``level{l}.graphml`` with its members count and score.
"""

from __future__ import annotations

from collections.abc import Sequence as _Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from ..checks import is_int
from ..config import ModelConfig
from ..io import atomic_path, atomic_write_text, json_text, shown
from ..record import DROPPED

FORMAT = "hipool-hierarchy/1"
#: The JSON value of a node that a level no longer represents.
DROPPED_NAME = "dropped"


@dataclass
class GraphHierarchy:
    """The hierarchy a model built on one graph.  Levels ``0..L``; lists indexed by level
    hold an entry for level 0 too, lists of steps (``step``, ``score``, ``assignment``,
    ``poolers``) have ``L`` entries, entry ``l - 1`` for level ``l``.

    Attributes:
        num_nodes: nodes at every level, ``[L + 1]``.
        edge_index: each level's edges ``[2, E_l]`` over its local node ids.
        edge_weight: each level's edge weights ``[E_l]`` or ``None``.
        step: per pooling step, for every node of level ``l - 1`` its node at level ``l``
            (``-1``: dropped).
        score: per step, each output node's score ``[n_l]`` or ``None``.
        assignment: per step, the soft assignment ``[n_{l-1}, n_l]`` or ``None``.
        poolers: per step, the pooler's config name.
        truth: the graph's ground-truth hierarchy ``[n_0, K]`` (``level_labels``) or ``None``.
        truth_names: names of the truth columns (``("block", "subsystem")``) or ``None``.
        graph: the graph's index in its dataset, when known.
        label, prediction, probabilities, class_names: what the model said.
        group: the graph's group in its dataset's breakdown (circuits: its defect level).
    """

    num_nodes: List[int]
    edge_index: List[Tensor]
    edge_weight: List[Optional[Tensor]]
    step: List[Tensor]
    score: List[Optional[Tensor]]
    assignment: List[Optional[Tensor]]
    poolers: List[str]
    truth: Optional[Tensor] = None
    truth_names: Optional[List[str]] = None
    graph: Optional[int] = None
    label: Optional[int] = None
    prediction: Optional[int] = None
    probabilities: Optional[List[float]] = None
    class_names: Optional[List[str]] = None
    group: Optional[str] = None

    @property
    def num_levels(self) -> int:
        """Number of pooling steps ``L``."""
        return len(self.step)

    def _check_level(self, level: int, where: str = "GraphHierarchy") -> None:
        if not is_int(level) or not 0 <= level <= self.num_levels:
            raise ValueError(f"{where}: level must be an int in [0, {self.num_levels}], got {level!r}")

    def cluster(self, level: int) -> Tensor:
        """For every original node its node at ``level`` (``-1``: dropped); level 0 is the identity."""
        self._check_level(level)
        out = torch.arange(self.num_nodes[0])
        for step in self.step[:level]:
            alive = out != DROPPED
            out = torch.where(alive, step[out.clamp(min=0)], torch.full_like(out, DROPPED))
        return out

    def clusters(self) -> List[Tensor]:
        """:meth:`cluster` for levels ``1..L`` (what :func:`~hipool.explain.plot.plot_hierarchy` takes)."""
        return [self.cluster(level) for level in range(1, self.num_levels + 1)]

    def members(self, level: int) -> Tensor:
        """Number of original nodes in each node of ``level``, ``[n_level]``."""
        c = self.cluster(level)
        return torch.bincount(c[c != DROPPED], minlength=self.num_nodes[level])

    def truth_name(self, k: int) -> str:
        """Name of truth column ``k`` (``"truth level k+1"`` when the dataset names none)."""
        if not is_int(k) or k < 0:
            raise ValueError(f"GraphHierarchy.truth_name: 'k' must be an int >= 0, got {k!r}")
        if self.truth_names and k < len(self.truth_names):
            return self.truth_names[k]
        return f"truth level {k + 1}"

    # -- export ----------------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """The JSON form (see the module docstring)."""
        levels: List[Dict[str, Any]] = []
        for level in range(self.num_levels + 1):
            entry: Dict[str, Any] = {
                "level": level,
                "num_nodes": self.num_nodes[level],
                "edges": _pairs(self.edge_index[level]),
            }
            if level > 0:
                s = level - 1
                entry["pooler"] = self.poolers[s]
                ew = self.edge_weight[level]
                entry["edge_weight"] = None if ew is None else _floats(_pair_values(self.edge_index[level], ew))
                entry["score"] = None if self.score[s] is None else _floats(self.score[s])
                a = self.assignment[s]
                entry["assignment"] = None if a is None else [_floats(row) for row in a]
                entry["members"] = self.members(level).tolist()
            levels.append(entry)
        pooled = (
            torch.stack(self.clusters(), dim=1).tolist() if self.num_levels else [[] for _ in range(self.num_nodes[0])]
        )
        truth = self.truth.tolist() if self.truth is not None else None
        nodes = [
            {
                "id": i,
                "pooled": [DROPPED_NAME if v == DROPPED else v for v in row],
                **({"truth": truth[i]} if truth is not None else {}),
            }
            for i, row in enumerate(pooled)
        ]
        return {
            "format": FORMAT,
            "graph": self.graph,
            "group": self.group,
            "label": self.label,
            "prediction": self.prediction,
            "probabilities": self.probabilities,
            "class_names": self.class_names,
            "truth_levels": (
                [self.truth_name(k) for k in range(self.truth.size(1))] if self.truth is not None else None
            ),
            "poolers": list(self.poolers),
            "levels": levels,
            "nodes": nodes,
        }

    def write_json(self, path: Union[str, Path]) -> Path:
        """Write :meth:`to_dict` atomically to ``path``."""
        return atomic_write_text(path, json_text(self.to_dict()))

    def to_networkx(self, level: int):
        """Level ``level`` as an undirected :class:`networkx.Graph`.

        Level 0 is the original graph; its nodes carry ``level1..levelL`` (pooled node,
        ``-1`` = dropped) and ``truth_<name>`` attributes.  A coarsened level's nodes carry
        ``members`` (original nodes in it) and ``score`` when the pooler gives one; its
        edges ``weight`` when the pooled graph is weighted.
        """
        try:
            import networkx as nx
        except ImportError as err:
            raise ImportError("GraphHierarchy.to_networkx needs networkx: pip install 'hipool[plot]'") from err
        self._check_level(level, "GraphHierarchy.to_networkx")
        g = nx.Graph(level=level)
        n = self.num_nodes[level]
        if level == 0:
            columns = {f"level{lv}": c.tolist() for lv, c in enumerate(self.clusters(), start=1)}
            if self.truth is not None:
                for k in range(self.truth.size(1)):
                    columns[f"truth_{_attr_name(self.truth_name(k))}"] = self.truth[:, k].tolist()
            g.add_nodes_from((i, {k: v[i] for k, v in columns.items()}) for i in range(n))
        else:
            members = self.members(level).tolist()
            score = self.score[level - 1]
            g.add_nodes_from(
                (i, {"members": members[i], **({"score": float(score[i])} if score is not None else {})})
                for i in range(n)
            )
        ei, ew = self.edge_index[level], self.edge_weight[level]
        if ew is None:
            g.add_edges_from(_pairs(ei))
        else:
            pairs, values = _pairs(ei), _pair_values(ei, ew)
            g.add_edges_from((u, v, {"weight": w}) for (u, v), w in zip(pairs, _floats(values)))
        return g


def write_graphml(h: GraphHierarchy, folder: Union[str, Path]) -> List[Path]:
    """Write ``graph.graphml`` (the original graph with its pooled node at every level) and
    ``level{l}.graphml`` (each coarsened graph) into ``folder``; returns the paths."""
    import networkx as nx

    if not isinstance(h, GraphHierarchy):
        raise ValueError(
            f"write_graphml: 'h' must be a GraphHierarchy (explain_graph's result), got {type(h).__name__}"
        )
    folder = Path(folder)
    paths = []  # atomic_path makes the folder, naming it when it cannot
    for level in range(h.num_levels + 1):
        path = folder / ("graph.graphml" if level == 0 else f"level{level}.graphml")
        with atomic_path(path) as tmp:
            nx.write_graphml(h.to_networkx(level), str(tmp))
        paths.append(path)
    return paths


def explain_graph(
    model: torch.nn.Module,
    data: Data,
    *,
    poolers: Optional[Sequence[str]] = None,
    graph: Optional[int] = None,
    truth_names: Optional[Sequence[str]] = None,
    class_names: Optional[Sequence[str]] = None,
    group: Optional[str] = None,
) -> GraphHierarchy:
    """Run ``model`` (in eval mode, no gradients) on one graph and record its hierarchy.

    Args:
        model: a hipool graph classifier (``model(batch, return_hierarchy=True)``).
        data: one graph.
        poolers: names of the pooling steps (default: from ``model.config``).
        graph: the graph's index in its dataset (recorded in the export).
        truth_names: names of the ``level_labels`` columns.
        class_names: names of the classes.
        group: the graph's group in its dataset's breakdown (recorded in the export).
    """
    _check_explain_args(model, data, poolers, graph, truth_names, class_names, group)
    if isinstance(data, Batch) and data.num_graphs != 1:
        raise ValueError(f"explain_graph: pass one graph, got a batch of {data.num_graphs}")
    batch = Batch.from_data_list([data]) if not isinstance(data, Batch) else data
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(batch, return_hierarchy=True)
    finally:
        model.train(was_training)
    logits, hierarchy = out
    if poolers is None:
        config = getattr(model, "config", None)
        poolers = list(config.poolers) if config is not None and not config.is_global else []
    n0 = batch.num_nodes
    num_nodes, edge_index, edge_weight = [n0], [batch.edge_index.detach().cpu()], [None]
    step, score, assignment = [], [], []
    for rec in hierarchy.records:
        num_nodes.append(rec.num_nodes)
        edge_index.append(rec.edge_index.detach().cpu())
        edge_weight.append(None if rec.edge_weight is None else rec.edge_weight.detach().cpu())
        step.append(rec.cluster.detach().cpu())
        score.append(None if rec.score is None else rec.score.detach().cpu().view(-1))
        assignment.append(_soft(rec.assignment, rec.num_nodes))
    probs = torch.softmax(logits.detach().cpu().view(-1), 0)
    y = getattr(data, "y", None)
    truth = getattr(data, "level_labels", None)
    return GraphHierarchy(
        num_nodes=num_nodes,
        edge_index=edge_index,
        edge_weight=edge_weight,
        step=step,
        score=score,
        assignment=assignment,
        poolers=list(poolers)[: len(step)] or ["?"] * len(step),
        truth=None if truth is None else truth.detach().cpu().view(n0, -1).long(),
        truth_names=list(truth_names) if truth_names else None,
        graph=graph,
        label=int(y.view(-1)[0]) if y is not None and y.numel() >= 1 and not y.is_floating_point() else None,
        prediction=int(probs.argmax()),
        probabilities=[round(float(p), 6) for p in probs],
        class_names=list(class_names) if class_names else None,
        group=group,
    )


def _check_explain_args(model, data, poolers, graph, truth_names, class_names, group) -> None:
    """:func:`explain_graph`'s arguments, each a ``ValueError`` naming it when it is not what it takes."""
    if not (
        isinstance(model, torch.nn.Module)
        and hasattr(model, "level_readouts")
        and isinstance(getattr(model, "config", None), ModelConfig)
    ):
        raise ValueError(
            f"explain_graph: 'model' must be a hipool graph classifier (build_model of a 'task: graph' "
            f"config), got {type(model).__name__}"
        )
    if not isinstance(data, Data):
        raise ValueError(f"explain_graph: 'data' must be one graph (a torch_geometric Data), got {type(data).__name__}")
    for name, value in (("poolers", poolers), ("truth_names", truth_names), ("class_names", class_names)):
        if value is not None and (
            isinstance(value, (str, bytes))
            or not isinstance(value, _Sequence)
            or not all(isinstance(v, str) for v in value)
        ):
            raise ValueError(f"explain_graph: '{name}' must be a list of names or None, got {shown(value)}")
    if graph is not None and (not is_int(graph)):
        raise ValueError(f"explain_graph: 'graph' must be the graph's index (an int) or None, got {shown(graph)}")
    if group is not None and not isinstance(group, str):
        raise ValueError(f"explain_graph: 'group' must be a group's name or None, got {shown(group)}")
    truth = getattr(data, "level_labels", None)
    if truth is not None and (
        not isinstance(truth, Tensor)
        or truth.dim() not in (1, 2)
        or truth.size(0) != data.num_nodes
        or truth.is_floating_point()
        or truth.is_complex()
        or truth.dtype == torch.bool
    ):
        got = f"{truth.dtype} {tuple(truth.shape)}" if isinstance(truth, Tensor) else type(truth).__name__
        raise ValueError(
            f"explain_graph: the graph's 'level_labels' must be an integer tensor [N={data.num_nodes}, L], got {got}"
        )


def _soft(assignment: Optional[Tensor], n_out: int) -> Optional[Tensor]:
    """A pooler's soft assignment for one graph as a dense ``[n_in, n_out]`` tensor."""
    if assignment is None:
        return None
    a = assignment.detach().cpu()
    a = a.to_dense() if a.layout != torch.strided else a
    return a[:, :n_out].float()  # clustering: slots past the graph's k clusters hold zero


def _pairs(edge_index: Tensor) -> List[List[int]]:
    """Every undirected pair once, ``u <= v``, sorted."""
    ei = edge_index.detach().cpu()
    lo, hi = torch.minimum(ei[0], ei[1]), torch.maximum(ei[0], ei[1])
    return torch.unique(torch.stack([lo, hi]), dim=1).t().tolist() if ei.numel() else []


def _pair_values(edge_index: Tensor, values: Tensor) -> Tensor:
    """The value of each pair of :func:`_pairs` (the largest over its directions)."""
    ei = edge_index.detach().cpu()
    if not ei.numel():
        return values.new_zeros(0)
    lo, hi = torch.minimum(ei[0], ei[1]), torch.maximum(ei[0], ei[1])
    pairs, inverse = torch.unique(torch.stack([lo, hi]), dim=1, return_inverse=True)
    out = torch.full((pairs.size(1),), float("-inf"))
    return out.scatter_reduce(0, inverse, values.detach().cpu().float().view(-1), "amax")


def _floats(t: Tensor) -> List[float]:
    return [round(float(v), 6) for v in t.view(-1)]


def _attr_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
