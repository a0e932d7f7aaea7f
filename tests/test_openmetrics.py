"""The OpenMetrics export (``nb2prod.openmetrics``, ``nb2prod runs metrics``), parsed by prometheus_client's strict parser."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from nb2prod import audit
from nb2prod.cli import main
from nb2prod.openmetrics import escape_label, format_value, render, sanitise_name
from nb2prod.records import RunRecord, write_record


def fake_run(runs: Path, run_id: str, notebook: str, metrics: dict, status: str = "ok") -> RunRecord:
    directory = runs / Path(notebook).stem / run_id
    directory.mkdir(parents=True)
    record = RunRecord(
        id=run_id,
        notebook=notebook,
        notebook_sha256="",
        parameters={},
        status=status,
        started=f"{run_id[:4]}-12-06T10:00:00.000Z",
        finished="2026-12-06T10:00:30.500Z",
        duration_s=30.5,
        metrics=metrics,
        directory=directory,
    )
    write_record(record)
    return record


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_latest_runs_stages_and_drift_parse_as_openmetrics(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    fake_run(runs, "20261206T090000Z-000001", "train.ipynb", {"accuracy": 0.5})
    odd = 'val/acc "macro"\\\nF1'
    latest = fake_run(runs, "20261206T100000Z-000002", "train.ipynb", {"accuracy": 0.91, odd: float("nan"), "ok": True, "name": "x"})
    fake_run(runs, "20261206T100000Z-000003", 'we"ird\nbook.ipynb', {"loss": float("inf")}, status="failed")
    from nb2prod.stages import promote

    promote(latest.id, runs_dir=runs)
    audit.append(
        runs,
        "drift",
        {
            "reference": {"run": latest.id, "profile": "train"},
            "summary": {"checked": 2, "ok": 1, "fail": 1, "share": 0.5},
            "decision": "fail",
        },
    )
    text = render(runs)
    assert text.endswith("# EOF\n")
    found = samples(text)  # the strict parser raises on anything invalid
    assert found[("nb2prod_run_metric", (("metric", "accuracy"), ("notebook", "train.ipynb"), ("run", latest.id)))] == 0.91
    assert math.isnan(found[("nb2prod_run_metric", (("metric", odd), ("notebook", "train.ipynb"), ("run", latest.id)))])
    assert found[("nb2prod_run_metric", (("metric", "ok"), ("notebook", "train.ipynb"), ("run", latest.id)))] == 1
    assert not any(key[1] and ("metric", "name") in key[1] for key in found)  # text metrics are left out
    assert (
        found[("nb2prod_run_metric", (("metric", "loss"), ("notebook", 'we"ird\nbook.ipynb'), ("run", "20261206T100000Z-000003")))]
        == math.inf
    )
    assert found[("nb2prod_run_ok", (("notebook", 'we"ird\nbook.ipynb'), ("run", "20261206T100000Z-000003")))] == 0
    assert found[("nb2prod_run_duration_seconds", (("notebook", "train.ipynb"), ("run", latest.id)))] == 30.5
    assert found[("nb2prod_stage_run", (("notebook", "train.ipynb"), ("run", latest.id), ("stage", "production")))] == 1
    assert found[("nb2prod_drift_failed", (("profile", "train"), ("reference", latest.id)))] == 1
    assert found[("nb2prod_drift_columns", (("profile", "train"), ("reference", latest.id), ("status", "fail")))] == 1
    assert "20261206T090000Z-000001" not in text  # only the latest run of each notebook


def test_runs_metrics_writes_the_file_atomically(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    fake_run(runs, "20261206T100000Z-000002", "train.ipynb", {"accuracy": 0.91})
    out = tmp_path / "textfile" / "nb2prod.prom"
    out.parent.mkdir()
    assert main(["runs", "metrics", "--openmetrics", "--runs-dir", str(runs), "-o", str(out)]) == 0
    assert out.read_text() == render(runs) and not list(out.parent.glob(".*"))
    assert main(["runs", "metrics", "--runs-dir", str(tmp_path / "empty")]) == 0
    assert capsys.readouterr().out == "# EOF\n"


def test_names_values_and_labels_are_spelt_as_the_format_wants() -> None:
    assert sanitise_name("nb2prod_run.metric-1") == "nb2prod_run_metric_1" and sanitise_name("1x") == "_1x"
    assert escape_label('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
    assert [format_value(v) for v in (True, 3, 0.1, float("nan"), float("-inf"))] == ["1", "3", "0.1", "NaN", "-Inf"]
