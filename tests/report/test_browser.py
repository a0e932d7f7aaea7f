"""The report opened in headless Chromium: no console error, no network request, rows and charts there, a non-blank screenshot.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it when it is missing). Without it
the tests are skipped on a developer's machine and fail in CI (the ``CI`` environment variable),
as the pre-commit tests do: a check nobody ran must not pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from browser import chromium, open_page, png_pixels
from report_helpers import make_run

from nb2prod.report import write_report

EVIL = "<script>window.pwned=1</script>"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


pytestmark = pytest.mark.skipif(chromium() is None and not in_ci(), reason="chromium is not installed (apt-get install chromium)")

EXPRESSIONS = {
    "rows": "document.querySelectorAll('#runs-table tbody tr').length",
    "charted": "[...new Set([...document.querySelectorAll('figure.chart')]"
    ".filter(f => f.querySelector('svg circle')).map(f => f.dataset.metric))]",
    "scripts": "document.scripts.length",
    "pwned": "typeof window.pwned",
    "best_row": "document.querySelector('#runs-table tr.best').dataset.run",
    # two clicks on the accuracy header: descending, so the best run comes first
    "sorted_first": """(() => {
        const th = [...document.querySelectorAll('#runs-table thead th')].find(t => t.textContent.trim() === 'accuracy');
        th.querySelector('button').click(); th.querySelector('button').click();
        return [th.getAttribute('aria-sort'), document.querySelector('#runs-table tbody tr').dataset.run];
    })()""",
    "styled": "getComputedStyle(document.querySelector('.pt-best')).fill",
}


def make_runs(runs: Path) -> None:
    for index in range(6):
        lr = [0.001, 0.01, 0.1][index % 3]
        accuracy = 0.7 + 0.04 * index
        make_run(
            runs,
            index,
            parameters={"lr": lr, "model": ["tree", "forest"][index % 2], "seed": 0},
            metrics={"accuracy": accuracy, "loss": 1 - accuracy, EVIL: float(index)},
            sweep="s",
        )


def test_report_in_headless_chromium(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    result = write_report(tmp_path / "report.html", runs_dir=tmp_path / "runs", sweep="s")
    page = open_page(result.path, tmp_path / "profile", expressions=EXPRESSIONS)
    assert page.console_errors == []
    assert page.requests == [result.path.resolve().as_uri()] and page.blocked == []  # the page itself, nothing else
    values = page.values
    assert values["rows"] == 6
    assert sorted(values["charted"]) == sorted(["accuracy", "loss", EVIL])  # one chart (at least) per metric, drawn
    assert values["scripts"] == 1 and values["pwned"] == "undefined"
    assert values["sorted_first"] == ["descending", values["best_row"]]
    assert values["styled"] == "rgb(220, 38, 38)"  # the page's styles apply (not escaped into nonsense)
    shot = tmp_path / "report.png"
    shot.write_bytes(page.screenshot)
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (640, 450)
    pixels = [row[i : i + 3] for row in rows for i in range(0, len(row), len(row) // width)]
    colours = set(pixels)
    inked = sum(1 for p in pixels if p != b"\xff\xff\xff" and p != b"\xf8\xfa\xfc")  # neither white nor the background
    assert len(colours) > 50 and inked > len(pixels) // 50, (len(colours), inked)


def test_executed_notebook_page_opens_offline(tmp_path: Path) -> None:
    make_runs(tmp_path / "runs")
    result = write_report(tmp_path / "report.html", runs_dir=tmp_path / "runs", sweep="s")
    notebook = next(result.notebooks.iterdir())
    page = open_page(
        notebook, tmp_path / "profile", expressions={"text": "document.body.innerText", "back": "document.querySelector('a').href"}
    )
    assert page.console_errors == []
    assert page.requests == [notebook.resolve().as_uri()]
    assert "trained" in page.values["text"] and "run " in page.values["text"]
    assert page.values["back"] == result.path.resolve().as_uri()


def test_executed_notebook_with_remote_content_makes_no_request_and_runs_no_script(tmp_path: Path) -> None:
    record = make_run(tmp_path / "runs", 1, metrics={"m": 1.0})
    notebook = json.loads(record.output_path.read_text(encoding="utf-8"))
    html = '<img src="http://example.com/tracker.png"><script>window.pwned = 1</script><b>shown</b>'
    notebook["cells"][1]["outputs"].append({"output_type": "display_data", "metadata": {}, "data": {"text/html": [html]}})
    record.output_path.write_text(json.dumps(notebook), encoding="utf-8")
    result = write_report(tmp_path / "report.html", runs_dir=tmp_path / "runs")
    page_path = result.notebooks / f"{record.id}.html"
    page = open_page(page_path, tmp_path / "profile", expressions={"pwned": "typeof window.pwned", "text": "document.body.innerText"})
    assert page.requests == [page_path.resolve().as_uri()]
    assert page.blocked == ["http://example.com/tracker.png"]
    assert page.values["pwned"] == "undefined" and "shown" in page.values["text"]
    assert all("Content Security Policy" in message for message in page.console_errors)  # only the refusals


def test_the_harness_sees_console_errors_and_requests(tmp_path: Path) -> None:
    """The checks above can fail: a page that logs an error and fetches a remote image is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><p>x</p><script>console.error("boom")</script><img src="http://example.invalid/x.png">')
    page = open_page(bad, tmp_path / "profile", expressions={})
    assert "boom" in page.console_errors
    assert "http://example.invalid/x.png" in page.requests and page.blocked == []
