"""Building blocks: poolers, readouts and models.

``from hipool.nn import TopKPooling`` is a drop-in for ``torch_geometric.nn.TopKPooling``.
"""
from ..record import DROPPED, PoolOutput
from . import functional
from .asap import ASAPooling
from .clustering import DiffPool, DMoNPool, MinCutPool
from .connect import filter_edges
from .contraction import EdgePool, EdgePooling, Graclus, graclus
from .convs import make_conv
from .models import (
    POOLER_INFO,
    POOLERS,
    GlobalGNN,
    GraphUNet,
    HierarchicalGNN,
    PoolerInfo,
    build_model,
    register_pooler,
)
from .readout import READOUTS, Readout
from .select import num_kept, topk
from .selection import SAGPooling, TopKPooling

__all__ = [
    "DROPPED", "PoolOutput", "TopKPooling", "SAGPooling", "topk", "num_kept", "filter_edges",
    "Readout", "READOUTS", "HierarchicalGNN", "GlobalGNN", "build_model", "make_conv",
    "POOLERS", "POOLER_INFO", "PoolerInfo", "register_pooler", "DiffPool", "MinCutPool", "DMoNPool",
    "functional", "EdgePool", "EdgePooling", "Graclus", "graclus", "ASAPooling", "GraphUNet",
]
