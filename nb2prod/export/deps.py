"""The third-party distributions exported code imports, pinned to the versions installed here.

An exported package must declare what it imports, or ``pip install`` gives a package that fails on
its first import. The import names are read from the code (every ``import`` and ``from`` statement,
at any depth, so an import inside a function counts too), and mapped to distributions through the
installed metadata, as ``importlib.metadata.packages_distributions`` maps them: ``sklearn`` is
provided by ``scikit-learn``, ``yaml`` by ``PyYAML``. Left out: the standard library
(``sys.stdlib_module_names``), relative imports, ``__future__``, ``nb2prod`` (the package gets its
own ``record``) and the names the caller excludes (the package's own name).

When several installed distributions provide one import name (namespace packages such as
``google``), the ones that hold the imported submodule (``google.protobuf`` -> ``google/protobuf/``)
are preferred, and among those still tied the first by lower-cased name is taken, so the choice is
deterministic. An import name no installed distribution provides becomes a dependency on a
distribution of the same name with no version; the caller warns about it.

Speed (``export`` is a pre-commit hook): ``packages_distributions()`` parses the metadata of every
installed distribution and, for each one without ``top_level.txt``, builds a path object per line
of its RECORD (0.2-0.3 s with ~170 distributions). :func:`_providers` gives the same answer for the
import names at hand only: it reads each ``top_level.txt`` (a small file), infers the top-level
names from RECORD with the standard library's own function but given only the lines where a wanted
name is a path component (usually the first such line answers), and parses the metadata only of
the distributions that provide one. A ``packages_distributions`` replaced by the caller (a cache, a
test double) is used as it is.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from .plan import Dependency

#: Import names that never need a distribution.
_NEVER = frozenset({"__future__", "__main__", "nb2prod"})
#: The fields through which statements hold statements (``ExceptHandler`` and ``match_case`` included).
_BLOCK_FIELDS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
#: A RECORD whose lines are not simply the files, one per line: quoted CSV fields, line breaks other than "\n".
_ODD_RECORD = re.compile('["\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]')
#: The standard library's ``packages_distributions``, to tell whether a caller replaced it.
_STANDARD_PACKAGES_DISTRIBUTIONS = importlib.metadata.packages_distributions


def import_statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The ``import`` and ``from … import`` statements of ``tree`` at any depth, in :func:`ast.walk` order.

    Imports are statements, so only blocks are visited, never expressions: several times faster
    than filtering ``ast.walk``, with the same order (breadth first, fields in order).
    """
    todo = deque([tree])
    while todo:
        node = todo.popleft()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        for name in node._fields:
            if name in _BLOCK_FIELDS:
                value = getattr(node, name, None)
                if isinstance(value, list):
                    todo.extend(value)


def imported_modules(source: str | ast.AST) -> list[str]:
    """The absolute module names ``source`` imports (``a.b`` for ``import a.b`` and ``from a.b import c``), in order.

    ``source`` is Python source or its parsed tree. Relative imports are left out. Raises
    ``SyntaxError`` when ``source`` is not Python.
    """
    found = []
    tree = ast.parse(source) if isinstance(source, str) else source
    for node in sorted(import_statements(tree), key=lambda node: (node.lineno, node.col_offset)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif node.level == 0 and node.module:
            found.append(node.module)
    return found


def _third_party(module: str, exclude: Collection[str]) -> bool:
    """Whether the top-level name of ``module`` needs a distribution (not stdlib, ``nb2prod``, ``__future__`` or excluded)."""
    top = module.partition(".")[0]
    return top not in sys.stdlib_module_names and top not in _NEVER and top not in exclude


def infer_dependencies(sources: Sequence[str | ast.AST], *, exclude: Collection[str] = ()) -> tuple[Dependency, ...]:
    """The distributions the given Python sources import, sorted by distribution name (see the module docstring).

    A source is Python text or its parsed tree. ``exclude`` lists top-level import names that are
    not dependencies (the package's own name). A dependency whose import name no installed
    distribution provides has ``version=None`` and the import name as its distribution. Raises
    ``SyntaxError`` when a source is not Python.
    """
    modules: dict[str, list[str]] = {}  # top-level import name -> the dotted modules imported under it
    for source in sources:
        for module in imported_modules(source):
            if _third_party(module, exclude):
                modules.setdefault(module.partition(".")[0], []).append(module)
    if not modules:
        return ()
    providers = _providers(modules)  # reads installed metadata: only when needed
    needed: dict[str, set[str]] = {}
    unknown: set[str] = set()
    for name, dotted in modules.items():
        distribution = _provider(name, dotted, providers)
        if distribution is None:
            unknown.add(name)
        else:
            needed.setdefault(distribution, set()).add(name)
    dependencies = [Dependency(distribution, _version(distribution), tuple(sorted(imports))) for distribution, imports in needed.items()]
    dependencies += [Dependency(name, None, (name,)) for name in unknown if name not in needed]
    return tuple(sorted(dependencies, key=lambda d: (d.distribution.lower(), d.distribution)))


def _providers(names: Collection[str]) -> Mapping[str, Sequence[str]]:
    """For each of ``names`` that an installed distribution provides: the ``Name`` of every such distribution.

    What ``importlib.metadata.packages_distributions()`` maps these names to (a distribution listed
    once per occurrence), without reading what cannot matter (see the module docstring).
    """
    wanted = set(names)
    declared_of = getattr(importlib.metadata, "_top_level_declared", None)
    inferred_of = getattr(importlib.metadata, "_top_level_inferred", None)
    # Replaced by the caller (its answer, as it is), or a Python whose internals differ (3.10): the full scan.
    if importlib.metadata.packages_distributions is not _STANDARD_PACKAGES_DISTRIBUTIONS or declared_of is None or inferred_of is None:
        everything = importlib.metadata.packages_distributions()
        return {name: everything[name] for name in wanted if name in everything}
    found: dict[str, list[str]] = {}
    for dist in importlib.metadata.distributions():
        tops: Collection[str] = declared_of(dist)
        if not tops:
            record = dist.read_text("RECORD")  # when it has text, the files are those it lists, one per line
            if record and not _ODD_RECORD.search(record):
                tops = [name for name in wanted if _infers(dist, record, name, inferred_of)]
            else:
                tops = set(inferred_of(dist))
        provided = [name for name in tops if name in wanted]
        if provided:
            distribution = dist.metadata["Name"]
            for name in provided:
                found.setdefault(name, []).append(distribution)
    return found


def _infers(dist: importlib.metadata.Distribution, record: str, name: str, inferred_of: Callable[[Any], Iterable[str]]) -> bool:
    """Whether ``inferred_of`` (the standard library's inference from RECORD) gives ``name`` for ``dist``.

    The inference maps each listed file to a name on its own, and the name is a whole component
    of the file's path, so only the lines holding ``name`` as one can give it: they are tried a few
    at a time (1, 4, 16… lines), so the answer usually comes from the first line.
    """
    batch: list[str] = []
    size = 1
    for line in _component_lines(record, name):
        batch.append(line)
        if len(batch) == size:
            if name in set(inferred_of(_Listing(dist, "\n".join(batch)))):
                return True
            batch, size = [], size * 4
    return bool(batch) and name in set(inferred_of(_Listing(dist, "\n".join(batch))))


def _component_lines(text: str, name: str) -> Iterator[str]:
    """The lines of ``text`` (newline-separated) where ``name`` is a whole path component, in order.

    A whole component starts a line or follows ``/``, and is followed by ``/``, a suffix's ``.``,
    the end of the CSV field or the end of the line.
    """
    start = 0
    while (at := text.find(name, start)) >= 0:
        end = at + len(name)
        if (at == 0 or text[at - 1] in "/\n") and (end == len(text) or text[end] in "/.,\n"):
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            yield text[text.rfind("\n", 0, at) + 1 : line_end]
            start = line_end
        else:
            start = at + 1


class _Listing(importlib.metadata.Distribution):
    """A distribution seen through a shortened RECORD, otherwise unchanged."""

    def __init__(self, dist: importlib.metadata.Distribution, record: str) -> None:
        self._dist = dist
        self._record = record

    def read_text(self, filename: str) -> str | None:
        return self._record if filename == "RECORD" else self._dist.read_text(filename)

    def locate_file(self, path: str | os.PathLike[str]) -> Any:
        return self._dist.locate_file(path)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:  # metadata listed by one path entry and gone since
        return None


def _provider(name: str, dotted: Sequence[str], providers: Mapping[str, Sequence[str]]) -> str | None:
    """The installed distribution that provides the import name ``name``, or None."""
    candidates = sorted(set(providers.get(name, ())), key=lambda d: (d.lower(), d))
    if len(candidates) > 1:
        holding = [candidate for candidate in candidates if _holds_any(candidate, dotted)]
        candidates = holding or candidates
    return candidates[0] if candidates else None


def _holds_any(distribution: str, modules: Sequence[str]) -> bool:
    """Whether the distribution's files include one of the (dotted, deeper than top-level) modules."""
    prefixes = {module.replace(".", "/") for module in modules if "." in module}
    if not prefixes:
        return False
    try:
        files = importlib.metadata.files(distribution) or ()
    except importlib.metadata.PackageNotFoundError:
        return False
    for file in files:
        path = file.as_posix()
        if any(path.startswith(prefix + "/") or path == prefix + ".py" for prefix in prefixes):
            return True
    return False
