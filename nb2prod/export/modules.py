"""Each module's source from its cells' pieces: docstring, ``__future__`` imports, ``__all__``, provenance comments.

The rules are in :mod:`nb2prod.export.codegen`'s docstring ("A module's source", ``__all__``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from ..lint.dataflow import analyze_cell
from ..lint.ipython import parse_quietly
from ..model import Cell
from ..text import printable
from .plan import ModulePlan, Provenance
from .select import EXPORT_ROLES, Piece, Source


def provenance(source: Source, cell: Cell) -> Provenance:
    """Where generated code from ``cell`` came from."""
    return Provenance(source.shown, cell.index, cell.id)


def block(source: Source, piece: Piece) -> str:
    """A piece's code preceded by its provenance comment."""
    cell = piece.cell
    identity = f"cell {cell.number} (id {cell.id})" if cell.id else f"cell {cell.number}"
    return f"# -- from {printable(source.shown)}, {identity} --\n{piece.code}"


def joined(blocks: Iterable[str]) -> str:
    """Blocks separated as top-level definitions are (two blank lines), with a final newline when not empty."""
    text = "\n\n\n".join(blocks)
    return text + "\n" if text else ""


def _docstring(text: str) -> str:
    """A one-line docstring literal holding ``text``."""
    return '"""' + printable(text).replace("\\", "\\\\").replace('"', '\\"') + '"""'


def module_plans(owners: dict[str, Source]) -> tuple[list[ModulePlan], list[ast.Module | None]]:
    """Every module's (unformatted) code and names, sorted by module name; and the AST of each code, when its cells' make it."""
    modules = []
    trees: list[ast.Module | None] = []
    for module in sorted(owners):
        source = owners[module]
        pieces = module_pieces(source, module)
        body = joined(block(source, piece) for piece in pieces)
        features = sorted({feature for piece in pieces for feature in piece.future})
        names = sorted(_bound_names(source, pieces, body) - {"__all__", *features})
        public = _public_names(pieces, set(names))
        head = [_docstring(f"Exported by nb2prod from {source.shown}.")]
        if features:
            head.append(f"from __future__ import {', '.join(features)}")
        head.append("__all__ = [" + ", ".join(f'"{name}"' for name in public) + "]")
        code = "\n\n".join(head) + ("\n\n\n" + body if body else "\n")
        blocks = tuple(provenance(source, piece.cell) for piece in pieces)
        modules.append(ModulePlan(module, (source.shown,), code, tuple(public), tuple(names), blocks))
        trees.append(_joined_tree(head, pieces))
    return modules, trees


def _joined_tree(head: Sequence[str], pieces: Sequence[Piece]) -> ast.Module | None:
    """The AST of a module's code made from its cells' own trees (the dataflow parsed them), when each is exact.

    The formatter's result is verified against it instead of parsing the whole module again. The
    head (docstring, ``__future__`` import, ``__all__``) is small and parsed; the provenance lines
    between the cells are comments.
    """
    if not all(piece.exact and piece.tree is not None for piece in pieces):
        return None
    body = [*parse_quietly("\n\n".join(head)).body]
    for piece in pieces:
        body.extend(piece.tree.body)  # type: ignore[union-attr]  # checked above
    return ast.Module(body=body, type_ignores=[])


def _bound_names(source: Source, pieces: Sequence[Piece], body: str) -> set[str]:
    """The names the module's code leaves bound at top level.

    Each cell's dataflow analysis already lists what it binds; joined, they are the module's, unless
    the cells interact in ways only a whole analysis sees: a ``del`` (of another cell's name), a
    removed nb2prod import (the cell's other statements may bind the same name), a magic turned into
    Python. Then the module's code is analysed as one.
    """
    flows = [source.context.flow.cells[piece.cell.index] for piece in pieces]
    if any(flow.deletes or flow.magics for flow in flows) or any(piece.removed for piece in pieces):
        return set(analyze_cell(body).defines) if body else set()
    return {name for flow in flows for name in flow.defines}


def module_pieces(source: Source, module: str) -> list[Piece]:
    """The pieces that make ``module``'s code, in notebook order."""
    return [piece for piece in source.pieces if piece.role in EXPORT_ROLES and piece.module == module and piece.code]


_TYPE_ALIAS = getattr(ast, "TypeAlias", ())  # `type X = ...`, Python 3.12+


def _definitions(body: Sequence[ast.stmt]) -> Iterable[tuple[str, ast.stmt]]:
    """Names the top-level statements bind through def, class, assignment or ``type`` (imports, loops and blocks do not count)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name, node
        elif isinstance(node, ast.Assign):
            yield from ((name, node) for target in node.targets for name in _target_names(target))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            yield from ((name, node) for name in _target_names(node.target))
        elif isinstance(node, _TYPE_ALIAS):
            yield node.name.id, node


def _target_names(target: ast.expr) -> Iterable[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)


def _is_patch(node: ast.stmt) -> bool:
    """A fastcore ``@patch``-style function (a method added to a class, not a module name); nbdev leaves it out."""
    for decorator in getattr(node, "decorator_list", []):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id.startswith("patch"):
            return True
    return False


def _nbdev_all(node: ast.stmt) -> list[str]:
    """The names listed by nbdev's ``_all_ = ["name", other]``."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    if not any(isinstance(target, ast.Name) and target.id == "_all_" for target in targets):
        return []
    value = getattr(node, "value", None)
    if not isinstance(value, (ast.List, ast.Tuple)):
        return []
    listed = []
    for element in value.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            listed.append(element.value)
        elif isinstance(element, ast.Name):
            listed.append(element.id)
    return listed


def _public_names(pieces: Sequence[Piece], names: set[str]) -> list[str]:
    """``__all__`` by nbdev's rules and in its order (see the module docstring); only names the module binds, so ``import *`` works.

    nbdev's order: the assigned names, then the ``def`` and ``class`` names, each in notebook order,
    then the names of ``_all_`` lists; a name once, where it first comes.
    """
    assigned: list[str] = []
    defined: list[str] = []
    listed: list[str] = []
    for piece in pieces:
        if piece.role != "export":
            continue
        body = (piece.tree if piece.tree is not None else ast.parse(piece.code)).body
        for name, node in _definitions(body):
            if not name.startswith("_") and not _is_patch(node):
                (defined if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else assigned).append(name)
        listed.extend(name for node in body for name in _nbdev_all(node))
    return [name for name in dict.fromkeys([*assigned, *defined, *listed]) if name in names]
