"""ruff's findings in a notebook: severities that fit notebooks, and no F821 for names IPython syntax defines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nb2prod.config import Config
from nb2prod.lint.engine import lint
from nb2prod.lint.ruff import SEVERITIES, severity
from nb2prod.lint.rule import Finding, Severity

MakeNotebook = Callable[..., Path]


def ruff_findings(path: Path, *codes: str) -> list[Finding]:
    [result] = lint([path], config=Config(), select=list(codes))
    assert result.error is None
    return result.findings


def test_f821_is_dropped_for_names_ipython_syntax_defines(make_notebook: MakeNotebook) -> None:
    """Issue #9 item 18: ruff does not know what ``%%capture out``, ``%time x = 1``, ``%store -r`` or ``!`` bind."""
    path = make_notebook(
        [
            '%%capture out\nprint("hi")',
            "out.show()",
            "%time x = 1",
            "print(x)",
            "%store -r saved\nprint(saved)",
            "files = !ls\nprint(files)",
            "print(In[1], Out)",
            "print(never_defined)",
        ]
    )
    found = [(f.cell_index, f.message) for f in ruff_findings(path, "F821")]
    assert found == [(7, "Undefined name `never_defined`")], "only the name no cell defines is left"


def test_f821_of_a_name_defined_in_a_later_cell_leaves_it_to_nb104(make_notebook: MakeNotebook) -> None:
    path = make_notebook(["print(threshold)", "threshold = 0.5"])
    assert [f.code for f in ruff_findings(path, "F821", "NB104")] == ["NB104"]


def test_f811_across_cells_is_info_and_within_a_cell_a_warning(make_notebook: MakeNotebook) -> None:
    """Issue #9 item 19: redefining a function in a later cell is how notebooks are written."""
    path = make_notebook(
        [
            "def f():\n    return 1",
            "def f():\n    return 2",
            "def g():\n    return 1\n\n\ndef g():\n    return 2",
        ]
    )
    found = {(f.cell_index, f.severity) for f in ruff_findings(path, "F811")}
    assert found == {(1, Severity.INFO), (2, Severity.WARNING)}


def test_unused_local_variable_is_a_warning_not_an_error(make_notebook: MakeNotebook) -> None:
    path = make_notebook(["def f():\n    y = 2\n    return 1"])
    [finding] = ruff_findings(path, "F841")
    assert finding.severity is Severity.WARNING


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("invalid-syntax", Severity.ERROR),
        ("E999", Severity.ERROR),
        ("E902", Severity.ERROR),
        ("F821", Severity.ERROR),
        ("F823", Severity.ERROR),
        ("F501", Severity.ERROR),
        ("F524", Severity.ERROR),
        ("F632", Severity.ERROR),
        ("F706", Severity.ERROR),
        ("F401", Severity.WARNING),
        ("F811", Severity.WARNING),
        ("F841", Severity.WARNING),
        ("E711", Severity.WARNING),
        ("E501", Severity.INFO),
        ("E741", Severity.INFO),
        ("W291", Severity.INFO),
        ("B006", Severity.WARNING),
        ("N802", Severity.INFO),
        ("NPY002", Severity.WARNING),
        ("UP006", Severity.INFO),
        ("D100", Severity.INFO),
        ("PLR2004", Severity.WARNING),
    ],
)
def test_severity_table(code: str, expected: Severity) -> None:
    assert severity(code) is expected


def test_the_table_is_documented_and_every_prefix_is_a_code_prefix() -> None:
    for prefix, _, why in SEVERITIES:
        assert why, f"{prefix} says why"
        assert severity(prefix) is not None


def test_f811_message_naming_the_same_cell_stays_a_warning() -> None:
    assert severity("F811", "Redefinition of unused `g` from cell 3, line 1", cell_index=2) is Severity.WARNING
    assert severity("F811", "Redefinition of unused `g` from cell 3, line 1", cell_index=4) is Severity.INFO
    assert severity("F811", "Redefinition of unused `g` from line 1", cell_index=4) is Severity.WARNING
