"""Tests of the user's own graphs (hipool.data.own): folders of GraphML / node-link JSON /
edge lists with a labels CSV, and JSONL files."""

import json
import math
import os
import re
from pathlib import Path

import networkx as nx
import pytest
import torch
from torch_geometric.data import Batch

from hipool.data.base import LEVEL_LABELS, GraphDataset
from hipool.data.communities import CLASS_NAMES, NUM_FEATURES, make_community_dataset
from hipool.data.own import (
    DEGREE_CAP,
    NUM_DEGREE_FEATURES,
    load_graph_folder,
    load_jsonl,
    save_jsonl,
)

FIELDS = ("x", "edge_index", "edge_attr", "y", LEVEL_LABELS)


def _folder(root: Path, files: dict, labels=None) -> Path:
    """A folder with ``files`` (name -> text, or a networkx graph for .graphml) and a labels CSV."""
    root.mkdir(parents=True, exist_ok=True)
    for fname, content in files.items():
        if isinstance(content, (nx.Graph, nx.DiGraph)):
            nx.write_graphml(content, root / fname)
        else:
            (root / fname).write_text(content)
    if labels is not None:
        (root / "labels.csv").write_text(labels)
    return root


def _snapshot(root: Path):
    return sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*"))


def _edges(data):
    return set(map(tuple, data.edge_index.t().tolist()))


def _both(pairs):
    return {(u, v) for u, v in pairs} | {(v, u) for u, v in pairs}


def _same(a, b):
    for k in FIELDS:
        va, vb = a.get(k), b.get(k)
        assert (va is None) == (vb is None), k
        if va is not None:
            assert va.dtype == vb.dtype and torch.equal(va, vb), k
    assert a.num_nodes == b.num_nodes and a.graph_id == b.graph_id


def _same_dataset(a: GraphDataset, b: GraphDataset):
    assert len(a) == len(b)
    assert (a.num_features, a.num_classes, a.class_names) == (b.num_features, b.num_classes, b.class_names)
    for ga, gb in zip(a, b):
        _same(ga, gb)


def _raises(match_parts, fn, *args, **kwargs):
    """ValueError whose message contains every part of ``match_parts``, in order."""
    with pytest.raises(ValueError, match=".*".join(re.escape(p) for p in match_parts)):
        fn(*args, **kwargs)


def _society():
    """Undirected graph with numeric, boolean, string and level attributes, and weights on some edges."""
    g = nx.Graph()
    g.add_node("p", f2=1.5, f10=3, flag=True, color="red", level1=7, level2="north")
    g.add_node("q", f2=-2.0, f10=1, flag=False, color="blue", level1=3, level2="south")
    g.add_node("r", f2=0.25, f10=0, flag=True, level1=7)  # no colour, no level 2
    g.add_node("s", f2=4.0, f10=2, flag=False, level2="north")  # no level 1
    g.add_edge("p", "q", weight=2.5)
    g.add_edge("q", "r")
    g.add_edge("r", "s", weight=0.5)
    g.add_edge("s", "p")
    return g


# -- folders: formats --------------------------------------------------------------------------


def test_graphml_round_trip(tmp_path):
    directed = nx.DiGraph()
    for i, v in enumerate(["x", "y", "z"]):
        directed.add_node(v, f2=float(i), f10=i * 10, flag=bool(i % 2), level1=i % 2)
    directed.add_edges_from([("x", "y"), ("y", "z"), ("z", "x"), ("x", "z")])
    folder = _folder(
        tmp_path / "in", {"g1.graphml": _society(), "g2.graphml": directed}, "file,label\ng1.graphml,1\ng2.graphml,0\n"
    )
    before = _snapshot(folder)
    ds = load_graph_folder(folder, progress=True)
    assert _snapshot(folder) == before

    assert ds.name == "in" and len(ds) == 2 and ds.num_classes == 2 and ds.class_names is None
    assert ds.num_features == 3 and ds.labels() == [1, 0]
    g1, g2 = ds[0], ds[1]
    assert g1.graph_id == "g1.graphml" and g2.graph_id == "g2.graphml"
    # Nodes in file order p, q, r, s; both directions of every undirected edge.
    assert _edges(g1) == _both([(0, 1), (1, 2), (2, 3), (3, 0)])
    assert torch.equal(g1.edge_index, torch.tensor(sorted(_edges(g1))).t())
    # Columns sorted by name, digits as numbers: f2, f10, flag; the string colour is left out.
    assert any("f2, f10, flag" in n for n in ds.notes) and any("color" in n for n in ds.notes)
    assert torch.equal(g1.x, torch.tensor([[1.5, 3, 1], [-2, 1, 0], [0.25, 0, 1], [4, 2, 0]]))
    assert g1.x.dtype == torch.float32
    # Weights where given, 1.0 elsewhere, the same in both directions.
    w = {tuple(e): float(a) for e, a in zip(g1.edge_index.t().tolist(), g1.edge_attr.view(-1))}
    assert w[(0, 1)] == w[(1, 0)] == 2.5 and w[(1, 2)] == 1.0 and w[(3, 2)] == 0.5
    # level1 {7, 3} -> 3:0, 7:1; level2 names sorted (north 0, south 1); -1 where absent.
    assert g1[LEVEL_LABELS].dtype == torch.int64
    assert g1[LEVEL_LABELS].tolist() == [[1, 0], [0, 1], [1, -1], [-1, 0]]
    # The directed graph stays directed (4 edges, one way), padded to 2 levels.
    assert _edges(g2) == {(0, 1), (1, 2), (2, 0), (0, 2)}
    assert g2[LEVEL_LABELS].tolist() == [[0, -1], [1, -1], [0, -1]]
    assert torch.equal(g2.edge_attr, torch.ones(4, 1))
    batch = Batch.from_data_list(list(ds))  # same widths everywhere: batches cleanly
    assert batch[LEVEL_LABELS].shape == (7, 2) and batch.graph_id == ["g1.graphml", "g2.graphml"]


def test_node_link_json(tmp_path):
    g = nx.DiGraph()
    g.add_node("a", emb=[1.0, 2.0], size=3)
    g.add_node((1, 2), emb=[3.0, 4.0], size=1)
    g.add_node(5, emb=[5.0, 6.0], size=0)
    g.add_edges_from([("a", (1, 2)), ((1, 2), 5), (5, "a")])
    u = nx.Graph()
    u.add_node(0, emb=[0.0, 1.0], size=2)
    u.add_node(1, emb=[1.0, 0.0], size=2)
    u.add_edge(0, 1)
    links = nx.node_link_data(u)
    links["links"] = links.pop("edges")  # the older key
    folder = _folder(
        tmp_path,
        {"d.json": json.dumps(nx.node_link_data(g)), "u.json": json.dumps(links)},
        "file,label\nd.json,0\nu.json,1\n",
    )
    ds = load_graph_folder(folder, name="mine")
    assert ds.name == "mine" and ds.num_features == 3
    d, und = ds[0], ds[1]
    assert _edges(d) == {(0, 1), (1, 2), (2, 0)}  # directed: as given
    assert _edges(und) == {(0, 1), (1, 0)}
    assert any("emb[0], emb[1], size" in n for n in ds.notes)
    assert d.x.tolist() == [[1, 2, 3], [3, 4, 1], [5, 6, 0]]
    assert d.get("edge_attr") is None and d.get(LEVEL_LABELS) is None
    # Choosing the columns, and degree features on request.
    picked = load_graph_folder(folder, node_features=["size"])
    assert picked[0].x.tolist() == [[3], [1], [0]]
    deg = load_graph_folder(folder, node_features="degree")
    assert deg.num_features == NUM_DEGREE_FEATURES and any("degree" in n for n in deg.notes)
    _raises(["d.json", "'colour'", "node 'a' has none"], load_graph_folder, folder, node_features=["colour"])


def test_edge_lists_get_degree_features(tmp_path):
    star = "\n".join(f"hub leaf{i}" for i in range(DEGREE_CAP + 2))
    folder = _folder(
        tmp_path,
        {
            "a.edgelist": "# a comment\nb a 2.0\n\na c   # trailing comment\nc c\na b 9\n",
            "b.txt": star,
            "c.edges": "1 2\n2 3\n",
            "README.md": "not a graph",
        },
        "file,label\na.edgelist,ring\nb.txt,star\nc.edges,chain\n",
    )
    before = _snapshot(folder)
    ds = load_graph_folder(folder)
    assert _snapshot(folder) == before
    assert ds.class_names == ["chain", "ring", "star"] and ds.labels() == [1, 2, 0]
    assert ds.num_features == NUM_DEGREE_FEATURES
    notes = " | ".join(ds.notes)
    assert "degree features" in notes and "README.md" in notes
    assert "dropped 1 self-loops" in notes and "merged 1 repeated edges" in notes
    a = ds[0]  # nodes b, a, c in order of first appearance
    assert a.num_nodes == 3 and _edges(a) == _both([(0, 1), (1, 2)])
    w = {tuple(e): float(x) for e, x in zip(a.edge_index.t().tolist(), a.edge_attr.view(-1))}
    assert w == {(0, 1): 2.0, (1, 0): 2.0, (1, 2): 1.0, (2, 1): 1.0}  # the first of "b a" / "a b" wins
    for data in ds:
        deg = torch.bincount(data.edge_index[0], minlength=data.num_nodes)
        assert torch.equal(data.x[:, : DEGREE_CAP + 1].argmax(1), deg.clamp(max=DEGREE_CAP))
        assert torch.equal(data.x[:, : DEGREE_CAP + 1].sum(1), torch.ones(data.num_nodes))
        assert torch.allclose(data.x[:, -1], torch.log1p(deg.float()))
    assert ds[1].x[0, DEGREE_CAP] == 1 and ds[1].x[0, -1] == pytest.approx(math.log(DEGREE_CAP + 3))
    assert torch.equal(ds[2].edge_attr, torch.ones(4, 1))  # no weights in this file: 1.0


def test_int_labels_and_a_missing_class(tmp_path):
    folder = _folder(tmp_path, {"g1.edges": "a b\n", "g2.edges": "a b\n"}, "file,label\ng2.edges, 2\ng1.edges,0\n")
    ds = load_graph_folder(folder, labels_csv=folder / "labels.csv")
    assert ds.labels() == [0, 2] and ds.num_classes == 3 and ds.class_names is None
    assert any("classes 1 have no graph" in n for n in ds.notes)


# -- JSONL ---------------------------------------------------------------------------------------


def test_jsonl_round_trip(tmp_path):
    lines = [
        {
            "id": "first",
            "label": "b",
            "edges": [[0, 1], [1, 2]],
            "x": [[1, 0.5], [2, 1.5], [3, 2.5]],
            "levels": [["east", 0], ["west", 0], [None, -1]],
            "edge_attr": [[0.5], [2.0]],
        },
        {
            "id": "seventh",
            "label": "a",
            "num_nodes": 4,
            "directed": True,
            "edges": [[0, 1], [1, 0], [3, 2]],
            "x": [[0, 0], [1, 1], [2, 2], [3, 3]],
        },
    ]
    path = tmp_path / "graphs.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in lines) + "\n\n")
    ds = load_jsonl(path)
    assert ds.name == "graphs" and ds.class_names == ["a", "b"] and ds.labels() == [1, 0]
    g1, g2 = ds[0], ds[1]
    assert g1.graph_id == "first" and g2.graph_id == "seventh"
    assert _edges(g1) == _both([(0, 1), (1, 2)])
    assert g1.x.tolist() == [[1, 0.5], [2, 1.5], [3, 2.5]]
    assert g1[LEVEL_LABELS].tolist() == [[0, 0], [1, 0], [-1, -1]]
    assert g2[LEVEL_LABELS].tolist() == [[-1, -1]] * 4  # padded: another graph has levels
    assert _edges(g2) == {(0, 1), (1, 0), (3, 2)} and g2.num_nodes == 4
    assert torch.equal(g2.edge_attr, torch.ones(3, 1))

    out = save_jsonl(ds, tmp_path / "sub" / "copy.jsonl")
    assert sorted(p.name for p in out.parent.iterdir()) == ["copy.jsonl"]  # no temporary left
    back = load_jsonl(out)
    _same_dataset(ds, back)
    assert json.loads(out.read_text().splitlines()[0])["label"] == "b"


def test_jsonl_round_trip_of_generated_graphs(tmp_path):
    graphs = make_community_dataset(num_graphs=6, seed=3, min_nodes=48, max_nodes=70)
    for i, g in enumerate(graphs):
        g.graph_id = f"society-{i}"
    ds = GraphDataset(
        name="communities",
        graphs=graphs,
        num_features=NUM_FEATURES,
        num_classes=len(CLASS_NAMES),
        class_names=list(CLASS_NAMES),
    )
    back = load_jsonl(save_jsonl(ds, tmp_path / "c.jsonl"))
    _same_dataset(ds, back)


def test_jsonl_without_x_gets_degree_features(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"label": 0, "edges": [[0, 1], [1, 2], [2, 2]]}\n{"label": 1, "edges": [], "num_nodes": 2}\n')
    ds = load_jsonl(path)
    assert ds.num_features == NUM_DEGREE_FEATURES and [g.graph_id for g in ds] == [0, 1]
    assert ds[0].x[:, :3].tolist() == [[0, 1, 0], [0, 0, 1], [0, 1, 0]]  # the self-loop is dropped
    assert ds[1].edge_index.shape == (2, 0) and ds[1].x[:, 0].tolist() == [1, 1]


def test_save_jsonl_refuses_what_it_cannot_store(tmp_path):
    graphs = make_community_dataset(num_graphs=2, seed=0, min_nodes=48, max_nodes=60)
    graphs[1].y = torch.tensor([[0.5, 1.0]])
    _raises(["graph 1", "one class number"], save_jsonl, graphs, tmp_path / "x.jsonl")
    assert not list(tmp_path.iterdir())


# -- errors ---------------------------------------------------------------------------------------

BAD_FOLDERS = {
    "labels row naming a missing file": (
        {"g1.edgelist": "a b\n"},
        "file,label\ng1.edgelist,0\nnope.json,1\n",
        ["labels.csv:3", "'nope.json'", "not found"],
    ),
    "labels row naming a non-graph file": (
        {"g1.edgelist": "a b\n", "notes.md": "x"},
        "file,label\ng1.edgelist,0\nnotes.md,1\n",
        ["labels.csv:3", "'notes.md' is not a graph file"],
    ),
    "duplicate file entry": (
        {"g1.edgelist": "a b\n", "g2.edgelist": "a b\n"},
        "file,label\ng1.edgelist,0\ng2.edgelist,1\ng1.edgelist,1\n",
        ["labels.csv:4", "'g1.edgelist' is listed twice (also at line 2)"],
    ),
    "unlabelled file": (
        {"g1.edgelist": "a b\n", "g2.edgelist": "a b\n"},
        "file,label\ng1.edgelist,0\n",
        ["1 graph files have no row in labels.csv: g2.edgelist"],
    ),
    "numbers mixed with names": (
        {"g1.edgelist": "a b\n", "g2.edgelist": "a b\n"},
        "file,label\ng1.edgelist,1\ng2.edgelist,cat\n",
        ["mix class numbers and class names", "labels.csv:2: 1", "labels.csv:3: 'cat'"],
    ),
    "fractional label": (
        {"g1.edgelist": "a b\n"},
        "file,label\ng1.edgelist,1.5\n",
        ["labels.csv:2", "'1.5' is not a whole number"],
    ),
    "negative label": (
        {"g1.edgelist": "a b\n"},
        "file,label\ng1.edgelist,-1\n",
        ["labels.csv:2", "label -1 is negative"],
    ),
    "empty label": ({"g1.edgelist": "a b\n"}, "file,label\ng1.edgelist,\n", ["labels.csv:2", "empty label"]),
    "header without label": (
        {"g1.edgelist": "a b\n"},
        "name,class\ng1.edgelist,0\n",
        ["labels.csv:1", "'file' and 'label'"],
    ),
    "edge-list line that is not u v [w]": (
        {"g1.edgelist": "a b\n# fine\na b c d\n"},
        "file,label\ng1.edgelist,0\n",
        ["g1.edgelist:3", "expected 'u v' or 'u v weight', got 'a b c d'"],
    ),
    "edge-list weight that is not a number": (
        {"g1.edgelist": "a b heavy\n"},
        "file,label\ng1.edgelist,0\n",
        ["g1.edgelist:1", "weight 'heavy'"],
    ),
    "edge list without edges": (
        {"g1.edgelist": "# nothing\n"},
        "file,label\ng1.edgelist,0\n",
        ["g1.edgelist", "no edges"],
    ),
    "JSON without nodes/links": (
        {"g1.json": '{"vertices": [], "arcs": []}'},
        "file,label\ng1.json,0\n",
        ["g1.json", "not a node-link graph", "'nodes' and 'links'"],
    ),
    "malformed JSON": (
        {"g1.json": '{\n  "nodes": [{"id": 1}],\n  "links": [}\n'},
        "file,label\ng1.json,0\n",
        ["g1.json:3:13", "malformed JSON"],
    ),
    "link to an absent node": (
        {
            "g1.json": json.dumps(
                {
                    "nodes": [{"id": "x"}, {"id": "y"}],
                    "links": [{"source": "x", "target": "y"}, {"source": "y", "target": "z"}],
                }
            )
        },
        "file,label\ng1.json,0\n",
        ["g1.json", "links[1]: target 'z' is not among the nodes"],
    ),
    "repeated node id": (
        {"g1.json": json.dumps({"nodes": [{"id": 1}, {"id": 1}], "links": []})},
        "file,label\ng1.json,0\n",
        ["g1.json", "nodes[1]: node id 1 repeats nodes[0]"],
    ),
    "malformed GraphML": (
        {"g1.graphml": '<?xml version="1.0"?>\n<graphml>\n<graph>\n</graphml>\n'},
        "file,label\ng1.graphml,0\n",
        ["g1.graphml:4:", "malformed GraphML"],
    ),
    "level0 attribute": (
        {"g1.json": json.dumps({"nodes": [{"id": 1, "level0": 1}], "links": []})},
        "file,label\ng1.json,0\n",
        ["g1.json", "'level0'", "levels start at level1"],
    ),
    "different feature widths": (
        {
            "g1.json": json.dumps({"nodes": [{"id": 1, "a": 1, "b": 2}], "links": []}),
            "g2.json": json.dumps({"nodes": [{"id": 1, "a": 1}], "links": []}),
        },
        "file,label\ng1.json,0\ng2.json,1\n",
        ["g2.json: 1 node feature columns (a)", "g1.json has 2 node feature columns (a, b)"],
    ),
    "attributes against degree features": (
        {"g1.json": json.dumps({"nodes": [{"id": 1, "a": 1}], "links": []}), "g2.edgelist": "a b\n"},
        "file,label\ng1.json,0\ng2.edgelist,1\n",
        ["g2.edgelist: no numeric node attributes", "g1.json has 1 node feature columns (a)"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_folder_errors_name_the_file_and_line(tmp_path, case):
    files, labels, message = BAD_FOLDERS[case]
    folder = _folder(tmp_path / "in", files, labels)
    before = _snapshot(folder)
    _raises(message, load_graph_folder, folder)
    assert _snapshot(folder) == before


def test_folder_errors_before_reading(tmp_path):
    _raises([str(tmp_path / "absent"), "no such folder"], load_graph_folder, tmp_path / "absent")
    (tmp_path / "f.txt").write_text("a b\n")
    _raises(["f.txt", "not a folder"], load_graph_folder, tmp_path / "f.txt")
    empty = _folder(tmp_path / "empty", {"README.md": "hello"}, "file,label\n")
    _raises(["empty", "no graph files"], load_graph_folder, empty)
    nolabels = _folder(tmp_path / "nolabels", {"g.edges": "a b\n"})
    _raises(["labels.csv", "labels file not found"], load_graph_folder, nolabels)
    _raises(["node_features", "'size'"], load_graph_folder, nolabels, node_features="size")


def _jsonl(*objs):
    return "\n".join(o if isinstance(o, str) else json.dumps(o) for o in objs) + "\n"


BAD_JSONL = {
    "duplicate ids": (
        _jsonl(
            {"id": "a", "label": 0, "edges": [[0, 1]]},
            {"id": "b", "label": 0, "edges": [[0, 1]]},
            {"id": "a", "label": 1, "edges": [[0, 1]]},
        ),
        ["d.jsonl:3", "graph id 'a' repeats line 1"],
    ),
    "malformed line": (
        _jsonl({"label": 0, "edges": [[0, 1]]}, '{"label": 0, "edges": [[0, 1]'),
        ["d.jsonl:2:30", "malformed JSON"],
    ),
    "not an object": (_jsonl("[1, 2]"), ["d.jsonl:1", "expected a JSON object"]),
    "no label": (_jsonl({"edges": [[0, 1]]}), ["d.jsonl:1", "no 'label'"]),
    "fractional label": (_jsonl({"label": 1.5, "edges": [[0, 1]]}), ["d.jsonl:1", "label 1.5 is neither"]),
    "numbers mixed with names": (
        _jsonl({"label": 0, "edges": [[0, 1]]}, {"label": "cat", "edges": [[0, 1]]}),
        ["mix class numbers and class names", "d.jsonl:1: 0", "d.jsonl:2: 'cat'"],
    ),
    "edge out of range": (
        _jsonl({"label": 0, "num_nodes": 3, "edges": [[0, 1], [0, 5]]}),
        ["d.jsonl:1", "edges[1] = [0, 5] is out of range for 3 nodes"],
    ),
    "edge that is not a pair": (_jsonl({"label": 0, "edges": [[0]]}), ["d.jsonl:1", "edges[0] is [0], not a pair"]),
    "x with the wrong number of rows": (
        _jsonl({"label": 0, "num_nodes": 3, "edges": [], "x": [[1], [2]]}),
        ["d.jsonl:1", "'x' must be a list of 3 rows"],
    ),
    "x that is not numbers": (
        _jsonl({"label": 0, "edges": [], "x": [["a"]]}),
        ["d.jsonl:1", "'x'[0][0] is 'a', not a number"],
    ),
    "x of different widths": (
        _jsonl({"label": 0, "edges": [], "x": [[1, 2]]}, {"label": 0, "edges": [], "x": [[1, 2, 3]]}),
        ["d.jsonl:2: 3 node feature columns", "d.jsonl:1 has 2"],
    ),
    "x in some graphs only": (
        _jsonl({"label": 0, "edges": [], "x": [[1]]}, {"label": 0, "edges": [[0, 1]]}),
        ["d.jsonl:2: no 'x'", "d.jsonl:1 has one"],
    ),
    "levels of the wrong shape": (
        _jsonl({"label": 0, "edges": [[0, 1]], "levels": [[0], [0, 1]]}),
        ["d.jsonl:1", "'levels' must be 2 rows"],
    ),
    "no nodes": (_jsonl({"label": 0, "edges": []}), ["d.jsonl:1", "no nodes"]),
    "empty file": ("\n\n", ["d.jsonl", "no graphs"]),
}


@pytest.mark.parametrize("case", list(BAD_JSONL))
def test_jsonl_errors_name_the_file_and_line(tmp_path, case):
    text, message = BAD_JSONL[case]
    (tmp_path / "d.jsonl").write_text(text)
    _raises(message, load_jsonl, tmp_path / "d.jsonl")


def test_jsonl_missing_file(tmp_path):
    _raises(["nope.jsonl", "no such file"], load_jsonl, tmp_path / "nope.jsonl")


def test_readme_is_not_read_as_a_graph_and_nan_features_are_named(tmp_path):
    import json as _json

    folder = tmp_path / "g"
    folder.mkdir()
    (folder / "README.txt").write_text("These are my graphs.\n")
    (folder / "g1.edgelist").write_text("a b\n")
    (folder / "labels.csv").write_text("file,label\ng1.edgelist,0\n")
    ds = load_graph_folder(folder)
    assert len(ds) == 1 and any("README.txt" in n for n in ds.notes)
    bad = tmp_path / "d.jsonl"
    bad.write_text(_json.dumps({"label": 0, "edges": [[0, 1]], "x": [[1.0], [float("nan")]]}) + "\n")
    with pytest.raises(ValueError, match=r"d.jsonl:1: node 1 has nan .* must be finite"):
        load_jsonl(bad)


# -- hardening: every bad input a ValueError naming the file, nothing silently wrong, bounded --------


def _gml(body: str, keys: str = "") -> str:
    return '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">' + keys + body + "</graphml>"


_GML_NODE_ATTR = '<key id="d0" for="node" attr.name="{name}" attr.type="{type}"/>'
_TWO_NODES = '<graph edgedefault="undirected"><node id="n0"/><node id="n1"/>{}</graph>'

BAD_FOLDERS_MORE = {
    "edge-list weight NaN": ({"g.edges": "a b nan\n"}, ["g.edges:1", "weight 'nan' is not a number"]),
    "edge-list weight with an underscore": ({"g.edges": "a b 1_0\n"}, ["g.edges:1", "weight '1_0' is not a number"]),
    "edge-list weight beyond float32": ({"g.edges": "a b\nb c 1e39\n"}, ["g.edges:2", "weight 1e39", "float32"]),
    "edge list not UTF-8": ({"g.edges": b"a b\n\xe9 c\n"}, ["g.edges:2", "not UTF-8"]),
    "node-link weight true": (
        {
            "g.json": json.dumps(
                {"nodes": [{"id": 1}, {"id": 2}], "links": [{"source": 1, "target": 2, "weight": True}]}
            )
        },
        ["g.json", "links[0]: weight true is not a number"],
    ),
    "node-link weight string": (
        {"g.json": json.dumps({"nodes": [{"id": 1}, {"id": 2}], "links": [{"source": 1, "target": 2, "weight": "2"}]})},
        ["g.json", "links[0]: weight '2' is not a number"],
    ),
    "node-link weight NaN": (
        {"g.json": '{"nodes": [{"id": 1}, {"id": 2}], "links": [{"source": 1, "target": 2, "weight": NaN}]}'},
        ["g.json", "links[0]: weight nan", "must be finite"],
    ),
    "node-link attribute NaN": (
        {"g.json": '{"nodes": [{"id": "p", "a": 1}, {"id": "q", "a": NaN}], "links": []}'},
        ["g.json", "node 'q' has nan for 'a'", "must be finite"],
    ),
    "node-link attribute beyond float32": (
        {"g.json": json.dumps({"nodes": [{"id": "p", "a": 1e39}], "links": []})},
        ["g.json", "node 'p' has 1e+39 for 'a'", "float32"],
    ),
    "node-link attribute beyond float64": (
        {"g.json": json.dumps({"nodes": [{"id": "p", "a": 10**400}], "links": []})},
        ["g.json", "node 'p' has 1000", "for 'a'", "float32"],
    ),
    "node-link level true": (
        {"g.json": json.dumps({"nodes": [{"id": 1, "level1": True}], "links": []})},
        ["g.json", "level 1 group true of node 0 is neither a number nor a name"],
    ),
    "node-link links and edges": (
        {"g.json": json.dumps({"nodes": [{"id": 1}], "links": [], "edges": []})},
        ["g.json", "both 'links' and 'edges'"],
    ),
    "node-link key twice": (
        {"g.json": '{"nodes": [{"id": 1, "id": 2}], "links": []}'},
        ["g.json", "an object has the key 'id' twice"],
    ),
    "node-link nested too deeply": (
        {"g.json": '{"nodes": ' + "[" * 5000 + "]" * 5000 + ', "links": []}'},
        ["g.json", "JSON nested too deeply"],
    ),
    "node-link 1.0 is not the id 1": (
        {"g.json": json.dumps({"nodes": [{"id": 1}, {"id": 2}], "links": [{"source": 1.0, "target": 2}]})},
        ["g.json", "links[0]: source 1.0 is not among the nodes"],
    ),
    "GraphML long beyond float64": (
        {
            "g.graphml": _gml(
                '<graph edgedefault="undirected"><node id="n0"><data key="d0">' + "9" * 400 + "</data></node></graph>",
                _GML_NODE_ATTR.format(name="a", type="long"),
            )
        },
        ["g.graphml", "node 'n0' has 9999", "for 'a'", "float32"],
    ),
    "GraphML int that is not one": (
        {
            "g.graphml": _gml(
                '<graph edgedefault="undirected"><node id="n0"><data key="d0">abc</data></node></graph>',
                _GML_NODE_ATTR.format(name="a", type="int"),
            )
        },
        ["g.graphml:1: node 'n0': 'a' (int) is 'abc', not an integer (decimal digits)"],
    ),
    "GraphML unknown attribute type": (
        {
            "g.graphml": _gml(
                '<graph edgedefault="undirected"><node id="n0"><data key="d0">1</data></node></graph>',
                _GML_NODE_ATTR.format(name="a", type="complex"),
            )
        },
        ["g.graphml:1: key 'd0' has attr.type 'complex'; GraphML types are boolean, int, long"],
    ),
    "GraphML double NaN": (
        {
            "g.graphml": _gml(
                '<graph edgedefault="undirected"><node id="n0"><data key="d0">NaN</data></node></graph>',
                _GML_NODE_ATTR.format(name="a", type="double"),
            )
        },
        ["g.graphml", "node 'n0' has nan for 'a'"],
    ),
    "GraphML level NaN": (
        {
            "g.graphml": _gml(
                '<graph edgedefault="undirected"><node id="n0"><data key="d0">NaN</data></node></graph>',
                _GML_NODE_ATTR.format(name="level1", type="double"),
            )
        },
        ["g.graphml", "level 1 group of node 0 is nan"],
    ),
    "GraphML boolean weight": (
        {
            "g.graphml": _gml(
                _TWO_NODES.format('<edge source="n0" target="n1"><data key="d0">true</data></edge>'),
                '<key id="d0" for="edge" attr.name="weight" attr.type="boolean"/>',
            )
        },
        ["g.graphml", "edges[0]: weight true is not a number"],
    ),
    "GraphML string weight": (
        {
            "g.graphml": _gml(
                _TWO_NODES.format('<edge source="n0" target="n1"><data key="d0">2.5</data></edge>'),
                '<key id="d0" for="edge" attr.name="weight" attr.type="string"/>',
            )
        },
        ["g.graphml", "edges[0]: weight '2.5' is not a number"],
    ),
    "GraphML hyperedge": (
        {
            "g.graphml": _gml(
                '<graph edgedefault="undirected"><node id="n0"/><hyperedge><endpoint node="n0"/></hyperedge></graph>'
            )
        },
        ["g.graphml", "cannot read GraphML", "hyperedges"],
    ),
    "GraphML with two graphs": (
        {
            "g.graphml": _gml(
                '<graph edgedefault="undirected"><node id="a"/></graph>'
                '<graph edgedefault="undirected"><node id="b"/></graph>'
            )
        },
        ["g.graphml", "2 GraphML <graph> elements; one graph per file"],
    ),
    "GraphML without a graph": ({"g.graphml": _gml("")}, ["g.graphml", "no GraphML <graph> elements"]),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS_MORE))
def test_bad_graph_files_are_refused_with_file_and_line(tmp_path, case):
    files, message = BAD_FOLDERS_MORE[case]
    root = tmp_path / "in"
    root.mkdir()
    for fname, content in files.items():
        (root / fname).write_bytes(content if isinstance(content, bytes) else content.encode())
    (root / "labels.csv").write_text("file,label\n" + "".join(f"{f},0\n" for f in files))
    _raises(message, load_graph_folder, root)


BAD_LABELS = {
    "header naming label twice": (
        "file,label,label\ng.edges,0,1\n",
        ["labels.csv:1", "names 2 times the column 'label'"],
    ),
    "header naming file twice": ("file,file,label\ng.edges,x,1\n", ["labels.csv:1", "names 2 times the column 'file'"]),
    "header without label": ("file\ng.edges\n", ["labels.csv:1", "does not name the column 'label'"]),
    "row with a field too many": (
        "file,label\ng.edges,big, red\n",
        ["labels.csv:2", "3 fields but the header names 2 columns", "quote"],
    ),
    "row too short": ("file,label\ng.edges\n", ["labels.csv:2", "expected the columns 'file,label'"]),
    "unclosed quote": (
        'file,label\ng.edges,"0\nh.edges,1\n',
        ["labels.csv:2", "a quoted field starting on this line is never closed"],
    ),
    "text after a quote": ('file,label\ng.edges,"0"x\n', ["labels.csv:2", "malformed CSV", "',' expected"]),
    "NUL in a file name": ("file,label\ng.edges\x00,0\n", ["labels.csv:2", "holds a NUL character"]),
    "NUL in a label": ("file,label\ng.edges,a\x00b\n", ["labels.csv:2", "holds a control character"]),
    "field over the limit": (
        "file,label\ng.edges," + "x" * 140_000 + "\n",
        ["labels.csv:2", "a field longer than 131072"],
    ),
    "label nan": ("file,label\ng.edges,NaN\n", ["labels.csv:2", "label 'NaN'", "missing value?"]),
    "label inf": ("file,label\ng.edges,-inf\n", ["labels.csv:2", "label '-inf'"]),
    "label 1e400": ("file,label\ng.edges,1e400\n", ["labels.csv:2", "'1e400' is too large"]),
    "label of 5000 digits": ("file,label\ng.edges," + "9" * 5000 + "\n", ["labels.csv:2", "is too large"]),
    "label beyond MAX_CLASSES": (
        "file,label\ng.edges,100000\n",
        ["labels.csv:2", "label 100000 is too large", "0 .. 99999"],
    ),
    "label as a float beyond MAX_CLASSES": ("file,label\ng.edges,1e20\n", ["labels.csv:2", "is too large"]),
    "empty file name": ("file,label\n,0\ng.edges,0\n", ["labels.csv:2", "empty file name"]),
    "a path, not a file name": ("file,label\ng.edges,0\nsub/h.edges,1\n", ["labels.csv:3", "'sub/h.edges' is a path"]),
    "a sub-folder": ("file,label\ng.edges,0\nsub,1\n", ["labels.csv:3", "'sub' is a folder"]),
    "a README": ("file,label\ng.edges,0\nREADME.txt,1\n", ["labels.csv:3", "'README.txt' is not read as a graph"]),
    "not UTF-8": (b"file,label\ng.edges,\xe9\n", ["labels.csv:2", "not UTF-8 text"]),
    "only blank lines": ("\n \n\n", ["labels.csv", "empty; expected a header"]),
}


@pytest.mark.parametrize("case", list(BAD_LABELS))
def test_bad_labels_csv_is_refused_with_the_line(tmp_path, case):
    labels, message = BAD_LABELS[case]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "h.edges").write_text("a b\n")
    (tmp_path / "g.edges").write_text("a b\n")
    (tmp_path / "README.txt").write_text("hello\n")
    (tmp_path / "labels.csv").write_bytes(labels if isinstance(labels, bytes) else labels.encode())
    _raises(message, load_graph_folder, tmp_path)


def _lines(*objs) -> str:
    return "\n".join(o if isinstance(o, str) else json.dumps(o) for o in objs) + "\n"


E = [[0, 1]]
BAD_JSONL_MORE = {
    "edge index beyond int64": (
        '{"label": 0, "edges": [[0, 99999999999999999999999]]}',
        ["d.jsonl:2", "edges[0] = [0, 99999999999999999999999]", "beyond MAX_NODES = 10000000"],
    ),
    "edge index beyond MAX_NODES": ({"label": 0, "edges": [[0, 10_000_000]]}, ["d.jsonl:1", "beyond MAX_NODES"]),
    "negative edge index": (
        {"label": 0, "edges": [[0, -1]]},
        ["d.jsonl:1", "edges[0] = [0, -1] has a negative node index"],
    ),
    "fractional edge index": ({"label": 0, "edges": [[0, 1.5]]}, ["d.jsonl:1", "edges[0] is [0, 1.5], not a pair"]),
    "edge index 1e20": ({"label": 0, "edges": [[0, 1e20]]}, ["d.jsonl:1", "edges[0] is [0, 1e+20], not a pair"]),
    "edge index 1.0": ({"label": 0, "edges": [[0, 1.0]]}, ["d.jsonl:1", "edges[0] is [0, 1.0]", "without a fraction"]),
    "edge index true": ({"label": 0, "edges": [[0, True]]}, ["d.jsonl:1", "edges[0] is [0, true], not a pair"]),
    "edge index strings": ({"label": 0, "edges": [["0", "1"]]}, ["d.jsonl:1", "edges[0] is ['0', '1'], not a pair"]),
    "num_nodes of 2e13": (
        {"label": 0, "edges": [], "num_nodes": 20_000_000_000_000},
        ["d.jsonl:1", "'num_nodes' must be a whole number 1 .. 10000000 (MAX_NODES)", "got 20000000000000"],
    ),
    "num_nodes true": ({"label": 0, "edges": [], "num_nodes": True}, ["d.jsonl:1", "'num_nodes'", "got true"]),
    "num_nodes 2.0": ({"label": 0, "edges": [], "num_nodes": 2.0}, ["d.jsonl:1", "'num_nodes'", "got 2.0"]),
    "integer of 5000 digits": (
        '{"label": 0, "edges": [], "num_nodes": ' + "1" * 5000 + "}",
        ["d.jsonl:2", "an integer with too many digits"],
    ),
    "nested 100k deep": (
        '{"label": 0, "edges": ' + "[" * 100_000 + "]" * 100_000 + "}",
        ["d.jsonl:2", "JSON nested too deeply"],
    ),
    "a key twice": (
        '{"label": 0, "label": 1, "edges": [[0, 1]]}',
        ["d.jsonl:2", "an object has the key 'label' twice"],
    ),
    "x NaN": ('{"label": 0, "edges": [], "x": [[1.0], [NaN]]}', ["d.jsonl:2", "node 1 has nan in 'x' (column 0)"]),
    "x Infinity": ('{"label": 0, "edges": [], "x": [[-Infinity]]}', ["d.jsonl:2", "node 0 has -inf in 'x'"]),
    "x beyond float32": (
        {"label": 0, "edges": [], "x": [[1, 2], [3, 1e39]]},
        ["d.jsonl:1", "node 1 has 1e+39 in 'x' (column 1)"],
    ),
    "x beyond float64": (
        '{"label": 0, "edges": [], "x": [[' + "9" * 400 + "]]}",
        ["d.jsonl:2", "'x'[0][0] is 9999", "float32"],
    ),
    "x true": ({"label": 0, "edges": [], "x": [[1], [True]]}, ["d.jsonl:1", "'x'[1][0] is true, not a number"]),
    "x string of a number": (
        {"label": 0, "edges": [], "x": [["1.5"]]},
        ["d.jsonl:1", "'x'[0][0] is '1.5', not a number"],
    ),
    "x null": ({"label": 0, "edges": [], "x": [[None]]}, ["d.jsonl:1", "'x'[0][0] is null, not a number"]),
    "x ragged": ({"label": 0, "edges": [], "x": [[1, 2], [3]]}, ["d.jsonl:1", "'x'[1] has 1 numbers but 'x'[0] has 2"]),
    "x nested": ({"label": 0, "edges": [], "x": [[1, [2]], [3, 4]]}, ["d.jsonl:1", "'x'[0][1] is [2], not a number"]),
    "x rows empty": ({"label": 0, "edges": [], "x": [[], []]}, ["d.jsonl:1", "the rows of 'x' are empty"]),
    "x an object": ({"label": 0, "edges": [], "x": {"a": 1}}, ["d.jsonl:1", "'x' must be a list", "got object"]),
    "edge_attr NaN": (
        '{"label": 0, "edges": [[0, 1]], "edge_attr": [[NaN]]}',
        ["d.jsonl:2", "edge 0 has nan in 'edge_attr'"],
    ),
    "edge_attr Infinity": ('{"label": 0, "edges": [[0, 1]], "edge_attr": [Infinity]}', ["d.jsonl:2", "edge 0 has inf"]),
    "edge_attr empty for an edge": (
        {"label": 0, "edges": E, "edge_attr": []},
        ["d.jsonl:1", "'edge_attr' must be", "got 0 rows"],
    ),
    "edge_attr ragged": (
        {"label": 0, "edges": [[0, 1], [1, 2]], "edge_attr": [[1], [1, 2]]},
        ["d.jsonl:1", "'edge_attr'[1] has 2 numbers but 'edge_attr'[0] has 1"],
    ),
    "levels true": ({"label": 0, "edges": E, "levels": [[True], [1]]}, ["d.jsonl:1", "level 1 group true of node 0"]),
    "levels NaN": (
        '{"label": 0, "edges": [[0, 1]], "levels": [[NaN], [1]]}',
        ["d.jsonl:2", "level 1 group of node 0 is nan"],
    ),
    "levels a list of numbers": ({"label": 0, "edges": E, "levels": [0, 1]}, ["d.jsonl:1", "'levels' must be 2 rows"]),
    "label true": ({"label": True, "edges": E}, ["d.jsonl:1", "label true is neither"]),
    "label null": ({"label": None, "edges": E}, ["d.jsonl:1", "label null is neither"]),
    "label beyond MAX_CLASSES": (
        {"label": 10**20, "edges": E},
        ["d.jsonl:1", "label 100000000000000000000 is too large"],
    ),
    "label 1e300": ({"label": 1e300, "edges": E}, ["d.jsonl:1", "is too large", "MAX_CLASSES"]),
    "id a float": (
        {"id": 1.5, "label": 0, "edges": E},
        ["d.jsonl:1", "'id' must be a string or a whole number", "got 1.5"],
    ),
    "id a list": ({"id": [1], "label": 0, "edges": E}, ["d.jsonl:1", "'id' must be", "got [1]"]),
    "id null": ({"id": None, "label": 0, "edges": E}, ["d.jsonl:1", "'id' must be", "got null"]),
    "id beyond int64": ({"id": 2**63, "label": 0, "edges": E}, ["d.jsonl:1", "'id' must be"]),
    "ids of two kinds": (
        _lines({"id": 1, "label": 0, "edges": E}, {"id": "b", "label": 0, "edges": E}),
        ["d.jsonl:2", "id 'b' but line 1 has the id 1", "all strings or all whole numbers"],
    ),
    "ids on some lines": (
        _lines({"id": "a", "label": 0, "edges": E}, "", {"label": 0, "edges": E}),
        ["d.jsonl:3", "line 1 has an 'id' but line 3 has none"],
    ),
    "only blank lines": ("\n  \n\t\r\n", ["d.jsonl", "no graphs"]),
    "not UTF-8": (
        b'{"label": 0, "edges": [[0, 1]]}\n{"label": "\xff", "edges": [[0, 1]]}\n',
        ["d.jsonl:2", "not UTF-8"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_JSONL_MORE))
def test_bad_jsonl_is_refused_with_the_line(tmp_path, case):
    content, message = BAD_JSONL_MORE[case]
    path = tmp_path / "d.jsonl"
    if isinstance(content, dict):
        content = json.dumps(content) + "\n"
    elif isinstance(content, str) and not content.endswith("\n"):
        content = '{"label": 1, "edges": [[0, 1]]}\n' + content + "\n"  # the bad graph is on line 2
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    _raises(message, load_jsonl, path)


def test_total_nodes_are_bounded(tmp_path, monkeypatch):
    from hipool.data import own

    path = tmp_path / "d.jsonl"
    path.write_text(_lines(*({"label": 0, "edges": [], "num_nodes": 600} for _ in range(2))))
    monkeypatch.setattr(own.limits, "MAX_TOTAL_NODES", 1000)
    _raises(["d.jsonl: 1200 nodes in all, more than MAX_TOTAL_NODES = 1000"], load_jsonl, path)
    monkeypatch.setattr(own.limits, "MAX_NODES", 500)
    _raises(["d.jsonl:1", "'num_nodes' must be a whole number 1 .. 500"], load_jsonl, path)


def test_bom_crlf_and_float_labels_read_as_plain_text(tmp_path):
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_bytes('\ufeff{"label": 1.0, "edges": [[0, 1]]}\r\n\r\n{"label": 0, "edges": [[1, 2]]}\r\n'.encode())
    ds = load_jsonl(jsonl)
    assert ds.labels() == [1, 0] and [g.num_nodes for g in ds] == [2, 3]
    folder = _folder(tmp_path / "f", {"g1.edges": "\ufeffa b 2.5\r\nb c\r\n", "g2.edges": "x y\r\n"})
    (folder / "labels.csv").write_bytes("\ufefffile,label\r\ng1.edges,1.0\r\ng2.edges,0,\r\n".encode())
    ds = load_graph_folder(folder)  # a trailing empty field is fine
    assert ds.labels() == [1, 0] and ds[0].num_nodes == 3
    assert sorted(ds[0].edge_attr.view(-1).tolist()) == [1.0, 1.0, 2.5, 2.5]


def test_a_single_graph_and_a_single_class_load_with_a_note(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(_lines({"label": 2, "edges": [[0, 1]]}))
    ds = load_jsonl(path)
    assert len(ds) == 1 and ds.num_classes == 3 and ds.labels() == [2]
    assert "a single class (2): nothing to tell apart" in ds.notes and "classes 0, 1 have no graph" in ds.notes
    folder = _folder(tmp_path / "f", {"g.edges": "a b\n", "h.edges": "a b\n"}, "file,label\ng.edges,cat\nh.edges,cat\n")
    ds = load_graph_folder(folder)
    assert ds.num_classes == 1 and ds.class_names == ["cat"]
    assert "a single class ('cat'): nothing to tell apart" in ds.notes


def test_sub_folders_links_and_odd_entries_are_listed_not_read(tmp_path):
    folder = _folder(tmp_path / "f", {"g.edges": "a b\n"}, "file,label\ng.edges,0\nlink.edges,1\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "h.edges").write_text("a b\n")
    (folder / "link.edges").symlink_to(tmp_path / "elsewhere.edges")
    (tmp_path / "elsewhere.edges").write_text("a b\nb c\n")
    (folder / "broken.edges").symlink_to(tmp_path / "nowhere")
    ds = load_graph_folder(folder)
    assert [g.graph_id for g in ds] == ["g.edges", "link.edges"] and ds[1].num_nodes == 3  # links are followed
    assert "ignored sub-folders and other entries that are not files: broken.edges, sub/" in ds.notes
    (folder / "labels.csv").write_text("file,label\ng.edges,0\nlink.edges,1\nbroken.edges,1\n")
    _raises(["labels.csv:4", "'broken.edges' is a broken symbolic link"], load_graph_folder, folder)


def test_node_link_ids_may_be_lists_and_objects(tmp_path):
    doc = {
        "nodes": [{"id": [1, 2]}, {"id": {"a": 1}}, {"id": 1}],
        "links": [{"source": [1, 2], "target": {"a": 1}}, {"source": {"a": 1}, "target": 1}],
    }
    folder = _folder(tmp_path, {"g.json": json.dumps(doc)}, "file,label\ng.json,0\n")
    g = load_graph_folder(folder)[0]
    assert g.num_nodes == 3 and _edges(g) == _both([(0, 1), (1, 2)])


def test_save_jsonl_refuses_what_load_jsonl_would_refuse(tmp_path):
    graphs = make_community_dataset(num_graphs=3, seed=0, min_nodes=48, max_nodes=60)
    graphs[0].graph_id, graphs[1].graph_id, graphs[2].graph_id = "a", 1, "c"
    _raises(["save_jsonl: graph 1: graph_id 1 but graph 0 has 'a'"], save_jsonl, graphs, tmp_path / "x.jsonl")
    graphs[1].graph_id = (1, 2)
    _raises(
        ["save_jsonl: graph 1: graph_id (1, 2) is not a string nor a whole number"],
        save_jsonl,
        graphs,
        tmp_path / "x.jsonl",
    )
    del graphs[1].graph_id
    _raises(["save_jsonl: graph 1: graph_id null"], save_jsonl, graphs, tmp_path / "x.jsonl")
    graphs[1].graph_id = "b"
    graphs[2].x[0, 0] = float("nan")
    _raises(["save_jsonl: graph 2: x holds NaN"], save_jsonl, graphs, tmp_path / "x.jsonl")
    assert not list(tmp_path.iterdir())
    graphs[2].x[0, 0] = 0.0
    for i, g in enumerate(graphs):
        g.graph_id = 10 * i
    back = load_jsonl(save_jsonl(graphs, tmp_path / "x.jsonl"))
    assert [g.graph_id for g in back] == [0, 10, 20]


def test_group_ids_may_be_any_whole_number(tmp_path):
    path = tmp_path / "d.jsonl"
    big = "9" * 400
    path.write_text('{"label": 0, "edges": [[0, 1], [1, 2]], "levels": [[' + big + "], [1], [-" + big + "]]}\n")
    assert load_jsonl(path)[0][LEVEL_LABELS].tolist() == [[1], [0], [-1]]


# -- held-out bad inputs (issue 17, second pass) --------------------------------------------
_KEY_D0 = _GML_NODE_ATTR.format(name="a", type="double")
BAD_GRAPHML = {
    "a DOCTYPE with an external entity (XXE)": (
        '<?xml version="1.0"?>\n<!DOCTYPE graphml [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph><node id="&x;"/></graph></graphml>',
        ["g.graphml:2: a <!DOCTYPE> declaration", "without a DTD or entities"],
    ),
    "a DOCTYPE with an internal entity": (
        '<?xml version="1.0"?>\n<!DOCTYPE graphml [<!ENTITY v "5">]>\n'
        + _gml('<graph><node id="n0"><data key="d0">&v;</data></node></graph>', _KEY_D0)[21:],
        ["g.graphml:2: a <!DOCTYPE> declaration"],
    ),
    "an edge to an undeclared node": (
        _gml('<graph edgedefault="undirected"><node id="n0"/>\n<edge source="n0" target="zz"/></graph>'),
        ["g.graphml:2: edge target 'zz' is not a node of the graph"],
    ),
    "a node declared twice": (_gml(_TWO_NODES.format('<node id="n0"/>')), ["g.graphml:1: node 'n0' is declared twice"]),
    "a node without an id": (_gml("<graph><node/></graph>"), ["g.graphml:1: a <node> without an id"]),
    "an edge without a source": (
        _gml(_TWO_NODES.format('<edge target="n0"/>')),
        ["g.graphml:1: an <edge> without a source"],
    ),
    "a key id declared twice": (
        _gml(
            '<graph><node id="n0"><data key="d0">1</data></node></graph>',
            _KEY_D0 + "\n" + _GML_NODE_ATTR.format(name="b", type="int"),
        ),
        ["g.graphml:2: key 'd0' is declared twice (also at line 1)"],
    ),
    "two keys for one attribute": (
        _gml(
            '<graph><node id="n0"><data key="d0">1</data><data key="d1">2</data></node></graph>',
            _KEY_D0 + '<key id="d1" for="node" attr.name="a" attr.type="double"/>',
        ),
        ["g.graphml:1: key 'd1' declares the attribute 'a' for node elements again"],
    ),
    "data twice on a node": (
        _gml('<graph><node id="n0"><data key="d0">1</data>\n<data key="d0">7</data></node></graph>', _KEY_D0),
        ["g.graphml:2: node 'n0' has data for key 'd0' twice (also at line 1)"],
    ),
    "data for an undeclared key": (
        _gml('<graph><node id="n0"><data key="zz">1</data></node></graph>'),
        ["g.graphml:1: node 'n0': data for key 'zz', which no <key> declares"],
    ),
    "a boolean that is not one": (
        _gml(
            '<graph><node id="n0"><data key="d0">yes</data></node></graph>',
            _GML_NODE_ATTR.format(name="a", type="boolean"),
        ),
        ["g.graphml:1: node 'n0': 'a' (boolean) is 'yes', not a GraphML boolean (true, false, 1 or 0)"],
    ),
    "a double with an underscore": (
        _gml('<graph><node id="n0"><data key="d0">1_000</data></node></graph>', _KEY_D0),
        ["g.graphml:1: node 'n0': 'a' (double) is '1_000', not a number"],
    ),
    "an int in Arabic-Indic digits": (
        _gml(
            '<graph><node id="n0"><data key="d0">\u0663</data></node></graph>',
            _GML_NODE_ATTR.format(name="a", type="int"),
        ),
        ["g.graphml:1: node 'n0': 'a' (int) is", "not an integer (decimal digits)"],
    ),
    "an unknown edgedefault": (
        _gml('<graph edgedefault="sideways"><node id="n0"/></graph>'),
        ["g.graphml:1: edgedefault='sideways'; it is 'directed' or 'undirected'"],
    ),
    "a nested graph": (
        _gml('<graph><node id="n0"><graph><node id="n0::a"/></graph></node></graph>'),
        ["g.graphml:1: a <graph> inside a node"],
    ),
    "an edge id repeated between the same nodes": (
        _gml(_TWO_NODES.format('<edge id="e" source="n0" target="n1"/>\n<edge id="e" source="n1" target="n0"/>')),
        ["g.graphml:2: edge id 'e' between 'n1' and 'n0' repeats the edge at line 1"],
    ),
    "a level attribute beyond MAX_LEVELS": (
        _gml(
            '<graph><node id="n0"><data key="d0">1</data></node></graph>',
            _GML_NODE_ATTR.format(name="level99999999999", type="int"),
        ),
        ["g.graphml", "node attribute 'level99999999999': at most 32 levels (MAX_LEVELS)"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_GRAPHML))
def test_graphml_is_checked_before_networkx_reads_it(tmp_path, case):
    """networkx adds a node for an edge to an undeclared one, lets a repeated node, key or data
    replace the first, reads 1_000 as an int and expands DTD entities: all refused, with the line."""
    text, message = BAD_GRAPHML[case]
    root = _folder(tmp_path / "in", {"g.graphml": text}, "file,label\ng.graphml,0\n")
    _raises(message, load_graph_folder, root)


def test_graphml_key_defaults_hold_where_data_is_missing(tmp_path):
    keys = (
        '<key id="d0" for="node" attr.name="a" attr.type="double"><default>2.5</default></key>'
        '<key id="w" for="edge" attr.name="weight" attr.type="double"><default>3</default></key>'
    )
    body = _TWO_NODES.format('<edge source="n0" target="n1"/>').replace(
        '<node id="n0"/>', '<node id="n0"><data key="d0">1</data></node>'
    )
    ds = load_graph_folder(_folder(tmp_path / "in", {"g.graphml": _gml(body, keys)}, "file,label\ng.graphml,0\n"))
    assert ds[0].x.view(-1).tolist() == [1.0, 2.5] and ds[0].edge_attr.view(-1).tolist() == [3.0, 3.0]


@pytest.mark.parametrize(
    "attrs,message",
    [
        (
            {"level1": 0, "level01": 1},
            "node attribute 'level01': a level is named level1, level2, ... without a leading zero",
        ),
        ({"level1000000": 0}, "node attribute 'level1000000': at most 32 levels (MAX_LEVELS): level1 .. level32"),
        ({"level33": 0}, "node attribute 'level33': at most 32 levels"),
    ],
)
def test_level_attributes_are_bounded_and_unambiguous(tmp_path, attrs, message):
    """level1000000 padded every node of the dataset to a million columns (level99999999999 hung);
    level01 next to level1 silently hid one of them."""
    doc = json.dumps({"nodes": [{"id": 0, **attrs}, {"id": 1}], "links": []})
    root = _folder(tmp_path / "in", {"g.json": doc}, "file,label\ng.json,0\n")
    _raises(["g.json", message], load_graph_folder, root)


def test_level32_is_the_deepest_level(tmp_path):
    doc = json.dumps({"nodes": [{"id": 0, "level32": 5}, {"id": 1}], "links": []})
    ds = load_graph_folder(_folder(tmp_path / "in", {"g.json": doc}, "file,label\ng.json,0\n"))
    assert ds[0][LEVEL_LABELS].shape == (2, 32) and ds[0][LEVEL_LABELS][0, 31] == 0


@pytest.mark.parametrize(
    "node_features,message",
    [
        (5, "node_features must be None, 'degree' or a list of attribute names, got 5"),
        ([5], "node_features: 5 is not an attribute name (a string)"),
        (["a", "a"], "node_features names 'a' twice"),
        (
            ["level1"],
            "node_features: 'level1' is a level attribute (the known hierarchy, level_labels), never a feature",
        ),
    ],
)
def test_node_features_argument_is_checked(tmp_path, node_features, message):
    doc = json.dumps({"nodes": [{"id": 0, "a": 1, "level1": 0}], "links": []})
    root = _folder(tmp_path / "in", {"g.json": doc}, "file,label\ng.json,0\n")
    _raises([message], load_graph_folder, root, node_features=node_features)


BAD_JSONL_HELD_OUT = {
    "a lone surrogate in a label": (
        '{"label": "\\ud800", "edges": [[0, 1]]}',
        ["d.jsonl:2: the string '\\ud800' holds a lone UTF-16 surrogate"],
    ),
    "a lone surrogate in a key": (
        '{"label": 0, "edges": [[0, 1]], "\\udc00x": 1}',
        ["d.jsonl:2: the string '\\udc00x' holds a lone UTF-16 surrogate"],
    ),
    "a control character in a label": (
        '{"label": "a\\u0000b", "edges": [[0, 1]]}',
        ["d.jsonl:2: label 'a\\x00b' holds a control character"],
    ),
    "levels deeper than MAX_LEVELS": (
        {"label": 0, "edges": E, "levels": [[0] * 33, [0] * 33]},
        ["d.jsonl:1: 'levels' rows of 33 groups; at most 32 levels (MAX_LEVELS)"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_JSONL_HELD_OUT))
def test_more_bad_jsonl_is_refused_with_the_line(tmp_path, case):
    content, message = BAD_JSONL_HELD_OUT[case]
    path = tmp_path / "d.jsonl"
    if isinstance(content, dict):
        content = json.dumps(content) + "\n"
    else:  # the bad graph is on line 2
        content = '{"label": 1, "edges": [[0, 1]]}\n' + content + "\n"
    path.write_text(content)
    _raises(message, load_jsonl, path)


def test_a_surrogate_pair_is_text(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"label": "\\ud83d\\ude00", "edges": [[0, 1]]}\n')
    assert load_jsonl(path).class_names == ["\U0001f600"]


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda tmp: load_jsonl(5), "load_jsonl: path must be a path (a str or pathlib.Path), got 5"),
        (lambda tmp: load_jsonl(""), "load_jsonl: path is empty"),
        (lambda tmp: load_jsonl(tmp / ("x" * 300 + ".jsonl")), "cannot read it (file name too long)"),
        (lambda tmp: load_jsonl(tmp), "a folder, not a file"),
        (lambda tmp: load_graph_folder(None), "load_graph_folder: folder must be a path"),
        (lambda tmp: load_graph_folder(tmp, labels_csv=5), "load_graph_folder: labels_csv must be a path"),
        (lambda tmp: load_graph_folder(tmp, labels_csv=tmp), "a folder, not a labels file"),
        (lambda tmp: load_jsonl(tmp / "d.jsonl", name=5), "name must be a non-empty string"),
    ],
)
def test_bad_path_arguments_are_value_errors(tmp_path, call, message):
    (tmp_path / "g.edges").write_text("a b\n")
    (tmp_path / "d.jsonl").write_text('{"label": 0, "edges": [[0, 1]]}\n')
    _raises([message], call, tmp_path)


def test_a_pipe_as_jsonl_or_labels_is_refused_without_reading(tmp_path):
    os.mkfifo(tmp_path / "p.jsonl")
    _raises(["p.jsonl: not a regular file (a pipe or a device)"], load_jsonl, tmp_path / "p.jsonl")
    (tmp_path / "g.edges").write_text("a b\n")
    os.mkfifo(tmp_path / "labels.csv")
    _raises(["labels.csv: not a regular file (a pipe or a device), not a labels file"], load_graph_folder, tmp_path)


def test_many_attribute_names_are_read_in_linear_time(tmp_path):
    """A node-link file whose n nodes each carry their own attribute name took n**2 steps (a 4 MB
    file of 200,000 nodes: hours); it is now a single pass."""
    import time

    n = 50_000
    doc = json.dumps({"nodes": [{"id": i, f"a{i}": 1} for i in range(n)], "links": []})
    root = _folder(tmp_path / "in", {"g.json": doc}, "file,label\ng.json,0\n")
    start = time.perf_counter()
    ds = load_graph_folder(root)
    assert time.perf_counter() - start < 10
    assert ds[0].num_nodes == n and ds.num_features == NUM_DEGREE_FEATURES


def test_an_attribute_name_with_5000_digits_sorts(tmp_path):
    """Sorting columns turned the digit run into an int: Python refuses more than 4300 digits."""
    long_name = "f" + "9" * 5000
    doc = json.dumps({"nodes": [{"id": 0, long_name: 1, "f2": 2}], "links": []})
    ds = load_graph_folder(_folder(tmp_path / "in", {"g.json": doc}, "file,label\ng.json,0\n"))
    assert ds[0].x.tolist() == [[2.0, 1.0]]
