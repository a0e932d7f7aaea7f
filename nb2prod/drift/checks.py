"""Each column of new data against a profile: metrics, statuses and the gate (``nb2prod drift``).

Gated checks (a status of warn or fail needs both conditions: the effect at or past its
threshold, *and* significance at ``alpha / k`` over the k columns checked, Bonferroni):

| metric | what | default warn / fail | significance |
|---|---|---|---|
| ``psi`` | PSI over the profile's bins | 0.1 / 0.25 | chi-square homogeneity test on the bin counts |
| ``missing`` | change of the missing share (absolute) | 0.05 / 0.20 | two-proportion z-test |
| ``out_of_range`` | share beyond the reference's min and max | 0.01 / 0.05 | beyond what n reference values leave out (Beta(2, n-1)) |
| ``unseen`` | share of categories the reference never had (complete vocabulary) | 0 / 0.05 | beyond a rule-of-three bound |

Reported, never gated: ``js`` (Jensen-Shannon distance, base 2), ``ks`` (KS D at the reference
quantiles), ``w1`` (Wasserstein-1 / reference std), ``linf`` (largest category share change).
Every metric is "higher is drift". Schema: a profile column missing from the data, or whose kind
changed (numbers became text), fails; a new column is reported. A column with fewer than
``min_rows`` values is ``insufficient`` (gated only by ``--fail-on insufficient``).

The default alpha is 0.005, not the 0.01 of the batch-level target: at 50-row batches the
chi-square approximation is slightly liberal, and 0.01 / k put the simulated false-alarm rate right
at 1% (tests/drift/test_simulation.py); 0.005 keeps it near 0.5% and changes nothing for real
shifts, whose p-values are many orders of magnitude smaller.

Why two conditions: with no drift PSI behaves like (1/n_ref + 1/n_new) * chi2(B - 1), so a fixed
threshold fires on small batches; a p-value alone fires on every tiny, harmless change of a very
large batch. Together neither happens, without a switch on batch size.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..runs import MetricExpression, parse_metric_expression
from . import stats
from .columns import ColumnAccumulator

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
CHECK_SAMPLE_CAP = 100_000
GATE_WORDS = ("fail", "warn", "schema", "insufficient")
DATASET_NAMES = ("share", "failed", "warned", "checked")
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

    @property
    def significant(self) -> bool | None:
        """Whether the change is beyond chance (None when no test applies)."""
        if self.p_value is None or self.alpha is None:
            return None
        return self.p_value < self.alpha

    def to_json(self) -> dict[str, Any]:
        """The stored form, with the direction spelt out."""
        return {
            "metric": self.name,
            "description": _DESCRIPTIONS[self.name],
            "value": _finite(self.value),
            "direction": "higher_is_drift",
            "warn": self.warn,
            "fail": self.fail,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "significant": self.significant,
            "status": self.status,
            "detail": self.detail,
        }


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
        """The ``nb2prod.drift/1`` document."""
        return {
            "schema": RESULT_SCHEMA,
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


def _finite(value: float) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def checked_count(columns: Iterable[ColumnResult]) -> int:
    """Columns whose distribution is judged (the k of the Bonferroni correction)."""
    return sum(1 for column in columns if column.status not in ("unsupported", "ignored", "new", "absent") and column.schema is None)


# --- gate parsing --------------------------------------------------------------------------------


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


# --- the check -----------------------------------------------------------------------------------


def make_accumulators(profile: Mapping[str, Any]) -> dict[str, ColumnAccumulator]:
    """One accumulator per profile column, set up with its bins (numeric) or vocabulary (categorical)."""
    import numpy as np

    hashed = bool(profile.get("hashed", False))
    accumulators = {}
    for index, (name, summary) in enumerate(profile["columns"].items()):
        kind = summary["kind"]
        edges = points = vocabulary = bounds = None
        if kind == "numeric":
            edges = np.asarray(summary["edges"][1:-1], dtype=np.float64)
            points = np.asarray(summary.get("q") or [], dtype=np.float64)
            if summary.get("min") is not None:
                low = -math.inf if summary.get("neginf") else summary["min"]
                bounds = (low, math.inf if summary.get("posinf") else summary["max"])
        elif kind == "categorical":
            vocabulary = frozenset(summary["top"])
        accumulators[name] = ColumnAccumulator(
            name,
            sample_cap=CHECK_SAMPLE_CAP,
            seed=index,
            edges=edges,
            points=points,
            vocabulary=vocabulary,
            bounds=bounds,
            hashed=hashed,
            track_numbers=kind != "numeric",
        )
    return accumulators


def check_chunks(profile: Mapping[str, Any], chunks: Iterable[Mapping[str, Any]], options: CheckOptions | None = None) -> DriftResult:
    """Check data given as chunks of columns against ``profile``; the result carries the gate's decision."""
    options = options or CheckOptions()
    gates = [parse_gate(item) for item in options.fail_on]
    accumulators = make_accumulators(profile)
    extra: dict[str, ColumnAccumulator] = {}
    rows = 0
    appeared: set[str] = set()
    for chunk in chunks:
        length = 0
        for name, values in chunk.items():
            appeared.add(name)
            accumulator = accumulators.get(name)
            if accumulator is None:
                accumulator = extra.setdefault(name, ColumnAccumulator(name, sample_cap=1, track_numbers=False))
            accumulator.add(values)
            length = max(length, len(values))
        rows += length
    return judge(profile, accumulators, extra, rows=rows, present=appeared, options=options, gates=gates)


def judge(
    profile: Mapping[str, Any],
    accumulators: Mapping[str, ColumnAccumulator],
    extra: Mapping[str, ColumnAccumulator],
    *,
    rows: int,
    present: set[str],
    options: CheckOptions,
    gates: Sequence[str | GateExpression] = ("fail",),
) -> DriftResult:
    """Turn the accumulated data into column results and the gate's decision."""
    selected = options.columns
    if selected is not None:
        unknown = [name for name in selected if name not in profile["columns"]]
        if unknown:
            raise UsageError(f"--columns names columns the profile does not have: {', '.join(unknown)}")
    columns_in_data = present
    target = profile.get("target")
    results: list[ColumnResult] = []
    pending: list[tuple[str, Mapping[str, Any], ColumnAccumulator]] = []
    for name, summary in profile["columns"].items():
        if name in options.ignore or (selected is not None and name not in selected):
            results.append(ColumnResult(name, summary["kind"], "ignored", n_ref=summary["n"]))
            continue
        if name not in columns_in_data:
            if name == target:
                results.append(ColumnResult(name, summary["kind"], "absent", n_ref=summary["n"], notes=["the target is not in the data"]))
            else:
                results.append(
                    ColumnResult(
                        name, summary["kind"], "fail", n_ref=summary["n"], schema="missing", notes=["missing from the data (schema)"]
                    )
                )
            continue
        pending.append((name, summary, accumulators[name]))
    for name, acc in extra.items():
        if name not in options.ignore:
            results.append(ColumnResult(name, "?", "new", n_new=acc.rows, schema="new", notes=["not in the profile (new column)"]))
    k = sum(1 for _, summary, acc in pending if summary["kind"] not in ("unsupported",) and not _kind_changed(summary, acc))
    alpha = options.alpha / max(k, 1)
    for name, summary, acc in pending:
        results.append(judge_column(name, summary, acc, options=options, alpha=alpha))
    results.sort(key=_worst_first)
    result = DriftResult(profile, results, rows, alpha, options)
    result.gate_reasons = evaluate_gate(result, gates)
    return result


def _worst_first(column: ColumnResult) -> tuple[int, float, str]:
    psi = column.value("psi")
    return (-STATUS_RANK.get(column.status, 0), -(psi if psi is not None and math.isfinite(psi) else -1.0), column.name)


def _kind_changed(summary: Mapping[str, Any], acc: ColumnAccumulator) -> bool:
    return summary["kind"] == "numeric" and acc.texts > 0


def _level(value: float, warn: float, fail: float) -> str:
    if value > fail:
        return "fail"
    if value > warn:
        return "warn"
    return "ok"


def gated(name: str, value: float, thresholds: tuple[float, float], p_value: float | None, alpha: float, detail: str = "") -> Metric:
    """A gated metric: its level from the thresholds, kept only when the change is significant."""
    warn, fail = thresholds
    level = _level(value, warn, fail)
    if level != "ok" and p_value is not None and not p_value < alpha:
        detail = (detail + "; " if detail else "") + f"past the threshold but not significant (p = {p_value:.3g} >= {alpha:.3g})"
        level = "ok"
    return Metric(name, value, warn, fail, p_value, alpha, level, detail)


def judge_column(name: str, summary: Mapping[str, Any], acc: ColumnAccumulator, *, options: CheckOptions, alpha: float) -> ColumnResult:
    """One profile column against the new data's accumulator."""
    kind = summary["kind"]
    result = ColumnResult(name, kind, "ok", n_ref=int(summary["n"]), n_new=acc.rows)
    if kind == "unsupported":
        result.status = "unsupported"
        result.notes.append(summary.get("reason", "not a kind nb2prod checks"))
        return result
    if _kind_changed(summary, acc):
        result.status, result.schema = "fail", "kind"
        result.notes.append(f"kind changed: numeric in the profile, {acc.texts:,} text values in the data (schema)")
        return result
    if acc.rows < options.min_rows:
        result.status = "insufficient"
        result.notes.append(f"{acc.rows:,} rows, fewer than --min-rows {options.min_rows}")
        return result
    ref_missing, ref_rows = int(summary["missing"]), int(summary["n"])
    delta = acc.missing / acc.rows - (ref_missing / ref_rows if ref_rows else 0.0)
    p_missing = stats.two_proportion_p(ref_missing, ref_rows, acc.missing, acc.rows)
    result.metrics.append(
        gated(
            "missing",
            abs(delta),
            options.threshold(name, "missing"),
            p_missing,
            alpha,
            f"{ref_missing / max(ref_rows, 1):.1%} -> {acc.missing / acc.rows:.1%}",
        )
    )
    if kind in ("numeric", "categorical"):
        if acc.present < options.min_rows:
            result.notes.append(f"{acc.present:,} values present, fewer than --min-rows {options.min_rows}: distribution not compared")
        elif kind == "numeric":
            _numeric_metrics(result, summary, acc, options, alpha)
        else:
            _categorical_metrics(result, summary, acc, options, alpha)
    levels = [metric.status for metric in result.metrics]
    if "fail" in levels:
        result.status = "fail"
    elif "warn" in levels:
        result.status = "warn"
    elif acc.present < options.min_rows and kind in ("numeric", "categorical"):
        result.status = "insufficient"
    return result


def _numeric_metrics(result: ColumnResult, summary: Mapping[str, Any], acc: ColumnAccumulator, options: CheckOptions, alpha: float) -> None:
    import numpy as np

    name = result.name
    ref_counts = np.asarray(summary["counts"], dtype=np.float64)
    new_counts = acc.bin_counts.astype(np.float64)
    _, _, p = stats.chi2_homogeneity(ref_counts, new_counts)
    result.metrics.append(gated("psi", stats.psi(ref_counts, new_counts), options.threshold(name, "psi"), p, alpha))
    sample = acc.sample()
    if acc.bounds is not None:
        outside = acc.outside
        n_ref_finite = max(int(sum(summary["counts"])), 1)
        allowed = stats.beta2_upper(n_ref_finite, alpha / 2)
        p_range = stats.excess_rate_p(outside, acc.present, allowed) * 2
        detail = f"{outside:,} of {acc.present:,} outside [{summary['min']:.6g}, {summary['max']:.6g}]"
        result.metrics.append(
            gated("out_of_range", outside / acc.present, options.threshold(name, "out_of_range"), min(p_range, 1.0), alpha, detail)
        )
    result.metrics.append(Metric("js", stats.js_distance(ref_counts, new_counts)))
    quantiles = summary.get("q") or []
    if quantiles and acc.finite:
        ref_cdf = summary.get("cdf") or [i / (len(quantiles) - 1) for i in range(len(quantiles))]
        new_cdf = acc.at_or_below / acc.finite
        result.metrics.append(Metric("ks", stats.ks_from_cdf(np.asarray(ref_cdf), new_cdf)))
        new_q = np.quantile(sample, np.linspace(0, 1, len(quantiles)))
        result.metrics.append(Metric("w1", stats.w1_from_quantiles(np.asarray(quantiles), new_q, summary.get("std") or 0.0)))
    labels = _bin_labels(summary["edges"])
    result.bins = list(zip(labels, stats.proportions(ref_counts).tolist(), stats.proportions(new_counts).tolist(), strict=True))


def _bin_labels(edges: Sequence[float]) -> list[str]:
    interior = list(edges[1:-1])
    if not interior:
        return ["all"]
    labels = [f"< {interior[0]:.4g}"]
    labels += [f"{left:.4g} .. {right:.4g}" for left, right in itertools.pairwise(interior)]
    labels.append(f">= {interior[-1]:.4g}")
    return labels


def _categorical_metrics(
    result: ColumnResult, summary: Mapping[str, Any], acc: ColumnAccumulator, options: CheckOptions, alpha: float
) -> None:
    import numpy as np

    name = result.name
    top: Mapping[str, int] = summary["top"]
    complete = bool(summary.get("vocab_complete", False))
    new = acc.keyed_counts()
    labels = list(top)
    ref_counts = [top[key] for key in labels]
    new_counts = [new.get(key, 0) for key in labels]
    beyond = acc.present - sum(new_counts)
    if complete:
        labels.append("(unseen)")
        ref_counts.append(0)
        new_counts.append(beyond)
    else:
        labels.append("(other)")
        ref_counts.append(int(summary.get("other", 0)))
        new_counts.append(beyond)
    ref, cur = np.asarray(ref_counts, dtype=np.float64), np.asarray(new_counts, dtype=np.float64)
    _, _, p = stats.chi2_homogeneity(ref, cur)
    result.metrics.append(gated("psi", stats.psi(ref, cur), options.threshold(name, "psi"), p, alpha))
    if complete:
        singletons = sum(1 for count in top.values() if count == 1)
        n_ref_present = max(int(summary["n"]) - int(summary["missing"]), 1)
        allowed = min(1.0, (singletons + 3) / n_ref_present)
        p_unseen = stats.excess_rate_p(beyond, acc.present, allowed)
        unseen_keys = [key for key in new if key not in top]
        shown = ", ".join(sorted(unseen_keys, key=lambda key: -new[key])[:5])
        detail = f"{beyond:,} values, {len(unseen_keys):,} new categories" + (f": {shown}" if shown else "")
        result.metrics.append(gated("unseen", beyond / acc.present, options.threshold(name, "unseen"), p_unseen, alpha, detail))
    result.metrics.append(Metric("js", stats.js_distance(ref, cur)))
    result.metrics.append(Metric("linf", stats.linf(ref, cur)))
    result.bins = list(zip(labels, stats.proportions(ref).tolist(), stats.proportions(cur).tolist(), strict=True))
