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

Flags of ``hipool train`` / ``hipool compare`` override the file.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from ..config import ModelConfig, from_mapping
from ..io import read_yaml


@dataclass
class TrainSettings:
    """How one model is trained: Adam, early stopping on validation accuracy (then loss)."""

    epochs: int = 100
    patience: Optional[int] = 20
    lr: float = 0.001
    weight_decay: float = 0.0
    batch_size: int = 32
    aux_weight: float = 1.0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"train settings: '{name}' must be an int >= 1, got {v!r}")
        if self.patience is not None and (isinstance(self.patience, bool) or not isinstance(self.patience, int)
                                          or self.patience < 1):
            raise ValueError(f"train settings: 'patience' must be an int >= 1 or null, got {self.patience!r}")
        for name in ("lr", "weight_decay", "aux_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or (name == "lr" and v == 0):
                raise ValueError(f"train settings: '{name}' must be a number {'> 0' if name == 'lr' else '>= 0'}, "
                                 f"got {v!r}")
            setattr(self, name, float(v))

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "train settings") -> "TrainSettings":
        return from_mapping(cls, data, source, allowed=list(FIELDS), unknown="unknown train setting(s)",
                            prefix="train settings: ", not_mapping="'train' must be a mapping of settings")

    def updated(self, **changes: Any) -> "TrainSettings":
        """A copy with the given settings changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


FIELDS: Tuple[str, ...] = tuple(f.name for f in fields(TrainSettings))


def load_run_config(path: Union[str, os.PathLike]) -> Tuple[ModelConfig, Dict[str, Any]]:
    """Read a run config: ``(model config, train settings as given)``.

    The train settings come back as the plain mapping the file holds (checked), so
    that flags can override them before :class:`TrainSettings` is built.
    """
    path = Path(path)
    data = read_yaml(path, "run config")[0] or {}
    if not isinstance(data, dict):
        raise ValueError(f"run config {path}: expected a mapping, got {type(data).__name__}")
    if "model" in data or "train" in data:
        unknown = sorted(set(data) - {"model", "train"})
        if unknown:
            raise ValueError(f"run config {path}: unknown section(s) {', '.join(map(repr, unknown))}; "
                             f"a run config has 'model' and 'train'")
        model_part, train_part = data.get("model") or {}, data.get("train") or {}
    else:
        model_part, train_part = data, {}
    model = ModelConfig.from_dict(model_part, source=f"{path} (model)")
    TrainSettings.from_dict(train_part, source=f"{path} (train)")  # checked now, built later
    return model, dict(train_part)
