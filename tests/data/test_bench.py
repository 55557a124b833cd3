"""ISCAS .bench netlists (hipool.data.netlists.bench) and the gate-level graph (gates.to_data):
exact graphs of small circuits, every shared ISCAS file against its published counts, bad
input named by file and line, and a fuzz test in which only NetlistError escapes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hipool.data.netlists.bench import parse_bench, read_bench
from hipool.data.netlists.gates import (
    EDGE_FEATURES,
    GATE_KINDS,
    NUM_GATE_FEATURES,
    Gate,
    GateNetlist,
    NetlistError,
    gate_counts,
    to_data,
)

CIRCUITS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "circuits"

C17 = """# c17: 5 inputs, 2 outputs, 6 NAND gates
INPUT(1)
INPUT(2)
INPUT(3)
INPUT(6)
INPUT(7)
OUTPUT(22)
OUTPUT(23)
10 = NAND(1, 3)
11 = NAND(3, 6)
16 = NAND(2, 11)
19 = NAND(11, 7)
22 = NAND(10, 16)
23 = NAND(16, 19)
"""


def _kind(x, i):
    return GATE_KINDS[int(x[i, : len(GATE_KINDS)].argmax())]


def test_c17_is_read_exactly():
    nl = parse_bench(C17, "c17.bench", "c17")
    assert [g.name for g in nl.gates] == ["1", "2", "3", "6", "7", "10", "11", "16", "19", "22", "23"]
    assert nl.gates[5] == Gate("10", "NAND", [("1", False), ("3", False)], line=9)
    assert nl.outputs == [("22", False, 7), ("23", False, 8)]
    d = to_data(nl)
    assert d.num_nodes == 11 + 2 and d.x.shape == (13, NUM_GATE_FEATURES) and d.graph_id == "c17"
    assert [_kind(d.x, i) for i in range(13)] == ["INPUT"] * 5 + ["NAND"] * 6 + ["OUTPUT"] * 2
    e = 12 + 2  # 6 gates x 2 pins, 2 outputs
    assert d.edge_index.shape == (2, 2 * e) and d.edge_attr.shape == (2 * e, len(EDGE_FEATURES))
    fwd = d.edge_attr[:, EDGE_FEATURES.index("forward")] == 1
    # the forward edges, driver -> gate, with their pins: gate 16 = NAND(2, 11)
    pairs = {
        (int(s), int(t), int(a[3:].argmax())) for (s, t), a in zip(d.edge_index[:, fwd].t().tolist(), d.edge_attr[fwd])
    }
    assert (1, 7, 0) in pairs and (6, 7, 1) in pairs  # 2 -> 16 on pin 0, 11 -> 16 on pin 1
    assert (9, 11, 0) in pairs  # 22 (gate) -> its OUTPUT node
    # every forward edge has its backward twin, with the same pin and inversion
    back = d.edge_attr[:, EDGE_FEATURES.index("backward")] == 1
    assert torch.equal(d.edge_index[:, fwd].flip(0), d.edge_index[:, back])
    assert torch.equal(d.edge_attr[fwd, 2:], d.edge_attr[back, 2:])
    # fan-in and fan-out: input 3 feeds gates 10 and 11
    assert d.x[2, len(GATE_KINDS) + 1].item() == pytest.approx(torch.log1p(torch.tensor(2.0)).item())
    assert d.x[5, len(GATE_KINDS)].item() == pytest.approx(torch.log1p(torch.tensor(2.0)).item())


def test_flip_flops_aliases_constants_comments_and_any_order():
    text = """INPUT(a)  # an input
output(q)
q = dff(d)
d = Nand(a, nq)
nq = INV(q)
k = VDD()
z = buff(k)
OUTPUT(z)
"""
    nl = parse_bench(text, "t.bench", "t")
    assert [(g.name, g.kind) for g in nl.gates] == [
        ("a", "INPUT"),
        ("q", "DFF"),
        ("d", "NAND"),
        ("nq", "NOT"),
        ("k", "CONST1"),
        ("z", "BUF"),
    ]
    d = to_data(nl)  # a loop through the flip-flop is a graph like any other
    assert d.num_nodes == 8 and _kind(d.x, 1) == "DFF"


@pytest.mark.parametrize(
    "text,message",
    [
        ("INPUT(a)\nb = FOO(a)\n", r"t.bench:2: unknown gate kind 'FOO' for 'b'"),
        ("INPUT(a)\nb = AND(a c)\n", r"t.bench:2: gate 'b' has a bad input 'a c'"),
        ("INPUT(a)\nb = AND(a,)\n", r"t.bench:2: gate 'b' has a bad input"),
        ("INPUT(a)\nthis is not a netlist\n", r"t.bench:2: expected INPUT\(name\), OUTPUT\(name\) or name = KIND"),
        ("INPUT(a)\nb = AND(a, c)\n", r"t.bench:2: gate 'b' reads signal 'c', which nothing drives"),
        ("INPUT(a)\nOUTPUT(c)\n", r"t.bench:2: output 'c' names a signal that nothing drives"),
        ("INPUT(a)\nINPUT(a)\n", r"t.bench:2: signal 'a' is driven twice \(first on line 1\)"),
        ("INPUT(a)\nb = NOT(a, a)\n", r"t.bench:2: gate 'b' \(NOT\) has 2 inputs; NOT takes 1"),
        ("INPUT(a)\nb = AND()\n", r"t.bench:2: gate 'b' \(AND\) has 0 inputs; AND takes at least 1"),
        ("# nothing\n\n", r"t.bench: no INPUT, OUTPUT or gate: not a .bench netlist"),
    ],
)
def test_bad_netlists_are_named_by_file_and_line(text, message):
    with pytest.raises(NetlistError, match=message):
        to_data(parse_bench(text, "t.bench", "t"))


def test_binary_and_missing_files_are_netlist_errors(tmp_path):
    (tmp_path / "b.bench").write_bytes(b"INPUT(a)\n\xff\xfe\x00")
    with pytest.raises(NetlistError, match=r"b.bench:2: not UTF-8 text"):
        read_bench(tmp_path / "b.bench")
    (tmp_path / "n.bench").write_bytes(b"INPUT(a)\nOUTPUT(a)\x00\n")
    with pytest.raises(NetlistError, match=r"n.bench:2: a NUL byte: this is a binary file"):
        read_bench(tmp_path / "n.bench")
    with pytest.raises(NetlistError, match=r"missing.bench"):
        read_bench(tmp_path / "missing.bench")


def _stats():
    path = CIRCUITS / "bench_stats.csv"
    if not path.is_file():
        return []
    return list(csv.DictReader(path.open()))


@pytest.mark.skipif(not _stats(), reason="the shared ISCAS circuits are not here")
def test_every_shared_iscas_file_matches_its_published_counts():
    """All ISCAS-85/89 files: inputs, outputs, flip-flops and gates of every kind as bench_stats.csv
    lists them; the one file with a signal nothing drives (s400: Phi1H) is refused, naming it."""
    read = 0
    for row in _stats():
        path = CIRCUITS / row["suite"] / row["file"]
        if not path.is_file():  # the statistics also list suites (ITC-99) whose files are not shared
            continue
        if row["parse_notes"]:
            with pytest.raises(NetlistError, match=rf"{row['file']}:\d+: gate .* reads signal 'Phi1H'"):
                to_data(read_bench(path))
            continue
        nl = read_bench(path)
        counts = gate_counts(nl)
        kinds = {("BUFF" if k == "BUF" else k): v for k, v in counts.items() if k != "INPUT"}
        want = {k: int(v) for k, v in (t.split(":") for t in row["gate_types"].split())}
        assert counts.get("INPUT", 0) == int(row["inputs"]) and len(nl.outputs) == int(row["outputs"]), row["file"]
        assert counts.get("DFF", 0) == int(row["dff"]) and kinds == want, row["file"]
        d = to_data(nl)
        assert d.num_nodes == len(nl.gates) + len(nl.outputs)
        fanin = sum(len(g.inputs) for g in nl.gates) + len(nl.outputs)
        assert d.edge_index.size(1) == 2 * fanin
        read += 1
    assert read >= 30


_ALPHABET = "INPUTOUTPUTANDNOTDFFab01=(),# \n\t"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=200) | st.text(max_size=80))
def test_fuzz_only_netlist_errors_escape(text):
    try:
        to_data(parse_bench(text, "f.bench", "f"))
    except NetlistError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(C17) - 1), st.sampled_from(["", "(", ")", ",", "=", "\n", "X", "#"]))
def test_fuzz_mutated_c17(at, insert):
    try:
        to_data(parse_bench(C17[:at] + insert + C17[at + 1 :], "f.bench", "f"))
    except NetlistError:
        pass


def test_a_gate_netlist_with_an_unknown_kind_is_refused():
    nl = GateNetlist("x", "x.txt", [Gate("a", "INPUT", line=1), Gate("b", "LUT", [("a", False)], line=2)])
    with pytest.raises(NetlistError, match=r"x.txt:2: gate 'b' has kind 'LUT', which hipool does not know"):
        to_data(nl)


def test_flattened_instances_become_level_labels_finest_first():
    """A gate's instance path (outermost first) gives level_labels, finest column first: column 0
    groups by the whole path of the deepest nodes, the last by the top-level instance."""
    gates = [
        Gate("a", "INPUT", line=1),
        Gate("x", "NOT", [("a", False)], line=2, instance=("u1",)),
        Gate("y", "NOT", [("x", False)], line=3, instance=("u1", "inv")),
        Gate("z", "NOT", [("y", False)], line=4, instance=("u1", "inv")),
        Gate("w", "BUF", [("z", False)], line=5, instance=("u2", "inv")),
    ]
    d = to_data(GateNetlist("h", "h.blif", gates, outputs=[("w", False, 6)]))
    assert d.level_labels.tolist() == [[-1, -1], [-1, 0], [0, 0], [0, 0], [1, 1], [-1, -1]]
    assert d.instance_paths == [["u1/inv", "u2/inv"], ["u1", "u2"]]
    from hipool.nn import GivenPool

    out = GivenPool(NUM_GATE_FEATURES)(d.x, d.edge_index, batch=None, groups=d.level_labels[:, 0])
    assert out.num_nodes == 3 + 2  # a, x and the output node alone; the two innermost instances
    flat = to_data(parse_bench(C17, "c17.bench", "c17"))
    assert "level_labels" not in flat  # no instances, no hierarchy
