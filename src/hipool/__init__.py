"""hipool: hierarchical graph pooling for graph neural networks."""

from .checks import checks_disabled, checks_enabled, set_checks
from .config import ModelConfig
from .hierarchy import Hierarchy
from .record import DROPPED, PoolOutput

__version__ = "0.1.0"

__all__ = [
    "ModelConfig",
    "Hierarchy",
    "PoolOutput",
    "DROPPED",
    "set_checks",
    "checks_enabled",
    "checks_disabled",
    "__version__",
]
