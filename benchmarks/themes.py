"""Theme-tagging benchmark: headlines per second through ``signals.tag_themes`` (default book).

Run: ``.venv/bin/python benchmarks/themes.py [--n 50000] [--repeat 3]``

Tags the first ``--n`` real headlines of ``../shared/data/news/financial_headlines_2017_2020.csv``
with the default theme book (one compiled matcher for every phrase of every theme) and compares
with a naive per-pattern loop (``re.search`` of each pattern on each headline, the way one would
write it by hand) on a 5,000-headline subset, checking both give the same themes. Prints
headlines/s (goal >= 50,000/s) and the ratio to the naive loop. Best of ``--repeat`` runs (the
machine is shared); the first run includes compiling the matcher.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import pandas as pd

from signals import themes as th

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSBT_SHARED_DATA", REPO.parent / "shared" / "data"))


def naive_tags(book: th.ThemeBook, titles: list[str]) -> list[tuple[str, ...]]:
    compiled: dict[str, re.Pattern] = {}

    def found(p: str, text: str) -> bool:
        r = compiled.get(p)
        if r is None:
            r = compiled[p] = re.compile(th._wrap(p))
        return r.search(text) is not None

    out = []
    for title in titles:
        t = title.lower().translate(th._TRANSLATE)
        tags = []
        for theme in book:
            score = sum(w for p, w in theme.phrases if found(p, t))
            ok = (
                score >= theme.threshold - 1e-12
                and all(found(p, t) for p in theme.require)
                and not any(found(p, t) and not any(found(u, t) for u in un) for p, un in theme.exclude)
            )
            if ok:
                tags.append(theme.name)
        out.append(tuple(tags))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = SHARED / "news" / "financial_headlines_2017_2020.csv"
    if not path.is_file():
        sys.exit(f"skipped: {path} not found (the benchmark needs ../shared/data; set NEWSBT_SHARED_DATA)")
    titles = pd.read_csv(path, dtype=str, keep_default_na=False)["title"].tolist()[: args.n]
    frame = pd.DataFrame({"title": titles})
    times = []
    t0 = time.perf_counter()
    book = th.load_themes(th.data_path("themes", "default.toml"))  # parse + compile the matcher
    t_load = time.perf_counter() - t0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        tagged = th.tag_themes(frame, book)
        times.append(time.perf_counter() - t0)
    sub = titles[:5000]
    t0 = time.perf_counter()
    ref = naive_tags(book, sub)
    t_naive = (time.perf_counter() - t0) / len(sub)
    same = sum(a == b for a, b in zip(tagged["themes"].iloc[: len(sub)], ref))
    rate = len(titles) / min(times)
    print(f"headlines: {len(titles):,} real ({path.name}); themes: {', '.join(book.names)}")
    print(f"load + compile book: {t_load * 1e3:.0f} ms")
    print(f"tag_themes first run (fills the span cache): {len(titles) / times[0]:,.0f} headlines/s")
    print(f"tag_themes: {rate:,.0f} headlines/s (best of {args.repeat}; goal >= 50,000/s)")
    print(f"naive per-pattern loop: {1 / t_naive:,.0f} headlines/s; ratio {rate * t_naive:.1f}x")
    print(f"same themes as the naive loop: {same:,}/{len(sub):,}")
    print("tagged per theme:", tagged["themes"].explode().value_counts().to_dict())


if __name__ == "__main__":
    main()
