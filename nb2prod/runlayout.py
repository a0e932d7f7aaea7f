"""What a run folder looks like on disk, so that the commands that rewrite notebooks leave run logs alone.

``nb2prod run`` writes ``<runs dir>/<notebook stem>/<UTC timestamp>-<hex id>/`` holding
``output.ipynb`` (the executed notebook: the run's log) and ``run.json`` (the record, written when
the run ends). ``records.py`` owns that format; these names sit here, below the notebook I/O layer,
because discovery and the notebook writer must recognise a run's files without importing the run
layer (imports flow one way). ``tests/test_runlayout.py`` keeps the two in step.

A run's executed notebook is recognised by where it is, not by a setting: the runs folder can be
anywhere (``--runs-dir``), but every run folder holds ``run.json`` or, while its run is going or
after the run was killed, is named like a run id. A copy outside a run folder is recognised by
its papermill metadata, which names the run folder it was written to.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

#: The runs folder ``nb2prod run`` uses without ``--runs-dir``, relative to where it runs.
DEFAULT_RUNS_DIR = "runs"
RECORD_FILE = "run.json"
OUTPUT_FILE = "output.ipynb"
_RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]+$")
_SCHEMA_PREFIX = "nb2prod.run/"


def is_run_folder(folder: str | os.PathLike[str], names: Collection[str] | None = None) -> bool:
    """True when ``folder`` is one run's folder: named like a run id, or holding an nb2prod ``run.json``.

    ``names`` are the folder's entries when the caller has listed them already (saves a ``stat``).
    The record is read (a few kilobytes, checked to be a regular file first) only when there is one: a ``run.json`` of the user's own
    does not make their folder a run folder.
    """
    path = Path(folder)
    if _RUN_ID.match(path.name):
        return True
    if names is not None and RECORD_FILE not in names:
        return False
    record = path / RECORD_FILE
    try:
        if not stat.S_ISREG(record.stat().st_mode):
            return False
        data = json.loads(record.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and str(data.get("schema", "")).startswith(_SCHEMA_PREFIX)


def is_run_output(path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None) -> bool:
    """True when the notebook at ``path`` is a run's executed notebook (``output.ipynb`` of a run folder).

    The path is checked as given and through its symlinks (a link to a run's output is one too).
    ``metadata`` (the notebook's) also recognises a run output moved out of its run folder:
    papermill's ``output_path`` names the run folder it was written to.
    """
    given = Path(path)
    candidates = [given]
    real = Path(os.path.realpath(given))
    if real != given:
        candidates.append(real)
    return any(candidate.name == OUTPUT_FILE and is_run_folder(candidate.parent) for candidate in candidates) or (
        given.name == OUTPUT_FILE and _written_by_a_run(metadata)
    )


def _written_by_a_run(metadata: Mapping[str, Any] | None) -> bool:
    papermill = (metadata or {}).get("papermill")
    written_to = papermill.get("output_path") if isinstance(papermill, Mapping) else None
    if not isinstance(written_to, str):
        return False
    parts = written_to.replace("\\", "/").split("/")
    return len(parts) >= 2 and parts[-1] == OUTPUT_FILE and _RUN_ID.match(parts[-2]) is not None
