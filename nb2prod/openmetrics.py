"""An OpenMetrics text export of the latest runs, stages and drift decisions, for Prometheus' textfile collector.

``render(runs_dir)`` returns the exposition (it ends with ``# EOF``); ``nb2prod runs metrics
--openmetrics -o FILE`` writes it atomically, so the collector never reads half a file. Every
family is a gauge with a ``nb2prod_`` name; what comes from notebooks (a notebook path, a metric
name, a column name) goes into label *values*, escaped (``\\``, ``"`` and newlines), never into a
metric name, so a metric called ``val/acc`` or ``F1 (macro)`` keeps its name. No sample carries
a timestamp (the textfile collector rejects them); times are values of ``*_timestamp_seconds``.

Families:

- ``nb2prod_run_metric{notebook,run,metric}``: each numeric metric of each notebook's latest
  finished run (booleans 1/0);
- ``nb2prod_run_ok{notebook,run}``, ``nb2prod_run_duration_seconds``, ``nb2prod_run_finished_timestamp_seconds``;
- ``nb2prod_stage_run{stage,run,notebook}``: 1 for the run promoted to each stage;
- ``nb2prod_drift_failed{reference,profile}``, ``nb2prod_drift_columns{reference,profile,status}``,
  ``nb2prod_drift_timestamp_seconds{reference,profile}``: the latest drift decision per reference
  profile, from the audit trail; ``nb2prod_drift_psi{reference,profile,column}`` from that
  decision's report when it is still there with the hash the audit line recorded.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

_NAME = re.compile(r"[^a-zA-Z0-9_:]")


def sanitise_name(name: str) -> str:
    """A valid metric or label name from any text: other characters become ``_``, a leading digit gets a ``_``."""
    cleaned = _NAME.sub("_", name) or "_"
    return f"_{cleaned}" if cleaned[0].isdigit() else cleaned


def escape_label(value: Any) -> str:
    """A label value as the exposition format writes it: backslash, double quote and newline escaped."""
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float | int | bool) -> str:
    """A sample value: integers as they are, floats round-tripping, NaN and infinities as the format spells them."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class _Families:
    """Gauge families in the order first seen; samples grouped under their family (the format requires it)."""

    def __init__(self) -> None:
        self.families: dict[str, tuple[str, str | None, dict[tuple[tuple[str, str], ...], str]]] = {}

    def add(self, name: str, help_text: str, labels: Mapping[str, Any], value: float | int | bool, *, unit: str | None = None) -> None:
        family = self.families.setdefault(sanitise_name(name), (help_text, unit, {}))
        key = tuple((sanitise_name(label), escape_label(text)) for label, text in labels.items())
        family[2][key] = format_value(value)  # a repeated label set keeps the last value (label sets must be unique)

    def render(self) -> str:
        lines: list[str] = []
        for name, (help_text, unit, samples) in self.families.items():
            lines.append(f"# TYPE {name} gauge")
            if unit:
                lines.append(f"# UNIT {name} {unit}")
            lines.append(f"# HELP {name} {help_text}")
            for key, value in samples.items():
                labels = ",".join(f'{label}="{text}"' for label, text in key)
                lines.append(f"{name}{{{labels}}} {value}" if labels else f"{name} {value}")
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


def _seconds(stamp: Any) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def render(runs_dir: str | os.PathLike[str]) -> str:
    """The OpenMetrics exposition of a runs folder (see the module docstring)."""
    from .audit import entries
    from .records import RunRecord, scan_records
    from .stages import read_stages

    families = _Families()
    latest: dict[str, RunRecord] = {}
    for entry in scan_records(runs_dir):  # newest first
        if isinstance(entry, RunRecord) and entry.finished and entry.notebook not in latest:
            latest[entry.notebook] = entry
    for notebook, record in sorted(latest.items()):
        labels = {"notebook": notebook, "run": record.id}
        for metric, value in record.metrics.items():
            if _is_number(value):
                families.add(
                    "nb2prod_run_metric", "A numeric metric the notebook's latest run recorded.", {**labels, "metric": metric}, value
                )
        families.add("nb2prod_run_ok", "1 when the notebook's latest run finished ok.", labels, record.status == "ok")
        if record.duration_s is not None:
            families.add("nb2prod_run_duration_seconds", "How long the latest run took.", labels, record.duration_s, unit="seconds")
        finished = _seconds(record.finished)
        if finished is not None:
            families.add(
                "nb2prod_run_finished_timestamp_seconds", "When the latest run finished (Unix time).", labels, finished, unit="seconds"
            )
    for stage, pointer in sorted(read_stages(runs_dir).items()):
        families.add(
            "nb2prod_stage_run",
            "1 for the run promoted to the stage.",
            {"stage": stage, "run": pointer["run"], "notebook": pointer.get("notebook", "")},
            1,
        )
    _drift(families, runs_dir, entries(runs_dir))
    return families.render()


def _drift(families: _Families, runs_dir: str | os.PathLike[str], lines: Iterable[Mapping[str, Any]]) -> None:
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for line in lines:
        if line.get("event") != "drift" or not isinstance(line.get("reference"), Mapping):
            continue
        reference = line["reference"]
        latest[(str(reference.get("run") or reference.get("path")), str(reference.get("profile")))] = line
    for (reference, profile), line in sorted(latest.items()):
        labels = {"reference": reference, "profile": profile}
        families.add(
            "nb2prod_drift_failed",
            "1 when the latest drift check against this profile failed its gate.",
            labels,
            line.get("decision") == "fail",
        )
        summary = line.get("summary") if isinstance(line.get("summary"), Mapping) else {}
        for status, count in summary.items():
            if isinstance(count, int) and not isinstance(count, bool) and status != "checked":
                families.add("nb2prod_drift_columns", "Columns of the latest drift check by status.", {**labels, "status": status}, count)
        at = _seconds(line.get("at"))
        if at is not None:
            families.add("nb2prod_drift_timestamp_seconds", "When the latest drift check ran (Unix time).", labels, at, unit="seconds")
        for column, value in _report_psi(runs_dir, line).items():
            families.add("nb2prod_drift_psi", "PSI of each column in the latest drift check.", {**labels, "column": column}, value)


def _report_psi(runs_dir: str | os.PathLike[str], line: Mapping[str, Any]) -> dict[str, float]:
    """Each column's PSI from the drift report the line points to, if it is there unchanged."""
    import json

    from .audit import sha256_file

    report = line.get("report")
    if not isinstance(report, str):
        return {}
    path = os.path.join(os.fspath(runs_dir), report)
    try:
        if sha256_file(path) != line.get("report_sha256"):
            return {}
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError):
        return {}
    found: dict[str, float] = {}
    for column in document.get("columns", []) if isinstance(document, dict) else []:
        for metric in column.get("metrics", []) if isinstance(column, dict) else []:
            if isinstance(metric, dict) and metric.get("metric") == "psi" and _is_number(metric.get("value")):
                found[str(column.get("column"))] = metric["value"]
    return found
