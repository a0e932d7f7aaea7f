"""The AST walk that finds what one parsed cell binds and reads at module level.

:func:`nb2prod.lint.dataflow.analyze_cell` transforms and parses a cell, then hands the tree to
:class:`CellAnalyzer`, which walks it in execution order with Python's scoping rules (module,
class, function, comprehension, type-parameter scopes) and returns a :class:`~nb2prod.lint.cellflow.CellFlow`.
The walk is a *may*-analysis; see :mod:`nb2prod.lint.dataflow` for what that means for the rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from typing import Any

from .cellflow import CellFlow, Use
from .ipython import TransformedCell

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_Comprehension = ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


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


class CellAnalyzer:
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
