"""``fmt``'s safety check: a cell as plain Python with its IPython syntax masked, and AST equality the way black compares.

A formatted cell is written only when its IPython syntax (magics, shell commands, help requests)
is the same and its AST equals the original's after black's normalisation; see the docstring of
:mod:`nb2prod.formatting`. Also decides whether a cell can be checked at all (it must parse).
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable
from typing import Any

#: Cell magics whose body is Python and which ruff and black both format.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3", "pypy"})

_OMITTED = object()  # a field ``ast.dump`` leaves out


_PLAIN = (str, int)  # leaf types whose equality is the equality of their repr


#: A cell as plain Python and its IPython syntax (see :func:`_python_of`).
_View = tuple[str, tuple[tuple[str, str, str], ...]]


def _python_of(source: str) -> _View | None:
    """A cell as plain Python (IPython syntax rewritten, line for line) and its IPython syntax.

    For a ``%%python``-style cell magic, the body. None when the cell is not Python at all.
    """
    from .lint.ipython import transform_cell

    cell = transform_cell(source)
    magics = [(m.kind, m.name, " ".join(m.args.split())) for m in cell.magics]
    python = cell.python
    if not cell.analyzable:
        magic = cell.cell_magic
        if magic is None or magic.name not in PYTHON_CELL_MAGICS:
            return None
        body = transform_cell("\n".join(source.split("\n")[magic.line :]))
        if not body.analyzable:
            return None
        python = body.python
        magics += [(m.kind, m.name, " ".join(m.args.split())) for m in body.magics]
    return python, tuple(magics)


def _parse(python: str) -> ast.Module | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning for "\d" and the like: not ours to report
        try:
            return ast.parse(python)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


def _parses(python: str) -> bool:
    """Whether ``python`` parses; ``compile`` to bytecode first, which is about 4x faster than building the AST."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(python, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
            return True
        except (ValueError, RecursionError, MemoryError):
            return False
        except SyntaxError:
            pass  # maybe only the compiler's checks ("return" outside a function): the parser may still accept it
    return _parse(python) is not None


def _checkable(source: str) -> bool:
    """Whether a cell can be formatted safely: it is Python and parses, so its result can be verified."""
    return _checkable_view(source) is not None


def _checkable_view(source: str) -> _View | None:
    """The :func:`_python_of` view of a cell that can be formatted safely (see :func:`_checkable`), else None."""
    view = _python_of(source)
    return view if view is not None and _parses(view[0]) else None


def _code_view(source: str) -> tuple[str, tuple[tuple[str, str, str], ...]] | None:
    """What must not change when a cell is formatted: its normalised AST dump and its IPython syntax.

    None when the cell is not Python or does not parse after the IPython transform. (The reference:
    :func:`_verify` compares the same things through :func:`_tree_view` and :func:`_same_code`.)
    """
    view = _python_of(source)
    if view is None:
        return None
    tree = _parse(view[0])
    return None if tree is None else (_normalized_dump(tree), view[1])


def _tree_view(view: _View | None) -> tuple[ast.Module, tuple[tuple[str, str, str], ...]] | None:
    """A :func:`_python_of` view with its Python parsed: None when there is none, or it does not parse."""
    if view is None:
        return None
    tree = _parse(view[0])
    return None if tree is None else (tree, view[1])


def _parse_problem(source: str) -> str:
    view = _python_of(source)
    if view is None:
        return "its cell magic's body is not Python"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(view[0])
        except SyntaxError as exc:
            return f"it does not parse as Python (line {exc.lineno}: {exc.msg})"
        except (ValueError, RecursionError, MemoryError) as exc:
            return f"it does not parse as Python ({type(exc).__name__})"
    return "it does not parse as Python"


def _normalize_docstring(value: str) -> str:
    """black's normalisation: each line stripped, blank lines at both ends removed."""
    return "\n".join(line.strip() for line in value.splitlines()).strip()


def _normalized_dump(tree: ast.AST) -> str:
    """``ast.dump`` of ``tree`` with the differences a formatter may legitimately make removed.

    Mirrors black's ``_stringify_ast``: a standalone string expression (a docstring) may be
    re-indented and trimmed, and ``del (a, b)`` may lose its parentheses. ``tree`` is modified.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            node.value.value = _normalize_docstring(node.value.value)
        elif isinstance(node, ast.Delete):
            node.targets = list(_unwrap_tuples(node.targets))
    return ast.dump(tree)


def _unwrap_tuples(targets: Iterable[ast.expr]) -> Iterable[ast.expr]:
    for target in targets:
        if isinstance(target, ast.Tuple):
            yield from _unwrap_tuples(target.elts)
        else:
            yield target


def _shown(node: ast.AST, name: str) -> Any:
    """The field ``name`` of ``node`` as ``ast.dump`` sees it: ``_OMITTED`` when it is missing, or None where None is the default."""
    try:
        value = getattr(node, name)
    except AttributeError:
        return _OMITTED
    if value is None and getattr(type(node), name, ...) is None:
        return _OMITTED
    return value


def _docstring_value(node: ast.AST) -> str | None:
    """The normalised text of a standalone string expression (what ``_normalized_dump`` puts in its place), else None."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        return _normalize_docstring(node.value.value)
    return None


def _same_code(before: ast.AST, after: ast.AST) -> bool:
    """Whether ``_normalized_dump(before) == _normalized_dump(after)``, without building the dumps or modifying the trees.

    ``ast.dump`` shows a node as its class name and its fields (leaving out the missing ones and
    the None ones whose default is None), lists item by item, anything else by ``repr``: two dumps
    are equal when all of these are, node by node, which this checks, stopping at the first
    difference. The normalisation is applied on the way: a standalone string expression compares
    its normalised text, ``del`` its targets with tuples unwrapped.
    """
    pending: list[tuple[ast.AST, Any]] = [(before, after)]
    while pending:
        a, b = pending.pop()
        cls = type(a)
        if type(b) is not cls:
            return False
        if cls is ast.Expr:
            text_a, text_b = _docstring_value(a), _docstring_value(b)
            if text_a is not None or text_b is not None:
                # Two string constants (``Expr`` has no other field): their normalised texts, then their other fields.
                if text_a != text_b:
                    return False
                a, b, skip = a.value, b.value, "value"  # type: ignore[attr-defined]
                cls = type(a)
            else:
                skip = ""
        else:
            skip = ""
        for name in cls._fields:
            x = getattr(a, name, _OMITTED)
            y = getattr(b, name, _OMITTED)
            if x is y or name == skip:
                continue  # the same object (a context, None, an interned name…) or a field compared already
            if x is None or y is None or x is _OMITTED or y is _OMITTED:
                if _shown(a, name) is _OMITTED and _shown(b, name) is _OMITTED:
                    continue
                return False  # shown on one side only, or None against something else
            if type(x) is list:
                if type(y) is not list:
                    return False
                if cls is ast.Delete and name == "targets":
                    x, y = list(_unwrap_tuples(x)), list(_unwrap_tuples(y))
                if len(x) != len(y):
                    return False
                for item_a, item_b in zip(x, y, strict=True):  # of equal length, checked above
                    if isinstance(item_a, ast.AST):
                        pending.append((item_a, item_b))
                    elif not _same_leaf(item_a, item_b):
                        return False
            elif isinstance(x, ast.AST):
                pending.append((x, y))
            elif not _same_leaf(x, y):
                return False
    return True


def _same_leaf(a: Any, b: Any) -> bool:
    """Whether ``ast.dump`` shows two values that are not nodes the same way (a list or a node on one side never is)."""
    if a is b:
        return True
    if type(a) is type(b) and type(a) in _PLAIN:
        return bool(a == b)
    return not isinstance(b, (ast.AST, list)) and not isinstance(a, (ast.AST, list)) and repr(a) == repr(b)
