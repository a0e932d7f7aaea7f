"""Saving ``output.ipynb``: a papermill I/O handler that writes every save atomically and redacted.

papermill saves the executed notebook as it goes (at every cell, and at the end); every save
passes through ``_OutputHandler``, which puts ``***`` in place of secret parameter values in the
injected cell and papermill's metadata, masks the run's secrets everywhere else (outputs,
tracebacks, displays, metrics, sources: ``nb2prod.secrets.Masker``), and only then writes
atomically, so a secret never reaches the disk, not even mid-run. The secrets are known only in
this process: the kernel may print them in any form, so the saved text is what gets masked.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..secrets import Masker
from .inject import INJECTED_TAG, _tags

_OUTPUT_SCHEME = "nb2prod-output://"


@dataclass
class _Output:
    """One run's ``output.ipynb``: where it goes and what every save puts in place of what papermill wrote."""

    path: Path
    injected_source: str | None  # the redacted injected cell, when a secret was given
    papermill: dict[str, Any]  # metadata.papermill fields: paths as in the record (not the in-memory notebook), redacted parameters
    masker: Masker = field(default_factory=Masker)  # the run's secrets
    data: dict[str, Any] | None = None  # the notebook as last saved (masked)
    deferred: bool = False  # True: papermill's saves are kept in memory until ``flush`` writes the last one
    _pending: str | None = field(default=None, repr=False)

    def flush(self) -> None:
        """Write the save kept back, if any; saves after this are written at once."""
        self.deferred = False
        text, self._pending = self._pending, None
        if text is not None:
            self.save(text)

    def save(self, text: str) -> None:
        """Redact, mask and write one save of papermill's, atomically (or keep it for ``flush`` when ``deferred``)."""
        if self.deferred:
            self._pending = text
            return
        data = json.loads(text)
        data.setdefault("metadata", {}).setdefault("papermill", {}).update(self.papermill)
        if self.injected_source is not None:
            for cell in data.get("cells", ()):
                if INJECTED_TAG in _tags(cell):
                    cell["source"] = self.injected_source.splitlines(keepends=True)  # as nbformat writes sources
        data = self.masker.data(data)
        atomic_write(self.path, (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
        self.data = data


class RememberingMasker(Masker):
    """A ``Masker`` that remembers what it made of each text: papermill saves the whole notebook ~9 times a run.

    Every save masks every string again, dict keys and short values included (``cell_type``,
    ``execution_count``, ``start_time``...), each searched for every credential format: about half
    of a short run's CPU time in nb2prod's process. The result for a text never changes (the
    secrets are fixed), so each short text is masked once; long ones (rarely searched twice: the
    ``Masker`` remembers those it found clean) are not kept. The memory is bounded.
    """

    REMEMBERED = 20_000
    LONGEST = 1024

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(secrets)
        self._masked: dict[str, str] = {}
        self._finds: dict[str, bool] = {}

    def text(self, text: str) -> str:
        """``Masker.text``, computed once per distinct short text."""
        found = self._masked.get(text)
        if found is None:
            found = super().text(text)
            self._remember(self._masked, text, found)
        return found

    def finds(self, text: str) -> bool:
        """``Masker.finds``, computed once per distinct short text."""
        found = self._finds.get(text)
        if found is None:
            found = super().finds(text)
            self._remember(self._finds, text, found)
        return found

    def _remember(self, memory: dict[str, Any], text: str, result: Any) -> None:
        if len(text) <= self.LONGEST:
            if len(memory) >= self.REMEMBERED:
                memory.clear()
            memory[text] = result


_OUTPUTS: dict[str, _Output] = {}


class _OutputHandler:
    """papermill's I/O handler interface for ``nb2prod-output://`` paths: write-only."""

    def read(self, path: str) -> str:
        """Not supported: nb2prod hands papermill the notebook in memory."""
        raise io.UnsupportedOperation(f"nb2prod's output handler is write-only: cannot read {path}")

    def listdir(self, path: str) -> list[str]:
        """Not supported."""
        raise io.UnsupportedOperation(f"nb2prod's output handler is write-only: cannot list {path}")

    def write(self, buf: str, path: str) -> None:
        """Save the executed notebook of the run registered under ``path``."""
        _OUTPUTS[path].save(buf)

    def pretty_path(self, path: str) -> str:
        """The file behind ``path``."""
        return path.removeprefix(_OUTPUT_SCHEME)


@functools.cache
def _install_handler() -> None:
    from papermill.iorw import papermill_io

    papermill_io.register(_OUTPUT_SCHEME, _OutputHandler())


@contextlib.contextmanager
def _registered(output: _Output) -> Iterator[str]:
    """The papermill output path that saves into ``output`` for the duration of the block."""
    key = _OUTPUT_SCHEME + os.fspath(output.path)
    _OUTPUTS[key] = output
    try:
        # papermill formats output paths with str.format: doubled braces keep a folder named {x} itself
        yield key.replace("{", "{{").replace("}", "}}")
    finally:
        del _OUTPUTS[key]
