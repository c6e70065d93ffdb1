"""Report writer: ``reports/<run>/`` with ``index.html`` (self-contained), ``report.md`` with PNG
and SVG figures, ``tables/*.csv`` and ``summary.json``.

Writes are atomic: everything goes to a temporary sibling folder which is renamed into place at
the end, so a crashed or concurrent run never leaves a half report. Tables and ``summary.json`` are
deterministic (sorted, fixed float format); the only field that changes between two runs on the
same inputs is ``summary["run"]`` (run time and timestamp).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtests._io import dir_mode
from backtests.sections import Section, arrange, standard_sections
from backtests.tables import SHOW_ROWS, html_table, md_table
from signals._version import __version__
from signals.errors import ConfigError

log = logging.getLogger(__name__)

FLOAT_FORMAT = "%.10g"


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, pd.Timestamp):
        return o.isoformat()
    if isinstance(o, (set, tuple)):
        return list(o)
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


def _clean(o):
    """Make ``o`` JSON-safe (NaN -> None) recursively."""
    if isinstance(o, Mapping):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, float) and not np.isfinite(o):
        return None
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    return o


def config_hash(config: Mapping | None) -> str:
    """SHA-256 (first 16 hex digits) of a config mapping, key-order independent."""
    blob = json.dumps(_clean(config or {}), sort_keys=True, default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _versions() -> dict[str, str]:
    import matplotlib
    import scipy

    return {
        "newsbt": __version__,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "matplotlib": matplotlib.__version__,
    }


def data_sources(market) -> list[dict]:
    """One dict per series: publisher, code, unit, date range, origin, retrieved, attribution."""
    if market is None:
        return []
    out = []
    for s in market.levels.columns:
        p = market.provenance.get(s)
        col = market.levels[s].dropna()
        rng = (f"{col.index.min():%Y-%m-%d}", f"{col.index.max():%Y-%m-%d}") if len(col) else (None, None)
        if p is None:
            out.append(
                {
                    "series": s,
                    "publisher": "unknown",
                    "origin": "user_file",
                    "start": rng[0],
                    "end": rng[1],
                    "stale": False,
                }
            )
            continue
        d = p.to_dict()
        d["start"], d["end"] = rng
        out.append(d)
    return out


def _banners(sources: list[dict]) -> list[str]:
    out = []
    notes = [f"{s['series']}: {n}" for s in sources for n in s.get("notes") or []]
    if notes:  # i16: quarantined / unwritable cache files, listed with the data sources
        out.append("Data-source notices: " + " | ".join(notes))
    stale = [s["series"] for s in sources if s.get("stale")]
    if stale:
        out.append(
            f"Stale data: {', '.join(stale)} came from an old cache (the live source could not be "
            "reached); numbers may miss the latest days."
        )
    unknown = [
        s["series"]
        for s in sources
        if s.get("origin") == "user_file" and (not s.get("publisher") or s.get("publisher") == "unknown")
    ]
    if unknown:
        out.append(f"Unknown origin: {', '.join(unknown)} came from a user file with no stated publisher.")
    return out


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    d = df.copy()
    for c in d.columns:
        if d[c].map(lambda v: isinstance(v, (tuple, list))).any() if d[c].dtype == object else False:
            d[c] = d[c].map(lambda v: ";".join(map(str, v)) if isinstance(v, (tuple, list)) else v)
    d.to_csv(
        path, index=not isinstance(d.index, pd.RangeIndex), float_format=FLOAT_FORMAT, lineterminator="\n"
    )


def default_sections(study=None, bt=None, *, market=None, events=None, articles=None) -> list[Section]:
    """The standard sections (verdict, events, themes x markets, backtest, data and method,
    excluded pairs), the same from the API and the CLI."""
    return standard_sections(study, bt, sources=data_sources(market), events=events, articles=articles)


def _study_text(study) -> str:
    n_pairs = len(study.pairs)
    n_ex = len(study.excluded)
    return (
        f"{n_pairs} event-series pairs kept, {n_ex} excluded (reasons in the table). Window "
        f"{list(study.settings['window'])}, estimation {list(study.settings['estimation'])}, model '{study.settings['model']}'. "
        f"All changes in {_unit_of(study)}."
    )


def _unit_of(study) -> str:
    return getattr(study, "unit", "bp") or "bp"


def portfolio_stats(bt) -> dict[str, Any]:
    """The book's headline (``bt.book``: figure, unit, total, Sharpe, placebo p ...; never a bp sum
    across yields and FX), or for other objects their ``stats`` (statistic -> value)."""
    book = getattr(bt, "book", None)
    if isinstance(book, pd.Series):
        return book.to_dict()
    st = bt.stats
    if isinstance(st, Mapping):
        return dict(st)
    if isinstance(st, pd.DataFrame):
        return (st["total"] if "total" in st else st.iloc[:, 0]).to_dict()
    return {}


def _bt_text(bt) -> str:
    get = portfolio_stats(bt).get
    if get("figure") is not None:  # the book, its unit stated
        return (
            f"Backtest book ({get('figure')}, {get('unit')}; {get('scaling')}): net P&L {get('total'):.3g} "
            f"{get('unit')}, Sharpe (252-day) {get('sharpe'):.3g} at {get('exposure'):.0%} exposure, "
            f"{int(get('n_trades'))} trades, {int(get('n_bets'))} distinct bets."
        )
    parts = []
    for k, lab in (
        ("total_bp", "total net P&L (bp)"),
        ("sharpe", "Sharpe (252-day)"),
        ("n_trades", "trades"),
    ):
        v = get(k)
        if v is not None:
            parts.append(f"{lab} {v:.3g}" if isinstance(v, float) else f"{lab} {v}")
    return "Backtest: " + (", ".join(parts) if parts else "see the table") + "."


def _check_formats(formats: Sequence[str]) -> None:
    """Raise :class:`ConfigError` unless ``formats`` is a subset of {"html", "md"}."""
    bad = set(formats) - {"html", "md"}
    if bad:
        raise ConfigError(f"report formats {sorted(bad)} unknown: use 'html' and/or 'md'")


def _start_progress(progress: Callable[[str], None] | None, secs: Sequence[Section]) -> Callable[[str], None]:
    """The progress callback (a no-op when None), told the number of ticks when it can ``extend``."""
    progress = progress if progress is not None else (lambda label: None)
    if hasattr(progress, "extend"):
        progress.extend(sum(len(x.figures) + len(x.tables) for x in secs))
    return progress


def _summary_of(
    tmp: Path,
    title: str,
    as_of: str | None,
    config: Mapping | None,
    summary: Mapping | None,
    sources: list[dict],
    banners: list[str],
    run: dict,
    study=None,
    bt=None,
) -> dict:
    """Contents of ``summary.json`` (``run`` is shared, so its duration can be set afterwards)."""
    summ = {
        "title": title,
        "as_of": as_of,
        "config_hash": config_hash(config),
        "headline": _clean(dict(summary or {})),
        "data_sources": _clean(sources),
        "banners": banners,
        "versions": _versions(),
        "tables": sorted(p.name for p in (tmp / "tables").iterdir()),
        "run": run,
    }
    if study is not None:
        summ["study"] = _clean(_study_summary(study))
    if bt is not None:
        summ["backtest"] = _clean(portfolio_stats(bt))
    return summ


def _write_pages(
    tmp: Path,
    formats: Sequence[str],
    title: str,
    rendered: list[dict],
    sources: list[dict],
    banners: list[str],
    as_of: str | None,
    summ: Mapping[str, Any],
    run: Mapping[str, Any],
) -> None:
    """Render ``index.html`` and/or ``report.md`` into ``tmp`` (the summary gives hash and time)."""
    ctx = {
        "title": title,
        "sections": rendered,
        "sources": sources,
        "banners": banners,
        "as_of": as_of,
        "version": __version__,
        "config_hash": summ["config_hash"],
        "generated": run["finished_utc"],
        "show_rows": SHOW_ROWS,
    }
    env = _jinja_env()
    if "html" in formats:
        (tmp / "index.html").write_text(env.get_template("report.html.j2").render(**ctx), encoding="utf-8")
    if "md" in formats:
        (tmp / "report.md").write_text(env.get_template("report.md.j2").render(**ctx), encoding="utf-8")


def write_report(
    study=None,
    bt=None,
    out: str | os.PathLike = "reports/latest",
    *,
    market=None,
    events: pd.DataFrame | None = None,
    title: str | None = None,
    sections: Sequence[Section] | None = None,
    config: Mapping | None = None,
    summary: Mapping | None = None,
    formats: Sequence[str] = ("html", "md"),
    figure_formats: Sequence[str] = ("png", "svg"),
    log_file: str | os.PathLike | None = None,
    as_of: str | None = None,
    articles: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write a report folder atomically and return its path.

    Parameters
    ----------
    study : EventStudy, optional
        Adds the verdict, the themes x markets section (heatmap, CAAR small multiples, headline
        and test tables), data and method, and the excluded pairs.
    bt : BacktestResult, optional
        Adds the backtest to the verdict and its own section (equity/drawdown, stats in bp, trades).
    out : path
        Report folder; replaced atomically if it exists.
    market : Market, optional
        Its provenance becomes the data-sources table and banner (stale cache, unknown origin).
    events : DataFrame, optional
    title : str, optional
        Default: names the themes and series studied.
    sections : list of Section, optional
        Custom sections (e.g. the demo's story); one with the ``key`` of a standard section
        replaces it, the rest follow the verdict. Sections are ordered verdict, event(s), themes x
        markets, official interventions, backtest, data and method, excluded pairs.
    config : mapping, optional
        The study config; its hash goes into ``summary.json``.
    summary : mapping, optional
        Extra headline numbers for ``summary.json["headline"]``.
    formats : {"html", "md"} subset
    figure_formats : {"png", "svg"} subset
    log_file : path, optional
        A log file to copy into the report folder as ``run.log``.
    as_of : str, optional
        The run's as-of date (shown in the report and summary).
    articles : DataFrame, optional
        The articles behind ``events`` (counted in "Data and method").
    progress : callable, optional
        Called with a label per figure and table written; when it has an ``extend(n)`` method it
        is first told how many ticks to expect (the CLI's progress bar).

    Returns
    -------
    pathlib.Path
        The report folder.
    """
    t0 = time.time()
    _check_formats(formats)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    secs = arrange(
        default_sections(study, bt, market=market, events=events, articles=articles) + list(sections or [])
    )
    if title is None:
        title = default_title(study, bt, events)
    progress = _start_progress(progress, secs)
    sources = data_sources(market)
    banners = _banners(sources)

    _remove_stale_temps(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    os.chmod(tmp, dir_mode())  # i16: the user's umask, not mkdtemp's 0700
    try:
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        rendered = _render_sections(secs, tmp, figure_formats, progress)

        run = {"finished_utc": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"), "duration_s": None}
        summ = _summary_of(tmp, title, as_of, config, summary, sources, banners, run, study, bt)
        _write_pages(tmp, formats, title, rendered, sources, banners, as_of, summ, run)
        if log_file is not None and Path(log_file).exists():
            shutil.copyfile(log_file, tmp / "run.log")
        run["duration_s"] = round(time.time() - t0, 3)
        (tmp / "summary.json").write_text(
            json.dumps(summ, indent=2, sort_keys=True, default=_json_default) + "\n", encoding="utf-8"
        )
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("report written to %s", out)
    return out


def default_title(study=None, bt=None, events: pd.DataFrame | None = None) -> str:
    """A title naming what was studied: themes and series (never just "newsbt report")."""
    from backtests._labels import join_words, ordered, series_label, theme_label

    what = "Event study" if study is not None else "Signal backtest" if bt is not None else "newsbt report"
    themes = sorted(events["theme"].astype(str).unique()) if events is not None and "theme" in events else []
    series = ordered(study.pairs["series"]) if study is not None and len(study.pairs) else []
    parts = [what]
    if themes:
        parts.append(
            ": "
            + (join_words(theme_label(t) for t in themes) if len(themes) <= 4 else f"{len(themes)} themes")
        )
    if series:
        parts.append(
            " on "
            + (join_words(series_label(x) for x in series) if len(series) <= 4 else f"{len(series)} series")
        )
    return "".join(parts)


def _build_figure(fig):
    """A Figure from a section's entry (a Figure or a callable building one)."""
    return fig() if callable(fig) and not hasattr(fig, "savefig") else fig


def _figure_payload(fig, name: str, folder: Path, blobs: dict[str, bytes]) -> dict:
    """Write a figure's files (PNG at screen resolution: the Markdown's image and the HTML
    fallback; SVG when asked); the HTML embeds whichever is smaller."""
    from backtests import plots

    for fmt, data in blobs.items():
        (folder / f"{name}.{fmt}").write_bytes(data)
    fmt = min(blobs, key=lambda k: len(blobs[k]))
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    w, h = (float(v) for v in fig.get_size_inches() * plots.SCREEN_DPI)
    return {"name": name, "png": f"figures/{name}.png", "b64": base64.b64encode(blobs[fmt]).decode(),
            "mime": mime, "width": round(w), "height": round(h)}  # fmt: skip


def _slug(text: str, used: set[str]) -> str:
    import re

    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    slug, i = base, 2
    while slug in used:
        slug, i = f"{base}-{i}", i + 1
    used.add(slug)
    return slug


#: formatting one table costs about as much as drawing half an axes (for sharing the work)
_TABLE_COST = 0.5


def _render_sections(
    secs: Sequence[Section], tmp: Path, figure_formats: Sequence[str], progress
) -> list[dict]:
    """Figures (each drawn once per format, files + embedded payload; about half of them in a
    helper process, see :mod:`backtests._figures`) and tables (CSV, HTML, Markdown) per section;
    ``progress`` ticks once per figure and per table as each is done."""
    from backtests import _figures

    formats = ["png", *(["svg"] if "svg" in figure_formats else [])]
    rendered, used_names, anchors = [], set(), set()
    figs, fig_slots, table_jobs = [], [], []
    for si, sec in enumerate(secs):
        slots: list = []
        for name, fig, caption in sec.figures:
            fname = name if name not in used_names else f"{name}_{si}"
            used_names.add(fname)
            figs.append(_build_figure(fig))
            fig_slots.append((slots, len(slots), fname, caption))
            slots.append(None)
        tabs: list = []
        for name, df, caption in sec.tables:
            if df is not None:
                table_jobs.append(_table_job(tabs, len(tabs), sec, name, df, caption, tmp, progress))
                tabs.append(None)
        rendered.append({"title": sec.title, "id": _slug(sec.title, anchors), "paragraphs": sec.paragraphs,
                         "bullets": sec.bullets, "note": sec.note, "figures": slots, "tables": tabs})  # fmt: skip

    def done(i: int, blobs: dict[str, bytes]) -> None:
        slots, k, fname, caption = fig_slots[i]
        progress(f"figure {fname}")
        slots[k] = _figure_payload(figs[i], fname, tmp / "figures", blobs) | {"caption": caption}

    _figures.render_all(figs, formats, own_load=_TABLE_COST * len(table_jobs), on_done=done,
                        between=table_jobs)  # fmt: skip
    return rendered


def _table_job(tabs: list, k: int, sec: Section, name: str, df, caption: str, tmp: Path, progress):
    """A job formatting one table (CSV, HTML, Markdown) into ``tabs[k]``."""

    def job() -> None:
        d = df if isinstance(df, pd.DataFrame) else pd.DataFrame(df)
        progress(f"table {name}")
        if sec.export:
            _write_csv(d, tmp / "tables" / f"{name}.csv")
        tabs[k] = {"name": name, "caption": caption, "html": html_table(d, tz=sec.tz, table_id=f"tbl-{name}"),
                   "md": md_table(d, tz=sec.tz), "csv": f"tables/{name}.csv" if sec.export else None,
                   "rows": len(d)}  # fmt: skip

    return job


def _study_summary(study) -> dict:
    """Headline numbers: every test over the event window (the CSV has all CAR windows)."""
    w = study.settings["window"]
    t = study.tests
    rows = t[(t["start"] == w[0]) & (t["end"] == w[1])].to_dict("records")
    return {
        "n_pairs": len(study.pairs),
        "n_excluded": len(study.excluded),
        "window": list(w),
        "estimation": list(study.settings["estimation"]),
        "model": study.settings["model"],
        "tests_event_window": rows,
    }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temps(out: Path) -> None:
    """Delete temp/old folders of ``out`` left by a killed run (their writer pid is gone)."""
    for p in out.parent.glob(f".{out.name}.*-*"):
        parts = p.name[len(out.name) + 2 :].split("-")
        if (
            len(parts) >= 2
            and parts[0] in ("tmp", "old")
            and parts[1].isdigit()
            and not _pid_alive(int(parts[1]))
        ):
            log.info("removing %s left by an interrupted run", p)
            shutil.rmtree(p, ignore_errors=True)


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out`` atomically, replacing an existing ``out``."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def _jinja_env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("backtests", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
