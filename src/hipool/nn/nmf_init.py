r"""NMF pooling's start: NNDSVDa (Boutsidis & Gallopoulos, Pattern Recognition 2008), from all the
singular triplets of a graph's adjacency (the dense path, :mod:`hipool.nn.nmf`) or from the top
ones of a randomized SVD (the sparse path, :mod:`hipool.nn.nmf_sparse`), with a repeated singular
value's basis and a tied sign fixed from the node features (the module docstring of
:mod:`hipool.nn.nmf` says why and how).
"""

from __future__ import annotations

import math
from typing import Callable, List, Tuple

import torch
from torch import Tensor

#: Relative gap under which two singular values count as equal (and one as zero).
SVD_RTOL = 1e-9
#: NNDSVD entries below this are zeros (scikit-learn's ``_initialize_nmf``).
NNDSVD_EPS = 1e-6
#: Seed of the random Fourier features that fix a repeated singular value's basis.
_SEED = 0x4E4D46


# ---------------------------------------------------------------------------
# initialisation
# ---------------------------------------------------------------------------
def _fourier_features(x: Tensor, count: int) -> Tensor:
    """``cos(X Q + b)`` ``[n, count]`` with a fixed ``Q ~ N(0, 1)`` and ``b ~ U(0, 2π)``: functions of
    each node's features alone (so permuting the nodes permutes the rows)."""
    g = torch.Generator().manual_seed(_SEED)
    q = torch.randn(x.size(1), count, generator=g, dtype=torch.float64).to(x.device)
    b = (2 * math.pi * torch.rand(count, generator=g, dtype=torch.float64)).to(x.device)
    return torch.cos(x @ q + b)


def _canonical_basis(u: Tensor, z: Tensor) -> Tensor:
    """An orthonormal basis of the span of ``u`` ``[n, m]`` (orthonormal columns) fixed by ``z``
    ``[n, r]``: the projections of ``z``'s columns, Gram–Schmidt in order; completed from ``u``
    when ``z`` does not span the space."""
    m = u.size(1)
    proj = u @ (u.t() @ z)
    basis: List[Tensor] = []
    scale = max(float(z.norm(dim=0).max()) if z.numel() else 0.0, 1.0)
    for cand in list(proj.t()) + list(u.t()):
        for b in basis:
            cand = cand - (b @ cand) * b
        for b in basis:  # twice is enough (Kahan)
            cand = cand - (b @ cand) * b
        norm = float(cand.norm())
        if norm > 1e-6 * scale:
            basis.append(cand / norm)
        if len(basis) == m:
            break
    return torch.stack(basis, 1)


def nndsvd_init(a: Tensor, k: int, x: Tensor) -> Tuple[Tensor, Tensor]:
    """NNDSVDa of one graph's adjacency ``a`` ``[n, n]`` (float64) for ``k`` components: ``(W, H)``
    ``[n, k]``, ``[k, n]`` (Boutsidis & Gallopoulos 2008; zeros filled with the mean of ``a``).
    Repeated singular values get the basis fixed by the node features ``x`` (see the module
    docstring)."""
    u, sig, vh = torch.linalg.svd(a)
    mean = a.mean() if a.size(0) else a.new_zeros(())
    return nndsvd_from_svd(u, sig, vh.transpose(0, 1), k, x, lambda m: a.t() @ m, mean, SVD_RTOL)


def nndsvd_from_svd(
    u: Tensor, sig: Tensor, v: Tensor, k: int, x: Tensor, at_mm: Callable[[Tensor], Tensor], mean: Tensor, rtol: float
) -> Tuple[Tensor, Tensor]:
    """NNDSVDa from singular triplets of ``A`` ``[n, n]``: ``u`` ``[n, q]``, ``sig`` ``[q]`` (descending),
    ``v`` ``[n, q]``, all of them (the dense path) or the top ``q >= min(k, n)`` (the sparse path's
    randomized ones).  ``at_mm(m)`` is ``Aᵀ m``; ``mean`` the mean entry of ``A``; ``rtol`` the gap
    under which two singular values are one repeated value, whose basis the features ``x`` fix."""
    n = u.size(0)
    values = sig.tolist()
    top = values[0] if values else 0.0
    tol = rtol * top
    if top > 0:
        # Groups of (numerically) equal non-zero singular values meeting the first k.
        i = 0
        while i < min(k, n, len(values)):
            j = i + 1
            while j < len(values) and values[i] - values[j] <= tol:
                j += 1
            if j - i > 1 and values[i] > tol:
                z = _fourier_features(x, j - i + 1)
                ub = _canonical_basis(u[:, i:j], z)
                vb = at_mm(ub)
                vb = vb / vb.norm(dim=0, keepdim=True).clamp_min(torch.finfo(sig.dtype).tiny)
                u = torch.cat([u[:, :i], ub, u[:, j:]], 1)
                v = torch.cat([v[:, :i], vb, v[:, j:]], 1)
            i = j
    kk = min(k, n)
    sv = sig[:kk].clamp_min(0)
    uc, vc = u[:, :kk], v[:, :kk]
    up, un, vp, vn = uc.clamp_min(0), (-uc).clamp_min(0), vc.clamp_min(0), (-vc).clamp_min(0)
    nup, nun, nvp, nvn = up.norm(dim=0), un.norm(dim=0), vp.norm(dim=0), vn.norm(dim=0)
    mp, mn = nup * nvp, nun * nvn
    pos = mp > mn  # the larger of the two non-negative parts (scikit-learn's rule)
    # A tie (every negative eigenvalue of a symmetric A: u = -v) is left to rounding there; here the
    # pair is oriented by the node features instead, and its positive part taken.
    tie = (mp - mn).abs() <= rtol * torch.maximum(mp, mn)
    if bool(tie.any()):
        side = _fourier_features(x, 1)[:, 0] @ uc
        pos = torch.where(tie, side >= 0, pos)
    m = torch.where(pos, mp, mn)
    tiny = torch.finfo(sig.dtype).tiny
    uu = torch.where(pos, up / nup.clamp_min(tiny), un / nun.clamp_min(tiny))
    vv = torch.where(pos, vp / nvp.clamp_min(tiny), vn / nvn.clamp_min(tiny))
    # The first pair is the Perron pair: its absolute values, scaled by its singular value alone.
    uu[:, :1], vv[:, :1], m[:1] = uc[:, :1].abs(), vc[:, :1].abs(), 1.0
    scale = torch.where(sv > tol, (sv * m).sqrt(), torch.zeros_like(sv))
    w = sig.new_zeros(n, k)
    h = sig.new_zeros(k, n)
    w[:, :kk] = uu * scale
    h[:kk] = (vv * scale).t()
    # scikit-learn's cut-off: entries below 1e-6 count as zeros, which NNDSVDa fills with the mean.
    w = torch.where(w < NNDSVD_EPS, mean, w)
    h = torch.where(h < NNDSVD_EPS, mean, h)
    return w, h
