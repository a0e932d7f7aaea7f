"""The rule registry, and the one-way imports between ``rule``, ``rules`` and ``registry``."""

from __future__ import annotations

import ast
from pathlib import Path

import nb2prod.lint
from nb2prod.lint.registry import registry
from nb2prod.lint.rules import BUILTIN_RULES

LINT = Path(nb2prod.lint.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (imports inside functions included), as written."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_rule_module_does_not_import_the_rules() -> None:
    """``rule`` (what a rule is) imports neither the built-in rules nor the registry: the rules import it, not the reverse."""
    imported = _imported_modules(LINT / "rule.py")
    assert not {name for name in imported if name.lstrip(".").startswith(("rules", "registry"))}, imported


def test_rules_do_not_import_the_registry() -> None:
    """The built-in rule modules never import the registry that gathers them."""
    for path in (LINT / "rules").glob("*.py"):
        assert not {name for name in _imported_modules(path) if "registry" in name}, path


def test_registry_holds_every_builtin_rule() -> None:
    """The registry serves the built-in rules by code."""
    rules = registry()
    assert all(rules[rule.code] is rule for rule in BUILTIN_RULES)
