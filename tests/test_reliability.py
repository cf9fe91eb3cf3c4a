"""Reliability: bad input (one line, exit 2, nothing written), numeric guards (exit 3,
rows kept), crash safety (SIGKILL at random points) and the determinism contract.

``python tests/test_reliability.py`` prints the bad-input table of docs/reliability.md.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from asyncnigt import cli, results, runner
from asyncnigt.problems import PROBLEMS, ProblemKind
from asyncnigt.problems.base import Evaluation, GradientBatch, Oracle, Problem
from asyncnigt.results import write_atomic
from asyncnigt.rules.base import normalized
from asyncnigt.runner import run_scenario
from asyncnigt.scenario import parse_scenario
from asyncnigt.schema import Param

ROOT = Path(__file__).resolve().parents[1]

BASE = """\
name: base
seed: 1
workers:
  n: 3
  compute:
    times: [1.0, 1.5, 2.0]
problem:
  kind: quadratic
  dim: 3
  noise: 0.1
methods:
  - name: rennala_nigt
    batch: 4
stop:
  updates: 5
"""


def edited(**changes):
    """BASE with dotted-path changes (``workers__n=5`` sets workers.n; None deletes)."""
    doc = yaml.safe_load(BASE)
    for key, value in changes.items():
        *parents, last = key.split("__")
        node = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if value is None:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return yaml.safe_dump(doc, sort_keys=False)


def gym(**extra):
    return edited(problem={"kind": "gym", "env": "Pendulum-v1", "horizon": 5, **extra})


def lqr(**extra):
    return edited(problem={"kind": "lqr", "state_dim": 2, "action_dim": 1, **extra})


# (case, YAML text or None for a missing file, extra CLI arguments, expected message part)
BAD_INPUT = [
    ("missing file", None, (), "scenario file not found"),
    ("a directory", "<dir>", (), "scenario file is a directory, not a file"),
    ("invalid YAML", BASE.replace("[1.0, 1.5, 2.0]", "[1.0, 1.5, 2.0"),
     (), "invalid YAML in {path} at line 7, column 8: expected ',' or ']'"),
    ("tab indentation", BASE.replace("  n: 3", "\tn: 3"), (), "at line 4, column 1"),
    ("NUL character", BASE.replace("base", "ba\x00se"), (),
     "at line 1, column 9: special characters are not allowed (character U+0000)"),
    ("duplicate key", BASE + "seed: 2\n", (), "found duplicate key 'seed'"),
    ("not UTF-8", b"name: \xff\xfe\n", (), "is not a UTF-8 text file"),
    ("empty file", "", (), "top level must be a mapping of keys, got an empty file"),
    ("top-level list", "- 1\n- 2\n", (), "top level must be a mapping of keys, got a list"),
    ("top-level scalar", "42\n", (), "got a number"),
    ("python tag", BASE + "x: !!python/object:os.system ls\n", (),
     "could not determine a constructor"),
    ("unknown key", BASE + "sead: 3\n", (), "sead: unknown key; expected one of"),
    ("misspelled nested key", edited(methods=[{"name": "rennala_nigt", "step_sise": 0.1}]),
     (), "methods[0].step_sise: unknown key"),
    ("non-string key", BASE + "1: 2\n", (), "1: keys must be strings"),
    ("control character in a key", BASE + '"a\\nb": 1\n', (), "a\\nb: unknown key"),
    ("wrong type", edited(workers__n="three"), (), "workers.n: must be an integer, got 'three'"),
    ("boolean for an integer", edited(workers__n=True), (),
     "workers.n: must be an integer, got True"),
    ("boolean for a number", edited(methods=[{"name": "rennala_nigt", "step_size": True}]),
     (), "methods[0].step_size: must be a number, got True"),
    ("list for a mapping", edited(workers__compute=[1, 2, 3]), (),
     "workers.compute: must be a mapping, got [1, 2, 3]"),
    ("string for the method list", edited(methods="rennala_nigt"), (),
     "methods: must be a non-empty list"),
    ("negative time", edited(workers__compute__times=[1.0, -1.0, 2.0]), (),
     "workers.compute.times[1]: must be >= 0, got -1"),
    ("zero computation time", edited(workers__compute__times=[0.0, 1.0, 1.0]), (),
     "workers.compute: worker 0 computes in zero time"),
    ("zero where positive", edited(workers__compute={"model": "exponential", "mean": 0}),
     (), "workers.compute.mean: must be > 0, got 0"),
    ("zero virtual-time budget", edited(stop={"time": 0}), (), "stop.time: must be > 0"),
    ("NaN (.nan)", BASE.replace("[1.0, 1.5, 2.0]", "[1.0, .nan, 2.0]"), (),
     "workers.compute.times[1]: must be finite, got nan"),
    ("inf (.inf)", BASE.replace("updates: 5", "time: .inf"), (), "stop.time: must be finite"),
    ("huge integer", edited(workers__n=10**30), (), "workers.n: must be <= 100000"),
    ("fraction as a count", edited(stop={"updates": 1.5}), (),
     "stop.updates: must be an integer, got 1.5"),
    ("discount > 1", lqr(gamma=1.5), (), "problem.gamma: must be <= 1, got 1.5"),
    ("discount 0", lqr(gamma=0), (), "problem.gamma: must be > 0"),
    ("momentum > 1", edited(methods=[{"name": "rennala_nigt", "momentum": 1.5}]), (),
     "methods[0].momentum: must be <= 1, got 1.5"),
    ("momentum 0", edited(methods=[{"name": "afedpg", "momentum": 0}]), (),
     "methods[0].momentum: must be > 0"),
    ("batch < 1", edited(methods=[{"name": "rennala_nigt", "batch": 0}]), (),
     "methods[0].batch: must be >= 1, got 0"),
    ("Ringmaster without R", edited(methods=[{"name": "ringmaster_asgd"}]), (),
     "methods[0].max_delay: is required"),
    ("more workers than trace rows",
     edited(workers__compute={"model": "trace", "samples": [[1.0], [2.0]]}), (),
     "workers.compute.samples: has 2 rows but there are 3 workers"),
    ("n not matching a list", edited(workers__n=4), (),
     "workers.compute.times: expected 4 values (one per worker), got 3"),
    ("outage ending before it starts",
     edited(workers__compute__outages=[{"start": 2, "end": 1}]), (),
     "workers.compute.outages[0].end: must be > start"),
    ("speed profile ending at 0",
     edited(workers__compute__speed=[{"breakpoints": [0, 1], "speeds": [1, 0]}]), (),
     "the last speed must be > 0"),
    ("boolean in a speed profile",
     edited(workers__compute__speed=[{"breakpoints": [False], "speeds": [1]}]), (),
     "workers.compute.speed[0].breakpoints[0]: must be a number, got False"),
    ("worker index out of range",
     edited(workers__compute__outages=[{"workers": [3], "start": 1, "end": 2}]), (),
     "workers.compute.outages[0].workers[0]: must be a worker index < 3"),
    ("uniform with high <= low", edited(workers__compute={"model": "uniform", "low": 2,
                                                          "high": 1}), (),
     "workers.compute.high: must be > low"),
    ("lognormal sigma overflowing", edited(workers__compute={"model": "lognormal", "mean": 1,
                                                             "sigma": 1e200}), (),
     "workers.compute: the parameters of model 'lognormal' overflow floating point"),
    ("preset scale overflowing", edited(workers__comm={"upload": {"preset": "sqrt",
                                                                 "scale": 1.7e308}}), (),
     "workers.comm.upload.scale: 1.7e+308 overflows for 3 workers with preset 'sqrt'"),
    ("zero bandwidth", edited(workers__comm={"upload": {"bandwidth": 0}}), (),
     "workers.comm.upload.bandwidth: must be > 0"),
    ("link time overflowing", edited(workers__comm={"upload": {"bandwidth": 1e-320}}), (),
     "workers.comm.upload: latency + bytes/bandwidth is not a finite time"),
    ("unknown method", edited(methods=[{"name": "rennala_sdg"}]), (),
     "methods[0].name: must be one of"),
    ("duplicate labels", edited(methods=[{"name": "asgd"}, {"name": "asgd"}]), (),
     "methods[1].label: duplicate label 'asgd'"),
    ("label not a file name", edited(methods=[{"name": "asgd", "label": "a/b"}]), (),
     "methods[0].label: must be a file-name-safe word"),
    ("unknown problem kind", edited(problem={"kind": "quadratik", "dim": 3}), (),
     "problem.kind: must be one of"),
    ("unregistered gymnasium id", gym(env="NoSuchEnv-v0"), (),
     "problem.env: unknown gymnasium environment 'NoSuchEnv-v0'"),
    ("gym keyword the env rejects", gym(env_kwargs={"g": 9.8, "colour": 1}), (),
     "unexpected keyword argument 'colour'"),
    ("per-worker env kwargs, wrong count", gym(worker_env_kwargs=[{}, {}]), (),
     "problem.worker_env_kwargs: expected one mapping per worker (3), got 2"),
    ("per-worker env kwargs, not a mapping", gym(worker_env_kwargs=[{}, 5, {}]), (),
     "problem.worker_env_kwargs[1]: must be a mapping, got 5"),
    ("negated worker out of range", gym(negate_observation_workers=[3]), (),
     "problem.negate_observation_workers[0]: must be a worker index in [0, 3)"),
    ("LQR per-worker matrices, wrong count", lqr(worker_matrices=[{}, {}]), (),
     "problem.worker_matrices: expected one entry per worker (3), got 2"),
    ("LQR unknown matrix", lqr(matrices={"Z": [[1.0]]}), (),
     "problem.matrices.Z: unknown matrix"),
    ("LQR matrix of the wrong shape", lqr(matrices={"A": [[1.0]]}), (),
     "A must have shape (2, 2)"),
    ("no stop rule", edited(stop={}), (), "stop: give at least one of"),
    ("target not a number", edited(targets={"objective": ["high"]}), (),
     "targets.objective[0]: must be a number"),
    ("--set index past the end", BASE, ("--set", "methods[3].step_size=0.1"),
     "--set methods[3].step_size: methods[3] names nothing in the scenario"),
    ("--set under a scalar", BASE, ("--set", "workers.n.x=1"),
     "--set workers.n.x: workers.n names nothing in the scenario"),
    ("--set not a key path", BASE, ("--set", "methods[0]..step_size=1"),
     "is not a key path like methods[0].step_size"),
    ("--set without =", BASE, ("--set", "seed"), "--set seed: expected KEY=VALUE"),
    ("--set unknown key", BASE, ("--set", "methods[0].step_sise=0.1"),
     "--set methods[0].step_sise: unknown key"),
    ("--set bad value", BASE, ("--set", "methods[0].step_size=-1"),
     "--set methods[0].step_size: must be > 0, got -1"),
    ("--set unparsable value", BASE, ("--set", "stop.updates=[1"),
     "--set stop.updates: cannot parse value '[1'"),
    ("--seed negative", BASE, ("--seed", "-1"), "seed: must be >= 0, got -1"),
]


def bad_input(case, tmp_path: Path):
    """Write the case's file; returns (scenario path, run parent folder, extra args)."""
    _, text, extra, _ = case
    path = tmp_path / "scenario.yaml"
    if text == "<dir>":
        path.mkdir()
    elif isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text, encoding="utf-8")
    parent = tmp_path / "runs"
    parent.mkdir()
    return path, parent, list(extra)


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    path, parent, extra = bad_input(case, tmp_path)
    code = cli.main(["run", str(path), "--out", str(parent / "out"), "--no-plots", *extra])
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("asyncnigt: error: "), err
    assert case[3].format(path=path) in lines[0], lines[0]
    assert out == ""
    assert list(parent.iterdir()) == []


def test_bad_input_through_the_real_entry_point(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace("n: 3", "n: [3"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "asyncnigt", "run", str(path), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("asyncnigt: error: invalid YAML in ") and "line 5" in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_yaml_exponent_without_dot_is_a_number(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace("batch: 4", "batch: 4\n    step_size: 1e-3"), encoding="utf-8")
    from asyncnigt.scenario import load_scenario

    sc = load_scenario(path, ["workers.comm.aggregate=2E-1"])
    assert sc.methods[0].params["step_size"] == 0.001
    assert sc.aggregate.kappa == 0.2


def test_set_into_an_empty_mapping(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(BASE + "evaluation:\n", encoding="utf-8")
    from asyncnigt.scenario import load_scenario

    assert load_scenario(path, ["evaluation.every=2"]).eval_every == 2


# --------------------------------------------------- heterogeneity: allowed, warned


HETERO = ["rennala_nigt", "malenia_nigt", "sync_nigt", "asgd", "afedpg"]


def test_heterogeneous_problem_warns_about_count_weighted_methods(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(edited(problem={"kind": "quadratic", "dim": 2, "heterogeneity": 1.0},
                           methods=[{"name": m} for m in HETERO]), encoding="utf-8")
    assert cli.main(["validate", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("asyncnigt: warning: the problem is heterogeneous")
    assert "rennala_nigt, asgd, afedpg weight workers" in err[0]
    assert "malenia_nigt," not in err[0] and "sync_nigt," not in err[0]
    assert cli.main(["validate", str(path), "--set", "methods=[{name: rennala_nigt}]"]) == 0
    assert "and rennala_nigt weights workers" in capsys.readouterr().err
    # equal-weight methods only, or a homogeneous problem: no warning
    for sets in (["problem.heterogeneity=0"], ["methods=[{name: malenia_nigt}, {name: sync_pg}]"]):
        assert cli.main(["validate", str(path), *(a for s in sets for a in ("--set", s))]) == 0
        assert capsys.readouterr().err == ""


def test_compute_spread_warns_about_malenia(tmp_path, capsys):
    """Times [1e-7, 10]: a Malenia round needs about 1e8 events from the fast worker
    (a fuzzed [1e-320, 10] once hung a test); Rennala rounds stop at their batch."""
    path = tmp_path / "s.yaml"
    path.write_text(edited(methods=[{"name": "malenia_sgd"}, {"name": "rennala_sgd"}]),
                    encoding="utf-8")
    spread = ["--set", "workers.n=2",
              "--set", "workers.compute={model: fixed, times: [1e-7, 10]}"]
    assert cli.main(["validate", str(path), *spread]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("asyncnigt: warning: workers.compute: the "
                                               "slowest worker's mean time is 1e+08 times")
    assert "malenia_sgd waits for every worker" in err[0] and "rennala" not in err[0]
    for sets in (["methods=[{name: rennala_sgd}]"],
                 ["workers.compute={model: fixed, times: [1e-5, 10]}"]):
        more = [a for s in sets for a in ("--set", s)]
        assert cli.main(["validate", str(path), *spread, *more]) == 0
        assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ numeric guards


class PoisonProblem(Problem):
    """f(x) = ½‖x‖² (minimised) whose oracle turns bad after ``after`` calls: ``what`` =
    gradient (NaN gradients), duration (infinite trajectory lengths, per-step timing),
    evaluation (NaN objective: a NaN return), parameters (θ_0 = NaN), or none."""

    sense = "min"

    def __init__(self, what: str, after: int, dim: int = 2):
        self.what, self.after, self.dim = what, after, dim

    def initial_point(self, rng):
        theta = rng.standard_normal(self.dim)
        return theta * np.nan if self.what == "parameters" else theta

    def oracle(self, streams, n_workers):
        return PoisonOracle(self, streams, n_workers)


class PoisonOracle(Oracle):
    def __init__(self, problem, streams, n):
        self.p, self.dim, self.n_workers = problem, problem.dim, n
        self.rngs = streams.per_worker("oracle", n)
        self.calls = self.evaluations = 0

    def gradients(self, points, workers):
        self.calls += 1
        noise = np.stack([self.rngs[w].standard_normal(self.dim) for w in workers.tolist()])
        grads = -np.asarray(points) + 0.1 * noise
        steps = np.full(len(workers), 3.0)
        if self.calls > self.p.after:
            if self.p.what == "gradient":
                grads[:, 0] = np.nan
            elif self.p.what == "duration":
                steps[:] = np.inf
        return GradientBatch(grads, steps)

    def evaluate(self, theta):
        self.evaluations += 1
        f = 0.5 * float(theta @ theta)
        bad = self.p.what == "evaluation" and self.evaluations > self.p.after
        return Evaluation(math.nan if bad else f, float(np.linalg.norm(theta)))


@pytest.fixture
def poison(monkeypatch):
    schema = {"what": Param("str", choices=("none", "gradient", "duration", "evaluation",
                                            "parameters")),
              "after": Param("int", 0, low=0)}
    monkeypatch.setitem(PROBLEMS, "poison", ProblemKind(schema, lambda p, s, n: PoisonProblem(**p)))


def poison_doc(what, after, per="gradient", every=1, methods=("rennala_nigt", "asgd")):
    return {"name": "poison", "seed": 3,
            "workers": {"n": 3, "compute": {"per": per, "model": "exponential", "mean": 1.0}},
            "problem": {"kind": "poison", "what": what, "after": after},
            "methods": [{"name": m, "batch": 3} if m != "asgd" else {"name": m} for m in methods],
            "stop": {"updates": 8}, "evaluation": {"every": every}}


def run_cli(doc, tmp_path, name="run"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    out = tmp_path / name
    return cli.main(["run", str(path), "--out", str(out), "--quiet", "--no-plots"]), out


MESSAGE = re.compile(r"non-finite (\w+) at update (\d+), virtual time (\S+)")


@pytest.mark.parametrize("what,after,per,every,kind", [
    ("gradient", 2, "gradient", 1, "gradient"),
    ("duration", 6, "step", 1, "duration"),
    ("evaluation", 4, "gradient", 1, "evaluation"),  # a NaN return
    ("evaluation", 1, "gradient", 100, "evaluation"),  # the final evaluation fails
    ("parameters", 0, "gradient", 1, "parameters"),  # θ_0 itself
])
def test_non_finite_values_stop_the_method_keep_rows_and_exit_3(
        poison, tmp_path, capsys, what, after, per, every, kind):
    clean_code, clean = run_cli(poison_doc("none", 0, per, every), tmp_path, "clean")
    assert clean_code == 0
    code, out = run_cli(poison_doc(what, after, per, every), tmp_path)
    err = capsys.readouterr().err
    assert code == 3
    assert "Traceback" not in err and "Warning" not in err
    for f in ("scenario.yaml", "meta.json", "summary.csv", "wall.json"):
        assert (out / f).is_file(), f
    for label in ("rennala_nigt", "asgd"):
        summary = json.loads((out / label / "summary.json").read_text())
        assert summary["status"] == "numerical_error"
        found, update, when = MESSAGE.fullmatch(summary["message"]).groups()
        assert found == kind
        assert (f"asyncnigt: {label} stopped: {summary['message']} (rows so far kept in "
                f"{out / label / 'metrics.csv'})") in err.splitlines()
        kept = (out / label / "metrics.csv").read_text().splitlines()
        reference = (clean / label / "metrics.csv").read_text().splitlines()
        rows = len(kept) - 1
        assert int(update) == (rows if every == 1 else rows - 1)
        assert summary["updates"] == max(rows - 1, 0)
        if every == 1:  # the rows before the bad value are exactly those of a clean run
            assert kept == reference[: len(kept)]
            last_time = float(kept[-1].split(",")[1]) if rows else 0.0
            assert float(when) >= last_time * (1 - 1e-6)  # the message rounds to 6 digits
        else:  # the last row is kept, unevaluated
            assert kept[:-1] == reference[: len(kept) - 1] and kept[-1].endswith(",,")
        if kind != "parameters":
            assert rows >= 2


def test_built_in_overflow_exits_3_through_the_real_entry_point(tmp_path):
    """Exponential durations with mean 1e308 overflow to inf: no traceback, all files."""
    doc = yaml.safe_load(BASE)
    doc["workers"]["compute"] = {"model": "exponential", "mean": 1e308}
    doc["methods"] = [{"name": "rennala_nigt", "batch": 2}, {"name": "asgd"}]
    doc["stop"] = {"updates": 50}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "asyncnigt", "run", str(path), "--out",
                           str(out), "--quiet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and all(MESSAGE.search(line) for line in lines)
    assert lines[0].startswith("asyncnigt: rennala_nigt stopped: non-finite duration at update ")
    assert (out / "summary.csv").is_file() and (out / "objective.png").is_file()


def test_zero_nigt_direction_leaves_theta_unchanged(tmp_path):
    """At the optimum without noise every gradient is exactly 0: NIGT and AFedPG keep θ."""
    doc = yaml.safe_load(edited(problem={"kind": "quadratic", "dim": 3, "init_scale": 0.0},
                                methods=[{"name": m} for m in
                                         ("rennala_nigt", "malenia_nigt", "sync_nigt", "afedpg")]))
    outcomes = run_scenario(parse_scenario(doc), tmp_path / "run")
    for o in outcomes:
        assert o.summary["status"] == "ok" and o.summary["updates"] == 5
        text = (tmp_path / "run" / o.label / "metrics.csv").read_text().splitlines()
        assert all(line.endswith(",0.0,0.0") for line in text[1:]), text


def test_normalized_directions():
    assert normalized(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert normalized(np.array([3.0, 4.0])).tolist() == [0.6, 0.8]
    # nonzero directions whose norm under- or overflows still give unit vectors
    assert normalized(np.array([1e-200, 0.0])).tolist() == [1.0, 0.0]
    with np.errstate(over="ignore"):  # the first ‖d‖ overflows (simulate silences this)
        assert normalized(np.array([-1e200, 1e200])) == pytest.approx([-2**-0.5, 2**-0.5])
    assert np.isnan(normalized(np.array([np.inf, 1.0]))).any()  # reported by the guards
    assert np.isnan(normalized(np.array([np.nan, 1.0]))).all()


# ------------------------------------------------------------------ crash safety


def test_write_atomic_never_leaves_a_half_written_file(tmp_path, monkeypatch):
    """Interrupted after writing the temporary file, before the rename: the old file
    stays complete under its name and the temporary file is removed."""
    path = tmp_path / "metrics.csv"
    write_atomic(path, "complete\n")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(results.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "half\n")
    assert path.read_text() == "complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]  # no temp file left


def test_interrupted_run_leaves_previous_directory_and_no_partial(tmp_path):
    sc = parse_scenario(yaml.safe_load(edited(methods=[{"name": "rennala_nigt"},
                                                       {"name": "asgd"}])))
    run_scenario(sc, tmp_path / "run")
    before = files(tmp_path / "run")

    def interrupt(label, summary, wall):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_scenario(sc, tmp_path / "run", report=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert files(tmp_path / "run") == before


@pytest.mark.parametrize("where", ["new run's directory made", "previous run's move-aside "
                                   "directory made", "previous run moved aside"])
def test_interrupt_while_committing_a_run_keeps_the_previous_one(tmp_path, monkeypatch, where):
    """Ctrl-C can land on any instruction, also just after a temporary directory is made
    (inside ``mkdtemp``) or between the two renames that replace a run: the previous run
    stays whole in its place and no temporary directory is left."""
    sc = parse_scenario(yaml.safe_load(BASE))
    out = tmp_path / "run"
    run_scenario(sc, out)
    before = files(out)
    made, renamed = [], []
    mkdtemp, rename = runner.tempfile.mkdtemp, Path.rename
    nth_mkdtemp = {"new run's directory made": 1,
                   "previous run's move-aside directory made": 2}.get(where)

    def interrupted_mkdtemp(*args, **kwargs):
        made.append(mkdtemp(*args, **kwargs))
        if len(made) == nth_mkdtemp:
            raise KeyboardInterrupt  # the directory exists, its path not yet returned
        return made[-1]

    def interrupted_rename(self, target):
        if where == "previous run moved aside" and Path(target) == out and not renamed:
            renamed.append(self)
            raise KeyboardInterrupt  # the new run was about to take the previous one's place
        return rename(self, target)

    monkeypatch.setattr(runner.tempfile, "mkdtemp", interrupted_mkdtemp)
    monkeypatch.setattr(Path, "rename", interrupted_rename)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(sc, out)
    assert made and (renamed or where != "previous run moved aside")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert files(out) == before


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_directories_of_dead_runs_are_removed(tmp_path):
    host, dead, alive = socket.gethostname(), dead_pid(), os.getpid()
    names = {f".run.partial-{host}-{dead}-abc": False, f".run.old-{host}-{dead}-x1": False,
             f".run.partial-{host}-{alive}-abc": True, f".run.partial-elsewhere-{dead}-a": True,
             f".other.partial-{host}-{dead}-abc": True, ".run.partial-abc": True}
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.csv").write_text("x")
    sc = parse_scenario(yaml.safe_load(BASE))
    run_scenario(sc, tmp_path / "run")
    for name, kept in names.items():
        assert (tmp_path / name).exists() == kept, name
    assert (tmp_path / "run" / "summary.csv").is_file()


KILL_SCENARIO = """\
name: killed
seed: 5
workers:
  n: 8
  compute: {model: exponential, mean: {preset: sqrt, scale: 0.1}}
  comm: {upload: 0.01, download: 0.01, aggregate: {model: slowest_link}}
problem: {kind: lqr, state_dim: 3, action_dim: 2, horizon: 20}
methods:
  - {name: rennala_nigt, batch: 16}
  - {name: malenia_nigt, batch: 16}
  - {name: sync_nigt, step_size: 0.01}
  - {name: afedpg, step_size: 0.001}
stop: {updates: 50}
output: {events: 30}
"""


def files(root: Path) -> dict[str, bytes]:
    """Every file of a run directory except wall.json and plots (the determinism contract)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "wall.json" and p.suffix != ".png"}


def start_run(path: Path, out: Path, hashseed: str = "0") -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    return subprocess.Popen([sys.executable, "-m", "asyncnigt", "run", str(path), "--out",
                             str(out), "--quiet", "--no-plots"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


KILLS = 12


def test_sigkill_at_random_points_leaves_complete_runs_or_none(tmp_path):
    """A real ``asyncnigt run`` killed with SIGKILL at KILLS random moments (seeded
    delays spread over an uninterrupted run's wall time): after each kill the run
    directory is absent or complete and identical to the uninterrupted one; a final run
    over the debris gives the same files again and removes the stale temporary folders."""
    path = tmp_path / "s.yaml"
    path.write_text(KILL_SCENARIO, encoding="utf-8")
    reference = tmp_path / "reference" / "run"
    start = time.perf_counter()
    assert start_run(path, reference).wait(timeout=120) == 0
    span = time.perf_counter() - start
    expected = files(reference)
    assert len(expected) >= 12

    out = tmp_path / "killed" / "run"
    out.parent.mkdir()
    outcomes = []
    for delay in np.random.default_rng(20261125).uniform(0.0, 1.3 * span, KILLS):
        before = set(out.parent.iterdir())
        inode = out.stat().st_ino if out.exists() else None
        proc = start_run(path, out)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        code = proc.wait(timeout=60)
        if out.exists():
            assert files(out) == expected, f"run directory differs after a kill at {delay:.2f} s"
        leftovers = [p.name for p in out.parent.iterdir() if p.name != "run"]
        assert all(".partial-" in n or ".old-" in n for n in leftovers), leftovers
        new = set(out.parent.iterdir()) - before - {out}
        replaced = out.exists() and out.stat().st_ino != inode
        outcomes.append((round(float(delay), 2), "finished" if code == 0 else
                         "killed mid-run (partial left)" if new else
                         "killed after its rename" if replaced else "killed before writing"))
    print(f"run of {span:.2f} s; kills (delay s, outcome): {outcomes}")
    assert any("mid-run" in o for _, o in outcomes)  # some kills hit a run in progress

    proc = start_run(path, out, hashseed="1")
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert files(out) == expected  # also: identical across processes and hash seeds
    assert [p.name for p in out.parent.iterdir()] == ["run"]  # stale folders removed


SWEEP_SCENARIO = KILL_SCENARIO.replace("updates: 50", "updates: 15")


def complete_runs(sweep: Path) -> dict[str, dict[str, bytes]]:
    return {str(p.parent.relative_to(sweep)): files(p.parent)
            for p in sorted(sweep.glob("*/seed*/summary.csv"))}


def test_sigint_ends_a_sweep_cleanly_keeping_finished_runs(tmp_path, jobs=1):
    """Ctrl-C (SIGINT) once a run has finished: exit 130 without a traceback, finished
    runs complete on disk, no half-built run directory; the same command finishes the
    sweep and leaves the finished runs' files unchanged. (tests/test_sweep.py covers
    --jobs 2; here the interrupt reaches the run in progress in the main process.)"""
    path = tmp_path / "s.yaml"
    path.write_text(SWEEP_SCENARIO, encoding="utf-8")
    out = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "asyncnigt", "sweep", str(path), "--seeds", "0:8", "--jobs",
           str(jobs), "--out", str(out), "--quiet", "--no-plots"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not complete_runs(out) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "asyncnigt: interrupted" in err
    kept = complete_runs(out)
    assert 1 <= len(kept) < 8
    runs = [p for p in out.glob("*/*") if p.is_dir()]
    assert all((p / "summary.csv").is_file() for p in runs if not p.name.startswith("."))
    assert not [p for p in out.rglob(".*") if ".partial-" in p.name]  # removed on SIGINT
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    done = complete_runs(out)
    assert len(done) == 8 and (out / "sweep.csv").is_file()
    assert all(done[name] == runs_files for name, runs_files in kept.items())


# ------------------------------------------------------------------ determinism


DETERMINISM = """\
name: det
seed: 11
workers:
  n: 4
  compute: {per: step, model: lognormal, mean: {preset: linear, scale: 0.001}, sigma: 0.5}
  comm: {upload: {model: exponential, mean: 0.01}, download: 0.005,
         aggregate: {model: slowest_link, over: contributors}}
problem: {kind: lqr, state_dim: 2, action_dim: 2, horizon: 8,
          worker_matrices: [{}, {}, {Q: [[2.0, 0.0], [0.0, 1.0]]}, {}]}
methods:
  - {name: rennala_nigt, batch: 6, label: rn}
  - {name: malenia_nigt, batch: 6, label: mn, in_flight: ignore}
  - {name: ringmaster_asgd, max_delay: 2, step_size: 0.001, label: ring}
  - {name: afedpg, step_size: 0.001, label: afedpg}
  - {name: sync_nigt, label: sn}
stop: {updates: 15}
evaluation: {every_time: 0.05}
targets: {objective: [-40.0]}
output: {events: 5}
"""


def test_removing_and_reordering_methods_changes_no_other_method(tmp_path, recwarn):
    """Per-step timing (trajectory buffers), random links and a heterogeneous problem:
    every method's files are the same alone, in reverse order, or with all the others."""
    doc = yaml.safe_load(DETERMINISM)
    run_scenario(parse_scenario(doc), tmp_path / "all")
    full = files(tmp_path / "all")
    assert any(k.endswith("events.jsonl") for k in full)
    reverse = {**doc, "methods": doc["methods"][::-1]}
    run_scenario(parse_scenario(reverse), tmp_path / "reverse")
    for method in doc["methods"]:
        label = method["label"]
        run_scenario(parse_scenario({**doc, "methods": [method]}), tmp_path / label)
        for root in (tmp_path / label, tmp_path / "reverse"):
            for f in ("metrics.csv", "summary.json", "events.jsonl"):
                key = f"{label}/{f}"
                assert files(root)[key] == full[key], (root.name, key)


if __name__ == "__main__":  # the bad-input table of docs/reliability.md
    import tempfile

    print("| bad input | exit | message |\n|---|---|---|")
    for case in BAD_INPUT:
        with tempfile.TemporaryDirectory() as tmp:
            path, parent, extra = bad_input(case, Path(tmp))
            import contextlib
            import io

            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                code = cli.main(["run", str(path), "--out", str(parent / "out"), "--no-plots",
                                 *extra])
            line = err.getvalue().strip().replace(str(path), "FILE").replace("|", "\\|")
            args = " ".join(extra)
            tick = "``" if "`" in line else "`"
            print(f"| {case[0]}{f' (`{args}`)' if args else ''} | {code} | {tick}{line}{tick} |")
