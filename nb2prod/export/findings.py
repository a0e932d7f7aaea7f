"""Lint's NB2 findings for the cells an export exports, reported with the export (issue #9 item 20).

A cell can export cleanly and still break the package: ``plt.style.use("ggplot")`` in an exported
cell runs, and may fail, whenever the module is imported (NB203). ``nb2prod lint`` says so;
``nb2prod export`` now says it too: it runs lint's NB2 rules (through :func:`nb2prod.lint.engine.lint_context`,
on the notebook's lint context, whose dataflow analysis the export already made) with the cells it
exports as the exported cells (``--all`` included), and reports each finding in one of those cells
as a warning line exactly as ``nb2prod lint`` prints it: ``path:cell N:line L:col C: NB203 [W] message``.

The findings never stop the export or change its exit code, whatever their severity: what would
break the package (NB201 names from cells left out, NB202 magics, NB207 relative imports, NB208
syntax errors, a parameters cell that is not literal) is refused by the export itself before this
runs, with its own error; what is left is advice. Lint's configuration applies (``select``,
``ignore``, ``per-path-ignores``, ``# nb2prod: noqa``, the notebook's ``metadata.nb2prod.ignore``).

Not run: NB201, NB202, NB207 and NB208, since a cell they would flag has already stopped the
export (export's checks are the same analyses, or stricter: its NB201 check is per module), which
keeps the pass cheap (about half its time on the benchmark corpus was those rules); and NB209 (a
name defined by two exported cells), left to the export's own warning, which knows the modules: two
cells defining one name in different modules do not clash.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..text import printable
from .select import EXPORT_ROLES, Source

if TYPE_CHECKING:
    from ..config import Config
    from ..lint.rule import Finding, Registry

#: NB2 rules whose findings export makes itself: errors that stopped it before this pass, or its own warning.
_CHECKED_BY_EXPORT = frozenset({"NB201", "NB202", "NB207", "NB208", "NB209"})


def lint_warnings(sources: Sequence[Source], config: Config) -> list[str]:
    """The warning lines for lint's NB2 findings in the exported cells of ``sources``, in notebook order."""
    from ..lint.engine import LintOptions, lint_context

    options = LintOptions.resolve(config.lint)
    lines = []
    for source in sources:
        exported = frozenset(source.cells_with(*EXPORT_ROLES))
        if not exported:
            continue
        result = lint_context(source.context.exporting(exported), options, config, _nb2_rules())
        lines.extend(finding_line(finding) for finding in result.findings if finding.cell_index in exported)
    return lines


@functools.cache
def _nb2_rules() -> Registry:
    """nb2prod's built-in NB2 rules but those export checks itself (plugins are not looked up: NB2 is nb2prod's)."""
    from ..lint.rule import Registry
    from ..lint.rules import BUILTIN_RULES

    return Registry(rule for rule in BUILTIN_RULES if rule.code.startswith("NB2") and rule.code not in _CHECKED_BY_EXPORT)


def finding_line(finding: Finding) -> str:
    """A finding as ``nb2prod lint`` prints it in its text report, without colour and source line."""
    location = finding.location + (f":col {finding.column}" if finding.column is not None else "")
    fixable = " [*]" if finding.fixable else ""
    return f"{location}: {finding.code} [{finding.severity.letter}]{fixable} {printable(finding.message)}"
