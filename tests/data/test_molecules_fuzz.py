"""Fuzz tests of the molecule CSV reader (hipool.data.molecules.load_molecules).

Every CSV either loads, and then holds exactly the rows written (for generated-valid files:
the molecules, their labels, the skipped lines), or raises a ValueError that names the file.
Any other exception fails the test.  RDKit work is kept small: a handful of tiny molecules."""

import csv
import io
import math
import tempfile
from pathlib import Path
from typing import List

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("rdkit")

from hipool.data.molecules import NUM_ATOM_FEATURES, load_molecules  # noqa: E402

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

VALID = ["C", "CC", "CCO", "c1ccccc1", "CC(=O)O", "[Na+].[Cl-]", "N#N"]
INVALID = ["", "C1CC", "xx", "CCO ethanol", "C(C)(C)(C)(C)C"]


def _load_or_refuse(path: Path, **kwargs):
    """The dataset, or None after a ValueError naming ``path``; any other exception fails."""
    try:
        return load_molecules(path, **kwargs)
    except ValueError as e:
        assert str(path) in str(e), f"the message does not name {path}: {e}"
        return None
    except Exception as e:  # noqa: BLE001 - the point: nothing but ValueError may escape
        pytest.fail(f"{type(e).__name__} escaped instead of a ValueError: {e}")


def _check_loaded(ds) -> None:
    assert len(ds) >= 1
    for g in ds:
        assert g.x.shape == (g.num_nodes, NUM_ATOM_FEATURES) and g.num_nodes >= 1
        if ds.task_names is None:
            assert g.y.dtype == torch.int64 and 0 <= int(g.y) < ds.num_classes
        else:
            assert g.y.shape == (1, len(ds.task_names)) and not torch.isinf(g.y).any()
            assert not torch.isnan(g.y).all()


def _csv_text(rows: List[List[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _write(path: Path, content) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path


label_cells = st.one_of(
    st.integers(-3, 3).map(str), st.sampled_from(["", " ", "nan", "NaN", "0.5", "-2.25", "1e3", "1.0", "+1"])
)


@st.composite
def molecule_csvs(draw):
    """Rows of a valid CSV: a SMILES column and 1-3 label columns of numbers or blanks."""
    tasks = draw(st.integers(1, 3))
    header = ["smiles"] + [f"t{j}" for j in range(tasks)]
    if draw(st.booleans()):
        header.insert(draw(st.integers(0, tasks + 1)), "name")
    rows = []
    for i in range(draw(st.integers(1, 6))):
        smiles = draw(st.sampled_from(VALID + INVALID))
        row = {"smiles": smiles, "name": f"m{i}"}
        row.update({f"t{j}": draw(label_cells) for j in range(tasks)})
        rows.append([row[h] for h in header])
    return header, rows


def _value(cell: str) -> float:
    cell = cell.strip()
    return math.nan if not cell or cell.lower() == "nan" else float(cell)


def _expected(header: List[str], rows: List[List[str]]):
    """``(smiles, labels)`` of the molecules that should load, and the label kind."""
    tasks = [h for h in header if h.startswith("t")]
    cols = [header.index(t) for t in tasks]
    values = [[_value(r[c]) for c in cols] for r in rows]
    kept_tasks = [t for j, t in enumerate(tasks) if not all(math.isnan(v[j]) for v in values)]
    keep_cols = [tasks.index(t) for t in kept_tasks]
    values = [[v[j] for j in keep_cols] for v in values]
    single_int = len(kept_tasks) == 1 and all(math.isnan(v[0]) or v[0] == int(v[0]) for v in values)
    out = []
    for r, v in zip(rows, values):
        smiles = r[header.index("smiles")].strip()
        if all(math.isnan(a) for a in v) or smiles not in VALID:
            continue
        out.append((smiles, v))
    return kept_tasks, single_int, out


@FUZZ
@given(table=molecule_csvs())
def test_valid_csvs_load_exactly(table):
    header, rows = table
    kept, single_int, want = _expected(header, rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "m.csv", _csv_text([header] + rows))
        ds = _load_or_refuse(path)
    if not kept or not want:
        assert ds is None  # no label column, or no molecule with a label: a clear error
        return
    _check_loaded(ds)
    assert [g.smiles for g in ds] == [s for s, _ in want]
    if single_int:
        classes = sorted({v[0] for _, v in want})
        assert ds.task_names is None and ds.class_names == [str(int(c)) for c in classes]
        assert ds.labels() == [classes.index(v[0]) for _, v in want]
    else:
        assert ds.task_names == kept
        y = torch.cat([g.y for g in ds])
        expected = torch.tensor([v for _, v in want], dtype=torch.float32)
        assert torch.equal(torch.isnan(y), torch.isnan(expected))
        assert torch.equal(y.nan_to_num(7.0), expected.nan_to_num(7.0))
    invalid = [
        i + 2
        for i, r in enumerate(rows)
        if r[header.index("smiles")].strip() not in VALID
        and not all(math.isnan(_value(r[header.index(t)])) for t in kept)
    ]
    if invalid:
        assert any(
            f"skipped {len(invalid)} invalid SMILES at rows {', '.join(map(str, invalid))} " in n for n in ds.notes
        )


cells = st.text(alphabet='CcO1()=#[]+-.,"\n\r \t0123456789naNe\x00é', max_size=8)


@FUZZ
@given(
    header=st.lists(st.sampled_from(["smiles", "y", "z", "", "SMILES", "y "]), min_size=1, max_size=3),
    rows=st.lists(st.lists(cells, min_size=0, max_size=4), max_size=4),
    label_columns=st.sampled_from([None, "y", ["y", "z"]]),
)
def test_random_cells(header, rows, label_columns):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "m.csv", _csv_text([header] + rows))
        ds = _load_or_refuse(path, label_columns=label_columns)
    if ds is not None:
        _check_loaded(ds)


@FUZZ
@given(content=st.one_of(st.binary(max_size=120), st.text(alphabet='smile,y\n\r"C1O=0.5 nax\x00\ufeff', max_size=80)))
def test_random_bytes(content):
    with tempfile.TemporaryDirectory() as tmp:
        ds = _load_or_refuse(_write(Path(tmp) / "m.csv", content))
    if ds is not None:
        _check_loaded(ds)


@FUZZ
@given(
    table=molecule_csvs(),
    edits=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.sampled_from(["insert", "delete", "replace"]),
            st.sampled_from(list(',"\n\r 01.-eCcO()=#nN\x00') + ["é", "\ufeff"]),
        ),
        min_size=1,
        max_size=5,
    ),
    label_columns=st.sampled_from([None, "t0"]),
)
def test_mutated_csvs(table, edits, label_columns):
    header, rows = table
    text = _csv_text([header] + rows)
    for pos, op, ch in edits:
        i = pos % (len(text) + 1)
        text = text[:i] + ("" if op == "delete" else ch) + text[i + (op != "insert") :]
    with tempfile.TemporaryDirectory() as tmp:
        ds = _load_or_refuse(_write(Path(tmp) / "m.csv", text), label_columns=label_columns)
    if ds is not None:
        _check_loaded(ds)


def test_fuzz_helpers_catch_what_they_should(tmp_path, monkeypatch):
    """The harness itself: another exception type fails, a message without the file fails."""
    path = _write(tmp_path / "ok.csv", "smiles,y\nCCO,1\nCC,0\n")
    assert [g.smiles for g in _load_or_refuse(path)] == ["CCO", "CC"]
    for exc, match in ((KeyError("k"), "KeyError escaped"), (ValueError("no file here"), "does not name")):

        def load(path, exc=exc, **kwargs):
            raise exc

        monkeypatch.setitem(globals(), "load_molecules", load)
        with pytest.raises((AssertionError, pytest.fail.Exception), match=match):
            _load_or_refuse(path)
