"""Fuzzing the scenario loader: whatever document, YAML text or ``--set`` override it is
given, it either accepts it or raises :class:`~asyncnigt.errors.ScenarioError`, never
anything else (a traceback on bad input is a bug).

Documents start from valid ones (the packaged scenarios and synthetic documents using
every timing model, link, aggregation, problem kind and method) and are mutated: keys
deleted, inserted or renamed, values replaced by random scalars (huge ints, NaN, inf,
booleans, strings, None) or containers, subtrees nested deeply, YAML text cut and
spliced. An accepted scenario must reproduce itself from its resolved form, build its
problem (non-gym kinds) or fail with a ScenarioError, and, when small, run a few updates
without an exception. Hypothesis runs derandomized, so CI sees the same examples.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from asyncnigt.build import build_problem
from asyncnigt.errors import ScenarioError
from asyncnigt.methods import METHODS
from asyncnigt.runner import run_method
from asyncnigt.scenario import apply_override, parse_scenario, parse_yaml, read_yaml
from asyncnigt.seeding import Streams

ROOT = Path(__file__).resolve().parents[1]


def _packaged() -> list[dict]:
    """The packaged scenarios as seeds (their validity is tests/test_packaged_scenarios'
    business; a file that does not even read is skipped)."""
    docs = []
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        try:
            docs.append(read_yaml(path))
        except ScenarioError:
            pass
    return docs


PACKAGED = _packaged()

SYNTHETIC = [
    {
        "name": "fixed-round",
        "seed": 3,
        "workers": {"n": 3, "compute": {"times": [1.0, 1.5, 2.0],
                                        "speed": [{"workers": [0], "breakpoints": [0, 2],
                                                   "speeds": [1.0, 0.5]}],
                                        "outages": [{"workers": [1], "start": 1, "end": 2}]},
                    "comm": {"upload": 0.1, "download": [0.0, 0.1, 0.2],
                             "aggregate": {"model": "slowest_link", "over": "contributors"}}},
        "problem": {"kind": "quadratic", "dim": 3, "noise": 0.1, "heterogeneity": 0.5},
        "methods": [{"name": "rennala_nigt", "batch": 4, "momentum": 0.5},
                    {"name": "malenia_sgd", "label": "ms", "in_flight": "ignore"},
                    {"name": "sync_nigt", "init_batch": 2}],
        "stop": {"updates": 4, "time": 50.0},
        "evaluation": {"every": 2},
        "targets": {"objective": [0.5], "grad_norm": [0.1]},
        "output": {"events": 2},
    },
    {
        "name": "random-stream",
        "workers": {"n": 4, "compute": {"model": "gamma", "shape": 2.0,
                                        "mean": {"preset": "sqrt", "scale": 0.5}},
                    "comm": {"upload": {"latency": 0.01, "bandwidth": 1e6},
                             "download": {"model": "exponential", "mean": 0.05}}},
        "problem": {"kind": "chain", "dim": 4, "noise": 0.2},
        "methods": [{"name": "asgd", "delay_adaptive": True},
                    {"name": "ringmaster_asgd", "max_delay": 2},
                    {"name": "afedpg", "momentum_schedule": "delay_adaptive"}],
        "stop": {"gradients": 8},
        "evaluation": {"every_time": 1.5},
    },
    {
        "name": "lqr-trace",
        "workers": {"n": 2, "compute": {"per": "step", "model": "trace", "mode": "replay",
                                        "samples": [[0.01, 0.02], [0.03]]},
                    "comm": {"aggregate": {"model": "ring_allreduce", "latency": 0.01,
                                           "bandwidth": 1e5}}},
        "problem": {"kind": "lqr", "state_dim": 2, "action_dim": 1, "horizon": 5,
                    "worker_matrices": [{"Q": [[2.0, 0.0], [0.0, 1.0]]}, {}]},
        "methods": [{"name": "rennala_pg", "batch": 2}, {"name": "sync_pg"},
                    {"name": "minibatch_sgd"}, {"name": "rennala_sgd"}],
        "stop": {"updates": 3},
    },
    {
        "name": "models",
        "workers": {"n": 2, "compute": {"model": "jitter", "base": 1.0, "jitter": 0.1,
                                        "kind": "exponential"},
                    "comm": {"upload": {"model": "lognormal", "mean": 0.1, "sigma": 0.5},
                             "download": {"model": "uniform", "low": 0.0, "high": 0.1},
                             "aggregate": {"model": "fixed", "kappa": 0.2}}},
        "problem": {"kind": "lqr", "matrices": {"A": [[0.9]], "B": [[1.0]]}, "horizon": 4},
        "methods": [{"name": "malenia_nigt"}],
        "stop": {"time": 5.0},
    },
    {
        "name": "shifted",
        "workers": {"n": 2, "compute": {"model": "shifted_exponential", "shift": 0.5,
                                        "mean": [1.0, 2.0]}},
        "problem": {"kind": "gym", "env": "Pendulum-v1", "horizon": 5,
                    "policy": {"hidden_sizes": [4]}},
        "methods": [{"name": "rennala_nigt"}],
        "stop": {"updates": 1},
    },
]
SEEDS = PACKAGED + SYNTHETIC

# words the loader knows, so that mutations often reach deep validation code
VOCAB = sorted({
    *METHODS, "fixed", "exponential", "shifted_exponential", "gamma", "lognormal", "uniform",
    "jitter", "trace", "equal", "sqrt", "linear", "all", "contributors", "slowest_link",
    "ring_allreduce", "quadratic", "chain", "lqr", "gym", "gradient", "step", "cancel",
    "ignore", "replay", "resample", "halfnormal", "constant", "delay_adaptive",
    "CartPole-v1", "Pendulum-v1", "NoSuchEnv-v0", "times", "mean", "preset", "scale", "n",
    "batch", "step_size", "momentum", "max_delay", "dim", "kind", "model", "samples",
    "breakpoints", "speeds", "workers", "start", "end", "latency", "bandwidth", "bytes",
    "every", "every_time", "events", "objective", "grad_norm", "matrices", "A", "B",
    "worker_matrices", "worker_env_kwargs", "negate_observation_workers", "policy",
    "hidden_sizes", "label", "init_batch", "in_flight", "updates", "time", "gradients",
})

SPECIAL_INTS = [0, 1, -1, 2, 3, 1000, 10**5 + 1, 2**31, 2**63, 2**64, 10**30, -(10**30)]
SPECIAL_FLOATS = [0.0, -0.0, 0.5, 1.0, -1.0, 1e-320, 1e-300, 1e300, 1.7e308, math.inf,
                  -math.inf, math.nan]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(SPECIAL_INTS),
    st.integers(-5, 50),
    st.sampled_from(SPECIAL_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(VOCAB),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(VOCAB), scalars),
                                            inner, max_size=3)),
    max_leaves=8,
)


def paths(node, prefix=()):
    """Every (path to a container, key or index in it) of a document."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield prefix, key
            yield from paths(child, (*prefix, key))
    elif isinstance(node, list):
        for j, child in enumerate(node):
            yield prefix, j
            yield from paths(child, (*prefix, j))


def containers(node, prefix=()):
    if isinstance(node, (dict, list)):
        yield prefix
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            yield from containers(child, (*prefix, key))


def at(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def nest(value, depth):
    for j in range(depth):
        value = [value] if j % 2 else {"n": value}
    return value


def perturbed(draw, value):
    """A value of the same kind (a number for a number, a known word for a string)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return draw(st.one_of(st.sampled_from(SPECIAL_INTS), st.integers(-3, 3).map(
            lambda k: value + k)))
    if isinstance(value, float):
        return draw(st.one_of(st.sampled_from(SPECIAL_FLOATS),
                              st.floats(-3, 3).map(lambda f: value * f)))
    if isinstance(value, str):
        return draw(st.one_of(st.sampled_from(VOCAB), st.just(value.upper()),
                              st.just(value + "x")))
    if isinstance(value, list):
        return value[1:] if draw(st.booleans()) else value + value[-1:]
    return draw(values)


OPS = ["perturb"] * 4 + ["replace"] * 2 + ["delete", "insert", "nest", "wrap", "stringify",
                                           "top"]


@st.composite
def mutated(draw, most: int = 4):
    """A valid seed document with one to ``most`` random edits."""
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, most))):
        op = draw(st.sampled_from(OPS))
        if op == "top":
            doc = draw(st.one_of(values, st.just([doc]), st.just({"scenario": doc})))
            continue
        spots = list(paths(doc))
        if op == "insert" or not spots:
            where = at(doc, draw(st.sampled_from(list(containers(doc)) or [()])))
            if isinstance(where, dict):
                where[draw(st.one_of(st.sampled_from(VOCAB), scalars))] = draw(values)
            elif isinstance(where, list):
                where.insert(draw(st.integers(0, len(where))), draw(values))
            continue
        parent_path, key = draw(st.sampled_from(spots))
        parent = at(doc, parent_path)
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(values)
        elif op == "perturb":
            parent[key] = perturbed(draw, parent[key])
        elif op == "nest":
            parent[key] = nest(parent[key], draw(st.integers(1, 60)))
        elif op == "wrap":
            parent[key] = [parent[key]]
        else:
            parent[key] = str(parent[key])
    return doc


def check_accepted(sc, run: bool = False) -> None:
    """An accepted scenario reproduces itself, builds or says why not, and runs."""
    text = sc.to_yaml()
    assert parse_scenario(parse_yaml(text, "resolved")).to_yaml() == text
    if sc.problem_kind == "gym" or not _small(sc):
        return
    try:
        problem = build_problem(sc, Streams(sc.seed))
    except ScenarioError:
        return
    if run and sc.n <= 8 and _bounded_spread(sc) and all(
            _int(m.params.get("batch")) <= 64 and _int(m.params.get("init_batch")) <= 64
            for m in sc.methods):
        streams = Streams(sc.seed)
        theta0 = problem.initial_point(streams.generator("init"))
        for config in sc.methods:
            result = run_method(sc, config, problem, streams, theta0)
            assert result.status in ("ok", "numerical_error")
            assert result.rows or result.status == "numerical_error"


# A Malenia round waits for every worker, so its fastest one computes about
# max_i τ_i / min_i τ_i gradients per round: a mutation to times [1e-320, 10] (valid, and
# faithfully emulated) would need ~1e321 events. The run check keeps to spreads it can
# afford.
MAX_SPREAD = 1e4


def _bounded_spread(sc) -> bool:
    means = [m.mean for m in sc.compute]
    return max(means) <= MAX_SPREAD * min(means)


def _int(value) -> int:
    return 0 if value is None else value


def _small(sc) -> bool:
    p = sc.problem_params
    if sc.problem_kind in ("quadratic", "chain"):
        return p["dim"] <= 10_000
    return p["state_dim"] * p["action_dim"] <= 400 and p["horizon"] <= 1000


def accepts_or_scenario_error(parse, *args, run=False):
    try:
        sc = parse(*args)
    except ScenarioError as err:
        assert str(err), "a ScenarioError must say what is wrong"
        assert "\n" not in str(err), f"the message must be one line: {err!r}"
        event(f"rejected at {err.path.split('.')[0].split('[')[0] or 'file level'}")
        return None
    event("accepted")
    check_accepted(sc, run)
    return sc


# CI: 800 derandomized examples per test (the same ones every time). For a longer,
# random hunt: ASYNCNIGT_FUZZ_EXAMPLES=50000 python -m pytest tests/test_fuzz_scenarios.py
LONG = int(os.environ.get("ASYNCNIGT_FUZZ_EXAMPLES", 0))
FUZZ = settings(max_examples=LONG or 800, deadline=None, derandomize=not LONG, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


@pytest.fixture(autouse=True)
def quiet(recwarn):
    """Heterogeneity warnings of accepted scenarios are expected; they are collected."""


def test_synthetic_seed_documents_are_valid():
    assert PACKAGED, "the packaged scenarios are seeds too"
    for doc in SYNTHETIC:
        check_accepted(parse_scenario(copy.deepcopy(doc)), run=doc["problem"]["kind"] != "gym")


@FUZZ
@given(mutated())
def test_mutated_documents(doc):
    accepts_or_scenario_error(parse_scenario, doc)


@settings(FUZZ, max_examples=LONG // 2 or 500)
@given(mutated(most=2))
def test_mutated_documents_that_are_accepted_also_run(doc):
    if isinstance(doc, dict) and isinstance(doc.get("stop"), dict):
        doc["stop"] = {"updates": 3}  # a few updates, whatever else the mutation chose
    accepts_or_scenario_error(parse_scenario, doc, run=True)


@st.composite
def yaml_texts(draw):
    """The YAML text of a seed document, cut and spliced at random places."""
    text = yaml.safe_dump(draw(st.sampled_from(SEEDS)), sort_keys=False)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 20)))
        insert = draw(st.one_of(
            st.just(""),
            st.sampled_from([":", "- ", "\n", "  ", "\t", "[", "]", "{", "}", "&a ", "*a",
                             "!!python/object:os.system ", "? ", "'", '"', "#", "---\n",
                             ".nan", ".inf", "1e-3", "~", "\x00", "\ufeff", "<<: *a\n"]),
            st.text(max_size=6)))
        text = text[:i] + insert + text[j:]
    return text


def parse_text(text):
    return parse_scenario(parse_yaml(text, "fuzz.yaml"))


@FUZZ
@given(yaml_texts())
def test_mangled_yaml_text(text):
    accepts_or_scenario_error(parse_text, text)


@st.composite
def overrides(draw):
    """``--set`` assignments: real key paths of a seed with values of the same kind, or
    mangled paths and random value strings."""
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    sets = []
    for _ in range(draw(st.integers(1, 3))):
        parent, key = draw(st.sampled_from(list(paths(doc))))
        path = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in (*parent, key))
        path = path.lstrip(".")
        if draw(st.booleans()):
            value = perturbed(draw, at(doc, (*parent, key)))
            text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...")
            sets.append(f"{path}={text.strip()}")
            continue
        path = draw(st.one_of(
            st.just(path),
            st.just(path + ".x"), st.just(path + "[7]"), st.just(path + "[-1]"),
            st.just(path.replace(".", "..", 1)), st.just("[0]" + path),
            st.just(path + "=" + path),
            st.text(max_size=12),
        ))
        value = draw(st.one_of(
            st.sampled_from(["", "1", "-1", "0", "1e-3", "1e400", ".nan", ".inf", "-.inf",
                             "true", "~", "[1, 2", "{a: 1}", "[]", "{}", "'x'", "*a",
                             "!!binary x", "2**64", "18446744073709551616", "a: b: c",
                             "- 1\n- 2", "\t", "rennala_sgd", "sqrt"]),
            st.text(max_size=10),
        ))
        sets.append(draw(st.sampled_from([f"{path}={value}", path, f"{path} = {value}"])))
    return doc, sets


def apply_and_parse(doc, sets):
    for assignment in sets:
        doc = apply_override(doc, assignment)
    return parse_scenario(doc, sets)


@FUZZ
@given(overrides())
def test_random_set_overrides(case):
    doc, sets = case
    accepts_or_scenario_error(apply_and_parse, doc, sets)


@settings(FUZZ, max_examples=50)
@given(st.sampled_from([[1, 2], 5, "text", None, 1.5, True, [], "- a\n- b"]))
def test_top_level_that_is_not_a_mapping(top):
    with pytest.raises(ScenarioError):
        parse_scenario(top)
