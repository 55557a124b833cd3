"""Run folders that hipool wrote before ``run.json`` recorded their files (``tests/fixtures/runs-v1``,
written by commit ba0c1b7; see its README) open with today's readers: ``hipool.runs.open_run``,
``hipool explain`` and ``hipool report``; and a command that resumes one records its files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hipool.cli import main
from hipool.runs import DataSpec, FoldFiles, ModelFiles, RunFiles, load_manifest, open_run

FIXTURES = Path(__file__).parent / "fixtures" / "runs-v1"
SPEC = "communities:n=24"


def _folds(model, selected):
    return {
        k: FoldFiles(
            c,
            tuple(f"units/{model}/fold{k:02d}/select-c{i:02d}-r0.json" for i in range(2)) if model == "topk" else (),
            (f"units/{model}/fold{k:02d}/final-c{c:02d}-r0.json",),
            (f"units/{model}/fold{k:02d}/final-c{c:02d}-r0.pt",),
        )
        for k, c in enumerate(selected)
    }


#: What their run.json does not say, found by the names each command gave its files.
FILES = {
    "train": RunFiles(
        config="config.yaml",
        split="split.json",
        result="result.json",
        models={"model": ModelFiles("checkpoint.pt", "metrics.csv")},
    ),
    "demo": RunFiles(
        config="config.yaml",
        split="split.json",
        summary="summary.md",
        summary_json="summary.json",
        models={m: ModelFiles(f"{m}/checkpoint.pt", f"{m}/metrics.csv") for m in ("hierarchical", "given", "global")},
    ),
    "compare": RunFiles(
        split="folds.json",
        summary="summary.md",
        summary_json="summary.json",
        summary_csv="summary.csv",
        folds_csv="folds.csv",
        picture="accuracy.png",
        models={"topk": ModelFiles(folds=_folds("topk", [1, 0])), "global": ModelFiles(folds=_folds("global", [0, 0]))},
    ),
}


@pytest.fixture
def copy(tmp_path):
    """A copy of one fixture folder (the readers write into it: explain/, report.html)."""

    def make(name: str) -> Path:
        return Path(shutil.copytree(FIXTURES / name, tmp_path / name))

    return make


def test_the_fixtures_are_old_run_folders():
    for name in FILES:
        record = json.loads((FIXTURES / name / "run.json").read_text())
        assert record["format"] == "hipool-run/1" and record["command"] == name and "files" not in record
    assert sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file()) < 1 << 20


@pytest.mark.parametrize("name", sorted(FILES))
def test_their_files_are_found_by_name(name, copy):
    manifest = load_manifest(copy(name))
    assert manifest.command == name and not manifest.recorded and manifest.files == FILES[name]


def test_open_run_finds_every_model(copy):
    train = copy("train")
    run = open_run(train)
    assert (run.name, run.checkpoint, run.split, run.fold) == (
        "train",
        train / "checkpoint.pt",
        train / "split.json",
        None,
    )
    assert run.config["pool"] == "topk" and run.data == DataSpec(SPEC, None)
    demo = copy("demo")
    assert open_run(demo).checkpoint == demo / "hierarchical" / "checkpoint.pt"
    run = open_run(demo, model="given")
    assert (run.name, run.checkpoint, run.config) == ("given", demo / "given" / "checkpoint.pt", None)
    assert run.data == DataSpec("communities:n=20,seed=0", None)
    cmp = copy("compare")
    run = open_run(cmp)  # the first pooling model, fold 0: there config 1 (hidden 16) was selected
    assert (run.name, run.fold, run.split, run.split_index) == ("topk", 0, cmp / "folds.json", 0)
    assert run.checkpoint == cmp / "units/topk/fold00/final-c01-r0.pt" and run.config["hidden"] == 16
    run = open_run(cmp, model="topk", fold=1)
    assert run.checkpoint == cmp / "units/topk/fold01/final-c00-r0.pt" and run.config["hidden"] == 8
    assert open_run(cmp, model="global", fold=1).checkpoint == cmp / "units/global/fold01/final-c00-r0.pt"
    with pytest.raises(ValueError, match=r"no checkpoint for model 'topk' in fold 2 .* folds there: fold00, fold01;"):
        open_run(cmp, fold=2)


@pytest.mark.parametrize(
    "name,args", [("train", []), ("demo", ["--model", "given"]), ("compare", ["--model", "topk", "--fold", "1"])]
)
def test_explain_and_report_open_them(name, args, copy, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    folder = copy(name)
    assert main(["explain", str(folder), "--metrics", "--no-progress", *args]) == 0, capsys.readouterr().err
    result = json.loads((folder / "explain" / "metrics.json").read_text())
    splits = json.loads((folder / ("folds.json" if name == "compare" else "split.json")).read_text())["splits"]
    assert [g["graph"] for g in result["per_graph"]] == splits[1 if name == "compare" else 0]["test"]
    assert main(["report", str(folder), "--no-progress", "--no-metrics", *args]) == 0, capsys.readouterr().err
    page = (folder / "report.html").read_text()
    assert '<img src="report/learning_curves.png"' in page and "<h2>Results</h2>" in page
    results = page.split("<h2>Results</h2>")[1].split("<h2>")[0]
    expected = {
        "train": ["test accuracy"],
        "demo": ["<td>given</td>"],
        "compare": ["<td>topk</td>", '<img src="report/accuracy.png"'],
    }[name]
    assert all(text in results for text in expected), results


def test_their_learning_curves_are_read(copy):
    from hipool.explain.run import history

    for name, models in (
        ("train", ["model"]),
        ("demo", ["hierarchical", "given", "global"]),
        ("compare", ["topk", "global"]),
    ):
        folder = copy(name)
        curves = history(folder, load_manifest(folder))
        assert list(curves) == models and all(rows and rows[0]["epoch"] == 1 for rows in curves.values())


def test_a_resumed_old_compare_records_its_files_and_trains_nothing(copy, tmp_path):
    from hipool.compare import CompareSettings, compare
    from hipool.train.settings import TrainSettings

    folder = copy("compare")
    grid = tmp_path / "grid.yaml"
    grid.write_text("topk:\n  hidden: [8, 16]\n")
    units = {p: p.stat().st_mtime_ns for p in (folder / "units").rglob("*")}
    summary = compare(
        CompareSettings(
            dataset=SPEC,
            models=["topk", "global"],
            out=folder,
            folds=2,
            repeats=1,
            holdout=0.3,
            grid=grid,
            train=TrainSettings(epochs=2),
            progress=False,
        ),
        log=lambda *_: None,
    )
    assert [r["model"] for r in summary["rows"]] == ["topk", "global"]
    assert {p: p.stat().st_mtime_ns for p in (folder / "units").rglob("*")} == units
    manifest = load_manifest(folder)
    assert manifest.recorded and manifest.files == FILES["compare"]


def test_a_resumed_old_train_run_reports_it(copy):
    from hipool.train.command import TrainRequest, run_train

    folder = copy("train")
    before = (folder / "run.json").read_bytes()
    result = run_train(
        TrainRequest(dataset=SPEC, out=folder, model="topk", train={"epochs": 2}, progress=False), log=lambda *_: None
    )
    assert result == json.loads((folder / "result.json").read_text())
    assert (folder / "run.json").read_bytes() == before and open_run(folder).checkpoint == folder / "checkpoint.pt"
