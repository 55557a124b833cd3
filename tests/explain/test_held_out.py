"""Held-out bad inputs of ``hipool.explain`` and the run folders it reads (issue 17, second round)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from torch_geometric.data import Data

from hipool import ModelConfig
from hipool.explain import decisions, explain_graph, hierarchy_metrics, recovery, summarize_metrics, write_graphml
from hipool.explain.run import open_run
from hipool.nn import TopKPooling, build_model
from hipool.report import markdown_to_html

pytest.importorskip("sklearn")

G = Data(
    x=torch.randn(5, 3),
    edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]),
    y=torch.tensor([1]),
    level_labels=torch.tensor([[0], [0], [1], [1], [1]]),
)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(pool="topk", hidden=8, combine="sum"), 3, 2)


def test_explain_functions_name_their_arguments(model, tmp_path):
    cases = [
        (
            lambda: explain_graph(model, [G]),
            r"^explain_graph: 'data' must be one graph \(a torch_geometric Data\), "
            r"got list$",
        ),
        (lambda: explain_graph(TopKPooling(3), G), r"^explain_graph: 'model' must be a hipool graph classifier"),
        (
            lambda: explain_graph(model, G, poolers=5),
            r"^explain_graph: 'poolers' must be a list of names or None, got 5$",
        ),
        (
            lambda: explain_graph(
                model, Data(x=G.x, edge_index=G.edge_index, level_labels=torch.zeros(2, 1, dtype=torch.long))
            ),
            r"^explain_graph: the graph's 'level_labels' must be an integer tensor \[N=5, L\], got torch.int64 \(2, 1\)$",
        ),
        (lambda: recovery([0, 0, 1], [0, 1, 1]), r"^recovery: 'cluster' must be a 1-D integer tensor .*got list$"),
        (
            lambda: recovery(torch.tensor([0, 0, 1]), torch.tensor([0, 1])),
            r"^recovery: 'cluster' has 3 nodes but 'truth' has 2$",
        ),
        (lambda: recovery(torch.tensor([0, 1]), torch.tensor([0, 1]), seed=-1), r"^recovery: 'seed' must be an int"),
        (lambda: hierarchy_metrics(None), r"^hierarchy_metrics: 'h' must be a GraphHierarchy"),
        (lambda: summarize_metrics([[{}]]), r"^summarize_metrics: 'per_graph' must be a list of hierarchy_metrics"),
        (lambda: write_graphml(None, tmp_path), r"^write_graphml: 'h' must be a GraphHierarchy"),
        (
            lambda: decisions(model, [G, G], indices=[0]),
            r"^which level decided: 'indices' must be one int .* per "
            r"graph \(2\), got \[0\]$",
        ),
        (
            lambda: decisions(model, [G], batch_size=0),
            r"^which level decided: 'batch_size' must be an int >= 1, got 0$",
        ),
        (lambda: decisions(model, None), r"^which level decided: 'graphs' must be a list \(or dataset\) of graphs"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
    from hipool.data.base import Breakdown

    with pytest.raises(
        ValueError,
        match=r"^which level decided: graph 7 has no attribute 'kind' \(the breakdown's "
        r"groups\)$",
    ):
        decisions(model, [G], indices=[7], breakdown=Breakdown("kind", ("a", "b")))
    h = explain_graph(model, G)
    for bad in ("1", 1.5, None):
        with pytest.raises(ValueError, match=r"^GraphHierarchy: level must be an int in \[0, 2\], got"):
            h.cluster(bad)


def test_markdown_of_separator_lines_only():
    """report's summary.md reader took rows[0] of a table with no rows (IndexError, a traceback)."""
    assert markdown_to_html("|---|---|\n\n# t\n") == "<h3>t</h3>"


@pytest.fixture
def copies(train_run, compare_run, tmp_path):
    ignore = shutil.ignore_patterns("report*", "explain")
    shutil.copytree(train_run, tmp_path / "train", ignore=ignore)
    shutil.copytree(compare_run, tmp_path / "compare", ignore=ignore)
    return tmp_path / "train", tmp_path / "compare"


def test_a_checkpoint_of_another_model_is_named(copies, cache):
    """A checkpoint copied in from another run of the same data was explained as this run's model."""
    train, cmp = copies
    other = cmp / "units" / "global" / "fold00" / "final-c00-r0.pt"
    shutil.copyfile(other, train / "checkpoint.pt")
    with pytest.raises(
        ValueError,
        match=rf"^checkpoint {train / 'checkpoint.pt'}: holds another model than the one "
        rf"its run folder's run.json records \(conv: 'graphconv' in run.json, 'gcn' "
        rf"in the checkpoint\); it was replaced or copied from another run$",
    ):
        open_run(train, cache_dir=str(cache))
    pooled = sorted((cmp / "units").glob("edgepool/fold00/final-c*-r0.pt"))[0]
    shutil.copyfile(other, pooled)
    with pytest.raises(ValueError, match=r"holds another model than the one its run folder's run.json records"):
        open_run(cmp, cache_dir=str(cache))
    manifest = json.loads((cmp / "run.json").read_text())
    (cmp / "run.json").write_text(json.dumps({**manifest, "models": {}}))
    with pytest.raises(
        ValueError,
        match=rf"^run folder {cmp}: its run.json records no models \(\"models\" is empty "
        r"or missing\)",
    ):
        open_run(cmp, cache_dir=str(cache))


def test_explain_and_report_leave_the_users_files_alone(tmp_path):
    """`explain --out DIR` wrote original.png, metrics.json, ... into any folder, `report --out FILE`
    replaced any file: both now refuse before reading the run."""
    from hipool.explain.command import run_explain
    from hipool.report import write_report

    mine = tmp_path / "pictures"
    mine.mkdir()
    (mine / "original.png").write_bytes(b"my picture")
    (mine / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(
        ValueError,
        match=rf"^--out {mine}: the folder holds files that hipool did not write "
        r"\(holiday.jpg\); choose another --out \(nothing was written\)$",
    ):
        run_explain(tmp_path / "no-run", out=mine)
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(
        ValueError,
        match=rf"^--out {notes}: the file exists and is not a report hipool wrote; "
        r"choose another --out \(nothing was written\)$",
    ):
        write_report(tmp_path / "no-run", out=notes)
    assert (mine / "original.png").read_bytes() == b"my picture" and notes.read_text() == "mine"


def test_a_unit_record_of_another_training_run_is_named(copies, cache):
    """A unit file copied over another (another model, fold or config) was summarised as that unit."""
    import yaml

    from hipool.compare import CompareSettings, Comparison, Unit
    from hipool.data.registry import load_dataset
    from hipool.train.settings import TrainSettings

    _, cmp = copies
    manifest = json.loads((cmp / "run.json").read_text())
    model = next(m for m in manifest["models"] if m != "global")
    target = cmp / "units" / model / "fold01" / "final-c00-r0.json"
    shutil.copyfile(cmp / "units" / model / "fold00" / "final-c00-r0.json", target)
    cfg = cmp.parent / f"{model}.yaml"
    cfg.write_text(yaml.safe_dump(manifest["models"][model]["config"]))
    spec = "circuits:n=40,min=50,max=70"
    plan = Comparison(
        CompareSettings(
            dataset=spec,
            models=[str(cfg), "global"],
            out=cmp,
            folds=2,
            repeats=1,
            train=TrainSettings(epochs=1),
            cache_dir=str(cache),
            progress=False,
        ),
        load_dataset(spec, cache_dir=str(cache)),
        log=lambda *_: None,
    )
    with pytest.raises(
        ValueError,
        match=rf"^{target}: a training run record of another run \(fold 0 there, 1 here\); "
        r"delete it to run that training run again$",
    ):
        plan.done(Unit(model, 1, "final", 0, 0))
