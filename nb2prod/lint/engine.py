"""Run lint over many notebooks: select rules, run them in parallel with ruff, suppress, merge.

Selection works like ruff's: a selector is a code or a code prefix (``NB1``, ``F``, ``ALL``);
``--select`` replaces the default set, ``--ignore`` and ``extend-select`` adjust it. The same
selectors drive nb2prod's rules and ruff's. Suppression: ``# nb2prod: noqa CODE`` anywhere in a
cell (no code: every rule for that cell), ``metadata.nb2prod.ignore`` in the notebook, and
``per-path-ignores`` in the configuration.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, LintConfig, config_for
from ..discover import discover
from ..errors import Nb2prodError, UsageError
from ..notebook import Notebook, read_notebook
from .context import LintContext, LintSettings
from .live import KernelState
from .nbqa import run_tool
from .registry import registry
from .results import LintResults
from .ruff import RuffRun, RuffTarget, has_ruff_config, refine, ruff_arguments
from .rule import FileResult, Finding, Registry, Rule, Severity
from .suppress import cell_suppresses, matches, metadata_ignores, path_ignores

#: ruff findings that repeat a notebook rule's finding: the notebook rule's message says more, so
#: ruff's is dropped. Undefined names are matched by cell and name (nb2prod reports the first use
#: in a cell, ruff every use), the others by cell and line.
_SAME_NAME: Mapping[str, frozenset[str]] = {"F821": frozenset({"NB104", "NB105", "NB201"})}
_SAME_LINE: Mapping[str, frozenset[str]] = {
    "E402": frozenset({"NB206"}),
    "invalid-syntax": frozenset({"NB208"}),
    "E999": frozenset({"NB208"}),
}
#: A live rule's finding that says more than a static rule's on the same cell (``%nb2prod lint``):
#: the kernel's history is newer than the saved execution counts.
_SUPERSEDED: Mapping[str, str] = {"NB101": "NB113"}
_QUOTED_NAME = re.compile(r"['`]([^'`]+)['`]")
PARALLEL_THRESHOLD = 8  # below this many notebooks, a process pool costs more than it saves


@dataclass(frozen=True)
class Selection:
    """Which codes are on: resolved selectors, shared by nb2prod's rules and ruff."""

    select: tuple[str, ...] | None  # None: the defaults
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()

    def wants(self, rule: Rule) -> bool:
        """Whether a notebook rule runs under this selection."""
        if _matches(rule.code, self.ignore):
            return False
        if _matches(rule.code, self.extend_select):
            return True
        if self.select is None:
            return rule.default_on
        return _matches(rule.code, self.select)

    def wants_code(self, code: str) -> bool:
        """Whether a finding of another tool (nbqa) with this code is reported."""
        if matches(code, self.ignore):
            return False
        return self.select is None or matches(code, (*self.select, *self.extend_select))

    def ruff_select(self, rules: Iterable[str]) -> list[str] | None:
        """The selectors to pass to ruff (None: ruff's project configuration or nb2prod's default).

        ``rules`` are the codes of nb2prod's rules (plugins included); selectors that name them
        are not ruff's.
        """
        if self.select is None:
            return _ruff_codes(self.extend_select, rules) or None
        return [*_ruff_codes(self.select, rules), *_ruff_codes(self.extend_select, rules)]

    def ruff_ignore(self, rules: Iterable[str]) -> list[str]:
        """The selectors to pass to ruff's --ignore."""
        return _ruff_codes(self.ignore, rules)


def _ruff_codes(selectors: Iterable[str], rules: Iterable[str]) -> list[str]:
    own = list(rules)
    return [s for s in selectors if s.upper() == "ALL" or not any(_selects(s.upper(), code) for code in own)]


def _selects(selector: str, code: str) -> bool:
    """Prefix match, except that a selector shorter than "NB" (ruff's pep8-naming "N") never takes nb2prod's NB rules."""
    if selector == "ALL":
        return True
    if code.startswith("NB") and not selector.startswith("NB"):
        return False
    return code.startswith(selector)


def _matches(code: str, selectors: Iterable[str]) -> bool:
    return any(_selects(selector.upper(), code) for selector in selectors)


@dataclass(frozen=True)
class LintOptions:
    """Everything that decides what lint reports, resolved from flags and configuration."""

    selection: Selection
    settings: LintSettings = field(default_factory=LintSettings)
    per_path_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ruff: bool = True
    tools: tuple[str, ...] = ()

    @classmethod
    def resolve(
        cls,
        config: LintConfig,
        *,
        select: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        ruff: bool | None = None,
    ) -> LintOptions:
        """Flags override the configuration; ``--ignore`` adds to the configured ignores."""
        return cls(
            selection=Selection(
                select=tuple(select) if select is not None else config.select,
                ignore=(*config.ignore, *(ignore or ())),
                extend_select=config.extend_select,
            ),
            settings=LintSettings(config.max_cell_lines, config.max_output_kb, config.min_markdown_ratio),
            per_path_ignores=config.per_path_ignores,
            ruff=config.ruff if ruff is None else ruff,
            tools=config.tools,
        )


def check_selectors(selectors: Iterable[str], rules: Registry) -> None:
    """Refuse an ``NB`` selector that matches no rule (a typo would silently select nothing)."""
    for selector in selectors:
        upper = selector.upper()
        if upper.startswith("NB") and not any(_selects(upper, code) for code in rules):
            raise UsageError(f"no lint rule matches '{selector}'", hint="`nb2prod rules` lists them")


def lint_notebook(
    notebook: Notebook, options: LintOptions, rules: Registry | None = None, *, context: LintContext | None = None
) -> FileResult:
    """Run the selected notebook rules on one notebook (ruff not included); pure, never raises on content.

    ``context``: the notebook's context when the caller has one already (its analyses are reused).
    """
    rules = rules if rules is not None else registry()
    context = context if context is not None else LintContext(notebook, options.settings)
    result = FileResult(notebook.display_path, notebook=notebook)
    if not context.is_python:
        result.ruff = False
        result.notes.append(f"code rules skipped, ruff's too: the notebook's code is {context.language.shown}, not Python 3")
    elif context.python2_compatible:
        result.ruff = False
        result.notes.append("Python 2 kernel, but every cell parses as Python 3: linted as Python 3 with Python 2's builtins; ruff skipped")
    notices = notebook.notices if not notebook.is_text else []
    if notices:
        result.ruff = False
        result.notes.extend(notices)
        if context.is_python:
            result.notes.append("ruff skipped: it reads the file as it is on disk")
    for code in rules:
        rule = rules[code]
        if not options.selection.wants(rule):
            continue
        for hit in rule.check(context):
            cell_id = context.cells[hit.cell_index].id if hit.cell_index is not None else None
            result.findings.append(
                Finding(
                    path=notebook.display_path,
                    code=rule.code,
                    severity=rule.severity,
                    message=hit.message,
                    cell_index=hit.cell_index,
                    cell_id=cell_id,
                    line=hit.line,
                    column=hit.column,
                    fixable=hit.fixable,
                )
            )
    result.notes.extend(context.notes)
    return result


def lint_context(context: LintContext, options: LintOptions, config: Config, rules: Registry | None = None) -> FileResult:
    """What ``lint`` reports for a notebook with nb2prod's rules (``rules``, default all; no ruff), on a context the caller holds.

    Suppressions apply as in ``lint``: ``# nb2prod: noqa``, the notebook's metadata, ``per-path-ignores``.
    ``nb2prod export`` uses it to report the NB2 findings of the cells it exports.
    """
    result = lint_notebook(context.notebook, options, rules, context=context)
    _finish(result, options, config)
    return result


def _lint_path(shown: str, path: Path, options: LintOptions, keep_notebook: bool, kernel: KernelState | None = None) -> FileResult:
    try:
        notebook = read_notebook(path, display_path=shown, read_only=True)  # lint never writes: nbformat 3 is upgraded
    except Nb2prodError as error:
        return FileResult(shown, error=error)
    context = LintContext(notebook, options.settings, kernel) if kernel is not None else None
    result = lint_notebook(notebook, options, context=context)
    if not keep_notebook:
        result.notebook = None
    return result


def _lint_batch(batch: Sequence[tuple[str, Path]], options: LintOptions) -> list[FileResult]:
    return [_lint_path(shown, path, options, keep_notebook=False) for shown, path in batch]


def lint(
    paths: Sequence[str | os.PathLike[str]],
    *,
    config: Config | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    ruff: bool | None = None,
    jobs: int | None = None,
    kernel: KernelState | None = None,
) -> LintResults:
    """Lint the notebooks under ``paths`` with nb2prod's rules and ruff; one result per file.

    Unreadable files are reported in their result and the rest are linted. ``jobs`` caps the
    worker processes (default: all cores). Results carry their notebook so reports can show
    source lines. ``kernel``: the state of the kernel running the notebook, for the live rules
    (NB111-NB114, ``%nb2prod lint``); the notebooks are then linted in this process.
    """
    config = config if config is not None else config_for(paths)
    options = LintOptions.resolve(config.lint, select=select, ignore=ignore, ruff=ruff)
    rules = registry()
    check_selectors([*(options.selection.select or ()), *options.selection.ignore, *options.selection.extend_select], rules)
    found = discover(paths, exclude=config.exclude, root=config.root)
    results = {error.path or "": FileResult(error.path or "", error=error) for error in found.errors}

    ruff_run = _start_ruff(found.notebooks, options, config) if options.ruff else None
    workers = min(jobs or os.cpu_count() or 1, len(found.notebooks))
    if workers > 1 and len(found.notebooks) >= PARALLEL_THRESHOLD and kernel is None:
        batches = [found.notebooks[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for batch_results in pool.map(_lint_batch, batches, [options] * workers):
                for item in batch_results:
                    results[item.path] = item
    else:
        for shown, path in found.notebooks:
            results[shown] = _lint_path(shown, path, options, keep_notebook=True, kernel=kernel)

    if ruff_run is not None:
        for shown, findings in ruff_run.findings().items():
            if shown in results and results[shown].error is None and results[shown].ruff:
                results[shown].findings.extend(findings)
    for tool in options.tools:
        loaded = [notebook for shown, _ in found.notebooks if (notebook := _loaded(results[shown])) is not None]
        for shown, findings in run_tool(tool, loaded).items():
            results[shown].findings.extend(f for f in findings if options.selection.wants_code(f.code))
    ordered = [results[shown] for shown, _ in found.notebooks] + [results[e.path or ""] for e in found.errors]
    for result in ordered:
        if result.error is None:
            _finish(result, options, config)
    return LintResults(ordered)


def _loaded(result: FileResult) -> Notebook | None:
    """The result's notebook, read again if a worker process linted it."""
    if result.notebook is None and result.error is None:
        try:
            result.notebook = read_notebook(result.path, read_only=True)
        except Nb2prodError as error:
            result.error = error
    return result.notebook


def _start_ruff(notebooks: Sequence[tuple[str, Path]], options: LintOptions, config: Config) -> RuffRun | None:
    targets = []
    for shown, path in notebooks:
        if path.suffix.lower() == ".ipynb":
            targets.append(RuffTarget(shown, path))
        else:
            try:
                notebook = read_notebook(path, display_path=shown)
            except Nb2prodError:
                continue  # reported by the notebook rules' pass
            targets.append(RuffTarget(shown, path, ipynb_json=json.dumps(notebook.data)))
    if not targets:
        return None
    start = config.root or Path.cwd()
    configured = has_ruff_config(start) or any(has_ruff_config(path) for _, path in notebooks[:1])
    own = list(registry())
    select = options.selection.ruff_select(own)
    if select == []:
        return None  # only nb2prod's rules were selected
    args = ruff_arguments(select, options.selection.ruff_ignore(own), configured=configured)
    return RuffRun(targets, args)


def _finish(result: FileResult, options: LintOptions, config: Config) -> None:
    """Suppress, de-duplicate and sort one file's findings in place; reload the notebook if needed."""
    notebook = _loaded(result) if result.findings else result.notebook
    ignored = path_ignores(result.path, options.per_path_ignores, config.root)
    if notebook is not None:
        ignored += metadata_ignores(notebook.metadata)
    kept = []
    for finding in result.findings:
        if matches(finding.code, ignored):
            continue
        cell = finding.cell_index
        source = notebook.cells[cell].source if notebook is not None and cell is not None and cell < len(notebook.cells) else ""
        if not cell_suppresses(source, finding.code):
            kept.append(finding)
    kept = _without_duplicates(kept)
    if notebook is not None:
        kept = refine(kept, notebook)
        kept = [
            Finding(**{**f.__dict__, "cell_id": notebook.cells[f.cell_index].id})
            if f.cell_id is None and f.cell_index is not None and f.cell_index < len(notebook.cells)
            else f
            for f in kept
        ]
    kept.sort(key=lambda f: (-1 if f.cell_index is None else f.cell_index, f.line or 0, f.column or 0, f.code))
    result.findings = kept


def _without_duplicates(findings: list[Finding]) -> list[Finding]:
    own_lines = {(f.cell_index, f.line, f.code) for f in findings if f.origin == "nb2prod"}
    own_names = {(f.cell_index, _name_in(f.message), f.code) for f in findings if f.origin == "nb2prod"}

    own_cells = {(f.cell_index, f.code) for f in findings if f.origin == "nb2prod"}

    def duplicate(f: Finding) -> bool:
        if f.origin == "nb2prod":
            return f.code in _SUPERSEDED and (f.cell_index, _SUPERSEDED[f.code]) in own_cells
        if any((f.cell_index, f.line, code) in own_lines for code in _SAME_LINE.get(f.code, ())):
            return True
        return any((f.cell_index, _name_in(f.message), code) in own_names for code in _SAME_NAME.get(f.code, ()))

    return [f for f in findings if not duplicate(f)]


def _name_in(message: str) -> str | None:
    match = _QUOTED_NAME.search(message)
    return match.group(1) if match else None


def fails(results: Iterable[FileResult], fail_on: Severity) -> bool:
    """Whether any finding is at or above ``fail_on``."""
    return any(f.severity >= fail_on for result in results for f in result.findings)
