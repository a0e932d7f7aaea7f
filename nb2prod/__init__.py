"""nb2prod: take machine-learning notebooks from Jupyter to production.

The public API. Every command of the ``nb2prod`` CLI is a function here that returns data; the
CLI only prints it. Importing this package is cheap: papermill, nbconvert, jupytext, black and
IPython are imported only by the functions that use them.
"""

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

__all__ = [
    "Cell",
    "Config",
    "ConfigError",
    "Directive",
    "ExportError",
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
    "ToolError",
    "UsageError",
    "WriteConflictError",
    "WriteError",
    "__version__",
    "load_config",
    "notebook_parameters",
    "read_notebook",
    "record",
    "strip",
    "strip_notebook",
    "write_notebook",
]
