"""``pytest --nb2prod``: notebooks as pytest tests, run in a fresh kernel and judged by their metrics.

Registered through the ``pytest11`` entry point, so it is loaded in every pytest session of every
environment that has nb2prod: at load time it only adds the option (no papermill, no nbformat, no
kernel machinery is imported); without ``--nb2prod`` it collects nothing.

With ``--nb2prod`` each ``.ipynb`` file pytest collects (``pytest --nb2prod notebooks/``) is one
test item, run by ``nb2prod.run_notebook`` in a fresh kernel with the parameters of
``[tool.nb2prod.tests] parameters`` (e.g. a small ``n_estimators`` for CI). It fails when a cell
raises (the failure shows the cell and its traceback) or when a metric recorded with
``nb2prod.record`` misses a bound of ``[tool.nb2prod.tests] metrics`` (``runs check``'s grammar:
``"accuracy >= 0.9"``). Outputs are never compared byte for byte. Items are files, so ``-k`` selects
notebooks by name and ``-n`` (pytest-xdist) spreads them over workers. Run records go to a
temporary folder of the session.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--nb2prod``."""
    group = parser.getgroup("nb2prod")
    group.addoption(
        "--nb2prod",
        action="store_true",
        default=False,
        help="run .ipynb files as tests in fresh kernels, with [tool.nb2prod.tests] parameters and metric bounds",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A notebook file becomes a :class:`NotebookFile` when ``--nb2prod`` is given."""
    if file_path.suffix == ".ipynb" and parent.config.getoption("nb2prod") and ".ipynb_checkpoints" not in file_path.parts:
        return NotebookFile.from_parent(parent, path=file_path)
    return None


class NotebookFailure(Exception):
    """A notebook run that failed: a cell error or a metric outside its bound; the text is what pytest shows."""


class NotebookFile(pytest.File):
    """One notebook: a single item that runs it."""

    def collect(self) -> Any:
        """The notebook's one test item."""
        yield NotebookItem.from_parent(self, name=self.path.stem)


class NotebookItem(pytest.Item):
    """Run the notebook in a fresh kernel; check its metrics against ``[tool.nb2prod.tests] metrics``."""

    def runtest(self) -> None:
        """Run it (imports the run machinery only now)."""
        import tempfile

        from .config import config_for
        from .notebook import read_notebook
        from .params import notebook_parameters
        from .run import run_notebook
        from .runs import check_run

        settings = config_for([self.path]).tests
        declared = {parameter.name for parameter in notebook_parameters(read_notebook(self.path))}
        values = {name: value for name, value in settings.parameters.items() if name in declared}  # each notebook takes its own
        runs = Path(tempfile.mkdtemp(prefix="nb2prod-pytest-"))
        record = run_notebook(self.path, values=values, runs_dir=runs, timeout=settings.timeout, cwd=self.path.parent, environ={})
        if record.status != "ok":
            raise NotebookFailure(_cell_error(record))
        lines = [
            f"metric gate failed: {result.check}: {result.reason}"
            for result in check_run(record, list(settings.metrics))
            if not result.passed
        ]
        if settings.reference_runs is not None:
            lines += _reference_differences(self.path, record.metrics, settings)
        if lines:
            raise NotebookFailure("\n".join(lines) + f"\nrecorded metrics: {record.metrics}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The failure text alone for a notebook failure (no plugin traceback)."""
        if isinstance(excinfo.value, NotebookFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where pytest says the test is: the notebook."""
        return self.path, None, f"notebook {self.path.name}"


def _reference_differences(path: Path, metrics: dict[str, Any], settings: Any) -> list[str]:
    """The metrics that differ from the notebook's newest ok run in ``reference-runs`` (none there: nothing to compare)."""
    from .records import RunRecord
    from .runs import is_number, list_runs
    from .verify import values_match

    if not settings.reference_runs.is_dir():
        return []
    runs = [entry for entry in list_runs(settings.reference_runs, notebook=path.stem, status="ok") if isinstance(entry, RunRecord)]
    if not runs:
        return []
    reference = runs[0]
    lines = []
    for name, recorded in reference.metrics.items():
        if not is_number(recorded):
            continue
        now = metrics.get(name)
        if now is None or not values_match(recorded, now, rtol=settings.rtol, atol=settings.atol):
            tolerance = f"rtol={settings.rtol}, atol={settings.atol}"
            lines.append(f"metric {name} = {now!r}, but the reference run {reference.id} recorded {recorded!r} ({tolerance})")
    return lines


def _cell_error(record: Any) -> str:
    """The failing cell, as ``cell N`` with its source and the kernel's traceback (colour codes removed)."""
    import json

    error = record.error or {}
    index = error.get("cell_index")
    head = f"{record.notebook}: the run's status is {record.status}: {error.get('ename', '')}: {error.get('evalue', '')}".rstrip(": ")
    output = record.output_path
    if index is None or output is None or not Path(output).is_file():
        return head
    cells = json.loads(Path(output).read_text(encoding="utf-8")).get("cells", [])
    # the executed notebook may hold an injected-parameters cell more: find the failing cell by its id
    cell = next((cell for cell in cells if error.get("cell_id") and cell.get("id") == error["cell_id"]), None)
    if cell is None:
        return head
    source = "".join(cell.get("source", ""))
    traceback = []
    for item in cell.get("outputs", []):
        if item.get("output_type") == "error":
            traceback = [_ANSI.sub("", line) for line in item.get("traceback", [])]
    body = "\n".join(f"    {line}" for line in source.splitlines())
    return f"{head}\n\ncell {index + 1}:\n{body}\n\n" + "\n".join(traceback)
