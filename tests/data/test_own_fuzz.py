"""Fuzz tests of the user's own graphs (hipool.data.own): JSONL files, folders of edge lists,
node-link JSON and GraphML with a labels CSV.

Every input either loads, and then gives exactly what was written (for generated-valid input)
and survives ``save_jsonl`` -> ``load_jsonl`` unchanged, or raises a ValueError that names the
file.  Any other exception fails the test."""

import json
import math
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipool.data.base import LEVEL_LABELS
from hipool.data.own import NUM_DEGREE_FEATURES, load_graph_folder, load_jsonl, save_jsonl

FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FIELDS = ("x", "edge_index", "edge_attr", "y", LEVEL_LABELS)


def _load_or_refuse(load: Callable, path: Path):
    """The dataset, or None after a ValueError naming ``path``; any other exception fails."""
    try:
        return load(path)
    except ValueError as e:
        assert str(path) in str(e), f"the message does not name {path}: {e}"
        return None
    except Exception as e:  # noqa: BLE001 - the point: nothing but ValueError may escape
        pytest.fail(f"{type(e).__name__} escaped instead of a ValueError: {e}")


def _same(a, b) -> None:
    assert len(a) == len(b)
    assert (a.num_features, a.num_classes, a.class_names) == (b.num_features, b.num_classes, b.class_names)
    for ga, gb in zip(a, b):
        for k in FIELDS:
            va, vb = ga.get(k), gb.get(k)
            assert (va is None) == (vb is None), k
            if va is not None:
                assert va.dtype == vb.dtype and torch.equal(va, vb), k
        assert ga.num_nodes == gb.num_nodes and ga.graph_id == gb.graph_id
        assert type(ga.graph_id) is type(gb.graph_id)


def _round_trip(ds) -> None:
    """``save_jsonl`` then ``load_jsonl`` gives the dataset back."""
    with tempfile.TemporaryDirectory() as tmp:
        _same(ds, load_jsonl(save_jsonl(ds, Path(tmp) / "copy.jsonl")))


def _check_loaded(ds) -> None:
    """What every loaded dataset satisfies, whatever the input."""
    assert len(ds) >= 1
    for g in ds:
        n = g.num_nodes
        assert n >= 1 and g.x.shape == (n, ds.num_features) and g.x.dtype == torch.float32
        assert torch.isfinite(g.x).all()
        ei = g.edge_index
        assert ei.dtype == torch.int64 and ei.shape[0] == 2
        if ei.numel():
            assert int(ei.min()) >= 0 and int(ei.max()) < n and bool((ei[0] != ei[1]).all())
        if g.get("edge_attr") is not None:
            assert g.edge_attr.shape[0] == ei.shape[1] and torch.isfinite(g.edge_attr).all()
        assert g.y.shape == (1,) and 0 <= int(g.y) < ds.num_classes


def _write(path: Path, content) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


# -- strategies ------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 12),
    st.sampled_from([10**7, 2**63, -(2**63) - 1, 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1.0, 1.5, 1e20, 1e39, -0.0]),
    st.text(max_size=4),
    st.sampled_from(["1", "1.5", "nan", ""]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)
finite32 = st.one_of(
    st.integers(-1000, 1000),
    st.floats(min_value=-3e38, max_value=3e38, allow_nan=False),
    st.sampled_from([0.1, -2.5, 1e-45, 3.4028234663852886e38]),
)
group_ids = st.one_of(st.none(), st.integers(-2, 4), st.sampled_from([1.5, "north", "south", "b", 10**400, -(10**30)]))


def _jsonl_text(objs: List[Dict[str, Any]]) -> str:
    return "".join(json.dumps(o) + "\n" for o in objs)


@st.composite
def jsonl_datasets(draw):
    """Valid JSONL objects: 1-4 graphs, with or without ids, x, levels, edge attributes."""
    k = draw(st.integers(1, 4))
    label_kind = draw(st.sampled_from(["number", "name"]))
    id_kind = draw(st.sampled_from([None, "number", "name"]))
    x_width = draw(st.sampled_from([None, 1, 3]))
    attr_width = draw(st.sampled_from([None, 1, 2]))
    if id_kind == "number":
        ids = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=k, max_size=k, unique=True))
    else:
        ids = draw(st.lists(st.text(max_size=4), min_size=k, max_size=k, unique=True))
    objs = []
    for i in range(k):
        n = draw(st.integers(1, 6))
        pair = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).map(list)
        obj: Dict[str, Any] = {
            "label": draw(st.integers(0, 3) if label_kind == "number" else st.sampled_from(["cat", "dog", "eel"])),
            "edges": draw(st.lists(pair, max_size=8)),
        }
        if id_kind:
            obj["id"] = ids[i]
        if draw(st.booleans()):
            obj["directed"] = draw(st.booleans())
        if x_width:
            obj["x"] = draw(st.lists(st.lists(finite32, min_size=x_width, max_size=x_width), min_size=n, max_size=n))
        if draw(st.booleans()):
            depth = draw(st.integers(1, 2))
            obj["levels"] = draw(st.lists(st.lists(group_ids, min_size=depth, max_size=depth), min_size=n, max_size=n))
        if attr_width and obj["edges"] and draw(st.booleans()):
            rows = st.lists(finite32, min_size=attr_width, max_size=attr_width)
            attr = draw(st.lists(rows, min_size=len(obj["edges"]), max_size=len(obj["edges"])))
            obj["edge_attr"] = [r[0] for r in attr] if attr_width == 1 and draw(st.booleans()) else attr
        if "x" not in obj and "levels" not in obj or draw(st.booleans()):
            obj["num_nodes"] = n
        else:
            assert len(obj.get("x", obj.get("levels"))) == n
        objs.append(obj)
    return objs


def _renumbered(column: List[Any]) -> List[int]:
    """The loader's group numbering, written out independently."""
    present = [v for v in column if v is not None and not (not isinstance(v, str) and v < 0)]
    groups = sorted(set(present), key=lambda g: (isinstance(g, str), g))
    return [-1 if v is None or (not isinstance(v, str) and v < 0) else groups.index(v) for v in column]


def _expected_edges(n_edges: List[List[int]], directed: bool, attrs: Optional[List[List[float]]]):
    """``{(u, v): attribute row}`` after dropping self-loops and merging repeats (the first one wins)."""
    out: Dict[tuple, Any] = {}
    for j, (u, v) in enumerate(n_edges):
        if u == v:
            continue
        key = (u, v) if directed else (min(u, v), max(u, v))
        if key in {(a, b) if directed else (min(a, b), max(a, b)) for a, b in out}:
            continue
        row = None if attrs is None else attrs[j]
        out[(u, v)] = row
        if not directed:
            out[(v, u)] = row
    return out


def _check_jsonl(ds, objs: List[Dict[str, Any]]) -> None:
    """``ds`` holds exactly the graphs ``objs`` describe."""
    assert len(ds) == len(objs)
    labels = [o["label"] for o in objs]
    if isinstance(labels[0], str):
        names = sorted(set(labels))
        assert ds.class_names == names and ds.labels() == [names.index(v) for v in labels]
    else:
        assert ds.class_names is None and ds.labels() == labels and ds.num_classes == max(labels) + 1
    with_attr = any("edge_attr" in o for o in objs) and any(u != v for o in objs for u, v in o["edges"])
    depth = max((len(o["levels"][0]) for o in objs if "levels" in o), default=0)
    for i, (g, o) in enumerate(zip(ds, objs)):
        n = o.get("num_nodes") or len(o.get("x") or o["levels"])
        assert g.num_nodes == n and g.graph_id == o.get("id", i)
        attrs = o.get("edge_attr")
        if attrs is not None:
            attrs = [r if isinstance(r, list) else [r] for r in attrs]
        want = _expected_edges(o["edges"], o.get("directed", False), attrs)
        got = [tuple(e) for e in g.edge_index.t().tolist()]
        assert got == sorted(want)
        if with_attr:
            width = g.edge_attr.shape[1]
            rows = [want[e] if want[e] is not None else [1.0] * width for e in got]
            assert torch.equal(g.edge_attr, torch.tensor(np.asarray(rows, dtype=np.float32).reshape(-1, width)))
        else:
            assert g.get("edge_attr") is None
        if "x" in o:
            assert torch.equal(g.x, torch.from_numpy(np.asarray(o["x"], dtype=np.float32)))
        else:
            assert g.x.shape == (n, NUM_DEGREE_FEATURES)
            degree = torch.bincount(g.edge_index.view(-1), minlength=n) // (1 if o.get("directed") else 2)
            assert torch.equal(g.x[:, -1], torch.log1p(degree.float()))
        if depth:
            cols = list(zip(*o["levels"])) if "levels" in o else []
            want_levels = [[_renumbered(list(c))[v] for c in cols] + [-1] * (depth - len(cols)) for v in range(n)]
            assert g[LEVEL_LABELS].tolist() == want_levels
        else:
            assert g.get(LEVEL_LABELS) is None


# -- JSONL --------------------------------------------------------------------------------


@FUZZ
@given(objs=jsonl_datasets())
def test_valid_jsonl_loads_exactly_and_round_trips(objs):
    with tempfile.TemporaryDirectory() as tmp:
        ds = load_jsonl(_write(Path(tmp) / "g.jsonl", _jsonl_text(objs)))
    _check_jsonl(ds, objs)
    _check_loaded(ds)
    _round_trip(ds)


@FUZZ
@given(
    objs=jsonl_datasets(),
    line=st.integers(0, 3),
    key=st.sampled_from(["id", "label", "num_nodes", "directed", "edges", "edge_attr", "x", "levels", "other"]),
    value=json_values,
)
def test_any_json_value_at_any_key(objs, line, key, value):
    objs[line % len(objs)][key] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "g.jsonl", _jsonl_text(objs))
        ds = _load_or_refuse(load_jsonl, path)
    if ds is not None:
        _check_loaded(ds)
        _round_trip(ds)


@FUZZ
@given(
    objs=jsonl_datasets(),
    line=st.integers(0, 3),
    value=json_values,
    where=st.sampled_from(["edges", "x", "levels", "edge_attr"]),
    row=st.integers(0, 7),
    col=st.integers(0, 2),
)
def test_any_json_value_inside_a_list(objs, line, value, where, row, col):
    obj = objs[line % len(objs)]
    rows = obj.get(where)
    if rows:
        r = rows[row % len(rows)]
        if isinstance(r, list) and r:
            r[col % len(r)] = value
        else:
            rows[row % len(rows)] = value
    with tempfile.TemporaryDirectory() as tmp:
        ds = _load_or_refuse(load_jsonl, _write(Path(tmp) / "g.jsonl", _jsonl_text(objs)))
    if ds is not None:
        _check_loaded(ds)
        _round_trip(ds)


mutations = st.lists(
    st.tuples(
        st.integers(0, 10**6),
        st.sampled_from(["insert", "delete", "replace"]),
        st.sampled_from(list('[]{}",:0123456789.-eE \n\r\ttrufalsnNIy\x00\ufeff\\') + ["é"]),
    ),
    min_size=1,
    max_size=6,
)


def _mutate(text: str, edits) -> str:
    for pos, op, ch in edits:
        i = pos % (len(text) + 1)
        if op == "insert":
            text = text[:i] + ch + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1 :]
        else:
            text = text[:i] + ch + text[i + 1 :]
    return text


@FUZZ
@given(objs=jsonl_datasets(), edits=mutations)
def test_mutated_jsonl(objs, edits):
    with tempfile.TemporaryDirectory() as tmp:
        ds = _load_or_refuse(load_jsonl, _write(Path(tmp) / "g.jsonl", _mutate(_jsonl_text(objs), edits)))
    if ds is not None:
        _check_loaded(ds)
        _round_trip(ds)


@FUZZ
@given(
    content=st.one_of(
        st.binary(max_size=200), st.text(alphabet='[]{}",:0123456789.-eE \n\r\tlabedgsx\x00', max_size=120)
    )
)
def test_random_bytes_as_jsonl(content):
    with tempfile.TemporaryDirectory() as tmp:
        ds = _load_or_refuse(load_jsonl, _write(Path(tmp) / "g.jsonl", content))
    if ds is not None:
        _check_loaded(ds)
        _round_trip(ds)


# -- folders ---------------------------------------------------------------------------------

node_names = st.sampled_from(["a", "b", "c", "1", "01", "é", "x-y"])


@st.composite
def edge_list_folders(draw):
    """``{file: [(u, v, weight or None), ...]}`` and ``{file: label}``."""
    k = draw(st.integers(1, 3))
    weighted = draw(st.booleans())
    weight = st.one_of(st.none(), finite32) if weighted else st.none()
    files = {
        f"g{i}.edges": draw(st.lists(st.tuples(node_names, node_names, weight), min_size=1, max_size=6))
        for i in range(k)
    }
    kind = draw(st.sampled_from(["number", "name"]))
    labels = {f: draw(st.integers(0, 2) if kind == "number" else st.sampled_from(["ring", "star"])) for f in files}
    return files, labels


def _edge_list_text(edges) -> str:
    lines = (f"{u} {v}" + ("" if w is None else f" {w!r}") + "\n" for u, v, w in edges)
    return "# made by the fuzz test\n" + "".join(lines)


def _labels_text(labels: Dict[str, Any]) -> str:
    return "file,label\n" + "".join(f"{f},{v}\n" for f, v in labels.items())


def _make_folder(root: Path, files: Dict[str, Any], labels_text) -> Path:
    root.mkdir()
    for name, content in files.items():
        _write(root / name, content)
    _write(root / "labels.csv", labels_text)
    return root


@FUZZ
@given(folder=edge_list_folders())
def test_valid_edge_list_folders_load_exactly(folder):
    files, labels = folder
    with tempfile.TemporaryDirectory() as tmp:
        root = _make_folder(Path(tmp) / "f", {f: _edge_list_text(e) for f, e in files.items()}, _labels_text(labels))
        ds = load_graph_folder(root)
    _check_loaded(ds)
    assert [g.graph_id for g in ds] == list(files)
    with_attr = any(w is not None for e in files.values() for _, _, w in e) and any(
        u != v for e in files.values() for u, v, _ in e
    )
    for g, edges in zip(ds, files.values()):
        order = list(dict.fromkeys(name for u, v, _ in edges for name in (u, v)))
        assert g.num_nodes == len(order)
        idx = [(order.index(u), order.index(v)) for u, v, _ in edges]
        attrs = [[1.0 if w is None else w] for _, _, w in edges]
        want = _expected_edges([list(p) for p in idx], False, attrs)
        got = [tuple(e) for e in g.edge_index.t().tolist()]
        assert got == sorted(want)
        if with_attr:
            assert g.edge_attr.view(-1).tolist() == [float(np.float32(want[e][0])) for e in got]
        else:
            assert g.get("edge_attr") is None
    values = list(labels.values())
    if isinstance(values[0], str):
        assert ds.class_names == sorted(set(values))
    else:
        assert ds.labels() == values
    _round_trip(ds)


csv_text = st.text(alphabet=' \t\n\r,"abfilentx01.-#é\x00', max_size=60)
edge_text = st.text(alphabet=" \t\n\rab01.-e+#naif\x00é", max_size=60)


@FUZZ
@given(
    edge_files=st.lists(edge_text, min_size=1, max_size=3),
    labels=st.one_of(csv_text, st.binary(max_size=40)),
    prefix=st.sampled_from(["", "file,label\n", "file,label\ng0.edges,"]),
)
def test_random_text_in_a_folder(edge_files, labels, prefix):
    files = {f"g{i}.edges": text for i, text in enumerate(edge_files)}
    labels = prefix.encode() + labels if isinstance(labels, bytes) else prefix + labels
    with tempfile.TemporaryDirectory() as tmp:
        root = _make_folder(Path(tmp) / "f", files, labels)
        ds = _load_or_refuse(load_graph_folder, root)
    if ds is not None:
        _check_loaded(ds)
        _round_trip(ds)


@FUZZ
@given(folder=edge_list_folders(), target=st.integers(0, 3), edits=mutations)
def test_mutated_edge_lists_and_labels(folder, target, edits):
    files, labels = folder
    texts = {f: _edge_list_text(e) for f, e in files.items()}
    label_text = _labels_text(labels)
    names = list(texts)
    if target < len(names):
        texts[names[target]] = _mutate(texts[names[target]], edits)
    else:
        label_text = _mutate(label_text, edits)
    with tempfile.TemporaryDirectory() as tmp:
        ds = _load_or_refuse(load_graph_folder, _make_folder(Path(tmp) / "f", texts, label_text))
    if ds is not None:
        _check_loaded(ds)
        _round_trip(ds)


node_ids = st.one_of(
    st.integers(-3, 20),
    st.text(max_size=3),
    st.lists(st.integers(0, 3), max_size=2),
    st.sampled_from([1.0, True, None]),
)


@st.composite
def node_link_docs(draw):
    """A valid node-link document, its numeric attribute columns and its (source, target) index pairs."""
    ids = draw(st.lists(node_ids, min_size=1, max_size=5, unique_by=lambda v: json.dumps(v)))
    n = len(ids)
    width = draw(st.sampled_from([0, 1, 2]))
    nodes = []
    for v in ids:
        node = {"id": v}
        if width:
            node["emb"] = draw(st.lists(finite32, min_size=width, max_size=width))
        node["size"] = draw(finite32)
        if draw(st.booleans()):
            node["color"] = draw(st.text(max_size=2))
        nodes.append(node)
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=6))
    links = []
    for u, v in pairs:
        link = {"source": ids[u], "target": ids[v]}
        if draw(st.booleans()):
            link["weight"] = draw(finite32)
        links.append(link)
    directed = draw(st.booleans())
    doc = {
        "directed": directed,
        "multigraph": False,
        "graph": {},
        "nodes": nodes,
        draw(st.sampled_from(["links", "edges"])): links,
    }
    return doc


@FUZZ
@given(doc=node_link_docs())
def test_valid_node_link_loads_exactly(doc):
    with tempfile.TemporaryDirectory() as tmp:
        root = _make_folder(Path(tmp) / "f", {"g.json": json.dumps(doc)}, "file,label\ng.json,0\n")
        ds = load_graph_folder(root)
    _check_loaded(ds)
    g = ds[0]
    nodes = doc["nodes"]
    assert g.num_nodes == len(nodes)
    key = [json.dumps(nd["id"]) for nd in nodes]
    links = doc.get("links", doc.get("edges"))
    pairs = [[key.index(json.dumps(lk["source"])), key.index(json.dumps(lk["target"]))] for lk in links]
    weights = [[lk.get("weight", 1.0)] for lk in links]
    want = _expected_edges(pairs, doc["directed"], weights)
    got = [tuple(e) for e in g.edge_index.t().tolist()]
    assert got == sorted(want)
    if any("weight" in lk for lk in links) and got:
        assert g.edge_attr.view(-1).tolist() == [float(np.float32(want[e][0])) for e in got]
    x = [list(nd.get("emb", [])) + [nd["size"]] for nd in nodes]
    assert torch.equal(g.x, torch.from_numpy(np.asarray(x, dtype=np.float32)))
    _round_trip(ds)


def _has(spot: Any, step: Any) -> bool:
    return (
        isinstance(spot, dict) and step in spot or isinstance(spot, list) and isinstance(step, int) and step < len(spot)
    )


@FUZZ
@given(
    doc=node_link_docs(),
    path=st.lists(
        st.sampled_from(
            ["nodes", "links", "edges", 0, 1, "id", "emb", "size", "source", "target", "weight", "directed", "level1"]
        ),
        min_size=1,
        max_size=3,
    ),
    value=json_values,
)
def test_node_link_with_any_json_value_anywhere(doc, path, value):
    spot: Any = doc
    for step in path[:-1]:  # walk as far as the document goes, then set the last step there
        if _has(spot, step):
            spot = spot[step]
    if _has(spot, path[-1]) or isinstance(spot, dict) and isinstance(path[-1], str):
        spot[path[-1]] = value
    with tempfile.TemporaryDirectory() as tmp:
        root = _make_folder(Path(tmp) / "f", {"g.json": json.dumps(doc)}, "file,label\ng.json,0\n")
        ds = _load_or_refuse(load_graph_folder, root)
    if ds is not None:
        _check_loaded(ds)
        _round_trip(ds)


def _graphml(doc) -> str:
    """The graph of a node-link document as GraphML text (nodes n0, n1, ...; no list attributes)."""
    import networkx as nx

    G = nx.DiGraph() if doc["directed"] else nx.Graph()
    key = [json.dumps(nd["id"]) for nd in doc["nodes"]]
    for i, nd in enumerate(doc["nodes"]):
        G.add_node(f"n{i}", size=nd["size"])
    for lk in doc.get("links", doc.get("edges")):
        attrs = {"weight": lk["weight"]} if "weight" in lk else {}
        G.add_edge(f"n{key.index(json.dumps(lk['source']))}", f"n{key.index(json.dumps(lk['target']))}", **attrs)
    return "\n".join(nx.generate_graphml(G))


@pytest.mark.filterwarnings("ignore:No key type for id")  # networkx on a mutated <key> element
@FUZZ
@given(doc=node_link_docs(), edits=mutations)
def test_mutated_graphml(doc, edits):
    text = _mutate(_graphml(doc), edits)
    with tempfile.TemporaryDirectory() as tmp:
        ds = _load_or_refuse(
            load_graph_folder, _make_folder(Path(tmp) / "f", {"g.graphml": text}, "file,label\ng.graphml,1\n")
        )
    if ds is not None:
        _check_loaded(ds)
        _round_trip(ds)


def test_fuzz_helpers_catch_what_they_should(tmp_path):
    """The harness itself: another exception type fails, a message without the file fails."""

    def raises(exc):
        def load(path):
            raise exc

        return load

    with pytest.raises(pytest.fail.Exception, match="KeyError escaped"):
        _load_or_refuse(raises(KeyError("k")), tmp_path)
    with pytest.raises(AssertionError, match="does not name"):
        _load_or_refuse(raises(ValueError("no file here")), tmp_path)
    assert _load_or_refuse(raises(ValueError(f"{tmp_path}: bad")), tmp_path) is None
    assert math.isfinite(3.4028234663852886e38) and np.float32(3.4028234663852886e38) == np.finfo(np.float32).max
