#!/usr/bin/env python3
"""Held-out samples 3, 4 and 5 (issue #19, rounds 4-6): 400 real items each in none of the earlier
samples (no same item, no same normalised text or headline), drawn with the candidate strata of
build_sample.py (keyword matching only chooses candidates, never labels). The treasury and yen
likely-positive pools are exhausted by the first two samples; their hard-negative pools (which
hold the positives the candidate keywords miss) are sampled instead. ``--set N`` writes
itemsN.jsonl, strataN.csv and chunksN/chunk_NN.jsonl (4 x 100). Standard library only."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_sample2 as bs2  # noqa: E402

# set -> (seed, quotas, earlier samples it excludes); the treasury and yen likely-positive pools are
# exhausted after sample 2, so later sets draw their hard-negative pools and more tariff candidates
_LATE = {
    "treasury_selloff_pos": 70,
    "tariffs_pos": 250,
    "yen_intervention_pos": 70,
    "treasury_selloff_hardneg": 40,
    "tariffs_hardneg": 60,
    "yen_intervention_hardneg": 30,
    "random": 20,
}
SETS = {
    3: (
        20261202,
        {
            "treasury_selloff_pos": 70,
            "tariffs_pos": 160,
            "yen_intervention_pos": 70,
            "treasury_selloff_hardneg": 90,
            "tariffs_hardneg": 30,
            "yen_intervention_hardneg": 100,
            "random": 20,
        },
        ("items.jsonl", "items2.jsonl"),
    ),
    4: (20261203, _LATE, ("items.jsonl", "items2.jsonl", "items3.jsonl")),
    5: (20261204, _LATE, ("items.jsonl", "items2.jsonl", "items3.jsonl", "items4.jsonl")),
}
N = 400
HERE = os.path.dirname(os.path.abspath(__file__))


def earlier(out, names=("items.jsonl", "items2.jsonl")):
    items = []
    for name in names:
        with open(os.path.join(out, name), encoding="utf-8") as fh:
            items += [json.loads(line) for line in fh]
    return items


def draw(news, out, set_no, seed, quotas, earlier_names):
    """Draw ``N`` items of the candidate pools (quotas per stratum, the rest random) from the items
    of none of ``earlier_names``; write items<set_no>.jsonl, strata<set_no>.csv, chunks<set_no>/."""
    pools = bs2.candidate_pools(news, earlier(out, earlier_names), quotas)
    rng = random.Random(seed)
    picked, strata = [], []
    for k, n in quotas.items():
        take = rng.sample(pools[k], min(n, len(pools[k])))
        picked += take
        strata += [(it["item"], k) for it in take]
        print(k, len(pools[k]), len(take))
    taken = {it["item"] for it in picked}
    rest = [it for it in pools["random"] if it["item"] not in taken]
    extra = rng.sample(rest, N - len(picked))
    picked += extra
    strata += [(it["item"], "random") for it in extra]
    rng.shuffle(picked)
    with open(os.path.join(out, f"items{set_no}.jsonl"), "w", encoding="utf-8") as fh:
        for it in picked:
            fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    with open(os.path.join(out, f"strata{set_no}.csv"), "w", encoding="utf-8") as fh:
        fh.write("item,stratum\n" + "".join(f"{i},{s}\n" for i, s in strata))
    os.makedirs(os.path.join(out, f"chunks{set_no}"), exist_ok=True)
    for k in range(N // 100):
        with open(os.path.join(out, f"chunks{set_no}", f"chunk_{k:02d}.jsonl"), "w", encoding="utf-8") as fh:
            for it in picked[k * 100 : (k + 1) * 100]:
                fh.write(json.dumps(it, ensure_ascii=False) + "\n")


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description="draw held-out sample 3, 4 or 5 (see SETS)")
    ap.add_argument("--set", type=int, choices=sorted(SETS), required=True)
    ap.add_argument("--news", default="/work/shared/data/news")
    ap.add_argument("--out", default=HERE, help="the labelling folder (earlier items*.jsonl are read there)")
    a = ap.parse_args(argv)
    seed, quotas, earlier_names = SETS[a.set]
    draw(a.news, a.out, a.set, seed, quotas, earlier_names)


if __name__ == "__main__":
    main()
