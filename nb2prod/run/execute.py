"""The run itself: papermill executes the parameterised notebook in a fresh kernel; how it ends is an ``_Outcome``.

A cell error, a timeout, the kernel dying, Ctrl-C or SIGTERM each end as a status (``failed``,
``timeout``, ``kernel_died``, ``interrupted``), never as an exception; the kernel is shut down
whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RunError, WriteError
from ..params import parameters_cell
from ..records import OUTPUT_FILE
from ..secrets import redact, secret_values
from .inject import ERROR_MARKER_TAG, injected_source, parameterise
from .output import RememberingMasker, _Output, _registered
from .plan import _Plan
from .streams import KernelStreams

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager

    from .kernels import WarmKernels


@dataclass
class _Outcome:
    """How the execution ended; ``output`` is the executed notebook as last saved."""

    status: str
    error: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    unexpected: Exception | None = field(default=None, repr=False)


def _execute(
    plan: _Plan,
    run_dir: Path,
    timeout: float | None,
    kernels: WarmKernels | None = None,
    *,
    save_every_cell: bool = True,
    opened: dict[str, bool] | None = None,
) -> _Outcome:
    """Execute the parameterised notebook with papermill; what happens in the notebook is the outcome, not an exception.

    ``kernels`` may hand the run a kernel started ahead (see ``nb2prod.run.kernels``); it is shut down with the run.
    ``save_every_cell=False`` writes ``output.ipynb`` once, when papermill is done, instead of at every cell.
    ``opened`` is filled with the files the kernel opened (absolute path -> opened for writing; ipykernel only,
    see ``nb2prod.run.opened``), however the run ends.
    """
    import papermill
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from .kernels import prompt_client, quick_reaping
    from .opened import read_opened, with_open_hook

    managers: list[AsyncKernelManager] = []
    streams: list[KernelStreams] = []

    class TrackedKernelManager(quick_reaping(AsyncKernelManager)):  # type: ignore[misc]
        """nbclient's kernel manager, remembered: a run interrupted while its kernel starts must still shut it down."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.client_factory = prompt_client()  # ready when the kernel has answered and gone idle, not after 0.2 s of silence
            self.opened_logs: list[str] = []  # the open hook's logs (nb2prod.run.opened), one per kernel started
            managers.append(self)

        async def start_kernel(self, **kw: Any) -> None:
            """Start the kernel with its stdout and stderr going to nb2prod's masking reader (``nb2prod.run.streams``)."""
            try:
                await super().start_kernel(**{**streams[0].launch_options(), **kw})
            finally:
                streams[0].launched()

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            """The kernel's command, started under ``nb2prod.run.guard`` (which ends it when nb2prod dies), with the open hook."""
            return guarded(with_open_hook(super().format_kernel_cmd(extra_arguments), self.opened_logs))

    parameters = parameters_cell(plan.notebook)
    executable, origin = parameterise(plan.notebook.data, plan.given, after=None if parameters is None else parameters.index)
    redacted = redact(plan.given)
    output_path = run_dir / OUTPUT_FILE
    masker = RememberingMasker(secret_values(plan.parameters))
    output = _Output(
        path=output_path.resolve(),
        injected_source=injected_source(redacted) if redacted != plan.given else None,
        papermill={"input_path": plan.shown, "output_path": output_path.as_posix(), "parameters": redacted},
        masker=masker,
        deferred=not save_every_cell,
    )
    interrupt = _Interrupt()
    warm = kernels.take(plan.kernel, plan.cwd) if kernels is not None else None
    streams.append(getattr(warm, "streams", None) or KernelStreams(masker))
    streams[0].use(masker)  # a kernel started ahead masked only credential formats until now

    def error(index: int | None, ename: str, evalue: str) -> dict[str, Any]:
        original = origin[index] if index is not None and 0 <= index < len(origin) else None
        cell_id = None if original is None else plan.notebook.data["cells"][original].get("id")
        return {"cell_index": original, "cell_id": cell_id, "ename": ename, "evalue": evalue}

    try:
        with interrupt.on_sigterm(), _registered(output) as url:
            for attempt in range(1, START_ATTEMPTS + 1):
                try:
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
                        **({} if warm is None else {"km": warm}),  # nbclient uses a manager it is given, and leaves its clean-up to us
                    )
                    break
                except RuntimeError as exc:
                    if not _never_started(exc, output.data):
                        raise
                    if attempt == START_ATTEMPTS:
                        hint = "its own messages are above; `jupyter kernelspec list` shows where each kernel is installed"
                        message = f"kernel {plan.kernel!r} died {START_ATTEMPTS} times before it answered"
                        raise RunError(message, path=plan.shown, hint=hint) from None
                    # The kernel died while it started, before any cell ran (typically a port that another kernel
                    # bound between jupyter_client's choice and the kernel's bind): start a fresh one.
                    if warm is not None:
                        from .kernels import shut_down

                        shut_down(warm)
                        warm = None
                    streams.insert(0, KernelStreams(masker))
                finally:
                    output.flush()  # the save kept back (save_every_cell=False), before the outcome reads it
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
        logs = [log for manager in [*managers, warm] if manager is not None for log in getattr(manager, "opened_logs", ())]
        (opened if opened is not None else {}).update(read_opened(logs))  # read and removed
        if warm is not None:
            from .kernels import shut_down

            shut_down(warm)
        for stream in streams:
            stream.finish()  # the kernel is gone: its last lines are in the pipe
    return _Outcome("ok", None, output.data)


#: How many kernels a run starts when one dies before answering (never once a cell has run).
START_ATTEMPTS = 3


def _never_started(error: BaseException, output: Mapping[str, Any] | None) -> bool:
    """Whether ``error`` says the run's kernel died while it started, and no cell has run."""
    return "Kernel died before replying to kernel_info" in str(error) and _running_cell(output) is None


def guarded(command: list[str]) -> list[str]:
    """``command`` run under the guard process (POSIX): see ``nb2prod.run.guard`` for why.

    The guard runs with nb2prod's own interpreter in isolated mode (``-I``: standard library only,
    no user site, no ``PYTHON*`` variables), so any kernel, in any environment, gets it. On Windows
    there are no process groups to end: the command is returned as it is.
    """
    if os.name != "posix":
        return command
    from . import guard

    return [sys.executable, "-I", os.path.abspath(guard.__file__), *command]


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


@contextlib.contextmanager
def sigterm_interrupts(on_signal: Callable[[], None] | None = None) -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the block, so it stops work as Ctrl-C does.

    ``on_signal`` is called first (to note the reason). Signal handlers live in the main thread
    only: elsewhere the block runs unchanged. Used by ``run`` and ``sweep`` alike.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if on_signal is not None:
            on_signal()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


class _Interrupt:
    """SIGTERM raises KeyboardInterrupt during a run, so it ends like Ctrl-C: kernel shut down, record written."""

    def __init__(self) -> None:
        self.reason = "SIGINT"

    def on_sigterm(self) -> contextlib.AbstractContextManager[None]:
        """Install the SIGTERM handler for the block, noting SIGTERM as the reason the run stopped."""
        return sigterm_interrupts(lambda: setattr(self, "reason", "SIGTERM"))
