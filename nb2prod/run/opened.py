"""The data files a run's notebook opened, seen from inside its kernel, as the record's ``inputs`` and ``artifacts``.

A notebook that reads ``pd.read_csv("data/train.csv")`` or saves ``joblib.dump(model, "model.pkl")``
with a literal path names no file in its parameters; the files are found where they are opened.
An ipykernel kernel is started with ``open_hook`` run before its first cell (``with_open_hook``,
through ``--IPKernelApp.code_to_run``: the notebook is not changed, and ``exec_lines`` a user
configured in an IPython profile stay theirs). The hook logs each path the kernel opens, with
whether it was opened for writing, to a temporary file; ``read_opened`` collects it when the run
ends and ``opened_files`` keeps the data files among them:

- regular files under the run's working folder or the git repository holding the notebook (as
  paths relative to the working folder, as parameter files are recorded);
- not the notebook itself, nothing under the runs folder, no hidden file or folder (``.git``,
  ``.venv``, ``.env``), no ``__pycache__``, ``site-packages``, ``node_modules``, and nothing in a
  virtual environment (a folder holding ``pyvenv.cfg``) or nb2prod's own ``sys.prefix``;
- a file opened for writing is an artifact, any other an input; both hashed after the run, files
  larger than ``MAX_HASHED_BYTES`` noted by size and modification time instead.

Other kernels (R, Julia, a non-IPython Python kernel) are started as before and record only the
files their parameters name. Files opened by native code that bypasses Python's ``open``
(pyarrow's or HDF5's own readers) or by processes the notebook starts are not seen.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from .environment import _file_sha256

#: The hook script run in the kernel (standard library only).
HOOK = Path(__file__).resolve().with_name("open_hook.py")
#: Files larger than this are not hashed (a second's read per GB): their size and modification time are recorded.
MAX_HASHED_BYTES = 1 << 30
_SKIPPED_NAMES = frozenset({"__pycache__", "site-packages", "dist-packages", "node_modules"})
_LAUNCHERS = frozenset({"ipykernel_launcher", "ipykernel", "ipykernel_launcher.py"})


def is_ipykernel(command: list[str]) -> bool:
    """Whether the kernel command starts ipykernel (``python -m ipykernel_launcher -f …``), which runs ``code_to_run``."""
    return any(os.path.basename(part) in _LAUNCHERS for part in command)


def with_open_hook(command: list[str], logs: list[str]) -> list[str]:
    """``command`` running ``open_hook`` before the first cell when it starts ipykernel; the new log is added to ``logs``.

    Any other command is returned as it is. Creating the log can fail (no temporary folder): the
    run then goes on without it.
    """
    if not is_ipykernel(command):
        return command
    import tempfile

    try:
        handle, log = tempfile.mkstemp(prefix="nb2prod-opened-", suffix=".log")
    except OSError:
        return command
    os.close(handle)
    logs.append(log)
    code = f"__import__('runpy').run_path({os.fspath(HOOK)!r}, {{'NB2PROD_OPENED_LOG': {log!r}}});"
    return [*command, f"--IPKernelApp.code_to_run={code}"]


def read_opened(logs: Iterable[str]) -> dict[str, bool]:
    """Absolute path -> whether it was opened for writing, from the hook's ``logs``, which are removed."""
    opened: dict[str, bool] = {}
    for log in logs:
        try:
            with open(log, "rb") as handle:
                lines = handle.read().decode("utf-8", "surrogateescape").splitlines()
        except OSError:
            lines = []
        discard([log])
        for line in lines:
            kind, _, path = line.partition(" ")
            if kind in ("r", "w") and path:
                opened[path] = opened.get(path, False) or kind == "w"
    return opened


def discard(logs: Iterable[str]) -> None:
    """Remove the hook's log files (those of a kernel no run used, or already read)."""
    for log in logs:
        with contextlib.suppress(OSError):
            os.unlink(log)


def opened_files(
    opened: Mapping[str, bool], *, cwd: Path, notebook: Path, runs_dir: Path, known: Iterable[Path] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """``(inputs, artifacts)``, each path relative to ``cwd`` -> ``sha256:…``, of the data files among ``opened``.

    ``known`` are files already recorded (named by parameters): they are left out.
    """
    folder = Path(os.path.realpath(cwd))
    roots = [folder]
    repository = _repository(Path(os.path.realpath(notebook)).parent)
    if repository is not None and repository != folder:
        roots.append(repository)
    left_out = {os.path.realpath(notebook), *(os.path.realpath(path) for path in known)}
    excluded = [os.path.realpath(runs_dir), *{os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}]
    venvs: dict[str, bool] = {}
    inputs: dict[str, str] = {}
    artifacts: dict[str, str] = {}
    for path, written in sorted(opened.items()):
        try:
            kept = _kept(os.path.normpath(path), roots, left_out, excluded, venvs)
            digest = None if kept is None else _digest(kept)
            if digest is not None:
                (artifacts if written else inputs)[Path(os.path.relpath(kept, folder)).as_posix()] = digest
        except (OSError, ValueError):  # a path this system cannot take (another drive, a NUL): not a file to record
            continue
    return inputs, artifacts


def _kept(path: str, roots: list[Path], left_out: set[str], excluded: list[str], venvs: dict[str, bool]) -> str | None:
    """``path`` if it may be a data file of the run (see the module's docstring), else None."""
    root = next((root for root in roots if _under(path, os.fspath(root))), None)
    if root is None or path in left_out or os.path.realpath(path) in left_out or any(_under(path, other) for other in excluded):
        return None
    parts = Path(path).relative_to(root).parts
    if any(part.startswith(".") or part in _SKIPPED_NAMES for part in parts) or _in_venv(root, parts, venvs):
        return None
    return path


def _digest(path: str) -> str | None:
    """``sha256:…`` of the regular file at ``path``, a note of its size and time past ``MAX_HASHED_BYTES``; None if none."""
    try:
        found = os.stat(path)
        if not stat.S_ISREG(found.st_mode):
            return None
        if found.st_size > MAX_HASHED_BYTES:
            modified = datetime.fromtimestamp(found.st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            return f"not hashed: {found.st_size} bytes, modified {modified} (over the hashing limit of {MAX_HASHED_BYTES} bytes)"
        return "sha256:" + _file_sha256(Path(path))
    except (OSError, ValueError):
        return None


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _repository(folder: Path) -> Path | None:
    """The top of the git repository holding ``folder`` (a ``.git`` folder or file there), without running git."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _in_venv(root: Path, parts: tuple[str, ...], venvs: dict[str, bool]) -> bool:
    """Whether a folder between ``root`` and the file holds ``pyvenv.cfg`` (a virtual environment); ``venvs`` caches it."""
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        key = os.fspath(folder)
        if key not in venvs:
            venvs[key] = (folder / "pyvenv.cfg").is_file()
        if venvs[key]:
            return True
    return False
