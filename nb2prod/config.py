"""``[tool.nb2prod]`` configuration from the nearest ``pyproject.toml``.

The schema is closed: an unknown or misspelt key is an error with a did-you-mean, never silently
ignored (a typo that is ignored is a setting the user believes in and does not have). Command-line
flags override what the file says; that merge happens in the API functions, which take both.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

# key -> expected type, or a nested table schema. Keys are kebab-case, as ruff and black use.
_LIST_OF_STR = "list of strings"
_TABLE_OF_LISTS = "table of lists of strings"
_NUMBER = "number"
_THRESHOLDS = "table of [warn, fail] thresholds"
_COLUMN_TABLES = "table of per-column tables"
#: The gated drift metrics whose [warn, fail] thresholds ``[tool.nb2prod.drift]`` may set (nb2prod.drift.checks).
DRIFT_METRICS = ("psi", "missing", "out_of_range", "unseen")
_SCHEMA: Mapping[str, Any] = {
    "exclude": _LIST_OF_STR,
    "strip": {
        "extra-keys": _LIST_OF_STR,
        "keep-keys": _LIST_OF_STR,
        "keep-count": bool,
        "keep-output": bool,
    },
    "lint": {
        "select": _LIST_OF_STR,
        "ignore": _LIST_OF_STR,
        "extend-select": _LIST_OF_STR,
        "per-path-ignores": _TABLE_OF_LISTS,
        "fail-on": str,
        "ruff": bool,
        "tools": _LIST_OF_STR,
        "formatter": str,
        "max-cell-lines": int,
        "max-output-kb": int,
        "min-markdown-ratio": _NUMBER,
    },
    "tests": {
        "parameters": dict,
        "metrics": _LIST_OF_STR,
        "timeout": _NUMBER,
        "reference-runs": str,
        "rtol": _NUMBER,
        "atol": _NUMBER,
    },
    "ml-tests": {
        "enabled": bool,
        "skip": _LIST_OF_STR,
        "redact": _LIST_OF_STR,
    },
    "drift": {
        "fail-on": _LIST_OF_STR,
        "min-rows": int,
        "alpha": _NUMBER,
        "ignore": _LIST_OF_STR,
        "thresholds": _THRESHOLDS,
        "columns": _COLUMN_TABLES,
    },
    # [[tool.nb2prod.export]]: a list of tables, one per exported package (a one-item list holds the schema).
    "export": [
        {
            "notebooks": _LIST_OF_STR,
            "out": str,
            "into": str,
            "name": str,
            "pin": str,
            "all": bool,
            "template-dir": str,
            # the ML tests' data and T13's run, as `nb2prod export`'s --profile, --capture-sample, --redact-column, --reference-run
            "profile": str,
            "capture-sample": int,
            "redact-columns": _LIST_OF_STR,
            "reference-run": str,
        }
    ],
}
FORMATTERS = ("ruff", "black")
PINS = ("compatible", "exact")
#: The generated ML sanity tests' names (nb2prod.export.mltests.TEMPLATES).
ML_TEST_CODES = tuple(f"T{number}" for number in range(1, 17))
STRIP_KEY_HINT = "write 'metadata.NAME' for notebook metadata or 'cell.metadata.NAME' for cells"


def is_strip_key(key: str) -> bool:
    """True for a key in nbstripout's notation: ``metadata.NAME...`` or ``cell.NAME...``."""
    parts = key.split(".")
    return len(parts) >= 2 and parts[0] in ("metadata", "cell") and all(parts)


@dataclass(frozen=True)
class StripConfig:
    """``[tool.nb2prod.strip]``: what ``strip`` clears beyond and short of its defaults."""

    extra_keys: tuple[str, ...] = ()
    keep_keys: tuple[str, ...] = ()
    keep_count: bool = False
    keep_output: bool = False


@dataclass(frozen=True)
class LintConfig:
    """``[tool.nb2prod.lint]``: rule selection, thresholds and the tools lint and fmt run."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_path_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fail_on: str = "warning"
    ruff: bool = True
    tools: tuple[str, ...] = ()
    formatter: str = "ruff"
    max_cell_lines: int = 40
    max_output_kb: int = 500
    min_markdown_ratio: float = 0.3


@dataclass(frozen=True)
class MLTestsConfig:
    """``[tool.nb2prod.ml-tests]``: the generated ML sanity tests; ``enabled = false`` generates none, ``skip`` lists templates (``T7``).

    ``redact`` lists data columns kept out of the tests' fixtures (``nb2prod export --redact-column``).
    """

    enabled: bool = True
    skip: tuple[str, ...] = ()
    redact: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestsConfig:
    """``[tool.nb2prod.tests]``: how ``pytest --nb2prod`` runs notebooks (parameters, metric bounds, per-cell timeout)."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()
    timeout: float | None = None
    reference_runs: Path | None = None  # compare each notebook's metrics with its newest ok run in this folder
    rtol: float = 1e-6
    atol: float = 0.0


@dataclass(frozen=True)
class DriftConfig:
    """``[tool.nb2prod.drift]``: the drift gate, thresholds (global and per column) and ignored columns; None = the default."""

    fail_on: tuple[str, ...] | None = None
    min_rows: int | None = None
    alpha: float | None = None
    ignore: tuple[str, ...] = ()
    thresholds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    column_thresholds: Mapping[str, Mapping[str, tuple[float, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportEntry:
    """One ``[[tool.nb2prod.export]]`` entry: a package exported from notebooks, and how.

    Paths are as written in pyproject.toml, relative to its folder; ``out`` and ``into`` are
    exclusive and one of them is required (a check must know where the package is). ``profile``,
    ``capture_sample``, ``redact_columns`` and ``reference_run`` are the ML tests' data and T13's
    run, as ``nb2prod export``'s flags of those names: a package exported with them is checked with
    them. Runs (``reference_run``, a ``profile`` naming a run) are looked up in the project's runs
    folder, so ``reference_run = "latest"`` follows the newest run (see :mod:`nb2prod.export.configured`).
    """

    notebooks: tuple[str, ...]
    out: str | None = None
    into: str | None = None
    name: str | None = None
    pin: str = "compatible"
    all_cells: bool = False
    template_dir: str | None = None
    profile: str | None = None
    capture_sample: int | None = None
    redact_columns: tuple[str, ...] = ()
    reference_run: str | None = None


@dataclass(frozen=True)
class Config:
    """The whole ``[tool.nb2prod]`` table; ``source`` is the pyproject.toml it came from, if any."""

    source: Path | None = None
    exclude: tuple[str, ...] = ()
    strip: StripConfig = field(default_factory=StripConfig)
    lint: LintConfig = field(default_factory=LintConfig)
    ml_tests: MLTestsConfig = field(default_factory=MLTestsConfig)
    tests: TestsConfig = field(default_factory=TestsConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    exports: tuple[ExportEntry, ...] = ()

    @property
    def root(self) -> Path | None:
        """The folder of the pyproject.toml; ``exclude`` patterns are relative to it."""
        return self.source.parent if self.source else None


def find_pyproject(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` (default: the current folder).

    The search stops at the root of a git repository, so a project never picks up the settings
    of an unrelated folder above it.
    """
    folder = Path(start or os.getcwd()).resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            return pyproject
        if (candidate / ".git").exists():
            return None
    return None


def load_config(pyproject: str | os.PathLike[str] | None = None, *, start: str | os.PathLike[str] | None = None) -> Config:
    """Read ``[tool.nb2prod]`` from ``pyproject`` or from the nearest pyproject.toml above ``start``.

    Without a pyproject.toml, or without the table, the defaults apply.
    """
    path = Path(pyproject) if pyproject is not None else find_pyproject(start)
    if path is None:
        return Config()
    shown = os.fspath(path)
    if sys.version_info >= (3, 11):  # imported here: a run without a pyproject.toml never pays for it
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=shown) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=shown) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=shown, hint="fix the syntax") from None
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError("[tool] must be a table", path=shown)
    table = tool.get("nb2prod", {})
    _check(table, _SCHEMA, "tool.nb2prod", shown)
    strip = table.get("strip", {})
    for name in ("extra-keys", "keep-keys"):
        for key in strip.get(name, ()):
            if not is_strip_key(key):
                raise ConfigError(f"invalid strip key '{key}' in 'tool.nb2prod.strip.{name}'", path=shown, hint=STRIP_KEY_HINT)
    lint = table.get("lint", {})
    if lint.get("formatter", "ruff") not in FORMATTERS:
        raise ConfigError('\'tool.nb2prod.lint.formatter\' must be "ruff" or "black"', path=shown)
    if lint.get("fail-on", "warning") not in ("error", "warning", "info"):
        raise ConfigError('\'tool.nb2prod.lint.fail-on\' must be "error", "warning" or "info"', path=shown)
    tests = table.get("ml-tests", {})
    unknown = [code for code in tests.get("skip", ()) if code not in ML_TEST_CODES]
    if unknown:
        raise ConfigError(
            f"unknown test '{unknown[0]}' in 'tool.nb2prod.ml-tests.skip'", path=shown, hint=f"use {', '.join(ML_TEST_CODES)}"
        )
    run_tests = table.get("tests", {})
    exports = tuple(_export_entry(entry, f"tool.nb2prod.export[{index}]", shown) for index, entry in enumerate(table.get("export", ())))
    return Config(
        source=path,
        drift=_drift_config(table.get("drift", {}), shown),
        exports=exports,
        tests=TestsConfig(
            parameters=dict(run_tests.get("parameters", {})),
            metrics=tuple(run_tests.get("metrics", ())),
            timeout=float(run_tests["timeout"]) if "timeout" in run_tests else None,
            reference_runs=path.parent / run_tests["reference-runs"] if "reference-runs" in run_tests else None,
            rtol=float(run_tests.get("rtol", 1e-6)),
            atol=float(run_tests.get("atol", 0.0)),
        ),
        ml_tests=MLTestsConfig(
            enabled=tests.get("enabled", True), skip=tuple(tests.get("skip", ())), redact=tuple(tests.get("redact", ()))
        ),
        exclude=tuple(table.get("exclude", ())),
        strip=StripConfig(
            extra_keys=tuple(strip.get("extra-keys", ())),
            keep_keys=tuple(strip.get("keep-keys", ())),
            keep_count=strip.get("keep-count", False),
            keep_output=strip.get("keep-output", False),
        ),
        lint=LintConfig(
            select=tuple(lint["select"]) if "select" in lint else None,
            ignore=tuple(lint.get("ignore", ())),
            extend_select=tuple(lint.get("extend-select", ())),
            per_path_ignores={pattern: tuple(codes) for pattern, codes in lint.get("per-path-ignores", {}).items()},
            fail_on=lint.get("fail-on", "warning"),
            ruff=lint.get("ruff", True),
            tools=tuple(lint.get("tools", ())),
            formatter=lint.get("formatter", "ruff"),
            max_cell_lines=lint.get("max-cell-lines", 40),
            max_output_kb=lint.get("max-output-kb", 500),
            min_markdown_ratio=float(lint.get("min-markdown-ratio", 0.3)),
        ),
    )


def _drift_config(drift: Mapping[str, Any], shown: str) -> DriftConfig:
    if "min-rows" in drift and drift["min-rows"] < 1:
        raise ConfigError("'tool.nb2prod.drift.min-rows' must be at least 1", path=shown)
    if "alpha" in drift and not 0 < drift["alpha"] < 1:
        raise ConfigError("'tool.nb2prod.drift.alpha' must be between 0 and 1", path=shown)
    ignore = list(drift.get("ignore", ()))
    column_thresholds = {}
    for column, settings in drift.get("columns", {}).items():
        if settings.get("ignore", False):
            ignore.append(column)
        column_thresholds[column] = {metric: _pair(value) for metric, value in settings.items() if metric != "ignore"}
    return DriftConfig(
        fail_on=tuple(drift["fail-on"]) if "fail-on" in drift else None,
        min_rows=drift.get("min-rows"),
        alpha=float(drift["alpha"]) if "alpha" in drift else None,
        ignore=tuple(ignore),
        thresholds={metric: _pair(value) for metric, value in drift.get("thresholds", {}).items()},
        column_thresholds={column: table for column, table in column_thresholds.items() if table},
    )


def _pair(value: list[float]) -> tuple[float, float]:
    return float(value[0]), float(value[1])


def _check_thresholds(table: Any, name: str, shown: str, *, allow_ignore: bool = False) -> None:
    """A table of metric = [warn, fail]: known metrics (with a did-you-mean), two numbers, 0 <= warn <= fail."""
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table", path=shown)
    known = [*DRIFT_METRICS, "ignore"] if allow_ignore else list(DRIFT_METRICS)
    for metric, value in table.items():
        key = f"{name}.{metric}"
        if metric not in known:
            close = difflib.get_close_matches(metric.replace("-", "_"), known, n=1, cutoff=0.6)
            hint = f"did you mean '{name}.{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            raise ConfigError(f"unknown key '{key}'", path=shown, hint=hint)
        if metric == "ignore":
            if not isinstance(value, bool):
                raise ConfigError(f"'{key}' must be a bool", path=shown)
            continue
        numbers = (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        )
        if not numbers or not 0 <= value[0] <= value[1]:
            raise ConfigError(
                f"'{key}' must be [warn, fail]: two numbers with 0 <= warn <= fail", path=shown, hint=f"for example {metric} = [0.1, 0.25]"
            )


def _export_entry(entry: Mapping[str, Any], name: str, shown: str) -> ExportEntry:
    """An ``ExportEntry`` from one checked ``[[tool.nb2prod.export]]`` table; what the schema cannot say is checked here."""
    if not entry.get("notebooks"):
        raise ConfigError(f"'{name}' needs 'notebooks'", path=shown, hint='e.g. notebooks = ["notebooks/train.ipynb"]')
    if ("out" in entry) == ("into" in entry):
        hint = "'out' is the project folder to write, 'into' an existing package folder that receives the modules"
        raise ConfigError(f"'{name}' needs one of 'out' and 'into'" + (", not both" if "out" in entry else ""), path=shown, hint=hint)
    if entry.get("pin", "compatible") not in PINS:
        raise ConfigError(f'\'{name}.pin\' must be "compatible" or "exact"', path=shown)
    if entry.get("capture-sample", 1) < 1:
        raise ConfigError(f"'{name}.capture-sample' must be a number of rows, at least 1", path=shown, hint="e.g. capture-sample = 200")
    for key in ("profile", "reference-run"):
        if key in entry and not entry[key].strip():
            hint = "a run id, a run folder or latest" + (", or a profile-*.json file" if key == "profile" else "")
            raise ConfigError(f"'{name}.{key}' must not be empty", path=shown, hint=hint)
    return ExportEntry(
        notebooks=tuple(entry["notebooks"]),
        out=entry.get("out"),
        into=entry.get("into"),
        name=entry.get("name"),
        pin=entry.get("pin", "compatible"),
        all_cells=entry.get("all", False),
        template_dir=entry.get("template-dir"),
        profile=entry.get("profile"),
        capture_sample=entry.get("capture-sample"),
        redact_columns=tuple(entry.get("redact-columns", ())),
        reference_run=entry.get("reference-run"),
    )


def config_for(paths: Sequence[str | os.PathLike[str]]) -> Config:
    """The configuration that governs ``paths``: from the pyproject.toml nearest to all of them."""
    start = None
    if paths:
        try:
            start = os.path.commonpath([os.path.abspath(path) for path in paths])
        except ValueError:  # paths on different Windows drives
            start = None
    return load_config(start=start)


def _check(table: Any, schema: Mapping[str, Any], prefix: str, shown: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"[{prefix}] must be a table", path=shown)
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if key not in schema:
            close = difflib.get_close_matches(key.replace("_", "-"), list(schema), n=1, cutoff=0.6)
            hint = f"did you mean '{prefix}.{close[0]}'?" if close else f"known keys: {', '.join(sorted(schema))}"
            raise ConfigError(f"unknown key '{name}'", path=shown, hint=hint)
        expected = schema[key]
        if isinstance(expected, Mapping):
            _check(value, expected, name, shown)
        elif isinstance(expected, list):
            if not isinstance(value, list):
                raise ConfigError(f"'{name}' must be a list of tables", path=shown, hint=f"write each entry as [[{name}]]")
            for index, item in enumerate(value):
                _check(item, expected[0], f"{name}[{index}]", shown)
        elif expected is _LIST_OF_STR:
            if not _is_str_list(value):
                raise ConfigError(f"'{name}' must be a list of strings", path=shown)
        elif expected is _TABLE_OF_LISTS:
            if not (isinstance(value, dict) and all(_is_str_list(item) for item in value.values())):
                raise ConfigError(f"'{name}' must be a table whose values are lists of strings", path=shown)
        elif expected is _THRESHOLDS:
            _check_thresholds(value, name, shown)
        elif expected is _COLUMN_TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"[{name}] must be a table of column tables", path=shown)
            for column, settings in value.items():
                _check_thresholds(settings, f"{name}.{column}", shown, allow_ignore=True)
        elif expected is _NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"'{name}' must be a number", path=shown)
        elif expected is dict:
            if not isinstance(value, dict):
                raise ConfigError(f"'{name}' must be a table", path=shown)
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"'{name}' must be a{'n' if expected is int else ''} {expected.__name__}", path=shown)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
