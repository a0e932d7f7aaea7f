"""Text from files and notebooks made safe to print on a terminal.

Metric names, parameter values, file names and error messages come from notebooks, run records and
the file system: they may hold terminal escapes (colours, a window-title sequence ``\\x1b]0;…\\x07``,
cursor moves), newlines that would break a report's rows, or lone surrogates that cannot be
encoded. Every command that prints such text passes it through ``printable`` first.
"""

from __future__ import annotations

import unicodedata

# Control characters (C0, DEL, C1), line and paragraph separators (``str.splitlines`` breaks on
# them), lone surrogates (not encodable), and the bidirectional overrides that make a terminal
# show text in another order than it is stored ("Trojan Source").
_ESCAPED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` with control characters (other than tab) shown escaped (``\\x1b``, ``\\n``), so nothing reaches the terminal raw."""
    if text.isprintable():  # the common case: no character of those categories (nor any other unprintable one)
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if char != "\t" and (unicodedata.category(char) in _ESCAPED_CATEGORIES or char in _BIDI_CONTROLS)
        else char
        for char in text
    )
