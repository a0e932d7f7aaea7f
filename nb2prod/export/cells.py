"""One marked cell's code for export: IPython syntax handled, directives and nb2prod imports removed, checked to compile.

The rules are in :mod:`nb2prod.export.codegen`'s docstring ("A module's source").
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable, Iterable

from ..errors import ExportError
from ..lint.ipython import EXPORT_DROPPED_LINE_MAGICS, EXPORT_UNWRAPPED_MAGICS, Magic, TransformedCell, parse_quietly
from ..model import Cell
from .deps import import_statements
from .select import EXPORT_ROLES, ROLE_WORDS, Piece, Source


def _magic_handling(magic: Magic, transformed: TransformedCell) -> str | None:
    """How export handles a piece of IPython syntax: ``drop``, ``unwrap`` (keep its statement or body), or None (an error).

    The same judgement as lint's NB202, from the same constants.
    """

    if magic.kind == "line" and magic.name in EXPORT_DROPPED_LINE_MAGICS:
        return "drop"
    if magic.kind == "line" and magic.name in EXPORT_UNWRAPPED_MAGICS:
        return "unwrap"
    if magic.kind == "cell" and magic.name == "time" and magic == transformed.cell_magic:
        return "drop"  # the `%%time` line; its body is ordinary code
    return None


def _describe(magic: Magic, transformed: TransformedCell) -> str:
    text = magic.args if len(magic.args) <= 40 else magic.args[:39] + "…"
    shown = {
        "shell": f"shell command `!{text}`",
        "help": f"help request `{text}?`",
        "cell": f"cell magic `%%{magic.name}`" + ("" if magic == transformed.cell_magic else " below the cell's first line"),
        "autocall": f"autocall `{magic.name} …`",
    }.get(magic.kind, f"magic `%{magic.name}`")
    return f"{shown} (line {magic.line})"


def cell_piece(source: Source, cell: Cell, role: str, module: str, package: str) -> Piece:
    """Check one marked cell and turn it into plain Python; raises ``ExportError`` naming the cell and line."""
    context = source.context
    transformed = context.transformed[cell.index]
    what = f"{ROLE_WORDS[role]} cell {cell.number}"
    handling = {magic: _magic_handling(magic, transformed) for magic in transformed.magics}
    bad = [magic for magic, how in handling.items() if how is None]
    if bad:
        raise ExportError(
            f"{what} holds IPython syntax a Python module cannot run: {', '.join(_describe(magic, transformed) for magic in bad)} (NB202)",
            path=source.where(cell, bad[0].line),
            hint="use plain Python instead (subprocess.run for a command), or move it to a cell that is not exported",
        )
    flow = context.flow.cells[cell.index]
    error = flow.syntax_error
    if error is not None:
        raise ExportError(
            f"{what} does not parse as Python: {error[2]} (NB208)", path=source.where(cell, error[0]), hint="fix the cell so that it runs"
        )
    try:
        # The dataflow analysis parsed the same text (it never modifies its trees); compiling the tree
        # adds the compiler's checks the parser does not make (`return` outside a function…).
        tree = flow.tree if flow.tree is not None and flow.transformed is transformed else parse_quietly(transformed.python)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(tree, source.where(cell), "exec", dont_inherit=True)
    except (RecursionError, MemoryError):
        raise ExportError(f"{what} is nested too deeply to compile", path=source.where(cell), hint="simplify the code") from None
    except SyntaxError as exc:
        hint = "move the code into a function: top-level `await`, `return` and `yield` work only in a notebook"
        if "__future__" in exc.msg:
            hint = "put `from __future__` imports first in the cell"
        raise ExportError(f"{what} cannot run as module code: {exc.msg}", path=source.where(cell, exc.lineno or 1), hint=hint) from None
    imports = list(import_statements(tree))  # in ast.walk order
    if role in EXPORT_ROLES:
        relative = [node for node in imports if isinstance(node, ast.ImportFrom) and node.level]
        if relative:
            node = min(relative, key=lambda node: (node.lineno, node.col_offset))
            target = "." * node.level + (node.module or "")
            raise ExportError(
                f"{what} imports relatively from '{target}'; the module's package is not known in the notebook (NB207)",
                path=source.where(cell, node.lineno),
                hint=f"import absolutely, e.g. `from {package}.{module} import …`",
            )
    lines: list[str | None] = list(transformed.python.split("\n"))
    for directive in cell.directives:
        lines[directive.line - 1] = None
    for magic, how in handling.items():
        if how == "drop" and lines[magic.line - 1] == "pass":  # an indented one stays `pass`: its block needs a statement
            lines[magic.line - 1] = None
    future, removed, edits = _import_edits(tree, imports, lambda line: source.where(cell, line), what)
    for node, replacement in sorted(edits, key=lambda edit: (edit[0].lineno, edit[0].col_offset), reverse=True):
        _replace_statement(lines, node, replacement)
    kept = [(number, line) for number, line in enumerate(lines, start=1) if line is not None]
    while kept and not kept[0][1].strip():
        kept.pop(0)
    while kept and not kept[-1][1].strip():
        kept.pop()
    code = "\n".join(line for _, line in kept)
    if edits:  # removing directives and blank lines cannot break what compiled above; rewriting statements could
        must_compile(code, f"{source.where(cell)} after export")
    exact = not edits and not transformed.magics
    lines_kept = tuple(number for number, _ in kept)
    return Piece(cell, role, module, code, lines_kept, future if role in EXPORT_ROLES else (), removed, tree, exact)


def _import_edits(
    tree: ast.Module, imports: Iterable[ast.Import | ast.ImportFrom], where: Callable[[int], str], what: str
) -> tuple[tuple[str, ...], frozenset[str], list[tuple[ast.stmt, str | None]]]:
    """Statements to remove from a cell: ``from __future__`` imports (hoisted for modules) and nb2prod imports.

    ``imports`` are the cell's import statements in ``ast.walk`` order. Returns the future features,
    the names the removed nb2prod imports bound, and (statement, replacement) edits; a replacement
    of None removes the statement. Other nb2prod imports are errors.
    """
    future: list[str] = []
    removed: set[str] = set()
    edits: list[tuple[ast.stmt, str | None]] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__" and node.level == 0:
            future.extend(alias.name for alias in node.names)
            edits.append((node, None))
    hint = "write `import nb2prod` (or `from nb2prod import record`) and call `record(name, value)` in a `main` cell"
    for node in imports:
        if isinstance(node, ast.Import):
            keep = []
            for alias in node.names:
                if alias.name != "nb2prod" and not alias.name.startswith("nb2prod."):
                    keep.append(alias)
                elif alias.asname not in (None, "nb2prod") or (alias.asname and alias.name != "nb2prod"):  # `import nb2prod as nb`
                    message = f"{what} imports {alias.name} as {alias.asname}; the package provides only `nb2prod.record` and `record`"
                    raise ExportError(message, path=where(node.lineno), hint=hint)
                else:
                    removed.add("nb2prod")
            if len(keep) < len(node.names):
                edits.append((node, ast.unparse(ast.Import(names=keep)) if keep else None))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.partition(".")[0] == "nb2prod":
            others = [
                alias for alias in node.names if node.module != "nb2prod" or alias.name != "record" or alias.asname not in (None, "record")
            ]
            if others:
                shown = ", ".join(alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in others)
                message = f"{what} imports {shown} from {node.module}; the package has no nb2prod at run time and provides only `record`"
                raise ExportError(message, path=where(node.lineno), hint=hint)
            removed.add("record")
            edits.append((node, None))
    return tuple(future), frozenset(removed), edits


def _char_offset(line: str, byte_offset: int) -> int:
    """The character index of an AST column (a UTF-8 byte offset) in ``line``."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "ignore"))


def _replace_statement(lines: list[str | None], node: ast.stmt, replacement: str | None) -> None:
    """Remove or replace one statement in ``lines`` (1-based AST positions); ``pass`` keeps a block or a `;` list valid."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    head, tail = lines[first] or "", lines[last] or ""
    start = _char_offset(head, node.col_offset)
    end = _char_offset(tail, node.end_col_offset if node.end_col_offset is not None else len(tail.encode("utf-8")))
    before, after = head[:start], tail[end:]
    for index in range(first + 1, last + 1):
        lines[index] = None
    if not before.strip() and (not after.strip() or after.lstrip().startswith("#")):
        lines[first] = None if replacement is None and not before else before + (replacement or "pass")
    else:
        lines[first] = before + (replacement or "pass") + after


def must_compile(code: str, what: str) -> None:
    """Guard: generated code that does not compile is a bug in nb2prod, never the user's input."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(code, what, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise AssertionError(f"nb2prod bug: the code generated for {what} does not compile ({exc}); please report it") from exc
