"""The one way nb2prod writes a file: all or nothing.

The new content goes to a temporary file in the target's folder, is flushed to disk, and then
replaces the target with ``os.replace`` (atomic on POSIX and Windows). A crash, a full disk or a
kill at any moment leaves either the old file or the new one, never a mix. A caller can pass a
``check`` that runs just before the replace, to refuse when the target changed meanwhile.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import WriteError

TEMP_SUFFIX = ".nb2prod-tmp"


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
    target = Path(path)
    shown = display_path or os.fspath(path)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _write_error(shown, exc) from None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent or ".")
    except OSError as exc:
        raise _write_error(shown, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        else:
            os.chmod(temp, 0o666 & ~_umask())
        if check is not None:
            check()
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise _write_error(shown, exc) from None
        raise
    _fsync_folder(target.parent)


def _write_error(shown: str, exc: OSError) -> WriteError:
    reason = exc.strerror or str(exc)
    return WriteError(f"cannot write: {reason}", path=shown, hint="the file on disk is unchanged; free space or fix permissions and retry")


@functools.cache
def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every platform lets a folder be opened, so best effort."""
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
