"""LaPool (Noutahi et al., arXiv:1905.11577): signal variation, leaders, candidate leaders, the
sparsemax assignment and the pooled graph against a dense float64 reference written from the
paper's equations; the segment sparsemax against its definition (values and gradients); batching,
permutation equivariance, gradients, edge features, small graphs, bad arguments, a model using it,
(the pooler contract runs in ``tests/nn/test_contract.py``).

torch-geometric-pool (tgp) is not installed here, so nothing is compared with its ``LaPooling``.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import pytest
import torch

from hipool import ModelConfig
from hipool.nn import build_model, lapool_ops
from hipool.nn import lapool as lapool_module
from hipool.nn.kmis import undirected
from hipool.nn.lapool import LaPool, candidate_pairs, leader_mask, segment_sparsemax, signal_variation
from tests.nn.graphs import hop_distances
from tests.nn.graphs import sym as _sym

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------------------
# graphs
# ---------------------------------------------------------------------------


def _graph(n: int, seed: int, p: float = 0.2, components: int = 1):
    """A random undirected graph of ``components`` chains-with-chords, random positive symmetric
    weights, features and edge features (width 3, not symmetric)."""
    g = torch.Generator().manual_seed(seed)
    m = torch.triu(torch.rand(n, n, generator=g) < p, 1)
    part = torch.arange(n) * components // n
    m &= part.view(-1, 1) == part.view(1, -1)
    chain = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    chain = chain[:, part[chain[0]] == part[chain[1]]]
    e = _sym(torch.cat([m.nonzero().t(), chain], 1)) if n > 1 else torch.empty(2, 0, dtype=torch.long)
    wu = torch.rand(n, n, generator=g) + 0.5
    wu = wu + wu.t()
    return torch.randn(n, 4, generator=g), e, wu[e[0], e[1]], torch.randn(e.size(1), 3, generator=g)


def _batch(graphs):
    xs, es, ws, eas, bs, off = [], [], [], [], [], 0
    for i, (x, e, w, ea) in enumerate(graphs):
        xs.append(x), es.append(e + off), ws.append(w), eas.append(ea)
        bs.append(torch.full((x.size(0),), i))
        off += x.size(0)
    return torch.cat(xs), torch.cat(es, 1), torch.cat(ws), torch.cat(eas), torch.cat(bs)


def _dense(e: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    v = values.double()
    out = torch.zeros(n, n, *v.shape[1:], dtype=torch.float64)
    out.index_put_((e[0], e[1]), v, accumulate=True)
    return out


def _distances(W: torch.Tensor):
    n = W.size(0)
    return hop_distances([(W[i] != 0).nonzero().view(-1).tolist() for i in range(n)])


def _sparsemax(z):
    """Martins & Astudillo (2016): sort, the support size k(z), the threshold, max(z - τ, 0)."""
    zs = sorted(z, reverse=True)
    k, total = 0, 0.0
    for j, v in enumerate(zs, start=1):
        if 1 + j * v > total + v:
            k, total = j, total + v
        else:
            break
    tau = (sum(zs[:k]) - 1) / k
    return [max(v - tau, 0.0) for v in z]


# ---------------------------------------------------------------------------
# the dense reference
# ---------------------------------------------------------------------------
def _reference(
    x,
    e,
    w,
    ea,
    *,
    laplacian="combinatorial",
    hops=None,
    attention="sparsemax",
    tau=1.0,
    distance_weight=True,
    reduce="sum",
    keep_self_loops=False,
):
    n = x.size(0)
    x = x.double()
    A = _dense(e, w, n)
    W = A.clone()
    W.fill_diagonal_(0)
    W = torch.maximum(W, W.t())
    deg = W.sum(1)
    eye = torch.eye(n, dtype=torch.float64)
    if laplacian == "combinatorial":
        L = torch.diag(deg) - W
    elif laplacian == "rw":
        L = eye - torch.where(deg > 0, 1 / deg, torch.zeros_like(deg)).view(-1, 1) * W
    else:
        dinv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
        L = eye - dinv.view(-1, 1) * W * dinv.view(1, -1)
    V = (L @ x).norm(dim=1)
    nbrs = [(W[i] != 0).nonzero().view(-1).tolist() for i in range(n)]
    leaders = [i for i in range(n) if all(V[i] >= V[j] for j in nbrs[i])]
    slot = {ld: c for c, ld in enumerate(leaders)}
    dist = _distances(W)
    S = torch.zeros(n, len(leaders), dtype=torch.float64)
    for i in range(n):
        if i in slot:
            S[i, slot[i]] = 1.0
            continue
        reach = [ld for ld in leaders if dist[i][ld] is not None]
        cands = [ld for ld in reach if hops is None or dist[i][ld] <= hops]
        if not cands:
            d = min(dist[i][ld] for ld in reach)
            cands = [ld for ld in reach if dist[i][ld] == d]
        cos = [float(x[i] @ x[ld] / (x[i].norm() * x[ld].norm())) for ld in cands]
        z = [c / (dist[i][ld] if distance_weight else 1) / tau for c, ld in zip(cos, cands)]
        p = _sparsemax(z) if attention == "sparsemax" else torch.softmax(torch.tensor(z), 0).tolist()
        for ld, v in zip(cands, p):
            S[i, slot[ld]] = v
    X = S.t() @ x
    if reduce == "mean":
        X = X / S.sum(0).view(-1, 1)
    Ap = S.t() @ A @ S
    Ep = torch.einsum("ia,ijd,jb->abd", S, _dense(e, ea, n), S)
    if not keep_self_loops:
        off = ~torch.eye(len(leaders), dtype=torch.bool)
        Ap, Ep = Ap * off, Ep * off.unsqueeze(-1)
    return V, torch.tensor(leaders), S, X, Ap, Ep


def _pooled(out):
    k = out.num_nodes
    return _dense(out.edge_index, out.edge_weight.detach(), k), _dense(out.edge_index, out.edge_attr.detach(), k)


CONFIGS = [
    {},
    {"hops": 1},
    {"hops": 2, "laplacian": "rw"},
    {"laplacian": "sym", "attention": "softmax", "tau": 0.5},
    {"distance_weight": False, "tau": 0.2, "reduce": "mean"},
    {"keep_self_loops": True, "hops": 3},
]


def _no_dense_route(*args, **kwargs):
    return None


@pytest.fixture(params=["dense", "blocks", "pairs"])
def route(request, monkeypatch):
    """The ways LaPool forms its candidates, assignment and pooled graph: the dense route
    (:func:`~hipool.nn.lapool.dense_route`, the default with ``hops=None`` on graphs of modest
    size), the candidate pairs found in dense blocks of graphs (what the dense route declines:
    ``dense_route`` returning ``None``), and pair by pair (``DENSE_BLOCK = 0``: what a graph too
    large for one block takes), with the sorted-key search of seen pairs (``BITMAP_LIMIT = 0``)."""
    if request.param == "blocks":
        monkeypatch.setattr(lapool_module, "dense_route", _no_dense_route)
    if request.param == "pairs":
        monkeypatch.setattr(lapool_ops, "DENSE_BLOCK", 0)
        monkeypatch.setattr(lapool_ops, "BITMAP_LIMIT", 0)
    return request.param


@pytest.mark.parametrize("options", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_everything_matches_the_dense_reference(options, route):
    x, e, w, ea = _graph(18, 0, components=2)
    out = LaPool(4, **options)(x.double(), e, edge_attr=ea.double(), edge_weight=w.double())
    out.validate()
    V, leaders, S, X, Ap, Ep = _reference(x, e, w, ea, **options)
    torch.testing.assert_close(out.variation, V)
    assert torch.equal(out.leaders, leaders) and 2 <= leaders.numel() < 18
    torch.testing.assert_close(out.assignment_matrix().detach(), S)
    torch.testing.assert_close(out.x.detach(), X)
    A_out, E_out = _pooled(out)
    torch.testing.assert_close(A_out, Ap)
    torch.testing.assert_close(E_out, Ep)
    assert torch.equal(A_out != 0, Ap != 0)  # the pooled pairs: exactly those S^T A S reaches
    first_max = S.argmax(1)
    assert torch.equal(out.cluster, first_max)
    if options.get("attention", "sparsemax") == "sparsemax":
        assert (S > 0).sum() < S.numel()  # sparse rows


def test_leaders_are_local_maxima_of_the_signal_variation_by_hand():
    # path 0-1-2-3-4 with scalar features: (LX)_i = d_i x_i - sum of neighbours
    e = _sym(torch.stack([torch.arange(4), torch.arange(1, 5)]))
    x = torch.tensor([[0.0], [3.0], [0.0], [0.0], [1.0]])
    ei, w = undirected(e, None, 5)
    V = signal_variation(x, ei, w)
    assert V.tolist() == [3.0, 6.0, 3.0, 1.0, 1.0]
    # 1 beats its neighbours (3, 3); 4 ties with its only neighbour 3 and leads; 3 loses to 2
    assert leader_mask(V, ei).tolist() == [False, True, False, False, True]
    out = LaPool(1)(x, e)
    assert out.leaders.tolist() == [1, 4] and out.num_nodes == 2
    assert out.cluster[out.leaders].tolist() == [0, 1]
    # zero features have similarity 0 to every leader, so logits β·cos of 0: an even split
    torch.testing.assert_close(out.assignment_matrix()[0], torch.tensor([0.5, 0.5]))
    x2 = torch.tensor([[1.0], [3.0], [-1.0], [0.5], [1.0]])
    out2 = LaPool(1, distance_weight=False)(x2, e)
    rows = out2.assignment_matrix()
    torch.testing.assert_close(rows.sum(1), torch.ones(5))


@pytest.mark.parametrize("search", ["bitmap", "sorted", "dense"])
def test_candidate_pairs_by_breadth_first_search(search, monkeypatch):
    x, e, w, _ = _graph(20, 3, p=0.1, components=2)
    ei, _ = undirected(e, None, 20)
    leaders = torch.zeros(20, dtype=torch.bool)
    leaders[[0, 7, 15]] = True
    W = _dense(ei, torch.ones(ei.size(1)), 20)
    dist = _distances(W)
    lead = [0, 7, 15]
    if search == "sorted":
        monkeypatch.setattr(lapool_ops, "BITMAP_LIMIT", 0)
    batch = (torch.arange(20) >= 10).long()  # the two components as two graphs
    for hops in (None, 1, 2):
        if search == "dense":
            if hops is not None:
                continue
            chunks = lapool_ops.dense_chunks(batch, leaders.nonzero().view(-1), 1)
            assert chunks == [(0, 20, 0, 3)]
            node, slot, d = lapool_ops.dense_candidate_pairs(ei, leaders, chunks)
            assert torch.equal(node * 3 + slot, torch.sort(node * 3 + slot).values)  # (node, slot) order
            assert lapool_ops.dense_candidate_pairs(ei, leaders, chunks, max_steps=1) is None
            # without the distances: the same pairs from the component labels, distance 1
            node0, slot0, d0 = lapool_ops.component_pairs(ei, leaders, chunks)
            assert torch.equal(node0, node) and torch.equal(slot0, slot) and bool((d0 == 1).all())
            # one block per graph: same pairs
            monkeypatch.setattr(lapool_ops, "DENSE_BLOCK", 10 * 2)
            chunks = lapool_ops.dense_chunks(batch, leaders.nonzero().view(-1), 1)
            assert chunks == [(0, 10, 0, 2), (10, 20, 2, 3)]
            node2, slot2, d2 = lapool_ops.dense_candidate_pairs(ei, leaders, chunks)
            assert torch.equal(node, node2) and torch.equal(slot, slot2) and torch.equal(d, d2)
            monkeypatch.undo()
        else:
            node, slot, d = candidate_pairs(ei, leaders, hops)
        got = sorted(zip(node.tolist(), slot.tolist(), d.tolist()))
        want = []
        for i in range(20):
            if i in lead:
                continue
            reach = [(c, dist[i][ld]) for c, ld in enumerate(lead) if dist[i][ld] is not None]
            near = [(c, d_) for c, d_ in reach if hops is None or d_ <= hops]
            if not near:
                dmin = min(d_ for _, d_ in reach)
                near = [(c, d_) for c, d_ in reach if d_ == dmin]
            want += [(i, c, d_) for c, d_ in near]
        assert got == sorted(want), hops
        if hops == 1:
            assert (d > 1).any()  # nodes with no leader within one hop took their nearest


def test_segment_sparsemax_values_and_gradients():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(30, generator=g, dtype=torch.float64) * 2
    row = torch.randint(0, 7, (30,), generator=g)
    row[0] = 9  # a row of one entry (rows 7, 8 have none)
    p = segment_sparsemax(z, row, 10)
    for r in range(10):
        m = row == r
        if m.any():
            torch.testing.assert_close(p[m], torch.tensor(_sparsemax(z[m].tolist()), dtype=torch.float64))
            torch.testing.assert_close(p[m].sum(), torch.tensor(1.0, dtype=torch.float64))
    assert float(p[0]) == 1.0 and (p == 0).any()
    zz = z.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: segment_sparsemax(t, row, 10), (zz,))
    assert segment_sparsemax(z.float(), row, 10).dtype == torch.float32


# ---------------------------------------------------------------------------
# batching, equivariance, gradients
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"hops": 1, "attention": "softmax"}])
def test_a_batch_gives_what_each_graph_gives_alone(options, route):
    graphs = [_graph(n, seed, components=c) for seed, (n, c) in enumerate(((12, 1), (1, 1), (9, 2), (7, 1)))]
    x3, e3, w3, ea3 = graphs[3]
    graphs[3] = (x3, torch.empty(2, 0, dtype=torch.long), torch.empty(0), torch.empty(0, 3))
    pool = LaPool(4, **options)
    x, e, w, ea, batch = _batch(graphs)
    whole = pool(x, e, edge_attr=ea, batch=batch, edge_weight=w)
    whole.validate(input_batch=batch)
    start = 0
    for g, (xg, eg, wg, eag) in enumerate(graphs):
        alone = pool(xg, eg, edge_attr=eag, edge_weight=wg)
        mine = whole.batch == g
        off = int(mine.nonzero()[0])
        torch.testing.assert_close(whole.x[mine], alone.x)
        assert torch.equal(whole.cluster[start : start + xg.size(0)] - off, alone.cluster)
        keep = whole.batch[whole.edge_index[0]] == g
        assert torch.equal(whole.edge_index[:, keep] - off, alone.edge_index)
        torch.testing.assert_close(whole.edge_weight[keep], alone.edge_weight)
        torch.testing.assert_close(whole.edge_attr[keep], alone.edge_attr)
        start += xg.size(0)
    assert torch.bincount(whole.batch)[3] == 7  # the edgeless graph: every node leads


def test_permuting_the_nodes_permutes_the_output():
    x, e, w, ea = _graph(16, 5, components=2)
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(1))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(16)
    for options in ({}, {"hops": 1}):
        pool = LaPool(4, **options)
        out = pool(x, e, edge_attr=ea, edge_weight=w)
        outp = pool(x[perm], inv[e], edge_attr=ea, edge_weight=w)
        assert torch.equal(torch.sort(perm[outp.leaders]).values, out.leaders)
        # output nodes are numbered by leader index: map them through the leaders
        relabel = torch.argsort(torch.argsort(perm[outp.leaders]))  # outp node -> out node
        assert torch.equal(relabel[outp.cluster[inv]], out.cluster)
        torch.testing.assert_close(outp.x[torch.argsort(relabel)], out.x)
        Ap, Ep = _pooled(outp)
        back = torch.argsort(relabel)
        torch.testing.assert_close(Ap[back][:, back], _pooled(out)[0])
        torch.testing.assert_close(Ep[back][:, back], _pooled(out)[1])


def test_gradients_reach_the_features_weights_and_edge_features(route):
    x, e, w, ea = _graph(14, 5, components=2)
    x[3] = 0.0  # a node of zero features (split over two leaders): similarity 0, finite gradients
    assert LaPool(4)(x, e, edge_weight=w).edge_index.size(1) > 0
    x = x.clone().requires_grad_()
    w = w.clone().requires_grad_()
    ea = ea.clone().requires_grad_()
    for attention in ("sparsemax", "softmax"):
        out = LaPool(4, attention=attention)(x, e, edge_attr=ea, edge_weight=w)
        gen = torch.Generator().manual_seed(0)
        loss = (out.x**2).sum() + out.unpool(out.x).sum()
        loss = loss + (out.edge_weight * torch.rand(out.edge_weight.shape, generator=gen)).sum()
        loss = loss + (out.edge_attr * torch.rand(out.edge_attr.shape, generator=gen)).sum()
        gx, gw, gea = torch.autograd.grad(loss, (x, w, ea))
        for grad in (gx, gw, gea):
            assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert list(LaPool(4).parameters()) == []


# ---------------------------------------------------------------------------
# small graphs, bad arguments
# ---------------------------------------------------------------------------
def test_no_edges_one_node_and_no_node():
    pool = LaPool(3)
    out = pool(torch.randn(4, 3), torch.empty(2, 0, dtype=torch.long), edge_attr=torch.empty(0, 2))
    out.validate()
    assert out.leaders.tolist() == [0, 1, 2, 3] and out.edge_index.size(1) == 0 and out.edge_attr.shape == (0, 2)
    assert torch.equal(out.assignment_matrix(), torch.eye(4))
    one = pool(torch.randn(1, 3), torch.empty(2, 0, dtype=torch.long))
    assert one.num_nodes == 1 and one.cluster.tolist() == [0]
    empty = pool(torch.randn(0, 3), torch.empty(2, 0, dtype=torch.long))
    assert empty.num_nodes == 0 and empty.edge_index.shape == (2, 0)
    # a one-dimensional edge_attr keeps its shape
    e = _sym(torch.tensor([[0, 1], [1, 2]]))
    flat = pool(torch.randn(3, 3), e, edge_attr=torch.arange(4.0))
    assert flat.edge_attr is not None and flat.edge_attr.dim() == 1
    half = pool(torch.randn(3, 3).half(), e, edge_attr=torch.ones(4, 2).half())
    assert half.x.dtype == half.edge_weight.dtype == half.edge_attr.dtype == torch.float16


def test_negative_weights_are_refused():
    x, e, w, _ = _graph(5, 0)
    with pytest.raises(ValueError, match=r"^LaPool: 'edge_weight' must be >= 0 \(LaPool's Laplacian"):
        LaPool(4)(x, e, edge_weight=-w)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"in_channels": 0}, "'in_channels'"),
        ({"in_channels": 2.0}, "'in_channels'"),
        ({"laplacian": "normalized"}, "'laplacian'"),
        ({"hops": 0}, "'hops'"),
        ({"hops": 1.5}, "'hops'"),
        ({"attention": "entmax"}, "'attention'"),
        ({"tau": 0.0}, "'tau'"),
        ({"tau": float("inf")}, "'tau'"),
        ({"distance_weight": 1}, "'distance_weight'"),
        ({"reduce": "max"}, "'reduce'"),
        ({"keep_self_loops": "no"}, "'keep_self_loops'"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, name):
    args = {"in_channels": 4, **kwargs}
    with pytest.raises(ValueError, match=f"^LaPool: {name}"):
        LaPool(args.pop("in_channels"), **args)


# ---------------------------------------------------------------------------
# a model that uses it (the contract runs in tests/nn/test_contract.py)
# ---------------------------------------------------------------------------
def test_a_model_with_two_natural_levels():
    cfg = ModelConfig(pool="lapool", schedule=["natural", "natural"], hidden=8, conv="gcn")
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(cfg, 4, 3)
    x, e, w, ea, batch = _batch([_graph(n, s) for s, n in enumerate((10, 7))])
    logits, hierarchy = model(x, e, batch, return_hierarchy=True)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_merge_order_sorts_two_sorted_parts():
    g = torch.Generator().manual_seed(4)
    keys = torch.randperm(60, generator=g)[:40]
    first, second = torch.sort(keys[:15]).values, torch.sort(keys[15:]).values
    order = lapool_ops.merge_order(first, second)
    assert torch.equal(torch.cat([first, second])[order], torch.sort(keys).values)
    assert torch.equal(lapool_ops.merge_order(first, second[:0]), torch.arange(15))


# ---------------------------------------------------------------------------
# the dense route against the sparse ones: values and gradients, and where each is taken
# ---------------------------------------------------------------------------
def _odd_graph(seed: int):
    """Three components (chains with chords), two isolated nodes, a self-loop and an edge given in
    one direction only."""
    x, e, w, ea = _graph(16, seed, p=0.3, components=3)
    g = torch.Generator().manual_seed(seed + 100)
    extra = torch.tensor([[2, 5], [2, 9]])  # a self-loop on 2, and 5 -> 9 alone
    e = torch.cat([e, extra], 1)
    w = torch.cat([w, torch.rand(2, generator=g) + 0.5])
    ea = torch.cat([ea, torch.randn(2, 3, generator=g)])
    x = torch.cat([x, torch.randn(2, 4, generator=g)])  # nodes 16, 17: isolated
    return x, e, w, ea


def _route_cases():
    """Graphs for the routes' comparison, each with the ``DENSE_BLOCK`` of its dense run (``None``:
    the default)."""
    batch = _batch([_graph(11, 1), _graph(1, 2), _odd_graph(3), _graph(9, 4, components=2), _graph(6, 5, p=0.6)])
    uneven = _batch([_graph(40, 12, p=0.1)] + [_graph(2 + i % 2, 13 + i) for i in range(6)])
    x, e, w, ea = _odd_graph(6)
    zero = w.clone()
    zero[::3] = 0.0  # edges of weight 0: the pooled pairs from the structure, not from S^T A S > 0
    return {
        "zero weights": ((x, e, zero, ea, None), None),
        "one graph": ((*_graph(24, 7, p=0.25), None), None),
        "components and isolated nodes": ((x, e, w, ea, None), None),
        "a batch": (batch, None),
        "a batch in blocks": (batch, 150),  # three blocks of graphs
        "an uneven batch": (uneven, None),  # per-graph products graph by graph, not padded
        "a batch with an empty graph": ((*batch[:4], torch.where(batch[4] >= 2, batch[4] + 1, batch[4])), None),
    }


ROUTE_OPTIONS = [
    {"distance_weight": dw, "attention": att, "reduce": red, "tau": tau}
    for dw in (True, False)
    for att in ("sparsemax", "softmax")
    for red, tau in (("sum", 1.0), ("mean", 0.4))
] + [
    {"attention": "softmax", "keep_self_loops": True},
    {"keep_self_loops": True, "distance_weight": False},
    {"attention": "softmax", "tau": 1e-3},  # softmax entries that underflow to 0
]


def _pool_and_grads(case, options, seed: int = 0):
    """LaPool after a linear layer, in float64: the record and the gradients of a loss on every
    output (pooled features, edge weights and features, the lifted features through ``S``) with
    respect to the input features, the edge weights and features, and the layer's parameters."""
    x0, e, w, ea, batch = case
    torch.manual_seed(seed)
    lin = torch.nn.Linear(4, 4).double()
    x0, w, ea = (t.double().clone().requires_grad_() for t in (x0, w, ea))
    out = LaPool(4, **options)(lin(x0), e, edge_attr=ea, batch=batch, edge_weight=w)
    g = torch.Generator().manual_seed(seed)
    loss = (out.x * torch.rand(out.x.shape, generator=g, dtype=torch.float64)).sum()
    loss = loss + (out.edge_weight * torch.rand(out.edge_weight.shape, generator=g, dtype=torch.float64)).sum()
    loss = loss + (out.edge_attr * torch.rand(out.edge_attr.shape, generator=g, dtype=torch.float64)).sum()
    lifted = out.unpool(out.x)
    loss = loss + (lifted * torch.rand(lifted.shape, generator=g, dtype=torch.float64)).sum()
    loss.backward()
    grads = [x0.grad, w.grad, ea.grad, lin.weight.grad, lin.bias.grad]
    return out, grads


def _same_record(a, b):
    for name in ("x", "edge_weight", "edge_attr"):
        torch.testing.assert_close(getattr(a, name).detach(), getattr(b, name).detach())
    for name in ("edge_index", "batch", "cluster", "leaders"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    torch.testing.assert_close(a.assignment_matrix().detach(), b.assignment_matrix().detach())


class _Spy:
    """Counts what :func:`~hipool.nn.lapool.dense_route` returned (``taken``/``declined``)."""

    def __init__(self, monkeypatch):
        self.taken = self.declined = 0
        self.inner = lapool_module.dense_route
        monkeypatch.setattr(lapool_module, "dense_route", self)

    def __call__(self, *args, **kwargs):
        got = self.inner(*args, **kwargs)
        if got is None:
            self.declined += 1
        else:
            self.taken += 1
        return got


@pytest.mark.parametrize("case", list(_route_cases()))
@pytest.mark.parametrize("options", ROUTE_OPTIONS, ids=[str(o) for o in ROUTE_OPTIONS])
def test_the_dense_route_gives_the_sparse_routes_values_and_gradients(case, options, monkeypatch):
    graph, block = _route_cases()[case]
    with monkeypatch.context() as m:
        if block is not None:
            m.setattr(lapool_ops, "DENSE_BLOCK", block)
        spy = _Spy(m)
        dense, dense_grads = _pool_and_grads(graph, options)
    assert (spy.taken, spy.declined) == (1, 0)
    dense.validate(input_batch=graph[4])
    for fallback in ("blocks", "pairs"):
        with monkeypatch.context() as m:
            if fallback == "blocks":
                m.setattr(lapool_module, "dense_route", _no_dense_route)
            else:
                m.setattr(lapool_ops, "DENSE_BLOCK", 0)
            other, other_grads = _pool_and_grads(graph, options)
        _same_record(dense, other)
        for got, want in zip(dense_grads, other_grads):
            torch.testing.assert_close(got, want)


def test_the_pooled_pairs_by_product_or_expansion_agree(monkeypatch):
    """Inside the dense route, ``Sᵀ A S`` by dense products or by the sparse expansion, on either
    side of the boundary ``EXPANSION_COST Σ_e nnz(S_u) nnz(S_v) < nodes w²``: same record, same
    gradients; and a batch in several blocks, all multiplied or all expanded."""
    calls = []
    inner = lapool_ops.sparse_quotient
    monkeypatch.setattr(lapool_ops, "sparse_quotient", lambda *a: calls.append(a) or inner(*a))
    one = (*_graph(14, 14, p=0.3), None)
    batch = _route_cases()["a batch"][0]
    for options in ({}, {"distance_weight": False}, {"attention": "softmax"}):
        out, _ = _pool_and_grads(one, options)
        nnz = (out.assignment_matrix().detach() != 0).sum(1)
        expansion = int((nnz[one[1][0]] * nnz[one[1][1]]).sum())
        dense_cost = 14 * out.num_nodes**2
        at = Fraction(dense_cost, expansion)  # exactly at the boundary
        runs = {}
        for label, cost in (("below", at - Fraction(1, 10**9)), ("at", at)):
            monkeypatch.setattr(lapool_ops, "EXPANSION_COST", cost)
            calls.clear()
            runs[label] = _pool_and_grads(one, options)
            assert len(calls) == (label == "below"), label
        _same_record(runs["at"][0], runs["below"][0])
        for got, want in zip(runs["at"][1], runs["below"][1]):
            torch.testing.assert_close(got, want)
        monkeypatch.setattr(lapool_ops, "DENSE_BLOCK", 150)
        results = []
        for cost, expanded in ((0, 3), (1e12, 0)):
            monkeypatch.setattr(lapool_ops, "EXPANSION_COST", cost)
            calls.clear()
            results.append(_pool_and_grads(batch, options))
            assert len(calls) == expanded  # one per block
        monkeypatch.setattr(lapool_ops, "DENSE_BLOCK", 1 << 24)
        _same_record(*[r[0] for r in results])
        for got, want in zip(*[r[1] for r in results]):
            torch.testing.assert_close(got, want)


def _twins(copies: int):
    """``copies`` disjoint copies of one connected random graph of 10 nodes, with the same features
    (so the same leaders in each)."""
    x, e, w, ea = _graph(10, 8, p=0.3)
    return (
        x.repeat(copies, 1),
        torch.cat([e + 10 * c for c in range(copies)], 1),
        w.repeat(copies),
        ea.repeat(copies, 1),
        None,
    )


@pytest.mark.parametrize("copies", [2, 3, 5])
def test_the_dense_route_declines_below_its_fill(copies, monkeypatch):
    """``DENSE_FILL``: the dense route is taken when the candidate pairs and the leaders fill at
    least that share of the padded entries (``nodes x leaders`` here), declined just above."""
    case = _twins(copies)
    leaders = _pool_and_grads(case, {})[0].num_nodes // copies
    entries = copies * ((10 - leaders) * leaders + leaders)  # a follower: every leader of its copy
    padded = 10 * copies * copies * leaders
    fill = entries / padded
    above = math.nextafter(fill, 1.0)
    assert fill * padded == entries and above * padded > entries  # exactly at the boundary, then past it
    results = []
    for share, taken in ((fill, 1), (above, 0)):
        monkeypatch.setattr(lapool_ops, "DENSE_FILL", share)
        spy = _Spy(monkeypatch)
        results.append(_pool_and_grads(case, {}))
        assert (spy.taken, spy.declined) == (taken, 1 - taken)
        monkeypatch.undo()
    _same_record(results[0][0], results[1][0])
    for got, want in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(got, want)


def test_the_dense_route_blocks_at_dense_block(monkeypatch):
    """``DENSE_BLOCK``: a graph of ``n x l`` padded entries fits a block of exactly that many; one
    less sends it to the pair route.  Two graphs share a block while ``(n_1 + n_2) max(l)`` fits."""
    a, b = _graph(12, 9, p=0.3), _graph(8, 10, p=0.4)
    case = _batch([a, b])
    leaders = [_pool_and_grads((*g, None), {})[0].num_nodes for g in (a, b)]
    assert lapool_ops.slot_blocks([12, 8], leaders) == [
        lapool_ops.SlotBlock(0, 2, 0, 20, 0, sum(leaders), max(leaders))
    ]
    runs = []
    for size, blocks, taken in (
        (20 * max(leaders), 1, 1),
        (20 * max(leaders) - 1, 2, 1),
        (max(12 * leaders[0], 8 * leaders[1]), 2, 1),
        (max(12 * leaders[0], 8 * leaders[1]) - 1, None, 0),
    ):
        monkeypatch.setattr(lapool_ops, "DENSE_BLOCK", size)
        got = lapool_ops.slot_blocks([12, 8], leaders)
        assert (len(got) if got is not None else None) == blocks
        spy = _Spy(monkeypatch)
        runs.append(_pool_and_grads(case, {}))
        assert (spy.taken, spy.declined) == (taken, 1 - taken)
        monkeypatch.undo()
    for other in runs[1:]:
        _same_record(runs[0][0], other[0])
        for got, want in zip(runs[0][1], other[1]):
            torch.testing.assert_close(got, want)


def test_slot_distances_and_its_step_limit():
    """The breadth-first search of the dense route, in its ``[nodes, w]`` layout: every node's hop
    distance to each leader of its graph (-1 where there is none), ``None`` past ``max_steps``."""
    x, e, w, _ = _graph(20, 3, p=0.1, components=2)
    ei, _ = undirected(e, None, 20)
    leaders = torch.zeros(20, dtype=torch.bool)
    leaders[[0, 7, 15]] = True
    lead = leaders.nonzero().view(-1)
    batch = (torch.arange(20) >= 10).long()  # the two components as two graphs: 2 and 1 leaders
    blk = lapool_ops.slot_blocks([10, 10], [2, 1])[0]
    assert blk == lapool_ops.SlotBlock(0, 2, 0, 20, 0, 3, 2)
    lay = lapool_ops._layout(batch, lead, blk)
    dist = _distances(_dense(ei, torch.ones(ei.size(1)), 20))
    want = torch.full((20, 2), -1, dtype=torch.int16)
    for i in range(20):
        mine = [ld for ld in (0, 7, 15) if (ld >= 10) == (i >= 10)]
        for c, ld in enumerate(mine):
            want[i, c] = -1 if dist[i][ld] is None else dist[i][ld]
    steps = int(want.max())
    got = lapool_ops.slot_distances(ei, leaders, lay, blk, steps)
    assert torch.equal(got, want)
    assert lapool_ops.slot_distances(ei, leaders, lay, blk, steps - 1) is None


def test_the_dense_route_declines_a_deep_search(monkeypatch):
    """``DENSE_BFS_STEPS``: a breadth-first search deeper than that sends the graph to the pair
    route (same record); ``distance_weight=False`` needs no search and stays on the dense route."""
    x, e, w, ea = _graph(30, 11, p=0.0)  # a path: deep searches
    spy = _Spy(monkeypatch)
    deep = _pool_and_grads((x, e, w, ea, None), {})
    assert spy.taken == 1
    monkeypatch.setattr(lapool_ops, "DENSE_BFS_STEPS", 1)
    spy = _Spy(monkeypatch)
    shallow = _pool_and_grads((x, e, w, ea, None), {})
    _pool_and_grads((x, e, w, ea, None), {"distance_weight": False})
    assert (spy.taken, spy.declined) == (1, 1)
    _same_record(deep[0], shallow[0])
    for got, want in zip(deep[1], shallow[1]):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("top", [1, 2, 32])
def test_row_sparsemax_by_its_largest_entries(top, monkeypatch):
    """The dense route's row-wise sparsemax looks at a row's ``SPARSEMAX_TOP`` largest entries and
    widens them while a support fills them: the definition's values and its gradient either way."""
    monkeypatch.setattr(lapool_ops, "SPARSEMAX_TOP", top)
    g = torch.Generator().manual_seed(12)
    z = torch.randn(9, 7, generator=g, dtype=torch.float64) * torch.tensor([0.1, 0.3, 1, 3, 0.1, 2, 5, 0.2, 1.0]).view(
        -1, 1
    )
    z[2, 3:] = -1e30  # not candidates
    z[4, 1:] = -1e30  # a row of one entry
    p = lapool_ops._sparsemax_rows(z)
    for r in range(9):
        torch.testing.assert_close(p[r], torch.tensor(_sparsemax(z[r].tolist()), dtype=torch.float64))
    assert (p > 0).sum(1).max() > 2  # some support wider than the first look for top = 1, 2
    zz = z.clone().requires_grad_()
    keep = z > -1e29
    assert torch.autograd.gradcheck(lambda t: lapool_ops._sparsemax_rows(torch.where(keep, t, z))[keep], (zz,))


@pytest.mark.parametrize("seed", range(4))
def test_the_pairs_reached_from_the_components(seed):
    """``component_reach`` (the pooled pairs of ``Sᵀ A S`` from the components, when ``S``'s entries
    are every (follower, leader of its component) pair and the leaders') against the product on
    the indicator of those entries: graphs with several components, isolated nodes, self-loops,
    one-way edges and edges between leaders, one graph and several."""
    g = torch.Generator().manual_seed(seed)
    graphs = [_odd_graph(seed), _graph(9, seed + 1, components=2), _graph(5, seed + 2, p=0.8)]
    x, e, w, ea, batch = _batch(graphs)
    n = x.size(0)
    ei, _ = undirected(e, None, n)
    leaders = torch.rand(n, generator=g) < 0.3
    for first in torch.cumsum(torch.bincount(batch), 0) - torch.bincount(batch):
        leaders[first] = True  # a leader in every component: its first node too
    from hipool.nn.ndp import connected_components

    comp = connected_components(ei, n)
    for c in comp.unique():
        leaders[int((comp == c).nonzero()[0])] = True
    leaders[torch.tensor([0, 1, 2])] = True  # leaders side by side (edges between leaders)
    lead = leaders.nonzero().view(-1)
    per_graph = torch.bincount(batch[lead], minlength=3).tolist()
    for sizes, gb in (([n], torch.zeros(n, dtype=torch.long)), (torch.bincount(batch).tolist(), batch)):
        counts = per_graph if len(sizes) == 3 else [lead.numel()]
        for blk in lapool_ops.slot_blocks(sizes, counts):
            lay = lapool_ops._layout(gb, lead, blk)
            pad = lapool_ops._per_node(lapool_ops._padded(comp[lead[blk.p : blk.q]], lay, blk, -1), lay)
            ent = (comp[blk.a : blk.b].unsqueeze(1) == pad) & ~leaders[blk.a : blk.b].unsqueeze(1)
            ent[lay.lead, lay.slot] = True
            got = lapool_ops.component_reach(e, leaders, comp, lay, blk)
            assert torch.equal(got, lapool_ops.indicator_reach(ent, e, lay, blk))
            assert got.any() and not got.all()
