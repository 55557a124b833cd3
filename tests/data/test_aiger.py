"""Tests of the AIGER reader (hipool.data.netlists.aiger): the AIGER spec's examples in ASCII
and binary, the EPFL benchmarks against their published counts, every refusal with its place
in the file, and a fuzz test that nothing but NetlistError escapes."""

import csv
import re
from pathlib import Path
from typing import List

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipool.data.netlists.aiger import MAX_VARIABLES, parse_aiger, read_aiger
from hipool.data.netlists.gates import EDGE_FEATURES, GATE_KINDS, Gate, NetlistError, to_data

EPFL = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "circuits" / "epfl"

# The AIGER spec's examples, as written there (ASCII may define AND gates in any order).
AND_GATE = "aag 3 2 0 1 1\n2\n4\n6\n6 2 4\n"
HALF_ADDER = "aag 7 2 0 2 3\n2\n4\n6\n12\n6 13 15\n12 2 4\n14 3 5\ni0 x\ni1 y\no0 s\no1 c\nc\nhalf adder\n"
TOGGLE = "aag 1 0 1 2 0\n2 3\n2\n3\n"
# The same circuits in binary-compatible order (inputs 2, 4, ..., then latches, then AND gates
# with lhs = 2 * (I + L + k + 1) > rhs0 >= rhs1), so the binary copies read identically.
BINARY_READY = {
    "and": "aag 3 2 0 1 1\n2\n4\n6\n6 4 2\n",
    "half_adder": "aag 5 2 0 2 3\n2\n4\n10\n6\n6 4 2\n8 5 3\n10 9 7\ni0 x\ni1 y\no0 s\no1 c\nc\nhalf adder\n",
    "toggle": "aag 1 0 1 2 0\n2 3\n2\n3\n",
    "toggle_enable_reset": "aag 6 2 1 2 3 1\n2\n4\n6 12 0\n6\n7\n5\n8 6 4\n10 7 5\n12 11 9\nl0 q\nc\n",
    "constants": "aag 1 1 0 3 0\n2\n0\n1\n3\n",
}


def _varint(x: int) -> bytes:
    out = bytearray()
    while x >= 0x80:
        out.append(x & 0x7F | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def _to_binary(aag: str) -> bytes:
    """The binary AIGER of an ASCII file written in binary-compatible order."""
    lines = aag.split("\n")
    fields = lines[0].split()
    m, i, latch, o, a = map(int, fields[1:6])
    props = sum(map(int, fields[6:]))  # B C J F: one line each here (no justice properties)
    assert lines[1 : 1 + i] == [str(2 * (k + 1)) for k in range(i)]
    at = 1 + i
    text = [" ".join(["aig", *fields[1:]])]
    for k in range(latch):
        lit, *rest = lines[at + k].split()
        assert int(lit) == 2 * (i + k + 1)
        text.append(" ".join(rest))
    at += latch
    text += lines[at : at + o + props]
    at += o + props
    body = bytearray()
    for k in range(a):
        lhs, r0, r1 = map(int, lines[at + k].split())
        assert lhs == 2 * (i + latch + k + 1) and lhs > r0 >= r1
        body += _varint(lhs - r0) + _varint(r0 - r1)
    rest = "\n".join(lines[at + a :])
    return ("\n".join(text) + "\n").encode() + bytes(body) + rest.encode()


def _parse(text, source="t.aag") -> "object":
    return parse_aiger(text.encode() if isinstance(text, str) else text, source, "t")


def _edges(data, column: str) -> List[float]:
    return data.edge_attr[:, EDGE_FEATURES.index(column)].tolist()


def _kinds(data) -> List[str]:
    return [GATE_KINDS[k] for k in data.x[:, : len(GATE_KINDS)].argmax(1).tolist()]


# --- 1. the spec's examples ---------------------------------------------------------------


def test_and_gate():
    n = _parse(AND_GATE)
    assert n.gates == [
        Gate("i0", "INPUT", [], 2),
        Gate("i1", "INPUT", [], 3),
        Gate("a0", "AND", [("i0", False), ("i1", False)], 5),
    ]
    assert n.outputs == [("a0", False, 4)]
    data = to_data(n)
    assert data.num_nodes == 4 and data.edge_index.shape == (2, 6)
    assert _kinds(data) == ["INPUT", "INPUT", "AND", "OUTPUT"]
    assert data.edge_index[:, :3].tolist() == [[0, 1, 2], [2, 2, 3]]
    assert _edges(data, "inverted") == [0.0] * 6


def test_half_adder_names_and_forward_references():
    n = _parse(HALF_ADDER)
    assert n.gates == [
        Gate("x", "INPUT", [], 2),
        Gate("y", "INPUT", [], 3),
        Gate("a0", "AND", [("a1", True), ("a2", True)], 6),  # reads gates defined below it
        Gate("a1", "AND", [("x", False), ("y", False)], 7),
        Gate("a2", "AND", [("x", True), ("y", True)], 8),
    ]
    # the symbol table's output names (s, c) have nowhere to go: outputs are (signal, inverted, line)
    assert n.outputs == [("a0", False, 4), ("a1", False, 5)]
    data = to_data(n)
    assert data.num_nodes == 7 and data.edge_index.shape[1] == 2 * 8
    assert _kinds(data) == ["INPUT"] * 2 + ["AND"] * 3 + ["OUTPUT"] * 2
    assert _edges(data, "inverted")[:8] == [1, 1, 0, 0, 1, 1, 0, 0]


def test_toggle_flip_flop():
    n = _parse(TOGGLE)
    assert n.gates == [Gate("l0", "DFF", [("l0", True)], 2)]
    assert n.outputs == [("l0", False, 3), ("l0", True, 4)]
    data = to_data(n)
    assert _kinds(data) == ["DFF", "OUTPUT", "OUTPUT"]
    assert data.edge_index[:, :3].tolist() == [[0, 0, 0], [0, 1, 2]]
    assert _edges(data, "inverted") == [1, 0, 1] * 2


def test_constants_only_when_used():
    n = _parse(BINARY_READY["constants"])
    assert n.gates == [Gate("const0", "CONST0", [], 1), Gate("i0", "INPUT", [], 2)]
    assert n.outputs == [("const0", False, 3), ("const0", True, 4), ("i0", True, 5)]
    assert [g.kind for g in _parse(AND_GATE).gates].count("CONST0") == 0
    # a symbol that takes a default name pushes the default aside instead of clashing
    n = _parse("aag 3 2 0 1 1\n2\n4\n0\n6 2 4\ni0 a0\ni1 const0\n")
    assert [g.name for g in n.gates] == ["const0_", "a0", "const0", "a0_"]
    assert to_data(n).num_nodes == 5


def test_properties_read_as_extra_outputs_and_reset_dropped():
    n = _parse(BINARY_READY["toggle_enable_reset"])
    assert n.gates[2] == Gate("q", "DFF", [("a2", False)], 4)
    assert n.outputs == [("q", False, 5), ("q", True, 6), ("i1", True, 7)]  # the bad state last
    n = _parse("aag 2 2 0 0 0 0 0 1 1\n2\n4\n2\n3\n2\n5\n")  # one justice property of 2, one fairness
    assert n.outputs == [("i0", True, 5), ("i0", False, 6), ("i1", True, 7)]


# --- 2. the binary variant ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BINARY_READY))
def test_binary_reads_like_ascii(name):
    text = BINARY_READY[name]
    ascii_, binary = _parse(text), _parse(_to_binary(text), "t.aig")
    assert [(g.name, g.kind, g.inputs) for g in binary.gates] == [(g.name, g.kind, g.inputs) for g in ascii_.gates]
    assert [o[:2] for o in binary.outputs] == [o[:2] for o in ascii_.outputs]
    a, b = to_data(ascii_), to_data(binary)
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index) and torch.equal(a.edge_attr, b.edge_attr)


def test_binary_known_bytes_and_multibyte_deltas(tmp_path):
    # the spec's binary AND gate; the header, not the extension, picks the variant
    path = tmp_path / "and.aag"
    path.write_bytes(b"aig 3 2 0 1 1\n6\n\x02\x02")
    n = read_aiger(path)
    assert n.name == "and" and n.gates[-1] == Gate("a0", "AND", [("i1", False), ("i0", False)], 0)
    # 200 inputs: the AND's deltas need two bytes each
    n = _parse(b"aig 201 200 0 1 1\n402\n" + _varint(402 - 400) + _varint(400 - 3) + b"i199 last\n")
    assert n.gates[-1].inputs == [("last", False), ("i0", True)]
    assert _varint(397) == b"\x8d\x03"


# --- 3. the EPFL benchmarks ---------------------------------------------------------------


def _epfl_rows():
    if not (EPFL / "aig_stats.csv").is_file():
        return []
    with open(EPFL / "aig_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.skipif(not (EPFL / "aig_stats.csv").is_file(), reason="the EPFL benchmarks are not in ../shared")
def test_epfl_counts():
    rows = _epfl_rows()
    assert {r["file"] for r in rows} == {str(p.relative_to(EPFL)) for p in EPFL.rglob("*.aig")}
    checked = 0
    for row in rows:
        # hyp, div, log2 and mem_ctrl (over 30000 AND gates) would take seconds; they read the same way
        if int(row["and_gates"]) > 30000:
            continue
        n = read_aiger(EPFL / row["file"])
        kinds = [g.kind for g in n.gates]
        assert kinds.count("INPUT") == int(row["inputs"]), row["file"]
        assert kinds.count("DFF") == int(row["latches"]), row["file"]
        assert kinds.count("AND") == int(row["and_gates"]), row["file"]
        assert len(n.outputs) == int(row["outputs"]), row["file"]
        checked += 1
    assert checked >= 15
    data = to_data(read_aiger(EPFL / "random_control" / "ctrl.aig"))
    assert data.num_nodes == 1 + 7 + 174 + 26  # ctrl drives an output from the constant
    assert data.edge_index.shape[1] == 2 * (2 * 174 + 26)


# --- 4. refusals --------------------------------------------------------------------------

BAD_TEXT = [
    ("", "t.aag:1: the file ends before the header"),
    ("aig\n", "t.aag:1: the header has 0 numbers; AIGER takes 5"),
    ("abc 1 1 0 0 0\n", "t.aag:1: not an AIGER header: expected 'aag' or 'aig' then M I L O A, got 'abc'"),
    ("aag 1 1 0 0\n", "t.aag:1: the header has 4 numbers"),
    ("aag 1 1 0 0 0 0 0 0 0 0\n", "t.aag:1: the header has 10 numbers"),
    ("aag 1 x 0 0 0\n", "t.aag:1: header field I: 'x' is not a non-negative integer"),
    ("aag 1 -1 0 0 0\n", "t.aag:1: header field I: '-1' is not"),
    ("aag 1 \u0663 0 0 0\n", "t.aag:1: header field I: '\u0663' is not"),
    ("aag 1 2 0 0 0\n2\n4\n", "t.aag:1: M = 1 is less than I \\+ L \\+ A = 2"),
    ("aig 3 2 0 0 0\n", "t.aag:1: M = 3 differs from I \\+ L \\+ A = 2, as binary AIGER"),
    (f"aag {MAX_VARIABLES + 1} 0 0 0 0\n", f"t.aag:1: M = {MAX_VARIABLES + 1} is over the limit of {MAX_VARIABLES}"),
    ("aag 1 1 0 1 0\n2\n4\n", "t.aag:3: output 0: literal 4 is out of range \\(M = 1 allows up to 3\\)"),
    ("aag 3 2 0 1 1\n2\n4\n6\n7 2 4\n", "t.aag:5: AND gate 0: literal 7 is odd \\(inverted\\)"),
    ("aag 3 2 0 1 1\n2\n4\n6\n0 2 4\n", "t.aag:5: AND gate 0: literal 0 is the constant"),
    (
        "aag 3 2 0 1 1\n2\n4\n6\n4 2 2\n",
        "t.aag:5: AND gate 0: variable 2 \\(literal 4\\) is defined twice \\(first on line 3\\)",
    ),
    (
        "aag 4 2 0 1 2\n2\n4\n6\n6 2 4\n6 2 2\n",
        "t.aag:6: AND gate 1: variable 3 .* defined twice \\(first on line 5\\)",
    ),
    (
        "aag 3 1 0 1 1\n2\n6\n6 2 4\n",
        "t.aag:4: AND gate 'a0' uses literal 4: variable 2 is no input, latch or AND gate",
    ),
    ("aag 2 0 1 0 0\n2 4\n", "t.aag:2: latch 'l0' uses literal 4: variable 2 is no input"),
    ("aag 1 0 1 0 0\n2 3 5\n", "t.aag:2: latch 0: reset value 5 is none of 0, 1 or the latch's literal 2"),
    ("aag 2 1 0 1 0\n2\n5\n", "t.aag:3: output uses literal 5: variable 2 is no input"),
    ("aag 3 2 0 1 1\n2\n4\n6\n6 2\n", "t.aag:5: AND gate 0 has 2 numbers; it takes 3"),
    ("aag 3 2 0 1 1\n2\n4\n6\n", "t.aag:5: the file ends before AND gate 0"),
    ("aag 1 1 0 0 0\n2\nx0 name\n", "t.aag:3: expected a symbol .* or the comment 'c', got 'x0 name'"),
    ("aag 1 1 0 0 0\n2\ni1 name\n", "t.aag:3: symbol 'i1 name' names i1, but the header gives only 1"),
    ("aag 1 1 0 0 0\n2\ni0 name\ni0 other\n", "t.aag:4: i0 is named twice \\(first on line 3\\)"),
    ("aag 2 2 0 0 0\n2\n4\ni0 x\ni1 x\n", "t.aag:5: symbol i1 repeats the name 'x' \\(line 4\\)"),
    ("aag 1 1 0 0 0\n2\ni0\n", "t.aag:3: expected a symbol"),
]


@pytest.mark.parametrize("text, message", BAD_TEXT)
def test_bad_text(text, message):
    with pytest.raises(NetlistError, match="^" + message):
        _parse(text)


BAD_BYTES = [
    (b"aag 1 1 0 0 0\n\xff\xfe\n", "t.aag:2: byte 14 is not UTF-8 text"),
    (b"aig 1 0 1 0 0\n\x83\x01\n", "t.aag:2: byte 14 is not UTF-8 text"),  # binary where the latch's text belongs
    (
        b"aig 3 2 0 1 1\n6\n\x02",
        "t.aag: byte 17: AND gate 0 \\(lhs 6\\): a delta is unreadable: the file ends inside it",
    ),
    (b"aig 3 2 0 1 1\n6\n\x02\x82", "t.aag: byte 17: AND gate 0 .* the file ends inside it"),
    (b"aig 3 2 0 1 1\n6\n\x82\x80\x80\x80\x01\x00", "t.aag: byte 16: AND gate 0 .* it has more than 4 bytes"),
    (
        b"aig 3 2 0 1 1\n6\n\x00\x00",
        "t.aag: byte 16: AND gate 0 \\(lhs 6\\): delta0 = 0 gives rhs0 = 6; binary AIGER needs lhs > rhs0",
    ),
    (b"aig 3 2 0 1 1\n6\n\x07\x00", "t.aag: byte 16: AND gate 0 \\(lhs 6\\): delta0 = 7 gives rhs0 = -1"),
    (
        b"aig 3 2 0 1 1\n6\n\x02\x05",
        "t.aag: byte 17: AND gate 0 \\(lhs 6\\): delta1 = 5 gives rhs1 = -1; binary AIGER needs rhs0 = 4",
    ),
    # after the AND section lines count as an editor counts them: delta1 = 10 is a newline byte
    (b"aig 7 6 0 1 1\n14\n\x02\x0ai7 z\n", "t.aag:4: symbol 'i7 z' names i7, but the header gives only 6"),
]


@pytest.mark.parametrize("data, message", BAD_BYTES)
def test_bad_bytes(data, message):
    with pytest.raises(NetlistError, match="^" + message):
        _parse(data)


def test_read_aiger_names_the_path(tmp_path):
    path = tmp_path / "broken.aig"
    path.write_bytes(b"aig 3 2 0 1 1\n6\n\x02")
    with pytest.raises(NetlistError, match="^" + re.escape(f"{path}: byte 17: AND gate 0")):
        read_aiger(path)


# --- 5. fuzz ------------------------------------------------------------------------------

SEEDS = [t.encode() for t in (AND_GATE, HALF_ADDER, TOGGLE, *BINARY_READY.values())]
SEEDS += [_to_binary(t) for t in BINARY_READY.values()]


@st.composite
def _mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 2))):
        lo = data.find(b"\n") + 1 if draw(st.integers(0, 3)) else 0  # mostly past the header
        at = draw(st.integers(lo, max(lo, len(data))))
        how = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if how == "truncate":
            del data[at:]
        elif how == "delete":
            del data[at : at + draw(st.integers(1, 3))]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=3) | st.sampled_from([b" ", b"\n", b"0", b"9", b"1 "]))
        elif at < len(data):
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


_INPUTS = (
    st.binary(max_size=64)
    | st.builds(lambda h, b: h + b, st.sampled_from([b"aag ", b"aig ", b"aig 3 2 0 1 1\n6\n"]), st.binary(max_size=40))
    | _mutated()
    | _mutated()  # twice: the mutated files reach deeper than random bytes
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(_INPUTS)
def test_fuzz_only_netlist_errors(data):
    try:
        netlist = parse_aiger(data, "fuzz.aig", "fuzz")
    except NetlistError as e:
        assert str(e).startswith("fuzz.aig:") or str(e).startswith("fuzz.aig: byte "), str(e)
        return
    to_data(netlist)  # whatever the reader accepts makes a graph


def test_a_missing_file_or_a_folder_is_a_netlist_error(tmp_path):
    """Reading goes through hipool's bounded reader: no OSError escapes."""
    from hipool.data.netlists.gates import NetlistError

    with pytest.raises(NetlistError, match=r"AIGER netlist .*missing.aig: cannot read it"):
        read_aiger(tmp_path / "missing.aig")
    with pytest.raises(NetlistError, match=r"AIGER netlist"):
        read_aiger(tmp_path)
