"""The pooler record: what every hipool pooler returns.

One pooling step maps a graph with ``N`` input nodes to a coarser graph with
``N'`` output nodes.  :class:`PoolOutput` names every part of that step:

=================  ==========================================================
field              meaning
=================  ==========================================================
``x``              pooled node features ``[N', F]``
``edge_index``     pooled edges ``[2, E']``
``edge_attr``      edge features carried to the pooled edges ``[E', *]`` (or ``None``)
``batch``          graph id of each output node ``[N']``
``perm``           for selection poolers: the input node kept as each output
                   node ``[N']`` (PyG's ``perm``); ``None`` when an output node
                   is not a single input node (clustering, contraction)
``score``          score of each output node ``[N']`` (PyG's ``score``), or ``None``
``cluster``        for every input node the output node it went to ``[N]``,
                   or :data:`DROPPED` (-1); the map that hierarchies compose
``assignment``     optional soft assignment (e.g. DiffPool's ``S``)
``aux_losses``     named auxiliary losses of this step (empty for selection)
``edge_weight``    weight of each pooled edge ``[E']`` (clustering: the entries
                   of ``SᵀAS``; selection: the input weights carried along), or ``None``
``mode``           how a clustering pooler ran: ``"dense"`` or ``"sparse"``
                   (``None`` for other poolers)
=================  ==========================================================

``assignment`` is a dense ``[N, C]`` tensor for the clustering poolers (row
``n`` spreads input node ``n`` over the ``C`` cluster slots of its graph) and a
sparse ``[N, N']`` tensor for ASAP (each output node's soft cluster) and LaPool's
pair routes; :meth:`PoolOutput.assignment_matrix` gives either as ``[N, N']``.

:meth:`PoolOutput.unpool` lifts features of the pooled nodes back to the input
nodes, for node-level models (Graph U-Net): a selection copies each kept
node's features back and gives dropped nodes zeros; a clustering pooler
returns ``S x'``; a contraction copies a merged node's features to both of its
members.

For code written against PyTorch Geometric, the record unpacks like PyG's
6-tuple ``(x, edge_index, edge_attr, batch, perm, score)``::

    x, edge_index, _, batch, _, _ = pool(x, edge_index, batch=batch)

while new code reads the fields by name: ``out = pool(...); out.cluster``.

**Invariants.**  With ``N`` input and ``N'`` output nodes and ``E'`` pooled edges: ``x`` is
``[N', F]``; ``batch``, ``perm`` and ``score`` are ``[N']``; ``edge_index`` is ``[2, E']`` (int64)
with ``edge_attr`` ``[E', *]`` and ``edge_weight`` ``[E']``; ``cluster`` is ``[N]`` (int64).  A
record checks these shapes when it is built (while checks are on: free, no synchronisation);
:meth:`PoolOutput.validate` also checks the values (indices in range, edges inside one graph,
``batch`` sorted, finite features and weights), for tests and debugging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch
from torch import Tensor

from .checks import checks_enabled
from .ops import segment_mm

#: Value of :attr:`PoolOutput.cluster` for an input node that no output node keeps.
DROPPED: int = -1

_TUPLE_FIELDS: Tuple[str, ...] = ("x", "edge_index", "edge_attr", "batch", "perm", "score")


@dataclass
class PoolOutput:
    """Result of one pooling step (see the module docstring for the fields)."""

    x: Tensor
    edge_index: Tensor
    edge_attr: Optional[Tensor]
    batch: Tensor
    perm: Optional[Tensor]
    score: Optional[Tensor]
    cluster: Tensor
    assignment: Optional[Tensor] = None
    aux_losses: Dict[str, Tensor] = field(default_factory=dict)
    edge_weight: Optional[Tensor] = None
    mode: Optional[str] = None

    #: The fields a tuple unpacking yields, in PyG's order for this kind of pooler.
    _tuple_fields = _TUPLE_FIELDS

    def __post_init__(self) -> None:
        if checks_enabled():
            self._check_shapes()

    # -- invariants --------------------------------------------------------
    def _fail(self, message: str) -> None:
        raise ValueError(f"{type(self).__name__}: {message} (a pooler built an inconsistent record)")

    def _check_shapes(self) -> None:
        """The shape invariants of the module docstring (metadata only)."""
        if not isinstance(self.x, Tensor) or self.x.dim() != 2:
            self._fail(f"'x' must be [N', F], got {getattr(self.x, 'shape', self.x)!r}")
        n_out = self.x.size(0)
        ei = self.edge_index
        if not isinstance(ei, Tensor) or ei.dim() != 2 or ei.size(0) != 2 or ei.dtype != torch.long:
            self._fail(f"'edge_index' must be an int64 [2, E'] tensor, got {getattr(ei, 'shape', ei)!r}")
        e_out = ei.size(1)
        for name, length in (("batch", n_out), ("perm", n_out), ("score", n_out), ("edge_weight", e_out)):
            t = getattr(self, name)
            if t is not None and (t.dim() != 1 or t.size(0) != length):
                self._fail(f"'{name}' must have shape [{length}], got {list(t.shape)}")
        if self.edge_attr is not None and (self.edge_attr.dim() == 0 or self.edge_attr.size(0) != e_out):
            self._fail(f"'edge_attr' must have {e_out} rows (one per pooled edge), got {list(self.edge_attr.shape)}")
        if self.batch.dtype != torch.long or self.cluster.dtype != torch.long or self.cluster.dim() != 1:
            self._fail(
                f"'batch' and 'cluster' must be 1-D int64, got {self.batch.dtype} and "
                f"{self.cluster.dtype} {list(self.cluster.shape)}"
            )
        if self.assignment is not None and (
            self.assignment.dim() != 2 or self.assignment.size(0) != self.cluster.size(0)
        ):
            self._fail(
                f"'assignment' must have one row per input node ({self.cluster.size(0)}), got "
                f"{list(self.assignment.shape)}"
            )

    def validate(self, input_batch: Optional[Tensor] = None) -> "PoolOutput":
        """Check every invariant, values included (a few synchronisations: for tests and debugging).

        Shapes as when built; ``edge_index`` in ``[0, N')`` and joining nodes of one graph;
        ``batch`` sorted and ``>= 0``; ``cluster`` in ``[-1, N')`` and ``perm`` in ``[0, N)``;
        ``x``, ``score``, ``edge_weight``, ``edge_attr`` (floating) and the losses finite.  With
        ``input_batch`` (the input nodes' graph ids): every output node's graph is the graph of
        the input nodes mapped to it, and every graph with input nodes keeps at least one node.
        Returns ``self``; raises ``ValueError`` naming the broken invariant.
        """
        self._check_shapes()
        n_out, n_in = self.num_nodes, self.num_input_nodes
        ei, batch, cluster = self.edge_index, self.batch, self.cluster
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n_out):
            self._fail(f"'edge_index' must lie in [0, {n_out}), got [{int(ei.min())}, {int(ei.max())}]")
        if batch.numel() and (int(batch.min()) < 0 or bool((batch[1:] < batch[:-1]).any())):
            self._fail("'batch' must be sorted and >= 0")
        if ei.numel() and bool((batch[ei[0]] != batch[ei[1]]).any()):
            self._fail("a pooled edge joins two graphs")
        if cluster.numel() and (int(cluster.min()) < DROPPED or int(cluster.max()) >= n_out):
            self._fail(f"'cluster' must lie in [{DROPPED}, {n_out}), got [{int(cluster.min())}, {int(cluster.max())}]")
        if self.perm is not None and self.perm.numel() and (int(self.perm.min()) < 0 or int(self.perm.max()) >= n_in):
            self._fail(f"'perm' must lie in [0, {n_in})")
        finite = {
            "x": self.x,
            "score": self.score,
            "edge_weight": self.edge_weight,
            "edge_attr": self.edge_attr,
            **{f"aux_losses[{k!r}]": v for k, v in self.aux_losses.items()},
        }
        for name, t in finite.items():
            if t is not None and t.is_floating_point() and not bool(torch.isfinite(t).all()):
                self._fail(f"'{name}' is not finite")
        if input_batch is not None:
            if input_batch.numel() != n_in:
                raise ValueError(
                    f"PoolOutput.validate: 'input_batch' has {input_batch.numel()} entries for {n_in} input nodes"
                )
            kept = self.kept
            if bool((batch[cluster[kept]] != input_batch[kept]).any()):
                self._fail("an input node went to an output node of another graph")
            missing = set(input_batch.unique().tolist()) - set(batch.unique().tolist())
            if missing:
                self._fail(f"graph(s) {sorted(missing)} had nodes but kept none")
        return self

    # -- PyG tuple compatibility -------------------------------------------
    def __iter__(self) -> Iterator[Optional[Tensor]]:
        return (getattr(self, name) for name in self._tuple_fields)

    def __len__(self) -> int:
        return len(self._tuple_fields)

    def __getitem__(self, index):
        return tuple(self)[index]

    # -- derived facts -----------------------------------------------------
    @property
    def num_nodes(self) -> int:
        """Number of output nodes ``N'``."""
        return self.x.size(0)

    @property
    def num_input_nodes(self) -> int:
        """Number of input nodes ``N``."""
        return self.cluster.size(0)

    @property
    def kept(self) -> Tensor:
        """Boolean mask ``[N]`` of input nodes that reached some output node."""
        return self.cluster != DROPPED

    def assignment_matrix(self) -> Optional[Tensor]:
        """The soft assignment as a dense ``[N, N']`` tensor, column ``j`` for output node ``j``,
        whatever its layout: the slot layout ``[N, C]`` of the clustering poolers is spread over
        each graph's output nodes, a sparse one is densified (``S I``, by :meth:`unpool`).  ``None``
        without an assignment.  ``O(N N')`` memory: for inspection and tests, not large batches."""
        S = self.assignment
        if S is None:
            return None
        dtype = S.dtype if S.is_floating_point() else torch.get_default_dtype()
        return self.unpool(torch.eye(self.num_nodes, dtype=dtype, device=self.cluster.device))

    def unpool(self, x: Tensor) -> Tensor:
        """Lift floating-point features ``[N', F]`` of the output nodes back to the ``N`` input nodes
        (a ``ValueError`` for another shape, an integer dtype or another device than the record's).

        How depends on the record's ``assignment`` (the lift :data:`LIFTS` gives for its
        layout): dense (clustering) ``S x'`` within each graph; sparse (ASAP) ``S x'``; none
        (selection, contraction) each input node gets the features of the output node it went
        to (``cluster``), and zeros when it was dropped.  Differentiable in ``x`` (and in ``S``).
        """
        if not isinstance(x, Tensor) or x.dim() != 2 or x.size(0) != self.num_nodes:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"PoolOutput.unpool: 'x' must have shape [{self.num_nodes}, F] (one row per output node), got {shape}"
            )
        if not x.is_floating_point():  # S x' in an integer dtype would round the assignment to 0
            raise ValueError(f"PoolOutput.unpool: 'x' must be floating point (features), got dtype {x.dtype}")
        if x.device != self.cluster.device:
            raise ValueError(f"PoolOutput.unpool: 'x' is on {x.device} but the record is on {self.cluster.device}")
        layout = None if self.assignment is None else self.assignment.layout
        return LIFTS.get(layout, lift_by_sparse_assignment)(self, x)

    def __repr__(self) -> str:
        parts = [f"nodes={self.num_input_nodes}->{self.num_nodes}", f"edges={self.edge_index.size(1)}"]
        if self.edge_attr is not None:
            parts.append(f"edge_attr={tuple(self.edge_attr.shape)}")
        if self.assignment is not None:
            parts.append(f"assignment={tuple(self.assignment.shape)}")
        if self.mode is not None:
            parts.append(f"mode={self.mode}")
        if self.aux_losses:
            parts.append("aux_losses=[" + ", ".join(self.aux_losses) + "]")
        return f"PoolOutput({', '.join(parts)})"


# ---------------------------------------------------------------------------
# lifts: pooled features [N', F] back to the input nodes [N]
# ---------------------------------------------------------------------------
def lift_by_cluster(out: PoolOutput, x: Tensor) -> Tensor:
    """Each input node gets the row of the output node it went to (``cluster``), zeros if dropped."""
    lifted = x.new_zeros(out.num_input_nodes, x.size(1))
    kept = out.kept
    lifted[kept] = x[out.cluster[kept]]
    return lifted


def lift_by_slots(out: PoolOutput, x: Tensor) -> Tensor:
    """``S x'`` within each graph, for a dense ``assignment`` ``S`` ``[N, C]`` over cluster slots.

    Graph ``g``'s clusters are its ``k_g`` output nodes, in slot order; slots past ``k_g``
    hold zero probability, so padding ``x'`` to ``C`` slots per graph is exact.
    """
    S = out.assignment
    assert S is not None  # chosen by the assignment's layout
    if out.num_input_nodes == 0:
        return x.new_zeros(0, x.size(1))
    num_graphs = int(out.batch.max()) + 1
    from torch_geometric.utils import to_dense_batch

    xd, _ = to_dense_batch(x, out.batch, batch_size=num_graphs, max_num_nodes=S.size(1))
    return segment_mm(S.to(x.dtype), xd, out.batch[out.cluster], num_graphs)


def lift_by_sparse_assignment(out: PoolOutput, x: Tensor) -> Tensor:
    """``S x'`` for a sparse ``assignment`` ``S`` ``[N, N']``.  A COO ``S`` is multiplied as CSR:
    torch's backward of a COO product forms the dense ``[N, N']`` gradient of ``S`` before masking
    it (1.7 GB at 30k × 15k), the CSR one only the gradient at ``S``'s entries."""
    assert out.assignment is not None  # chosen by the assignment's layout
    s = out.assignment
    if s.layout == torch.sparse_coo:
        s = s.coalesce().to_sparse_csr()
    return torch.sparse.mm(s.to(x.dtype), x)


#: How :meth:`PoolOutput.unpool` lifts, by the layout of the record's ``assignment``
#: (``None``: no assignment, only the hard map ``cluster``; a layout not listed is sparse:
#: :func:`lift_by_sparse_assignment`).
LIFTS: Dict[Optional[torch.layout], Callable[[PoolOutput, Tensor], Tensor]] = {
    None: lift_by_cluster,
    torch.strided: lift_by_slots,
    torch.sparse_coo: lift_by_sparse_assignment,
    torch.sparse_csr: lift_by_sparse_assignment,
}


def cluster_from_perm(perm: Tensor, num_nodes: int) -> Tensor:
    """The input→output map of a selection: ``cluster[perm[i]] = i``, others :data:`DROPPED`."""
    cluster = torch.full((num_nodes,), DROPPED, dtype=torch.long, device=perm.device)
    cluster[perm] = torch.arange(perm.size(0), dtype=torch.long, device=perm.device)
    return cluster
