r"""The spectral embedding of one large graph from a partial eigensolver: EigenPool's partition of a
graph above its ``dense_limit`` (:func:`partial_embedding`).

The embedding is the one of :mod:`hipool.nn.eigenpool` (Ng, Jordan & Weiss): the eigenvectors of the
``k`` smallest eigenvalues of ``L = I - D^{-1/2} W D^{-1/2}``, with every eigenvalue within ``tol`` of the
``k``-th taken too, rows scaled to unit length (by the caller, as for the dense path).  Only those
eigenpairs are computed:

* **Per connected component.**  ``L`` is block diagonal over the components of ``W``, so its spectrum is
  the union of theirs.  Each component gives its smallest eigenpairs; the ``k`` smallest of the union
  (and their ties) are kept.  This is also what makes repeated eigenvalues across components (0 once
  per component, 1 once per isolated node) exact: each copy comes from its own component.
* **Small components** (up to :data:`DENSE_COMPONENT` nodes, or when half of a component's spectrum
  is wanted) take a dense ``numpy.linalg.eigh``, batched over components of one size.
* **Large components** take scipy's ARPACK (``eigsh``, the largest algebraic eigenvalues of
  ``D^{-1/2} W D^{-1/2}``, to machine precision, from a fixed start vector) for ``k + PAD`` pairs first.
  When a component's largest computed eigenvalue is within ``tol`` of the union's ``k``-th, more of
  its pairs may belong to the embedding: it is asked for twice as many, until it is not.
* **Missed copies.**  A Krylov solver finds one vector per eigenvalue from its start vector; a
  repeated eigenvalue inside one connected component (a symmetric star, a cycle) may lose copies.
  After the above, each large component's operator is deflated (its computed pairs moved out of the
  spectrum) and ARPACK is asked for its top eigenvalue, roughly (relative residual ``1e-6``): a
  missed copy would be that eigenvalue, since the next true one lies above the cut.  When it comes
  within ``1e-4`` of the cut (``k``-th eigenvalue + ``tol``), the top ``PAD`` pairs are computed to
  machine precision and those at or below the cut join; the check repeats until none does.
  So the embedding spans the same subspace as the dense path's (tested against it on random,
  disconnected and symmetric graphs).

Cost: ARPACK's ``O(iterations · (E + n (k + PAD)))`` and ``O(n (k + PAD))`` memory per large component
(a 10,000-node graph of degree 8 with ``k = 256``: ARPACK took 19 s on one core; the dense ``eigh``
took 7 s at 3,000 nodes, so about 250 s at 10,000 by its ``n³``, not measured).
It runs on the host (scipy) in float64; the result is copied to the input's device.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import Tensor

__all__ = ["partial_embedding", "DENSE_COMPONENT", "PAD"]

#: Components up to this many nodes take a dense eigendecomposition.
DENSE_COMPONENT = 512
#: Extra eigenpairs asked of ARPACK beyond ``k`` (and per check for missed copies).
PAD = 8
#: Relative residual of the rough check for missed copies, and how near the cut its eigenvalue
#: must come to be computed exactly (the eigenvalue's error is at most about the residual).
_ROUGH_TOL, _ROUGH_MARGIN = 1e-6, 1e-4
#: A deflated eigenpair's eigenvalue of ``D^{-1/2} W D^{-1/2}`` is lowered by this (out of [-1, 1]).
_SHIFT = 4.0


def _require_scipy() -> None:
    try:
        import scipy.sparse  # noqa: F401
    except ImportError as err:  # pragma: no cover - scipy is present in the dev environment
        raise ImportError(
            "EigenPool: a graph above 'dense_limit' needs scipy for its partial eigensolver: "
            "pip install scipy, or raise 'dense_limit'"
        ) from err


class _Component:
    """The eigenpairs of one component's ``L`` computed so far (ascending), whether they are all of
    them (``complete``) and whether they come from a dense solver (``dense``: no copy missed);
    ``Mc``: the component's ``D^{-1/2} W D^{-1/2}`` (CSR), kept for asking again."""

    def __init__(self, nodes: np.ndarray, vals: np.ndarray, vecs: np.ndarray, complete: bool, dense: bool, Mc=None):
        self.nodes, self.vals, self.vecs = nodes, vals, vecs
        self.complete, self.dense, self.Mc = complete, dense, Mc

    def add(self, vals: np.ndarray, vecs: np.ndarray) -> None:
        """Join more eigenpairs, keeping the ascending order."""
        vals, vecs = np.concatenate([self.vals, vals]), np.concatenate([self.vecs, vecs], axis=1)
        order = np.argsort(vals, kind="stable")
        self.vals, self.vecs = vals[order], vecs[:, order]


def _dense_components(M, nodes_by_size: Dict[int, List[np.ndarray]], want: int) -> List[_Component]:
    """Dense eigenpairs of ``L`` of the small components, batched by size."""
    out: List[_Component] = []
    for s, groups in nodes_by_size.items():
        idx = np.stack(groups)  # [c, s]
        sub = [M[g][:, g].tocsr() for g in groups]
        blocks = np.stack([b.toarray() for b in sub])
        vals, vecs = np.linalg.eigh(np.eye(s) - blocks)
        r = min(s, want)
        for i in range(len(groups)):
            out.append(_Component(idx[i], vals[i, :r], vecs[i, :, :r], complete=r == s, dense=True, Mc=sub[i]))
    return out


def _large(Mc, nodes: np.ndarray, want: int) -> _Component:
    """The ``want`` smallest eigenpairs of a large component's ``L`` (``Mc`` its normalised
    adjacency, CSR), dense when that is half of them."""
    s = nodes.size
    if 2 * want >= s:
        vals, vecs = np.linalg.eigh(np.eye(s) - Mc.toarray())
        return _Component(nodes, vals[:want], vecs[:, :want], complete=want >= s, dense=True, Mc=Mc)
    v0 = np.random.default_rng(0).standard_normal(s)
    mu, vecs = _arpack(Mc, want, v0)
    order = np.argsort(-mu, kind="stable")
    return _Component(nodes, 1.0 - mu[order], vecs[:, order], complete=False, dense=False, Mc=Mc)


def _arpack(op, r: int, v0: np.ndarray, rough: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """ARPACK's ``r`` largest algebraic eigenpairs of ``op``, to machine precision (``rough``: to a
    relative residual of :data:`_ROUGH_TOL`)."""
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    try:
        return eigsh(op, k=r, which="LA", tol=_ROUGH_TOL if rough else 0, v0=v0)
    except ArpackNoConvergence as err:
        raise RuntimeError(
            f"EigenPool: the partial eigensolver (ARPACK) did not converge on a connected component of "
            f"{op.shape[0]} nodes asked for {r} eigenpairs; raise 'dense_limit' above it to use the dense "
            f"eigendecomposition instead"
        ) from err


def _missed(comp: _Component, cut: float) -> Tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of ``comp``'s ``L`` at or below ``cut`` that are not among its computed ones."""
    from scipy.sparse.linalg import LinearOperator

    s = comp.nodes.size
    r = min(PAD, s - comp.vals.size - 1)
    if r < 1:
        return np.zeros(0), np.zeros((s, 0))
    Mc, V, lift = comp.Mc, comp.vecs, (1.0 - comp.vals) + _SHIFT

    def matvec(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v).reshape(-1)
        return Mc @ v - V @ (lift * (V.T @ v))

    op = LinearOperator((s, s), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(1).standard_normal(s)
    # A missed copy is the deflated operator's top eigenvalue (the next true one lies above the cut):
    # one rough eigenvalue decides, and only a candidate near the cut is computed to full precision.
    mu, _ = _arpack(op, 1, v0, rough=True)
    if 1.0 - mu[0] > cut + _ROUGH_MARGIN:
        return np.zeros(0), np.zeros((s, 0))
    mu, vecs = _arpack(op, r, v0)
    lam = 1.0 - mu
    keep = lam <= cut
    return lam[keep], vecs[:, keep]


def partial_embedding(edge_index: Tensor, weight: Tensor, n: int, k: int, tol: float) -> Tensor:
    """EigenPool's embedding of one graph of ``n`` nodes (local ``edge_index`` ``[2, E]``, ``weight``
    ``[E]`` float64, self-loops allowed and dropped, repeated edges summed): the eigenvectors ``[n, m]``
    float64 on the device of ``edge_index``, ``m`` the number of eigenvalues within ``tol`` of the
    ``k``-th smallest (module docstring); the caller scales the rows to unit length."""
    _require_scipy()
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    src, dst = edge_index.cpu().numpy()
    w = weight.detach().cpu().numpy().astype(np.float64)
    off = src != dst
    A = sp.coo_matrix((w[off], (src[off], dst[off])), shape=(n, n)).tocsr()
    W = ((A + A.T) / 2).tocsr()
    W.eliminate_zeros()
    d = np.asarray(W.sum(axis=1)).ravel()
    dinv = np.where(d > 0, 1.0 / np.sqrt(np.maximum(d, 1e-300)), 0.0)
    M = (sp.diags(dinv) @ W @ sp.diags(dinv)).tocsr()
    _, label = connected_components(W, directed=False)
    order = np.argsort(label, kind="stable")
    bounds = np.flatnonzero(np.diff(label[order])) + 1
    members = np.split(order, bounds)
    want = min(n, k + PAD)
    small: Dict[int, List[np.ndarray]] = {}
    comps: List[_Component] = []
    for nodes in members:
        if nodes.size <= DENSE_COMPONENT:
            small.setdefault(nodes.size, []).append(nodes)
        else:
            comps.append(_large(M[nodes][:, nodes].tocsr(), nodes, min(want, nodes.size)))
    comps += _dense_components(M, small, want)
    while True:
        # more pairs from a component whose computed ones all reach the cut
        while True:
            kth = np.sort(np.concatenate([c.vals for c in comps]))[k - 1]
            grow = [i for i, c in enumerate(comps) if not c.complete and c.vals[-1] <= kth + tol]
            if not grow:
                break
            for i in grow:
                c = comps[i]
                comps[i] = _large(c.Mc, c.nodes, min(c.nodes.size, 2 * c.vals.size))
        # copies of a repeated eigenvalue the Krylov solver did not see
        found = False
        for c in comps:
            lam, vecs = (np.zeros(0), c.vecs[:, :0]) if c.complete or c.dense else _missed(c, kth + tol)
            while lam.size:
                found = True
                c.add(lam, vecs)
                lam, vecs = _missed(c, kth + tol)
        if not found:
            break
    kth = np.sort(np.concatenate([c.vals for c in comps]))[k - 1]
    cut = kth + tol
    m = sum(int((c.vals <= cut).sum()) for c in comps)
    Y = np.zeros((n, m))
    col = 0
    for c in comps:
        sel = c.vals <= cut
        j = int(sel.sum())
        if j:
            Y[c.nodes[:, None], np.arange(col, col + j)[None, :]] = c.vecs[:, sel]
            col += j
    return torch.from_numpy(Y).to(edge_index.device)
