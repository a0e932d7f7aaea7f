"""The Jinja templates the exported project is made of: where they are, the environment that renders them, its cache.

The templates are the top-level ``templates/`` folder (shipped inside the wheel as ``nb2prod/templates``);
a ``template_dir`` overrides them file by file.

Every template, built-in or the user's, renders in Jinja's immutable sandbox
(``jinja2.sandbox.ImmutableSandboxedEnvironment``): a template from ``--template-dir`` is code
someone else may have written, and an ordinary environment lets it reach any Python object
(``''.__class__.__mro__[1].__subclasses__()``, ``cycler.__init__.__globals__.os``). In the sandbox
attributes starting with ``_``, functions' and frames' internals, ``str.format`` on objects and
methods that change lists or dicts are refused: rendering stops with ``ExportError`` ("... is
unsafe"), exit 2, nothing written. A template that includes, imports or extends itself, directly
or through others, is an ``ExportError`` naming the cycle instead of a ``RecursionError``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import json
import os
import re
from collections.abc import Iterator, Mapping
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
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    builtin = os.fspath(builtin_template_dir())
    folders = [builtin]
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise ExportError("no such template folder", path=os.fspath(template_dir), hint="pass a folder holding .j2 templates")
        folders.insert(0, os.fspath(template_dir))
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(folders), jinja2.PrefixLoader({"nb2prod": jinja2.FileSystemLoader(builtin)})])
    environment = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        bytecode_cache=_template_cache(),
    )
    environment.filters["toml"] = toml_value
    environment.filters["pystr"] = python_string
    return environment


_SURROGATE = re.compile("[\ud800-\udfff]")


def toml_value(value: Any) -> str:
    """A TOML value for a string or a list of strings (the ``toml`` filter): valid TOML whatever the text holds.

    JSON's escapes are TOML's; TOML also wants DEL escaped, and a lone surrogate, which neither
    UTF-8 nor TOML can hold, becomes U+FFFD.
    """
    text = json.dumps(value, ensure_ascii=False)
    return _SURROGATE.sub("\ufffd", text).replace("\x7f", "\\u007f")


def _template_cache() -> Any:
    """Jinja's cache of compiled templates, in its per-user folder of the temporary directory; None if it cannot be had.

    Compiling the seven templates took about a tenth of exporting a notebook. The cache is keyed by
    template path and checked against the template's text, so an edited template compiles again.
    Failing to read or write it only costs the compilation. The sandbox compiles templates into
    other code than an ordinary environment does (every call goes through its checks), so its files
    are named apart (``nb2prod-sandbox-*``): code an ordinary environment compiled, by an earlier
    nb2prod, is never loaded into the sandbox.
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
        return QuietCache(pattern="nb2prod-sandbox-%s.cache")
    except (OSError, RuntimeError):  # no safe folder (another user owns it, a read-only temporary directory)
        return None


def render_template(environment: Any, template: str, context: Mapping[str, Any]) -> str:
    """Render ``template`` with ``context`` (ending with one newline); a template error is an ``ExportError``.

    The error follows the command contract: its path is the failing template's file (as the
    template folder was given, or the built-in template's file) with ``:line L`` when the line is
    known, so the CLI prints ``mine/README.md.j2:line 3: error: template error: 'x' is undefined
    (fix the template)``. The failing template is the innermost one: for an error inside an
    included template, the included file and its line.
    """
    import jinja2
    from jinja2.exceptions import SecurityError

    try:
        text = environment.get_template(template).render(**context)
    except RecursionError:
        cycle = _include_cycle(environment, template)
        if cycle is None:
            raise ExportError(
                f"template {template} nests too deeply to render", path=_template_file(environment, template), hint="simplify the template"
            ) from None
        raise ExportError(
            f"template {cycle[0]} includes itself ({' -> '.join(cycle)})",
            path=_template_file(environment, cycle[0]),
            hint=f"break the cycle; an override reaches the built-in template it replaces as nb2prod/{cycle[0]}",
        ) from None
    except jinja2.TemplateError as error:
        name = getattr(error, "name", None) or template
        where = getattr(error, "filename", None) or _template_file(environment, name)
        line = getattr(error, "lineno", None)
        if line is None:  # an error while rendering (the sandbox's refusals): Jinja's traceback has the template's line
            where, line = _failing_line(environment, error) or (where, None)
        hint = "fix the template"
        if isinstance(error, SecurityError):
            hint = "templates render in Jinja's sandbox: use the values nb2prod passes them, not Python's internals"
        kind = "template syntax error" if isinstance(error, jinja2.TemplateSyntaxError) else "template error"
        if isinstance(error, jinja2.TemplateNotFound):
            kind, hint = "no such template", f"add {error.name} to the template folder or fix the name"
        path = f"{where}:line {line}" if where and line else where
        raise ExportError(f"{kind}: {error}", path=path, hint=hint) from None
    return text.rstrip("\n") + "\n"


@contextlib.contextmanager
def blame_template(environment: Any, template: str | None) -> Iterator[None]:
    """Give an ``ExportError`` about a generated file the path of the ``template`` that rendered it.

    The checks of generated files (:mod:`nb2prod.export.validate`) name the file they found wrong;
    the file does not exist (nothing is written), the template does: it becomes the error's path,
    as the command contract wants (``mine/package/cli.py.j2: error: the generated src/x/cli.py does
    not compile: ...``). An error that already has a path, or a file no template rendered, is left as is.
    """
    try:
        yield
    except ExportError as error:
        if error.path is not None or template is None:
            raise
        raise ExportError(error.message, path=_template_file(environment, template), hint=error.hint) from None


def _template_file(environment: Any, name: str) -> str | None:
    """The file the environment loads template ``name`` from (None when it cannot be found)."""
    import jinja2

    try:
        _source, filename, _uptodate = environment.loader.get_source(environment, name)
    except (jinja2.TemplateError, OSError):
        return None
    return filename


def _failing_line(environment: Any, error: BaseException) -> tuple[str, int] | None:
    """The template file and line where rendering raised: the innermost traceback frame in a template's file."""
    folders = [Path(folder) for loader in getattr(environment.loader, "loaders", ()) for folder in getattr(loader, "searchpath", ())]
    found = None
    tb = error.__traceback__
    while tb is not None:
        filename = Path(tb.tb_frame.f_code.co_filename)
        for folder in folders:
            if filename.is_relative_to(folder) and filename.suffix != ".py":
                found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
                break
        tb = tb.tb_next
    return found


def _include_cycle(environment: Any, template: str) -> list[str] | None:
    """A chain of templates from one back to itself through ``include``, ``import`` or ``extends`` (literal names), if any."""
    import jinja2
    from jinja2 import meta

    def referenced(name: str) -> list[str]:
        try:
            source, _, _ = environment.loader.get_source(environment, name)
            return [found for found in meta.find_referenced_templates(environment.parse(source)) if found is not None]
        except (jinja2.TemplateError, RecursionError):
            return []

    stack: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in stack:
            return [*stack[stack.index(name) :], name]
        if name in done:
            return None
        stack.append(name)
        for child in referenced(name):
            cycle = visit(child)
            if cycle is not None:
                return cycle
        stack.pop()
        done.add(name)
        return None

    return visit(template)
