"""The safe fixes of ``nb2prod lint --fix``: three notebook fixes and ruff's safe fixes.

Notebook fixes (each only when its code is selected and not suppressed):

- **NB502** removes the empty cells NB502 reports (``is_reported_empty``): whitespace-only cells,
  but not markdown cells with attachments, code cells with outputs, or an exercise's empty answer
  cell right after a markdown cell. A notebook whose cells are all empty ends up with no cells,
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
lint``, through :func:`nb2prod.lint.ruff.ruff_arguments`; ``--no-unsafe-fixes`` always). ruff gets
each notebook on stdin as a minimal copy (cells and their sources, no outputs) with the real path
as ``--stdin-filename``, so the project's ruff configuration, per-file ignores and excludes apply
exactly as for ``ruff check``; one process per notebook, several at a time. Only the changed cell
sources are taken back, each must still parse and keep its IPython syntax, else nothing is written.
ruff applies no fix to a notebook in which a cell does not parse; the result says so in a note.
Cells that ruff's fixes leave empty are then removed by NB502 (when selected), so a second
``--fix`` changes nothing.

Suppression: ``# nb2prod: noqa [CODES]`` in a cell, ``metadata.nb2prod.ignore`` in the notebook
and ``per-path-ignores`` in the configuration are honoured, for nb2prod's codes and ruff's.
A fix never touches markdown, outputs other than error outputs, or metadata; a notebook that needs
no fix is not written (its bytes and modification time stay as they were).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, config_for
from ..discover import discover
from ..errors import Nb2prodError, NotebookFormatError, ToolError
from ..formatting import _checkable, _python_of, is_python_notebook, replace_sources
from ..model import source_text
from ..notebook import Notebook, read_notebook, write_notebook
from .engine import LintOptions, check_selectors
from .registry import registry
from .ruff import has_ruff_config, ruff_arguments, ruff_executable
from .rules.hygiene import is_reported_empty
from .rules.teaching import is_teaching_error
from .suppress import cell_suppresses, matches, metadata_ignores, path_ignores

#: The notebook rules ``--fix`` can fix, in the order the fixes apply.
FIXABLE = ("NB502", "NB501", "NB507")
_RUFF_FIXED = re.compile(r"^\s*(\d+) \u00d7 ([A-Za-z]+[0-9]+)\b", re.MULTILINE)  # "    2 <multiplication sign> F401 (unused-import)"
_RUFF_SYNTAX = re.compile(r":cell (\d+):(\d+):\d+: (?:invalid-syntax|SyntaxError|E999):? ?(.*)")


@dataclass(frozen=True)
class FixResult:
    """The outcome for one notebook: whether fixes changed it, whether it was written, what was fixed.

    ``fixed`` counts fixes by code (cells removed, cells whose error outputs were cleared, ids
    given, and ruff's fixes as ruff counts them); ``notes`` says what could not be fixed and why.
    """

    path: str
    changed: bool = False
    written: bool = False
    fixed: Counter[str] = field(default_factory=Counter)
    error: Nb2prodError | None = None
    notes: tuple[str, ...] = ()


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


def _fix_notebook(data: Mapping[str, Any], codes: Callable[[str], bool]) -> tuple[dict[str, Any], Counter[str]]:
    ignored = metadata_ignores(data.get("metadata") or {})

    def wanted(code: str) -> bool:
        return codes(code) and not matches(code, ignored)

    fixed: Counter[str] = Counter()
    cells: list[Mapping[str, Any]] = list(data["cells"])
    if wanted("NB502"):
        kept = []
        for position, cell in enumerate(cells):
            if is_reported_empty(cells, position):  # the cells NB502 reports, and only those
                fixed["NB502"] += 1
            else:
                kept.append(cell)
        cells = kept
    if wanted("NB501"):
        code = "\n".join(source_text(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "code")
        for position, cell in enumerate(cells):
            outputs = cell.get("outputs") or []
            if cell.get("cell_type") != "code" or not any(o.get("output_type") == "error" for o in outputs):
                continue
            if cell_suppresses(source_text(cell.get("source", "")), "NB501") or is_teaching_error(cells, position, code):
                continue  # an error shown on purpose is kept (see nb2prod.lint.rules.hygiene.is_teaching_error)
            cells[position] = {**cell, "outputs": [o for o in outputs if o.get("output_type") != "error"]}
            fixed["NB501"] += 1
    if wanted("NB507") and (data.get("nbformat", 0), data.get("nbformat_minor", 0)) >= (4, 5):
        cells, count = _fix_ids(cells)
        if count:
            fixed["NB507"] = count
    result = dict(data)
    result["cells"] = cells
    return result, fixed


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


def _fix_ids(cells: list[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], int]:
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
    return cells, len(needs)


def fix_notebook(data: Mapping[str, Any], codes: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """Return a copy of notebook JSON with the notebook fixes applied whose code ``codes`` selects.

    ``codes`` is a predicate on rule codes (``nb2prod lint`` passes its selection); default: every
    fixable code. ``# nb2prod: noqa`` comments and ``metadata.nb2prod.ignore`` are honoured. Pure:
    ``data`` is not modified. See the module docstring for what each fix does.
    """
    return _fix_notebook(data, codes or (lambda code: True))[0]


# --- ruff's fixes ---------------------------------------------------------------------------------


@dataclass
class _RuffFix:
    """ruff's safe fixes for one notebook: changed cell sources, counts, notes, or an error."""

    sources: dict[int, str] = field(default_factory=dict)
    fixed: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    error: Nb2prodError | None = None


def _minimal_copy(data: Mapping[str, Any]) -> str:
    """The notebook as ruff needs it: every cell's type and source (cell positions kept), no outputs."""
    cells = []
    for cell in data["cells"]:
        minimal: dict[str, Any] = {"cell_type": cell["cell_type"], "metadata": {}, "source": source_text(cell.get("source", ""))}
        vscode = (cell.get("metadata") or {}).get("vscode")
        if vscode is not None:
            minimal["metadata"]["vscode"] = vscode  # ruff skips cells VS Code marks as another language
        if cell["cell_type"] == "code":
            minimal.update(execution_count=None, outputs=[])
        cells.append(minimal)
    metadata = {key: value for key, value in (data.get("metadata") or {}).items() if key in ("kernelspec", "language_info")}
    return json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 4})


def _ruff_fix(notebook: Notebook, args: Sequence[str]) -> _RuffFix:
    result = _RuffFix()
    name = os.fspath(notebook.path) + (".ipynb" if notebook.is_text else "")
    command = [ruff_executable(), *args, "--stdin-filename", name, "-"]
    try:
        done = subprocess.run(command, input=_minimal_copy(notebook.data), capture_output=True, text=True, check=False)
    except OSError as exc:
        result.error = ToolError(f"cannot run ruff: {exc.strerror or exc}", hint="reinstall nb2prod (ruff is a dependency)")
        return result
    if done.returncode not in (0, 1):
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        result.error = ToolError(f"ruff failed (exit {done.returncode}): {first}", hint="check the ruff configuration of the project")
        return result
    for match in _RUFF_SYNTAX.finditer(done.stderr):
        result.notes.append(f"ruff's fixes not applied: cell {match.group(1)} does not parse (line {match.group(2)}: {match.group(3)})")
        break
    if not done.stdout.strip():
        return result
    try:
        fixed_cells = json.loads(done.stdout)["cells"]
    except (json.JSONDecodeError, KeyError, TypeError):
        result.error = ToolError("ruff's fixed notebook is not valid notebook JSON; nothing written", hint="upgrade ruff")
        return result
    cells = notebook.data["cells"]
    if len(fixed_cells) != len(cells):
        result.error = ToolError("ruff's fixes changed the number of cells; nothing written", hint="please report this")
        return result
    for index, (cell, new_cell) in enumerate(zip(cells, fixed_cells, strict=True)):
        old = source_text(cell.get("source", ""))
        new = source_text(new_cell.get("source", ""))
        if new == old:
            continue
        if cell["cell_type"] != "code":
            result.error = ToolError(f"ruff changed {cell['cell_type']} cell {index + 1}; nothing written", hint="please report this")
            return result
        if not _checkable(old) or not (_checkable(new) or not new.strip()) or _magics(old) != _magics(new):
            result.error = ToolError(
                f"cell {index + 1}: ruff's fix cannot be verified (the cell does not parse before or after, or its IPython syntax "
                "changed); nothing written",
                hint="fix the cell by hand, or report this to ruff",
            )
            return result
        result.sources[index] = new
    if result.sources:
        result.fixed.update({code: int(count) for count, code in _RUFF_FIXED.findall(done.stderr)})
        if not result.fixed:
            result.fixed["ruff"] = len(result.sources)
    return result


def _magics(source: str) -> tuple[tuple[str, str, str], ...]:
    view = _python_of(source)
    return view[1] if view is not None else ()


def _ruff_args(options: LintOptions, path: Path, ignored: Sequence[str], own: Sequence[str]) -> list[str] | None:
    """``ruff check --fix`` arguments for one notebook; None when the selection holds no ruff code."""
    selection = options.selection
    select = selection.ruff_select(own)
    if select == []:
        return None  # only nb2prod's rules are selected
    extra = [code for code in ignored if not code.upper().startswith("NB")]
    args = ruff_arguments(select, [*selection.ruff_ignore(own), *extra], configured=has_ruff_config(path), fix=True)
    args[args.index("--output-format") + 1] = "concise"  # the fixed notebook on stdout, the counts on stderr
    return [*args, "--show-fixes", "--no-unsafe-fixes"]


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

    def run_ruff(item: tuple[str, Notebook | None, Nb2prodError | None, tuple[str, ...]]) -> _RuffFix:
        _shown, notebook, _error, ignored = item
        if notebook is None or not options.ruff or not is_python_notebook(notebook.data):
            return _RuffFix()
        meta_ignore = metadata_ignores(notebook.metadata)
        args = _ruff_args(options, notebook.path, [*ignored, *meta_ignore], own)
        return _RuffFix() if args is None else _ruff_fix(notebook, args)

    workers = max(1, min(os.cpu_count() or 1, len(notebooks)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        ruff_fixes = list(pool.map(run_ruff, notebooks))

    for (shown, notebook, error, ignored), ruff_fix in zip(notebooks, ruff_fixes, strict=True):
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
        new, counts = _fix_notebook(data, codes)
        fixed = Counter(ruff_fix.fixed) + counts
        changed = new != notebook.data
        try:
            written = write and changed and write_notebook(notebook, new)
        except Nb2prodError as write_error:
            results.append(FixResult(shown, changed=True, fixed=fixed, error=write_error, notes=tuple(ruff_fix.notes)))
            continue
        results.append(FixResult(shown, changed=changed, written=written, fixed=fixed, notes=tuple(ruff_fix.notes)))
    return results


def _with_path(error: Nb2prodError, shown: str) -> Nb2prodError:
    return error if error.path is not None else type(error)(error.message, path=shown, hint=error.hint)
