"""Stratified k-fold and holdout splits, saved to and read from JSON, tied to their dataset."""

import json

import numpy as np
import pytest

from hipool.data.splits import (
    labels_hash,
    load_splits,
    save_splits,
    stratified_holdout,
    stratified_kfold,
)

LABELS = [0] * 37 + [1] * 63 + [2] * 11


def test_kfold_partitions_and_stratifies():
    folds = stratified_kfold(LABELS, 10, seed=3)
    tests = [f["test"] for f in folds]
    assert sorted(i for t in tests for i in t) == list(range(len(LABELS)))  # a partition
    for f in folds:
        assert set(f["train"]).isdisjoint(f["test"])
        assert len(f["train"]) + len(f["test"]) == len(LABELS)
    sizes = [len(t) for t in tests]
    assert max(sizes) - min(sizes) <= 1
    labels = np.array(LABELS)
    for cls in (0, 1, 2):
        per_fold = [int((labels[t] == cls).sum()) for t in tests]
        assert max(per_fold) - min(per_fold) <= 1, (cls, per_fold)


def test_kfold_is_deterministic_given_the_seed():
    assert stratified_kfold(LABELS, 5, seed=1) == stratified_kfold(LABELS, 5, seed=1)
    assert stratified_kfold(LABELS, 5, seed=1) != stratified_kfold(LABELS, 5, seed=2)


def test_holdout_keeps_class_shares():
    h = stratified_holdout(LABELS, 0.1, seed=0)
    held = np.array(LABELS)[h["holdout"]]
    assert [int((held == c).sum()) for c in (0, 1, 2)] == [4, 6, 1]
    assert sorted(h["train"] + h["holdout"]) == list(range(len(LABELS)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="'k' must be an int >= 2"):
        stratified_kfold(LABELS, 1)
    with pytest.raises(ValueError, match="3 graphs cannot make 5 folds"):
        stratified_kfold([0, 1, 0], 5)
    with pytest.raises(ValueError, match="'fraction' must be in"):
        stratified_holdout(LABELS, 1.0)


def test_json_round_trip_and_dataset_check(tmp_path):
    path = tmp_path / "folds.json"
    folds = stratified_kfold(LABELS, 4, seed=0)
    save_splits(path, folds, dataset="toy", labels=LABELS, seed=0)
    assert load_splits(path, dataset="toy", labels=LABELS) == folds
    payload = json.loads(path.read_text())
    assert payload["num_graphs"] == len(LABELS) and payload["labels_hash"] == labels_hash(LABELS)
    with pytest.raises(ValueError, match=r"made for 'toy' with 111 graphs, not for 'other' with 110"):
        load_splits(path, dataset="other", labels=LABELS[:-1])
    shuffled = LABELS[::-1]  # same count, other labels: the hash tells
    with pytest.raises(ValueError, match="graph count or labels differ"):
        load_splits(path, dataset="toy", labels=shuffled)


def test_broken_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"splits": [\n  {"test": [1,}\n]}')
    with pytest.raises(ValueError, match=r"bad.json:2:\d+: splits file is not valid JSON"):
        load_splits(bad, dataset="toy", labels=LABELS)
    with pytest.raises(ValueError, match="cannot read it"):
        load_splits(tmp_path / "missing.json", dataset="toy", labels=LABELS)
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not a hipool splits file"):
        load_splits(other, dataset="toy", labels=LABELS)
    save_splits(other, [{"test": [0, 500]}], dataset="toy", labels=LABELS, seed=0)
    with pytest.raises(ValueError, match="not graph indices 0..110"):
        load_splits(other, dataset="toy", labels=LABELS)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe", "not UTF-8 text"),
        (b"[" * 100_000, "nested too deeply"),
        (b"{", "not valid JSON"),
        ("splits-3", "is not a mapping of part names"),
        ("bool-index", "not graph indices 0..2"),
        ("part-not-list", "is not a list of indices"),
    ],
)
def test_load_splits_damaged_file_is_a_clear_error(tmp_path, content, message):
    labels = [0, 1, 0]
    body = {"splits-3": [3], "bool-index": [{"train": [True, 1]}], "part-not-list": [{"train": 5}]}
    path = tmp_path / "s.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps({"splits": body[content], "num_graphs": 3, "labels_hash": labels_hash(labels)}))
    with pytest.raises(ValueError, match=message) as info:
        load_splits(path, dataset="d", labels=labels)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "fractions, message",
    [
        (
            [float("nan"), 1.0],
            r"stratified_split: 'fractions' must be non-negative and sum to 1 \(finite numbers\), "
            r"got \[nan, 1.0\]",
        ),
        (None, r"stratified_split: 'fractions' must be a list of numbers, got None"),
        (["a", "b"], r"'fractions' must be a list of numbers"),
    ],
)
def test_nan_or_non_numeric_fractions_are_refused(fractions, message):
    """NaN compares False to every bound: it passed the check and cut the parts at nonsense."""
    from hipool.data.splits import stratified_split

    with pytest.raises(ValueError, match=message):
        stratified_split(LABELS, fractions)


def test_a_graph_twice_in_one_part_is_refused(tmp_path):
    path = tmp_path / "s.json"
    save_splits(path, [{"train": [0, 1, 2], "test": [3, 4, 4]}], dataset="d", labels=LABELS, seed=0)
    with pytest.raises(ValueError, match=r"s.json: split 0 part 'test' lists graph 4 twice"):
        load_splits(path, dataset="d", labels=LABELS)
