"""EigenPool's partial eigensolver (:mod:`hipool.nn.spectral`) against the dense path: the embedding
spans the same subspace (the Gram matrix ``Y Yᵀ`` of the unit rows, all that k-means reads, is the
same) on random, weighted, disconnected and symmetric graphs, and the partition is the same.  The
components' dense threshold is lowered so that graphs of a few hundred nodes take ARPACK."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("scipy")

from hipool.nn import spectral  # noqa: E402
from hipool.nn.eigenpool import _EIG_TOL, EigenPool, _embedding, _unit_rows, spectral_partition  # noqa: E402
from tests.nn.graphs import sym as _sym  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def small_components(monkeypatch):
    monkeypatch.setattr(spectral, "DENSE_COMPONENT", 8)


def _random(n: int, degree: float, seed: int, offset: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    pairs = int(n * degree / 2)
    e = torch.randint(n, (2, pairs), generator=g)
    e = e[:, e[0] != e[1]]
    return _sym(e) + offset


def _cycle(n: int, offset: int = 0) -> torch.Tensor:
    a = torch.arange(n)
    return _sym(torch.stack([a, (a + 1) % n])) + offset


def _dense(e: torch.Tensor, w: torch.Tensor, n: int, k: int) -> torch.Tensor:
    W = torch.zeros(n, n, dtype=torch.float64)
    keep = e[0] != e[1]
    W.index_put_((e[0, keep], e[1, keep]), w[keep], accumulate=True)
    W = (W + W.t()) / 2
    return _embedding(W.unsqueeze(0), torch.tensor([n]), torch.tensor([k]))[0]


def _same_subspace(e: torch.Tensor, n: int, k: int, w=None) -> torch.Tensor:
    w = torch.ones(e.size(1), dtype=torch.float64) if w is None else w
    Y = _unit_rows(spectral.partial_embedding(e, w, n, k, _EIG_TOL))
    D = _dense(e, w, n, k)
    assert Y.shape == D.shape
    torch.testing.assert_close(Y @ Y.t(), D @ D.t(), atol=1e-8, rtol=0)
    return Y


def test_a_random_connected_graph():
    e = _random(150, 6, seed=0)
    e = torch.cat([e, _cycle(150)], 1)  # connected
    _same_subspace(e, 150, 12)


def test_weights_self_loops_and_repeated_edges():
    e = torch.cat([_random(120, 5, seed=1), _cycle(120), torch.tensor([[3, 3, 7], [3, 3, 9]])], 1)
    w = torch.rand(e.size(1), generator=torch.Generator().manual_seed(2), dtype=torch.float64) + 0.1
    _same_subspace(e, 120, 9, w)


def test_components_and_isolated_nodes_give_repeated_eigenvalues():
    """Two copies of one graph (every eigenvalue twice), small components and isolated nodes: eight
    zeros at the bottom of the spectrum, so ``k = 12`` cuts through the copies' eigenvalues."""
    a = torch.cat([_random(60, 4, seed=3), _cycle(60)], 1)
    e = torch.cat([a, a + 60, torch.tensor([[120, 121, 123, 124], [121, 120, 124, 123]]), _cycle(5, 130)], 1)
    _same_subspace(e, 140, 12)
    _same_subspace(e, 140, 3)


def test_copies_of_a_repeated_eigenvalue_in_one_component_are_found(monkeypatch):
    """A cycle: every eigenvalue but the ends is double.  ARPACK run to machine precision finds both
    copies here; a Krylov run may not, so the first pass is made to lose one copy of each repeated
    eigenvalue, and the check for missed copies must bring them back (without it the subspace
    differs)."""
    large = spectral._large

    def lossy(Mc, nodes, want):
        c = large(Mc, nodes, want)
        drop = spectral.np.flatnonzero(spectral.np.diff(c.vals) < 1e-9) + 1
        keep = spectral.np.setdiff1d(spectral.np.arange(c.vals.size), drop)
        c.vals, c.vecs = c.vals[keep], c.vecs[:, keep]
        return c

    monkeypatch.setattr(spectral, "_large", lossy)
    calls = []
    missed = spectral._missed

    def spy(*args):
        out = missed(*args)
        calls.append(out[0].size)
        return out

    monkeypatch.setattr(spectral, "_missed", spy)
    _same_subspace(_cycle(100), 100, 7)
    assert sum(calls) >= 3
    monkeypatch.setattr(spectral, "_missed", lambda *a: (spectral.np.zeros(0), spectral.np.zeros((100, 0))))
    with pytest.raises(AssertionError):
        _same_subspace(_cycle(100), 100, 7)


def test_a_component_is_asked_again_when_its_pairs_reach_the_cut(monkeypatch):
    monkeypatch.setattr(spectral, "PAD", 0)
    calls = []
    large = spectral._large

    def spy(Mc, nodes, want):
        calls.append(want)
        return large(Mc, nodes, want)

    monkeypatch.setattr(spectral, "_large", spy)
    e = torch.cat([_random(200, 6, seed=4), _cycle(200)], 1)
    _same_subspace(e, 200, 10)
    assert calls == [10, 20]


def test_the_partition_and_the_pooler_match_the_dense_path():
    es, xs, bs, off = [], [], [], 0
    for i, n in enumerate([90, 7, 130]):
        es.append(torch.cat([_random(n, 5, seed=10 + i), _cycle(n)], 1) + off)
        xs.append(torch.randn(n, 3, generator=torch.Generator().manual_seed(i)))
        bs.append(torch.full((n,), i))
        off += n
    e, x, b = torch.cat(es, 1), torch.cat(xs), torch.cat(bs)
    k = torch.tensor([6, 3, 6])
    dense = spectral_partition(e, b, k, x)
    assert torch.equal(spectral_partition(e, b, k, x, dense_limit=50), dense)
    a, z = EigenPool(3, 6)(x, e, batch=b), EigenPool(3, 6, dense_limit=50)(x, e, batch=b)
    assert torch.equal(a.cluster, z.cluster)
    torch.testing.assert_close(a.x, z.x)
    assert torch.equal(a.edge_index, z.edge_index)


def test_subgraphs_above_dense_limit_are_refused_only_with_several_modes():
    e = torch.cat([_random(40, 4, seed=5), _cycle(40)], 1)
    x = torch.randn(40, 2)
    EigenPool(2, 2, dense_limit=10)(x, e)  # the partition is partial; one mode needs no eigenvectors
    with pytest.raises(ValueError, match=r"subgraph of graph 0 has \d+ nodes, more than dense_limit=10"):
        EigenPool(2, 2, num_modes=2, dense_limit=10)(x, e)
