"""hipool.ops helpers that are not exercised through one pooler alone."""

import torch

from hipool.ops import csr_crow, csr_mm, csr_rows, csr_tensor


def test_csr_rows_inverts_csr_crow_with_empty_rows_anywhere():
    gen = torch.Generator().manual_seed(0)
    for num_rows in (1, 2, 7, 50):
        for density in (0.0, 0.3, 1.0):
            counts = torch.randint(0, 4, (num_rows,), generator=gen) * (torch.rand(num_rows, generator=gen) < density)
            rows = torch.repeat_interleave(torch.arange(num_rows), counts)
            crow = csr_crow(rows, num_rows)
            assert torch.equal(csr_rows(crow), rows)
            assert torch.equal(csr_rows(crow, rows.numel()), rows)
    # leading, inner and trailing empty rows; no rows at all
    crow = torch.tensor([0, 0, 2, 2, 3, 3, 3])
    assert csr_rows(crow).tolist() == [1, 1, 3]
    assert csr_rows(torch.zeros(1, dtype=torch.long)).tolist() == []


def test_csr_mm_is_the_sparse_product_with_empty_rows():
    g = torch.Generator().manual_seed(0)
    row = torch.tensor([0, 0, 2, 2, 2, 4])  # rows 1 and 3 empty
    col = torch.tensor([1, 3, 0, 1, 4, 2])
    val = torch.rand(6, generator=g, dtype=torch.float64)
    A = csr_tensor(csr_crow(row, 5), col, val, (5, 5))
    dense = torch.rand(5, 3, generator=g, dtype=torch.float64)
    want = torch.zeros(5, 5, dtype=torch.float64).index_put_((row, col), val) @ dense
    torch.testing.assert_close(csr_mm(A, dense), want)
