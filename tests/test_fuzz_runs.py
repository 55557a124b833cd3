"""Fuzzing run folders (``run.json``, ``metrics.csv``, split files, unit records, checkpoints,
training states) fed to what reads them (the run loader of explain and report, the checkpoint
loader, the resume checks of train and compare): only ``ValueError`` may escape, each naming
the file; valid files load right."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipool import ModelConfig
from hipool.compare import check_unit_record
from hipool.data.splits import labels_hash
from hipool.explain.run import read_metrics_csv, read_run
from hipool.nn.models import build_model
from hipool.runs import MANIFEST, DataSpec, check_run_folder, claim_run_folder, open_run, read_splits
from hipool.train.checkpoint import load_checkpoint, save_checkpoint
from hipool.train.loop import EpochMetrics, FitResult, _load_state, _save_state, metrics_csv

# HIPOOL_FUZZ=5000 for a longer search
FUZZ = settings(
    max_examples=int(os.environ.get("HIPOOL_FUZZ", 60)), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
DIR = Path(tempfile.mkdtemp(prefix="hipool-fuzz-runs-"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=15,
)


def _expect_value_error(call, path):
    """``call()``; a ``ValueError`` must name ``path`` (or its folder) and be one line."""
    try:
        return call()
    except ValueError as e:
        assert str(path) in str(e) and "\n" not in str(e), str(e)
        return None


def _mutate(data: bytes, edits) -> bytes:
    for at, cut, insert in edits:
        at = at % (len(data) + 1)
        data = data[:at] + insert + data[at + cut :]
    return data


edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 8), st.binary(max_size=4)), min_size=1, max_size=4)


# -- run.json ----------------------------------------------------------------------------------
IDENTITY = {"dataset": "toy", "seed": 0, "train": {"epochs": 5}}
_claimed = DIR / "claimed"
claim_run_folder(
    _claimed, "train", IDENTITY, extra={"data": {"spec": "toy", "data_root": None}}, argv=["hipool", "train"]
)
VALID_MANIFEST = (_claimed / MANIFEST).read_bytes()
FIELDS = json.loads(VALID_MANIFEST)


def _read_all(folder: Path):
    """Everything that reads a run folder's ``run.json``: the resume check of train and compare,
    and the run loader of explain and report (up to the checkpoint it names)."""
    _expect_value_error(lambda: check_run_folder(folder, "train", IDENTITY), folder)
    _expect_value_error(lambda: check_run_folder(folder, "compare", IDENTITY), folder)
    manifest = _expect_value_error(lambda: read_run(folder), folder)
    if manifest is not None:
        for model, fold in ((None, None), ("topk", 1)):
            _expect_value_error(lambda model=model, fold=fold: open_run(folder, model, fold), folder)


def _folder(content: bytes) -> Path:
    folder = DIR / "manifest"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / MANIFEST).write_bytes(content)
    return folder


def test_a_valid_run_record_reads_right():
    assert check_run_folder(_claimed, "train", IDENTITY) is True
    assert read_run(_claimed).data == DataSpec("toy", None)


@FUZZ
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_random_run_records(content):
    _read_all(_folder(content))


@FUZZ
@given(st.sampled_from(sorted(FIELDS)), json_values, st.sampled_from(["train", "demo", "compare", "report", 5]))
def test_run_records_with_a_field_of_another_type(key, value, command):
    record = {**FIELDS, "command": command, key: value}
    _read_all(_folder(json.dumps(record).encode()))


@FUZZ
@given(edits)
def test_mutated_run_records(changes):
    _read_all(_folder(_mutate(VALID_MANIFEST, changes)))


file_records = st.recursive(
    st.none()
    | st.integers(-1, 3)
    | st.text(max_size=6)
    | st.sampled_from(["checkpoint.pt", "../x.pt", "/x.pt", "", "a//b", "units/m/fold00/final-c00-r0.pt"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "models",
                    "m",
                    "model",
                    "folds",
                    "0",
                    "1",
                    "x",
                    "selected",
                    "selection",
                    "finals",
                    "checkpoints",
                    "checkpoint",
                    "metrics",
                    "split",
                    "config",
                    "summary",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@FUZZ
@given(file_records, st.sampled_from(["train", "demo", "compare"]))
def test_run_records_with_random_records_of_files(files, command):
    """``files`` of every shape: a ``ValueError`` naming the file, or paths inside the folder."""
    models = {"train": None, "demo": ["m"], "compare": {"m": {"config": {"pool": "topk"}, "grid": [{"config": {}}]}}}
    record = {**FIELDS, "command": command, "files": files, **({"models": models[command]} if models[command] else {})}
    folder = _folder(json.dumps(record).encode())
    _read_all(folder)
    for name in ("checkpoint.pt", "units/m/fold00/final-c00-r0.pt", "m/checkpoint.pt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x")
    found = _expect_value_error(lambda: open_run(folder), folder)
    if found is not None:
        assert found.checkpoint.resolve().is_relative_to(folder.resolve()) and found.checkpoint.is_file()


# -- metrics.csv -------------------------------------------------------------------------------
history = st.lists(
    st.builds(
        EpochMetrics,
        st.integers(1, 500),
        st.floats(0, 10),
        st.floats(0, 1),
        st.floats(0, 10),
        st.floats(0, 1),
        st.floats(0, 5),
        st.floats(1e-6, 1),
    ),
    max_size=6,
)


@FUZZ
@given(history)
def test_valid_metrics_read_right(rows):
    path = DIR / "metrics.csv"
    path.write_text(metrics_csv(rows))
    read = read_metrics_csv(path)
    assert [r["epoch"] for r in read] == [m.epoch for m in rows]
    assert all(abs(r["val_acc"] - m.val_acc) <= 1e-6 and r["lr"] == m.lr for r, m in zip(read, rows))


@FUZZ
@given(
    st.binary(max_size=200)
    | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | st.tuples(history, edits).map(lambda h: _mutate(metrics_csv(h[0]).encode(), h[1]))
)
def test_random_metrics_files(content):
    path = DIR / "metrics.csv"
    path.write_bytes(content)
    rows = _expect_value_error(lambda: read_metrics_csv(path), path)
    if rows is not None:
        assert all("epoch" in r and all(isinstance(v, float) for v in r.values()) for r in rows)


# -- split files and unit records --------------------------------------------------------------
LABELS = [0, 1, 0, 1, 1]


@FUZZ
@given(
    json_values
    | st.lists(
        st.dictionaries(
            st.sampled_from(["train", "val", "test", "holdout"]),
            st.lists(st.integers(-2, 6) | st.booleans(), max_size=5),
        ),
        max_size=3,
    ),
    st.booleans(),
)
def test_random_split_files(splits, raw):
    path = DIR / "split.json"
    payload = splits if raw else {"dataset": "d", "num_graphs": 5, "labels_hash": labels_hash(LABELS), "splits": splits}
    path.write_text(json.dumps(payload))
    read = _expect_value_error(lambda: read_splits(path, dataset="d", labels=LABELS, parts=("train", "test")), path)
    if read is not None:
        assert read == splits
        for split in read:
            indices = [j for part in split.values() for j in part]
            assert all(isinstance(j, int) and 0 <= j < 5 for j in indices)
            assert not set(split["train"]) & set(split["test"])


UNIT = {
    "format": "hipool-unit/1",
    "result": {
        "val_acc": 0.5,
        "val_loss": 0.7,
        "test_acc": 0.5,
        "best_epoch": 1,
        "epochs_run": 2,
        "seconds_per_epoch": 0.1,
        "peak_mb": 1.0,
        "parameters": 10,
        "seconds": 1.0,
        "test_groups": None,
    },
    "history": [[1, 0.5, 0.5, 0.6, 0.5, 0.1, 0.01]],
}


@FUZZ
@given(
    st.sampled_from(
        ["format", "result", "history", "result.val_acc", "result.test_acc", "result.test_groups", "result.parameters"]
    ),
    json_values,
)
def test_unit_records_with_a_field_of_another_type(key, value):
    record = json.loads(json.dumps(UNIT))
    if "." in key:
        record["result"][key.split(".")[1]] = value
    else:
        record[key] = value
    checked = _expect_value_error(lambda: check_unit_record(record, DIR / "unit.json"), DIR / "unit.json")
    if checked is not None:  # what the summary reads is there, as numbers
        r = checked["result"]
        assert all(isinstance(r[k], (int, float)) for k in ("val_acc", "val_loss", "best_epoch", "parameters"))


# -- checkpoints and training states -----------------------------------------------------------
MODEL = build_model(ModelConfig(hidden=8, pool="sag", schedule=[0.5]), 3, 2)
CHECKPOINT = save_checkpoint(DIR / "checkpoint.pt", MODEL)
PAYLOAD = torch.load(CHECKPOINT, weights_only=True)
CHECKPOINT_BYTES = CHECKPOINT.read_bytes()

replacements = st.one_of(
    json_values,
    st.builds(torch.zeros, st.lists(st.integers(0, 3), max_size=3).map(tuple)),
    st.just(torch.tensor([float("nan")])),
    st.just({"x": torch.zeros(1)}),
)


def test_the_valid_checkpoint_loads_its_weights():
    loaded = load_checkpoint(CHECKPOINT)
    assert loaded.config == MODEL.config
    assert all(torch.equal(a, b) for a, b in zip(MODEL.state_dict().values(), loaded.state_dict().values()))


@FUZZ
@given(
    st.binary(max_size=300)
    | st.integers(1, len(CHECKPOINT_BYTES) - 1).map(lambda n: CHECKPOINT_BYTES[:n])
    | edits.map(lambda e: _mutate(CHECKPOINT_BYTES, e))
)
def test_damaged_checkpoint_files(content):
    path = DIR / "damaged.pt"
    path.write_bytes(content)
    model = _expect_value_error(lambda: load_checkpoint(path), path)
    if model is not None:  # a change torch does not see (e.g. in the zip's padding): the same weights
        assert all(torch.equal(a, b) for a, b in zip(MODEL.state_dict().values(), model.state_dict().values()))


@FUZZ
@given(st.sampled_from(sorted(PAYLOAD)), replacements, st.sampled_from(list(PAYLOAD["state_dict"])), st.booleans())
def test_checkpoints_with_a_field_of_another_value(key, value, weight, in_weights):
    payload = {**PAYLOAD, "state_dict": dict(PAYLOAD["state_dict"])}
    if in_weights:
        payload["state_dict"][weight] = value
    else:
        payload[key] = value
    path = DIR / "changed.pt"
    torch.save(payload, path)
    model = _expect_value_error(lambda: load_checkpoint(path), path)
    if model is not None:
        assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())


_optimizer = torch.optim.Adam(MODEL.parameters())
_save_state(
    DIR / "state.pt",
    MODEL,
    _optimizer,
    None,
    "none",
    FitResult(best_state={k: v.clone() for k, v in MODEL.state_dict().items()}),
    0,
    None,
)
STATE = torch.load(DIR / "state.pt", weights_only=True)
STATE_BYTES = (DIR / "state.pt").read_bytes()


def _resume(path):
    model = build_model(ModelConfig(hidden=8, pool="sag", schedule=[0.5]), 3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    rng = torch.get_rng_state()
    try:
        return _load_state(path, model, optimizer, None, "none", FitResult(), torch.Generator())
    finally:
        torch.set_rng_state(rng)


@FUZZ
@given(st.sampled_from(sorted(STATE)), replacements | st.just(None))
def test_training_states_with_a_field_of_another_value(key, value):
    path = DIR / "state-changed.pt"
    torch.save({**STATE, key: value}, path)
    since = _expect_value_error(lambda: _resume(path), path)
    assert since is None or since == 0


@FUZZ
@given(
    st.integers(1, len(STATE_BYTES) - 1).map(lambda n: STATE_BYTES[:n]) | edits.map(lambda e: _mutate(STATE_BYTES, e))
)
def test_damaged_training_state_files(content):
    path = DIR / "state-damaged.pt"
    path.write_bytes(content)
    _expect_value_error(lambda: _resume(path), path)


@pytest.fixture(scope="module", autouse=True)
def _clean():
    yield
    shutil.rmtree(DIR, ignore_errors=True)
