"""The pooler contract, over the registry: every registered pooler (a new one gets these tests
by registering) on the same small batch returns a valid record whose ``cluster`` map chains
through two levels, gives a batch what it gives each graph alone, is permutation-equivariant
where the registry says it is deterministic, and passes gradients to its parameters."""

from __future__ import annotations

import warnings

import pytest
import torch

from hipool import Hierarchy, PoolOutput
from hipool.nn import REGISTRY
from hipool.record import DROPPED

NAMES = list(REGISTRY)
SIZES = (6, 8, 7)
F, D = 5, 3


def _graph(n: int, seed: int):
    """A ring with chords (undirected), random features and edge features, and groups of two."""
    g = torch.Generator().manual_seed(seed)
    src = torch.arange(n)
    chords = torch.randint(0, n, (2, n), generator=g)
    chords = chords[:, chords[0] != chords[1]]
    e = torch.cat([torch.stack([src, (src + 1) % n]), chords], dim=1)
    e = torch.unique(torch.cat([e, e.flip(0)], dim=1), dim=1)
    return (
        torch.randn(n, F, generator=g),
        e,
        torch.randn(e.size(1), D, generator=g),
        torch.div(src, 2, rounding_mode="floor"),
    )


def _batch(graphs):
    xs, es, eas, gs, bs, off = [], [], [], [], [], 0
    for i, (x, e, ea, groups) in enumerate(graphs):
        xs.append(x), es.append(e + off), eas.append(ea), gs.append(groups)
        bs.append(torch.full((x.size(0),), i))
        off += x.size(0)
    return torch.cat(xs), torch.cat(es, 1), torch.cat(eas), torch.cat(bs), torch.cat(gs)


GRAPHS = [_graph(n, seed) for seed, n in enumerate(SIZES)]


def _pooler(name: str, channels: int = F) -> torch.nn.Module:
    spec = REGISTRY[name]
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spec.build(channels, spec.example_entry(), {})


def _run(pool, x, e, ea, batch, groups) -> PoolOutput:
    extra = {"groups": groups} if REGISTRY.get(_name_of(pool)).family == "given" else {}
    out = pool(x, e, edge_attr=ea, batch=batch, **extra)
    assert isinstance(out, PoolOutput)
    out.validate()
    return out


def _name_of(pool) -> str:
    return next(n for n, s in REGISTRY.items() if type(pool) is s.cls)


def _local(values, batch, g):
    return values[batch == g]


@pytest.mark.parametrize("name", NAMES)
def test_cluster_maps_chain_through_two_levels(name):
    x, e, ea, batch, groups = _batch(GRAPHS)
    pool1, pool2 = _pooler(name).eval(), _pooler(name).eval()
    h = Hierarchy(batch, num_graphs=len(SIZES))
    first = _run(pool1, x, e, ea, batch, groups)
    h.append(first)
    kept = first.cluster != DROPPED
    groups2 = torch.full((first.x.size(0),), -1, dtype=torch.long)
    groups2[first.cluster[kept]] = torch.div(groups[kept], 2, rounding_mode="floor")
    second = _run(pool2, first.x, first.edge_index, first.edge_attr, first.batch, groups2)
    h.append(second)
    composed = h.cluster(2)
    assert composed.shape == (x.size(0),)
    for n in range(x.size(0)):
        c1 = int(first.cluster[n])
        expected = DROPPED if c1 == DROPPED else int(second.cluster[c1])
        assert int(composed[n]) == expected
        if expected != DROPPED:  # a node stays in its own graph at every level
            assert int(second.batch[expected]) == int(batch[n])
    assert (composed != DROPPED).any()


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_gives_what_each_graph_gives_alone(name):
    pool = _pooler(name).eval()
    whole = _run(pool, *_batch(GRAPHS))
    start = 0
    for g, graph in enumerate(GRAPHS):
        x, e, ea, groups = graph
        alone = _run(pool, x, e, ea, torch.zeros(x.size(0), dtype=torch.long), groups)
        mine = whole.batch == g
        torch.testing.assert_close(whole.x[mine], alone.x, atol=1e-5, rtol=1e-4)
        cluster = whole.cluster[start : start + x.size(0)]
        offset = int(mine.nonzero()[0]) if mine.any() else 0
        assert torch.equal(torch.where(cluster == DROPPED, cluster, cluster - offset), alone.cluster)
        edges = (whole.batch[whole.edge_index[0]] == g).sum()
        assert int(edges) == alone.edge_index.size(1)
        start += x.size(0)


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].deterministic])
def test_permuting_the_nodes_permutes_the_output(name):
    """Permute the nodes inside every graph: each input node's pooled features, whether it is
    dropped, the output sizes and the pooled edge weights do not change."""
    pool = _pooler(name).eval()
    x, e, ea, batch, groups = _batch(GRAPHS)
    perm = torch.cat(
        [torch.randperm(n, generator=torch.Generator().manual_seed(7)) + sum(SIZES[:i]) for i, n in enumerate(SIZES)]
    )
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    out = _run(pool, x, e, ea, batch, groups)
    outp = _run(pool, x[perm], inv[e], ea, batch, groups[perm])
    assert outp.x.size(0) == out.x.size(0) and outp.edge_index.size(1) == out.edge_index.size(1)
    c, cp = out.cluster, outp.cluster[inv]
    assert torch.equal(c == DROPPED, cp == DROPPED)
    kept = c != DROPPED
    torch.testing.assert_close(outp.x[cp[kept]], out.x[c[kept]], atol=1e-5, rtol=1e-4)
    if out.edge_weight is not None:
        torch.testing.assert_close(outp.edge_weight.sort().values, out.edge_weight.sort().values, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_trainable_parameter(name):
    pool = _pooler(name).train()
    params = [p for p in pool.parameters() if p.requires_grad]
    if not params:
        assert not REGISTRY[name].learned
        pytest.skip(f"{name} learns nothing")
    x, e, ea, batch, groups = _batch(GRAPHS)
    x.requires_grad_(True)
    out = _run(pool, x, e, ea, batch, groups)
    loss = out.x.pow(2).sum() + sum(out.aux_losses.values(), torch.zeros(()))
    if out.edge_weight is not None:
        loss = loss + out.edge_weight.sum()
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    for p in params:
        assert p.grad is not None, f"{name}: a parameter of shape {tuple(p.shape)} got no gradient"
        assert torch.isfinite(p.grad).all()
    assert any(p.grad.abs().sum() > 0 for p in params)
