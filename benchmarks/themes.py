"""Theme tagging benchmark: quality on the held-out labelled news, and headlines per second.

Run: ``.venv/bin/python benchmarks/themes.py [--part heldout5|dev,heldout,...] [--n 50000] [--repeat 3]``;
``--compile``: only the default book's load + compile time without the regex cache, on a cache
miss and on a cache hit (:mod:`signals._regex_cache`).

Quality: tags the labelled items of ``data/themes/labels/<part>.csv`` (texts rebuilt from
``../shared/data/news``: headline + ~300-character lede, as the annotators read them) with the
default theme book and prints per theme precision, recall, F1 and stance accuracy (on items both
the labels and the tagger mark) from :func:`signals.evaluate_themes`, beside a naive keyword
baseline (a theme word anywhere, stance always +1). Default: ``heldout5`` (400 items in none of
the earlier samples, two annotators who had not labelled before, labelled under the round-4 stance
conventions, scored once with the final book of round 6). Rounds 1-3 tuned on ``dev`` only; each
later held-out part, once scored and read, joined the tuning data of the next round (see
``data/themes/labels/README.md``).

Speed: tags the first ``--n`` real headlines of ``financial_headlines_2017_2020.csv`` (one compiled
scan for all phrases and rule subjects, clause rules on candidate rows only) and compares with a
naive loop (``re.search`` of every pattern and every clause rule on every headline) on a
5,000-headline subset, checking both give the same themes. Best of ``--repeat`` runs (the machine
is shared); the first run includes compiling the matcher. Goal >= 50,000 headlines/s.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import signals
from signals import themes as th
from signals._clauses import find_rule, rule_regex
from signals.evaluate import PARTS, evaluate_themes, load_labelled

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSBT_SHARED_DATA", REPO.parent / "shared" / "data"))
THEMES = ["treasury_selloff", "tariffs", "yen_intervention"]
# the naive baseline: a theme word anywhere in headline + lede (what a keyword filter does)
BASELINE = {
    "treasury_selloff": (
        r"treasur|yields?\b|\bbonds?\b",
        r"sell-?off|rout|jump|surge|soar|spike|tumble|sink|slump|plunge",
    ),
    "tariffs": (r"tariff|trade war|\bduties\b|protectionis", ""),
    "yen_intervention": (r"interven", r"\byen\b|japan"),
}


def baseline_tags(arts: pd.DataFrame) -> pd.DataFrame:
    text = (arts["title"] + " | " + arts["body"]).str.lower()
    out = pd.DataFrame({"item": arts["item"]})
    hit = {}
    for t, (a, b) in BASELINE.items():
        m = text.str.contains(a, regex=True)
        if b:
            m &= text.str.contains(b, regex=True)
        hit[t] = m.to_numpy()
        out[f"{t}_stance"] = np.where(hit[t], 1.0, np.nan)
    out["themes"] = [tuple(t for t in THEMES if hit[t][i]) for i in range(len(out))]
    return out


def quality(part: str) -> None:
    arts, labels = load_labelled(part, SHARED / "news")
    tagged = signals.tag_themes(arts)
    cols = ["labelled", "tp", "fp", "fn", "precision", "recall", "f1", "stance_n", "stance_accuracy"]
    print(f"labelled {part} part: {len(labels)} real items (data/themes/labels/{part}.csv)")
    for name, tg in (
        ("default book (clause rules)", tagged),
        ("naive keyword baseline", baseline_tags(arts)),
    ):
        ev = evaluate_themes(tg, labels, themes=THEMES)
        pooled = ev["stance_correct"].sum() / ev["stance_n"].sum()
        print(f"\n{name}:")
        print(ev[cols].round(3).to_string())
        print(
            f"stance accuracy, all themes pooled: {pooled:.3f} ({ev['stance_correct'].sum()}/{ev['stance_n'].sum()})"
        )


def naive_tags(book: th.ThemeBook, titles: list[str]) -> list[tuple[str, ...]]:
    compiled: dict[str, re.Pattern] = {}

    def found(p: str, text: str) -> bool:
        r = compiled.get(p)
        if r is None:
            r = compiled[p] = re.compile(th._wrap(p))
        return r.search(text) is not None

    neg = book.negation.compiled()
    rules = {
        r.id: (rule_regex(r), re.compile(rf"(?<![\w-])(?:{r.unless})(?![\w-])") if r.unless else None)
        for t in book
        for r in t.rules
    }
    out = []
    for title in titles:
        t = title.lower().translate(th._TRANSLATE)
        tags = []
        for theme in book:
            score = sum(w for p, w in theme.phrases if found(p, t))
            for r in theme.rules:
                if r.weight and find_rule(t, r, *rules[r.id], neg, book.negation.window, len(t)):
                    score += r.weight
            ok = (
                score >= theme.threshold - 1e-12
                and all(found(p, t) for p in theme.require)
                and not any(found(p, t) and not any(found(u, t) for u in un) for p, un in theme.exclude)
            )
            if ok:
                tags.append(theme.name)
        out.append(tuple(tags))
    return out


def speed(n: int, repeat: int) -> None:
    path = SHARED / "news" / "financial_headlines_2017_2020.csv"
    titles = pd.read_csv(path, dtype=str, keep_default_na=False)["title"].tolist()[:n]
    frame = pd.DataFrame({"title": titles})
    times = []
    t0 = time.perf_counter()
    book = th.load_themes(th.data_path("themes", "default.toml"))  # parse + compile the matcher
    t_load = time.perf_counter() - t0
    for _ in range(repeat):
        t0 = time.perf_counter()
        tagged = th.tag_themes(frame, book)
        times.append(time.perf_counter() - t0)
    sub = titles[:5000]
    t0 = time.perf_counter()
    ref = naive_tags(book, sub)
    t_naive = (time.perf_counter() - t0) / len(sub)
    same = sum(a == b for a, b in zip(tagged["themes"].iloc[: len(sub)], ref))
    rate = len(titles) / min(times)
    print(f"\nheadlines: {len(titles):,} real ({path.name}); themes: {', '.join(book.names)}")
    print(f"load + compile book: {t_load * 1e3:.0f} ms")
    print(f"tag_themes first run (fills the span cache): {len(titles) / times[0]:,.0f} headlines/s")
    print(f"tag_themes: {rate:,.0f} headlines/s (best of {repeat}; goal >= 50,000/s)")
    print(f"naive per-pattern loop: {1 / t_naive:,.0f} headlines/s; ratio {rate * t_naive:.1f}x")
    print(f"same themes as the naive loop: {same:,}/{len(sub):,}")
    print("tagged per theme:", tagged["themes"].explode().value_counts().to_dict())


def compile_speed(repeat: int) -> None:
    """Load + compile the default book: no cache, cache miss (fresh folder, file written), cache hit."""
    import tempfile

    path = th.data_path("themes", "default.toml")

    def once() -> tuple[float, str]:
        re.purge()  # the re module's own cache would hide the compile cost
        t0 = time.perf_counter()
        book = th.load_themes(path)
        return time.perf_counter() - t0, book.cache_status

    old = os.environ.get("NEWSBT_THEME_CACHE")
    rows = []
    try:
        for _ in range(repeat):
            os.environ["NEWSBT_THEME_CACHE"] = "off"
            rows.append(("no cache", *once()))
            with tempfile.TemporaryDirectory() as d:
                os.environ["NEWSBT_THEME_CACHE"] = d
                rows.append(("cache miss (compiles, writes)", *once()))
                rows.append(("cache hit", *once()))
    finally:
        if old is None:
            os.environ.pop("NEWSBT_THEME_CACHE", None)
        else:
            os.environ["NEWSBT_THEME_CACHE"] = old
    print(f"\ndefault theme book load + compile (best of {repeat}; load {os.getloadavg()[0]:.1f}):")
    for label in dict.fromkeys(r[0] for r in rows):
        ts = [t for lab, t, _ in rows if lab == label]
        st = next(s for lab, _, s in rows if lab == label)
        print(f"  {label:<30} {min(ts) * 1e3:7.0f} ms  (median {sorted(ts)[len(ts) // 2] * 1e3:.0f} ms; {st})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--part",
        default="heldout5",
        help="comma-separated parts: " + ", ".join(PARTS) + " (default heldout5, scored once with the final book)",
    )
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-quality", action="store_true", help="speed only")
    ap.add_argument("--compile", action="store_true", help="only the book's compile time (cache off/miss/hit)")
    args = ap.parse_args()
    if not (SHARED / "news").is_dir():
        sys.exit(
            f"skipped: {SHARED / 'news'} not found (the benchmark needs ../shared/data; set NEWSBT_SHARED_DATA)"
        )
    parts = [p.strip() for p in args.part.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        ap.error(f"--part: unknown part(s) {bad}; choose from {', '.join(PARTS)}")
    if args.compile:
        compile_speed(args.repeat)
        return
    if not args.no_quality:
        for p in parts:
            quality(p)
    speed(args.n, args.repeat)


if __name__ == "__main__":
    main()
