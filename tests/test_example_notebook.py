"""The example notebook ``notebooks/train.ipynb`` runs, reproduces and keeps a plain parameters cell.

The slow tests execute the notebook in a real ipykernel kernel through papermill, the way
``nb2prod run`` will. papermill is imported inside the tests so that collection stays fast.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "train.ipynb"
METRIC_LINE = re.compile(r"^(accuracy|f1): ([0-9.]+)$", re.MULTILINE)


def _execute(tmp_path: Path, name: str, parameters: dict | None = None) -> dict:
    """Execute a copy of the example notebook in a fresh kernel; return the executed notebook."""
    import papermill

    source = tmp_path / "train.ipynb"
    if not source.exists():
        shutil.copyfile(NOTEBOOK, source)
    output = tmp_path / f"{name}.ipynb"
    papermill.execute_notebook(
        str(source),
        str(output),
        parameters=parameters or {},
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
        execution_timeout=120,
    )
    return json.loads(output.read_text(encoding="utf-8"))


def _metrics(executed: dict) -> dict[str, float]:
    """The ``accuracy: x`` / ``f1: x`` lines printed by the notebook's last code cell."""
    code_cells = [cell for cell in executed["cells"] if cell["cell_type"] == "code"]
    text = "".join("".join(output.get("text", "")) for output in code_cells[-1]["outputs"] if output["output_type"] == "stream")
    metrics = {name: float(value) for name, value in METRIC_LINE.findall(text)}
    assert set(metrics) == {"accuracy", "f1"}, f"metrics not printed by the last cell: {text!r}"
    return metrics


def _errors(executed: dict) -> list[dict]:
    return [output for cell in executed["cells"] for output in cell.get("outputs", []) if output["output_type"] == "error"]


@pytest.mark.slow
def test_example_runs_in_fresh_kernel(tmp_path):
    executed = _execute(tmp_path, "output")

    assert _errors(executed) == []
    metrics = _metrics(executed)
    assert isinstance(metrics["accuracy"], float)
    assert 0.8 <= metrics["accuracy"] <= 1.0
    assert 0.8 <= metrics["f1"] <= 1.0


@pytest.mark.slow
def test_example_is_deterministic(tmp_path):
    first = _metrics(_execute(tmp_path, "first"))
    second = _metrics(_execute(tmp_path, "second"))

    assert first == second


def test_example_parameters_cell_is_plain_literals():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    tagged = [cell for cell in notebook["cells"] if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    cell = tagged[0]
    assert cell["cell_type"] == "code"
    source = "".join(cell["source"])

    tree = ast.parse(source)
    assert tree.body, "the parameters cell is empty"
    values = {}
    for statement in tree.body:
        assert isinstance(statement, ast.Assign), ast.dump(statement)
        assert len(statement.targets) == 1
        assert isinstance(statement.targets[0], ast.Name), ast.dump(statement)
        name = statement.targets[0].id
        assert name not in values, f"parameter {name!r} is assigned twice"
        values[name] = ast.literal_eval(statement.value)  # raises unless a plain literal
    types = {type(value) for value in values.values()}
    assert {int, float, str} <= types, f"want at least one int, float and str: {values}"

    for line in source.splitlines():
        if line.strip():
            code, sep, comment = line.partition("  #")
            assert sep and comment.strip(), f"parameter line without a trailing comment: {line!r}"
            assert code.strip(), f"comment-only line in the parameters cell: {line!r}"


@pytest.mark.slow
def test_example_overridden_parameter_changes_result(tmp_path):
    executed = _execute(tmp_path, "small", parameters={"n_estimators": 5, "max_depth": 1})

    assert _errors(executed) == []
    injected = [cell for cell in executed["cells"] if "injected-parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(injected) == 1
    assert "n_estimators = 5" in "".join(injected[0]["source"])
    metrics = _metrics(executed)
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert 0.0 <= metrics["f1"] <= 1.0
    # the committed notebook carries the outputs of a run with the defaults
    defaults = _metrics(json.loads(NOTEBOOK.read_text(encoding="utf-8")))
    assert metrics != defaults, "overriding the parameters did not change the metrics"


def test_example_lints_clean_as_readme_first_command_needs(capsys: pytest.CaptureFixture[str]) -> None:
    """README's first command runs `nb2prod lint notebooks/` and stops on any finding: the example must have none."""
    from nb2prod.cli import main

    assert main(["lint", str(NOTEBOOK.parent)]) == 0, capsys.readouterr().out
