"""The one way nb2prod writes files: all or nothing.

New content goes to a temporary file in the target's folder, is flushed to disk, and then replaces
the target with ``os.replace`` (atomic on POSIX and Windows). A crash, a full disk or a kill at any
moment leaves either the old file or the new one, never a mix. A caller can pass a ``check`` that
runs just before the replace, to refuse when the target changed meanwhile.

Several files (an exported package) are written as one step: every new file is on disk and every
check has passed before the first target is replaced, and each folder is flushed once at the end
instead of once per file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import WriteError

TEMP_SUFFIX = ".nb2prod-tmp"


@dataclass(frozen=True)
class PendingWrite:
    """One file of :func:`atomic_write_all`: where, what, the refusal check and the path shown in errors."""

    path: str | os.PathLike[str]
    data: bytes
    check: Callable[[], None] | None = None
    display_path: str | None = None

    @property
    def shown(self) -> str:
        return self.display_path or os.fspath(self.path)


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    check: Callable[[], None] | None = None,
    display_path: str | None = None,
) -> None:
    """Write ``data`` to ``path`` atomically, keeping the existing file's permission bits.

    Raises ``WriteError`` (the target untouched, the temporary file removed) when the disk or the
    permissions refuse, and whatever ``check`` raises when it refuses.
    """
    atomic_write_all([PendingWrite(path, data, check, display_path)])


def atomic_write_all(writes: Sequence[PendingWrite]) -> None:
    """Write every file of ``writes`` atomically, as one step as far as a file system allows.

    All new contents are written and flushed to temporary files first, then every ``check`` runs,
    and only then are the targets replaced, in order. So a full disk, a refused permission or a
    refusing check leaves every target untouched (``WriteError``, or what the check raised). Only a
    rename failing part-way (the folder made read-only meanwhile) can leave the earlier targets
    replaced and the later ones not; each file is still old or new, never a mix.
    """
    staged = list(zip(writes, _stage_all(writes), strict=True))
    replaced = 0
    try:
        for write, _ in staged:
            if write.check is not None:
                write.check()
        for write, temp in staged:
            try:
                os.replace(temp, write.path)
            except OSError as exc:
                raise _write_error(write.shown, exc) from None
            replaced += 1
    finally:
        for _, temp in staged[replaced:]:
            with contextlib.suppress(OSError):
                os.unlink(temp)
    for folder in dict.fromkeys(Path(write.path).parent for write in writes):
        _fsync_folder(folder)


def _stage_all(writes: Sequence[PendingWrite]) -> list[str]:
    """Stage every write (see :func:`_stage`); if one fails, remove the others' temporary files and raise its error.

    Several files are staged by a few threads: each waits for its own ``fsync``, and file systems
    with a journal commit concurrent flushes together, so a package of 200 files costs about what
    writing it without flushing would.
    """
    _umask()  # read once here: reading it sets it for a moment, which threads must not race on
    if len(writes) <= 1:
        return [_stage(write) for write in writes]
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=min(8, len(writes)), thread_name_prefix="nb2prod-write")
    futures = [pool.submit(_stage, write) for write in writes]
    try:
        temps = [future.result() for future in futures]  # the first failure in the order of `writes`
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        for future in futures:
            if not future.cancelled() and future.exception() is None:
                with contextlib.suppress(OSError):
                    os.unlink(future.result())
        raise
    pool.shutdown()
    return temps


def _stage(write: PendingWrite) -> str:
    """Write ``write.data`` to a flushed temporary file beside the target, with the target's mode; return its path."""
    target = Path(write.path)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _write_error(write.shown, exc) from None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent or ".")
    except OSError as exc:
        raise _write_error(write.shown, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(write.data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode if mode is not None else 0o666 & ~_umask())
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise _write_error(write.shown, exc) from None
        raise
    return temp


def _write_error(shown: str, exc: OSError) -> WriteError:
    reason = exc.strerror or str(exc)
    return WriteError(f"cannot write: {reason}", path=shown, hint="the file on disk is unchanged; free space or fix permissions and retry")


@functools.cache
def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_folder(folder: Path) -> None:
    """Make the renames themselves durable; not every platform lets a folder be opened, so best effort."""
    try:
        fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
