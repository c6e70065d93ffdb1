#!/usr/bin/env python3
"""Second held-out sample (issue #19, round 2): 400 real items NOT in the first sample
(items.jsonl), drawn with the same candidate strata as build_sample.py (keyword matching only
chooses candidates, never labels), plus the plain-yield-move candidates of build_supplement.py.
Writes items2.jsonl, strata2.csv and chunks2/chunk_NN.jsonl (4 x 100). Standard library only."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_sample as bs  # noqa: E402
import build_supplement as sup  # noqa: E402

SEED = 20250503
QUOTAS = {"treasury_selloff_pos": 70, "tariffs_pos": 100, "yen_intervention_pos": 100,
          "treasury_selloff_hardneg": 45, "tariffs_hardneg": 40, "yen_intervention_hardneg": 130, "random": 50}


HERE = os.path.dirname(os.path.abspath(__file__))


def candidate_pools(news, first, keys):
    """Candidate pools (stratum -> items) of the news items that are not in ``first`` (neither the
    same item nor the same normalised text or headline), de-duplicated among themselves."""
    seen = {bs.norm(it["text"]) for it in first} | {bs.norm(it["text"].split("\n")[0]) for it in first}
    have = {it["item"] for it in first}
    pools = {k: [] for k in keys}
    for it in bs.load_items(news):
        key, head = bs.norm(it["text"]), bs.norm(it["text"].split("\n")[0])
        if it["item"] in have or key in seen or head in seen:
            continue
        seen.add(key)
        seen.add(head)
        c = bs.strata_candidates(it)
        placed = False
        for theme, (kind, _sub) in c.items():
            if kind == "pos":
                pools[f"{theme}_pos"].append(it)
                placed = True
                break
        if not placed and sup.US.search(it["text"]) and sup.MOVE.search(it["text"]):
            pools["treasury_selloff_pos"].append(it)
            placed = True
        if not placed:
            for theme in c:
                pools[f"{theme}_hardneg"].append(it)
                placed = True
                break
        if not placed:
            pools["random"].append(it)
    return pools


def main(news="/work/shared/data/news", out=HERE):
    with open(os.path.join(out, "items.jsonl"), encoding="utf-8") as fh:
        first = [json.loads(line) for line in fh]
    pools = candidate_pools(news, first, QUOTAS)
    rng = random.Random(SEED)
    picked, strata = [], []
    for k, n in QUOTAS.items():
        take = rng.sample(pools[k], min(n, len(pools[k])))
        picked += take
        strata += [(it["item"], k) for it in take]
        print(k, len(pools[k]), len(take))
    short = 400 - len(picked)
    if short > 0:
        rest = [it for it in pools["random"] if it not in picked]
        extra = rng.sample(rest, short)
        picked += extra
        strata += [(it["item"], "random") for it in extra]
    rng.shuffle(picked)
    with open(os.path.join(out, "items2.jsonl"), "w") as fh:
        for it in picked:
            fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "strata2.csv"), "w") as fh:
        fh.write("item,stratum\n" + "".join(f"{i},{s}\n" for i, s in strata))
    os.makedirs(os.path.join(out, "chunks2"), exist_ok=True)
    for k in range(4):
        with open(os.path.join(out, "chunks2", f"chunk_{k:02d}.jsonl"), "w") as fh:
            for it in picked[k * 100:(k + 1) * 100]:
                fh.write(json.dumps(it, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
