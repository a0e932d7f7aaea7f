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
