"""What a run records about its surroundings: git state, installed packages, hashes of its input files."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
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
    return snapshot_files(parameters, folder).hashes


@dataclass(frozen=True)
class ParameterFiles:
    """The files that string parameters name, as they were when taken: which exist, their hashes and stat stamps.

    ``names`` are every parameter string that could be a path (whether or not a file is there), so
    that a file the run creates is found afterwards too.
    """

    folder: Path
    names: tuple[str, ...]
    hashes: dict[str, str]
    stamps: dict[str, tuple[int, int, int]]


def snapshot_files(parameters: Mapping[str, Any], folder: Path) -> ParameterFiles:
    """The files named by ``parameters`` (relative to ``folder``) before a run: see ``inputs_and_artifacts``."""
    names: dict[str, None] = {}  # a set that keeps the parameters' order
    hashes: dict[str, str] = {}
    stamps: dict[str, tuple[int, int, int]] = {}
    for name, value in parameters.items():
        if is_secret(name, value):
            continue
        for text in _strings(value):
            if text in names or not text.strip() or len(text) > _MAX_INPUT_NAME or "\0" in text or "\n" in text:
                continue
            names[text] = None
            state = _file_state(folder / text)
            if state is not None:
                stamps[text], hashes[text] = state
    return ParameterFiles(folder, tuple(names), hashes, stamps)


def inputs_and_artifacts(before: ParameterFiles) -> tuple[dict[str, str], dict[str, str]]:
    """``(inputs, artifacts)`` of a finished run, each path -> ``sha256:…`` (scenario 60).

    Inputs are files a parameter names that existed before the run and that the run left as they
    were (same inode, size and modification time). A file the run created, or wrote to (even with
    the same bytes, as a deterministic model file is), is an artifact, with its hash after the run:
    a notebook saving its model to ``model_path`` must not make every ``verify`` report that "the
    input differs". A file the run deleted stays an input. Only changed and new files are hashed again.
    """
    inputs = dict(before.hashes)
    artifacts: dict[str, str] = {}
    for text in before.names:
        path = before.folder / text
        try:
            stamp = _stamp(path)
        except OSError:
            continue  # gone, or not a file: what was read before (if anything) stays an input
        if stamp is None or before.stamps.get(text) == stamp:
            continue
        state = _file_state(path)
        if state is not None:
            artifacts[text] = state[1]
            inputs.pop(text, None)
    return inputs, artifacts


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is written: inode (an atomic replace), size and modification time; None if not a file."""
    found = path.stat()
    return (found.st_ino, found.st_size, found.st_mtime_ns) if stat.S_ISREG(found.st_mode) else None


def _file_state(path: Path) -> tuple[tuple[int, int, int], str] | None:
    """The stamp and ``sha256:…`` of the regular file at ``path``; None when there is none or it cannot be read."""
    try:
        stamp = _stamp(path)
        return None if stamp is None else (stamp, "sha256:" + _file_sha256(path))
    except (OSError, ValueError):  # unreadable, or not a path this system accepts: not a file we can record
        return None


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
    """Every installed distribution, name -> version, sorted by name (the first on ``sys.path`` wins).

    Reading every distribution's metadata costs ~0.07 s of CPU, paid by every run of a sweep in the
    same process. The result is kept while ``sys.path`` and the modification time of each of its
    folders stay the same: installing, upgrading or removing a distribution adds or removes its
    ``.dist-info`` folder in a ``sys.path`` folder (changing that folder's time), so a ``%pip
    install`` between two runs is seen by the second, as a fresh scan would see it.
    """
    key = _path_stamps()
    cached = _PACKAGES.get(key)
    if cached is None:
        cached = _scan_packages()
        _PACKAGES.clear()
        _PACKAGES[key] = cached
    return dict(cached)


_PACKAGES: dict[tuple[tuple[str, int | None], ...], dict[str, str]] = {}


def _path_stamps() -> tuple[tuple[str, int | None], ...]:
    """Each ``sys.path`` entry with its modification time (None when it is missing): what the installed packages depend on."""
    stamps = []
    for entry in sys.path:
        try:
            stamps.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            stamps.append((entry, None))
    return tuple(stamps)


def _scan_packages() -> dict[str, str]:
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
