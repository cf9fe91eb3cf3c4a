"""gymnasium environments stepped together, in worker threads for MuJoCo.

MuJoCo's ``mj_step`` releases the GIL, so the physics of different environments runs on
different cores when each worker thread steps its own slice of the rows; the Python
parts of ``env.step`` (wrappers, observation, reward) still take turns on the GIL. Every
environment is stepped by gymnasium's own ``step`` on its own ``MjData``, and the rows'
results are gathered in row order, so the outcome is bit-for-bit the same for any number
of threads (including none). Whether a step is worth splitting is decided from measured
wall times (the only clock read of the oracle, and it never affects results).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_THREAD_WORK = 3e-4  # seconds of stepping per thread below which threads do not pay
PROBE, MAX_PROBE = 50, 12_800  # steps between retries of splitting after it proved slower


def is_mujoco(env) -> bool:
    unwrapped = env.unwrapped
    return all(hasattr(unwrapped, a) for a in ("model", "data", "frame_skip"))


class GymBatch:
    """k gymnasium environments (one per row); see the module docstring.

    ``executor``: a thread pool shared by the oracle's calls, or ``None`` (serial).
    ``stats``: a dict shared across batches of one oracle with the measured wall seconds
    per environment step of serial and split steps (:meth:`_plan`; a performance
    decision only: the results are the same either way).
    """

    def __init__(self, envs: list, executor: ThreadPoolExecutor | None = None, threads: int = 1,
                 stats: dict | None = None):
        self.envs = envs
        self.threads = threads if executor is not None else 1
        self.executor = executor
        self.stats = stats if stats is not None else {}

    def reset(self, seeds) -> np.ndarray:
        raw = [env.reset(seed=s)[0] for env, s in zip(self.envs, seeds, strict=True)]
        return np.array(raw, dtype=np.float64).reshape(len(self.envs), -1)

    def _step_rows(self, rows, actions) -> list:
        envs = self.envs
        return [envs[j].step(a) for j, a in zip(rows, actions, strict=True)]

    def _plan(self, m: int) -> int:
        """How many threads share a step of m rows (1: the calling thread alone).

        From measured wall seconds per row of serial and of split steps (exponential
        averages in ``stats``): split when each thread gets at least ``MIN_THREAD_WORK``
        seconds and splitting has not proved slower; after it has, it is retried after
        ``PROBE`` steps, then twice as many each time it is still slower (up to
        ``MAX_PROBE``), so the choice follows the machine's load at little cost. A retry's
        measurement replaces the split estimate instead of entering its average, so one
        slow split step (the first one also starts the pool's threads) cannot keep the
        steps serial for long."""
        stats = self.stats
        serial = stats.get("serial")
        if self.threads <= 1 or serial is None:
            return 1
        parts = min(self.threads, m, int(m * serial / MIN_THREAD_WORK))
        if parts <= 1:
            return 1
        split = stats.get("split")
        if split is not None and split > 0.9 * serial:  # splitting proved slower
            stats["steps"] = stats.get("steps", 0) + 1
            if stats["steps"] < stats.get("probe", PROBE):
                return 1
            stats["steps"] = 0  # retry now; if it is still slower, wait twice as long
            stats["probe"] = min(2 * stats.get("probe", PROBE), MAX_PROBE)
            del stats["split"]  # the retry's measurement replaces the old estimate
        else:
            stats["probe"] = PROBE
        return parts

    def _run_rows(self, rows: list, actions: np.ndarray) -> list:
        """:meth:`_dispatch` the rows over as many threads as :meth:`_plan` decides and
        enter the measured wall seconds per row into the averages of ``stats``."""
        parts = self._plan(len(rows))
        t0 = time.perf_counter()
        out = self._dispatch(parts, rows, actions)
        key = "serial" if parts <= 1 else "split"
        old, per_row = self.stats.get(key), (time.perf_counter() - t0) / len(rows)
        self.stats[key] = per_row if old is None else 0.8 * old + 0.2 * per_row
        return out

    def _dispatch(self, parts: int, rows: list, actions: np.ndarray) -> list:
        """``_step_rows`` over ``parts`` contiguous slices of the rows (the calling thread
        steps the first one itself); the results in row order."""
        if parts <= 1:
            return self._step_rows(rows, actions)
        bounds = np.linspace(0, len(rows), parts + 1).astype(int).tolist()
        futures = [self.executor.submit(self._step_rows, rows[a:b], actions[a:b])
                   for a, b in zip(bounds[1:-1], bounds[2:], strict=True)]
        out = self._step_rows(rows[: bounds[1]], actions[: bounds[1]])
        for f in futures:
            out.extend(f.result())
        return out

    def step(self, live: np.ndarray, actions: np.ndarray):
        m = len(live)
        out = self._run_rows(live.tolist(), actions)
        next_obs, rewards, terminated, truncated, _ = zip(*out, strict=True)
        obs = np.array(next_obs, dtype=np.float64).reshape(m, -1)
        return (obs, np.array(rewards, dtype=np.float64), np.array(terminated, dtype=bool),
                np.array(truncated, dtype=bool))
