"""Held-out bad inputs of the commands that write run folders (issue 17, second round): each is a
one-line error naming the input, and a refused command writes nothing."""

from __future__ import annotations

import re

import pytest

from hipool.cli import main
from hipool.runs import run_folder_lock
from hipool.train.runner import resolve_device

SPEC = "communities:n=40"


def _fails(capsys, *argv):
    code = main([*map(str, argv), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    return err.rstrip("\n")


def test_demo_leaves_a_folder_of_the_users_alone(tmp_path, capsys):
    """`hipool demo --out FOLDER` wrote its run into any folder (as root, /etc included)."""
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("x")
    assert _fails(capsys, "demo", "--dataset", "communities", "--graphs", "20", "--out", mine) == (
        f"hipool demo: error: --out {mine}: the folder holds files that hipool did not write (chapter1.tex); choose "
        f"another --out (nothing was written)"
    )
    assert [p.name for p in mine.iterdir()] == ["chapter1.tex"]


def test_a_second_command_on_a_folder_in_use_is_refused(tmp_path, capsys):
    """Two `hipool train` on one --out at once interleaved their state.pt and metrics.csv."""
    out = tmp_path / "run"
    with run_folder_lock(out):
        assert _fails(capsys, "train", "--dataset", SPEC, "--out", out, "--epochs", "1") == (
            f"hipool train: error: --out {out}: another hipool command is writing this run folder now; wait for it "
            f"to end, or choose another --out (nothing was written)"
        )
        assert _fails(
            capsys, "compare", "--dataset", SPEC, "--models", "topk", "--folds", "2", "--out", out
        ).startswith(f"hipool compare: error: --out {out}: another hipool command is writing this run folder now")
    assert list(out.iterdir()) == []  # the lock is the folder's own: no lock file
    with run_folder_lock(out):  # released when the holder is done (or killed)
        pass


def test_commands_refuse_a_model_the_data_cannot_feed_before_writing(tmp_path, capsys):
    """These failed inside the first training run, after run.json, the split and config.yaml were written."""
    big = tmp_path / "big.yaml"
    big.write_text("hidden: 16384\nconvs_per_level: 32\nlevels: 32\nschedule: 0.5\n")
    assert _fails(capsys, "train", big, "--dataset", SPEC, "--out", tmp_path / "a").startswith(
        "hipool train: error: model config: the model would have 274,626,9"
    )
    assert _fails(capsys, "compare", "--dataset", SPEC, "--models", "gine-topk", "--out", tmp_path / "b") == (
        "hipool compare: error: --models gine-topk: dataset communities:n=40,seed=0: graph 0 has no edge_attr, but "
        "conv 'gine' reads edge features (dataset communities:n=40,seed=0 has no edge features: use one of gcn, "
        "graphconv, gin, sage)"
    )
    dots = tmp_path / "...yaml"  # its name without .yaml, '..', named the folder units/../
    dots.write_text("pool: topk\n")
    assert _fails(capsys, "compare", "--dataset", SPEC, "--models", dots, "--out", tmp_path / "c") == (
        f"hipool compare: error: --models {dots}: the model name '..' (the file's name without .yaml) cannot name a "
        f"folder (at most 200 characters, no '/', not '.' or '..'); rename the file"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["...yaml", "big.yaml"]


def test_a_diverging_training_names_the_learning_rate(tmp_path, capsys):
    """lr 1e23 ended in "TopKPooling: 'x' contains NaN values", as if the data were at fault."""
    err = _fails(capsys, "train", "--dataset", SPEC, "--out", tmp_path / "run", "--epochs", "2", "--lr", "1e23")
    assert re.match(
        r"hipool train: error: epoch \d: training diverged: (after \d+ optimizer step\(s\) of this "
        r"epoch|in evaluation) the forward pass failed \(TopKPooling: 'x' contains NaN",
        err,
    ), err
    assert err.endswith(
        "the weights grew out of range (learning rate 1e+23): lower 'lr' (--lr), or set 'grad_clip' (--grad-clip)"
    )


def test_devices_are_ascii_names():
    with pytest.raises(ValueError, match=r"^--device: expected cpu, cuda or cuda:N, got 'cuda:٣'$"):
        resolve_device("cuda:٣")  # a non-ASCII digit passed the pattern


def test_splits_with_an_empty_part_and_absurd_repeats_are_refused_before_writing(tmp_path, capsys):
    """An empty training or validation part failed in torch's sampler ("num_samples should be a
    positive integer value"), an empty holdout trained with early stopping on nothing, and
    --repeats 100000000 ran out of memory planning the runs."""
    assert _fails(capsys, "train", "--dataset", SPEC, "--out", tmp_path / "a", "--val", "0.5", "--test", "0.49") == (
        "hipool train: error: --val 0.5 and --test 0.49 of 40 graphs: the train part has no graph (split 0/21/19); "
        "every part needs at least one"
    )
    assert _fails(capsys, "train", "--dataset", SPEC, "--out", tmp_path / "a", "--val", "0.01", "--test", "0.01") == (
        "hipool train: error: --val 0.01 and --test 0.01 of 40 graphs: the validation part has no graph (split "
        "40/0/0); every part needs at least one"
    )
    assert _fails(
        capsys,
        "compare",
        "--dataset",
        SPEC,
        "--models",
        "topk",
        "--folds",
        "2",
        "--holdout",
        "0.0001",
        "--out",
        tmp_path / "b",
    ) == (
        "hipool compare: error: --holdout 0.0001 of 20 training graphs: fold 0 has no holdout graph (20 train, "
        "0 holdout, 20 test); every part needs at least one"
    )
    assert (
        _fails(
            capsys, "compare", "--dataset", SPEC, "--models", "topk", "--repeats", "100000000", "--out", tmp_path / "b"
        )
        == "hipool compare: error: --repeats must be an int from 1 to 1,000, got "
        "100000000"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_unexpected_error_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import hipool.train.command as command

    def broken(*_args, **_kwargs):
        raise TypeError("something hipool did not foresee")

    monkeypatch.setattr(command, "run_train", broken)
    assert main(["train", "--dataset", SPEC, "--out", str(tmp_path / "a")]) == 3
    assert capsys.readouterr().err == (
        "hipool train: internal error: TypeError: something hipool did not foresee (a "
        "bug of hipool's; HIPOOL_TRACEBACK=1 shows where; files written so far are "
        "complete)\n"
    )
    monkeypatch.setenv("HIPOOL_TRACEBACK", "1")
    with pytest.raises(TypeError):
        main(["train", "--dataset", SPEC, "--out", str(tmp_path / "a")])


def test_the_command_settings_of_the_python_api_name_a_field_of_another_type(tmp_path):
    """TrainRequest(out=None), CompareSettings(models="topk") (read as models 't', 'o', ...) and friends
    were TypeErrors deep inside, or silently wrong."""
    from hipool.compare import CompareSettings
    from hipool.demo import run_demo
    from hipool.train.command import TrainRequest

    cases = [
        (lambda: TrainRequest(dataset=SPEC, out=None), r"^TrainRequest: 'out' must be a path, got None$"),
        (lambda: TrainRequest(dataset=SPEC, out=tmp_path, val="0.1"), r"'val' must be a number, got '0.1'$"),
        (lambda: TrainRequest(dataset=SPEC, out=tmp_path, argv="x"), r"'argv' must be a list of str or None"),
        (
            lambda: CompareSettings(dataset=SPEC, models="topk", out=tmp_path),
            r"^CompareSettings: 'models' must be a list of str, got 'topk'$",
        ),
        (
            lambda: CompareSettings(dataset=SPEC, models=["topk"], out=tmp_path, train={"epochs": 1}),
            r"^CompareSettings: 'train' must be a TrainSettings, got dict$",
        ),
        (lambda: run_demo(None), r"^demo: 'out' must be a path \(the run folder\), got None$"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


def test_an_empty_out_is_refused_not_read_as_the_current_folder(capsys):
    for command in (["train", "--dataset", SPEC], ["compare", "--dataset", SPEC, "--models", "topk"], ["demo"]):
        with pytest.raises(SystemExit):
            main([*command, "--out", ""])
        assert "argument --out: must name a folder, got an empty string" in capsys.readouterr().err
