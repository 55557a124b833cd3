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
    cfg = ModelConfig(conv="gin", hidden=32, pool=["sag", "topk"], schedule=[0.5, 10],
                      readout="meanmax", combine="concat", dropout=0.2, head=[16],
                      pool_options={"multiplier": 2.0})
    path = tmp_path / "m.yaml"
    cfg.to_yaml(path)
    assert ModelConfig.from_yaml(path) == cfg
    # a file with a top-level "model:" section works too
    path.write_text("model:\n  conv: sage\n  schedule: '100→50'\n")
    assert ModelConfig.from_yaml(path).schedule == [100, 50]


@pytest.mark.parametrize("kwargs,match", [
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
])
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
