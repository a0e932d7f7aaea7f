"""The exports a project declares in ``[[tool.nb2prod.export]]``, run or checked together.

``nb2prod export`` without notebooks, and the ``nb2prod-export-check`` pre-commit hook
(``nb2prod export --check``), work from this list: each entry names its notebooks and where its
package lives, so a commit can be refused when a notebook changed and its package was not
exported again. Paths in an entry are relative to the pyproject.toml's folder, and the exports
run there, so their output does not depend on where the command was started.

An entry can carry the export's data options (``profile``, ``capture-sample``, ``redact-columns``,
``reference-run``): they go into the export exactly as the flags of those names do, so the check
re-renders the package its entry describes. The runs they name are looked up in the project's
``runs`` folder (or the ``runs_dir`` given), at every export and every check: ``reference-run =
"latest"`` therefore follows the newest run, and a new run makes the package stale (its T13 keeps
the old run's metrics) until it is exported again. That is deliberate, a check that the package
tests against the newest run; pin a run id to keep the package still while runs come and go.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, ExportEntry, load_config
from ..errors import ConfigError
from . import ExportResult

__all__ = ["ConfiguredExport", "export_configured", "refresh_command"]


@dataclass(frozen=True)
class ConfiguredExport:
    """One entry of ``[[tool.nb2prod.export]]`` and what exporting (or checking) it found."""

    entry: ExportEntry
    root: Path
    result: ExportResult

    @property
    def command(self) -> str:
        """The shell command that refreshes this package (what the pre-commit hook tells the user to run)."""
        return refresh_command(self.entry, root=self.root)


def refresh_command(entry: ExportEntry, *, root: Path | None = None) -> str:
    """``nb2prod export NOTEBOOKS -o OUT ...``: the export of ``entry``, run in the project folder ``root``.

    When ``root`` is given and is not the current folder, the command starts with ``cd ROOT &&``.
    """
    words = ["nb2prod", "export", *entry.notebooks]
    if entry.out is not None:
        words += ["-o", entry.out]
    if entry.into is not None:
        words += ["--into", entry.into]
    if entry.name is not None:
        words += ["--name", entry.name]
    if entry.pin != "compatible":
        words += ["--pin", entry.pin]
    if entry.all_cells:
        words.append("--all")
    if entry.template_dir is not None:
        words += ["--template-dir", entry.template_dir]
    if entry.reference_run is not None:
        words += ["--reference-run", entry.reference_run]
    if entry.profile is not None:
        words += ["--profile", entry.profile]
    if entry.capture_sample is not None:
        words += ["--capture-sample", str(entry.capture_sample)]
    for column in entry.redact_columns:
        words += ["--redact-column", column]
    command = shlex.join(words)
    if root is not None and Path(os.path.abspath(root)) != Path.cwd():
        command = f"cd {shlex.quote(os.path.relpath(root))} && {command}"
    return command


def export_configured(
    *,
    config: Config | None = None,
    check: bool = False,
    diff: bool = False,
    force: bool = False,
    formatter: str | None = None,
    audit_dir: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
) -> list[ConfiguredExport]:
    """Export (or with ``check``/``diff`` compare) every package of ``[[tool.nb2prod.export]]``, in the order listed.

    ``config`` defaults to the configuration nearest the current folder. The exports run in the
    pyproject.toml's folder, with the paths as the entries write them: a generated file names its
    notebook as given, so the package is the same bytes whichever folder this is called from. (This
    changes the process's working folder for the duration; do not call it from several threads.)
    Paths in the results are relative to that folder. Raises ``ConfigError`` when there is no
    pyproject.toml or it lists no export, and what :func:`nb2prod.export.export` raises for an entry
    that cannot be exported (the entries before it are exported already). ``audit_dir`` (relative to
    the current folder) is the runs folder whose audit trail records each export that writes.
    ``runs_dir`` (relative to the current folder; default the ``runs`` folder next to the
    pyproject.toml) is where an entry's ``reference-run`` and a ``profile`` naming a run are found.
    """
    from . import export  # the function; the name is this package's, made callable

    config = config if config is not None else load_config()
    if not config.exports or config.root is None:
        where = os.fspath(config.source) if config.source is not None else None
        raise ConfigError(
            "no exports are configured in [[tool.nb2prod.export]]",
            path=where,
            hint='add one: [[tool.nb2prod.export]] with notebooks = ["notebooks/train.ipynb"] and out = "build/train"',
        )
    root = config.root
    audit_root = os.path.abspath(audit_dir) if audit_dir is not None else None
    runs = os.path.abspath(runs_dir) if runs_dir is not None else None
    done = []
    with _working_folder(root):
        for entry in config.exports:
            where = runs if runs is not None else _DEFAULT_RUNS_DIR
            profile = ml_profile(entry.profile or entry.reference_run, where, required=entry.profile is not None)
            result = export(
                list(entry.notebooks),
                out=entry.out,
                into=entry.into,
                name=entry.name,
                check=check,
                diff=diff,
                force=force,
                pin=entry.pin,
                template_dir=entry.template_dir,
                all_cells=entry.all_cells,
                formatter=formatter,
                audit_dir=audit_root,
                reference_run=ml_reference(entry.reference_run, where) if entry.reference_run is not None else None,
                data_profile=profile[0] if profile is not None else None,
                profile_origin=profile[1] if profile is not None else "",
                capture_sample=entry.capture_sample,
                redact=entry.redact_columns,
            )
            done.append(ConfiguredExport(entry, root, result))
    return done


#: Where ``nb2prod run`` records runs by default (nb2prod.records.DEFAULT_RUNS_DIR), relative to the project folder.
_DEFAULT_RUNS_DIR = "runs"


def ml_reference(run: str, runs_dir: str) -> Any:
    """The run record ``run`` as T13's reference: its numeric metrics, parameters (secrets left out) and input hashes.

    What ``nb2prod export --reference-run RUN`` and an entry's ``reference-run`` pass to ``export``.
    """
    from ..records import find_record
    from ..secrets import REDACTED
    from ..verify import DEFAULT_ATOL, DEFAULT_RTOL
    from .mltests import Reference

    record = find_record(run, runs_dir)
    metrics = {name: value for name, value in record.metrics.items() if isinstance(value, (int, float)) and not isinstance(value, bool)}
    parameters = {name: value for name, value in record.parameters.items() if value != REDACTED}
    return Reference(record.id, metrics, parameters, dict(record.inputs), rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL)


def ml_profile(reference: str | None, runs_dir: str, *, required: bool) -> tuple[Any, str] | None:
    """The data profile of ``reference`` (a profile file or a run) and where it came from, as ``nb2prod export --profile`` reads it.

    A run that stored no profile gives None, unless ``required`` (``--profile``, or an entry's ``profile``).
    """
    from ..drift import resolve_reference
    from ..errors import DataError

    if reference is None:
        return None
    try:
        found = resolve_reference(reference, runs_dir=runs_dir)
    except DataError:
        if required:
            raise
        return None
    origin = f"of run {found.run_id}" if found.run_id else os.fspath(found.path)
    return found.profile, origin


@contextmanager
def _working_folder(folder: Path) -> Iterator[None]:
    """Run the block in ``folder`` and come back (``contextlib.chdir`` is Python 3.11+)."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)
