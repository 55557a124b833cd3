r"""Precomputed coarsening: a non-learned pooler's whole hierarchy, computed once per graph and
cached on disk, then pooled along by ``pool: given`` (so training does no coarsening work).

A dataset spec ``DATASET@METHOD[:LEVELS]`` (e.g. ``PROTEINS@sep:2``, ``gates@graclus:3``;
:func:`split_spec`) loads ``DATASET`` and replaces its ``level_labels`` with ``LEVELS``
(default 2) nested partitions from ``METHOD`` (:data:`METHODS`):

* ``graclus``: :class:`~hipool.nn.contraction.Graclus` (seed 0), level by level;
* ``kmis``: :class:`~hipool.nn.kmis.KMISPooling` with ``k = 1`` and ``scorer="degree"`` (no
  learned score), level by level;
* ``ndp``: :func:`~hipool.nn.ndp.ndp_levels` with ``dropped="attach"`` (every dropped node joins
  a kept one, so each level is a partition);
* ``sep``: the first ``LEVELS`` levels of one coding tree of height ``LEVELS + 1``
  (:func:`~hipool.nn.sep.sep_levels`): the paper's single tree.

Column ``l - 1`` of ``level_labels`` is each input node's level-``l`` group within its graph
(numbered from 0), every column a coarsening of the one before, the layout ``pool: given``
reads (:mod:`hipool.nn.given`).  A model then pools with ``pool: given`` at each level, e.g.
``hipool compare --dataset PROTEINS@sep:2 --models gin-given,gin-global``.  The pooled graph of
a level is the groups joined by the edges between them (:class:`~hipool.nn.given.GivenPool`):
the method's partition, not its own pooled edges (NDP's Kron-reduced weights are not kept).

**Cache.**  ``<cache>/precoarsened/<method>-<levels>-<key>.pt``, the key a SHA-256 of the
format version, the method, the levels and every graph's node count and edges (so another
dataset, or edited graphs, get another file); written atomically, read with
``weights_only=True`` after its checksums, a bad file deleted and computed again
(:func:`~hipool.data.base.load_cache`).  Progress is shown with tqdm.
"""

from __future__ import annotations

import hashlib
import re
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data
from tqdm.auto import tqdm

from ..io import shown
from .base import LEVEL_LABELS, GraphDataset, load_cache

#: Version of the cache's layout and of the methods' settings (a change computes again).
FORMAT_VERSION = 1
#: Most levels a spec may ask for.
MAX_LEVELS = 8
#: ``@METHOD`` or ``@METHOD:LEVELS`` at the end of a dataset spec.
_SUFFIX = re.compile(r"@([a-z]+)(?::([0-9]+))?$")


def _compose(clusters: List[Tensor]) -> Tensor:
    """Per-level cluster maps (level ``l - 1`` nodes → level ``l`` nodes) → ``[N, L]`` labels of
    the input nodes."""
    cols, current = [], clusters[0]
    cols.append(current)
    for c in clusters[1:]:
        current = c[current]
        cols.append(current)
    return torch.stack(cols, dim=1)


def _by_module(make: Callable[[], torch.nn.Module]) -> Callable[[Data, int], Tensor]:
    def levels(g: Data, num_levels: int) -> Tensor:
        pool = make().eval()
        n = int(g.num_nodes)
        x, e, w = torch.zeros(n, 1), g.edge_index, getattr(g, "edge_weight", None)
        clusters = []
        with torch.no_grad():
            for _ in range(num_levels):
                out = pool(x, e, edge_weight=w)
                clusters.append(out.cluster)
                x, e, w = out.x, out.edge_index, out.edge_weight
        return _compose(clusters)

    return levels


def _graclus() -> torch.nn.Module:
    from ..nn.contraction import Graclus

    return Graclus(1, seed=0)


def _kmis() -> torch.nn.Module:
    from ..nn.kmis import KMISPooling

    return KMISPooling(1, 1, scorer="degree")


def _ndp(g: Data, num_levels: int) -> Tensor:
    from ..nn.ndp import ndp_levels

    outs = ndp_levels(
        g.edge_index, int(g.num_nodes), num_levels, edge_weight=getattr(g, "edge_weight", None), dropped="attach"
    )
    return _compose([o.cluster for o in outs])


def _sep(g: Data, num_levels: int) -> Tensor:
    from ..nn.sep import sep_levels

    return sep_levels(g.edge_index, int(g.num_nodes), num_levels + 1, getattr(g, "edge_weight", None))[:, :num_levels]


#: Method name → ``(graph, levels) -> [N, levels]`` int64 nested group ids.
METHODS: Dict[str, Callable[[Data, int], Tensor]] = {
    "graclus": _by_module(_graclus),
    "kmis": _by_module(_kmis),
    "ndp": _ndp,
    "sep": _sep,
}


def split_spec(spec: str) -> Tuple[str, Optional[Tuple[str, int]]]:
    """``"PROTEINS@sep:2"`` → ``("PROTEINS", ("sep", 2))``; a spec without a known ``@METHOD``
    suffix → ``(spec, None)`` (a path may hold an ``@``).  A known method with a bad level count
    is a ``ValueError`` naming the spec."""
    m = _SUFFIX.search(spec)
    if m is None or m.group(1) not in METHODS or m.start() == 0:
        return spec, None
    levels = 2 if m.group(2) is None else int(m.group(2)[:4])
    if not 1 <= levels <= MAX_LEVELS:
        raise ValueError(
            f"dataset {shown(spec)}: @{m.group(1)}:{m.group(2)} asks for {m.group(2)} levels; "
            f"give 1 to {MAX_LEVELS} (e.g. {spec[: m.start()]}@{m.group(1)}:2)"
        )
    return spec[: m.start()], (m.group(1), levels)


def _key(graphs, method: str, levels: int) -> str:
    h = hashlib.sha256(f"hipool-precoarsen/{FORMAT_VERSION}/{method}/{levels}".encode())
    for g in graphs:
        h.update(int(g.num_nodes).to_bytes(8, "little"))
        e = g.edge_index.to(torch.int64).contiguous()
        h.update(int(e.size(1)).to_bytes(8, "little") + e.numpy().tobytes())
        w = getattr(g, "edge_weight", None)
        if w is not None:
            h.update(b"w" + w.detach().to(torch.float64).contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def _compute(graphs, method: str, levels: int, progress: bool) -> Tuple[Tensor, Tensor]:
    run = METHODS[method]
    rows, counts = [], []
    for i, g in enumerate(tqdm(graphs, desc=f"precoarsening ({method})", unit="graph", disable=not progress)):
        try:
            labels = run(g, levels)
        except ValueError as e:
            raise ValueError(f"precoarsening with {method}: graph {i}: {e}") from None
        rows.append(labels.to(torch.int32))
        counts.append(int(g.num_nodes))
    return (torch.cat(rows) if rows else torch.zeros(0, levels, dtype=torch.int32)), torch.tensor(counts)


def precoarsen(
    dataset: GraphDataset,
    method: str,
    levels: int = 2,
    cache_dir: Optional[Path] = None,
    progress: bool = False,
) -> GraphDataset:
    """``dataset`` with every graph's ``level_labels`` replaced by ``levels`` nested partitions of
    ``method`` (see the module docstring), computed once and cached under ``cache_dir`` (default:
    hipool's cache folder).  The graphs are shallow copies: the input dataset is not changed."""
    from ..io import atomic_torch_save, describe_os_error
    from .tu import default_cache_dir

    if method not in METHODS:
        raise ValueError(f"precoarsen: unknown method {shown(method)}; choose from {', '.join(METHODS)}")
    if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= MAX_LEVELS:
        raise ValueError(f"precoarsen: 'levels' must be an int from 1 to {MAX_LEVELS}, got {shown(levels)}")
    graphs = list(dataset)
    folder = (cache_dir if cache_dir is not None else default_cache_dir()) / "precoarsened"
    path = folder / f"{method}-{levels}-{_key(graphs, method, levels)}.pt"
    sizes = [int(g.num_nodes) for g in graphs]

    def checked(packed):
        labels, counts = packed["labels"], packed["counts"]
        if (
            not isinstance(labels, Tensor)
            or labels.dtype != torch.int32
            or labels.dim() != 2
            or labels.size(1) != levels
            or not isinstance(counts, Tensor)
            or counts.tolist() != sizes
            or labels.size(0) != sum(sizes)
        ):
            raise ValueError("its labels do not fit the dataset's graphs")
        return labels, counts

    try:
        cached = load_cache(path, "precoarsening cache", checked, "computing it again")
    except OSError:
        cached = None
    notes = list(dataset.notes)
    if cached is None:
        t0 = time.perf_counter()
        labels, counts = _compute(graphs, method, levels, progress)
        notes.append(f"precoarsened by {method} ({levels} levels) in {time.perf_counter() - t0:.1f} s, cached")
        try:
            atomic_torch_save({"labels": labels, "counts": counts, "format": FORMAT_VERSION}, path)
        except OSError as e:
            warnings.warn(
                f"precoarsen: not cached ({describe_os_error(e)}); it is computed again next time", stacklevel=2
            )
    else:
        labels, _ = cached
        notes.append(f"precoarsened by {method} ({levels} levels), read from the cache")
    out, start = [], 0
    for g, n in zip(graphs, sizes):
        copy = g.clone() if hasattr(g, "clone") else g
        setattr(copy, LEVEL_LABELS, labels[start : start + n].to(torch.int64))
        start += n
        out.append(copy)
    return GraphDataset(
        name=f"{dataset.name}@{method}:{levels}",
        graphs=out,
        num_features=dataset.num_features,
        num_classes=dataset.num_classes,
        class_names=dataset.class_names,
        task_names=dataset.task_names,
        source=dataset.source,
        notes=notes,
        breakdown=dataset.breakdown,
        level_names=tuple(f"{method} {i}" for i in range(1, levels + 1)),
    )


__all__ = ["FORMAT_VERSION", "MAX_LEVELS", "METHODS", "precoarsen", "split_spec"]
