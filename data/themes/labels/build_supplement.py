#!/usr/bin/env python3
"""Supplement to the labelling sample (issue #19): 200 more items that report US bond yields
rising / US bond prices falling in plain words ("Treasury yields rise", "bonds slip"), which the
first sample's sell-off terms under-drew. Keyword matching only chooses candidates, never labels.

Writes chunks/chunk_13.jsonl and chunk_14.jsonl (100 items each) and appends to items.jsonl and
strata.csv (stratum treasury_plain_move). Run after build_sample.py; standard library only.
"""
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_sample as bs  # noqa: E402

SEED = 20250502
US = re.compile(r"treasur(y|ies)|\bu\.?s\.? (government )?(bond|debt|yield|note)|\b(2|5|10|30)-year "
                r"(note|bond|yield|treasur)|\bbenchmark yield|\bT-(note|bond)", re.I)
MOVE = re.compile(r"\byields? (rise|rose|climb|jump|gain|rise[sd]?|up|higher|firm|edge|inch|spike|surge)|"
                  r"(bonds?|treasur(y|ies)|notes?|prices?) (fall|fell|slip|drop|dip|decline|lose|lost|slide|"
                  r"weaken|ease|sink|sank)|\byields? (fall|fell|drop|dip|slip|ease|decline)", re.I)


HERE = os.path.dirname(os.path.abspath(__file__))


def main(news="/work/shared/data/news", out=HERE):
    with open(os.path.join(out, "items.jsonl"), encoding="utf-8") as fh:
        first = [json.loads(line) for line in fh]
    have = {it["item"] for it in first}
    seen_text = {bs.norm(it["text"]) for it in first}
    pool = []
    for it in bs.load_items(news):
        head = it["text"]
        if it["item"] in have or not (US.search(head) and MOVE.search(head)):
            continue
        key = bs.norm(head)
        if key in seen_text:
            continue
        seen_text.add(key)
        pool.append(it)
    rng = random.Random(SEED)
    pick = rng.sample(pool, min(200, len(pool)))
    for k in range(2):
        with open(os.path.join(out, "chunks", f"chunk_{13 + k:02d}.jsonl"), "w") as fh:
            for it in pick[k * 100:(k + 1) * 100]:
                fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    print(len(pool), "candidates;", len(pick), "picked")


if __name__ == "__main__":
    main()
