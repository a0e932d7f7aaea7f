"""The code half of ``nb2prod export``: from marked notebook cells to an :class:`~nb2prod.export.plan.ExportPlan`.

:func:`build_plan` decides everything about the code of the package and writes nothing: which cells
go to which module, each module's source and ``__all__``, the entry point's body and parameters,
the tests, the dependencies. It never executes notebook code; it reads the notebooks through the
same views lint uses (:class:`~nb2prod.lint.context.LintContext`: the IPython transform, the ASTs
and the dataflow analysis of rule NB201, computed once).

Cell selection (DESIGN.md, "Cell markup"): a code cell's role comes from its tags or ``#|``
directives. ``skip`` (tag or ``#| skip``) always leaves a cell out. nbdev's ``#| hide`` only hides:
it leaves out a cell nothing else marks, but a cell marked ``#| hide`` and ``#| export`` is
exported, as nbdev does. ``export`` and ``export-internal`` on one cell make it ``export``. A cell
is exported, a ``main`` cell or a ``test`` cell, never two of these (an error), and the parameters
cell is never a ``main`` or ``test`` cell (its values reach the entry point as options); it may be
exported too. With ``all_cells=True`` every code cell without a role is exported.

Modules: one per notebook, named by ``#| default_exp name`` or else by the notebook's file stem
made an identifier (lower-cased, every character outside ``[a-z0-9_]`` replaced by ``_``, ``nb_``
before a leading digit, ``_`` after a keyword). ``#| export name`` / ``#| exporti name`` sends one
cell to module ``name``. Module names are flat: a dotted name (``core.utils``) is refused with an
error, since the package writes ``src/<package>/<module>.py``; so are ``cli``, ``__init__`` and
``__main__``, which the package writes itself (``cli`` is allowed with ``modules_only``: ``--into``
writes no entry point). Two notebooks writing one module are an error naming
both (nbdev silently keeps the last writer, nbdev #1034). When several notebooks are given, one
with nothing marked (an nbdev ``index.ipynb``) is skipped with a warning; a single notebook with
nothing marked, or a set where none is marked, is an error saying how to mark cells.

A module's source, in this order: a docstring naming its notebook; ``from __future__`` imports
gathered from its cells (they must come first); ``__all__``, placed before the code as PEP 8 asks of
module dunders (and as nbdev writes it); then each exported cell in notebook order, preceded by a
provenance comment ``# -- from notebooks/train.ipynb, cell 4 (id 3f2a9c1e) --``. In each cell:
directive lines are removed; display and tooling magics (``%matplotlib``, ``%load_ext``,
``%config``… :data:`~nb2prod.lint.ipython.EXPORT_DROPPED_LINE_MAGICS`) are dropped; ``%time``,
``%timeit`` and ``%prun`` keep their statement and a ``%%time`` cell its body; ``import nb2prod`` and
``from nb2prod import record`` are removed (the package does not depend on nb2prod; exported and
test code that still uses those names is an error, the entry point binds its own ``nb2prod`` and
``record``). Everything else IPython-only (``!cmd``, ``x?``, other cell and line magics) is an
error naming the cell and line, as lint's NB202 reports it. The result is formatted with ruff's
formatter (or black) as the Python file it becomes (not as a notebook cell: a cell's trailing ``;``
goes), configured as ``nb2prod fmt`` would be for the first notebook, verified as
``fmt`` verifies (the same AST), and checked to compile. Unlike ``fmt`` it is not formatted a
second time to check that formatting is stable: a generated file is written once per export, from
the notebook, and its header hash guards it; the second pass cost about a tenth of an export.

``__all__`` comes from the AST of the final code, never from text, by nbdev's rules (``make_all``):
the names ``export`` cells (not ``export-internal`` ones) bind with top-level ``def``, ``class``,
assignments (``=``, annotated, augmented; unpacking included) and ``type``, not imports, minus
names starting with ``_`` and functions decorated ``@patch…`` (fastcore methods), plus the names an
nbdev ``_all_ = [...]`` lists; a name an ``export`` cell defines is public even if an
``export-internal`` cell defines it too. Only names the module really binds are kept, so ``from
module import *`` cannot fail. The order is nbdev's too: assigned names, then ``def``/``class``
names, each in notebook order, then the ``_all_`` names. ``names`` lists every name the module may bind at top level (imports
included), from the dataflow analysis of the final code: a name bound in only one branch of an
``if`` counts.

The rest of the plan. ``main_code``: the ``main`` cells in order (one notebook may have them), with
the same handling and provenance comments; ``recorded``: the literal names of its
``record("name", v)`` / ``nb2prod.record("name", v)`` calls. The dataflow check of lint's NB201
runs before anything is generated: exported cells may use names of the cells exported to the same
module; ``main`` cells those plus the parameters and other ``main`` cells; a ``test`` cell those of
the notebook's module and its own (each test is its own function). ``tests``: one per ``test`` cell,
``test_<module>_cell_<N>``. ``parameters``: of the notebook with ``main`` cells, else of a single
notebook. ``title``/``description``: the first ``# `` heading of that notebook (or the first one)
and the markdown after it up to the first code cell or the next heading, as plain text.
``dependencies``: from the modules and ``main_code`` (test-only imports are not run-time
dependencies); an import no installed distribution provides gets a warning. ``source_hash``: sha256
over the marked cells (index, id, role, module, source), the parameters cell, the title and
description and the options. Warnings are one line each, ``path:cell N:line L: warning: …``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import keyword
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import FORMATTERS
from ..discover import resolve_file
from ..errors import ExportError, Nb2prodError, ParameterError, UsageError
from ..lint.context import LintContext
from ..lint.dataflow import NameIssue, analyze_cell
from ..lint.ipython import EXPORT_DROPPED_LINE_MAGICS, EXPORT_UNWRAPPED_MAGICS, Magic, TransformedCell, parse_quietly
from ..model import Cell
from ..notebook import Notebook
from ..params import notebook_parameters, parameters_cell
from .deps import import_statements, infer_dependencies
from .plan import Dependency, ExportPlan, ModulePlan, Provenance, TestPlan

EXPORT_ROLES = ("export", "export-internal")
#: Module names the package itself writes; only the dunders when the export writes only the modules.
RESERVED_MODULES = frozenset({"cli", "__init__", "__main__"})
RESERVED_WHEN_MODULES_ONLY = frozenset({"__init__", "__main__"})
_CODE_ROLES = frozenset({*EXPORT_ROLES, "main", "test"})
_EXPORT_DIRECTIVES = ("export", "exports", "exporti")
_FLAT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NOT_IN_NAME = re.compile(r"[^a-z0-9_]")
_ENTRY_POINT_NAMES = frozenset({"nb2prod", "record"})  # bound by the entry point for `main` code
_MARK_HINT = (
    "tag the cells to export `export` (or start them with a `#| export` line), the pipeline's cells `main` and tests `test`; "
    "or export every code cell with `--all`"
)
_ROLE_WORDS = {"export": "exported", "export-internal": "exported", "main": "main", "test": "test"}
_MAX_LISTED = 12


@dataclass(frozen=True)
class _Piece:
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
class _Source:
    """One notebook under export: its lint view, its module, its marked cells."""

    notebook: Notebook
    context: LintContext
    stem_module: str  # the module named after the file, used when there is no `#| default_exp`
    default_exp: tuple[str, Cell] | None  # the `#| default_exp` value and its cell
    roles: dict[int, tuple[str, str]] = field(default_factory=dict)  # cell index -> (role, module)
    pieces: list[_Piece] = field(default_factory=list)
    reserved: frozenset[str] = RESERVED_MODULES  # module names the export writes itself

    @property
    def shown(self) -> str:
        return self.notebook.display_path

    @property
    def module(self) -> str:
        return self.default_exp[0] if self.default_exp else self.stem_module

    def cells_with(self, *roles: str) -> list[int]:
        return [index for index, (role, _) in self.roles.items() if role in roles]

    def where(self, cell: Cell, line: int | None = None) -> str:
        place = f"{self.shown}:cell {cell.number}"
        return place if line is None else f"{place}:line {line}"


def build_plan(
    notebooks: Sequence[Notebook], *, name: str | None = None, all_cells: bool = False, formatter: str = "ruff", modules_only: bool = False
) -> ExportPlan:
    """Decide the code of the package exported from ``notebooks`` (see the module docstring); writes nothing.

    ``name`` is the package's import name (default: the stem of a single notebook, else the name of
    the notebooks' common folder), made a valid identifier; the distribution name is it with ``-``
    for ``_``. ``all_cells`` exports every code cell that has no role. ``formatter`` is ``ruff`` or
    ``black``. ``modules_only``: only the modules will be written (``--into``, the nbconvert
    exporter), so no requirements are inferred (nor warned about) and ``cli`` is a module name like
    any other. The same notebooks and options give an equal plan. Raises ``ExportError`` naming the
    notebook and cell (``path:cell N:line L``) for everything that would make a broken package (a
    parameters cell the entry point cannot use included), ``UsageError`` for an unknown formatter.
    """
    if formatter not in FORMATTERS:
        raise UsageError(f"unknown formatter '{formatter}'", hint="use ruff or black")
    if not notebooks:
        raise ExportError("no notebooks to export", hint="pass the notebooks (or a folder of notebooks) to export")
    package = _package_name(name, notebooks)
    notes: list[str] = []
    sources = []
    for notebook in notebooks:
        context = LintContext(notebook)
        if context.is_python:
            sources.append(_select(notebook, context, all_cells, RESERVED_WHEN_MODULES_ONLY if modules_only else RESERVED_MODULES))
            continue
        message = f"the notebook's kernel language is {notebook.language}, not Python"
        if len(notebooks) == 1:
            raise ExportError(message, path=notebook.display_path, hint="export writes Python modules")
        notes.append(f"{notebook.display_path}: warning: {message}; skipped")
    marked = [source for source in sources if source.roles]
    if not marked:
        if len(notebooks) == 1:
            raise ExportError("nothing is marked for export", path=sources[0].shown, hint=_MARK_HINT)
        raise ExportError(f"none of the {len(notebooks)} notebooks has cells marked for export", hint=_MARK_HINT)
    notes.extend(f"{source.shown}: warning: nothing is marked for export; skipped" for source in sources if not source.roles)
    owners = _check_modules(marked)
    main_source = _main_source(marked)
    for source in marked:
        source.pieces = [
            _piece(source, source.notebook.cells[index], role, module, package) for index, (role, module) in source.roles.items()
        ]
        _check_names(source)
        notes.extend(_duplicate_warnings(source))

    modules, module_trees = _modules(owners)
    _check_nb2prod_uses(marked, {module.name: set(module.names) for module in modules})
    main_pieces = [piece for piece in main_source.pieces if piece.role == "main" and piece.code] if main_source else []
    main_code = _joined(_block(main_source, piece) for piece in main_pieces) if main_source else ""
    tests = [
        TestPlan(f"test_{piece.module}_cell_{piece.cell.number}", piece.module, piece.code, _provenance(source, piece.cell))
        for source in marked
        for piece in source.pieces
        if piece.role == "test" and piece.code
    ]
    modules, main_code, tests = _format(modules, module_trees, main_code, tests, formatter, marked[0].notebook.path)

    # The imports of the formatted modules and main code are those of their pieces: formatting keeps
    # the AST (it is verified), and a piece's tree has the imports of its code besides the removed
    # `__future__` and nb2prod ones, which are never dependencies. So nothing is parsed again.
    requirements: tuple[Dependency, ...] = ()
    if not modules_only:
        coded = [piece for module in sorted(owners) for piece in _module_pieces(owners[module], module)] + main_pieces
        requirements = infer_dependencies([piece.tree if piece.tree is not None else piece.code for piece in coded], exclude={package})
        unknown = [dependency.imports[0] for dependency in requirements if dependency.version is None]
        if unknown:
            importers = _first_importers(marked)
            notes.extend(_unknown_import_warning(name, importers.get(name)) for name in unknown)
    card = main_source or marked[0]
    parameter_source = main_source or (marked[0] if len(marked) == 1 else None)
    try:
        parameters = notebook_parameters(parameter_source.notebook) if parameter_source else ()
    except ParameterError as error:
        raise ExportError(error.message, path=error.path, hint=error.hint) from None
    title, description = _title_and_description(card.notebook)
    return ExportPlan(
        package=package,
        distribution=package.replace("_", "-"),
        modules=tuple(modules),
        parameters=parameters,
        main_code=main_code,
        main_module=main_source.module if main_source else None,
        recorded=tuple(dict.fromkeys(name for piece in main_pieces for name in _recorded(piece.code))),
        tests=tuple(tests),
        dependencies=requirements,
        title=title,
        description=description,
        notebooks=tuple(source.shown for source in marked),
        source_hash=_source_hash(marked, package, all_cells, formatter, title, description),
        warnings=tuple(notes),
    )


# --- names ----------------------------------------------------------------------------------------


def module_identifier(text: str) -> str:
    """``text`` made a valid, lower-case ASCII identifier: ``Train v2`` -> ``train_v2``, ``01-eda`` -> ``nb_01_eda``."""
    name = _NOT_IN_NAME.sub("_", text.lower()) or "notebook"
    if name[0].isdigit():
        name = "nb_" + name
    return name + "_" if keyword.iskeyword(name) else name


def _package_name(name: str | None, notebooks: Sequence[Notebook]) -> str:
    if name is not None:
        if not name.strip():
            raise ExportError("the package name is empty", hint="pass a name such as churn_model")
        return module_identifier(name.strip())
    if len(notebooks) == 1:
        return module_identifier(notebooks[0].path.stem)
    try:
        folders: dict[Path, Path] = {}
        folder = Path(os.path.commonpath([str(resolve_file(notebook.path, folders).parent) for notebook in notebooks])).name
    except ValueError:  # notebooks on different drives
        folder = ""
    return module_identifier(folder or "package")


def _module_name(text: str, where: str, *, hint: str, reserved: frozenset[str]) -> str:
    """A module name from a directive, checked: flat, an identifier, not one the package writes itself."""
    text = text.strip()
    parts = text.split(".")
    if len(parts) > 1 and all(_FLAT_NAME.match(part) for part in parts):
        raise ExportError(
            f"module '{text}' is nested; nb2prod writes one flat module per name",
            path=where,
            hint=f"use a name without dots, such as `{'_'.join(parts)}`",
        )
    if not _FLAT_NAME.match(text) or keyword.iskeyword(text):
        raise ExportError(f"'{text}' is not a valid module name", path=where, hint="use letters, digits and underscores, e.g. `core`")
    if text in reserved:
        raise ExportError(f"module name '{text}' is taken by the package's own {text}.py", path=where, hint=hint)
    return text


# --- selection --------------------------------------------------------------------------------------


def _select(notebook: Notebook, context: LintContext, all_cells: bool, reserved: frozenset[str]) -> _Source:
    """The roles and target modules of a notebook's cells; raises for contradictory markup and bad module names."""
    source = _Source(notebook, context, module_identifier(notebook.path.stem), _default_exp(notebook, reserved), reserved=reserved)
    for cell in context.code_cells():
        role = _role(cell, all_cells, source)
        if role is None:
            continue
        module = None
        if role in EXPORT_ROLES:
            directive = next((d for d in cell.directives if d.name in _EXPORT_DIRECTIVES and d.args), None)
            if directive is not None:
                where = source.where(cell, directive.line)
                module = _module_name(directive.args, where, hint="choose another module name", reserved=reserved)
        source.roles[cell.index] = (role, module or _default_module(source, cell))
    return source


def _role(cell: Cell, all_cells: bool, source: _Source) -> str | None:
    """The cell's export role (export, export-internal, main, test) or None (left out)."""
    if "skip" in cell.tags or cell.directive("skip") is not None:
        return None
    roles = set(cell.roles)
    if "export" in roles:
        roles.discard("export-internal")
    kinds = sorted(roles & _CODE_ROLES)
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
    return _module_name(directive.args, where, hint="choose another module name", reserved=reserved), cell


def _default_module(source: _Source, cell: Cell) -> str:
    """The module a cell without its own target goes to; the stem-derived name is checked when first needed."""
    if source.default_exp is None and source.stem_module in source.reserved:
        raise ExportError(
            f"the notebook's module would be '{source.stem_module}', the name of the package's own {source.stem_module}.py",
            path=source.where(cell),
            hint="name the notebook's module with `#| default_exp NAME`",
        )
    return source.module


def _check_modules(sources: Sequence[_Source]) -> dict[str, _Source]:
    """Which notebook writes each module; two notebooks writing one module is an error naming both."""
    owners: dict[str, tuple[_Source, Cell]] = {}
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


def _main_source(sources: Sequence[_Source]) -> _Source | None:
    with_main = [source for source in sources if source.cells_with("main")]
    if len(with_main) > 1:
        shown = ", ".join(source.shown for source in with_main)
        raise ExportError(
            f"several notebooks have `main` cells ({shown}); a package has one entry point",
            path=with_main[1].shown,
            hint="keep the `main` cells in one notebook and remove the tag or `#| main` from the others",
        )
    return with_main[0] if with_main else None


# --- one cell's code -----------------------------------------------------------------------------------


def _magic_handling(magic: Magic, transformed: TransformedCell) -> str | None:
    """How export handles a piece of IPython syntax: ``drop``, ``unwrap`` (keep its statement or body), or None (an error).

    The same judgement as lint's NB202, from the same constants.
    """

    if magic.kind == "line" and magic.name in EXPORT_DROPPED_LINE_MAGICS:
        return "drop"
    if magic.kind == "line" and magic.name in EXPORT_UNWRAPPED_MAGICS:
        return "unwrap"
    if magic.kind == "cell" and magic.name == "time" and magic == transformed.cell_magic:
        return "drop"  # the `%%time` line; its body is ordinary code
    return None


def _describe(magic: Magic, transformed: TransformedCell) -> str:
    text = magic.args if len(magic.args) <= 40 else magic.args[:39] + "…"
    shown = {
        "shell": f"shell command `!{text}`",
        "help": f"help request `{text}?`",
        "cell": f"cell magic `%%{magic.name}`" + ("" if magic == transformed.cell_magic else " below the cell's first line"),
        "autocall": f"autocall `{magic.name} …`",
    }.get(magic.kind, f"magic `%{magic.name}`")
    return f"{shown} (line {magic.line})"


def _piece(source: _Source, cell: Cell, role: str, module: str, package: str) -> _Piece:
    """Check one marked cell and turn it into plain Python; raises ``ExportError`` naming the cell and line."""
    context = source.context
    transformed = context.transformed[cell.index]
    what = f"{_ROLE_WORDS[role]} cell {cell.number}"
    handling = {magic: _magic_handling(magic, transformed) for magic in transformed.magics}
    bad = [magic for magic, how in handling.items() if how is None]
    if bad:
        raise ExportError(
            f"{what} holds IPython syntax a Python module cannot run: {', '.join(_describe(magic, transformed) for magic in bad)} (NB202)",
            path=source.where(cell, bad[0].line),
            hint="use plain Python instead (subprocess.run for a command), or move it to a cell that is not exported",
        )
    flow = context.flow.cells[cell.index]
    error = flow.syntax_error
    if error is not None:
        raise ExportError(
            f"{what} does not parse as Python: {error[2]} (NB208)", path=source.where(cell, error[0]), hint="fix the cell so that it runs"
        )
    try:
        # The dataflow analysis parsed the same text (it never modifies its trees); compiling the tree
        # adds the compiler's checks the parser does not make (`return` outside a function…).
        tree = flow.tree if flow.tree is not None and flow.transformed is transformed else parse_quietly(transformed.python)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(tree, source.where(cell), "exec", dont_inherit=True)
    except (RecursionError, MemoryError):
        raise ExportError(f"{what} is nested too deeply to compile", path=source.where(cell), hint="simplify the code") from None
    except SyntaxError as exc:
        hint = "move the code into a function: top-level `await`, `return` and `yield` work only in a notebook"
        if "__future__" in exc.msg:
            hint = "put `from __future__` imports first in the cell"
        raise ExportError(f"{what} cannot run as module code: {exc.msg}", path=source.where(cell, exc.lineno or 1), hint=hint) from None
    imports = list(import_statements(tree))  # in ast.walk order
    if role in EXPORT_ROLES:
        relative = [node for node in imports if isinstance(node, ast.ImportFrom) and node.level]
        if relative:
            node = min(relative, key=lambda node: (node.lineno, node.col_offset))
            target = "." * node.level + (node.module or "")
            raise ExportError(
                f"{what} imports relatively from '{target}'; the module's package is not known in the notebook (NB207)",
                path=source.where(cell, node.lineno),
                hint=f"import absolutely, e.g. `from {package}.{module} import …`",
            )
    lines: list[str | None] = list(transformed.python.split("\n"))
    for directive in cell.directives:
        lines[directive.line - 1] = None
    for magic, how in handling.items():
        if how == "drop" and lines[magic.line - 1] == "pass":  # an indented one stays `pass`: its block needs a statement
            lines[magic.line - 1] = None
    future, removed, edits = _import_edits(tree, imports, lambda line: source.where(cell, line), what)
    for node, replacement in sorted(edits, key=lambda edit: (edit[0].lineno, edit[0].col_offset), reverse=True):
        _replace_statement(lines, node, replacement)
    kept = [(number, line) for number, line in enumerate(lines, start=1) if line is not None]
    while kept and not kept[0][1].strip():
        kept.pop(0)
    while kept and not kept[-1][1].strip():
        kept.pop()
    code = "\n".join(line for _, line in kept)
    if edits:  # removing directives and blank lines cannot break what compiled above; rewriting statements could
        _must_compile(code, f"{source.where(cell)} after export")
    exact = not edits and not transformed.magics
    lines_kept = tuple(number for number, _ in kept)
    return _Piece(cell, role, module, code, lines_kept, future if role in EXPORT_ROLES else (), removed, tree, exact)


def _import_edits(
    tree: ast.Module, imports: Iterable[ast.Import | ast.ImportFrom], where: Callable[[int], str], what: str
) -> tuple[tuple[str, ...], frozenset[str], list[tuple[ast.stmt, str | None]]]:
    """Statements to remove from a cell: ``from __future__`` imports (hoisted for modules) and nb2prod imports.

    ``imports`` are the cell's import statements in ``ast.walk`` order. Returns the future features,
    the names the removed nb2prod imports bound, and (statement, replacement) edits; a replacement
    of None removes the statement. Other nb2prod imports are errors.
    """
    future: list[str] = []
    removed: set[str] = set()
    edits: list[tuple[ast.stmt, str | None]] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__" and node.level == 0:
            future.extend(alias.name for alias in node.names)
            edits.append((node, None))
    hint = "write `import nb2prod` (or `from nb2prod import record`) and call `record(name, value)` in a `main` cell"
    for node in imports:
        if isinstance(node, ast.Import):
            keep = []
            for alias in node.names:
                if alias.name != "nb2prod" and not alias.name.startswith("nb2prod."):
                    keep.append(alias)
                elif alias.asname not in (None, "nb2prod") or (alias.asname and alias.name != "nb2prod"):  # `import nb2prod as nb`
                    message = f"{what} imports {alias.name} as {alias.asname}; the package provides only `nb2prod.record` and `record`"
                    raise ExportError(message, path=where(node.lineno), hint=hint)
                else:
                    removed.add("nb2prod")
            if len(keep) < len(node.names):
                edits.append((node, ast.unparse(ast.Import(names=keep)) if keep else None))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.partition(".")[0] == "nb2prod":
            others = [
                alias for alias in node.names if node.module != "nb2prod" or alias.name != "record" or alias.asname not in (None, "record")
            ]
            if others:
                shown = ", ".join(alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in others)
                message = f"{what} imports {shown} from {node.module}; the package has no nb2prod at run time and provides only `record`"
                raise ExportError(message, path=where(node.lineno), hint=hint)
            removed.add("record")
            edits.append((node, None))
    return tuple(future), frozenset(removed), edits


def _char_offset(line: str, byte_offset: int) -> int:
    """The character index of an AST column (a UTF-8 byte offset) in ``line``."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "ignore"))


def _replace_statement(lines: list[str | None], node: ast.stmt, replacement: str | None) -> None:
    """Remove or replace one statement in ``lines`` (1-based AST positions); ``pass`` keeps a block or a `;` list valid."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    head, tail = lines[first] or "", lines[last] or ""
    start = _char_offset(head, node.col_offset)
    end = _char_offset(tail, node.end_col_offset if node.end_col_offset is not None else len(tail.encode("utf-8")))
    before, after = head[:start], tail[end:]
    for index in range(first + 1, last + 1):
        lines[index] = None
    if not before.strip() and (not after.strip() or after.lstrip().startswith("#")):
        lines[first] = None if replacement is None and not before else before + (replacement or "pass")
    else:
        lines[first] = before + (replacement or "pass") + after


def _must_compile(code: str, what: str) -> None:
    """Guard: generated code that does not compile is a bug in nb2prod, never the user's input."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(code, what, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise AssertionError(f"nb2prod bug: the code generated for {what} does not compile ({exc}); please report it") from exc


# --- the dataflow check (NB201) ---------------------------------------------------------------------


def _check_names(source: _Source) -> None:
    """Cells bound for the package may use only names the package will have (lint's NB201 analysis, shared)."""
    flow = source.context.flow
    issues: list[NameIssue] = []
    by_module: dict[str, set[int]] = {}
    for index in source.cells_with(*EXPORT_ROLES):
        by_module.setdefault(source.roles[index][1], set()).add(index)
    for selected in by_module.values():
        issues.extend(flow.defined_only_outside(selected))
    own = by_module.get(source.module, set())
    mains = set(source.cells_with("main"))
    if mains:
        parameters = parameters_cell(source.notebook)
        available = own | mains | ({parameters.index} if parameters else set())
        issues.extend(i for i in flow.defined_only_outside(available) if i.cell_index in mains and i.name not in _ENTRY_POINT_NAMES)
    for test in source.cells_with("test"):
        issues.extend(i for i in flow.defined_only_outside(own | {test}) if i.cell_index == test)
    if not issues:
        return
    issues.sort(key=lambda issue: issue.position)
    groups: dict[tuple[int, str], list[str]] = {}  # (cell, where its names are defined) -> the names, in order
    for issue in issues[:_MAX_LISTED]:
        groups.setdefault((issue.cell_index, _definers(source, issue.defined_in)), []).append(f"'{issue.name}' (line {issue.line})")
    parts = [
        f"{_ROLE_WORDS[source.roles[index][0]]} cell {index + 1} uses {', '.join(names)}, defined only in {definers}"
        for (index, definers), names in groups.items()
    ]
    if len(issues) > _MAX_LISTED:
        parts.append(f"and {len(issues) - _MAX_LISTED} more")
    first = issues[0]
    raise ExportError(
        "cells bound for the package use names that only cells left out of it define, so the package would raise NameError (NB201): "
        + "; ".join(parts),
        path=source.where(source.notebook.cells[first.cell_index], first.line),
        hint="mark the cells that define them for export (tag `export` or `#| export`), or move the definitions into marked cells; "
        "`main` cells can also use the parameters",
    )


def _definers(source: _Source, indices: Iterable[int]) -> str:
    parameters = parameters_cell(source.notebook)
    shown = []
    for index in indices:
        role, module = source.roles.get(index, (None, None))
        if parameters is not None and index == parameters.index:
            shown.append(f"cell {index + 1} (the parameters cell)")
        elif role in EXPORT_ROLES:
            shown.append(f"cell {index + 1} (exported to module '{module}')")
        elif role is not None:
            shown.append(f"cell {index + 1} (a {role} cell)")
        else:
            shown.append(f"cell {index + 1}")
    return ", ".join(shown)


def _duplicate_warnings(source: _Source) -> list[str]:
    """NB209: a top-level name defined by two cells exported to one module; the later wins, as in the notebook."""
    flow = source.context.flow
    first: dict[tuple[str, str], int] = {}
    found = []
    for index in source.cells_with(*EXPORT_ROLES):
        module = source.roles[index][1]
        cell_flow = flow.cells[index]
        for name, line in cell_flow.defines.items():
            if name in cell_flow.imports:
                continue
            earlier = first.setdefault((module, name), index)
            if earlier != index:
                found.append(
                    f"{source.where(source.notebook.cells[index], line)}: warning: '{name}' is also defined by cell {earlier + 1}, "
                    "which is exported too; the later definition wins, as in the notebook (NB209)"
                )
    return found


# --- modules ---------------------------------------------------------------------------------------------


def _printable(text: str) -> str:
    """``text`` safe inside a comment or docstring: control, separator and surrogate characters escaped."""
    if text.isprintable():  # none of those categories (nor any other unprintable one): nothing to escape
        return text
    return "".join(
        char.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs")
        else char
        for char in text
    )


def _provenance(source: _Source, cell: Cell) -> Provenance:
    return Provenance(source.shown, cell.index, cell.id)


def _block(source: _Source, piece: _Piece) -> str:
    cell = piece.cell
    identity = f"cell {cell.number} (id {cell.id})" if cell.id else f"cell {cell.number}"
    return f"# -- from {_printable(source.shown)}, {identity} --\n{piece.code}"


def _joined(blocks: Iterable[str]) -> str:
    text = "\n\n\n".join(blocks)
    return text + "\n" if text else ""


def _docstring(text: str) -> str:
    """A one-line docstring literal holding ``text``."""
    return '"""' + _printable(text).replace("\\", "\\\\").replace('"', '\\"') + '"""'


def _modules(owners: dict[str, _Source]) -> tuple[list[ModulePlan], list[ast.Module | None]]:
    """Every module's (unformatted) code and names, sorted by module name; and the AST of each code, when its cells' make it."""
    modules = []
    trees: list[ast.Module | None] = []
    for module in sorted(owners):
        source = owners[module]
        pieces = _module_pieces(source, module)
        body = _joined(_block(source, piece) for piece in pieces)
        features = sorted({feature for piece in pieces for feature in piece.future})
        names = sorted(_bound_names(source, pieces, body) - {"__all__", *features})
        public = _public_names(pieces, set(names))
        head = [_docstring(f"Exported by nb2prod from {source.shown}.")]
        if features:
            head.append(f"from __future__ import {', '.join(features)}")
        head.append("__all__ = [" + ", ".join(f'"{name}"' for name in public) + "]")
        code = "\n\n".join(head) + ("\n\n\n" + body if body else "\n")
        blocks = tuple(_provenance(source, piece.cell) for piece in pieces)
        modules.append(ModulePlan(module, (source.shown,), code, tuple(public), tuple(names), blocks))
        trees.append(_joined_tree(head, pieces))
    return modules, trees


def _joined_tree(head: Sequence[str], pieces: Sequence[_Piece]) -> ast.Module | None:
    """The AST of a module's code made from its cells' own trees (the dataflow parsed them), when each is exact.

    The formatter's result is verified against it instead of parsing the whole module again. The
    head (docstring, ``__future__`` import, ``__all__``) is small and parsed; the provenance lines
    between the cells are comments.
    """
    if not all(piece.exact and piece.tree is not None for piece in pieces):
        return None
    body = [*parse_quietly("\n\n".join(head)).body]
    for piece in pieces:
        body.extend(piece.tree.body)  # type: ignore[union-attr]  # checked above
    return ast.Module(body=body, type_ignores=[])


def _bound_names(source: _Source, pieces: Sequence[_Piece], body: str) -> set[str]:
    """The names the module's code leaves bound at top level.

    Each cell's dataflow analysis already lists what it binds; joined, they are the module's, unless
    the cells interact in ways only a whole analysis sees: a ``del`` (of another cell's name), a
    removed nb2prod import (the cell's other statements may bind the same name), a magic turned into
    Python. Then the module's code is analysed as one.
    """
    flows = [source.context.flow.cells[piece.cell.index] for piece in pieces]
    if any(flow.deletes or flow.magics for flow in flows) or any(piece.removed for piece in pieces):
        return set(analyze_cell(body).defines) if body else set()
    return {name for flow in flows for name in flow.defines}


def _module_pieces(source: _Source, module: str) -> list[_Piece]:
    """The pieces that make ``module``'s code, in notebook order."""
    return [piece for piece in source.pieces if piece.role in EXPORT_ROLES and piece.module == module and piece.code]


def _check_nb2prod_uses(sources: Sequence[_Source], names: dict[str, set[str]]) -> None:
    """Exported and test code may not use what removed nb2prod imports bound: the package has no nb2prod at run time."""
    for source in sources:
        removed = set().union(*(piece.removed for piece in source.pieces))
        if not removed:
            continue
        for piece in source.pieces:
            if piece.role == "main":
                continue  # the entry point binds `nb2prod` and `record` itself
            use = next((use for use in analyze_cell(piece.code).uses if use.name in removed - names[piece.module]), None)
            if use is not None:
                raise ExportError(
                    f"{_ROLE_WORDS[piece.role]} cell {piece.cell.number} uses '{use.name}' from nb2prod, which the package does not "
                    "depend on",
                    path=source.where(piece.cell, piece.lines[use.line - 1]),
                    hint="record metrics with `nb2prod.record(name, value)` in a `main` cell, where the entry point provides it",
                )


_TYPE_ALIAS = getattr(ast, "TypeAlias", ())  # `type X = ...`, Python 3.12+


def _definitions(body: Sequence[ast.stmt]) -> Iterable[tuple[str, ast.stmt]]:
    """Names the top-level statements bind through def, class, assignment or ``type`` (imports, loops and blocks do not count)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name, node
        elif isinstance(node, ast.Assign):
            yield from ((name, node) for target in node.targets for name in _target_names(target))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            yield from ((name, node) for name in _target_names(node.target))
        elif isinstance(node, _TYPE_ALIAS):
            yield node.name.id, node


def _target_names(target: ast.expr) -> Iterable[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)


def _is_patch(node: ast.stmt) -> bool:
    """A fastcore ``@patch``-style function (a method added to a class, not a module name); nbdev leaves it out."""
    for decorator in getattr(node, "decorator_list", []):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id.startswith("patch"):
            return True
    return False


def _nbdev_all(node: ast.stmt) -> list[str]:
    """The names listed by nbdev's ``_all_ = ["name", other]``."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    if not any(isinstance(target, ast.Name) and target.id == "_all_" for target in targets):
        return []
    value = getattr(node, "value", None)
    if not isinstance(value, (ast.List, ast.Tuple)):
        return []
    listed = []
    for element in value.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            listed.append(element.value)
        elif isinstance(element, ast.Name):
            listed.append(element.id)
    return listed


def _public_names(pieces: Sequence[_Piece], names: set[str]) -> list[str]:
    """``__all__`` by nbdev's rules and in its order (see the module docstring); only names the module binds, so ``import *`` works.

    nbdev's order: the assigned names, then the ``def`` and ``class`` names, each in notebook order,
    then the names of ``_all_`` lists; a name once, where it first comes.
    """
    assigned: list[str] = []
    defined: list[str] = []
    listed: list[str] = []
    for piece in pieces:
        if piece.role != "export":
            continue
        body = (piece.tree if piece.tree is not None else ast.parse(piece.code)).body
        for name, node in _definitions(body):
            if not name.startswith("_") and not _is_patch(node):
                (defined if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else assigned).append(name)
        listed.extend(name for node in body for name in _nbdev_all(node))
    return [name for name in dict.fromkeys([*assigned, *defined, *listed]) if name in names]


# --- formatting ------------------------------------------------------------------------------------------


def _format(
    modules: list[ModulePlan], trees: Sequence[ast.Module | None], main_code: str, tests: list[TestPlan], formatter: str, start: Path
) -> tuple[list[ModulePlan], str, list[TestPlan]]:
    """Format every generated source in one formatter run, as ``nb2prod fmt`` would format a notebook in ``start``'s folder.

    ``trees`` holds the AST of each module's code where its cells' trees make it (else None).
    """
    from ..formatting import format_cells  # imports the formatter machinery only when exporting

    sources = [module.code for module in modules] + [main_code] + [test.code for test in tests]
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text} for text in sources]
    try:
        formatted = format_cells(
            {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4},
            formatter,
            start=start,
            plain=True,
            stable=False,
            trees={index: tree for index, tree in enumerate(trees) if tree is not None},
        )
    except Nb2prodError as error:
        raise ExportError(f"formatting the generated code with {formatter} failed: {error.message}", hint=error.hint) from None
    texts = [text.rstrip("\n") + "\n" if text.strip() else "" for text in (cell["source"] for cell in formatted["cells"])]
    # The modules are compiled once, as the files they are written to (package.module_files).
    modules = [replace(module, code=text) for module, text in zip(modules, texts[: len(modules)], strict=True)]
    main_code = texts[len(modules)]
    _must_compile(main_code, "the entry point")
    tests = [replace(test, code=text.rstrip("\n")) for test, text in zip(tests, texts[len(modules) + 1 :], strict=True)]
    for test in tests:
        _must_compile(test.code, test.name)
    return modules, main_code, tests


# --- the rest of the plan ----------------------------------------------------------------------------------


def _is_record(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id == "record"
    return isinstance(func, ast.Attribute) and func.attr == "record" and isinstance(func.value, ast.Name) and func.value.id == "nb2prod"


def _recorded(code: str) -> list[str]:
    """The literal metric names of ``record("name", v)`` / ``nb2prod.record("name", v)`` calls, in source order."""
    calls = [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call) and _is_record(node.func)]
    found = []
    for call in sorted(calls, key=lambda node: (node.lineno, node.col_offset)):
        argument = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "name"), None)
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            found.append(argument.value)
    return found


def _first_importers(sources: Sequence[_Source]) -> dict[str, str]:
    """Top-level import name -> the first cell (``path:cell N``) bound for the package that imports it; test cells aside."""
    first: dict[str, str] = {}
    for source in sources:
        for piece in source.pieces:
            if piece.role == "test":
                continue
            tree = piece.tree if piece.tree is not None else ast.parse(piece.code)
            for node in import_statements(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    names = [node.module] if node.level == 0 and node.module else []
                for name in names:
                    first.setdefault(name.partition(".")[0], source.where(piece.cell))
    return first


def _unknown_import_warning(name: str, where: str | None) -> str:
    """A warning for an import no installed distribution provides, at ``where``: the first cell that imports it."""
    return (
        f"{where + ': ' if where else ''}warning: no installed distribution provides the import '{name}'; the package requires "
        f"'{name}' without a version (install it and export again, or correct the requirement)"
    )


_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$")
_INLINE = (
    (re.compile(r"^ {0,3}> ?", re.MULTILINE), ""),  # block quotes (nbdev's `> summary` line)
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # HTML tags
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # emphasis
    (re.compile(r"`([^`]*)`"), r"\1"),  # code
)


def _plain(markdown: str) -> str:
    """Markdown as plain text: inline markup removed, lines kept, runs of blank lines collapsed."""
    for pattern, replacement in _INLINE:
        markdown = pattern.sub(replacement, markdown)
    lines = [line.rstrip() for line in markdown.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _title_and_description(notebook: Notebook) -> tuple[str, str]:
    """The first ``# `` heading and the markdown after it, up to the first code cell or the next heading (plain text)."""
    title = ""
    parts: list[str] = []
    for cell in notebook.cells:
        if title and cell.cell_type == "code":
            break
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        start = 0
        if not title:
            found = next(((i, m) for i, line in enumerate(lines) if (m := _HEADING.match(line)) and len(m.group(1)) == 1), None)
            if found is None:
                continue
            start, match = found[0] + 1, found[1]
            title = _plain(match.group(2))
        stop = next((i for i in range(start, len(lines)) if _HEADING.match(lines[i])), None)
        parts.append("\n".join(lines[start:stop]))
        if stop is not None:
            break
    return title, _plain("\n\n".join(parts))


def _source_hash(sources: Sequence[_Source], package: str, all_cells: bool, formatter: str, title: str, description: str) -> str:
    """sha256 over what decides the generated code: the marked cells, their roles and modules, the parameters, the options."""
    notebooks = []
    for source in sources:
        parameters = parameters_cell(source.notebook)
        cells = source.notebook.cells
        marked = [[index, cells[index].id, role, module, cells[index].source] for index, (role, module) in source.roles.items()]
        notebooks.append({"path": source.shown, "parameters": parameters.source if parameters else None, "cells": marked})
    content = {
        "options": {"package": package, "all_cells": all_cells, "formatter": formatter},
        "card": [title, description],
        "notebooks": notebooks,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=True).encode("ascii")).hexdigest()
