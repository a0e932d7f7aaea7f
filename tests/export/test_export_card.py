"""The model card's title and description from a notebook's markdown (``nb2prod.export.card``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nb2prod.export.card import title_and_description
from nb2prod.notebook import Notebook


def notebook(*cells: tuple[str, str]) -> Notebook:
    built: list[dict[str, Any]] = []
    for index, (kind, source) in enumerate(cells):
        cell: dict[str, Any] = {"cell_type": kind, "id": f"c{index}", "metadata": {}, "source": source}
        if kind == "code":
            cell |= {"execution_count": None, "outputs": []}
        built.append(cell)
    data = {"cells": built, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return Notebook(Path("nb.ipynb"), "nb.ipynb", data, json.dumps(data).encode(), "ipynb")


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("**My model**\n\nPredicts churn.\n\n# Data\n\nThe data.", ("My model", "Predicts churn.")),
        ("__My model__\nPredicts churn.", ("My model", "Predicts churn.")),
        ("\n**My `churn` model**  \n\nPredicts churn.", ("My churn model", "Predicts churn.")),
        ("## Churn model\n\nPredicts churn.\n\n# Data", ("Churn model", "Predicts churn.")),
        ("### Churn model ###\nPredicts churn.", ("Churn model", "Predicts churn.")),
    ],
)
def test_the_first_line_of_the_first_markdown_cell_is_the_title_when_bold_or_a_heading(first: str, expected: tuple[str, str]) -> None:
    """Issue #9 item 23: the title came from the first `# ` heading, a later section, when the notebook's title was bold text."""
    assert title_and_description(notebook(("markdown", first), ("code", "x = 1"), ("markdown", "# Results"))) == expected


@pytest.mark.parametrize(
    "first",
    [
        "Some introduction.\n\n# Churn model\n\nPredicts churn.",
        "**Note:** read this first.\n\n# Churn model\n\nPredicts churn.",
        "**bold** and plain\n\n# Churn model\n\nPredicts churn.",
    ],
)
def test_otherwise_the_first_level_one_heading_is_the_title(first: str) -> None:
    assert title_and_description(notebook(("markdown", first))) == ("Churn model", "Predicts churn.")


def test_a_code_cell_before_the_first_markdown_cell_does_not_hide_its_title() -> None:
    nb = notebook(("code", "import os"), ("markdown", "**Churn model**\n\nPredicts churn."), ("code", "x = 1"))
    assert title_and_description(nb) == ("Churn model", "Predicts churn.")


def test_no_title_without_a_bold_first_line_or_a_level_one_heading() -> None:
    assert title_and_description(notebook(("markdown", "Just text.\n\n## Section"), ("code", "x = 1"))) == ("", "")


def test_control_characters_are_dropped_from_title_and_description() -> None:
    """reliability.md scenario 56: a title or description with control characters still gives valid files; tabs and newlines stay."""
    nb = notebook(("markdown", "# My \x7fmodel\x1b\n\nReads\x00 the\x85 data\u2028now.\tTabs stay.\ud800"))
    assert title_and_description(nb) == ("My model", "Reads the data\nnow.\tTabs stay.\ufffd")
