"""``nb2prod drift --engine evidently``: Evidently's ``DataDriftPreset`` per-column tests, mapped into nb2prod's result.

For teams that already judge drift with Evidently: the same command, table, ``--format
json|github``, gates, exit codes and audit line, with the engine named in the result document
(``"engine": "evidently"``) and in the audit line's reference. Evidently is an optional extra
(``pip install 'nb2prod[evidently]'``: ``evidently>=0.7,<0.8`` and ``pandas<3``, because
evidently 0.7 does not import under pandas 3), imported only here, only under the flag.

The reference (decided here, written down because Evidently cannot work from a profile,
evidently#506): Evidently compares raw data with raw data, so the engine needs the reference
*data*, while RUN names a stored profile. The reference data is, in this order:

1. ``--reference DATA...`` when given. When the profile records the files it was made from
   (``inputs``, written by ``nb2prod profile``), every given file must be one of them (same
   sha256), so that the check is still against that run's data; a profile made in a notebook
   from a DataFrame records no files, and the given ones are taken on the user's word (their
   sha256 goes to the audit line either way).
2. Else the profile's recorded ``inputs``, each found at its recorded path (or next to the
   profile) with the sha256 recorded: a file that is gone or changed is refused by name.
3. Else: refused (exit 2), saying to give ``--reference DATA``.

What is mapped: each column Evidently tested becomes one metric ``evidently`` (its score, the
method Evidently chose, its threshold; a p-value method is "lower is drift", a distance "higher
is drift", both spelt out), and the column's status is Evidently's own test verdict: ``fail``
when its test failed, else ``ok`` (Evidently has no warning level). nb2prod keeps what is its
own: the profile's columns and kinds (numeric -> Evidently's numerical, categorical ->
categorical; other kinds ``unsupported``), schema changes (a missing column or a kind change
fails, a new column is reported), ``--min-rows`` (``insufficient``), ``--columns``/``--exclude``
and the ``--fail-on`` words and data-set values (``share``, ``failed``, ``checked``). nb2prod's
own metrics (psi, missing, ...) are not computed, so thresholds and alpha do not apply and
gate expressions naming them are refused rather than silently passing.

Unlike nb2prod's engine, Evidently holds both data sets in memory (read whole with pandas).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError
from .gate import DATASET_NAMES, GateExpression, evaluate_gate, parse_gate
from .profile import file_sha256
from .read import PARSE_HINT, data_format
from .result import STATUS_RANK, CheckOptions, ColumnResult, DriftResult, Metric

ENGINES = ("nb2prod", "evidently")
EVIDENTLY_INSTALL = "pip install 'nb2prod[evidently]'"
EVIDENTLY_METRIC = "evidently"
_CHECKED_KINDS = {"numeric": "numerical", "categorical": "categorical"}


def evidently_reference(profile: Mapping[str, Any], profile_path: str | os.PathLike[str], given: Sequence[str]) -> list[str]:
    """The raw reference data files for the evidently engine (see the module docstring); an input error when there are none."""
    inputs = profile.get("inputs") if isinstance(profile.get("inputs"), Mapping) else {}
    recorded = {str(digest) for digest in inputs.values()}
    if given:
        for path in given:
            data_format(path)
            if not os.path.isfile(path):
                raise DataError("no such reference data file", path=path)
            if recorded and file_sha256(path) not in recorded:
                raise DataError(
                    "not the data the profile was made from (its sha256 is not among the profile's inputs)",
                    path=path,
                    hint="give the file(s) `nb2prod profile` read: " + ", ".join(inputs),
                )
        return list(given)
    if not inputs:
        raise UsageError(
            "the evidently engine needs the raw reference data, and the profile records no input file",
            path=os.fspath(profile_path),
            hint="give the training data with --reference DATA",
        )
    found = []
    for recorded_path, digest in inputs.items():
        candidates = [Path(recorded_path), Path(profile_path).parent / recorded_path, Path(profile_path).parent / Path(recorded_path).name]
        existing = [candidate for candidate in candidates if candidate.is_file()]
        if not existing:
            raise DataError("the profile's input file is gone", path=recorded_path, hint="give the training data with --reference DATA")
        match = next((candidate for candidate in existing if file_sha256(candidate) == digest), None)
        if match is None:
            raise DataError(
                "the profile's input file changed since the profile was made (sha256 differs)",
                path=recorded_path,
                hint="give the training data with --reference DATA",
            )
        found.append(os.fspath(match))
    return found


def check_gates(fail_on: Sequence[str]) -> list[str | GateExpression]:
    """The parsed ``--fail-on`` items the evidently engine can honour; ``UsageError`` for one naming nb2prod's own metrics."""
    items = [parse_gate(item) for item in fail_on]
    for item in items:
        if isinstance(item, GateExpression) and item.metric not in DATASET_NAMES:
            raise UsageError(
                f"--fail-on {item.text!r}: the evidently engine does not compute {item.metric}",
                hint="use fail, warn, schema, insufficient, or share/failed/checked expressions",
            )
    return items


def import_evidently() -> Any:
    """The ``evidently`` module; ``DataError`` with the line to install it when it is missing or cannot be imported."""
    os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's usage telemetry: off unless the user set it
    try:
        import evidently
        from evidently import DataDefinition, Dataset, Report  # noqa: F401  (the 0.7 API)
        from evidently.presets import DataDriftPreset  # noqa: F401
    except ImportError as exc:  # under pandas 3, evidently 0.7: "cannot import name 'infer_dtype_from_object' from ..."
        missing = getattr(exc, "name", None) == "evidently"
        reason = "evidently is not installed" if missing else f"evidently cannot be imported ({' '.join(str(exc).split())[:200]})"
        raise DataError(f"--engine evidently: {reason}", hint=f"{EVIDENTLY_INSTALL}: evidently 0.7 with pandas < 3") from None
    except Exception as exc:  # any other failure of its import chain (an incompatible dependency)
        raise DataError(
            f"--engine evidently: evidently cannot be imported ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})",
            hint=f"{EVIDENTLY_INSTALL}: evidently 0.7 needs pandas < 3",
        ) from None
    return evidently


def read_frame(paths: Sequence[str | os.PathLike[str]]) -> Any:
    """The files read whole into one pandas DataFrame (Evidently needs the data in memory)."""
    import pandas as pd

    frames = []
    for path in paths:
        shown = os.fspath(path)
        if not os.path.isfile(path):
            raise DataError("no such file", path=shown)
        if os.path.getsize(path) == 0:
            raise DataError("empty file (no header, no rows)", path=shown, hint="check the export that wrote it")
        kind = data_format(path)
        try:
            if kind == "parquet":
                frames.append(pd.read_parquet(path))
            elif kind == "jsonl":
                frames.append(pd.read_json(path, lines=True, dtype=False))
            else:
                frames.append(pd.read_csv(path, sep="\t" if kind == "tsv" else ","))
        except (MemoryError, DataError):
            raise
        except UnicodeDecodeError:
            raise DataError("not UTF-8 text", path=shown) from None
        except Exception as exc:  # the parsers' own errors
            raise DataError(f"cannot parse as {kind}: {' '.join(str(exc).split())[:300]}", path=shown, hint=PARSE_HINT) from None
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def check_evidently(
    profile: Mapping[str, Any],
    reference_paths: Sequence[str | os.PathLike[str]],
    paths: Sequence[str | os.PathLike[str]],
    options: CheckOptions | None = None,
) -> DriftResult:
    """Check data files against raw reference files with Evidently's DataDriftPreset, in nb2prod's result format."""
    options = options or CheckOptions()
    gates = check_gates(options.fail_on)
    evidently = import_evidently()
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference, current = read_frame(reference_paths), read_frame(paths)
    results, tested = schema_columns(profile, reference, current, options)
    document: dict[str, Any] = {"metrics": [], "tests": []}
    if tested:
        numerical = [name for name, kind in tested.items() if kind == "numerical"]
        categorical = [name for name, kind in tested.items() if kind == "categorical"]
        definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
        columns = list(tested)
        snapshot = Report([DataDriftPreset(columns=columns)], include_tests=True).run(
            Dataset.from_pandas(current[columns], data_definition=definition),
            Dataset.from_pandas(reference[columns], data_definition=definition),
        )
        document = snapshot.dict()
    verdicts = map_snapshot(document)
    for column in results:
        verdict = verdicts.get(column.name)
        if column.name in tested and verdict is not None:
            column.metrics.append(verdict)
            column.status = verdict.status
        elif column.name in tested:
            column.status = "unsupported"
            column.notes.append("evidently returned no result for this column")
    results.sort(key=_worst_first)
    result = DriftResult(
        profile,
        results,
        len(current),
        options.alpha,
        options,
        engine="evidently",
        engine_info={
            "name": "evidently",
            "version": getattr(evidently, "__version__", "?"),
            "preset": "DataDriftPreset",
            "reference_data": [{"path": os.fspath(path), "sha256": file_sha256(path).removeprefix("sha256:")} for path in reference_paths],
        },
    )
    result.gate_reasons = evaluate_gate(result, gates)
    return result


def schema_columns(
    profile: Mapping[str, Any], reference: Any, current: Any, options: CheckOptions
) -> tuple[list[ColumnResult], dict[str, str]]:
    """Every column's result before Evidently runs (schema, ignores, insufficient), and the columns to test with their Evidently kind."""
    import pandas as pd

    selected = options.columns
    if selected is not None:
        unknown = [name for name in selected if name not in profile["columns"]]
        if unknown:
            raise UsageError(f"--columns names columns the profile does not have: {', '.join(unknown)}")
    results: list[ColumnResult] = []
    tested: dict[str, str] = {}
    for name, summary in profile["columns"].items():
        kind = summary["kind"]
        if name in options.ignore or (selected is not None and name not in selected):
            results.append(ColumnResult(name, kind, "ignored", n_ref=summary["n"]))
            continue
        if name not in current.columns:
            if name == profile.get("target"):
                results.append(ColumnResult(name, kind, "absent", n_ref=summary["n"], notes=["the target is not in the data"]))
            else:
                results.append(
                    ColumnResult(name, kind, "fail", n_ref=summary["n"], schema="missing", notes=["missing from the data (schema)"])
                )
            continue
        if name not in reference.columns:
            raise DataError(
                f"the reference data has no column {name!r}, which the profile has", hint="give the data the profile was made from"
            )
        values, ref_values = current[name], reference[name]
        result = ColumnResult(name, kind, "ok", n_ref=int(ref_values.notna().sum()), n_new=int(values.notna().sum()))
        results.append(result)
        if kind not in _CHECKED_KINDS:
            result.status = "unsupported"
            result.notes.append(f"{kind} column: the evidently engine checks numeric and categorical columns")
            continue
        if kind == "numeric":
            texts = int((pd.to_numeric(values, errors="coerce").isna() & values.notna()).sum())
            if texts:
                result.status, result.schema = "fail", "kind"
                result.notes.append(f"kind changed: numeric in the profile, {texts:,} text values in the data (schema)")
                continue
        if result.n_new < options.min_rows:
            result.status = "insufficient"
            result.notes.append(f"{result.n_new:,} values present, fewer than --min-rows {options.min_rows}")
            continue
        tested[name] = _CHECKED_KINDS[kind]
    for name in current.columns:
        if str(name) not in profile["columns"] and str(name) not in options.ignore:
            results.append(ColumnResult(str(name), "?", "new", n_new=len(current), schema="new", notes=["not in the profile (new column)"]))
    return results, tested


def map_snapshot(document: Mapping[str, Any]) -> dict[str, Metric]:
    """Evidently 0.7's ``snapshot.dict()`` (``include_tests=True``) as one ``evidently`` metric per column.

    Each ``ValueDrift`` metric gives the column, method, threshold and score; the test bound to
    it (``metric_config.metric_id`` = the metric's ``id``) gives the verdict. A p-value method
    (its name ends in ``p_value``) drifts below its threshold, a distance at or above it.
    """
    verdicts = {}
    for test in document.get("tests") or []:
        config = test.get("metric_config") or {}
        if (config.get("params") or {}).get("type") == "evidently:metric_v2:ValueDrift":
            verdicts[config.get("metric_id")] = test.get("status")
    mapped: dict[str, Metric] = {}
    for metric in document.get("metrics") or []:
        config = metric.get("config") or {}
        if config.get("type") != "evidently:metric_v2:ValueDrift":
            continue
        column, method, threshold, score = str(config["column"]), str(config["method"]), float(config["threshold"]), metric.get("value")
        score = float(score) if isinstance(score, (int, float)) else math.nan
        is_p_value = method.lower().replace("-", "_").endswith("p_value")
        verdict = verdicts.get(metric.get("id"))
        # the bound test's verdict; without one, Evidently's rule from the method's kind
        drifted = (score < threshold if is_p_value else score >= threshold) if verdict is None else verdict != "SUCCESS"
        comparison = ("<" if drifted else ">=") if is_p_value else (">=" if drifted else "<")
        mapped[column] = Metric(
            EVIDENTLY_METRIC,
            score,
            warn=None if is_p_value else threshold,
            fail=None if is_p_value else threshold,
            p_value=score if is_p_value else None,
            alpha=threshold if is_p_value else None,
            status="fail" if drifted else "ok",
            detail=f"evidently {method} {score:.3g} {comparison} {threshold:g}",
            direction="lower_is_drift" if is_p_value else "higher_is_drift",
            method=method,
        )
    return mapped


def _worst_first(column: ColumnResult) -> tuple[int, str]:
    return (-STATUS_RANK.get(column.status, 0), column.name)
