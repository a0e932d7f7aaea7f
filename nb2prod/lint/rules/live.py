"""NB11x — live hidden state: what only a running kernel can tell, reported by ``%nb2prod lint``.

These rules compare the saved notebook with the kernel that runs it (its input history and the
names in its namespace, see :mod:`nb2prod.lint.live`). ``nb2prod lint`` on the command line has no
kernel, so there they find nothing; in a notebook, ``%load_ext nb2prod`` then ``%nb2prod lint``
reports them with the static rules. They never execute anything, and a fresh kernel has nothing
to report.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import LintContext
from ..live import first_line
from ..rule import Hit, Rule, RuleDoc, Severity

_LIMITS_HISTORY = (
    "Uses the kernel's input history (IPython's In): cells are matched to executions by their source; cells with the "
    "same code are told apart by their saved execution counts, and left out when a run cannot be attributed (run "
    "again after the save, or counts from another session). After a kernel restart the saved execution counts "
    "belong to the old session and are not used. Reported only by %nb2prod lint in a running kernel."
)


def _quoted(source: str) -> str:
    """The first line of code the kernel ran, its secrets masked (it is no cell of the notebook, so no report masks it)."""
    from ..redact import mask_source  # redact reads the rules' secret patterns: imported when a live rule reports

    return first_line(mask_source(source), 40)


def _cell_name(ctx: LintContext, index: int) -> str:
    return f"cell {index + 1} ({first_line(ctx.cells[index].source, 40)!r})"


def check_kernel_only_names(ctx: LintContext) -> Iterator[Hit]:
    """NB111: a name in the kernel's namespace that no cell of the saved notebook defines."""
    if ctx.live is None:
        return
    for name, count in ctx.live.kernel_only():
        code = _quoted(ctx.live.state.history[count])
        yield Hit(
            None,
            f"'{name}' exists only in the kernel: [{count}] ({code!r}) defined it, and no cell of the saved notebook does "
            "(a deleted or rewritten cell); Restart & Run All would lose it",
        )


def check_edited_since_run(ctx: LintContext) -> Iterator[Hit]:
    """NB112: a cell whose saved source is not what the kernel ran under its execution count."""
    if ctx.live is None:
        return
    for cell, count in ctx.live.edited():
        ran = _quoted(ctx.live.state.history[count])
        yield Hit(
            cell.index,
            f"edited since it ran as [{count}] (the kernel ran {ran!r}): its outputs and the kernel's state come from the old code",
        )


def check_live_out_of_order(ctx: LintContext) -> Iterator[Hit]:
    """NB113: in this kernel session, a cell last ran before a cell above it."""
    if ctx.live is None:
        return
    for cell, count, above, above_count in ctx.live.out_of_order():
        yield Hit(
            cell.index,
            f"last ran as [{count}], before {_cell_name(ctx, above.index)} above it ran as [{above_count}]: "
            "this session ran the notebook out of order",
        )


def check_stale_cells(ctx: LintContext) -> Iterator[Hit]:
    """NB114: a cell that read a name which a later execution has since redefined."""
    if ctx.live is None:
        return
    for cell, name, line, column, count in ctx.live.stale():
        by = ctx.live.cell_of(count)
        where = f"[{count}] ({_cell_name(ctx, by.index)})" if by is not None else f"[{count}]"
        yield Hit(
            cell.index,
            f"stale: it ran as [{ctx.live.runs[cell.index]}] with '{name}', which {where} has redefined since; "
            "its outputs no longer match the kernel's state (re-run it)",
            line,
            column,
        )


RULES: tuple[Rule, ...] = (
    Rule(
        "NB111",
        "kernel-only-name",
        Severity.WARNING,
        "a name in the kernel that no cell of the saved notebook defines (live)",
        check_kernel_only_names,
        RuleDoc(
            what="A variable, function or import in the running kernel that no cell of the saved notebook defines.",
            why=(
                "The cell that made it was deleted or rewritten after it ran. Everything computed from it depends on state "
                "that Restart & Run All, papermill and an exported module will not have."
            ),
            bad="# [4] helper = load_lookup()   <- the cell was deleted afterwards\n# cell 5: df['x'] = df.k.map(helper)",
            good="# cell 4 kept (or the code that uses helper rewritten without it)",
            fix="Put the definition back into a cell, or restart the kernel and re-run the notebook to see what breaks.",
            limits=_LIMITS_HISTORY + " Names that an extension, %run or exec() put in the namespace are not reported.",
        ),
    ),
    Rule(
        "NB112",
        "edited-since-run",
        Severity.WARNING,
        "a cell's saved source differs from what the kernel ran for it (live)",
        check_edited_since_run,
        RuleDoc(
            what="A cell whose source was changed after it ran: the kernel's history holds other code under its execution count.",
            why="Its outputs, and every name it defined in the kernel, come from code that is no longer in the notebook.",
            bad="# [5] threshold = 0.5   (ran)\n# then edited to: threshold = 0.7   (not run again)",
            good="# the edited cell run again, then the cells below it",
            fix="Run the cell again (and the cells that depend on it), or Restart & Run All.",
            limits=_LIMITS_HISTORY,
        ),
    ),
    Rule(
        "NB113",
        "live-out-of-order",
        Severity.WARNING,
        "in this kernel session, a cell last ran before a cell above it (live)",
        check_live_out_of_order,
        RuleDoc(
            what="Two cells whose latest runs in this kernel session are in the opposite order of their positions.",
            why=(
                "Unlike NB101 this uses the kernel's own history, so it sees runs the saved file does not show yet. The "
                "state was built in another order than a top-to-bottom run builds it."
            ),
            bad="# cell 1 last ran as [6], cell 2 as [3]",
            good="# Restart & Run All: cell 1 as [1], cell 2 as [2]",
            fix="Re-run the cells from the first one reported downwards, or Restart & Run All.",
            limits=_LIMITS_HISTORY,
        ),
    ),
    Rule(
        "NB114",
        "stale-cell",
        Severity.WARNING,
        "a cell used a name that a later execution has redefined (live)",
        check_stale_cells,
        RuleDoc(
            what="A cell that read a name which a cell run after it has since redefined: its outputs show the old value's results.",
            why=(
                "What the notebook shows no longer matches the kernel's state, and the next cell that uses the cell's results "
                "mixes old and new values."
            ),
            bad="# [3] b = a * 2\n# [6] a = 3   <- a redefined after b was computed",
            good="# [6] a = 3\n# [7] b = a * 2   <- re-run",
            fix="Re-run the stale cell (and the cells after it that use its results).",
            limits=_LIMITS_HISTORY + " A redefinition in a branch that did not run still counts.",
        ),
    ),
)
