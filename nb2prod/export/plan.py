"""What an export is made of, between the two halves of ``nb2prod export``.

``build_plan`` (``nb2prod.export.codegen``) reads the notebooks and decides everything about the
code: which cells go to which module, the module sources, ``__all__``, the parameters, the body of
the entry point, the tests, the dependencies. ``nb2prod.export.package`` turns a plan into files
through the Jinja templates and writes them. Plans are plain data, so each half is tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..params import Parameter

if TYPE_CHECKING:
    from .mltests import MLTestPlan


@dataclass(frozen=True)
class Provenance:
    """Where a block of generated code came from: the notebook (as given) and the cell."""

    notebook: str
    cell_index: int
    cell_id: str | None


@dataclass(frozen=True)
class ModulePlan:
    """One generated module: ``code`` is its full source after the file header (formatted, parses)."""

    name: str  # module name, a valid identifier (``train``)
    notebooks: tuple[str, ...]  # the notebooks that export into it
    code: str
    all_names: tuple[str, ...]  # ``__all__``: public top-level names of ``export`` cells
    names: tuple[str, ...]  # every top-level name the module defines (``export-internal`` included)
    blocks: tuple[Provenance, ...] = ()


@dataclass(frozen=True)
class TestPlan:
    """One ``test`` cell, as the body of a pytest test function (dedented, directives removed)."""

    name: str  # test function name, e.g. ``test_train_cell_12``
    module: str  # the module whose names the test uses
    code: str
    origin: Provenance


@dataclass(frozen=True)
class Dependency:
    """A distribution the exported code imports, pinned to the version installed where export ran."""

    distribution: str  # ``scikit-learn``
    version: str | None  # ``1.7.2``; None when the distribution is not installed here
    imports: tuple[str, ...]  # import names that need it (``sklearn``)

    def requirement(self, pin: str = "compatible") -> str:
        """``scikit-learn~=1.7.2`` (compatible), ``scikit-learn==1.7.2`` (exact), or the bare name."""
        if self.version is None:
            return self.distribution
        return f"{self.distribution}{'==' if pin == 'exact' else '~='}{self.version}"


@dataclass(frozen=True)
class ExportPlan:
    """Everything needed to write the package; built without touching the disk."""

    package: str  # import name of the package (``churn_model``)
    distribution: str  # distribution / project name (``churn-model``)
    modules: tuple[ModulePlan, ...]
    parameters: tuple[Parameter, ...] = ()  # of the notebook whose `main` cells make the entry point
    main_code: str = ""  # body of the entry point: the `main` cells, parameters as local names
    main_module: str | None = None  # the module whose names the entry point uses
    recorded: tuple[str, ...] = ()  # metric names the main code records (literal names only)
    tests: tuple[TestPlan, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    title: str = ""  # from the first markdown heading
    description: str = ""  # the markdown that follows the title, up to the first code cell
    notebooks: tuple[str, ...] = ()
    source_hash: str = ""  # sha256 over the exported cells' sources and the plan options
    warnings: tuple[str, ...] = field(default_factory=tuple)  # e.g. NB209 duplicates, one line each
    ml_tests: MLTestPlan | None = None  # the generated ML sanity tests (nb2prod.export.mltests); None for --into
