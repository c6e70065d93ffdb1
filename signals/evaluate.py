"""Tagging quality against hand labels: precision, recall, F1 and stance accuracy per theme.

Labels are a table with one row per item: a key column (``item`` by default), one 0/1 column per
theme and, optionally, ``stance_<theme>`` (+1 / 0 / -1 where the theme is 1, empty otherwise); the
format of ``data/themes/labels/dev.csv`` (see ``data/themes/GUIDE.md`` for what the labels mean).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from signals.errors import InputFormatError

__all__ = ["evaluate_themes", "load_labelled"]

PARTS = ("dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5")
"""The labelled parts shipped in ``data/themes/labels`` (see its README)."""

_COLUMNS = [
    "n",
    "labelled",
    "tagged",
    "tp",
    "fp",
    "fn",
    "precision",
    "recall",
    "f1",
    "stance_n",
    "stance_correct",
    "stance_accuracy",
]


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def evaluate_themes(
    tagged: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    themes: list[str] | None = None,
    key: str = "item",
) -> pd.DataFrame:
    """Score tagged items against labels.

    Parameters
    ----------
    tagged : pandas.DataFrame
        Output of :func:`signals.tag_themes` (a ``themes`` tuple per row; ``<theme>_stance`` for
        stance) with the ``key`` column.
    labels : pandas.DataFrame
        ``key``, one 0/1 column per theme and optionally ``stance_<theme>`` (+1/0/-1, empty when
        the theme is 0).
    themes : list of str, optional
        Themes to score (default: the theme columns present in ``labels``).
    key : str
        Column joining the two tables; each key must appear once in each.

    Returns
    -------
    pandas.DataFrame
        One row per theme: ``n`` (items), ``labelled`` (label 1), ``tagged`` (tagger 1), ``tp``,
        ``fp``, ``fn``, ``precision`` = tp/(tp+fp), ``recall`` = tp/(tp+fn), ``f1`` (harmonic mean;
        NaN when undefined), ``stance_n`` (true positives with a labelled stance), ``stance_correct``
        and ``stance_accuracy`` = stance_correct / stance_n (the tagger's stance on items both mark).

    Raises
    ------
    InputFormatError
        Missing key or theme columns, duplicated keys, items of the labels absent from ``tagged``,
        labels other than 0/1 or stances other than -1/0/1.
    """
    for name, df in (("tagged", tagged), ("labels", labels)):
        if not isinstance(df, pd.DataFrame):
            raise InputFormatError(f"evaluate_themes: {name} must be a DataFrame, got {type(df).__name__}")
        if key not in df.columns:
            raise InputFormatError(
                f"evaluate_themes: {name} has no {key!r} column; columns are {list(df.columns)}"
            )
        if df[key].duplicated().any():
            dup = df.loc[df[key].duplicated(), key].head(3).tolist()
            raise InputFormatError(f"evaluate_themes: {name} has duplicated {key} values, e.g. {dup}")
    if "themes" not in tagged.columns:
        raise InputFormatError("evaluate_themes: tagged has no 'themes' column; run signals.tag_themes first")
    if themes is None:
        themes = [c for c in labels.columns if c != key and not str(c).startswith("stance_")]
    missing = [t for t in themes if t not in labels.columns]
    if missing:
        raise InputFormatError(f"evaluate_themes: labels lack theme column(s) {missing}")
    absent = ~labels[key].isin(tagged[key])
    if absent.any():
        raise InputFormatError(
            f"evaluate_themes: {int(absent.sum())} labelled item(s) are not in tagged, e.g. "
            f"{labels.loc[absent, key].head(3).tolist()}"
        )
    t = tagged.set_index(key).loc[labels[key]]
    rows = {}
    for th in themes:
        y = pd.to_numeric(labels[th], errors="coerce").to_numpy()
        if not np.isin(y, (0, 1)).all():
            raise InputFormatError(f"evaluate_themes: labels[{th!r}] must be 0 or 1 on every row")
        y = y.astype(bool)
        p = np.fromiter((th in x for x in t["themes"]), dtype=bool, count=len(t))
        tp, fp, fn = int((y & p).sum()), int((~y & p).sum()), int((y & ~p).sum())
        prec, rec = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        sn = sc = 0
        scol = f"stance_{th}"
        if scol in labels.columns and f"{th}_stance" in t.columns:
            ls = pd.to_numeric(labels[scol], errors="coerce").to_numpy(dtype=float)
            bad = y & ~np.isin(ls, (-1, 0, 1))
            if bad.any():
                raise InputFormatError(
                    f"evaluate_themes: labels[{scol!r}] must be -1, 0 or 1 where {th} is 1 "
                    f"(rows {(np.flatnonzero(bad) + 1)[:5].tolist()})"
                )
            ps = t[f"{th}_stance"].to_numpy(dtype=float)
            both = y & p
            sn = int(both.sum())
            sc = int((ps[both] == ls[both]).sum())
        rows[th] = [len(y), int(y.sum()), int(p.sum()), tp, fp, fn, prec, rec, f1, sn, sc, _ratio(sc, sn)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=_COLUMNS).rename_axis("theme")


def load_labelled(part: str, news_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shipped labelled items of one part with their texts rebuilt from the news files.

    Parameters
    ----------
    part : {"dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5"}
        ``data/themes/labels/<part>.csv`` (item references and labels only; see the README there):
        the development part, the first held-out part (same sample), held-out sets 2-5 (400 other
        items each, each labelled by two annotators who had not labelled before). Each held-out set
        was scored once and then joined the tuning data; heldout5 was scored once with the
        final book (round 6).
    news_dir : str or Path
        The news data folder the items refer to (``shared/data/news``).

    Returns
    -------
    (articles, labels) : tuple of pandas.DataFrame
        ``articles``: ``item``, ``title``, ``body`` (the text the annotators read: headline and the
        first ~300 characters of the body, rebuilt by ``data/themes/labels/build_sample.py``);
        ``labels``: the CSV as read (``item``, theme 0/1 columns, ``stance_<theme>``).

    Raises
    ------
    InputNotFoundError
        ``news_dir`` or a file the labels refer to is missing.
    InputFormatError
        A labelled item is not in the news files (they changed since labelling).
    """
    import importlib.util

    from signals._paths import data_path
    from signals.errors import InputNotFoundError

    if part not in PARTS:
        raise InputFormatError(f"part must be one of {', '.join(map(repr, PARTS))}, got {part!r}")
    news = Path(news_dir)
    if not news.is_dir():
        raise InputNotFoundError(f"news folder {news} not found (the labelled items are read from it)")
    labels = pd.read_csv(data_path("themes", "labels", f"{part}.csv"), dtype=str, keep_default_na=False)
    spec = importlib.util.spec_from_file_location(
        "_newsbt_build_sample", data_path("themes", "labels", "build_sample.py")
    )
    bs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bs)
    try:
        items = {it["item"]: it["text"] for it in bs.load_items(str(news))}
    except FileNotFoundError as exc:
        raise InputNotFoundError(
            f"labelled items: {exc}; the labels refer to files of shared/data/news"
        ) from exc
    missing = [i for i in labels["item"] if i not in items]
    if missing:
        raise InputFormatError(f"{len(missing)} labelled item(s) not found in {news}, e.g. {missing[:3]}")
    texts = [items[i] for i in labels["item"]]
    arts = pd.DataFrame(
        {
            "item": labels["item"].to_numpy(),
            "title": [t.split("\n", 1)[0] for t in texts],
            "body": [t.split("\n", 1)[1] if "\n" in t else "" for t in texts],
        }
    )
    return arts, labels
