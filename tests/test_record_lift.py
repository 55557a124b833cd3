"""``PoolOutput.unpool`` with a sparse assignment: values and gradients against the dense product,
and a COO assignment's backward that never forms the dense ``[N, N']`` gradient."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from hipool.record import lift_by_sparse_assignment


class _Out:
    def __init__(self, assignment):
        self.assignment = assignment


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_sparse_lift_equals_the_dense_product_with_gradients(layout):
    g = torch.Generator().manual_seed(0)
    idx = torch.stack([torch.arange(40).repeat(2), torch.randint(0, 15, (80,), generator=g)])  # repeats too
    v = torch.rand(80, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(15, 3, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.sparse_coo_tensor(idx, v, (40, 15))
    if layout == "csr":
        s = s.coalesce().to_sparse_csr()
    y = lift_by_sparse_assignment(_Out(s), x)
    dense = torch.zeros(40, 15, dtype=torch.float64).index_put((idx[0], idx[1]), v, accumulate=True)
    ref = dense @ x
    torch.testing.assert_close(y, ref)
    w = torch.randn(40, 3, generator=g, dtype=torch.float64)
    got = torch.autograd.grad(y, (v, x), w)
    want = torch.autograd.grad(ref, (v, x), w)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


def test_a_coo_lift_backward_stays_sparse():
    """30k x 15k: a dense gradient would take 1.8 GB; the CSR backward about 30 MB."""
    code = textwrap.dedent(
        """
        import resource, torch
        from hipool.record import lift_by_sparse_assignment
        class Out:
            pass
        idx = torch.stack([torch.arange(30000), torch.randint(0, 15000, (30000,))])
        v = torch.rand(30000, requires_grad=True)
        out = Out()
        out.assignment = torch.sparse_coo_tensor(idx, v, (30000, 15000))
        x = torch.randn(15000, 64, requires_grad=True)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        lift_by_sparse_assignment(out, x).sum().backward()
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
        """
    )
    grew = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert grew < 400, f"the backward grew the resident peak by {grew} MB"
