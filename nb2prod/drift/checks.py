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
from typing import Any

from ..errors import UsageError
from . import stats
from .columns import ColumnAccumulator
from .gate import GateExpression, evaluate_gate, parse_gate
from .result import (
    CHECK_SAMPLE_CAP,
    DEFAULT_ALPHA,
    DEFAULT_MIN_ROWS,
    DEFAULT_THRESHOLDS,
    METRICS,
    RESULT_SCHEMA,
    STATUS_RANK,
    CheckOptions,
    ColumnResult,
    DriftResult,
    Metric,
    checked_count,
)

__all__ = [
    "CHECK_SAMPLE_CAP",
    "DEFAULT_ALPHA",
    "DEFAULT_MIN_ROWS",
    "DEFAULT_THRESHOLDS",
    "METRICS",
    "RESULT_SCHEMA",
    "CheckOptions",
    "ColumnResult",
    "DriftResult",
    "GateExpression",
    "Metric",
    "check_chunks",
    "checked_count",
    "evaluate_gate",
    "gated",
    "judge",
    "judge_column",
    "make_accumulators",
    "parse_gate",
]


# --- the check -----------------------------------------------------------------------------------


def make_accumulators(profile: Mapping[str, Any]) -> dict[str, ColumnAccumulator]:
    """One accumulator per profile column, set up with its bins (numeric) or vocabulary (categorical)."""
    import numpy as np

    hashed = bool(profile.get("hashed", False))
    accumulators = {}
    for index, (name, summary) in enumerate(profile["columns"].items()):
        kind = summary["kind"]
        edges = vocabulary = bounds = None
        if kind == "numeric":
            edges = np.asarray(summary["edges"][1:-1], dtype=np.float64)
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
    extra: dict[str, int] = {}  # columns the profile does not have: only their rows are counted
    rows = 0
    appeared: set[str] = set()
    for chunk in chunks:
        length = 0
        for name, values in chunk.items():
            appeared.add(name)
            accumulator = accumulators.get(name)
            if accumulator is None:
                extra[name] = extra.get(name, 0) + len(values)
            else:
                accumulator.add(values)
            length = max(length, len(values))
        rows += length
    return judge(profile, accumulators, extra, rows=rows, present=appeared, options=options, gates=gates)


def judge(
    profile: Mapping[str, Any],
    accumulators: Mapping[str, ColumnAccumulator],
    extra: Mapping[str, int],
    *,
    rows: int,
    present: set[str],
    options: CheckOptions,
    gates: Sequence[str | GateExpression] = ("fail",),
) -> DriftResult:
    """Turn the accumulated data into column results and the gate's decision.

    ``extra`` maps the data's columns the profile does not have to their row counts; ``present``
    names every column the data has (a header-only file has columns and no rows).
    """
    selected = options.columns
    if selected is not None:
        unknown = [name for name in selected if name not in profile["columns"]]
        if unknown:
            raise UsageError(f"--columns names columns the profile does not have: {', '.join(unknown)}")
    target = profile.get("target")
    results: list[ColumnResult] = []
    pending: list[tuple[str, Mapping[str, Any], ColumnAccumulator]] = []
    for name, summary in profile["columns"].items():
        if name in options.ignore or (selected is not None and name not in selected):
            results.append(ColumnResult(name, summary["kind"], "ignored", n_ref=summary["n"]))
            continue
        if name not in present:
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
    for name, count in extra.items():
        if name not in options.ignore:
            results.append(ColumnResult(name, "?", "new", n_new=count, schema="new", notes=["not in the profile (new column)"]))
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
        # the new data's CDF at the reference quantiles, from its sample (all values up to CHECK_SAMPLE_CAP)
        new_cdf = np.searchsorted(sample, np.asarray(quantiles, dtype=np.float64), side="right") / len(sample)
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
