"""Helpers the rule tests share: run one rule by code, and where its hits are."""

from __future__ import annotations

from pathlib import Path

from nb2prod.lint.context import LintContext
from nb2prod.lint.rule import Hit, registry

DATA = Path(__file__).parent.parent / "data" / "lint"
R_KERNEL = {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}, "language_info": {"name": "R"}}
Where = tuple[int | None, int | None, int | None]


def hits(ctx: LintContext, code: str) -> list[Hit]:
    """Run one rule over a context."""
    return list(registry()[code].check(ctx))


def where(found: list[Hit]) -> list[Where]:
    """(cell, line, column) of each hit."""
    return [(hit.cell_index, hit.line, hit.column) for hit in found]
