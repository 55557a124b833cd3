"""The output of ``hipool predict``: the CSV (written atomically), the aligned table and the JSON
of its rows, and the check of ``--out`` before any work."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ..io import atomic_write_text
from .records import Predictions, Row

#: Default ``--out``.
DEFAULT_OUT = "predictions.csv"


def header(classes: Sequence[str]) -> List[str]:
    """The CSV's columns."""
    return ["file", "predicted", *(f"probability_{c}" for c in classes), "error"]


def _cells(row: Row, classes: Sequence[str], digits: int) -> List[str]:
    probs = [f"{p:.{digits}f}" for p in row.probabilities] if row.probabilities is not None else [""] * len(classes)
    return [row.file, "" if row.predicted is None else str(row.predicted), *probs, row.error]


def predictions_csv(result: Predictions) -> str:
    """The CSV text of ``result`` (see :mod:`hipool.predict`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header(result.classes))
    for row in result.rows:
        writer.writerow(_cells(row, result.classes, 8))
    return buf.getvalue()


def write_predictions(result: Predictions, out: Union[str, Path]) -> Path:
    """Write the CSV to ``out`` atomically (a reader never sees half of it)."""
    return atomic_write_text(out, predictions_csv(result))


def format_table(result: Predictions) -> str:
    """The rows as an aligned text table (probabilities to 3 decimals; the error column last, unpadded)."""
    head = header(result.classes)
    body = [_cells(r, result.classes, 3) for r in result.rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head) - 1)]
    lines = []
    for line in [head, *body]:
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))]
        lines.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(lines)


def predictions_json(result: Predictions, out: Optional[Union[str, Path]] = None) -> Dict[str, Any]:
    """The rows as a JSON-ready mapping: the run, the classes, the CSV written and one object per row
    (``predicted`` and ``probabilities`` ``null`` on a row with an error)."""
    p = result.predictor
    return {
        "run": str(p.folder) if p and p.folder else None,
        "model": p.model_name if p else None,
        "fold": p.fold if p else None,
        "checkpoint": str(p.checkpoint) if p and p.checkpoint else None,
        "classes": list(result.classes),
        "out": None if out is None else str(out),
        "errors": result.errors,
        "rows": [
            {
                "file": r.file,
                "predicted": r.predicted,
                "probabilities": None if r.probabilities is None else dict(zip(result.classes, r.probabilities)),
                "error": r.error,
            }
            for r in result.rows
        ],
    }


def _check_out(out: Path) -> None:
    if out.is_dir():
        raise ValueError(f"--out {out}: is a folder; give the CSV file to write (e.g. {out / DEFAULT_OUT})")
    if out.parent.exists() and not out.parent.is_dir():
        raise ValueError(f"--out {out}: {out.parent} is a file, not a folder")
