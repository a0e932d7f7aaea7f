"""``nb2prod sweep``: many runs of one notebook over parameter sets, on a local pool or a Dask cluster.

``sweep`` plans the sets (``plan``: grid, fixed values, a list of sets, all typed and checked before
any kernel starts), writes the sweep record (``record``: ``RUNS_DIR/.sweeps/<id>/sweep.json``), and
hands one job per set to an executor (``executor``: the interface and the entry point lookup;
``local``: worker processes on this machine; ``dask``: a ``dask.distributed`` cluster). Each run
is an ordinary run (its own folder and ``run.json``, which names the sweep). A failing run does not
stop the others. ``resume`` runs only the sets without a successful run. Ctrl-C or SIGTERM stop
the sweep cleanly: running kernels shut down, finished runs kept, the sweep marked ``interrupted``.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ParameterError, UsageError
from ..records import DEFAULT_RUNS_DIR, REDACTED, RunRecord, is_secret_name, redact
from ..runs import sweep_runs
from .executor import Executor, Job, load_executor
from .plan import describe, load_sets_file, parse_grid, plan_sets
from .record import SweepRecord, SweepSet, find_sweep, new_sweep, new_sweep_id, read_sweep, secrets_to_give, timestamp, write_sweep

__all__ = [
    "Executor",
    "Job",
    "SweepEvent",
    "SweepRecord",
    "SweepResult",
    "SweepSet",
    "describe",
    "find_sweep",
    "load_executor",
    "load_sets_file",
    "parse_grid",
    "read_sweep",
    "sweep",
]


@dataclass(frozen=True)
class SweepEvent:
    """Progress: a run of set ``index`` ``started`` or ``finished`` (with its record)."""

    kind: str
    index: int
    record: RunRecord | None = None


@dataclass
class SweepResult:
    """A sweep that has ended: its record, and the latest run of each set (None for a set that never ran)."""

    record: SweepRecord
    runs: list[RunRecord | None] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        """Whether the sweep was stopped (Ctrl-C, SIGTERM)."""
        return self.record.status == "interrupted"

    @property
    def failed(self) -> bool:
        """Whether some set has no successful run."""
        return any(not entry.done for entry in self.record.sets)


def sweep(
    notebook: str | os.PathLike[str] | None = None,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    grid_strings: Mapping[str, Sequence[str]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    strings: Mapping[str, str] | None = None,
    parameter_sets: Sequence[Mapping[str, Any]] | None = None,
    sets_source: str | None = None,
    runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    inputs: Sequence[str] = (),
    resume: str | None = None,
    progress: Callable[[SweepEvent], None] | None = None,
    on_plan: Callable[[SweepRecord], None] | None = None,
) -> SweepResult:
    """Run ``notebook`` once per parameter set; return the sweep's record and runs.

    Sets: the cartesian product of ``grid`` (typed values) and ``grid_strings`` (``-g`` texts,
    converted by each parameter's type), crossed with ``parameter_sets`` (a list of typed sets,
    e.g. from ``load_sets_file``); ``parameters`` (typed) and ``strings`` (``-p`` texts) go into
    every set. Every set is checked before anything runs: a bad value raises ``ParameterError``
    and nothing is written. ``executor`` names an ``nb2prod.executors`` entry point (``local``,
    ``dask``); ``workers`` is how many runs at once, ``scheduler`` the Dask scheduler's address
    (none: a ``LocalCluster``). ``inputs`` are files or folders (relative to ``cwd``) the notebook
    reads besides those its parameters name: they travel with each run to a Dask worker.

    ``resume`` (a sweep id, prefix, path or ``latest``) runs again only the sets of that sweep
    without a successful run, with its options (``strings`` give again secret-looking values,
    stored as ``***``). ``progress`` is called as runs start and finish, ``on_plan`` once the
    sweep record exists (before the first run). A stopped sweep (Ctrl-C, SIGTERM) returns with
    status ``interrupted``.
    """
    if resume is not None:
        record, sets = _resumed(resume, runs_dir, strings=strings, executor=executor, workers=workers, scheduler=scheduler)
        options = record.options
        notebook, timeout, kernel, cwd, inputs = (
            record.notebook,
            options.get("timeout"),
            options.get("kernel"),
            options.get("cwd"),
            options.get("inputs") or (),
        )
    else:
        if notebook is None:
            raise UsageError("a sweep needs a notebook (or --resume SWEEP)")
        planned = plan_sets(
            notebook,
            grid=grid,
            grid_strings=grid_strings,
            parameters=parameters,
            strings=strings,
            parameter_sets=parameter_sets,
            sets_source=sets_source,
        )
        sets = list(planned.sets)
        record = None
    chosen = load_executor(executor, workers=workers, scheduler=scheduler)
    # The workers start (their imports take a while) while the sets are checked; no kernel starts before a job comes.
    chosen.prepare(sum(1 for entry in record.sets if not entry.done) if record is not None else len(sets))
    try:
        return _run_sweep(
            chosen,
            record,
            sets,
            notebook,
            swept=[] if record is not None else planned.swept,
            runs_dir=runs_dir,
            timeout=timeout,
            kernel=kernel,
            cwd=cwd,
            inputs=inputs,
            progress=progress,
            on_plan=on_plan,
        )
    finally:
        chosen.close()


def _run_sweep(
    chosen: Executor,
    record: SweepRecord | None,
    sets: list[dict[str, Any]],
    notebook: Any,
    *,
    swept: Sequence[str],
    runs_dir: Any,
    timeout: float | None,
    kernel: str | None,
    cwd: Any,
    inputs: Sequence[str],
    progress: Callable[[SweepEvent], None] | None,
    on_plan: Callable[[SweepRecord], None] | None,
) -> SweepResult:
    """Check the runs, write the sweep record and run the jobs on ``chosen``; see ``sweep``."""
    kernel_name, git = _check_runs(notebook, sets, runs_dir=runs_dir, kernel=kernel, cwd=cwd, inputs=inputs)
    if record is None:
        options = {"timeout": timeout, "kernel": kernel, "cwd": None if cwd is None else os.fspath(cwd), "inputs": list(inputs)}
        record = new_sweep(
            new_sweep_id(), os.fspath(notebook), sets, runs_dir=runs_dir, executor=chosen.describe(), options=options, swept=swept
        )
    else:
        record.executor = chosen.describe()
    write_sweep(record)
    if on_plan is not None:
        on_plan(record)
    jobs = [
        Job(
            index=index,
            notebook=os.fspath(notebook),
            values=sets[index],
            runs_dir=os.fspath(runs_dir),
            sweep=record.id,
            kernel=kernel_name,
            timeout=timeout,
            cwd=None if cwd is None else os.fspath(cwd),
            inputs=tuple(inputs),
            git=git,
        )
        for index, entry in enumerate(record.sets)
        if not entry.done
    ]
    latest: dict[int, RunRecord] = {}
    lock = threading.Lock()

    def started(index: int) -> None:
        if progress is not None:
            progress(SweepEvent("started", index))

    def finished(index: int, run: RunRecord) -> None:
        with lock:
            entry = record.sets[index]
            entry.runs.append(run.id)
            entry.status = "ok" if entry.done or run.status == "ok" else run.status
            latest[index] = run
            write_sweep(record)
        if progress is not None:
            progress(SweepEvent("finished", index, run))

    from ..run.execute import sigterm_interrupts

    try:
        with sigterm_interrupts():
            chosen.run(jobs, started, finished)
    except KeyboardInterrupt:
        record.status = "interrupted"
    else:
        record.status = "ok" if all(entry.done for entry in record.sets) else "failed"
    record.finished = timestamp()
    record.runner = None
    write_sweep(record)
    return SweepResult(record, _latest_runs(record, runs_dir, latest))


def _check_runs(
    notebook: str | os.PathLike[str],
    sets: Sequence[Mapping[str, Any]],
    *,
    runs_dir: Any,
    kernel: str | None,
    cwd: Any,
    inputs: Sequence[str],
) -> tuple[str, dict[str, Any] | None]:
    """What ``nb2prod run`` checks before a run, for every set (the kernel and folders once).

    Returns the kernel's name and the notebook's git state, captured once for the sweep: every
    run records it (the state when the sweep started), so a sweep asks git once, not once per run.
    """
    from ..run.plan import _check_values, _plan

    for number, values in enumerate(sets, start=1):
        try:
            _check_values(values, None)
        except ParameterError as error:
            raise ParameterError(f"set {number} ({describe(values)}): {error.message}", path=os.fspath(notebook), hint=error.hint) from None
    first = sets[0] if sets else {}
    plan = _plan(
        notebook, strings=None, values=first, environ=set_environ(first), runs_dir=runs_dir, kernel=kernel, cwd=cwd, papermill=False
    )
    base = Path(cwd) if cwd is not None else Path.cwd()
    for name in inputs:
        if not (base / name).exists():
            raise UsageError(
                f"the input '{name}' does not exist" + (f" in {os.fspath(cwd)}" if cwd is not None else ""),
                hint="--input names files relative to --cwd",
            )
    return plan.kernel, plan.git


def set_environ(values: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a set's run reads ``NB2PROD_PARAM_<NAME>`` from: without the names the set gives (the set's values win)."""
    from ..params import env_variable

    given = {env_variable(name) for name in values}
    return {key: value for key, value in (os.environ if environ is None else environ).items() if key not in given}


def _resumed(
    reference: str, runs_dir: Any, *, strings: Mapping[str, str] | None, executor: str, workers: int | None, scheduler: str | None
) -> tuple[SweepRecord, list[dict[str, Any]]]:
    """The sweep to resume, its sets' statuses taken from their run records, and the values to run each set with."""
    record = find_sweep(reference, runs_dir)
    if record.status == "running":
        raise UsageError(f"the sweep {record.id} is still running", hint="wait for it, or stop it first")
    _refresh(record, runs_dir)
    missing = [name for name in secrets_to_give(record) if name not in (strings or {})]
    if missing:
        raise UsageError(
            f"the sweep's secret parameters were not stored: {', '.join(missing)}",
            hint="give them again with -p NAME=VALUE (or NB2PROD_PARAM_<NAME>)",
        )
    given = dict(strings or {})
    sets = []
    for entry in record.sets:
        values = {name: value for name, value in entry.parameters.items() if name not in given}
        sets.append(_typed(record.notebook, values, given))
    record.status = "running"
    record.finished = None
    from ..records import current_runner

    record.runner = current_runner()
    return record, sets


def _typed(notebook: str, values: Mapping[str, Any], strings: Mapping[str, str]) -> dict[str, Any]:
    """A stored set with ``strings`` (-p texts) converted by their parameters' types and put in."""
    if not strings:
        return dict(values)
    from ..notebook import read_notebook
    from ..params import notebook_parameters, resolve

    resolved = resolve(notebook_parameters(read_notebook(Path(notebook), display_path=notebook)), strings=strings, values=values)
    return {name: resolved[name] for name in resolved if name in values or name in strings}


def _refresh(record: SweepRecord, runs_dir: Any) -> None:
    """Each set's runs and status from the run records naming the sweep (a sweep killed outright did not write its last runs)."""
    runs = sweep_runs(record.id, runs_dir)
    by_id = {run.id: run for run in runs}
    listed = {run_id for entry in record.sets for run_id in entry.runs}
    for run in runs:
        if run.id not in listed:
            for entry in record.sets:
                if _same_set(entry, run):
                    entry.runs.append(run.id)
                    break
    for entry in record.sets:
        statuses = [by_id[run_id].status for run_id in entry.runs if run_id in by_id]
        entry.status = "ok" if "ok" in statuses else (statuses[-1] if statuses else "pending")
        if entry.status in ("running", "unknown"):
            entry.status = "interrupted"


def _same_set(entry: SweepSet, run: RunRecord) -> bool:
    stored = redact(run.parameters)
    return all(
        stored.get(name) == (REDACTED if is_secret_name(name) else value) or value == REDACTED for name, value in entry.parameters.items()
    )


def _latest_runs(record: SweepRecord, runs_dir: Any, latest: Mapping[int, RunRecord]) -> list[RunRecord | None]:
    """For each set: its run of this invocation, else its latest recorded run (a resumed sweep's earlier ones)."""
    known = {run.id: run for run in sweep_runs(record.id, runs_dir)} if len(latest) < len(record.sets) else {}
    found: list[RunRecord | None] = []
    for index, entry in enumerate(record.sets):
        if index in latest:
            found.append(latest[index])
            continue
        runs = [known[run_id] for run_id in entry.runs if run_id in known]
        ok = [run for run in runs if run.status == "ok"]
        found.append((ok or runs or [None])[-1])
    return found


class _CallableModule(types.ModuleType):
    """The type of this package: ``nb2prod.sweep(notebook, ...)`` calls :func:`sweep` (as ``nb2prod.export`` does)."""

    def __call__(self, *args: Any, **kwargs: Any) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
