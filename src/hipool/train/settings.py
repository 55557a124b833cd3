"""Training settings, and the run config file that joins them to a model config.

A run config is YAML with up to two sections; either may be left out::

    model:                 # a ModelConfig (see hipool.config); a file with no sections is one too
      conv: gcn
      pool: topk
      schedule: [0.5, 0.5]
    train:                 # TrainSettings
      epochs: 100          # most epochs per run
      patience: 20         # stop after this many epochs without a better validation score (null: never)
      lr: 0.001
      weight_decay: 0.0
      batch_size: 32
      aux_weight: 1.0      # weight of the poolers' auxiliary losses in the training loss
      lr_schedule: none    # none | plateau (ReduceLROnPlateau on the validation loss) | step (StepLR)
      lr_factor: 0.5       # plateau, step: multiply the lr by this (0 < f < 1) ...
      lr_patience: 10      # plateau: ... after this many epochs without a lower validation loss
      lr_step: 50          # step: ... every this many epochs
      min_lr: 0.0          # plateau, step: never below this
      grad_clip: null      # clip the global gradient norm to this before every step (null or 0: off)

Flags of ``hipool train`` / ``hipool compare`` override the file.

Every setting is checked for its type (``true`` is not a number; ``1e-3`` unquoted is
text to YAML 1.1: write ``1.0e-3``), range and finiteness; the counts (``epochs``,
``patience``, ``batch_size``, ``lr_patience``, ``lr_step``) are at most
:data:`MAX_COUNT` (1,000,000), the other numbers at most :data:`MAX_FLOAT` (float32's
largest).  A training that goes to NaN or inf anyway stops with an error that says so
and names the settings to change.

Off is the default for both the schedule and clipping, so runs that do not ask for
them train exactly as before.  :meth:`TrainSettings.to_dict` (what run folders,
``config.yaml`` and compare units record) leaves out what is off: the schedule's
options when ``lr_schedule`` is ``none`` (and the other schedule's option), and
``grad_clip`` when it is off.  A run's record then holds only what changes its
training, and run folders written before these settings existed still resume.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Dict, Optional, Tuple, Union

from ..config import ModelConfig, check_int, from_mapping, is_finite_number, text_number_hint
from ..io import as_path, read_yaml, shown, with_line

LR_SCHEDULES: Tuple[str, ...] = ("none", "plateau", "step")
#: Largest ``epochs``, ``patience``, ``batch_size``, ``lr_patience`` and ``lr_step``.
MAX_COUNT = 1_000_000
#: Largest ``lr``, ``weight_decay``, ``aux_weight``, ``min_lr`` and ``grad_clip``: float32's largest.
MAX_FLOAT = 3.4028234663852886e38
SCHEDULE_OPTIONS: Dict[str, Tuple[str, ...]] = {
    "none": (),
    "plateau": ("lr_factor", "lr_patience", "min_lr"),
    "step": ("lr_factor", "lr_step", "min_lr"),
}


@dataclass
class TrainSettings:
    """How one model is trained: Adam, early stopping on validation accuracy (then loss),
    optionally a learning-rate schedule stepped once per epoch and gradient-norm clipping."""

    epochs: int = 100
    patience: Optional[int] = 20
    lr: float = 0.001
    weight_decay: float = 0.0
    batch_size: int = 32
    aux_weight: float = 1.0
    lr_schedule: str = "none"
    lr_factor: float = 0.5
    lr_patience: int = 10
    lr_step: int = 50
    min_lr: float = 0.0
    grad_clip: Optional[float] = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "lr_patience", "lr_step", "patience"):
            v = getattr(self, name)
            if name == "patience" and v is None:
                continue
            check_int(v, name, "train settings", high=MAX_COUNT, extra=" or null" if name == "patience" else "")
        if type(self.grad_clip) in (int, float) and self.grad_clip == 0:
            self.grad_clip = None  # 0 and null both mean off; one spelling keeps run records equal
        for name, ok, allowed in (
            ("lr", lambda v: v > 0, "> 0"),
            ("weight_decay", lambda v: v >= 0, ">= 0"),
            ("aux_weight", lambda v: v >= 0, ">= 0"),
            ("lr_factor", lambda v: 0 < v < 1, "in (0, 1)"),
            ("min_lr", lambda v: v >= 0, ">= 0"),
            ("grad_clip", lambda v: v > 0, "> 0, or 0 or null for no clipping"),
        ):
            v = getattr(self, name)
            if name == "grad_clip" and v is None:
                continue
            if not is_finite_number(v) or not ok(v):
                raise ValueError(
                    f"train settings: '{name}' must be a finite number {allowed}, got {shown(v)}{text_number_hint(v)}"
                )
            if v > MAX_FLOAT:  # torch's optimizer would fail to convert it ("value cannot be converted")
                raise ValueError(
                    f"train settings: '{name}' must be at most {MAX_FLOAT:.7g} (the largest float32; "
                    f"the weights are float32), got {shown(v)}"
                )
            setattr(self, name, float(v))
        if self.lr_schedule is None:
            self.lr_schedule = "none"
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"train settings: 'lr_schedule' must be one of {', '.join(LR_SCHEDULES)}, got {shown(self.lr_schedule)}"
            )
        if self.lr_schedule != "none" and self.min_lr >= self.lr:
            raise ValueError(
                f"train settings: 'min_lr' must be below 'lr' ({self.lr!r}) when 'lr_schedule' is "
                f"{self.lr_schedule!r}, got {self.min_lr!r}"
            )

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "train settings") -> "TrainSettings":
        return from_mapping(
            cls,
            data,
            source,
            allowed=list(FIELDS),
            unknown="unknown train setting(s)",
            prefix="train settings: ",
            not_mapping="'train' must be a mapping of settings",
        )

    def updated(self, **changes: Any) -> "TrainSettings":
        """A copy with the given settings changed (``None`` values are ignored)."""
        unknown = sorted(k for k in changes if k not in FIELDS)
        if unknown:
            raise ValueError(
                f"train settings: unknown setting(s) {', '.join(map(shown, unknown))}; allowed: {', '.join(FIELDS)}"
            )
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> Dict[str, Any]:
        """The settings as a mapping, without those that are off (see the module docstring)."""
        unused = {name for options in SCHEDULE_OPTIONS.values() for name in options}
        unused -= set(SCHEDULE_OPTIONS[self.lr_schedule])
        if self.lr_schedule == "none":
            unused.add("lr_schedule")
        if self.grad_clip is None:
            unused.add("grad_clip")
        return {k: v for k, v in asdict(self).items() if k not in unused}


FIELDS: Tuple[str, ...] = tuple(f.name for f in fields(TrainSettings))


def load_run_config(path: Union[str, os.PathLike]) -> Tuple[ModelConfig, Dict[str, Any]]:
    """Read a run config: ``(model config, train settings as given)``.

    The train settings come back as the plain mapping the file holds (checked), so
    that flags can override them before :class:`TrainSettings` is built.  An empty
    file is an error; an empty section (``train:``) is the defaults.
    """
    path = as_path(path, "run config")
    data, root = read_yaml(path, "run config", nodes=True)
    if data is None:
        raise ValueError(
            f"run config {path}: the file is empty; write a model (e.g. pool: topk) or leave the "
            f"file out for the default model"
        )
    if not isinstance(data, dict):
        raise ValueError(f"run config {path}: expected a mapping, got {type(data).__name__}")
    keys = {k.value: k for k, _ in root.value}
    sections = {k.value: v for k, v in root.value}
    if "model" in data or "train" in data:
        unknown = [k for k in data if k not in ("model", "train")]
        if unknown:
            raise ValueError(
                f"{path}:{keys[unknown[0]].start_mark.line + 1}: unknown section(s) "
                f"{', '.join(map(shown, unknown))}; a run config has 'model' and 'train'"
            )
        for name in ("model", "train"):
            if data.get(name) is not None and not isinstance(data[name], dict):
                raise ValueError(
                    f"{path}:{keys[name].start_mark.line + 1}: the {name!r} section must be a "
                    f"mapping of settings, got {shown(data[name])}"
                )
        model_part, train_part = data.get("model") or {}, data.get("train") or {}
        model_node, train_node = sections.get("model"), sections.get("train")
    else:
        model_part, train_part, model_node, train_node = data, {}, root, None
    try:
        model = ModelConfig.from_dict(model_part, source=f"{path} (model)")
    except ValueError as e:
        raise with_line(e, f"{path} (model)", model_node) from None
    try:
        TrainSettings.from_dict(train_part, source=f"{path} (train)")  # checked now, built later
    except ValueError as e:
        raise with_line(e, f"{path} (train)", train_node) from None
    return model, dict(train_part)
