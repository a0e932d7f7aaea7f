"""The report page: the view of a ``ReportData`` that the Jinja template draws, and the rendering.

The template (``templates/report.html.j2``) is rendered with autoescaping on: every name and value
from a record (metric names, parameter values, notebook paths, run ids, error messages) reaches the
page with its control characters shown escaped (``nb2prod.text.printable``: a lone surrogate would
not even encode) and HTML-escaped; only the SVG of ``charts`` (which escapes its own text) is marked safe. The one
script (``templates/report.js``, the table sort) is static, inlined, and allowed by its SHA-256 in
the page's Content Security Policy, which allows nothing else: no other script runs, even if some
text did get through unescaped, and the page makes no network request.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from .. import __version__
from ..records import RunRecord
from ..runs import MISSING, describe_error, format_duration, format_value, is_number
from ..text import printable
from .charts import Point, chart
from .data import ReportData, finite_number, started_at

#: Widths of values: in the table (cut, the full value is in the run's details and the cell's tooltip) and in details.
TABLE_WIDTH = 28


@dataclass(frozen=True)
class TableCell:
    """One cell of the runs table: what it shows, its full text (tooltip) and its sort key."""

    text: str
    full: str
    sort: str
    css: str = ""


@dataclass(frozen=True)
class Figure:
    """One chart and its caption."""

    caption: str
    svg: Any
    metric: str
    kind: str  # "parameter" | "runs" | "history"


def render_report(data: ReportData, links: Mapping[str, tuple[str | None, str | None]], *, files_url: str) -> str:
    """The page for ``data``; ``links`` maps run ids to their rendered notebook's file name (or why there is none), under ``files_url``."""
    script = _asset("report.js")
    anchors = {id(record): f"run-{index + 1}" for index, record in enumerate(data.records)}
    notebook_href = {
        record.id: f"{files_url}/{quote(name)}" for record in data.records if (name := links.get(record.id, (None, None))[0]) is not None
    }
    template = _environment().get_template("report.html.j2")
    return template.render(
        data=data,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        script=script,
        script_hash=base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii"),
        style=_asset("report.css"),
        columns=_columns(data),
        rows=[_row(data, record, anchors[id(record)], notebook_href.get(record.id)) for record in data.records],
        metric_sections=_metric_sections(data, anchors),
        history=_history(data, anchors),
        runs=[_details(data, record, anchors[id(record)], notebook_href.get(record.id), links.get(record.id)) for record in data.records],
        best_anchor=anchors[id(data.best)] if data.best is not None else None,
        best_href=notebook_href.get(data.best.id) if data.best is not None else None,
        statuses=_status_counts(data.records),
        value=lambda v: format_value(v, width=None),
        short=lambda v: format_value(v, width=40),
    )


def render_notebook_page(*, title: str, body: Any, highlight_css: Any, back: str) -> str:
    """The page around one executed notebook (nbconvert's ``basic`` body); ``back`` is the report's address from there."""
    template = _environment().get_template("notebook.html.j2")
    return template.render(title=title, body=body, highlight_css=highlight_css, back=back, version=__version__)


@functools.cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("nb2prod.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        finalize=_shown,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _shown(value: Any) -> Any:
    """Every string the template prints, with control characters and lone surrogates shown escaped (then autoescaped)."""
    return printable(value) if isinstance(value, str) and not isinstance(value, Markup) else value


@functools.cache
def _asset(name: str) -> str:
    from importlib.resources import files

    return files("nb2prod.report").joinpath("templates", name).read_text(encoding="utf-8")


# --- the runs table -------------------------------------------------------------------------------


def _columns(data: ReportData) -> list[tuple[str, str]]:
    """(header, css class) of every column: the run, its status and time, the swept parameters, every metric."""
    columns = [("run", ""), ("status", "")]
    if len(data.history) > 1:
        columns.append(("notebook", ""))
    columns += [("started (UTC)", ""), ("duration", "num")]
    columns += [(name, "param") for name in data.swept]
    columns += [(name, "metric num") for name in data.metrics]
    return columns


def _row(data: ReportData, record: RunRecord, anchor: str, href: str | None) -> dict[str, Any]:
    moment = started_at(record)
    cells = [
        TableCell(record.id, record.id, record.id),
        TableCell(record.status, describe_error(record) or record.status, record.status, f"status status-{_css(record.status)}"),
    ]
    if len(data.history) > 1:
        cells.append(TableCell(format_value(record.notebook, width=TABLE_WIDTH), record.notebook, record.notebook))
    cells.append(TableCell(moment.strftime("%Y-%m-%d %H:%M:%S") if moment else record.started, record.started, record.started))
    cells.append(TableCell(format_duration(record.duration_s), str(record.duration_s), _sort_key(record.duration_s), "num"))
    cells += [_value_cell(record.parameters.get(name, MISSING)) for name in data.swept]
    cells += [_value_cell(record.metrics.get(name, MISSING), "num") for name in data.metrics]
    return {"anchor": anchor, "cells": cells, "best": record is data.best, "href": href}


def _value_cell(value: Any, css: str = "") -> TableCell:
    if value is MISSING:
        return TableCell("—", "not recorded", "", css)
    return TableCell(format_value(value, width=TABLE_WIDTH), format_value(value, width=None), _sort_key(value), css)


def _sort_key(value: Any) -> str:
    """What the table sorts a cell by: a number as a number (``repr``), anything else as its text; empty for none."""
    if value is None or value is MISSING:
        return ""
    if is_number(value):
        return repr(float(value)) if finite_number(value) else ""
    return format_value(value, width=None)


def _css(status: str) -> str:
    return status if status in ("ok", "failed", "timeout", "kernel_died", "interrupted", "running") else "other"


def _status_counts(records: tuple[RunRecord, ...]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status] = counts.get(record.status, 0) + 1
    return sorted(counts.items(), key=lambda item: (item[0] != "ok", item[0]))


# --- charts ---------------------------------------------------------------------------------------


def _metric_sections(data: ReportData, anchors: Mapping[int, str]) -> list[dict[str, Any]]:
    """For each charted metric: one chart against each swept parameter, or against the runs when nothing was swept."""
    sections = []
    for metric in data.charted_metrics():
        scored = [r for r in data.records if finite_number(r.metrics.get(metric, MISSING))]
        figures = []
        for parameter in data.swept:
            present = [r for r in scored if parameter in r.parameters]
            if not present:
                continue
            values = [r.parameters[parameter] for r in present]
            numeric = all(finite_number(v) for v in values)
            points = [
                Point(
                    r.parameters[parameter] if numeric else format_value(r.parameters[parameter], width=24),
                    float(r.metrics[metric]),
                    _tip(r, metric, parameter),
                    "#" + anchors[id(r)],
                    "best" if r is data.best else "run",
                )
                for r in present
            ]
            svg = chart(points, x_label=parameter, y_label=metric, x_kind="number" if numeric else "category")
            figures.append(Figure(f"{metric} against {parameter}", svg, metric, "parameter"))
        if not figures and scored:
            points = [
                Point(
                    f"#{anchors[id(r)][4:]}",
                    float(r.metrics[metric]),
                    _tip(r, metric),
                    "#" + anchors[id(r)],
                    "best" if r is data.best else "run",
                )
                for r in scored
            ]
            svg = chart(points, x_label="run (oldest first)", y_label=metric, x_kind="category")
            figures.append(Figure(f"{metric} by run", svg, metric, "runs"))
        if figures:
            sections.append({"metric": metric, "figures": figures})
    return sections


def _history(data: ReportData, anchors: Mapping[int, str]) -> list[dict[str, Any]]:
    """For each notebook: each metric over time, across every run of it in the runs folder (the report's runs in colour)."""
    in_report = {r.directory: r for r in data.records}
    notebooks = []
    for notebook, runs in data.history.items():
        figures = []
        for metric in data.charted_metrics():
            points = []
            for r in runs:
                moment, value = started_at(r), r.metrics.get(metric, MISSING)
                if moment is None or not finite_number(value):
                    continue
                mine = in_report.get(r.directory)
                kind = "best" if mine is not None and mine is data.best else "run" if mine is not None else "other"
                points.append(Point(moment.timestamp(), float(value), _tip(r, metric), "#" + anchors[id(mine)] if mine else None, kind))
            if points:
                figures.append(
                    Figure(
                        f"{metric} over time",
                        chart(points, x_label="started (UTC)", y_label=metric, x_kind="time", connect=True),
                        metric,
                        "history",
                    )
                )
        if figures:
            notebooks.append({"notebook": notebook, "runs": data.history_total[notebook], "shown": len(runs), "figures": figures})
    return notebooks


def _tip(record: RunRecord, metric: str, parameter: str | None = None) -> tuple[str, ...]:
    parts = [record.id, f"{metric} = {format_value(record.metrics.get(metric), width=None)}"]
    if parameter is not None:
        parts.append(f"{parameter} = {format_value(record.parameters.get(parameter, MISSING), width=None)}")
    return tuple(parts)


# --- each run -------------------------------------------------------------------------------------


def _details(
    data: ReportData, record: RunRecord, anchor: str, href: str | None, link: tuple[str | None, str | None] | None
) -> dict[str, Any]:
    git = record.git or {}
    commit = f"{git['commit']}{' (uncommitted changes)' if git.get('dirty') else ''}" if git.get("commit") else "not a git repository"
    summary = [
        ("notebook", record.notebook),
        ("status", record.status),
        ("error", describe_error(record)),
        ("started", record.started),
        ("finished", record.finished or "—"),
        ("duration", format_duration(record.duration_s)),
        ("sweep", record.sweep or ""),
        ("kernel", record.kernel or "—"),
        ("git", commit),
        ("environment", data.environment_of.get(record.id, "—")),
        ("nb2prod", record.nb2prod_version or "—"),
        ("folder", str(record.directory) if record.directory else "—"),
    ]
    return {
        "anchor": anchor,
        "record": record,
        "best": record is data.best,
        "summary": [(label, value) for label, value in summary if value],
        "parameters": [(name, format_value(value, width=None)) for name, value in record.parameters.items()],
        "metrics": [(name, format_value(value, width=None)) for name, value in record.metrics.items()],
        "inputs": sorted(record.inputs.items()),
        "artifacts": sorted(record.artifacts.items()),
        "href": href,
        "no_notebook": link[1] if link else "the executed notebooks were not rendered (--no-notebooks)",
    }
