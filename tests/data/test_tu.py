"""TU benchmarks read in place from ../shared (processed files to a temp cache), checked
against their published statistics; malformed raw folders give errors naming file and line;
bad cache files are never unpickled; bad dataset specs are clear errors."""

import os
import pickle
import re
import shutil
import warnings
from pathlib import Path

import pytest
import torch

from hipool.data import tu as tu_module
from hipool.data.registry import format_summary, load_dataset, summarize
from hipool.data.tu import TU_STATS, check_tu_raw, degree_features, load_tu
from tests.conftest import SHARED

TU = SHARED / "TU"


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("name", sorted(TU_STATS))
def test_every_shared_tu_dataset_matches_its_published_statistics(name, tmp_path):
    if not (TU / name / "raw").is_dir():
        pytest.skip(f"shared dataset missing: {TU / name}")
    before = listing(TU / name)
    ds = load_tu(name, TU, cache_dir=tmp_path)
    graphs, classes = TU_STATS[name]
    assert len(ds) == graphs and ds.num_classes == classes
    labels = torch.tensor(ds.labels())
    assert set(labels.tolist()) == set(range(classes))
    g = ds[0]
    assert g.x.dtype == torch.float32 and g.x.size(1) == ds.num_features and g.y.shape == (1,)
    assert listing(TU / name) == before  # nothing written into the data root
    assert any(p.name == "data.pt" for p in tmp_path.rglob("*"))  # it went to the cache


def test_features_as_the_field_builds_them(tmp_path):
    if not (TU / "PROTEINS" / "raw").is_dir() or not (TU / "IMDB-BINARY" / "raw").is_dir():
        pytest.skip("shared TU datasets missing")
    mutag = load_tu("MUTAG", TU, cache_dir=tmp_path)
    assert mutag.num_features == 7 and bool((mutag[0].x.sum(1) == 1).all())  # one-hot atom types
    assert mutag.class_names == ["-1", "1"]
    proteins = load_tu("PROTEINS", TU, cache_dir=tmp_path)
    assert proteins.num_features == 1 + 3  # 1 attribute + 3 label one-hot
    imdb = load_tu("IMDB-BINARY", TU, cache_dir=tmp_path)
    assert imdb.num_features == 136  # one-hot degree 0..135 (max degree 135)
    g = imdb[0]
    deg = torch.bincount(g.edge_index[0], minlength=g.num_nodes)
    assert torch.equal(g.x.argmax(1), deg) and imdb.notes


def test_degree_features_beyond_the_cap():
    from torch_geometric.data import Data

    star = Data(edge_index=torch.tensor([[0] * 5 + [1, 2, 3, 4, 5], [1, 2, 3, 4, 5] + [0] * 5]), num_nodes=6)
    (g,) = degree_features([star], cap=3)
    assert g.x.shape == (6, 4 + 1)  # one-hot 0..3, then log(1 + degree)
    assert g.x[0, 3] == 1 and torch.isclose(g.x[0, 4], torch.log1p(torch.tensor(5.0)))
    (g,) = degree_features([star], cap=10)
    assert g.x.shape == (6, 6) and g.x[0, 5] == 1


def test_second_load_uses_the_cache(tmp_path):
    if not (TU / "MUTAG" / "raw").is_dir():
        pytest.skip("shared MUTAG missing")
    load_tu("MUTAG", TU, cache_dir=tmp_path)
    stamp = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("data.pt")}
    load_tu("MUTAG", TU, cache_dir=tmp_path)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("data.pt")} == stamp


@pytest.fixture
def mutag_copy(tmp_path):
    src = TU / "MUTAG" / "raw"
    if not src.is_dir():
        pytest.skip("shared MUTAG missing")
    root = tmp_path / "root"
    shutil.copytree(src, root / "MUTAG" / "raw")
    return root, root / "MUTAG" / "raw"


def edit_line(path, number, text):
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def drop_last_line(path):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")


@pytest.mark.parametrize(
    "case,match",
    [
        ("node_labels_short", r"MUTAG_node_labels.txt: 3370 lines, but MUTAG_graph_indicator.txt has 3371"),
        ("graph_labels_short", r"MUTAG_graph_labels.txt: 187 lines, but .* describes 188 graphs"),
        ("A_not_ints", r"MUTAG_A.txt:5: expected 2 integers separated by commas, got 'two, 3'"),
        ("A_out_of_range", r"MUTAG_A.txt:7: node id out of range 1..3371"),
        ("A_cross_graph", r"MUTAG_A.txt:1: edge 1, 3371 joins graph 1 and graph 188"),
        ("indicator_unsorted", r"MUTAG_graph_indicator.txt:2: graph ids must not decrease"),
        ("missing_A", r"missing .*MUTAG_A.txt"),
        ("edge_labels_short", r"MUTAG_edge_labels.txt: 7441 lines, but MUTAG_A.txt has 7442"),
    ],
)
def test_inconsistent_raw_files_name_file_and_line(mutag_copy, tmp_path, case, match):
    root, raw = mutag_copy
    if case == "node_labels_short":
        drop_last_line(raw / "MUTAG_node_labels.txt")
    elif case == "graph_labels_short":
        drop_last_line(raw / "MUTAG_graph_labels.txt")
    elif case == "A_not_ints":
        edit_line(raw / "MUTAG_A.txt", 5, "two, 3")
    elif case == "A_out_of_range":
        edit_line(raw / "MUTAG_A.txt", 7, "1, 99999")
    elif case == "A_cross_graph":
        edit_line(raw / "MUTAG_A.txt", 1, "1, 3371")
    elif case == "indicator_unsorted":
        edit_line(raw / "MUTAG_graph_indicator.txt", 2, "0")
        match = r"MUTAG_graph_indicator.txt:2: graph ids start at 1"
    elif case == "missing_A":
        (raw / "MUTAG_A.txt").unlink()
    elif case == "edge_labels_short":
        drop_last_line(raw / "MUTAG_edge_labels.txt")
    with pytest.raises(ValueError, match=match):
        load_tu("MUTAG", root, cache_dir=tmp_path / "cache")


def test_unsorted_indicator_is_named(mutag_copy):
    _, raw = mutag_copy
    edit_line(raw / "MUTAG_graph_indicator.txt", 2, "2")  # graph 2, then graph 1 again on line 3
    with pytest.raises(ValueError, match=r"graph_indicator.txt:3: graph ids must not decrease"):
        check_tu_raw(raw, "MUTAG")


def test_unknown_dataset_under_a_given_root(tmp_path):
    with pytest.raises(ValueError, match=r"TU NOPE: no raw files at .*NOPE/raw"):
        load_tu("NOPE", tmp_path)
    with pytest.raises(ValueError, match="not a TU dataset name"):
        load_tu("../etc", tmp_path)


def test_summary_of_a_tu_dataset(tmp_path):
    if not (TU / "MUTAG" / "raw").is_dir():
        pytest.skip("shared MUTAG missing")
    s = summarize(load_dataset("MUTAG", TU, cache_dir=tmp_path))
    assert s["graphs"] == 188 and s["classes"] == {"label": {"-1": 63, "1": 125}}
    assert s["nodes"]["max"] == 28 and abs(s["nodes"]["mean"] - 3371 / 188) < 1e-9
    assert s["undirected"] and s["edges"]["mean"] == pytest.approx(7442 / 2 / 188)
    assert s["node_features"] == 7 and s["hierarchy_levels"] == 0
    text = format_summary(s)
    assert "graphs              188" in text and "-1: 63, 1: 125" in text


def test_raw_files_changed_after_processing_are_checked_again(mutag_copy, tmp_path):
    root, raw = mutag_copy
    load_tu("MUTAG", root, cache_dir=tmp_path / "cache")
    drop_last_line(raw / "MUTAG_graph_labels.txt")  # the fingerprint changes with the files
    with pytest.raises(ValueError, match="MUTAG_graph_labels.txt: 187 lines"):
        load_tu("MUTAG", root, cache_dir=tmp_path / "cache")


# ---------------------------------------------------------------------------
# hardening: the cache runs no code and is written atomically; raw files read strictly
# ---------------------------------------------------------------------------
#: A tiny TU dataset: graph 1 = nodes 1-3 (a path), graph 2 = nodes 4-5 (an edge).
TINY = {
    "A": "1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n",
    "graph_indicator": "1\n1\n1\n2\n2\n",
    "graph_labels": "-1\n1\n",
    "node_labels": "0\n2\n1\n0\n0\n",
    "node_attributes": "0.5, 1\n1.5, 2\n2.5, 3\n3.5, 4\n4.5, 5\n",
}


def write_tu(root, files, name="T"):
    raw = root / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for p in raw.iterdir():
        p.unlink()
    for kind, text in files.items():
        (raw / f"{name}_{kind}.txt").write_bytes(text if isinstance(text, bytes) else text.encode())
    return raw


def tiny_graphs(tmp_path, files=TINY, **kwargs):
    """``files`` as the dataset T under a fresh data root and cache, loaded."""
    run = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    write_tu(run / "root", files)
    return load_tu("T", run / "root", cache_dir=run / "cache", **kwargs)


def same_graphs(a, b):
    assert len(a) == len(b)
    for g, h in zip(a, b):
        assert set(g.keys()) == set(h.keys())
        for key in g.keys():
            v, w = g[key], h[key]
            assert torch.equal(v, w) if isinstance(v, torch.Tensor) else v == w, key


def test_tiny_dataset_features_and_edges(tmp_path):
    ds = tiny_graphs(tmp_path)
    assert len(ds) == 2 and ds.num_classes == 2 and ds.class_names == ["-1", "1"]
    assert ds[0].edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert ds[1].edge_index.tolist() == [[0, 1], [1, 0]]
    # attributes first, then the one-hot labels 0..2
    assert ds[0].x.tolist() == [[0.5, 1, 1, 0, 0], [1.5, 2, 0, 0, 1], [2.5, 3, 0, 1, 0]]
    assert [int(g.y) for g in ds] == [0, 1] and ds.num_features == 5


@pytest.mark.parametrize("name", ["MUTAG", "PTC_MR", "PROTEINS", "ENZYMES", "AIDS"])
def test_graphs_equal_pygs_reader_on_the_shared_data(name, tmp_path):
    from torch_geometric.io import read_tu_data

    raw = TU / name / "raw"
    if not raw.is_dir():
        pytest.skip(f"shared dataset missing: {raw}")
    data, slices, sizes = read_tu_data(str(raw), name)  # reads only
    for use_edge_attr in (True, False):
        ds = load_tu(name, TU, cache_dir=tmp_path, use_edge_attr=use_edge_attr)
        skip = 0 if use_edge_attr else sizes["num_edge_attributes"]
        for i, g in enumerate(ds):
            n0, n1 = slices["x"][i], slices["x"][i + 1]
            e0, e1 = slices["edge_index"][i], slices["edge_index"][i + 1]
            assert torch.equal(g.x, data.x[n0:n1])
            assert torch.equal(g.edge_index, data.edge_index[:, e0:e1])
            if data.edge_attr is None or data.edge_attr.size(1) == skip:
                assert g.edge_attr is None
            else:
                assert torch.equal(g.edge_attr, data.edge_attr[e0:e1, skip:])
            assert int(g.y) == int(data.y[i])


# -- the cache ------------------------------------------------------------------------
class Evil:
    """Unpickling this creates the file ``marker``: code from a cache file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def cache_file(tmp_path):
    (path,) = (tmp_path / "cache").rglob("data.pt")
    return path


@pytest.mark.parametrize(
    "content", ["pickle", "torch_save", "truncated", "garbage", "empty", "wrong_dict", "out_of_range_edge"]
)
def test_a_bad_cache_is_never_unpickled_but_deleted_and_rebuilt(tmp_path, content):
    root = tmp_path / "root"
    write_tu(root, TINY)
    good = load_tu("T", root, cache_dir=tmp_path / "cache")
    path = cache_file(tmp_path)
    marker = tmp_path / "PWNED"
    if content == "pickle":
        path.write_bytes(pickle.dumps(Evil(marker)))
    elif content == "torch_save":
        torch.save({"format": 2, "x": Evil(marker)}, path)
    elif content == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif content == "garbage":
        path.write_bytes(b"\x00garbage" * 50)
    elif content == "empty":
        path.write_bytes(b"")
    elif content == "wrong_dict":
        torch.save({"format": 2, "x": torch.zeros(3)}, path)
    else:
        stored = torch.load(path, weights_only=True)
        stored["edge_index"][0, 0] = 7
        torch.save(stored, path)
    with pytest.warns(UserWarning, match=re.escape(str(path)) + r": not a valid hipool TU cache .* not unpickled"):
        again = load_tu("T", root, cache_dir=tmp_path / "cache")
    assert not marker.exists()
    same_graphs(again.graphs, good.graphs)
    tu_module._check_stored(torch.load(path, weights_only=True))  # rebuilt, and valid
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_tu("T", root, cache_dir=tmp_path / "cache")  # and read quietly next time


def test_a_failed_cache_write_leaves_no_file_and_the_next_load_works(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write_tu(root, TINY)
    real_save = torch.save

    def half_then_full_disk(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        with open(f, "r+b") as out:
            out.truncate(os.path.getsize(f) // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", half_then_full_disk)
    with pytest.warns(UserWarning, match=r"TU T: the processed graphs were not cached \(.*no space left on device"):
        first = load_tu("T", root, cache_dir=tmp_path / "cache")
    assert len(first) == 2
    assert [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []  # no data.pt, no temp file
    monkeypatch.setattr(torch, "save", real_save)
    again = load_tu("T", root, cache_dir=tmp_path / "cache")
    same_graphs(again.graphs, first.graphs)
    assert cache_file(tmp_path).is_file()


def test_a_killed_writers_temp_file_is_removed_on_the_next_load(tmp_path):
    root = tmp_path / "root"
    write_tu(root, TINY)
    load_tu("T", root, cache_dir=tmp_path / "cache")
    folder = cache_file(tmp_path).parent
    dead = folder / f".data.pt.pid{2**30}.abcd1234.tmp"  # no process has that id
    alive = folder / f".data.pt.pid{os.getpid()}.efgh5678.tmp"  # a write in progress
    dead.write_bytes(b"half a file")
    alive.write_bytes(b"half a file")
    load_tu("T", root, cache_dir=tmp_path / "cache")
    assert not dead.exists() and alive.exists()


# -- the raw files ----------------------------------------------------------------------
def with_(kind, text, files=TINY):
    return {**files, kind: text}


def test_a_last_line_without_newline_is_read(tmp_path):
    """PyG's reader drops it (and with it an edge, a node or a graph); hipool reads it."""
    expected = tiny_graphs(tmp_path)
    stripped = {kind: text.rstrip("\n") for kind, text in TINY.items()}
    same_graphs(tiny_graphs(tmp_path, stripped).graphs, expected.graphs)


def test_crlf_bom_spaces_and_trailing_blank_lines_read_the_same(tmp_path):
    expected = tiny_graphs(tmp_path)
    variants = {
        kind: "\ufeff" + text.replace(", ", " ,\t").replace("\n", "\r\n") + "\r\n  \n\n" for kind, text in TINY.items()
    }
    same_graphs(tiny_graphs(tmp_path, variants).graphs, expected.graphs)


def test_a_single_graph_loads(tmp_path):
    ds = tiny_graphs(tmp_path, {"A": "1, 2\n2, 1", "graph_indicator": "1\n1", "graph_labels": "3"})
    assert len(ds) == 1 and ds.num_classes == 1 and ds[0].edge_index.tolist() == [[0, 1], [1, 0]]
    assert ds[0].x.tolist() == [[0.0, 1.0], [0.0, 1.0]]  # degree features
    one_node = tiny_graphs(
        tmp_path, {"A": "", "graph_indicator": "1\n", "graph_labels": "0\n", "node_attributes": "1.5, 2, 3\n"}
    )
    assert one_node[0].x.tolist() == [[1.5, 2.0, 3.0]] and one_node[0].edge_index.shape == (2, 0)


def test_self_loops_dropped_and_repeated_edges_merged_as_pyg_does(tmp_path):
    files = with_("A", "1, 1\n1, 2\n1, 2\n2, 1\n4, 5\n5, 4\n")
    files["edge_labels"] = "0\n1\n1\n0\n2\n2\n"
    ds = tiny_graphs(tmp_path, files)
    assert ds[0].edge_index.tolist() == [[0, 1], [1, 0]]
    assert ds[0].edge_attr.tolist() == [[0, 2, 0], [1, 0, 0]]  # the two 1,2 lines added up


def test_negative_labels_are_shifted_as_pyg_does(tmp_path):
    ds = tiny_graphs(tmp_path, with_("node_labels", "-3\n5\n-3\n0\n0\n"))
    assert ds.num_features == 2 + 9 and ds[0].x[:, 2:].argmax(1).tolist() == [0, 8, 0]


def test_edge_attributes_go_in_front_of_edge_labels_with_use_edge_attr(tmp_path):
    files = {**TINY, "edge_labels": "0\n0\n1\n1\n0\n0\n", "edge_attributes": "0.5\n0.5\n2\n2\n1\n1\n"}
    with_attr = tiny_graphs(tmp_path, files, use_edge_attr=True)
    assert with_attr[0].edge_attr.tolist() == [[0.5, 1, 0], [0.5, 1, 0], [2, 0, 1], [2, 0, 1]]
    labels_only = tiny_graphs(tmp_path, files)
    assert labels_only[0].edge_attr.tolist() == [[1, 0], [1, 0], [0, 1], [0, 1]]


def test_graph_attributes_are_not_read(tmp_path):
    ds = tiny_graphs(tmp_path, with_("graph_attributes", "0.25\n7.5\n"))
    assert [int(g.y) for g in ds] == [0, 1] and any("T_graph_attributes.txt not read" in n for n in ds.notes)


@pytest.mark.parametrize(
    "kind,text,message",
    [
        ("A", "1, 2\n\n2, 1\n4, 5\n", r"T_A.txt:2: blank line"),
        ("A", "1, 2\n2, 1\r4, 5\n", r"T_A.txt:2: a carriage return"),
        ("A", "1, 2\n2, 1, 3\n", r"T_A.txt:2: expected 2 integers separated by commas, got '2, 1, 3'"),
        ("A", "1, 2\n2,\n", r"T_A.txt:2: expected 2 integers separated by commas, got '2,'"),
        ("A", "1, 2\n2, 1_0\n", r"T_A.txt:2: expected 2 integers separated by commas"),
        ("A", "1, 2\n2, ٣\n", r"T_A.txt:2: expected 2 integers separated by commas"),
        ("A", "1, 99999999999999999999\n", r"T_A.txt:1: '99999999999999999999' does not fit in a 64-bit integer"),
        ("A", "1, " + "9" * 5000 + "\n", r"T_A.txt:1: '9999.*' does not fit in a 64-bit integer"),
        ("A", "1, 1000000000000\n", r"T_A.txt:1: node id out of range 1..5: \[1, 1000000000000\]"),
        ("A", b"1, 2\n2, \xff1\n", r"T_A.txt:2: TU file is not UTF-8 text"),
        (
            "graph_indicator",
            "1\n1\n1000000000000\n",
            r"T_graph_indicator.txt:3: graph id 1000000000000 is larger than the "
            r"number of nodes \(3\)",
        ),
        (
            "graph_indicator",
            "1\n1\n3\n3\n3\n",
            r"T_graph_indicator.txt:3: graph id jumps from 1 to 3, so graph 2 has no",
        ),
        ("graph_indicator", "2\n2\n2\n2\n2\n", r"T_graph_indicator.txt:1: graph ids start at 1, got 2"),
        ("graph_indicator", "1\n1\n-9223372036854775808\n2\n2\n", r"T_graph_indicator.txt:3: graph ids start at 1"),
        ("graph_indicator", "", r"T_graph_indicator.txt: empty"),
        ("graph_indicator", "\n\n", r"T_graph_indicator.txt: empty"),
        ("graph_labels", "", r"T_graph_labels.txt: 0 lines, but T_graph_indicator.txt describes 2 graphs"),
        ("graph_labels", "1\n2\n3", r"T_graph_labels.txt: 3 lines, but T_graph_indicator.txt describes 2 graphs"),
        ("node_labels", "0\nx\n1\n0\n0\n", r"T_node_labels.txt:2: 'x' is not an integer"),
        (
            "node_labels",
            "0\n2\n200000\n0\n0\n",
            r"T_node_labels.txt:3: label 200000 makes the one-hot encoding of the "
            r"labels 200001 columns wide \(labels from 0 to 200000\)",
        ),
        ("node_labels", "0\n-20000\n1\n0\n0\n", r"T_node_labels.txt:2: label -20000 makes .* 20002 columns wide"),
        (
            "node_labels",
            "0, 5000\n0, 0\n0, 0\n6000, 0\n0, 0\n",
            r"T_node_labels.txt:1: label 5000 in column 2 makes the one-hot .* 11002 columns wide",
        ),  # 6001 + 5001
        ("node_labels", "0\n1\n", r"T_node_labels.txt: 2 lines, but T_graph_indicator.txt has 5 lines"),
        (
            "node_attributes",
            "0.5, 1\n1.5, nan\n2.5, 3\n3.5, 4\n4.5, 5\n",
            r"T_node_attributes.txt:2: 'nan' is not a finite number \(NaN and infinity are not allowed\)",
        ),
        (
            "node_attributes",
            "0.5, 1\n1.5, 2\n-inf, 3\n3.5, 4\n4.5, 5\n",
            r"T_node_attributes.txt:3: '-inf' is not a finite",
        ),
        (
            "node_attributes",
            "0.5, 1\n1.5, 2\n2.5, 1e39\n3.5, 4\n4.5, 5\n",
            r"T_node_attributes.txt:3: '1e39' is outside the float32 range",
        ),
        (
            "node_attributes",
            "0.5, 1\n1.5, 2\n2.5, 3, 7\n3.5, 4\n4.5, 5\n",
            r"T_node_attributes.txt:3: 3 value\(s\), but line 1 has 2; every line needs the same number",
        ),
        (
            "node_attributes",
            "0.5, 1\n1.5, 2\n2.5, 0x3\n3.5, 4\n4.5, 5\n",
            r"T_node_attributes.txt:3: '0x3' is not a decimal",
        ),
        ("edge_labels", "0\n0\n0\n0\n0\n", r"T_edge_labels.txt: 5 lines, but T_A.txt has 6"),
        ("edge_labels", "0\n0\n0\n0\n0\n123456\n", r"T_edge_labels.txt:6: label 123456 makes"),
        ("edge_attributes", "1\n1\n1\n1\n1\nNaN\n", r"T_edge_attributes.txt:6: 'NaN' is not a finite number"),
    ],
)
def test_raw_file_problems_name_file_line_and_reason(tmp_path, kind, text, message):
    write_tu(tmp_path / "root", with_(kind, text))
    with pytest.raises(ValueError, match=message):
        load_tu("T", tmp_path / "root", cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("data.pt"))


# -- specs ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec,message",
    [
        ("", r"dataset '': give a dataset name"),
        ("   ", r"give a dataset name"),
        (None, r"dataset None: give a dataset name"),
        ("tu:", r"dataset 'tu:': give a TU name after 'tu:'"),
        ("TU:", r"give a TU name after 'tu:'"),
        ("tu:../etc", r"TU: '../etc' is not a TU dataset name"),
        ("tu:.hidden", r"is not a TU dataset name"),
        ("MUT\nAG", r"contains a control character"),
        ("x" * 5000, r"cannot read \(file name too long\)"),
        ("nope.csv", r"dataset nope.csv: no such file or folder"),
        ("NOPE", r"unknown dataset 'NOPE'"),
        ("circuits:n=abc", r"n='abc' is not an int"),
        ("circuits:n=10**20", r"n='10\*\*20' is not an int"),
        ("circuits:n=100000000000000000000", r"n='100000000000000000000' is out of range; n must be in \[1, 100000\]"),
        ("circuits:n=-1", r"n='-1' is out of range; n must be in \[1, 100000\]"),
        ("circuits:fail=nan", r"fail='nan' is not a number"),
        ("circuits:fail=1.5", r"fail='1.5' is out of range; fail must be in \[0.0, 1.0\]"),
        ("circuits:min=500,max=200", r"max=200 with min=500; max must be at least min \+ 10"),
        ("circuits:n=2,n=3", r"n is given twice"),
        ("communities:...", r"'...' is not key=value"),
        ("communities:n=0", r"n='0' is out of range; n must be in \[1, 100000\]"),
        ("communities:seed=-1", r"seed='-1' is out of range"),
    ],
)
def test_bad_specs_are_clear_value_errors(tmp_path, spec, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(spec, tmp_path, cache_dir=tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads every folder")
def test_a_folder_without_permission_is_a_value_error(tmp_path):
    write_tu(tmp_path / "root", TINY)
    (tmp_path / "root" / "T" / "raw").chmod(0)
    try:
        with pytest.raises(ValueError, match=r"permission denied"):
            load_dataset("T", tmp_path / "root", cache_dir=tmp_path / "cache")
    finally:
        (tmp_path / "root" / "T" / "raw").chmod(0o755)


def test_one_hot_labels_bounded_in_values_too(tmp_path):
    """10,000 columns are fine for a few nodes, not for 27,000 (2.7e8 values, more than 2**28)."""
    n = 27_000
    labels = ["0"] * n
    labels[5] = "9999"
    files = {"A": "", "graph_indicator": "1\n" * n, "graph_labels": "0\n", "node_labels": "\n".join(labels)}
    with pytest.raises(
        ValueError,
        match=r"T_node_labels.txt:6: label 9999 makes the one-hot encoding of the labels "
        r"10000 columns wide .* for 27000 lines that is 270,000,000 values, and "
        r"hipool builds at most 268,435,456 \(1 GiB\) — number the labels 0 .. K-1 "
        r"with K <= 9942",
    ):
        tiny_graphs(tmp_path, files)
    few = tiny_graphs(tmp_path, {**files, "graph_indicator": "1\n" * 6, "node_labels": "\n".join(labels[:6])})
    assert few.num_features == 10_000


def test_integers_with_signs_and_leading_zeros_read(tmp_path):
    files = {
        **TINY,
        "A": "+1, 0002\n" + "0" * 5000 + "2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n",
        "node_labels": "-00\n+2\n1\n0\n0\n",
    }
    same_graphs(tiny_graphs(tmp_path, files).graphs, tiny_graphs(tmp_path).graphs)


def test_a_download_lands_whole_or_not_at_all(tmp_path, monkeypatch):
    """PyG's download code, offline: it fills a temporary folder that becomes ``raw`` only when
    complete; a failed download leaves nothing behind."""
    from torch_geometric.io import fs

    monkeypatch.setenv("HIPOOL_DATA", str(tmp_path / "data"))

    def fake_cp(url, folder, extract=False, **kwargs):  # the TU server's zip, unpacked: T/T_A.txt, ...
        assert url.endswith("/T.zip") and extract
        (Path(folder) / "T").mkdir(parents=True)
        for kind, text in TINY.items():
            (Path(folder) / "T" / f"T_{kind}.txt").write_text(text)

    monkeypatch.setattr(fs, "cp", fake_cp)
    ds = load_tu("T", cache_dir=tmp_path / "cache")
    same_graphs(ds.graphs, tiny_graphs(tmp_path).graphs)
    assert sorted(p.name for p in (tmp_path / "data" / "T").iterdir()) == ["raw"]

    def no_network(url, folder, **kwargs):
        (Path(folder) / "partial.zip").write_bytes(b"PK")
        raise OSError("network unreachable")

    monkeypatch.setattr(fs, "cp", no_network)
    with pytest.raises(ValueError, match=r"TU U: not at .*U/raw and the download failed \(OSError: network"):
        load_tu("U", cache_dir=tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "data" / "U").iterdir()) == []


# -- held-out bad inputs (issue 17, second pass) --------------------------------------------
@pytest.mark.parametrize("kind", ["A", "node_labels", "node_attributes", "edge_labels"])
@pytest.mark.parametrize(
    "entry,message",
    [
        ("folder", r"a folder, not a file"),
        ("fifo", r"a named pipe \(FIFO\), not a file"),
        ("dev_zero", r"a device, not a file"),
        ("broken_link", r"a broken symbolic link \(to '.*nowhere'\)"),
    ],
)
def test_a_tu_file_that_is_not_a_regular_file_is_named_never_skipped_or_read(tmp_path, kind, entry, message):
    """An optional file (node labels, ...) that is a folder or a pipe used to be skipped in
    silence (graphs without its features); a pipe read would hang, /dev/zero never end."""
    files = {**TINY, "edge_labels": "0\n0\n1\n1\n0\n0\n"}
    raw = write_tu(tmp_path / "root", {k: v for k, v in files.items() if k != kind})
    p = raw / f"T_{kind}.txt"
    if entry == "folder":
        p.mkdir()
    elif entry == "fifo":
        os.mkfifo(p)
    elif entry == "dev_zero":
        p.symlink_to("/dev/zero")
    else:
        p.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=re.escape(str(p)) + ": " + message):
        load_tu("T", tmp_path / "root", cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("damage", ["flipped_byte", "compressed", "zero_stride", "unsorted_classes"])
def test_a_damaged_cache_that_torch_would_load_is_refused(tmp_path, damage):
    """torch checks no CRC (a flipped byte of x loaded as another feature value), inflates a
    compressed member of any size, and takes a zero-stride tensor as one of any shape."""
    import zipfile

    root = tmp_path / "root"
    write_tu(root, TINY)
    good = load_tu("T", root, cache_dir=tmp_path / "cache")
    path = cache_file(tmp_path)
    if damage == "flipped_byte":
        data = bytearray(path.read_bytes())
        at = data.find(torch.tensor([2.5, 3.0]).numpy().tobytes())  # node 3's attributes
        assert at > 0
        data[at + 2] ^= 0x10
        path.write_bytes(bytes(data))
        reason = "does not match its checksum"
    elif damage == "compressed":
        with zipfile.ZipFile(path) as z:
            members = [(i.filename, z.read(i)) for i in z.infolist()]
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members:
                z.writestr(name, data)
        reason = "is compressed, which torch.save never does"
    else:
        stored = torch.load(path, weights_only=True)
        if damage == "zero_stride":
            stored["x"] = stored["x"][:1, :1].expand(stored["x"].shape)  # one value posing as [5, F]
            reason = "x is not a contiguous 2-d torch.float32 tensor"
        else:
            stored["classes"] = stored["classes"].flip(0)
            reason = "the class values are not sorted and distinct"
        torch.save(stored, path)
    bad = re.escape(str(path)) + r": not a valid hipool TU cache .*" + re.escape(reason)
    with pytest.warns(UserWarning, match=bad):
        again = load_tu("T", root, cache_dir=tmp_path / "cache")
    same_graphs(again.graphs, good.graphs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"cache_dir": 5}, r"TU T: cache_dir must be a path \(a str or pathlib.Path\), got 5"),
        ({"cache_dir": ""}, r"TU T: cache_dir is empty"),
        ({"cache_dir": "a\0b"}, r"TU T: cache_dir 'a\\x00b' holds a NUL character"),
        ({"degree_cap": -1}, r"TU T: degree_cap must be >= 0, got -1"),
        ({"degree_cap": 2.5}, r"TU T: degree_cap must be an integer, got 2.5"),
        ({"use_edge_attr": "no"}, r"TU T: use_edge_attr must be True or False, got 'no'"),
    ],
)
def test_bad_load_tu_arguments_are_value_errors_naming_them(tmp_path, kwargs, message):
    write_tu(tmp_path / "root", TINY)
    with pytest.raises(ValueError, match=message):
        load_tu("T", tmp_path / "root", **kwargs)


def test_an_unusable_cache_folder_is_a_warning_and_the_graphs_load(tmp_path):
    write_tu(tmp_path / "root", TINY)
    with pytest.warns(UserWarning, match=r"TU T: the processed graphs were not cached \(.*file name too long"):
        ds = load_tu("T", tmp_path / "root", cache_dir=tmp_path / ("c" * 300))
    assert len(ds) == 2


@pytest.mark.parametrize(
    "spec,message",
    [
        ("circuits:levels=+", r"levels='\+' has an empty level name"),
        ("circuits:levels=block++component", r"has an empty level name"),
    ],
)
def test_more_bad_specs(tmp_path, spec, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(spec, tmp_path, cache_dir=tmp_path)


@pytest.mark.parametrize(
    "where,message",
    [
        ("data_root", r"dataset 'T': data_root must be a path \(a str or pathlib.Path\), got 5"),
        ("cache_dir", r"dataset 'T': cache_dir is empty"),
    ],
)
def test_load_dataset_checks_its_folders(tmp_path, where, message):
    kwargs = {"data_root": 5} if where == "data_root" else {"data_root": tmp_path, "cache_dir": ""}
    with pytest.raises(ValueError, match=message):
        load_dataset("T", **kwargs)


def test_a_path_object_is_a_spec(tmp_path):
    write_tu(tmp_path / "root", TINY)
    jsonl = tmp_path / "g.jsonl"
    jsonl.write_text('{"label": 0, "edges": [[0, 1]]}\n{"label": 1, "edges": [[0, 1]]}\n')
    assert len(load_dataset(jsonl)) == 2


def test_a_tu_folder_given_as_a_path_is_that_dataset(tmp_path):
    """``hipool data summary path/to/MUTAG`` read it as a folder of graph files: 'no graph files'."""
    raw = write_tu(tmp_path / "root", TINY)
    expected = tiny_graphs(tmp_path)
    for spec in (raw.parent, raw, str(raw) + "/"):
        same_graphs(load_dataset(spec, cache_dir=tmp_path / "cache").graphs, expected.graphs)


def test_a_single_class_loads_with_a_note(tmp_path):
    ds = tiny_graphs(tmp_path, with_("graph_labels", "3\n3\n"))
    assert ds.num_classes == 1 and "a single class (3): nothing to tell apart" in ds.notes
