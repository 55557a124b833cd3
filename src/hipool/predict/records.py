"""What ``hipool predict`` works with and produces: the opened model (:class:`Predictor`), one
output row per file or graph (:class:`Row`) and every row with the classes (:class:`Predictions`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Union


@dataclass
class Predictor:
    """A trained model opened for prediction (:func:`~hipool.predict.model.open_predictor`).

    Args:
        model: the model, in eval mode, on ``device``.
        classes: the name of every class (the class numbers as text when the dataset names none).
        named: whether ``classes`` are the dataset's names (else numbers).
        depth: the width of ``level_labels`` the model reads (``None``: it pools no ``given`` level).
        dataset: the name of the dataset it was trained on (for messages).
        description: the run, model, fold and checkpoint, in words.
        device: where the model runs.
    """

    model: Any  # a hipool graph classifier (torch.nn.Module)
    classes: List[str]
    named: bool
    depth: Optional[int]
    dataset: str
    description: str
    device: str = "cpu"
    checkpoint: Optional[Path] = None
    folder: Optional[Path] = None
    model_name: Optional[str] = None
    fold: Optional[int] = None

    def label(self, index: int) -> Union[str, int]:
        """Class ``index`` as the CSV writes it: its name, or its number."""
        return self.classes[index] if self.named else index


@dataclass
class Row:
    """One row of the output: a file (or a graph of a dataset spec) and what the model said."""

    file: str
    predicted: Optional[Union[str, int]] = None
    probabilities: Optional[List[float]] = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class Predictions:
    """Every row, in the order of ``FILES``, and the classes of the columns."""

    rows: List[Row]
    classes: List[str]
    predictor: Optional[Predictor] = field(default=None, repr=False)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.rows if not r.ok)
