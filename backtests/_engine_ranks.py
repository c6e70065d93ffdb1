"""Ranks for the engine's Corrado rank test: average ranks and per-group rank-deviation sums.

The compiled kernels write the kept pairs' estimation residuals by chunks of pairs; each chunk
(with the event-window ARs) is ranked here with one vectorised sort (:func:`_rank_dev_sums`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["average_ranks"]

# at most this many pair x day cells per chunk of ranked residuals (temporaries ~1 MB)
_EST_CELLS = 120_000


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks within each row (1 = smallest), ties averaged, NaN kept as NaN.

    Parameters
    ----------
    values : ndarray, shape (n, m)
        Any unit.

    Returns
    -------
    ndarray, shape (n, m)
        Average ranks among the non-missing values of each row (dimensionless).
    """
    v = np.asarray(values, dtype=float)
    n, m = v.shape
    if n == 0 or m == 0:
        return np.full_like(v, np.nan)
    nan = np.isnan(v)
    filled = np.where(nan, np.inf, v)
    order = np.argsort(filled, axis=1)
    srt = np.take_along_axis(filled, order, axis=1)
    # runs of equal values within each row (the +inf fill of NaNs is masked at the end)
    new = np.ones((n, m), dtype=bool)
    new[:, 1:] = srt[:, 1:] != srt[:, :-1]
    new[:, 1:] |= np.isinf(srt[:, 1:])
    if new.all():  # no ties: ranks are the positions in sorted order
        ranks_sorted = np.broadcast_to(np.arange(1.0, m + 1.0), (n, m))
    else:
        flat_new = new.ravel()
        run_id = np.cumsum(flat_new) - 1
        pos = np.tile(np.arange(m, dtype=float), n)
        starts = pos[flat_new]
        counts = np.bincount(run_id)
        avg = starts + (counts - 1) / 2.0 + 1.0
        ranks_sorted = avg[run_id].reshape(n, m)
    out = np.empty((n, m))
    np.put_along_axis(out, order, ranks_sorted, axis=1)
    out[nan] = np.nan
    return out


def _group_sums(g: np.ndarray, mat: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of ``mat`` (n, m) per group code ``g`` (n,) -> (n_groups, m).

    Rows are added in their order (as a per-group loop would), with one ``bincount`` instead of
    a sort; a single group is a plain column sum.
    """
    n, m = mat.shape
    if n_groups == 1:
        return mat.sum(axis=0, keepdims=True)
    key = (g[:, None] * m + np.arange(m)[None, :]).ravel()
    return np.bincount(key, mat.ravel(), n_groups * m).reshape(n_groups, m)


def _rank_dev_sums(f: np.ndarray, g: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-group column sums of within-row rank deviations ``K_it - (n_i + 1) / 2`` and counts.

    Equivalent to ``average_ranks(f) - (n_i + 1) / 2`` summed by group and column (NaN cells
    skipped), but without materialising the rank matrix: the deviations are written in sorted
    order and scattered to their columns with one ``bincount``. Rows with ties fall back to
    :func:`average_ranks`. Deviations are multiples of 1/2, so the sums are exact.

    Parameters
    ----------
    f : ndarray, shape (n, m)
        Values to rank within each row (NaN = missing), any unit.
    g : ndarray of int, shape (n,)
        Group code of each row.
    n_groups : int

    Returns
    -------
    sums, counts : ndarray, shape (n_groups, m)
        Sum of rank deviations (rank units) and number of non-missing cells.
    """
    n, m = f.shape
    nan = np.isnan(f)
    nv = m - nan.sum(axis=1)
    # one SIMD sort of int64 keys instead of an argsort: the order-preserving integer image of
    # each value (-0.0 folded into +0.0, NaN -> +inf, sorted last) with its low bits replaced by
    # the column index; values whose images then collide (true ties, or equal to ~1e-13
    # relative) are flagged below and their rows ranked exactly
    sh = max(1, (m - 1).bit_length())
    low = np.int64((1 << sh) - 1)
    filled = np.where(nan, np.inf, f)
    filled += 0.0
    key = filled.view(np.int64)
    key ^= (key >> 63) & np.int64(0x7FFFFFFFFFFFFFFF)
    key &= ~low
    key |= np.arange(m, dtype=np.int64)[None, :]
    key.sort(axis=1)
    order = key & low
    key >>= sh
    valid_sorted = np.arange(m)[None, :] < nv[:, None]
    tie = key[:, 1:] == key[:, :-1]
    tie &= valid_sorted[:, 1:]
    del key, filled
    dev = np.empty((n, m))
    np.subtract(np.arange(1.0, m + 1.0)[None, :], ((nv + 1) / 2.0)[:, None], out=dev)
    if tie.any():
        rows = np.flatnonzero(tie.any(axis=1))
        rk = average_ranks(f[rows]) - ((nv[rows] + 1) / 2.0)[:, None]
        dev[rows] = np.take_along_axis(np.nan_to_num(rk, nan=0.0), order[rows], axis=1)
    dev *= valid_sorted  # missing values (sorted last) add nothing
    if n_groups == 1:
        sums = np.bincount(order.ravel(), dev.ravel(), m)[None, :]
        cnts = (~nan).sum(axis=0, dtype=float)[None, :]
        return sums, cnts
    order += (g * m)[:, None]
    sums = np.bincount(order.ravel(), dev.ravel(), n_groups * m).reshape(n_groups, m)
    cnts = _group_sums(g, (~nan).astype(float), n_groups)
    return sums, cnts
