"""Helpers shared by the lint tests: build a notebook from short cell specs, lint it in memory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nb2prod.lint.context import LintContext
from nb2prod.notebook import read_notebook

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
CellSpec = str | tuple[str, str] | dict[str, Any]


def cell_from_spec(index: int, spec: CellSpec) -> dict[str, Any]:
    """``"code"`` -> a code cell; ``("markdown", text)`` / ``("raw", text)``; a dict is merged over a code cell."""
    if isinstance(spec, tuple):
        kind, text = spec
        return {"cell_type": kind, "id": f"cell-{index}", "metadata": {}, "source": text}
    base: dict[str, Any] = {"cell_type": "code", "execution_count": None, "id": f"cell-{index}", "metadata": {}, "outputs": []}
    base["source"] = ""
    if isinstance(spec, str):
        base["source"] = spec
        return base
    base.update(spec)
    return base


def notebook_json(cells: list[CellSpec], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid nbformat 4.5 notebook with a Python kernelspec unless ``metadata`` says otherwise."""
    meta = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}} if metadata is None else metadata
    return {"cells": [cell_from_spec(i, spec) for i, spec in enumerate(cells)], "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def make_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Write a notebook built from cell specs into ``tmp_path`` and return its path."""

    def make(cells: list[CellSpec], name: str = "analysis.ipynb", metadata: dict[str, Any] | None = None) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notebook_json(cells, metadata), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    return make


@pytest.fixture
def context_for(make_notebook: Callable[..., Path]) -> Callable[..., LintContext]:
    """A ``LintContext`` over a notebook built from cell specs."""

    def build(cells: list[CellSpec], name: str = "analysis.ipynb", metadata: dict[str, Any] | None = None) -> LintContext:
        return LintContext(read_notebook(make_notebook(cells, name, metadata)))

    return build
