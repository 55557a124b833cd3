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


def _data_summary(args: argparse.Namespace) -> int:
    import json

    from .data.registry import format_summary, load_dataset, summarize

    try:
        dataset = load_dataset(args.name, args.data_root, cache_dir=args.cache_dir, progress=not args.json)
    except (ValueError, ImportError) as e:
        print(f"hipool data summary: {e}", file=sys.stderr)
        return 2
    summary = summarize(dataset)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
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

    data = sub.add_parser("data", help="datasets: summaries", description="Look at datasets.")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    summary = data_sub.add_parser(
        "summary", help="graphs, classes, nodes, edges and features of a dataset",
        description="Summarize a dataset: a TU name (MUTAG, PROTEINS, ...), 'communities', a molecule "
                    "CSV, a JSON Lines file or a folder of graph files.")
    summary.add_argument("name", help="TU name, 'communities', or a path (.csv, .jsonl, folder)")
    summary.add_argument("--data-root", default=None,
                         help="folder holding <NAME>/raw/ for TU datasets (default: $HIPOOL_DATA, "
                              "else hipool's download folder)")
    summary.add_argument("--cache-dir", default=None,
                         help="where processed files go (default: $HIPOOL_CACHE, else ~/.cache/hipool/processed)")
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    summary.set_defaults(func=_data_summary)
    data.set_defaults(func=lambda args: (data.print_help(), 2)[1])
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
