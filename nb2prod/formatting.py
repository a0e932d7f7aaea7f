"""``fmt``: format the code cells of notebooks with ruff's formatter (default) or black, magics kept.

What is formatted: the code cells of Python notebooks (a notebook whose kernel language is not
Python is left alone; one that names no language is taken as Python, as ruff does). A cell is
sent to the formatter only when nb2prod can check the result: it must parse as Python after its
IPython syntax is rewritten the way IPython would (:func:`nb2prod.lint.ipython.transform_cell`).
Cells with a non-Python cell magic (``%%bash``, ``%%html``, ``%%sql``, ``%%writefile``…), cells
marked as another language by VS Code (``metadata.vscode.languageId``) and cells that do not parse
are left exactly as they are; the last kind gets a note naming the cell. Markdown and raw cells,
outputs, execution counts, ids and metadata are never touched.

How ruff runs (speed matters: ``fmt`` is a pre-commit hook). ruff formats notebooks natively and
keeps magics, but it must not write the user's files: nb2prod writes through
:func:`nb2prod.notebook.write_notebook` (atomic, the file's own JSON style, refused when the file
changed on disk). So every notebook of a call is written as a minimal copy (the candidate cells'
sources only) into one temporary folder and ``ruff format`` runs once over all of them, with
``--config`` pointing at the project's ruff configuration (found from each notebook's folder the way
ruff finds it: ``.ruff.toml``, ``ruff.toml`` or a ``pyproject.toml`` with ``[tool.ruff]``; one ruff
process per distinct configuration, normally one). Measured on 50 notebooks of 10-60 cells
(2.4 MB of code, 2 cores, a busy machine, best-median of 5 runs): already formatted (the everyday
pre-commit and CI case) the batch takes 0.11-0.27 s against 0.23-0.49 s for one ``ruff format
--stdin-filename PATH -`` process per notebook (sequential or 8 at a time); every notebook
reformatted, the batch takes 0.51-0.89 s against 0.24-0.43 s, because ruff writes a reformatted
.ipynb file with one unbuffered write per JSON token (about 10,000 system calls per notebook). One
small notebook costs the same either way (about 12 ms). The common case wins: several notebooks
go through the batch (a very long list of files is split over several processes, to keep the
command line short). ``nb2prod export``'s generated modules (``format_cells(plain=True)``) are
written as ``.py`` files and formatted in one batch: a module is not a notebook cell, and ruff
formats cells by notebook rules. A single notebook (``format_cells``, a
pre-commit run on one file) is piped through ``--stdin-filename`` with the name and ``--config``
the batch would use: the same result without the slow write (a 190-cell notebook of generated
modules, every cell reformatted: 20 ms against 70-90 ms); if ruff fails on it, the batch runs and
handles the failure. With temporary copies nb2prod finds the configuration and passes
``--config``, so ruff's ``exclude`` settings do not apply (nb2prod's own ``exclude`` does).

ruff refuses a whole notebook when one cell does not parse; such a notebook is then formatted cell
by cell in a second batch, and the cells ruff still refuses are left as they are, with a note.

How black runs: in process, through black's notebook support (``black.format_cell`` with
``Mode(is_ipynb=True)``), with ``line-length``, ``skip-string-normalization``,
``skip-magic-trailing-comma`` and ``preview`` from the project's ``[tool.black]``.

Verify before write (black's "safe mode", done here for both formatters): every changed cell must
(1) keep its IPython syntax — the same magics, shell commands and help requests, whitespace aside —
and (2) have the same AST as before, compared with ``ast.dump`` after the normalisation black uses:
standalone string expressions (docstrings) compared with each line stripped and blank lines at both
ends removed, and ``del (a, b)`` read as ``del a, b`` (:func:`_same_code` compares the two trees
node by node, as the two dumps would compare, without building them). Formatting the result again
must change nothing (stability); with ruff, that second run goes on in another process while the
first run's results are verified. A notebook that fails either check is not written and gets an
error naming the cell: a formatter bug must never change code. (ruff's optional ``docstring-code-format`` rewrites
code inside docstrings beyond whitespace; such docstrings fail the check and the notebook is
reported, not written.) The AST is built by the running Python, so a cell using syntax newer than
it (e.g. a 3.12 ``type`` statement under 3.11) does not parse here and is left unformatted.
"""

from __future__ import annotations

import ast
import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import FORMATTERS, Config, config_for
from .discover import discover
from .errors import Nb2prodError, UsageError
from .fmtcells import PYTHON_CELL_MAGICS, PYTHON_LANGUAGES, _plan, is_python_notebook
from .fmtengines import FormatError, _format_jobs, _Job, black_mode
from .fmtverify import _checkable as _checkable
from .fmtverify import _python_of as _python_of
from .fmtverify import _View
from .model import source_text
from .notebook import read_notebook, write_notebook

__all__ = [
    "PYTHON_CELL_MAGICS",
    "PYTHON_LANGUAGES",
    "FmtResult",
    "FormatError",
    "black_mode",
    "cell_diff",
    "fmt",
    "format_cells",
    "is_python_notebook",
    "replace_sources",
]


@dataclass(frozen=True)
class FmtResult:
    """The outcome for one notebook.

    ``changed``: formatting changes it (or would, when not writing); ``written``: it was written;
    ``diff``: unified diffs of the changed cells (when asked for); ``notes``: cells left unformatted
    and why; ``error``: the notebook could not be read, formatted, verified or written.
    """

    path: str
    changed: bool = False
    written: bool = False
    diff: str = ""
    error: Nb2prodError | None = None
    notes: tuple[str, ...] = ()


def replace_sources(data: Mapping[str, Any], sources: Mapping[int, str]) -> dict[str, Any]:
    """A copy of notebook JSON with the given cells' sources replaced, each kept in its original shape.

    A source stored as a list of lines stays a list of lines (as Jupyter writes it), a string stays
    a string, so the rewritten file differs from the original only in the changed lines.
    """
    result = dict(data)
    cells = list(data["cells"])
    for index, new in sources.items():
        cell = dict(cells[index])
        cell["source"] = new if isinstance(cell.get("source"), str) else new.splitlines(keepends=True)
        cells[index] = cell
    result["cells"] = cells
    return result


def cell_diff(path: str, data: Mapping[str, Any], formatted: Mapping[int, str]) -> str:
    """Unified diffs of the changed cells, each headed ``path:cell N`` (not a diff of the JSON)."""
    parts = []
    for index, new in sorted(formatted.items()):
        old = source_text(data["cells"][index].get("source", ""))
        name = f"{path}:cell {index + 1}"
        mark = old.endswith("\n") != new.endswith("\n")  # show a change of the final newline alone
        lines = difflib.unified_diff(_diff_lines(old, mark), _diff_lines(new, mark), fromfile=name, tofile=name)
        parts.append("".join(lines))
    return "".join(parts)


def _diff_lines(text: str, mark: bool) -> list[str]:
    lines = [line if line.endswith("\n") else line + "\n" for line in text.splitlines(keepends=True)]
    if mark and lines and not text.endswith("\n"):
        lines[-1] += "\\ No newline at end of cell\n"  # as diff(1) marks it
    return lines


# --- API ------------------------------------------------------------------------------------------


def format_cells(
    data: Mapping[str, Any],
    formatter: str = "ruff",
    *,
    start: Path | None = None,
    plain: bool = False,
    stable: bool = True,
    trees: Mapping[int, ast.Module] | None = None,
) -> dict[str, Any]:
    """Return a copy of notebook JSON with its code cells formatted; ``data`` is never modified.

    Markdown and raw cells, outputs and metadata are kept as they are; non-Python cells and
    notebooks are left alone; IPython syntax is kept. ``start`` is where the formatter's
    configuration is looked up from (default: the current folder). ``plain`` says the code cells are
    plain Python modules known to parse (generated code): they are verified as Python, without the
    IPython rewrite and the parse check a notebook's cells need. ``stable=False`` skips the second
    formatter pass that checks stability (the result is still verified). ``trees`` (with ``plain``)
    maps cell indices to the AST of their source, when the caller has it: verification compares with
    it instead of parsing the cell again (it is never modified). Raises ``FormatError`` when
    the formatter fails or its result does not verify (see the module docstring).
    """
    views: dict[int, _View] = {}
    sources, _notes = _plan(data, views, plain=plain)
    job = _Job(start or Path.cwd(), sources, views=views, plain=plain, trees=dict(trees or {}) if plain else {})
    _format_jobs(formatter, [job], stable=stable)
    if job.error is not None:
        raise job.error
    return replace_sources(data, job.formatted)


def fmt(
    paths: Sequence[str | os.PathLike[str]],
    *,
    write: bool = True,
    formatter: str | None = None,
    config: Config | None = None,
    diff: bool = False,
) -> list[FmtResult]:
    """Format the code cells of every notebook under ``paths``; with ``write=False`` only report.

    ``formatter`` ("ruff" or "black") overrides ``[tool.nb2prod.lint] formatter``; ``diff`` fills
    each result's ``diff``. A notebook is written only when it changed and verified, through
    ``write_notebook``. One notebook that cannot be read, formatted or written does not stop the
    others: its result carries the error. The formatter runs once for all notebooks.
    """
    config = config if config is not None else config_for(paths)
    chosen = formatter or config.lint.formatter
    if chosen not in FORMATTERS:
        raise UsageError(f"unknown formatter '{chosen}'", hint="use ruff or black")
    found = discover(paths, exclude=config.exclude, root=config.root)
    results: list[FmtResult] = [FmtResult(error.path or "", error=error) for error in found.errors]
    pending = []
    for shown, path in found.notebooks:
        try:
            notebook = read_notebook(path, display_path=shown)
        except Nb2prodError as error:
            pending.append((shown, None, None, error))
            continue
        views: dict[int, _View] = {}
        sources, notes = _plan(notebook.data, views)
        pending.append((shown, notebook, _Job(path, sources, notes=notes, views=views), None))
    _format_jobs(chosen, [job for _, _, job, _ in pending if job is not None])
    for shown, notebook, job, error in pending:
        if notebook is None or job is None:
            results.append(FmtResult(shown, error=error))
            continue
        notes = tuple(job.notes)
        if job.error is not None:
            results.append(FmtResult(shown, error=_with_path(job.error, shown), notes=notes))
            continue
        changed = bool(job.formatted)
        text = cell_diff(shown, notebook.data, job.formatted) if diff and changed else ""
        written = False
        if write and changed:
            try:
                written = write_notebook(notebook, replace_sources(notebook.data, job.formatted))
            except Nb2prodError as write_error:
                results.append(FmtResult(shown, changed=True, diff=text, error=write_error, notes=notes))
                continue
        results.append(FmtResult(shown, changed=changed, written=written, diff=text, notes=notes))
    return results


def format_notebooks(
    notebooks: Sequence[tuple[Path, Mapping[str, Any]]], formatter: str = "ruff"
) -> list[tuple[dict[int, str], tuple[str, ...], Nb2prodError | None]]:
    """Format notebooks held in memory exactly as :func:`fmt` formats files, reading and writing nothing.

    Each item is the notebook's path (where the formatter's configuration is looked up from) and its
    JSON. One formatter run for all, verified and checked for stability as ``fmt`` does. Returns,
    per notebook: the changed cells (index -> new source, for :func:`replace_sources`), the notes
    about cells left unformatted, and the error that stops it from being written (or None).
    ``nb2prod check`` (strip, fmt and lint in one pre-commit hook process) formats through it.
    """
    if formatter not in FORMATTERS:
        raise UsageError(f"unknown formatter '{formatter}'", hint="use ruff or black")
    jobs = []
    for start, data in notebooks:
        views: dict[int, _View] = {}
        sources, notes = _plan(data, views)
        jobs.append(_Job(start, sources, notes=notes, views=views))
    _format_jobs(formatter, jobs)
    return [(job.formatted, tuple(job.notes), job.error) for job in jobs]


def _with_path(error: Nb2prodError, shown: str) -> Nb2prodError:
    if error.path is not None:
        return error
    return type(error)(error.message, path=shown, hint=error.hint)
