"""results/README.md's accuracy table is what results/make_table.py makes from the summaries, and
docs/advise.md's checks table what results/advise/table.py makes from the advise records."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "results" / "make_table.py"


def _script(path: Path = SCRIPT, name: str = "make_table"):
    return load_script(path, name)


def test_the_readme_table_is_up_to_date():
    assert _script().main(["--check"]) == 0


def test_cells_come_from_the_summaries(tmp_path):
    script = _script()
    (tmp_path / "tu-PROTEINS").mkdir()
    rows = [
        {"model": "gin-edgepool", "folds": 10, "test_acc_mean": 0.7581, "test_acc_std": 0.0262},
        {"model": "gin-global", "folds": 4, "test_acc_mean": 0.75, "test_acc_std": 0.05},
    ]
    (tmp_path / "tu-PROTEINS" / "summary.json").write_text(json.dumps({"identity": {"folds": 10}, "rows": rows}))
    table = script.render(tmp_path)
    lines = table.splitlines()
    assert lines[2].startswith("| hipool `gin-edgepool` | 75.8 ± 2.6 |")
    assert lines[3].startswith("| hipool `gin-global` | 75.0 ± 5.0 (4/10 folds) |")
    assert "| Errica: GIN (no pooling) | 73.3 ± 4.0 | 80.0 ± 1.4 | 75.3 ± 2.9 | 59.6 ± 4.5 |  |  |" in table
    assert "still running (folds finished so far): PROTEINS" in table
    assert "not run yet: NCI1, DD, ENZYMES, MUTAG, IMDB-BINARY" in table


ADVISE = Path(__file__).resolve().parents[1] / "results" / "advise" / "table.py"


def _advise_script():
    return _script(ADVISE, "advise_table")


def test_the_advise_checks_table_is_up_to_date():
    assert _advise_script().main(["--check"]) == 0


def test_advise_rows_come_from_the_records(tmp_path, monkeypatch):
    script = _advise_script()
    record = {
        "measurements": {"dataset": "X", "nodes": {"median": 40.5}},
        "recommendation": {"decision": "global", "confidence": "leaning", "hierarchical": {"name": "gin-edgepool"}},
        "check": {
            "accuracy": {"hierarchical": {"mean": 0.7, "std": 0.01}, "global": {"mean": 0.75, "std": 0.02}},
            "difference": {"mean": -0.05, "low": -0.08, "high": -0.02},
            "verdict": "agrees",
        },
    }
    (tmp_path / "X.json").write_text(json.dumps(record))
    (tmp_path / "Y.json").write_text(json.dumps({**record, "check": None}))  # no check: no row
    monkeypatch.setattr(script, "HERE", tmp_path)
    assert script.rows() == [
        "| X | 40.5 | global (leaning) | `gin-edgepool` | 70.0 ± 1.0 | 75.0 ± 2.0 | -5.0 [-8.0, -2.0] | agrees |"
    ]


POOLERS = Path(__file__).resolve().parents[1] / "results" / "poolers-PROTEINS" / "table.py"


def test_the_new_poolers_proteins_table_is_up_to_date():
    assert _script(POOLERS, "poolers_table").main(["--check"]) == 0


def test_the_new_poolers_rows_come_from_the_summaries(tmp_path, monkeypatch):
    script = _script(POOLERS, "poolers_table")
    monkeypatch.setattr(script, "HERE", tmp_path / "poolers")
    (tmp_path / "poolers" / "learned").mkdir(parents=True)
    row = {"model": "gin-pan", "folds": 7, "test_acc_mean": 0.7444, "test_acc_std": 0.017}
    row.update(epochs_mean=41.6, seconds_per_epoch=0.7212)
    (tmp_path / "poolers" / "learned" / "summary.json").write_text(json.dumps({"rows": [row]}))
    rows = script.rows()
    assert rows[0] == "| `pan` | 74.4 ± 1.7 (7 folds) | 42 | 0.72 |"
    assert rows[1] == "| `kmis` | not finished | | |" and len(rows) == len(script.ROWS)
