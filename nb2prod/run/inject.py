"""The notebook papermill executes: a clean copy of the source with the given parameters injected.

nb2prod injects the parameters itself — a cell tagged ``injected-parameters`` right after the
parameters cell, exactly where papermill puts it, holding ``params.render`` of the given values —
so papermill's type-guessing translator is never used.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..params import render

if TYPE_CHECKING:
    from nbformat import NotebookNode

INJECTED_TAG = "injected-parameters"
ERROR_MARKER_TAG = "papermill-error-cell-tag"  # papermill's banner cells; dropped before a run, as papermill does


def parameterise(data: Mapping[str, Any], given: Mapping[str, Any], *, after: int | None) -> tuple[NotebookNode, list[int | None]]:
    """The notebook papermill executes, and for each of its cells the index of the cell it came from.

    A copy of ``data`` without outputs and without papermill's error banners, upgraded to nbformat
    4.5 (cell ids) like papermill does; when values are ``given``, a code cell tagged
    ``injected-parameters`` holding them goes right after cell ``after`` (the parameters cell; the
    top when None) or replaces an ``injected-parameters`` cell left by an earlier run. The injected
    cell's origin is None.
    """
    import nbformat

    kept = [(index, cell) for index, cell in enumerate(data["cells"]) if ERROR_MARKER_TAG not in _tags(cell)]
    origin: list[int | None] = [index for index, _ in kept]
    cells = [{**cell, "outputs": [], "execution_count": None} if cell["cell_type"] == "code" else cell for _, cell in kept]
    metadata = {key: value for key, value in (data.get("metadata") or {}).items() if key != "papermill"}
    node = nbformat.from_dict({**data, "metadata": metadata, "cells": cells})
    nbformat.v4.upgrade(node)
    for cell in node.cells:
        cell.setdefault("id", uuid.uuid4().hex[:8])  # nbformat 4.5 without ids: what nbformat would add, without its warning
    if given:
        injected = nbformat.v4.new_code_cell(source=injected_source(given))
        injected.metadata["tags"] = [INJECTED_TAG]
        previous = next((index for index, cell in enumerate(node.cells) if INJECTED_TAG in _tags(cell)), None)
        if previous is not None:
            node.cells[previous] = injected
            origin[previous] = None
        else:
            position = 0 if after is None or after not in origin else origin.index(after) + 1
            node.cells.insert(position, injected)
            origin.insert(position, None)
    return node, origin


def injected_source(values: Mapping[str, Any]) -> str:
    """The source of the ``injected-parameters`` cell, as papermill writes it."""
    return "# Parameters\n" + render(values)


def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list((cell.get("metadata") or {}).get("tags") or ())
