"""Event-engine benchmark: simulated gradient arrivals per wall second.

Runs ``rennala_sgd``, ``malenia_sgd`` and ``asgd`` through the full runtime
(:func:`asyncnigt.sim.simulate`) with the event-level engine (``engine: events``, one
SimPy event per gradient) and with the default engine (the round fast path of
:mod:`asyncnigt.sim.fast_round` where it applies), and, in the same process, a minimal
``heapq`` loop written here with the same bookkeeping: the same duration streams, the
same tie order, per-worker counts, the aggregation's stop rule, cancel semantics (the
in-flight jobs' draws are consumed), one batched oracle call, the SGD update and a
metrics row per round. Each baseline is checked to reach the same final virtual time as
the simulation. Repeats alternate between the variants and the table reports medians and
ratios (absolute rates drift on a shared machine).

The problem is a noise-free quadratic in dimension 8, so that the gradient oracle is one
numpy call per round and the table measures the engines (``--noise 0.1`` adds per-worker
Gaussian noise, whose per-worker generator calls then dominate every variant alike).

    python benchmarks/event_engine.py                         # the full table
    python benchmarks/event_engine.py --n 1000 --methods rennala_sgd
    python benchmarks/event_engine.py --only-fixed --fixed-batch 1000  # S = 1000 at every n

The second table (``--fixed-batch S``) runs the round methods with the same batch S at
every n, so that their cost per simulated gradient shows the engines' dependence on n
alone; the first keeps S = n/2, where rounds at n = 10 have five gradients.
"""

from __future__ import annotations

import argparse
import heapq
import math
import statistics
import time

import numpy as np

from asyncnigt.aggregation.malenia import _harmonic_ok
from asyncnigt.build import build_context, build_problem
from asyncnigt.methods import METHODS
from asyncnigt.scenario import parse_scenario
from asyncnigt.seeding import Streams
from asyncnigt.sim import simulate

DIM = 8


def scenario(n: int, batch: int, updates: int, method: str, engine: str = "fast",
             noise: float = 0.0):
    m = {"name": method, "step_size": 0.01}
    if METHODS[method].server == "round":
        m.update(batch=batch, engine=engine)
    return parse_scenario({
        "name": "bench", "seed": 1,
        "workers": {"n": n, "compute": {"model": "lognormal", "mean": {"preset": "sqrt"},
                                        "sigma": 0.3}},
        "problem": {"kind": "quadratic", "dim": DIM, "noise": noise},
        "methods": [m],
        "stop": {"updates": updates},
        "evaluation": {"every": 10**9},
    })


def fresh(sc):
    """The simulation context, set up: the workers' duration generators, which are made
    when first drawn from, are made here (about 10 µs each), outside every variant's
    timing."""
    streams = Streams(sc.seed)
    problem = build_problem(sc, streams)
    theta0 = problem.initial_point(streams.generator("init"))
    ctx = build_context(sc, problem, streams, theta0)
    list(ctx.compute.rngs)
    return ctx


def run_simpy(sc) -> tuple[int, float, float, int]:
    """(arrivals, CPU seconds, final virtual time, cancelled jobs) of the full runtime."""
    ctx = fresh(sc)
    config = sc.methods[0]
    t0 = time.process_time()
    result = simulate(METHODS[config.name], config.params, ctx)
    wall = time.process_time() - t0
    last = dict(zip(result.columns, result.rows[-1], strict=False))
    return last["gradients_computed"], wall, last["time"], last["gradients_cancelled"]


def _round_loop(sc, malenia: bool) -> tuple[int, float, float]:
    """Minimal event loop with the round server's semantics (cancel, tie order)."""
    ctx = fresh(sc)
    n, M, K = sc.n, sc.methods[0].params["batch"], sc.stop.updates
    alpha = sc.methods[0].params["step_size"]
    take, oracle = ctx.compute.take, ctx.oracle
    theta = ctx.theta0.copy()
    rows, now, arrivals = [], 0.0, 0
    threshold = (n * n / M) * (1 + 1e-9)
    t0 = time.process_time()
    for k in range(K):
        heap = [(now + take(i, now), i) for i in range(n)]
        heapq.heapify(heap)
        counts, total = [0] * n, 0
        zeros, inverse = n, 0.0
        while True:
            t, i = heap[0]
            m = counts[i]
            counts[i] = m + 1
            total += 1
            if malenia:
                if m == 0:
                    zeros -= 1
                    inverse += 1.0
                else:
                    inverse += 1.0 / (m + 1) - 1.0 / m
                if not zeros and inverse <= threshold:
                    inverse = math.fsum(1.0 / c for c in counts)
                    if _harmonic_ok(inverse, counts, n, M):
                        break
            elif total >= M:
                break
            heapq.heapreplace(heap, (t + take(i, t), i))
        now = t
        arrivals += total
        c = np.asarray(counts)
        workers = np.repeat(np.arange(n), c)
        grads = oracle.gradients(np.broadcast_to(theta, (len(workers), theta.size)), workers).grads
        if malenia:
            sums = np.add.reduceat(grads, np.concatenate(([0], np.cumsum(c)[:-1])), axis=0)
            g = np.mean(sums / c[:, None], axis=0)
        else:
            g = grads.mean(axis=0)
        theta = theta + alpha * g
        rows.append((k + 1, now, arrivals))
    return arrivals, time.process_time() - t0, now


def run_heapq_rennala(sc):
    return _round_loop(sc, malenia=False)


def run_heapq_malenia(sc):
    return _round_loop(sc, malenia=True)


def run_heapq_asgd(sc) -> tuple[int, float, float]:
    """Minimal loop for ASGD: each arrival applies one gradient and re-dispatches."""
    ctx = fresh(sc)
    n, K, alpha = sc.n, sc.stop.updates, sc.methods[0].params["step_size"]
    take, oracle = ctx.compute.take, ctx.oracle
    theta = ctx.theta0.copy()
    points = [theta] * n
    heap = [(take(i, 0.0), i) for i in range(n)]
    heapq.heapify(heap)
    rows = []
    t0 = time.process_time()
    for k in range(K):
        t, i = heap[0]
        g = oracle.gradients(points[i][None, :], np.array([i])).grads[0]
        theta = theta + alpha * g
        points[i] = theta
        heapq.heapreplace(heap, (t + take(i, t), i))
        rows.append((k + 1, t, k + 1))
    return K, time.process_time() - t0, t


BASELINES = {"rennala_sgd": run_heapq_rennala, "malenia_sgd": run_heapq_malenia,
             "asgd": run_heapq_asgd}


def batch_for(method: str, n: int) -> int:
    """S = n/2 (Rennala); Malenia needs every worker once, so M = n/2 makes it wait for
    the slowest worker's first gradient (many arrivals per round)."""
    return max(1, n // 2)


def measure(method: str, n: int, arrivals: int, repeats: int, noise: float = 0.0,
            batch: int | None = None, min_rounds: int = 100) -> dict:
    """Median arrivals/s of heapq, events and the default engine (and their checks).

    Round methods run at least ``min_rounds`` rounds, so that the first round (every
    worker's first block of durations is drawn then, by every variant: 256 each, or the
    run's expected use by the fast path's read-ahead) is amortized."""
    batch = batch or batch_for(method, n)
    if method == "asgd":
        updates = max(arrivals, min_rounds * n)
    else:  # calibrate the rounds from one short run
        probe = scenario(n, batch, 3, method, "fast", noise)
        a = run_simpy(probe)[0]
        updates = max(min_rounds, round(arrivals * 3 / max(a, 1)))
    variants = {"heapq": None, "events": "events", "fast": "fast"}
    if METHODS[method].server != "round":
        variants.pop("fast")
    rates = {v: [] for v in variants}
    ends = {}
    for _ in range(repeats):
        for name, engine in variants.items():
            sc = scenario(n, batch, updates, method, engine or "fast", noise)
            a, wall, end, *cancelled = BASELINES[method](sc) if engine is None else run_simpy(sc)
            rates[name].append(a / wall)
            ends[name] = (a, end)
            jobs = a + sum(cancelled) if cancelled else None
    if len({e for e in ends.values()}) != 1:
        raise AssertionError(f"{method} n={n}: variants disagree: {ends}")
    out = {v: statistics.median(r) for v, r in rates.items()}
    out.update(batch=batch, arrivals=ends["heapq"][0], jobs=jobs)
    return out


def table(ns=(10, 1000, 10000), methods=("rennala_sgd", "malenia_sgd", "asgd"),
          arrivals: int = 100_000, repeats: int = 3, noise: float = 0.0, out=print,
          min_rounds: int = 100, batch: int | None = None) -> list:
    """Measure and print the engine table; returns its rows (dicts). ``batch``: the same
    batch S at every n for the round methods (default S = n/2, :func:`batch_for`)."""
    out(f"{'method':<12} {'n':>6} {'S':>5} {'heapq arr/s':>12} {'events arr/s':>13} "
        f"{'default arr/s':>14} {'events/heapq':>13} {'default/heapq':>14}")
    rows = []
    for method in methods:
        for n in ns:
            r = measure(method, n, arrivals, repeats, noise, min_rounds=min_rounds,
                        batch=None if METHODS[method].server != "round" else batch)
            fast = r.get("fast", r["events"])
            S = r["batch"] if METHODS[method].server == "round" else "–"
            out(f"{method:<12} {n:>6} {S:>5} {r['heapq']:>12,.0f} {r['events']:>13,.0f} "
                f"{fast:>14,.0f} {r['events'] / r['heapq']:>13.2f} {fast / r['heapq']:>14.2f}")
            rows.append(dict(method=method, n=n, **r))
    out("")
    out("cost per simulated gradient, relative to the cheapest n (default engine; heapq loop):")
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        out(f"  {method:<12} {_relative_costs([r.get('fast', r['events']) for r in mine], mine)}"
            f"   heapq: {_relative_costs([r['heapq'] for r in mine], mine)}")
    return rows


def _relative_costs(rates, rows) -> str:
    """'n=…: cost / cheapest …   (max/min …)' for the arrival rates of ``rows``."""
    costs = [1 / r for r in rates]
    low = min(costs)
    return ("  ".join(f"n={r['n']}: {c / low:.2f}" for r, c in zip(rows, costs, strict=True))
            + f" (max/min {max(costs) / low:.2f})")


def fixed_batch_table(ns=(10, 1000, 10000), methods=("rennala_sgd", "malenia_sgd"),
                      batch: int = 1000, arrivals: int = 100_000, repeats: int = 3,
                      out=print, min_rounds: int = 20) -> list:
    """The round methods with the same batch S at every n, so that the cost per simulated
    gradient shows how the engines scale with n alone. (With S = n/2 a round at n = 10
    has five gradients, and the per-update work, the same at every n, dominates.)"""
    out(f"   round methods with S = {batch} at every n (engine cost per gradient against n):")
    rows = table(ns, methods, arrivals, repeats, out=out, min_rounds=min_rounds, batch=batch)
    out("cost per job started (gradients computed + cancelled: a round starts one job per "
        "worker and\nevery cancelled job consumes its draw, so per-round work grows with n), "
        "relative to the cheapest n:")
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        rates = [r["fast"] * r["jobs"] / r["arrivals"] for r in mine]
        out(f"  {method:<12} {_relative_costs(rates, mine)}"
            f"   jobs per gradient: " + "  ".join(f"{r['jobs'] / r['arrivals']:.2f}" for r in mine))
    return rows


def batch_sweep(n: int = 1000, batches=(500, 1000, 2000, 4000), method: str = "rennala_sgd",
                arrivals: int = 100_000, repeats: int = 3, out=print,
                min_rounds: int = 100) -> list:
    """The fast path against the heapq loop at one n for several batches S."""
    out(f"   {'method':<12} {'n':>6} {'S':>5} {'heapq arr/s':>12} {'default arr/s':>14} "
        f"{'default/heapq':>14}")
    rows = []
    for S in batches:
        r = measure(method, n, arrivals, repeats, batch=S, min_rounds=min_rounds)
        out(f"   {method:<12} {n:>6} {S:>5} {r['heapq']:>12,.0f} {r['fast']:>14,.0f} "
            f"{r['fast'] / r['heapq']:>14.2f}")
        rows.append(dict(method=method, n=n, **r))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--methods", nargs="+", default=list(BASELINES), choices=sorted(BASELINES))
    parser.add_argument("--arrivals", type=int, default=100_000, help="arrivals per run (about)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--min-rounds", type=int, default=100,
                        help="round methods run at least this many rounds (S = n/2 table)")
    parser.add_argument("--noise", type=float, default=0.0, help="gradient noise of the quadratic")
    parser.add_argument("--fixed-batch", type=int, default=0, metavar="S",
                        help="also the table with batch S at every n for the round methods "
                             "(python -m benchmarks uses 1000)")
    parser.add_argument("--only-fixed", action="store_true",
                        help="only the fixed-batch table (with --fixed-batch, default 1000)")
    args = parser.parse_args(argv)
    if not args.only_fixed:
        table(args.n, args.methods, args.arrivals, args.repeats, args.noise,
              min_rounds=args.min_rounds)
    if args.fixed_batch or args.only_fixed:
        rounds = [m for m in args.methods if METHODS[m].server == "round"]
        print("")
        fixed_batch_table(args.n, rounds, args.fixed_batch or 1000, args.arrivals, args.repeats,
                          min_rounds=min(args.min_rounds, 20))


if __name__ == "__main__":
    main()
