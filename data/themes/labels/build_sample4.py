#!/usr/bin/env python3
"""Fourth held-out sample (issue #19, round 5): 400 real items in none of the earlier samples
(items.jsonl, items2.jsonl, items3.jsonl: no same item, no same normalised text or headline), drawn
like build_sample3.py (which it calls) with more tariff candidates: the treasury and yen
likely-positive pools are exhausted. Writes items4.jsonl, strata4.csv and chunks4/ (4 x 100).
Standard library only."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_sample3 as bs3  # noqa: E402

SEED = 20261203
QUOTAS = {
    "treasury_selloff_pos": 70,
    "tariffs_pos": 250,
    "yen_intervention_pos": 70,
    "treasury_selloff_hardneg": 40,
    "tariffs_hardneg": 60,
    "yen_intervention_hardneg": 30,
    "random": 20,
}


def main(news="/work/shared/data/news", out=bs3.HERE):
    bs3.draw(news, out, 4, SEED, QUOTAS, ("items.jsonl", "items2.jsonl", "items3.jsonl"))


if __name__ == "__main__":
    main(*sys.argv[1:])
