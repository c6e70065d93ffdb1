"""Article reading at volume: articles/s and peak RSS, this checkout vs another (e.g. main).

Each version runs ``--repeat`` times, alternating (the machine is shared: the best time is the
least disturbed one; the peak RSS is the largest seen). Inputs: a generated 150,000-row JSONL (about 77 MB, 1 % bad rows: broken JSON lines, unparseable
and missing timestamps, empty rows; 2 % repeated URLs for dedup) and the real Reuters CSV from
``../shared/data/news``. Each reader runs in its own subprocess (clean peak RSS); the articles
tables of both versions are compared for identical output.

Usage::

    python benchmarks/articles.py                       # this checkout only
    python benchmarks/articles.py --before /tmp/main    # /tmp/main holds main's signals/ package
    python benchmarks/articles.py --before-git main     # export main's signals/ to a temp dir first
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REUTERS = REPO.parent / "shared" / "data" / "news" / "reuters_2006_2013_themes.csv"
WORDS = [
    "yen",
    "treasury",
    "yields",
    "jump",
    "bank",
    "of",
    "japan",
    "intervention",
    "tariff",
    "trade",
    "talks",
    "dollar",
    "bond",
    "market",
    "sell-off",
    "rally",
    "fed",
    "policy",
    "inflation",
    "growth",
    "exports",
    "stocks",
    "oil",
    "rates",
    "investors",
    "officials",
    "said",
    "minister",
    "ministry",
    "finance",
    "holdings",
    "debt",
    "auction",
    "curve",
    "steepen",
    "flatten",
    "record",
    "low",
    "high",
    "week",
]

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import pandas as pd
from signals.articles import read_articles
src, out, extra = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
t0 = time.perf_counter()
arts, rej = read_articles(src, errors="collect", **extra)
dt = time.perf_counter() - t0
# VmHWM: this process's own peak, taken before the result is written (ru_maxrss would also carry
# the parent's peak across fork/exec)
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
keep = [c for c in arts.columns if c != "n_duplicates"] + ["n_duplicates"]
arts[keep].to_parquet(out)
st = arts.attrs.get("newsbt_read", {})
print(json.dumps({"seconds": dt, "rss_mb": rss, "rows_in": st.get("rows_in"), "kept": len(arts),
                  "rejects": len(rej)}))
"""


def generate(path: Path, n: int = 150_000, seed: int = 15) -> Path:
    """Write the benchmark JSONL (deterministic)."""
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            day, sec = rnd.randrange(1, 28), rnd.randrange(86400)
            stamp = f"2024-{rnd.randrange(1, 13):02d}-{day:02d}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
            form = i % 3
            published = stamp + ("Z" if form == 0 else "+09:00" if form == 1 else "-04:00")
            title = " ".join(rnd.choice(WORDS) for _ in range(rnd.randrange(6, 12))).capitalize()
            body = " ".join(rnd.choice(WORDS) for _ in range(44))
            url_id = i if rnd.random() > 0.02 else rnd.randrange(max(i, 1))
            rec = {
                "published": published,
                "title": title,
                "body": body,
                "source": rnd.choice(["Reuters", "Nikkei", "CNBC", "Bloomberg", "Kyodo"]),
                "url": f"https://news.example.com/{url_id // 1000}/{url_id}?utm_source=rss",
                "author": "Desk " + rnd.choice(WORDS),
            }
            r = rnd.random()
            if r < 0.004:
                line = json.dumps(rec)[:-7]  # broken JSON
            elif r < 0.007:
                rec["published"] = "not a date"
                line = json.dumps(rec)
            elif r < 0.009:
                rec["published"] = ""
                line = json.dumps(rec)
            elif r < 0.010:
                rec.update(title="", body="", url="")
                line = json.dumps(rec)
            else:
                line = json.dumps(rec)
            fh.write(line + "\n")
    return path


def run(pkg_root: Path, src: Path, out: Path, **extra) -> dict:
    """Read ``src`` with the ``signals`` package under ``pkg_root`` in a fresh interpreter."""
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, str(pkg_root), str(src), str(out), json.dumps(extra)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def _export(ref: str, dest: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, "signals"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for f in files:
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(
            subprocess.run(["git", "show", f"{ref}:{f}"], cwd=REPO, capture_output=True, check=True).stdout
        )
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, default=None, help="folder holding the 'before' signals/ package")
    ap.add_argument("--before-git", default=None, help="git ref to export as 'before' (e.g. main)")
    ap.add_argument("--rows", type=int, default=150_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per version (best time, max RSS)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = args.before or (_export(args.before_git, tmp / "before") if args.before_git else None)
        jsonl = generate(tmp / "bench.jsonl", args.rows)
        print(f"generated {jsonl.stat().st_size / 1e6:.1f} MB, {args.rows} rows")
        cases = [("jsonl", jsonl, {})]
        if REUTERS.exists():
            cases.append(("reuters_csv", REUTERS, {}))
        for name, src, extra in cases:
            versions = [("after", REPO)] + ([("before", before)] if before else [])
            outs, best = {}, {}
            for _ in range(args.repeat):  # alternate the versions; keep each one's best time
                for label, root in versions:
                    out = tmp / f"{name}_{label}.parquet"
                    r = run(root, src, out, **extra)
                    outs[label] = out
                    b = best.get(label)
                    if b is None or r["seconds"] < b["seconds"]:
                        best[label] = {**r, "rss_mb": max(r["rss_mb"], b["rss_mb"]) if b else r["rss_mb"]}
                    else:
                        b["rss_mb"] = max(b["rss_mb"], r["rss_mb"])
            for label, r in best.items():
                rate = (r["rows_in"] or 0) / r["seconds"]
                print(
                    f"{name:12s} {label:6s} {r['seconds']:7.2f} s  {rate:10,.0f} articles/s  "
                    f"peak RSS {r['rss_mb']:7.0f} MB  rows_in {r['rows_in']}  kept {r['kept']}  rejects {r['rejects']}"
                )
            if len(outs) == 2:
                import pandas as pd

                a, b = pd.read_parquet(outs["after"]), pd.read_parquet(outs["before"])
                cols = [c for c in b.columns if c in a.columns]
                same = a[cols].reset_index(drop=True).equals(b[cols].reset_index(drop=True))
                print(f"{name:12s} identical articles table (columns {len(cols)}): {same}")


if __name__ == "__main__":
    main()
