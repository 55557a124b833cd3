"""The model config: parsing, validation with named errors, YAML round trip."""

import pytest

from hipool import ModelConfig
from hipool.config import parse_schedule


def test_schedule_forms():
    assert parse_schedule("100→50→25→10") == [100, 50, 25, 10]
    assert parse_schedule("100->50") == [100, 50]
    assert parse_schedule("0.5, 0.5") == [0.5, 0.5]
    assert parse_schedule(0.5) == [0.5]
    cfg = ModelConfig(schedule=0.5, levels=3)
    assert cfg.schedule == [0.5, 0.5, 0.5] and cfg.levels == 3 and cfg.poolers == ["topk"] * 3
    assert ModelConfig(schedule="100→50→25→10").levels == 4


def test_yaml_round_trip(tmp_path):
    cfg = ModelConfig(
        conv="gin",
        hidden=32,
        pool=["sag", "topk"],
        schedule=[0.5, 10],
        readout="meanmax",
        combine="concat",
        dropout=0.2,
        head=[16],
        pool_options={"multiplier": 2.0},
    )
    path = tmp_path / "m.yaml"
    cfg.to_yaml(path)
    assert ModelConfig.from_yaml(path) == cfg
    # a file with a top-level "model:" section works too
    path.write_text("model:\n  conv: sage\n  schedule: '100→50'\n")
    assert ModelConfig.from_yaml(path).schedule == [100, 50]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(conv="gat"), r"'conv' must be one of gcn, graphconv, gin, sage, gine, gatv2, got 'gat'"),
        (dict(hidden=0), r"'hidden' must be an int >= 1, got 0"),
        (dict(pool="diffpooool"), r"unknown pooler 'diffpooool'"),
        (dict(pool=["topk"], schedule=[0.5, 0.5]), r"'pool' lists 1 poolers but the schedule has 2 levels"),
        (dict(schedule=[0.5, 1.5]), r"'schedule\[1\]' as a float .* got 1.5"),
        (dict(schedule="100→x"), r"'schedule' entry 'x'"),
        (dict(schedule=[0.5, 0.5], levels=3), r"'levels' is 3 but 'schedule' has 2 entries"),
        (dict(readout="median"), r"'readout' must be one of"),
        (dict(combine="avg"), r"'combine' must be one of last, sum, concat"),
        (dict(dropout=1.0), r"'dropout' must be a number in \[0, 1\)"),
        (dict(head=[0]), r"'head' must be a list of positive ints"),
        (dict(pool=["none", "topk"]), r"cannot be mixed"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)


def test_unknown_key_and_bad_yaml_name_the_file_and_line(tmp_path):
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'hiden'; allowed: .*hidden"):
        ModelConfig.from_dict({"hiden": 3})
    p = tmp_path / "bad.yaml"
    p.write_text("conv: gcn\nhidden: [1, 2\nreadout: mean\n")
    with pytest.raises(ValueError, match=rf"{p}:\d+: invalid YAML"):
        ModelConfig.from_yaml(p)
    p.write_text("hidden: 8\nconv: gat\n")
    with pytest.raises(ValueError, match=rf"^{p}:2: 'conv' must be one of"):
        ModelConfig.from_yaml(p)
    p.write_text("hiden: 8\n")
    with pytest.raises(ValueError, match=rf"^{p}:1: unknown key\(s\) 'hiden'"):
        ModelConfig.from_yaml(p)
    with pytest.raises(ValueError, match="cannot read"):
        ModelConfig.from_yaml(tmp_path / "missing.yaml")


def test_global_twin():
    cfg = ModelConfig(pool="sag", pool_options={"gnn": "gcn"})
    twin = cfg.global_twin()
    assert twin.is_global and twin.levels == cfg.levels and twin.hidden == cfg.hidden


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(pool=5), r"^model config: 'pool' must be a pooler's name or a list of them \(one per level\), got 5$"),
        (dict(pool=[]), r"'pool' must be a pooler's name or a list of them .*got \[\]$"),
        (dict(schedule=[]), r"^model config: 'schedule' lists no level; give one entry per level"),
        (dict(schedule=[0.5, "half"]), r"^model config: 'schedule\[1\]' must be a number .*got 'half'$"),
        (dict(schedule=[[0.5]]), r"'schedule\[0\]' must be a number .*got \[0.5\]$"),
        (dict(schedule=[0.5, True]), r"'schedule\[1\]' must be a number .*got True$"),
        (dict(schedule=[float("nan")]), r"'schedule\[0\]' as a float .* got nan"),
        (dict(schedule="1," * 40), r"^model config: 'schedule' has 40 levels; at most 32$"),
        (dict(levels=10**9, schedule=0.5), r"^model config: 'levels' must be at most 32, got 1000000000$"),
        (dict(levels=True), r"'levels' must be an int >= 1, got True$"),
        (dict(hidden=True), r"^model config: 'hidden' must be an int >= 1, got True$"),
        (dict(hidden="64"), r"^model config: 'hidden' must be an int >= 1, got '64' \(text, not a number: write"),
        (dict(hidden=64.0), r"'hidden' must be an int >= 1, got 64.0$"),
        (dict(hidden=10**6), r"^model config: 'hidden' must be at most 16,384, got 1000000$"),
        (dict(hidden=None), r"'hidden' must be an int >= 1, got None$"),
        (dict(dropout=float("nan")), r"'dropout' must be a number in \[0, 1\), got nan$"),
        (dict(dropout="0.1"), r"'dropout' must be a number in \[0, 1\), got '0.1' \(text, not a number"),
        (dict(head=5), r"'head' must be a list of positive ints, got 5$"),
        (dict(head=[10**6]), r"'head' may have at most 16 layers of at most 16,384 units, got \[1000000\]$"),
        (dict(head=[8] * 17), r"'head' may have at most 16 layers"),
        (dict(convs_per_level=100), r"'convs_per_level' may give at most 32 convs per block, got 100$"),
        (dict(convs_per_level=2.0), r"'convs_per_level' must be an int >= 1 or a list of them"),
        (dict(localize="1"), r"'localize' .* got '1' \(text, not a number"),
        (dict(localize=float("inf")), r"'localize' .* got inf$"),
        (
            dict(pool="mincut", schedule=[8, 4], pool_options={"temp": float("nan")}),
            r"^model config: 'pool_options.temp' must be a finite number, got nan$",
        ),
        (
            dict(pool="mincut", schedule=[8, 4], pool_options={"mincut": {"edge_threshold": float("-inf")}}),
            r"^model config: 'pool_options.mincut.edge_threshold' must be a finite number, got -inf$",
        ),
        (dict(pool_options={1: 2}), r"'pool_options' keys must be option or pooler names, got 1$"),
        (dict(pool_options=[1]), r"'pool_options' must be a mapping, got \[1\]$"),
        (
            dict(pool="mincut", schedule=[8, 4], aux_weights={"mincut": float("nan")}),
            r"^model config: 'aux_weights.mincut' must be a finite number >= 0, got nan$",
        ),
        (
            dict(pool="mincut", schedule=[8, 4], aux_weights={"mincut": "1"}),
            r"'aux_weights.mincut' must be a finite number >= 0, got '1' \(text",
        ),
        (dict(pool="mincut", schedule=[8, 4], aux_weights={3: 1.0}), r"'aux_weights' keys must be loss names, got 3$"),
        (
            dict(aux_weights={"level99999999999999/link": 1.0}),
            r"'aux_weights' key 'level99999999999999/link' is not a "
            r"loss",
        ),
        (dict(conv=["gcn"]), r"'conv' must be one of .*, got \['gcn'\]$"),
        (dict(readout={"mean": 1}), r"'readout' must be one of .*, got \{'mean': 1\}$"),
        (dict(localize_target="a" * 500), r"'localize_target' must name a node attribute, got 'a+\.\.\.a+'$"),
    ],
)
def test_every_key_is_checked_for_type_range_and_finiteness(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        ModelConfig(**kwargs)
    assert len(str(info.value)) < 400


def test_values_in_errors_are_abridged():
    from hipool.io import shown

    with pytest.raises(ValueError) as info:
        ModelConfig(conv="x" * 1_000_000)
    assert len(str(info.value)) < 300 and "..." in str(info.value)
    with pytest.raises(ValueError) as info:
        ModelConfig(head=list(range(100_000)))
    assert len(str(info.value)) < 300
    assert shown("abc") == "'abc'" and shown(1.5) == "1.5" and shown(10**5000) == "<int too large to show>"
    assert len(shown(["x" * 1000] * 1000)) <= 200


def _yaml(tmp_path, text, name="m.yaml"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_yaml_values_name_file_and_line_of_the_nested_key(tmp_path):
    p = _yaml(tmp_path, "pool: mincut\nschedule: [8, 4]\npool_options:\n  mincut:\n    temp: .nan\n")
    with pytest.raises(ValueError, match=rf"^{p}:5: 'pool_options.mincut.temp' must be a finite number, got nan$"):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "pool: mincut\nschedule: [8, 4]\naux_weights:\n  ortho: 1.0\n  mincut: .nan\n")
    with pytest.raises(ValueError, match=rf"^{p}:5: 'aux_weights.mincut' must be a finite number >= 0, got nan$"):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "schedule:\n  - 0.5\n  - 1.5\n")
    with pytest.raises(ValueError, match=rf"^{p}:3: 'schedule\[1\]' as a float"):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "conv: gcn\npool: 5\n")
    with pytest.raises(ValueError, match=rf"^{p}:2: 'pool' must be a pooler's name"):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "schedule: []\n")
    with pytest.raises(ValueError, match=rf"^{p}:1: 'schedule' lists no level"):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "dropout: 1e-1\n")  # YAML 1.1 reads an exponent without a dot as text
    with pytest.raises(
        ValueError,
        match=rf"^{p}:1: 'dropout' must be a number in \[0, 1\), got '1e-1' \(text, not "
        r"a number: write numbers without quotes, and exponents with a dot, "
        r"1.0e-3\)$",
    ):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "hidden: 8\nlocalize_target: 2001-01-01\n")  # a date stays text
    with pytest.raises(ValueError, match=rf"^{p}:2: 'localize_target' must name a node attribute, got '2001-01-01'$"):
        ModelConfig.from_yaml(p)


@pytest.mark.parametrize(
    "text,match",
    [
        (
            "hidden: 8\nconv: gcn\nhidden: 16\n",
            r":3: duplicate key 'hidden' \(first at line 1\); a key may appear once",
        ),
        ("pool_options:\n  min_score: 0.1\n  min_score: 0.2\n", r":3: duplicate key 'min_score' \(first at line 2\)"),
        ("model:\n  conv: gcn\nmodel:\n  conv: gin\n", r":3: duplicate key 'model' \(first at line 1\)"),
        ("1: gcn\n", r":1: the key '1' is not text \(YAML reads it as int\); write it in quotes"),
        ("on: true\n", r":1: the key 'on' is not text \(YAML reads it as bool\)"),
        ("? [a]\n: 1\n", r":1: a key here is a list or mapping; keys are names"),
        ("hidden: !!binary aGVsbG8=\n", r":1: invalid YAML: binary data \(binary\) is not a value hipool reads"),
        ("head: !!set {a}\n", r":1: invalid YAML: a set \(set\) is not a value hipool reads"),
        ("conv: !!python/name:os.system\n", r":1: invalid YAML: could not determine a constructor for the tag"),
        ("hidden: !!float abc\n", r":1: invalid YAML: cannot read the value 'abc' \(could not convert string to float"),
        ("hidden: " + "9" * 5000 + "\n", r":1: invalid YAML: cannot read the value '9999.*\.\.\. \(Exceeds the limit"),
        ("conv: gcn\nhidden: [1, 2\n", r":3: invalid YAML: .*expected ',' or ']'"),
        (
            "conv: gcn\n---\nconv: gin\n",
            r":2: invalid YAML: expected a single document in the stream, but found another",
        ),
        ("conv: g\x00cn\n", r":1: invalid YAML: unacceptable character #x0000 \(special characters are not allowed\)"),
        ("head: &a [8, *a]\n", r":1: an alias refers to a list or mapping that contains it"),
        ("head: " + "[" * 40 + "]" * 40 + "\n", r":1: nested deeper than 32 levels, the most hipool reads"),
    ],
)
def test_yaml_that_is_refused(tmp_path, text, match):
    p = _yaml(tmp_path, text)
    with pytest.raises(ValueError, match=f"^{p}{match}"):
        ModelConfig.from_yaml(p)


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    p = _yaml(tmp_path, "base: &b {hidden: 8, conv: gin}\nmodel:\n  <<: *b\n  hidden: 16\n")
    with pytest.raises(ValueError, match=rf"^{p}:1: unknown section 'base'"):
        ModelConfig.from_yaml(p)
    from hipool.io import parse_yaml

    assert parse_yaml("base: &b {hidden: 8, conv: gin}\nm:\n  <<: *b\n  hidden: 16\n", "x")[0]["m"] == {
        "hidden": 16,
        "conv": "gin",
    }


def test_an_anchor_bomb_is_refused_fast_with_a_short_message(tmp_path):
    import time

    names = "abcdefghi"  # "billion laughs": each line nine times the one before
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    lines += [f"{n}: &{n} [" + ",".join([f"*{names[i]}"] * 9) + "]" for i, n in enumerate(names[1:])]
    p = _yaml(tmp_path, "\n".join(lines) + "\n")
    assert p.stat().st_size < 320
    t0 = time.perf_counter()
    with pytest.raises(
        ValueError,
        match=rf"^{p}:5: the YAML expands to more than 10,000 values \(aliases repeat what "
        r"their anchor holds\), the most hipool reads$",
    ):
        ModelConfig.from_yaml(p)
    assert time.perf_counter() - t0 < 1.0
    # a few aliases that expand to little are fine
    p = _yaml(tmp_path, "w: &w 16\nhidden: *w\nhead: [*w, *w]\n")
    with pytest.raises(ValueError, match=rf"^{p}:1: unknown key\(s\) 'w'"):
        ModelConfig.from_yaml(p)


def test_files_that_are_empty_too_large_or_not_utf8(tmp_path):
    from hipool.io import MAX_YAML_BYTES

    p = _yaml(tmp_path, "")
    with pytest.raises(ValueError, match=rf"^model config {p}: the file is empty; write at least one key"):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "# only a comment\n")
    with pytest.raises(ValueError, match="the file is empty"):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "model:\n")
    with pytest.raises(ValueError, match=rf"^{p}:1: the 'model' section must be a mapping of settings .*got None$"):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "model:\n  conv: gin\ntrain:\n  epochs: 3\n")
    with pytest.raises(
        ValueError,
        match=rf"^{p}:3: unknown section 'train' \(training settings are read by "
        r"`hipool train CONFIG`, not here\)",
    ):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "conv: gcn\nhidden: 8 # caf\xe9\n".encode("latin-1"))
    with pytest.raises(
        ValueError,
        match=rf"^{p}:2: model config is not UTF-8 text \(byte 25 is e9: invalid "
        r"continuation byte\)$",
    ):
        ModelConfig.from_yaml(p)
    p = _yaml(tmp_path, "conv: gcn\n# " + "x" * MAX_YAML_BYTES + "\n")
    with pytest.raises(ValueError, match=rf"^model config {p}: larger than 1 MiB, the most hipool reads for it$"):
        ModelConfig.from_yaml(p)
    with pytest.raises(ValueError, match=rf"^model config {tmp_path}: cannot read it \(is a folder, not a file\)$"):
        ModelConfig.from_yaml(tmp_path)
    p = _yaml(tmp_path, "\ufeffconv: gin\n")  # a byte-order mark is fine
    assert ModelConfig.from_yaml(p).conv == "gin"


def test_a_huge_value_gives_a_short_message(tmp_path):
    p = _yaml(tmp_path, "conv: " + "x" * 500_000 + "\n")
    with pytest.raises(ValueError) as info:
        ModelConfig.from_yaml(p)
    assert str(info.value).startswith(f"{p}:1: 'conv' must be one of") and len(str(info.value)) < 400


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(pool="mincut", schedule=[10, 5], pool_options={"temp": 0}),
            r"^model config: 'pool_options' \(mincut, level 1\): MinCutPool: 'temp' must be a finite number in \(0, inf\)",
        ),
        (
            dict(pool="mincut", schedule=[10, 5], pool_options={"mincut": {"tmp": 2}}),
            r"'pool_options.mincut' \(mincut, level 1\): 'pool_options' \['tmp'\] do not apply to mincut",
        ),
        (dict(pool="dmon", schedule=[10, 5], pool_options={"dropout": 1.0}), r"DMoNPool: 'dropout' must be"),
        (dict(pool="sag", pool_options={"gnn": "gat"}), r"\(sag, level 1\): sag's 'gnn' must be one of"),
        (
            dict(
                pool=["topk", "mincut"],
                schedule=[0.5, 4],
                pool_options={"topk": {"min_score": 0.1}, "mincut": {"temp": -1}},
            ),
            r"'pool_options.mincut' \(mincut, level 2\)",
        ),
    ],
)
def test_pool_options_are_checked_when_the_config_is_read(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)


def test_pool_options_errors_point_at_the_file_line(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "pool: [topk, mincut]\nschedule: [0.5, 4]\npool_options:\n  topk: {min_score: 0.1}\n  mincut:\n    temp: -1\n"
    )
    with pytest.raises(ValueError, match=rf"^{path}:5.*'pool_options.mincut' \(mincut, level 2\)"):
        ModelConfig.from_yaml(path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pool": "kmis", "schedule": [0.5, 0.5]}, r"kmis at level 1 takes the hop distance k"),
        ({"pool": "kmis", "schedule": [1, 0.5]}, r"kmis at level 2 takes the hop distance k"),
        (
            {"pool": "ndp", "schedule": [0.5, 0.5]},
            r"ndp at level 1 sets each graph's pooled size itself; write natural",
        ),
        ({"pool": "edgepool", "schedule": ["natural"]}, r"edgepool at level 1 merges matched pairs"),
        ({"pool": "none", "schedule": ["natural"]}, r"'natural', the entry of a pooler that sets its own sizes"),
    ],
)
def test_config_checks_order_and_natural_entries(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)


def test_config_order_and_natural_round_trip(tmp_path):
    cfg = ModelConfig(pool=["kmis", "ndp"], schedule="2→natural")
    assert cfg.schedule == [2, "natural"] and cfg.build_entries == [2, "natural"]
    path = tmp_path / "m.yaml"
    cfg.to_yaml(path)
    assert ModelConfig.from_yaml(path) == cfg
    assert cfg.global_twin().schedule == [2, 1.0]


def test_a_pooler_that_widens_the_features_is_refused_in_a_model():
    with pytest.raises(ValueError, match=r"eigenpool, level 1\): its output is 128 wide for 64 in"):
        ModelConfig(pool="eigenpool", schedule=[4, 2], pool_options={"num_modes": 2})
    assert ModelConfig(pool="eigenpool", schedule=[4, 2], pool_options={"num_modes": 1}).poolers == ["eigenpool"] * 2
