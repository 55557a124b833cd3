"""Atomic file writes: a reader never sees half a file, a crash never leaves one."""
from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Tuple, Union

import torch

PathLike = Union[str, os.PathLike]


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def atomic_torch_save(obj: Any, path: PathLike) -> Path:
    """``torch.save`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def read_yaml(path: PathLike, what: str, *, nodes: bool = False) -> Tuple[Any, Optional[Any]]:
    """``(data, root node)`` of a YAML file (the node, with line marks, only when ``nodes``).

    Errors are ``ValueError``s that name ``what`` the file is and the file and line.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ValueError(f"{what} {path}: cannot read it ({e.strerror})") from None
    try:
        return yaml.safe_load(text), (yaml.compose(text) if nodes else None)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ValueError(f"{where}: invalid YAML: {getattr(e, 'problem', None) or e}") from None


def key_line(node: Any, message: str) -> Optional[int]:
    """The 1-based line, in a composed YAML mapping ``node``, of the first key quoted in ``message``
    (``'conv' must be ...``, ``'schedule[0]' is ...``, ``unknown key(s) 'foo'``); ``None`` if absent."""
    import re

    import yaml

    m = re.search(r"'([A-Za-z_]\w*)", message)
    if m is None or not isinstance(node, yaml.MappingNode):
        return None
    for key_node, _ in node.value:
        if key_node.value == m.group(1):
            return key_node.start_mark.line + 1
    return None


def with_line(error: ValueError, source: str, node: Any) -> ValueError:
    """``error`` (a message starting with ``source``) pointed at ``source:LINE`` of the key it names."""
    message = str(error)
    line = key_line(node, message[len(source):] if message.startswith(source) else message)
    if line is None:
        return error
    path = source.split(" (")[0]
    rest = message[len(source):].lstrip(": ") if message.startswith(source) else message
    tail = source[len(path):]
    return ValueError(f"{path}:{line}{tail}: {rest}")


def strict_json(obj: Any) -> Any:
    """``obj`` with every NaN float as ``None`` (nested dicts and lists), so that JSON files stay standard."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    return obj


def json_text(obj: Any) -> str:
    """Standard JSON (NaN as null), indented, for the result files hipool writes."""
    return json.dumps(strict_json(obj), indent=1, allow_nan=False)
