"""The argument types and the flag groups the subcommands share.

Every type turns a flag's text into its value or raises ``argparse.ArgumentTypeError`` with
what was given, so argparse's error names the flag.
"""

from __future__ import annotations

import argparse


def train_overrides(args: argparse.Namespace) -> dict:
    """The training flags the user gave (``--no-patience``: patience ``None``)."""
    overrides = {
        k: getattr(args, k)
        for k in (
            "epochs",
            "patience",
            "lr",
            "weight_decay",
            "batch_size",
            "lr_schedule",
            "lr_factor",
            "lr_patience",
            "lr_step",
            "min_lr",
            "grad_clip",
        )
        if getattr(args, k) is not None
    }
    if args.no_patience:
        overrides["patience"] = None
    return overrides


def _number(text: str, kind: type):
    """``text`` as an int or float, or argparse's error saying what was given."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {'an int' if kind is int else 'a number'}, got {text!r}") from None
    if kind is float and value != value:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}")
    return value


def finite_arg(text: str) -> float:
    """A float flag: a finite number (``nan``, ``inf`` and ``1e400`` are refused, naming the flag)."""
    value = _number(text, float)
    if value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def fraction_arg(text: str) -> float:
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def positive_float_arg(text: str) -> float:
    value = finite_arg(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def add_training_flags(p: argparse.ArgumentParser, defaults) -> None:
    from ..train.settings import LR_SCHEDULES

    g = p.add_argument_group("training (override the config file; defaults in brackets)")
    g.add_argument("--epochs", type=positive_arg, default=None, help=f"most epochs per run [{defaults.epochs}]")
    g.add_argument(
        "--patience",
        type=positive_arg,
        default=None,
        help=f"stop after this many epochs without a better validation score [{defaults.patience}]",
    )
    g.add_argument("--no-patience", action="store_true", help="no early stopping: train every epoch")
    g.add_argument("--lr", type=positive_float_arg, default=None, help=f"Adam learning rate [{defaults.lr}]")
    g.add_argument("--weight-decay", type=finite_arg, default=None, help=f"Adam weight decay [{defaults.weight_decay}]")
    g.add_argument("--batch-size", type=positive_arg, default=None, help=f"graphs per batch [{defaults.batch_size}]")
    # the numbers are checked by TrainSettings, whose errors name the setting and what it allows
    g.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default=None,
        help="learning-rate schedule, stepped once per epoch: plateau (lower it when the validation "
        f"loss stops falling) or step (lower it every --lr-step epochs) [{defaults.lr_schedule}]",
    )
    g.add_argument(
        "--lr-factor",
        type=finite_arg,
        default=None,
        help=f"plateau, step: multiply the learning rate by this, in (0, 1) [{defaults.lr_factor}]",
    )
    g.add_argument(
        "--lr-patience",
        type=positive_arg,
        default=None,
        help="plateau: lower the learning rate after this many epochs without a lower validation "
        f"loss [{defaults.lr_patience}]",
    )
    g.add_argument(
        "--lr-step",
        type=positive_arg,
        default=None,
        help=f"step: lower the learning rate every this many epochs [{defaults.lr_step}]",
    )
    g.add_argument(
        "--min-lr",
        type=finite_arg,
        default=None,
        help=f"plateau, step: never lower the learning rate below this [{defaults.min_lr}]",
    )
    g.add_argument(
        "--grad-clip",
        type=finite_arg,
        default=None,
        help="clip the global gradient norm to this before every step; 0: off [off]",
    )


def add_data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-root",
        default=None,
        help="folder holding <NAME>/raw/ for TU datasets, align_ota/ or analoggenie/ (also under spice/), "
        "and circuits/iscas85, iscas89, epfl for gates (default: $HIPOOL_DATA, else hipool's download folder)",
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        help="where processed files go (default: $HIPOOL_CACHE, else ~/.cache/hipool/processed)",
    )


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """Which model of a run folder ``hipool explain`` / ``report`` look at, and on which data."""
    p.add_argument(
        "--model", default=None, help="which model of a demo or compare run (default: the first pooling model)"
    )
    p.add_argument("--fold", type=int, default=None, help="which fold of a compare run (default 0)")
    p.add_argument("--dataset", default=None, help="load this dataset instead of the run's")


def folder_arg(text: str) -> str:
    """``--out``: a path that is not empty (``Path("")`` is the current folder, which nobody means by it)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder, got an empty string")
    return text


def positive_arg(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def seed_arg(text: str) -> int:
    from ..train.runner import MAX_SEED

    value = _number(text, int)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an int from 0 to {MAX_SEED}, got {value}")
    return value


def workers_arg(text: str) -> int:
    """``--threads``, ``--jobs``: 1 .. 4 x the CPUs (see hipool.train.runner.check_workers)."""
    from ..train.runner import check_workers

    value = _number(text, int)
    try:
        return check_workers(value, "")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


DATASET_HELP = (
    "a TU name (MUTAG, PROTEINS, ...), 'communities', 'circuits', the analog benchmarks 'align_ota' and "
    "'analoggenie', the logic benchmark 'gates' (e.g. gates:n=2000), a molecule CSV, a .jsonl file, "
    "a netlist (.bench, .blif, .aag, .aig, SPICE/CDL or "
    "Spectre: .sp, .cir, .scs, ...) or a folder (graph files or netlists, with labels.csv)"
)


def model_names_help() -> str:
    """The named models, from the pooler registry (so a new pooler appears here by itself)."""
    from ..nn.registry import REGISTRY

    return (
        f"the seed model with a pooler: {', '.join(REGISTRY)}, global; the recipe: gin-<pooler>, "
        f"gine-<pooler>, e.g. gine-edgepool, gine-given, gine-global"
    )
