"""Lexical helpers for one line of Python or IPython: strings, brackets, comments, assignments, targets.

:mod:`nb2prod.lint.ipython` uses them to decide which lines hold IPython syntax without tokenizing
(IPython syntax does not tokenize). Only the standard library; nothing here raises on any input.
"""

from __future__ import annotations

import ast
import keyword
import re
import warnings

# What matters when scanning code: string quotes, comments, brackets, a backslash at the end.
_CODE = re.compile(r"'''|\"\"\"|['\"#()\[\]{}]|\\\Z")
# Same, plus every operator that contains "=", to find a bare "=" (an assignment).
_ASSIGN_SCAN = re.compile(r"'''|\"\"\"|['\"#()\[\]{}]|(?:\*\*|//|<<|>>|[-+*/%&|^@<>!:=])?=")
_STRING_END = {quote: re.compile(r"\\(?:.|\Z)|" + re.escape(quote)) for quote in ("'", '"', "'''", '"""')}


def is_name(text: str) -> bool:
    """Whether ``text`` is a Python identifier that is not a keyword."""
    return text.isidentifier() and not keyword.iskeyword(text)


def parse_quietly(code: str) -> ast.Module:
    """:func:`ast.parse` without the warnings (invalid escapes, ``is`` with a literal) that would reach the user.

    Under ``-W error`` those warnings would even turn into a SyntaxError of valid code.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code)


def parses(code: str) -> bool:
    """Whether ``code`` parses as Python (never raises)."""
    try:
        parse_quietly(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def scan_line(line: str, quote: str | None, depth: int) -> tuple[str | None, int, bool, bool]:
    """Follow strings and brackets through one physical line of code.

    Returns the open string quote and bracket depth at the end of the line, whether the line ends
    with a continuing backslash outside a string, and whether it holds a comment.
    """
    pos = 0
    while True:
        if quote is not None:
            for end in _STRING_END[quote].finditer(line, pos):
                if end.group()[0] != "\\":
                    pos = end.end()
                    quote = None
                    break
                if end.end() == len(line) and len(end.group()) == 1:
                    return quote, depth, False, False
            else:
                # A triple-quoted string goes on; a one-line string left open is an error: close it.
                return (quote if len(quote) == 3 else None), depth, False, False
        m = _CODE.search(line, pos)
        if m is None:
            return None, depth, False, False
        token = m.group()
        pos = m.end()
        if token in ("'", '"', "'''", '"""'):
            quote = token
        elif token == "#":
            return None, depth, False, True
        elif token == "\\":
            return None, depth, True, False
        elif token in "([{":
            depth += 1
        else:
            depth = max(depth - 1, 0)


def find_assignment(line: str) -> int | None:
    """Index just after the first ``=`` of the line outside brackets and strings (IPython's rule)."""
    depth = 0
    pos = 0
    while True:
        m = _ASSIGN_SCAN.search(line, pos)
        if m is None:
            return None
        token = m.group()
        pos = m.end()
        if token in ("'", '"', "'''", '"""'):
            end = next((e for e in _STRING_END[token].finditer(line, pos) if e.group()[0] != "\\"), None)
            if end is None:
                return None
            pos = end.end()
        elif token == "#":
            return None
        elif token in "([{":
            depth += 1
        elif token in ")]}":
            depth = max(depth - 1, 0)
        elif token == "=" and depth == 0:
            return pos


def target_names(target_source: str) -> list[str]:
    """Names bound by an assignment target given as source text (``a, (b, *c)``, ``x: int``)."""
    try:
        tree = parse_quietly(target_source + " None")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    if not tree.body:
        return []
    statement = tree.body[0]
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = list(statement.targets)
    elif isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    names: list[str] = []
    while targets:
        node = targets.pop(0)
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Starred):
            targets.insert(0, node.value)
        elif isinstance(node, (ast.Tuple, ast.List)):
            targets[:0] = node.elts
    return names


def join_continued(parts: list[str]) -> str:
    """Join backslash-continued pieces into one line, as IPython's assemble_continued_line does."""
    return " ".join([p.rstrip()[:-1] for p in parts[:-1]] + [parts[-1].rstrip()])
