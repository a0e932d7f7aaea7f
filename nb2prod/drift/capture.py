"""``nb2prod.profile(df)``: how a notebook hands its training data's profile to the run record.

Like ``nb2prod.record``, the profile is displayed as an output with nb2prod's profile MIME type
(and a one-line text fallback), so it lands in the executed notebook that papermill saves; the
run then writes it to ``profile-<name>.json`` in its folder and points to it from ``run.json``
with its sha256. Run by hand, the cell shows the one line. This module imports nothing heavy:
numpy is imported when a profile is computed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

PROFILE_MIME = "application/vnd.nb2prod.profile+json"


def profile(
    data: Any,
    name: str = "train",
    target: str | None = None,
    *,
    exclude: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    hash_categories: bool = False,
) -> dict[str, Any]:
    """Profile ``data`` (a DataFrame, a mapping of columns, or a 2-D array with ``columns``) for later drift checks.

    Inside a notebook run by ``nb2prod run`` the profile is stored with the run; returns the
    profile (a JSON-ready dict) either way. ``hash_categories`` keeps category values out of the
    record (their sha256 is stored instead).
    """
    import json

    from . import profile_frame
    from .profile import profile_bytes

    computed = profile_frame(data, name=name, target=target, exclude=exclude, columns=columns, hash_categories=hash_categories)
    result: dict[str, Any] = json.loads(profile_bytes(computed))  # what will be stored: JSON values only
    try:
        from IPython import get_ipython
    except ImportError:
        return result
    if get_ipython() is None:
        return result
    from IPython.display import display

    summary = f"profile {name!r}: {result['rows']:,} rows x {len(result['columns'])} columns"
    display({PROFILE_MIME: result, "text/plain": summary}, raw=True)
    return result


def recorded_profiles(notebook: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The profiles an executed notebook stored, by name (the last one of a name wins)."""
    profiles: dict[str, dict[str, Any]] = {}
    for cell in notebook.get("cells", ()):
        for output in cell.get("outputs", ()) if cell.get("cell_type") == "code" else ():
            data = output.get("data") or {}
            found = data.get(PROFILE_MIME)
            if isinstance(found, Mapping) and isinstance(found.get("name"), str):
                profiles[found["name"]] = dict(found)
    return profiles


def store_profiles(
    notebook: Mapping[str, Any], directory: str | os.PathLike[str], *, secrets: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """Write each profile the executed notebook stored to ``profile-<name>.json`` in the run folder.

    Returns what ``run.json`` keeps: ``{name: {"path", "sha256", "rows", "columns"}}``. The run's
    ``secrets`` (and credential-shaped text) are masked in the profile as in the rest of the
    record; a profile whose name or content is not valid (an output forged by hand) is left out.
    """
    from ..errors import UsageError
    from ..secrets import Masker
    from .profile import check_name, profile_problem, write_profile

    masker = Masker(secrets)
    stored: dict[str, dict[str, Any]] = {}
    for name, recorded in recorded_profiles(notebook).items():
        found = masker.data(recorded)
        try:
            check_name(name)
        except UsageError:
            continue
        if profile_problem(found) is not None:
            continue
        filename = f"profile-{name}.json"
        digest = write_profile(found, Path(directory) / filename)
        stored[name] = {"path": filename, "sha256": digest, "rows": found.get("rows"), "columns": len(found["columns"])}
    return stored
