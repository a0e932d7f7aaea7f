"""Everything a rule may look at, computed once per notebook and only when a rule asks for it.

Rules share the expensive parts — the IPython-to-Python transform, the ASTs, the dataflow
analysis, the import aliases — through this object instead of each re-parsing the cells.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

from ..model import Cell
from ..notebook import Notebook
from .dataflow import NotebookFlow, analyze_notebook
from .ipython import TransformedCell, transform_cell
from .language import Language, notebook_language
from .live import KernelState, LiveView

EXPORT_ROLES = frozenset({"export", "export-internal"})


@dataclass(frozen=True)
class LintSettings:
    """Thresholds from ``[tool.nb2prod.lint]``."""

    max_cell_lines: int = 40
    max_output_kb: int = 500
    min_markdown_ratio: float = 0.3


class LintContext:
    """One notebook under lint, with lazily computed views of its code."""

    def __init__(self, notebook: Notebook, settings: LintSettings | None = None, kernel: KernelState | None = None):
        self.notebook = notebook
        self.settings = settings or LintSettings()
        self.kernel = kernel
        #: What rules could not check and why, said once per notebook (the engine adds them to the result's notes).
        self.notes: list[str] = []

    @cached_property
    def live(self) -> LiveView | None:
        """The notebook against the running kernel's state (``%nb2prod lint``); None without a kernel (the live rules then find nothing)."""
        return LiveView(self.cells, self.kernel) if self.kernel is not None else None

    @property
    def cells(self) -> tuple[Cell, ...]:
        """All cells of the notebook."""
        return self.notebook.cells

    @cached_property
    def language(self) -> Language:
        """The language of the code cells, decided from the notebook's metadata (see ``nb2prod.lint.language``)."""
        return notebook_language(self.notebook.metadata)

    @cached_property
    def is_python(self) -> bool:
        """Whether the code cells are read as Python 3; rules that read code as Python are skipped otherwise (NB510 says so).

        A Python 2 kernel whose cells all parse as Python 3 (most of them: `print(x)` works on both) is
        read as Python 3, with Python 2's builtins allowed (``python2_compatible``); one whose code is
        Python 2 only (``print x``) is not.
        """
        return self.language.is_python3 or self.python2_compatible

    @cached_property
    def python2_compatible(self) -> bool:
        """A Python 2 notebook whose code cells all parse as Python 3."""
        return self.language.python2 and self.flow.first_unparsed is None

    def code_cells(self) -> Iterator[Cell]:
        """The code cells, in notebook order."""
        return (cell for cell in self.cells if cell.cell_type == "code")

    @cached_property
    def export_cells(self) -> frozenset[int]:
        """Indices of the cells bound for export (tag or ``#|`` directive)."""
        return frozenset(cell.index for cell in self.code_cells() if cell.roles & EXPORT_ROLES)

    def exporting(self, cells: Iterable[int]) -> LintContext:
        """This context with ``cells`` as the cells bound for export, sharing every view computed so far.

        ``nb2prod export`` decides which cells it exports (``--all`` exports untagged cells too) and
        lints them with the analysis it already made.
        """
        view = copy.copy(self)
        view.__dict__["export_cells"] = frozenset(cells)
        return view

    @cached_property
    def flow(self) -> NotebookFlow:
        """The definition/use analysis across cells (shared with export)."""
        sources = [cell.source if cell.cell_type == "code" else "" for cell in self.cells]
        counts = [cell.execution_count if cell.cell_type == "code" else None for cell in self.cells]
        return analyze_notebook(sources, counts)

    @cached_property
    def transformed(self) -> Mapping[int, TransformedCell]:
        """Each code cell's source with IPython syntax turned into Python, line numbers kept."""
        flows = self.flow.cells
        return {cell.index: flows[cell.index].transformed or transform_cell(cell.source) for cell in self.code_cells()}

    @cached_property
    def trees(self) -> Mapping[int, ast.Module]:
        """The AST of every code cell that parses after the IPython transform (parsed once, by the dataflow pass)."""
        flows = self.flow.cells
        return {cell.index: tree for cell in self.code_cells() if (tree := flows[cell.index].tree) is not None}

    @cached_property
    def nodes(self) -> Mapping[int, tuple[ast.AST, ...]]:
        """Every AST node of each parsed cell, in ``ast.walk`` order, so rules share one walk."""
        return {index: tuple(ast.walk(tree)) for index, tree in self.trees.items()}

    @cached_property
    def calls(self) -> Mapping[int, list[ast.Call]]:
        """The calls of each parsed cell, in source order."""
        return {
            index: sorted((node for node in nodes if isinstance(node, ast.Call)), key=lambda call: (call.lineno, call.col_offset))
            for index, nodes in self.nodes.items()
        }

    @cached_property
    def aliases(self) -> Mapping[str, str]:
        """Local names bound by imports anywhere in the notebook -> the dotted name they stand for.

        ``import numpy as np`` gives ``np -> numpy``; ``from sklearn.ensemble import
        RandomForestClassifier as RF`` gives ``RF -> sklearn.ensemble.RandomForestClassifier``.
        """
        found: dict[str, str] = {}
        for nodes in self.nodes.values():
            for node in nodes:
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.asname:
                            found[alias.asname] = alias.name
                        else:
                            head = alias.name.split(".")[0]
                            found[head] = head
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    for alias in node.names:
                        if alias.name != "*":
                            found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        return found

    def qualified_name(self, node: ast.expr) -> str | None:
        """The dotted name an expression refers to through the notebook's imports, if it is one.

        ``np.random.rand`` with ``import numpy as np`` gives ``numpy.random.rand``; a name that no
        import binds gives None.
        """
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.aliases:
            return None
        return ".".join([self.aliases[node.id], *reversed(parts)])
