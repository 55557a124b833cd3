"""Checkpoints that load with ``torch.load(path, weights_only=True)``: tensors and plain types only."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch

from ..config import ModelConfig
from ..io import atomic_torch_save

FORMAT = "hipool-checkpoint/1"


def save_checkpoint(path: Union[str, Path], model: torch.nn.Module,
                    extra: Optional[Dict[str, Any]] = None) -> Path:
    """Write the model's weights, config and shape atomically to ``path``."""
    from .. import __version__
    payload = {
        "format": FORMAT,
        "hipool_version": __version__,
        "model_class": type(model).__name__,
        "config": model.config.to_dict(),
        "in_channels": model.in_channels,
        "num_classes": model.num_classes,
        "edge_channels": getattr(model, "edge_channels", None),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": dict(extra or {}),
    }
    return atomic_torch_save(payload, path)


def load_checkpoint(path: Union[str, Path], map_location: str = "cpu") -> torch.nn.Module:
    """Rebuild the model saved by :func:`save_checkpoint` (loaded with ``weights_only=True``)."""
    from ..nn.models import build_model
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"checkpoint {path}: no such file") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"checkpoint {path}: cannot read it; the file is damaged or not a checkpoint "
                         f"({first[:160]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"checkpoint {path}: not a hipool checkpoint (expected format {FORMAT!r})")
    config = ModelConfig.from_dict(payload["config"], source=f"checkpoint {path}")
    model = build_model(config, payload["in_channels"], payload["num_classes"], payload.get("edge_channels"))
    model.load_state_dict(payload["state_dict"])
    return model
