"""``check``: strip, fmt and lint notebooks in one pass, the work of the ``nb2prod-check`` pre-commit hook.

pre-commit starts a process per hook, and on one notebook that start-up (Python, nb2prod's
imports, reading the notebook) is most of what a hook costs: three hooks (strip, fmt, lint) pay
it three times and read every notebook three times. ``check`` does what those three hooks do, in
their order, in one process:

1. each notebook is read once; its outputs and volatile metadata are stripped in memory
   (:func:`nb2prod.strip.strip_notebook`, the ``[tool.nb2prod.strip]`` options), text notebooks
   excepted, as ``strip`` does;
2. the stripped notebooks' code cells are formatted in memory by one formatter run for all
   (:func:`nb2prod.formatting.format_notebooks`: the same verification and stability check as
   ``fmt``); a notebook whose formatting fails verification keeps its code, and is still stripped;
3. each notebook that changed is written once (through ``write_notebook``: atomic, its own JSON
   style, refused if the file changed on disk since it was read);
4. the notebooks are linted as ``nb2prod lint`` lints them, as they are now on disk (one ruff
   process for all), with the configured ``fail-on``. Those strip leaves alone are linted while
   fmt runs (the two ruff processes side by side: the everyday commit changes nothing); any that
   fmt then rewrites is linted again, so lint always reports on what was written.

The result names which check changed or failed what, so a hook's output says "strip", "fmt" or
"lint" as the three separate hooks would. A notebook that could not be read is reported once by the
rewrite pass; lint reports it too, unless lint can read it (an nbformat 3 notebook, which lint
upgrades in memory and strip and fmt refuse to rewrite).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._callable import make_callable
from .config import FORMATTERS, Config, config_for
from .discover import discover
from .errors import Nb2prodError, UsageError
from .formatting import format_notebooks, replace_sources
from .lint.engine import PARALLEL_THRESHOLD, lint
from .lint.results import LintResults
from .lint.rule import FileResult, Severity
from .notebook import Notebook, read_notebook, same_json, write_notebook
from .strip import StripOptions, strip_notebook


@dataclass(frozen=True)
class Rewrite:
    """What strip and fmt did to one notebook.

    ``stripped`` / ``formatted``: that check changes it (``written``: the change was written);
    ``notes``: cells fmt left alone and why; ``error``: the notebook could not be read, formatted
    (``failed`` names the check: "strip" or "fmt") or written.
    """

    path: str
    stripped: bool = False
    formatted: bool = False
    written: bool = False
    error: Nb2prodError | None = None
    failed: str | None = None
    notes: tuple[str, ...] = ()


@dataclass
class CheckResult:
    """The outcome of :func:`check`: a :class:`Rewrite` per notebook, then lint's results on what was written."""

    rewrites: list[Rewrite] = field(default_factory=list)
    lint: LintResults = field(default_factory=LintResults)
    fail_on: Severity = Severity.WARNING

    @property
    def stripped(self) -> list[str]:
        """The notebooks strip changed."""
        return [r.path for r in self.rewrites if r.stripped]

    @property
    def formatted(self) -> list[str]:
        """The notebooks fmt changed."""
        return [r.path for r in self.rewrites if r.formatted]

    @property
    def lint_fails(self) -> bool:
        """Whether lint found something at or above ``fail_on``."""
        return self.lint.fails(self.fail_on)

    @property
    def failed(self) -> bool:
        """Whether a notebook could not be processed (read, formatted, written or linted)."""
        return any(r.error is not None for r in self.rewrites) or any(r.error is not None for r in self.lint)

    @property
    def passed(self) -> bool:
        """Nothing changed, nothing failed, lint clean: what lets a commit through."""
        return not (self.stripped or self.formatted or self.lint_fails or self.failed)


def check(
    paths: Sequence[str | os.PathLike[str]],
    *,
    write: bool = True,
    config: Config | None = None,
    formatter: str | None = None,
) -> CheckResult:
    """Strip, format and lint the notebooks under ``paths`` in one pass; see the module docstring.

    ``write=False`` reports what strip and fmt would change and lints the files as they are.
    ``formatter`` ("ruff" or "black") overrides ``[tool.nb2prod.lint] formatter``; ``config``
    defaults to the nearest pyproject.toml's ``[tool.nb2prod]``.
    """
    config = config if config is not None else config_for(paths)
    options = StripOptions.from_config(config.strip)
    chosen = formatter or config.lint.formatter
    if chosen not in FORMATTERS:
        raise UsageError(f"unknown formatter '{chosen}'", hint="use ruff or black")
    found = discover(paths, exclude=config.exclude, root=config.root)
    rewrites: list[Rewrite] = []
    read: list[tuple[str, Notebook, dict]] = []
    for shown, path in found.notebooks:
        try:
            notebook = read_notebook(path, display_path=shown)
        except Nb2prodError as error:  # strip, the first check, fails on it (and fmt would)
            rewrites.append(Rewrite(shown, error=error, failed="strip"))
            continue
        read.append((shown, notebook, notebook.data if notebook.is_text else strip_notebook(notebook.data, options)))
    # The notebooks strip leaves alone are mostly left alone by fmt too (the everyday commit): lint
    # them meanwhile, its ruff process beside fmt's; one that fmt rewrites is linted again below.
    early_paths = [shown for shown, notebook, stripped in read if notebook.is_text or same_json(stripped, notebook.data)]
    early = _Lint(early_paths, config) if 0 < len(early_paths) < PARALLEL_THRESHOLD else None
    try:
        formatted = format_notebooks([(Path(notebook.path), stripped) for _, notebook, stripped in read], chosen)
        for (shown, notebook, stripped), (cells, notes, error) in zip(read, formatted, strict=True):
            rewrites.append(_rewrite(shown, notebook, stripped, cells, notes, error, write=write))
    finally:
        linted = early.join() if early is not None else LintResults()
    rewritten = {r.path for r in rewrites if r.written}
    by_path = {result.path: result for result in linted if result.path not in rewritten}
    rest = [shown for shown, _ in found.notebooks if shown not in by_path]
    if rest:
        by_path.update((result.path, result) for result in lint(rest, config=config))
    refused = [FileResult(error.path or "", error=error) for error in found.errors]  # as lint reports a path it refuses
    ordered = [by_path.pop(shown) for shown in dict.fromkeys(shown for shown, _ in found.notebooks) if shown in by_path]
    results = LintResults([*ordered, *by_path.values(), *refused])  # by_path: what lint named otherwise (never lost)
    return CheckResult(rewrites, results, Severity.parse(config.lint.fail_on))


class _Lint:
    """``lint(paths, config=config)`` in another thread, in this process (``jobs=1``: no process pool from a thread)."""

    def __init__(self, paths: Sequence[str], config: Config) -> None:
        self._results = LintResults()
        self._failure: BaseException | None = None

        def run() -> None:
            try:
                self._results = lint(paths, config=config, jobs=1)
            except BaseException as exc:  # handed to the caller by join()
                self._failure = exc

        self._thread = threading.Thread(target=run, name="nb2prod-check-lint")
        self._thread.start()

    def join(self) -> LintResults:
        """Wait; the results, or raise what the lint raised."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._results


def _rewrite(
    shown: str,
    notebook: Notebook,
    stripped: dict,
    cells: dict[int, str],
    notes: tuple[str, ...],
    error: Nb2prodError | None,
    *,
    write: bool,
) -> Rewrite:
    """Write one notebook's stripped and formatted JSON (if it changed) and say what changed it."""
    was_stripped = not notebook.is_text and not same_json(stripped, notebook.data)
    if error is not None and error.path is None:
        error = type(error)(error.message, path=shown, hint=error.hint)
    final = replace_sources(stripped, cells) if error is None and cells else stripped
    was_formatted = error is None and bool(cells)
    changed = was_stripped or was_formatted
    try:
        written = write and changed and write_notebook(notebook, final)
    except Nb2prodError as write_error:
        return Rewrite(shown, was_stripped, was_formatted, error=write_error, failed="strip" if was_stripped else "fmt", notes=notes)
    return Rewrite(shown, was_stripped, was_formatted, written, error, "fmt" if error is not None else None, notes)


make_callable(__name__, "nb2prod.check:check")  # nb2prod.check(paths, ...) checks: see nb2prod._callable
