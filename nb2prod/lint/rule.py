"""What a lint rule is, what it reports, and the registry that finds rules.

A rule is a small pure function from a ``LintContext`` to ``Hit``s (where and what); the engine
turns hits into ``Finding``s by adding the path, code, severity and cell id, so rules never repeat
that bookkeeping. Built-in rules live in ``nb2prod.lint.rules``; third-party rules come from the
``nb2prod.rules`` entry point group, looked up the first time the registry is asked for, never at
import time.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, Nb2prodError

if TYPE_CHECKING:
    from ..notebook import Notebook
    from .context import LintContext

ENTRY_POINT_GROUP = "nb2prod.rules"
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
    not checked and why (e.g. code rules skipped for a non-Python kernel).
    """

    path: str
    findings: list[Finding] = field(default_factory=list)
    error: Nb2prodError | None = None
    notebook: Notebook | None = None
    notes: list[str] = field(default_factory=list)


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


@cache
def registry() -> Registry:
    """The rule registry, built on first use (plugins are loaded here, not at import)."""
    from .rules import BUILTIN_RULES

    return Registry([*BUILTIN_RULES, *_plugin_rules()])


def _plugin_rules() -> list[Rule]:
    if not _may_declare_plugins():
        return []
    from importlib.metadata import entry_points

    found: list[Rule] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as exc:  # a broken plugin must not take lint down with it
            raise ConfigError(f"cannot load lint rules from plugin '{entry.name}' ({entry.value}): {exc}") from None
        items = loaded() if callable(loaded) and not isinstance(loaded, Rule) else loaded
        items = [items] if isinstance(items, Rule) else list(items)
        for item in items:
            if not isinstance(item, Rule):
                raise ConfigError(f"plugin '{entry.name}' provides {type(item).__name__}, not an nb2prod Rule")
            found.append(item)
    return found


def _may_declare_plugins() -> bool:
    """False only when no installed distribution can declare an ``nb2prod.rules`` entry point.

    ``importlib.metadata.entry_points`` imports the metadata machinery and parses every
    distribution's metadata: about 40 ms of each ``nb2prod lint`` process (a pre-commit hook
    starts one per commit) on a typical virtualenv, to find nothing in the common case. This
    pre-check reads only the ``entry_points.txt`` files of the ``*.dist-info``/``*.egg-info``
    folders on ``sys.path`` (~1 ms) for the group's header; when one mentions it, or anything
    on ``sys.path`` or ``sys.meta_path`` is of a kind it cannot see into (a zip file, an egg, a
    custom finder of distributions), the full lookup runs, so it never hides a plugin. No
    cache: nothing to go stale when a plugin is installed or removed.
    """
    import importlib.machinery
    import os
    import sys

    if any(hasattr(finder, "find_distributions") and finder is not importlib.machinery.PathFinder for finder in sys.meta_path):
        return True
    header = f"[{ENTRY_POINT_GROUP}]".encode()
    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                return True  # a zip or egg file: let importlib.metadata look inside
            continue
        if folder.endswith(".egg"):
            return True
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(folder, name, "entry_points.txt"), "rb") as file:
                        if header in file.read():
                            return True
                except OSError:
                    continue
    return False
