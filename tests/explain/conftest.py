"""Small run folders (train, compare) shared by the explain and report tests: trained once per session."""

from __future__ import annotations

import pytest

from hipool.compare import CompareSettings, compare
from hipool.train.command import TrainRequest, run_train
from hipool.train.settings import TrainSettings

SPEC = "circuits:n=40,min=50,max=70"
MODEL = """conv: graphconv
hidden: 16
pool: edgepool
schedule: [0.5, 0.5, 0.5]
readout: meanmax
combine: sum
head: [16]
"""


@pytest.fixture(scope="package")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="package")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "edgepool.yaml"
    path.write_text(MODEL)
    return path


@pytest.fixture(scope="package")
def train_run(tmp_path_factory, cache, model_file):
    out = tmp_path_factory.mktemp("runs") / "train"
    run_train(
        TrainRequest(
            dataset=SPEC, out=out, config=model_file, train={"epochs": 2}, cache_dir=str(cache), progress=False
        ),
        log=lambda *_: None,
    )
    return out


@pytest.fixture(scope="package")
def compare_run(tmp_path_factory, cache, model_file):
    out = tmp_path_factory.mktemp("runs") / "compare"
    compare(
        CompareSettings(
            dataset=SPEC,
            models=[str(model_file), "global"],
            out=out,
            folds=2,
            repeats=1,
            train=TrainSettings(epochs=1),
            cache_dir=str(cache),
            progress=False,
        ),
        log=lambda *_: None,
    )
    return out
