"""Adding nb2prod's hooks to a ``.pre-commit-config.yaml`` without disturbing a byte of the rest.

A user's pre-commit configuration is hand-written: comments, blank lines between repositories,
their own indentation, quotes and flow lists. Loading it with ruamel.yaml's round-trip loader and
dumping it again keeps the comments but not the rest (ruamel re-indents every mapping to one
width, rewrites ``[{id: black}]`` as ``[id: black]``, moves comment spacing), so the file would
change in places nb2prod has no business in. Instead ruamel.yaml is used for everything that needs
to understand YAML, and the file's own text is left alone:

1. the round-trip loader finds the ``repos`` list (or nb2prod's entry in it), the line and column
   of each item, and so the list's indentation and where its last item ends;
2. ruamel.yaml renders the new block with that indentation (the dumper, not string formatting);
3. the block is inserted after the last item, in the file's line endings;
4. both texts are loaded again and the new one must be exactly the old data plus the added hooks;
   otherwise nothing is returned but an error with the block to paste by hand.

So the result is byte-identical to the input except for the added lines.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

__all__ = ["HookBlock", "add_hooks", "render_new_config"]

#: A hook counts as present when any of these ids is configured (``strip-check`` is the read-only ``strip``).
EQUIVALENT = {"nb2prod-strip": ("nb2prod-strip", "nb2prod-strip-check"), "nb2prod-strip-check": ("nb2prod-strip", "nb2prod-strip-check")}
#: A hook that does the work of several separate hooks in one process. A configuration that already
#: has any of the separate hooks keeps that choice: the separate hooks it lacks are added instead of
#: the combined one (which would run the same checks twice at every commit).
COMBINED = {"nb2prod-check": ("nb2prod-strip", "nb2prod-fmt", "nb2prod-lint")}


@dataclass(frozen=True)
class HookBlock:
    """The repository entry to add: the hook repository's URL, the pinned ``rev`` and the hook ids, in order."""

    repo: str
    rev: str
    hooks: tuple[str, ...]

    def entry(self, hooks: Sequence[str] | None = None) -> dict[str, Any]:
        """The entry as plain data (``hooks`` restricts it to some of the ids)."""
        return {"repo": self.repo, "rev": self.rev, "hooks": [{"id": hook} for hook in (self.hooks if hooks is None else hooks)]}


def render_new_config(block: HookBlock, *, header: str = "") -> str:
    """A whole new ``.pre-commit-config.yaml`` holding only ``block`` (pre-commit's own sample layout), after ``header`` comments."""
    return header + "repos:\n" + _render("repos", [block.entry()], offset=0, sequence=4)


def add_hooks(text: str, block: HookBlock, *, shown: str) -> tuple[str, tuple[str, ...]]:
    """Add the hooks of ``block`` that ``text`` (a pre-commit configuration) lacks; return the new text and the ids added.

    Hooks go into an existing entry for ``block.repo`` when there is one (its ``rev`` is left as
    the user pinned it), else a new entry is appended to ``repos``. A hook configured anywhere
    (also under ``repo: local``) counts as present; a combined hook (``COMBINED``) is not added
    where one of its separate hooks is configured, the separate hooks missing are added instead. Nothing to add returns ``text`` itself.
    Raises ``ConfigError`` (naming ``shown``) for YAML that is invalid or not a pre-commit
    configuration, and when the hooks cannot be added without rewriting the user's layout.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    document = _load(text, shown, typ="rt")
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ConfigError("not a pre-commit configuration: the top level must be a mapping with 'repos'", path=shown)
    repos = document.get("repos")
    if repos is not None and not isinstance(repos, CommentedSeq):
        raise ConfigError(
            "'repos' must be a list of repositories",
            path=shown,
            hint="see https://pre-commit.com/#adding-pre-commit-plugins-to-your-project",
        )
    present = {
        hook.get("id") for entry in repos or () if isinstance(entry, dict) for hook in (entry.get("hooks") or ()) if isinstance(hook, dict)
    }
    missing = tuple(hook for hook in _wanted(block.hooks, present) if not any(same in present for same in EQUIVALENT.get(hook, (hook,))))
    if not missing:
        return text, ()
    expected = _load(text, shown, typ="safe") or {}
    newline = "\r\n" if "\r\n" in text else "\n"
    ours = next((entry for entry in repos or () if isinstance(entry, dict) and entry.get("repo") == block.repo), None)
    if ours is not None and isinstance(ours.get("hooks"), CommentedSeq) and len(ours["hooks"]) > 0:
        index = repos.index(ours)
        expected["repos"][index]["hooks"].extend({"id": hook} for hook in missing)
        new = _append_to_sequence(text, ours["hooks"], ours, "hooks", [{"id": hook} for hook in missing], newline)
    elif isinstance(repos, CommentedSeq) and len(repos) > 0:
        expected["repos"].append(block.entry(missing))
        new = _append_to_sequence(text, repos, document, "repos", [block.entry(missing)], newline)
    else:  # no repos yet: `repos:` missing, empty or `[]`
        expected["repos"] = [block.entry(missing)]
        new = _add_repos_key(text, document, block.entry(missing), newline)
    if new is None or _load(new, shown, typ="safe") != expected:
        raise ConfigError(
            "cannot add nb2prod's hooks without rewriting the layout of this file (flow-style lists?)",
            path=shown,
            hint="add to 'repos' by hand: " + _render("repos", [block.entry(missing)], offset=0, sequence=2).strip().replace("\n", " / "),
        )
    return new, missing


def _wanted(hooks: Sequence[str], present: set[Any]) -> list[str]:
    """``hooks``, each combined hook replaced by its separate hooks when ``present`` already holds one of those."""
    wanted: list[str] = []
    for hook in hooks:
        separate = COMBINED.get(hook, ())
        chosen = hook not in present and any(same in present for part in separate for same in EQUIVALENT.get(part, (part,)))
        wanted.extend(separate if chosen else (hook,))
    return wanted


def _load(text: str, shown: str, *, typ: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ=typ, pure=True).load(text)
    except YAMLError as exc:
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML: {problem}{where}", path=shown, hint="fix the syntax, then run nb2prod init again") from None


def _render(key: str, items: list[dict[str, Any]], *, offset: int, sequence: int, indent: int = 0) -> str:
    """``items`` as a block list under ``key``, dumped by ruamel.yaml with the given dash offset and content indent.

    Returns the list's lines only (not the ``key:`` line), each shifted right by ``indent``.
    """
    from ruamel.yaml import YAML

    dumper = YAML(typ="rt", pure=True)
    dumper.width = 4096
    dumper.indent(mapping=max(2, sequence - offset), sequence=sequence, offset=offset)
    stream = io.StringIO()
    dumper.dump({key: copy.deepcopy(items)}, stream)
    lines = stream.getvalue().splitlines(keepends=True)[1:]
    return "".join(" " * indent + line for line in lines)


def _append_to_sequence(text: str, sequence: Any, parent: Any, key: str, items: list[dict[str, Any]], newline: str) -> str | None:
    """``text`` with ``items`` rendered after the last item of the block list ``sequence`` (the value of ``parent[key]``)."""
    lines = text.splitlines(keepends=True)
    if sequence.fa.flow_style():
        return None
    first_line, first_col = sequence.lc.item(0)
    dash = lines[first_line].rfind("-", 0, first_col)
    if dash < 0 or lines[first_line][dash + 1 : first_col].strip():
        return None
    key_col = parent.lc.key(key)[1]
    if dash < key_col:
        return None
    end = _end_of_item(lines, sequence.lc.item(len(sequence) - 1)[0], dash)
    separated = len(sequence) > 1 and _blank_line_between(lines, sequence.lc.item(0)[0], sequence.lc.item(1)[0])
    block = _render(key, items, offset=dash - key_col, sequence=first_col - key_col, indent=key_col)
    block = ("\n" if separated else "") + block
    head = "".join(lines[:end])
    if head and not head.endswith(("\n", "\r")):
        head += newline
    return head + block.replace("\n", newline) + "".join(lines[end:])


def _end_of_item(lines: list[str], start: int, dash: int) -> int:
    """The index of the line after the last line of the list item starting on line ``start`` with its dash at column ``dash``.

    The item goes on while lines are blank or indented past the dash; trailing blank lines and
    comments at the dash's column or left of it are not the item's.
    """
    end = start + 1
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if len(lines[index]) - len(lines[index].lstrip(" ")) <= dash:
            break
        end = index + 1
    return end


def _blank_line_between(lines: list[str], first: int, second: int) -> bool:
    """Whether a blank line separates two list items (the user's layout: a blank line between repositories)."""
    return any(not line.strip() for line in lines[first + 1 : second])


def _add_repos_key(text: str, document: Any, entry: dict[str, Any], newline: str) -> str | None:
    """``text`` with a ``repos:`` list holding ``entry``: after an empty ``repos:`` key, or appended at the end."""
    block = _render("repos", [entry], offset=0, sequence=2)
    lines = text.splitlines(keepends=True)
    if "repos" in document:
        line, col = document.lc.key("repos")
        if col != 0:
            return None
        value = lines[line].split("#", 1)[0].rstrip()
        if value not in ("repos:", "repos: []", "repos: null", "repos: ~"):
            return None
        comment = lines[line][len(lines[line].split("#", 1)[0]) :] if "#" in lines[line] else ""
        ending = lines[line][len(lines[line].rstrip("\r\n")) :] or newline
        rebuilt = "repos:" + (" " + comment.rstrip("\r\n") if comment else "") + ending
        return "".join(lines[:line]) + rebuilt + block.replace("\n", newline) + "".join(lines[line + 1 :])
    head = text if not text or text.endswith(("\n", "\r")) else text + newline
    return head + ("repos:\n" + block).replace("\n", newline)
