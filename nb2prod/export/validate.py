"""Every generated file is checked by its kind before anything is written (reliability.md scenario 56).

An export writes nothing unless each of its files is what its name says: ``.toml`` files parse as
TOML (and ``pyproject.toml`` names a valid project and valid console scripts), ``.py`` files
compile, ``.json`` files parse, and text files (README.md) hold no control character but tab and
newline. Every file must encode as UTF-8. A file that fails is a bug in nb2prod or, far more
likely, in a ``--template-dir`` template: the error says which file and what is wrong.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import ExportError
from .names import project_name_problem, script_name_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_HINT = "check the templates (--template-dir)"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check_files(files: Mapping[str, str]) -> None:
    """Raise ``ExportError`` for the first generated file (relative path -> text) that is not valid for its kind."""
    for relative, text in files.items():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ExportError(
                f"the generated {relative} cannot be written as UTF-8: {error.reason} at character {error.start}", hint=_HINT
            ) from None
        if relative.endswith(".py"):
            check_python(text, relative)
        elif relative.endswith(".toml"):
            data = _toml(text, relative)
            if relative == "pyproject.toml":
                _check_pyproject(data)
        elif relative.endswith(".json"):
            try:
                json.loads(text)
            except ValueError as error:
                raise ExportError(f"the generated {relative} is not valid JSON: {error}", hint=_HINT) from None
        else:
            found = _CONTROL.search(text)
            if found is not None:
                line = text.count("\n", 0, found.start()) + 1
                raise ExportError(
                    f"the generated {relative} holds the control character U+{ord(found.group()):04X} (line {line})", hint=_HINT
                )


def check_python(text: str, relative: str) -> None:
    """Raise ``ExportError`` unless ``text`` compiles as the module ``relative``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, relative, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ExportError(f"the generated {relative} does not compile: line {error.lineno}: {error.msg}", hint=_HINT) from None
    except ValueError as error:  # a NUL character
        raise ExportError(f"the generated {relative} does not compile: {error}", hint=_HINT) from None


def _toml(text: str, relative: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExportError(f"the generated {relative} is not valid TOML: {error}", hint=_HINT) from None


def _check_pyproject(data: Mapping[str, Any]) -> None:
    project = data.get("project")
    if not isinstance(project, Mapping):
        return  # a template may write another build system's table; the project table's name is what pip reads
    name = project.get("name")
    problem = project_name_problem(name) if isinstance(name, str) else "the name is not a string"
    if problem:
        raise ExportError(f"the generated pyproject.toml names the project {name!r}: {problem}", hint=_HINT)
    scripts = project.get("scripts", {})
    for script in scripts if isinstance(scripts, Mapping) else ():
        problem = script_name_problem(script)
        if problem:
            raise ExportError(f"the generated pyproject.toml has the console script {script!r}: {problem}", hint=_HINT)
