r"""Input vectors for the logic simulator (:mod:`hipool.data.netlists.simulate`): packing,
random and exhaustive vectors, the choice between them, and vector files.

A set of vectors is *unpacked*, a ``[vectors, inputs]`` array of 0/1 (one row per vector, one
column per input), or *packed*, ``[inputs, words]`` ``uint64``, where vector ``v`` is bit
``v % 64`` of word ``v // 64`` (the bits of the last word past the last vector are 0).

* :func:`exhaustive_words`: all ``2^k`` vectors of ``k`` inputs, input ``i`` of vector ``v``
  being bit ``i`` of ``v`` (so vector 5 of inputs ``a, b, c`` is ``a=1, b=0, c=1``); at most
  :data:`MAX_EXHAUSTIVE_INPUTS` inputs.
* :func:`random_words`: uniform random vectors from numpy's PCG64 generator seeded with
  ``seed``: the same seed gives the same vectors (with the same numpy).
* :func:`choose_vectors`: what a function check simulates: every vector when there are at
  most ``exhaustive_inputs`` inputs (default 16), otherwise ``num_random`` random ones (and a
  note saying so), plus any vectors the caller gives.
* :func:`read_vector_file`: vectors from a CSV file (see its docstring); a row of the wrong
  width is an error naming the file, the line, the expected and the given width.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np

from ...io import read_text

#: Most inputs :func:`exhaustive_words` enumerates (2^24 vectors: 256 Ki words per input).
MAX_EXHAUSTIVE_INPUTS = 24
#: Largest vector file :func:`read_vector_file` reads.
MAX_VECTOR_FILE_BYTES = 256 << 20
ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def num_words(num_vectors: int) -> int:
    """The 64-bit words ``num_vectors`` vectors take."""
    return (num_vectors + 63) // 64


def clear_tail(words: np.ndarray, num_vectors: int) -> np.ndarray:
    """``words`` (``[signals, words]``) with the bits past vector ``num_vectors`` set to 0, in place."""
    full, rest = divmod(num_vectors, 64)
    if full < words.shape[1]:
        if rest:
            words[:, full] &= np.uint64((1 << rest) - 1)
            full += 1
        words[:, full:] = 0
    return words


def show_names(names: Sequence[str], limit: int = 8) -> str:
    """The first ``limit`` of ``names``, comma-separated, and how many there are in all."""
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def pack(vectors: np.ndarray) -> np.ndarray:
    """Unpacked vectors (``[vectors, inputs]`` of 0/1: bool or int) as packed words
    (``[inputs, words]`` uint64); a ``ValueError`` for another shape or other values."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-d array [vectors, inputs], got shape {vectors.shape}")
    if vectors.dtype != bool:
        if not np.issubdtype(vectors.dtype, np.integer) or ((vectors != 0) & (vectors != 1)).any():
            raise ValueError(f"vectors must hold 0 and 1 only (got dtype {vectors.dtype})")
    n, k = vectors.shape
    bits = np.zeros((k, num_words(n) * 64), dtype=bool)
    bits[:, :n] = vectors.T
    return np.packbits(bits, axis=1, bitorder="little").view("<u8").astype(np.uint64)


def unpack(words: np.ndarray, num_vectors: int) -> np.ndarray:
    """Packed ``words`` (``[signals, words]`` uint64) as ``[num_vectors, signals]`` uint8 0/1."""
    raw = np.ascontiguousarray(words, dtype="<u8").view(np.uint8)
    bits = np.unpackbits(raw, axis=1, bitorder="little", count=num_vectors)
    return np.ascontiguousarray(bits.T)


def check_count(num_vectors: int, what: str = "the number of vectors") -> int:
    """``num_vectors`` if it is a positive int, else a ``ValueError`` naming ``what``."""
    if isinstance(num_vectors, bool) or not isinstance(num_vectors, (int, np.integer)) or num_vectors < 1:
        raise ValueError(f"{what} must be a positive int, got {num_vectors!r}")
    return int(num_vectors)


def random_words(num_inputs: int, num_vectors: int, seed: int = 0) -> np.ndarray:
    """``num_vectors`` uniform random vectors of ``num_inputs`` inputs, packed; the same for the
    same ``seed``."""
    check_count(num_vectors)
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 1 << 64, size=(num_inputs, num_words(num_vectors)), dtype=np.uint64)
    return clear_tail(words, num_vectors)


def exhaustive_words(num_inputs: int, limit: int = MAX_EXHAUSTIVE_INPUTS) -> np.ndarray:
    """All ``2^num_inputs`` vectors, packed: input ``i`` of vector ``v`` is bit ``i`` of ``v``.
    More than ``limit`` inputs is a ``ValueError``."""
    if num_inputs > limit:
        raise ValueError(
            f"{num_inputs} inputs are too many to simulate exhaustively (2^{num_inputs} vectors; at most "
            f"{limit} inputs): use random vectors"
        )
    n = 1 << num_inputs
    w = num_words(n)
    words = np.zeros((num_inputs, w), dtype=np.uint64)
    index = np.arange(w, dtype=np.uint64)
    for i in range(num_inputs):
        if i < 6:  # within a word: bit j of the word is bit i of j
            words[i] = np.uint64(sum(1 << j for j in range(64) if j >> i & 1))
        else:
            words[i] = np.where((index >> np.uint64(i - 6)) & np.uint64(1), ONES, np.uint64(0))
    return clear_tail(words, n)


@dataclass
class VectorSet:
    """Vectors chosen by :func:`choose_vectors`.

    Attributes:
        words: the vectors, packed (``[inputs, words]``).
        num_vectors: how many.
        exhaustive: whether they are every vector of the inputs (extra ones may follow).
        note: what they are, in words (``"all 32 vectors of 5 inputs"``, ``"40 inputs: more
            than 16 for exhaustive simulation; 4096 random vectors (seed 0)"``).
    """

    words: np.ndarray
    num_vectors: int
    exhaustive: bool
    note: str


def choose_vectors(
    num_inputs: int,
    *,
    exhaustive_inputs: int = 16,
    num_random: int = 4096,
    seed: int = 0,
    extra: Optional[np.ndarray] = None,
) -> VectorSet:
    """Every vector of ``num_inputs`` inputs when there are at most ``exhaustive_inputs``
    (capped at :data:`MAX_EXHAUSTIVE_INPUTS`), otherwise ``num_random`` random vectors from
    ``seed`` (the note says so); then the unpacked ``extra`` vectors (``[m, num_inputs]``), if
    given, e.g. vectors that activate a mutated gate."""
    if num_inputs <= min(exhaustive_inputs, MAX_EXHAUSTIVE_INPUTS):
        n = 1 << num_inputs
        words, exhaustive = exhaustive_words(num_inputs), True
        note = f"all {n} vectors of {num_inputs} inputs"
    else:
        n = check_count(num_random, "num_random")
        words, exhaustive = random_words(num_inputs, n, seed), False
        note = (
            f"{num_inputs} inputs: more than {exhaustive_inputs} for exhaustive simulation; "
            f"{n} random vectors (seed {seed})"
        )
    if extra is not None:
        extra = np.asarray(extra)
        if extra.ndim != 2 or extra.shape[1] != num_inputs:
            got = extra.shape[1] if extra.ndim == 2 else f"(an array of shape {extra.shape})"
            raise ValueError(f"extra vectors of width {got}; expected {num_inputs} (one column per input)")
        if len(extra):
            both = np.concatenate([unpack(words, n), extra.astype(np.uint8)])
            words, n = pack(both), len(both)
            note += f", and {len(extra)} given"
    return VectorSet(words, n, exhaustive, note)


def read_vector_file(path: Union[str, Path], inputs: Sequence[str], max_rows: Optional[int] = None) -> np.ndarray:
    """The vectors of a CSV file as ``[vectors, len(inputs)]`` uint8 0/1.

    Every field is ``0`` or ``1`` except, optionally, a header: when any field of the first row
    is something else, the first row names the columns; it must name every input (in any
    order; other columns, such as the outputs of an earlier ``hipool simulate``, are ignored).
    Without a header a row holds one value per input, in the order of ``inputs``.  Blank lines
    are skipped.  Errors (``ValueError``) name the file and line: a row of the wrong width
    (expected and got), a value other than 0/1, a header without some input, no vectors, or more
    than ``max_rows`` of them."""
    path = Path(path)
    text = read_text(path, "vector file", MAX_VECTOR_FILE_BYTES)
    rows = [(number, row) for number, row in enumerate(csv.reader(text.splitlines()), start=1) if row]
    if not rows:
        raise ValueError(f"{path}: no vectors (expected rows of 0/1, one value per input: {show_names(inputs)})")
    k = len(inputs)
    columns: List[int] = list(range(k))
    width, per = k, "one per input"
    first = [f.strip() for f in rows[0][1]]
    if any(f not in ("0", "1") for f in first):
        at = {name: i for i, name in reversed(list(enumerate(first)))}
        missing = [name for name in inputs if name not in at]
        if missing:
            raise ValueError(
                f"{path}:{rows[0][0]}: the header names no column for input(s) {show_names(missing)} "
                f"(the circuit's {k} inputs: {show_names(inputs)})"
            )
        columns, width, per, rows = [at[name] for name in inputs], len(first), "one per header column", rows[1:]
        if not rows:
            raise ValueError(f"{path}: a header and no vectors")
    if max_rows is not None and len(rows) > max_rows:
        raise ValueError(f"{path}: {len(rows):,} vectors; at most {max_rows:,} are simulated at once")
    out = np.empty((len(rows), k), dtype=np.uint8)
    for i, (number, row) in enumerate(rows):
        if len(row) != width:
            raise ValueError(
                f"{path}:{number}: a row of {len(row)} values; expected {width} ({per}); "
                f"the circuit's {k} inputs: {show_names(inputs)}"
            )
        for j, c in enumerate(columns):
            f = row[c].strip()
            if f not in ("0", "1"):
                raise ValueError(f"{path}:{number}: value {f[:20]!r} for input {inputs[j]!r} is not 0 or 1")
            out[i, j] = f == "1"
    return out
