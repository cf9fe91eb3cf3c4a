"""What a MuJoCo environment's ``step`` computes around its physics, on rows of arrays.

gymnasium's MuJoCo environments (``gymnasium/envs/mujoco/*_v5.py``) step as

    before = f(data)                                  # e.g. the torso's x position
    data.ctrl[:] = a; mj_step(model, data, nstep=frame_skip); mj_rnePostConstraint(...)
    observation, reward, terminated = g(data, before, a)

A *kind* here is f and g for one environment class, written on the stacked arrays of
many rows (one ``MjData`` each) with the float operations of gymnasium's code, in the
same order, so every row gets the bits gymnasium gives it (``tests/test_envs.py``
compares observations, rewards and terminations step by step). Each kind reads the
environment instance's own settings (reward weights, healthy ranges, observation
options), so keyword arguments passed to ``gymnasium.make`` are honoured, per row.

Kinds: ``Hopper-v5``, ``Walker2d-v5``, ``InvertedPendulum-v5``, ``Humanoid-v5``
(:data:`KINDS`). Other MuJoCo environments are stepped by gymnasium's own ``step``
(:class:`.gym_batch.GymBatch`).
"""

from __future__ import annotations

import numpy as np
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.humanoid_v5 import HumanoidEnv, mass_center
from gymnasium.envs.mujoco.inverted_pendulum_v5 import InvertedPendulumEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv


def _rows(datas, field: str) -> np.ndarray:
    """The field of every row's ``MjData``, stacked: (m, …)."""
    return np.array([getattr(d, field) for d in datas])


def _column(envs, attribute: str) -> np.ndarray:
    """A per-row setting of the environments (``unwrapped`` instances): (k,) or (k, 2)."""
    return np.array([getattr(e, attribute) for e in envs], dtype=np.float64)


class Kind:
    """f and g of the module docstring for one environment class.

    ``settings(envs)`` gathers the rows' settings once per batch (numpy arrays indexed by
    row, and values shared by all rows); ``before(models, datas, s)`` and
    ``after(models, datas, before, actions, s)`` see only the rows being stepped, with the
    arrays of ``s`` restricted to them."""

    env_class: type

    def settings(self, envs) -> dict:
        return {"dt": _column(envs, "dt")}

    def before(self, models, datas, s) -> np.ndarray | None:
        return None

    def after(self, models, datas, before, actions, s):  # pragma: no cover - abstract
        raise NotImplementedError


class PlanarWalker(Kind):
    """Hopper-v5 and Walker2d-v5: forward reward from the torso's x velocity, a healthy
    reward, a control cost, and termination when unhealthy (z, angle, and for the
    Hopper every state coordinate after the first two within a range)."""

    def __init__(self, env_class: type, state_range: bool):
        self.env_class, self.state_range = env_class, state_range

    def settings(self, envs) -> dict:
        s = super().settings(envs)
        names = ("_forward_reward_weight", "_ctrl_cost_weight", "_healthy_reward",
                 "_healthy_z_range", "_healthy_angle_range")
        for name in names + (("_healthy_state_range",) if self.state_range else ()):
            s[name] = _column(envs, name)
        s["_terminate_when_unhealthy"] = _column(envs, "_terminate_when_unhealthy") != 0
        s["exclude"] = bool(envs[0]._exclude_current_positions_from_observation)
        return s

    def before(self, models, datas, s) -> np.ndarray:
        return np.array([d.qpos[0] for d in datas])

    def healthy(self, qpos, qvel, s) -> np.ndarray:
        """``is_healthy`` per row: strict inequalities, as gymnasium's."""
        z, angle = qpos[:, 1], qpos[:, 2]
        (z_lo, z_hi), (a_lo, a_hi) = s["_healthy_z_range"].T, s["_healthy_angle_range"].T
        ok = (z_lo < z) & (z < z_hi) & (a_lo < angle) & (angle < a_hi)
        if self.state_range:  # state_vector()[2:] = (qpos[2:], qvel)
            state = np.concatenate([qpos[:, 2:], qvel], axis=1)
            lo, hi = s["_healthy_state_range"].T
            ok &= np.all((lo[:, None] < state) & (state < hi[:, None]), axis=1)
        return ok

    def after(self, models, datas, before, actions, s):
        qpos, qvel = _rows(datas, "qpos"), _rows(datas, "qvel")
        x_velocity = (qpos[:, 0] - before) / s["dt"]
        position = qpos[:, 1:] if s["exclude"] else qpos
        obs = np.concatenate([position, np.clip(qvel, -10, 10)], axis=1)
        healthy = self.healthy(qpos, qvel, s)
        forward = s["_forward_reward_weight"] * x_velocity
        rewards = forward + np.where(healthy, s["_healthy_reward"], 0.0)
        ctrl_cost = s["_ctrl_cost_weight"] * np.sum(np.square(actions), axis=1)
        return obs, rewards - ctrl_cost, ~healthy & s["_terminate_when_unhealthy"]


class InvertedPendulum(Kind):
    """InvertedPendulum-v5: observation (qpos, qvel); reward 1 until the pole leaves
    |angle| ≤ 0.2 (or the observation is not finite), which terminates."""

    env_class = InvertedPendulumEnv

    def after(self, models, datas, before, actions, s):
        obs = np.concatenate([_rows(datas, "qpos"), _rows(datas, "qvel")], axis=1)
        terminated = ~np.isfinite(obs).all(axis=1) | (np.abs(obs[:, 1]) > 0.2)
        return obs, (~terminated).astype(np.float64), terminated


class Humanoid(Kind):
    """Humanoid-v5: forward reward from the x velocity of the centre of mass, healthy
    reward, control and (clipped) contact costs, termination when the torso height
    leaves the healthy range. The centre of mass uses gymnasium's own ``mass_center``
    per row (an einsum whose summation order a batched version would not keep)."""

    env_class = HumanoidEnv
    OBS_FIELDS = (  # (option attribute or None, MjData field, rows dropped from the front)
        ("_include_cinert_in_observation", "cinert", 1),
        ("_include_cvel_in_observation", "cvel", 1),
        ("_include_qfrc_actuator_in_observation", "qfrc_actuator", 6),
        ("_include_cfrc_ext_in_observation", "cfrc_ext", 1),
    )

    def settings(self, envs) -> dict:
        s = super().settings(envs)
        for name in ("_forward_reward_weight", "_ctrl_cost_weight", "_contact_cost_weight",
                     "_healthy_reward", "_healthy_z_range", "_contact_cost_range"):
            s[name] = _column(envs, name)
        s["_terminate_when_unhealthy"] = _column(envs, "_terminate_when_unhealthy") != 0
        first = envs[0]
        s["exclude"] = bool(first._exclude_current_positions_from_observation)
        s["fields"] = [(f, skip) for option, f, skip in self.OBS_FIELDS
                       if getattr(first, option) is True]
        return s

    def before(self, models, datas, s) -> np.ndarray:
        return np.array([mass_center(m, d) for m, d in zip(models, datas, strict=True)])

    def after(self, models, datas, before, actions, s):
        qpos, qvel = _rows(datas, "qpos"), _rows(datas, "qvel")
        m = len(datas)
        after = self.before(models, datas, s)
        x_velocity = ((after - before) / s["dt"][:, None])[:, 0]
        parts = [qpos[:, 2:] if s["exclude"] else qpos, qvel]
        parts += [_rows(datas, f)[:, skip:].reshape(m, -1) for f, skip in s["fields"]]
        obs = np.concatenate(parts, axis=1)
        z_lo, z_hi = s["_healthy_z_range"].T
        healthy = (z_lo < qpos[:, 2]) & (qpos[:, 2] < z_hi)
        rewards = s["_forward_reward_weight"] * x_velocity + np.where(
            healthy, s["_healthy_reward"], 0.0)
        ctrl_cost = s["_ctrl_cost_weight"] * np.sum(np.square(_rows(datas, "ctrl")), axis=1)
        c_lo, c_hi = s["_contact_cost_range"].T
        contact = s["_contact_cost_weight"] * np.sum(
            np.square(_rows(datas, "cfrc_ext")).reshape(m, -1), axis=1)
        costs = ctrl_cost + np.clip(contact, c_lo, c_hi)
        return obs, rewards - costs, ~healthy & s["_terminate_when_unhealthy"]


KINDS: tuple[Kind, ...] = (
    PlanarWalker(HopperEnv, state_range=True),
    PlanarWalker(Walker2dEnv, state_range=False),
    InvertedPendulum(),
    Humanoid(),
)


def kind_of(env) -> Kind | None:
    """The kind of a gymnasium environment (its ``unwrapped`` class exactly), or None."""
    cls = type(env.unwrapped)
    return next((k for k in KINDS if k.env_class is cls), None)
