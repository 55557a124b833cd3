"""``hipool advise DATASET``: load, measure, recommend, optionally check; print and write the files.

Printed (stdout): the recommendation first (decision, model, pooler, levels, schedule, and the
share of the nodes kept per level for the small, median and largest sampled graph), then the
reasons, then the measurements, then the check when ``--check`` ran.  ``--json FILE`` writes all
of it (:data:`JSON_FORMAT`), ``--write-config FILE`` the recommended model config; both
atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..config import ModelConfig
from ..data.base import GraphDataset
from ..io import atomic_write_text, json_text
from .check import CHECK_EPOCHS, CHECK_FOLDS, CHECK_REPEATS, default_out, run_check
from .rules import recommend
from .summary import DEFAULT_SAMPLE, measure_dataset

#: ``format`` of the ``--json`` file.
JSON_FORMAT = "hipool-advise/1"


def advise(
    dataset: GraphDataset, *, sample: int = DEFAULT_SAMPLE, seed: int = 0, progress: bool = False
) -> Dict[str, Any]:
    """Measurements and recommendation for a loaded dataset (what ``hipool advise`` prints, without the check)."""
    measurements = measure_dataset(dataset, sample=sample, seed=seed, progress=progress)
    return {"format": JSON_FORMAT, "measurements": measurements, "recommendation": recommend(measurements)}


def model_config(recommendation: Dict[str, Any], which: str = "advised") -> ModelConfig:
    """The hierarchical candidate's config (``which="hierarchical"``), or the advised model's
    (``"advised"``: the candidate, or its global twin when the advice is global)."""
    hier = ModelConfig.from_dict(dict(recommendation["hierarchical"]["config"]), source="advised model config")
    if which == "advised" and recommendation["decision"] == "global":
        return hier.global_twin()
    return hier


@dataclass
class AdviseRequest:
    """Everything ``hipool advise`` takes."""

    dataset: str
    data_root: Optional[str] = None
    cache_dir: Optional[str] = None
    sample: int = DEFAULT_SAMPLE
    seed: int = 0
    json: Optional[Path] = None
    write_config: Optional[Path] = None
    check: bool = False
    check_folds: int = CHECK_FOLDS
    check_epochs: int = CHECK_EPOCHS
    check_repeats: int = CHECK_REPEATS
    out: Optional[Path] = None
    device: str = "cpu"
    threads: Optional[int] = None
    jobs: int = 1
    progress: bool = True
    argv: Optional[List[str]] = field(default=None)


def run_advise(request: AdviseRequest, write=print) -> Dict[str, Any]:
    """Run the command; returns the record ``--json`` writes."""
    from ..data.registry import load_dataset

    if request.sample < 1:
        raise ValueError(f"--sample must be >= 1, got {request.sample}")
    if request.check and request.check_folds < 2:
        raise ValueError(f"--check-folds must be >= 2 (a CV needs two folds), got {request.check_folds}")
    for flag, path in (("--json", request.json), ("--write-config", request.write_config)):
        if path is None:
            continue
        if Path(path).is_dir():
            raise ValueError(f"{flag} {path}: is a folder; give a file name")
        parent = Path(path).parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise ValueError(f"{flag} {path}: {parent} is not a folder, so the file cannot be written there")
    dataset = load_dataset(request.dataset, request.data_root, cache_dir=request.cache_dir, progress=request.progress)
    record = advise(dataset, sample=request.sample, seed=request.seed, progress=request.progress)
    rec = record["recommendation"]
    write(format_recommendation(rec, record["measurements"]))
    write("")
    write(format_measurements(record["measurements"]))
    record["check"] = None
    if request.write_config is not None:
        Path(request.write_config).parent.mkdir(parents=True, exist_ok=True)
        model_config(rec).to_yaml(request.write_config)
        write(f"\nmodel config: {request.write_config}")
    if request.check:
        out = Path(request.out) if request.out is not None else default_out(dataset.name)
        record["check"] = run_check(
            request.dataset,
            rec["decision"],
            model_config(rec, "hierarchical"),
            out,
            folds=request.check_folds,
            epochs=request.check_epochs,
            repeats=request.check_repeats,
            seed=request.seed,
            data_root=request.data_root,
            cache_dir=request.cache_dir,
            device=request.device,
            threads=request.threads,
            jobs=request.jobs,
            progress=request.progress,
            argv=request.argv,
        )
        write("")
        write(format_check(record["check"], rec))
    if request.json is not None:
        Path(request.json).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(request.json, json_text(record))
        write(f"\nJSON: {request.json}")
    return record


# -- text -------------------------------------------------------------------------------------------
def _n(x: Optional[float], digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}g}"


def _schedule(h: Dict[str, Any]) -> str:
    if h["pool"] == "given":
        return f"given: the data's {h['levels']} level(s)"
    if h["schedule"] == "auto":
        return f"auto ({h['levels']} level(s), each graph halved toward {h['auto_top']} nodes)"
    return str(h["schedule"])


def format_recommendation(rec: Dict[str, Any], m: Dict[str, Any]) -> str:
    """The recommendation and its reasons, as printed."""
    h = rec["hierarchical"]
    if rec["decision"] == "global":
        blocks = model_config(rec).num_blocks
        head = (
            f"{m['dataset']}: GLOBAL pooling ({rec['confidence']}): {rec['model']}, the recipe with no pooling "
            f"({blocks} conv blocks: the global twin of the candidate below)"
        )
        lines = [
            head,
            f"  hierarchical candidate (for --check): {h['name']}, pool {h['pool']}, schedule {_schedule(h)}",
        ]
    else:
        head = f"{m['dataset']}: HIERARCHICAL pooling ({rec['confidence']}): {rec['model']}"
        family = "the data's own groups, not learned" if h["family"] == "given" else h["family"]
        lines = [head, f"  pooler: {h['pool']} ({family}), conv {h['conv']}, schedule {_schedule(h)}"]
    labels: Dict[int, List[str]] = {}
    for label, plan in h["kept"].items():  # one line per graph: a graph may be small, median and largest
        labels.setdefault(plan["index"], []).append(label)
    for index, names in labels.items():
        plan = h["kept"][names[0]]
        if not plan["sizes"]:
            continue
        shares = ", ".join(f"{s:.0%}" for s in plan["shares"])
        sizes = " -> ".join(str(s) for s in [plan["nodes"]] + plan["sizes"])
        lines.append(
            f"  nodes kept per level, {' = '.join(names)} graph (#{index}): {sizes} ({shares}; "
            f"{plan['levels_used']} of {len(plan['sizes'])} level(s) pool it)"
        )
    lines.append("reasons:")
    lines += [f"  - {r['text']}" for r in rec["reasons"] if r["about"] == "decision"]
    lines.append("the hierarchical model:" if rec["decision"] == "hierarchical" else "the hierarchical candidate:")
    lines += [f"  - {r['text']}" for r in rec["reasons"] if r["about"] == "model"]
    return "\n".join(lines)


def format_measurements(m: Dict[str, Any]) -> str:
    """The measurements, as printed."""

    def spread(s: Dict[str, float]) -> str:
        return ", ".join(f"{k} {v:.4g}" for k, v in s.items())

    def med(s: Dict[str, Any]) -> str:
        return f"median {_n(s['median'])}, mean {_n(s['mean'])} ({s['defined']} graph(s))"

    cls = m["classes"]
    lines = [
        f"measurements ({m['sampled']} of {m['graphs']} graphs, {m['sampling']}, seed {m['seed']}):",
        f"  {'classes':<22}{cls['num_classes']} classes"
        + (
            f": {', '.join(f'{k}: {v}' for k, v in cls['counts'].items())} (smallest / largest "
            f"{cls['balance']:.2f}, majority {cls['majority']:.1%})"
            if cls["counts"]
            else ""
        ),
        f"  {'nodes':<22}{spread(m['nodes'])}"
        + (f"; p90 / p10 = {m['size_spread']:.2f}" if m["size_spread"] is not None else ""),
        f"  {'edges (undirected)':<22}{spread(m['edges'])}",
        f"  {'density':<22}{med(m['density'])}",
        f"  {'degree':<22}mean {_n(m['degree_mean']['median'])} (median over graphs); max "
        f"{_n(m['degree_max']['median'])} (median), {m['degree_max']['max']} (largest)",
        f"  {'diameter (>=)':<22}{med(m['diameter'])}; largest {m['diameter']['max']}",
        f"  {'components':<22}{med(m['components'])}",
        f"  {'one-node graphs':<22}{m['one_node_graphs']}; without edges {m['graphs_without_edges']}",
        f"  {'Louvain modularity':<22}{med(m['modularity'])}",
        f"  {'  shuffled (null)':<22}{med(m['null_modularity'])}",
        f"  {'  excess over null':<22}{med(m['excess_modularity'])}",
        f"  {'  communities':<22}{med(m['communities'])}; share of nodes {_n(m['coarse_share']['median'])}",
        f"  {'  edges between them':<22}{med(m['cut_share'])} (kept by one coarsening)",
        f"  {'  second level':<22}{med(m['second_modularity'])} (modularity of the communities' graph)",
    ]
    known = m["known"]
    if known["columns"]:
        lines.append(f"  {'known hierarchy':<22}{known['columns']} level(s) of level_labels")
        for lv in known["levels"]:
            kept = lv["kept_share"]["median"]
            lines.append(
                f"    level {lv['level']} ({lv['name']}): groups in {lv['graphs_with_groups']} of {m['sampled']} "
                f"graphs; median {_n(lv['groups']['median'])} groups of {_n(lv['group_size']['median'])} nodes; "
                f"pooling along it keeps {'–' if kept is None else f'{kept:.0%}'} of the nodes (median)"
            )
    else:
        lines.append(f"  {'known hierarchy':<22}none")
    lines.append(f"  {'features':<22}{m['node_features']} per node, {m['edge_features']} per edge")
    return "\n".join(lines)


def format_check(check: Dict[str, Any], rec: Dict[str, Any]) -> str:
    """The check's result, as printed."""
    acc = check["accuracy"]

    def a(name: str) -> str:
        r = acc.get(name)
        return "–" if r is None else f"{r['mean']:.3f} ± {r['std']:.3f}"

    ci = check["difference"]
    lines = [
        f"check: {check['folds']}-fold stratified CV, at most {check['epochs']} epochs, {check['repeats']} run(s) "
        f"per fold ({check['run_folder']})",
        f"  test accuracy: hierarchical ({rec['hierarchical']['name']}) {a('hierarchical')}, global twin {a('global')}",
    ]
    for f in check["per_fold"]:
        lines.append(f"    fold {f['fold']}: {f['hierarchical']:.3f} - {f['global']:.3f} = {f['difference']:+.3f}")
    if ci["low"] is not None:
        lines.append(
            f"  difference (hierarchical - global) over {ci['folds']} folds: mean {ci['mean']:+.3f}, 95 % CI "
            f"[{ci['low']:+.3f}, {ci['high']:+.3f}] (t = {ci['t']:.3f}, {ci['df']} df)"
        )
    lines.append(f"  verdict: {check['verdict']}. {check['text']}")
    return "\n".join(lines)
