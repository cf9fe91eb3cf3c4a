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
  the trajectory) are computed in fixed chunks of :data:`TIME_CHUNK` consecutive steps
  of that trajectory alone, zero-padded to the chunk length, one gemm of fixed shape per
  chunk, accumulated chunk by chunk in order (:func:`segment_outer_sum`). A
  trajectory's chunks hold the same numbers whatever the batch, so its sum does too.
  Steps whose weight is zero after the last non-zero one are dropped beforehand
  (:func:`active_steps`): they add exact zeros, and skipping them makes the cost
  proportional to the steps taken rather than to batch size × longest trajectory.

Bit-for-bit equality is a property of this numpy + OpenBLAS build, checked by the tests
(``tests/test_policies.py``, ``tests/test_gym_problem.py``); results were also identical
with 1 and 2 OpenBLAS threads. Elementwise ufuncs and per-row reductions along the last
axis are row-invariant by construction.
"""

from __future__ import annotations

import numpy as np

TIME_CHUNK = 64  # steps per gemm in segment_outer_sum: part of the reproducibility contract


def rowwise_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` for x of shape (..., n) and w (n, m), each row computed independently."""
    return (x[..., None, :] @ w)[..., 0, :]


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

    Chunked (see the module docstring) so a segment's sum depends on its rows only.
    """
    c = TIME_CHUNK
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    a_ext = np.concatenate([a, np.zeros((1, a.shape[1]))])  # row N: zero padding
    b_ext = np.concatenate([b, np.zeros((1, b.shape[1]))])
    out = np.zeros((len(lengths), a.shape[1], b.shape[1]))
    for t0 in range(0, int(lengths.max(initial=0)), c):  # chunk t0 // c of every segment
        segs = np.flatnonzero(lengths > t0)
        t = t0 + np.arange(c)
        rows = np.where(t < lengths[segs, None], starts[segs, None] + t, len(a))  # (P, c)
        out[segs] += a_ext[rows].swapaxes(1, 2) @ b_ext[rows]
    return out


def row_outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row outer products a[i] b[i]ᵀ for a (B, m), b (B, n): returns (B, m, n)."""
    return a[:, :, None] * b[:, None, :]
