"""NB1 — execution order and hidden state: results a fresh "Restart & Run All" would not give."""

from __future__ import annotations

from collections.abc import Iterator

from ..context import LintContext
from ..dataflow import NameIssue
from ..rule import Hit, Rule, RuleDoc, Severity


def _cells_list(indices: tuple[int, ...] | list[int]) -> str:
    numbers = [str(index + 1) for index in indices]
    return f"cell {numbers[0]}" if len(numbers) == 1 else "cells " + ", ".join(numbers)


def _name_hit(issue: NameIssue, message: str) -> Hit:
    """A finding at the read of the name a dataflow issue is about."""
    return Hit(issue.cell_index, message, issue.line, issue.column)


def check_out_of_order(ctx: LintContext) -> Iterator[Hit]:
    """NB101: a cell whose execution count is lower than that of an executed cell above it."""
    highest: tuple[int, int] | None = None  # (count, cell index)
    for cell in ctx.code_cells():
        count = cell.execution_count
        if count is None:
            continue
        if highest is not None and count < highest[0]:
            above = f"cell {highest[1] + 1} above it ([{highest[0]}])"
            yield Hit(cell.index, f"ran as [{count}], before {above}: the notebook was run out of order")
        else:
            highest = (count, cell.index)


def check_skipped_cell(ctx: LintContext) -> Iterator[Hit]:
    """NB102: an unexecuted, non-empty code cell between executed ones."""
    cells = [cell for cell in ctx.code_cells() if cell.source.strip()]
    executed = [i for i, cell in enumerate(cells) if cell.execution_count is not None]
    if not executed:
        return
    first, last = executed[0], executed[-1]
    for cell in cells[first + 1 : last]:
        if cell.execution_count is None:
            yield Hit(cell.index, "was not run although cells above and below were: its effect is missing from the stored results")


def check_count_gaps(ctx: LintContext) -> Iterator[Hit]:
    """NB103: repeated execution counts, or counts missing from 1..max."""
    seen: dict[int, int] = {}
    for cell in ctx.code_cells():
        count = cell.execution_count
        if count is None:
            continue
        if count in seen:
            message = f"execution count [{count}] also appears on cell {seen[count] + 1}: results come from more than one kernel session"
            yield Hit(cell.index, message)
        else:
            seen[count] = cell.index
    if not seen:
        return
    missing = sorted(set(range(1, max(seen) + 1)) - set(seen))
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (", …" if len(missing) > 5 else "")
        yield Hit(None, f"execution counts skip {shown} ({len(missing)} missing): cells were re-run or deleted since the kernel started")


def check_used_before_defined(ctx: LintContext) -> Iterator[Hit]:
    """NB104: a name used before the cell that defines it, which lies below."""
    if not ctx.is_python:
        return
    for issue in ctx.flow.used_before_defined():
        below = _cells_list(issue.defined_in)
        yield _name_hit(issue, f"'{issue.name}' is used before it is defined (in {below} below): 'Restart & Run All' fails here")


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
    for issue in ctx.flow.undefined():
        gone = "the stored results depend on a kernel state that is gone"
        yield _name_hit(issue, f"'{issue.name}' is not defined or imported by any cell: {gone}")


RULES: tuple[Rule, ...] = (
    Rule(
        "NB101",
        "out-of-order-execution",
        Severity.WARNING,
        "execution counts do not increase top to bottom",
        check_out_of_order,
        RuleDoc(
            what="Executed code cells whose execution counts do not increase from top to bottom.",
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
            what="A non-empty code cell that was never run, with executed cells above and below it.",
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
        "gaps or repeats in execution counts",
        check_count_gaps,
        RuleDoc(
            what="Execution counts that repeat, or that skip numbers between 1 and the highest count.",
            why=(
                "Gaps mean cells were re-run or deleted; repeats mean outputs come from different kernel sessions. Either "
                "way the stored results are not those of one clean run."
            ),
            bad="# [1] import pandas as pd\n# [4] df = pd.read_csv(path)\n# [7] df.describe()",
            good="# [1] import pandas as pd\n# [2] df = pd.read_csv(path)\n# [3] df.describe()",
            fix="Restart & Run All before saving (or strip outputs and counts with `nb2prod strip`). Not auto-fixable.",
            limits="A notebook that was deliberately run in part (the first cells only) is reported as having gaps only "
            "if counts are missing between 1 and its highest count.",
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
            what="A name that no cell defines or imports and that is not a Python builtin or an IPython name.",
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
