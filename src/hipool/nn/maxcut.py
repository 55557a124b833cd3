r"""MaxCut pooling: :class:`MaxCutPool` (Abate & Bianchi, "MaxCutPool: differentiable
feature-aware Maxcut for pooling in graph neural networks", ICLR 2025, arXiv:2409.05100).

A score network gives every node a score :math:`s_i \in [-1, 1]`, trained by the auxiliary
loss :math:`\mathcal L_\text{cut}` to take opposite signs at the two ends of as many edges as it
can: a relaxed MAXCUT.  The best-scored nodes of each graph are kept (the *supernodes*), every
other node joins its nearest supernode, and the pooled graph is the quotient ``Sᵀ A S`` of that
hard assignment.

**Score network** (:class:`MaxCutScoreNet`, the authors' ``ScoreNet``):

.. math::
    H^{(0)} = X W_e + b_e, \qquad
    H^{(l+1)} = \tanh\!\big(P H^{(l)} W_l + b_l\big), \qquad
    P = I - \delta L_\text{sym} = (1 - \delta) I + \delta D^{-1/2} A D^{-1/2},

then an MLP (ReLU) and :math:`s = \tanh(H w + b)`.  The *heterophilic message passing* operator
:math:`P` with :math:`\delta = 2` has the spectrum :math:`1 - 2\lambda(L_\text{sym}) \subset [-3, 1]`:
it amplifies the high frequencies, which is what a cut needs.  :math:`D` is the weighted degree
(self-loops dropped, as PyG's ``get_laplacian`` does; an isolated node has :math:`P_{ii} = 1 - \delta`),
and messages flow along the edges, ``source → target`` (for a directed graph the product is
:math:`P^\top H`, as the authors' ``GCNConv``).  Defaults are the authors' (12 HetMP layers of
32, 32, 32, 32, 16, ..., 8 units, an MLP of 16, 16, :math:`\delta = 2`, a linear embedding first).

**Loss** (named ``maxcut``), per graph :math:`g`, then averaged over the graphs that have edges:

.. math::
    \mathcal L_\text{cut} = \frac{s^\top A s}{\sum_{ij} A_{ij}}
                 = \frac{\sum_{(i \to j)} w_{ij}\, s_i s_j}{\sum_{(i \to j)} w_{ij}} \in [-1, 1],

the authors' ``max_cut_loss`` (every listed edge counted, self-loops included).  It is ``-1`` when
every edge joins a node of score ``+1`` to one of ``-1``.  A graph without edges has no cut: it is
left out of the mean (the authors divide by its zero volume), and the loss is 0 when no graph of
the batch has an edge.

**Selection.**  The top ``ratio`` of each graph by score (:func:`~hipool.nn.select.topk`, exactly
as :class:`~hipool.nn.TopKPooling`: a float ratio keeps ``ceil(ratio * n)``, an int ``k`` keeps
``min(k, n)``, ties to the lower index; ``sizes=`` caps it per graph).

**Assignment.**  The graph is read as undirected.  Breadth first from the supernodes, one hop a
round, for ``max_iter`` rounds: a node first reached in round ``t`` (so ``t`` hops from its nearest
supernodes) joins one of those nearest supernodes:

* ``tie_break="score"`` (default): the best scored of them;
* ``tie_break="walks"``: the one with the most walks of length ``t`` to it (the most shortest
  paths), then the best scored: the authors' code, which propagates the one-hot supernode matrix
  ``t`` times (``A^t S_0``) and takes the row's argmax.  It holds an ``[N, k_max]`` float64 matrix
  (``k_max`` the most supernodes of a graph), where ``"score"`` holds ``O(N)``.

Nodes still unreached after ``max_iter`` rounds (farther away, or in a component with no
supernode) join the best-scored supernode of their graph: the authors assign them at random, which
would make the pooler random.  ``max_iter=None`` runs until no new node is reached.

**Features** (``reduce``): ``"sum"`` (default, the authors' *expressive* variant and their
configuration): :math:`x'_c = s_c \sum_{i \in c} x_i`, ``"mean"``, ``"max"``, or ``"center"``:
:math:`x'_c = s_c\, x_c` (the supernode's own features, TopK's rule).  The gate :math:`s_c` (the
supernode's score) is how the score network gets gradients from the task.

**Edges.**  The cluster pairs of the input edges, merged (``Sᵀ A S`` of the hard assignment):
``edge_weight`` summed (1 per edge when none is given, so the pooled graph is always weighted),
``edge_attr`` of any width summed (or averaged, ``edge_reduce="mean"``), self-loops dropped unless
``keep_self_loops``.  ``edge_weight_norm=True`` divides each pooled graph's weights by its largest
(the authors divide by the batch's largest, which makes a graph depend on its batch).

Differences from the authors' code, on purpose: the embedding layer belongs to the score network
(the pooled features are the input's, not the embedding's); unreached nodes are assigned
deterministically; the loss leaves out graphs without edges instead of dividing by 0; the
weight normalisation is per graph and off by default.

Cost: the score network is ``O(L (E + N) F)`` for ``L`` layers of width ``F``; the assignment
``O(max_iter · E)`` (``"walks"``: ``O(max_iter · E · k_max)``); the pooled edges a coalesce of
``E`` pairs.  No ``[N, N]`` tensor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.nn.resolver import activation_resolver
from torch_geometric.utils import scatter

from ..checks import (
    check_bool,
    check_int,
    check_number,
    check_ratio,
    check_sizes,
    is_int,
    param_device,
    param_dtype,
    prepare_pool_input,
)
from ..ops import csr_crow, csr_tensor, gather_as
from ..record import PoolOutput
from .kmis import _pool_edges, undirected
from .select import topk

#: Default HetMP layer widths (the authors' configuration).
MP_UNITS: Tuple[int, ...] = (32, 32, 32, 32, 16, 16, 16, 16, 8, 8, 8, 8)
#: Default MLP widths after the HetMP layers.
MLP_UNITS: Tuple[int, ...] = (16, 16)
#: How a node is assigned among its nearest supernodes.
TIE_BREAKS = ("score", "walks")
#: How a cluster's features are pooled.
REDUCES = ("sum", "mean", "max", "center")
#: How the ``edge_attr`` of merged edges is pooled.
EDGE_REDUCES = ("sum", "mean")
#: ``tie_break="walks"``: the walk counts are scaled by ``2**-WALKS_SHIFT`` (exactly) when they pass this.
WALKS_LIMIT = 2.0**512
WALKS_SHIFT = 512
#: Why the edge weights must be ``>= 0`` (the checks' message).
NONNEGATIVE = "MaxCutPool's propagation matrix normalises by the weighted degrees (D^-1/2)"

_Act = Union[str, Callable[[Tensor], Tensor]]


# ---------------------------------------------------------------------------
# the score network
# ---------------------------------------------------------------------------
class HetMPOperator:
    r"""The product with :math:`(D^{-1/2} A D^{-1/2})^\top` along the edges (self-loops dropped): a
    message ``w_e h_src`` per edge, summed at ``dst``.  :math:`D` is the weighted out-degree (PyG's
    ``get_laplacian``, ``normalization="sym"``; a node of degree 0 gets :math:`D^{-1/2} = 0`).
    :math:`P^\top = (1 - \delta) I + \delta` times this.  One CSR matrix for all the layers when the
    weights need no gradient; :func:`~hipool.ops.gather_as` (gradients for the weights too) when they
    do."""

    def __init__(self, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype):
        keep = edge_index[0] != edge_index[1]
        src, dst = edge_index[0, keep], edge_index[1, keep]
        w = (
            torch.ones(src.numel(), dtype=dtype, device=edge_index.device)
            if edge_weight is None
            else edge_weight[keep].to(dtype)
        )
        deg = torch.zeros(num_nodes, dtype=dtype, device=edge_index.device).index_add_(0, src, w)
        dinv = deg.pow(-0.5)
        dinv = torch.where(torch.isinf(dinv), torch.zeros_like(dinv), dinv)
        self.src, self.dst, self.weight = src, dst, dinv[src] * w * dinv[dst]
        self.csr: Optional[Tensor] = None
        if not self.weight.requires_grad:
            order = torch.argsort(dst, stable=True)
            crow = csr_crow(dst[order], num_nodes)
            self.csr = csr_tensor(crow, src[order], self.weight[order], (num_nodes, num_nodes))

    def __call__(self, h: Tensor) -> Tensor:
        if self.csr is not None:
            return torch.sparse.mm(self.csr, h)
        return gather_as(torch.stack([self.dst, self.src]), self.weight, h)


def hetmp_operator(
    edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
) -> HetMPOperator:
    """:class:`HetMPOperator` of a graph (the HetMP layers' propagation)."""
    return HetMPOperator(edge_index, edge_weight, num_nodes, dtype)


class HetMPLayer(torch.nn.Module):
    r"""One heterophilic message-passing layer, :math:`P H W + b` with
    :math:`P = (1 - \delta) I + \delta D^{-1/2} A D^{-1/2}` (the authors' ``GCNConv(normalize=False)``
    on :math:`I - \delta L_\text{sym}`)."""

    def __init__(self, in_channels: int, out_channels: int, delta: float):
        super().__init__()
        self.lin = torch.nn.Linear(in_channels, out_channels, bias=False)
        self.bias = torch.nn.Parameter(torch.zeros(out_channels))
        self.delta = delta

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        torch.nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, op: HetMPOperator) -> Tensor:
        h = self.lin(x)
        return (1.0 - self.delta) * h + self.delta * op(h) + self.bias


def _activation(act: _Act, name: str) -> Callable[[Tensor], Tensor]:
    if callable(act) and not isinstance(act, str):
        return act
    if not isinstance(act, str):
        raise ValueError(f"MaxCutPool: '{name}' must be an activation's name (e.g. 'tanh') or a callable, got {act!r}")
    if act.lower() in ("identity", "none", "linear"):
        return torch.nn.Identity()
    try:
        return activation_resolver(act)
    except (ValueError, KeyError, TypeError):
        raise ValueError(
            f"MaxCutPool: '{name}' must be an activation's name (e.g. 'tanh', 'relu') or a callable, got {act!r}"
        ) from None


def _units(value, name: str, allow_empty: bool) -> Tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"MaxCutPool: '{name}' must be a list of layer widths (ints >= 1), got {value!r}")
    units = tuple(value)
    if not units and not allow_empty:
        raise ValueError(f"MaxCutPool: '{name}' must hold at least one layer width, got {value!r}")
    for u in units:
        if not is_int(u) or u < 1:
            raise ValueError(f"MaxCutPool: '{name}' must be a list of layer widths (ints >= 1), got {value!r}")
    return units


class MaxCutScoreNet(torch.nn.Module):
    r"""The score :math:`s \in [-1, 1]^N` of every node: an optional linear embedding, HetMP
    layers with ``mp_act``, an MLP with ``mlp_act``, a linear map to one value and ``tanh`` (see
    the module docstring)."""

    def __init__(
        self,
        in_channels: int,
        mp_units: Sequence[int] = MP_UNITS,
        mp_act: _Act = "tanh",
        mlp_units: Sequence[int] = MLP_UNITS,
        mlp_act: _Act = "relu",
        delta: float = 2.0,
        embedding: bool = True,
    ):
        super().__init__()
        self.embedding = torch.nn.Linear(in_channels, in_channels) if embedding else None
        self.mp_act = _activation(mp_act, "mp_act")
        self.mlp_act = _activation(mlp_act, "mlp_act")
        self.delta = delta
        widths = [in_channels, *mp_units]
        self.mp = torch.nn.ModuleList(HetMPLayer(a, b, delta) for a, b in zip(widths[:-1], widths[1:]))
        widths = [widths[-1], *mlp_units]
        self.mlp = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.out = torch.nn.Linear(widths[-1], 1)

    def reset_parameters(self) -> None:
        for m in [self.embedding, *self.mp, *self.mlp, self.out]:
            if m is not None:
                m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None) -> Tensor:
        op = hetmp_operator(edge_index, edge_weight, x.size(0), x.dtype)
        h = self.embedding(x) if self.embedding is not None else x
        for layer in self.mp:
            h = self.mp_act(layer(h, op))
        for lin in self.mlp:
            h = self.mlp_act(lin(h))
        return torch.tanh(self.out(h)).view(-1)


# ---------------------------------------------------------------------------
# the loss
# ---------------------------------------------------------------------------
def maxcut_loss(
    score: Tensor,
    edge_index: Tensor,
    edge_weight: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
    num_graphs: Optional[int] = None,
) -> Tensor:
    r""":math:`\mathcal L_\text{cut} = s^\top A s / \sum_{ij} A_{ij}` per graph, averaged over the
    graphs with a non-zero total weight (0 when there is none): see the module docstring.
    ``score`` ``[N]``; ``A[i, j]`` is the weight of edge ``i → j`` (1 by default)."""
    n = score.size(0)
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=score.device)
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if n else 0
    src, dst = edge_index[0], edge_index[1]
    w = torch.ones(src.numel(), dtype=score.dtype, device=score.device) if edge_weight is None else edge_weight
    w = w.to(score.dtype)
    eg = batch[src]
    cut = score.new_zeros(num_graphs).index_add(0, eg, w * score[src] * score[dst])
    vol = score.new_zeros(num_graphs).index_add(0, eg, w)
    valid = vol != 0
    per_graph = torch.where(valid, cut / torch.where(valid, vol, torch.ones_like(vol)), torch.zeros_like(cut))
    return per_graph.sum() / valid.sum().clamp_min(1)


# ---------------------------------------------------------------------------
# the assignment
# ---------------------------------------------------------------------------
def nearest_supernode(
    edge_index: Tensor,
    perm: Tensor,
    batch: Tensor,
    max_iter: Optional[int] = 5,
    tie_break: str = "score",
) -> Tuple[Tensor, Tensor]:
    """For every node, the position in ``perm`` of the supernode it joins, and the round it was
    reached in (0 for the supernodes, ``-1`` for the unreached ones, which join their graph's
    first supernode).

    ``edge_index`` holds every edge in both directions (:func:`~hipool.nn.kmis.undirected`);
    ``perm`` the supernodes, graph by graph, best first (so a lower position is a better score).
    """
    n = batch.numel()
    device = batch.device
    k = perm.numel()
    src, dst = edge_index[0], edge_index[1]
    owner = torch.full((n,), k, dtype=torch.long, device=device)
    owner[perm] = torch.arange(k, device=device)
    reached_at = torch.full((n,), -1, dtype=torch.long, device=device)
    reached_at[perm] = 0
    if tie_break == "walks" and k:
        # Local slot of every supernode in its graph (perm is grouped by graph, best first).
        kb = batch[perm]
        counts = torch.bincount(kb, minlength=int(batch.max()) + 1 if n else 0)
        first = torch.cumsum(counts, 0) - counts
        slot = torch.arange(k, device=device) - first[kb]
        k_max = int(counts.max())
        walks = torch.zeros(n, k_max, dtype=torch.float64, device=device)
        walks[perm, slot] = 1.0
    step = 0
    while max_iter is None or step < max_iter:
        reached = owner < k
        if bool(reached.all()):
            break
        step += 1
        if tie_break == "walks" and k:
            walks = torch.zeros_like(walks).index_add_(0, dst, walks[src])
            if bool(walks.max() > WALKS_LIMIT):
                # A power of two: exact, so the counts (integers below 2^53) and their ties are kept.
                walks = torch.ldexp(walks, torch.tensor(-WALKS_SHIFT, device=device))
            hit = (walks > 0).any(dim=1) & ~reached
            best_slot = walks.argmax(dim=1)  # the first maximum: the best-scored supernode
            cand = torch.where(hit, first[batch] + best_slot, torch.full_like(owner, k))
        else:
            cand = torch.full_like(owner, k).scatter_reduce(
                0, dst, torch.where(reached[src], owner[src], k), reduce="amin", include_self=True
            )
            cand = torch.where(reached, torch.full_like(owner, k), cand)
        new = cand < k
        if not bool(new.any()):
            break
        owner = torch.where(new, cand, owner)
        reached_at = torch.where(new, torch.full_like(reached_at, step), reached_at)
    unreached = owner >= k
    if bool(unreached.any()):
        counts = torch.bincount(batch[perm], minlength=int(batch.max()) + 1)
        first = torch.cumsum(counts, 0) - counts
        owner = torch.where(unreached, first[batch], owner)
    return owner, reached_at


# ---------------------------------------------------------------------------
# the pooler
# ---------------------------------------------------------------------------
@dataclass(repr=False)
class MaxCutPoolOutput(PoolOutput):
    """:class:`~hipool.record.PoolOutput` of :class:`MaxCutPool`, with ``centers`` (the supernode
    of every output node ``[N']``), ``node_score`` (every input node's score ``[N]``: its sign is
    the side of the cut) and ``hops`` (the round each node was reached in: 0 for the supernodes,
    ``-1`` for the unreached ones)."""

    centers: Optional[Tensor] = None
    node_score: Optional[Tensor] = None
    hops: Optional[Tensor] = None


class MaxCutPool(torch.nn.Module):
    r"""MaxCutPool (Abate & Bianchi, ICLR 2025; see the module docstring for the equations).

    Args:
        in_channels: width of ``x``.
        ratio: float in (0, 1] (fraction of nodes kept per graph, rounded up) or int ``k >= 1``
            (nodes kept per graph), as :class:`~hipool.nn.TopKPooling`.  Default ``0.5``.
        mp_units: widths of the HetMP layers (at least one).  Default the authors' 12 layers.
        mp_act: activation after each HetMP layer (a name or a callable).  Default ``"tanh"``.
        mlp_units: widths of the MLP after them (may be empty).  Default ``(16, 16)``.
        mlp_act: its activation.  Default ``"relu"``.
        delta: :math:`\delta` of :math:`P = I - \delta L_\text{sym}`, a finite number.  Default 2.
        embedding: a linear layer on ``x`` before the HetMP layers (the authors'
            ``initial_embedding``).  Default ``True``.
        max_iter: rounds of the assignment (int ``>= 1``), or ``None`` for as many as needed.
            Default 5 (the authors').
        tie_break: ``"score"`` (default) or ``"walks"`` (the authors' rule), among a node's nearest
            supernodes.
        reduce: ``"sum"`` (default), ``"mean"``, ``"max"`` or ``"center"``: the pooled features,
            gated by the supernode's score.
        edge_reduce: ``"sum"`` (default) or ``"mean"``: the ``edge_attr`` of merged edges.
        keep_self_loops: keep the self-loops merging makes.  Default ``False``.
        edge_weight_norm: divide each pooled graph's edge weights by its largest.  Default ``False``.

    ``edge_weight`` must be ``>= 0`` (the propagation matrix reads it as degrees).  Losses:
    ``aux_losses["maxcut"]``.  Deterministic (permutation-equivariant) except among nodes of
    exactly equal scores, which are ranked by index.  Bad arguments raise ``ValueError`` naming
    them.
    """

    LOSSES: Tuple[str, ...] = ("maxcut",)

    def __init__(
        self,
        in_channels: int,
        ratio: Union[float, int] = 0.5,
        *,
        mp_units: Sequence[int] = MP_UNITS,
        mp_act: _Act = "tanh",
        mlp_units: Sequence[int] = MLP_UNITS,
        mlp_act: _Act = "relu",
        delta: float = 2.0,
        embedding: bool = True,
        max_iter: Optional[int] = 5,
        tie_break: str = "score",
        reduce: str = "sum",
        edge_reduce: str = "sum",
        keep_self_loops: bool = False,
        edge_weight_norm: bool = False,
    ):
        super().__init__()
        where = "MaxCutPool"
        self.in_channels = check_int(in_channels, where, "in_channels")
        if ratio is None:
            raise ValueError(f"{where}: 'ratio' must be a float in (0, 1] or an int k >= 1, got None")
        check_ratio(ratio, where)
        self.ratio = ratio
        self.mp_units = _units(mp_units, "mp_units", allow_empty=False)
        self.mlp_units = _units(mlp_units, "mlp_units", allow_empty=True)
        self.delta = check_number(delta, where, "delta")
        check_bool(embedding, where, "embedding")
        self.max_iter = check_int(max_iter, where, "max_iter", allow_none=True)
        for name, value, allowed in (
            ("tie_break", tie_break, TIE_BREAKS),
            ("reduce", reduce, REDUCES),
            ("edge_reduce", edge_reduce, EDGE_REDUCES),
        ):
            if not isinstance(value, str) or value not in allowed:
                raise ValueError(f"{where}: '{name}' must be one of {', '.join(allowed)}, got {value!r}")
        self.tie_break = tie_break
        self.reduce = reduce
        self.edge_reduce = edge_reduce
        self.keep_self_loops = check_bool(keep_self_loops, where, "keep_self_loops")
        self.edge_weight_norm = check_bool(edge_weight_norm, where, "edge_weight_norm")
        self.score_net = MaxCutScoreNet(
            in_channels, self.mp_units, mp_act, self.mlp_units, mlp_act, self.delta, embedding
        )

    def reset_parameters(self) -> None:
        self.score_net.reset_parameters()

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> MaxCutPoolOutput:
        """Pool a batch.  ``sizes`` ``[B]`` (``schedule: auto``, :mod:`hipool.nn.auto`): the most
        supernodes each graph may keep, on top of ``ratio``."""
        where = "MaxCutPool"
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
            nonnegative_weights=NONNEGATIVE,
        )
        sizes = check_sizes(sizes, batch, where)
        n = x.size(0)
        num_graphs = int(batch[-1]) + 1 if n else 0
        score = self.score_net(x, edge_index, edge_weight)
        loss = maxcut_loss(score, edge_index, edge_weight, batch, num_graphs)
        perm = topk(score, self.ratio, batch, max_kept=sizes)
        k = perm.numel()

        und = undirected(edge_index, None, n)[0]
        owner, hops = nearest_supernode(und, perm, batch, self.max_iter, self.tie_break)
        gate = score[perm].view(-1, 1)
        if self.reduce == "center":
            new_x = x[perm] * gate
        else:
            new_x = scatter(x, owner, dim=0, dim_size=k, reduce=self.reduce) * gate
        new_ei, new_ea, new_ew = _pool_edges(
            edge_index, owner, k, edge_attr, edge_weight, self.keep_self_loops, self.edge_reduce, x.dtype
        )
        new_batch = batch[perm]
        if self.edge_weight_norm and new_ew.numel():
            top = scatter(new_ew.detach().abs(), new_batch[new_ei[0]], dim=0, dim_size=num_graphs, reduce="max")
            top = top[new_batch[new_ei[0]]]
            new_ew = new_ew / torch.where(top > 0, top, torch.ones_like(top))
        return MaxCutPoolOutput(
            x=new_x,
            edge_index=new_ei,
            edge_attr=new_ea,
            batch=new_batch,
            perm=perm if self.reduce == "center" else None,
            score=score[perm],
            cluster=owner,
            aux_losses={"maxcut": loss},
            edge_weight=new_ew,
            centers=perm,
            node_score=score,
            hops=hops,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, ratio={self.ratio}, mp_units={list(self.mp_units)}, "
            f"delta={self.delta}, reduce={self.reduce!r})"
        )
