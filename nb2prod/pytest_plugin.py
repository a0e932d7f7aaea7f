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

Kernel start-up is most of a small notebook's time, so the next notebook's kernel is started while
the current notebook runs (``nb2prod.run.WarmKernels``, as a sweep's worker does; pytest tells each
item which item follows it, under ``-n`` too). Every notebook still gets a fresh kernel that has
executed nothing, and a kernel started ahead for a notebook that will not run (``-x``, Ctrl-C, the
end of the session) is shut down when the session finishes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .run.kernels import WarmKernels

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

#: What a kernel is started for: the kernel's name and its working folder (a kernel serves only a run with both).
Target = tuple[str, Path]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--nb2prod``."""
    group = parser.getgroup("nb2prod")
    group.addoption(
        "--nb2prod",
        action="store_true",
        default=False,
        help="run .ipynb files as tests in fresh kernels, with [tool.nb2prod.tests] parameters and metric bounds",
    )


def pytest_configure(config: pytest.Config) -> None:
    """With ``--nb2prod``, the session's kernels started ahead (none is started yet)."""
    if config.getoption("nb2prod"):
        config.stash[_KERNELS] = _KernelsAhead()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Shut down the kernels started ahead for notebooks that did not run (``-x``, Ctrl-C, deselected by a failure)."""
    kernels = session.config.stash.get(_KERNELS, None)
    if kernels is not None:
        kernels.close()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Tell a notebook item which item runs after it, so that its run can start that notebook's kernel ahead."""
    if isinstance(item, NotebookItem):
        item.following = nextitem if isinstance(nextitem, NotebookItem) else None


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

    #: The notebook item pytest runs next (set just before this one runs), whose kernel this run starts ahead.
    following: NotebookItem | None = None

    def runtest(self) -> None:
        """Run it (imports the run machinery only now)."""
        import tempfile

        from .config import config_for
        from .params import notebook_parameters
        from .run import run_notebook
        from .runs import check_run

        settings = config_for([self.path]).tests
        target = self.kernel_target()
        assert self._read is not None
        notebook, self._read = self._read[0], None  # not kept past the run (a notebook may be large)
        if isinstance(notebook, Exception):
            raise notebook
        declared = {parameter.name for parameter in notebook_parameters(notebook)}
        values = {name: value for name, value in settings.parameters.items() if name in declared}  # each notebook takes its own
        following = self.following.kernel_target() if self.following is not None else None
        kernels = self.config.stash[_KERNELS].for_run(target, following)
        runs = Path(tempfile.mkdtemp(prefix="nb2prod-pytest-"))
        record = run_notebook(
            self.path,
            values=values,
            runs_dir=runs,
            timeout=settings.timeout,
            cwd=self.path.parent,
            environ={},
            kernels=kernels,
            save_every_cell=False,  # output.ipynb is read only when the notebook has failed, after the run
        )
        if record.status == "interrupted":  # Ctrl-C (or SIGTERM) during the run: stop the session, as for any test
            raise KeyboardInterrupt
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

    def kernel_target(self) -> Target | None:
        """The kernel this notebook's run needs: its kernelspec's (as ``nb2prod run`` picks it) in the notebook's folder.

        None when the notebook cannot be read (its run says why). The notebook read here is kept for the run.
        """
        if self._read is None:
            from .errors import Nb2prodError
            from .notebook import read_notebook
            from .run import DEFAULT_KERNEL

            try:
                notebook = read_notebook(self.path)
            except Nb2prodError as error:
                self._read = (error, None)
            else:
                name = (notebook.metadata.get("kernelspec") or {}).get("name") or DEFAULT_KERNEL
                self._read = (notebook, (name, self.path.parent.resolve()))
        return self._read[1]

    _read: tuple[Any, Target | None] | None = None  # (the notebook or the error reading it, its kernel target)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The failure text alone for a notebook failure (no plugin traceback)."""
        if isinstance(excinfo.value, NotebookFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where pytest says the test is: the notebook."""
        return self.path, None, f"notebook {self.path.name}"


class _KernelsAhead:
    """The session's kernels started ahead: at most one per target, for the notebook that runs next.

    Built on ``nb2prod.run.WarmKernels`` (which the sweep's workers use): a run takes the kernel
    waiting for its target and, when the next notebook has the same target, ``take`` starts that
    one's kernel at once; for another target it is started here, just before the run.
    """

    def __init__(self) -> None:
        self._warm: dict[Target, WarmKernels] = {}

    def for_run(self, target: Target | None, following: Target | None) -> WarmKernels | None:
        """The kernels for a run of ``target``, with the kernel of the ``following`` run (if any) started or to be started."""
        for key in [key for key in self._warm if key not in (target, following)]:
            self._warm.pop(key).close()
        if following is not None and following != target and following not in self._warm:
            ahead = _warm_kernels(following)
            try:
                ahead.start()
            except Exception:  # that run starts its own kernel then, and says why if it cannot
                ahead.close()
            else:
                self._warm[following] = ahead
        if target is None:
            return None
        warm = self._warm.get(target) or self._warm.setdefault(target, _warm_kernels(target))
        warm.keep_one = following == target  # take() starts the next one (no kernel for a run that will not come)
        return warm

    def close(self) -> None:
        """Shut down every kernel still waiting."""
        while self._warm:
            self._warm.popitem()[1].close()


_KERNELS = pytest.StashKey[_KernelsAhead]()


def _warm_kernels(target: Target) -> WarmKernels:
    """``WarmKernels`` for ``target`` (kernel name, working folder)."""
    from .run import WarmKernels

    return WarmKernels(*target)


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
