"""Hierarchical community graphs: the embedded, offline demo dataset.

Every graph is a small society with three levels:

* level 0 - *people* (the nodes);
* level 1 - *communities* (villages): everybody has exactly four friends inside
  their own community (a circulant graph on it, in a random order);
* level 2 - *super-communities* (districts): groups of 4 to 6 communities.

**What decides the class** is the arrangement of the communities inside the
super-communities, i.e. the shape of the level-1 graph within each level-2 group
(one node per community, an edge where two communities are linked).  All
super-communities of a graph share it:

====  =====  =============================================================
y     name   the ``k`` communities of every super-community, in a random
             order ``c0..c(k-1)``, are linked as
====  =====  =============================================================
0     chain  a path ``c0 - c1 - ... - c(k-1)``
1     ring   a cycle: the path plus ``c(k-1) - c0``
2     star   a centre ``c0`` linked to each of the others
====  =====  =============================================================

(star and chain differ because ``k >= 4``).  A link is made of single edges
between *ambassadors*, one in each community.  A super-community whose
smallest community has ``m`` people always gets exactly ``U = m`` such edges,
spread as evenly as possible over its 3 to 6 links, and nobody is the
ambassador of two edges (a community carries at most ``U`` of them, which
fits).  Super-communities are joined into one connected graph by 1-2 bridge
edges along a random tree; bridge ends are never ambassadors.

The label is used in exactly one place: choosing which pairs of communities
get the ``U`` edges.  All random draws are the same for every label, so for one
``seed`` the three labels give the same ``N``, the same communities and
super-communities (identical ``level_labels``), the same friendships inside
communities, the same number of edges and **exactly the same degree
sequence** (everybody has degree 4, plus one per link or bridge edge they
hold; ambassadors and bridge ends are the same *number* of people in every
class).  So no per-node statistic - degree, ``N``, the edge count, the
community sizes - carries the label, and an ambassador looks the same in
every class.  What differs is *where* the ambassadors sit: concentrated in the
centre community (star: the centre holds ``U`` of its super-community's
``2U`` ambassadors), graded (chain: the two end communities hold about half
as many as the middle ones) or even (ring).  A model sees this only by
combining, over the communities of a graph, how many of a node's
community-mates are ambassadors and how loaded the communities at the far end
of its links are; chain vs ring is the hard pair.

Node features ``x`` (``NUM_FEATURES = 7`` columns, float32) are structural and
computed from the final ``edge_index`` only, never from the label or levels:

* column 0: the constant ``1``;
* column 1: ``log(1 + degree)``;
* columns 2-6: one-hot degree bucket ``[<=2, 3-4, 5-6, 7-9, >=10]``.

Sizes: ``N`` is drawn log-uniformly in ``[min_nodes, max_nodes]`` (with the
default 50..500 the mean is about 195 nodes); the mean community size is drawn
per graph in 8..14 and communities have at least :data:`MIN_COMMUNITY_SIZE`
people, so ``min_nodes`` must be at least :data:`MIN_NODES` (two
super-communities of four communities of six).

Each :class:`~torch_geometric.data.Data` has ``x``; ``edge_index`` (int64,
undirected with both directions, coalesced, no self-loops or duplicates,
connected); ``y`` (int64, shape ``[1]``); ``level_labels`` (int64 ``[N, 2]``:
column 0 the community of each node, ``0..C-1``; column 1 its super-community,
``0..S-1``).  Node ids are shuffled, so their order says nothing.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same arguments
give bit-identical graphs, offline.
"""

from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, to_undirected

from .base import check_int, spec_number, spec_options

__all__ = [
    "CLASS_NAMES",
    "MIN_COMMUNITY_SIZE",
    "MIN_NODES",
    "NUM_CLASSES",
    "NUM_FEATURES",
    "make_community_dataset",
    "community_dataset",
    "make_community_graph",
    "community_link_degree",
    "NODE_CLASS_NAMES",
]

#: Names of the classes, indexed by label (how communities are linked inside a super-community).
CLASS_NAMES: Tuple[str, ...] = ("chain", "ring", "star")
#: Number of classes.
NUM_CLASSES: int = len(CLASS_NAMES)
#: Upper bounds of the one-hot degree buckets (the last bucket is open).
_DEGREE_BUCKETS: Tuple[int, ...] = (2, 4, 6, 9)
#: Width of ``data.x``: constant, log-degree, degree buckets.
NUM_FEATURES: int = 2 + len(_DEGREE_BUCKETS) + 1

#: Node-level classes of :func:`community_link_degree`.
NODE_CLASS_NAMES: Tuple[str, ...] = ("one link", "two links", "three or more links")

#: Fewest people in a community.
MIN_COMMUNITY_SIZE: int = 6
#: Fewest super-communities in a graph.
_MIN_SUPER: int = 2
#: Fewest / most communities in a super-community (star differs from chain from 4 on).
_MIN_COMM_PER_SUPER, _MAX_COMM_PER_SUPER = 4, 6
#: Smallest ``min_nodes`` accepted.
MIN_NODES: int = _MIN_SUPER * _MIN_COMM_PER_SUPER * MIN_COMMUNITY_SIZE
#: The mean community size is drawn per graph in this range.
_COMMUNITY_SIZE_RANGE = (8.0, 14.0)
#: Bridge edges per link between two super-communities.
_BRIDGES_PER_LINK = (1, 2)


def _check_sizes(min_nodes, max_nodes) -> Tuple[int, int]:
    min_nodes = check_int("min_nodes", min_nodes, MIN_NODES)
    max_nodes = check_int("max_nodes", max_nodes, MIN_NODES)
    if min_nodes > max_nodes:
        raise ValueError(f"min_nodes must be <= max_nodes, got min_nodes={min_nodes}, max_nodes={max_nodes}")
    return min_nodes, max_nodes


def _split(rng: np.random.Generator, total: int, parts: int, minimum: int, concentration: float) -> np.ndarray:
    """``parts`` integers ``>= minimum`` summing to ``total``, with uneven random shares."""
    extra = total - parts * minimum
    weights = rng.dirichlet(np.full(parts, concentration))
    return minimum + rng.multinomial(extra, weights)


def _random_tree(rng: np.random.Generator, n: int) -> np.ndarray:
    """Edges ``[2, n-1]`` of a random recursive tree on ``0..n-1`` (in a random order)."""
    if n < 2:
        return np.zeros((2, 0), dtype=np.int64)
    order = rng.permutation(n)
    parents = (rng.random(n - 1) * np.arange(1, n)).astype(np.int64)
    return np.stack([order[1:], order[parents]])


def _community_pairs(label: int, order: np.ndarray) -> List[Tuple[int, int]]:
    """Linked pairs of communities of one super-community, in the random ``order``."""
    k = len(order)
    if label == 0:  # chain
        pairs = [(order[i], order[i + 1]) for i in range(k - 1)]
    elif label == 1:  # ring
        pairs = [(order[i], order[(i + 1) % k]) for i in range(k)]
    else:  # star, centre = order[0]
        pairs = [(order[0], order[i]) for i in range(1, k)]
    return [(int(a), int(b)) for a, b in pairs]


def make_community_graph(label: int, seed: int, min_nodes: int = 50, max_nodes: int = 500) -> Data:
    """One hierarchical community graph of class ``label`` (see the module docstring).

    Args:
        label: the class, ``0 <= label < NUM_CLASSES`` (chain, ring, star).
        seed: non-negative integer; the same arguments give the same graph.
        min_nodes, max_nodes: inclusive range of the number of nodes
            (``MIN_NODES <= min_nodes <= max_nodes``).
    """
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not (0 <= label < NUM_CLASSES):
        raise ValueError(f"label must be an integer in [0, {NUM_CLASSES - 1}], got {label!r}")
    label = int(label)
    seed = check_int("seed", seed, 0)
    min_nodes, max_nodes = _check_sizes(min_nodes, max_nodes)

    # The label is used in one place only (``_community_pairs``); the random
    # draws are the same for every label.
    rng = np.random.default_rng(seed)

    # -- sizes -------------------------------------------------------------
    log_n = rng.uniform(math.log(min_nodes), math.log(max_nodes + 1))
    n = int(min(max_nodes, max(min_nodes, math.floor(math.exp(log_n)))))
    mean_comm = rng.uniform(*_COMMUNITY_SIZE_RANGE)
    num_comm = int(round(n / mean_comm))
    num_comm = max(_MIN_SUPER * _MIN_COMM_PER_SUPER, min(num_comm, n // MIN_COMMUNITY_SIZE))
    fewest = max(_MIN_SUPER, -(-num_comm // _MAX_COMM_PER_SUPER))
    most = max(fewest, num_comm // _MIN_COMM_PER_SUPER)
    num_super = int(rng.integers(fewest, most + 1))
    comm_per_super = np.full(num_super, _MIN_COMM_PER_SUPER)
    for _ in range(num_comm - num_super * _MIN_COMM_PER_SUPER):
        open_ = np.flatnonzero(comm_per_super < _MAX_COMM_PER_SUPER)
        comm_per_super[rng.choice(open_)] += 1
    comm_size = _split(rng, n, num_comm, MIN_COMMUNITY_SIZE, 4.0)

    comm_of_node = np.repeat(np.arange(num_comm), comm_size)
    super_of_comm = np.repeat(np.arange(num_super), comm_per_super)
    super_of_node = super_of_comm[comm_of_node]
    comm_start = np.concatenate([[0], np.cumsum(comm_size)])
    # Shuffle node ids so that the node order says nothing about the levels.
    perm = rng.permutation(n)  # new id of old node i
    edges: List[np.ndarray] = []

    # -- level 0: friendships inside each community --------------------------
    # A circulant graph on the community in a random order: everybody has
    # exactly 4 friends inside (the two next to them on a random cycle and the
    # two ``a`` steps away, ``2 <= a < m/2``).
    for c in range(num_comm):
        m, start = int(comm_size[c]), int(comm_start[c])
        cycle = start + rng.permutation(m)
        a = int(rng.integers(2, (m - 1) // 2 + 1))
        edges.append(np.stack([cycle, np.roll(cycle, 1)]))
        edges.append(np.stack([cycle, np.roll(cycle, a)]))

    # -- level 1: links between communities of a super-community (the class) --
    # Super-community s gets U_s = (size of its smallest community) edges, each
    # between two "ambassadors" of two linked communities; nobody holds two of
    # them.  The label only decides which pairs of communities are linked
    # (chain, ring or star over a random order of the communities).
    comm_start_of_super = np.concatenate([[0], np.cumsum(comm_per_super)])
    queues = [rng.permutation(np.arange(comm_start[c], comm_start[c + 1])) for c in range(num_comm)]
    used = np.zeros(num_comm, dtype=np.int64)
    is_ambassador = np.zeros(n, dtype=bool)
    for s in range(num_super):
        c0, kc = int(comm_start_of_super[s]), int(comm_per_super[s])
        local = np.arange(c0, c0 + kc)
        order = rng.permutation(local)
        share = rng.permutation(kc)  # which linked pairs get the remainder edges
        num_links = int(comm_size[local].min())
        pairs = _community_pairs(label, order)
        per_pair = np.full(len(pairs), num_links // len(pairs))
        per_pair[share[share < len(pairs)][: num_links % len(pairs)]] += 1
        for (ca, cb), count in zip(pairs, per_pair):
            count = int(count)
            # Never runs out: a community's load is at most its size (see docstring).
            u = queues[ca][used[ca] : used[ca] + count]
            v = queues[cb][used[cb] : used[cb] + count]
            used[ca] += count
            used[cb] += count
            is_ambassador[u] = True
            is_ambassador[v] = True
            edges.append(np.stack([u, v]))

    # -- level 2: bridges between super-communities (a random tree) ----------
    # Bridge ends are people who are not ambassadors, picked by position in a
    # list whose length does not depend on the label, so the degree sequence
    # is exactly the same for every label.
    pools = [np.flatnonzero((super_of_node == s) & ~is_ambassador) for s in range(num_super)]
    for sa, sb in _random_tree(rng, num_super).T:
        count = int(rng.integers(_BRIDGES_PER_LINK[0], _BRIDGES_PER_LINK[1] + 1))
        u = pools[sa][rng.choice(len(pools[sa]), size=count, replace=False)]
        v = pools[sb][rng.choice(len(pools[sb]), size=count, replace=False)]
        edges.append(np.stack([u, v]))

    edge_index = torch.from_numpy(np.concatenate(edges, axis=1).astype(np.int64))
    edge_index = torch.from_numpy(perm)[edge_index]
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    edge_index = coalesce(to_undirected(edge_index, num_nodes=n), num_nodes=n)

    levels = np.empty((n, 2), dtype=np.int64)
    levels[perm, 0] = comm_of_node
    levels[perm, 1] = super_of_node

    return Data(
        x=_node_features(edge_index, n),
        edge_index=edge_index,
        y=torch.tensor([label], dtype=torch.long),
        level_labels=torch.from_numpy(levels),
        num_nodes=n,
    )


def _node_features(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    """``[1, log(1 + degree), one-hot degree bucket]`` for every node."""
    deg = torch.bincount(edge_index[0], minlength=n)
    bucket = torch.bucketize(deg, torch.tensor(_DEGREE_BUCKETS), right=False)
    x = torch.zeros(n, NUM_FEATURES, dtype=torch.float32)
    x[:, 0] = 1.0
    x[:, 1] = torch.log1p(deg.to(torch.float32))
    x[torch.arange(n), 2 + bucket] = 1.0
    return x


def make_community_dataset(
    num_graphs: int = 400, seed: int = 0, min_nodes: int = 50, max_nodes: int = 500
) -> List[Data]:
    """``num_graphs`` graphs with balanced classes (counts differ by at most one).

    Labels are ``i % NUM_CLASSES`` shuffled by a generator seeded from ``seed``;
    graph ``i`` gets its own seed derived from ``(seed, i)`` with
    :class:`numpy.random.SeedSequence`.  The same arguments give the same list.
    """
    num_graphs = check_int("num_graphs", num_graphs, 1)
    seed = check_int("seed", seed, 0)
    min_nodes, max_nodes = _check_sizes(min_nodes, max_nodes)
    labels = np.random.default_rng([seed, 2]).permutation(np.arange(num_graphs) % NUM_CLASSES)
    graphs = []
    for i in range(num_graphs):
        graph_seed = int(np.random.SeedSequence([seed, i]).generate_state(1, np.uint32)[0])
        graphs.append(make_community_graph(int(labels[i]), graph_seed, min_nodes, max_nodes))
    return graphs


def community_dataset(num_graphs: int = 400, seed: int = 0):
    """:func:`make_community_dataset` as a :class:`~hipool.data.base.GraphDataset`, named by the spec
    that loads it again (``communities``, or ``communities:n=600,seed=1`` for other arguments)."""
    from .base import GraphDataset

    graphs = make_community_dataset(num_graphs=num_graphs, seed=seed)
    name = "communities" if (num_graphs, seed) == (400, 0) else f"communities:n={num_graphs},seed={seed}"
    return GraphDataset(
        name=name,
        graphs=graphs,
        num_features=NUM_FEATURES,
        num_classes=NUM_CLASSES,
        class_names=list(CLASS_NAMES),
        source=f"generated (seed {seed})",
        level_names=("community", "super-community"),
    )


#: Inclusive range of the ``communities:`` spec options (about 0.03 s a graph).
SPEC_LIMITS = {"n": (1, 100_000), "seed": (0, 2**63 - 1)}


def parse_community_spec(spec: str) -> Tuple[int, int]:
    """``communities[:n=N,seed=S]`` → ``(N, S)`` (defaults 400 and 0), with clear errors:
    each key at most once, decimal digits within :data:`SPEC_LIMITS`."""
    options = {"n": 400, "seed": 0}
    for key, value in spec_options(spec, "communities", list(options), "communities:n=600,seed=1"):
        options[key] = spec_number(spec, key, value, *SPEC_LIMITS[key])
    return options["n"], options["seed"]


def community_link_degree(data: Data) -> torch.Tensor:
    """A node-classification target: how many other communities of its super-community
    a node's community is linked to, as class ``0`` (one), ``1`` (two) or ``2`` (three
    or more); see :data:`NODE_CLASS_NAMES`.

    Chain ends and star leaves have one link, chain middles and ring members two, a
    star's centre three to five.  Read from ``edge_index`` and ``level_labels`` only
    (bridges between super-communities do not count).  A node learns it only from
    what its whole community sees, which is the scale pooling gives a model.
    """
    comm, sup = data.level_labels[:, 0], data.level_labels[:, 1]
    src, dst = data.edge_index
    link = (comm[src] != comm[dst]) & (sup[src] == sup[dst])
    num_comm = int(comm.max()) + 1 if comm.numel() else 0
    pairs = torch.unique(comm[src[link]] * num_comm + comm[dst[link]])
    links = torch.bincount(pairs // num_comm, minlength=num_comm) if num_comm else comm.new_zeros(0)
    return (links[comm] - 1).clamp(0, 2)
