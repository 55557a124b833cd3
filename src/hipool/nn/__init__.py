"""Building blocks: poolers, readouts and models.

``from hipool.nn import TopKPooling`` is a drop-in for ``torch_geometric.nn.TopKPooling``.
Every pooler is on the registry (:mod:`hipool.nn.registry`, ``hipool poolers``).

The models (:mod:`hipool.nn.models`) are imported on first use: they build on
:mod:`hipool.config`, which reads the registry of this package, so importing them here
eagerly would make ``hipool.config`` and ``hipool.nn`` import each other.
"""

import importlib
from typing import Any

from ..record import DROPPED, PoolOutput
from . import functional
from .asap import ASAPooling
from .bnpool import BNPool
from .clustering import DiffPool, DMoNPool, MinCutPool
from .connect import filter_edges
from .contraction import EdgePool, EdgePooling, Graclus, graclus
from .convs import make_conv
from .cut_poolers import ACCPool, HOSCPool, JustBalancePool
from .eigenpool import EigenPool
from .given import GivenPool
from .kmis import KMISPooling
from .lapool import LaPool
from .maxcut import MaxCutPool
from .ndp import NDPPooling
from .nmf import NMFPool
from .pan import PANPooling
from .readout import READOUTS, Readout
from .registry import REGISTRY, PoolerSpec
from .select import num_kept, topk
from .selection import SAGPooling, TopKPooling
from .sep import SEPPooling

#: Names of :mod:`hipool.nn.models` this package exports (imported on first use).
_MODELS = ("GlobalGNN", "GraphUNet", "HierarchicalGNN", "build_model")


def __getattr__(name: str) -> Any:
    if name in _MODELS or name == "models":
        models = importlib.import_module(f"{__name__}.models")
        return models if name == "models" else getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_MODELS))


__all__ = [
    "DROPPED",
    "PoolOutput",
    "TopKPooling",
    "SAGPooling",
    "topk",
    "num_kept",
    "filter_edges",
    "Readout",
    "READOUTS",
    "HierarchicalGNN",
    "GlobalGNN",
    "build_model",
    "make_conv",
    "REGISTRY",
    "PoolerSpec",
    "DiffPool",
    "MinCutPool",
    "DMoNPool",
    "GivenPool",
    "functional",
    "EdgePool",
    "EdgePooling",
    "Graclus",
    "graclus",
    "ASAPooling",
    "PANPooling",
    "KMISPooling",
    "NDPPooling",
    "JustBalancePool",
    "HOSCPool",
    "ACCPool",
    "SEPPooling",
    "EigenPool",
    "BNPool",
    "MaxCutPool",
    "LaPool",
    "NMFPool",
    "GraphUNet",
]
