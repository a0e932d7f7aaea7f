"""``nb2prod init``: set an existing git repository up for nb2prod, without clobbering anything.

Three files, each only when it lacks what nb2prod needs:

- ``.pre-commit-config.yaml``: nb2prod's hooks (``nb2prod-check``, which strips, formats and
  lints in one process, and export-check when ``[[tool.nb2prod.export]]`` lists packages; a
  configuration that already uses the separate strip, fmt or lint hooks gets the ones it lacks),
  pinned to ``rev: v{__version__}``, the tag of the nb2prod that runs ``init``: the hooks then run
  the version the user has installed and tried. Merged into an existing file byte for byte (see :mod:`nb2prod.precommit_config`);
- ``pyproject.toml``: a commented ``[tool.nb2prod]`` table, added with tomlkit (which keeps the
  rest of the file as it is) or in a new minimal file;
- with ``ci="github"``: ``.github/workflows/nb2prod.yml``, a workflow that lints, checks exports
  and gates on metrics; an existing workflow of that name is left alone.

Everything is planned before anything is written, so a malformed file stops ``init`` with nothing
changed. The files are then written together through :mod:`nb2prod.atomic`, each refused if it
changed on disk since it was read. Running ``init`` again changes nothing.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._version import __version__
from .atomic import PendingWrite, atomic_write_all, unchanged_since_read
from .ci_workflow import CI_PROVIDERS, github_workflow
from .errors import ConfigError, UsageError
from .precommit_config import HookBlock, add_hooks, render_new_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["CI_PROVIDERS", "HOOKS_REPO", "FileChange", "InitResult", "hook_block", "init_repository"]

HOOKS_REPO = "https://github.com/nb2prod/nb2prod"
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
PYPROJECT = "pyproject.toml"
GITHUB_WORKFLOW = ".github/workflows/nb2prod.yml"
_NEW_CONFIG_HEADER = "# pre-commit hooks (https://pre-commit.com); `pre-commit install` runs them at every commit.\n"


@dataclass(frozen=True)
class FileChange:
    """One file ``init`` creates or changes: its path, the bytes it had (``None``: new) and will have, and what changed."""

    path: Path
    shown: str
    old: bytes | None
    new: bytes
    summary: str

    @property
    def created(self) -> bool:
        """Whether the file is new."""
        return self.old is None

    def diff(self) -> str:
        """A unified diff from the old content to the new (from ``/dev/null`` for a new file)."""
        old = [] if self.old is None else self.old.decode("utf-8").splitlines(keepends=True)
        new = self.new.decode("utf-8").splitlines(keepends=True)
        before = "/dev/null" if self.old is None else f"a/{self.shown}"
        lines = difflib.unified_diff(old, new, fromfile=before, tofile=f"b/{self.shown}")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass(frozen=True)
class InitResult:
    """What ``init`` changed (or with ``dry_run`` would change) in the repository at ``root``, and notes for the user."""

    root: Path
    changes: tuple[FileChange, ...]
    notes: tuple[str, ...]
    written: bool


def hook_block(*, export_check: bool) -> HookBlock:
    """nb2prod's hooks as ``init`` adds them, pinned to this nb2prod's version tag."""
    # One process for strip, fmt and lint: a hook's start-up is most of its cost on one notebook.
    hooks = ("nb2prod-check",) + (("nb2prod-export-check",) if export_check else ())
    return HookBlock(HOOKS_REPO, f"v{__version__}", hooks)


def init_repository(path: str | os.PathLike[str] | None = None, *, ci: str | None = None, dry_run: bool = False) -> InitResult:
    """Set up the git repository containing ``path`` (default: the current folder); see the module docstring.

    With ``dry_run`` nothing is written and the result says what would change. Raises
    ``UsageError`` outside a git repository or for an unknown ``ci``, ``ConfigError`` for a
    malformed file (nothing written), ``WriteConflictError`` when a file changed meanwhile.
    """
    if ci is not None and ci not in CI_PROVIDERS:
        raise UsageError(f"unknown CI provider '{ci}'", hint=f"choose from: {', '.join(CI_PROVIDERS)}")
    root = _repository_root(Path(path) if path is not None else Path.cwd())
    notes: list[str] = []
    changes: list[FileChange] = []

    pyproject_change, pyproject_text = _plan_pyproject(root)
    if pyproject_change is not None:
        changes.append(pyproject_change)
    exports = _has_exports(pyproject_text)
    precommit = _plan_precommit(root, export_check=exports)
    if precommit is not None:
        changes.insert(0, precommit)
    if not exports:
        notes.append(
            "nb2prod-export-check was not added: [[tool.nb2prod.export]] in pyproject.toml lists no package; "
            "add one and run nb2prod init again"
        )
    if ci == "github":
        workflow, note = _plan_workflow(root)
        if workflow is not None:
            changes.append(workflow)
        if note:
            notes.append(note)

    if changes and not dry_run:
        _write(changes)
    if any(change.path.name == PRE_COMMIT_CONFIG for change in changes):
        notes.append("run `pre-commit install` once to run the hooks at every commit")
    return InitResult(root, tuple(changes), tuple(notes), written=bool(changes) and not dry_run)


def _repository_root(start: Path) -> Path:
    folder = Path(os.path.abspath(start))
    if not folder.is_dir():
        raise UsageError("no such folder", path=os.fspath(start), hint="pass the repository's folder")
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    raise UsageError(
        "not inside a git repository", path=os.fspath(start), hint="pre-commit works in a git repository: run `git init` first"
    )


def _shown(root: Path, name: str) -> str:
    """``name`` (relative to the repository root) as seen from the current folder (``../pyproject.toml`` from a subfolder)."""
    try:
        return os.path.relpath(root / name)
    except ValueError:  # another drive on Windows
        return os.fspath(root / name)


def _read(path: Path, shown: str) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=shown) from None


def _decode(data: bytes, shown: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=shown, hint="save it as UTF-8") from None


# --- .pre-commit-config.yaml -------------------------------------------------------------------


def _plan_precommit(root: Path, *, export_check: bool) -> FileChange | None:
    path = root / PRE_COMMIT_CONFIG
    shown = _shown(root, PRE_COMMIT_CONFIG)
    block = hook_block(export_check=export_check)
    old = _read(path, shown)
    if old is None:
        text = render_new_config(block, header=_NEW_CONFIG_HEADER)
        return FileChange(path, shown, None, text.encode("utf-8"), f"hooks {', '.join(block.hooks)} (rev {block.rev})")
    new, added = add_hooks(_decode(old, shown), block, shown=shown)
    if not added:
        return None
    return FileChange(path, shown, old, new.encode("utf-8"), f"added hooks {', '.join(added)}")


# --- pyproject.toml ----------------------------------------------------------------------------

_TABLE_COMMENTS = (
    ("# nb2prod's settings (added by `nb2prod init`). Every key is optional; a misspelt one is an error.",),
    ("exclude", 'glob patterns of notebooks and folders to skip, e.g. ["drafts", "*.scratch.ipynb"]'),
    ("",),
    ("# [tool.nb2prod.strip]",),
    ("# keep-count = false                     # keep execution counts",),
    ('# extra-keys = ["metadata.celltoolbar"]   # clear these metadata keys too',),
    ("",),
    ("# [tool.nb2prod.lint]",),
    ('# fail-on = "warning"                    # error | warning | info',),
    ('# ignore = ["NB504"]                     # rules to skip; `nb2prod rules` lists them',),
    ('# formatter = "ruff"                     # nb2prod fmt: ruff | black',),
    ("",),
    ("# Packages exported from notebooks: `nb2prod export` writes them, the nb2prod-export-check hook",),
    ("# fails a commit when one is out of date. Run `nb2prod init` again after adding one.",),
    ("# [[tool.nb2prod.export]]",),
    ('# notebooks = ["notebooks/train.ipynb"]',),
    ('# out = "build/train"                    # or into = "src/mypkg": only the modules, into your package',),
)


def _nb2prod_table() -> Any:
    """The commented ``[tool.nb2prod]`` table ``init`` adds, as a tomlkit table."""
    import tomlkit

    table = tomlkit.table()
    for item in _TABLE_COMMENTS:
        if item == ("",):
            table.add(tomlkit.nl())
        elif len(item) == 1:
            table.add(tomlkit.comment(item[0].removeprefix("# ")))
        else:
            key, comment = item
            value = tomlkit.array()
            value.comment(comment)
            table.add(key, value)
    return table


def _plan_pyproject(root: Path) -> tuple[FileChange | None, str]:
    """The change to pyproject.toml (``None`` when it has ``[tool.nb2prod]``) and its text after the change."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    path = root / PYPROJECT
    shown = _shown(root, PYPROJECT)
    old = _read(path, shown)
    text = _decode(old, shown) if old is not None else ""
    try:
        before = tomllib.loads(text)
        document = tomlkit.parse(text)
    except (tomllib.TOMLDecodeError, TOMLKitError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=shown, hint="fix the syntax, then run nb2prod init again") from None
    tool = before.get("tool", {})
    if isinstance(tool, dict) and "nb2prod" in tool:
        return None, text
    table = _nb2prod_table()
    if "tool" in document:
        try:
            document["tool"]["nb2prod"] = table
        except (TypeError, ValueError, TOMLKitError):
            raise ConfigError(
                "[tool] is an inline table or a value; init cannot add [tool.nb2prod] to it", path=shown, hint="add it by hand"
            ) from None
    else:
        if old is None:
            document.add(tomlkit.comment("Created by `nb2prod init`. A Python project's metadata ([project]) and other tools'"))
            document.add(tomlkit.comment("settings ([tool.NAME]) can live here too."))
        tool_table = tomlkit.table(is_super_table=True)
        tool_table["nb2prod"] = table
        document["tool"] = tool_table
    new = document.as_string()
    if not new.endswith("\n"):
        new += "\n"
    expected = {**before, "tool": {**(tool if isinstance(tool, dict) else {}), "nb2prod": {"exclude": []}}}
    try:
        after = tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        after = None
    if after != expected or not _lines_kept(text, new):
        raise ConfigError("cannot add [tool.nb2prod] without rewriting this file", path=shown, hint="add a [tool.nb2prod] table by hand")
    summary = "a commented [tool.nb2prod] table" if old is None else "added a commented [tool.nb2prod] table"
    return FileChange(path, shown, old, new.encode("utf-8"), summary), new


def _lines_kept(old: str, new: str) -> bool:
    """Whether ``new`` holds every line of ``old`` unchanged and in order (only lines were added)."""
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    return all(tag == "insert" for tag, *_ in matcher.get_opcodes() if tag != "equal")


def _has_exports(pyproject_text: str) -> bool:
    """Whether the pyproject.toml (as it will be) lists packages in ``[[tool.nb2prod.export]]``."""
    exports = tomllib.loads(pyproject_text).get("tool", {}).get("nb2prod", {}).get("export", [])
    return isinstance(exports, list) and len(exports) > 0


# --- GitHub workflow -----------------------------------------------------------------------------


def _plan_workflow(root: Path) -> tuple[FileChange | None, str | None]:
    path = root / GITHUB_WORKFLOW
    shown = _shown(root, GITHUB_WORKFLOW)
    text = github_workflow(__version__)
    old = _read(path, shown)
    if old is None:
        return FileChange(path, shown, None, text.encode("utf-8"), "a workflow that lints, checks exports and gates on metrics"), None
    if old == text.encode("utf-8"):
        return None, None
    return None, f"{shown} exists and differs from nb2prod's; left as it is (delete it and run init again for nb2prod's)"


# --- writing -------------------------------------------------------------------------------------


def _write(changes: Sequence[FileChange]) -> None:
    """Write every change as one step; each is refused if its file changed on disk since it was read."""
    for change in changes:
        if change.created:
            change.path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_all([PendingWrite(change.path, change.new, _unchanged_since_read(change), change.shown) for change in changes])


def _unchanged_since_read(change: FileChange) -> Callable[[], None]:
    return unchanged_since_read(
        change.path,
        change.old,
        change.shown,
        message="changed on disk while nb2prod init ran; nothing was written",
        hint="run nb2prod init again",
    )
