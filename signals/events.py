"""Tagged articles to dated theme events.

Per theme, articles whose timestamps are closer than ``gap`` form one burst and one event (a
single-linkage chain: a burst ends when the next article of that theme comes more than ``gap``
after the previous one). Each event carries its first article's UTC timestamp, the burst's end,
the number of articles, the mean VADER compound and its dispersion, a representative headline, the
article ids and, per series of the theme book, the expected direction of the move.

Bursts look across rows (they are the one cross-row step here besides deduplication in the
reader): partition the input by time with an overlap of ``gap`` if you run it on a distributed
engine.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from signals._timeparse import parse_timestamps
from signals.errors import ConfigError, InputFormatError
from signals.themes import ThemeBook, _resolve_book

__all__ = ["EVENT_COLUMNS", "events_from_table", "extract_events"]

log = logging.getLogger(__name__)

EVENT_COLUMNS = [
    "event_id",
    "theme",
    "timestamp",
    "end",
    "n_articles",
    "sentiment",
    "sentiment_sd",
    "headline",
    "article_ids",
    "stance",
    "stance_kind",
]


def _event_id(theme: str, ts: pd.Timestamp, ids: tuple[str, ...]) -> str:
    h = hashlib.sha1(("\x1f".join((theme, *ids))).encode("utf-8")).hexdigest()[:8]
    return f"{theme}-{ts.strftime('%Y%m%dT%H%MZ')}-{h}"


def _direction_columns(
    book: ThemeBook, themes: pd.Series, sentiment: pd.Series | None, stance: pd.Series | None = None
) -> dict[str, np.ndarray]:
    """direction_<series> = book sign x event stance where the event has one (+1 escalation keeps
    the book's sign, -1 de-escalation reverses it, 0 neutral/balanced = NaN: not traded); events
    without a stance (tables tagged by books without rules' stance, hand-made events) keep the old
    rule: book sign x (sign of sentiment where the theme says so). NaN = no view."""
    uniq = pd.unique(themes)
    flip = themes.map({t: book.sentiment_sign(t) for t in uniq}).to_numpy(dtype=bool)
    if sentiment is None:
        sgn = np.full(len(themes), np.nan)
    else:
        sgn = np.sign(sentiment.to_numpy(dtype=float))
        sgn[sgn == 0] = np.nan  # no signed view without a sentiment sign
    st = np.full(len(themes), np.nan) if stance is None else stance.to_numpy(dtype=float)
    has_st = ~np.isnan(st)
    st_sign = np.where(st == 0, np.nan, np.sign(st))
    out = {}
    for s in book.series:
        base = np.array(themes.map({t: book.direction(t, s) for t in uniq}), dtype=float)
        base[base == 0] = np.nan
        old = np.where(flip, base * sgn, base)
        out[f"direction_{s}"] = np.where(has_st, base * st_sign, old)
    return out


def _burst_stance(ex: pd.DataFrame, g) -> tuple[pd.Series, pd.Series]:
    """Per burst: stance = sign of the summed article stances (NaN when no article has one) and
    its kind: escalation / de-escalation / neutral (all 0) / mixed (both signs present)."""
    pos = (ex["stance"] > 0).groupby(ex["burst"]).sum()
    negs = (ex["stance"] < 0).groupby(ex["burst"]).sum()
    n = ex["stance"].notna().groupby(ex["burst"]).sum()
    total = g["stance"].sum(min_count=1)
    stance = np.sign(total).where(n > 0)
    kind = pd.Series("", index=stance.index, dtype=object)
    kind[stance > 0] = "escalation"
    kind[stance < 0] = "de-escalation"
    kind[(stance == 0) & (n > 0)] = "neutral"
    kind[(pos > 0) & (negs > 0)] = "mixed"
    return stance, kind


def _check_extract_args(tagged: pd.DataFrame, gap: str | pd.Timedelta, min_articles: int) -> pd.Timedelta:
    """Check the inputs of :func:`extract_events`; return ``gap`` as a Timedelta."""
    if not isinstance(tagged, pd.DataFrame):
        raise InputFormatError(f"extract_events needs a DataFrame, got {type(tagged).__name__}")
    missing = [c for c in ("article_id", "published", "themes") if c not in tagged.columns]
    if missing:
        raise InputFormatError(
            f"extract_events: tagged articles lack column(s) {missing}; run signals.tag_themes on "
            "signals.read_articles output first"
        )
    if not isinstance(tagged["published"].dtype, pd.DatetimeTZDtype):
        raise InputFormatError(
            "extract_events: 'published' must be tz-aware datetimes (UTC), as read_articles returns"
        )
    try:
        gap_td = pd.Timedelta(gap)
    except ValueError as exc:
        raise ConfigError(f"gap={gap!r} is not a time span (e.g. '6h', '90min')") from exc
    if gap_td < pd.Timedelta(0):
        raise ConfigError(f"gap={gap!r} must not be negative")
    if not isinstance(min_articles, (int, np.integer)) or min_articles < 1:
        raise ConfigError(f"min_articles={min_articles!r} must be a positive integer")
    return gap_td


def _theme_rows(tagged: pd.DataFrame, only: list[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The articles' needed columns, and one row per article x theme with its score and stance.

    The second frame is sorted by theme, UTC ``published`` and ``article_id``.
    """
    cols = ["article_id", "published", "themes"]
    df = tagged[cols].copy()
    df["title"] = tagged["title"].astype("string").fillna("").astype(object) if "title" in tagged else ""
    df["compound"] = tagged["compound"].astype(float) if "compound" in tagged else np.nan
    ex = df.explode("themes").dropna(subset=["themes"]).rename(columns={"themes": "theme"})
    if only is not None:
        ex = ex[ex["theme"].isin(list(only))]
    if len(ex):
        sc = np.zeros(len(ex))
        stn = np.full(len(ex), np.nan)
        for t in pd.unique(ex["theme"]):
            m = (ex["theme"] == t).to_numpy()
            if f"{t}_score" in tagged.columns:
                sc[m] = tagged.loc[ex.index[m], f"{t}_score"].to_numpy(dtype=float)
            if f"{t}_stance" in tagged.columns:
                stn[m] = tagged.loc[ex.index[m], f"{t}_stance"].to_numpy(dtype=float)
        ex["score"] = sc
        ex["stance"] = stn
    else:
        ex["score"] = pd.Series(dtype=float)
        ex["stance"] = pd.Series(dtype=float)
    ex["published"] = ex["published"].dt.tz_convert("UTC")
    ex = ex.sort_values(["theme", "published", "article_id"], kind="mergesort").reset_index(drop=True)
    return df, ex


def _burst_numbers(ex: pd.DataFrame, gap_td: pd.Timedelta) -> np.ndarray:
    """Burst number per row of ``ex``: a new burst at each new theme or gap longer than ``gap_td``."""
    t_ns = pd.DatetimeIndex(ex["published"]).as_unit("ns").asi8
    theme_arr = ex["theme"].to_numpy(dtype=object)
    new = np.ones(len(ex), dtype=bool)
    if len(ex) > 1:
        new[1:] = (theme_arr[1:] != theme_arr[:-1]) | ((t_ns[1:] - t_ns[:-1]) > gap_td.value)
    return np.cumsum(new) - 1


def _aggregate_bursts(ex: pd.DataFrame) -> pd.DataFrame:
    """One row per burst: theme, first/last time, count, sentiment mean/sd, stance, headline, ids."""
    g = ex.groupby("burst", sort=True)
    agg = g.agg(
        theme=("theme", "first"),
        timestamp=("published", "first"),
        end=("published", "last"),
        n_articles=("article_id", "size"),
        sentiment=("compound", "mean"),
    )
    agg["sentiment_sd"] = g["compound"].std(ddof=0)
    agg["stance"], agg["stance_kind"] = _burst_stance(ex, g)
    # article ids per burst: ex is sorted by burst (contiguous runs), so one split, not a Python agg
    b = ex["burst"].to_numpy()
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]]) if len(b) else np.zeros(0, dtype=int)
    runs = np.split(ex["article_id"].to_numpy(dtype=object), starts[1:]) if len(b) else []
    ids = pd.Series([tuple(r) for r in runs], index=b[starts], dtype=object)
    # representative headline: highest theme score, then earliest, then smallest id
    rep = ex.sort_values(
        ["burst", "score", "published", "article_id"], ascending=[True, False, True, True], kind="mergesort"
    )
    headline = rep.groupby("burst", sort=True)["title"].first()
    return agg.assign(headline=headline, article_ids=ids)


def _finish_events(ev: pd.DataFrame, book: ThemeBook) -> pd.DataFrame:
    """Add event ids and direction columns, sort, fix the dtypes and order the columns."""
    ev.insert(
        0,
        "event_id",
        [_event_id(t, ts, a) for t, ts, a in zip(ev["theme"], ev["timestamp"], ev["article_ids"])],
    )
    ev = ev.sort_values(["timestamp", "theme", "event_id"], kind="mergesort").reset_index(drop=True)
    ev["n_articles"] = ev["n_articles"].astype("int64")
    ev["timestamp"] = ev["timestamp"].astype("datetime64[ns, UTC]")
    ev["end"] = ev["end"].astype("datetime64[ns, UTC]")
    ev["stance"] = ev["stance"].astype(float)
    dirs = _direction_columns(book, ev["theme"], ev["sentiment"], ev["stance"])
    for k, v in dirs.items():
        ev[k] = v
    return ev[EVENT_COLUMNS + list(dirs)]


def extract_events(
    tagged: pd.DataFrame,
    *,
    gap: str | pd.Timedelta = "6h",
    min_articles: int = 1,
    themes: ThemeBook | str | Path | None = None,
    only: list[str] | None = None,
) -> pd.DataFrame:
    """Group tagged articles into one event per theme burst.

    Parameters
    ----------
    tagged : pandas.DataFrame
        Output of :func:`signals.tag_themes` (``themes`` tuples), ideally also of
        :func:`signals.score_sentiment` (``compound``); needs ``article_id``, ``published`` (tz-aware)
        and ``title``. Without ``compound`` the sentiment is NaN.
    gap : str or Timedelta
        Articles of one theme less than or equal to ``gap`` apart (time, e.g. ``"6h"``) chain into one burst.
    min_articles : int
        Bursts with fewer articles are dropped (counted in ``attrs["newsbt_events"]`` and logged).
    themes : ThemeBook, str or Path, optional
        The book whose directions are used (default :func:`signals.default_themes`).
    only : list of str, optional
        Restrict to these themes.

    Returns
    -------
    pandas.DataFrame
        One row per event, sorted by ``timestamp`` then ``theme``: ``event_id`` (stable:
        ``<theme>-<YYYYmmddTHHMM>Z-<hash of the article ids>``), ``theme``, ``timestamp`` (UTC, first
        article), ``end`` (UTC, last article), ``n_articles``, ``sentiment`` (mean compound, -1..1),
        ``sentiment_sd`` (population standard deviation of compound; 0 for one article),
        ``headline`` (title of the article with the highest theme score; ties: earliest, then
        smallest id), ``article_ids`` (tuple, time order), ``stance`` (sign of the summed article
        stances ``<theme>_stance``: +1 escalation, -1 de-escalation, 0 neutral or balanced; NaN when
        the tagged table has no stance), ``stance_kind`` ("escalation", "de-escalation", "neutral",
        "mixed" when both signs occur, "" without stance) and ``direction_<series>`` per series of
        the book: book sign x stance (NaN for stance 0: neutral and balanced events are not
        traded); without a stance, book sign x sentiment sign for sentiment-signed themes. NaN
        also where the theme has no view.

    Notes
    -----
    Deterministic: the same articles in any row order give the same events and ids.
    """
    gap_td = _check_extract_args(tagged, gap, min_articles)
    book = _resolve_book(themes)
    tagged_by = tagged.attrs.get("newsbt_theme_book")
    if themes is None and tagged_by is not None and tagged_by != book.name:
        raise ConfigError(
            f"extract_events: these articles were tagged with theme book {tagged_by!r}, but no themes= was "
            f"given, so the default book's directions would be used; pass themes=<that book> "
            f"(the ThemeBook or its TOML path)"
        )

    df, ex = _theme_rows(tagged, only)
    ex["burst"] = _burst_numbers(ex, gap_td)
    ev = _aggregate_bursts(ex)
    n_bursts = len(ev)
    ev = ev[ev["n_articles"] >= min_articles]
    dropped = n_bursts - len(ev)
    if dropped:
        log.info("extract_events: %d burst(s) with fewer than %d articles dropped", dropped, min_articles)
    ev = ev.reset_index(drop=True)
    ev = _finish_events(ev, book)
    ev.attrs["newsbt_events"] = {
        "articles_tagged": int(df["themes"].map(len).gt(0).sum()),
        "bursts": int(n_bursts),
        "dropped_min_articles": int(dropped),
        "events": len(ev),
        "gap": str(gap_td),
    }
    return ev


_DIRECTION_WORDS = {
    "up": 1.0,
    "down": -1.0,
    "long": 1.0,
    "short": -1.0,
    "buy": 1.0,
    "sell": -1.0,
    "+": 1.0,
    "-": -1.0,
    "none": 0.0,
    "flat": 0.0,
}


def _table_timestamps(out: pd.DataFrame, tz: str | None) -> pd.Series:
    """The event table's ``timestamp`` column parsed to UTC (rows with a ``date`` may lack one)."""
    ts, _, why = parse_timestamps(out["timestamp"], tz)
    bad = (why != "").to_numpy()
    if "date" in out:
        bad &= out["date"].isna().to_numpy()
    if bad.any():
        rows = (np.flatnonzero(bad) + 1)[:10].tolist()
        reasons = sorted(set(why[bad]))
        hint = (
            " Pass tz='<IANA zone>' or give offsets (e.g. +09:00)."
            if "naive_timestamp" in reasons
            else ""
        )
        raise InputFormatError(
            f"event table: bad timestamp in row(s) {rows} ({', '.join(reasons)}).{hint}"
        )
    return ts


def _table_dates(date: pd.Series) -> pd.Series:
    """The event table's ``date`` column as naive midnight datetimes (no zone allowed)."""
    d = pd.to_datetime(date, errors="coerce")
    if getattr(d.dt, "tz", None) is not None:
        raise InputFormatError(
            "event table: 'date' must be calendar dates without time zone; use 'timestamp' for instants"
        )
    bad = d.isna().to_numpy() & date.notna().to_numpy()
    if bad.any():
        raise InputFormatError(
            f"event table: unparseable date in row(s) {(np.flatnonzero(bad) + 1)[:10].tolist()}"
        )
    return d.dt.normalize()


def _table_directions(raw: pd.Series) -> np.ndarray:
    """The event table's ``direction`` column as floats -1/0/+1 (NaN where empty: no view)."""
    words = raw.astype("string").str.strip().str.lower().map(_DIRECTION_WORDS)
    v = pd.to_numeric(raw, errors="coerce").where(words.isna(), words.astype("Float64"))
    blank = raw.isna() | (raw.astype("string").str.strip() == "")
    bad = (~v.isin([-1, 0, 1]) | v.isna()) & ~blank.fillna(True)
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy()) + 1)[:10].tolist()
        vals = raw[bad.to_numpy()].astype(str).head(5).tolist()
        raise InputFormatError(
            f"event table: direction must be -1, 0, +1 or up/down/long/short/buy/sell (empty = no "
            f"view); rows {rows} have {vals}"
        )
    return v.astype(float).to_numpy()


def _set_event_ids(out: pd.DataFrame) -> None:
    """Give ``out`` an ``event_id`` column in place, or check the given ids are unique."""
    if "event_id" not in out:
        when = out["timestamp"] if "timestamp" in out else out["date"].dt.tz_localize("UTC")
        if "timestamp" in out and "date" in out:
            when = when.fillna(out["date"].dt.tz_localize("UTC"))
        ids = []
        for i, (t, w) in enumerate(zip(out["theme"], when)):
            key = (str(w), str(out["headline"].iat[i]) if "headline" in out else "")
            ids.append(_event_id(t, w, key))
        out.insert(0, "event_id", ids)
        if out["event_id"].duplicated().any():
            out["event_id"] = out["event_id"] + "-" + out.groupby("event_id").cumcount().astype(str)
    elif out["event_id"].duplicated().any():
        dup = out.loc[out["event_id"].duplicated(), "event_id"].head(5).tolist()
        raise InputFormatError(f"event table: duplicate event_id values {dup}")


def events_from_table(
    df: pd.DataFrame,
    *,
    tz: str | None = None,
    themes: ThemeBook | str | Path | None = None,
) -> pd.DataFrame:
    """Normalise a user's own event list (hand-made CSV, spreadsheet export) to the Events schema.

    Parameters
    ----------
    df : pandas.DataFrame
        Needs ``theme`` and either ``timestamp`` (date-time with an offset, or naive with ``tz=``)
        or ``date`` (a calendar date: kept as ``date`` so that alignment places it at the end of
        that date in each market's zone). Optional: ``direction`` (scalar +1/-1 for every series),
        ``direction_<series>``, ``sentiment``, ``headline``, ``event_id``, ``series`` and any other
        columns (passed through).
    tz : str, optional
        IANA zone of naive ``timestamp`` values. Without it a naive timestamp is an error.
    themes : ThemeBook, str or Path, optional
        Book used to fill ``direction_<series>`` for themes it knows when the table has no
        ``direction`` / ``direction_*`` columns (sentiment-signed themes need a ``sentiment`` column;
        else NaN).

    Returns
    -------
    pandas.DataFrame
        ``event_id`` (given, or ``<theme>-<time>-<hash>``), ``theme``, ``timestamp`` (UTC) and/or
        ``date`` (datetime64, midnight-naive), plus the other columns.

    Raises
    ------
    InputFormatError
        Missing columns, unparseable or naive times (row numbers listed), bad directions.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputFormatError(f"events_from_table needs a DataFrame, got {type(df).__name__}")
    lower = {str(c).lower(): c for c in df.columns}
    out = df.rename(
        columns={lower[k]: k for k in ("theme", "timestamp", "date", "direction") if k in lower}
    ).copy()
    if "theme" not in out:
        raise InputFormatError(f"event table needs a 'theme' column; columns are {list(df.columns)}")
    if "timestamp" not in out and "date" not in out:
        raise InputFormatError(
            f"event table needs a 'timestamp' (with time zone) or a 'date' column; columns are {list(df.columns)}"
        )
    out = out.reset_index(drop=True)
    out["theme"] = out["theme"].astype(str).str.strip()
    if (out["theme"] == "").any() or out["theme"].isin(["nan", "None", "<NA>"]).any():
        rows = (np.flatnonzero(out["theme"].isin(["", "nan", "None", "<NA>"]).to_numpy()) + 1).tolist()
        raise InputFormatError(f"event table: empty theme in row(s) {rows[:10]}")
    if "timestamp" in out:
        out["timestamp"] = _table_timestamps(out, tz)
    if "date" in out:
        out["date"] = _table_dates(out["date"])
    if "direction" in out:
        out["direction"] = _table_directions(out["direction"])
    has_dir = "direction" in out or any(str(c).startswith("direction_") for c in out.columns)
    if not has_dir:
        book = _resolve_book(themes)
        sent = pd.to_numeric(out["sentiment"], errors="coerce") if "sentiment" in out else None
        for k, v in _direction_columns(book, out["theme"], sent).items():
            out[k] = v
    _set_event_ids(out)
    front = [c for c in ("event_id", "theme", "timestamp", "date") if c in out]
    return out[front + [c for c in out.columns if c not in front]]
