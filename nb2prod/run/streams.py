"""The kernel process's own stdout and stderr: masked, then shown on nb2prod's stderr.

A cell's output reaches the executed notebook through the kernel's messages, but the kernel process
also writes to the file descriptors it inherits: ipykernel echoes what a cell writes to file
descriptors 1 and 2 (``os.write``, a C library, a subprocess) there, and it logs its own warnings
and crashes there. Inherited from nb2prod, that text would reach the terminal with any secret the
cell printed, and a cell's fd-1 output would land in the middle of ``nb2prod run --format json``.

So the kernel gets one pipe for both, and a thread of nb2prod reads it, masks the run's secrets
line by line (``nb2prod.secrets.Masker``) and writes the lines to nb2prod's stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from ..secrets import Masker

#: A line longer than this is masked and shown in pieces of this size.
MAX_LINE = 1 << 16
#: How long the end of a run waits for the last lines (processes a cell started may hold the pipe open longer).
DRAIN_S = 2.0


class KernelStreams:
    """One pipe for the kernel's stdout and stderr, read by a thread that masks and forwards each line."""

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._read, self._write = os.pipe()
        self._thread = threading.Thread(target=self._pump, name="nb2prod-kernel-streams", daemon=True)
        self._thread.start()

    def use(self, masker: Masker) -> None:
        """Mask with ``masker`` from now on: a kernel started ahead of its run (``nb2prod.run.kernels``) learns the run's secrets."""
        self._masker = masker

    def launch_options(self) -> dict[str, int]:
        """What the kernel's ``Popen`` gets: the pipe as its stdout and stderr."""
        return {"stdout": self._write, "stderr": self._write} if self._write >= 0 else {}

    def launched(self) -> None:
        """Close nb2prod's end of the pipe's write side: the pipe ends when the kernel's processes close theirs."""
        if self._write >= 0:
            os.close(self._write)
            self._write = -1

    def finish(self, timeout: float = DRAIN_S) -> None:
        """Stop writing and wait (at most ``timeout`` s) for the reader to show what is left."""
        self.launched()
        self._thread.join(timeout)

    def _pump(self) -> None:
        pending = b""
        with open(self._read, "rb", buffering=0, closefd=True) as source:
            while True:
                chunk = source.read(MAX_LINE)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._show(line + b"\n")
                while len(pending) >= MAX_LINE:
                    self._show(pending[:MAX_LINE])
                    pending = pending[MAX_LINE:]
        if pending:
            self._show(pending)

    def _show(self, data: bytes) -> None:
        text = self._masker.text(data.decode("utf-8", errors="backslashreplace"))
        with contextlib.suppress(OSError, ValueError):  # nb2prod's stderr closed: nothing to show it on
            sys.stderr.write(text)
            sys.stderr.flush()
