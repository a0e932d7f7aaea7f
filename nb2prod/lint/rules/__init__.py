"""The built-in notebook rules, one module per family of RULES.md."""

from __future__ import annotations

from . import export, hygiene, live, order, portability, reproducibility

BUILTIN_RULES = (*order.RULES, *live.RULES, *export.RULES, *portability.RULES, *reproducibility.RULES, *hygiene.RULES)
