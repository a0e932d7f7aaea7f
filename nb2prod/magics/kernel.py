"""What the magics learn from the kernel they run in: which notebook it runs, and its state for the live rules.

The notebook's path comes from what the frontends tell the kernel: VS Code sets
``__vsc_ipynb_file__`` in the user namespace, Jupyter Server sets ``JPY_SESSION_NAME`` in the
kernel's environment and ipykernel copies it to ``__session__`` (a path relative to the server's
root, or absolute). The state is IPython's input history (``In``: the source of each execution
count) and the user namespace's names, without the ones IPython adds itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .. import KernelState

NOTEBOOK_SUFFIXES = (".ipynb", ".py", ".md")


def current_notebook(shell: Any) -> Path | None:
    """The file of the notebook this kernel runs, if a frontend said which and it exists here."""
    namespace = shell.user_ns
    candidates = [namespace.get("__vsc_ipynb_file__"), namespace.get("__session__"), os.environ.get("JPY_SESSION_NAME")]
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.lower().endswith(NOTEBOOK_SUFFIXES):
            continue
        path = Path(candidate)
        for where in (path, Path.cwd() / path, Path.cwd() / path.name):
            if where.is_file():
                return where
    return None


def kernel_state(shell: Any) -> KernelState:
    """The kernel's input history, namespace names and the execution count of the cell running now."""
    from .. import KernelState  # the live analysis loads with the first lint, not with the extension

    history = tuple(str(source) for source in shell.history_manager.input_hist_raw)
    hidden = getattr(shell, "user_ns_hidden", {})
    names = frozenset(name for name in shell.user_ns if name not in hidden)
    return KernelState(history=history, names=names, current=getattr(shell, "execution_count", None))
