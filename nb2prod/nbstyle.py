"""Serialising notebook JSON in a file's own style, so an unchanged notebook keeps its bytes.

A .ipynb file's indent, separators, key order, line endings, trailing newline, BOM and escaped or
raw non-ASCII are detected from its bytes (:func:`detect_style`) and reproduced on write
(:func:`dumps_ipynb`); a changed notebook then gives a minimal diff.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

BOM = b"\xef\xbb\xbf"
# What only an escaping dumper writes: \u escapes of non-ASCII characters, and of DEL (U+007F), which
# Python's ensure_ascii escapes although it is ASCII.
_ESCAPED_NON_ASCII = re.compile(r"\\u(?:007[fF]|00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})")


@dataclass(frozen=True)
class JsonStyle:
    """How a .ipynb file was serialised, so a rewrite looks like the original."""

    indent: str | None  # the indent unit ("\t", " ", "  "…), None for a one-line file
    item_separator: str
    key_separator: str
    ensure_ascii: bool
    newline: str  # "\n" or "\r\n"
    tail: str  # whitespace after the closing brace, "" when there is no trailing newline
    bom: bool


#: nbformat's own style, for notebooks nb2prod creates.
NBFORMAT_STYLE = JsonStyle(" ", ",", ": ", False, "\n", "\n", False)


def detect_style(raw: bytes) -> JsonStyle:
    """Work out how a .ipynb file was serialised from its bytes."""
    bom = raw.startswith(BOM)
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    if newline == "\r\n":
        text = text.replace("\r\n", "\n")
    body = text.rstrip()
    tail = text[len(body) :]
    if "\n" in body:
        second = body.split("\n", 2)[1]
        indent = second[: len(second) - len(second.lstrip())] or " "
        item_separator = ","
        key_separator = ":" if '":' in body and '": ' not in body else ": "
    else:
        indent = None
        item_separator = ", " if ', "' in body else ","
        key_separator = ": " if '": ' in body else ":"
    has_raw_non_ascii = not body.isascii()
    ensure_ascii = not has_raw_non_ascii and bool(_ESCAPED_NON_ASCII.search(body))
    return JsonStyle(indent, item_separator, key_separator, ensure_ascii, newline, tail, bom)


def dumps_ipynb(data: Mapping[str, Any], style: JsonStyle = NBFORMAT_STYLE, *, sort_keys: bool = False) -> bytes:
    """Serialise notebook JSON in the given style."""
    text = json.dumps(
        data,
        indent=style.indent,
        separators=(style.item_separator, style.key_separator),
        ensure_ascii=style.ensure_ascii,
        sort_keys=sort_keys,
    )
    text += style.tail
    if style.newline != "\n":
        text = text.replace("\n", style.newline)
    encoded = text.encode("utf-8")
    return BOM + encoded if style.bom else encoded


def same_json(a: Any, b: Any) -> bool:
    """``a == b`` as JSON sees it: 1, 1.0 and true differ although Python's ``==`` holds them equal."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    return a == b
