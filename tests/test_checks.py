"""Bad input gets a clear ValueError naming the argument; checks can be switched off."""

import pytest
import torch

import hipool
from hipool.nn import SAGPooling, TopKPooling
from tests.conftest import random_graph

X = torch.randn(5, 4)
E = torch.tensor([[0, 1, 2], [1, 2, 3]])


@pytest.mark.parametrize("cls", [TopKPooling, SAGPooling])
@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            dict(edge_index=torch.tensor([[0, 1], [1, 5]])),
            r"'edge_index' refers to nodes outside \[0, 5\).*column 1: \(1, 5\)",
        ),
        (dict(edge_index=torch.tensor([[0, -1], [1, 2]])), r"'edge_index' refers to nodes outside"),
        (dict(edge_index=torch.tensor([0, 1, 2])), r"'edge_index' must have shape \[2, num_edges\], got shape \(3,\)"),
        (dict(edge_index=torch.tensor([[0, 1], [1, 2], [2, 3]])), r"'edge_index' must have shape \[2, num_edges\]"),
        (dict(edge_index=E.float()), r"'edge_index' must have dtype torch.long"),
        (dict(batch=torch.zeros(4, dtype=torch.long)), r"'x' has 5 nodes but 'batch' has 4 entries"),
        (dict(batch=torch.tensor([0, 1, 1, 0, 2])), r"'batch' must be sorted.*batch\[2\] = 1 > batch\[3\] = 0"),
        (dict(batch=torch.zeros(5)), r"'batch' must have dtype torch.long"),
        (
            dict(x=torch.tensor([[1.0] * 4] * 4 + [[float("nan")] * 4])),
            r"'x' contains NaN values in 1 node\(s\), first at node 4",
        ),
        (
            dict(x=torch.tensor([[1.0] * 4] * 2 + [[float("inf")] * 4] * 3)),
            r"'x' contains inf values in 3 node\(s\), first at node 2",
        ),
        (dict(edge_attr=torch.randn(2, 3)), r"'edge_attr' must have one row per edge \(3\)"),
    ],
)
def test_bad_graph_input(cls, kwargs, match):
    args = dict(x=X, edge_index=E, edge_attr=None, batch=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match) as info:
        cls(4, ratio=0.5)(**args)
    assert cls.__name__ in str(info.value)  # says which component complained


@pytest.mark.parametrize(
    "ratio,match",
    [
        (0.0, r"'ratio' as a float .* must be in \(0, 1\], got 0.0"),
        (1.5, r"must be in \(0, 1\], got 1.5"),
        (-0.2, r"got -0.2"),
        (0, r"'ratio' as an int .* must be >= 1, got 0"),
        (-3, r"got -3"),
        ("half", r"'ratio' must be a float in \(0, 1\] or an int k >= 1, got 'half'"),
        (True, r"got True"),
    ],
)
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
    check_graph(x, ei, batch, where="t")  # edges within graphs: fine
    bad = torch.tensor([[0, 1, 1], [1, 0, 3]])
    with pytest.raises(ValueError, match=r"t: edge 2 \(1 -> 3\) joins graph 0 and graph 1"):
        check_graph(x, bad, batch, where="t")
    for pool in (TopKPooling(3), SAGPooling(3), MinCutPool(3, 2), EdgePool(3), Graclus()):
        with pytest.raises(ValueError, match="joins graph 0 and graph 1"):
            pool(x, bad, batch=batch)
    # first and last node in one graph: one graph when sorted (no edge check needed); unsorted, refused
    check_graph(x, bad, torch.tensor([2, 2, 2, 2]), where="t")
    with pytest.raises(ValueError, match=r"t: 'batch' must be sorted .* batch\[1\] = 1 > batch\[2\] = 0"):
        check_graph(x, bad, torch.tensor([0, 1, 0, 0]), where="t")


def test_number_int_and_flag_helpers_name_the_argument_and_the_range():
    from hipool.checks import check_bool, check_int, check_number

    assert check_number(2, "P", "a", low=0) == 2.0 and isinstance(check_number(2, "P", "a"), float)
    assert check_number(None, "P", "a", allow_none=True) is None
    for bad, shown in ((float("nan"), "nan"), (float("inf"), "inf"), (10**400, str(10**400)), (0, "0")):
        with pytest.raises(ValueError, match=rf"^P: 'a' must be a finite number in \(0, 1\], got {shown}$"):
            check_number(bad, "P", "a", low=0, low_open=True, high=1)
    with pytest.raises(ValueError, match=r"^P: 'a' must be a finite number in \[0, 1\), got 1$"):
        check_number(1, "P", "a", low=0, high=1, high_open=True)
    with pytest.raises(ValueError, match=r"^P: 'a' must be a finite number, got True of type bool$"):
        check_number(True, "P", "a")
    assert check_int(3, "P", "k") == 3 and check_int(None, "P", "k", allow_none=True) is None
    with pytest.raises(ValueError, match=r"^P: 'k' must be an int >= 1, got 2.0 of type float \(hint\)$"):
        check_int(2.0, "P", "k", hint=" (hint)")
    with pytest.raises(ValueError, match=r"^P: 'k' must be an int >= 0 or None, got -1$"):
        check_int(-1, "P", "k", low=0, allow_none=True)
    assert check_bool(False, "P", "f") is False
    with pytest.raises(ValueError, match=r"^P: 'f' must be True or False, got 'false' of type str$"):
        check_bool("false", "P", "f")


def test_edge_weight_checks():
    from hipool.checks import check_graph

    w = torch.tensor([1.0, 2.0, 0.5])
    check_graph(X, E, edge_weight=w, where="t")
    check_graph(X, E, edge_weight=-w, where="t")  # negative weights are fine unless a reason is given
    with pytest.raises(
        ValueError,
        match=r"^t: 'edge_weight' must be >= 0 \(why\); edge 1 \(1 -> 2\) has -2.0 "
        r"\(1 negative weight\(s\)\)$",
    ):
        check_graph(X, E, edge_weight=torch.tensor([1.0, -2.0, 0.5]), where="t", nonnegative_weights="why")
    with pytest.raises(ValueError, match=r"^t: 'edge_weight' must be >= 0 \(why\); edge 2 \(2 -> 3\) has -1.0"):
        check_graph(X, E, edge_weight=torch.tensor([1, 2, -1]), where="t", nonnegative_weights="why")
    with pytest.raises(ValueError, match=r"^t: 'edge_weight' must be finite; edge 2 \(2 -> 3\) has -inf"):
        check_graph(X, E, edge_weight=torch.tensor([1.0, 2.0, -float("inf")]), where="t")
    for dtype in (torch.bool, torch.complex64):
        with pytest.raises(ValueError, match=rf"^t: 'edge_weight' must hold real numbers, got dtype {dtype}$"):
            check_graph(X, E, edge_weight=torch.ones(3, dtype=dtype), where="t")
    with pytest.raises(ValueError, match=r"^t: 'x' has dtype torch.int32, but node features must be floating"):
        check_graph(X.int(), E, where="t")
    check_graph(X.half(), E, where="t")


def test_what_switching_checks_off_gives_up():
    """Off: the per-call value checks (NaN weights reach MinCut unchecked).  On regardless: the
    constructor arguments and the width and dtype of x, which cost no synchronisation."""
    from hipool.nn import MinCutPool

    nan_w = torch.tensor([1.0, float("nan"), 1.0])
    with hipool.checks_disabled():
        out = MinCutPool(4, 2)(X, E, edge_weight=nan_w)  # garbage in, garbage out: issue 17's
        assert torch.isnan(out.edge_weight).all() and float(out.aux_losses["mincut"]) == 0.0
        with pytest.raises(ValueError, match="'temp' must be a finite number"):
            MinCutPool(4, 2, temp=float("nan"))
        with pytest.raises(ValueError, match="'x' has 3 features but the pooler was built for in_channels=4"):
            MinCutPool(4, 2)(X[:, :3], E)
        with pytest.raises(ValueError, match="'x' has dtype torch.int64"):
            TopKPooling(4)(X.long(), E)
    with pytest.raises(ValueError, match="'edge_weight' must be finite"):
        MinCutPool(4, 2)(X, E, edge_weight=nan_w)


def test_edge_index_of_the_wrong_type_is_named_by_every_caller():
    import re

    from hipool.checks import check_edge_index_type
    from hipool.nn.connect import filter_edges
    from hipool.nn.contraction import graclus
    from hipool.nn.sep import sep_tree

    check_edge_index_type(torch.zeros(2, 3, dtype=torch.long), "f")  # fine: values are not read
    for bad, got in (([[0, 1]], "list"), (torch.zeros(3, 2, dtype=torch.long), "torch.int64 (3, 2)")):
        for call, where in (
            (lambda e: check_edge_index_type(e, "f"), "f"),
            (lambda e: filter_edges(e, None, torch.zeros(2, dtype=torch.long)), "filter_edges"),
            (lambda e: graclus(e, num_nodes=2), "graclus"),
            (lambda e: sep_tree(e, 2), "sep_tree"),
        ):
            message = rf"^{where}: 'edge_index' must be an int64 tensor of shape \[2, E\], got {re.escape(got)}$"
            with pytest.raises(ValueError, match=message):
                call(bad)
    with pytest.raises(ValueError, match=r"got torch.float32 \(2, 1\)$"):
        check_edge_index_type(torch.zeros(2, 1), "f")
