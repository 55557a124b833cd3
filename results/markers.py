"""What the results scripts share: write a generated block between two markers of a document,
or (``--check``) say that the block there is out of date."""

from __future__ import annotations

import sys
from pathlib import Path


def write_block(doc: Path, begin: str, end: str, block: str, check: bool, script: str) -> int:
    """Replace what lies between ``begin`` and ``end`` in ``doc`` (markers kept) by ``block``;
    with ``check`` only compare: 1 and a line naming ``script`` when it differs, else 0."""
    text = doc.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        raise ValueError(f"{doc}: no {begin} ... {end} block")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{begin}\n{block}\n{end}{tail}"
    if check:
        if new != text:
            print(f"{doc}: the table between {begin} and {end} is out of date; run {script}", file=sys.stderr)
            return 1
        return 0
    if new != text:
        doc.write_text(new, encoding="utf-8")
    return 0
