"""The ``newsbt`` command: a thin layer over the library.

Exit codes: 0 success, 1 other error, 2 usage or config error, 3 data unavailable.
Errors print one line to stderr; ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from signals._version import __version__
from signals.errors import InputNotFoundError, NewsbtError

log = logging.getLogger("newsbt")

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3


def _cmd_demo(args: argparse.Namespace) -> int:
    raise NewsbtError("`newsbt demo` is not available yet in this build")


def _require_file(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{what} file {path} does not exist: check the path")
    return p


def _cmd_study(args: argparse.Namespace) -> int:
    _require_file(args.events, "--events")
    raise NewsbtError("`newsbt study` is not available yet in this build")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (every command with an example in its help)."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="only errors")
    g.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks on error")

    p = argparse.ArgumentParser(
        prog="newsbt",
        description="News-driven market-signal backtesting: news -> theme events -> event studies "
        "and signal backtests on JGB, UST and USD/JPY.",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit codes: 0 ok, 1 other error, 2 usage/config error, 3 data unavailable.\n"
        "Example: newsbt demo --out reports/demo",
    )
    p.add_argument("--version", action="version", version=f"newsbt {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser(
        "demo",
        parents=[common],
        help="offline seed-case demo report",
        epilog="Example: newsbt demo --out /tmp/newsbt-demo",
    )
    d.add_argument("--out", default=None, help="report folder (default: reports/demo)")
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser(
        "study",
        parents=[common],
        help="event study of an events table on market series",
        epilog="Example: newsbt study --events events.csv --series ust_10y jgb_10y usdjpy",
    )
    s.add_argument("--events", required=True, help="events CSV (date or timestamp, theme, ...)")
    s.add_argument("--series", nargs="+", required=True, help="series ids")
    s.set_defaults(func=_cmd_study)
    return p


def _setup_logging(args: argparse.Namespace) -> None:
    level = (
        logging.DEBUG
        if getattr(args, "verbose", False)
        else (logging.ERROR if getattr(args, "quiet", False) else logging.INFO)
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_OK
    _setup_logging(args)
    try:
        return int(args.func(args) or 0)
    except NewsbtError as e:
        if args.verbose:
            traceback.print_exc()
        print(f"newsbt: error: {e}", file=sys.stderr)
        return getattr(e, "exit_code", EXIT_OTHER)
    except KeyboardInterrupt:
        print("newsbt: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - last-resort: one line, no traceback unless asked
        if args.verbose:
            traceback.print_exc()
        print(
            f"newsbt: error: {type(e).__name__}: {e} (run with --verbose for the traceback)", file=sys.stderr
        )
        return EXIT_OTHER


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
