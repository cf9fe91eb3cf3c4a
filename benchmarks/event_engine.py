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
    streams = Streams(sc.seed)
    problem = build_problem(sc, streams)
    theta0 = problem.initial_point(streams.generator("init"))
    return build_context(sc, problem, streams, theta0)


def run_simpy(sc) -> tuple[int, float, float]:
    """(arrivals, wall seconds, final virtual time) of the full runtime."""
    ctx = fresh(sc)
    config = sc.methods[0]
    t0 = time.process_time()
    result = simulate(METHODS[config.name], config.params, ctx)
    wall = time.process_time() - t0
    arrivals = result.rows[-1][result.columns.index("gradients_computed")]
    return arrivals, wall, result.rows[-1][1]


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
    worker's first block of durations is drawn then, by every variant) is amortized."""
    batch = batch or batch_for(method, n)
    if method == "asgd":
        updates = max(arrivals, min_rounds * n)
    else:  # calibrate the rounds from one short run
        probe = scenario(n, batch, 3, method, "fast", noise)
        a, _, _ = run_simpy(probe)
        updates = max(min_rounds, round(arrivals * 3 / max(a, 1)))
    variants = {"heapq": None, "events": "events", "fast": "fast"}
    if METHODS[method].server != "round":
        variants.pop("fast")
    rates = {v: [] for v in variants}
    ends = {}
    for _ in range(repeats):
        for name, engine in variants.items():
            sc = scenario(n, batch, updates, method, engine or "fast", noise)
            a, wall, end = BASELINES[method](sc) if engine is None else run_simpy(sc)
            rates[name].append(a / wall)
            ends[name] = (a, end)
    if len({e for e in ends.values()}) != 1:
        raise AssertionError(f"{method} n={n}: variants disagree: {ends}")
    out = {v: statistics.median(r) for v, r in rates.items()}
    out.update(batch=batch, arrivals=ends["heapq"][0])
    return out


def table(ns=(10, 1000, 10000), methods=("rennala_sgd", "malenia_sgd", "asgd"),
          arrivals: int = 100_000, repeats: int = 3, noise: float = 0.0, out=print,
          min_rounds: int = 100) -> list:
    """Measure and print the engine table; returns its rows (dicts)."""
    out(f"{'method':<12} {'n':>6} {'S':>5} {'heapq arr/s':>12} {'events arr/s':>13} "
        f"{'default arr/s':>14} {'events/heapq':>13} {'default/heapq':>14}")
    rows = []
    for method in methods:
        for n in ns:
            r = measure(method, n, arrivals, repeats, noise, min_rounds=min_rounds)
            fast = r.get("fast", r["events"])
            out(f"{method:<12} {n:>6} {r['batch']:>5} {r['heapq']:>12,.0f} {r['events']:>13,.0f} "
                f"{fast:>14,.0f} {r['events'] / r['heapq']:>13.2f} {fast / r['heapq']:>14.2f}")
            rows.append(dict(method=method, n=n, **r))
    out("")
    out("cost per simulated gradient (default engine), relative to the cheapest n:")
    for method in methods:
        costs = {r["n"]: 1 / r.get("fast", r["events"]) for r in rows if r["method"] == method}
        low = min(costs.values())
        spread = max(costs.values()) / low
        out(f"  {method:<12} " + "  ".join(f"n={n}: {c / low:.2f}" for n, c in costs.items())
            + f"   (max/min {spread:.2f})")
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
    parser.add_argument("--noise", type=float, default=0.0, help="gradient noise of the quadratic")
    args = parser.parse_args(argv)
    table(args.n, args.methods, args.arrivals, args.repeats, args.noise)


if __name__ == "__main__":
    main()
