"""Python source text for the generated files: string literals and docstrings as the formatters write them, indented bodies."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from ..errors import ExportError
from ..params import render_value

LINE_LENGTH = 88  # ruff's and black's default: the generated project ships no formatter settings


def python_string(text: str) -> str:
    """A Python string literal for ``text``, quoted the way ruff's and black's formatters quote it."""
    if '"' in text and "'" not in text:
        return repr(text)
    parts = ['\\"' if char == '"' else "'" if char == "'" else repr(char)[1:-1] for char in text]
    return '"' + "".join(parts) + '"'


def python_literal(value: Any) -> str:
    """Python source for a JSON-like value (a parameter default), its strings quoted as the formatters quote them."""
    return render_value(value, quote=python_string)


def docstring(text: str) -> str:
    """A one-line docstring holding ``text``."""
    flat = " ".join(text.split()).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if flat.endswith('"'):
        flat = flat[:-1] + '\\"'
    return f'"""{flat}"""'


def import_from(module: str, names: Sequence[str], indent: str = "") -> str:
    """``from module import a, b``, wrapped one name per line when it would not fit the line length."""
    line = f"{indent}from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line.removeprefix(indent)
    inner = "".join(f"{indent}    {name},\n" for name in names)
    return f"from {module} import (\n{inner}{indent})"


def indent_code(code: str, prefix: str = "    ") -> str:
    """Indent ``code`` by ``prefix`` without changing it: lines inside multi-line strings stay as they are."""
    keep: set[int] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno is not None and node.end_lineno > node.lineno:
            keep.update(range(node.lineno + 1, node.end_lineno + 1))
    lines = code.split("\n")
    return "\n".join(line if number in keep or not line.strip() else prefix + line for number, line in enumerate(lines, start=1)).rstrip()


def function_body(code: str, *, what: str, path: str | None) -> str:
    """``code`` indented as the body of a function (``pass`` if it holds no statement), checked to compile there."""
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        raise ExportError(f"{what} do not parse: line {error.lineno}: {error.msg}", path=path) from None
    body = indent_code(code) if tree.body else "    pass"
    try:
        compile(f"def body():\n{body}\n", what, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ExportError(
            f"{what} cannot run inside a function: line {(error.lineno or 2) - 1}: {error.msg}",
            path=path,
            hint="the package runs them inside a function: no star imports, no return or yield at top level",
        ) from None
    return body


def list_literal(items: Sequence[str], *, indent: str) -> str:
    """A list of string literals, one line if it fits after ``indent``, else one item per line."""
    flat = "[" + ", ".join(python_string(item) for item in items) + "]"
    if len(indent) + len(flat) <= LINE_LENGTH:
        return flat
    return "[\n" + "".join(f"        {python_string(item)},\n" for item in items) + "    ]"
