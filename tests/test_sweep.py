"""Sweeps: grid and seed parsing, quantiles, tables, determinism across --jobs, resume
after SIGKILL, clean Ctrl-C, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import csv
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from asyncnigt.cli import main
from asyncnigt.errors import ScenarioError
from asyncnigt.sweep import parse_grid, parse_seeds
from asyncnigt.sweep.grid import cells
from asyncnigt.sweep.stats import quantile

SCENARIO = """\
name: sweep-test
seed: 0
workers:
  n: 4
  compute: {model: exponential, mean: {preset: sqrt, scale: 1.0}}
  comm: {aggregate: 0.1}
problem: {kind: quadratic, dim: 10, noise: 0.5}
methods:
  - {name: rennala_nigt, batch: 4, step_size: 0.05}
  - {name: asgd, step_size: 0.02}
stop: {updates: UPDATES}
targets: {grad_norm: [0.5]}
output: {events: 3}
"""
GRID = ["--grid", "methods[0].step_size=0.05,0.1"]
SEEDS = ["--seeds", "0:2"]


def scenario(tmp_path: Path, updates: int = 60) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.replace("UPDATES", str(updates)))
    return path


def sweep_args(path: Path, out: Path, *extra: str) -> list[str]:
    return ["sweep", str(path), *SEEDS, *GRID, "--out", str(out), "--quiet", "--no-plots", *extra]


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` except wall-clock data and PNGs."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "wall.json" and p.suffix != ".png"}


def subprocess_cli(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "asyncnigt", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def wait_for(predicate, proc, timeout=60.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "timed out"
        time.sleep(0.002)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted sweep (--jobs 1, in this process) to compare against."""
    tmp = tmp_path_factory.mktemp("reference")
    path = scenario(tmp, updates=800)
    out = tmp / "sweep"
    assert main(sweep_args(path, out, "--jobs", "1")) == 0
    return path, out


# -- parsing --------------------------------------------------------------------------

def test_seeds():
    assert parse_seeds("0:5") == (0, 1, 2, 3, 4)
    assert parse_seeds("3,1") == (3, 1)
    assert parse_seeds("7") == (7,)
    for bad in ("5:5", "a", "-1:2", "1,1"):
        with pytest.raises(ScenarioError):
            parse_seeds(bad)


def test_grid_values_and_cell_names():
    axes = parse_grid(["methods[0].step_size=1e-5,0.1", "methods[1].step_size=0.2",
                       "workers.compute.times=[1,2],[3,4]"])
    assert axes[0].values == (1e-5, 0.1)  # YAML 1.1 would read 1e-5 as a string
    found = cells(axes)
    assert [c.name for c in found] == [
        "methods0.step_size=1e-05,methods1.step_size=0.2,times=_1_2_",
        "methods0.step_size=1e-05,methods1.step_size=0.2,times=_3_4_",
        "methods0.step_size=0.1,methods1.step_size=0.2,times=_1_2_",
        "methods0.step_size=0.1,methods1.step_size=0.2,times=_3_4_",
    ]
    assert found[0].assignments()[2] == "workers.compute.times=[1, 2]"
    assert [c.name for c in cells(parse_grid(["methods[0].batch=1,2"]))] == ["batch=1", "batch=2"]
    assert [c.name for c in cells(())] == ["default"]


@pytest.mark.parametrize("bad", ["nokey", "methods[0].=1", "a=", "a=1,1", "a=[1"])
def test_bad_grid_syntax(bad):
    with pytest.raises(ScenarioError, match="--grid"):
        parse_grid([bad])


def test_quantile_is_numpy_linear_and_handles_unreached():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 7):
        v = rng.exponential(size=n)
        for q in (0.0, 0.2, 0.5, 0.8, 1.0):
            assert quantile(v, q) == np.quantile(v, q)
    assert quantile([1.0, 2.0, math.inf, 3.0, 4.0], 0.5) == 3.0
    assert quantile([1.0, 2.0, 3.0, 4.0, math.inf], 0.8) == math.inf  # between 4 and ∞
    assert quantile([1.0, 2.0, 3.0, 4.0, math.inf], 0.75) == 4.0


# -- running ---------------------------------------------------------------------------

def test_layout_tables_and_runs_equal_single_runs(reference, tmp_path):
    path, out = reference
    manifest_cells = ["step_size=0.05", "step_size=0.1"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        manifest_cells + ["sweep.csv", "sweep.json", "sweep_summary.csv"])
    with open(out / "sweep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["cell"], r["seed"], r["label"]) for r in rows] == [
        (c, s, m) for c in manifest_cells for s in "01" for m in ("rennala_nigt", "asgd")]
    assert {r["methods[0].step_size"] for r in rows} == {"0.05", "0.1"}
    assert "wall" not in ",".join(rows[0])
    with open(out / "sweep_summary.csv", newline="") as fh:
        summary = list(csv.DictReader(fh))
    assert [(r["cell"], r["label"], r["seeds"]) for r in summary] == [
        (c, m, "2") for c in manifest_cells for m in ("rennala_nigt", "asgd")]
    for r in summary:
        finals = sorted(float(x["final_objective"]) for x in rows
                        if (x["cell"], x["label"]) == (r["cell"], r["label"]))
        assert float(r["final_objective_median"]) == np.quantile(finals, 0.5)
        assert int(r["time_to_grad_norm_0.5_reached"]) <= 2
    # a sweep run is the run `asyncnigt run --set ... --seed ...` makes
    single = tmp_path / "single"
    assert main(["run", str(path), "--seed", "1", "--set", "methods[0].step_size=0.1",
                 "--out", str(single), "--quiet", "--no-plots"]) == 0
    assert tree(single) == tree(out / "step_size=0.1" / "seed1")


def test_jobs_do_not_change_results(reference, tmp_path):
    path, out = reference
    parallel = tmp_path / "parallel"
    assert main(sweep_args(path, parallel, "--jobs", "2")) == 0
    assert (parallel / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()
    assert tree(parallel) == tree(out)


def test_killed_sweep_resumes_to_the_same_files(reference, tmp_path):
    path, out = reference
    killed = tmp_path / "killed"
    args = sweep_args(path, killed, "--jobs", "1")
    proc = subprocess_cli(args)
    first = killed / "step_size=0.05" / "seed0"
    wait_for(first.is_dir, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    complete = [p for p in killed.glob("*/seed*") if (p / "summary.csv").is_file()]
    assert 1 <= len(complete) < 4 and not (killed / "sweep.csv").exists()
    assert main(args) == 0  # the same command again
    assert tree(killed) == tree(out)


def test_ctrl_c_keeps_finished_runs_and_exits_130(reference, tmp_path):
    path, _ = reference
    out = tmp_path / "interrupted"
    proc = subprocess_cli(sweep_args(path, out, "--jobs", "2"))
    wait_for(lambda: any(out.glob("*/seed*")), proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    runs = [p for p in out.glob("*/*") if p.name.startswith("seed")]
    assert runs and all((p / "summary.csv").is_file() for p in runs)
    assert not list(out.glob("*/.*partial*"))  # half-built runs removed
    assert main(sweep_args(path, out, "--jobs", "1")) == 0
    assert (out / "sweep.csv").is_file()


# -- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("grid, message", [
    ("methods[0].stepsize=0.1,0.2", "--grid methods[0].stepsize"),
    ("methods[5].step_size=0.1", "--grid methods[5].step_size"),
    ("methods[0].step_size=-1,0.1", "--grid methods[0].step_size"),
    ("workers.n=two", "--grid workers.n"),
])
def test_bad_grid_key_exits_2_and_writes_nothing(tmp_path, capsys, grid, message):
    out = tmp_path / "out"
    code = main(["sweep", str(scenario(tmp_path)), "--grid", grid, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_seeds_and_jobs_exit_2(tmp_path, capsys):
    path = scenario(tmp_path)
    assert main(["sweep", str(path), "--seeds", "3:1", "--out", str(tmp_path / "a")]) == 2
    assert main(["sweep", str(path), "--jobs", "-1", "--out", str(tmp_path / "b")]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_resume_refuses_another_scenario_and_foreign_dirs(tmp_path, capsys):
    path = scenario(tmp_path, updates=5)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 0
    changed = ["sweep", str(path), "--out", str(out), "--quiet", "--set", "workers.n=3"]
    assert main(changed) == 2
    assert "different scenario" in capsys.readouterr().err
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert main(["sweep", str(path), "--out", str(foreign), "--quiet"]) == 2
    assert (foreign / "notes.txt").read_text() == "mine"


def test_two_sweeps_never_write_the_same_directory(tmp_path, capsys):
    from asyncnigt.sweep import exclusive

    path = scenario(tmp_path, updates=5)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 0
    with exclusive(out):  # as if another sweep were running there
        assert main(["sweep", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 2
    assert "another sweep" in capsys.readouterr().err
