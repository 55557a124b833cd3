r"""Three more clustering poolers: :class:`JustBalancePool`, :class:`HOSCPool` and :class:`ACCPool`.

Each is a :class:`~hipool.nn.functional.ClusterMethod` (its named losses, of
:mod:`hipool.nn.cut_losses`, and MinCut's pooled adjacency) run by
:class:`~hipool.nn.clustering.ClusterPooling`, so every option of the clustering poolers works
with them: ``mode`` (``auto``/``dense``/``sparse``, the same values to float rounding), graphs
with fewer nodes than clusters, ``pool_edge_attr``, ``edge_topk``/``edge_threshold``, ``reduce``
and ``sizes=`` (``schedule: auto``).  All three pool to

.. math::
    X' = S^\top X \;(\text{cluster means by default}), \qquad
    A' = D'^{-1/2} \left(S^\top A S - \mathrm{diag}\right) D'^{-1/2}

(:func:`~hipool.nn.functional.normalize_cut`: MinCut's, zero diagonal, symmetric degree
normalisation), and need ``edge_weight >= 0``.

* :class:`JustBalancePool` (Bianchi, NLDL 2023): only a balance loss, ``balance``; the cut is
  left to the message passing before the pooler.
* :class:`HOSCPool` (Duval & Malliaros, CIKM 2022): a relaxed normalised cut of the edges and
  of the triangles, ``hosc``, and an orthogonality term, ``ortho``.
* :class:`ACCPool` (Hansen & Bianchi, ICML 2023): the graph total variation ``totvar`` and the
  asymmetric-norm balance ``balance``: the Asymmetric Cheeger Cut of TVGNN.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Tuple

from torch import Tensor

from ..checks import check_number
from . import functional as Fn
from .clustering import ClusterPooling, _one_of
from .cut_losses import asym_norm_loss, hosc_balance_loss, hosc_cut_loss, just_balance_loss, totvar_loss
from .losses import Coarsening, orthogonality_loss

__all__ = [
    "JUSTBALANCE",
    "ACC",
    "HOSC_ORTHO",
    "hosc_method",
    "JustBalancePool",
    "HOSCPool",
    "ACCPool",
]

JUSTBALANCE_WEIGHTS = "the pooled adjacency D^-1/2 A' D^-1/2 reads the weights as degrees"
HOSC_WEIGHTS = "HOSC's normalised cuts and D^-1/2 A' D^-1/2 read the weights as degrees"
ACC_WEIGHTS = "ACC's total variation and D^-1/2 A' D^-1/2 read the weights as edge strengths"

#: HOSC's orthogonality terms: MinCut's ``‖SᵀS/‖SᵀS‖_F − I/√k‖_F`` (``mincut``, the authors'
#: default) or the paper's balance form (``balance``, the authors' ``new_ortho=True``).
HOSC_ORTHO = ("mincut", "balance")

#: Just Balance: the loss ``balance`` (:func:`~hipool.nn.cut_losses.just_balance_loss`), MinCut's ``A'``.
JUSTBALANCE = Fn.ClusterMethod(
    losses={"balance": just_balance_loss}, connect=Fn.normalize_cut, nonnegative=JUSTBALANCE_WEIGHTS
)

#: Asymmetric Cheeger Cut: the losses ``totvar`` (:func:`~hipool.nn.cut_losses.totvar_loss`) and
#: ``balance`` (:func:`~hipool.nn.cut_losses.asym_norm_loss`), MinCut's ``A'``.
ACC = Fn.ClusterMethod(
    losses={"totvar": totvar_loss, "balance": asym_norm_loss}, connect=Fn.normalize_cut, nonnegative=ACC_WEIGHTS
)


def _scaled(c: Coarsening, loss: Callable[[Coarsening], Tensor], factor: float) -> Tensor:
    return factor * loss(c)


def hosc_method(alpha: float = 0.5, mu: float = 0.1, ortho: str = "mincut") -> Fn.ClusterMethod:
    """HOSC: losses ``hosc`` (:func:`~hipool.nn.cut_losses.hosc_cut_loss` with ``alpha``) and
    ``ortho`` (``mu`` times MinCut's :func:`~hipool.nn.losses.orthogonality_loss`, or
    :func:`~hipool.nn.cut_losses.hosc_balance_loss` with ``ortho="balance"``); MinCut's ``A'``.
    The defaults are the authors' (``alpha=0.5, mu=0.1, new_ortho=False``)."""
    alpha = check_number(alpha, "hosc_method", "alpha", low=0, high=1)
    mu = check_number(mu, "hosc_method", "mu", low=0)
    ortho = _one_of(ortho, "ortho", HOSC_ORTHO, "hosc_method")
    term = orthogonality_loss if ortho == "mincut" else hosc_balance_loss
    return Fn.ClusterMethod(
        losses={"hosc": partial(hosc_cut_loss, alpha=alpha), "ortho": partial(_scaled, loss=term, factor=mu)},
        connect=Fn.normalize_cut,
        nonnegative=HOSC_WEIGHTS,
    )


class JustBalancePool(ClusterPooling):
    r"""Just Balance pooling (Bianchi, "Simplifying Clustering with Graph Neural Networks",
    NLDL 2023, arXiv:2207.08779).

    The assignment reads node features that message passing has already smoothed over the graph
    (put a conv before the pooler; ``assign="linear"`` by default, the paper's MLP on top of it),
    so no cut term is needed: the only loss, ``balance``, is
    ``−Tr(√(SᵀS)) / √(n k) = −Σ_c ‖S_{:,c}‖₂ / √(n k)`` in ``[−1, −1/√k]``
    (:func:`~hipool.nn.cut_losses.just_balance_loss`; the square root entry-wise, the authors'
    normalisation).  Pooled adjacency as MinCut's (zero diagonal, ``D^-1/2 A' D^-1/2``), as the
    authors' code.  ``edge_weight`` must be ``>= 0``.  Every keyword of
    :class:`~hipool.nn.clustering.ClusterPooling` applies.
    """

    kind = "justbalance"
    LOSSES: Tuple[str, ...] = tuple(JUSTBALANCE.losses)
    method = JUSTBALANCE


class HOSCPool(ClusterPooling):
    r"""HoscPool (Duval & Malliaros, "Higher-order Clustering and Pooling for Graph Neural
    Networks", CIKM 2022, arXiv:2209.03473).

    Losses (:func:`hosc_method`):

    * ``hosc``: ``(1 − alpha) L_cut(A) + alpha L_cut(A_M)`` with ``L_cut(A) = −(1/k) Σ_c
      (SᵀAS)_cc / (Sᵀd)_c`` the relaxed normalised cut and ``A_M = (A A) ∘ A`` the triangle-motif
      adjacency (:func:`~hipool.nn.cut_losses.hosc_cut_loss`; in sparse mode per edge, no
      ``[N, N]`` tensor);
    * ``ortho``: ``mu`` times MinCut's orthogonality ``‖SᵀS/‖SᵀS‖_F − I/√k‖_F`` (``ortho="mincut"``,
      the authors' default) or the paper's ``(√k − Σ_c ‖S_{:,c}‖₂/√n) / (√k − 1)``
      (``ortho="balance"``, :func:`~hipool.nn.cut_losses.hosc_balance_loss`).

    Args:
        alpha: the weight of the triangle term, in ``[0, 1]`` (the authors' ``alpha``, default 0.5;
            0 is first-order MinCut-like clustering, 1 triangles only).
        mu: the factor of ``ortho``, ``>= 0`` (the authors' default 0.1); ``aux_weights``
            multiply it again.
        ortho: ``"mincut"`` or ``"balance"`` (:data:`HOSC_ORTHO`).

    Pooled adjacency as MinCut's (zero diagonal, ``D^-1/2 A' D^-1/2``), as the authors' code.
    ``edge_weight`` must be ``>= 0``.  Every keyword of
    :class:`~hipool.nn.clustering.ClusterPooling` applies.
    """

    kind = "hosc"
    LOSSES: Tuple[str, ...] = ("hosc", "ortho")

    def __init__(
        self,
        in_channels: int,
        num_clusters: int,
        *,
        assign: str = "linear",
        alpha: float = 0.5,
        mu: float = 0.1,
        ortho: str = "mincut",
        **kwargs,
    ):
        super().__init__(in_channels, num_clusters, assign=assign, **kwargs)
        self.alpha = check_number(alpha, "HOSCPool", "alpha", low=0, high=1)
        self.mu = check_number(mu, "HOSCPool", "mu", low=0)
        self.ortho = _one_of(ortho, "ortho", HOSC_ORTHO, "HOSCPool")

    @property
    def method(self) -> Fn.ClusterMethod:
        return hosc_method(self.alpha, self.mu, self.ortho)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, alpha={self.alpha:g}, mu={self.mu:g}, ortho={self.ortho!r}"


class ACCPool(ClusterPooling):
    r"""Asymmetric Cheeger Cut pooling, the pooler of TVGNN (Hansen & Bianchi, "Total Variation
    Graph Neural Networks", ICML 2023, arXiv:2211.06218).

    Losses:

    * ``totvar``: the graph total variation ``(1/2|E|) Σ_{(i,j)∈E} a_ij ‖s_i − s_j‖₁`` over the
      stored edges (:func:`~hipool.nn.cut_losses.totvar_loss`), in ``[0, 1]`` for 0/1 weights;
    * ``balance``: the asymmetric-norm balance ``(β − Σ_c ‖S_{:,c} − quant_ρ(S_{:,c})‖_{1,ρ}) / β``
      with ``ρ = k − 1``, ``β = nρ`` (:func:`~hipool.nn.cut_losses.asym_norm_loss`), in ``[0, 1]``.

    The authors weight them 0.5 each in graph classification (``aux_weights``).  Assignment:
    ``"linear"`` by default (the authors use an MLP: ``assign="mlp"``).  Pooled adjacency as
    MinCut's (zero diagonal, ``D^-1/2 A' D^-1/2``; the authors' code hands the raw ``SᵀAS`` to
    their GTVConv, torch-geometric-pool's AsymCheegerCutPooling normalises it so by default).
    ``edge_weight`` must be ``>= 0``.  Every keyword of
    :class:`~hipool.nn.clustering.ClusterPooling` applies.
    """

    kind = "acc"
    LOSSES: Tuple[str, ...] = tuple(ACC.losses)
    method = ACC
