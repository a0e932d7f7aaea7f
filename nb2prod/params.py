"""The ``parameters`` cell: what a notebook can be run with, typed, and how values reach it.

A notebook's parameters are the plain literal assignments of its ``parameters`` cell (papermill's
convention; ``#| parameters`` works too). Each gets a type — from its annotation if it has one,
else from its default's literal — and a help text from the comment at the end of its line. Values
given on a command line are converted by that type, never guessed: ``-p version=1.10`` stays the
string "1.10" for a str parameter. The same description drives ``nb2prod run``, the entry point of
an exported package, and ``nb2prod params``.

Where a run's values come from, the first that has one winning: ``-p name=value`` (``strings``),
the environment variable ``NB2PROD_PARAM_<NAME>`` (the name in upper case, e.g.
``NB2PROD_PARAM_API_KEY`` for ``api_key``; a way to pass a secret that stays out of the shell's
history), ``-f params.yaml`` (``values``), then the notebook's default. Only the notebook's own
parameters are looked up in the environment: a variable naming no parameter is ignored, so one
exported for every notebook does no harm. An error about a value never shows a secret's value.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import keyword
import math
import os
import tokenize
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._callable import make_callable
from .errors import ParameterError
from .model import Cell
from .notebook import Notebook
from .secrets import is_secret

#: ``NB2PROD_PARAM_<NAME>`` gives the parameter ``name`` a value (as ``-p name=value`` would).
ENV_PREFIX = "NB2PROD_PARAM_"

#: Parameter types and the JSON Schema type of each.
TYPES: Mapping[str, Any] = {
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "str": "string",
    "list": "array",
    "dict": "object",
    "any": ["string", "number", "integer", "boolean", "array", "object", "null"],
}
_ANNOTATIONS = {name: name for name in ("int", "float", "bool", "str", "list", "dict")} | {"List": "list", "Dict": "dict"}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class Parameter:
    """One parameter: ``name: type = default  # help``; ``line`` is 1-based in the parameters cell."""

    name: str
    type: str
    default: Any
    help: str = ""
    line: int = 0
    optional: bool = False  # the default is None (or the annotation says Optional): None is accepted

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by ``nb2prod params --format json``."""
        return {"name": self.name, "type": self.type, "default": self.default, "help": self.help, "optional": self.optional}


def parameters_cell(notebook: Notebook) -> Cell | None:
    """The notebook's first ``parameters`` cell (tag or directive), or None."""
    return next((cell for cell in notebook.cells if cell.cell_type == "code" and "parameters" in cell.roles), None)


def notebook_parameters(notebook: Notebook) -> tuple[Parameter, ...]:
    """The parameters of a notebook (empty if it has no parameters cell).

    Raises ``ParameterError`` naming the line when the cell holds anything but literal assignments.
    """
    cell = parameters_cell(notebook)
    if cell is None:
        return ()
    return parse_parameters(cell.source, where=f"{notebook.display_path}:cell {cell.number}")


def parse_parameters(source: str, *, where: str = "parameters cell") -> tuple[Parameter, ...]:
    """Parse a parameters cell's source into typed parameters (see the module docstring)."""
    code = source  # `#| parameters` is a comment to Python, so line numbers stay the cell's
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ParameterError(f"line {exc.lineno}: does not parse: {exc.msg}", path=where, hint="keep only `name = literal` lines") from None
    comments = _trailing_comments(code)
    found: dict[str, Parameter] = {}
    for node in tree.body:
        name, annotation, value = _assignment(node, where)
        try:
            default = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ParameterError(
                f"line {node.lineno}: the default of '{name}' is not a literal",
                path=where,
                hint="use a number, string, bool, None, list or dict; compute derived values in the next cell",
            ) from None
        kind, optional = _type_of(name, annotation, default, node.lineno, where)
        if kind == "float" and isinstance(default, int):
            default = float(default)
        found[name] = Parameter(name, kind, _jsonable(default), comments.get(node.lineno, ""), node.lineno, optional)
    return tuple(found.values())


def _assignment(node: ast.stmt, where: str) -> tuple[str, ast.expr | None, ast.expr]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id, None, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return node.target.id, node.annotation, node.value
    raise ParameterError(
        f"line {node.lineno}: only `name = literal` assignments belong in the parameters cell",
        path=where,
        hint="move other code to the next cell",
    )


def _type_of(name: str, annotation: ast.expr | None, default: Any, line: int, where: str) -> tuple[str, bool]:
    if annotation is not None:
        text = ast.unparse(annotation).replace("typing.", "")
        optional = text.startswith("Optional[") or "None" in text.split("|")[-1:] or " | None" in text
        base = text.removeprefix("Optional[").removesuffix("]") if text.startswith("Optional[") else text.split("|")[0].strip()
        base = base.split("[")[0]
        if base not in _ANNOTATIONS:
            message = f"line {line}: '{name}' is annotated {text}, which nb2prod cannot type"
            raise ParameterError(message, path=where, hint="use int, float, bool, str, list or dict")
        kind = _ANNOTATIONS[base]
        if default is not None and not _fits(kind, default):
            raise ParameterError(f"line {line}: the default of '{name}' is not {_article(kind)}", path=where)
        return kind, optional or default is None
    if default is None:
        return "any", True
    for kind in ("bool", "int", "float", "str", "list", "dict"):
        if _fits(kind, default, exact=True):
            return kind, False
    if isinstance(default, tuple):
        return "list", False
    raise ParameterError(f"line {line}: cannot type the default of '{name}' ({type(default).__name__})", path=where)


def _fits(kind: str, value: Any, *, exact: bool = False) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, float) or (not exact and isinstance(value, int) and not isinstance(value, bool))
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, (list, tuple))
    if kind == "dict":
        return isinstance(value, dict)
    return kind == "any"


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


def _trailing_comments(code: str) -> dict[int, str]:
    """``# comment`` at the end of a line of code, by line number (comments on their own line are not help)."""
    found: dict[int, str] = {}
    code_lines: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.COMMENT and token.start[0] in code_lines:
                found[token.start[0]] = token.string.lstrip("#").strip()
            elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                code_lines.add(token.start[0])
    except (tokenize.TokenError, SyntaxError):
        return found
    return found


# --- values ---------------------------------------------------------------------------------------


def check_name(name: str) -> None:
    """Refuse a parameter name that is not a Python identifier (nothing can be injected through a name)."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ParameterError(f"{name!r} is not a valid parameter name", hint="a name is a Python identifier such as learning_rate")


def _unknown(name: str, parameters: Sequence[Parameter]) -> ParameterError:
    names = [p.name for p in parameters]
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        hint = f"did you mean '{close[0]}'?"
    elif names:
        hint = "the notebook's parameters are " + ", ".join(names)
    else:
        hint = "the notebook has no parameters cell; tag a cell `parameters`"
    return ParameterError(f"unknown parameter '{name}'", hint=hint)


def convert(parameter: Parameter, text: str) -> Any:
    """Convert a command-line string to the parameter's type (no guessing across types).

    ``None`` (or ``null``) is None only for an optional parameter (default None, or annotated
    ``int | None``): a str parameter keeps the string "None", any other type refuses it, with a
    hint on how to make the parameter optional. Papermill would pass None to every type.
    """
    kind = parameter.type
    is_none = text.strip() in ("None", "null")
    if parameter.optional and is_none:
        return None
    if is_none and kind != "str":
        annotated = f"{parameter.name}: {kind} | None = {render_value(parameter.default)}"
        hint = f"'{parameter.name}' is not optional; to allow None, write `{annotated}` in the parameters cell"
        raise ParameterError(f"'{parameter.name}' expects {_article(kind)}, got {text!r}", hint=hint)
    try:
        if kind == "str":
            return text
        if kind == "int":
            return int(text.strip().replace("_", ""), 10)
        if kind == "float":
            return float(text.strip())
        if kind == "bool":
            lowered = text.strip().lower()
            if lowered in _TRUE | _FALSE:
                return lowered in _TRUE
            raise ValueError(text)
        if kind in ("list", "dict"):
            value = _structured(text)
            if not _fits(kind, value):
                raise ValueError(text)
            return _jsonable(value)
        return _any(text)
    except ValueError:
        example = {"int": "42", "float": "0.5", "bool": "true or false", "list": "[64, 32]", "dict": '{"a": 1}'}.get(kind, "")
        hint = f"for example {parameter.name}={example}" if example else None
        raise ParameterError(f"'{parameter.name}' expects {_article(kind)}, got {_shown(parameter.name, text)}", hint=hint) from None


def _structured(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        try:
            return ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ValueError(text) from None


def _any(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def check_value(parameter: Parameter, value: Any) -> Any:
    """Check an already typed value (from a YAML/JSON file) against the parameter's type."""
    if value is None and parameter.optional:
        return None
    if isinstance(value, str) and parameter.type not in ("str", "any"):
        return convert(parameter, value)
    if not _fits(parameter.type, value):
        shown = _shown(parameter.name, value)
        raise ParameterError(f"'{parameter.name}' expects {_article(parameter.type)}, got {type(value).__name__} {shown}")
    return float(value) if parameter.type == "float" else _jsonable(value)


def _shown(name: str, value: Any) -> str:
    """A value as an error message may show it: ``(not shown: a secret)`` for a secret."""
    return "a value (not shown: a secret)" if is_secret(name, value) else repr(value)


def env_variable(name: str) -> str:
    """The environment variable that gives the parameter ``name`` a value: ``NB2PROD_PARAM_<NAME>``."""
    return ENV_PREFIX + name.upper()


def environment_strings(parameters: Sequence[Parameter], environ: Mapping[str, str]) -> dict[str, str]:
    """The values ``environ`` gives the notebook's parameters through ``NB2PROD_PARAM_<NAME>``.

    Two parameters whose names differ only by case share a variable: setting it is a
    ``ParameterError`` (it cannot say which one it is for).
    """
    found: dict[str, str] = {}
    owners: dict[str, str] = {}
    for parameter in parameters:
        variable = env_variable(parameter.name)
        if variable in owners:
            if variable in environ:
                raise ParameterError(
                    f"{variable} could set '{owners[variable]}' or '{parameter.name}'",
                    hint="pass the value with -p NAME=VALUE instead",
                )
            continue
        owners[variable] = parameter.name
        if variable in environ:
            found[parameter.name] = environ[variable]
    return found


class ParameterValues(dict[str, Any]):
    """Typed parameter values that came from a file (``-f params.yaml``, a run record's ``run.json``).

    ``resolve`` names ``source`` in its errors about these values: that file is what to fix.
    """

    def __init__(self, values: Mapping[str, Any], *, source: str | os.PathLike[str]) -> None:
        super().__init__(values)
        self.source = os.fspath(source)


def resolve(
    parameters: Sequence[Parameter],
    *,
    strings: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    environment: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The run's parameters: defaults, then ``values`` (typed, from a file), then ``environment``, then ``strings`` (-p).

    ``environment`` holds texts by parameter name (``environment_strings``), converted like
    ``strings``. Unknown names are an error with a did-you-mean; names must be identifiers. An
    error about ``values`` that are ``ParameterValues`` names their file.
    """
    by_name = {p.name: p for p in parameters}
    result = {p.name: p.default for p in parameters}
    source = values.source if isinstance(values, ParameterValues) else None
    for name, value in (values or {}).items():
        try:
            check_name(name)
            if name not in by_name:
                raise _unknown(name, parameters)
            result[name] = check_value(by_name[name], value)
        except ParameterError as error:
            if source is None or error.path is not None:
                raise
            raise ParameterError(error.message, path=source, hint=error.hint) from None
    for name, text in (environment or {}).items():
        if name not in by_name:
            raise _unknown(name, parameters)
        try:
            result[name] = convert(by_name[name], text)
        except ParameterError as error:
            raise ParameterError(f"{error.message} (from {env_variable(name)})", hint=error.hint) from None
    for name, text in (strings or {}).items():
        check_name(name)
        if name not in by_name:
            raise _unknown(name, parameters)
        result[name] = convert(by_name[name], text)
    return result


def render(values: Mapping[str, Any]) -> str:
    """Python source assigning ``values``: one ``name = literal`` line each, safe for any string.

    Strings go through ``repr``, so quotes, backslashes, newlines and ``\"\"\"; import os`` arrive as
    data; non-finite floats become ``float("nan")``/``float("inf")``.
    """
    lines = []
    for name, value in values.items():
        check_name(name)
        lines.append(f"{name} = {render_value(value)}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_value(value: Any, *, quote: Callable[[str], str] = repr) -> str:
    """A Python expression that evaluates to ``value`` (JSON-like values); ``quote`` writes the strings."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_value(item, quote=quote) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render_value(key, quote=quote)}: {render_value(item, quote=quote)}" for key, item in value.items()) + "}"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    hint = "use numbers, strings, booleans, lists or dicts"
    raise ParameterError(f"cannot pass a {type(value).__name__} as a parameter value", hint=hint)


def json_schema(parameters: Sequence[Parameter], *, title: str = "parameters") -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the parameters, for editors and CI."""
    properties = {}
    for p in parameters:
        kind = TYPES[p.type]
        schema: dict[str, Any] = {"type": ([kind, "null"] if isinstance(kind, str) and p.optional else kind), "default": p.default}
        if p.help:
            schema["description"] = p.help
        properties[p.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def parameters_of(notebook: str | os.PathLike[str] | Notebook) -> tuple[Parameter, ...]:
    """The parameters of a notebook file (or of a notebook already read): ``nb2prod.params(path)``."""
    from .notebook import read_notebook

    return notebook_parameters(notebook if isinstance(notebook, Notebook) else read_notebook(notebook))


make_callable(__name__, "nb2prod.params:parameters_of")  # nb2prod.params(path): see nb2prod._callable
