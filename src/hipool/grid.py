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
duplicates; a model may have at most :data:`MAX_GRID_POINTS` (1,000) combinations.
Model config fields: see :mod:`hipool.config` (all but ``pool``, ``task`` and
``skip``: the model name fixes the pooler).  Train settings: see
:mod:`hipool.train.settings`.  The ``global`` model ignores ``pool_options`` and
``aux_weights``, which belong to poolers.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import yaml

from .config import ModelConfig
from .io import as_path, read_yaml, shown
from .train.settings import FIELDS as TRAIN_FIELDS
from .train.settings import TrainSettings

MODEL_FIELDS: Tuple[str, ...] = tuple(f.name for f in fields(ModelConfig) if f.name not in ("pool", "task", "skip"))
PARAMETERS: Tuple[str, ...] = MODEL_FIELDS + TRAIN_FIELDS
POOLER_ONLY = ("pool_options", "aux_weights")
#: Most configs (combinations of the grid's lists) of one model.
MAX_GRID_POINTS = 1000


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
    lines: Dict[str, int] = field(default_factory=dict)  # common key -> its file line
    model_lines: Dict[str, Dict[str, int]] = field(default_factory=dict)  # model -> key -> its file line

    def to_dict(self) -> Dict[str, Any]:
        return {**self.common, **{m: dict(v) for m, v in self.per_model.items()}}

    def points(self, model: str, base: ModelConfig, train: TrainSettings, *, is_global: bool) -> List[GridPoint]:
        """Every config of ``model``, built on its ``base`` config and ``train`` settings.  Errors
        name the grid file and the line of the parameter they are about."""
        lists = {**self.common, **self.per_model.get(model, {})}
        if is_global:
            lists = {k: v for k, v in lists.items() if k not in POOLER_ONLY}
        keys = list(lists)
        count = math.prod(len(lists[k]) for k in keys)
        if count > MAX_GRID_POINTS:
            sizes = " x ".join(f"{k} {len(lists[k])}" for k in keys if len(lists[k]) > 1)
            raise ValueError(
                f"{self.source}: model {model!r} has {count:,} configs ({sizes}); a grid may give a "
                f"model at most {MAX_GRID_POINTS:,}"
            )
        seen, out = set(), []
        for values in itertools.product(*(lists[k] for k in keys)):
            overrides = dict(zip(keys, values))
            key = json.dumps(overrides, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            model_part = {k: v for k, v in overrides.items() if k in MODEL_FIELDS}
            train_part = {k: v for k, v in overrides.items() if k in TRAIN_FIELDS}
            where = f"{self.source}: model {model!r}, config {shown_json(overrides)}"
            try:
                fields = {**base.to_dict(), **model_part}
                if "schedule" in model_part and "auto_top" not in model_part:
                    fields.pop("auto_top", None)  # an auto base's top size goes with its schedule
                config = ModelConfig.from_dict(fields, source=where)
                settings = TrainSettings.from_dict({**train.to_dict(), **train_part}, source=where)
            except ValueError as e:
                raise self._located(e, where, model, overrides) from None
            out.append(GridPoint(len(out), overrides, config, settings))
        return out

    def _located(self, error: ValueError, where: str, model: str, overrides: Dict[str, Any]) -> ValueError:
        """``error`` (starting with ``where``) pointed at the grid line of the parameter it names."""
        message = str(error)
        rest = message[len(where) :] if message.startswith(where) else message
        lines = {**self.lines, **self.model_lines.get(model, {})}
        for m in re.finditer(r"'([A-Za-z_]\w*)", rest):
            if m.group(1) in overrides and m.group(1) in lines:
                return ValueError(f"{self.source}:{lines[m.group(1)]}{where[len(self.source) :]}{rest}")
        return error


def shown_json(value: Any, limit: int = 200) -> str:
    """``value`` as JSON for an error message, cut to ``limit`` characters."""
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _values(value: Any, where: str, key: str) -> List[Any]:
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{where}: '{key}' lists no values")
        return value
    return [value]


def _unknown(key: str, where: str, models: Sequence[str]) -> ValueError:
    close = difflib.get_close_matches(key[:100], list(PARAMETERS) + list(models), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ValueError(
        f"{where}: unknown grid parameter {shown(key)}; {hint}parameters: {', '.join(PARAMETERS)}; "
        f"or a section named after a model of this comparison ({', '.join(models)})"
    )


def load_grid(path: Optional[Union[str, os.PathLike]], models: Sequence[str]) -> Grid:
    """Read and check a grid file (``None``: the empty grid, one config per model).  Errors name
    the file and line of the offending key."""
    if path is None:
        return Grid({}, {}, "no grid")
    path = as_path(path, "grid")
    data, root = read_yaml(path, "grid", nodes=True)
    if data is None:
        raise ValueError(
            f"grid {path}: the file is empty; write parameter: [values] lines, or leave --grid out "
            f"for one config per model"
        )
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ValueError(f"grid {path}: expected a mapping of parameter: [values], got {type(data).__name__}")
    common: Dict[str, List[Any]] = {}
    per_model: Dict[str, Dict[str, List[Any]]] = {}
    lines: Dict[str, int] = {}
    model_lines: Dict[str, Dict[str, int]] = {}
    for key_node, value_node in root.value:
        key = key_node.value
        where = f"{path}:{key_node.start_mark.line + 1}"
        if key in PARAMETERS:
            common[key] = _values(data[key], where, key)
            lines[key] = key_node.start_mark.line + 1
        elif key in models:
            value = data[key]
            if not isinstance(value, dict) or not isinstance(value_node, yaml.MappingNode):
                raise ValueError(f"{where}: the section for model {key!r} must be a mapping of parameter: [values]")
            section: Dict[str, List[Any]] = {}
            model_lines[key] = {}
            for sub_key, _ in value_node.value:
                sub_where = f"{path}:{sub_key.start_mark.line + 1}"
                if sub_key.value not in PARAMETERS:
                    raise _unknown(sub_key.value, sub_where, models)
                section[sub_key.value] = _values(value[sub_key.value], sub_where, sub_key.value)
                model_lines[key][sub_key.value] = sub_key.start_mark.line + 1
            per_model[key] = section
        else:
            raise _unknown(str(key), where, models)
    return Grid(common, per_model, str(path), lines, model_lines)
