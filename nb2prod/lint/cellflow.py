"""The vocabulary of the name analysis: what one cell binds and reads, and which names exist without a definition.

:mod:`nb2prod.lint.scopewalk` produces a :class:`CellFlow` per cell; :mod:`nb2prod.lint.dataflow`
combines them across a notebook. Kept apart so the result types and the "predefined name" rule
(builtins, IPython's names) can be read without the AST walk.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .ipython import Magic, TransformedCell

# `_` is left out: an interactive interpreter puts it in builtins; in a kernel it is output history.
_SITE_NAMES = {"help", "exit", "quit", "copyright", "credits", "license"}
BUILTIN_NAMES: frozenset[str] = frozenset(dir(builtins)) - {"_"} | {"__builtins__"} | _SITE_NAMES
"""Names every Python module can read without defining them (``__file__`` is not one in a kernel)."""

_HISTORY_NAMES = {"_", "__", "___", "_i", "_ii", "_iii", "_ih", "_oh", "_dh"}
_KERNEL_NAMES = {"In", "Out", "get_ipython", "display", "exit", "quit", "__IPYTHON__", "__builtin__"}
IPYTHON_NAMES: frozenset[str] = frozenset(_KERNEL_NAMES | _HISTORY_NAMES)
"""Names an IPython kernel defines in the user namespace (plus the history names ``_<n>`` and ``_i<n>``)."""

_HISTORY_NAME = re.compile(r"_i?\d+")


def is_predefined(name: str) -> bool:
    """Whether a notebook can read ``name`` without any cell defining it: a builtin or an IPython name."""
    return name in BUILTIN_NAMES or name in IPYTHON_NAMES or _HISTORY_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class Use:
    """A read of a module-level name: 1-based ``line`` and ``column`` in the cell's source.

    ``deferred`` reads are inside a function or lambda body (they run when it is called); class
    bodies and comprehensions run when the cell runs, so their reads are not deferred.
    """

    name: str
    line: int
    column: int
    deferred: bool


@dataclass(frozen=True)
class CellFlow:
    """What one cell binds and reads at module level.

    ``defines`` maps each name the cell may leave bound to the line of its first binding (names the
    cell binds and always removes again, like ``except E as e``'s ``e``, are not in it). ``uses`` are
    the free reads: an immediate read comes before any binding of the name in the cell; a deferred
    read is of a name the cell does not define. At most one immediate and one deferred read per
    name (the first), sorted by position. ``imports`` maps every module-level import binding to its
    line, ``deletes`` lists names removed by ``del`` at module level. ``star_import`` is set by
    ``from m import *``; ``unknown_bindings`` whenever the cell may bind names nobody can list:
    a star import, ``%run``, ``%pylab``, ``%store -r`` without names, ``exec(...)`` or a write
    through ``globals()``/``vars()``/``locals()``. ``future_annotations`` says annotations were not
    evaluated (``from __future__ import annotations`` in this cell or, for a whole notebook, in a
    cell above). A cell that does not parse carries ``syntax_error`` = (line, column, message) and
    defines and uses nothing; a cell whose body is not Python (``%%bash``…) is not ``analyzable``
    and defines only what its cell magic binds.
    """

    defines: Mapping[str, int] = field(default_factory=dict)
    uses: tuple[Use, ...] = ()
    deletes: tuple[str, ...] = ()
    imports: Mapping[str, int] = field(default_factory=dict)
    syntax_error: tuple[int, int, str] | None = None
    magics: tuple[Magic, ...] = ()
    analyzable: bool = True
    star_import: bool = False
    unknown_bindings: bool = False
    future_annotations: bool = False
    # The analysed forms of the cell, kept so rules need not transform and parse it again.
    transformed: TransformedCell | None = field(default=None, compare=False, repr=False)
    tree: ast.Module | None = field(default=None, compare=False, repr=False)
