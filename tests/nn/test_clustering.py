"""Clustering poolers: PyG parity (dense), sparse = dense, per-graph losses, no N² in sparse mode."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch_geometric.data import Batch
from torch_geometric.nn import DMoNPooling
from torch_geometric.nn import dense_diff_pool as pyg_diff
from torch_geometric.nn import dense_mincut_pool as pyg_mincut
from torch_geometric.utils import to_dense_adj, to_dense_batch

from hipool import Hierarchy
from hipool.nn import DiffPool, DMoNPool, MinCutPool, TopKPooling
from hipool.nn import functional as HF
from hipool.nn import losses as L
from tests.conftest import random_graph

POOLERS = [DiffPool, MinCutPool, DMoNPool]
C = 4


def _batch(sizes, channels=5, edge_dim=0, seed=0, dtype=torch.float64):
    """A Batch of random graphs (duplicate edges and self-loops included) with positive edge weights."""
    graphs = []
    for i, n in enumerate(sizes):
        g = random_graph(n, channels, edge_dim=edge_dim, seed=seed + i)
        g.x = g.x.to(dtype)
        gen = torch.Generator().manual_seed(seed + 100 + i)
        g.edge_weight = torch.rand(g.edge_index.size(1), generator=gen, dtype=dtype) + 0.1
        if edge_dim:
            g.edge_attr = g.edge_attr.to(dtype)
        graphs.append(g)
    return Batch.from_data_list(graphs)


def _dense(b, s):
    X, mask = to_dense_batch(b.x, b.batch)
    A = to_dense_adj(b.edge_index, b.batch, b.edge_weight)
    S, _ = to_dense_batch(s, b.batch)
    return X, A, S, mask


def _close(a, b, tol=1e-10):
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)


# ---------------------------------------------------------------------------
# dense functional forms against PyG
# ---------------------------------------------------------------------------
def test_dense_mincut_equals_pyg_on_padded_batch():
    b = _batch([7, 12, 9])
    s = torch.randn(b.num_nodes, C, dtype=torch.float64)
    X, A, S, mask = _dense(b, s)
    for temp in (1.0, 0.5):
        for ours, theirs in zip(HF.dense_mincut_pool(X, A, S, mask, temp), pyg_mincut(X, A, S, mask, temp)):
            _close(ours, theirs)


def test_dense_diff_pool_equals_pyg_on_one_graph_and_is_the_mean_of_graphs_on_a_batch():
    b = _batch([7, 12, 9])
    s = torch.randn(b.num_nodes, C, dtype=torch.float64)
    X, A, S, mask = _dense(b, s)
    out, out_adj, link, ent = HF.dense_diff_pool(X, A, S, mask)
    theirs_out, theirs_adj, _, _ = pyg_diff(X, A, S, mask)
    _close(out, theirs_out)
    _close(out_adj, theirs_adj)
    singles = []
    for g, n in enumerate([7, 12, 9]):
        one = pyg_diff(X[g : g + 1, :n], A[g : g + 1, :n, :n], S[g : g + 1, :n])
        mine = HF.dense_diff_pool(X[g : g + 1, :n], A[g : g + 1, :n, :n], S[g : g + 1, :n])
        for ours, theirs in zip(mine, one):
            _close(ours, theirs)
        singles.append(one)
    _close(link, torch.stack([o[2] for o in singles]).mean())
    _close(ent, torch.stack([o[3] for o in singles]).mean())
    # PyG's own batched value depends on the padding (issue #8284); ours does not.
    assert not torch.isclose(pyg_diff(X, A, S, mask)[2], link)
    _close(
        HF.dense_diff_pool(X, A, S, mask, normalize=False)[2],
        torch.stack(
            [
                pyg_diff(X[g : g + 1, :n], A[g : g + 1, :n, :n], S[g : g + 1, :n], normalize=False)[2]
                for g, n in enumerate([7, 12, 9])
            ]
        ).mean(),
    )


def test_dense_dmon_equals_pyg_dmonpooling_given_its_assignment():
    b = _batch([7, 12, 9])
    X, A, _, mask = _dense(b, torch.zeros(b.num_nodes, C, dtype=torch.float64))
    torch.manual_seed(0)
    pyg = DMoNPooling(X.size(-1), C).double()
    _, out, out_adj, spectral, ortho, cluster = pyg(X, A, mask)
    mine = HF.dense_dmon_pool(X, A, pyg.mlp(X), mask)
    for ours, theirs in zip(mine[:4], (out, out_adj, spectral, ortho)):
        _close(ours, theirs)
    # PyG's batched cluster loss divides a [B] tensor by a [B, 1] one and so mixes graphs;
    # ours is the mean over graphs of PyG's single-graph value.
    singles = [pyg(X[g : g + 1, :n], A[g : g + 1, :n, :n]) for g, n in enumerate([7, 12, 9])]
    _close(mine[4], torch.stack([o[5] for o in singles]).mean())
    for g, n in enumerate([7, 12, 9]):
        one = HF.dense_dmon_pool(X[g : g + 1, :n], A[g : g + 1, :n, :n], pyg.mlp(X[g : g + 1, :n]))
        for ours, theirs in zip(one, singles[g][1:]):
            _close(ours, theirs)


# ---------------------------------------------------------------------------
# named losses (hipool.nn.losses): per graph, on both layouts, against PyG on each graph alone
# ---------------------------------------------------------------------------
SIZES = [7, 12, 9]
LAYOUTS = ["dense", "sparse"]


def _coarsening(layout, b, probs):
    """The assignment ``probs [N, C]`` of batch ``b`` as a Dense- or SparseCoarsening."""
    if layout == "dense":
        _, A, S, mask = _dense(b, probs)
        return L.DenseCoarsening(A, S, mask)
    return L.SparseCoarsening(b.edge_index, b.edge_weight, probs, b.batch)


def _per_graph(b, s):
    """``(X, A, s)`` of every graph of ``b`` alone, unpadded ``[1, n, ·]``."""
    X, A, S, _ = _dense(b, s)
    return [
        (X[g : g + 1, :n], A[g : g + 1, :n, :n], S[g : g + 1, :n]) for g, n in enumerate(b.batch.bincount().tolist())
    ]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_mincut_and_orthogonality_losses_equal_pyg(layout):
    b = _batch(SIZES)
    s = torch.randn(b.num_nodes, C, dtype=torch.float64)
    c = _coarsening(layout, b, torch.softmax(s, -1))
    ref = [pyg_mincut(*g) for g in _per_graph(b, s)]
    _close(L.mincut_loss(c), torch.stack([r[2] for r in ref]))
    _close(L.orthogonality_loss(c), torch.stack([r[3] for r in ref]))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_diffpool_losses_equal_pyg(layout):
    b = _batch(SIZES)
    s = torch.randn(b.num_nodes, C, dtype=torch.float64)
    c = _coarsening(layout, b, torch.softmax(s, -1))
    for link_norm, normalize in (("nodes", True), ("none", False)):
        ref = [pyg_diff(*g, normalize=normalize) for g in _per_graph(b, s)]
        _close(L.diffpool_link_loss(c, link_norm), torch.stack([r[2] for r in ref]))
    _close(L.diffpool_entropy_loss(c), torch.stack([r[3] for r in ref]))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_diffpool_loss_options_by_hand(layout):
    b = _batch(SIZES)
    s = torch.randn(b.num_nodes, C, dtype=torch.float64)
    c = _coarsening(layout, b, torch.softmax(s, -1))
    link, ent = [], []
    for _, A, sg in _per_graph(b, s):
        S = torch.softmax(sg[0], -1)
        link.append(torch.linalg.matrix_norm(A[0] - S @ S.t()) / torch.linalg.matrix_norm(A[0]))
        ent.append((-S * S.log()).sum(-1).mean() / torch.log(torch.tensor(float(C), dtype=S.dtype)))
    _close(L.diffpool_link_loss(c, "relative"), torch.stack(link))
    _close(L.diffpool_entropy_loss(c, entropy_norm=True), torch.stack(ent))
    with pytest.raises(ValueError, match="'link_norm' must be one of relative, nodes, none, got 'edges'"):
        L.diffpool_link_loss(c, "edges")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dmon_losses_equal_pyg(layout):
    b = _batch(SIZES)
    torch.manual_seed(0)
    pyg = DMoNPooling(b.x.size(-1), C).double()
    s = pyg.mlp(b.x)  # a linear map, row by row: the logits PyG computes for every graph
    c = _coarsening(layout, b, torch.softmax(s, -1))
    ref = [pyg(X, A) for X, A, _ in _per_graph(b, s)]
    _close(L.dmon_spectral_loss(c), torch.stack([r[3] for r in ref]))
    _close(L.orthogonality_loss(c), torch.stack([r[4] for r in ref]))
    _close(L.dmon_cluster_loss(c), torch.stack([r[5] for r in ref]))


def test_a_new_method_is_one_table_entry_that_both_cores_run():
    method = HF.ClusterMethod(losses={"cut": L.mincut_loss, "balance": L.dmon_cluster_loss}, connect=HF.normalize_cut)
    b = _batch(SIZES)
    s = torch.randn(b.num_nodes, C, dtype=torch.float64)
    X, A, S, mask = _dense(b, s)
    every = torch.ones(len(SIZES), C, dtype=torch.bool)
    counts = b.batch.bincount()
    dense = HF.dense_core(method, X, A, torch.softmax(S, -1), mask, every)
    sparse = HF.sparse_core(
        method, b.x, b.edge_index, b.edge_weight, torch.softmax(s, -1), b.batch, len(SIZES), counts, every
    )
    out, out_adj, cut, _ = HF.dense_mincut_pool(X, A, S, mask)
    balance = HF.dmon_pool(b.x, b.edge_index, s, b.batch, b.edge_weight)[4]
    for r in (dense, sparse):
        assert list(r.losses) == ["cut", "balance"]
        _close(r.out, out)
        _close(r.out_adj, out_adj)
        _close(r.losses["cut"], cut)
        _close(r.losses["balance"], balance)


# ---------------------------------------------------------------------------
# sparse twins
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["diff_pool", "mincut_pool", "dmon_pool"])
@pytest.mark.parametrize("weighted", [True, False])
def test_sparse_functional_equals_dense(name, weighted):
    b = _batch([7, 12, 5, 9], seed=3)  # random_graph has duplicate edges and self-loops
    w = b.edge_weight if weighted else None
    s = torch.randn(b.num_nodes, C, dtype=torch.float64)
    X, mask = to_dense_batch(b.x, b.batch)
    A = to_dense_adj(b.edge_index, b.batch, w).double()
    S, _ = to_dense_batch(s, b.batch)
    dense = getattr(HF, "dense_" + name)(X, A, S, mask)
    sparse = getattr(HF, name)(b.x, b.edge_index, s, b.batch, w)
    assert len(dense) == len(sparse)
    for d, sp in zip(dense, sparse):
        _close(sp, d)


def test_sparse_functional_float32_matches_dense_to_float_tolerance():
    b = _batch([40, 60], seed=1, dtype=torch.float32)
    s = torch.randn(b.num_nodes, 8)
    X, A, S, mask = _dense(b, s)
    for d, sp in zip(HF.dense_diff_pool(X, A, S, mask), HF.diff_pool(b.x, b.edge_index, s, b.batch, b.edge_weight)):
        torch.testing.assert_close(sp, d, rtol=1e-4, atol=1e-5)


def test_segment_tmm_paths_agree():
    g = torch.Generator().manual_seed(0)
    for sizes in ([5, 6, 7], [3, 200, 2, 1]):  # padded bmm / graph-by-graph
        batch = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
        a, b = torch.randn(len(batch), 3, generator=g), torch.randn(len(batch), 4, generator=g)
        ref = torch.stack([a[batch == i].t() @ b[batch == i] for i in range(len(sizes))])
        torch.testing.assert_close(HF.segment_tmm(a, b, batch, len(sizes)), ref)
        m = torch.randn(len(sizes), 3, 2, generator=g)
        torch.testing.assert_close(
            HF.segment_mm(a, m, batch, len(sizes)), torch.cat([a[batch == i] @ m[i] for i in range(len(sizes))])
        )
        s = a.double().requires_grad_()
        counts, k = torch.bincount(batch), len(sizes)
        assert torch.autograd.gradcheck(lambda s, b=batch, k=k, c=counts: HF.segment_gram(s, b, k, c), (s,))


def test_sparse_functional_gradcheck():
    b = _batch([5, 4], channels=3, seed=2)
    x = b.x.clone().requires_grad_()
    s = torch.randn(b.num_nodes, 3, dtype=torch.float64, requires_grad=True)
    w = b.edge_weight.clone().requires_grad_()
    for fn in (HF.diff_pool, HF.mincut_pool, HF.dmon_pool):

        def f(x, s, w, fn=fn):
            return fn(x, b.edge_index, s, b.batch, w)

        assert torch.autograd.gradcheck(f, (x, s, w))


class _MaxNumel(TorchDispatchMode):
    """Largest tensor any aten op produces while active."""

    def __init__(self):
        super().__init__()
        self.max = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.layout == torch.strided:  # a CSR A has numel N² but holds E
                self.max = max(self.max, t.numel())
        return out


@pytest.mark.parametrize("cls", POOLERS)
def test_sparse_mode_never_builds_an_n_by_n_tensor(cls):
    n = 600
    b = _batch([n], channels=8, seed=4, dtype=torch.float32)
    pool = cls(8, 4, assign="linear", mode="sparse")
    x = b.x.requires_grad_()
    with _MaxNumel() as probe:
        out = pool(x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
        (out.x.sum() + sum(out.aux_losses.values())).backward()
    edges = b.edge_index.size(1)
    assert probe.max <= max(edges * 4, n * 8, 4 * 4), probe.max  # E×C, N×F — never N² = 360000
    assert probe.max < n * n // 10
    with _MaxNumel() as probe:
        pool.mode = "dense"
        pool(x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
    assert probe.max >= n * n  # the probe does see the dense adjacency


# ---------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", POOLERS)
@pytest.mark.parametrize("assign", ["linear", "mlp", "gcn", "graphconv", "sage", "gin"])
def test_module_dense_equals_sparse(cls, assign):
    b = _batch([7, 3, 12, 9], edge_dim=2, seed=5)
    torch.manual_seed(0)
    pool = cls(5, C, assign=assign, mode="dense", pool_edge_attr=True).double()
    d = pool(b.x, b.edge_index, b.edge_attr, b.batch, edge_weight=b.edge_weight)
    pool.mode = "sparse"
    s = pool(b.x, b.edge_index, b.edge_attr, b.batch, edge_weight=b.edge_weight)
    assert (d.mode, s.mode) == ("dense", "sparse")
    assert torch.equal(d.edge_index, s.edge_index) and torch.equal(d.cluster, s.cluster)
    for a, c in ((d.x, s.x), (d.edge_weight, s.edge_weight), (d.edge_attr, s.edge_attr), (d.assignment, s.assignment)):
        _close(a, c)
    assert set(d.aux_losses) == set(cls.LOSSES) == set(s.aux_losses)
    for k in d.aux_losses:
        _close(d.aux_losses[k], s.aux_losses[k])


def test_each_pooler_runs_its_method_with_its_options():
    for cls in POOLERS:
        assert cls.LOSSES == tuple(cls(5, C).method.losses)
    assert MinCutPool(5, C).method is HF.MINCUT and DMoNPool(5, C).method is HF.DMON
    assert DiffPool(5, C).method.nonnegative == HF.ADJ_NORM_WEIGHTS  # adj_norm=True by default
    assert DiffPool(5, C, adj_norm=False, assign="linear").method.nonnegative is None
    b = _batch([6, 9], seed=18)
    w = -b.edge_weight  # negative weights: fine for DiffPool without adj_norm and a linear assignment
    out = DiffPool(5, C, adj_norm=False, assign="linear").double()(b.x, b.edge_index, None, b.batch, edge_weight=w)
    assert set(out.aux_losses) == {"link", "entropy"}
    with pytest.raises(ValueError, match="adj_norm=True normalises the pooled adjacency"):
        DiffPool(5, C, assign="linear").double()(b.x, b.edge_index, None, b.batch, edge_weight=w)


def test_dmon_module_equals_pyg_with_copied_weights():
    b = _batch([9, 12], seed=6)
    torch.manual_seed(0)
    pyg = DMoNPooling(5, C).double()
    ours = DMoNPool(5, C, reduce="sum").double()  # PyG pools by sum; our default is the mean
    ours.assign.net.load_state_dict(pyg.mlp.lins[0].state_dict())
    X, A, _, mask = _dense(b, torch.zeros(b.num_nodes, C))
    s, out, out_adj, spectral, ortho, _ = pyg(X, A, mask)
    for mode in ("dense", "sparse"):
        ours.mode = mode
        rec = ours(b.x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
        _close(rec.x, out.reshape(-1, 5))
        _close(rec.assignment, s[mask])
        _close(rec.aux_losses["spectral"], spectral)
        _close(rec.aux_losses["ortho"], ortho)
        # the pooled adjacency (no diagonal, normalised) comes back as weighted edges
        dense_back = to_dense_adj(rec.edge_index, rec.batch, rec.edge_weight)
        _close(dense_back, out_adj)


@pytest.mark.parametrize("cls", POOLERS)
@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_batch_loss_is_mean_of_single_graph_losses(cls, mode):
    sizes = [6, 15, 9, 3]  # 3 < C: a graph with fewer nodes than clusters
    b = _batch(sizes, seed=7)
    torch.manual_seed(0)
    pool = cls(5, C, mode=mode).double()
    whole = pool(b.x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
    singles = [pool(g.x, g.edge_index, None, None, edge_weight=g.edge_weight) for g in b.to_data_list()]
    for k in cls.LOSSES:
        _close(whole.aux_losses[k], torch.stack([o.aux_losses[k] for o in singles]).mean())
    _close(whole.x, torch.cat([o.x for o in singles]))
    # the same graphs in another order, padded to another size: the same losses
    graphs = b.to_data_list()
    extra = _batch([30], seed=99).to_data_list()[0]
    rev = Batch.from_data_list(graphs[::-1] + [extra])
    rev_out = pool(rev.x, rev.edge_index, None, rev.batch, edge_weight=rev.edge_weight)
    big = pool(extra.x, extra.edge_index, None, None, edge_weight=extra.edge_weight)
    for k in cls.LOSSES:
        _close(rev_out.aux_losses[k] * 5 - big.aux_losses[k], whole.aux_losses[k] * 4)


@pytest.mark.parametrize("cls", POOLERS)
def test_batching_equals_one_graph_at_a_time(cls):
    b = _batch([6, 15, 9], seed=8)
    torch.manual_seed(0)
    pool = cls(5, C).double()
    whole = pool(b.x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
    offset = 0
    for g, data in enumerate(b.to_data_list()):
        one = pool(data.x, data.edge_index, None, None, edge_weight=data.edge_weight)
        nodes = whole.batch == g
        _close(whole.x[nodes], one.x)
        sel = whole.batch[whole.edge_index[0]] == g
        assert torch.equal(whole.edge_index[:, sel] - offset, one.edge_index)
        _close(whole.edge_weight[sel], one.edge_weight)
        offset += one.num_nodes


@pytest.mark.parametrize("cls", POOLERS)
def test_permuting_nodes_changes_nothing_pooled(cls):
    b = _batch([10], seed=9)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(10)
    torch.manual_seed(0)
    pool = cls(5, C, assign="gcn").double()
    a = pool(b.x, b.edge_index, None, None, edge_weight=b.edge_weight)
    p = pool(b.x[perm], inv[b.edge_index], None, None, edge_weight=b.edge_weight)
    _close(a.x, p.x)
    _close(to_dense_adj(a.edge_index, edge_attr=a.edge_weight), to_dense_adj(p.edge_index, edge_attr=p.edge_weight))
    assert torch.equal(a.cluster[perm], p.cluster)
    for k in a.aux_losses:
        _close(a.aux_losses[k], p.aux_losses[k])


def test_graph_with_fewer_nodes_than_clusters_pools_to_its_size():
    b = _batch([2, 9, 1], seed=10)
    pool = MinCutPool(5, C).double()
    out = pool(b.x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
    assert torch.bincount(out.batch).tolist() == [2, 4, 1]
    S = out.assignment
    assert torch.all(S[b.batch == 0, 2:] == 0) and torch.all(S[b.batch == 2, 1:] == 0)
    _close(S.sum(-1), torch.ones(b.num_nodes, dtype=torch.float64))
    # the hard map stays inside each graph's own clusters
    h = Hierarchy(b.batch)
    h.append(out)
    loc = h.local_cluster(1)
    assert loc[b.batch == 0].max() < 2 and loc[b.batch == 2].max() == 0


def test_hard_assignment_is_argmax_and_feeds_the_hierarchy():
    b = _batch([8, 11], seed=11)
    pool = DiffPool(5, 3).double()
    out = pool(b.x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
    local = out.assignment.argmax(-1)
    assert torch.equal(out.cluster, local + 3 * b.batch)
    assert out.kept.all() and out.perm is None
    h = Hierarchy(b.batch)
    h.append(out)
    assert h.sizes(1).tolist() == [3, 3]
    assert [t.tolist() for t in h.graph(1)] == [local[b.batch == 1].tolist()]


def test_empty_graph_in_the_batch_is_left_out_of_the_losses():
    b = _batch([6, 8], seed=12)
    batch = b.batch.clone()
    batch[6:] = 2  # graph 1 has no nodes
    pool = DMoNPool(5, C).double()
    out = pool(b.x, b.edge_index, None, batch, edge_weight=b.edge_weight)
    ref = pool(b.x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
    for k in out.aux_losses:
        _close(out.aux_losses[k], ref.aux_losses[k])
    assert torch.bincount(out.batch).tolist() == [4, 0, 4]
    for cls in POOLERS:
        for mode in ("dense", "sparse"):
            x = b.x.clone().requires_grad_()
            p = cls(5, C, mode=mode).double()
            o = p(x, b.edge_index, None, batch, edge_weight=b.edge_weight)
            (o.x.sum() + sum(o.aux_losses.values())).backward()
            assert torch.isfinite(x.grad).all(), (cls, mode)


def test_gradients_reach_the_assignment_network_and_the_features():
    b = _batch([10, 7], seed=13)
    for cls in POOLERS:
        pool = cls(5, C, assign="gcn").double()
        x = b.x.clone().requires_grad_()
        w = b.edge_weight.clone().requires_grad_()
        out = pool(x, b.edge_index, None, b.batch, edge_weight=w)
        (out.x.pow(2).sum() + out.edge_weight.sum() + sum(out.aux_losses.values())).backward()
        assert x.grad.abs().sum() > 0 and w.grad.abs().sum() > 0
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pool.assign.parameters())


def test_auto_mode_picks_by_largest_graph():
    b = _batch([5, 30], seed=14)
    pool = MinCutPool(5, C, dense_max_nodes=20).double()
    assert pool(b.x, b.edge_index, None, b.batch).mode == "sparse"
    pool.dense_max_nodes = 30
    assert pool(b.x, b.edge_index, None, b.batch).mode == "dense"
    # default threshold falls with the cluster count (benchmarks/clustering_auto.py)
    assert [MinCutPool(5, c).dense_max_nodes for c in (4, 32, 64, 128, 256, 1024)] == [1024, 1024, 512, 256, 256, 256]


def test_edge_sparsification_topk_and_threshold():
    b = _batch([20, 25], seed=15)
    torch.manual_seed(0)
    full = DiffPool(5, 6).double()
    ref = full(b.x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
    assert ref.edge_index.size(1) == 2 * 36  # every pair of clusters, self-loops kept
    full.edge_topk = 2
    top = full(b.x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
    assert torch.bincount(top.edge_index[0], minlength=12).tolist() == [2] * 12
    A = to_dense_adj(ref.edge_index, edge_attr=ref.edge_weight)[0]
    for i, _j, w in zip(*top.edge_index, top.edge_weight):
        assert (A[i] > w).sum() <= 1  # at most one stronger edge from i
    full.edge_topk, full.edge_threshold = None, float(ref.edge_weight.median())
    thr = full(b.x, b.edge_index, None, b.batch, edge_weight=b.edge_weight)
    assert torch.all(thr.edge_weight >= full.edge_threshold)
    assert thr.edge_index.size(1) == int((ref.edge_weight >= full.edge_threshold).sum())


def test_pooled_edge_attr_is_s_t_e_s_per_channel():
    b = _batch([8], edge_dim=3, seed=16)
    pool = MinCutPool(5, 3, pool_edge_attr=True).double()
    out = pool(b.x, b.edge_index, b.edge_attr, None, edge_weight=b.edge_weight)
    S = out.assignment
    for c in range(3):
        E = to_dense_adj(b.edge_index, edge_attr=b.edge_attr[:, c])[0]
        ref = S.t() @ E @ S
        _close(out.edge_attr[:, c], ref[out.edge_index[0], out.edge_index[1]])
    assert MinCutPool(5, 3).double()(b.x, b.edge_index, b.edge_attr).edge_attr is None


def test_selection_poolers_carry_edge_weights():
    b = _batch([12], seed=17, dtype=torch.float32)
    pool = TopKPooling(5, ratio=0.5)
    out = pool(b.x, b.edge_index, None, None, edge_weight=b.edge_weight)
    keep = (out.cluster[b.edge_index[0]] >= 0) & (out.cluster[b.edge_index[1]] >= 0)
    torch.testing.assert_close(out.edge_weight, b.edge_weight[keep])
    assert pool(b.x, b.edge_index).edge_weight is None


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_bad_cluster_counts():
    for k in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="num_clusters"):
            DiffPool(5, k)
    with pytest.raises(ValueError, match="absolute cluster count"):
        MinCutPool(5, 0.5)
    X, A = torch.randn(2, 4, 3), torch.ones(2, 4, 4)
    with pytest.raises(ValueError, match="6 clusters but the graphs have at most 4 nodes"):
        HF.dense_mincut_pool(X, A, torch.randn(2, 4, 6))
    b = _batch([3, 5])
    with pytest.raises(ValueError, match="6 clusters but the largest graph has 5 nodes"):
        HF.mincut_pool(b.x, b.edge_index, torch.randn(8, 6, dtype=torch.float64), b.batch)


def test_mask_that_disagrees_with_adjacency():
    X, A = torch.randn(2, 4, 3), torch.zeros(2, 4, 4)
    A[1, 0, 3] = 1.0
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    with pytest.raises(ValueError, match=r"graph 1 has an edge \(0, 3\) at a node the mask marks as padding"):
        HF.dense_diff_pool(X, A, torch.randn(2, 4, 2), mask)
    with pytest.raises(ValueError, match=r"'mask' must have shape \[B, N\]"):
        HF.dense_dmon_pool(X, A, torch.randn(2, 4, 2), mask[:, :3])


def test_sparse_batch_that_disagrees_with_edges():
    b = _batch([4, 4])
    ei = torch.cat([b.edge_index, torch.tensor([[1], [6]])], 1)
    with pytest.raises(ValueError, match=r"edge .* joins graph 0 and graph 1"):
        HF.dmon_pool(b.x, ei, torch.randn(8, 2, dtype=torch.float64), b.batch)


def test_nan_in_assignment_is_named():
    s = torch.randn(2, 5, 3)
    s[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="'s' .* NaN/inf, first at graph 1, node 2"):
        HF.dense_mincut_pool(torch.randn(2, 5, 4), torch.zeros(2, 5, 5), s)
    b = _batch([4, 5], dtype=torch.float32)
    pool = DMoNPool(5, 2)
    with torch.no_grad():
        pool.assign.net.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN/inf, first at graph 0, node 0"):
        pool(b.x, b.edge_index, None, b.batch)


def test_bad_options():
    with pytest.raises(ValueError, match="'mode' must be one of auto, dense, sparse"):
        DiffPool(5, 2, mode="fast")
    with pytest.raises(ValueError, match="'assign' must be one of"):
        DiffPool(5, 2, assign="transformer")
    with pytest.raises(
        ValueError,
        match=r"DiffPool: 'edge_threshold' must be a finite number in \[0, inf\) "
        r"or None, got -1",
    ):
        DiffPool(5, 2, edge_threshold=-1)
    b = _batch([4])
    with pytest.raises(ValueError, match=r"'edge_weight' must have shape \[num_edges\]"):
        MinCutPool(5, 2).double()(b.x, b.edge_index, None, None, edge_weight=b.edge_weight[:-1])
    with pytest.raises(ValueError, match="'x' has 5 features but the pooler was built for in_channels=7"):
        MinCutPool(7, 2).double()(b.x, b.edge_index)
