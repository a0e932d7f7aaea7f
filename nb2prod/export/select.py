"""Cell selection for export: each marked cell's role and module, and the records the plan is built from.

The rules are in :mod:`nb2prod.export.codegen`'s docstring ("Cell selection", "Modules").
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import ExportError
from ..lint.context import LintContext
from ..model import Cell
from ..notebook import Notebook
from .names import RESERVED_MODULES, module_identifier, module_name

EXPORT_ROLES = ("export", "export-internal")
CODE_ROLES = frozenset({*EXPORT_ROLES, "main", "test"})
_EXPORT_DIRECTIVES = ("export", "exports", "exporti")
ROLE_WORDS = {"export": "exported", "export-internal": "exported", "main": "main", "test": "test"}


@dataclass(frozen=True)
class Piece:
    """One cell's contribution: its code as plain Python, ready to be placed in a module, the entry point or a test."""

    cell: Cell
    role: str  # export, export-internal, main or test
    module: str
    code: str
    lines: tuple[int, ...]  # the cell's (1-based) line number of each line of ``code``
    future: tuple[str, ...] = ()  # `from __future__` features removed from it
    removed: frozenset[str] = frozenset()  # names bound by the nb2prod imports removed from it
    # The parsed cell ``code`` was cut from (IPython syntax rewritten): only lines that bind nothing
    # were removed (directives, dropped magics, `__future__` and nb2prod imports), so it has the same
    # top-level definitions and the same other imports as ``code``, which is not parsed again.
    tree: ast.Module | None = field(default=None, compare=False, repr=False)
    exact: bool = False  # ``tree`` is the AST of ``code`` itself: only comments and blank lines were removed


@dataclass
class Source:
    """One notebook under export: its lint view, its module, its marked cells."""

    notebook: Notebook
    context: LintContext
    stem_module: str  # the module named after the file, used when there is no `#| default_exp`
    default_exp: tuple[str, Cell] | None  # the `#| default_exp` value and its cell
    roles: dict[int, tuple[str, str]] = field(default_factory=dict)  # cell index -> (role, module)
    pieces: list[Piece] = field(default_factory=list)
    reserved: frozenset[str] = RESERVED_MODULES  # module names the export writes itself

    @property
    def shown(self) -> str:
        """The notebook's path as the user gave it."""
        return self.notebook.display_path

    @property
    def module(self) -> str:
        """The notebook's own module: its ``#| default_exp``, else the name from its file stem."""
        return self.default_exp[0] if self.default_exp else self.stem_module

    def cells_with(self, *roles: str) -> list[int]:
        """Indices of the marked cells with one of ``roles``, in notebook order."""
        return [index for index, (role, _) in self.roles.items() if role in roles]

    def where(self, cell: Cell, line: int | None = None) -> str:
        """``path:cell N`` (with ``:line L`` when given), as errors and warnings name a place."""
        place = f"{self.shown}:cell {cell.number}"
        return place if line is None else f"{place}:line {line}"


def select_cells(notebook: Notebook, context: LintContext, all_cells: bool, reserved: frozenset[str]) -> Source:
    """The roles and target modules of a notebook's cells; raises for contradictory markup and bad module names."""
    source = Source(notebook, context, module_identifier(notebook.path.stem), _default_exp(notebook, reserved), reserved=reserved)
    for cell in context.code_cells():
        role = _role(cell, all_cells, source)
        if role is None:
            continue
        module = None
        if role in EXPORT_ROLES:
            directive = next((d for d in cell.directives if d.name in _EXPORT_DIRECTIVES and d.args), None)
            if directive is not None:
                where = source.where(cell, directive.line)
                module = module_name(directive.args, where, hint="choose another module name", reserved=reserved)
        source.roles[cell.index] = (role, module or _default_module(source, cell))
    return source


def _role(cell: Cell, all_cells: bool, source: Source) -> str | None:
    """The cell's export role (export, export-internal, main, test) or None (left out)."""
    if "skip" in cell.tags or cell.directive("skip") is not None:
        return None
    roles = set(cell.roles)
    if "export" in roles:
        roles.discard("export-internal")
    kinds = sorted(roles & CODE_ROLES)
    if "parameters" in roles and kinds and kinds != ["export"] and kinds != ["export-internal"]:
        kinds.insert(0, "parameters")
    if len(kinds) > 1:
        raise ExportError(
            f"cell {cell.number} is marked {' and '.join(kinds)}; a cell is exported, a `main` cell or a test, and "
            "the parameters cell is neither of the last two",
            path=source.where(cell),
            hint="split the cell or remove one of its tags or directives",
        )
    if kinds:
        return kinds[0]
    return "export" if all_cells and not roles else None


def _default_exp(notebook: Notebook, reserved: frozenset[str]) -> tuple[str, Cell] | None:
    """The notebook's ``#| default_exp`` value and cell (checked), or None."""
    found = [(cell, d) for cell in notebook.cells for d in cell.directives if d.name == "default_exp"]
    if not found:
        return None
    cell, directive = found[0]
    where = f"{notebook.display_path}:cell {cell.number}:line {directive.line}"
    if not directive.args:
        raise ExportError("`#| default_exp` names no module", path=where, hint="write `#| default_exp NAME`")
    for other, second in found[1:]:
        if second.args.strip() != directive.args.strip():
            raise ExportError(
                f"two `#| default_exp` directives: '{directive.args}' in cell {cell.number} and '{second.args}' in cell {other.number}",
                path=f"{notebook.display_path}:cell {other.number}:line {second.line}",
                hint="keep one; send single cells elsewhere with `#| export NAME`",
            )
    return module_name(directive.args, where, hint="choose another module name", reserved=reserved), cell


def _default_module(source: Source, cell: Cell) -> str:
    """The module a cell without its own target goes to; the stem-derived name is checked when first needed."""
    if source.default_exp is None and source.stem_module in source.reserved:
        raise ExportError(
            f"the notebook's module would be '{source.stem_module}', the name of the package's own {source.stem_module}.py",
            path=source.where(cell),
            hint="name the notebook's module with `#| default_exp NAME`",
        )
    return source.module


def check_modules(sources: Sequence[Source]) -> dict[str, Source]:
    """Which notebook writes each module; two notebooks writing one module is an error naming both."""
    owners: dict[str, tuple[Source, Cell]] = {}
    for source in sources:
        for index, (_, module) in source.roles.items():
            cell = source.notebook.cells[index]
            owner = owners.setdefault(module, (source, cell))
            if owner[0] is not source:
                first, first_cell = owner
                raise ExportError(
                    f"both {first.shown} (cell {first_cell.number}) and {source.shown} (cell {cell.number}) write module "
                    f"'{module}'; one would silently lose the other's code",
                    path=source.where(cell),
                    hint="give each notebook its own module with `#| default_exp NAME` (or `#| export NAME` on single cells)",
                )
    return {module: owner for module, (owner, _) in owners.items()}


def main_source_of(sources: Sequence[Source]) -> Source | None:
    """The notebook whose ``main`` cells make the entry point, if any; several such notebooks are an error."""
    with_main = [source for source in sources if source.cells_with("main")]
    if len(with_main) > 1:
        shown = ", ".join(source.shown for source in with_main)
        raise ExportError(
            f"several notebooks have `main` cells ({shown}); a package has one entry point",
            path=with_main[1].shown,
            hint="keep the `main` cells in one notebook and remove the tag or `#| main` from the others",
        )
    return with_main[0] if with_main else None
