"""NMF pooling's sparse path (graphs above ``dense_max_nodes``): its updates against the dense path's
from the same start, its error formula, the randomized SVD against the exact one, the same quality
as the dense path on planted communities, batching, permutation equivariance, the Gaussian
fallback, gradients and the size switch."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.utils import stochastic_blockmodel_graph

from hipool.nn.nmf import NMFPool, nmf_mu, nndsvd_init
from hipool.nn.nmf_sparse import nmf_mu_sparse, nmf_sparse_one, randomized_svd
from hipool.ops import _csr
from tests.nn.graphs import sym
from tests.nn.test_nmf import _directed as _nmf_directed

pytestmark = pytest.mark.usefixtures("one_thread")


def _directed(n: int, seed: int, p: float = 0.1):
    """test_nmf's random directed graph (distinct singular values), weights in float64."""
    x, e, w, _ = _nmf_directed(n, seed, p)
    return x, e, w.double()


def _ops(e, w, n):
    A = _csr(e[0], e[1], w, n)
    At = _csr(e[1], e[0], w, n)
    dense = torch.zeros(n, n, dtype=torch.float64).index_put_((e[0], e[1]), w, accumulate=True)
    return A, At, dense


def _sbm(seed: int):
    torch.manual_seed(seed)
    e = stochastic_blockmodel_graph([40] * 6, torch.full((6, 6), 0.01) + torch.eye(6) * 0.3)
    return e, torch.arange(240) // 40


def _purity(cluster, truth):
    return sum(int(torch.bincount(truth[cluster == c]).max()) for c in cluster.unique()) / truth.numel()


def test_sparse_updates_equal_the_dense_ones_from_the_same_start():
    x, e, w = _directed(60, 0)
    A, At, dense = _ops(e, w, 60)
    W, H = nndsvd_init(dense, 6, x.double())
    for max_iter, tol in ((1, 0.0), (37, 0.0), (200, 1e-4)):
        wd, hd, errd, itd = nmf_mu(dense[None], W[None], H[None], max_iter, tol)
        ws, hs, errs, its = nmf_mu_sparse(A, At, (w * w).sum(), W, H, max_iter, tol)
        assert its == int(itd)
        torch.testing.assert_close(ws, wd[0], rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(hs, hd[0], rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(errs, errd[0], rtol=1e-7, atol=1e-9)  # the expanded norm
        torch.testing.assert_close(errs, (dense - ws @ hs).norm(), rtol=1e-7, atol=1e-9)


def test_randomized_svd_finds_the_top_singular_values():
    x, e, w = _directed(300, 1)
    A, At, dense = _ops(e, w, 300)
    u, sig, v = randomized_svd(A, At, x.double(), dense.sum(1), 20)
    exact = torch.linalg.svdvals(dense)
    torch.testing.assert_close(sig[0], exact[0], rtol=1e-10, atol=0)  # the Perron value, well apart
    assert bool((sig <= exact[:20] * (1 + 1e-12)).all())  # Ritz values never exceed the true ones
    torch.testing.assert_close(sig[:10], exact[:10], rtol=2e-2, atol=0)  # the bulk, roughly
    torch.testing.assert_close(u.t() @ u, torch.eye(20, dtype=torch.float64), atol=1e-10, rtol=0)
    torch.testing.assert_close(dense @ v[:, :1], u[:, :1] * sig[:1], rtol=0, atol=1e-8 * float(exact[0]))
    # six planted blocks: six values well above the bulk, found to high precision
    e, _ = _sbm(0)
    w = torch.ones(e.size(1), dtype=torch.float64)
    A, At, dense = _ops(e, w, 240)
    u, sig, v = randomized_svd(A, At, torch.randn(240, 3, dtype=torch.float64), dense.sum(1), 16)
    torch.testing.assert_close(sig[:6], torch.linalg.svdvals(dense)[:6], rtol=1e-8, atol=0)


def test_sparse_path_recovers_planted_communities_as_the_dense_path_does():
    e, truth = _sbm(0)
    x = torch.randn(240, 8, generator=torch.Generator().manual_seed(1))
    dense = NMFPool(8, 6, dense_max_nodes=1000)(x, e)
    sparse = NMFPool(8, 6, dense_max_nodes=100)(x, e)
    assert _purity(dense.cluster, truth) >= 0.95
    assert _purity(sparse.cluster, truth) >= 0.95
    torch.testing.assert_close(sparse.nmf_error, dense.nmf_error, rtol=1e-2, atol=0)
    torch.testing.assert_close(sparse.assignment.sum(1), torch.ones(240))


def test_sparse_path_is_the_same_alone_and_in_a_batch_and_switches_by_size():
    e, _ = _sbm(2)
    g = torch.Generator().manual_seed(3)
    x1 = torch.randn(240, 8, generator=g)
    x2, e2, w2 = _directed(30, 4)
    x2 = torch.randn(30, 8, generator=g)
    pool = NMFPool(8, 6, dense_max_nodes=100)
    alone = pool(x1, e)
    small = pool(x2, e2)  # 30 nodes: the dense path
    x = torch.cat([x2, x1])
    batch = torch.cat([torch.zeros(30), torch.ones(240)]).long()
    both = pool(x, torch.cat([e2, e + 30], 1), batch=batch)
    assert torch.equal(both.x[6:], alone.x) and torch.equal(both.x[:6], small.x)
    assert both.nmf_iterations.tolist() == [int(small.nmf_iterations), int(alone.nmf_iterations)]
    dense_small = NMFPool(8, 6, dense_max_nodes=1000)(x2, e2)
    assert torch.equal(dense_small.x, small.x)


def test_sparse_path_is_permutation_equivariant():
    e, _ = _sbm(5)
    x = torch.randn(240, 8, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    perm = torch.randperm(240, generator=torch.Generator().manual_seed(7))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(240)
    pool = NMFPool(8, 6, dense_max_nodes=100)
    a = pool(x, e)
    b = pool(x[perm], inv[e])
    torch.testing.assert_close(b.assignment, a.assignment[perm], rtol=0, atol=1e-8)
    torch.testing.assert_close(b.x, a.x, rtol=1e-8, atol=1e-8)


def test_identical_features_on_a_regular_graph_fall_back_to_a_fixed_gaussian_start(monkeypatch):
    import hipool.nn.nmf_sparse as ns

    ratios = []
    orth = ns._orth

    def spy(m):
        q, ratio = orth(m)
        ratios.append(ratio)
        return q, ratio

    monkeypatch.setattr(ns, "_orth", spy)
    n = 200
    s = torch.arange(n)
    e = sym(torch.stack([s, (s + 1) % n]))  # a ring: every node alike, every signal constant
    x = torch.ones(n, 3)
    a = NMFPool(3, 8, dense_max_nodes=50)(x, e)
    b = NMFPool(3, 8, dense_max_nodes=50)(x, e)
    # the signals' block was rank-deficient, so each run orthonormalised a Gaussian block once more
    assert ratios[0] < 1e-10 and len(ratios) == 2 * (2 + 2 * ns.POWER_ITERS)
    assert torch.equal(a.assignment, b.assignment)  # deterministic
    assert torch.isfinite(a.assignment).all() and a.cluster.unique().numel() > 1
    assert float(a.nmf_error) < float(torch.tensor(2.0 * n).sqrt())  # better than W H = 0


def test_sparse_path_gradients_and_duplicate_edges():
    e, _ = _sbm(8)
    x = torch.randn(240, 4, dtype=torch.float64, requires_grad=True)
    w = torch.rand(e.size(1), dtype=torch.float64, requires_grad=True)
    out = NMFPool(4, 6, dense_max_nodes=100)(x, e, edge_weight=w)
    gx, gw = torch.autograd.grad(out.x.sum() + out.edge_weight.sum(), (x, w))
    assert torch.isfinite(gx).all() and gx.abs().sum() > 0 and torch.isfinite(gw).all()
    # a duplicated edge counts twice: the same as its weight doubled
    row, col = e
    s1, err1, _ = nmf_sparse_one(row, col, w.detach() * 2, 240, 6, x.detach(), 50, 0.0)
    s2, err2, _ = nmf_sparse_one(
        torch.cat([row, row]), torch.cat([col, col]), torch.cat([w, w]).detach(), 240, 6, x.detach(), 50, 0.0
    )
    torch.testing.assert_close(s1, s2, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(err1, err2)


def test_sparse_path_on_a_graph_without_edges_spreads_every_node_evenly():
    x = torch.randn(300, 4)
    for e, w in ((torch.empty(2, 0, dtype=torch.long), None), (torch.tensor([[0, 1], [1, 0]]), torch.zeros(2))):
        out = NMFPool(4, 4, dense_max_nodes=100)(x, e, edge_weight=w)
        assert torch.equal(out.assignment, torch.full((300, 4), 0.25))
        assert float(out.nmf_error) == 0.0


def test_dense_max_nodes_none_is_the_default():
    from hipool.nn.nmf import DENSE_MAX_NODES

    assert NMFPool(4, 3).dense_max_nodes == NMFPool(4, 3, dense_max_nodes=None).dense_max_nodes == DENSE_MAX_NODES
    with pytest.raises(ValueError, match=r"^NMFPool: 'dense_max_nodes'"):
        NMFPool(4, 3, dense_max_nodes=2.5)
