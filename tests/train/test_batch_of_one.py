"""`hipool train` on a dataset of a few large graphs with a batch of one (issue 24), at a small
scale: synthetic circuits of a few thousand nodes and a folder of EPFL netlists, 2 epochs."""

from __future__ import annotations

import json
import shutil

import pytest

import hipool.train.loop as loop
from hipool.cli import main
from tests.conftest import SHARED

#: The scale benchmark's MinCut model (benchmarks/scale.py), its cluster counts cut down.
SPARSE_MINCUT = """\
model:
  conv: gin
  hidden: 16
  encoder: true
  convs_per_level: 2
  norm: batch
  residual: true
  readout: meanmax
  combine: sum
  levels_read: all
  head: [16]
  pool: mincut
  schedule: [32, 8, 2]
  pool_options: {mode: sparse}
"""


@pytest.fixture
def batch_sizes(monkeypatch):
    """The graphs per batch of every training pass (``optimizer`` given) of the run."""
    seen = []
    inner = loop._epoch_sums

    def recording(model, loader, optimizer=None, *args, **kwargs):
        if optimizer is None:
            return inner(model, loader, optimizer, *args, **kwargs)

        def batches():
            for data in loader:
                seen.append(int(data.num_graphs))
                yield data

        return inner(model, batches(), optimizer, *args, **kwargs)

    monkeypatch.setattr(loop, "_epoch_sums", recording)
    return seen


def _run(tmp_path, dataset, *model, epochs=2):
    out = tmp_path / "run"
    argv = ["train", *model[1:], "--dataset", dataset, "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    argv += ["--batch-size", "1", "--epochs", str(epochs), "--val", "0.25", "--test", "0.25", "--no-progress"]
    argv += ["--threads", "1", *(["--model", model[0]] if model[0] else [])]
    assert main(argv) == 0
    return json.loads((out / "result.json").read_text()), out


@pytest.mark.parametrize("model", ["gin-edgepool", "gin-given", "sparse-mincut"])
def test_circuits_train_with_a_batch_of_one(tmp_path, batch_sizes, model):
    extra = ()
    if model == "sparse-mincut":
        cfg = tmp_path / "mincut.yaml"
        cfg.write_text(SPARSE_MINCUT)
        model, extra = None, (str(cfg),)
    result, out = _run(tmp_path, "circuits:n=8,min=1500,max=2500", model, *extra)
    assert result["epochs_run"] == 2 and result["test_acc"] is not None
    assert "batch_size: 1" in (out / "config.yaml").read_text()
    assert batch_sizes == [1] * 8  # 4 training graphs, one per step, 2 epochs


def test_epfl_netlists_train_with_a_batch_of_one(tmp_path, batch_sizes):
    epfl = SHARED / "circuits" / "epfl"
    # 0.7k-5k AND gates each; label: arithmetic (1) or random control (0)
    files = [epfl / "arithmetic" / n for n in ("adder.aig", "bar.aig", "max.aig", "sin.aig")]
    files += [epfl / "random_control" / n for n in ("cavlc.aig", "i2c.aig", "priority.aig", "int2float.aig")]
    if not all(f.is_file() for f in files):
        pytest.skip(f"shared EPFL circuits missing under {epfl}")
    folder = tmp_path / "epfl"
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder / f.name)
    labels = "".join(f"{f.name},{int(f.parent.name == 'arithmetic')}\n" for f in files)
    (folder / "labels.csv").write_text("file,label\n" + labels)
    result, _ = _run(tmp_path, str(folder), "gin-graclus", epochs=1)
    assert result["epochs_run"] == 1 and result["test_acc"] is not None
    assert batch_sizes == [1] * 4  # the 4 training netlists, one per step
