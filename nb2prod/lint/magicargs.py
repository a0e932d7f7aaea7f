"""Reading a magic's arguments: where its statement starts after options, and which names it binds.

``%store -r a``, ``%%bash --out x``, ``%R -o x``, ``%sql x <<``, ``%%capture x`` and ``%%cython``
bind names in the kernel; :mod:`nb2prod.lint.ipython` records them so the name analysis sees them.
"""

from __future__ import annotations

import re

from .linescan import is_name

# Script magics run their body in a subprocess; --out/--err/--proc name variables in the kernel.
SCRIPT_CELL_MAGICS = frozenset({"script", "bash", "sh", "python", "python2", "python3", "pypy", "perl", "ruby"})
_CODE_MAGIC_LONG_OPTIONS = frozenset({"--no-raise-error"})
_OPAQUE_LINE_MAGICS = frozenset({"run", "pylab", "rerun"})
_SQL_TARGET = re.compile(r"\s*([^\W\d]\w*)\s*<<")
_CYTHON_DEF = re.compile(
    r"^(?:async\s+)?def\s+([^\W\d]\w*)|^cpdef\s+[^(=]*?([^\W\d]\w*)\s*\(|^(?:cdef\s+)?class\s+([^\W\d]\w*)",
    re.MULTILINE,
)


def statement_start(args: str, short: str) -> int:
    """Where the statement begins in a magic's argument text, after getopt-style options."""
    takes_value = {short[i] for i in range(len(short) - 1) if short[i + 1] == ":"}
    letters = set(short.replace(":", ""))
    tokens = list(re.finditer(r"\S+", args))
    i = 0
    while i < len(tokens):
        token = tokens[i].group()
        if token == "--":
            return tokens[i + 1].start() if i + 1 < len(tokens) else len(args)
        if token in _CODE_MAGIC_LONG_OPTIONS:
            i += 1
            continue
        if len(token) < 2 or token[0] != "-" or token[1] not in letters:
            return tokens[i].start()
        skip_value = False
        for j, letter in enumerate(token[1:], start=1):
            if letter not in letters:
                return tokens[i].start()
            if letter in takes_value:
                skip_value = j == len(token) - 1
                break
        i += 2 if skip_value else 1
    return len(args)


def option_values(args: str, names: tuple[str, ...]) -> list[str]:
    """Values of argparse-style options (``--out x``, ``--out=x``, ``-ox``) in a magic's arguments."""
    tokens = args.split()
    values: list[str] = []
    for i, token in enumerate(tokens):
        for name in names:
            if token == name and i + 1 < len(tokens):
                values.append(tokens[i + 1])
            elif name.startswith("--") and token.startswith(name + "="):
                values.append(token[len(name) + 1 :])
            elif not name.startswith("--") and token.startswith(name) and len(token) > len(name):
                values.append(token[len(name) :].lstrip("="))
    return values


def magic_bindings(name: str, args: str, body: str = "") -> tuple[list[str], bool]:
    """Names a magic binds in the user namespace, and whether it binds names nobody can list."""
    names: list[str] = []
    if name == "store":
        tokens = args.split()
        if "-r" not in tokens:
            return [], False
        names = [t for t in tokens if not t.startswith("-")]
        return [n for n in names if is_name(n)], not names
    if name in _OPAQUE_LINE_MAGICS:
        return [], True
    if name in SCRIPT_CELL_MAGICS:
        names = option_values(args, ("--out", "--err", "--proc"))
    elif name == "R":
        names = [n for value in option_values(args, ("-o", "--output")) for n in value.split(",")]
    elif name == "sql":
        m = _SQL_TARGET.match(args)
        names = [m.group(1)] if m else []
    elif name == "capture":
        names = [t for t in args.split() if not t.startswith("-")][:1]
    elif name == "cython":
        names = [next(g for g in m.groups() if g) for m in _CYTHON_DEF.finditer(body)]
    return [n for n in names if is_name(n)], False
