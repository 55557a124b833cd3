"""`hipool explain` end to end on small runs (train, compare, demo), and its errors."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from hipool.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from .conftest import SPEC


def _explain(capsys, *args):
    code = main(["explain", *map(str, args), "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_explain_one_graph_writes_pictures_and_exports(train_run, cache, tmp_path, capsys):
    out = tmp_path / "g5"
    code, printed, err = _explain(capsys, train_run, "--graph", 5, "--out", out, "--cache-dir", cache)
    assert code == 0, err
    for name in ("original.png", "levels.png", "coarsened.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    h = json.loads((out / "hierarchy.json").read_text())
    assert h["format"] == "hipool-hierarchy/1" and h["graph"] == 5 and len(h["levels"]) == 4
    assert h["truth_levels"] == ["block", "subsystem"] and h["poolers"] == ["edgepool"] * 3
    assert h["group"] in ("pass", "component", "block", "subsystem")
    assert [p.name for p in sorted(out.glob("*.graphml"))] == [
        "graph.graphml",
        "level1.graphml",
        "level2.graphml",
        "level3.graphml",
    ]
    m = json.loads((out / "metrics.json").read_text())
    assert [r["level"] for r in m["levels"]] == [1, 2, 3] and set(m["levels"][0]["recovery"]) == {"block", "subsystem"}
    assert [row["graph"] for row in m["decided"]["graphs"]] == [5]
    assert "graph 5: nodes per level" in printed
    assert not list(out.rglob("*.tmp"))


def test_explain_metrics_over_the_test_graphs(train_run, cache, tmp_path, capsys):
    code, printed, err = _explain(capsys, train_run, "--metrics", "--out", tmp_path / "m", "--cache-dir", cache)
    assert code == 0, err
    result = json.loads((tmp_path / "m" / "metrics.json").read_text())
    split = json.loads((train_run / "split.json").read_text())["splits"][0]
    assert result["graphs"] == len(split["test"]) == len(result["per_graph"])
    assert [g["graph"] for g in result["per_graph"]] == split["test"]
    assert [lv["level"] for lv in result["levels"]] == [1, 2, 3]
    assert all(lv["represented"] == 1.0 for lv in result["levels"])  # edge contraction drops nothing
    table = result["decided"]["table"]["ablation"]
    assert list(table) == ["pass", "component", "block", "subsystem"]
    assert sum(map(sum, table.values())) == len(split["test"])
    md = (tmp_path / "m" / "metrics.md").read_text()
    assert "| level | nodes | represented | balance | connected | NMI block |" in md
    assert "| true defect level | level 1 | level 2 | level 3 | graphs |" in md
    assert "NMI block" in printed


def test_explain_a_compare_run_picks_a_pooling_model_and_fold(compare_run, cache, tmp_path, capsys):
    ckpts = sorted(p.relative_to(compare_run).as_posix() for p in compare_run.glob("units/*/fold*/*.pt"))
    assert len(ckpts) == 4 and all("/final-c00-r0.pt" in c for c in ckpts)
    code, printed, err = _explain(
        capsys, compare_run, "--metrics", "--fold", 1, "--out", tmp_path / "c", "--cache-dir", cache
    )
    assert code == 0, err
    result = json.loads((tmp_path / "c" / "metrics.json").read_text())
    folds = json.loads((compare_run / "folds.json").read_text())["splits"]
    assert result["model"] == "edgepool" and result["fold"] == 1
    assert [g["graph"] for g in result["per_graph"]] == folds[1]["test"]
    code, printed, err = _explain(
        capsys, compare_run, "--model", "global", "--graph", 0, "--out", tmp_path / "g", "--cache-dir", cache
    )
    assert code == 0, err  # a global model: the input graph, no levels
    assert (tmp_path / "g" / "original.png").is_file() and not (tmp_path / "g" / "levels.png").exists()
    code, _, err = _explain(capsys, compare_run, "--model", "sag", "--cache-dir", cache)
    assert code == 2 and "--model 'sag': the compare run" in err and "edgepool, global" in err


def test_graph_index_out_of_range(train_run, cache, capsys):
    code, _, err = _explain(capsys, train_run, "--graph", 40, "--cache-dir", cache)
    assert code == 2
    assert f"--graph 40: out of range; dataset {SPEC} has 40 graphs (0..39)" in err
    code, _, err = _explain(capsys, train_run, "--graph", -1, "--cache-dir", cache)
    assert code == 2 and "--graph -1: out of range" in err


def test_run_folder_without_checkpoint(train_run, tmp_path, capsys):
    copy = tmp_path / "unfinished"
    shutil.copytree(train_run, copy)
    (copy / "checkpoint.pt").unlink()
    code, _, err = _explain(capsys, copy, "--graph", 0)
    assert code == 2 and f"run folder {copy}: no checkpoint.pt: the training has not finished" in err
    code, _, err = _explain(capsys, tmp_path / "nowhere")
    assert code == 2 and "no such folder" in err
    (tmp_path / "empty").mkdir()
    code, _, err = _explain(capsys, tmp_path / "empty")
    assert code == 2 and "not a hipool run (no run.json)" in err


def test_checkpoint_that_does_not_fit_the_dataset(train_run, cache, capsys):
    code, _, err = _explain(capsys, train_run, "--dataset", "communities:n=8", "--graph", 0)
    assert code == 2
    assert "the model was built for 26 node features, but dataset communities:n=8,seed=0 has" in err
    assert "pass the dataset it was trained on (--dataset)" in err


def test_a_corrupt_checkpoint_is_a_clear_error(train_run, tmp_path, capsys):
    copy = tmp_path / "corrupt"
    shutil.copytree(train_run, copy)
    (copy / "checkpoint.pt").write_bytes(b"not a checkpoint")
    code, _, err = _explain(capsys, copy, "--graph", 0)
    assert code == 2 and f"checkpoint {copy / 'checkpoint.pt'}: cannot read it" in err


def test_demo_folder_is_explainable(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HIPOOL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    assert (
        main(
            ["demo", "--dataset", "communities", "--out", str(out), "--graphs", "24", "--epochs", "1", "--no-progress"]
        )
        == 0
    )
    capsys.readouterr()
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["command"] == "demo" and manifest["data"]["spec"] == "communities:n=24,seed=0"
    assert manifest["files"] == {  # every file, recorded as it was written
        "config": "config.yaml",
        "split": "split.json",
        "summary": "summary.md",
        "summary_json": "summary.json",
        "report": "report.html",
        "models": {
            name: {"checkpoint": f"{name}/checkpoint.pt", "metrics": f"{name}/metrics.csv"}
            for name in ("hierarchical", "given", "global")
        },
    }
    code, printed, err = _explain(capsys, out, "--metrics", "--graph", 3)
    assert code == 0, err
    assert (out / "explain" / "graph3" / "levels.png").is_file()  # --graph and --metrics: graph in a subfolder
    result = json.loads((out / "explain" / "metrics.json").read_text())
    assert set(result["levels"][0]["recovery"]) == {"community", "super-community"}
    assert result["levels"][0]["represented"] == 1.0  # edge contraction drops no node
    test = json.loads((out / "split.json").read_text())["splits"][0]["test"]
    assert result["graphs"] == len(test)
    # another command cannot take the demo's folder
    assert main(["train", "--dataset", "communities", "--out", str(out), "--epochs", "1", "--no-progress"]) == 2
    assert "holds a `hipool demo` run" in capsys.readouterr().err


def test_checkpoints_load_with_weights_only(compare_run):
    for path in compare_run.glob("units/*/fold*/*.pt"):
        payload = torch.load(path, weights_only=True)
        assert payload["format"] == "hipool-checkpoint/1"


def test_pictures_of_a_3000_node_circuit_stay_readable(tmp_path):
    """A circuit of ~2000 components (~3000 nodes with its nets) through EdgePool ×3: the three
    pictures are large, and neither empty nor a solid blob."""
    import matplotlib.image as mpimg

    from hipool.config import ModelConfig
    from hipool.data.circuits import NUM_FEATURES, make_circuit
    from hipool.explain.command import draw
    from hipool.explain.export import explain_graph
    from hipool.nn.models import build_model

    data = make_circuit(3, "block", min_components=1900, max_components=2000).data
    assert data.num_nodes >= 2000
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(
            conv="graphconv", hidden=16, pool="edgepool", schedule=[0.5, 0.5, 0.5], readout="meanmax", combine="sum"
        ),
        NUM_FEATURES,
        2,
    )
    h = explain_graph(model, data, truth_names=["block", "subsystem"])
    paths = draw(h, tmp_path, title=f"a circuit of {data.num_nodes} nodes")
    assert [p.name for p in paths] == ["original.png", "levels.png", "coarsened.png"]
    for p in paths:
        img = mpimg.imread(p)
        ink = float((img[..., :3] < 0.9).any(axis=-1).mean())
        assert img.shape[1] >= 1000, p.name
        assert 0.02 < ink < 0.6, (p.name, ink)
