"""MaxCutPool (Abate & Bianchi, ICLR 2025): the score network, the loss, the assignment and the
pooled graph against a dense float64 reference written from the paper's equations, the HetMP layer
against PyG's ``GCNConv(normalize=False)`` on ``I - δ L_sym`` (the authors' construction), batching,
permutation equivariance, gradients, edge features, small graphs, bad arguments, the max-cut of a
bipartite graph; the pooler contract runs in ``tests/nn/test_contract.py``.

torch-geometric-pool (tgp) is not installed here, so nothing is compared with its ``MaxCutPooling``.
"""

from __future__ import annotations

import pytest
import torch
from torch_geometric.nn import GCNConv
from torch_geometric.utils import coalesce, get_laplacian

from hipool.nn.maxcut import HetMPLayer, MaxCutPool, hetmp_operator, maxcut_loss, nearest_supernode
from hipool.record import DROPPED
from tests.nn.graphs import hop_distances
from tests.nn.graphs import sym as _sym

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------------------
# graphs
# ---------------------------------------------------------------------------


def _random_graph(n: int, p: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    m = torch.triu(torch.rand(n, n, generator=g) < p, 1)
    ring = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    return _sym(torch.cat([m.nonzero().t(), ring], 1)) if n > 1 else torch.empty(2, 0, dtype=torch.long)


def _batch(graphs):
    xs, es, ws, eas, bs, off = [], [], [], [], [], 0
    for i, (x, e, w, ea) in enumerate(graphs):
        xs.append(x), es.append(e + off), ws.append(w), eas.append(ea)
        bs.append(torch.full((x.size(0),), i))
        off += x.size(0)
    return torch.cat(xs), torch.cat(es, 1), torch.cat(ws), torch.cat(eas), torch.cat(bs)


def _weighted(n: int, seed: int, channels: int = 4, p: float = 0.25):
    g = torch.Generator().manual_seed(100 + seed)
    e = _random_graph(n, p, seed)
    w = torch.rand(e.size(1), generator=g) + 0.5
    return torch.randn(n, channels, generator=g), e, w, torch.randn(e.size(1), 3, generator=g)


def _dense(e: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    """``M[i, j] = sum of values of edges i -> j`` (values ``[E]`` or ``[E, D]``), float64."""
    v = values.double()
    out = torch.zeros(n, n, *v.shape[1:], dtype=torch.float64)
    out.index_put_((e[0], e[1]), v, accumulate=True)
    return out


# ---------------------------------------------------------------------------
# the dense reference, from the paper's equations
# ---------------------------------------------------------------------------
def _ref_scores(pool: MaxCutPool, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """s = tanh(MLP(HetMP(... (X W_e + b_e)))) with P = (1 - δ) I + δ D^-1/2 A D^-1/2 (no self-loops),
    messages along the edges: a layer is Pᵀ H W + b."""
    net, d = pool.score_net, pool.delta
    A0 = A.clone()
    A0.fill_diagonal_(0)
    deg = A0.sum(1)
    dinv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    P = (1 - d) * torch.eye(A.size(0), dtype=torch.float64) + d * dinv[:, None] * A0 * dinv[None, :]
    h = x.double()
    if net.embedding is not None:
        h = h @ net.embedding.weight.double().t() + net.embedding.bias.double()
    for layer in net.mp:
        h = torch.tanh(P.t() @ (h @ layer.lin.weight.double().t()) + layer.bias.double())
    for lin in net.mlp:
        h = torch.relu(h @ lin.weight.double().t() + lin.bias.double())
    return torch.tanh(h @ net.out.weight.double().t() + net.out.bias.double()).view(-1)


def _ref_loss(s: torch.Tensor, A: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    vals = []
    for g in batch.unique():
        m = batch == g
        Ag, sg = A[m][:, m], s[m]
        if Ag.sum() != 0:
            vals.append(sg @ Ag @ sg / Ag.sum())
    return torch.stack(vals).mean() if vals else torch.zeros((), dtype=torch.float64)


def _hops(e: torch.Tensor, n: int):
    adj = [set() for _ in range(n)]
    for a, b in e.t().tolist():
        if a != b:
            adj[a].add(b)
            adj[b].add(a)
    return hop_distances(adj)


def _ref_owner(e: torch.Tensor, n: int, perm: torch.Tensor, batch: torch.Tensor, max_iter, tie_break: str):
    """Every node's supernode (position in perm): the nearest within max_iter hops, ties by most
    shortest paths (walks) then the better score; unreached: its graph's best supernode."""
    dist = _hops(e, n)
    und = torch.zeros(n, n, dtype=torch.float64)
    for a, b in e.t().tolist():
        if a != b:
            und[a, b] = und[b, a] = 1.0
    pos = {int(c): i for i, c in enumerate(perm)}
    owner = []
    for i in range(n):
        if i in pos:
            owner.append(pos[i])
            continue
        cands = [c for c in pos if dist[i][c] is not None and (max_iter is None or dist[i][c] <= max_iter)]
        if not cands:
            owner.append(min(pos[c] for c in pos if batch[c] == batch[i]))
            continue
        d = min(dist[i][c] for c in cands)
        near = [c for c in cands if dist[i][c] == d]
        if tie_break == "walks":
            walks = torch.linalg.matrix_power(und, d)
            most = max(float(walks[c, i]) for c in near)
            near = [c for c in near if float(walks[c, i]) == most]
        owner.append(min(pos[c] for c in near))
    return torch.tensor(owner)


def _reference(pool: MaxCutPool, x, e, w, ea, batch):
    n = x.size(0)
    A = _dense(e, w, n)
    s = _ref_scores(pool, x, A)
    perm = []  # the top ceil(ratio * n) of each graph, best first
    for g in batch.unique():
        nodes = (batch == g).nonzero().view(-1)
        perm.append(nodes[torch.argsort(s[nodes], descending=True)][: -(-int(pool.ratio * 10) * nodes.numel() // 10)])
    perm = torch.cat(perm)
    owner = _ref_owner(e, n, perm, batch, pool.max_iter, pool.tie_break)
    S = torch.nn.functional.one_hot(owner, perm.numel()).double()
    gate = s[perm].view(-1, 1)
    X = {"sum": S.t() @ x.double(), "center": x.double()[perm]}[pool.reduce] * gate
    Ap = S.t() @ A @ S
    Ep = torch.einsum("ia,ijd,jb->abd", S, _dense(e, ea, n), S)
    return s, _ref_loss(s, A, batch), perm, owner, X, Ap, Ep


def _pooled_dense(out, k: int):
    Ap = _dense(out.edge_index, out.edge_weight.detach(), k)
    Ep = _dense(out.edge_index, out.edge_attr.detach(), k)
    return Ap, Ep


# ---------------------------------------------------------------------------
# against the reference
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("tie_break", ["score", "walks"])
@pytest.mark.parametrize("reduce", ["sum", "center"])
def test_everything_matches_the_dense_reference(tie_break, reduce):
    graphs = [_weighted(n, seed) for seed, n in enumerate((14, 9, 11))]
    x, e, w, ea, batch = _batch(graphs)
    torch.manual_seed(0)
    pool = MaxCutPool(4, 0.3, mp_units=(8, 8, 6), mlp_units=(5,), tie_break=tie_break, reduce=reduce).double()
    out = pool(x.double(), e, edge_attr=ea.double(), batch=batch, edge_weight=w.double())
    out.validate(input_batch=batch)
    s, loss, perm, owner, X, Ap, Ep = _reference(pool, x.double(), e, w.double(), ea.double(), batch)
    torch.testing.assert_close(out.node_score.detach(), s)
    torch.testing.assert_close(out.aux_losses["maxcut"].detach(), loss)
    assert torch.equal(out.centers, perm)  # the top 30% of each graph by score, best first
    assert torch.bincount(out.batch).tolist() == [5, 3, 4]
    assert torch.equal(out.cluster, owner)
    torch.testing.assert_close(out.x.detach(), X)
    A_out, E_out = _pooled_dense(out, out.num_nodes)
    off = ~torch.eye(out.num_nodes, dtype=torch.bool)
    torch.testing.assert_close(A_out, Ap * off)
    torch.testing.assert_close(E_out, Ep * off.unsqueeze(-1))
    assert torch.equal((A_out != 0), (Ap * off != 0))  # every pooled pair, and only those
    assert (out.perm is not None) == (reduce == "center")


def test_the_hetmp_layer_is_the_authors_gcnconv_on_i_minus_delta_l():
    """A directed weighted graph with a self-loop and a repeated edge: PyG's get_laplacian(sym), then
    -δ L + I coalesced, through GCNConv(normalize=False) with the same weights."""
    torch.manual_seed(0)
    e = torch.tensor([[0, 1, 2, 2, 3, 4, 4, 1, 0], [1, 2, 0, 3, 4, 0, 4, 2, 3]])
    w = torch.tensor([1.0, 0.5, 2.0, 1.5, 0.7, 1.1, 0.9, 0.3, 1.2])
    x = torch.randn(5, 3)
    for delta in (2.0, 0.7):
        layer = HetMPLayer(3, 4, delta)
        torch.nn.init.normal_(layer.bias)
        mine = layer(x, hetmp_operator(e, w, 5, x.dtype))
        le, lw = get_laplacian(e, w, normalization="sym", num_nodes=5)
        pe = torch.cat([le, torch.arange(5).repeat(2, 1)], 1)
        pw = torch.cat([-delta * lw, torch.ones(5)])
        pe, pw = coalesce(pe, pw, num_nodes=5, reduce="sum")
        conv = GCNConv(3, 4, normalize=False)
        with torch.no_grad():
            conv.lin.weight.copy_(layer.lin.weight)
            conv.bias.copy_(layer.bias)
        torch.testing.assert_close(mine, conv(x, pe, pw), atol=1e-6, rtol=1e-5)
        # weights that need a gradient take the other path (gather_as): the same values
        wg = w.clone().requires_grad_()
        op = hetmp_operator(e, wg, 5, x.dtype)
        assert op.csr is None
        again = layer(x, op)
        torch.testing.assert_close(again, mine)
        (grad,) = torch.autograd.grad(again.sum(), wg)
        assert torch.isfinite(grad).all() and grad[6] == 0  # the self-loop is dropped


def test_the_loss_by_hand():
    # a path 0-1-2 (both directions) and an edgeless graph: s = (1, -1, 0.5)
    s = torch.tensor([1.0, -1.0, 0.5, 0.3], dtype=torch.float64)
    e = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    w = torch.tensor([1.0, 1.0, 2.0, 2.0], dtype=torch.float64)
    batch = torch.tensor([0, 0, 0, 1])
    expect = (2 * (1 * -1) * 1 + 2 * (-1 * 0.5) * 2) / 6  # the edgeless graph is left out
    torch.testing.assert_close(maxcut_loss(s, e, w, batch, 2), torch.tensor(expect, dtype=torch.float64))
    assert float(maxcut_loss(s[3:], torch.empty(2, 0, dtype=torch.long), None, batch[3:] * 0, 1)) == 0.0
    # every edge cut with scores ±1: the minimum, -1
    assert float(maxcut_loss(torch.tensor([1.0, -1.0, 1.0]), e, None)) == -1.0


def test_assignment_on_a_path_by_hand():
    """Path 0-1-2-3-4-5-6, supernodes 0 and 4 (0 better): 1, 2 join 0 (2 is a tie at 2 hops: the
    better score), 3, 5 join 4, 6 joins 4 at 2 hops; with max_iter=1, 2 and 6 are unreached and join
    the best supernode, 0."""
    e = _sym(torch.stack([torch.arange(6), torch.arange(1, 7)]))
    perm = torch.tensor([0, 4])
    batch = torch.zeros(7, dtype=torch.long)
    owner, hops = nearest_supernode(e, perm, batch, 5, "score")
    assert owner.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert hops.tolist() == [0, 1, 2, 1, 0, 1, 2]
    owner, hops = nearest_supernode(e, perm, batch, 1, "score")
    assert owner.tolist() == [0, 0, 0, 1, 1, 1, 0]
    assert hops.tolist() == [0, 1, -1, 1, 0, 1, -1]
    owner, _ = nearest_supernode(e, torch.tensor([4, 0]), batch, None, "score")
    assert owner.tolist() == [1, 1, 0, 0, 0, 0, 0]  # now 4 is better: node 2 goes to it


def test_walks_prefer_the_supernode_with_more_shortest_paths():
    """Node 0 is two hops from supernode 5 (one path, via 1) and from supernode 4 (two paths, via 2
    and 3); 5 scores better, but the authors' rule counts the walks."""
    e = _sym(torch.tensor([[0, 1, 0, 0, 2, 3], [1, 5, 2, 3, 4, 4]]))
    perm = torch.tensor([5, 4])
    batch = torch.zeros(6, dtype=torch.long)
    assert int(nearest_supernode(e, perm, batch, 5, "score")[0][0]) == 0
    assert int(nearest_supernode(e, perm, batch, 5, "walks")[0][0]) == 1


def test_walk_counts_are_rescaled_exactly(monkeypatch):
    """The counts are scaled by a power of two when they grow large: the same assignment as
    without scaling (here forced at every round)."""
    from hipool.nn import maxcut

    x, e, w, ea = _weighted(40, 6, p=0.3)
    batch = torch.zeros(40, dtype=torch.long)
    perm = torch.tensor([3, 17, 29, 8])
    plain = nearest_supernode(e, perm, batch, None, "walks")
    monkeypatch.setattr(maxcut, "WALKS_LIMIT", 1.0)
    monkeypatch.setattr(maxcut, "WALKS_SHIFT", 3)
    scaled = nearest_supernode(e, perm, batch, None, "walks")
    assert torch.equal(plain[0], scaled[0]) and torch.equal(plain[1], scaled[1])
    assert torch.equal(plain[0], _ref_owner(e, 40, perm, batch, None, "walks"))


# ---------------------------------------------------------------------------
# batching, equivariance, gradients
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("tie_break", ["score", "walks"])
def test_a_batch_gives_what_each_graph_gives_alone(tie_break):
    graphs = [_weighted(n, seed) for seed, n in enumerate((12, 1, 7, 9))]
    graphs[2] = (graphs[2][0], torch.empty(2, 0, dtype=torch.long), torch.empty(0), torch.empty(0, 3))
    torch.manual_seed(1)
    pool = MaxCutPool(4, 0.5, mp_units=(8, 8), tie_break=tie_break, max_iter=2).eval()
    whole = pool(*_args(_batch(graphs)))
    whole.validate()
    start = 0
    for g, (x, e, w, ea) in enumerate(graphs):
        alone = pool(x, e, edge_attr=ea, edge_weight=w)
        mine = whole.batch == g
        torch.testing.assert_close(whole.x[mine], alone.x)
        off = int(mine.nonzero()[0])
        assert torch.equal(whole.cluster[start : start + x.size(0)] - off, alone.cluster)
        keep = whole.batch[whole.edge_index[0]] == g
        assert torch.equal(whole.edge_index[:, keep] - off, alone.edge_index)
        torch.testing.assert_close(whole.edge_weight[keep], alone.edge_weight)
        torch.testing.assert_close(whole.edge_attr[keep], alone.edge_attr)
        start += x.size(0)
    losses = [pool(x, e, edge_weight=w).aux_losses["maxcut"] for x, e, w, _ in graphs if e.numel()]
    torch.testing.assert_close(whole.aux_losses["maxcut"], torch.stack(losses).mean())


def _args(batched):
    x, e, w, ea, batch = batched
    return x, e, ea, batch, w


def test_permuting_the_nodes_permutes_the_output():
    x, e, w, ea = _weighted(16, 3)
    torch.manual_seed(2)
    pool = MaxCutPool(4, 0.4, mp_units=(8, 8), tie_break="walks").eval()
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(5))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(16)
    out = pool(x, e, edge_attr=ea, edge_weight=w)
    outp = pool(x[perm], inv[e], edge_attr=ea, edge_weight=w)
    torch.testing.assert_close(outp.node_score[inv], out.node_score)
    assert torch.equal(outp.centers, inv[out.centers])  # output nodes in the same (score) order
    assert torch.equal(outp.cluster[inv], out.cluster)
    torch.testing.assert_close(outp.x, out.x)
    torch.testing.assert_close(_pooled_dense(outp, outp.num_nodes)[0], _pooled_dense(out, out.num_nodes)[0])
    torch.testing.assert_close(outp.aux_losses["maxcut"], out.aux_losses["maxcut"])


def test_gradients_reach_every_parameter_from_the_loss_and_from_the_features():
    x, e, w, ea = _weighted(10, 1)
    torch.manual_seed(3)
    pool = MaxCutPool(4, 0.5, mp_units=(6, 6), mlp_units=(4,))
    w = w.clone().requires_grad_()
    out = pool(x, e, edge_attr=ea, edge_weight=w)
    out.aux_losses["maxcut"].backward(retain_graph=True)
    for name, p in pool.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert w.grad is not None and torch.isfinite(w.grad).all()
    pool.zero_grad()
    out.x.pow(2).sum().backward()  # through the gate s_c
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in pool.parameters())
    assert pool.score_net.out.weight.grad.abs().sum() > 0


# ---------------------------------------------------------------------------
# the max-cut itself
# ---------------------------------------------------------------------------
def test_training_the_loss_alone_cuts_a_bipartite_graph_into_its_two_sides():
    g = torch.Generator().manual_seed(0)
    a = b = 6
    m = torch.rand(a, b, generator=g) < 0.5
    m[torch.arange(a), torch.arange(b)] = True
    m[torch.arange(a), (torch.arange(b) + 1) % b] = True  # connected
    i, j = m.nonzero().t()
    e = _sym(torch.stack([i, j + a]))
    x = torch.randn(a + b, 4, generator=g)
    torch.manual_seed(0)
    pool = MaxCutPool(4, 0.5)  # the authors' score network
    opt = torch.optim.Adam(pool.parameters(), lr=5e-3)
    first = None
    for _ in range(250):
        opt.zero_grad()
        loss = pool(x, e).aux_losses["maxcut"]
        first = float(loss.detach()) if first is None else first
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = pool(x, e)
    assert float(out.aux_losses["maxcut"]) < -0.99 < first  # every edge cut: -1
    side = out.node_score > 0
    assert bool((side[:a] == side[0]).all() and (side[a:] != side[0]).all())
    kept = set(out.centers.tolist())
    assert kept in (set(range(a)), set(range(a, a + b)))  # the supernodes are one side of the cut
    assert sorted(out.hops.tolist()) == [0] * a + [1] * b  # every other node is one hop from a supernode


# ---------------------------------------------------------------------------
# small graphs, options, sizes
# ---------------------------------------------------------------------------
def test_no_edges_one_node_and_more_kept_than_nodes():
    pool = MaxCutPool(3, 4, mp_units=(4,))
    out = pool(torch.randn(3, 3), torch.empty(2, 0, dtype=torch.long), edge_attr=torch.empty(0, 3))
    out.validate()
    assert out.num_nodes == 3 and out.edge_index.size(1) == 0 and out.edge_attr.shape == (0, 3)
    assert sorted(out.cluster.tolist()) == [0, 1, 2] and float(out.aux_losses["maxcut"].detach()) == 0.0
    one = pool(torch.randn(1, 3), torch.empty(2, 0, dtype=torch.long))
    assert one.num_nodes == 1 and one.cluster.tolist() == [0]
    empty = pool(torch.randn(0, 3), torch.empty(2, 0, dtype=torch.long))
    assert empty.num_nodes == 0 and float(empty.aux_losses["maxcut"].detach()) == 0.0


def test_reduce_options_and_the_gate():
    x, e, w, ea = _weighted(9, 2)
    torch.manual_seed(4)
    base = MaxCutPool(4, 3, mp_units=(5,))
    outs = {}
    for reduce in ("sum", "mean", "max", "center"):
        pool = MaxCutPool(4, 3, mp_units=(5,), reduce=reduce)
        pool.load_state_dict(base.state_dict())
        outs[reduce] = pool(x, e, edge_weight=w)
    o = outs["sum"]
    gate = o.score.detach().view(-1, 1)
    for c in range(3):
        members = x[o.cluster == c]
        torch.testing.assert_close(o.x[c].detach(), members.sum(0) * gate[c])
        torch.testing.assert_close(outs["mean"].x[c].detach(), members.mean(0) * gate[c])
        torch.testing.assert_close(outs["max"].x[c].detach(), members.amax(0) * gate[c])
        torch.testing.assert_close(outs["center"].x[c].detach(), x[o.centers[c]] * gate[c])


def test_edge_options():
    x, e, w, ea = _weighted(12, 4)
    torch.manual_seed(5)
    base = MaxCutPool(4, 0.25, mp_units=(5,))
    out = base(x, e, edge_attr=ea, edge_weight=w)
    loops = MaxCutPool(4, 0.25, mp_units=(5,), keep_self_loops=True)
    loops.load_state_dict(base.state_dict())
    lo = loops(x, e, edge_attr=ea, edge_weight=w)
    S = torch.nn.functional.one_hot(out.cluster, out.num_nodes).double()
    torch.testing.assert_close(
        _dense(lo.edge_index, lo.edge_weight.detach(), lo.num_nodes), S.t() @ _dense(e, w, 12) @ S
    )
    mean = MaxCutPool(4, 0.25, mp_units=(5,), edge_reduce="mean")
    mean.load_state_dict(base.state_dict())
    me = mean(x, e, edge_attr=ea, edge_weight=w)
    merged = _dense(out.cluster[e], torch.ones(e.size(1)), out.num_nodes)[out.edge_index[0], out.edge_index[1]]
    torch.testing.assert_close(me.edge_attr, out.edge_attr / merged.view(-1, 1).float())
    norm = MaxCutPool(4, 0.25, mp_units=(5,), edge_weight_norm=True)
    norm.load_state_dict(base.state_dict())
    no = norm(x, e, edge_attr=ea, edge_weight=w)
    torch.testing.assert_close(no.edge_weight, out.edge_weight / out.edge_weight.max())
    unweighted = base(x, e)
    assert unweighted.edge_weight is not None and unweighted.edge_weight.min() >= 1  # edges counted


def test_sizes_cap_the_supernodes():
    graphs = [_weighted(n, seed) for seed, n in enumerate((10, 8))]
    x, e, w, ea, batch = _batch(graphs)
    pool = MaxCutPool(4, 0.5, mp_units=(4,))
    out = pool(x, e, batch=batch, sizes=torch.tensor([2, 8]))
    assert torch.bincount(out.batch).tolist() == [2, 4]
    assert (out.cluster != DROPPED).all()
    with pytest.raises(ValueError, match="'sizes'"):
        pool(x, e, batch=batch, sizes=torch.tensor([0, 1]))


def test_negative_weights_are_refused():
    x, e, w, _ = _weighted(5, 0)
    with pytest.raises(ValueError, match=r"^MaxCutPool: 'edge_weight' must be >= 0 \(MaxCutPool's propagation"):
        MaxCutPool(4)(x, e, edge_weight=-w)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"in_channels": 0}, "'in_channels'"),
        ({"ratio": 0.0}, "'ratio'"),
        ({"ratio": 1.5}, "'ratio'"),
        ({"ratio": 0}, "'ratio'"),
        ({"ratio": None}, "'ratio'"),
        ({"ratio": "half"}, "'ratio'"),
        ({"mp_units": []}, "'mp_units'"),
        ({"mp_units": [4, 0]}, "'mp_units'"),
        ({"mp_units": 4}, "'mp_units'"),
        ({"mlp_units": [2.5]}, "'mlp_units'"),
        ({"mp_act": "nope"}, "'mp_act'"),
        ({"mlp_act": 3}, "'mlp_act'"),
        ({"delta": float("nan")}, "'delta'"),
        ({"embedding": "yes"}, "'embedding'"),
        ({"max_iter": 0}, "'max_iter'"),
        ({"max_iter": 2.0}, "'max_iter'"),
        ({"tie_break": "random"}, "'tie_break'"),
        ({"reduce": "min"}, "'reduce'"),
        ({"edge_reduce": "max"}, "'edge_reduce'"),
        ({"keep_self_loops": 1}, "'keep_self_loops'"),
        ({"edge_weight_norm": None}, "'edge_weight_norm'"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, name):
    args = {"in_channels": 4, **kwargs}
    with pytest.raises(ValueError, match=f"^MaxCutPool: {name}"):
        MaxCutPool(args.pop("in_channels"), **args)
