"""The drift gate: ``--fail-on`` items (words, or expressions in ``runs check``'s grammar) and whether a result fails them.

Words: ``fail`` (a column at fail level, or a schema failure: the default), ``warn``, ``schema``
(also new columns), ``insufficient``. Expressions: ``metric[column] OP value``, ``metric OP
value`` (any column) or a data-set value (``share>=0.5``, ``failed>=3``), parsed by
``nb2prod.runs.parse_metric_expression`` so both commands read thresholds the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UsageError
from ..runs import MetricExpression, parse_metric_expression
from .result import METRICS, DriftResult

GATE_WORDS = ("fail", "warn", "schema", "insufficient")
DATASET_NAMES = ("share", "failed", "warned", "checked")


@dataclass(frozen=True)
class GateExpression:
    """``metric[column] OP value``, ``metric OP value`` (any column) or a dataset value (``share>=0.3``)."""

    metric: str
    column: str | None
    expression: MetricExpression
    text: str


def parse_gate(text: str) -> str | GateExpression:
    """One ``--fail-on`` item: a word (fail, warn, schema, insufficient) or an expression in ``runs check``'s grammar."""
    word = text.strip()
    if word in GATE_WORDS:
        return word
    if not any(op in word for op in "<>=!"):
        raise UsageError(
            f"unknown --fail-on value {text!r}", hint="use fail, warn, schema, insufficient or an expression such as 'psi[age]>0.4'"
        )
    expression = parse_metric_expression(text)
    name, column = expression.name, None
    if name.endswith("]") and "[" in name:
        name, column = name[:-1].split("[", 1)
    if name not in METRICS and name not in DATASET_NAMES:
        raise UsageError(f"unknown metric {name!r} in --fail-on {text!r}", hint="metrics: " + ", ".join((*METRICS, *DATASET_NAMES)))
    if column is not None and name in DATASET_NAMES:
        raise UsageError(f"{name} is a value of the whole data set, not of a column: {text!r}")
    if not isinstance(expression.threshold, (int, float)) or isinstance(expression.threshold, bool):
        raise UsageError(f"--fail-on {text!r} needs a number")
    return GateExpression(name, column, expression, text)


def evaluate_gate(result: DriftResult, items: Sequence[str | GateExpression]) -> list[str]:
    """Why the gate fails (empty: it passes)."""
    reasons: list[str] = []
    columns = result.columns
    for item in items:
        if item == "fail":
            reasons += [f"{c.name}: fail" for c in columns if c.status == "fail"]
        elif item == "warn":
            reasons += [f"{c.name}: {c.status}" for c in columns if c.status in ("warn", "fail")]
        elif item == "schema":
            reasons += [f"{c.name}: schema ({c.schema})" for c in columns if c.schema is not None]
        elif item == "insufficient":
            reasons += [f"{c.name}: insufficient" for c in columns if c.status == "insufficient"]
        elif isinstance(item, GateExpression):
            reasons += _expression_reasons(result, item)
    return list(dict.fromkeys(reasons))


def _expression_reasons(result: DriftResult, gate: GateExpression) -> list[str]:
    if gate.metric in DATASET_NAMES:
        summary = result.summary()
        value = {"share": summary["share"], "failed": summary["fail"], "warned": summary["warn"], "checked": summary["checked"]}[
            gate.metric
        ]
        holds, _ = gate.expression.holds_for(value)
        return [f"{gate.text} ({gate.metric} = {value:.4g})"] if holds else []
    if gate.column is not None and not any(c.name == gate.column for c in result.columns):
        raise UsageError(f"--fail-on {gate.text!r}: no column {gate.column!r} in the profile or the data")
    reasons = []
    for column in result.columns:
        if gate.column is not None and column.name != gate.column:
            continue
        value = column.value(gate.metric)
        if value is None or not math.isfinite(value):
            continue
        holds, _ = gate.expression.holds_for(value)
        if holds:
            reasons.append(f"{column.name}: {gate.metric} = {value:.4g} ({gate.text})")
    return reasons
