"""``%nb2prod watch``: after each cell, one line when it used a name whose defining cell is gone from the saved notebook.

A ``post_run_cell`` hook reads the cell that just ran (its source, from IPython's result), finds
the module-level names it read (nb2prod's dataflow) and, for each name in the kernel's namespace
that no cell of the saved notebook defines, prints one warning naming the execution that defined
it. The saved notebook is read again only when its modification time changes. ``%nb2prod watch
off`` and ``%unload_ext nb2prod`` remove the hook. Nothing is executed; a hook that fails says so
once and goes quiet instead of breaking the user's cells.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nb2prod

EVENT = "post_run_cell"
_WATCHERS: dict[int, Watcher] = {}  # id(shell) -> its watcher


class Watcher:
    """The hook of one shell, watching one saved notebook."""

    def __init__(self, shell: Any, notebook: Path):
        self.shell = shell
        self.notebook = notebook
        self._stamp: float | None = None
        self._defined: set[str] | None = set()

    def defined(self) -> set[str] | None:
        """The names the saved notebook's cells define (read again when the file changed); None if unknowable."""
        stamp = self.notebook.stat().st_mtime
        if stamp != self._stamp:
            self._defined = nb2prod.live.saved_definitions(nb2prod.read_notebook(self.notebook).cells)
            self._stamp = stamp
        return self._defined

    def __call__(self, result: Any) -> None:
        """The hook: warn about names the cell just run read that only the kernel still has."""
        try:
            self._check(result)
        except Exception as error:  # a broken hook must not break every cell: say it once and stop
            print(nb2prod.printable(f"nb2prod watch: stopped ({type(error).__name__}: {error})"), file=sys.stderr)
            stop(self.shell)

    def _check(self, result: Any) -> None:
        from dataclasses import replace

        from .kernel import kernel_state

        source = getattr(getattr(result, "info", None), "raw_cell", None)
        if not source or not self.notebook.is_file():
            return
        defined = self.defined()
        if defined is None:
            return
        state = kernel_state(self.shell)
        state = replace(state, current=len(state.history) - 1)  # after a cell IPython's count already names the next one
        for name, count in nb2prod.live.gone_reads(source, defined, state):
            where = f"[{count}] defined it" if count is not None else "only the kernel has it"
            message = f"nb2prod: '{name}' comes from a cell no longer in {self.notebook.name} ({where}); Restart & Run All would fail here"
            print(nb2prod.printable(message), file=sys.stderr)


def start(shell: Any, notebook: Path) -> Watcher:
    """Register the hook for ``notebook`` (replacing this shell's earlier one)."""
    stop(shell)
    watcher = Watcher(shell, notebook)
    shell.events.register(EVENT, watcher)
    _WATCHERS[id(shell)] = watcher
    return watcher


def stop(shell: Any) -> bool:
    """Remove this shell's hook; False if there was none."""
    watcher = _WATCHERS.pop(id(shell), None)
    if watcher is None:
        return False
    if watcher in shell.events.callbacks[EVENT]:
        shell.events.unregister(EVENT, watcher)
    return True
