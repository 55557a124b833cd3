"""``hipool predict RUN FILES...``: the classes a trained model gives new designs or graphs.

``RUN`` is a run folder of ``hipool train``, ``hipool demo`` or ``hipool compare`` (``--model``
and ``--fold`` pick the model as for ``hipool explain``), or a checkpoint (``.pt``) inside one:
its run folder is the nearest folder above it holding a ``run.json`` (at most
:data:`CHECKPOINT_DEPTH` folders up), and the model and fold are those ``run.json`` records for
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

**Output.**  A CSV (:func:`write_predictions`, written atomically once every row is known;
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
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from .data.base import LEVEL_LABELS, columns
from .io import atomic_write_text, clip, shown
from .runs.manifest import CHECKPOINT, DEMO_MODELS_UNNAMED, MANIFEST, TRAIN_MODEL, Manifest, ModelFiles

#: Most folders above a checkpoint searched for its run folder's ``run.json`` (a compare's
#: checkpoints lie in ``units/<model>/fold<k>/``).
CHECKPOINT_DEPTH = 4
#: Default ``--out``.
DEFAULT_OUT = "predictions.csv"
#: Graphs per batch by default.
DEFAULT_BATCH_SIZE = 32


@dataclass
class Predictor:
    """A trained model opened for prediction (:func:`open_predictor`).

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


# -- the run ---------------------------------------------------------------------------------------
def _recorded_checkpoints(manifest: Manifest) -> Iterable[Tuple[Optional[str], Optional[int], str]]:
    """``(model, fold, path)`` of every checkpoint ``run.json`` records (``model`` ``None``: a train
    run's one model), as :func:`hipool.runs.open.open_run` finds them."""
    files = manifest.files
    if manifest.command == "train":
        yield None, None, files.models.get(TRAIN_MODEL, ModelFiles()).checkpoint or CHECKPOINT
    elif manifest.command == "demo":
        for name in list(manifest.models) or list(DEMO_MODELS_UNNAMED):
            yield name, None, files.models.get(name, ModelFiles()).checkpoint or f"{name}/{CHECKPOINT}"
    elif manifest.command == "compare":
        for name, model in files.models.items():
            for k in sorted(model.folds):
                for path in model.folds[k].checkpoints:
                    yield name, k, path


def locate_checkpoint(path: Path) -> Tuple[Path, Optional[str], Optional[int]]:
    """``(run folder, model, fold)`` of checkpoint ``path``: the nearest folder above it with a
    ``run.json`` (at most :data:`CHECKPOINT_DEPTH` up) and the model and fold it records for the
    file.  A ``ValueError`` that says what is missing otherwise."""
    from .runs import run_manifest

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path}: not a file (give a run folder, or a .pt checkpoint inside one)")
    resolved = path.resolve()
    folder = next((f for f in list(resolved.parents)[:CHECKPOINT_DEPTH] if (f / MANIFEST).is_file()), None)
    if folder is None:
        raise ValueError(
            f"checkpoint {path}: no run folder above it (no {MANIFEST} in the {CHECKPOINT_DEPTH} folders "
            f"above it); predict reads the run's {MANIFEST} for the dataset the model was trained on "
            f"(its class names, its features): give the checkpoint inside its run folder, or the run folder"
        )
    manifest = run_manifest(folder)
    for model, fold, rel in _recorded_checkpoints(manifest):
        if (folder / rel).resolve() == resolved:
            return folder, model, fold
    raise ValueError(
        f"checkpoint {path}: the run folder {folder} above it does not record it in its {MANIFEST} "
        f"(a `hipool {shown(manifest.command, 40)}` run); give the run folder (with --model/--fold), "
        f"or a checkpoint the run wrote"
    )


def _same_model(a: Any, b: Any) -> bool:
    return json.dumps(a.config.to_dict(), sort_keys=True) == json.dumps(b.config.to_dict(), sort_keys=True) and (
        a.in_channels,
        a.num_classes,
        getattr(a, "edge_channels", None),
    ) == (b.in_channels, b.num_classes, getattr(b, "edge_channels", None))


def _dataset_from_run_cwd(folder: Path) -> Optional[str]:
    """The run's dataset spec made absolute, when it is a relative path that names nothing from
    here but a file or folder from the folder the run was started in (``run.json``'s ``cwd``):
    a run trained on ``--dataset designs`` predicts from any folder.  ``None``: use the spec as
    recorded."""
    from .runs import run_manifest

    try:
        manifest = run_manifest(folder)
        spec = manifest.dataset_spec()
    except ValueError:
        return None  # open_run says what is wrong
    if not spec or not manifest.cwd or Path(spec).is_absolute() or ":" in spec:
        return None
    try:
        there = Path(manifest.cwd) / spec
        if Path(spec).exists() or not there.exists():
            return None
    except OSError:
        return None
    return str(there)


def open_predictor(
    run: Union[str, Path],
    *,
    model: Optional[str] = None,
    fold: Optional[int] = None,
    dataset: Optional[str] = None,
    data_root: Optional[str] = None,
    cache_dir: Optional[str] = None,
    device: str = "cpu",
    progress: bool = False,
) -> Predictor:
    """The model of run folder (or checkpoint) ``run`` (see the module docstring), ready to predict.
    Every problem is a ``ValueError`` that says what is missing."""
    from .explain.run import open_run
    from .train.checkpoint import load_checkpoint
    from .train.runner import resolve_device

    device = resolve_device(device)
    run = Path(run)
    checkpoint: Optional[Path] = None
    if run.is_file():
        folder, found_model, found_fold = locate_checkpoint(run)
        for flag, given, found in (("--model", model, found_model), ("--fold", fold, found_fold)):
            if given is not None and given != found:
                what = (
                    f"model {found_model!r}" + (f", fold {found_fold}," if found_fold is not None else "")
                    if found_model is not None
                    else "the one model"
                )
                raise ValueError(
                    f"{flag} {shown(given, 60)}: checkpoint {run} is {what} of run folder {folder}; "
                    f"leave out {flag}, or give the run folder"
                )
        checkpoint, run, model, fold = run, folder, found_model, found_fold
    elif not run.exists():
        raise ValueError(f"run folder {run}: no such folder (give a run folder, or a .pt checkpoint inside one)")
    if dataset is None:
        dataset = _dataset_from_run_cwd(run)
    opened = open_run(
        run, model=model, fold=fold, dataset=dataset, data_root=data_root, cache_dir=cache_dir, progress=progress
    )
    net: Any = opened.model
    if checkpoint is not None and checkpoint.resolve() != opened.checkpoint.resolve():
        # another repeat of the same compare fold: the same config, checked against the one open_run checked
        other = load_checkpoint(checkpoint)
        if not _same_model(other, net):
            raise ValueError(
                f"checkpoint {checkpoint}: holds another model than {opened.checkpoint.name} of the same "
                f"model and fold ({opened.model_name!r}, fold {opened.fold}); it was replaced or copied "
                f"from another run"
            )
        net = other
    else:
        checkpoint = opened.checkpoint
    config = net.config
    if getattr(config, "task", "graph") != "graph":
        raise ValueError(
            f"checkpoint {checkpoint}: the model classifies nodes (task: {config.task}); "
            f"hipool predict classifies graphs"
        )
    ds = opened.dataset
    depth = max((columns(getattr(g, LEVEL_LABELS, None)) for g in ds), default=0) if config.given_levels else None
    if depth is not None and depth < config.given_levels[-1]:
        raise ValueError(
            f"dataset {ds.name}: has {depth} {LEVEL_LABELS} column(s), but the model of {checkpoint} pools "
            f"along column {config.given_levels[-1] - 1} (pool: given); pass the dataset it was trained on (--dataset)"
        )
    names = list(ds.class_names or [])
    named = bool(names) and len(names) == net.num_classes
    classes = [str(c) for c in names] if named else [str(c) for c in range(net.num_classes)]
    net.eval()
    net.to(device)
    fold_text = f", fold {opened.fold}" if opened.fold is not None else ""
    return Predictor(
        model=net,
        classes=classes,
        named=named,
        depth=depth,
        dataset=ds.name,
        description=f"{opened.command} run {opened.folder} (model {opened.model_name}{fold_text}, {checkpoint.name})",
        device=device,
        checkpoint=checkpoint,
        folder=opened.folder,
        model_name=opened.model_name,
        fold=opened.fold,
    )


# -- the inputs ------------------------------------------------------------------------------------
def _expand(item: str) -> List[Tuple[str, str]]:
    """``(kind, name)`` entries of one of ``FILES``: ``("netlist", path)`` for a netlist file (or
    each of a folder's), ``("missing", path)``/``("unknown", path)`` for a file hipool cannot read
    as either, ``("spec", item)`` for a dataset spec."""
    from .data.netlists.dataset import is_netlist

    path = Path(item)
    try:
        return _kind(item, path, is_netlist)
    except OSError:  # a name the file system refuses (too long, ...): load_dataset says why
        return [("spec", item)]


def _kind(item: str, path: Path, is_netlist) -> List[Tuple[str, str]]:
    if is_netlist(path):
        return [("netlist", item)] if path.exists() else [("missing", item)]
    if path.is_dir():
        try:
            entries = sorted(path.iterdir(), key=lambda p: p.name)
        except OSError:
            return [("spec", item)]  # load_dataset says why it cannot be read
        netlists = [p for p in entries if not p.name.startswith(".") and p.is_file() and is_netlist(p)]
        if netlists:
            return [("netlist", str(p)) for p in netlists]
        return [("spec", item)]
    data_file = path.suffix.lower() in (".csv", ".jsonl")
    if path.is_file() and not data_file:
        return [("unknown", item)]
    if not path.exists() and path.suffix and not data_file and ":" not in item:
        return [("missing", item)]  # e.g. design.v: a file name, not a dataset name
    return [("spec", item)]


def _endings() -> str:
    from .data.netlists.dataset import READERS

    return ", ".join(READERS)


def _netlist_graph(path: str, predictor: Predictor) -> Data:
    """The graph of netlist file ``path`` with ``level_labels`` as wide as the model reads (see the
    module docstring); a ``ValueError`` naming the file for a file it cannot be."""
    from .data.netlists.dataset import netlist_depth, netlist_to_data, read_netlist

    netlist = read_netlist(path)
    depth = predictor.depth
    if depth is not None:
        own = netlist_depth(netlist)
        if own > depth:
            raise ValueError(
                f"{path}: the design nests subcircuit instances {own} deep, but the model pools along the "
                f"known hierarchy (pool: given) of designs nested at most {depth} deep ({LEVEL_LABELS} of "
                f"{depth} column(s), dataset {predictor.dataset}); it cannot pool this design's deeper levels"
            )
    data = netlist_to_data(netlist, depth)
    data.graph_id = Path(path).name
    return data


def check_graph(data: Data, predictor: Predictor, name: str) -> Data:
    """``data`` cut to what the model reads (``x``, ``edge_index``, and ``edge_attr``/``level_labels``
    when it reads them), or a ``ValueError`` naming ``name``, what the model expects and what the
    graph gives."""
    net = predictor.model
    trained = f"dataset {predictor.dataset}"
    x = getattr(data, "x", None)
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        got = "no node features (x)" if x is None else f"x of shape {shown(x, 60)}"
        raise ValueError(f"{name}: the model expects {net.in_channels} node features ({trained}), the graph has {got}")
    if x.size(1) != net.in_channels:
        raise ValueError(
            f"{name}: the model expects {net.in_channels} node features (x columns; trained on {trained}), "
            f"the graph gives {x.size(1)}"
        )
    edge_index = getattr(data, "edge_index", None)
    if not isinstance(edge_index, torch.Tensor):
        raise ValueError(f"{name}: the graph has no edge_index")
    out = Data(x=x, edge_index=edge_index, num_nodes=x.size(0))
    edge_channels = getattr(net, "edge_channels", None)
    if edge_channels:
        edge_attr = getattr(data, "edge_attr", None)
        width = columns(edge_attr)
        if width != edge_channels:
            got = f"{width}" if width else "none (no edge_attr)"
            raise ValueError(
                f"{name}: the model reads {edge_channels} edge features (edge_attr columns; conv "
                f"{net.config.conv!r}, trained on {trained}), the graph gives {got}"
            )
        assert edge_attr is not None
        out.edge_attr = edge_attr if edge_attr.dim() == 2 else edge_attr.view(-1, 1)
    if predictor.depth is not None:
        labels = getattr(data, LEVEL_LABELS, None)
        width = columns(labels)
        if width != predictor.depth:
            got = f"{width}" if width else f"none (no {LEVEL_LABELS})"
            raise ValueError(
                f"{name}: the model pools along the known hierarchy (pool: given) and expects "
                f"{LEVEL_LABELS} of {predictor.depth} column(s) (trained on {trained}), the graph gives {got}"
            )
        assert labels is not None
        out.level_labels = labels if labels.dim() == 2 else labels.view(-1, 1)
    return out


def read_inputs(
    items: Sequence[str],
    predictor: Predictor,
    *,
    data_root: Optional[str] = None,
    cache_dir: Optional[str] = None,
    progress: bool = False,
) -> List[Tuple[Row, Optional[Data]]]:
    """One ``(row, graph)`` per netlist file and per graph of each dataset spec of ``items``, in
    order; a row with an error has no graph."""
    from .data.netlists.dataset import is_netlist
    from .data.registry import load_dataset

    entries = [e for item in items for e in _expand(str(item))]
    out: List[Tuple[Row, Optional[Data]]] = []
    for kind, name in tqdm(entries, desc="reading", unit="file", disable=not progress, leave=False):
        if kind == "missing":
            known = is_netlist(Path(name))
            hint = "" if known else f" (and not an ending hipool reads: {_endings()})"
            out.append((Row(name, error=f"{name}: no such file{hint}"), None))
        elif kind == "unknown":
            out.append(
                (
                    Row(
                        name,
                        error=f"{name}: not a netlist file hipool reads (endings: {_endings()}) nor a dataset "
                        f"(.csv, .jsonl, a folder, a dataset name)",
                    ),
                    None,
                )
            )
        elif kind == "netlist":
            try:
                out.append((Row(name), check_graph(_netlist_graph(name, predictor), predictor, name)))
            except (ValueError, OSError) as e:
                out.append((Row(name, error=_message(e, name)), None))
        else:
            try:
                ds = load_dataset(name, data_root, cache_dir=cache_dir, progress=progress)
            except (ValueError, ImportError, OSError) as e:
                out.append((Row(name, error=_message(e, name)), None))
                continue
            for i, graph in enumerate(ds.graphs):
                row = Row(f"{name}#{i}")
                try:
                    out.append((row, check_graph(graph, predictor, row.file)))
                except ValueError as e:
                    row.error = _message(e, row.file)
                    out.append((row, None))
    return out


def _message(e: BaseException, name: str) -> str:
    """An error as one line that names ``name`` (the readers' messages already do)."""
    if isinstance(e, OSError) and not isinstance(e, ValueError):
        from .io import describe_os_error

        text = describe_os_error(e)
    else:
        text = str(e) or type(e).__name__
    text = clip(text, 1000)
    return text if name in text else f"{name}: {text}"


# -- the model -------------------------------------------------------------------------------------
def _probabilities(predictor: Predictor, graphs: List[Data]) -> torch.Tensor:
    from torch_geometric.data import Batch

    batch = Batch.from_data_list(graphs).to(predictor.device)
    logits = predictor.model(batch)
    return torch.softmax(logits.detach().double(), dim=1).cpu()


def predict_rows(
    predictor: Predictor, pairs: List[Tuple[Row, Optional[Data]]], *, batch_size: int = 32, progress: bool = False
) -> List[Row]:
    """Fill in ``predicted`` and the probabilities of every row with a graph: batches of
    ``batch_size`` graphs, eval mode, no gradients; a batch the model fails on is retried graph
    by graph, so that only the failing graph's row gets the error."""
    todo = [(row, g) for row, g in pairs if g is not None]
    predictor.model.eval()
    starts = range(0, len(todo), batch_size)
    with torch.no_grad():
        for start in tqdm(starts, desc="predicting", unit="batch", disable=not progress, leave=False):
            chunk = todo[start : start + batch_size]
            try:
                probs = _probabilities(predictor, [g for _, g in chunk])
                done = list(zip((r for r, _ in chunk), probs))
            except (ValueError, RuntimeError, IndexError):
                done = []
                for row, g in chunk:
                    try:
                        done.append((row, _probabilities(predictor, [g])[0]))
                    except (ValueError, RuntimeError, IndexError) as e:
                        row.error = f"{row.file}: the model cannot take this graph ({clip(str(e) or type(e).__name__)})"
            for row, p in done:
                values = [float(v) for v in p]
                if not all(math.isfinite(v) for v in values):
                    row.error = f"{row.file}: the model's output is not finite (NaN or infinite features?)"
                    continue
                row.probabilities = values
                row.predicted = predictor.label(int(p.argmax()))
    return [row for row, _ in pairs]


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
    (see the module docstring): one :class:`Row` each (per graph for a dataset spec)."""
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


# -- the output ------------------------------------------------------------------------------------
def header(classes: Sequence[str]) -> List[str]:
    """The CSV's columns."""
    return ["file", "predicted", *(f"probability_{c}" for c in classes), "error"]


def _cells(row: Row, classes: Sequence[str], digits: int) -> List[str]:
    probs = [f"{p:.{digits}f}" for p in row.probabilities] if row.probabilities is not None else [""] * len(classes)
    return [row.file, "" if row.predicted is None else str(row.predicted), *probs, row.error]


def predictions_csv(result: Predictions) -> str:
    """The CSV text of ``result`` (see the module docstring)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header(result.classes))
    for row in result.rows:
        writer.writerow(_cells(row, result.classes, 8))
    return buf.getvalue()


def write_predictions(result: Predictions, out: Union[str, Path]) -> Path:
    """Write the CSV to ``out`` atomically (a reader never sees half of it)."""
    return atomic_write_text(out, predictions_csv(result))


def format_table(result: Predictions) -> str:
    """The rows as an aligned text table (probabilities to 3 decimals; the error column last, unpadded)."""
    head = header(result.classes)
    body = [_cells(r, result.classes, 3) for r in result.rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head) - 1)]
    lines = []
    for line in [head, *body]:
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))]
        lines.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(lines)


def predictions_json(result: Predictions, out: Optional[Union[str, Path]] = None) -> Dict[str, Any]:
    """The rows as a JSON-ready mapping: the run, the classes, the CSV written and one object per row
    (``predicted`` and ``probabilities`` ``null`` on a row with an error)."""
    p = result.predictor
    return {
        "run": str(p.folder) if p and p.folder else None,
        "model": p.model_name if p else None,
        "fold": p.fold if p else None,
        "checkpoint": str(p.checkpoint) if p and p.checkpoint else None,
        "classes": list(result.classes),
        "out": None if out is None else str(out),
        "errors": result.errors,
        "rows": [
            {
                "file": r.file,
                "predicted": r.predicted,
                "probabilities": None if r.probabilities is None else dict(zip(result.classes, r.probabilities)),
                "error": r.error,
            }
            for r in result.rows
        ],
    }


def _check_out(out: Path) -> None:
    if out.is_dir():
        raise ValueError(f"--out {out}: is a folder; give the CSV file to write (e.g. {out / DEFAULT_OUT})")
    if out.parent.exists() and not out.parent.is_dir():
        raise ValueError(f"--out {out}: {out.parent} is a file, not a folder")


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
