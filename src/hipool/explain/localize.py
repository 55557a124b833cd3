"""Where is the defect?  Suspects from a model's node scores, pooled along the known hierarchy.

A graph classifier trained with ``localize: w > 0`` (see :mod:`hipool.config`) has a node
head: a score (logit) for every input node, trained against a node attribute (circuits:
``defect_mask``, the parts and nets a defect touched).  For one failing design,
:func:`suspects` ranks

* **components**: the nodes themselves (for circuits only the parts, not the net nodes);
* **blocks** and **subsystems** (or whatever the data's ``level_labels`` columns are): a
  group's score is the largest score of its members, so one bad part makes its block and its
  subsystem suspicious.

:func:`hit_rates` measures, over the failing designs of a set of graphs, how often the
top-1 component, any of the top-5 components, the top-1 block (and top-1 group at every
known level) holds a node of the defect, overall and per group of the dataset's breakdown
(circuits: the defect level).  A design counts for a level's rate only when its defect
touches a group at that level.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data

from ..data.base import LEVEL_LABELS, GraphDataset

TOP = 5


def node_scores(model: torch.nn.Module, data: Data) -> Tensor:
    """The model's node scores (probabilities in ``[0, 1]``, ``[N]``) for one graph, in eval mode."""
    if getattr(model, "locator", None) is None:
        raise ValueError(
            "where is the defect: the model has no node scores; it was trained without a "
            "localisation loss (model config 'localize: 0'); train it with e.g. localize: 1.0 "
            "on data that marks the defect's nodes (circuits' defect_mask)"
        )
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            _, hierarchy = model(data, return_hierarchy=True)
    finally:
        model.train(was_training)
    return torch.sigmoid(hierarchy.node_scores)


def component_mask(dataset: GraphDataset, data: Data) -> Tensor:
    """Which nodes are components: for circuits every node but the nets (``is_NET``), else all."""
    if dataset.name.startswith("circuits"):
        from ..data.circuits import FEATURE_NAMES

        return data.x[:, FEATURE_NAMES.index("is_NET")] == 0
    return torch.ones(data.num_nodes, dtype=torch.bool)


def _node_name(dataset: GraphDataset, data: Data, i: int) -> str:
    if dataset.name.startswith("circuits"):
        from ..data.circuits import NODE_KINDS

        return f"node {i} ({NODE_KINDS[int(data.x[i, : len(NODE_KINDS)].argmax())]})"
    return f"node {i}"


def _group_scores(scores: Tensor, labels: Tensor) -> List[tuple]:
    """``[(group, score), ...]`` best first: each group's largest member score."""
    keep = labels >= 0
    if not bool(keep.any()):
        return []
    g = labels[keep]
    best = torch.full((int(g.max()) + 1,), -1.0).scatter_reduce(0, g, scores[keep], reduce="amax")
    present = torch.unique(g)
    order = present[torch.argsort(best[present], descending=True, stable=True)]
    return [(int(k), float(best[k])) for k in order]


def suspects(model: torch.nn.Module, dataset: GraphDataset, index: int, top: int = TOP) -> Dict[str, Any]:
    """The most suspicious components and groups of graph ``index`` (see the module docstring),
    each with whether it holds a node of the truth (``defect_mask``), when the graph has one."""
    data = dataset[index]
    scores = node_scores(model, data)
    truth = getattr(data, model.config.localize_target, None)
    truth = truth.view(-1).bool() if truth is not None else None
    comp = component_mask(dataset, data)
    idx = comp.nonzero().view(-1)
    order = idx[torch.argsort(scores[idx], descending=True, stable=True)][:top]
    out: Dict[str, Any] = {
        "graph": index,
        "components": [
            {
                "node": int(i),
                "name": _node_name(dataset, data, int(i)),
                "score": float(scores[i]),
                "defect": None if truth is None else bool(truth[i]),
            }
            for i in order
        ],
    }
    labels = getattr(data, LEVEL_LABELS, None)
    names = list(dataset.level_names or [])
    if labels is not None:
        labels = labels.view(labels.size(0), -1)
        for col in range(labels.size(1)):
            name = names[col] if col < len(names) else f"level{col + 1}"
            hit = set(labels[truth, col].tolist()) - {-1} if truth is not None else set()
            out[name] = [
                {"group": g, "score": s, "defect": (g in hit) if truth is not None else None}
                for g, s in _group_scores(scores, labels[:, col])[:top]
            ]
    return out


def hit_rates(
    model: torch.nn.Module, dataset: GraphDataset, indices: Sequence[int], progress: bool = False
) -> Dict[str, Any]:
    """Top-1 / top-5 component and top-1 group hit rates over the failing graphs of ``indices``
    (graphs with at least one node of the truth), overall and per breakdown group."""
    target = model.config.localize_target
    names = list(dataset.level_names or [])
    metrics: Dict[str, Dict[str, List[int]]] = {}

    def count(group: str, key: str, hit: bool) -> None:
        for g in ("all", group):
            cell = metrics.setdefault(g, {}).setdefault(key, [0, 0])
            cell[0] += int(hit)
            cell[1] += 1

    it = indices
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(indices, desc="suspects", unit="graph", leave=False)
    for i in it:
        data = dataset[int(i)]
        truth = getattr(data, target, None)
        if truth is None:
            raise ValueError(
                f"where is the defect: graph {i} of {dataset.name} has no node attribute "
                f"{target!r} to check the suspects against"
            )
        truth = truth.view(-1).bool()
        if not bool(truth.any()):
            continue
        group = dataset.breakdown.of(data) if dataset.breakdown is not None else "all"
        scores = node_scores(model, data)
        comp = component_mask(dataset, data)
        if bool((truth & comp).any()):
            idx = comp.nonzero().view(-1)
            ranked = idx[torch.argsort(scores[idx], descending=True, stable=True)]
            count(group, "component top-1", bool(truth[ranked[0]]))
            count(group, f"component top-{TOP}", bool(truth[ranked[:TOP]].any()))
        labels = getattr(data, LEVEL_LABELS, None)
        if labels is not None:
            labels = labels.view(labels.size(0), -1)
            for col in range(labels.size(1)):
                hit = set(labels[truth, col].tolist()) - {-1}
                ranked_groups = _group_scores(scores, labels[:, col])
                if hit and ranked_groups:
                    name = names[col] if col < len(names) else f"level{col + 1}"
                    count(group, f"{name} top-1", ranked_groups[0][0] in hit)
    return {
        "target": target,
        "graphs": len(indices),
        "rates": {
            g: {k: {"hit": h, "count": n, "rate": h / n if n else None} for k, (h, n) in cells.items()}
            for g, cells in metrics.items()
        },
    }


def hit_rates_markdown(result: Dict[str, Any], title: Optional[str] = None) -> str:
    """The table of :func:`hit_rates`: rows are groups (``all`` first), columns the rates."""
    rates = result["rates"]
    keys: List[str] = []
    for cells in rates.values():
        keys += [k for k in cells if k not in keys]
    head = f"# {title}\n\n" if title else ""
    text = (
        head + f"Failing designs among {result['graphs']} graphs; a hit: the top-ranked item holds a node "
        f"of the truth ({result['target']}). Rate (hits / designs).\n\n"
    )
    text += "| group | " + " | ".join(keys) + " |\n" + "|---" * (len(keys) + 1) + "|\n"
    for g, cells in rates.items():
        row = [f"{cells[k]['rate']:.3f} ({cells[k]['hit']}/{cells[k]['count']})" if k in cells else "–" for k in keys]
        text += f"| {g} | " + " | ".join(row) + " |\n"
    return text
