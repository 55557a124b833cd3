"""The ``hipool`` command line."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from . import __version__


def _demo(args: argparse.Namespace) -> int:
    from .config import ModelConfig
    from .demo import DemoSettings, run_demo

    settings = DemoSettings(num_graphs=args.graphs, epochs=args.epochs, seed=args.seed)
    if args.config is not None:
        settings.model = ModelConfig.from_yaml(args.config)
    run_demo(Path(args.out), settings, progress=not args.no_progress)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .demo import DemoSettings

    defaults = DemoSettings()
    parser = argparse.ArgumentParser(prog="hipool", description="Hierarchical graph pooling for GNNs.")
    parser.add_argument("--version", action="version", version=f"hipool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="hierarchical vs global pooling on the embedded community graphs",
                          description="Train a hierarchical TopK model and its global twin on the "
                                      "embedded hierarchical community graphs (offline) and write a run folder.")
    demo.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    demo.add_argument("--graphs", type=_positive, default=defaults.num_graphs,
                      help=f"number of graphs (default: {defaults.num_graphs})")
    demo.add_argument("--epochs", type=_positive, default=defaults.epochs,
                      help=f"maximum epochs per model (default: {defaults.epochs})")
    demo.add_argument("--seed", type=int, default=defaults.seed,
                      help=f"seed for data, split and weights (default: {defaults.seed})")
    demo.add_argument("--config", type=Path, default=None,
                      help="model config YAML for the hierarchical model (default: the built-in one)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except ValueError as e:
        print(f"hipool {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hipool {args.command}: interrupted; files written so far are complete", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
