"""Placebo test of the event study: pseudo events on the same series at random non-event days.

A pseudo event's abnormal returns depend only on (series, day 0, model, windows), so they are
computed once per (series, candidate day) by the engine itself (the same compiled kernel as the
real pairs, same checks), and each draw only gathers and averages: cost O(series x days x
(estimation + window)) for the candidates plus O(draws x pairs x window) for the draws, instead
of a new fit of every pseudo pair in every draw.

Definitions
-----------
- *Candidate day 0* of series ``j``: a position ``p`` of the series' calendar (a row under
  ``calendar="index"``, an own observation under ``"observed"``) whose event window lies inside
  the data, that is not inside the event window ``[p_e + a, p_e + b]`` of any real event ``e``
  on that series, and whose pseudo pair passes every check a real pair must pass (enough usable
  estimation days, positive residual variance, non-singular benchmark, no missing AR in the
  event window). Candidates are sorted by position.
- *Draw* ``k`` gives each kept real pair ``i`` (with at least one candidate) the candidate number
  ``floor(u(seed, k, i) * n_j)`` of its series, with ``u`` a counter-based uniform number
  (:func:`uniform`, splitmix64 of seed, draw and pair): the same for the same seed whatever the
  threads or chunks. The draw's pseudo AAR of group ``g`` on relative day ``t`` is the mean of
  the pseudo ARs of the group's pairs: ``pl_sum[g, k, t] / pl_n[g, k]``.

Compared with the re-fit path this replaces (numpy, before issue 17), the draws for a seed
differ (counter-based instead of a generator per block of series) and a candidate day now needs
its pseudo pair to pass the study's own checks (before: complete window and enough estimation
days only). The re-fit path survives as the test reference (``tests/backtests/test_engine.py``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from backtests._kernels import kernel

__all__ = ["accumulate", "candidates", "pick", "uniform"]

# candidate cells (candidate days x window days) per chunk of series (~32 MB of pseudo ARs)
_CAND_CELLS = 4_000_000
_M1 = np.uint64(0x9E3779B97F4A7C15)


@kernel(cache=True, nogil=True, inline="always")
def _mix(z):
    """splitmix64 finaliser (uint64 -> uint64)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@kernel(cache=True, nogil=True)
def uniform(seed, draw, pair):
    """Uniform number in [0, 1) of (seed, draw, pair): splitmix64 of the three, 53 bits."""
    z = _mix(np.uint64(seed) * _M1 + np.uint64(0x632BE59BD9B4E019))
    z = _mix(z ^ (np.uint64(draw) * _M1))
    z = _mix(z ^ (np.uint64(pair) * np.uint64(0xD1B54A32D192ED03)))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@kernel(cache=True, nogil=True)
def pick(seed, draw, pair, n_cand):
    """Candidate number (0 .. n_cand - 1) of pair ``pair`` in draw ``draw``."""
    return min(int(uniform(seed, draw, pair) * n_cand), n_cand - 1)


@kernel(cache=True, nogil=True)
def _gather(cand_ar, cand_start, cand_n, pairs, slot, groups, seed, d0, d1, pl_sum, pl_n):
    """Add the pseudo ARs of draws ``d0 .. d1 - 1`` of ``pairs`` to ``pl_sum`` / ``pl_n``."""
    w = cand_ar.shape[1]
    for k in range(d0, d1):
        for q in range(pairs.shape[0]):
            i = pairs[q]
            sl = slot[q]
            nc = cand_n[sl]
            if nc == 0:
                continue
            row = cand_ar[cand_start[sl] + pick(seed, k, i, nc)]
            g = groups[i]
            pl_n[g, k] += 1.0
            acc = pl_sum[g, k]
            for t in range(w):
                acc[t] += row[t]


def candidates(
    n_obs: np.ndarray, cols: np.ndarray, window: tuple[int, int], excl: tuple[np.ndarray, np.ndarray]
):
    """Candidate (series, position) pairs of the series ``cols`` before the fit checks.

    Parameters
    ----------
    n_obs : ndarray of int, shape (S,)
        Length of each series' calendar.
    cols : ndarray of int
        Series (sorted, distinct).
    window : (int, int)
        Event window, relative days.
    excl : (ndarray, ndarray)
        Series and day-0 position of every real event; positions inside their event windows
        are not candidates.

    Returns
    -------
    s, p : ndarray of int64
        Series and position of every candidate, sorted by series then position.
    """
    a, b = window
    lo = max(0, -a)
    lens = np.maximum(n_obs[cols] - b - lo, 0)  # positions lo .. n_obs - 1 - b
    start = np.concatenate([[0], np.cumsum(lens)])
    s = np.repeat(cols, lens).astype(np.int64)
    p = (np.arange(start[-1]) - np.repeat(start[:-1], lens) + lo).astype(np.int64)
    es, ep = excl
    slot = np.full(int(n_obs.shape[0]), -1, dtype=np.int64)
    slot[cols] = np.arange(len(cols))
    sel = slot[es] >= 0 if len(es) else np.zeros(0, dtype=bool)
    if sel.any():  # a difference array over the candidates: +1 at p_e + a - lo, -1 after p_e + b - lo
        diff = np.zeros(start[-1] + 1, dtype=np.int64)
        base = start[slot[es[sel]]] - lo
        lo_e = np.clip(ep[sel] + a, lo, None)
        hi_e = np.minimum(ep[sel] + b, n_obs[es[sel]] - 1 - b)
        ok = hi_e >= lo_e
        np.add.at(diff, (base + lo_e)[ok], 1)
        np.add.at(diff, (base + hi_e + 1)[ok], -1)
        free = np.cumsum(diff[:-1]) == 0
        s, p = s[free], p[free]
    return s, p


def accumulate(run, n_obs, s, pos, groups, n_groups, keep, *, window, excl, draws, seed):
    """Placebo accumulators of the kept pairs: ``pl_sum`` (G, K, W), ``pl_n`` (G, K) and
    ``pl_cand`` (N,) the number of candidate days of each pair's series (0 for excluded pairs).

    ``run(s, p)`` fits pseudo pairs with the study's settings and returns ``(ar, ok)`` (the
    engine itself, :func:`backtests.engine.run_engine` without tests); ``keep`` marks the kept
    real pairs. Series are processed in chunks of about ``_CAND_CELLS`` candidate cells, so the
    pseudo ARs held at a time stay small whatever the panel.
    """
    a, b = window
    w_len = b - a + 1
    pl_sum = np.zeros((n_groups, draws, w_len))
    pl_n = np.zeros((n_groups, draws))
    pl_cand = np.zeros(len(s), dtype=np.int64)
    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        return pl_sum, pl_n, pl_cand
    order = kept[np.argsort(s[kept], kind="stable")]
    used, first = np.unique(s[order], return_index=True)
    per_chunk = np.cumsum(np.maximum(n_obs[used], 1) * w_len) // _CAND_CELLS
    n_thr = max(1, min(4, os.cpu_count() or 1, draws // 50))
    for ch in np.unique(per_chunk):
        cols = used[per_chunk == ch]
        cs, cp = candidates(n_obs, cols, window, excl)
        ar, ok = run(cs, cp)
        cand_ar = np.ascontiguousarray(ar[ok])
        cand_n = np.bincount(np.searchsorted(cols, cs[ok]), minlength=len(cols)).astype(np.int64)
        cand_start = np.concatenate([[0], np.cumsum(cand_n)[:-1]]).astype(np.int64)
        lo = first[np.searchsorted(used, cols[0])]
        hi = first[np.searchsorted(used, cols[-1]) + 1] if cols[-1] != used[-1] else len(order)
        pairs = np.ascontiguousarray(order[lo:hi], dtype=np.int64)
        slot = np.searchsorted(cols, s[pairs]).astype(np.int64)
        pl_cand[pairs] = cand_n[slot]
        g64 = np.asarray(groups, dtype=np.int64)
        cuts = np.linspace(0, draws, n_thr + 1).astype(int)
        args = (cand_ar, cand_start, cand_n, pairs, slot, g64, np.uint64(seed))
        if n_thr == 1:
            _gather(*args, 0, draws, pl_sum, pl_n)
        else:  # draws split over threads: each writes its own draws' cells
            with ThreadPoolExecutor(n_thr) as ex:
                list(
                    ex.map(lambda j, a=args, c=cuts: _gather(*a, c[j], c[j + 1], pl_sum, pl_n), range(n_thr))
                )
    return pl_sum, pl_n, pl_cand
