"""Reading run records: list, compare and check runs (``nb2prod runs``).

Every function here returns data; ``nb2prod.cli.runs`` prints it. Runs are found with
``nb2prod.records``: by id, unique id prefix, path or ``latest``.

- ``list_runs`` filters the records of a runs folder by notebook, status and sweep, newest first
  (damaged records included, as ``DamagedRecord``: one bad ``run.json`` never hides the others);
- ``sweep_runs`` is the runs of one sweep (their ``run.json`` names it), in the order they started;
- ``compare_runs`` lines up the parameters and metrics of several runs, marks the rows that differ
  and gives numeric metric deltas against the first run;
- ``check_run`` evaluates threshold expressions such as ``accuracy>=0.9`` against a run's metrics:
  the CI gate. A missing metric fails its check, and so does a run whose status is not ``ok``.
"""

from __future__ import annotations

import json
import math
import operator
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError
from .records import DEFAULT_RUNS_DIR, STATUSES, DamagedRecord, RunRecord, scan_records

#: The comparison operators of ``check`` expressions, two-character ones first (for the parser).
OPERATORS: Mapping[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_ORDERING = frozenset({">=", "<=", ">", "<"})
_EXPRESSION = re.compile(r"^\s*(?P<name>[^\s<>=!]+)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>.*?)\s*$")
#: What a user most likely meant by an operator the grammar does not have.
_MISSPELT_OPERATORS = {"=": "==", "=<": "<=", "=>": ">=", "=!": "!=", "<>": "!=", "===": "=="}
_EXPRESSION_HINT = "write NAME OP VALUE with OP one of >= <= > < == !=, for example 'accuracy>=0.9'"


class _Missing:
    """The value of a parameter or metric that a run does not have (distinct from a recorded None)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (booleans are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- list -----------------------------------------------------------------------------------------


def list_runs(
    runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR,
    *,
    notebook: str | None = None,
    status: str | None = None,
    sweep: str | None = None,
    limit: int | None = None,
) -> list[RunRecord | DamagedRecord]:
    """The runs under ``runs_dir``, newest first, filtered by notebook (stem, file name or path), status and sweep id.

    A ``run.json`` that cannot be read is a ``DamagedRecord`` in the list, in its run folder's
    place; a status or sweep filter leaves damaged records out (their status and sweep are
    unknown). No runs at all is an empty list. Raises ``UsageError`` for an unknown status or a
    limit below 1, ``RecordError`` when ``runs_dir`` is not a folder.
    """
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status '{status}'", hint="one of " + ", ".join(STATUSES))
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    selected = [entry for entry in scan_records(runs_dir) if _selected(entry, notebook=notebook, status=status, sweep=sweep)]
    return selected[:limit] if limit is not None else selected


def sweep_runs(sweep_id: str, runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> list[RunRecord]:
    """The runs of the sweep ``sweep_id`` under ``runs_dir`` (each run's ``run.json`` names its sweep), oldest first.

    Every attempt is there: a set that failed and then succeeded on ``--resume`` has two runs.
    Damaged records are left out (which sweep they belong to cannot be read); no runs is an empty list.
    """
    return [entry for entry in reversed(scan_records(runs_dir)) if isinstance(entry, RunRecord) and entry.sweep == sweep_id]


def _selected(entry: RunRecord | DamagedRecord, *, notebook: str | None, status: str | None, sweep: str | None = None) -> bool:
    if isinstance(entry, DamagedRecord):
        return status is None and sweep is None and (notebook is None or Path(notebook).stem == entry.directory.parent.name)
    return (
        (status is None or entry.status == status)
        and (sweep is None or entry.sweep == sweep)
        and (notebook is None or notebook_matches(entry, notebook))
    )


def notebook_matches(record: RunRecord, name: str) -> bool:
    """Whether ``name`` names the record's notebook: its stem (``train``), file name, path, or run folder."""
    recorded = Path(record.notebook)
    if name in (recorded.stem, recorded.name) or os.path.normpath(name) == os.path.normpath(record.notebook):
        return True
    if record.directory is not None and name == record.directory.parent.name:
        return True
    return Path(name).exists() and recorded.exists() and Path(name).resolve() == recorded.resolve()


def key_parameters(records: Sequence[RunRecord]) -> list[str]:
    """Parameter names of ``records``: those whose values differ between the runs first, then the others.

    Within each group, names keep the order in which they first appear.
    """
    return _differing_first([record.parameters for record in records])


def key_metrics(records: Sequence[RunRecord]) -> list[str]:
    """Metric names of ``records``, ordered like ``key_parameters``."""
    return _differing_first([record.metrics for record in records])


def _differing_first(mappings: Sequence[Mapping[str, Any]]) -> list[str]:
    names = _names(mappings)
    differing = [name for name in names if _differs([mapping.get(name, MISSING) for mapping in mappings])]
    return differing + [name for name in names if name not in differing]


def _names(mappings: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of ``mappings``, in order of first appearance."""
    return list(dict.fromkeys(name for mapping in mappings for name in mapping))


def _differs(values: Sequence[Any]) -> bool:
    """Whether the values are not all the same (a missing value differs from any value)."""
    first = values[0]
    return any(not _same(first, value) for value in values[1:])


def _same(left: Any, right: Any) -> bool:
    """Equality that tells ``True`` from ``1`` and a missing value from ``None``."""
    if left is MISSING or right is MISSING:
        return left is right
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


# --- display helpers ------------------------------------------------------------------------------


def format_value(value: Any, *, width: int | None = 40) -> str:
    """A short, readable form of a parameter or metric value; cut to ``width`` characters (None: never).

    A float keeps its decimal point (``1.0``, not ``1``): an int and a float parameter look different.
    """
    if value is MISSING:
        text = "—"
    elif isinstance(value, float):
        text = _short_float(value) if width is not None else repr(value)
    elif isinstance(value, str):
        text = value if value and not any(ch.isspace() or ch in ",=\"'" for ch in value) else json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":") if width is not None else (", ", ": "))
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def format_delta(delta: float | None) -> str:
    """A signed, short form of a numeric difference (empty when there is none); a float stays a float (``+1.0``)."""
    if delta is None:
        return ""
    return f"{delta:+d}" if isinstance(delta, int) else _short_float(delta, sign="+")


def _short_float(value: float, *, sign: str = "") -> str:
    """Six significant digits, still recognisably a float: ``1.0`` (not ``1``), ``0.123457``, ``1e+20``, ``nan``."""
    text = f"{value:{sign}.6g}"
    return text if any(ch in text for ch in ".en") else text + ".0"


def format_duration(seconds: float | None) -> str:
    """``0.8 s``, ``12.3 s``, ``2 m 05 s``, ``1 h 02 m``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def describe_error(record: RunRecord) -> str:
    """The record's error as ``ename: evalue (cell N)``; empty when there is none."""
    error = record.error
    if not error:
        return ""
    text = ": ".join(str(part) for part in (error.get("ename"), error.get("evalue")) if part)
    if error.get("cell_index") is not None:
        text += f" (cell {int(error['cell_index']) + 1})"
    return text


def record_json(record: RunRecord) -> dict[str, Any]:
    """The stored form of a record plus ``directory``: where it lives."""
    return {**record.to_json(), "directory": os.fspath(record.directory) if record.directory else None}


# --- compare --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareRow:
    """One parameter or metric across the compared runs.

    ``values`` has one entry per run, ``MISSING`` where a run does not have the name; ``deltas`` has
    the numeric difference to the first run's value (None where either is not a number).
    """

    name: str
    values: tuple[Any, ...]
    differs: bool
    deltas: tuple[float | None, ...]

    def to_json(self, ids: Sequence[str]) -> dict[str, Any]:
        """JSON: ``values`` aligned with the runs (null where missing), ``missing`` lists the runs without it."""
        return {
            "name": self.name,
            "differs": self.differs,
            "values": [None if value is MISSING else value for value in self.values],
            "missing": [run_id for run_id, value in zip(ids, self.values, strict=True) if value is MISSING],
            "deltas": list(self.deltas),
        }


@dataclass(frozen=True)
class Comparison:
    """Several runs side by side: their parameters and metrics, and which of them differ."""

    records: tuple[RunRecord, ...]
    parameters: tuple[CompareRow, ...]
    metrics: tuple[CompareRow, ...]

    @property
    def ids(self) -> list[str]:
        """The ids of the compared runs, in the order given."""
        return [record.id for record in self.records]

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` form."""
        return {
            "runs": [
                {"id": r.id, "notebook": r.notebook, "status": r.status, "started": r.started, "duration_s": r.duration_s}
                for r in self.records
            ],
            "parameters": [row.to_json(self.ids) for row in self.parameters],
            "metrics": [row.to_json(self.ids) for row in self.metrics],
        }


def compare_runs(records: Sequence[RunRecord]) -> Comparison:
    """Line up the parameters and metrics of ``records`` (names in order of first appearance).

    Rows whose values are not all equal are marked ``differs``; numeric metrics get their delta
    against the first run. Raises ``UsageError`` for fewer than two runs.
    """
    if len(records) < 2:
        raise UsageError("compare needs at least two runs", hint="for example `nb2prod runs compare RUN_A RUN_B`")
    parameters = _rows([record.parameters for record in records], deltas=False)
    metrics = _rows([record.metrics for record in records], deltas=True)
    return Comparison(tuple(records), parameters, metrics)


def _rows(mappings: Sequence[Mapping[str, Any]], *, deltas: bool) -> tuple[CompareRow, ...]:
    rows = []
    for name in _names(mappings):
        values = tuple(mapping.get(name, MISSING) for mapping in mappings)
        first = values[0]
        row_deltas = tuple(
            value - first if deltas and index and is_number(first) and is_number(value) else None for index, value in enumerate(values)
        )
        rows.append(CompareRow(name, values, _differs(values), row_deltas))
    return tuple(rows)


# --- check ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricExpression:
    """A threshold on one metric: ``name op threshold``, e.g. ``accuracy >= 0.9``."""

    name: str
    op: str
    threshold: Any

    def __str__(self) -> str:
        bare = isinstance(self.threshold, str) and self.threshold.isidentifier() and self.threshold not in ("true", "false", "null")
        return f"{self.name} {self.op} {self.threshold if bare else json.dumps(self.threshold)}"

    def holds_for(self, value: Any) -> tuple[bool, str]:
        """Whether ``value`` satisfies the expression, and why not (empty when it does)."""
        if self.op in _ORDERING:
            if not is_number(value):
                return False, f"{self.name} is {format_value(value, width=None)}, not a number"
            # Non-finite floats are recorded as strings; a float NaN here compares false, as it should.
            passed = OPERATORS[self.op](value, self.threshold)
        elif is_number(value) and is_number(self.threshold):
            passed = OPERATORS[self.op](value, self.threshold)
        else:
            passed = _same(value, self.threshold) == (self.op == "==")
        return passed, "" if passed else f"{self.name} = {format_value(value, width=None)}"


def parse_metric_expression(text: str) -> MetricExpression:
    """Parse ``NAME OP VALUE`` (OP: ``>= <= > < == !=``).

    VALUE is a number; with ``==``/``!=`` also ``true``/``false``/``null`` or a string (quoted or
    bare). Raises ``UsageError`` naming the expression when it is malformed.
    """
    match = _EXPRESSION.match(text)
    if match is None or not match["value"]:
        raise _malformed(text)
    name, op, raw = match["name"], match["op"], match["value"]
    if raw[0] in "<>=!":
        raise _malformed(text, detail="unknown operator")
    threshold = _threshold(raw)
    if op in _ORDERING and not is_number(threshold):
        raise UsageError(f"malformed metric expression {text!r}: {op} needs a number, got {raw!r}", hint=_EXPRESSION_HINT)
    if is_number(threshold) and not math.isfinite(threshold):
        raise UsageError(f"malformed metric expression {text!r}: the threshold must be a finite number")
    return MetricExpression(name, op, threshold)


def _malformed(text: str, *, detail: str = "") -> UsageError:
    """The error for an expression the grammar does not match, suggesting the operator meant.

    ``mse=<3000`` meant ``mse<=3000`` (not ``==``), ``acc=>0.9`` meant ``acc>=0.9``, and a single
    ``=`` meant ``==``.
    """
    near = re.fullmatch(r"\s*(?P<name>[^\s<>=!]+)\s*(?P<op>[<>=!]+)\s*(?P<value>[^\s<>=!].*?)\s*", text)
    meant = _MISSPELT_OPERATORS.get(near["op"]) if near else None
    if near is None or meant is None:
        return UsageError(f"malformed metric expression {text!r}" + (f": {detail}" if detail else ""), hint=_EXPRESSION_HINT)
    fixed = f"{near['name']}{meant}{near['value']}"
    if near["op"] == "=":
        return UsageError(f"malformed metric expression {text!r}", hint=f"use == to test equality: '{fixed}'")
    return UsageError(f"malformed metric expression {text!r}: {near['op']} is not an operator", hint=f"did you mean '{fixed}'?")


def _threshold(raw: str) -> Any:
    """A number, a JSON literal or quoted string, or the bare text."""
    for parse in (int, float):
        try:
            return parse(raw)
        except ValueError:
            pass
    if raw.lower() in ("true", "false", "null"):
        return json.loads(raw.lower())
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on a run.

    ``kind`` is ``"metric"`` for a metric expression or ``"status"`` for the implicit check that the
    run succeeded (only reported when it did not). ``reason`` says why a check failed.
    """

    kind: str
    check: str
    name: str
    value: Any
    passed: bool
    reason: str = ""

    @property
    def missing(self) -> bool:
        """Whether the run did not record the metric at all."""
        return self.value is MISSING

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` form."""
        return {
            "kind": self.kind,
            "check": self.check,
            "name": self.name,
            "value": None if self.missing else self.value,
            "missing": self.missing,
            "passed": self.passed,
            "reason": self.reason,
        }


def check_run(record: RunRecord, expressions: Sequence[MetricExpression | str]) -> list[CheckResult]:
    """Evaluate threshold ``expressions`` against the run's metrics, in the order given.

    A metric the run did not record fails its check. A run whose status is not ``ok`` gets a failed
    ``status`` result first: its metrics, if any, are evaluated all the same.
    """
    parsed = [parse_metric_expression(e) if isinstance(e, str) else e for e in expressions]
    results = []
    if record.status != "ok":
        detail = describe_error(record)
        reason = f"the run's status is {record.status}, not ok" + (f": {detail}" if detail else "")
        results.append(CheckResult("status", "status == ok", "status", record.status, False, reason))
    for expression in parsed:
        value = record.metrics.get(expression.name, MISSING)
        if value is MISSING:
            recorded = ", ".join(record.metrics) or "none"
            reason = f"the run did not record the metric '{expression.name}' (recorded: {recorded})"
            results.append(CheckResult("metric", str(expression), expression.name, value, False, reason))
            continue
        passed, reason = expression.holds_for(value)
        results.append(CheckResult("metric", str(expression), expression.name, value, passed, reason))
    return results
