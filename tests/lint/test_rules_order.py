"""NB1 rules: out-of-order execution, skipped cells, count gaps, use before definition, undefined names.

Also home of the robustness test over *all* rules (every family, selection ``ALL``) on generated
notebooks, since that test is about the engine running rules, not about one family.

The RuleDoc examples of NB1 are written as comments (``# cell 1, ran as [2]`` headers, one-line
``# [1] code`` cells): :func:`example_notebook` turns them into multi-cell notebooks with those
execution counts, so the pages ``nb2prod rules NB10x`` shows are checked against the rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lint_helpers import DATA, R_KERNEL, Where, fixture_findings, hits, where

from nb2prod.lint.context import LintContext, LintSettings
from nb2prod.lint.engine import LintOptions, Selection, lint_notebook
from nb2prod.lint.registry import registry
from nb2prod.lint.rule import Rule
from nb2prod.lint.rules import order
from nb2prod.lint.rules.order import RULES
from nb2prod.notebook import read_notebook

BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def ran(source: str, count: int | None) -> dict[str, Any]:
    """A code cell with an execution count (None: never run)."""
    return {"source": source, "execution_count": count}


def counted(*counts: int | None) -> list[dict[str, Any]]:
    """Non-empty code cells with the given execution counts."""
    return [ran(f"step_{i} = {i}", count) for i, count in enumerate(counts)]


# --- fixtures on disk: one triggering and one clean notebook per rule, through the engine --------

FIXTURE_CASES = [
    ("nb101_out_of_order", "NB101", [(3, None, None)]),
    ("nb101_clean", "NB101", []),
    ("nb102_skipped_cell", "NB102", [(2, None, None)]),
    ("nb102_clean", "NB102", []),
    ("nb103_count_gaps", "NB103", [(3, None, None)]),
    ("nb103_tool_written_zero_counts", "NB103", []),
    ("nb101_setup_cell_run_again_not_out_of_order", "NB101", []),
    ("nb102_comment_and_literal_cells_not_skipped", "NB102", []),
    ("nb105_unrun_illustration_in_run_notebook", "NB105", []),
    ("nb103_clean", "NB103", []),
    ("nb104_used_before_defined", "NB104", [(1, 1, 18), (3, 1, 11)]),
    ("nb104_clean", "NB104", []),
    ("nb105_undefined_name", "NB105", [(1, 1, 1), (2, 2, 12)]),
    ("nb105_clean", "NB105", []),
]


@pytest.mark.parametrize(("name", "code", "expected"), FIXTURE_CASES, ids=[case[0] for case in FIXTURE_CASES])
def test_fixture_notebooks(name: str, code: str, expected: list[Where]) -> None:
    findings = fixture_findings(name, code)
    assert [(f.code, f.cell_index, f.line, f.column) for f in findings] == [(code, *place) for place in expected]


def test_fixture_messages_name_cells_counts_and_names() -> None:
    def messages(name: str, code: str) -> list[str]:
        return [hit.message for hit in hits(LintContext(read_notebook(DATA / f"{name}.ipynb")), code)]

    assert messages("nb101_out_of_order", "NB101") == [
        "ran as [2], before cell 3 above it ([3]): the notebook was run out of order; Restart & Run All before saving"
    ]
    assert "was not run" in messages("nb102_skipped_cell", "NB102")[0]
    [repeat] = messages("nb103_count_gaps", "NB103")  # gaps alone are not reported
    assert repeat.startswith("execution count [5] also appears on cell 3")
    first, second = messages("nb104_used_before_defined", "NB104")
    assert first.startswith("'path' is used before it is defined (in cell 3 below)")
    assert second.startswith("'files' is used before it is defined (in cell 5 below)")
    assert [m.split("'")[1] for m in messages("nb105_undefined_name", "NB105")] == ["df", "model"]


# --- NB101 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((2, 1), [1]),
        ((1, 3, 2, 4), [2]),
        ((1, None, 3, None, 2), [4]),  # unexecuted cells between do not matter
        ((5, 1, 2, 3), [1]),  # one finding per notebook, at the first such cell
        ((1, 3, 2, 4, 1), [2]),
        ((0, 0, 0), []),  # tool-written counts
        ((4, 4, 4), []),
        ((1, 2, 3), []),
        ((1, None, None, 2), []),
        ((1, 1), []),  # equal counts: NB103, not NB101
        ((3, 3, 4), []),
        ((None, None), []),
        ((), []),
        ((7,), []),
    ],
)
def test_out_of_order(context_for: Callable[..., LintContext], counts: tuple[int | None, ...], expected: list[int]) -> None:
    assert where(hits(context_for(counted(*counts)), "NB101")) == [(index, None, None) for index in expected]


def test_out_of_order_ignores_markdown_and_names_the_cell_above(context_for: Callable[..., LintContext]) -> None:
    ctx = context_for([ran("a = 1", 4), ("markdown", "# Notes"), ran("b = 2", 2), ran("c = 3", 5), ran("d = 4", 3)])
    [found] = hits(ctx, "NB101")
    assert where([found]) == [(2, None, None)]
    assert found.message.startswith("ran as [2], before cell 1 above it ([4]) (and 1 more: cell 5): the notebook was run out of order")


# --- NB102 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([ran("a = 1", 1), ran("b = 2", None), ran("c = 3", 2)], [1]),
        ([ran("a = 1", 1), ran("b = 2", None), ran("c = 3", None), ran("d = 4", 2)], [1]),  # one per notebook
        ([ran("a = 1", 1), ran("# Your code here.", None), ran("0.8764", None), ran("df", None), ran("d = 4", 2)], []),  # no effect
        ([ran("a = 1", 1), ran("# plot it\nplt.show()", None), ran("d = 4", 2)], [1]),  # a call has an effect
        ([ran("a = 1", 3), ran("b = 2", None), ran("c = 3", 1)], [1]),  # order of the counts does not matter
        ([ran("a = 1", 1), ran("", None), ran("  \n\t", None), ran("d = 4", 2)], []),  # empty cells are fine
        ([ran("a = 1", 1), ran("b = 2", 2), ran("c = 3", None), ran("d = 4", None)], []),  # trailing cells
        ([ran("a = 1", None), ran("b = 2", 1), ran("c = 3", 2)], []),  # leading cells
        ([ran("a = 1", 1), ("markdown", "text"), ("raw", "raw"), ran("d = 4", 2)], []),
        ([ran("a = 1", None), ran("b = 2", None)], []),  # never executed
        ([ran("a = 1", 1)], []),
    ],
)
def test_skipped_cell(context_for: Callable[..., LintContext], cells: list[Any], expected: list[int]) -> None:
    assert where(hits(context_for(cells), "NB102")) == [(index, None, None) for index in expected]


# --- NB103 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected", "gap"),
    [
        ((1, 2, 5), [], None),  # gaps alone change no result: not reported
        ((1, 1, 2), [1], None),
        ((1, 2, 2, 3), [2], None),
        ((1, 2, 2, 3, 3), [2], None),  # one finding per notebook
        ((3, 3, 3), [], None),  # every count equal: written by a tool, not a kernel
        ((0, 0, 0, 0), [], None),  # kernels count from 1
        ((0, 1, 2), [], None),
        ((2, 3), [], None),
        ((1, 9), [], None),
        ((1, 2, 3), [], None),
        ((3, 1, 2), [], None),  # out of order, but no gap or repeat: that is NB101
        ((1, None, 2), [], None),
        ((None, None), [], None),  # never executed
        ((), [], None),
    ],
)
def test_count_gaps(context_for: Callable[..., LintContext], counts: tuple[int | None, ...], expected: list[int], gap: str | None) -> None:
    found = hits(context_for(counted(*counts)), "NB103")
    repeats = [hit for hit in found if hit.cell_index is not None]
    gaps = [hit for hit in found if hit.cell_index is None]
    assert where(repeats) == [(index, None, None) for index in expected]
    assert [hit.message.split(":")[0] for hit in gaps] == ([gap] if gap else [])
    assert all(hit.line is None for hit in gaps)


def test_count_repeat_names_the_first_cell(context_for: Callable[..., LintContext]) -> None:
    [hit] = hits(context_for([ran("a = 1", 1), ("markdown", "m"), ran("b = 2", 2), ran("c = 3", 1)]), "NB103")
    assert hit.cell_index == 3 and hit.message.startswith("execution count [1] also appears on cell 1:")


# --- NB104 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["print(x)", "x = 1"], [(0, 1, 7)]),
        (["import os\n\nprint(x)", "x = 1"], [(0, 3, 7)]),
        (["print(x)", "x = !ls"], [(0, 1, 7)]),  # IPython syntax defines names too
        (["print(out)", "%%capture out\nprint(1)"], [(0, 1, 7)]),
        (["print(x)", "%time x = 1"], [(0, 1, 7)]),
        (["class A:\n    y = x", "x = 1"], [(0, 2, 9)]),  # a class body runs at once
        (["z = [x for _ in range(2)]", "x = 1"], [(0, 1, 6)]),
        (["x += 1", "x = 0"], [(0, 1, 1)]),
        (["print(n)", "for n in range(3):\n    pass"], [(0, 1, 7)]),
        (["print(fh)", "with open('a') as fh:\n    pass"], [(0, 1, 7)]),
        (["print(w)", "if (w := 3):\n    pass"], [(0, 1, 7)]),
        (["print(a, b)", "a, (b, c) = 1, (2, 3)"], [(0, 1, 7), (0, 1, 10)]),
        (["print(x)", "def f():\n    global x\n    x = 1"], [(0, 1, 7)]),
        (["  print(x)", "x = 1"], [(0, 1, 9)]),  # columns of a dedented cell are the cell's
        (["%matplotlib inline\n!ls\nprint(x)", "x = 1"], [(0, 3, 7)]),
    ],
)
def test_used_before_defined(context_for: Callable[..., LintContext], cells: list[Any], expected: list[Where]) -> None:
    assert where(hits(context_for(cells), "NB104")) == expected


@pytest.mark.parametrize(
    "cells",
    [
        ["x = 1", "print(x)"],  # defined in an earlier cell
        ["x = 1", "print(x)", "x = 2"],  # defined above and below
        ["def f():\n    return x", "x = 1", "f()"],  # a function body runs when called
        ["f = lambda: x", "x = 1"],
        ["x = !ls", "print(x)"],
        ["%store -r x", "print(x)"],
        ["%%capture out\nprint(1)", "out.show()"],
        ["print(x); x = 1"],  # the same cell: no other cell involved
        ["print(undefined_anywhere)"],  # NB105, not NB104
        ["print(len(In), display, get_ipython)", "len = 3"],  # builtins and IPython names come first
        ["def broken(:\n    x", "x = 1"],
        ["%%bash\necho $x", "x = 1"],
    ],
)
def test_used_before_defined_not_reported(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    assert hits(context_for(cells), "NB104") == []


def test_used_before_defined_lists_every_later_definer(context_for: Callable[..., LintContext]) -> None:
    [hit] = hits(context_for(["print(x)", ("markdown", "m"), "x = 1", "x = 2"]), "NB104")
    assert "'x' is used before it is defined (in cells 3, 4 below)" in hit.message


def test_used_before_defined_is_not_also_undefined(context_for: Callable[..., LintContext]) -> None:
    ctx = context_for(["print(x)", "x = 1"])
    assert hits(ctx, "NB105") == [] and len(hits(ctx, "NB104")) == 1


# --- NB105 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["print(y)"], [(0, 1, 7)]),
        (["df.describe()\ndf.head()"], [(0, 1, 1)]),  # the first use per cell and name
        (["a = b + c"], [(0, 1, 5), (0, 1, 9)]),
        (["def f():\n    return model"], [(0, 2, 12)]),  # deferred reads count here
        (["x = 1", "print(y)", "print(y)"], [(1, 1, 7), (2, 1, 7)]),
        (["%matplotlib inline\nx = !ls\nprint(x, y)"], [(0, 3, 10)]),
        (["%%capture out\nprint(z)"], [(0, 2, 7)]),
        (["print(__file__)"], [(0, 1, 7)]),  # not defined in a kernel
    ],
)
def test_undefined(context_for: Callable[..., LintContext], cells: list[Any], expected: list[Where]) -> None:
    assert where(hits(context_for(cells), "NB105")) == expected


@pytest.mark.parametrize(
    "cells",
    [
        ["print(len([]), sorted({1}), ValueError, __name__)"],
        ["display(1)\nget_ipython()\nprint(In, Out, _, __, _i, _1, _i2, exit)"],
        ["%store -r model\nmodel.fit()"],
        ["%store -r\nmodel.fit()"],  # unknown names
        ["%%capture out\nprint(1)", "out.show()"],
        ["x = !ls", "print(x)"],
        ["%%bash --out result\necho 1", "print(result)"],
        ["from pandas import *", "read_csv('x')"],  # a star import suppresses the rule
        ["read_csv('x')", "from pandas import *"],
        ["%run helpers.py", "helper()"],
        ["exec('z = 1')", "print(z)"],
        ["print(x)", "x = 1"],  # NB104
        ["def f(a):\n    return [a * k for k in range(3)]"],
        ["try:\n    pass\nexcept ValueError as e:\n    print(e)"],
    ],
)
def test_undefined_not_reported(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    assert hits(context_for(cells), "NB105") == []


@pytest.mark.parametrize(
    "cells",
    [
        ["import sys\nif sys.version_info < (3, 0):\n    data = unicode(raw)\nelse:\n    data = raw\nprint(other)"],
        ["import six\nif six.PY2:\n    rng = xrange(3)"],
        ["try:\n    text = unicode('x')\nexcept NameError:\n    text = 'x'"],
    ],
)
def test_undefined_not_reported_under_a_python_version_guard(context_for: Callable[..., LintContext], cells: list[str]) -> None:
    """Python 2 names in code that runs only on Python 2 are not undefined; `other` outside the guard still is."""
    found = [hit.message.split("'")[1] for hit in hits(context_for(cells), "NB105")]
    assert found == (["other"] if "other" in cells[0] else [])


def test_undefined_not_reported_below_a_cell_that_does_not_parse() -> None:
    """A cell that does not parse defines unknown names: one note with its syntax error, no NB105 below it."""
    notebook = read_notebook(DATA / "nb105_names_below_unparsed_cell.ipynb")
    result = lint_notebook(notebook, LintOptions(selection=Selection(select=("NB105",))))
    assert result.findings == []
    assert result.notes == [
        "cell 3 does not parse (line 3: Missing parentheses in call to 'print'. Did you mean print(...)?): the names it "
        "defines are unknown, so names used below it are not checked for NB105"
    ]


def test_undefined_still_reported_above_a_cell_that_does_not_parse(context_for: Callable[..., LintContext]) -> None:
    """Reads above the broken cell are still checked; the note is said once however many cells fail."""
    ctx = context_for(["print(ghost)", "x = = 1", "print(x)", "y = = 2", "print(y)"])
    assert where(hits(ctx, "NB105")) == [(0, 1, 7)]
    assert len(ctx.notes) == 1 and ctx.notes[0].startswith("cell 2 does not parse (line 1:")


@pytest.mark.parametrize("code", ["NB104", "NB105"])
def test_code_rules_skip_non_python_kernels(context_for: Callable[..., LintContext], code: str) -> None:
    assert hits(context_for(["print(y)", "y <- 1"], metadata=R_KERNEL), code) == []


# --- every rule: the RuleDoc page ---------------------------------------------------------------

_CELL_HEADER = re.compile(r"# cell \d+(?:, ran as \[(\d+)\])?")
_ONE_LINE_CELL = re.compile(r"# \[(\d+| )\] (.*)")


def example_notebook(example: str) -> list[dict[str, Any]]:
    """Code cells from a RuleDoc example.

    ``# cell N`` (optionally ``, ran as [k]``) starts a cell; ``# [k] code`` / ``# [ ] code`` is a
    one-line cell with count ``k`` (or never run); any other line belongs to the current cell.
    """
    cells: list[dict[str, Any]] = []
    for line in example.splitlines():
        header = _CELL_HEADER.fullmatch(line)
        one_line = _ONE_LINE_CELL.fullmatch(line)
        if header:
            cells.append(ran("", int(header[1]) if header[1] else None))
        elif one_line:
            cells.append(ran(one_line[2], int(one_line[1]) if one_line[1].strip() else None))
        else:
            if not cells:
                cells.append(ran("", None))
            cells[-1]["source"] += line + "\n"
    return cells


def test_example_notebook_parser() -> None:
    assert example_notebook("# cell 1, ran as [2]\na = 1\nb = 2\n# cell 2\nc = 3") == [ran("a = 1\nb = 2\n", 2), ran("c = 3\n", None)]
    assert example_notebook("# [1] a = 1\n# [ ] b = 2") == [ran("a = 1", 1), ran("b = 2", None)]
    assert example_notebook("# note\nx = 1") == [ran("# note\nx = 1\n", None)]


@pytest.mark.parametrize("rule", RULES, ids=[rule.code for rule in RULES])
def test_rule_doc_is_complete_and_examples_behave(context_for: Callable[..., LintContext], rule: Rule) -> None:
    doc = rule.doc
    assert all(part.strip() for part in (doc.what, doc.why, doc.bad, doc.good, doc.fix)), rule.code
    assert "Not auto-fixable" in doc.fix and not rule.fixable and rule.default_on
    assert rule.code.startswith("NB1") and rule.name and rule.summary
    bad, good = example_notebook(doc.bad), example_notebook(doc.good)
    assert list(rule.check(context_for(bad))), f"{rule.code}: the bad example is not reported"
    assert list(rule.check(context_for(good))) == [], f"{rule.code}: the good example is reported"


def test_module_exposes_rules_only() -> None:
    assert order.RULES == RULES
    assert [rule.code for rule in RULES] == ["NB101", "NB102", "NB103", "NB104", "NB105"]
    assert all(registry()[rule.code] is rule for rule in RULES)


# --- all rules on generated notebooks -------------------------------------------------------------

FRAGMENTS = [
    "x = 1",
    "print(x)",
    "y = x + z",
    "import os",
    "from . import m",
    "def f():\n    return y",
    "class C:\n    a = b",
    "for i in range(3):\n    i",
    "df = pd.read_csv('a.csv')",
    "model.fit(X)",
    "if __name__ == '__main__':\n    main()",
    "%matplotlib inline",
    "%cd /tmp",
    "%time f()",
    "%store -r z",
    "%%time",
    "%%bash",
    "%%capture out",
    "!pip install x",
    "a = !b",
    "c?",
    "#| export",
    "#| parameters",
    "def f(:",
    "x = (",
    '"""',
    "\\",
    "é",
    "\x00",
    "    ",
]
OUTPUTS = [
    {"output_type": "stream", "name": "stdout", "text": "hello\n"},
    {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["Traceback", "ValueError: bad"]},
    {"output_type": "error"},
    {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=" * 40}, "metadata": {}},
    {"output_type": "execute_result", "execution_count": 1, "data": {"text/plain": "1"}, "metadata": {}},
]
METADATA = [
    {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}},
    {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    {"language_info": {"name": "python"}},
    {},
]
sources = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=5).map("\n".join)


@st.composite
def generated_cells(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["code", "code", "code", "markdown", "raw"]))
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": draw(sources)}
    if draw(st.booleans()):
        cell["metadata"]["tags"] = draw(st.lists(st.sampled_from(["parameters", "export", "test", "main", "skip"]), max_size=3))
    if draw(st.integers(0, 5)):
        cell["id"] = draw(st.sampled_from(["a", "b", "c", "d", "e", "f"]))  # missing or repeated ids too
    if kind == "code":
        cell["execution_count"] = draw(st.none() | st.integers(min_value=0, max_value=8))
        cell["outputs"] = draw(st.lists(st.sampled_from(OUTPUTS), max_size=2))
    elif kind == "markdown" and draw(st.booleans()):
        cell["attachments"] = {"a.png": {"image/png": "iVBORw0KGgo="}}
    return cell


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(generated_cells(), max_size=6),
    metadata=st.sampled_from(METADATA),
    minor=st.sampled_from([4, 5]),
    name=st.sampled_from(["analysis.ipynb", "Untitled1.ipynb", "a-Copy1.ipynb", "my analysis.ipynb"]),
    limits=st.tuples(st.integers(1, 40), st.integers(0, 2), st.floats(0, 1)),
)
def test_all_rules_never_raise_on_generated_notebooks(
    tmp_path: Path,
    cells: list[dict[str, Any]],
    metadata: dict[str, Any],
    minor: int,
    name: str,
    limits: tuple[int, int, float],
) -> None:
    path = tmp_path / name
    path.write_text(json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": minor}), encoding="utf-8")
    notebook = read_notebook(path)
    options = LintOptions(selection=Selection(select=("ALL",)), settings=LintSettings(*limits))
    result = lint_notebook(notebook, options)
    rules = registry()
    for finding in result.findings:
        assert finding.code in rules and finding.message
        assert finding.cell_index is None or 0 <= finding.cell_index < len(cells)
        assert finding.line is None or finding.line >= 1
        assert finding.column is None or finding.column >= 1
        if finding.cell_index is not None:
            assert finding.cell_id == cells[finding.cell_index].get("id")
