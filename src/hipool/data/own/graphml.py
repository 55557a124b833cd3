"""GraphML files of :mod:`hipool.data.own`: checked by a strict scan of the document, then read
with networkx."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .common import _brief, _check_nodes
from .graph import _edge_weights, _Graph, _node_attributes

_GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
#: GraphML ``attr.type`` values and how their data must read (what networkx then converts).
_GRAPHML_TYPES = ("boolean", "int", "long", "float", "double", "string")
_GRAPHML_BOOL = ("true", "false", "0", "1")  # networkx: any case
_INT_TEXT = re.compile(r"[ \t\r\n]*[+-]?[0-9]+[ \t\r\n]*")
_FLOAT_TEXT = re.compile(
    r"[ \t\r\n]*(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|[+-]?(?:nan|inf|infinity))[ \t\r\n]*",
    re.IGNORECASE,
)


class _GraphMLError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def _graphml_value(text: str, kind: str) -> Any:
    """``text`` of a ``kind`` (GraphML ``attr.type``) data as networkx reads it, or a ValueError
    saying what it should be (Python's own ``int()`` and ``float()`` would take ``1_000``, ``٣``)."""
    if kind in ("int", "long"):
        digits = text.strip().lstrip("+-")
        if not _INT_TEXT.fullmatch(text):
            raise ValueError("not an integer (decimal digits)")
        if len(digits) > 4300:
            raise ValueError("an integer of more than 4300 digits")
        return int(text)
    if kind in ("float", "double"):
        if not _FLOAT_TEXT.fullmatch(text):
            raise ValueError("not a number (a decimal such as 2, -0.5 or 1e-3)")
        return float(text)
    if kind == "boolean":
        if text.lower() not in _GRAPHML_BOOL:
            raise ValueError("not a GraphML boolean (true, false, 1 or 0)")
        return text.lower() in ("true", "1")
    return text


def _scan_graphml(raw: bytes, path: Path) -> Dict[str, Dict[str, Any]]:
    """Check a GraphML document before networkx builds the graph (networkx is lenient: it adds a
    node for an edge end that names none, lets a repeated key, node or data silently replace the
    first, reads ``1_000`` as an int and expands DTD entities).  Returns the key defaults,
    ``{"node": {name: value}, "edge": {name: value}}``.  A ``ValueError`` ``<file>:<line>: ...``:

    * a ``<!DOCTYPE>`` (no DTD, no entities: nothing is fetched or expanded);
    * a ``<key>`` without ``id`` or ``attr.name`` (unless yFiles), an ``id`` declared twice, two
      keys with one ``attr.name`` for the same elements, an ``attr.type`` GraphML does not have;
    * a ``<graph>`` inside a node, an ``edgedefault`` other than ``directed`` / ``undirected``;
    * a ``<node>`` without ``id`` or with the ``id`` of an earlier one;
    * an ``<edge>`` without ``source`` / ``target``, or naming a node the graph does not have,
      or repeating the ``id`` of an earlier edge between the same nodes (it would replace it);
    * a ``<data>`` without ``key``, for a key never declared, twice for the same key on one
      element, or whose text does not read as its key's ``attr.type`` (``int``, ``long``:
      decimal digits; ``float``, ``double``: a decimal number; ``boolean``: true, false, 1, 0).
    """
    import xml.parsers.expat as expat

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    keys: Dict[str, Dict[str, Any]] = {}  # id -> type, for, name, line
    names: Dict[str, Dict[str, int]] = {}  # attr.name -> {for: line}
    nodes: Dict[str, int] = {}  # node id -> line
    edges: List[Tuple[int, str, str]] = []  # line, source, target
    edge_ids: Dict[Tuple[Any, str], int] = {}
    datas: List[Tuple[int, str, str, str]] = []  # line, key, owner, text
    stack: List[Tuple[str, Dict[str, Any]]] = []  # (local name, state)
    directed = [False]

    def local(name: str) -> Optional[str]:
        ns, _, tag = name.rpartition(" ")
        return tag if ns in ("", _GRAPHML_NS) else None

    def fail(message: str):
        raise _GraphMLError(parser.CurrentLineNumber, message)

    def doctype(*_):
        fail(
            "a <!DOCTYPE> declaration; hipool reads GraphML without a DTD or entities (nothing is fetched "
            "or expanded): remove it"
        )

    def start(name: str, attrs: Dict[str, str]):
        tag = local(name)
        parent = stack[-1] if stack else (None, {})
        state: Dict[str, Any] = {}
        line = parser.CurrentLineNumber
        if tag == "key" and parent[0] in ("graphml", None):
            kid = attrs.get("id")
            if kid is None:
                fail("a <key> without an id")
            if kid in keys:
                fail(f"key {_brief(kid)} is declared twice (also at line {keys[kid]['line']})")
            kind = "yfiles" if attrs.get("yfiles.type") is not None else attrs.get("attr.type", "string")
            if kind not in _GRAPHML_TYPES + ("yfiles",):
                fail(f"key {_brief(kid)} has attr.type {_brief(kind)}; GraphML types are {', '.join(_GRAPHML_TYPES)}")
            for_ = attrs.get("for", "all")
            name_ = attrs.get("yfiles.type") or attrs.get("attr.name")
            if name_ is None:
                fail(f"key {_brief(kid)} has no attr.name")
            declared = names.setdefault(name_, {})  # for -> line
            clash = declared.get(for_, declared.get("all")) if for_ != "all" else next(iter(declared.values()), None)
            if clash is not None:  # networkx would keep one of the two values in silence
                fail(
                    f"key {_brief(kid)} declares the attribute {_brief(name_)} for {for_} elements again "
                    f"(also at line {clash}); one key per attribute"
                )
            declared[for_] = line
            keys[kid] = {"type": kind, "for": for_, "name": name_, "line": line, "default": None}
            state["key"] = kid
        elif tag == "default" and parent[0] == "key":
            state["text"] = []
        elif tag == "graph":
            if any(t == "graph" for t, _ in stack):
                fail("a <graph> inside a node (a nested graph); hipool reads one flat graph per file")
            edgedefault = attrs.get("edgedefault")
            if edgedefault not in (None, "directed", "undirected"):
                fail(f"edgedefault={_brief(edgedefault)}; it is 'directed' or 'undirected'")
            directed[0] = edgedefault == "directed"
        elif tag == "node" and parent[0] == "graph":
            nid = attrs.get("id")
            if nid is None:
                fail("a <node> without an id")
            if nid in nodes:
                fail(f"node {_brief(nid)} is declared twice (also at line {nodes[nid]})")
            nodes[nid] = line
            state.update(owner=f"node {_brief(nid)}", data={})
        elif tag == "edge" and parent[0] == "graph":
            u, v = attrs.get("source"), attrs.get("target")
            if u is None or v is None:
                fail(f"an <edge> without a {'source' if u is None else 'target'}")
            edges.append((line, u, v))
            eid = attrs.get("id")
            if eid:
                pair = (u, v) if directed[0] or attrs.get("directed") == "true" else tuple(sorted((u, v)))
                if (pair, eid) in edge_ids:
                    fail(
                        f"edge id {_brief(eid)} between {_brief(u)} and {_brief(v)} repeats the edge at line "
                        f"{edge_ids[(pair, eid)]}, which it would replace"
                    )
                edge_ids[(pair, eid)] = line
            state.update(owner=f"edge {_brief(u)} - {_brief(v)}", data={})
        elif tag == "data" and parent[0] in ("node", "edge", "graph"):
            key = attrs.get("key")
            if key is None:
                fail("a <data> without a key")
            seen = parent[1].setdefault("data", {})
            if key in seen:
                fail(
                    f"{parent[1].get('owner', 'the graph')} has data for key {_brief(key)} twice (also at line "
                    f"{seen[key]})"
                )
            seen[key] = line
            state.update(key=key, text=[], owner=parent[1].get("owner", "the graph"), line=line)
        elif parent[0] == "data" or parent[1].get("nested"):
            parent[1]["nested"] = True  # yFiles and other markup inside <data>: not a typed value
            state["nested"] = True
        stack.append((tag, state))

    def text(data: str):
        if stack and "text" in stack[-1][1]:
            stack[-1][1]["text"].append(data)

    def end(name: str):
        tag, state = stack.pop()
        if tag == "default" and stack and stack[-1][0] == "key":
            keys[stack[-1][1]["key"]]["default"] = (parser.CurrentLineNumber, "".join(state["text"]))
        elif tag == "data" and not state.get("nested"):
            datas.append((state["line"], state["key"], state["owner"], "".join(state["text"])))

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(raw, True)
    except _GraphMLError as e:
        raise ValueError(f"{path}:{e.line}: {e}") from None
    except expat.ExpatError as e:
        raise ValueError(f"{path}:{e.lineno}:{e.offset}: malformed GraphML: {expat.ErrorString(e.code)}") from None
    except RecursionError:  # pragma: no cover - expat is not recursive
        raise ValueError(f"{path}: GraphML nested too deeply") from None
    for line, u, v in edges:
        for end_, node in (("source", u), ("target", v)):
            if node not in nodes:
                raise ValueError(
                    f"{path}:{line}: edge {end_} {_brief(node)} is not a node of the graph (no "
                    f"<node id={_brief(node)}>)"
                )
    for line, key, owner, value in datas:
        if key not in keys:
            raise ValueError(f"{path}:{line}: {owner}: data for key {_brief(key)}, which no <key> declares")
        k = keys[key]
        try:
            _graphml_value(value, k["type"])
        except ValueError as e:
            raise ValueError(f"{path}:{line}: {owner}: {k['name']!r} ({k['type']}) is {_brief(value)}, {e}") from None
    defaults: Dict[str, Dict[str, Any]] = {"node": {}, "edge": {}}
    for k in keys.values():
        if k["default"] is None or k["type"] == "yfiles":
            continue
        line, value = k["default"]
        try:
            typed = _graphml_value(value, k["type"])
        except ValueError as e:
            raise ValueError(
                f"{path}:{line}: the default of {k['name']!r} ({k['type']}) is {_brief(value)}, {e}"
            ) from None
        for for_ in ("node", "edge"):
            if k["for"] in (for_, "all"):
                defaults[for_][k["name"]] = typed
    return defaults


def _read_graphml(path: Path, wanted) -> _Graph:
    try:
        import networkx as nx
    except ImportError as e:  # pragma: no cover - networkx is in the dev/plot extras
        raise ImportError(f"{path}: reading GraphML needs networkx (pip install 'hipool[graphs]')") from e
    from xml.etree.ElementTree import ParseError

    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror or e})") from None
    defaults = _scan_graphml(raw, path)
    reader = nx.readwrite.graphml.GraphMLReader()
    header = b'<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
    try:  # as nx.read_graphml, but every graph of the file, not the first one only
        found = list(reader(string=raw))
        if not found:  # a header without the GraphML namespace, as nx.read_graphml allows
            found = list(reader(string=raw.replace(b"<graphml>", header)))
    except ParseError as e:
        line, col = e.position
        raise ValueError(f"{path}:{line}:{col}: malformed GraphML: {e}") from None
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - networkx fails on odd files in many ways; all are the file's fault
        why = str(e) if len(str(e)) <= 200 else str(e)[:200] + "..."
        raise ValueError(f"{path}: cannot read GraphML: {type(e).__name__}: {why}") from None
    if len(found) != 1:
        raise ValueError(f"{path}: {len(found) or 'no'} GraphML <graph> elements; one graph per file")
    G = found[0]
    ids = list(G.nodes)
    if not ids:
        raise ValueError(f"{path}: no nodes")
    for kind, items in (("node", (G.nodes[v] for v in ids)), ("edge", (d for _, _, d in G.edges(data=True)))):
        if defaults[kind]:  # GraphML: a key's <default> holds where an element has no data for it
            for attrs in items:
                for name, value in defaults[kind].items():
                    attrs.setdefault(name, value)
    _check_nodes(len(ids), str(path))
    index = {v: i for i, v in enumerate(ids)}
    edges = list(G.edges(data=True))
    ignored = {k for _, _, d in edges for k in d if k != "weight"}
    g = _Graph(
        where=str(path),
        graph_id=path.name,
        num_nodes=len(ids),
        src=np.asarray([index[u] for u, _, _ in edges], dtype=np.int64),
        dst=np.asarray([index[v] for _, v, _ in edges], dtype=np.int64),
        directed=G.is_directed(),
        edge_attr=_edge_weights([d.get("weight") for _, _, d in edges], str(path), "edges"),
    )
    _node_attributes(g, ids, [G.nodes[v] for v in ids], wanted)
    g.ignored += [f"edge {k}" for k in sorted(ignored)]
    return g
