"""Named models for ``hipool train --model`` and ``hipool compare --models``.

Every name is one skeleton with one pooler swapped in, so a comparison changes one
thing.  The skeleton is the seed document's model: two levels of *GCN → pool*
(hidden 64), a mean readout of the last level and a linear classifier; ``topk``
is exactly that model, and ``global`` is its twin with no pooling.

=============================  ==============================================================
``topk``, ``sag``, ``asap``    keep half the nodes per level: ``schedule [0.5, 0.5]``
``edgepool``, ``graclus``      merge matched pairs per level: ``schedule [0.5, 0.5]``
``diffpool``, ``mincut``,      a cluster count per level, from the dataset's mean graph size
``dmon``                       ``n̄``: ``[ceil(n̄/2), ceil(n̄/4)]`` (PROTEINS: ``[20, 10]``)
``global``                     the same convs and readout, no pooling
=============================  ==============================================================

A path to a model YAML file also names a model (its file stem is its name).
"""
from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Dict, List, Tuple

from .config import ModelConfig

GLOBAL_NAME = "global"

SKELETON: Dict[str, object] = {"conv": "gcn", "hidden": 64, "readout": "mean", "combine": "last",
                               "head": [], "dropout": 0.0}


def model_names() -> List[str]:
    """Every preset name: the registered poolers and ``global``."""
    from .nn.models import POOLERS
    return sorted(POOLERS) + [GLOBAL_NAME]


def cluster_counts(mean_nodes: float, levels: int = 2) -> List[int]:
    """The clustering presets' schedule: ``ceil(n̄ / 2**l)`` clusters at level ``l`` (at least 1)."""
    return [max(1, math.ceil(mean_nodes / 2 ** level)) for level in range(1, levels + 1)]


def preset(name: str, mean_nodes: float = 40.0) -> ModelConfig:
    """The model config a name stands for; ``mean_nodes`` sets the clustering poolers' counts."""
    from .nn.models import POOLER_INFO, POOLERS

    if name == GLOBAL_NAME:
        return preset("topk").global_twin()
    if name not in POOLERS:
        raise ValueError(unknown_model_message(name))
    schedule = cluster_counts(mean_nodes) if POOLER_INFO[name].needs_count else [0.5, 0.5]
    return ModelConfig(pool=name, schedule=schedule, **SKELETON)  # type: ignore[arg-type]


def unknown_model_message(name: str) -> str:
    names = model_names()
    stem = name.lower().removesuffix("pooling").removesuffix("pool").removesuffix("_").removesuffix("-")
    close = [stem] if stem in names else difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (f"unknown model {name!r}; {hint}available: {', '.join(names)}, or a path to a model "
            f"config YAML file")


def is_model_file(spec: str) -> bool:
    path = Path(spec)
    return path.suffix.lower() in (".yaml", ".yml") or path.is_file()


def check_model_names(specs: List[str]) -> None:
    """Fail early (before any data is loaded) on a name that is neither a preset nor a file."""
    names = model_names()
    for spec in specs:
        if not is_model_file(spec) and spec not in names:
            raise ValueError(unknown_model_message(spec))


def resolve_model(spec: str, mean_nodes: float = 40.0) -> Tuple[str, ModelConfig]:
    """``(name, config)`` for a preset name or a YAML file path."""
    path = Path(spec)
    if is_model_file(spec):
        if not path.is_file():
            raise ValueError(f"model config {spec}: no such file")
        from .train.settings import load_run_config
        config, train = load_run_config(path)
        if train:
            raise ValueError(f"{path}: has a 'train' section, which a model named by --models or --model does "
                             f"not use (its training settings come from the flags and the grid); remove it, "
                             f"or give the file as `hipool train {path} ...`")
        return path.stem, config
    return spec, preset(spec, mean_nodes)
