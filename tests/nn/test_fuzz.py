"""Fuzz tests: every registered pooler (``REGISTRY``, so a new one is fuzzed as soon as it is
registered) and the models, on random small graphs and random arguments.

The contract: the only exception that may escape is a ``ValueError``; when none does, the record
keeps every invariant (:meth:`~hipool.record.PoolOutput.validate`: shapes, indices, finite values)
and every non-empty input graph keeps at least one node; valid input is never refused; and on
valid input, backward gives finite gradients.
"""

from __future__ import annotations

import math
import os
import warnings

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hipool import ModelConfig
from hipool.nn import REGISTRY, build_model
from hipool.nn.given import GivenPool

#: ``HIPOOL_FUZZ=20`` runs twenty times the examples (a longer hunt than the test suite's).
SCALE = max(1, int(os.environ.get("HIPOOL_FUZZ", "1")))
SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NAMES = sorted(REGISTRY)
CHANNELS = 3

#: Values an option may take.  A key missing here is left at its default in the forward tests
#: (and still fuzzed with junk in the constructor test).
VALID = {
    "min_score": [-1.0, 0.0, 0.1, 0.5, 1.0, 2.0],
    "multiplier": [1.0, 0.5, 2, -1.0, 0.0],
    "nonlinearity": ["tanh", "sigmoid", torch.tanh],
    "dropout": [0.0, 0.3],
    "negative_slope": [0.2, 0.0, -0.5],
    "add_self_loops": [False, True],
    "edge_score_method": ["softmax", "tanh", "sigmoid"],
    "add_to_edge_score": [0.5, 0.0, -1.0],
    "seed": [0, 7, None],
    "assign": ["linear", "mlp", "gcn", "graphconv", "sage", "gin"],
    "assign_hidden": [None, 2],
    "dense_max_nodes": [None, 1, 4],
    "mode": ["auto", "dense", "sparse"],
    "edge_threshold": [None, 0.0, 0.1],
    "edge_topk": [None, 1, 3],
    "pool_edge_attr": [False, True],
    "link_norm": ["relative", "nodes", "none"],
    "entropy_norm": [True, False],
    "adj_norm": [True, False],
    "temp": [1.0, 0.5, 3.0],
    "reduce": ["sum", "mean"],
    ("sag", "gnn"): ["graphconv", "gcn", "sage"],
    ("asap", "gnn"): [None, "graphconv", "gcn"],
    ("graclus", "reduce"): ["max", "mean", "sum"],
    ("given", "reduce"): ["sum", "mean", "max", "meanmax"],
    # the poolers of issue 23
    "keep_self_loops": [False, True],
    "edge_reduce": ["sum", "mean"],
    ("kmis", "reduce"): ["sum", "mean", "max", "center"],
    ("kmis", "scorer"): ["linear", "degree", "none"],
    "score_heuristic": ["greedy", None],
    "epsilon": [1e-2, 0.0, 0.5],
    "relative": [True, False],
    "dropped": ["drop", "attach"],
    "tiebreak": ["features", "index"],
    "filter_size": [1, 2, 3],
    "score_term": ["diagonal", "degree"],
    "normalize": ["sym", "row", "none"],
    "connect": ["paths", "edges"],
    ("hosc", "alpha"): [0.0, 0.5, 1.0],
    "mu": [0.0, 0.1, 1.0],
    "ortho": ["mincut", "balance"],
    "height": [2, 3],
    "level": [1, 2],
    "tie_break": ["score", "walks"],
    "max_iter": [1, 5],
    "embedding": [True, False],
    "hops": [None, 1, 2],
    "attention": ["sparsemax", "softmax"],
    "tau": [1.0, 0.5],
    "laplacian": ["combinatorial", "rw", "sym"],
    "assignment": ["normalized", "raw"],
    "tol": [1e-4, 0.0],
    ("bnpool", "alpha"): [1.0, 0.5, 3.0],
    "recon": ["exact", "sampled"],
    "sample_ratio": [1.0, 0.3, 4.0],
    "train_k": [True, False],
    "threshold": [None, 0.2],
}
JUNK = [
    float("nan"),
    float("inf"),
    -float("inf"),
    0,
    -1,
    0.0,
    -0.5,
    1e-300,
    1e300,
    10**400,
    2.5,
    True,
    False,
    None,
    "x",
    "",
    [1],
    {},
]


def _valid(name, key):
    return VALID.get((name, key), VALID.get(key))


@st.composite
def options(draw, name, junk: bool):
    """Pool options for ``name``: valid values, or (``junk``) anything."""
    out = {}
    for key in REGISTRY[name].options:
        choices = _valid(name, key)
        if junk:
            if draw(st.booleans()):
                out[key] = draw(st.sampled_from(JUNK + (choices or [])))
        elif choices is not None and draw(st.booleans()):
            out[key] = draw(st.sampled_from(choices))
    return out


def ratios(name):
    info = REGISTRY[name]
    if info.needs_count:
        return st.integers(1, 6)
    if info.fixed_entry is not None:
        return st.just(info.fixed_entry)
    if info.entry == "order":
        return st.integers(1, 3)
    return st.one_of(
        st.sampled_from([1e-300, 1e-7, 0.01, 0.3, 0.5, 1.0]),
        st.integers(1, 5),
        st.floats(min_value=1e-9, max_value=1.0),
    )


def build(name, ratio, opts, channels=CHANNELS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return REGISTRY[name].build(channels, ratio, opts)


# ---------------------------------------------------------------------------
# random graphs
# ---------------------------------------------------------------------------
GOOD = st.floats(min_value=-3.0, max_value=3.0, width=32)
NON_FINITE = {"nan": float("nan"), "inf": float("inf")}

#: One fault per drawn graph (or none), and whether every pooler must refuse it: ``True`` must
#: raise ``ValueError``, ``None`` depends on the pooler (negative weights are fine where the
#: weights are not degrees; float64 ``x`` is fine for a pooler without parameters; ``groups``
#: matter to ``given`` only).
FAULTS = {
    "x nan": True,
    "x inf": True,
    "x int64": True,
    "x bool": True,
    "x width": True,
    "x float64": None,
    "edge_index out of range": True,
    "batch unsorted": True,
    "edge_weight nan": True,
    "edge_weight inf": True,
    "edge_weight negative": None,
    "edge_attr nan": True,
    "edge_attr inf": True,
    "groups < -1": None,
}


@st.composite
def graphs(draw, clean: bool = False, undirected: bool = False, max_nodes: int = 12):
    """A random batch as a dict of PyG's arguments (plus ``groups`` for ``given``), and whether
    it must be accepted (``True``), refused (``False``) or either (``None``).

    0 to 12 nodes in 1 to 4 graphs (empty ones too), random edges inside the graphs
    (self-loops and repeated edges included), random ``edge_weight`` and ``edge_attr`` (``[E]``
    or ``[E, D]``).  Half of the batches (none with ``clean``) carry one fault of :data:`FAULTS`.
    """
    sizes = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4).filter(lambda s: sum(s) <= max_nodes))
    n = sum(sizes)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes, dtype=torch.long))
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    filled = [g for g, k in enumerate(sizes) if k > 0]
    picks = (
        draw(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)), max_size=3 * n))
        if filled
        else []
    )
    edges = [
        (
            offsets[filled[g % len(filled)]] + a % sizes[filled[g % len(filled)]],
            offsets[filled[g % len(filled)]] + b % sizes[filled[g % len(filled)]],
        )
        for g, a, b in picks
    ]
    if undirected:
        edges += [(b, a) for a, b in edges]
    edge_index = torch.tensor(edges, dtype=torch.long).t().reshape(2, -1)
    num_edges = edge_index.size(1)

    x = torch.tensor(draw(st.lists(GOOD, min_size=n * CHANNELS, max_size=n * CHANNELS))).view(n, CHANNELS)
    edge_weight = None
    if draw(st.booleans()):
        low = 0.125 if undirected else 0.0  # a 0-weight self-loop gives GCN a degree of 0
        edge_weight = torch.tensor(
            draw(st.lists(st.floats(low, 3.0, width=32), min_size=num_edges, max_size=num_edges)), dtype=torch.float32
        )
        if undirected:
            edge_weight[num_edges // 2 :] = edge_weight[: num_edges // 2]
    edge_attr = None
    if draw(st.booleans()):
        d = draw(st.integers(1, 2))
        edge_attr = torch.tensor(
            draw(st.lists(GOOD, min_size=num_edges * d, max_size=num_edges * d)), dtype=torch.float32
        ).view(num_edges, d)
        if d == 1 and draw(st.booleans()):
            edge_attr = edge_attr.view(-1)
    groups = torch.tensor(draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)), dtype=torch.long)

    fault = None if clean or draw(st.booleans()) else draw(st.sampled_from(sorted(FAULTS)))
    where = draw(st.integers(0, 10**6))
    target = fault.split()[0] if fault else None
    if (
        target == "x"
        and n == 0
        or target in ("edge_weight", "edge_attr", "edge_index")
        and num_edges == 0
        or fault == "batch unsorted"
        and len(filled) < 2
        or target == "groups"
        and n == 0
    ):
        fault = target = None  # nowhere to put it
    if fault in ("x nan", "x inf"):
        x.view(-1)[where % x.numel()] = NON_FINITE[fault.split()[1]]
    elif fault in ("x int64", "x bool", "x float64"):
        x = x.to(getattr(torch, fault.split()[1]))
    elif fault == "x width":
        x = torch.cat([x, x[:, :1]], 1)
    elif fault == "edge_index out of range":
        edge_index = edge_index.clone()
        edge_index[where % 2, where % num_edges] = n
    elif fault == "batch unsorted":
        batch = batch.flip(0)
    elif target == "edge_weight":
        edge_weight = torch.rand(num_edges) if edge_weight is None else edge_weight.clone()
        edge_weight[where % num_edges] = -0.5 if fault.endswith("negative") else NON_FINITE[fault.split()[1]]
    elif target == "edge_attr":
        edge_attr = torch.rand(num_edges, 2) if edge_attr is None else edge_attr.clone()
        edge_attr.view(-1)[where % edge_attr.numel()] = NON_FINITE[fault.split()[1]]
    elif fault == "groups < -1":
        groups[where % n] = -2
    accept = True if fault is None else (False if FAULTS[fault] else None)
    return dict(
        x=x,
        edge_index=edge_index,
        batch=batch,
        edge_weight=edge_weight,
        edge_attr=edge_attr,
        groups=groups,
        fault=fault,
    ), accept


def call(pool, g):
    extra = {"groups": g["groups"]} if isinstance(pool, GivenPool) else {}
    return pool(
        g["x"], g["edge_index"], edge_attr=g["edge_attr"], batch=g["batch"], edge_weight=g["edge_weight"], **extra
    )


def check_record(out, g):
    """The record's invariants, and a node kept of every non-empty input graph."""
    out.validate(input_batch=g["batch"])
    assert out.x.size(1) == (CHANNELS if g["x"].dim() == 2 else 1)
    if out.edge_attr is not None and g["edge_attr"] is not None:
        assert out.edge_attr.size(0) == out.edge_index.size(1)


# ---------------------------------------------------------------------------
# constructors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40 * SCALE, **SETTINGS)
@given(data=st.data())
def test_constructor_arguments_are_accepted_or_refused_with_a_value_error(name, data):
    channels = data.draw(st.one_of(st.integers(-2, 8), st.sampled_from(JUNK)), "channels")
    ratio = data.draw(st.one_of(ratios(name), st.sampled_from(JUNK)), "ratio")
    opts = data.draw(options(name, junk=True), "options")
    try:
        pool = build(name, ratio, opts, channels)
    except ValueError as e:
        assert str(e).startswith("model config: "), str(e)
        return
    # Accepted: every numeric argument it was given is finite.
    for value in [channels, ratio, *opts.values()]:
        if isinstance(value, float):
            assert math.isfinite(value), (channels, ratio, opts)
    assert isinstance(pool, torch.nn.Module)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15 * SCALE, **SETTINGS)
@given(data=st.data())
def test_valid_constructor_arguments_are_accepted(name, data):
    build(name, data.draw(ratios(name)), data.draw(options(name, junk=False)))


# ---------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40 * SCALE, **SETTINGS)
@given(data=st.data())
def test_pooler_on_random_graphs(name, data):
    torch.manual_seed(0)
    pool = build(name, data.draw(ratios(name), "ratio"), data.draw(options(name, junk=False), "options"))
    pool.train(data.draw(st.booleans(), "train"))
    g, accept = data.draw(graphs(), "graph")
    try:
        out = call(pool, g)
    except ValueError as e:
        assert accept is not True, f"valid input refused: {e}"
        assert str(e).startswith(type(pool).__name__ + ": "), str(e)
        return
    assert accept is not False, f"{g['fault']} was not refused"
    check_record(out, g)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25 * SCALE, **SETTINGS)
@given(data=st.data())
def test_pooler_gradients_are_finite_on_valid_input(name, data):
    """Valid input: undirected graphs (MinCut and DMoN's spectral terms assume a symmetric ``A``)
    with positive weights; every gradient of every output is finite."""
    torch.manual_seed(data.draw(st.integers(0, 3), "seed"))
    pool = build(name, data.draw(ratios(name), "ratio"), data.draw(options(name, junk=False), "options"))
    g, accept = data.draw(graphs(clean=True, undirected=True), "graph")
    assert accept
    assume(g["x"].size(0) > 0)
    x = g["x"].requires_grad_()
    w = g["edge_weight"].requires_grad_() if g["edge_weight"] is not None else None
    out = call(pool, {**g, "edge_weight": w})
    check_record(out, g)
    gen = torch.Generator().manual_seed(1)
    terms = [out.x, out.edge_weight, out.edge_attr, out.score, *out.aux_losses.values()]
    loss = sum(
        (t * torch.rand(t.shape, generator=gen)).sum()
        for t in terms
        if t is not None and t.is_floating_point() and t.requires_grad
    )
    if not isinstance(loss, torch.Tensor):
        return  # nothing differentiable (Graclus on its own)
    leaves = [x] + ([w] if w is not None else []) + [p for p in pool.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    for i, grad in enumerate(grads):
        assert grad is None or torch.isfinite(grad).all(), f"gradient {i} is not finite"


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------
def _model(name, conv, task="graph"):
    info = REGISTRY[name]
    schedule = [2] if info.needs_count else "given" if name == "given" else [info.example_entry()]
    cfg = ModelConfig(pool=name, schedule=schedule, hidden=4, conv=conv, task=task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_model(cfg, CHANNELS, 2, edge_channels=2 if conv == "gine" else None)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20 * SCALE, **SETTINGS)
@given(data=st.data())
def test_models_on_random_graphs(name, data):
    conv = data.draw(st.sampled_from(["gcn", "gin", "gine"]), "conv")
    task = data.draw(st.sampled_from(["graph", "node"]), "task")
    torch.manual_seed(0)
    model = _model(name, conv, task).eval()
    g, accept = data.draw(graphs(), "graph")
    labels = g["groups"].view(-1, 1)
    if g["fault"] is None and labels.numel() and data.draw(st.integers(0, 9), "short labels") == 0:
        labels = labels[:-1]
        g["fault"] = "level_labels too short"
    # What the model must do: models take no edge_weight, have float32 parameters, read
    # level_labels only with pool: given, and gine needs edge_attr of width 2.
    fault = g["fault"]
    if fault is None or fault.startswith("edge_weight"):
        accept = True
    elif fault == "x float64":
        accept = False
    elif fault.startswith("groups") or fault.startswith("level_labels"):
        accept = name != "given"
    ea = g["edge_attr"]
    if conv == "gine" and accept and not (ea is not None and ea.dim() == 2 and ea.size(1) == 2):
        accept = False
    num_graphs = int(g["batch"].max()) + 1 if g["batch"].numel() else 1
    try:
        logits = model(g["x"], g["edge_index"], g["batch"], g["edge_attr"], level_labels=labels)
    except ValueError as e:
        assert not accept, f"valid input refused: {e}"
        assert str(e).startswith(type(model).__name__ + ": "), str(e)
        return
    assert accept, f"{fault} was not refused"
    rows = g["x"].size(0) if task == "node" else num_graphs
    assert logits.shape == (rows, 2) and torch.isfinite(logits).all()
