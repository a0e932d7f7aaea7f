"""From an :class:`~nb2prod.export.plan.ExportPlan` to the files of an installable project, written safely.

``render_package`` turns a plan into ``{relative path: text}`` through the Jinja templates of the
top-level ``templates/`` folder (shipped inside the wheel as ``nb2prod/templates``; a
``template_dir`` overrides them file by file). ``write_package`` writes such a mapping into a
folder. Nothing here reads notebooks or decides what the code is: that is ``build_plan``'s job.

The project::

    pyproject.toml              name, version 0.1.0, requires-python, pinned dependencies, console script
    README.md                   the model card: title, description, parameters, metrics, install and run
    src/<package>/__init__.py   re-exports the modules' ``__all__``
    src/<package>/<module>.py   one per module of the plan
    src/<package>/cli.py        the entry point (only when the notebook has ``main`` cells)
    tests/test_<module>.py      one pytest test per ``test`` cell
    tests/test_cli.py           smoke test: the package imports, the entry point's ``--help`` works
    tests/test_ml_<module>.py   the generated ML sanity tests (nb2prod.export.mltests)
    tests/fixtures/             their data: profile.txt (from a data profile), sample.csv (--capture-sample)

The entry point runs without nb2prod: standard-library ``argparse`` only. Its ``run(**parameters)``
holds the ``main`` cells with the parameters as local names, a ``record(name, value)`` and an
``nb2prod`` object whose ``.record`` collect the metrics (``build_plan`` has already removed the
main cells' ``import nb2prod``). The names the main and test cells use are imported from the
modules that define them (an absolute import a module makes is repeated as is).

The Python files are run through the formatter the modules were formatted with, configured as
``nb2prod fmt`` would be (``formatter`` and ``start``); without a formatter the templates' own
layout is kept, which is already formatted for the default line length.


Files are written by :func:`nb2prod.export.write.write_package`, each with its header
(:mod:`nb2prod.export.write`); the Jinja environment is :mod:`nb2prod.export.templates`.
"""

from __future__ import annotations

import ast
import functools
import json
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ExportError, Nb2prodError
from ..lint.dataflow import BUILTIN_NAMES, analyze_cell
from ..params import Parameter
from ..text import printable
from .mltests import fixture_files, render_context
from .names import import_name_problem, project_name_problem
from .plan import ExportPlan, ModulePlan, Provenance, TestPlan
from .pysource import docstring, function_body, import_from, list_literal, python_literal, python_string
from .templates import MODULE_TEMPLATE, blame_template, render_template, template_environment
from .validate import check_files, check_python
from .write import with_header

#: Version of every exported project (a fresh export starts at 0.1.0; bump it in pyproject.toml by hand).
PROJECT_VERSION = "0.1.0"
#: How dependencies are pinned: ``~=`` (compatible release) or ``==`` (exact).
PINS = ("compatible", "exact")
#: Names the entry point's module defines or that every module can read.
_ALWAYS_DEFINED = BUILTIN_NAMES | {"__file__", "__name__"}
#: Options the entry point has besides the parameters.
_RESERVED_OPTIONS = frozenset({"--help", "--metrics-json"})
_TYPE_NAMES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list", "dict": "dict", "any": "Any"}
_CONVERTERS = {"int": "int", "float": "float", "str": "str", "list": "_json_list", "dict": "_json_dict", "any": "_json_value"}
_METAVARS = {"int": "INT", "float": "FLOAT", "str": "TEXT", "list": "JSON", "dict": "JSON", "any": "VALUE"}


# --- names the generated code needs from the modules -----------------------------------------------


@dataclass(frozen=True)
class _ModuleNames:
    """What a module can give to code outside it: names to import from it, imports to repeat."""

    name: str
    defined: frozenset[str]
    code: str = field(repr=False)  # the module's source, parsed for ``imports`` only if a name is wanted from it

    @functools.cached_property
    def imports(self) -> Mapping[str, str]:
        """Name -> an absolute import statement at the module's top level that binds it, repeated as is."""
        tree = ast.parse(self.code)
        imports: dict[str, str] = {}
        rebound: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imports[alias.asname or alias.name.split(".")[0]] = f"import {ast.unparse(alias)}"
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
                for alias in node.names:
                    if alias.name != "*":
                        imports[alias.asname or alias.name] = f"from {node.module} import {ast.unparse(alias)}"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                rebound.add(node.name)
            else:
                rebound.update(child.id for child in ast.walk(node) if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store))
        return {name: text for name, text in imports.items() if name not in rebound}


def _module_names(module: ModulePlan) -> _ModuleNames:
    """``module.names`` (what ``build_plan`` found it binds) and, when first asked for, its top-level absolute imports."""
    return _ModuleNames(module.name, frozenset(module.names), module.code)


def _free_names(code: str) -> list[str]:
    """The names ``code`` reads without binding them first, in order of first use."""
    return list(dict.fromkeys(use.name for use in analyze_cell(code).uses))


def _resolve(
    names: Iterable[str], modules: Sequence[_ModuleNames], package: str, *, prefer: str | None, indent: str = ""
) -> tuple[list[list[str]], list[str]]:
    """Import statements that bind ``names`` and the names no module defines.

    The statements come in groups, as isort would separate them: the absolute imports a module
    makes, repeated as they are, then the imports from the package's modules (``prefer`` first).
    """
    ordered = sorted(modules, key=lambda module: module.name != prefer)
    repeated: set[str] = set()
    from_modules: dict[str, list[str]] = {}
    missing = []
    for name in names:
        owner = next((module for module in ordered if name in module.defined), None)
        if owner is None:
            missing.append(name)
        elif name in owner.imports:
            repeated.add(owner.imports[name])
        else:
            from_modules.setdefault(owner.name, []).append(name)
    groups = [
        sorted(repeated, key=lambda text: (text.startswith("from "), text)),
        [import_from(f"{package}.{module}", sorted(from_modules[module]), indent) for module in sorted(from_modules)],
    ]
    return [group for group in groups if group], missing


def _where(origin: Provenance) -> str:
    """``notebook:cell N``, as errors name a cell."""
    return f"{origin.notebook}:cell {origin.cell_index + 1}"


def _provenance_comment(origin: Provenance) -> str:
    """The comment before generated code from a cell, as ``build_plan`` writes it in modules."""
    identity = f"cell {origin.cell_index + 1}" + (f" (id {origin.cell_id})" if origin.cell_id else "")
    return f"# -- from {printable(' '.join(origin.notebook.split()))}, {identity} --"


# --- the entry point's options -------------------------------------------------------------------


@dataclass(frozen=True)
class _Option:
    """One parameter as an option of the entry point and an argument of ``run``."""

    name: str
    flag: str
    kind: str
    annotation: str
    converter: str
    metavar: str
    default: str  # argparse's default, Python source (list and dict defaults as JSON text)
    signature_default: str  # the default of ``run``'s argument (None for list and dict: no mutable defaults)
    value: str  # the default value, Python source
    help: str
    example: str  # the option on a command line, for README

    @classmethod
    def of(cls, parameter: Parameter) -> _Option:
        name, kind, default = parameter.name, parameter.type, parameter.default
        flag = "--" + name.strip("_").replace("_", "-")
        structured = kind in ("list", "dict") and default is not None
        optional = parameter.optional and kind != "any"
        converter = _CONVERTERS.get(kind, "")
        if optional and kind != "bool":
            converter = f"_optional({converter})"
        value = python_literal(default)
        if kind == "bool":
            example = f"--no-{flag[2:]}" if default else flag
        else:
            shown = json.dumps(default) if structured or default is None else str(default)
            example = f"{flag} {shlex.quote(shown)}"
        return cls(
            name=name,
            flag=flag,
            kind=kind,
            annotation=_TYPE_NAMES[kind] + (" | None" if optional or structured else ""),
            converter=converter,
            metavar=_METAVARS.get(kind, ""),
            default=python_string(json.dumps(default, ensure_ascii=False)) if structured else value,
            signature_default="None" if structured else value,
            value=value,
            help=(" ".join(parameter.help.split()) or f"the notebook's {name}").replace("%", "%%"),
            example=example,
        )


def _options(parameters: Sequence[Parameter]) -> list[_Option]:
    options = [_Option.of(parameter) for parameter in parameters]
    seen: dict[str, str] = {}
    for option in options:
        if option.flag in _RESERVED_OPTIONS or option.flag == "--":
            raise ExportError(
                f"the parameter '{option.name}' would be the entry point's option {option.flag}, which it needs for itself",
                hint="rename the parameter in the notebook's parameters cell",
            )
        if option.flag in seen:
            raise ExportError(
                f"the parameters '{seen[option.flag]}' and '{option.name}' would both be the option {option.flag}",
                hint="rename one of them in the notebook's parameters cell",
            )
        seen[option.flag] = option.name
    return options


def _check_plan(plan: ExportPlan, *, modules_only: bool = False) -> None:
    """The plan's names follow the packaging rules (:mod:`nb2prod.export.names`): checked before anything is rendered."""
    problem = import_name_problem(plan.package)
    if problem:
        raise ExportError(f"'{plan.package}' is not a valid package name: {problem}", hint="pass --name, e.g. --name churn_model")
    problem = None if modules_only else project_name_problem(plan.distribution)
    if problem:
        raise ExportError(f"'{plan.distribution}' is not a valid project name: {problem}", hint="pass --name, e.g. --name churn_model")
    names = [module.name for module in plan.modules]
    for name in names:
        if import_name_problem(name) or name in ("__init__", "__main__") or (name == "cli" and not modules_only):
            hint = "the package's cli.py is its entry point" if name == "cli" else "module names are Python identifiers"
            raise ExportError(f"cannot export a module named '{name}'", hint=f"{hint}; rename it with #| default_exp or #| export NAME")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ExportError(f"the plan holds the module {duplicates[0]} twice")


def render_package(
    plan: ExportPlan,
    *,
    pin: str = "compatible",
    template_dir: Path | None = None,
    nb2prod_version: str,
    formatter: str | None = None,
    start: Path | None = None,
) -> dict[str, str]:
    """Render every file of the project: ``{relative POSIX path: text}``, headers included, sorted by path.

    ``formatter`` (``ruff`` or ``black``) formats the Python files, configured from ``start``'s
    folder as ``nb2prod fmt`` would be; None keeps the templates' layout. Raises ``ExportError``
    when the plan cannot make a working package (a module named ``cli``, a parameter whose option
    clashes, main or test cells that use names no module defines or cannot run inside a function)
    or when a template fails or renders Python that does not compile.
    """
    if pin not in PINS:
        raise ExportError(f"unknown pin '{pin}'", hint="use compatible (~=) or exact (==)")
    _check_plan(plan)
    environment = template_environment(template_dir)
    modules = [_module_names(module) for module in plan.modules] if plan.main_code.strip() or plan.tests else []
    options = _options(plan.parameters)
    entry_point = bool(plan.main_code.strip())
    reexported = _reexported(plan)
    all_names = sorted({name for names in reexported.values() for name in names})
    notebooks = ", ".join(plan.notebooks) or plan.package
    context: dict[str, Any] = {
        "plan": plan,
        "nb2prod_version": nb2prod_version,
        "version": PROJECT_VERSION,
        "entry_point": entry_point,
        "options": options,
        "all_names": all_names,
        "notebooks_markdown": ", ".join(f"`{printable(notebook)}`" for notebook in plan.notebooks) or "its notebooks",
    }
    bodies: dict[str, tuple[str, Sequence[str]]] = {}
    templates: dict[str, str] = {}  # relative path -> the template that rendered it, named in the checks' errors

    def add(relative: str, template: str, sources: Sequence[str], **extra: Any) -> None:
        bodies[relative] = (render_template(environment, template, {**context, **extra}), sources)
        templates[relative] = template

    add(
        "pyproject.toml",
        "pyproject.toml.j2",
        plan.notebooks,
        requirements=[dependency.requirement(pin) for dependency in sorted(plan.dependencies, key=lambda d: d.distribution.lower())],
        summary=" ".join(plan.title.split()) or f"Exported by nb2prod from {notebooks}",
        requires_python=f">={sys.version_info.major}.{sys.version_info.minor}",
    )
    add(
        "README.md",
        "README.md.j2",
        plan.notebooks,
        title=" ".join(plan.title.split()) or plan.distribution,
        parameter_rows=[_readme_row(parameter) for parameter in plan.parameters],
        metrics_markdown=_and([f"`{name}`" for name in plan.recorded]),
    )
    add(
        f"src/{plan.package}/__init__.py",
        "package/__init__.py.j2",
        plan.notebooks,
        docstring=docstring(f"{plan.title or plan.package}: exported by nb2prod from {notebooks}."),
        reexports=[import_from(f".{module}", names) for module, names in reexported.items()],
    )
    if entry_point:
        add(f"src/{plan.package}/cli.py", "package/cli.py.j2", plan.notebooks, **_entry_point_context(plan, options, modules))
    for module_name, tests in _tests_by_module(plan):
        add(f"tests/test_{module_name}.py", "tests/test_module.py.j2", _origins(tests), **_tests_context(plan, module_name, tests, modules))
    ml_context = render_context(plan.ml_tests, plan.package) if plan.ml_tests is not None else None
    if ml_context is not None:
        reference = ml_context["reference"]
        if reference is not None:
            ml_context["reference_metrics"] = python_literal(dict(sorted(reference.metrics.items())))
            ml_context["reference_parameters"] = python_literal(dict(sorted(reference.parameters.items())))
            ml_context["reference_inputs"] = python_literal(dict(sorted(reference.inputs.items())))
        ml_context["import_line"] = import_from(f"{plan.package}.{ml_context['module']}", ml_context["names"])
        notebooks_ml = ", ".join(plan.notebooks) or plan.package
        ml_context["docstring"] = docstring(
            f"ML sanity tests of {plan.package}.{ml_context['module']}, generated by nb2prod from the roles found in "
            f"{notebooks_ml} ({', '.join(ml_context['tests'])}; `nb2prod export --explain-tests` says why)."
        )
        ml_context["manifest_literal"] = python_literal(ml_context["manifest"])
        ml_context["sample_literal"] = python_literal(ml_context["sample"])
        add(f"tests/test_ml_{ml_context['module']}.py", "tests/test_ml.py.j2", plan.notebooks, **ml_context)
        for relative, text in fixture_files(plan.ml_tests).items():
            bodies[relative] = (text, plan.notebooks)
    smoke = f"Smoke tests of {plan.package}: it imports" + (", and its entry point shows its options." if entry_point else ".")
    add(
        "tests/test_cli.py",
        "tests/test_cli.py.j2",
        plan.notebooks,
        docstring=docstring(smoke),
        all_names_literal=list_literal(all_names, indent=f"    assert sorted({plan.package}.__all__) == "),
    )
    python = sorted(relative for relative in bodies if relative.endswith(".py"))
    for relative in python:
        with blame_template(environment, templates.get(relative)):
            check_python(bodies[relative][0], relative)  # before the formatter, which would report it less clearly
    if formatter is not None:
        texts = _formatted([bodies[relative][0] for relative in python], formatter, start)
        bodies.update({relative: (text, bodies[relative][1]) for relative, text in zip(python, texts, strict=True)})
    files = {relative: with_header(relative, *bodies[relative], nb2prod_version) for relative in bodies}
    for relative, text in files.items():
        with blame_template(environment, templates.get(relative)):
            check_files({relative: text})
    prefix = f"src/{plan.package}/"
    files.update(
        {prefix + name: text for name, text in module_files(plan, nb2prod_version=nb2prod_version, environment=environment).items()}
    )
    return {relative: files[relative] for relative in sorted(files)}


def module_files(plan: ExportPlan, *, nb2prod_version: str, template_dir: Path | None = None, environment: Any = None) -> dict[str, str]:
    """The module files alone, ``{"<module>.py": text}``: what ``--into`` and the nbconvert exporter write.

    The modules' code comes formatted from ``build_plan``; the template (``package/module.py.j2``)
    only places it, so it is not formatted again. Each file is checked to compile, header included.
    """
    _check_plan(plan, modules_only=True)
    environment = environment if environment is not None else template_environment(template_dir)
    files = {}
    for module in plan.modules:
        relative = f"{module.name}.py"
        body = render_template(environment, MODULE_TEMPLATE, {"plan": plan, "module": module, "nb2prod_version": nb2prod_version})
        files[relative] = with_header(relative, body, module.notebooks, nb2prod_version)
    with blame_template(environment, MODULE_TEMPLATE):
        check_files(files)
    return files


def _formatted(sources: Sequence[str], formatter: str, start: Path | None) -> list[str]:
    """``sources`` formatted in one formatter run, as ``nb2prod fmt`` formats cells (the same verification)."""
    from ..formatting import format_cells

    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text} for text in sources]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    try:
        formatted = format_cells(notebook, formatter, start=start, plain=True, stable=False)
    except Nb2prodError as error:
        raise ExportError(f"formatting the generated files with {formatter} failed: {error.message}", hint=error.hint) from None
    return [cell["source"].rstrip("\n") + "\n" for cell in formatted["cells"]]


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _readme_row(parameter: Parameter) -> dict[str, str]:
    def cell(text: str) -> str:
        return printable(" ".join(text.split())).replace("|", "\\|")

    kind = parameter.type + (" or None" if parameter.optional and parameter.type != "any" else "")
    return {
        "name": parameter.name,
        "type": kind,
        "default": cell(python_literal(parameter.default)).replace("`", "'"),
        "help": cell(parameter.help),
    }


def _reexported(plan: ExportPlan) -> dict[str, list[str]]:
    """Module -> the names ``__init__.py`` imports from it; a name two modules export comes from the later one."""
    owner: dict[str, str] = {}
    for module in plan.modules:
        for name in module.all_names:
            owner[name] = module.name
    result: dict[str, list[str]] = {}
    for module in plan.modules:
        names = sorted(name for name in module.all_names if owner[name] == module.name)
        if names:
            result[module.name] = list(dict.fromkeys(names))
    return result


def _entry_point_context(plan: ExportPlan, options: Sequence[_Option], modules: Sequence[_ModuleNames]) -> dict[str, Any]:
    code = plan.main_code.strip("\n")
    body = function_body(code, what="the main cells", path=", ".join(plan.notebooks) or None)
    free = _free_names(code)
    parameters = {option.name for option in options}
    wanted = [name for name in free if name not in parameters | _ALWAYS_DEFINED | {"record", "nb2prod"}]
    imports, missing = _resolve(wanted, modules, plan.package, prefer=plan.main_module, indent="    ")
    if missing:
        raise ExportError(
            f"the main cells use {_and([repr(name) for name in missing])}, which no exported cell defines",
            path=", ".join(plan.notebooks) or None,
            hint="tag the cells that define them export, or define them in a main cell",
        )
    notebooks = ", ".join(plan.notebooks) or plan.package
    return {
        "docstring": docstring(f"Entry point of {plan.package}: the main cells of {notebooks}, with its parameters as options."),
        "description": " ".join(plan.title.split()) or f"Run the pipeline of {notebooks}.",
        "json_kinds": [kind for kind in ("list", "dict") if any(option.kind == kind for option in options)],
        "any_kind": any(option.kind == "any" for option in options),
        "optional_kinds": any(option.converter.startswith("_optional(") for option in options),
        "imports": imports,
        "uses_record": "record" in free,
        "uses_nb2prod": "nb2prod" in free,
        "body": body,
    }


def _tests_by_module(plan: ExportPlan) -> list[tuple[str, list[TestPlan]]]:
    order = [module.name for module in plan.modules]
    grouped: dict[str, list[TestPlan]] = {}
    for test in plan.tests:
        grouped.setdefault(test.module, []).append(test)
    return sorted(grouped.items(), key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0]))


def _origins(tests: Sequence[TestPlan]) -> list[str]:
    return list(dict.fromkeys(test.origin.notebook for test in tests))


def _tests_context(plan: ExportPlan, module_name: str, tests: Sequence[TestPlan], modules: Sequence[_ModuleNames]) -> dict[str, Any]:
    rendered = []
    wanted: dict[str, None] = {}
    names_used: set[str] = set()
    for test in tests:
        code = test.code.strip("\n")
        body = function_body(code, what="the test cell", path=_where(test.origin))
        free = [name for name in _free_names(code) if name not in _ALWAYS_DEFINED]
        _, missing = _resolve(free, modules, plan.package, prefer=test.module)
        if missing:
            raise ExportError(
                f"the test cell uses {_and([repr(name) for name in missing])}, which no exported cell defines",
                path=_where(test.origin),
                hint="tag the cells that define them export, or define them in the test cell",
            )
        wanted.update(dict.fromkeys(free))
        name = test.name if test.name.isidentifier() and test.name.startswith("test") else f"test_{test.name}"
        while name in names_used:
            name += "_"
        names_used.add(name)
        rendered.append({"name": name, "comment": _provenance_comment(test.origin), "body": body})
    imports, _ = _resolve(wanted, modules, plan.package, prefer=module_name)
    notebooks = ", ".join(_origins(tests))
    return {
        "docstring": docstring(f"Tests of {plan.package}.{module_name}, from the test cells of {notebooks}."),
        "imports": imports,
        "tests": rendered,
    }
