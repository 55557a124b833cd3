"""PANPooling against a dense reference written from the paper's equations (PyG's PANPooling
needs torch_sparse, which this environment lacks: see test_pyg_pan_needs_torch_sparse);
selection, batching, permutations, gradients, edge_attr and argument checks."""

from __future__ import annotations

import math

import pytest
import torch

from hipool import Hierarchy
from hipool.nn.pan import PANPooling, met_matrix, walk_powers
from hipool.record import DROPPED

F = 6


def _graph(n: int, seed: int, *, undirected: bool = True, loops: bool = False, duplicates: bool = False):
    """Random features, a ring plus random chords (no duplicates unless asked), positive weights."""
    g = torch.Generator().manual_seed(seed)
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    chords = torch.randint(0, n, (2, n), generator=g)
    e = torch.cat([ring, chords], 1)
    if not loops:
        e = e[:, e[0] != e[1]]
    if undirected:
        e = torch.cat([e, e.flip(0)], 1)
    if not duplicates:
        e = torch.unique(e, dim=1)
    else:
        e = torch.cat([e, e[:, :3]], 1)
    x = torch.randn(n, F, generator=g)
    w = torch.rand(e.size(1), generator=g) + 0.2
    return x, e, w


def _batch(graphs):
    xs, es, ws, bs, off = [], [], [], [], 0
    for i, (x, e, w) in enumerate(graphs):
        xs.append(x), es.append(e + off), ws.append(w), bs.append(torch.full((x.size(0),), i))
        off += x.size(0)
    return torch.cat(xs), torch.cat(es, 1), torch.cat(ws), torch.cat(bs)


def _pool(**kw) -> PANPooling:
    torch.manual_seed(0)
    pool = PANPooling(F, **kw).double()
    with torch.no_grad():  # parameters away from their symmetric start
        pool.p.copy_(torch.randn(F, dtype=torch.double))
        pool.beta.copy_(torch.tensor([0.7, 1.3], dtype=torch.double))
        pool.path_energy.copy_(torch.tensor([0.3, 0.9, 1.7, 2.2][: pool.filter_size + 1], dtype=torch.double))
    return pool


# ---------------------------------------------------------------------------
# the dense reference, from the paper's equations (one graph)
# ---------------------------------------------------------------------------
def _reference(pool: PANPooling, x, e, w=None, edge_attr=None):
    """Dense PAN pooling: W = sum_n e^{-E(n)} A^n, A[i, j] = weight of j -> i; M normalised; score
    beta1 x.p + beta2 t(M); y = tanh(score) (softmax with min_score); keep ceil(ratio n) best (ties
    by index); x' = x y; edges j -> i of the kept pairs with W_ij != 0, weight M_ij."""
    n = x.size(0)
    w = torch.ones(e.size(1), dtype=x.dtype) if w is None else w
    A = torch.zeros(n, n, dtype=x.dtype)
    for (s, d), wt in zip(e.t().tolist(), w.tolist()):
        A[d, s] += wt
    c = torch.exp(-pool.path_energy.detach())
    W = sum(c[k] * torch.linalg.matrix_power(A, k) for k in range(pool.filter_size + 1))
    z = W.sum(1)
    if pool.normalize == "sym":
        M = W / torch.sqrt(z[:, None] * z[None, :])
    elif pool.normalize == "row":
        M = W / z[:, None]
    else:
        M = W
    t = torch.diagonal(M) if pool.score_term == "diagonal" else M.sum(0)
    s = pool.beta[0].detach() * (x @ pool.p.detach()) + pool.beta[1].detach() * t
    if pool.min_score is None:
        y = torch.tanh(s)
        k = pool.ratio if isinstance(pool.ratio, int) else math.ceil(round(pool.ratio * n, 9))
        order = sorted(range(n), key=lambda i: (-float(y[i]), i))[: min(k, n)]
    else:
        y = torch.softmax(s, 0)
        order = [i for i in range(n) if float(y[i]) > min(pool.min_score, float(y.max()) - 1e-7)]
    perm = torch.tensor(order, dtype=torch.long)
    new = {int(old): i for i, old in enumerate(order)}
    xp = x[perm] * y[perm].view(-1, 1) * pool.multiplier
    edges = {}
    if pool.connect == "paths":
        for i in order:
            for j in order:
                if W[i, j] != 0 and not (pool.remove_self_loops and i == j):
                    edges[(new[j], new[i])] = float(M[i, j])
    else:
        for (s_, d), _ in zip(e.t().tolist(), w.tolist()):
            if s_ in new and d in new and not (pool.remove_self_loops and s_ == d):
                edges[(new[s_], new[d])] = float(M[d, s_])
    attrs = None
    if edge_attr is not None and pool.connect == "paths":
        attrs = {}
        for k_, (s_, d) in enumerate(e.t().tolist()):
            if s_ in new and d in new:
                key = (new[s_], new[d])
                attrs[key] = attrs.get(key, 0) + edge_attr[k_]
    return perm, y[perm], xp, edges, attrs


def _edges(out):
    return {(int(a), int(b)): float(v) for (a, b), v in zip(out.edge_index.t().tolist(), out.edge_weight.tolist())}


CONFIGS = [
    dict(),
    dict(ratio=0.3),
    dict(ratio=4),
    dict(ratio=1.0),
    dict(score_term="degree"),
    dict(normalize="row"),
    dict(normalize="none", score_term="degree"),
    dict(filter_size=1),
    dict(filter_size=3, multiplier=2.0),
    dict(connect="edges"),
    dict(remove_self_loops=True),
    dict(connect="edges", remove_self_loops=True),
    dict(min_score=0.05),
]


@pytest.mark.parametrize("kw", CONFIGS, ids=[str(k) for k in CONFIGS])
@pytest.mark.parametrize("weighted", [False, True])
def test_equals_the_dense_reference(kw, weighted):
    x, e, w = _graph(13, seed=1, undirected=False, loops=True)
    x, w = x.double(), w.double()
    pool = _pool(**kw)
    ew = w if weighted else None
    out = pool(x, e, edge_weight=ew)
    perm, score, xp, edges, _ = _reference(pool, x, e, ew)
    assert torch.equal(out.perm, perm)
    torch.testing.assert_close(out.score, score)
    torch.testing.assert_close(out.x, xp)
    got = _edges(out)
    assert set(got) == set(edges)
    for key, value in edges.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12)
    out.validate(torch.zeros(13, dtype=torch.long))


def test_met_matrix_and_walk_powers_match_dense_powers():
    x, e, w = _graph(9, seed=4, undirected=False, loops=True, duplicates=True)
    n = 9
    A = torch.zeros(n, n, dtype=torch.double)
    for (s, d), wt in zip(e.t().tolist(), w.double().tolist()):
        A[d, s] += wt
    for k, (key, val) in enumerate(walk_powers(e, n, w.double(), 3)):
        dense = torch.zeros(n * n, dtype=torch.double)
        dense[key] = val
        torch.testing.assert_close(dense.view(n, n), torch.linalg.matrix_power(A, k))
        assert bool((key[1:] > key[:-1]).all())  # sorted, distinct
    c = torch.tensor([0.5, 0.25, 0.125], dtype=torch.double)
    W = c[0] * torch.eye(n, dtype=torch.double) + c[1] * A + c[2] * A @ A
    z = W.sum(1)
    for norm, M in (("none", W), ("row", W / z[:, None]), ("sym", W / torch.sqrt(z[:, None] * z[None, :]))):
        index, value = met_matrix(e, n, c, w.double(), normalize=norm)
        dense = torch.zeros(n, n, dtype=torch.double)
        dense[index[1], index[0]] = value
        torch.testing.assert_close(dense, M)


def test_paths_mode_sums_edge_attr_per_pair_and_zero_fills_the_rest():
    x, e, w = _graph(12, seed=5, duplicates=True)
    ea = torch.randn(e.size(1), 3, generator=torch.Generator().manual_seed(0))
    pool = _pool(ratio=0.6)
    out = pool(x.double(), e, edge_attr=ea)
    *_, attrs = _reference(pool, x.double(), e, None, ea)
    assert out.edge_attr.shape == (out.edge_index.size(1), 3)
    for (a, b), row in zip(out.edge_index.t().tolist(), out.edge_attr):
        expected = attrs.get((a, b), torch.zeros(3))
        torch.testing.assert_close(row, expected)
    assert (out.edge_attr.abs().sum(1) == 0).any()  # walks of length 2 and self-loops: zeros


def test_edges_mode_carries_edge_attr_of_any_width_like_topk():
    x, e, _ = _graph(15, seed=6)
    ea = torch.arange(e.size(1) * 6, dtype=torch.float).view(-1, 2, 3)
    out = PANPooling(F, 0.5, connect="edges")(x, e, edge_attr=ea)
    kept = (out.cluster[e] != DROPPED).all(0)
    assert torch.equal(out.edge_attr, ea[kept])
    assert torch.equal(out.edge_index, out.cluster[e[:, kept]])
    out3 = PANPooling(F, 0.5)(x, e, edge_attr=torch.randn(e.size(1), 3))
    assert out3.edge_attr.shape == (out3.edge_index.size(1), 3)


def test_keeps_the_top_ratio_of_every_graph():
    graphs = [_graph(n, seed=n) for n in (5, 12, 1, 9)]
    x, e, w, batch = _batch(graphs)
    for ratio, expect in ((0.5, [3, 6, 1, 5]), (0.25, [2, 3, 1, 3]), (3, [3, 3, 1, 3]), (1.0, [5, 12, 1, 9])):
        out = PANPooling(F, ratio)(x, e, batch=batch, edge_weight=w)
        assert torch.bincount(out.batch, minlength=4).tolist() == expect
        # the kept nodes are each graph's best by score: no dropped node beats a kept one
        full = PANPooling(F, 1.0)(x, e, batch=batch, edge_weight=w)
        for gid in range(4):
            mine = full.batch == gid
            scores = full.score[mine]
            kept = out.score[out.batch == gid]
            assert torch.allclose(kept, scores.sort(descending=True).values[: kept.numel()])


def test_sizes_cap_the_kept_nodes_and_exclude_min_score():
    x, e, w, batch = _batch([_graph(10, 1), _graph(8, 2)])
    out = PANPooling(F, 1.0)(x, e, batch=batch, sizes=torch.tensor([3, 5]))
    assert torch.bincount(out.batch).tolist() == [3, 5]
    with pytest.raises(ValueError, match="'sizes'"):
        PANPooling(F, min_score=0.1)(x, e, batch=batch, sizes=torch.tensor([3, 5]))


def test_a_batch_gives_what_each_graph_gives_alone():
    graphs = [_graph(n, seed=n) for n in (7, 1, 14, 3)]
    ea = [torch.randn(g[1].size(1), 3) for g in graphs]
    x, e, w, batch = _batch(graphs)
    pool = _pool(ratio=0.5).float()
    whole = pool(x, e, edge_attr=torch.cat(ea), batch=batch, edge_weight=w)
    whole.validate(batch)
    start = 0
    for gid, ((xg, eg, wg), ag) in enumerate(zip(graphs, ea)):
        alone = pool(xg, eg, edge_attr=ag, edge_weight=wg)
        mine = whole.batch == gid
        offset = int(mine.nonzero()[0])
        torch.testing.assert_close(whole.x[mine], alone.x)
        torch.testing.assert_close(whole.score[mine], alone.score)
        assert torch.equal(whole.perm[mine] - start, alone.perm)
        emask = mine[whole.edge_index[0]]
        assert torch.equal(whole.edge_index[:, emask] - offset, alone.edge_index)
        torch.testing.assert_close(whole.edge_weight[emask], alone.edge_weight)
        torch.testing.assert_close(whole.edge_attr[emask], alone.edge_attr)
        start += xg.size(0)


def test_permuting_the_nodes_permutes_the_output():
    x, e, w = _graph(40, seed=9)
    ea = torch.randn(e.size(1), 3)
    pool = _pool(ratio=0.4).float()
    out = pool(x, e, edge_attr=ea, edge_weight=w)
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(3))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(40)
    outp = pool(x[perm], inv[e], edge_attr=ea, edge_weight=w)
    assert torch.equal(perm[outp.perm], out.perm)  # the same nodes, in the same (score) order
    torch.testing.assert_close(outp.x, out.x)
    torch.testing.assert_close(outp.score, out.score)

    def pairs(o, relabel):
        orig = relabel[o.perm][o.edge_index]
        rows = torch.cat([o.edge_weight.detach().view(-1, 1), o.edge_attr], 1)
        return dict(zip(map(tuple, orig.t().tolist()), rows))

    mine, theirs = pairs(outp, perm), pairs(out, torch.arange(40))
    assert set(mine) == set(theirs)
    for key, row in theirs.items():
        torch.testing.assert_close(mine[key], row)


def test_gradients_reach_every_parameter_and_the_inputs():
    x, e, w, batch = _batch([_graph(9, 1), _graph(12, 2)])
    x.requires_grad_(True)
    w.requires_grad_(True)
    pool = PANPooling(F, 0.5)
    out = pool(x, e, batch=batch, edge_weight=w)
    (out.x.pow(2).sum() + out.edge_weight.sum()).backward()
    for name, p in pool.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert w.grad is not None and w.grad.abs().sum() > 0
    # the path weights reach the kept features through the score alone, too
    pool.zero_grad()
    pool(x, e, batch=batch, edge_weight=w).x.sum().backward()
    assert pool.path_energy.grad.abs().sum() > 0 and pool.p.grad.abs().sum() > 0


def test_two_levels_chain_in_a_hierarchy_and_unpool():
    x, e, w, batch = _batch([_graph(11, 1), _graph(8, 2)])
    h = Hierarchy(batch, num_graphs=2)
    first = PANPooling(F, 0.5)(x, e, batch=batch, edge_weight=w)
    h.append(first)
    second = PANPooling(F, 0.5)(first.x, first.edge_index, batch=first.batch, edge_weight=first.edge_weight)
    second.validate(first.batch)
    h.append(second)
    composed = h.cluster(2)
    for node in range(x.size(0)):
        c1 = int(first.cluster[node])
        assert int(composed[node]) == (DROPPED if c1 == DROPPED else int(second.cluster[c1]))
    lifted = first.unpool(first.x)
    assert torch.equal(lifted[first.perm], first.x) and (lifted[first.cluster == DROPPED] == 0).all()


def test_edge_cases_empty_single_node_no_edges():
    pool = PANPooling(F, 0.5)
    none = torch.empty(2, 0, dtype=torch.long)
    out = pool(torch.randn(1, F), none)
    assert out.num_nodes == 1 and out.edge_index.size(1) == 1  # the M self-loop
    assert PANPooling(F, 0.5, remove_self_loops=True)(torch.randn(1, F), none).edge_index.size(1) == 0
    out = pool(torch.randn(6, F), none, edge_attr=torch.empty(0, 2))
    assert out.num_nodes == 3 and out.edge_attr.shape == (3, 2) and torch.allclose(out.edge_weight, torch.ones(3))
    out = pool(torch.empty(0, F), none, batch=torch.empty(0, dtype=torch.long))
    assert out.num_nodes == 0 and out.edge_index.shape == (2, 0)


def test_pyg_pan_needs_torch_sparse():
    """Why the reference is dense: PyG's PANConv (which makes the M that PyG's PANPooling reads)
    builds a torch_sparse SparseTensor."""
    import torch_geometric.typing as pyg_typing
    from torch_geometric.nn import PANConv

    if pyg_typing.WITH_TORCH_SPARSE:
        pytest.skip("torch_sparse is installed here")
    with pytest.raises(ImportError, match="torch-sparse"):
        PANConv(4, 4, filter_size=2)(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]]))


@pytest.mark.parametrize(
    "kw,name",
    [
        (dict(in_channels=0), "in_channels"),
        (dict(ratio=0.0), "ratio"),
        (dict(ratio=1.5), "ratio"),
        (dict(ratio=None), "ratio"),
        (dict(filter_size=0), "filter_size"),
        (dict(filter_size=2.0), "filter_size"),
        (dict(min_score=float("nan")), "min_score"),
        (dict(multiplier="2"), "multiplier"),
        (dict(nonlinearity=3), "nonlinearity"),
        (dict(score_term="trace"), "score_term"),
        (dict(normalize="col"), "normalize"),
        (dict(connect="all"), "connect"),
        (dict(remove_self_loops="yes"), "remove_self_loops"),
    ],
)
def test_bad_arguments_name_the_argument(kw, name):
    args = dict(in_channels=F)
    args.update(kw)
    with pytest.raises(ValueError, match=f"'{name}'"):
        PANPooling(**args)


def test_bad_input_names_the_argument():
    x, e, w = _graph(6, 1)
    pool = PANPooling(F)
    with pytest.raises(ValueError, match="'edge_weight' must be >= 0"):
        pool(x, e, edge_weight=-w)
    with pytest.raises(ValueError, match="'x' has 5 features"):
        pool(x[:, :5], e)
    with pytest.raises(ValueError, match="'edge_attr'"):
        pool(x, e, edge_attr=torch.randn(e.size(1) + 1, 3))
    with pytest.raises(ValueError, match="'sizes'"):
        pool(x, e, sizes=torch.tensor([0]))


def test_repr_and_parameters():
    pool = PANPooling(8, 0.3, filter_size=3)
    assert repr(pool) == "PANPooling(8, ratio=0.3, filter_size=3, multiplier=1.0)"
    assert [n for n, _ in pool.named_parameters()] == ["p", "beta", "path_energy"]
    torch.testing.assert_close(pool.path_weights, torch.full((4,), 0.5))
