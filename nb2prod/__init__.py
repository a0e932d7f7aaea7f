"""nb2prod: take machine-learning notebooks from Jupyter to production.

The public API. Every command of the ``nb2prod`` CLI is a function here that returns data; the
CLI only prints it. Importing this package is cheap: papermill, nbconvert, jupytext, black and
IPython are imported only by the functions that use them.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .config import Config, load_config
from .errors import (
    ConfigError,
    ExportError,
    Nb2prodError,
    NotebookFormatError,
    NotebookReadError,
    ParameterError,
    RecordError,
    RunError,
    ToolError,
    UsageError,
    WriteConflictError,
    WriteError,
)
from .model import Cell, Directive
from .notebook import Notebook, read_notebook, write_notebook
from .params import Parameter, notebook_parameters
from .record import record
from .strip import StripOptions, StripResult, strip, strip_notebook

if TYPE_CHECKING:
    from .drift.capture import profile
    from .export import ExportResult, export
    from .report import write_report as runs_report
    from .run import run_notebook
    from .sweep import SweepResult, sweep

__all__ = [
    "Cell",
    "Config",
    "ConfigError",
    "Directive",
    "ExportError",
    "ExportResult",
    "Nb2prodError",
    "Notebook",
    "NotebookFormatError",
    "NotebookReadError",
    "Parameter",
    "ParameterError",
    "RecordError",
    "RunError",
    "StripOptions",
    "StripResult",
    "SweepResult",
    "ToolError",
    "UsageError",
    "WriteConflictError",
    "WriteError",
    "__version__",
    "export",
    "load_config",
    "notebook_parameters",
    "profile",
    "read_notebook",
    "record",
    "run_notebook",
    "runs_report",
    "strip",
    "strip_notebook",
    "sweep",
    "write_notebook",
]


def __getattr__(name: str) -> Any:
    """Public names whose modules load on first use (``run_notebook`` needs papermill when called, ``export`` Jinja)."""
    if name == "profile":
        from .drift.capture import profile

        return profile
    if name == "run_notebook":
        from .run import run_notebook

        return run_notebook
    if name in ("sweep", "SweepResult"):
        import importlib

        package = importlib.import_module(".sweep", __name__)  # callable: nb2prod.sweep(notebook, ...) sweeps
        return package if name == "sweep" else package.SweepResult
    if name in ("export", "ExportResult"):
        import importlib

        package = importlib.import_module(".export", __name__)  # callable: nb2prod.export(paths, ...) exports
        return package if name == "export" else package.ExportResult
    if name == "runs_report":  # `nb2prod runs report`: the runs dashboard
        from .report import write_report

        return write_report
    raise AttributeError(f"module 'nb2prod' has no attribute {name!r}")
