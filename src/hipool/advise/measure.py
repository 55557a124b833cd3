"""What ``hipool advise`` measures on one graph: size, degrees, a diameter estimate and the
hierarchy signal (networkx: ``pip install 'hipool[graphs]'``).

Every graph is read as a simple undirected graph: both directions of an edge count once,
self-loops and repeated edges are left out.  For a graph of ``n`` nodes and ``m`` such edges:

* **density** ``2m / (n (n - 1))`` (0 for fewer than 2 nodes); **degree** mean ``2m / n`` and max;
* **diameter** (a lower bound): the double sweep on the largest connected component: a
  breadth-first search from a seeded random node finds the farthest node ``u``, and the
  eccentricity of ``u`` (a second search) is the estimate.  It is exact on trees and paths and
  never above the true diameter; two searches, so its cost is ``O(n + m)`` whatever the size;
* **modularity** ``Q1`` of a Louvain partition (``networkx.community.louvain_communities``,
  seeded), and the **null modularity**: the same on a degree-preserving shuffle of the graph
  (:data:`NULL_SWAPS_PER_EDGE` double-edge swaps per edge, seeded).  Sparse random graphs have
  a high Louvain modularity too (0.4–0.6), so what counts as community structure is the
  **excess** ``Q1 - Q_null``;
* the **quotient graph**: one node per Louvain community, an edge between two communities
  weighted by the edges between them (no self-loops).  ``Q2``, the modularity of a Louvain
  partition of the quotient graph (the "partition of that partition"), says whether the
  communities themselves group into communities: a second level.  It is undefined (``None``)
  when the quotient graph has fewer than 2 edges;
* **edges kept by one coarsening** (``cut_share``): the share of the edges that run *between*
  Louvain communities.  Contracting every community into one node keeps exactly these (as the
  quotient's weights); the edges inside communities become part of the nodes.  Low: the
  communities are well separated; ``coarse_share``: communities / nodes, the share of nodes
  that one coarsening to the communities keeps;
* the **known hierarchy** (``level_labels``): per column, the groups and the nodes the
  coarsening along that column keeps (its groups plus the nodes without a group).

Work is capped for large graphs: above :data:`NULL_MAX_EDGES` edges there is no shuffled null
(so no excess), above :data:`SIGNAL_MAX_EDGES` no Louvain at all (``None``): networkx's Louvain in
pure Python would take minutes per graph.  Below the caps a graph of ``m`` edges takes about
0.1–0.2 ms per edge (200 DD proteins of 700 edges: 15 s).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from torch_geometric.data import Data

from ..data.base import LEVEL_LABELS

#: Double-edge swaps per edge of the degree-preserving shuffle (the null model of the modularity).
NULL_SWAPS_PER_EDGE = 3
#: Graphs with more edges than this get no hierarchy signal (Louvain would take minutes per graph).
SIGNAL_MAX_EDGES = 100_000
#: Graphs with more edges than this get no shuffled null (Louvain converges slowly on a shuffled graph:
#: 3 s at 24,000 edges, 55 s at 54,000 on two cores), so no excess modularity.
NULL_MAX_EDGES = 25_000


def networkx():
    """networkx, or an ImportError saying how to install it."""
    try:
        import networkx as nx
    except ImportError as err:  # pragma: no cover - networkx is in every extra that reads graphs
        raise ImportError("hipool advise needs networkx: pip install 'hipool[graphs]'") from err
    return nx


@dataclass
class GraphMeasures:
    """The measures of one graph (see the module docstring); ``None``: undefined or not measured."""

    index: int
    nodes: int
    edges: int
    label: Optional[int] = None
    density: float = 0.0
    degree_mean: float = 0.0
    degree_max: int = 0
    components: int = 0
    largest_component: int = 0
    diameter: Optional[int] = None
    modularity: Optional[float] = None
    null_modularity: Optional[float] = None
    communities: Optional[int] = None
    cut_share: Optional[float] = None
    coarse_share: Optional[float] = None
    quotient_edges: Optional[int] = None
    second_modularity: Optional[float] = None
    #: per ``level_labels`` column: ``{"groups", "grouped", "kept"}`` (nodes after pooling along it)
    known_levels: List[Dict[str, int]] = field(default_factory=list)

    @property
    def excess(self) -> Optional[float]:
        """Louvain modularity above the degree-preserving shuffle's."""
        if self.modularity is None or self.null_modularity is None:
            return None
        return self.modularity - self.null_modularity

    def to_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "excess": self.excess}


def simple_edges(data: Data) -> Tuple[int, np.ndarray]:
    """``(n, edges)``: the node count and the undirected simple edges ``[m, 2]`` (``u < v``) of a graph."""
    n = int(data.num_nodes or 0)
    ei = data.edge_index
    if ei is None or ei.numel() == 0 or n < 2:
        return n, np.zeros((0, 2), dtype=np.int64)
    e = ei.detach().cpu().numpy().astype(np.int64)
    u, v = np.minimum(e[0], e[1]), np.maximum(e[0], e[1])
    keep = u != v
    pairs = np.unique(u[keep] * n + v[keep])
    return n, np.stack([pairs // n, pairs % n], axis=1)


def to_networkx(n: int, edges: np.ndarray):
    nx = networkx()
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges.tolist())
    return graph


def double_sweep(graph, start) -> int:
    """A lower bound of the diameter of the connected ``graph``: the eccentricity of the node
    farthest from ``start`` (exact on trees)."""
    nx = networkx()
    dist = nx.single_source_shortest_path_length(graph, start)
    far = max(dist, key=lambda v: (dist[v], -v))
    return int(max(nx.single_source_shortest_path_length(graph, far).values()))


def modularity_signal(graph, seed: int) -> Dict[str, Any]:
    """Louvain modularity, its degree-preserving null, the quotient graph and its own modularity."""
    nx = networkx()
    m = graph.number_of_edges()
    parts = nx.community.louvain_communities(graph, seed=seed)
    q1 = float(nx.community.modularity(graph, parts))
    member = {v: i for i, part in enumerate(parts) for v in part}
    weights: Dict[Tuple[int, int], int] = {}
    for a, b in graph.edges():
        ca, cb = member[a], member[b]
        if ca != cb:
            key = (min(ca, cb), max(ca, cb))
            weights[key] = weights.get(key, 0) + 1
    cut = sum(weights.values())
    quotient = nx.Graph()
    quotient.add_nodes_from(range(len(parts)))
    quotient.add_weighted_edges_from((a, b, w) for (a, b), w in weights.items())
    q2 = None
    if quotient.number_of_edges() >= 2:
        upper = nx.community.louvain_communities(quotient, weight="weight", seed=seed)
        q2 = float(nx.community.modularity(quotient, upper, weight="weight"))
    return {
        "modularity": q1,
        "null_modularity": null_modularity(graph, seed) if m <= NULL_MAX_EDGES else None,
        "communities": len(parts),
        "cut_share": cut / m,
        "coarse_share": len(parts) / graph.number_of_nodes(),
        "quotient_edges": quotient.number_of_edges(),
        "second_modularity": q2,
    }


def null_modularity(graph, seed: int) -> Optional[float]:
    """Louvain modularity of a degree-preserving shuffle of ``graph`` (``None`` below 2 edges or 4 nodes)."""
    nx = networkx()
    m = graph.number_of_edges()
    if m < 2 or graph.number_of_nodes() < 4:
        return None
    shuffled = graph.copy()
    swaps = NULL_SWAPS_PER_EDGE * m
    try:
        nx.double_edge_swap(shuffled, nswap=swaps, max_tries=100 * swaps, seed=seed)
    except (nx.NetworkXAlgorithmError, nx.NetworkXError):
        pass  # a graph that allows few swaps (a star, a clique): what was swapped is the null
    parts = nx.community.louvain_communities(shuffled, seed=seed)
    return float(nx.community.modularity(shuffled, parts))


def known_levels(data: Data) -> List[Dict[str, int]]:
    """Per ``level_labels`` column: its groups, the nodes in a group, and the nodes kept by
    pooling along it (groups + nodes without one; ``pool: given`` leaves those as they are)."""
    labels = getattr(data, LEVEL_LABELS, None)
    if labels is None or labels.numel() == 0:
        return []
    table = labels.detach().cpu().numpy()
    if table.ndim == 1:
        table = table[:, None]
    out = []
    for col in table.T:
        grouped = col[col >= 0]
        groups = int(np.unique(grouped).size)
        out.append({"groups": groups, "grouped": int(grouped.size), "kept": groups + int(col.size - grouped.size)})
    return out


def measure_graph(data: Data, index: int, seed: int = 0, label: Optional[int] = None) -> GraphMeasures:
    """Every measure of one graph (``seed``: Louvain, the shuffle and the diameter's start node)."""
    n, edges = simple_edges(data)
    m = int(edges.shape[0])
    out = GraphMeasures(index=index, nodes=n, edges=m, label=label, known_levels=known_levels(data))
    if n == 0:
        return out
    degrees = np.bincount(edges.reshape(-1), minlength=n) if m else np.zeros(n, dtype=np.int64)
    out.density = 2 * m / (n * (n - 1)) if n > 1 else 0.0
    out.degree_mean = 2 * m / n
    out.degree_max = int(degrees.max())
    nx = networkx()
    graph = to_networkx(n, edges)
    comps = list(nx.connected_components(graph))
    largest = max(comps, key=len)
    out.components, out.largest_component = len(comps), len(largest)
    rng = random.Random(seed * 1_000_003 + index)
    core = graph.subgraph(largest)
    out.diameter = double_sweep(core, rng.choice(sorted(largest))) if len(largest) > 1 else 0
    if 0 < m <= SIGNAL_MAX_EDGES:
        for key, value in modularity_signal(graph, seed * 1_000_003 + index).items():
            setattr(out, key, value)
    return out
