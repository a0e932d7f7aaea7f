"""Helpers the rule tests share: run one rule by code, and where its hits are."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hypothesis import strategies as st

from nb2prod.lint.context import LintContext, LintSettings
from nb2prod.lint.engine import LintOptions, Selection, lint_notebook
from nb2prod.lint.registry import registry
from nb2prod.lint.rule import Finding, Hit, Rule
from nb2prod.notebook import read_notebook

DATA = Path(__file__).parent.parent / "data" / "lint"
R_KERNEL = {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}, "language_info": {"name": "R"}}
Where = tuple[int | None, int | None, int | None]


def hits(ctx: LintContext, code: str) -> list[Hit]:
    """Run one rule over a context."""
    return list(registry()[code].check(ctx))


def where(found: list[Hit]) -> list[Where]:
    """(cell, line, column) of each hit."""
    return [(hit.cell_index, hit.line, hit.column) for hit in found]


#: Awkward cell text every rule must survive: IPython syntax, broken code, odd characters.
AWKWARD_FRAGMENTS = ["%matplotlib inline", "x = !ls", "obj?", "%%time", "def f(:", '"""', "\\", "é", "\x00", "    ", "f'{x}'"]


def cell_sources(fragments: list[str]) -> st.SearchStrategy[list[str]]:
    """Notebooks (as lists of cell sources) made of ``fragments`` and random text."""
    cell = st.lists(st.sampled_from(fragments) | st.text(max_size=12), max_size=5).map("\n".join)
    return st.lists(cell, min_size=1, max_size=4)


def assert_hits_inside(ctx: LintContext, rules: Iterable[Rule], cells: int) -> None:
    """Every rule runs without raising and reports only cells that exist."""
    for rule in rules:
        for hit in rule.check(ctx):
            assert hit.cell_index is not None and 0 <= hit.cell_index < cells


def fixture_findings(name: str, code: str, settings: LintSettings | None = None) -> list[Finding]:
    """Lint ``tests/data/lint/<name>.ipynb`` through the engine with only ``code`` selected.

    Also checks what every finding must carry: the id of the cell it points at (None for
    notebook-level findings).
    """
    notebook = read_notebook(DATA / f"{name}.ipynb")
    options = LintOptions(selection=Selection(select=(code,)), settings=settings or LintSettings())
    findings = lint_notebook(notebook, options).findings
    for finding in findings:
        assert finding.cell_id == (None if finding.cell_index is None else notebook.cells[finding.cell_index].id)
    return findings
