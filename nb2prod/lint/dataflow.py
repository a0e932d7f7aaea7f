"""Which names each notebook cell defines and uses, and what that means across cells.

The rules about hidden state and export readiness (NB104 use before definition, NB105 undefined
name, NB201 exported cell depends on a non-exported one) and ``nb2prod export`` need to know, for
every cell, the module-level names it binds and the names it reads before binding them itself.
This module computes that statically with :mod:`ast` (after :func:`~nb2prod.lint.ipython.transform_cell`
has turned IPython syntax into Python): notebook code is never executed, no input makes it raise,
and only the standard library is imported.

The analysis is a *may*-analysis, tuned against false "undefined name" reports: a name bound in any
branch of an ``if``/``try``/``match`` counts as bound after it, a name bound anywhere in a loop body
counts as bound throughout the loop, and a function that declares ``global x`` and assigns it counts
as binding ``x`` where the function is defined. Reads inside function and lambda bodies are
*deferred* (they happen when the function is called, so they are checked against every cell, not
against what came before); class bodies, comprehensions and generator expressions run at once.

Both orders a notebook can be read in are available from :class:`NotebookFlow`: top to bottom
("Restart & Run All") and the recorded execution order (the execution counts stored in the file).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .cellflow import BUILTIN_NAMES, IPYTHON_NAMES, CellFlow, Use, is_predefined
from .ipython import TransformedCell, parse_quietly, transform_cell
from .scopewalk import CellAnalyzer

__all__ = [
    "BUILTIN_NAMES",
    "IPYTHON_NAMES",
    "CellFlow",
    "NameIssue",
    "NotebookFlow",
    "Use",
    "analyze_cell",
    "analyze_notebook",
    "is_predefined",
]


@dataclass(frozen=True)
class NameIssue:
    """A name read in cell ``cell_index`` (0-based) at ``line``/``column`` (1-based), and the cells that define it."""

    name: str
    cell_index: int
    line: int
    column: int
    defined_in: tuple[int, ...]

    @property
    def position(self) -> tuple[int, int, int, str]:
        """Where it is, for sorting issues in reading order."""
        return self.cell_index, self.line, self.column, self.name


@dataclass(frozen=True)
class NotebookFlow:
    """The :class:`CellFlow` of every cell of a notebook (index-aligned) and the recorded execution counts."""

    cells: tuple[CellFlow, ...]
    execution_counts: tuple[int | None, ...] = ()

    def in_execution_order(self) -> list[int]:
        """Indices of the executed cells sorted by execution count (ties by position).

        Cells without an execution count (never run, markdown) are left out: in the recorded session
        they did not run, so they neither defined nor read anything. Empty when no counts were given.
        """
        executed = [
            (count, index)
            for index, count in enumerate(self.execution_counts[: len(self.cells)])
            if isinstance(count, int) and not isinstance(count, bool)
        ]
        return [index for _, index in sorted(executed)]

    def used_before_defined(self, order: Literal["top-down", "execution"] = "top-down") -> list[NameIssue]:
        """Immediate reads that no earlier cell (and no builtin or IPython name) can satisfy, though a later cell defines the name.

        ``order="top-down"`` reads the cells as "Restart & Run All" does; ``order="execution"`` reads
        the executed cells in recorded execution order (see :meth:`in_execution_order`). NB104 is a
        name reported top-down but not in execution order: it works only because of the order the
        cells were run in. ``defined_in`` lists the later cells, in the order read. Deferred reads are
        not reported (a function may be called after the later cell ran); neither are reads of a name
        the same cell binds further down (``print(x); x = 1``), since no *other* cell is involved.
        """
        if order == "top-down":
            sequence = list(range(len(self.cells)))
        elif order == "execution":
            sequence = self.in_execution_order()
        else:
            raise ValueError(f"order must be 'top-down' or 'execution', not {order!r}")
        position = {index: pos for pos, index in enumerate(sequence)}
        definers = _definers(self.cells, sequence)
        issues = []
        for pos, index in enumerate(sequence):
            for use in self.cells[index].uses:
                if use.deferred or is_predefined(use.name):
                    continue
                cells = definers.get(use.name, [])
                if any(position[other] < pos for other in cells):
                    continue
                later = tuple(other for other in cells if position[other] > pos)
                if later:
                    issues.append(NameIssue(use.name, index, use.line, use.column, later))
        return sorted(issues, key=lambda issue: issue.position)

    @property
    def first_unparsed(self) -> int | None:
        """Index of the first cell that does not parse as Python, or None."""
        return next((index for index, cell in enumerate(self.cells) if cell.syntax_error is not None), None)

    def undefined(self) -> list[NameIssue]:
        """Reads (immediate or deferred) of names no cell defines that are neither builtins nor IPython names (NB105).

        Empty when any cell may bind names the analysis cannot list (``from m import *``, ``%run``…):
        any name could come from there. A cell that does not parse is such a cell too, for the cells
        below it (see :attr:`first_unparsed`): its definitions are unknown, so no read below it is
        reported. One issue per name and cell, at the first read.
        """
        if any(cell.unknown_bindings for cell in self.cells):
            return []
        defined = {name for cell in self.cells for name in cell.defines}
        issues = []
        last = self.first_unparsed
        for index, cell in enumerate(self.cells[: None if last is None else last + 1]):
            for use in _first_uses(cell.uses):
                if use.name not in defined and not is_predefined(use.name):
                    issues.append(NameIssue(use.name, index, use.line, use.column, ()))
        return issues

    def defined_only_outside(self, selected: set[int]) -> list[NameIssue]:
        """Reads in the ``selected`` cells of names that only unselected cells define (NB201, selected = exported).

        A name any selected cell defines, or a Python builtin, is fine; IPython's names are not
        builtins of an exported module, but they are only reported when an unselected cell defines
        them. ``defined_in`` lists the unselected cells that define the name. Indices outside the
        notebook are ignored. One issue per name and cell, at the first read.
        """
        chosen = sorted(index for index in selected if 0 <= index < len(self.cells))
        inside = {name for index in chosen for name in self.cells[index].defines}
        definers = _definers(self.cells, range(len(self.cells)))
        issues = []
        for index in chosen:
            for use in _first_uses(self.cells[index].uses):
                outside = definers.get(use.name)
                if outside and use.name not in inside and use.name not in BUILTIN_NAMES:
                    issues.append(NameIssue(use.name, index, use.line, use.column, tuple(outside)))
        return issues


def _definers(cells: Sequence[CellFlow], sequence: Iterable[int]) -> dict[str, list[int]]:
    definers: dict[str, list[int]] = {}
    for index in sequence:
        for name in cells[index].defines:
            definers.setdefault(name, []).append(index)
    return definers


def _first_uses(uses: Iterable[Use]) -> list[Use]:
    seen: set[str] = set()
    first = []
    for use in uses:
        if use.name not in seen:
            seen.add(use.name)
            first.append(use)
    return first


def analyze_notebook(sources: Sequence[str], execution_counts: Sequence[int | None] | None = None) -> NotebookFlow:
    """Analyze every cell of a notebook; pass ``""`` for markdown and raw cells to keep indices aligned.

    ``execution_counts`` (one per cell, ``None`` for cells never run) enables the execution order.
    ``from __future__ import annotations`` in a cell carries over to the cells below it, as in IPython.
    """
    counts = tuple(execution_counts) if execution_counts is not None else (None,) * len(sources)
    if len(counts) != len(sources):
        raise ValueError(f"{len(sources)} cell sources but {len(counts)} execution counts")
    cells = []
    future_annotations = False
    for source in sources:
        flow = analyze_cell(source, future_annotations=future_annotations)
        future_annotations = flow.future_annotations
        cells.append(flow)
    return NotebookFlow(tuple(cells), counts)


def analyze_cell(source: str, *, future_annotations: bool = False) -> CellFlow:
    """Analyze one code cell (IPython syntax allowed); ``future_annotations`` if annotations are not evaluated."""
    cell = transform_cell(source)
    cell_magic_names = [name for name, line in cell.bound_names if cell.cell_magic is not None and line == cell.cell_magic.line]
    if not cell.analyzable:
        return CellFlow(
            defines={name: cell.cell_magic.line for name in cell_magic_names} if cell.cell_magic else {},
            magics=cell.magics,
            analyzable=False,
            unknown_bindings=cell.unknown_bindings,
            future_annotations=future_annotations,
            transformed=cell,
        )
    try:
        tree = parse_quietly(cell.python)
    except SyntaxError as error:
        # Without a line number the parser refused the whole text (null bytes).
        location = _error_location(cell, error.lineno, error.offset or 1) if error.lineno else _bad_character_location(cell)
        message = error.msg
    except ValueError as error:
        # Lone surrogates (and null bytes before Python 3.11.4): the parser refuses the whole text.
        location = _bad_character_location(cell)
        message = str(error)
    except (RecursionError, MemoryError):
        location = (1, 1)
        message = "too deeply nested to parse"
    else:
        try:
            return CellAnalyzer(cell, tree, future_annotations, cell_magic_names).result()
        except RecursionError:
            location = (1, 1)
            message = "too deeply nested to analyze"
    return CellFlow(
        syntax_error=(*location, message),
        magics=cell.magics,
        unknown_bindings=cell.unknown_bindings,
        future_annotations=future_annotations,
        transformed=cell,
    )


def _error_location(cell: TransformedCell, line: int, column: int) -> tuple[int, int]:
    line = min(max(line, 1), len(cell.column_offsets))
    return line, cell.original_column(line, max(column, 1))


def _bad_character_location(cell: TransformedCell) -> tuple[int, int]:
    for number, text in enumerate(cell.python.split("\n"), start=1):
        m = re.search(r"[\x00\ud800-\udfff]", text)
        if m:
            return _error_location(cell, number, m.start() + 1)
    return 1, 1
