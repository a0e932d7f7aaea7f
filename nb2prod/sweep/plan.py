"""The parameter sets of a sweep, typed and checked before any kernel starts.

A sweep's sets come from a grid (``-g name=v1,v2``: the cartesian product of every grid, in the
order given), from a list of sets (``--params-file``), or both (every listed set crossed with the
grid); fixed values (``-p``) go into every set. Values are typed exactly as ``nb2prod run`` types
them: a ``-g``/``-p`` text by its parameter's type (``nb2prod.params.convert``), a value from a
file checked against it. Every set is resolved against the notebook's ``parameters`` cell here, so
one bad value stops the sweep (exit 2) before anything runs or is written.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ParameterError, UsageError
from ..notebook import read_notebook
from ..params import ParameterValues, notebook_parameters, resolve

#: More sets than this is almost certainly a mistyped grid (and a sweep.json nobody can read).
MAX_SETS = 10_000


@dataclass(frozen=True)
class SweepSets:
    """The checked sets of a sweep: each one the typed values of the parameters it sets (defaults left out)."""

    notebook: str
    sets: tuple[dict[str, Any], ...]
    swept: tuple[str, ...]  # the names whose values differ between sets


def parse_grid(texts: Sequence[str]) -> dict[str, list[str]]:
    """``["lr=0.1,0.01", "depth=3,5"]`` as ``{"lr": ["0.1", "0.01"], "depth": ["3", "5"]}``.

    Values are split on commas outside brackets and quotes, so ``-g layers=[64,32],[128]`` is two
    lists. A name given twice is an error (the product would be ambiguous).
    """
    grid: dict[str, list[str]] = {}
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise UsageError(f"-g {text!r}: expected NAME=VALUE1,VALUE2,...", hint="for example -g learning_rate=0.1,0.01")
        if name in grid:
            raise UsageError(f"-g {name} is given twice", hint="list all its values in one -g")
        grid[name] = _split_values(values)
    return grid


def _split_values(text: str) -> list[str]:
    """Split on top-level commas: not inside ``[]``, ``{}``, ``()`` or quotes."""
    values, current, depth, quote = [], "", 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(current)
            current = ""
            continue
        current += char
    values.append(current)
    return values


def plan_sets(
    notebook: str | os.PathLike[str],
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    grid_strings: Mapping[str, Sequence[str]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    strings: Mapping[str, str] | None = None,
    parameter_sets: Sequence[Mapping[str, Any]] | None = None,
    sets_source: str | None = None,
) -> SweepSets:
    """Every parameter set of a sweep over ``notebook``, typed and checked against its parameters cell.

    ``grid``/``parameters``/``parameter_sets`` hold typed values (checked as a parameters file's
    are); ``grid_strings``/``strings`` hold command-line texts (converted as ``-p`` is). Raises
    ``ParameterError`` naming the set for a bad value, ``UsageError`` when there is nothing to
    sweep, a set repeats another, or the product is too large.
    """
    shown = os.fspath(notebook)
    declared = notebook_parameters(read_notebook(Path(notebook), display_path=shown))
    axes: list[list[tuple[dict[str, Any], dict[str, str]]]] = []
    for name, values in (grid or {}).items():
        axes.append([({name: value}, {}) for value in _non_empty(name, values)])
    for name, texts in (grid_strings or {}).items():
        axes.append([({}, {name: text}) for text in _non_empty(name, texts)])
    listed = [dict(entry) for entry in parameter_sets] if parameter_sets is not None else [{}]
    for index, entry in enumerate(listed):
        if not isinstance(entry, Mapping):
            raise ParameterError(f"set {index + 1} is not a mapping of parameter names to values", path=sets_source)
    size = len(listed)
    for axis in axes:
        size *= len(axis)
    if not size:
        raise UsageError("the parameters file lists no sets", path=sets_source) if parameter_sets is not None else UsageError("no sets")
    if size > MAX_SETS:
        raise UsageError(f"the sweep has {size:,} sets, more than {MAX_SETS:,}", hint="sweep fewer values at a time")
    if parameter_sets is None and not axes:
        raise UsageError("nothing to sweep", hint="give -g NAME=V1,V2 (repeatable) or --params-file with a list of parameter sets")
    sets: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, (entry, combination) in enumerate(itertools.product(listed, itertools.product(*axes)), start=1):
        values = {**(parameters or {}), **entry}
        texts = dict(strings or {})
        for typed, text in combination:
            values.update(typed)
            texts.update(text)
        where = f"set {number} ({describe({**values, **texts})})"
        try:
            source = ParameterValues(values, source=sets_source) if sets_source and entry else values
            resolved = resolve(declared, strings=texts, values=source)
        except ParameterError as error:
            raise ParameterError(f"{where}: {error.message}", path=error.path or shown, hint=error.hint) from None
        given = {name: resolved[name] for name in resolved if name in values or name in texts}
        key = json.dumps(given, sort_keys=True, default=repr)
        if key in seen:
            raise UsageError(f"{where} repeats set {seen[key]}", path=sets_source or shown, hint="list each set once")
        seen[key] = number
        sets.append(given)
    swept = tuple(
        name for name in dict.fromkeys(n for s in sets for n in s) if len({json.dumps(s.get(name), default=repr) for s in sets}) > 1
    )
    return SweepSets(shown, tuple(sets), swept)


def _non_empty(name: str, values: Sequence[Any]) -> Sequence[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise UsageError(f"the grid of '{name}' needs a list of values")
    return values


def describe(values: Mapping[str, Any], *, width: int = 60) -> str:
    """``lr=0.1, depth=3``: a set as one short line."""
    text = ", ".join(
        f"{name}={json.dumps(value, ensure_ascii=False, default=repr) if not isinstance(value, str) else value}"
        for name, value in values.items()
    )
    return text if len(text) <= width else text[: width - 1] + "…"


def load_sets_file(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The parameter sets of a YAML/JSON file holding a list of mappings (read as ``run``'s parameters file is, with its caps)."""
    from ..run.plan import read_values_file

    shown = os.fspath(path)
    data = read_values_file(path)
    if not isinstance(data, list) or not all(isinstance(entry, dict) and all(isinstance(k, str) for k in entry) for entry in data):
        raise ParameterError(
            "a sweep's parameters file holds a list of parameter sets",
            path=shown,
            hint="write one `- name: value` mapping per set (YAML) or a JSON list of objects",
        )
    return data
