"""Hierarchy composes pooling records back to the input nodes, per graph."""

import ast
from pathlib import Path

import pytest
import torch

from hipool import DROPPED, Hierarchy, ModelConfig, PoolOutput, record
from hipool.nn import HierarchicalGNN, TopKPooling
from tests.conftest import random_batch


def test_composition_by_hand():
    b = random_batch([6, 4])
    p1, p2 = TopKPooling(16, ratio=0.5), TopKPooling(16, ratio=0.5)
    h = Hierarchy(b.batch)
    r1 = p1(b.x, b.edge_index, batch=b.batch)
    h.append(r1)
    r2 = p2(r1.x, r1.edge_index, batch=r1.batch)
    h.append(r2)
    assert h.num_levels == 2 and h[1] is r1 and h[2] is r2
    # level 2: original node i -> r2.cluster[r1.cluster[i]], DROPPED if dropped at either level
    expect = torch.tensor([r2.cluster[c] if c >= 0 else DROPPED for c in r1.cluster.tolist()])
    assert torch.equal(h.cluster(2), expect)
    assert torch.equal(h.cluster(0), torch.arange(10))
    assert h.sizes(0).tolist() == [6, 4] and h.sizes(1).tolist() == [3, 2] and h.sizes(2).tolist() == [2, 1]
    # local ids: within each graph 0..n_g-1; every kept node of graph g maps into graph g
    loc = h.local_cluster(2)
    assert set(loc[:6].tolist()) == {DROPPED, 0, 1} and set(loc[6:].tolist()) == {DROPPED, 0}
    assert int((h.cluster(2) != DROPPED).sum()) == 3
    g1 = h.graph(1)
    assert len(g1) == 2 and torch.equal(g1[1], loc[6:])
    d = h.to_dict()
    assert d["levels"][2]["nodes_per_graph"] == [2, 1] and len(d["levels"][2]["cluster"]) == 10


def test_append_rejects_mismatched_levels():
    b = random_batch([6, 4])
    h = Hierarchy(b.batch)
    r1 = TopKPooling(16, ratio=0.5)(b.x, b.edge_index, batch=b.batch)
    h.append(r1)
    with pytest.raises(ValueError, match="maps 10 input nodes, but level 1 has 5"):
        h.append(r1)
    with pytest.raises(ValueError, match=r"level must be an int in \[0, 1\], got 3"):
        h.cluster(3)
    with pytest.raises(ValueError, match=r"index must be an int in \[0, 2\)"):
        h.graph(2)


def test_model_hierarchy_traces_every_graph_and_matches_one_at_a_time():
    cfg = ModelConfig(hidden=8, schedule="6→3→1", pool=["topk", "sag", "topk"])
    torch.manual_seed(0)
    model = HierarchicalGNN(cfg, in_channels=16, num_classes=2).eval()
    sizes = [20, 1, 9, 4]
    b = random_batch(sizes)
    logits, h = model(b.x, b.edge_index, b.batch, return_hierarchy=True)
    assert logits.shape == (4, 2) and h.num_levels == 3
    assert h.sizes(1).tolist() == [6, 1, 6, 4] and h.sizes(2).tolist() == [3, 1, 3, 3]
    assert h.sizes(3).tolist() == [1, 1, 1, 1]
    for g, data in enumerate(b.to_data_list()):
        l1, h1 = model(data.x, data.edge_index, return_hierarchy=True)
        torch.testing.assert_close(l1, logits[g : g + 1], rtol=1e-5, atol=1e-6)
        for a, c in zip(h.graph(g), h1.graph(0)):
            assert torch.equal(a, c)


def test_record_imports_nothing_from_nn():
    tree = ast.parse(Path(record.__file__).read_text())
    modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if m == "nn" or m.startswith(("nn.", "hipool.nn"))]


@pytest.mark.filterwarnings("ignore:Sparse CSC tensor support is in beta")
def test_each_assignment_layout_lifts_its_own_way():
    g = torch.Generator().manual_seed(0)
    batch = torch.tensor([0] * 6 + [1] * 2)  # graph 1 has 2 nodes: 2 of the 3 cluster slots
    S = torch.softmax(torch.randn(8, 3, generator=g), -1)
    S[6:, 2] = 0
    S[6:] /= S[6:].sum(-1, keepdim=True)
    cluster = S.argmax(-1) + 3 * batch
    y = torch.randn(5, 4, generator=g)  # 3 + 2 output nodes
    none = torch.zeros(2, 0, dtype=torch.long)

    def rec(assignment, cluster=cluster, n_out=5):
        return PoolOutput(
            x=torch.zeros(n_out, 4),
            edge_index=none,
            edge_attr=None,
            batch=torch.tensor([0, 0, 0, 1, 1][:n_out]),
            perm=None,
            score=None,
            cluster=cluster,
            assignment=assignment,
        )

    want = torch.cat([S[:6] @ y[:3], S[6:, :2] @ y[3:]])
    torch.testing.assert_close(rec(S).unpool(y), want)  # dense: S x' within each graph
    sparse = torch.zeros(8, 5)
    sparse[:6, :3], sparse[6:, 3:] = S[:6], S[6:, :2]
    torch.testing.assert_close(rec(sparse.to_sparse()).unpool(y), want)  # sparse: S x'
    hard = torch.tensor([0, DROPPED, 2, 1, 1, 0, 4, DROPPED])
    up = rec(None, hard).unpool(y)  # none: the row of the node it went to, zeros if dropped
    torch.testing.assert_close(up, torch.cat([y[[0]], torch.zeros(1, 4), y[[2, 1, 1, 0, 4]], torch.zeros(1, 4)]))
    torch.testing.assert_close(rec(sparse.to_sparse_csc()).unpool(y), want)  # any sparse layout
    # the same S as a dense [N, N'] matrix from each layout; none without an assignment
    torch.testing.assert_close(rec(S).assignment_matrix(), sparse)  # slots spread per graph
    torch.testing.assert_close(rec(sparse.to_sparse()).assignment_matrix(), sparse)
    assert rec(None, hard).assignment_matrix() is None
