r"""``hipool simulate FILE --out OUT.csv``: simulate a gate-level netlist on input vectors and
write what it computes, one row per vector.

The vectors: ``--vectors N`` random ones from ``--seed S`` (default 1024 from seed 0),
``--exhaustive`` every vector (input ``i`` of row ``v`` is bit ``i`` of ``v``), or
``--inputs VECTORS.csv`` the rows of a vector file
(:func:`~hipool.data.netlists.vectors.read_vector_file`).  The CSV has a header, a column
per input and then per output, pseudo ones included (the simulator's full-scan convention:
a flip-flop's output ``q`` is an input, its data input the output ``q.D``), named as the
simulator names them, and 0/1 values; it is written atomically (a reader never sees half of
it) and is the same for the same seed.  At most :data:`MAX_ROWS` rows: ``--exhaustive`` on
more than 20 inputs is an error (use random vectors).  A progress bar shows when a run takes
more than 2 s (not with ``--no-progress``).
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from tqdm.auto import tqdm

from ...io import atomic_path
from .simulate import read_simulator
from .vectors import exhaustive_words, num_words, pack, random_words, read_vector_file, unpack

#: Most rows (vectors) one ``hipool simulate`` writes.
MAX_ROWS = 1 << 20
#: The most inputs ``--exhaustive`` takes: 2^20 = :data:`MAX_ROWS` rows.
MAX_EXHAUSTIVE_ROWS_INPUTS = 20
#: Vectors simulated and written per chunk.
CHUNK_VECTORS = 1 << 16


@dataclass
class SimulateRequest:
    """What ``hipool simulate`` was asked to do (see the module docstring)."""

    file: Path
    out: Path
    vectors: Optional[int] = None
    seed: int = 0
    exhaustive: bool = False
    inputs: Optional[Path] = None
    progress: bool = True


def _rows_bytes(bits: np.ndarray) -> bytes:
    """``bits`` (``[rows, columns]`` uint8 0/1) as CSV lines of ``0``/``1``."""
    n, c = bits.shape
    buf = np.full((n, 2 * c), ord(","), dtype=np.uint8)
    buf[:, 0::2] = bits + ord("0")
    buf[:, -1] = ord("\n")
    return buf.tobytes()


def run_simulate(req: SimulateRequest) -> str:
    """Simulate and write the CSV; the one-line summary of what was done."""
    chosen = sum([req.vectors is not None, req.exhaustive, req.inputs is not None])
    if chosen > 1:
        raise ValueError("give one of --vectors, --exhaustive and --inputs")
    started = time.perf_counter()
    sim = read_simulator(req.file)
    k = len(sim.inputs)
    if req.exhaustive:
        if k > MAX_EXHAUSTIVE_ROWS_INPUTS:
            raise ValueError(
                f"{req.file}: --exhaustive: {k} inputs (pseudo-inputs of flip-flops included) have 2^{k} "
                f"vectors, more than the {MAX_ROWS:,} rows hipool simulate writes (at most "
                f"{MAX_EXHAUSTIVE_ROWS_INPUTS} inputs); use --vectors N for random vectors"
            )
        n, words, what = 1 << k, exhaustive_words(k), f"all {1 << k} vectors"
    elif req.inputs is not None:
        vectors = read_vector_file(req.inputs, sim.inputs, max_rows=MAX_ROWS)
        n, words, what = len(vectors), pack(vectors), f"{len(vectors)} vectors from {req.inputs}"
    else:
        n = 1024 if req.vectors is None else req.vectors
        if not 1 <= n <= MAX_ROWS:
            raise ValueError(f"--vectors must be from 1 to {MAX_ROWS:,}, got {n}")
        words, what = random_words(k, n, req.seed), f"{n} random vectors (seed {req.seed})"
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([*sim.inputs, *sim.outputs])
    step = num_words(CHUNK_VECTORS)
    chunks = range(0, words.shape[1], step)
    sim_s = 0.0
    with atomic_path(req.out) as tmp, open(tmp, "wb") as f:
        f.write(header.getvalue().encode("utf-8"))
        bar = tqdm(total=n, desc="simulating", unit="vector", disable=not req.progress, delay=2, leave=False)
        for lo in chunks:
            part = words[:, lo : lo + step]
            m = min(n - lo * 64, part.shape[1] * 64)
            t = time.perf_counter()
            outs = sim.run_words(part, m)
            sim_s += time.perf_counter() - t
            f.write(_rows_bytes(np.concatenate([unpack(part, m), unpack(outs, m)], axis=1)))
            bar.update(m)
        bar.close()
    flops = len(sim.inputs) - sum(g.kind == "INPUT" for g in sim.netlist.gates)
    rate = sim.num_gates * n / sim_s if sim_s > 0 else float("inf")
    cut = f" (pseudo ones of {flops} flip-flops included: full scan)" if flops else ""
    return (
        f"{req.file}: {k} inputs and {len(sim.outputs)} outputs{cut}, "
        f"{sim.num_gates:,} gates in {sim.depth} levels; {what} -> {req.out} "
        f"({time.perf_counter() - started:.2f} s; {rate:,.0f} gate evaluations/s)"
    )
