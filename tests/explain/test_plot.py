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
    l1 = torch.arange(n) // 3  # n/3 clusters
    l2 = l1 // 2
    l2[::4] = -1  # some dropped
    l3 = torch.where(l2 >= 0, l2 // 3, torch.full_like(l2, -1))
    return [l1, l2, l3]


def _folder_entries(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir())


def test_writes_png_with_expected_shape(tmp_path):
    out = tmp_path / "sub" / "dir" / "hier.png"  # parents are created
    ret = plot_hierarchy(_graph(), _levels(), out, ground_truth=torch.arange(30) // 10, title="test hierarchy")
    assert isinstance(ret, pathlib.Path) and ret == out
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    img = imread(str(out))
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    h, w = img.shape[:2]
    assert w > 2.5 * h > 500  # 4 panels in one row
    rgb = img[..., :3]
    assert rgb.std() > 0.02  # not blank
    saturation = rgb.max(axis=-1) - rgb.min(axis=-1)
    assert (saturation > 0.3).mean() > 0.001  # coloured nodes are drawn
    assert _folder_entries(out.parent) == ["hier.png"]  # no temporary file left


def test_many_levels_wrap_into_rows(tmp_path):
    levels = _levels() + [torch.zeros(30, dtype=torch.long)] * 3  # 7 panels
    out = plot_hierarchy(_graph(), levels, tmp_path / "h.png")
    h, w = imread(str(out)).shape[:2]
    assert h > 0.4 * w  # two rows


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
    plot_hierarchy(_graph(), _levels(), str(out))  # str path works too
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert _folder_entries(tmp_path) == ["h.png"]


def test_failed_write_removes_temporary(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "x").write_text("keep")  # a non-empty folder cannot be replaced
    with pytest.raises(OSError):
        plot_hierarchy(_graph(), _levels(), target)
    assert _folder_entries(tmp_path) == ["taken"]


def test_graph_without_edges(tmp_path):
    empty = torch.empty(2, 0, dtype=torch.long)
    out = plot_hierarchy(
        empty, [torch.arange(8) // 2, torch.tensor([0, 0, -1, -1, 1, 1, 1, -1])], tmp_path / "noedges.png"
    )
    assert out.read_bytes()[:8] == PNG_MAGIC
    out2 = plot_hierarchy(empty, [], tmp_path / "noedges2.png", num_nodes=5)
    assert out2.read_bytes()[:8] == PNG_MAGIC


def test_one_node_graph(tmp_path):
    empty = torch.empty(2, 0, dtype=torch.long)
    out = plot_hierarchy(
        empty, [torch.tensor([0]), torch.tensor([-1])], tmp_path / "one.png", ground_truth=torch.tensor([0])
    )
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
    out = plot_hierarchy(ei, [torch.arange(500) // 10, torch.arange(500) // 100], tmp_path / "big.png", num_nodes=500)
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_kamada_kawai(tmp_path):
    out = plot_hierarchy(_graph(), _levels(), tmp_path / "kk.png", layout="kamada_kawai")
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_does_not_import_pyplot(tmp_path):
    if "matplotlib.pyplot" in sys.modules:
        pytest.skip("pyplot already imported by another test")
    plot_hierarchy(_graph(), _levels(), tmp_path / "h.png")
    assert "matplotlib.pyplot" not in sys.modules


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (dict(edge_index=torch.zeros(3, 4, dtype=torch.long)), "edge_index"),
        (dict(edge_index=torch.zeros(8, dtype=torch.long)), "edge_index"),
        (dict(edge_index=torch.zeros(2, 4)), "edge_index"),  # float
        (dict(edge_index=torch.tensor([[0, 1], [1, 30]])), "edge_index"),  # id >= N
        (dict(edge_index=torch.tensor([[0, -1], [1, 2]])), "edge_index"),  # negative id
        (dict(assignments=[torch.zeros(29, dtype=torch.long)]), r"assignments\[0\]"),
        (dict(assignments=[torch.arange(30), torch.zeros(31, dtype=torch.long)]), r"assignments\[1\]"),
        (dict(assignments=[torch.full((30,), -2)]), r"assignments\[0\]"),  # id < -1
        (dict(assignments=[torch.zeros(30)]), r"assignments\[0\]"),  # float
        (dict(assignments=[torch.zeros(30, 2, dtype=torch.long)]), r"assignments\[0\]"),
        (dict(assignments=torch.arange(30)), "assignments"),  # a single 1-D tensor
        (dict(ground_truth=torch.zeros(29, dtype=torch.long)), "ground_truth"),
        (dict(ground_truth=torch.zeros(30)), "ground_truth"),
        (dict(ground_truth=torch.full((30,), -5)), "ground_truth"),
        (dict(layout="circular"), "layout"),
        (dict(num_nodes=0), "num_nodes"),
        (dict(num_nodes=20), "edge_index"),  # edges beyond N
        (dict(edge_index=torch.empty(2, 0, dtype=torch.long), assignments=[]), "num_nodes"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_argument(tmp_path, kwargs, arg):
    args = dict(edge_index=_graph(), assignments=_levels())
    args.update(kwargs)
    with pytest.raises(ValueError, match=arg):
        plot_hierarchy(args.pop("edge_index"), args.pop("assignments"), tmp_path / "x.png", **args)
    assert not (tmp_path / "x.png").exists()
    assert _folder_entries(tmp_path) == []


@pytest.mark.parametrize("module", ["networkx", "matplotlib.figure"])
def test_missing_optional_dependency_raises_import_error(tmp_path, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ImportError, match=r"pip install 'hipool\[plot\]'"):
        plot_hierarchy(_graph(), _levels(), tmp_path / "x.png")
    assert _folder_entries(tmp_path) == []


# --------------------------------------------------------------------------- layouts and the
# graph / coarsened-graph pictures

from hipool.explain.plot import draw as plot_draw  # noqa: E402
from hipool.explain.plot import layout_positions, plot_coarsened, plot_graph  # noqa: E402


def _planted(groups=4, subs=5, size=8, hubs=3, seed=0):
    """Nested planted groups: ``groups`` x ``subs`` sub-groups of ``size`` nodes, edges
    mostly inside sub-groups, plus ``hubs`` unlabelled nodes wired to many sub-groups.

    Returns ``(edge_index, groups [N, 2], N)`` with column 0 the sub-group (finest) and
    column 1 the group, ``-1`` for the hubs.
    """
    g = torch.Generator().manual_seed(seed)
    n_lab = groups * subs * size
    node = torch.arange(n_lab)
    sub = node // size
    grp = sub // subs
    ring = torch.stack([node, sub * size + (node % size + 1) % size])
    chord = torch.stack([node, sub * size + torch.randint(0, size, (n_lab,), generator=g)])
    a = torch.randint(0, n_lab, (n_lab // 5,), generator=g)  # inside the group
    within = torch.stack([a, grp[a] * subs * size + torch.randint(0, subs * size, a.shape, generator=g)])
    a = torch.randint(0, n_lab, (n_lab // 20,), generator=g)  # anywhere
    across = torch.stack([a, torch.randint(0, n_lab, a.shape, generator=g)])
    hub_src = n_lab + torch.arange(n_lab // 4) % max(hubs, 1)
    to_hubs = torch.stack([hub_src, torch.arange(0, n_lab, 4)])[:, : (n_lab // 4 if hubs else 0)]
    ei = torch.cat([ring, chord, within, across, to_hubs], 1)
    labels = torch.full((n_lab + hubs, 2), -1, dtype=torch.long)
    labels[:n_lab, 0], labels[:n_lab, 1] = sub, grp
    return torch.cat([ei, ei.flip(0)], 1), labels, n_lab + hubs


def _mean_distance(xy, a, b):
    d = ((xy[a][:, None, :] - xy[b][None, :, :]) ** 2).sum(-1) ** 0.5
    return float(d.mean())


def _non_white_share(path):
    rgb = imread(str(path))[..., :3]
    return float((rgb < 0.9).any(axis=-1).mean())


@pytest.mark.parametrize("method", ["spring", "kamada_kawai", "structure", "auto"])
def test_layout_positions_shape_and_determinism(method):
    import numpy as np

    ei, groups, n = _planted()
    a = layout_positions(ei, n, groups=groups, method=method, seed=1)
    b = layout_positions(ei, n, groups=groups, method=method, seed=1)
    assert isinstance(a, np.ndarray) and a.shape == (n, 2) and a.dtype == np.float64
    assert np.isfinite(a).all() and np.abs(a).max() <= 1.0 + 1e-9
    assert np.array_equal(a, b)
    if method != "kamada_kawai":  # kamada_kawai has no random part
        assert not np.array_equal(a, layout_positions(ei, n, groups=groups, method=method, seed=2))


def test_structure_layout_separates_nested_groups():
    import numpy as np

    ei, groups, n = _planted(groups=4, subs=5, size=8, hubs=3)
    xy = layout_positions(ei, n, groups=groups, method="structure")
    sub, grp = groups[:, 0].numpy(), groups[:, 1].numpy()
    same_sub, other_sub_same_grp, other_grp = [], [], []
    for s in range(20):
        mine = np.flatnonzero(sub == s)
        same_sub.append(_mean_distance(xy, mine, mine))
        g = s // 5
        other_sub_same_grp.append(_mean_distance(xy, mine, np.flatnonzero((grp == g) & (sub != s))))
        other_grp.append(_mean_distance(xy, mine, np.flatnonzero((grp != g) & (grp >= 0))))
    assert np.mean(same_sub) < 0.5 * np.mean(other_sub_same_grp)  # sub-groups are clumps
    assert np.mean(other_sub_same_grp) < 0.6 * np.mean(other_grp)  # inside group regions
    hubs = np.flatnonzero(sub < 0)
    assert len(hubs) == 3 and np.isfinite(xy[hubs]).all() and np.abs(xy[hubs]).max() <= 1.0 + 1e-9


def test_structure_layout_places_unreachable_unlabelled_nodes_on_a_ring():
    import numpy as np

    ei, groups, n = _planted(groups=2, subs=2, size=6, hubs=0)
    ei = torch.cat([ei, torch.tensor([[n], [n + 1]])], 1)  # a labelled-free pair, unreachable
    groups = torch.cat([groups, torch.full((3, 2), -1)])  # ... and one isolated node
    xy = layout_positions(ei, n + 3, groups=groups, method="structure")
    assert np.isfinite(xy).all()
    centre = (xy[:n].min(0) + xy[:n].max(0)) / 2
    r = np.sqrt(((xy - centre) ** 2).sum(1))
    assert r[n:].min() > r[:n].max()  # around everything else
    assert len({tuple(p) for p in xy[n:].round(6)}) == 3  # not on top of each other


def test_layout_auto_choice():
    import numpy as np

    ei, groups, n = _planted()
    assert np.array_equal(
        layout_positions(ei, n, groups=groups), layout_positions(ei, n, groups=groups, method="structure")
    )
    kk = layout_positions(ei, n, method="kamada_kawai")
    assert np.array_equal(layout_positions(ei, n), kk)  # N <= 300
    no_labels = torch.full((n, 2), -1, dtype=torch.long)
    assert np.array_equal(layout_positions(ei, n, groups=no_labels), kk)  # nothing to use
    big = _graph(320)
    assert np.array_equal(
        layout_positions(big, 320, seed=5), layout_positions(big, 320, method="spring", seed=5)
    )  # N > 300


def test_spring_layout_of_many_components_is_not_squeezed():
    import numpy as np

    ei, _, n = _planted(groups=10, subs=6, size=10, hubs=0)  # 600 nodes: vectorised spring
    n_all = n + 60  # ... and 60 isolated nodes
    xy = layout_positions(ei, n_all, method="spring")
    assert xy.shape == (n_all, 2) and np.isfinite(xy).all()
    lo, hi = xy[:n].min(0), xy[:n].max(0)
    assert (hi - lo).min() > 0.8  # the big part fills the picture


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (dict(method="circular"), "method"),
        (dict(method="structure"), "groups"),  # needs groups
        (dict(method="structure", groups=torch.full((30, 1), -1)), "groups"),  # ... with labels
        (dict(groups=torch.zeros(29, 2, dtype=torch.long)), "groups"),
        (dict(groups=torch.zeros(30, 2)), "groups"),  # float
        (dict(groups=torch.full((30, 2), -3)), "groups"),
        (dict(num_nodes=0), "num_nodes"),
        (dict(num_nodes=10), "edge_index"),
    ],
)
def test_layout_positions_bad_inputs(kwargs, arg):
    args = dict(num_nodes=30)
    args.update(kwargs)
    with pytest.raises(ValueError, match=arg):
        layout_positions(_graph(), args.pop("num_nodes"), **args)


def test_hierarchy_with_structure_layout_and_precomputed_positions(tmp_path):
    ei, groups, n = _planted()
    levels = [groups[:, 0], groups[:, 1]]
    a = plot_hierarchy(ei, levels, tmp_path / "a.png", layout="structure", groups=groups, seed=2)
    xy = layout_positions(ei, n, groups=groups, method="structure", seed=2)
    b = plot_hierarchy(ei, levels, tmp_path / "b.png", positions=xy, groups=groups)
    c = plot_hierarchy(
        ei, levels, tmp_path / "c.png", positions=torch.from_numpy(xy), groups=groups, layout="auto", seed=2
    )
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()  # positions are used as given
    d = plot_hierarchy(ei, levels, tmp_path / "d.png", layout="auto", groups=groups, seed=2)
    assert d.read_bytes() == a.read_bytes()  # auto = structure here


@pytest.mark.parametrize(
    "positions",
    [
        torch.zeros(30, 3),
        torch.zeros(29, 2),
        torch.zeros(60),
        [[0.0, 1.0]] * 30 + [[1.0]],
        torch.full((30, 2), float("nan")),
        torch.full((30, 2), float("inf")),
    ],
)
@pytest.mark.parametrize("which", ["hierarchy", "graph", "coarsened"])
def test_bad_positions_raise_value_error(tmp_path, positions, which):
    out = tmp_path / "x.png"
    with pytest.raises(ValueError, match="positions"):
        if which == "hierarchy":
            plot_hierarchy(_graph(), _levels(), out, positions=positions)
        elif which == "graph":
            plot_graph(_graph(), out, positions=positions)
        else:
            plot_coarsened(_graph(), _levels(), [torch.empty(2, 0, dtype=torch.long)] * 3, out, positions=positions)
    assert _folder_entries(tmp_path) == []


@pytest.mark.parametrize("layout", ["structure"])
def test_structure_layout_without_groups_is_an_error(tmp_path, layout):
    with pytest.raises(ValueError, match="groups"):
        plot_hierarchy(_graph(), _levels(), tmp_path / "x.png", layout=layout)
    with pytest.raises(ValueError, match="groups"):
        plot_graph(_graph(), tmp_path / "x.png", layout=layout)
    assert _folder_entries(tmp_path) == []


def test_plot_graph_writes_png(tmp_path):
    ei, groups, n = _planted()
    out = plot_graph(
        ei, tmp_path / "g" / "graph.png", groups=groups, title="planted", note="coloured by sub-group (20 groups)"
    )
    assert isinstance(out, pathlib.Path) and out.read_bytes()[:8] == PNG_MAGIC
    img = imread(str(out))
    assert img.ndim == 3 and min(img.shape[:2]) > 500
    saturation = img[..., :3].max(-1) - img[..., :3].min(-1)
    assert (saturation > 0.3).mean() > 0.002  # coloured groups
    plain = plot_graph(_graph(), tmp_path / "plain.png")  # no groups: one colour
    colour = plot_graph(_graph(), tmp_path / "colour.png", colour_by=torch.arange(30) % 4 - 1)
    assert plain.read_bytes() != colour.read_bytes()
    one = plot_graph(torch.empty(2, 0, dtype=torch.long), tmp_path / "one.png", num_nodes=1)
    assert one.read_bytes()[:8] == PNG_MAGIC
    assert _folder_entries(tmp_path) == ["colour.png", "g", "one.png", "plain.png"]


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (dict(colour_by=torch.zeros(29, dtype=torch.long)), "colour_by"),
        (dict(colour_by=torch.zeros(30)), "colour_by"),
        (dict(colour_by=torch.full((30,), -2)), "colour_by"),
        (dict(groups=torch.zeros(31, 2, dtype=torch.long), num_nodes=30), "groups"),
        (dict(groups=torch.zeros(30, 2, 2, dtype=torch.long)), "groups"),
        (dict(layout="circular"), "layout"),
        (dict(num_nodes=10), "edge_index"),
    ],
)
def test_plot_graph_bad_inputs(tmp_path, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        plot_graph(_graph(), tmp_path / "x.png", **kwargs)
    assert _folder_entries(tmp_path) == []


def _pooled_edges(edge_index, levels):
    """The pooled graph of every level: the original edges mapped onto pooled ids."""
    out = []
    for a in levels:
        e = torch.stack([a[edge_index[0]], a[edge_index[1]]])
        out.append(e[:, (e >= 0).all(0)])
    return out


def _spy_notes(monkeypatch):
    notes = []
    real = plot_draw._note

    def spy(ax, lines):
        notes.append(list(lines))
        real(ax, lines)

    monkeypatch.setattr(plot_draw, "_note", spy)
    return notes


def test_plot_coarsened_writes_png(tmp_path, monkeypatch):
    notes = _spy_notes(monkeypatch)
    ei = _graph()
    levels = _levels()
    out = plot_coarsened(ei, levels, _pooled_edges(ei, levels), tmp_path / "c.png", title="coarse")
    assert isinstance(out, pathlib.Path) and out.read_bytes()[:8] == PNG_MAGIC
    h, w = imread(str(out)).shape[:2]
    assert w > 2.2 * h > 400  # 3 panels in one row
    saturation = imread(str(out))[..., :3].max(-1) - imread(str(out))[..., :3].min(-1)
    assert (saturation > 0.3).mean() > 0.002  # pooled nodes are coloured
    assert len(notes) == 3 and any("dropped" in line for line in notes[1])
    assert _folder_entries(tmp_path) == ["c.png"]


def test_plot_coarsened_empty_clusters_and_strongest_edges(tmp_path, monkeypatch):
    notes = _spy_notes(monkeypatch)
    n = 30
    ei = _graph(n)
    l1 = torch.arange(n) // 3  # 10 clusters, ids 0..9
    l2 = torch.where(l1 < 4, torch.zeros_like(l1), torch.full_like(l1, 2))  # ids 1, 3, 4 empty
    dense = torch.tensor([[i, j] for i in range(10) for j in range(10)]).t()  # complete + loops
    weights = torch.rand(dense.size(1), generator=torch.Generator().manual_seed(0)) + 0.1
    e2 = torch.tensor([[0, 1, 2, 3], [2, 0, 0, 4]])
    out = plot_coarsened(
        ei, [l1, l2], [dense, e2], tmp_path / "c.png", pooled_sizes=[10, 5], pooled_weights=[weights, None]
    )
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert notes[0] == ["strongest 40 of 45 edges drawn"]  # 45 pairs > 4 * 10
    assert notes[1] == ["3 empty clusters not drawn (nor 2 edges)"]
    # dense weighted level from a clustering pooler, as one [E, 1] column and with zeros
    zeros = torch.where(torch.arange(dense.size(1)) % 2 == 0, weights, torch.zeros_like(weights))
    plot_coarsened(ei, [l1], [dense], tmp_path / "d.png", pooled_weights=[zeros[:, None]])
    assert notes[2] == []  # 35 pairs of positive weight left: all drawn


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (
            dict(pooled_edges=[torch.tensor([[0], [10]]), torch.tensor([[0], [1]])], pooled_sizes=[10, 3]),
            r"pooled_edges\[0\].*level 1",
        ),  # id >= pooled size
        (
            dict(pooled_edges=[torch.tensor([[0], [1]]), torch.tensor([[0, 1], [1, 7]])], pooled_sizes=[10, 5]),
            r"pooled_edges\[1\].*level 2",
        ),  # id >= pooled size
        (
            dict(pooled_edges=[torch.tensor([[0], [1]]), torch.tensor([[0, -1], [1, 2]])]),
            r"pooled_edges\[1\].*level 2",
        ),  # negative id
        (dict(pooled_edges=[torch.tensor([[0], [1]]), torch.zeros(3, 2, dtype=torch.long)]), r"pooled_edges\[1\]"),
        (dict(pooled_edges=[torch.tensor([[0], [1]]), torch.zeros(2, 2)]), r"pooled_edges\[1\]"),
        (dict(pooled_edges=[torch.tensor([[0], [1]])]), "pooled_edges"),  # one level short
        (dict(pooled_edges=torch.tensor([[0], [1]])), "pooled_edges"),  # not a list
        (dict(pooled_sizes=[5, 5]), r"assignments\[0\].*level 1"),  # ids beyond the size
        (dict(pooled_sizes=[10]), "pooled_sizes"),
        (dict(pooled_sizes=[10, -1]), r"pooled_sizes\[1\]"),
        (dict(pooled_weights=[torch.ones(3), None]), r"pooled_weights\[0\].*level 1"),
        (dict(pooled_weights=[None, torch.tensor([float("nan")] * 2)]), r"pooled_weights\[1\]"),
        (dict(pooled_weights=[None]), "pooled_weights"),
        (dict(assignments=[]), "assignments"),
        (dict(assignments=[torch.arange(29), torch.arange(30)]), r"assignments\[0\]"),
        (dict(layout="circular"), "layout"),
    ],
)
def test_plot_coarsened_bad_inputs(tmp_path, kwargs, arg):
    args = dict(
        assignments=[torch.arange(30) // 3, torch.arange(30) // 10],
        pooled_edges=[torch.tensor([[0, 1], [1, 2]]), torch.tensor([[0, 1], [1, 2]])],
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=arg):
        plot_coarsened(_graph(), args.pop("assignments"), args.pop("pooled_edges"), tmp_path / "x.png", **args)
    assert _folder_entries(tmp_path) == []


@pytest.mark.parametrize("fn", ["graph", "coarsened"])
def test_new_pictures_need_the_plot_extra(tmp_path, monkeypatch, fn):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'hipool\[plot\]'"):
        if fn == "graph":
            plot_graph(_graph(), tmp_path / "x.png")
        else:
            plot_coarsened(_graph(), _levels(), _pooled_edges(_graph(), _levels()), tmp_path / "x.png")
    assert _folder_entries(tmp_path) == []


def test_2000_nodes_are_readable(tmp_path):
    """10 groups x 20 sub-groups x 10 nodes: every picture is large and neither empty nor a blob."""
    import time

    import numpy as np

    t0 = time.perf_counter()
    ei, groups, n = _planted(groups=10, subs=20, size=10, hubs=0, seed=3)
    assert n == 2000 and ei.size(1) // 2 < 5000
    sub, grp = groups[:, 0], groups[:, 1]
    top = grp % 3
    top[torch.arange(n) % 37 == 0] = -1  # some dropped at level 3
    levels = [sub, grp, top]

    t = time.perf_counter()
    xy = layout_positions(ei, n, groups=groups)
    assert time.perf_counter() - t < 5.0 and np.isfinite(xy).all()

    outs = [
        plot_hierarchy(ei, levels, tmp_path / "hierarchy.png", layout="structure", groups=groups),
        plot_graph(ei, tmp_path / "graph.png", groups=groups),
        plot_coarsened(ei, levels, _pooled_edges(ei, levels), tmp_path / "coarsened.png", positions=xy),
    ]
    for out in outs:
        img = imread(str(out))
        assert img.shape[1] >= 1000, (out.name, img.shape)
        share = _non_white_share(out)
        assert 0.02 < share < 0.60, (out.name, share)
    assert time.perf_counter() - t0 < 15.0


def test_highlight_rings_nodes_and_names_them(tmp_path, monkeypatch):
    import hipool.explain.plot as plot

    notes = []
    real = plot.draw._note
    monkeypatch.setattr(plot.draw, "_note", lambda ax, lines: (notes.append(list(lines)), real(ax, lines)))
    mask = torch.zeros(30, dtype=torch.bool)
    mask[[3, 4]] = True
    plot.plot_graph(_graph(), tmp_path / "g.png", highlight=mask, highlight_label="the defect")
    assert notes[-1][-1] == "red rings: the defect (2 nodes)"
    plot.plot_hierarchy(_graph(), _levels(), tmp_path / "h.png", highlight=mask.long())
    assert "red rings: highlighted (2 nodes)" in notes[-len(_levels()) - 1]
    plain = tmp_path / "plain.png"
    plot.plot_graph(_graph(), plain, highlight=torch.zeros(30, dtype=torch.bool))
    assert plain.read_bytes() != (tmp_path / "g.png").read_bytes()
    with pytest.raises(ValueError, match=r"plot_graph: 'highlight' must be a bool mask with one entry per node \(30\)"):
        plot.plot_graph(_graph(), tmp_path / "x.png", highlight=torch.ones(29, dtype=torch.bool))
    with pytest.raises(ValueError, match="plot_hierarchy: 'highlight' must be a bool \\(or 0/1\\) mask"):
        plot.plot_hierarchy(_graph(), _levels(), tmp_path / "x.png", highlight=torch.full((30,), 2))
    assert not (tmp_path / "x.png").exists()
