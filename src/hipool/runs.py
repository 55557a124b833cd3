"""Run folders: what wrote them, so that a re-run resumes and another command cannot overwrite them.

Every command that writes a run folder (``hipool train``, ``hipool compare``) first
*claims* it with :func:`claim_run_folder`.  The claim is ``run.json``::

    {"format": "hipool-run/1", "command": "compare", "identity": {...}, "argv": [...], ...}

``identity`` holds every setting that changes results (dataset and its hash,
configs, epochs, seeds, ...).  Re-running the same command with the same identity
resumes; anything else is refused with a clear error and nothing is written:
a folder that ``hipool train`` wrote cannot be reused by ``hipool compare``, a
compare with other settings cannot mix its results with these, and a folder
with files hipool did not write is left alone (``hipool demo`` too, which always
starts afresh).  While a command writes a run folder it holds it
(:func:`run_folder_lock`): a second command on the same folder at the same time is
refused.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from .io import (
    MAX_JSON_BYTES,
    WriteError,
    atomic_write_text,
    is_temp_name,
    os_reason,
    read_json,
    remove_stale_temps,
    shown,
)

MANIFEST = "run.json"
FORMAT = "hipool-run/1"


def _flat(d: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _differences(old: Dict[str, Any], new: Dict[str, Any]) -> str:
    old, new = _flat(old), _flat(new)
    keys = sorted(set(old) | set(new))
    diffs = [f"{k}: {json.dumps(old.get(k), sort_keys=True)} there, {json.dumps(new.get(k), sort_keys=True)} now"
             for k in keys if json.dumps(old.get(k), sort_keys=True) != json.dumps(new.get(k), sort_keys=True)]
    shown = [d if len(d) <= 300 else d[:297] + "..." for d in diffs[:4]]
    return "; ".join(shown) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")


#: The fields of ``run.json`` that readers use, and their types.
_FIELDS = {"command": str, "identity": dict, "argv": (list, type(None)), "started": str, "cwd": str,
           "hipool": str, "versions": dict, "data": dict, "models": (dict, list)}


def check_name(name: Any) -> bool:
    """A model name that is a plain folder name (run folders hold ``<model>/`` and ``units/<model>/``)."""
    return isinstance(name, str) and 0 < len(name) <= 200 and name not in (".", "..") \
        and not any(c in name for c in "/\\\0")


def check_manifest(data: Any, path: Path) -> Dict[str, Any]:
    """``data`` if it is a ``run.json`` record whose fields have the types readers expect; a
    ``ValueError`` naming the file and the field otherwise."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a hipool run record (no \"format\": \"{FORMAT}\")")
    if "command" not in data:
        raise ValueError(f"{path}: the run record has no 'command'")
    for key, types in _FIELDS.items():
        if key in data and not isinstance(data[key], types):
            raise ValueError(f"{path}: the run record's {key!r} is {shown(data[key], 80)}, not of the type "
                             f"hipool writes there")
    if isinstance(data.get("argv"), list) and not all(isinstance(a, str) for a in data["argv"]):
        raise ValueError(f"{path}: the run record's 'argv' must be a list of strings")
    for key in ("spec", "data_root"):
        value = data.get("data", {}).get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{path}: the run record's 'data.{key}' is {shown(value, 80)}, not a string")
    models = data.get("models")
    expected = {"compare": dict, "demo": list}.get(data["command"])
    if models is not None and expected is not None and not isinstance(models, expected):
        raise ValueError(f"{path}: the run record's 'models' must be a {'mapping' if expected is dict else 'list'} "
                         f"in a {data['command']} run")
    if models is not None:
        names = list(models)
        bad = next((n for n in names if not check_name(n)), None)
        if bad is not None:
            raise ValueError(f"{path}: the run record names a model {shown(bad, 80)}, which is not a folder name")
        if isinstance(models, dict):
            for name, record in models.items():
                if not isinstance(record, dict) or not isinstance(record.get("config", {}), dict):
                    raise ValueError(f"{path}: the run record's 'models.{name}' must be a mapping with a "
                                     f"'config' mapping")
    return data


def read_manifest(out: Path, advice: str = "") -> Optional[Dict[str, Any]]:
    """The ``run.json`` of folder ``out`` (``None`` when it has none), checked
    (:func:`check_manifest`); errors name the file and end with ``advice``."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = read_json(path, "run record", MAX_JSON_BYTES)
        return check_manifest(data, path)
    except ValueError as e:
        raise ValueError(f"{e}; cannot read this run folder's record{advice}") from None


def _foreign_files(out: Path) -> None:
    """Refuse a folder without ``run.json`` that holds files hipool did not write (nothing is written)."""
    if out.is_dir():
        stray = sorted(p.name for p in out.iterdir() if not is_temp_name(p.name))  # an interrupted claim's
        if stray:
            raise ValueError(f"--out {out}: the folder holds files that hipool did not write "
                             f"({', '.join(stray[:3])}{', ...' if len(stray) > 3 else ''}); "
                             f"choose another --out (nothing was written)")


@contextmanager
def run_folder_lock(out: Path) -> Iterator[None]:
    """Hold the run folder ``out`` (made if missing) for this process while the block runs: a second
    hipool command on the same folder meanwhile is refused with a ``ValueError`` at once instead of
    mixing its files with this one's.  The lock is the operating system's (``flock`` on the folder
    itself: no lock file), so a killed process leaves none behind.  Without ``flock`` (not POSIX, or
    a file system without locks) the block runs unlocked."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, not a folder")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as e:
        raise WriteError(e.errno, e.strerror or os_reason(e), str(out)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"--out {out}: another hipool command is writing this run folder now; wait for it to "
                             f"end, or choose another --out (nothing was written)") from None
        except OSError:  # e.g. a file system without locks: go on unlocked
            pass
        yield
    finally:
        os.close(fd)


def check_run_folder(out: Path, command: str, identity: Dict[str, Any]) -> bool:
    """Whether ``out`` holds an earlier run of this very ``command`` and ``identity`` (resume);
    ``False`` for a new or empty folder; a ``ValueError`` that names the conflict otherwise.
    Writes nothing."""
    manifest = check_fresh_folder(out, command)
    if manifest is None:
        return False
    old = manifest.get("identity", {})
    normalized = json.loads(json.dumps(identity))
    if old != normalized:
        raise ValueError(f"--out {out}: this folder holds a `hipool {command}` run with other settings "
                         f"({_differences(old, normalized)}); repeat that command to resume it, or choose "
                         f"another --out (nothing was written)")
    return True


def claim_run_folder(out: Path, command: str, identity: Dict[str, Any],
                     extra: Optional[Dict[str, Any]] = None, argv: Optional[List[str]] = None) -> bool:
    """Check ``out`` (:func:`check_run_folder`) and, for a new run, write its ``run.json``.
    ``argv`` is the command line, recorded for the summary.  Returns whether this is a
    resumed run.  The folder is cleared of the temporary files that an interrupted run
    left (:func:`~hipool.io.remove_stale_temps`)."""
    resumed = check_run_folder(out, command, identity)
    remove_stale_temps(out)
    if not resumed:
        from . import __version__
        record = {"format": FORMAT, "command": command, "identity": identity,
                  "argv": argv,
                  "cwd": os.getcwd(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "hipool": __version__, **(extra or {})}
        atomic_write_text(Path(out) / MANIFEST, json.dumps(record, indent=1, sort_keys=False))
    return resumed


def check_fresh_folder(out: Path, command: str) -> Optional[Dict[str, Any]]:
    """The checks of :func:`write_manifest`, which write nothing: ``out`` is a new or empty folder, or
    holds a run of ``command``; a folder that holds another command's run, or files hipool did not
    write, is a ``ValueError``.  Returns the run record there (``None`` for a new folder)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, not a folder")
    manifest = read_manifest(out, advice="; choose another --out")
    if manifest is None:
        _foreign_files(out)
    elif manifest.get("command") != command:
        raise ValueError(f"--out {out}: this folder holds a `hipool {manifest.get('command')}` run, "
                         f"not a `hipool {command}` run; choose another --out (nothing was written)")
    return manifest


def write_manifest(out: Path, command: str, **fields: Any) -> None:
    """Write ``run.json`` for a command that always starts afresh (``hipool demo``); refuses a folder
    that holds another command's run or files hipool did not write (:func:`check_fresh_folder`), and
    clears the temporary files an interrupted run left (:func:`~hipool.io.remove_stale_temps`; those
    of older hipool versions only from a folder that holds a run already)."""
    manifest = check_fresh_folder(out, command)
    remove_stale_temps(out, legacy=manifest is not None)
    from . import __version__
    record = {"format": FORMAT, "command": command, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "hipool": __version__, **fields}
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(out) / MANIFEST, json.dumps(record, indent=1))


def update_manifest(out: Path, **fields: Any) -> None:
    """Add or replace top-level fields of ``run.json`` (e.g. models added to a compare)."""
    manifest = read_manifest(out)
    if manifest is None:
        raise ValueError(f"--out {out}: no {MANIFEST} to update")
    manifest.update(fields)
    atomic_write_text(Path(out) / MANIFEST, json.dumps(manifest, indent=1))


def read_splits(path: Path, *, dataset: str, labels: List[int],
                parts: Sequence[str] = ()) -> List[Dict[str, List[int]]]:
    """:func:`~hipool.data.splits.load_splits` for a file of a run folder (or ``--splits``): every
    problem a ``ValueError`` naming the file; each split a mapping of index lists with (at least)
    ``parts``, each index a graph of the dataset, in no two parts of one split."""
    from .data.splits import load_splits

    path = Path(path)
    splits = load_splits(path, dataset=dataset, labels=labels)
    if not splits:
        raise ValueError(f"splits file {path}: holds no split")
    for i, split in enumerate(splits):
        missing = [p for p in parts if p not in split]
        if missing:
            raise ValueError(f"splits file {path}: split {i} has no {', '.join(map(repr, missing))} part "
                             f"(it has {', '.join(map(shown, split)) or 'none'})")
        seen: Dict[int, str] = {}
        for part, idx in split.items():
            for j in idx:
                if j in seen and seen[j] != part:
                    raise ValueError(f"splits file {path}: split {i} has graph {j} in both {seen[j]!r} and {part!r}")
                seen[j] = part
    return splits


def data_record(spec: str, data_root: Optional[str]) -> Dict[str, Any]:
    """How to load a run's dataset again (``hipool explain``, ``hipool report``): the spec the
    user typed and the data root, absolute."""
    return {"spec": spec, "data_root": None if data_root is None else os.path.abspath(data_root)}


def versions() -> Dict[str, str]:
    """Versions of what a result depends on, for the records of a run."""
    import platform

    import numpy
    import torch
    import torch_geometric

    from . import __version__
    return {"hipool": __version__, "torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
            "numpy": numpy.__version__, "python": platform.python_version()}
