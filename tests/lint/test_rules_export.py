"""NB2 rules: cells bound for export (tag ``export``, ``#| export``, nbdev's ``#| exporti``/``#| exports``) and the parameters cell.

The RuleDoc examples of NB2 mark cells with ``# cell N (#| export)`` headers, ``#|`` directives and
``# … later …``; :func:`example_notebook` splits them into cells so the pages ``nb2prod rules NB20x``
shows are checked against the rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from lint_helpers import DATA, R_KERNEL, Where, fixture_findings, hits, where

from nb2prod.lint.context import LintContext
from nb2prod.lint.registry import registry
from nb2prod.lint.rule import Rule
from nb2prod.lint.rules import export
from nb2prod.lint.rules.export import RULES
from nb2prod.notebook import read_notebook

BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def tagged(source: str, *tags: str) -> dict[str, Any]:
    """A code cell with cell tags."""
    return {"source": source, "metadata": {"tags": list(tags)}}


def exported(source: str) -> dict[str, Any]:
    """A code cell tagged ``export``."""
    return tagged(source, "export")


def parameters(source: str) -> dict[str, Any]:
    """A code cell tagged ``parameters``."""
    return tagged(source, "parameters")


# --- fixtures on disk: one triggering and one clean notebook per rule, through the engine --------

FIXTURE_CASES = [
    ("nb201_export_needs_unexported", "NB201", [(1, 2, 12), (3, 3, 16)]),
    ("nb201_clean", "NB201", []),
    ("nb202_magic_in_export", "NB202", [(0, 2, None), (0, 3, None), (1, 1, None)]),
    ("nb202_clean", "NB202", []),
    ("nb203_import_time_work", "NB203", [(0, 3, 1), (0, 4, 1), (0, 5, 1), (1, 1, 1)]),
    ("nb203_clean", "NB203", []),
    ("nb204_parameters_not_literal", "NB204", [(0, 2, 14), (0, 3, 1), (0, 5, 5)]),
    ("nb204_clean", "NB204", []),
    ("nb205_several_parameters_cells", "NB205", [(2, None, None)]),
    ("nb205_clean", "NB205", []),
    ("nb206_scattered_imports", "NB206", [(2, 2, 1)]),
    ("nb206_clean", "NB206", []),
    ("nb207_relative_import", "NB207", [(0, 2, 1), (0, 3, 1)]),
    ("nb207_clean", "NB207", []),
    ("nb208_export_syntax_error", "NB208", [(0, 2, 7)]),
    ("nb208_clean", "NB208", []),
    ("nb209_duplicate_export_name", "NB209", [(1, 4, None)]),
    ("nb209_clean", "NB209", []),
]


@pytest.mark.parametrize(("name", "code", "expected"), FIXTURE_CASES, ids=[case[0] for case in FIXTURE_CASES])
def test_fixture_notebooks(name: str, code: str, expected: list[Where]) -> None:
    findings = fixture_findings(name, code)
    assert [(f.code, f.cell_index, f.line, f.column) for f in findings] == [(code, *place) for place in expected]
    assert all(f.cell_index is not None for f in findings), "export rules point at cells"


def test_fixture_messages() -> None:
    def messages(name: str, code: str) -> list[str]:
        return [hit.message for hit in hits(LintContext(read_notebook(DATA / f"{name}.ipynb")), code)]

    assert [m.split(",")[0] for m in messages("nb201_export_needs_unexported", "NB201")] == [
        "'np' is defined only in cell 1",
        "'threshold' is defined only in cell 3",
    ]
    assert [m.split(" in a cell")[0] for m in messages("nb202_magic_in_export", "NB202")] == [
        "magic %cd",
        "shell command",
        "cell magic %%bash",
    ]
    assert [m.split(" runs")[0] for m in messages("nb203_import_time_work", "NB203")] == [
        "a top-level call to read_csv()",
        "a top-level expression",
        "a top-level `for` block",
        "a top-level expression",
    ]
    assert messages("nb205_several_parameters_cells", "NB205")[0].startswith("a second parameters cell (the first is cell 1)")
    assert messages("nb206_scattered_imports", "NB206")[0].startswith("import of f1_score below the exported code: gather")
    assert [m.split(":")[0] for m in messages("nb207_relative_import", "NB207")] == [
        "relative import from '.'",
        "relative import from '..pkg'",
    ]
    assert messages("nb208_export_syntax_error", "NB208")[0].startswith("does not parse as Python: ")
    assert messages("nb209_duplicate_export_name", "NB209")[0].startswith("'load' is also defined by cell 1")


# --- NB201 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["import numpy as np", exported("def f():\n    return np.zeros(1)")], [(1, 2, 12)]),
        (["import numpy as np", "#| export\ndef f():\n    return np.zeros(1)"], [(1, 3, 12)]),
        (["import numpy as np", "#| exporti\ndef f():\n    return np.zeros(1)"], [(1, 3, 12)]),
        (["import numpy as np", "#| exports\nx = np.zeros(1)"], [(1, 2, 5)]),
        (["import numpy as np", tagged("x = np.zeros(1)", "export-internal")], [(1, 1, 5)]),
        ([parameters("alpha = 0.1"), "#| export\ndef f():\n    return alpha"], [(1, 3, 12)]),  # the parameters cell as definer
        ([tagged("import numpy as np", "test"), exported("x = np.zeros(1)")], [(1, 1, 5)]),
        ([exported("def f():\n    return helper()"), "def helper(): ..."], [(0, 2, 12)]),  # a definer below
        (["%%capture out\nprint(1)", exported("out.show()")], [(1, 1, 1)]),
        (["import numpy as np", exported("np.a\nnp.b")], [(1, 1, 1)]),  # one issue per name and cell
        (["import numpy as np\nx = 1", exported("f(np, x, np)")], [(1, 1, 3), (1, 1, 7)]),
        (["import numpy as np", exported("x = np.a"), exported("y = np.b")], [(1, 1, 5), (2, 1, 5)]),
    ],
)
def test_export_needs_unexported(context_for: Callable[..., LintContext], cells: list[Any], expected: list[Where]) -> None:
    assert where(hits(context_for(cells), "NB201")) == expected


@pytest.mark.parametrize(
    "cells",
    [
        [exported("import numpy as np"), exported("def f():\n    return np.zeros(1)")],  # the definer is exported
        ["#| export\nimport numpy as np", "#| exporti\ndef f():\n    return np.zeros(1)"],
        ["#| exporti\nimport numpy as np", "#| export\nx = np.zeros(1)"],
        [exported("import numpy as np"), "import numpy as np", exported("np.zeros(1)")],  # also defined outside
        ["import numpy as np", exported("def f(np):\n    return np")],  # a parameter, not the global
        ["x = 1", exported("print(len([1]), display)")],  # builtins; IPython names nobody defines
        ["x = 1", exported("print(y)")],  # defined nowhere: NB105's business
        ["import numpy as np", "np.zeros(1)"],  # no cell is exported
        [exported("from x import *"), exported("print(anything)")],
    ],
)
def test_export_needs_unexported_not_reported(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    assert hits(context_for(cells), "NB201") == []


# --- NB202 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected", "shown"),
    [
        ("!pip install lightgbm", [(0, 1, None)], "shell command"),
        ("%%bash\necho hi", [(0, 1, None)], "cell magic %%bash"),
        ("%cd /tmp", [(0, 1, None)], "magic %cd"),
        ("%env A=1", [(0, 1, None)], "magic %env"),
        ("files = !ls", [(0, 1, None)], "shell command"),
        ("model?", [(0, 1, None)], "help request"),
        ("%%capture out\nx = 1", [(0, 1, None)], "cell magic %%capture"),
        ("%%writefile a.py\nx = 1", [(0, 1, None)], "cell magic %%writefile"),
        ("import os\n\nif True:\n    !ls", [(0, 4, None)], "shell command"),
        ("!ls\n%cd ..\n!pwd", [(0, 1, None), (0, 2, None), (0, 3, None)], "shell command"),
    ],
)
def test_magic_in_export(context_for: Callable[..., LintContext], source: str, expected: list[Where], shown: str) -> None:
    for cell in (exported(source), "#| export\n" + source):
        found = hits(context_for([cell]), "NB202")
        offset = 0 if isinstance(cell, dict) else 1  # the directive is line 1
        assert where(found) == [(index, line + offset, column) for index, line, column in expected]
        assert found[0].message.startswith(f"{shown} in a cell bound for export")


@pytest.mark.parametrize(
    "source",
    [
        "%matplotlib inline",
        "%load_ext autoreload\n%autoreload 2",
        "%reload_ext autoreload\n%config InlineBackend.figure_format = 'retina'",
        "%time f()",
        "%timeit f()",
        "y = %time f()",
        "%%time\nx = f()",
        "import os\nx = 10 % 3",
        "# !pip install x",
        "s = '%cd /tmp'",
    ],
)
def test_magic_in_export_not_reported(context_for: Callable[..., LintContext], source: str) -> None:
    assert hits(context_for([exported(source)]), "NB202") == []


def test_magic_outside_export_not_reported(context_for: Callable[..., LintContext]) -> None:
    cells = ["!pip install x\n%cd /tmp", "%%bash\necho hi", tagged("!ls", "test"), parameters("%env A=1"), tagged("!ls", "main")]
    assert hits(context_for(cells), "NB202") == []


# --- NB203 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected", "what"),
    [
        ("model.fit(X)", [(0, 1, 1)], "a top-level expression"),
        ("print('hi')", [(0, 1, 1)], "a top-level expression"),
        ("for i in range(3):\n    pass", [(0, 1, 1)], "a top-level `for` block"),
        ("while False:\n    pass", [(0, 1, 1)], "a top-level `while` block"),
        ("with open('x') as f:\n    pass", [(0, 1, 1)], "a top-level `with` block"),
        ("df = pd.read_csv('data.csv')", [(0, 1, 1)], "a top-level call to read_csv()"),
        ("model = RandomForestClassifier().fit(X, y)", [(0, 1, 1)], "a top-level call to fit()"),
        ("CONFIG = json.load(open('c.json'))", [(0, 1, 1)], "a top-level call to load()"),
        ("x: object = plt.show()", [(0, 1, 1)], "a top-level call to show()"),
        ("x = [print(i) for i in y]", [(0, 1, 1)], "a top-level call to print()"),
        ("import os\n\nN = 3\nprint(N)", [(0, 4, 1)], "a top-level expression"),
        ("if DEBUG:\n    print(1)\nelse:\n    plot()", [(0, 2, 5), (0, 4, 5)], "a top-level expression"),
        ("try:\n    import a\nexcept ImportError:\n    print('no a')", [(0, 4, 5)], "a top-level expression"),
        ("try:\n    data = load('x')\nfinally:\n    pass", [(0, 2, 5)], "a top-level call to load()"),
    ],
)
def test_import_time_work(context_for: Callable[..., LintContext], source: str, expected: list[Where], what: str) -> None:
    found = hits(context_for([exported(source)]), "NB203")
    assert where(found) == expected
    assert found[0].message == f"{what} runs whenever the module is imported; put it in a function (or a `main` cell)"


@pytest.mark.parametrize(
    "source",
    [
        "def train(df):\n    return model.fit(df)",
        "async def fetch():\n    print(1)",
        "@decorator\ndef f():\n    pass",
        "class Model:\n    def fit(self, x):\n        print(x)",
        "import os\nfrom a import b\nimport numpy as np",
        "N = 3\nNAMES = ['a']\nSCALE: float = 0.5\nlimit = -1",
        "import logging\nlogger = logging.getLogger(__name__)",
        "x = Path('data')\ny = {'a': 1}",
        "if __name__ == '__main__':\n    main()",
        "if __name__ == \"__main__\":\n    print(train(load('x')))",
        '"""Module docstring."""',
        "...",
        "try:\n    import ujson as json\nexcept ImportError:\n    import json",
        "handler = functools.partial(print, 'x')",
        "total += compute()",
        "f = lambda: print(1)",  # the call runs when f is called, not at import
        "callbacks = {'done': lambda: model.fit(X)}",
    ],
)
def test_import_time_work_not_reported(context_for: Callable[..., LintContext], source: str) -> None:
    assert hits(context_for([exported(source)]), "NB203") == []


def test_import_time_work_only_in_export_cells(context_for: Callable[..., LintContext]) -> None:
    cells = [
        "df = pd.read_csv('x')\nprint(df)",
        tagged("model.fit(X)", "main"),
        tagged("print(1)", "test"),
        exported("def f(:\n    print(1)"),
    ]
    assert hits(context_for(cells), "NB203") == []


# --- NB204 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected", "message"),
    [
        ("a = 1\nb = a * 2", [(0, 2, 5)], "a parameter's default must be a literal"),
        ("output_dir = Path('out')", [(0, 1, 14)], "a parameter's default must be a literal"),
        ("x = f()", [(0, 1, 5)], "a parameter's default must be a literal"),
        ("x = 2 ** 8", [(0, 1, 5)], "a parameter's default must be a literal"),
        ("x = f'{a}'", [(0, 1, 5)], "a parameter's default must be a literal"),
        ("x: int = len([])", [(0, 1, 10)], "a parameter's default must be a literal"),
        ("if True:\n    x = 1", [(0, 1, 1)], "only `name = literal` assignments belong in the parameters cell"),
        ("print(1)", [(0, 1, 1)], "only `name = literal` assignments belong in the parameters cell"),
        ("import os", [(0, 1, 1)], "only `name = literal` assignments belong in the parameters cell"),
        ("a = b = 1", [(0, 1, 1)], "only `name = literal` assignments belong in the parameters cell"),
        ("a, b = 1, 2", [(0, 1, 1)], "only `name = literal` assignments belong in the parameters cell"),
        ("x += 1", [(0, 1, 1)], "only `name = literal` assignments belong in the parameters cell"),
        ("x: int", [(0, 1, 1)], "a parameter needs a default value"),
    ],
)
def test_parameters_not_literal(context_for: Callable[..., LintContext], source: str, expected: list[Where], message: str) -> None:
    for cell in (parameters(source), "#| parameters\n" + source):
        found = hits(context_for([cell]), "NB204")
        offset = 0 if isinstance(cell, dict) else 1
        assert where(found) == [(index, line + offset, column) for index, line, column in expected]
        assert found[0].message.startswith(message)


def test_parameters_syntax_error_points_at_its_line(context_for: Callable[..., LintContext]) -> None:
    """Like NB208, the finding is on the line that does not parse, not on line 1 of the cell."""
    for cell, line in ((parameters("seed = 1\nlr = (0.1"), 2), ("#| parameters\nseed = 1\nlr = (0.1", 3)):
        [hit] = hits(context_for([cell]), "NB204")
        assert (hit.cell_index, hit.line) == (0, line)
        assert hit.message == "the parameters cell does not parse as Python"


@pytest.mark.parametrize("source", ["%env SEED=1", "!echo 1", "seed?", "x = !date"])
def test_parameters_magic_reported_once(context_for: Callable[..., LintContext], source: str) -> None:
    """A magic is one problem: one finding, not also 'only `name = literal` assignments' for the `pass` it becomes."""
    found = hits(context_for([parameters(f"seed = 1\n{source}\nlr = 0.1")]), "NB204")
    assert [(hit.cell_index, hit.line) for hit in found] == [(0, 2)]
    assert found[0].message.startswith("the parameters cell holds IPython syntax")


@pytest.mark.parametrize(
    "source",
    [
        "x = 1",
        "x = -1\ny = -2.5\nz = +3\nw = 1e-3\nc = 1 + 2j",
        "layers = [64, 32]\nopts = {'a': 1, 'b': [None]}\nt = (1, 'a')\ns = {1}\nb = True\nn = None",
        "x: int = 3\nname: str = 'a'",
        "# a comment\nx = 1  # inline comment\n\n# another",
        "s = 'a' 'b'\nraw = r'\\d+'\nb = b'x'",
        "",
    ],
)
def test_parameters_literal(context_for: Callable[..., LintContext], source: str) -> None:
    assert hits(context_for([parameters(source), "y = x * 2"]), "NB204") == []


def test_parameters_rules_ignore_untagged_cells(context_for: Callable[..., LintContext]) -> None:
    cells = [
        "x = f()",
        exported("y = g()"),
        ("markdown", "#| parameters\nx = f()"),
        {"cell_type": "raw", "source": "x = f()", "metadata": {"tags": ["parameters"]}},
    ]
    ctx = context_for(cells)
    assert hits(ctx, "NB204") == [] and hits(ctx, "NB205") == []


def test_parameters_not_literal_skips_non_python_kernels(context_for: Callable[..., LintContext]) -> None:
    """An R parameters cell (`seed <- 42`, which Python reads as `seed < -42`) is not Python to judge."""
    assert hits(context_for([parameters('seed <- 42\nname <- "churn"')], metadata=R_KERNEL), "NB204") == []


# --- NB205 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([parameters("a = 1"), parameters("b = 2")], [1]),
        ([parameters("a = 1"), "x = 1", "#| parameters\nb = 2"], [2]),
        (["#| parameters\na = 1", parameters("b = 2")], [1]),
        (["#| parameters\na = 1", "#| parameters\nb = 2", "#| parameters\nc = 3"], [1, 2]),
        (["#| parameters\na = 1", tagged("#| parameters\nb = 2", "parameters")], [1]),
        ([parameters("a = 1")], []),
        ([tagged("#| parameters\na = 1", "parameters", "parameters")], []),  # one cell, marked twice
        (["#| export\n#| parameters\na = 1", "b = 2"], []),
        ([parameters("a = 1"), "x = 1\n#| parameters"], []),  # not a directive below code
    ],
)
def test_several_parameter_cells(context_for: Callable[..., LintContext], cells: list[Any], expected: list[int]) -> None:
    found = hits(context_for(cells), "NB205")
    assert where(found) == [(index, None, None) for index in expected]
    assert all("(the first is cell 1)" in hit.message for hit in found)


# --- NB206 ----------------------------------------------------------------------------------------


def _all_exported(cells: list[Any]) -> list[Any]:
    return [exported(cell) if isinstance(cell, str) else cell for cell in cells]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["import os", "import pandas as pd", "df = 1", "x = 2", "import numpy as np"], [(4, 1, 1)]),
        (["import os\ndf = os.getcwd()", "import numpy as np"], [(1, 1, 1)]),
        (["import os", "x = 1", "y = 2\n\nimport a, b as c\nfrom f import g"], [(2, 3, 1)]),
        (["import os", "x = 1", "import a", "import b"], [(2, 1, 1)]),  # one finding per notebook
        ([("markdown", "# T"), "import os", "", "x = 1", "import a"], [(4, 1, 1)]),
        (["import os", "x = 1", "%matplotlib inline\nimport a"], [(2, 2, 1)]),
        (["import os", "def f():\n    return 1", "import a"], [(2, 1, 1)]),  # a definition is code of the module
    ],
)
def test_scattered_imports(context_for: Callable[..., LintContext], cells: list[Any], expected: list[Where]) -> None:
    """What NB206 still finds: a late import in the exported cells, once per notebook."""
    assert where(hits(context_for(_all_exported(cells)), "NB206")) == expected


def test_scattered_imports_message_lists_names_and_other_cells(context_for: Callable[..., LintContext]) -> None:
    [hit] = hits(context_for(_all_exported(["x = 1", "import e, d\nfrom m import c, b as bb, a", "y = 2", "import z"])), "NB206")
    assert hit.message.startswith("import of a, bb, c, d, … below the exported code (and in cell 4): gather")


def test_scattered_imports_only_in_exported_cells(context_for: Callable[..., LintContext]) -> None:
    """Imports where first used in a notebook that exports nothing, or in cells not exported, are not reported."""
    assert hits(context_for(["import os", "x = 1", "import numpy as np", "from scipy import stats"]), "NB206") == []
    cells = [exported("import os"), exported("x = 1"), "import seaborn as sns\nsns.histplot(x)", exported("y = 2")]
    assert hits(context_for(cells), "NB206") == []


def test_setup_section_split_by_markdown_is_the_top() -> None:
    """Issue #9 item 17: every import and setup cell before the first cell that does other work is the top."""
    notebook = read_notebook(DATA / "nb206_setup_section_not_scattered.ipynb")
    assert list(registry()["NB206"].check(LintContext(notebook))) == []


# --- NB207 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected", "target"),
    [
        ("from . import x", [(0, 1, 1)], "."),
        ("from ..pkg import y", [(0, 1, 1)], "..pkg"),
        ("from .m import z as w", [(0, 1, 1)], ".m"),
        ("import os\nfrom ...a.b import c", [(0, 2, 1)], "...a.b"),
        ("def f():\n    from .m import z", [(0, 2, 5)], ".m"),
        ("try:\n    from . import x\nexcept ImportError:\n    x = None", [(0, 2, 5)], "."),
    ],
)
def test_relative_import(context_for: Callable[..., LintContext], source: str, expected: list[Where], target: str) -> None:
    found = hits(context_for([exported(source)]), "NB207")
    assert where(found) == expected
    assert found[0].message.startswith(f"relative import from '{target}'")


@pytest.mark.parametrize(
    "cells",
    [
        ["from . import x\nfrom ..pkg import y"],  # not exported
        [tagged("from . import x", "test")],
        [exported("from pkg import y\nimport pkg.sub")],
        [exported("from . import (")],  # does not parse: NB208's business
    ],
)
def test_relative_import_not_reported(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    assert hits(context_for(cells), "NB207") == []


# --- NB208 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1\ndef f(:\n    pass", [(0, 2, 7)]),
        ("  x = 1\n  y = (", [(0, 2, 7)]),  # columns of a dedented cell are the cell's
        ("x = 1\n\ty = 2", [(0, 2, 1)]),
        ("%matplotlib inline\nprint(1 +)", [(0, 2, 10)]),
    ],
)
def test_export_syntax_error(context_for: Callable[..., LintContext], source: str, expected: list[Where]) -> None:
    found = hits(context_for([exported(source)]), "NB208")
    assert where(found) == expected
    assert found[0].message.startswith("does not parse as Python: ")


@pytest.mark.parametrize(
    "cells",
    [
        ["def f(:\n    pass"],  # not exported
        [tagged("def f(:\n    pass", "test")],
        [exported("%matplotlib inline\n!ls\nx = !ls\nobj?\n%time y = 1\ndef f():\n    return 1")],  # parses after the transform
        [exported("%%bash\nif then fi ((")],  # not Python at all: NB202 reports it
        [exported("%%time\nx = 1")],
    ],
)
def test_export_syntax_error_not_reported(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    assert hits(context_for(cells), "NB208") == []


# --- NB209 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([exported("def load(p): ..."), exported("def load(p, s): ...")], [(1, 1, None)]),
        ([exported("def load(p): ..."), "#| export\n\ndef load(p, s): ..."], [(1, 3, None)]),
        ([exported("X = 1"), exported("x = 2\nX = 3"), exported("class X: pass")], [(1, 2, None), (2, 1, None)]),
        ([exported("def f(): ..."), "def f(): ...", "#| exporti\nf = 2"], [(2, 2, None)]),
    ],
)
def test_duplicate_export_names(context_for: Callable[..., LintContext], cells: list[Any], expected: list[Where]) -> None:
    found = hits(context_for(cells), "NB209")
    assert where(found) == expected
    assert "is also defined by cell 1, which is exported too" in found[0].message


@pytest.mark.parametrize(
    "cells",
    [
        [exported("import os"), exported("import os")],  # the same import twice
        [exported("from a import load"), exported("from a import load as load")],
        [exported("import os"), exported("os = 1")],  # imports are not counted
        [exported("def load(p): ..."), "def load(p, s): ..."],  # the second is not exported
        [exported("def f(): ...\ndef f(): ...")],  # one cell
        [exported("def f(): ..."), exported("def g():\n    f = 1\n    return f")],  # a local name
    ],
)
def test_duplicate_export_names_not_reported(context_for: Callable[..., LintContext], cells: list[Any]) -> None:
    assert hits(context_for(cells), "NB209") == []


# --- export rules and non-Python kernels --------------------------------------------------------


def test_export_rules_skip_non_python_kernels(context_for: Callable[..., LintContext]) -> None:
    cells = ["library(x)", exported("f <- function(:\n!ls\nprint(1)\nfrom . import x"), exported("f <- 1")]
    ctx = context_for(cells, metadata=R_KERNEL)
    for code in ("NB201", "NB202", "NB203", "NB206", "NB207", "NB208", "NB209"):
        assert hits(ctx, code) == [], code


# --- every rule: the RuleDoc page ---------------------------------------------------------------

_HEADER = re.compile(r"# cell \d+(?: \((not exported|#\| export)\))?")


def example_notebook(example: str) -> list[str]:
    """Code cells from a RuleDoc example.

    ``# cell N`` starts a cell (``(#| export)`` after it makes the cell exported), so does ``# … later …``
    and a ``#|`` directive below code; any other line belongs to the current cell.
    """
    cells: list[list[str]] = []
    for line in example.splitlines():
        header = _HEADER.fullmatch(line)
        if header:
            cells.append(["#| export"] if header[1] == "#| export" else [])
        elif line == "# … later …":
            cells.append([])
        elif line.startswith("#|") and cells and any(not text.startswith("#|") for text in cells[-1]):
            cells.append([line])
        else:
            if not cells:
                cells.append([])
            cells[-1].append(line)
    return ["\n".join(lines) for lines in cells]


def test_example_notebook_parser() -> None:
    assert example_notebook("# cell 1 (not exported)\na = 1\n# cell 2 (#| export)\nb = a") == ["a = 1", "#| export\nb = a"]
    assert example_notebook("#| parameters\na = 1\n# … later …\n#| parameters\nb = 2") == ["#| parameters\na = 1", "#| parameters\nb = 2"]
    assert example_notebook("#| export\ndef f(): ...\n#| export\nx = 1") == ["#| export\ndef f(): ...", "#| export\nx = 1"]
    assert example_notebook("#| export\n#| hide\nx = 1") == ["#| export\n#| hide\nx = 1"]


@pytest.mark.parametrize("rule", RULES, ids=[rule.code for rule in RULES])
def test_rule_doc_is_complete_and_examples_behave(context_for: Callable[..., LintContext], rule: Rule) -> None:
    doc = rule.doc
    assert all(part.strip() for part in (doc.what, doc.why, doc.bad, doc.good, doc.fix)), rule.code
    assert "Not auto-fixable" in doc.fix and not rule.fixable and rule.default_on
    assert rule.code.startswith("NB2") and rule.name and rule.summary
    assert list(rule.check(context_for(example_notebook(doc.bad)))), f"{rule.code}: the bad example is not reported"
    assert list(rule.check(context_for(example_notebook(doc.good)))) == [], f"{rule.code}: the good example is reported"


def test_module_exposes_rules_only() -> None:
    assert export.RULES == RULES
    assert [rule.code for rule in RULES] == [f"NB20{n}" for n in range(1, 10)]
    assert all(registry()[rule.code] is rule for rule in RULES)
