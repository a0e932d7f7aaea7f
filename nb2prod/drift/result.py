"""The result of a drift check: metrics, column verdicts, options, and the ``nb2prod.drift/1`` document.

Every metric is "higher is drift" and carries its thresholds, its p-value and the significance
level it was judged at, so that no reader has to guess a direction or a unit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RESULT_SCHEMA = "nb2prod.drift/1"
DEFAULT_THRESHOLDS: Mapping[str, tuple[float, float]] = {
    "psi": (0.1, 0.25),
    "missing": (0.05, 0.20),
    "out_of_range": (0.01, 0.05),
    "unseen": (0.0, 0.05),
}
REPORTED = ("js", "ks", "w1", "linf")
METRICS = (*DEFAULT_THRESHOLDS, *REPORTED)
DEFAULT_ALPHA = 0.005
DEFAULT_MIN_ROWS = 100
CHECK_SAMPLE_CAP = 50_000
STATUS_RANK = {"fail": 5, "warn": 4, "insufficient": 3, "new": 2, "absent": 1, "ok": 1, "unsupported": 0, "ignored": 0}
_DESCRIPTIONS = {
    "psi": "population stability index over the reference bins",
    "missing": "change of the missing share",
    "out_of_range": "share of values outside the reference min..max",
    "unseen": "share of categories the reference never had",
    "js": "Jensen-Shannon distance (base 2)",
    "ks": "Kolmogorov-Smirnov D at the reference quantiles",
    "w1": "Wasserstein-1 distance / reference std",
    "linf": "largest change of a category's share",
    "evidently": "Evidently's column drift score (the method it chose: a p-value is lower-is-drift, a distance higher-is-drift)",
}


@dataclass(frozen=True)
class Metric:
    """One metric of one column. ``warn``/``fail`` are None for reported-only metrics; status is ok, warn or fail."""

    name: str
    value: float
    warn: float | None = None
    fail: float | None = None
    p_value: float | None = None
    alpha: float | None = None
    status: str = "ok"
    detail: str = ""
    direction: str = "higher_is_drift"  # "lower_is_drift" only for a p-value another engine reports as its score
    method: str | None = None  # the other engine's method name (``--engine evidently``)

    @property
    def significant(self) -> bool | None:
        """Whether the change is beyond chance (None when no test applies)."""
        if self.p_value is None or self.alpha is None:
            return None
        return self.p_value < self.alpha

    def to_json(self) -> dict[str, Any]:
        """The stored form, with the direction spelt out."""
        stored = {
            "metric": self.name,
            "description": _DESCRIPTIONS[self.name],
            "value": _finite(self.value),
            "direction": self.direction,
            "warn": self.warn,
            "fail": self.fail,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "significant": self.significant,
            "status": self.status,
            "detail": self.detail,
        }
        if self.method is not None:
            stored["method"] = self.method
        return stored


@dataclass
class ColumnResult:
    """One column's verdict: its metrics, notes (schema changes, why insufficient) and the binned shares for charts."""

    name: str
    kind: str
    status: str
    n_ref: int = 0
    n_new: int = 0
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    schema: str | None = None  # "missing", "kind", "new"
    bins: list[tuple[str, float, float]] = field(default_factory=list)  # (label, reference share, new share)

    def metric(self, name: str) -> Metric | None:
        """The metric called ``name``, if the column has it."""
        return next((metric for metric in self.metrics if metric.name == name), None)

    def value(self, name: str) -> float | None:
        """A metric's value, None when the column does not have it."""
        metric = self.metric(name)
        return None if metric is None else metric.value

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "column": self.name,
            "kind": self.kind,
            "status": self.status,
            "schema": self.schema,
            "n_ref": self.n_ref,
            "n_new": self.n_new,
            "metrics": [metric.to_json() for metric in self.metrics],
            "notes": list(self.notes),
            "bins": [{"bin": label, "reference": _finite(ref), "new": _finite(new)} for label, ref, new in self.bins],
        }


@dataclass(frozen=True)
class CheckOptions:
    """What a check uses besides the data: thresholds (global and per column), ignores, alpha, min rows and the gate."""

    thresholds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    column_thresholds: Mapping[str, Mapping[str, tuple[float, float]]] = field(default_factory=dict)
    ignore: Sequence[str] = ()
    columns: Sequence[str] | None = None
    alpha: float = DEFAULT_ALPHA
    min_rows: int = DEFAULT_MIN_ROWS
    fail_on: Sequence[str] = ("fail",)

    def threshold(self, column: str, metric: str) -> tuple[float, float]:
        """(warn, fail) of ``metric`` for ``column``: per-column setting, else global, else the default."""
        per_column = self.column_thresholds.get(column, {})
        if metric in per_column:
            return per_column[metric]
        return self.thresholds.get(metric, DEFAULT_THRESHOLDS[metric])


@dataclass
class DriftResult:
    """The whole check: per-column results (worst first), the summary, and the gate's decision."""

    profile: Mapping[str, Any]
    columns: list[ColumnResult]
    rows: int
    alpha: float
    options: CheckOptions
    gate_reasons: list[str] = field(default_factory=list)
    engine: str = "nb2prod"
    engine_info: Mapping[str, Any] = field(default_factory=dict)  # another engine's name, version and preset

    @property
    def failed(self) -> bool:
        """Whether the gate failed (exit 1)."""
        return bool(self.gate_reasons)

    def summary(self) -> dict[str, Any]:
        """Counts of columns per status and ``share``: failed columns / checked columns."""
        counts = {status: 0 for status in ("ok", "warn", "fail", "insufficient", "unsupported", "new", "absent", "ignored")}
        for column in self.columns:
            counts[column.status] = counts.get(column.status, 0) + 1
        checked = checked_count(self.columns)
        return {"checked": checked, **counts, "share": counts["fail"] / checked if checked else 0.0}

    def to_json(self) -> dict[str, Any]:
        """The ``nb2prod.drift/1`` document (``engine`` names what judged the columns)."""
        document = {
            "schema": RESULT_SCHEMA,
            "engine": self.engine,
            "reference": {
                "profile": self.profile.get("name"),
                "rows": self.profile.get("rows"),
                "hashed": self.profile.get("hashed", False),
            },
            "rows": self.rows,
            "config": {
                "alpha": self.options.alpha,
                "alpha_per_column": self.alpha,
                "min_rows": self.options.min_rows,
                "thresholds": {
                    metric: list(self.options.thresholds.get(metric, default)) for metric, default in DEFAULT_THRESHOLDS.items()
                },
                "column_thresholds": {
                    column: {m: list(t) for m, t in table.items()} for column, table in self.options.column_thresholds.items()
                },
                "ignore": list(self.options.ignore),
            },
            "summary": self.summary(),
            "gate": {"fail_on": list(self.options.fail_on), "failed": self.failed, "reasons": list(self.gate_reasons)},
            "columns": [column.to_json() for column in self.columns],
        }
        if self.engine != "nb2prod":  # nb2prod's thresholds and alpha judged nothing: the engine's own settings instead
            document["config"] = {"engine": dict(self.engine_info), "min_rows": self.options.min_rows, "ignore": list(self.options.ignore)}
        return document


def _finite(value: float) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def checked_count(columns: Iterable[ColumnResult]) -> int:
    """Columns whose distribution is judged (the k of the Bonferroni correction)."""
    return sum(1 for column in columns if column.status not in ("unsupported", "ignored", "new", "absent") and column.schema is None)
