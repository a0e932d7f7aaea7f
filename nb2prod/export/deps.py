"""The third-party distributions exported code imports, pinned to the versions installed here.

An exported package must declare what it imports, or ``pip install`` gives a package that fails on
its first import. The import names are read from the code (every ``import`` and ``from`` statement,
at any depth, so an import inside a function counts too), and mapped to distributions through the
installed metadata (``importlib.metadata.packages_distributions``): ``sklearn`` is provided by
``scikit-learn``, ``yaml`` by ``PyYAML``. Left out: the standard library (``sys.stdlib_module_names``),
relative imports, ``__future__``, ``nb2prod`` (the package gets its own ``record``) and the names the
caller excludes (the package's own name).

When several installed distributions provide one import name (namespace packages such as
``google``), the ones that hold the imported submodule (``google.protobuf`` -> ``google/protobuf/``)
are preferred, and among those still tied the first by lower-cased name is taken, so the choice is
deterministic. An import name no installed distribution provides becomes a dependency on a
distribution of the same name with no version; the caller warns about it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from collections.abc import Collection, Mapping, Sequence

from .plan import Dependency

#: Import names that never need a distribution.
_NEVER = frozenset({"__future__", "__main__", "nb2prod"})


def imported_modules(source: str) -> list[str]:
    """The absolute module names ``source`` imports (``a.b`` for ``import a.b`` and ``from a.b import c``), in order.

    Relative imports are left out. Raises ``SyntaxError`` when ``source`` is not Python.
    """
    found = []
    nodes = [node for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))]
    for node in sorted(nodes, key=lambda node: (node.lineno, node.col_offset)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif node.level == 0 and node.module:
            found.append(node.module)
    return found


def _third_party(module: str, exclude: Collection[str]) -> bool:
    """Whether the top-level name of ``module`` needs a distribution (not stdlib, ``nb2prod``, ``__future__`` or excluded)."""
    top = module.partition(".")[0]
    return top not in sys.stdlib_module_names and top not in _NEVER and top not in exclude


def infer_dependencies(sources: Sequence[str], *, exclude: Collection[str] = ()) -> tuple[Dependency, ...]:
    """The distributions the given Python sources import, sorted by distribution name (see the module docstring).

    ``exclude`` lists top-level import names that are not dependencies (the package's own name).
    A dependency whose import name no installed distribution provides has ``version=None`` and the
    import name as its distribution. Raises ``SyntaxError`` when a source is not Python.
    """
    modules: dict[str, list[str]] = {}  # top-level import name -> the dotted modules imported under it
    for source in sources:
        for module in imported_modules(source):
            if _third_party(module, exclude):
                modules.setdefault(module.partition(".")[0], []).append(module)
    if not modules:
        return ()
    providers = importlib.metadata.packages_distributions()  # scans every installed distribution: only when needed
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
