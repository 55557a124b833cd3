"""Fuzzing what users hand to the dataset loaders: TU raw folders (valid ones written in every
accepted way, corrupted ones, arbitrary bytes) and generator specs.  A valid folder loads exactly
the graphs written; anything else is a ``ValueError`` naming the file; nothing else escapes."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipool.data.registry import load_dataset
from hipool.data.tu import MAX_LABEL_COLUMNS, load_tu
from hipool.io import shown

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAME = "F"


# ---------------------------------------------------------------------------
# a model of a TU dataset, and its files
# ---------------------------------------------------------------------------
@st.composite
def tu_models(draw):
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    start = np.concatenate([[0], np.cumsum(sizes)])
    edges = []
    for g, n in enumerate(sizes):
        pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=5))
        edges += [(int(start[g]) + u, int(start[g]) + v) for u, v in pairs]
    num_nodes = int(start[-1])
    m = {
        "sizes": sizes,
        "edges": edges,
        "graph_labels": draw(st.lists(st.integers(-3, 3), min_size=len(sizes), max_size=len(sizes))),
    }
    if draw(st.booleans()):
        cols = draw(st.integers(1, 2))
        m["node_labels"] = draw(
            st.lists(st.lists(st.integers(-4, 4), min_size=cols, max_size=cols), min_size=num_nodes, max_size=num_nodes)
        )
    if draw(st.booleans()):
        cols = draw(st.integers(1, 3))
        value = st.floats(-1e6, 1e6, allow_nan=False, width=32)
        m["node_attributes"] = draw(
            st.lists(st.lists(value, min_size=cols, max_size=cols), min_size=num_nodes, max_size=num_nodes)
        )
    if edges and draw(st.booleans()):
        m["edge_labels"] = draw(st.lists(st.integers(0, 2), min_size=len(edges), max_size=len(edges)))
    return m


def rows(m):
    """Every file of the model as rows of value strings."""
    out = {
        "A": [[str(u + 1), str(v + 1)] for u, v in m["edges"]],
        "graph_indicator": [[str(g + 1)] for g, n in enumerate(m["sizes"]) for _ in range(n)],
        "graph_labels": [[str(y)] for y in m["graph_labels"]],
    }
    if "node_labels" in m:
        out["node_labels"] = [[str(v) for v in r] for r in m["node_labels"]]
    if "node_attributes" in m:
        out["node_attributes"] = [[repr(v) for v in r] for r in m["node_attributes"]]
    if "edge_labels" in m:
        out["edge_labels"] = [[str(v)] for v in m["edge_labels"]]
    return out


@st.composite
def styles(draw):
    """One of the ways a valid TU file may be written."""
    return {
        "sep": draw(st.sampled_from([",", ", ", " , ", ",\t", "\t,  "])),
        "newline": draw(st.sampled_from(["\n", "\r\n"])),
        "final_newline": draw(st.booleans()),
        "trailing_blank": draw(st.sampled_from(["", "\n", "\n\n", "  \n"])),
        "bom": draw(st.booleans()),
        "indent": draw(st.sampled_from(["", " ", "\t"])),
        "plus_and_zeros": draw(st.booleans()),
    }


def render(file_rows, style=None):
    style = style or {
        "sep": ", ",
        "newline": "\n",
        "final_newline": True,
        "trailing_blank": "",
        "bom": False,
        "indent": "",
        "plus_and_zeros": False,
    }

    def value(v):
        if style["plus_and_zeros"] and v.lstrip("-").isdigit():
            return ("-0" + v[1:]) if v.startswith("-") else "+0" + v
        return v

    lines = [style["indent"] + style["sep"].join(value(v) for v in r) for r in file_rows]
    text = style["newline"].join(lines)
    if lines and style["final_newline"]:
        text += style["newline"]
    if lines:
        text += style["trailing_blank"]
    return ("\ufeff" if style["bom"] else "") + text


def write(root, files):
    raw = root / NAME / "raw"
    raw.mkdir(parents=True)
    for kind, content in files.items():
        (raw / f"{NAME}_{kind}.txt").write_bytes(content if isinstance(content, bytes) else content.encode())


def load(files, **kwargs):
    with tempfile.TemporaryDirectory() as d:
        write(Path(d) / "root", files)
        return load_tu(NAME, Path(d) / "root", cache_dir=Path(d) / "cache", **kwargs)


def one_hot(labels):
    labels = np.asarray(labels).reshape(len(labels), -1)
    parts = [np.eye(col.max() - col.min() + 1)[col - col.min()] for col in labels.T]
    return np.concatenate(parts, axis=1)


def check_graphs(ds, m):
    """``ds`` holds exactly the graphs of the model ``m``."""
    sizes = m["sizes"]
    assert len(ds) == len(sizes)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    classes = sorted(set(m["graph_labels"]))
    x_parts = []
    if "node_attributes" in m:
        x_parts.append(np.asarray(m["node_attributes"], dtype=np.float32))
    if "node_labels" in m:
        x_parts.append(one_hot(m["node_labels"]))
    x = np.concatenate(x_parts, axis=1) if x_parts else None
    edge_labels = one_hot(m["edge_labels"]) if "edge_labels" in m else None
    for g, graph in enumerate(ds):
        assert graph.num_nodes == sizes[g]
        assert int(graph.y) == classes.index(m["graph_labels"][g])
        merged = {}  # self-loops dropped, repeated edges merged (labels added up)
        for i, (u, v) in enumerate(m["edges"]):
            if u != v and start[g] <= u < start[g + 1]:
                key = (u - start[g], v - start[g])
                label = edge_labels[i] if edge_labels is not None else 0
                merged[key] = merged.get(key, 0) + label
        pairs = sorted(merged)
        assert graph.edge_index.t().tolist() == [list(p) for p in pairs]
        if edge_labels is None or not pairs:
            assert graph.edge_attr is None or graph.edge_attr.numel() == 0
        else:
            assert np.array_equal(graph.edge_attr.numpy(), np.stack([merged[p] for p in pairs]))
        if x is not None:
            assert np.array_equal(graph.x.numpy(), x[start[g] : start[g + 1]])
        else:  # degree features: one-hot out-degree
            deg = np.bincount([u for u, _ in pairs], minlength=sizes[g])
            assert graph.x.argmax(1).tolist() == deg.tolist()


# ---------------------------------------------------------------------------
# valid folders load exactly what they hold, however they are written
# ---------------------------------------------------------------------------
@FUZZ
@given(m=tu_models(), style=styles(), data=st.data())
def test_a_valid_folder_loads_exactly_its_graphs(m, style, data):
    files = {}
    for kind, file_rows in rows(m).items():  # each file may be written its own way
        files[kind] = render(file_rows, style if data.draw(st.booleans()) else None)
    check_graphs(load(files), m)


# ---------------------------------------------------------------------------
# corrupted folders: a ValueError naming the corrupted file
# ---------------------------------------------------------------------------
def _token_files(r, floats):
    return [k for k, v in r.items() if v and (k == "node_attributes") == floats]


@st.composite
def corruptions(draw):
    """A valid model, and one corruption of one of its files: ``(files, the file named)``."""
    m = draw(tu_models())
    r = rows(m)
    kinds = [
        "junk",
        "huge_int",
        "not_utf8",
        "extra_column",
        "label_too_wide",
        "out_of_range",
        "drop_line",
        "blank_line",
        "lone_cr",
        "truncated_edge",
        "cross_graph",
    ]
    if "node_attributes" in m:
        kinds.append("not_finite")
    kind = draw(st.sampled_from(kinds))
    target = None
    if kind == "junk":
        target = draw(st.sampled_from([k for k, v in r.items() if v]))
        i = draw(st.integers(0, len(r[target]) - 1))
        j = draw(st.integers(0, len(r[target][i]) - 1))
        junk = ["x", "1x", "0x10", "--1", "1 2", "\u0663", "1_0", "#1"]
        junk += ["1e", "nan1", "1.2.3"] if target == "node_attributes" else ["1.5", "nan", "1e3"]
        r[target][i][j] = draw(st.sampled_from(junk))
    elif kind == "huge_int":
        target = draw(st.sampled_from(_token_files(r, floats=False)))
        i = draw(st.integers(0, len(r[target]) - 1))
        r[target][i][0] = draw(st.sampled_from(["9223372036854775808", "-9223372036854775809", "1" * 30, "9" * 5000]))
    elif kind == "not_finite":
        target = "node_attributes"
        i = draw(st.integers(0, len(r[target]) - 1))
        r[target][i][0] = draw(st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e39", "-3.5e38"]))
    elif kind == "extra_column":
        target = draw(
            st.sampled_from(
                [k for k, v in r.items() if len(v) >= 2 or k in ("A", "graph_indicator", "graph_labels") and v]
            )
        )
        i = draw(st.integers(0, len(r[target]) - 1))
        r[target][i].append("1")
    elif kind == "label_too_wide" and len(r.get("node_labels", ())) >= 2:  # (one label alone is one column)
        target = "node_labels"
        i = draw(st.integers(0, len(r[target]) - 1))
        r[target][i][0] = str(draw(st.sampled_from([MAX_LABEL_COLUMNS + 10, -MAX_LABEL_COLUMNS - 10, 200000, 10**15])))
    elif kind == "out_of_range" and r["A"]:
        target = "A"
        i = draw(st.integers(0, len(r["A"]) - 1))
        r["A"][i][draw(st.integers(0, 1))] = str(draw(st.sampled_from([0, -1, sum(m["sizes"]) + 1, 10**12])))
    elif kind == "drop_line":
        target = draw(
            st.sampled_from(["graph_labels"] + [k for k in ("node_labels", "node_attributes", "edge_labels") if k in r])
        )
        del r[target][draw(st.integers(0, len(r[target]) - 1))]
    elif kind == "truncated_edge" and r["A"]:
        target = "A"
        i = draw(st.integers(0, len(r["A"]) - 1))
        r["A"][i] = [r["A"][i][0], ""]
    elif kind == "cross_graph" and len(m["sizes"]) >= 2:
        target = "A"
        r["A"].append(["1", str(sum(m["sizes"]))])
        if "edge_labels" in r:
            r["edge_labels"].append(["0"])
    files = {k: render(v) for k, v in r.items()}
    if kind == "not_utf8":
        target = draw(st.sampled_from([k for k, v in r.items() if v]))
        data = files[target].encode()
        at = draw(st.integers(0, len(data)))
        files[target] = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + data[at:]
    elif kind in ("blank_line", "lone_cr"):
        candidates = [k for k, v in r.items() if len(v) >= 2]
        if candidates:
            target = draw(st.sampled_from(candidates))
            lines = files[target].split("\n")
            i = draw(st.integers(1, len(r[target]) - 1))
            if kind == "blank_line":
                lines.insert(i, draw(st.sampled_from(["", " ", "\t"])))
                files[target] = "\n".join(lines)
            else:
                files[target] = "\n".join(lines[: i - 1] + [lines[i - 1] + "\r" + lines[i]] + lines[i + 1 :])
    if target is None:  # the drawn corruption does not apply to this model: a plain one that does
        target = "graph_labels"
        files[target] = render(r[target] + [["0"]])
    return files, target


@FUZZ
@given(case=corruptions())
def test_a_corrupted_file_is_a_value_error_naming_it(case):
    files, target = case
    with pytest.raises(ValueError) as e:
        load(files)
    assert f"{NAME}_{target}.txt" in str(e.value)


# ---------------------------------------------------------------------------
# arbitrary bytes: a ValueError naming a file, or graphs that hold together
# ---------------------------------------------------------------------------
_BYTES = st.lists(
    st.sampled_from(
        [
            b"0",
            b"1",
            b"2",
            b"3",
            b"9",
            b"-",
            b"+",
            b",",
            b" ",
            b"\t",
            b"\n",
            b"\r\n",
            b"\r",
            b".",
            b"e",
            b"nan",
            b"\xff",
            b"\xc3\xa9",
            b"99999999999999999999",
            b"1000000000000",
        ]
    ),
    max_size=40,
).map(b"".join)


@FUZZ
@given(
    m=tu_models(),
    kind=st.sampled_from(
        ["A", "graph_indicator", "graph_labels", "node_labels", "node_attributes", "edge_labels", "edge_attributes"]
    ),
    content=_BYTES,
)
def test_arbitrary_bytes_in_any_file_are_a_value_error_or_consistent_graphs(m, kind, content):
    files = {k: render(v) for k, v in rows(m).items()}
    files[kind] = content
    try:
        ds = load(files, use_edge_attr=True)
    except ValueError as e:
        assert f"{NAME}_" in str(e) and ".txt" in str(e)
        return
    for g in ds:
        assert g.x.size(0) == g.num_nodes >= 1 and bool(torch.isfinite(g.x).all())
        assert g.edge_index.numel() == 0 or 0 <= int(g.edge_index.min()) <= int(g.edge_index.max()) < g.num_nodes
        assert 0 <= int(g.y) < ds.num_classes
    assert ds.num_features <= 2 * MAX_LABEL_COLUMNS + 100


# ---------------------------------------------------------------------------
# generator specs: checked before anything is generated
# ---------------------------------------------------------------------------
_VALUES = st.one_of(
    st.integers(-3, 3).map(str),
    st.sampled_from(
        [
            "",
            "0",
            "-0",
            "+2",
            "007",
            "1e3",
            "10**20",
            "1" * 40,
            "9" * 5000,
            "nan",
            "NaN",
            "inf",
            "-inf",
            "0.5",
            ".5",
            "1.",
            "1_0",
            "\u0663",
            "abc",
            "component",
            "block",
            "block+block",
            "subsystem+component",
            "+",
            "50",
            "60",
            "100000",
            "100001",
            "9223372036854775808",
        ]
    ),
    st.text(max_size=6),
)
_KEYS = st.sampled_from(["n", "seed", "min", "max", "fail", "margin", "levels", "size", "", " n", "N"])


@st.composite
def specs(draw):
    name = draw(st.sampled_from(["circuits", "communities"]))
    if draw(st.booleans()):
        items = [f"{draw(_KEYS)}={draw(_VALUES)}" for _ in range(draw(st.integers(0, 4)))]
        return f"{name}:" + ",".join(items)
    return f"{name}:" + draw(st.text(max_size=20))


@FUZZ
@given(spec=specs())
def test_generator_specs_are_checked_before_generating(spec, monkeypatch, tmp_path_factory):
    from hipool.data import communities
    from hipool.data.circuits import dataset as circuits

    def fake_circuits(**kw):
        assert 1 <= kw["num_circuits"] <= 100_000 and 0 <= kw["fail_fraction"] <= 1
        assert 50 <= kw["min_components"] <= kw["max_components"] - 10 <= 100_000 - 10
        assert 0 <= kw["value_margin"] <= 100 and 0 <= kw["seed"] < 2**63
        return _TINY_CIRCUITS

    def fake_communities(num_graphs, seed, **kw):
        assert 1 <= num_graphs <= 100_000 and 0 <= seed < 2**63
        return _TINY_COMMUNITIES

    monkeypatch.setattr(circuits, "make_circuit_dataset", fake_circuits)
    monkeypatch.setattr(communities, "make_community_dataset", fake_communities)
    try:
        ds = load_dataset(spec, cache_dir=tmp_path_factory.mktemp("cache"))
    except ValueError as e:
        assert str(e).startswith(f"dataset {shown(spec)}: ")  # names the spec
        return
    assert len(ds) >= 1


def _tiny():
    from hipool.data.circuits import make_circuit_dataset
    from hipool.data.communities import make_community_dataset

    return make_circuit_dataset(1, min_components=50, max_components=60), make_community_dataset(
        1, seed=0, max_nodes=60
    )


_TINY_CIRCUITS, _TINY_COMMUNITIES = _tiny()
