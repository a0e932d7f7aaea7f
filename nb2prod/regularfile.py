"""Reading a file only when it is a regular file: a FIFO or device named like a notebook must not hang a command."""

from __future__ import annotations

import errno
import os
import stat

from .errors import NotebookReadError


class NotRegularFileError(OSError):
    """The path is a FIFO, socket or device: reading it could block forever or never end."""

    def __init__(self, mode: int, path: str | os.PathLike[str]):
        super().__init__(f"not a regular file: {os.fspath(path)}")
        self.mode = mode


def read_regular_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file; ``NotRegularFileError`` for anything else, which is never opened.

    A FIFO named ``*.ipynb`` would make a plain ``open`` wait forever for a writer, and a device
    can be endless. The file is checked before it is opened, and opened without blocking and
    checked again, in case it was swapped between the two.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise (
            IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
            if stat.S_ISDIR(mode)
            else NotRegularFileError(mode, path)
        )
    with open(path, "rb", opener=_open_without_blocking) as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(mode, path)
        return handle.read()


def _open_without_blocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def symlink_loop_error(shown: str) -> NotebookReadError:
    """The error for a path whose symlinks lead back to themselves."""
    return NotebookReadError("symbolic link loop: the link never reaches a file", path=shown, hint="fix or remove the link")


def not_regular_error(mode: int, shown: str) -> NotebookReadError:
    """The error for a path that is not a regular file: which kind of file it is, and that it was not opened."""
    kinds = (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    kind = next((name for test, name in kinds if test(mode)), "not a file")
    return NotebookReadError(f"not a regular file: {kind}", path=shown, hint="nb2prod reads notebook files; pass the notebook itself")
