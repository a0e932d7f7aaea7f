"""``nb2prod verify``: re-run a recorded run and check that it gives the same metrics.

The run's notebook is executed again in a fresh kernel with the recorded parameters (through
``nb2prod.run.run_notebook``, so the re-run gets a run record of its own in the same runs folder),
and the metrics of both runs are compared:

- numbers (ints and floats, not booleans) match when ``math.isclose(recorded, now, rel_tol=rtol,
  abs_tol=atol)``; lists and dicts match element by element with the same rule; anything else
  (strings, booleans, null, non-finite values, which are recorded as strings) by equality;
- a metric that only one of the runs recorded is a difference;
- the run's status must be the same too (a run that succeeded must succeed again).

Tolerance defaults: ``rtol=1e-6`` and ``atol=0``. A seeded notebook run again on the same machine
normally gives bit-identical floats; ``1e-6`` still absorbs the last-digit noise of a different
BLAS, thread count or CPU (summation order), while any real change of an ML metric (one test
sample more or less correct changes an accuracy by ``1/n``) is far larger. ``atol=0`` mirrors
``math.isclose``: a metric whose value is near zero (a loss of ``1e-12``) needs an explicit
``--atol``.

What the comparison cannot see is reported as warnings: the notebook file, the git commit, the
Python version, the installed packages or the input files differ from the record. Files a run
wrote (its ``artifacts``, such as a saved model) are not inputs: a path either run recorded as an
artifact is not compared, so a record written before artifacts existed (which listed such a file
as an input) does not warn either.

Secret parameters are redacted in records (``***``) and cannot be replayed. A secret the run was
*given* (the record's ``given`` lists it) must be given again, as an override (``-p api_key=…``) or
in the environment (``NB2PROD_PARAM_API_KEY``), else ``verify`` stops before starting a kernel. A
secret the run took from the notebook's own default is left to the notebook: the re-run uses the
default again. A record without ``given`` (written by an older version) cannot tell the two apart:
every redacted value must then be given again. The environment is read only for those secrets;
every other parameter replays the record (or takes its ``-p`` override).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._callable import make_callable
from .errors import ParameterError, RecordError
from .params import ParameterValues, env_variable
from .records import DEFAULT_RUNS_DIR, RECORD_FILE, RunRecord, find_record
from .runs import MISSING, is_number, record_json
from .secrets import REDACTED

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 0.0
#: How many changed packages a warning names before it says "and N more".
MAX_PACKAGES_LISTED = 10


@dataclass(frozen=True)
class MetricComparison:
    """One metric of the recorded run against the re-run (``MISSING`` where a run lacks it)."""

    name: str
    recorded: Any
    now: Any
    ok: bool

    @property
    def delta(self) -> float | None:
        """``now - recorded`` when both are numbers."""
        return self.now - self.recorded if is_number(self.recorded) and is_number(self.now) else None

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` form; ``missing`` names the side(s) without the metric."""
        return {
            "name": self.name,
            "recorded": None if self.recorded is MISSING else self.recorded,
            "now": None if self.now is MISSING else self.now,
            "delta": self.delta,
            "ok": self.ok,
            "missing": [side for side, value in (("recorded", self.recorded), ("now", self.now)) if value is MISSING],
        }


@dataclass
class Verification:
    """The outcome of ``verify``: the recorded run, its re-run, the metric comparison and the warnings."""

    record: RunRecord
    rerun: RunRecord
    metrics: list[MetricComparison]
    rtol: float
    atol: float
    warnings: list[str] = field(default_factory=list)

    @property
    def same_status(self) -> bool:
        """Whether the re-run ended the way the recorded run did."""
        return self.rerun.status == self.record.status

    @property
    def reproduced(self) -> bool:
        """Same status and every metric within tolerance."""
        return self.same_status and all(metric.ok for metric in self.metrics)

    @property
    def differences(self) -> list[str]:
        """What was not reproduced, one phrase each (empty when reproduced)."""
        found = []
        if not self.same_status:
            found.append(f"status {self.rerun.status} (recorded: {self.record.status})")
        found += [metric.name for metric in self.metrics if not metric.ok]
        return found

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` form."""
        return {
            "reproduced": self.reproduced,
            "run": self.record.id,
            "rerun": self.rerun.id,
            "notebook": self.record.notebook,
            "status": {"recorded": self.record.status, "now": self.rerun.status},
            "rtol": self.rtol,
            "atol": self.atol,
            "metrics": [metric.to_json() for metric in self.metrics],
            "differences": self.differences,
            "warnings": self.warnings,
            "rerun_record": record_json(self.rerun),
        }


def values_match(recorded: Any, now: Any, *, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL) -> bool:
    """Whether two metric values agree: numbers within tolerance, lists and dicts item by item, else equality."""
    if is_number(recorded) and is_number(now):
        return math.isclose(recorded, now, rel_tol=rtol, abs_tol=atol)
    if isinstance(recorded, list) and isinstance(now, list):
        return len(recorded) == len(now) and all(values_match(a, b, rtol=rtol, atol=atol) for a, b in zip(recorded, now, strict=True))
    if isinstance(recorded, dict) and isinstance(now, dict):
        return recorded.keys() == now.keys() and all(values_match(recorded[k], now[k], rtol=rtol, atol=atol) for k in recorded)
    return type(recorded) is type(now) and recorded == now


def compare_metrics(
    recorded: Mapping[str, Any], now: Mapping[str, Any], *, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL
) -> list[MetricComparison]:
    """Compare two runs' metrics: the recorded names in order, then the names only the re-run has."""
    names = list(dict.fromkeys([*recorded, *now]))
    comparisons = []
    for name in names:
        old, new = recorded.get(name, MISSING), now.get(name, MISSING)
        ok = old is not MISSING and new is not MISSING and values_match(old, new, rtol=rtol, atol=atol)
        comparisons.append(MetricComparison(name, old, new, ok))
    return comparisons


def environment_warnings(record: RunRecord, rerun: RunRecord) -> list[str]:
    """What differs between the recorded run and the re-run besides the metrics: notebook, git, Python, packages, inputs."""
    warnings = []
    if record.notebook_sha256 and rerun.notebook_sha256 and record.notebook_sha256 != rerun.notebook_sha256:
        warnings.append(
            f"the notebook {record.notebook} changed since the run "
            f"(sha256 {record.notebook_sha256[:12]}… then, {rerun.notebook_sha256[:12]}… now)"
        )
    then, now = record.git or {}, rerun.git or {}
    if then.get("commit") != now.get("commit"):
        warnings.append(f"the git commit differs: {_short(then.get('commit'))} then, {_short(now.get('commit'))} now")
    if now.get("dirty"):
        was = "as it had then" if then.get("dirty") else "it had none then"
        warnings.append(f"the working tree has uncommitted changes now ({was}): the code may differ from the recorded run's")
    python_then, python_now = record.environment.get("python"), rerun.environment.get("python")
    if python_then and python_now and python_then != python_now:
        warnings.append(f"the Python version differs: {python_then} then, {python_now} now")
    changed = package_changes(record.environment.get("packages") or {}, rerun.environment.get("packages") or {})
    if changed:
        listed = ", ".join(changed[:MAX_PACKAGES_LISTED]) + (
            f" and {len(changed) - MAX_PACKAGES_LISTED} more" if len(changed) > MAX_PACKAGES_LISTED else ""
        )
        count = f"{len(changed)} packages differ" if len(changed) != 1 else "1 package differs"
        warnings.append(f"{count} from the record: {listed}")
    written = set(record.artifacts) | set(rerun.artifacts)  # outputs of a run (a saved model), not inputs to compare
    for path in sorted((set(record.inputs) | set(rerun.inputs)) - written):
        if record.inputs.get(path) != rerun.inputs.get(path):
            warnings.append(
                f"the input {path} differs from the record ({_short(record.inputs.get(path))} then, {_short(rerun.inputs.get(path))} now)"
            )
    return warnings


def package_changes(then: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """``name old -> new`` for each package whose version changed, was added or removed; sorted by name."""
    changes = []
    for name in sorted(set(then) | set(now), key=str.lower):
        old, new = then.get(name), now.get(name)
        if old != new:
            changes.append(f"{name} {old or '(absent)'} -> {new or '(absent)'}")
    return changes


def _short(digest: str | None) -> str:
    if not digest:
        return "none"
    return digest.removeprefix("sha256:")[:12]


def verify(
    reference: str,
    *,
    runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    overrides: Mapping[str, str] | None = None,
    timeout: float | None = None,
    cwd: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Verification:
    """Re-run the run ``reference`` (id, unique prefix, path or ``latest``) and compare its metrics.

    ``overrides`` are ``-p name=value`` texts, converted by the parameter's type; a secret the run
    was given (redacted in the record) comes from them or from ``NB2PROD_PARAM_<NAME>`` in
    ``environ`` (default: ``os.environ``). The re-run is recorded in ``runs_dir`` like any run.
    Raises ``RecordError`` when the run cannot be found or its notebook is gone, and
    ``ParameterError`` when a secret is not given again or the recorded parameters no longer fit.
    """
    if rtol < 0 or atol < 0:
        raise ParameterError(f"tolerances cannot be negative (rtol={rtol}, atol={atol})")
    record = find_record(reference, runs_dir)
    record_file = os.fspath(record.directory / RECORD_FILE) if record.directory else None
    overrides = dict(overrides or {})
    environ = os.environ if environ is None else environ
    redacted = [name for name, value in record.parameters.items() if value == REDACTED]
    needed = [name for name in redacted if record.given is None or name in record.given]  # the others were the notebook's defaults
    secrets = [name for name in needed if name not in overrides and env_variable(name) not in environ]
    if secrets:
        names = ", ".join(secrets)
        raise ParameterError(
            f"run {record.id} was started with the secret parameter{'s' * (len(secrets) != 1)} {names}, which run records do not keep",
            path=record_file,
            hint="pass them again: "
            + " ".join(f"-p {name}=VALUE" for name in secrets)
            + ", or set "
            + ", ".join(env_variable(name) for name in secrets),
        )
    notebook = Path(record.notebook)
    if not notebook.is_file():
        raise RecordError(
            f"the notebook of run {record.id} is not there: {record.notebook}",
            path=record_file,
            hint="run verify from the folder the run was started in",
        )
    from .run import run_notebook

    recorded = {name: value for name, value in record.parameters.items() if name not in overrides and name not in redacted}
    values = ParameterValues(recorded, source=record_file) if record_file else recorded
    from_environment = {env_variable(name): environ[env_variable(name)] for name in needed if name not in overrides}
    try:
        rerun = run_notebook(
            record.notebook,
            strings=overrides,
            values=values,
            environ=from_environment,
            runs_dir=runs_dir,
            timeout=timeout,
            kernel=record.kernel,
            cwd=cwd,
        )
    except ParameterError as error:
        if record.notebook_sha256 and _sha256(notebook) != record.notebook_sha256:
            message = f"{error.message}; the notebook changed since run {record.id}"
            raise ParameterError(message, path=record.notebook, hint=error.hint) from None
        if error.path is None:  # an override (-p) that does not fit: about the notebook's parameters
            error.path = record.notebook
        raise
    comparisons = compare_metrics(record.metrics, rerun.metrics, rtol=rtol, atol=atol)
    warnings = environment_warnings(record, rerun)
    if record.status != "ok":
        warnings.insert(0, f"the recorded run did not succeed (status {record.status}): verify checks that the re-run ends the same way")
    if not record.metrics and not rerun.metrics:
        warnings.append("neither run recorded metrics (nb2prod.record(name, value)): only the status was compared")
    return Verification(record, rerun, comparisons, rtol, atol, warnings)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


make_callable(__name__, "nb2prod.verify:verify")  # nb2prod.verify(run, ...) verifies: see nb2prod._callable
