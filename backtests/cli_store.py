"""``newsbt ingest``, ``newsbt store`` and ``newsbt events --store``: the article-store commands.

Registered by :func:`register` from :mod:`backtests.cli`. Exit codes of ``ingest``: 0 every
source succeeded, 3 a source failed (the others were still ingested), 2 config error, 4 another
ingest holds the store.
"""

from __future__ import annotations

import argparse
import sys

EXAMPLES = {
    "ingest": "newsbt ingest ingest.toml   # crontab: */15 * * * * newsbt -q ingest /path/ingest.toml",
    "store": "newsbt store stats data/store",
}


def _cmd_ingest(args: argparse.Namespace) -> int:
    from signals.ingest import format_row, format_summary, ingest, load_ingest_config

    cfg = load_ingest_config(args.config)
    run = ingest(cfg, lock_timeout=args.wait)
    if not args.quiet:
        for row in run["sources"]:
            print(format_row(row))
    print(format_summary(run))
    return int(run["exit_code"])


def _cmd_store(args: argparse.Namespace) -> int:
    from signals.store import ArticleStore

    store = ArticleStore(args.path)
    if not store.articles_dir.is_dir():
        from signals.errors import InputNotFoundError

        raise InputNotFoundError(
            f"{args.path}: no article store here (no articles/ folder); run `newsbt ingest`"
        )
    if args.action == "stats":
        df = store.stats()
        info = df.attrs["newsbt_store"]
        if len(df):
            print(df.to_string(index=False))
        print(
            f"store {store.path}: {info['rows']} rows, {info['days']} days, {info['files']} files, "
            f"{info['bytes'] / 1e6:.1f} MB"
        )
        led = store.ledgers()
        if len(led):
            last = led[led["run_id"] == led["run_id"].iloc[-1]]
            print(
                f"last ingest {last['run_id'].iloc[0]}: "
                + "; ".join(f"{r.source} {r.status} ({r.new} new)" for r in last.itertuples())
            )
    elif args.action == "compact":
        out = store.compact()
        print(
            f"store {store.path}: compacted {out['days']} day(s): {out['files_before']} part files -> "
            f"{out['files_after']} ({out['rows']} rows)"
        )
    else:
        if not args.sql:
            raise SystemExit("newsbt store query PATH SQL: give the SQL")
        store.query(args.sql).to_csv(sys.stdout, index=False)
    return 0


def register(cmd) -> None:
    """Add ``ingest`` and ``store`` sub-commands through the CLI's ``cmd(name, help, func)`` helper."""
    i = cmd("ingest", "fetch RSS/Atom feeds and GDELT GKG files into the article store", _cmd_ingest)
    i.add_argument("config", help="ingest config (TOML with [store], [[feeds]], [gdelt])")
    i.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="seconds to wait for another ingest holding the store (default 0: exit 4 at once)",
    )
    s = cmd(
        "store",
        "article store: rows per day and source (stats), SQL over the view 'articles' (query), "
        "one part file per day (compact; readers are not blocked)",
        _cmd_store,
    )
    s.add_argument("action", choices=["stats", "query", "compact"])
    s.add_argument("path", help="store folder")
    s.add_argument("sql", nargs="?", default=None, help="for query: SQL over the view named articles")


def add_events_args(e: argparse.ArgumentParser) -> None:
    """Options of ``newsbt events`` that read from the store instead of article files."""
    e.add_argument("--store", default=None, help="article store folder (instead of article files)")
    e.add_argument("--start", default=None, help="first UTC day (YYYY-MM-DD) read from --store")
    e.add_argument("--end", default=None, help="last UTC day (YYYY-MM-DD, included) read from --store")
    e.add_argument(
        "--engine",
        default="pandas",
        choices=["pandas", "dask", "auto"],
        help="signals engine for --store (dask: partition-wise on a cluster)",
    )
    e.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    e.add_argument("--workers", type=int, default=None, help="local Dask workers (default: one per core)")
    e.add_argument(
        "--source",
        default=None,
        choices=["text", "gkg", "auto"],
        help="--store themes from text rules + VADER (default), GKG codes + V2Tone (gkg), or per row (auto)",
    )


def events_from_store_args(args: argparse.Namespace):
    """Events for ``newsbt events --store``; returns (events, n_articles)."""
    import signals
    from signals.errors import ConfigError

    if args.articles:
        raise ConfigError("newsbt events: give article files or --store, not both")
    book = signals.load_themes(args.themes) if args.themes else signals.default_themes()
    ev = signals.events_from_store(
        args.store,
        args.start,
        args.end,
        themes=book,
        gap=args.gap,
        engine=args.engine,
        client=args.scheduler,
        workers=args.workers,
        source=args.source,
    )
    return ev, ev.attrs.get("newsbt_events", {}).get("articles", 0)
