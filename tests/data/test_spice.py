"""Tests of the SPICE/ngspice/CDL reader (hipool.data.netlists.spice): hand-written netlists
with exact devices, nets, roles and values for every element letter and card; includes and
their refusals; every error with its file and line; the ALIGN OTA CDL files against an
independent count and the ngspice examples; and a fuzz test that nothing but NetlistError
escapes."""

import os
import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipool.data.netlists.analog import (
    ANALOG_FEATURE_NAMES,
    AnalogNetlist,
    Design,
    Device,
    device_counts,
    flatten,
    to_data,
)
from hipool.data.netlists.gates import NetlistError
from hipool.data.netlists.spice import parse_spice, parse_spice_text, read_spice

SPICE = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "spice"
FULL_OTA = SPICE / "align_ota" / "full_OTA"
NGSPICE = SPICE / "ngspice_examples"


def _write(folder: Path, text: str, name: str = "top.sp") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _read(folder: Path, text: str, name: str = "top.sp") -> AnalogNetlist:
    return read_spice(_write(folder, text, name))


def _devices(netlist: AnalogNetlist) -> Dict[str, Device]:
    return {d.name: d for d in netlist.devices}


def _value(d: Device):
    return None if d.value is None else pytest.approx(d.value, rel=1e-9)


# --- 1. values, kinds, case, lines --------------------------------------------------------------


def test_values_kinds_and_roles(tmp_path):
    net = _read(
        tmp_path,
        "* a comment line first: no title\n"
        "R1 a b 4.7k\n"
        "C1 a 0 10uF\n"
        "L1 b 0 2.2u\n"
        ".param w=2u\n"
        "M1 d g s b nch w={2*w} l=1u\n"
        "M2 d g s b pmos_lvt w=WA l=LA nfin=nA\n",
    )
    dev = _devices(net)
    assert list(dev) == ["r1", "c1", "l1", "m1", "m2"]
    assert (dev["r1"].kind, dev["r1"].nets, dev["r1"].value) == ("R", ["a", "b"], pytest.approx(4700))
    assert (dev["c1"].kind, dev["c1"].value) == ("C", pytest.approx(1e-5))
    assert (dev["l1"].kind, dev["l1"].value) == ("L", pytest.approx(2.2e-6))
    assert dev["m1"].kind == "NMOS" and dev["m1"].value == pytest.approx(4.0) and not dev["m1"].unknown
    assert dev["m1"].roles == ("drain", "gate", "source", "bulk")
    assert dev["m2"].kind == "PMOS" and dev["m2"].value is None and dev["m2"].unknown
    assert dev["r1"].roles == ("passive", "passive")
    assert dev["r1"].where.endswith("top.sp:2")


def test_names_are_case_insensitive(tmp_path):
    upper = _read(tmp_path, "\nR1 A b 1K\nX1 A Sub\n.SUBCKT SUB P\nC1 P 0 1P\n.ENDS SUB\n", "u.sp")
    lower = _read(tmp_path, "\nr1 a B 1k\nx1 a sub\n.subckt sub p\nc1 p 0 1p\n.ends sub\n", "l.sp")
    assert [(d.name, d.kind, d.nets, d.value) for d in upper.devices] == [
        (d.name, d.kind, d.nets, d.value) for d in lower.devices
    ]
    assert [d.name for d in upper.devices] == ["r1", "x1/c1"]


def test_title_line(tmp_path):
    # the first line is a title, whatever it says ...
    assert [d.name for d in _read(tmp_path, "R9 x y 1\nR1 a b 1\n").devices] == ["r1"]
    assert [d.name for d in _read(tmp_path, "  ADDER - 4 BIT\nR1 a b 1\n").devices] == ["r1"]
    # ... unless it is blank, a comment or a card
    assert [d.name for d in _read(tmp_path, "\nR1 a b 1\n").devices] == ["r1"]
    assert [d.name for d in _read(tmp_path, "*R9 x y 1\nR1 a b 1\n").devices] == ["r1"]
    sub = _read(tmp_path, ".subckt s p\nR1 p 0 1\n.ends\n")
    assert [d.name for d in sub.devices] == ["r1"] and sub.ports == {"p"}
    # an included file has no title: its first line is read
    _write(tmp_path, "R2 c d 2\n", "inc.sp")
    assert [d.name for d in _read(tmp_path, "title\n.include inc.sp\n").devices] == ["r2"]


def test_continuations_and_every_comment_style(tmp_path):
    net = _read(
        tmp_path,
        "title\n"
        "R1 a\n"
        "* a comment between a statement and its continuation\n"
        "\n"
        "+ b\n"
        "  + 1k ; an inline comment\n"
        "C1 a b 1p $ a dollar comment\n"
        "$ a whole line of dollar comment\n"
        "// a whole line of slash comment\n"
        "C2 a b 2p // inline\n"
        "L1 a$x b 1u\n"  # a $ inside a name is not a comment
        "M1 d g s b nch\n"
        "+ w=2u\n"
        "+ l=1u $ w=9u\n"
        "\tR2\ta\tb\t3k\n",
    )
    dev = _devices(net)
    assert (dev["r1"].nets, dev["r1"].value) == (["a", "b"], pytest.approx(1000))
    assert dev["r1"].where.endswith("top.sp:2")  # the statement's first line
    assert dev["c1"].value == pytest.approx(1e-12) and dev["c2"].value == pytest.approx(2e-12)
    assert dev["l1"].nets == ["a$x", "b"]
    assert dev["m1"].value == pytest.approx(2.0)
    assert dev["r2"].value == pytest.approx(3000)


def test_windows_line_endings_and_byte_order_mark(tmp_path):
    path = tmp_path / "win.sp"
    path.write_bytes("\ufeff* cdl\r\nR1 a b 1k\r\n+ \r\nC1 a 0 1p\r\n.end\r\n".encode("utf-8"))
    net = read_spice(path)
    assert [(d.name, d.nets, d.value) for d in net.devices] == [
        ("r1", ["a", "b"], pytest.approx(1e3)),
        ("c1", ["a", "0"], pytest.approx(1e-12)),
    ]


def test_control_blocks_analyses_and_end(tmp_path):
    net = _read(
        tmp_path,
        "deck\n"
        ".options reltol=1e-3\n.option gmin=1e-12\n.temp 27\n.title whatever\n"
        ".tran 1n 10n uic\n.ac dec 10 1 1g\n.dc v1 0 1 0.1\n.op\n.noise v(out) v1 dec 10 1 1k\n"
        ".tf v(out) v1\n.pz 1 0 3 0 cur pol\n.sens v(out)\n.disto dec 10 1 1k\n.four 1k v(out)\n"
        ".print tran v(out)\n.plot ac vdb(out)\n.probe v(out)\n.save all\n.meas tran t1 when v(out)=0.5\n"
        ".measure ac g max vdb(out)\n.ic v(out)=0\n.nodeset v(a)=1\n.width out=80\n.func f(x) {x*2}\n"
        ".csparam a=1\n.unknowncard foo bar\n"
        "R1 a out 1k\n"
        ".control\nrun\nR9 x y 1\nlet a = {\n.endc\n"
        ".data d1\nR8 x y 1\n.enddata\n"
        "V1 a 0 1\n"
        ".end\n"
        "R7 this is not read\n",
    )
    assert [d.name for d in net.devices] == ["r1", "v1"]


def test_every_element_letter(tmp_path):
    net = _read(
        tmp_path,
        "every letter\n"
        ".model qn npn\n.model dm d\n.model jn njf\n.model sw1 sw\n.model csw1 csw\n"
        "R1 1 2 1k\nC1 1 0 1p\nL1 1 2 1u\nL2 3 0 1u\nK1 L1 L2 0.9\n"
        "D1 1 2 dm 2\nQ1 1 2 0 qn\nQ2 1 2 0 5 qn 3\nM1 1 2 0 0 nch l=1u w=2u\nM2 1 2 0 0 pch 1u 3u\n"
        "J1 1 2 0 jn\nZ1 1 2 0 mesmod\nS1 1 2 3 0 sw1\nW1 1 2 vsense csw1 off\n"
        "T1 1 0 2 0 z0=50 td=1n\nO1 1 0 2 0 ltra\nU1 1 2 0 urc n=4\n"
        "V1 1 0 dc 5\nvsense 4 0 0\nI1 0 1 ac 1 dc 2m\n"
        "E1 5 0 1 2 10\nG1 5 0 1 2 1m\nF1 5 0 vsense 3\nH1 5 0 vsense 2k\nB1 5 0 v=v(1)*2\n"
        "X1 1 2 sub\n.subckt sub a b\nR1 a b 1\n.ends\n",
    )
    dev = _devices(net)
    kinds = {name: d.kind for name, d in dev.items()}
    assert kinds == {
        "r1": "R", "c1": "C", "l1": "L", "l2": "L", "k1": "K", "d1": "D", "q1": "NPN", "q2": "NPN",
        "m1": "NMOS", "m2": "PMOS", "j1": "NJF", "z1": "MESFET", "s1": "SWITCH", "w1": "SWITCH",
        "t1": "LINE", "o1": "LINE", "u1": "LINE", "v1": "V", "vsense": "V", "i1": "I", "e1": "E",
        "g1": "G", "f1": "F", "h1": "H", "b1": "B", "x1/r1": "R",
    }  # fmt: skip
    values = {name: d.value for name, d in dev.items() if d.value is not None}
    assert values == pytest.approx(
        {"r1": 1e3, "c1": 1e-12, "l1": 1e-6, "l2": 1e-6, "k1": 0.9, "d1": 2, "q2": 3, "m1": 2, "m2": 3,
         "v1": 5, "vsense": 0, "i1": 2e-3, "e1": 10, "g1": 1e-3, "f1": 3, "h1": 2e3, "x1/r1": 1}
    )  # fmt: skip
    assert dev["b1"].unknown and dev["b1"].value is None  # it reads a node voltage
    assert (dev["k1"].nets, dev["k1"].links) == ([], ["l1", "l2"])
    assert (dev["w1"].nets, dev["w1"].links) == (["1", "2"], ["vsense"])
    assert dev["f1"].links == dev["h1"].links == ["vsense"]
    assert dev["f1"].roles == ("out_pos", "out_neg")
    assert dev["e1"].nets == ["5", "0", "1", "2"] and dev["e1"].roles == ("out_pos", "out_neg", "ctrl_pos", "ctrl_neg")
    assert dev["q2"].nets == ["1", "2", "0", "5"] and dev["q2"].roles == ("collector", "base", "emitter", "substrate")
    assert dev["s1"].nets == ["1", "2", "3", "0"]
    assert dev["t1"].nets == ["1", "0", "2", "0"] and dev["u1"].nets == ["1", "2", "0"]
    assert dev["d1"].roles == ("pos", "neg") and dev["j1"].roles == ("drain", "gate", "source")
    data = to_data(net)  # the links resolve
    assert data.num_nodes == len(net.devices) + len({n for d in net.devices for n in d.nets})


def test_a_length_is_not_a_main_value(tmp_path):
    dev = _devices(_read(tmp_path, "lengths\n.model rp r\nU1 1 2 0 urc l=1u\nR1 a b rp l=10u w=1u\n"))
    assert dev["u1"].value is None and dev["r1"].value is None


def test_independent_sources(tmp_path):
    dev = _devices(
        _read(
            tmp_path,
            "sources\n"
            "VCC 99 0 DC 3.3V\n"
            "VIN1 1 0 DC 0 PULSE(0 3 0 5NS 5NS 20NS 50NS)\n"
            "vgate ga 0 dc 0 pulse (0 1 0 10n 10n 90n 200n)\n"
            "vin 4 0 dc=0.68 ac 1\n"
            "V2 1 0 dc 0 ac 1 sin (0 1 1k)\n"
            "vdd 1 0 2.0\n"
            "V3 2 0 sin(0 1 1k)\n"
            "I1 0 2 AC 1 PWL (0ns 0mA 1nS 1mA)\n"
            "Vn 3 0 dc 0 trnoise 0.1m 0.2n 1 0.1m\n"
            "V4 5 0 {vsup}\n",
        )
    )
    values = {name: d.value for name, d in dev.items()}
    assert values == {
        "vcc": pytest.approx(3.3), "vin1": 0, "vgate": 0, "vin": pytest.approx(0.68), "v2": 0,
        "vdd": pytest.approx(2.0), "v3": None, "i1": None, "vn": 0, "v4": None,
    }  # fmt: skip
    assert dev["v4"].unknown and not dev["v3"].unknown


def test_controlled_source_forms(tmp_path):
    dev = _devices(
        _read(
            tmp_path,
            "controlled\n"
            "VS1 21 19 DC 0\nVS2 23 21 DC 0\n"
            "EOS 9 10 POLY(1) 30 33 10E-6 1\n"
            "eref 98 0 poly(2) 99 0 50 0 0 0.5 0.5\n"
            "F1 4 10 POLY(2) VS1 VS2 (0,2.42834E-5,3.8E-5)\n"
            "E2 1 0 value={2*3}\n"
            "E3 1 0 vol='V(2)*4'\n"
            "G2 1 0 cur = {1m}\n"
            "E4 1 0 vcvs 2 3 5\n"
            "E5 1 0 TABLE {V(2)} = (0,0) (1,1)\n"
            "H2 1 0 ccvs VS1 1k\n",
        )
    )
    assert dev["eos"].nets == ["9", "10", "30", "33"] and dev["eos"].value is None
    assert dev["eref"].nets == ["98", "0", "99", "0", "50", "0"]  # every controlling pair of poly(2)
    assert dev["eref"].roles[4:] == ("ctrl_pos", "ctrl_neg")
    assert dev["f1"].links == ["vs1", "vs2"] and dev["f1"].value is None
    assert (dev["e2"].nets, dev["e2"].value) == (["1", "0"], 6)
    assert dev["e3"].unknown and dev["e3"].roles == ("out_pos", "out_neg")
    assert dev["g2"].value == pytest.approx(1e-3)
    assert (dev["e4"].nets, dev["e4"].value) == (["1", "0", "2", "3"], 5)
    assert dev["e5"].unknown
    assert (dev["h2"].links, dev["h2"].value) == (["vs1"], 1e3)


def test_passive_model_and_value_in_either_order(tmp_path):
    dev = _devices(
        _read(
            tmp_path,
            "models\n"
            ".model rpoly r rsh=100\n"
            ".param rval=2k\n"
            "R1 a b rpoly 1k\n"
            "R2 a b 1k rpoly\n"
            "R3 a b rpoly\n"  # a model: the card says so
            "R4 a b rval\n"  # no such model: a parameter
            "R5 a b r=3k\n"
            "R6 a b res=rK\n",
        )
    )
    assert dev["r1"].value == dev["r2"].value == pytest.approx(1e3)
    assert dev["r3"].value is None and not dev["r3"].unknown
    assert dev["r4"].value == pytest.approx(2e3)
    assert dev["r5"].value == pytest.approx(3e3)
    assert dev["r6"].value is None and dev["r6"].unknown
    design = parse_spice(tmp_path / "top.sp")
    models = {el.name: el.model for el in design.elements}
    assert models == {"r1": "rpoly", "r2": "rpoly", "r3": "rpoly", "r4": None, "r5": None, "r6": None}
    assert design.models == {"rpoly": "r"}


def test_model_cards(tmp_path):
    design = parse_spice(
        _write(
            tmp_path,
            "models\n"
            ".MODEL QT NPN(level=1 IS=1.68E-16 BF=1E4)\n"
            ".MODEL DA D (RS=40 IS=1.0E-14 CJO=1PF)\n"
            ".model  N1  nmos  level = 54 version = 4.5.0\n"
            "+binunit = 1            paramchk= 1\n"
            ".model swm sw vt=0.5\n"
            "Q1 c b e qt\n",
        )
    )
    assert design.models == {"qt": "npn", "da": "d", "n1": "nmos", "swm": "sw"}


# --- 2. subcircuits, parameters, globals --------------------------------------------------------

HIER = """\
two-level hierarchy
.param wn=1u
.subckt inv in out vdd vss params: wn=2u lp=1u
.param wp={2*wn}
M1 out in vdd vdd pmos w=wp l=lp
M2 out in vss vss nmos w=wn l=lp
.ends inv
.subckt buf in out vdd vss wn=3u
X1 in mid vdd vss inv
X2 mid out vdd vss inv wn=wn
.ends buf
XB a y vdd 0 buf
X9 y z vdd 0 inv wn=4u
R1 z 0 1k
"""


def test_subcircuit_parameters_defaults_and_overrides(tmp_path):
    dev = _devices(_read(tmp_path, HIER))
    ratios = {name: d.value for name, d in dev.items()}
    assert ratios == pytest.approx(
        {
            "xb/x1/m1": 4.0,  # default wn=2u, wp=2*wn
            "xb/x1/m2": 2.0,
            "xb/x2/m1": 6.0,  # wn passed down from buf's default 3u
            "xb/x2/m2": 3.0,
            "x9/m1": 8.0,  # instance override wn=4u
            "x9/m2": 4.0,
            "r1": 1e3,
        }
    )
    assert dev["xb/x1/m1"].nets == ["xb/mid", "a", "vdd", "vdd"]
    assert dev["xb/x2/m2"].nets == ["y", "xb/mid", "0", "0"]
    assert dev["xb/x1/m1"].instance == ("xb", "x1")
    design = parse_spice(tmp_path / "top.sp")
    assert design.params == [("wn", "1u")]
    assert design.subckts["inv"].params == {"wn": "2u", "lp": "1u"}
    assert design.subckts["inv"].local_params == [("wp", "{2*wn}")]
    assert design.subckts["inv"].ports == ["in", "out", "vdd", "vss"]


def test_graph_of_a_two_level_hierarchy(tmp_path):
    net = _read(
        tmp_path,
        "graph\n"
        ".subckt inv in out vdd vss\nM1 out in vdd vdd pmos w=2u l=1u\nM2 out in vss vss nmos w=1u l=1u\n.ends\n"
        ".subckt buf in out vdd vss\nX1 in mid vdd vss inv\nX2 mid out vdd vss inv\n.ends\n"
        "XB a y vdd 0 buf\nR1 y 0 1k\n",
    )
    data = to_data(net)
    # 5 devices; nets a, xb/mid, vdd, 0, y
    assert data.num_nodes == 10 and data.edge_index.shape == (2, 2 * (4 * 4 + 2))
    names = [d.name for d in net.devices] + list(dict.fromkeys(n for d in net.devices for n in d.nets))
    assert names == ["xb/x1/m1", "xb/x1/m2", "xb/x2/m1", "xb/x2/m2", "r1", "xb/mid", "a", "vdd", "0", "y"]
    assert data.level_labels.tolist() == [
        [0, 0], [0, 0], [1, 0], [1, 0], [-1, -1],  # devices: x1/x2 inside xb; r1 at the top
        [-1, 0], [-1, -1], [-1, -1], [-1, -1], [-1, -1],  # xb/mid is buf's net; the rest the top's
    ]  # fmt: skip
    assert data.instance_paths == [["xb/x1", "xb/x2"], ["xb"]]
    is_ground = data.x[:, ANALOG_FEATURE_NAMES.index("is_ground")]
    assert is_ground.tolist() == [0.0] * 8 + [1.0, 0.0]


def test_nested_definitions_and_globals(tmp_path):
    net = _read(
        tmp_path,
        "nested\n"
        ".global vdd\n"
        ".subckt outer a b\n"
        ".subckt inner x y\n"
        "R1 x y 1k\nR2 y vdd 2k\nR3 y gnd! 1\n"
        ".ends inner\n"
        "X1 a b inner\n"
        ".ends outer\n"
        "XO p q outer\nXI q r inner\n",
    )
    dev = _devices(net)
    assert list(dev) == ["xo/x1/r1", "xo/x1/r2", "xo/x1/r3", "xi/r1", "xi/r2", "xi/r3"]
    assert dev["xo/x1/r2"].nets == ["q", "vdd"] and dev["xo/x1/r3"].nets == ["q", "gnd!"]
    assert net.nets["vdd"] == () and net.nets["gnd!"] == ()


def test_cdl_forms(tmp_path):
    net = _read(
        tmp_path,
        "*****\n* auCdl Netlist\n*****\n"
        "*.BIPOLAR\n*.RESI = 2000\n.PARAM\n"
        "*.GLOBAL vdd!\n+        gnd!\n"
        "*.PIN vdd!\n*+    gnd!\n"
        ".SUBCKT inv A Y\n"
        "*.PININFO A:I Y:O\n"
        "MM0 Y A gnd! gnd! nch w=1u l=100n\n"
        "MM1 Y A vdd! vdd! pch w=WA l=LA nfin=nA\n"
        "CC0 Y gnd! 1f $[cmim] $W=1u\n"
        "RR0 A Y res=rK\n"
        ".ENDS\n"
        ".SUBCKT top2 a y y2 a2\n"
        "XI0 a y / inv\n"
        "XI1 b z /inv $PINS Y=z A=b\n"
        "XI2 y2 a2 / inv $PINS A=a2 Y=y2\n"
        ".ENDS\n"
        ".END\n",
    )
    dev = _devices(net)
    assert dev["xi0/mm0"].nets == ["y", "a", "gnd!", "gnd!"] and dev["xi0/mm0"].value == pytest.approx(10)
    assert dev["xi1/mm0"].nets == ["z", "b", "gnd!", "gnd!"]
    assert dev["xi2/mm0"].nets == ["y2", "a2", "gnd!", "gnd!"]  # $PINS wins over the order
    assert dev["xi0/mm1"].unknown and dev["xi0/rr0"].unknown
    assert net.ports == {"a", "y", "y2", "a2"}  # the top cell's ports
    design = parse_spice(tmp_path / "top.sp")
    assert design.globals == {"vdd!", "gnd!"} and design.params == [] and design.ports == []
    assert design.subckts["inv"].elements[2].model == "cmim"


def test_conditionals(tmp_path):
    text = (
        "cond\n.param do_sp=0 n=3\n"
        ".if (do_sp)\nR1 a b 1\n.elseif (n == 3)\nR2 a b 1\n"
        ".if (n > 5)\nR3 a b 1\n.else\nR4 a b 1\n.endif\n"
        ".else\nR5 a b 1\n.endif\n"
        ".if (1)\nR6 a b 1\n.endif\n"
    )
    assert [d.name for d in _read(tmp_path, text).devices] == ["r2", "r4", "r6"]


# --- 3. includes and libraries --------------------------------------------------------------------


def test_includes_relative_quoted_and_nested(tmp_path):
    root = tmp_path / "proj"
    _write(root, "R2 b c 2k\n.include '../common/with space.inc'\n", "sub/part.inc")
    _write(root, "* no title here\nR3 c d 3k\n.end\nR9 never read\n", "common/with space.inc")
    _write(root, "R4 d e 4k\n", "abs.inc")
    net = _read(root, f'top\nR1 a b 1k\n.include sub/part.inc\n.inc "{root / "abs.inc"}"\nR5 e f 5\n')
    assert [d.name for d in net.devices] == ["r1", "r2", "r3", "r4", "r5"]
    wheres = [d.where for d in net.devices]
    assert wheres[1] == os.path.join(str(root), "sub", "part.inc") + ":1"
    assert wheres[2] == os.path.join(str(root), "common", "with space.inc") + ":2"
    assert wheres[4].endswith("top.sp:5")


def test_include_refusals(tmp_path):
    root = tmp_path / "proj"
    _write(tmp_path, "R9 x y 1\n", "outside.inc")
    _write(root, ".include b.inc\n", "a.inc")
    (root / "sub").mkdir()
    _write(root, "R1 x y 1\n.include a.inc\n", "b.inc")
    cases = [
        (".include a.inc\n", r"b\.inc:2: include loop: .*top\.sp -> .*a\.inc -> .*b\.inc -> .*a\.inc"),
        (".include ../outside.inc\n", r"top\.sp:2: include '\.\./outside\.inc' escapes the netlist's folder"),
        (f".include {tmp_path / 'outside.inc'}\n", r"top\.sp:2: include .* escapes the netlist's folder"),
        ("R1 a b 1\n.include nope.inc\n", r"top\.sp:3: cannot include 'nope\.inc': no such file .*nope\.inc"),
        (".include\n", r"top\.sp:2: \.include names no file"),
        (".include top.sp\n", r"top\.sp:2: include loop"),
        (".lib models.lib\n", r"top\.sp:2: cannot include 'models\.lib': no such file"),
        (".include sub\n", r"top\.sp:2: cannot include 'sub': not a file"),
    ]
    for text, message in cases:
        with pytest.raises(NetlistError, match=message):
            _read(root, "title\n" + text)
    os.symlink(tmp_path / "outside.inc", root / "link.inc")
    with pytest.raises(NetlistError, match=r"top\.sp:2: include 'link\.inc' escapes"):
        _read(root, "title\n.include link.inc\n")


def test_include_limits(tmp_path):
    # a chain deeper than 50 files
    for k in range(60):
        _write(tmp_path, f".include f{k + 1}.inc\nR{k} a b 1\n", f"f{k}.inc")
    with pytest.raises(NetlistError, match=r"includes nest deeper than 50"):
        _read(tmp_path, "title\n.include f0.inc\n")
    # more than 1000 files, none nested deeper than 2
    _write(tmp_path, "R1 a b 1\n", "leaf.inc")
    _write(tmp_path, ".include leaf.inc\n" * 40, "mid.inc")
    with pytest.raises(NetlistError, match=r"includes more than 1000 files"):
        _read(tmp_path, "title\n" + ".include mid.inc\n" * 30)


def test_lib_sections(tmp_path):
    _write(
        tmp_path,
        "* a library\n.model outside nmos\n"
        ".lib tt\n.model nch nmos\n.lib 'models.lib' common\n.endl tt\n"
        ".lib ff\n.model nch_ff nmos\n.endl ff\n"
        ".lib common\n.model pch pmos\n.param vth=0.4\n.endl common\n",
        "models.lib",
    )
    design = parse_spice(_write(tmp_path, "title\n.lib 'models.lib' tt\nM1 d g s b nch\n"))
    assert design.models == {"nch": "nmos", "pch": "pmos"}
    assert design.params == [("vth", "0.4")]
    whole = parse_spice(_write(tmp_path, "title\n.include models.lib\nM1 d g s b nch\n", "whole.sp"))
    assert whole.models == {"outside": "nmos"}  # sections are read only when asked for
    _write(tmp_path, ".lib fast\n.model nf nmos\n.endl\n", "my models.lib")
    spaced = parse_spice(_write(tmp_path, 'title\n.LIB "my models.lib" FAST\n', "spaced.sp"))
    assert spaced.models == {"nf": "nmos"}
    with pytest.raises(NetlistError, match=r"models\.lib: no section 'ss'"):
        parse_spice(_write(tmp_path, "title\n.lib models.lib ss\n", "ss.sp"))


def test_parse_spice_text_into_another_design(tmp_path):
    _write(tmp_path, ".subckt res2 a b\nR1 a b 1k\n.ends\n", "lib.inc")
    design = Design(name="mixed", source=str(tmp_path / "mixed.scs"), dialect="spice")
    parse_spice_text(
        ".include lib.inc\nX1 p q res2\n.param k=2\n", tmp_path / "mixed.scs", design, root=tmp_path, first_line=10
    )
    assert [el.where for el in design.elements] == [f"{tmp_path / 'mixed.scs'}:11"]
    assert design.params == [("k", "2")] and "res2" in design.subckts
    with pytest.raises(NetlistError, match=r"mixed\.scs:21: \.subckt open has no \.ends"):
        parse_spice_text(".subckt open a\n", tmp_path / "mixed.scs", design, root=tmp_path, first_line=21)


# --- 4. errors -------------------------------------------------------------------------------------

ERRORS: List[Tuple[str, str]] = [
    (".subckt a x\nR1 x 0 1\n", r"top\.sp:2: \.subckt a has no \.ends"),
    ("R1 a b 1\n.ends\n", r"top\.sp:3: \.ends without \.subckt"),
    (".subckt a x\n.ends b\n", r"top\.sp:3: \.ends b closes subcircuit 'a' \(opened at .*top\.sp:2\)"),
    (".subckt\n", r"top\.sp:2: a \.subckt line needs a name"),
    (
        ".subckt a x\n.ends\n.subckt a y\n.ends\n",
        r"top\.sp:4: subcircuit 'a' is defined twice \(first at .*top\.sp:2\)",
    ),
    ("R1 a\n", r"top\.sp:2: element 'r1' \(R\) needs two nodes and a value"),
    ("M1 d g s\n", r"top\.sp:2: element 'm1' \(M\) needs 3 nodes and a model"),
    ("D1 a\n", r"top\.sp:2: element 'd1' \(D\) needs 2 nodes and a model"),
    ("Q1 a b c\n", r"top\.sp:2: element 'q1' \(Q\) needs 3 nodes and a model"),
    ("S1 a b c\n", r"top\.sp:2: element 's1' \(S\) needs four nodes"),
    ("W1 a b\n", r"top\.sp:2: element 'w1' \(W\) needs two nodes, the controlling"),
    ("T1 a b c\n", r"top\.sp:2: element 't1' \(T\) needs 4 nodes"),
    ("V1 a\n", r"top\.sp:2: element 'v1' \(V\) needs two nodes"),
    ("E1 a b c\n", r"top\.sp:2: element 'e1' \(E\) needs four nodes and a gain"),
    ("F1 a b\n", r"top\.sp:2: element 'f1' \(F\) needs two nodes, the controlling voltage source"),
    ("E1 a b poly(x) c d 1\n", r"top\.sp:2: element 'e1': poly\(x\) needs a count"),
    ("E1 a b poly(2) c d 1\n", r"top\.sp:2: element 'e1' \(E\) needs 4 controlling nodes for poly\(2\)"),
    ("K1 L1 0.5\n", r"top\.sp:2: element 'k1' \(K\) needs two inductors"),
    ("B1 a b 5\n", r"top\.sp:2: element 'b1' \(B\) needs two nodes and v=expression"),
    ("X1\n", r"top\.sp:2: element 'x1' \(X\) needs its nodes and a subcircuit"),
    ("A1 1 2 amp\n", r"top\.sp:2: element 'a1': hipool does not read 'A' elements \(an XSPICE code model\)"),
    ("N1 1 2 dev\n", r"top\.sp:2: element 'n1': hipool does not read 'N' elements"),
    ("P1 1 2 3 4 cpl\n", r"top\.sp:2: element 'p1': hipool does not read 'P' elements"),
    ("Y1 1 2 3 4 txl\n", r"top\.sp:2: element 'y1': hipool does not read 'Y' elements"),
    ("%foo bar\n", r"top\.sp:2: '%foo bar' is neither an element nor a dot card"),
    (".model foo\n", r"top\.sp:2: \.model foo has no device type"),
    (".param 5\n", r"top\.sp:2: \.param takes name=value, got '5'"),
    (".param a=\n", r"top\.sp:2: \.param a has no value"),
    ("R1 a b r=\n", r"top\.sp:2: parameter 'r' has no value"),
    ("R1 a b {1+\n", r"top\.sp:2: unbalanced '\{'"),
    ("R1 a b 'x\n", r"top\.sp:2: unbalanced \"'\""),
    ("V1 a b pulse(0 1\n", r"top\.sp:2: unbalanced '\('"),
    ("\n+ R1 a b 1\n", r"top\.sp:3: a '\+' line with no statement before it"),
    (".if (x)\nR1 a b 1\n.endif\n", r"top\.sp:2: cannot evaluate the condition '\(x\)'"),
    (".if (1)\nR1 a b 1\n", r"top\.sp:2: \.if without \.endif"),
    (".endif\n", r"top\.sp:2: \.endif without \.if"),
    (".subckt s a\n.if (1)\n.endif\n.ends\n", r"top\.sp:3: \.if inside a subcircuit definition"),
    # from flatten, each naming the element's line
    ("R1 a b 1\nX1 a b undefined\n", r"top\.sp:3: instance 'x1' of subcircuit 'undefined', which is not defined"),
    (".subckt a x\nX1 x a\n.ends\nX0 n a\n", r"top\.sp:2: subcircuit 'a' instantiates itself: a -> a"),
    (
        ".subckt s p q\nR1 p q 1\n.ends\nX1 a s\n",
        r"top\.sp:5: instance 'x1' connects 1 nets, but subcircuit 's' has 2 ports",
    ),
    ("M1 a b c d e f g h nch\n", r"top\.sp:2: element 'm1' \(NMOS\) has 8 nets; it takes 3 to 7"),
    ("F1 a b vx 2\n", r"top\.sp:2: 'f1' \(F\) refers to device 'vx', which is not defined"),
    ("* only comments\n", r"top\.sp: no devices and no subcircuits"),
]


@pytest.mark.parametrize("text, message", ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_errors_name_file_and_line(tmp_path, text, message):
    with pytest.raises(NetlistError, match=message):
        to_data(_read(tmp_path, "title\n" + text))


def test_binary_and_non_utf8_files_are_refused(tmp_path):
    path = tmp_path / "bin.sp"
    path.write_bytes(b"* x\nR1 a b 1\n\x00\x01\x02")
    with pytest.raises(NetlistError, match=r"bin\.sp:3: a NUL byte: this is a binary file, not a SPICE netlist"):
        read_spice(path)
    path.write_bytes(b"* x\n\xff\xfeR1 a b 1\n")
    with pytest.raises(NetlistError, match=r"bin\.sp:2: not UTF-8 text"):
        read_spice(path)
    with pytest.raises(NetlistError, match=r"SPICE netlist"):
        read_spice(tmp_path / "missing.sp")
    with pytest.raises(NetlistError, match=r"SPICE netlist"):
        read_spice(tmp_path)
    _write(tmp_path, "R1 a b 1\n\x00", "bin.inc")
    with pytest.raises(NetlistError, match=r"bin\.inc:2: a NUL byte"):
        _read(tmp_path, "title\n.include bin.inc\n")


# --- 5. real files ---------------------------------------------------------------------------------


def _cdl_count(path: Path) -> Tuple[int, bool]:
    """An independent count of a CDL file's flattened devices, by lines: each subcircuit's
    device lines plus the devices of the subcircuits its instances use, summed over the top
    level's instances; and whether every instance connects as many nets as its subcircuit has
    ports."""
    devices: Dict[str, int] = {}
    ports: Dict[str, int] = {}
    inner: Dict[str, List[List[str]]] = {}
    top: List[List[str]] = []
    current = None
    lines = path.read_text().split("\n")
    for k, line in enumerate(lines):
        words = line.split()
        if not words or words[0].startswith("*"):
            continue
        head = words[0].upper()
        if head == ".SUBCKT":
            current = words[1].lower()
            devices[current], ports[current], inner[current] = 0, len(words) - 2, []
            for more in lines[k + 1 :]:
                if not more.startswith("+"):
                    break
                ports[current] += len(more[1:].split())
        elif head == ".ENDS":
            current = None
        elif head[0] in "MRCLDQ" and current is not None:
            devices[current] += 1
        elif head[0] == "X":
            (top if current is None else inner[current]).append([w.lower() for w in words[1:] if w != "/"])

    def size(name: str) -> int:
        return devices[name] + sum(size(x[-1]) for x in inner[name])

    instances = top + [x for xs in inner.values() for x in xs]
    return sum(size(x[-1]) for x in top), all(len(x) - 1 == ports[x[-1]] for x in instances)


@pytest.mark.skipif(not FULL_OTA.is_dir(), reason="the ALIGN OTA files are not here")
def test_align_full_ota_files_against_an_independent_count():
    files = sorted(FULL_OTA.glob("*/*.sp"))
    assert len(files) > 900
    read = refused = 0
    for path in files:
        design = parse_spice(path)  # every file parses
        expected, fits = _cdl_count(path)
        if fits:
            net = read_spice(path)
            assert len(net.devices) == expected, path
            read += 1
        else:
            # the generator dropped the ports of a '+' line from the instance: flatten refuses it
            with pytest.raises(NetlistError, match=r":\d+: instance 'xiota' connects \d+ nets, but subcircuit"):
                read_spice(path)
            assert sum(len(s.elements) for s in design.subckts.values()) > 0
            refused += 1
    assert (read, refused) == (803, 123)


@pytest.mark.skipif(not FULL_OTA.is_dir(), reason="the ALIGN OTA files are not here")
def test_align_sample_exactly():
    net = read_spice(FULL_OTA / "single_ended_OTA" / "single_ended_LG_nmos_cr13_1.sp")
    assert device_counts(net) == {"NMOS": 6, "PMOS": 5}
    dev = _devices(net)
    assert list(dev) == [
        "xiota/mm3", "xiota/mm0", "xiota/mm4", "xiota/mm1", "xiota/mm2",
        "xilg_nmos/mm8", "xilg_nmos/mm10",
        "xibcr13_2/mm2", "xibcr13_2/mm0", "xibcr13_2/mm3", "xibcr13_2/mm1",
    ]  # fmt: skip
    assert dev["xiota/mm3"].nets == ["voutp", "vinp", "xiota/net16", "gnd!"]
    assert dev["xiota/mm0"].nets == ["xiota/vbiasp", "vinn", "xiota/net16", "gnd!"]
    assert dev["xiota/mm4"].nets == ["xiota/net16", "lg_vbiasn", "gnd!", "gnd!"]
    assert dev["xilg_nmos/mm10"].nets == ["lg_vbiasn", "biasp", "vdd!", "vdd!"]
    assert all(d.value is None and d.unknown for d in net.devices)  # w=WA l=LA
    data = to_data(net)
    assert data.num_nodes == 11 + 10  # voutp vinp net16 gnd! vbiasp vinn lg_vbiasn vdd! biasp biasn
    assert data.level_labels.shape == (21, 1) and data.instance_paths == [["xiota", "xilg_nmos", "xibcr13_2"]]


NGSPICE_OUTCOMES = {
    "optran/HiPass3opamps_optran.cir": "cannot include 'models/TL072-dual.lib'",
    "noise/baker-252-gain.cir": "does not read 'A' elements",
    "noise/bipolar-noise.cir": 5,
    "sp/filter.sp": "cannot include 'filter.lib'",
    "sp/Tschebyschef-LP.cir": 7,
    "mos/ro_17_4.cir": 36,
    "mos/adder_mos.cir": 153,
    "transient-noise/noi-sc-tr.cir": 8,
    "TransImpedanceAmp/output.net": 376,
    "various/gain_stage.cir": 5,
    "various/transformers1.cir": "does not read 'A' elements",
    "p-to-n-examples/switch-oscillators.cir": 71,
    "p-to-n-examples/op-test.cir": "cannot include 'OPA171.txt'",
    "p-to-n-examples/555-timer-2.cir": "cannot include 'TLC555.LIB'",
    "p-to-n-examples/op-test-adi.cir": "cannot include 'ad22057n.lib'",
    "p-to-n-examples/relax_osc_st.cir": "cannot include 'Opamps_Comparators_ST.lib'",
}


@pytest.mark.skipif(not NGSPICE.is_dir(), reason="the ngspice examples are not here")
@pytest.mark.parametrize("name", sorted(NGSPICE_OUTCOMES))
def test_ngspice_examples(name):
    path = NGSPICE / name
    outcome = NGSPICE_OUTCOMES[name]
    if isinstance(outcome, int):
        net = read_spice(path)
        assert len(net.devices) == outcome
        to_data(net)
    else:
        with pytest.raises(NetlistError, match=re.escape(f"{path}:") + r"\d+: .*" + re.escape(outcome)):
            read_spice(path)


@pytest.mark.skipif(not NGSPICE.is_dir(), reason="the ngspice examples are not here")
def test_ngspice_adder_and_transformer_details():
    net = read_spice(NGSPICE / "mos" / "adder_mos.cir")
    assert device_counts(net) == {"V": 9, "PMOS": 72, "NMOS": 72}
    dev = _devices(net)
    assert dev["x1/x1/x1/x1/m1"].nets == ["x1/x1/x1/7", "2", "99", "99"]
    assert dev["x1/x1/x1/x1/m1"].value == pytest.approx(7.5 / 0.35)
    assert dev["vcc"].value == pytest.approx(3.3)
    tia = _devices(read_spice(NGSPICE / "TransImpedanceAmp" / "output.net"))
    assert tia["xu101/f1"].links == ["xu101/vs1", "xu101/vs2"]
    assert tia["xu101/fsy"].links == ["xu101/v1"] and tia["xu101/fsy"].value == -1


# --- 6. fuzz ---------------------------------------------------------------------------------------

_VOCAB = [
    "R1 a b 1k", "C1 a 0 1p", "L1 a b 1u", "L2 b 0 1u", "K1 L1 L2 0.5", "D1 a b dm", "Q1 a b c qn",
    "M1 d g s b nch w={2*w} l=1u", "J1 a b c jn", "Z1 a b c zm", "S1 a b c d sw", "W1 a b v1 csw",
    "T1 a 0 b 0 z0=50", "O1 a 0 b 0 ltra", "U1 a b 0 urc", "V1 a 0 dc 1 pulse(0 1 1n)", "I1 a 0 1m",
    "E1 a 0 b 0 2", "G1 a 0 poly(1) b 0 1 2", "F1 a 0 v1 2", "H1 a 0 poly(2) v1 v2 1 2 3", "B1 a 0 v=v(b)",
    "X1 a b sub", "X2 a / sub", "XI0 a b / sub $PINS p=a q=b", ".subckt sub p q", ".subckt sub2 p q w=1u",
    ".ends", ".ends sub", ".model nch nmos", ".model qn npn(bf=100)", ".model", ".param w=1u", ".param",
    ".global g", "*.GLOBAL vdd!", "*.PININFO a:I", ".include inc.sp", ".include ../escape.sp",
    ".include top.sp", ".lib inc.sp tt", ".lib tt", ".endl", ".control", ".endc", ".end", ".if (w)",
    ".if (1 == 1)", ".else", ".endif", ".elseif (0)", ".tran 1n 1u", ".option x=1", "+ c", "+", "*", "$",
    ";", "//", "{", "}", "(", ")", "'", '"', "=", "a=b", "poly(", "R2 a b {w", "A1 a b c", "\t", "N1 x",
    ".data", ".enddata", "params:", "/", "M2 1 2 3 4 5 6 7 8 9 p", "R3 a b $[rp]", "E2 a b value={1+}",
]  # fmt: skip
_WORD = st.sampled_from(_VOCAB)
_LINES = st.lists(
    st.one_of(  # mostly whole statements, so that many inputs read; then mixtures and noise
        _WORD,
        _WORD,
        _WORD,
        st.lists(_WORD, min_size=2, max_size=4).map(" ".join),
        st.text(alphabet="RCLKMXVEFHab01 .+*$;/{}()'=\"!\t\r", max_size=16),
    ),
    min_size=1,
    max_size=14,
).map(lambda lines: "title\n" + "\n".join(lines))


def _fuzz_folder(root: Path) -> Path:
    folder = root / "fuzz" / "proj"
    _write(folder, ".lib tt\n.model nch nmos\nR9 a b 1\n.endl\nR8 a b 1\n", "inc.sp")
    _write(root / "fuzz", "R7 a b 1\n", "escape.sp")
    return folder


def _only_netlist_errors(path: Path) -> None:
    try:
        to_data(read_spice(path))
    except NetlistError as e:
        assert str(e).startswith(str(path.parent)), str(e)


@settings(max_examples=1200, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(_LINES)
def test_fuzz_statements_only_netlist_errors(tmp_path_factory, text):
    folder = _fuzz_folder(tmp_path_factory.getbasetemp())
    _only_netlist_errors(_write(folder, text))


@settings(max_examples=800, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(_VOCAB), max_size=8), st.binary(max_size=40), st.integers(0, 400))
def test_fuzz_bytes_only_netlist_errors(tmp_path_factory, lines, noise, at):
    folder = _fuzz_folder(tmp_path_factory.getbasetemp())
    data = "\n".join(lines).encode()
    path = folder / "top.sp"
    path.write_bytes(data[:at] + noise + data[at:])
    _only_netlist_errors(path)


def test_a_large_netlist_reads_fast(tmp_path):
    """About 60,000 lines: the tokenizer's speed, well over a million lines a minute."""
    import time

    path = tmp_path / "big.sp"
    with open(path, "w") as f:
        f.write("* big\n")
        for i in range(20000):
            f.write(f"M{i} n{i} n{i + 1} vss vss nch w=1u l=1u m=1\nR{i} n{i} n{i + 2} 4.7k\nC{i} n{i} 0 1p $ c\n")
    start = time.perf_counter()
    design = parse_spice(path)
    elapsed = time.perf_counter() - start
    assert len(design.elements) == 60000
    assert elapsed < 3.6, elapsed  # 1M lines a minute is 3.6 s for these 60,000
    design.elements = design.elements[:30]
    assert to_data(flatten(design)).num_nodes == 30 + 14  # nets n0 ... n11, vss, 0
