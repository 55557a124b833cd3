"""Node-link JSON files of :mod:`hipool.data.own`, as ``json.dumps(networkx.node_link_data(G))``
writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from .common import _brief, _check_nodes, _json_key, _json_type, _load_json, _read_text, _show
from .graph import _edge_weights, _Graph, _node_attributes


def _read_node_link(path: Path, wanted) -> _Graph:
    data = _load_json(_read_text(path), str(path))
    if not isinstance(data, dict) or "nodes" not in data or not ({"links", "edges"} & set(data)):
        got = _show(sorted(data)) if isinstance(data, dict) else _json_type(data)
        raise ValueError(f"{path}: not a node-link graph: needs the keys 'nodes' and 'links' (or 'edges'), got {got}")
    if "links" in data and "edges" in data:
        raise ValueError(f"{path}: both 'links' and 'edges'; give the edges once")
    links_key = "links" if "links" in data else "edges"
    nodes, links, directed = data["nodes"], data[links_key], data.get("directed", False)
    if not isinstance(nodes, list) or not isinstance(links, list):
        raise ValueError(f"{path}: 'nodes' and '{links_key}' must be lists")
    if not isinstance(directed, bool):
        raise ValueError(f"{path}: 'directed' must be true or false, got {_brief(directed)}")
    if not nodes:
        raise ValueError(f"{path}: no nodes")
    _check_nodes(len(nodes), str(path))
    index: Dict[str, int] = {}
    attrs: List[Dict[str, Any]] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or "id" not in node:
            raise ValueError(f"{path}: nodes[{i}] is not an object with an 'id'")
        key = _json_key(node["id"], f"{path}: nodes[{i}]")
        if key in index:
            raise ValueError(f"{path}: nodes[{i}]: node id {_brief(node['id'])} repeats nodes[{index[key]}]")
        index[key] = i
        attrs.append({k: v for k, v in node.items() if k != "id"})
    src, dst, weights, ignored = [], [], [], set()
    for j, link in enumerate(links):
        if not isinstance(link, dict) or "source" not in link or "target" not in link:
            raise ValueError(f"{path}: {links_key}[{j}] is not an object with 'source' and 'target'")
        for end, out in (("source", src), ("target", dst)):
            k = index.get(_json_key(link[end], f"{path}: {links_key}[{j}]"))
            if k is None:
                raise ValueError(f"{path}: {links_key}[{j}]: {end} {_brief(link[end])} is not among the nodes")
            out.append(k)
        weights.append(link.get("weight"))
        ignored.update(k for k in link if k not in ("source", "target", "weight", "key"))
    g = _Graph(
        where=str(path),
        graph_id=path.name,
        num_nodes=len(nodes),
        src=np.asarray(src, dtype=np.int64),
        dst=np.asarray(dst, dtype=np.int64),
        directed=directed,
        edge_attr=_edge_weights(weights, str(path), links_key),
    )
    _node_attributes(g, [n["id"] for n in nodes], attrs, wanted)
    g.ignored += [f"edge {k}" for k in sorted(ignored)]
    return g
