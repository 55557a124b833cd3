"""Which level decided: each level's readout's contribution to a prediction.

A model with ``combine: sum`` or ``concat`` reads a graph vector ``r_l`` out after
every level and its head classifies their sum (or concatenation).  For a graph
and its predicted class ``c`` let the *margin* be ``m = z_c − mean_{k≠c} z_k``
(the predicted logit against the others; unchanged when every logit moves
together).  Level ``l``'s contribution is measured two ways:

* **ablation**: ``m(all levels) − m(r_l replaced by zeros)``, how much the
  prediction's margin falls without that level's readout;
* **gradient** × input: ``∇_{r_l} m · r_l``, the first-order estimate of the same
  (exact when the head is linear).

Positive numbers push towards the prediction.  The *deciding* level of a graph is
the one with the largest contribution.  :func:`level_contributions` gives them per
graph of a batch; :func:`decisions` over a dataset, with the table of a dataset's
groups (e.g. circuits' true defect level) × deciding level.
"""

from __future__ import annotations

import operator
from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from ..checks import is_int
from ..data.base import Breakdown
from ..io import shown

METHODS = ("ablation", "gradient")


def _check_model(model: torch.nn.Module) -> None:
    if not hasattr(model, "level_readouts") or not hasattr(model, "classify"):
        raise ValueError(
            f"which level decided: {type(model).__name__} is not a graph classifier with per-level readouts"
        )
    if model.config.combine == "last":
        raise ValueError(
            "which level decided: the model reads out only after its last level "
            "(combine: last), so no level but the last reaches the head; train with "
            "combine: sum or concat to compare levels"
        )


def level_names(model: torch.nn.Module) -> List[str]:
    """The name of every readout: ``level l`` for a pooling model (``level 0``, the input graph, with
    ``levels_read: all``), ``layer l`` for a global one (no pooling), ``suspects`` with ``localize``."""
    return model.readout_names


def _margin(logits: Tensor, pred: Tensor) -> Tensor:
    chosen = logits.gather(1, pred.view(-1, 1)).view(-1)
    if logits.size(1) == 1:
        return chosen
    others = (logits.sum(1) - chosen) / (logits.size(1) - 1)
    return chosen - others


def level_contributions(model: torch.nn.Module, batch) -> Dict[str, Tensor]:
    """Per graph of ``batch``: ``prediction`` ``[G]``, ``margin`` ``[G]``, ``ablation`` and
    ``gradient`` ``[G, L]`` (see the module docstring).  The model runs in eval mode."""
    _check_model(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():  # gradients are taken with respect to the readouts only
            per_level, _ = model.level_readouts(batch)
        with torch.enable_grad():
            per_level = [r.detach().requires_grad_(True) for r in per_level]
            logits = model.classify(per_level)
            pred = logits.argmax(1)
            margin = _margin(logits, pred)
            grads = torch.autograd.grad(margin.sum(), per_level)
        gradient = torch.stack([(g * r).sum(1) for g, r in zip(grads, per_level)], dim=1)
        with torch.no_grad():
            ablation = []
            for i in range(len(per_level)):
                cut = [torch.zeros_like(r) if j == i else r for j, r in enumerate(per_level)]
                ablation.append(margin - _margin(model.classify(cut), pred))
    finally:
        model.train(was_training)
    return {
        "prediction": pred.detach(),
        "margin": margin.detach(),
        "ablation": torch.stack(ablation, dim=1).detach(),
        "gradient": gradient.detach(),
    }


def decisions(
    model: torch.nn.Module,
    graphs: Sequence,
    *,
    indices: Optional[Sequence[int]] = None,
    breakdown: Optional[Breakdown] = None,
    batch_size: int = 64,
    progress: bool = False,
) -> Dict[str, Any]:
    """:func:`level_contributions` over ``graphs`` (with their dataset ``indices``), summarised.

    Returns ``{"levels", "graphs": [per-graph rows], "summary": {method: {"mean": [L],
    "decided": [L] shares}}, "table": {method: {group: [counts per level]}}}``; the
    table is there when the graphs have a ``breakdown`` (e.g. circuits by ``defect_level``).
    """
    _check_model(model)
    names = level_names(model)
    given = graphs
    try:
        graphs = None if isinstance(given, (Data, str, bytes, Tensor)) else list(given)
    except TypeError:  # not iterable
        graphs = None
    if graphs is None or not all(isinstance(g, Data) for g in graphs):
        raise ValueError(
            f"which level decided: 'graphs' must be a list (or dataset) of graphs, torch_geometric "
            f"Data, got {shown(given, 80)}"
        )
    if indices is None:
        indices = list(range(len(graphs)))
    else:
        try:
            if isinstance(indices, (str, bytes)) or any(isinstance(i, bool) for i in indices):
                raise TypeError
            given_indices, indices = indices, [operator.index(i) for i in indices]
        except TypeError:
            given_indices, indices = indices, None
        if indices is None or len(indices) != len(graphs):
            raise ValueError(
                f"which level decided: 'indices' must be one int (the graph's index in its dataset) "
                f"per graph ({len(graphs)}), got {shown(given_indices, 80)}"
            )
    if not is_int(batch_size) or batch_size < 1:
        raise ValueError(f"which level decided: 'batch_size' must be an int >= 1, got {batch_size!r}")
    if breakdown is not None:
        if not isinstance(breakdown, Breakdown):
            raise ValueError(
                f"which level decided: 'breakdown' must be a Breakdown or None, got {type(breakdown).__name__}"
            )
        missing = next((i for i, g in zip(indices, graphs) if getattr(g, breakdown.attr, None) is None), None)
        if missing is not None:
            raise ValueError(
                f"which level decided: graph {missing} has no attribute {breakdown.attr!r} (the breakdown's groups)"
            )
    loader = DataLoader(graphs, batch_size=batch_size, shuffle=False)
    rows: List[Dict[str, Any]] = []
    it = loader
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(loader, desc="which level decided", unit="batch", leave=False)
    pos = 0
    for batch in it:
        out = level_contributions(model, batch)
        y = batch.y.view(-1) if getattr(batch, "y", None) is not None else None
        groups = getattr(batch, breakdown.attr).view(-1) if breakdown is not None else None
        for g in range(out["prediction"].numel()):
            ab, gr = out["ablation"][g], out["gradient"][g]
            row = {
                "graph": indices[pos],
                "prediction": int(out["prediction"][g]),
                "margin": round(float(out["margin"][g]), 6),
                "ablation": [round(float(v), 6) for v in ab],
                "gradient": [round(float(v), 6) for v in gr],
                "decided": {"ablation": int(ab.argmax()), "gradient": int(gr.argmax())},
            }
            if y is not None and not y.is_floating_point():
                row["label"] = int(y[g])
            if groups is not None:
                row["group"] = breakdown.name(int(groups[g]))
            rows.append(row)
            pos += 1
    L = len(names)
    summary = {}
    for m in METHODS:
        vals = torch.tensor([r[m] for r in rows], dtype=torch.float64).view(-1, L)
        decided = torch.bincount(torch.tensor([r["decided"][m] for r in rows], dtype=torch.long), minlength=L)
        summary[m] = {
            "mean": [round(float(v), 6) for v in vals.mean(0)] if rows else [None] * L,
            "decided": [round(float(v), 6) for v in decided.double() / max(len(rows), 1)],
        }
    result: Dict[str, Any] = {"levels": names, "graphs": rows, "summary": summary}
    if breakdown is not None:
        order = list(breakdown.names) + sorted({r["group"] for r in rows} - set(breakdown.names))
        result["table"] = {
            m: {
                g: [sum(1 for r in rows if r.get("group") == g and r["decided"][m] == lv) for lv in range(L)]
                for g in order
            }
            for m in METHODS
        }
    return result


def decision_tables(result: Dict[str, Any], group_title: str = "group") -> str:
    """Markdown: mean contribution and share decided per level; and the group × level tables."""
    names = result["levels"]
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for m in METHODS:
        s = result["summary"][m]
        lines.append(f"| mean {m} | " + " | ".join("–" if v is None else f"{v:+.3f}" for v in s["mean"]) + " |")
        lines.append(f"| decided ({m}) | " + " | ".join(f"{v:.0%}" for v in s["decided"]) + " |")
    text = "\n".join(lines) + "\n"
    for m in METHODS if "table" in result else ():
        table = result["table"][m]
        text += (
            f"\n{group_title} × deciding level ({m}; graphs, share of the row):\n\n"
            f"| {group_title} | " + " | ".join(names) + " | graphs |\n" + "|---" * (len(names) + 2) + "|\n"
        )
        for g, counts in table.items():
            n = sum(counts)
            cells = [f"{c} ({c / n:.0%})" if n else "–" for c in counts]
            text += f"| {g} | " + " | ".join(cells) + f" | {n} |\n"
    return text
