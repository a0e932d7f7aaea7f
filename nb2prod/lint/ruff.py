"""ruff's code rules for notebooks: one ruff process per lint call, findings mapped to cells.

ruff reads .ipynb natively and reports the cell of each diagnostic, so no conversion is needed.
The project's own ruff configuration applies as ruff finds it; when the project has none, a
selection that suits notebooks is passed instead of ruff's own default. Text notebooks are handed
to ruff through stdin as .ipynb JSON, so that their findings land on cells too.

ruff knows Python, not notebooks, so two things are adjusted before its findings are reported:

- **Severity** comes from :data:`SEVERITIES`, a table of code prefixes made for notebooks: what
  fails when the cell runs (syntax errors, undefined names, format strings that do not fit their
  arguments, ``return`` outside a function) is an error; likely bugs and dead code are warnings;
  style is info. F811 (redefinition of an unused name) is a warning within one cell and info across
  cells, where redefining a function in a later cell is how notebooks are written.
- **Names IPython defines**: F821 is dropped when nb2prod's dataflow analysis has a definition for
  the name (``%%capture out``, ``x = !ls``, ``%store -r x``, ``%time x = 1``, a cell below — which
  NB104 reports — or an IPython name such as ``In``/``Out``), see :func:`refine`.
- **Imports kept for their side effect** (:func:`side_effect_import`: ``enable_*`` modules such as
  ``sklearn.experimental.enable_halving_search_cv``, ``__future__``) are not unused: their F401 is
  dropped, and ``lint --fix`` never removes them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ToolError
from .rule import Finding, Severity

if TYPE_CHECKING:
    from ..notebook import Notebook

#: pyflakes, the runtime-error subset of pycodestyle and bugbear, minus what is noise in notebooks:
#: E402 (imports at the top of each cell; nb2prod's NB206 checks the notebook as a whole) and
#: B018 (a bare expression at the end of a cell is how a notebook displays a value).
NOTEBOOK_SELECT = ("E4", "E7", "E9", "F", "B")
NOTEBOOK_IGNORE = ("E402", "B018")
_CONFIG_FILES = (".ruff.toml", "ruff.toml")  # ruff's precedence within one folder, before pyproject.toml

_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
#: The severity of ruff's codes in a notebook: (code prefix, severity, why). The most specific entry
#: matching a code wins; an entry matches codes with exactly its letters whose digits start with its
#: digits ("N" is pep8-naming, not NPY). Codes in no entry are warnings.
SEVERITIES: tuple[tuple[str, Severity, str], ...] = (
    ("invalid-syntax", _E, "the cell does not parse"),
    ("E9", _E, "syntax error, or the file cannot be read: the cell cannot run"),
    ("F821", _E, "undefined name: NameError when the cell runs (dropped where nb2prod's dataflow knows a definition)"),
    ("F822", _E, "undefined name in __all__: `from module import *` fails"),
    ("F823", _E, "local variable referenced before assignment: UnboundLocalError"),
    ("F50", _E, "%-format string and its arguments do not match: raises when it runs"),
    ("F52", _E, "str.format() string and its arguments do not match: raises when it runs"),
    ("F63", _E, "a comparison or assert that is always true or false, or `print >>`"),
    ("F7", _E, "break, continue, return, yield or await where Python does not allow it"),
    ("F811", _W, "redefinition of an unused name within one cell (info when the first definition is in another cell)"),
    ("F", _W, "other pyflakes findings: unused imports and variables, star imports, repeated dict keys"),
    ("E501", _I, "line too long: style"),
    ("E731", _I, "a lambda assigned to a name: style"),
    ("E741", _I, "an ambiguous variable name (l, O, I): style"),
    ("E", _W, "other pycodestyle errors: comparisons to None/True, bare except, several statements on one line"),
    ("W", _I, "pycodestyle warnings: whitespace, style"),
    ("B", _W, "likely bugs (flake8-bugbear)"),
    ("S", _W, "security (flake8-bandit)"),
    ("C90", _I, "complexity"),
    ("I", _I, "import order"),
    ("D", _I, "docstrings"),
    ("N", _I, "naming"),
    ("UP", _I, "newer Python syntax"),
    ("ANN", _I, "type annotations"),
    ("T20", _I, "print calls: how a notebook shows things"),
    ("ERA", _I, "commented-out code"),
)
#: F811 across cells: a function redefined in a later cell is how notebooks are written.
F811_ACROSS_CELLS = _I
_CODE_PARTS = re.compile(r"^([A-Za-z]+)(\d*)$")
_F811_FIRST_CELL = re.compile(r"\bfrom cell (\d+)\b")
_BACKTICKED = re.compile(r"`([^`]+)`")
_NOQA = re.compile(r"#\s*noqa\b", re.IGNORECASE)
_LINE_END = re.compile(r"\r\n|\r|\n")  # how ruff numbers lines


def side_effect_import(message: str) -> bool:
    """Whether an F401 message (```sklearn.experimental.enable_iterative_imputer` imported but unused``) names an
    import that is there for its side effect: a module whose name starts with ``enable_``, or ``__future__``."""
    found = _BACKTICKED.search(message)
    if found is None:
        return False
    parts = found.group(1).split(" as ")[0].split(".")
    return parts[0] == "__future__" or any(part.startswith("enable_") for part in parts)


def severity(code: str, message: str = "", cell_index: int | None = None) -> Severity:
    """The severity of a ruff finding in a notebook (see :data:`SEVERITIES`)."""
    if code == "F811" and cell_index is not None:
        first = _F811_FIRST_CELL.search(message)
        if first is not None and int(first.group(1)) != cell_index + 1:
            return F811_ACROSS_CELLS
    parts = _CODE_PARTS.match(code)
    best: tuple[int, Severity] | None = None
    for prefix, level, _ in SEVERITIES:
        if prefix == code:
            return level
        wanted = _CODE_PARTS.match(prefix)
        if parts is None or wanted is None or wanted.group(1) != parts.group(1) or not parts.group(2).startswith(wanted.group(2)):
            continue
        if best is None or len(prefix) > best[0]:
            best = (len(prefix), level)
    return best[1] if best is not None else _W


@dataclass(frozen=True)
class RuffTarget:
    """A notebook for ruff: the path ruff reads (or the stdin filename) and the JSON for text notebooks."""

    display_path: str
    path: Path
    ipynb_json: str | None = None  # set for text notebooks, which go through stdin


def ruff_executable() -> str:
    """The ruff binary installed with nb2prod (ruff is a dependency), else the one on PATH."""
    name = "ruff.exe" if os.name == "nt" else "ruff"
    beside = Path(sysconfig.get_path("scripts")) / name
    if beside.exists():
        return str(beside)
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else "ruff"


def find_ruff_config(start: Path) -> Path | None:
    """The ruff configuration file that governs ``start``, found the way ruff finds it.

    The nearest folder at or above ``start`` with ``.ruff.toml``, ``ruff.toml`` or a ``pyproject.toml``
    holding ``[tool.ruff``; in one folder, that order is ruff's precedence.
    """
    folder = start.resolve()
    folder = folder if folder.is_dir() else folder.parent
    for candidate in (folder, *folder.parents):
        for name in _CONFIG_FILES:
            if (candidate / name).is_file():
                return candidate / name
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                if "[tool.ruff" in pyproject.read_text(encoding="utf-8"):
                    return pyproject
            except (OSError, UnicodeDecodeError):
                pass
    return None


def has_ruff_config(start: Path) -> bool:
    """Whether a ruff configuration governs ``start`` (ruff.toml, .ruff.toml or ``[tool.ruff]``)."""
    return find_ruff_config(start) is not None


def ruff_arguments(select: Sequence[str] | None, ignore: Sequence[str], *, configured: bool, fix: bool = False) -> list[str]:
    """The ``ruff check`` arguments for a selection (None: the project's or nb2prod's default)."""
    args = ["check", "--output-format", "json", "--no-cache", "--exit-zero", "--force-exclude"]
    args.append("--fix" if fix else "--no-fix")
    if select is not None:
        args += ["--select", ",".join(select)]
    elif not configured:
        args += ["--select", ",".join(NOTEBOOK_SELECT)]
        ignore = [*NOTEBOOK_IGNORE, *ignore]
    if ignore:
        args += ["--extend-ignore" if select is None and configured else "--ignore", ",".join(ignore)]
    return args


class RuffRun:
    """ruff started in the background over many notebooks; ``findings()`` waits and maps the results."""

    def __init__(self, targets: Sequence[RuffTarget], args: Sequence[str], cwd: Path | None = None):
        self._files = [t for t in targets if t.ipynb_json is None]
        self._stdin = [t for t in targets if t.ipynb_json is not None]
        self._args = list(args)
        self._cwd = cwd
        self._process: subprocess.Popen[str] | None = None
        if self._files:
            command = [ruff_executable(), *self._args, "--", *(str(t.path) for t in self._files)]
            try:
                self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
            except OSError as exc:
                raise ToolError(f"cannot run ruff: {exc.strerror or exc}", hint="reinstall nb2prod (ruff is a dependency)") from None

    def findings(self) -> dict[str, list[Finding]]:
        """ruff's findings by display path."""
        found: dict[str, list[Finding]] = {}
        if self._process is not None:
            stdout, stderr = self._process.communicate()
            by_path = {os.path.realpath(t.path): t.display_path for t in self._files}
            for item in _parse(stdout, stderr, self._process.returncode):
                shown = by_path.get(os.path.realpath(item.get("filename", "")))
                if shown is not None:
                    found.setdefault(shown, []).append(_finding(shown, item))
        for target in self._stdin:
            stdin_name = str(target.path) + ".ipynb"
            command = [ruff_executable(), *self._args, "--stdin-filename", stdin_name, "-"]
            try:
                done = subprocess.run(command, input=target.ipynb_json, capture_output=True, text=True, cwd=self._cwd, check=False)
            except OSError as exc:
                raise ToolError(f"cannot run ruff: {exc.strerror or exc}") from None
            found[target.display_path] = [_finding(target.display_path, item) for item in _parse(done.stdout, done.stderr, done.returncode)]
        return found


def _parse(stdout: str, stderr: str, returncode: int | None) -> Iterable[Mapping[str, Any]]:
    if returncode not in (0, 1):
        first = (stderr.strip().splitlines() or ["no message"])[-1]
        raise ToolError(f"ruff failed (exit {returncode}): {first}", hint="check the ruff configuration of the project")
    try:
        items = json.loads(stdout or "[]")
    except json.JSONDecodeError:
        raise ToolError("ruff's output is not the JSON nb2prod asked for", hint="upgrade ruff to 0.6 or newer") from None
    return items


def _finding(shown: str, item: Mapping[str, Any]) -> Finding:
    code = item.get("code") or "invalid-syntax"
    location = item.get("location") or {}
    cell = item.get("cell")
    fix = item.get("fix") or {}
    return Finding(
        path=shown,
        code=code,
        severity=severity(code, item.get("message", ""), cell - 1 if isinstance(cell, int) else None),
        message=item.get("message", ""),
        cell_index=cell - 1 if isinstance(cell, int) else None,
        line=location.get("row"),
        column=location.get("column"),
        fixable=fix.get("applicability") == "safe",
        origin="ruff",
    )


def _fixable_as_fix_does(findings: list[Finding], notebook: Notebook) -> list[Finding]:
    """Clear ``fixable`` where ``lint --fix`` refuses ruff's fix (see :mod:`nb2prod.lint.ruff_fix`).

    A line under ``# noqa`` is never changed, and a cell holding nothing but unused imports would be
    left empty. (Multi-line imports make the second check approximate: it looks at lines.)
    """
    cells = notebook.cells
    unused: dict[int, set[int]] = {}
    for f in findings:
        if f.origin == "ruff" and f.code == "F401" and f.fixable and f.cell_index is not None and f.line is not None:
            unused.setdefault(f.cell_index, set()).add(f.line)
    refused: set[int] = set()
    for index, lines in unused.items():
        if 0 <= index < len(cells):
            code = {
                n for n, text in enumerate(_LINE_END.split(cells[index].source), 1) if text.strip() and not text.lstrip().startswith("#")
            }
            if code <= lines:
                refused.add(index)
    kept = []
    for f in findings:
        if f.origin == "ruff" and f.fixable and f.cell_index is not None and 0 <= f.cell_index < len(cells):
            lines = _LINE_END.split(cells[f.cell_index].source)
            text = lines[f.line - 1] if f.line is not None and 0 < f.line <= len(lines) else ""
            if _NOQA.search(text) or (f.code == "F401" and f.cell_index in refused):
                f = Finding(**{**f.__dict__, "fixable": False})
        kept.append(f)
    return kept


def refine(findings: Sequence[Finding], notebook: Notebook) -> list[Finding]:
    """Drop ruff's F821 for names nb2prod's dataflow knows a definition of (names IPython syntax binds, IPython's own
    names) and ruff's F401 for imports kept for their side effect.

    ruff reads IPython syntax but not what it binds (``%%capture out``, ``%store -r x``), and not
    IPython's names (``In``, ``Out``, ``_1``). A name some cell defines is never undefined to a
    notebook: a definition below the use is reported by NB104, more specifically.
    """
    findings = _fixable_as_fix_does(
        [f for f in findings if not (f.code == "F401" and f.origin == "ruff" and side_effect_import(f.message))], notebook
    )
    if not any(f.code == "F821" and f.origin == "ruff" for f in findings):
        return findings
    from .dataflow import analyze_notebook, is_predefined

    cells = notebook.cells
    flow = analyze_notebook([cell.source if cell.cell_type == "code" else "" for cell in cells])
    defined = {name for cell in flow.cells for name in cell.defines}

    def known(finding: Finding) -> bool:
        found = _BACKTICKED.search(finding.message)
        return found is not None and (found.group(1) in defined or is_predefined(found.group(1)))

    return [f for f in findings if not (f.code == "F821" and f.origin == "ruff" and known(f))]
