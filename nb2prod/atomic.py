"""The one way nb2prod writes files: all or nothing.

New content goes to a temporary file in the target's folder, is flushed to disk, and then replaces
the target with ``os.replace`` (atomic on POSIX and Windows). A crash, a full disk or a kill at any
moment leaves either the old file or the new one, never a mix. A caller can pass a ``check`` that
runs just before the replace, to refuse when the target changed meanwhile.

Several files (an exported package) are written as one step: every new file is on disk and every
check has passed before the first target is replaced, and each folder is flushed once at the end
instead of once per file.

A replace keeps what the user set up, as an editor's save does: a symlink is written through (its
target is replaced, the link stays a link); the new file gets the old one's mode, owner and group
(refused if they cannot be kept) and its extended attributes, which include POSIX ACLs
(``system.posix_acl_access``) and SELinux labels, where the platform has them (an attribute the
new file cannot take is skipped, never failing the write); a file that is read-only to the user is
refused, and so is anything that is not a regular file (a FIFO, a device), which is never opened.

A file with several hard links is written in place instead of replaced: a rename would give the
one name a new file and leave the other names on the old content, silently splitting what the
user linked. This is what black and nbstripout always do (they open the file for writing) and what
vim (``backupcopy=auto``) and Emacs (``backup-by-copying-when-linked``) do for linked files. The
new content is first staged and flushed to a temporary file as for a replace (so a full disk or a
refusing check still leaves the file untouched), the space the file grows by is reserved, and only
then is the file overwritten, truncated and flushed; the temporary file is removed afterwards. The
price is atomicity for that file alone: a crash during the overwrite can leave it partly written,
and if the overwrite itself fails the error names the temporary file, which holds the complete new
content. Inode, owner, mode, ACLs and attributes stay what they were, since the file stays the same file.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import WriteConflictError, WriteError

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


def unchanged_since_read(path: Path, old: bytes | None, shown: str, *, message: str, hint: str) -> Callable[[], None]:
    """A :class:`PendingWrite` check refusing the write when ``path`` no longer holds ``old`` (``None``: absent).

    Raises ``WriteConflictError(message)`` so a tool never overwrites an edit made after it read the file.
    """

    def check() -> None:
        try:
            now = path.read_bytes()
        except FileNotFoundError:
            now = None
        if now != old:
            raise WriteConflictError(message, path=shown, hint=hint)

    return check


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    check: Callable[[], None] | None = None,
    display_path: str | None = None,
) -> None:
    """Write ``data`` to ``path`` atomically, keeping the existing file's mode, owner and group.

    A symlink is written through to its target. Raises ``WriteError`` (the target untouched, the
    temporary file removed) when the disk or the permissions refuse, when the file is read-only
    to the user or not a regular file, or when its owner and group cannot be kept; and whatever
    ``check`` raises when it refuses.
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
    kept: set[str] = set()  # temporary files that hold the only complete copy after a failed in-place write
    try:
        for write, _ in staged:
            if write.check is not None:
                write.check()
        for write, (temp, target, in_place) in staged:
            if in_place:
                _write_in_place(target, write.data, temp, write.shown, kept)
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            else:
                try:
                    os.replace(temp, target)
                except OSError as exc:
                    raise _write_error(write.shown, exc) from None
            replaced += 1
    finally:
        for _, (temp, _target, _in_place) in staged[replaced:]:
            if temp not in kept:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
    for folder in dict.fromkeys(target.parent for _, (_temp, target, _in_place) in staged):
        _fsync_folder(folder)


def _stage_all(writes: Sequence[PendingWrite]) -> list[tuple[str, Path, bool]]:
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
                    os.unlink(future.result()[0])
        raise
    pool.shutdown()
    return temps


def _stage(write: PendingWrite) -> tuple[str, Path, bool]:
    """Write ``write.data`` to a flushed temporary file beside the real target, with the target's mode, owner, group and attributes.

    Returns the temporary file, the real target (a symlink's target) that it is to replace, and
    whether the target has other hard links and is to be written in place instead (see the module
    docstring); such a temporary file only holds the content until it is in the target.
    """
    target = _real_target(write)
    try:
        current = target.stat()
    except FileNotFoundError:
        current = None
    except OSError as exc:
        raise _write_error(write.shown, exc) from None
    if current is not None:
        _check_replaceable(target, current, write.shown)
    in_place = current is not None and current.st_nlink > 1
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as exc:
        raise _write_error(write.shown, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(write.data)
            handle.flush()
            os.fsync(handle.fileno())
        if current is not None and not in_place:
            _keep_owner(temp, current, write.shown)  # before the mode: a change of owner clears set-id bits
        os.chmod(temp, stat.S_IMODE(current.st_mode) if current is not None else 0o666 & ~_umask())
        if current is not None and not in_place:
            _copy_xattrs(target, temp)  # after the mode: an ACL sets the group bits itself
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise _write_error(write.shown, exc) from None
        raise
    return temp, target, in_place


def _copy_xattrs(source: Path, temp: str) -> None:
    """Give ``temp`` the extended attributes of ``source`` (POSIX ACLs, SELinux labels, user attributes), as far as allowed.

    Best effort per attribute: one the file system or the user's privileges refuse (``ENOTSUP``,
    ``EPERM`` for ``trusted.*`` or ``security.*`` without the capability, …) is skipped, and a
    platform without ``os.listxattr`` (macOS, Windows) copies none. A write never fails for them.
    """
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(source)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(temp, name, os.getxattr(source, name))
        except OSError:
            continue


def _write_in_place(target: Path, data: bytes, temp: str, shown: str, kept: set[str]) -> None:
    """Overwrite ``target`` with ``data`` in place (it has other hard links); ``temp`` holds the same, flushed.

    The space the file grows by is reserved first, so a full disk is found before any byte of the
    file changes (the error then says the file is unchanged). A failure after that leaves ``temp``
    on disk (added to ``kept``, so the caller does not remove it) and names it: it is the complete new content.
    """
    try:
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise _write_error(shown, exc) from None
    try:
        size = os.fstat(fd).st_size
        if len(data) > size and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, size, len(data) - size)
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
                    raise _write_error(shown, exc) from None
        try:
            view = memoryview(data)
            written = 0
            while written < len(data):
                written += os.pwrite(fd, view[written:], written)
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        except OSError as exc:
            kept.add(temp)
            raise WriteError(
                f"cannot write the hard-linked file in place: {exc.strerror or exc}; it may be partly written",
                path=shown,
                hint=f"its complete new content is in {temp}; copy that over it (cp, which keeps the links) once the cause is fixed",
            ) from None
    finally:
        os.close(fd)


def _real_target(write: PendingWrite) -> Path:
    """The file a write replaces: ``write.path``, or the file its symlinks lead to, as editors save through a link.

    A link whose target does not exist yet is written through too (its target is created).
    """
    path = Path(write.path)
    if not path.is_symlink():
        return path
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        return Path(os.path.realpath(path))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriteError("symbolic link loop: the link never reaches a file", path=write.shown, hint="fix or remove the link") from None
        raise _write_error(write.shown, exc) from None


def _check_replaceable(target: Path, current: os.stat_result, shown: str) -> None:
    """Refuse to replace what is not a regular file, or what the user cannot write.

    Read-only means what an editor takes it to mean: no write bit at all (which root too is held to,
    although the system would let root write), or a file the user has no write permission on.
    Replacing the file only needs the folder to be writable, so without this check a read-only
    notebook would be rewritten.
    """
    if not stat.S_ISREG(current.st_mode):
        raise WriteError("not a regular file; not overwritten", path=shown, hint="nb2prod replaces regular files only; move it away first")
    if not current.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not _user_can_write(target):
        raise WriteError("the file is read-only; not rewritten", path=shown, hint="make it writable (chmod u+w) if nb2prod is to change it")


def _user_can_write(target: Path) -> bool:
    if os.access in os.supports_effective_ids:
        return os.access(target, os.W_OK, effective_ids=True)
    return os.access(target, os.W_OK)


def _keep_owner(temp: str, current: os.stat_result, shown: str) -> None:
    """Give the new file the old one's owner and group; refuse if the system does not allow it.

    A new file belongs to whoever writes it, so without this a shared notebook would change group
    (its group members could lose access) or owner on every rewrite.
    """
    if not hasattr(os, "chown"):  # Windows: no POSIX owners
        return
    mine = os.stat(temp)
    if (mine.st_uid, mine.st_gid) == (current.st_uid, current.st_gid):
        return
    try:
        os.chown(temp, current.st_uid if mine.st_uid != current.st_uid else -1, current.st_gid if mine.st_gid != current.st_gid else -1)
    except PermissionError:
        raise WriteError(
            f"cannot keep the file's owner and group (uid {current.st_uid}, gid {current.st_gid}); not rewritten",
            path=shown,
            hint="run nb2prod as the file's owner, or as a member of its group",
        ) from None


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
