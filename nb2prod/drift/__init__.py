"""Data profiles and drift checks: the training run keeps a profile of its data, later data is checked against it.

The public functions return data; ``nb2prod.cli.profile`` and ``nb2prod.cli.drift`` print it.
numpy (and pandas or pyarrow to read files) are imported by the functions that need them, so
``import nb2prod`` stays cheap. Modules, one concern each: ``columns`` (one pass over a column),
``read`` (files and frames as chunks), ``profile`` (the profile format), ``stats`` (distances
and p-values), ``checks`` (metrics, statuses, the gate), ``report`` (the HTML page), ``capture``
(``nb2prod.profile`` inside a notebook and the run's side of it), ``engines`` (``--engine
evidently``: Evidently's per-column tests in nb2prod's result format).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError, RecordError, UsageError
from .checks import CheckOptions, DriftResult, check_chunks
from .profile import build_profile, file_sha256, load_profile, write_profile
from .read import frame_columns, iter_file

__all__ = [
    "CheckOptions",
    "DriftResult",
    "Reference",
    "check_files",
    "profile_files",
    "profile_frame",
    "resolve_reference",
    "write_profile",
]


def _chunks(paths: Sequence[str | os.PathLike[str]], *, chunk_rows: int | None = None) -> Iterator[dict[str, Any]]:
    for path in paths:
        yield from iter_file(path) if chunk_rows is None else iter_file(path, chunk_rows=chunk_rows)


def profile_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    name: str = "train",
    target: str | None = None,
    exclude: Sequence[str] = (),
    hash_categories: bool = False,
    chunk_rows: int | None = None,
) -> dict[str, Any]:
    """The profile of one or more data files (CSV, TSV, Parquet, JSON lines), read in chunks."""
    sources = {os.fspath(path): file_sha256(path) for path in paths if os.path.isfile(path)}
    return build_profile(
        _chunks(paths, chunk_rows=chunk_rows), name=name, target=target, exclude=exclude, hash_categories=hash_categories, sources=sources
    )


def profile_frame(
    data: Any,
    *,
    name: str = "train",
    target: str | None = None,
    exclude: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    hash_categories: bool = False,
) -> dict[str, Any]:
    """The profile of in-memory data: a DataFrame, a mapping of columns, or a 2-D array with ``columns``."""
    return build_profile([frame_columns(data, columns)], name=name, target=target, exclude=exclude, hash_categories=hash_categories)


@dataclass(frozen=True)
class Reference:
    """The profile a check compares against, and where it came from (a run, or a profile file)."""

    profile: dict[str, Any]
    path: Path
    sha256: str
    run_id: str | None = None


def resolve_reference(reference: str, *, runs_dir: str | os.PathLike[str] = "runs", profile_name: str | None = None) -> Reference:
    """A profile file, or the profile a run stored: RUN is an id, a unique prefix, a run folder, ``latest``, or a profile file.

    A run's profile must still match the sha256 in its run.json. Raises ``DataError`` or
    ``RecordError`` naming what is missing.
    """
    from ..records import RECORD_FILE, find_record

    candidate = Path(reference)
    if candidate.is_file() and candidate.name != RECORD_FILE:
        profile = load_profile(candidate)
        return Reference(profile, candidate, file_sha256(candidate))
    if candidate.suffix == ".json" and not candidate.exists():
        raise DataError("no such profile file or run", path=reference)
    record = find_record(reference, runs_dir)
    directory = record.directory
    assert directory is not None
    try:
        raw = json.loads((directory / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RecordError(f"cannot read the run record: {exc}", path=os.fspath(directory / RECORD_FILE)) from None
    profiles = raw.get("profiles") or {}
    shown = os.fspath(directory / RECORD_FILE)
    if not isinstance(profiles, Mapping) or not profiles:
        raise DataError(
            f"run {record.id} stored no data profile",
            path=shown,
            hint="call nb2prod.profile(df) in the notebook, or pass a profile file as RUN",
        )
    if profile_name is None:
        if len(profiles) > 1 and "train" not in profiles:
            raise DataError(
                f"run {record.id} has several profiles ({', '.join(profiles)})", path=shown, hint="choose one with --profile NAME"
            )
        profile_name = "train" if "train" in profiles else next(iter(profiles))
    entry = profiles.get(profile_name)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
        raise DataError(f"run {record.id} has no profile {profile_name!r} (it has: {', '.join(profiles)})", path=shown)
    path = directory / entry["path"]
    if path.resolve().parent != directory.resolve():
        raise DataError(f"the profile path {entry['path']!r} leaves the run folder", path=shown)
    sha256 = entry.get("sha256")
    profile = load_profile(path, sha256=sha256 if isinstance(sha256, str) else None)
    return Reference(profile, path, sha256 if isinstance(sha256, str) else file_sha256(path), record.id)


def check_files(
    reference: Reference | Mapping[str, Any],
    paths: Sequence[str | os.PathLike[str]],
    options: CheckOptions | None = None,
    *,
    chunk_rows: int | None = None,
    engine: str = "nb2prod",
    reference_data: Sequence[str | os.PathLike[str]] = (),
) -> DriftResult:
    """Check data files against a reference profile; the result holds every column's metrics and the gate's decision.

    ``engine="evidently"`` judges the columns with Evidently's DataDriftPreset instead (an optional
    extra), against the raw reference data: ``reference_data``, else the files the profile was
    made from (``nb2prod.drift.engines`` says how they are found and when it refuses).
    """
    profile = reference.profile if isinstance(reference, Reference) else reference
    if engine == "evidently":
        from .engines import check_evidently, check_gates, evidently_reference, import_evidently

        check_gates((options or CheckOptions()).fail_on)  # a gate it cannot honour, then a missing evidently: before any file is read
        import_evidently()
        where = reference.path if isinstance(reference, Reference) else Path(".")
        raw = evidently_reference(profile, where, [os.fspath(path) for path in reference_data])
        return check_evidently(profile, raw, paths, options)
    if engine != "nb2prod":
        raise UsageError(f"unknown drift engine {engine!r}", hint="use nb2prod or evidently")
    if reference_data:
        raise UsageError("reference data is for --engine evidently", hint="nb2prod checks against the profile alone")
    return check_chunks(profile, _chunks(paths, chunk_rows=chunk_rows), options)
