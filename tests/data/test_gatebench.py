"""The ``gates`` benchmark (hipool.data.netlists.gatebench*): cones of real circuits, every
mutation kind on hand-made netlists with a known effect, labels against an independent
simulation, balance, determinism, the cache, the structural hierarchy, bad specs and a missing
data root."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from hipool.cli import main
from hipool.data.netlists.bench import parse_bench
from hipool.data.netlists.equivalence import compare_functions
from hipool.data.netlists.gatebench import build, circuit_files, collect_cones, load_gates, parse_spec, suite_folders
from hipool.data.netlists.gatebench_build import generate, item_graph
from hipool.data.netlists.gatebench_cache import check, pack, unpack
from hipool.data.netlists.gatebench_cones import cone_level_labels, dedupe, extract_cones, structure_hash
from hipool.data.netlists.gatebench_mutate import (
    MUTATION_KINDS,
    SignalValues,
    activation_vectors,
    apply_mutation,
    label_mutation,
)
from hipool.data.netlists.gatebench_podem import ConeIndex
from hipool.data.netlists.gatebench_targets import targeted_vectors
from hipool.data.netlists.gates import to_data
from hipool.data.netlists.simulate import Simulator
from hipool.data.registry import load_dataset, reads_by_name

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
needs_circuits = pytest.mark.skipif(not (SHARED / "circuits" / "iscas85").is_dir(), reason="no shared circuits")
SMALL = "gates:n=24,max=200,suites=iscas85"


def _net(text: str):
    return parse_bench(text, "hand.bench", "hand")


def _cone(text: str):
    """The one cone of a hand-made netlist with one output."""
    (cone,) = extract_cones(_net(text), "hand", 1, 1000)
    return cone.netlist


def _index(netlist, name: str) -> int:
    return next(i for i, g in enumerate(netlist.gates) if g.name == name)


def _equal(cone, kind: str, site: tuple) -> bool:
    m = apply_mutation(cone, kind, site)
    return compare_functions(cone, m.netlist).equal


# y = a.b + a'.c + b.c: the consensus term b.c is redundant
CONSENSUS = """INPUT(a)
INPUT(b)
INPUT(c)
OUTPUT(y)
n = NOT(a)
g1 = AND(a, b)
g2 = AND(n, c)
g3 = AND(b, c)
y = OR(g1, g2, g3)
"""
# y = AND(a, b, o) with o = OR(a, b): y = a.b whatever o does once a.b holds
ABSORB = """INPUT(a)
INPUT(b)
OUTPUT(y)
o = OR(a, b)
y = AND(a, b, o)
"""
# y = a.b + a.c with two copies of the same gate kind (pins exchangeable between them)
TWINS = """INPUT(a)
INPUT(b)
INPUT(c)
OUTPUT(y)
g1 = AND(a, b)
g2 = AND(a, c)
d1 = AND(b, c)
d2 = AND(c, b)
y = OR(g1, g2, d1, d2)
"""


def test_stuck_at_a_redundant_net_passes_and_a_real_one_fails():
    cone = _cone(CONSENSUS)
    assert _equal(cone, "stuck_at_0", (_index(cone, "g3"),))  # the consensus term
    assert not _equal(cone, "stuck_at_0", (_index(cone, "g1"),))
    assert not _equal(cone, "stuck_at_1", (_index(cone, "g3"),))
    absorb = _cone(ABSORB)
    assert _equal(absorb, "stuck_at_1", (_index(absorb, "o"),))  # AND(a, b, 1) = a.b
    assert not _equal(absorb, "stuck_at_0", (_index(absorb, "o"),))
    m = apply_mutation(absorb, "stuck_at_1", (_index(absorb, "o"),))
    assert m.netlist.gates[_index(absorb, "o")].kind == "CONST1" and m.sites == [_index(absorb, "o")]


def test_gate_swap_and_inverted_input_redundant_and_real():
    cone = _cone(ABSORB)
    o, y = _index(cone, "o"), _index(cone, "y")
    assert _equal(cone, "gate_swap", (o,))  # OR -> AND: a.b.(a.b) = a.b
    assert not _equal(cone, "gate_swap", (y,))  # AND -> OR: a + b
    m = apply_mutation(cone, "gate_swap", (o,))
    assert m.netlist.gates[o].kind == "AND" and "OR -> AND" in m.description
    assert _equal(cone, "inverted_input", (o, 1))  # o = a + b': still 1 when a.b
    assert not _equal(cone, "inverted_input", (y, 0))  # a'.b.(a + b)


def test_pin_swap_between_twins_passes_and_a_real_one_fails():
    cone = _cone(TWINS)
    g1, g2 = _index(cone, "g1"), _index(cone, "g2")
    assert _equal(cone, "pin_swap", (g1, 1, g2, 1))  # g1 = a.c, g2 = a.b: the same OR
    assert not _equal(cone, "pin_swap", (g1, 0, g2, 1))  # g1 = c.b, g2 = a.a
    with pytest.raises(ValueError, match="two different gates"):
        apply_mutation(cone, "pin_swap", (g1, 0, g1, 1))
    # a swap that would close a loop is refused: y's pin would read y itself
    assert apply_mutation(cone, "pin_swap", (_index(cone, "y"), 0, g1, 0)) is None


def test_bridge_of_equal_signals_passes_and_of_different_ones_fails():
    cone = _cone(TWINS)
    d1, d2 = _index(cone, "d1"), _index(cone, "d2")
    assert _equal(cone, "bridge", (d1, d2, "AND"))  # two copies of b.c: shorting them changes nothing
    assert not _equal(cone, "bridge", (_index(cone, "a"), _index(cone, "b"), "OR"))
    m = apply_mutation(cone, "bridge", (d1, d2, "OR"))
    assert len(m.netlist.gates) == len(cone.gates) + 1 and m.netlist.gates[-1].kind == "OR"
    assert m.sites == [d1, d2, len(cone.gates)]
    sim = Simulator(m.netlist)  # same inputs and output names as the original
    assert sim.inputs == Simulator(cone).inputs and sim.outputs == Simulator(cone).outputs
    # a bridge between a gate and its own fan-in would close a loop
    assert apply_mutation(cone, "bridge", (_index(cone, "g1"), _index(cone, "a"), "AND")) is None
    root = apply_mutation(cone, "bridge", (_index(cone, "y"), _index(cone, "c"), "AND"))
    assert root is None  # c is in y's cone
    root = apply_mutation(cone, "bridge", (d1, _index(cone, "y"), "AND"))
    assert root is None


def test_cones_of_a_sequential_circuit_cut_at_flip_flops_and_deduplicated():
    s27 = _net(
        "INPUT(G0)\nINPUT(G1)\nOUTPUT(G17)\nG5 = DFF(G10)\nG10 = NOR(G14, G11)\nG14 = NOT(G0)\n"
        "G11 = NOR(G5, G1)\nG17 = NOT(G11)\n"
    )
    cones = extract_cones(s27, "s", 1, 10)
    assert [c.root for c in cones] == ["G17", "G5.D"]
    g5 = cones[1].netlist
    assert [g.name for g in g5.gates if g.kind == "INPUT"] == ["G0", "G1", "G5"]  # the flip-flop is an input
    assert g5.outputs[0][0] == "G10" and cones[1].num_gates == 3 and cones[1].num_inputs == 3
    assert [c.root for c in extract_cones(s27, "s", 3, 10)] == ["G5.D"]  # G17's cone has 2 gates
    assert [c.root for c in extract_cones(s27, "s", 1, 2)] == ["G17"]
    renamed = CONSENSUS.replace("g", "h").replace("a", "x")
    same, other = _cone(CONSENSUS), _cone(renamed)
    assert structure_hash(same) == structure_hash(other)  # names do not count
    assert structure_hash(same) != structure_hash(_cone(ABSORB))
    pins = _cone(CONSENSUS.replace("g1 = AND(a, b)", "g1 = AND(b, a)"))
    assert structure_hash(pins) == structure_hash(same)  # nor the pin order of a commutative gate
    all3 = extract_cones(_net(CONSENSUS), "1", 1, 99) + extract_cones(_net(renamed), "2", 1, 99)
    kept, dropped = dedupe(all3 + extract_cones(_net(ABSORB), "3", 1, 99))
    assert [c.circuit for c in kept] == ["1", "3"] and dropped == 1


def test_level_labels_are_fanout_free_regions_then_regions():
    cone = _cone(TWINS.replace("d2 = AND(c, b)", "d2 = AND(d1, g1)"))  # g1 and d1 read twice: stems
    labels = cone_level_labels(cone)
    data = to_data(cone)
    assert labels.shape == (data.num_nodes, 2) and labels.dtype == torch.long
    kinds = [g.kind for g in cone.gates] + ["OUTPUT"]
    for i, k in enumerate(kinds):
        assert (labels[i] == -1).all() == (k in ("INPUT", "OUTPUT", "CONST0", "CONST1"))
    at = {g.name: labels[i].tolist() for i, g in enumerate(cone.gates)}
    assert at["g2"][0] == at["y"][0] and at["d2"][0] == at["y"][0]  # one reader each: y's region
    assert len({at["g1"][0], at["d1"][0], at["y"][0]}) == 3  # stems head regions of their own
    for col in (0, 1):  # numbered 0.. in node order
        seen = [v for v in labels[:, col].tolist() if v >= 0]
        assert sorted(set(seen)) == list(range(len(set(seen))))
        assert seen[0] == 0 and all(b <= max(seen[: i + 1]) + 1 for i, b in enumerate(seen))
    coarse = {}
    for fine, region in labels.tolist():  # level 2 is a union of level-1 groups
        if fine >= 0:
            assert coarse.setdefault(fine, region) == region


def test_random_vectors_miss_a_wide_and_the_targeted_ones_find_it():
    wide = ["INPUT(x%d)" % i for i in range(40)] + ["OUTPUT(y)"]
    wide += ["g = AND(%s)" % ", ".join(f"x{i}" for i in range(4))]
    wide += ["h = AND(%s)" % ", ".join(f"x{i}" for i in range(4, 40))]
    wide += ["y = AND(g, h)"]
    cone = _cone("\n".join(wide) + "\n")
    m = apply_mutation(cone, "stuck_at_1", (_index(cone, "g"),))  # differs only when h = 1 and g = 0
    original, values = Simulator(cone), SignalValues(cone, seed=0)
    excited = activation_vectors(m, values)
    assert len(excited) and (excited[:, :4].min(axis=1) == 0).all()  # g = 0 on every activating vector
    plain, _ = label_mutation(original, m, exhaustive=16, vectors=4096, seed=0, values=values)
    assert plain.equal and not plain.exhaustive  # 2^-36: no random vector shows it
    aimed = targeted_vectors(ConeIndex(cone), m, 16, seed=0)
    assert aimed.shape == (16, 40) and (aimed[:, 4:] == 1).all()  # h justified to 1
    result, _ = label_mutation(original, m, exhaustive=16, vectors=4096, seed=0, values=values, aim=lambda: aimed)
    assert not result.equal and result.witness is not None
    again = np.array([[result.witness[name] for name in original.inputs]], dtype=np.uint8)
    assert (original.run(again) != Simulator(m.netlist).run(again)).any()


@needs_circuits
def test_labels_agree_with_an_independent_simulation_and_classes_are_balanced():
    options = parse_spec(SMALL)
    root = SHARED
    sources = [(f"iscas85/{p.stem}", p) for p in sorted((root / "circuits" / "iscas85").glob("*.bench"))]
    cones, _, notes = collect_cones(sources, options["min"], options["max"])
    assert cones and "duplicates dropped" in notes[-1]
    assert all(50 <= c.num_gates <= 200 for c in cones)
    result = generate(cones, 24, seed=3)
    labels = [(it.mutation.kind, it.label) for it in result.items]
    assert len(labels) == 24
    for kind in MUTATION_KINDS:  # 2 pairs of each kind, unless a kind ran out and handed them on
        assert labels.count((kind, 0)) == labels.count((kind, 1)) >= 1
    assert [n for n in result.notes if "went to the other kinds" in n] or {
        labels.count((k, 0)) for k in MUTATION_KINDS
    } == {2}
    for p, f in zip(result.items[::2], result.items[1::2]):  # pairs: a pass and a fail of one cone and kind
        assert (p.label, f.label) == (0, 1) and p.cone == f.cone and p.mutation.kind == f.mutation.kind
        assert p.mutation.description != f.mutation.description
    for it in result.items:
        cone = cones[it.cone].netlist
        c = it.comparison
        if it.label == 1:  # the witness tells the two apart
            vector = np.array([[c.witness[n] for n in Simulator(cone).inputs]], dtype=np.uint8)
            assert (Simulator(cone).run(vector) != Simulator(it.mutation.netlist).run(vector)).any()
        else:  # the same vectors again: equal; exhaustive ones are a proof
            again = compare_functions(cone, it.mutation.netlist, num_random=4096, seed=it.seed, extra=it.activating)
            assert again.equal and again.exhaustive == c.exhaustive
        assert it.mutation.sites and all(0 <= s < len(it.mutation.netlist.gates) for s in it.mutation.sites)
    s = result.stats
    assert all(s[k].benign >= 1 and s[k].labelled > s[k].benign for k in MUTATION_KINDS)
    assert sum(s[k].partner for k in MUTATION_KINDS) >= 12  # a partner search for every pair


@needs_circuits
def test_load_is_deterministic_cached_and_has_the_documented_fields(tmp_path, monkeypatch):
    ds = load_gates(SMALL, SHARED, tmp_path / "a")
    assert len(ds) == 24 and ds.num_classes == 2 and ds.class_names == ["pass", "fail"]
    assert ds.breakdown.attr == "mutation_kind" and ds.breakdown.names == MUTATION_KINDS
    assert any(n.startswith("benign rate per mutation kind") for n in ds.notes)
    for g in ds:
        n = g.num_nodes
        assert g.x.shape == (n, 16) and g.edge_attr.shape == (g.edge_index.size(1), 7)
        assert g.level_labels.shape == (n, 2) and g.mutation_mask.shape == (n,) and g.mutation_mask.any()
        assert torch.equal(g.defect_mask, g.mutation_mask & bool(g.y == 1))
        assert g.exhaustive.dtype == torch.bool and 0 <= int(g.source_circuit) < 11
    import hipool.data.netlists.gatebench as module

    monkeypatch.setattr(module, "build", lambda *a, **k: pytest.fail("cache not used"))
    again = load_dataset(SMALL, SHARED, cache_dir=tmp_path / "a")
    _same(ds.graphs, again.graphs)
    marked = load_dataset(SMALL + ",mark=1", SHARED, cache_dir=tmp_path / "a")  # the same cache
    assert marked.num_features == 17
    for g, m in zip(ds, marked):
        assert torch.equal(m.x[:, :16], g.x) and torch.equal(m.x[:, 16], g.mutation_mask.float())
    monkeypatch.undo()
    fresh = load_gates(SMALL, SHARED, tmp_path / "b")  # built again: the same graphs
    _same(ds.graphs, fresh.graphs)
    other = load_gates(SMALL.replace("n=24", "n=24,seed=1"), SHARED, tmp_path / "b")
    assert [g.graph_id for g in other] != [g.graph_id for g in ds]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert set(x.keys()) == set(y.keys())
        for k in x.keys():
            if isinstance(x[k], torch.Tensor):
                assert x[k].dtype == y[k].dtype and torch.equal(x[k], y[k]), k
            else:
                assert x[k] == y[k], k


@needs_circuits
def test_the_cache_round_trip_is_exact_and_a_bad_cache_is_rebuilt(tmp_path):
    graphs, names, stats, notes, cones = build(parse_spec(SMALL.replace("n=24", "n=12")), _iscas85())
    packed = pack(graphs, names, stats, notes, cones)
    check(packed, len(graphs))
    _same(graphs, unpack(packed))
    bad = dict(packed, y=packed["y"] + 5)
    with pytest.raises(ValueError, match="class out of range"):
        check(bad, -1)
    with pytest.raises(ValueError, match="not a hipool gates cache"):
        check({**packed, "extra": 1}, -1)
    ds = load_gates(SMALL.replace("n=24", "n=12"), SHARED, tmp_path)
    (path,) = (tmp_path / "gates").glob("*.pt")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="not a valid hipool gates cache"):
        again = load_gates(SMALL.replace("n=24", "n=12"), SHARED, tmp_path)
    _same(ds.graphs, again.graphs)


def _iscas85():
    return [(f"iscas85/{p.stem}", p) for p in sorted((SHARED / "circuits" / "iscas85").glob("*.bench"))]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("gates:n=0", r"n='0' is out of range; n must be in \[2, 100000\]"),
        ("gates:size=3", r"'size=3' is not key=value with a key among n, seed"),
        ("gates:n=4,n=5", "n is given twice"),
        ("gates:min=300,max=200", "max=200 is below min=300"),
        ("gates:vectors=100", r"vectors must be in \[4096, 1048576\]"),
        ("gates:exhaustive=30", r"exhaustive must be in \[0, 24\]"),
        ("gates:suites=iscas99", "suites='iscas99' names 'iscas99'; join some of iscas85, iscas89, epfl"),
        ("gates:kinds=bridge+bridge", "names bridge twice"),
        ("gates:kinds=", "kinds='' names"),
        ("gates:n=1e3", "is not an int"),
        ("gates:mark=2", r"mark must be in \[0, 1\]"),
    ],
)
def test_bad_specs_are_clear_errors(spec, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        load_dataset(spec, tmp_path, cache_dir=tmp_path)
    assert reads_by_name(spec)


def test_a_missing_data_root_names_where_it_looked(tmp_path, capsys):
    with pytest.raises(
        ValueError, match=re.escape(f"looked for {tmp_path / 'circuits' / 'iscas85'} or {tmp_path / 'iscas85'}")
    ):
        load_dataset("gates", tmp_path, cache_dir=tmp_path)
    (tmp_path / "iscas85").mkdir()
    assert suite_folders(tmp_path, ["iscas85"]) == {"iscas85": tmp_path / "iscas85"}
    with pytest.raises(ValueError, match="holds no circuit"):
        load_dataset("gates:suites=iscas85", tmp_path, cache_dir=tmp_path)
    assert main(["data", "summary", "gates:suites=epfl", "--data-root", str(tmp_path)]) == 2
    assert "no epfl circuits under the data root" in capsys.readouterr().err


def test_circuit_files_skip_hidden_folders_under_the_suite_only(tmp_path):
    """A data root reached through ``..`` (or any dotted folder above the suite) is read; dotted
    files and folders inside the suite are skipped."""
    suite = tmp_path / ".data" / "iscas85"
    (suite / ".hidden").mkdir(parents=True)
    (suite / "sub").mkdir()
    for p in (suite / "c17.bench", suite / "c17.blif", suite / "sub" / "x.aag", suite / ".hidden" / "y.bench"):
        p.write_text("")
    (suite / ".z.bench").write_text("")
    via_dots = tmp_path / ".data" / "sub" / ".." / "iscas85"
    (tmp_path / ".data" / "sub").mkdir()
    assert [p.name for p in circuit_files(via_dots)] == ["c17.bench", "x.aag"]


@needs_circuits
def test_data_summary_shows_kinds_rates_and_the_hierarchy(tmp_path, capsys):
    args = ["data", "summary", SMALL.replace("n=24", "n=12"), "--data-root", str(SHARED), "--cache-dir", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "classes             fail: 6, pass: 6" in out
    assert "mutation_kind       gate_swap: 2, pin_swap: 2" in out
    assert "hierarchy           2 known level(s)" in out and "benign rate per mutation kind" in out


def test_item_graph_maps_the_cone_hierarchy_onto_a_bridged_copy():
    cone = _cone(TWINS)
    from hipool.data.netlists.gatebench_build import GateItem
    from hipool.data.netlists.gatebench_cones import Cone

    m = apply_mutation(cone, "bridge", (_index(cone, "d1"), _index(cone, "a"), "AND"))
    c = compare_functions(cone, m.netlist)
    item = GateItem(0, m, int(not c.equal), c, np.zeros((0, 3), dtype=np.uint8), 0)
    g = item_graph(item, Cone(cone, "hand", "y", 5, 3, structure_hash(cone)), 0)
    labels = cone_level_labels(cone)
    n = len(cone.gates)
    assert g.num_nodes == n + 2  # the bridge's gate, then the output node
    assert torch.equal(g.level_labels[:n], labels[:n]) and torch.equal(g.level_labels[n], labels[_index(cone, "d1")])
    assert (g.level_labels[-1] == -1).all()
    assert g.mutation_mask.nonzero().view(-1).tolist() == sorted(m.sites)
    assert int(g.y) == 1 and g.defect_mask.equal(g.mutation_mask)


def test_the_demo_and_the_cli_know_gates(monkeypatch, tmp_path):
    import hipool.data.netlists.gatebench as module
    from hipool.cli import build_parser
    from hipool.demo import DEMO_DATASETS, DemoSettings, demo_dataset

    assert "gates" in DEMO_DATASETS
    args = build_parser().parse_args(["demo", "--dataset", "gates", "--data-root", str(tmp_path), "--graphs", "40"])
    assert args.dataset == "gates" and args.data_root == str(tmp_path)
    seen = {}
    monkeypatch.setattr(module, "load_gates", lambda spec, root, **kw: seen.update(spec=spec, root=root))
    demo_dataset(DemoSettings(dataset="gates", num_graphs=40, seed=2, data_root=str(tmp_path)))
    assert seen == {"spec": "gates:n=40,seed=2", "root": str(tmp_path)}
    assert DemoSettings(dataset="gates").model.localize == 1.0  # the mutated nodes as the target


def test_the_search_justifies_what_can_be_and_proves_what_cannot():
    import random

    from hipool.data.netlists.gatebench_podem import justify

    cone = _cone(CONSENSUS)
    ix = ConeIndex(cone)
    at = ix.index
    found, status = justify(ix, [(at["g2"], 1), (at["g3"], 1)], random.Random(0))  # a'.c and b.c
    assert status == "found" and found is not None
    vector = np.zeros((1, 3), dtype=np.uint8)
    for i, v in found.items():
        vector[0, ix.column[i]] = v
    assert vector.tolist() == [[0, 1, 1]]  # a, b, c in input order
    assert justify(ix, [(at["g1"], 1), (at["g2"], 1)], random.Random(0)) == (None, "impossible")  # a.b and a'.c
