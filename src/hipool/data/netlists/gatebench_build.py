r"""Building the ``gates`` benchmark: mutated copies of cones, labelled, in balanced pairs.

:func:`generate` draws mutated copies (:mod:`hipool.data.netlists.gatebench_mutate`) of the
cones (:mod:`hipool.data.netlists.gatebench_cones`) until every mutation kind has its quota of
pairs:

* **Pairs.**  Every ``pass`` copy comes with a ``fail`` copy of the same cone and the same
  mutation kind (another site): when a try finds a benign mutation, up to
  :data:`PARTNER_TRIES` more tries of that kind on that cone look for a harmful one, and the
  ``pass`` is kept only with its partner.  So every cone gives as many ``pass`` graphs as
  ``fail`` ones, and neither the cone nor its circuit tells the class: only the mutation does.
  (Without pairs, the ``fail`` quota fills from the first cones visited and the ``pass`` one
  from the cones with redundant logic, and a model could tell the class by recognising the
  cone.)
* **Quotas.**  The ``n // 2`` pairs are split evenly over the kinds, so that neither the class
  nor the kind can be told from the other.
* **Order.**  Everything is drawn from NumPy's PCG64 seeded by ``seed``: the cones in a
  shuffled order (shuffled again on every pass over them), on each cone one try of every kind
  whose quota is still open (in a shuffled order), each try's site and its random vectors.
  The same options and source files give the same graphs.
* **Tries.**  A kind may spend at most ``tries`` x its share tries (a try: one mutation drawn
  and labelled, or a draw that found no site, closed a loop or repeated an earlier copy of
  the same cone; partner tries included).  Every try is screened first on 64 random vectors
  and the activating ones, and a copy already told apart there is a ``fail`` without further
  simulation.  A kind that spends its tries first hands the pairs it is short of to the other
  kinds, evenly, with their tries; the dataset is smaller than ``n`` only when every kind
  runs out, or by one when ``n`` is odd (its notes say so).
* **Benign rates.**  Every labelled try but the partner search counts towards its kind's
  benign rate (the fraction whose function did not change), whether or not it joined the
  dataset: :class:`KindStats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from .equivalence import FunctionComparison
from .gatebench_cones import Cone, cone_level_labels
from .gatebench_mutate import MUTATION_KINDS, Mutation, SignalValues, activation_pool, label_mutation, mutate
from .gatebench_podem import ConeIndex
from .gatebench_targets import targeted_vectors
from .gates import NetlistError, to_data
from .simulate import Simulator
from .vectors import choose_vectors, unpack

#: The classes: ``pass`` (the function did not change: the mutation was redundant) and ``fail``.
CLASS_NAMES = ("pass", "fail")
#: A ``pass`` on random vectors is checked again on this many targeted vectors
#: (:mod:`~hipool.data.netlists.gatebench_targets`) ...
TARGETED = 64
#: ... and this many more random ones (another seed), with the weighted pool.
CONFIRM = 1 << 16
#: Most tries on a cone for the ``fail`` partner of a ``pass`` (same cone, same kind).
PARTNER_TRIES = 16


#: The counts of :class:`KindStats`, as the cache keeps them.
STAT_KEYS = ("labelled", "benign", "exhaustive", "activated", "no_site", "rejected", "partner", "unpaired")


@dataclass
class KindStats:
    """What the tries of one mutation kind found.

    Attributes:
        labelled: copies simulated against their original.
        benign: those whose function did not change (``pass``).
        exhaustive: labelled copies of cones with at most ``exhaustive`` inputs.
        activated: labelled copies of larger cones for which the pool held an activating vector.
        no_site: draws on a cone without a site of the kind.
        rejected: draws that would close a loop or repeat an earlier copy.
        partner: copies labelled while looking for the ``fail`` partner of a ``pass`` (not
            counted in ``labelled``: they are drawn from cones known to hold a benign site).
        unpaired: ``pass`` copies left out because no ``fail`` partner turned up.
    """

    labelled: int = 0
    benign: int = 0
    exhaustive: int = 0
    activated: int = 0
    no_site: int = 0
    rejected: int = 0
    partner: int = 0
    unpaired: int = 0

    @property
    def benign_rate(self) -> float:
        return self.benign / self.labelled if self.labelled else float("nan")

    def to_dict(self) -> Dict[str, int]:
        return {k: int(getattr(self, k)) for k in STAT_KEYS}


@dataclass
class GateItem:
    """One graph of the benchmark before it is a graph.

    Attributes:
        cone: index of its cone in the list :func:`generate` was given.
        mutation: the mutated copy.
        label: 0 ``pass``, 1 ``fail``.
        comparison: the simulation that labelled it.
        activating: the activating vectors simulated besides the random ones (``[m, inputs]``).
        seed: the seed of its random vectors.
        exact: whether its cone has at most ``exhaustive`` inputs (its label is then exact; a
            ``fail`` is exact in any case: a vector tells the copies apart).
    """

    cone: int
    mutation: Mutation
    label: int
    comparison: FunctionComparison
    activating: np.ndarray
    seed: int
    exact: bool = False


@dataclass
class BuildResult:
    items: List[GateItem]
    stats: Dict[str, KindStats]
    notes: List[str] = field(default_factory=list)


class _Cache:
    """The compiled original and its pool values of the cone being worked on."""

    def __init__(self, cones: Sequence[Cone], seed: int, exhaustive: int):
        self.cones, self.seed, self.exhaustive = cones, seed, exhaustive
        self.index: Optional[int] = None
        self.sim: Optional[Simulator] = None
        self.values: Optional[SignalValues] = None
        self.aims: Optional[ConeIndex] = None
        self.bad: set = set()

    def get(self, i: int) -> Tuple[Optional[Simulator], Optional[SignalValues], Optional[ConeIndex]]:
        if i in self.bad:
            return None, None, None
        if self.index != i:
            cone = self.cones[i].netlist
            try:
                self.sim = Simulator(cone)
                many = len(self.sim.inputs) > self.exhaustive
                self.values = SignalValues(cone, seed=[self.seed, i]) if many else None
                self.aims = ConeIndex(cone) if many else None
            except NetlistError:  # a loop in the source circuit: never simulated
                self.bad.add(i)
                return None, None, None
            self.index = i
        return self.sim, self.values, self.aims


def _pair_quotas(pairs: int, kinds: Sequence[str]) -> Dict[str, int]:
    """Pairs per kind: ``pairs`` split evenly (the first kinds take the remainder)."""
    return {k: pairs // len(kinds) + (i < pairs % len(kinds)) for i, k in enumerate(kinds)}


def generate(
    cones: Sequence[Cone],
    n: int,
    *,
    seed: int = 0,
    kinds: Sequence[str] = MUTATION_KINDS,
    exhaustive: int = 16,
    vectors: int = 4096,
    tries: int = 100,
    targeted: int = TARGETED,
    confirm: int = CONFIRM,
    progress: bool = False,
) -> BuildResult:
    """``n // 2`` pairs of labelled mutated copies of ``cones``, a ``pass`` and a ``fail`` of the
    same cone and kind (see the module docstring); the items come pair by pair, ``pass`` first."""
    if not cones:
        raise ValueError("gates: no cone to mutate")
    rng = np.random.default_rng([seed, 0x6A7E5])
    quota = _pair_quotas(n // 2, kinds)
    budget = {k: tries * 2 * quota[k] for k in kinds}
    spent = {k: 0 for k in kinds}
    stats = {k: KindStats() for k in kinds}
    pairs: Dict[str, int] = {k: 0 for k in kinds}
    items: List[GateItem] = []
    seen: set = set()
    cache = _Cache(cones, seed, exhaustive)
    exhausted: List[str] = []

    def wanted(k: str) -> bool:
        return k not in exhausted and pairs[k] < quota[k]

    def label(ci: int, k: str, main: bool) -> Optional[GateItem]:
        """One try of kind ``k`` on cone ``ci``, labelled; ``main``: counted in the benign rate."""
        spent[k] += 1
        s = stats[k]
        sim, values, aims = cache.get(ci)
        m = None if sim is None else mutate(cones[ci].netlist, k, rng)
        try_seed = int(rng.integers(2**62))
        if m is None:
            s.no_site += 1
            return None
        if (ci, m.description) in seen:
            s.rejected += 1
            return None
        seen.add((ci, m.description))
        aim = None if aims is None else (lambda: targeted_vectors(aims, m, targeted, try_seed))
        try:
            result, extra = label_mutation(
                sim,
                m,
                exhaustive=exhaustive,
                vectors=vectors,
                seed=try_seed,
                values=values,
                aim=aim,
                confirm=confirm,
                quick=True,
            )
        except NetlistError:  # a swap or bridge that closes a loop the checks missed
            s.rejected += 1
            return None
        exact = len(sim.inputs) <= exhaustive
        if main:
            s.labelled += 1
            s.benign += result.equal
            s.exhaustive += exact
            s.activated += bool(not exact and len(extra))
        else:
            s.partner += 1
        return GateItem(ci, m, 0 if result.equal else 1, result, extra, try_seed, exact)

    def attempt(ci: int, k: str) -> None:
        item = label(ci, k, True)
        if item is None or item.label == 1:
            return
        partner = None
        for _ in range(PARTNER_TRIES):
            if spent[k] >= budget[k]:
                break
            other = label(ci, k, False)
            if other is not None and other.label == 1:
                partner = other
                break
        if partner is None:
            stats[k].unpaired += 1
            return
        items.extend((item, partner))
        pairs[k] += 1
        bar.update(2)

    def close(k: str) -> None:
        """Kind ``k`` spent its tries: its missing pairs go to the other kinds, with their tries."""
        exhausted.append(k)
        short = quota[k] - pairs[k]
        quota[k] = pairs[k]
        others = [o for o in kinds if o not in exhausted]
        if short and others:
            for o, extra in _pair_quotas(short, others).items():
                quota[o] += extra
                budget[o] += tries * 2 * extra
        bar.total = 2 * sum(quota.values())
        bar.refresh()

    bar = tqdm(
        total=2 * (n // 2), desc="gates: labelling mutated cones", unit="graph", disable=not progress, leave=False
    )
    try:
        while any(wanted(k) for k in kinds):
            for ci in rng.permutation(len(cones)).tolist():
                open_kinds = [k for k in kinds if wanted(k)]
                if not open_kinds:
                    break
                for j in rng.permutation(len(open_kinds)).tolist():
                    k = open_kinds[j]
                    if wanted(k):
                        attempt(ci, k)
                        if spent[k] >= budget[k] and wanted(k):
                            close(k)
    finally:
        bar.close()
    notes: List[str] = []
    if len(items) < n:
        why = (
            "n is odd (graphs come in pairs)"
            if len(items) == n - 1
            else "every mutation kind spent its tries before its pairs were found (raise tries=)"
        )
        notes.append(f"{len(items)} graphs, not {n}: {why}")
    for k in exhausted:
        notes.append(
            f"{k}: benign copies too rare to fill its share within its tries; it has {2 * pairs[k]} graphs, "
            f"and the rest of its share went to the other kinds"
        )
    return BuildResult(items, stats, notes)


def is_constant(cone: Cone, *, exhaustive: int, vectors: int, seed: int) -> bool:
    """Whether the cone's output takes one value on every vector of its check: all of them with
    at most ``exhaustive`` inputs (then the function is constant), else ``vectors`` random ones
    and the weighted pool (:func:`~hipool.data.netlists.gatebench_mutate.activation_pool`).  Such
    a cone is left out of the benchmark: nearly every mutation inside it would pass (or look as
    if it did), so its graphs would be labelled by the cone rather than by the mutation."""
    sim = Simulator(cone.netlist)
    chosen = choose_vectors(len(sim.inputs), exhaustive_inputs=exhaustive, num_random=vectors, seed=seed)
    words = [sim.run_words(chosen.words, chosen.num_vectors)]
    if not chosen.exhaustive:
        words.append(sim.run_words(activation_pool(len(sim.inputs), seed)))
    ones = sum(int(unpack(w, w.shape[1] * 64).sum()) for w in words)
    total = chosen.num_vectors + (0 if chosen.exhaustive else words[-1].shape[1] * 64)
    return ones == 0 or ones == total


def item_graph(item: GateItem, cone: Cone, source: int, level_labels: Optional[torch.Tensor] = None) -> Data:
    """The graph of ``item`` (see :mod:`hipool.data.netlists.gatebench` for its fields);
    ``source``: the index of its source circuit; ``level_labels``: the cone's (computed when
    not given)."""
    m = item.mutation
    data = to_data(m.netlist, depth=0)
    original = level_labels if level_labels is not None else cone_level_labels(cone.netlist)
    n_gates = len(cone.netlist.gates)
    labels = torch.full((data.num_nodes, 2), -1, dtype=torch.long)
    labels[:n_gates] = original[:n_gates]
    labels[len(m.netlist.gates) :] = original[n_gates:]  # the output node(s)
    if len(m.netlist.gates) > n_gates:  # a bridge's new gate: in the groups of the signal it took the name of
        labels[n_gates] = labels[m.sites[0]]
    mask = torch.zeros(data.num_nodes, dtype=torch.bool)
    mask[m.sites] = True
    data.level_labels = labels
    data.y = torch.tensor([item.label], dtype=torch.long)
    data.mutation_kind = torch.tensor([MUTATION_KINDS.index(m.kind)], dtype=torch.long)
    data.mutation_mask = mask
    data.defect_mask = mask & bool(item.label == 1)
    data.exhaustive = torch.tensor([item.exact], dtype=torch.bool)
    data.source_circuit = torch.tensor([source], dtype=torch.long)
    data.graph_id = f"{cone.circuit}:{cone.root} {m.kind}: {m.description}"
    return data
