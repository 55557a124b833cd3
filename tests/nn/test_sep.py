"""SEP: structural entropy against a brute-force reference, the encoding tree (cliques, nesting,
optimality on tiny graphs, batching, permutations, edge cases, determinism) and SEPPooling."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
import torch

from hipool import Hierarchy
from hipool.nn import GivenPool
from hipool.nn.sep import SEPPooling, sep_levels, sep_tree, structural_entropy

F = 4


def _clique(k: int, offset: int = 0):
    return [(offset + i, offset + j) for i in range(k) for j in range(k) if i != j]


def _edges(pairs) -> torch.Tensor:
    return torch.tensor(pairs, dtype=torch.long).t().reshape(2, -1)


def _cliques(sizes, bridges=1):
    """Cliques in a row, each joined to the next by ``bridges`` edges (both directions)."""
    pairs, offsets, off = [], [], 0
    for k in sizes:
        pairs += _clique(k, off)
        offsets.append(off)
        off += k
    for a in range(len(sizes) - 1):
        for b in range(bridges):
            u, v = offsets[a] + sizes[a] - 1 - b, offsets[a + 1] + b
            pairs += [(u, v), (v, u)]
    return _edges(pairs), off


def _communities(n: int, blocks: int, seed: int):
    """A random weighted graph with ``blocks`` dense groups (distinct random weights: no ties)."""
    g = torch.Generator().manual_seed(seed)
    group = torch.arange(n) % blocks
    pairs = [(i, j) for i, j in combinations(range(n), 2)]
    p = torch.tensor([0.7 if group[i] == group[j] else 0.08 for i, j in pairs])
    keep = torch.rand(len(pairs), generator=g) < p
    e = _edges([pr for pr, k in zip(pairs, keep.tolist()) if k])
    w = torch.rand(e.size(1), generator=g) + 0.5
    return torch.cat([e, e.flip(0)], 1), torch.cat([w, w])


# ---------------------------------------------------------------------------
# structural entropy: brute force from the definition
# ---------------------------------------------------------------------------
def _brute_entropy(edge_index, n, levels, edge_weight=None):
    """Straight from the definition, with sets: every tree node is (level, cluster)."""
    w = [1.0] * edge_index.size(1) if edge_weight is None else edge_weight.tolist()
    A = [[0.0] * n for _ in range(n)]
    for (s, d), wt in zip(edge_index.t().tolist(), w):
        A[s][d] += wt / 2
        A[d][s] += wt / 2
    deg = [sum(row) for row in A]
    V = sum(deg)
    if V == 0:
        return 0.0
    maps = [list(range(n))] + [lv.tolist() for lv in levels]
    if len(set(maps[-1])) > 1 or len(maps) == 1:
        maps.append([0] * n)
    h = 0.0
    for lv in range(len(maps) - 1):
        for c in set(maps[lv]):
            members = {i for i in range(n) if maps[lv][i] == c}
            parent = {i for i in range(n) if maps[lv + 1][i] == maps[lv + 1][next(iter(members))]}
            vol = sum(deg[i] for i in members)
            cut = sum(A[i][j] for i in members for j in range(n) if j not in members)
            if cut > 0:
                h -= cut / V * math.log2(vol / sum(deg[i] for i in parent))
    return h


def _random_tree(n: int, seed: int):
    """Random nested partitions: merge random clusters level by level."""
    g = torch.Generator().manual_seed(seed)
    lv1 = torch.randint(0, max(1, n // 2), (n,), generator=g)
    lv2 = torch.randint(0, 2, (int(lv1.max()) + 1,), generator=g)[lv1]
    return [lv1, lv2]


@pytest.mark.parametrize("seed", range(6))
def test_structural_entropy_equals_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    n = 9
    e = torch.randint(0, n, (2, 20), generator=g)  # directed, self-loops, duplicates
    w = torch.rand(20, generator=g) + 0.1
    levels = _random_tree(n, seed)
    for ew in (None, w):
        for lv in ([], levels[:1], levels):
            assert structural_entropy(e, n, lv, ew) == pytest.approx(_brute_entropy(e, n, lv, ew), abs=1e-12)


def test_structural_entropy_known_values():
    e, n = _cliques([3])
    # one-level tree: the degree entropy, log2(3) for a triangle
    assert structural_entropy(e, n, []) == pytest.approx(math.log2(3))
    # no edges: 0; a root-level partition is the root
    assert structural_entropy(torch.empty(2, 0, dtype=torch.long), 4, []) == 0.0
    assert structural_entropy(e, n, [torch.zeros(3, dtype=torch.long)]) == pytest.approx(math.log2(3))
    with pytest.raises(ValueError, match="nested"):
        structural_entropy(e, n, [torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1])])
    with pytest.raises(ValueError, match=r"'levels\[0\]'"):
        structural_entropy(e, n, [torch.tensor([0.0, 0, 1])])


# ---------------------------------------------------------------------------
# the encoding tree
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [(3, 3), (5, 5), (8, 8), (5, 5, 5)])
def test_two_level_tree_separates_cliques(sizes):
    e, n = _cliques(sizes)
    level1, root = sep_tree(e, n, height=2)
    assert root.tolist() == [0] * n
    expect = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    assert torch.equal(level1, expect)


@pytest.mark.parametrize("sizes", [(4, 6), (3, 7), (6, 4)])
def test_no_community_straddles_two_unequal_cliques(sizes):
    """Structural entropy favours balanced communities: the larger clique may be split, but no
    community holds nodes of both."""
    e, n = _cliques(sizes)
    level1, _ = sep_tree(e, n, height=2)
    clique = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    for c in level1.unique():
        assert clique[level1 == c].unique().numel() == 1


def _partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for p in _partitions(rest):
        for i in range(len(p)):
            yield p[:i] + [[first] + p[i]] + p[i + 1 :]
        yield [[first]] + p


def _best_partition_entropy(e, n, w=None):
    best = math.inf
    for p in _partitions(list(range(n))):
        labels = torch.empty(n, dtype=torch.long)
        for c, block in enumerate(p):
            labels[block] = c
        best = min(best, structural_entropy(e, n, [labels], w))
    return best


@pytest.mark.parametrize(
    "edges,n",
    [
        (_cliques((3, 3))),
        (_cliques((3, 4))),
        (_cliques((4, 4), bridges=2)),
        (_edges([(i, (i + 1) % 6) for i in range(6)] + [((i + 1) % 6, i) for i in range(6)]), 6),
    ],
)
def test_two_level_tree_is_optimal_on_small_structured_graphs(edges, n):
    level1, _ = sep_tree(edges, n, height=2)
    assert structural_entropy(edges, n, [level1]) == pytest.approx(_best_partition_entropy(edges, n), abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_trees_lower_the_entropy_level_by_level(seed):
    e, w = _communities(24, 3, seed)
    previous = structural_entropy(e, 24, [], w)  # the one-level tree
    for height in (2, 3, 4):
        levels = sep_tree(e, 24, height, w)
        h = structural_entropy(e, 24, levels, w)
        assert h <= previous + 1e-12
        previous = h
    # the greedy two-level tree on a small random graph is near the best partition
    g = torch.Generator().manual_seed(seed)
    e = torch.randint(0, 7, (2, 12), generator=g)
    e = e[:, e[0] != e[1]]
    w = torch.rand(e.size(1), generator=g) + 0.1
    level1, _ = sep_tree(e, 7, 2, w)
    assert structural_entropy(e, 7, [level1], w) <= _best_partition_entropy(e, 7, w) + 0.15


@pytest.mark.parametrize("height", [1, 2, 3, 4])
def test_levels_are_nested_partitions_ending_in_the_root(height):
    e, w = _communities(30, 4, seed=height)
    levels = sep_tree(e, 30, height, w)
    assert len(levels) == height and levels[-1].tolist() == [0] * 30
    for fine, coarse in zip(levels, levels[1:]):
        assert fine.dtype == torch.long and fine.shape == (30,)
        # every fine cluster lies inside one coarse cluster
        for c in fine.unique():
            assert coarse[fine == c].unique().numel() == 1
        assert fine.unique().numel() >= coarse.unique().numel()
    for lv in levels:  # numbered 0.. by the smallest node
        first = [int((lv == c).nonzero()[0]) for c in range(int(lv.max()) + 1)]
        assert first == sorted(first)
    assert torch.equal(torch.stack(levels, 1), sep_levels(e, 30, height, w))


def test_deterministic():
    e, w = _communities(40, 4, seed=11)
    first = sep_levels(e, 40, 3, w)
    for _ in range(2):
        assert torch.equal(sep_levels(e, 40, 3, w), first)
    e2, n = _cliques((4, 4, 4, 4))  # symmetric: ties, taken in node order, the same every time
    assert torch.equal(sep_levels(e2, n, 3), sep_levels(e2, n, 3))


def _as_sets(labels, relabel):
    """The partition as a set of frozensets of original node ids."""
    return {frozenset(relabel[labels == c].tolist()) for c in labels.unique()}


@pytest.mark.parametrize("seed", range(4))
def test_permuting_the_nodes_permutes_the_partition(seed):
    n = 36
    e, w = _communities(n, 4, seed)
    levels = sep_levels(e, n, 3, w)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(100 + seed))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)
    order = torch.randperm(e.size(1), generator=torch.Generator().manual_seed(seed))  # edge order too
    levels_p = sep_levels(inv[e][:, order], n, 3, w[order])
    for lv in range(3):
        assert _as_sets(levels_p[:, lv], perm) == _as_sets(levels[:, lv], torch.arange(n))


def _ring_with_chords(n: int, seed: int):
    """Unweighted, as hipool's contract graphs: ties everywhere, broken by colour refinement."""
    g = torch.Generator().manual_seed(seed)
    chords = torch.randint(0, n, (2, n), generator=g)
    e = torch.cat([torch.stack([torch.arange(n), (torch.arange(n) + 1) % n]), chords[:, chords[0] != chords[1]]], 1)
    return torch.unique(torch.cat([e, e.flip(0)], 1), dim=1)


@pytest.mark.parametrize("seed", range(4))
def test_unweighted_ties_are_broken_in_an_order_that_permutes_with_the_nodes(seed):
    n = 30
    e = _ring_with_chords(n, seed)
    levels = sep_levels(e, n, 3)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)
    levels_p = sep_levels(inv[e], n, 3)
    for lv in range(3):
        assert _as_sets(levels_p[:, lv], perm) == _as_sets(levels[:, lv], torch.arange(n))
    x = torch.randn(n, F)
    out, outp = SEPPooling(F)(x, e), SEPPooling(F)(x[perm], inv[e])
    torch.testing.assert_close(outp.x[outp.cluster[inv]], out.x[out.cluster])


@pytest.mark.parametrize("seed", range(5))
def test_the_optimiser_accounts_its_entropy_change_exactly(seed):
    """The gain each optimisation reports is the change of H^T it made (so every step is exact)."""
    from hipool.nn import sep_tree as S

    e, w = _communities(26, 3, seed)
    row, col, val, n = S._check_graph("t", e, 26, w)
    graph = (row, col, val)
    deg = np.bincount(row, weights=val, minlength=n)
    total = float(deg.sum())
    rank = S._wl_rank(n, graph)
    vol, g, pairs = S._unit_stats(np.arange(n), n, deg, graph)
    labels, gain = S._agglomerate(vol, g, np.full(n, total), pairs, total, rank)
    lv1 = torch.from_numpy(labels)
    assert gain < 0
    assert structural_entropy(e, n, [lv1], w) - structural_entropy(e, n, [], w) == pytest.approx(gain, abs=1e-9)
    # at the bottom: sub-communities under each community
    same = labels[pairs[0]] == labels[pairs[1]]
    sub_pairs = (pairs[0][same], pairs[1][same], pairs[2][same])
    sub, sub_gain = S._agglomerate(vol, g, np.bincount(labels, weights=deg)[labels], sub_pairs, total, rank)
    change = structural_entropy(e, n, [torch.from_numpy(sub), lv1], w) - structural_entropy(e, n, [lv1], w)
    assert change == pytest.approx(sub_gain, abs=1e-9)
    # on top: communities of communities under the root
    k = int(labels.max()) + 1
    tvol, tg, tpairs = S._unit_stats(labels, k, deg, graph)
    top_rank = np.full(k, n)
    np.minimum.at(top_rank, labels, rank)
    top, top_gain = S._agglomerate(tvol, tg, np.full(k, total), tpairs, total, top_rank)
    change = structural_entropy(e, n, [lv1, torch.from_numpy(top[labels])], w) - structural_entropy(e, n, [lv1], w)
    assert change == pytest.approx(top_gain, abs=1e-9)


def test_a_batch_gives_what_each_graph_gives_alone():
    graphs = [_communities(n, b, seed=n) for n, b in ((20, 3), (1, 1), (14, 2), (25, 5))]
    sizes = [20, 1, 14, 25]
    edges, weights, batch, off = [], [], [], 0
    for gid, ((e, w), n) in enumerate(zip(graphs, sizes)):
        edges.append(e + off), weights.append(w), batch.append(torch.full((n,), gid))
        off += n
    e, w, batch = torch.cat(edges, 1), torch.cat(weights), torch.cat(batch)
    whole = sep_levels(e, off, 3, w, batch=batch)
    off = 0
    for (eg, wg), n in zip(graphs, sizes):
        assert torch.equal(whole[off : off + n], sep_levels(eg, n, 3, wg))
        off += n
    with pytest.raises(ValueError, match="joins two graphs"):
        sep_levels(torch.tensor([[0], [25]]), off, 3, batch=batch)


def test_graphs_without_edges_and_single_nodes():
    none = torch.empty(2, 0, dtype=torch.long)
    levels = sep_tree(none, 5, 3)
    assert [lv.tolist() for lv in levels] == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0] * 5]
    assert [lv.tolist() for lv in sep_tree(none, 1, 3)] == [[0], [0], [0]]
    assert [lv.tolist() for lv in sep_tree(none, 0, 2)] == [[], []]
    # isolated nodes beside a clique stay alone below the root (the clique splits in two pairs:
    # the root already holds it whole, and two halves have the lower entropy)
    e, _ = _cliques((4,))
    level1, root = sep_tree(e, 6, 2)
    assert level1.tolist() == [0, 0, 1, 1, 2, 3] and root.tolist() == [0] * 6
    assert structural_entropy(e, 6, [level1]) < structural_entropy(e, 6, [torch.tensor([0, 0, 0, 0, 1, 2])])
    # only self-loops: volume but no cut
    loops = torch.tensor([[0, 1], [0, 1]])
    assert [lv.tolist() for lv in sep_tree(loops, 3, 2)] == [[0, 1, 2], [0, 0, 0]]
    assert structural_entropy(loops, 3, []) == 0.0


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: sep_tree(torch.tensor([[0], [1]]), 2, 0), "height"),
        (lambda: sep_tree(torch.tensor([[0], [1]]), -1, 2), "num_nodes"),
        (lambda: sep_tree(torch.tensor([[0], [5]]), 2, 2), "edge_index"),
        (lambda: sep_tree(torch.tensor([[0.0], [1.0]]), 2, 2), "edge_index"),
        (lambda: sep_tree(torch.tensor([[0], [1]]), 2, 2, torch.tensor([-1.0])), "edge_weight"),
        (lambda: sep_tree(torch.tensor([[0], [1]]), 2, 2, torch.tensor([1.0, 2.0])), "edge_weight"),
        (lambda: sep_levels(torch.tensor([[0], [1]]), 2, 2, batch=torch.tensor([1, 0])), "batch"),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"'{name}'"):
        call()


# ---------------------------------------------------------------------------
# the pooler
# ---------------------------------------------------------------------------
def _batch(specs):
    xs, es, ws, bs, off = [], [], [], [], 0
    for gid, (n, blocks) in enumerate(specs):
        e, w = _communities(n, blocks, seed=gid + 3)
        xs.append(torch.randn(n, F, generator=torch.Generator().manual_seed(gid)))
        es.append(e + off), ws.append(w), bs.append(torch.full((n,), gid))
        off += n
    return torch.cat(xs), torch.cat(es, 1), torch.cat(ws), torch.cat(bs)


@pytest.mark.parametrize("reduce", ["mean", "sum"])
@pytest.mark.parametrize("edge_reduce", ["sum", "mean"])
@pytest.mark.parametrize("keep_self_loops", [False, True])
def test_pooling_merges_each_cluster_and_joins_the_edges(reduce, edge_reduce, keep_self_loops):
    x, e, w, batch = _batch([(18, 3), (12, 2)])
    ea = torch.randn(e.size(1), 3)
    pool = SEPPooling(F, level=1, height=3, reduce=reduce, edge_reduce=edge_reduce, keep_self_loops=keep_self_loops)
    out = pool(x, e, edge_attr=ea, batch=batch, edge_weight=w)
    out.validate(batch)
    levels = sep_levels(e, x.size(0), 3, w, batch=batch)
    # the record's clusters are each graph's level-1 clusters, numbered graph by graph
    offset = torch.zeros_like(batch)
    offset[batch == 1] = int(levels[batch == 0, 0].max()) + 1
    assert torch.equal(out.cluster, levels[:, 0] + offset)
    k = out.num_nodes
    for c in range(k):
        members = out.cluster == c
        expect = x[members].mean(0) if reduce == "mean" else x[members].sum(0)
        torch.testing.assert_close(out.x[c], expect)
        assert int(out.batch[c]) == int(batch[members][0])
    # edges: every cluster pair once, weights and attributes combined
    ends = out.cluster[e]
    pairs = {}
    for idx, (a, b) in enumerate(ends.t().tolist()):
        if a != b or keep_self_loops:
            pairs.setdefault((a, b), []).append(idx)
    assert sorted(pairs) == [tuple(p) for p in out.edge_index.t().tolist()]
    for (a, b), wt, at in zip(out.edge_index.t().tolist(), out.edge_weight, out.edge_attr):
        idx = torch.tensor(pairs[(a, b)])
        torch.testing.assert_close(wt, w[idx].sum())
        torch.testing.assert_close(at, ea[idx].sum(0) if edge_reduce == "sum" else ea[idx].mean(0))
    if keep_self_loops:
        # the volumes stay, so the pooled graph's entropies are the tree's: pooled leaves are the
        # level-1 nodes, H_pooled([lv2]) = H([lv1, lv2]) - H([lv1]) + H_pooled([])
        torch.testing.assert_close(out.edge_weight.sum(), w.sum())
        one = batch == 0
        e0, w0, n0 = e[:, one[e[0]]], w[one[e[0]]], int(one.sum())
        lv = sep_levels(e0, n0, 3, w0)
        mine = out.batch == 0
        pe, pw = out.edge_index[:, mine[out.edge_index[0]]], out.edge_weight[mine[out.edge_index[0]]]
        k0 = int(mine.sum())
        coarse = torch.zeros(k0, dtype=torch.long)
        coarse[lv[:, 0]] = lv[:, 1]
        expect = (
            structural_entropy(e0, n0, [lv[:, 0], lv[:, 1]], w0)
            - structural_entropy(e0, n0, [lv[:, 0]], w0)
            + structural_entropy(pe, k0, [], pw)
        )
        assert structural_entropy(pe, k0, [coarse], pw) == pytest.approx(expect, abs=1e-6)  # float32 sums


def test_every_level_and_edge_attr_of_any_width():
    x, e, w, batch = _batch([(16, 2), (9, 3)])
    ea = torch.randn(e.size(1), 2, 3)
    sizes = [SEPPooling(F, level=lv, height=3)(x, e, ea, batch, w).num_nodes for lv in (1, 2, 3)]
    assert sizes[0] >= sizes[1] >= sizes[2] == 2  # level = height: one node per graph
    out = SEPPooling(F, level=2, height=3)(x, e, ea, batch, w)
    assert out.edge_attr.shape == (out.edge_index.size(1), 2, 3)
    out = SEPPooling(F)(x, e, batch=batch)  # no weights: each joined edge counts 1
    assert out.edge_weight.dtype == x.dtype and bool((out.edge_weight >= 1).all())


def test_pooler_batch_equals_graphs_alone_and_chains_with_unpool():
    x, e, w, batch = _batch([(15, 3), (1, 1), (20, 4)])
    pool = SEPPooling(F, level=1, height=2)
    whole = pool(x, e, batch=batch, edge_weight=w)
    start = 0
    for gid in range(3):
        mine = batch == gid
        n = int(mine.sum())
        emask = mine[e[0]]
        alone = pool(x[mine], e[:, emask] - start, edge_weight=w[emask])
        out_mine = whole.batch == gid
        offset = int(out_mine.nonzero()[0])
        torch.testing.assert_close(whole.x[out_mine], alone.x)
        assert torch.equal(whole.cluster[mine] - offset, alone.cluster)
        pe = out_mine[whole.edge_index[0]]
        assert torch.equal(whole.edge_index[:, pe] - offset, alone.edge_index)
        start += n
    h = Hierarchy(batch, num_graphs=3)
    h.append(whole)
    second = SEPPooling(F, level=1, height=2)(
        whole.x, whole.edge_index, batch=whole.batch, edge_weight=whole.edge_weight
    )
    second.validate(whole.batch)
    h.append(second)
    assert torch.equal(h.cluster(2), second.cluster[whole.cluster])
    lifted = whole.unpool(whole.x)
    assert torch.equal(lifted, whole.x[whole.cluster])


def test_precomputed_levels_pool_the_same_with_given_pool():
    """How a model uses a precomputed tree: sep_levels as level_labels, pool: given per level."""
    x, e, w, batch = _batch([(18, 3), (13, 2)])
    labels = sep_levels(e, x.size(0), 3, w, batch=batch)
    given = GivenPool(F, reduce="mean")
    first = given(x, e, batch=batch, edge_weight=w, groups=labels[:, 0])
    sep = SEPPooling(F, level=1, height=3)(x, e, batch=batch, edge_weight=w)
    assert torch.equal(first.cluster, sep.cluster) and torch.equal(first.edge_index, sep.edge_index)
    torch.testing.assert_close(first.x, sep.x)
    torch.testing.assert_close(first.edge_weight, sep.edge_weight)
    # level 2 from the carried labels: the composed map is the tree's level-2 partition
    from hipool.nn.given import carry_labels

    carried = carry_labels(labels, first.cluster, first.num_nodes)
    second = given(first.x, first.edge_index, batch=first.batch, edge_weight=first.edge_weight, groups=carried[:, 1])
    composed = second.cluster[first.cluster]
    assert torch.equal(composed, SEPPooling(F, level=2, height=3)(x, e, batch=batch, edge_weight=w).cluster)


def test_pooler_edge_cases():
    pool = SEPPooling(F, level=1, height=3)
    none = torch.empty(2, 0, dtype=torch.long)
    out = pool(torch.randn(5, F), none, edge_attr=torch.empty(0, 3))
    assert out.num_nodes == 5 and out.edge_index.shape == (2, 0) and out.edge_attr.shape == (0, 3)
    out = pool(torch.randn(1, F), none)
    assert out.num_nodes == 1
    out = pool(torch.empty(0, F), none, batch=torch.empty(0, dtype=torch.long))
    assert out.num_nodes == 0 and out.cluster.numel() == 0


def test_pooler_gradients_flow_to_the_features():
    x, e, w, batch = _batch([(12, 2)])
    x.requires_grad_(True)
    w.requires_grad_(True)
    out = SEPPooling(F)(x, e, batch=batch, edge_weight=w)
    (out.x.pow(2).sum() + out.edge_weight.sum()).backward()
    assert x.grad.abs().sum() > 0 and w.grad.abs().sum() > 0
    assert list(SEPPooling(F).parameters()) == []


@pytest.mark.parametrize(
    "kw,name",
    [
        (dict(in_channels=0), "in_channels"),
        (dict(level=0), "level"),
        (dict(level=4, height=3), "level"),
        (dict(height=0), "height"),
        (dict(reduce="max"), "reduce"),
        (dict(edge_reduce="max"), "edge_reduce"),
        (dict(keep_self_loops=1), "keep_self_loops"),
    ],
)
def test_pooler_bad_arguments_name_the_argument(kw, name):
    args = dict(in_channels=F)
    args.update(kw)
    with pytest.raises(ValueError, match=f"'{name}'"):
        SEPPooling(**args)


def test_pooler_bad_input_names_the_argument():
    x, e, w, batch = _batch([(8, 2)])
    pool = SEPPooling(F)
    with pytest.raises(ValueError, match="'sizes'"):
        pool(x, e, batch=batch, sizes=torch.tensor([3]))
    with pytest.raises(ValueError, match="'edge_weight' must be >= 0"):
        pool(x, e, batch=batch, edge_weight=-w)
    with pytest.raises(ValueError, match="'x' has 3 features"):
        pool(x[:, :3], e)
    with pytest.raises(ValueError, match="edge_reduce='mean'"):
        SEPPooling(F, edge_reduce="mean")(x, e, edge_attr=torch.ones(e.size(1), 2, dtype=torch.long))
    assert repr(pool) == "SEPPooling(4, level=1, height=3, reduce='mean')"
