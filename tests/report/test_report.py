"""The report page written by ``nb2prod.report.write_report``: content, escaping, links, size."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from report_helpers import make_run, make_sweep

from nb2prod.errors import RecordError
from nb2prod.report import write_report

EVIL = '<script>window.pwned=1</script>"&'


class Page(HTMLParser):
    """The parts of a page the tests look at: script bodies, the CSP, links, elements by class and data-metric."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.csp = ""
        self.hrefs: list[str] = []
        self.sources: list[str] = []
        self.rows = 0
        self.figures: list[tuple[str, str]] = []  # (data-metric, data-kind)
        self._in_script = False
        self._in_body = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if tag == "meta" and values.get("http-equiv") == "Content-Security-Policy":
            self.csp = values["content"] or ""
        if "href" in values:
            self.hrefs.append(values["href"] or "")
        if "src" in values:
            self.sources.append(values["src"] or "")
        if tag == "tbody":
            self._in_body = True
        if tag == "tr" and self._in_body:
            self.rows += 1
        if tag == "figure":
            self.figures.append((values.get("data-metric") or "", values.get("data-kind") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag == "tbody":
            self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def test_the_page_has_a_row_per_run_and_charts_for_every_metric_and_swept_parameter(tmp_path: Path) -> None:
    make_sweep(tmp_path / "runs", count=6)
    result = write_report(tmp_path / "report.html", runs_dir=tmp_path / "runs", sweep="sweep-1")
    page = Page(result.path.read_text(encoding="utf-8"))
    assert page.rows == 6
    against = [(m, k) for m, k in page.figures if k == "parameter"]
    assert sorted(against) == sorted((m, "parameter") for m in ("accuracy", "loss") for _ in ("lr", "model"))
    assert sorted(m for m, k in page.figures if k == "history") == ["accuracy", "loss"]
    assert result.size == result.path.stat().st_size


def test_best_run_is_named_at_the_top(tmp_path: Path) -> None:
    make_sweep(tmp_path / "runs", count=6)
    text = write_report(tmp_path / "r.html", runs_dir=tmp_path / "runs", best="min:accuracy").path.read_text(encoding="utf-8")
    best = re.search(r'<div class="card best" id="best">(.*?)</div>', text, re.S)
    assert best and "accuracy (lower is better)" in best.group(1) and ">0.7</span></b>" in best.group(1)


def test_nothing_but_the_one_inline_script_and_it_is_the_only_one_the_policy_allows(tmp_path: Path) -> None:
    make_sweep(tmp_path / "runs", count=3)
    page = Page(write_report(tmp_path / "r.html", runs_dir=tmp_path / "runs").path.read_text(encoding="utf-8"))
    assert len(page.scripts) == 1
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode()).digest()).decode()
    assert page.csp == f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'"
    assert page.sources == []  # no external script, image or frame
    assert all(href.startswith("#") or not re.match(r"[a-z]+:", href) for href in page.hrefs)  # every link is on the page or relative


def test_script_in_metric_names_parameter_values_and_notebook_names_is_escaped(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for index in range(3):
        make_run(
            runs,
            index,
            notebook=f"nb/{EVIL}.ipynb",
            parameters={EVIL: f"{EVIL}{index}", "n": index},
            metrics={EVIL: float(index), "ok": 1.0},
        )
    result = write_report(tmp_path / "r.html", runs_dir=runs, best=EVIL)
    text = result.path.read_text(encoding="utf-8")
    page = Page(text)
    assert len(page.scripts) == 1 and "pwned" not in page.scripts[0]
    assert "<script>window" not in text
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in text
    assert (EVIL, "parameter") in page.figures  # the metric is charted under its own (escaped) name
    assert page.rows == 3


def test_each_run_links_to_its_executed_notebook_rendered_next_to_the_page(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    records = make_sweep(runs, count=2)
    make_run(runs, 5, output=False, metrics={"accuracy": 0.1})
    result = write_report(tmp_path / "out" / "report.html", runs_dir=runs) if (tmp_path / "out").mkdir() is None else None
    assert result is not None
    page = Page(result.path.read_text(encoding="utf-8"))
    links = sorted({href for href in page.hrefs if href.startswith("report_files/")})
    assert links == sorted(f"report_files/{r.id}.html" for r in records)
    for link in links:
        rendered = (result.path.parent / unquote(link)).read_text(encoding="utf-8")
        assert "trained" in rendered and "run " in rendered  # the cell's source and its output
        assert "default-src 'none'" in rendered and "<script" not in rendered
        assert 'href="../report.html"' in rendered
    assert result.rendered == 2 and result.notebooks == tmp_path / "out" / "report_files"
    assert list(result.missing.values()) == ["no executed notebook (the run did not start its kernel, or output.ipynb was removed)"]


def test_a_damaged_executed_notebook_gets_no_link_and_the_others_do(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    good, bad = make_sweep(runs, count=2)
    bad.output_path.write_text("{not a notebook", encoding="utf-8")
    result = write_report(tmp_path / "report.html", runs_dir=runs)
    assert result.rendered == 1
    assert "executed notebook unreadable" in result.missing[bad.id]
    assert (tmp_path / "report_files" / f"{good.id}.html").is_file()


def test_no_notebooks_renders_none(tmp_path: Path) -> None:
    make_sweep(tmp_path / "runs", count=2)
    result = write_report(tmp_path / "report.html", runs_dir=tmp_path / "runs", notebooks=False)
    assert result.notebooks is None and not (tmp_path / "report_files").exists()
    assert "not rendered (--no-notebooks)" in result.path.read_text(encoding="utf-8")


def test_a_run_id_unsafe_as_a_file_name_still_gets_a_working_link(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    record = make_sweep(runs, count=1)[0]
    path = record.directory / "run.json"
    path.write_text(path.read_text(encoding="utf-8").replace(record.id, "../../x y?#z"), encoding="utf-8")
    result = write_report(tmp_path / "report.html", runs_dir=runs)
    links = [h for h in Page(result.path.read_text(encoding="utf-8")).hrefs if h.startswith("report_files/")]
    assert links and all((tmp_path / unquote(link)).is_file() for link in links)
    assert [p.name for p in (tmp_path / "report_files").iterdir()] == [".._.._x_y__z.html"]


def test_no_such_runs_writes_nothing(tmp_path: Path) -> None:
    make_sweep(tmp_path / "runs", count=1)
    with pytest.raises(RecordError):
        write_report(tmp_path / "report.html", runs_dir=tmp_path / "runs", sweep="other")
    assert list(tmp_path.iterdir()) == [tmp_path / "runs"]


def test_a_hundred_runs_fit_in_an_email(tmp_path: Path) -> None:
    """100 runs, 4 metrics, 3 swept parameters: the page stays under 1 MB (about 0.45 MB; the notebooks are beside it)."""
    runs = tmp_path / "runs"
    for index in range(100):
        accuracy = 0.6 + (index * 37 % 100) / 400
        make_run(
            runs,
            index,
            parameters={"lr": [0.001, 0.01, 0.1][index % 3], "depth": index % 7, "model": ["a", "b"][index % 2], "seed": 0},
            metrics={"accuracy": accuracy, "f1": accuracy - 0.02, "loss": 1 - accuracy, "seconds": index / 10},
            sweep="big",
        )
    result = write_report(tmp_path / "report.html", runs_dir=runs, sweep="big", notebooks=False)
    page = Page(result.path.read_text(encoding="utf-8"))
    assert page.rows == 100 and len(page.figures) == 4 * 3 + 4
    assert result.size < 1_000_000, result.size


def test_one_run_without_metrics_still_makes_a_page(tmp_path: Path) -> None:
    make_run(tmp_path / "runs", 1, parameters={"n": 1}, status="failed")
    result = write_report(tmp_path / "report.html", runs_dir=tmp_path / "runs")
    text = result.path.read_text(encoding="utf-8")
    page = Page(text)
    assert page.rows == 1 and page.figures == []
    assert "No run recorded a numeric metric" in text and 'id="best"' not in text
    assert "ValueError: bad value (cell 2)" in text  # the failed run's error, in its details
