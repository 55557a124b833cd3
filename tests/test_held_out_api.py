"""Bad inputs of the Python API that slipped through the first hardening pass (issue 17, held-out
round): each is a ``ValueError`` naming the argument, or, where the input is valid, the right result."""

from __future__ import annotations

import os
import warnings

import pytest
import torch
from torch_geometric.data import Batch, Data

from hipool import Hierarchy, ModelConfig
from hipool.checks import check_graph
from hipool.nn import (
    REGISTRY,
    DiffPool,
    Readout,
    build_model,
    filter_edges,
    make_conv,
    num_kept,
    topk,
)
from hipool.nn import functional as Fn
from hipool.nn.given import GivenPool
from hipool.train.settings import TrainSettings

X = torch.randn(6, 4)
E = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
B = torch.tensor([0, 0, 0, 1, 1, 1])


def _pooler(name: str, channels: int = 4):
    info = REGISTRY[name]
    ratio = 2 if info.needs_count else info.example_entry()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return REGISTRY[name].build(channels, ratio, {})


def _call(pool, **kw):
    args = dict(x=X, edge_index=E, batch=B)
    args.update(kw)
    extra = {"groups": torch.tensor([0, 0, 1, 0, 1, 1])} if isinstance(pool, GivenPool) else {}
    return pool(args.pop("x"), args.pop("edge_index"), batch=args.pop("batch"), **args, **extra)


# -- check_graph: dtypes and devices ------------------------------------------------------------
def test_complex_weights_and_features_and_other_devices_are_named():
    for dtype in (torch.complex64, torch.bool):  # aminmax raised NotImplementedError on complex
        with pytest.raises(ValueError, match=rf"^t: 'edge_weight' must hold real numbers, got dtype {dtype}$"):
            check_graph(X, E, edge_weight=torch.ones(6, dtype=dtype), where="t")
    # a conv reads edge_attr as x's dtype: the imaginary part would have been dropped unseen
    with pytest.raises(ValueError, match=r"^t: 'edge_attr' must hold real numbers, got dtype torch.complex64$"):
        check_graph(X, E, edge_attr=torch.ones(6, 2, dtype=torch.complex64), where="t")
    meta = torch.empty(2, 6, dtype=torch.long, device="meta")
    with pytest.raises(ValueError, match=r"^t: 'x' is on cpu but 'edge_index' is on meta; move every tensor"):
        check_graph(X, meta, where="t")
    with pytest.raises(ValueError, match=r"^t: 'x' is on the meta device, which holds shapes but no values$"):
        check_graph(torch.empty(6, 4, device="meta"), meta, where="t")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_pooler_names_an_edge_weight_of_another_dtype_and_data_on_another_device(name):
    pool = _pooler(name)
    _call(pool, edge_weight=torch.rand(6))  # float32, as x: fine
    for dtype in (torch.float64, torch.float16, torch.long):  # RuntimeError in asap, diffpool, sag before
        with pytest.raises(
            ValueError,
            match=rf"'edge_weight' has dtype {dtype} but 'x' has torch.float32; give "
            rf"them one dtype \(edge_weight.to\(x.dtype\)\)",
        ):
            _call(pool, edge_weight=torch.ones(6, dtype=dtype))
    meta = dict(x=torch.empty(6, 4, device="meta"), edge_index=E.to("meta"), batch=B.to("meta"))
    params = list(pool.parameters())
    match = (
        r"'x' is on meta but the pooler's parameters are on cpu"
        if params
        else r"'x' is on the meta device, which holds shapes but no values"
    )
    with pytest.raises(ValueError, match=match):
        _call(pool, **meta)


def test_given_pool_groups_of_another_type():
    with pytest.raises(ValueError, match=r"^GivenPool: 'groups' must be an integer tensor \[N=6\], got list$"):
        GivenPool(4)(X, E, batch=B, groups=[0, 0, 1, 0, 1, 1])


def test_large_finite_assignment_logits_are_not_an_error():
    """s.sum() overflowed to inf on finite logits, and the search for the bad entry found none
    (IndexError); such logits are valid."""
    s = torch.full((6, 2), 3e38)
    Fn._check_s_finite(s, "t", B)  # nothing raised
    with pytest.raises(ValueError, match=r"'s' \(cluster assignment\) contains NaN/inf, first at graph 1, node 4"):
        Fn._check_s_finite(torch.cat([s[:4], torch.tensor([[float("nan"), 0.0]]), s[5:]]), "t", B)


def test_functional_forms_name_dtype_and_device_mismatches():
    s = torch.randn(6, 2)
    for fn in (Fn.diff_pool, Fn.mincut_pool, Fn.dmon_pool):
        with pytest.raises(
            ValueError,
            match=r"'s' is torch.float64 on cpu; it must be floating point with the "
            r"dtype and device of 'x' \(torch.float32 on cpu\)",
        ):
            fn(X, E, s.double(), B)
        with pytest.raises(ValueError, match=r"'edge_weight' has dtype torch.int64 but 'x' has torch.float32"):
            fn(X, E, s, B, edge_weight=torch.ones(6, dtype=torch.long))
    xd, adj, sd = torch.randn(2, 3, 4), torch.rand(2, 3, 3), torch.randn(2, 3, 2)
    with pytest.raises(
        ValueError,
        match=r"^dense_mincut_pool: 'adj' is torch.float64 on cpu but 'x' is "
        r"torch.float32 on cpu; give them one dtype and device$",
    ):
        Fn.dense_mincut_pool(xd, adj.double(), sd)


# -- batches with gaps, Graclus in a batch ------------------------------------------------------
@pytest.mark.parametrize("pool", ["topk", "graclus", "mincut", "none"])
def test_a_gap_in_the_graph_ids_is_a_graph_without_nodes(pool):
    """batch 0,0,0,2,2,2 (graph 1 has no nodes): rows 0 and 2 are the graphs' logits alone, row 1
    an empty graph's (as a Batch with an empty Data gives it)."""
    torch.manual_seed(0)
    schedule = [2] if pool == "mincut" else [0.5]
    model = build_model(
        ModelConfig(
            pool=pool, schedule=schedule, hidden=8, readout="meanmax", norm="graph", levels_read="all", combine="concat"
        ),
        4,
        3,
    ).eval()
    out = model(X, E, torch.tensor([0, 0, 0, 2, 2, 2]))
    assert out.shape == (3, 3)
    torch.testing.assert_close(out[0], model(X[:3], E[:, :4])[0])
    torch.testing.assert_close(out[2], model(X[3:], E[:, 4:] - 3)[0])
    empty = Batch.from_data_list(
        [Data(x=X[:3], edge_index=E[:, :4]), Data(x=X[:0], edge_index=E[:, :0]), Data(x=X[3:], edge_index=E[:, 4:] - 3)]
    )
    torch.testing.assert_close(out, model(empty))


# -- records and hierarchies ------------------------------------------------------------------------
def test_hierarchy_arguments_are_checked():
    with pytest.raises(ValueError, match=r"^Hierarchy: 'batch' must be a 1-D int64 tensor .*got list$"):
        Hierarchy([0, 0, 1])
    with pytest.raises(ValueError, match=r"^Hierarchy: 'num_graphs' must be an int >= 0, got '3'$"):
        Hierarchy(B, "3")
    with pytest.raises(
        ValueError,
        match=r"^Hierarchy: 'num_graphs' is 1, but 'batch' has graph id 1; it must be "
        r"at least 2$",
    ):
        Hierarchy(B, 1)  # sizes() had a row per graph id past num_graphs
    with pytest.raises(ValueError, match=r"^Hierarchy: 'batch' must be sorted and >= 0"):
        Hierarchy(torch.tensor([1, 0, 1]))  # local_cluster() numbered nodes wrongly
    h = Hierarchy(B)
    for bad in ("1", 1.0, None, True):
        with pytest.raises(ValueError, match=r"^Hierarchy: level must be an int in \[0, 0\], got"):
            h.cluster(bad)
    with pytest.raises(ValueError, match=r"^Hierarchy.append: 'record' must be a PoolOutput .*got tuple$"):
        h.append((X, E))


def test_unpool_refuses_integer_features_and_casts_the_sparse_assignment():
    torch.manual_seed(0)
    out = DiffPool(4, 2)(X, E, batch=B)
    # S x' in int64 rounded every assignment entry to 0: zeros for every node, silently
    with pytest.raises(
        ValueError,
        match=r"^PoolOutput.unpool: 'x' must be floating point \(features\), got dtype "
        r"torch.int64$",
    ):
        out.unpool(torch.ones(out.num_nodes, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"^PoolOutput.unpool: 'x' must have shape \[4, F\] .*got list$"):
        out.unpool([[0.0]])
    from hipool.nn import ASAPooling

    rec = ASAPooling(4)(X, E, batch=B)
    up = torch.randn(rec.num_nodes, 3)
    torch.testing.assert_close(rec.unpool(up.double()), rec.unpool(up).double())  # was a RuntimeError


# -- the small public helpers --------------------------------------------------------------------------
def test_readout_conv_topk_and_filter_edges_name_their_arguments():
    r = Readout("attention", 4)
    with pytest.raises(
        ValueError,
        match=r"^Readout: 'x' must be a floating-point \[N, 4\] tensor, got torch.float32 "
        r"\(6, 3\)$",
    ):
        r(torch.randn(6, 3), B)
    with pytest.raises(
        ValueError,
        match=r"^Readout: 'x' is torch.float64 on cpu but the attention gate is "
        r"torch.float32 on cpu$",
    ):
        r(X.double(), B)
    with pytest.raises(ValueError, match=r"^Readout: 'num_graphs' must be an int >= 0, got '2'$"):
        r(X, B, "2")
    with pytest.raises(ValueError, match=r"^conv 'gcn': 'in_channels' must be an int >= 1, got '4'$"):
        make_conv("gcn", "4", 8)
    with pytest.raises(ValueError, match=r"^conv 'gine' reads edge_attr, so it needs its width \(edge_dim\), got 'x'$"):
        make_conv("gine", 4, 8, "x")
    with pytest.raises(ValueError, match=r"^topk: 'score' must be a floating-point \[N\] tensor, got list$"):
        topk([0.1] * 6, 0.5, B)
    with pytest.raises(
        ValueError,
        match=r"^topk: 'batch' must be an int64 \[N=6\] tensor on score's device, got "
        r"torch.int64 \(3,\) on cpu$",
    ):
        topk(torch.rand(6), 0.5, B[:3])
    assert topk(torch.tensor([0.1, 0.9, 0.5]), 1, None).tolist() == [1]  # batch None: one graph
    with pytest.raises(ValueError, match=r"^num_kept: 'num_nodes' must be an integer tensor"):
        num_kept([3, 3], 0.5)
    with pytest.raises(ValueError, match=r"^filter_edges: 'edge_index' refers to nodes outside \[0, 2\)"):
        filter_edges(torch.tensor([[0, 5], [1, 4]]), None, torch.tensor([0, 1]))


def test_a_huge_int_ratio_keeps_every_node():
    """k = 2**70 overflowed int64 in torch's clamp (OverflowError in forward)."""
    for pool in ("topk", "sag", "asap"):
        model = build_model(ModelConfig(pool=pool, schedule=[2**70], hidden=8), 4, 2)
        _, h = model(X, E, B, return_hierarchy=True)
        assert h.sizes(1).tolist() == [3, 3]


def test_an_edge_aware_model_names_edge_attr_of_three_dimensions():
    model = build_model(ModelConfig(conv="gine", pool="topk", hidden=8), 4, 2, edge_channels=2)
    with pytest.raises(
        ValueError,
        match=r"^HierarchicalGNN: conv 'gine' reads 'edge_attr' as \[E, D\], got shape "
        r"\(6, 2, 1\)$",
    ):
        model(X, E, B, torch.ones(6, 2, 1))


def test_a_model_too_large_to_build_is_refused_without_memory():
    """Each key is within its bound, the product is a trillion parameters: a ValueError, not an
    allocation of 1 TB."""
    cfg = ModelConfig(hidden=16384, convs_per_level=32, levels=32, schedule=0.5)
    with pytest.raises(
        ValueError,
        match=r"^model config: the model would have 274,626,920,450 parameters "
        r"\(1,023.1 GiB as float32.* lower 'hidden' \(16384\)",
    ):
        build_model(cfg, 7, 2)


# -- configs ---------------------------------------------------------------------------------------------
def test_numbers_beyond_float_range_and_attribute_names_that_are_not_node_marks():
    for key in ("lr", "weight_decay", "aux_weight", "lr_factor", "min_lr", "grad_clip"):  # OverflowError before
        with pytest.raises(ValueError, match=rf"^train settings: '{key}' must be a finite number"):
            TrainSettings(**{key: 10**400})
    with pytest.raises(
        ValueError,
        match=r"^train settings: 'weight_decay' must be at most 3.402823e\+38 \(the largest "
        r"float32; the weights are float32\), got 1e\+308$",
    ):
        TrainSettings(weight_decay=1e308)  # torch's Adam: "value cannot be converted to type float without overflow"
    with pytest.raises(
        ValueError,
        match=r"^model config: 'localize' \(weight of the node-level loss\) must be a "
        r"finite number >= 0",
    ):
        ModelConfig(localize=10**400)
    with pytest.raises(ValueError, match=r"^model config: 'aux_weights.link' must be a finite number >= 0"):
        ModelConfig(pool="diffpool", schedule=[2], aux_weights={"link": -(10**400)})
    for name in ("__class__", "_private", "x", "edge_index", "batch"):
        with pytest.raises(
            ValueError,
            match=rf"^model config: 'localize_target' must name a node attribute, got "
            rf"'{name}'$",
        ):
            ModelConfig(localize=1.0, localize_target=name)
    from hipool.nn.models import node_target

    with pytest.raises(
        ValueError,
        match=r"'localize_target' 'to' is not a node attribute of the batch \(it is "
        r"method\)",
    ):
        node_target(Data(x=X, edge_index=E), ModelConfig(localize=1.0, localize_target="to"))
    with pytest.raises(ValueError, match=r"^train settings: unknown setting\(s\) 'epoch'; allowed: epochs"):
        TrainSettings().updated(epoch=3)


def test_yaml_numbers_are_plain_decimal(tmp_path):
    """YAML 1.1 read hidden: 010 as 8, 0x10 as 16 and 1:30 as 90, silently."""
    for text in ("010", "0x10", "1:30", "0o10"):
        p = tmp_path / "m.yaml"
        p.write_text(f"conv: gcn\nhidden: {text}\n")
        with pytest.raises(
            ValueError,
            match=rf"^{p}:2: 'hidden' must be an int >= 1, got '{text}' \(text: hipool "
            r"reads numbers in plain decimal; an octal 010, a hex 0x10 or a base-60 "
            r"1:30 is not read as a number\)$",
        ):
            ModelConfig.from_yaml(p)
    p.write_text("hidden: 1_024\ndropout: .5\nschedule: [-0.0e+0, 1.0]\n")
    with pytest.raises(ValueError, match=r"'schedule\[0\]' as a float .* must be in \(0, 1\], got -0.0"):
        ModelConfig.from_yaml(p)
    p.write_text("hidden: 1_024\ndropout: .5\n")
    assert ModelConfig.from_yaml(p).hidden == 1024


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_without_a_writer_reads_as_empty_instead_of_hanging(tmp_path):
    fifo = tmp_path / "model.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=rf"^model config {fifo}: the file is empty"):
        ModelConfig.from_yaml(fifo)  # open() waited for a writer forever before
    from hipool.train.checkpoint import load_checkpoint

    with pytest.raises(ValueError, match=rf"^checkpoint {fifo}: is not a regular file$"):
        load_checkpoint(fifo)


def test_odd_forward_arguments_raise_value_errors_only():
    """A sweep over odd values of every forward argument of every pooler: nothing but a ValueError
    escapes (or the call works: float16 x for the poolers without parameters, say)."""
    odd = [
        None,
        [1.0],
        "x",
        torch.ones(6, dtype=torch.complex64),
        torch.ones(6, 4, dtype=torch.float16),
        torch.empty(6, 4, device="meta"),
        torch.ones(2, 6, dtype=torch.int32),
        torch.zeros(2, 0),
    ]
    for name in sorted(REGISTRY):
        pool = _pooler(name)
        for key in ("x", "edge_index", "batch", "edge_attr", "edge_weight"):
            for value in odd:
                try:
                    _call(pool, **{key: value})
                except ValueError:
                    pass


def test_file_arguments_of_another_type_and_devices_that_are_not_there(tmp_path):
    from hipool.grid import load_grid
    from hipool.train.checkpoint import load_checkpoint, save_checkpoint
    from hipool.train.settings import load_run_config

    for call, what in (
        (lambda: ModelConfig.from_yaml(None), "model config"),
        (lambda: load_run_config(5), "run config"),
        (lambda: load_grid(5, ["topk"]), "grid"),
        (lambda: load_checkpoint(None), "checkpoint"),
        (lambda: ModelConfig().to_yaml(5), "ModelConfig.to_yaml"),
    ):
        with pytest.raises(ValueError, match=rf"^{what}: expected a file path \(a str or pathlib.Path\), got"):
            call()
    with pytest.raises(
        ValueError,
        match=r"^save_checkpoint: 'model' must be a hipool model \(build_model's\), got "
        r"TopKPooling$",
    ):
        from hipool.nn import TopKPooling

        save_checkpoint(tmp_path / "c.pt", TopKPooling(4))
    path = tmp_path / "c.pt"
    save_checkpoint(path, build_model(ModelConfig(hidden=8), 4, 2))
    # torch's "don't know how to restore data location" was reported as a damaged file
    with pytest.raises(ValueError, match=rf"^checkpoint {path}: 'map_location' 'tpu' is not a device$"):
        load_checkpoint(path, map_location="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=rf"^checkpoint {path}: 'map_location' 'cuda:0': no CUDA device here$"):
            load_checkpoint(path, map_location="cuda:0")
