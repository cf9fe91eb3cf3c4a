"""Event-engine benchmark: simulated gradient arrivals per wall second.

Runs ``rennala_sgd`` through the full SimPy runtime (:func:`asyncnigt.sim.simulate`)
and, in the same process, a minimal ``heapq`` loop doing the same bookkeeping (the same
duration streams, per-worker counts, stop rule, one batched oracle call, SGD update and
metrics row per round, cancel semantics). Repeats alternate between the two and the
table reports medians and their ratio (absolute rates drift on shared machines).

    python benchmarks/event_engine.py                 # n = 1000, S = 500 (issue target)
    python benchmarks/event_engine.py --n 10 1000 10000 --methods rennala_sgd asgd
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import time

import numpy as np

from asyncnigt.build import build_context, build_problem
from asyncnigt.methods import METHODS
from asyncnigt.scenario import parse_scenario
from asyncnigt.seeding import Streams
from asyncnigt.sim import simulate


def scenario(n: int, batch: int, updates: int, method: str):
    return parse_scenario({
        "name": "bench", "seed": 1,
        "workers": {"n": n, "compute": {"model": "lognormal", "mean": {"preset": "sqrt"}, "sigma": 0.3}},
        "problem": {"kind": "quadratic", "dim": 8, "noise": 0.1},
        "methods": [{"name": method, "batch": batch, "step_size": 0.01}],
        "stop": {"updates": updates},
        "evaluation": {"every": 10**9},
    })


def fresh(sc):
    streams = Streams(sc.seed)
    problem = build_problem(sc, streams)
    theta0 = problem.initial_point(streams.generator("init"))
    return build_context(sc, problem, streams, theta0)


def run_simpy(sc) -> tuple[int, float]:
    ctx = fresh(sc)
    config = sc.methods[0]
    t0 = time.perf_counter()
    result = simulate(METHODS[config.name], config.params, ctx)
    wall = time.perf_counter() - t0
    arrivals = result.rows[-1][result.columns.index("gradients_computed")]
    return arrivals, wall


def run_heapq_rennala(sc) -> tuple[int, float]:
    """Minimal event loop with the same semantics as the round server (cancel)."""
    ctx = fresh(sc)
    n, M, K = sc.n, sc.methods[0].params["batch"], sc.stop.updates
    alpha = sc.methods[0].params["step_size"]
    take, oracle = ctx.compute.take, ctx.oracle
    theta = ctx.theta0.copy()
    rows, now, arrivals = [], 0.0, 0
    t0 = time.perf_counter()
    for k in range(K):
        heap = [(now + take(i, now), i) for i in range(n)]
        heapq.heapify(heap)
        counts, total = [0] * n, 0
        while total < M:
            t, i = heap[0]
            counts[i] += 1
            total += 1
            heapq.heapreplace(heap, (t + take(i, t), i))
        now = t
        arrivals += total
        c = np.asarray(counts)
        workers = np.repeat(np.arange(n), c)
        grads = oracle.gradients(np.broadcast_to(theta, (len(workers), theta.size)), workers).grads
        theta = theta + alpha * grads.mean(axis=0)
        rows.append((k + 1, now, arrivals))
    return arrivals, time.perf_counter() - t0


def run_heapq_asgd(sc) -> tuple[int, float]:
    """Minimal loop for ASGD: each arrival applies one gradient and re-dispatches."""
    ctx = fresh(sc)
    n, K, alpha = sc.n, sc.stop.updates, sc.methods[0].params["step_size"]
    take, oracle = ctx.compute.take, ctx.oracle
    theta = ctx.theta0.copy()
    points = [theta] * n
    heap = [(take(i, 0.0), i) for i in range(n)]
    heapq.heapify(heap)
    rows = []
    t0 = time.perf_counter()
    for k in range(K):
        t, i = heap[0]
        g = oracle.gradients(points[i][None, :], np.array([i])).grads[0]
        theta = theta + alpha * g
        points[i] = theta
        heapq.heapreplace(heap, (t + take(i, t), i))
        rows.append((k + 1, t, k + 1))
    return K, time.perf_counter() - t0


BASELINES = {"rennala_sgd": run_heapq_rennala, "malenia_sgd": None, "asgd": run_heapq_asgd}


def measure(method: str, n: int, batch: int, updates: int, repeats: int):
    sc = scenario(n, batch, updates, method)
    baseline = BASELINES[method]
    sim_rates, base_rates = [], []
    for _ in range(repeats):
        a, w = run_simpy(sc)
        sim_rates.append(a / w)
        if baseline is not None:
            a, w = baseline(sc)
            base_rates.append(a / w)
    sim = statistics.median(sim_rates)
    base = statistics.median(base_rates) if base_rates else None
    return sim, base


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000])
    parser.add_argument("--methods", nargs="+", default=["rennala_sgd"], choices=sorted(BASELINES))
    parser.add_argument("--arrivals", type=int, default=200_000, help="approximate arrivals per run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{'method':<12} {'n':>6} {'S':>5} {'simpy arrivals/s':>17} {'heapq arrivals/s':>17} {'ratio':>6}")
    for method in args.methods:
        for n in args.n:
            batch = max(1, n // 2)
            updates = max(10, args.arrivals // batch) if method != "asgd" else args.arrivals
            sim, base = measure(method, n, batch, updates, args.repeats)
            ratio = f"{sim / base:.2f}" if base else "-"
            base_s = f"{base:,.0f}" if base else "-"
            print(f"{method:<12} {n:>6} {batch:>5} {sim:>17,.0f} {base_s:>17} {ratio:>6}")


if __name__ == "__main__":
    main()
