"""``discover``: from the paths a user typed to the notebooks a command works on.

Folders recurse but skip what is never a user's notebook (hidden folders and files,
``.ipynb_checkpoints``, ``__pycache__``, ``node_modules``, virtual environments); text notebooks
count only when named; the order is stable; each notebook comes once; ``exclude`` applies; a bad
path is an error that does not stop the others; and paths are shown the way the user wrote them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nb2prod.discover import discover, resolve_file
from nb2prod.errors import NotebookReadError


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (the current directory) with notebooks where they belong and where they do not."""
    files = [
        "top.ipynb",
        "notebooks/b.ipynb",
        "notebooks/a.ipynb",
        "notebooks/sub/c.ipynb",
        "notebooks/sub/deeper/d.ipynb",
        "notebooks/.hidden.ipynb",
        "notebooks/.ipynb_checkpoints/a-checkpoint.ipynb",
        "notebooks/__pycache__/x.ipynb",
        "notebooks/node_modules/pkg/x.ipynb",
        "notebooks/.venv/lib/x.ipynb",
        "notebooks/env/pyvenv.cfg",
        "notebooks/env/lib/python3.11/site-packages/pkg/x.ipynb",
        "notebooks/.git/x.ipynb",
        "notebooks/script.py",
        "notebooks/README.md",
        "notebooks/notes.txt",
        "notebooks/drafts/idea.ipynb",
        "notebooks/scratch.tmp.ipynb",
    ]
    # Created in reverse so the order found cannot come from creation order.
    for name in reversed(files):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}" if name.endswith(".ipynb") else "x = 1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def shown(paths: list[str], **kwargs) -> list[str]:
    result = discover(paths, **kwargs)
    assert result.errors == []
    return [display for display, _ in result.notebooks]


def test_folders_recurse_and_skip_what_is_not_a_users_notebook(tree: Path):
    assert shown(["notebooks"]) == [
        "notebooks/a.ipynb",
        "notebooks/b.ipynb",
        "notebooks/scratch.tmp.ipynb",
        "notebooks/drafts/idea.ipynb",
        "notebooks/sub/c.ipynb",
        "notebooks/sub/deeper/d.ipynb",
    ]


def test_paths_pair_the_display_path_with_the_file(tree: Path):
    result = discover(["notebooks/sub"])
    assert [(display, path.resolve()) for display, path in result.notebooks] == [
        ("notebooks/sub/c.ipynb", tree.resolve() / "notebooks/sub/c.ipynb"),
        ("notebooks/sub/deeper/d.ipynb", tree.resolve() / "notebooks/sub/deeper/d.ipynb"),
    ]


@pytest.mark.parametrize(
    ("given", "expected_first"),
    [
        ("notebooks/", "notebooks/a.ipynb"),
        ("notebooks", "notebooks/a.ipynb"),
        (".", "top.ipynb"),
        ("notebooks/sub/..", "notebooks/a.ipynb"),
    ],
)
def test_display_paths_are_as_given(given: str, expected_first: str, tree: Path):
    assert shown([given])[0] == expected_first


def test_current_folder_gives_relative_display_paths(tree: Path):
    found = shown(["."])
    assert found[:3] == ["top.ipynb", "notebooks/a.ipynb", "notebooks/b.ipynb"]
    assert "notebooks/sub/c.ipynb" in found
    assert not any(name.startswith("./") for name in found)


def test_absolute_folder_gives_absolute_display_paths(tree: Path):
    assert shown([str(tree / "notebooks" / "sub")]) == [str(tree / "notebooks/sub/c.ipynb"), str(tree / "notebooks/sub/deeper/d.ipynb")]


def test_text_notebooks_only_when_named(tree: Path):
    assert not any(name.endswith((".py", ".md")) for name in shown(["notebooks"]))
    assert shown(["notebooks/script.py", "notebooks/README.md"]) == ["notebooks/script.py", "notebooks/README.md"]


def test_hidden_and_skipped_files_are_taken_when_named(tree: Path):
    named = ["notebooks/.hidden.ipynb", "notebooks/.ipynb_checkpoints/a-checkpoint.ipynb"]
    assert shown(named) == named


def test_order_of_the_arguments_is_kept(tree: Path):
    assert shown(["notebooks/sub", "top.ipynb", "notebooks/b.ipynb"]) == [
        "notebooks/sub/c.ipynb",
        "notebooks/sub/deeper/d.ipynb",
        "top.ipynb",
        "notebooks/b.ipynb",
    ]


def test_order_is_stable(tree: Path):
    assert shown(["."]) == shown(["."])


def test_each_notebook_once(tree: Path):
    assert shown(["top.ipynb", "top.ipynb", "./top.ipynb"]) == ["top.ipynb"]
    # A file and then its folder: the file keeps its place and its display path.
    assert shown(["notebooks/sub/c.ipynb", "notebooks/sub"]) == ["notebooks/sub/c.ipynb", "notebooks/sub/deeper/d.ipynb"]
    # Overlapping folders.
    assert shown(["notebooks/sub", "notebooks"]) == [
        "notebooks/sub/c.ipynb",
        "notebooks/sub/deeper/d.ipynb",
        "notebooks/a.ipynb",
        "notebooks/b.ipynb",
        "notebooks/scratch.tmp.ipynb",
        "notebooks/drafts/idea.ipynb",
    ]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_to_a_notebook_counts_once(tree: Path):
    (tree / "link.ipynb").symlink_to(tree / "top.ipynb")
    assert shown(["top.ipynb", "link.ipynb"]) == ["top.ipynb"]


@pytest.mark.parametrize(
    "exclude",
    [("drafts", "*.tmp.ipynb"), ("notebooks/drafts", "notebooks/scratch.tmp.ipynb"), ("*/drafts/*", "scratch.*")],
    ids=["names", "relative-paths", "globs"],
)
def test_exclude_patterns(exclude: tuple[str, ...], tree: Path):
    assert shown(["notebooks"], exclude=exclude, root=tree) == [
        "notebooks/a.ipynb",
        "notebooks/b.ipynb",
        "notebooks/sub/c.ipynb",
        "notebooks/sub/deeper/d.ipynb",
    ]


def test_exclude_is_relative_to_the_root(tree: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    found = discover([tree / "notebooks"], exclude=["notebooks/sub"], root=tree)
    assert [path.name for _, path in found.notebooks] == ["a.ipynb", "b.ipynb", "scratch.tmp.ipynb", "idea.ipynb"]


def test_bad_paths_are_errors_that_do_not_stop_the_rest(tree: Path):
    result = discover(["missing.ipynb", "notebooks/notes.txt", "top.ipynb", "no/such/folder"])
    assert [display for display, _ in result.notebooks] == ["top.ipynb"]
    assert all(isinstance(error, NotebookReadError) for error in result.errors)
    assert [(error.path, error.message) for error in result.errors] == [
        ("missing.ipynb", "no such file or folder"),
        ("notebooks/notes.txt", "not a notebook file"),
        ("no/such/folder", "no such file or folder"),
    ]
    assert ".ipynb" in (result.errors[1].hint or "")


def test_empty_folder_finds_nothing(tmp_path: Path):
    result = discover([tmp_path])
    assert (result.notebooks, result.errors) == ([], [])


def test_resolve_file_agrees_with_path_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files in plain, symlinked and dotted folders, symlinked files, relative and missing paths."""
    real = tmp_path / "real" / "deep"
    real.mkdir(parents=True)
    (real / "a.ipynb").write_text("{}")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    (real / "link.ipynb").symlink_to(real / "a.ipynb")
    (tmp_path / "elsewhere.ipynb").write_text("{}")
    (real / "out.ipynb").symlink_to(tmp_path / "elsewhere.ipynb")
    monkeypatch.chdir(tmp_path)
    paths = [
        real / "a.ipynb",
        tmp_path / "linked" / "deep" / "a.ipynb",
        real / "link.ipynb",
        real / "out.ipynb",
        Path("linked/deep/../deep/a.ipynb"),
        Path("real/deep/a.ipynb"),
        Path("elsewhere.ipynb"),
        Path("linked/deep/missing.ipynb"),
        Path("linked/deep/.."),
    ]
    folders: dict[Path, Path] = {}
    assert [resolve_file(path, folders) for path in paths] == [path.resolve() for path in paths]
    assert [resolve_file(path, folders) for path in paths] == [path.resolve() for path in paths]  # from the cache too


# --- nb2prod's own outputs, files that are not files, links that go nowhere (reliability.md 47, 51, 52) ---

RUN_ID = "20261206T101500Z-3fa2c1"


def run_folder(folder: Path, *, record: bool = True) -> Path:
    """A run folder as ``nb2prod run`` leaves it: the executed notebook and, once the run ended, its record."""
    folder.mkdir(parents=True)
    (folder / "output.ipynb").write_text("{}")
    if record:
        (folder / "run.json").write_text('{"schema": "nb2prod.run/1", "id": "x"}')
    return folder


def test_scenario_47_run_outputs_are_not_a_users_notebooks(tree: Path):
    """The default runs folder, a runs folder given with --runs-dir, and a run still going are all skipped."""
    run_folder(tree / "runs" / "top" / RUN_ID)
    (tree / "runs" / "stray.ipynb").write_text("{}")  # whatever lies in the default runs folder is nb2prod's
    run_folder(tree / "notebooks" / "experiments" / "b" / "r1")  # --runs-dir notebooks/experiments
    run_folder(tree / "notebooks" / "runs" / "a" / RUN_ID, record=False)  # `nb2prod run` from notebooks/, not finished
    (tree / "notebooks" / "experiments" / "b" / "r1" / "notes.ipynb").write_text("{}")
    assert shown(["."]) == [
        "top.ipynb",
        "notebooks/a.ipynb",
        "notebooks/b.ipynb",
        "notebooks/scratch.tmp.ipynb",
        "notebooks/drafts/idea.ipynb",
        "notebooks/experiments/b/r1/notes.ipynb",
        "notebooks/sub/c.ipynb",
        "notebooks/sub/deeper/d.ipynb",
    ]
    assert shown(["notebooks/experiments"]) == ["notebooks/experiments/b/r1/notes.ipynb"], "also when the run folder is the one given"


def test_scenario_47_runs_folder_of_the_project_root(tree: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    (tree / "runs" / "x").mkdir(parents=True)
    (tree / "runs" / "x" / "y.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    names = [path.name for _, path in discover([tree], root=tree).notebooks]
    assert names == ["top.ipynb", "a.ipynb", "b.ipynb", "scratch.tmp.ipynb", "idea.ipynb", "c.ipynb", "d.ipynb"]


def test_scenario_47_a_users_output_ipynb_is_theirs(tree: Path):
    (tree / "notebooks" / "output.ipynb").write_text("{}")
    (tree / "notebooks" / "run.json").write_text('{"epochs": 3}')  # the user's own settings file
    assert "notebooks/output.ipynb" in shown(["notebooks"])


def test_scenario_47_run_output_named_explicitly_is_taken(tree: Path):
    """Reading a run's output is fine (lint it, export from it); the writer refuses to rewrite it."""
    run = run_folder(tree / "runs" / "top" / RUN_ID)
    assert shown([str(run / "output.ipynb")]) == [str(run / "output.ipynb")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_scenario_51_fifo_is_skipped_in_folders_and_refused_when_named(tree: Path):
    os.mkfifo(tree / "notebooks" / "pipe.ipynb")
    (tree / "notebooks" / "to-pipe.ipynb").symlink_to(tree / "notebooks" / "pipe.ipynb")
    assert "notebooks/pipe.ipynb" not in shown(["notebooks"])
    assert "notebooks/to-pipe.ipynb" not in shown(["notebooks"])
    result = discover(["notebooks/pipe.ipynb", "top.ipynb", "notebooks/to-pipe.ipynb"])
    assert [display for display, _ in result.notebooks] == ["top.ipynb"]
    assert [(error.path, error.message) for error in result.errors] == [
        ("notebooks/pipe.ipynb", "not a regular file: a named pipe (FIFO)"),
        ("notebooks/to-pipe.ipynb", "not a regular file: a named pipe (FIFO)"),
    ]


def test_scenario_52_symlink_loop_is_reported_and_the_rest_found(tree: Path):
    (tree / "notebooks" / "loop-a.ipynb").symlink_to(tree / "notebooks" / "loop-b.ipynb")
    (tree / "notebooks" / "loop-b.ipynb").symlink_to(tree / "notebooks" / "loop-a.ipynb")
    (tree / "notebooks" / "self.ipynb").symlink_to("self.ipynb")
    result = discover(["notebooks", "notebooks/self.ipynb", "top.ipynb"])
    assert [display for display, _ in result.notebooks] == [
        "notebooks/a.ipynb",
        "notebooks/b.ipynb",
        "notebooks/scratch.tmp.ipynb",
        "notebooks/drafts/idea.ipynb",
        "notebooks/sub/c.ipynb",
        "notebooks/sub/deeper/d.ipynb",
        "top.ipynb",
    ]
    assert [error.path for error in result.errors] == [
        "notebooks/loop-a.ipynb",
        "notebooks/loop-b.ipynb",
        "notebooks/self.ipynb",
        "notebooks/self.ipynb",
    ]
    assert all(error.message.startswith("symbolic link loop") for error in result.errors)


def test_scenario_52_folder_reached_through_a_loop(tree: Path):
    (tree / "loop").symlink_to("loop")
    result = discover(["loop/x.ipynb", "top.ipynb"])
    assert [display for display, _ in result.notebooks] == ["top.ipynb"]
    assert [(error.path, error.message.split(":")[0]) for error in result.errors] == [("loop/x.ipynb", "symbolic link loop")]


def test_broken_link_is_taken_so_that_reading_it_reports_it(tree: Path):
    (tree / "notebooks" / "gone.ipynb").symlink_to(tree / "nowhere.ipynb")
    assert "notebooks/gone.ipynb" in shown(["notebooks"])
