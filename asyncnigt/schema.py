"""A small declarative schema for validating YAML mappings with exact paths.

:class:`Param` describes one key (type, default, constraint, documentation);
:class:`Node` walks a mapping, takes keys one by one (filling defaults into a *resolved*
mirror that is written back as ``scenario.yaml``) and reports unknown keys.
Every error is a :class:`~asyncnigt.errors.ScenarioError` carrying the YAML path,
e.g. ``workers.compute.times[2]: must be > 0, got -1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import ScenarioError

REQUIRED = object()


def describe(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f"'{value}'"


@dataclass(frozen=True)
class Param:
    """One key: ``kind`` in {"int", "float", "bool", "str", "list", "map", "any"};
    ``low``/``high`` bounds (``low_open``: strict); ``choices`` for strings."""

    kind: str
    default: Any = REQUIRED
    doc: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple | None = None
    nullable: bool = False

    def check(self, value: Any, path: str) -> Any:
        if value is None and (self.nullable or self.default is None):
            return None
        return check_value(value, path, self.kind, self.low, self.high, self.low_open, self.choices)


def check_value(value, path, kind, low=None, high=None, low_open=False, choices=None):
    """Type- and range-check one scalar; returns the normalised value."""
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ScenarioError(path, f"must be an integer, got {describe(value)}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(path, f"must be a number, got {describe(value)}")
        value = float(value)
        if not math.isfinite(value):
            raise ScenarioError(path, f"must be finite, got {value}")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ScenarioError(path, f"must be true or false, got {describe(value)}")
    elif kind == "str":
        if not isinstance(value, str):
            raise ScenarioError(path, f"must be a string, got {describe(value)}")
        if choices is not None and value not in choices:
            raise ScenarioError(path, f"must be one of {', '.join(choices)}; got {describe(value)}")
    elif kind == "list":
        if not isinstance(value, list):
            raise ScenarioError(path, f"must be a list, got {describe(value)}")
    elif kind == "map":
        if not isinstance(value, dict):
            raise ScenarioError(path, f"must be a mapping, got {describe(value)}")
    if kind in ("int", "float"):
        if low is not None and (value <= low if low_open else value < low):
            raise ScenarioError(path, f"must be {'>' if low_open else '>='} {low:g}, got {value:g}")
        if high is not None and value > high:
            raise ScenarioError(path, f"must be <= {high:g}, got {value:g}")
    return value


def join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class Node:
    """A mapping being validated at ``path``; records what it resolved."""

    def __init__(self, data: Any, path: str = ""):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ScenarioError(path or "(top level)", f"must be a mapping, got {describe(data)}")
        for key in data:
            if not isinstance(key, str):
                raise ScenarioError(join(path, str(key)), "keys must be strings")
        self.data, self.path = data, path
        self.resolved: dict = {}
        self._taken: set[str] = set()

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None) -> Any:
        self._taken.add(key)
        return self.data.get(key, default)

    def take(self, key: str, param: Param) -> Any:
        self._taken.add(key)
        path = join(self.path, key)
        if key not in self.data:
            if param.default is REQUIRED:
                raise ScenarioError(path, f"is required ({param.doc or param.kind})")
            value = param.default
        else:
            value = param.check(self.data[key], path)
        self.resolved[key] = value
        return value

    def take_all(self, schema: dict[str, Param]) -> dict:
        out = {key: self.take(key, p) for key, p in schema.items()}
        self.finish(schema)
        return out

    def child(self, key: str) -> Node:
        self._taken.add(key)
        node = Node(self.data.get(key), join(self.path, key))
        self.resolved[key] = node.resolved
        return node

    def finish(self, expected=None) -> None:
        """Raise on any key not taken (a misspelling or an unsupported option)."""
        for key in self.data:
            if key not in self._taken:
                allowed = sorted(expected) if expected is not None else sorted(self._taken)
                hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
                raise ScenarioError(join(self.path, key), f"unknown key{hint}")
