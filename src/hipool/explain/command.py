"""``hipool explain``: pictures, export and metrics of the hierarchy a trained model builds.

``hipool explain RUN --graph I --out DIR`` writes, for graph ``I`` of the run's dataset::

    DIR/original.png     the input graph (laid out by its known structure when it has one)
    DIR/levels.png       one panel per level: every input node coloured by its pooled node,
                         dropped nodes grey
    DIR/coarsened.png    each level's coarsened graph, every pooled node at the centre of its members
    DIR/hierarchy.json   the export (hipool-hierarchy/1; see hipool.explain.export)
    DIR/graph.graphml, DIR/level<l>.graphml   the same for Gephi / Cytoscape / yEd
    DIR/metrics.json     that graph's metrics and which level decided

``hipool explain RUN --metrics`` computes the metrics over the run's test graphs
(``--split all``: every graph) and writes ``DIR/metrics.json`` and ``DIR/metrics.md``:
recovery of the known hierarchy (NMI, ARI), balance, connectedness and coverage
per level, and which level decided, with the dataset's groups (circuits: the true
defect level) × deciding level.

``hipool explain RUN --suspects`` (a model trained with ``localize``) lists the most
suspicious components, blocks and subsystems of one failing design (``--graph``, default
as above) and measures the top-1/top-5 component and top-1 block hit rates over the run's
failing test designs (:mod:`hipool.explain.localize`): ``DIR/suspects.json``,
``DIR/suspects.md``.

An existing ``--out`` folder that holds other files than these is refused (nothing is written).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from torch_geometric.data import Data

from ..io import atomic_write_text, is_temp_name, json_text, remove_stale_temps
from .export import GraphHierarchy, explain_graph, write_graphml
from .run import OpenedRun, check_graph_index, open_run

SPLITS = ("test", "all")

#: The names ``hipool explain`` (and ``hipool report``, in its pictures folder) write into an output folder.
OUTPUT_NAMES = re.compile(
    r"(original|levels|coarsened|learning_curves|accuracy)\.png|hierarchy\.json|graph\.graphml"
    r"|level\d+\.graphml|(metrics|suspects)\.(json|md)|graph\d+"
)


def check_output_folder(folder: Path, flag: str = "--out") -> None:
    """Refuse a ``folder`` the user named that exists and holds files ``hipool explain``/``report`` do not
    write (their pictures, exports and metrics would replace files of the same names); writes nothing."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{flag} {folder}: is a file, not a folder")
    if not folder.is_dir():
        return
    stray = sorted(p.name for p in folder.iterdir() if not OUTPUT_NAMES.fullmatch(p.name) and not is_temp_name(p.name))
    if stray:
        raise ValueError(
            f"{flag} {folder}: the folder holds files that hipool did not write "
            f"({', '.join(stray[:3])}{', ...' if len(stray) > 3 else ''}); choose another {flag} "
            f"(nothing was written)"
        )


def graph_hierarchy(run: OpenedRun, index: int) -> GraphHierarchy:
    """:func:`~hipool.explain.export.explain_graph` for graph ``index`` of the run's dataset."""
    ds = run.dataset
    index = check_graph_index(index, ds)
    data: Data = ds[index]
    return explain_graph(
        run.model,
        data,
        graph=index,
        truth_names=ds.level_names,
        class_names=ds.class_names,
        group=ds.breakdown.of(data) if ds.breakdown is not None else None,
    )


def default_graph(run: OpenedRun) -> int:
    """The graph to explain when none is named: the first test graph not of class 0 (for
    circuits: a failing one), else the first test graph, else graph 0."""
    candidates = run.test or list(range(len(run.dataset)))
    for i in candidates:
        y = getattr(run.dataset[i], "y", None)
        if y is not None and not y.is_floating_point() and int(y.view(-1)[0]) != 0:
            return i
    return candidates[0]


def _title(h: GraphHierarchy, run: OpenedRun) -> str:
    names = h.class_names or []

    def cls(v):
        return names[v] if v is not None and 0 <= v < len(names) else str(v)

    group = f" ({h.group})" if h.group and h.group != cls(h.label) else ""
    return (
        f"{run.dataset.name.split(':')[0]} graph {h.graph}: class {cls(h.label)}{group}, predicted "
        f"{cls(h.prediction)} (p={max(h.probabilities or [0]):.2f})\n"
        f"{run.model_name}: {' → '.join(str(n) for n in h.num_nodes)} nodes"
    )


def draw(
    h: GraphHierarchy,
    out: Path,
    *,
    title: str = "",
    layout: str = "auto",
    seed: int = 0,
    highlight=None,
    highlight_label: str = "highlighted",
) -> List[Path]:
    """The three pictures of one graph's hierarchy (see the module docstring); ``highlight``: a
    bool mask of input nodes ringed in red in the first two (a circuit's defect)."""
    from .plot import layout_positions, plot_coarsened, plot_graph, plot_hierarchy

    ei, n = h.edge_index[0], h.num_nodes[0]
    groups = h.truth if h.truth is not None and bool((h.truth >= 0).any()) else None
    pos = layout_positions(ei, n, groups=groups, method=layout, seed=seed)
    note = f"coloured by {h.truth_name(0)}" if groups is not None else None
    ring = dict(highlight=highlight, highlight_label=highlight_label)
    paths = [
        plot_graph(ei, out / "original.png", num_nodes=n, positions=pos, groups=groups, title=title, note=note, **ring)
    ]
    if h.num_levels:
        clusters = h.clusters()
        gt = groups[:, 0] if groups is not None else None
        dropped = "; grey = dropped" if any(bool((c < 0).any()) for c in clusters) else ""
        paths.append(
            plot_hierarchy(
                ei,
                clusters,
                out / "levels.png",
                num_nodes=n,
                positions=pos,
                ground_truth=gt,
                title=f"{title}\ncoloured by pooled node{dropped}",
                **ring,
            )
        )
        paths.append(
            plot_coarsened(
                ei,
                clusters,
                h.edge_index[1:],
                out / "coarsened.png",
                num_nodes=n,
                pooled_sizes=h.num_nodes[1:],
                pooled_weights=h.edge_weight[1:],
                positions=pos,
                title=title + "\ncoarsened graph of every level",
            )
        )
    return paths


def explain_one(
    run: OpenedRun, index: int, out: Path, *, layout: str = "auto", dropped: str = "ignore", pictures: bool = True
) -> Dict[str, Any]:
    """Everything ``hipool explain --graph`` writes for one graph; returns its metrics record."""
    from .metrics import hierarchy_metrics

    out = Path(out)
    remove_stale_temps(out, recursive=False, legacy=False)  # what an interrupted explain left
    h = graph_hierarchy(run, index)
    h.write_json(out / "hierarchy.json")
    record: Dict[str, Any] = {
        "graph": index,
        "label": h.label,
        "prediction": h.prediction,
        "probabilities": h.probabilities,
        "group": h.group,
        "nodes": h.num_nodes,
        "poolers": h.poolers,
    }
    try:
        write_graphml(h, out)
    except ImportError as e:
        record["graphml"] = f"not written: {e}"
    try:
        record["levels"] = hierarchy_metrics(h, dropped=dropped)
    except ImportError as e:  # scikit-learn missing
        record["levels"] = f"not computed: {e}"
    record["decided"] = _decision_or_reason(run, [index])
    if pictures:
        # a circuit's defect: the parts and nets it touches, ringed in the pictures
        mask = getattr(run.dataset[index], "defect_mask", None)
        ring = (
            {"highlight": mask, "highlight_label": "the defect's parts and nets"}
            if mask is not None and bool(mask.any())
            else {}
        )
        try:
            record["pictures"] = [p.name for p in draw(h, out, title=_title(h, run), layout=layout, **ring)]
        except ImportError as e:
            record["pictures"] = f"not drawn: {e}"
    atomic_write_text(out / "metrics.json", json_text(record))
    return record


def _decision_or_reason(run: OpenedRun, indices: List[int], progress: bool = False):
    from .decide import decisions

    ds = run.dataset
    try:
        return decisions(
            run.model, [ds[i] for i in indices], indices=indices, breakdown=ds.breakdown, progress=progress
        )
    except ValueError as e:
        return f"not computed: {e}"


def dataset_metrics(
    run: OpenedRun, indices: List[int], *, dropped: str = "ignore", progress: bool = False
) -> Dict[str, Any]:
    """The metrics of every pooled level, summarised over ``indices``, and which level decided."""
    from .metrics import hierarchy_metrics, summarize_metrics

    per_graph = []
    it = indices
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(indices, desc="hierarchy metrics", unit="graph", leave=False)
    for i in it:
        per_graph.append(hierarchy_metrics(graph_hierarchy(run, i), dropped=dropped))
    ds, config = run.dataset, run.model.config
    return {
        "run": str(run.folder),
        "model": run.model_name,
        "fold": run.fold,
        "dataset": ds.name,
        "group_attr": ds.breakdown.attr if ds.breakdown is not None else None,
        "graphs": len(indices),
        "dropped": dropped,
        "poolers": [] if config.is_global else list(config.poolers),
        "levels": summarize_metrics(per_graph),
        "per_graph": [{"graph": i, "levels": rows} for i, rows in zip(indices, per_graph)],
        "decided": _decision_or_reason(run, indices, progress),
    }


def metrics_markdown(result: Dict[str, Any], title: str = "Hierarchy metrics") -> str:
    """``metrics.md``: the two tables of a :func:`dataset_metrics` result, under ``# {title}: ...``."""
    from .decide import decision_tables
    from .metrics import metrics_table

    text = (
        f"# {title}: {result['model']} on {result['dataset']}\n\n"
        f"{result['graphs']} graphs; poolers {', '.join(result['poolers']) or 'none'}; "
        f"dropped nodes: {result['dropped']}; mean ± std over graphs.\n\n"
    )
    if result["levels"]:
        text += "## Per level\n\n" + metrics_table(result["levels"]) + "\n"
    else:
        text += "The model does not pool: no levels to measure.\n\n"
    decided = result["decided"]
    text += "## Which level decided\n\n"
    if isinstance(decided, dict):
        title = "true defect level" if result.get("group_attr") == "defect_level" else "group"
        text += (
            "Contribution of each level's readout to the predicted class's margin "
            "(ablation: margin drop without it; gradient × input).\n\n" + decision_tables(decided, title)
        )
    else:
        text += decided + "\n"
    return text


def _suspects(
    run: OpenedRun, graph: Optional[int], split: str, target: Path, progress: bool, log: Callable[[str], None]
) -> Dict[str, Any]:
    """``--suspects``: one design's suspects and the hit rates over ``split``; writes suspects.json/.md."""
    from .localize import hit_rates, hit_rates_markdown, suspects

    index = default_graph(run) if graph is None else graph
    one = suspects(run.model, run.dataset, index)
    lines = [f"graph {index}: most suspicious"]
    for key, rows in one.items():
        if key == "graph" or not rows:
            continue
        cells = []
        for r in rows:
            name = r["name"] if "name" in r else f"{key} {r['group']}"
            cells.append(f"{name} {r['score']:.2f}" + (" *" if r["defect"] else ""))
        lines.append(f"  {key}: " + ", ".join(cells))
    log("\n".join(lines) + "\n  (* holds a node of the defect)")
    rates = hit_rates(run.model, run.dataset, run.graphs(split), progress=progress)
    text = hit_rates_markdown(rates, f"Where is the defect: {run.model_name} on {run.dataset.name}")
    result = {"graph": one, **rates}
    remove_stale_temps(target, recursive=False, legacy=False)
    atomic_write_text(target / "suspects.json", json_text(result))
    atomic_write_text(target / "suspects.md", text)
    log(text)
    log(f"explain: wrote {target}/suspects.json, suspects.md")
    return result


def run_explain(
    folder,
    *,
    graph: Optional[int] = None,
    out=None,
    metrics: bool = False,
    model: Optional[str] = None,
    fold: Optional[int] = None,
    dataset: Optional[str] = None,
    data_root: Optional[str] = None,
    cache_dir: Optional[str] = None,
    split: str = "test",
    dropped: str = "ignore",
    layout: str = "auto",
    progress: bool = True,
    suspects: bool = False,
    log: Callable[[str], None] = print,
) -> Dict[str, Any]:
    """``hipool explain`` (see the module docstring); returns what it wrote."""
    if split not in SPLITS:
        raise ValueError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if out is not None:  # a folder of the user's: only one that holds what explain writes, or nothing
        check_output_folder(Path(out))
    run = open_run(
        folder, model=model, fold=fold, dataset=dataset, data_root=data_root, cache_dir=cache_dir, progress=progress
    )
    if graph is not None:
        check_graph_index(graph, run.dataset)
    log(f"explain: {run.describe()}, dataset {run.dataset.name} ({len(run.dataset)} graphs)")
    done: Dict[str, Any] = {}
    if suspects:
        done["suspects"] = _suspects(
            run, graph, split, Path(out) if out is not None else Path(folder) / "explain", progress, log
        )
        if graph is None and not metrics:
            return done
    if graph is not None or not metrics:
        index = default_graph(run) if graph is None else graph
        base = Path(out) if out is not None else Path(folder) / "explain"
        target = base / f"graph{index}" if (out is None or metrics) else base
        record = explain_one(run, index, target, layout=layout, dropped=dropped)
        pics = record.get("pictures")
        log(
            f"graph {index}: nodes per level {' → '.join(map(str, record['nodes']))}; "
            f"label {record['label']}, predicted {record['prediction']}; wrote {target}/"
            + (", ".join(pics) if isinstance(pics, list) else "")
            + ", hierarchy.json, metrics.json"
        )
        done["graph"] = {"index": index, "folder": str(target), **record}
    if metrics:
        indices = run.graphs(split)
        if split == "test" and not run.test:
            log("explain: the run records no test graphs; measuring every graph")
        result = dataset_metrics(run, indices, dropped=dropped, progress=progress)
        target = Path(out) if out is not None else Path(folder) / "explain"
        remove_stale_temps(target, recursive=False, legacy=False)
        atomic_write_text(target / "metrics.json", json_text(result))
        text = metrics_markdown(result)
        atomic_write_text(target / "metrics.md", text)
        log(text)
        log(f"explain: wrote {target}/metrics.json, metrics.md")
        done["metrics"] = result
    return done
