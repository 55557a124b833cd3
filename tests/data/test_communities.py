"""Tests of the hierarchical community graph generator (hipool.data.communities)."""

from collections import Counter

import networkx as nx
import numpy as np
import pytest
import torch
from torch_geometric.utils import coalesce, is_undirected

from hipool.data.communities import (
    CLASS_NAMES,
    MIN_COMMUNITY_SIZE,
    MIN_NODES,
    NUM_CLASSES,
    NUM_FEATURES,
    make_community_dataset,
    make_community_graph,
)

FIELDS = ("x", "edge_index", "y", "level_labels")


def _same(a, b):
    return all(torch.equal(getattr(a, k), getattr(b, k)) for k in FIELDS) and a.num_nodes == b.num_nodes


def _degrees(data):
    return torch.bincount(data.edge_index[0], minlength=data.num_nodes)


def _check_invariants(data, label=None):
    n = data.num_nodes
    x, ei, y, lv = data.x, data.edge_index, data.y, data.level_labels
    assert x.dtype == torch.float32 and x.shape == (n, NUM_FEATURES)
    assert ei.dtype == torch.int64 and ei.dim() == 2 and ei.size(0) == 2 and ei.size(1) > 0
    assert y.dtype == torch.int64 and y.shape == (1,)
    if label is not None:
        assert int(y) == label
    assert lv.dtype == torch.int64 and lv.shape == (n, 2)
    assert int(ei.min()) >= 0 and int(ei.max()) < n
    assert is_undirected(ei, num_nodes=n)
    assert not bool((ei[0] == ei[1]).any()), "self-loop"
    # Coalesced: sorted, no duplicates.
    assert torch.equal(coalesce(ei, num_nodes=n), ei)
    assert torch.unique(ei, dim=1).size(1) == ei.size(1)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(ei.t().tolist())
    assert nx.is_connected(g)
    # Features: constant, log-degree, one-hot degree bucket.
    deg = _degrees(data)
    assert torch.all(x[:, 0] == 1.0)
    assert torch.allclose(x[:, 1], torch.log1p(deg.float()))
    assert torch.all(x[:, 2:].sum(1) == 1.0)
    assert torch.all((x[:, 2:] == 0) | (x[:, 2:] == 1))


def _check_levels(data):
    comm = data.level_labels[:, 0].numpy()
    sup = data.level_labels[:, 1].numpy()
    num_comm, num_super = comm.max() + 1, sup.max() + 1
    assert comm.min() == 0 and sup.min() == 0
    assert set(comm.tolist()) == set(range(num_comm))  # contiguous ids
    assert set(sup.tolist()) == set(range(num_super))
    super_of = {}
    for c, s in zip(comm.tolist(), sup.tolist()):
        assert super_of.setdefault(c, s) == s, "a community in two super-communities"
    assert np.bincount(comm).min() >= MIN_COMMUNITY_SIZE
    per_super = Counter(super_of.values())
    assert all(4 <= k <= 6 for k in per_super.values())
    return comm, sup


# -- determinism ------------------------------------------------------------


def test_same_arguments_give_identical_graphs():
    for label in range(NUM_CLASSES):
        a = make_community_graph(label, seed=123)
        b = make_community_graph(label, seed=123)
        assert _same(a, b)
    a = make_community_graph(1, seed=5, min_nodes=60, max_nodes=90)
    b = make_community_graph(1, seed=5, min_nodes=60, max_nodes=90)
    assert _same(a, b)


def test_different_seeds_give_different_graphs():
    graphs = [make_community_graph(0, seed=s) for s in range(10)]
    for i in range(len(graphs)):
        for j in range(i + 1, len(graphs)):
            assert not _same(graphs[i], graphs[j])


def test_dataset_is_deterministic():
    a = make_community_dataset(12, seed=3)
    b = make_community_dataset(12, seed=3)
    assert len(a) == len(b) == 12
    assert all(_same(g, h) for g, h in zip(a, b))
    c = make_community_dataset(12, seed=4)
    assert not all(_same(g, h) for g, h in zip(a, c))


# -- sizes and invariants ---------------------------------------------------


def test_default_sizes_in_range_and_spread():
    sizes = [make_community_graph(s % NUM_CLASSES, seed=s).num_nodes for s in range(50)]
    assert min(sizes) >= 50 and max(sizes) <= 500
    assert min(sizes) < 100 and max(sizes) > 300  # spread over the range
    assert 120 <= np.mean(sizes) <= 280


@pytest.mark.parametrize("lo,hi", [(MIN_NODES, MIN_NODES), (100, 100), (60, 120), (300, 500)])
def test_custom_size_range(lo, hi):
    for s in range(6):
        data = make_community_graph(s % NUM_CLASSES, seed=s, min_nodes=lo, max_nodes=hi)
        assert lo <= data.num_nodes <= hi
        _check_invariants(data, s % NUM_CLASSES)
        _check_levels(data)


def test_data_invariants_and_levels():
    for s in range(30):
        label = s % NUM_CLASSES
        data = make_community_graph(label, seed=1000 + s)
        _check_invariants(data, label)
        _check_levels(data)


# -- what decides the class -------------------------------------------------


def _community_graphs(data):
    """The level-1 graph (communities, linked where an edge joins them) of each super-community."""
    comm, sup = _check_levels(data)
    ei = data.edge_index.numpy()
    graphs = {s: nx.Graph() for s in set(sup.tolist())}
    for c, s in set(zip(comm.tolist(), sup.tolist())):
        graphs[s].add_node(c)
    for u, v in ei.T:
        if comm[u] != comm[v] and sup[u] == sup[v]:
            graphs[sup[u]].add_edge(comm[u], comm[v])
    return graphs


def test_class_is_the_arrangement_of_communities():
    for s in range(12):
        for label, name in enumerate(CLASS_NAMES):
            data = make_community_graph(label, seed=s)
            for g in _community_graphs(data).values():
                k = g.number_of_nodes()
                degrees = sorted(d for _, d in g.degree())
                assert nx.is_connected(g)
                if name == "chain":
                    assert g.number_of_edges() == k - 1 and degrees == [1, 1] + [2] * (k - 2)
                elif name == "ring":
                    assert g.number_of_edges() == k and degrees == [2] * k
                else:
                    assert g.number_of_edges() == k - 1 and degrees == [1] * (k - 1) + [k - 1]


def test_label_changes_nothing_a_node_can_count():
    """Same seed, any label: same N, levels, edge count and degree sequence."""
    for s in range(15):
        graphs = [make_community_graph(label, seed=s) for label in range(NUM_CLASSES)]
        first = graphs[0]
        for g in graphs[1:]:
            assert g.num_nodes == first.num_nodes
            assert torch.equal(g.level_labels, first.level_labels)
            assert g.edge_index.size(1) == first.edge_index.size(1)
            assert torch.equal(torch.sort(_degrees(g))[0], torch.sort(_degrees(first))[0])
            assert torch.equal(torch.sort(g.x, dim=0)[0], torch.sort(first.x, dim=0)[0])
            assert not torch.equal(g.edge_index, first.edge_index)


# -- dataset ----------------------------------------------------------------


@pytest.mark.parametrize("num_graphs", [1, 2, 30, 31, 32])
def test_dataset_classes_are_balanced(num_graphs):
    data = make_community_dataset(num_graphs, seed=0, min_nodes=50, max_nodes=80)
    assert len(data) == num_graphs
    counts = Counter(int(d.y) for d in data)
    full = [counts.get(c, 0) for c in range(NUM_CLASSES)]
    assert sum(full) == num_graphs
    assert max(full) - min(full) <= 1


def test_dataset_labels_are_shuffled_and_graphs_valid():
    data = make_community_dataset(24, seed=1)
    labels = [int(d.y) for d in data]
    assert labels != [i % NUM_CLASSES for i in range(24)]
    for d in data[:6]:
        _check_invariants(d)
        _check_levels(d)


# -- argument checks --------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,name,value",
    [
        (dict(label=-1, seed=0), "label", "-1"),
        (dict(label=NUM_CLASSES, seed=0), "label", str(NUM_CLASSES)),
        (dict(label=1.0, seed=0), "label", "1.0"),
        (dict(label=True, seed=0), "label", "True"),
        (dict(label=0, seed=-3), "seed", "-3"),
        (dict(label=0, seed=0, min_nodes=MIN_NODES - 1), "min_nodes", str(MIN_NODES - 1)),
        (dict(label=0, seed=0, max_nodes=10), "max_nodes", "10"),
        (dict(label=0, seed=0, min_nodes=200, max_nodes=100), "min_nodes", "200"),
    ],
)
def test_graph_argument_errors(kwargs, name, value):
    with pytest.raises(ValueError, match=name) as info:
        make_community_graph(**kwargs)
    assert value in str(info.value)


@pytest.mark.parametrize(
    "kwargs,name,value",
    [
        (dict(num_graphs=0), "num_graphs", "0"),
        (dict(num_graphs=-5), "num_graphs", "-5"),
        (dict(num_graphs=2.5), "num_graphs", "2.5"),
        (dict(seed=-1), "seed", "-1"),
        (dict(min_nodes=10), "min_nodes", "10"),
        (dict(min_nodes=300, max_nodes=200), "max_nodes", "200"),
    ],
)
def test_dataset_argument_errors(kwargs, name, value):
    with pytest.raises(ValueError, match=name) as info:
        make_community_dataset(**kwargs)
    assert value in str(info.value)


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("communities", (400, 0)),
        ("communities:", (400, 0)),
        ("communities: n = 12 , seed=3", (12, 3)),
        ("communities:n=100000,seed=9223372036854775807", (100000, 2**63 - 1)),
    ],
)
def test_community_spec(spec, expected):
    from hipool.data.communities import parse_community_spec

    assert parse_community_spec(spec) == expected


@pytest.mark.parametrize(
    "spec,message",
    [
        ("communities:n=0", r"n='0' is out of range; n must be in \[1, 100000\]"),
        ("communities:n=100001", r"n='100001' is out of range"),
        ("communities:n=" + "9" * 5000, r"is out of range"),
        ("communities:n=abc", r"n='abc' is not an int"),
        ("communities:n=1_000", r"n='1_000' is not an int"),
        ("communities:seed=-1", r"seed='-1' is out of range; seed must be in \[0, 9223372036854775807\]"),
        ("communities:n=3,n=4", r"n is given twice"),
        ("communities:size=3", r"'size=3' is not key=value with a key among n, seed"),
    ],
)
def test_community_spec_errors(spec, message):
    from hipool.data.communities import parse_community_spec

    with pytest.raises(ValueError, match=r"dataset 'communities:.*" + message):
        parse_community_spec(spec)
