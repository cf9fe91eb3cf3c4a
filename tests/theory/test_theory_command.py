"""``asyncnigt theory``: the table, ``theory.csv``, predicted == measured with fixed times,
"no closed form" where the reference has none, and every packaged scenario.

Predicted values are re-derived here by hand from the formulas (T_R as the S-th smallest
j·τ_i, max_i b·τ_i, Σ_i 1/c_i, ...), not read back from :mod:`asyncnigt.theory_predict`.
"""

from __future__ import annotations

import heapq
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from emulate import doc as emulate_doc
from emulate import emulate
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncnigt.build import build_problem
from asyncnigt.cli import main
from asyncnigt.results import read_csv
from asyncnigt.scenario import load_scenario, read_yaml
from asyncnigt.seeding import Streams
from asyncnigt.theory_predict import Prediction, predict
from asyncnigt.theory_report import any_failed, compare

TAU = [1.0, math.sqrt(2), math.sqrt(3), math.sqrt(5), math.sqrt(7)]
UP = [0.01, 0.02, 0.03, 0.05, 0.07]
KAPPA = 0.125
K = 12
SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


def smallest(c, S):
    """The S smallest elements of {j·c_i : j ≥ 1} by a heap merge."""
    heap = [(t, i, 1) for i, t in enumerate(c)]
    heapq.heapify(heap)
    out = []
    for _ in range(S):
        t, i, j = heapq.heappop(heap)
        out.append(t)
        heapq.heappush(heap, ((j + 1) * c[i], i, j + 1))
    return np.array(out)


def write(tmp_path, doc) -> Path:
    path = tmp_path / f"{doc['name']}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def fixed_doc(**extra) -> dict:
    return {
        "name": "fixed", "seed": 3,
        "workers": {"n": 5, "compute": {"times": TAU},
                    "comm": {"upload": UP, "aggregate": KAPPA}},
        "problem": {"kind": "quadratic", "dim": 2, "noise": 0.1},
        "methods": [
            {"name": "rennala_sgd", "batch": 7, "init_batch": 11},
            {"name": "malenia_nigt", "batch": 3},
            {"name": "minibatch_sgd", "batch": 2},
            {"name": "rennala_sgd", "batch": 7, "in_flight": "ignore", "label": "ignore"},
            {"name": "asgd"},
        ],
        "stop": {"updates": K}, **extra,
    }


def run_theory(tmp_path, doc, capsys, *sets) -> tuple[int, str, dict]:
    out = tmp_path / "run"
    argv = ["theory", str(write(tmp_path, doc)), "--out", str(out)]
    for s in sets:
        argv += ["--set", s]
    code = main(argv)
    text = capsys.readouterr().out
    columns, rows = read_csv(out / "theory.csv")
    assert columns[:3] == ["label", "method", "timing"]
    return code, text, {r["label"]: r for r in rows}


def test_fixed_times_predicted_equals_measured(tmp_path, capsys):
    code, text, rows = run_theory(tmp_path, fixed_doc(), capsys)
    assert code == 0
    for label in ("rennala_sgd", "malenia_nigt", "minibatch_sgd", "ignore", "asgd"):
        assert label in text
    assert "predicted" in text and "measured" in text
    # Rennala, cancel: rounds 2..K last T_R(7) + κ, the S-th smallest j·τ_i
    r = rows["rennala_sgd"]
    T = smallest(TAU, 7)[-1]
    assert r["kind"] == "exact" and r["check"] == "exact: ok"
    assert r["predicted"] == pytest.approx(T + KAPPA, rel=1e-12)
    assert r["measured"] == pytest.approx(T + KAPPA, rel=1e-9)
    T0 = smallest(TAU, 11)[-1]  # first round: init_batch 11
    assert r["predicted_time"] == pytest.approx(T0 + KAPPA + (K - 1) * (T + KAPPA))
    assert r["measured_time"] == pytest.approx(r["predicted_time"], rel=1e-9)
    assert r["rel_error"] <= 1e-9
    # t*(7) by its definition, and m*
    srt = sorted(TAU)
    values = [max(srt[k], 7 / sum(1 / t for t in srt[: k + 1])) for k in range(5)]
    assert r["t_star"] == pytest.approx(min(values), rel=1e-12)
    assert r["m_star"] == int(np.argmin(values)) + 1
    # Malenia with S = 3 ≤ n: T_M = max τ
    assert rows["malenia_nigt"]["predicted"] == pytest.approx(max(TAU) + KAPPA, rel=1e-12)
    assert rows["malenia_nigt"]["measured"] == pytest.approx(max(TAU) + KAPPA, rel=1e-9)
    # synchronous, b = 2 per worker
    assert rows["minibatch_sgd"]["measured"] == pytest.approx(2 * max(TAU) + KAPPA, rel=1e-9)
    assert rows["minibatch_sgd"]["check"] == "exact: ok"
    # ignore semantics: a bound, honoured
    assert rows["ignore"]["kind"] == "bound" and rows["ignore"]["check"] == "within bound"
    assert rows["ignore"]["predicted_low"] == pytest.approx(T + KAPPA, rel=1e-12)
    # ASGD: cycle c_i = τ_i + u_i, rate Σ 1/c_i, K-th update at the K-th smallest j·c_i
    c = [t + u for t, u in zip(TAU, UP, strict=True)]
    a = rows["asgd"]
    assert a["predicted"] == pytest.approx(sum(1 / x for x in c), rel=1e-12)
    assert a["predicted_time"] == pytest.approx(smallest(c, K)[-1], rel=1e-12)
    assert a["measured_time"] == pytest.approx(a["predicted_time"], rel=1e-9)
    assert a["measured"] == pytest.approx(K / smallest(c, K)[-1], rel=1e-9)


def test_exponential_times_say_no_closed_form(tmp_path, capsys):
    doc = fixed_doc()
    doc["workers"]["compute"] = {"model": "exponential", "mean": TAU}
    doc["workers"]["comm"] = {"aggregate": KAPPA}
    doc["stop"] = {"updates": 200}
    code, text, rows = run_theory(tmp_path, doc, capsys)
    assert code == 0
    for label in ("malenia_nigt", "minibatch_sgd", "ignore"):
        assert rows[label]["kind"] == "none"
        assert rows[label]["check"] == "no closed form"
        assert rows[label]["predicted"] is None and rows[label]["measured"] > 0
        assert f"{label}: no closed form" in text
    assert "malenia rounds with exponential times" in text
    # prediction 8: Poisson rate Λ = Σ 1/mean_i (asgd) and Gamma(M, Λ) rounds (Rennala)
    rate = sum(1 / t for t in TAU)
    assert rows["asgd"]["kind"] == "mean"
    assert rows["asgd"]["predicted"] == pytest.approx(rate, rel=1e-12)
    assert rows["rennala_sgd"]["predicted"] == pytest.approx(7 / rate + KAPPA, rel=1e-12)
    # z of the K-th update time; |z| ≤ 4 fails with probability 6.3e-5 per row (seed fixed)
    for label in ("asgd", "rennala_sgd"):
        assert abs(rows[label]["z"]) <= 4
        assert rows[label]["check"].startswith("z = ")


def test_no_closed_form_at_all_says_so_and_does_not_run(tmp_path, capsys):
    doc = fixed_doc()
    doc["workers"]["compute"] = {"model": "lognormal", "mean": TAU, "sigma": 0.3}
    code = main(["theory", str(write(tmp_path, doc)), "--out", str(tmp_path / "run")])
    text = capsys.readouterr().out
    assert code == 0
    for m in doc["methods"]:
        label = m.get("label", m["name"])
        assert f"{label}: no closed form: random times (lognormal)" in text
    assert "nothing to compare, not running it" in text
    assert not (tmp_path / "run").exists()


def test_speed_profiles_universal_model(tmp_path, capsys):
    doc = fixed_doc()
    doc["workers"]["compute"] = {
        "times": TAU,
        "speed": [{"workers": [1], "breakpoints": [0, 3.3, 7.1], "speeds": [1, 0.4, 1.7]}],
        "outages": [{"workers": [0], "start": 2.5, "end": 6.25}],
    }
    doc["methods"] = doc["methods"][:2]
    doc["stop"] = {"updates": 30}
    code, text, rows = run_theory(tmp_path, doc, capsys)
    assert code == 0
    assert rows["rennala_sgd"]["check"] == "exact: ok"
    assert rows["malenia_nigt"]["check"] == "no closed form"


def test_per_step_timing_fixed_length_and_variable_length():
    """LQR trajectories always take H steps: τ_i·H per gradient; gym episodes may end early:
    no closed form."""
    doc = fixed_doc()
    doc["workers"]["compute"] = {"per": "step", "times": TAU}
    doc["problem"] = {"kind": "lqr", "horizon": 6}
    from asyncnigt.scenario import parse_scenario

    sc = parse_scenario(doc)
    preds = {p.label: p for p in predict(sc, build_problem(sc, Streams(0)))}
    assert preds["minibatch_sgd"].value == pytest.approx(2 * 6 * max(TAU) + KAPPA, rel=1e-12)
    doc["problem"] = {"kind": "gym", "env": "Pendulum-v1", "horizon": 6}
    sc = parse_scenario(doc)
    preds = predict(sc, build_problem(sc, Streams(0)))
    assert all(p.kind == "none" and "trajectory lengths vary" in p.note for p in preds)


def test_ringmaster_closed_form_only_when_no_job_can_be_cancelled(tmp_path, capsys):
    doc = fixed_doc()
    doc["methods"] = [{"name": "ringmaster_asgd", "max_delay": 2, "label": "r2"},
                      {"name": "ringmaster_asgd", "max_delay": 50, "label": "r50"}]
    doc["stop"] = {"updates": 100}
    code, text, rows = run_theory(tmp_path, doc, capsys)
    assert code == 0
    assert rows["r2"]["check"] == "no closed form" and "may cancel" in rows["r2"]["note"]
    assert rows["r50"]["check"] == "exact: ok"


def test_a_wrong_prediction_is_reported_as_mismatch():
    """The checks can fail: an exact prediction off by 1e-6 and a violated bound."""
    times = np.array([1.0, 2.0, 3.0])
    wrong = Prediction("x", "rennala_sgd", "fixed", "round time", "exact", value=1.0,
                       first=1.0, times=lambda k: np.arange(1, k + 1) * (1 + 1e-6))
    bound = Prediction("y", "rennala_sgd", "fixed", "round time", "bound", first=1.0,
                       low=1.1, high=1.5)
    rows = [compare(wrong, times, None), compare(bound, times, None)]
    assert [r["check"] for r in rows] == ["MISMATCH", "OUT OF BOUND"]
    assert any_failed(rows)


def tiny(path: Path) -> list[str]:
    """Overrides that shrink a packaged scenario to a few updates."""
    doc = read_yaml(path)
    sets = ["stop.updates=3", "output.events=0"]
    if doc["problem"]["kind"] == "gym":
        sets += ["problem.horizon=10", "problem.eval_episodes=1"]
    return sets


@pytest.mark.filterwarnings("ignore::asyncnigt.errors.ScenarioWarning")
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_packaged_scenarios(path, tmp_path, capsys):
    """Every packaged scenario: one line per method, with a closed form that holds on a
    tiny run, or a clear "no closed form" with its reason."""
    out = tmp_path / "run"
    code = main(["theory", str(path), "--out", str(out),
                 *sum((["--set", s] for s in tiny(path)), [])])
    text = capsys.readouterr().out
    assert code == 0, text
    scenario = load_scenario(path, tiny(path))
    preds = predict(scenario, build_problem(scenario, Streams(scenario.seed)))
    for p in preds:
        assert p.label in text
        if p.kind == "none":
            assert p.note.startswith("no closed form: ") and f"{p.label}: {p.note}" in text
    if all(p.kind == "none" for p in preds):
        assert "not running it" in text and not out.exists()
        return
    _, rows = read_csv(out / "theory.csv")
    assert [r["label"] for r in rows] == [m.label for m in scenario.methods]
    for r in rows:
        assert r["check"] in ("exact: ok", "within bound", "no closed form") or (
            r["check"].startswith("z = "))


ROUND = ["rennala_sgd", "malenia_sgd", "minibatch_sgd", "rennala_nigt", "sync_pg"]
times_st = st.lists(st.floats(0.05, 5.0), min_size=1, max_size=6)


@settings(deadline=None, max_examples=60)
@given(times_st, st.integers(1, 30), st.integers(1, 30), st.sampled_from(ROUND),
       st.sampled_from(["fixed", "all", "contributors"]), st.booleans(), st.data())
def test_round_predictions_hold_for_any_fixed_times(tau, M, M0, method, agg, ignore, data):
    """Any fixed τ, batch, init batch, aggregation (κ, slowest link over all or over
    contributors), cancel or ignore: the report's check passes (or no closed form)."""
    n = len(tau)
    links = data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    aggregate = 0.3 if agg == "fixed" else {"model": "slowest_link", "over": agg}
    spec = {"name": method, "batch": M, "init_batch": M0,
            "in_flight": "ignore" if ignore else "cancel"}
    d = emulate_doc(tau, spec, stop={"updates": 4},
                    comm={"upload": links, "aggregate": aggregate})
    row = _checked(d)
    assert row["check"] in ("exact: ok", "within bound", "no closed form"), row
    if not ignore or method in ("minibatch_sgd", "sync_pg"):
        assert row["check"] == "exact: ok", row


@settings(deadline=None, max_examples=40)
@given(times_st, st.sampled_from(["asgd", "afedpg"]), st.data())
def test_stream_predictions_hold_for_any_fixed_times(tau, method, data):
    n = len(tau)
    up = data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    down = data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    d = emulate_doc(tau, method, stop={"updates": 30}, comm={"upload": up, "download": down})
    assert _checked(d)["check"] == "exact: ok"


def _checked(d: dict) -> dict:
    from asyncnigt.scenario import parse_scenario

    scenario = parse_scenario(d)
    pred = predict(scenario, build_problem(scenario, Streams(scenario.seed)))[0]
    run = emulate(d)
    return compare(pred, run.times, scenario.stop, int(run.rows[-1]["gradients_used"]))
