"""A sweep worker: a process of its own that runs jobs one after another with ``run_notebook``.

Why a process per worker: papermill runs a notebook in a working folder by changing the *process's*
folder (``os.chdir``) for the run, so runs in threads of one process would read each other's
relative paths (reliability scenario 38). Each worker process runs one run at a time; the next
run's kernel boots while the current run executes (``nb2prod.run.kernels.WarmKernels``).

Protocol (``python -m nb2prod.sweep.worker [KERNEL [CWD]]``; with KERNEL the worker starts a kernel
for it at once, without it the first job names the kernel, so the worker can start, and import
what runs need, before the sweep has checked its notebook): the parent writes one JSON job per line
on the worker's stdin (``{"job": {...}, "more": true}``) after the worker says ``ready``; the worker
answers on its stdout (which is its protocol channel only: anything else printed goes to stderr)
with ``{"event": "ready"}``, ``{"event": "started", "index": i}``, then ``{"event": "finished",
"index": i, "directory": RUN_DIR}`` or ``{"event": "error", "index": i, "message": ...}``.

Stopping: SIGTERM ends the run in progress as ``interrupted`` (its kernel shut down, its record
written, reported) and then the worker; the parent closing stdin ends an idle worker; the parent
dying mid-run (stdin reaches its end) interrupts the run as SIGTERM would, so no worker outlives
its sweep, and no kernel either (see ``nb2prod.run.guard``).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from contextlib import suppress
from typing import IO, Any

from .executor import Job


def main(argv: list[str]) -> int:
    """Run jobs from stdin until it ends; see the module docstring."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # print() in any library now goes to stderr, never into the protocol
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    kernel = argv[0] if argv and argv[0] else None
    cwd = argv[1] if len(argv) > 1 and argv[1] else None
    jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
    running = threading.Event()
    threading.Thread(target=_read_jobs, args=(sys.stdin, jobs, running), daemon=True).start()

    from ..errors import Nb2prodError
    from ..run import WarmKernels, run_notebook
    from ..run.kernels import manager_class
    from . import set_environ

    # jupyter_client now, while the sweep checks its sets, to launch a kernel as soon as the first job comes; papermill once
    # that kernel boots.
    manager_class()

    def say(**event: Any) -> None:
        protocol.write(json.dumps(event) + "\n")

    warm = WarmKernels(kernel, cwd) if kernel is not None else None
    try:
        if warm is not None:
            warm.start()
            import_papermill()
        say(event="ready")
        while (message := jobs.get()) is not None:
            job = Job.from_json(message["job"])
            if warm is None:  # started before the sweep knew its kernel: the first job names it, and it boots at once
                warm = WarmKernels(job.kernel, job.cwd)
                warm.start()
                import_papermill()  # while that kernel boots
            warm.keep_one = bool(message.get("more", True))  # False: no kernel started ahead of a run that will not come here
            say(event="started", index=job.index)
            running.set()
            try:
                record = run_notebook(
                    job.notebook,
                    values=job.values,
                    runs_dir=job.runs_dir,
                    timeout=job.timeout,
                    kernel=job.kernel,
                    cwd=job.cwd,
                    environ=set_environ(job.values),
                    kernels=warm,
                    sweep=job.sweep,
                    git=job.git,
                )
            except Nb2prodError as error:
                say(event="error", index=job.index, message=str(error))
            except Exception as error:  # a bug in a run: reported as this run's failure, the sweep goes on
                say(event="error", index=job.index, message=f"internal error: {type(error).__name__}: {error}")
            else:
                say(event="finished", index=job.index, directory=os.fspath(record.directory))
                if record.status == "interrupted":
                    return 130
            finally:
                running.clear()
            say(event="ready")
    except KeyboardInterrupt:
        return 130
    finally:
        if warm is not None:
            warm.close()
    return 0


def import_papermill() -> None:
    """Import papermill (and register nb2prod's output handler) without the pyarrow and numpy it would import.

    papermill imports ``pyarrow.fs`` (with numpy: ~0.2 s of CPU, most of papermill's import) only to
    offer ``hdfs://`` paths, and does without it when the import fails. A worker hands papermill the
    notebook in memory and saves through nb2prod's own handler, so it never reads HDFS. pyarrow is
    hidden for that import only: anything imported later in the worker imports it as usual.
    """
    from ..run.output import _install_handler

    hidden = "pyarrow" not in sys.modules
    if hidden:
        sys.modules["pyarrow"] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        _install_handler()
    finally:
        if hidden and sys.modules.get("pyarrow", False) is None:
            del sys.modules["pyarrow"]


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _read_jobs(stream: IO[str], jobs: queue.Queue[dict[str, Any] | None], running: threading.Event) -> None:
    """Queue each job line; at the end of stdin queue None, and interrupt a run in progress (the parent is gone)."""
    for line in stream:
        if line.strip():
            jobs.put(json.loads(line))
    jobs.put(None)
    if running.is_set():
        os.kill(os.getpid(), signal.SIGTERM)


class WorkerProcess:
    """The parent's side of one worker: start it, hand it jobs, read its events, stop it."""

    def __init__(self, kernel: str | None, cwd: str | None, *, env: dict[str, str] | None = None, workdir: str | None = None) -> None:
        self.job: Job | None = None
        self.ahead = False  # whether the worker keeps a kernel started ahead for its next job (the last ``send``'s ``more``)
        self._buffer = b""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nb2prod.sweep.worker", kernel or "", cwd or ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,  # a Ctrl-C at the terminal reaches the sweep, which stops the workers in order
            env=env,
            cwd=workdir,
        )

    @property
    def stdout(self) -> IO[bytes]:
        """The worker's event stream (unbuffered: select on it, then call ``events``)."""
        assert self.process.stdout is not None
        return self.process.stdout

    def send(self, job: Job, *, more: bool) -> None:
        """Hand the worker its next job (``more``: whether other jobs wait after it)."""
        assert self.process.stdin is not None
        self.job = job
        self.ahead = more
        self.process.stdin.write((json.dumps({"job": job.to_json(), "more": more}) + "\n").encode("utf-8"))

    def events(self) -> list[dict[str, Any]] | None:
        """The events that have arrived (one read, which blocks until something comes); None when the worker has ended.

        Reads the pipe itself, not through a line buffer: a buffered reader would keep a second event
        the select that woke us has already reported, and the next select would wait forever.
        """
        chunk = os.read(self.stdout.fileno(), 65536)
        if not chunk:
            return None
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def event(self) -> dict[str, Any] | None:
        """The next event (blocking); None when the worker has ended."""
        while b"\n" not in self._buffer:
            chunk = os.read(self.stdout.fileno(), 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        """No more jobs: an idle worker ends."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with suppress(BrokenPipeError):
                self.process.stdin.close()

    def interrupt(self) -> None:
        """SIGTERM: the run in progress ends as ``interrupted``, then the worker."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """End the worker now (its kernels end with it: see ``nb2prod.run.guard``)."""
        if self.process.poll() is None:
            self.process.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the worker to end; its exit status (None if still running after ``timeout``)."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


if __name__ == "__main__":
    status = main(sys.argv[1:])
    # Everything the worker owns has ended (kernels shut down, records written, events said): skip the interpreter's
    # clean-up of papermill, jupyter_client and zmq, 0.1-0.3 s the sweep would wait for after its last run.
    sys.stderr.flush()
    os._exit(status)
