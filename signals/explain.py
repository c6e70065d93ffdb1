"""Why an article got (or did not get) a theme: the rules, phrases and exclusions that matched.

:func:`explain` re-reads one article with the theme book, rule by rule (no candidate filtering),
and reports every matched rule with the words it matched, whether they are in the headline, the
stance the rule gave and the negation cue that reversed it, plus the phrases, requirements and
exclusions of each theme, and the theme's verdict (score against threshold, stance).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from signals._clauses import find_rule, rule_regex
from signals.errors import InputFormatError
from signals.themes import _TRANSLATE, ThemeBook, _resolve_book, _wrap

__all__ = ["EXPLAIN_COLUMNS", "explain", "format_explanation"]

EXPLAIN_COLUMNS = ["theme", "kind", "id", "matched", "where", "weight", "stance", "negation", "note"]


def _article_frame(article: object) -> pd.DataFrame:
    if isinstance(article, str):
        return pd.DataFrame({"title": [article]})
    if isinstance(article, pd.DataFrame):
        if len(article) != 1:
            raise InputFormatError(f"explain needs one article, got a DataFrame of {len(article)} rows")
        return article.reset_index(drop=True)
    if isinstance(article, (pd.Series, Mapping)):
        return pd.DataFrame([dict(article)])
    raise InputFormatError(
        f"explain needs a headline (str), a dict/Series with title (and body) or a one-row DataFrame, "
        f"got {type(article).__name__}"
    )


def _strength(theme, rule_id: str) -> float:
    return next((r.strength for r in theme.rules if r.id == rule_id), 0.0)


def _rows_for_theme(book: ThemeBook, name: str, text: str, title_end: int) -> list[dict]:
    t = book[name]
    neg = book.negation.compiled()
    where = lambda a: "headline" if a < title_end else "lede"  # noqa: E731
    rows = []
    for r in t.rules:
        un = re.compile(rf"(?<![\w-])(?:{r.unless})(?![\w-])") if r.unless else None
        h = find_rule(text, r, rule_regex(r), un, neg, book.negation.window, title_end)
        if h is not None:
            a, b, st, cue = h
            rows.append(
                {
                    "kind": "rule",
                    "id": r.id,
                    "matched": text[a:b],
                    "where": where(a),
                    "weight": r.weight,
                    "stance": st,
                    "negation": cue,
                    "note": r.note,
                }
            )
    for p, w in t.phrases:
        m = re.search(_wrap(p), text)
        if m:
            rows.append(
                {"kind": "phrase", "id": p, "matched": m.group(0), "where": where(m.start()), "weight": w}
            )
    for p in t.require:
        m = re.search(_wrap(p), text)
        rows.append(
            {
                "kind": "require",
                "id": p,
                "matched": m.group(0) if m else "",
                "where": where(m.start()) if m else "",
                "note": "" if m else "required group not found: theme vetoed",
            }
        )
    for p, unless in t.exclude:
        m = re.search(_wrap(p), text)
        if m:
            rescue = next((u for u in unless if re.search(_wrap(u), text)), None)
            rows.append(
                {
                    "kind": "exclude",
                    "id": p,
                    "matched": m.group(0),
                    "where": where(m.start()),
                    "note": f"rescued by {rescue!r}" if rescue else "exclusion found: theme vetoed",
                }
            )
    return rows


def explain(
    article: object, themes: ThemeBook | str | Path | None = None, *, only: list[str] | None = None
) -> pd.DataFrame:
    """Explain the theme tags of one article.

    Parameters
    ----------
    article : str, dict, pandas.Series or one-row DataFrame
        A headline, or an article with ``title`` (and ``body``) as :func:`signals.tag_themes` reads.
    themes : ThemeBook, str or Path, optional
        The book (default :func:`signals.default_themes`).
    only : list of str, optional
        Themes to explain (default: every theme of the book).

    Returns
    -------
    pandas.DataFrame
        One row per theme verdict (``kind`` = "theme": ``matched`` "tagged"/"not tagged", ``weight`` =
        score, ``note`` = threshold and why) followed by its matched rules (``kind`` "rule":
        ``id``, the words ``matched``, ``where`` headline/lede, ``weight``, ``stance`` given after
        negation, the ``negation`` cue that reversed it), phrases, requirements and exclusions.
        Columns :data:`EXPLAIN_COLUMNS`. ``attrs["text"]`` is the text the book matched.
    """
    book = _resolve_book(themes)
    df = _article_frame(article)
    tagged = book.tag(df)
    texts, title_len = book._texts(df)
    text = texts[0].translate(_TRANSLATE)
    names = list(only) if only is not None else list(book.names)
    out: list[dict] = []
    for name in names:
        th = book[name]
        on = name in tagged["themes"].iloc[0]
        score = float(tagged[f"{name}_score"].iloc[0])
        rows = _rows_for_theme(book, name, text, int(title_len[0]))
        stance = tagged[f"{name}_stance"].iloc[0]
        why = f"threshold {th.threshold:g}"
        if on:
            stances = [r["stance"] for r in rows if r["kind"] == "rule" and r.get("stance")]
            src = "headline" if any(r["where"] == "headline" for r in rows if r["kind"] == "rule") else "lede"
            damp = [
                r["id"]
                for r in rows
                if r["kind"] == "rule" and r.get("stance") == 0 and _strength(th, r["id"])
            ]
            why += (
                f"; stance {stance:+.0f} = sign of the rule stances in the {src} {stances}"
                if stances
                else f"; stance {stance:+.0f} (no rule gave one: the theme's default_stance or a neutral rule)"
            )
            if damp and stances and stance == 0 and sum(stances):
                why = why.replace(" = sign of", ": the sum of")
                why += f" is held at 0 by the neutral rule(s) {damp} (their strength is not exceeded)"
        if not on:
            score = sum(r["weight"] for r in rows if r["kind"] in ("rule", "phrase") and r.get("weight"))
        out.append(
            {
                "theme": name,
                "kind": "theme",
                "id": name,
                "matched": "tagged" if on else "not tagged",
                "where": "",
                "weight": score,
                "stance": stance if on else float("nan"),
                "negation": "",
                "note": why,
            }
        )
        out.extend({"theme": name, **r} for r in rows)
    res = pd.DataFrame(out, columns=EXPLAIN_COLUMNS)
    res["negation"] = res["negation"].fillna("")
    res["note"] = res["note"].fillna("")
    res["where"] = res["where"].fillna("")
    res.attrs["text"] = text
    return res


def format_explanation(table: pd.DataFrame) -> str:
    """Plain-text rendering of :func:`explain` output (one block per theme), for the CLI."""
    lines = [f"text: {table.attrs.get('text', '')!r}"]
    for _, r in table.iterrows():
        if r["kind"] == "theme":
            st = "" if pd.isna(r["stance"]) else f", stance {r['stance']:+.0f}"
            lines.append(f"\n[{r['theme']}] {r['matched']} (score {r['weight']:g}{st}; {r['note']})")
            continue
        extra = []
        if r["kind"] == "rule":
            extra.append(f"stance {r['stance']:+.0f}")
            if r["negation"]:
                extra.append(f"negated by {r['negation']!r}")
        if r["note"]:
            extra.append(str(r["note"]))
        w = f" +{r['weight']:g}" if r["kind"] in ("rule", "phrase") and r["weight"] else ""
        lines.append(
            f"  {r['kind']:<8}{w} {r['id'][:70]!s}: {r['matched']!r} in {r['where'] or '-'}"
            + (f" ({'; '.join(extra)})" if extra else "")
        )
    return "\n".join(lines)


def explain_event(
    key: str, events: pd.DataFrame, articles: pd.DataFrame, themes: ThemeBook | str | Path | None = None
) -> str:
    """Text explaining one event (``key`` = its ``event_id``) or one article (``key`` = its
    ``article_id``): for each article of the event, the matched rules, words and stances of the
    event's theme (:func:`explain`), then the event's stance and directions.

    Raises
    ------
    InputFormatError
        ``key`` is neither an event id of ``events`` nor an article id of ``articles``.
    """
    book = _resolve_book(themes)
    ids = articles["article_id"].astype(str) if "article_id" in articles else pd.Series([], dtype=str)
    if "event_id" in events and (events["event_id"] == key).any():
        ev = events[events["event_id"] == key].iloc[0]
        aids, only = [str(a) for a in ev["article_ids"]], [str(ev["theme"])]
        dirs = {c[10:]: int(ev[c]) for c in events.columns if c.startswith("direction_") and pd.notna(ev[c])}
        head = (
            f"event {key}: theme {ev['theme']}, {ev['n_articles']} article(s), stance "
            f"{ev.get('stance')} ({ev.get('stance_kind') or 'no stance'}), directions {dirs or 'none (not traded)'}"
        )
    elif (ids == key).any():
        aids, only, head = [key], None, f"article {key}"
    else:
        raise InputFormatError(
            f"--explain {key!r}: no event_id or article_id with that value; event ids look like "
            f"{events['event_id'].head(2).tolist() if 'event_id' in events else []}"
        )
    parts = [head]
    for aid in aids:
        row = articles[ids == aid].head(1)
        parts.append(f"\n--- article {aid}: {row['title'].iloc[0] if 'title' in row else ''}")
        parts.append(format_explanation(explain(row, book, only=only)))
    return "\n".join(parts)
