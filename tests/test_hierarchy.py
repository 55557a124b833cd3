"""Hierarchy composes pooling records back to the input nodes, per graph."""
import pytest
import torch

from hipool import DROPPED, Hierarchy, ModelConfig
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
        torch.testing.assert_close(l1, logits[g:g + 1], rtol=1e-5, atol=1e-6)
        for a, c in zip(h.graph(g), h1.graph(0)):
            assert torch.equal(a, c)
