"""Fixtures shared across test areas."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``PRE_COMMIT_HOME`` for the session: the tests that install this checkout as a hook repository
    (same repository, same commit) build its hook environment once instead of once each (about a minute)."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _write_code_notebook(path: Path, *cells: tuple[str, list[str]]) -> Path:
    """Write a Python 3 notebook of code cells, each given as (source, tags), never run; return its path."""
    notebook = {
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "metadata": {"tags": tags}, "source": source, "execution_count": None, "outputs": []}
            for i, (source, tags) in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def write_code_notebook() -> Callable[..., Path]:
    """``write_code_notebook(path, (source, tags), ...)``: a small notebook of code cells for a test to use."""
    return _write_code_notebook
