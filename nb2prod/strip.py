"""``strip``: clear outputs, execution counts and volatile metadata before a notebook is committed.

Defaults match nbstripout's (outputs, counts, ``signature``, widget state, and the cell metadata
Jupyter rewrites on every run) with two deliberate differences: cell ids are kept (nbstripout
renumbers them, which breaks links to cells and lint's cell ids), and the notebook is written in
its own style instead of being reformatted. Cells tagged ``keep-output`` (or nbstripout's
``keep_output``) keep their outputs. Text notebooks hold no outputs and pass through untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._callable import make_callable
from .config import STRIP_KEY_HINT, Config, StripConfig, config_for, is_strip_key
from .discover import discover
from .errors import ConfigError, Nb2prodError
from .notebook import read_notebook, same_json, write_notebook

#: Keys cleared by default, in nbstripout's ``extra-keys`` notation (``metadata.*`` is the
#: notebook's metadata, ``cell.*`` applies to every cell).
DEFAULT_KEYS: tuple[str, ...] = (
    "metadata.signature",
    "metadata.widgets",
    "cell.metadata.collapsed",
    "cell.metadata.scrolled",
    "cell.metadata.ExecuteTime",
    "cell.metadata.execution",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
)
KEEP_OUTPUT_TAGS = frozenset({"keep-output", "keep_output"})


@dataclass(frozen=True)
class StripOptions:
    """What to clear. Build it with ``StripOptions.from_config`` to apply defaults and checks."""

    keys: tuple[tuple[str, ...], ...] = tuple(tuple(key.split(".")) for key in DEFAULT_KEYS)
    keep_count: bool = False
    keep_output: bool = False

    @classmethod
    def from_config(cls, config: StripConfig, *, keep_count: bool | None = None, keep_output: bool | None = None) -> StripOptions:
        """Defaults, plus the configured extra keys, minus the kept ones; flags override the file."""
        for key in (*config.extra_keys, *config.keep_keys):
            if not is_strip_key(key):
                raise ConfigError(f"invalid strip key '{key}'", hint=STRIP_KEY_HINT)
        kept = set(config.keep_keys)
        keys = [key for key in (*DEFAULT_KEYS, *config.extra_keys) if key not in kept]
        return cls(
            keys=tuple(dict.fromkeys(tuple(key.split(".")) for key in keys)),
            keep_count=config.keep_count if keep_count is None else keep_count,
            keep_output=config.keep_output if keep_output is None else keep_output,
        )


def strip_notebook(data: Mapping[str, Any], options: StripOptions = StripOptions()) -> dict[str, Any]:
    """Return a stripped copy of notebook JSON; ``data`` itself is never modified.

    Only what changes is copied, so stripping an already clean 100 MB notebook costs little.
    """
    tree = _key_tree(options.keys)
    result = dict(data)
    if "metadata" in data:
        result["metadata"] = _without(data["metadata"], tree.get("metadata") or {})
    cell_tree = tree.get("cell") or {}
    result["cells"] = [_strip_cell(cell, cell_tree, options) for cell in data["cells"]]
    return result


_KeyTree = dict[str, "_KeyTree | None"]  # None marks a key to delete


def _key_tree(keys: Iterable[tuple[str, ...]]) -> _KeyTree:
    """Nested keys as a tree, so each mapping is visited once whatever the number of keys."""
    tree: _KeyTree = {}
    for key in keys:
        node = tree
        for part in key[:-1]:
            child = node.get(part, {})
            if child is None:  # a parent is deleted whole already
                break
            node = node.setdefault(part, child)
        else:
            node[key[-1]] = None
    return tree


def _strip_cell(cell: Mapping[str, Any], keys: _KeyTree, options: StripOptions) -> Mapping[str, Any]:
    new = _without(cell, keys)
    if cell.get("cell_type") != "code":
        return new
    keep = options.keep_output
    if not keep:
        metadata = cell.get("metadata") or {}
        keep = metadata.get("keep_output") is True or not KEEP_OUTPUT_TAGS.isdisjoint(metadata.get("tags", ()))
    outputs = cell.get("outputs")
    clear_count = not options.keep_count and cell.get("execution_count") is not None
    if not clear_count and (not outputs or (keep and (options.keep_count or not _any_counted(outputs)))):
        return new  # nothing to clear: keep sharing the original objects
    new = dict(new)
    if not options.keep_count:
        new["execution_count"] = None
    if not keep:
        new["outputs"] = []
    elif not options.keep_count:
        new["outputs"] = [{**out, "execution_count": None} if out.get("execution_count") is not None else out for out in outputs]
    return new


def _any_counted(outputs: Iterable[Mapping[str, Any]]) -> bool:
    return any(output.get("execution_count") is not None for output in outputs)


def _without(mapping: Mapping[str, Any], tree: _KeyTree) -> Mapping[str, Any]:
    """``mapping`` minus the keys in ``tree``; the same object when none of them is there."""
    result: dict[str, Any] | None = None
    for head, subtree in tree.items():
        if head not in mapping:
            continue
        if subtree is None:
            result = dict(mapping) if result is None else result
            del result[head]
            continue
        inner = mapping[head]
        if not isinstance(inner, Mapping):
            continue
        trimmed = _without(inner, subtree)
        if trimmed is not inner:
            result = dict(mapping) if result is None else result
            result[head] = trimmed
    return mapping if result is None else result


@dataclass(frozen=True)
class StripResult:
    """The outcome for one notebook: changed (or would change), written, or an error."""

    path: str
    changed: bool = False
    written: bool = False
    error: Nb2prodError | None = None


def strip(
    paths: Sequence[str | os.PathLike[str]],
    *,
    write: bool = True,
    config: Config | None = None,
    keep_count: bool | None = None,
    keep_output: bool | None = None,
) -> list[StripResult]:
    """Strip every notebook under ``paths``; with ``write=False`` only report what would change.

    One unreadable or unwritable notebook does not stop the others: its result carries the error.
    ``config`` defaults to the nearest pyproject.toml's ``[tool.nb2prod]``.
    """
    config = config if config is not None else config_for(paths)
    options = StripOptions.from_config(config.strip, keep_count=keep_count, keep_output=keep_output)
    found = discover(paths, exclude=config.exclude, root=config.root)
    results = [StripResult(error.path or "", error=error) for error in found.errors]
    for shown, path in found.notebooks:
        try:
            notebook = read_notebook(path, display_path=shown)
            if notebook.is_text:
                results.append(StripResult(shown))
                continue
            stripped = strip_notebook(notebook.data, options)
            changed = not same_json(stripped, notebook.data)
            written = write and changed and write_notebook(notebook, stripped)
            results.append(StripResult(shown, changed=changed, written=written))
        except Nb2prodError as error:
            results.append(StripResult(shown, error=error))
    return results


make_callable(__name__, "nb2prod.strip:strip")  # nb2prod.strip(paths, ...) strips: see nb2prod._callable
