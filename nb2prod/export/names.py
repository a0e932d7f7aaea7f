"""Names in an export: the package's import name, module names from the notebooks' stems and directives.

The rules are in :mod:`nb2prod.export.codegen`'s docstring ("Modules").
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


def module_identifier(text: str) -> str:
    """``text`` made a valid, lower-case ASCII identifier: ``Train v2`` -> ``train_v2``, ``01-eda`` -> ``nb_01_eda``."""
    name = _NOT_IN_NAME.sub("_", text.lower()) or "notebook"
    if name[0].isdigit():
        name = "nb_" + name
    return name + "_" if keyword.iskeyword(name) else name


def package_name(name: str | None, notebooks: Sequence[Notebook]) -> str:
    """The package's import name: ``name`` made an identifier, else a single notebook's stem, else the common folder's name."""
    if name is not None:
        if not name.strip():
            raise ExportError("the package name is empty", hint="pass a name such as churn_model")
        return module_identifier(name.strip())
    if len(notebooks) == 1:
        return module_identifier(notebooks[0].path.stem)
    try:
        folders: dict[Path, Path] = {}
        folder = Path(os.path.commonpath([str(resolve_file(notebook.path, folders).parent) for notebook in notebooks])).name
    except ValueError:  # notebooks on different drives
        folder = ""
    return module_identifier(folder or "package")


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
