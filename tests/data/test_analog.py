"""The analog core: values and expressions, flattening with parameters and hierarchy, the device-net graph."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hipool.data.netlists.analog import (
    ANALOG_FEATURE_NAMES,
    ANALOG_KINDS,
    ANALOG_ROLES,
    NUM_ANALOG_FEATURES,
    Design,
    Element,
    Subckt,
    device_kind,
    flatten,
    is_ground,
    is_power,
    to_data,
)
from hipool.data.netlists.gates import NetlistError
from hipool.data.netlists.values import evaluate, parse_number


@pytest.mark.parametrize(
    "text, value",
    [
        ("4.7k", 4700.0),
        ("10uF", 1e-5),
        ("2meg", 2e6),
        ("2MEG", 2e6),
        ("1.5mil", 1.5 * 25.4e-6),
        ("1e-12", 1e-12),
        ("1F", 1e-15),  # SPICE: f is femto whatever its case
        ("1M", 1e-3),  # SPICE: m is milli
        ("3", 3.0),
        ("-2.5n", -2.5e-9),
        (".5p", 0.5e-12),
        ("1kohm", 1e3),
        ("10", 10.0),
    ],
)
def test_spice_numbers(text, value):
    assert parse_number(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text, value", [("1M", 1e6), ("1m", 1e-3), ("2k", 2e3), ("3G", 3e9), ("1e-6", 1e-6)])
def test_spectre_numbers(text, value):
    assert parse_number(text, "spectre") == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "", "k1", "1x2", "1Q"])
def test_not_numbers(text):
    assert parse_number(text, "spectre") is None


def test_expressions():
    scope = {"w": 1e-6, "l": None, "k": 2.0}
    assert evaluate("{2*w}", scope) == pytest.approx(2e-6)
    assert evaluate("'w+10n'", scope) == pytest.approx(1.01e-6)
    assert evaluate("sqrt(4)*k", scope) == 4.0
    assert evaluate("2**3", scope) == 8.0
    assert evaluate("2^3^2", scope) == 512.0  # right-associative
    assert evaluate("-w*-2", scope) == pytest.approx(2e-6)
    assert evaluate("max(1, 2, 3)", scope) == 3.0
    assert evaluate("W", scope) == 1e-6  # SPICE folds case
    assert evaluate("W", scope, "spectre") is None  # Spectre does not
    for unknown in ("w/l", "x", "foo(1)", "(1+2", "1/0", "10**400", "w>1?1:2", "", "1 2", "__import__('os')"):
        assert evaluate(unknown, scope) is None, unknown


@settings(max_examples=500, derandomize=True, deadline=None)
@given(st.text(alphabet="0123456789.eE+-*/^()%,wlk ukmeg_'{}sqrt", max_size=60))
def test_expressions_never_raise(text):
    value = evaluate(text, {"w": 1.0, "l": 2.0, "k": None})
    assert value is None or math.isfinite(value)


def test_naming_rules():
    assert is_ground("0") and is_ground("gnd!") and is_ground("x1/VSS") and not is_ground("vdd")
    assert is_power("vdd!") and is_power("AVDD") and is_power("vcc") and not is_power("vin")
    assert device_kind("M", "nch_lvt", {}) == "NMOS"
    assert device_kind("M", "pmos4", {}) == "PMOS"
    assert device_kind("M", "mymodel", {"mymodel": "pmos"}) == "PMOS"
    assert device_kind("M", "cmosx", {}) == "MOS"
    assert device_kind("Q", "q2n3904", {"q2n3904": "npn"}) == "NPN"
    assert device_kind("Q", "qx", {}) == "BJT"
    assert device_kind("J", "j1", {}) == "JFET"
    assert device_kind("R", None, {}) == "R"
    with pytest.raises(ValueError):
        device_kind("A", None, {})
    assert len(ANALOG_FEATURE_NAMES) == NUM_ANALOG_FEATURES


def _inverter_design() -> Design:
    d = Design(name="t", source="t.sp")
    d.subckts["inv"] = Subckt(
        "inv",
        ["a", "y", "vdd"],
        params={"w": "1u"},
        elements=[
            Element("m1", "M", ["y", "a", "vdd", "vdd"], model="pch", params={"w": "w*2", "l": "1u"}, where="t.sp:3"),
            Element("m2", "M", ["y", "a", "0", "0"], model="nch", params={"w": "w", "l": "lx"}, where="t.sp:4"),
            Element("c1", "C", ["y", "0"], value="1p", where="t.sp:5"),
        ],
    )
    d.subckts["buf"] = Subckt(
        "buf",
        ["i", "o", "vdd"],
        elements=[
            Element("xa", "X", ["i", "mid", "vdd"], model="inv", params={"w": "2u"}, where="t.sp:8"),
            Element("xb", "X", ["mid", "o", "vdd"], model="inv", where="t.sp:9"),
        ],
    )
    d.elements = [
        Element("x1", "X", ["in", "out", "vdd"], model="buf", where="t.sp:12"),
        Element("r1", "R", ["out", "0"], value="1k", where="t.sp:13"),
        Element("l1", "L", ["out", "n1"], value="1u", where="t.sp:14"),
        Element("l2", "L", ["n1", "0"], value="1u", where="t.sp:15"),
        Element("k1", "K", [], value="0.9", links=["l1", "l2"], where="t.sp:16"),
        Element("v1", "V", ["vdd", "0"], value="1.8", where="t.sp:17"),
    ]
    return d


def test_flatten_parameters_and_hierarchy():
    nl = flatten(_inverter_design())
    by_name = {d.name: d for d in nl.devices}
    assert list(by_name) == [
        "x1/xa/m1",
        "x1/xa/m2",
        "x1/xa/c1",
        "x1/xb/m1",
        "x1/xb/m2",
        "x1/xb/c1",
        "r1",
        "l1",
        "l2",
        "k1",
        "v1",
    ]
    assert by_name["x1/xa/m1"].value == pytest.approx(4.0)  # instance w=2u: W/L = 2*2u/1u
    assert by_name["x1/xb/m1"].value == pytest.approx(2.0)  # the default w=1u
    assert by_name["x1/xa/m2"].value is None and by_name["x1/xa/m2"].unknown  # l=lx: no scope defines it
    assert by_name["x1/xa/m1"].kind == "PMOS" and by_name["x1/xa/m2"].kind == "NMOS"
    assert by_name["x1/xa/m1"].nets == ["x1/mid", "in", "vdd", "vdd"]  # ports bound to the parent's nets
    assert by_name["x1/xa/m1"].roles == ("drain", "gate", "source", "bulk")
    assert by_name["x1/xa/m2"].nets[2] == "0"  # ground is global
    assert by_name["k1"].links == ["l1", "l2"]
    assert nl.nets["x1/mid"] == ("x1",) and nl.nets["in"] == ()


def test_graph_counts_features_and_levels():
    data = to_data(flatten(_inverter_design()))
    n_dev, nets = 11, ["x1/mid", "in", "vdd", "0", "out", "n1"]
    assert data.num_nodes == n_dev + len(nets)
    pins = 4 * 4 + 2 * 2 + 2 + 2 + 2 + 2  # MOS, C, R, L, L, V
    links = 2
    assert data.edge_index.shape[1] == 2 * (pins + links)
    assert data.edge_attr.shape == (2 * (pins + links), len(ANALOG_ROLES))
    assert data.x.shape == (n_dev + len(nets), NUM_ANALOG_FEATURES)
    k = len(ANALOG_KINDS)
    assert data.x[:, :k].sum(1).eq(1).all()
    assert data.x[6, ANALOG_KINDS.index("R")] == 1 and data.x[6, k + 1] == pytest.approx(0.3)  # log10(1k)/10
    assert data.x[1, k + 2] == 1  # the unknown W/L
    ground = n_dev + nets.index("0")
    assert data.x[ground, k + 3] == 1 and data.x[n_dev + nets.index("vdd"), k + 4] == 1
    # vdd: 4 MOS sources and bulks of PMOS (2 instances x 2 pins), the V's pos
    vdd = n_dev + nets.index("vdd")
    assert data.x[vdd, k + 6 + ANALOG_ROLES.index("source")] == pytest.approx(math.log(3))
    assert data.x[vdd, k + 6 + ANALOG_ROLES.index("bulk")] == pytest.approx(math.log(3))
    # hierarchy: column 0 = x1/xa, x1/xb; column 1 = x1
    assert data.instance_paths == [["x1/xa", "x1/xb"], ["x1"]]
    assert data.level_labels[:6, 0].tolist() == [0, 0, 0, 1, 1, 1]
    assert data.level_labels[:6, 1].tolist() == [0] * 6
    assert data.level_labels[n_dev + nets.index("x1/mid")].tolist() == [-1, 0]
    assert data.level_labels[6:11].eq(-1).all()
    # the coupling edges run K -> L (both ways)
    coupling = data.edge_attr[:, ANALOG_ROLES.index("coupling")].bool()
    assert sorted(data.edge_index[:, coupling].t().tolist()) == [[7, 9], [8, 9], [9, 7], [9, 8]]


def test_graph_stores_both_directions():
    data = to_data(flatten(_inverter_design()))
    ei = data.edge_index
    fwd = set(map(tuple, ei.t().tolist()))
    assert all((b, a) in fwd for a, b in fwd)


def test_top_subcircuit_is_the_design_when_the_top_level_is_empty():
    d = _inverter_design()
    d.elements = []
    del d.subckts["inv"].params["w"]
    d.subckts["inv"].params["w"] = "1u"
    nl = flatten(d)
    assert [x.name for x in nl.devices][:2] == ["xa/m1", "xa/m2"]
    assert nl.ports == {"i", "o", "vdd"}
    data = to_data(nl)
    k = len(ANALOG_KINDS)
    assert int(data.x[:, k + 5].sum()) == 3


def test_errors_name_the_line():
    d = _inverter_design()
    d.elements.append(Element("x9", "X", ["a"], model="nope", where="t.sp:20"))
    with pytest.raises(NetlistError, match=r"t.sp:20: instance 'x9' of subcircuit 'nope', which is not defined"):
        flatten(d)
    d = _inverter_design()
    d.elements.append(Element("x9", "X", ["a", "b"], model="inv", where="t.sp:21"))
    with pytest.raises(NetlistError, match=r"t.sp:21: instance 'x9' connects 2 nets, but subcircuit 'inv' has 3 ports"):
        flatten(d)
    d = _inverter_design()
    d.subckts["inv"].elements.append(Element("xr", "X", ["a", "y", "vdd"], model="buf", where="t.sp:6"))
    with pytest.raises(NetlistError, match=r"instantiates itself: (buf -> inv -> buf|inv -> buf -> inv)"):
        flatten(d)
    d = _inverter_design()
    d.elements.append(Element("m9", "M", ["a", "b"], model="nch", where="t.sp:22"))
    with pytest.raises(NetlistError, match=r"t.sp:22: element 'm9' \(NMOS\) has 2 nets; it takes 3 to 7"):
        flatten(d)
    d = _inverter_design()
    d.elements.append(Element("k2", "K", [], value="1", links=["l1", "l7"], where="t.sp:23"))
    with pytest.raises(NetlistError, match=r"t.sp:23: 'k2' \(K\) refers to device 'l7', which is not defined"):
        to_data(flatten(d))
    d = _inverter_design()
    d.elements = []
    d.subckts["other"] = Subckt("other", ["a"], elements=[Element("r1", "R", ["a", "0"], value="1")])
    with pytest.raises(NetlistError, match=r"2 subcircuits that nothing instantiates \(buf, other\)"):
        flatten(d)
    with pytest.raises(NetlistError, match="nothing to read"):
        flatten(Design(name="e", source="e.sp"))


def test_size_is_checked_before_building(monkeypatch):
    import hipool.data.netlists.analog as analog

    monkeypatch.setattr(analog, "MAX_DEVICES", 10)
    with pytest.raises(NetlistError, match="flattens to 11 devices, more than 10"):
        flatten(_inverter_design())


def test_a_graph_batches_like_its_parts():
    from torch_geometric.data import Batch

    a = to_data(flatten(_inverter_design()), depth=2)
    b = to_data(flatten(_inverter_design()), depth=2)
    batch = Batch.from_data_list([a, b])
    assert batch.x.shape[0] == 2 * a.num_nodes
    assert torch.equal(batch.x[: a.num_nodes], a.x)
