r"""BN-Pool: :class:`BNPool` of Castellana & Bianchi, "BN-Pool: a Bayesian Nonparametric Approach to
Graph Pooling" (arXiv:2501.09821, 2025; TMLR 2026), a clustering pooler that learns how many clusters
each graph uses.

**Model.**  A truncated stick-breaking (Dirichlet process) prior over each node's cluster
memberships, with truncation level ``C = max_clusters``.  For node ``i`` the sticks are

.. math::
    v_{ik} \sim \mathrm{Beta}(\tilde\alpha_{ik}, \tilde\beta_{ik}), \quad k = 1, …, C-1, \qquad
    [\tilde\alpha_i, \tilde\beta_i] = \mathrm{clamp}(\mathrm{softplus}(\mathrm{MLP}(x_i)), 10^{-3}, 10^{3}),

and the memberships are the stick-breaking weights

.. math::
    S_{ik} = v_{ik} \prod_{j<k} (1 - v_{ij}) \;(k < C), \qquad S_{iC} = \prod_{j<C} (1 - v_{ij}),

so every row of ``S`` sums to 1 and later clusters get less mass unless the data ask for them.  The
posterior ``q(v_{ik}) = Beta(α̃_ik, β̃_ik)`` is trained against the prior ``p(v_{ik}) = Beta(1, α)``
(``alpha``, the DP concentration: larger values expect more clusters).  In training ``v`` is sampled
with the reparameterised ``Beta.rsample`` (as the authors); in evaluation it is the posterior mean
``α̃/(α̃+β̃)``, so evaluation is deterministic.  ``v`` is kept in ``[1e-6, 1 - 1e-6]``.

**Losses** (``aux_losses``; each per graph, then averaged over the graphs the pooler pools):

* ``recon``: the graph is a stochastic block model: ``P(A_ij = 1) = σ((S K Sᵀ)_ij)`` with ``K`` a learned
  ``C × C`` cluster–cluster matrix, scored by a binary cross-entropy over all ``n²`` node pairs of the
  graph (self-pairs included, as the authors) with the positive class reweighted as the authors' code:

  .. math::
      \mathcal{L}_{rec} = \frac{1}{n^2} \sum_{i,j} w_{ij}\, \mathrm{BCE}\big((SKS^\top)_{ij}, A_{ij}\big),
      \qquad w_{ij} = \frac{n^2}{n_e} A_{ij} + \frac{n^2}{n^2 - n_e} (1 - A_{ij}),

  with ``n_e = Σ_ij A_ij`` (at least 1, and ``n² - n_e`` at least 1).  ``A_ij`` is the summed weight of the
  edges ``i -> j`` clipped to ``[0, 1]`` (so 0/1 on a simple graph; weights in ``[0, 1]`` are soft targets).
* ``kl``: ``(1/n²) Σ_i Σ_{k<C} KL(Beta(α̃_ik, β̃_ik) ‖ Beta(1, α))`` in closed form (:func:`beta_kl`).
* ``kprior``: the Gaussian prior on ``K``, ``(1/n²) · ½ Σ_{kl} (K_kl − μ_kl)² / σ²`` with ``μ = k_mu`` on the
  diagonal and ``-k_mu`` off it, ``σ² = k_var`` (0, a constant, with ``train_k=False``).

The three are the negative ELBO of one graph divided by ``n²`` (the normalisation of
torch-geometric-pool's ``BNPool``; the authors' code divides the same three terms by ``n``: the same
proportions, a scale ``n`` apart), so their sum with unit ``aux_weights`` is the paper's objective and
``recon`` stays ``O(1)`` whatever the graph size.  The authors' ``eta`` (a weight on ``kl``) is the
config's ``aux_weights``.

**Per-graph truncation.**  A graph of ``n < C`` nodes uses ``T = n`` clusters: its stick ``T`` is set to 1
(the cluster ``T`` takes the rest of the stick, the later ones none) and its KL counts the ``T - 1``
sticks it uses (so a one-node graph has no stick and no KL).  With ``sizes`` (``schedule: auto``)
``T = min(C, n, sizes_g)``, and a graph no larger than ``sizes_g`` and ``C`` passes unchanged (identity
assignment, left out of the losses).

**Pooled graph.**  Only the clusters a graph uses are kept: a cluster is kept when it is some node's
``argmax`` (the hard assignment ``cluster``), and, with ``threshold`` set, also when some node's
membership in it reaches ``threshold`` (the authors' code marks a cluster non-empty when a node has
``S_ik >= 0.2``: ``threshold=0.2``).  A graph keeps at most ``T <= n`` clusters.  The kept clusters, in slot
order, are the graph's output nodes, and ``assignment`` is ``S`` with those columns moved to the front
(the dropped columns removed: rows may then sum to less than 1).  With ``S`` restricted so:

* ``x``: ``SᵀX`` over each cluster's soft size ``Σ_i S_ik`` (``reduce="mean"``, default, as hipool's other
  clustering poolers) or ``SᵀX`` (``reduce="sum"``, the authors');
* ``edge_index``/``edge_weight``: ``A' = SᵀAS`` (raw summed weights) with a zero diagonal, normalised
  ``D^-1/2 A' D^-1/2`` as the authors' code, its non-zero entries as weighted edges;
* ``edge_attr`` (``pool_edge_attr``, default on): ``SᵀE_cS`` per channel ``c``, any trailing shape.

**Optimisation.**  Trained on the losses alone (``tests/nn/test_bnpool.py``: graphs of 2 or 3 cliques in a
row, node features the one-hot position of the node's clique plus noise, Adam at 0.05), BN-Pool with
``C = 3`` learns within 300 steps to keep 2 clusters for the 2-clique graphs and 3 for the 3-clique ones,
the cliques exactly (6 seeds of 6).  With ``C = 4`` or ``6`` the same run mostly stays at 2 clusters for
the 3-clique graphs (with ``C = 6``: 1 seed of 4 reached 3 clusters by step 1000, 3 seeds had not by
step 2000): the third clique's nodes settle on an even mixture of two clusters (their first stick
near 0.5, the mean of the ``Beta(1, 1)`` prior, so it costs no KL), which the soft SBM ``S K Sᵀ`` with
a learned ``K`` reconstructs nearly as well as a cluster of their own, while the argmax sees two.
``alpha`` well above ``1`` with a small ``C`` puts the mass on the last cluster of the truncation (the
prior ``Beta(1, α)`` makes every stick small), so keep ``C`` large against ``α``.  With
``recon="sampled"`` (below) the ``C = 3`` run reaches the same clusters (6 seeds of 6).

**Cost and limits.**  The reconstruction loss is exact by default (``recon="exact"``): it compares all
``n²`` pairs, so its time is ``O(n² C)`` per graph.  Its memory is not ``O(n²)``: the loss splits into a
term over every pair (``softplus`` of the logits, summed in blocks of rows of at most ``2**24`` pairs,
recomputed in the backward pass) and a term over the edges, and ``SᵀAS`` is formed over the edges.
Graphs are padded in runs of consecutive graphs of at most ``2**24`` padded pairs; in this mode a graph
of more than ``dense_limit`` nodes (default 2048) is refused with a ``ValueError``.  The Beta sampling,
the stick-breaking and the KL are ``O(n C)``; ``S K`` is ``O(n C²)``, and the pooled features and
``SᵀAS`` ``O(n C (F + C))`` (``E C`` for ``A S``).

**Sampled reconstruction** (``recon="sampled"``).  Only the sum over every pair above is ``O(n²)``:
with ``f_ij = softplus((S K Sᵀ)_ij)``,

.. math::
    n^2 \mathcal{L}_{rec} = w_0 \sum_{(i,j)} f_{ij} + \sum_{(i,j) \in \mathcal{E}} \big(t_{ij}((w_1 - w_0) f_{ij}
    - w_0 l_{ij}) - t_{ij}^2 (w_1 - w_0) l_{ij}\big),

where ``𝓔`` is the graph's set of stored pairs (the distinct ``i -> j`` of its edges, self-loops and
zero weights included; ``E = |𝓔|``).  The sampled mode computes the second term and ``Σ_{(i,j)∈𝓔} f_ij``
exactly and estimates only ``Σ_{(i,j)∉𝓔} f_ij``: every node ``i`` of a graph of ``n`` nodes draws
``r = ⌈sample_ratio · max(E, n) / n⌉`` partners ``j`` uniformly from the ``n`` nodes of its graph, with
replacement and itself included (so the self-pairs count as in the exact loss), independently, and

.. math::
    \widehat{\Sigma} = \frac{n}{r} \sum_i \sum_{s=1}^{r} f_{i j_{is}}\, [(i, j_{is}) \notin \mathcal{E}]

(a draw that hits a stored pair adds nothing: that pair is counted exactly).  ``E[Σ̂] = Σ_i (n/r) r (1/n)
Σ_j f_ij [(i,j) ∉ 𝓔]``, the exact sum: the estimate of ``recon`` is **unbiased for the exact loss**, with
the same ``w_0``, ``w_1``, ``n_e`` and ``1/n²`` (``kl`` and ``kprior`` are untouched), so both modes
minimise the same objective; since the draws do not depend on the parameters, the gradient is unbiased
for the exact gradient too (in training ``S`` is itself a sample, as in the exact mode).  Stratified by
row (every node is the row of exactly ``r`` draws), its variance is ``(n²/r) Σ_i Var_j(f_ij [(i,j) ∉ 𝓔])``,
no more than that of ``n r`` pairs drawn uniformly from all ``n²``: its relative standard error is about
``cv / √(n r)``, ``cv`` the spread of ``f`` over a node's non-edge partners against its mean.  A graph
with ``r >= n`` (few nodes, or dense) instead pairs every node with every node once, weight 1: its loss
is then exact (so are one-node graphs, and any graph when ``sample_ratio`` is large).  The default
``sample_ratio=1`` draws about as many pairs as the graph stores edges (and at least one per node, for a
graph with few or no edges); the cost is ``O((E + n r) C)`` time and memory per graph, nothing ``O(n²)``
is formed, and ``dense_limit`` does not apply.

*Randomness.*  In training the partners are drawn afresh at every call, from ``pool.generator`` when it
is set (a ``torch.Generator`` on the input's device) and from torch's global RNG otherwise (so
``torch.manual_seed`` makes training reproducible): ``randint(0, 2**62) mod n``, non-uniform by less
than ``n / 2**62``.  In evaluation they are a fixed hash of ``(pool.eval_seed, n, the node's index in
its graph, the draw's number)`` (``eval_seed`` 0 by default; another value gives another draw): the
evaluation loss is deterministic, the same for a graph alone or in any batch, and leaves the global
RNG alone.  Permuting a graph's nodes changes which pairs are drawn, not what is estimated.

*Against tgp.*  tgp's sparse ``BNPool`` (``batched=False``) also scores every edge, and draws per graph
as many non-edges as edges (uniform pairs without self-loops, made undirected; draws that are edges
are thrown away, so the count may fall short); its loss is the unweighted mean BCE over the edges and
those non-edges: about half the class-balanced loss above, without the self-pairs, and not reweighted
to the exact loss.  It then divides ``kl`` and ``kprior`` by that number of scored pairs (``≈ 2E``)
instead of ``n²``: against a ``recon`` about half as large, they weigh ``n² / E`` times more than in its
dense path.  hipool's sampled mode keeps every weight and normalisation of the exact mode.
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable
from torch.utils.checkpoint import checkpoint
from torch_geometric.nn import MLP

from ..checks import (
    check_bool,
    check_int,
    check_number,
    check_sizes,
    param_device,
    param_dtype,
    prepare_pool_input,
)
from ..ops import csr_rows, segment_sum
from ..record import PoolOutput
from .clustering import _pool_edge_attr, _pooled_edges, empty_record
from .functional import cluster_mean, graph_mean, normalize_cut

__all__ = ["BNPool", "beta_kl", "stick_breaking"]

REDUCES = ("mean", "sum")
#: How ``recon`` is computed: over every pair, or estimated from the edges and sampled pairs.
RECONS = ("exact", "sampled")
#: Why BN-Pool needs ``edge_weight >= 0`` (the reason named in the error).
_NONNEGATIVE = "BN-Pool's reconstruction reads edge weights as link probabilities"
#: The sticks are kept in [_V_EPS, 1 - _V_EPS] (log v and log(1 - v) finite).
_V_EPS = 1e-6
#: Padded node pairs per dense run of graphs.
_PAIRS = 2**24


def beta_kl(a: Tensor, b: Tensor, a0: Union[Tensor, float], b0: Union[Tensor, float]) -> Tensor:
    r"""``KL(Beta(a, b) ‖ Beta(a0, b0))`` element-wise, in closed form:

    .. math::
        \ln B(a_0, b_0) - \ln B(a, b) + (a - a_0)\psi(a) + (b - b_0)\psi(b) + (a_0 - a + b_0 - b)\psi(a + b).
    """
    a0 = torch.as_tensor(a0, dtype=a.dtype, device=a.device)
    b0 = torch.as_tensor(b0, dtype=a.dtype, device=a.device)

    def log_beta(p: Tensor, q: Tensor) -> Tensor:
        return torch.lgamma(p) + torch.lgamma(q) - torch.lgamma(p + q)

    return (
        log_beta(a0, b0)
        - log_beta(a, b)
        + (a - a0) * torch.digamma(a)
        + (b - b0) * torch.digamma(b)
        + (a0 - a + b0 - b) * torch.digamma(a + b)
    )


def stick_breaking(v: Tensor, used: Optional[Tensor] = None) -> Tensor:
    """Memberships ``S [N, C]`` from the sticks ``v [N, C-1]`` in ``(0, 1)``: ``S_k = v_k Π_{j<k} (1 - v_j)``,
    the last cluster the rest of the stick.  ``used`` ``[N]`` (default ``C``) truncates row ``i`` at
    ``used[i]`` clusters: cluster ``used[i]`` takes the rest, the later ones 0 (gradients stay finite).
    Computed in log space."""
    n, c1 = v.shape
    c = c1 + 1
    if used is None:
        used = torch.full((n,), c, dtype=torch.long, device=v.device)
    last = (used - 1).view(-1, 1)  # the slot that takes the rest of the stick
    col = torch.arange(c, device=v.device)
    real = col[:c1] < last  # sticks in use
    log_rest = torch.cumsum(torch.where(real, torch.log1p(-v), torch.zeros_like(v)), dim=-1)
    log_rest = torch.cat([v.new_zeros(n, 1), log_rest], dim=-1)  # Σ_{j<k} log(1 - v_j)
    log_v = torch.cat([torch.log(v), v.new_zeros(n, 1)], dim=-1)
    log_v = torch.where(col < last, log_v, torch.where(col == last, torch.zeros_like(log_v), -math.inf))
    return torch.exp(log_v + log_rest)


class BNPool(torch.nn.Module):
    r"""BN-Pool (Castellana & Bianchi, arXiv:2501.09821, 2025): stick-breaking memberships from an MLP,
    trained by an SBM reconstruction of the adjacency and the KL to a Dirichlet-process prior; each
    graph keeps only the clusters it uses (module docstring: every equation and choice).

    Args:
        in_channels: width ``F`` of ``x``.
        max_clusters: ``C``, the truncation level (most clusters a graph may use), an int >= 1.
        alpha: the DP concentration ``α`` of the prior ``Beta(1, α)`` (a number > 0; default 1, as
            torch-geometric-pool; the authors' experiments use 10).
        hidden: hidden width of a 2-layer MLP (ReLU) giving the Beta parameters; ``None`` (default) a
            linear map.
        k_init: ``K`` starts as ``k_init`` on the diagonal and ``-k_init`` off it (default 1).
        k_mu: the prior mean of ``K``: ``k_mu`` on the diagonal, ``-k_mu`` off it (default 10).
        k_var: the prior variance of every entry of ``K`` (a number > 0, default 1).
        train_k: learn ``K`` (default ``True``); else it stays at its initial value and ``kprior`` is 0.
        threshold: also keep a cluster when a node's membership reaches this (in ``(0, 1]``; the
            authors' 0.2); ``None`` (default): keep the clusters some node has as its ``argmax``.
        reduce: pooled features, ``"mean"`` (default) or ``"sum"`` ``SᵀX``.
        pool_edge_attr: carry ``edge_attr`` as ``SᵀE_cS`` per channel (default ``True``).
        dense_limit: largest graph (nodes) taken (default 2048) with ``recon="exact"``: the loss is
            ``O(n²)`` per graph.  Not applied with ``recon="sampled"``.
        recon: ``"exact"`` (default): the reconstruction loss over all ``n²`` pairs; ``"sampled"``: its
            unbiased estimate from the stored edges and sampled pairs, ``O((E + samples) C)`` (module
            docstring, "Sampled reconstruction").
        sample_ratio: with ``recon="sampled"``, the pairs drawn per graph as a multiple of
            ``max(E, n)`` (``⌈sample_ratio · max(E, n) / n⌉`` per node; a number > 0, default 1: as many
            as the graph's stored edges).  Ignored with ``recon="exact"``.

    Attributes (not options): ``generator`` (``None``), a ``torch.Generator`` the training draws of
    ``recon="sampled"`` come from instead of torch's global RNG; ``eval_seed`` (``0``), the seed of its
    deterministic evaluation draws.

    ``forward(x, edge_index, edge_attr=None, batch=None, edge_weight=None, sizes=None)`` returns a
    :class:`~hipool.record.PoolOutput` with ``mode="dense"`` and the losses ``recon``, ``kl``, ``kprior``.
    """

    LOSSES: Tuple[str, ...] = ("recon", "kl", "kprior")

    def __init__(
        self,
        in_channels: int,
        max_clusters: int,
        *,
        alpha: float = 1.0,
        hidden: Optional[int] = None,
        k_init: float = 1.0,
        k_mu: float = 10.0,
        k_var: float = 1.0,
        train_k: bool = True,
        threshold: Optional[float] = None,
        reduce: str = "mean",
        pool_edge_attr: bool = True,
        dense_limit: int = 2048,
        recon: str = "exact",
        sample_ratio: float = 1.0,
    ):
        super().__init__()
        where = type(self).__name__
        hint = " (BN-Pool needs an int truncation level, not a ratio)" if isinstance(max_clusters, float) else ""
        self.in_channels = check_int(in_channels, where, "in_channels")
        self.max_clusters = check_int(max_clusters, where, "max_clusters", hint=hint)
        self.alpha = check_number(alpha, where, "alpha", low=0, low_open=True)
        hidden = check_int(hidden, where, "hidden", allow_none=True)
        self.k_init = check_number(k_init, where, "k_init")
        self.k_mu = check_number(k_mu, where, "k_mu")
        self.k_var = check_number(k_var, where, "k_var", low=0, low_open=True)
        self.train_k = check_bool(train_k, where, "train_k")
        self.threshold = check_number(threshold, where, "threshold", low=0, high=1, low_open=True, allow_none=True)
        if not isinstance(reduce, str) or reduce not in REDUCES:
            raise ValueError(f"{where}: 'reduce' must be one of {', '.join(REDUCES)}, got {reduce!r}")
        self.reduce = reduce
        self.pool_edge_attr = check_bool(pool_edge_attr, where, "pool_edge_attr")
        self.dense_limit = check_int(dense_limit, where, "dense_limit")
        if not isinstance(recon, str) or recon not in RECONS:
            raise ValueError(f"{where}: 'recon' must be one of {', '.join(RECONS)}, got {recon!r}")
        self.recon = recon
        self.sample_ratio = check_number(sample_ratio, where, "sample_ratio", low=0, low_open=True)
        self.generator: Optional[torch.Generator] = None
        self.eval_seed = 0
        self.hidden = hidden
        C = self.max_clusters
        self.net: Optional[torch.nn.Module] = None
        if C > 1:
            if hidden is None:
                self.net = torch.nn.Linear(in_channels, 2 * (C - 1))
            else:
                self.net = MLP([in_channels, hidden, 2 * (C - 1)], norm=None)
        self.K = torch.nn.Parameter(self._signed_eye(self.k_init), requires_grad=self.train_k)

    def _signed_eye(self, value: float, like: Optional[Tensor] = None) -> Tensor:
        """``value`` on the diagonal, ``-value`` off it: ``[C, C]``."""
        dtype = None if like is None else like.dtype
        device = None if like is None else like.device
        eye = torch.eye(self.max_clusters, dtype=dtype, device=device)
        return value * (2 * eye - 1)

    def reset_parameters(self) -> None:
        if isinstance(self.net, (torch.nn.Linear, MLP)):
            self.net.reset_parameters()
        with torch.no_grad():
            self.K.copy_(self._signed_eye(self.k_init, self.K))

    # -- the assignment ---------------------------------------------------------
    def posterior(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """The Beta parameters ``(α̃, β̃)`` of every node's sticks, ``[N, C-1]`` each."""
        assert self.net is not None
        out = F.softplus(self.net(x)).clamp(1e-3, 1e3)
        a, b = out.split(self.max_clusters - 1, dim=-1)
        return a, b

    def sticks(self, a: Tensor, b: Tensor) -> Tensor:
        """``v``: a reparameterised sample in training, the posterior mean in evaluation."""
        if self.training:
            v = torch.distributions.Beta(a, b).rsample()
        else:
            v = a / (a + b)
        return v.clamp(_V_EPS, 1 - _V_EPS)

    # -- forward ------------------------------------------------------------------
    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> PoolOutput:
        where = type(self).__name__
        x, batch = prepare_pool_input(
            x,
            edge_index,
            batch,
            edge_attr,
            edge_weight,
            where,
            self.in_channels,
            dtype=param_dtype(self),
            device=param_device(self),
            nonnegative_weights=_NONNEGATIVE,
        )
        n = x.size(0)
        sizes = check_sizes(sizes, batch, where)
        if n == 0:
            return self._empty(x, edge_attr)
        C = self.max_clusters
        B = int(batch[-1]) + 1
        counts = torch.bincount(batch, minlength=B)
        largest = int(counts.max())
        if self.recon == "exact" and largest > self.dense_limit:
            raise ValueError(
                f"{where}: graph {int(counts.argmax())} has {largest} nodes, more than dense_limit="
                f"{self.dense_limit}; BN-Pool's exact reconstruction loss is O(n^2) per graph (raise dense_limit, or "
                "estimate the loss with recon='sampled')"
            )
        ptr = torch.cumsum(counts, 0) - counts
        local = torch.arange(n, device=x.device) - ptr[batch]
        T = counts.clamp(max=C)  # clusters each graph may use
        skip = torch.zeros(B, dtype=torch.bool, device=x.device)
        if sizes is not None:
            sizes = sizes[:B]
            skip = (counts <= sizes) & (counts <= C)
            T = torch.minimum(T, sizes)

        kl_node = x.new_zeros(n)
        if C > 1:
            a, b = self.posterior(x)
            S = stick_breaking(self.sticks(a, b), T[batch])
            real = torch.arange(C - 1, device=x.device) < (T - 1)[batch].view(-1, 1)
            kl_node = torch.where(real, beta_kl(a, b, 1.0, self.alpha), torch.zeros_like(a)).sum(-1)
        else:
            S = x.new_ones(n, 1)
        skipped = skip[batch]
        if bool(skip.any()):
            identity = F.one_hot(local.clamp(max=C - 1), C).to(S.dtype)
            S = torch.where(skipped.view(-1, 1), identity, S)
            kl_node = torch.where(skipped, torch.zeros_like(kl_node), kl_node)

        # the clusters each graph keeps, moved to the front of its slots
        hard = S.argmax(dim=-1)
        kept = torch.zeros(B, C, dtype=torch.bool, device=x.device)
        kept[batch, hard] = True
        if self.threshold is not None:
            top = torch.zeros(B, C, dtype=S.dtype, device=x.device)
            top = top.scatter_reduce(0, batch.view(-1, 1).expand(-1, C), S.detach(), reduce="amax")
            kept |= (top >= self.threshold) & (torch.arange(C, device=x.device) < T.view(-1, 1))
        order = torch.argsort((~kept).to(torch.int8), dim=1, stable=True)  # kept slots first, in slot order
        k = kept.sum(1)
        cluster_mask = torch.arange(C, device=x.device) < k.view(-1, 1)
        Sc = S.gather(1, order[batch]) * cluster_mask[batch].to(S.dtype)
        position = torch.argsort(order, dim=1)  # slot -> position among the graph's kept clusters
        offset = torch.cumsum(k, 0) - k
        cluster = offset[batch] + position[batch, hard]

        rec, pooled_x, pooled_adj = self._dense(x, edge_index, edge_weight, batch, counts, ptr, local, S, Sc, skip)
        n2 = counts.to(x.dtype).clamp_min(1) ** 2
        active = (counts > 0) & ~skip
        kl = segment_sum(kl_node, batch, B) / n2
        kprior = x.new_zeros(())
        if self.train_k:
            kprior = 0.5 * ((self.K - self._signed_eye(self.k_mu, self.K)) ** 2).sum() / self.k_var
        losses = {
            "recon": graph_mean(rec, active.long()),
            "kl": graph_mean(kl, active.long()),
            "kprior": graph_mean(kprior / n2, active.long()),
        }

        pooled_attr = None
        if self.pool_edge_attr and edge_attr is not None:
            pooled_attr = _pool_edge_attr(edge_index, edge_attr, Sc, batch, B, counts)
        ei, ew, ea = _pooled_edges(normalize_cut(pooled_adj), pooled_attr, cluster_mask, offset, False, None, None)
        if ea is not None and edge_attr is not None and edge_attr.dim() != 2:
            ea = ea.reshape(ea.size(0), *edge_attr.shape[1:])
        return PoolOutput(
            x=pooled_x[cluster_mask],
            edge_index=ei,
            edge_attr=ea,
            batch=torch.repeat_interleave(torch.arange(B, device=x.device), k),
            perm=None,
            score=None,
            cluster=cluster,
            assignment=Sc,
            aux_losses=losses,
            edge_weight=ew,
            mode="dense",
        )

    def _dense(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_weight: Optional[Tensor],
        batch: Tensor,
        counts: Tensor,
        ptr: Tensor,
        local: Tensor,
        S: Tensor,
        Sc: Tensor,
        skip: Tensor,
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Per graph, in padded runs of consecutive graphs: the reconstruction loss ``[B]`` (of the full
        ``S``), the pooled features ``[B, C, F]`` and ``SᵀAS`` ``[B, C, C]`` (of the kept ``Sc``).

        No ``[n, n]`` tensor is formed.  With ``t = clamp(A, 0, 1)`` and the class weights ``w_1``
        (on edges) and ``w_0`` (off them), ``w·BCE(l, t) = w_0 softplus(l) + t((w_1 - w_0)
        softplus(l) - w_0 l) - t²(w_1 - w_0) l``: the first term is summed over every pair in
        blocks of rows of ``S K Sᵀ`` (recomputed in the backward pass, not stored), the rest over
        the input edges only.  ``SᵀAS`` is ``Sᵀ(A S)`` over the edges.  With ``recon="sampled"``
        the first term is the exact sum over the stored pairs plus :meth:`_sampled_softplus`'s
        estimate over the others (``skip``: the graphs left out of the losses, given no draws)."""
        device = x.device
        w = edge_weight if edge_weight is not None else x.new_ones(edge_index.size(1))
        n_all = x.size(0)
        # Coalesced targets t = clamp(sum of repeated edges, 0, 1), one per (i, j).
        keys, inv = torch.unique(edge_index[0] * max(n_all, 1) + edge_index[1], return_inverse=True)
        t = x.new_zeros(keys.numel()).index_add_(0, inv, w.detach().to(x.dtype)).clamp(0, 1)
        src, dst = torch.div(keys, max(n_all, 1), rounding_mode="floor"), keys % max(n_all, 1)
        B = counts.numel()
        ne = x.new_zeros(B).index_add_(0, batch[src], t).clamp_min(1)  # at least 1 (as the reference)
        n2 = counts.to(x.dtype).clamp_min(1) ** 2
        w1 = n2 / ne
        w0 = n2 / (n2 - ne).clamp_min(1)
        SK = S @ self.K.to(S.dtype)
        exact = self.recon == "exact"
        logit = (SK[src] * S[dst]).sum(-1) if exact else _pair_logits(SK, S, src, dst)
        g = batch[src]
        edge_term = t * ((w1[g] - w0[g]) * F.softplus(logit) - w0[g] * logit) - t * t * (w1[g] - w0[g]) * logit
        rec = segment_sum(edge_term, g, B)
        if not exact:
            stored = torch.bincount(g, minlength=B)
            off_edges = self._sampled_softplus(S, SK, keys, stored, batch, counts, ptr, local, skip)
            sampled_total = segment_sum(F.softplus(logit), g, B) + off_edges
        # A Sc over the edges (the input's, weights as given), for SᵀAS.
        AS = Sc.new_zeros(Sc.shape).index_add_(0, edge_index[0], w.to(Sc.dtype).unsqueeze(-1) * Sc[edge_index[1]])
        dense: List[Tensor] = []
        outs: List[Tensor] = []
        adjs: List[Tensor] = []
        for g0, g1 in _runs(counts.tolist()):
            m = max(1, int(counts[g0:g1].max()))
            b = g1 - g0
            lo, hi = int(ptr[g0]), int(ptr[g1 - 1] + counts[g1 - 1])
            rows = slice(lo, hi)
            gb, pos = batch[rows] - g0, local[rows]
            if exact:
                node = torch.zeros(b, m, dtype=torch.bool, device=device)
                node[gb, pos] = True
                Sd, SKd = (_padded(v[rows], gb, pos, b, m) for v in (S, SK))
                dense.append(_softplus_sum(SKd, Sd, node))
            Scd, Xd, ASd = (_padded(v[rows], gb, pos, b, m) for v in (Sc, x, AS))
            pooled = Scd.transpose(1, 2) @ Xd
            if self.reduce == "mean":
                pooled = cluster_mean(pooled, Scd.sum(1))
            outs.append(pooled)
            adjs.append(Scd.transpose(1, 2) @ ASd)
        rec = (rec + w0 * (torch.cat(dense) if exact else sampled_total)) / n2
        return rec, torch.cat(outs), torch.cat(adjs)

    def _sampled_softplus(
        self,
        S: Tensor,
        SK: Tensor,
        keys: Tensor,
        stored: Tensor,
        batch: Tensor,
        counts: Tensor,
        ptr: Tensor,
        local: Tensor,
        skip: Tensor,
    ) -> Tensor:
        """The unbiased estimate ``[B]`` of ``Σ softplus((S K Sᵀ)_ij)`` over each graph's pairs that are
        not stored edges (``keys``: ``i·N + j`` of the stored pairs, sorted; ``stored``: how many per
        graph), from the pairs :func:`_pair_draws` gives (module docstring, "Sampled
        reconstruction"): a draw that hits a stored pair adds 0, its term being exact already."""
        n_all = S.size(0)
        row, col, weight = _pair_draws(
            counts,
            stored,
            skip,
            self.sample_ratio,
            batch,
            local,
            ptr,
            training=self.training,
            generator=self.generator,
            seed=int(self.eval_seed),
        )
        if keys.numel() > 0 and row.numel() > 0:
            q = row * max(n_all, 1) + col
            at = torch.searchsorted(keys, q).clamp(max=keys.numel() - 1)
            miss = keys[at] != q
            row, col, weight = row[miss], col[miss], weight[miss]
        logit = _pair_logits(SK, S, row, col)
        return segment_sum(weight.to(S.dtype) * F.softplus(logit), batch[row], counts.numel())

    def _empty(self, x: Tensor, edge_attr: Optional[Tensor]) -> PoolOutput:
        """The record of a batch with no nodes: no clusters, no edges, every loss 0."""
        ea = None
        if self.pool_edge_attr and edge_attr is not None:
            ea = edge_attr.new_zeros(0, *edge_attr.shape[1:]).to(x.dtype)
        zero = x.new_zeros(()) + 0.0 * self.K.sum()
        return empty_record(x, ea, self.max_clusters, {name: zero for name in self.LOSSES}, "dense")

    def extra_repr(self) -> str:
        sampled = f", sample_ratio={self.sample_ratio:g}" if self.recon == "sampled" else ""
        return (
            f"{self.in_channels}, max_clusters={self.max_clusters}, alpha={self.alpha:g}, "
            f"threshold={self.threshold}, reduce={self.reduce!r}, recon={self.recon!r}{sampled}"
        )


def _softplus_block(SK: Tensor, S: Tensor, mask: Optional[Tensor]) -> Tensor:
    """``Σ_j softplus((S K Sᵀ)_ij)`` over the masked pairs of a block of rows (every pair when
    ``mask`` is ``None``), per graph ``[b]``."""
    sp = F.softplus(SK @ S.transpose(1, 2))
    return (sp if mask is None else sp * mask).sum((1, 2))


def _softplus_sum(SK: Tensor, S: Tensor, node: Tensor) -> Tensor:
    """``Σ_ij softplus((S K Sᵀ)_ij)`` over each graph's real pairs ``[b]``, in blocks of rows of at most
    :data:`_PAIRS` pairs, each recomputed in the backward pass (``torch.utils.checkpoint``) so that
    no ``[n, n]`` tensor is kept."""
    b, m, _ = S.shape
    step = max(1, _PAIRS // max(1, b * m))
    total = S.new_zeros(b)
    padded = not bool(node.all())
    for r0 in range(0, m, step):
        mask = (node[:, r0 : r0 + step].unsqueeze(2) & node.unsqueeze(1)).to(S.dtype) if padded else None
        block = SK[:, r0 : r0 + step]
        if torch.is_grad_enabled() and (block.requires_grad or S.requires_grad):
            total = total + checkpoint(_softplus_block, block, S, mask, use_reentrant=False)
        else:
            total = total + _softplus_block(block, S, mask)
    return total


def _padded(v: Tensor, graph: Tensor, pos: Tensor, b: int, m: int) -> Tensor:
    """Rows ``v`` laid out ``[b, m, ·]`` at ``(graph, pos)``, zeros elsewhere."""
    out = v.new_zeros(b, m, v.size(1))
    out[graph, pos] = v
    return out


def _runs(counts: List[int]) -> List[Tuple[int, int]]:
    """Consecutive graphs ``[g0, g1)`` whose padded pairs (graphs × largest²) stay within ``_PAIRS``
    (a graph alone may exceed it)."""
    runs, g0, m = [], 0, 0
    for g, c in enumerate(counts):
        m2 = max(m, c)
        if g > g0 and (g + 1 - g0) * m2 * m2 > _PAIRS:
            runs.append((g0, g))
            g0, m2 = g, c
        m = m2
    if counts:
        runs.append((g0, len(counts)))
    return runs


#: Elements of the ``[pairs, C]`` blocks :class:`_PairLogits` forms at a time.
_PAIR_BLOCK = 2**20


class _PairLogits(torch.autograd.Function):
    """``(A[row] * B[col]).sum(-1)``, in blocks of pairs, saving only ``A``, ``B`` and the indices for
    the backward pass (which scatters ``g·B[col]`` and ``g·A[row]`` back, block by block): ``O(pairs)``
    memory kept instead of two ``[pairs, C]`` gathers.  Differentiable once."""

    @staticmethod
    def forward(ctx, A: Tensor, B: Tensor, row: Tensor, col: Tensor) -> Tensor:
        out = A.new_empty(row.numel())
        step = max(1, _PAIR_BLOCK // max(1, A.size(1)))
        for p0 in range(0, row.numel(), step):
            torch.sum(A[row[p0 : p0 + step]] * B[col[p0 : p0 + step]], -1, out=out[p0 : p0 + step])
        ctx.save_for_backward(A, B, row, col)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor], None, None]:
        A, B, row, col = ctx.saved_tensors
        gA = torch.zeros_like(A) if ctx.needs_input_grad[0] else None
        gB = torch.zeros_like(B) if ctx.needs_input_grad[1] else None
        step = max(1, _PAIR_BLOCK // max(1, A.size(1)))
        for p0 in range(0, row.numel(), step):
            r, c, g = row[p0 : p0 + step], col[p0 : p0 + step], grad[p0 : p0 + step, None]
            if gA is not None:
                gA.index_add_(0, r, g * B[c])
            if gB is not None:
                gB.index_add_(0, c, g * A[r])
        return gA, gB, None, None


def _pair_logits(A: Tensor, B: Tensor, row: Tensor, col: Tensor) -> Tensor:
    """``(A[row] * B[col]).sum(-1)`` (:class:`_PairLogits`)."""
    out: Tensor = _PairLogits.apply(A, B, row, col)
    return out


def _pair_draws(
    counts: Tensor,
    stored: Tensor,
    skip: Tensor,
    ratio: float,
    batch: Tensor,
    local: Tensor,
    ptr: Tensor,
    *,
    training: bool,
    generator: Optional[torch.Generator] = None,
    seed: int = 0,
) -> Tuple[Tensor, Tensor, Tensor]:
    """The node pairs of the sampled reconstruction loss: ``(row, col, weight)``, global node indices
    and each pair's weight, so that ``Σ weight·f(row, col)`` per graph estimates ``Σ_ij f(i, j)`` over
    the graph's ``n²`` pairs without bias (module docstring, "Sampled reconstruction").

    Graph ``g`` (``n`` nodes, ``stored[g]`` stored pairs) gives each node ``r = ⌈ratio ·
    max(stored, n) / n⌉`` partners drawn uniformly from the graph's nodes, with replacement (itself
    included), each of weight ``n / r``; when ``r >= n`` every node is paired with every node of its
    graph once, weight 1 (the sum is exact).  A graph in ``skip`` (or with no nodes) gets no pair.
    Training draws come from ``generator`` (torch's global RNG when ``None``); evaluation draws are
    a hash of ``(seed, n, the node's index in its graph, the draw's number)``: deterministic, and the
    same for a graph alone or in any batch."""
    device = counts.device
    n_g = counts.clamp_min(1)
    per = torch.ceil(ratio * torch.maximum(stored, counts).double() / n_g.double() - 1e-9).long().clamp_min(1)
    full = per >= counts
    per = torch.where(full, counts, per)
    per = torch.where(skip | (counts == 0), torch.zeros_like(per), per)
    per_node = per[batch]
    total = int(per_node.sum())
    crow = torch.zeros(batch.numel() + 1, dtype=torch.long, device=device)
    crow[1:] = torch.cumsum(per_node, 0)
    row = csr_rows(crow, total)
    draw = torch.arange(total, device=device) - crow[row]
    graph = batch[row]
    n = counts[graph]
    sampled = ~full[graph]
    partner = draw.clone()
    weight = torch.ones(total, dtype=torch.float64, device=device)
    if bool(sampled.any()):
        ns = n[sampled]
        if training:
            partner[sampled] = torch.randint(0, 2**62, (ns.numel(),), generator=generator, device=device) % ns
        else:
            partner[sampled] = _hashed_below(seed, ns, local[row][sampled], draw[sampled])
        weight[sampled] = ns.double() / per[graph][sampled].double()
    return row, ptr[graph] + partner, weight


#: The evaluation draws' hash works on 32-bit values held in int64: the multiplier is below 2**27,
#: so no product passes 2**59.
_MASK32 = 0xFFFFFFFF
_HASH_MUL = 0x45D9F3B


def _mix32(h: Tensor) -> Tensor:
    """A 32-bit integer mixer (two rounds of xor-shift and multiply) on int64 values in ``[0, 2**32)``."""
    h = (((h >> 16) ^ h) * _HASH_MUL) & _MASK32
    h = (((h >> 16) ^ h) * _HASH_MUL) & _MASK32
    return (h >> 16) ^ h


def _hashed_below(seed: int, n: Tensor, node: Tensor, draw: Tensor) -> Tensor:
    """A pseudo-random integer in ``[0, n)`` that depends only on ``(seed, n, node, draw)``: 62 hashed
    bits modulo ``n`` (so the non-uniformity is below ``n / 2**62``)."""
    h = _mix32(_mix32(n & _MASK32) ^ (seed & _MASK32))
    h = _mix32(h ^ (node & _MASK32))
    hi = _mix32(h ^ (draw & _MASK32))
    lo = _mix32(_mix32(h ^ 0x9E3779B9) ^ (draw & _MASK32))
    return ((hi << 30) | (lo & (2**30 - 1))) % n
