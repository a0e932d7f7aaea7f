"""Every error nb2prod raises on purpose, and the one table that turns errors into exit codes.

An ``Nb2prodError`` is an expected failure caused by the user's input or environment: it is shown
as one line, ``path: error: what is wrong (what to do)``, never as a traceback. Anything else that
escapes is a bug and maps to exit code 3.
"""

from __future__ import annotations

import os

# Exit codes (DESIGN.md, "Exit codes"). Only ``exit_code`` below decides which one applies.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130
EXIT_KERNEL_DIED = 138


class Nb2prodError(Exception):
    """An expected failure: bad input, bad configuration or an environment problem.

    ``path`` is the file the problem is about (as the user gave it), ``hint`` says what to do.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None, hint: str | None = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.hint = hint
        # Passing every field to Exception keeps the error picklable across processes.
        super().__init__(message, self.path, hint)

    def __reduce__(self):
        return (_rebuild, (type(self), self.message, self.path, self.hint))

    def __str__(self) -> str:
        text = f"{self.path}: error: {self.message}" if self.path else f"error: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


def _rebuild(cls: type[Nb2prodError], message: str, path: str | None, hint: str | None) -> Nb2prodError:
    error = cls.__new__(cls)
    Nb2prodError.__init__(error, message, path=path, hint=hint)
    return error


class UsageError(Nb2prodError):
    """The command line asks for something that cannot be done (bad flag combination, no paths)."""


class ConfigError(Nb2prodError):
    """``[tool.nb2prod]`` in pyproject.toml is malformed or holds an unknown key."""


class NotebookReadError(Nb2prodError):
    """A notebook file cannot be read: missing, a directory, unreadable, not UTF-8, not JSON."""


class NotebookFormatError(NotebookReadError):
    """The file is JSON but not a notebook nb2prod can use (wrong version, broken structure)."""


class WriteError(Nb2prodError):
    """Writing a file failed (permission, disk full); the original file is left as it was."""


class WriteConflictError(WriteError):
    """The file changed on disk after nb2prod read it; writing would lose someone else's edit."""


class ParameterError(Nb2prodError):
    """A parameters cell nb2prod cannot use, or a value that does not fit a parameter."""


class ToolError(Nb2prodError):
    """An external tool (ruff, nbqa and the checkers it runs) could not be run or misbehaved."""


class ExportError(Nb2prodError):
    """The marked cells cannot become a package (nothing marked, conflicts, unexportable code)."""


class RecordError(Nb2prodError):
    """A run record cannot be found or read."""


class DataError(Nb2prodError):
    """A data file or a data profile cannot be used: missing, empty, unparsable, of an unknown format or schema."""


class RunError(Nb2prodError):
    """A run could not be started: no kernel, a bad working folder, an output path that is the input."""


# Most specific classes first: the first match decides.
_EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (Nb2prodError, EXIT_INPUT),
    (KeyboardInterrupt, EXIT_INTERRUPTED),
    # The reader of our output went away (``nb2prod ... | head``): the result never reached it.
    (BrokenPipeError, EXIT_FINDINGS),
)


def exit_code(error: BaseException) -> int:
    """Return the process exit code for an error that ended a command (3 for anything unexpected)."""
    for cls, code in _EXIT_CODES:
        if isinstance(error, cls):
            return code
    return EXIT_INTERNAL


def exit_status(*, failed: bool, found: bool) -> int:
    """The exit code of a command that processed several files.

    ``failed``: some input could not be processed (exit 2 wins: a partial result must not pass
    as a clean one); ``found``: findings at or above the threshold, or ``--check`` would change
    something (exit 1).
    """
    if failed:
        return EXIT_INPUT
    return EXIT_FINDINGS if found else EXIT_OK


_RUN_EXIT_CODES = {
    "ok": EXIT_OK,
    "failed": EXIT_FINDINGS,
    "timeout": EXIT_TIMEOUT,
    "interrupted": EXIT_INTERRUPTED,
    "kernel_died": EXIT_KERNEL_DIED,
}


def run_exit_code(status: str) -> int:
    """The exit code of a finished run from its record's status: ok 0, failed 1, timeout 124, interrupted 130, kernel_died 138."""
    return _RUN_EXIT_CODES[status]
