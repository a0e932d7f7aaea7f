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
import contextlib
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .config import FORMATTERS, Config, config_for, find_pyproject
from .discover import discover
from .errors import ConfigError, Nb2prodError, UsageError
from .lint.ruff import find_ruff_config, ruff_executable
from .model import source_text
from .notebook import read_notebook, write_notebook

#: Cell magics whose body is Python and which ruff and black both format.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3", "pypy"})
#: Kernel languages formatted as Python.
PYTHON_LANGUAGES = frozenset({"python", "python3", "ipython", "ipython3"})
_MINIMAL_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t\f]*\r?\n)+")
_MAX_ARGUMENTS = 24_000  # characters of file names per ruff process
_REPORT = "this is a formatter bug; please report it to the formatter's project"
_OMITTED = object()  # a field ``ast.dump`` leaves out
_PLAIN = (str, int)  # leaf types whose equality is the equality of their repr

#: A cell as plain Python and its IPython syntax (see :func:`_python_of`).
_View = tuple[str, tuple[tuple[str, str, str], ...]]


class FormatError(Nb2prodError):
    """Formatting a notebook failed or was refused (the formatter failed, or its result did not verify)."""


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


@dataclass
class _Job:
    """The cells of one notebook handed to a formatter, and what came back."""

    start: Path  # where the formatter's configuration is looked up from
    sources: dict[int, str]  # cell index -> source to format
    formatted: dict[int, str] = field(default_factory=dict)  # cell index -> new source, changed cells only
    notes: list[str] = field(default_factory=list)
    error: Nb2prodError | None = None
    views: dict[int, _View] = field(default_factory=dict)  # cell index -> _python_of(source), when known
    plain: bool = False  # the cells are plain Python known to parse (see format_cells)
    trees: Mapping[int, ast.Module] = field(default_factory=dict)  # cell index -> the AST of its source, when the caller has it


# --- what to format -----------------------------------------------------------------------------


def _language(data: Mapping[str, Any]) -> str | None:
    meta = data.get("metadata") or {}
    kernelspec, info = meta.get("kernelspec"), meta.get("language_info")
    language = (kernelspec.get("language") if isinstance(kernelspec, Mapping) else None) or (
        info.get("name") if isinstance(info, Mapping) else None
    )
    return language if isinstance(language, str) else None


def is_python_notebook(data: Mapping[str, Any]) -> bool:
    """Whether the notebook's kernel language is Python (or not stated, which is taken as Python, as ruff does)."""
    language = _language(data)
    return language is None or language.lower() in PYTHON_LANGUAGES


def _cell_magic(source: str) -> str | None:
    """The name of the cell's ``%%magic`` (IPython skips blank lines before it), or None."""
    text = _LEADING_BLANK_LINES.sub("", source)
    if not text.startswith("%%"):
        return None
    first = text.split("\n", 1)[0][2:].split()
    return first[0] if first else ""


def _plan(data: Mapping[str, Any], views: dict[int, _View] | None = None, *, plain: bool = False) -> tuple[dict[int, str], list[str]]:
    """The code cells to format (index -> source) and notes about the cells that cannot be.

    ``views``, when given, receives the :func:`_python_of` view of each cell to format. ``plain``:
    the cells are plain Python known to parse, taken as they are.
    """
    if not is_python_notebook(data):
        return {}, [f"not formatted: the kernel language is {_language(data)}, not Python"]
    sources: dict[int, str] = {}
    notes: list[str] = []
    for index, cell in enumerate(data["cells"]):
        if cell.get("cell_type") != "code":
            continue
        vscode = (cell.get("metadata") or {}).get("vscode") or {}
        language = vscode.get("languageId") if isinstance(vscode, Mapping) else None
        if isinstance(language, str) and language.lower() not in PYTHON_LANGUAGES:
            continue
        source = source_text(cell.get("source", ""))
        if not source.strip():
            continue
        magic = _cell_magic(source)
        if magic is not None and magic not in PYTHON_CELL_MAGICS:
            continue  # %%bash, %%html…: not Python, never formatted
        view = (source, ()) if plain else _checkable_view(source)
        if view is None:
            notes.append(f"cell {index + 1} not formatted: {_parse_problem(source)}")
            continue
        sources[index] = source
        if views is not None:
            views[index] = view
    return sources, notes


# --- verification ---------------------------------------------------------------------------------


def _python_of(source: str) -> _View | None:
    """A cell as plain Python (IPython syntax rewritten, line for line) and its IPython syntax.

    For a ``%%python``-style cell magic, the body. None when the cell is not Python at all.
    """
    from .lint.ipython import transform_cell

    cell = transform_cell(source)
    magics = [(m.kind, m.name, " ".join(m.args.split())) for m in cell.magics]
    python = cell.python
    if not cell.analyzable:
        magic = cell.cell_magic
        if magic is None or magic.name not in PYTHON_CELL_MAGICS:
            return None
        body = transform_cell("\n".join(source.split("\n")[magic.line :]))
        if not body.analyzable:
            return None
        python = body.python
        magics += [(m.kind, m.name, " ".join(m.args.split())) for m in body.magics]
    return python, tuple(magics)


def _parse(python: str) -> ast.Module | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning for "\d" and the like: not ours to report
        try:
            return ast.parse(python)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


def _parses(python: str) -> bool:
    """Whether ``python`` parses; ``compile`` to bytecode first, which is about 4x faster than building the AST."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(python, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
            return True
        except (ValueError, RecursionError, MemoryError):
            return False
        except SyntaxError:
            pass  # maybe only the compiler's checks ("return" outside a function): the parser may still accept it
    return _parse(python) is not None


def _checkable(source: str) -> bool:
    """Whether a cell can be formatted safely: it is Python and parses, so its result can be verified."""
    return _checkable_view(source) is not None


def _checkable_view(source: str) -> _View | None:
    """The :func:`_python_of` view of a cell that can be formatted safely (see :func:`_checkable`), else None."""
    view = _python_of(source)
    return view if view is not None and _parses(view[0]) else None


def _code_view(source: str) -> tuple[str, tuple[tuple[str, str, str], ...]] | None:
    """What must not change when a cell is formatted: its normalised AST dump and its IPython syntax.

    None when the cell is not Python or does not parse after the IPython transform. (The reference:
    :func:`_verify` compares the same things through :func:`_tree_view` and :func:`_same_code`.)
    """
    view = _python_of(source)
    if view is None:
        return None
    tree = _parse(view[0])
    return None if tree is None else (_normalized_dump(tree), view[1])


def _tree_view(view: _View | None) -> tuple[ast.Module, tuple[tuple[str, str, str], ...]] | None:
    """A :func:`_python_of` view with its Python parsed: None when there is none, or it does not parse."""
    if view is None:
        return None
    tree = _parse(view[0])
    return None if tree is None else (tree, view[1])


def _parse_problem(source: str) -> str:
    view = _python_of(source)
    if view is None:
        return "its cell magic's body is not Python"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(view[0])
        except SyntaxError as exc:
            return f"it does not parse as Python (line {exc.lineno}: {exc.msg})"
        except (ValueError, RecursionError, MemoryError) as exc:
            return f"it does not parse as Python ({type(exc).__name__})"
    return "it does not parse as Python"


def _normalize_docstring(value: str) -> str:
    """black's normalisation: each line stripped, blank lines at both ends removed."""
    return "\n".join(line.strip() for line in value.splitlines()).strip()


def _normalized_dump(tree: ast.AST) -> str:
    """``ast.dump`` of ``tree`` with the differences a formatter may legitimately make removed.

    Mirrors black's ``_stringify_ast``: a standalone string expression (a docstring) may be
    re-indented and trimmed, and ``del (a, b)`` may lose its parentheses. ``tree`` is modified.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            node.value.value = _normalize_docstring(node.value.value)
        elif isinstance(node, ast.Delete):
            node.targets = list(_unwrap_tuples(node.targets))
    return ast.dump(tree)


def _unwrap_tuples(targets: Iterable[ast.expr]) -> Iterable[ast.expr]:
    for target in targets:
        if isinstance(target, ast.Tuple):
            yield from _unwrap_tuples(target.elts)
        else:
            yield target


def _shown(node: ast.AST, name: str) -> Any:
    """The field ``name`` of ``node`` as ``ast.dump`` sees it: ``_OMITTED`` when it is missing, or None where None is the default."""
    try:
        value = getattr(node, name)
    except AttributeError:
        return _OMITTED
    if value is None and getattr(type(node), name, ...) is None:
        return _OMITTED
    return value


def _docstring_value(node: ast.AST) -> str | None:
    """The normalised text of a standalone string expression (what ``_normalized_dump`` puts in its place), else None."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        return _normalize_docstring(node.value.value)
    return None


def _same_code(before: ast.AST, after: ast.AST) -> bool:
    """Whether ``_normalized_dump(before) == _normalized_dump(after)``, without building the dumps or modifying the trees.

    ``ast.dump`` shows a node as its class name and its fields (leaving out the missing ones and
    the None ones whose default is None), lists item by item, anything else by ``repr``: two dumps
    are equal when all of these are, node by node, which this checks, stopping at the first
    difference. The normalisation is applied on the way: a standalone string expression compares
    its normalised text, ``del`` its targets with tuples unwrapped.
    """
    pending: list[tuple[ast.AST, Any]] = [(before, after)]
    while pending:
        a, b = pending.pop()
        cls = type(a)
        if type(b) is not cls:
            return False
        if cls is ast.Expr:
            text_a, text_b = _docstring_value(a), _docstring_value(b)
            if text_a is not None or text_b is not None:
                # Two string constants (``Expr`` has no other field): their normalised texts, then their other fields.
                if text_a != text_b:
                    return False
                a, b, skip = a.value, b.value, "value"  # type: ignore[attr-defined]
                cls = type(a)
            else:
                skip = ""
        else:
            skip = ""
        for name in cls._fields:
            x = getattr(a, name, _OMITTED)
            y = getattr(b, name, _OMITTED)
            if x is y or name == skip:
                continue  # the same object (a context, None, an interned name…) or a field compared already
            if x is None or y is None or x is _OMITTED or y is _OMITTED:
                if _shown(a, name) is _OMITTED and _shown(b, name) is _OMITTED:
                    continue
                return False  # shown on one side only, or None against something else
            if type(x) is list:
                if type(y) is not list:
                    return False
                if cls is ast.Delete and name == "targets":
                    x, y = list(_unwrap_tuples(x)), list(_unwrap_tuples(y))
                if len(x) != len(y):
                    return False
                for item_a, item_b in zip(x, y, strict=True):  # of equal length, checked above
                    if isinstance(item_a, ast.AST):
                        pending.append((item_a, item_b))
                    elif not _same_leaf(item_a, item_b):
                        return False
            elif isinstance(x, ast.AST):
                pending.append((x, y))
            elif not _same_leaf(x, y):
                return False
    return True


def _same_leaf(a: Any, b: Any) -> bool:
    """Whether ``ast.dump`` shows two values that are not nodes the same way (a list or a node on one side never is)."""
    if a is b:
        return True
    if type(a) is type(b) and type(a) in _PLAIN:
        return bool(a == b)
    return not isinstance(b, (ast.AST, list)) and not isinstance(a, (ast.AST, list)) and repr(a) == repr(b)


def _verify(job: _Job) -> None:
    """Refuse (set ``job.error``) when a formatted cell's code or IPython syntax differs from the original."""
    for index, new in sorted(job.formatted.items()):
        known = job.trees.get(index)
        if known is not None:
            before: tuple[ast.Module, tuple[tuple[str, str, str], ...]] | None = (known, ())
        else:
            before = _tree_view(job.views[index] if index in job.views else _python_of(job.sources[index]))
        after = _tree_view((new, ()) if job.plain else _python_of(new))
        if before is None or after is None or not _same_code(before[0], after[0]):
            job.error = FormatError(
                f"cell {index + 1}: formatting would change what the code does (its AST differs); not written", hint=_REPORT
            )
            return
        if before[1] != after[1]:
            job.error = FormatError(
                f"cell {index + 1}: formatting would change its IPython syntax (magics or !commands); not written", hint=_REPORT
            )
            return


# --- formatters -----------------------------------------------------------------------------------


def _minimal_notebook(sources: Sequence[str]) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source} for source in sources]
    return json.dumps({"cells": cells, "metadata": _MINIMAL_METADATA, "nbformat": 4, "nbformat_minor": 4})


def _ruff_format(files: Sequence[Path], config: Path | None, root: Path) -> tuple[dict[Path, str], Nb2prodError | None]:
    """Run ``ruff format`` over ``files`` (inside ``root``, its working folder) in as few processes as possible.

    Returns ruff's message for each file it refused (a cell that does not parse), and an error if
    ruff failed as a whole (a bad configuration). Files are named relative to ``root`` and split
    over several processes only if the command line would grow too long (Windows allows 32,767
    characters).
    """

    command = [ruff_executable(), "format", "--no-cache"]
    if config is not None:
        command += ["--config", str(config)]  # paths inside it are relative to the file, not to root
    refused: dict[Path, str] = {}
    chunk: list[Path] = []
    size = 0
    chunks: list[list[Path]] = []
    for file in files:
        name = os.path.relpath(file, root)
        if chunk and size + len(name) + 1 > _MAX_ARGUMENTS:
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(file)
        size += len(name) + 1
    if chunk:
        chunks.append(chunk)
    for members in chunks:
        try:
            done = subprocess.run(
                [*command, "--", *(os.path.relpath(file, root) for file in members)],
                capture_output=True,
                text=True,
                cwd=root,
                check=False,
            )
        except OSError as exc:
            return refused, FormatError(f"cannot run ruff: {exc.strerror or exc}", hint="reinstall nb2prod (ruff is a dependency)")
        if done.returncode == 0:
            continue
        found = {file: message for file in members if (message := _refused(done.stderr, file, root)) is not None}
        if done.returncode == 2 and found:
            refused.update(found)  # those files are left as they were; the others are formatted
            continue
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()] or ["no message"]
        where = f" with {config}" if config is not None else ""
        return refused, FormatError(f"ruff format failed{where} (exit {done.returncode}): {lines[0]}", hint="check the ruff configuration")
    return refused, None


def _refused(stderr: str, file: Path, cwd: Path) -> str | None:
    """ruff's message about ``file`` if it refused to format it, else None.

    ruff names a file relative to its working folder when the file is inside it, else in full.
    """
    names = {os.fspath(file)}
    with contextlib.suppress(ValueError):  # another drive (Windows): ruff names it in full
        names.add(os.path.relpath(file, cwd))
    for line in stderr.splitlines():
        for name in names:
            position = line.find(name + ":")
            if position >= 0 and (position == 0 or line[position - 1] in " \t/\\"):
                detail = line[position + len(name) + 1 :]
                match = re.match(r"(?:\d+:)?(\d+):(\d+): (.*)", detail)
                return f"line {match.group(1)}: {match.group(3)}" if match else detail.strip()
    return None


def _read_back(file: Path, job: _Job, order: Sequence[int]) -> None:
    _take_cells(json.loads(file.read_text(encoding="utf-8"))["cells"], job, order)


def _take_cells(cells: Sequence[Mapping[str, Any]], job: _Job, order: Sequence[int]) -> None:
    """Record the cells ruff returned for ``job`` (the cells ``order`` lists, in that order) that it changed."""
    if len(cells) != len(order):
        job.error = FormatError(f"ruff returned {len(cells)} cells for {len(order)}; not written", hint=_REPORT)
        return
    for index, cell in zip(order, cells, strict=True):
        new = source_text(cell["source"])
        if new != job.sources[index]:
            job.formatted[index] = new


def _run_ruff(jobs: Sequence[_Job]) -> None:
    """Format every job's cells with one ``ruff format`` process per ruff configuration (normally one)."""
    groups: dict[Path | None, list[_Job]] = {}
    for job in jobs:
        if job.sources and job.error is None:
            try:
                groups.setdefault(find_ruff_config(job.start), []).append(job)
            except OSError as exc:
                job.error = FormatError(f"cannot look for the ruff configuration: {exc}")
    if not groups:
        return
    size = sum(len(source) for job in jobs for source in job.sources.values())
    with tempfile.TemporaryDirectory(prefix="nb2prod-fmt-", dir=_scratch_folder(size)) as temp:
        root = Path(temp).resolve()
        retry: list[tuple[_Job, Path | None]] = []
        for number, (config, members) in enumerate(groups.items()):
            folder = root / f"g{number}"
            folder.mkdir()
            plain = [job for job in members if job.plain]
            if plain:
                _ruff_python_files(plain, folder, config, root)
                members = [job for job in members if not job.plain]
                if not members:
                    continue
            if len(members) == 1 and _ruff_one(members[0], folder / "n0.ipynb", config, root):
                continue
            files: dict[Path, tuple[_Job, list[int]]] = {}
            for position, job in enumerate(members):
                order = sorted(job.sources)
                file = folder / f"n{position}.ipynb"
                file.write_text(_minimal_notebook([job.sources[i] for i in order]), encoding="utf-8")
                files[file] = (job, order)
            refused, error = _ruff_format(list(files), config, root)
            for file, (job, order) in files.items():
                if error is not None:
                    job.error = error
                elif file in refused:
                    retry.append((job, config))
                else:
                    _read_back(file, job, order)
        if retry:
            _run_ruff_per_cell(retry, root)


#: Memory-backed folder for the formatter's scratch files, where the system has one (Linux).
_SHARED_MEMORY = "/dev/shm"


def _scratch_folder(size: int) -> str | None:
    """Where to put ``size`` characters of scratch files for ruff: shared memory when it has ample room, else the temporary folder.

    Creating files on a busy disk cost up to 0.6 ms each (a package of 160 modules: 100 ms); in
    memory about 0.03 ms. A small shared memory (64 MB in a default Docker container) is left alone.
    """
    try:
        if not os.path.isdir(_SHARED_MEMORY) or not os.access(_SHARED_MEMORY, os.W_OK | os.X_OK):
            return None
        stats = os.statvfs(_SHARED_MEMORY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return None
    return _SHARED_MEMORY if stats.f_bavail * stats.f_frsize > 16 * (4 * size + (64 << 20)) else None


def _ruff_python_files(jobs: Sequence[_Job], folder: Path, config: Path | None, root: Path) -> None:
    """Format plain jobs' cells as the Python files they become (``c<job>-<cell>.py``), in one ruff run.

    A module is not a notebook cell: ruff formats a cell by notebook rules (a trailing ``;`` that
    hides a cell's output is kept; a cell holding a line that starts with ``%%``, even inside a
    string, is skipped), so generated modules go through ruff as ``.py`` files, as a user's
    ``ruff format`` of the package would see them.
    """
    files: dict[Path, tuple[_Job, int]] = {}
    for position, job in enumerate(jobs):
        for index, source in sorted(job.sources.items()):
            file = folder / f"c{position}-{index}.py"
            file.write_text(source, encoding="utf-8")
            files[file] = (job, index)
    refused, error = _ruff_format(list(files), config, root)
    for file, (job, index) in files.items():
        if error is not None or file in refused:
            job.error = job.error or error or FormatError(f"cell {index + 1}: ruff cannot format it: {refused[file]}", hint=_REPORT)
            continue
        source = job.sources[index]
        new = file.read_text(encoding="utf-8")
        new = new if source.endswith("\n") else new.removesuffix("\n")
        if new != source:
            job.formatted[index] = new


def _ruff_one(job: _Job, file: Path, config: Path | None, root: Path) -> bool:
    """Format one notebook through ruff's standard input and output; False (nothing done) if ruff does not succeed.

    Faster than the batch for one notebook (see the module docstring). ``file`` is the name the
    batch would give it (``--stdin-filename``, relative to ``root`` as in the batch), so ruff sees
    the same path. When ruff fails (a cell it cannot parse, a bad configuration) the caller runs
    the batch, whose handling of failures stays the only one.
    """

    order = sorted(job.sources)
    command = [ruff_executable(), "format", "--no-cache"]
    if config is not None:
        command += ["--config", str(config)]
    command += ["--stdin-filename", os.path.relpath(file, root), "-"]
    try:
        done = subprocess.run(
            command,
            input=_minimal_notebook([job.sources[i] for i in order]),
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=root,
            check=False,
        )
        cells = json.loads(done.stdout)["cells"] if done.returncode == 0 else None
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(cells, list):
        return False
    _take_cells(cells, job, order)
    return True


def _run_ruff_per_cell(retry: Sequence[tuple[_Job, Path | None]], root: Path) -> None:
    """Format the notebooks ruff refused as a whole one cell at a time; leave the cells it still refuses."""
    groups: dict[Path | None, list[_Job]] = {}
    for job, config in retry:
        groups.setdefault(config, []).append(job)
    for number, (config, members) in enumerate(groups.items()):
        folder = root / f"cells{number}"
        folder.mkdir()
        files: dict[Path, tuple[_Job, int]] = {}
        for position, job in enumerate(members):
            for index in sorted(job.sources):
                file = folder / f"n{position}-c{index}.ipynb"
                file.write_text(_minimal_notebook([job.sources[index]]), encoding="utf-8")
                files[file] = (job, index)
        refused, error = _ruff_format(list(files), config, root)
        for file, (job, index) in files.items():
            if error is not None:
                job.error = error
            elif file in refused:
                job.notes.append(f"cell {index + 1} not formatted: ruff cannot parse it ({refused[file]})")
            else:
                _read_back(file, job, [index])


def black_mode(start: Path) -> Any:
    """black's notebook mode with the settings of the ``[tool.black]`` table nearest to ``start``.

    Read: ``line-length``, ``skip-string-normalization``, ``skip-magic-trailing-comma``, ``preview``.
    """
    import black

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    settings: Mapping[str, Any] = {}
    pyproject = find_pyproject(start)
    if pyproject is not None:
        try:
            document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read [tool.black]: {exc}", path=pyproject) from None
        settings = (document.get("tool") or {}).get("black") or {}
    line_length = settings.get("line-length", settings.get("line_length", black.DEFAULT_LINE_LENGTH))
    if isinstance(line_length, bool) or not isinstance(line_length, int) or line_length < 1:
        raise ConfigError("'tool.black.line-length' must be a positive integer", path=pyproject)
    return black.Mode(
        is_ipynb=True,
        line_length=line_length,
        string_normalization=not settings.get("skip-string-normalization", False),
        magic_trailing_comma=not settings.get("skip-magic-trailing-comma", False),
        preview=bool(settings.get("preview", False)),
    )


def _run_black(jobs: Sequence[_Job]) -> None:
    """Format every job's cells with black, in process."""
    import black

    if not black.jupyter_dependencies_are_installed(warn=False):
        error = FormatError("black's notebook support is not installed", hint="pip install 'black[jupyter]', or use the ruff formatter")
        for job in jobs:
            job.error = job.error or error
        return
    modes: dict[Path | None, Any] = {}
    for job in jobs:
        if not job.sources or job.error is not None:
            continue
        key = find_pyproject(job.start)
        try:
            mode = modes[key] if key in modes else modes.setdefault(key, black_mode(job.start))
        except ConfigError as error:
            job.error = error
            continue
        for index, source in sorted(job.sources.items()):
            try:
                if job.plain:  # a Python file, not a notebook cell (see _ruff_python_files)
                    new = black.format_file_contents(source, fast=True, mode=replace(mode, is_ipynb=False))
                    new = new if source.endswith("\n") else new.removesuffix("\n")
                else:
                    new = black.format_cell(source, fast=True, mode=mode)
            except black.NothingChanged:
                continue
            except Exception as exc:  # black raises several unrelated types for code it cannot parse
                job.notes.append(f"cell {index + 1} not formatted: black cannot parse it ({type(exc).__name__}: {exc})")
                continue
            if new != source:
                job.formatted[index] = new


def _run(formatter: str, jobs: Sequence[_Job]) -> None:
    if formatter == "black":
        _run_black(jobs)
    else:
        _run_ruff(jobs)


def _format_jobs(formatter: str, jobs: Sequence[_Job], *, stable: bool = True) -> None:
    """Format, verify, and (``stable``) check that a second pass changes nothing; errors land on the jobs.

    The second pass takes the jobs whose result verified. With ruff it starts before the
    verification, on every changed job, and runs in its own process meanwhile; in the rare case a
    job fails verification it is run again on the others alone, so the outcome is the same as
    running it after the verification.
    """
    if formatter not in FORMATTERS:
        raise UsageError(f"unknown formatter '{formatter}'", hint="use ruff or black")
    _run(formatter, jobs)
    candidates = [job for job in jobs if job.error is None and job.formatted]
    if not stable:
        for job in candidates:
            _verify(job)
        return
    again = [_Job(job.start, dict(job.formatted), plain=job.plain) for job in candidates]
    early = _Background(_run, formatter, again) if formatter == "ruff" and again else None
    try:
        for job in candidates:
            _verify(job)
    finally:
        failure = early.join() if early is not None else None
    changed = [job for job in candidates if job.error is None]
    if early is None or len(changed) < len(candidates):
        again = [_Job(job.start, dict(job.formatted), plain=job.plain) for job in changed]
        _run(formatter, again)
    elif failure is not None:
        raise failure
    for job, second in zip(changed, again, strict=True):
        if second.error is not None:
            job.error = second.error
        elif second.formatted or second.notes:
            index = min(second.formatted) if second.formatted else min(second.sources)
            job.error = FormatError(
                f"cell {index + 1}: formatting is not stable (a second pass changes it again); not written", hint=_REPORT
            )


class _Background:
    """A call running in another thread (for a formatter that works in another process); ``join`` returns what it raised."""

    def __init__(self, call: Callable[..., None], *args: Any) -> None:
        self._failure: BaseException | None = None

        def run() -> None:
            try:
                call(*args)
            except BaseException as exc:  # handed to the caller by join()
                self._failure = exc

        self._thread = threading.Thread(target=run, name="nb2prod-format")
        self._thread.start()

    def join(self) -> BaseException | None:
        self._thread.join()
        return self._failure


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
