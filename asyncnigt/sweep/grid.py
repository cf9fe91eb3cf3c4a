"""Seeds and parameter grids of a sweep, and the names of grid cells.

``--seeds`` accepts ``A:B`` (seeds A, A+1, ..., B-1, as a Python range), a comma list
``0,3,7`` or one integer. ``--grid KEY=V1,V2,...`` takes a key path of ``--set``
(``methods[0].step_size``) and a comma-separated list of YAML values, read as the YAML
flow sequence ``[V1,V2,...]`` (so ``workers.compute.times=[1,2],[2,3]`` is two lists).

A cell is one combination of grid values (first ``--grid`` outermost). Its folder name
is ``key=value`` pairs joined by ``,`` (``step_size=0.1,batch=20``): each key is the
shortest trailing part of its path that tells the grid keys apart, each value its
compact JSON form; characters outside ``[A-Za-z0-9_.+-]`` become ``_``. Names are a pure
function of the grid, so they are the same on every machine and every resume.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass

import yaml

from ..errors import ScenarioError
from ..scenario import parse_key

DEFAULT_CELL = "default"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")
_MAX_NAME = 120
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


@dataclass(frozen=True)
class GridAxis:
    key: str          # the key path as given, e.g. methods[0].step_size
    values: tuple     # YAML values, in the order given


@dataclass(frozen=True)
class Cell:
    name: str                        # folder name
    values: tuple[tuple[str, object], ...]  # (key, value) per grid axis

    def assignments(self) -> list[str]:
        """``KEY=VALUE`` overrides for this cell (VALUE in YAML, read back exactly)."""
        return [f"{key}={_yaml_text(value)}" for key, value in self.values]


def parse_seeds(text: str) -> tuple[int, ...]:
    """``0:5`` -> (0, 1, 2, 3, 4); ``1,4`` -> (1, 4); ``3`` -> (3,)."""
    text = text.strip()
    try:
        if ":" in text:
            lo, hi = (int(p) for p in text.split(":", 1))
            seeds = tuple(range(lo, hi))
        else:
            seeds = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise ScenarioError("--seeds", f"expected A:B, a comma list or an integer, got {text!r}"
                            ) from None
    if not seeds:
        raise ScenarioError("--seeds", f"{text!r} is an empty range (A:B means A, ..., B-1)")
    if min(seeds) < 0:
        raise ScenarioError("--seeds", f"seeds must be >= 0, got {min(seeds)}")
    if len(set(seeds)) != len(seeds):
        raise ScenarioError("--seeds", f"repeated seed in {text!r}")
    return seeds


def parse_axis(text: str) -> GridAxis:
    """``KEY=V1,V2,...`` -> :class:`GridAxis`; the key path is checked here, the
    values when the scenario of each cell is validated."""
    if "=" not in text:
        raise ScenarioError(f"--grid {text}", "expected KEY=V1,V2,...")
    key, values_text = (s.strip() for s in text.split("=", 1))
    try:
        parse_key(key)
    except ScenarioError:
        raise ScenarioError(f"--grid {key}", "is not a key path like methods[0].step_size"
                            ) from None
    try:
        values = yaml.safe_load(f"[{values_text}]")
    except yaml.YAMLError:
        raise ScenarioError(f"--grid {key}", f"cannot parse values {values_text!r}") from None
    if not values_text or not values:
        raise ScenarioError(f"--grid {key}", "give at least one value")
    values = [_number(v) for v in values]
    if len({value_text(v) for v in values}) != len(values):
        raise ScenarioError(f"--grid {key}", f"repeated value in {values_text!r}")
    return GridAxis(key, tuple(values))


def parse_grid(texts) -> tuple[GridAxis, ...]:
    axes = tuple(parse_axis(t) for t in texts)
    keys = [a.key for a in axes]
    for key in keys:
        if keys.count(key) > 1:
            raise ScenarioError(f"--grid {key}", "is given twice")
    return axes


def _number(value):
    """``1e-5`` as a number: YAML 1.1 reads exponents without a dot as strings."""
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)
    return value


def _yaml_text(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9)
    return text.removesuffix("\n...\n").strip()


def value_text(value) -> str:
    """Compact, canonical JSON of a grid value (also valid YAML)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def short_keys(keys) -> list[str]:
    """For each key path, its shortest trailing part that no other key shares."""
    paths = [_tokens(parse_key(k)) for k in keys]

    def suffix(parts, n):
        return ".".join(parts[-n:])

    out = []
    for j, parts in enumerate(paths):
        for n in range(1, len(parts) + 1):
            mine = suffix(parts, n)
            if all(suffix(other, n) != mine for i, other in enumerate(paths) if i != j):
                break
        out.append(_UNSAFE.sub("_", mine))
    return out


def _tokens(parts) -> list[str]:
    """["methods", 0, "step_size"] -> ["methods0", "step_size"]."""
    out = []
    for p in parts:
        if isinstance(p, int):
            out[-1] += str(p)
        else:
            out.append(p)
    return out


def cells(axes) -> tuple[Cell, ...]:
    """Every combination of grid values, first axis outermost, with unique names."""
    if not axes:
        return (Cell(DEFAULT_CELL, ()),)
    shorts = short_keys([a.key for a in axes])
    out = []
    for combo in itertools.product(*(a.values for a in axes)):
        pairs = zip(shorts, combo, strict=True)
        name = ",".join(f"{s}={_UNSAFE.sub('_', _name_value(v))}" for s, v in pairs)
        out.append(Cell(name, tuple(zip((a.key for a in axes), combo, strict=True))))
    return _unique(out)


def _name_value(value) -> str:
    return value if isinstance(value, str) else value_text(value)


def _unique(found: list[Cell]) -> tuple[Cell, ...]:
    """Append a hash of the values to names that are too long or not unique."""
    names = [c.name for c in found]
    out = []
    for c in found:
        if len(c.name) > _MAX_NAME or names.count(c.name) > 1 or c.name.startswith("."):
            digest = hashlib.sha1(value_text([list(v) for v in c.values]).encode()).hexdigest()[:10]
            c = Cell(f"{c.name[:_MAX_NAME].lstrip('.')}-{digest}", c.values)
        out.append(c)
    return tuple(out)
