"""NB5 rules: stored errors, empty and long cells, title, output size, stored outputs, cell ids, file name, markdown, kernel.

NB506 and NB509 are off by default: they are checked both directly and through the engine's
selection. The RuleDoc examples of NB5 are mostly prose ("a code cell with nothing in it"), so
:func:`doc_examples` builds each rule's bad and good notebook by hand from what the example says,
parsing what can be parsed (``# output:`` notes, JSON cells and metadata, file names, counts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from lint_helpers import DATA, R_KERNEL, Where, fixture_findings, hits, where

from nb2prod.lint.context import LintContext, LintSettings
from nb2prod.lint.engine import LintOptions, Selection, lint_notebook
from nb2prod.lint.registry import registry
from nb2prod.lint.rule import Rule
from nb2prod.lint.rules import hygiene
from nb2prod.lint.rules.hygiene import RULES
from nb2prod.notebook import read_notebook

BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
PYTHON = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python"}}
TITLE = ("markdown", "# Churn model")


def stream(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def error(ename: str | None = "ValueError") -> dict[str, Any]:
    found = {"output_type": "error", "evalue": "bad", "traceback": ["Traceback (most recent call last):", f"{ename}: bad"]}
    return found if ename is None else {**found, "ename": ename}


def image(kb: int) -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": {}, "data": {"image/png": "A" * (kb * 1024)}}


def with_outputs(*outputs: dict[str, Any], source: str = "show()") -> dict[str, Any]:
    return {"source": source, "outputs": list(outputs), "execution_count": 1}


def lines(count: int) -> str:
    return "\n".join(f"x{i} = {i}" for i in range(count))


def raw_context(tmp_path: Path, cells: list[dict[str, Any]], *, minor: int = 5, name: str = "analysis.ipynb") -> LintContext:
    """A context over a notebook written exactly as given (no ids added)."""
    path = tmp_path / name
    notebook = {"cells": cells, "metadata": PYTHON, "nbformat": 4, "nbformat_minor": minor}
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return LintContext(read_notebook(path))


def code_cell(source: str, **extra: Any) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source, **extra}


# --- fixtures on disk: one triggering and one clean notebook per rule, through the engine --------

SMALL_OUTPUTS = LintSettings(max_output_kb=2)  # keeps the NB505 fixtures tiny; the default limit is tested below
FIXTURE_CASES = [
    ("nb501_error_output", "NB501", [(1, None)]),
    ("nb501_clean", "NB501", []),
    ("nb502_empty_cell", "NB502", [(2, None)]),
    ("nb502_exercise_answer_slots_not_empty", "NB502", []),
    ("nb501_teaching_errors_not_reported", "NB501", []),
    ("nb503_writefile_class_and_loop_cells_not_long", "NB503", []),
    ("nb504_title_after_install_cells", "NB504", []),
    ("nb502_clean", "NB502", []),
    ("nb503_long_cell", "NB503", [(1, 41)]),
    ("nb503_clean", "NB503", []),
    ("nb504_no_title", "NB504", [(None, None)]),
    ("nb504_clean", "NB504", []),
    ("nb505_large_output", "NB505", [(1, None)]),
    ("nb505_clean", "NB505", []),
    ("nb506_outputs_stored", "NB506", [(1, None)]),
    ("nb506_clean", "NB506", []),
    ("nb507_cell_ids", "NB507", [(1, None), (2, None)]),
    ("nb507_clean", "NB507", []),
    ("nb508_analysis-Copy1", "NB508", [(None, None)]),
    ("nb508_clean", "NB508", []),
    ("nb509_little_markdown", "NB509", [(None, None)]),
    ("nb509_clean", "NB509", []),
    ("nb510_no_kernelspec", "NB510", [(None, None)]),
    ("nb510_r_kernel", "NB510", [(None, None)]),
    ("nb510_clean", "NB510", []),
]


@pytest.mark.parametrize(("name", "code", "expected"), FIXTURE_CASES, ids=[case[0] for case in FIXTURE_CASES])
def test_fixture_notebooks(name: str, code: str, expected: list[tuple[int | None, int | None]]) -> None:
    findings = fixture_findings(name, code, SMALL_OUTPUTS)
    assert [(f.code, f.cell_index, f.line) for f in findings] == [(code, *place) for place in expected]
    assert all(f.column is None and f.fixable is BY_CODE[code].fixable for f in findings)


def test_fixture_messages() -> None:
    def messages(name: str, code: str) -> list[str]:
        ctx = LintContext(read_notebook(DATA / f"{name}.ipynb"), SMALL_OUTPUTS)
        return [hit.message for hit in hits(ctx, code)]

    assert messages("nb501_error_output", "NB501") == ["stored error output (FileNotFoundError): the saved run failed here"]
    assert messages("nb502_empty_cell", "NB502") == ["empty markdown cell"]
    assert messages("nb503_long_cell", "NB503")[0].startswith("41 lines (limit 40)")
    assert messages("nb505_large_output", "NB505")[0].startswith("output 1 (stream) is 3 KB (limit 2 KB)")
    assert [m.split(":")[0] for m in messages("nb507_cell_ids", "NB507")] == [
        "cell has no id (nbformat 4.5 requires one)",
        "cell id 'cell-0' is also the id of cell 1",
    ]
    assert messages("nb508_analysis-Copy1", "NB508")[0].startswith("file name 'nb508_analysis-Copy1.ipynb' marks a copy")
    assert messages("nb509_little_markdown", "NB509")[0].startswith("1 markdown cells for 4 code cells (ratio 0.25, minimum 0.3)")
    assert messages("nb510_no_kernelspec", "NB510")[0].startswith("no kernelspec")
    assert messages("nb510_r_kernel", "NB510")[0].startswith("the notebook's code is R, not Python (from its language_info): code rules")


# --- NB501 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected", "what"),
    [
        ([with_outputs(error())], [0], "(ValueError)"),
        ([with_outputs(stream("a\n"), error("KeyError"), error())], [0], "(KeyError)"),  # the first error of a cell
        (["x = 1", with_outputs(stream("ok\n")), with_outputs(error("NameError"))], [2], "(NameError)"),
        ([with_outputs(error(None))], [0], "(error)"),
        ([with_outputs(error()), with_outputs(error())], [0], "(ValueError) (and 1 more: cell 2)"),  # one per notebook
    ],
)
def test_error_outputs(context_for: Callable[..., LintContext], cells: list[Any], expected: list[int], what: str) -> None:
    found = hits(context_for(cells), "NB501")
    assert where(found) == [(index, None, None) for index in expected]
    assert found[0].message == f"stored error output {what}: the saved run failed here"
    assert all(hit.fixable for hit in found)


@pytest.mark.parametrize(
    "cells",
    [
        [with_outputs(stream("Traceback (most recent call last):\n"))],
        [with_outputs({"output_type": "stream", "name": "stderr", "text": "ValueError: bad\n"})],
        [("markdown", "Traceback (most recent call last)")],
        ["raise ValueError('not run')"],
    ],
)
def test_error_outputs_not_reported(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    assert hits(context_for(cells), "NB501") == []


# --- NB502 ----------------------------------------------------------------------------------------


def test_empty_cells(context_for: Callable[..., LintContext]) -> None:
    cells = ["", " \n\t", TITLE, ("markdown", ""), ("markdown", "  \n"), ("raw", ""), "x = 1", ("markdown", "text"), "# a comment"]
    found = hits(context_for(cells), "NB502")
    assert where(found) == [(0, None, None)]  # one finding per notebook, listing the others
    assert [hit.message for hit in found] == ["empty code cell (and 4 more: cells 2, 4, 5, 6)"]
    assert all(hit.fixable for hit in found)


def test_markdown_cell_with_only_an_attachment_is_not_empty(context_for: Callable[..., LintContext]) -> None:
    attachment = {"cell_type": "markdown", "source": "", "attachments": {"plot.png": {"image/png": "iVBORw0KGgo="}}}
    ctx = context_for([TITLE, attachment, {"cell_type": "markdown", "source": "", "attachments": {}}])
    assert where(hits(ctx, "NB502")) == [(2, None, None)]


# --- NB503 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "settings", "expected"),
    [
        (lines(41), LintSettings(), [(0, 41, None)]),
        (lines(40), LintSettings(), []),
        (lines(40) + "\n\n\n", LintSettings(), []),  # trailing blank lines do not count
        (lines(120), LintSettings(), [(0, 41, None)]),
        (lines(11), LintSettings(max_cell_lines=10), [(0, 11, None)]),
        (lines(10), LintSettings(max_cell_lines=10), []),
        (lines(41), LintSettings(max_cell_lines=50), []),
    ],
)
def test_long_cell(make_notebook: Callable[..., Path], source: str, settings: LintSettings, expected: list[Where]) -> None:
    ctx = LintContext(read_notebook(make_notebook([source])), settings)
    found = hits(ctx, "NB503")
    assert where(found) == expected
    if found:
        count = len(source.splitlines())
        assert found[0].message.startswith(f"{count} lines (limit {settings.max_cell_lines})")


def test_long_markdown_and_raw_cells_are_not_code(context_for: Callable[..., LintContext]) -> None:
    assert hits(context_for([("markdown", lines(100)), ("raw", lines(100))]), "NB503") == []


@pytest.mark.parametrize(
    "source",
    [
        'import os\n\ndef helper():\n    """' + "\n".join(f"    doc line {i}" for i in range(60)) + '\n    """\n    return 1',
        "def run(n):\n" + "\n".join(f"    step_{i} = n + {i}" for i in range(45)) + "\n\nif __name__ == '__main__':\n    run(3)",
        "%%bash\n" + "\n".join(f"echo {i}" for i in range(60)),
        "features = [\n" + "\n".join(f"    'feature_{i}'," for i in range(60)) + "\n]\ndf = df[features]",  # one statement
        "CREATE TABLE customer (\n" + "\n".join(f"  c_{i} integer not null," for i in range(60)) + "\n);",  # not Python
    ],
)
def test_long_cell_not_reported_for_one_thing(context_for: Callable[..., LintContext], source: str) -> None:
    """Docstring lines do not count; a script of definitions with its `__main__` block and shell cells are one thing."""
    assert hits(context_for([source]), "NB503") == []


def test_long_cell_still_reported_for_several_steps(context_for: Callable[..., LintContext]) -> None:
    """What NB503 still finds: a cell that loads, trains and evaluates in 41+ lines of top-level code."""
    source = "df = load()\n" + "\n".join(f"df = df.step_{i}()" for i in range(40)) + "\nmodel = train(df)"
    assert where(hits(context_for([source]), "NB503")) == [(0, 41, None)]


# --- NB504 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cells",
    [
        [("markdown", "# Churn model")],
        ["import os", "x = 1", ("markdown", "# Churn model")],  # the third cell still counts
        ["%pip install lightgbm", "!wget -q https://example.org/x.csv", "import pandas as pd", ("markdown", "# Churn")],  # setup first
        ["import os", "x = 1", "y = 2", ("markdown", "# Churn model")],  # setup cells do not count
        [("markdown", "## Data")],  # any heading level
        [("markdown", "### Data\n<h2>Data</h2>")],
        [("markdown", "Effect Size\n===========\n\nText.")],  # setext heading
        [("markdown", "Effect Size\n-----------")],
        [("markdown", "**Chapter 4 - Training Models**\n\nText.")],  # a bold first line
        [("markdown", "##Customer Churn##\n\nCredits: …")],  # classic Jupyter rendered headings without the space
        [("markdown", "Intro\n\n# Churn model")],  # any line of the cell
        [("markdown", "   # Churn model")],
        [("markdown", "<h1>Churn model</h1>")],
        [("markdown", "<H1 class='title'>Churn model</H1>")],
        [("markdown", "## Data"), ("markdown", "# Churn model")],
    ],
)
def test_title_present(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    assert hits(context_for(cells), "NB504") == []


@pytest.mark.parametrize(
    "cells",
    [
        ["import os"],
        ["x = 0", ("markdown", "Some text, then **bold** words")],
        ["x = 0", ("markdown", "#")],
        ["x = 0", "x = 1", "y = 2", ("markdown", "# Churn model")],  # the fourth cell is too late
        ["# Churn model"],  # a comment in a code cell
        [("raw", "# Churn model")],
        [
            "x = 0",
            ("markdown", "Setup:\n```bash\n# install the dependencies\npip install -r requirements.txt\n```"),
        ],  # a comment in a code block
    ],
)
def test_title_absent(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    """What NB504 still finds: a notebook of 3+ code cells that opens with code and has no heading near the top."""
    found = hits(context_for([*cells, "a = 1", "b = 2", "c = 3"]), "NB504")
    assert where(found) == [(None, None, None)]
    assert found[0].message == "no title: none of the first 3 cells is a markdown cell with a heading"


def test_title_not_needed(context_for: Callable[..., LintContext]) -> None:
    """A notebook that opens with prose says what it is; a script of fewer than 3 code cells needs no title."""
    assert hits(context_for([("markdown", "This is a companion notebook for the book."), "a = 1", "b = 2", "c = 3"]), "NB504") == []
    assert hits(context_for(["import os\na = 1", "b = 2"]), "NB504") == []


def test_title_not_required_of_an_empty_notebook(context_for: Callable[..., LintContext]) -> None:
    assert hits(context_for([]), "NB504") == []


# --- NB505 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outputs", "settings", "expected"),
    [
        ([image(600)], LintSettings(), [1]),
        ([image(400)], LintSettings(), []),
        ([image(499)], LintSettings(), []),
        ([image(400), image(400)], LintSettings(), []),  # per output, not per cell
        ([stream("x" * 10), image(600), image(700)], LintSettings(), [2, 3]),
        ([image(200)], LintSettings(max_output_kb=100), [1]),
        ([image(600)], LintSettings(max_output_kb=1000), []),
    ],
)
def test_large_output(make_notebook: Callable[..., Path], outputs: list[Any], settings: LintSettings, expected: list[int]) -> None:
    ctx = LintContext(read_notebook(make_notebook(["x = 1", with_outputs(*outputs)])), settings)
    found = hits(ctx, "NB505")
    assert where(found) == [(1, None, None)] * len(expected)
    assert [hit.message.split(" (")[0] for hit in found] == [f"output {number}" for number in expected]


def test_large_output_message_names_kinds_and_size(context_for: Callable[..., LintContext]) -> None:
    html = {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"text/plain": "df", "text/html": "<td>1</td>" * 60_000},
    }
    [hit] = hits(context_for([with_outputs(html, source="df")]), "NB505")
    assert hit.message == "output 1 (text/html, text/plain) is 586 KB (limit 500 KB): it bloats the repository"


# --- NB506 / NB509: off unless selected ---------------------------------------------------------


def findings(ctx_notebook: Path, selection: Selection, settings: LintSettings | None = None) -> list[tuple[str, int | None]]:
    result = lint_notebook(read_notebook(ctx_notebook), LintOptions(selection=selection, settings=settings or LintSettings()))
    return [(f.code, f.cell_index) for f in result.findings if f.code in ("NB506", "NB509")]


def test_off_by_default_rules() -> None:
    assert {rule.code for rule in RULES if not rule.default_on} == {"NB506", "NB509"}
    assert not Selection(select=None).wants(BY_CODE["NB506"]) and not Selection(select=None).wants(BY_CODE["NB509"])


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (Selection(select=None), []),
        (Selection(select=("NB5",), ignore=("NB506", "NB509")), []),
        (Selection(select=("NB506",)), [("NB506", 1)]),
        (Selection(select=("NB509",)), [("NB509", None)]),
        (Selection(select=("NB506", "NB509")), [("NB506", 1), ("NB509", None)]),
        (Selection(select=("NB5",)), [("NB506", 1), ("NB509", None)]),
        (Selection(select=("ALL",)), [("NB506", 1), ("NB509", None)]),
        (Selection(select=None, extend_select=("NB506",)), [("NB506", 1)]),
        (Selection(select=("ALL",), ignore=("NB509",)), [("NB506", 1)]),
    ],
)
def test_off_by_default_rules_run_when_selected(make_notebook: Callable[..., Path], selection: Selection, expected: list[Any]) -> None:
    path = make_notebook([TITLE, with_outputs(stream("hello\n"), source="print('hello')"), "x = 1", "y = 2", "z = 3", "w = 4"])
    assert findings(path, selection) == expected


@pytest.mark.parametrize(
    "cells",
    [
        [TITLE, {"source": "x = 1", "execution_count": 3}],  # an execution count is no output
        [TITLE, "print('hello')"],
        [("markdown", "text"), ("raw", "raw")],
    ],
)
def test_outputs_stored_not_reported(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    assert hits(context_for(cells), "NB506") == []


def test_outputs_stored_one_finding_per_cell(context_for: Callable[..., LintContext]) -> None:
    ctx = context_for([with_outputs(stream("a"), stream("b")), "x = 1", with_outputs(error())])
    assert where(hits(ctx, "NB506")) == [(0, None, None), (2, None, None)]


@pytest.mark.parametrize(
    ("cells", "settings", "reported"),
    [
        (["a", "b", "c", "d"], LintSettings(), "0 markdown cells for 4 code cells (ratio 0.00, minimum 0.3)"),
        ([("markdown", "m"), "a", "b", "c", "d"], LintSettings(), "1 markdown cells for 4 code cells (ratio 0.25, minimum 0.3)"),
        ([("markdown", "m"), "a", "b", "c"], LintSettings(), None),  # 0.33
        ([("markdown", "m"), ("markdown", "m"), "a", "b", "c", "d", "e", "f"], LintSettings(), None),  # 0.33
        ([("markdown", "m"), "a", "b", "c", "d"], LintSettings(min_markdown_ratio=0.25), None),  # exactly the minimum
        (
            [("markdown", "m"), "a", "b"],
            LintSettings(min_markdown_ratio=1.0),
            "1 markdown cells for 2 code cells (ratio 0.50, minimum 1.0)",
        ),
        ([("markdown", "m"), ("raw", "r"), ("raw", "r")], LintSettings(), None),  # no code cells
        ([], LintSettings(), None),
    ],
)
def test_markdown_ratio(make_notebook: Callable[..., Path], cells: list[Any], settings: LintSettings, reported: str | None) -> None:
    found = hits(LintContext(read_notebook(make_notebook(cells)), settings), "NB509")
    assert [(hit.cell_index, hit.line, hit.message) for hit in found] == ([(None, None, reported)] if reported else [])


# --- NB507 ----------------------------------------------------------------------------------------


def test_cell_ids_missing_in_a_45_notebook(tmp_path: Path) -> None:
    ctx = raw_context(tmp_path, [code_cell("x = 1", id="a"), code_cell("y = 2"), {"cell_type": "markdown", "metadata": {}, "source": "m"}])
    found = hits(ctx, "NB507")
    assert where(found) == [(1, None, None), (2, None, None)]
    assert all(hit.message == "cell has no id (nbformat 4.5 requires one)" and hit.fixable for hit in found)


def test_cell_ids_duplicated(tmp_path: Path) -> None:
    ctx = raw_context(
        tmp_path, [code_cell("x", id="same"), code_cell("y", id="other"), code_cell("z", id="same"), code_cell("w", id="same")]
    )
    found = hits(ctx, "NB507")
    assert where(found) == [(2, None, None), (3, None, None)]
    assert all(hit.message == "cell id 'same' is also the id of cell 1" for hit in found)


@pytest.mark.parametrize("minor", [0, 4])
def test_cell_ids_not_required_before_45(tmp_path: Path, minor: int) -> None:
    ctx = raw_context(tmp_path, [code_cell("x = 1"), code_cell("y = 2")], minor=minor)
    assert hits(ctx, "NB507") == []


def test_cell_ids_unique_in_a_45_notebook(context_for: Callable[..., LintContext]) -> None:
    assert hits(context_for([TITLE, "x = 1", ("raw", "r")]), "NB507") == []


# --- NB508 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Untitled.ipynb", "is Jupyter's default"),
        ("Untitled1.ipynb", "is Jupyter's default"),
        ("untitled2.ipynb", "is Jupyter's default"),
        ("Untitled-Copy1.ipynb", "is Jupyter's default"),
        ("analysis-Copy1.ipynb", "marks a copy"),
        ("Performance comparison copy.ipynb", "marks a copy"),
        ("analysis copy 2.ipynb", "marks a copy"),
        ("Copy of analysis.ipynb", "marks a copy"),
    ],
)
def test_file_name(context_for: Callable[..., LintContext], name: str, reason: str) -> None:
    [hit] = hits(context_for(["x = 1"], name=name), "NB508")
    assert (hit.cell_index, hit.line) == (None, None)
    assert hit.message.startswith(f"file name '{name}' {reason}")


@pytest.mark.parametrize(
    "name",
    [
        "train_model.ipynb",
        "train-model.ipynb",
        "01_load.v2.ipynb",
        "Model.ipynb",
        "copy_of_data.ipynb",
        "my analysis.ipynb",  # spaces are a naming convention, not worth a finding
        "Figure 7 - Airline Tweet Sentiment Analysis.ipynb",
        "résumé.ipynb",
        "copyright_notice.ipynb",
    ],
)
def test_file_name_fine(context_for: Callable[..., LintContext], name: str) -> None:
    assert hits(context_for(["x = 1"], name=name), "NB508") == []


# --- NB510 ----------------------------------------------------------------------------------------


def test_no_kernelspec_not_reported_without_code(context_for: Callable[..., LintContext]) -> None:
    """An empty stray notebook (no code) has nothing to run: its missing kernelspec is beside the point."""
    assert hits(context_for([], metadata={}), "NB510") == []
    assert hits(context_for([TITLE, ""], metadata={}), "NB510") == []


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "no kernelspec"),
        ({"language_info": {"name": "python"}}, "no kernelspec"),
        ({"kernelspec": {"name": "", "display_name": "Python 3", "language": "python"}}, "no kernelspec"),
        (R_KERNEL, "the notebook's code is R, not Python"),
        ({"kernelspec": {"name": "julia-1.10", "display_name": "Julia", "language": "julia"}}, "the notebook's code is julia, not Python"),
    ],
)
def test_kernel_reported(context_for: Callable[..., LintContext], metadata: dict[str, Any], message: str) -> None:
    [hit] = hits(context_for(["x = 1"], metadata=metadata), "NB510")
    assert (hit.cell_index, hit.line) == (None, None)
    assert hit.message.startswith(message)


@pytest.mark.parametrize(
    "metadata",
    [
        PYTHON,
        {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        {"kernelspec": {"name": "conda-env-ml-py", "display_name": "ml", "language": "python"}},
        {"kernelspec": {"name": "python3", "display_name": "Python 3"}, "language_info": {"name": "python"}},
        {"kernelspec": {"name": "python3", "display_name": "Python 3"}},  # `language` is optional in the kernelspec
    ],
)
def test_kernel_python_is_clean(context_for: Callable[..., LintContext], metadata: dict[str, Any]) -> None:
    ctx = context_for(["x = 1"], metadata=metadata)
    assert hits(ctx, "NB510") == [] and ctx.is_python


def test_non_python_kernel_turns_code_rules_off(make_notebook: Callable[..., Path]) -> None:
    cells = [TITLE, "print(undefined_name)", "print(later)", "later = 2"]  # valid R and valid Python
    notebook = read_notebook(make_notebook(cells, metadata=R_KERNEL))
    result = lint_notebook(notebook, LintOptions(selection=Selection(select=("ALL",))))
    assert [(f.code, f.cell_index) for f in result.findings] == [("NB510", None)]
    assert result.notes == ["code rules skipped, ruff's too: the notebook's code is R, not Python 3"]
    python = lint_notebook(read_notebook(make_notebook(cells, name="python.ipynb")), LintOptions(selection=Selection(select=("NB1",))))
    assert {f.code for f in python.findings} >= {"NB104", "NB105"}  # the same cells are reported under Python


def test_text_notebooks_skip_ids_and_kernelspec(tmp_path: Path) -> None:
    path = tmp_path / "analysis.py"
    path.write_text("# %% [markdown]\n# # Churn model\n\n# %%\nx = 1\n", encoding="utf-8")
    ctx = LintContext(read_notebook(path))
    assert ctx.is_python
    assert hits(ctx, "NB507") == [] and hits(ctx, "NB510") == [] and hits(ctx, "NB504") == []


# --- every rule: the RuleDoc page ---------------------------------------------------------------


class Example(NamedTuple):
    """A notebook built from a RuleDoc example: code cells from specs, or raw cell JSON (no ids added)."""

    cells: list[Any]
    name: str = "analysis.ipynb"
    metadata: dict[str, Any] | None = None
    raw_cells: list[dict[str, Any]] | None = None


def noted_cell(example: str) -> dict[str, Any]:
    """``code   # output: X`` -> a code cell with X as its output (an error output if X names an error)."""
    code, _, note = example.partition("   # ")
    text = note.removeprefix("output: ") if note.startswith("output: ") else ""
    if not text:
        return {"source": code, "outputs": []}
    ename = text.split()[0]
    output = error(ename) if ename.endswith("Error") else stream(text + "\n")
    return {"source": code, "outputs": [output], "execution_count": 1}


def found_in(pattern: str, text: str) -> tuple[str, ...]:
    """The groups of ``pattern`` in a RuleDoc example (which must contain it)."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not in {text!r}"
    return match.groups()


def doc_examples(rule: Rule) -> tuple[list[Example], Example]:
    """Every bad example (NB508 lists two file names) and the good one, as notebooks."""
    doc, code = rule.doc, rule.code
    if code in ("NB501", "NB506"):
        return [Example([TITLE, noted_cell(doc.bad)])], Example([TITLE, noted_cell(doc.good)])
    if code == "NB502":  # "(a code cell with nothing in it)" / "(the cell deleted)"
        return [Example([TITLE, "x = 1", ""])], Example([TITLE, "x = 1"])
    if code == "NB503":  # "one 120-line cell" / "a cell per step"
        [count] = map(int, found_in(r"(\d+)-line cell", doc.bad))
        return [Example([TITLE, lines(count)])], Example([TITLE, *[lines(10)] * (count // 10)])
    if code == "NB504":  # a code cell / a markdown cell with the title
        cells = doc.bad.split("\n")  # one code cell per line
        return [Example(cells)], Example([("markdown", doc.good), *cells])
    if code == "NB505":  # "df   # displays 200,000 rows as HTML" / "df.head()"
        [rows] = (int(text.replace(",", "")) for text in found_in(r"([\d,]+) rows", doc.bad))
        html = {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/html": "<tr><td>1</td></tr>" * rows}}
        small = {**html, "data": {"text/html": "<tr><td>1</td></tr>" * 5}}
        return [Example([TITLE, with_outputs(html, source="df")])], Example([TITLE, with_outputs(small, source=doc.good)])
    if code == "NB507":  # JSON cells
        return [Example([], raw_cells=[code_cell("") | json.loads(doc.bad)])], Example([], raw_cells=[code_cell("") | json.loads(doc.good)])
    if code == "NB508":  # file names
        return [Example([TITLE], name=name) for name in doc.bad.split(", ")], Example([TITLE], name=doc.good)
    if code == "NB509":  # "20 code cells, 1 markdown cell" / "a markdown cell before each step"
        code_count, markdown_count = map(int, found_in(r"(\d+) code cells, (\d+) markdown cell", doc.bad))
        return [Example([*[("markdown", "m")] * markdown_count, *["x = 1"] * code_count])], Example([("markdown", "m"), "x = 1"] * 5)
    if code == "NB510":  # notebook metadata
        return [Example([TITLE, "x = 1"], metadata=json.loads("{" + doc.bad + "}")["metadata"])], Example(
            [TITLE, "x = 1"], metadata=json.loads("{" + doc.good + "}")["metadata"]
        )
    raise AssertionError(f"no example notebooks for {code}")


def example_context(tmp_path: Path, example: Example, make_notebook: Callable[..., Path]) -> LintContext:
    if example.raw_cells is not None:
        return raw_context(tmp_path, example.raw_cells)
    return LintContext(read_notebook(make_notebook(example.cells, name=example.name, metadata=example.metadata)))


@pytest.mark.parametrize("rule", RULES, ids=[rule.code for rule in RULES])
def test_rule_doc_is_complete_and_examples_behave(tmp_path: Path, make_notebook: Callable[..., Path], rule: Rule) -> None:
    doc = rule.doc
    assert all(part.strip() for part in (doc.what, doc.why, doc.bad, doc.good, doc.fix)), rule.code
    assert rule.code.startswith("NB5") and rule.name and rule.summary
    assert rule.fixable == ("--fix" in doc.fix), rule.code
    assert rule.fixable or "Not auto-fixable" in doc.fix or rule.code == "NB506"  # NB506's fix is `nb2prod strip`
    assert rule.default_on == ("Off unless selected" not in doc.what), rule.code
    bad, good = doc_examples(rule)
    for example in bad:
        found = list(rule.check(example_context(tmp_path, example, make_notebook)))
        assert found, f"{rule.code}: the bad example {example.name} is not reported"
        assert all(hit.fixable is rule.fixable for hit in found)
    assert list(rule.check(example_context(tmp_path, good, make_notebook))) == [], f"{rule.code}: the good example is reported"


def test_module_exposes_rules_only() -> None:
    assert hygiene.RULES == RULES
    assert [rule.code for rule in RULES] == [f"NB5{n:02d}" for n in range(1, 11)]
    assert {rule.code for rule in RULES if rule.fixable} == {"NB501", "NB502", "NB507"}
    assert all(registry()[rule.code] is rule for rule in RULES)


def test_outputs_stored_message_does_not_claim_the_repository_strips() -> None:
    """NB506 is computed from the notebook alone: nothing there says the repository strips, so the message does not either."""
    [hit] = [h for h in hits(LintContext(read_notebook(DATA / "nb506_outputs_stored.ipynb")), "NB506")]
    assert "this repository strips" not in hit.message
    assert hit.message == "outputs are stored: strip them (`nb2prod strip`) if this repository keeps notebooks without outputs"
