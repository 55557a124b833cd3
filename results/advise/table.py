"""The table of `hipool advise --check` on the benchmarks, made from results/advise/*.json (what
`bash results/advise/run.sh` wrote), between the `checks` markers of docs/advise.md.

    .venv/bin/python results/advise/table.py           # rewrite the table in docs/advise.md
    .venv/bin/python results/advise/table.py --check   # exit 1 when it is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # results/markers.py
from markers import write_block  # noqa: E402

DOC = HERE.parent.parent / "docs" / "advise.md"
BEGIN, END = "<!-- checks:begin -->", "<!-- checks:end -->"
#: The order of the rows (file stems of run.sh); others follow by name.
ORDER = ["MUTAG", "IMDB-BINARY", "PROTEINS", "DD", "communities", "circuits_n_400", "analoggenie"]


def _pct(acc) -> str:
    return "–" if acc is None else f"{100 * acc['mean']:.1f} ± {100 * acc['std']:.1f}"


def rows() -> list:
    files = sorted(HERE.glob("*.json"), key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else 99, p.stem))
    out = []
    for path in files:
        record = json.loads(path.read_text())
        rec, check = record["recommendation"], record.get("check")
        m = record["measurements"]
        if check is None:
            continue
        d = check["difference"]
        ci = "–" if d["low"] is None else f"{100 * d['mean']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"
        out.append(
            f"| {m['dataset']} | {m['nodes']['median']:g} | {rec['decision']} ({rec['confidence']}) | "
            f"`{rec['hierarchical']['name']}` | {_pct(check['accuracy']['hierarchical'])} | "
            f"{_pct(check['accuracy']['global'])} | {ci} | {check['verdict']} |"
        )
    return out


def render() -> str:
    head = [
        "| dataset | median nodes | advice | hierarchical model checked | its accuracy | global twin | "
        "difference, 95 % CI (points) | check |",
        "|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + rows())


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return write_block(DOC, BEGIN, END, render(), "--check" in argv, "results/advise/table.py")


if __name__ == "__main__":
    raise SystemExit(main())
