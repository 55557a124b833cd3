"""Files in and out: atomic writes, and bounded, strict reads of what users and run folders hand in.

**Writes** are atomic (:func:`atomic_path`): a reader never sees half a file.  A
process killed while writing leaves its temporary file, ``.<name>.pid<PID>.<random>.tmp``
next to the target; :func:`remove_stale_temps` removes those whose process is gone
(every command that writes a run folder calls it first).  A write that fails raises
:class:`WriteError` (an ``OSError``) naming the target file and the cause; torch's
messages for a full disk (``unexpected pos``, ``file write failed``) become
"no space left on device".

**Reads** of files given by users or found in run folders are bounded and every
problem is a ``ValueError`` naming the file (and line, where there is one):

====================================  =====================================================
YAML (model and run configs, grids)   at most :data:`MAX_YAML_BYTES` (1 MiB), UTF-8; a key
                                      may appear once per mapping, keys are text; plain YAML
                                      only (no ``!!timestamp``, ``!!binary``, ``!!set``, ...;
                                      an unquoted date stays text, and so do octal ``010``,
                                      hex ``0x10`` and base-60 ``1:30``); aliases may expand the
                                      document to at most :data:`MAX_YAML_VALUES` (10,000)
                                      values, nested at most :data:`MAX_YAML_DEPTH` (32) deep
JSON (``run.json``, results, units)   at most :data:`MAX_JSON_BYTES` (64 MiB), UTF-8
text (``metrics.csv``, ...)           at most :data:`MAX_TEXT_BYTES` (64 MiB), UTF-8
====================================  =====================================================

Values quoted in error messages are cut to :data:`MAX_SHOWN` (200) characters (:func:`shown`).
A folder or a socket is refused; a named pipe is opened without waiting for a writer (one
nobody writes to reads as empty, instead of hanging); a path that is not a ``str`` or
``pathlib.Path`` is a ``ValueError`` (:func:`as_path`).
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import reprlib
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple, Union

import torch

PathLike = Union[str, os.PathLike]

#: Largest YAML file read (model configs, run configs, grids are a few hundred bytes).
MAX_YAML_BYTES = 1 << 20
#: Most values (scalars, lists, mappings) a YAML document may expand to through its aliases.
MAX_YAML_VALUES = 10_000
#: Deepest nesting of lists and mappings in a YAML document.
MAX_YAML_DEPTH = 32
#: Largest JSON file of a run folder read (``run.json``, ``result.json``, unit records).
MAX_JSON_BYTES = 64 << 20
#: Largest other text file of a run folder read (``metrics.csv``, ``config.yaml``, ``summary.md``).
MAX_TEXT_BYTES = 64 << 20
#: Longest value quoted in an error message.
MAX_SHOWN = 200

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 160
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8
_REPR.maxlevel = 3
_REPR.maxlong = 60


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """``repr(value)`` for an error message: long strings, lists and mappings abridged, at most
    ``limit`` characters (a 1 MB value in a config must not become a 1 MB message)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    try:
        text = _REPR.repr(value)
    except Exception:  # e.g. an int too long to print
        text = f"<{type(value).__name__} too large to show>"
    if "\n" in text:  # an object's repr over several lines (a str's repr has none)
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` on one line (runs of white space as one space), cut to at most ``limit``
    characters (``...`` at the end when cut): for quoting another error's message."""
    text = " ".join(text[: limit * 4].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cut(text: str, limit: int = 1000) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB" if n >= 1 << 10 else f"{n} bytes"


# -- OS errors ---------------------------------------------------------------------------------
_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EEXIST: "exists and is not a folder",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOENT: "no such file or folder",
    errno.ELOOP: "too many levels of symbolic links",
}


def os_reason(e: OSError) -> str:
    """The cause of ``e`` in a few words: ``no space left on device``, ``permission denied``, ..."""
    if e.errno in _REASONS:
        return _REASONS[e.errno]
    text = e.strerror or str(e) or type(e).__name__
    return text[:1].lower() + text[1:]


def describe_os_error(e: OSError) -> str:
    """One line for the user: the file and the cause."""
    if isinstance(e, WriteError):
        return str(e)
    if e.filename is not None:
        return f"{_cut(str(e.filename))}: {os_reason(e)}"
    return os_reason(e)


class WriteError(OSError):
    """A write that failed: names the file meant (not the temporary one) and the cause."""

    def __str__(self) -> str:
        return f"cannot write {_cut(str(self.filename))}: {os_reason(self)}"


def _write_error(e: OSError, path: Path) -> WriteError:
    return WriteError(e.errno, e.strerror or os_reason(e), str(path))


#: torch.save's messages when the file cannot be written to the end (a full disk, mostly).
_TORCH_WRITE_FAILED = ("unexpected pos", "enforce fail at inline_container", "file write failed")


def torch_load_reason(e: BaseException) -> str:
    """A short reason why ``torch.load(..., weights_only=True)`` failed on a file."""
    text = str(e).strip()
    if "Weights only load failed" in text:
        return "not a torch file of tensors and plain values"
    if isinstance(e, OSError):
        return os_reason(e)
    return clip(text.splitlines()[0].split(". ")[0] if text else type(e).__name__, 160)


def torch_file_damage(path: PathLike) -> Optional[str]:
    """Why the file ``torch.save`` wrote at ``path`` must not be loaded, or ``None`` when it is intact
    or not a zip archive at all (``torch.load`` then says what it is).  ``torch.save`` writes
    *stored* (uncompressed) members and torch checks neither their CRC-32 (a changed byte of a
    weight would load as another weight) nor their compression (a compressed member of a few
    KiB may inflate to gigabytes): a compressed member or a CRC mismatch is the reason."""
    import zipfile

    try:
        if not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as archive:
            packed = next((m.filename for m in archive.infolist() if m.compress_type != zipfile.ZIP_STORED), None)
            if packed is not None:
                return f"its member {packed!r} is compressed, which torch.save never does"
            bad = archive.testzip()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,
        NotImplementedError,
        KeyError,
        IndexError,
        OverflowError,
        TypeError,
    ) as e:
        return f"its zip archive is damaged ({clip(str(e) or type(e).__name__, 120)})"
    if bad is not None:
        return f"the stored data of {bad!r} does not match its checksum"
    return None


# -- atomic writes ---------------------------------------------------------------------------
def _umask() -> int:
    """This process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    Any ``OSError`` of the writing (a full disk, a read-only folder, ...) comes out as a
    :class:`WriteError` naming ``path``.  The temporary file carries this process's id,
    so that :func:`remove_stale_temps` can tell a dead writer's leftover from a live one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # the target's name, cut so that the temporary name stays within the 255 bytes of a name
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:120]}.pid{os.getpid()}.", suffix=".tmp")
        os.close(fd)
    except OSError as e:  # the folder: name the part that failed (a file in the way, a read-only folder)
        raise _write_error(
            e, Path(e.filename) if e.filename and not str(e.filename).endswith(".tmp") else path
        ) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp made it 0600: give it the mode open() would
        os.replace(tmp, path)
    except OSError as e:
        if e.filename in (None, tmp, str(path)) or e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise _write_error(e, path) from None
        raise
    finally:
        try:
            if os.path.exists(tmp):
                os.unlink(tmp)
        except OSError:  # pragma: no cover - the folder went away or became read-only
            pass


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_torch_save(obj: Any, path: PathLike) -> Path:
    """``torch.save`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        try:
            torch.save(obj, tmp)
        except RuntimeError as e:
            if any(s in str(e).lower() for s in _TORCH_WRITE_FAILED):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp)) from None
            raise
    return Path(path)


_TEMP_OF = re.compile(r"^\..+\.pid(\d+)\.[A-Za-z0-9_]+\.tmp$")
#: The temporary files of hipool versions before the process id was part of the name.
_OLD_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, ValueError):
        return False  # no such process id
    except OSError:
        return True  # e.g. another user's process: alive
    return True


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is that of an atomic write's temporary file (:func:`atomic_path`)."""
    return bool(_TEMP_OF.match(name) or _OLD_TEMP.match(name))


def remove_stale_temps(folder: PathLike, *, recursive: bool = True, legacy: bool = True) -> List[Path]:
    """Remove the temporary files of interrupted atomic writes in ``folder`` (and its subfolders,
    when ``recursive``); returns them.  A file whose writer process is still alive is kept (e.g.
    a worker of another ``hipool compare`` on the same folder), as is everything that is not
    such a temporary file.  With ``legacy``, temporary files of hipool versions that did not
    record the process id are removed too (only for folders hipool owns: run folders).  Best
    effort: a file that cannot be removed is left."""
    folder = Path(folder)
    removed: List[Path] = []
    if os.name != "posix" or not folder.is_dir():
        return removed
    try:
        candidates = list(folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp"))
    except OSError:
        return removed
    for p in candidates:
        m = _TEMP_OF.match(p.name)
        if m is not None:
            stale = not _alive(int(m.group(1)))
        else:
            stale = legacy and _OLD_TEMP.match(p.name) is not None
        if stale and p.is_file():
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def as_path(value: Any, what: str) -> Path:
    """``value`` as a :class:`~pathlib.Path`: a ``ValueError`` naming ``what`` when it is not a
    non-empty ``str`` or path (``Path(None)`` is a ``TypeError``, ``Path("")`` the current folder)."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(f"{what}: expected a file path (a str or pathlib.Path), got {shown(value, 80)}")
    return Path(value)


# -- bounded reads -----------------------------------------------------------------------------
def read_bytes(path: PathLike, what: str, max_bytes: int) -> bytes:
    """The bytes of ``path``: a ``ValueError`` naming ``what`` and the file when it cannot be
    read or is larger than ``max_bytes``."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a named pipe (FIFO) nobody writes to would wait forever.  Once open,
        # reading it blocks again: a pipe without a writer reads as empty, one with a writer
        # (``<(...)``, ``/dev/stdin``) to its end.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ValueError(f"{what} {path}: cannot read it ({os_reason(e)})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode) or stat.S_ISSOCK(mode):
            raise ValueError(
                f"{what} {path}: cannot read it (is {'a folder' if stat.S_ISDIR(mode) else 'a socket'}, not a file)"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise ValueError(f"{what} {path}: cannot read it ({os_reason(e)})") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes:
        raise ValueError(f"{what} {path}: larger than {_size(max_bytes)}, the most hipool reads for it")
    return data


def decode_text(data: bytes, path: PathLike, what: str) -> str:
    """``data`` as UTF-8 (a leading byte-order mark dropped); a ``ValueError`` naming the file,
    line and byte otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(
            f"{path}:{line}: {what} is not UTF-8 text (byte {e.start} is "
            f"{data[e.start : e.start + 1].hex()}: {e.reason})"
        ) from None


def read_text(path: PathLike, what: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 text file of at most ``max_bytes`` (see :func:`read_bytes`, :func:`decode_text`)."""
    return decode_text(read_bytes(path, what, max_bytes), path, what)


def read_json(path: PathLike, what: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON file of at most ``max_bytes``; every problem a ``ValueError`` naming ``what`` and the file."""
    text = read_text(path, what, max_bytes)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}:{e.colno}: {what} is not valid JSON ({e.msg})") from None
    except RecursionError:
        raise ValueError(f"{what} {path}: nested too deeply to read") from None


class _Limit(Exception):
    """A YAML document beyond what hipool reads, at ``line``."""

    def __init__(self, line: Optional[int], message: str):
        super().__init__(message)
        self.line = line


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_UNSUPPORTED = {
    "tag:yaml.org,2002:timestamp": "a date or time",
    "tag:yaml.org,2002:binary": "binary data",
    "tag:yaml.org,2002:set": "a set",
    "tag:yaml.org,2002:omap": "an ordered mapping",
    "tag:yaml.org,2002:pairs": "a list of pairs",
}


def _loader_class():
    import yaml

    class Loader(yaml.SafeLoader):
        """PyYAML's SafeLoader for hipool's files: plain data only, nesting bounded while
        composing, every constructor's error a ``YAMLError`` at its node."""

        def __init__(self, stream):
            super().__init__(stream)
            self._depth = 0

        def compose_node(self, parent, index):
            self._depth += 1
            try:
                if self._depth > MAX_YAML_DEPTH:
                    raise _Limit(
                        self.peek_event().start_mark.line + 1,
                        f"nested deeper than {MAX_YAML_DEPTH} levels, the most hipool reads",
                    )
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def construct_object(self, node, deep=False):
            try:
                return super().construct_object(node, deep=deep)
            except (yaml.YAMLError, _Limit):
                raise
            except (ValueError, TypeError, OverflowError, ArithmeticError, LookupError) as e:
                value = f" {shown(node.value, 60)}" if isinstance(node, yaml.ScalarNode) else ""
                why = clip(str(e), 120)
                raise yaml.constructor.ConstructorError(
                    None, None, f"cannot read the value{value} ({why})", node.start_mark
                ) from None

    def unsupported(loader, node):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"{_UNSUPPORTED[node.tag]} ({node.tag.rsplit(':', 1)[-1]}) is not a value hipool reads; "
            f"write it as text, a number, a list or a mapping",
            node.start_mark,
        )

    for tag in _UNSUPPORTED:
        Loader.add_constructor(tag, unsupported)
    # An unquoted date is text, as in JSON (no config value of hipool is a date).  Numbers are plain
    # decimal: YAML 1.1 reads 010 as 8 (octal), 0x10 as 16 and 1:30 as 90 (base 60), which no one
    # writing "seed: 010" or "hidden: 1:30" means; those stay text, and the key's check names them.
    numbers = {"tag:yaml.org,2002:int": _DECIMAL_INT, "tag:yaml.org,2002:float": _DECIMAL_FLOAT}
    Loader.yaml_implicit_resolvers = {
        first: [(tag, numbers.get(tag, rx)) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


#: The YAML numbers hipool reads: decimal ints, and decimal floats (with a dot, as YAML 1.1 has them;
#: ``.inf``/``.nan`` too, which every key then refuses by name).
_DECIMAL_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_DECIMAL_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


_LOADER = None


def _check_nodes(root: Any) -> None:
    """Refuse duplicate or non-text keys, recursive aliases, and documents that expand (through
    aliases) to more than :data:`MAX_YAML_VALUES` values or :data:`MAX_YAML_DEPTH` levels."""
    import yaml

    done: dict = {}  # id(node) -> (values, depth) of its expansion
    open_: set = set()  # nodes whose expansion is being counted (an alias back to one: a cycle)
    stack: List[Tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = (
            [c for pair in node.value for c in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
            if isinstance(node, yaml.SequenceNode)
            else []
        )
        if finished:
            open_.discard(key)
            values = 1 + sum(done[id(c)][0] for c in children)
            depth = 1 + max((done[id(c)][1] for c in children), default=0)
            if values > MAX_YAML_VALUES:
                raise _Limit(
                    node.start_mark.line + 1,
                    f"the YAML expands to more than {MAX_YAML_VALUES:,} values (aliases repeat what "
                    f"their anchor holds), the most hipool reads",
                )
            if depth > MAX_YAML_DEPTH:
                raise _Limit(
                    node.start_mark.line + 1,
                    f"the YAML (with its aliases) nests deeper than {MAX_YAML_DEPTH} levels, the most hipool reads",
                )
            done[key] = (values, depth)
            continue
        if key in done:
            continue
        if key in open_:
            raise _Limit(node.start_mark.line + 1, "an alias refers to a list or mapping that contains it")
        open_.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            first: dict = {}
            for k, _ in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag == _MERGE_TAG:
                    continue
                if not isinstance(k, yaml.ScalarNode):
                    raise _Limit(k.start_mark.line + 1, "a key here is a list or mapping; keys are names")
                if k.tag != _STR_TAG:
                    raise _Limit(
                        k.start_mark.line + 1,
                        f"the key {shown(k.value)} is not text (YAML reads it "
                        f"as {k.tag.rsplit(':', 1)[-1]}); write it in quotes",
                    )
                if k.value in first:
                    raise _Limit(
                        k.start_mark.line + 1,
                        f"duplicate key {shown(k.value)} (first at line "
                        f"{first[k.value]}); a key may appear once per mapping",
                    )
                first[k.value] = k.start_mark.line + 1
        stack.extend((c, False) for c in children if id(c) not in done)


def parse_yaml(text: str, source: str) -> Tuple[Any, Optional[Any]]:
    """``(data, root node)`` of YAML ``text`` (see the module docstring for what is refused);
    errors are ``ValueError`` exceptions that start with ``source:LINE``."""
    import yaml

    global _LOADER
    if _LOADER is None:
        _LOADER = _loader_class()
    loader = None
    try:
        loader = _LOADER(text)
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_nodes(node)
        return loader.construct_document(node), node
    except _Limit as e:
        raise ValueError(f"{source}:{e.line}: {e}" if e.line else f"{source}: {e}") from None
    except yaml.reader.ReaderError as e:
        line = text[: e.position].count("\n") + 1 if isinstance(e.position, int) else None
        char = f"#x{e.character:04x}" if isinstance(e.character, int) else repr(e.character)
        raise ValueError(f"{source}:{line}: invalid YAML: unacceptable character {char} ({e.reason})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem, context = getattr(e, "problem", None), getattr(e, "context", None)
        if problem and context and problem.startswith("but "):
            problem = f"{context}, {problem}"
        problem = problem or context or str(e).splitlines()[0]
        raise ValueError(f"{where}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ValueError(f"{source}: invalid YAML: nested too deeply to read") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: PathLike, what: str, *, nodes: bool = False) -> Tuple[Any, Optional[Any]]:
    """``(data, root node)`` of a YAML file (the node, with line marks, only when ``nodes``).

    Errors are ``ValueError`` exceptions that name ``what`` the file is and the file and line;
    see the module docstring for the bounds and what is refused (duplicate keys among others)."""
    path = Path(path)
    text = decode_text(read_bytes(path, what, MAX_YAML_BYTES), path, what)
    data, node = parse_yaml(text, str(path))
    return data, (node if nodes else None)


# -- file:line of a key ------------------------------------------------------------------------
def _node_at(node: Any, key: str) -> Optional[Any]:
    """The node of dotted ``key`` (``aux_weights.mincut``, ``schedule[1]``) under mapping ``node``."""
    import yaml

    parts = re.findall(r"[^.\[\]]+|\[\d+\]", key)
    found = None
    for part in parts:
        if part.startswith("["):
            if not isinstance(node, yaml.SequenceNode) or int(part[1:-1]) >= len(node.value):
                return found
            node = found = node.value[int(part[1:-1])]
            continue
        if not isinstance(node, yaml.MappingNode):
            return found
        match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
        if match is None:
            return found
        found, node = match[0], match[1]
    return found


def key_line(node: Any, message: str) -> Optional[int]:
    """The 1-based line, in a composed YAML mapping ``node``, of the first key quoted in
    ``message`` that the mapping has (``'conv' must be ...``, ``'schedule[0]' is ...``,
    ``'aux_weights.mincut' ...``, ``unknown key(s) 'foo'``): nested keys and list entries to
    their own line; ``None`` if none is there."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for m in re.finditer(r"'([A-Za-z_][\w/]*(?:(?:\.[\w/]+)|\[\d+\])*)", message):
        found = _node_at(node, m.group(1))
        if found is not None:
            return found.start_mark.line + 1
    return None


def with_line(error: ValueError, source: str, node: Any) -> ValueError:
    """``error`` (a message starting with ``source``) pointed at ``source:LINE`` of the key it names."""
    message = str(error)
    line = key_line(node, message[len(source) :] if message.startswith(source) else message)
    if line is None:
        return error
    path = source.split(" (")[0]
    rest = message[len(source) :].lstrip(": ") if message.startswith(source) else message
    tail = source[len(path) :]
    return ValueError(f"{path}:{line}{tail}: {rest}")


# -- JSON out ----------------------------------------------------------------------------------
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
