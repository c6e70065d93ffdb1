#!/usr/bin/env python3
"""Third held-out sample (issue #19, round 4): 400 real items in NEITHER earlier sample
(items.jsonl, items2.jsonl: no same item, no same normalised text or headline), drawn with the
candidate strata of build_sample.py (keyword matching only chooses candidates, never labels).
The treasury and yen likely-positive pools are exhausted by the first two samples; their hard-
negative pools (which hold the positives the candidate keywords miss) are sampled instead.
Writes items3.jsonl, strata3.csv and chunks3/chunk_NN.jsonl (4 x 100). Standard library only."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_sample2 as bs2  # noqa: E402

SEED = 20261202
QUOTAS = {"treasury_selloff_pos": 70, "tariffs_pos": 160, "yen_intervention_pos": 70,
          "treasury_selloff_hardneg": 90, "tariffs_hardneg": 30, "yen_intervention_hardneg": 100, "random": 20}
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


def main(news="/work/shared/data/news", out=HERE):
    draw(news, out, 3, SEED, QUOTAS, ("items.jsonl", "items2.jsonl"))


if __name__ == "__main__":
    main(*sys.argv[1:])
