"""Report tables formatted by unit: bp with one decimal, p- and q-values with three significant
digits, sd units with one decimal, counts as integers, timestamps as ``Fri 02 May 2025 10:50 JST``
in a stated time zone; numbers right-aligned, text left-aligned; sortable HTML (a few lines of
inline JavaScript in the template) with long tables collapsed after :data:`SHOW_ROWS` rows.

Only formatting happens here: the values are the study's, never recomputed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["SHOW_ROWS", "MAX_HTML_ROWS", "column_unit", "fmt_value", "format_frame", "html_table", "md_table"]

#: rows visible before "show all" (the rest are in the page, hidden, and in the CSV)
SHOW_ROWS = 20
#: rows written into the HTML at all; longer tables are in the CSV only
MAX_HTML_ROWS = 200
#: text columns whose longest cell is at most this long never wrap (ids, dates, names)
NOWRAP_CHARS = 48
#: rows written into the Markdown
MAX_MD_ROWS = 20

_P = {"pvalue", "qvalue", "p", "q", "placebo_p", "placebo_total_pvalue", "p_value", "q_value"}
_SD = {"scar", "change_sd", "car_sd", "sd", "z"}
_BP = {
    "car", "caar", "aar", "ar", "se", "caar_se", "aar_se", "sigma", "change_bp", "mean", "alpha",
    "total_bp", "pnl_bp", "pnl", "cost_bp", "mean_bp", "max_drawdown_bp", "gross_bp", "net_bp",
}  # fmt: skip
_STAT = {"statistic", "t", "t_bet", "sharpe", "sharpe_exposed", "sortino", "beta", "hit_rate", "hit_rate_bets", "sentiment", "compound", "strength"}
_INT = {
    "n", "n_eff", "n_pos", "n_est", "n_missing", "n_days", "n_articles", "rel_day", "dof", "draw", "n_trades",
    "n_bets", "max_dd_days", "placebo_draws", "start", "end",
}  # fmt: skip


def column_unit(name: str, dtype=None) -> str:
    """The display unit of a column: ``p``, ``sd``, ``bp``, ``stat``, ``int``, ``time``, ``date``,
    ``float`` or ``text``, from its name (``CAR[0,1] (bp)``, ``patell p [0,1]``, ``qvalue`` ...)
    and dtype."""
    n = str(name).strip().lower()
    if dtype is not None and pd.api.types.is_bool_dtype(dtype):
        return "text"
    if dtype is not None and pd.api.types.is_datetime64_any_dtype(dtype):
        return "time"
    if n in _P or n.endswith(("_pvalue", "_qvalue")) or re.search(r"(^|\s)[pq](\s|$)|\bp-value", n):
        return "p"
    if n in _SD or "(sd)" in n or n.endswith("_sd"):
        return "sd"
    if n in _BP or "(bp)" in n or n.endswith("_bp"):
        return "bp"
    if n in _STAT:
        return "stat"
    if n in _INT or (dtype is not None and pd.api.types.is_integer_dtype(dtype)):
        return "int"
    if dtype is not None and pd.api.types.is_float_dtype(dtype):
        return "float"
    return "text"


def _sig3(v: float) -> str:
    """Three significant digits, trailing zeros kept (0.230), no exponent between 1e-4 and 1e3."""
    if v != 0 and abs(v) < 1e-4:
        return f"{v:.2e}"
    if abs(v) >= 999.5:
        return f"{v:.0f}"
    return f"{v:#.3g}".rstrip(".")


def fmt_value(v, unit: str, tz: str | None = None) -> str:
    """One cell as text in ``unit`` (see :func:`column_unit`); missing values are empty.

    Examples
    --------
    >>> fmt_value(354.26, "bp"), fmt_value(0.008659, "p"), fmt_value(1.44, "sd")
    ('354.3', '0.00866', '1.4')
    """
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NaT:
        return ""
    if isinstance(v, (tuple, list, set, np.ndarray)):
        return ", ".join(map(str, v))
    if unit == "time":
        t = pd.Timestamp(v)
        if pd.isna(t):
            return ""
        if t.tzinfo is None:
            return f"{t:%a %d %b %Y}" if t == t.normalize() else f"{t:%a %d %b %Y %H:%M}"
        t = t.tz_convert(tz) if tz else t
        return f"{t:%a %d %b %Y %H:%M} {t.tzname()}"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if unit in ("bp", "sd") and isinstance(v, (int, float, np.number)):
        return f"{float(v):.1f}"
    if unit == "p" and isinstance(v, (int, float, np.number)):
        return _sig3(float(v))
    if unit == "stat" and isinstance(v, (int, float, np.number)):
        return f"{float(v):.2f}"
    if unit == "int" and isinstance(v, (int, float, np.number)):
        return f"{int(round(float(v)))}" if np.isfinite(float(v)) else ""
    if isinstance(v, (float, np.floating)):
        return _sig3(float(v))
    return str(v)


def _as_frame(df: pd.DataFrame) -> pd.DataFrame:
    return df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df


def _row_oriented(df: pd.DataFrame) -> bool:
    """A statistics table: named rows (``total_bp``, ``sharpe``, ``n_trades`` ...) and numeric
    columns (one per series): the unit belongs to the row, not the column."""
    if isinstance(df.index, (pd.RangeIndex, pd.MultiIndex)) or df.empty:
        return False
    if not (pd.api.types.is_object_dtype(df.index) or pd.api.types.is_string_dtype(df.index)):
        return False
    if not all(pd.api.types.is_numeric_dtype(t) for t in df.dtypes):
        return False
    known = [column_unit(i) not in ("text", "float") for i in df.index]
    return sum(known) * 2 >= len(known)


def _format_rows(df: pd.DataFrame, max_rows: int | None) -> tuple[pd.DataFrame, dict[str, str]]:
    d = df.head(max_rows) if max_rows is not None else df
    name = str(d.index.name or "statistic")
    body = {name: [str(i) for i in d.index]}
    for c in d.columns:
        body[str(c)] = [fmt_value(v, _row_unit(i)) for i, v in zip(d.index, d[c].tolist(), strict=False)]
    units = {name: "text"} | {str(c): "float" for c in d.columns}
    return pd.DataFrame(body, index=range(len(d))), units


def _row_unit(label) -> str:
    u = column_unit(label)
    return "int" if u == "float" and str(label).startswith(("n_", "max_dd_days")) else u


def format_frame(
    df: pd.DataFrame, *, tz: str | Mapping[str, str] | None = None, max_rows: int | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Cells as text by unit and the unit of each column.

    Parameters
    ----------
    df : DataFrame
        A named index is shown as a column.
    tz : str or mapping, optional
        IANA zone for tz-aware timestamps (one for all columns, or per column); default: as stored
        (UTC for the study's tables).
    max_rows : int, optional

    Returns
    -------
    (DataFrame of str, dict column -> unit)
    """
    if _row_oriented(df):
        return _format_rows(df, max_rows)
    d = _as_frame(df)
    d = d.head(max_rows) if max_rows is not None else d
    out, units = {}, {}
    for c in d.columns:
        u = column_unit(c, d[c].dtype)
        z = tz.get(str(c)) if isinstance(tz, Mapping) else tz
        units[str(c)] = u
        out[str(c)] = [fmt_value(v, u, z) for v in d[c].tolist()]
    return pd.DataFrame(out, index=range(len(d)), columns=list(units)), units


def _sort_key(v, unit: str) -> str:
    """``data-v`` attribute for numeric sorting in the browser (empty = sorts last)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NaT:
        return ""
    if unit == "time":
        t = pd.Timestamp(v)
        return "" if pd.isna(t) else repr(t.value / 1e9)
    if isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)):
        return repr(float(v))
    return ""


def html_table(
    df: pd.DataFrame,
    *,
    tz: str | Mapping[str, str] | None = None,
    show: int = SHOW_ROWS,
    max_rows: int = MAX_HTML_ROWS,
    table_id: str | None = None,
) -> str:
    """A sortable HTML table: numbers right-aligned (``class="num"``), rows after ``show`` hidden
    until the reader asks, at most ``max_rows`` rows (the CSV has the rest)."""
    if df is None or df.empty:
        return "<p class='note'><em>(none)</em></p>"
    rows_oriented = _row_oriented(df)
    raw = df.head(max_rows).reset_index() if rows_oriented else _as_frame(df).head(max_rows)
    text, units = format_frame(df.head(max_rows), tz=tz)
    raw.columns = list(units)
    num = {c for c, u in units.items() if u not in ("text", "time")}
    short = {c for c in units if c not in num and text[c].str.len().max() <= NOWRAP_CHARS}
    cls = {c: "num" if c in num else "txt nw" if c in short else "txt" for c in units}
    head = "".join(
        f"<th class='{cls[c]}' data-u='{units[c]}' title='sort by {html.escape(c)}'>{html.escape(c)}</th>"
        for c in units
    )
    rows = []
    cols = list(units)
    rawv = [raw[c].tolist() for c in raw.columns]
    for i in range(len(text)):
        cells = []
        for j, c in enumerate(cols):
            k = _sort_key(rawv[j][i], units[c]) if c in num or units[c] == "time" else ""
            dv = f" data-v='{k}'" if k else ""
            cells.append(f"<td class='{cls[c]}'{dv}>{html.escape(text.iat[i, j])}</td>")
        hidden = " class='more'" if i >= show else ""
        rows.append(f"<tr{hidden}>{''.join(cells)}</tr>")
    tid = f" id='{table_id}'" if table_id else ""
    out = f"<div class='tw'><table class='tbl sortable'{tid}><thead><tr>{head}</tr></thead><tbody>"
    out += "".join(rows) + "</tbody></table></div>"
    if len(raw) > show:
        out += f"<button type='button' class='showall'>show all {len(raw)} rows</button>"
    if len(df) > max_rows:
        out += f"<p class='note'>{len(df) - max_rows} more rows in the CSV.</p>"
    return out


def md_table(
    df: pd.DataFrame, *, tz: str | Mapping[str, str] | None = None, max_rows: int = MAX_MD_ROWS
) -> str:
    """A Markdown table with the same cell text as the HTML; numbers right-aligned."""
    if df is None or df.empty:
        return "_(none)_"
    text, units = format_frame(df, tz=tz, max_rows=max_rows)
    esc = text.map(lambda s: s.replace("|", "\\|").replace("\n", " "))
    align = ["---:" if u not in ("text", "time") else "---" for u in units.values()]
    lines = ["| " + " | ".join(units) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in esc.itertuples(index=False)]
    if len(df) > max_rows:
        lines.append(f"\n_{len(df) - max_rows} more rows in the CSV._")
    return "\n".join(lines)
