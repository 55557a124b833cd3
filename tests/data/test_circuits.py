"""The synthetic circuit benchmark: structure, rules, defects, determinism, no size/degree leak."""

import hashlib

import numpy as np
import pytest
import torch

from hipool.data.circuits import (
    ALL_KINDS,
    DEFECT_KINDS,
    LEVELS,
    LIBRARY,
    NUM_FEATURES,
    faults,
    make_circuit,
    make_circuit_dataset,
)
from hipool.data.circuits.generate import NODE_KINDS
from hipool.data.circuits.library import (
    PORTS,
    canonical,
    check_library,
    is_library_design,
    library_designs,
)
from hipool.data.circuits.parts import RATED, ROLES, in_rated_range, value_feature

SMALL = dict(min_components=60, max_components=300)
#: Defects that exchange two pins and so keep every node's degree.
DEGREE_EXACT = set(DEFECT_KINDS["component"] + DEFECT_KINDS["block"]) | {"output_contention", "interface_mismatch"}


def _kind_seed(kind, start=0):
    """A circuit with a defect of ``kind`` (the first seed from ``start`` that allows it)."""
    level = next(lv for lv in LEVELS if kind in DEFECT_KINDS[lv])
    for seed in range(start, start + 60):
        try:
            return seed, make_circuit(seed, level, kinds=[kind], **SMALL)
        except RuntimeError:
            continue
    raise AssertionError(f"no seed gives {kind}")


def test_library_is_consistent_and_every_design_distinct():
    check_library()
    assert len(LIBRARY) >= 8
    variants = sum(len(t.variants) for t in LIBRARY)
    assert len(library_designs()) == variants  # no two variants are the same netlist
    assert all(len(t.variants) >= 2 for t in LIBRARY)


def test_canonical_form_ignores_internal_names_part_order_and_passive_pin_order():
    wires = [("R", ("IN", "a")), ("C", ("a", "GND")), ("R", ("a", "OUT"))]
    renamed = [("R", ("OUT", "zz")), ("R", ("IN", "zz")), ("C", ("GND", "zz"))]
    ports = {p: p for p in PORTS}
    assert canonical(wires, ports) == canonical(renamed, ports)
    assert is_library_design(wires, ports)  # the first-order RC low-pass
    # polar parts keep their pin order; R and C are not interchangeable
    assert not is_library_design([("C", ("IN", "a")), ("C", ("a", "GND")), ("R", ("a", "OUT"))], ports)
    assert canonical([("CE", ("VCC", "GND"))], ports) != canonical([("CE", ("GND", "VCC"))], ports)


@pytest.mark.parametrize("seed", range(6))
def test_passing_circuit_is_well_formed(seed):
    c = make_circuit(seed, None, **SMALL)
    nl, d = c.netlist, c.data
    assert 60 <= nl.num_components <= 300
    assert all(not v for v in faults(nl).values())
    n = d.num_nodes
    assert n == len(nl.parts) + len(nl.nets)
    assert d.x.shape == (n, NUM_FEATURES) and d.x.dtype == torch.float32
    assert int(d.y) == 0 and int(d.defect_level) == 0 and int(d.defect_kind) == -1 and not d.defect_mask.any()
    ei = d.edge_index
    # undirected, no self-loops or duplicates, bipartite between nets and components
    assert (ei[0] != ei[1]).all()
    pairs = set(map(tuple, ei.t().tolist()))
    assert len(pairs) == ei.size(1) and all((b, a) in pairs for a, b in pairs)
    is_net = d.x[:, 0] == 1
    assert (is_net[ei[0]] != is_net[ei[1]]).all()
    assert d.edge_attr.shape == (ei.size(1), len(ROLES)) and (d.edge_attr.sum(1) == 1).all()
    # every node one kind; components = pins of the netlist
    assert (d.x[:, : len(NODE_KINDS)].sum(1) == 1).all()
    assert int((~is_net).sum()) == len(nl.parts)
    assert ei.size(1) == 2 * sum(len(p.nets) for p in nl.parts)
    # valid values lie in [0, 1)
    value = d.x[~is_net, len(NODE_KINDS)]
    valued = d.x[~is_net][:, [NODE_KINDS.index(t) for t in RATED]].sum(1) == 1
    assert ((value[valued] >= 0) & (value[valued] < 1)).all()
    # ground truth: components of blocks have a block and its subsystem; a block lies in one subsystem
    lv = d.level_labels
    assert lv.shape == (n, 2)
    in_block = lv[:, 0] >= 0
    assert (lv[in_block, 1] >= 0).all()
    for b in torch.unique(lv[in_block, 0]):
        assert torch.unique(lv[lv[:, 0] == b, 1]).numel() == 1
    assert int(lv[:, 0].max()) + 1 == len(nl.blocks) and int(lv[:, 1].max()) + 1 == len(nl.subsystems)
    # the node order is shuffled: component nodes are not the first ids
    assert is_net[: len(nl.parts)].any()


def test_default_sizes_span_100_to_2000_components():
    sizes = []
    for seed in range(4):
        c = make_circuit(seed, LEVELS[seed % 3] if seed % 2 else None)  # certified against the rules
        sizes.append(c.netlist.num_components)
        assert 100 <= sizes[-1] <= 2000
        assert 3 <= len(c.netlist.subsystems) <= 17 and len(c.netlist.blocks) >= 17
    assert max(sizes) > 2 * min(sizes)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_defect_breaks_only_its_level_and_moves_no_pin_count(kind):
    seed, c = _kind_seed(kind)
    base = make_circuit(seed, None, **SMALL)
    assert c.defect.kind == kind
    found = faults(c.netlist)
    assert [lv for lv in LEVELS if found[lv]] == [c.defect.level]
    d, b = c.data, base.data
    assert int(d.y) == 1 and int(d.defect_level) == 1 + LEVELS.index(c.defect.level)
    assert ALL_KINDS[int(d.defect_kind)] == kind
    assert d.defect_mask.any()
    # the same components, nets and edge count as the base design, in the same node order
    assert d.num_nodes == b.num_nodes and d.edge_index.size(1) == b.edge_index.size(1)
    assert torch.equal(d.x[:, : len(NODE_KINDS)].sum(0), b.x[:, : len(NODE_KINDS)].sum(0)) or kind == "wrong_type"
    assert torch.equal(d.level_labels, b.level_labels)
    deg_d = torch.bincount(d.edge_index[0], minlength=d.num_nodes)
    deg_b = torch.bincount(b.edge_index[0], minlength=b.num_nodes)
    if kind in DEGREE_EXACT:
        assert torch.equal(deg_d, deg_b)
    else:  # pins moved between power nets only
        changed = (deg_d != deg_b).nonzero().view(-1)
        assert (d.x[changed, len(NODE_KINDS) + 1] + d.x[changed, len(NODE_KINDS) + 2] == 1).all()


def test_defect_specifics_are_visible_in_the_graph():
    _, c = _kind_seed("value_out_of_range")
    part = c.netlist.parts[c.defect.parts[0]]
    assert not in_rated_range(part.kind, part.value)
    assert not 0 <= value_feature(part.kind, part.value) < 1
    _, c = _kind_seed("wrong_type")
    part = c.netlist.parts[c.defect.parts[0]]
    assert part.kind != part.nominal and in_rated_range(part.kind, part.value)
    assert not c.netlist.block_is_design(part.block, observed=True)  # no valid design looks like it
    _, c = _kind_seed("reversed_polarity")
    part = c.netlist.parts[c.defect.parts[0]]
    assert part.reversed and part.roles()[0] == "neg"
    _, c = _kind_seed("missing_feedback")
    b = c.netlist.parts[c.defect.parts[0]].block
    assert not c.netlist.has_feedback(b) and c.netlist.has_bypass(b)
    _, c = _kind_seed("missing_bypass")
    b = c.netlist.parts[c.defect.parts[0]].block
    assert not c.netlist.has_bypass(b) and c.netlist.has_feedback(b)
    _, c = _kind_seed("output_contention")
    assert any("2 outputs drive" in f for f in faults(c.netlist)["subsystem"])
    _, c = _kind_seed("interface_mismatch")
    assert all("logic output" in f for f in faults(c.netlist)["subsystem"])


def test_dataset_balance_and_options():
    graphs = make_circuit_dataset(30, seed=3, **SMALL)
    y = [int(g.y) for g in graphs]
    assert sum(y) == 15
    levels = [int(g.defect_level) for g in graphs]
    assert [levels.count(i) for i in range(4)] == [15, 5, 5, 5]
    only = make_circuit_dataset(
        6, seed=3, defect_levels=["block"], defect_kinds=["miswired"], fail_fraction=1.0, **SMALL
    )
    assert {ALL_KINDS[int(g.defect_kind)] for g in only} == {"miswired"}


def _digest(graphs):
    h = hashlib.sha256()
    for g in graphs:
        for f in ("x", "edge_index", "edge_attr", "y", "level_labels", "defect_level", "defect_kind", "defect_mask"):
            h.update(getattr(g, f).contiguous().numpy().tobytes())
    return h.hexdigest()


def test_fixed_seed_gives_the_same_dataset_everywhere():
    graphs = make_circuit_dataset(12, seed=0, **SMALL)
    assert _digest(graphs) == _digest(make_circuit_dataset(12, seed=0, **SMALL))
    assert _digest(graphs) != _digest(make_circuit_dataset(12, seed=1, **SMALL))
    # the recorded digest: integer values, fixed log table and PCG64 make it machine-independent
    assert _digest(graphs) == DIGEST


DIGEST = "44438ce2fae0fc3bb34dd448378ef79f6b397d67dd42ac565067b8c5db3fe7ee"


# -- no label in sizes and degrees -------------------------------------------------------------------
_BINS = [1, 2, 3, 4, 5, 6, 7, 9, 13, 17, 33, 65, 129, 10**9]


def _size_degree_features(g):
    deg = torch.bincount(g.edge_index[0], minlength=g.num_nodes).numpy()
    hist = np.histogram(deg, bins=_BINS)[0]
    n, e = g.num_nodes, g.edge_index.size(1)
    return np.concatenate([[np.log(n), np.log(e), deg.max(), deg.mean(), (deg**2).mean()], hist, hist / n])


def _logistic(xtr, ytr, xte):
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-9
    a = torch.tensor((xtr - mu) / sd)
    b = torch.tensor((xte - mu) / sd)
    w = torch.zeros(a.size(1), dtype=torch.float64, requires_grad=True)
    c = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, c], max_iter=300)
    target = torch.tensor(ytr, dtype=torch.float64)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(a @ w + c, target) + 1e-3 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return ((b @ w + c) > 0).numpy().astype(int)


def _knn(xtr, ytr, xte, k=15):
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-9
    dist = ((((xte - mu) / sd)[:, None, :] - ((xtr - mu) / sd)[None]) ** 2).sum(-1)
    return (ytr[np.argsort(dist, 1)[:, :k]].mean(1) > 0.5).astype(int)


def test_size_and_degree_statistics_stay_near_chance():
    graphs = make_circuit_dataset(900, seed=11, **SMALL)
    x = np.stack([_size_degree_features(g) for g in graphs])
    y = np.array([int(g.y) for g in graphs])
    tr, te = slice(0, 600), slice(600, 900)
    for predict in (_logistic, _knn):
        acc = (predict(x[tr], y[tr], x[te]) == y[te]).mean()
        assert acc < 0.58, (predict.__name__, acc)  # chance is 0.5; 300 test circuits: sd ~0.03
    # the same classifier does find a label that is in its features (the test can fail)
    control = make_circuit_dataset(
        200, seed=12, defect_levels=["component"], defect_kinds=["value_out_of_range"], **SMALL
    )
    xc = np.stack([np.concatenate([_size_degree_features(g), [_out_of_range_values(g)]]) for g in control])
    yc = np.array([int(g.y) for g in control])
    assert (_logistic(xc[:140], yc[:140], xc[140:]) == yc[140:]).mean() > 0.95


def _out_of_range_values(g):
    """How many components of a valued type have a value feature outside [0, 1)."""
    valued = g.x[:, [NODE_KINDS.index(t) for t in RATED]].sum(1) == 1
    value = g.x[:, len(NODE_KINDS)]
    return float((valued & ((value < 0) | (value >= 1))).sum())


# -- errors --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(min_components=10), "min_components must be >= 50"),
        (dict(min_components=100, max_components=105), "max_components must be >= min_components + 10"),
        (dict(fail_fraction=1.5), "fail_fraction must be in [0, 1]"),
        (dict(defect_levels=["circuit"]), "defect_levels must be a non-empty subset"),
        (dict(defect_kinds=["short"]), "unknown defect kind(s) 'short'"),
        (dict(defect_levels=["block"], defect_kinds=["unpowered"]), "leaves no kind for level(s) block"),
        (dict(num_circuits=0), "num_circuits must be >= 1"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError) as e:
        make_circuit_dataset(**{"num_circuits": 2, **kwargs})
    assert message in str(e.value)


def test_registry_spec_cache_and_breakdown(tmp_path, monkeypatch):
    from hipool.data import load_dataset
    from hipool.data.circuits import dataset as module

    ds = load_dataset("circuits:n=8,max=200,seed=4", cache_dir=tmp_path)
    assert len(ds) == 8 and ds.num_features == NUM_FEATURES and ds.num_classes == 2
    assert ds.breakdown.attr == "defect_level" and ds.breakdown.names == ("pass", "component", "block", "subsystem")
    fresh = make_circuit_dataset(8, seed=4, max_components=200)
    from hipool.data import summarize

    assert summarize(ds)["groups"] == {"defect_level": {"pass": 4, "component": 2, "block": 1, "subsystem": 1}}
    assert _digest(ds.graphs) == _digest(fresh)
    monkeypatch.setattr(module, "make_circuit_dataset", lambda **kw: pytest.fail("cache not used"))
    again = load_dataset("circuits:n=8,max=200,seed=4", cache_dir=tmp_path)
    assert _digest(again.graphs) == _digest(fresh)
    for spec, message in [
        ("circuits:n=x", "n='x' is not an int"),
        ("circuits:size=3", "'size=3' is not key=value"),
        ("circuits:levels=board", "defect_levels must be"),
    ]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
            load_dataset(spec, cache_dir=tmp_path)


class _Evil:
    """Unpickling this creates the file ``marker``: code from a cache file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize(
    "content", ["pickle", "torch_save", "truncated", "garbage", "wrong_sizes", "flipped_byte", "zero_stride"]
)
def test_a_bad_circuits_cache_is_never_unpickled_but_regenerated(tmp_path, content):
    import pickle
    import re
    import warnings

    from hipool.data import load_dataset

    spec = "circuits:n=3,min=50,max=80,seed=2"
    good = load_dataset(spec, cache_dir=tmp_path)
    (path,) = (tmp_path / "circuits").glob("*.pt")
    marker = tmp_path / "PWNED"
    if content == "pickle":
        path.write_bytes(pickle.dumps(_Evil(marker)))
    elif content == "torch_save":
        torch.save({"x": _Evil(marker)}, path)
    elif content == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif content == "garbage":
        path.write_bytes(b"not a torch file")
    elif content == "flipped_byte":  # torch checks no CRC: x would load with another value
        data = bytearray(path.read_bytes())
        at = data.find(good.graphs[0].x[0].numpy().tobytes())
        assert at > 0
        data[at + 2] ^= 0x40
        path.write_bytes(bytes(data))
    elif content == "zero_stride":  # one stored value posing as a whole tensor
        packed = torch.load(path, weights_only=True)
        packed["x"] = packed["x"][:1, :1].expand(packed["x"].shape)
        torch.save(packed, path)
    else:
        packed = torch.load(path, weights_only=True)
        packed["num_nodes"][0] += 1
        torch.save(packed, path)
    bad = re.escape(str(path)) + r": not a valid hipool circuits cache .* not unpickled"
    with pytest.warns(UserWarning, match=bad):
        again = load_dataset(spec, cache_dir=tmp_path)
    assert not marker.exists()
    assert _digest(again.graphs) == _digest(good.graphs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # regenerated and cached again: read quietly
        assert _digest(load_dataset(spec, cache_dir=tmp_path).graphs) == _digest(good.graphs)


def test_a_failed_circuits_cache_write_is_a_warning_and_leaves_nothing(tmp_path, monkeypatch):
    from hipool.data import load_dataset

    def full_disk(obj, f, *args, **kwargs):
        with open(f, "wb") as out:
            out.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.warns(UserWarning, match=r"circuits: not cached \(.*no space left on device"):
        ds = load_dataset("circuits:n=2,min=50,max=80", cache_dir=tmp_path)
    assert len(ds) == 2 and [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "spec,message",
    [
        ("circuits:n=0", r"n='0' is out of range; n must be in \[1, 100000\]"),
        ("circuits:n=100001", r"n='100001' is out of range"),
        ("circuits:n=" + "9" * 5000, r"is out of range; n must be in \[1, 100000\]"),
        ("circuits:n=1e3", r"n='1e3' is not an int"),
        ("circuits:seed=-1", r"seed='-1' is out of range"),
        ("circuits:min=49", r"min='49' is out of range; min must be in \[50, 1000000\]"),
        ("circuits:max=1000001", r"max='1000001' is out of range"),
        ("circuits:min=100,max=105", r"max=105 with min=100; max must be at least min \+ 10"),
        ("circuits:fail=nan", r"fail='nan' is not a number"),
        ("circuits:fail=inf", r"fail='inf' is not a number"),
        ("circuits:fail=-0.1", r"fail='-0.1' is out of range; fail must be in \[0.0, 1.0\]"),
        ("circuits:margin=101", r"margin='101' is out of range; margin must be in \[0, 100\]"),
        ("circuits:levels=block+block", r"levels='block\+block' names block twice"),
        ("circuits:levels=", r"defect_levels must be a non-empty subset"),
        ("circuits:seed=1,seed=2", r"seed is given twice"),
        ("circuits:n", r"'n' is not key=value"),
    ],
)
def test_circuit_spec_options_are_checked_before_generating(spec, message, monkeypatch):
    from hipool.data import load_dataset
    from hipool.data.circuits import dataset as module

    monkeypatch.setattr(module, "make_circuit_dataset", lambda **kw: pytest.fail("generated"))
    with pytest.raises(ValueError, match=r"dataset 'circuits:.*" + message):
        load_dataset(spec)


def test_circuit_spec_accepts_the_edges_of_every_range():
    from hipool.data.circuits.dataset import parse_spec

    assert parse_spec("circuits: n = 1 , fail=0, margin=0,seed=0,min=50,max=60") == {
        "n": 1,
        "seed": 0,
        "min": 50,
        "max": 60,
        "fail": 0.0,
        "margin": 0,
        "levels": "component+block+subsystem",
    }
    assert (
        parse_spec("circuits:n=100000,fail=1.0,margin=100,seed=9223372036854775807,min=999990,max=1000000")["n"]
        == 100000
    )
    assert parse_spec("circuits:fail=.25,n=0007")["fail"] == 0.25
