"""Parsing and validating the bytes of a .ipynb file: strict where nbformat is lenient.

nbformat's reader logs schema errors and goes on, and its validator mutates the notebook it
checks. Here every problem that makes a notebook unusable is a ``NotebookReadError`` /
``NotebookFormatError`` naming the file; problems lint exists to report (missing or duplicate cell
ids, execution counts out of order) are not read errors. Pure functions on bytes and JSON values:
:mod:`nb2prod.notebook` does the file I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import NotebookFormatError, NotebookReadError

CELL_TYPES = ("code", "markdown", "raw")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
UPGRADE_HINT = "convert it with `jupyter nbconvert --to notebook --nbformat 4 --inplace {path}`; `nb2prod lint` reads it as it is"


def parse_ipynb_for_reading(raw: bytes, shown: str) -> tuple[dict[str, Any], int | None]:
    """Parse a .ipynb file for a read-only use: an nbformat 1-3 notebook is upgraded to 4 in memory."""
    data = _load_json(raw, shown)
    major = data.get("nbformat") if isinstance(data, dict) else None
    if not (_is_int(major) and 1 <= major < 4):
        validate(data, shown, unknown_cells=True)
        return data, None
    upgraded = _upgrade(decode_text(raw, shown), major, shown)
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
            hint=UPGRADE_HINT.format(path=shown).split(";")[0],
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
    text = decode_text(raw, shown)
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


def decode_text(raw: bytes, shown: str) -> str:
    """The text of a notebook file (UTF-8, a BOM allowed); ``NotebookReadError`` naming ``shown`` if it is not UTF-8."""
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
        fail(f"nbformat {major} notebook; this command needs nbformat 4", UPGRADE_HINT.format(path=shown))
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
