"""gymnasium environments stepped together, in worker threads for MuJoCo.

MuJoCo's ``mj_step`` releases the GIL, so the physics of different environments runs on
different cores when each worker thread steps its own slice of the rows; the Python
parts of ``env.step`` (wrappers, observation, reward) still take turns on the GIL. Every
environment is stepped by gymnasium's own ``step`` on its own ``MjData``, and the rows'
results are gathered in row order, so the outcome is bit-for-bit the same for any number
of threads (including none).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_ROWS_PER_THREAD = 2  # below this many live rows per thread, step in the calling thread


def default_threads() -> int:
    """Threads that step MuJoCo environments by default: one per core."""
    return max(1, os.cpu_count() or 1)


def is_mujoco(env) -> bool:
    unwrapped = env.unwrapped
    return all(hasattr(unwrapped, a) for a in ("model", "data", "frame_skip"))


class GymBatch:
    """k gymnasium environments (one per row); see the module docstring.

    ``executor``: a thread pool shared by the oracle's calls, or ``None`` (serial).
    """

    def __init__(self, envs: list, executor: ThreadPoolExecutor | None = None, threads: int = 1):
        self.envs = envs
        self.threads = threads if executor is not None else 1
        self.executor = executor

    def reset(self, seeds) -> np.ndarray:
        raw = [env.reset(seed=s)[0] for env, s in zip(self.envs, seeds, strict=True)]
        return np.array(raw, dtype=np.float64).reshape(len(self.envs), -1)

    def _step_rows(self, rows, actions) -> list:
        envs = self.envs
        return [envs[j].step(a) for j, a in zip(rows, actions, strict=True)]

    def step(self, live: np.ndarray, actions: np.ndarray):
        rows = live.tolist()
        m = len(rows)
        parts = min(self.threads, m // MIN_ROWS_PER_THREAD)
        if parts <= 1:
            out = self._step_rows(rows, actions)
        else:  # contiguous slices; the calling thread steps the first one itself
            bounds = np.linspace(0, m, parts + 1).astype(int).tolist()
            futures = [self.executor.submit(self._step_rows, rows[a:b], actions[a:b])
                       for a, b in zip(bounds[1:-1], bounds[2:], strict=True)]
            out = self._step_rows(rows[: bounds[1]], actions[: bounds[1]])
            for f in futures:
                out.extend(f.result())
        next_obs, rewards, terminated, truncated, _ = zip(*out, strict=True)
        obs = np.array(next_obs, dtype=np.float64).reshape(m, -1)
        return (obs, np.array(rewards, dtype=np.float64), np.array(terminated, dtype=bool),
                np.array(truncated, dtype=bool))
