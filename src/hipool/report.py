"""``hipool report RUN``: one HTML page about a run.

``RUN/report.html`` (pictures in ``RUN/report/``, referenced relatively, so the
two travel together) holds:

* what ran: the command, dataset, versions;
* the config (YAML);
* learning curves (loss and accuracy per epoch; for a compare, each model's fold-0 run);
* the results: the comparison table of a compare or demo run, the scores of a train run;
* pictures of one graph's hierarchy (as ``hipool explain --graph``);
* the hierarchy metrics over the test graphs and which level decided (as
  ``hipool explain --metrics``).

The page is static HTML with a few lines of script that, once loaded, list any
picture that failed to load (e.g. the page was moved without its folder).  An ``--out``
file that exists must be a report hipool wrote, and its pictures folder hold only
hipool's pictures; anything else is refused before anything is written.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from .checks import is_int, is_number
from .io import atomic_path, atomic_write_text, os_reason, read_json, read_text, remove_stale_temps, shown
from .runs import Manifest, run_manifest

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: .88em; }
img { max-width: 100%; border: 1px solid #eee; margin: .4em 0; }
.note { color: #666; } .broken { background: #fdd; padding: .6em; border: 1px solid #c66; }
"""

_SCRIPT = """
window.addEventListener('load', function () {
  var bad = Array.prototype.filter.call(document.images, function (im) {
    return !(im.complete && im.naturalWidth > 0); });
  document.body.setAttribute('data-images', document.images.length);
  document.body.setAttribute('data-broken-images', bad.length);
  if (bad.length) {
    var div = document.createElement('div'); div.className = 'broken';
    div.textContent = bad.length + ' picture(s) did not load: ' +
      bad.map(function (im) { return im.getAttribute('src'); }).join(', ') +
      ' (keep report.html next to its report/ folder)';
    document.body.insertBefore(div, document.body.firstChild);
  }
});
"""


def markdown_to_html(text: str, shift: int = 2) -> str:
    """The little Markdown hipool writes (headings, pipe tables, lists, paragraphs, `code`) as HTML;
    a heading of ``k`` hashes becomes ``<h{k + shift}>``."""
    out: List[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(set(c) <= set("-: ") for c in cells):
                    rows.append(cells)
                i += 1
            if not rows:  # a table of separator lines only: nothing to show
                continue
            head, body = rows[0], rows[1:]
            out.append(
                "<table><thead><tr>"
                + "".join(f"<th>{_inline(c)}</th>" for c in head)
                + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
                + "</tbody></table>"
            )
            continue
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")) + shift, 6)
            out.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif line:
            para = [line]
            while i + 1 < len(lines) and lines[i + 1].strip() and not lines[i + 1].startswith(("|", "#", "- ")):
                i += 1
                para.append(lines[i].rstrip())
            out.append(f"<p>{_inline(' '.join(para))}</p>")
        i += 1
    return "\n".join(out)


def _inline(text: str) -> str:
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if k % 2 else p for k, p in enumerate(parts))


def plot_learning_curves(curves: Dict[str, List[Dict[str, float]]], path: Path) -> Optional[Path]:
    """Training/validation loss and accuracy per epoch, one line per model; ``None`` without curves."""
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    colours = [f"C{i}" for i in range(10)]
    for k, (name, rows) in enumerate(curves.items()):
        c = colours[k % 10]
        ep = [r["epoch"] for r in rows]
        for ax, key in ((ax_loss, "loss"), (ax_acc, "acc")):
            if all(f"train_{key}" in r for r in rows):
                ax.plot(ep, [r[f"train_{key}"] for r in rows], color=c, ls="--", lw=1.2, label=f"{name} train")
            if all(f"val_{key}" in r for r in rows):
                ax.plot(ep, [r[f"val_{key}"] for r in rows], color=c, lw=1.8, label=f"{name} validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=8, loc="lower right")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    return path


def _config_text(folder: Path, manifest: Manifest) -> str:
    if manifest.files.config and (folder / manifest.files.config).is_file():
        return read_text(folder / manifest.files.config, "config file")
    return yaml.safe_dump(
        {"models": {n: r.config for n, r in manifest.models.items()}, "identity": manifest.identity or None},
        sort_keys=False,
        allow_unicode=True,
    )


def _train_result(path: Path) -> Dict[str, Any]:
    """A train run's ``result.json``, with the types the report prints (a ``ValueError`` naming
    the file otherwise)."""
    r = read_json(path, "result file")
    if not isinstance(r, dict):
        raise ValueError(f"result file {path}: not the record hipool writes (a mapping)")
    for key in ("test_acc", "val_acc", "best_epoch", "epochs_run", "seconds_per_epoch", "parameters"):
        v = r.get(key)
        if v is not None and not is_number(v):
            raise ValueError(f"result file {path}: its {key!r} is {shown(v, 60)}, not a number")
    groups = r.get("test_groups")
    if groups is not None and not (
        isinstance(groups, dict)
        and all(
            isinstance(v, dict) and is_int(v.get("count")) and (v.get("acc") is None or is_number(v.get("acc")))
            for v in groups.values()
        )
    ):
        raise ValueError(f"result file {path}: its 'test_groups' is not a mapping of {{acc, count}} per group")
    return r


def _results_html(folder: Path, manifest: Manifest, assets: Path) -> str:
    files = manifest.files
    if manifest.command in ("compare", "demo") and files.summary and (folder / files.summary).is_file():
        text = markdown_to_html(read_text(folder / files.summary, "summary file"))
        if files.picture and (folder / files.picture).is_file():  # the compare's box plot, next to the others
            with atomic_path(assets / "accuracy.png") as tmp:
                shutil.copyfile(folder / files.picture, tmp)
            text += f'\n<img src="{assets.name}/accuracy.png" alt="fold accuracies per model">'
        return text
    if manifest.command == "train" and files.result and (folder / files.result).is_file():
        r = _train_result(folder / files.result)
        keys = [
            ("test accuracy", "test_acc"),
            ("best validation accuracy", "val_acc"),
            ("best epoch", "best_epoch"),
            ("epochs run", "epochs_run"),
            ("seconds per epoch", "seconds_per_epoch"),
            ("parameters", "parameters"),
        ]
        rows = [(label, r.get(k)) for label, k in keys if r.get(k) is not None]
        body = "".join(
            f"<tr><td>{label}</td><td>{v:.3f}</td></tr>"
            if isinstance(v, float)
            else f"<tr><td>{label}</td><td>{v}</td></tr>"
            for label, v in rows
        )
        groups = r.get("test_groups") or {}
        if groups:
            body += "".join(
                f"<tr><td>test accuracy, {html.escape(g)} (n={v['count']})</td><td>"
                f"{'–' if v['acc'] is None else format(v['acc'], '.3f')}</td></tr>"
                for g, v in groups.items()
            )
        return f"<table><tbody>{body}</tbody></table>"
    return '<p class="note">No results yet: the run has not finished.</p>'


_PAGE_START = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>hipool report:'


def _check_report_target(out: Path) -> None:
    """``--out`` of ``hipool report``: a new file, or a report hipool wrote (replaced), with a pictures
    folder ``<out without .html>/`` that is new or holds hipool's pictures only; anything else is
    refused before anything is written."""
    from .explain.command import check_output_folder

    if out.exists():
        if not out.is_file():
            raise ValueError(f"--out {out}: is not a file")
        try:
            with open(out, "rb") as f:
                start = f.read(len(_PAGE_START.encode()))
        except OSError as e:
            raise ValueError(f"--out {out}: cannot read it ({os_reason(e)})") from None
        if start != _PAGE_START.encode():
            raise ValueError(
                f"--out {out}: the file exists and is not a report hipool wrote; choose another --out "
                f"(nothing was written)"
            )
    check_output_folder(out.parent / out.stem, "--out")


def write_report(
    folder,
    *,
    out=None,
    graph: Optional[int] = None,
    model: Optional[str] = None,
    fold: Optional[int] = None,
    dataset: Optional[str] = None,
    data_root: Optional[str] = None,
    cache_dir: Optional[str] = None,
    metrics: bool = True,
    progress: bool = False,
    log=print,
    opened=None,
) -> Path:
    """Write the report of run ``folder`` (see the module docstring); returns the HTML path.
    ``opened``: the run already opened (:class:`~hipool.explain.run.OpenedRun`), e.g. by the demo."""
    from .explain.command import (
        dataset_metrics,
        default_graph,
        explain_one,
        metrics_markdown,
    )
    from .explain.run import check_graph_index, history, open_run

    folder = Path(folder)
    if out is not None:  # a file of the user's: only a report hipool wrote is replaced
        _check_report_target(Path(out))
    run = opened or open_run(
        folder, model=model, fold=fold, dataset=dataset, data_root=data_root, cache_dir=cache_dir, progress=progress
    )
    manifest = run.manifest or run_manifest(folder)  # the demo's report: read now, with the files it recorded
    out = Path(out) if out is not None else folder / "report.html"
    assets = out.parent / out.stem
    for where, recursive in ((out.parent, False), (assets, True)):  # what an interrupted report left
        remove_stale_temps(where, recursive=recursive, legacy=False)
    rel = assets.name
    index = default_graph(run) if graph is None else check_graph_index(graph, run.dataset)

    sections: List[str] = []
    started = manifest.started or ""
    argv = manifest.argv
    versions = manifest.versions
    sections.append(
        f"<h1>hipool report: {html.escape(folder.name)}</h1>"
        f"<p>A <code>hipool {html.escape(manifest.command)}</code> run on "
        f"<code>{html.escape(run.dataset.name)}</code> ({len(run.dataset)} graphs), started {html.escape(started)}."
        + (f"<br>Command: <code>{html.escape(' '.join(argv))}</code>" if argv else "")
        + (f"<br>Versions: {html.escape(', '.join(f'{k} {v}' for k, v in versions.items()))}" if versions else "")
        + "</p>"
    )
    sections.append("<h2>Config</h2><pre>" + html.escape(_config_text(folder, manifest)) + "</pre>")

    curves = history(folder, manifest)
    lc = plot_learning_curves(curves, assets / "learning_curves.png")
    sections.append(
        "<h2>Learning curves</h2>"
        + (
            f'<img src="{rel}/learning_curves.png" alt="learning curves">'
            + ('<p class="note">Each model\'s first final run of fold 0.</p>' if manifest.command == "compare" else "")
            if lc
            else '<p class="note">No per-epoch metrics in this run folder.</p>'
        )
    )

    sections.append("<h2>Results</h2>" + _results_html(folder, manifest, assets))

    log(f"report: explaining graph {index} with {run.describe()}")
    record = explain_one(run, index, assets / f"graph{index}")
    pics = record.get("pictures")
    captions = {
        "original.png": "the input graph",
        "levels.png": "every input node coloured by its pooled node at each level (grey: dropped)",
        "coarsened.png": "the coarsened graph of every level, each pooled node at the centre of its members",
    }
    part = (
        f"<h2>Hierarchy of graph {index}</h2><p>Model <code>{html.escape(run.model_name)}</code>; "
        f"nodes per level {' → '.join(map(str, record['nodes']))}; class {record['label']}"
        + (f" ({html.escape(record['group'])})" if record.get("group") else "")
        + f", predicted {record['prediction']}. Export: <code>{rel}/graph{index}/hierarchy.json</code>, "
        f"GraphML next to it.</p>"
    )
    if isinstance(pics, list):
        part += "".join(
            f'<figure><img src="{rel}/graph{index}/{p}" alt="{html.escape(captions.get(p, p))}">'
            f'<figcaption class="note">{html.escape(captions.get(p, p))}</figcaption></figure>'
            for p in pics
        )
    else:
        part += f'<p class="note">{html.escape(str(pics))}</p>'
    sections.append(part)

    if metrics:
        result = dataset_metrics(run, run.graphs(), progress=progress)
        sections.append(markdown_to_html(metrics_markdown(result, title="Metrics"), shift=1))

    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>hipool report: {html.escape(folder.name)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(sections)
        + f"\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )
    atomic_write_text(out, page)
    return out
