"""How good is a learned hierarchy: recovery of a known one, balance, connectedness, coverage.

For one graph's :class:`~hipool.explain.export.GraphHierarchy`, at every pooled level
``l`` the original nodes are partitioned by the pooled node they belong to
(:meth:`~hipool.explain.export.GraphHierarchy.cluster`):

* **recovery** of every ground-truth level (``level_labels``: circuit blocks and
  subsystems, communities, functional groups): normalized mutual information (NMI,
  arithmetic mean) and adjusted Rand index (ARI) between the pooled partition and
  the true groups, over the nodes that have a true group.  Nodes a selection
  pooler dropped are left out (``dropped="ignore"``, default) or given the pooled
  node of their nearest represented node in the input graph (``dropped="nearest"``,
  a Voronoi partition of the kept nodes).  ``nmi_shuffled`` is the NMI after
  shuffling the pooled labels over the same nodes (same cluster sizes, structure
  destroyed): the chance level to read ``nmi`` against.  Many tiny clusters (pairs,
  single kept nodes) score a high NMI against any fine truth, which is why the
  shuffled level and ARI (0 at chance) are reported next to it;
* **balance**: entropy of the pooled nodes' sizes (original members), divided by
  its maximum ``log n_l``: 1 = all the same size, 0 = one node holds everything;
* **connected**: share of non-empty pooled nodes whose members induce a connected
  subgraph of the input graph;
* **represented**: share of original nodes that still reach a pooled node.

:func:`hierarchy_metrics` computes them for one graph, :func:`summarize_metrics`
averages them over graphs.  NMI and ARI come from scikit-learn
(``pip install 'hipool[explain]'``).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torch import Tensor

from ..checks import is_int
from ..io import shown
from ..record import DROPPED
from .export import GraphHierarchy

DROPPED_MODES = ("ignore", "nearest")


def _sklearn_metrics():
    try:
        from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    except ImportError as err:
        raise ImportError("hierarchy recovery metrics need scikit-learn: pip install 'hipool[explain]'") from err
    return normalized_mutual_info_score, adjusted_rand_score


def nearest_fill(cluster: Tensor, edge_index: Tensor) -> Tensor:
    """``cluster`` with every dropped node (``-1``) given the label of its nearest labelled node
    (breadth first over ``edge_index``; ties to the smallest label).  Nodes no labelled node
    reaches stay ``-1``."""
    labels = cluster.detach().cpu().numpy().copy()
    src, dst = edge_index.detach().cpu().numpy()
    while True:
        open_ = (labels[dst] == DROPPED) & (labels[src] != DROPPED)
        if not open_.any():
            return torch.from_numpy(labels)
        new = np.full(labels.shape, np.iinfo(np.int64).max)
        np.minimum.at(new, dst[open_], labels[src[open_]])
        reached = new != np.iinfo(np.int64).max
        labels[reached] = new[reached]


#: Largest seed of the metrics' shuffles (numpy seeds; a level's shuffle takes seed + 1000 * level + k).
MAX_METRICS_SEED = 2**63 - 1


def _check_seed(seed: Any, where: str) -> None:
    if not is_int(seed) or not 0 <= seed <= MAX_METRICS_SEED - 10**6:
        raise ValueError(f"{where}: 'seed' must be an int from 0 to {MAX_METRICS_SEED - 10**6}, got {seed!r}")


def recovery(cluster: Tensor, truth: Tensor, *, seed: int = 0) -> Dict[str, Optional[float]]:
    """NMI, ARI and the shuffled NMI between ``cluster`` and ``truth`` (both ``[N]``, ``-1`` left
    out), over the nodes that have both; ``None`` values when fewer than two nodes do."""
    for name, v in (("cluster", cluster), ("truth", truth)):
        if (
            not isinstance(v, Tensor)
            or v.dim() != 1
            or v.is_floating_point()
            or v.is_complex()
            or v.dtype == torch.bool
        ):
            got = f"{v.dtype} {tuple(v.shape)}" if isinstance(v, Tensor) else type(v).__name__
            raise ValueError(f"recovery: '{name}' must be a 1-D integer tensor (a group id per node), got {got}")
    if cluster.numel() != truth.numel():
        raise ValueError(f"recovery: 'cluster' has {cluster.numel()} nodes but 'truth' has {truth.numel()}")
    _check_seed(seed, "recovery")
    nmi, ari = _sklearn_metrics()
    c, t = cluster.detach().cpu().numpy(), truth.detach().cpu().numpy()
    keep = (c != DROPPED) & (t >= 0)
    n = int(keep.sum())
    if n < 2:
        return {"nmi": None, "ari": None, "nmi_shuffled": None, "nodes": n}
    c, t = c[keep], t[keep]
    shuffled = np.random.default_rng(seed).permutation(c)
    return {"nmi": float(nmi(t, c)), "ari": float(ari(t, c)), "nmi_shuffled": float(nmi(t, shuffled)), "nodes": n}


def balance(cluster: Tensor, num_clusters: int) -> Dict[str, float]:
    """Entropy (nats) of the cluster sizes and the same divided by ``log(num_clusters)``."""
    c = cluster[cluster != DROPPED]
    sizes = torch.bincount(c, minlength=num_clusters).double()
    p = sizes[sizes > 0] / sizes.sum() if sizes.sum() > 0 else sizes[:0]
    entropy = float(-(p * p.log()).sum())
    return {"entropy": entropy, "balance": entropy / math.log(num_clusters) if num_clusters > 1 else 1.0}


def connected_share(cluster: Tensor, edge_index: Tensor) -> float:
    """Share of non-empty clusters whose members induce a connected subgraph of ``edge_index``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    c = cluster.detach().cpu().numpy()
    n = c.shape[0]
    src, dst = edge_index.detach().cpu().numpy()
    same = (c[src] == c[dst]) & (c[src] != DROPPED)
    adj = coo_matrix((np.ones(int(same.sum())), (src[same], dst[same])), shape=(n, n))
    _, comp = connected_components(adj, directed=False)
    alive = c != DROPPED
    if not alive.any():
        return float("nan")
    pairs = np.unique(np.stack([c[alive], comp[alive]]), axis=1)  # (cluster, component) pairs
    clusters, parts = np.unique(pairs[0], return_counts=True)
    return float((parts == 1).sum() / clusters.size)


def hierarchy_metrics(h: GraphHierarchy, *, dropped: str = "ignore", seed: int = 0) -> List[Dict[str, Any]]:
    """The metrics of every pooled level of one graph (see the module docstring), a list of
    ``{"level", "nodes", "represented", "balance", "entropy", "connected", "recovery"}`` with
    ``recovery`` ``{truth name: {"nmi", "ari", "nmi_shuffled", "nodes"}}`` (empty without truth)."""
    if not isinstance(h, GraphHierarchy):
        raise ValueError(
            f"hierarchy_metrics: 'h' must be a GraphHierarchy (explain_graph's result), got {type(h).__name__}"
        )
    if not isinstance(dropped, str) or dropped not in DROPPED_MODES:
        raise ValueError(f"hierarchy_metrics: 'dropped' must be one of {', '.join(DROPPED_MODES)}, got {dropped!r}")
    _check_seed(seed, "hierarchy_metrics")
    ei = h.edge_index[0]
    rows = []
    for level in range(1, h.num_levels + 1):
        c = h.cluster(level)
        filled = nearest_fill(c, ei) if dropped == "nearest" else c
        rec = {}
        if h.truth is not None:
            for k in range(h.truth.size(1)):
                rec[h.truth_name(k)] = recovery(filled, h.truth[:, k], seed=seed + 1000 * level + k)
        rows.append(
            {
                "level": level,
                "nodes": h.num_nodes[level],
                "represented": float((c != DROPPED).double().mean()) if c.numel() else float("nan"),
                **balance(c, h.num_nodes[level]),
                "connected": connected_share(c, ei),
                "recovery": rec,
            }
        )
    return rows


def summarize_metrics(per_graph: List[List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    """Mean and standard deviation (``ddof=0``) over graphs of every metric of every level;
    ``{"level", "graphs", "<metric>": mean, "<metric>_std": std, "recovery": {truth: {...}}}``.
    ``None`` values (too few labelled nodes) are left out of the means."""
    keys = ("level", "nodes", "represented", "balance", "entropy", "connected", "recovery")
    if not isinstance(per_graph, (list, tuple)) or not all(
        isinstance(g, (list, tuple))
        and all(isinstance(r, dict) and all(k in r for k in keys) and isinstance(r["recovery"], dict) for r in g)
        for g in per_graph
    ):
        raise ValueError(
            "summarize_metrics: 'per_graph' must be a list of hierarchy_metrics results (one list of "
            f"level rows with {', '.join(keys)} per graph), got {shown(per_graph, 120)}"
        )
    levels = max((len(g) for g in per_graph), default=0)
    out = []
    for i in range(levels):
        rows = [g[i] for g in per_graph if len(g) > i]
        entry: Dict[str, Any] = {"level": i + 1, "graphs": len(rows)}
        for key in ("nodes", "represented", "balance", "entropy", "connected"):
            entry[key], entry[f"{key}_std"] = _mean_std([r[key] for r in rows])
        truths = list(dict.fromkeys(t for r in rows for t in r["recovery"]))  # in column order
        entry["recovery"] = {}
        for t in truths:
            vals = [r["recovery"][t] for r in rows if t in r["recovery"]]
            e = {}
            for key in ("nmi", "ari", "nmi_shuffled"):
                e[key], e[f"{key}_std"] = _mean_std([v[key] for v in vals])
            entry["recovery"][t] = e
        out.append(entry)
    return out


def _mean_std(values) -> tuple:
    v = [float(x) for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return None, None
    return float(np.mean(v)), float(np.std(v))


def metrics_table(summary: List[Dict[str, Any]]) -> str:
    """The summary as a Markdown table: one row per level, NMI / ARI per truth level."""
    truths = list(summary[0]["recovery"]) if summary else []
    head = ["level", "nodes", "represented", "balance", "connected"]
    for t in truths:
        head += [f"NMI {t}", f"ARI {t}", f"NMI {t} (shuffled)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def f(v, std=None, digits=3):
        if v is None:
            return "–"
        return f"{v:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")

    for e in summary:
        cells = [str(e["level"]), f(e["nodes"], None, 1), f(e["represented"]), f(e["balance"]), f(e["connected"])]
        for t in truths:
            r = e["recovery"][t]
            cells += [f(r["nmi"], r["nmi_std"]), f(r["ari"], r["ari_std"]), f(r["nmi_shuffled"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
