"""nb2prod's hooks as ``nb2prod init`` configures them, under the real ``pre-commit`` in throw-away repositories.

``nb2prod init`` writes the block a user gets (``repo: https://github.com/nb2prod/nb2prod``, ``rev:
v{version}``); GitHub cannot be reached from the tests, so the tests point that block's ``repo`` at
this checkout and its ``rev`` at HEAD, as tests/test_precommit.py does (commit first: pre-commit
installs the committed tree). One pre-commit cache serves the session (tests/conftest.py), so the
hook environment is built once.

Covers: the export-check hook fails on a stale package, naming the command that refreshes it, and
passes once that command ran; a commit of a notebook with outputs and a secret fails with the
strip and lint hooks named, and the user's unstaged edit of that notebook survives, nothing staged
by a hook (reliability.md scenario 40); text notebooks opted in with a ``files:`` pattern go through every hook while plain
modules are left alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def in_ci() -> bool:
    """True when the ``CI`` environment variable says the tests run in continuous integration."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory, pre_commit_home: Path) -> dict[str, str]:
    """The environment for ``pre-commit`` (the session's cache) and the commit of this checkout to install."""
    reason = None
    if shutil.which("pre-commit") is None:
        reason = "pre-commit is not on PATH (`pip install -e '.[dev]'` installs it)"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    if head.returncode != 0:
        reason = "the nb2prod checkout has no commit to install the hooks from"
    if reason is not None:
        if in_ci():
            pytest.fail(f"{reason}; CI is set, so this test must run, not be skipped")
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("precommit-user")
    # The export check is a `language: system` hook: it runs the nb2prod of the user's environment, this one's.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {"PRE_COMMIT_HOME": str(pre_commit_home), "PATH": path, "HOME": str(home)}
    return {**env, "NB2PROD_REV": head.stdout.strip()}


def git(repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check, env=env)


def nb2prod(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """This checkout's nb2prod, as the user runs it in the repository."""
    return subprocess.run([sys.executable, "-m", "nb2prod", *args], cwd=repo, capture_output=True, text=True, check=False)


SEPARATE = ["nb2prod-strip", "nb2prod-fmt", "nb2prod-lint"]


def new_repo(
    tmp_path: Path, hooks: dict[str, str], pyproject: str | None = None, *, text_notebooks: bool = False, separate: bool = False
) -> Path:
    """A git repository set up by ``nb2prod init``, its hook block pointed at this checkout.

    ``separate``: the three separate hooks in place of the ``nb2prod-check`` hook init writes.
    """
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "user.name", "test")
    if pyproject is not None:
        (repo / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    done = nb2prod(repo, "init")
    assert done.returncode == 0, done.stderr
    config_path = repo / ".pre-commit-config.yaml"
    text = config_path.read_text(encoding="utf-8")
    assert "repo: https://github.com/nb2prod/nb2prod" in text
    text = text.replace("https://github.com/nb2prod/nb2prod", str(ROOT))
    config = yaml.safe_load(text)
    config["repos"][0]["rev"] = hooks["NB2PROD_REV"]
    if separate:
        ids = [hook["id"] for hook in config["repos"][0]["hooks"]]
        assert ids[0] == "nb2prod-check", ids
        config["repos"][0]["hooks"] = [{"id": hook} for hook in SEPARATE] + config["repos"][0]["hooks"][1:]
    if text_notebooks:  # what the README tells a user who keeps jupytext text notebooks
        for hook in config["repos"][0]["hooks"]:
            hook.update(types=["file"], files=r"^notebooks/.*\.(ipynb|py|md)$")
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return repo


def precommit_env(hooks: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in hooks.items() if key != "NB2PROD_REV"}


def pre_commit(repo: Path, hooks: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["pre-commit", *args], cwd=repo, capture_output=True, text=True, env=precommit_env(hooks), check=False)


def notebook(cells: list[tuple[str, str, list[str]]], *, outputs: bool = False) -> dict[str, Any]:
    built = []
    for index, (kind, source, tags) in enumerate(cells):
        cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{index}", "metadata": {"tags": tags} if tags else {}, "source": source}
        if kind == "code":
            stream = {"name": "stdout", "output_type": "stream", "text": "done\n"}
            cell |= {"execution_count": index if outputs else None, "outputs": [stream] if outputs else []}
        built.append(cell)
    return {"cells": built, "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def write(path: Path, data: dict[str, Any]) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = (json.dumps(data, indent=1) + "\n").encode("utf-8")
    path.write_bytes(raw)
    return raw


TINY = [
    ("markdown", "# Tiny model", []),
    ("code", "n = 3  # how many numbers", ["parameters"]),
    # scikit-learn: installed here (the dev extra), not in a hook environment of pre-commit's
    ("code", "from sklearn.utils import check_random_state\n\n\ndef total(k: int) -> int:\n    return sum(range(k))", ["export"]),
    ("code", "result = total(n)", ["main"]),
]


@pytest.mark.slow
def test_export_check_fails_on_a_stale_export_and_passes_after_nb2prod_export(tmp_path: Path, hooks: dict[str, str]) -> None:
    """The package pins scikit-learn as installed where the user exports; the hook sees that same environment."""
    pyproject = '[[tool.nb2prod.export]]\nnotebooks = ["notebooks/tiny.ipynb"]\nout = "build/tiny"\n'
    repo = new_repo(tmp_path, hooks, pyproject)
    assert "nb2prod-export-check" in (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"), "init adds it: exports are configured"
    write(repo / "notebooks" / "tiny.ipynb", notebook(TINY))
    git(repo, "add", "-A")

    stale = pre_commit(repo, hooks, "run", "nb2prod-export-check", "--all-files")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "nb2prod export --check" in stale.stdout and "Failed" in stale.stdout
    assert (
        "build/tiny: out of date with notebooks/tiny.ipynb (6 files); refresh it with: nb2prod export notebooks/tiny.ipynb -o build/tiny"
        in stale.stdout
    )
    assert not (repo / "build").exists(), "the hook never writes"

    refreshed = nb2prod(repo, "export", "notebooks/tiny.ipynb", "-o", "build/tiny")  # the command the hook named
    assert refreshed.returncode == 0, refreshed.stderr
    assert '"scikit-learn~=' in (repo / "build" / "tiny" / "pyproject.toml").read_text(encoding="utf-8")
    git(repo, "add", "-A")
    fresh = pre_commit(repo, hooks, "run", "nb2prod-export-check", "--all-files")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr

    write(repo / "notebooks" / "tiny.ipynb", notebook([("markdown", "# Renamed model", []), *TINY[1:]]))
    git(repo, "add", "-A")
    again = pre_commit(repo, hooks, "run", "nb2prod-export-check", "--all-files")
    assert again.returncode == 1 and "files); refresh it with: nb2prod export notebooks/tiny.ipynb -o build/tiny" in again.stdout


@pytest.mark.slow
@pytest.mark.parametrize("separate", [False, True], ids=["nb2prod-check", "separate-hooks"])
def test_scenario_40_a_commit_with_outputs_and_a_secret_fails_and_unstaged_edits_survive(
    tmp_path: Path, hooks: dict[str, str], separate: bool
) -> None:
    """strip and lint fail the commit (fmt passes); the unstaged edit of the same notebook is still in the work tree, byte for byte.

    With init's ``nb2prod-check`` hook the one hook fails and its output names strip and lint;
    with the separate hooks, the strip and lint hooks fail.
    """
    repo = new_repo(tmp_path, hooks, separate=separate)
    assert pre_commit(repo, hooks, "install").returncode == 0
    path = repo / "notebooks" / "train.ipynb"
    cells = [("markdown", "# Training", []), ("code", f'API_KEY = "{SECRET}"\nprint("done")', [])]
    write(path, notebook(cells, outputs=True))
    git(repo, "add", "-A")
    staged = git(repo, "show", ":notebooks/train.ipynb").stdout
    edited_cells = [("markdown", "# Training, edited and not staged", []), cells[1]]
    write(path, notebook(edited_cells, outputs=True))

    commit = git(repo, "commit", "-m", "train", check=False, env=precommit_env(hooks))  # the git hook runs pre-commit
    output = commit.stdout + commit.stderr
    assert commit.returncode != 0, output
    lines = {line.split(".")[0].strip(): line for line in output.splitlines() if line.rstrip().endswith(("Passed", "Failed"))}
    if separate:
        assert lines["nb2prod strip"].endswith("Failed") and lines["nb2prod lint"].endswith("Failed"), output
        assert lines["nb2prod fmt"].endswith("Passed"), output
    else:
        assert list(lines) == ["nb2prod check (strip, fmt, lint)"] and lines["nb2prod check (strip, fmt, lint)"].endswith("Failed")
        assert "strip: notebooks/train.ipynb: outputs" in output and "\nfmt: " not in output, output
        assert "nb2prod check failed: strip (1 notebook stripped), lint (findings above)" in output, output
    assert "NB302" in output and SECRET not in output, "the secret is named by its rule and masked"
    assert git(repo, "rev-parse", "--verify", "HEAD", check=False).returncode != 0, "nothing was committed"
    # pre-commit stashed the unstaged edit, ran the hooks on what was staged, and put the edit back on
    # top of strip's fix (they touch different lines): the edit is there, the outputs are gone.
    assert json.loads(path.read_text(encoding="utf-8")) == notebook(edited_cells, outputs=False), "the unstaged edit survives"
    assert git(repo, "show", ":notebooks/train.ipynb").stdout == staged, "the index is as the user staged it"


@pytest.mark.slow
def test_the_check_hook_names_strip_fmt_and_lint_rewrites_like_the_separate_commands_and_then_passes(
    tmp_path: Path, hooks: dict[str, str]
) -> None:
    """One hook process does the three checks: the failure names each, the file is what strip then fmt make of it.

    Run 1: outputs, unformatted code and an unused import: fails, naming strip, fmt and lint.
    Run 2: nothing left to rewrite: fails on lint alone, the file untouched. Run 3, the import
    removed by the user: passes. The unstaged edit of another cell survives the failing runs.
    """
    repo = new_repo(tmp_path, hooks)
    path = repo / "notebooks" / "train.ipynb"
    cells = [("markdown", "# Training", []), ("code", "import os\nx   =   [1,2,3]\nprint( x )", []), ("code", "y = 2", [])]
    dirty = write(path, notebook(cells, outputs=True))
    expected = tmp_path / "expected.ipynb"
    expected.write_bytes(dirty)
    for command in (["strip", "--quiet"], ["fmt", "--quiet"]):  # what the separate commands make of it
        assert nb2prod(repo, *command, str(expected)).returncode == 0
    git(repo, "add", "-A")

    first = pre_commit(repo, hooks, "run", "--files", "notebooks/train.ipynb")
    output = first.stdout + first.stderr
    assert first.returncode == 1 and "nb2prod check (strip, fmt, lint)" in output and "files were modified by this hook" in output, output
    assert "strip: notebooks/train.ipynb: outputs, execution counts or volatile metadata cleared" in output, output
    assert "fmt: notebooks/train.ipynb: code cells reformatted" in output, output
    assert re.search(r"^notebooks/train\.ipynb:cell 2:line 1:col 8: F401 ", output, re.MULTILINE), output
    assert "nb2prod check failed: strip (1 notebook stripped), fmt (1 notebook reformatted), lint (findings above)" in output
    assert path.read_bytes() == expected.read_bytes(), "one write: what strip, then fmt, write"

    git(repo, "add", "-A")
    second = pre_commit(repo, hooks, "run", "--files", "notebooks/train.ipynb")
    output = second.stdout + second.stderr
    assert second.returncode == 1 and "files were modified" not in output and "F401" in output, output
    assert "nb2prod check failed: lint (findings above)" in output and "strip: " not in output and "fmt: " not in output, output
    assert path.read_bytes() == expected.read_bytes()

    fixed = json.loads(path.read_text(encoding="utf-8"))
    fixed["cells"][1]["source"] = "x = [1, 2, 3]\nprint(x)"
    path.write_text(json.dumps(fixed, indent=1) + "\n", encoding="utf-8")
    git(repo, "add", "-A")
    fixed["cells"][2]["source"] = "y = 3  # edited, not staged"
    path.write_text(json.dumps(fixed, indent=1) + "\n", encoding="utf-8")
    unstaged = path.read_bytes()
    third = pre_commit(repo, hooks, "run")  # the staged files, the unstaged edit stashed meanwhile, as at commit time
    assert third.returncode == 0, third.stdout + third.stderr
    assert "Passed" in third.stdout and path.read_bytes() == unstaged, "the unstaged edit survives"


@pytest.mark.slow
def test_text_notebooks_opted_in_go_through_every_hook(tmp_path: Path, hooks: dict[str, str]) -> None:
    """With ``types: [file]`` and a ``files:`` pattern, py:percent notebooks are formatted and linted; other modules are not."""
    import jupytext
    import nbformat

    repo = new_repo(tmp_path, hooks, text_notebooks=True)
    data = notebook([("markdown", "# Explore", []), ("code", f'import os\nx   =   [1,2,3]\nAPI_KEY = "{SECRET}"\nprint( x )', [])])
    percent = jupytext.writes(nbformat.from_dict(data), fmt="py:percent")
    (repo / "notebooks").mkdir()
    (repo / "notebooks" / "explore.py").write_text(percent, encoding="utf-8")
    module = "x   =   [1,2,3]\n"
    (repo / "src").mkdir()
    (repo / "src" / "helpers.py").write_text(module, encoding="utf-8")
    git(repo, "add", "-A")

    run = pre_commit(repo, hooks, "run", "--all-files")
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    formatted = (repo / "notebooks" / "explore.py").read_text(encoding="utf-8")
    assert "x = [1, 2, 3]\n" in formatted and "print(x)\n" in formatted and "# %% [markdown]\n# # Explore\n" in formatted, (
        "still py:percent"
    )
    assert re.search(r"^notebooks/explore\.py:cell 2:line \d+:col \d+: NB302 ", output, re.MULTILINE), output
    assert (repo / "src" / "helpers.py").read_text(encoding="utf-8") == module, "a module outside the pattern is left alone"
    assert "fmt: notebooks/explore.py: code cells reformatted" in output, output
    assert "strip: " not in output and "strip (" not in output, "a text notebook holds no outputs"


def test_manifest_and_init_config_validate_and_the_export_check_runs_once_per_commit(tmp_path: Path, hooks: dict[str, str]) -> None:
    """pre-commit's own validators accept the manifest and what init writes; the export check is one process that never writes.

    No hook writes a file it was not given, so only the export check, which reads whole packages,
    is serial (reliability.md scenario 41).
    """
    manifest = pre_commit(ROOT, hooks, "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml"))
    assert manifest.returncode == 0, manifest.stdout + manifest.stderr
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    assert nb2prod(repo, "init").returncode == 0
    config = pre_commit(repo, hooks, "validate-config", ".pre-commit-config.yaml")
    assert config.returncode == 0, config.stdout + config.stderr

    declared = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    check = declared["nb2prod-export-check"]
    assert (check["pass_filenames"], check["always_run"], check["require_serial"]) == (False, True, True)
    assert check["entry"].split()[:3] == ["nb2prod", "export", "--check"]
    assert check["language"] == "system", "the environment the user exports from, where the pinned packages are installed"
    for hook in declared.values():
        assert hook["entry"].startswith("nb2prod ") and "--fix" not in hook["entry"]
        assert hook["language"] == ("system" if hook is check else "python")
