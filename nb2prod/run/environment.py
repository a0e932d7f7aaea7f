"""What a run records about its surroundings: git state, installed packages, hashes of its input files."""

from __future__ import annotations

import functools
import hashlib
import platform
import subprocess
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..secrets import is_secret

_MAX_INPUT_NAME = 4096


def git_state(folder: Path) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git repository holding ``folder``; None outside one.

    ``dirty`` means tracked files differ from the commit; untracked files do not count (as for
    setuptools-scm), so the runs folder itself never makes a checkout dirty.
    """
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    lines = result.stdout.splitlines()
    oid = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
    return {"commit": None if oid in (None, "(initial)") else oid, "dirty": any(not line.startswith("#") for line in lines)}


def input_hashes(parameters: Mapping[str, Any], folder: Path) -> dict[str, str]:
    """``sha256:…`` of each file named by a string parameter (or a string in a list/dict) that exists."""
    found: dict[str, str] = {}
    for name, value in parameters.items():
        if is_secret(name, value):
            continue
        for text in _strings(value):
            if text in found or not text.strip() or len(text) > _MAX_INPUT_NAME or "\0" in text or "\n" in text:
                continue
            path = folder / text
            try:
                if path.is_file():
                    found[text] = "sha256:" + _file_sha256(path)
            except OSError:  # unreadable, or not a path this system accepts: not an input we can record
                continue
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(functools.partial(handle.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def installed_packages() -> dict[str, str]:
    """Every installed distribution, name -> version, sorted by name (the first on ``sys.path`` wins)."""
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name and name not in found:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def _environment(packages: Future[dict[str, str]] | None) -> dict[str, Any]:
    """Python, platform and (once known: ``packages`` is being read in the background) the installed packages."""
    found = {"python": platform.python_version(), "platform": platform.platform()}
    return found if packages is None else {**found, "packages": packages.result()}
