"""The code half of ``nb2prod export``: from marked notebook cells to an :class:`~nb2prod.export.plan.ExportPlan`.

:func:`build_plan` decides everything about the code of the package and writes nothing: which cells
go to which module, each module's source and ``__all__``, the entry point's body and parameters,
the tests, the dependencies. It never executes notebook code; it reads the notebooks through the
same views lint uses (:class:`~nb2prod.lint.context.LintContext`: the IPython transform, the ASTs
and the dataflow analysis of rule NB201, computed once).

This module puts the plan together; each concern lives in its own module: names (:mod:`.names`),
cell selection (:mod:`.select`), one cell's code (:mod:`.cells`), the checks across cells
(:mod:`.checks`), each module's source and ``__all__`` (:mod:`.modules`), the model card's title
and description (:mod:`.card`), dependencies (:mod:`.deps`). This docstring states their rules.

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
description and the options. Warnings are one line each, ``path:cell N:line L: warning: …``; they
include lint's NB2 findings in the exported cells, as lint prints them (:mod:`.findings`).
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..config import FORMATTERS, Config
from ..errors import ExportError, Nb2prodError, ParameterError, UsageError
from ..lint.context import LintContext
from ..notebook import Notebook
from ..params import Parameter, notebook_parameters, parameters_cell
from .card import title_and_description
from .cells import cell_piece, must_compile
from .checks import check_names, check_nb2prod_uses, duplicate_warnings
from .deps import import_statements, infer_dependencies
from .findings import lint_warnings
from .mltests import NO_ML_TESTS_TAG, MLTestPlan, plan_ml_tests
from .modules import block, joined, module_pieces, module_plans, provenance
from .names import RESERVED_MODULES, RESERVED_WHEN_MODULES_ONLY, package_name, project_name
from .plan import Dependency, ExportPlan, ModulePlan, TestPlan
from .select import Source, check_modules, main_source_of, select_cells

_MARK_HINT = (
    "tag the cells to export `export` (or start them with a `#| export` line), the pipeline's cells `main` and tests `test`; "
    "or export every code cell with `--all`"
)


def build_plan(
    notebooks: Sequence[Notebook],
    *,
    name: str | None = None,
    all_cells: bool = False,
    formatter: str = "ruff",
    modules_only: bool = False,
    config: Config | None = None,
) -> ExportPlan:
    """Decide the code of the package exported from ``notebooks`` (see the module docstring); writes nothing.

    ``name`` is the package's import name (default: the stem of a single notebook, else the name of
    the notebooks' common folder), made a valid identifier; the distribution name is it
    PEP 503-normalized (:mod:`nb2prod.export.names`). ``all_cells`` exports every code cell that
    has no role. ``formatter`` is ``ruff`` or ``black``. ``modules_only``: only the modules will be
    written (``--into``, the nbconvert exporter), so no requirements are inferred (nor warned about)
    and ``cli`` is a module name like any other. ``config``: the project's configuration, whose
    lint settings decide which NB2 findings the warnings report (default: nb2prod's defaults). The
    same notebooks and options give an equal plan. Raises ``ExportError`` naming the notebook and
    cell (``path:cell N:line L``) for everything that would make a broken package (a parameters
    cell the entry point cannot use included), ``UsageError`` for an unknown formatter.
    """
    if formatter not in FORMATTERS:
        raise UsageError(f"unknown formatter '{formatter}'", hint="use ruff or black")
    if not notebooks:
        raise ExportError("no notebooks to export", hint="pass the notebooks (or a folder of notebooks) to export")
    package = package_name(name, notebooks)
    notes: list[str] = []
    sources = []
    for notebook in notebooks:
        context = LintContext(notebook)
        if context.is_python:
            sources.append(select_cells(notebook, context, all_cells, RESERVED_WHEN_MODULES_ONLY if modules_only else RESERVED_MODULES))
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
    owners = check_modules(marked)
    main_source = main_source_of(marked)
    for source in marked:
        source.pieces = [
            cell_piece(source, source.notebook.cells[index], role, module, package) for index, (role, module) in source.roles.items()
        ]
        check_names(source)
        notes.extend(duplicate_warnings(source))
    notes.extend(lint_warnings(marked, config if config is not None else Config()))

    modules, module_trees = module_plans(owners)
    check_nb2prod_uses(marked, {module.name: set(module.names) for module in modules})
    main_pieces = [piece for piece in main_source.pieces if piece.role == "main" and piece.code] if main_source else []
    main_code = joined(block(main_source, piece) for piece in main_pieces) if main_source else ""
    tests = [
        TestPlan(f"test_{piece.module}_cell_{piece.cell.number}", piece.module, piece.code, provenance(source, piece.cell))
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
        coded = [piece for module in sorted(owners) for piece in module_pieces(owners[module], module)] + main_pieces
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
    title, description = title_and_description(card.notebook)
    ml_tests = None if modules_only else _ml_tests(modules, main_code, parameters, marked, config if config is not None else Config())
    return ExportPlan(
        package=package,
        distribution=project_name(package),
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
        ml_tests=ml_tests,
    )


def _ml_tests(
    modules: Sequence[ModulePlan], main_code: str, parameters: Sequence[Parameter], marked: Sequence[Source], config: Config
) -> MLTestPlan:
    """The generated ML sanity tests; names defined in cells tagged ``no-ml-tests`` get no role."""
    excluded: set[str] = set()
    for source in marked:
        for piece in source.pieces:
            if NO_ML_TESTS_TAG in piece.cell.tags and piece.tree is not None:
                for node in piece.tree.body:
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        excluded.add(node.name)
                    elif isinstance(node, ast.Assign):
                        excluded.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return plan_ml_tests(
        [(module.name, module.code) for module in modules],
        main_code=main_code,
        parameters={parameter.name: parameter.default for parameter in parameters},
        excluded=excluded,
        enabled=config.ml_tests.enabled,
        skip=config.ml_tests.skip,
    )


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
    must_compile(main_code, "the entry point")
    tests = [replace(test, code=text.rstrip("\n")) for test, text in zip(tests, texts[len(modules) + 1 :], strict=True)]
    for test in tests:
        must_compile(test.code, test.name)
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


def _first_importers(sources: Sequence[Source]) -> dict[str, str]:
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


def _source_hash(sources: Sequence[Source], package: str, all_cells: bool, formatter: str, title: str, description: str) -> str:
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
