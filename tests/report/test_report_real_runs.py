"""The report of real runs: a small notebook run twice through papermill in a real kernel, then reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nb2prod.report import write_report
from nb2prod.run import run_notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "data" / "run" / "records_metrics.ipynb"


@pytest.mark.slow
def test_report_of_real_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(NOTEBOOK, tmp_path / "records_metrics.ipynb")
    monkeypatch.chdir(tmp_path)
    first = run_notebook("records_metrics.ipynb", strings={"n": "4"}, runs_dir="runs")
    second = run_notebook("records_metrics.ipynb", strings={"n": "8"}, runs_dir="runs")
    assert first.status == second.status == "ok"
    result = write_report("report.html", runs_dir="runs", notebook="records_metrics")
    assert result.data.swept == ("n",)
    assert set(result.data.metrics) == {"mean", "n"}
    text = result.path.read_text(encoding="utf-8")
    assert text.count('<figure class="chart" data-metric="mean" data-kind="parameter">') == 1
    rendered = (tmp_path / "report_files" / f"{second.id}.html").read_text(encoding="utf-8")
    assert "done" in rendered and "injected-parameters" in rendered  # the executed notebook: its output and papermill's cell
    assert f'href="report_files/{second.id}.html"' in text
