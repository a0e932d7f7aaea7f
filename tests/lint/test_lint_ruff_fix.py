"""ruff's fixes under ``lint --fix``: never a removed cell, never a side-effect import, each fix listed by cell.

reliability.md scenario 48: a fix that would empty a cell leaves a cell that held code in place;
side-effect imports (``enable_*``, ``__future__``, anything under ``# noqa``) stay.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.config import Config
from nb2prod.lint.engine import lint
from nb2prod.lint.fix import fix
from nb2prod.lint.ruff_fix import past_tense
from nb2prod.model import source_text

MakeNotebook = Callable[..., Path]
HALVING = "from sklearn.experimental import enable_halving_search_cv\nfrom sklearn.model_selection import HalvingRandomSearchCV"


def sources(path: Path) -> list[str]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return [source_text(cell["source"]) for cell in data["cells"]]


def test_scenario_48_the_enable_import_and_its_cell_survive_the_fix(make_notebook: MakeNotebook) -> None:
    """The reported case: F401 removed both imports of the cell, then NB502 removed the emptied cell, silently."""
    path = make_notebook([("markdown", "# Train"), "import os\nimport pandas as pd", HALVING, "df = pd.DataFrame()"])
    [result] = fix([path], config=Config())
    assert result.error is None
    after = sources(path)
    assert len(after) == 4, "no cell removed"
    assert after[2] == "from sklearn.experimental import enable_halving_search_cv\n"
    assert after[1] == "import pandas as pd"
    assert result.fixed == Counter({"F401": 2})
    assert not fix([path], config=Config())[0].changed, "a second --fix changes nothing"


def test_scenario_48_a_cell_of_unused_imports_is_kept_and_said_so(make_notebook: MakeNotebook) -> None:
    path = make_notebook(["from sklearn.model_selection import HalvingRandomSearchCV\nimport json", "x = 1", ""])
    [result] = fix([path], config=Config())
    assert sources(path) == ["from sklearn.model_selection import HalvingRandomSearchCV\nimport json", "x = 1"]
    assert result.fixed == Counter({"NB502": 1}), "only the cell that was empty before the fix is removed"
    assert any(note.startswith("cell 1: F401 fix not applied: it would leave the cell empty") for note in result.notes)


def test_scenario_48_imports_under_noqa_and_future_imports_stay(make_notebook: MakeNotebook) -> None:
    cells = [
        "from __future__ import annotations",
        "import re  # noqa: E402\nimport sys\nx = 1",
        "from collections import (  # noqa\n    OrderedDict,\n)\ny = 2",
        "# nb2prod: noqa F401\nimport glob\nz = 3",
        "import enable_tracing\nimport sklearn.experimental.enable_iterative_imputer\nw = 4",
    ]
    path = make_notebook(cells)
    [result] = fix([path], config=Config())
    after = sources(path)
    assert after[0] == cells[0]
    assert after[1] == "import re  # noqa: E402\nx = 1", "only the import without a noqa comment goes"
    assert after[2:] == cells[2:]
    assert result.fixed == Counter({"F401": 1})


def test_lint_does_not_report_side_effect_imports_or_promise_refused_fixes(make_notebook: MakeNotebook) -> None:
    path = make_notebook([HALVING + "\nx = 1", "import json", "import re  # noqa: E402\ny = 2"])
    [result] = lint([path], config=Config(), select=["F401"])
    found = {(f.cell_index, f.message): f.fixable for f in result.findings}
    assert found == {
        (0, "`sklearn.model_selection.HalvingRandomSearchCV` imported but unused"): True,
        (1, "`json` imported but unused"): False,  # the fix would leave the cell empty
        (2, "`re` imported but unused"): False,  # under
    }


def test_the_summary_lists_each_fix_by_cell(make_notebook: MakeNotebook, capsys: pytest.CaptureFixture[str]) -> None:
    error = {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": []}
    path = make_notebook(
        [("markdown", "# Train"), "import os, sys\nprint(1)", "", {"source": "1/0", "outputs": [error]}], name="train.ipynb"
    )
    main(["lint", "--fix", "--select", "F401,NB501,NB502", str(path)])
    err = capsys.readouterr().err.splitlines()
    assert err[:4] == [
        f"{path}:cell 2: F401 removed unused import 'os'",
        f"{path}:cell 2: F401 removed unused import 'sys'",
        f"{path}:cell 3: NB502 removed the empty code cell",
        f"{path}:cell 4: NB501 cleared the stored error output",
    ]
    assert err[-1] == "fixed 4 problems in 1 notebook"
    assert sources(path) == ["# Train", "print(1)", "1/0"]


def test_past_tense_of_ruff_fix_titles() -> None:
    assert past_tense("Remove unused import: `os`") == "removed unused import 'os'"
    assert past_tense("Replace `==` with `is`") == "replaced '==' with 'is'"
    assert past_tense("Simplify expression") == "simplified expression"
    assert past_tense("Rewrite as a literal") == "rewrote as a literal"
    assert past_tense("Convert to f-string") == "converted to f-string"
