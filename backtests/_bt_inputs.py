"""Inputs of :func:`backtests.strategy.backtest`: market frames, per-series options, directions
from the events or the theme book, rule filters and sizes, the skipped-rows table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from signals.errors import ConfigError, InputFormatError

if TYPE_CHECKING:  # (annotations only: strategy imports this module)
    from backtests.strategy import Rule

log = logging.getLogger(__name__)

_SKIP_COLUMNS = ["event_id", "series", "rule", "reason", "detail"]


def _market_frames(market: Any) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """(changes in bp, sessions mask, object for align_events) from a Market or a frame."""
    from backtests.market.changes import to_changes
    from backtests.market.spec import Market, SeriesSpec

    if isinstance(market, Market):
        chg = to_changes(market)
        sess = market.levels.notna().reindex(index=chg.index, columns=chg.columns, fill_value=False)
        return chg, sess, market
    if isinstance(market, pd.DataFrame):
        meta = market.attrs.get("newsbt_series")
        if not isinstance(meta, Mapping):
            raise InputFormatError(
                "backtest: the market DataFrame carries no attrs['newsbt_series'] (series kind, zone and "
                "close); pass the Market from backtests.load_market instead"
            )
        missing = [c for c in market.columns if str(c) not in meta]
        if missing:
            raise InputFormatError(f"backtest: columns {missing} have no entry in attrs['newsbt_series']")
        if all("first_obs" in meta[str(c)] for c in market.columns):
            # a changes frame from backtests.to_changes: sessions are its non-NaN cells + first obs
            chg = market.astype(float)
            sess = chg.notna()
            for c in chg.columns:
                fo = meta[str(c)].get("first_obs")
                if fo and pd.Timestamp(fo) in sess.index:
                    sess.loc[pd.Timestamp(fo), c] = True
            return chg, sess, market
        import datetime as dt

        specs = {}
        for c in market.columns:
            m = meta[str(c)]
            try:
                specs[c] = SeriesSpec(
                    id=str(c),
                    description=str(m.get("description", "")),
                    kind=m["kind"],
                    unit=str(m.get("level_unit", m.get("unit", ""))),
                    tz=m["tz"],
                    close=m["close"]
                    if isinstance(m["close"], dt.time)
                    else dt.time.fromisoformat(str(m["close"])),
                    calendar=str(m.get("calendar", "data")),
                )
            except KeyError as exc:
                raise InputFormatError(
                    f"backtest: attrs['newsbt_series'][{c!r}] lacks {exc}; it needs kind, tz and close"
                ) from None
        mk = Market(market, specs)
        return _market_frames(mk)
    raise InputFormatError(
        f"backtest: market must be a backtests.Market (or a levels frame with attrs['newsbt_series']), got "
        f"{type(market).__name__}"
    )


def _per_series_value(x: Any, series: Sequence[str], what: str, *, allow_none: bool) -> np.ndarray:
    if x is None:
        if not allow_none:
            raise ConfigError(f"backtest: {what} must be given")
        return np.full(len(series), np.inf)
    if isinstance(x, Mapping | pd.Series):
        d = dict(x)
        unknown = sorted(set(map(str, d)) - set(series) - {"default"})
        if unknown:
            raise ConfigError(f"backtest: {what} names unknown series {unknown}; market has {list(series)}")
        miss = [s for s in series if s not in d and "default" not in d]
        if miss:
            raise ConfigError(f"backtest: {what} has no value for {miss}; add them or a 'default' key")
        a = np.array([float(d.get(s, d.get("default"))) for s in series])
    else:
        a = np.full(len(series), float(x))
    if np.any(a < 0) or np.any(np.isnan(a)):
        raise ConfigError(f"backtest: {what} must be >= 0 (got {a.tolist()})")
    return a


class _Directions:
    """Lazily computed direction matrices (events x series, NaN = no view) by source."""

    def __init__(self, events: pd.DataFrame, series: list[str], themes: Any) -> None:
        self.ev, self.series, self.themes = events, series, themes
        self._book: Any = None
        self._cache: dict[str, tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]] = {}

    def book(self) -> Any:
        # a broken book is an error (it propagates), never a silent "no view"
        if self._book is None:
            if self.themes is not None:
                self._book = self.themes
            else:
                import signals

                self._book = signals.default_themes()
        return self._book

    def stance(self) -> np.ndarray:
        """Each event's stance (+1 escalation, 0 neutral/balanced, -1 de-escalation; NaN: none)."""
        if "stance" not in self.ev.columns:
            return np.full(len(self.ev), np.nan)
        return parse_stance(self.ev["stance"])

    def from_book(self) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """(book directions x event stance, why missing (per event), per-event flag: the theme's
        direction flips with the sign of sentiment).

        An event with a stance gets ``book.direction(theme, series) x stance`` (as
        :func:`signals.extract_events` builds ``direction_<series>``): escalation keeps the book's
        sign, de-escalation reverses it, a neutral or balanced event (stance 0) has no view. The
        sentiment flip applies only to events without a stance (the stance replaces it)."""
        idx = self.ev.index
        out = pd.DataFrame(np.nan, index=idx, columns=self.series)
        flip = np.zeros(len(idx), dtype=bool)
        if "theme" not in self.ev.columns:
            return (
                out,
                np.full(len(idx), "events have no 'theme' column for the theme book", dtype=object),
                flip,
            )
        b = self.book()
        themes = self.ev["theme"]
        uniq = pd.unique(themes.dropna())
        table: dict[tuple[Any, str], float] = {}
        signed: dict[Any, bool] = {}
        ss = getattr(b, "sentiment_sign", None)
        for th in uniq:  # loop over distinct themes x series (small), not events
            signed[th] = bool(ss(th)) if callable(ss) else False
            for s in self.series:
                table[(th, s)] = float(b.direction(th, s))  # 0: the book has no view
        for s in self.series:
            out[s] = themes.map({th: table[(th, s)] for th in uniq}).astype(float)
        flip = themes.map(signed).astype("boolean").fillna(False).to_numpy(dtype=bool)
        st = self.stance()
        has = ~np.isnan(st)
        out = out.mul(np.where(has, np.sign(st), 1.0), axis=0)  # theme direction x event stance
        flip &= ~has  # the stance replaces the sentiment sign: never both
        why = np.full(len(idx), "theme book has no view", dtype=object)
        why[has & (st == 0)] = "neutral event (stance 0): theme direction x stance gives no view"
        return out.replace(0.0, np.nan), why, flip

    def get(self, mode: str | int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
        """(direction matrix, detail strings for missing ones, from-book mask, per-event book flip)."""
        key = str(mode)
        if key in self._cache:
            return self._cache[key]
        idx, ev = self.ev.index, self.ev
        out = pd.DataFrame(np.nan, index=idx, columns=self.series)
        detail = pd.DataFrame("", index=idx, columns=self.series, dtype=object)
        from_book = np.zeros(out.shape, dtype=bool)
        flip = np.zeros(len(idx), dtype=bool)
        if mode in (1, -1):
            out[:] = float(mode)
        elif mode == "book":
            out, why, flip = self.from_book()
            detail[:] = np.repeat(why[:, None], len(self.series), axis=1)
            from_book[:] = True
        else:
            book_cols = []
            for s in self.series:
                c = f"direction_{s}"
                if c in ev.columns:
                    out[s] = pd.to_numeric(ev[c], errors="coerce")
                    detail[s] = f"{c} is NaN/0 (theme has no view)"
                elif "direction" in ev.columns:
                    out[s] = pd.to_numeric(ev["direction"], errors="coerce")
                    detail[s] = "direction is NaN/0"
                elif mode == "auto":
                    book_cols.append(s)
                else:
                    detail[s] = f"no {c} or direction column"
            if book_cols:
                b, why, flip = self.from_book()
                out[book_cols] = b[book_cols]
                detail[book_cols] = np.repeat(why[:, None], len(book_cols), axis=1)
                from_book[:, [self.series.index(s) for s in book_cols]] = True
        out = out.where(out != 0)
        self._cache[key] = (out, detail, from_book, flip)
        return self._cache[key]


def _rule_mask(ev: pd.DataFrame, r: Rule) -> tuple[np.ndarray, np.ndarray]:
    """(selected events, detail of why each unselected one failed)."""
    n = len(ev)
    keep = np.ones(n, dtype=bool)
    why = np.full(n, "", dtype=object)

    def need(col: str) -> pd.Series:
        if col not in ev.columns:
            raise InputFormatError(
                f"Rule {r.name!r} filters on {col!r} but the events have no {col!r} column"
            )
        return ev[col]

    def apply(cond: np.ndarray, text: str) -> None:
        fail = keep & ~cond
        why[fail] = text
        keep[fail] = False

    if r.themes is not None:
        apply(need("theme").isin(r.themes).to_numpy(), f"theme not in {list(r.themes)}")
    if (
        r.min_abs_sentiment > 0
        or r.sentiment_range is not None
        or r.sentiment_sign
        or r.size_by == "sentiment"
    ):
        sent = pd.to_numeric(need("sentiment"), errors="coerce").to_numpy(dtype=float)
        apply(~np.isnan(sent), "sentiment is NaN")
        if r.min_abs_sentiment > 0:
            apply(np.abs(np.nan_to_num(sent)) >= r.min_abs_sentiment, f"|sentiment| < {r.min_abs_sentiment}")
        if r.sentiment_range is not None:
            lo, hi = r.sentiment_range
            s0 = np.nan_to_num(sent)
            apply((s0 >= lo) & (s0 <= hi), f"sentiment outside [{lo}, {hi}]")
    if r.min_articles > 1 or r.size_by == "n_articles":
        na = pd.to_numeric(need("n_articles"), errors="coerce").to_numpy(dtype=float)
        apply(np.nan_to_num(na) >= max(r.min_articles, 1), f"n_articles < {max(r.min_articles, 1)}")
    return keep, why


def _rule_sizes(ev: pd.DataFrame, r: Rule) -> np.ndarray:
    size = np.full(len(ev), float(r.size))
    if r.size_by == "sentiment":
        size = size * np.abs(pd.to_numeric(ev["sentiment"], errors="coerce").to_numpy(dtype=float))
    elif r.size_by == "n_articles":
        size = size * pd.to_numeric(ev["n_articles"], errors="coerce").to_numpy(dtype=float)
    if r.max_size is not None:
        size = np.minimum(size, r.max_size)
    return np.nan_to_num(size)


def _skip_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _SKIP_COLUMNS})
    return pd.concat(parts, ignore_index=True)[_SKIP_COLUMNS]


# --------------------------------------------------------------------------------------------
# backtest
# --------------------------------------------------------------------------------------------


def parse_stance(col: pd.Series) -> np.ndarray:
    """The events' ``stance`` column as floats: +1, 0, -1 or NaN (empty, None, NaN: no stance).

    Raises
    ------
    InputFormatError
        Any other value (a word such as ``"escalation"``, 0.5, ...), naming the rows and values:
        never coerced to NaN (which would trade the event as if it had no stance).
    """
    raw = col.where(~col.map(lambda v: isinstance(v, str) and not v.strip()), np.nan)
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna().to_numpy() & ~num.isin([-1.0, 0.0, 1.0]).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        vals = sorted({repr(v) for v in raw.to_numpy(dtype=object)[rows]})
        raise InputFormatError(
            f"events column 'stance': {int(bad.sum())} row(s) (e.g. rows {rows[:5].tolist()}) hold {', '.join(vals[:5])}; "
            "accepted values: +1 (escalation), 0 (neutral), -1 (de-escalation) or NaN/empty (no stance). "
            "Words such as 'escalation' belong in 'stance_kind'; map them to numbers in 'stance'"
        )
    return num.to_numpy(dtype=float)
