"""Train settings, run config files, named models and hyperparameter grids."""

import pytest

from hipool import ModelConfig
from hipool.grid import PARAMETERS, load_grid
from hipool.nn import build_model
from hipool.presets import (
    check_model_names,
    cluster_counts,
    model_names,
    preset,
    resolve_model,
)
from hipool.train.settings import TrainSettings, load_run_config
from tests.conftest import random_batch


def test_train_settings_defaults_and_errors():
    s = TrainSettings()
    assert (s.epochs, s.patience, s.lr, s.batch_size) == (100, 20, 0.001, 32)
    assert s.updated(lr=0.1, epochs=None).lr == 0.1
    with pytest.raises(ValueError, match="'epochs' must be an int >= 1, got 0"):
        TrainSettings(epochs=0)
    with pytest.raises(ValueError, match="'lr' must be a finite number > 0, got 0"):
        TrainSettings(lr=0)
    with pytest.raises(ValueError, match="'patience' must be an int >= 1 or null"):
        TrainSettings(patience=0)
    assert TrainSettings(patience=None).patience is None
    with pytest.raises(ValueError, match=r"x.yaml \(train\): unknown train setting\(s\) 'epoch'; allowed: epochs"):
        TrainSettings.from_dict({"epoch": 3}, source="x.yaml (train)")


@pytest.mark.parametrize(
    "given, message",
    [
        (dict(lr=float("nan")), "'lr' must be a finite number > 0, got nan"),
        (dict(lr=float("inf")), "'lr' must be a finite number > 0, got inf"),
        (dict(weight_decay=-0.1), "'weight_decay' must be a finite number >= 0, got -0.1"),
        (dict(lr_schedule="cosine"), "'lr_schedule' must be one of none, plateau, step, got 'cosine'"),
        (dict(lr_factor=1.0), r"'lr_factor' must be a finite number in \(0, 1\), got 1.0"),
        (dict(lr_factor=0), r"'lr_factor' must be a finite number in \(0, 1\), got 0"),
        (dict(lr_patience=0), "'lr_patience' must be an int >= 1, got 0"),
        (dict(lr_step=2.5), "'lr_step' must be an int >= 1, got 2.5"),
        (dict(min_lr=-1e-5), "'min_lr' must be a finite number >= 0, got -1e-05"),
        (
            dict(lr_schedule="plateau", min_lr=0.001),
            r"'min_lr' must be below 'lr' \(0.001\) when 'lr_schedule' is "
            r"'plateau', got 0.001",
        ),
        (
            dict(grad_clip=float("nan")),
            r"'grad_clip' must be a finite number > 0, or 0 or null for no clipping, got nan",
        ),
        (dict(grad_clip=-1), r"'grad_clip' must be a finite number > 0, or 0 or null for no clipping, got -1"),
        (dict(grad_clip=True), r"'grad_clip' must be a finite number > 0, or 0 or null for no clipping, got True"),
    ],
)
def test_schedule_and_clipping_settings_errors(given, message):
    with pytest.raises(ValueError, match=f"^train settings: {message}$"):
        TrainSettings(**given)


def test_schedule_and_clipping_settings_defaults_and_record():
    s = TrainSettings()
    assert (s.lr_schedule, s.lr_factor, s.lr_patience, s.lr_step, s.min_lr, s.grad_clip) == (
        "none",
        0.5,
        10,
        50,
        0.0,
        None,
    )
    # what is off is left out of the record, so runs recorded before these settings existed still match
    assert s.to_dict() == {
        "epochs": 100,
        "patience": 20,
        "lr": 0.001,
        "weight_decay": 0.0,
        "batch_size": 32,
        "aux_weight": 1.0,
    }
    assert TrainSettings(grad_clip=0).grad_clip is None and TrainSettings(grad_clip=0).to_dict() == s.to_dict()
    assert TrainSettings(lr_schedule=None).lr_schedule == "none"
    plateau = TrainSettings(lr_schedule="plateau", lr_step=7, grad_clip=2)
    assert {k: v for k, v in plateau.to_dict().items() if k not in s.to_dict()} == {
        "lr_schedule": "plateau",
        "lr_factor": 0.5,
        "lr_patience": 10,
        "min_lr": 0.0,
        "grad_clip": 2.0,
    }
    step = TrainSettings(lr_schedule="step", lr_step=7)
    assert "lr_patience" not in step.to_dict() and step.to_dict()["lr_step"] == 7
    assert TrainSettings.from_dict(step.to_dict()) == step


def test_run_config_schedule_errors_name_the_file(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text("model: {pool: topk}\ntrain: {lr: .nan}\n")
    with pytest.raises(ValueError, match=r"run.yaml:2 \(train\): 'lr' must be a finite number > 0, got nan"):
        load_run_config(f)
    f.write_text("model: {pool: topk}\ntrain: {grad_clip: .nan}\n")
    with pytest.raises(
        ValueError,
        match=r"run.yaml:2 \(train\): 'grad_clip' must be a finite number > 0, or 0 or "
        r"null for no clipping, got nan",
    ):
        load_run_config(f)
    f.write_text("model: {pool: topk}\ntrain: {lr_schedule: plateau, lr_patience: 5, grad_clip: 1.0}\n")
    assert load_run_config(f)[1] == {"lr_schedule": "plateau", "lr_patience": 5, "grad_clip": 1.0}


def test_run_config_sections_and_flat(tmp_path):
    both = tmp_path / "run.yaml"
    both.write_text("model:\n  pool: sag\n  hidden: 16\ntrain:\n  epochs: 7\n  lr: 0.01\n")
    config, train = load_run_config(both)
    assert config.pool == "sag" and config.hidden == 16 and train == {"epochs": 7, "lr": 0.01}
    flat = tmp_path / "flat.yaml"
    flat.write_text("pool: topk\nschedule: [0.5]\n")
    config, train = load_run_config(flat)
    assert config.levels == 1 and train == {}
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {}\ntraining: {epochs: 3}\n")
    with pytest.raises(ValueError, match=r"unknown section\(s\) 'training'"):
        load_run_config(bad)
    bad.write_text("model: {}\ntrain: {epochs: -1}\n")
    with pytest.raises(ValueError, match=r"bad.yaml:2 \(train\): 'epochs' must be an int >= 1"):
        load_run_config(bad)
    bad.write_text("model:\n  conv: gine\n  norm: instance\ntrain:\n  epochs: 3\n")
    with pytest.raises(ValueError, match=r"bad.yaml:3 \(model\): 'norm' must be one of none, batch, layer, graph"):
        load_run_config(bad)
    bad.write_text("model: {pool: [\n")
    with pytest.raises(ValueError, match=r"bad.yaml:\d+: invalid YAML"):
        load_run_config(bad)


def test_every_preset_builds_and_runs():
    batch = random_batch([9, 14, 20], channels=5, edge_dim=2, level_labels=True)
    assert {"gine-edgepool", "gine-given", "gine-global", "gin-topk", "gin-global"} <= set(model_names())
    for name in model_names():
        config = preset(name, mean_nodes=14.3)
        logits = build_model(config, 5, 3, edge_channels=2)(batch)
        assert logits.shape == (3, 3), name
    recipe, twin = preset("gine-given", known_levels=3), preset("gine-global")
    assert recipe.schedule == ["given"] * 3 and recipe.conv == "gine" and recipe.levels_read == "all"
    assert twin.is_global and twin.to_dict() == preset("gine-topk").global_twin().to_dict()
    assert {k: v for k, v in twin.to_dict().items() if k not in ("pool", "schedule", "levels")} == {
        k: v for k, v in recipe.global_twin().to_dict().items() if k not in ("pool", "schedule", "levels")
    }
    assert (
        preset("topk").to_dict()
        == ModelConfig(
            conv="gcn", hidden=64, pool="topk", schedule=[0.5, 0.5], readout="mean", combine="last", head=[]
        ).to_dict()
    )
    assert preset("global").is_global and preset("global").levels == 2
    assert preset("diffpool", 39.06).schedule == [20, 10] == cluster_counts(39.06)
    assert cluster_counts(1.5) == [1, 1]
    # large graphs (a dataset of 215k-node netlists): the counts stop growing at n̄ = 512
    assert preset("gin-mincut", 214719.0).schedule == [256, 128] == cluster_counts(214719.0)
    assert preset("dmon", 509.0).schedule == [255, 128] and preset("dmon", 513.0).schedule == [256, 128]


def test_unknown_model_names_list_what_is_available(tmp_path):
    with pytest.raises(
        ValueError, match=r"unknown model 'sagpool'; did you mean 'sag'\? available: acc, asap, .*global"
    ):
        check_model_names(["topk", "sagpool"])
    with pytest.raises(ValueError, match="unknown model 'xyz'; available:"):
        preset("xyz")
    with pytest.raises(ValueError, match="model config .*nope.yaml: no such file"):
        resolve_model(str(tmp_path / "nope.yaml"))
    f = tmp_path / "mine.yaml"
    f.write_text("pool: sag\nschedule: [0.8]\n")
    assert resolve_model(str(f))[0] == "mine" and resolve_model(str(f))[1].pool == "sag"
    f.write_text("model: {pool: sag}\ntrain: {epochs: 3}\n")
    with pytest.raises(ValueError, match="mine.yaml: has a 'train' section, which a model named by --models"):
        resolve_model(str(f))


def _grid(tmp_path, text, models=("topk", "diffpool", "global")):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return load_grid(path, list(models))


def test_grid_expands_in_file_order_with_model_sections(tmp_path):
    grid = _grid(tmp_path, "hidden: [16, 32]\nlr: [0.01, 0.001]\ndiffpool:\n  schedule: [[8, 2], [4, 2]]\n  lr: 0.1\n")
    train = TrainSettings()
    topk = grid.points("topk", preset("topk"), train, is_global=False)
    assert [p.overrides for p in topk] == [
        {"hidden": 16, "lr": 0.01},
        {"hidden": 16, "lr": 0.001},
        {"hidden": 32, "lr": 0.01},
        {"hidden": 32, "lr": 0.001},
    ]
    assert [(p.config.hidden, p.train.lr) for p in topk] == [(16, 0.01), (16, 0.001), (32, 0.01), (32, 0.001)]
    diff = grid.points("diffpool", preset("diffpool"), train, is_global=False)
    assert [p.overrides for p in diff] == [
        {"hidden": 16, "lr": 0.1, "schedule": [8, 2]},
        {"hidden": 16, "lr": 0.1, "schedule": [4, 2]},
        {"hidden": 32, "lr": 0.1, "schedule": [8, 2]},
        {"hidden": 32, "lr": 0.1, "schedule": [4, 2]},
    ]
    assert [p.index for p in diff] == [0, 1, 2, 3]
    assert load_grid(None, ["topk"]).points("topk", preset("topk"), train, is_global=False)[0].overrides == {}


def test_grid_varies_schedule_and_clipping(tmp_path):
    grid = _grid(tmp_path, "lr_schedule: [none, plateau]\ngrad_clip: [null, 1.0]\ntopk:\n  lr_patience: 5\n")
    points = grid.points("topk", preset("topk"), TrainSettings(), is_global=False)
    assert [(p.train.lr_schedule, p.train.grad_clip, p.train.lr_patience) for p in points] == [
        ("none", None, 5),
        ("none", 1.0, 5),
        ("plateau", None, 5),
        ("plateau", 1.0, 5),
    ]
    grid = _grid(tmp_path, "lr_factor: [0.5, 2.0]\n")
    with pytest.raises(
        ValueError,
        match=r"config \{\"lr_factor\": 2.0\}: 'lr_factor' must be a finite number "
        r"in \(0, 1\), got 2.0",
    ):
        grid.points("topk", preset("topk"), TrainSettings(), is_global=False)
    with pytest.raises(
        ValueError,
        match=r"grid.yaml:1: unknown grid parameter 'lr_scheduler'; did you mean "
        r"'lr_schedule'\?",
    ):
        _grid(tmp_path, "lr_scheduler: [step]\n")


def test_grid_global_ignores_pooler_options_and_dedupes(tmp_path):
    grid = _grid(tmp_path, "pool_options: [{min_score: null}, {multiplier: 2.0}]\nhidden: 8\n")
    points = grid.points("global", preset("global"), TrainSettings(), is_global=True)
    assert [p.overrides for p in points] == [{"hidden": 8}]
    assert len(grid.points("topk", preset("topk"), TrainSettings(), is_global=False)) == 2


def test_grid_errors_name_file_line_and_parameter(tmp_path):
    with pytest.raises(ValueError, match=r"grid.yaml:2: unknown grid parameter 'hiden'; did you mean 'hidden'\?"):
        _grid(tmp_path, "lr: [0.1]\nhiden: [1]\n")
    with pytest.raises(ValueError, match=r"grid.yaml:3: unknown grid parameter 'pool'"):
        _grid(tmp_path, "lr: [0.1]\ntopk:\n  pool: [sag]\n")
    with pytest.raises(ValueError, match=r"grid.yaml:1: unknown grid parameter 'sag'.*\(topk, diffpool, global\)"):
        _grid(tmp_path, "sag: {hidden: [1]}\n")
    with pytest.raises(ValueError, match=r"grid.yaml:1: 'lr' lists no values"):
        _grid(tmp_path, "lr: []\n")
    grid = _grid(tmp_path, "diffpool:\n  schedule: [[0.5, 0.5]]\n")
    with pytest.raises(
        ValueError,
        match=r"grid.yaml:2: model 'diffpool', config \{\"schedule\": \[0.5, 0.5\]\}: "
        r".*needs an absolute cluster count",
    ):
        grid.points("diffpool", preset("diffpool"), TrainSettings(), is_global=False)
    grid = _grid(tmp_path, "lr: [0.0]\n")
    with pytest.raises(ValueError, match=r"config \{\"lr\": 0.0\}: 'lr' must be a finite number > 0"):
        grid.points("topk", preset("topk"), TrainSettings(), is_global=False)
    assert "hidden" in PARAMETERS and "epochs" in PARAMETERS and "pool" not in PARAMETERS


@pytest.mark.parametrize(
    "given, message",
    [
        (dict(epochs=True), "'epochs' must be an int >= 1, got True"),
        (dict(epochs=10**7), "'epochs' must be at most 1,000,000, got 10000000"),
        (
            dict(epochs="5"),
            r"'epochs' must be an int >= 1, got '5' \(text, not a number: write numbers without quotes, "
            r"and exponents with a dot, 1.0e-3\)",
        ),
        (dict(batch_size=[32]), r"'batch_size' must be an int >= 1, got \[32\]"),
        (dict(patience=2.5), "'patience' must be an int >= 1 or null, got 2.5"),
        (dict(patience=True), "'patience' must be an int >= 1 or null, got True"),
        (dict(lr="1e-3"), r"'lr' must be a finite number > 0, got '1e-3' \(text, not a number.*\)"),
        (dict(lr=None), "'lr' must be a finite number > 0, got None"),
        (dict(aux_weight=float("-inf")), "'aux_weight' must be a finite number >= 0, got -inf"),
        (dict(weight_decay={"a": 1}), r"'weight_decay' must be a finite number >= 0, got \{'a': 1\}"),
        (dict(lr_schedule=["plateau"]), r"'lr_schedule' must be one of none, plateau, step, got \['plateau'\]"),
        (dict(lr_schedule="x" * 10_000), r"'lr_schedule' must be one of none, plateau, step, got 'x+\.\.\.x+'"),
    ],
)
def test_train_settings_types_and_bounds(given, message):
    with pytest.raises(ValueError, match=f"^train settings: {message}$"):
        TrainSettings(**given)


def test_run_config_files_that_are_refused(tmp_path):
    f = tmp_path / "run.yaml"
    for text, match in [
        ("", r"run config .*run.yaml: the file is empty"),
        ("model: [topk]\n", r"run.yaml:1: the 'model' section must be a mapping of settings, got \['topk'\]"),
        ("model: {pool: topk}\ntrain: 5\n", r"run.yaml:2: the 'train' section must be a mapping of settings, got 5"),
        ("model: {}\nextra: 1\n", r"run.yaml:2: unknown section\(s\) 'extra'; a run config has 'model' and 'train'"),
        ("train:\n  epochs: 3\n  lr: 0.1\n  epochs: 4\n", r"run.yaml:4: duplicate key 'epochs' \(first at line 2\)"),
        (
            "train:\n  lr: 0.1\n  batch_size: 1e3\n",
            r"run.yaml:3 \(train\): 'batch_size' must be an int >= 1, got '1e3'",
        ),
        (
            "model:\n  pool: mincut\n  schedule: [8, 4]\n  aux_weights: {mincut: .nan}\n",
            r"run.yaml:4 \(model\): 'aux_weights.mincut' must be a finite number >= 0, got nan",
        ),
    ]:
        f.write_text(text)
        with pytest.raises(ValueError, match=match):
            load_run_config(f)
    f.write_text("model:\ntrain:\n")  # empty sections: the defaults
    assert load_run_config(f) == (ModelConfig(), {})


def test_grid_size_is_bounded(tmp_path):
    import time

    from hipool.grid import MAX_GRID_POINTS

    text = (
        "hidden: ["
        + ",".join(map(str, range(1, 21)))
        + "]\nbatch_size: ["
        + ",".join(map(str, range(1, 101)))
        + "]\nepochs: ["
        + ",".join(map(str, range(1, 101)))
        + "]\n"
    )
    assert len(text) < 800
    grid = _grid(tmp_path, text)
    t0 = time.perf_counter()
    with pytest.raises(
        ValueError,
        match=r"grid.yaml: model 'topk' has 200,000 configs \(hidden 20 x batch_size 100 x "
        r"epochs 100\); a grid may give a model at most 1,000$",
    ):
        grid.points("topk", preset("topk"), TrainSettings(), is_global=False)
    assert time.perf_counter() - t0 < 0.5 and MAX_GRID_POINTS == 1000
    grid = _grid(
        tmp_path,
        "hidden: ["
        + ", ".join(map(str, range(1, 11)))
        + "]\nlr: ["
        + ", ".join(f"0.{i:03d}" for i in range(1, 101))
        + "]\n",
    )
    assert len(grid.points("topk", preset("topk"), TrainSettings(), is_global=False)) == 1000


def test_grid_errors_point_at_the_line_of_the_value(tmp_path):
    grid = _grid(tmp_path, "hidden: [8, 16]\nlr: [0.1, .nan]\ntopk:\n  dropout: [0.0, 1.5]\n")
    with pytest.raises(
        ValueError,
        match=r"grid.yaml:4: model 'topk', config \{\"hidden\": 8, \"lr\": 0.1, "
        r"\"dropout\": 1.5\}: 'dropout' must be a number in \[0, 1\), got 1.5$",
    ):
        grid.points("topk", preset("topk"), TrainSettings(), is_global=False)
    with pytest.raises(
        ValueError,
        match=r"grid.yaml:2: model 'diffpool', config \{\"hidden\": 8, \"lr\": NaN\}: "
        r"'lr' must be a finite number > 0, got nan$",
    ):
        grid.points("diffpool", preset("diffpool"), TrainSettings(), is_global=False)
    for text, match in [
        ("", r"grid .*grid.yaml: the file is empty; write parameter: \[values\] lines, or leave --grid out"),
        ("hidden: [8]\nhidden: [16]\n", r"grid.yaml:2: duplicate key 'hidden' \(first at line 1\)"),
        ("? " + "x" * 100_000 + "\n: 1\n", r"grid.yaml:1: unknown grid parameter 'x+\.\.\.x+'; parameters: conv"),
        ("[hidden, lr]\n", r"grid .*grid.yaml: expected a mapping of parameter: \[values\], got list"),
    ]:
        with pytest.raises(ValueError, match=match) as info:
            _grid(tmp_path, text)
        assert len(str(info.value)) < 1000
