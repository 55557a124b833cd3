"""Bad input gets a clear ValueError naming the argument; checks can be switched off."""
import pytest
import torch

import hipool
from hipool.nn import SAGPooling, TopKPooling
from tests.conftest import random_graph

X = torch.randn(5, 4)
E = torch.tensor([[0, 1, 2], [1, 2, 3]])


@pytest.mark.parametrize("cls", [TopKPooling, SAGPooling])
@pytest.mark.parametrize("kwargs,match", [
    (dict(edge_index=torch.tensor([[0, 1], [1, 5]])), r"'edge_index' refers to nodes outside \[0, 5\).*column 1: \(1, 5\)"),
    (dict(edge_index=torch.tensor([[0, -1], [1, 2]])), r"'edge_index' refers to nodes outside"),
    (dict(edge_index=torch.tensor([0, 1, 2])), r"'edge_index' must have shape \[2, num_edges\], got shape \(3,\)"),
    (dict(edge_index=torch.tensor([[0, 1], [1, 2], [2, 3]])), r"'edge_index' must have shape \[2, num_edges\]"),
    (dict(edge_index=E.float()), r"'edge_index' must have dtype torch.long"),
    (dict(batch=torch.zeros(4, dtype=torch.long)), r"'x' has 5 nodes but 'batch' has 4 entries"),
    (dict(batch=torch.tensor([0, 1, 1, 0, 2])), r"'batch' must be sorted.*batch\[2\] = 1 > batch\[3\] = 0"),
    (dict(batch=torch.zeros(5)), r"'batch' must have dtype torch.long"),
    (dict(x=torch.tensor([[1.0] * 4] * 4 + [[float("nan")] * 4])), r"'x' contains NaN values in 1 node\(s\), first at node 4"),
    (dict(x=torch.tensor([[1.0] * 4] * 2 + [[float("inf")] * 4] * 3)), r"'x' contains inf values in 3 node\(s\), first at node 2"),
    (dict(edge_attr=torch.randn(2, 3)), r"'edge_attr' must have one row per edge \(3\)"),
])
def test_bad_graph_input(cls, kwargs, match):
    args = dict(x=X, edge_index=E, edge_attr=None, batch=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match) as info:
        cls(4, ratio=0.5)(**args)
    assert cls.__name__ in str(info.value)  # says which component complained


@pytest.mark.parametrize("ratio,match", [
    (0.0, r"'ratio' as a float .* must be in \(0, 1\], got 0.0"),
    (1.5, r"must be in \(0, 1\], got 1.5"),
    (-0.2, r"got -0.2"),
    (0, r"'ratio' as an int .* must be >= 1, got 0"),
    (-3, r"got -3"),
    ("half", r"'ratio' must be a float in \(0, 1\] or an int k >= 1, got 'half'"),
    (True, r"got True"),
])
@pytest.mark.parametrize("cls", [TopKPooling, SAGPooling])
def test_bad_ratio(cls, ratio, match):
    with pytest.raises(ValueError, match=match):
        cls(4, ratio=ratio)


def test_ratio_and_min_score_both_missing():
    with pytest.raises(ValueError, match="at least one of 'ratio' and 'min_score'"):
        TopKPooling(4, ratio=None)
    TopKPooling(4, ratio=None, min_score=0.1)  # fine


def test_switch_off_checks():
    bad = torch.tensor([[0.0] * 4] * 4 + [[float("nan")] * 4])
    pool = TopKPooling(4, ratio=0.5)
    with hipool.checks_disabled():
        assert not hipool.checks_enabled()
        pool(bad, E)  # no validation: garbage in, garbage out, but no error
    assert hipool.checks_enabled()
    with pytest.raises(ValueError):
        pool(bad, E)
    hipool.set_checks(False)
    try:
        pool(bad, E)
    finally:
        hipool.set_checks(True)


def test_valid_corner_cases_pass_checks():
    g = random_graph(1)
    TopKPooling(16)(g.x, g.edge_index, batch=torch.zeros(1, dtype=torch.long))
    TopKPooling(16)(torch.randn(3, 16), torch.empty(2, 0, dtype=torch.long))


def test_finite_x_whose_sum_overflows_is_accepted():
    x = torch.full((5, 4), 3e38)  # finite, but the sum is inf in float32
    TopKPooling(4, ratio=0.5)(x, E)


def test_negative_batch_id():
    with pytest.raises(ValueError, match="'batch' has negative graph ids"):
        TopKPooling(4)(X, E, batch=torch.tensor([-1, 0, 0, 0, 0]))


def test_edge_joining_two_graphs_is_named_by_check_graph_and_every_pooler():
    from hipool.checks import check_graph
    from hipool.nn import EdgePool, Graclus, MinCutPool, SAGPooling, TopKPooling
    x = torch.randn(4, 3)
    ei = torch.tensor([[0, 1, 2], [1, 0, 3]])
    batch = torch.tensor([0, 0, 1, 1])
    check_graph(x, ei, batch, where="t")                      # edges within graphs: fine
    bad = torch.tensor([[0, 1, 1], [1, 0, 3]])
    with pytest.raises(ValueError, match=r"t: edge 2 \(1 -> 3\) joins graph 0 and graph 1"):
        check_graph(x, bad, batch, where="t")
    for pool in (TopKPooling(3), SAGPooling(3), MinCutPool(3, 2), EdgePool(3), Graclus()):
        with pytest.raises(ValueError, match="joins graph 0 and graph 1"):
            pool(x, bad, batch=batch)
