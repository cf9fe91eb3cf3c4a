"""Malenia's stop rule replayed in bulk over a fast round's sorted candidates.

The tracker of :mod:`asyncnigt.aggregation.malenia` keeps the float sum Σ 1/M_i and
re-checks exactly (``math.fsum``, rationals at equality) near its threshold. Here its
float sum over a run of arrivals is one ``np.cumsum`` of the same increments, and the
same exact checks are made where the tracker makes them, so the decision is the
tracker's in every case (:func:`malenia_quick` returns :data:`AMBIGUOUS` when its bound
on the rounding cannot decide; the caller then replays every arrival with
:func:`malenia_stop`).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from ..aggregation.malenia import _harmonic_ok

AMBIGUOUS = object()  # float sums too close to call without the exact replay


def malenia_quick(win, horizon, n, M, threshold):
    """Malenia's stop without sorting the arrivals before the last worker's first.

    Until every worker has a gradient the tracker only accumulates its float sum
    S = Σ 1/M_i, so the counts at that arrival are per-worker counts below it, and S
    there equals Σ 1/M_i up to the tracker's rounding, bounded by ``tol``. Later
    arrivals are sorted and replayed: while S is known only within ``tol``, each
    "S > threshold" test is decided when it is clear by more than ``tol`` (else
    ``AMBIGUOUS``: the caller replays every arrival exactly); once the tracker has
    re-checked exactly, it holds the fsum and the replay is exact. Returns
    (counts, last worker, a function giving the processed arrivals' times unsorted,
    the latest of them) for :func:`sterbenz_clock`, None when the stop is not below
    ``horizon``, or ``AMBIGUOUS``.
    """
    flat = win.flat
    first = flat[: n]  # c_i1: block 1 holds every worker (L_i >= 1), in rank order
    r = int(np.argmax(first))
    top = first[r]
    if not top < horizon:
        return None
    if np.count_nonzero(flat == top) == 1:  # no tie: the arrivals up to c_i*1
        i_star = int(win.rank[r])
        done = np.flatnonzero(flat <= top)
    else:
        i_star = int(np.flatnonzero(flat[win.place] == top)[-1])  # ties: largest index
        done = np.flatnonzero(flat < top)
        tied = np.flatnonzero(flat == top)
        tw, tj = win.locate(tied)
        done = np.concatenate((done, tied[(tw < i_star) | ((tw == i_star) & (tj == 1))]))
    counts = np.bincount(win.layout.worker[done], minlength=n)
    k0 = done.size
    unit = 2.0**-53
    s = float(np.sum(1.0 / counts))
    post = None
    start, base, exact_mode, last_worker = 0, s, False, i_star
    # the arrival that completed the set of workers: the tracker tests it first
    while True:
        if not exact_mode:
            tol = 4 * unit * n * (k0 + start + n)
        if start == 0:
            value = base
            if not exact_mode and abs(value - threshold) <= tol:
                return AMBIGUOUS
            if not value > threshold:
                # the tracker re-checks with the fsum, within tol + n·2⁻⁵³ of value:
                # no need to compute it when the test is clear by more than that
                if value < (n * n / M) * (1 - 1e-9) - 2 * tol:
                    return counts, last_worker, partial(np.take, flat, done), top
                q_counts = counts
                exact = math.fsum((1.0 / q_counts).tolist())
                if _harmonic_ok(exact, q_counts.tolist(), n, M):
                    return counts, last_worker, partial(np.take, flat, done), top
                base, exact_mode = exact, True
        if post is None:
            mask = flat < horizon
            mask[done] = False
            post = np.flatnonzero(mask)
            vals = flat[post]
            order = np.argsort(vals)
            vals = vals[order]
            post = post[order]
            if vals.size > 1 and not (vals[1:] != vals[:-1]).all():  # exact ties
                pw, pj = win.locate(post)
                order = np.lexsort((pj, pw, vals))
                post, vals = post[order], vals[order]
            pw, pj = win.locate(post)
            jf = pj.astype(float)
            delta = 1.0 / jf - 1.0 / (jf - 1.0)  # every post arrival is a worker's 2nd+
        if start >= post.size:
            return None
        d = delta[start:].copy()
        d[0] = base + d[0]
        run = np.cumsum(d)
        if exact_mode:
            cand = np.flatnonzero(~(run > threshold))
        else:
            tol = 4 * unit * n * (k0 + start + n + np.arange(run.size))
            cand = np.flatnonzero(~(run > threshold + tol))
        if cand.size == 0:
            return None
        c = int(cand[0])
        if not exact_mode and abs(run[c] - threshold) <= tol[c]:
            return AMBIGUOUS
        q = start + c
        q_counts = counts + np.bincount(pw[: q + 1], minlength=n)
        exact = math.fsum((1.0 / q_counts).tolist())
        if _harmonic_ok(exact, q_counts.tolist(), n, M):
            ordered = np.concatenate((flat[done], vals[: q + 1]))  # sorted from k0 on
            return q_counts, int(pw[q]), ordered.view, vals[q]
        start, base, exact_mode = q + 1, exact, True


def malenia_stop(workers, jobs, n, M, threshold):
    """Index of the arrival at which :class:`malenia.Tracker` says DONE, or None."""
    if workers.size == 0:
        return None
    j = jobs.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(jobs == 1, 1.0, 1.0 / j - 1.0 / (j - 1.0))
    complete = np.cumsum(jobs == 1) == n  # no worker left at zero after this arrival
    start, base = 0, 0.0
    while start < workers.size:
        d = delta[start:].copy()
        d[0] = base + d[0]  # the tracker adds to the value it holds
        s = np.cumsum(d)
        cand = np.flatnonzero(complete[start:] & ~(s > threshold))
        if cand.size == 0:
            return None
        q = start + int(cand[0])
        counts = np.bincount(workers[: q + 1], minlength=n)
        exact = math.fsum((1.0 / counts).tolist())
        if _harmonic_ok(exact, counts.tolist(), n, M):
            return q
        start, base = q + 1, exact
    return None
