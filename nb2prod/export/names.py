"""Names in an export: the package's import name, its project name, module names from the notebooks' stems and directives.

The rules for modules are in :mod:`nb2prod.export.codegen`'s docstring ("Modules"). Every name is
checked against the packaging rules before any file is written (reliability.md scenario 56):

- the import name (package and modules) is an ASCII identifier and not a keyword. ``--name`` may
  hold ASCII letters, digits, ``_``, ``-``, ``.`` and spaces (``--name "Churn Model"`` gives
  ``churn_model``); anything else is refused rather than silently replaced. A name made from a
  file or folder name has every other character replaced by ``_`` (``Über`` gives ``_ber``);
- the project (distribution) name is the import name normalized as PEP 503 does (runs of ``-``,
  ``_``, ``.`` become one ``-``, lower case) without ``-`` at either end, so that it is a valid
  PEP 508 name: ``del_`` gives ``del``, ``_ber`` gives ``ber``. An import name with no letter or
  digit (``--name ___``, a notebook named ``数据.ipynb``) makes no project name and is refused,
  saying to pass ``--name``;
- the console script is named as the project, so it follows the same rule.
"""

from __future__ import annotations

import keyword
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..discover import resolve_file
from ..errors import ExportError
from ..notebook import Notebook

#: Module names the package itself writes; only the dunders when the export writes only the modules.
RESERVED_MODULES = frozenset({"cli", "__init__", "__main__"})
RESERVED_WHEN_MODULES_ONLY = frozenset({"__init__", "__main__"})
_FLAT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NOT_IN_NAME = re.compile(r"[^a-z0-9_]")
_GIVEN_NAME = re.compile(r"[A-Za-z0-9_. -]+\Z")
#: PEP 508's project name (case-insensitive): ASCII letters and digits, ``-_.`` only between them.
_PROJECT_NAME = re.compile(r"[A-Z0-9](?:[A-Z0-9._-]*[A-Z0-9])?\Z", re.IGNORECASE)
#: A console script's name (the entry points specification): no ``=``, no space, not starting with ``[``.
_SCRIPT_NAME = re.compile(r"[\w.-]+\Z")
_NAME_HINT = "pass --name, e.g. --name churn_model"


def module_identifier(text: str) -> str:
    """``text`` made a valid, lower-case ASCII identifier: ``Train v2`` -> ``train_v2``, ``01-eda`` -> ``nb_01_eda``."""
    name = _NOT_IN_NAME.sub("_", text.lower()) or "notebook"
    if name[0].isdigit():
        name = "nb_" + name
    return name + "_" if keyword.iskeyword(name) else name


def package_name(name: str | None, notebooks: Sequence[Notebook]) -> str:
    """The package's import name: ``name`` made an identifier, else a single notebook's stem, else the common folder's name.

    Raises ``ExportError`` for a ``name`` with characters other than ASCII letters, digits, ``_``,
    ``-``, ``.`` and spaces, and for a result no project name can be made from.
    """
    if name is not None:
        given = name.strip()
        if not given:
            raise ExportError("the package name is empty", hint="pass a name such as churn_model")
        if not _GIVEN_NAME.match(given):
            raise ExportError(f"'{given}' cannot name a package: use ASCII letters, digits and underscores", hint=_NAME_HINT)
        package, origin = module_identifier(given), ""
    elif len(notebooks) == 1:
        package, origin = module_identifier(notebooks[0].path.stem), " (from the notebook's file name)"
    else:
        try:
            folders: dict[Path, Path] = {}
            folder = Path(os.path.commonpath([str(resolve_file(notebook.path, folders).parent) for notebook in notebooks])).name
        except ValueError:  # notebooks on different drives
            folder = ""
        package, origin = module_identifier(folder or "package"), " (from the notebooks' folder name)"
    if not project_name(package):
        raise ExportError(
            f"the package name '{package}'{origin} has no letter or digit, so no project name can be made from it", hint=_NAME_HINT
        )
    return package


def project_name(package: str) -> str:
    """The project (distribution) name of an import name: PEP 503-normalized, no ``-`` at the ends (``My__pkg_`` -> ``my-pkg``)."""
    return re.sub(r"[-_.]+", "-", package).strip("-").lower()


def import_name_problem(name: str) -> str | None:
    """What makes ``name`` unusable as the import name of a package or module, or None."""
    if not (name.isascii() and name.isidentifier()):
        return "an import name is ASCII letters, digits and underscores, not starting with a digit"
    if keyword.iskeyword(name):
        return "it is a Python keyword"
    return None


def project_name_problem(name: str) -> str | None:
    """What makes ``name`` an invalid project name (PEP 508), or None."""
    if _PROJECT_NAME.match(name):
        return None
    return "a project name is ASCII letters and digits, with '-', '_' or '.' only between them (PEP 508)"


def script_name_problem(name: str) -> str | None:
    """What makes ``name`` an invalid console script name (the entry points specification), or None."""
    return None if _SCRIPT_NAME.match(name) else "a console script's name is letters, digits, '_', '-' and '.'"


def module_name(text: str, where: str, *, hint: str, reserved: frozenset[str]) -> str:
    """A module name from a directive, checked: flat, an identifier, not one the package writes itself."""
    text = text.strip()
    parts = text.split(".")
    if len(parts) > 1 and all(_FLAT_NAME.match(part) for part in parts):
        raise ExportError(
            f"module '{text}' is nested; nb2prod writes one flat module per name",
            path=where,
            hint=f"use a name without dots, such as `{'_'.join(parts)}`",
        )
    if not _FLAT_NAME.match(text) or keyword.iskeyword(text):
        raise ExportError(f"'{text}' is not a valid module name", path=where, hint="use letters, digits and underscores, e.g. `core`")
    if text in reserved:
        raise ExportError(f"module name '{text}' is taken by the package's own {text}.py", path=where, hint=hint)
    return text
