"""``lint --fix``: each notebook fix, ruff's safe fixes, suppression, idempotence, and what is never touched."""

from __future__ import annotations

import copy
import json
import os
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nb2prod.config import Config, LintConfig
from nb2prod.lint.fix import FIXABLE, fix, fix_notebook, new_cell_id
from nb2prod.model import source_text

MakeNotebook = Callable[..., Path]
ERROR = {"ename": "ZeroDivisionError", "evalue": "division by zero", "output_type": "error", "traceback": ["Traceback…"]}
STREAM = {"name": "stdout", "output_type": "stream", "text": ["before the error\n"]}
PNG = {"data": {"image/png": "iVBORw0KGgo=\n", "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def age(path: Path) -> int:
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    return path.stat().st_mtime_ns


@pytest.fixture
def notebook_json(make_notebook: MakeNotebook) -> Callable[..., dict[str, Any]]:
    """Notebook JSON built from cell specs (``make_notebook``'s), as read back from the file."""

    def build(cells: list[Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        return load(make_notebook(cells, metadata=metadata))

    return build


def only(*codes: str) -> Callable[[str], bool]:
    return lambda code: code in codes


# --- the notebook fixes, pure -----------------------------------------------------------------------


def test_nb502_removes_whitespace_only_cells_of_every_type_but_keeps_markdown_with_attachments(
    notebook_json: Callable[..., dict[str, Any]],
) -> None:
    attachment = {"cell_type": "markdown", "id": "att", "metadata": {}, "source": "", "attachments": {"a.png": {"image/png": "eA=="}}}
    data = notebook_json(["x = 1", "   \n\t", ("markdown", "\n"), ("raw", ""), attachment, ("markdown", "# kept")])
    fixed = fix_notebook(data, only("NB502"))
    assert [cell["id"] for cell in fixed["cells"]] == ["cell-0", "att", "cell-5"]


def test_nb502_an_all_empty_notebook_ends_with_no_cells(notebook_json: Callable[..., dict[str, Any]]) -> None:
    fixed = fix_notebook(notebook_json(["", ("markdown", "  ")]), only("NB502"))
    assert fixed["cells"] == []


def test_nb501_clears_error_outputs_only(notebook_json: Callable[..., dict[str, Any]]) -> None:
    data = notebook_json([{"source": "1/0", "outputs": [STREAM, ERROR, PNG], "execution_count": 3}, {"source": "y", "outputs": [PNG]}])
    fixed = fix_notebook(data, only("NB501"))
    assert fixed["cells"][0]["outputs"] == [STREAM, PNG]
    assert fixed["cells"][0]["execution_count"] == 3
    assert fixed["cells"][1] == data["cells"][1]


def test_nb501_honours_a_noqa_comment_in_the_cell(notebook_json: Callable[..., dict[str, Any]]) -> None:
    data = notebook_json([{"source": "1/0  # nb2prod: noqa NB501 (shows the error on purpose)", "outputs": [ERROR]}])
    assert fix_notebook(data, only("NB501")) == data


def test_nb507_adds_missing_ids_and_renames_duplicates_deterministically(notebook_json: Callable[..., dict[str, Any]]) -> None:
    data = notebook_json(["a = 1", "b = 2", "c = 3", ("markdown", "# t")])
    del data["cells"][0]["id"]
    data["cells"][2]["id"] = "cell-1"  # duplicate of cell 2's id
    del data["cells"][3]["id"]
    fixed = fix_notebook(data, only("NB507"))
    ids = [cell["id"] for cell in fixed["cells"]]
    assert ids[1] == "cell-1", "the first holder of an id keeps it"
    assert len(set(ids)) == 4
    assert all(re.fullmatch(r"[0-9a-f]{8}", cell_id) for cell_id in (ids[0], ids[2], ids[3]))
    assert ids[0] == new_cell_id(0, "a = 1", set())
    assert fix_notebook(copy.deepcopy(data), only("NB507")) == fixed, "two runs give the same ids"
    assert list(fixed["cells"][0]) == ["cell_type", "id", "execution_count", "metadata", "outputs", "source"]


def test_nb507_new_ids_never_collide_with_existing_ones(notebook_json: Callable[..., dict[str, Any]]) -> None:
    data = notebook_json(["a = 1", "b = 2"])
    del data["cells"][1]["id"]
    data["cells"][0]["id"] = new_cell_id(1, "b = 2", set())  # the id cell 2 would get
    fixed = fix_notebook(data, only("NB507"))
    assert fixed["cells"][1]["id"] != fixed["cells"][0]["id"]


def test_nb507_leaves_notebooks_older_than_4_5_alone(notebook_json: Callable[..., dict[str, Any]]) -> None:
    data = notebook_json(["a = 1"])
    data["nbformat_minor"] = 4
    del data["cells"][0]["id"]
    assert fix_notebook(data, only("NB507")) == data


def test_execution_counts_are_never_renumbered(notebook_json: Callable[..., dict[str, Any]]) -> None:
    data = notebook_json([{"source": "a = 1", "execution_count": 7}, {"source": "b = 2", "execution_count": 2}, {"source": ""}])
    fixed = fix_notebook(data)
    assert [cell["execution_count"] for cell in fixed["cells"]] == [7, 2]


def test_fix_notebook_is_pure_and_respects_notebook_level_ignore(notebook_json: Callable[..., dict[str, Any]]) -> None:
    data = notebook_json(["", {"source": "1/0", "outputs": [ERROR]}], metadata={"kernelspec": {}, "nb2prod": {"ignore": ["NB502"]}})
    original = copy.deepcopy(data)
    fixed = fix_notebook(data)
    assert data == original
    assert len(fixed["cells"]) == 2, "NB502 is ignored by the notebook's metadata"
    assert fixed["cells"][1]["outputs"] == []


def test_fixable_codes_are_registered_as_fixable() -> None:
    from nb2prod.lint.registry import registry

    rules = registry()
    assert all(rules[code].fixable for code in FIXABLE)


# --- fix() on files, with ruff ---------------------------------------------------------------------


def messy_notebook(make_notebook: MakeNotebook) -> Path:
    cells = [
        ("markdown", "# Analysis\n\nKeep   this *markdown*  as is."),
        {"source": "import os\nimport sys\n%matplotlib inline\nprint(sys.argv)", "outputs": [STREAM, ERROR], "execution_count": 4},
        {"source": "  \n", "execution_count": 2},
        {"source": "!ls -la\nfiles = !ls\nlen(files)", "outputs": [PNG], "execution_count": 1, "metadata": {"tags": ["keep"]}},
        {"source": "import json"},
    ]
    metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "custom": {"owner": "me"}}
    path = make_notebook(cells, metadata=metadata)
    data = load(path)
    del data["cells"][3]["id"]
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def test_fix_applies_notebook_and_ruff_fixes_and_keeps_everything_else(make_notebook: MakeNotebook) -> None:
    path = messy_notebook(make_notebook)
    before = load(path)
    [result] = fix([path], config=Config())
    assert result.error is None and result.changed and result.written
    assert result.fixed == Counter({"F401": 1, "NB502": 1, "NB501": 1, "NB507": 1})
    after = load(path)

    assert after["metadata"] == before["metadata"]
    markdown, first, shell, only_import = after["cells"]
    assert only_import == before["cells"][4], "a fix never empties (and so removes) a cell that held code"
    assert any("cell 5: F401 fix not applied: it would leave the cell empty" in note for note in result.notes)
    assert markdown == before["cells"][0]
    assert source_text(first["source"]) == "import sys\n%matplotlib inline\nprint(sys.argv)", "F401: unused import removed, magic kept"
    assert first["outputs"] == [STREAM] and first["execution_count"] == 4
    assert {k: v for k, v in shell.items() if k != "id"} == before["cells"][3], "outputs, counts and metadata kept"
    assert re.fullmatch(r"[0-9a-f]{8}", shell["id"])


def test_second_fix_changes_nothing_and_does_not_touch_the_file(make_notebook: MakeNotebook) -> None:
    path = messy_notebook(make_notebook)
    fix([path], config=Config())
    content = path.read_bytes()
    mtime = age(path)
    [result] = fix([path], config=Config())
    assert result.error is None and not result.changed and not result.written and not result.fixed
    assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime


def test_a_notebook_that_needs_no_fix_is_not_written(make_notebook: MakeNotebook) -> None:
    path = make_notebook([("markdown", "# Clean"), {"source": "import os\nprint(os.sep)", "outputs": [STREAM], "execution_count": 9}])
    content = path.read_bytes()
    mtime = age(path)
    [result] = fix([path], config=Config())
    assert not result.changed and not result.written
    assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime


def test_select_limits_the_fixes(make_notebook: MakeNotebook) -> None:
    path = messy_notebook(make_notebook)
    [result] = fix([path], config=Config(), select=["NB501"])
    assert result.fixed == Counter({"NB501": 1})
    cells = load(path)["cells"]
    assert len(cells) == 5 and "import os" in source_text(cells[1]["source"])


def test_ignore_keeps_a_ruff_fix_from_applying(make_notebook: MakeNotebook) -> None:
    path = messy_notebook(make_notebook)
    [result] = fix([path], config=Config(), ignore=["F401"])
    assert "F401" not in result.fixed
    assert source_text(load(path)["cells"][1]["source"]).startswith("import os\nimport sys")


def test_configured_ignore_and_ruff_off(make_notebook: MakeNotebook) -> None:
    path = messy_notebook(make_notebook)
    config = Config(lint=LintConfig(ignore=("NB502",), ruff=False))
    [result] = fix([path], config=config)
    assert result.fixed == Counter({"NB501": 1, "NB507": 1})


def test_a_cell_ruff_would_empty_is_left_as_it_is_with_a_note(make_notebook: MakeNotebook) -> None:
    path = make_notebook(["import json", "x = 1"])
    content = path.read_bytes()
    [result] = fix([path], config=Config())
    assert not result.changed and not result.fixed and path.read_bytes() == content
    assert result.notes == (
        "cell 1: F401 fix not applied: it would leave the cell empty, and a fix never removes a cell "
        "(delete the cell yourself if it is not needed)",
    )


def test_syntax_error_skips_ruff_fixes_with_a_note_but_notebook_fixes_apply(make_notebook: MakeNotebook) -> None:
    path = make_notebook(["import os", "def f( :", {"source": "1/0", "outputs": [ERROR]}])
    [result] = fix([path], config=Config())
    assert result.error is None
    assert any("cell 2 does not parse" in note for note in result.notes)
    cells = load(path)["cells"]
    assert source_text(cells[0]["source"]) == "import os"
    assert cells[2]["outputs"] == []


def test_text_notebook_gets_ruff_fixes_and_no_ids(tmp_path: Path) -> None:
    path = tmp_path / "percent.py"
    path.write_text("# %%\nimport os\nimport sys\n\nprint(sys.argv)\n\n# %%\n\n", encoding="utf-8")
    [result] = fix([path], config=Config())
    assert result.error is None and result.written
    assert "NB507" not in result.fixed
    text = path.read_text(encoding="utf-8")
    assert "import os" not in text and "import sys" in text


def test_per_path_ignores_apply_to_fixes(make_notebook: MakeNotebook) -> None:
    name = "notebooks/a.ipynb"
    path = make_notebook(["import os", ""], name=name)
    [control] = fix([path], config=Config(source=path.parent.parent / "pyproject.toml"), write=False)
    assert control.fixed == Counter({"NB502": 1}), "the import is the cell's only code: it stays"
    path = make_notebook(["import os\nx = 1", ""], name=name)
    [control] = fix([path], config=Config(source=path.parent.parent / "pyproject.toml"), write=False)
    assert control.fixed == Counter({"F401": 1, "NB502": 1})
    config = Config(lint=LintConfig(per_path_ignores={"notebooks/*": ("F401", "NB502")}), source=path.parent.parent / "pyproject.toml")
    [result] = fix([path], config=config)
    assert not result.changed


def test_fix_clears_exactly_what_lint_reports_on_the_rule_fixtures(tmp_path: Path) -> None:
    from nb2prod.lint.engine import lint

    fixtures = sorted((Path(__file__).resolve().parents[1] / "data" / "lint").glob("nb50[127]_*.ipynb"))
    if not fixtures:
        pytest.skip("the NB5 rule fixtures are not there")
    for fixture in fixtures:
        (tmp_path / fixture.name).write_bytes(fixture.read_bytes())
    codes = list(FIXABLE)
    before = {Path(r.path).name: Counter(f.code for f in r.findings) for r in lint([tmp_path], config=Config(), select=codes, ruff=False)}
    assert any(before.values()), "the fixtures trigger the fixable rules"
    fixed = {Path(r.path).name: r.fixed for r in fix([tmp_path], config=Config(), select=codes)}
    # NB501 and NB502 report a notebook's cells in one finding; their fixes count the cells fixed
    assert {name: set(+counts) for name, counts in fixed.items()} == {name: set(+counts) for name, counts in before.items()}
    assert all(fixed[name][code] == before[name][code] for name in before for code in before[name] if code not in ("NB501", "NB502"))
    after = lint([tmp_path], config=Config(), select=codes, ruff=False)
    assert [f for r in after for f in r.findings] == []


def test_fix_keeps_errors_shown_on_purpose_and_exercise_answer_cells(tmp_path: Path) -> None:
    """``--fix`` never deletes a teaching error (tag, comment, markdown around it) nor an exercise's empty answer cell."""
    data = Path(__file__).resolve().parents[1] / "data" / "lint"
    for name in ("nb501_teaching_errors_not_reported.ipynb", "nb502_exercise_answer_slots_not_empty.ipynb"):
        (tmp_path / name).write_bytes((data / name).read_bytes())
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    results = fix([tmp_path], config=Config(), select=["NB501", "NB502"])
    assert [r.fixed for r in results] == [Counter(), Counter()]
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
