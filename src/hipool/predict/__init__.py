"""``hipool predict RUN FILES...``: the classes a trained model gives new designs or graphs.

``RUN`` is a run folder of ``hipool train``, ``hipool demo`` or ``hipool compare`` (``--model``
and ``--fold`` pick the model as for ``hipool explain``), or a checkpoint (``.pt``) inside one:
its run folder is the nearest folder above it holding a ``run.json`` (at most
:data:`~.model.CHECKPOINT_DEPTH` folders up), and the model and fold are those ``run.json`` records for
that checkpoint (a compare's repeat ``r > 0`` included).  A checkpoint outside any run folder
is refused: the run folder says which dataset the model was trained on, and that gives the class
names and the depth of the known hierarchy.  The model is rebuilt as ``hipool explain`` does
(:func:`hipool.explain.run.open_run`: the checkpoint checked against ``run.json``, the run's
dataset loaded again from the spec it recorded, or ``--dataset``).  A recorded spec that is a
relative path naming nothing from the current folder is taken from the folder the run was
started in (``run.json``'s ``cwd``), so ``hipool train --dataset designs ...`` predicts from
anywhere.

Each of ``FILES`` is

* **a netlist file** (an ending of :data:`~hipool.data.netlists.dataset.READERS`: ``.bench``,
  ``.blif``, ``.aag``, ``.aig``, and the analog endings): one row, named by the path as given;
* **a folder holding netlist files**: one row per netlist file in it (sorted; not in
  sub-folders; other files, ``labels.csv`` included, are left out, and no labels are needed);
* **anything else** is a dataset spec (whatever :func:`~hipool.data.registry.load_dataset`
  takes: a TU name, ``circuits:...``, a ``.jsonl`` file, a folder of graph files with its
  ``labels.csv``, ...): one row per graph, named ``<spec>#<index>``.

A file or spec that cannot be read, or a graph the model cannot take, gets its error on its
row (the others are still predicted): a netlist's parse error (``file:line: ...``), an ending
hipool does not read, other node features than the model was trained on (the width of ``x``;
of ``edge_attr`` when its convs read edge features; of ``level_labels`` when it pools
``given``), a design nested deeper than the training designs.

**The depth of the known hierarchy.**  A model with ``pool: given`` reads column ``l - 1`` of
``level_labels`` at level ``l``, and for netlists column ``c`` of a dataset of depth ``D``
groups the nodes by their first ``D - c`` subcircuit instances: the same column means another
grouping at another depth.  So a netlist file is read with ``level_labels`` as wide as the
training dataset's (``D``: the most columns among its graphs), as
:func:`~hipool.data.netlists.dataset.load_netlists` reads the shallower designs of a folder; a
design nested deeper than ``D`` is refused on its row.  A graph of a dataset spec must have
exactly ``D`` columns.  A model without ``given`` levels does not read ``level_labels``: each
netlist keeps its own depth.

**Output.**  A CSV (:func:`~.output.write_predictions`, written atomically once every row is known;
nothing is written when the command fails as a whole) with the columns ``file``, ``predicted``
(the class name, when the training dataset names its classes, else the class number),
``probability_<class>`` per class (softmax of the logits, 8 decimals) and ``error`` (empty when
fine; then ``predicted`` and the probabilities are empty).  The same rows are printed as an
aligned table, or as JSON (``--json``).  The graphs go through the model in batches
(``--batch-size``), in eval mode, without gradients, on ``--device`` (default ``cpu``); a batch
the model fails on is retried graph by graph, so only the failing graph's row has the error.

**Exit status** (:func:`run_predict`): 0 when every row is predicted, 1 when any row has an
error; a failure of the whole command (no such run folder, a checkpoint that does not load, an
``--out`` that cannot be written) is the CLI's usual 2, and no CSV is written.

**The package.**  :mod:`.model` opens the run folder or checkpoint and runs the model,
:mod:`.inputs` reads ``FILES`` into graphs (an error per row), :mod:`.output` writes the CSV,
the table and the JSON, and :mod:`.records` holds what they pass along (:class:`~.records.Predictor`,
:class:`~.records.Row`, :class:`~.records.Predictions`); this module puts them together
(:func:`predict`, :func:`run_predict`) and re-exports their public names.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional, Sequence, Union

from ..io import shown
from .inputs import check_graph, read_inputs
from .model import CHECKPOINT_DEPTH, DEFAULT_BATCH_SIZE, locate_checkpoint, open_predictor, predict_rows
from .output import (
    DEFAULT_OUT,
    _check_out,
    format_table,
    header,
    predictions_csv,
    predictions_json,
    write_predictions,
)
from .records import Predictions, Predictor, Row

__all__ = [
    "CHECKPOINT_DEPTH",
    "DEFAULT_OUT",
    "DEFAULT_BATCH_SIZE",
    "Predictor",
    "Row",
    "Predictions",
    "locate_checkpoint",
    "open_predictor",
    "check_graph",
    "read_inputs",
    "predict_rows",
    "predict",
    "header",
    "predictions_csv",
    "write_predictions",
    "format_table",
    "predictions_json",
    "run_predict",
]


def predict(
    run: Union[str, Path],
    files: Sequence[str],
    *,
    model: Optional[str] = None,
    fold: Optional[int] = None,
    dataset: Optional[str] = None,
    data_root: Optional[str] = None,
    cache_dir: Optional[str] = None,
    device: str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
) -> Predictions:
    """The model of ``run`` on every netlist file, netlist folder and dataset spec of ``files``
    (see the module docstring): one :class:`~.records.Row` each (per graph for a dataset spec)."""
    if not files:
        raise ValueError("give at least one netlist file, folder or dataset spec to predict")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"--batch-size must be an int >= 1, got {shown(batch_size, 40)}")
    predictor = open_predictor(
        run,
        model=model,
        fold=fold,
        dataset=dataset,
        data_root=data_root,
        cache_dir=cache_dir,
        device=device,
        progress=progress,
    )
    pairs = read_inputs(files, predictor, data_root=data_root, cache_dir=cache_dir, progress=progress)
    rows = predict_rows(predictor, pairs, batch_size=batch_size, progress=progress)
    return Predictions(rows, list(predictor.classes), predictor)


def run_predict(
    run: Union[str, Path],
    files: Sequence[str],
    *,
    out: Union[str, Path] = DEFAULT_OUT,
    as_json: bool = False,
    model: Optional[str] = None,
    fold: Optional[int] = None,
    dataset: Optional[str] = None,
    data_root: Optional[str] = None,
    cache_dir: Optional[str] = None,
    device: str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
) -> int:
    """``hipool predict``: predict, write the CSV ``out``, print the table (or JSON); the exit
    status: 0 when every row was predicted, 1 when any row has an error."""
    out = Path(out)
    _check_out(out)  # before the work: a bad --out fails at once, and writes nothing
    result = predict(
        run,
        files,
        model=model,
        fold=fold,
        dataset=dataset,
        data_root=data_root,
        cache_dir=cache_dir,
        device=device,
        batch_size=batch_size,
        progress=progress,
    )
    write_predictions(result, out)
    n, bad = len(result.rows), result.errors
    summary = f"predictions: {out} ({n} row{'s' if n != 1 else ''}" + (f", {bad} with an error)" if bad else ")")
    if as_json:
        print(json.dumps(predictions_json(result, out), indent=2))
        print(summary, file=sys.stderr)
    else:
        if result.predictor is not None:
            print(f"model: {result.predictor.description}")
        print(format_table(result))
        print(summary)
    return 1 if bad else 0
