"""Tests of the BLIF reader (hipool.data.netlists.blif): every cover class and the generic
sub-network, flattened ``.subckt`` hierarchy with its level labels, several models per file,
every refusal with its line, the EPFL benchmarks against their AIGER counts, and a fuzz test
that nothing but NetlistError escapes."""

import csv
import re
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipool.data.netlists.blif import MAX_GATES, parse_blif, read_blif
from hipool.data.netlists.gates import EDGE_FEATURES, GATE_KINDS, GateNetlist, NetlistError, to_data

EPFL = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "circuits" / "epfl"


def _gates(netlist: GateNetlist):
    return {g.name: (g.kind, g.inputs) for g in netlist.gates}


# --- 1. covers -------------------------------------------------------------------------------

COVERS = """\
.model covers
.inputs a b c
.outputs z0 z1 buf not and nand or nor xor xnor andn orn nand0 off_and off_or off_xor dc taut
.outputs gen gen_off same
.names z0
.names z1
1
.names a buf
1 1
.names a not
0 1
.names a b c and
111 1
.names a b nand
11 0
.names a b c or
1-- 1
-1- 1
--1 1
.names a b nor
00 1
.names a b xor
10 1
01 1
.names a b xnor
11 1
00 1
.names a b c andn
1-0 1
.names a b orn
0- 1
-1 1
.names a b nand0
0- 1
-0 1
.names a b c off_and
0-- 0
-0- 0
--0 0
.names a b off_or
00 0
.names a b off_xor
10 0
01 0
.names a b c dc
-1- 1
.names a taut
- 1
.names a b c gen
11- 1
--1 1
11- 1
.names a b gen_off
10 0
11 0
.names a b c same
1-1 1
.end
"""


def test_cover_classes():
    netlist = parse_blif(COVERS, "covers.blif")
    assert netlist.name == "covers"
    g = _gates(netlist)
    a, b, c = ("a", False), ("b", False), ("c", False)
    expected = {
        "z0": ("CONST0", []),
        "z1": ("CONST1", []),
        "buf": ("BUF", [a]),
        "not": ("NOT", [a]),
        "and": ("AND", [a, b, c]),
        "nand": ("NAND", [a, b]),
        "or": ("OR", [a, b, c]),
        "nor": ("NOR", [a, b]),
        "xor": ("XOR", [a, b]),
        "xnor": ("XNOR", [a, b]),
        "andn": ("AND", [a, ("c", True)]),  # the don't-care b is dropped
        "orn": ("OR", [("a", True), b]),
        "nand0": ("NAND", [a, b]),  # ~a + ~b
        "off_and": ("AND", [a, b, c]),  # OFF-set ~a + ~b + ~c: out = a b c
        "off_or": ("OR", [a, b]),
        "off_xor": ("XNOR", [a, b]),
        "dc": ("BUF", [b]),
        "taut": ("CONST1", []),
        "same": ("AND", [a, c]),
    }
    for name, want in expected.items():
        assert g[name] == want, name
    # generic covers: an AND per distinct cube, then an OR (NOR for an OFF-set cover)
    assert g["gen.c0"] == ("AND", [a, b])
    assert g["gen.c1"] == ("AND", [c])
    assert "gen.c2" not in g  # the repeated cube counts once
    assert g["gen"] == ("OR", [("gen.c0", False), ("gen.c1", False)])
    assert g["gen_off.c0"] == ("AND", [a, ("b", True)])
    assert g["gen_off.c1"] == ("AND", [a, b])
    assert g["gen_off"] == ("NOR", [("gen_off.c0", False), ("gen_off.c1", False)])
    assert netlist.outputs[0] == ("z0", False, 3)

    data = to_data(netlist)
    names = [gate.name for gate in netlist.gates]
    kinds = data.x[:, : len(GATE_KINDS)].argmax(1)
    for i in range(len(names)):
        assert GATE_KINDS[kinds[i]] == netlist.gates[i].kind
    forward = data.edge_attr[:, EDGE_FEATURES.index("forward")] == 1
    inv = data.edge_attr[:, EDGE_FEATURES.index("inverted")] == 1
    src, dst = data.edge_index[:, forward]
    inverted_edges = {(names[s], names[d]) for s, d, i in zip(src.tolist(), dst.tolist(), inv[forward].tolist()) if i}
    assert inverted_edges == {("c", "andn"), ("a", "orn"), ("b", "gen_off.c0")}
    assert not hasattr(data, "level_labels")


def test_cover_name_clash_gets_underscore():
    text = ".model m\n.inputs a b g.c0\n.outputs g\n.names a b g\n11 1\n00 1\n1- 1\n.end\n"
    g = _gates(parse_blif(text, "m.blif"))
    assert g["g.c0"] == ("INPUT", [])
    assert g["g.c0_"][0] == "AND"
    assert g["g"] == ("OR", [("g.c0_", False), ("g.c1", False), ("g.c2", False)])


# --- 2. hierarchy ----------------------------------------------------------------------------

HIER = """\
.model top
.inputs a b c
.outputs y z
.subckt mid x=a y=b o=y
.subckt mid x=b y=c o=z
.end

.model mid
.inputs x y
.outputs o
.names x y t
11 1
.subckt leaf i=t o=o
.end

.model leaf
.inputs i
.outputs o spare
.names i o
0 1
.names i spare
1 1
.end
"""


def test_hierarchy_flattened_with_instance_paths():
    netlist = parse_blif(HIER, "hier.blif")
    got = [(g.name, g.kind, g.inputs, g.instance) for g in netlist.gates]
    assert got == [
        ("a", "INPUT", [], ()),
        ("b", "INPUT", [], ()),
        ("c", "INPUT", [], ()),
        ("mid#0/t", "AND", [("a", False), ("b", False)], ("mid#0",)),
        ("y", "NOT", [("mid#0/t", False)], ("mid#0", "leaf#0")),
        ("mid#0/leaf#0/spare", "BUF", [("mid#0/t", False)], ("mid#0", "leaf#0")),
        ("mid#1/t", "AND", [("b", False), ("c", False)], ("mid#1",)),
        ("z", "NOT", [("mid#1/t", False)], ("mid#1", "leaf#0")),
        ("mid#1/leaf#0/spare", "BUF", [("mid#1/t", False)], ("mid#1", "leaf#0")),
    ]
    assert [g.line for g in netlist.gates[3:6]] == [11, 19, 21]  # each gate keeps its own line
    data = to_data(netlist)
    # finest first: column 0 groups by the two-level path, column 1 by the top instance
    assert data.level_labels.tolist() == [
        [-1, -1],
        [-1, -1],
        [-1, -1],
        [-1, 0],
        [0, 0],
        [0, 0],
        [-1, 1],
        [1, 1],
        [1, 1],
        [-1, -1],  # the outputs y, z
        [-1, -1],
    ]
    assert data.instance_paths == [["mid#0/leaf#0", "mid#1/leaf#0"], ["mid#0", "mid#1"]]


def test_model_chosen_by_name_and_name_argument():
    netlist = parse_blif(HIER, "hier.blif", name="design", model="mid")
    assert netlist.name == "design"
    assert [g.name for g in netlist.gates] == ["x", "y", "t", "o", "leaf#0/spare"]
    with pytest.raises(NetlistError, match=r"^hier\.blif: no model 'nope'; the file defines 'top', 'mid', 'leaf'$"):
        parse_blif(HIER, "hier.blif", model="nope")


def test_exponential_hierarchy_refused_before_building():
    depth = 40  # 2**40 gates if built
    text = ".model m0\n.inputs a\n.outputs y\n.subckt m1 i=a o=y\n.end\n"
    for k in range(1, depth):
        text += f".model m{k}\n.inputs i\n.outputs o\n.subckt m{k + 1} i=i o=t\n.subckt m{k + 1} i=t o=o\n.end\n"
    text += f".model m{depth}\n.inputs i\n.outputs o\n.names i o\n1 1\n.end\n"
    with pytest.raises(NetlistError, match=rf"flattens to more than {MAX_GATES} gates \(MAX_GATES\)"):
        parse_blif(text, "big.blif")


# --- 3. file syntax --------------------------------------------------------------------------


def test_several_models_continuations_comments_and_skipped_directives():
    text = """\
# a header comment
.model top   # the design
.inputs a \\
  b   # continued
.outputs y q
.default_input_arrival 0 0
.wire_load_slope 0.5
.clock clk
.names a b \\
 y
11 \\
1
.latch y q re clk 0
.exdc
.inputs junk
.names junk y
1 1
.end
.model unused   # defined, never instantiated: not part of the design
.inputs u
.outputs v
.names u v
0 1
.end
"""
    netlist = parse_blif(text, "t.blif")
    assert [(g.name, g.kind, g.inputs, g.line) for g in netlist.gates] == [
        ("a", "INPUT", [], 3),
        ("b", "INPUT", [], 3),
        ("y", "AND", [("a", False), ("b", False)], 9),
        ("q", "DFF", [("y", False)], 13),
    ]
    assert netlist.outputs == [("y", False, 5), ("q", False, 5)]
    assert to_data(netlist).num_nodes == 6
    assert _gates(parse_blif(text, "t.blif", model="unused"))["v"] == ("NOT", [("u", False)])


def test_implicit_model_missing_end_and_read_blif(tmp_path):
    netlist = parse_blif(".inputs a\n.outputs y\n.names a y\n1 1\n", "dir/stem.blif")
    assert netlist.name == "stem" and len(netlist.gates) == 2
    path = tmp_path / "file.blif"
    path.write_text(HIER)
    netlist = read_blif(path)
    assert netlist.name == "file" and netlist.source == str(path)
    assert len(read_blif(path, model="leaf").gates) == 3


# --- 4. refusals -----------------------------------------------------------------------------

M = ".model m\n.inputs a b\n.outputs y\n"
ERRORS = [
    (M + ".names a b y\n1 1\n", r"m\.blif:5: cover row '1' of \.names 'y' has 1 characters for 2 inputs"),
    (M + ".names a b y\n1x 1\n", r"m\.blif:5: cover row '1x' of \.names 'y' holds 'x'; a cube takes only 0, 1 and -"),
    (M + ".names a b y\n11 2\n", r"m\.blif:5: cover row of \.names 'y' has the value '2'; it must be 0 or 1"),
    (M + ".names a b y\n11\n", r"m\.blif:5: a cover row of \.names 'y' is an input cube and a value \('11 1'\), got 1"),
    (M + ".names y\n1 1\n", r"m\.blif:5: a cover row of \.names 'y' \(no inputs\) is one value \(0 or 1\), got 2"),
    (
        M + ".names a b y\n11 1\n00 0\n",
        r"m\.blif:6: \.names 'y' mixes ON-set rows \(value 1\) and OFF-set rows \(value 0\) \(line 5 has 1\)",
    ),
    (M + ".names\n", r"m\.blif:4: \.names has no signal"),
    (M + "11 1\n", r"m\.blif:4: '11 1' is not a directive and follows no \.names"),
    (M + ".gate nand2 A=a B=b O=y\n", r"m\.blif:4: a \.gate is a cell of a technology library"),
    (M + ".mlatch dff D=a Q=y\n", r"m\.blif:4: a \.mlatch is a latch of a technology library"),
    (M + ".latch a\n", r"m\.blif:4: \.latch takes 'input output \[type control\] \[init\]', got 1 fields"),
    (M + ".latch a y xx clk\n", r"m\.blif:4: \.latch type 'xx' is none of fe, re, ah, al, as"),
    (M + ".latch a y 7\n", r"m\.blif:4: \.latch initial value '7' is none of 0, 1, 2"),
    (
        M + ".subckt nope i=a\n",
        r"m\.blif:4: \.subckt calls model 'nope', which the file does not define \(it defines 'm'\)",
    ),
    (M + ".subckt m a\n", r"m\.blif:4: \.subckt 'm': 'a' is not formal=actual"),
    (M + ".subckt m a=a a=b\n", r"m\.blif:4: \.subckt 'm' binds the formal 'a' twice"),
    (M + ".subckt m a=a b=b y=y\n", r"m\.blif:4: recursive instantiation: m -> m"),
    (
        ".model m\n.subckt p\n.end\n.model p\n.subckt q\n.end\n.model q\n.subckt p\n.end\n",
        r"m\.blif:8: recursive instantiation: p -> q -> p",
    ),
    (
        M + ".subckt s i=a zz=b o=y\n.end\n.model s\n.inputs i\n.outputs o\n.names i o\n1 1\n",
        r"m\.blif:4: \.subckt 's': 'zz' is not a port of the model \(line 6\)",
    ),
    (
        M + ".subckt s o=y\n.end\n.model s\n.inputs i\n.outputs o\n.names i o\n1 1\n",
        r"m\.blif:4: \.subckt 's' \(s#0\) leaves the input port 'i' unconnected",
    ),
    (M + ".names a y\n1 1\n.names b y\n1 1\n", r"m\.blif:6: signal 'y' is driven twice \(first on line 4\)"),
    (
        M + ".names a y\n1 1\n.subckt s i=b o=y\n.end\n.model s\n.inputs i\n.outputs o\n.names i o\n1 1\n",
        r"m\.blif:11: signal 'y' is driven twice \(in instance s#0\) \(first on line 4\)",
    ),
    (M + ".names a a\n1 1\n", r"m\.blif:4: signal 'a' is driven twice \(first on line 2\)"),
    (".model m\n.inputs a a\n", r"m\.blif:2: input 'a' is declared twice \(first on line 2\)"),
    (".model m\n.end\n.model m\n.end\n", r"m\.blif:3: model 'm' is defined twice \(first on line 1\)"),
    (".model m\n.end\n.names y\n", r"m\.blif:3: \.names outside a model \(after \.end on line 2\)"),
    (".model m x\n", r"m\.blif:1: \.model takes one name, got 2"),
    (".model m\n.end\n", r"m\.blif:1: model 'm' has no inputs, outputs or logic"),
    ("# nothing\n\n", r"m\.blif: no \.model and no BLIF statement: not a BLIF netlist"),
    (M + ".names a y\n1\x00 1\n", r"m\.blif:5: a NUL byte"),
    (M + ".search other.blif\n", r"m\.blif:4: \.search reads another file"),
]


@pytest.mark.parametrize("text,message", ERRORS)
def test_errors(text, message):
    with pytest.raises(NetlistError, match="^" + message):
        parse_blif(text, "m.blif")


def test_read_errors(tmp_path):
    path = tmp_path / "bad.blif"
    path.write_bytes(b".model m\n.inputs \xff\n")
    with pytest.raises(NetlistError, match=rf"^{re.escape(str(path))}:2: not UTF-8 text \(byte 17\)"):
        read_blif(path)
    with pytest.raises(NetlistError, match=r"BLIF netlist .*missing\.blif: cannot read it"):
        read_blif(tmp_path / "missing.blif")
    with pytest.raises(NetlistError, match="is a folder"):
        read_blif(tmp_path)


# --- 5. the EPFL benchmarks ------------------------------------------------------------------


@pytest.mark.skipif(not (EPFL / "aig_stats.csv").is_file(), reason="the EPFL benchmarks are not in ../shared")
def test_epfl_inputs_and_outputs_match_aiger_counts():
    with open(EPFL / "aig_stats.csv", newline="") as f:
        stats = {row["file"][: -len(".aig")]: row for row in csv.DictReader(f)}
    files = [p for p in sorted(EPFL.rglob("*.blif")) if p.stat().st_size < 1_000_000]
    assert len(files) >= 10
    for path in files:
        row = stats[str(path.relative_to(EPFL))[: -len(".blif")]]
        netlist = read_blif(path)
        assert sum(g.kind == "INPUT" for g in netlist.gates) == int(row["inputs"]), path.name
        assert len(netlist.outputs) == int(row["outputs"]), path.name
        assert all(g.instance == () for g in netlist.gates)
    data = to_data(read_blif(EPFL / "random_control" / "ctrl.blif"))
    assert data.num_nodes == 7 + 175 + 26 and data.graph_id == "ctrl"
    assert torch.isfinite(data.x).all()


# --- 6. fuzz ---------------------------------------------------------------------------------

_TOKENS = [
    ".model",
    ".end",
    ".inputs",
    ".outputs",
    ".names",
    ".latch",
    ".subckt",
    ".exdc",
    ".gate",
    ".clock",
    ".start_kiss",
    ".end_kiss",
    "a",
    "b",
    "y",
    "s",
    "m",
    "i=a",
    "o=y",
    "x=",
    "=",
    "0",
    "1",
    "-",
    "01",
    "1-",
    "11",
    "re",
    "\\",
    "#",
    "\n",
    "\n",
    "\n",
    " ",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=200),
        st.lists(st.sampled_from(_TOKENS), max_size=60).map(" ".join),
        st.tuples(st.integers(0, len(HIER)), st.integers(0, 20), st.text(max_size=8)).map(
            lambda t: HIER[: t[0]] + t[2] + HIER[t[0] + t[1] :]
        ),
        st.tuples(st.integers(0, len(COVERS)), st.integers(0, 20), st.text("01-\n \\#.", max_size=8)).map(
            lambda t: COVERS[: t[0]] + t[2] + COVERS[t[0] + t[1] :]
        ),
    )
)
def test_fuzz_only_netlist_errors(text):
    try:
        netlist = parse_blif(text, "fuzz.blif")
    except NetlistError:
        return
    try:
        to_data(netlist)
    except NetlistError:
        pass
