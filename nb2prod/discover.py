"""Turn the paths a user typed into the notebooks a command works on.

Files are taken as given (if they are notebooks); folders are searched for ``.ipynb`` files,
skipping hidden folders, ``.ipynb_checkpoints``, virtual environments and what
``[tool.nb2prod] exclude`` lists. Text notebooks (``.py``, ``.md``) are taken only when named
explicitly: inside a folder nearly every ``.py`` file is a module, not a notebook.

``exclude`` applies to files named on the command line too (pre-commit names every file it
passes), unlike black's default; patterns with a ``/`` match from the project root, as in
``.gitignore``.

nb2prod's own outputs are not the user's notebooks: folders skip the default runs folder (``runs/``
in the project root and in the current folder) and a run's executed notebook wherever its runs
folder is (see ``runlayout``), so ``strip .`` never empties a run's log. Only regular files are
notebooks: a FIFO, socket or device named ``*.ipynb`` is skipped in folders (opening a FIFO would
wait forever for a writer) and refused when named. A symlink loop is reported, and the other
paths are still processed.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Nb2prodError, NotebookReadError
from .notebook import NOTEBOOK_EXTENSIONS, is_notebook_path, not_regular_error, symlink_loop_error
from .runlayout import DEFAULT_RUNS_DIR, OUTPUT_FILE, is_run_folder

SKIPPED_FOLDERS = frozenset({".ipynb_checkpoints", "__pycache__", "node_modules", "site-packages"})


@dataclass
class Discovery:
    """The notebooks found, as ``(display path, path)`` pairs, and the paths that were refused."""

    notebooks: list[tuple[str, Path]] = field(default_factory=list)
    errors: list[Nb2prodError] = field(default_factory=list)


def discover(paths: Sequence[str | os.PathLike[str]], *, exclude: Iterable[str] = (), root: Path | None = None) -> Discovery:
    """Find the notebooks under ``paths`` in a stable order, each once.

    ``exclude`` holds glob patterns matched against a path relative to ``root`` (the project
    folder) and against each of its parts, like ruff's and black's ``exclude``.
    """
    result = Discovery()
    seen: set[Path] = set()
    patterns = tuple(exclude)
    base = (root or Path.cwd()).resolve()
    runs_folders = {base / DEFAULT_RUNS_DIR}
    with contextlib.suppress(OSError):  # the current folder may have been deleted
        runs_folders.add(Path.cwd().resolve() / DEFAULT_RUNS_DIR)
    folders: dict[Path, Path] = {}

    def add(shown: str, path: Path) -> None:
        try:
            key = resolve_file(path, folders)
        except RuntimeError:  # Path.resolve's "Symlink loop" before Python 3.13
            result.errors.append(symlink_loop_error(shown))
            return
        except OSError as exc:
            loop = exc.errno == errno.ELOOP
            result.errors.append(
                symlink_loop_error(shown) if loop else NotebookReadError(f"cannot read: {exc.strerror or exc}", path=shown)
            )
            return
        if key not in seen and not _excluded(key, patterns, base):
            seen.add(key)
            result.notebooks.append((shown, path))

    for given in paths:
        shown = os.fspath(given)
        path = Path(given)
        try:
            mode: int | None = path.stat().st_mode
        except OSError as exc:
            mode = None
            if exc.errno == errno.ELOOP:
                result.errors.append(symlink_loop_error(shown))
                continue
        if mode is not None and stat.S_ISDIR(mode):
            for found in _walk(path, patterns, base, runs_folders):
                add(os.path.normpath(os.path.join(shown, os.path.relpath(found, path))), found)
        elif (mode is not None or path.is_symlink()) and not is_notebook_path(path):
            kinds = ", ".join(NOTEBOOK_EXTENSIONS)
            result.errors.append(NotebookReadError("not a notebook file", path=shown, hint=f"nb2prod reads {kinds}"))
        elif mode is not None and not stat.S_ISREG(mode):
            result.errors.append(not_regular_error(mode, shown))
        elif mode is not None or path.is_symlink():  # a broken link is reported by the reader
            add(shown, path)
        else:
            result.errors.append(NotebookReadError("no such file or folder", path=shown, hint="check the path"))
    return result


def resolve_file(path: Path, folders: dict[Path, Path]) -> Path:
    """``path.resolve()``, resolving each folder once (``folders`` caches them): one ``lstat`` per file, not one per path part.

    Resolving a path checks every part of it for a symlink; a few hundred notebooks in a deep
    folder made that a noticeable part of an export. A file that is a symlink is resolved whole.
    """
    if path.name in ("", ".", "..") or path.is_symlink():
        return path.resolve()
    parent = path.parent
    real = folders.get(parent)
    if real is None:
        real = folders[parent] = parent.resolve()
    return real / path.name


def _walk(folder: Path, patterns: tuple[str, ...], base: Path, runs_folders: set[Path]) -> Iterable[Path]:
    for current, folders, files in os.walk(folder):
        here = Path(current)
        folders[:] = sorted(
            name
            for name in folders
            if not name.startswith(".")
            and name not in SKIPPED_FOLDERS
            and not (here / name / "pyvenv.cfg").exists()
            and not _excluded(real := (here / name).resolve(), patterns, base)
            and real not in runs_folders
        )
        run_folder = OUTPUT_FILE in files and is_run_folder(here, files)
        for name in sorted(files):
            if not name.lower().endswith(".ipynb") or name.startswith(".") or (run_folder and name == OUTPUT_FILE):
                continue
            path = here / name
            try:
                if not stat.S_ISREG(path.stat().st_mode):
                    continue  # a FIFO, socket or device: never opened, not a notebook
            except OSError:
                pass  # a broken link or a link loop: taken, so that it is reported
            yield path


def _excluded(path: Path, patterns: tuple[str, ...], base: Path) -> bool:
    if not patterns:
        return False
    try:
        relative = path.relative_to(base).as_posix()
    except ValueError:
        relative = path.as_posix()
    parts = relative.split("/")
    return any(fnmatch.fnmatch(relative, pattern) or any(fnmatch.fnmatch(part, pattern) for part in parts) for pattern in patterns)
