"""Tests of hipool.explain.plot.plot_hierarchy (the hierarchy picture)."""
import pathlib
import sys

import pytest
import torch

pytest.importorskip("matplotlib")
pytest.importorskip("networkx")

from matplotlib.image import imread  # noqa: E402

from hipool.explain.plot import plot_hierarchy  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _graph(n=30):
    """A ring with chords, both directions (as PyG stores undirected graphs)."""
    src = torch.arange(n)
    ring = torch.stack([src, (src + 1) % n])
    chords = torch.stack([src[::3], (src[::3] + n // 2) % n])
    ei = torch.cat([ring, chords], 1)
    return torch.cat([ei, ei.flip(0)], 1)


def _levels(n=30):
    l1 = torch.arange(n) // 3                      # n/3 clusters
    l2 = l1 // 2
    l2[::4] = -1                                   # some dropped
    l3 = torch.where(l2 >= 0, l2 // 3, torch.full_like(l2, -1))
    return [l1, l2, l3]


def _folder_entries(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir())


def test_writes_png_with_expected_shape(tmp_path):
    out = tmp_path / "sub" / "dir" / "hier.png"          # parents are created
    ret = plot_hierarchy(_graph(), _levels(), out, ground_truth=torch.arange(30) // 10,
                         title="test hierarchy")
    assert isinstance(ret, pathlib.Path) and ret == out
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    img = imread(str(out))
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    h, w = img.shape[:2]
    assert w > 2.5 * h > 500                              # 4 panels in one row
    rgb = img[..., :3]
    assert rgb.std() > 0.02                               # not blank
    saturation = rgb.max(axis=-1) - rgb.min(axis=-1)
    assert (saturation > 0.3).mean() > 0.001              # coloured nodes are drawn
    assert _folder_entries(out.parent) == ["hier.png"]    # no temporary file left


def test_many_levels_wrap_into_rows(tmp_path):
    levels = _levels() + [torch.zeros(30, dtype=torch.long)] * 3   # 7 panels
    out = plot_hierarchy(_graph(), levels, tmp_path / "h.png")
    h, w = imread(str(out)).shape[:2]
    assert h > 0.4 * w                                    # two rows


def test_deterministic_for_a_seed(tmp_path):
    a = plot_hierarchy(_graph(), _levels(), tmp_path / "a.png", seed=3)
    b = plot_hierarchy(_graph(), _levels(), tmp_path / "b.png", seed=3)
    c = plot_hierarchy(_graph(), _levels(), tmp_path / "c.png", seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert imread(str(a)).shape == imread(str(c)).shape


def test_overwrites_atomically_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "h.png"
    out.write_bytes(b"old")
    plot_hierarchy(_graph(), _levels(), str(out))          # str path works too
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert _folder_entries(tmp_path) == ["h.png"]


def test_failed_write_removes_temporary(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "x").write_text("keep")                     # a non-empty folder cannot be replaced
    with pytest.raises(OSError):
        plot_hierarchy(_graph(), _levels(), target)
    assert _folder_entries(tmp_path) == ["taken"]


def test_graph_without_edges(tmp_path):
    empty = torch.empty(2, 0, dtype=torch.long)
    out = plot_hierarchy(empty, [torch.arange(8) // 2, torch.tensor([0, 0, -1, -1, 1, 1, 1, -1])],
                         tmp_path / "noedges.png")
    assert out.read_bytes()[:8] == PNG_MAGIC
    out2 = plot_hierarchy(empty, [], tmp_path / "noedges2.png", num_nodes=5)
    assert out2.read_bytes()[:8] == PNG_MAGIC


def test_one_node_graph(tmp_path):
    empty = torch.empty(2, 0, dtype=torch.long)
    out = plot_hierarchy(empty, [torch.tensor([0]), torch.tensor([-1])], tmp_path / "one.png",
                         ground_truth=torch.tensor([0]))
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert imread(str(out))[..., :3].std() > 0.01


def test_self_loops_and_many_pooled_nodes(tmp_path):
    ei = torch.cat([_graph(), torch.arange(30).repeat(2, 1)], 1)
    out = plot_hierarchy(ei, [torch.arange(30)], tmp_path / "h.png")  # 30 colours: they repeat
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_500_nodes(tmp_path):
    import networkx as nx

    g = nx.gnm_random_graph(500, 1500, seed=0)
    ei = torch.tensor(list(g.edges()), dtype=torch.long).t()
    out = plot_hierarchy(ei, [torch.arange(500) // 10, torch.arange(500) // 100],
                         tmp_path / "big.png", num_nodes=500)
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_kamada_kawai(tmp_path):
    out = plot_hierarchy(_graph(), _levels(), tmp_path / "kk.png", layout="kamada_kawai")
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_does_not_import_pyplot(tmp_path):
    if "matplotlib.pyplot" in sys.modules:
        pytest.skip("pyplot already imported by another test")
    plot_hierarchy(_graph(), _levels(), tmp_path / "h.png")
    assert "matplotlib.pyplot" not in sys.modules


@pytest.mark.parametrize("kwargs, arg", [
    (dict(edge_index=torch.zeros(3, 4, dtype=torch.long)), "edge_index"),
    (dict(edge_index=torch.zeros(8, dtype=torch.long)), "edge_index"),
    (dict(edge_index=torch.zeros(2, 4)), "edge_index"),                        # float
    (dict(edge_index=torch.tensor([[0, 1], [1, 30]])), "edge_index"),          # id >= N
    (dict(edge_index=torch.tensor([[0, -1], [1, 2]])), "edge_index"),          # negative id
    (dict(assignments=[torch.zeros(29, dtype=torch.long)]), r"assignments\[0\]"),
    (dict(assignments=[torch.arange(30), torch.zeros(31, dtype=torch.long)]), r"assignments\[1\]"),
    (dict(assignments=[torch.full((30,), -2)]), r"assignments\[0\]"),          # id < -1
    (dict(assignments=[torch.zeros(30)]), r"assignments\[0\]"),                # float
    (dict(assignments=[torch.zeros(30, 2, dtype=torch.long)]), r"assignments\[0\]"),
    (dict(assignments=torch.arange(30)), "assignments"),                       # a single 1-D tensor
    (dict(ground_truth=torch.zeros(29, dtype=torch.long)), "ground_truth"),
    (dict(ground_truth=torch.zeros(30)), "ground_truth"),
    (dict(ground_truth=torch.full((30,), -5)), "ground_truth"),
    (dict(layout="circular"), "layout"),
    (dict(num_nodes=0), "num_nodes"),
    (dict(num_nodes=20), "edge_index"),                                        # edges beyond N
    (dict(edge_index=torch.empty(2, 0, dtype=torch.long), assignments=[]), "num_nodes"),
])
def test_bad_inputs_raise_value_error_naming_the_argument(tmp_path, kwargs, arg):
    args = dict(edge_index=_graph(), assignments=_levels())
    args.update(kwargs)
    with pytest.raises(ValueError, match=arg):
        plot_hierarchy(args.pop("edge_index"), args.pop("assignments"), tmp_path / "x.png", **args)
    assert not (tmp_path / "x.png").exists()
    assert _folder_entries(tmp_path) == []


@pytest.mark.parametrize("module", ["networkx", "matplotlib.figure"])
def test_missing_optional_dependency_raises_import_error(tmp_path, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)        # makes `import module` fail
    with pytest.raises(ImportError, match=r"pip install 'hipool\[plot\]'"):
        plot_hierarchy(_graph(), _levels(), tmp_path / "x.png")
    assert _folder_entries(tmp_path) == []
