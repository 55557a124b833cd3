"""Hyperparameter grids for ``hipool compare --grid GRID.yaml``.

A grid is YAML: each parameter names a list of values to try, for every model;
a model's name opens a section of its own, which adds to or replaces the common
entries for that model::

    hidden: [32, 64]          # model config fields ...
    lr: [0.01, 0.001]         # ... and train settings
    diffpool:                 # only for the model named diffpool
      schedule: [[20, 10], [10, 5]]

A scalar is a one-value list.  The configs of a model are every combination of
its lists (in the file's order, the last key varying fastest), without
duplicates.  Model config fields: see :mod:`hipool.config` (all but ``pool``,
``task`` and ``skip``: the model name fixes the pooler).  Train settings: see
:mod:`hipool.train.settings`.  The ``global`` model ignores ``pool_options`` and
``aux_weights``, which belong to poolers.
"""
from __future__ import annotations

import difflib
import itertools
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import yaml

from .config import ModelConfig
from .io import read_yaml
from .train.settings import FIELDS as TRAIN_FIELDS
from .train.settings import TrainSettings

MODEL_FIELDS: Tuple[str, ...] = tuple(f.name for f in fields(ModelConfig) if f.name not in ("pool", "task", "skip"))
PARAMETERS: Tuple[str, ...] = MODEL_FIELDS + TRAIN_FIELDS
POOLER_ONLY = ("pool_options", "aux_weights")


@dataclass
class GridPoint:
    """One config of a model's grid: the values the grid set, and the built config and settings."""

    index: int
    overrides: Dict[str, Any]
    config: ModelConfig
    train: TrainSettings

    def label(self) -> str:
        return ", ".join(f"{k}={json.dumps(v)}" for k, v in self.overrides.items()) or "(defaults)"


@dataclass
class Grid:
    """Per-parameter value lists: common ones and per-model sections (with their file lines)."""

    common: Dict[str, List[Any]]
    per_model: Dict[str, Dict[str, List[Any]]]
    source: str = "grid"

    def to_dict(self) -> Dict[str, Any]:
        return {**self.common, **{m: dict(v) for m, v in self.per_model.items()}}

    def points(self, model: str, base: ModelConfig, train: TrainSettings, *, is_global: bool) -> List[GridPoint]:
        """Every config of ``model``, built on its ``base`` config and ``train`` settings."""
        lists = {**self.common, **self.per_model.get(model, {})}
        if is_global:
            lists = {k: v for k, v in lists.items() if k not in POOLER_ONLY}
        keys = list(lists)
        seen, out = set(), []
        for values in itertools.product(*(lists[k] for k in keys)):
            overrides = dict(zip(keys, values))
            key = json.dumps(overrides, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            model_part = {k: v for k, v in overrides.items() if k in MODEL_FIELDS}
            train_part = {k: v for k, v in overrides.items() if k in TRAIN_FIELDS}
            where = f"{self.source}: model {model!r}, config {json.dumps(overrides)}"
            config = ModelConfig.from_dict({**base.to_dict(), **model_part}, source=where)
            settings = TrainSettings.from_dict({**train.to_dict(), **train_part}, source=where)
            out.append(GridPoint(len(out), overrides, config, settings))
        return out


def _values(value: Any, where: str, key: str) -> List[Any]:
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{where}: '{key}' lists no values")
        return value
    return [value]


def _unknown(key: str, where: str, models: Sequence[str]) -> ValueError:
    close = difflib.get_close_matches(key, list(PARAMETERS) + list(models), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ValueError(f"{where}: unknown grid parameter {key!r}; {hint}parameters: {', '.join(PARAMETERS)}; "
                      f"or a section named after a model of this comparison ({', '.join(models)})")


def load_grid(path: Optional[Union[str, os.PathLike]], models: Sequence[str]) -> Grid:
    """Read and check a grid file (``None``: the empty grid, one config per model).  Errors name
    the file and line of the offending key."""
    if path is None:
        return Grid({}, {}, "no grid")
    path = Path(path)
    data, root = read_yaml(path, "grid", nodes=True)
    if data is None:
        return Grid({}, {}, str(path))
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ValueError(f"grid {path}: expected a mapping of parameter: [values], got {type(data).__name__}")
    common: Dict[str, List[Any]] = {}
    per_model: Dict[str, Dict[str, List[Any]]] = {}
    for key_node, value_node in root.value:
        key = key_node.value
        where = f"{path}:{key_node.start_mark.line + 1}"
        if key in PARAMETERS:
            common[key] = _values(data[key], where, key)
        elif key in models:
            value = data[key]
            if not isinstance(value, dict) or not isinstance(value_node, yaml.MappingNode):
                raise ValueError(f"{where}: the section for model {key!r} must be a mapping of parameter: [values]")
            section: Dict[str, List[Any]] = {}
            for sub_key, _ in value_node.value:
                sub_where = f"{path}:{sub_key.start_mark.line + 1}"
                if sub_key.value not in PARAMETERS:
                    raise _unknown(sub_key.value, sub_where, models)
                section[sub_key.value] = _values(value[sub_key.value], sub_where, sub_key.value)
            per_model[key] = section
        else:
            raise _unknown(str(key), where, models)
    return Grid(common, per_model, str(path))
