"""Helpers shared by the benchmark scripts (run as scripts: ``benchmarks/`` is on sys.path)."""
from __future__ import annotations


def rss_kb() -> int:
    """Current resident set size of this process (KB)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")


def random_graph(n: int, degree: int, generator):
    """``edge_index`` of a random undirected graph: both directions, no self-loops or duplicates."""
    import torch
    from torch_geometric.utils import coalesce

    pairs = n * degree // 2
    src = torch.randint(n, (pairs,), generator=generator)
    dst = torch.randint(n, (pairs,), generator=generator)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    return coalesce(edge_index, num_nodes=n)


def fmt_table(header, rows) -> str:
    """Plain-text table, first three columns left-aligned, the others right-aligned."""
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    return "\n".join([line(cells[0]), line(["-" * w for w in widths])] + [line(r) for r in cells[1:]])


def add_ratios(results: list, peer: str) -> None:
    """``speedup`` and ``mem_ratio`` of each hipool row vs the ``peer`` implementation at the same pooler and N."""
    pyg = {(r["pooler"], r["n"]): r for r in results if r["impl"] == peer and r["status"] == "ok"}
    for r in results:
        ref = pyg.get((r["pooler"], r["n"]))
        if r["impl"] != peer and r["status"] == "ok" and ref is not None:
            r["speedup"] = ref["time_ms"] / r["time_ms"]
            r["mem_ratio"] = r["peak_MB"] / ref["peak_MB"] if ref["peak_MB"] > 0 else float("nan")
