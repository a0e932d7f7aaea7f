"""``jupyter nbconvert --to nb2prod notebook.ipynb``: the exported module, for people who live in nbconvert.

Registered as the ``nb2prod`` exporter through the ``nbconvert.exporters`` entry point. The output
is the module ``nb2prod export`` writes for the notebook, header included, byte for byte: only the
marked cells (tags or ``#|`` directives), magics handled, formatted. nbconvert names the output
after the notebook (``train.ipynb`` -> ``train.py``); when the notebook exports to several modules
(``#| export other``), that file holds the module of the earliest exported cell (the main cells'
module if there are main cells) and the others are written beside it as ``<module>.py``. The
package around the modules (entry point, tests, pyproject.toml) comes only from ``nb2prod export``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters import Exporter

from .._version import __version__
from ..config import config_for
from ..notebook import Notebook, parse_ipynb
from .package import module_files
from .plan import ExportPlan

__all__ = ["Nb2prodExporter"]


class Nb2prodExporter(Exporter):
    """Convert a notebook to the Python module ``nb2prod export`` makes of its marked cells."""

    file_extension = ".py"
    output_mimetype = "text/x-python"
    export_from_notebook = "Python module (nb2prod)"

    def from_notebook_node(self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any) -> tuple[str, dict[str, Any]]:
        """Return the module source and the resources (other modules of the notebook in ``resources["outputs"]``)."""
        from .codegen import build_plan

        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        metadata = resources.get("metadata") or {}
        shown = os.path.join(metadata.get("path") or "", f"{metadata.get('name') or 'notebook'}.ipynb")
        raw = nbformat.writes(nb_copy).encode("utf-8")
        notebook = Notebook(Path(shown), shown, parse_ipynb(raw, shown), raw, "ipynb")
        config = config_for([shown])
        plan = build_plan([notebook], formatter=config.lint.formatter, modules_only=True, config=config)
        files = module_files(plan, nb2prod_version=__version__)
        first = f"{_first_module(plan)}.py"
        outputs = resources.setdefault("outputs", {})
        for name, text in files.items():
            if name != first:  # beside the output; "./" because nbconvert cannot create the folder "" when it is the current one
                outputs[os.path.join(os.curdir, name)] = text.encode("utf-8")
        resources["nb2prod"] = {"package": plan.package, "modules": sorted(files), "warnings": list(plan.warnings)}
        for warning in plan.warnings:
            self.log.warning(warning)
        return files[first], resources


def _first_module(plan: ExportPlan) -> str:
    """The module nbconvert's output file holds: the main cells' module, else that of the earliest exported cell."""
    if plan.main_module is not None and any(module.name == plan.main_module for module in plan.modules):
        return plan.main_module
    return min(plan.modules, key=lambda module: min((block.cell_index for block in module.blocks), default=0)).name
