"""The safe fixes of ``nb2prod lint --fix``: three notebook fixes and ruff's safe fixes.

Notebook fixes (each only when its code is selected and not suppressed):

- **NB502** removes the empty cells NB502 reports (``is_reported_empty``): whitespace-only cells,
  but not markdown cells with attachments, code cells with outputs, or an exercise's empty answer
  cell right after a markdown cell — and only cells that were empty before ``--fix`` began: a fix
  never removes a cell that held code. A notebook whose cells are all empty ends up with no cells,
  which is a valid notebook; nothing is kept just to have a cell.
- **NB501** removes stored outputs of ``output_type`` ``"error"`` (tracebacks) and keeps the cell's
  other outputs; errors a notebook shows on purpose (``is_teaching_error``: a ``raises-exception``
  tag, the cell's comment or the markdown around it speaking of the error) are kept.
- **NB507** gives an id to every cell that has none, and a new id to each cell whose id repeats an
  earlier cell's (the first keeps its id), in nbformat >= 4.5 notebooks only: an older notebook
  has no ids and gets none. Ids are deterministic so that two runs agree: the first 8 hex digits of
  ``sha256(f"{index}:{source}")``, with ``:1``, ``:2``… appended to the hashed text until the id is
  unused. Text notebooks store no ids, so NB507 is not fixed there.

Execution counts are never renumbered: that would hide NB101 (cells run out of order), which is
a finding about the saved results, not a formatting matter.

ruff's safe fixes run first, for the ruff codes lint selects (the same selection as ``nb2prod
lint``, through :func:`nb2prod.lint.ruff.ruff_arguments`; safe fixes only, always). ruff gets
each notebook on stdin as a minimal copy (cells and their sources, no outputs) with the real path
as ``--stdin-filename``, so the project's ruff configuration (``unfixable`` included), per-file
ignores and excludes apply exactly as for ``ruff check``; several notebooks at a time. nb2prod
applies ruff's edits itself, one fix at a time, so that it can refuse the ones that must not apply
(a cell left empty, an import kept for its side effect, a line under ``# noqa``): see
:mod:`nb2prod.lint.ruff_fix`. Every changed cell must still parse and keep its IPython syntax, else
nothing is written. ruff applies no fix to a notebook in which a cell does not parse; the result
says so in a note. A second ``--fix`` changes nothing.

Each fix applied is listed in :attr:`FixResult.applied` with its cell (``cell 3: F401 removed unused
import 'os'``); ``lint --fix`` prints them.

Suppression: ``# nb2prod: noqa [CODES]`` in a cell, ``metadata.nb2prod.ignore`` in the notebook
and ``per-path-ignores`` in the configuration are honoured, for nb2prod's codes and ruff's.
A fix never touches markdown, outputs other than error outputs, or metadata; a notebook that needs
no fix is not written (its bytes and modification time stay as they were).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, config_for
from ..discover import discover
from ..errors import Nb2prodError, NotebookFormatError
from ..formatting import is_python_notebook, replace_sources
from ..model import source_text
from ..notebook import Notebook, read_notebook, write_notebook
from .engine import LintOptions, check_selectors
from .registry import registry
from .ruff import has_ruff_config, ruff_arguments
from .ruff_fix import AppliedFix, RuffFixes, ruff_fixes
from .rules.hygiene import is_reported_empty
from .rules.teaching import is_teaching_error
from .suppress import cell_suppresses, matches, metadata_ignores, path_ignores

#: The notebook rules ``--fix`` can fix, in the order the fixes apply.
FIXABLE = ("NB502", "NB501", "NB507")


@dataclass(frozen=True)
class FixResult:
    """The outcome for one notebook: whether fixes changed it, whether it was written, what was fixed.

    ``fixed`` counts fixes by code (cells removed, cells whose error outputs were cleared, ids
    given, ruff's fixes); ``applied`` lists each of them with its cell, numbered as in the notebook
    before the fix; ``notes`` says what could not be fixed and why.
    """

    path: str
    changed: bool = False
    written: bool = False
    fixed: Counter[str] = field(default_factory=Counter)
    error: Nb2prodError | None = None
    notes: tuple[str, ...] = ()
    applied: tuple[AppliedFix, ...] = ()

    def lines(self) -> list[str]:
        """One line per fix applied: ``train.ipynb:cell 3: F401 removed unused import 'os'``."""
        return [
            f"{self.path}{'' if fix.cell_index is None else f':cell {fix.cell_index + 1}'}: {fix.code} {fix.description}"
            for fix in self.applied
        ]


# --- notebook fixes -------------------------------------------------------------------------------


def new_cell_id(index: int, source: str, taken: set[str]) -> str:
    """A deterministic id for the cell at ``index`` with ``source`` that is not in ``taken``."""
    salt = 0
    while True:
        text = f"{index}:{source}" + (f":{salt}" if salt else "")
        candidate = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        if candidate not in taken:
            return candidate
        salt += 1


def _fix_notebook(
    data: Mapping[str, Any], codes: Callable[[str], bool], held_code: frozenset[int] = frozenset()
) -> tuple[dict[str, Any], list[AppliedFix]]:
    """The notebook fixes on a copy of ``data``, and each fix applied (cells numbered as in ``data``).

    ``held_code`` are cells that held code before ``--fix`` began (ruff's fixes ran since): NB502
    never removes them.
    """
    ignored = metadata_ignores(data.get("metadata") or {})

    def wanted(code: str) -> bool:
        return codes(code) and not matches(code, ignored)

    applied: list[AppliedFix] = []
    cells: list[Mapping[str, Any]] = list(data["cells"])
    origin = list(range(len(cells)))  # each remaining cell's index in ``data``
    if wanted("NB502"):
        kept = []
        for index, cell in enumerate(cells):
            if is_reported_empty(cells, index) and index not in held_code:  # what NB502 reports, never a cell that held code
                applied.append(AppliedFix(index, "NB502", f"removed the empty {cell.get('cell_type', 'code')} cell"))
            else:
                kept.append(index)
        cells, origin = [cells[index] for index in kept], kept
    if wanted("NB501"):
        code = "\n".join(source_text(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "code")
        for position, cell in enumerate(cells):
            outputs = cell.get("outputs") or []
            if cell.get("cell_type") != "code" or not any(o.get("output_type") == "error" for o in outputs):
                continue
            if cell_suppresses(source_text(cell.get("source", "")), "NB501") or is_teaching_error(cells, position, code):
                continue  # an error shown on purpose is kept (see nb2prod.lint.rules.hygiene.is_teaching_error)
            cells[position] = {**cell, "outputs": [o for o in outputs if o.get("output_type") != "error"]}
            applied.append(AppliedFix(origin[position], "NB501", "cleared the stored error output"))
    if wanted("NB507") and (data.get("nbformat", 0), data.get("nbformat_minor", 0)) >= (4, 5):
        cells, given = _fix_ids(cells)
        applied.extend(AppliedFix(origin[position], "NB507", f"gave the cell the id '{cell_id}'") for position, cell_id in given)
    result = dict(data)
    result["cells"] = cells
    return result, applied


def _refused(shown: str, error: Nb2prodError | None) -> FixResult:
    """The result for a notebook fix could not read. One that lint reads (nbformat 3, a cell of unknown type) gets a
    note saying why it is not fixed and how to convert it: lint reports its findings, and nothing else would say it."""
    if isinstance(error, NotebookFormatError):
        try:
            read_notebook(shown, read_only=True)
        except Nb2prodError:
            return FixResult(shown, error=error)  # unreadable for lint too: lint reports it
        how = f"; {error.hint}" if error.hint else ""
        return FixResult(shown, notes=(f"not fixed: {error.message}{how}",))
    return FixResult(shown, error=error)


def _fix_ids(cells: list[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[tuple[int, str]]]:
    seen: set[str] = set()
    needs: list[int] = []
    for position, cell in enumerate(cells):
        cell_id = cell.get("id")
        if isinstance(cell_id, str) and cell_id not in seen:
            seen.add(cell_id)
        elif not cell_suppresses(source_text(cell.get("source", "")), "NB507"):
            needs.append(position)
    taken = seen | {cell["id"] for cell in cells if isinstance(cell.get("id"), str)}
    for position in needs:
        cell = cells[position]
        cell_id = new_cell_id(position, source_text(cell.get("source", "")), taken)
        taken.add(cell_id)
        rebuilt: dict[str, Any] = {}
        for key, value in cell.items():  # the id goes right after cell_type, where nbformat puts it
            if key != "id":
                rebuilt[key] = value
            if key == "cell_type":
                rebuilt["id"] = cell_id
        rebuilt.setdefault("id", cell_id)
        cells[position] = rebuilt
    return cells, [(position, cells[position]["id"]) for position in needs]


def fix_notebook(data: Mapping[str, Any], codes: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """Return a copy of notebook JSON with the notebook fixes applied whose code ``codes`` selects.

    ``codes`` is a predicate on rule codes (``nb2prod lint`` passes its selection); default: every
    fixable code. ``# nb2prod: noqa`` comments and ``metadata.nb2prod.ignore`` are honoured. Pure:
    ``data`` is not modified. See the module docstring for what each fix does.
    """
    return _fix_notebook(data, codes or (lambda code: True))[0]


# --- ruff's fixes ---------------------------------------------------------------------------------


def _ruff_args(options: LintOptions, path: Path, ignored: Sequence[str], own: Sequence[str]) -> list[str] | None:
    """``ruff check --fix`` arguments for one notebook; None when the selection holds no ruff code."""
    selection = options.selection
    select = selection.ruff_select(own)
    if select == []:
        return None  # only nb2prod's rules are selected
    extra = [code for code in ignored if not code.upper().startswith("NB")]
    return ruff_arguments(select, [*selection.ruff_ignore(own), *extra], configured=has_ruff_config(path))


# --- API ------------------------------------------------------------------------------------------


def fix(
    paths: Sequence[str | os.PathLike[str]],
    *,
    config: Config | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    ruff: bool | None = None,
    write: bool = True,
) -> list[FixResult]:
    """Apply the safe fixes to every notebook under ``paths`` and write the ones that changed.

    The selection is lint's: ``select``/``ignore`` override and extend ``[tool.nb2prod.lint]``
    exactly as for ``nb2prod lint``; ``ruff=False`` (or ``ruff = false`` in the configuration)
    skips ruff's fixes. With ``write=False`` nothing is written and ``changed`` tells what would
    change. One notebook that cannot be read, fixed or written does not stop the others.
    """
    config = config if config is not None else config_for(paths)
    options = LintOptions.resolve(config.lint, select=select, ignore=ignore, ruff=ruff)
    rules = registry()
    own = list(rules)
    check_selectors([*(options.selection.select or ()), *options.selection.ignore, *options.selection.extend_select], rules)
    found = discover(paths, exclude=config.exclude, root=config.root)
    results: list[FixResult] = [FixResult(error.path or "", error=error) for error in found.errors]
    notebooks: list[tuple[str, Notebook | None, Nb2prodError | None, tuple[str, ...]]] = []
    for shown, path in found.notebooks:
        try:
            ignored = path_ignores(shown, options.per_path_ignores, config.root)
            notebooks.append((shown, read_notebook(path, display_path=shown), None, ignored))
        except Nb2prodError as error:
            notebooks.append((shown, None, error, ()))

    def run_ruff(item: tuple[str, Notebook | None, Nb2prodError | None, tuple[str, ...]]) -> RuffFixes:
        _shown, notebook, _error, ignored = item
        if notebook is None or not options.ruff or not is_python_notebook(notebook.data):
            return RuffFixes()
        meta_ignore = metadata_ignores(notebook.metadata)
        args = _ruff_args(options, notebook.path, [*ignored, *meta_ignore], own)
        return RuffFixes() if args is None else ruff_fixes(notebook, args)

    workers = max(1, min(os.cpu_count() or 1, len(notebooks)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        by_notebook = list(pool.map(run_ruff, notebooks))

    for (shown, notebook, error, ignored), ruff_fix in zip(notebooks, by_notebook, strict=True):
        if notebook is None:
            results.append(_refused(shown, error))
            continue
        if ruff_fix.error is not None:
            results.append(FixResult(shown, error=_with_path(ruff_fix.error, shown), notes=tuple(ruff_fix.notes)))
            continue

        def codes(code: str, notebook: Notebook = notebook, ignored: tuple[str, ...] = ignored) -> bool:
            if code not in rules or not options.selection.wants(rules[code]) or matches(code, ignored):
                return False
            return not (code == "NB507" and notebook.is_text)  # text notebooks store no ids

        data = replace_sources(notebook.data, ruff_fix.sources) if ruff_fix.sources else notebook.data
        held_code = frozenset(index for index, cell in enumerate(notebook.cells) if cell.source.strip())
        new, notebook_fixes = _fix_notebook(data, codes, held_code)
        applied = tuple(sorted([*ruff_fix.applied, *notebook_fixes], key=_fix_order))
        fixed = Counter(fix.code for fix in applied)
        changed = new != notebook.data
        notes = tuple(ruff_fix.notes)
        try:
            written = write and changed and write_notebook(notebook, new)
        except Nb2prodError as write_error:
            results.append(FixResult(shown, changed=True, fixed=fixed, error=write_error, notes=notes, applied=applied))
            continue
        results.append(FixResult(shown, changed=changed, written=written, fixed=fixed, notes=notes, applied=applied))
    return results


def _fix_order(fix: AppliedFix) -> tuple[int, str, str]:
    return (-1 if fix.cell_index is None else fix.cell_index, fix.code, fix.description)


def _with_path(error: Nb2prodError, shown: str) -> Nb2prodError:
    return error if error.path is not None else type(error)(error.message, path=shown, hint=error.hint)
