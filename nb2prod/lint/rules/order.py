"""NB1 — execution order and hidden state: results a fresh "Restart & Run All" would not give."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ..context import LintContext
from ..dataflow import NameIssue
from ..language import PYTHON2_BUILTINS
from ..rule import Hit, Rule, RuleDoc, Severity


def _cells_list(indices: tuple[int, ...] | list[int]) -> str:
    numbers = [str(index + 1) for index in indices]
    return f"cell {numbers[0]}" if len(numbers) == 1 else "cells " + ", ".join(numbers)


def _name_hit(issue: NameIssue, message: str) -> Hit:
    """A finding at the read of the name a dataflow issue is about."""
    return Hit(issue.cell_index, message, issue.line, issue.column)


def _more(indices: list[int]) -> str:
    """`` (and 3 more: cells 7, 9, 12)`` for the cells after the first one reported, or ``""``."""
    if not indices:
        return ""
    shown = ", ".join(str(index + 1) for index in indices[:5]) + (", …" if len(indices) > 5 else "")
    return f" (and {len(indices)} more: {'cell' if len(indices) == 1 else 'cells'} {shown})"


def _is_setup(ctx: LintContext, index: int) -> bool:
    """A cell that only imports or sets up the session (``%matplotlib inline``): running it again or early changes no result."""
    tree = ctx.trees.get(index) if ctx.is_python else None
    return tree is not None and all(
        isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass)) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in tree.body
    )


def _has_effect(ctx: LintContext, index: int) -> bool:
    """Whether running the cell could change anything: not only comments, literals or bare names shown."""
    if not ctx.is_python:
        return True
    tree = ctx.trees.get(index)
    if tree is None:
        return True
    return any(not (isinstance(node, ast.Expr) and not any(isinstance(n, ast.Call) for n in ast.walk(node.value))) for node in tree.body)


def _counts(ctx: LintContext) -> list[tuple[int, int]]:
    """(cell index, execution count) of the code cells a kernel ran.

    A count of 0 is no kernel's (kernels count from 1; some tools write 0 on every cell), and when
    every executed cell has the same count a tool wrote them: neither says anything about a run.
    """
    counts = [(cell.index, cell.execution_count) for cell in ctx.code_cells() if cell.execution_count]
    if len(counts) > 1 and len({count for _, count in counts}) == 1:
        return []
    return counts


def check_out_of_order(ctx: LintContext) -> Iterator[Hit]:
    """NB101: cells whose execution count is lower than that of an executed cell above them; one finding per notebook."""
    highest: tuple[int, int] | None = None  # (count, cell index)
    found: list[tuple[int, int, tuple[int, int]]] = []
    for index, count in _counts(ctx):
        if _is_setup(ctx, index):
            continue  # an import cell run early or again changes no result
        if highest is not None and count < highest[0]:
            found.append((index, count, highest))
        else:
            highest = (count, index)
    if found:
        index, count, (above_count, above) = found[0]
        more = _more([item[0] for item in found[1:]])
        yield Hit(
            index,
            f"ran as [{count}], before cell {above + 1} above it ([{above_count}]){more}: the notebook was run out of order; "
            "Restart & Run All before saving",
        )


def check_skipped_cell(ctx: LintContext) -> Iterator[Hit]:
    """NB102: unexecuted code cells that would change something, between executed ones; one finding per notebook."""
    cells = [cell for cell in ctx.code_cells() if cell.source.strip()]
    executed = [i for i, cell in enumerate(cells) if cell.execution_count is not None]
    if not executed:
        return
    first, last = executed[0], executed[-1]
    skipped = [cell.index for cell in cells[first + 1 : last] if cell.execution_count is None and _has_effect(ctx, cell.index)]
    if skipped:
        yield Hit(
            skipped[0],
            f"was not run although cells above and below were{_more(skipped[1:])}: its effect is missing from the stored results",
        )


def check_count_gaps(ctx: LintContext) -> Iterator[Hit]:
    """NB103: an execution count that appears on two cells (outputs of two kernel sessions); one finding per notebook."""
    seen: dict[int, int] = {}
    repeats: list[tuple[int, int, int]] = []  # (cell, count, first cell with that count)
    for index, count in _counts(ctx):
        if count in seen:
            repeats.append((index, count, seen[count]))
        else:
            seen[count] = index
    if repeats:
        index, count, first = repeats[0]
        more = _more([item[0] for item in repeats[1:]])
        yield Hit(
            index, f"execution count [{count}] also appears on cell {first + 1}{more}: results come from more than one kernel session"
        )


def check_used_before_defined(ctx: LintContext) -> Iterator[Hit]:
    """NB104: a name used before the cell that defines it, which lies below."""
    if not ctx.is_python:
        return
    for issue in ctx.flow.used_before_defined():
        below = _cells_list(issue.defined_in)
        yield _name_hit(issue, f"'{issue.name}' is used before it is defined (in {below} below): 'Restart & Run All' fails here")


_VERSION_TEST = re.compile(r"version_info|python_version|\bPY2\b|\bPY3\b|\bPY34\b|\bIS_PY2\b|\bPYTHON2\b")


def _version_guarded_lines(tree: ast.Module | None) -> set[int]:
    """Lines under an ``if`` that tests the Python version (both branches): each runs on one Python only."""
    lines: set[int] = set()
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.If) and _VERSION_TEST.search(ast.unparse(node.test)):
            for statement in [*node.body, *node.orelse]:
                lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
        elif isinstance(node, ast.Try) and any(
            isinstance(handler.type, ast.Name) and handler.type.id == "NameError" for handler in node.handlers
        ):
            for statement in node.body:  # try: unicode / except NameError: the name may be missing on purpose
                lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return lines


def check_undefined(ctx: LintContext) -> Iterator[Hit]:
    """NB105: a name no cell defines or imports and that is no builtin."""
    if not ctx.is_python:
        return
    broken = ctx.flow.first_unparsed
    if broken is not None and not any(cell.unknown_bindings for cell in ctx.flow.cells):
        line, _, message = ctx.flow.cells[broken].syntax_error or (1, 1, "")
        ctx.notes.append(
            f"cell {broken + 1} does not parse (line {line}: {message}): the names it defines are unknown, "
            "so names used below it are not checked for NB105"
        )
    ran = {cell.index for cell in ctx.code_cells() if cell.execution_count is not None}
    guarded: dict[int, set[int]] = {}
    python2 = ctx.language.python2
    for issue in ctx.flow.undefined():
        if python2 and issue.name in PYTHON2_BUILTINS:
            continue  # `xrange` in a Python 2 kernel
        if ran and issue.cell_index not in ran:
            continue  # a cell left unrun in a run notebook: an illustration, or NB102's finding
        if issue.cell_index not in guarded:
            guarded[issue.cell_index] = _version_guarded_lines(ctx.trees.get(issue.cell_index))
        if issue.line in guarded[issue.cell_index]:
            continue  # `if sys.version_info < (3,): unicode(x)`: the other Python's names
        why = "the stored results depend on a kernel state that is gone" if ran else "a top-to-bottom run fails here with NameError"
        yield _name_hit(issue, f"'{issue.name}' is not defined or imported by any cell: {why}")


RULES: tuple[Rule, ...] = (
    Rule(
        "NB101",
        "out-of-order-execution",
        Severity.WARNING,
        "execution counts do not increase top to bottom",
        check_out_of_order,
        RuleDoc(
            what="Executed code cells whose execution counts do not increase from top to bottom. One finding per "
            "notebook, at the first such cell, listing the others: one Restart & Run All fixes them all. Cells that only "
            "import or set up (`%matplotlib inline`) are left out, and so are counts of 0 or all equal (a tool wrote "
            "them, not a kernel).",
            why=(
                "The stored outputs were produced in a different order than the notebook reads. Anyone who reruns it "
                "top to bottom (a scheduler, papermill, a colleague) may get different results or an error."
            ),
            bad="# cell 1, ran as [2]\nmodel = train(data)\n# cell 2, ran as [1]\ndata = load()",
            good="# cell 1, ran as [1]\ndata = load()\n# cell 2, ran as [2]\nmodel = train(data)",
            fix="Reorder the cells so each runs after what it needs, then Restart & Run All and save. Not auto-fixable: "
            "renumbering the counts would hide the problem without solving it.",
        ),
    ),
    Rule(
        "NB102",
        "skipped-cell",
        Severity.WARNING,
        "an unexecuted code cell between executed ones",
        check_skipped_cell,
        RuleDoc(
            what="A code cell that was never run, with executed cells above and below it, and whose running would change "
            "something (not only comments, literals or names shown). One finding per notebook, at the first such cell, "
            "listing the others.",
            why="The results below it were computed without its effect; a top-to-bottom run includes it and may differ.",
            bad="# [1] data = load()\n# [ ] data = data.dropna()\n# [2] model = train(data)",
            good="# [1] data = load()\n# [2] data = data.dropna()\n# [3] model = train(data)",
            fix="Restart & Run All, or delete the cell if it is not needed. Not auto-fixable.",
        ),
    ),
    Rule(
        "NB103",
        "execution-count-gaps",
        Severity.INFO,
        "an execution count that appears twice (results of two kernel sessions)",
        check_count_gaps,
        RuleDoc(
            what="An execution count that appears on two cells. One finding per notebook, at the first repeat, listing "
            "the others. Counts of 0 and notebooks whose counts are all equal are left out: a tool wrote those, not a "
            "kernel. Gaps alone (counts that skip numbers) are not reported: re-running a cell makes one and changes no "
            "stored result.",
            why=("Repeats mean the outputs come from different kernel sessions: the stored results are not those of one clean run."),
            bad="# [1] import pandas as pd\n# [2] df = pd.read_csv(path)\n# [1] df.describe()",
            good="# [1] import pandas as pd\n# [2] df = pd.read_csv(path)\n# [3] df.describe()",
            fix="Restart & Run All before saving (or strip outputs and counts with `nb2prod strip`). Not auto-fixable.",
            limits="A notebook re-run from the top in a new session without clearing the old outputs is reported once.",
        ),
    ),
    Rule(
        "NB104",
        "used-before-defined",
        Severity.ERROR,
        "a name is used in a cell before the cell below that defines it",
        check_used_before_defined,
        RuleDoc(
            what="A name used in a cell although no cell above defines it; a cell below does.",
            why=(
                "It works in the author's kernel only because the lower cell ran first. 'Restart & Run All', papermill and "
                "an exported module all fail with NameError here."
            ),
            bad="# cell 1\nprint(threshold)\n# cell 2\nthreshold = 0.5",
            good="# cell 1\nthreshold = 0.5\n# cell 2\nprint(threshold)",
            fix="Move the defining cell above its first use. Not auto-fixable.",
            limits="Static analysis: names created by exec(), globals() or a magic it does not know are not seen. Uses "
            "inside function bodies count when the function is called, so they are not reported here.",
        ),
    ),
    Rule(
        "NB105",
        "undefined-name",
        Severity.ERROR,
        "a name that no cell defines or imports",
        check_undefined,
        RuleDoc(
            what="A name that no cell defines or imports and that is not a Python builtin or an IPython name. In a "
            "notebook that was run, cells left unrun are not checked (illustrative snippets; NB102 reports a skipped cell "
            "that matters); in a notebook that was never run (stripped), every cell is. Names under a Python-version "
            "test (`if sys.version_info < (3,):`, `if six.PY2:`) or in a `try:` that catches NameError are not reported.",
            why=(
                "The cell that defined it was deleted or edited after it ran; the stored results depend on kernel state that "
                "no longer exists, and a fresh run fails with NameError."
            ),
            bad="# the cell `df = load()` was deleted\ndf.describe()",
            good="from data import load\ndf = load()\ndf.describe()",
            fix="Restore the definition (or the import). Not auto-fixable.",
            limits="Suppressed for notebooks that use `from module import *`, `%run` or `exec()`, whose names cannot be "
            "known statically, and below a cell that does not parse: what that cell defines is unknown, so lint says so "
            "once (a note with its syntax error) instead of reporting the names it would define as undefined.",
        ),
    ),
)
