"""``nb2prod drift --report drift.html``: one self-contained HTML page of a drift check.

No script, no stylesheet or font from the network: inline CSS and one inline SVG bar chart per
drifted column (reference vs new share per bin), so the page opens offline and stays small even
with hundreds of columns (only columns at warn or fail get a chart). Every string from the data
(column names, categories) is HTML-escaped.
"""

from __future__ import annotations

import html
from typing import Any

from ..text import printable
from .checks import DriftResult

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}.fail{color:#b00020;font-weight:bold}.warn{color:#a06000;font-weight:bold}
.ok{color:#2e7d32}.note{color:#666;font-size:.9em}svg{background:#fafafa}h2{margin-top:2em}
"""
_CHART_WIDTH = 640
_BAR_HEIGHT = 14


def render_html(result: DriftResult, *, title: str = "nb2prod drift") -> str:
    """The report page as a string."""
    document = result.to_json()
    summary = document["summary"]
    decision = "FAILED" if result.failed else "passed"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>Profile <b>{_e(str(document['reference']['profile']))}</b> ({document['reference']['rows']} rows) against "
        f"{document['rows']} new rows. Gate <code>{_e(', '.join(document['gate']['fail_on']))}</code>: "
        f'<span class="{"fail" if result.failed else "ok"}">{decision}</span>.</p>',
        f"<p>{summary['checked']} columns checked: {summary['fail']} fail, {summary['warn']} warn, {summary['ok']} ok, "
        f"{summary['insufficient']} insufficient, {summary['unsupported']} unsupported. Significance level per column: "
        f"{result.alpha:.3g} (alpha {result.options.alpha:g} / {summary['checked'] or 1}). Every metric: higher is drift.</p>",
    ]
    if result.gate_reasons:
        parts.append("<ul>" + "".join(f"<li>{_e(reason)}</li>" for reason in result.gate_reasons[:50]) + "</ul>")
    parts.append(_table(result))
    for column in result.columns:
        if column.status in ("warn", "fail") and column.bins:
            parts.append(f"<h2>{_e(column.name)} <span class='{column.status}'>{column.status}</span></h2>")
            parts.append(_chart(column.bins))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _e(text: str) -> str:
    """Text from the data made safe in HTML: control characters shown escaped, markup characters as entities."""
    return html.escape(printable(str(text)))


def _cell(value: Any) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, float):
        return f"<td>{value:.4g}</td>"
    return f"<td>{_e(str(value))}</td>"


def _table(result: DriftResult) -> str:
    header = ["column", "kind", "status", "n_ref", "n_new", "psi", "p", "js", "ks", "w1", "missing", "out_of_range", "unseen", "notes"]
    rows = ["<table><tr>" + "".join(f"<th>{name}</th>" for name in header) + "</tr>"]
    for column in result.columns:
        psi = column.metric("psi")
        cells = [
            f"<td>{_e(column.name)}</td>",
            _cell(column.kind),
            f"<td class='{column.status}'>{column.status}</td>",
            _cell(column.n_ref),
            _cell(column.n_new),
            _cell(psi.value if psi else None),
            _cell(psi.p_value if psi else None),
            *(_cell(column.value(name)) for name in ("js", "ks", "w1", "missing", "out_of_range", "unseen")),
            f"<td class='note'>{_e('; '.join(_notes(column)))}</td>",
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    thresholds = "; ".join(f"{m.name} warn &gt; {m.warn:g}, fail &gt; {m.fail:g}" for m in _threshold_examples(result))
    if thresholds:
        rows.append(f"<p class='note'>Thresholds: {thresholds}.</p>")
    return "\n".join(rows)


def _notes(column: Any) -> list[str]:
    return column.notes + [metric.detail for metric in column.metrics if metric.detail and metric.status != "ok"]


def _threshold_examples(result: DriftResult) -> list[Any]:
    seen: dict[str, Any] = {}
    for column in result.columns:
        for metric in column.metrics:
            if metric.warn is not None and metric.name not in seen:
                seen[metric.name] = metric
    return list(seen.values())


def _chart(bins: list[tuple[str, float, float]]) -> str:
    """Horizontal bars: reference (grey) and new (orange) share of each bin."""
    shown = bins[:40]
    label_width = 180
    height = len(shown) * (2 * _BAR_HEIGHT + 6) + 24
    largest = max((max(ref, new) for _, ref, new in shown), default=0.0) or 1.0
    scale = (_CHART_WIDTH - label_width - 60) / largest
    items = [f'<svg width="{_CHART_WIDTH}" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    items.append(f'<text x="{label_width}" y="12" font-size="11" fill="#888">reference</text>')
    items.append(f'<text x="{label_width + 80}" y="12" font-size="11" fill="#e07000">new</text>')
    y = 20
    for label, ref, new in shown:
        text = label if len(label) <= 28 else label[:27] + "…"
        items.append(f'<text x="{label_width - 6}" y="{y + _BAR_HEIGHT + 2}" font-size="11" text-anchor="end">{_e(text)}</text>')
        items.append(f'<rect x="{label_width}" y="{y}" width="{ref * scale:.1f}" height="{_BAR_HEIGHT}" fill="#9e9e9e"/>')
        items.append(f'<text x="{label_width + ref * scale + 4:.1f}" y="{y + 11}" font-size="10">{ref:.1%}</text>')
        y += _BAR_HEIGHT
        items.append(f'<rect x="{label_width}" y="{y}" width="{new * scale:.1f}" height="{_BAR_HEIGHT}" fill="#e07000"/>')
        items.append(f'<text x="{label_width + new * scale + 4:.1f}" y="{y + 11}" font-size="10">{new:.1%}</text>')
        y += _BAR_HEIGHT + 6
    if len(bins) > len(shown):
        items.append(f'<text x="4" y="{height - 4}" font-size="10">… {len(bins) - len(shown)} more bins</text>')
    items.append("</svg>")
    return "\n".join(items)
