"""Stages: which run's model is in production (or any other named stage), and promoting a run to one.

``<runs dir>/stages.json`` maps a stage name to the run promoted to it::

    {"schema": "nb2prod.stages/1",
     "stages": {"production": {"run": "20261128T101500Z-3fa2c1", "notebook": "train.ipynb",
                               "record_sha256": "…", "at": "…", "by": {"user": …, "host": …}}}}

It is a pointer, rewritten atomically; the history of promotions is the audit trail, where each
promotion is one line written after the pointer (the pointer changes only under the trail's lock,
so two promotions at once cannot interleave). A stage name resolves wherever a run is named
(``nb2prod runs show production``, ``nb2prod drift production DATA``), and ``nb2prod drift`` checks
against the production run when no run is given.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .errors import RecordError, UsageError

SCHEMA = "nb2prod.stages/1"
STAGES_FILE = "stages.json"
DEFAULT_STAGE = "production"
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def stages_path(runs_dir: str | os.PathLike[str]) -> Path:
    """Where the stage pointers of a runs folder live."""
    return Path(runs_dir) / STAGES_FILE


def check_stage_name(name: str) -> str:
    """``name`` if it can name a stage (lower-case letters, digits, ``-`` and ``_``, a letter first), else ``UsageError``."""
    if not _STAGE_NAME.match(name):
        raise UsageError(f"'{name}' cannot name a stage", hint="use lower-case letters, digits, - and _, starting with a letter")
    return name


def read_stages(runs_dir: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The stages of a runs folder: name -> pointer (``{}`` when nothing was ever promoted)."""
    path = stages_path(runs_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RecordError(f"cannot read the stages: {exc}", path=os.fspath(path), hint="repair it or promote the run again") from None
    stages = data.get("stages") if isinstance(data, dict) and data.get("schema") == SCHEMA else None
    if not isinstance(stages, dict) or not all(isinstance(v, dict) and isinstance(v.get("run"), str) for v in stages.values()):
        raise RecordError("damaged stages file", path=os.fspath(path), hint="repair it or promote the run again")
    return stages


def stage_run(name: str, runs_dir: str | os.PathLike[str]) -> str | None:
    """The id of the run promoted to stage ``name``, or None when that name is not a promoted stage."""
    if not _STAGE_NAME.match(name) or not stages_path(runs_dir).exists():
        return None
    pointer = read_stages(runs_dir).get(name)
    return pointer["run"] if pointer else None


def promote(reference: str, stage: str = DEFAULT_STAGE, *, runs_dir: str | os.PathLike[str] = "runs") -> dict[str, Any]:
    """Promote the run ``reference`` names to ``stage``: rewrite the pointer, then append the audit line; return the line.

    Only a finished run whose status is ``ok`` can be promoted. The run record's sha256 goes into
    the pointer and the line, so a record edited after its promotion shows.
    """
    from . import audit
    from .atomic import atomic_write
    from .records import RECORD_FILE, find_record
    from .secrets import redact

    check_stage_name(stage)
    record = find_record(reference, runs_dir)
    if record.status != "ok":
        raise UsageError(
            f"run {record.id} has status {record.status}; only a run that finished ok can be promoted",
            path=os.fspath(runs_dir),
            hint="promote a run that succeeded",
        )
    assert record.directory is not None
    record_sha256 = audit.sha256_file(record.directory / RECORD_FILE)
    with audit.locked(runs_dir) as log:
        stages = read_stages(runs_dir)
        previous = stages.get(stage, {}).get("run")
        pointer = {
            "run": record.id,
            "notebook": record.notebook,
            "path": os.fspath(record.directory),
            "record_sha256": record_sha256,
            "at": audit.now(),
            "by": audit.actor(),
        }
        stages[stage] = pointer
        document = {"schema": SCHEMA, "stages": dict(sorted(stages.items()))}
        atomic_write(stages_path(runs_dir), (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        return log.append(
            "promote",
            {
                "stage": stage,
                "run": {
                    "id": record.id,
                    "notebook": record.notebook,
                    "notebook_sha256": record.notebook_sha256,
                    "parameters": redact(record.parameters),
                    "metrics": record.metrics,
                    "record_sha256": record_sha256,
                },
                "previous": previous,
            },
            secrets=record.secrets,
        )
