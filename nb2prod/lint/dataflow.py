"""Which names each notebook cell defines and uses, and what that means across cells.

The rules about hidden state and export readiness (NB104 use before definition, NB105 undefined
name, NB201 exported cell depends on a non-exported one) and ``nb2prod export`` need to know, for
every cell, the module-level names it binds and the names it reads before binding them itself.
This module computes that statically with :mod:`ast` (after :func:`~nb2prod.lint.ipython.transform_cell`
has turned IPython syntax into Python): notebook code is never executed, no input makes it raise,
and only the standard library is imported.

The analysis is a *may*-analysis, tuned against false "undefined name" reports: a name bound in any
branch of an ``if``/``try``/``match`` counts as bound after it, a name bound anywhere in a loop body
counts as bound throughout the loop, and a function that declares ``global x`` and assigns it counts
as binding ``x`` where the function is defined. Reads inside function and lambda bodies are
*deferred* (they happen when the function is called, so they are checked against every cell, not
against what came before); class bodies, comprehensions and generator expressions run at once.

Both orders a notebook can be read in are available from :class:`NotebookFlow`: top to bottom
("Restart & Run All") and the recorded execution order (the execution counts stored in the file).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .ipython import Magic, TransformedCell, parse_quietly, transform_cell

# `_` is left out: an interactive interpreter puts it in builtins; in a kernel it is output history.
_SITE_NAMES = {"help", "exit", "quit", "copyright", "credits", "license"}
BUILTIN_NAMES: frozenset[str] = frozenset(dir(builtins)) - {"_"} | {"__builtins__"} | _SITE_NAMES
"""Names every Python module can read without defining them (``__file__`` is not one in a kernel)."""

_HISTORY_NAMES = {"_", "__", "___", "_i", "_ii", "_iii", "_ih", "_oh", "_dh"}
_KERNEL_NAMES = {"In", "Out", "get_ipython", "display", "exit", "quit", "__IPYTHON__", "__builtin__"}
IPYTHON_NAMES: frozenset[str] = frozenset(_KERNEL_NAMES | _HISTORY_NAMES)
"""Names an IPython kernel defines in the user namespace (plus the history names ``_<n>`` and ``_i<n>``)."""

_HISTORY_NAME = re.compile(r"_i?\d+")
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_Comprehension = ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def is_predefined(name: str) -> bool:
    """Whether a notebook can read ``name`` without any cell defining it: a builtin or an IPython name."""
    return name in BUILTIN_NAMES or name in IPYTHON_NAMES or _HISTORY_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class Use:
    """A read of a module-level name: 1-based ``line`` and ``column`` in the cell's source.

    ``deferred`` reads are inside a function or lambda body (they run when it is called); class
    bodies and comprehensions run when the cell runs, so their reads are not deferred.
    """

    name: str
    line: int
    column: int
    deferred: bool


@dataclass(frozen=True)
class CellFlow:
    """What one cell binds and reads at module level.

    ``defines`` maps each name the cell may leave bound to the line of its first binding (names the
    cell binds and always removes again, like ``except E as e``'s ``e``, are not in it). ``uses`` are
    the free reads: an immediate read comes before any binding of the name in the cell; a deferred
    read is of a name the cell does not define. At most one immediate and one deferred read per
    name (the first), sorted by position. ``imports`` maps every module-level import binding to its
    line, ``deletes`` lists names removed by ``del`` at module level. ``star_import`` is set by
    ``from m import *``; ``unknown_bindings`` whenever the cell may bind names nobody can list:
    a star import, ``%run``, ``%pylab``, ``%store -r`` without names, ``exec(...)`` or a write
    through ``globals()``/``vars()``/``locals()``. ``future_annotations`` says annotations were not
    evaluated (``from __future__ import annotations`` in this cell or, for a whole notebook, in a
    cell above). A cell that does not parse carries ``syntax_error`` = (line, column, message) and
    defines and uses nothing; a cell whose body is not Python (``%%bash``…) is not ``analyzable``
    and defines only what its cell magic binds.
    """

    defines: Mapping[str, int] = field(default_factory=dict)
    uses: tuple[Use, ...] = ()
    deletes: tuple[str, ...] = ()
    imports: Mapping[str, int] = field(default_factory=dict)
    syntax_error: tuple[int, int, str] | None = None
    magics: tuple[Magic, ...] = ()
    analyzable: bool = True
    star_import: bool = False
    unknown_bindings: bool = False
    future_annotations: bool = False
    # The analysed forms of the cell, kept so rules need not transform and parse it again.
    transformed: TransformedCell | None = field(default=None, compare=False, repr=False)
    tree: ast.Module | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NameIssue:
    """A name read in cell ``cell_index`` (0-based) at ``line``/``column`` (1-based), and the cells that define it."""

    name: str
    cell_index: int
    line: int
    column: int
    defined_in: tuple[int, ...]

    @property
    def position(self) -> tuple[int, int, int, str]:
        """Where it is, for sorting issues in reading order."""
        return self.cell_index, self.line, self.column, self.name


@dataclass(frozen=True)
class NotebookFlow:
    """The :class:`CellFlow` of every cell of a notebook (index-aligned) and the recorded execution counts."""

    cells: tuple[CellFlow, ...]
    execution_counts: tuple[int | None, ...] = ()

    def in_execution_order(self) -> list[int]:
        """Indices of the executed cells sorted by execution count (ties by position).

        Cells without an execution count (never run, markdown) are left out: in the recorded session
        they did not run, so they neither defined nor read anything. Empty when no counts were given.
        """
        executed = [
            (count, index)
            for index, count in enumerate(self.execution_counts[: len(self.cells)])
            if isinstance(count, int) and not isinstance(count, bool)
        ]
        return [index for _, index in sorted(executed)]

    def used_before_defined(self, order: Literal["top-down", "execution"] = "top-down") -> list[NameIssue]:
        """Immediate reads that no earlier cell (and no builtin or IPython name) can satisfy, though a later cell defines the name.

        ``order="top-down"`` reads the cells as "Restart & Run All" does; ``order="execution"`` reads
        the executed cells in recorded execution order (see :meth:`in_execution_order`). NB104 is a
        name reported top-down but not in execution order: it works only because of the order the
        cells were run in. ``defined_in`` lists the later cells, in the order read. Deferred reads are
        not reported (a function may be called after the later cell ran); neither are reads of a name
        the same cell binds further down (``print(x); x = 1``), since no *other* cell is involved.
        """
        if order == "top-down":
            sequence = list(range(len(self.cells)))
        elif order == "execution":
            sequence = self.in_execution_order()
        else:
            raise ValueError(f"order must be 'top-down' or 'execution', not {order!r}")
        position = {index: pos for pos, index in enumerate(sequence)}
        definers = _definers(self.cells, sequence)
        issues = []
        for pos, index in enumerate(sequence):
            for use in self.cells[index].uses:
                if use.deferred or is_predefined(use.name):
                    continue
                cells = definers.get(use.name, [])
                if any(position[other] < pos for other in cells):
                    continue
                later = tuple(other for other in cells if position[other] > pos)
                if later:
                    issues.append(NameIssue(use.name, index, use.line, use.column, later))
        return sorted(issues, key=lambda issue: issue.position)

    @property
    def first_unparsed(self) -> int | None:
        """Index of the first cell that does not parse as Python, or None."""
        return next((index for index, cell in enumerate(self.cells) if cell.syntax_error is not None), None)

    def undefined(self) -> list[NameIssue]:
        """Reads (immediate or deferred) of names no cell defines that are neither builtins nor IPython names (NB105).

        Empty when any cell may bind names the analysis cannot list (``from m import *``, ``%run``…):
        any name could come from there. A cell that does not parse is such a cell too, for the cells
        below it (see :attr:`first_unparsed`): its definitions are unknown, so no read below it is
        reported. One issue per name and cell, at the first read.
        """
        if any(cell.unknown_bindings for cell in self.cells):
            return []
        defined = {name for cell in self.cells for name in cell.defines}
        issues = []
        last = self.first_unparsed
        for index, cell in enumerate(self.cells[: None if last is None else last + 1]):
            for use in _first_uses(cell.uses):
                if use.name not in defined and not is_predefined(use.name):
                    issues.append(NameIssue(use.name, index, use.line, use.column, ()))
        return issues

    def defined_only_outside(self, selected: set[int]) -> list[NameIssue]:
        """Reads in the ``selected`` cells of names that only unselected cells define (NB201, selected = exported).

        A name any selected cell defines, or a Python builtin, is fine; IPython's names are not
        builtins of an exported module, but they are only reported when an unselected cell defines
        them. ``defined_in`` lists the unselected cells that define the name. Indices outside the
        notebook are ignored. One issue per name and cell, at the first read.
        """
        chosen = sorted(index for index in selected if 0 <= index < len(self.cells))
        inside = {name for index in chosen for name in self.cells[index].defines}
        definers = _definers(self.cells, range(len(self.cells)))
        issues = []
        for index in chosen:
            for use in _first_uses(self.cells[index].uses):
                outside = definers.get(use.name)
                if outside and use.name not in inside and use.name not in BUILTIN_NAMES:
                    issues.append(NameIssue(use.name, index, use.line, use.column, tuple(outside)))
        return issues


def _definers(cells: Sequence[CellFlow], sequence: Iterable[int]) -> dict[str, list[int]]:
    definers: dict[str, list[int]] = {}
    for index in sequence:
        for name in cells[index].defines:
            definers.setdefault(name, []).append(index)
    return definers


def _first_uses(uses: Iterable[Use]) -> list[Use]:
    seen: set[str] = set()
    first = []
    for use in uses:
        if use.name not in seen:
            seen.add(use.name)
            first.append(use)
    return first


def analyze_notebook(sources: Sequence[str], execution_counts: Sequence[int | None] | None = None) -> NotebookFlow:
    """Analyze every cell of a notebook; pass ``""`` for markdown and raw cells to keep indices aligned.

    ``execution_counts`` (one per cell, ``None`` for cells never run) enables the execution order.
    ``from __future__ import annotations`` in a cell carries over to the cells below it, as in IPython.
    """
    counts = tuple(execution_counts) if execution_counts is not None else (None,) * len(sources)
    if len(counts) != len(sources):
        raise ValueError(f"{len(sources)} cell sources but {len(counts)} execution counts")
    cells = []
    future_annotations = False
    for source in sources:
        flow = analyze_cell(source, future_annotations=future_annotations)
        future_annotations = flow.future_annotations
        cells.append(flow)
    return NotebookFlow(tuple(cells), counts)


def analyze_cell(source: str, *, future_annotations: bool = False) -> CellFlow:
    """Analyze one code cell (IPython syntax allowed); ``future_annotations`` if annotations are not evaluated."""
    cell = transform_cell(source)
    cell_magic_names = [name for name, line in cell.bound_names if cell.cell_magic is not None and line == cell.cell_magic.line]
    if not cell.analyzable:
        return CellFlow(
            defines={name: cell.cell_magic.line for name in cell_magic_names} if cell.cell_magic else {},
            magics=cell.magics,
            analyzable=False,
            unknown_bindings=cell.unknown_bindings,
            future_annotations=future_annotations,
            transformed=cell,
        )
    try:
        tree = parse_quietly(cell.python)
    except SyntaxError as error:
        # Without a line number the parser refused the whole text (null bytes).
        location = _error_location(cell, error.lineno, error.offset or 1) if error.lineno else _bad_character_location(cell)
        message = error.msg
    except ValueError as error:
        # Lone surrogates (and null bytes before Python 3.11.4): the parser refuses the whole text.
        location = _bad_character_location(cell)
        message = str(error)
    except (RecursionError, MemoryError):
        location = (1, 1)
        message = "too deeply nested to parse"
    else:
        try:
            return _CellAnalyzer(cell, tree, future_annotations, cell_magic_names).result()
        except RecursionError:
            location = (1, 1)
            message = "too deeply nested to analyze"
    return CellFlow(
        syntax_error=(*location, message),
        magics=cell.magics,
        unknown_bindings=cell.unknown_bindings,
        future_annotations=future_annotations,
        transformed=cell,
    )


def _error_location(cell: TransformedCell, line: int, column: int) -> tuple[int, int]:
    line = min(max(line, 1), len(cell.column_offsets))
    return line, cell.original_column(line, max(column, 1))


def _bad_character_location(cell: TransformedCell) -> tuple[int, int]:
    for number, text in enumerate(cell.python.split("\n"), start=1):
        m = re.search(r"[\x00\ud800-\udfff]", text)
        if m:
            return _error_location(cell, number, m.start() + 1)
    return 1, 1


def _has_future_annotations(tree: ast.Module) -> bool:
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    for statement in body:
        if not (isinstance(statement, ast.ImportFrom) and statement.module == "__future__"):
            return False
        if any(alias.name == "annotations" for alias in statement.names):
            return True
    return False


class _Scope:
    """A Python scope while walking: module, class, function (also lambda, type parameters, timeit) or comprehension.

    Module and class bodies run in order: ``bound`` holds what may be bound at the current point.
    In function-like scopes every binding anywhere makes a name local: ``local_names`` is precomputed.
    """

    __slots__ = ("bound", "declared_global", "declared_nonlocal", "deferred", "kind", "local_names", "parent")

    def __init__(self, kind: str, parent: _Scope | None, local_names: Iterable[str] = (), deferred: bool = False) -> None:
        self.kind = kind
        self.parent = parent
        self.bound: set[str] = set()
        self.local_names = set(local_names)
        self.declared_global: set[str] = set()
        self.declared_nonlocal: set[str] = set()
        self.deferred = deferred

    @property
    def ordered(self) -> bool:
        return self.kind in ("module", "class")


def _scope_bindings(nodes: Iterable[ast.AST]) -> tuple[set[str], set[str], set[str]]:
    """Names bound directly in the scope whose body is ``nodes``, and its ``global``/``nonlocal`` names.

    Nested functions, classes and lambdas contribute their name only; comprehensions contribute the
    targets of their ``:=`` (which bind in the enclosing scope), not their loop variables.
    """
    bound: set[str] = set()
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Name:  # the most common node by far
            if not isinstance(node.ctx, ast.Load):
                bound.add(node.id)
        elif kind is ast.Constant:
            continue
        elif isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            bound.add(node.name)
            stack.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend([*node.bases, *node.keywords])
            else:
                stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)])
        elif isinstance(node, ast.Lambda):
            stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)])
        elif isinstance(node, _COMPREHENSIONS):
            stack.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.comprehension))
            for generator in node.generators:
                stack.extend([generator.iter, *generator.ifs])
        elif isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            declared_nonlocal.update(node.names)
        elif isinstance(node, ast.alias):
            if node.name != "*":
                bound.add(node.asname or node.name.partition(".")[0])
        else:
            name = getattr(node, "name", None) if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) else None
            if isinstance(node, ast.MatchMapping):
                name = node.rest
            if name:
                bound.add(name)
            stack.extend(_child_nodes(node))
    return bound, declared_global, declared_nonlocal


def _parameters(args: ast.arguments) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {arg.arg for arg in every if arg is not None}


class _CellAnalyzer:
    """Walks one parsed cell in execution order, recording bindings and free reads."""

    def __init__(self, cell: TransformedCell, tree: ast.Module, future_annotations: bool, cell_magic_names: list[str]) -> None:
        self.cell = cell
        self.tree = tree
        self.lines = cell.python.split("\n")
        self.module = _Scope("module", None)
        self.first_binding: dict[str, int] = {}
        self.imports: dict[str, int] = {}
        self.deletes: dict[str, None] = {}
        self.immediate: dict[str, Use] = {}
        self.deferred: dict[str, Use] = {}
        self.star_import = False
        self.unknown_bindings = cell.unknown_bindings
        self.future_annotations = future_annotations or _has_future_annotations(tree)
        self.cell_magic_names = cell_magic_names

    def result(self) -> CellFlow:
        self._block(self.tree.body, self.module)
        line = self.cell.cell_magic.line if self.cell.cell_magic else 1
        for name in self.cell_magic_names:
            self._bind_module(name, line)
        defines = {name: line for name, line in self.first_binding.items() if name in self.module.bound}
        uses = [*self.immediate.values(), *(use for use in self.deferred.values() if use.name not in defines)]
        return CellFlow(
            defines=defines,
            uses=tuple(sorted(uses, key=lambda use: (use.line, use.column, use.deferred))),
            deletes=tuple(self.deletes),
            imports=self.imports,
            magics=self.cell.magics,
            star_import=self.star_import,
            unknown_bindings=self.unknown_bindings or self.star_import,
            future_annotations=self.future_annotations,
            transformed=self.cell,
            tree=self.tree,
        )

    # -- names ---------------------------------------------------------------------------------

    def _column(self, node: ast.AST) -> tuple[int, int]:
        line = min(max(getattr(node, "lineno", 1), 1), len(self.lines))
        text = self.lines[line - 1]
        offset = getattr(node, "col_offset", 0)
        if not text.isascii():
            # ast columns count UTF-8 bytes.
            offset = len(text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "replace"))
        return line, self.cell.original_column(line, offset + 1)

    def _read(self, node: ast.Name, scope: _Scope) -> None:
        name = node.id
        current: _Scope | None = scope
        while current is not None and current.kind != "module" and name not in current.declared_global:
            if current.kind == "class":
                if current is scope and name in current.bound:
                    return
            elif name in current.local_names or name in current.declared_nonlocal:
                return
            current = current.parent
        if scope.deferred:
            if name not in self.deferred:
                self.deferred[name] = Use(name, *self._column(node), deferred=True)
        elif name not in self.module.bound and name not in self.immediate:
            self.immediate[name] = Use(name, *self._column(node), deferred=False)

    def _bind(self, name: str, scope: _Scope, line: int) -> None:
        if scope.kind == "module" or name in scope.declared_global:
            self._bind_module(name, line)
        elif scope.kind == "class":
            scope.bound.add(name)

    def _bind_module(self, name: str, line: int) -> None:
        self.module.bound.add(name)
        self.first_binding.setdefault(name, line)

    # -- statements ----------------------------------------------------------------------------

    def _block(self, statements: list[ast.stmt], scope: _Scope) -> None:
        spans = self.cell.timeit_spans if scope is self.module else ()
        i = 0
        while i < len(statements):
            span = next((s for s in spans if s[0] <= statements[i].lineno <= s[1]), None)
            if span is None:
                self._statement(statements[i], scope)
                i += 1
                continue
            # IPython runs %timeit code inside a function: what it binds is thrown away.
            group = [statements[i]]
            i += 1
            while i < len(statements) and span[0] <= statements[i].lineno <= span[1]:
                group.append(statements[i])
                i += 1
            local_names, declared_global, _ = _scope_bindings(group)
            inner = _Scope("function", scope, local_names - declared_global, deferred=scope.deferred)
            inner.declared_global = declared_global
            for statement in group:
                self._statement(statement, inner)

    def _statement(self, node: ast.stmt, scope: _Scope) -> None:
        handler = getattr(self, "_s_" + type(node).__name__, None)
        if handler is not None:
            handler(node, scope)
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child, scope)
            elif isinstance(child, ast.stmt):
                self._statement(child, scope)

    def _s_Assign(self, node: ast.Assign, scope: _Scope) -> None:
        self._expr(node.value, scope)
        for target in node.targets:
            self._expr(target, scope)

    def _s_AugAssign(self, node: ast.AugAssign, scope: _Scope) -> None:
        target = node.target
        if isinstance(target, ast.Name):
            self._read(target, scope)
            self._expr(node.value, scope)
            self._bind(target.id, scope, target.lineno)
        else:
            self._expr(target, scope)
            self._expr(node.value, scope)

    def _s_AnnAssign(self, node: ast.AnnAssign, scope: _Scope) -> None:
        if node.value is not None:
            self._expr(node.value, scope)
        if node.value is not None or not isinstance(node.target, ast.Name):
            self._expr(node.target, scope)
        if scope.ordered and not self.future_annotations:
            self._expr(node.annotation, scope)

    def _s_For(self, node: ast.For | ast.AsyncFor, scope: _Scope) -> None:
        self._expr(node.iter, scope)
        self._loop([node.target, *node.body], node.orelse, scope)

    _s_AsyncFor = _s_For

    def _s_While(self, node: ast.While, scope: _Scope) -> None:
        self._expr(node.test, scope)
        self._loop(node.body, node.orelse, scope)

    def _loop(self, body: Sequence[ast.AST], orelse: list[ast.stmt], scope: _Scope) -> None:
        before = set(scope.bound)
        if scope.ordered:
            # A later iteration sees what an earlier one bound.
            scope.bound |= _scope_bindings(body)[0]
        for item in body:
            if isinstance(item, ast.stmt):
                self._statement(item, scope)
            else:
                self._expr(item, scope)
        after_body = scope.bound
        scope.bound = before | after_body
        self._block(orelse, scope)
        scope.bound |= after_body

    def _s_If(self, node: ast.If, scope: _Scope) -> None:
        self._expr(node.test, scope)
        before = set(scope.bound)
        self._block(node.body, scope)
        after_body = scope.bound
        scope.bound = before
        self._block(node.orelse, scope)
        scope.bound |= after_body

    def _s_With(self, node: ast.With | ast.AsyncWith, scope: _Scope) -> None:
        for item in node.items:
            self._expr(item.context_expr, scope)
            if item.optional_vars is not None:
                self._expr(item.optional_vars, scope)
        self._block(node.body, scope)

    _s_AsyncWith = _s_With

    def _s_Try(self, node: ast.Try, scope: _Scope) -> None:
        before = set(scope.bound)
        self._block(node.body, scope)
        after_body = scope.bound
        handler_entry = before | after_body
        ends = []
        for handler in node.handlers:
            scope.bound = set(handler_entry)
            if handler.type is not None:
                self._expr(handler.type, scope)
            if handler.name:
                self._bind(handler.name, scope, handler.lineno)
            self._block(handler.body, scope)
            if handler.name:
                # Python deletes the name when the handler ends.
                scope.bound.discard(handler.name)
            ends.append(scope.bound)
        scope.bound = set(after_body)
        self._block(node.orelse, scope)
        merged = scope.bound.union(*ends)
        if node.finalbody:
            # The finally block also runs when an exception escapes from anywhere above.
            scope.bound = merged | handler_entry
            self._block(node.finalbody, scope)
        else:
            scope.bound = merged

    _s_TryStar = _s_Try

    def _s_Match(self, node: ast.Match, scope: _Scope) -> None:
        self._expr(node.subject, scope)
        before = set(scope.bound)
        ends = [before]
        for case in node.cases:
            scope.bound = set(before)
            self._pattern(case.pattern, scope)
            if case.guard is not None:
                self._expr(case.guard, scope)
            self._block(case.body, scope)
            ends.append(scope.bound)
        scope.bound = set().union(*ends)

    def _pattern(self, pattern: ast.pattern, scope: _Scope) -> None:
        stack = [pattern]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.MatchValue):
                self._expr(node.value, scope)
            elif isinstance(node, ast.MatchMapping):
                for key in node.keys:
                    self._expr(key, scope)
                stack.extend(reversed(node.patterns))
                if node.rest:
                    self._bind(node.rest, scope, node.lineno)
            elif isinstance(node, ast.MatchClass):
                self._expr(node.cls, scope)
                stack.extend(reversed([*node.patterns, *node.kwd_patterns]))
            elif isinstance(node, ast.MatchAs):
                if node.pattern is not None:
                    stack.append(node.pattern)
                if node.name:
                    self._bind(node.name, scope, node.lineno)
            elif isinstance(node, ast.MatchStar):
                if node.name:
                    self._bind(node.name, scope, node.lineno)
            elif isinstance(node, (ast.MatchSequence, ast.MatchOr)):
                stack.extend(reversed(node.patterns))

    def _s_Delete(self, node: ast.Delete, scope: _Scope) -> None:
        targets = list(node.targets)
        while targets:
            target = targets.pop(0)
            if isinstance(target, (ast.Tuple, ast.List)):
                targets[:0] = target.elts
            elif not isinstance(target, ast.Name):
                self._expr(target, scope)
            elif scope.ordered:
                if scope.kind == "module":
                    # Deleting a name reads it: `del x` fails if nothing bound x.
                    self._read(target, scope)
                    self.deletes[target.id] = None
                scope.bound.discard(target.id)

    def _s_Global(self, node: ast.Global, scope: _Scope) -> None:
        if scope.kind != "module":
            scope.declared_global.update(node.names)

    def _s_Nonlocal(self, node: ast.Nonlocal, scope: _Scope) -> None:
        scope.declared_nonlocal.update(node.names)

    def _s_Import(self, node: ast.Import, scope: _Scope) -> None:
        for alias in node.names:
            self._import(alias.asname or alias.name.partition(".")[0], node, scope)

    def _s_ImportFrom(self, node: ast.ImportFrom, scope: _Scope) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.star_import = True
            else:
                self._import(alias.asname or alias.name, node, scope)

    def _import(self, name: str, node: ast.stmt, scope: _Scope) -> None:
        self._bind(name, scope, node.lineno)
        if scope.kind == "module":
            self.imports.setdefault(name, node.lineno)

    def _s_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope) -> None:
        for decorator in node.decorator_list:
            self._expr(decorator, scope)
        args = node.args
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self._expr(default, scope)
        outer = self._type_parameters(node, scope)
        if not self.future_annotations:
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            for annotation in [*(arg.annotation for arg in every if arg is not None), node.returns]:
                if annotation is not None:
                    self._expr(annotation, outer)
        self._bind(node.name, scope, node.lineno)
        local_names, declared_global, declared_nonlocal = _scope_bindings(node.body)
        inner = _Scope("function", outer, (local_names | _parameters(args)) - declared_global - declared_nonlocal, deferred=True)
        inner.declared_global = declared_global
        inner.declared_nonlocal = declared_nonlocal
        self._block(node.body, inner)

    _s_AsyncFunctionDef = _s_FunctionDef

    def _s_ClassDef(self, node: ast.ClassDef, scope: _Scope) -> None:
        for decorator in node.decorator_list:
            self._expr(decorator, scope)
        outer = self._type_parameters(node, scope)
        for base in [*node.bases, *node.keywords]:
            self._expr(base, outer)
        inner = _Scope("class", outer, deferred=outer.deferred)
        self._block(node.body, inner)
        self._bind(node.name, scope, node.lineno)

    def _s_TypeAlias(self, node: Any, scope: _Scope) -> None:  # ast.TypeAlias, Python 3.12+
        self._expr(node.name, scope)
        # The value is evaluated lazily, on first access.
        lazy = _Scope("function", self._type_parameters(node, scope), deferred=True)
        self._expr(node.value, lazy)

    def _type_parameters(self, node: ast.AST, scope: _Scope) -> _Scope:
        """The scope of PEP 695 type parameters (``def f[T]``), whose bounds are evaluated lazily."""
        parameters = getattr(node, "type_params", None)
        if not parameters:
            return scope
        inner = _Scope("function", scope, (p.name for p in parameters), deferred=scope.deferred)
        lazy = _Scope("function", inner, deferred=True)
        for parameter in parameters:
            for bound in (getattr(parameter, "bound", None), getattr(parameter, "default_value", None)):
                if bound is not None:
                    self._expr(bound, lazy)
        return inner

    # -- expressions ---------------------------------------------------------------------------

    def _expr(self, root: ast.AST, scope: _Scope) -> None:
        """Visit an expression in evaluation order; iterative, so deep expressions cannot overflow the stack."""
        stack: list[tuple[ast.AST, _Scope, bool]] = [(root, scope, False)]
        while stack:
            node, current, bind = stack.pop()
            if type(node) is ast.Constant:  # the most common leaf: nothing to read or bind
                continue
            if bind and isinstance(node, ast.Name):
                self._bind(node.id, current, node.lineno)
            elif isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    self._read(node, current)
                elif isinstance(node.ctx, ast.Store):
                    self._bind(node.id, current, node.lineno)
            elif isinstance(node, ast.NamedExpr):
                # `:=` in a comprehension binds in the enclosing function or module.
                target_scope = current
                while target_scope.kind == "comprehension" and target_scope.parent is not None:
                    target_scope = target_scope.parent
                stack.append((node.target, target_scope, True))
                stack.append((node.value, current, False))
            elif isinstance(node, ast.Lambda):
                args = node.args
                local_names = _scope_bindings([node.body])[0] | _parameters(args)
                inner = _Scope("function", current, local_names, deferred=True)
                stack.append((node.body, inner, False))
                defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
                stack.extend((default, current, False) for default in reversed(defaults))
            elif isinstance(node, _COMPREHENSIONS):
                stack.extend(reversed(self._comprehension(node, current)))
            else:
                if isinstance(node, (ast.Call, ast.Subscript, ast.Attribute)):
                    self._note_dynamic_binding(node)
                stack.extend((child, current, False) for child in reversed(_child_nodes(node)))

    def _comprehension(self, node: _Comprehension, scope: _Scope) -> list[tuple[ast.AST, _Scope, bool]]:
        """A comprehension's parts in evaluation order: the first iterable in ``scope``, the rest in its own scope."""
        local_names = {name for generator in node.generators for name in _scope_bindings([generator.target])[0]}
        inner = _Scope("comprehension", scope, local_names, deferred=scope.deferred)
        parts: list[tuple[ast.AST, _Scope, bool]] = []
        for index, generator in enumerate(node.generators):
            parts.append((generator.iter, scope if index == 0 else inner, False))
            parts.append((generator.target, inner, False))
            parts.extend((condition, inner, False) for condition in generator.ifs)
        results = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        parts.extend((result, inner, False) for result in results)
        return parts

    def _note_dynamic_binding(self, node: ast.Call | ast.Subscript | ast.Attribute) -> None:
        """``exec(...)``, ``globals()[k] = v``, ``globals().update(...)``: bindings nobody can list."""
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "exec":
                self.unknown_bindings = True
            return
        namespace = node.value
        if not (isinstance(namespace, ast.Call) and isinstance(namespace.func, ast.Name)):
            return
        if namespace.func.id not in ("globals", "vars", "locals"):
            return
        if isinstance(node, ast.Subscript):
            self.unknown_bindings |= isinstance(node.ctx, ast.Store)
        else:
            self.unknown_bindings |= node.attr in ("update", "setdefault", "__setitem__")


def _child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes(node)`` without contexts and constants (which bind and read nothing), as a list: a hot path."""
    children: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            children.extend(item for item in value if isinstance(item, ast.AST) and type(item) is not ast.Constant)
        elif isinstance(value, ast.AST) and type(value) is not ast.Constant and not isinstance(value, ast.expr_context):
            children.append(value)
    return children
