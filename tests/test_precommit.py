"""The hooks of ``.pre-commit-hooks.yaml`` under the real ``pre-commit`` tool, in a throw-away repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "notebooks" / "train.ipynb"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pre-commit") is None, reason="pre-commit is not installed"),
]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def test_strip_hooks_in_a_real_repository(tmp_path: Path) -> None:
    """strip fixes the file and fails the run without staging anything; once staged, both hooks pass."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    if head.returncode != 0:
        pytest.skip("the nb2prod checkout has no commit to install the hooks from")
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
    env = {"PRE_COMMIT_HOME": str(tmp_path / "cache"), "PATH": os.environ["PATH"], "HOME": str(tmp_path)}

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
