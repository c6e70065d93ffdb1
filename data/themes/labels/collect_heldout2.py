#!/usr/bin/env python3
"""Write heldout2.csv (item references + labels only, never text) and the agreement table of the
second held-out set (issue #19, round 2).

Usage:
  python3 collect_heldout2.py [--labels DIR] [--final FILE] [--out DIR]

  --labels DIR   the labelling folder (chunks2/ made by build_sample2.py, annot2_A/, annot2_B/)
  --final FILE   adjudicated labels of the 400 items (default DIR/final2.csv)
  --out DIR      where heldout2.csv goes (default: this script's folder)

The 400 items were drawn by build_sample2.py (it imports build_sample.py and build_supplement.py,
both beside it) from items NOT in the first sample; two new annotators labelled all of them by
reading, disagreements were adjudicated. The set was scored once, after the round-2 tuning on the
dev part. Standard library only.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collect_labels import parse_args, print_agreement, read_annotator, read_csv, write_part  # noqa: E402


def collect(a, n, annotators=("A", "B")):
    """Write heldout<n>.csv from the adjudicated labels of set ``n`` and print the agreement table
    of its two annotators (folders ``annot<n>_<annotator>``)."""
    items = []
    for c in range(4):
        with open(os.path.join(a.labels, f"chunks{n}", f"chunk_{c:02d}.jsonl"), encoding="utf-8") as fh:
            items += [json.loads(line)["item"] for line in fh]
    src = {r["item"]: r for r in read_csv(a.final or os.path.join(a.labels, f"final{n}.csv"))}
    missing = [i for i in items if i not in src]
    if missing:
        raise SystemExit(f"{len(missing)} items have no label, e.g. {missing[:3]}")
    write_part(os.path.join(a.out, f"heldout{n}.csv"), f"heldout{n}", [src[i] for i in sorted(items)])
    ann_a = read_annotator(os.path.join(a.labels, f"annot{n}_{annotators[0]}"))
    ann_b = read_annotator(os.path.join(a.labels, f"annot{n}_{annotators[1]}"))
    common = sorted(set(ann_a) & set(ann_b) & set(items))
    if len(common) < len(items):
        print(f"kappa: only {len(common)} items labelled by both annotators; not computed")
        return
    print_agreement(ann_a, ann_b, common)


def main():
    collect(parse_args(), 2)


if __name__ == "__main__":
    main()
