"""The hooks of ``.pre-commit-hooks.yaml`` under the real ``pre-commit`` tool, in a throw-away repository.

Without ``pre-commit`` on PATH the hook test is skipped on a developer's machine, but fails in CI:
CI is told by the ``CI`` environment variable (GitHub Actions, GitLab, CircleCI and most others
set ``CI=true``; ``.ci/run`` sets it too), so a CI image that lost ``pre-commit`` cannot pass
with the hooks untested.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "notebooks" / "train.ipynb"


def in_ci() -> bool:
    """True when the ``CI`` environment variable says the tests run in continuous integration."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def cannot_run(reason: str) -> None:
    """Skip the test on a developer's machine; in CI, fail it: a skipped check there is a check nobody ran."""
    if in_ci():
        pytest.fail(f"{reason}; CI is set, so this test must run, not be skipped")
    pytest.skip(reason)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_strip_hooks_in_a_real_repository(tmp_path: Path, pre_commit_home: Path) -> None:
    """strip fixes the file and fails the run without staging anything; once staged, both hooks pass."""
    if shutil.which("pre-commit") is None:
        cannot_run("pre-commit is not on PATH (`pip install -e '.[dev]'` installs it)")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    if head.returncode != 0:
        cannot_run("the nb2prod checkout has no commit to install the hooks from")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "user.name", "test")
    notebook = repo / "train.ipynb"
    notebook.write_bytes(EXAMPLE.read_bytes())
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {head.stdout.strip()}\n  hooks:\n  - id: nb2prod-strip\n  - id: nb2prod-strip-check\n",
        encoding="utf-8",
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "notebook as the data scientist saved it")
    env = {"PRE_COMMIT_HOME": str(pre_commit_home), "PATH": os.environ["PATH"], "HOME": str(tmp_path)}

    first = subprocess.run(["pre-commit", "run", "--all-files"], cwd=repo, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    data = json.loads(notebook.read_text(encoding="utf-8"))
    assert all(cell.get("outputs", []) == [] for cell in data["cells"]), "the hook stripped the notebook"
    status = git(repo, "status", "--porcelain")
    assert " M train.ipynb" in status.splitlines(), "changed in the work tree, not staged: the hook never runs git add"

    git(repo, "add", "train.ipynb")
    second = subprocess.run(["pre-commit", "run", "--all-files"], cwd=repo, capture_output=True, text=True, env=env, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert git(repo, "status", "--porcelain") == "M  train.ipynb\n"


@pytest.mark.parametrize("ci", ["true", ""], ids=["in-ci", "on-a-developer-machine"])
def test_missing_pre_commit_fails_in_ci_and_skips_elsewhere(ci: str, tmp_path: Path) -> None:
    """The hook test, run where ``pre-commit`` is not on PATH: it fails when CI is set, and is skipped otherwise."""
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "PYTEST_ADDOPTS")}
    empty = tmp_path / "bin"
    empty.mkdir()
    env.update(PATH=str(empty), CI=ci)  # no pre-commit, whatever the machine has installed
    test = f"{Path(__file__).resolve()}::test_strip_hooks_in_a_real_repository"
    command = [sys.executable, "-m", "pytest", test, "-q", "-rs", "-p", "no:randomly", "-p", "no:cacheprovider"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300, check=False)
    if ci:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "CI is set, so this test must run" in result.stdout
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 skipped" in result.stdout and "pre-commit is not on PATH" in result.stdout
