"""How to tell an error a notebook shows on purpose (NB501 and ``--fix`` leave those alone).

Textbooks and courses store tracebacks on purpose: "Errors and Debugging" chapters, "this raises a
ValueError" demonstrations. They say so, in the cell's own comments or in the markdown around it,
or with the ``raises-exception`` tag that nbval, nbsphinx, jupyter-book, papermill and nbmake read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...model import source_text

#: Words in a cell's comments or the markdown around it that say a stored error is shown on purpose.
_TEACHING_WORDS = re.compile(
    r"\b(?:errors?|exceptions?|raises?|raised|raising|fails?|failed|failing|traceback|attempt(?:ing)?|"
    r"not (?:well[- ])?defined|won't work|will not work|doesn't work|does not work|not allowed|not supported|oops)\b",
    re.IGNORECASE,
)
#: "error" as a quantity, not a failure: taken out before looking for the words above.
_ERROR_METRIC = re.compile(
    r"\b(?:squared|absolute|standard|relative|mean|percentage|log|training|train|test|validation|generalization|"
    r"reconstruction|prediction|classification|approximation|rounding|sampling|out-of-bag|type [i12]+)\s+errors?\b|"
    r"\berrors?\s+(?:rates?|bars?|terms?|metrics?|functions?|surfaces?|curves?|analysis)\b",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"#(.*)$", re.MULTILINE)


def _markdown_near(cells: Sequence[Mapping[str, Any]], index: int) -> str:
    """The markdown cell just above ``index`` (at most one code cell between) and the one just below it."""
    texts = []
    for step, limit in ((-1, 2), (1, 1)):
        position = index + step
        while 0 <= position < len(cells) and abs(position - index) <= limit:
            cell = cells[position]
            if cell.get("cell_type") == "markdown":
                texts.append(source_text(cell.get("source", "")))
                break
            position += step
    return "\n".join(texts)


def is_teaching_error(cells: Sequence[Mapping[str, Any]], index: int, notebook_source: str = "") -> bool:
    """Whether the stored error of the code cell at ``index`` (raw cell JSON) is shown on purpose.

    A notebook that teaches an error says so, and NB501 (and ``--fix``) leave such errors alone:

    - the cell is tagged ``raises-exception`` (the convention of nbval, nbsphinx, jupyter-book,
      papermill and nbmake);
    - the cell's own comments, or the markdown just above it (at most one code cell between) or
      just below it, name the error (``ValueError``) or speak of errors (error, exception, raise,
      fail, traceback, attempt, "not defined", "won't work"…);
    - the notebook sets ``%xmode``, which only a notebook about tracebacks does.
    """
    cell = cells[index]
    if "raises-exception" in ((cell.get("metadata") or {}).get("tags") or ()):
        return True
    if "%xmode" in notebook_source:
        return True
    names = {str(o.get("ename")) for o in cell.get("outputs") or () if o.get("output_type") == "error" and o.get("ename")}
    comments = "\n".join(_COMMENT.findall(source_text(cell.get("source", ""))))
    around = _markdown_near(cells, index)
    texts = [_ERROR_METRIC.sub("", text) for text in (comments, around)]
    return any(_TEACHING_WORDS.search(text) or any(name in text for name in names) for text in texts)


def all_code(cells: Sequence[Mapping[str, Any]]) -> str:
    """The source of every code cell (raw cell JSON), joined: what ``is_teaching_error`` looks for ``%xmode`` in."""
    return "\n".join(source_text(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "code")
