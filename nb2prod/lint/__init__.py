"""``nb2prod lint``: notebook rules (hidden state, export readiness, portability, reproducibility,
hygiene) computed statically from the notebook file, merged with ruff's code rules.

``nb2prod.lint(paths, select=..., ignore=...)`` is the public entry: this package is callable and
runs :func:`nb2prod.lint.engine.lint`, which returns :class:`~nb2prod.lint.results.LintResults`.
The engine (and ruff's runner) load on the first call, not when the package is imported.
"""

from __future__ import annotations

from typing import Any

from .._callable import make_callable

__all__ = ["fails", "lint"]


def lint(*args: Any, **kwargs: Any) -> Any:
    """Lint the notebooks under ``paths``: see :func:`nb2prod.lint.engine.lint`."""
    from .engine import lint as run

    return run(*args, **kwargs)


def fails(*args: Any, **kwargs: Any) -> bool:
    """Whether any finding is at or above the severity given: see :func:`nb2prod.lint.engine.fails`."""
    from .engine import fails as check

    return check(*args, **kwargs)


make_callable(__name__, "nb2prod.lint.engine:lint")
