"""What the runs report shows, gathered from run records: no HTML here.

``select_runs`` picks the runs (a sweep's, the ones named, a notebook's or all of them);
``gather`` turns them into a ``ReportData``: the parameters that were swept and those that stayed
fixed, the metrics, the best run by one metric, each notebook's metric history (every run of it
in the runs folder, oldest first) and the distinct environments the runs used (a hundred runs of
one sweep share one environment: the page lists it once).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import RecordError, UsageError
from ..records import DEFAULT_RUNS_DIR, DamagedRecord, RunRecord, find_record, scan_records
from ..runs import MISSING, is_number, key_metrics, key_parameters, notebook_matches, sweep_runs
from .monitoring import drift_history, promoted

#: The history chart shows at most this many runs of a notebook (the latest, plus every run of the report): the page stays small.
HISTORY_LIMIT = 300
#: Metric names that are better when lower, unless ``--best max:NAME`` says otherwise.
_LOWER_IS_BETTER = re.compile(r"loss|err|mse|mae|rmse|mape|perplexity|latency|duration|time|cost|regret|distance|^fpr$|^fnr$", re.I)


@dataclass(frozen=True)
class BestRule:
    """How the best run is chosen: the metric and whether higher (``max``) or lower (``min``) is better."""

    metric: str
    goal: str  # "max" | "min"
    guessed: bool = False  # the goal came from the metric's name, not from the user

    def describe(self) -> str:
        """``accuracy (higher is better)``: what the page says about the choice."""
        how = "higher is better" if self.goal == "max" else "lower is better"
        return f"{self.metric} ({how}{', from its name' if self.guessed else ''})"


def parse_best(text: str) -> BestRule:
    """Parse ``--best``: ``METRIC``, ``max:METRIC`` or ``min:METRIC``; a bare name's goal comes from the name (see ``guess_rule``)."""
    goal, sep, name = text.partition(":")
    if sep and goal in ("max", "min") and name:
        return BestRule(name, goal)
    if not text.strip():
        raise UsageError("--best needs a metric name", hint="for example --best accuracy or --best min:loss")
    return guess_rule(text)


def guess_rule(metric: str) -> BestRule:
    """The rule for ``metric`` when nobody said: lower is better for losses, errors and times, higher otherwise."""
    return BestRule(metric, "min" if _LOWER_IS_BETTER.search(metric) else "max", guessed=True)


@dataclass(frozen=True)
class Environment:
    """One distinct environment the runs used (``python``, ``platform``, ``packages``), with the runs that used it."""

    label: str
    python: str
    platform: str
    packages: dict[str, str]
    run_ids: tuple[str, ...]


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows. ``records`` are the report's runs, oldest first."""

    title: str
    records: tuple[RunRecord, ...]
    damaged: tuple[DamagedRecord, ...]
    swept: tuple[str, ...]  # parameters whose values differ between the runs
    fixed: dict[str, Any]  # parameters every run has with the same value
    metrics: tuple[str, ...]  # every metric name, those that differ first
    best: RunRecord | None
    rule: BestRule | None
    history: dict[str, tuple[RunRecord, ...]]  # notebook -> its runs in the runs folder (the latest HISTORY_LIMIT), oldest first
    history_total: dict[str, int]  # notebook -> how many runs of it the runs folder holds
    environments: tuple[Environment, ...]
    environment_of: dict[str, str] = field(default_factory=dict)  # run id -> environment label
    sweep: str | None = None
    drift: tuple[dict[str, Any], ...] = ()  # the latest drift decisions of the runs folder, newest first (report.monitoring)
    stages: dict[str, dict[str, str]] = field(default_factory=dict)  # stage -> the run promoted to it

    def charted_metrics(self) -> list[str]:
        """The metrics with at least one finite number among the runs or their history: each gets charts."""
        runs = [*self.records, *(r for history in self.history.values() for r in history)]
        return [name for name in self.metrics if any(finite_number(r.metrics.get(name, MISSING)) for r in runs)]


def finite_number(value: Any) -> bool:
    """Whether ``value`` is an int or float that can go on a chart (not a bool, NaN or infinity)."""
    return is_number(value) and math.isfinite(value)


def select_runs(
    runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR,
    *,
    sweep: str | None = None,
    runs: Sequence[str] = (),
    notebook: str | None = None,
) -> tuple[list[RunRecord], list[DamagedRecord]]:
    """The report's runs, oldest first, and the damaged records found on the way.

    ``sweep``: the runs of that sweep; ``runs``: each by id, id prefix, path or ``latest`` (an
    unreadable one raises ``RecordError``: the user named it); ``notebook``: every run of that
    notebook; none of them: every run in the folder. Only one of ``sweep`` and ``runs`` may be
    given. Raises ``RecordError`` when no run matches.
    """
    if sweep is not None and runs:
        raise UsageError("give either --sweep or runs, not both")
    shown = os.fspath(runs_dir)
    damaged: list[DamagedRecord] = []
    if sweep is not None:
        records = sweep_runs(sweep, runs_dir)
        if not records:
            raise RecordError(f"no runs of sweep '{sweep}' here", path=shown, hint="`nb2prod runs list` shows the runs and their sweeps")
    elif runs:
        records = []
        for reference in runs:
            found = find_record(reference, runs_dir)
            if all(found.directory != known.directory for known in records):
                records.append(found)
        records.sort(key=_started)
    else:
        entries = scan_records(runs_dir)
        records = [e for e in reversed(entries) if isinstance(e, RunRecord) and (notebook is None or notebook_matches(e, notebook))]
        damaged = [
            e for e in entries if isinstance(e, DamagedRecord) and (notebook is None or Path(notebook).stem == e.directory.parent.name)
        ]
        if not records:
            what = f"no runs of notebook '{notebook}' here" if notebook else "no runs here"
            raise RecordError(what, path=shown, hint="run a notebook with `nb2prod run NOTEBOOK` first, or pass --runs-dir")
    if notebook is not None and (sweep is not None or runs):
        records = [record for record in records if notebook_matches(record, notebook)]
        if not records:
            raise RecordError(f"none of these runs is of notebook '{notebook}'", path=shown)
    return records, damaged


def gather(
    records: Sequence[RunRecord],
    *,
    runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR,
    damaged: Sequence[DamagedRecord] = (),
    best: BestRule | None = None,
    title: str | None = None,
    sweep: str | None = None,
) -> ReportData:
    """Gather what the page shows about ``records`` (oldest first).

    ``best`` chooses the best run (default: the first metric with a number, its goal from its name).
    """
    records = tuple(records)
    parameters = key_parameters(records)
    swept = tuple(name for name in parameters if _differs([r.parameters.get(name, MISSING) for r in records]))
    fixed = {name: records[0].parameters[name] for name in parameters if name not in swept and records}
    metrics = tuple(key_metrics(records))
    if best is not None and best.metric not in metrics:
        recorded = ", ".join(metrics) or "none"
        raise UsageError(f"--best: no run recorded the metric '{best.metric}'", hint=f"recorded metrics: {recorded}")
    rule = best or _default_rule(records, metrics)
    notebooks = list(dict.fromkeys(record.notebook for record in records))
    history: dict[str, tuple[RunRecord, ...]] = {}
    history_total: dict[str, int] = {}
    mine = {record.directory for record in records}
    everything = [e for e in reversed(scan_records(runs_dir)) if isinstance(e, RunRecord)] if runs_dir is not None else []
    for name in notebooks:
        runs = [e for e in everything if _same_notebook(e.notebook, name)]
        runs = runs or [r for r in records if r.notebook == name]
        history_total[name] = len(runs)
        cut = len(runs) - HISTORY_LIMIT
        history[name] = tuple(r for index, r in enumerate(runs) if index >= cut or r.directory in mine)
    environments, environment_of = _environments(records)
    if title is None:
        title = f"sweep {sweep}" if sweep else ", ".join(notebooks)
    return ReportData(
        title=title,
        records=records,
        damaged=tuple(damaged),
        swept=swept,
        fixed=fixed,
        metrics=metrics,
        best=best_run(records, rule) if rule else None,
        rule=rule,
        history=history,
        history_total=history_total,
        environments=environments,
        environment_of=environment_of,
        sweep=sweep,
        drift=drift_history(runs_dir),
        stages=promoted(runs_dir),
    )


def best_run(records: Sequence[RunRecord], rule: BestRule) -> RunRecord | None:
    """The run with the best finite value of the rule's metric among the runs that ended ``ok`` (the earliest on a tie)."""
    scored = [r for r in records if r.status == "ok" and finite_number(r.metrics.get(rule.metric, MISSING))]
    if not scored:
        return None
    pick = max if rule.goal == "max" else min
    return pick(scored, key=lambda r: r.metrics[rule.metric])


def started_at(record: RunRecord) -> datetime | None:
    """When the run started, as an aware UTC datetime (None when the record's time cannot be read)."""
    try:
        moment = datetime.fromisoformat(record.started.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _started(record: RunRecord) -> tuple[int, float]:
    moment = started_at(record)
    return (0, moment.timestamp()) if moment else (1, 0.0)


def _default_rule(records: Sequence[RunRecord], metrics: Sequence[str]) -> BestRule | None:
    for name in metrics:
        if any(finite_number(r.metrics.get(name, MISSING)) for r in records):
            return guess_rule(name)
    return None


def _same_notebook(left: str, right: str) -> bool:
    return os.path.normpath(left) == os.path.normpath(right)


def _differs(values: Sequence[Any]) -> bool:
    """Whether the values are not all the same: ``1`` and ``1.0`` differ, as do ``1`` and ``True``, and a missing value from any."""
    return len({json.dumps(v, sort_keys=True, default=repr) if v is not MISSING else "\0missing" for v in values}) > 1


def _environments(records: Sequence[RunRecord]) -> tuple[tuple[Environment, ...], dict[str, str]]:
    """The distinct environments, labelled ``A``, ``B``… in order of first use, and which run used which."""
    found: dict[str, list[RunRecord]] = {}
    for record in records:
        found.setdefault(json.dumps(record.environment, sort_keys=True, default=repr), []).append(record)
    environments, environment_of = [], {}
    for index, group in enumerate(found.values()):
        label = _label(index)
        env = group[0].environment
        packages = env.get("packages") if isinstance(env.get("packages"), dict) else {}
        environments.append(
            Environment(
                label,
                str(env.get("python", "—")),
                str(env.get("platform", "—")),
                dict(sorted(packages.items())),
                tuple(r.id for r in group),
            )
        )
        environment_of.update({record.id: label for record in group})
    return tuple(environments), environment_of


def _label(index: int) -> str:
    """``A``…``Z``, then ``AA``, ``AB``…"""
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(ord("A") + rest) + label
    return label
