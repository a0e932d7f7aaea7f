"""Other code checkers (mypy, pylint, flake8…) on notebooks, through nbqa.

``[tool.nb2prod.lint] tools = ["mypy"]`` runs ``nbqa mypy`` over the .ipynb files of a lint call
and merges its findings, mapped from nbqa's ``path:cell_N:line[:col]: message`` (N counts code
cells only) to nb2prod's cell indices. Each tool is one process for all notebooks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import ToolError
from ..notebook import Notebook
from .rule import Finding, Severity

_LINE = re.compile(r"^(?P<path>.+?):cell_(?P<cell>\d+):(?P<line>\d+):(?:(?P<column>\d+):)?\s*(?P<message>.*)$")
_CODE = re.compile(r"^(?P<code>[A-Z]+[0-9]+)\b:?\s*(?P<rest>.*)$")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def run_tool(tool: str, notebooks: Sequence[Notebook]) -> dict[str, list[Finding]]:
    """Run ``nbqa TOOL`` on the .ipynb notebooks and return its findings by display path."""
    if not _TOOL_NAME.match(tool):
        raise ToolError(f"'{tool}' is not a tool name", hint='list tools by name in [tool.nb2prod.lint] tools, e.g. ["mypy"]')
    targets = [nb for nb in notebooks if not nb.is_text]
    if not targets:
        return {}
    command = [sys.executable, "-m", "nbqa", tool, *(str(nb.path) for nb in targets)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ToolError(f"cannot run nbqa: {exc.strerror or exc}") from None
    if "not found by nbqa" in done.stderr or "No module named" in done.stderr:
        raise ToolError(f"nbqa cannot run {tool}: it is not installed", hint=f"install it where nb2prod runs: pip install {tool}")
    if "Traceback (most recent call last)" in done.stderr:
        last = done.stderr.strip().splitlines()[-1]
        raise ToolError(f"nbqa {tool} failed: {last}", hint=f"run `nbqa {tool}` on the notebooks to see the whole error")
    by_path = {os.path.realpath(nb.path): nb for nb in targets}
    found: dict[str, list[Finding]] = {}
    for line in done.stdout.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        notebook = by_path.get(os.path.realpath(Path(match.group("path"))))
        if notebook is None:
            continue
        code_cells = [cell.index for cell in notebook.cells if cell.cell_type == "code"]
        number = int(match.group("cell"))
        if not 1 <= number <= len(code_cells):
            continue
        message = match.group("message")
        code_match = _CODE.match(message)
        code, message = (code_match.group("code"), code_match.group("rest")) if code_match else (tool, message)
        cell_index = code_cells[number - 1]
        found.setdefault(notebook.display_path, []).append(
            Finding(
                path=notebook.display_path,
                code=code,
                severity=Severity.ERROR if message.startswith("error") else Severity.WARNING,
                message=message,
                cell_index=cell_index,
                cell_id=notebook.cells[cell_index].id,
                line=int(match.group("line")),
                column=int(match.group("column")) if match.group("column") else None,
                origin=tool,
            )
        )
    return found
