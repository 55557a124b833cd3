"""Claims and locks: the checks that a run folder is new, empty or holds this very run
(:func:`check_fresh_folder`, :func:`check_run_folder`), the claim that writes its ``run.json``
(:func:`claim_run_folder`, :func:`write_manifest`) and the lock a command holds while it writes
the folder (:func:`run_folder_lock`).  A refusal writes nothing."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from ..io import WriteError, atomic_write_text, is_temp_name, os_reason, remove_stale_temps, shown
from .manifest import FORMAT, MANIFEST
from .store import read_manifest


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
    diffs = [
        f"{k if k.isprintable() else shown(k)}: {json.dumps(old.get(k), sort_keys=True)} there, "
        f"{json.dumps(new.get(k), sort_keys=True)} now"
        for k in keys
        if json.dumps(old.get(k), sort_keys=True) != json.dumps(new.get(k), sort_keys=True)
    ]
    cut = [d if len(d) <= 300 else d[:297] + "..." for d in diffs[:4]]
    return "; ".join(cut) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")


def _foreign_files(out: Path) -> None:
    """Refuse a folder without ``run.json`` that holds files hipool did not write (nothing is written)."""
    if out.is_dir():
        stray = sorted(p.name for p in out.iterdir() if not is_temp_name(p.name))  # an interrupted claim's
        if stray:
            raise ValueError(
                f"--out {out}: the folder holds files that hipool did not write "
                f"({', '.join(stray[:3])}{', ...' if len(stray) > 3 else ''}); "
                f"choose another --out (nothing was written)"
            )


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
            raise ValueError(
                f"--out {out}: another hipool command is writing this run folder now; wait for it to "
                f"end, or choose another --out (nothing was written)"
            ) from None
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
        raise ValueError(
            f"--out {out}: this folder holds a `hipool {command}` run with other settings "
            f"({_differences(old, normalized)}); repeat that command to resume it, or choose "
            f"another --out (nothing was written)"
        )
    return True


def claim_run_folder(
    out: Path,
    command: str,
    identity: Dict[str, Any],
    extra: Optional[Dict[str, Any]] = None,
    argv: Optional[List[str]] = None,
) -> bool:
    """Check ``out`` (:func:`check_run_folder`) and, for a new run, write its ``run.json``.
    ``argv`` is the command line, recorded for the summary.  Returns whether this is a
    resumed run.  The folder is cleared of the temporary files that an interrupted run
    left (:func:`~hipool.io.remove_stale_temps`)."""
    resumed = check_run_folder(out, command, identity)
    remove_stale_temps(out)
    if not resumed:
        from .. import __version__

        record = {
            "format": FORMAT,
            "command": command,
            "identity": identity,
            "argv": argv,
            "cwd": os.getcwd(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "hipool": __version__,
            **(extra or {}),
            "files": {},
        }
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
    elif manifest["command"] != command:
        there = manifest["command"] if manifest["command"].isprintable() else shown(manifest["command"], 40)
        raise ValueError(
            f"--out {out}: this folder holds a `hipool {there}` run, "
            f"not a `hipool {command}` run; choose another --out (nothing was written)"
        )
    return manifest


def write_manifest(out: Path, command: str, **fields: Any) -> None:
    """Write ``run.json`` for a command that always starts afresh (``hipool demo``); refuses a folder
    that holds another command's run or files hipool did not write (:func:`check_fresh_folder`), and
    clears the temporary files an interrupted run left (:func:`~hipool.io.remove_stale_temps`; those
    of older hipool versions only from a folder that holds a run already)."""
    manifest = check_fresh_folder(out, command)
    remove_stale_temps(out, legacy=manifest is not None)
    from .. import __version__

    record = {
        "format": FORMAT,
        "command": command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "hipool": __version__,
        **fields,
        "files": {},
    }
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(out) / MANIFEST, json.dumps(record, indent=1))
