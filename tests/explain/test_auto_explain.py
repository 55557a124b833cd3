"""A `schedule: auto` model through `hipool train` and `hipool explain --metrics`: the nodes kept per
level follow each graph's own sizes (hipool.nn.auto), and the share represented is reported."""

from __future__ import annotations

import json

import pytest

from hipool.cli import main
from hipool.data.registry import load_dataset
from hipool.nn.auto import auto_plan

from .conftest import SPEC

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

AUTO = """conv: graphconv
hidden: 8
pool: topk
schedule: auto
levels: 3
auto_top: 20
readout: mean
"""


def test_auto_model_trains_and_explains_per_level(tmp_path, cache, capsys):
    cfg = tmp_path / "auto.yaml"
    cfg.write_text(AUTO)
    run = tmp_path / "run"
    args = ["train", str(cfg), "--dataset", SPEC, "--epochs", "1", "--out", str(run), "--cache-dir", str(cache)]
    assert main([*args, "--no-progress"]) == 0, capsys.readouterr().err
    out = tmp_path / "m"
    code = main(["explain", str(run), "--metrics", "--out", str(out), "--cache-dir", str(cache), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    result = json.loads((out / "metrics.json").read_text())
    assert [lv["level"] for lv in result["levels"]] == [1, 2, 3]
    dataset = load_dataset(SPEC, cache_dir=cache)
    assert result["per_graph"]
    for row in result["per_graph"]:
        sizes = [lv["nodes"] for lv in row["levels"]]
        assert sizes == auto_plan(dataset[row["graph"]].num_nodes, 3, 20)
    represented = [lv["represented"] for lv in result["levels"]]
    assert represented == sorted(represented, reverse=True) and represented[-1] < 1.0
