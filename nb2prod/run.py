"""``nb2prod run``: one reproducible run of a notebook through papermill, with a run record.

``run_notebook`` reads the notebook (``.ipynb`` or a jupytext text notebook, converted in memory),
types the parameters from its ``parameters`` cell (``nb2prod.params``), checks the kernel and the
folders, and only then creates ``runs/<notebook-stem>/<UTC timestamp>-<6 hex>/``. The parameters
are injected by nb2prod itself — a cell tagged ``injected-parameters`` right after the parameters
cell, exactly where papermill puts it, holding ``params.render`` of the given values — so
papermill's type-guessing translator is never used. papermill executes the parameterised notebook
in a fresh kernel and saves ``output.ipynb`` as it goes; every save passes through a papermill I/O
handler of nb2prod's that writes atomically and puts ``***`` in place of secret-looking parameter
values, so a secret never reaches the disk, not even mid-run.

Whatever happens — a cell error, a timeout, the kernel dying, Ctrl-C or SIGTERM — ``run.json`` is
written (``nb2prod.records``) and the record is returned with its status: ``ok``, ``failed``,
``timeout``, ``kernel_died`` or ``interrupted``. Bad input (an unknown or ill-typed parameter, a
missing kernel or folder) raises before any kernel starts and before anything is written.

Heavy libraries (papermill, nbformat, jupyter_client, yaml) are imported by the functions that use
them, so importing this module is cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import io
import json
import os
import platform
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .atomic import atomic_write
from .errors import ParameterError, RunError, WriteError
from .notebook import Notebook, read_notebook
from .params import notebook_parameters, parameters_cell, render, resolve
from .record import recorded_metrics
from .records import DEFAULT_RUNS_DIR, OUTPUT_FILE, RunRecord, is_secret_name, redact, write_record

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager
    from nbformat import NotebookNode

INJECTED_TAG = "injected-parameters"
ERROR_MARKER_TAG = "papermill-error-cell-tag"  # papermill's banner cells; dropped before a run, as papermill does
DEFAULT_KERNEL = "python3"
_OUTPUT_SCHEME = "nb2prod-output://"
_MAX_INPUT_NAME = 4096


# --- the entry point -----------------------------------------------------------------------------


def run_notebook(
    notebook: str | os.PathLike[str],
    *,
    strings: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR,
    timeout: float | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> RunRecord:
    """Run ``notebook`` once in a fresh kernel and return its run record (already written to disk).

    ``strings`` are ``-p name=value`` texts, converted by each parameter's type; ``values`` are
    already typed values (from a YAML/JSON file); both are checked against the parameters cell and
    ``strings`` win. ``timeout`` is per cell, in seconds, as papermill's ``execution_timeout``.
    ``kernel`` defaults to the notebook's kernelspec (``python3`` when it names none). ``cwd`` is the
    kernel's working folder (default: the current one); string parameters naming files that exist
    there are hashed into the record's ``inputs``.

    Raises ``ParameterError`` / ``RunError`` / ``NotebookReadError`` for bad input, before any
    kernel starts and before anything is written. Once the run has started the outcome is the
    record's ``status``; the executed notebook is ``record.output_path``. A run stopped by Ctrl-C or
    SIGTERM returns with status ``interrupted``: a caller running several notebooks should stop then.
    """
    plan = _plan(notebook, strings=strings, values=values, runs_dir=runs_dir, kernel=kernel, cwd=cwd)
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    run_dir = _make_run_dir(plan.runs_dir / plan.source.stem, started)
    with ThreadPoolExecutor(max_workers=1) as pool:
        packages = pool.submit(installed_packages)  # ~0.1 s of metadata reading, done while the kernel starts
        outcome = _execute(plan, run_dir, timeout)
        record = RunRecord(
            id=run_dir.name,
            notebook=plan.shown,
            notebook_sha256=hashlib.sha256(plan.notebook.raw).hexdigest(),
            parameters=plan.parameters,
            status=outcome.status,
            started=_timestamp(started),
            finished=_timestamp(datetime.now(timezone.utc)),
            duration_s=round(time.monotonic() - clock, 3),
            error=outcome.error,
            metrics=recorded_metrics(outcome.output) if outcome.output else {},
            git=plan.git,
            environment=_environment(packages),
            inputs=plan.inputs,
            kernel=plan.kernel,
            nb2prod_version=__version__,
            directory=run_dir,
        )
        write_record(record)
    if outcome.unexpected is not None:
        raise outcome.unexpected  # a bug or an environment failure: the record says "failed", the caller sees why
    return record


# --- before the run: everything that can refuse -------------------------------------------------------


@dataclass
class _Plan:
    """What a run needs, checked: nothing here has touched the disk or started a kernel."""

    source: Path
    shown: str
    notebook: Notebook
    parameters: dict[str, Any]
    given: dict[str, Any]
    kernel: str
    cwd: Path | None
    runs_dir: Path
    git: dict[str, Any] | None
    inputs: dict[str, str]


def _plan(
    notebook: str | os.PathLike[str],
    *,
    strings: Mapping[str, str] | None,
    values: Mapping[str, Any] | None,
    runs_dir: str | os.PathLike[str],
    kernel: str | None,
    cwd: str | os.PathLike[str] | None,
) -> _Plan:
    source = Path(notebook)
    shown = os.fspath(notebook)
    nb = read_notebook(source, display_path=shown)
    parameters = resolve(notebook_parameters(nb), strings=strings, values=values)
    named = [*(values or {}), *(strings or {})]
    given = {name: parameters[name] for name in parameters if name in named}
    kernel_name = _check_kernel(kernel, nb)
    work_dir = None if cwd is None else Path(cwd)
    if work_dir is not None and not work_dir.is_dir():
        raise RunError("the working folder does not exist" if not work_dir.exists() else "is not a folder", path=os.fspath(cwd))
    root = Path(runs_dir)
    if root.exists() and not root.is_dir():
        raise RunError("the runs folder is a file", path=os.fspath(runs_dir), hint="pass --runs-dir with a folder")
    plan = _Plan(
        source=source,
        shown=_record_path(source),
        notebook=nb,
        parameters=parameters,
        given=given,
        kernel=kernel_name,
        cwd=work_dir,
        runs_dir=root,
        git=git_state(source.resolve().parent),
        inputs=input_hashes(parameters, work_dir or Path.cwd()),
    )
    _install_handler()  # imports papermill: a broken installation fails here, before anything is written
    return plan


def _check_kernel(kernel: str | None, notebook: Notebook) -> str:
    """The kernel to use; ``RunError`` listing the installed kernels when it is missing or not Python."""
    from jupyter_client.kernelspec import KernelSpecManager

    name = kernel or (notebook.metadata.get("kernelspec") or {}).get("name") or DEFAULT_KERNEL
    specs = KernelSpecManager().get_all_specs()
    if name not in specs:
        source = "--kernel" if kernel else "the notebook's kernelspec"
        raise RunError(
            f"no kernel named '{name}' ({source}) is installed",
            path=notebook.display_path,
            hint=f"installed kernels: {', '.join(sorted(specs)) or 'none'}; pass --kernel NAME, "
            "or install one with `python -m ipykernel install --user --name NAME`",
        )
    language = str(specs[name].get("spec", {}).get("language", "python")).lower()
    for found in (language, notebook.language):
        if found not in (None, "python"):
            raise RunError(
                f"nb2prod runs Python notebooks; this one uses {found} (kernel '{name}')",
                path=notebook.display_path,
                hint="use papermill directly for other languages",
            )
    return name


def _record_path(path: Path) -> str:
    """The notebook path stored in the record: relative to the current folder when under it."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def git_state(folder: Path) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git repository holding ``folder``; None outside one.

    ``dirty`` means tracked files differ from the commit; untracked files do not count (as for
    setuptools-scm), so the runs folder itself never makes a checkout dirty.
    """
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    lines = result.stdout.splitlines()
    oid = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
    return {"commit": None if oid in (None, "(initial)") else oid, "dirty": any(not line.startswith("#") for line in lines)}


def input_hashes(parameters: Mapping[str, Any], folder: Path) -> dict[str, str]:
    """``sha256:…`` of each file named by a string parameter (or a string in a list/dict) that exists."""
    found: dict[str, str] = {}
    for name, value in parameters.items():
        if is_secret_name(name):
            continue
        for text in _strings(value):
            if text in found or not text.strip() or len(text) > _MAX_INPUT_NAME or "\0" in text or "\n" in text:
                continue
            path = folder / text
            try:
                if path.is_file():
                    found[text] = "sha256:" + _file_sha256(path)
            except OSError:  # unreadable, or not a path this system accepts: not an input we can record
                continue
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(functools.partial(handle.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def installed_packages() -> dict[str, str]:
    """Every installed distribution, name -> version, sorted by name (the first on ``sys.path`` wins)."""
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name and name not in found:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def _environment(packages: Future[dict[str, str]]) -> dict[str, Any]:
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": packages.result()}


def _timestamp(moment: datetime) -> str:
    # Milliseconds order the runs started within one second (their ids share the second).
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _make_run_dir(parent: Path, started: datetime) -> Path:
    """A new folder ``<UTC timestamp>-<6 hex>`` under ``parent`` (never an existing one)."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
        while True:
            candidate = parent / f"{started.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
            with contextlib.suppress(FileExistsError):
                candidate.mkdir()
                return candidate
    except OSError as exc:
        raise RunError(f"cannot create the run folder: {exc.strerror or exc}", path=os.fspath(parent)) from None


# --- the run ------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    """How the execution ended; ``output`` is the executed notebook as last saved."""

    status: str
    error: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    unexpected: Exception | None = field(default=None, repr=False)


def _execute(plan: _Plan, run_dir: Path, timeout: float | None) -> _Outcome:
    """Execute the parameterised notebook with papermill; what happens in the notebook is the outcome, not an exception."""
    import papermill
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    managers: list[AsyncKernelManager] = []

    class TrackedKernelManager(AsyncKernelManager):
        """nbclient's kernel manager, remembered: a run interrupted while its kernel starts must still shut it down."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            managers.append(self)

    parameters = parameters_cell(plan.notebook)
    executable, origin = parameterise(plan.notebook.data, plan.given, after=None if parameters is None else parameters.index)
    redacted = redact(plan.given)
    output_path = run_dir / OUTPUT_FILE
    output = _Output(
        path=output_path.resolve(),
        injected_source=injected_source(redacted) if redacted != plan.given else None,
        papermill={"input_path": plan.shown, "output_path": output_path.as_posix(), "parameters": redacted},
    )
    interrupt = _Interrupt()

    def error(index: int | None, ename: str, evalue: str) -> dict[str, Any]:
        original = origin[index] if index is not None and 0 <= index < len(origin) else None
        cell_id = None if original is None else plan.notebook.data["cells"][original].get("id")
        return {"cell_index": original, "cell_id": cell_id, "ename": ename, "evalue": evalue}

    try:
        with interrupt.on_sigterm(), _registered(output) as url:
            papermill.execute_notebook(
                executable,
                url,
                parameters=None,
                kernel_name=plan.kernel,
                cwd=None if plan.cwd is None else os.fspath(plan.cwd),
                execution_timeout=timeout,
                progress_bar=False,
                log_output=False,
                shutdown_kernel="immediate",  # forwarded to nbclient: no graceful-shutdown stall (~3.5 s, one run in seven)
                kernel_manager_class=TrackedKernelManager,
            )
    except PapermillExecutionError as exc:  # a cell raised, or a magic failed without an error output
        return _Outcome("failed", error(exc.cell_index, exc.ename, exc.evalue), output.data)
    except TimeoutError as exc:  # nbclient's CellTimeoutError, a cell or IOPub timeout
        evalue = f"a cell ran longer than {timeout:g} s" if timeout else str(exc).splitlines()[0]
        running = _running_cell(output.data)
        outcome = _Outcome("timeout", error(running, type(exc).__name__, evalue), output.data)
        if running is not None and output.data is not None:
            original = origin[running] if running < len(origin) else None
            with contextlib.suppress(WriteError):  # the last save stays as it is
                output.save(json.dumps(_timeout_banners(output.data, running, original, evalue)))
                outcome = replace(outcome, output=output.data)
        return outcome
    except DeadKernelError as exc:  # os._exit, a segfault, the OOM killer
        return _Outcome("kernel_died", error(_running_cell(output.data), type(exc).__name__, str(exc)), output.data)
    except KeyboardInterrupt:
        _settle_abandoned_tasks()
        return _Outcome("interrupted", error(_running_cell(output.data), "KeyboardInterrupt", interrupt.reason), output.data)
    except Exception as exc:  # not the notebook's doing: record it, then let the caller see it
        return _Outcome("failed", error(_running_cell(output.data), type(exc).__name__, str(exc)), output.data, exc)
    finally:
        _shut_down(managers)
    return _Outcome("ok", None, output.data)


def _timeout_banners(data: Mapping[str, Any], running: int, original: int | None, evalue: str) -> dict[str, Any]:
    """``data`` with two markdown cells saying where the run timed out: one on top linking to one above the cell.

    papermill marks a cell that raised this way, but not one that timed out (nbclient's timeout
    escapes its check). The cells carry papermill's error-banner tag, so a later run drops them.
    """
    taken = {cell.get("id") for cell in data["cells"]}
    top_id, here_id = _free_id("nb2prod-timeout", taken), _free_id("nb2prod-timed-out-here", taken)
    where = f"cell {original + 1} of the notebook" if original is not None else "the cell below"
    top = f"**This run timed out** in [{where}](#{here_id}): {evalue}. The cells after it did not run."
    here = f'<span id="{here_id}"></span>**The run timed out in the next cell**: {evalue}.'
    cells = [dict(cell) for cell in data["cells"]]
    cells.insert(running, {"cell_type": "markdown", "id": here_id, "metadata": {"tags": [ERROR_MARKER_TAG]}, "source": here})
    cells.insert(0, {"cell_type": "markdown", "id": top_id, "metadata": {"tags": [ERROR_MARKER_TAG]}, "source": top})
    return {**data, "cells": cells}


def _free_id(name: str, taken: set[Any]) -> str:
    """``name``, or ``name-1``, ``name-2``… if a cell already has that id."""
    candidate, number = name, 0
    while candidate in taken:
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def _running_cell(output: Mapping[str, Any] | None) -> int | None:
    """The index of the last cell papermill started (the one running when the run stopped)."""
    cells = (output or {}).get("cells", [])
    started = [index for index, cell in enumerate(cells) if ((cell.get("metadata") or {}).get("papermill") or {}).get("start_time")]
    return started[-1] if started else None


def _settle_abandoned_tasks() -> None:
    """Cancel the tasks an interrupt left pending in this thread's event loop (nbclient's cell polling).

    nbclient's kernel is already shut down by then; collecting how its tasks ended keeps asyncio from
    printing "Task exception was never retrieved" with a DeadKernelError traceback at exit.
    """
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.wait(tasks, timeout=5))
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()


def _shut_down(managers: list[AsyncKernelManager]) -> None:
    """Kill the kernels nbclient did not get to shut down (it does so itself once a kernel has fully started)."""
    from jupyter_core.utils import ensure_event_loop

    for manager in managers:
        if manager.has_kernel:
            ensure_event_loop().run_until_complete(manager.shutdown_kernel(now=True))


class _Interrupt:
    """SIGTERM raises KeyboardInterrupt during a run, so it ends like Ctrl-C: kernel shut down, record written."""

    def __init__(self) -> None:
        self.reason = "SIGINT"

    @contextlib.contextmanager
    def on_sigterm(self) -> Iterator[None]:
        """Install the SIGTERM handler for the block (signal handlers live in the main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            self.reason = "SIGTERM"
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


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


# --- saving output.ipynb: a papermill I/O handler -----------------------------------------------------


@dataclass
class _Output:
    """One run's ``output.ipynb``: where it goes and what every save puts in place of what papermill wrote."""

    path: Path
    injected_source: str | None  # the redacted injected cell, when a secret was given
    papermill: dict[str, Any]  # metadata.papermill fields: paths as in the record (not the in-memory notebook), redacted parameters
    data: dict[str, Any] | None = None  # the notebook as last saved

    def save(self, text: str) -> None:
        """Redact and write one save of papermill's, atomically."""
        data = json.loads(text)
        data.setdefault("metadata", {}).setdefault("papermill", {}).update(self.papermill)
        if self.injected_source is not None:
            for cell in data.get("cells", ()):
                if INJECTED_TAG in _tags(cell):
                    cell["source"] = self.injected_source.splitlines(keepends=True)  # as nbformat writes sources
        atomic_write(self.path, (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
        self.data = data


_OUTPUTS: dict[str, _Output] = {}


class _OutputHandler:
    """papermill's I/O handler interface for ``nb2prod-output://`` paths: write-only."""

    def read(self, path: str) -> str:
        """Not supported: nb2prod hands papermill the notebook in memory."""
        raise io.UnsupportedOperation(f"nb2prod's output handler is write-only: cannot read {path}")

    def listdir(self, path: str) -> list[str]:
        """Not supported."""
        raise io.UnsupportedOperation(f"nb2prod's output handler is write-only: cannot list {path}")

    def write(self, buf: str, path: str) -> None:
        """Save the executed notebook of the run registered under ``path``."""
        _OUTPUTS[path].save(buf)

    def pretty_path(self, path: str) -> str:
        """The file behind ``path``."""
        return path.removeprefix(_OUTPUT_SCHEME)


@functools.cache
def _install_handler() -> None:
    from papermill.iorw import papermill_io

    papermill_io.register(_OUTPUT_SCHEME, _OutputHandler())


@contextlib.contextmanager
def _registered(output: _Output) -> Iterator[str]:
    """The papermill output path that saves into ``output`` for the duration of the block."""
    key = _OUTPUT_SCHEME + os.fspath(output.path)
    _OUTPUTS[key] = output
    try:
        # papermill formats output paths with str.format: doubled braces keep a folder named {x} itself
        yield key.replace("{", "{{").replace("}", "}}")
    finally:
        del _OUTPUTS[key]


# --- parameter files ----------------------------------------------------------------------------------


def load_parameters_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parameter values from a YAML (``.yaml``/``.yml``) or JSON file holding one mapping.

    YAML is read with a safe loader that keeps dates as strings (as papermill does); a value is
    then checked against its parameter's type by ``run_notebook``.
    """
    shown = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParameterError("no such parameters file", path=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read the parameters file: {getattr(exc, 'strerror', None) or exc}", path=shown) from None
    if shown.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", path=shown) from None
    else:
        data = _load_yaml(text, shown)
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        hint = "write one `name: value` per line"
        raise ParameterError("a parameters file holds a mapping of parameter names to values", path=shown, hint=hint)
    return data


def _load_yaml(text: str, shown: str) -> Any:
    import yaml

    class NoDatesLoader(yaml.SafeLoader):
        """SafeLoader without the timestamp resolver: ``2024-01-31`` stays a string."""

    NoDatesLoader.yaml_implicit_resolvers = {
        key: [resolver for resolver in resolvers if resolver[0] != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    try:
        return yaml.load(text, Loader=NoDatesLoader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as exc:
        raise ParameterError(f"not valid YAML: {exc}".replace("\n", " "), path=shown) from None
