"""``build_plan``: cell selection, module code, ``__all__``, the entry point's body, tests, errors — and nbdev compatibility.

Notebooks are built in memory from short cell specs (``code(...)``, ``md(...)``) unless they are the
fixtures under ``tests/data/export``. Generated modules are executed (``exec`` in a fresh namespace)
to show they run, not only parse.
"""

from __future__ import annotations

import ast
import contextlib
import json
import keyword
import string
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nb2prod.errors import ExportError, UsageError
from nb2prod.export.codegen import build_plan
from nb2prod.export.names import module_identifier
from nb2prod.export.plan import ExportPlan, ModulePlan
from nb2prod.notebook import Notebook, read_notebook, validate

DATA = Path(__file__).resolve().parent.parent / "data" / "export"
KERNEL = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python"}}


# --- helpers ----------------------------------------------------------------------------------------


def code(source: str, *tags: str, cell_id: str | None = None) -> dict[str, Any]:
    """A code cell with optional tags."""
    cell: dict[str, Any] = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    if tags:
        cell["metadata"] = {"tags": list(tags)}
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def md(text: str) -> dict[str, Any]:
    """A markdown cell."""
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def notebook(cells: list[dict[str, Any]], name: str = "train.ipynb", metadata: dict[str, Any] | None = None) -> Notebook:
    """A validated in-memory notebook named ``name`` (cells get ids ``c0``, ``c1``… unless they have one)."""
    cells = [{"id": f"c{index}", **cell} for index, cell in enumerate(cells)]
    data = {"cells": cells, "metadata": KERNEL if metadata is None else metadata, "nbformat": 4, "nbformat_minor": 5}
    validate(data, name)
    return Notebook(Path(name), name, data, json.dumps(data).encode(), "ipynb")


def plan_of(cells: list[dict[str, Any]], name: str = "train.ipynb", **options: Any) -> ExportPlan:
    return build_plan([notebook(cells, name)], **options)


def error_of(cells: list[dict[str, Any]] | list[Notebook], name: str = "train.ipynb", **options: Any) -> str:
    """The one-line message of the ``ExportError`` the notebook(s) raise."""
    notebooks = cells if cells and isinstance(cells[0], Notebook) else [notebook(cells, name)]  # type: ignore[list-item]
    with pytest.raises(ExportError) as caught:
        build_plan(notebooks, **options)  # type: ignore[arg-type]
    return str(caught.value)


def only_module(plan: ExportPlan) -> ModulePlan:
    assert len(plan.modules) == 1, [m.name for m in plan.modules]
    return plan.modules[0]


def execute(source: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run generated code as a fresh module (its namespace pre-filled with ``namespace``) and return the namespace.

    The module is in ``sys.modules`` while it runs, as an imported module is (dataclasses look it up).
    """
    module = types.ModuleType("nb2prod_exported_under_test")
    module.__dict__.update(namespace or {})
    sys.modules[module.__name__] = module
    try:
        exec(compile(source, "<exported>", "exec", dont_inherit=True), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module.__dict__


def assert_runs(module: ModulePlan) -> dict[str, Any]:
    """The module parses, runs, binds every name of ``names`` and its ``__all__`` is ``all_names``."""
    ast.parse(module.code)
    scope = execute(module.code)
    missing = [name for name in module.names if name not in scope]
    assert not missing, missing
    assert scope["__all__"] == list(module.all_names)
    return scope


# --- selection: tags, directives, spellings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marker", "tags"),
    [
        ("", ("export",)),
        ("#| export\n", ()),
        ("#|export\n", ()),
        ("# | export\n", ()),
        ("#  |  export\n", ()),
        ("#| exports\n", ()),
        ("\n#| export\n", ()),
    ],
)
def test_tags_and_every_directive_spelling_export_a_cell(marker: str, tags: tuple[str, ...]) -> None:
    module = only_module(plan_of([code(marker + "def scale(x):\n    return x * 2", *tags)]))
    assert "def scale(x):" in module.code
    assert "#|" not in module.code and "# |" not in module.code and "export\n" not in module.code
    assert module.all_names == ("scale",)
    assert assert_runs(module)["scale"](2) == 4


@pytest.mark.parametrize("internal", [code("def helper():\n    return 1\n\n\nCONSTANT = 2", "export-internal"),
                                      code("#| exporti\ndef helper():\n    return 1\n\n\nCONSTANT = 2")])  # fmt: skip
def test_export_internal_names_are_module_names_but_not_in_all(internal: dict[str, Any]) -> None:
    module = only_module(plan_of([code("def public():\n    return helper()", "export"), internal]))
    assert module.all_names == ("public",)
    assert set(module.names) == {"public", "helper", "CONSTANT"}
    assert assert_runs(module)["public"]() == 1


def test_hide_and_skip_cells_are_left_out_but_hide_with_export_is_exported() -> None:
    module = only_module(
        plan_of(
            [
                code("#| export\nkept = 1"),
                code("#| hide\nhidden = 2"),
                code("skipped_tag = 3", "skip"),
                code("#| skip\nskipped_directive = 4"),
                code("#| hide\n#| export\nhidden_but_exported = 5"),
                code("#| skip\n#| export\nskip_wins = 6"),
                code("skip_tag_wins = 7", "skip", "export"),
                code("plain = 8"),
            ]
        )
    )
    assert module.names == ("hidden_but_exported", "kept")


def test_all_cells_exports_every_code_cell_without_a_role() -> None:
    plan = plan_of(
        [
            md("# Title"),
            code("seed = 1", "parameters"),
            code("import math\n\nx = math.pi"),
            code("#| hide\ny = 2"),
            code("def f():\n    return x"),
            code("run = f()", "main"),
            code("assert f() > 3", "test"),
        ],
        all_cells=True,
    )
    assert only_module(plan).names == ("f", "math", "x")
    assert "run = f()" in plan.main_code
    assert [t.code for t in plan.tests] == ["assert f() > 3"]
    with pytest.raises(ExportError):
        plan_of([code("x = 1"), code("y = x")])  # the same notebook without all_cells: nothing marked


@pytest.mark.parametrize(
    ("cell", "roles"),
    [
        (code("x = 1", "export", "main"), "export and main"),
        (code("#| main\nx = 1", "test"), "main and test"),
        (code("#| exporti\n#| test\nx = 1"), "export-internal and test"),
        (code("x = 1", "parameters", "main"), "parameters and main"),
    ],
)
def test_a_cell_with_contradictory_roles_is_an_error(cell: dict[str, Any], roles: str) -> None:
    message = error_of([cell])
    assert message.startswith("train.ipynb:cell 1: error: cell 1 is marked " + roles)


def test_the_parameters_cell_may_be_exported_too() -> None:
    plan = plan_of([code("seed = 3  # the seed", "parameters", "export"), code("def seeded():\n    return seed", "export")])
    assert only_module(plan).all_names == ("seed", "seeded")
    assert [p.name for p in plan.parameters] == ["seed"]


# --- modules and the package name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "module"),
    [("train", "train"), ("Train Model-v2", "train_model_v2"), ("01_eda", "nb_01_eda"), ("class", "class_"), ("Über", "_ber")],
)
def test_module_named_after_the_notebook_is_a_valid_identifier(stem: str, module: str) -> None:
    assert module_identifier(stem) == module
    assert module.isidentifier() and not keyword.iskeyword(module)
    assert only_module(plan_of([code("x = 1", "export")], name=f"nbs/{stem}.ipynb")).name == module


def test_default_exp_names_the_module_and_export_sends_one_cell_elsewhere() -> None:
    plan = plan_of(
        [
            code("#| default_exp core"),
            code("#| export\ndef a():\n    return 1"),
            code("#| export utils\ndef b():\n    return 2"),
            code("#| exporti utils\n_c = 3"),
            code("assert a() == 1", "test"),
        ]
    )
    assert [(m.name, m.all_names, m.names) for m in plan.modules] == [("core", ("a",), ("a",)), ("utils", ("b",), ("_c", "b"))]
    assert plan.tests[0].module == "core"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([code("#| default_exp core.utils"), code("#| export\nx = 1")], "train.ipynb:cell 1:line 1: error: module 'core.utils' is nested"),
        ([code("#| export data.io\nx = 1")], "train.ipynb:cell 1:line 1: error: module 'data.io' is nested"),
        ([code("#| default_exp my-module"), code("#| export\nx = 1")], "error: 'my-module' is not a valid module name"),
        ([code("#| default_exp class"), code("#| export\nx = 1")], "error: 'class' is not a valid module name"),
        ([code("#| default_exp cli"), code("#| export\nx = 1")], "error: module name 'cli' is taken by the package's own cli.py"),
        ([code("#| default_exp"), code("#| export\nx = 1")], "train.ipynb:cell 1:line 1: error: `#| default_exp` names no module"),
        ([code("#| default_exp a"), code("#| default_exp b\n#| export\nx = 1")], "train.ipynb:cell 2:line 1: error: two `#| default_exp`"),
    ],
)
def test_bad_module_names_are_errors(cells: list[dict[str, Any]], expected: str) -> None:
    assert expected in error_of(cells)


def test_nested_module_error_suggests_a_flat_name() -> None:
    assert "use a name without dots, such as `core_utils`" in error_of([code("#| default_exp core.utils"), code("#| export\nx = 1")])


def test_a_notebook_named_like_the_entry_point_needs_default_exp() -> None:
    message = error_of([code("x = 1", "export")], name="cli.ipynb")
    assert "the notebook's module would be 'cli'" in message and "#| default_exp NAME" in message
    assert only_module(plan_of([code("#| default_exp tools"), code("x = 1", "export")], name="cli.ipynb")).name == "tools"


def test_package_name_from_option_stem_or_common_folder() -> None:
    cells = [code("x = 1", "export")]
    stem = plan_of(cells, name="nbs/Churn Model.ipynb")
    assert (stem.package, stem.distribution) == ("churn_model", "churn-model")
    named = build_plan([notebook(cells, "nbs/train.ipynb")], name="My-Package")
    assert (named.package, named.distribution) == ("my_package", "my-package")
    two = build_plan([notebook(cells, "projects/churn_kit/a.ipynb"), notebook(cells, "projects/churn_kit/sub/b.ipynb")])
    assert two.package == "churn_kit"
    assert [m.name for m in two.modules] == ["a", "b"]
    with pytest.raises(ExportError, match="the package name is empty"):
        build_plan([notebook(cells)], name="  ")


# --- errors ------------------------------------------------------------------------------------------------------


def test_nothing_marked_says_how_to_mark_cells() -> None:
    message = error_of([md("# Notes"), code("x = 1"), code("#| hide\ny = 2")])
    assert message.startswith("train.ipynb: error: nothing is marked for export (")
    assert "tag the cells to export `export`" in message and "`#| export`" in message


def test_several_notebooks_skip_the_unmarked_ones_with_a_warning_but_not_all() -> None:
    plan = build_plan([notebook([code("x = 1", "export")], "nbs/a.ipynb"), notebook([code("y = 2")], "nbs/index.ipynb")])
    assert plan.notebooks == ("nbs/a.ipynb",)
    assert plan.warnings == ("nbs/index.ipynb: warning: nothing is marked for export; skipped",)
    message = error_of([notebook([code("y = 2")], "nbs/a.ipynb"), notebook([code("z = 3")], "nbs/b.ipynb")])
    assert "none of the 2 notebooks has cells marked for export" in message


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("one/train.ipynb", [code("x = 1", "export")]), ("two/train.ipynb", [code("y = 2", "export")])),
        (
            ("a.ipynb", [code("#| default_exp core"), code("#| export\nx = 1")]),
            ("b.ipynb", [code("#| default_exp core\n#| export\ny = 2")]),
        ),
        (("core.ipynb", [code("x = 1", "export")]), ("b.ipynb", [code("y = 2", "export"), code("#| export core\nz = 3")])),
    ],
)
def test_two_notebooks_writing_one_module_is_an_error_naming_both(first: tuple[str, Any], second: tuple[str, Any]) -> None:
    message = error_of([notebook(first[1], first[0]), notebook(second[1], second[0])])
    assert first[0] in message and second[0] in message
    assert "write module" in message and "default_exp" in message


def test_several_notebooks_with_main_cells_is_an_error() -> None:
    message = error_of([notebook([code("a = 1", "main")], "a.ipynb"), notebook([code("b = 1", "main")], "b.ipynb")])
    assert message.startswith("b.ipynb: error: several notebooks have `main` cells (a.ipynb, b.ipynb); a package has one entry point")


def test_exported_cell_using_a_name_only_an_unexported_cell_defines_is_an_error() -> None:
    message = error_of(
        [
            code("import math\nfactor = 2"),
            code("seed = 1", "parameters"),
            code("def area(r):\n    return math.pi * r * factor * seed", "export"),
        ]
    )
    assert message.startswith("train.ipynb:cell 3:line 2: error: cells bound for the package use names that only cells left out")
    assert "exported cell 3 uses 'math' (line 2), 'factor' (line 2), defined only in cell 1; " in message
    assert "exported cell 3 uses 'seed' (line 2), defined only in cell 2 (the parameters cell)" in message
    assert "(NB201)" in message and "mark the cells that define them for export" in message


def test_a_cell_exported_to_another_module_does_not_define_names_for_this_one() -> None:
    message = error_of([code("#| export helpers\nimport math"), code("#| export\ndef f():\n    return math.pi")])
    assert "exported cell 2 uses 'math' (line 3), defined only in cell 1 (exported to module 'helpers')" in message


def test_main_cells_may_use_parameters_exported_and_main_names_but_nothing_else() -> None:
    cells = [
        code("seed = 1", "parameters"),
        code("import nb2prod\nfrom nb2prod import record"),  # the entry point provides both names
        code("def twice(x):\n    return 2 * x", "export"),
        code("value = twice(seed)", "main"),
        code("nb2prod.record('value', value)\nrecord('again', value)", "main"),
    ]
    assert plan_of(cells).main_code
    message = error_of([*cells, code("scratch = 3"), code("total = value + scratch", "main")])
    assert (
        message.startswith("train.ipynb:cell 7:line 1: error:") and "main cell 7 uses 'scratch' (line 1), defined only in cell 6" in message
    )


def test_test_cells_may_use_the_module_but_not_other_tests_or_main_cells() -> None:
    cells = [code("def f():\n    return 1", "export"), code("shared = f()", "test"), code("result = f()", "main")]
    assert len(plan_of([*cells, code("assert f() == 1", "test")]).tests) == 2
    message = error_of([*cells, code("assert shared == result", "test")])
    assert "test cell 4 uses 'shared' (line 1), defined only in cell 2 (a test cell); " in message
    assert "test cell 4 uses 'result' (line 1), defined only in cell 3 (a main cell)" in message


@pytest.mark.parametrize(
    ("source", "location", "what"),
    [
        ("import os\n!pip install lightgbm", "cell 1:line 2", "shell command `!pip install lightgbm` (line 2)"),
        ("files = !ls", "cell 1:line 1", "shell command `!ls` (line 1)"),
        ("x = 1\nx?", "cell 1:line 2", "help request `x?` (line 2)"),
        ("%%bash\necho hi", "cell 1:line 1", "cell magic `%%bash` (line 1)"),
        ("%%capture out\nx = 1", "cell 1:line 1", "cell magic `%%capture` (line 1)"),
        ("%%timeit\nx = 1", "cell 1:line 1", "cell magic `%%timeit` (line 1)"),
        ("x = 1\n%%time\ny = 2", "cell 1:line 2", "cell magic `%%time` below the cell's first line (line 2)"),
        ("%run other.py", "cell 1:line 1", "magic `%run` (line 1)"),
        ("%store -r model", "cell 1:line 1", "magic `%store` (line 1)"),
    ],
)
@pytest.mark.parametrize("role", ["export", "main", "test"])
def test_ipython_syntax_a_module_cannot_run_is_an_error_naming_cell_and_line(source: str, location: str, what: str, role: str) -> None:
    message = error_of([code(source, role)])
    kind = {"export": "exported", "main": "main", "test": "test"}[role]
    assert message.startswith(f"train.ipynb:{location}: error: {kind} cell 1 holds IPython syntax a Python module cannot run: {what}")
    assert "(NB202)" in message and "subprocess.run" in message


def test_a_cell_that_does_not_parse_is_an_error_with_its_line() -> None:
    message = error_of([code("x = 1", "export"), code("def f(:\n    pass", "export")])
    assert message.startswith("train.ipynb:cell 2:line 1: error: exported cell 2 does not parse as Python:")
    assert "(NB208)" in message


@pytest.mark.parametrize(
    ("source", "line"),
    [("x = 1\nawait something()", 2), ("return 5", 1), ("yield 1", 1), ("x = 1\nfrom __future__ import annotations", 2)],
)
def test_code_that_runs_only_in_a_notebook_is_an_error(source: str, line: int) -> None:
    message = error_of([code(source, "export")])
    assert message.startswith(f"train.ipynb:cell 1:line {line}: error: exported cell 1 cannot run as module code:")


def test_a_relative_import_in_an_exported_cell_is_an_error() -> None:
    message = error_of([code("import os\nfrom .helpers import load", "export")])
    assert message.startswith("train.ipynb:cell 1:line 2: error: exported cell 1 imports relatively from '.helpers'")
    assert "(NB207)" in message and "from train.train import" in message


def test_non_python_notebooks_are_refused_alone_and_skipped_among_others() -> None:
    r_kernel = {"kernelspec": {"display_name": "R", "language": "R", "name": "ir"}}
    r_notebook = notebook([code("x <- 1", "export")], "analysis.ipynb", metadata=r_kernel)
    assert "kernel language is r, not Python" in error_of([r_notebook])
    plan = build_plan([r_notebook, notebook([code("x = 1", "export")])])
    assert plan.warnings == ("analysis.ipynb: warning: the notebook's kernel language is r, not Python; skipped",)


def test_unknown_formatter_and_no_notebooks() -> None:
    with pytest.raises(UsageError, match="unknown formatter 'yapf'"):
        plan_of([code("x = 1", "export")], formatter="yapf")
    with pytest.raises(ExportError, match="no notebooks to export"):
        build_plan([])


def test_a_bad_parameters_cell_is_an_export_error() -> None:
    message = error_of([code("seed = 1\nprint(seed)", "parameters"), code("x = 1", "export")])
    assert message.startswith("train.ipynb:cell 1: error: line 2: only `name = literal` assignments belong in the parameters cell")


# --- module code -----------------------------------------------------------------------------------------------------


def test_module_layout_docstring_future_all_then_blocks_with_provenance() -> None:
    plan = plan_of(
        [
            code("#| export\nfrom __future__ import annotations\n\nimport math", cell_id="3f2a9c1e"),
            code("x = 1"),
            code("def area(r: float) -> float:\n    return math.pi * r**2", "export"),
        ],
        name="notebooks/train.ipynb",
    )
    module = only_module(plan)
    tree = ast.parse(module.code)
    assert ast.get_docstring(tree) == "Exported by nb2prod from notebooks/train.ipynb."
    statements = [ast.unparse(node) for node in tree.body[1:3]]
    assert statements == ["from __future__ import annotations", "__all__ = ['area']"]
    assert module.code.count("from __future__") == 1
    assert "# -- from notebooks/train.ipynb, cell 1 (id 3f2a9c1e) --\nimport math\n" in module.code
    assert "# -- from notebooks/train.ipynb, cell 3 (id c2) --\ndef area" in module.code
    assert "x = 1" not in module.code
    assert [(b.notebook, b.cell_index, b.cell_id) for b in module.blocks] == [
        ("notebooks/train.ipynb", 0, "3f2a9c1e"),
        ("notebooks/train.ipynb", 2, "c2"),
    ]
    assert module.code.endswith("\n") and not module.code.endswith("\n\n")
    assert assert_runs(module)["area"](1.0) == pytest.approx(3.14159, rel=1e-4)


def test_provenance_without_a_cell_id_names_the_cell_number_and_odd_paths_stay_comments() -> None:
    cells = [{k: v for k, v in code("x = 1", "export").items()}]
    data = {"cells": cells, "metadata": KERNEL, "nbformat": 4, "nbformat_minor": 4}
    odd = 'we"ird\\dir\nx/train.ipynb'
    module = only_module(build_plan([Notebook(Path("train.ipynb"), odd, data, b"", "ipynb")]))
    assert "cell 1 --" in module.code and "(id" not in module.code
    assert ast.get_docstring(ast.parse(module.code)) == 'Exported by nb2prod from we"ird\\dir\\nx/train.ipynb.'
    assert_runs(module)


def test_magics_are_dropped_or_unwrapped() -> None:
    plan = plan_of(
        [
            code(
                "%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n%config InlineBackend.figure_format = 'retina'\n"
                "import math\n%time x = math.sqrt(16)\n%timeit -n 3 -r 1 y = 2\nz = %time 3 + 4\n"
                "if x:\n    %matplotlib inline\n%prun w = 5",
                "export",
            ),
            code("%%time\ntotal = x + y + z + w", "export"),
            code("%time done = total", "main"),
        ]
    )
    module = only_module(plan)
    assert "%" not in module.code and "autoreload" not in module.code and "config" not in module.code
    assert "x = math.sqrt(16)" in module.code and "y = 2" in module.code and "z = 3 + 4" in module.code
    assert "total = x + y + z + w" in module.code
    assert "if x:\n    pass" in module.code  # a magic alone in a block leaves the block valid
    scope = assert_runs(module)
    assert (scope["x"], scope["y"], scope["z"], scope["w"], scope["total"]) == (4.0, 2, 7, 5, 18.0)
    assert "done = total" in plan.main_code and "%" not in plan.main_code


def test_a_cell_that_is_only_magics_or_directives_adds_no_block() -> None:
    module = only_module(plan_of([code("#| export\n%matplotlib inline"), code("x = 1", "export"), code("#| export\n#| eval: false")]))
    assert [b.cell_index for b in module.blocks] == [1]
    assert module.code.count("# -- from") == 1


def test_all_comes_from_the_ast_never_from_strings_or_comments() -> None:
    module = only_module(
        plan_of(
            [
                code('"""Module notes: __all__ = ["from_docstring"]"""\nimport os\nfrom math import pi as PI', "export"),
                code(
                    "def real():\n"
                    "    inner = 1  # nested names are not top-level\n"
                    '    return "not_a_name = 1"\n'
                    "# commented_out = 2\n"
                    'TEXT = "def fake(): pass\\nclass Fake: pass"\n'
                    "a, (b, *rest) = 1, (2, 3, 4)\n"
                    "count: int = 0\n"
                    "count += 1\n"
                    "if True:\n    in_block = 1\n"
                    "for loop_var in range(2):\n    pass\n"
                    "_private = 3\n"
                    "class Thing:\n    attribute = 1",
                    "export",
                ),
            ]
        )
    )
    assert module.all_names == ("TEXT", "a", "b", "rest", "count", "real", "Thing")  # nbdev's order: assigned, then def/class
    assert {"os", "PI", "in_block", "loop_var", "_private"} <= set(module.names)
    for absent in ("from_docstring", "not_a_name", "commented_out", "fake", "Fake", "inner", "attribute"):
        assert absent not in module.names
    assert_runs(module)


def test_all_only_lists_names_the_module_binds() -> None:
    module = only_module(plan_of([code("gone = 1\ndel gone\nannotated_only: int", "export")]))
    assert module.all_names == () and module.names == ()
    assert_runs(module)


def test_all_follows_nbdev_for_patch_and_all_lists() -> None:
    module = only_module(
        plan_of(
            [
                code("def patch(f):\n    return f\n\n\ndef patch_to(cls):\n    return lambda f: f", "export-internal"),
                code("class A:\n    pass", "export"),
                code("@patch\ndef method(self: A):\n    return 1\n\n\n@patch_to(A)\ndef other(self):\n    return 2", "export"),
                code('_all_ = ["_keep", "missing_name"]\n_keep = 1', "export"),
            ]
        )
    )
    assert module.all_names == ("A", "_keep")
    assert {"method", "other", "_all_"} <= set(module.names)
    assert_runs(module)


def test_a_name_both_export_and_export_internal_define_is_public_and_nb209_warns() -> None:
    plan = plan_of([code("def f():\n    return 1", "export"), code("def f():\n    return 2", "export-internal"), code("f = 3", "export")])
    module = only_module(plan)
    assert module.all_names == ("f",)
    assert plan.warnings == (
        "train.ipynb:cell 2:line 1: warning: 'f' is also defined by cell 1, which is exported too; the later definition wins, "
        "as in the notebook (NB209)",
        "train.ipynb:cell 3:line 1: warning: 'f' is also defined by cell 1, which is exported too; the later definition wins, "
        "as in the notebook (NB209)",
    )
    assert assert_runs(module)["f"] == 3
    assert plan_of([code("import os", "export"), code("import os", "export")]).warnings == ()  # imports are not definitions


def test_nb2prod_imports_are_removed_and_other_nb2prod_imports_are_errors() -> None:
    plan = plan_of(
        [
            code("#| export\nimport json, nb2prod\nfrom nb2prod import record"),
            code("import nb2prod\nfrom nb2prod import record\nvalue = 1\nnb2prod.record('value', value)\nrecord('v2', 2)", "main"),
            code("import nb2prod; x = 1", "export"),
            code("def later():\n    import nb2prod\n\n    return nb2prod", "main"),
        ]
    )
    module = only_module(plan)
    assert "nb2prod" not in module.code.split('"""', 2)[2] and "import json" in module.code
    assert module.names == ("json", "x")
    assert "import nb2prod" not in plan.main_code and "from nb2prod" not in plan.main_code
    assert "def later():\n    pass\n\n    return nb2prod" in plan.main_code  # a nested import leaves its block valid
    assert 'nb2prod.record("value", value)' in plan.main_code and 'record("v2", 2)' in plan.main_code
    assert plan.recorded == ("value", "v2")
    assert plan.dependencies == ()
    for source, shown in [("import nb2prod as nb", "imports nb2prod as nb"), ("from nb2prod import strip", "imports strip from nb2prod")]:
        message = error_of([code(source, "main")])
        assert message.startswith("train.ipynb:cell 1:line 1: error: main cell 1 " + shown)


def test_exported_or_test_code_that_uses_nb2prod_is_an_error() -> None:
    message = error_of([code("import nb2prod", "export"), code("#| export\n\ndef evaluate(x):\n    nb2prod.record('x', x)")])
    assert message.startswith("train.ipynb:cell 2:line 4: error: exported cell 2 uses 'nb2prod' from nb2prod")
    message = error_of([code("from nb2prod import record", "export"), code("record('x', 1)", "test")])
    assert message.startswith("train.ipynb:cell 2:line 1: error: test cell 2 uses 'record' from nb2prod")


# --- main code, tests, parameters, card ---------------------------------------------------------------------------


def test_main_code_tests_parameters_and_recorded_metrics() -> None:
    plan = plan_of(
        [
            md("# Churn **model**\n\nPredicts who leaves, from [usage](https://x.y/data).\n\n> Quarterly data.\n\n## Parameters"),
            code("seed = 3  # the seed\nrate = 0.5", "parameters"),
            code("#| export\ndef double(x):\n    return 2 * x"),
            code("#| main\nresult = double(seed)\nnb2prod.record('result', result)"),
            code("#| test\nassert double(2) == 4"),
            code("record(name='rate', value=rate)\nrecord(f'dyn_{seed}', 1)\nnb2prod.record('result', result)", "main"),
            code("assert double(0) == 0", "test", cell_id="t1"),
        ]
    )
    assert plan.main_module == "train"
    assert plan.main_code.startswith("# -- from train.ipynb, cell 4 (id c3) --\nresult = double(seed)\n")
    assert "#|" not in plan.main_code
    assert plan.recorded == ("result", "rate")
    assert [(p.name, p.type, p.default, p.help) for p in plan.parameters] == [("seed", "int", 3, "the seed"), ("rate", "float", 0.5, "")]
    assert [(t.name, t.module, t.code, t.origin.cell_index, t.origin.cell_id) for t in plan.tests] == [
        ("test_train_cell_5", "train", "assert double(2) == 4", 4, "c4"),
        ("test_train_cell_7", "train", "assert double(0) == 0", 6, "t1"),
    ]
    assert (plan.title, plan.description) == ("Churn model", "Predicts who leaves, from usage.\n\nQuarterly data.")
    recorded: dict[str, Any] = {}
    shim = SimpleNamespace(record=lambda name, value: recorded.__setitem__(name, value))
    scope = execute(only_module(plan).code)
    execute(plan.main_code, {"double": scope["double"], "seed": 3, "rate": 0.5, "nb2prod": shim, "record": shim.record})
    assert recorded == {"result": 6, "rate": 0.5, "dyn_3": 1}
    for test in plan.tests:
        execute(test.code, {"double": scope["double"]})


def test_parameters_come_from_the_notebook_with_main_cells() -> None:
    plan = build_plan(
        [
            notebook([code("alpha = 1", "parameters"), code("def f():\n    return 1", "export")], "nbs/features.ipynb"),
            notebook([code("beta = 2.0", "parameters"), code("y = beta", "main")], "nbs/train.ipynb"),
        ]
    )
    assert [p.name for p in plan.parameters] == ["beta"]
    assert plan.main_module == "train"
    assert [m.name for m in plan.modules] == ["features", "train"]
    assert only_module(build_plan([notebook([code("y = 1", "main")], "nbs/train.ipynb")])).names == ()
    two_without_main = build_plan(
        [notebook([code("a = 1", "parameters"), code("x = 1", "export")], "p/a.ipynb"), notebook([code("y = 1", "export")], "p/b.ipynb")]
    )
    assert two_without_main.parameters == () and two_without_main.main_code == "" and two_without_main.main_module is None


def test_dependencies_come_from_module_and_main_code_not_tests() -> None:
    plan = plan_of(
        [
            code("import yaml\nimport os", "export"),
            code("import sklearn", "test"),
            code("import json\nimport surely_not_installed_nb2prod_abc\nimport train.helpers", "main"),
        ]
    )
    assert [(d.distribution, d.imports, d.version is None) for d in plan.dependencies] == [
        ("PyYAML", ("yaml",), False),
        ("surely_not_installed_nb2prod_abc", ("surely_not_installed_nb2prod_abc",), True),
    ]
    assert plan.warnings == (
        "train.ipynb:cell 3: warning: no installed distribution provides the import 'surely_not_installed_nb2prod_abc'; the package "
        "requires 'surely_not_installed_nb2prod_abc' without a version (install it and export again, or correct the requirement)",
    )


def test_cli_is_a_module_name_like_any_other_when_only_modules_are_written() -> None:
    """nbdev itself has a `#| default_exp cli` notebook; --into writes no cli.py of its own. The dunders stay refused."""
    cells = [code("#| default_exp cli"), code("#| export\ndef main():\n    return 0")]
    assert [module.name for module in build_plan([notebook(cells, "nbs/13_cli.ipynb")], modules_only=True).modules] == ["cli"]
    assert "module name 'cli' is taken" in error_of(cells, "nbs/13_cli.ipynb")
    assert "module name '__init__' is taken" in error_of([code("#| default_exp __init__"), code("#| export\nx = 1")], modules_only=True)
    assert "the notebook's module would be 'cli'" in error_of([code("x = 1", "export")], "cli.ipynb")
    assert [module.name for module in build_plan([notebook([code("x = 1", "export")], "cli.ipynb")], modules_only=True).modules] == ["cli"]


def test_modules_only_infers_no_dependencies_and_warns_of_none() -> None:
    """What writes only the modules (--into, the nbconvert exporter) asks for no requirements: no inference, no warning."""
    cells = [code("import yaml\nimport surely_not_installed_nb2prod_abc", "export")]
    plan = build_plan([notebook(cells, "train.ipynb")], modules_only=True)
    assert plan.dependencies == () and plan.warnings == ()
    assert plan.modules == build_plan([notebook(cells, "train.ipynb")]).modules


def test_black_formats_too_and_both_formatters_give_code_that_runs() -> None:
    cells = [code("import math\ndef f( x ):\n  return math.floor( x )\nVALUES=[1,2,\n3]", "export")]
    ruff_module, black_module = (only_module(plan_of(cells, formatter=f)) for f in ("ruff", "black"))
    for module in (ruff_module, black_module):
        assert "def f(x):\n    return math.floor(x)" in module.code
        assert assert_runs(module)["f"](2.5) == 2


def test_building_twice_gives_equal_plans_and_the_hash_follows_the_input() -> None:
    cells = [md("# T"), code("seed = 1", "parameters"), code("def f():\n    return 1", "export"), code("y = f()", "main")]
    first, second = plan_of(cells), plan_of(cells)
    assert first == second
    assert len(first.source_hash) == 64 and int(first.source_hash, 16) >= 0
    changed = [*cells[:2], code("def f():\n    return 2", "export"), cells[3]]
    assert plan_of(changed).source_hash != first.source_hash
    assert plan_of(cells, formatter="black").source_hash != first.source_hash
    assert build_plan([notebook(cells)], name="other").source_hash != first.source_hash
    unmarked_change = [*cells, code("scratch = 1")]
    assert plan_of(unmarked_change).source_hash == first.source_hash  # cells export ignores do not matter


# --- fixtures on disk: they export, and what they export runs ---------------------------------------------------------


def test_tagged_fixture_exports_and_runs_end_to_end() -> None:
    path = DATA / "tagged" / "churn.ipynb"
    plan = build_plan([read_notebook(path, display_path="churn.ipynb")])
    module = only_module(plan)
    assert (module.name, module.all_names) == ("churn", ("make_data", "predict"))
    assert module.names == ("_accuracy", "accuracy_of", "make_data", "predict", "random", "statistics")
    assert module.code.startswith('"""Exported by nb2prod from churn.ipynb."""\n\nfrom __future__ import annotations\n\n__all__ = [')
    assert [b.cell_index for b in module.blocks] == [3, 4, 5]  # the magics-only cell 3 adds nothing
    scope = assert_runs(module)
    recorded: dict[str, Any] = {}
    shim = SimpleNamespace(record=lambda name, value: recorded.__setitem__(name, value))
    execute(plan.main_code, {**{name: scope[name] for name in module.names}, "seed": 7, "threshold": 0.5, "nb2prod": shim})
    assert set(recorded) == {"accuracy", "n"} and recorded["n"] == 200 and 0.0 <= recorded["accuracy"] <= 1.0
    assert plan.recorded == ("accuracy", "n")
    assert [p.name for p in plan.parameters] == ["seed", "threshold", "label"]
    for test in plan.tests:
        execute(test.code, {name: scope[name] for name in module.names})
    assert (plan.title, plan.description) == ("Churn model", "Predicts which customers leave, from the usage data.")
    assert plan.dependencies == () and plan.warnings == ()


# nbdev's rules (nbdev/maker.py, make_all): `export` and `exports` cells put their public top-level
# names in __all__ (defs and classes not decorated @patch…, assignment targets incl. unpacking and
# augmented/annotated ones, and whatever `_all_` lists); `exporti` cells' names never; names starting
# with `_` never (unless `_all_` lists them); `#| hide` cells are not exported; `#| export NAME`
# sends a cell to module NAME; notebooks with nothing to export (index.ipynb) are skipped.
# The __all__ lists (names and order) are what nbdev-export 3.3.26 writes for core and data from
# these notebooks (checked by running it on them; it refuses extras, whose module file must exist).
NBDEV_EXPECTED = {
    "core": (
        ("VERSION", "DEFAULT_NAME", "count", "greet", "Greeter", "_special"),
        ("DEFAULT_NAME", "Greeter", "VERSION", "_BUILD", "_all_", "_clean", "_special", "count", "dataclass", "greet",
         "internal_helper", "patch", "re", "shout"),
    ),
    "data": (("load", "dump"), ("Path", "dump", "json", "load")),
    "extras": (("EXTRA", "extra"), ("EXTRA", "_hidden_extra", "extra", "more_internal")),
}  # fmt: skip


def nbdev_plan() -> ExportPlan:
    paths = sorted((DATA / "nbdev").glob("*.ipynb"))
    return build_plan([read_notebook(path, display_path=f"nbs/{path.name}") for path in paths], name="nbdev_fixture")


def test_nbdev_notebooks_export_unchanged_with_nbdevs_all_and_names() -> None:
    plan = nbdev_plan()
    assert {module.name: (module.all_names, module.names) for module in plan.modules} == NBDEV_EXPECTED
    assert plan.warnings == ("nbs/index.ipynb: warning: nothing is marked for export; skipped",)
    assert plan.notebooks == ("nbs/00_core.ipynb", "nbs/01_data.ipynb")
    assert plan.tests == () and plan.main_code == "" and plan.parameters == ()
    assert (plan.title, plan.description) == ("core", "Core helpers of the fixture library.")


@pytest.mark.parametrize("module_name", sorted(NBDEV_EXPECTED))
def test_each_nbdev_module_runs_and_keeps_no_directive_or_test_cell(module_name: str) -> None:
    module = next(m for m in nbdev_plan().modules if m.name == module_name)
    scope = assert_runs(module)
    assert "#|" not in module.code and "# |" not in module.code
    assert "assert " not in module.code and "nbdev" not in module.code.split('"""', 2)[2]
    if module_name == "core":
        assert scope["greet"]("  Ada  ") == "Hello, Ada!" and scope["Greeter"]().shout("x") == "HELLO, X!"
        assert "fake_in_docstring" not in scope and "also_fake_in_comment" not in scope
    if module_name == "data":
        assert [b.cell_index for b in module.blocks] == [2, 3, 4]  # `#| hide` + `#| export` is exported, as in nbdev


def test_nbdev_plan_is_deterministic() -> None:
    assert nbdev_plan() == nbdev_plan()


# --- property: generated notebooks either raise ExportError or give modules that parse ---------------------------------

NAMES = st.sampled_from(["a", "b", "c", "data", "model", "_hidden", "result"])
STDLIB = st.sampled_from(["os", "math", "json", "random", "collections", "re"])
ROLES = ["export", "export-internal", "main", "test", "skip", "parameters"]
SPELLINGS = {
    "export": ["#| export", "#|export", "# | export", "#| exports", "#| export other"],
    "export-internal": ["#| exporti", "#|exporti", "#| exporti other"],
    "main": ["#| main"],
    "test": ["#| test"],
    "skip": ["#| hide", "#| skip"],
    "parameters": ["#| parameters"],
}
# Mostly what export drops or unwraps; now and then what it refuses.
MAGICS = st.sampled_from(
    ["%matplotlib inline", "%time x = 1", "%load_ext autoreload", "%timeit -n 2 y = 2", "%config A.b = 1", "!ls", "%run x.py"]
)


@st.composite
def statements(draw: st.DrawFn) -> str:
    name = draw(NAMES)
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return f"{name} = {draw(st.integers(-5, 5))}"
    if kind == 1:
        return f"def {name}(x={draw(st.integers(0, 3))}):\n    return x"
    if kind == 2:
        return f"class {name.title()}:\n    value = {draw(st.integers(0, 3))}"
    if kind == 3:
        return f"import {draw(STDLIB)}"
    if kind == 4:
        return f"from {draw(STDLIB)} import *"
    if kind == 5:
        return draw(MAGICS)
    if kind == 6:
        return f"if {name!r}:\n    {draw(MAGICS)}\n    {name} = 1"
    return f"{name} = {draw(NAMES)}"  # may read a name another cell defines (or none does)


@st.composite
def cells(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.integers(0, 4)) == 0:
        words = draw(st.lists(st.text(string.ascii_letters + " #*`[]()>", max_size=12), max_size=3))
        return md(draw(st.sampled_from(["# ", "## ", ""])) + "\n".join(words))
    count = draw(st.sampled_from([0, 0, 1, 1, 1, 1, 1, 1, 1, 2]))  # mostly one role, sometimes none, now and then two
    roles = draw(st.lists(st.sampled_from(ROLES), min_size=count, max_size=count, unique=True))
    tags, lines = [], []
    for role in roles:
        if draw(st.booleans()):
            tags.append(role)
        else:
            lines.append(draw(st.sampled_from(SPELLINGS[role])))
    lines.extend(draw(st.lists(st.sampled_from(["#| default_exp core", "#| eval: false"]), max_size=1)))
    if "parameters" in roles:
        lines.extend(
            f"{name} = {value!r}" for name, value in draw(st.lists(st.tuples(NAMES, st.integers() | st.text(max_size=3)), max_size=3))
        )
    else:
        if not lines and draw(st.integers(0, 3)) == 0:
            lines.append("%%time")
        lines.extend(draw(st.lists(statements(), max_size=4)))
    return code("\n".join(lines), *tags)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cells(), min_size=1, max_size=7), st.booleans())
def test_generated_notebooks_raise_export_error_or_give_modules_that_parse(specs: list[dict[str, Any]], all_cells: bool) -> None:
    try:
        plan = plan_of(specs, all_cells=all_cells)
    except ExportError:
        return
    for module in plan.modules:
        ast.parse(module.code)
        assert set(module.all_names) <= set(module.names)
    ast.parse(plan.main_code)
    for test in plan.tests:
        ast.parse(test.code)
    assert plan_of(specs, all_cells=all_cells) == plan


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cells(), min_size=1, max_size=7), st.booleans())
def test_a_modules_tree_made_from_its_cells_is_the_ast_of_its_code(specs: list[dict[str, Any]], all_cells: bool) -> None:
    """Verification compares the formatted module with this tree instead of parsing the code again: it must be the same AST."""
    from nb2prod import fmtverify
    from nb2prod.export import codegen

    made: list[tuple[ModulePlan, ast.Module]] = []
    real = codegen.module_plans

    def capture(owners: Any) -> Any:
        modules, trees = real(owners)
        made.extend((module, tree) for module, tree in zip(modules, trees, strict=True) if tree is not None)
        return modules, trees

    with pytest.MonkeyPatch.context() as patch, contextlib.suppress(ExportError):  # a tree that is wrong fails verification too
        patch.setattr(codegen, "module_plans", capture)
        plan_of(specs, all_cells=all_cells)
    for module, tree in made:
        assert fmtverify._same_code(ast.parse(module.code), tree)


def test_commented_magics_and_cell_markers_stay_comments_in_place() -> None:
    """reliability.md scenario 17: text equal to a magic or a cell separator, in a comment or a string, shifts nothing."""
    cell = 'def f():\n    # %%capture is not run here\n    return 1\n# %% not a new cell\nTEXT = """\n%%bash\n# %%\n"""'
    plan = plan_of([code(cell, "export"), code("assert f() == 1", "test")])
    module = only_module(plan)
    kept = ["    # %%capture is not run here\n    return 1\n", '# %% not a new cell\nTEXT = """\n%%bash\n# %%\n"""\n']
    assert all(text in module.code for text in kept) and module.code.index(kept[0]) < module.code.index(kept[1])
    assert assert_runs(module)["TEXT"] == "\n%%bash\n# %%\n"
    assert module.all_names == ("TEXT", "f") and [test.code for test in plan.tests] == ["assert f() == 1"]
