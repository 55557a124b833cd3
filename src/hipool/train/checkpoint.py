"""Checkpoints that load with ``torch.load(path, weights_only=True)``: tensors and plain types only.

A checkpoint is untrusted input: :func:`load_checkpoint` checks every field it reads."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch

from ..checks import is_int
from ..config import ModelConfig
from ..io import as_path, atomic_torch_save, shown, torch_file_damage, torch_load_reason

FORMAT = "hipool-checkpoint/1"
#: Largest ``in_channels``, ``num_classes`` and ``edge_channels`` a checkpoint may record.
MAX_CHANNELS = 1 << 20


def save_checkpoint(path: Union[str, Path], model: torch.nn.Module, extra: Optional[Dict[str, Any]] = None) -> Path:
    """Write the model's weights, config and shape atomically to ``path``."""
    from .. import __version__

    path = as_path(path, "checkpoint")
    if not all(hasattr(model, k) for k in ("config", "in_channels", "num_classes")) or not isinstance(
        model, torch.nn.Module
    ):
        raise ValueError(f"save_checkpoint: 'model' must be a hipool model (build_model's), got {type(model).__name__}")
    if extra is not None and not isinstance(extra, dict):
        raise ValueError(f"save_checkpoint: 'extra' must be a mapping or None, got {shown(extra, 60)}")
    payload = {
        "format": FORMAT,
        "hipool_version": __version__,
        "model_class": type(model).__name__,
        "config": model.config.to_dict(),
        "in_channels": model.in_channels,
        "num_classes": model.num_classes,
        "edge_channels": getattr(model, "edge_channels", None),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": dict(extra or {}),
    }
    return atomic_torch_save(payload, path)


def _fail(path: Path, problem: str) -> ValueError:
    return ValueError(f"checkpoint {path}: {problem}")


def _check_payload(payload: Any, path: Path) -> Dict[str, Any]:
    """The fields :func:`load_checkpoint` reads, with their types and ranges."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise _fail(path, f"not a hipool checkpoint (expected format {FORMAT!r})")
    missing = [k for k in ("config", "in_channels", "num_classes", "state_dict") if k not in payload]
    if missing:
        raise _fail(path, f"damaged: it has no {', '.join(map(repr, missing))}")
    if not isinstance(payload["config"], dict):
        raise _fail(path, f"damaged: its 'config' is {shown(payload['config'], 60)}, not a mapping")
    for key in ("in_channels", "num_classes", "edge_channels"):
        v = payload.get(key)
        if key == "edge_channels" and v is None:
            continue
        if not is_int(v) or not 1 <= v <= MAX_CHANNELS:
            raise _fail(path, f"damaged: its {key!r} is {shown(v, 60)}, not an int from 1 to {MAX_CHANNELS:,}")
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise _fail(path, "damaged: its 'state_dict' is not a mapping of names to tensors")
    return payload


def load_checkpoint(path: Union[str, Path], map_location: str = "cpu") -> torch.nn.Module:
    """Rebuild the model saved by :func:`save_checkpoint` (loaded with ``weights_only=True``).

    A file that is not such a checkpoint, is damaged (every part of torch's zip archive is
    checked against its CRC-32, which torch itself does not), lacks a field, holds a config
    that is not valid, or weights that do not fit its config (names, shapes) or are not
    finite is a ``ValueError`` naming the file.  The model is first built without memory (on torch's
    ``meta`` device) to compare the shapes, so a damaged config cannot make it allocate a
    huge model."""
    from ..nn.models import build_model

    path = as_path(path, "checkpoint")
    if not path.exists():
        raise _fail(path, "no such file")
    if not isinstance(map_location, (str, torch.device)):
        raise ValueError(f"checkpoint {path}: 'map_location' must be a device name, got {shown(map_location, 60)}")
    try:
        device = torch.device(map_location)
    except RuntimeError:
        raise ValueError(f"checkpoint {path}: 'map_location' {shown(map_location, 60)} is not a device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"checkpoint {path}: 'map_location' {shown(map_location, 60)}: no CUDA device here")
    if path.is_dir():
        raise _fail(path, "is a folder, not a file")
    if not path.is_file():  # a pipe or a device: reading it could wait forever
        raise _fail(path, "is not a regular file")
    damage = torch_file_damage(path)
    if damage is not None:
        raise _fail(path, f"cannot read it; the file is damaged: {damage}")
    try:
        with warnings.catch_warnings():  # torch's warnings about a damaged file's pickle: the error says it
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # any failure to unpickle untrusted bytes: pickle, zip, EOF, storage errors
        raise _fail(path, f"cannot read it; the file is damaged or not a checkpoint ({torch_load_reason(e)})") from None
    payload = _check_payload(payload, path)
    config = ModelConfig.from_dict(payload["config"], source=f"checkpoint {path}")
    shape = (config, payload["in_channels"], payload["num_classes"], payload.get("edge_channels"))
    try:
        with warnings.catch_warnings(), torch.device("meta"):
            warnings.simplefilter("ignore")  # the real build below warns once
            expected = {k: tuple(v.shape) for k, v in build_model(*shape).state_dict().items()}
    except ValueError as e:
        raise _fail(path, f"its model cannot be built: {e}") from None
    state = payload["state_dict"]
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} instead of {expected[k]}"
        for k in expected
        if k in state and tuple(state[k].shape) != expected[k]
    ]
    if missing or extra or wrong:
        parts = [
            f"missing {', '.join(missing[:3])}" if missing else "",
            f"unexpected {', '.join(shown(k, 60) for k in extra[:3])}" if extra else "",
            f"shapes {'; '.join(wrong[:3])}" if wrong else "",
        ]
        raise _fail(
            path, "its weights do not fit its config (" + "; ".join(p for p in parts if p) + "); the file is damaged"
        )
    bad = next((k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
    if bad is not None:
        raise _fail(path, f"the weights {bad!r} hold NaN or infinite values (a diverged training, or a damaged file)")
    model = build_model(*shape)
    try:
        model.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise _fail(path, f"its weights do not load into its model ({first[:160]})") from None
    return model
