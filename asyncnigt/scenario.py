"""Scenario files: the only module that sees raw YAML.

``load_scenario(path, overrides)`` reads a YAML file, applies ``--set KEY=VALUE``
overrides, validates every key (unknown keys and bad values raise
:class:`~asyncnigt.errors.ScenarioError` naming the YAML path) and returns a frozen
:class:`Scenario`. ``Scenario.resolved`` is the same document with every default filled
in; it is written next to the results as ``scenario.yaml`` and reproduces the run.
The full schema is documented in ``docs/scenarios.md``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ScenarioError
from .method_params import METHOD_PARAMS
from .methods import METHODS
from .problems import PROBLEMS, check_env_id
from .schema import Node, Param, check_value, join
from .sim.engine import StopRule
from .timing.spec import parse_aggregate, parse_durations, parse_link, parse_speeds


@dataclass(frozen=True)
class MethodConfig:
    name: str
    label: str
    params: dict


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    n: int
    per_step: bool
    compute: tuple
    speeds: tuple | None
    upload: tuple
    download: tuple
    aggregate: object
    problem_kind: str
    problem_params: dict
    methods: tuple[MethodConfig, ...]
    stop: StopRule
    eval_every: int | None
    eval_every_time: float | None
    targets: dict
    events: int
    resolved: dict = field(repr=False)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.resolved, sort_keys=False, allow_unicode=True)


# -- reading and overrides ----------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, stricter where YAML 1.1 silently surprises: a key repeated
    in one mapping is an error (not "last one wins"), and ``1e-3`` is a number (YAML 1.1
    wants ``1.0e-3`` and otherwise reads a string)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable: the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str):
    """Parse YAML ``text``; errors become a ScenarioError naming ``source``, line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.reader.ReaderError as err:  # a character YAML does not allow
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        char = err.character if isinstance(err.character, int) else ord(err.character)
        raise ScenarioError("", f"invalid YAML in {source} at line {line}, column {column}: "
                                f"{err.reason} (character U+{char:04X})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ScenarioError("", f"invalid YAML in {source}{where}: {problem}") from None


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "not found"
        raise ScenarioError("", f"scenario file {what}: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("", f"{path} is not a UTF-8 text file") from None
    except OSError as err:
        raise ScenarioError("", f"cannot read {path}: {err.strerror or err}") from None
    data = parse_yaml(text, str(path))
    if not isinstance(data, dict):
        kind = {list: "list", str: "string", bool: "boolean"}.get(type(data), "number")
        got = "an empty file" if data is None else f"a {kind}"
        raise ScenarioError("", f"{path}: the top level must be a mapping of keys, got {got}")
    return data


_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def parse_key(key: str) -> list:
    """``methods[0].step_size`` -> ["methods", 0, "step_size"]."""
    parts, pos = [], 0
    for m in _TOKEN.finditer(key):
        gap = key[pos:m.start()]
        if gap not in ("", ".") or (gap == "." and not parts):
            break
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(key) or not parts or not isinstance(parts[0], str):
        raise ScenarioError(f"--set {key}", "is not a key path like methods[0].step_size")
    return parts


def apply_override(doc: dict, assignment: str) -> dict:
    """Apply one ``KEY=VALUE`` (VALUE parsed as YAML) to a copy of ``doc``."""
    if "=" not in assignment:
        raise ScenarioError(f"--set {assignment}", "expected KEY=VALUE")
    key, text = assignment.split("=", 1)
    parts = parse_key(key.strip())
    try:
        value = parse_yaml(text, "the value")
    except ScenarioError as err:
        raise ScenarioError(f"--set {key}",
                            f"cannot parse value {text!r} ({err.message})") from None
    doc = copy.deepcopy(doc)
    target, path = doc, ""
    for part in parts[:-1]:
        path = join(path, part)
        if isinstance(part, int):
            if not isinstance(target, list) or part >= len(target):
                raise ScenarioError(f"--set {key}", f"{path} names nothing in the scenario")
            target = target[part]
        else:
            if not isinstance(target, dict):
                raise ScenarioError(f"--set {key}", f"{path} names nothing in the scenario")
            if target.get(part) is None:  # absent, or an empty `key:` in the file
                target[part] = {}
            target = target[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(target, list) or last >= len(target):
            raise ScenarioError(f"--set {key}", f"{join(path, last)} names nothing in the scenario")
    elif not isinstance(target, dict):
        raise ScenarioError(f"--set {key}", f"{path} names nothing in the scenario")
    target[last] = value
    return doc


def load_scenario(path, overrides=(), seed: int | None = None) -> Scenario:
    doc = read_yaml(path)
    for assignment in overrides:
        doc = apply_override(doc, assignment)
    if seed is not None:
        doc = {**doc, "seed": seed}
    return parse_scenario(doc, overrides)


# -- validation ------------------------------------------------------------------------

def parse_scenario(doc: dict, overrides=()) -> Scenario:
    try:
        return _parse(doc)
    except ScenarioError as err:
        for assignment in overrides:  # say so when the bad key came from --set
            key = assignment.split("=", 1)[0].strip()
            if err.path == key or err.path.startswith(key + ".") or err.path.startswith(key + "["):
                raise ScenarioError(f"--set {key}", err.message) from None
        raise


MAX_WORKERS = 100_000  # per-worker models and values are materialised while parsing

TOP = ("name", "seed", "workers", "problem", "methods", "stop", "evaluation", "targets", "output")


def _parse(doc: dict) -> Scenario:
    root = Node(doc)
    name = root.take("name", Param("str", "scenario"))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ScenarioError("name", "must be a file-name-safe word (letters, digits, _ . -), "
                                    f"got {name!r}")
    seed = root.take("seed", Param("int", 0, low=0))

    workers = root.child("workers")
    n = workers.take("n", Param("int", doc="number of workers", low=1, high=MAX_WORKERS))
    compute = workers.child("compute")
    if not compute.data:
        raise ScenarioError("workers.compute", "is required (per-worker computation times)")
    per = compute.take("per", Param("str", "gradient", choices=("gradient", "step")))
    speeds = parse_speeds(compute, n)
    compute_models = parse_durations(compute, n)
    for i, model in enumerate(compute_models):
        if model.mean == 0:  # such a worker would finish endlessly many jobs at one instant
            raise ScenarioError("workers.compute", f"worker {i} computes in zero time; "
                                "computation times must be > 0 (only communication is free)")
    compute.finish()
    comm = workers.child("comm")
    upload = parse_link(comm.raw("upload", 0.0), n, "workers.comm.upload")
    download = parse_link(comm.raw("download", 0.0), n, "workers.comm.download")
    aggregate = parse_aggregate(comm.raw("aggregate", 0.0), "workers.comm.aggregate")
    comm.resolved.update({key: comm.data.get(key, 0.0)
                          for key in ("upload", "download", "aggregate")})
    comm.finish(("upload", "download", "aggregate"))
    workers.finish(("n", "compute", "comm"))

    problem = root.child("problem")
    kind = problem.take("kind", Param("str", choices=tuple(PROBLEMS)))
    problem_params = {k: problem.take(k, p) for k, p in PROBLEMS[kind].schema.items()}
    problem.finish(("kind", *PROBLEMS[kind].schema))
    if kind == "gym":
        check_env_id(problem_params["env"], "problem.env")

    methods = _parse_methods(root, n)
    stop = _parse_stop(root.child("stop"))
    evaluation = root.child("evaluation")
    every_time = evaluation.take("every_time", Param(
        "float", None, "evaluate at the first update after each multiple of T virtual s",
        low=0, low_open=True))
    eval_every = evaluation.take("every", Param(
        "int", 1 if every_time is None else None, "evaluate every k updates", low=1))
    evaluation.finish()
    targets = _parse_targets(root.child("targets"))
    output = root.child("output")
    events = output.take("events", Param("int", 0, "record worker events of the first N updates",
                                         low=0))
    output.finish()
    root.finish(TOP)
    return Scenario(
        name, seed, n, per == "step", tuple(compute_models), tuple(speeds) if speeds else None,
        tuple(upload), tuple(download), aggregate, kind, problem_params, methods, stop,
        eval_every, every_time, targets, events, root.resolved,
    )


def _parse_methods(root: Node, n: int) -> tuple[MethodConfig, ...]:
    entries = root.raw("methods")
    if not isinstance(entries, list) or not entries:
        raise ScenarioError("methods", "must be a non-empty list of methods")
    out, labels, resolved = [], set(), []
    for j, entry in enumerate(entries):
        node = Node(entry, f"methods[{j}]")
        name = node.take("name", Param("str", choices=tuple(METHODS)))
        label = node.take("label", Param("str", name))
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", label):
            raise ScenarioError(f"methods[{j}].label",
                                f"must be a file-name-safe word, got {label!r}")
        if label in labels:
            raise ScenarioError(f"methods[{j}].label",
                                f"duplicate label {label!r}; give each method a unique label")
        labels.add(label)
        spec = METHODS[name]
        params = {k: node.take(k, METHOD_PARAMS[k]) for k in spec.params}
        node.finish(("name", "label", *spec.params))
        if name == "ringmaster_asgd" and params["max_delay"] is None:
            raise ScenarioError(f"methods[{j}].max_delay",
                                "is required for ringmaster_asgd (R >= 1)")
        if spec.aggregation == "malenia" and params["batch"] < 1:
            raise ScenarioError(f"methods[{j}].batch", "must be >= 1")
        out.append(MethodConfig(name, label, params))
        resolved.append(node.resolved)
    root.resolved["methods"] = resolved
    return tuple(out)


def _parse_stop(node: Node) -> StopRule:
    stop = StopRule(
        node.take("updates", Param("int", None, "number of updates", low=0)),
        node.take("time", Param("float", None, "virtual seconds", low=0, low_open=True)),
        node.take("gradients", Param("int", None, "gradients used", low=1)),
    )
    node.finish()
    if stop.updates is None and stop.time is None and stop.gradients is None:
        raise ScenarioError("stop", "give at least one of updates, time, gradients")
    return stop


def _parse_targets(node: Node) -> dict:
    out = {}
    for key in ("objective", "grad_norm"):
        values = node.take(key, Param("list", []))
        out[key] = tuple(check_value(v, join(join(node.path, key), j), "float")
                         for j, v in enumerate(values))
    node.finish()
    return out
