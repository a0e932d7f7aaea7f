"""``nb2prod.export``: from marked notebook cells to an installable package.

``export(paths, ...)`` reads the notebooks, decides the code (:func:`nb2prod.export.codegen.build_plan`),
renders the project from the templates (:mod:`nb2prod.export.package`) and writes it (:mod:`nb2prod.export.write`), returning an
:class:`ExportResult`. Where things go:

- ``out``: the project folder (``pyproject.toml`` lands in it); default ``build/<distribution>``
  under the current folder, so ``nb2prod export notebooks/train.ipynb`` writes ``build/train/``.
- ``into``: an existing package folder (``src/mypkg``) that receives only the module files, each
  with its header; the package's ``__init__.py``, entry point, tests, README and pyproject.toml
  stay the project's own. Modules that import each other use the package name: pass ``name``
  (``--name``) with the import name of that package.

``check`` writes nothing and reports stale files; ``diff`` writes nothing and adds unified diffs;
``force`` overwrites files edited by hand. See :func:`nb2prod.export.write.write_package`.

``nb2prod.export`` is both this package and the function: a package cannot be a function, so the
package object is made callable, and ``nb2prod.export(paths, ...)`` runs :func:`export` whatever
was imported first.
"""

from __future__ import annotations

import hashlib
import os
import sys
import types
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .._version import __version__
from ..config import FORMATTERS, config_for
from ..discover import discover
from ..errors import ExportError, Nb2prodError, UsageError
from ..notebook import Notebook, read_notebook
from .mltests import Reference, TestData, with_data, with_reference
from .package import PINS, module_files, render_package
from .write import ExportResult, write_package

__all__ = ["DEFAULT_OUT", "ExportResult", "export", "read_notebooks"]

#: The folder the project goes to without ``out``: ``build/<distribution>``.
DEFAULT_OUT = Path("build")


def read_notebooks(paths: Sequence[str | os.PathLike[str]], *, exclude: Sequence[str] = (), root: Path | None = None) -> list[Notebook]:
    """Find and read the notebooks under ``paths``; raise one error naming every input that cannot be read."""
    found = discover(paths, exclude=exclude, root=root)
    errors: list[Nb2prodError] = list(found.errors)
    notebooks = []
    for shown, path in found.notebooks:
        try:
            notebooks.append(read_notebook(path, display_path=shown))
        except Nb2prodError as error:
            errors.append(error)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        listed = "; ".join(f"{error.path}: {error.message}" if error.path else error.message for error in errors)
        raise ExportError(f"{len(errors)} inputs cannot be read: {listed}", hint="nothing was exported")
    if not notebooks:
        hint = "pass .ipynb files or folders that hold them"
        if len(paths) == 1:
            raise ExportError("no notebooks found here", path=os.fspath(paths[0]), hint=hint)
        raise ExportError(f"no notebooks found in {', '.join(os.fspath(path) for path in paths)}", hint=hint)
    return notebooks


def export(
    paths: Sequence[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str] | None = None,
    name: str | None = None,
    into: str | os.PathLike[str] | None = None,
    check: bool = False,
    diff: bool = False,
    force: bool = False,
    pin: str = "compatible",
    template_dir: str | os.PathLike[str] | None = None,
    all_cells: bool = False,
    formatter: str | None = None,
    reference_run: Reference | None = None,
    audit_dir: str | os.PathLike[str] | None = None,
    data_profile: Mapping[str, Any] | None = None,
    profile_origin: str = "",
    capture_sample: int | None = None,
    redact: Sequence[str] = (),
) -> ExportResult:
    """Export the notebooks under ``paths`` into a package (see the module docstring); return what was written.

    ``name`` is the package's import name, ``pin`` ``compatible`` (``~=``) or ``exact`` (``==``),
    ``template_dir`` a folder of templates that override the built-in ones file by file,
    ``all_cells`` exports every code cell without a role, ``formatter`` (``ruff``/``black``)
    overrides ``[tool.nb2prod.lint] formatter``, ``reference_run`` the recorded run whose metrics
    the generated test T13 re-computes through the entry point. With ``audit_dir`` (a runs folder) an
    export that writes appends a line to its audit trail (``nb2prod.audit``): the notebooks' and the
    package files' sha256. ``data_profile`` (an ``nb2prod.profile/1`` profile, from ``profile_origin``)
    gives the generated ML tests their synthesized data and T16; ``capture_sample`` N stores N real
    rows of the module's loader as their data; ``redact`` names columns kept out of both
    (:mod:`nb2prod.export.mltests.data`). Raises ``ExportError`` (nothing written) when the
    notebooks cannot make a package or a generated file was edited by hand (without ``force``).
    """
    from .codegen import build_plan

    if out is not None and into is not None:
        raise UsageError("--out and --into cannot be used together", hint="--into writes only the modules into an existing package")
    if pin not in PINS:
        raise UsageError(f"unknown pin '{pin}'", hint="use compatible (~=) or exact (==)")
    config = config_for(paths)
    chosen = formatter or config.lint.formatter
    if chosen not in FORMATTERS:
        raise UsageError(f"unknown formatter '{chosen}'", hint="use ruff or black")
    notebooks = read_notebooks(paths, exclude=config.exclude, root=config.root)
    plan = build_plan(notebooks, name=name, all_cells=all_cells, formatter=chosen, modules_only=into is not None, config=config)
    if plan.ml_tests is not None and reference_run is not None:
        names = {parameter.name for parameter in plan.parameters}
        given = {name: value for name, value in reference_run.parameters.items() if name in names}  # the entry point's options only
        reference_run = replace(reference_run, parameters=given)
        plan = replace(plan, ml_tests=with_reference(plan.ml_tests, reference_run, entry_point=bool(plan.main_code.strip())))
    if plan.ml_tests is not None and (data_profile is not None or capture_sample is not None):
        redacted = (*config.ml_tests.redact, *redact)
        data = _test_data(plan, data_profile, profile_origin, capture_sample, redacted, nb2prod_version=__version__)
        plan = replace(plan, ml_tests=with_data(plan.ml_tests, data))
    templates = Path(template_dir) if template_dir is not None else None
    if into is not None:
        target = Path(into)
        if not target.is_dir():
            raise ExportError("no such package folder", path=os.fspath(into), hint="--into takes an existing folder such as src/mypkg")
        files = module_files(plan, nb2prod_version=__version__, template_dir=templates)
    else:
        target = Path(out) if out is not None else DEFAULT_OUT / plan.distribution
        first = next((notebook for notebook in notebooks if notebook.display_path in plan.notebooks), notebooks[0])
        files = render_package(plan, pin=pin, template_dir=templates, nb2prod_version=__version__, formatter=chosen, start=first.path)
    result = write_package(files, target, check=check, diff=diff, force=force)
    if audit_dir is not None and not (check or diff):
        from .. import audit

        sources = {nb.display_path: hashlib.sha256(nb.raw).hexdigest() for nb in notebooks if nb.display_path in plan.notebooks}
        produced = {path: audit.sha256_file(path) for path in (*result.written, *result.unchanged)}
        audit.record_export(audit_dir, notebooks=sources, out=os.fspath(target), files=produced, written=list(result.written))
    return replace(result, warnings=plan.warnings, plan=plan)


def _test_data(
    plan: Any, profile: Mapping[str, Any] | None, origin: str, rows: int | None, redact: Sequence[str], *, nb2prod_version: str
) -> TestData | None:
    """The generated ML tests' data: the profile's spec and, with ``rows``, a sample captured from the module's loader."""
    from .mltests.capture import capture
    from .mltests.data import column_order, fixture_spec, redacted_columns, sample_csv

    roles = plan.ml_tests.chosen
    if roles is None:
        if rows:
            raise UsageError("--capture-sample: no ML tests are generated for these notebooks", hint="see nb2prod export --explain-tests")
        return None
    if rows is not None and rows < 1:
        raise UsageError(f"--capture-sample takes a number of rows, not {rows}", hint="e.g. --capture-sample 200")
    profiled = [str(name) for name in profile["columns"]] if profile is not None else []
    captured = None
    if rows:
        if roles.data is None:
            raise UsageError(
                f"--capture-sample needs a loader in module {roles.module}: a function such as load_data() that returns (X, y)",
                hint="export the cell that loads the data as a function, or use --profile for synthesized data",
            )
        target = profile.get("target") if profile is not None else None
        ordered = column_order(profile)[1] if profile is not None else False
        names = [name for name in profiled if name != target] if ordered else []  # an array's columns by position
        files = module_files(plan, nb2prod_version=nb2prod_version)
        captured = capture(files, package=plan.package, module=roles.module, loader=roles.data, rows=rows, names=names, target=target)
    known = [*profiled, *(captured["columns"] if captured is not None else [])]
    unknown = [name for name in redact if name not in known]
    if unknown:
        shown = ", ".join(list(dict.fromkeys(known))[:20]) or "none known"
        raise UsageError(f"cannot redact {unknown[0]!r}: not a column of the data (columns: {shown})", hint="check --redact-column")
    redacted = redacted_columns(list(dict.fromkeys(known)), redact)
    spec = fixture_spec(profile, frame=roles.pandas, redact=redacted) if profile is not None else None
    sample, meta = sample_csv(captured, redacted) if captured is not None else (None, {})
    return TestData(spec=spec, origin=origin, sample=sample, sample_meta=meta, redacted=redacted)


class _CallableModule(types.ModuleType):
    """The type of this package: ``nb2prod.export(paths, ...)`` calls :func:`export`."""

    def __call__(self, *args: Any, **kwargs: Any) -> ExportResult:
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
