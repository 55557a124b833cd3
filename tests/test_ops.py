"""hipool.ops helpers that are not exercised through one pooler alone."""

import torch

from hipool.ops import csr_crow, csr_rows


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
