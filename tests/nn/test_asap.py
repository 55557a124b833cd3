"""ASAPooling against PyG's, same weights and input; gradients; the record; batching; edge cases.

PyG's ``ASAPooling`` is the reference: with ``select.weight > 0`` (PyG then ranks by
``tanh(fitness)``, the same order as ``fitness``) both must return the same tensors.  The
pooled ``edge_index`` is compared as a set (the order within a row is whatever the sparse
product gives), with the weights of coalesced edges.

PyG cannot backpropagate through its pooled ``edge_weight`` (``index_select`` of a sparse
COO tensor has no CPU backward: "Could not run 'aten::index_add_' ... 'SparseCPU'"), so
gradients through the pooled edge weights are checked against :func:`dense_reference`, PyG's
forward written with dense ``[N, N]`` matrices, and with ``gradcheck``.

Repeated input edges are summed in ``S`` and ``A`` (as PyG's sparse tensors do), and every CSR
operand has sorted, distinct columns (torch's sparse backward silently needs that).
"""

import warnings

import pytest
import torch
import torch_geometric.nn as pyg
from torch_geometric.data import Batch, Data
from torch_geometric.utils import add_remaining_self_loops, coalesce, scatter, softmax

from hipool.nn import DROPPED, PoolOutput, topk
from hipool.nn.asap import ASAPooling, ASAPOutput
from tests.conftest import random_batch, random_graph

F = 16
# graphs of very different sizes, including one-node and two-node graphs
SIZES = [12, 1, 40, 5, 2, 25]


@pytest.fixture(autouse=True)
def _quiet_sparse_beta_warnings():
    with warnings.catch_warnings():  # PyG's CSR tensors: "support is in beta" etc.
        warnings.simplefilter("ignore", UserWarning)
        yield


def pair(seed=0, negative=False, **kw):
    """PyG's pooler and ours with the same weights (``select.weight`` forced positive, or
    negative with ``negative=True``), both in eval mode."""
    torch.manual_seed(seed)
    theirs = pyg.ASAPooling(F, **kw)
    with torch.no_grad():
        theirs.select.weight.abs_()
        if negative:
            theirs.select.weight.neg_()
    ours = ASAPooling(F, **kw)
    ours.load_state_dict(theirs.state_dict())  # strict: same names and shapes
    return theirs.eval(), ours.eval()


def weights(num_edges, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(num_edges, generator=g) + 0.1).to(dtype)


def with_loops_and_duplicates(data: Data, seed=0) -> Data:
    """The graph plus some self-loops and some repeated edges (random_graph has a few already)."""
    g = torch.Generator().manual_seed(seed)
    n = data.num_nodes
    ei = data.edge_index
    loops = torch.randint(0, n, (n // 4 + 1,), generator=g).repeat(2, 1)
    dup = ei[:, torch.randint(0, ei.size(1), (ei.size(1) // 5 + 1,), generator=g)]
    out = Data(x=data.x, edge_index=torch.cat([ei, loops, dup], 1))
    assert (out.edge_index[0] == out.edge_index[1]).any()
    assert coalesce(out.edge_index, num_nodes=n).size(1) < out.edge_index.size(1)
    return out


def simple(data: Data) -> Data:
    """The graph without self-loops and repeated edges."""
    ei = data.edge_index
    return Data(x=data.x, edge_index=coalesce(ei[:, ei[0] != ei[1]], num_nodes=data.num_nodes))


def simple_batch(sizes, seed=0) -> Batch:
    return Batch.from_data_list([simple(random_graph(n, seed=seed + i)) for i, n in enumerate(sizes)])


def edge_set(edge_index, edge_weight, num_nodes):
    """Sorted unique edges, and the summed weights of repeated ones (``None`` without weights)."""
    if edge_weight is None:
        return coalesce(edge_index, num_nodes=num_nodes), None
    return coalesce(edge_index, edge_weight, num_nodes=num_nodes)


def assert_same(theirs, ours: ASAPOutput, weighted: bool):
    x1, ei1, ew1, b1, p1 = theirs
    assert isinstance(ours, ASAPOutput) and isinstance(ours, PoolOutput)
    torch.testing.assert_close(ours.x, x1, rtol=1e-5, atol=1e-5)
    assert torch.equal(ours.perm, p1)
    assert torch.equal(ours.batch, b1)
    k = x1.size(0)
    if not weighted:
        assert ew1 is None and ours.edge_weight is None
        assert torch.equal(edge_set(ours.edge_index, None, k)[0], edge_set(ei1, None, k)[0])
    else:
        assert ours.edge_weight is not None and ours.edge_weight.shape == (ours.edge_index.size(1),)
        e_ours, w_ours = edge_set(ours.edge_index, ours.edge_weight, k)
        e_theirs, w_theirs = edge_set(ei1, ew1, k)
        assert torch.equal(e_ours, e_theirs)
        torch.testing.assert_close(w_ours, w_theirs, rtol=1e-5, atol=1e-5)


# -- 1. PyG parity -------------------------------------------------------------------------

KWARGS = [
    dict(),
    dict(ratio=0.25),
    dict(ratio=0.75),
    dict(ratio=3),
    dict(ratio=100),
    dict(GNN=pyg.GraphConv),
    dict(GNN=pyg.GCNConv),
    dict(add_self_loops=True),
    dict(negative_slope=0.01),
    dict(ratio=0.5, GNN=pyg.GCNConv, add_self_loops=True),
]


def kw_id(kw):
    return ",".join(f"{k}={getattr(v, '__name__', v)}" for k, v in kw.items()) or "default"


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kw", KWARGS, ids=kw_id)
def test_equals_pyg_one_graph(kw, weighted):
    # a simple graph: no repeated edges, no self-loops (those get their own tests)
    data = simple(random_graph(60, seed=1))
    ew = weights(data.edge_index.size(1)) if weighted else None
    theirs, ours = pair(**kw)
    assert_same(theirs(data.x, data.edge_index, ew), ours(data.x, data.edge_index, ew), weighted)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "kw", [dict(), dict(ratio=2), dict(GNN=pyg.GraphConv), dict(GNN=pyg.GCNConv), dict(add_self_loops=True)], ids=kw_id
)
def test_equals_pyg_batch(kw, weighted):
    b = simple_batch(SIZES)
    ew = weights(b.edge_index.size(1), seed=2) if weighted else None
    theirs, ours = pair(**kw)
    out = ours(b.x, b.edge_index, ew, b.batch)
    assert_same(theirs(b.x, b.edge_index, ew, b.batch), out, weighted)
    # every graph keeps ceil(ratio * n) (or min(k, n)) nodes
    expect = [min(2, n) for n in SIZES] if "ratio" in kw else [-(-n // 2) for n in SIZES]
    assert torch.bincount(out.batch, minlength=len(SIZES)).tolist() == expect


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kw", [dict(), dict(GNN=pyg.GCNConv), dict(GNN=pyg.GraphConv), dict(ratio=4)], ids=kw_id)
def test_equals_pyg_with_self_loops_and_duplicate_edges(kw, weighted):
    data = with_loops_and_duplicates(random_graph(50, seed=4), seed=5)
    ew = weights(data.edge_index.size(1), seed=6) if weighted else None
    theirs, ours = pair(**kw)
    assert_same(theirs(data.x, data.edge_index, ew), ours(data.x, data.edge_index, ew), weighted)


def test_equals_pyg_with_self_loops_and_duplicates_in_a_batch():
    graphs = [with_loops_and_duplicates(random_graph(n, seed=n), seed=n) for n in (9, 30, 4)]
    b = Batch.from_data_list(graphs)
    ew = weights(b.edge_index.size(1), seed=1)
    theirs, ours = pair(GNN=pyg.GraphConv)
    assert_same(theirs(b.x, b.edge_index, ew, b.batch), ours(b.x, b.edge_index, ew, b.batch), True)
    theirs, ours = pair(add_self_loops=True)  # without weights the pooled loops carry no value
    assert_same(theirs(b.x, b.edge_index, None, b.batch), ours(b.x, b.edge_index, None, b.batch), False)


def test_self_loop_weights_equal_pyg_with_duplicate_edges():
    x = torch.randn(3, F, generator=torch.Generator().manual_seed(0))
    ei = torch.tensor([[0, 0, 1, 2], [1, 1, 0, 1]])  # 0 -> 1 twice
    ew = torch.tensor([1.0, 2.0, 0.5, 0.25])
    theirs, ours = pair(ratio=1.0 - 1e-9, add_self_loops=True)  # PyG keeps ceil(3 * r) = 3 nodes
    assert_same(theirs(x, ei, ew), ours(x, ei, ew), True)


def test_pooled_edges_are_unique_like_pyg():
    x = torch.randn(3, F, generator=torch.Generator().manual_seed(0))
    ei = torch.tensor([[0, 0, 1, 2], [1, 1, 0, 1]])  # 0 -> 1 twice
    theirs, ours = pair(ratio=1.0 - 1e-9)
    e_theirs = theirs(x, ei)[1]
    e_ours = ours(x, ei).edge_index
    assert coalesce(e_theirs, num_nodes=3).size(1) == e_theirs.size(1)  # PyG: no repeats
    assert coalesce(e_ours, num_nodes=3).size(1) == e_ours.size(1)


@pytest.mark.parametrize("dups", [False, True], ids=["simple", "duplicates"])
def test_sparse_tensors_satisfy_torch_invariants(dups):
    data = random_graph(30, seed=2)
    data = with_loops_and_duplicates(data, seed=3) if dups else simple(data)
    _, ours = pair()
    with torch.sparse.check_sparse_tensor_invariants():
        out = ours(data.x, data.edge_index, weights(data.edge_index.size(1)))
    # the assignment is built unchecked, as coalesced: its entries must be distinct and sorted
    S = out.assignment
    assert torch.equal(
        S.indices(), torch.sparse_coo_tensor(S.indices(), S.values().detach(), S.shape).coalesce().indices()
    )


def test_existing_self_loop_weight_is_kept_as_in_pyg():
    # add_remaining_self_loops keeps a given loop's weight (here 5.0) instead of filling 1.0
    x = torch.randn(5, F, generator=torch.Generator().manual_seed(0))
    ei = torch.tensor([[0, 1, 1, 2, 3, 4, 2], [1, 0, 2, 1, 4, 3, 2]])
    ew = torch.tensor([1.0, 2.0, 0.5, 0.3, 1.5, 0.7, 5.0])
    theirs, ours = pair(ratio=0.8)
    out = ours(x, ei, ew)
    assert_same(theirs(x, ei, ew), out, True)
    ew2 = ew.clone()
    ew2[-1] = 1.0
    out2 = ours(x, ei, ew2)
    assert not torch.allclose(out.x, out2.x) or not torch.allclose(out.edge_weight, out2.edge_weight)


def test_pooled_edges_have_no_self_loops_unless_asked():
    b = random_batch([20, 30])
    _, ours = pair()
    out = ours(b.x, b.edge_index, batch=b.batch)
    assert out.edge_index.size(1) > 0
    assert not (out.edge_index[0] == out.edge_index[1]).any()
    _, ours = pair(add_self_loops=True)
    out = ours(b.x, b.edge_index, batch=b.batch)
    loops = out.edge_index[:, out.edge_index[0] == out.edge_index[1]][0]
    assert torch.equal(loops.sort().values, torch.arange(out.num_nodes))
    # pooled edges stay inside their graph
    assert torch.equal(out.batch[out.edge_index[0]], out.batch[out.edge_index[1]])


def test_pooled_edge_rows_are_sorted():
    # the module docstring: "The pooled edge_index has the same edges as PyG's, with rows in order"
    data = random_graph(60, seed=1)
    for kw in (dict(), dict(add_self_loops=True)):
        _, ours = pair(**kw)
        for ew in (None, weights(data.edge_index.size(1))):
            out = ours(data.x, data.edge_index, ew)
            assert (out.edge_index[0, 1:] >= out.edge_index[0, :-1]).all()


def test_one_dimensional_x_is_one_channel():
    torch.manual_seed(0)
    theirs = pyg.ASAPooling(1)
    with torch.no_grad():
        theirs.select.weight.abs_()
    ours = ASAPooling(1)
    ours.load_state_dict(theirs.state_dict())
    data = simple(random_graph(20, channels=1, seed=2))
    a, b = theirs(data.x.view(-1), data.edge_index), ours(data.x.view(-1), data.edge_index)
    assert b.x.shape == (10, 1)
    assert_same(a, b, False)


def test_repr_and_state_dict_names():
    assert repr(ASAPooling(8, ratio=0.3)) == repr(pyg.ASAPooling(8, ratio=0.3)) == "ASAPooling(8, ratio=0.3)"
    for kw in (dict(), dict(GNN=pyg.GraphConv), dict(GNN=pyg.GCNConv)):
        ours, theirs = ASAPooling(8, **kw).state_dict(), pyg.ASAPooling(8, **kw).state_dict()
        assert list(ours) == list(theirs)
        assert all(ours[n].shape == theirs[n].shape for n in ours)
    # the GNN's keyword arguments reach it
    assert ASAPooling(8, GNN=pyg.GraphConv, aggr="max").gnn_intra_cluster.aggr == "max"


def test_reset_parameters_redraws_weights():
    pool = ASAPooling(F, GNN=pyg.GraphConv)
    before = {n: p.clone() for n, p in pool.state_dict().items()}
    torch.manual_seed(123)
    pool.reset_parameters()
    after = pool.state_dict()
    for name in (
        "lin.weight",
        "att.weight",
        "gnn_score.lin1.weight",
        "gnn_intra_cluster.lin_rel.weight",
        "select.weight",
    ):
        assert not torch.equal(before[name], after[name]), name


# -- 2. gradients --------------------------------------------------------------------------


def dense_reference(m, x, edge_index, edge_weight=None, batch=None, edge_attr=None):
    """PyG's forward with the coarsening written densely (differentiable end to end), on the
    submodules of ``m``.  Returns x', the dense S^T A S over the kept clusters [k, k], perm;
    with ``edge_attr`` [E, D] also S^T E_c S for every channel, [k, k, D] (E_c holds the input
    edges only, repeated ones summed: the self-loops ASAP adds carry zeros)."""
    n = x.size(0)
    batch = torch.zeros(n, dtype=torch.long) if batch is None else batch
    ei, ew = add_remaining_self_loops(edge_index, edge_weight, fill_value=1.0, num_nodes=n)
    src, dst = ei
    xp = x if m.gnn_intra_cluster is None else m.gnn_intra_cluster(x=x, edge_index=ei, edge_weight=ew)
    q = scatter(xp[src], dst, dim=0, dim_size=n, reduce="max")
    logit = m.att(torch.cat([m.lin(q)[dst], xp[src]], -1)).view(-1)
    score = softmax(torch.nn.functional.leaky_relu(logit, m.negative_slope), dst, num_nodes=n)
    S = x.new_zeros(n, n).index_put((src, dst), score, accumulate=True)
    A = x.new_zeros(n, n).index_put((src, dst), torch.ones_like(score) if ew is None else ew, accumulate=True)
    xc = S.t() @ x
    fitness = m.gnn_score(xc, ei).sigmoid().view(-1)
    perm = topk(fitness.detach(), m.ratio, batch)
    Sk = S[:, perm]
    x_out, adj = xc[perm] * fitness[perm].view(-1, 1), Sk.t() @ A @ Sk
    if edge_attr is None:
        return x_out, adj, perm
    E = edge_attr.new_zeros(n, n, edge_attr.size(1)).index_put(tuple(edge_index), edge_attr, accumulate=True)
    return x_out, adj, perm, torch.einsum("ui,uvc,vj->ijc", Sk, E, Sk)


def edge_weights_to_dense(out):
    k = out.num_nodes
    return out.x.new_zeros(k, k).index_put(tuple(out.edge_index), out.edge_weight, accumulate=True)


def x_scalar(x_out, seed=0):
    r = torch.randn(x_out.shape, generator=torch.Generator().manual_seed(seed), dtype=x_out.dtype)
    return (x_out * r).sum() + (x_out**2).sum()


def edge_scalar(dense_adj, add_self_loops):
    """A scalar of the pooled edge weights, as a dense [k, k] matrix (order-free)."""
    k = dense_adj.size(0)
    i = torch.arange(k, dtype=dense_adj.dtype)
    h = torch.cos(0.37 * i.view(-1, 1) + 1.1 * i.view(1, -1))
    if not add_self_loops:
        h = h * (1 - torch.eye(k, dtype=dense_adj.dtype))
    return (dense_adj * h).sum() + (dense_adj**2 * h.abs()).sum()


@pytest.mark.parametrize(
    "kw", [dict(), dict(GNN=pyg.GraphConv), dict(GNN=pyg.GCNConv), dict(add_self_loops=True)], ids=kw_id
)
def test_dense_reference_equals_pyg(kw):
    # the reference used for the edge-weight gradients is PyG's forward
    b = simple_batch([30, 5, 1, 25], seed=3)
    ew = weights(b.edge_index.size(1), seed=1)
    theirs, _ = pair(**kw)
    x1, ei1, ew1, _, p1 = theirs(b.x, b.edge_index, ew, b.batch)
    x2, adj, p2 = dense_reference(theirs, b.x, b.edge_index, ew, b.batch)
    assert torch.equal(p1, p2)
    torch.testing.assert_close(x2, x1, rtol=1e-5, atol=1e-5)
    dense1 = x1.new_zeros(adj.shape).index_put(tuple(ei1), ew1, accumulate=True)
    if not kw.get("add_self_loops"):
        adj = adj * (1 - torch.eye(adj.size(0)))
    torch.testing.assert_close(dense1, adj, rtol=1e-5, atol=1e-6)
    assert torch.equal(dense1 != 0, adj != 0)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "kw", [dict(), dict(GNN=pyg.GraphConv), dict(GNN=pyg.GCNConv), dict(add_self_loops=True), dict(ratio=3)], ids=kw_id
)
def test_gradients_through_x_equal_pyg(kw, weighted):
    b = random_batch([30, 5, 1, 45], seed=3)  # with a few repeated edges and self-loops
    theirs, ours = pair(**kw)
    grads = []
    for model in (theirs, ours):
        x = b.x.clone().requires_grad_()
        ew = weights(b.edge_index.size(1), seed=1).requires_grad_() if weighted else None
        x_scalar(model(x, b.edge_index, ew, b.batch)[0]).backward()
        grads.append((x.grad, None if ew is None else ew.grad, {n: p.grad for n, p in model.named_parameters()}))
    (gx1, gw1, gp1), (gx2, gw2, gp2) = grads
    torch.testing.assert_close(gx2, gx1, rtol=1e-4, atol=1e-5)
    assert gx2.abs().sum() > 0
    if weighted and "GNN" in kw:  # the weights reach x' only through the intra-cluster GNN
        torch.testing.assert_close(gw2, gw1, rtol=1e-4, atol=1e-5)
        assert gw2.abs().sum() > 0
    elif weighted:
        assert gw1 is None and gw2 is None
    assert list(gp1) == list(gp2)
    for name in gp1:
        if name == "select.weight":  # reaches no loss, in PyG as here
            assert gp1[name] is None and gp2[name] is None
            continue
        assert gp2[name] is not None, name
        torch.testing.assert_close(gp2[name], gp1[name], rtol=1e-4, atol=1e-5, msg=name)
    assert not ours.select.weight.requires_grad


def test_gradients_through_x_equal_pyg_with_duplicate_edges():
    # a repeated edge u -> c ties u with itself for the master query's max: same total gradient
    data = with_loops_and_duplicates(random_graph(40, seed=7), seed=8)
    theirs, ours = pair(GNN=pyg.GraphConv)
    grads = []
    for model in (theirs, ours):
        x = data.x.clone().requires_grad_()
        ew = weights(data.edge_index.size(1), seed=2).requires_grad_()
        x_scalar(model(x, data.edge_index, ew)[0]).backward()
        grads.append((x.grad, ew.grad, dict(model.named_parameters())))
    torch.testing.assert_close(grads[1][0], grads[0][0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grads[1][1], grads[0][1], rtol=1e-4, atol=1e-5)
    for name, p in grads[0][2].items():
        if p.grad is not None:
            torch.testing.assert_close(grads[1][2][name].grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_edge_weight_gradient_wrt_input_weights_equals_dense_reference():
    # without an intra-cluster GNN the input weights reach only A in S^T A S
    b = simple_batch([30, 5, 1, 25], seed=3)
    theirs, ours = pair()
    grads = []
    for model, run in ((theirs, dense_reference), (ours, None)):
        ew = weights(b.edge_index.size(1), seed=1).requires_grad_()
        if run is None:
            out = ours(b.x, b.edge_index, ew, b.batch)
            adj = edge_weights_to_dense(out)
        else:
            _, adj, _ = run(model, b.x, b.edge_index, ew, b.batch)
        edge_scalar(adj, False).backward()
        grads.append(ew.grad)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-5)
    assert grads[1].abs().sum() > 0


def gradients_with_edge_weights(model, reference: bool, data, ew, batch=None):
    x = data.x.clone().requires_grad_()
    ew = ew.clone().requires_grad_()
    if reference:
        x_out, adj, _ = dense_reference(model, x, data.edge_index, ew, batch)
    else:
        out = model(x, data.edge_index, ew, batch)
        x_out, adj = out.x, edge_weights_to_dense(out)
    (x_scalar(x_out) + edge_scalar(adj, model.add_self_loops)).backward()
    return x.grad, ew.grad, {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize("kw", [dict(), dict(GNN=pyg.GCNConv), dict(add_self_loops=True)], ids=kw_id)
def test_gradients_through_edge_weight_equal_dense_reference(kw):
    data = simple(random_graph(40, seed=5))
    ew = weights(data.edge_index.size(1), seed=3)
    theirs, ours = pair(**kw)
    gx1, gw1, gp1 = gradients_with_edge_weights(theirs, True, data, ew)
    gx2, gw2, gp2 = gradients_with_edge_weights(ours, False, data, ew)
    torch.testing.assert_close(gw2, gw1, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gx2, gx1, rtol=1e-4, atol=1e-5)
    for name in gp1:
        if gp1[name] is not None:
            torch.testing.assert_close(gp2[name], gp1[name], rtol=1e-4, atol=1e-5, msg=name)


def test_backward_through_edge_weight_with_duplicate_edges():
    data = with_loops_and_duplicates(random_graph(20, seed=7), seed=8)
    ew = weights(data.edge_index.size(1)).requires_grad_()
    _, ours = pair()
    ours(data.x, data.edge_index, ew).edge_weight.sum().backward()
    assert ew.grad is not None


def test_tied_neighbourhood_max_gives_the_gradient_to_one_neighbour():
    # x_1 == x_2, both in-neighbours of 0: the values are PyG's; PyG splits the max's gradient
    # between the two, ours gives it to the first (documented); the total is the same.  (The
    # softmax is blind to the query's term unless the LeakyReLU sees logits of both signs in
    # cluster 0: seed 14 gives such logits.)
    x = torch.randn(3, F, generator=torch.Generator().manual_seed(14))
    x[2] = x[1]
    ei = torch.tensor([[1, 2], [0, 0]])
    theirs, ours = pair(ratio=1.0 - 1e-9)  # PyG: a float < 1, keeps ceil(3 * r) = 3 nodes
    assert_same(theirs(x, ei), ours(x, ei), False)
    r = torch.randn(F, generator=torch.Generator().manual_seed(1))
    grads = []
    for model in (theirs, ours):
        xr = x.clone().requires_grad_()
        x_out = model(xr, ei)[0]
        ((x_out**2).sum() + (x_out.sum(0) * r).sum()).backward()  # symmetric in the output rows
        grads.append(xr.grad)
    g_theirs, g_ours = grads
    torch.testing.assert_close(g_ours[0], g_theirs[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(g_ours[1] + g_ours[2], g_theirs[1] + g_theirs[2], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(g_theirs[1], g_theirs[2])  # symmetric in PyG
    assert (g_ours[1] - g_ours[2]).abs().max() > 0.1


# -- 3. the documented difference: ranking by fitness, whatever the sign of select.weight ---


def fitness_of_all(ours, x, edge_index, edge_weight=None, batch=None):
    """Fitness of every node: with ratio 1.0 every cluster is kept and out.score = fitness[perm]."""
    saved = ours.ratio
    ours.ratio = 1.0
    try:
        out = ours(x, edge_index, edge_weight, batch)
    finally:
        ours.ratio = saved
    assert out.num_nodes == x.size(0)
    fit = out.score.new_empty(x.size(0))
    fit[out.perm] = out.score.detach()
    return fit


def test_negative_select_weight_pyg_keeps_least_fit_ours_most_fit():
    b = random_batch([30, 12, 21], seed=5)
    theirs_neg, ours_neg = pair(negative=True)
    theirs_pos, ours_pos = pair(negative=False)
    assert ours_neg.select.weight.item() < 0 < ours_pos.select.weight.item()
    out_pyg_neg = theirs_neg(b.x, b.edge_index, batch=b.batch)
    out_neg = ours_neg(b.x, b.edge_index, batch=b.batch)
    out_pos = ours_pos(b.x, b.edge_index, batch=b.batch)
    # ours ignores the sign: the same clusters as PyG with a positive weight
    assert_same(theirs_pos(b.x, b.edge_index, batch=b.batch), out_neg, False)
    assert torch.equal(out_neg.perm, out_pos.perm)
    # ours keeps the top-k by fitness, PyG (negative weight) the bottom-k
    fit = fitness_of_all(ours_neg, b.x, b.edge_index, batch=b.batch)
    assert torch.equal(out_neg.perm, topk(fit, 0.5, b.batch))
    torch.testing.assert_close(out_neg.score, fit[out_neg.perm])
    bottom = topk(-fit, 0.5, b.batch)
    assert set(out_pyg_neg[4].tolist()) == set(bottom.tolist())
    assert set(out_pyg_neg[4].tolist()) != set(out_neg.perm.tolist())


def test_perm_is_topk_of_fitness_graph_by_graph():
    b = random_batch([17, 3, 40], seed=9)
    _, ours = pair(ratio=0.25, GNN=pyg.GCNConv)
    ew = weights(b.edge_index.size(1))
    out = ours(b.x, b.edge_index, ew, b.batch)
    fit = fitness_of_all(ours, b.x, b.edge_index, ew, b.batch)
    assert torch.equal(out.perm, topk(fit, 0.25, b.batch))
    # within each graph by descending score
    for g in range(3):
        s = out.score[out.batch == g]
        assert (s[1:] <= s[:-1]).all()
    assert ((out.score > 0) & (out.score < 1)).all()  # a sigmoid


def test_float_ratio_one_keeps_every_cluster():
    # PyG reads ratio >= 1 as an int k (ratio=1.0 keeps one node); ours keeps all of them
    b = random_batch([7, 3])
    theirs, ours = pair(ratio=1.0)
    assert ours(b.x, b.edge_index, batch=b.batch).num_nodes == 10
    assert theirs(b.x, b.edge_index, batch=b.batch)[0].size(0) == 2
    assert ASAPooling(F, ratio=1)(b.x, b.edge_index, batch=b.batch).batch.tolist() == [0, 1]


# -- 4. the record -------------------------------------------------------------------------


@pytest.mark.parametrize("dups", [False, True], ids=["simple", "duplicates"])
def test_assignment_columns_are_the_kept_neighbourhoods(dups):
    data = random_graph(40, seed=11)
    data = with_loops_and_duplicates(data, seed=12) if dups else simple(data)
    n = data.num_nodes
    _, ours = pair(GNN=pyg.GraphConv)
    out = ours(data.x, data.edge_index)
    k = out.num_nodes
    S = out.assignment
    assert S.is_sparse and S.shape == (n, k)
    Sd = S.to_dense()
    loops, _ = add_remaining_self_loops(data.edge_index, num_nodes=n)
    for c in range(k):
        centre = int(out.perm[c])
        members = set(loops[0, loops[1] == centre].tolist()) | {centre}
        assert set(Sd[:, c].nonzero().view(-1).tolist()) == members, c
        # a softmax over the neighbourhood
        torch.testing.assert_close(Sd[:, c].sum(), torch.tensor(1.0))
    assert (Sd >= 0).all()
    # x' = fitness * Sᵀ x, in the kept order
    torch.testing.assert_close(out.x, out.score.view(-1, 1) * (Sd.t() @ data.x), rtol=1e-5, atol=1e-5)
    # the assignment is differentiable (it is the attention)
    assert S.requires_grad


@pytest.mark.parametrize("dups", [False, True], ids=["simple", "duplicates"])
def test_cluster_sends_each_node_to_its_strongest_kept_cluster(dups):
    data = random_graph(50, seed=13)
    data = with_loops_and_duplicates(data, seed=14) if dups else simple(data)
    n = data.num_nodes
    _, ours = pair()
    out = ours(data.x, data.edge_index)
    k = out.num_nodes
    cl = out.cluster
    assert cl.shape == (n,) and cl.dtype == torch.long
    assert ((cl >= DROPPED) & (cl < k)).all()
    Sd = out.assignment.to_dense()
    loops, _ = add_remaining_self_loops(data.edge_index, num_nodes=n)
    for u in range(n):
        if cl[u] == DROPPED:
            assert (Sd[u] == 0).all()  # in no kept cluster
            continue
        centre = int(out.perm[cl[u]])
        # u is an in-neighbour of the kept centre, or the centre itself
        assert u == centre or bool(((loops[0] == u) & (loops[1] == centre)).any()), u
        # ... of the cluster it weighs most in (lowest index on ties)
        assert int(cl[u]) == int(torch.argmax(Sd[u])), u
        assert Sd[u, cl[u]] == Sd[u].max()
    # every kept centre is in some kept cluster (at least its own)
    assert (cl[out.perm] >= 0).all()
    assert out.kept.sum() == (Sd.sum(1) > 0).sum()
    # a kept centre goes to its own cluster unless another one has a larger S entry
    own = Sd[out.perm, torch.arange(k)]
    best = Sd[out.perm].max(1).values
    mine = cl[out.perm] == torch.arange(k)
    assert (own[mine] == best[mine]).all()
    assert (own[~mine] < best[~mine]).all()  # random features: no ties
    assert mine.any()


def test_isolated_kept_centre_is_its_own_cluster():
    x = torch.randn(6, F, generator=torch.Generator().manual_seed(1))
    ei = torch.tensor([[0, 1], [1, 0]])
    _, ours = pair(ratio=1.0)
    out = ours(x, ei)
    # nodes 2..5 are alone in their cluster with S = 1
    for u in range(2, 6):
        c = int(out.cluster[u])
        assert int(out.perm[c]) == u
        assert out.assignment.to_dense()[u, c] == 1.0


def test_unpool_is_assignment_times_x():
    b = random_batch([15, 8, 1], seed=2)
    _, ours = pair()
    out = ours(b.x, b.edge_index, batch=b.batch)
    y = torch.randn(out.num_nodes, 5, generator=torch.Generator().manual_seed(0))
    up = out.unpool(y)
    assert up.shape == (b.num_nodes, 5)
    torch.testing.assert_close(up, out.assignment.to_dense() @ y)
    # dropped nodes (in no kept cluster) get zeros
    assert (up[out.cluster == DROPPED] == 0).all()
    with pytest.raises(ValueError, match="one row per output node"):
        out.unpool(torch.randn(out.num_nodes + 1, 5))


def test_tuple_unpacking_is_pygs_five_tuple():
    b = random_batch([10, 6])
    _, ours = pair()
    ew = weights(b.edge_index.size(1))
    out = ours(b.x, b.edge_index, ew, b.batch)
    x, edge_index, edge_weight, batch, perm = out
    assert len(out) == 5
    assert x is out.x and edge_index is out.edge_index and edge_weight is out.edge_weight
    assert batch is out.batch and perm is out.perm
    assert out[2] is out.edge_weight and out[-1] is out.perm
    assert batch.tolist() == [0] * 5 + [1] * 3
    assert out.num_input_nodes == 16 and out.num_nodes == 8
    assert out.edge_attr is None and out.aux_losses == {}
    assert out.score.shape == (8,)


# -- 5. batching invariance ----------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "kw",
    [dict(), dict(GNN=pyg.GCNConv, add_self_loops=True), dict(ratio=4), dict(edge_topk=3)],
    ids=["default", "GCN_loops", "int", "edge_topk"],
)
def test_batch_equals_graphs_one_at_a_time(kw, weighted):
    sizes = [12, 1, 40]
    graphs = [random_graph(n, seed=i) for i, n in enumerate(sizes)]
    ews = [weights(g.edge_index.size(1), seed=i) if weighted else None for i, g in enumerate(graphs)]
    b = Batch.from_data_list(graphs)
    if "edge_topk" in kw:
        torch.manual_seed(0)
        pool = ASAPooling(F, **kw).eval()
    else:
        _, pool = pair(**kw)
    whole = pool(b.x, b.edge_index, torch.cat(ews) if weighted else None, b.batch)
    offset = 0
    for g, (data, ew) in enumerate(zip(graphs, ews)):
        one = pool(data.x, data.edge_index, ew)
        mask = whole.batch == g
        k = one.num_nodes
        assert int(mask.sum()) == k
        torch.testing.assert_close(whole.x[mask], one.x, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(whole.score[mask], one.score, rtol=1e-5, atol=1e-6)
        assert torch.equal(whole.perm[mask] - b.ptr[g], one.perm)
        emask = mask[whole.edge_index[0]]
        e_whole = whole.edge_index[:, emask] - offset
        w_whole = whole.edge_weight[emask] if weighted else None
        e1, w1 = edge_set(e_whole, w_whole, k)
        e2, w2 = edge_set(one.edge_index, one.edge_weight, k)
        assert torch.equal(e1, e2)
        if weighted:
            torch.testing.assert_close(w1, w2, rtol=1e-5, atol=1e-6)
        else:
            assert whole.edge_weight is None and one.edge_weight is None
        # the record, per graph
        nodes = slice(int(b.ptr[g]), int(b.ptr[g + 1]))
        cl = whole.cluster[nodes]
        expect = torch.where(one.cluster >= 0, one.cluster + offset, one.cluster)
        assert torch.equal(cl, expect)
        torch.testing.assert_close(
            whole.assignment.to_dense()[nodes][:, offset : offset + k], one.assignment.to_dense(), rtol=1e-5, atol=1e-6
        )
        offset += k
    assert offset == whole.num_nodes


def test_permutation_equivariance():
    data = random_graph(60, seed=3)
    _, pool = pair(ratio=0.4)
    ew = weights(data.edge_index.size(1))
    out = pool(data.x, data.edge_index, ew)
    perm = torch.randperm(60, generator=torch.Generator().manual_seed(1))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(60)
    out_p = pool(data.x[perm], inv[data.edge_index], ew)
    assert torch.equal(perm[out_p.perm], out.perm)
    torch.testing.assert_close(out_p.x, out.x, rtol=1e-5, atol=1e-6)
    e1, w1 = edge_set(out.edge_index, out.edge_weight, out.num_nodes)
    e2, w2 = edge_set(out_p.edge_index, out_p.edge_weight, out.num_nodes)
    assert torch.equal(e1, e2)
    torch.testing.assert_close(w1, w2, rtol=1e-5, atol=1e-6)


# -- 6. bad input and edge cases -----------------------------------------------------------


def test_wrong_feature_width():
    data = random_graph(10, channels=F + 1)
    with pytest.raises(ValueError, match=r"17 features.*in_channels=16"):
        ASAPooling(F)(data.x, data.edge_index)


@pytest.mark.parametrize("bad", [10, 11, -1])
def test_edge_index_out_of_range(bad):
    data = random_graph(10)
    ei = data.edge_index.clone()
    ei[1, 3] = bad
    with pytest.raises(ValueError, match=r"'edge_index' refers to nodes outside \[0, 10\)"):
        ASAPooling(F)(data.x, ei)


def test_edge_index_bad_shape_or_dtype():
    x = torch.randn(4, F)
    with pytest.raises(ValueError, match="'edge_index' must have shape"):
        ASAPooling(F)(x, torch.tensor([[0, 1, 2]]))
    with pytest.raises(ValueError, match="'edge_index' must have dtype"):
        ASAPooling(F)(x, torch.tensor([[0, 1], [1, 0]], dtype=torch.int32))


def test_edges_joining_two_graphs():
    b = random_batch([5, 6])
    ei = torch.cat([b.edge_index, torch.tensor([[2], [7]])], 1)
    with pytest.raises(ValueError, match=r"joins graph 0 and graph 1"):
        ASAPooling(F)(b.x, ei, batch=b.batch)


def test_bad_edge_weight_and_batch():
    b = random_batch([5, 6])
    with pytest.raises(ValueError, match="'edge_weight' must have shape"):
        ASAPooling(F)(b.x, b.edge_index, torch.ones(b.edge_index.size(1) + 1), b.batch)
    with pytest.raises(ValueError, match="'batch' has"):
        ASAPooling(F)(b.x, b.edge_index, batch=b.batch[1:])
    x = b.x.clone()
    x[3, 2] = float("nan")
    with pytest.raises(ValueError, match="'x' contains NaN"):
        ASAPooling(F)(x, b.edge_index, batch=b.batch)


@pytest.mark.parametrize(
    "ratio,msg",
    [
        (0, r"'ratio' as an int .* must be >= 1, got 0"),
        (-1, r"'ratio' as an int .* must be >= 1, got -1"),
        (1.5, r"'ratio' as a float .* \(0, 1\], got 1.5"),
        (0.0, r"'ratio' as a float .* \(0, 1\], got 0.0"),
        (-0.5, r"'ratio' as a float"),
        ("0.5", r"'ratio' must be a float in \(0, 1\] or an int"),
        (True, r"'ratio' must be a float in \(0, 1\] or an int"),
    ],
)
def test_bad_ratio(ratio, msg):
    with pytest.raises(ValueError, match=msg):
        ASAPooling(F, ratio=ratio)


def test_ratio_none_fails_at_the_latest_at_forward():
    with pytest.raises(ValueError, match="'ratio'"):
        ASAPooling(F, ratio=None)(torch.randn(4, F), torch.tensor([[0, 1], [1, 2]]))


def test_ratio_none_is_rejected_at_construction():
    with pytest.raises(ValueError, match="'ratio'"):
        ASAPooling(F, ratio=None)


@pytest.mark.parametrize("dropout", [1.0, 1, -0.1, 2, "0.1", True, None])
def test_bad_dropout(dropout):
    with pytest.raises(ValueError, match=r"ASAPooling: 'dropout' must be a finite number in \[0, 1\), got "):
        ASAPooling(F, dropout=dropout)


@pytest.mark.parametrize("channels", [0, -3, 2.0, True, "16"])
def test_bad_in_channels(channels):
    with pytest.raises(ValueError, match="ASAPooling: 'in_channels' must be an int >= 1, got "):
        ASAPooling(channels)


def test_dropout_only_while_training():
    data = random_graph(40, seed=2)
    ei = coalesce(data.edge_index[:, data.edge_index[0] != data.edge_index[1]], num_nodes=40)
    torch.manual_seed(0)
    pool = ASAPooling(F, dropout=0.5, ratio=1.0)
    pool.eval()
    ref = pool(data.x, ei)
    again = pool(data.x, ei)
    torch.testing.assert_close(ref.x, again.x, rtol=0, atol=0)
    S_ref = ref.assignment.to_dense()[:, torch.argsort(ref.perm)]  # columns by centre node
    pool.train()
    torch.manual_seed(0)
    out = pool(data.x, ei)
    S = out.assignment.to_dense()[:, torch.argsort(out.perm)]
    assert torch.isfinite(out.x).all()
    # each attention entry is dropped or scaled by 1 / (1 - p)
    dropped = (S == 0) & (S_ref > 0)
    assert dropped.any() and (~dropped & (S_ref > 0)).any()
    torch.testing.assert_close(S[~dropped], 2 * S_ref[~dropped])


def test_no_edges_isolated_nodes_and_one_node():
    _, pool = pair()
    no_edges = torch.empty(2, 0, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    # no edges at all: every node is its own cluster, S = 1, x' = fitness * x
    x = torch.randn(6, F, generator=g)
    for ew in (None, torch.empty(0)):
        out = pool(x, no_edges, ew)
        assert out.num_nodes == 3 and out.edge_index.shape == (2, 0)
        assert (out.edge_weight is None) == (ew is None)
        assert torch.isfinite(out.x).all()
        torch.testing.assert_close(out.x, x[out.perm] * out.score.view(-1, 1))
        assert torch.equal(out.cluster[out.perm], torch.arange(3))
        assert int((out.cluster == DROPPED).sum()) == 3
    # isolated nodes next to an edge
    out = pool(x, torch.tensor([[0, 1], [1, 0]]), torch.tensor([0.5, 2.0]))
    assert out.num_nodes == 3 and torch.isfinite(out.x).all() and torch.isfinite(out.edge_weight).all()
    # one node, with and without a self-loop; and a batch of one-node graphs
    one = random_graph(1)
    for ei in (one.edge_index, torch.tensor([[0], [0]])):
        out = pool(one.x, ei)
        assert out.num_nodes == 1 and out.edge_index.shape == (2, 0)
        assert out.perm.tolist() == [0] and out.cluster.tolist() == [0]
        assert torch.isfinite(out.x).all()
    out = ASAPooling(F, add_self_loops=True)(one.x, one.edge_index)
    assert out.edge_index.tolist() == [[0], [0]]
    b = Batch.from_data_list([random_graph(1, seed=i) for i in range(4)])
    out = pool(b.x, b.edge_index, batch=b.batch)
    assert out.batch.tolist() == [0, 1, 2, 3] and torch.isfinite(out.x).all()


def test_empty_graph():
    _, pool = pair()
    out = pool(torch.empty(0, F), torch.empty(2, 0, dtype=torch.long), batch=torch.empty(0, dtype=torch.long))
    assert out.num_nodes == 0 and out.edge_index.shape == (2, 0) and out.cluster.shape == (0,)


def test_float64_input():
    data = simple(random_graph(30, seed=3))
    theirs, ours = pair(GNN=pyg.GraphConv)
    out32 = ours(data.x, data.edge_index)
    theirs.double()
    ours.double()
    x = data.x.double()
    out = ours(x, data.edge_index)
    assert out.x.dtype == torch.float64 and out.edge_weight is None
    assert torch.equal(out.perm, out32.perm)
    torch.testing.assert_close(out.x.float(), out32.x, rtol=1e-5, atol=1e-5)
    # PyG's float64 needs edge weights (its default ones are float32)
    ew = weights(data.edge_index.size(1), dtype=torch.float64)
    out = ours(x, data.edge_index, ew)
    assert out.edge_weight.dtype == torch.float64
    assert_same(theirs(x, data.edge_index, ew), out, True)


# -- 7. gradcheck --------------------------------------------------------------------------


def tiny(kw, seed=0):
    """A tiny simple graph with distinct random features, and a float64 pooler: no ties in
    the neighbourhood max, fitness gaps far above the perturbation, so the top-k and the
    pooled edge order are locally constant."""
    torch.manual_seed(seed)
    pool = ASAPooling(4, ratio=0.6, **kw).double().eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    ei = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 0, 3], [1, 0, 2, 1, 3, 2, 4, 3, 5, 4, 3, 0]])
    ew = (torch.rand(ei.size(1), generator=g, dtype=torch.float64) + 0.5).requires_grad_()
    ref = pool(x, ei, ew)
    fit = fitness_of_all(pool, x.detach(), ei, ew.detach())
    gaps = fit.sort().values.diff()
    assert gaps.min() > 1e-3
    assert ref.edge_index.size(1) > 0 and ref.edge_weight.requires_grad

    def run(x, ew, edge_attr=None):
        out = pool(x, ei, ew, edge_attr=edge_attr)
        assert torch.equal(out.perm, ref.perm) and torch.equal(out.edge_index, ref.edge_index)
        return out

    return run, x, ew


@pytest.mark.parametrize("kw", [dict(), dict(GNN=pyg.GCNConv), dict(GNN=pyg.GraphConv, add_self_loops=True)], ids=kw_id)
def test_gradcheck_x_and_score(kw):
    run, x, ew = tiny(kw)

    def f(x, ew):
        out = run(x, ew)
        return out.x, out.score

    assert torch.autograd.gradcheck(f, (x, ew), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("kw", [dict(), dict(add_self_loops=True)], ids=kw_id)
def test_gradcheck_edge_weight_wrt_input_weights(kw):
    run, x, ew = tiny(kw)
    x = x.detach()
    assert torch.autograd.gradcheck(lambda ew: run(x, ew).edge_weight, (ew,), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("kw", [dict(), dict(GNN=pyg.GCNConv)], ids=kw_id)
def test_gradcheck_edge_weight_wrt_x(kw):
    run, x, ew = tiny(kw)
    ew = ew.detach()
    assert torch.autograd.gradcheck(lambda x: run(x, ew).edge_weight, (x,), eps=1e-6, atol=1e-6, rtol=1e-4)


# -- 8. edge_attr: E'_c = Sᵀ E_c S at the pooled edges -------------------------------------


def edge_attr_of(num_edges, d=3, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(num_edges, d, generator=g).to(dtype)


def edge_attr_to_dense(out):
    """The carried edge_attr as a dense [k, k, D] tensor (order-free)."""
    k, ea = out.num_nodes, out.edge_attr
    return ea.new_zeros(k, k, ea.size(1)).index_put(tuple(out.edge_index), ea, accumulate=True)


def pooled_mask(out):
    k = out.num_nodes
    return torch.zeros(k, k, dtype=torch.bool).index_put(tuple(out.edge_index), torch.tensor(True))


@pytest.fixture(params=["paths", "products"])
def edge_attr_method(request, monkeypatch):
    """Each way ASAP carries ``edge_attr``: the path product (sparse graphs) or one sparse
    product per channel (taken above ``_PATHS_PER_EDGE`` paths per pooled edge; forced here)."""
    import hipool.nn.asap as asap_module

    monkeypatch.setattr(asap_module, "_PATHS_PER_EDGE", 10**12 if request.param == "paths" else 0)
    return request.param


@pytest.mark.parametrize("dups", [False, True], ids=["simple", "loops_duplicates"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "kw", [dict(), dict(add_self_loops=True), dict(GNN=pyg.GCNConv), dict(ratio=3), dict(edge_topk=2)], ids=kw_id
)
def test_edge_attr_equals_dense_reference(kw, weighted, dups, edge_attr_method):
    b = Batch.from_data_list([random_graph(n, seed=n) for n in (25, 1, 12, 2)])
    data = with_loops_and_duplicates(b, seed=1) if dups else simple(b)
    batch = b.batch
    ea = edge_attr_of(data.edge_index.size(1), d=3, seed=2)
    ew = weights(data.edge_index.size(1), seed=3) if weighted else None
    _, ours = pair(**kw)
    out = ours(data.x, data.edge_index, ew, batch, edge_attr=ea)
    _, _, perm, ref = dense_reference(ours, data.x, data.edge_index, ew, batch, edge_attr=ea)
    assert torch.equal(out.perm, perm)
    assert out.edge_attr.shape == (out.edge_index.size(1), 3) and out.edge_attr.dtype == data.x.dtype
    torch.testing.assert_close(out.edge_attr, ref[tuple(out.edge_index)], rtol=1e-5, atol=1e-6)
    # nothing is lost: off the pooled edges S^T E S is zero, but for the removed self-loops
    off = ~pooled_mask(out)
    if not kw.get("add_self_loops"):
        off &= ~torch.eye(out.num_nodes, dtype=torch.bool)
    if "edge_topk" not in kw:  # (pruned edges carry theirs away)
        assert (ref[off] == 0).all()
    assert (ref[~off].abs().sum(-1) > 0).any()


def test_edge_attr_changes_no_other_output():
    data = with_loops_and_duplicates(random_graph(40, seed=3), seed=4)
    ea = edge_attr_of(data.edge_index.size(1), d=4)
    for kw in (dict(), dict(add_self_loops=True), dict(GNN=pyg.GraphConv)):
        _, ours = pair(**kw)
        for ew in (None, weights(data.edge_index.size(1))):
            ref = ours(data.x, data.edge_index, ew)
            out = ours(data.x, data.edge_index, ew, edge_attr=ea)
            assert ref.edge_attr is None and out.edge_attr is not None
            for name in ("x", "edge_index", "batch", "perm", "score", "cluster"):
                assert torch.equal(getattr(out, name), getattr(ref, name)), name
            assert (out.edge_weight is None) == (ew is None)
            if ew is not None:
                assert torch.equal(out.edge_weight, ref.edge_weight)
            assert torch.equal(out.assignment.to_dense(), ref.assignment.to_dense())


def test_edge_attr_shapes_and_dtypes():
    data = simple(random_graph(30, seed=5))
    e = data.edge_index.size(1)
    ea = edge_attr_of(e, d=6, seed=1)
    _, ours = pair()
    two_d = ours(data.x, data.edge_index, edge_attr=ea).edge_attr
    # 1-D [E] gives [E'], the single channel of [E, 1]
    one_d = ours(data.x, data.edge_index, edge_attr=ea[:, 0]).edge_attr
    assert one_d.shape == (two_d.size(0),)
    torch.testing.assert_close(one_d, ours(data.x, data.edge_index, edge_attr=ea[:, :1]).edge_attr.view(-1))
    torch.testing.assert_close(one_d, two_d[:, 0])
    # channels are independent; trailing dimensions are kept
    torch.testing.assert_close(ours(data.x, data.edge_index, edge_attr=ea[:, 3:]).edge_attr, two_d[:, 3:])
    three_d = ours(data.x, data.edge_index, edge_attr=ea.view(e, 2, 3)).edge_attr
    torch.testing.assert_close(three_d, two_d.view(-1, 2, 3))
    assert ours(data.x, data.edge_index, edge_attr=ea[:, :0]).edge_attr.shape == (two_d.size(0), 0)
    # integer features (bond types) are summed in x's dtype
    ints = torch.randint(0, 4, (e, 2), generator=torch.Generator().manual_seed(0))
    out = ours(data.x, data.edge_index, edge_attr=ints).edge_attr
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ours(data.x, data.edge_index, edge_attr=ints.float()).edge_attr)


def test_edge_attr_on_graphs_without_edges():
    _, pool = pair()
    _, loops = pair(add_self_loops=True)
    x = torch.randn(6, F, generator=torch.Generator().manual_seed(0))
    no_edges = torch.empty(2, 0, dtype=torch.long)
    out = pool(x, no_edges, edge_attr=torch.empty(0, 3))
    assert out.edge_attr.shape == (0, 3)
    # every kept node is its own cluster: its pooled self-loop has no input edge, so zeros
    out = loops(x, no_edges, edge_attr=torch.empty(0, 3))
    assert out.edge_attr.shape == (3, 3) and (out.edge_attr == 0).all()
    empty = torch.empty(0, dtype=torch.long)
    out = pool(torch.empty(0, F), no_edges, batch=empty, edge_attr=torch.empty(0, 2))
    assert out.edge_attr.shape == (0, 2)
    one = random_graph(1)
    out = loops(one.x, torch.tensor([[0], [0]]), edge_attr=torch.tensor([[2.0, -1.0]]))
    torch.testing.assert_close(out.edge_attr, torch.tensor([[2.0, -1.0]]))  # S = 1


def test_edge_attr_of_added_input_self_loops_is_zero():
    # ASAP adds a self-loop (weight 1) to every node without one; giving those loops explicitly,
    # with weight 1 and zero features, changes nothing
    data = simple(random_graph(30, seed=6))
    n, e = 30, data.edge_index.size(1)
    ea, ew = edge_attr_of(e, d=2), weights(e)
    loops = torch.arange(n).repeat(2, 1)
    ei2 = torch.cat([data.edge_index, loops], 1)
    ea2, ew2 = torch.cat([ea, torch.zeros(n, 2)]), torch.cat([ew, torch.ones(n)])
    for kw in (dict(), dict(add_self_loops=True)):
        _, ours = pair(**kw)
        out, out2 = ours(data.x, data.edge_index, ew, edge_attr=ea), ours(data.x, ei2, ew2, edge_attr=ea2)
        assert torch.equal(out.edge_index, out2.edge_index)
        torch.testing.assert_close(out.edge_attr, out2.edge_attr)


@pytest.mark.parametrize(
    "kw", [dict(), dict(GNN=pyg.GCNConv, add_self_loops=True), dict(ratio=4)], ids=["default", "GCN_loops", "int"]
)
def test_edge_attr_batch_equals_graphs_one_at_a_time(kw):
    graphs = [random_graph(n, seed=i, edge_dim=3) for i, n in enumerate([12, 1, 40, 7])]
    b = Batch.from_data_list(graphs)
    _, pool = pair(**kw)
    whole = pool(b.x, b.edge_index, batch=b.batch, edge_attr=b.edge_attr)
    offset = 0
    for g, data in enumerate(graphs):
        one = pool(data.x, data.edge_index, edge_attr=data.edge_attr)
        k = one.num_nodes
        emask = (whole.batch == g)[whole.edge_index[0]]
        e_whole = whole.edge_index[:, emask] - offset
        a1 = coalesce(e_whole, whole.edge_attr[emask], num_nodes=k)
        a2 = coalesce(one.edge_index, one.edge_attr, num_nodes=k)
        assert torch.equal(a1[0], a2[0])
        torch.testing.assert_close(a1[1], a2[1], rtol=1e-5, atol=1e-6)
        offset += k
    assert offset == whole.num_nodes


@pytest.mark.parametrize("kw", [dict(), dict(GNN=pyg.GCNConv), dict(add_self_loops=True)], ids=kw_id)
def test_edge_attr_gradients_equal_dense_reference(kw, edge_attr_method):
    data = with_loops_and_duplicates(random_graph(30, seed=7), seed=8)
    ea0, ew0 = edge_attr_of(data.edge_index.size(1), d=3, seed=1), weights(data.edge_index.size(1), seed=2)
    _, ours = pair(**kw)
    k = None
    grads = []
    for reference in (True, False):
        ours.zero_grad()
        x, ea, ew = (t.clone().requires_grad_() for t in (data.x, ea0, ew0))
        if reference:
            _, _, _, dense = dense_reference(ours, x, data.edge_index, ew, edge_attr=ea)
            k = dense.size(0)
            if not kw.get("add_self_loops"):  # read at the pooled edges only
                dense = dense * (1 - torch.eye(k)).unsqueeze(-1)
        else:
            dense = edge_attr_to_dense(ours(x, data.edge_index, ew, edge_attr=ea))
        h = torch.cos(torch.arange(k * k * 3, dtype=torch.float32) * 0.37).view(k, k, 3)
        ((dense * h).sum() + (dense**2).sum()).backward()
        grads.append((x.grad, ea.grad, ew.grad, {n: p.grad for n, p in ours.named_parameters()}))
    (gx1, ga1, gw1, gp1), (gx2, ga2, gw2, gp2) = grads
    torch.testing.assert_close(ga2, ga1, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gx2, gx1, rtol=1e-4, atol=1e-5)  # through S
    assert ga2.abs().sum() > 0 and gx2.abs().sum() > 0
    if "GNN" in kw:  # the weights reach the edge features only through S
        torch.testing.assert_close(gw2, gw1, rtol=1e-4, atol=1e-5)
    for name, g in gp1.items():
        if g is not None:
            torch.testing.assert_close(gp2[name], g, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("kw", [dict(), dict(GNN=pyg.GraphConv, add_self_loops=True)], ids=kw_id)
def test_gradcheck_edge_attr(kw):
    run, x, ew = tiny(kw)
    ea = torch.randn(ew.numel(), 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64, requires_grad=True)
    # x and the input weights reach the edge features through S (the weights only through the GNN).
    # Fast mode (random projections of the Jacobian): the full one costs one backward per output.
    assert torch.autograd.gradcheck(
        lambda x, ea, ew: run(x, ew, ea).edge_attr, (x, ea, ew), eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=True
    )


def test_neighbour_max_scatter_path_equals_the_csr_kernel():
    """The scatter-max (used off the CPU, where torch has no CSR max-product) computes what
    the CSR kernel does, gradients included (random features: no ties)."""
    from torch_geometric.utils import add_remaining_self_loops, coalesce

    from hipool.nn.asap import neighbour_max

    g = torch.Generator().manual_seed(3)
    n = 40
    ei = torch.randint(n, (2, 160), generator=g)
    ei, _ = add_remaining_self_loops(ei, num_nodes=n)
    ei = coalesce(ei[[1, 0]], num_nodes=n)[[1, 0]]  # sorted by destination, no repeats
    src, dst = ei
    x = torch.randn(n, 5, generator=g, dtype=torch.float64)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_csr = neighbour_max(a, src, dst, n, csr=True)
    out_scatter = neighbour_max(b, src, dst, n, csr=False)
    torch.testing.assert_close(out_csr, out_scatter)
    w = torch.randn(n, 5, generator=g, dtype=torch.float64)
    (out_csr * w).sum().backward()
    (out_scatter * w).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)


# -- edge_topk: each pooled node's strongest out-edges ------------------------------------------


def strongest_reference(adj, topk, loops):
    """The edges ``edge_topk`` keeps, from the dense ``SᵀAS`` ``[k, k]``: per row the ``topk``
    largest ``|value|`` off the diagonal (nonzero), plus the diagonal with ``loops``."""
    off = adj.detach().clone()
    off.fill_diagonal_(0)
    keep = set()
    for i in range(adj.size(0)):
        nz = off[i].nonzero().view(-1)
        keep |= {(i, int(j)) for j in nz[torch.argsort(off[i, nz].abs(), descending=True)[:topk]]}
        if loops:
            keep.add((i, i))
    return keep


@pytest.mark.parametrize("loops", [False, True], ids=["no_loops", "loops"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("topk_", [1, 3])
def test_edge_topk_keeps_each_rows_strongest_edges(topk_, weighted, loops):
    """Against the dense ``SᵀAS`` of :func:`dense_reference` (repeated edges summed, as in
    PyG's product): the kept edges, their weights, and a subset of the exact pooled graph."""
    data = with_loops_and_duplicates(random_graph(50, seed=4), seed=4)
    ew = weights(data.edge_index.size(1), seed=4) if weighted else None
    torch.manual_seed(0)
    exact = ASAPooling(F, add_self_loops=loops).eval()
    pruned = ASAPooling(F, add_self_loops=loops, edge_topk=topk_).eval()
    pruned.load_state_dict(exact.state_dict())
    full, out = exact(data.x, data.edge_index, ew), pruned(data.x, data.edge_index, ew)
    _, adj, perm = dense_reference(exact, data.x, data.edge_index, ew)
    assert torch.equal(out.perm, perm) and torch.equal(out.x, full.x)
    got = {tuple(e) for e in out.edge_index.t().tolist()}
    assert len(got) == out.edge_index.size(1)  # no repeats
    assert got == strongest_reference(adj, topk_, loops)
    assert got < {tuple(e) for e in full.edge_index.t().tolist()}
    assert torch.equal(out.edge_index[0], out.edge_index[0].sort().values)  # rows in order
    if weighted:
        torch.testing.assert_close(out.edge_weight, adj[out.edge_index[0], out.edge_index[1]], rtol=1e-5, atol=1e-6)
    else:
        assert out.edge_weight is None


def test_edge_topk_above_every_row_keeps_the_exact_graph():
    data = random_graph(40, seed=5)
    ew = weights(data.edge_index.size(1), seed=5)
    torch.manual_seed(0)
    exact = ASAPooling(F).eval()
    pruned = ASAPooling(F, edge_topk=10_000).eval()
    pruned.load_state_dict(exact.state_dict())
    a, b = exact(data.x, data.edge_index, ew), pruned(data.x, data.edge_index, ew)
    assert torch.equal(a.edge_index, b.edge_index)
    assert torch.equal(a.edge_weight, b.edge_weight)


def test_edge_topk_gradients_equal_the_exact_graphs_at_the_kept_edges():
    """The kept weights are entries of the same product: the gradient of a function of them
    equals that of the exact graph's weights at those edges (x and the input weights)."""
    data = simple(random_graph(40, seed=6))
    torch.manual_seed(0)
    exact = ASAPooling(F).eval()
    pruned = ASAPooling(F, edge_topk=2).eval()
    pruned.load_state_dict(exact.state_dict())

    def run(pool):
        x = data.x.clone().requires_grad_()
        ew = weights(data.edge_index.size(1), seed=6).requires_grad_()
        out = pool(x, data.edge_index, ew)
        return x, ew, out, out.edge_index[0] * out.num_nodes + out.edge_index[1]

    def backward(x, ew, w):
        (w * torch.cos(torch.arange(w.numel(), dtype=w.dtype))).sum().backward()
        return x.grad, ew.grad

    x, ew, out, kept = run(pruned)
    grads = backward(x, ew, out.edge_weight)
    x, ew, out, key = run(exact)
    sorted_key, order = key.sort()
    at = order[torch.searchsorted(sorted_key, kept)]
    assert torch.equal(key[at], kept)
    grads_exact = backward(x, ew, out.edge_weight[at])
    torch.testing.assert_close(grads[0], grads_exact[0], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grads[1], grads_exact[1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_bad_edge_topk(bad):
    with pytest.raises(ValueError, match=r"ASAPooling: 'edge_topk' must be an int >= 1 or None, got"):
        ASAPooling(F, edge_topk=bad)


def test_edge_attr_on_a_dense_graph_takes_the_products(monkeypatch):
    """On a dense graph the paths i <- u -> v -> j are the triple product's work, far beyond its
    pooled edges (stacked ASAP levels with edge features asked for terabytes before): the
    channels then go through one sparse product each, which equal the dense reference."""
    import hipool.nn.asap as asap_module

    taken = []
    real = asap_module._pool_edge_attr_products
    monkeypatch.setattr(asap_module, "_pool_edge_attr_products", lambda *a: taken.append(1) or real(*a))
    n = 24
    ii, jj = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = ii != jj
    edge_index = torch.stack([ii[keep], jj[keep]])  # complete: every pooled pair is reached many ways
    x = torch.randn(n, F, generator=torch.Generator().manual_seed(0))
    ea = edge_attr_of(edge_index.size(1), d=2, seed=3)
    _, ours = pair()
    out = ours(x, edge_index, edge_attr=ea)
    assert taken == [1]
    _, _, perm, ref = dense_reference(ours, x, edge_index, edge_attr=ea)
    torch.testing.assert_close(out.edge_attr, ref[tuple(out.edge_index)], rtol=1e-5, atol=1e-6)


def test_a_pooled_graph_too_large_to_form_is_a_clear_memory_error(monkeypatch):
    """MKL's sparse product fails with SPARSE_STATUS_ALLOC_FAILED when SᵀAS is too large (a
    power net of 85k pins gives 7·10⁹ pooled pairs): the error names ASAP, the graph and the
    hub's share, and what to do."""
    import hipool.nn.asap as asap_module

    def fail(*_):
        raise RuntimeError("MKL error: SPARSE_STATUS_ALLOC_FAILED when calling `mkl_sparse_spmm(...)`")

    n = 30
    star = torch.stack([torch.arange(1, n), torch.zeros(n - 1, dtype=torch.long)])  # a hub of in-degree 29
    edge_index = torch.cat([star, star.flip(0)], 1)
    _, ours = pair()
    real = torch.Tensor.__matmul__
    monkeypatch.setattr(torch.Tensor, "__matmul__", lambda a, b: fail() if a.is_sparse_csr else real(a, b))
    with pytest.raises(
        MemoryError, match=r"ASAPooling: the pooled graph SᵀAS of a graph with 30 nodes and 88 edges"
    ) as e:
        ours(torch.randn(n, F), edge_index)
    assert "largest in-degree, 30, alone gives up to 900 pooled pairs" in str(e.value)
    assert "edgepool, graclus, kmis, mincut/dmon sparse" in str(e.value)
    monkeypatch.setattr(torch.Tensor, "__matmul__", lambda a, b: (_ for _ in ()).throw(RuntimeError("other")))
    one = torch.eye(2).to_sparse_csr()
    with pytest.raises(RuntimeError, match="^other$"):  # other failures pass through as they are
        asap_module._triple_product(one, one, one, torch.tensor([0, 1, 2]))


def test_edge_attr_takes_the_paths_on_a_sparse_graph_and_the_products_one_level_up(monkeypatch):
    """The paths i <- u -> v -> j are a small multiple of the pooled edges on a sparse graph
    and thousands of times more on ASAP's own pooled graph: each level takes its method."""
    import hipool.nn.asap as asap_module

    taken = []
    real = asap_module._pool_edge_attr_products
    monkeypatch.setattr(asap_module, "_pool_edge_attr_products", lambda *a: taken.append("products") or real(*a))
    data = simple(random_graph(1000, degree=3, seed=9))
    data.edge_index = torch.cat([data.edge_index, data.edge_index.flip(0)], 1)
    torch.manual_seed(0)
    pool = ASAPooling(F).eval()
    first = pool(data.x, data.edge_index, edge_attr=edge_attr_of(data.edge_index.size(1), d=2, seed=1))
    assert taken == []
    pool(first.x, first.edge_index, edge_attr=first.edge_attr)
    assert taken == ["products"]
