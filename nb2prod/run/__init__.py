"""``nb2prod run``: one reproducible run of a notebook through papermill, with a run record.

``run_notebook`` reads the notebook (``.ipynb`` or a jupytext text notebook, converted in memory),
types the parameters from its ``parameters`` cell (``nb2prod.params``), checks the kernel and the
folders, and only then creates ``runs/<notebook-stem>/<UTC timestamp>-<6 hex>/``. The parameters
are injected by nb2prod itself — a cell tagged ``injected-parameters`` right after the parameters
cell, exactly where papermill puts it, holding ``params.render`` of the given values — so
papermill's type-guessing translator is never used. papermill executes the parameterised notebook
in a fresh kernel and saves ``output.ipynb`` as it goes; every save passes through a papermill I/O
handler of nb2prod's that writes atomically and masks the run's secrets in it (``nb2prod.secrets``:
the values of secret parameters, by name or by shape, wherever the kernel echoed them), so a
secret never reaches the disk, not even mid-run; ``run.json`` is masked the same way.

``run.json`` (``nb2prod.records``) is written twice: with status ``running`` (and who runs it)
before the kernel starts, and with the outcome when the run ends. Whatever happens — a cell error,
a timeout, the kernel dying, Ctrl-C or SIGTERM — the record is returned with its status: ``ok``,
``failed``, ``timeout``, ``kernel_died`` or ``interrupted``. A run whose process is killed outright
(``kill -9``) keeps ``running`` on disk, which readers show as ``interrupted``
(``records.settled``), and its kernel, with the processes its cells started, ends with it
(``guard``). Bad input (an unknown or ill-typed parameter, a missing kernel or folder, a notebook
or value no run can carry) raises before any kernel starts and before anything is written.

One module per concern, imported in one direction (as papermill splits its own):
``plan`` (parameters, kernel and folder checks, parameter files) <- ``environment`` (git state,
installed packages, input and artifact hashes); ``inject`` (the notebook papermill executes) <-
``output`` (the papermill I/O handler saving ``output.ipynb``); ``opened`` (the files the notebook
opened, logged in an ipykernel kernel by ``open_hook``, a standalone script run before the first
cell, as inputs and artifacts); ``execute`` (kernel, papermill, interrupts, shutdown) uses them all
and launches the kernel under ``guard`` (a standalone script, the kernel's parent process); this
module ties them into ``run_notebook``.

Heavy libraries (papermill, nbformat, jupyter_client, yaml) are imported by the functions that use
them, so importing this package is cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import audit
from .._version import __version__
from ..drift.capture import store_profiles
from ..errors import RunError
from ..record import recorded_metrics
from ..records import DEFAULT_RUNS_DIR, RunRecord, current_runner, write_record
from .environment import _environment, git_state, input_hashes, inputs_and_artifacts, installed_packages
from .execute import _execute, _Outcome
from .inject import ERROR_MARKER_TAG, INJECTED_TAG, injected_source, parameterise
from .kernels import WarmKernels
from .opened import opened_files
from .plan import DEFAULT_KERNEL, QUERY_GIT, _plan, load_parameters_file

__all__ = [
    "DEFAULT_KERNEL",
    "ERROR_MARKER_TAG",
    "INJECTED_TAG",
    "QUERY_GIT",
    "WarmKernels",
    "git_state",
    "injected_source",
    "input_hashes",
    "installed_packages",
    "load_parameters_file",
    "parameterise",
    "run_notebook",
]


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
    environ: Mapping[str, str] | None = None,
    kernels: WarmKernels | None = None,
    save_every_cell: bool = True,
    sweep: str | None = None,
    git: Mapping[str, Any] | str | None = QUERY_GIT,
) -> RunRecord:
    """Run ``notebook`` once in a fresh kernel and return its run record (already written to disk).

    ``strings`` are ``-p name=value`` texts, converted by each parameter's type; ``values`` are
    already typed values (from a YAML/JSON file); ``NB2PROD_PARAM_<NAME>`` variables of ``environ``
    (default: ``os.environ``; ``{}`` to read none) are texts like ``strings``. All are checked
    against the parameters cell; ``strings`` win over the environment, which wins over ``values``.
    The record's ``given`` names the parameters that got a value from any of them. ``timeout`` is
    per cell, in seconds, as papermill's ``execution_timeout``.
    ``kernel`` defaults to the notebook's kernelspec (``python3`` when it names none). ``cwd`` is the
    kernel's working folder (default: the current one); string parameters naming files that exist
    there are hashed into the record's ``inputs``, or its ``artifacts`` when the run creates or
    writes them (a model saved to a path given as a parameter). In an ipykernel kernel, the data
    files the notebook opened by any path (``pd.read_csv("data/train.csv")``) under the working
    folder or the notebook's git repository are recorded the same way (``nb2prod.run.opened``). ``kernels`` (``WarmKernels``) hands
    the run a kernel started ahead, as a sweep does to overlap one run's kernel start with the last
    run's execution; the kernel is fresh all the same. ``sweep`` is the id of the sweep the run belongs
    to, stored in its record. ``git`` is the git state to record when the caller captured it once for
    many runs (a sweep records the state when it started: ``{"commit", "dirty"}``, None outside a
    repository); by default (``QUERY_GIT``) the run asks git itself.

    Raises ``ParameterError`` / ``RunError`` / ``NotebookReadError`` for bad input, before any
    kernel starts and before anything is written. Once the run has started the outcome is the
    record's ``status``; the executed notebook is ``record.output_path``. A run stopped by Ctrl-C or
    SIGTERM returns with status ``interrupted``: a caller running several notebooks should stop then.

    ``save_every_cell=False`` writes ``output.ipynb`` once, when the notebook has run, instead of at
    the start and end of every cell (which lets a run be watched, and a killed run show how far it
    got): for a caller that reads it only afterwards, such as ``pytest --nb2prod``, it saves each
    write's serialising, masking and flushing to disk.
    """
    plan = _plan(notebook, strings=strings, values=values, environ=environ, runs_dir=runs_dir, kernel=kernel, cwd=cwd, git=git)
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    run_dir = _make_run_dir(plan.runs_dir / plan.source.stem, started)
    record = RunRecord(
        id=run_dir.name,
        notebook=plan.shown,
        notebook_sha256=hashlib.sha256(plan.notebook.raw).hexdigest(),
        parameters=plan.parameters,  # write_record redacts them, remembering the values to mask in the final record
        given=list(plan.given),
        status="running",
        started=_timestamp(started),
        git=plan.git,
        environment=_environment(None),
        inputs=plan.files.hashes,
        kernel=plan.kernel,
        nb2prod_version=__version__,
        runner=current_runner(),
        sweep=sweep,
        directory=run_dir,
    )
    write_record(record)  # before the kernel starts: a run killed with -9 still has its record (see records.settled)
    with ThreadPoolExecutor(max_workers=1) as pool:
        packages = pool.submit(installed_packages)  # ~0.1 s of metadata reading, done while the kernel starts
        opened: dict[str, bool] = {}
        try:
            outcome = _execute(plan, run_dir, timeout, kernels, save_every_cell=save_every_cell, opened=opened)
        except Exception as exc:  # a bug before papermill started: the record says failed (not running), the caller sees why
            error = {"cell_index": None, "cell_id": None, "ename": type(exc).__name__, "evalue": str(exc)}
            outcome = _Outcome("failed", error, None, exc)
        inputs, artifacts = inputs_and_artifacts(plan.files)
        found, written = opened_files(
            opened,
            cwd=plan.cwd if plan.cwd is not None else Path.cwd(),
            notebook=plan.source,
            runs_dir=plan.runs_dir,
            known=[plan.files.folder / name for name in plan.files.names],
        )
        inputs.update((path, digest) for path, digest in found.items() if path not in artifacts)
        artifacts.update(written)
        for path in written:
            inputs.pop(path, None)
        record = replace(
            record,
            status=outcome.status,
            finished=_timestamp(datetime.now(timezone.utc)),
            duration_s=round(time.monotonic() - clock, 3),
            error=outcome.error,
            metrics=recorded_metrics(outcome.output) if outcome.output else {},
            environment=_environment(packages),
            inputs=inputs,
            artifacts=artifacts,
            profiles=store_profiles(outcome.output, run_dir, secrets=record.secrets) if outcome.output else {},
            runner=None,
        )
        write_record(record)
    audit.record_run(record, plan.runs_dir)
    if outcome.unexpected is not None:
        raise outcome.unexpected  # a bug or an environment failure: the record says "failed", the caller sees why
    return record


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
