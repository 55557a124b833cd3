r"""Node decimation pooling: :class:`NDPPooling` and :func:`ndp_levels` (Bianchi, Grattarola, Livi &
Alippi, "Hierarchical Representation Learning in Graph Neural Networks with Node Decimation
Pooling", IEEE TNNLS 2020).  Not learned, so it can be precomputed (:func:`ndp_levels`).

One level, for every graph of the batch:

1. **Graph.**  The graph is read as undirected: self-loops dropped, repeated edges summed,
   ``W = max(A, Aᵀ)`` (weights ``edge_weight``, default 1, must be ``>= 0``; zero-weight edges
   are no edges).
2. **Split.**  ``u``, the eigenvector of the largest eigenvalue of the symmetric normalised
   Laplacian ``L_s = I - D^{-1/2} W D^{-1/2}``, approximates the MAXCUT of the graph; the nodes
   with ``u_i >= 0`` are kept, the others dropped (decimated).  This is done for each connected
   component on its own (``L_s`` is block diagonal over them; on a connected graph it is the
   paper's split, on a disconnected one every component is halved instead of only the one the
   eigenvector happens to live on).  A component of one node keeps it; every larger component
   keeps some and drops some (``u`` is orthogonal to ``D^{1/2} 1 > 0``, so it has both signs).
   The choices the paper leaves to the eigensolver are fixed:

   * *sign*: ``u`` is flipped so that its entry of largest magnitude is positive;
   * *degenerate largest eigenvalue* (complete graphs, odd cycles, ...): ``u`` is the projection
     onto that eigenspace of a fixed pseudo-random vector indexed by the tie order below (the
     projection does not depend on the solver's basis);
   * *ties* (two entries of largest magnitude with opposite signs, as on every regular bipartite
     graph): the first in the tie order;
   * *zeros*: entries within ``1e-8 · max|u|`` of zero count as zero, so they are kept.

   The *tie order* of a component's nodes is by a hash of their features (``tiebreak=
   "features"``: a fixed random projection of ``x``), then by index (``"index"``, or equal
   features).  Every computation of a component runs on its nodes in that order, so the result is
   the same for any numbering of the nodes whenever symmetric nodes have different features.

3. **Connect.**  The kept nodes are joined by the Kron reduction of the combinatorial Laplacian
   ``L = D - W``, its Schur complement ``L' = L_kk - L_kd L_dd^{-1} L_dk`` (again a Laplacian:
   two kept nodes are joined when a path joins them through dropped nodes only), and the pooled
   edge weights are ``-L'_ij`` (``i != j``; no self-loops).  ``L_dd`` is invertible because every
   component keeps a node.
4. **Sparsify.**  Pooled edges lighter than ``epsilon`` (default ``1e-2``, the paper's) are
   dropped; with ``relative=True`` (default) ``epsilon`` is relative to the graph's largest input
   edge weight (on unit weights exactly the paper's rule, and the same graph scaled pools the same).
   Weights below ``1e-9`` of that are numerical zeros and always dropped.

**Record.**  ``x`` is the kept nodes' features (decimation: no reduce), ``perm`` the kept nodes in
input order (so ``batch`` stays sorted), ``edge_weight`` the Kron weights.  ``cluster`` is
:data:`~hipool.record.DROPPED` for the dropped nodes (``dropped="drop"``, the paper's
decimation; :class:`~hipool.Hierarchy` and ``hipool explain`` treat them as for a selection
pooler), or with ``dropped="attach"`` the kept node a random walk from the dropped node is most
likely to reach first (the largest entry of its row of ``-L_dd^{-1} L_dk``, which the Kron
reduction computes anyway; ties by the tie order), so every node reaches an output node.

**edge_attr.**  NDP has no rule for edge features; a pooled edge ``i -> j`` carries the sum of
the ``edge_attr`` of the input edges ``i -> j`` (an edge between two kept nodes, which Kron
reduction keeps with at least its weight), and zeros when it is new (made through dropped
nodes).  The width is kept, so an edge-aware conv can follow.

**Cost and limits.**  The batch's components are grouped by size (padded to the next power of
two) and each group is one batched dense eigendecomposition and one batched solve, float64:
``O(n³)`` for a component of ``n`` nodes, for components up to ``dense_limit`` nodes (default
2000; a 2000-node eigendecomposition takes seconds on a CPU); a group is split into batches of at
most ``2**22`` padded entries per matrix, so memory stays ``O(max(n², 2**22))`` floats.  Larger components take
``torch.lobpcg`` for the eigenvector (one vector, up to 500 iterations from a fixed start: the
split is then approximate when the top eigenvalues are close, and a degenerate top eigenvalue is
not detected) and scipy's sparse LU for the Kron reduction (scipy must be installed; the fill-in
grows with the dropped nodes' connections; on a GPU that reduction runs on the host and its result
is copied back: raise ``dense_limit`` to keep a component on the device, at ``O(n³)``).
Connected components are found by label propagation with pointer jumping (torch).  The split
and the bucketing read sizes on the host (a few synchronisations per call).
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import coalesce

from ..checks import check_bool, check_int, check_number, check_sizes, is_int, prepare_pool_input
from ..record import DROPPED, PoolOutput
from .kmis import feature_key, undirected

#: What happens to the dropped nodes' ``cluster``: ``"drop"`` (``DROPPED``) or ``"attach"``.
DROPPED_MODES = ("drop", "attach")
#: How ties between symmetric nodes are broken: ``"features"`` (then index) or ``"index"``.
TIEBREAKS = ("features", "index")
#: Largest component decomposed densely by default.
DENSE_LIMIT = 2000

_EIG_TOL = 1e-8  # eigenvalues this close to the largest span its eigenspace (they lie in [0, 2])
_SIGN_TOL = 1e-8  # relative: |u_i| this close to max|u| ties for the sign; u_i this close to 0 is 0
_PROB_TOL = 1e-9  # absorption probabilities this close tie (attach)
_ZERO_TOL = 1e-9  # relative to the graph's largest input weight: a numerical zero
_LOBPCG_ITERS = 500
_CHUNK_ENTRIES = 2**22  # padded matrix entries per batched decomposition (32 MiB of float64 each)


def _hash_unit(i: Tensor) -> Tensor:
    """A fixed pseudo-random value in (-1, 1) for every int64 in ``i`` (xor-shift-multiply hash)."""
    h = i & 0xFFFFFFFF
    for _ in range(3):
        h = ((h ^ (h >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    return (h.to(torch.float64) + 0.5) / 2**31 - 1


def connected_components(edge_index: Tensor, num_nodes: int) -> Tensor:
    """For every node the smallest node id of its connected component (``edge_index`` holding every
    edge in both directions): min-label propagation with pointer jumping, in torch."""
    label = torch.arange(num_nodes, device=edge_index.device)
    if edge_index.size(1) == 0:
        return label
    src, dst = edge_index
    while True:
        new = label.scatter_reduce(0, dst, label[src], reduce="amin", include_self=True)
        new = new[new]  # jump: a node takes its label's label
        if torch.equal(new, label):
            return label
        label = new


def _orient(u: Tensor, real: Tensor) -> Tuple[Tensor, Tensor]:
    """``u`` ``[B, P]`` (rows in tie order; padding outside ``real``) flipped so that its entry of
    largest magnitude, the first in tie order among equal ones, is positive; returns ``(u, kept)``
    with ``kept = u >= 0`` (to the tolerance) on the real entries."""
    mag = u.abs() * real
    amax = mag.amax(dim=1, keepdim=True)
    cand = (mag >= amax * (1 - _SIGN_TOL)) & real
    first = cand.to(torch.uint8).argmax(dim=1, keepdim=True)  # the first True: best in tie order
    sign = torch.where(u.gather(1, first) < 0, -1.0, 1.0).to(u.dtype)
    u = u * sign
    return u, (u >= -_SIGN_TOL * amax) & real


class _Split(NamedTuple):
    kept: Tensor  # bool [N]
    src: Tensor  # pooled edges between kept nodes (input ids), both directions
    dst: Tensor
    weight: Tensor  # float64
    attach: Optional[Tensor]  # [N]: the kept node each dropped node attaches to (-1 otherwise)


def _dense_group(
    nodes: Tensor,
    cid_local: Tensor,
    local: Tensor,
    uei: Tensor,
    uw: Tensor,
    e_comp: Tensor,
    B: int,
    P: int,
    attach: bool,
    num_nodes: int,
):
    """Split and Kron-reduce ``B`` components padded to ``P`` nodes, batched.  ``nodes`` are the
    group's nodes, ``cid_local`` their component's slot in ``0..B-1`` and ``local`` their place in
    it (the tie order); ``uei``/``uw`` the group's edges and ``e_comp`` each edge's slot;
    ``num_nodes`` the batch's.  Returns the group's nodes and which are kept, the pooled edges
    ``(src, dst, weight)`` and, with ``attach``, ``(dropped node, kept node)``."""
    device = nodes.device
    G = torch.full((B, P), -1, dtype=torch.long, device=device)
    G[cid_local, local] = nodes
    real = G >= 0
    lpos = torch.full((num_nodes,), -1, dtype=torch.long, device=device)
    lpos[nodes] = local
    W = torch.zeros(B, P, P, dtype=torch.float64, device=device)
    W.index_put_((e_comp, lpos[uei[0]], lpos[uei[1]]), uw, accumulate=True)
    deg = W.sum(-1)
    L = torch.diag_embed(deg) - W
    dinv = torch.where(deg > 0, deg.clamp(min=1e-300).rsqrt(), torch.zeros_like(deg))
    Ls = torch.diag_embed(real.to(torch.float64)) - dinv.unsqueeze(-1) * W * dinv.unsqueeze(-2)
    evals, evecs = torch.linalg.eigh(Ls)
    top = evals >= evals[:, -1:] - _EIG_TOL
    h = _hash_unit(torch.arange(P, device=device)).expand(B, P) * real
    Vt = evecs * top.unsqueeze(1)
    proj = (Vt @ (Vt.transpose(1, 2) @ h.unsqueeze(-1))).squeeze(-1)
    use = (top.sum(1) > 1) & (proj.norm(dim=1) > 1e-6)
    u = torch.where(use.unsqueeze(1), proj, evecs[..., -1])
    _, kept = _orient(u, real)
    drop = real & ~kept
    kf, df = kept.to(torch.float64), drop.to(torch.float64)
    Ldd = L * df.unsqueeze(-1) * df.unsqueeze(-2) + torch.diag_embed(1 - df)
    X = torch.linalg.solve(Ldd, L * df.unsqueeze(-1) * kf.unsqueeze(-2))  # L_dd^{-1} L_dk, zero elsewhere
    S = L - (L * kf.unsqueeze(-1) * df.unsqueeze(-2)) @ X
    Wn = -(S + S.transpose(1, 2)) / 2
    kk = kept.unsqueeze(-1) & kept.unsqueeze(-2) & ~torch.eye(P, dtype=torch.bool, device=device)
    b, i, j = (kk & (Wn > 0)).nonzero(as_tuple=True)
    edges = (G[b, i], G[b, j], Wn[b, i, j])
    target = None
    if attach:
        prob = torch.where(drop.unsqueeze(-1) & kept.unsqueeze(-2), -X, torch.full_like(X, -1.0))
        pmax = prob.amax(-1, keepdim=True)
        best = ((prob >= pmax - _PROB_TOL) & kept.unsqueeze(-2)).to(torch.uint8).argmax(-1)
        bd, idd = drop.nonzero(as_tuple=True)
        target = (G[bd, idd], G[bd, best[bd, idd]])
    return G[real], kept[real], edges, target


def _sparse_component(
    nodes: Tensor, uei: Tensor, uw: Tensor, lpos: Tensor, attach: bool, floor: Tuple[float, float] = (0.0, 0.0)
):
    """One component of more than ``dense_limit`` nodes (``nodes`` in tie order): lobpcg for the
    eigenvector, scipy's sparse LU for the Kron reduction.  Pooled edges lighter than ``floor``
    (``w >= floor[0]`` and ``w > floor[1]`` are kept: the sparsification that follows, applied
    early so that the filled-in reduction never reaches torch whole)."""
    try:
        import numpy as np
        import scipy.sparse as sp
        from scipy.sparse.linalg import spsolve
    except ImportError as err:  # pragma: no cover - scipy is present in the dev environment
        raise ImportError(
            f"NDPPooling: a component of {nodes.numel()} nodes (above 'dense_limit') needs scipy for its sparse "
            f"Kron reduction: pip install scipy, or raise 'dense_limit'"
        ) from err
    device = nodes.device
    n = nodes.numel()
    i, j = lpos[uei[0]], lpos[uei[1]]
    deg = torch.zeros(n, dtype=torch.float64, device=device).index_add_(0, i, uw)
    dinv = deg.rsqrt()
    diag = torch.arange(n, device=device)
    Ls = torch.sparse_coo_tensor(
        torch.cat([torch.stack([i, j]), torch.stack([diag, diag])], 1),
        torch.cat([-dinv[i] * uw * dinv[j], torch.ones(n, dtype=torch.float64, device=device)]),
        (n, n),
        check_invariants=False,
    ).coalesce()
    x0 = _hash_unit(torch.arange(n, device=device)).view(-1, 1)
    _, vec = torch.lobpcg(Ls, k=1, X=x0, largest=True, niter=_LOBPCG_ITERS, tol=1e-9)
    _, kept = _orient(vec.view(1, -1), torch.ones(1, n, dtype=torch.bool, device=device))
    kept = kept.view(-1)
    ic, jc, wc, dc = (t.cpu().numpy() for t in (i, j, uw, deg))
    L = sp.csr_matrix(
        (np.concatenate([-wc, dc]), (np.concatenate([ic, np.arange(n)]), np.concatenate([jc, np.arange(n)]))),
        shape=(n, n),
    )
    k_idx = kept.nonzero().view(-1).cpu().numpy()
    d_idx = (~kept).nonzero().view(-1).cpu().numpy()
    X = sp.csc_matrix(spsolve(L[d_idx][:, d_idx].tocsc(), L[d_idx][:, k_idx].tocsc()))
    if X.shape != (d_idx.size, k_idx.size):  # spsolve squeezes a single column
        X = sp.csc_matrix(X.toarray().reshape(d_idx.size, k_idx.size))
    S = L[k_idx][:, k_idx] - L[k_idx][:, d_idx] @ X
    S = S + S.T
    S.data *= -0.5
    Wn = S.tocoo()
    del S
    off = (Wn.row != Wn.col) & (Wn.data > 0) & (Wn.data >= floor[0]) & (Wn.data > floor[1])
    k_nodes = nodes[torch.from_numpy(k_idx).to(device)]
    as_t = lambda a: torch.from_numpy(np.asarray(a)).to(device)  # noqa: E731
    edges = (k_nodes[as_t(Wn.row[off])], k_nodes[as_t(Wn.col[off])], as_t(Wn.data[off]).to(torch.float64))
    target = None
    if attach:
        P = sp.coo_matrix(-X)
        rows, cols, vals = as_t(P.row).long(), as_t(P.col).long(), as_t(P.data).to(torch.float64)
        pmax = torch.full((d_idx.size,), -1.0, dtype=torch.float64, device=device).scatter_reduce(
            0, rows, vals, reduce="amax", include_self=True
        )
        cand = vals >= pmax[rows] - _PROB_TOL
        best = torch.full((d_idx.size,), k_idx.size, dtype=torch.long, device=device).scatter_reduce(
            0, rows[cand], cols[cand], reduce="amin", include_self=True
        )  # kept columns are in tie order: the smallest is the first
        d_nodes = nodes[torch.from_numpy(d_idx).to(device)]
        target = (d_nodes, k_nodes[best])
    return kept, edges, target


def _split(
    num_nodes: int,
    uei: Tensor,
    uw: Tensor,
    key: Optional[Tensor],
    dense_limit: int,
    attach: bool,
    floor: Optional[Tuple[Tensor, Tensor]] = None,
) -> _Split:
    """Steps 2-3 of the module docstring for every component of the (batched) graph; ``floor``:
    per node, the sparsification's two thresholds (applied early in large components)."""
    device = uei.device
    n = num_nodes
    comp = connected_components(uei, n)
    _, cid = torch.unique(comp, return_inverse=True)
    order = torch.arange(n, device=device) if key is None else torch.argsort(key, descending=True, stable=True)
    order = order[torch.argsort(cid[order], stable=True)]
    sizes = torch.bincount(cid)
    starts = torch.cumsum(sizes, 0) - sizes
    local = torch.empty(n, dtype=torch.long, device=device)
    local[order] = torch.arange(n, device=device) - starts[cid[order]]
    kept = torch.ones(n, dtype=torch.bool, device=device)
    attach_to = torch.full((n,), -1, dtype=torch.long, device=device) if attach else None
    src, dst, wts = [], [], []
    e_cid = cid[uei[0]]

    groups: Dict[int, List[int]] = {}
    big: List[int] = []
    for c, s in enumerate(sizes.tolist()):
        if s < 2:
            continue
        if s > dense_limit:
            big.append(c)
        else:
            groups.setdefault(max(2, 1 << (s - 1).bit_length()), []).append(c)

    def record(nodes_, kept_, edges_, target_):
        kept[nodes_] = kept_
        src.append(edges_[0]), dst.append(edges_[1]), wts.append(edges_[2])
        if target_ is not None and attach_to is not None:
            attach_to[target_[0]] = target_[1]

    chunks = [
        (P, comps[i : i + max(1, _CHUNK_ENTRIES // (P * P))])
        for P, comps in groups.items()
        for i in range(0, len(comps), max(1, _CHUNK_ENTRIES // (P * P)))
    ]
    for P, chunk in chunks:
        cs = torch.tensor(chunk, dtype=torch.long, device=device)
        slot = torch.full((sizes.numel(),), -1, dtype=torch.long, device=device)
        slot[cs] = torch.arange(cs.numel(), device=device)
        nodes = (slot[cid] >= 0).nonzero().view(-1)
        e_in = slot[e_cid] >= 0
        g_nodes, g_kept, edges, target = _dense_group(
            nodes, slot[cid[nodes]], local[nodes], uei[:, e_in], uw[e_in], slot[e_cid[e_in]], cs.numel(), P, attach, n
        )
        record(g_nodes, g_kept, edges, target)
    for c in big:
        nodes = order[int(starts[c]) : int(starts[c] + sizes[c])]
        e_in = e_cid == c
        lpos = torch.full((n,), -1, dtype=torch.long, device=device)
        lpos[nodes] = torch.arange(nodes.numel(), device=device)
        lows = (0.0, 0.0) if floor is None else (float(floor[0][nodes[0]]), float(floor[1][nodes[0]]))
        c_kept, edges, target = _sparse_component(nodes, uei[:, e_in], uw[e_in], lpos, attach, lows)
        record(nodes, c_kept, edges, target)
    empty_l = torch.zeros(0, dtype=torch.long, device=device)
    return _Split(
        kept,
        torch.cat(src) if src else empty_l,
        torch.cat(dst) if dst else empty_l,
        torch.cat(wts) if wts else torch.zeros(0, dtype=torch.float64, device=device),
        attach_to,
    )


def _ndp_step(
    x: Tensor,
    edge_index: Tensor,
    edge_attr: Optional[Tensor],
    batch: Tensor,
    edge_weight: Optional[Tensor],
    key: Optional[Tensor],
    *,
    epsilon: float,
    relative: bool,
    dropped: str,
    dense_limit: int,
    sizes: Optional[Tensor] = None,
) -> PoolOutput:
    """One NDP level on checked input (``batch`` given); ``key``: the tie-break key or ``None``;
    ``sizes``: a graph of at most ``sizes[g]`` nodes passes unchanged."""
    device, n = x.device, x.size(0)
    w_in = None if edge_weight is None else edge_weight.detach().to(torch.float64)
    if w_in is None:
        w_in = torch.ones(edge_index.size(1), dtype=torch.float64, device=device)
    skip = None
    if sizes is not None and n:
        skip = (torch.bincount(batch, minlength=sizes.numel()) <= sizes)[batch]  # per node
    uei, uw = undirected(edge_index, w_in, n)
    pos = uw > 0 if skip is None else (uw > 0) & ~skip[uei[0]]  # a skipped graph's nodes: isolated, kept
    uei, uw = uei[:, pos], uw[pos]
    # sparsify, per graph, against the graph's largest input weight
    num_graphs = int(batch.max()) + 1 if n else 0
    wmax = torch.zeros(num_graphs, dtype=torch.float64, device=device)
    if uw.numel():
        wmax = wmax.scatter_reduce(0, batch[uei[0]], uw, reduce="amax", include_self=True)
    eps_g = epsilon * wmax if relative else torch.full_like(wmax, epsilon)
    split = _split(n, uei, uw, key, dense_limit, dropped == "attach", (eps_g[batch], _ZERO_TOL * wmax[batch]))

    perm = split.kept.nonzero().view(-1)
    n_out = perm.numel()
    out_id = torch.full((n,), DROPPED, dtype=torch.long, device=device)
    out_id[perm] = torch.arange(n_out, device=device)
    g = batch[split.src]
    thr = epsilon * wmax[g] if relative else torch.full_like(split.weight, epsilon)
    keep = (split.weight >= thr) & (split.weight > _ZERO_TOL * wmax[g])
    ei = torch.stack([out_id[split.src[keep]], out_id[split.dst[keep]]])
    w = split.weight[keep]
    if ei.size(1):
        ei, w = coalesce(ei, w, num_nodes=n_out, reduce="sum")

    attr = None
    if edge_attr is not None:
        attr = edge_attr.new_zeros((ei.size(1),) + tuple(edge_attr.shape[1:]))
        a, b = out_id[edge_index[0]], out_id[edge_index[1]]
        both = (a >= 0) & (b >= 0) & (edge_index[0] != edge_index[1])
        if skip is not None:
            both &= ~skip[edge_index[0]]
        if ei.size(1) and bool(both.any()):
            keys = ei[0] * n_out + ei[1]
            want = a[both] * n_out + b[both]
            at = torch.searchsorted(keys, want).clamp(max=keys.numel() - 1)
            hit = keys[at] == want
            attr.index_add_(0, at[hit], edge_attr[both][hit])

    if skip is not None and bool(skip.any()):  # the skipped graphs' own edges, as they are
        mine = skip[edge_index[0]]
        ei = torch.cat([ei, out_id[edge_index[:, mine]]], 1)
        w = torch.cat([w, w_in[mine]])
        if attr is not None and edge_attr is not None:
            ei, (w, attr) = coalesce(ei, [w, torch.cat([attr, edge_attr[mine]])], num_nodes=n_out, reduce="sum")
        else:
            ei, w = coalesce(ei, w, num_nodes=n_out, reduce="sum")

    cluster = out_id
    if split.attach is not None:
        attached = split.attach >= 0
        cluster = torch.where(attached, out_id[split.attach.clamp(min=0)], out_id)
    return PoolOutput(
        x=x[perm],
        edge_index=ei,
        edge_attr=attr,
        batch=batch[perm],
        perm=perm,
        score=None,
        cluster=cluster,
        edge_weight=w.to(x.dtype if x.is_floating_point() else torch.get_default_dtype()),
    )


def _check_options(where: str, epsilon, relative, dropped, dense_limit) -> float:
    eps = check_number(epsilon, where, "epsilon", low=0)
    check_bool(relative, where, "relative")
    if not isinstance(dropped, str) or dropped not in DROPPED_MODES:
        raise ValueError(f"{where}: 'dropped' must be one of {', '.join(DROPPED_MODES)}, got {dropped!r}")
    check_int(dense_limit, where, "dense_limit", low=2)
    return eps


class NDPPooling(torch.nn.Module):
    r"""Node decimation pooling of Bianchi et al., TNNLS 2020 (see the module docstring); not learned.

    Each level keeps the nodes on one side of the spectral MAXCUT of every graph (about half of
    them) and joins them by the Kron reduction of the Laplacian, sparsified.

    Args:
        in_channels: for a uniform pooler signature: when given, ``x`` must have that many columns.
        epsilon: sparsification threshold, ``>= 0`` (default ``1e-2``, the paper's).
        relative: ``epsilon`` relative to each graph's largest input edge weight (default ``True``);
            ``False``: an absolute weight, as the paper's code.
        dropped: ``"drop"`` (default: the dropped nodes' ``cluster`` is ``DROPPED``) or
            ``"attach"`` (each joins the kept node a random walk from it most likely hits first).
        tiebreak: ``"features"`` (default: symmetric nodes are told apart by their features, then
            by index) or ``"index"`` (by index only: the same as :func:`ndp_levels` without ``x``).
        dense_limit: largest component decomposed densely (default 2000); larger ones take
            ``torch.lobpcg`` and scipy (see the module docstring).

    ``forward`` returns a :class:`~hipool.record.PoolOutput` with ``edge_weight`` the Kron weights.
    """

    def __init__(
        self,
        in_channels: Optional[int] = None,
        *,
        epsilon: float = 1e-2,
        relative: bool = True,
        dropped: str = "drop",
        tiebreak: str = "features",
        dense_limit: int = DENSE_LIMIT,
    ):
        super().__init__()
        check_int(in_channels, "NDPPooling", "in_channels", allow_none=True)
        self.epsilon = _check_options("NDPPooling", epsilon, relative, dropped, dense_limit)
        if not isinstance(tiebreak, str) or tiebreak not in TIEBREAKS:
            raise ValueError(f"NDPPooling: 'tiebreak' must be one of {', '.join(TIEBREAKS)}, got {tiebreak!r}")
        self.in_channels = in_channels
        self.relative = relative
        self.dropped = dropped
        self.tiebreak = tiebreak
        self.dense_limit = dense_limit

    def reset_parameters(self) -> None:
        pass

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Optional[Tensor] = None,
        batch: Optional[Tensor] = None,
        edge_weight: Optional[Tensor] = None,
        sizes: Optional[Tensor] = None,
    ) -> PoolOutput:
        """Pool a batch (one level).  ``sizes`` ``[B]`` (``schedule: auto``, :mod:`hipool.nn.auto`): a
        graph of at most ``sizes[g]`` nodes skips the level and passes unchanged (all nodes kept,
        its input edges, weights and ``edge_attr`` as they are, repeated edges merged); NDP cannot
        aim at a size, so a larger graph is decimated as usual."""
        x, batch = prepare_pool_input(
            x,
            edge_index,
            batch,
            edge_attr,
            edge_weight,
            "NDPPooling",
            self.in_channels,
            nonnegative_weights="the Laplacian and its Kron reduction need weights >= 0",
        )
        sizes = check_sizes(sizes, batch, "NDPPooling")
        key = feature_key(x) if self.tiebreak == "features" else None
        return _ndp_step(
            x,
            edge_index,
            edge_attr,
            batch,
            edge_weight,
            key,
            epsilon=self.epsilon,
            relative=self.relative,
            dropped=self.dropped,
            dense_limit=self.dense_limit,
            sizes=sizes,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(epsilon={self.epsilon}, relative={self.relative}, dropped={self.dropped!r}, "
            f"tiebreak={self.tiebreak!r})"
        )


def ndp_levels(
    edge_index: Tensor,
    num_nodes: int,
    levels: int,
    *,
    edge_weight: Optional[Tensor] = None,
    batch: Optional[Tensor] = None,
    x: Optional[Tensor] = None,
    edge_attr: Optional[Tensor] = None,
    epsilon: float = 1e-2,
    relative: bool = True,
    dropped: str = "drop",
    dense_limit: int = DENSE_LIMIT,
) -> List[PoolOutput]:
    """``levels`` NDP levels at once (to precompute and cache: NDP learns nothing).

    Returns one :class:`~hipool.record.PoolOutput` per level, each level's input the previous
    level's output: its ``cluster`` (level ``l - 1`` nodes to level ``l`` nodes), ``perm``, pooled
    ``edge_index``, ``edge_weight``, ``edge_attr`` (when given) and ``batch``, exactly what
    :class:`NDPPooling` gives applied level by level (with ``tiebreak="features"`` fed each
    level's ``x``, or ``tiebreak="index"`` when ``x`` is ``None``).  Without ``x`` the records'
    ``x`` is an empty ``[N_l, 0]`` tensor.  A :class:`~hipool.Hierarchy` composes them.

    Args:
        edge_index: ``[2, E]`` (int64) edges of one graph or a batch.
        num_nodes: number of nodes ``N``.
        levels: number of levels, an int ``>= 1``.
        edge_weight, batch, x, edge_attr: as for :class:`NDPPooling` (``x`` only breaks ties).
        epsilon, relative, dropped, dense_limit: as for :class:`NDPPooling`.
    """
    if not is_int(num_nodes) or num_nodes < 0:
        raise ValueError(f"ndp_levels: 'num_nodes' must be an int >= 0, got {num_nodes!r}")
    check_int(levels, "ndp_levels", "levels")
    eps = _check_options("ndp_levels", epsilon, relative, dropped, dense_limit)
    if x is None:
        dtype = edge_weight.dtype if isinstance(edge_weight, Tensor) else torch.get_default_dtype()
        device = edge_index.device if isinstance(edge_index, Tensor) else None
        x = torch.zeros(num_nodes, 0, dtype=dtype, device=device)
    elif not isinstance(x, Tensor) or x.size(0) != num_nodes:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"ndp_levels: 'x' must have one row per node ({num_nodes}), got {shape}")
    out: List[PoolOutput] = []
    for _ in range(levels):
        x, batch = prepare_pool_input(
            x,
            edge_index,
            batch,
            edge_attr,
            edge_weight,
            "ndp_levels",
            nonnegative_weights="the Laplacian and its Kron reduction need weights >= 0",
        )
        rec = _ndp_step(
            x,
            edge_index,
            edge_attr,
            batch,
            edge_weight,
            feature_key(x),
            epsilon=eps,
            relative=relative,
            dropped=dropped,
            dense_limit=dense_limit,
        )
        out.append(rec)
        x, edge_index, edge_attr, batch, edge_weight = rec.x, rec.edge_index, rec.edge_attr, rec.batch, rec.edge_weight
    return out
