"""MuJoCo environments stepped as a batch: physics in threads, the rest on arrays.

For environments with a *kind* (:mod:`.mujoco_kinds`), a step of the rows ``live`` runs

1. the kind's ``before`` on the rows' ``MjData`` (e.g. the torso's x position);
2. per row, exactly the physics of gymnasium's ``MujocoEnv._step_mujoco_simulation``
   (``data.ctrl[:] = a``; ``mj_step(model, data, nstep=frame_skip)``;
   ``mj_rnePostConstraint(model, data)``), the rows split over worker threads as
   :class:`.gym_batch.GymBatch` splits them: MuJoCo releases the GIL, and only these
   three calls per row hold it, so the physics of two rows really runs on two cores;
3. the kind's ``after``: observations, rewards and terminations of all rows at once,
   with gymnasium's float operations; and the ``TimeLimit`` truncation that
   ``gymnasium.make`` adds (``spec.max_episode_steps``).

Resets go through gymnasium's own ``reset``. Each row keeps its own ``MjData`` and the
same calls in the same order as gymnasium's ``step``, so results are bit-for-bit those
of stepping the gymnasium environments (tested), for any number of threads; gymnasium's
``step`` instead spends about 20 µs of Python per Hopper step holding the GIL (wrappers,
info dict, scalar checks), which is what kept two threads from using two cores.
"""

from __future__ import annotations

import mujoco
import numpy as np

from .gym_batch import GymBatch
from .mujoco_kinds import Kind


class MujocoBatch(GymBatch):
    """k gymnasium MuJoCo environments of one ``kind``; see the module docstring."""

    def __init__(self, envs: list, kind: Kind, executor=None, threads: int = 1,
                 stats: dict | None = None):
        super().__init__(envs, executor, threads, stats)
        self.kind = kind
        unwrapped = [env.unwrapped for env in envs]
        self.models = [u.model for u in unwrapped]
        self.datas = [u.data for u in unwrapped]
        self.skips = [int(u.frame_skip) for u in unwrapped]
        self.settings = kind.settings(unwrapped)
        limits = [env.spec.max_episode_steps if env.spec is not None else None for env in envs]
        self.max_steps = np.array([np.iinfo(np.int64).max if s is None else s for s in limits],
                                  dtype=np.int64)
        self.elapsed = np.zeros(len(envs), dtype=np.int64)

    def reset(self, seeds) -> np.ndarray:
        self.elapsed[:] = 0
        return super().reset(seeds)

    def _physics(self, work) -> None:
        """The physics of the (row, action) pairs taken from the iterator ``work``, in
        place in the rows' ``MjData``. Threads share one iterator (``next`` on it is
        atomic under the GIL), so each row is stepped once, by whichever thread is free."""
        models, datas, skips = self.models, self.datas, self.skips
        for j, a in work:
            model, data = models[j], datas[j]
            data.ctrl[:] = a
            mujoco.mj_step(model, data, nstep=skips[j])
            mujoco.mj_rnePostConstraint(model, data)

    def _dispatch(self, parts: int, rows: list, actions: np.ndarray) -> list:
        """The physics of ``rows``, shared among ``parts`` threads row by row (the rows'
        costs differ, e.g. with contacts; the results do not depend on which thread steps
        a row); no results."""
        work = zip(rows, actions, strict=True)
        futures = [self.executor.submit(self._physics, work) for _ in range(parts - 1)]
        self._physics(work)
        for f in futures:
            f.result()
        return []

    def step(self, live: np.ndarray, actions: np.ndarray):
        rows = live.tolist()
        if len(rows) == len(self.models):  # every row live (the common case): no copies
            models, datas, s = self.models, self.datas, self.settings
        else:
            models = [self.models[j] for j in rows]
            datas = [self.datas[j] for j in rows]
            s = {k: v[live] if isinstance(v, np.ndarray) else v
                 for k, v in self.settings.items()}
        before = self.kind.before(models, datas, s)
        self._run_rows(rows, actions)
        obs, rewards, terminated = self.kind.after(models, datas, before, actions, s)
        self.elapsed[live] += 1
        truncated = self.elapsed[live] >= self.max_steps[live]
        return (obs.astype(np.float64, copy=False), rewards.astype(np.float64, copy=False),
                terminated, truncated)
