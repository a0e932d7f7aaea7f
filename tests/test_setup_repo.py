"""``nb2prod init``: nb2prod's hooks and configuration added to a git repository, nothing else touched.

The user's files are hand-written: the hooks block is the only difference in
``.pre-commit-config.yaml`` (byte for byte, comments, blank lines, flow lists and odd indentation
kept), the ``[tool.nb2prod]`` table the only one in ``pyproject.toml``. A second run changes
nothing, ``--dry-run`` writes nothing, a malformed file stops everything before a write, and a
file changed on disk meanwhile is refused (reliability.md scenario 23).
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nb2prod import __version__
from nb2prod.cli import main
from nb2prod.config import load_config
from nb2prod.errors import ConfigError, UsageError, WriteConflictError
from nb2prod.precommit_config import HookBlock, add_hooks
from nb2prod.setup_repo import hook_block, init_repository

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DATA = Path(__file__).resolve().parent / "data" / "init"
REV = f"v{__version__}"
HOOKS = ["nb2prod-check"]  # what init adds: strip, fmt and lint in one hook process
SEPARATE = ["nb2prod-strip", "nb2prod-fmt", "nb2prod-lint"]  # the same checks as three hooks, still available


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository, the current folder."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    monkeypatch.chdir(root)
    return root


def init(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["init", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` except git's own, with its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts[:1]
    }


def added_lines(before: str, after: str) -> list[str]:
    """The lines ``after`` adds to ``before``; fails if it removes or changes any."""
    changed = []
    matcher = difflib.SequenceMatcher(a=before.splitlines(keepends=True), b=after.splitlines(keepends=True), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), f"{tag}: {before.splitlines()[i1:i2]} -> {after.splitlines()[j1:j2]}"
        if tag == "insert":
            changed.extend(after.splitlines(keepends=True)[j1:j2])
    return changed


def hook_ids(config: dict) -> list[str]:
    return [hook["id"] for entry in config["repos"] for hook in entry["hooks"]]


def test_empty_repository_gets_all_three_files_and_a_second_run_changes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = init(capsys, "--ci", "github")
    assert code == 0
    assert out.splitlines() == [
        f"created .pre-commit-config.yaml: hooks nb2prod-check (rev {REV})",
        "created pyproject.toml: a commented [tool.nb2prod] table",
        "created .github/workflows/nb2prod.yml: a workflow that lints, checks exports and gates on metrics",
    ]
    assert "run `pre-commit install`" in err and "nb2prod-export-check was not added" in err
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert config == {"repos": [{"repo": "https://github.com/nb2prod/nb2prod", "rev": REV, "hooks": [{"id": hook} for hook in HOOKS]}]}
    assert load_config(repo / "pyproject.toml").exclude == ()  # the table is valid nb2prod configuration
    assert "# [[tool.nb2prod.export]]" in (repo / "pyproject.toml").read_text(encoding="utf-8")
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "nb2prod.yml").read_text(encoding="utf-8"))
    assert set(workflow["jobs"]) == {"hygiene", "exports", "metrics"}

    before = snapshot(repo)
    code, out, err = init(capsys, "--ci", "github")
    assert code == 0 and out == "" and f"nothing to change: nb2prod is set up in {repo}" in err
    assert snapshot(repo) == before


def test_an_existing_config_full_of_comments_changes_only_by_the_added_block(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = (DATA / "precommit_commented.yaml").read_text(encoding="utf-8")
    (repo / ".pre-commit-config.yaml").write_text(original, encoding="utf-8")
    code, out, _ = init(capsys)
    assert code == 0 and "updated .pre-commit-config.yaml: added hooks nb2prod-check\n" in out
    after = (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    block = f"\n    -   repo: https://github.com/nb2prod/nb2prod\n        rev: {REV}\n        hooks:\n            -   id: nb2prod-check\n"
    last = "                # runs last\n"
    assert after == original.replace(last, last + block), "byte-identical but for the block, after the last repository"
    assert after.index("# runs last") < after.index("nb2prod/nb2prod") < after.index("# ci settings"), "after the last repository"
    loaded = yaml.safe_load(after)
    assert hook_ids(loaded)[-1:] == HOOKS and loaded["ci"] == {"autofix_prs": False}
    assert init(capsys)[1] == "" and (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8") == after


def test_a_pyproject_with_comments_keeps_every_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = (DATA / "pyproject_commented.toml").read_text(encoding="utf-8")
    (repo / "pyproject.toml").write_text(original, encoding="utf-8")
    code, out, _ = init(capsys)
    assert code == 0 and "updated pyproject.toml: added a commented [tool.nb2prod] table" in out
    after = (repo / "pyproject.toml").read_text(encoding="utf-8")
    assert after.startswith(original), "the table is appended; everything before it is byte-identical"
    assert "[tool.nb2prod]\n" in added_lines(original, after)
    data = tomllib.loads(after)
    assert data["tool"]["nb2prod"] == {"exclude": []} and data["project"]["name"] == "churn-model"
    load_config(repo / "pyproject.toml")
    assert init(capsys)[1] == "" and (repo / "pyproject.toml").read_text(encoding="utf-8") == after


def test_dry_run_prints_the_diff_and_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copyfile(DATA / "precommit_commented.yaml", repo / ".pre-commit-config.yaml")
    shutil.copyfile(DATA / "pyproject_commented.toml", repo / "pyproject.toml")
    before = snapshot(repo)
    code, out, err = init(capsys, "--dry-run", "--ci", "github")
    assert code == 0 and snapshot(repo) == before and not (repo / ".github").exists()
    assert "--- a/.pre-commit-config.yaml\n+++ b/.pre-commit-config.yaml\n" in out
    assert "+    -   repo: https://github.com/nb2prod/nb2prod\n" in out and "+[tool.nb2prod]\n" in out
    assert "--- /dev/null\n+++ b/.github/workflows/nb2prod.yml\n" in out
    assert "would update .pre-commit-config.yaml" in err and "would create .github/workflows/nb2prod.yml" in err


def test_export_check_is_added_once_exports_are_configured(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init(capsys)[0] == 0
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[[tool.nb2prod.export]]\nnotebooks = ["train.ipynb"]\nout = "build/train"\n')
    code, out, err = init(capsys)
    assert code == 0 and out == "updated .pre-commit-config.yaml: added hooks nb2prod-export-check\n" and "not added" not in err
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert len(config["repos"]) == 1 and hook_ids(config) == [*HOOKS, "nb2prod-export-check"]


def test_hooks_go_into_an_existing_nb2prod_entry_and_its_rev_is_kept() -> None:
    text = (
        "repos:\n- repo: https://github.com/nb2prod/nb2prod\n  rev: v0.0.9  # pinned\n  hooks:\n  - id: nb2prod-strip-check\n"
        "  # our own lint below\n- repo: local\n  hooks:\n  - id: nb2prod-lint\n    name: lint\n"
        "    entry: nb2prod lint\n    language: system\n"
    )
    new, added = add_hooks(text, HookBlock("https://github.com/nb2prod/nb2prod", REV, tuple(SEPARATE)), shown="c.yaml")
    assert added == ("nb2prod-fmt",), "strip-check stands for strip; a local nb2prod-lint counts as present"
    assert added_lines(text, new) == ["  - id: nb2prod-fmt\n"]
    assert "rev: v0.0.9  # pinned" in new


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        (["nb2prod-strip", "nb2prod-fmt", "nb2prod-lint"], ()),
        (["nb2prod-strip-check", "nb2prod-lint"], ("nb2prod-fmt",)),
        (["nb2prod-check"], ()),
        (["nb2prod-check", "nb2prod-strip-check"], ()),
    ],
    ids=["separate-hooks", "some-separate-hooks", "combined-hook", "combined-and-strip-check"],
)
def test_init_adds_the_combined_hook_only_where_no_separate_one_is_configured(configured: list[str], expected: tuple[str, ...]) -> None:
    """A repository set up with the separate hooks keeps that choice (the combined hook would run them twice)."""
    text = "repos:\n- repo: https://github.com/nb2prod/nb2prod\n  rev: v0.0.9\n  hooks:\n" + "".join(f"  - id: {h}\n" for h in configured)
    new, added = add_hooks(text, hook_block(export_check=False), shown="c.yaml")
    assert added == expected
    assert hook_ids(yaml.safe_load(new)) == configured + list(expected)


@pytest.mark.parametrize(
    ("text", "expected_head"),
    [
        ("", "repos:\n"),
        ("# nothing yet\n", "# nothing yet\nrepos:\n"),
        ("repos: []  # none yet\nci:\n  autofix_prs: false\n", "repos: # none yet\n- repo: "),
        (
            "repos:\r\n- repo: local\r\n  hooks:\r\n  - id: x\r\n    name: x\r\n    entry: x\r\n    language: system",
            "repos:\r\n- repo: local\r\n",
        ),
    ],
    ids=["empty", "comment-only", "empty-flow-list", "crlf-no-final-newline"],
)
def test_edge_layouts_get_a_valid_block(text: str, expected_head: str) -> None:
    new, added = add_hooks(text, HookBlock("https://github.com/nb2prod/nb2prod", REV, tuple(SEPARATE)), shown="c.yaml")
    assert added == tuple(SEPARATE) and new.startswith(expected_head)
    assert hook_ids(yaml.safe_load(new))[-3:] == SEPARATE
    if "\r\n" in text:
        assert new.count("\n") == new.count("\r\n"), "the file's line endings"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (".pre-commit-config.yaml", "repos:\n- repo: a\n  hooks: [{id: b}\n", "not valid YAML"),
        (".pre-commit-config.yaml", "- just\n- a list\n", "not a pre-commit configuration"),
        (".pre-commit-config.yaml", "repos: {a: 1}\n", "'repos' must be a list"),
        (
            ".pre-commit-config.yaml",
            "repos: [{repo: local, hooks: [{id: a}]}]\n",
            "cannot add nb2prod's hooks without rewriting the layout",
        ),
        ("pyproject.toml", "[project\nname = 1\n", "not valid TOML"),
    ],
    ids=["bad-yaml", "yaml-list", "repos-mapping", "flow-repos", "bad-toml"],
)
def test_a_malformed_file_stops_init_before_any_write(
    repo: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, message: str
) -> None:
    (repo / name).write_text(text, encoding="utf-8")
    before = snapshot(repo)
    code, out, err = init(capsys, "--ci", "github")
    assert code == 2 and out == "" and err.startswith(f"{name}: error: {message}") and "Traceback" not in err
    assert snapshot(repo) == before


def test_outside_a_git_repository_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    with pytest.raises(UsageError, match="not inside a git repository"):
        init_repository(folder)
    code, _, err = init(capsys, os.fspath(folder))
    assert code == 2 and "run `git init` first" in err and list(folder.iterdir()) == []


def test_a_subfolder_sets_up_the_repository_root(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "notebooks").mkdir()
    result = init_repository(repo / "notebooks")
    assert result.root == repo and (repo / ".pre-commit-config.yaml").is_file() and not (repo / "notebooks" / "pyproject.toml").exists()
    os.chdir(repo / "notebooks")
    (repo / "pyproject.toml").unlink()
    code, out, _ = init(capsys)
    assert code == 0 and out == "created ../pyproject.toml: a commented [tool.nb2prod] table\n"


def test_scenario_23_a_file_changed_meanwhile_is_refused_and_nothing_is_written(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone saves pyproject.toml between init's read and its write: no file is written, the edit survives."""
    shutil.copyfile(DATA / "pyproject_commented.toml", repo / "pyproject.toml")
    import nb2prod.setup_repo as setup_repo

    real = setup_repo.atomic_write_all

    def edit_then_write(writes):  # type: ignore[no-untyped-def]
        with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
            handle.write("# saved by an editor\n")
        return real(writes)

    monkeypatch.setattr(setup_repo, "atomic_write_all", edit_then_write)
    with pytest.raises(WriteConflictError, match="changed on disk while nb2prod init ran"):
        init_repository(repo)
    assert (repo / "pyproject.toml").read_text(encoding="utf-8").endswith("# saved by an editor\n")
    assert not (repo / ".pre-commit-config.yaml").exists(), "the other file of the same run is not written either"


def test_an_existing_different_workflow_is_left_alone(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workflow = repo / ".github" / "workflows" / "nb2prod.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: mine\n", encoding="utf-8")
    code, out, err = init(capsys, "--ci", "github")
    assert code == 0 and workflow.read_text(encoding="utf-8") == "name: mine\n"
    assert "nb2prod.yml exists and differs from nb2prod's; left as it is" in err and "nb2prod.yml" not in out


def test_unknown_ci_provider_names_the_choices(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["init", "--ci", "gitlab"])
    assert info.value.code == 2 and "invalid choice: 'gitlab'" in capsys.readouterr().err


def test_pyproject_with_a_tool_inline_table_is_refused(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("tool = { ruff = { line-length = 100 } }\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        init_repository(repo)
    assert (repo / "pyproject.toml").read_text(encoding="utf-8") == "tool = { ruff = { line-length = 100 } }\n"
