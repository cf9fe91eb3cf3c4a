"""A tanh multilayer perceptron on a flat parameter vector, with hand-written backprop.

Network (L layers, sizes n_0 → n_1 → … → n_L)::

    h_0 = x,   h_l = tanh(h_{l-1} W_l + b_l)  (l < L),   y = h_{L-1} W_L + b_L.

Parameter layout: θ is the concatenation over layers of the row-major flattening of the
augmented matrix [W_l; b_l] of shape (n_{l-1} + 1, n_l) (the weights, then the bias as a
last row). :meth:`TanhMLP.unflatten` returns views of θ, never copies.

Backprop for a scalar objective Σ_rows ⟨dy_row, y_row⟩ (dy = ∂objective/∂y per row)::

    δ_L = dy,   ∂/∂[W_l; b_l] = [h_{l-1}, 1]ᵀ δ_l,   δ_{l-1} = (δ_l W_lᵀ) ⊙ (1 − h_{l-1}²).

Inputs are rows (N, n_0). The backward pass returns either per-row gradients (N, d)
(outer products), or, given segment ``lengths`` (rows grouped by trajectory), the sum
over each segment's rows (S, d), which is what GPOMDP needs (``gpomdp.py``) without
ever materializing (N, d). All products go through the batch-invariant kernels of
``kernels.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .kernels import active_steps, row_outer, rowwise_matmul, segment_outer_sum


def orthogonal(rng: np.random.Generator, shape: tuple[int, int], gain: float) -> np.ndarray:
    """A gain-scaled (semi-)orthogonal matrix, Haar distributed (Saxe et al., ICLR 2014)."""
    n_in, n_out = shape
    q, r = np.linalg.qr(rng.standard_normal((max(n_in, n_out), min(n_in, n_out))))
    q = q * np.where(np.diag(r) < 0.0, -1.0, 1.0)  # sign fix makes the law uniform
    return gain * (q if n_in >= n_out else q.T)


def _augment(h: np.ndarray) -> np.ndarray:
    """[h, 1]: append the constant input that multiplies the bias row."""
    return np.concatenate([h, np.ones(h.shape[:-1] + (1,))], axis=-1)


class TanhMLP:
    """tanh MLP with layer sizes ``sizes = (n_0, …, n_L)``; see the module docstring."""

    def __init__(self, sizes: Sequence[int]):
        self.sizes = tuple(int(s) for s in sizes)
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"an MLP needs >= 2 positive layer sizes, got {self.sizes}")
        self.shapes = [
            (n_in + 1, n_out) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True)
        ]
        sizes_flat = [a * b for a, b in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes_flat)]).astype(int).tolist()
        self.dim = int(self.offsets[-1])
        self._views = None  # (θ, its views): see unflatten

    def unflatten(self, theta: np.ndarray) -> list[np.ndarray]:
        """Views [W_l; b_l] of shape (n_{l-1} + 1, n_l) into θ[: dim].

        The views of the last θ are kept: a rollout calls the network with the same θ
        at every step (views follow in-place changes of θ, so reuse is always exact)."""
        cached = self._views
        if cached is not None and cached[0] is theta:
            return cached[1]
        views = [
            theta[a:b].reshape(shape)
            for a, b, shape in zip(self.offsets[:-1], self.offsets[1:], self.shapes, strict=True)
        ]
        self._views = (theta, views)
        return views

    def init(
        self, rng: np.random.Generator, hidden_gain: float = np.sqrt(2.0), output_gain=0.01
    ) -> np.ndarray:
        """Orthogonal weights (gain √2 hidden, small gain on the output layer), zero biases."""
        theta = np.zeros(self.dim)
        blocks = self.unflatten(theta)
        for i, block in enumerate(blocks):
            gain = output_gain if i == len(blocks) - 1 else hidden_gain
            block[:-1] = orthogonal(rng, (block.shape[0] - 1, block.shape[1]), gain)
        return theta

    def forward(self, theta: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Output y (..., n_L) and the layer inputs [h_0, …, h_{L-1}] kept for backprop."""
        hs = [x]
        blocks = self.unflatten(theta)
        for block in blocks[:-1]:
            hs.append(np.tanh(rowwise_matmul(hs[-1], block[:-1]) + block[-1]))
        last = blocks[-1]
        return rowwise_matmul(hs[-1], last[:-1]) + last[-1], hs

    def backward(
        self,
        theta: np.ndarray,
        hs: list[np.ndarray],
        dy: np.ndarray,
        out: np.ndarray,
        lengths: np.ndarray | None = None,
    ) -> np.ndarray:
        """Write ∂/∂θ of ⟨dy, y⟩ into ``out``: per row (N, dim) when ``lengths`` is None,
        else summed over each segment of consecutive rows (len(lengths), dim)."""
        delta = dy
        blocks = self.unflatten(theta)
        for i in range(len(blocks) - 1, -1, -1):  # layer i + 1 of the docstring
            h_aug = _augment(hs[i])
            if lengths is None:
                outer = row_outer(h_aug, delta)
            else:
                outer = segment_outer_sum(h_aug, delta, lengths)
            out[:, self.offsets[i] : self.offsets[i + 1]] = outer.reshape(len(out), -1)
            if i > 0:
                delta = rowwise_matmul(delta, blocks[i][:-1].T) * (1.0 - hs[i] ** 2)
        return out


class MLPPolicy:
    """Score plumbing shared by the MLP policies.

    A subclass sets ``self.mlp`` and ``self.dim`` (≥ ``mlp.dim``; extra trailing
    parameters, e.g. a state-independent log-std, come after the network's) and
    implements ``_head(theta, y, actions) -> (log π, ∂log π/∂y, ∂log π/∂θ_extra)``
    on the network output y, elementwise over leading axes.
    """

    mlp: TanhMLP
    dim: int

    def _head(self, theta, y, actions):  # pragma: no cover - abstract
        raise NotImplementedError

    def log_prob(self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """log π_θ(a | s) per row."""
        y, _ = self.mlp.forward(theta, np.asarray(obs, dtype=np.float64))
        return self._head(theta, y, actions)[0]

    def log_prob_and_grad(
        self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """log π_θ(a_i | s_i) (B,) and the scores ∇_θ log π_θ(a_i | s_i) (B, d), per row."""
        y, hs = self.mlp.forward(theta, np.asarray(obs, dtype=np.float64))
        logp, dy, extra = self._head(theta, y, actions)
        grads = np.empty((y.shape[0], self.dim))
        self.mlp.backward(theta, hs, dy, grads[:, : self.mlp.dim])
        grads[:, self.mlp.dim :] = extra
        return logp, grads

    def weighted_score_sum(
        self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        """Σ_t w_{b,t} ∇_θ log π_θ(a_{b,t} | s_{b,t}) per trajectory b: (B, d).

        Inputs are (B, T, ·) and weights (B, T). Since Σ_t w_t ∇log π_t = ∇ Σ_t w_t log π_t,
        this is one backward pass with the output gradients scaled by w and the
        weight-matrix gradients summed per trajectory (``segment_outer_sum``); (B, T, d) is
        never formed. Steps after a trajectory's last non-zero weight (padding) are
        skipped: they contribute exact zeros. Masked steps must hold finite values.
        """
        weights = np.asarray(weights, dtype=np.float64)
        active, lengths = active_steps(weights)
        y, hs = self.mlp.forward(theta, np.asarray(obs, dtype=np.float64)[active])
        _, dy, extra = self._head(theta, y, np.asarray(actions)[active])
        w = weights[active][:, None]
        grads = np.empty((len(weights), self.dim))
        self.mlp.backward(theta, hs, dy * w, grads[:, : self.mlp.dim], lengths)
        if self.dim > self.mlp.dim:
            grads[:, self.mlp.dim :] = segment_outer_sum(w, extra, lengths)[:, 0]
        return grads
