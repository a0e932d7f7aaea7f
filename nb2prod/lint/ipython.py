"""IPython syntax -> plain Python, line for line, without importing IPython.

Notebook cells are IPython, not Python: ``%magic``, ``!shell``, ``x = !cmd``, ``obj?`` and ``%%cell``
magics do not parse with :mod:`ast`. Before the static analysis (:mod:`nb2prod.lint.dataflow`) can
look at a cell, its IPython syntax is rewritten the way IPython's input transformers
(``IPython.core.inputtransformer2``) would, except that every input line becomes exactly one output
line, so a finding on output line N is on line N of the cell. Columns that moved (dedented cells,
stripped ``>>>`` prompts, the statement kept from ``%time stmt``) are mapped back with
:meth:`TransformedCell.original_column`.

What replaces what:

- ``%magic args`` (at the start of a logical line, at any indentation) -> ``pass``; ``%time``,
  ``%timeit`` and ``%prun`` keep their statement as code (options such as ``-n 10 -r 3`` dropped)
  when that statement parses on its own, as IPython runs it.
- ``!cmd``, ``!!cmd``, ``?x``, ``x?``, ``x??`` -> ``pass``.
- ``target = %magic args`` and ``target = !cmd`` -> ``target = None``: the target is still bound.
- ``%store -r a b``, ``%sql name << …``, ``%R -o name`` -> ``a = b = None``: the names they bind.
- A ``%%magic`` first line: ``%%time``, ``%%timeit``, ``%%capture``, ``%%prun`` and ``%%debug`` run
  their body as Python, which is transformed like any cell; every other cell magic (``%%bash``,
  ``%%html``, ``%%sql``, ``%%writefile``, unknown ones…) has a body that is not Python for this
  kernel: it is blanked and the cell is not :attr:`TransformedCell.analyzable`.
- Backslash-continued lines belong to the magic or shell command they continue. Lines inside
  strings, brackets and comments are never transformed; ``a % b`` is an operator, not a magic.

Only the standard library is used, and nothing here raises on any input: text that is neither
IPython nor Python is left as is, and the parser reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .linescan import find_assignment, is_name, join_continued, parse_quietly, parses, scan_line, target_names
from .magicargs import SCRIPT_CELL_MAGICS, magic_bindings, statement_start

__all__ = [
    "EXPORT_DROPPED_LINE_MAGICS",
    "EXPORT_UNWRAPPED_MAGICS",
    "PYTHON_CELL_MAGICS",
    "SCRIPT_CELL_MAGICS",
    "Magic",
    "TransformedCell",
    "parse_quietly",
    "transform_cell",
]

#: Line magics export drops without changing what the code does (display and tooling only).
EXPORT_DROPPED_LINE_MAGICS = frozenset({"matplotlib", "load_ext", "reload_ext", "autoreload", "aimport", "config", "precision"})
#: Magics whose statement or body export keeps as plain Python, minus the timing.
EXPORT_UNWRAPPED_MAGICS = frozenset({"time", "timeit", "prun"})


@dataclass(frozen=True)
class Magic:
    """One piece of IPython syntax found in a cell.

    ``kind`` is ``"line"`` (``%name``), ``"cell"`` (``%%name``), ``"shell"`` (``!cmd``, ``x = !cmd``),
    ``"help"`` (``x?``, ``?x``, ``x??``) or ``"autocall"`` (``/f a``, ``,f a``, ``;f a``). ``name`` is
    the magic's or the called function's name, ``""`` for shell and help. ``args`` is the rest of the
    (backslash-joined) line; for help, the object asked about; for cell magics, the first line's args.
    """

    line: int
    kind: str
    name: str
    args: str


@dataclass(frozen=True)
class TransformedCell:
    """A cell rewritten as plain Python with as many lines as the input, and what IPython syntax it held.

    ``bound_names`` lists the names the IPython syntax itself binds, with the line of the magic:
    targets of ``x = !cmd`` / ``x = %magic``, ``%store -r x``, ``%%capture x``, ``--out``/``--err``/
    ``--proc`` of script magics (``%%bash``…), ``%R -o x``, ``%sql x <<``, functions and classes a
    ``%%cython`` cell defines. (Names bound by the Python kept from ``%time stmt`` are ordinary code.)
    ``cell_magic`` is the ``%%`` magic that owns the whole cell; the names it binds are bound after its
    body ran. ``unknown_bindings`` is set for syntax that binds names nobody can list statically
    (``%run``, ``%pylab``, ``%rerun``, ``%store -r`` without names). ``timeit_spans`` are the
    ``(first, last)`` lines of code that IPython runs inside a throw-away function (``%timeit stmt``,
    the ``%%timeit`` cell): what it assigns is not kept. ``column_offsets[i]`` is what to add to a
    0-based column of output line ``i + 1`` to get the column in the cell.
    """

    python: str
    magics: tuple[Magic, ...]
    bound_names: tuple[tuple[str, int], ...]
    analyzable: bool
    cell_magic: Magic | None = None
    unknown_bindings: bool = False
    timeit_spans: tuple[tuple[int, int], ...] = ()
    column_offsets: tuple[int, ...] = field(default=(), repr=False)

    def original_column(self, line: int, column: int) -> int:
        """Map a column of ``python`` at 1-based ``line`` to the same place in the cell's source."""
        if 1 <= line <= len(self.column_offsets):
            return column + self.column_offsets[line - 1]
        return column


# Cell magics whose body IPython runs as Python in the user namespace (timeit: in a function).
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
# Line magics that run a Python statement: their getopt-style options (letter + ":" takes a value).
_CODE_MAGIC_OPTIONS = {"time": "", "timeit": "n:r:tcp:qo", "prun": "D:l:rs:T:q"}

_ESCAPES = frozenset("%!?,;/")
# Operators that begin with an escape character, so the line is Python (and probably invalid).
_NOT_ESCAPE = re.compile(r"%=|!=|//|/=")
_MAYBE_IPYTHON = re.compile(r"^[ \t\f]*[%!?,;/]|\?[ \t\f]*$|=[ \t\f]*[%!]", re.MULTILINE)
# IPython's _help_end_re: a (dotted, indexed) name followed by ? or ?? at the end of the line.
_HELP_END = re.compile(r"(%{0,2}(?!\d)[\w*]+(\.(?!\d)[\w*]+|\[-?[0-9]+\])*)(\?\??)$")
_CLASSIC_PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")
_CLASSIC_PROMPT_FIRST = re.compile(r"^>>>( |$)")
_IPYTHON_PROMPT = re.compile(r"^(((\[nav\]|\[ins\])? )?In \[\d+\]: |\s*\.{3,}: ?)")
_INDENT = re.compile(r"^[ \t]+")
_CELL_MAGIC_HELP = re.compile(r"%%\w+\?")


def transform_cell(source: str) -> TransformedCell:
    """Rewrite a cell's IPython syntax as Python the way IPython would, one output line per input line."""
    return _Transformer(source).run()


class _Transformer:
    """Rewrites one cell; state lives here so the helpers stay small."""

    def __init__(self, source: str) -> None:
        lines = source.split("\n")
        for i, line in enumerate(lines):
            if line.endswith("\r"):
                line = line[:-1]
            # Python ends a line at a lone "\r"; keep the cell's line count instead.
            lines[i] = line.replace("\r", " ")
        self.out = lines
        self.offsets = [0] * len(lines)
        self.magics: list[Magic] = []
        self.bound: list[tuple[str, int]] = []
        self.timeit_spans: list[tuple[int, int]] = []
        self.unknown_bindings = False
        self.analyzable = True
        self.cell_magic: Magic | None = None

    def run(self) -> TransformedCell:
        start = self._cleanup(0)
        if start is not None and self.out[start].startswith("%%") and not _CELL_MAGIC_HELP.match(self.out[start]):
            body_start = self._cell_magic(start)
            start = self._cleanup(body_start) if body_start is not None else None
        if start is not None and _MAYBE_IPYTHON.search("\n".join(self.out[start:])):
            self._transform_lines(start)
        return TransformedCell(
            python="\n".join(self.out),
            magics=tuple(self.magics),
            bound_names=tuple(self.bound),
            analyzable=self.analyzable,
            cell_magic=self.cell_magic,
            unknown_bindings=self.unknown_bindings,
            timeit_spans=tuple(self.timeit_spans),
            column_offsets=tuple(self.offsets),
        )

    def _cleanup(self, start: int) -> int | None:
        """IPython's cleanup transforms from line ``start`` on: common leading indent, ``>>>``/``In [1]:`` prompts.

        Returns the first non-blank line (IPython drops leading blank lines; here they stay blank).
        """
        first = next((i for i in range(start, len(self.out)) if self.out[i].strip()), None)
        if first is None:
            return None
        m = _INDENT.match(self.out[first])
        if m:
            space = m.group()
            for i in range(first, len(self.out)):
                if self.out[i].startswith(space):
                    self.out[i] = self.out[i][len(space) :]
                    self.offsets[i] += len(space)
        for prompt, initial in ((_CLASSIC_PROMPT, _CLASSIC_PROMPT_FIRST), (_IPYTHON_PROMPT, _IPYTHON_PROMPT)):
            second = self.out[first + 1] if first + 1 < len(self.out) else ""
            if initial.match(self.out[first]) or prompt.match(second):
                for i in range(first, len(self.out)):
                    m = prompt.match(self.out[i])
                    if m:
                        self.out[i] = self.out[i][m.end() :]
                        self.offsets[i] += m.end()
        return first

    def _cell_magic(self, index: int) -> int | None:
        """Handle the ``%%name args`` line; returns where the Python body starts, or None if it is not Python."""
        name, _, args = self.out[index][2:].rstrip().partition(" ")
        magic = Magic(index + 1, "cell", name, args.strip())
        self.magics.append(magic)
        self.cell_magic = magic
        body = "\n".join(self.out[index + 1 :])
        names, _ = magic_bindings(name, args, body)
        self.bound.extend((n, index + 1) for n in names)
        self.out[index] = "pass"
        if name in PYTHON_CELL_MAGICS:
            if name in ("timeit", "prun"):
                start = statement_start(args, _CODE_MAGIC_OPTIONS[name])
                statement = args[start:]
                if statement.strip() and parses(statement):
                    self.out[index] = statement
                    self.offsets[index] += len("%%") + len(name) + 1 + start
            if name == "timeit":
                self.timeit_spans.append((index + 1, len(self.out)))
            return index + 1
        self.analyzable = False
        for i in range(index + 1, len(self.out)):
            self.out[i] = ""
        return None

    def _transform_lines(self, start: int) -> None:
        quote: str | None = None
        depth = 0
        continued = False
        i = start
        while i < len(self.out):
            line = self.out[i]
            if quote is not None or depth or continued:
                quote, depth, continued, _ = scan_line(line, quote, depth)
                i += 1
                continue
            stripped = line.lstrip(" \t\f")
            if not stripped or stripped[0] == "#":
                i += 1
                continue
            indent = line[: len(line) - len(stripped)]
            if stripped[0] in _ESCAPES and not _NOT_ESCAPE.match(stripped):
                i += self._escaped(i, indent, stripped)
                continue
            assignment = find_assignment(line)
            consumed = self._assigned_magic(i, assignment) if assignment is not None else 0
            if consumed:
                i += consumed
                continue
            quote, depth, continued, comment = scan_line(line, None, 0)
            if quote is None and not depth and not continued and not comment and stripped.rstrip().endswith("?"):
                self._help_end(i, indent, stripped)
            i += 1

    def _continued_end(self, index: int) -> int:
        end = index
        while end + 1 < len(self.out) and self.out[end].endswith("\\"):
            end += 1
        return end

    def _blank(self, first: int, last: int) -> None:
        for i in range(first, last + 1):
            self.out[i] = ""

    def _help_end(self, index: int, indent: str, stripped: str) -> bool:
        """``obj?`` / ``obj??`` -> ``pass``, when the line is what IPython takes for a help request."""
        m = _HELP_END.search(stripped.rstrip())
        if m is None:
            return False
        self.magics.append(Magic(index + 1, "help", "", m.group(1)))
        self.out[index] = indent + "pass"
        return True

    def _escaped(self, index: int, indent: str, stripped: str) -> int:
        """A logical line that starts with an escape character; returns how many lines it spans."""
        end = self._continued_end(index)
        if end == index and stripped.rstrip().endswith("?"):
            quote, _, _, comment = scan_line(stripped, None, 0)
            if quote is None and not comment and self._help_end(index, indent, stripped):
                return 1
        text = join_continued([stripped, *self.out[index + 1 : end + 1]])
        escape = text[:2] if text[:2] in ("!!", "??") else text[0]
        content = text[len(escape) :]
        line = index + 1
        replacement = indent + "pass"
        keep_continuation = False
        if escape in ("!", "!!"):
            self.magics.append(Magic(line, "shell", "", content.strip()))
        elif escape in ("?", "??"):
            self.magics.append(Magic(line, "help", "", content.strip()))
        elif escape == "%" and content.startswith("%"):
            # A cell magic below the first line: IPython runs it as a (failing) line magic.
            name, _, args = content[1:].partition(" ")
            self.magics.append(Magic(line, "cell", name, args.strip()))
        elif escape == "%":
            name, _, args = content.partition(" ")
            self.magics.append(Magic(line, "line", name, args.strip()))
            if name in _CODE_MAGIC_OPTIONS:
                keep_continuation = self._line_code_magic(index, end, indent, stripped, name)
                replacement = self.out[index]
            else:
                names, unknown = magic_bindings(name, args)
                self.unknown_bindings |= unknown
                if names:
                    self.bound.extend((n, line) for n in names)
                    replacement = indent + " = ".join(names) + " = None"
        else:
            name, _, args = content.partition(" ")
            if name and not all(is_name(part) for part in name.split(".")):
                return end - index + 1
            self.magics.append(Magic(line, "autocall", name, args.strip()))
            if name:
                call_args = ", ".join(args.split()) if escape == "/" else ""
                replacement = f"{indent}{name}({call_args})"
                self.offsets[index] += 1
        self.out[index] = replacement
        if not keep_continuation:
            self._blank(index + 1, end)
        return end - index + 1

    def _line_code_magic(self, index: int, end: int, indent: str, stripped: str, name: str) -> bool:
        """``%time stmt`` / ``%timeit stmt`` / ``%prun stmt``: keep ``stmt`` as code if it parses alone."""
        head = stripped[1 + len(name) + 1 :]
        start = statement_start(head, _CODE_MAGIC_OPTIONS[name])
        statement = head[start:]
        code = "\n".join([statement, *self.out[index + 1 : end + 1]])
        if not statement.strip() or not parses(code):
            self.out[index] = indent + "pass"
            return False
        self.out[index] = indent + statement
        self.offsets[index] += len("%") + len(name) + 1 + start
        if name == "timeit":
            self.timeit_spans.append((index + 1, end + 1))
        return True

    def _assigned_magic(self, index: int, assignment: int) -> int:
        """``target = !cmd`` / ``target = %magic args`` -> ``target = None``; returns how many lines it spans (0: not one)."""
        line = self.out[index]
        rest = line[assignment:].lstrip(" \t\f")
        if not (rest.startswith("!") or (rest.startswith("%") and rest[1:].lstrip(" \t\f")[:1].isidentifier())):
            return 0
        end = self._continued_end(index)
        text = join_continued([rest, *self.out[index + 1 : end + 1]])
        target = line[:assignment]
        if text[0] == "!":
            self.magics.append(Magic(index + 1, "shell", "", text[1:].strip()))
        else:
            name, _, args = text[1:].partition(" ")
            self.magics.append(Magic(index + 1, "line", name, args.strip()))
            if name in _CODE_MAGIC_OPTIONS and end == index:
                start = statement_start(args, _CODE_MAGIC_OPTIONS[name])
                expression = args[start:]
                column = len(line) - len(rest) + 1 + len(name) + 1 + start
                if expression.strip() and parses(f"_ = ({expression})"):
                    # Pad so the expression keeps its columns in the cell.
                    self.out[index] = target + " " * (column - len(target)) + expression
                    self.bound.extend((n, index + 1) for n in target_names(target))
                    return 1
        self.out[index] = target + " None"
        self.bound.extend((n, index + 1) for n in target_names(target))
        self._blank(index + 1, end)
        return end - index + 1
