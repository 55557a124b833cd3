"""hipool advise on the command line: MUTAG end to end, --json, --write-config, a tiny --check, the
interval over folds, and the errors."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from hipool.advise.check import T_975, fold_differences, interval, t_quantile, verdict, write_models
from hipool.cli import main
from hipool.config import ModelConfig
from tests.conftest import SHARED

pytest.importorskip("networkx")
MUTAG = SHARED / "TU" / "MUTAG" / "raw"


def test_mutag_end_to_end(tmp_path, capsys):
    if not MUTAG.is_dir():
        pytest.skip("shared MUTAG missing")
    out_json, out_yaml = tmp_path / "advice.json", tmp_path / "model.yaml"
    args = ["advise", "MUTAG", "--data-root", str(SHARED / "TU"), "--cache-dir", str(tmp_path / "cache")]
    args += ["--no-progress", "--sample", "60", "--json", str(out_json), "--write-config", str(out_yaml)]
    assert main(args) == 0
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert first.startswith("MUTAG: GLOBAL pooling (clear): gine-global")  # small graphs, no structure beyond chance
    assert text.index("reasons:") < text.index("measurements (60 of 188 graphs, stratified by class, seed 0):")
    assert "under 50: small graphs" in text and "2 classes: -1: 63, 1: 125" in text
    record = json.loads(out_json.read_text())
    assert record["format"] == "hipool-advise/1" and record["check"] is None
    m, rec = record["measurements"], record["recommendation"]
    assert m["graphs"] == 188 and m["sampled"] == 60 and len(m["per_graph"]) == 60
    assert m["edge_features"] == 4 and m["known"]["columns"] == 0
    assert 10 <= m["nodes"]["median"] <= 28 and m["excess_modularity"]["median"] < 0.15
    assert rec["decision"] == "global" and rec["hierarchical"]["name"] == "gine-edgepool"
    assert set(rec["thresholds"]) >= {"SMALL_NODES", "LARGE_NODES", "AUTO_SPREAD"}
    config = ModelConfig.from_yaml(out_yaml)  # ready for hipool train / compare
    assert config.is_global and config.conv == "gine" and config.levels_read == "all"
    # the same seed gives the same advice; the sample is seeded
    assert main(args) == 0
    capsys.readouterr()
    assert json.loads(out_json.read_text()) == record


def _jsonl(path, n=20):
    """Rings (class 0) and paths (class 1) of 8 to 14 nodes."""
    lines = []
    for i in range(n):
        k = 8 + (i % 7)
        edges = [[j, j + 1] for j in range(k - 1)] + ([[k - 1, 0]] if i % 2 == 0 else [])
        lines.append(json.dumps({"label": i % 2, "edges": edges}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tiny_check_and_its_interval(tmp_path, capsys):
    data = _jsonl(tmp_path / "rings.jsonl")
    out = tmp_path / "check"
    args = ["advise", str(data), "--no-progress", "--check", "--check-folds", "2", "--check-epochs", "1"]
    args += [
        "--threads",
        "1",
        "--out",
        str(out),
        "--json",
        str(tmp_path / "a.json"),
        "--write-config",
        str(tmp_path / "m.yaml"),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    record = json.loads((tmp_path / "a.json").read_text())
    check = record["check"]
    assert (out / "hierarchical.yaml").is_file() and (out / "global.yaml").is_file()
    assert ModelConfig.from_yaml(out / "global.yaml") == ModelConfig.from_yaml(out / "hierarchical.yaml").global_twin()
    # the interval, from the harness's own fold records
    folds = json.loads((out / "compare" / "summary.json").read_text())["folds"]
    acc = {(r["model"], r["fold"]): r["test_acc"] for r in folds}
    diffs = [acc[("hierarchical", k)] - acc[("global", k)] for k in (0, 1)]
    assert [f["difference"] for f in check["per_fold"]] == pytest.approx(diffs)
    ci = check["difference"]
    half = 12.706 * statistics.stdev(diffs) / math.sqrt(2)
    assert (ci["folds"], ci["df"], ci["t"]) == (2, 1, 12.706)
    assert ci["mean"] == pytest.approx(statistics.fmean(diffs))
    assert (ci["low"], ci["high"]) == (pytest.approx(ci["mean"] - half), pytest.approx(ci["mean"] + half))
    assert check["verdict"] == verdict(record["recommendation"]["decision"], ci)["verdict"]
    assert f"verdict: {check['verdict']}." in text and "95 % CI" in text
    # a re-run resumes: nothing trains again, the same interval
    assert main(args) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "a.json").read_text())["check"]["difference"] == ci


def test_interval_and_t_table():
    assert t_quantile(1) == 12.706 and t_quantile(4) == 2.776 and t_quantile(30) == T_975[-1] == 2.042
    assert t_quantile(40) == pytest.approx(2.021, abs=1e-3) and t_quantile(120) == pytest.approx(1.980, abs=1e-3)
    assert t_quantile(31) < t_quantile(30)
    with pytest.raises(ValueError, match="degrees of freedom must be >= 1, got 0"):
        t_quantile(0)
    ci = interval([0.1, 0.2, 0.3])
    assert ci["mean"] == pytest.approx(0.2) and ci["std"] == pytest.approx(0.1)
    assert ci["low"] == pytest.approx(0.2 - 4.303 * 0.1 / math.sqrt(3)) and ci["df"] == 2
    assert interval([0.5])["low"] is None and interval([])["mean"] is None
    rows = [
        {"model": "hierarchical", "fold": 0, "test_acc": 0.8},
        {"model": "global", "fold": 0, "test_acc": 0.7},
        {"model": "hierarchical", "fold": 1, "test_acc": 0.6},  # global has no fold 1 yet: left out
    ]
    assert fold_differences(rows) == [{"fold": 0, "hierarchical": 0.8, "global": 0.7, "difference": pytest.approx(0.1)}]


@pytest.mark.parametrize(
    "decision,low,high,word",
    [
        ("hierarchical", 0.01, 0.05, "agrees"),
        ("hierarchical", -0.05, -0.01, "disagrees"),
        ("hierarchical", -0.01, 0.05, "inconclusive"),
        ("global", -0.05, -0.01, "agrees"),
        ("global", 0.01, 0.05, "disagrees"),
        ("global", -0.01, 0.01, "inconclusive"),
    ],
)
def test_verdict(decision, low, high, word):
    v = verdict(decision, {"low": low, "high": high})
    assert v["verdict"] == word
    assert ("DISAGREES" in v["text"]) == (word == "disagrees") and ("contains 0" in v["text"]) == (
        word == "inconclusive"
    )


def test_check_folder_with_other_models_is_refused(tmp_path):
    a = ModelConfig(conv="gin", pool="edgepool", schedule=[0.5])
    write_models(tmp_path, a)
    write_models(tmp_path, a)  # the same: fine (a re-run)
    with pytest.raises(ValueError, match="its hierarchical.yaml holds another model than this check's"):
        write_models(tmp_path, ModelConfig(conv="gin", pool="edgepool", schedule=[0.5, 0.5]))


def test_errors(tmp_path, capsys):
    assert main(["advise", "NOPE", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hipool advise: error: unknown dataset 'NOPE'") and "Traceback" not in err
    assert main(["advise", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["advise", "communities", "--sample", "0"])
    assert "argument --sample: must be >= 1, got 0" in capsys.readouterr().err
    assert main(["advise", "communities:n=10", "--json", str(tmp_path), "--no-progress"]) == 2
    assert f"--json {tmp_path}: is a folder; give a file name" in capsys.readouterr().err


def test_one_node_graphs_from_a_file_are_advised_global(tmp_path, capsys):
    data = tmp_path / "one.jsonl"
    data.write_text("".join(json.dumps({"label": i % 2, "edges": [], "num_nodes": 1}) + "\n" for i in range(6)))
    assert main(["advise", str(data), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "GLOBAL pooling (clear)" in text and "Every sampled graph has at most 1 node" in text


def test_check_needs_two_folds(tmp_path, capsys):
    data = _jsonl(tmp_path / "rings.jsonl", n=6)
    assert main(["advise", str(data), "--no-progress", "--check", "--check-folds", "1"]) == 2
    assert "hipool advise: error: --check-folds must be >= 2 (a CV needs two folds), got 1" in capsys.readouterr().err
