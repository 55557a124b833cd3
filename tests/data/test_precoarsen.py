"""Precomputed coarsening (hipool.data.precoarsen): ``SPEC@METHOD[:LEVELS]`` gives nested
partitions equal to running the non-learned pooler level by level, cached on disk and read back
without running it, and a ``pool: given`` model trains on them."""

from __future__ import annotations

import pytest
import torch

import hipool.data.precoarsen as pre
from hipool.cli import main
from hipool.data.communities import make_community_dataset
from hipool.data.precoarsen import METHODS, precoarsen, split_spec
from hipool.data.registry import load_dataset, reads_by_name
from hipool.nn.contraction import Graclus
from hipool.nn.given import GivenPool
from hipool.nn.kmis import KMISPooling
from hipool.nn.sep import sep_levels


@pytest.fixture(scope="module")
def small():
    from hipool.data.base import GraphDataset

    graphs = make_community_dataset(num_graphs=6, seed=3, min_nodes=50, max_nodes=70)
    return GraphDataset(name="communities:n=6", graphs=graphs, num_features=graphs[0].num_features, num_classes=2)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("PROTEINS@sep:2", ("PROTEINS", ("sep", 2))),
        ("PROTEINS@graclus", ("PROTEINS", ("graclus", 2))),
        ("circuits:n=20@kmis:3", ("circuits:n=20", ("kmis", 3))),
        ("runs/a@b/x.jsonl", ("runs/a@b/x.jsonl", None)),  # a path holding an @
        ("PROTEINS@foo:2", ("PROTEINS@foo:2", None)),  # not a method: the spec as it is
        ("@sep:2", ("@sep:2", None)),
    ],
)
def test_split_spec(spec, expected):
    assert split_spec(spec) == expected


@pytest.mark.parametrize("spec", ["MUTAG@sep:0", "MUTAG@ndp:9", "MUTAG@kmis:123456"])
def test_bad_level_counts_name_the_spec(spec):
    with pytest.raises(ValueError, match=r"levels; give 1 to 8"):
        split_spec(spec)


def test_reads_by_name_looks_through_the_suffix():
    assert reads_by_name("circuits:n=20@sep:2") and not reads_by_name("MUTAG@sep:2")


def _nested(labels: torch.Tensor) -> bool:
    """Every group of column l + 1 is a union of groups of column l."""
    for lv in range(labels.size(1) - 1):
        fine, coarse = labels[:, lv], labels[:, lv + 1]
        for g in fine.unique():
            if coarse[fine == g].unique().numel() != 1:
                return False
    return True


def _level_by_level(pool, g, levels):
    x, e, w, maps = torch.zeros(g.num_nodes, 1), g.edge_index, None, []
    with torch.no_grad():
        for _ in range(levels):
            out = pool(x, e, edge_weight=w)
            maps.append(out.cluster)
            x, e, w = out.x, out.edge_index, out.edge_weight
    labels = maps[0]
    cols = [labels]
    for m in maps[1:]:
        labels = m[labels]
        cols.append(labels)
    return torch.stack(cols, 1)


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_gives_nested_partitions_of_every_node(method, small, tmp_path):
    ds = precoarsen(small, method, 3, cache_dir=tmp_path)
    assert ds.name == f"communities:n=6@{method}:3" and ds.level_names == tuple(f"{method} {i}" for i in (1, 2, 3))
    for g, orig in zip(ds, small):
        ll = g.level_labels
        assert ll.shape == (g.num_nodes, 3) and ll.dtype == torch.int64 and bool((ll >= 0).all())
        assert _nested(ll)
        sizes = [int(ll[:, c].max()) + 1 for c in range(3)]
        assert sizes == sorted(sizes, reverse=True) and sizes[0] < g.num_nodes
        assert torch.equal(g.x, orig.x) and torch.equal(g.edge_index, orig.edge_index)
    assert not torch.equal(small[0].level_labels, ds[0].level_labels[:, : small[0].level_labels.size(1)])


def test_graclus_and_kmis_labels_are_the_poolers_own_clusters(small, tmp_path):
    for method, pool in (("graclus", Graclus(1, seed=0)), ("kmis", KMISPooling(1, 1, scorer="degree"))):
        ds = precoarsen(small, method, 2, cache_dir=tmp_path)
        for g, orig in zip(ds, small):
            assert torch.equal(g.level_labels, _level_by_level(pool, orig, 2))


def test_sep_is_one_tree(small, tmp_path):
    ds = precoarsen(small, "sep", 2, cache_dir=tmp_path)
    for g, orig in zip(ds, small):
        assert torch.equal(g.level_labels, sep_levels(orig.edge_index, orig.num_nodes, 3)[:, :2])


def test_given_pool_along_the_labels_reproduces_the_partition(small, tmp_path):
    g = precoarsen(small, "graclus", 1, cache_dir=tmp_path)[0]
    out = GivenPool(g.num_features)(g.x, g.edge_index, groups=g.level_labels[:, 0])
    assert out.x.size(0) == int(g.level_labels[:, 0].max()) + 1
    assert torch.equal(out.cluster, g.level_labels[:, 0])


def test_the_cache_is_read_back_and_a_bad_one_is_computed_again(small, tmp_path, monkeypatch):
    first = precoarsen(small, "sep", 2, cache_dir=tmp_path)
    (path,) = (tmp_path / "precoarsened").glob("sep-2-*.pt")
    monkeypatch.setitem(METHODS, "sep", lambda *a: pytest.fail("the cache was not used"))
    again = precoarsen(small, "sep", 2, cache_dir=tmp_path)
    assert "read from the cache" in again.notes[-1]
    for a, b in zip(first, again):
        assert torch.equal(a.level_labels, b.level_labels)
    monkeypatch.undo()
    path.write_bytes(path.read_bytes()[:100])  # cut short
    with pytest.warns(UserWarning, match="precoarsening cache"):
        fixed = precoarsen(small, "sep", 2, cache_dir=tmp_path)
    assert "cached" in fixed.notes[-1]
    for a, b in zip(first, fixed):
        assert torch.equal(a.level_labels, b.level_labels)


def test_other_graphs_or_levels_get_another_cache_file(small, tmp_path):
    precoarsen(small, "kmis", 2, cache_dir=tmp_path)
    precoarsen(small, "kmis", 3, cache_dir=tmp_path)
    from hipool.data.base import GraphDataset

    edited = [g.clone() for g in small]
    edited[0].edge_index = edited[0].edge_index[:, 2:]
    precoarsen(GraphDataset("x", edited, small.num_features, 2), "kmis", 2, cache_dir=tmp_path)
    assert len(list((tmp_path / "precoarsened").glob("*.pt"))) == 3


def test_bad_arguments_and_a_failing_graph_are_named(small, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown method 'foo'; choose from graclus, kmis, ndp, sep"):
        precoarsen(small, "foo", 2, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="'levels' must be an int from 1 to 8"):
        precoarsen(small, "sep", 0, cache_dir=tmp_path)

    def bad(g, levels):
        raise ValueError("no")

    monkeypatch.setitem(METHODS, "ndp", bad)
    with pytest.raises(ValueError, match="precoarsening with ndp: graph 0: no"):
        precoarsen(small, "ndp", 2, cache_dir=tmp_path)


def test_a_given_model_trains_on_a_precoarsened_spec(tmp_path, monkeypatch, capsys):
    spec = "communities:n=24@graclus:2"
    ds = load_dataset(spec, cache_dir=tmp_path / "cache")
    assert ds.name.endswith("@graclus:2") and ds[0].level_labels.shape[1] == 2
    monkeypatch.setattr(pre, "_compute", lambda *a: pytest.fail("training recomputed the coarsening"))
    args = ["train", "--dataset", spec, "--model", "given", "--epochs", "1", "--cache-dir", str(tmp_path / "cache")]
    assert main(args + ["--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert "test acc" in capsys.readouterr().out
