"""The ``hipool`` command line: :func:`main` (the ``hipool`` console script and
``python -m hipool``) parses with :func:`build_parser` and turns every error into one line and
an exit status (2: bad input or a failed command, 3: a bug of hipool's, 130: interrupted).

The subcommands are in :mod:`hipool.cli.commands` (one function each), the flag types and
shared flag groups in :mod:`hipool.cli.args`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from .. import __version__
from .commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hipool", description="Hierarchical graph pooling for GNNs.")
    parser.add_argument("--version", action="version", version=f"hipool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        if getattr(args, "with_argv", False):
            return args.func(args, ["hipool", *(sys.argv[1:] if argv is None else argv)])
        return args.func(args)
    except (ValueError, RuntimeError, ImportError) as e:
        print(f"hipool {args.command}: error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `hipool poolers | head`: the reader has gone; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # a full disk, a read-only or missing folder, a file in the way, ...
        from ..io import describe_os_error

        print(f"hipool {args.command}: error: {describe_os_error(e)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"hipool {args.command}: error: out of memory (a smaller model, --batch-size or dataset needs "
            f"less); files written so far are complete",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"hipool {args.command}: interrupted; files written so far are complete", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of hipool's: one line rather than a traceback, unless asked for
        if os.environ.get("HIPOOL_TRACEBACK", "").strip() not in ("", "0"):
            raise
        print(
            f"hipool {args.command}: internal error: {type(e).__name__}: {_one_line(str(e), 500)} (a bug of "
            f"hipool's; HIPOOL_TRACEBACK=1 shows where; files written so far are complete)",
            file=sys.stderr,
        )
        return 3


def _one_line(message: str, limit: int = 1000) -> str:
    """An error message as one line of at most ``limit`` characters (torch's run to many lines)."""
    text = " ".join(line.strip() for line in message.strip().splitlines() if line.strip()) or message
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
