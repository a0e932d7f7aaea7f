"""A real run's output (a real kernel): what ``nb2prod run`` prints (reliability scenario 59 end to end), and how
often ``output.ipynb`` is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from run_helpers import copy_fixtures

from nb2prod.cli import main
from nb2prod.run import output, run_notebook

pytestmark = pytest.mark.slow


def test_scenario_59_run_prints_a_hostile_metric_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """typed_parameters.ipynb records its `text` parameter as the metric `echo`: a window-title sequence comes back."""
    copy_fixtures(tmp_path, monkeypatch)
    code = main(["run", "typed_parameters.ipynb", "-p", "text=\x1b]0;pwned\x07\x9b2J\nnext", "-p", "learning_rate=1"])
    out = capsys.readouterr().out
    assert code == 0
    assert not any(char in out for char in "\x1b\x07\x9b")
    assert len(out.splitlines()) == 3
    assert "echo=\\x1b]0;pwned\\x07\\x9b2J\\nnext" in out and "learning_rate=1.0" in out


def test_without_save_every_cell_the_output_is_written_once_when_the_run_ends_masked_with_the_failing_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """leaks_secrets.ipynb echoes its secret in every cell and fails in the last one: one write, all of it masked."""
    copy_fixtures(tmp_path, monkeypatch)
    secret = "Zq8HfCoreToken771"
    writes: list[str] = []
    real_write = output.atomic_write

    def counted(path: Any, data: bytes, **options: Any) -> None:
        writes.append(Path(path).name)
        real_write(path, data, **options)

    monkeypatch.setattr(output, "atomic_write", counted)
    record = run_notebook("leaks_secrets.ipynb", strings={"hf_token": secret}, runs_dir="runs", save_every_cell=False)
    assert record.status == "failed" and record.error is not None and record.error["evalue"] == "bad token ***"
    assert writes == ["output.ipynb"]
    text = Path(record.output_path).read_text(encoding="utf-8")
    assert secret not in text and "HfCoreToken" not in text
    assert "bad token ***" in text  # the failing cell's traceback is there, masked
    assert '"status": "failed"' in text  # papermill's end-of-run state, not a save from the middle of the run

    writes.clear()
    run_notebook("leaks_secrets.ipynb", strings={"hf_token": secret}, runs_dir="runs")
    assert writes.count("output.ipynb") > 5  # by default at the start and end of every cell, for those who watch a run
