"""Problem registry: the ``problem.kind`` values a scenario may use.

Each entry maps a kind to its parameter schema (validated by the scenario loader, with
defaults) and a builder ``build(params, streams, n_workers) -> Problem``. Adding a
problem is one module plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ScenarioError
from ..schema import Param
from .base import Evaluation, GradientBatch, Oracle, Problem


@dataclass(frozen=True)
class ProblemKind:
    schema: dict[str, Param]
    build: Callable
    doc: str = ""


def _quadratic(p, streams, n):
    from .synthetic import Quadratic

    return Quadratic(**p)


def _chain(p, streams, n):
    from .synthetic import Chain

    return Chain(**p)


def _lqr(p, streams, n):
    from .lqr import LQRProblem
    from .lqr_exact import MATRIX_NAMES

    p = dict(p)
    matrices = p.pop("matrices") or {}
    worker_matrices = p.pop("worker_matrices")
    overrides = [("problem.matrices", matrices)]
    for j, over in enumerate(worker_matrices or ()):
        if not isinstance(over, (dict, type(None))):
            raise ScenarioError(f"problem.worker_matrices[{j}]", f"must be a mapping, got {over!r}")
        overrides.append((f"problem.worker_matrices[{j}]", over or {}))
    for path, mapping in overrides:
        for key in mapping:
            if key not in MATRIX_NAMES:
                raise ScenarioError(f"{path}.{key}",
                                    f"unknown matrix; expected one of: {', '.join(MATRIX_NAMES)}")
    if worker_matrices is not None and len(worker_matrices) != n:
        raise ScenarioError(
            "problem.worker_matrices",
            f"expected one entry per worker ({n}), got {len(worker_matrices)}",
        )
    return LQRProblem(**p, **matrices, worker_matrices=worker_matrices,
                      rng=streams.generator("problem"))


def _gym(p, streams, n):
    from gymnasium import error as gym_error

    from .gym_problem import GymProblem

    p = dict(p)
    negate = p.get("negate_observation_workers") or []
    for j, w in enumerate(negate):
        if not isinstance(w, int) or isinstance(w, bool) or not 0 <= w < n:
            raise ScenarioError(f"problem.negate_observation_workers[{j}]",
                                f"must be a worker index in [0, {n}), got {w!r}")
    kwargs = p.get("worker_env_kwargs")
    if kwargs is not None and len(kwargs) != n:
        raise ScenarioError("problem.worker_env_kwargs",
                            f"expected one mapping per worker ({n}), got {len(kwargs)}")
    for j, kw in enumerate(kwargs or ()):
        if not isinstance(kw, dict):
            raise ScenarioError(f"problem.worker_env_kwargs[{j}]", f"must be a mapping, got {kw!r}")
    try:
        problem = GymProblem(**p)
        if kwargs:  # make each distinct worker environment once: bad keywords fail now,
            # not when that worker's environment is first needed in the middle of a run
            distinct = {repr(sorted(problem.worker_kwargs(w).items())): w for w in range(n)}
            for w in sorted(distinct.values()):
                problem.make_env(w).close()
    except (TypeError, gym_error.Error) as err:  # raised by gymnasium or the environment
        raise ScenarioError("problem", f"{p['env']}: {err}") from None
    return problem


def check_env_id(env_id: str, path: str) -> None:
    """Raise a ScenarioError unless ``env_id`` is a registered gymnasium id."""
    import gymnasium as gym

    try:
        gym.spec(env_id)
    except Exception as err:  # gymnasium raises several error types for unknown ids
        raise ScenarioError(path, f"unknown gymnasium environment {env_id!r} ({err})") from None


def build_problem(kind: str, params: dict, streams, n: int) -> Problem:
    """Build a problem, turning constructor errors into ScenarioErrors under ``problem``."""
    try:
        return PROBLEMS[kind].build(dict(params), streams, n)
    except ScenarioError:
        raise
    except ValueError as err:
        raise ScenarioError("problem", str(err)) from None
    except MemoryError as err:
        raise ScenarioError("problem", f"too large to build on this machine ({err})") from None


_SYNTH = {
    "dim": Param("int", doc="parameter dimension d", low=1),
    "noise": Param("float", 0.0, "σ of additive Gaussian gradient noise", low=0),
    "heterogeneity": Param("float", 0.0, "scale h of per-worker optimum shifts", low=0),
}

PROBLEMS: dict[str, ProblemKind] = {
    "quadratic": ProblemKind(
        {
            **_SYNTH,
            "condition": Param("float", 10.0, "condition number L/μ", low=1),
            "smoothness": Param("float", 1.0, "largest eigenvalue L", low=0, low_open=True),
            "init_scale": Param("float", 1.0, "θ_0 ~ init_scale · N(0, I)", low=0),
        },
        _quadratic,
        "convex quadratic ½ Σ λ_j x_j² (minimised)",
    ),
    "chain": ProblemKind(
        {
            **_SYNTH,
            "scale": Param("float", 1.0, "multiplier of the chain function", low=0, low_open=True),
            "init_scale": Param("float", 0.0, "θ_0 ~ init_scale · N(0, I)", low=0),
        },
        _chain,
        "nonconvex zero-chain of Carmon et al. (minimised)",
    ),
    "lqr": ProblemKind(
        {
            "state_dim": Param("int", 4, "state dimension p", low=1),
            "action_dim": Param("int", 2, "action dimension q", low=1),
            "horizon": Param("int", 20, "horizon H", low=1),
            "gamma": Param("float", 0.95, "discount γ", low=0, high=1, low_open=True),
            "policy_std": Param("float", 0.5, "σ of the linear-Gaussian policy", low=0,
                                low_open=True),
            "spectral_radius": Param("float", 0.9, "ρ(A) of the random A", low=0, low_open=True),
            "action_cost": Param("float", 1.0, "R = action_cost · I", low=0),
            "process_noise": Param("float", 0.1, "W = process_noise · I", low=0),
            "init_scale": Param("float", 1e-3, "K_0 ~ init_scale · N(0, I)", low=0),
            "matrices": Param("map", None, "explicit A, B, Q, R, W, Sigma0 (lists of lists)"),
            "worker_matrices": Param("list", None, "per-worker overrides of the matrices"),
        },
        _lqr,
        "linear-quadratic regulator with exact J and ∇J (maximised)",
    ),
    "gym": ProblemKind(
        {
            "env": Param("str", doc="a registered gymnasium id with a Box observation space"),
            "horizon": Param("int", 1000, "truncation horizon H", low=1),
            "gamma": Param("float", 0.99, "discount γ", low=0, high=1, low_open=True),
            "policy": Param("map", {}, "hidden_sizes, state_dependent_std, min_std, init_log_std"),
            "env_kwargs": Param("map", {}, "gymnasium.make keyword arguments for every worker"),
            "worker_env_kwargs": Param("list", None, "per-worker overrides of env_kwargs"),
            "negate_observation_workers": Param("list", None,
                                                "workers seeing negated observations"),
            "eval_episodes": Param("int", 10, "evaluation episodes per evaluation", low=1),
            "vector_envs": Param("bool", True, "array-stepped environments (same results)"),
            "threads": Param("int", None, "threads stepping MuJoCo environments (default: one "
                             "per core; same results)", low=1),
        },
        _gym,
        "GPOMDP policy gradient on a gymnasium environment (maximised)",
    ),
}

__all__ = ["PROBLEMS", "Evaluation", "GradientBatch", "Oracle", "Problem", "ProblemKind"]
