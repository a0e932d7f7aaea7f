"""A run appends its audit line (``nb2prod.audit.record_run``) at the end of ``run_notebook``: real kernel, secrets masked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from run_helpers import copy_fixtures

from nb2prod import audit
from nb2prod.run import run_notebook

SECRET = "Zq8HfCoreToken-771-secret"


@pytest.mark.slow
def test_scenario_46_a_run_appends_its_line_with_the_secret_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The line holds the run id, the notebook's hash, the status, the parameters redacted as in run.json, the record's hash."""
    copy_fixtures(tmp_path, monkeypatch)
    record = run_notebook("leaks_secrets.ipynb", strings={"hf_token": SECRET}, runs_dir="runs", environ={})
    assert record.status == "failed"  # the notebook raises, with the secret in its message
    (line,) = audit.entries("runs")
    run = line["run"]
    assert line["event"] == "run" and line["decision"] == "failed" and run["status"] == "failed"
    assert run["id"] == record.id and run["notebook"] == "leaks_secrets.ipynb"
    assert run["notebook_sha256"] == hashlib.sha256(Path("leaks_secrets.ipynb").read_bytes()).hexdigest()
    assert run["parameters"]["hf_token"] == "***" and run["parameters"] == record.parameters
    assert run["record_sha256"] == audit.sha256_file(record.directory / "run.json")  # type: ignore[operator]
    assert "HfCoreToken" not in Path("runs", "audit.jsonl").read_text()
    assert audit.verify("runs").ok
