"""The workflow ``nb2prod init --ci github`` writes: valid YAML whose shell steps do what their comments say.

GitHub Actions cannot run here, so the metrics step's script runs under bash with a stand-in
``nb2prod`` on PATH that records its arguments: each listed notebook is run into its own runs
folder and checked with its gates, comment lines are skipped, and a failing gate fails the step.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from nb2prod.ci_workflow import github_workflow

STAND_IN = """#!/bin/sh
echo "$@" >> "$CALLS"
case "$*" in *"f1>=0.99"*) exit 1 ;; esac
exit 0
"""


def metrics_script() -> tuple[str, str]:
    jobs = yaml.safe_load(github_workflow("9.9.9"))["jobs"]
    step = next(step for step in jobs["metrics"]["steps"] if step.get("name") == "run notebooks and check their metrics")
    return step["run"], jobs["metrics"]["env"]["NB2PROD_GATES"]


def run_script(tmp_path: Path, gates: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stand_in = bin_dir / "nb2prod"
    stand_in.write_text(STAND_IN, encoding="utf-8")
    stand_in.chmod(0o755)
    calls = tmp_path / "calls.txt"
    calls.write_text("", encoding="utf-8")
    script, _ = metrics_script()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls), "NB2PROD_GATES": gates}
    # GitHub runs `run:` steps with `bash -e {0}`.
    result = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    return result, calls.read_text(encoding="utf-8").splitlines()


def test_workflow_pins_the_version_and_has_the_three_gates() -> None:
    text = github_workflow("9.9.9")
    workflow = yaml.safe_load(text)
    assert set(workflow["jobs"]) == {"hygiene", "exports", "metrics"}
    installs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "pip install" in step.get("run", "")]
    assert 'pip install "nb2prod==9.9.9"' in installs
    hygiene = [step.get("run") for step in workflow["jobs"]["hygiene"]["steps"]]
    assert hygiene[-3:] == ["nb2prod strip --check .", "nb2prod lint --format github .", "nb2prod fmt --check ."]


def test_metrics_step_runs_each_listed_notebook_and_checks_its_gates(tmp_path: Path) -> None:
    gates = "# a comment\nnotebooks/train.ipynb accuracy>=0.9 f1>=0.85\n\nnotebooks/other.ipynb loss<0.5\n"
    result, calls = run_script(tmp_path, gates)
    assert result.returncode == 0, result.stderr
    assert calls == [
        "run notebooks/train.ipynb --runs-dir runs-ci/1",
        "runs check latest --runs-dir runs-ci/1 --metric accuracy>=0.9 --metric f1>=0.85",
        "run notebooks/other.ipynb --runs-dir runs-ci/2",
        "runs check latest --runs-dir runs-ci/2 --metric loss<0.5",
    ]
    assert not (tmp_path / "0.9").exists(), "'>=' never became a shell redirection"


def test_a_failing_gate_fails_the_step(tmp_path: Path) -> None:
    result, calls = run_script(tmp_path, "a.ipynb f1>=0.99\nb.ipynb x>1\n")
    assert result.returncode != 0 and calls == [
        "run a.ipynb --runs-dir runs-ci/1",
        "runs check latest --runs-dir runs-ci/1 --metric f1>=0.99",
    ]


def test_the_default_gates_are_a_comment_and_the_step_says_so(tmp_path: Path) -> None:
    _, default = metrics_script()
    result, calls = run_script(tmp_path, default)
    assert result.returncode == 0 and calls == [] and "::notice::no notebooks listed in NB2PROD_GATES" in result.stdout
