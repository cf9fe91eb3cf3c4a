"""Every packaged scenario validates and runs end to end on a tiny budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncnigt.results import read_csv
from asyncnigt.runner import run_scenario
from asyncnigt.scenario import load_scenario, read_yaml

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))


def tiny(path: Path) -> list[str]:
    """Overrides that shrink a scenario to a few updates and short trajectories."""
    doc = read_yaml(path)
    sets = ["stop.updates=2", "output.events=0"]
    if doc["problem"]["kind"] == "gym":  # rollouts dominate: few, short, small batches
        sets += ["problem.horizon=10", "problem.eval_episodes=1"]
        if doc["workers"]["n"] > 3:  # scenarios with n > 3 use presets, not per-worker lists
            sets.append("workers.n=3")
        for k, method in enumerate(doc["methods"]):
            sets += [f"methods[{k}].{key}=1" for key in ("batch", "init_batch") if key in method]
    return sets


def test_there_are_packaged_scenarios():
    assert any(p.name == "quickstart.yaml" for p in SCENARIOS)


# some packaged scenarios are heterogeneous on purpose (and warned of when run)
@pytest.mark.filterwarnings("ignore::asyncnigt.errors.ScenarioWarning")
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_packaged_scenario_runs_tiny(path, tmp_path):
    scenario = load_scenario(path, tiny(path))
    run_scenario(scenario, tmp_path / "run")
    columns, rows = read_csv(tmp_path / "run" / "summary.csv")
    assert [r["label"] for r in rows] == [m.label for m in scenario.methods]
    assert all(r["status"] == "ok" for r in rows)
    for method in scenario.methods:
        _, metrics = read_csv(tmp_path / "run" / method.label / "metrics.csv")
        assert metrics[0]["update"] == 0 and metrics[-1]["update"] >= 1
        assert metrics[-1]["objective"] is not None
