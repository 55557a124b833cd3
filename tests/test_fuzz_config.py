"""Fuzzing the YAML a user hands in (model configs, run configs, grids): only ``ValueError``
may escape, each naming the file; what loads, loads right."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipool import ModelConfig
from hipool.config import ACTS, COMBINES, CONVS, NORMS
from hipool.grid import MAX_GRID_POINTS, PARAMETERS, load_grid
from hipool.io import MAX_YAML_VALUES, parse_yaml
from hipool.train.settings import FIELDS as TRAIN_FIELDS
from hipool.train.settings import TrainSettings, load_run_config

# HIPOOL_FUZZ=5000 for a longer search
FUZZ = settings(
    max_examples=int(os.environ.get("HIPOOL_FUZZ", 60)), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
DIR = Path(tempfile.mkdtemp(prefix="hipool-fuzz-config-"))
MODEL_KEYS = [f.name for f in fields(ModelConfig)]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "topk",
            "sag",
            "mincut",
            "given",
            "none",
            "gcn",
            "gin",
            "mean",
            "0.5",
            "100→50",
            "1e-3",
            "batch",
            "relu",
            "all",
            "node",
            "sum",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8) | st.sampled_from(MODEL_KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)
# valid values per key: the fuzzed mappings mix them with random ones, so that many load
GOOD = {
    "conv": st.sampled_from(list(CONVS)),
    "hidden": st.integers(1, 512),
    "pool": st.sampled_from(["topk", "sag"]),
    "schedule": st.lists(st.floats(0.1, 1.0), min_size=1, max_size=3) | st.just("0.5→0.5"),
    "levels": st.none(),
    "readout": st.sampled_from(["mean", "sum", "max", "meanmax"]),
    "combine": st.sampled_from(list(COMBINES)),
    "dropout": st.floats(0, 0.9),
    "head": st.lists(st.integers(1, 64), max_size=2),
    "pool_options": st.just({}),
    "aux_weights": st.just({}),
    "task": st.just("graph"),
    "skip": st.sampled_from(["sum", "concat"]),
    "convs_per_level": st.integers(1, 3),
    "norm": st.sampled_from(list(NORMS)),
    "act": st.sampled_from(list(ACTS)),
    "residual": st.booleans(),
    "encoder": st.booleans(),
    "levels_read": st.sampled_from(["pooled", "all"]),
    "localize": st.floats(0, 5),
    "localize_target": st.just("defect_mask"),
    "epochs": st.integers(1, 1000),
    "patience": st.none() | st.integers(1, 50),
    "lr": st.floats(1e-5, 1.0),
    "weight_decay": st.floats(0, 0.1),
    "batch_size": st.integers(1, 256),
    "aux_weight": st.floats(0, 5),
    "lr_schedule": st.sampled_from(["none", "plateau", "step"]),
    "lr_factor": st.floats(0.01, 0.99),
    "lr_patience": st.integers(1, 100),
    "lr_step": st.integers(1, 100),
    "min_lr": st.just(0.0),
    "grad_clip": st.none() | st.floats(0.1, 10.0),
}


def mappings(keys, max_size=6):
    """Mappings of some of ``keys`` to values, two in three valid for their key."""
    return st.lists(st.sampled_from(keys), unique=True, max_size=max_size).flatmap(
        lambda chosen: st.fixed_dictionaries(
            {k: st.one_of(GOOD.get(k, values), GOOD.get(k, values), values) for k in chosen}
        )
    )


# raw YAML spellings PyYAML resolves in surprising ways
yaml_scalars = st.sampled_from(
    [
        ".nan",
        ".inf",
        "-.inf",
        "1e-3",
        "1.0e-3",
        "yes",
        "no",
        "on",
        "~",
        "null",
        "0x1f",
        "0o17",
        "1_000",
        "2001-01-01",
        "12:30",
        "!!binary aGk=",
        "!!set {a}",
        "!!float x",
        "!!int 1.5",
        "!!str 5",
        "!!python/name:os.system",
        "&a 1",
        "*a",
        "'quoted'",
        '"\\x00"',
        "[1, 2",
        "{a: 1",
        "- 1",
        "|\n  text",
        ">\n  folded",
        "? x",
        "%TAG",
        "@x",
        "`x",
        "9" * 5000,
        "[0.5, 0.5]",
        "{min_score: 0.1}",
        "[]",
        "{}",
        "given",
        "\t1",
        "x: y",
    ]
)


def _write(name: str, data) -> Path:
    path = DIR / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


def _only_value_error(load, path):
    """``load(path)``; a ``ValueError`` must name the file.  Returns the result or ``None``."""
    try:
        return load(path)
    except ValueError as e:
        assert str(path) in str(e), str(e)
        return None


@FUZZ
@given(mappings(MODEL_KEYS + ["hiden", "model"]))
def test_random_model_configs(data):
    path = _write("model.yaml", yaml.safe_dump(data, allow_unicode=True))
    config = _only_value_error(ModelConfig.from_yaml, path)
    if config is not None:  # what loads is what the mapping says, and survives a round trip
        plain = data.get("model", data) if isinstance(data.get("model"), dict) else data
        assert config == ModelConfig.from_dict(dict(plain))
        assert ModelConfig.from_yaml(_write("again.yaml", config.to_yaml())) == config
        for key in ("hidden", "dropout", "localize"):
            value = getattr(config, key)
            assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(MODEL_KEYS), yaml_scalars), min_size=1, max_size=5))
def test_raw_yaml_scalars(pairs):
    text = "".join(f"{k}: {v}\n" for k, v in pairs)
    path = _write("raw.yaml", text)
    for load in (ModelConfig.from_yaml, load_run_config, lambda p: load_grid(p, ["topk"])):
        _only_value_error(load, path)


@FUZZ
@given(
    st.sampled_from(list(CONVS)),
    st.integers(1, 256),
    st.sampled_from(["topk", "sag", "asap"]),
    st.lists(st.floats(0.05, 1.0), min_size=1, max_size=4),
    st.sampled_from(list(NORMS)),
    st.sampled_from(list(ACTS)),
    st.sampled_from(list(COMBINES)),
    st.floats(0, 0.9),
    st.lists(st.integers(1, 64), max_size=3),
    st.booleans(),
)
def test_valid_configs_load_right(conv, hidden, pool, schedule, norm, act, combine, dropout, head, nested):
    data = {
        "conv": conv,
        "hidden": hidden,
        "pool": pool,
        "schedule": schedule,
        "norm": norm,
        "act": act,
        "combine": combine,
        "dropout": dropout,
        "head": head,
    }
    path = _write("valid.yaml", yaml.safe_dump({"model": data} if nested else data))
    config = ModelConfig.from_yaml(path)
    assert (
        config.conv,
        config.hidden,
        config.pool,
        config.schedule,
        config.norm,
        config.act,
        config.combine,
        config.dropout,
        config.head,
        config.levels,
    ) == (conv, hidden, pool, schedule, norm, act, combine, dropout, head, len(schedule))
    model, train = load_run_config(path)
    assert model == config and train == {}


VALID = """model:
  conv: gin
  hidden: 32
  pool: [topk, mincut]
  schedule: [0.5, 8]
  pool_options: {topk: {min_score: 0.1}, mincut: {temp: 1.0}}
  aux_weights: {mincut: 1.0, level2/ortho: 0.5}
  head: [16]
train:
  epochs: 5
  lr: 0.01
  lr_schedule: plateau
"""


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(VALID)),
            st.integers(0, 6),
            st.text(alphabet=":-[]{}&*!|>?%@`'\"#,. \t\n\x00\x85\ufeff\ud800é0123456789aezn", max_size=4),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_valid_files(edits):
    text = VALID
    for at, cut, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut :]
    path = _write("mutated.yaml", text)
    result = _only_value_error(load_run_config, path)
    if result is not None:
        TrainSettings.from_dict(result[1])  # what was checked builds
    _only_value_error(ModelConfig.from_yaml, path)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data):
    path = _write("bytes.yaml", data)
    for load in (ModelConfig.from_yaml, load_run_config, lambda p: load_grid(p, ["topk", "sag"])):
        _only_value_error(load, path)


@FUZZ
@given(st.lists(st.from_regex(r"k[a-z_]{0,8}", fullmatch=True), min_size=1, max_size=8, unique=True), st.data())
def test_duplicate_keys_are_refused_at_their_line(keys, data):
    i = data.draw(st.integers(0, len(keys) - 1), label="duplicated")
    at = data.draw(st.integers(i + 1, len(keys)), label="position")
    lines = [f"{k}: 1" for k in keys]
    lines.insert(at, f"{keys[i]}: 2")
    nested = data.draw(st.booleans(), label="nested")
    text = "model:\n" + "".join(f"  {line}\n" for line in lines) if nested else "".join(f"{line}\n" for line in lines)
    path = _write("dup.yaml", text)
    offset = 2 if nested else 1
    with pytest.raises(
        ValueError,
        match=rf"^{path}:{at + offset}: duplicate key '{keys[i]}' \(first at line "
        rf"{i + offset}\); a key may appear once per mapping$",
    ):
        ModelConfig.from_yaml(path)


def _expanded(refs, sizes):
    return 1 + sum(sizes[r] for r in refs)


@FUZZ
@given(st.lists(st.lists(st.integers(0, 30), max_size=12), min_size=1, max_size=14))
def test_aliases_expand_within_the_bound_or_are_refused(rows):
    lines, sizes, expected = [], [], {}
    for k, refs in enumerate(rows):
        refs = [r % k for r in refs] if k else []
        items = [f"*a{r}" for r in refs] if k else ["1"] * len(rows[0])
        lines.append(f"a{k}: &a{k} [{', '.join(items)}]")
        sizes.append(_expanded(refs, sizes) if k else 1 + len(rows[0]))
        expected[f"a{k}"] = [expected[f"a{r}"] for r in refs] if k else [1] * len(rows[0])
    total = 1 + sum(1 + s for s in sizes)  # the root, every key and every value
    try:
        data, _ = parse_yaml("\n".join(lines) + "\n", "f.yaml")
    except ValueError as e:
        assert total > MAX_YAML_VALUES or "nests deeper" in str(e), str(e)
        assert len(str(e)) < 200
        return
    assert total <= MAX_YAML_VALUES and data == expected


@FUZZ
@given(mappings(list(TRAIN_FIELDS) + ["epoch"], max_size=5))
def test_random_train_sections(train):
    path = _write("run.yaml", yaml.safe_dump({"model": {"pool": "topk"}, "train": train}))
    result = _only_value_error(load_run_config, path)
    if result is not None:
        built = TrainSettings.from_dict(result[1])
        for key, value in train.items():
            if value is not None and key != "grad_clip":
                assert getattr(built, key) == value


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(list(PARAMETERS[:12]) + ["lr", "epochs", "topk", "sag", "nope"]),
        st.one_of(values, st.lists(scalars, min_size=1, max_size=6)),
        min_size=1,
        max_size=5,
    )
)
def test_random_grids(grid):
    path = _write("grid.yaml", yaml.safe_dump(grid, allow_unicode=True))
    loaded = _only_value_error(lambda p: load_grid(p, ["topk", "sag"]), path)
    if loaded is None:
        return
    for model in ("topk", "sag"):
        try:
            points = loaded.points(model, ModelConfig(pool=model), TrainSettings(), is_global=False)
        except ValueError as e:
            assert str(path) in str(e) and len(str(e)) < 2000
            continue
        lists = {**loaded.common, **loaded.per_model.get(model, {})}
        assert 1 <= len(points) <= min(MAX_GRID_POINTS, math.prod(len(v) for v in lists.values()))
        for p in points:  # every config is its overrides applied (but for the normalised keys)
            for key, value in p.overrides.items():
                target = p.config if key in MODEL_KEYS else p.train
                if key not in ("schedule", "levels", "grad_clip", "lr_schedule"):
                    assert getattr(target, key) == value


@pytest.fixture(scope="module", autouse=True)
def _clean():
    yield
    import shutil

    shutil.rmtree(DIR, ignore_errors=True)
