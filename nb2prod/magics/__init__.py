"""``%load_ext nb2prod``: the ``%nb2prod`` magic, a thin adapter over the public API inside a running kernel.

``load`` registers the line magic ``%nb2prod`` and the cell magic ``%%nb2prod`` (the same
command; the cell's body is ignored, so a whole cell can hold one command); ``unload`` removes
them and the hook of ``%nb2prod watch``. Nothing heavy is imported here: IPython is the caller's, and papermill, nbconvert or
jupytext load only when a subcommand needs them. The commands are in :mod:`nb2prod.magics.command`.
"""

from __future__ import annotations

from typing import Any

MAGIC = "nb2prod"
_KINDS = ("line", "cell")


def line_magic(line: str) -> None:
    """``%nb2prod COMMAND [ARGS]``: run one nb2prod command on this kernel's notebook and display the result."""
    from .command import run

    run(line)


def cell_magic(line: str, cell: str) -> None:
    """``%%nb2prod COMMAND [ARGS]``: the same as the line magic (the cell's body is ignored)."""
    from .command import run

    run(line)


def load(ipython: Any) -> None:
    """Register ``%nb2prod`` and ``%%nb2prod`` on the shell ``ipython`` (the commands' code loads on first use)."""
    ipython.register_magic_function(line_magic, magic_kind="line", magic_name=MAGIC)
    ipython.register_magic_function(cell_magic, magic_kind="cell", magic_name=MAGIC)


def unload(ipython: Any) -> None:
    """Remove the magics ``load`` registered and the ``%nb2prod watch`` hook (and nothing else)."""
    from .watch import stop

    stop(ipython)
    registered = ipython.magics_manager.magics
    for kind in _KINDS:
        registered[kind].pop(MAGIC, None)
