"""The Jinja templates the exported project is made of: where they are, the environment that renders them, its cache.

The templates are the top-level ``templates/`` folder (shipped inside the wheel as ``nb2prod/templates``);
a ``template_dir`` overrides them file by file.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ExportError
from .pysource import python_string


def builtin_template_dir() -> Path:
    """The folder of nb2prod's own templates: inside the installed package, else the source checkout's.

    A wheel carries them as ``nb2prod/templates`` (``force-include`` in pyproject.toml); an editable
    install or a source checkout has them in the repository's top-level ``templates/``.
    """
    shipped = importlib.resources.files("nb2prod") / "templates"
    if isinstance(shipped, Path) and shipped.is_dir():
        return shipped
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if checkout.is_dir():
        return checkout
    raise ExportError("nb2prod's templates are missing from its installation", hint="reinstall nb2prod")


def template_environment(template_dir: Path | None) -> Any:
    """A Jinja environment that looks in ``template_dir`` first, then in the built-in templates.

    The built-in templates are also reachable as ``nb2prod/<name>``, so an override can
    ``{% include "nb2prod/README.md.j2" %}`` (or extend) the template it replaces. Without
    ``template_dir`` one environment serves the whole process, so each template compiles once.
    """
    return _builtin_environment() if template_dir is None else _new_environment(template_dir)


@functools.cache
def _builtin_environment() -> Any:
    return _new_environment(None)


#: The template of a module file: all that ``--into`` and the nbconvert exporter render.
MODULE_TEMPLATE = "package/module.py.j2"


def _new_environment(template_dir: Path | None) -> Any:
    import jinja2

    builtin = os.fspath(builtin_template_dir())
    folders = [builtin]
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise ExportError("no such template folder", path=os.fspath(template_dir), hint="pass a folder holding .j2 templates")
        folders.insert(0, os.fspath(template_dir))
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(folders), jinja2.PrefixLoader({"nb2prod": jinja2.FileSystemLoader(builtin)})])
    environment = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        bytecode_cache=_template_cache(),
    )
    environment.filters["toml"] = lambda value: json.dumps(value, ensure_ascii=False)
    environment.filters["pystr"] = python_string
    return environment


def _template_cache() -> Any:
    """Jinja's cache of compiled templates, in its per-user folder of the temporary directory; None if it cannot be had.

    Compiling the seven templates took about a tenth of exporting a notebook. The cache is keyed by
    template path and checked against the template's text, so an edited template compiles again.
    Failing to read or write it only costs the compilation.
    """
    import jinja2

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Any) -> None:
            with contextlib.suppress(OSError):
                super().load_bytecode(bucket)

        def dump_bytecode(self, bucket: Any) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    try:
        return QuietCache(pattern="nb2prod-%s.cache")
    except (OSError, RuntimeError):  # no safe folder (another user owns it, a read-only temporary directory)
        return None


def render_template(environment: Any, template: str, context: Mapping[str, Any]) -> str:
    """Render ``template`` with ``context`` (ending with one newline); a template error is an ``ExportError`` naming it."""
    import jinja2

    try:
        text = environment.get_template(template).render(**context)
    except jinja2.TemplateError as error:
        where = getattr(error, "filename", None) or template
        line = getattr(error, "lineno", None)
        raise ExportError(f"template {where}{f', line {line}' if line else ''}: {error}", hint="fix the template") from None
    return text.rstrip("\n") + "\n"
