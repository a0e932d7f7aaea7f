"""Data profiles (schema ``nb2prod.profile/1``): what a drift check needs of the training data, about 1 KB a column.

A profile replaces the raw reference data: the bins are fixed on the reference (deciles for a
numeric column, the vocabulary for a categorical one), so a later check needs nothing else.
Per column it stores the kind, dtype, row, missing and infinite counts, and:

- ``numeric`` (numbers with more than 5 distinct values): min, max, mean, std, ``edges`` (the
  deciles, ties collapsed; the outer bins are open when checking), ``counts`` per bin, ``q`` (21
  quantiles at 0, 5, ..., 100 %) and ``cdf`` (the share of values at or below each of them);
- ``categorical`` (text, booleans, numbers with at most 5 distinct values): ``top`` (the whole
  vocabulary when it has at most 1,000 values, ``vocab_complete: true``; else the 50 most common
  and ``other``), keys optionally hashed (``hashed: true``: sha256, first 8 bytes);
- ``datetime``: min and max; ``empty``: every value missing; ``unsupported``: free text or
  identifiers (more than half the values unique) and columns mixing many numbers with text,
  reported but never gated.

Columns of more than ``SAMPLE_CAP`` finite values get their quantiles and bin counts from a seeded
uniform sample of that size (``sampled: true``): memory stays bounded for files larger than memory.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._version import __version__
from ..atomic import atomic_write
from ..errors import DataError, UsageError
from .columns import ColumnAccumulator, hash_key

SCHEMA = "nb2prod.profile/1"
SCHEMA_PREFIX = "nb2prod.profile/"
SCHEMA_VERSION = 1
SAMPLE_CAP = 1_000_000
QUANTILE_LEVELS = tuple(i / 20 for i in range(21))
DECILE_INDEXES = tuple(range(0, 21, 2))
MAX_VOCABULARY = 1_000
TOP_WHEN_INCOMPLETE = 50
MAX_CATEGORICAL_NUMBERS = 5
KINDS = ("numeric", "categorical", "datetime", "empty", "unsupported")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str) -> str:
    """A profile name becomes a file name (``profile-NAME.json``): letters, digits, ``_ . -``, at most 64."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(f"invalid profile name {name!r}", hint="use letters, digits, '_', '.' and '-', starting with a letter or digit")
    return name


def _round(value: float) -> float:
    """12 significant digits: a profile stays small, and counts are computed against the rounded edges."""
    return float(f"{value:.12g}") if math.isfinite(value) else value


def build_profile(
    chunks: Iterable[Mapping[str, Any]],
    *,
    name: str = "train",
    target: str | None = None,
    exclude: Sequence[str] = (),
    hash_categories: bool = False,
    sources: Mapping[str, str] | None = None,
    sample_cap: int = SAMPLE_CAP,
    seed: int = 0,
) -> dict[str, Any]:
    """The profile of data given as chunks of columns (``{name: array}``), in one pass.

    Raises ``DataError`` when there are no columns, and ``UsageError`` for a ``target`` that is
    not a column.
    """
    check_name(name)
    accumulators: dict[str, ColumnAccumulator] = {}
    rows = 0
    excluded = set(exclude)
    for chunk in chunks:
        length = None
        for column, values in chunk.items():
            if column in excluded:
                continue
            if column not in accumulators:
                if rows:
                    raise DataError(f"column {column!r} appears after the first rows", hint="every chunk must have the same columns")
                accumulators[column] = ColumnAccumulator(column, sample_cap=sample_cap, seed=seed)
            accumulators[column].add(values)
            length = accumulators[column].rows - rows
        rows += length or 0
    if not accumulators:
        raise DataError("no columns to profile")
    if rows == 0:
        raise DataError("no rows to profile", hint="a profile needs the data the model was trained on")
    if target is not None and target not in accumulators:
        raise UsageError(f"the target {target!r} is not a column", hint="columns: " + ", ".join(list(accumulators)[:20]))
    columns = {column: column_profile(acc, hash_categories=hash_categories) for column, acc in accumulators.items()}
    return {
        "schema": SCHEMA,
        "name": name,
        "rows": rows,
        "target": target,
        "hashed": hash_categories,
        "sampled": any(column.get("sampled", False) for column in columns.values()),
        "inputs": dict(sources or {}),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nb2prod_version": __version__,
        "columns": columns,
    }


def column_profile(acc: ColumnAccumulator, *, hash_categories: bool) -> dict[str, Any]:
    """The stored summary of one column (see the module docstring for each kind)."""
    base: dict[str, Any] = {"dtype": acc.dtype or "unknown", "n": acc.rows, "missing": acc.missing}
    kind, reason = decide_kind(acc)
    if kind == "numeric":
        return {"kind": kind, **base, **_numeric(acc)}
    if kind == "categorical":
        return {"kind": kind, **base, **_categorical(acc, hash_categories)}
    if kind == "datetime":
        return {"kind": kind, **base, "min": str(acc.dt_min), "max": str(acc.dt_max)}
    result = {"kind": kind, **base}
    if reason:
        result["reason"] = reason
    return result


def decide_kind(acc: ColumnAccumulator) -> tuple[str, str]:
    """The column's kind and, for ``unsupported``, why."""
    if acc.present == 0:
        return "empty", ""
    if acc.datetimes:
        if acc.numbers or acc.texts:
            return "unsupported", "mixes dates with other values"
        return "datetime", ""
    distinct = len(acc.counts) + (1 if acc.untracked else 0)
    if acc.texts:
        if acc.numbers and not acc.numeric_keys:
            return "unsupported", "mixes many distinct numbers with text"
        if acc.untracked or (distinct > 0.5 * acc.present and distinct > TOP_WHEN_INCOMPLETE):
            return "unsupported", f"free text or identifiers ({distinct:,} distinct values in {acc.present:,})"
        return "categorical", ""
    if acc.numeric_keys and len(acc.counts) <= MAX_CATEGORICAL_NUMBERS and acc.posinf + acc.neginf == 0:
        return "categorical", ""
    return "numeric", ""


def _numeric(acc: ColumnAccumulator) -> dict[str, Any]:
    import numpy as np

    sample = acc.sample()
    mean, std = acc.mean_std()
    result: dict[str, Any] = {"posinf": acc.posinf, "neginf": acc.neginf}
    if not len(sample):  # only infinities
        return {**result, "min": None, "max": None, "mean": None, "std": None, "edges": [], "counts": [acc.posinf + acc.neginf]}
    q = [_round(value) for value in np.quantile(sample, QUANTILE_LEVELS).tolist()]
    edges = sorted(set(q[i] for i in DECILE_INDEXES))
    interior = np.asarray(edges[1:-1], dtype=np.float64)
    counts = np.bincount(np.searchsorted(interior, sample, side="right"), minlength=len(interior) + 1).astype(np.int64)
    neginf, posinf = acc.neginf, acc.posinf
    if acc.sampled:  # infinities on the sample's scale
        scale = len(sample) / acc.finite
        neginf, posinf = round(neginf * scale), round(posinf * scale)
    counts[0] += neginf
    counts[-1] += posinf
    cdf = (np.searchsorted(sample, np.asarray(q), side="right") / len(sample)).tolist()
    return {
        **result,
        "min": _round(acc.min),
        "max": _round(acc.max),
        "mean": _round(mean),
        "std": _round(std),
        "edges": edges,
        "counts": counts.tolist(),
        "q": q,
        "cdf": [_round(value) for value in cdf],
        "sampled": acc.sampled,
    }


def _categorical(acc: ColumnAccumulator, hash_categories: bool) -> dict[str, Any]:
    counts = acc.counts
    complete = len(counts) <= MAX_VOCABULARY and not acc.untracked
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept = ranked if complete else ranked[:TOP_WHEN_INCOMPLETE]
    top: dict[str, int] = {}
    for key, count in kept:
        shown = hash_key(key) if hash_categories else key
        top[shown] = top.get(shown, 0) + count
    return {
        "unique": len(counts) + (1 if acc.untracked else 0),
        "vocab_complete": complete,
        "top": top,
        "other": acc.present - sum(top.values()),
    }


# --- files -------------------------------------------------------------------------------------------


def file_sha256(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def profile_bytes(profile: Mapping[str, Any]) -> bytes:
    """The stored form: compact JSON, one column per line (readable in a diff, small on disk)."""
    head = {key: value for key, value in profile.items() if key != "columns"}
    lines = [json.dumps(head, ensure_ascii=False, allow_nan=False)[:-1] + ', "columns": {']
    items = list(profile.get("columns", {}).items())
    for index, (column, summary) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(
            f"  {json.dumps(column, ensure_ascii=False)}: {json.dumps(_jsonable(summary), ensure_ascii=False, allow_nan=False)}{comma}"
        )
    lines.append("}}")
    text = "\n".join(lines) + "\n"
    return text.encode("utf-8", "surrogatepass")


def _jsonable(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Non-finite floats (a column of only infinities has no mean) stored as null."""
    return {key: (None if isinstance(value, float) and not math.isfinite(value) else value) for key, value in summary.items()}


def write_profile(profile: Mapping[str, Any], path: str | os.PathLike[str]) -> str:
    """Write ``profile`` atomically to ``path``; returns its ``sha256:`` digest."""
    data = profile_bytes(profile)
    atomic_write(path, data)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def load_profile(path: str | os.PathLike[str], *, sha256: str | None = None) -> dict[str, Any]:
    """Read and check a profile file; with ``sha256``, its bytes must match that digest.

    Raises ``DataError`` naming the file for a missing, unreadable or tampered file, another
    schema (a newer nb2prod's profile: upgrade; an unknown one: re-create it) or a malformed column.
    """
    shown = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("no such profile", path=shown) from None
    except IsADirectoryError:
        raise DataError("a folder, not a profile file", path=shown) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", path=shown) from None
    if sha256 is not None and "sha256:" + hashlib.sha256(data).hexdigest() != sha256:
        raise DataError(
            "the profile does not match the sha256 its run recorded", path=shown, hint="it was changed after the run; re-run the notebook"
        )
    try:
        profile = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"not a JSON profile: {exc}", path=shown) from None
    problem = profile_problem(profile)
    if problem:
        message, hint = problem
        raise DataError(message, path=shown, hint=hint)
    return profile


def profile_problem(profile: Any) -> tuple[str, str] | None:
    """Why ``profile`` cannot be used (message, hint), or None when it can."""
    recreate = "re-create it with `nb2prod profile DATA -o FILE` or by re-running the notebook"
    if not isinstance(profile, dict) or not isinstance(profile.get("schema"), str):
        return "not an nb2prod profile (no schema)", recreate
    schema = profile["schema"]
    if not schema.startswith(SCHEMA_PREFIX):
        return f"not an nb2prod profile (schema {schema!r})", recreate
    version = schema[len(SCHEMA_PREFIX) :]
    if not version.isdigit():
        return f"unknown profile schema {schema!r}", recreate
    if int(version) > SCHEMA_VERSION:
        return f"profile schema {schema!r} is newer than this nb2prod reads ({SCHEMA})", "upgrade nb2prod"
    if int(version) < SCHEMA_VERSION:
        return f"profile schema {schema!r} is older than this nb2prod reads ({SCHEMA})", recreate
    columns = profile.get("columns")
    if not isinstance(columns, dict):
        return "the profile has no columns table", recreate
    for column, summary in columns.items():
        problem = _column_problem(summary)
        if problem:
            return f"column {column!r}: {problem}", recreate
    return None


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in value)


def _column_problem(summary: Any) -> str | None:
    if not isinstance(summary, dict) or summary.get("kind") not in KINDS:
        return "unknown kind" if isinstance(summary, dict) else "not a table"
    if not isinstance(summary.get("n"), int) or not isinstance(summary.get("missing"), int):
        return "n and missing must be integers"
    kind = summary["kind"]
    if kind == "numeric":
        edges, counts = summary.get("edges"), summary.get("counts")
        if not (_numbers(edges) and _numbers(counts)) or len(counts) != max(len(edges) - 1, 1) or edges != sorted(edges):
            return "edges and counts do not fit (sorted edges, one count per bin)"
        quantiles, cdf = summary.get("q", []), summary.get("cdf")
        if not _numbers(quantiles) or (cdf is not None and (not _numbers(cdf) or len(cdf) != len(quantiles))):
            return "q and cdf must be lists of numbers of one length"
    if kind == "categorical":
        top = summary.get("top")
        if not isinstance(top, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in top.values()):
            return "top must map categories to counts"
    return None
