"""HierarchicalGNN / GlobalGNN, and the seed model running unchanged on hipool's TopKPooling."""

import pytest
import torch
import torch_geometric.nn as pyg
from torch_geometric.datasets import TUDataset
from torch_geometric.loader import DataLoader

from examples.seed_model import seed_model_class
from hipool import ModelConfig
from hipool.nn import GlobalGNN, HierarchicalGNN, build_model
from hipool.nn import TopKPooling as HipoolTopK
from tests.conftest import random_batch


def test_seed_model_runs_unchanged_and_equals_pyg(tu_root):
    ds = TUDataset(str(tu_root), "MUTAG")
    torch.manual_seed(0)
    theirs = seed_model_class(pyg.TopKPooling)(ds.num_features, 32, ds.num_classes)
    ours = seed_model_class(HipoolTopK)(ds.num_features, 32, ds.num_classes)
    ours.load_state_dict(theirs.state_dict())  # a PyG-trained model loads unchanged
    opt_t = torch.optim.Adam(theirs.parameters(), lr=0.01)
    opt_o = torch.optim.Adam(ours.parameters(), lr=0.01)
    loader = DataLoader(ds, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    losses = []
    noise = torch.Generator().manual_seed(1)
    for _epoch in range(3):
        for data in loader:
            # MUTAG's one-hot features give many exactly tied scores; PyG orders ties
            # arbitrarily (unstable sort), hipool by node index.  A small fixed jitter
            # removes ties so the two must agree exactly (ties: test_ties_on_real_data).
            x = data.x + 0.01 * torch.rand(data.x.shape, generator=noise)
            out_t = theirs(x, data.edge_index, data.batch)
            out_o = ours(x, data.edge_index, data.batch)
            torch.testing.assert_close(out_o, out_t, rtol=1e-4, atol=1e-5)
            for _model, opt, out in ((theirs, opt_t, out_t), (ours, opt_o, out_o)):
                loss = torch.nn.functional.cross_entropy(out, data.y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            losses.append(float(loss))
    assert sum(losses[-6:]) / 6 < sum(losses[:6]) / 6  # it learns


def test_ties_on_real_data_keep_lowest_index(tu_root):
    """On tied scores the kept set is deterministic: within a tie, lower node index first."""
    ds = TUDataset(str(tu_root), "MUTAG")
    data = next(iter(DataLoader(ds, batch_size=32)))
    torch.manual_seed(0)
    conv = pyg.GCNConv(ds.num_features, 32)
    pool = HipoolTopK(32, ratio=0.5)
    x = conv(data.x, data.edge_index).relu().detach()
    out = pool(x, data.edge_index, batch=data.batch)
    score = pool.select(x, data.batch)
    assert score.unique().numel() < score.numel() // 2  # MUTAG really has ties
    for g in range(data.num_graphs):
        nodes = (data.batch == g).nonzero().view(-1)
        kept = out.perm[out.batch == g]
        # expected: sort by (-score, index) and take the first k
        order = sorted(nodes.tolist(), key=lambda i: (-float(score[i]), i))
        assert kept.tolist() == order[: kept.numel()]
    again = pool(x, data.edge_index, batch=data.batch)
    assert torch.equal(again.perm, out.perm)


def test_config_model_equals_seed_model():
    cfg = ModelConfig(conv="gcn", hidden=32, pool="topk", schedule=[0.5, 0.5], readout="mean")
    torch.manual_seed(0)
    ours = HierarchicalGNN(cfg, in_channels=16, num_classes=3).eval()
    seed = seed_model_class(HipoolTopK)(16, 32, 3).eval()
    mapping = {"conv1": "convs.0", "conv2": "convs.1", "pool1": "pools.0", "pool2": "pools.1", "classifier": "head"}
    state = {}
    for k, v in ours.state_dict().items():
        for a, b in mapping.items():
            if k.startswith(b + "."):
                state[a + k[len(b) :]] = v
    seed.load_state_dict(state)
    b = random_batch([30, 12, 50])
    torch.testing.assert_close(ours(b.x, b.edge_index, b.batch), seed(b.x, b.edge_index, b.batch))


@pytest.mark.parametrize("conv", ["gcn", "graphconv", "gin", "sage"])
@pytest.mark.parametrize(
    "readout,combine",
    [("mean", "last"), ("sum", "sum"), ("max", "concat"), ("meanmax", "sum"), ("attention", "concat")],
)
def test_every_conv_readout_combine_trains(conv, readout, combine):
    cfg = ModelConfig(
        conv=conv,
        hidden=8,
        pool=["topk", "sag"],
        schedule="10→4",
        readout=readout,
        combine=combine,
        dropout=0.1,
        head=[8],
    )
    torch.manual_seed(0)
    for model in (HierarchicalGNN(cfg, 16, 3), build_model(cfg.global_twin(), 16, 3)):
        b = random_batch([25, 3, 14])
        out = model(b.x, b.edge_index, b.batch)
        assert out.shape == (3, 3)
        torch.nn.functional.cross_entropy(out, torch.tensor([0, 1, 2])).backward()
        no_grad = [
            n
            for n, p in model.named_parameters()
            if (p.grad is None or p.grad.abs().sum() == 0) and not n.endswith("select.weight")
        ]
        assert no_grad == []


def test_global_twin_same_convs_no_pooling():
    cfg = ModelConfig(hidden=16, levels=3, schedule=0.5)
    h = HierarchicalGNN(cfg, 7, 2)
    g = build_model(cfg.global_twin(), 7, 2)
    assert isinstance(g, GlobalGNN)

    def names(m):
        return {n for n, _ in m.named_parameters()}

    assert names(h) - names(g) == {f"pools.{i}.select.weight" for i in range(3)}
    b = random_batch([5, 9], channels=7)
    logits, hier = g(b, return_hierarchy=True)  # a Batch is accepted too
    assert logits.shape == (2, 2) and hier.num_levels == 0


def test_model_input_errors():
    model = HierarchicalGNN(ModelConfig(hidden=4), in_channels=16, num_classes=2)
    b = random_batch([5])
    with pytest.raises(ValueError, match="'x' has 16 features but the model was built for in_channels=8"):
        HierarchicalGNN(ModelConfig(hidden=4), 8, 2)(b.x, b.edge_index)
    with pytest.raises(ValueError, match="HierarchicalGNN: 'edge_index' refers to nodes outside"):
        model(b.x, b.edge_index + 5)
    with pytest.raises(ValueError, match="'num_classes' must be a positive int"):
        HierarchicalGNN(ModelConfig(), 3, 0)
    with pytest.raises(ValueError, match="use GlobalGNN"):
        HierarchicalGNN(ModelConfig(pool="none"), 3, 2)


def test_batch_with_empty_last_graph_gets_a_row_of_logits():
    from torch_geometric.data import Batch, Data

    b = Batch.from_data_list(
        [
            random_batch([6]).to_data_list()[0],
            Data(x=torch.empty(0, 16), edge_index=torch.empty(2, 0, dtype=torch.long)),
        ]
    )
    for cfg in (ModelConfig(hidden=4), ModelConfig(hidden=4, pool="none")):
        assert build_model(cfg, 16, 2)(b).shape == (2, 2)
