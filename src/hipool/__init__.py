"""hipool: hierarchical graph pooling for graph neural networks.

:class:`~hipool.config.ModelConfig` is imported on first use: it checks configs against the
pooler registry, which loads every pooler (and PyTorch Geometric); ``import hipool`` alone
does not need them.
"""

from typing import Any

from .checks import checks_disabled, checks_enabled, set_checks
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


def __getattr__(name: str) -> Any:
    if name == "ModelConfig":
        from .config import ModelConfig

        return ModelConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | {"ModelConfig"})
