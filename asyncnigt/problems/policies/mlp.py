"""A tanh multilayer perceptron on a flat parameter vector, with hand-written backprop.

Network (L layers, sizes n_0 → n_1 → … → n_L)::

    h_0 = x,   h_l = tanh(h_{l-1} W_l + b_l)  (l < L),   y = h_{L-1} W_L + b_L.

Parameter layout: θ is the concatenation over layers of the row-major flattening of the
augmented matrix [W_l; b_l] of shape (n_{l-1} + 1, n_l) (the weights, then the bias as a
last row). :meth:`TanhMLP.unflatten` returns views of θ, never copies.

Backprop for a scalar objective Σ_rows ⟨dy_row, y_row⟩ (dy = ∂objective/∂y per row)::

    δ_L = dy,   ∂/∂W_l = h_{l-1}ᵀ δ_l,   ∂/∂b_l = 1ᵀ δ_l,   δ_{l-1} = (δ_l W_lᵀ) ⊙ (1 − h_{l-1}²).

Inputs are rows (N, n_0). The backward pass returns either per-row gradients (N, d)
(outer products, :meth:`TanhMLP.backward`), or the sum over each trajectory's steps
(S, d) (:meth:`TanhMLP.segment_backward`, on the padded segment layout (S, T_pad, ·) of
``kernels.py``), which is what GPOMDP needs (``gpomdp.py``) without ever materializing
(N, d). All products go through the batch-invariant kernels of ``kernels.py``, so the
layer values a rollout computes step by step are bit for bit those a forward pass over
the whole trajectories would give: :class:`ForwardRecord` keeps them for the backward
pass, which then skips its forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .kernels import (
    TIME_CHUNK,
    active_steps,
    chunks,
    padded_outer_sum,
    padded_steps,
    row_outer,
    rowwise_matmul,
    scratch_array,
)


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
            h = rowwise_matmul(hs[-1], block[:-1]) + block[-1]
            hs.append(np.tanh(h, out=h))
        last = blocks[-1]
        return rowwise_matmul(hs[-1], last[:-1]) + last[-1], hs

    def forward_into(self, theta: np.ndarray, x: np.ndarray, out: list[np.ndarray],
                     biases: list[np.ndarray] | None = None
                     ) -> tuple[np.ndarray, list[np.ndarray]]:
        """:meth:`forward` writing h_1, …, h_{L-1}, y into the arrays ``out`` (a
        ForwardRecord's step, :meth:`ForwardRecord.step`) instead of new ones: the same
        operations, so the same bits. Returns (y, [h_0, …, h_{L-1}]) as forward does.
        ``biases``: θ's b_1, …, b_L shaped as the outputs (:meth:`tiled_biases`: numpy
        adds arrays of one shape faster than it broadcasts; the same sums)."""
        blocks = self.unflatten(theta)
        hs = [x]
        for block, b, dest in zip(blocks, biases or [block[-1] for block in blocks], out,
                                  strict=True):
            z = np.add(rowwise_matmul(hs[-1], block[:-1], out=dest), b, out=dest)
            hs.append(z if dest is out[-1] else np.tanh(z, out=z))
        return hs.pop(), hs

    def tiled_biases(self, theta: np.ndarray, k: int) -> list[np.ndarray]:
        """θ's biases b_1, …, b_L, each repeated for k rows (k, n_l) (copies)."""
        return [np.tile(block[-1], (k, 1)) for block in self.unflatten(theta)]

    def backward(self, theta: np.ndarray, hs: list[np.ndarray], dy: np.ndarray,
                 out: np.ndarray) -> np.ndarray:
        """Write ∂/∂θ of ⟨dy_r, y_r⟩ per row r into ``out`` (N, dim)."""
        delta = dy
        blocks = self.unflatten(theta)
        for i in range(len(blocks) - 1, -1, -1):  # layer i + 1 of the docstring
            outer = row_outer(_augment(hs[i]), delta)
            out[:, self.offsets[i] : self.offsets[i + 1]] = outer.reshape(len(out), -1)
            if i > 0:
                delta = rowwise_matmul(delta, blocks[i][:-1].T) * (1.0 - hs[i] ** 2)
        return out

    def segment_backward(self, theta: np.ndarray, layers: list[np.ndarray], dy: np.ndarray,
                         lengths: np.ndarray, out: np.ndarray,
                         scratch: dict | None = None) -> np.ndarray:
        """Write Σ_{t<L_s} ∂⟨dy_{s,t}, y_{s,t}⟩/∂θ per segment s into ``out`` (S, dim).

        Inputs in the padded segment layout (S, T_pad, ·) (any strides), read at t < L_s
        (``lengths``) only: ``layers`` [h_0, …, h_{L-1}] and ``dy``. Per layer l
        (δ_L = dy)::

            ∂/∂W_l = Σ_t h_{l-1,t}ᵀ δ_{l,t},   ∂/∂b_l = Σ_t δ_{l,t},
            δ_{l-1} = (δ_l W_lᵀ) ⊙ (1 − h_{l-1}²).

        Chunk-major: for each chunk (t0, v, segments) of ``kernels.chunks`` (steps
        t0 … t0 + v − 1 of segments with v steps there), every layer's products (per
        segment, a gemm h_{l-1}ᵀ δ_l and a gemv 1ᵀ δ_l of shapes set by v) are added to its
        sum and δ is carried down the layers (:func:`_carry_delta`), while the working
        arrays stay S × TIME_CHUNK × width (taken from ``scratch``, a dict kept by the
        caller to reuse them across calls)."""
        scratch = {} if scratch is None else scratch
        lengths = np.asarray(lengths, dtype=np.int64)
        blocks = self.unflatten(theta)
        sums = [scratch_array(scratch, ("total", i), (len(lengths),) + block.shape)
                for i, block in enumerate(blocks)]
        for total in sums:
            total.fill(0.0)
        ones = np.ones(TIME_CHUNK)
        for t0, v, segs in chunks(lengths):
            delta = dy[segs, t0 : t0 + v]
            for i in range(len(blocks) - 1, -1, -1):  # layer i + 1 of the docstring
                a = layers[i][segs, t0 : t0 + v]
                m, n = blocks[i].shape
                grad = scratch_array(scratch, ("sum", i), (len(a), m, n))
                np.matmul(a.swapaxes(1, 2), delta, out=grad[:, :-1])  # weights
                np.matmul(ones[:v], delta, out=grad[:, -1])  # bias
                sums[i][segs] += grad
                if i > 0:
                    nxt, slope = (scratch_array(scratch, (key, i), (len(a), v, m - 1))
                                  for key in ("delta", "slope"))
                    delta = _carry_delta(blocks[i][:-1], a, delta, nxt, slope)
        for i, total in enumerate(sums):
            out[:, self.offsets[i] : self.offsets[i + 1]] = total.reshape(len(out), -1)
        return out


def _carry_delta(w: np.ndarray, h: np.ndarray, delta: np.ndarray, out: np.ndarray,
                 slope: np.ndarray) -> np.ndarray:
    """δ' = (δ Wᵀ) ⊙ (1 − h²) on a chunk of segments (h, δ, out: (P, v, ·)), written into
    ``out``; ``slope`` (like out, contiguous) receives 1 − h².

    δ Wᵀ is one gemm (v, n) @ (n, m) per segment, on that segment's chunk alone, of a
    shape that depends on its length alone (batch-invariant, as the sums of
    :func:`padded_outer_sum`)."""
    np.matmul(delta, w.T, out=out)
    np.subtract(1.0, np.square(h, out=slope), out=slope)
    return np.multiply(out, slope, out=out)


class Steps:
    """The steps t < L_s of S segments (lengths L (S,), L_s ≤ T = ``n_t``) in arrays laid
    out (S, T', ·), T' ≥ max L: :meth:`rows` selects them (a view when all L_s are equal,
    else a copy in row-major order), :meth:`flat` as one (N, ·) array, and
    :meth:`scatter` writes such rows into the padded layout (S, T_pad, ·), T_pad =
    ``padded_steps(T)``, zeros elsewhere."""

    def __init__(self, lengths: np.ndarray, n_t: int):
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.t_pad = padded_steps(n_t)
        self.l_max = l_max = int(self.lengths.max(initial=0))
        if np.all(self.lengths == l_max):
            self.index = (slice(None), slice(0, l_max))
        else:
            self.index = np.arange(l_max) < self.lengths[:, None]

    def rows(self, x: np.ndarray) -> np.ndarray:
        """The selected steps of x (S, T', …): (S, L, …) or (N, …)."""
        index = self.index
        if isinstance(index, tuple):
            return x[index]
        return x[:, : self.l_max][index]

    def flat(self, x: np.ndarray) -> np.ndarray:
        """The selected steps of x (S, T', …) as one array (N, …) in row-major order."""
        sel = self.rows(x)
        return sel.reshape((-1,) + sel.shape[2:]) if isinstance(self.index, tuple) else sel

    def scatter(self, values: np.ndarray) -> np.ndarray:
        """Zeros (S, T_pad, k) with the selected steps set to ``values`` (as from rows)."""
        out = np.zeros((len(self.lengths), self.t_pad, values.shape[-1]))
        if isinstance(self.index, tuple):
            values = values.reshape(len(self.lengths), self.l_max, values.shape[-1])
        out[:, : self.l_max][self.index] = values
        return out


class ForwardRecord:
    """A rollout's network values, for the backward pass without recomputing the forward.

    S rows (trajectories) × T_pad steps (``padded_steps(horizon)``), stored step-major so
    that a lockstep rollout's forward pass writes each step's values in place, contiguous
    (:meth:`step`): ``hidden[l - 1]`` (T_pad, S, n_l) holds h_l for l = 1 … L−1 and ``out``
    (T_pad, S, n_L) the output y. :meth:`layers` and :meth:`outputs` view them in the
    padded segment layout (S, T_pad, ·) of :meth:`TanhMLP.segment_backward`. Written by
    :meth:`TanhMLP.forward_into` (or copied from :meth:`TanhMLP.forward`: :meth:`write`)
    through the same batch-invariant kernels, the values equal a recomputed forward pass
    bit for bit. Steps not written hold anything (the memory is not initialised, so a
    record can be reused: :meth:`head`).
    """

    def __init__(self, mlp: TanhMLP, n_rows: int, horizon: int):
        t_pad = padded_steps(horizon)
        self.hidden = [np.empty((t_pad, n_rows, n)) for n in mlp.sizes[1:-1]]
        self.out = np.empty((t_pad, n_rows, mlp.sizes[-1]))
        self.scratch: dict = {}  # the backward pass's working arrays, reused (part_scratch)

    @property
    def n_rows(self) -> int:
        return self.out.shape[1]

    @property
    def contiguous(self) -> bool:
        """Whether a step of its rows is contiguous memory (rows of :meth:`head`, not the
        interleaved rows of MuJoCo's row groups): only then does the forward pass write
        it in place (:meth:`step`) faster than it writes new arrays copied in (:meth:`write`)."""
        return self.out[0].flags.c_contiguous and all(h[0].flags.c_contiguous
                                                      for h in self.hidden)

    def head(self, k: int) -> ForwardRecord:
        """The first k rows (views: writing them writes this record)."""
        return self.rows(slice(k))

    def rows(self, index) -> ForwardRecord:
        """The rows ``index`` selects (a slice: views, writing them writes this record;
        indices: a copy)."""
        sub = object.__new__(ForwardRecord)
        sub.hidden = [h[:, index] for h in self.hidden]
        sub.out, sub.scratch = self.out[:, index], self.scratch
        return sub

    def part_scratch(self, j: int) -> dict:
        """The working arrays of part j of the backward pass (kept across calls; parts that
        run concurrently must not share them)."""
        return self.scratch.setdefault(j, {})

    def step(self, t: int) -> list[np.ndarray]:
        """Step t of every row, [h_1, …, h_{L-1}, y] (views): ``out`` of TanhMLP.forward."""
        return [h[t] for h in self.hidden] + [self.out[t]]

    def write(self, rows, t: int, hs: list[np.ndarray], y: np.ndarray) -> None:
        """Store step t of rows ``rows`` (indices or a slice) from forward's
        (y, [h_0, …, h_{L-1}])."""
        for rec, h in zip(self.hidden, hs[1:], strict=True):
            rec[t, rows] = h
        self.out[t, rows] = y

    def layers(self, t_pad: int) -> list[np.ndarray]:
        """[h_1, …, h_{L-1}] in the padded segment layout (S, t_pad, ·) (views)."""
        return [h[:t_pad].swapaxes(0, 1) for h in self.hidden]

    def outputs(self) -> np.ndarray:
        """y in the padded segment layout (S, T_pad, n_L) (a view)."""
        return self.out.swapaxes(0, 1)


def in_order(fn, jobs: list[tuple]) -> list:
    """[fn(*job) for job in jobs]: the default way to run a backward pass's parts."""
    return [fn(*job) for job in jobs]


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

    def network(self, theta: np.ndarray, obs: np.ndarray, out: list[np.ndarray] | None = None,
                biases: list[np.ndarray] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """The network's output y and layer inputs for observations ``obs`` (TanhMLP.forward;
        written into the arrays ``out`` if given: TanhMLP.forward_into, with ``biases``)."""
        x = np.asarray(obs, dtype=np.float64)
        if out is None:
            return self.mlp.forward(theta, x)
        return self.mlp.forward_into(theta, x, out, biases)

    def sample(self, theta: np.ndarray, obs: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Actions for observations ``obs`` and caller-supplied ``noise`` (see sample_output)."""
        return self.sample_output(theta, self.network(theta, obs)[0], noise)

    def sample_output(self, theta, y, noise):  # pragma: no cover - abstract
        raise NotImplementedError

    def weighted_score_sum(
        self,
        theta: np.ndarray,
        obs: np.ndarray,
        actions: np.ndarray,
        weights: np.ndarray,
        record: ForwardRecord | None = None,
        parts: list[slice] | None = None,
        run=None,
    ) -> np.ndarray:
        """Σ_t w_{b,t} ∇_θ log π_θ(a_{b,t} | s_{b,t}) per trajectory b: (B, d).

        Inputs are (B, T, ·) and weights (B, T). Since Σ_t w_t ∇log π_t = ∇ Σ_t w_t log π_t,
        this is one backward pass with the output gradients scaled by w and the
        weight-matrix gradients summed per trajectory (``TanhMLP.segment_backward``);
        (B, T, d) is never formed. Steps after a trajectory's last non-zero weight
        (padding) are skipped: they contribute exact zeros. Masked steps must hold finite
        values. ``record``: the rollout's network values of these steps, which saves the
        forward pass; the result is the same bit for bit. ``parts``: ranges of trajectories
        whose ``segment_backward`` are separate tasks, ``run(fn, jobs)`` calling fn(*job)
        for each (default: in order; e.g. concurrently, as numpy's products release the
        GIL): every trajectory's arithmetic is batch-invariant, so parts never change the
        result.
        """
        weights = np.asarray(weights, dtype=np.float64)
        obs = np.asarray(obs, dtype=np.float64)
        _, lengths = active_steps(weights)
        steps = Steps(lengths, weights.shape[1])
        x = steps.flat(obs)
        if record is None:
            y, hs = self.mlp.forward(theta, x)
            layers = [steps.scatter(h) for h in hs]
        else:
            y = steps.flat(record.outputs())
            layers = [steps.scatter(x), *record.layers(steps.t_pad)]
        _, dy, extra = self._head(theta, y, steps.flat(np.asarray(actions)))
        w = steps.flat(weights)[:, None]
        grads = np.empty((len(weights), self.dim))
        dy = steps.scatter(dy * w)

        def backward(rows: slice, scratch: dict | None) -> None:
            self.mlp.segment_backward(theta, [h[rows] for h in layers], dy[rows], lengths[rows],
                                      grads[rows, : self.mlp.dim], scratch)

        parts = parts or [slice(None)]
        scratches = [None if record is None else record.part_scratch(j) for j in range(len(parts))]
        (run or in_order)(backward, list(zip(parts, scratches, strict=True)))
        if self.dim > self.mlp.dim:
            grads[:, self.mlp.dim :] = padded_outer_sum(
                steps.scatter(w), steps.scatter(extra), lengths
            )[:, 0]
        return grads
