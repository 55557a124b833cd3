"""TU benchmarks read in place from ../shared (processed files to a temp cache), checked
against their published statistics; malformed raw folders give errors naming file and line."""
import shutil

import pytest
import torch

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
    assert listing(TU / name) == before                       # nothing written into the data root
    assert any(p.name == "data.pt" for p in tmp_path.rglob("*"))  # it went to the cache


def test_features_as_the_field_builds_them(tmp_path):
    if not (TU / "PROTEINS" / "raw").is_dir() or not (TU / "IMDB-BINARY" / "raw").is_dir():
        pytest.skip("shared TU datasets missing")
    mutag = load_tu("MUTAG", TU, cache_dir=tmp_path)
    assert mutag.num_features == 7 and bool((mutag[0].x.sum(1) == 1).all())   # one-hot atom types
    assert mutag.class_names == ["-1", "1"]
    proteins = load_tu("PROTEINS", TU, cache_dir=tmp_path)
    assert proteins.num_features == 1 + 3                       # 1 attribute + 3 label one-hot
    imdb = load_tu("IMDB-BINARY", TU, cache_dir=tmp_path)
    assert imdb.num_features == 136                             # one-hot degree 0..135 (max degree 135)
    g = imdb[0]
    deg = torch.bincount(g.edge_index[0], minlength=g.num_nodes)
    assert torch.equal(g.x.argmax(1), deg) and imdb.notes


def test_degree_features_beyond_the_cap():
    from torch_geometric.data import Data
    star = Data(edge_index=torch.tensor([[0] * 5 + [1, 2, 3, 4, 5], [1, 2, 3, 4, 5] + [0] * 5]), num_nodes=6)
    (g,) = degree_features([star], cap=3)
    assert g.x.shape == (6, 4 + 1)                             # one-hot 0..3, then log(1 + degree)
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


@pytest.mark.parametrize("case,match", [
    ("node_labels_short", r"MUTAG_node_labels.txt: 3370 lines, but MUTAG_graph_indicator.txt has 3371"),
    ("graph_labels_short", r"MUTAG_graph_labels.txt: 187 lines, but .* describes 188 graphs"),
    ("A_not_ints", r"MUTAG_A.txt:5: expected 2 integers separated by commas, got 'two, 3'"),
    ("A_out_of_range", r"MUTAG_A.txt:7: node id out of range 1..3371"),
    ("A_cross_graph", r"MUTAG_A.txt:1: edge 1, 3371 joins graph 1 and graph 188"),
    ("indicator_unsorted", r"MUTAG_graph_indicator.txt:2: graph ids must not decrease"),
    ("missing_A", r"missing .*MUTAG_A.txt"),
    ("edge_labels_short", r"MUTAG_edge_labels.txt: 7441 lines, but MUTAG_A.txt has 7442"),
])
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
    edit_line(raw / "MUTAG_graph_indicator.txt", 2, "2")   # graph 2, then graph 1 again on line 3
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
    drop_last_line(raw / "MUTAG_graph_labels.txt")          # the fingerprint changes with the files
    with pytest.raises(ValueError, match="MUTAG_graph_labels.txt: 187 lines"):
        load_tu("MUTAG", root, cache_dir=tmp_path / "cache")
