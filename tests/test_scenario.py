"""Scenario files and the command line: the contract example, error reporting (exit 2,
the YAML path named, nothing written), --set overrides, determinism and common random
numbers across methods."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import heterogeneous_on_purpose, run_doc, scenario_doc

from asyncnigt.errors import ScenarioError
from asyncnigt.plots import plot_run
from asyncnigt.results import read_csv
from asyncnigt.runner import run_scenario
from asyncnigt.scenario import load_scenario, parse_scenario
from asyncnigt.seeding import Streams
from asyncnigt.timing import theory as th
from asyncnigt.timing.streams import DurationStream

CONTRACT = """\
name: contract-example
seed: 7
workers:
  n: 3
  compute:
    times: [1.0, 1.7320508075688772, 2.23606797749979]   # seconds per gradient, fixed
  comm:
    aggregate: 0.0        # seconds per aggregation (κ) of round methods
problem:
  kind: quadratic
  dim: 5
  noise: 0.1
methods:
  - name: rennala_sgd
    batch: 4
    step_size: 0.05
stop:
  updates: 10
"""
TAU = [1.0, math.sqrt(3), math.sqrt(5)]


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "asyncnigt", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture
def contract(tmp_path):
    path = tmp_path / "contract.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    return path


def write_yaml(tmp_path, doc, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def assert_bad_input(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("asyncnigt: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ------------------------------------------------------------------ the contract


def test_contract_validates_and_runs(contract, tmp_path):
    proc = cli("validate", contract)
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout
    out = tmp_path / "out"
    proc = cli("run", contract, "--out", out, "--set", "methods[0].step_size=0.1")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for f in ("scenario.yaml", "meta.json", "summary.csv", "wall.json",
              "rennala_sgd/metrics.csv", "rennala_sgd/summary.json"):
        assert (out / f).is_file(), f
    resolved = yaml.safe_load((out / "scenario.yaml").read_text())
    assert resolved["methods"][0]["step_size"] == 0.1  # --set took effect
    assert resolved["methods"][0]["in_flight"] == "cancel"  # defaults are filled in
    columns, rows = read_csv(out / "rennala_sgd" / "metrics.csv")
    assert columns[:7] == ["update", "time", "gradients_used", "gradients_computed",
                           "gradients_cancelled", "communications", "comm_time"]
    assert [r["update"] for r in rows] == list(range(11))
    T = th.rennala_round_time(TAU, 4)
    assert [r["time"] for r in rows] == pytest.approx([k * T for k in range(11)], rel=1e-9)
    assert [r["gradients_used"] for r in rows] == [4 * k for k in range(11)]
    summary = json.loads((out / "rennala_sgd" / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["params"]["step_size"] == 0.1
    assert summary["gradients_per_worker"] == (10 * th.rennala_round_counts(TAU, 4)).tolist()
    # the resolved scenario reproduces the run
    again = load_scenario(out / "scenario.yaml")
    assert again.resolved == yaml.safe_load((out / "scenario.yaml").read_text())


def test_set_override_in_process(contract):
    sc = load_scenario(contract, ["methods[0].step_size=0.1", "stop.updates=3", "seed=11"])
    assert sc.methods[0].params["step_size"] == 0.1
    assert sc.stop.updates == 3 and sc.seed == 11
    assert load_scenario(contract).methods[0].params["step_size"] == 0.05


# ------------------------------------------------------------- bad input: exit 2


@pytest.mark.parametrize("path,needle", [
    (("methods", 0, "step_sise"), "methods[0].step_sise: unknown key"),
    (("workers", "compute", "tims"), "workers.compute.tims: unknown key"),
    (("problem", "nosie"), "problem.nosie: unknown key"),
])
def test_misspelled_key_names_its_yaml_path(tmp_path, contract, path, needle):
    doc = yaml.safe_load(CONTRACT)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = 1
    proc = cli("validate", write_yaml(tmp_path, doc))
    assert_bad_input(proc, needle)


def _bad(doc_edit):
    doc = yaml.safe_load(CONTRACT)
    doc_edit(doc)
    return doc


BAD = {
    "negative-time": (lambda d: d["workers"]["compute"]["times"].__setitem__(2, -1.0), (),
                      ("workers.compute.times[2]: must be",)),
    "unknown-method": (lambda d: d["methods"][0].__setitem__("name", "rennala_sdg"), (),
                       ("methods[0].name: must be one of", "rennala_sgd")),
    "batch-0": (lambda d: d["methods"][0].__setitem__("batch", 0), (),
                ("methods[0].batch: must be >= 1",)),
    "set-index-out-of-range": (lambda d: None, ("--set", "methods[3].step_size=0.1"),
                               ("--set methods[3].step_size", "names nothing")),
    "set-not-a-path": (lambda d: None, ("--set", "methods[0]..step_size=0.1"),
                       ("--set methods[0]..step_size", "not a key path")),
    "set-bad-value": (lambda d: None, ("--set", "methods[0].step_size=-1"),
                      ("--set methods[0].step_size", "must be > 0")),
    "wrong-count": (lambda d: d["workers"]["compute"]["times"].pop(), (),
                    ("workers.compute.times", "expected 3 values")),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_values_exit_2_and_write_nothing(tmp_path, case):
    edit, extra, needles = BAD[case]
    path = write_yaml(tmp_path, _bad(edit))
    parent = tmp_path / "runs"
    parent.mkdir()
    proc = cli("run", path, "--out", parent / "out", *extra)
    assert_bad_input(proc, *needles)
    assert list(parent.iterdir()) == []  # no run directory, no partial directory
    assert proc.stdout == ""


@pytest.mark.parametrize("edit,path", [
    (lambda d: d["workers"]["comm"].__setitem__("aggregate", -0.5), "workers.comm.aggregate"),
    (lambda d: d["stop"].clear(), "stop"),
    (lambda d: d.__setitem__("methods", []), "methods"),
    (lambda d: d["workers"].__setitem__("n", 0), "workers.n"),
    (lambda d: d["methods"].append(dict(d["methods"][0])), "methods[1].label"),
    (lambda d: d["workers"]["compute"].update(model="gamma"), "workers.compute.shape"),
    (lambda d: d["workers"]["compute"].update(outages=[{"start": 2.0, "end": 1.0}]),
     "workers.compute.outages[0].end"),
    (lambda d: d["methods"].__setitem__(0, {"name": "ringmaster_asgd"}),
     "methods[0].max_delay"),
    (lambda d: d["methods"][0].update(in_flight="drop"), "methods[0].in_flight"),
    (lambda d: d["problem"].update(kind="quadratics"), "problem.kind"),
])
def test_more_bad_values_name_their_path(edit, path):
    doc = _bad(edit)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(doc)
    assert err.value.path.startswith(path), (err.value.path, path)


# -------------------------------------------------------------- determinism


def rich_doc(methods):
    return scenario_doc(
        {"model": "gamma", "shape": 2.0, "mean": {"preset": "sqrt", "scale": 0.5}},
        methods, n=5, seed=42, stop={"updates": 12}, events=4,
        problem={"kind": "quadratic", "dim": 4, "noise": 0.3, "heterogeneity": 0.5},
        comm={"upload": {"model": "exponential", "mean": 0.1}, "download": 0.02,
              "aggregate": {"model": "slowest_link"}})


ALL_KINDS = [{"name": "rennala_nigt", "batch": 6, "label": "rn"},
             {"name": "asgd", "label": "asgd"},
             {"name": "malenia_sgd", "batch": 7, "label": "ms"},
             {"name": "ringmaster_asgd", "max_delay": 3, "label": "ring"},
             {"name": "afedpg", "label": "afedpg"},
             {"name": "minibatch_sgd", "label": "mb"},
             {"name": "rennala_sgd", "batch": 5, "in_flight": "ignore", "label": "ri"}]


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "wall.json"}


@heterogeneous_on_purpose
def test_same_scenario_twice_gives_identical_files(tmp_path):
    sc = parse_scenario(rich_doc(ALL_KINDS))
    for side in ("a", "b"):
        run_scenario(sc, tmp_path / side / "run")
        plot_run(tmp_path / side / "run")
    a, b = files(tmp_path / "a" / "run"), files(tmp_path / "b" / "run")
    assert sorted(a) == sorted(b)
    assert any(k.endswith("events.jsonl") for k in a) and any(k.endswith(".png") for k in a)
    for key in a:
        assert a[key] == b[key], key
    assert (tmp_path / "a" / "run" / "wall.json").is_file()


@heterogeneous_on_purpose
def test_adding_methods_changes_no_other_method(tmp_path):
    alone = [dict(ALL_KINDS[0])]
    run_scenario(parse_scenario(rich_doc(alone)), tmp_path / "one")
    run_scenario(parse_scenario(rich_doc(ALL_KINDS[1:] + alone)), tmp_path / "all")
    for f in ("metrics.csv", "summary.json", "events.jsonl"):
        one, both = tmp_path / "one" / "rn" / f, tmp_path / "all" / "rn" / f
        assert one.read_bytes() == both.read_bytes(), f


@heterogeneous_on_purpose
def test_methods_share_theta0_and_timing_draws(tmp_path):
    sc = parse_scenario(rich_doc(ALL_KINDS))
    run_scenario(sc, tmp_path / "run")
    firsts = {m.label: read_csv(tmp_path / "run" / m.label / "metrics.csv")[1][0]
              for m in sc.methods}
    row0 = firsts["rn"]
    assert row0["update"] == 0 and row0["objective"] is not None
    for label, row in firsts.items():
        assert row == row0, label
    # the j-th computation of worker i lasts the same for every method: rebuild the
    # stream of draws and compare with each method's jobs (cancelled ones are cut short)
    n = sc.n
    doc = rich_doc(ALL_KINDS)
    doc["output"] = {"events": 12}
    for index, method in enumerate(ALL_KINDS):
        run = run_doc(doc, index)
        stream = DurationStream(sc.compute, Streams(sc.seed).per_worker("compute", n))
        jobs = {i: [] for i in range(n)}
        for e in sorted(run.events, key=lambda e: e["start"]):
            if e["kind"] in ("used", "cancelled", "discarded"):
                jobs[e["worker"]].append(e)
        checked = 0
        for i in range(n):
            for e in sorted(jobs[i], key=lambda e: e["start"]):
                draw = stream.take(i)
                if e["kind"] == "cancelled":
                    assert e["end"] - e["start"] <= draw * (1 + 1e-12)
                else:
                    assert e["end"] - e["start"] == pytest.approx(draw, rel=1e-9), method
                    checked += 1
        assert checked >= 12, method


def test_resolved_scenario_is_complete_and_round_trips():
    sc = parse_scenario(rich_doc(ALL_KINDS))
    again = parse_scenario(copy.deepcopy(sc.resolved))
    assert again.resolved == sc.resolved
    assert [m.params for m in again.methods] == [m.params for m in sc.methods]
    assert np.allclose([m.mean for m in again.compute], [m.mean for m in sc.compute])
