"""Sentiment benchmark: ``signals.score_sentiment`` vs a plain vaderSentiment loop, side by side.

Run: ``.venv/bin/python benchmarks/sentiment.py [--n 50000] [--repeat 3]``

Takes the first ``--n`` real headlines of ``../shared/data/news/financial_headlines_2017_2020.csv``
(CNBC, Guardian, Reuters 2017-2020), scores them with a plain loop over
``SentimentIntensityAnalyzer().polarity_scores`` and with ``score_sentiment(lexicon="vader")``
(title-only frame), alternating the two ``--repeat`` times and keeping each one's best time (the
machine is shared). Checks that every score is identical, then prints headlines/s and the ratio
(goal: >= 2x). Also times ``lexicon="vader+finance"`` for reference.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from signals import sentiment as sm

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSBT_SHARED_DATA", REPO.parent / "shared" / "data"))


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
    sia = SentimentIntensityAnalyzer()
    t_loop, t_ours, t_fin = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ref = [sia.polarity_scores(t) for t in titles]
        t_loop.append(time.perf_counter() - t0)
        sm._scorer.cache_clear()  # no warm token cache carried between repeats
        t0 = time.perf_counter()
        ours = sm.score_sentiment(frame, lexicon="vader")
        t_ours.append(time.perf_counter() - t0)
        sm._scorer.cache_clear()
        t0 = time.perf_counter()
        sm.score_sentiment(frame, lexicon="vader+finance")
        t_fin.append(time.perf_counter() - t0)
    got = list(zip(ours["neg"], ours["neu"], ours["pos"], ours["compound"]))
    want = [(r["neg"], r["neu"], r["pos"], r["compound"]) for r in ref]
    n_diff = sum(a != b for a, b in zip(got, want))
    n = len(titles)
    print(f"headlines: {n:,} real ({path.name})")
    print(f"plain vaderSentiment loop : {n / min(t_loop):>10,.0f} headlines/s (best of {args.repeat})")
    print(f"score_sentiment('vader')  : {n / min(t_ours):>10,.0f} headlines/s")
    print(f"score_sentiment('vader+finance'): {n / min(t_fin):>10,.0f} headlines/s")
    print(f"identical scores: {n - n_diff:,}/{n:,}")
    print(f"speed ratio vader (ours / plain loop): {min(t_loop) / min(t_ours):.2f}x  (goal >= 2x)")
    if n_diff:
        raise SystemExit(f"{n_diff} scores differ from vaderSentiment")


if __name__ == "__main__":
    main()
