"""``fmt``: formatting code cells with real ruff and real black, what is kept, verify-before-write, the CLI."""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nb2prod import fmtengines, fmtverify
from nb2prod.cli import fmt as fmt_cli
from nb2prod.config import Config
from nb2prod.errors import UsageError
from nb2prod.formatting import FormatError, fmt, format_cells
from nb2prod.lint.ruff import ruff_executable
from nb2prod.model import source_text

DATA = Path(__file__).resolve().parent / "data" / "fmt"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
FORMATTERS = ("ruff", "black")


def code(source: str, index: int, **extra: Any) -> dict[str, Any]:
    cell = {"cell_type": "code", "execution_count": None, "id": f"c{index}", "metadata": {}, "outputs": [], "source": source}
    cell.update(extra)
    return cell


def notebook(*sources: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A notebook with one code cell per source."""
    meta = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}} if metadata is None else metadata
    return {"cells": [code(s, i) for i, s in enumerate(sources)], "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def messy(tmp_path: Path, name: str = "messy.ipynb") -> Path:
    target = tmp_path / name
    shutil.copyfile(DATA / "messy.ipynb", target)
    return target


def sources(path: Path) -> list[str]:
    return [source_text(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]


def ruff_format_py(source: str, cwd: Path) -> str:
    """What ``ruff format`` makes of ``source`` as a .py file (trailing newline dropped, as in a cell)."""
    done = subprocess.run(
        [ruff_executable(), "format", "--no-cache", "--stdin-filename", "cell.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    )
    return done.stdout.rstrip("\n")


def age(path: Path) -> int:
    """Set the file's modification time into the past; return it (in ns) to compare after a command."""
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    return path.stat().st_mtime_ns


def fmt_main(argv: list[str]) -> int:
    """``nb2prod fmt ARGV`` through the subcommand's own parser and handler."""
    parser = argparse.ArgumentParser(prog="nb2prod")
    fmt_cli.register(parser.add_subparsers(dest="command", required=True), parents=[])
    args = parser.parse_args(["fmt", *argv])
    return args.handler(args)


# --- what is formatted and what is kept ------------------------------------------------------------


@pytest.mark.parametrize("formatter", FORMATTERS)
def test_formats_code_and_keeps_magics_markdown_outputs_metadata(tmp_path: Path, formatter: str) -> None:
    path = messy(tmp_path)
    before = json.loads(path.read_text(encoding="utf-8"))
    [result] = fmt([path], formatter=formatter)
    assert result.error is None and result.changed and result.written
    after = json.loads(path.read_text(encoding="utf-8"))

    # everything but code cell sources is identical, key for key
    assert json.dumps(after["metadata"]) == json.dumps(before["metadata"])
    assert len(after["cells"]) == len(before["cells"])
    for old, new in zip(before["cells"], after["cells"], strict=True):
        assert json.dumps({k: v for k, v in new.items() if k != "source"}) == json.dumps({k: v for k, v in old.items() if k != "source"})
        if old["cell_type"] != "code":
            assert new["source"] == old["source"]
        assert isinstance(new["source"], list), "a source stored as lines stays lines"

    cells = sources(path)
    assert cells[1] == "%matplotlib inline\nimport os, sys\n\nfiles = !ls\n!ls -la"
    assert cells[2] == 'data = {"a": 1, "b": 2}\n\n\ndef total(d):\n    return sum(d.values())\n\n\nprint(data)'
    assert cells[3] == "%%time\nresult = total(data)\nsquares = [i**2 for i in range(10)]"
    assert cells[4] == source_text(before["cells"][4]["source"]), "a %%bash cell is not Python and is left alone"
    assert cells[5] == "x = !echo 1\ny = [1, 2, 3]"
    assert cells[7] == "z = 1", "an already formatted cell is unchanged"


def test_plain_python_cells_are_formatted_exactly_as_ruff_formats_a_py_file(tmp_path: Path) -> None:
    path = messy(tmp_path)
    before = sources(path)
    fmt([path])
    after = sources(path)
    assert after[2] == ruff_format_py(before[2], tmp_path)
    assert after[7] == ruff_format_py(before[7], tmp_path)


@pytest.mark.parametrize("formatter", FORMATTERS)
def test_second_run_changes_nothing_and_does_not_touch_the_file(tmp_path: Path, formatter: str) -> None:
    path = messy(tmp_path)
    fmt([path], formatter=formatter)
    content = path.read_bytes()
    mtime = age(path)
    [result] = fmt([path], formatter=formatter)
    assert result.error is None and not result.changed and not result.written
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == mtime


def test_file_style_is_kept_when_rewritten(tmp_path: Path) -> None:
    data = notebook("x=1", "y = 2")
    data["cells"][1]["source"] = ["y = 2"]
    path = tmp_path / "tabs.ipynb"
    path.write_text(json.dumps(data, indent="\t") + "\n", encoding="utf-8")
    fmt([path])
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps({**data, "cells": [code("x = 1", 0), data["cells"][1]]}, indent="\t") + "\n"


def test_format_cells_is_pure_and_returns_a_formatted_copy(tmp_path: Path) -> None:
    data = notebook("a=[1,2]", "%%html\n<b>  x </b>")
    data["cells"].insert(1, {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "a=[1,2]"})
    original = copy.deepcopy(data)
    result = format_cells(data, start=tmp_path)
    assert data == original
    assert [source_text(c["source"]) for c in result["cells"]] == ["a = [1, 2]", "a=[1,2]", "%%html\n<b>  x </b>"]


def test_non_python_notebook_is_left_alone_with_a_note(tmp_path: Path) -> None:
    meta = {"kernelspec": {"display_name": "R", "language": "R", "name": "ir"}, "language_info": {"name": "R"}}
    path = write(tmp_path / "r.ipynb", notebook("x<-c(1,2)", "y=1", metadata=meta))
    content = path.read_bytes()
    [result] = fmt([path])
    assert not result.changed and result.error is None
    assert result.notes == ("not formatted: the kernel language is R, not Python",)
    assert path.read_bytes() == content


def test_notebook_without_language_is_formatted_as_python(tmp_path: Path) -> None:
    path = write(tmp_path / "bare.ipynb", notebook("y=1", metadata={}))
    fmt([path])
    assert sources(path) == ["y = 1"]


def test_cells_vscode_marks_as_another_language_are_left_alone(tmp_path: Path) -> None:
    data = notebook("x=1", "y=1")
    data["cells"][1]["metadata"] = {"vscode": {"languageId": "sql"}}
    path = write(tmp_path / "vs.ipynb", data)
    fmt([path])
    assert sources(path) == ["x = 1", "y=1"]


# --- cells that do not parse ---------------------------------------------------------------------


@pytest.mark.parametrize("formatter", FORMATTERS)
def test_cell_with_syntax_error_is_left_unchanged_and_the_rest_formatted(tmp_path: Path, formatter: str) -> None:
    path = write(tmp_path / "bad.ipynb", notebook("a=1", "def f( :\n  pass", "b=[1,2]"))
    [result] = fmt([path], formatter=formatter)
    assert result.error is None and result.written
    assert sources(path) == ["a = 1", "def f( :\n  pass", "b = [1, 2]"]
    assert any(note.startswith("cell 2 not formatted") for note in result.notes)


def test_notebook_ruff_refuses_is_formatted_cell_by_cell(tmp_path: Path) -> None:
    # ">>> " prompts are IPython syntax (stripped before running) that ruff's parser refuses: ruff
    # then refuses the whole notebook, and nb2prod falls back to formatting one cell at a time.
    path = write(tmp_path / "prompt.ipynb", notebook("a=1", ">>> x=1", "b=[1,2]"))
    [result] = fmt([path])
    assert result.error is None
    assert sources(path) == ["a = 1", ">>> x=1", "b = [1, 2]"]
    assert any(note.startswith("cell 2 not formatted: ruff cannot parse it") for note in result.notes)


def test_many_notebooks_split_over_several_ruff_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fmtengines, "_MAX_ARGUMENTS", 30)  # about two file names per process
    calls: list[int] = []
    real_run = subprocess.run

    def counting_run(command: list[str], **kwargs: Any) -> Any:
        calls.append(len(command))
        return real_run(command, **kwargs)

    monkeypatch.setattr(fmtengines.subprocess, "run", counting_run)
    paths = [write(tmp_path / f"n{i}.ipynb", notebook(f"v{i}=[{i},{i}]")) for i in range(5)]
    paths.append(write(tmp_path / "n5.ipynb", notebook(">>> x=1", "w=1")))
    results = fmt(paths)
    assert all(r.error is None for r in results)
    assert [sources(p)[0] for p in paths[:5]] == [f"v{i} = [{i}, {i}]" for i in range(5)]
    assert sources(paths[5]) == [">>> x=1", "w = 1"]
    assert len(calls) >= 4, "the first pass alone needs three processes"


def test_black_without_its_notebook_support_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import black

    monkeypatch.setattr(black, "jupyter_dependencies_are_installed", lambda warn: False)
    path = write(tmp_path / "a.ipynb", notebook("x=1"))
    [result] = fmt([path], formatter="black")
    assert result.error is not None and "black[jupyter]" in str(result.error)


# --- configuration ---------------------------------------------------------------------------------


LONG = "result = some_function(first_argument, second_argument)"


def test_ruff_toml_line_length_is_respected(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text("line-length = 20\n", encoding="utf-8")
    path = write(tmp_path / "long.ipynb", notebook(LONG))
    fmt([path])
    assert sources(path) == ["result = some_function(\n    first_argument,\n    second_argument,\n)"]


def test_pyproject_tool_ruff_line_length_is_respected(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 40\n", encoding="utf-8")
    sub = tmp_path / "notebooks"
    sub.mkdir()
    path = write(sub / "long.ipynb", notebook(LONG))
    fmt([path])
    assert sources(path) == ["result = some_function(\n    first_argument, second_argument\n)"]


def test_without_config_ruff_default_line_length_applies(tmp_path: Path) -> None:
    path = write(tmp_path / "long.ipynb", notebook(LONG))
    [result] = fmt([path])
    assert not result.changed


def test_black_line_length_from_tool_black(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 20\n", encoding="utf-8")
    path = write(tmp_path / "long.ipynb", notebook(LONG))
    fmt([path], formatter="black")
    assert sources(path) == ["result = some_function(\n    first_argument,\n    second_argument,\n)"]


def test_formatter_from_config_and_flag_overrides_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []
    real_run = fmtengines._run
    monkeypatch.setattr(fmtengines, "_run", lambda formatter, jobs: (used.append(formatter), real_run(formatter, jobs)))
    (tmp_path / "pyproject.toml").write_text('[tool.nb2prod.lint]\nformatter = "black"\n', encoding="utf-8")
    path = write(tmp_path / "a.ipynb", notebook("x=1"))
    fmt([path], write=False)
    assert used and set(used) == {"black"}
    used.clear()
    fmt([path], write=False, formatter="ruff")
    assert used and set(used) == {"ruff"}


def test_unknown_formatter_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path / "a.ipynb", notebook("x=1"))
    with pytest.raises(UsageError):
        fmt([path], formatter="yapf", config=Config())


# --- verify before write ---------------------------------------------------------------------------


def test_formatter_that_changes_code_is_refused_and_nothing_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(formatter: str, jobs: list[Any]) -> None:
        for job in jobs:
            for index, source in job.sources.items():
                if "x = 1" in source:
                    job.formatted[index] = source.replace("x = 1", "x = 2")

    monkeypatch.setattr(fmtengines, "_run", broken)
    path = write(tmp_path / "a.ipynb", notebook("y = 0", "x = 1"))
    content = path.read_bytes()
    [result] = fmt([path])
    assert isinstance(result.error, FormatError)
    assert "cell 2" in str(result.error) and "AST" in str(result.error)
    assert str(result.error).startswith(f"{path}: error:")
    assert not result.written and path.read_bytes() == content


def test_black_that_changes_code_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import black

    monkeypatch.setattr(black, "format_cell", lambda src, *, fast, mode: src.replace("1", "2"))
    path = write(tmp_path / "a.ipynb", notebook("x = 1"))
    content = path.read_bytes()
    [result] = fmt([path], formatter="black")
    assert result.error is not None and "cell 1" in str(result.error)
    assert path.read_bytes() == content


def test_formatter_that_drops_a_magic_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import black

    monkeypatch.setattr(black, "format_cell", lambda src, *, fast, mode: src.replace("!ls -la", "!ls"))
    path = write(tmp_path / "a.ipynb", notebook("x = 1\n!ls -la"))
    content = path.read_bytes()
    [result] = fmt([path], formatter="black")
    assert result.error is not None and "IPython syntax" in str(result.error)
    assert path.read_bytes() == content


def test_unstable_formatter_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import black

    def flip(src: str, *, fast: bool, mode: Any) -> str:  # same AST every time, never the same text
        return src.replace("'", "\x00").replace('"', "'").replace("\x00", '"')

    monkeypatch.setattr(black, "format_cell", flip)
    path = write(tmp_path / "a.ipynb", notebook("x = 'a'"))
    content = path.read_bytes()
    [result] = fmt([path], formatter="black")
    assert result.error is not None and "not stable" in str(result.error) and "cell 1" in str(result.error)
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('def f():\n    """Doc\n       more."""\n', 'def f():\n    """Doc\n    more."""\n'),
        ('"""  Module doc.  """\n', '"""Module doc."""\n'),
        ("del (a, b)\n", "del a, b\n"),
        ("x = (1)\n", "x = 1\n"),
        ("%time y=1\n", "%time y=1\n"),
    ],
)
def test_verification_accepts_what_formatters_legitimately_change(before: str, after: str) -> None:
    assert fmtverify._code_view(before) == fmtverify._code_view(after)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("x = 1\n", "x = 1.0\n"),
        ("s = 'a  b'\n", "s = 'a b'\n"),
        ("x = 'a\\n  b'\n", "x = 'a\\nb'\n"),
        ("%time y=1\n", "%time y=2\n"),
        ("!ls -la\n", "!ls\n"),
    ],
)
def test_verification_rejects_changes_in_meaning(before: str, after: str) -> None:
    assert fmtverify._code_view(before) != fmtverify._code_view(after)


#: Pairs of cells: the tree comparison of _verify must decide as comparing the normalised dumps does.
SAME_CODE_PAIRS = [
    ('def f():\n    """Doc\n       more."""\n', 'def f():\n    """Doc\n    more."""\n'),
    ('"""  Module doc.  """\n', '"""Module doc."""\n'),
    ("'a'\n", "u'a'\n"),  # the same text, another `kind`
    ("'a'\n", "b'a'\n"),
    ("'a'\n", "1\n"),
    ("x = '  a'\n", "x = 'a'\n"),  # only standalone strings are normalised
    ("del (a, b)\n", "del a, b\n"),
    ("del (a, (b, c))\n", "del a, b, c\n"),
    ("del [a, b]\n", "del a, b\n"),
    ("x = (1)\n", "x = 1\n"),
    ("x = 1\n", "x = 1.0\n"),
    ("x = 1\n", "x = True\n"),
    ("x = 0x10\n", "x = 16\n"),
    ("x = 1e999\n", "x = 1E999\n"),
    ("x = ...\n", "x = Ellipsis\n"),
    ("s = 'a  b'\n", "s = 'a b'\n"),
    ("x = 'a\\n  b'\n", "x = 'a\\nb'\n"),
    ("f(a)\n", "f(a,)\n"),
    ("f(a)\n", "f(b)\n"),
    ("def f(a, /, b=1, *c, d, **e): pass\n", "def f(a, /, b=1, *c, d, **e):\n    pass\n"),
    ("def f(a): pass\n", "def f(a) -> None: pass\n"),
    ("{**a, 'b': 1}\n", "{**a, 'b': 1,}\n"),
    ("{**a}\n", "{None: a}\n"),  # a None key (the `**` of a dict display) against a constant
    ("global x, y\n", "global y, x\n"),
    ("from . import a\n", "from .. import a\n"),
    ("import a as b\n", "import a\n"),
    ("try:\n    pass\nexcept E as e:\n    pass\n", "try:\n    pass\nexcept E:\n    pass\n"),
    ("x: int\n", "x: int = 1\n"),
    ("x = f'{a!r}'\n", "x = f'{a!s}'\n"),
    ("match x:\n    case [1, *r]:\n        pass\n", "match x:\n    case [1, *rest]:\n        pass\n"),
    ("%time y=1\n", "%time y=1\n"),
    ("%time y=1\n", "%time y=2\n"),
    ("!ls -la\n", "!ls\n"),
    ("x = 1\n", "x = (\n"),  # does not parse
]


@pytest.mark.parametrize(("before", "after"), SAME_CODE_PAIRS)
def test_tree_comparison_decides_as_the_normalised_dumps(before: str, after: str) -> None:
    dumps = fmtverify._code_view(before), fmtverify._code_view(after)
    trees = fmtverify._tree_view(fmtverify._python_of(before)), fmtverify._tree_view(fmtverify._python_of(after))
    expected = dumps[0] is not None and dumps[1] is not None and dumps[0] == dumps[1]
    same = trees[0] is not None and trees[1] is not None and fmtverify._same_code(trees[0][0], trees[1][0]) and trees[0][1] == trees[1][1]
    assert same is expected


def test_tree_comparison_leaves_the_trees_alone() -> None:
    import ast

    before, after = ast.parse('"""  Doc.  """\ndel (a, b)\n'), ast.parse('"""Doc."""\ndel a, b\n')
    dumps = ast.dump(before), ast.dump(after)
    assert fmtverify._same_code(before, after)
    assert (ast.dump(before), ast.dump(after)) == dumps


def test_deeply_nested_code_is_verified(tmp_path: Path) -> None:
    # 1,500 terms: ast.dump recursed once per level (RecursionError); the comparison does not recurse.
    source = "x = " + " + ".join(["1"] * 1500)
    [cell] = format_cells(notebook(source), "ruff", start=tmp_path)["cells"]
    assert cell["source"] != source and cell["source"].replace("\n", "").replace(" ", "").replace("(", "").replace(")", "") == (
        source.replace(" ", "")
    )


def test_one_notebook_goes_through_ruff_standard_input_with_the_batch_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.loads((DATA / "messy.ipynb").read_text(encoding="utf-8"))
    used: list[bool] = []
    real = fmtengines._ruff_one

    def spy(*args: Any) -> bool:
        used.append(real(*args))
        return used[-1]

    monkeypatch.setattr(fmtengines, "_ruff_one", spy)
    piped = format_cells(data, "ruff", start=tmp_path)
    assert used and all(used)
    monkeypatch.setattr(fmtengines, "_ruff_one", lambda *args: False)  # the batch of files, as for several notebooks
    assert format_cells(data, "ruff", start=tmp_path) == piped != data


def test_one_notebook_ruff_refuses_falls_back_to_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[bool] = []
    real = fmtengines._ruff_one
    monkeypatch.setattr(fmtengines, "_ruff_one", lambda *args: used.append(real(*args)) or used[-1])
    path = write(tmp_path / "prompt.ipynb", notebook("a=1", ">>> x=1"))
    [result] = fmt([path], formatter="ruff")
    assert used[0] is False  # the first pass; the second (stability) one is piped again
    assert result.error is None and sources(path) == ["a = 1", ">>> x=1"]
    assert any(note.startswith("cell 2 not formatted: ruff cannot parse it") for note in result.notes)


def test_second_pass_takes_only_the_notebooks_that_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake(formatter: str, jobs: list[Any]) -> None:
        calls.append(sorted(source for job in jobs for source in job.sources.values()))
        for job in jobs:
            for index, source in job.sources.items():
                if source == "x = 1":
                    job.formatted[index] = "x = 2"  # a formatter bug: it changes the code
                elif source == "y=1":
                    job.formatted[index] = "y = 1"

    monkeypatch.setattr(fmtengines, "_run", fake)
    bad, good = write(tmp_path / "bad.ipynb", notebook("x = 1")), write(tmp_path / "good.ipynb", notebook("y=1"))
    results = fmt([bad, good], formatter="ruff")
    assert results[0].error is not None and "AST" in str(results[0].error) and not results[0].written
    assert results[1].error is None and results[1].written and sources(good) == ["y = 1"]
    assert calls[0] == ["x = 1", "y=1"]
    assert calls[-1] == ["y = 1"]  # the second pass as if it had waited for the verification


# --- text notebooks, several files, errors ---------------------------------------------------------


def test_text_notebook_is_formatted_and_written_back(tmp_path: Path) -> None:
    path = tmp_path / "percent.py"
    shutil.copyfile(DATA / "percent.py", path)
    [result] = fmt([path])
    assert result.error is None and result.written
    text = path.read_text(encoding="utf-8")
    assert "import os, sys\n\nvalues = [1, 2, 3]\n" in text
    assert "# %matplotlib inline\n\n\ndef double(x):\n    return x * 2\n" in text
    assert "# %% [markdown]\n# # A text notebook\n" in text
    [again] = fmt([path])
    assert not again.changed


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    good = write(tmp_path / "good.ipynb", notebook("x=1"))
    results = {Path(r.path).name: r for r in fmt([tmp_path])}
    assert results["bad.ipynb"].error is not None
    assert results["good.ipynb"].written
    assert sources(good) == ["x = 1"]


def test_file_changed_on_disk_meanwhile_is_not_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "a.ipynb", notebook("x=1"))
    real_run = fmtengines._run
    edited = json.dumps(notebook("x=1", "y=2"), indent=1) + "\n"

    def run_then_edit(formatter: str, jobs: list[Any]) -> None:
        real_run(formatter, jobs)
        path.write_text(edited, encoding="utf-8")  # someone saves the notebook while nb2prod formats it

    monkeypatch.setattr(fmtengines, "_run", run_then_edit)
    [result] = fmt([path])
    assert result.error is not None and "changed on disk" in str(result.error)
    assert path.read_text(encoding="utf-8") == edited


def test_diff_shows_each_changed_cell_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "a.ipynb", notebook("x=1", "y = 2", "z=[1,2]"))
    content = path.read_bytes()
    [result] = fmt([path], write=False, diff=True)
    assert result.changed and not result.written and path.read_bytes() == content
    assert result.diff == (
        f"--- {path}:cell 1\n+++ {path}:cell 1\n@@ -1 +1 @@\n-x=1\n+x = 1\n"
        f"--- {path}:cell 3\n+++ {path}:cell 3\n@@ -1 +1 @@\n-z=[1,2]\n+z = [1, 2]\n"
    )


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = messy(tmp_path)
    content = path.read_bytes()
    assert fmt_main(["--check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"would reformat {path}" in out
    assert "1 notebook would be reformatted, 0 unchanged" in err
    assert path.read_bytes() == content

    assert fmt_main([str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"reformatted {path}" in out and "1 notebook reformatted, 0 unchanged" in err

    assert fmt_main(["--check", str(path)]) == 0
    assert "0 notebooks would be reformatted, 1 unchanged" in capsys.readouterr().err


def test_cli_diff_prints_diffs_exits_0_and_1_with_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "a.ipynb", notebook("x=1"))
    content = path.read_bytes()
    assert fmt_main(["--diff", str(path)]) == 0
    out = capsys.readouterr().out
    assert out == f"--- {path}:cell 1\n+++ {path}:cell 1\n@@ -1 +1 @@\n-x=1\n+x = 1\n"
    assert fmt_main(["--diff", "--check", str(path)]) == 1
    assert path.read_bytes() == content


def test_cli_errors_exit_2_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.ipynb").write_text("", encoding="utf-8")
    write(tmp_path / "good.ipynb", notebook("x=1"))
    assert fmt_main(["--formatter", "black", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "bad.ipynb: error: empty file" in err
    assert "1 notebook reformatted, 0 unchanged, 1 failed" in err
    assert "good.ipynb" in out


def test_cli_quiet_prints_only_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "a.ipynb", notebook("x=1", "def f( :"))
    assert fmt_main(["-q", str(path)]) == 0
    assert capsys.readouterr() == ("", "")


def test_cli_notes_name_the_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "a.ipynb", notebook("x=1", "def f( :"))
    assert fmt_main([str(path)]) == 0
    assert f"{path}: note: cell 2 not formatted: it does not parse as Python" in capsys.readouterr().err


def test_import_of_formatting_is_cheap() -> None:
    code = (
        "import sys, nb2prod.formatting, nb2prod.cli.fmt, nb2prod.lint.fix\n"
        "print(sorted(m for m in ('black', 'jupytext', 'rich', 'IPython') if m in sys.modules))"
    )
    done = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("formatter", ["ruff", "black"])
def test_plain_python_is_formatted_and_verified_as_python(formatter: str, tmp_path: Path) -> None:
    """Generated modules (``plain=True``) are formatted as .py files: a line starting with %% inside a string does not
    make ruff skip the code as it skips such a notebook cell, and a trailing `;` (which hides a cell's output) goes."""
    module = 'HELP = """\n%%bash is not a magic here\n!ls neither\n"""\nx=(1);\n'
    formatted = format_cells(notebook(module), formatter, start=tmp_path, plain=True)
    text = source_text(formatted["cells"][0]["source"])
    assert text == 'HELP = """\n%%bash is not a magic here\n!ls neither\n"""\nx = 1\n'
    assert text.rstrip("\n") == ruff_format_py(module, tmp_path).rstrip("\n")
    as_cell = source_text(format_cells(notebook(module), formatter, start=tmp_path)["cells"][0]["source"])
    assert as_cell != text  # what notebook formatting would have made of it


def test_plain_python_that_a_formatter_changes_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import black

    monkeypatch.setattr(black, "format_file_contents", lambda src, *, fast, mode: src.replace("1", "2"))
    with pytest.raises(FormatError, match="cell 1"):
        format_cells(notebook("x = 1\n"), "black", start=tmp_path, plain=True)


def test_stable_false_verifies_but_skips_the_second_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """export formats once (stable=False): a formatter that never settles is not run twice, but a change of code is still refused."""
    import black

    calls: list[str] = []

    def flip(src: str, *, fast: bool, mode: Any) -> str:  # same AST every time, never the same text
        calls.append(src)
        return src.replace("'", "\x00").replace('"', "'").replace("\x00", '"')

    monkeypatch.setattr(black, "format_file_contents", flip)
    with pytest.raises(FormatError, match="not stable"):
        format_cells(notebook("x = 'a'"), "black", start=tmp_path, plain=True)
    calls.clear()
    formatted = format_cells(notebook("x = 'a'"), "black", start=tmp_path, plain=True, stable=False)
    assert source_text(formatted["cells"][0]["source"]) == 'x = "a"' and len(calls) == 1
    monkeypatch.setattr(black, "format_file_contents", lambda src, *, fast, mode: src.replace("1", "2"))
    with pytest.raises(FormatError, match="cell 1"):
        format_cells(notebook("x = 1"), "black", start=tmp_path, plain=True, stable=False)


def test_scratch_files_go_to_shared_memory_only_with_ample_room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shm = tmp_path / "shm"
    monkeypatch.setattr(fmtengines, "_SHARED_MEMORY", str(shm))
    assert fmtengines._scratch_folder(1000) is None  # no such folder: the temporary folder
    shm.mkdir()
    room = {"free": 64 << 20}  # a default Docker container's /dev/shm

    class Stats:
        f_frsize = 1

        @property
        def f_bavail(self) -> int:
            return room["free"]

    monkeypatch.setattr(os, "statvfs", lambda path: Stats())
    assert fmtengines._scratch_folder(1000) is None
    room["free"] = 24 << 30
    assert fmtengines._scratch_folder(1000) == str(shm)
    assert fmtengines._scratch_folder(1 << 30) is None  # too much for it
    formatted = format_cells(notebook("x=(1)"), "ruff", start=tmp_path)
    assert source_text(formatted["cells"][0]["source"]) == "x = 1"
    assert list(shm.iterdir()) == []  # scratch removed
