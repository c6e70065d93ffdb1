#!/usr/bin/env python3
"""Write dev.csv and heldout.csv (item references + labels only, never text) and the agreement table.

Usage:
  python3 collect_labels.py --labels DIR [--final FILE] [--out DIR]

  --labels DIR   the labelling folder made by build_sample.py (chunks/, annot_A/, annot_B/)
  --final FILE   adjudicated labels (item, 3 theme columns, 3 stance columns[, split]); without it the
                 labels of annotator B are used (state this wherever figures are reported)
  --out DIR      where dev.csv / heldout.csv go (default: this script's folder)

Split: items of chunks 00-08 are the development part (rules were tuned on it), chunks 09-12 the
held-out part (scored once, at the end). Cohen's kappa per theme between annotators A and B is
printed (and the stance agreement on items both marked) when both folders are complete.
Only the Python standard library is used.
"""
import argparse
import csv
import glob
import json
import os
from collections import Counter

THEMES = ["treasury_selloff", "tariffs", "yen_intervention"]
COLS = ["item", *THEMES, *(f"stance_{t}" for t in THEMES)]
DEV_CHUNKS = range(9)


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_annotator(folder):
    rows = {}
    for p in sorted(glob.glob(os.path.join(folder, "chunk_*.csv"))):
        for r in read_csv(p):
            rows[r["item"]] = r
    return rows


def _stance(v):
    """'+1', '1', '1.0' -> 1 (annotators wrote the sign differently); '' -> None."""
    v = (v or "").strip()
    return int(float(v)) if v else None


def kappa(a, b):
    """Cohen's kappa of two equal-length label lists (any labels: 0/1 themes, -1/0/+1 stances)."""
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[v] * cb[v] for v in ca.keys() | cb.keys()) / n / n
    return float("nan") if pe == 1 else (po - pe) / (1 - pe)


def write_part(path, part, rows):
    """Write one part (item references and labels only) and print its positives."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLS)
        for r in rows:
            w.writerow([r[c] for c in COLS])
    pos = Counter(t for r in rows for t in THEMES if r[t] == "1")
    print(f"{part}: {len(rows)} items; positives {dict(pos)}")


def print_agreement(ann_a, ann_b, common):
    """Print the agreement table (kappa, raw agreement, positives, stance) of two annotators."""
    print("| theme | kappa | raw agreement | positives A | positives B | stance agreement (both 1) |")
    print("|---|---|---|---|---|---|")
    for t in THEMES:
        x = [int(ann_a[i][t]) for i in common]
        y = [int(ann_b[i][t]) for i in common]
        both = [i for i in common if ann_a[i][t] == ann_b[i][t] == "1"]
        st = sum(_stance(ann_a[i][f"stance_{t}"]) == _stance(ann_b[i][f"stance_{t}"]) for i in both)
        agree = sum(p == q for p, q in zip(x, y)) / len(x)
        print(f"| {t} | {kappa(x, y):.3f} | {agree:.3f} | {sum(x)} | {sum(y)} | {st}/{len(both)} |")


def parse_args():
    """--labels (labelling folder), --final (adjudicated labels), --out (default: this folder)."""
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default="/work/labels")
    ap.add_argument("--final", default=None)
    ap.add_argument("--out", default=here)
    return ap.parse_args()


def main():
    a = parse_args()
    split = {}
    for c in range(13):
        with open(os.path.join(a.labels, "chunks", f"chunk_{c:02d}.jsonl"), encoding="utf-8") as fh:
            for line in fh:
                split[json.loads(line)["item"]] = "dev" if c in DEV_CHUNKS else "heldout"
    src = read_csv(a.final) if a.final else list(read_annotator(os.path.join(a.labels, "annot_B")).values())
    for r in src:  # the adjudicated file may carry its own split (and items beyond chunk 12)
        if r.get("split") in ("dev", "heldout"):
            if r["item"] in split and split[r["item"]] != r["split"]:
                raise SystemExit(f"{r['item']}: split {r['split']!r} in {a.final} but chunk says {split[r['item']]!r}")
            split[r["item"]] = r["split"]
    missing = set(split) - {r["item"] for r in src}
    if missing:
        raise SystemExit(f"{len(missing)} items have no label, e.g. {sorted(missing)[:3]}")
    for part in ("dev", "heldout"):
        rows = sorted((r for r in src if split.get(r["item"]) == part), key=lambda r: r["item"])
        write_part(os.path.join(a.out, f"{part}.csv"), part, rows)
    ann_a = read_annotator(os.path.join(a.labels, "annot_A"))
    ann_b = read_annotator(os.path.join(a.labels, "annot_B"))
    common = sorted(set(ann_a) & set(ann_b))
    if len(common) < 1300:
        print(f"kappa: only {len(common)} items labelled by both annotators; not computed")
        return
    print_agreement(ann_a, ann_b, common)


if __name__ == "__main__":
    main()
