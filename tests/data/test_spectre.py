"""The Spectre reader: statements, masters, values, hierarchy, includes, language switches,
errors, AnalogGenie's real netlists and a fuzz of token soups."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipool.data.netlists.analog import device_counts, to_data
from hipool.data.netlists.gates import NetlistError
from hipool.data.netlists.spectre import parse_spectre, read_spectre

ANALOGGENIE = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "spice" / "analoggenie" / "Dataset"


def _write(folder: Path, text: str, name: str = "top.scs") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _read(tmp_path: Path, text: str, **kwargs):
    return read_spectre(_write(tmp_path, text), **kwargs)


def _devices(netlist):
    return {d.name: d for d in netlist.devices}


def _error(tmp_path: Path, text: str, pattern: str, name: str = "top.scs") -> None:
    path = _write(tmp_path, text, name)
    with pytest.raises(NetlistError, match=pattern) as info:
        read_spectre(path)
    assert str(info.value).startswith(str(path)) or str(info.value).startswith(str(tmp_path)), str(info.value)


AMPLIFIER = """\
// a Spectre netlist
simulator lang=spectre
global 0 vdd!
parameters wn=2u
model nch bsim4 type=n
model pch bsim4 type=p
model q1 bjt type=pnp
subckt inv (a y vdd vss)
    parameters wp=4u
    MP (y a vdd vdd) pch w=wp l=1u
    MN (y a vss vss) nch w=wn l=1u
ends inv
I1 (in out vdd! 0) inv wp=6u
I2 in out2 vdd! 0 inv
R0 (out 0) resistor r=2M
R1 (out 0) resistor r=2m
C0 (out 0) capacitor c=1p
Q0 (a b c) q1 area=2
K1 mutual_inductor ind1=L1 ind2=L2 coupling=0.9
L1 (a 0) inductor l=1n
L2 (b 0) inductor l=1n
V0 (vdd! 0) vsource dc=1.8 type=dc
I0 (vdd! x) isource dc=1u
F0 (x 0) cccs gain=2 probe=V0
H0 (y 0) ccvs rm=1k probe=V0
G0 (x 0 a b) vccs gm=1m
E0 (x 0 a b) vcvs gain=10
D0 (a 0) diode area=3
M9 (a b c d) nmos4 w=wx l=1u
tran1 tran stop=1u
dcOp dc write="spectre.dc" maxiters=150
simulatorOptions options reltol=1e-3 temp=27
save out in
ic out=0
"""


def test_devices_kinds_nets_roles_and_values(tmp_path):
    netlist = _read(tmp_path, AMPLIFIER)
    d = _devices(netlist)
    assert list(d) == [
        "I1/MP", "I1/MN", "I2/MP", "I2/MN", "R0", "R1", "C0", "Q0", "K1", "L1", "L2", "V0", "I0",
        "F0", "H0", "G0", "E0", "D0", "M9",
    ]  # fmt: skip
    assert d["I1/MP"].kind == "PMOS" and d["I1/MN"].kind == "NMOS"
    assert d["I1/MP"].nets == ["out", "in", "vdd!", "vdd!"]  # ports bound, the global stays global
    assert d["I1/MP"].roles == ("drain", "gate", "source", "bulk")
    assert d["I1/MP"].value == pytest.approx(6.0)  # the instance overrides wp=4u: W/L = 6u/1u
    assert d["I2/MP"].value == pytest.approx(4.0)  # the default
    assert d["I1/MN"].value == pytest.approx(2.0)  # the top-level parameter wn
    assert d["R0"].value == pytest.approx(2e6)  # Spectre: M is mega
    assert d["R1"].value == pytest.approx(2e-3)  # and m milli
    assert d["C0"].value == pytest.approx(1e-12)
    assert (d["Q0"].kind, d["Q0"].roles, d["Q0"].value) == ("PNP", ("collector", "base", "emitter"), 2.0)
    assert (d["K1"].kind, d["K1"].nets, d["K1"].links, d["K1"].value) == ("K", [], ["L1", "L2"], 0.9)
    assert d["L1"].value == pytest.approx(1e-9)
    assert (d["V0"].kind, d["V0"].roles, d["V0"].value) == ("V", ("pos", "neg"), 1.8)
    assert (d["I0"].kind, d["I0"].value) == ("I", pytest.approx(1e-6))
    assert (d["F0"].kind, d["F0"].links, d["F0"].value) == ("F", ["V0"], 2.0)
    assert (d["H0"].kind, d["H0"].links, d["H0"].value) == ("H", ["V0"], 1000.0)
    assert (d["G0"].kind, d["G0"].roles, d["G0"].value) == ("G", ("out_pos", "out_neg", "ctrl_pos", "ctrl_neg"), 1e-3)
    assert (d["E0"].kind, d["E0"].value) == ("E", 10.0)
    assert (d["D0"].kind, d["D0"].roles, d["D0"].value) == ("D", ("pos", "neg"), 3.0)
    # an undefined parameter: the value is unknown, not an error; nmos4 is an NMOS by its name
    assert (d["M9"].kind, d["M9"].value, d["M9"].unknown) == ("NMOS", None, True)
    assert d["I1/MP"].where == f"{tmp_path / 'top.scs'}:10"
    design = parse_spectre(tmp_path / "top.scs")
    assert design.dialect == "spectre" and design.name == "top" and design.source == str(tmp_path / "top.scs")
    assert design.models == {"nch": "nmos", "pch": "pmos", "q1": "pnp"}
    assert design.params == [("wn", "2u")] and design.globals == {"0", "vdd!"}
    assert design.subckts["inv"].params == {"wp": "4u"}
    data = to_data(netlist)  # the links resolve, the graph builds
    assert data.num_nodes == len(netlist.devices) + len({n for dev in netlist.devices for n in dev.nets})


def test_names_are_case_sensitive(tmp_path):
    netlist = _read(tmp_path, "R1 (A a) resistor r=1k\nr1 (a B) resistor r=1K\nsubckt S x\nR0 (x 0) resistor\nends S\n"
                    "X0 (A) S\n")  # fmt: skip
    d = _devices(netlist)
    assert set(d) == {"R1", "r1", "X0/R0"} and d["R1"].nets == ["A", "a"] and d["r1"].value == 1e3
    _error(
        tmp_path, "X0 (a) s\nsubckt S x\nR0 (x 0) resistor\nends S\n", r"top.scs:1: instance X0 of master 's', which"
    )


def test_forms_of_instances_and_values(tmp_path):
    text = (
        "R1 a b resistor r=1k\n"  # no parentheses: the nets are the tokens before the master
        "R2 (a b) resistor r = 2k\n"  # blanks around '='
        "parameters x=1k y=2k\n"
        "R3 (a b) resistor r=(x + y)\n"  # a parenthesised value with blanks
        "R4 (a b) resistor r=x + y\n"  # a value continued by the tokens after it
        "V1 (a 0) vsource type=pwl wave=[0 0 1n 1.8] dc=1\n"
        'V2 (b 0) vsource file="in put.txt" dc=2\n'
        "C1 (a b) capacitor\n"  # no value
    )
    d = _devices(_read(tmp_path, text))
    assert d["R1"].nets == ["a", "b"] and d["R1"].value == 1e3
    assert d["R2"].value == 2e3 and d["R3"].value == 3e3 and d["R4"].value == 3e3
    assert d["V1"].value == 1.0 and d["V2"].value == 2.0
    assert (d["C1"].value, d["C1"].unknown) == (None, False)


def test_comments_continuations_and_line_endings(tmp_path):
    text = (
        "// header\r\n"
        "* a star comment\r\n"
        "   * an indented one\r\n"
        "\r\n"
        'R1 (a b) resistor r=1k // inline "quoted"\r\n'
        "M1 (d g \\\r\n"
        "    s b) nmos4 w=2u \\\r\n"
        "    l=1u\r\n"
        "\tR2\t(a\tb)\tresistor\tr=2k\r\n"
        'V1 (a 0) vsource file="a//b" dc=3 // the // in the string is not a comment\r\n'
        "R3 (b 0) resistor r=4k"  # no newline at the end
    )
    netlist = _read(tmp_path, text)
    d = _devices(netlist)
    assert list(d) == ["R1", "M1", "R2", "V1", "R3"]
    assert d["M1"].nets == ["d", "g", "s", "b"] and d["M1"].value == pytest.approx(2.0)
    assert d["M1"].where.endswith("top.scs:6")  # the line the statement starts on
    assert d["R2"].value == 2e3 and d["V1"].value == 3.0 and d["R3"].where.endswith(":11")
    assert [d.name for d in _read(tmp_path, "\ufeffR0 (a 0) resistor\n").devices] == ["R0"]  # a byte-order mark


def test_subcircuits_parameters_and_hierarchy(tmp_path):
    text = """\
subckt cell (a b)
  parameters r0=1k scale=2
  R0 (a mid) resistor r=r0*scale
  R1 (mid b) resistor r=r0
ends cell
subckt pair a b
  parameters rr=5k
  XA (a m) cell r0=rr
  XB (m b) cell
ends pair
P1 (in out) pair
P2 (in out) pair rr=7k
Q1 (out 0 in) later           // defined below
inline subckt later (c b e)
  parameters area=1
  Q0 (c b e) npn area=area
ends later
"""
    netlist = _read(tmp_path, text)
    d = _devices(netlist)
    assert d["P1/XA/R0"].value == pytest.approx(10e3) and d["P1/XA/R1"].value == pytest.approx(5e3)
    assert d["P1/XB/R0"].value == pytest.approx(2e3)
    assert d["P2/XA/R1"].value == pytest.approx(7e3)
    assert d["P1/XA/R0"].nets == ["in", "P1/XA/mid"] and d["P1/XA/R1"].nets == ["P1/XA/mid", "P1/m"]
    assert d["Q1/Q0"].kind == "NPN" and d["Q1/Q0"].value == 1.0
    assert netlist.nets["P1/XA/mid"] == ("P1", "XA") and netlist.nets["P1/m"] == ("P1",)
    data = to_data(netlist)
    assert data.level_labels.shape == (data.num_nodes, 2)
    names = data.instance_paths
    assert names[1] == ["P1", "P2"]  # the top's instances: the last column (Q1 is inline: no level)
    assert netlist.devices[list(netlist.devices).index(d["Q1/Q0"])].instance == ()
    assert "P1/XA" in names[0] and "P2/XB" in names[0]
    row = list(netlist.devices).index(d["P1/XA/R0"])
    assert names[0][data.level_labels[row, 0]] == "P1/XA" and names[1][data.level_labels[row, 1]] == "P1"


def test_an_inline_subckt_adds_no_level_and_its_namesake_takes_the_instance_name(tmp_path):
    text = (
        "inline subckt nch (d g s b)\n  parameters w=1u l=1u\n  nch (d g s b) nmos4 w=w l=l\n"
        "  rd (d dx) resistor r=10\nends nch\nsubckt amp (i o)\n  M1 (o i 0 0) nch w=4u\nends amp\nX1 (in out) amp\n"
    )
    netlist = _read(tmp_path, text)
    d = _devices(netlist)
    assert sorted(d) == ["X1/M1", "X1/M1/rd"]
    assert d["X1/M1"].kind == "NMOS" and d["X1/M1"].value == pytest.approx(4.0)
    assert d["X1/M1"].instance == ("X1",) and d["X1/M1/rd"].instance == ("X1",)
    assert to_data(netlist).instance_paths == [["X1"]]


def test_nested_definitions_and_a_top_cell(tmp_path):
    text = "subckt outer (a b)\n  subckt inner (x y)\n    R0 (x y) resistor r=1\n  ends inner\n  I0 (a b) inner\nends outer\n"
    netlist = _read(tmp_path, text)  # no top-level instance: the one cell nothing instantiates is the design
    assert [d.name for d in netlist.devices] == ["I0/R0"] and netlist.ports == {"a", "b"}


def test_globals(tmp_path):
    sub = "subckt buf (a)\n  R0 (a vdd!) resistor\n  R1 (a gnd) resistor\nends buf\nX1 (n) buf\nX2 (n) buf\n"
    d = _devices(_read(tmp_path, "global 0 vdd!\n" + sub))
    assert d["X1/R0"].nets == ["n", "vdd!"] and d["X2/R0"].nets == ["n", "vdd!"]
    assert d["X1/R1"].nets == ["n", "X1/gnd"]
    d = _devices(_read(tmp_path, sub))  # not declared: Spectre's '!' means nothing
    assert d["X1/R0"].nets == ["n", "X1/vdd!"]


def test_ports_argument_marks_nets(tmp_path):
    netlist = _read(tmp_path, "R0 (VDD net4) resistor\nR1 (net4 VSS) resistor\n", ports=["VDD", "VSS"])
    assert netlist.ports == {"VDD", "VSS"}
    data = to_data(netlist)
    from hipool.data.netlists.analog import ANALOG_FEATURE_NAMES

    col = ANALOG_FEATURE_NAMES.index("is_port")
    assert data.x[:, col].tolist() == [0, 0, 1, 0, 1]  # R0 R1 VDD net4 VSS


def test_models_and_masters(tmp_path):
    text = """\
model nch bsim4 type=n
model pfet1 bsim3v3 type=p
model mystery bsim4
model ptype psp103 type=p
model qp vbic type=pnp
model jn jfet type=n
model d1 diode is=1e-14
model rpoly resistor rsh=100
model bins bsim4 {
  1: type=p lmin=1u lmax=2u
  2: type=p lmin=2u lmax=4u
}
model bins2 bsim4
{
  1: type=p
}
M0 (d g s b) nch
M1 (d g s b) pfet1
M2 (d g s b) mystery
M3 (d g s b) ptype
M4 (d g s b) bins
M5 (d g s b) bins2
Q0 (c b e) qp
J0 (d g s) jn
D0 (a k) d1 area=2
R0 (a b) rpoly r=10
Q1 (c b e s) npn
Q2 (c b e) pnp
Q3 (c b e) bjt
M6 (d g s b) pmos4
M7 (d g s) nch_lvt
M8 (d g s b) bsim4
R1 (a b) res_poly
C1 (a b) cap_mim c=2f
L1 (a b) ind_spiral
D1 (a b) dio_esd
"""
    d = _devices(_read(tmp_path, text))
    kinds = {name: dev.kind for name, dev in d.items()}
    assert kinds == {
        "M0": "NMOS", "M1": "PMOS", "M2": "MOS", "M3": "PMOS", "M4": "PMOS", "M5": "PMOS", "Q0": "PNP",
        "J0": "NJF", "D0": "D", "R0": "R", "Q1": "NPN", "Q2": "PNP", "Q3": "BJT", "M6": "PMOS", "M7": "NMOS",
        "M8": "MOS", "R1": "R", "C1": "C", "L1": "L", "D1": "D",
    }  # fmt: skip
    assert d["D0"].value == 2.0 and d["R0"].value == 10.0 and d["C1"].value == pytest.approx(2e-15)
    design = parse_spectre(tmp_path / "top.scs")
    assert design.models["mystery"] == "bsim4" and design.models["d1"] == "d" and design.models["bins"] == "pmos"


def test_other_primitives(tmp_path):
    text = """\
V0 (a 0) vsource dc=1
P0 (a 0) port r=50 num=1
B0 (a 0) bsource i=v(a)*2
S0 (a b) switch
S1 (a b c d) relay
T0 (a 0 b 0) tline z0=50
E1 (o 0 a b) pvcvs coeffs=[0 1]
IPRB0 (a b) iprobe
"""
    kinds = {d.name: d.kind for d in _read(tmp_path, text).devices}
    assert kinds == {
        "V0": "V",
        "P0": "V",
        "B0": "B",
        "S0": "SWITCH",
        "S1": "SWITCH",
        "T0": "LINE",
        "E1": "E",
        "IPRB0": "V",
    }


def test_analyses_and_control_blocks_are_skipped(tmp_path):
    text = """\
R0 (a 0) resistor r=1
tran1 tran stop=1u
ac1 ac start=1 stop=1G dec=10
noise1 (a 0) noise start=1 stop=1M
sweep1 sweep param=temp values=[0 27 85] {
  tranS tran stop=1n
}
statistics {
  process {
    vary r0 dist=gauss std=0.1
  }
  mismatch { vary r1 dist=lnorm std=0.1 }
}
mc1 montecarlo numruns=10 seed=1 {
  dc1 dc
}
real double_it(real x) {
  return 2*x
}
subckt tran (p n)
  R9 (p n) resistor r=9
ends tran
Z0 (a 0) tran
"""
    d = _devices(_read(tmp_path, text))
    assert list(d) == ["R0", "Z0/R9"]  # an analysis type defined as a subcircuit is a subcircuit


def test_if_reads_the_first_branch(tmp_path):
    text = """\
subckt dev (d g s b)
  parameters l=1u
  if (l < 2u) {
    M0 (d g s b) nch_a w=1u l=l
  } else if (l < 4u) {
    M0 (d g s b) nch_b w=1u l=l
  } else {
    M0 (d g s b) nch_c w=1u l=l
  }
  if (l > 1u)
  {
    R0 (d s) resistor r=1
  }
  else
  {
    R0 (d s) resistor r=2
  }
ends dev
X0 (d g s b) dev
"""
    d = _devices(_read(tmp_path, text))
    assert list(d) == ["X0/M0", "X0/R0"] and d["X0/R0"].value == 1.0


def test_includes_sections_and_libraries(tmp_path):
    _write(tmp_path, "model nch bsim4 type=n\nsubckt inc (a)\n  R0 (a 0) resistor r=5\nends inc\n", "sub/models.scs")
    _write(tmp_path, 'include "../lib.scs" section=tt\n', "sub/more.scs")
    _write(
        tmp_path,
        "library mylib\nsection ff\n  parameters corner=1\nendsection ff\n"
        'section tt\n  parameters corner=2\n  include "lib.scs" section=common\nendsection tt\n'
        "section common\n  model pch bsim4 type=p\nendsection common\nendlibrary mylib\n",
        "lib.scs",
    )
    top = _write(tmp_path, 'include "sub/models.scs"\n#include "sub/more.scs"\nM0 (d g s b) nch\nM1 (d g s b) pch\n'
                 "I0 (x) inc\nR1 (x 0) resistor r=corner\n")  # fmt: skip
    netlist = read_spectre(top)
    d = _devices(netlist)
    assert (d["M0"].kind, d["M1"].kind, d["I0/R0"].value, d["R1"].value) == ("NMOS", "PMOS", 5.0, 2.0)
    assert d["I0/R0"].where == f"{tmp_path / 'sub' / 'models.scs'}:3"
    # a library file read whole skips its sections
    d = _devices(_read(tmp_path, 'include "lib.scs"\nR1 (x 0) resistor r=corner\n'))
    assert d["R1"].unknown
    _error(tmp_path, 'include "lib.scs" section=ss\n', r"top.scs:1: include 'lib.scs': the file has no section 'ss'")


def test_include_errors(tmp_path):
    (tmp_path / "d").mkdir()
    _write(tmp_path.parent, "R0 (a 0) resistor\n", "outside.scs")
    _error(tmp_path, 'R0 (a 0) resistor\ninclude "missing.scs"\n', r"top.scs:2: include 'missing.scs': no such file")
    _error(
        tmp_path,
        'include "../outside.scs"\n',
        r"top.scs:1: include '../outside.scs' is .*, outside the design's folder",
    )
    _error(tmp_path, 'include "/etc/hostname"\n', r"outside the design's folder")
    (tmp_path / "link.scs").symlink_to(tmp_path.parent / "outside.scs")
    _error(tmp_path, 'include "link.scs"\n', r"outside the design's folder")
    _write(tmp_path, 'include "b.scs"\n', "a.scs")
    _write(tmp_path, 'R0 (a 0) resistor\ninclude "a.scs"\n', "b.scs")
    _error(tmp_path, 'include "a.scs"\n', r"b.scs:2: include loop: .*top.scs -> .*a.scs -> .*b.scs -> .*a.scs")
    _error(tmp_path, 'include "d"\n', r"top.scs:1: include 'd': no such file")
    _error(tmp_path, "include\n", r"top.scs:1: include names no file")
    _write(tmp_path, b"R0 (a 0) resistor\n\x00\x01".decode("latin-1"), "bin.scs")
    _error(tmp_path, 'include "bin.scs"\n', r"bin.scs:2: a NUL byte")
    # deep chains: a file including the next, 60 deep
    for k in range(60):
        _write(tmp_path, f'include "c{k + 1}.scs"\n', f"c{k}.scs")
    _write(tmp_path, "R0 (a 0) resistor\n", "c60.scs")
    _error(tmp_path, 'include "c0.scs"\n', r"includes nest deeper than 50")


def test_ahdl_include_is_not_opened(tmp_path):
    _error(
        tmp_path,
        'ahdl_include "missing.va"\nA0 (a b) vamodule\n',
        r"instance A0 of master 'vamodule', which is neither",
    )


def test_simulator_lang_spice_sections(tmp_path):
    text = """\
simulator lang=spectre
R0 (a b) resistor r=1M
simulator lang=spice
* a SPICE comment
.subckt Amp in out
R1 in out 1meg
M1 out in 0 0 NCH W=2u L=1u
.ends Amp
.model NCH nmos
.model QN pnp
.param pw=2u
simulator lang=spectre
X1 (a b) Amp
Q1 (a b c) QN
M2 (a b c d) NCH w=pw l=1u
simulator lang=spice
R5 a b 2M
"""
    netlist = _read(tmp_path, text)
    d = _devices(netlist)
    assert list(d) == ["R0", "X1/R1", "X1/M1", "Q1", "M2", "R5"]
    assert d["R0"].value == pytest.approx(1e6)  # Spectre's M
    assert d["X1/R1"].value == pytest.approx(1e6)  # SPICE's meg, kept in the Spectre design
    assert d["R5"].value == pytest.approx(2e-3)  # SPICE's M is milli
    assert (d["X1/M1"].kind, d["X1/M1"].value) == ("NMOS", pytest.approx(2.0))  # W= read as w
    assert d["Q1"].kind == "PNP" and d["M2"].value == pytest.approx(2.0)
    assert d["X1/M1"].where.endswith("top.scs:7") and d["R5"].where.endswith("top.scs:17")


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("subckt a (x)\nR0 (x 0) resistor\n", r":1: subckt 'a' has no ends"),
        ("R0 (x 0) resistor\nends\n", r":2: ends without a subckt"),
        ("subckt a (x)\nR0 (x 0) resistor\nends b\n", r":3: ends 'b' closes subckt 'a'"),
        ("subckt a (x\nends a\n", r":1: subckt 'a': unbalanced parenthesis"),
        ("R0 (a b resistor\n", r":1: instance R0: unbalanced parenthesis: '\(' is never closed"),
        ("R0 a b) resistor\n", r":1: instance R0: unbalanced parenthesis"),
        ("R0 (a b) resistor r=(1k\n", r":1: unbalanced parenthesis"),
        ("R0 (a (b)) resistor\n", r":1: instance R0: '\(' among its nets"),
        ("R0 (a b)\n", r":1: instance R0 has no master after its nets"),
        ("R0\n", r":1: instance R0 has no master"),
        ("R0 (a b) resistor r=\n", r":1: instance R0: parameter 'r' has no value"),
        ("R0 (a b) foo\n", r":1: instance R0 of master 'foo', which is neither a primitive, a model nor a subcircuit"),
        ("R0 (a b c d e f) resistive\n", r"instance R0 of master 'resistive', which is neither"),  # too many pins for R
        ("model m1 verilogmod\nR0 (a b) m1\n", r":2: instance R0 of model 'm1', whose type 'verilogmod'"),
        ("model m1 bsim4\nmodel m1 bsim4\n", r":2: model 'm1' is defined twice \(first at .*:1\)"),
        ("model m1\n", r":1: model takes a name and a device type"),
        ("subckt a x\nends\nsubckt a y\nends\n", r":3: subckt 'a' is defined twice"),
        ("R0 (a 0) resistor\n}\n", r":2: '}' without a '{'"),
        ("statistics {\n vary x\n", r":1: this '{' is never closed"),
        ("R0 (a 0) resistor\nelse {\n}\n", r":2: 'else' without an if block"),
        ("subckt a x\nsimulator lang=spice\nR1 x 0 1k\n", r":2: simulator lang=spice inside subckt 'a'"),
        ("simulator lang=verilog\n", r":1: simulator lang='verilog'"),
        ("#define X 1\n", r":1: '#define': hipool does not read Spectre's preprocessor"),
        ("section tt\nR0 (a 0) resistor\n", r":1: section 'tt' has no endsection"),
        ("endsection\n", r":1: endsection without a section"),
        ('R0 (a 0) resistor r="1k\n', r":1: a quote that is never closed"),
        (".subckt amp a b\n", r":1: '.subckt' is a SPICE card in Spectre text \(simulator lang=spice missing\?\)"),
        ("x=1\n", r":1: 'x'=...: a parameter where a statement belongs"),
        ("(a b) resistor\n", r":1: a statement starts with '\('"),
        (
            "X0 (a) sub\nsubckt sub (p q)\nends sub\n",
            r":1: instance 'X0' connects 1 nets, but subcircuit 'sub' has 2 ports",
        ),
        ("M0 (a b) nmos4\n", r"instance M0 of master 'nmos4', which is neither"),  # 2 pins: not a MOS
        ("R0 (a b c d) resistor\n", r":1: element 'R0' \(R\) has 4 nets; it takes 2 to 3"),
        ("F0 (a b) cccs gain=2\n", r":1: element 'F0' \(F\) names 0 devices; it needs 1"),
        ("", r"no devices and no subcircuits"),
        ("tran1 tran stop=1u\n", r"no devices and no subcircuits"),
    ],
)
def test_errors(tmp_path, text, pattern):
    _error(tmp_path, text, pattern)


def test_binary_and_non_utf8_files(tmp_path):
    path = tmp_path / "x.scs"
    path.write_bytes(b"R0 (a 0) resistor\n\x00\x01\x02")
    with pytest.raises(NetlistError, match=r"x.scs:2: a NUL byte"):
        read_spectre(path)
    path.write_bytes(b"R0 (a 0) resistor\n\xff\xfe")
    with pytest.raises(NetlistError, match=r"x.scs:2: not UTF-8"):
        read_spectre(path)
    path.write_bytes(zlib.compress(b"R0 (a 0) resistor\n" * 100))
    with pytest.raises(NetlistError):
        read_spectre(path)
    with pytest.raises(NetlistError, match=r"missing.scs"):
        read_spectre(tmp_path / "missing.scs")
    with pytest.raises(NetlistError):
        read_spectre(tmp_path)


# -- AnalogGenie's Spectre netlists -------------------------------------------------------------
def _analoggenie():
    if not ANALOGGENIE.is_dir():
        pytest.skip("AnalogGenie is not in ../shared/datasets/spice/analoggenie")
    return sorted(ANALOGGENIE.glob("*/*.cir")), sorted(ANALOGGENIE.glob("*/*_full.*"))


def test_analoggenie_all_files():
    """Every ``_full`` variant reads; a plain ``.cir`` reads, or instantiates a cell that only
    its ``_full`` variant defines (and then fails with the unknown-master error, nothing else)."""
    files, full = _analoggenie()
    plain = [f for f in files if f not in full]
    undefined = re.compile(
        r"\.cir:\d+: instance \w+ of master '(\w+)', which is neither a primitive, a model nor a subcircuit"
    )
    read, failed, cells = 0, [], set()
    for f in plain:
        try:
            read_spectre(f)
            read += 1
        except NetlistError as e:
            m = undefined.search(str(e))
            assert m is not None, str(e)
            failed.append(f)
            cells.add(m.group(1))
    for f in full:  # 32 _full.cir and one _full.txt
        netlist = read_spectre(f)
        assert netlist.devices and any(d.instance for d in netlist.devices) == ("subckt" in f.read_text())
    assert (len(plain), read, len(failed), len(full)) == (4120, 4087, 33, 33)
    assert cells == {"INVERTER", "PFD", "TRANSMISSION_GATE", "XOR"}  # the first undefined cell of each file
    # the plain files that fail are exactly those with a _full variant defining their cells
    assert {f.parent.name for f in failed} == {f.parent.name for f in full}


def test_analoggenie_one_file_exactly():
    _analoggenie()
    folder = ANALOGGENIE / "100"
    ports = (folder / "Port100.txt").read_text().split()
    netlist = read_spectre(folder / "100.cir", ports=ports)
    assert [(d.name, d.kind, d.nets) for d in netlist.devices] == [
        ("M0", "NMOS", ["IOUT1", "net4", "VSS", "VSS"]),
        ("R0", "R", ["VDD", "net4"]),
        ("R1", "R", ["net4", "VSS"]),
    ]
    assert netlist.ports == {"VDD", "VSS", "IOUT1"}
    full = read_spectre(ANALOGGENIE / "1000" / "1000_full.cir")
    counts = device_counts(full)
    # 8 transistors and 2 capacitors at the top, 6 transmission gates of 2 transistors and an inverter (2)
    assert counts == {"PMOS": 4 + 6 * 2, "NMOS": 4 + 6 * 2, "C": 2}
    data = to_data(full)
    assert data.level_labels.shape[1] == 2 and data.instance_paths[1] == ["I5", "I4", "I6", "I2", "I1", "I0"]
    assert "I5/I0" in data.instance_paths[0]
    with pytest.raises(NetlistError, match=r"1000.cir:11: instance I5 of master 'TRANSMISSION_GATE'"):
        read_spectre(ANALOGGENIE / "1000" / "1000.cir")


# -- fuzz ---------------------------------------------------------------------------------------
_VOCABULARY = [
    "R0", "M1", "I2", "X3", "(", ")", "(a", "b)", "a", "b", "0", "vdd!", "resistor", "capacitor", "nmos4",
    "pmos4", "npn", "pnp", "diode", "inductor", "mutual_inductor", "vsource", "cccs", "inv", "nch", "foo",
    "r=1k", "c=1p", "w=2u", "l=1u", "r=", "=", "w=(a + b)", "wave=[0 1]", "dc=1", "probe=V0", "ind1=L1",
    "subckt", "ends", "inline", "model", "bsim4", "type=n", "type=p", "parameters", "global", "include",
    '"x.scs"', "section=tt", "section", "endsection", "library", "endlibrary", "simulator", "lang=spice",
    "lang=spectre", "tran", "tran1", "stop=1u", "statistics", "{", "}", "if", "else", "(l<1u)", "save",
    "ahdl_include", "#define", "//", "*", "\\", '"', "1:", "M", "m", "\t",
]  # fmt: skip
_LINE = st.lists(st.sampled_from(_VOCABULARY), max_size=10).map(" ".join)
_STATEMENTS = st.sampled_from(
    [
        "subckt inv (a y)", "ends inv", "ends", "MP (y a 0 0) pmos4 w=2u l=1u", "I1 (p q) inv", "R0 (p 0) resistor r=2M",
        "model nch bsim4 type=n", "M2 (p q 0 0) nch w=wn l=1u", "parameters wn=1u", "simulator lang=spice",
        "simulator lang=spectre", "R1 p q 1k", ".subckt s a", ".ends", "if (x) {", "} else {", "}", "statistics {",
        'include "top.scs"', 'include "none.scs"', "global 0 vdd!", "K1 mutual_inductor ind1=L1 ind2=L2 k=1",
        "L1 (p 0) inductor l=1n", "section tt", "endsection tt", "tran1 tran stop=1u",
    ]
)  # fmt: skip
_TEXT = st.lists(st.one_of(_LINE, _STATEMENTS, st.text(max_size=12)), max_size=14).map("\n".join)


@settings(max_examples=1500, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(text=_TEXT)
def test_fuzz_text_only_netlist_errors(tmp_path_factory, text):
    path = tmp_path_factory.getbasetemp() / "fuzz" / "top.scs"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text.encode("utf-8", errors="replace"))
    try:
        netlist = read_spectre(path)
    except NetlistError as e:
        assert str(e).startswith(str(path.parent)), str(e)
        return
    if netlist.devices:
        try:
            to_data(netlist)
        except NetlistError:
            pass  # a link to a device that is not there: to_data's own error
    assert isinstance(netlist.devices, list)


@settings(max_examples=700, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=200))
def test_fuzz_bytes_only_netlist_errors(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzzb" / "top.scs"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    with pytest.raises(NetlistError) if not data.strip() else _maybe():
        read_spectre(path)


class _maybe:
    """A context that lets a NetlistError pass quietly and any other exception through."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        return kind is not None and issubclass(kind, NetlistError)
