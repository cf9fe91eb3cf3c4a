"""Plots of runs and sweeps: the files exist, are valid PNGs of a sensible size, and the
band maths (step interpolation, quantiles across seeds) is right."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from asyncnigt.cli import main
from asyncnigt.plotting import plot_run
from asyncnigt.plotting.bands import band, step_values
from asyncnigt.runner import run_scenario
from asyncnigt.scenario import parse_scenario

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

DOC = {
    "name": "plots",
    "workers": {"n": 3, "compute": {"model": "exponential", "mean": [1.0, 1.5, 2.0]},
                "comm": {"aggregate": 0.2}},
    "problem": {"kind": "quadratic", "dim": 5, "noise": 0.3},
    "methods": [{"name": "rennala_nigt", "batch": 3, "step_size": 0.1},
                {"name": "asgd", "step_size": 0.05},
                {"name": "minibatch_sgd", "step_size": 0.1}],
    "stop": {"updates": 40},
    "targets": {"grad_norm": [0.5]},
    "output": {"events": 4},
}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def assert_png(path: Path, min_bytes: int = 8000) -> None:
    assert path.is_file(), path
    width, height = png_size(path)
    assert width >= 300 and height >= 200
    assert path.stat().st_size >= min_bytes  # a blank figure is far smaller


def make_run(tmp_path, **changes) -> Path:
    out = tmp_path / "run"
    run_scenario(parse_scenario({**DOC, **changes}), out)
    return out


def test_run_plots(tmp_path):
    run = make_run(tmp_path)
    written = plot_run(run)
    names = sorted(p.name for p in written)
    assert names == ["grad_norm.png", "objective.png", "timeline.png", "workers.png"]
    for path in written:
        assert_png(path)
    assert not list(run.glob(".*.tmp"))


def test_run_plots_do_not_depend_on_the_folder(tmp_path):
    """Titles name the scenario and seed, not the run directory: the same run written
    under two names gives byte-identical PNGs."""
    first = make_run(tmp_path)
    second = tmp_path / "elsewhere"
    run_scenario(parse_scenario(DOC), second)
    for a, b in zip(sorted(plot_run(first)), sorted(plot_run(second)), strict=True):
        assert a.name == b.name and a.read_bytes() == b.read_bytes()


def test_no_timeline_without_events(tmp_path):
    run = make_run(tmp_path, output={"events": 0})
    assert "timeline.png" not in {p.name for p in plot_run(run)}


def test_plot_command_on_run_sweep_and_other(tmp_path, capsys):
    run = make_run(tmp_path)
    assert main(["plot", str(run)]) == 0
    assert "timeline.png" in capsys.readouterr().out
    scenario = tmp_path / "s.yaml"
    import yaml

    scenario.write_text(yaml.safe_dump(DOC))
    sweep = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--seeds", "0:2", "--grid", "methods[0].batch=2,4",
                 "--out", str(sweep), "--quiet"]) == 0
    for cell in ("batch=2", "batch=4"):
        for name in ("objective.png", "grad_norm.png"):
            assert_png(sweep / cell / name)
    before = (sweep / "batch=2" / "objective.png").read_bytes()
    assert main(["plot", str(sweep)]) == 0
    assert (sweep / "batch=2" / "objective.png").read_bytes() == before  # reproducible
    assert main(["plot", str(tmp_path)]) == 2


def test_step_values_hold_the_last_evaluated_value():
    grid = np.array([0.0, 0.5, 1.0, 1.5, 3.0])
    got = step_values([0.0, 1.0, 2.0], [10.0, 20.0, 30.0], grid)
    assert got.tolist() == [10.0, 10.0, 20.0, 20.0, 30.0]
    assert np.isnan(step_values([1.0], [5.0], np.array([0.5])))[0]


def test_band_is_quantiles_across_seeds_up_to_the_shortest_run():
    curves = [([0.0, 1.0, 2.0], [float(s), float(s) + 1, float(s) + 2]) for s in range(5)]
    curves.append(([0.0, 1.0], [2.0, 3.0]))
    grid, low, mid, high = band(curves, points=3)
    assert grid.tolist() == [0.0, 0.5, 1.0]  # ends at the shortest run's last time
    values = np.array([[0, 0, 1], [1, 1, 2], [2, 2, 3], [3, 3, 4], [4, 4, 5], [2, 2, 3]], float)
    for got, q in ((low, 0.2), (mid, 0.5), (high, 0.8)):
        assert got.tolist() == pytest.approx(np.quantile(values, q, axis=0).tolist())


def test_timeline_shows_messages_only_with_their_computation():
    from asyncnigt.plotting.timeline import complete_jobs

    events = [
        {"worker": 0, "kind": "download", "start": 0.0, "end": 0.1, "update": 0},
        {"worker": 0, "kind": "used", "start": 0.1, "end": 0.5, "update": 0},
        {"worker": 0, "kind": "upload", "start": 0.5, "end": 0.7, "update": 0},
        {"worker": 1, "kind": "download", "start": 0.0, "end": 0.2, "update": 0},
        {"worker": 1, "kind": "upload", "start": 0.9, "end": 1.0, "update": 0},  # applied later
        {"worker": 1, "kind": "aggregate", "start": 1.0, "end": 1.1, "update": 0},
    ]
    kept = complete_jobs(events)
    assert [(e["worker"], e["kind"]) for e in kept] == [
        (0, "download"), (0, "used"), (0, "upload"), (1, "aggregate")]
