"""Tests of the user's own graphs (hipool.data.own): folders of GraphML / node-link JSON /
edge lists with a labels CSV, and JSONL files."""
import json
import math
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
    folder = _folder(tmp_path / "in", {"g1.graphml": _society(), "g2.graphml": directed},
                     "file,label\ng1.graphml,1\ng2.graphml,0\n")
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
    folder = _folder(tmp_path, {"d.json": json.dumps(nx.node_link_data(g)), "u.json": json.dumps(links)},
                     "file,label\nd.json,0\nu.json,1\n")
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
    folder = _folder(tmp_path, {
        "a.edgelist": "# a comment\nb a 2.0\n\na c   # trailing comment\nc c\na b 9\n",
        "b.txt": star,
        "c.edges": "1 2\n2 3\n",
        "README.md": "not a graph",
    }, "file,label\na.edgelist,ring\nb.txt,star\nc.edges,chain\n")
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
        {"id": "first", "label": "b", "edges": [[0, 1], [1, 2]], "x": [[1, 0.5], [2, 1.5], [3, 2.5]],
         "levels": [["east", 0], ["west", 0], [None, -1]], "edge_attr": [[0.5], [2.0]]},
        {"id": 7, "label": "a", "num_nodes": 4, "directed": True, "edges": [[0, 1], [1, 0], [3, 2]],
         "x": [[0, 0], [1, 1], [2, 2], [3, 3]]},
    ]
    path = tmp_path / "graphs.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in lines) + "\n\n")
    ds = load_jsonl(path)
    assert ds.name == "graphs" and ds.class_names == ["a", "b"] and ds.labels() == [1, 0]
    g1, g2 = ds[0], ds[1]
    assert g1.graph_id == "first" and g2.graph_id == 7
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
    ds = GraphDataset(name="communities", graphs=graphs, num_features=NUM_FEATURES,
                      num_classes=len(CLASS_NAMES), class_names=list(CLASS_NAMES))
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
        {"g1.edgelist": "a b\n"}, "file,label\ng1.edgelist,0\nnope.json,1\n", ["labels.csv:3", "'nope.json'", "not found"]),
    "labels row naming a non-graph file": (
        {"g1.edgelist": "a b\n", "notes.md": "x"}, "file,label\ng1.edgelist,0\nnotes.md,1\n",
        ["labels.csv:3", "'notes.md' is not a graph file"]),
    "duplicate file entry": (
        {"g1.edgelist": "a b\n", "g2.edgelist": "a b\n"}, "file,label\ng1.edgelist,0\ng2.edgelist,1\ng1.edgelist,1\n",
        ["labels.csv:4", "'g1.edgelist' is listed twice (also at line 2)"]),
    "unlabelled file": (
        {"g1.edgelist": "a b\n", "g2.edgelist": "a b\n"}, "file,label\ng1.edgelist,0\n",
        ["1 graph files have no row in labels.csv: g2.edgelist"]),
    "numbers mixed with names": (
        {"g1.edgelist": "a b\n", "g2.edgelist": "a b\n"}, "file,label\ng1.edgelist,1\ng2.edgelist,cat\n",
        ["mix class numbers and class names", "labels.csv:2: 1", "labels.csv:3: 'cat'"]),
    "fractional label": (
        {"g1.edgelist": "a b\n"}, "file,label\ng1.edgelist,1.5\n", ["labels.csv:2", "'1.5' is not a whole number"]),
    "negative label": (
        {"g1.edgelist": "a b\n"}, "file,label\ng1.edgelist,-1\n", ["labels.csv:2", "label -1 is negative"]),
    "empty label": (
        {"g1.edgelist": "a b\n"}, "file,label\ng1.edgelist,\n", ["labels.csv:2", "empty label"]),
    "header without label": (
        {"g1.edgelist": "a b\n"}, "name,class\ng1.edgelist,0\n", ["labels.csv:1", "'file' and 'label'"]),
    "edge-list line that is not u v [w]": (
        {"g1.edgelist": "a b\n# fine\na b c d\n"}, "file,label\ng1.edgelist,0\n",
        ["g1.edgelist:3", "expected 'u v' or 'u v weight', got 'a b c d'"]),
    "edge-list weight that is not a number": (
        {"g1.edgelist": "a b heavy\n"}, "file,label\ng1.edgelist,0\n", ["g1.edgelist:1", "weight 'heavy'"]),
    "edge list without edges": (
        {"g1.edgelist": "# nothing\n"}, "file,label\ng1.edgelist,0\n", ["g1.edgelist", "no edges"]),
    "JSON without nodes/links": (
        {"g1.json": '{"vertices": [], "arcs": []}'}, "file,label\ng1.json,0\n",
        ["g1.json", "not a node-link graph", "'nodes' and 'links'"]),
    "malformed JSON": (
        {"g1.json": '{\n  "nodes": [{"id": 1}],\n  "links": [}\n'}, "file,label\ng1.json,0\n",
        ["g1.json:3:13", "malformed JSON"]),
    "link to an absent node": (
        {"g1.json": json.dumps({"nodes": [{"id": "x"}, {"id": "y"}],
                                "links": [{"source": "x", "target": "y"}, {"source": "y", "target": "z"}]})},
        "file,label\ng1.json,0\n", ["g1.json", "links[1]: target 'z' is not among the nodes"]),
    "repeated node id": (
        {"g1.json": json.dumps({"nodes": [{"id": 1}, {"id": 1}], "links": []})}, "file,label\ng1.json,0\n",
        ["g1.json", "nodes[1]: node id 1 repeats nodes[0]"]),
    "malformed GraphML": (
        {"g1.graphml": '<?xml version="1.0"?>\n<graphml>\n<graph>\n</graphml>\n'}, "file,label\ng1.graphml,0\n",
        ["g1.graphml:4:", "malformed GraphML"]),
    "level0 attribute": (
        {"g1.json": json.dumps({"nodes": [{"id": 1, "level0": 1}], "links": []})}, "file,label\ng1.json,0\n",
        ["g1.json", "'level0'", "levels start at level1"]),
    "different feature widths": (
        {"g1.json": json.dumps({"nodes": [{"id": 1, "a": 1, "b": 2}], "links": []}),
         "g2.json": json.dumps({"nodes": [{"id": 1, "a": 1}], "links": []})},
        "file,label\ng1.json,0\ng2.json,1\n", ["g2.json: 1 node feature columns (a)", "g1.json has 2 node feature columns (a, b)"]),
    "attributes against degree features": (
        {"g1.json": json.dumps({"nodes": [{"id": 1, "a": 1}], "links": []}), "g2.edgelist": "a b\n"},
        "file,label\ng1.json,0\ng2.edgelist,1\n", ["g2.edgelist: no numeric node attributes", "g1.json has 1 node feature columns (a)"]),
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
    "duplicate ids": (_jsonl({"id": "a", "label": 0, "edges": [[0, 1]]}, {"id": "b", "label": 0, "edges": [[0, 1]]},
                             {"id": "a", "label": 1, "edges": [[0, 1]]}), ["d.jsonl:3", "graph id 'a' repeats line 1"]),
    "malformed line": (_jsonl({"label": 0, "edges": [[0, 1]]}, '{"label": 0, "edges": [[0, 1]'),
                       ["d.jsonl:2:30", "malformed JSON"]),
    "not an object": (_jsonl("[1, 2]"), ["d.jsonl:1", "expected a JSON object"]),
    "no label": (_jsonl({"edges": [[0, 1]]}), ["d.jsonl:1", "no 'label'"]),
    "fractional label": (_jsonl({"label": 1.5, "edges": [[0, 1]]}), ["d.jsonl:1", "label 1.5 is neither"]),
    "numbers mixed with names": (_jsonl({"label": 0, "edges": [[0, 1]]}, {"label": "cat", "edges": [[0, 1]]}),
                                 ["mix class numbers and class names", "d.jsonl:1: 0", "d.jsonl:2: 'cat'"]),
    "edge out of range": (_jsonl({"label": 0, "num_nodes": 3, "edges": [[0, 1], [0, 5]]}),
                          ["d.jsonl:1", "edges[1] = [0, 5] is out of range for 3 nodes"]),
    "edge that is not a pair": (_jsonl({"label": 0, "edges": [[0]]}), ["d.jsonl:1", "edges[0] is [0], not a pair"]),
    "x with the wrong number of rows": (_jsonl({"label": 0, "num_nodes": 3, "edges": [], "x": [[1], [2]]}),
                                        ["d.jsonl:1", "'x' must be a list of 3 rows"]),
    "x that is not numbers": (_jsonl({"label": 0, "edges": [], "x": [["a"]]}), ["d.jsonl:1", "'x' must be"]),
    "x of different widths": (_jsonl({"label": 0, "edges": [], "x": [[1, 2]]}, {"label": 0, "edges": [], "x": [[1, 2, 3]]}),
                              ["d.jsonl:2: 3 node feature columns", "d.jsonl:1 has 2"]),
    "x in some graphs only": (_jsonl({"label": 0, "edges": [], "x": [[1]]}, {"label": 0, "edges": [[0, 1]]}),
                              ["d.jsonl:2: no 'x'", "d.jsonl:1 has one"]),
    "levels of the wrong shape": (_jsonl({"label": 0, "edges": [[0, 1]], "levels": [[0], [0, 1]]}),
                                  ["d.jsonl:1", "'levels' must be 2 rows"]),
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
