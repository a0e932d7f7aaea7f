"""What a running kernel knows that the saved notebook does not: the analysis behind the live rules (NB111-NB114).

``%nb2prod lint`` hands lint a :class:`KernelState`: the kernel's input history (what it ran as
``[1]``, ``[2]``… in this session, IPython's ``In``) and the names in its user namespace. Compared
with the saved notebook and nb2prod's dataflow (:mod:`nb2prod.lint.dataflow`), that tells:

- which saved cells ran in this session, and as which execution count (:attr:`LiveView.runs`): the
  latest history entry holding the cell's current source; when several cells hold the same code,
  their saved execution counts say which run was whose;
- which cells were edited since they ran (the history holds other code under their saved count);
- which names exist only in the kernel (no saved cell defines them: a deleted or rewritten cell);
- which cells are stale: they read a name that a later execution has since redefined.

Nothing is executed and no value of the namespace is read, only its names. The saved execution
counts may come from an earlier kernel session (the kernel was restarted and the notebook not run
again); then they say nothing about this session and the checks that rely on them stay silent
(:attr:`LiveView.same_session`). A fresh kernel has no history to compare, so the live rules find
nothing there. Pure standard library: the magics collect the state, this module only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..model import Cell
from .dataflow import CellFlow, analyze_cell, is_predefined


@dataclass(frozen=True)
class KernelState:
    """The kernel's side: ``history[n]`` is the source it ran as ``[n]`` (``history[0]`` is ``""``, IPython's ``In``).

    ``names`` are the user namespace's names without those IPython puts there itself. ``current``
    is the execution count of the cell that asked for the lint: it is left out of every check.
    """

    history: tuple[str, ...]
    names: frozenset[str] = frozenset()
    current: int | None = None


def _same(left: str, right: str) -> bool:
    """Whether two cell sources are the same code (line endings and surrounding blank space aside)."""
    return _code(left) == _code(right)


def _code(source: str) -> str:
    """A cell source as the matching compares it: line endings and surrounding blank space aside."""
    return source.replace("\r\n", "\n").strip()


def first_line(source: str, width: int = 50) -> str:
    """The first non-blank line of ``source``, cut to ``width`` characters (how a cell is named in messages)."""
    line = next((text.strip() for text in source.splitlines() if text.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


@dataclass
class LiveView:
    """The saved notebook's code cells seen against one kernel's state; every view is computed once."""

    cells: tuple[Cell, ...]
    state: KernelState
    _flows: dict[int, CellFlow] = field(default_factory=dict, repr=False)

    def executions(self) -> range:
        """The execution counts of the history that the checks look at (the asking cell left out)."""
        return range(1, len(self.state.history))

    def ran(self, count: int) -> str | None:
        """What the kernel ran as ``[count]``; None outside the history or for the asking cell."""
        if count == self.state.current or not 0 < count < len(self.state.history):
            return None
        return self.state.history[count]

    def flow(self, count: int) -> CellFlow:
        """The dataflow of history entry ``[count]`` (analysed on first use)."""
        if count not in self._flows:
            self._flows[count] = analyze_cell(self.state.history[count])
        return self._flows[count]

    @cached_property
    def code_cells(self) -> tuple[Cell, ...]:
        """The saved notebook's non-empty code cells."""
        return tuple(cell for cell in self.cells if cell.cell_type == "code" and cell.source.strip())

    @cached_property
    def same_session(self) -> bool:
        """Whether the saved execution counts belong to this kernel session.

        They do when at least half of the saved counts the history covers hold the cell's own
        source; after a restart the old counts point at unrelated code and are not trusted.
        """
        checked = [cell for cell in self.code_cells if cell.execution_count is not None and self.ran(cell.execution_count) is not None]
        matching = sum(_same(self.ran(cell.execution_count) or "", cell.source) for cell in checked)  # type: ignore[arg-type]
        return bool(checked) and matching * 2 >= len(checked)

    @cached_property
    def runs(self) -> dict[int, int]:
        """Cell index -> the latest execution count at which the kernel ran the cell's current source in this session.

        History entries are matched to cells by their code. When several cells hold the same code,
        the code alone cannot say which of them ran: each such cell is matched to its own saved
        execution count, provided the kernel ran that code under it (the saved counts belong to
        this session, see :attr:`same_session`). A run of that code after the notebook was saved
        (a count above every saved one) could be any of them, and so could every run when the
        saved counts are from another session: such cells are left out, and the checks that need
        them stay silent rather than guess. Runs of that code older than the save are earlier
        runs of these cells and change nothing.
        """
        counts_of: dict[str, list[int]] = {}
        for count in self.executions():
            if count != self.state.current:
                counts_of.setdefault(_code(self.state.history[count]), []).append(count)
        groups: dict[str, list[Cell]] = {}
        for cell in self.code_cells:
            groups.setdefault(_code(cell.source), []).append(cell)
        saved = [cell.execution_count for cell in self.code_cells if isinstance(cell.execution_count, int)]
        last_saved = max(saved, default=0)
        found: dict[int, int] = {}
        for code, cells in groups.items():
            counts = counts_of.get(code)
            if not counts:
                continue
            if len(cells) == 1:
                found[cells[0].index] = counts[-1]
                continue
            if not self.same_session:
                continue
            own = {cell.index: cell.execution_count for cell in cells if cell.execution_count in counts}
            after_save = [count for count in counts if count > last_saved and count not in own.values()]
            if not after_save:
                found.update({index: count for index, count in own.items() if count is not None})
        return found

    def edited(self) -> list[tuple[Cell, int]]:
        """Cells whose saved count ran other code than they hold now, and whose current code has not run since."""
        if not self.same_session:
            return []
        found = []
        for cell in self.code_cells:
            count = cell.execution_count
            ran = self.ran(count) if count is not None else None
            if ran is not None and count is not None and not _same(ran, cell.source) and self.runs.get(cell.index, 0) <= count:
                found.append((cell, count))
        return found

    def out_of_order(self) -> list[tuple[Cell, int, Cell, int]]:
        """``(cell, its run, cell above, its run)`` for each cell that last ran before a cell above it did."""
        found = []
        highest: tuple[Cell, int] | None = None
        for cell in self.code_cells:
            count = self.runs.get(cell.index)
            if count is None:
                continue
            if highest is not None and count < highest[1]:
                found.append((cell, count, *highest))
            else:
                highest = (cell, count)
        return found

    def defined_by_saved_cells(self) -> set[str] | None:
        """The names the saved notebook's cells define or import; None when a cell may bind names nobody can list."""
        names: set[str] = set()
        for cell in self.code_cells:
            flow = analyze_cell(cell.source)
            if flow.unknown_bindings:
                return None
            names.update(flow.defines)
            names.update(flow.imports)
        return names

    def kernel_only(self) -> list[tuple[str, int]]:
        """``(name, execution count that last defined it)`` for namespace names no saved cell defines.

        Only names a history entry visibly defines are reported (a name an extension or ``%run``
        put there has no cell to restore); private names (``_x``) and IPython's are left out.
        """
        saved = self.defined_by_saved_cells()
        if saved is None:
            return []
        wanted = {name for name in self.state.names if not name.startswith("_") and not is_predefined(name) and name not in saved}
        found: dict[str, int] = {}
        for count in self.executions():
            if self.ran(count) is None:
                continue
            flow = self.flow(count)
            for name in wanted & (set(flow.defines) | set(flow.imports)):
                found[name] = count
        return sorted(found.items())

    def stale(self) -> list[tuple[Cell, str, int, int, int]]:
        """``(cell, name, line, column, count)``: the cell read ``name``, which the execution ``[count]`` after its run redefined."""
        found = []
        for cell in self.code_cells:
            ran_at = self.runs.get(cell.index)
            if ran_at is None:
                continue
            seen: set[str] = set()
            for use in analyze_cell(cell.source).uses:
                if use.deferred or use.name in seen or is_predefined(use.name):
                    continue
                seen.add(use.name)
                later = next(
                    (
                        count
                        for count in range(ran_at + 1, len(self.state.history))
                        if self.ran(count) is not None and (use.name in self.flow(count).defines or use.name in self.flow(count).imports)
                    ),
                    None,
                )
                if later is not None:
                    found.append((cell, use.name, use.line, use.column, later))
        return found

    def cell_of(self, count: int) -> Cell | None:
        """The saved cell whose current source the kernel ran as ``[count]`` (the latest run of that source), if any."""
        return next((cell for cell in self.code_cells if self.runs.get(cell.index) == count), None)


def saved_definitions(cells: tuple[Cell, ...]) -> set[str] | None:
    """The names the code cells of a saved notebook define or import; None when a cell may bind names nobody can list."""
    return LiveView(cells, KernelState(history=("",))).defined_by_saved_cells()


def gone_reads(source: str, defined: set[str], state: KernelState) -> list[tuple[str, int | None]]:
    """``(name, execution that defined it)`` for each name ``source`` reads that the kernel has but no saved cell defines.

    ``defined``: :func:`saved_definitions` of the saved notebook. The execution is the latest one
    in ``state.history`` (the asking cell left out) whose code defines the name; None if none does.
    """
    found: list[tuple[str, int | None]] = []
    for use in analyze_cell(source).uses:
        name = use.name
        if name in defined or name not in state.names or name.startswith("_") or is_predefined(name) or name in dict(found):
            continue
        counts = [n for n in range(1, len(state.history)) if n != state.current]
        found.append((name, next((n for n in reversed(counts) if name in analyze_cell(state.history[n]).defines), None)))
    return found
