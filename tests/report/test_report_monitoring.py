"""The report's "Production and drift" section: the promoted run and the drift decisions of the audit trail."""

from __future__ import annotations

from pathlib import Path

from report_helpers import make_run

from nb2prod import audit
from nb2prod.report import write_report
from nb2prod.stages import promote


def drift_line(runs: Path, run_id: str, decision: str, failed: list[str]) -> None:
    audit.append(
        runs,
        "drift",
        {
            "reference": {"run": run_id, "profile": "train"},
            "current": [{"path": "data/2026-12-01.csv", "sha256": "0" * 64}],
            "rows": 48211,
            "summary": {"checked": 3, "ok": 3 - len(failed), "warn": 0, "fail": len(failed)},
            "failed": failed,
            "decision": decision,
        },
    )


def test_the_page_shows_the_production_run_and_the_drift_history_newest_first(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    record = make_run(runs, 1, metrics={"accuracy": 0.9})
    promote(record.id, runs_dir=runs)
    drift_line(runs, record.id, "pass", [])
    drift_line(runs, record.id, "fail", ["age", "<script>alert(1)</script>"])
    result = write_report(tmp_path / "report.html", runs_dir=runs, notebooks=False)
    page = result.path.read_text(encoding="utf-8")
    assert '<a href="#production">Production and drift</a>' in page
    assert f'<b>production</b>: run <span class="mono">{record.id}</span> of notebooks/train.ipynb' in page
    table = page[page.index('<table id="drift-table">') : page.index("</table>", page.index('<table id="drift-table">'))]
    assert table.index('data-decision="fail"') < table.index('data-decision="pass"')  # newest first
    assert "age, &lt;script&gt;alert(1)&lt;/script&gt;" in table and "<script>alert" not in page  # escaped
    assert "data/2026-12-01.csv" in table and "48211" in table and "2 / 0 / 1" in table


def test_no_trail_no_section(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, 1, metrics={"accuracy": 0.9})
    page = write_report(tmp_path / "report.html", runs_dir=runs, notebooks=False).path.read_text(encoding="utf-8")
    assert "Production and drift" not in page and "drift-table" not in page
