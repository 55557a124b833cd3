"""Run folders: what wrote them, so that a re-run resumes and another command cannot overwrite them.

Every command that writes a run folder (``hipool train``, ``hipool compare``) first
*claims* it with :func:`claim_run_folder`.  The claim is ``run.json``::

    {"format": "hipool-run/1", "command": "compare", "identity": {...}, "argv": [...], ...}

``identity`` holds every setting that changes results (dataset and its hash,
configs, epochs, seeds, ...).  Re-running the same command with the same identity
resumes; anything else is refused with a clear error and nothing is written:
a folder that ``hipool train`` wrote cannot be reused by ``hipool compare``, a
compare with other settings cannot mix its results with these, and a folder
with files hipool did not write is left alone.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from .io import atomic_write_text

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


def read_manifest(out: Path) -> Optional[Dict[str, Any]]:
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read this run folder's record ({e}); choose another --out") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a hipool run record; choose another --out")
    return data


def check_run_folder(out: Path, command: str, identity: Dict[str, Any]) -> bool:
    """Whether ``out`` holds an earlier run of this very ``command`` and ``identity`` (resume);
    ``False`` for a new or empty folder; a ``ValueError`` that names the conflict otherwise.
    Writes nothing."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file, not a folder")
    manifest = read_manifest(out)
    if manifest is None:
        if out.is_dir():
            stray = sorted(p.name for p in out.iterdir())
            if stray:
                raise ValueError(f"--out {out}: the folder holds files that hipool did not write "
                                 f"({', '.join(stray[:3])}{', ...' if len(stray) > 3 else ''}); "
                                 f"choose another --out (nothing was written)")
        return False
    if manifest.get("command") != command:
        raise ValueError(f"--out {out}: this folder holds a `hipool {manifest.get('command')}` run, "
                         f"not a `hipool {command}` run; choose another --out (nothing was written)")
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
    resumed run."""
    resumed = check_run_folder(out, command, identity)
    if not resumed:
        from . import __version__
        record = {"format": FORMAT, "command": command, "identity": identity,
                  "argv": argv,
                  "cwd": os.getcwd(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "hipool": __version__, **(extra or {})}
        atomic_write_text(Path(out) / MANIFEST, json.dumps(record, indent=1, sort_keys=False))
    return resumed


def write_manifest(out: Path, command: str, **fields: Any) -> None:
    """Write ``run.json`` for a command that always starts afresh (``hipool demo``); refuses a folder
    that holds another command's run."""
    manifest = read_manifest(out)
    if manifest is not None and manifest.get("command") != command:
        raise ValueError(f"--out {out}: this folder holds a `hipool {manifest.get('command')}` run; "
                         f"choose another --out (nothing was written)")
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
