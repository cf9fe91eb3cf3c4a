"""Batched environments for the gym oracle (:mod:`asyncnigt.problems.gym_oracle`).

A *batch* steps k rows (trajectories) at once through two calls:

* ``reset(seeds) -> obs (k, o)`` (float64, as the oracle sees them);
* ``step(live, actions) -> (obs (m, o), rewards (m,), terminated (m,), truncated (m,))`` for
  the rows ``live`` (m indices into the k rows) and their environment actions.

A batch whose ``defers_rewards`` is true (``VectorPendulum``) returns ``None`` as a step's
rewards and gives them all at once: ``rewards(n) -> (k, n)``, the rewards of the first n
steps since reset (a row's entries at steps where it was not live are unspecified).

Two kinds:

* :mod:`.classic`: numpy versions of gymnasium's classic-control environments
  (``Pendulum-v1``, ``CartPole-v1``, ``MountainCarContinuous-v0``), every row advanced by
  the same float operations as gymnasium's ``step``, on arrays (tested equal to
  gymnasium step by step, ``tests/test_envs.py``), including the ``TimeLimit`` truncation
  that ``gymnasium.make`` adds;
* :class:`.mujoco_batch.MujocoBatch`: MuJoCo environments with a *kind*
  (:mod:`.mujoco_kinds`: Hopper, Walker2d, InvertedPendulum, Humanoid), whose physics
  runs per row in worker threads (``mj_step`` releases the GIL) and whose observations,
  rewards and terminations are computed on arrays with gymnasium's float operations;
* :class:`.gym_batch.GymBatch`: gymnasium environments (one per row), stepped in worker
  threads for the other MuJoCo environments. Each environment is stepped by exactly the
  code gymnasium runs, whatever the thread.

Both MuJoCo batches are bit-for-bit independent of the number of threads.
"""

from .classic import VECTOR_ENVS, vector_batch
from .gym_batch import GymBatch

__all__ = ["VECTOR_ENVS", "GymBatch", "vector_batch"]
