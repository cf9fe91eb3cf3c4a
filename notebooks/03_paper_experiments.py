# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. The paper's experiments, at a budget that fits here
#
# Tyurin, Spiridonov & Rudenko (ICLR 2026) compare Rennala NIGT and Malenia NIGT with
# AFedPG and synchronized NIGT on MuJoCo tasks in four settings (`reference/methods.md`
# §5), with n = 10 workers, the time of one environment step ḣ_i and of one
# communication κ_i:
#
# | setting | ḣ_i | κ_i | paper's finding |
# |---|---|---|---|
# | (a) equal times | 1 | 0 | all methods overlap |
# | (b) heterogeneous times | √i | √i | Rennala NIGT fastest |
# | (c) increased communication | √i | √i·d^{1/4} | Rennala NIGT the only robust one |
# | (e) heterogeneous environments | 1, 10 (n = 2) | 0 | Malenia NIGT ≫ AFedPG |
#
# (c): Rennala NIGT's lead grows with κ. (e): Malenia NIGT reaches a far higher reward.
#
# In (e) worker 2 sees negated observations (plus a 0/1 flag coordinate), so the goal is
# the average of two different MDPs. Here: a small MuJoCo task (`InvertedPendulum-v5`)
# and the paper's 64-64 tanh Gaussian policy, the time unit is one environment step of
# the fastest worker (`per: step`: a trajectory costs the steps it took), round methods
# pay one AllReduce as slow as the slowest link, AFedPG pays κ_i per gradient sent. All
# methods of a seed start from the same θ_0 and see the same timing draws. Curves: median
# return over seeds with the paper's 20–80% band.
#
# The full-scale counterparts (Humanoid, Reacher, …) are packaged scenarios
# (`scenarios/paper_*.yaml`); `ASYNCNIGT_PAPER_RUNS=DIR` makes this notebook read runs
# from `DIR/<setting>/` (e.g. the output of `asyncnigt sweep … --out DIR/<setting>`, one
# grid cell) and cache the runs it makes there.

# %% tags=["parameters"]
import os

QUICK = os.environ.get("ASYNCNIGT_NOTEBOOK_QUICK", "1") != "0"  # 0 = full mode
PAPER_RUNS = os.environ.get("ASYNCNIGT_PAPER_RUNS") or None      # read / cache runs here
ENV = "InvertedPendulum-v5"
N = 10
SEEDS = list(range(3)) if QUICK else list(range(5))
HORIZON = 100 if QUICK else 1000
BUDGET = 1500.0 if QUICK else 40000.0      # virtual time of settings (b), (c)
EVAL_POINTS = 10 if QUICK else 20          # evaluations per run
EVAL_EPISODES = 5 if QUICK else 10
JOBS = min(2, os.cpu_count() or 1)         # processes (results do not depend on it)
TUNE = False                               # rerun the step-size tuning (about 20 min)

# %%
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread per process (speed)
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from asyncnigt import analysis as an

# step sizes: the best of the paper's grid α ∈ {2^-k} for each method, from the tuning
# run below (setting (b), budget 2·10⁴, H = 1000, seeds 0-1); η = 0.1, M = 20
METHODS = [{"name": "rennala_nigt", "batch": 20, "step_size": 2**-6, "momentum": 0.1},
           {"name": "malenia_nigt", "batch": 20, "step_size": 2**-5, "momentum": 0.1},
           {"name": "sync_nigt", "batch": 2, "step_size": 2**-5, "momentum": 0.1},  # 2 × 10
           {"name": "afedpg", "step_size": 2**-8, "momentum": 0.1}]
COLORS = {"rennala_nigt": "C0", "malenia_nigt": "C1", "sync_nigt": "C2", "afedpg": "C3"}
PROBLEM = {"kind": "gym", "env": ENV, "horizon": HORIZON, "gamma": 0.99,
           "eval_episodes": EVAL_EPISODES}


def setting(name, workers, budget, methods=METHODS, problem=PROBLEM):
    return {"name": f"paper-{name}", "seed": 0, "workers": workers, "problem": problem,
            "methods": methods, "stop": {"time": budget},
            "evaluation": {"every_time": budget / EVAL_POINTS}}


sqrt_times = {"per": "step", "preset": "sqrt"}
d = an.problem_dim(setting("probe", {"n": N, "compute": sqrt_times}, BUDGET))
SETTINGS = {
    # (a) all workers at ḣ = 1 compute Σ 1/ḣ_i = 10 steps per unit of time, twice the
    # 5.02 of the √i settings: half the budget buys about the same number of steps
    "equal": setting("equal", {"n": N, "compute": {"per": "step", "preset": "equal"}},
                     BUDGET / 2),
    "heterogeneous": setting("heterogeneous", {
        "n": N, "compute": sqrt_times,
        "comm": {"upload": {"preset": "sqrt"}, "aggregate": {"model": "slowest_link"}}}, BUDGET),
    "communication": setting("communication", {
        "n": N, "compute": sqrt_times,
        "comm": {"upload": {"preset": "sqrt", "scale": d ** 0.25},
                 "aggregate": {"model": "slowest_link"}}}, BUDGET),
    "heterogeneous_env": setting(
        "heterogeneous_env", {"n": 2, "compute": {"per": "step", "times": [1.0, 10.0]}},
        4 * BUDGET,
        methods=[METHODS[1], METHODS[0], {**METHODS[2], "batch": 10}, METHODS[3]],
        problem={**PROBLEM, "negate_observation_workers": [1]}),
}
print(f"{ENV}: d = {d} policy parameters, d^(1/4) = {d ** 0.25:.2f}")

# %% [markdown]
# ### Step sizes
#
# The paper tunes every method separately on a grid (α ∈ {2^-10, …, 2^-1},
# η ∈ {0.001, 0.01, 0.1}, M ∈ {20, 30, 50}) and publishes no tuned values. We tuned α only
# (η = 0.1, M = 20), on setting (b) with a budget of 2·10⁴, H = 1000 and seeds 0 and 1,
# ranking by the mean of the median return over the run. Set `TUNE = True` to redo it;
# the result was (mean return over the run / over its last quarter):
#
# | α | rennala_nigt | malenia_nigt | sync_nigt | | α | afedpg |
# |---|---|---|---|---|---|---|
# | 2^-7 | 26.5 / 36.9 | 21.4 / 28.5 | 17.7 / 22.4 | | 2^-10 | 35.7 / 48.5 |
# | 2^-6 | **38.1 / 57.4** | 32.6 / 48.4 | 24.2 / 32.5 | | 2^-9 | 49.9 / 70.3 |
# | 2^-5 | 32.5 / 32.4 | **49.0 / 82.0** | **37.7 / 62.5** | | 2^-8 | **70.5 / 107.4** |
# | 2^-4 | 7.0 / 5.1 | 16.6 / 21.9 | 19.5 / 10.3 | | 2^-7 | 38.8 / 32.6 |

# %%
if TUNE:
    grid = [{"name": m, "label": f"{m}-{k}", "batch": b, "step_size": 2.0**-k, "momentum": 0.1}
            for k in (7, 6, 5, 4) for m, b in (("rennala_nigt", 20), ("malenia_nigt", 20),
                                                 ("sync_nigt", 2))]
    grid += [{"name": "afedpg", "label": f"afedpg-{k}", "step_size": 2.0**-k, "momentum": 0.1}
             for k in (10, 9, 8, 7)]
    tune_doc = {**SETTINGS["heterogeneous"], "methods": grid, "stop": {"time": 2e4},
                "evaluation": {"every_time": 1e3},
                "problem": {**PROBLEM, "horizon": 1000, "eval_episodes": 10}}
    tuned = an.run_seeds(tune_doc, [0, 1], jobs=JOBS)
    for method in grid:
        g, lo, mid, hi = an.band([an.curve(r[method["label"]]) for r in tuned.values()])
        print(f"{method['label']:>16s}: mean {mid.mean():6.1f}, "
              f"last quarter {mid[g >= 0.75 * g[-1]].mean():6.1f}")

# %% [markdown]
# ## Runs
#
# Every (setting, seed) is one scenario run (all methods, common random numbers). With
# `ASYNCNIGT_PAPER_RUNS=DIR`, a sweep found in `DIR/<setting>/` (one grid cell,
# `<cell>/seed<k>/`, e.g. `default/seed<k>/`) is read as it is, whatever its scenario;
# otherwise the runs are made here and cached as `DIR/<setting>/seed<k>/` run directories
# (read back on the next execution if they hold the same scenario).

# %%
runs, read = {}, set()
for name, doc in SETTINGS.items():
    folder = None if PAPER_RUNS is None else Path(PAPER_RUNS) / name
    cells = an.load_sweep(folder) if folder is not None and folder.is_dir() else {}
    if set(cells) - {""}:  # a sweep's grid cell(s): read, do not run
        if len(cells) > 1:
            raise ValueError(f"{folder} holds several grid cells {sorted(cells)}: keep one")
        runs[name] = next(iter(cells.values()))
        read.add(name)
        print(f"{name}: read seeds {list(runs[name])} from {folder}")
    else:  # run (or read the runs this notebook cached in folder/seed<k>)
        runs[name] = an.run_seeds(doc, SEEDS, out=folder, jobs=JOBS)
        print(f"{name}: seeds {SEEDS}" + (f" (cached in {folder})" if folder else ""))


# %% [markdown]
# ## What must hold whatever the budget
#
# * every run finished (`status ok`), every method of a seed starts from the same θ_0
#   (same first evaluation, since evaluation draws come from one stream too);
# * Rennala NIGT communicates once per round, paying the slowest link's κ = max_i κ_i;
#   AFedPG one upload and one download per gradient;
# * in (e) Malenia's rounds contain gradients of both workers (every round, so each
#   worker's total is at least the number of rounds) and weight the two MDPs equally;
#   Rennala weights them by how many gradients each worker sent. With `per: step` timing
#   that share depends on episode lengths, not only on ḣ: a policy that fails fast in
#   the negated MDP makes that worker's trajectories short and cheap.

# %%
for name, by_seed in runs.items():
    for seed, methods in by_seed.items():
        first = {label: run.rows[0]["objective"] for label, run in methods.items()}
        assert len(set(first.values())) == 1, f"{name} seed {seed}: common θ_0 {first}"
        for label, run in methods.items():
            assert run.summary["status"] == "ok", (name, seed, label)
            comms = an.increments(run, "communications")
            if run.method == "rennala_nigt":
                assert np.all(comms == 1), "one AllReduce per round"
            if run.method == "afedpg":
                assert np.all(comms[1:] == 2), "one upload + one download per gradient"
for name in ("heterogeneous", "communication"):
    if name in read:  # runs of another scenario (another κ): nothing to compare with
        continue
    for methods in runs[name].values():
        run = methods["rennala_nigt"]
        rows = run.rows
        per_round = rows[-1]["comm_time"] / rows[-1]["update"]
        scale = 1.0 if name == "heterogeneous" else d ** 0.25
        assert abs(per_round - scale * np.sqrt(N)) <= 1e-9 * per_round, "κ = max_i κ_i"
shares = []
for methods in runs["heterogeneous_env"].values():
    malenia = methods["malenia_nigt"]
    assert min(malenia.summary["gradients_per_worker"]) >= malenia.rows[-1]["update"]
    counts = np.asarray(methods["rennala_nigt"].summary["gradients_per_worker"])
    shares.append(counts[1] / counts.sum())
print("weight of the negated MDP in Rennala NIGT's batches (per seed):", np.round(shares, 3),
      "| Malenia NIGT: 0.5 by construction")

# %% [markdown]
# ## Curves: median return and 20–80% band over seeds

# %%
TITLES = {"equal": "(a) equal times", "heterogeneous": "(b) heterogeneous times",
          "communication": "(c) increased communication",
          "heterogeneous_env": "(e) heterogeneous environments (n = 2)"}
bands = {}
fig, axes = plt.subplots(1, 4, figsize=(17, 4))
for ax, (name, by_seed) in zip(axes, runs.items(), strict=True):
    labels = list(next(iter(by_seed.values())))
    for label in labels:
        curves = [an.curve(methods[label], "objective") for methods in by_seed.values()]
        grid, lo, mid, hi = bands[name, label] = an.band(curves)
        method = next(iter(by_seed.values()))[label].method
        ax.fill_between(grid, lo, hi, color=COLORS[method], alpha=0.15)
        ax.plot(grid, mid, color=COLORS[method], label=label)
        assert np.all(lo <= mid) and np.all(mid <= hi)
    ax.set_title(TITLES[name])
    ax.set_xlabel("virtual time (steps of the fastest worker)")
    ax.legend(fontsize=8)
axes[0].set_ylabel(f"average return ({ENV}, H = {HORIZON})")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The paper's findings, checked at this scale
#
# Two numbers per curve: the **mean** of the median return over the whole run (how fast a
# method learns) and its **final** value (mean over the last quarter). A finding "holds"
# when the numbers say what the paper says; at a small budget and with few seeds a
# verdict can flip between runs, so read it together with the bands above.


# %%
def summary(name, label):
    grid, lo, mid, hi = bands[name, label]
    last = grid >= grid[-1] * 0.75
    return {"mean": float(mid.mean()), "final": float(mid[last].mean()),
            "final_low": float(lo[last].mean()), "final_high": float(hi[last].mean())}


table = {(name, label): summary(name, label) for name, label in bands}
for name in runs:
    print(TITLES[name])
    for (setting_name, label), s in table.items():
        if setting_name == name:
            print(f"  {label:>13s}: mean {s['mean']:7.1f}   final {s['final']:7.1f} "
                  f"[{s['final_low']:.1f}, {s['final_high']:.1f}]")


def leader(name):
    candidates = {label: s["mean"] for (n, label), s in table.items() if n == name}
    return max(candidates, key=candidates.get)


def lead(name):
    """Rennala NIGT's mean return over the best other method's."""
    others = [s["mean"] for (n, label), s in table.items() if n == name and label != "rennala_nigt"]
    return table[name, "rennala_nigt"]["mean"] / max(others)


eq = [s for (n, _), s in table.items() if n == "equal"]
findings = {
    "(a) equal times: all methods overlap (final bands intersect)":
        max(s["final_low"] for s in eq) <= min(s["final_high"] for s in eq),
    "(b) heterogeneous times: Rennala NIGT learns fastest":
        leader("heterogeneous") == "rennala_nigt",
    "(c) increased communication: Rennala NIGT learns fastest":
        leader("communication") == "rennala_nigt",
    "(c) vs (b): Rennala NIGT's lead grows with κ":
        lead("communication") > lead("heterogeneous"),
    "(e) heterogeneous environments: Malenia NIGT ends above AFedPG":
        table["heterogeneous_env", "malenia_nigt"]["final"]
        > table["heterogeneous_env", "afedpg"]["final"],
}
for claim, holds in findings.items():
    print(f"{'holds' if holds else 'does not hold':>14s}  {claim}")
print(f"Rennala NIGT's lead (mean return / best other): (b) {lead('heterogeneous'):.2f}, "
      f"(c) {lead('communication'):.2f}")

# %% [markdown]
# ## Comparison with the paper
#
# What the emulator reproduces by construction, at any budget (asserted above): one
# AllReduce per Rennala round at the slowest link's price against two messages per
# AFedPG gradient; Rennala's batch filled by the fast workers (in (e) almost only by the
# fast worker, whose MDP is the non-negated one), Malenia's by every worker.
#
# What depends on learning, and therefore on the budget. With the quick budget
# (`QUICK = True`: H = 100, budget 1.5·10³, 3 seeds, a few hundred trajectories per
# method) returns barely leave their starting value and the verdicts above are noise.
# In full mode (`ASYNCNIGT_NOTEBOOK_QUICK=0`: H = 1000, budget 4·10⁴ (2·10⁴ for (a),
# 1.6·10⁵ for (e)), 5 seeds, about half an hour on two cores) the returns reach about
# 100 of InvertedPendulum's 1000, i.e. the early phase of learning, and we recorded
# (mean of the median return over the run / its last quarter, and the 20–80% band of
# the last quarter):
#
# | setting | rennala_nigt | malenia_nigt | sync_nigt | afedpg |
# |---|---|---|---|---|
# | (a) | 58.9 / 90 [73, 108] | 71.9 / 93 [54, 116] | 69.4 / 100 [68, 174] | 74.8 / 100 [61, 157] |
# | (b) | 58.8 / 91 [81, 113] | 75.8 / 127 [84, 214] | 60.5 / 93 [74, 122] | 82.8 / 114 [99, 160] |
# | (c) | 55.8 / 90 [75, 105] | 74.0 / 119 [70, 181] | 58.0 / 89 [72, 117] | 76.3 / 103 [83, 128] |
# | (e) | 44.9 / 69 [55, 137] | 12.2 / 11 [6, 17] | 17.0 / 24 [16, 90] | 38.0 / 42 [29, 70] |
#
# * **(a) equal times: holds.** The four bands overlap throughout; no method is
#   distinguishable from the others.
# * **(b) heterogeneous times: does not hold at this scale.** Rennala NIGT applies the
#   most round updates (about 180 against 105 for synchronized NIGT in the same time: it
#   never waits for the slow workers), but AFedPG and Malenia NIGT learn faster, and
#   Rennala NIGT is level with synchronized NIGT. At ~3 000 trajectories per method the
#   ranking is set by how far each method moves per trajectory, i.e. by the step sizes
#   (Malenia and synchronized NIGT were tuned to α = 2^-5, Rennala NIGT to 2^-6, AFedPG
#   takes ~16× more, smaller steps), more than by the timing; the paper's gap appeared
#   after far longer training on Humanoid.
# * **(c) increased communication: partly holds.** Communication costs every round
#   method κ_max per round (about 11% of the budget for Rennala NIGT) and AFedPG κ_i per
#   trajectory; all curves move down a little, Rennala NIGT's relative position improves
#   marginally (0.71 → 0.73 of the best other method's mean return), but it is not the
#   only robust method: with d^{1/4} ≈ 8 steps per message, communication is still
#   cheap next to trajectories of tens to hundreds of steps.
# * **(e) heterogeneous environments: does not hold.** Malenia NIGT ends far *below*
#   AFedPG and Rennala NIGT. Its stop rule Σ_i 1/M_i ≤ n²/M needs about six trajectories
#   of the slow worker per round, and each of them costs 10 per step: its rounds
#   collected ~300 gradients (against 20) and it made few updates. Rennala NIGT's
#   batches came ~60% from the slow, negated worker: there the policy fails within a few
#   steps, so those trajectories are cheap. With `per: step` timing, early termination
#   couples speed and policy quality, which the fixed-ḣ analysis of the paper does not
#   model.
#
# So at this scale the emulator confirms the mechanics the theory is built on (asserted
# above; notebooks 1 and 2) while the paper's RL rankings, which it reports after long
# training on Humanoid, do not carry over to a short InvertedPendulum run. The packaged
# `scenarios/paper_*.yaml` are the full-scale settings to test them properly.
