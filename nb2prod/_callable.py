"""Packages that are also the function they are named after: ``nb2prod.lint(paths)`` and ``nb2prod.lint.engine``.

A public command such as ``lint`` shares its name with the package that implements it. Once
``nb2prod.lint`` is imported, Python binds the package to that name on ``nb2prod``, so the name
cannot be the function too; instead the package object is made callable, and calling it runs the
command whatever was imported first. The call imports the implementing module only then.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


def make_callable(module_name: str, target: str) -> None:
    """Make module ``module_name`` callable: calling it calls ``target`` (``"package.module:function"``, imported on the call)."""
    module = sys.modules[module_name]
    where, _, function = target.partition(":")

    class CallableModule(types.ModuleType):
        """A module whose call runs its command."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return getattr(importlib.import_module(where), function)(*args, **kwargs)

    module.__class__ = CallableModule
