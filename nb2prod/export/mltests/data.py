"""The data the generated ML tests use: columns synthesized from the notebook's data profile, or a captured real sample.

Two fixture files can go into the exported package's ``tests/fixtures/`` folder, each with
nb2prod's two header lines (its origin and the sha256 of the rest), the rest's sha256 also in the
generated test module's ``MANIFEST``; a test checks it before reading the file (a changed fixture
is a clear failure, never silently other data):

- ``profile.txt``: the reference profile reduced to what the tests need (JSON): per column its
  kind, dtype, missing share, the 21 quantiles and [min, max] of a numeric column, the vocabulary
  with counts of a categorical one; the target's name. The generated tests synthesize their data
  from it (numeric values uniform inside the quantile bins, categories drawn by frequency, the
  target from its own marginal), so no real row leaves the notebook, and T16 checks the loader's
  data against it. Category values that look like credentials are masked (``nb2prod.secrets``).
- ``sample.csv``: ``N`` real rows of what the module's loader returns (``--capture-sample N``),
  taken in a subprocess that imports the exported modules (the loader gives the ``(X, y)`` that
  training takes; a run's recorded input files are raw, before the notebook's own preparation).
  CSV, not Parquet: the tests then need only the standard library's ``csv`` (and pandas only when
  the notebook's X is a DataFrame), the file reads in a diff, and floats are written with ``repr``
  so they come back exactly (each column's numpy kind is in the manifest).

Redacted columns (``--redact-column``, ``[tool.nb2prod.ml-tests] redact``, and every column whose
name says it holds a secret) are left out of both files: the spec keeps only their kind, and the
tests fill them with synthesized values (numbers from a standard normal, categories
``redacted-0`` ... ``redacted-4``), so the model still gets every column and no real value of
them is written. In the other text columns of the sample, a value that looks like a credential is
written as ``***``, and control characters (``\r``, ``\x00``) as spaces.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...secrets import REDACTED, is_secret_name, mask_text

__all__ = ["PROFILE_FIXTURE", "SAMPLE_FIXTURE", "TestData", "column_order", "fixture_spec", "sample_csv", "text_sha256"]

PROFILE_FIXTURE = "tests/fixtures/profile.txt"
SAMPLE_FIXTURE = "tests/fixtures/sample.csv"
SPEC_SCHEMA = "nb2prod.ml-data/1"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: Columns a spec keeps at most (a wide profile would make a large fixture and slow tests).
MAX_COLUMNS = 500


@dataclass(frozen=True)
class TestData:
    """Where the generated tests' data comes from: the profile spec and the captured sample (either may be absent)."""

    __test__ = False  # not a pytest test class

    spec: Mapping[str, Any] | None = None  # fixture_spec(...)
    origin: str = ""  # "run ID" or the profile file, for --explain-tests
    sample: str | None = None  # the CSV text of sample.csv (header row, then rows)
    sample_meta: Mapping[str, Any] = field(default_factory=dict)  # x kind, columns and dtypes, target, redacted columns
    redacted: tuple[str, ...] = ()  # the columns left out of the fixtures


def text_sha256(text: str) -> str:
    """``sha256:<hex>`` of a fixture's text as written (UTF-8): what the manifest holds and the tests check."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def redacted_columns(columns: Sequence[str], asked: Sequence[str]) -> tuple[str, ...]:
    """The columns asked for, and every column whose name says it holds a secret (``api_key``, ``password``)."""
    return tuple(dict.fromkeys([*asked, *(name for name in columns if is_secret_name(name))]))


def fixture_spec(profile: Mapping[str, Any], *, frame: bool, redact: Sequence[str] = ()) -> dict[str, Any]:
    """What the generated tests need of a profile (``nb2prod.profile/1``): see the module docstring.

    ``frame``: the tests build a pandas DataFrame (the module uses pandas, or a column is not
    numeric) rather than a float array in the profile's column order.
    """
    columns: list[dict[str, Any]] = []
    target = profile.get("target") if isinstance(profile.get("target"), str) else None
    hashed = bool(profile.get("hashed"))
    names, ordered = column_order(profile)
    for name in names[:MAX_COLUMNS]:
        columns.append(_column(name, profile["columns"][name], redacted=name in redact, hashed=hashed))
    features = [column for column in columns if column["name"] != target]
    frame = frame or any(column["kind"] not in ("numeric", "categorical") or not column["numbers"] for column in features)
    return {
        "schema": SPEC_SCHEMA,
        "profile": profile.get("name"),
        "rows": profile.get("rows"),
        "x": "frame" if frame else "array",
        "target": target,
        "ordered": ordered,
        "columns": columns,
    }


def column_order(profile: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The profile's column names, and whether they are in the data's order (an array's columns are matched by position).

    A profile that went through the notebook's JSON (``nb2prod.profile`` in a run) has its columns
    sorted by name: sorted names may not be the data's order, unless the profile lists ``order``.
    """
    names = [str(name) for name in profile.get("columns", {})]
    order = profile.get("order")
    if isinstance(order, list) and sorted(map(str, order)) == sorted(names):
        return [str(name) for name in order], True
    return names, len(names) <= 1 or names != sorted(names)


def _column(name: str, summary: Mapping[str, Any], *, redacted: bool, hashed: bool) -> dict[str, Any]:
    kind = summary.get("kind", "unsupported")
    dtype = str(summary.get("dtype", ""))
    n = summary.get("n") or 0
    missing = (summary.get("missing") or 0) / n if n else 0.0
    column: dict[str, Any] = {"name": name, "kind": kind, "dtype": dtype, "missing": round(missing, 6), "redacted": redacted}
    integral = dtype.startswith(("int", "uint", "Int", "UInt", "bool"))
    if redacted:
        column["numbers"] = kind == "numeric" or (kind == "categorical" and _numeric_dtype(dtype))
        column["integral"] = integral
        return column
    if kind == "numeric":
        quantiles = [value for value in summary.get("q") or summary.get("edges") or [] if _finite(value)]
        column.update(
            numbers=True, integral=integral, q=quantiles, min=_finite_or_none(summary.get("min")), max=_finite_or_none(summary.get("max"))
        )
    elif kind == "categorical":
        raw = {str(key): int(count) for key, count in (summary.get("top") or {}).items()}
        top: dict[str, int] = {}
        for key, count in raw.items():
            top[mask_text(key)] = top.get(mask_text(key), 0) + count
        numbers = _numeric_dtype(dtype) and all(_is_number_text(key) for key in top)
        # a masked category can no longer be compared with the data, so T16 checks no vocabulary then
        complete = bool(summary.get("vocab_complete")) and not hashed and set(top) == set(raw)
        column.update(numbers=numbers, integral=integral, top=top, complete=complete)
    else:
        column["numbers"] = False
    return column


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _finite_or_none(value: Any) -> float | None:
    return float(value) if _finite(value) else None


def _numeric_dtype(dtype: str) -> bool:
    return dtype.lower().startswith(("int", "uint", "float", "bool"))


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text in ("True", "False")
    return True


def spec_text(spec: Mapping[str, Any]) -> str:
    """The spec as written into ``profile.txt``: JSON, one column per line."""
    head = {key: value for key, value in spec.items() if key != "columns"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "columns": [']
    items = spec["columns"]
    for index, column in enumerate(items):
        lines.append("  " + json.dumps(column, ensure_ascii=False) + ("," if index < len(items) - 1 else ""))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def sample_csv(captured: Mapping[str, Any], redact: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The CSV text of a captured sample without the redacted columns, and what the tests need to rebuild ``(X, y)``.

    ``captured`` is what the capture subprocess printed: ``x`` (``frame``/``array``), ``columns``,
    ``dtypes`` (numpy kind letters), ``target``, ``y_dtype`` and ``rows`` (lists of values, the
    target last). Text values that look like credentials are written as ``***``.
    """
    columns = [str(name) for name in captured["columns"]]
    dtypes = list(captured["dtypes"])
    target = str(captured["target"])
    kept = [index for index, name in enumerate(columns) if name not in redact]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([columns[index] for index in kept] + [target])
    for row in captured["rows"]:
        writer.writerow([_cell(row[index]) for index in kept] + [_cell(row[-1])])
    meta = {
        "x": captured["x"],
        "columns": [{"name": name, "dtype": dtype, "redacted": name in redact} for name, dtype in zip(columns, dtypes, strict=True)],
        "target": target,
        "y_dtype": captured["y_dtype"],
        "y": captured.get("y", "array"),
        "rows": len(captured["rows"]),
    }
    return buffer.getvalue(), meta


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (bool, int)):
        return str(value)
    text = _CONTROL.sub(" ", str(value))  # a generated file holds no control characters (nb2prod.export.validate)
    return REDACTED if mask_text(text) != text else text
