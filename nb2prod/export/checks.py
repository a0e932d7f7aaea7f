"""Checks across the cells bound for the package: names they use (lint's NB201 analysis), names defined twice (NB209),
uses of nb2prod, which the package does not depend on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import ExportError
from ..lint.dataflow import NameIssue, analyze_cell
from ..params import parameters_cell
from .select import EXPORT_ROLES, ROLE_WORDS, Source

_ENTRY_POINT_NAMES = frozenset({"nb2prod", "record"})  # bound by the entry point for `main` code
_MAX_LISTED = 12


def check_names(source: Source) -> None:
    """Cells bound for the package may use only names the package will have (lint's NB201 analysis, shared)."""
    flow = source.context.flow
    issues: list[NameIssue] = []
    by_module: dict[str, set[int]] = {}
    for index in source.cells_with(*EXPORT_ROLES):
        by_module.setdefault(source.roles[index][1], set()).add(index)
    for selected in by_module.values():
        issues.extend(flow.defined_only_outside(selected))
    own = by_module.get(source.module, set())
    mains = set(source.cells_with("main"))
    if mains:
        parameters = parameters_cell(source.notebook)
        available = own | mains | ({parameters.index} if parameters else set())
        issues.extend(i for i in flow.defined_only_outside(available) if i.cell_index in mains and i.name not in _ENTRY_POINT_NAMES)
    for test in source.cells_with("test"):
        issues.extend(i for i in flow.defined_only_outside(own | {test}) if i.cell_index == test)
    if not issues:
        return
    issues.sort(key=lambda issue: issue.position)
    groups: dict[tuple[int, str], list[str]] = {}  # (cell, where its names are defined) -> the names, in order
    for issue in issues[:_MAX_LISTED]:
        groups.setdefault((issue.cell_index, _definers(source, issue.defined_in)), []).append(f"'{issue.name}' (line {issue.line})")
    parts = [
        f"{ROLE_WORDS[source.roles[index][0]]} cell {index + 1} uses {', '.join(names)}, defined only in {definers}"
        for (index, definers), names in groups.items()
    ]
    if len(issues) > _MAX_LISTED:
        parts.append(f"and {len(issues) - _MAX_LISTED} more")
    first = issues[0]
    raise ExportError(
        "cells bound for the package use names that only cells left out of it define, so the package would raise NameError (NB201): "
        + "; ".join(parts),
        path=source.where(source.notebook.cells[first.cell_index], first.line),
        hint="mark the cells that define them for export (tag `export` or `#| export`), or move the definitions into marked cells; "
        "`main` cells can also use the parameters",
    )


def _definers(source: Source, indices: Iterable[int]) -> str:
    parameters = parameters_cell(source.notebook)
    shown = []
    for index in indices:
        role, module = source.roles.get(index, (None, None))
        if parameters is not None and index == parameters.index:
            shown.append(f"cell {index + 1} (the parameters cell)")
        elif role in EXPORT_ROLES:
            shown.append(f"cell {index + 1} (exported to module '{module}')")
        elif role is not None:
            shown.append(f"cell {index + 1} (a {role} cell)")
        else:
            shown.append(f"cell {index + 1}")
    return ", ".join(shown)


def duplicate_warnings(source: Source) -> list[str]:
    """NB209: a top-level name defined by two cells exported to one module; the later wins, as in the notebook."""
    flow = source.context.flow
    first: dict[tuple[str, str], int] = {}
    found = []
    for index in source.cells_with(*EXPORT_ROLES):
        module = source.roles[index][1]
        cell_flow = flow.cells[index]
        for name, line in cell_flow.defines.items():
            if name in cell_flow.imports:
                continue
            earlier = first.setdefault((module, name), index)
            if earlier != index:
                found.append(
                    f"{source.where(source.notebook.cells[index], line)}: warning: '{name}' is also defined by cell {earlier + 1}, "
                    "which is exported too; the later definition wins, as in the notebook (NB209)"
                )
    return found


def check_nb2prod_uses(sources: Sequence[Source], names: dict[str, set[str]]) -> None:
    """Exported and test code may not use what removed nb2prod imports bound: the package has no nb2prod at run time."""
    for source in sources:
        removed = set().union(*(piece.removed for piece in source.pieces))
        if not removed:
            continue
        for piece in source.pieces:
            if piece.role == "main":
                continue  # the entry point binds `nb2prod` and `record` itself
            use = next((use for use in analyze_cell(piece.code).uses if use.name in removed - names[piece.module]), None)
            if use is not None:
                raise ExportError(
                    f"{ROLE_WORDS[piece.role]} cell {piece.cell.number} uses '{use.name}' from nb2prod, which the package does not "
                    "depend on",
                    path=source.where(piece.cell, piece.lines[use.line - 1]),
                    hint="record metrics with `nb2prod.record(name, value)` in a `main` cell, where the entry point provides it",
                )
