"""Results that show themselves: ``nb2prod.show(result)`` gives an object with a text and an HTML rendering.

The API returns data (a run record, a list of runs, a verification, parameters, an export
result); a notebook wants to display it. :func:`show` wraps any of them in a :class:`View`, whose
``str()`` is plain text and whose ``_repr_html_`` Jupyter renders; ``%nb2prod`` displays views.
Lint results render themselves (:class:`nb2prod.lint.results.LintResults`). Every string from a
record or a notebook is escaped for the terminal (``printable``) and for HTML, with credentials in a known format masked.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .text import printable

_CELL = "padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #ddd"


@dataclass
class View:
    """A titled table with lines of text around it, renderable as text or HTML."""

    title: str
    columns: Sequence[str] = ()
    rows: Sequence[Sequence[Any]] = ()
    lines: Sequence[str] = field(default_factory=list)

    def text(self) -> str:
        """Plain text: the title, the table with aligned columns, the lines."""
        out = [_safe(self.title)]
        if self.columns:
            cells = [[_safe(_shown(value)) for value in row] for row in [self.columns, *self.rows]]
            widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
            out += ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in cells]
        out += [_safe(line) for line in self.lines]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's text display."""
        printer.text(self.text())

    def _repr_html_(self) -> str:
        """The title in bold, the table, the lines as paragraphs."""
        parts = [f"<p><b>{_escape(self.title)}</b></p>"]
        if self.columns:
            head = "".join(f'<th style="{_CELL}">{_escape(column)}</th>' for column in self.columns)
            body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{_escape(_shown(v))}</td>' for v in row) + "</tr>" for row in self.rows)
            parts.append(f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
        parts += [f"<p>{_escape(line)}</p>" for line in self.lines]
        return '<div class="nb2prod">' + "".join(parts) + "</div>"


def _safe(text: str) -> str:
    """Text from a record or a notebook as it may be shown: credentials masked, control characters escaped."""
    from .secrets import mask_text

    return printable(mask_text(text))


def _escape(text: str) -> str:
    return html.escape(_safe(text))


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def show(result: Any) -> Any:
    """A displayable form of an API result: a run record, a list of runs, a verification, parameters, an export result.

    Objects that already render themselves (lint results, views) are returned as they are.
    """
    if hasattr(result, "_repr_html_"):
        return result
    from .params import Parameter
    from .records import DamagedRecord, RunRecord

    if isinstance(result, RunRecord):
        return _record(result)
    if isinstance(result, (list, tuple)) and all(isinstance(item, Parameter) for item in result):
        return _parameters(result)
    if isinstance(result, (list, tuple)) and all(isinstance(item, (RunRecord, DamagedRecord)) for item in result):
        return _runs(result)
    kind = type(result).__name__
    if kind == "Verification":
        return _verification(result)
    if kind == "ExportResult":
        return _export(result)
    raise TypeError(f"nb2prod.show cannot display a {kind}")


def _record(record: Any) -> View:
    rows = [("status", record.status), ("duration", f"{record.duration_s:.2f} s" if record.duration_s is not None else "")]
    rows += [(f"parameter {name}", value) for name, value in record.parameters.items()]
    rows += [(f"metric {name}", value) for name, value in record.metrics.items()]
    if record.error:
        rows.append(("error", ": ".join(str(part) for part in (record.error.get("ename"), record.error.get("evalue")) if part)))
    rows.append(("directory", os.fspath(record.directory) if record.directory else ""))
    return View(f"run {record.id} of {record.notebook}: {record.status}", ("", "value"), rows)


def _parameters(parameters: Sequence[Any]) -> View:
    """The parameters table; a secret default (by name or by shape) shows as ``***``, help text masked (as ``nb2prod params``)."""
    from .params import render_value
    from .secrets import REDACTED, is_secret, mask_text

    if not parameters:
        return View("no parameters cell (tag a cell `parameters` to give the notebook parameters)")
    rows = [
        (
            p.name,
            f"{p.type} | None" if p.optional and p.type != "any" else p.type,
            REDACTED if is_secret(p.name, p.default) else render_value(p.default),
            mask_text(p.help) if p.help else p.help,
        )
        for p in parameters
    ]
    return View(f"{len(parameters)} parameter{'s' * (len(parameters) != 1)}", ("name", "type", "default", "help"), rows)


def _runs(entries: Sequence[Any]) -> View:
    from .records import DamagedRecord

    if not entries:
        return View("no runs yet (run the notebook with %nb2prod run)")
    rows = []
    for entry in entries:
        if isinstance(entry, DamagedRecord):
            rows.append((entry.id, "damaged", "", "", str(entry.error)))
        else:
            metrics = ", ".join(f"{name}={_shown(value)}" for name, value in entry.metrics.items())
            rows.append((entry.id, entry.status, entry.notebook, entry.started, metrics))
    return View(f"{len(entries)} run{'s' * (len(entries) != 1)}, newest first", ("id", "status", "notebook", "started", "metrics"), rows)


def _verification(result: Any) -> View:
    rows = [("status", result.record.status, result.rerun.status, "", "yes" if result.same_status else "NO")]
    for metric in result.metrics:
        delta = "" if metric.delta is None else f"{metric.delta:+.3g}"
        rows.append((metric.name, _shown(metric.recorded), _shown(metric.now), delta, "yes" if metric.ok else "NO"))
    tolerances = f"rtol={result.rtol:g}, atol={result.atol:g}"
    verdict = f"reproduced within {tolerances}" if result.reproduced else f"NOT reproduced ({tolerances}): " + ", ".join(result.differences)
    title = f"run {result.record.id} re-run as {result.rerun.id}: {verdict}"
    return View(title, ("metric", "recorded", "now", "delta", "ok"), rows, [f"warning: {w}" for w in result.warnings])


def _export(result: Any) -> View:
    package = result.plan.package if result.plan is not None else "package"
    rows = [(path, "written") for path in result.written] + [(path, "would write") for path in result.stale]
    rows += [(path, "edited by hand: not overwritten") for path in result.refused]
    lines = [*result.warnings, f"{len(result.unchanged)} file{'s' * (len(result.unchanged) != 1)} unchanged"]
    lines += list(result.diffs.values())
    return View(f"{package} in {os.fspath(result.out)}", ("file", "what") if rows else (), rows, lines)
