"""Secrets of runs (reliability.md scenario 46): a secret given to a run never reaches a file or a message.

The slow tests run ``tests/data/run/leaks_secrets.ipynb`` in a real kernel: it prints the secret,
writes it to stderr and to file descriptors 1 and 2 (which ipykernel echoes to the kernel
process's own streams, shown on nb2prod's stderr), records it as metrics, displays it as text, HTML, JSON and Markdown, and
raises with it (a verbose traceback, with local values). The secret is given four ways — ``-p``
under a secret name, ``-p`` under a harmless name with a credential-shaped value, the
environment variable ``NB2PROD_PARAM_API_KEY``, and a parameters file (``-f``) — and then searched for in every file of the run
folder and in everything the command line printed (``nb2prod run``, ``runs list/show/compare/check``
as text and JSON). The other tests check records written by hand, older records included.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from run_helpers import copy_fixtures

from nb2prod.cli import main
from nb2prod.errors import RecordError
from nb2prod.records import RunRecord, read_record, write_record

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: (arguments, environment, the secret, a part of it that every escaped form of it still holds)
CASES: dict[str, tuple[list[str], dict[str, str], str, str]] = {
    "secret name": (["-p", "hf_token=Zq8\"HfCoreToken'\\λ-771"], {}, "Zq8\"HfCoreToken'\\λ-771", "HfCoreToken"),
    "credential-shaped value": (
        ["-p", "name=sk-proj-Ab3dEf6hIjCoreKey9kLm2nOp5qRs8tUv", "--format", "json"],
        {},
        "sk-proj-Ab3dEf6hIjCoreKey9kLm2nOp5qRs8tUv",
        "Ab3dEf6hIjCoreKey9kLm",
    ),
    "environment variable": ([], {"NB2PROD_PARAM_API_KEY": "env-Secret-Core-4410"}, "env-Secret-Core-4410", "Secret-Core"),
    "parameters file": (["-f", "secret.json"], {}, "ghp_" + "GhCoreToken" + "a1B2c3D4e5" * 2 + "XyZ4W", "GhCoreToken"),
}


def leaks(text: str, secret: str, core: str) -> bool:
    """Whether ``text`` shows ``secret`` in any form (plain, escaped, coloured)."""
    clean = ANSI.sub("", text)
    shown = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], html.escape(secret)}
    return any(form in text or form in clean for form in (*shown, core))


def views(capsys: pytest.CaptureFixture[str], run_id: str, run_dir: Path) -> dict[str, str]:
    """What ``nb2prod runs list/show/compare/check`` print for the run, as text and JSON, by command."""
    printed = {}
    for view in (["list"], ["show", "latest"], ["compare", run_id, str(run_dir)], ["check", "latest", "--metric", "tok==x"]):
        for output in ("text", "json"):
            code = main(["runs", *view, "--runs-dir", "runs", "--format", output])
            captured = capsys.readouterr()
            assert code in (0, 1), captured.err
            printed[" ".join([*view[:1], output])] = captured.out + captured.err
    return printed


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_scenario_46_a_secret_echoed_by_the_notebook_reaches_no_file_and_no_output(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments, environment, secret, core = CASES[case]
    copy_fixtures(tmp_path, monkeypatch)
    if "-f" in arguments:  # a credential-shaped value under a harmless name, from a file
        Path("secret.json").write_text(json.dumps({"name": secret}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "nb2prod", "run", "leaks_secrets.ipynb", "--runs-dir", "runs", *arguments],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stderr  # the notebook raised
    (run_dir,) = Path("runs", "leaks_secrets").iterdir()
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["metrics"]["length"] == len(secret), "the kernel got the real value"
    assert record["error"]["ename"] == "ValueError" and record["error"]["evalue"] == "bad token ***"
    assert record["metrics"]["tok"] == "***" and record["metrics"]["in_text"] == "the token is ***"
    assert "bad token ***" in result.stderr
    assert "fd 1: ***" in result.stderr and "fd 2: ***" in result.stderr and "a child process: ***" in result.stderr
    if "--format" in arguments:
        assert json.loads(result.stdout)["id"] == record["id"]  # the kernel's own stdout does not break nb2prod's JSON
    output = json.loads((run_dir / "output.ipynb").read_text(encoding="utf-8"))
    assert "***" in json.dumps(output["cells"][-1]["outputs"]), "the traceback is kept, masked"

    printed = {"run stdout": result.stdout, "run stderr": result.stderr, **views(capsys, record["id"], run_dir)}
    files = {path.name: path.read_bytes().decode("utf-8") for path in run_dir.rglob("*") if path.is_file()}
    assert set(files) == {"run.json", "output.ipynb"}
    found = [where for where, text in {**files, **printed}.items() if leaks(text, secret, core)]
    assert found == [], f"the secret shows in {found}"


@pytest.mark.slow
def test_scenario_46_the_environment_variable_counts_as_given_and_loses_to_p(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_fixtures(tmp_path, monkeypatch)
    monkeypatch.setenv("NB2PROD_PARAM_NAME", "from-the-environment")
    monkeypatch.setenv("NB2PROD_PARAM_UNKNOWN", "ignored: no such parameter")
    code = main(["run", "records_metrics.ipynb", "--runs-dir", "runs", "-p", "n=3", "--format", "json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["given"] == ["n"]  # records_metrics has no `name`: the variable is ignored
    monkeypatch.setenv("NB2PROD_PARAM_N", "4")
    monkeypatch.setenv("NB2PROD_PARAM_SEED", "5")
    code = main(["run", "records_metrics.ipynb", "--runs-dir", "runs", "-p", "n=3", "--format", "json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["metrics"]["n"] == 3 and record["parameters"]["seed"] == 5  # -p wins, the environment sets seed
    assert record["given"] == ["seed", "n"]


# --- records written by hand (no kernel) -----------------------------------------------------------

KEY = "sk-proj-Ab3dEf6hIjCoreKey9kLm2nOp5qRs8tUv"


def old_record(runs_dir: Path) -> Path:
    """A run.json as nb2prod wrote it before secrets were masked beyond parameter names."""
    directory = runs_dir / "train" / "20261128T090000Z-aaaaaa"
    directory.mkdir(parents=True)
    data = {
        "schema": "nb2prod.run/1",
        "id": directory.name,
        "notebook": "train.ipynb",
        "notebook_sha256": "",
        "parameters": {"name": KEY, "db_pwd": "hunter2-Pwd-Core", "api_token": "***", "seed": 1},
        "status": "failed",
        "error": {"cell_index": 2, "cell_id": "c", "ename": "ValueError", "evalue": f"bad {KEY} and hunter2-Pwd-Core"},
        "started": "2026-11-28T09:00:00Z",
        "metrics": {"tok": KEY, "pwd": "hunter2-Pwd-Core", f"key {KEY}": 1, "accuracy": 0.5},
        "inputs": {KEY: "sha256:00"},
    }
    (directory / "run.json").write_text(json.dumps(data), encoding="utf-8")
    return directory


def test_scenario_46_runs_views_mask_records_written_before_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = old_record(tmp_path / "runs")
    record = read_record(directory)
    assert record.parameters == {"name": "***", "db_pwd": "***", "api_token": "***", "seed": 1}
    assert record.given is None  # an older record does not say which values were given
    for view in (["list"], ["show", "latest"], ["compare", record.id, str(directory)], ["check", "latest", "--metric", "tok==x"]):
        for output in ("text", "json"):
            main(["runs", *view, "--runs-dir", str(tmp_path / "runs"), "--format", output])
            captured = capsys.readouterr()
            shown = captured.out + captured.err
            assert "CoreKey" not in shown and "Pwd-Core" not in shown, (view, output, shown)
            assert "***" in shown


def test_a_written_record_masks_secret_values_everywhere_and_says_what_was_given(tmp_path: Path) -> None:
    directory = tmp_path / "runs" / "train" / "20261128T090000Z-bbbbbb"
    directory.mkdir(parents=True)
    record = RunRecord(
        id=directory.name,
        notebook="train.ipynb",
        notebook_sha256="",
        parameters={"api_key": "abc-Key-Core-123", "name": KEY, "seed": 1, "hf_token": ""},
        given=["api_key", "name"],
        status="failed",
        started="2026-11-28T09:00:00Z",
        error={"cell_index": 1, "cell_id": "x", "ename": "ValueError", "evalue": "bad abc-Key-Core-123"},
        metrics={"tok": "abc-Key-Core-123", "list": [f"'{KEY}'"]},
        directory=directory,
    )
    write_record(record)
    text = (directory / "run.json").read_text(encoding="utf-8")
    assert "Key-Core" not in text and "CoreKey" not in text
    stored = json.loads(text)
    assert stored["parameters"] == {"api_key": "***", "name": "***", "seed": 1, "hf_token": ""}
    assert stored["given"] == ["api_key", "name"] and list(stored)[-1] == "given"  # after the keys DESIGN.md lists, in their order
    assert stored["error"]["evalue"] == "bad ***" and stored["metrics"] == {"tok": "***", "list": ["'***'"]}
    record.metrics["late"] = "abc-Key-Core-123"  # a record redacted once still knows its secrets
    write_record(record)
    assert "Key-Core" not in (directory / "run.json").read_text(encoding="utf-8")


def test_a_record_without_given_reads_and_writes_as_before(tmp_path: Path) -> None:
    directory = old_record(tmp_path / "runs")
    record = read_record(directory)
    assert "given" not in record.to_json()
    data: dict[str, Any] = json.loads((directory / "run.json").read_text(encoding="utf-8"))
    data["given"] = "seed"
    (directory / "run.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(RecordError, match="'given' is the string \"seed\", expected a list of strings or null"):
        read_record(directory)  # a damaged record, as for any stored field of the wrong type


def test_scenario_46_a_malformed_p_does_not_echo_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "missing.ipynb", "-p", KEY]) == 2
    err = capsys.readouterr().err
    assert "CoreKey" not in err and "expected NAME=VALUE" in err


def test_scenario_46_a_value_that_does_not_fit_is_not_echoed_when_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = tmp_path / "typed.py"
    notebook.write_text('# %% tags=["parameters"]\nlimit = 3\napi_key = 1\n', encoding="utf-8")
    assert main(["run", str(notebook), "-p", f"limit={KEY}", "--runs-dir", str(tmp_path / "runs")]) == 2
    assert main(["run", str(notebook), "-p", "api_key=hunter2-Pwd-Core", "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "CoreKey" not in err and "Pwd-Core" not in err and err.count("not shown: a secret") == 2, err
    assert not (tmp_path / "runs").exists()
