"""What ``nb2prod run`` prints for a real run (a real kernel): reliability scenario 59 end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_helpers import copy_fixtures

from nb2prod.cli import main

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
