"""``write_notebook``'s refusals: content that is not a notebook, and a run's executed notebook.

Verify before write (black's rule): new content that would not read back as a valid notebook is
never saved; the caller gets a clear error and the file keeps its bytes. A run's executed notebook
is the run's log (reliability.md scenario 47): it is read like any notebook and never rewritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from nb2prod.atomic import TEMP_SUFFIX
from nb2prod.errors import WriteError
from nb2prod.notebook import read_notebook, write_notebook


def notebook_json() -> dict[str, Any]:
    return {
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "outputs": [], "source": "x = 1"}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def saved(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def no_temporary_files(folder: Path) -> bool:
    return not [name for name in os.listdir(folder) if name.endswith(TEMP_SUFFIX)]


def broken(kind: str) -> dict[str, Any]:
    data = notebook_json()
    cell = data["cells"][0]
    if kind == "tags-not-a-list":
        cell["metadata"]["tags"] = "parameters"
    elif kind == "no-outputs":
        del cell["outputs"]
    elif kind == "bad-cell-type":
        cell["cell_type"] = "python"
    elif kind == "bad-id":
        cell["id"] = "has spaces"
    elif kind == "nbformat-3":
        data["nbformat"] = 3
    elif kind == "not-json":
        cell["metadata"]["seen"] = {1, 2}  # a set: json cannot write it
    return data


@pytest.mark.parametrize("kind", ["tags-not-a-list", "no-outputs", "bad-cell-type", "bad-id", "nbformat-3", "not-json"])
def test_content_that_is_not_a_valid_notebook_is_never_written(kind: str, tmp_path: Path) -> None:
    path = saved(tmp_path / "nb.ipynb", notebook_json())
    before = path.read_bytes()
    with pytest.raises(WriteError) as raised:
        write_notebook(read_notebook(path), broken(kind))
    assert raised.value.path == str(path)
    assert raised.value.message.startswith("not written: the new content is not a valid notebook (")
    assert "unchanged" in (raised.value.hint or "")
    assert path.read_bytes() == before
    assert no_temporary_files(tmp_path)


def test_text_notebook_with_invalid_content_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "nb.py"
    path.write_text("# %%\nx = 1\n", encoding="utf-8")
    notebook = read_notebook(path)
    data = json.loads(json.dumps(notebook.data))
    data["cells"][0]["metadata"]["tags"] = "parameters"
    with pytest.raises(WriteError, match="not a valid notebook"):
        write_notebook(notebook, data)
    assert path.read_text(encoding="utf-8") == "# %%\nx = 1\n"


RUN_ID = "20261206T101500Z-3fa2c1"


def run_output(folder: Path, *, record: bool) -> Path:
    data = notebook_json()
    data["metadata"]["papermill"] = {"input_path": "p.ipynb", "output_path": f"runs/p/{RUN_ID}/output.ipynb", "parameters": {}}
    path = saved(folder / "output.ipynb", data)
    if record:
        (folder / "run.json").write_text(json.dumps({"schema": "nb2prod.run/1", "id": folder.name}), encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["beside-its-record", "in-a-run-id-folder", "moved-out-of-its-run-folder"], ids=lambda where: where)
def test_scenario_47_run_output_is_never_rewritten(where: str, tmp_path: Path) -> None:
    if where == "beside-its-record":
        path = run_output(tmp_path / "my-runs" / "p" / "r1", record=True)
    elif where == "in-a-run-id-folder":
        path = run_output(tmp_path / "runs" / "p" / RUN_ID, record=False)
    else:
        path = run_output(tmp_path / "archive", record=False)
    before = path.read_bytes()
    notebook = read_notebook(path)
    changed = json.loads(json.dumps(notebook.data))
    changed["cells"][0]["execution_count"] = None
    with pytest.raises(WriteError, match="is a run's executed notebook"):
        write_notebook(notebook, changed)
    assert path.read_bytes() == before
    assert write_notebook(notebook, notebook.data) is False, "an unchanged write is not refused: nothing to write"


def test_a_users_output_ipynb_made_with_papermill_is_theirs(tmp_path: Path) -> None:
    """``papermill in.ipynb output.ipynb`` by hand: not a run of nb2prod, so it is written."""
    data = notebook_json()
    data["metadata"]["papermill"] = {"input_path": "in.ipynb", "output_path": "output.ipynb", "parameters": {}}
    path = saved(tmp_path / "output.ipynb", data)
    notebook = read_notebook(path)
    changed = json.loads(json.dumps(notebook.data))
    changed["cells"][0]["execution_count"] = None
    assert write_notebook(notebook, changed) is True
