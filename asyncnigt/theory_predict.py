"""What the timing theory predicts for each method of a scenario (``asyncnigt theory``).

Pure: reads a validated :class:`~asyncnigt.scenario.Scenario` (and the problem's dimension
and trajectory length), never runs anything. Predictions, from
``reference/timing-theory.md`` (TT) through :mod:`asyncnigt.timing.theory`:

* round methods, fixed times τ_i, batch M, aggregation cost κ (fixed, ring AllReduce, or
  slowest link with fixed link times):
  Rennala, cancel: round = T_R(M) + κ (TT 2, 6); Rennala, ignore: round in
  [T_R(M) + κ, min{t : Σ_i max(0, ⌊t/τ_i⌋ − 1) ≥ M} + κ] (TT 3); Malenia, cancel:
  T_M(M) + κ (TT 5); synchronous (b per worker): max_i b τ_i + κ (TT 4). The first round
  uses M_init. With piecewise-constant speeds (universal model) Rennala/cancel round ends
  are t̄_k = min{t : Σ_i ⌊∫_{t̄_{k−1}+κ}^t v_i⌋ ≥ M} (TT 7). Also t*(S) and m* (TT
  "Equilibrium time"), S = M, or n·b for synchronous rounds;
* stream methods (asgd, afedpg), fixed times: worker i cycles download d_i, compute τ_i,
  upload u_i, so the k-th update is the k-th smallest j·(d_i + τ_i + u_i) and the arrival
  rate is Σ_i 1/(d_i + τ_i + u_i) (TT 1, 6). Ringmaster ASGD likewise when no job can
  reach delay R: R > max_i Σ_{j≠i} (⌊c_i/c_j⌋ + 1) (the closed interval of length c_i
  holds at most ⌊c_i/c_j⌋ + 1 arrivals of worker j), else no closed form;
* exponential times (TT 8: arrivals without stops are a Poisson process of rate
  Λ = Σ_i 1/mean_i), free links: asgd/afedpg updates have rate Λ, the K-th update
  time ~ Gamma(K, Λ), N(T) ~ Poisson(ΛT); a Rennala/cancel round restarts every worker,
  so it lasts the M-th arrival of that process: Gamma(M, Λ), mean M/Λ, plus κ;
* everything else (other random times, Malenia or synchronous rounds with random times,
  ignore semantics with random times, per-step timing with variable trajectory lengths,
  random link times where they matter, speed profiles outside Rennala/cancel): "no
  closed form", with the reason.

``per: step`` timing: a gradient costs (steps) × (per-step time); the prediction uses the
problem's nominal ``steps_per_gradient`` only for problems whose trajectories always have
that length (:data:`FIXED_LENGTH_KINDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .methods import METHODS
from .timing import theory as th
from .timing.comm import FixedAggregate, RingAllReduce, SlowestLink
from .timing.durations import Exponential, Fixed
from .timing.spec import LinkTime

# problem kinds whose trajectories always take exactly `steps_per_gradient` steps
# (synthetic problems: 1 step; LQR: the horizon H); gym episodes may terminate early
FIXED_LENGTH_KINDS = ("quadratic", "chain", "lqr")
MAX_UNIVERSAL_ROUNDS = 2000  # rounds predicted one by one while speeds still change


@dataclass(frozen=True)
class Prediction:
    """The prediction for one method.

    ``kind``: ``exact`` (``times(K)`` gives update times 1..K), ``bound`` (batch-M rounds in
    [low, high], first round ``first``), ``mean`` (``moments(K)`` = mean and sd of the
    K-th update time; ``count_moments(T)`` = mean and sd of N(T)), or ``none`` (``note``
    says why). ``value``: predicted round time of batch-M rounds, or arrival rate.
    """

    label: str
    method: str
    timing: str
    quantity: str  # "round time" or "arrival rate"
    kind: str
    value: float | None = None
    first: float | None = None
    low: float | None = None
    high: float | None = None
    times: Callable[[int], np.ndarray] | None = None
    moments: Callable[[int], tuple[float, float]] | None = None
    count_moments: Callable[[float], tuple[float, float]] | None = None
    t_star: float | None = None
    m_star: int | None = None
    note: str = ""


class NoClosedForm(Exception):
    """Raised inside the prediction helpers with the reason as message."""


# ------------------------------------------------------------------ timing inputs


def compute_times(scenario, problem) -> tuple[str, np.ndarray]:
    """("fixed", τ) or ("exponential", means) per gradient, per-step timing included."""
    scale, how = 1.0, ""
    if scenario.per_step:
        if scenario.problem_kind not in FIXED_LENGTH_KINDS:
            raise NoClosedForm(f"per-step timing on '{scenario.problem_kind}': trajectory "
                               "lengths vary (early termination)")
        scale = float(problem.steps_per_gradient)
        how = f" per step × {problem.steps_per_gradient}"
    models = scenario.compute
    if all(isinstance(m, Fixed) for m in models):
        tau = np.array([m.value for m in models]) * scale
        if np.any(tau <= 0):
            raise NoClosedForm("a zero computation time")
        return "fixed" + how, tau
    if all(isinstance(m, Exponential) for m in models):
        return "exponential" + how, np.array([m.scale for m in models]) * scale
    names = sorted({type(m).__name__.lower() for m in models})
    raise NoClosedForm(f"random times ({', '.join(names)})")


def link_times(models, dim: int) -> np.ndarray | None:
    """Fixed per-worker message times (None when any is random)."""
    models = [m.resolve(dim) if isinstance(m, LinkTime) else m for m in models]
    if not all(isinstance(m, Fixed) for m in models):
        return None
    return np.array([m.value for m in models])


def aggregate_cost(scenario, dim: int, contributors: np.ndarray | None) -> float:
    """κ of one aggregation; ``contributors``: mask of workers with M_i ≥ 1 (None: all)."""
    agg = scenario.aggregate
    agg = agg.resolve(dim) if hasattr(agg, "resolve") else agg
    if isinstance(agg, FixedAggregate):
        return agg.kappa
    if isinstance(agg, RingAllReduce):
        return agg.cost([0] * scenario.n, None, None, 0.0)
    if isinstance(agg, SlowestLink):
        up, down = link_times(scenario.upload, dim), link_times(scenario.download, dim)
        if up is None or down is None:
            raise NoClosedForm("slowest-link aggregation over random link times")
        mask = np.ones(scenario.n, bool)
        if agg.over == "contributors":
            if contributors is None:
                raise NoClosedForm("slowest link over contributors that vary by round")
            mask = contributors
        return float(np.max((up + down)[mask]))
    raise NoClosedForm(f"aggregation cost {type(agg).__name__}")


def _exact_times(first: float, later: float) -> Callable[[int], np.ndarray]:
    """t_k = first + (k − 1)·later."""
    return lambda K: first + np.arange(K) * later


# ------------------------------------------------------------------ round methods


def _round(scenario, problem, config, agg: str) -> dict:
    p = config.params
    M = int(p["batch"])
    M0 = int(p.get("init_batch") or M)
    in_flight = p.get("in_flight", "cancel")
    timing, tau = compute_times(scenario, problem)
    dim, n = problem.dim, scenario.n
    if timing.startswith("exponential"):
        if agg != "rennala" or in_flight != "cancel":
            raise NoClosedForm(f"{agg} rounds with exponential times"
                               + (" and ignore semantics" if in_flight == "ignore" else ""))
        if scenario.speeds:
            raise NoClosedForm("exponential times with speed profiles")
        return _rennala_exponential(scenario, tau, M, M0, dim, timing)
    if scenario.speeds:
        if agg != "rennala" or in_flight != "cancel":
            raise NoClosedForm(f"speed profiles with {agg} rounds ({in_flight})")
        return _rennala_universal(scenario, tau, M, M0, dim)
    if agg == "rennala":
        T, T0 = th.rennala_round_time(tau, M), th.rennala_round_time(tau, M0)
        k = aggregate_cost(scenario, dim, th.rennala_round_counts(tau, M) > 0)
        k0 = aggregate_cost(scenario, dim, th.rennala_round_counts(tau, M0) > 0)
        eq = th.equilibrium_time(tau, M)
        base = dict(timing=timing, t_star=eq.time, m_star=eq.m, first=T0 + k0)
        if in_flight == "ignore":
            if _over_contributors(scenario):
                raise NoClosedForm("ignore semantics with a slowest link over contributors "
                                   "(they vary by round)")
            return dict(base, kind="bound", low=T + k,
                        high=th.rennala_round_time_ignore_bound(tau, M) + k)
        return dict(base, kind="exact", value=T + k, times=_exact_times(T0 + k0, T + k))
    if agg == "malenia":
        if in_flight == "ignore":
            raise NoClosedForm("Malenia rounds with ignore semantics")
        T, T0 = th.malenia_round_time(tau, M), th.malenia_round_time(tau, M0)
        k = aggregate_cost(scenario, dim, np.ones(n, bool))
        eq = th.equilibrium_time(tau, M)
        return dict(timing=timing, kind="exact", value=T + k, first=T0 + k,
                    times=_exact_times(T0 + k, T + k), t_star=eq.time, m_star=eq.m)
    # synchronous: b gradients per worker; idle workers hold no work, so ignore = cancel
    T, T0 = th.synchronous_round_time(tau, b=M), th.synchronous_round_time(tau, b=M0)
    k = aggregate_cost(scenario, dim, np.ones(n, bool))
    eq = th.equilibrium_time(tau, n * M)
    return dict(timing=timing, kind="exact", value=T + k, first=T0 + k,
                times=_exact_times(T0 + k, T + k), t_star=eq.time, m_star=eq.m)


def _over_contributors(scenario) -> bool:
    return isinstance(scenario.aggregate, SlowestLink) and scenario.aggregate.over == "contributors"


def _rennala_exponential(scenario, means, M, M0, dim, timing) -> dict:
    """Round − κ ~ Gamma(M, Λ): the K-th update time is Σ κ + Gamma(M0 + (K−1)M, Λ)."""
    if _over_contributors(scenario):
        raise NoClosedForm("slowest link over random contributors")
    k = aggregate_cost(scenario, dim, None)
    rate = float(np.sum(1.0 / means))

    def moments(K: int) -> tuple[float, float]:
        shape = M0 + (K - 1) * M
        return shape / rate + K * k, np.sqrt(shape) / rate

    return dict(timing=timing, kind="mean", value=M / rate + k, first=M0 / rate + k,
                moments=moments,
                note=f"exponential: round − κ ~ Gamma({M}, Λ = {rate:.6g}) (TT 8)")


def _rennala_universal(scenario, tau, M, M0, dim) -> dict:
    """Round by round: t̄_k = min{t : Σ_i ⌊∫_{s_k}^t s_i(u)/τ_i du⌋ ≥ M}, s_k = t̄_{k−1} + κ."""
    if _over_contributors(scenario):
        raise NoClosedForm("slowest link over contributors with speed profiles")
    k = aggregate_cost(scenario, dim, None)
    speeds = scenario.speeds

    last_change = max(p.breakpoints[-1] for p in speeds if p is not None)
    final = tau / np.array([1.0 if p is None else p.speeds[-1] for p in speeds])

    def times(K: int) -> np.ndarray:
        out, start = [], 0.0
        while len(out) < min(K, MAX_UNIVERSAL_ROUNDS) and start < last_change:
            bps, vals = zip(*(_shifted(speeds[i], tau[i], start) for i in range(tau.size)),
                             strict=True)
            S = M0 if not out else M
            start += float(th.universal_round_ends(bps, vals, S, 1)[0]) + k
            out.append(start)
        if len(out) < K and start >= last_change:  # constant speeds from here on
            rounds = np.full(K - len(out), th.rennala_round_time(final, M) + k)
            if not out:
                rounds[0] = th.rennala_round_time(final, M0) + k
            out.extend(start + np.cumsum(rounds))
        return np.array(out)

    first = float(times(1)[0])
    return dict(timing="fixed + speed profiles", kind="exact", first=first, times=times,
                note="universal model (TT 7): round times vary; value = mean of the rounds")


def _shifted(profile, tau: float, start: float) -> tuple[list, list]:
    """Breakpoints and speeds (gradients/s) of s(start + ·)/τ."""
    if profile is None:
        return [0.0], [1.0 / tau]
    b, v = np.asarray(profile.breakpoints), np.asarray(profile.speeds)
    j = int(np.searchsorted(b, start, side="right")) - 1
    return [0.0, *(b[j + 1:] - start)], list(v[j:] / tau)


# ------------------------------------------------------------------ stream methods


def _stream(scenario, problem, config) -> dict:
    if scenario.speeds:
        raise NoClosedForm("stream method with speed profiles")
    timing, tau = compute_times(scenario, problem)
    up = link_times(scenario.upload, problem.dim)
    down = link_times(scenario.download, problem.dim)
    if timing.startswith("exponential"):
        if config.name == "ringmaster_asgd":
            raise NoClosedForm("Ringmaster restarts with exponential times")
        if up is None or down is None or np.any(up > 0) or np.any(down > 0):
            raise NoClosedForm("exponential computation with communication times")
        rate = float(np.sum(1.0 / tau))
        return dict(timing=timing, kind="mean", value=rate,
                    moments=lambda K: (K / rate, np.sqrt(K) / rate),
                    count_moments=lambda T: (rate * T, np.sqrt(rate * T)),
                    note="exponential: Poisson arrivals of rate Σ 1/mean_i (TT 8)")
    if up is None or down is None:
        raise NoClosedForm("random link times")
    cycle = down + tau + up
    if config.name == "ringmaster_asgd":
        R = int(config.params["max_delay"])
        reach = max(int(np.sum(np.floor(c / np.delete(cycle, i)) + 1))
                    for i, c in enumerate(cycle)) if cycle.size > 1 else 0
        if R <= reach:
            raise NoClosedForm(f"Ringmaster may cancel jobs (R = {R} ≤ {reach} arrivals "
                               "in a job's span)")
    return dict(timing=timing, kind="exact", value=float(np.sum(1.0 / cycle)),
                times=lambda K: th.async_arrival_times(cycle, K))


# ------------------------------------------------------------------ entry point


def predict(scenario, problem) -> list[Prediction]:
    """One :class:`Prediction` per method of ``scenario``."""
    out = []
    for config in scenario.methods:
        spec = METHODS[config.name]
        quantity = "round time" if spec.server == "round" else "arrival rate"
        try:
            if spec.server == "round":
                fields = _round(scenario, problem, config, spec.aggregation)
            else:
                fields = _stream(scenario, problem, config)
        except NoClosedForm as why:
            fields = dict(timing=_timing_name(scenario), kind="none",
                          note=f"no closed form: {why}")
        out.append(Prediction(config.label, config.name, quantity=quantity, **fields))
    return out


def _timing_name(scenario) -> str:
    names = sorted({type(m).__name__.lower() for m in scenario.compute})
    return ("per step: " if scenario.per_step else "") + ", ".join(names)
