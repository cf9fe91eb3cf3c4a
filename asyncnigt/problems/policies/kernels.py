"""Batch-invariant linear-algebra kernels shared by the policies.

Reproducibility contract (``problems/base.py``): a trajectory's gradient must not depend
on which other trajectories share its batch. Rollouts are chaotic (MuJoCo), so a
difference in the last bit of one action grows into a different trajectory; the kernels
here therefore give every row bit-for-bit the same result whatever the batch around it.

* A plain 2-D product ``X @ W`` does **not** guarantee this: OpenBLAS picks different
  kernels (gemv for one row, gemm micro-tiles, edge kernels) depending on the number of
  rows and a row's position, and the rounding differs. :func:`rowwise_matmul` instead
  multiplies a stack of 1-row matrices, ``(..., 1, n) @ (n, m)``; numpy evaluates each
  stack element with the same call, so row results are batch-invariant, at the speed of
  the 2-D product for our sizes (measured: (64000, 64) @ (64, 64) in 17 ms vs 14 ms).
* Sums over a trajectory's steps Σ_t a_t b_tᵀ (a weight matrix's gradient summed along
  the trajectory) are computed in chunks of :data:`TIME_CHUNK` consecutive steps of
  that trajectory alone (its last chunk holds its remaining steps only), one gemm per
  chunk whose shape depends on the trajectory's length alone, accumulated chunk by
  chunk in order (:func:`chunks`, :func:`padded_outer_sum`). A trajectory's chunks
  hold the same numbers whatever the batch, so its sum does too. The rows live in a
  *padded segment layout* (S, T_pad, ·), trajectory s's step t at [s, t] (steps past
  its length are never read), T_pad a multiple of the chunk (:func:`padded_steps`,
  :func:`pad_segments`), so that chunk j of the trajectories with the same number of
  steps in it is a view, one stacked matmul, with no gathering. Steps whose weight is
  zero after the last non-zero one are dropped beforehand (:func:`active_steps`): they
  add exact zeros, and skipping them makes the cost proportional to the steps taken
  rather than to batch size × longest trajectory.

Bit-for-bit equality is a property of this numpy + OpenBLAS build, checked by the tests
(``tests/test_policies.py``, ``tests/test_gym_problem.py``); results were also identical
with 1 and 2 OpenBLAS threads. Elementwise ufuncs and per-row reductions along the last
axis are row-invariant by construction.
"""

from __future__ import annotations

import math

import numpy as np

TIME_CHUNK = 64  # steps per gemm in chunks: part of the reproducibility contract


def rowwise_matmul(x: np.ndarray, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``x @ w`` for x of shape (..., n) and w (n, m), each row computed independently
    (written into ``out`` (..., m) if given: the same calls, the same bits)."""
    if out is None:
        return (x[..., None, :] @ w)[..., 0, :]
    np.matmul(x[..., None, :], w, out=out[..., None, :])
    return out


def scratch_array(scratch: dict, key, shape: tuple[int, ...]) -> np.ndarray:
    """A float64 array of ``shape`` with undefined contents, carved from the buffer
    ``scratch[key]`` (replaced by a larger one when too small): reusing memory across
    calls avoids the page faults of fresh large arrays."""
    size = math.prod(shape)
    buf = scratch.get(key)
    if buf is None or buf.size < size:
        buf = scratch[key] = np.empty(size)
    return buf[:size].reshape(shape)


def active_steps(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-step weights (B, T): the mask (B, T) of steps up to each row's last
    non-zero weight, and the number of such steps per row (B,)."""
    nonzero = weights != 0.0
    n_t = weights.shape[1]
    lengths = np.where(nonzero.any(axis=1), n_t - np.argmax(nonzero[:, ::-1], axis=1), 0)
    return np.arange(n_t) < lengths[:, None], lengths


def segment_outer_sum(a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per segment s, Σ_{r in s} a_r b_rᵀ, for rows a (N, m), b (N, n) made of consecutive
    segments of ``lengths`` (S,) rows (Σ lengths = N): returns (S, m, n).

    The rows are laid out per segment and zero-padded (:func:`pad_segments`), then summed
    by :func:`padded_outer_sum`, so a segment's sum depends on its rows only.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n_t = int(lengths.max(initial=0))
    active = np.arange(n_t) < lengths[:, None]
    return padded_outer_sum(pad_segments(a, active), pad_segments(b, active), lengths)


def padded_steps(n_t: int) -> int:
    """T_pad = ⌈T / TIME_CHUNK⌉ · TIME_CHUNK: steps of a padded segment layout."""
    return -(-int(n_t) // TIME_CHUNK) * TIME_CHUNK


def pad_segments(values: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Rows ``values`` (N, k) of the True entries of ``active`` (S, T), in row-major order,
    scattered into zeros (S, T_pad, k) (:func:`padded_steps`)."""
    n_s, n_t = active.shape
    out = np.zeros((n_s, padded_steps(n_t), values.shape[-1]))
    out[:, :n_t][active] = values
    return out


def chunks(lengths: np.ndarray):
    """The chunks of segments of ``lengths`` L (S,), in the order their sums accumulate:
    for t0 = 0, c, 2c, … < max L (c = TIME_CHUNK), the segments with L_s > t0 grouped by
    v = min(c, L_s − t0), the number of their steps in the chunk (full chunks first).
    Yields (t0, v, segments), segments a slice when it is every segment, else indices."""
    lengths = np.asarray(lengths, dtype=np.int64)
    for t0 in range(0, int(lengths.max(initial=0)), TIME_CHUNK):
        steps = np.minimum(lengths - t0, TIME_CHUNK)
        for v in sorted(set(steps[steps > 0].tolist()), reverse=True):
            same = steps == v
            yield t0, v, slice(None) if same.all() else np.flatnonzero(same)


def padded_outer_sum(a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per segment s, Σ_{t < L_s} a_{s,t} b_{s,t}ᵀ for a (S, T_pad, m), b (S, T_pad, n)
    laid out as segments of ``lengths`` L (T_pad a multiple of TIME_CHUNK): returns
    (S, m, n).

    Each chunk (t0, v, segments) of :func:`chunks` is one gemm (m, v) @ (v, n) per segment
    on that segment's rows alone, accumulated chunk by chunk in order (see the module
    docstring). The chunks are views of the padded layout: the chunk of segments with the
    same v is one stacked matmul, no copy when it is every segment.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros((len(lengths), a.shape[-1], b.shape[-1]))
    for t0, v, segs in chunks(lengths):
        out[segs] += a[segs, t0 : t0 + v].swapaxes(1, 2) @ b[segs, t0 : t0 + v]
    return out


def row_outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row outer products a[i] b[i]ᵀ for a (B, m), b (B, n): returns (B, m, n)."""
    return a[:, :, None] * b[:, None, :]
