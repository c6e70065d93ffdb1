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
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))


def kappa(pairs):
    """Cohen's kappa and raw agreement of (a, b) label pairs."""
    n = len(pairs)
    po = sum(a == b for a, b in pairs) / n
    ca, cb = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    pe = sum(ca[v] * cb[v] for v in set(ca) | set(cb)) / n / n
    return (po - pe) / (1 - pe), po


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
        k1, p1 = kappa([(r["stance_c"], r["stance_d"]) for r in sel])
        k2, p2 = kappa([(r["stance"], r["stance_before"]) for r in sel])
        print(f"| {name} | {len(sel)} | {p1:.3f} (kappa {k1:.3f}) | {p2:.3f} (kappa {k2:.3f}) |")


if __name__ == "__main__":
    main()
