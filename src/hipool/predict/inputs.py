"""The inputs of ``hipool predict``: each of ``FILES`` (a netlist file, a folder of netlist files,
a dataset spec) read into graphs cut to what the model reads (:func:`read_inputs`,
:func:`check_graph`), with an error on the row of a file or graph that cannot be read or taken."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from ..data.base import LEVEL_LABELS, columns
from ..io import clip, shown
from .records import Predictor, Row


def _expand(item: str) -> List[Tuple[str, str]]:
    """``(kind, name)`` entries of one of ``FILES``: ``("netlist", path)`` for a netlist file (or
    each of a folder's), ``("missing", path)``/``("unknown", path)`` for a file hipool cannot read
    as either, ``("spec", item)`` for a dataset spec."""
    from ..data.netlists.dataset import is_netlist

    path = Path(item)
    try:
        return _kind(item, path, is_netlist)
    except OSError:  # a name the file system refuses (too long, ...): load_dataset says why
        return [("spec", item)]


def _kind(item: str, path: Path, is_netlist) -> List[Tuple[str, str]]:
    if is_netlist(path) and not path.is_dir():  # a folder named like a netlist holds netlists
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
    from ..data.netlists.dataset import READERS

    return ", ".join(READERS)


def _netlist_graph(path: str, predictor: Predictor) -> Data:
    """The graph of netlist file ``path`` with ``level_labels`` as wide as the model reads (see
    :mod:`hipool.predict`); a ``ValueError`` naming the file for a file it cannot be."""
    from ..data.netlists.dataset import netlist_depth, netlist_to_data, read_netlist

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
    from ..data.netlists.dataset import is_netlist
    from ..data.registry import load_dataset

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
        from ..io import describe_os_error

        text = describe_os_error(e)
    else:
        text = str(e) or type(e).__name__
    text = clip(text, 1000)
    return text if name in text else f"{name}: {text}"
