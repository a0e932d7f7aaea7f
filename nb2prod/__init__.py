"""nb2prod: take machine-learning notebooks from Jupyter to production.

The public API. Every command of the ``nb2prod`` CLI is a function here that returns data; the
CLI only prints it. Importing this package is cheap: papermill, nbconvert, jupytext, black and
IPython are imported only by the functions that use them.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    ConfigError,
    DataError,
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
from .record import record  # eager: a module of the same name must not shadow the function notebooks call

if TYPE_CHECKING:
    from .audit import entries as audit_entries
    from .audit import verify as verify_audit
    from .check import CheckResult, check
    from .config import Config, load_config
    from .drift import check_files as check_drift
    from .drift import profile_files, write_profile
    from .drift import resolve_reference as drift_reference
    from .drift.capture import profile
    from .drift.checks import CheckOptions as DriftOptions
    from .export import ExportResult, export
    from .notebook import Notebook, read_notebook, write_notebook
    from .params import Parameter, notebook_parameters
    from .report import write_report as runs_report
    from .run import run_notebook
    from .stages import promote
    from .strip import StripOptions, StripResult, strip, strip_notebook
    from .sweep import SweepResult, sweep
    from .sweep.record import find_sweep

#: Public names whose modules load on first use: name -> "module:attribute" (a module alone: the
#: callable package/module itself, see nb2prod._callable). The command functions, then what the
#: adapters (CLI, magics) need to present their results; both import only from here.
_LAZY: dict[str, str] = {
    # notebooks and configuration (the notebook I/O module alone costs a pre-commit hook ~10 ms)
    "Config": "nb2prod.config:Config",
    "load_config": "nb2prod.config:load_config",
    "Notebook": "nb2prod.notebook:Notebook",
    "read_notebook": "nb2prod.notebook:read_notebook",
    "write_notebook": "nb2prod.notebook:write_notebook",
    "Parameter": "nb2prod.params:Parameter",
    "notebook_parameters": "nb2prod.params:notebook_parameters",
    "StripOptions": "nb2prod.strip:StripOptions",
    "StripResult": "nb2prod.strip:StripResult",
    "strip_notebook": "nb2prod.strip:strip_notebook",
    # commands
    "strip": "nb2prod.strip",
    "check": "nb2prod.check",  # callable: strip, fmt and lint in one pass (the nb2prod-check hook)
    "lint": "nb2prod.lint",
    "fmt": "nb2prod.formatting:fmt",
    "export": "nb2prod.export",
    "params": "nb2prod.params",
    "run_notebook": "nb2prod.run:run_notebook",
    "verify": "nb2prod.verify",
    "list_runs": "nb2prod.runs:list_runs",
    "find_record": "nb2prod.records:find_record",
    "compare_runs": "nb2prod.runs:compare_runs",
    "check_run": "nb2prod.runs:check_run",
    "show": "nb2prod.views:show",
    "sweep": "nb2prod.sweep",  # callable: nb2prod.sweep(notebook, ...) sweeps
    "SweepResult": "nb2prod.sweep:SweepResult",
    "find_sweep": "nb2prod.sweep.record:find_sweep",
    "promote": "nb2prod.stages:promote",
    "runs_report": "nb2prod.report:write_report",  # `nb2prod runs report`: the runs dashboard
    "profile": "nb2prod.drift.capture:profile",  # the training data's profile, stored with the run
    "profile_files": "nb2prod.drift:profile_files",  # `nb2prod profile`: data files -> a profile
    "write_profile": "nb2prod.drift:write_profile",
    "check_drift": "nb2prod.drift:check_files",  # `nb2prod drift`: new data files against a reference profile
    "drift_reference": "nb2prod.drift:resolve_reference",  # a run id, prefix, folder, `latest`, stage or profile file -> the profile
    "DriftOptions": "nb2prod.drift.checks:CheckOptions",
    "audit_entries": "nb2prod.audit:entries",  # `nb2prod audit`: the audit trail's lines
    "verify_audit": "nb2prod.audit:verify",  # `nb2prod audit --verify`: the hash chain checked
    "init_repository": "nb2prod.setup_repo:init_repository",  # `nb2prod init`
    "export_configured": "nb2prod.export.configured:export_configured",
    # result and option types
    "ExportResult": "nb2prod.export:ExportResult",
    "FmtResult": "nb2prod.formatting:FmtResult",
    "CheckResult": "nb2prod.check:CheckResult",
    "LintResults": "nb2prod.lint.results:LintResults",
    "KernelState": "nb2prod.lint.live:KernelState",
    "RunRecord": "nb2prod.records:RunRecord",
    "DamagedRecord": "nb2prod.records:DamagedRecord",
    "Verification": "nb2prod.verify:Verification",
    "Severity": "nb2prod.lint.engine:Severity",
    "rules": "nb2prod.lint.engine:registry",  # the engine imports the registry from wherever it lives
    "Rule": "nb2prod.lint.rule:Rule",
}

#: What the adapters share beyond the commands (formatting of values, constants of the commands'
#: options); loaded on first use like the above, but not part of ``__all__``.
_ADAPTER: dict[str, str] = {
    **{name: f"nb2prod.errors:{name}" for name in ("EXIT_OK", "EXIT_FINDINGS", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_INTERRUPTED")},
    "exit_code": "nb2prod.errors:exit_code",
    "exit_status": "nb2prod.errors:exit_status",
    "run_exit_code": "nb2prod.errors:run_exit_code",
    "FORMATTERS": "nb2prod.config:FORMATTERS",
    "CI_PROVIDERS": "nb2prod.ci_workflow:CI_PROVIDERS",
    "config_for": "nb2prod.config:config_for",
    "printable": "nb2prod.text:printable",
    "mask_text": "nb2prod.secrets:mask_text",
    "is_secret": "nb2prod.secrets:is_secret",
    "REDACTED": "nb2prod.secrets:REDACTED",
    "atomic_write": "nb2prod.atomic:atomic_write",
    "render_openmetrics": "nb2prod.openmetrics:render",
    "fix": "nb2prod.lint.fix:fix",
    "lint_report": "nb2prod.lint.report",
    "live": "nb2prod.lint.live",
    "ParameterValues": "nb2prod.params:ParameterValues",
    "json_schema": "nb2prod.params:json_schema",
    "render_value": "nb2prod.params:render_value",
    "load_parameters_file": "nb2prod.run:load_parameters_file",
    "DEFAULT_RUNS_DIR": "nb2prod.records:DEFAULT_RUNS_DIR",
    "STATUSES": "nb2prod.records:STATUSES",
    "DEFAULT_ATOL": "nb2prod.verify:DEFAULT_ATOL",
    "DEFAULT_RTOL": "nb2prod.verify:DEFAULT_RTOL",
    "describe_error": "nb2prod.runs:describe_error",
    "format_delta": "nb2prod.runs:format_delta",
    "format_duration": "nb2prod.runs:format_duration",
    "format_value": "nb2prod.runs:format_value",
    "key_metrics": "nb2prod.runs:key_metrics",
    "key_parameters": "nb2prod.runs:key_parameters",
    "parse_metric_expression": "nb2prod.runs:parse_metric_expression",
    "record_json": "nb2prod.runs:record_json",
    "is_number": "nb2prod.runs:is_number",
    "parse_grid": "nb2prod.sweep:parse_grid",
    "load_sets_file": "nb2prod.sweep:load_sets_file",
    "DEFAULT_STAGE": "nb2prod.stages:DEFAULT_STAGE",
    "stage_run": "nb2prod.stages:stage_run",
    # drift: the gate and its defaults, the data formats, the HTML report, the decision's audit line and alert
    "DRIFT_METRICS": "nb2prod.config:DRIFT_METRICS",
    "DEFAULT_DRIFT_ALPHA": "nb2prod.drift.checks:DEFAULT_ALPHA",
    "DEFAULT_DRIFT_MIN_ROWS": "nb2prod.drift.checks:DEFAULT_MIN_ROWS",
    "parse_drift_gate": "nb2prod.drift.checks:parse_gate",
    "data_format": "nb2prod.drift.read:data_format",
    "profile_bytes": "nb2prod.drift.profile:profile_bytes",
    "render_drift_html": "nb2prod.drift.report:render_html",
    "record_drift": "nb2prod.audit:record_drift",
    "post_json": "nb2prod.alerts:post_json",
    "webhook_url": "nb2prod.alerts:webhook_url",
    # audit
    "AUDIT_EVENTS": "nb2prod.audit:EVENTS",
    "audit_path": "nb2prod.audit:audit_path",
    "read_audit_lines": "nb2prod.audit:read_lines",
    "explain_ml_tests": "nb2prod.export.mltests:explain",  # `nb2prod export --explain-tests`
    "MLReference": "nb2prod.export.mltests:Reference",  # `nb2prod export --reference-run`: T13's recorded run
    "ml_reference": "nb2prod.export.configured:ml_reference",  # a run record as T13's reference
    "ml_profile": "nb2prod.export.configured:ml_profile",  # the ML tests' data profile (--profile / --reference-run)
}

__all__ = [
    "Cell",
    "CheckResult",
    "Config",
    "ConfigError",
    "DamagedRecord",
    "DataError",
    "Directive",
    "DriftOptions",
    "ExportError",
    "ExportResult",
    "FmtResult",
    "KernelState",
    "LintResults",
    "Nb2prodError",
    "Notebook",
    "NotebookFormatError",
    "NotebookReadError",
    "Parameter",
    "ParameterError",
    "RecordError",
    "Rule",
    "RunError",
    "RunRecord",
    "Severity",
    "StripOptions",
    "StripResult",
    "SweepResult",
    "ToolError",
    "UsageError",
    "Verification",
    "WriteConflictError",
    "WriteError",
    "__version__",
    "audit_entries",
    "check",
    "check_drift",
    "check_run",
    "compare_runs",
    "drift_reference",
    "export",
    "export_configured",
    "find_record",
    "find_sweep",
    "fmt",
    "init_repository",
    "lint",
    "list_runs",
    "load_config",
    "load_ipython_extension",
    "notebook_parameters",
    "params",
    "profile",
    "profile_files",
    "promote",
    "read_notebook",
    "record",
    "rules",
    "run_notebook",
    "runs_report",
    "show",
    "strip",
    "strip_notebook",
    "sweep",
    "unload_ipython_extension",
    "verify",
    "verify_audit",
    "write_notebook",
    "write_profile",
]


def __getattr__(name: str) -> Any:
    """Public names whose modules load on first use (``run_notebook`` needs papermill when called, ``export`` Jinja)."""
    import importlib

    target = _LAZY.get(name) or _ADAPTER.get(name)
    if target is None:
        raise AttributeError(f"module 'nb2prod' has no attribute {name!r}")
    module, _, attribute = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nb2prod``: register the ``%nb2prod`` magics (nb2prod.magics; IPython is the caller's, nothing heavy loads)."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext nb2prod``: remove every magic and hook that loading registered."""
    from .magics import unload

    unload(ipython)
