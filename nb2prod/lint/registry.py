"""The rule registry: nb2prod's built-in rules and those of installed plugins, by code.

Third-party rules come from the ``nb2prod.rules`` entry point group, looked up the first time the
registry is asked for, never at import time. This module sits above both ``rule`` (what a rule is)
and ``rules`` (the built-in ones), so neither has to import the other's user.
"""

from __future__ import annotations

from functools import cache

from ..errors import ConfigError
from .rule import Registry, Rule
from .rules import BUILTIN_RULES

ENTRY_POINT_GROUP = "nb2prod.rules"


@cache
def registry() -> Registry:
    """The rule registry, built on first use (plugins are loaded here, not at import)."""
    return Registry([*BUILTIN_RULES, *_plugin_rules()])


def _plugin_rules() -> list[Rule]:
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
