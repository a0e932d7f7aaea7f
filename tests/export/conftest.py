"""Fixtures of the export tests: small notebooks written on the fly, and ``nb2prod export`` run through its command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}

#: ``(cell_type, source, tags)`` per cell.
CellSpec = tuple[str, str, list[str]]


def notebook_json(cells: list[CellSpec]) -> dict[str, Any]:
    """An nbformat 4.5 notebook holding ``cells``."""
    built = []
    for index, (kind, source, tags) in enumerate(cells):
        cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{index}", "metadata": {"tags": tags} if tags else {}, "source": source}
        if kind == "code":
            cell |= {"execution_count": None, "outputs": []}
        built.append(cell)
    return {"cells": built, "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder (with ``.git``, so no pyproject.toml above it counts): nb2prod's defaults apply."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    return tmp_path


@pytest.fixture
def make_notebook(workdir: Path) -> Callable[..., Path]:
    """``make_notebook(name, cells)`` writes a notebook into the working folder (JSON as ``json.dumps`` writes it)."""

    def make(name: str, cells: list[CellSpec]) -> Path:
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notebook_json(cells), indent=1) + "\n", encoding="utf-8")
        return path

    return make


@pytest.fixture
def run_export(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``run_export(*args)`` runs ``nb2prod export ARGS`` in-process: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["export", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
