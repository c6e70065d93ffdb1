"""Human names, maturity order and one fixed colour per series, shared by charts, tables and the
verdict (no plotting import here, so the text side stays light)."""

from __future__ import annotations

import re
import zlib

#: Okabe-Ito (colour-blind safe): the bundled series get fixed colours so a series looks the same
#: in every chart of every report; other ids get a stable colour from the same palette.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"]
_FIXED = {
    "ust_2y": "#56B4E9",
    "ust_5y": "#999999",
    "ust_10y": "#0072B2",
    "ust_30y": "#000000",
    "jgb_2y": "#E69F00",
    "jgb_5y": "#999999",
    "jgb_10y": "#D55E00",
    "jgb_30y": "#CC79A7",
    "usdjpy": "#009E73",
}
_TENOR = re.compile(r"^(?P<family>[a-z]+)_(?P<num>\d+)(?P<u>[my])$")
_ACRONYMS = {"boj": "BoJ", "fed": "Fed", "ecb": "ECB", "us": "US", "fx": "FX", "jgb": "JGB", "ust": "UST",
             "fomc": "FOMC", "cpi": "CPI", "mof": "MOF", "usdjpy": "USD/JPY",
             "jpy": "JPY", "usd": "USD", "eur": "EUR"}  # fmt: skip
_UPPER = {"ust": "UST", "jgb": "JGB", "bund": "Bund", "gilt": "Gilt", "oat": "OAT", "btp": "BTP"}


def tenor_months(series: str) -> float | None:
    """Maturity in months of a yield id like ``ust_10y`` / ``jgb_3m`` (None when not a tenor)."""
    m = _TENOR.match(str(series))
    if not m:
        return None
    return int(m["num"]) * (12 if m["u"] == "y" else 1)


def family(series: str) -> str:
    """``ust`` for ``ust_10y``; FX pairs and other ids are their own family (``fx`` for 6-letter
    currency pairs)."""
    m = _TENOR.match(str(series))
    if m:
        return m["family"]
    s = str(series)
    return "fx" if len(s) == 6 and s.isalpha() else s


def sort_key(series: str) -> tuple:
    """Order: yield families (alphabetical) by maturity (2y < 5y < 10y < 30y), then the rest."""
    t = tenor_months(series)
    return (0, family(series), t, "") if t is not None else (1, family(series), 0.0, str(series))


def ordered(series) -> list[str]:
    """Series ids in display order (see :func:`sort_key`), each once."""
    return sorted(dict.fromkeys(map(str, series)), key=sort_key)


def series_label(series: str) -> str:
    """``UST 10y``, ``JGB 2y``, ``USD/JPY``; other ids unchanged."""
    s = str(series)
    m = _TENOR.match(s)
    if m:
        return f"{_UPPER.get(m['family'], m['family'].upper())} {m['num']}{m['u']}"
    if len(s) == 6 and s.isalpha():
        return f"{s[:3].upper()}/{s[3:].upper()}"
    return s


def series_colour(series: str) -> str:
    """One colour per series id, the same in every chart."""
    s = str(series)
    return _FIXED.get(s) or OKABE_ITO[zlib.crc32(s.encode()) % len(OKABE_ITO)]


def theme_label(theme) -> str:
    """``japan_treasury_holdings`` -> ``Japan treasury holdings``; tuples joined with ' · '."""
    if isinstance(theme, tuple):
        return " · ".join(theme_label(t) for t in theme)
    words = [_ACRONYMS.get(w.lower(), w) for w in str(theme).replace("_", " ").split()]
    t = " ".join(words)
    return t[:1].upper() + t[1:]


def join_words(items) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
