#!/usr/bin/env python3
"""Agreement table of the round-4 stance relabelling (issue #19), from stance_r4.csv.

After the third held-out set was scored, its annotators' reports showed the guide silent on the
stance of several kinds of story (impact stories, market fear, requests, explainers, talks), and
the groups of annotators had settled them differently. The guide gained "Stance conventions
(added in round 4)"; two annotators who had not labelled before then gave, by reading and
independently, the stance of every positive of held-out 3 (185 item-themes) and of 150 tariff
positives drawn at random (seed 20261203) from the earlier parts (154 item-themes); an adjudicator
decided the 11 they disagreed on. stance_r4.csv holds, per (item, theme): the part, the earlier
label (``stance_before``), both annotators' stances and the final one. heldout3.csv carries the
final stances; the earlier parts keep their labels (this file measures how far the two readings are
apart). Usage: ``python3 stance_r4.py``. Standard library only.
"""

import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collect_labels import kappa  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with open(os.path.join(HERE, "stance_r4.csv"), encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    print("| items | n | C vs D | final vs earlier label |")
    print("|---|---|---|---|")
    for name, keep in (
        ("held-out 3, tariffs", lambda r: r["part"] == "heldout3" and r["theme"] == "tariffs"),
        ("held-out 3, all themes", lambda r: r["part"] == "heldout3"),
        ("earlier parts, tariffs", lambda r: r["part"] != "heldout3" and r["theme"] == "tariffs"),
        ("earlier parts, all themes", lambda r: r["part"] != "heldout3"),
    ):
        sel = [r for r in rows if keep(r)]
        c, d, fin, before = ([r[k] for r in sel] for k in ("stance_c", "stance_d", "stance", "stance_before"))
        k1, p1 = kappa(c, d), sum(x == y for x, y in zip(c, d)) / len(sel)
        k2, p2 = kappa(fin, before), sum(x == y for x, y in zip(fin, before)) / len(sel)
        print(f"| {name} | {len(sel)} | {p1:.3f} (kappa {k1:.3f}) | {p2:.3f} (kappa {k2:.3f}) |")


if __name__ == "__main__":
    main()
