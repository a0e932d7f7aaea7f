"""What the runs report shows about production: the promoted runs and the history of drift decisions.

Both come from the runs folder (``stages.json`` and the audit trail, ``nb2prod.audit``), flattened
here into rows of plain strings and numbers so the template never reaches into an audit line whose
fields it cannot trust to be there. A trail or stages file that cannot be read leaves the section
out rather than the page unwritten (``nb2prod audit --verify`` is where it is diagnosed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import RecordError

#: The page shows at most this many drift decisions, the newest.
DRIFT_LIMIT = 200


def drift_history(runs_dir: str | os.PathLike[str] | None) -> tuple[dict[str, Any], ...]:
    """The latest drift decisions of the runs folder's audit trail, newest first, as rows for the page."""
    from ..audit import entries

    if runs_dir is None:
        return ()
    try:
        lines = [line for line in entries(runs_dir) if line.get("event") == "drift"]
    except RecordError:
        return ()
    return tuple(_row(line) for line in reversed(lines[-DRIFT_LIMIT:]))


def _row(line: Mapping[str, Any]) -> dict[str, Any]:
    reference = line.get("reference") if isinstance(line.get("reference"), Mapping) else {}
    summary = line.get("summary") if isinstance(line.get("summary"), Mapping) else {}
    actor = line.get("actor") if isinstance(line.get("actor"), Mapping) else {}
    current = line.get("current") if isinstance(line.get("current"), list) else []
    failed = line.get("failed") if isinstance(line.get("failed"), list) else []
    return {
        "at": str(line.get("at", "")),
        "reference": str(reference.get("run") or reference.get("path") or ""),
        "profile": str(reference.get("profile") or ""),
        "data": ", ".join(str(item.get("path")) for item in current if isinstance(item, Mapping)),
        "rows": line.get("rows") if isinstance(line.get("rows"), int) else None,
        "decision": str(line.get("decision", "")),
        "failed": ", ".join(str(name) for name in failed),
        "counts": " / ".join(str(summary.get(status, 0)) for status in ("fail", "warn", "ok")),
        "who": str(actor.get("user", "")),
        "seq": line.get("seq"),
    }


def promoted(runs_dir: str | os.PathLike[str] | None) -> dict[str, dict[str, str]]:
    """Stage -> the run promoted to it (id, notebook, when, by whom), for the page."""
    from ..stages import read_stages

    if runs_dir is None:
        return {}
    try:
        stages = read_stages(runs_dir)
    except RecordError:
        return {}
    return {
        stage: {
            "run": str(pointer.get("run", "")),
            "notebook": str(pointer.get("notebook", "")),
            "at": str(pointer.get("at", "")),
            "by": str((pointer.get("by") or {}).get("user", "")) if isinstance(pointer.get("by"), Mapping) else "",
        }
        for stage, pointer in stages.items()
    }
