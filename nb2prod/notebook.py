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
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from .atomic import atomic_write
from .errors import NotebookFormatError, NotebookReadError, WriteConflictError, WriteError
from .model import Cell, make_cell
from .runlayout import is_run_output

BOM = b"\xef\xbb\xbf"
#: File extensions read through jupytext, and the jupytext format family each one implies.
TEXT_EXTENSIONS: Mapping[str, str] = {".py": "py", ".md": "md", ".myst": "myst", ".mystnb": "myst", ".mnb": "myst"}
NOTEBOOK_EXTENSIONS = (".ipynb", *TEXT_EXTENSIONS)
CELL_TYPES = ("code", "markdown", "raw")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# What only an escaping dumper writes: \u escapes of non-ASCII characters, and of DEL (U+007F), which
# Python's ensure_ascii escapes although it is ASCII.
_ESCAPED_NON_ASCII = re.compile(r"\\u(?:007[fF]|00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})")
_UPGRADE_HINT = "convert it with `jupyter nbconvert --to notebook --nbformat 4 --inplace {path}`; `nb2prod lint` reads it as it is"


@dataclass(frozen=True)
class JsonStyle:
    """How a .ipynb file was serialised, so a rewrite looks like the original."""

    indent: str | None  # the indent unit ("\t", " ", "  "…), None for a one-line file
    item_separator: str
    key_separator: str
    ensure_ascii: bool
    newline: str  # "\n" or "\r\n"
    tail: str  # whitespace after the closing brace, "" when there is no trailing newline
    bom: bool


#: nbformat's own style, for notebooks nb2prod creates.
NBFORMAT_STYLE = JsonStyle(" ", ",", ": ", False, "\n", "\n", False)


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
                + _UPGRADE_HINT.format(path=self.display_path).split(";")[0]
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
        data, upgraded_from = _parse_ipynb_for_reading(raw, shown)
        return Notebook(target, shown, data, raw, "ipynb", upgraded_from)
    return Notebook(target, shown, parse_ipynb(raw, shown), raw, "ipynb")


def _parse_ipynb_for_reading(raw: bytes, shown: str) -> tuple[dict[str, Any], int | None]:
    """Parse a .ipynb file for a read-only use: an nbformat 1-3 notebook is upgraded to 4 in memory."""
    data = _load_json(raw, shown)
    major = data.get("nbformat") if isinstance(data, dict) else None
    if not (_is_int(major) and 1 <= major < 4):
        validate(data, shown, unknown_cells=True)
        return data, None
    upgraded = _upgrade(_decode(raw, shown), major, shown)
    validate(upgraded, shown, unknown_cells=True)
    return upgraded, major


def _upgrade(text: str, major: int, shown: str) -> dict[str, Any]:
    """nbformat's own reading and upgrade of an old notebook to nbformat 4.4, without the random cell ids it invents."""
    import nbformat
    from nbformat.reader import reads

    try:
        converted = nbformat.convert(reads(text), 4)  # reads() joins the line lists of the old formats
    except Exception as exc:  # nbformat raises many types for malformed old notebooks
        raise NotebookFormatError(
            f"nbformat {major} notebook that cannot be upgraded to nbformat 4 ({type(exc).__name__}: {exc})",
            path=shown,
            hint=_UPGRADE_HINT.format(path=shown).split(";")[0],
        ) from None
    upgraded = json.loads(json.dumps(converted))
    upgraded["nbformat_minor"] = 4  # ids are nbformat 4.5; random ones would differ on every read
    for cell in upgraded.get("cells", ()):
        if isinstance(cell, dict):
            cell.pop("id", None)
    return upgraded


def parse_ipynb(raw: bytes, shown: str) -> dict[str, Any]:
    """Parse and validate the bytes of a .ipynb file; ``shown`` names it in errors."""
    data = _load_json(raw, shown)
    validate(data, shown)
    return data


def _load_json(raw: bytes, shown: str) -> Any:
    text = _decode(raw, shown)
    if not text or text.isspace():
        raise NotebookReadError("empty file, not a notebook", path=shown, hint="restore it from version control or delete it")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookReadError(
            f"not valid JSON: {exc.msg.removesuffix(' at')} at line {exc.lineno} column {exc.colno} (byte {exc.pos})",
            path=shown,
            hint="the file may be truncated or hand-edited; restore it from version control",
        ) from None
    except RecursionError:
        raise NotebookReadError("JSON nested too deeply to be a notebook", path=shown) from None
    return data


def _decode(raw: bytes, shown: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookReadError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            path=shown,
            hint="notebooks are UTF-8; re-save the file with UTF-8 encoding",
        ) from None


def _json_type(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def validate(data: Any, shown: str, *, unknown_cells: bool = False) -> None:
    """Refuse notebook JSON whose structure later code cannot trust; never mutates ``data``.

    Checks the version and the types of every field nb2prod reads. Missing or duplicate cell ids
    and unusual execution counts are left to lint. ``unknown_cells`` accepts cells whose
    ``cell_type`` is a string nbformat 4 does not know (for read-only uses, which skip them).
    """

    def fail(message: str, hint: str | None = None) -> None:
        raise NotebookFormatError(message, path=shown, hint=hint)

    if not isinstance(data, dict):
        fail(f"JSON is {_json_type(data)}, not a notebook object", "a notebook is a JSON object with 'cells' and 'nbformat'")
    if "nbformat" not in data:
        fail("no 'nbformat' version field; not a Jupyter notebook", 'a notebook states its format, e.g. "nbformat": 4')
    major = data["nbformat"]
    if not _is_int(major):
        fail(f"'nbformat' is {_json_type(major)} ({json.dumps(major)}), not an integer", "set it to the integer 4")
    if major < 4:
        fail(f"nbformat {major} notebook; this command needs nbformat 4", _UPGRADE_HINT.format(path=shown))
    if major > 4:
        fail(f"nbformat {major} is newer than nb2prod supports (4.0-4.5)", "upgrade nb2prod")
    if "nbformat_minor" not in data:
        fail("no 'nbformat_minor' field", 'add the minor version, e.g. "nbformat_minor": 5')
    minor = data["nbformat_minor"]
    if not _is_int(minor) or minor < 0:
        fail(f"'nbformat_minor' is {_json_type(minor)}, not a non-negative integer", "set it to the minor version, e.g. 5")
    if not isinstance(data.get("metadata", {}), dict):
        fail(f"notebook 'metadata' is {_json_type(data['metadata'])}, not an object")
    cells = data.get("cells")
    if not isinstance(cells, list):
        fail("no 'cells' list" if cells is None else f"'cells' is {_json_type(cells)}, not a list")
    for index, cell in enumerate(cells):
        _validate_cell(cell, index + 1, fail, unknown_cells)


def _validate_cell(cell: Any, number: int, fail: Any, unknown_cells: bool = False) -> None:
    where = f"cell {number}"
    if not isinstance(cell, dict):
        fail(f"{where} is {_json_type(cell)}, not an object")
    cell_type = cell.get("cell_type")
    if unknown_cells and isinstance(cell_type, str) and cell_type not in CELL_TYPES:
        cell = {"source": "", **{key: value for key, value in cell.items() if key in ("id", "metadata", "source")}}
        cell_type = "raw"  # checked as a raw cell (id, source, metadata), then skipped by the rules
    if cell_type not in CELL_TYPES:
        shown_type = json.dumps(cell_type) if cell_type is not None else "missing"
        hint = "change its type in Jupyter or delete it; `nb2prod lint` skips it" if isinstance(cell_type, str) else None
        fail(f"{where} has cell_type {shown_type}; expected code, markdown or raw", hint)
    where = f"{cell_type} cell {number}"
    if "id" in cell:
        cell_id = cell["id"]
        if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id):
            fail(
                f"{where} has an invalid id {json.dumps(cell_id)}",
                "an id is 1-64 letters, digits, '-' or '_'; `nb2prod lint --fix` assigns valid ids once the id is removed",
            )
    source = cell.get("source")
    if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(line, str) for line in source))):
        fail(f"{where}: 'source' is {_json_type(source)}; expected a string or a list of strings")
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        fail(f"{where}: 'metadata' is {_json_type(metadata)}, not an object")
    tags = metadata.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        fail(
            f"{where}: 'metadata.tags' is {_json_type(tags)}; expected a list of strings", 'write tags as ["parameters"], not "parameters"'
        )
    if "attachments" in cell and not isinstance(cell["attachments"], dict):
        fail(f"{where}: 'attachments' is {_json_type(cell['attachments'])}, not an object")
    if cell_type != "code":
        return
    count = cell.get("execution_count")
    if count is not None and not _is_int(count):
        fail(f"{where}: 'execution_count' is {_json_type(count)} ({json.dumps(count)}); expected an integer or null")
    outputs = cell.get("outputs")
    if not isinstance(outputs, list):
        fail(f"{where} has no 'outputs' list" if outputs is None else f"{where}: 'outputs' is {_json_type(outputs)}, not a list")
    for position, output in enumerate(outputs, start=1):
        if not isinstance(output, dict) or not isinstance(output.get("output_type"), str):
            fail(f"{where}: output {position} is not an output object with an 'output_type'")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- text notebooks ---------------------------------------------------------------------------


def _parse_text(raw: bytes, suffix: str, shown: str) -> dict[str, Any]:
    import jupytext

    text = _decode(raw, shown)
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


def detect_style(raw: bytes) -> JsonStyle:
    """Work out how a .ipynb file was serialised from its bytes."""
    bom = raw.startswith(BOM)
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    if newline == "\r\n":
        text = text.replace("\r\n", "\n")
    body = text.rstrip()
    tail = text[len(body) :]
    if "\n" in body:
        second = body.split("\n", 2)[1]
        indent = second[: len(second) - len(second.lstrip())] or " "
        item_separator = ","
        key_separator = ":" if '":' in body and '": ' not in body else ": "
    else:
        indent = None
        item_separator = ", " if ', "' in body else ","
        key_separator = ": " if '": ' in body else ":"
    has_raw_non_ascii = not body.isascii()
    ensure_ascii = not has_raw_non_ascii and bool(_ESCAPED_NON_ASCII.search(body))
    return JsonStyle(indent, item_separator, key_separator, ensure_ascii, newline, tail, bom)


def dumps_ipynb(data: Mapping[str, Any], style: JsonStyle = NBFORMAT_STYLE, *, sort_keys: bool = False) -> bytes:
    """Serialise notebook JSON in the given style."""
    text = json.dumps(
        data,
        indent=style.indent,
        separators=(style.item_separator, style.key_separator),
        ensure_ascii=style.ensure_ascii,
        sort_keys=sort_keys,
    )
    text += style.tail
    if style.newline != "\n":
        text = text.replace("\n", style.newline)
    encoded = text.encode("utf-8")
    return BOM + encoded if style.bom else encoded


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


def same_json(a: Any, b: Any) -> bool:
    """``a == b`` as JSON sees it: 1, 1.0 and true differ although Python's ``==`` holds them equal."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    return a == b


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


# --- files that are not regular files -----------------------------------------------------------


class NotRegularFileError(OSError):
    """The path is a FIFO, socket or device: reading it could block forever or never end."""

    def __init__(self, mode: int, path: str | os.PathLike[str]):
        super().__init__(f"not a regular file: {os.fspath(path)}")
        self.mode = mode


def read_regular_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file; ``NotRegularFileError`` for anything else, which is never opened.

    A FIFO named ``*.ipynb`` would make a plain ``open`` wait forever for a writer, and a device
    can be endless. The file is checked before it is opened, and opened without blocking and
    checked again, in case it was swapped between the two.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise (
            IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
            if stat.S_ISDIR(mode)
            else NotRegularFileError(mode, path)
        )
    with open(path, "rb", opener=_open_without_blocking) as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(mode, path)
        return handle.read()


def _open_without_blocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def symlink_loop_error(shown: str) -> NotebookReadError:
    """The error for a path whose symlinks lead back to themselves."""
    return NotebookReadError("symbolic link loop: the link never reaches a file", path=shown, hint="fix or remove the link")


def not_regular_error(mode: int, shown: str) -> NotebookReadError:
    """The error for a path that is not a regular file: which kind of file it is, and that it was not opened."""
    kinds = (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    kind = next((name for test, name in kinds if test(mode)), "not a file")
    return NotebookReadError(f"not a regular file: {kind}", path=shown, hint="nb2prod reads notebook files; pass the notebook itself")
