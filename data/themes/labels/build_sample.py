#!/usr/bin/env python3
"""Build the stratified labelling sample for the theme tagger (issue #19).

Reproduces, byte for byte, from the news data directory:
  items.jsonl          1,300 items in shuffled order (what annotators see)
  strata.csv           item,stratum   (for the lead only; never give to annotators)
  chunks/chunk_NN.jsonl  13 files of 100 items each (same fields as items.jsonl)

Usage:
  python3 build_sample.py [--news DIR] [--out DIR]
  defaults: --news /work/shared/data/news  (in the repo: shared/data/news)
            --out  the directory holding this script

Only the Python standard library is used. Keyword/regex matching is used ONLY to
choose which items enter the sample (strata); it is never a label. Labels come
from two annotators who read the items (see GUIDE.md).
"""
import argparse
import csv
import html
import json
import os
import random
import re
import sys
from collections import Counter, defaultdict

SEED = 20250419          # fixed: sampling and final shuffle
SNIPPET_CHARS = 300      # summary/body characters appended to the title
N_CHUNKS, CHUNK_SIZE = 13, 100

# stratum -> number of items. Total 1,300.
QUOTAS = {
    "treasury_selloff_pos": 195,
    "tariffs_pos": 195,
    "yen_intervention_pos": 195,
    "treasury_selloff_hardneg": 145,
    "tariffs_hardneg": 145,
    "yen_intervention_hardneg": 145,
    "random": 280,
}

# Files used. events_reference.csv is deliberately excluded: it is our own
# paraphrase of events (the evaluation reference), not real news items.
TIDY_CSV = [
    "reuters_2006_2013_themes.csv",
    "financial_headlines_2017_2020.csv",
    "rss_general_news_2022_subset.csv",
    "newsapi_headlines_2025_04.csv",
    "japan_times_sample_2002_2022.csv",
    "gdelt_gkg_20230702153000_articles.csv",
]
TIDY_JSONL = ["rss_business_headlines_2026.jsonl"]
RAW_GKG = "raw/gdelt_20230702153000_subset.gkg.csv"
RAW_RSS = "raw/cnbc_finance_rss_20190729.xml"


# ----------------------------------------------------------------- loading
def clean(s):
    s = html.unescape(s or "")
    s = re.sub(r"<[^>]+>", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def snippet(s, n=SNIPPET_CHARS):
    s = clean(s)
    if len(s) <= n:
        return s
    cut = s[:n]
    sp = cut.rfind(" ")
    if sp > n * 0.6:
        cut = cut[:sp]
    return cut.rstrip(" ,;:-") + " ..."


def make_text(title, body):
    title, snip = clean(title), snippet(body)
    if snip and snip.lower().startswith(title.lower()) and title:
        # some feeds repeat the title as the description
        snip = snippet(clean(body)[len(title):])
    return f"{title}\n{snip}" if snip else title


def load_items(news):
    items = []
    csv.field_size_limit(sys.maxsize)
    for f in TIDY_CSV:
        with open(os.path.join(news, f), encoding="utf-8", newline="") as fh:
            for i, r in enumerate(csv.DictReader(fh)):
                body = r.get("body") or r.get("summary") or ""
                items.append((f, i, make_text(r.get("title", ""), body)))
    for f in TIDY_JSONL:
        with open(os.path.join(news, f), encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if not line.strip():
                    continue
                r = json.loads(line)
                items.append((f, i, make_text(r.get("title", ""),
                                              r.get("body") or r.get("summary") or "")))
    # raw GDELT GKG 2.1: one record per line, title in <PAGE_TITLE> of V2EXTRASXML
    with open(os.path.join(news, RAW_GKG), encoding="utf-8", newline="") as fh:
        for i, line in enumerate(fh.read().split("\n")):
            if not line.strip():
                continue
            m = re.search(r"<PAGE_TITLE>(.*?)</PAGE_TITLE>", line)
            items.append((RAW_GKG, i, make_text(m.group(1) if m else "", "")))
    # raw CNBC RSS: <item> elements in document order
    with open(os.path.join(news, RAW_RSS), encoding="utf-8") as fh:
        xml = fh.read()
    for i, it in enumerate(re.findall(r"<item>(.*?)</item>", xml, re.S)):
        def tag(name):
            m = re.search(rf"<{name}>(.*?)</{name}>", it, re.S)  # noqa: B023 (called at once, inside the loop)
            if not m:
                return ""
            v = m.group(1)
            c = re.match(r"\s*<!\[CDATA\[(.*)\]\]>\s*$", v, re.S)
            return c.group(1) if c else v
        items.append((RAW_RSS, i, make_text(tag("title"), tag("description"))))
    return [{"item": f"{f}#{i}", "file": f, "row": i, "text": t}
            for f, i, t in items if t.strip()]


# ------------------------------------------------------------ candidate regexes
def rx(p):
    return re.compile(p, re.I)

# --- treasury_selloff
UST = rx(r"treasur(y|ies)|\bT-(note|bond|bill)s?\b|\bu\.?s\.? (government )?(bond|debt|yield)|"
         r"\b(2|5|10|30)-year (note|bond|yield)|\blong bond\b|\bbenchmark yield")
UP_MOVE = rx(r"sell-?off|\brout\b|\bdump(s|ed|ing)?\b|\bslump|\btumbl|\bsink|\bsank\b|\bplung|"
             r"\bsell(ing)? (of |off )?(u\.?s\.? )?(treasur|bonds?|debt)|"
             r"yields? (jump|surg|soar|climb|spik|rise|rose|rising|hit|top|leap|shoot|spike|push|extend|scale|vault)|"
             r"(jump|surg|soar|climb|spik|leap)\w* (in |of )?(treasury |bond |u\.?s\.? )?yield|"
             r"(highest|high) (since|in \d+|level)|\d+-(month|year|week) high|"
             r"(price|bond|treasur\w*|note)s? (fall|fell|drop|slid|slide|slip|lose|lost|decline|retreat|extend loss)")
DOWN_MOVE = rx(r"yields? (fall|fell|drop|slip|ease|eased|dip|declin|retreat|slid|slide|tumbl|sink|sank|lower|plung)|"
               r"\bpare|\bedge[sd]? (up|higher|lower|down)|little changed|"
               r"(bonds?|treasur\w*|prices?) (rise|rose|gain|climb|firm|advance|rally|rallied|soar|jump|recover)|"
               r"lowest|\d+-(month|year|week) low|record low")
UST_INSTITUTION = rx(r"treasury (secretary|department|dept|official|chief|undersecretary|under secretary)|"
                     r"\b(geithner|paulson|mnuchin|yellen|lew|bessent)\b|sanction|\bOFAC\b|"
                     r"treasury said|u\.?s\.? treasury (said|says|to|will|has|is|warn)|currency manipulat")
AUCTION = rx(r"\bauction")
FOREIGN_BOND = rx(r"\bJGBs?\b|\bbunds?\b|\bgilts?\b|japanese government bond|euro zone (bond|debt)|"
                  r"(italian|spanish|greek|portuguese|irish|german|french|japanese|uk|british|chinese|australian|indian) "
                  r"(bond|yield|debt|government bond)")
US_CONTEXT = rx(r"\bu\.?s\.?\b|united states|america|new york|wall street|\bfed\b|federal reserve|washington")
BOND_WORD = rx(r"\bbonds?\b|\byields?\b|\bdebt (price|market)|\bnotes?\b")
BONDY = rx(r"treasur(y|ies)|\byields?\b|\bbonds?\b|\bgilts?\b|\bbunds?\b|\bJGBs?\b")

# --- tariffs
TARIFF = rx(r"tariff|trade[- ]war|\bduties\b|import dut|anti-?dumping|countervailing|\blevies\b|"
            r"protectionis|trade (dispute|spat|row|fight|truce|tension|barrier)|section 301|section 232")
ENERGY_TARIFF = rx(r"(feed-?in|electricity|power|energy|gas|water|utility|utilities|"
                   r"broadband|roaming|mobile|telecom|tax|price|rail|fare|insurance)[- ](tariff|duty|duties)|"
                   r"tariffs? (for|on) (electricity|power|energy|gas|water|solar|renewable|broadband|calls|data)|"
                   r"\b(ofgem|regulator)\b.*tariff|tariff.*\b(ofgem|energy bill|price cap|kwh|per unit)\b|"
                   r"\bduty[- ]free\b|\bon duty\b|\bstamp duty\b|\bexcise\b")
TRADEY = rx(r"\btrade\b|\bWTO\b|exports?\b|imports?\b|\bduty\b|\btariff|\blev(y|ies)\b|"
            r"\bcustoms\b|protectionis|\bdumping\b|\bquotas?\b")

# --- yen_intervention
INTERV = rx(r"interven|yentervention|rate[- ]check|all options|\bno options? (are|is) ruled out|"
            r"(won'?t|not|never) rule out|excessive (fx |currency |yen )?(move|volatil|fluctuat)|"
            r"speculative (move|trading)|disorderly (fx |currency )?move|"
            r"(act|step in|action) (on|in|against) (the )?(currency|fx|forex|yen)|"
            r"(sell|sold|selling|buy|bought|buying) (the )?yen|yen[- ](buying|selling)|"
            r"(currency|fx|forex) (market )?(action|step|measure)s?|"
            r"(watch|monitor)\w* (currency|fx|forex|the yen|yen|market)\w* (move\w* )?(closely|with (a sense of )?urgency)|"
            r"(closely|carefully) (watch|monitor)\w* (currency|fx|forex|the yen|yen)|"
            r"won'?t (tolerate|allow)|(appropriate|decisive|bold|necessary) (action|step|measure)|"
            r"excessive|one-sided|warn\w* (on|about|against|over) (the )?(yen|currency)|"
            r"jawbon|verbal (warning|intervention)|\bwar chest\b")
JAPAN_AUTH = rx(r"\byen\b|japan|tokyo|\bMOF\b|finance minist|\bBOJ\b|bank of japan|\bnoda\b|\bazumi\b|"
                r"\bsuzuki\b|\bkanda\b|\bmimura\b|\bkatayama\b|\bkato\b|\bshirakawa\b|\bkuroda\b|\bueda\b|"
                r"\baso\b|\bkan\b|\bnoda\b|\bjapanese\b")
YEN = rx(r"\byen\b|\bJPY\b|dollar/yen|usd/jpy")
JP_OFFICIAL = rx(r"finance minist|\bMOF\b|\bnoda\b|\bazumi\b|\bkanda\b|\bmimura\b|\bkatayama\b|"
                 r"\bsuzuki\b|\bkato\b|\bwatanabe\b|\bshinohara\b|currency diplomat|vice finance|\bG7\b|\bG-7\b")
OTHER_INTERV = rx(r"interven")
MEDICAL = rx(r"medic|surgery|surgical|clinic|patient|therap|health|disease|treatment|hospital|military|troops|"
             r"humanitarian|court|police|divine|drug|cancer|vaccin|addict")
OTHER_CB = rx(r"\bSNB\b|swiss|franc\b|china|yuan|renminbi|\bPBOC\b|korea|\bwon\b(?!')|brazil|\breal\b|"
              r"india|rupee|turkey|lira|israel|shekel|indonesia|rupiah|ruble|rouble|peso")


def strata_candidates(it):
    """Return {theme: 'pos'|'hardneg'} and a hard-negative sub-bucket per theme."""
    t = it["text"]
    out = {}
    # treasury_selloff
    ust, up, down = bool(UST.search(t)), bool(UP_MOVE.search(t)), bool(DOWN_MOVE.search(t))
    if not ust and US_CONTEXT.search(t) and BOND_WORD.search(t) and not FOREIGN_BOND.search(t):
        ust = True   # e.g. "bonds sink" in a NEW YORK / Fed story
    if ust and up and not down and not UST_INSTITUTION.search(t.split("\n")[0]):
        out["treasury_selloff"] = ("pos", "selloff_terms")
    elif BONDY.search(t) or ust:
        if UST_INSTITUTION.search(t):
            sub = "us_treasury_institution"
        elif ust and down:
            sub = "yields_falling_or_tiny_move"
        elif AUCTION.search(t):
            sub = "auction"
        elif FOREIGN_BOND.search(t) and not ust:
            sub = "non_us_bonds"
        elif ust:
            sub = "other_treasury_mention"
        else:
            sub = "other_bond_yield_mention"
        out["treasury_selloff"] = ("hardneg", sub)
    # tariffs
    if TARIFF.search(t) and not ENERGY_TARIFF.search(t):
        out["tariffs"] = ("pos", "trade_tariff_terms")
    elif ENERGY_TARIFF.search(t) or TARIFF.search(t):
        out["tariffs"] = ("hardneg", "non_trade_tariff_or_duty")
    elif TRADEY.search(t):
        out["tariffs"] = ("hardneg", "trade_without_tariff")
    # yen_intervention
    interv, japan, yen = bool(INTERV.search(t)), bool(JAPAN_AUTH.search(t)), bool(YEN.search(t))
    if yen and JP_OFFICIAL.search(t.split("\n")[0]):
        interv = True   # Japanese currency official talking about the yen, in the headline
    if interv and japan and (yen or re.search(r"currenc|\bFX\b|forex|exchange rate", t, re.I)) \
                    and not MEDICAL.search(t):
        out["yen_intervention"] = ("pos", "intervention_terms")
    elif OTHER_INTERV.search(t) or yen:
        if OTHER_INTERV.search(t) and MEDICAL.search(t):
            sub = "non_fx_intervention"
        elif OTHER_INTERV.search(t) and OTHER_CB.search(t) and not yen:
            sub = "other_country_fx_intervention"
        elif OTHER_INTERV.search(t):
            sub = "other_intervention"
        else:
            sub = "yen_move_no_intervention"
        out["yen_intervention"] = ("hardneg", sub)
    return out


# ---------------------------------------------------------------- sampling
def norm(s):
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def waterfill(groups, n, rng):
    """Pick n items from {key: [items]} spreading evenly over keys (each key
    gets an equal share, capped by its size; leftover goes to larger keys)."""
    keys = sorted(groups)
    pools = {k: rng.sample(groups[k], len(groups[k])) for k in keys}
    take = dict.fromkeys(keys, 0)
    left = n
    while left > 0:
        open_ = [k for k in keys if take[k] < len(pools[k])]
        if not open_:
            break
        share = max(1, left // len(open_))
        for k in open_:
            if left == 0:
                break
            add = min(share, len(pools[k]) - take[k], left)
            take[k] += add
            left -= add
    picked = []
    for k in keys:
        picked.extend(pools[k][:take[k]])
    return picked


def build(news):
    rng = random.Random(SEED)
    items = load_items(news)

    # de-duplicate text: keep the first occurrence (file order above, then row)
    # raw files first, so the 81 raw GKG lines win over their tidy copies
    items.sort(key=lambda it: (not it["file"].startswith("raw/"),))
    seen_text, seen_title, uniq = set(), set(), []
    for it in items:
        nt = norm(it["text"])
        ntitle = norm(it["text"].split("\n")[0])
        if not nt or nt in seen_text or (len(ntitle) > 15 and ntitle in seen_title):
            continue
        seen_text.add(nt)
        seen_title.add(ntitle)
        uniq.append(it)

    cands = {it["item"]: strata_candidates(it) for it in uniq}
    chosen, strata, subbucket = set(), {}, {}

    def pick(stratum, groups, n):
        groups = {k: [it for it in v if it["item"] not in chosen] for k, v in groups.items()}
        groups = {k: v for k, v in groups.items() if v}
        got = waterfill(groups, n, rng)
        for it in got:
            chosen.add(it["item"])
            strata[it["item"]] = stratum
        return got

    themes = ["treasury_selloff", "tariffs", "yen_intervention"]
    shortfall = 0
    # 1. likely positives, spread evenly over source files
    for th in themes:
        g = defaultdict(list)
        for it in uniq:
            c = cands[it["item"]].get(th)
            if c and c[0] == "pos":
                g[it["file"]].append(it)
        got = pick(f"{th}_pos", g, QUOTAS[f"{th}_pos"])
        shortfall += QUOTAS[f"{th}_pos"] - len(got)  # if a pool is short, the rest goes to random
    # 2. hard negatives, spread evenly over the boundary sub-buckets
    for th in themes:
        g = defaultdict(list)
        for it in uniq:
            c = cands[it["item"]].get(th)
            if c and c[0] == "hardneg" and not any(v[0] == "pos" for v in cands[it["item"]].values()):
                g[c[1]].append(it)
        for it in pick(f"{th}_hardneg", g, QUOTAS[f"{th}_hardneg"]):
            subbucket[it["item"]] = cands[it["item"]][th][1]
    # 3. random background, spread over files with sqrt(size) weights (every file >= 3)
    byfile = defaultdict(list)
    for it in uniq:
        if it["item"] not in chosen:
            byfile[it["file"]].append(it)
    files = sorted(byfile)
    w = {f: len(byfile[f]) ** 0.5 for f in files}
    tot = sum(w.values())
    n_rand = QUOTAS["random"] + shortfall
    alloc = {f: min(len(byfile[f]), max(3, int(n_rand * w[f] / tot))) for f in files}
    order = sorted(files, key=lambda f: -len(byfile[f]))
    i = 0
    while sum(alloc.values()) < n_rand:
        f = order[i % len(order)]
        if alloc[f] < len(byfile[f]):
            alloc[f] += 1
        i += 1
    while sum(alloc.values()) > n_rand:
        f = order[i % len(order)]
        if alloc[f] > 3:
            alloc[f] -= 1
        i += 1
    for f in files:
        for it in rng.sample(byfile[f], alloc[f]):
            chosen.add(it["item"])
            strata[it["item"]] = "random"

    final = [it for it in uniq if it["item"] in chosen]
    random.Random(SEED + 1).shuffle(final)
    return final, strata, subbucket


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--news", default="/work/shared/data/news")
    ap.add_argument("--out", default=here)
    a = ap.parse_args()
    final, strata, subbucket = build(a.news)
    assert len(final) == sum(QUOTAS.values()), len(final)
    os.makedirs(os.path.join(a.out, "chunks"), exist_ok=True)

    def dump(path, rows):
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            for r in rows:
                fh.write(json.dumps({k: r[k] for k in ("item", "file", "row", "text")},
                                    ensure_ascii=False) + "\n")

    dump(os.path.join(a.out, "items.jsonl"), final)
    for c in range(N_CHUNKS):
        dump(os.path.join(a.out, "chunks", f"chunk_{c:02d}.jsonl"),
             final[c * CHUNK_SIZE:(c + 1) * CHUNK_SIZE])
    with open(os.path.join(a.out, "strata.csv"), "w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh, lineterminator="\n")
        wr.writerow(["item", "stratum", "subbucket"])
        for r in final:
            wr.writerow([r["item"], strata[r["item"]], subbucket.get(r["item"], "")])
    # summary
    print("per stratum:", dict(sorted(Counter(strata[r["item"]] for r in final).items())))
    print("per file:", dict(sorted(Counter(r["file"] for r in final).items())))
    print("hard-negative sub-buckets:",
          dict(sorted(Counter((strata[r["item"]], subbucket[r["item"]])
                              for r in final if r["item"] in subbucket).items())))


if __name__ == "__main__":
    main()
