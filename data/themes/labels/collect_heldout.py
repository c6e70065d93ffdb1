#!/usr/bin/env python3
"""Write heldout<N>.csv (item references + labels only, never text) and the agreement table of a
later held-out set (issue #19): set 2 (round 2), 3 (round 4), 4 (round 5), 5 (round 6).

Usage:
  python3 collect_heldout.py --set N [--labels DIR] [--final FILE] [--out DIR]

  --labels DIR   the labelling folder (chunksN/ made by build_sample2.py for set 2 and by
                 build_later.py --set N for 3-5; the two annotators' folders annotN_<X>/, see SETS)
  --final FILE   adjudicated labels of the 400 items (default DIR/finalN.csv)
  --out DIR      where heldoutN.csv goes (default: this script's folder)

Each set holds 400 items in none of the earlier samples; two annotators who had not labelled
before read all of them (sets 4 and 5 under the round-4 stance conventions of the guide);
disagreements and unsure items were adjudicated (set 3 later had its stances relabelled, see
stance_r4.py). Each set was scored once after the tuning round before it was drawn, then read and
added to the tuning data of the next round. Standard library only.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collect_labels import print_agreement, read_annotator, read_csv, write_part  # noqa: E402


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


SETS = {2: ("A", "B"), 3: ("A", "B"), 4: ("E", "F"), 5: ("G", "H")}
"""held-out set -> its two annotators (folders annot<set>_<X>; set 2 used annot2_A/annot2_B)."""


def main():
    import argparse

    ap = argparse.ArgumentParser(description="write heldout<N>.csv and its agreement table")
    ap.add_argument("--set", type=int, choices=sorted(SETS), required=True)
    ap.add_argument("--labels", default="/work/labels")
    ap.add_argument("--final", default=None)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()
    collect(a, a.set, annotators=SETS[a.set])


if __name__ == "__main__":
    main()
