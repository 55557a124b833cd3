"""``run.json`` on disk: reading it (checked, :func:`read_manifest`; typed, :func:`load_manifest`),
recording the files a command wrote (:func:`record_files`), updating its fields, and what the
writers put there besides files (:func:`data_record`, :func:`versions`).  Claiming a folder, which
writes ``run.json`` first, is :mod:`hipool.runs.folder`'s."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Optional

from ..io import MAX_JSON_BYTES, atomic_write_text, read_json
from .manifest import MANIFEST, PATHS, DataSpec, Manifest, ModelFiles, RunFiles, check_manifest
from .unrecorded import unrecorded_files


def read_manifest(out: Path, advice: str = "") -> Optional[Dict[str, Any]]:
    """The ``run.json`` of folder ``out`` as it is written (``None`` when it has none), checked
    (:func:`~hipool.runs.manifest.check_manifest`); errors name the file and end with ``advice``."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = read_json(path, "run record", MAX_JSON_BYTES)
        return check_manifest(data, path)
    except ValueError as e:
        raise ValueError(f"{e}; cannot read this run folder's record{advice}") from None


def load_manifest(out: Path, advice: str = "") -> Optional[Manifest]:
    """The :class:`~hipool.runs.manifest.Manifest` of folder ``out`` (``None`` when it has no
    ``run.json``); errors as :func:`read_manifest`'s.  For a ``run.json`` without ``files``, they
    are found by the names of the layouts (:func:`~hipool.runs.unrecorded.unrecorded_files`)."""
    data = read_manifest(out, advice)
    return None if data is None else _manifest(data, out)


def _manifest(data: Dict[str, Any], out: Path) -> Manifest:
    manifest = Manifest.from_dict(data, Path(out) / MANIFEST)
    if not manifest.recorded:
        manifest.files = unrecorded_files(manifest)
    return manifest


def record_files(out: Path, *, models: Optional[Dict[str, ModelFiles]] = None, **paths: Optional[str]) -> RunFiles:
    """Record in ``run.json`` files the command wrote into run folder ``out``: ``paths`` by their
    :class:`~hipool.runs.manifest.RunFiles` field (``split="split.json"``), ``models`` merged model by model and fold by
    fold; the rest of ``run.json`` is kept as it is.  Only the process that claimed the folder calls
    this (a compare's parent process, process 0 of ``torchrun``).  Returns every file recorded now."""
    unknown = sorted(set(paths) - set(PATHS))
    if unknown:
        raise ValueError(
            f"record_files: no file named {', '.join(map(repr, unknown))} in a run record (known: {', '.join(PATHS)})"
        )
    data = read_manifest(out)
    if data is None:
        raise ValueError(f"--out {out}: no {MANIFEST} to record files in")
    manifest = _manifest(data, out)
    files = manifest.files.merge(RunFiles(**paths, models=models or {}))
    # what is written must read back: every path inside the folder (a ValueError naming it, before writing)
    RunFiles.from_dict(files.to_dict(), Path(out) / MANIFEST)
    if files != manifest.files or not manifest.recorded:
        atomic_write_text(Path(out) / MANIFEST, json.dumps({**data, "files": files.to_dict()}, indent=1))
    return files


def update_manifest(out: Path, **fields: Any) -> None:
    """Add or replace top-level fields of ``run.json`` (e.g. models added to a compare)."""
    manifest = read_manifest(out)
    if manifest is None:
        raise ValueError(f"--out {out}: no {MANIFEST} to update")
    manifest.update(fields)
    atomic_write_text(Path(out) / MANIFEST, json.dumps(manifest, indent=1))


def data_record(spec: str, data_root: Optional[str]) -> Dict[str, Any]:
    """How to load a run's dataset again (``hipool explain``, ``hipool report``, ``hipool
    predict``): the spec the user typed, made absolute when it is a relative path that names a
    file or folder (so that it names the same data from any folder) and ``load_dataset`` would
    read it as that path (not ``communities``, ``circuits`` or a named benchmark, which it reads
    by name whatever lies in the folder), and the data root, absolute."""
    from ..data.registry import reads_by_name

    if not os.path.isabs(spec) and not reads_by_name(spec) and os.path.exists(spec):
        spec = os.path.abspath(spec)
    return DataSpec(spec, None if data_root is None else os.path.abspath(data_root)).to_dict()


def versions() -> Dict[str, str]:
    """Versions of what a result depends on, for the records of a run."""
    import platform

    import numpy
    import torch
    import torch_geometric

    from .. import __version__

    return {
        "hipool": __version__,
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }
