"""``[tool.nb2prod]`` in pyproject.toml: known keys load, anything else is an error naming the file.

The schema is closed (reliability.md scenario 43): a misspelt key is an error with a did-you-mean,
never ignored; wrong types and invalid TOML are errors too, and through the CLI any of them stops
the command before a single notebook is touched. The configuration comes from the pyproject.toml
nearest the given paths (not the current folder), the search stops at a git root, and command-line
flags override the file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.config import Config, StripConfig, config_for, find_pyproject, load_config
from nb2prod.errors import ConfigError
from nb2prod.strip import StripOptions

FULL_PROJECT = Path(__file__).resolve().parent / "data" / "config" / "full_project.toml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository root (so no pyproject.toml above it applies) holding nothing yet."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root.resolve()


def write_pyproject(folder: Path, text: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


def dirty_notebook() -> dict[str, Any]:
    """A notebook with outputs, counts, default volatile keys and the keys the full config names."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 7,
                "id": "train",
                "metadata": {"collapsed": True, "foo": "bar", "scrolled": True, "tags": []},
                "outputs": [
                    {"data": {"text/plain": ["0.95"]}, "execution_count": 7, "metadata": {}, "output_type": "execute_result"},
                ],
                "source": "accuracy",
            },
            {"cell_type": "markdown", "id": "notes", "metadata": {"foo": 1}, "source": "# Notes"},
        ],
        "metadata": {"celltoolbar": "Tags", "kernelspec": {"name": "python3", "display_name": "Python 3"}, "signature": "sha256:00"},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(path: Path, data: dict[str, Any] | None = None) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = (json.dumps(data or dirty_notebook(), indent=1, sort_keys=True) + "\n").encode()
    path.write_bytes(raw)
    return raw


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


# --- loading --------------------------------------------------------------------------------------


def test_every_known_key_loads(project: Path):
    pyproject = project / "pyproject.toml"
    shutil.copyfile(FULL_PROJECT, pyproject)
    config = load_config(pyproject)
    assert config == Config(
        source=pyproject,
        exclude=("drafts", "*.tmp.ipynb"),
        strip=StripConfig(
            extra_keys=("metadata.celltoolbar", "cell.metadata.foo"),
            keep_keys=("cell.metadata.collapsed",),
            keep_count=True,
            keep_output=False,
        ),
    )
    assert config.root == project


def test_found_from_a_folder_or_file_below(project: Path):
    pyproject = write_pyproject(project, '[tool.nb2prod]\nexclude = ["x"]\n')
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    assert load_config(start=deep).source == pyproject
    assert load_config(start=deep / "nb.ipynb").exclude == ("x",)


def test_nearest_pyproject_wins(project: Path):
    write_pyproject(project, '[tool.nb2prod]\nexclude = ["outer"]\n')
    (project / "sub").mkdir()
    inner = write_pyproject(project / "sub", '[tool.nb2prod]\nexclude = ["inner"]\n')
    assert load_config(start=project / "sub").source == inner
    assert load_config(start=project / "sub").exclude == ("inner",)
    assert load_config(start=project).exclude == ("outer",)


def test_defaults_without_a_table_or_a_file(project: Path):
    assert load_config(start=project) == Config()
    pyproject = write_pyproject(project, '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 100\n')
    assert load_config(start=project) == Config(source=pyproject)


def test_config_for_uses_the_folder_common_to_all_paths(project: Path):
    root = write_pyproject(project, "[tool.nb2prod]\n")
    (project / "sub").mkdir()
    (project / "other").mkdir()
    sub = write_pyproject(project / "sub", "[tool.nb2prod]\n")
    assert config_for([project / "sub" / "a.ipynb", project / "sub" / "b.ipynb"]).source == sub
    assert config_for([project / "sub" / "a.ipynb", project / "other" / "b.ipynb"]).source == root
    assert config_for([project / "other"]).source == root


# --- find_pyproject ---------------------------------------------------------------------------


def test_search_stops_at_the_git_root(tmp_path: Path):
    outer = tmp_path.resolve()
    write_pyproject(outer, "[tool.nb2prod]\n")
    repo = outer / "repo"
    (repo / "sub").mkdir(parents=True)
    assert find_pyproject(repo / "sub") == outer / "pyproject.toml"
    (repo / ".git").mkdir()
    assert find_pyproject(repo / "sub") is None


def test_git_file_also_marks_the_root(tmp_path: Path):
    """Worktrees and submodules have a ``.git`` file, not a folder."""
    outer = tmp_path.resolve()
    write_pyproject(outer, "[tool.nb2prod]\n")
    repo = outer / "worktree"
    repo.mkdir()
    (repo / ".git").write_text("gitdir: ../.git/worktrees/x\n")
    assert find_pyproject(repo) is None


def test_pyproject_at_the_git_root_is_found(project: Path):
    pyproject = write_pyproject(project, "[tool.nb2prod]\n")
    (project / "notebooks").mkdir()
    assert find_pyproject(project / "notebooks") == pyproject


def test_default_start_is_the_current_folder(project: Path, monkeypatch: pytest.MonkeyPatch):
    pyproject = write_pyproject(project, "[tool.nb2prod]\n")
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    assert find_pyproject() == pyproject


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        (
            "[tool.nb2prod.strip]\nextra_keys = []\n",
            "unknown key 'tool.nb2prod.strip.extra_keys'",
            "did you mean 'tool.nb2prod.strip.extra-keys'?",
        ),
        (
            "[tool.nb2prod.strip]\nkeep_count = true\n",
            "unknown key 'tool.nb2prod.strip.keep_count'",
            "did you mean 'tool.nb2prod.strip.keep-count'?",
        ),
        ("[tool.nb2prod]\nexlude = []\n", "unknown key 'tool.nb2prod.exlude'", "did you mean 'tool.nb2prod.exclude'?"),
        ("[tool.nb2prod.strp]\nkeep-count = true\n", "unknown key 'tool.nb2prod.strp'", "did you mean 'tool.nb2prod.strip'?"),
        (
            "[tool.nb2prod.deploy]\ntarget = 1\n",
            "unknown key 'tool.nb2prod.deploy'",
            "known keys: drift, exclude, export, lint, ml-tests, strip, tests",
        ),
        ("[tool.nb2prod.lint]\nselct = []\n", "unknown key 'tool.nb2prod.lint.selct'", "did you mean 'tool.nb2prod.lint.select'?"),
        (
            "[tool.nb2prod.strip]\ncolour = true\n",
            "unknown key 'tool.nb2prod.strip.colour'",
            "known keys: extra-keys, keep-count, keep-keys, keep-output",
        ),
    ],
    ids=["extra_keys", "keep_count", "exlude", "strp-section", "unknown-section", "lint-typo", "unknown-strip-key"],
)
def test_unknown_key_is_an_error_with_a_suggestion(text: str, message: str, hint: str, project: Path):
    pyproject = write_pyproject(project, text)
    with pytest.raises(ConfigError) as info:
        load_config(pyproject)
    assert (info.value.message, info.value.hint, info.value.path) == (message, hint, str(pyproject))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tool.nb2prod]\nexclude = "drafts"\n', "'tool.nb2prod.exclude' must be a list of strings"),
        ("[tool.nb2prod]\nexclude = [1]\n", "'tool.nb2prod.exclude' must be a list of strings"),
        ("[tool.nb2prod]\nstrip = 1\n", "[tool.nb2prod.strip] must be a table"),
        ('[tool.nb2prod.strip]\nextra-keys = "metadata.x"\n', "'tool.nb2prod.strip.extra-keys' must be a list of strings"),
        ("[tool.nb2prod.strip]\nkeep-keys = [true]\n", "'tool.nb2prod.strip.keep-keys' must be a list of strings"),
        ('[tool.nb2prod.strip]\nkeep-count = "yes"\n', "'tool.nb2prod.strip.keep-count' must be a bool"),
        ("[tool.nb2prod.strip]\nkeep-output = 1\n", "'tool.nb2prod.strip.keep-output' must be a bool"),
        ("[tool]\nnb2prod = []\n", "[tool.nb2prod] must be a table"),
        ('tool = "nb2prod"\n', "[tool] must be a table"),
    ],
    ids=[
        "exclude-string",
        "exclude-int-item",
        "strip-int",
        "extra-keys-string",
        "keep-keys-bool-item",
        "keep-count-string",
        "keep-output-int",
        "nb2prod-list",
        "tool-string",
    ],
)
def test_wrong_type_is_an_error(text: str, message: str, project: Path):
    pyproject = write_pyproject(project, text)
    with pytest.raises(ConfigError) as info:
        load_config(pyproject)
    assert info.value.path == str(pyproject)
    assert message in info.value.message


def test_invalid_toml_names_the_file(project: Path):
    pyproject = write_pyproject(project, "[tool.nb2prod\nexclude = [\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(pyproject)
    assert info.value.path == str(pyproject)
    assert str(info.value).startswith(f"{pyproject}: error: not valid TOML")


def test_non_utf8_pyproject_names_the_file(project: Path):
    pyproject = project / "pyproject.toml"
    pyproject.write_bytes('[project]\nname = "modèle"\n'.encode("cp1252"))
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load_config(pyproject)
    assert info.value.path == str(pyproject)


@pytest.mark.parametrize("key", ["foo.bar", "metadata", "cell.", "metadata..x", "outputs"])
def test_invalid_strip_key_is_a_config_error(key: str):
    with pytest.raises(ConfigError, match="invalid strip key"):
        StripOptions.from_config(StripConfig(extra_keys=(key,)))
    with pytest.raises(ConfigError, match="invalid strip key"):
        StripOptions.from_config(StripConfig(keep_keys=(key,)))


# --- through the CLI --------------------------------------------------------------------------

BAD_CONFIGS = {
    "unknown-key": ("[tool.nb2prod.strip]\nextra_keys = []\n", "unknown key 'tool.nb2prod.strip.extra_keys'"),
    "wrong-type": ('[tool.nb2prod.strip]\nkeep-count = "yes"\n', "must be a bool"),
    "invalid-toml": ("[tool.nb2prod\n", "not valid TOML"),
    "invalid-strip-key": ('[tool.nb2prod.strip]\nextra-keys = ["foo.bar"]\n', "invalid strip key 'foo.bar'"),
}


@pytest.mark.parametrize("check", [False, True], ids=["strip", "check"])
@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_stops_the_cli_before_any_notebook(
    case: str, check: bool, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    text, message = BAD_CONFIGS[case]
    pyproject = write_pyproject(project, text)
    notebooks = [project / "a.ipynb", project / "nbs" / "b.ipynb"]
    originals = [write_notebook(path) for path in notebooks]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the pyproject nearest the paths counts, not the current folder's

    code, out, err = run(capsys, "strip", *(["--check"] if check else []), str(project))

    assert code == 2
    assert out == []
    assert len(err) == 1, err
    assert err[0].startswith(f"{pyproject}: error: ")
    assert message in err[0]
    assert [path.read_bytes() for path in notebooks] == originals


def test_config_keys_take_effect(project: Path, capsys: pytest.CaptureFixture[str]):
    shutil.copyfile(FULL_PROJECT, project / "pyproject.toml")
    path = project / "nbs" / "train.ipynb"
    write_notebook(path)

    code, out, _ = run(capsys, "strip", str(project / "nbs"))

    assert code == 0
    assert out == [f"stripped {path}"]
    data = json.loads(path.read_bytes())
    assert "celltoolbar" not in data["metadata"]  # extra-keys, notebook level
    assert "signature" not in data["metadata"]  # a default key still applies
    code_cell, markdown_cell = data["cells"]
    assert code_cell["metadata"] == {"collapsed": True, "tags": []}  # foo (extra) and scrolled (default) gone, collapsed kept
    assert markdown_cell["metadata"] == {}  # extra cell keys apply to every cell type
    assert code_cell["execution_count"] == 7  # keep-count = true
    assert code_cell["outputs"] == []  # keep-output = false


def test_without_config_the_defaults_apply(project: Path, capsys: pytest.CaptureFixture[str]):
    path = project / "nb.ipynb"
    write_notebook(path)
    assert run(capsys, "strip", "-q", str(path))[0] == 0
    data = json.loads(path.read_bytes())
    assert data["metadata"]["celltoolbar"] == "Tags"
    assert data["cells"][0]["metadata"] == {"foo": "bar", "tags": []}
    assert data["cells"][0]["execution_count"] is None


@pytest.mark.parametrize(
    ("file_says", "flags", "count_kept", "output_kept"),
    [
        ("keep-count = false\nkeep-output = false\n", [], False, False),
        ("keep-count = false\nkeep-output = false\n", ["--keep-count"], True, False),
        ("keep-count = false\nkeep-output = false\n", ["--keep-output"], False, True),
        ("keep-count = true\nkeep-output = true\n", [], True, True),
    ],
    ids=["file-off", "flag-keep-count", "flag-keep-output", "file-on"],
)
def test_flags_override_the_file(
    file_says: str, flags: list[str], count_kept: bool, output_kept: bool, project: Path, capsys: pytest.CaptureFixture[str]
):
    write_pyproject(project, f"[tool.nb2prod.strip]\n{file_says}")
    path = project / "nb.ipynb"
    write_notebook(path)
    assert run(capsys, "strip", "-q", *flags, str(path))[0] == 0
    cell = json.loads(path.read_bytes())["cells"][0]
    assert (cell["execution_count"] == 7) is count_kept
    assert (cell["outputs"] != []) is output_kept


def test_api_arguments_override_the_file_both_ways():
    on = StripConfig(keep_count=True, keep_output=True)
    assert StripOptions.from_config(on, keep_count=False, keep_output=False) == StripOptions(keep_count=False, keep_output=False)
    assert StripOptions.from_config(on) == StripOptions(keep_count=True, keep_output=True)
    assert StripOptions.from_config(StripConfig(), keep_count=True).keep_count is True


def test_exclude_is_relative_to_the_pyproject_folder(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    shutil.copyfile(FULL_PROJECT, project / "pyproject.toml")
    kept = write_notebook(project / "nbs" / "drafts" / "idea.ipynb")
    kept_tmp = write_notebook(project / "nbs" / "scratch.tmp.ipynb")
    write_notebook(project / "nbs" / "train.ipynb")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    code, out, _ = run(capsys, "strip", str(project / "nbs"))

    assert code == 0
    assert out == [f"stripped {project / 'nbs' / 'train.ipynb'}"]
    assert (project / "nbs" / "drafts" / "idea.ipynb").read_bytes() == kept
    assert (project / "nbs" / "scratch.tmp.ipynb").read_bytes() == kept_tmp
