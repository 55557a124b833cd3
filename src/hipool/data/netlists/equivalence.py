r"""Do two netlists compute the same function?  A check by simulation
(:mod:`hipool.data.netlists.simulate`) on the same vectors: what labels a mutated copy of a
circuit against its original.

:func:`compare_functions` simulates both on the vectors of
:func:`~hipool.data.netlists.vectors.choose_vectors`: every vector when there are at most
``exhaustive_inputs`` inputs (16 by default; then "equal" is a proof), otherwise
``num_random`` random vectors from ``seed`` (then "equal" means no difference was found, and
:attr:`FunctionComparison.note` says which vectors were used), plus any vectors the caller gives
(e.g. ones that activate a mutated gate).  The two must have the same input and output names
(pseudo ones included: see the simulator's full-scan convention), in any order: the second's
columns are matched to the first's by name; a mismatch is a ``ValueError`` naming the names
only one of them has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Union

import numpy as np

from .gates import GateNetlist
from .simulate import Simulator
from .vectors import choose_vectors, show_names, unpack


@dataclass
class FunctionComparison:
    """What :func:`compare_functions` found.

    Attributes:
        equal: no output differs on any vector simulated.
        num_vectors: how many vectors were simulated.
        exhaustive: whether they were every vector (then ``equal`` is exact).
        note: which vectors, in words (the fallback to random vectors is said here).
        differing: for each output that differs, on how many vectors (outputs in the first
            netlist's order; empty when ``equal``).
        num_differing_vectors: on how many vectors any output differs.
        first_vector: the index of the first vector on which they differ (None when ``equal``).
        witness: that vector's input values, by input name (None when ``equal``).
    """

    equal: bool
    num_vectors: int
    exhaustive: bool
    note: str
    differing: Dict[str, int] = field(default_factory=dict)
    num_differing_vectors: int = 0
    first_vector: Optional[int] = None
    witness: Optional[Dict[str, int]] = None


def _simulator(x: Union[GateNetlist, Simulator]) -> Simulator:
    if isinstance(x, Simulator):
        return x
    if isinstance(x, GateNetlist):
        return Simulator(x)
    raise ValueError(f"compare_functions: expected a GateNetlist or a Simulator, got {type(x).__name__}")


def _same_names(what: str, a: Sequence[str], b: Sequence[str], a_src: str, b_src: str) -> None:
    if sorted(a) != sorted(b):
        only_a = [n for n in a if n not in set(b)]
        only_b = [n for n in b if n not in set(a)]
        detail = []
        if only_a:
            detail.append(f"only {a_src} has {show_names(only_a)}")
        if only_b:
            detail.append(f"only {b_src} has {show_names(only_b)}")
        if not detail:  # the same names, but some repeated a different number of times
            detail.append("the same names, repeated differently")
        raise ValueError(f"the two netlists have different {what}: {'; '.join(detail)}")


def compare_functions(
    a: Union[GateNetlist, Simulator],
    b: Union[GateNetlist, Simulator],
    *,
    exhaustive_inputs: int = 16,
    num_random: int = 4096,
    seed: int = 0,
    extra: Optional[np.ndarray] = None,
) -> FunctionComparison:
    """Compare the functions of ``a`` and ``b`` (see the module docstring).  ``extra``:
    unpacked vectors (``[m, inputs]`` 0/1, columns in ``a``'s input order) simulated too."""
    sa, sb = _simulator(a), _simulator(b)
    src_a, src_b = sa.netlist.source or "the first", sb.netlist.source or "the second"
    if src_a == src_b:
        src_a, src_b = "the first", "the second"
    _same_names("inputs", sa.inputs, sb.inputs, src_a, src_b)
    _same_names("outputs", sa.outputs, sb.outputs, src_a, src_b)
    chosen = choose_vectors(
        len(sa.inputs), exhaustive_inputs=exhaustive_inputs, num_random=num_random, seed=seed, extra=extra
    )
    n = chosen.num_vectors
    out_a = sa.run_words(chosen.words, n)
    in_b = [sa.inputs.index(name) for name in sb.inputs]
    out_b = sb.run_words(chosen.words[in_b], n)
    out_b = out_b[[sb.outputs.index(name) for name in sa.outputs]]
    diff = out_a ^ out_b
    per_output = np.bitwise_count(diff).sum(axis=1) if hasattr(np, "bitwise_count") else unpack(diff, n).sum(axis=0)
    differing = {name: int(c) for name, c in zip(sa.outputs, per_output) if c}
    result = FunctionComparison(equal=not differing, num_vectors=n, exhaustive=chosen.exhaustive, note=chosen.note)
    if differing:
        any_diff = unpack(np.bitwise_or.reduce(diff, axis=0, keepdims=True), n)[:, 0]
        first = int(np.flatnonzero(any_diff)[0])
        vector = unpack(chosen.words[:, first // 64 : first // 64 + 1], 64)[first % 64]
        result.differing = differing
        result.num_differing_vectors = int(any_diff.sum())
        result.first_vector = first
        result.witness = {name: int(v) for name, v in zip(sa.inputs, vector)}
    return result
