"""Files of run folders are untrusted input: checkpoints, training states, unit records.

Every damaged file is a ``ValueError`` that names it and what is wrong, never a KeyError,
a RuntimeError from torch or a silently wrong model."""

import json

import pytest
import torch

from hipool import ModelConfig
from hipool.compare import check_unit_record
from hipool.nn.models import build_model
from hipool.train.checkpoint import load_checkpoint, save_checkpoint
from hipool.train.loop import STATE_FORMAT, FitResult, _load_state, _save_state


@pytest.fixture
def saved(tmp_path):
    model = build_model(ModelConfig(hidden=8, pool="sag", schedule=[0.5]), 5, 3)
    path = save_checkpoint(tmp_path / "checkpoint.pt", model)
    return model, path, torch.load(path, weights_only=True)


def _load(tmp_path, payload):
    path = tmp_path / "damaged.pt"
    torch.save(payload, path)
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"checkpoint {path}: ") and "\n" not in message
    return message[len(f"checkpoint {path}: ") :]


def test_a_valid_checkpoint_loads_its_weights(saved):
    model, path, _ = saved
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k


def test_damaged_checkpoints_are_named(saved, tmp_path):
    _, _, p = saved
    assert _load(tmp_path, {k: v for k, v in p.items() if k != "config"}) == "damaged: it has no 'config'"
    assert (
        _load(tmp_path, {k: v for k, v in p.items() if k not in ("state_dict", "num_classes")})
        == "damaged: it has no 'num_classes', 'state_dict'"
    )
    assert _load(tmp_path, {**p, "config": [1]}) == "damaged: its 'config' is [1], not a mapping"
    assert (
        _load(tmp_path, {**p, "in_channels": True})
        == "damaged: its 'in_channels' is True, not an int from 1 to 1,048,576"
    )
    assert (
        _load(tmp_path, {**p, "num_classes": 10**9})
        == "damaged: its 'num_classes' is 1000000000, not an int from 1 to 1,048,576"
    )
    assert _load(tmp_path, {**p, "state_dict": [1]}) == "damaged: its 'state_dict' is not a mapping of names to tensors"
    assert _load(tmp_path, {**p, "config": {**p["config"], "conv": "gat"}}).startswith("'conv' must be one of")
    assert _load(tmp_path, {**p, "config": {**p["config"], "hiden": 3}}).startswith("unknown key(s) 'hiden'")
    assert (
        _load(tmp_path, {**p, "format": "other"}) == "not a hipool checkpoint (expected format 'hipool-checkpoint/1')"
    )
    # weights of another shape than the config makes: no huge model is allocated to find out
    big = {**p, "config": {**p["config"], "hidden": 16384}, "in_channels": 1_000_000}
    assert _load(tmp_path, big).startswith("its weights do not fit its config (shapes ")
    state = dict(p["state_dict"])
    name = next(iter(state))
    state[name] = torch.zeros(2, 2)
    assert _load(tmp_path, {**p, "state_dict": state}).startswith(
        f"its weights do not fit its config (shapes {name} (2, 2) instead of "
    )
    state = dict(p["state_dict"])
    del state[name]
    state["extra.weight"] = torch.zeros(1)
    assert _load(tmp_path, {**p, "state_dict": state}) == (
        f"its weights do not fit its config (missing {name}; unexpected 'extra.weight'); the file is damaged"
    )
    state = {k: v.clone() for k, v in p["state_dict"].items()}
    state[name].fill_(float("nan"))
    assert _load(tmp_path, {**p, "state_dict": state}) == (
        f"the weights {name!r} hold NaN or infinite values (a diverged training, or a damaged file)"
    )


def test_checkpoint_files_that_are_not_checkpoints(saved, tmp_path):
    _, path, _ = saved
    data = path.read_bytes()
    for content, reason in [
        (data[: len(data) // 2], "PytorchStreamReader failed reading zip archive"),
        (b"", "cannot read it; the file is damaged or not a checkpoint"),
        (b"\x80\x02}q\x00.", "cannot read it"),
    ]:
        (tmp_path / "bad.pt").write_bytes(content)
        with pytest.raises(ValueError, match=rf"^checkpoint {tmp_path / 'bad.pt'}: .*{reason}"):
            load_checkpoint(tmp_path / "bad.pt")
    import os

    evil = tmp_path / "evil.pt"
    torch.save({"format": "hipool-checkpoint/1", "x": os.getcwd}, evil)  # a pickled function: never run
    with pytest.raises(
        ValueError,
        match=r"cannot read it; the file is damaged or not a checkpoint \(not a torch file "
        r"of tensors and plain values\)$",
    ):
        load_checkpoint(evil)
    with pytest.raises(ValueError, match=rf"^checkpoint {tmp_path / 'none.pt'}: no such file$"):
        load_checkpoint(tmp_path / "none.pt")
    with pytest.raises(ValueError, match=rf"^checkpoint {tmp_path}: is a folder, not a file$"):
        load_checkpoint(tmp_path)


def _state(tmp_path):
    model = build_model(ModelConfig(hidden=8, schedule=[0.5]), 5, 3)
    opt = torch.optim.Adam(model.parameters())
    result = FitResult(best_state={k: v.clone() for k, v in model.state_dict().items()})
    path = tmp_path / "state.pt"
    _save_state(path, model, opt, None, "none", result, 0, None)
    return model, opt, path, torch.load(path, weights_only=True)


def test_damaged_training_states_are_named(tmp_path):
    model, opt, path, state = _state(tmp_path)
    assert _load_state(path, model, opt, None, "none", FitResult(), None) == 0

    def fails(payload):
        torch.save(payload, path)
        with pytest.raises(ValueError) as info:
            _load_state(path, model, opt, None, "none", FitResult(), None)
        assert str(info.value).startswith(f"training state {path}: ")
        return str(info.value)[len(f"training state {path}: ") :]

    assert fails({**state, "best_epoch": "3"}) == (
        "damaged: its 'best_epoch' is '3', not an int >= 0; delete it to start this run over"
    )
    assert fails({**state, "history": [{"epoch": 1}]}) == (
        "damaged: its 'history' is not a list of epoch records; delete it to start this run over"
    )
    assert fails({**state, "rng": None}) == (
        "damaged: its 'rng' is not a random generator state; delete it to start this run over"
    )
    assert fails({**state, "rng": torch.zeros(3)}).startswith("damaged random generator state (")
    assert fails({**state, "best_state": {}}) == (
        "its best weights do not fit this model; it was written by another config; delete it to start this run over"
    )
    assert fails({**state, "model": {"x": torch.zeros(1)}}).startswith("does not fit this model (")
    first = next(iter(state["best_state"]))  # NaN weights resumed unseen before, and trained on as NaN
    nan = {k: torch.full_like(v, float("nan")) if k == first else v for k, v in state["best_state"].items()}
    assert fails({**state, "best_state": nan}) == (
        f"its best weights '{first}' hold NaN or infinite values; delete it to start this run over"
    )
    assert fails({**state, "model": nan}) == (
        f"its weights '{first}' hold NaN or infinite values; delete it to start this run over"
    )
    assert fails({**state, "format": "x"}) == "not a hipool training state"
    assert fails({**state, "lr_schedule": ["x"]}).startswith("was written with lr_schedule ['x'], this run has 'none'")
    assert fails([1]) == "not a hipool training state"
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"cannot read it \(.*\); delete it to start this run over$"):
        _load_state(path, model, opt, None, "none", FitResult(), None)
    assert state["format"] == STATE_FORMAT


def test_unit_records_are_checked(tmp_path):
    good = {
        "format": "hipool-unit/1",
        "result": {
            "val_acc": 0.5,
            "val_loss": 0.7,
            "test_acc": None,
            "best_epoch": 1,
            "epochs_run": 2,
            "seconds_per_epoch": 0.1,
            "peak_mb": 1.0,
            "parameters": 10,
            "seconds": 1.0,
        },
        "history": [[1, 0.5, 0.5, 0.6, 0.5, 0.1, 0.01]],
    }
    assert check_unit_record(good, tmp_path) is good
    # the holdout loss includes auxiliary losses, negative for JustBalance: any finite number
    negative = {**good, "result": {**good["result"], "val_loss": -0.42}}
    assert check_unit_record(negative, tmp_path) is negative
    for record, match in [
        (
            {**good, "result": {**good["result"], "val_loss": float("-inf")}},
            r"the record's 'result.val_loss' is -inf, not a finite number$",
        ),
        ([], r"not a training run record of hipool compare"),
        ({**good, "result": 3}, r"the record has no 'result' mapping"),
        (
            {**good, "result": {**good["result"], "val_acc": "0.5"}},
            r"the record's 'result.val_acc' is '0.5', not a "
            r"number",
        ),
        (
            {**good, "result": {**good["result"], "test_groups": [1]}},
            r"the record's 'result.test_groups' is not a mapping",
        ),
        ({**good, "history": [[1, "x"]]}, r"the record's 'history' is not a list of rows of numbers"),
        # in range: a test accuracy of 5.0 went into the summary's mean as it was
        (
            {**good, "result": {**good["result"], "val_acc": 5.0}},
            r"the record's 'result.val_acc' is 5.0, outside "
            r"\[0, 1\]$",
        ),
        (
            {**good, "result": {**good["result"], "seconds": -1}},
            r"the record's 'result.seconds' is -1, outside "
            r"\[0, inf\]$",
        ),
    ]:
        with pytest.raises(ValueError, match=rf"^{tmp_path}: {match}"):
            check_unit_record(record, tmp_path)
    assert json.loads(json.dumps(good)) == good


def _data_offset(data, member):
    """Where a zip member's data starts: after its local header, name and (torch: padding) extra field."""
    import struct

    name_len, extra_len = struct.unpack("<HH", bytes(data[member.header_offset + 26 : member.header_offset + 30]))
    return member.header_offset + 30 + name_len + extra_len


def test_a_changed_byte_of_a_weight_is_caught(saved, tmp_path):
    """torch does not check the CRC-32s of its zip archive: without hipool's check this loads
    as another weight, silently."""
    import zipfile

    _, path, _ = saved
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        member = next(i for i in archive.infolist() if "/data/" in i.filename and i.file_size >= 8)
        start = _data_offset(data, member)
    data[start : start + 4] = bytes(4) if data[start : start + 4] != bytes(4) else b"\x01\x02\x03\x04"
    bad = tmp_path / "flipped.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(
        ValueError,
        match=rf"^checkpoint {bad}: cannot read it; the file is damaged: the stored data "
        rf"of '{member.filename}' does not match its checksum$",
    ):
        load_checkpoint(bad)
    model, opt, state_path, _ = _state(tmp_path)
    data = bytearray(state_path.read_bytes())
    with zipfile.ZipFile(state_path) as archive:
        member = next(i for i in archive.infolist() if "/data/" in i.filename and i.file_size >= 8)
        start = _data_offset(data, member)
    data[start] ^= 0xFF
    state_path.write_bytes(bytes(data))
    with pytest.raises(
        ValueError,
        match=r"the file is damaged: the stored data of .* does not match its checksum; "
        r"delete it to start this run over$",
    ):
        _load_state(state_path, model, opt, None, "none", FitResult(), None)
