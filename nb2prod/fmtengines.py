"""``fmt``'s formatter drivers: ruff in batched subprocesses, black in process, then verify and check stability.

A :class:`_Job` holds the cells of one notebook; :func:`_format_jobs` runs the chosen formatter
over all jobs at once, verifies every changed cell (:mod:`nb2prod.fmtverify`) and runs a second
pass to check the result is stable. Why ruff runs the way it does is in :mod:`nb2prod.formatting`.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .config import FORMATTERS, find_pyproject
from .errors import ConfigError, Nb2prodError, UsageError
from .fmtverify import _python_of, _same_code, _tree_view, _View
from .lint.ruff import find_ruff_config, ruff_executable
from .model import source_text

_MINIMAL_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


_MAX_ARGUMENTS = 24_000  # characters of file names per ruff process


_REPORT = "this is a formatter bug; please report it to the formatter's project"


class FormatError(Nb2prodError):
    """Formatting a notebook failed or was refused (the formatter failed, or its result did not verify)."""


@dataclass
class _Job:
    """The cells of one notebook handed to a formatter, and what came back."""

    start: Path  # where the formatter's configuration is looked up from
    sources: dict[int, str]  # cell index -> source to format
    formatted: dict[int, str] = field(default_factory=dict)  # cell index -> new source, changed cells only
    notes: list[str] = field(default_factory=list)
    error: Nb2prodError | None = None
    views: dict[int, _View] = field(default_factory=dict)  # cell index -> _python_of(source), when known
    plain: bool = False  # the cells are plain Python known to parse (see format_cells)
    trees: Mapping[int, ast.Module] = field(default_factory=dict)  # cell index -> the AST of its source, when the caller has it


def _verify(job: _Job) -> None:
    """Refuse (set ``job.error``) when a formatted cell's code or IPython syntax differs from the original."""
    for index, new in sorted(job.formatted.items()):
        known = job.trees.get(index)
        if known is not None:
            before: tuple[ast.Module, tuple[tuple[str, str, str], ...]] | None = (known, ())
        else:
            before = _tree_view(job.views[index] if index in job.views else _python_of(job.sources[index]))
        after = _tree_view((new, ()) if job.plain else _python_of(new))
        if before is None or after is None or not _same_code(before[0], after[0]):
            job.error = FormatError(
                f"cell {index + 1}: formatting would change what the code does (its AST differs); not written", hint=_REPORT
            )
            return
        if before[1] != after[1]:
            job.error = FormatError(
                f"cell {index + 1}: formatting would change its IPython syntax (magics or !commands); not written", hint=_REPORT
            )
            return


def _minimal_notebook(sources: Sequence[str]) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source} for source in sources]
    return json.dumps({"cells": cells, "metadata": _MINIMAL_METADATA, "nbformat": 4, "nbformat_minor": 4})


def _ruff_format(files: Sequence[Path], config: Path | None, root: Path) -> tuple[dict[Path, str], Nb2prodError | None]:
    """Run ``ruff format`` over ``files`` (inside ``root``, its working folder) in as few processes as possible.

    Returns ruff's message for each file it refused (a cell that does not parse), and an error if
    ruff failed as a whole (a bad configuration). Files are named relative to ``root`` and split
    over several processes only if the command line would grow too long (Windows allows 32,767
    characters).
    """

    command = [ruff_executable(), "format", "--no-cache"]
    if config is not None:
        command += ["--config", str(config)]  # paths inside it are relative to the file, not to root
    refused: dict[Path, str] = {}
    chunk: list[Path] = []
    size = 0
    chunks: list[list[Path]] = []
    for file in files:
        name = os.path.relpath(file, root)
        if chunk and size + len(name) + 1 > _MAX_ARGUMENTS:
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(file)
        size += len(name) + 1
    if chunk:
        chunks.append(chunk)
    for members in chunks:
        try:
            done = subprocess.run(
                [*command, "--", *(os.path.relpath(file, root) for file in members)],
                capture_output=True,
                text=True,
                cwd=root,
                check=False,
            )
        except OSError as exc:
            return refused, FormatError(f"cannot run ruff: {exc.strerror or exc}", hint="reinstall nb2prod (ruff is a dependency)")
        if done.returncode == 0:
            continue
        found = {file: message for file in members if (message := _refused(done.stderr, file, root)) is not None}
        if done.returncode == 2 and found:
            refused.update(found)  # those files are left as they were; the others are formatted
            continue
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()] or ["no message"]
        where = f" with {config}" if config is not None else ""
        return refused, FormatError(f"ruff format failed{where} (exit {done.returncode}): {lines[0]}", hint="check the ruff configuration")
    return refused, None


def _refused(stderr: str, file: Path, cwd: Path) -> str | None:
    """ruff's message about ``file`` if it refused to format it, else None.

    ruff names a file relative to its working folder when the file is inside it, else in full.
    """
    names = {os.fspath(file)}
    with contextlib.suppress(ValueError):  # another drive (Windows): ruff names it in full
        names.add(os.path.relpath(file, cwd))
    for line in stderr.splitlines():
        for name in names:
            position = line.find(name + ":")
            if position >= 0 and (position == 0 or line[position - 1] in " \t/\\"):
                detail = line[position + len(name) + 1 :]
                match = re.match(r"(?:\d+:)?(\d+):(\d+): (.*)", detail)
                return f"line {match.group(1)}: {match.group(3)}" if match else detail.strip()
    return None


def _read_back(file: Path, job: _Job, order: Sequence[int]) -> None:
    _take_cells(json.loads(file.read_text(encoding="utf-8"))["cells"], job, order)


def _take_cells(cells: Sequence[Mapping[str, Any]], job: _Job, order: Sequence[int]) -> None:
    """Record the cells ruff returned for ``job`` (the cells ``order`` lists, in that order) that it changed."""
    if len(cells) != len(order):
        job.error = FormatError(f"ruff returned {len(cells)} cells for {len(order)}; not written", hint=_REPORT)
        return
    for index, cell in zip(order, cells, strict=True):
        new = source_text(cell["source"])
        if new != job.sources[index]:
            job.formatted[index] = new


def _run_ruff(jobs: Sequence[_Job]) -> None:
    """Format every job's cells with one ``ruff format`` process per ruff configuration (normally one)."""
    groups: dict[Path | None, list[_Job]] = {}
    for job in jobs:
        if job.sources and job.error is None:
            try:
                groups.setdefault(find_ruff_config(job.start), []).append(job)
            except OSError as exc:
                job.error = FormatError(f"cannot look for the ruff configuration: {exc}")
    if not groups:
        return
    size = sum(len(source) for job in jobs for source in job.sources.values())
    with tempfile.TemporaryDirectory(prefix="nb2prod-fmt-", dir=_scratch_folder(size)) as temp:
        root = Path(temp).resolve()
        retry: list[tuple[_Job, Path | None]] = []
        for number, (config, members) in enumerate(groups.items()):
            folder = root / f"g{number}"
            folder.mkdir()
            plain = [job for job in members if job.plain]
            if plain:
                _ruff_python_files(plain, folder, config, root)
                members = [job for job in members if not job.plain]
                if not members:
                    continue
            if len(members) == 1 and _ruff_one(members[0], folder / "n0.ipynb", config, root):
                continue
            files: dict[Path, tuple[_Job, list[int]]] = {}
            for position, job in enumerate(members):
                order = sorted(job.sources)
                file = folder / f"n{position}.ipynb"
                file.write_text(_minimal_notebook([job.sources[i] for i in order]), encoding="utf-8")
                files[file] = (job, order)
            refused, error = _ruff_format(list(files), config, root)
            for file, (job, order) in files.items():
                if error is not None:
                    job.error = error
                elif file in refused:
                    retry.append((job, config))
                else:
                    _read_back(file, job, order)
        if retry:
            _run_ruff_per_cell(retry, root)


#: Memory-backed folder for the formatter's scratch files, where the system has one (Linux).
_SHARED_MEMORY = "/dev/shm"


def _scratch_folder(size: int) -> str | None:
    """Where to put ``size`` characters of scratch files for ruff: shared memory when it has ample room, else the temporary folder.

    Creating files on a busy disk cost up to 0.6 ms each (a package of 160 modules: 100 ms); in
    memory about 0.03 ms. A small shared memory (64 MB in a default Docker container) is left alone.
    """
    try:
        if not os.path.isdir(_SHARED_MEMORY) or not os.access(_SHARED_MEMORY, os.W_OK | os.X_OK):
            return None
        stats = os.statvfs(_SHARED_MEMORY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return None
    return _SHARED_MEMORY if stats.f_bavail * stats.f_frsize > 16 * (4 * size + (64 << 20)) else None


def _ruff_python_files(jobs: Sequence[_Job], folder: Path, config: Path | None, root: Path) -> None:
    """Format plain jobs' cells as the Python files they become (``c<job>-<cell>.py``), in one ruff run.

    A module is not a notebook cell: ruff formats a cell by notebook rules (a trailing ``;`` that
    hides a cell's output is kept; a cell holding a line that starts with ``%%``, even inside a
    string, is skipped), so generated modules go through ruff as ``.py`` files, as a user's
    ``ruff format`` of the package would see them.
    """
    files: dict[Path, tuple[_Job, int]] = {}
    for position, job in enumerate(jobs):
        for index, source in sorted(job.sources.items()):
            file = folder / f"c{position}-{index}.py"
            file.write_text(source, encoding="utf-8")
            files[file] = (job, index)
    refused, error = _ruff_format(list(files), config, root)
    for file, (job, index) in files.items():
        if error is not None or file in refused:
            job.error = job.error or error or FormatError(f"cell {index + 1}: ruff cannot format it: {refused[file]}", hint=_REPORT)
            continue
        source = job.sources[index]
        new = file.read_text(encoding="utf-8")
        new = new if source.endswith("\n") else new.removesuffix("\n")
        if new != source:
            job.formatted[index] = new


def _ruff_one(job: _Job, file: Path, config: Path | None, root: Path) -> bool:
    """Format one notebook through ruff's standard input and output; False (nothing done) if ruff does not succeed.

    Faster than the batch for one notebook (see the module docstring). ``file`` is the name the
    batch would give it (``--stdin-filename``, relative to ``root`` as in the batch), so ruff sees
    the same path. When ruff fails (a cell it cannot parse, a bad configuration) the caller runs
    the batch, whose handling of failures stays the only one.
    """

    order = sorted(job.sources)
    command = [ruff_executable(), "format", "--no-cache"]
    if config is not None:
        command += ["--config", str(config)]
    command += ["--stdin-filename", os.path.relpath(file, root), "-"]
    try:
        done = subprocess.run(
            command,
            input=_minimal_notebook([job.sources[i] for i in order]),
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=root,
            check=False,
        )
        cells = json.loads(done.stdout)["cells"] if done.returncode == 0 else None
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(cells, list):
        return False
    _take_cells(cells, job, order)
    return True


def _run_ruff_per_cell(retry: Sequence[tuple[_Job, Path | None]], root: Path) -> None:
    """Format the notebooks ruff refused as a whole one cell at a time; leave the cells it still refuses."""
    groups: dict[Path | None, list[_Job]] = {}
    for job, config in retry:
        groups.setdefault(config, []).append(job)
    for number, (config, members) in enumerate(groups.items()):
        folder = root / f"cells{number}"
        folder.mkdir()
        files: dict[Path, tuple[_Job, int]] = {}
        for position, job in enumerate(members):
            for index in sorted(job.sources):
                file = folder / f"n{position}-c{index}.ipynb"
                file.write_text(_minimal_notebook([job.sources[index]]), encoding="utf-8")
                files[file] = (job, index)
        refused, error = _ruff_format(list(files), config, root)
        for file, (job, index) in files.items():
            if error is not None:
                job.error = error
            elif file in refused:
                job.notes.append(f"cell {index + 1} not formatted: ruff cannot parse it ({refused[file]})")
            else:
                _read_back(file, job, [index])


def black_mode(start: Path) -> Any:
    """black's notebook mode with the settings of the ``[tool.black]`` table nearest to ``start``.

    Read: ``line-length``, ``skip-string-normalization``, ``skip-magic-trailing-comma``, ``preview``.
    """
    import black

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    settings: Mapping[str, Any] = {}
    pyproject = find_pyproject(start)
    if pyproject is not None:
        try:
            document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read [tool.black]: {exc}", path=pyproject) from None
        settings = (document.get("tool") or {}).get("black") or {}
    line_length = settings.get("line-length", settings.get("line_length", black.DEFAULT_LINE_LENGTH))
    if isinstance(line_length, bool) or not isinstance(line_length, int) or line_length < 1:
        raise ConfigError("'tool.black.line-length' must be a positive integer", path=pyproject)
    return black.Mode(
        is_ipynb=True,
        line_length=line_length,
        string_normalization=not settings.get("skip-string-normalization", False),
        magic_trailing_comma=not settings.get("skip-magic-trailing-comma", False),
        preview=bool(settings.get("preview", False)),
    )


def _run_black(jobs: Sequence[_Job]) -> None:
    """Format every job's cells with black, in process."""
    import black

    if not black.jupyter_dependencies_are_installed(warn=False):
        error = FormatError("black's notebook support is not installed", hint="pip install 'black[jupyter]', or use the ruff formatter")
        for job in jobs:
            job.error = job.error or error
        return
    modes: dict[Path | None, Any] = {}
    for job in jobs:
        if not job.sources or job.error is not None:
            continue
        key = find_pyproject(job.start)
        try:
            mode = modes[key] if key in modes else modes.setdefault(key, black_mode(job.start))
        except ConfigError as error:
            job.error = error
            continue
        for index, source in sorted(job.sources.items()):
            try:
                if job.plain:  # a Python file, not a notebook cell (see _ruff_python_files)
                    new = black.format_file_contents(source, fast=True, mode=replace(mode, is_ipynb=False))
                    new = new if source.endswith("\n") else new.removesuffix("\n")
                else:
                    new = black.format_cell(source, fast=True, mode=mode)
            except black.NothingChanged:
                continue
            except Exception as exc:  # black raises several unrelated types for code it cannot parse
                job.notes.append(f"cell {index + 1} not formatted: black cannot parse it ({type(exc).__name__}: {exc})")
                continue
            if new != source:
                job.formatted[index] = new


def _run(formatter: str, jobs: Sequence[_Job]) -> None:
    if formatter == "black":
        _run_black(jobs)
    else:
        _run_ruff(jobs)


def _format_jobs(formatter: str, jobs: Sequence[_Job], *, stable: bool = True) -> None:
    """Format, verify, and (``stable``) check that a second pass changes nothing; errors land on the jobs.

    The second pass takes the jobs whose result verified. With ruff it starts before the
    verification, on every changed job, and runs in its own process meanwhile; in the rare case a
    job fails verification it is run again on the others alone, so the outcome is the same as
    running it after the verification.
    """
    if formatter not in FORMATTERS:
        raise UsageError(f"unknown formatter '{formatter}'", hint="use ruff or black")
    _run(formatter, jobs)
    candidates = [job for job in jobs if job.error is None and job.formatted]
    if not stable:
        for job in candidates:
            _verify(job)
        return
    again = [_Job(job.start, dict(job.formatted), plain=job.plain) for job in candidates]
    early = _Background(_run, formatter, again) if formatter == "ruff" and again else None
    try:
        for job in candidates:
            _verify(job)
    finally:
        failure = early.join() if early is not None else None
    changed = [job for job in candidates if job.error is None]
    if early is None or len(changed) < len(candidates):
        again = [_Job(job.start, dict(job.formatted), plain=job.plain) for job in changed]
        _run(formatter, again)
    elif failure is not None:
        raise failure
    for job, second in zip(changed, again, strict=True):
        if second.error is not None:
            job.error = second.error
        elif second.formatted or second.notes:
            index = min(second.formatted) if second.formatted else min(second.sources)
            job.error = FormatError(
                f"cell {index + 1}: formatting is not stable (a second pass changes it again); not written", hint=_REPORT
            )


class _Background:
    """A call running in another thread (for a formatter that works in another process); ``join`` returns what it raised."""

    def __init__(self, call: Callable[..., None], *args: Any) -> None:
        self._failure: BaseException | None = None

        def run() -> None:
            try:
                call(*args)
            except BaseException as exc:  # handed to the caller by join()
                self._failure = exc

        self._thread = threading.Thread(target=run, name="nb2prod-format")
        self._thread.start()

    def join(self) -> BaseException | None:
        self._thread.join()
        return self._failure
