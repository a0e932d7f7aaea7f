"""ruff's code rules for notebooks: one ruff process per lint call, findings mapped to cells.

ruff reads .ipynb natively and reports the cell of each diagnostic, so no conversion is needed.
The project's own ruff configuration applies as ruff finds it; when the project has none, a
selection that suits notebooks is passed instead of ruff's own default. Text notebooks are handed
to ruff through stdin as .ipynb JSON, so that their findings land on cells too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ToolError
from .rule import Finding, Severity

#: pyflakes, the runtime-error subset of pycodestyle and bugbear, minus what is noise in notebooks:
#: E402 (imports at the top of each cell; nb2prod's NB206 checks the notebook as a whole) and
#: B018 (a bare expression at the end of a cell is how a notebook displays a value).
NOTEBOOK_SELECT = ("E4", "E7", "E9", "F", "B")
NOTEBOOK_IGNORE = ("E402", "B018")
_CONFIG_FILES = (".ruff.toml", "ruff.toml")  # ruff's precedence within one folder, before pyproject.toml


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
        severity=Severity.ERROR if code in ("invalid-syntax", "E999") or code.startswith(("E9", "F8")) else Severity.WARNING,
        message=item.get("message", ""),
        cell_index=cell - 1 if isinstance(cell, int) else None,
        line=location.get("row"),
        column=location.get("column"),
        fixable=fix.get("applicability") == "safe",
        origin="ruff",
    )
