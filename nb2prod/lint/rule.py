"""What a lint rule is, what it reports, and the registry that finds rules.

A rule is a small pure function from a ``LintContext`` to ``Hit``s (where and what); the engine
turns hits into ``Finding``s by adding the path, code, severity and cell id, so rules never repeat
that bookkeeping. This module knows no rule: the built-in rules (``nb2prod.lint.rules``) import it,
and ``nb2prod.lint.registry`` gathers them with the plugins' rules, so imports flow one way.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, Nb2prodError

if TYPE_CHECKING:
    from ..notebook import Notebook
    from .context import LintContext

_CODE = re.compile(r"^[A-Z]+[0-9]+$")


class Severity(enum.IntEnum):
    """How bad a finding is; ``--fail-on`` compares against it."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def letter(self) -> str:
        """E, W or I, as RULES.md writes it."""
        return self.name[0]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read ``error``/``warning``/``info`` (or E/W/I)."""
        wanted = text.strip().lower()
        for member in cls:
            if wanted in (member.name.lower(), member.letter.lower()):
                return member
        raise ConfigError(f"unknown severity '{text}'", hint="use error, warning or info")


@dataclass(frozen=True)
class Hit:
    """Where a rule found something: cell index (None for the whole notebook), 1-based line and column."""

    cell_index: int | None
    message: str
    line: int | None = None
    column: int | None = None
    fixable: bool = False


@dataclass(frozen=True)
class Finding:
    """One problem in one notebook, as every report format shows it."""

    path: str
    code: str
    severity: Severity
    message: str
    cell_index: int | None = None
    cell_id: str | None = None
    line: int | None = None
    column: int | None = None
    fixable: bool = False
    origin: str = "nb2prod"  # or "ruff" / the nbqa tool that reported it

    @property
    def location(self) -> str:
        """``path:cell N:line L`` with N the 1-based cell number Jupyter shows."""
        parts = [self.path]
        if self.cell_index is not None:
            parts.append(f"cell {self.cell_index + 1}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ":".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by ``--format json``."""
        return {
            "path": self.path,
            "cell_index": self.cell_index,
            "cell_id": self.cell_id,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity.name.lower(),
            "message": self.message,
            "fixable": self.fixable,
            "origin": self.origin,
        }


@dataclass
class FileResult:
    """Lint's outcome for one file: its findings, or the error that kept it from being linted.

    ``notebook`` lets reports show the source line of a finding; ``notes`` tell the user what was
    not checked and why (e.g. code rules skipped for a non-Python kernel). ``ruff`` is False when
    ruff's findings do not apply: the code cells are not Python 3 (another language, or Python 2),
    or the file is not one ruff can read as it is (nbformat 3 upgraded in memory, cells of an
    unknown type); they are then dropped, and a note says why.
    """

    path: str
    findings: list[Finding] = field(default_factory=list)
    error: Nb2prodError | None = None
    notebook: Notebook | None = None
    notes: list[str] = field(default_factory=list)
    ruff: bool = True


@dataclass(frozen=True)
class RuleDoc:
    """The page ``nb2prod rules CODE`` shows."""

    what: str
    why: str
    bad: str
    good: str
    fix: str
    limits: str = ""  # for heuristics: what the rule misses or may wrongly report


@dataclass(frozen=True)
class Rule:
    """A notebook rule. ``default_on`` False means it runs only when selected."""

    code: str
    name: str
    severity: Severity
    summary: str
    check: Callable[[LintContext], Iterable[Hit]] = field(repr=False)
    doc: RuleDoc = field(repr=False)
    default_on: bool = True
    fixable: bool = False

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"rule code {self.code!r} must be letters followed by digits")


class Registry(Mapping[str, Rule]):
    """All known rules by code: the built-in ones, then those of installed plugins."""

    def __init__(self, rules: Iterable[Rule]):
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            if rule.code in self._rules:
                raise ConfigError(f"two lint rules share the code {rule.code}", hint="a plugin must use codes of its own")
            self._rules[rule.code] = rule

    def __getitem__(self, code: str) -> Rule:
        return self._rules[code]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._rules))

    def __len__(self) -> int:
        return len(self._rules)
