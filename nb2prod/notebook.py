"""Notebook I/O: the only module that reads or writes notebook files.

Reading is strict where nbformat is lenient: nbformat's reader logs schema errors and goes on, and
its validator mutates the notebook it checks. Here every problem that makes a notebook unusable is
an error naming the file and saying what is wrong; problems that lint exists to report (missing or
duplicate cell ids, execution counts out of order) are not read errors.

Writing is faithful: only when the content changed, atomically, refused when the file changed on
disk since it was read, and in the file's own style (indent, key order, line endings, trailing
newline, escaped or raw non-ASCII), so an unchanged notebook keeps its bytes and a changed one
gives a minimal diff.

Text notebooks (py:percent, light, markdown, MyST) are read and written through jupytext.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from .atomic import atomic_write
from .errors import NotebookReadError, WriteConflictError, WriteError
from .model import Cell, make_cell
from .nbparse import CELL_TYPES, UPGRADE_HINT, decode_text, parse_ipynb, parse_ipynb_for_reading, validate
from .nbstyle import BOM, NBFORMAT_STYLE, JsonStyle, detect_style, dumps_ipynb, same_json
from .regularfile import NotRegularFileError, not_regular_error, read_regular_file, symlink_loop_error
from .runlayout import is_run_output

__all__ = [
    "BOM",
    "CELL_TYPES",
    "NBFORMAT_STYLE",
    "NOTEBOOK_EXTENSIONS",
    "TEXT_EXTENSIONS",
    "JsonStyle",
    "NotRegularFileError",
    "Notebook",
    "detect_style",
    "dumps_ipynb",
    "is_notebook_path",
    "not_regular_error",
    "parse_ipynb",
    "read_notebook",
    "read_regular_file",
    "same_json",
    "serialize",
    "symlink_loop_error",
    "validate",
    "write_notebook",
]

#: File extensions read through jupytext, and the jupytext format family each one implies.
TEXT_EXTENSIONS: Mapping[str, str] = {".py": "py", ".md": "md", ".myst": "myst", ".mystnb": "myst", ".mnb": "myst"}
NOTEBOOK_EXTENSIONS = (".ipynb", *TEXT_EXTENSIONS)


class Notebook:
    """A notebook read from disk: its parsed content plus what is needed to write it back faithfully.

    ``data`` is the notebook as plain JSON values; treat it as read-only and hand a changed copy
    to ``write_notebook``. ``display_path`` is the path as the user gave it, for messages.
    """

    def __init__(self, path: Path, display_path: str, data: dict[str, Any], raw: bytes, fmt: str, upgraded_from: int | None = None):
        self.path = path
        self.display_path = display_path
        self.data = data
        self.raw = raw
        self.format = fmt
        #: The nbformat major version of the file when it was older than 4 and upgraded in memory (read-only reads).
        self.upgraded_from = upgraded_from

    @property
    def notices(self) -> list[str]:
        """What a read-only read did to the file's content: an upgrade from nbformat 3, cells of unknown types skipped."""
        found = []
        if self.upgraded_from is not None:
            found.append(
                f"nbformat {self.upgraded_from} notebook, read as nbformat 4 in memory; "
                + UPGRADE_HINT.format(path=self.display_path).split(";")[0]
            )
        unknown = [(cell.index, cell.cell_type) for cell in self.cells if cell.cell_type not in CELL_TYPES]
        if unknown:
            kinds = ", ".join(sorted({json.dumps(kind) for _, kind in unknown}))
            numbers = ", ".join(str(index + 1) for index, _ in unknown)
            cells = "cell" if len(unknown) == 1 else "cells"
            found.append(f"{cells} {numbers} skipped: unknown cell_type {kinds} (nbformat 4 knows code, markdown and raw)")
        return found

    @property
    def is_text(self) -> bool:
        """True for jupytext text notebooks, which hold no outputs."""
        return self.format != "ipynb"

    @property
    def nbformat(self) -> tuple[int, int]:
        """(major, minor) version of the notebook format."""
        return self.data["nbformat"], self.data["nbformat_minor"]

    @property
    def metadata(self) -> Mapping[str, Any]:
        """Notebook-level metadata (empty when the file has none)."""
        return self.data.get("metadata") or {}

    @property
    def language(self) -> str | None:
        """The kernel language from kernelspec or language_info, lower-cased; None if unknown."""
        meta = self.metadata
        language = (meta.get("kernelspec") or {}).get("language") or (meta.get("language_info") or {}).get("name")
        return language.lower() if isinstance(language, str) else None

    @cached_property
    def cells(self) -> tuple[Cell, ...]:
        """The cells, parsed once."""
        return tuple(make_cell(index, raw) for index, raw in enumerate(self.data["cells"]))

    def __repr__(self) -> str:
        return f"Notebook({self.display_path!r}, format={self.format!r}, cells={len(self.data['cells'])})"


def is_notebook_path(path: str | os.PathLike[str]) -> bool:
    """True when the file name has an extension nb2prod reads as a notebook."""
    return os.fspath(path).lower().endswith(NOTEBOOK_EXTENSIONS)


def read_notebook(path: str | os.PathLike[str], *, display_path: str | None = None, read_only: bool = False) -> Notebook:
    """Read and validate a notebook file (.ipynb or a jupytext text notebook).

    Raises ``NotebookReadError`` / ``NotebookFormatError`` naming the file for anything that makes
    it unusable; never returns a notebook that later code could trip over. ``read_only`` is for
    callers that never write the notebook back (lint without ``--fix``): an nbformat 1-3 notebook is
    then upgraded to nbformat 4 in memory, as nbformat does (``upgraded_from`` says so), and cells
    of an unknown type are kept but skipped by the rules; ``notices`` says what was done. Writing
    commands read with ``read_only=False`` and refuse such notebooks, saying how to convert them.
    """
    shown = display_path or os.fspath(path)
    target = Path(path)
    try:
        raw = read_regular_file(target)
    except FileNotFoundError:
        if target.is_symlink():
            raise NotebookReadError("broken symbolic link: its target does not exist", path=shown, hint="fix or remove the link") from None
        raise NotebookReadError("no such file", path=shown, hint="check the path") from None
    except IsADirectoryError:
        raise NotebookReadError(
            "is a directory, not a notebook", path=shown, hint="pass the folder to a command, which searches it for notebooks"
        ) from None
    except PermissionError:
        raise NotebookReadError("cannot read: permission denied", path=shown, hint="check the file's permissions") from None
    except NotRegularFileError as exc:
        raise not_regular_error(exc.mode, shown) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise symlink_loop_error(shown) from None
        raise NotebookReadError(f"cannot read: {exc.strerror or exc}", path=shown) from None
    suffix = target.suffix.lower()
    if suffix in TEXT_EXTENSIONS:
        data = _parse_text(raw, suffix, shown)
        return Notebook(target, shown, data, raw, _text_format(data, suffix))
    if read_only:
        data, upgraded_from = parse_ipynb_for_reading(raw, shown)
        return Notebook(target, shown, data, raw, "ipynb", upgraded_from)
    return Notebook(target, shown, parse_ipynb(raw, shown), raw, "ipynb")


# --- text notebooks ---------------------------------------------------------------------------


def _parse_text(raw: bytes, suffix: str, shown: str) -> dict[str, Any]:
    import jupytext

    text = decode_text(raw, shown)
    try:
        notebook = jupytext.reads(text, fmt=suffix.lstrip("."))
    except Exception as exc:  # jupytext raises many unrelated types for bad headers
        raise NotebookReadError(f"cannot read as a {suffix} text notebook: {exc}", path=shown) from None
    data = json.loads(json.dumps(notebook))  # plain dicts/lists, detached from NotebookNode
    validate(data, shown)
    return data


def _text_format(data: Mapping[str, Any], suffix: str) -> str:
    jupytext_meta = (data.get("metadata") or {}).get("jupytext") or {}
    name = (jupytext_meta.get("text_representation") or {}).get("format_name")
    return f"{TEXT_EXTENSIONS[suffix]}:{name}" if name else TEXT_EXTENSIONS[suffix]


# --- writing ------------------------------------------------------------------------------------


def serialize(notebook: Notebook, data: Mapping[str, Any]) -> bytes:
    """The bytes of ``data`` written in the style of the file ``notebook`` was read from.

    Unchanged content gives the original bytes exactly, whatever their style.
    """
    if same_json(data, notebook.data):
        return notebook.raw
    if notebook.is_text:
        return _serialize_text(notebook, data)
    style, sort_keys = _matching_style(notebook)
    return dumps_ipynb(data, style, sort_keys=sort_keys)


def _matching_style(notebook: Notebook) -> tuple[JsonStyle, bool]:
    """The style (and key sorting) that reproduces the file's original bytes from its data.

    Detection from the text alone can be fooled by string content, so the candidates are
    verified. Sorted keys are preferred when both orders reproduce the file (nbformat and Jupyter
    sort keys, so a key added later lands where they would put it).
    """
    detected = detect_style(notebook.raw)
    separators = [(detected.item_separator, detected.key_separator), (",", ": "), (",", ":"), (", ", ": ")]
    for item_separator, key_separator in dict.fromkeys(separators):
        style = replace(detected, item_separator=item_separator, key_separator=key_separator)
        for sort_keys in (True, False):
            if dumps_ipynb(notebook.data, style, sort_keys=sort_keys) == notebook.raw:
                return style, sort_keys
    return detected, False


def _serialize_text(notebook: Notebook, data: Mapping[str, Any]) -> bytes:
    import jupytext
    import nbformat

    text = jupytext.writes(nbformat.from_dict(data), fmt=notebook.format)
    raw_text = notebook.raw.decode("utf-8-sig")
    if "\r\n" in raw_text:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    encoded = text.encode("utf-8")
    return BOM + encoded if notebook.raw.startswith(BOM) else encoded


def write_notebook(notebook: Notebook, data: Mapping[str, Any]) -> bool:
    """Write ``data`` over the file ``notebook`` was read from, if it differs; True if written.

    The new content is checked first to read back as a valid notebook (``WriteError`` if not:
    nothing is written). A run's executed notebook is the run's log and is never rewritten
    (``WriteError``). The write is atomic, goes through a symlink to its target, and is refused
    with ``WriteConflictError`` if the file changed on disk since it was read; see
    :func:`nb2prod.atomic.atomic_write` for read-only and non-regular files and what a replace keeps.
    """
    shown = notebook.display_path
    try:
        if notebook.is_text:
            validate(data, shown)  # jupytext would fail on broken cells in unrelated ways
        new = serialize(notebook, data)
        if new == notebook.raw:
            return False
        if not notebook.is_text:
            parse_ipynb(new, shown)  # verify before write: never save what cannot be read back
    except (NotebookReadError, TypeError, ValueError, RecursionError) as exc:
        reason = exc.message if isinstance(exc, NotebookReadError) else str(exc)
        raise WriteError(
            f"not written: the new content is not a valid notebook ({reason})",
            path=shown,
            hint="the file on disk is unchanged; this is a bug in what changed the notebook, please report it",
        ) from None
    if is_run_output(notebook.path, notebook.metadata):
        raise WriteError(
            "is a run's executed notebook (the record of that run); not rewritten",
            path=shown,
            hint="run outputs stay as the run left them; copy it under another name to change it",
        )
    atomic_write(notebook.path, new, check=lambda: _check_unchanged(notebook), display_path=shown)
    return True


def _check_unchanged(notebook: Notebook) -> None:
    # Compare the bytes, not only mtime and size: on file systems with coarse timestamps (HFS+ 1 s,
    # FAT 2 s, some network mounts) a same-size edit keeps both. This runs only before a write.
    try:
        current = read_regular_file(notebook.path)
    except FileNotFoundError:
        raise _conflict(notebook, "was deleted") from None
    except OSError:
        current = None
    if current != notebook.raw:
        raise _conflict(notebook, "changed on disk")


def _conflict(notebook: Notebook, what: str) -> WriteConflictError:
    return WriteConflictError(
        f"{what} after nb2prod read it; not overwritten", path=notebook.display_path, hint="run the command again on the current file"
    )
