"""Named models for ``hipool train --model`` and ``hipool compare --models``.

Every name is one skeleton with one pooler swapped in, so a comparison changes one
thing.  Two skeletons:

**The seed model** (``topk``, ``sag``, …, ``global``): the seed document's model, two
levels of *GCN → pool* (hidden 64), a mean readout of the last level and a linear
classifier; ``topk`` is exactly that model, and ``global`` is its twin with no pooling.

**The recipe** (``gin-<pooler>``, ``gine-<pooler>``, ``gin-global``, ``gine-global``): what
issue 16 found to learn (:data:`RECIPE`): a linear input encoder, 2 convs per level with
BatchNorm, residual connections and ReLU, ``meanmax`` readouts of *every* level including
level 0 (``levels_read: all``) summed into an MLP head.  ``gine`` (GINEConv) reads the
edge features (circuits' pin roles, bonds), ``gin`` is for data without them.  The
``-global`` twin has the very same blocks and readouts and no pooling.  Poolers that take
ratios pool twice by half, ``given`` along the data's own levels (all of them), clustering
poolers as below.  Each pooler's schedule is its registered default
(:attr:`hipool.nn.registry.PoolerSpec.default_schedule`):

=============================  ==============================================================
selection (``topk``, …)        keep half the nodes per level: ``schedule [0.5, 0.5]``
contraction (``edgepool``, …)  merge matched pairs per level: ``schedule [0.5, 0.5]``
clustering (``diffpool``, …)   a cluster count per level, from the dataset's mean graph size
                               ``n̄``: ``[ceil(n̄/2), ceil(n̄/4)]`` (PROTEINS: ``[20, 10]``),
                               ``n̄`` read as at most 512 (large netlists: ``[256, 128]``)
``given``                      the data's own groups, every level it has (``level_labels``)
``global``                     the same convs and readout, no pooling
=============================  ==============================================================

A path to a model YAML file also names a model (its file stem is its name).
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Dict, List, Tuple, Union

from .config import ModelConfig
from .io import clip, shown
from .nn.registry import GIVEN, REGISTRY, PoolerSpec

GLOBAL_NAME = "global"

SKELETON: Dict[str, object] = {
    "conv": "gcn",
    "hidden": 64,
    "readout": "mean",
    "combine": "last",
    "head": [],
    "dropout": 0.0,
}
#: The recipe's skeleton (its ``conv`` is the name's prefix).
RECIPE: Dict[str, object] = {
    "hidden": 64,
    "encoder": True,
    "convs_per_level": 2,
    "norm": "batch",
    "residual": True,
    "act": "relu",
    "readout": "meanmax",
    "combine": "sum",
    "levels_read": "all",
    "head": [64],
    "dropout": 0.0,
}
#: The convs of the recipe's names: ``gine-topk``, ``gin-global``, ...
RECIPE_CONVS = ("gin", "gine")


def model_names() -> List[str]:
    """Every preset name: the registered poolers and ``global``, then the recipe's."""
    base = sorted(REGISTRY) + [GLOBAL_NAME]
    return base + [f"{conv}-{name}" for conv in RECIPE_CONVS for name in base]


#: The clustering presets read the mean graph size as at most this many nodes: a dataset of
#: 200k-node netlists gets 256 and 128 clusters, not 100k and 50k (a 214k × 100k assignment
#: would need 86 GB).  Every TU dataset is below it (REDDIT-MULTI-5K, the largest, 509).
PRESET_MAX_MEAN_NODES = 512


def cluster_counts(mean_nodes: float, levels: int = 2) -> List[int]:
    """The clustering presets' schedule: ``ceil(n̄ / 2**l)`` clusters at level ``l`` (at least 1),
    ``n̄`` read as at most :data:`PRESET_MAX_MEAN_NODES`."""
    n = min(mean_nodes, PRESET_MAX_MEAN_NODES)
    return [max(1, math.ceil(n / 2**level)) for level in range(1, levels + 1)]


def preset(name: str, mean_nodes: float = 40.0, known_levels: int = 2) -> ModelConfig:
    """The model config a name stands for; ``mean_nodes`` sets the clustering poolers' counts,
    ``known_levels`` (the data's ``level_labels`` columns) the levels of ``given``."""
    conv, _, pooler = name.partition("-")
    if pooler and conv in RECIPE_CONVS:
        skeleton: Dict[str, object] = {**RECIPE, "conv": conv}
    else:
        pooler, skeleton = name, SKELETON
    if pooler == GLOBAL_NAME:
        # the twin of the two-level models (the same blocks, readouts and head, no pooling)
        return preset(name[: -len(GLOBAL_NAME)] + "topk", mean_nodes, known_levels).global_twin()
    if pooler not in REGISTRY:
        raise ValueError(unknown_model_message(name))
    spec = REGISTRY[pooler]
    if spec.fixed_entry == GIVEN:
        return ModelConfig(pool=pooler, levels=max(1, known_levels), **skeleton)  # type: ignore[arg-type]
    schedule = default_schedule(spec, mean_nodes)
    return ModelConfig(pool=pooler, schedule=schedule, **skeleton)  # type: ignore[arg-type]


def default_schedule(spec: PoolerSpec, mean_nodes: float) -> List[Union[float, int, str]]:
    """A pooler's schedule in the named models: its registered :attr:`~PoolerSpec.default_schedule`,
    as cluster counts ``ceil(n̄ · f)`` (at least 1, ``n̄`` read as at most
    :data:`PRESET_MAX_MEAN_NODES`) when it needs counts."""
    if spec.needs_count:
        n = min(mean_nodes, PRESET_MAX_MEAN_NODES)
        return [max(1, math.ceil(n * f)) for f in spec.default_schedule]
    if spec.fixed_entry is not None:  # pairs, natural: the one entry it takes, per level
        return [spec.fixed_entry] * len(spec.default_schedule)
    return list(spec.default_schedule)


def unknown_model_message(name: str) -> str:
    names = model_names()
    stem = name.lower().removesuffix("pooling").removesuffix("pool").removesuffix("_").removesuffix("-")
    close = [stem] if stem in names else difflib.get_close_matches(name[:100], names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown model {shown(name)}; {hint}available: {', '.join(names)}, or a path to a model config YAML file"


def is_model_file(spec: str) -> bool:
    path = Path(spec)
    try:
        return path.suffix.lower() in (".yaml", ".yml") or path.is_file()
    except OSError:  # e.g. a name too long to be a file: not one
        return False


def check_model_names(specs: List[str]) -> None:
    """Fail early (before any data is loaded) on a name that is neither a preset nor a file."""
    names = model_names()
    for spec in specs:
        if not is_model_file(spec) and spec not in names:
            raise ValueError(unknown_model_message(spec))


def resolve_model(spec: str, mean_nodes: float = 40.0, known_levels: int = 2) -> Tuple[str, ModelConfig]:
    """``(name, config)`` for a preset name or a YAML file path."""
    path = Path(spec)
    if is_model_file(spec):
        if not path.exists():
            raise ValueError(f"model config {clip(spec)}: no such file")
        from .train.settings import load_run_config

        config, train = load_run_config(path)
        if train:
            raise ValueError(
                f"{path}: has a 'train' section, which a model named by --models or --model does "
                f"not use (its training settings come from the flags and the grid); remove it, "
                f"or give the file as `hipool train {path} ...`"
            )
        return path.stem, config
    return spec, preset(spec, mean_nodes, known_levels)
