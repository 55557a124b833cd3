"""The bit-parallel logic simulator (hipool.data.netlists.simulate), its vectors
(hipool.data.netlists.vectors), the function comparison (hipool.data.netlists.equivalence) and
``hipool simulate``: hand-computed truth tables of every gate kind, ISCAS c17 and s27 against
equations derived by hand, the EPFL adder against integer addition, the bit-parallel run
against a plain per-vector evaluation on real circuits, and bad input named clearly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest

from hipool.cli import main
from hipool.data.netlists.bench import parse_bench
from hipool.data.netlists.dataset import read_netlist
from hipool.data.netlists.equivalence import compare_functions
from hipool.data.netlists.gates import Gate, GateNetlist, NetlistError
from hipool.data.netlists.simulate import Simulator, read_simulator
from hipool.data.netlists.vectors import (
    MAX_EXHAUSTIVE_INPUTS,
    choose_vectors,
    exhaustive_words,
    pack,
    random_words,
    read_vector_file,
    unpack,
)

from .test_bench import C17, CIRCUITS  # the shared circuits folder and ISCAS c17's text

needs_circuits = pytest.mark.skipif(not CIRCUITS.is_dir(), reason="../shared/datasets/circuits is not here")

S27 = """INPUT(G0)
INPUT(G1)
INPUT(G2)
INPUT(G3)
OUTPUT(G17)
G5 = DFF(G10)
G6 = DFF(G11)
G7 = DFF(G13)
G14 = NOT(G0)
G17 = NOT(G11)
G8 = AND(G14, G6)
G15 = OR(G12, G8)
G16 = OR(G3, G8)
G9 = NAND(G16, G15)
G10 = NOR(G14, G11)
G11 = NOR(G5, G9)
G12 = NOR(G1, G7)
G13 = NOR(G2, G12)
"""


def _bits(column: np.ndarray) -> str:
    return "".join(str(int(b)) for b in column)


def _netlist(gates: List[Gate], outputs: List[Tuple[str, bool]], inputs=("a", "b", "c")) -> GateNetlist:
    nl = GateNetlist("t", "t.bench", [Gate(x, "INPUT", line=1) for x in inputs])
    nl.gates += gates
    nl.outputs = [(s, inv, 9) for s, inv in outputs]
    return nl


# -- gate semantics ------------------------------------------------------------------------------
# Vectors 0..7 of inputs a, b, c: a is bit 0 of the vector number, b bit 1, c bit 2.
TRUTH = {
    # name: (kind, pins, the output on vectors 0..7, worked out by hand)
    "and3": ("AND", [("a", False), ("b", False), ("c", False)], "00000001"),
    "nand3": ("NAND", [("a", False), ("b", False), ("c", False)], "11111110"),
    "or3": ("OR", [("a", False), ("b", False), ("c", False)], "01111111"),
    "nor3": ("NOR", [("a", False), ("b", False), ("c", False)], "10000000"),
    "xor3": ("XOR", [("a", False), ("b", False), ("c", False)], "01101001"),  # parity
    "xnor3": ("XNOR", [("a", False), ("b", False), ("c", False)], "10010110"),
    "nand2": ("NAND", [("a", False), ("b", False)], "11101110"),
    "xor2": ("XOR", [("a", False), ("b", False)], "01100110"),
    "buf": ("BUF", [("a", False)], "01010101"),
    "not": ("NOT", [("a", False)], "10101010"),
    "mux": ("MUX", [("a", False), ("b", False), ("c", False)], "00011011"),  # b if a else c
    "zero": ("CONST0", [], "00000000"),
    "one": ("CONST1", [], "11111111"),
    "and_nb": ("AND", [("a", False), ("b", True)], "01000100"),  # a & ~b
    "or_na_c": ("OR", [("a", True), ("c", False)], "10101111"),  # ~a | c
    "xor_na_b": ("XOR", [("a", True), ("b", False)], "10011001"),  # ~a ^ b
    "nor_nc": ("NOR", [("c", True)], "00001111"),  # ~~c
    "mux_ns": ("MUX", [("a", True), ("b", False), ("c", False)], "00100111"),  # c if a else b
    "mux_nd": ("MUX", [("a", False), ("b", True), ("c", False)], "01001110"),  # ~b if a else c
}


def _truth_netlist() -> GateNetlist:
    gates = [Gate(name, kind, pins, line=2 + i) for i, (name, (kind, pins, _)) in enumerate(TRUTH.items())]
    return _netlist(gates, [(name, False) for name in TRUTH] + [("and3", True), ("a", False)])


def test_every_gate_kind_against_its_hand_computed_truth_table():
    sim = Simulator(_truth_netlist())
    assert sim.inputs == ("a", "b", "c")
    assert sim.outputs == (*TRUTH, "!and3", "a#2")
    vectors = sim.exhaustive_vectors()
    assert vectors.tolist() == [[v & 1, v >> 1 & 1, v >> 2 & 1] for v in range(8)]
    out = sim.run(vectors)
    for j, (name, (_, _, want)) in enumerate(TRUTH.items()):
        assert _bits(out[:, j]) == want, name
    assert _bits(out[:, -2]) == "11111110"  # the inverted output of and3
    assert _bits(out[:, -1]) == "01010101"  # an output that is an input
    assert (sim.run_slow(vectors) == out).all()


def test_wide_parity_and_and_over_words():
    """XOR of 7 inputs is their parity and AND of 7 their conjunction, on all 128 vectors (2 words)."""
    names = tuple("abcdefg")
    pins = [(x, False) for x in names]
    nl = _netlist([Gate("p", "XOR", pins, 2), Gate("q", "XNOR", pins, 3), Gate("r", "AND", pins, 4)], [], names)
    nl.outputs = [("p", False, 9), ("q", False, 9), ("r", False, 9)]
    sim = Simulator(nl)
    out = sim.run(sim.exhaustive_vectors())
    assert out[:, 0].tolist() == [bin(v).count("1") % 2 for v in range(128)]
    assert out[:, 1].tolist() == [1 - bin(v).count("1") % 2 for v in range(128)]
    assert out[:, 2].tolist() == [int(v == 127) for v in range(128)]


def test_bench_mux_is_select_first_and_data1_second():
    sim = Simulator(parse_bench("INPUT(s)\nINPUT(x)\nINPUT(y)\nOUTPUT(m)\nm = MUX(s, x, y)\n", "m.bench", "m"))
    out = sim.run(sim.exhaustive_vectors())[:, 0]
    assert out.tolist() == [(x if s else y) for s, x, y in sim.exhaustive_vectors().tolist()]


# -- real circuits -------------------------------------------------------------------------------
def _c17_by_hand(x1, x2, x3, x6, x7):
    """c17's outputs, simplified by hand from its six NANDs:
    22 = x1 x3 + x2 ~(x3 x6);  23 = ~(x3 x6) (x2 + x7)."""
    n11 = 1 - (x3 & x6)
    return (x1 & x3) | (x2 & n11), n11 & (x2 | x7)


@pytest.mark.parametrize("source", ["embedded", "shared"])
def test_c17_full_truth_table(source):
    if source == "shared":
        if not (CIRCUITS / "iscas85" / "c17.bench").is_file():
            pytest.skip("no shared c17.bench")
        sim = read_simulator(CIRCUITS / "iscas85" / "c17.bench")
    else:
        sim = Simulator(parse_bench(C17, "c17.bench", "c17"))
    assert sim.inputs == ("1", "2", "3", "6", "7") and sim.outputs == ("22", "23")
    assert (sim.num_gates, sim.depth) == (6, 3)
    vectors = sim.exhaustive_vectors()
    assert len(vectors) == 32
    out = sim.run(vectors)
    assert [tuple(r) for r in out.tolist()] == [_c17_by_hand(*v) for v in vectors.tolist()]


def _s27_by_hand(g0, g1, g2, g3, g5, g6, g7):
    """s27 cut at its flip-flops: (G17, G5.D = G10, G6.D = G11, G7.D = G13), from its equations."""
    g14 = 1 - g0
    g8 = g14 & g6
    g12 = 1 - (g1 | g7)
    g15, g16 = g12 | g8, g3 | g8
    g9 = 1 - (g16 & g15)
    g11 = 1 - (g5 | g9)
    g10 = 1 - (g14 | g11)
    g13 = 1 - (g2 | g12)
    return 1 - g11, g10, g11, g13


@pytest.mark.parametrize("source", ["embedded", "shared"])
def test_s27_full_scan(source):
    if source == "shared":
        if not (CIRCUITS / "iscas89" / "s27.bench").is_file():
            pytest.skip("no shared s27.bench")
        sim = read_simulator(CIRCUITS / "iscas89" / "s27.bench")
    else:
        sim = Simulator(parse_bench(S27, "s27.bench", "s27"))
    assert sim.inputs == ("G0", "G1", "G2", "G3", "G5", "G6", "G7")  # primary, then one per flip-flop
    assert sim.outputs == ("G17", "G5.D", "G6.D", "G7.D")
    vectors = sim.exhaustive_vectors()
    out = sim.run(vectors)
    assert [tuple(r) for r in out.tolist()] == [_s27_by_hand(*v) for v in vectors.tolist()]


def test_inverted_flip_flop_input_and_latch_names():
    """An AIGER latch whose next state is a complemented literal: q.D is the complement."""
    nl = _netlist([Gate("q", "DFF", [("g", True)], 3), Gate("g", "AND", [("a", False), ("q", False)], 4)], [])
    sim = Simulator(nl)
    assert sim.inputs == ("a", "b", "c", "q") and sim.outputs == ("q.D",)
    out = sim.run(sim.exhaustive_vectors())[:, 0]
    assert out.tolist() == [1 - (v & 1 & (v >> 3)) for v in range(16)]


def _word(bits: np.ndarray) -> int:
    return sum(int(b) << i for i, b in enumerate(bits))


@needs_circuits
@pytest.mark.parametrize("ending", ["blif", "aig"])
def test_epfl_adder_adds(ending):
    """The adder's outputs f[0..127] and cOut are the sum of a[0..127] and b[0..127], bit 0 the
    least significant (the names say which word; the bit order is what this test confirms)."""
    path = CIRCUITS / "epfl" / "arithmetic" / f"adder.{ending}"
    if not path.is_file():
        pytest.skip(f"no {path.name}")
    sim = read_simulator(path)
    a = [sim.inputs.index(f"a[{i}]") for i in range(128)]
    b = [sim.inputs.index(f"b[{i}]") for i in range(128)]
    f = [sim.outputs.index(f"f[{i}]") for i in range(128)] + [sim.outputs.index("cOut")]
    vectors = sim.random_vectors(300, seed=7)
    vectors[0], vectors[1] = 1, 0  # all ones: the longest carry chain
    vectors[2, a], vectors[2, b] = 1, 0
    vectors[2, b[0]] = 1  # 2^128 - 1 + 1: a carry through every bit
    out = sim.run(vectors)
    for v, o in zip(vectors, out):
        assert _word(o[f]) == _word(v[a]) + _word(v[b])


def test_aiger_output_symbols_name_the_columns():
    """``o<k> name`` names output k; an output without a symbol is named after its driver."""
    from hipool.data.netlists.aiger import parse_aiger

    text = b"aag 3 2 0 3 1\n2\n4\n6\n7\n2\n6 2 4\ni0 x\ni1 y\no0 and\no2 x_again\nc\nnot read\n"
    sim = Simulator(parse_aiger(text, "t.aag", "t"))
    assert sim.inputs == ("x", "y") and sim.outputs == ("and", "!a0", "x_again")
    assert sim.run(sim.exhaustive_vectors()).tolist() == [[0, 1, 0], [0, 1, 1], [0, 1, 0], [1, 0, 1]]


@needs_circuits
@pytest.mark.parametrize("name", ["arithmetic/adder", "random_control/int2float"])
def test_aiger_and_blif_of_an_epfl_circuit_give_the_same_csv(name, tmp_path):
    """The two files of one EPFL design: same column names (the AIGER symbol table's) and values."""
    for ending in ("aig", "blif"):
        path = CIRCUITS / "epfl" / f"{name}.{ending}"
        if not path.is_file():
            pytest.skip(f"no {path.name}")
        assert main(["simulate", str(path), "--vectors", "200", "--seed", "3", "--out", str(tmp_path / ending)]) == 0
    assert (tmp_path / "aig").read_text() == (tmp_path / "blif").read_text()


REAL = [
    "iscas85/c432.bench",
    "iscas85/c6288.bench",
    "iscas89/s1196.bench",
    "iscas89/s953.bench",
    "epfl/random_control/ctrl.blif",
    "epfl/random_control/cavlc.aig",
    "epfl/random_control/int2float.blif",
]


@needs_circuits
@pytest.mark.parametrize("name", REAL)
def test_bit_parallel_equals_per_vector_python(name):
    if not (CIRCUITS / name).is_file():
        pytest.skip(f"no {name}")
    sim = read_simulator(CIRCUITS / name)
    vectors = sim.random_vectors(70 if sim.num_gates > 2000 else 150, seed=11)  # not a whole number of words
    assert (sim.run(vectors) == sim.run_slow(vectors)).all()


@needs_circuits
def test_blocks_of_words_give_the_same_outputs():
    sim = read_simulator(CIRCUITS / "iscas85" / "c432.bench")
    words = sim.random_words(64 * 10, seed=2)
    whole = sim.run_words(words)
    small = sim.run_words(words, block_bytes=1)  # one word per block
    assert (whole == small).all()


# -- vectors -------------------------------------------------------------------------------------
def test_packing_round_trips_and_vector_order():
    v = np.random.default_rng(0).integers(0, 2, size=(130, 5), dtype=np.uint8)
    w = pack(v)
    assert w.shape == (5, 3) and w.dtype == np.uint64
    assert (unpack(w, 130) == v).all()
    assert int(w[2, 1] >> np.uint64(3) & np.uint64(1)) == v[64 + 3, 2]  # vector v: bit v % 64 of word v // 64
    assert int(w[0, 2]) >> 2 == 0  # the unused tail is 0
    with pytest.raises(ValueError, match="0 and 1 only"):
        pack(np.array([[0, 2]]))


def test_exhaustive_numbering():
    for k in (1, 3, 6, 9):
        vectors = unpack(exhaustive_words(k), 1 << k)
        assert vectors.tolist() == [[v >> i & 1 for i in range(k)] for v in range(1 << k)]


def test_random_vectors_are_deterministic():
    assert (random_words(9, 1000, seed=3) == random_words(9, 1000, seed=3)).all()
    assert (random_words(9, 1000, seed=3) != random_words(9, 1000, seed=4)).any()
    sim = Simulator(parse_bench(C17, "c17.bench", "c17"))
    assert (sim.random_vectors(77, seed=5) == unpack(random_words(5, 77, seed=5), 77)).all()
    ones = sim.random_vectors(64000, seed=1).mean()
    assert 0.49 < ones < 0.51


def test_exhaustive_limit_and_the_random_fallback():
    names = tuple(f"i{k}" for k in range(MAX_EXHAUSTIVE_INPUTS + 1))
    nl = _netlist([Gate("y", "AND", [(x, False) for x in names], 2)], [("y", False)], names)
    sim = Simulator(nl)
    with pytest.raises(ValueError, match=r"t\.bench: 25 inputs are too many to simulate exhaustively.*at most 24"):
        sim.exhaustive_words()
    with pytest.raises(ValueError, match="too many"):
        Simulator(_truth_netlist()).exhaustive_words(limit=2)
    chosen = choose_vectors(len(names), num_random=100, seed=1)
    assert not chosen.exhaustive and chosen.num_vectors == 100
    assert chosen.note == "25 inputs: more than 16 for exhaustive simulation; 100 random vectors (seed 1)"
    small = choose_vectors(4, extra=np.ones((2, 4), dtype=np.uint8))
    assert small.exhaustive and small.num_vectors == 18 and small.note == "all 16 vectors of 4 inputs, and 2 given"
    assert unpack(small.words, 18)[16:].tolist() == [[1] * 4] * 2


def test_wrong_width_vectors_are_named():
    sim = Simulator(parse_bench(C17, "c17.bench", "c17"))
    with pytest.raises(ValueError, match=r"c17\.bench: vectors of width 3; expected 5 \(one column per input: 1, 2"):
        sim.run(np.zeros((4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="width 3; expected 5"):
        sim.run_slow(np.zeros((4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"expected uint64 \[5 inputs, words\]"):
        sim.run_words(np.zeros((4, 1), dtype=np.uint64))
    with pytest.raises(ValueError, match="extra vectors of width 2; expected 5"):
        choose_vectors(5, extra=np.zeros((1, 2)))


def test_vector_files(tmp_path):
    inputs = ("a", "b", "c")
    plain = tmp_path / "v.csv"
    plain.write_text("0,1,1\n\n1,0,0\n")
    assert read_vector_file(plain, inputs).tolist() == [[0, 1, 1], [1, 0, 0]]
    header = tmp_path / "h.csv"
    header.write_text("c,y,a,b\n1,0,0,1\n")  # any order; other columns ignored
    assert read_vector_file(header, inputs).tolist() == [[0, 1, 1]]
    bad = tmp_path / "bad.csv"
    bad.write_text("0,1,1\n0,1\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2: a row of 2 values; expected 3 \(one per input\); .* a, b, c"):
        read_vector_file(bad, inputs)
    bad.write_text("a,b\n0,1\n")
    with pytest.raises(ValueError, match=r"bad\.csv:1: the header names no column for input\(s\) c"):
        read_vector_file(bad, inputs)
    bad.write_text("0,1,2\n")  # a row with a 2 is a header naming none of the inputs
    with pytest.raises(ValueError, match="no column for input"):
        read_vector_file(bad, inputs)
    bad.write_text("a,b,c\n0,1,x\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2: value 'x' for input 'c' is not 0 or 1"):
        read_vector_file(bad, inputs)
    bad.write_text("\n")
    with pytest.raises(ValueError, match="no vectors"):
        read_vector_file(bad, inputs)
    with pytest.raises(ValueError, match="at most 1 are simulated"):
        read_vector_file(plain, inputs, max_rows=1)


# -- bad netlists --------------------------------------------------------------------------------
def test_a_combinational_loop_names_a_gate_on_it_and_its_line():
    text = "INPUT(a)\nOUTPUT(w)\nw = NOT(y)\ny = AND(a, z)\nz = NOT(y)\n"
    with pytest.raises(NetlistError) as e:
        Simulator(parse_bench(text, "loop.bench", "loop"))
    msg = str(e.value)
    assert re.match(r"loop\.bench:5: combinational loop through gate 'z' \(NOT\): 'z' -> 'y' -> 'z'", msg), msg
    assert "flip-flop" in msg
    # through a flip-flop the same loop is fine
    sim = Simulator(parse_bench(text.replace("z = NOT(y)", "z = DFF(y)"), "ff.bench", "ff"))
    assert sim.inputs == ("a", "z") and sim.outputs == ("w", "z.D")


def test_bad_netlists_are_refused_with_file_and_line():
    cases = [
        (Gate("y", "FOO", [("a", False)], 4), "t.bench:4: gate 'y' has kind 'FOO', which the simulator does not know"),
        (Gate("y", "AND", [("nope", False)], 5), "t.bench:5: gate 'y' reads signal 'nope', which nothing drives"),
        (Gate("a", "NOT", [("b", False)], 6), "t.bench:6: signal 'a' is driven twice (first on line 1)"),
        (Gate("y", "MUX", [("a", False)], 7), "t.bench:7: gate 'y' (MUX) has 1 inputs; MUX takes 3"),
    ]
    for gate, message in cases:
        with pytest.raises(NetlistError) as e:
            Simulator(_netlist([gate], []))
        assert str(e.value) == message
    with pytest.raises(NetlistError, match=r"t\.bench:9: output 'ghost' names a signal that nothing drives"):
        Simulator(_netlist([], [("ghost", False)]))


# -- comparing functions ---------------------------------------------------------------------------
def test_compare_functions_finds_a_changed_gate_and_where():
    original = parse_bench(C17, "c17.bench", "c17")
    assert compare_functions(original, Simulator(original)).equal
    mutated = parse_bench(C17.replace("16 = NAND(2, 11)", "16 = AND(2, 11)"), "c17m.bench", "c17m")
    c = compare_functions(original, mutated)
    assert not c.equal and c.exhaustive and c.num_vectors == 32 and c.note == "all 32 vectors of 5 inputs"
    assert set(c.differing) == {"22", "23"} and c.num_differing_vectors > 0
    w = np.array([[c.witness[x] for x in ("1", "2", "3", "6", "7")]], dtype=np.uint8)
    assert c.first_vector == int(sum(int(b) << i for i, b in enumerate(w[0])))
    assert (Simulator(original).run(w) != Simulator(mutated).run(w)).any()
    # a redundant change: a double inversion on a pin keeps the function
    same = parse_bench(C17.replace("10 = NAND(1, 3)", "t = NOT(1)\nu = NOT(t)\n10 = NAND(u, 3)"), "r.bench", "r")
    assert compare_functions(original, same).equal


def test_compare_functions_matches_names_and_refuses_different_ones():
    a = _netlist(
        [Gate("x", "AND", [("a", False), ("b", False)], 2), Gate("y", "OR", [("b", False), ("c", False)], 3)], []
    )
    a.outputs = [("x", False, 9), ("y", False, 9)]
    x, y = a.gates[3:]
    b = GateNetlist("u", "u.bench", [Gate(n, "INPUT", line=1) for n in ("c", "b", "a")] + [y, x])
    b.outputs = [("y", False, 9), ("x", False, 9)]
    assert compare_functions(a, b).equal  # the same names in another order
    b.outputs = [("y", False, 9)]
    with pytest.raises(ValueError, match=r"different outputs: only t\.bench has x"):
        compare_functions(a, b)
    b = GateNetlist("u", "u.bench", [Gate(n, "INPUT", line=1) for n in ("d", "b", "a")] + [x], a.outputs[:1])
    with pytest.raises(ValueError, match=r"different inputs: only t\.bench has c; only u\.bench has d"):
        compare_functions(a, b)


@needs_circuits
def test_compare_functions_falls_back_to_random_vectors_and_takes_extra_ones():
    nl = read_netlist(CIRCUITS / "iscas85" / "c432.bench")
    extra = np.zeros((3, 36), dtype=np.uint8)
    c = compare_functions(nl, nl, num_random=500, seed=4, extra=extra)
    assert c.equal and not c.exhaustive and c.num_vectors == 503
    assert c.note == "36 inputs: more than 16 for exhaustive simulation; 500 random vectors (seed 4), and 3 given"


# -- hipool simulate ---------------------------------------------------------------------------------
def _csv(path: Path) -> List[List[str]]:
    return [line.split(",") for line in path.read_text().splitlines()]


def test_cli_exhaustive_c17(tmp_path, capsys):
    src = tmp_path / "c17.bench"
    src.write_text(C17)
    out = tmp_path / "out" / "c17.csv"
    assert main(["simulate", str(src), "--exhaustive", "--out", str(out), "--no-progress"]) == 0
    rows = _csv(out)
    assert rows[0] == ["1", "2", "3", "6", "7", "22", "23"] and len(rows) == 33
    assert rows[1] == ["0"] * 7  # vector 0
    assert rows[32] == ["1"] * 5 + ["1", "0"]  # vector 31: 22 = x1 x3 = 1, 23 = ~(x3 x6) (..) = 0
    for row in rows[1:]:
        v = [int(x) for x in row]
        assert tuple(v[5:]) == _c17_by_hand(*v[:5])
    assert "5 inputs and 2 outputs" in capsys.readouterr().out
    assert not [p for p in out.parent.iterdir() if p.name != "c17.csv"]  # no temporary file left


def test_cli_random_vectors_are_deterministic_and_feed_back(tmp_path):
    src = tmp_path / "s27.bench"
    src.write_text(S27)
    one, two, other = tmp_path / "1.csv", tmp_path / "2.csv", tmp_path / "3.csv"
    assert main(["simulate", str(src), "--vectors", "100", "--seed", "3", "--out", str(one)]) == 0
    assert main(["simulate", str(src), "--vectors", "100", "--seed", "3", "--out", str(two)]) == 0
    assert main(["simulate", str(src), "--vectors", "100", "--seed", "4", "--out", str(other)]) == 0
    assert one.read_bytes() == two.read_bytes() != other.read_bytes()
    rows = _csv(one)
    assert rows[0] == ["G0", "G1", "G2", "G3", "G5", "G6", "G7", "G17", "G5.D", "G6.D", "G7.D"]
    assert len(rows) == 101
    for row in rows[1:]:
        v = [int(x) for x in row]
        assert tuple(v[7:]) == _s27_by_hand(*v[:7])
    again = tmp_path / "again.csv"
    assert main(["simulate", str(src), "--inputs", str(one), "--out", str(again)]) == 0  # its own CSV as vectors
    assert again.read_bytes() == one.read_bytes()


def test_cli_bad_input_is_exit_2_with_a_clear_message(tmp_path, capsys):
    src = tmp_path / "c17.bench"
    src.write_text(C17)
    out = str(tmp_path / "o.csv")
    wide = tmp_path / "wide.bench"
    wide.write_text("".join(f"INPUT(i{k})\n" for k in range(21)) + "OUTPUT(y)\ny = AND(i0, i20)\n")
    loop = tmp_path / "loop.bench"
    loop.write_text("INPUT(a)\nOUTPUT(y)\ny = AND(a, z)\nz = NOT(y)\n")
    vectors = tmp_path / "v.csv"
    vectors.write_text("0,1,0,1\n")
    analog = tmp_path / "amp.sp"
    analog.write_text("M1 d g s b nmos\n.end\n")
    cases = [
        ([str(wide), "--exhaustive"], r"21 inputs .* 2\^21 vectors, more than the 1,048,576 rows .* --vectors N"),
        ([str(loop)], r"loop\.bench:4: combinational loop through gate 'z'"),
        ([str(src), "--inputs", str(vectors)], r"v\.csv:1: a row of 4 values; expected 5 \(one per input\)"),
        ([str(tmp_path / "none.bench")], r"none\.bench: cannot read it"),
        ([str(analog)], r"amp\.sp: not a gate-level netlist"),
        ([str(src), "--vectors", str((1 << 20) + 1)], r"--vectors must be from 1 to 1,048,576"),
    ]
    for args, message in cases:
        assert main(["simulate", *args, "--out", out, "--no-progress"]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("hipool simulate: error: ") and re.search(message, err), err
    assert not Path(out).exists()
    with pytest.raises(SystemExit) as e:  # one way of choosing vectors at a time
        main(["simulate", str(src), "--exhaustive", "--vectors", "4", "--out", out])
    assert e.value.code == 2
