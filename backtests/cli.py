"""The ``newsbt`` command: a thin layer over the library.

Exit codes: 0 success, 1 other error, 2 usage or config error, 3 data unavailable.
Errors print one line to stderr; ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from backtests import _bt_cli, cli_store
from signals._version import __version__
from signals.errors import ConfigError, InputNotFoundError, NewsbtError

log = logging.getLogger("newsbt")

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3


class _Progress:
    """Step progress on stderr (tqdm), silent when not on a terminal or with --quiet."""

    def __init__(self, total: int, quiet: bool):
        from tqdm import tqdm

        enabled = sys.stderr.isatty() and not quiet
        self.bar = tqdm(
            total=total,
            disable=not enabled,
            file=sys.stderr,
            leave=False,
            bar_format="{desc:<40} {bar} {n_fmt}/{total_fmt} [{elapsed}]",
        )

    def __call__(self, label: str) -> None:
        log.info("%s", label)
        self.bar.set_description_str(label)
        self.bar.update(1)

    def extend(self, n: int) -> None:
        """Expect ``n`` more ticks (the report's figures and tables)."""
        self.bar.total += n
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _require_file(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{what} file {path} does not exist: check the path")
    return p


def _int_pair(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two integers like -5,10, got {text!r}") from None
    if a > b:
        raise argparse.ArgumentTypeError(f"start {a} is after end {b}")
    return a, b


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _run_lock(out: Path):
    """Exclusive lock so two runs writing the same output cannot interleave (i16: backtests._io)."""
    from backtests._io import folder_lock

    return folder_lock(out)


@contextlib.contextmanager
def _log_to(path: Path) -> Iterator[Path]:
    h = logging.FileHandler(path, mode="w", encoding="utf-8")
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    h.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(h)
    root.setLevel(min(old, logging.INFO))
    try:
        yield path
    finally:
        root.removeHandler(h)
        root.setLevel(old)
        h.close()


def _out_folder(template: str, cfg: dict, as_of: str | None) -> Path:
    name = cfg.get("_meta", {}).get("name", "run")
    date = as_of or dt.date.today().isoformat()
    try:
        return Path(template.format(date=date, name=name))
    except (KeyError, IndexError, ValueError) as e:
        raise ConfigError(
            f"[report].out {template!r} has an unknown placeholder ({e}); use {{date}} and {{name}}"
        ) from None


def _run_config(cfg: dict, *, out: str | None, as_of: str | None, quiet: bool) -> Path:
    from backtests import pipeline, story
    from backtests.report import write_report

    if as_of:
        cfg["run"]["as_of"] = as_of
    out_dir = (
        Path(out)
        if out
        else _out_folder(cfg["report"]["out"], cfg, cfg["run"]["as_of"] and str(cfg["run"]["as_of"]))
    )
    t0 = time.time()
    with _run_lock(out_dir), _log_to(out_dir.parent / f"{out_dir.name}.log") as logf:
        steps = 6 + int(cfg["backtest"]["enabled"]) + int(cfg["interventions"]["enabled"])
        bar = _Progress(steps, quiet)
        try:
            res = pipeline.run(cfg, progress=bar)
            bar("writing report")
            write_report(
                res.study,
                res.backtest,
                out_dir,
                market=res.market,
                events=res.events,
                title=cfg["run"]["title"],
                sections=story.sections(res),
                config=pipeline.public_config(cfg),
                summary=res.headline,
                formats=cfg["report"]["formats"],
                figure_formats=cfg["report"]["figure_formats"],
                log_file=logf,
                as_of=cfg["run"]["as_of"] and str(cfg["run"]["as_of"]),
                articles=res.articles,
                progress=bar,
            )
        finally:
            bar.close()
    if res.articles is not None:  # one line even with -q: quiet silences progress, never data loss
        from backtests._articles_cli import report_rejects

        report_rejects(res.articles, res.rejects, out_dir)
    log.info("done in %.1f s", time.time() - t0)
    return out_dir


def _report_entry(out: Path, formats) -> Path:
    """The report's entry file: index.html when HTML was written, else report.md."""
    return (out / ("index.html" if "html" in formats else "report.md")).resolve()


def _cmd_demo(args: argparse.Namespace) -> int:
    from backtests.config import load_config
    from signals._paths import data_path

    cfg = load_config(data_path("configs", "demo.toml"))
    out = _run_config(cfg, out=args.out or "reports/demo", as_of=None, quiet=args.quiet)
    print(f"demo report: {_report_entry(out, cfg['report']['formats'])}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from backtests.config import load_config

    cfg = load_config(args.config)
    out = _run_config(cfg, out=args.out, as_of=args.as_of, quiet=args.quiet)
    print(f"report: {_report_entry(out, cfg['report']['formats'])}")
    return EXIT_OK


def _events_from_args(args: argparse.Namespace):
    from backtests.events_io import read_events_table

    return read_events_table(args.events, what="--events")  # the same reader as [events].table


def _cmd_events(args: argparse.Namespace) -> int:
    import signals
    from backtests._articles_cli import read_kwargs, report_rejects

    if getattr(args, "store", None):  # article store (backtests/cli_store.py)
        from backtests.cli_store import events_from_store_args

        ev, n_arts = events_from_store_args(args)
        return _write_events(ev, n_arts, args.output)
    if not args.articles:
        raise ConfigError("newsbt events: give article files, folders, globs or feed URLs, or --store PATH")
    if getattr(args, "source", None) not in (None, "text"):
        raise ConfigError(
            f"newsbt events: --source {args.source} reads the GKG codes kept in an article store: use it with "
            "--store PATH (article files are tagged by the theme book's text rules)"
        )
    # one read over every path, folder and glob (quoted or not): one dedup, one ledger
    arts, rej = signals.read_articles(list(args.articles), errors="collect", **read_kwargs(args))
    report_rejects(arts, rej, args.output)
    book = signals.load_themes(args.themes) if args.themes else signals.default_themes()
    ev = signals.extract_events(
        signals.score_sentiment(signals.tag_themes(arts, themes=book)), gap=args.gap, themes=book
    )
    if getattr(args, "explain", None):  # issue #19: which rule matched which words, and why this stance
        from signals.explain import explain_event

        print(explain_event(args.explain, ev, arts, book))
        return EXIT_OK
    return _write_events(ev, len(arts), args.output)


def _write_events(ev, n_articles: int, output: str | None) -> int:
    out = ev.copy()
    if "article_ids" in out:
        out["article_ids"] = out["article_ids"].map(lambda v: ";".join(map(str, v)))
    if output:
        from backtests._io import atomic_write

        atomic_write(output, lambda tmp: out.to_csv(tmp, index=False))  # never a half file
        print(f"{len(ev)} events from {n_articles} articles -> {output}")
    else:
        out.to_csv(sys.stdout, index=False)
    return EXIT_OK


def _load_market(args: argparse.Namespace, start=None):
    import backtests

    return backtests.load_market(
        args.series, start=args.start if start is None else start, end=args.end, source=args.source, files=args.files,
        date_format=args.date_format,
    )  # fmt: skip


def _cmd_study(args: argparse.Namespace) -> int:
    import backtests

    events = _events_from_args(args)
    market = _load_market(args)
    study = backtests.event_study(
        backtests.to_changes(market),
        events,
        window=args.window,
        estimation=args.estimation,
        model=args.model,
        benchmark=args.benchmark,
        group_by=args.group_by,
        calendar="observed",
    )
    print(study.summary(all_tests=args.all_tests))  # [honest answers] headline; --all-tests: battery
    if args.out:
        with _run_lock(Path(args.out)):
            backtests.write_report(study, None, args.out, market=market, events=events, title="newsbt study")
        print(f"report: {Path(args.out).resolve() / 'index.html'}")
    return EXIT_OK


def _cmd_backtest(args: argparse.Namespace) -> int:
    import backtests

    events = _events_from_args(args)
    from backtests._bt_units import default_start  # period from one estimation window before the first event

    market = _load_market(args, start=args.start if args.start is not None else default_start(events))
    kw = _bt_cli.ccy_kwargs(args)  # --dv01 / --fx-notional: the book in currency (#18)
    kw.update(_bt_cli.run_kwargs(args))  # --combine / --position-cap / --placebo / --seed, as the config
    bt = backtests.backtest(market, events, holding=args.holding, cost_bp=args.cost_bp, **kw)
    print(bt.summary())
    if args.out:
        with _run_lock(Path(args.out)):
            backtests.write_report(None, bt, args.out, market=market, events=events, title="newsbt backtest")
        print(f"report: {Path(args.out).resolve() / 'index.html'}")
    return EXIT_OK


def _cmd_fetch(args: argparse.Namespace) -> int:
    from backtests import market as mk

    m = mk.fetch(args.series, start=args.start, end=args.end, source=args.source)
    for s in m.levels.columns:
        col = m.levels[s].dropna()
        p = m.provenance.get(s)
        print(
            f"{s}: {len(col)} values {col.index.min():%Y-%m-%d}..{col.index.max():%Y-%m-%d} "
            f"from {p.source if p else '?'}"
        )
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from backtests import market as mk

    _require_file(args.file, "import")
    done = mk.import_file(
        args.file, format=args.format, series=args.series, date_format=args.date_format, replace=args.replace
    )
    for s, n in done.items():
        print(f"{s}: {n} values imported into the cache")
    return EXIT_OK


def _cmd_series(args: argparse.Namespace) -> int:
    from backtests import market as mk

    table = mk.cache_status()
    print(table.drop(columns=["description"]).to_string(index=False))
    return EXIT_OK


EXAMPLES = {
    "demo": "newsbt demo --out /tmp/newsbt-demo",
    "run": "newsbt run study.toml --as-of 2025-05-09",
    "events": "newsbt events data/news/*.jsonl --themes my_book.toml -o events.csv",
    "study": "newsbt study --events events.csv --series ust_10y jgb_10y usdjpy --window=-5,10 --model raw",
    "backtest": "newsbt backtest --events events.csv --series usdjpy --holding 5 --cost-bp 0.5",
    "fetch": "newsbt fetch ust_10y usdjpy --start 2024-01-01 --end 2025-06-30",
    "import": "newsbt import DGS10.csv --format fred --series ust_10y",
    "series": "newsbt series",
    **cli_store.EXAMPLES,
}


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (every command with an example in its help)."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress bar")
    g.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks on error")

    p = argparse.ArgumentParser(
        prog="newsbt",
        description="News-driven market-signal backtesting: news -> theme events -> event studies "
        "and signal backtests on JGB, UST and USD/JPY.",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit codes: 0 ok, 1 other error, 2 usage/config error, 3 data unavailable, 4 article store busy.\n\nExamples:\n  "
        + "\n  ".join(EXAMPLES.values()),
    )
    p.add_argument("--version", action="version", version=f"newsbt {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def cmd(name: str, helptext: str, func):
        sp = sub.add_parser(
            name, parents=[common], help=helptext, description=helptext, epilog=f"Example: {EXAMPLES[name]}"
        )
        sp.set_defaults(func=func)
        return sp

    d = cmd("demo", "offline seed-case demo report (bundled real market data, no network)", _cmd_demo)
    d.add_argument("--out", default=None, help="report folder (default: reports/demo)")

    r = cmd("run", "run a TOML study config (scheduled jobs)", _cmd_run)
    r.add_argument("config", help="study config (TOML)")
    r.add_argument("--as-of", type=_date, default=None, help="as-of date YYYY-MM-DD (fills {date})")
    r.add_argument("--out", default=None, help="override [report].out")

    from backtests._articles_cli import add_article_args

    e = cmd("events", "articles -> theme events table (CSV)", _cmd_events)
    e.add_argument("articles", nargs="*", help="article files, folders, globs or feed URLs")
    e.add_argument("--themes", default=None, help="theme book TOML (default: the shipped book)")
    add_article_args(e)
    e.add_argument("--gap", default="6h", help="burst gap (default 6h)")
    e.add_argument("-o", "--output", default=None, help="output CSV (default: stdout)")
    e.add_argument("--explain", default=None, metavar="ID",
                   help="explain one event (event_id) or article (article_id): matched rules, words, stance")
    cli_store.add_events_args(e)

    def market_args(sp):
        sp.add_argument("--events", required=True, help="events CSV (date or timestamp, theme, ...)")
        sp.add_argument("--series", nargs="+", required=True, help="series ids (see `newsbt series`)")
        sp.add_argument("--source", default="auto", help="auto | sample | cache | yfinance | fred | mof | files")
        sp.add_argument("--files", default=None, help="for --source files: the CSV/Parquet table of levels")
        sp.add_argument("--date-format", default=None, help="strftime format of --files dates, e.g. %%d/%%m/%%Y")
        sp.add_argument("--start", type=_date, default=None)
        sp.add_argument("--end", type=_date, default=None)
        sp.add_argument("--out", default=None, help="also write a report into this folder")

    s = cmd("study", "event study of an events table on market series", _cmd_study)
    market_args(s)
    s.add_argument(
        "--window",
        type=_int_pair,
        default=(-5, 10),
        help="event window a,b; write --window=-5,10 (the = keeps argparse from reading -5 as an option)",
    )
    s.add_argument(
        "--estimation",
        type=_int_pair,
        default=(-120, -11),
        help="estimation window c,d; write --estimation=-120,-11",
    )
    s.add_argument("--model", default="raw", choices=["raw", "mean", "market", "factor"])  # [honest answers]
    s.add_argument("--all-tests", action="store_true", help="also print the full test battery (unadjusted p)")
    s.add_argument("--benchmark", default=None, help="benchmark series for --model market")
    s.add_argument("--group-by", nargs="*", default=["theme", "series"], help="grouping columns")

    b = cmd("backtest", "signal backtest of an events table", _cmd_backtest)
    market_args(b)
    _bt_cli.add_backtest_args(b)  # --holding, --cost-bp, --dv01, --fx-notional, --currency (#18)

    f = cmd("fetch", "refresh the local cache from live sources", _cmd_fetch)
    f.add_argument("series", nargs="+")
    f.add_argument("--start", type=_date, default=None)
    f.add_argument("--end", type=_date, default=None)
    f.add_argument("--source", default="auto")

    i = cmd("import", "import an offline file (FRED/MOF CSV or tidy CSV) into the cache", _cmd_import)
    i.add_argument("file")
    i.add_argument("--format", required=True, choices=["fred", "mof", "csv"])
    i.add_argument("--series", nargs="*", default=None, help="series id(s) the file holds")
    i.add_argument(
        "--date-format", default=None, help="strftime format of the dates, e.g. %%d/%%m/%%Y (needed for dd/mm/yyyy)"
    )
    i.add_argument(
        "--replace", action="store_true", help="let the file replace cached values that differ (else an error)"
    )

    cmd("series", "list known series and what is cached", _cmd_series)
    cli_store.register(cmd)  # ingest, store
    return p


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    h = logging.StreamHandler(sys.stderr)
    h.setLevel(level)
    h.setFormatter(logging.Formatter("newsbt: %(levelname)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[h], force=True)


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
    from backtests import _figures

    before, _figures.DEFAULT_PROCESSES = _figures.DEFAULT_PROCESSES, 2  # newsbt owns this process's threads
    try:
        return int(args.func(args) or 0)
    except NewsbtError as e:
        if args.verbose:
            traceback.print_exc()
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        print(f"newsbt: error: {'; '.join(lines)}", file=sys.stderr)
        return getattr(e, "exit_code", EXIT_OTHER)
    except KeyboardInterrupt:
        print("newsbt: interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # file system: one line naming the path (i16)
        if args.verbose:
            traceback.print_exc()
        where = e.filename or ""
        print(f"newsbt: error: cannot access {where}: {e.strerror or e}", file=sys.stderr)
        return EXIT_OTHER
    except Exception as e:  # noqa: BLE001 - last resort: one line, no traceback unless asked
        if args.verbose:
            traceback.print_exc()
        msg = str(e).splitlines()[0] if str(e) else ""
        print(
            f"newsbt: error: {type(e).__name__}: {msg} (run with --verbose for the traceback)",
            file=sys.stderr,
        )
        return EXIT_OTHER
    finally:
        _figures.DEFAULT_PROCESSES = before


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
