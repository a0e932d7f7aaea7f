"""The lint report formats: text (plain and coloured), JSON, GitHub workflow commands and SARIF.

Results are built by hand so each format is tested apart from the rules; notebooks are written to
``tmp_path`` where a format reads the source (text snippets, file-line mapping, fingerprints).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nb2prod.errors import NotebookReadError
from nb2prod.lint.report import FileLines, artifact_uri, fingerprints, render_github, render_json, render_sarif, render_text
from nb2prod.lint.rule import FileResult, Finding, Rule, RuleDoc, Severity
from nb2prod.notebook import Notebook, read_notebook

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "sarif" / "sarif-schema-2.1.0.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CellSpec = str | tuple[str, str]


def write_notebook(path: Path, cells: list[CellSpec], *, ids: bool | list[str] = True, indent: int | None = 1) -> Notebook:
    """Write a notebook with list-of-lines sources and read it back.

    ``ids``: True gives nbformat 4.5 with ids derived from each cell's text (a moved cell keeps its
    id), a list gives those ids, False gives nbformat 4.4 without ids.
    """
    raw_cells = []
    for index, spec in enumerate(cells):
        kind, text = spec if isinstance(spec, tuple) else ("code", spec)
        cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
        if isinstance(ids, list):
            cell["id"] = ids[index]
        elif ids:
            cell["id"] = hashlib.sha256(text.encode()).hexdigest()[:12]
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        raw_cells.append(cell)
    data = {"cells": raw_cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5 if ids else 4}
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")
    return read_notebook(path, display_path=path.name)


def finding(code: str = "NB301", severity: Severity = Severity.WARNING, message: str = "unseeded randomness", **fields: Any) -> Finding:
    """A finding in ``analysis.ipynb`` unless ``path`` says otherwise."""
    fields.setdefault("path", "analysis.ipynb")
    return Finding(code=code, severity=severity, message=message, **fields)


def make_rule(code: str, severity: Severity, *, limits: str = "") -> Rule:
    """A rule with a complete documentation page."""
    doc = RuleDoc(
        what=f"What {code} finds.",
        why="It breaks in production.",
        bad="x = np.random.rand()",
        good="rng = np.random.default_rng(0)",
        fix="Seed the generator.",
        limits=limits,
    )
    return Rule(code, f"rule-{code.lower()}", severity, f"summary of {code}", lambda context: [], doc, fixable=True)


def unreadable(path: str = "missing.ipynb") -> FileResult:
    """The result for a file that could not be read."""
    return FileResult(path, error=NotebookReadError("no such file", path=path, hint="check the path"))


@pytest.fixture
def sample(tmp_path: Path) -> FileResult:
    """A notebook with a ruff finding, a notebook rule finding, a notebook-level finding and a note."""
    notebook = write_notebook(tmp_path / "analysis.ipynb", [("markdown", "# Title"), "import os\nx = 1\n", "print(y)\n"])
    return FileResult(
        "analysis.ipynb",
        findings=[
            finding("NB105", Severity.ERROR, "undefined name 'y'", cell_index=2, cell_id="cell-3", line=1, column=7),
            finding("NB503", Severity.INFO, "no markdown after the title"),
            finding("F401", Severity.ERROR, "`os` imported but unused", cell_index=1, line=1, column=8, fixable=True, origin="ruff"),
        ],
        notebook=notebook,
        notes=["code rules skipped for cell 4"],
    )


def validate_sarif(text: str) -> dict[str, Any]:
    """Parse a SARIF log and validate it against the official SARIF 2.1.0 schema (draft-04)."""
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    document = json.loads(text)
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(document)
    return document


# --- text ---------------------------------------------------------------------------------------


def test_text_exact_lines(sample: FileResult) -> None:
    assert render_text([sample], color=False).splitlines() == [
        "analysis.ipynb",
        "  note: code rules skipped for cell 4",
        "analysis.ipynb: NB503 [I] no markdown after the title",
        "analysis.ipynb:cell 2:line 1:col 8: F401 [E] [*] `os` imported but unused",
        "    import os",
        "           ^",
        "analysis.ipynb:cell 3:line 1:col 7: NB105 [E] undefined name 'y'",
        "    print(y)",
        "          ^",
        "",
        "Found 3 problems (2 errors, 0 warnings, 1 info) in 1 file; 1 fixable with --fix.",
    ]


def test_text_without_source_and_without_notebook(sample: FileResult) -> None:
    lines = render_text([sample], color=False, show_source=False).splitlines()
    assert "    import os" not in lines
    assert not any(line.strip() == "^" for line in lines)
    no_notebook = FileResult("analysis.ipynb", findings=[finding(cell_index=0, line=3, column=1)])
    assert render_text([no_notebook], color=False).splitlines()[1:3] == [
        "analysis.ipynb:cell 1:line 3:col 1: NB301 [W] unseeded randomness",
        "",
    ]


def test_text_source_line_without_column_has_no_caret(sample: FileResult) -> None:
    sample.findings[:] = [finding(cell_index=1, line=2)]
    assert render_text([sample], color=False).splitlines()[2:5] == [
        "analysis.ipynb:cell 2:line 2: NB301 [W] unseeded randomness",
        "    x = 1",
        "",
    ]


def test_text_caret_under_tabs_and_wide_characters(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "analysis.ipynb", ["\tz = rand()\n", "名前 = rand()\n"])
    result = FileResult(
        "analysis.ipynb",
        findings=[finding(cell_index=0, line=1, column=6), finding(cell_index=1, line=1, column=6)],
        notebook=notebook,
    )
    lines = render_text([result], color=False).splitlines()
    assert lines[2:4] == ["            z = rand()", "                ^"]
    assert lines[5:7] == ["    名前 = rand()", "           ^"]


def test_text_groups_files_in_order_and_counts_unreadable_files(sample: FileResult) -> None:
    clean = FileResult("clean.ipynb")
    other = FileResult("b.ipynb", findings=[finding(path="b.ipynb", cell_index=0, line=1)])
    text = render_text([other, clean, unreadable(), sample], color=False)
    lines = text.splitlines()
    assert lines[:4] == [
        "b.ipynb",
        "b.ipynb:cell 1:line 1: NB301 [W] unseeded randomness",
        "",
        "missing.ipynb: error: no such file (check the path)",
    ]
    assert lines[5] == "analysis.ipynb"
    assert "clean.ipynb" not in text
    assert lines[-1] == "Found 4 problems (2 errors, 1 warning, 1 info) in 2 files; 1 fixable with --fix; 1 file could not be read."


@pytest.mark.parametrize(
    ("results", "summary"),
    [
        ([], "All checks passed (0 files)."),
        ([FileResult("a.ipynb")], "All checks passed (1 file)."),
        ([FileResult("a.ipynb"), FileResult("b.ipynb")], "All checks passed (2 files)."),
        ([FileResult("a.ipynb"), unreadable("x.ipynb"), unreadable("y.ipynb")], "No problems found in 1 file; 2 files could not be read."),
        ([FileResult("a.ipynb", findings=[finding(), finding()])], "Found 2 problems (0 errors, 2 warnings, 0 info) in 1 file."),
    ],
)
def test_text_summary_line(results: list[FileResult], summary: str) -> None:
    assert render_text(results, color=False).splitlines()[-1] == summary


def test_text_notes_of_a_clean_file_are_shown_under_its_heading() -> None:
    result = FileResult("r.ipynb", notes=["code rules skipped: the kernel is R"])
    assert render_text([result], color=False).splitlines() == [
        "r.ipynb",
        "  note: code rules skipped: the kernel is R",
        "",
        "All checks passed (1 file).",
    ]


def test_text_color_only_when_asked(sample: FileResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # an explicit color=True wins; the CLI decides about NO_COLOR
    plain = render_text([sample, unreadable()], color=False)
    colored = render_text([sample, unreadable()], color=True)
    assert "\x1b" not in plain
    assert "\x1b[" in colored
    assert ANSI.sub("", colored) == plain


def test_text_escapes_control_characters(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "analysis.ipynb", ['print("\x1b[31mred")\n'])
    result = FileResult(
        "analysis.ipynb", findings=[finding(message="bad \x1b[2J text", cell_index=0, line=1, column=12)], notebook=notebook
    )
    text = render_text([result], color=False)
    assert "\x1b" not in text
    assert "bad \\x1b[2J text" in text
    assert text.splitlines()[2:4] == ['    print("\\x1b[31mred")', " " * 18 + "^"]


def test_import_and_plain_text_do_not_import_rich() -> None:
    code = (
        "import sys\n"
        "from nb2prod.lint.report import render_text\n"
        "from nb2prod.lint.rule import FileResult\n"
        "render_text([FileResult('a.ipynb')], color=False)\n"
        "assert 'rich' not in sys.modules, sorted(m for m in sys.modules if m.startswith('rich'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- json ---------------------------------------------------------------------------------------


def test_json_structure(sample: FileResult) -> None:
    sample.findings.append(finding("NB301", message="äöü unseeded ✓", cell_index=1, line=2, column=5))
    text = render_json([sample, unreadable()])
    assert text.startswith('{\n  "findings": [\n    {\n      "path": "analysis.ipynb",')
    assert "äöü unseeded ✓" in text  # ensure_ascii=False
    document = json.loads(text)
    assert list(document) == ["findings", "errors", "summary"]
    issue_keys = ["path", "cell_index", "cell_number", "cell_id", "line", "column", "code", "severity", "message", "fixable"]
    for item in document["findings"]:
        assert list(item)[: len(issue_keys)] == issue_keys
        assert set(item) == {*issue_keys, "origin"}
    assert [(f["code"], f["cell_index"], f["line"]) for f in document["findings"]] == [
        ("NB503", None, None),
        ("F401", 1, 1),
        ("NB301", 1, 2),
        ("NB105", 2, 1),
    ]
    assert document["findings"][1] == {
        "path": "analysis.ipynb",
        "cell_index": 1,
        "cell_number": 2,
        "cell_id": None,
        "line": 1,
        "column": 8,
        "code": "F401",
        "severity": "error",
        "message": "`os` imported but unused",
        "fixable": True,
        "origin": "ruff",
    }
    assert document["errors"] == [{"path": "missing.ipynb", "message": "missing.ipynb: error: no such file (check the path)"}]
    assert document["summary"] == {
        "files": 2,
        "unreadable": 1,
        "files_with_findings": 1,
        "findings": 4,
        "by_severity": {"error": 2, "warning": 1, "info": 1},
        "fixable": 1,
    }


def test_json_with_nothing_found() -> None:
    assert json.loads(render_json([FileResult("a.ipynb")])) == {
        "findings": [],
        "errors": [],
        "summary": {
            "files": 1,
            "unreadable": 0,
            "files_with_findings": 0,
            "findings": 0,
            "by_severity": {"error": 0, "warning": 0, "info": 0},
            "fixable": 0,
        },
    }


# --- github -------------------------------------------------------------------------------------


def file_line_of(path: Path, needle: str) -> int:
    """The 1-based line of ``path`` that contains ``needle``, exactly once."""
    matches = [number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    assert len(matches) == 1, matches
    return matches[0]


def test_github_commands(sample: FileResult, tmp_path: Path) -> None:
    path = tmp_path / "analysis.ipynb"
    import_line, print_line = file_line_of(path, '"import os'), file_line_of(path, '"print(y)')
    assert render_github([sample, unreadable()]).splitlines() == [
        "::notice file=analysis.ipynb,title=NB503::no markdown after the title",
        f"::error file=analysis.ipynb,line={import_line},title=F401::cell 2, line 1, col 8: `os` imported but unused",
        f"::error file=analysis.ipynb,line={print_line},title=NB105::cell 3, line 1, col 7: undefined name 'y'",
        "::error file=missing.ipynb::no such file (check the path)",
    ]


def test_github_severities_and_positions_outside_cells() -> None:
    result = FileResult(
        "a.ipynb",
        findings=[
            finding("NB001", Severity.WARNING, "w", path="a.ipynb", cell_index=0),
            finding("NB002", Severity.INFO, "i", path="a.ipynb", line=4, column=2),
            finding("NB003", Severity.ERROR, "e", path="a.ipynb", line=5),
        ],
    )
    assert render_github([result]).splitlines() == [
        "::notice file=a.ipynb,line=4,col=2,title=NB002::i",
        "::error file=a.ipynb,line=5,title=NB003::e",
        "::warning file=a.ipynb,title=NB001::cell 1: w",
    ]
    assert render_github([FileResult("a.ipynb")]) == ""


def test_github_escaping() -> None:
    path = "dir,x/a:b 100%.ipynb"
    result = FileResult(path, findings=[finding(path=path, code="NB:1", message="50% done\r\nnext: a, b")])
    assert render_github([result]) == "::warning file=dir%2Cx/a%3Ab 100%25.ipynb,title=NB%3A1::50%25 done%0D%0Anext: a, b"
    broken = FileResult(path, error=NotebookReadError("bad JSON: line 1\nthen", path=path))
    assert render_github([broken]) == "::error file=dir%2Cx/a%3Ab 100%25.ipynb::bad JSON: line 1%0Athen"


def test_github_text_notebook_gets_no_line(tmp_path: Path) -> None:
    path = tmp_path / "script.py"
    path.write_text("# %%\nimport os\n\n# %%\nx = 1\n", encoding="utf-8")
    notebook = read_notebook(path, display_path="script.py")
    result = FileResult("script.py", findings=[finding(path="script.py", cell_index=1, line=1, column=1)], notebook=notebook)
    assert render_github([result]) == "::warning file=script.py,title=NB301::cell 2, line 1, col 1: unseeded randomness"


# --- mapping cell lines to file lines -------------------------------------------------------------


def test_file_lines_follow_the_json_layout(tmp_path: Path) -> None:
    path = tmp_path / "analysis.ipynb"
    notebook = write_notebook(path, [("markdown", "# Title\ntext"), "a = 1\nb = 2\n", "c = 3"], indent=2)
    lines = FileLines(notebook)
    assert lines.file_line(finding(cell_index=1, line=1)) == file_line_of(path, '"a = 1')
    assert lines.file_line(finding(cell_index=1, line=2)) == file_line_of(path, '"b = 2')
    assert lines.file_line(finding(cell_index=1, line=3)) == file_line_of(path, '"b = 2')  # the empty last line
    assert lines.file_line(finding(cell_index=0, line=2)) == file_line_of(path, '"text"')
    assert lines.file_line(finding(cell_index=2, line=1)) == file_line_of(path, '"c = 3"')
    for outside in (finding(cell_index=2, line=2), finding(cell_index=3, line=1), finding(cell_index=1), finding(line=1)):
        assert lines.file_line(outside) is None
    assert FileLines(None).file_line(finding(cell_index=1, line=1)) is None


def test_file_lines_of_a_one_line_file_and_of_string_sources(tmp_path: Path) -> None:
    one_line = write_notebook(tmp_path / "one.ipynb", ["a = 1\nb = 2\n", "c = 3\n"], indent=None)
    assert [FileLines(one_line).file_line(finding(cell_index=1, line=1))] == [1]
    path = tmp_path / "strings.ipynb"
    cells = [
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": None, "outputs": [], "source": "a = 1\nb = 2"},
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": None, "outputs": [], "source": ["x = 1", "y = 2\n"]},
    ]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1), encoding="utf-8")
    lines = FileLines(read_notebook(path))
    assert lines.file_line(finding(cell_index=0, line=2)) == file_line_of(path, '"a = 1')
    assert lines.file_line(finding(cell_index=1, line=1)) is None  # elements are not lines: "x = 1y = 2"


# --- sarif --------------------------------------------------------------------------------------


def test_sarif_with_findings_is_valid(sample: FileResult, tmp_path: Path) -> None:
    rules = {"NB105": make_rule("NB105", Severity.ERROR, limits="Static analysis only."), "NB503": make_rule("NB503", Severity.INFO)}
    document = validate_sarif(render_sarif([sample], rules, tool_version="1.2.3"))
    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert document["version"] == "2.1.0"
    (run,) = document["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == ("nb2prod", "1.2.3", "https://github.com/nb2prod/nb2prod")
    assert [rule["id"] for rule in driver["rules"]] == ["F401", "NB105", "NB503"]
    ruff_rule, nb105, _ = driver["rules"]
    assert ruff_rule["helpUri"] == "https://docs.astral.sh/ruff/rules/"
    assert ruff_rule["defaultConfiguration"] == {"level": "error"}
    assert nb105["name"] == "rule-nb105"
    assert nb105["shortDescription"] == {"text": "summary of NB105"}
    assert nb105["fullDescription"] == {"text": "What NB105 finds."}
    assert nb105["defaultConfiguration"] == {"level": "error", "enabled": True}
    assert "```python\nx = np.random.rand()\n```" in nb105["help"]["markdown"]
    assert "**Limits:** Static analysis only." in nb105["help"]["markdown"]
    assert nb105["help"]["text"].startswith("What NB105 finds.\n\nWhy it matters in production: It breaks in production.")
    assert run["invocations"] == [{"executionSuccessful": True}]
    results = run["results"]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in results] == [
        ("NB503", 2, "note"),
        ("F401", 0, "error"),
        ("NB105", 1, "error"),
    ]
    nb105_result = results[2]
    assert nb105_result["message"] == {"text": "undefined name 'y' (cell 3, line 1, col 7)"}
    (location,) = nb105_result["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "analysis.ipynb"},
        "region": {"startLine": file_line_of(tmp_path / "analysis.ipynb", '"print(y)')},
    }
    assert location["logicalLocations"] == [{"name": "cell 3", "fullyQualifiedName": "analysis.ipynb:cell 3", "kind": "module"}]
    assert nb105_result["properties"] == {
        "cell_index": 2,
        "cell_number": 3,
        "cell_id": "cell-3",
        "line": 1,
        "column": 7,
        "fixable": False,
        "origin": "nb2prod",
    }
    notebook_level = results[0]
    assert notebook_level["message"] == {"text": "no markdown after the title"}
    assert notebook_level["locations"] == [
        {"physicalLocation": {"artifactLocation": {"uri": "analysis.ipynb"}, "region": {"startLine": 1}}}
    ]
    assert len({r["partialFingerprints"]["primaryLocationLineHash"] for r in results}) == 3


def test_sarif_with_no_findings_is_valid() -> None:
    document = validate_sarif(render_sarif([FileResult("a.ipynb")], {}, tool_version="0.1.0"))
    (run,) = document["runs"]
    assert run["results"] == []
    assert run["tool"]["driver"]["rules"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert validate_sarif(render_sarif([], {}, tool_version="0.1.0"))["runs"][0]["results"] == []


def test_sarif_with_an_unreadable_file_is_valid() -> None:
    results = [unreadable("nb/missing one.ipynb"), FileResult("a.ipynb", findings=[finding(path="a.ipynb", cell_index=0, line=2)])]
    document = validate_sarif(render_sarif(results, {}, tool_version="0.1.0"))
    (run,) = document["runs"]
    assert run["invocations"] == [
        {
            "executionSuccessful": False,
            "toolExecutionNotifications": [
                {
                    "level": "error",
                    "message": {"text": "nb/missing one.ipynb: error: no such file (check the path)"},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": "nb/missing%20one.ipynb"}}}],
                }
            ],
        }
    ]
    assert len(run["results"]) == 1


def test_sarif_with_ruff_and_other_tools_is_valid(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "analysis.ipynb", ["import os\nimport sys\n"])
    result = FileResult(
        "analysis.ipynb",
        findings=[
            finding("F401", Severity.ERROR, "`os` imported but unused", cell_index=0, line=1, column=8, fixable=True, origin="ruff"),
            finding("F401", Severity.ERROR, "`sys` imported but unused", cell_index=0, line=2, column=8, fixable=True, origin="ruff"),
            finding("E501", Severity.WARNING, "line too long", cell_index=0, line=2, origin="ruff"),
            finding("attr-defined", Severity.ERROR, "no attribute", cell_index=0, line=1, origin="mypy"),
        ],
        notebook=notebook,
    )
    document = validate_sarif(render_sarif([result], {}, tool_version="0.1.0"))
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert rules == [
        {
            "id": "E501",
            "shortDescription": {"text": "E501 (reported by ruff)"},
            "defaultConfiguration": {"level": "warning"},
            "properties": {"origin": "ruff"},
            "helpUri": "https://docs.astral.sh/ruff/rules/",
        },
        {
            "id": "F401",
            "shortDescription": {"text": "F401 (reported by ruff)"},
            "defaultConfiguration": {"level": "error"},
            "properties": {"origin": "ruff"},
            "helpUri": "https://docs.astral.sh/ruff/rules/",
        },
        {
            "id": "attr-defined",
            "shortDescription": {"text": "attr-defined (reported by mypy)"},
            "defaultConfiguration": {"level": "error"},
            "properties": {"origin": "mypy"},
        },
    ]
    results = document["runs"][0]["results"]
    assert [(r["ruleId"], r["ruleIndex"]) for r in results] == [("attr-defined", 2), ("F401", 1), ("E501", 0), ("F401", 1)]


def test_sarif_uris_are_relative_with_forward_slashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert artifact_uri("./nb/a b.ipynb") == "nb/a%20b.ipynb"
    assert artifact_uri(str(tmp_path / "nb" / "a.ipynb")) == "nb/a.ipynb"
    assert artifact_uri("/elsewhere/a.ipynb") == "file:///elsewhere/a.ipynb"


# --- fingerprints -------------------------------------------------------------------------------

CELL_A = "import numpy as np\n"
CELL_B = "x = np.random.rand()\ny = np.random.rand()  # again\nz = rand(); w = rand()\n"


def sarif_fingerprints(notebook: Notebook, findings: list[Finding]) -> dict[str, str]:
    """Fingerprint of each finding (keyed by message) as render_sarif writes them."""
    result = FileResult("analysis.ipynb", findings=findings, notebook=notebook)
    document = json.loads(render_sarif([result], {}, tool_version="0"))
    return {
        r["message"]["text"].split(" (cell")[0]: r["partialFingerprints"]["primaryLocationLineHash"] for r in document["runs"][0]["results"]
    }


def b_findings(cell_index: int, cell_id: str | None, first_line: int = 1) -> list[Finding]:
    """Findings in the cell holding CELL_B: on each line, two alike on one line, another code on the first."""
    return [
        finding(message="x", cell_index=cell_index, cell_id=cell_id, line=first_line, column=5),
        finding(message="y", cell_index=cell_index, cell_id=cell_id, line=first_line + 1, column=5),
        finding(message="z", cell_index=cell_index, cell_id=cell_id, line=first_line + 2, column=5),
        finding(message="w", cell_index=cell_index, cell_id=cell_id, line=first_line + 2, column=17),
        finding("NB302", message="other code", cell_index=cell_index, cell_id=cell_id, line=first_line, column=5),
    ]


@pytest.mark.parametrize("ids", [True, False], ids=["cell ids", "no cell ids"])
def test_fingerprints_survive_moving_cells(tmp_path: Path, ids: bool) -> None:
    before = write_notebook(tmp_path / "before.ipynb", [CELL_A, CELL_B], ids=ids)
    # a cell inserted above, CELL_B moved above CELL_A, another cell between them
    after = write_notebook(tmp_path / "after.ipynb", [("markdown", "# Inserted above"), CELL_B, "print('new')\n", CELL_A], ids=ids)
    assert before.cells[1].id == after.cells[1].id == (before.cells[1].id if ids else None)
    first = sarif_fingerprints(before, b_findings(1, before.cells[1].id))
    assert len(set(first.values())) == len(first) == 5  # each finding has its own fingerprint
    moved = sarif_fingerprints(after, b_findings(1, after.cells[1].id))
    assert moved == first
    further = write_notebook(tmp_path / "further.ipynb", [CELL_A, "a = 1\n", "b = 2\n", CELL_B], ids=ids)
    assert sarif_fingerprints(further, b_findings(3, further.cells[3].id)) == first


def test_fingerprints_with_ids_survive_lines_added_above_in_the_cell(tmp_path: Path) -> None:
    before = write_notebook(tmp_path / "before.ipynb", [CELL_A, CELL_B], ids=["imports", "sampling"])
    after = write_notebook(tmp_path / "after.ipynb", [CELL_A, "# draw samples\n" + CELL_B], ids=["imports", "sampling"])
    assert sarif_fingerprints(before, b_findings(1, "sampling")) == sarif_fingerprints(after, b_findings(1, "sampling", first_line=2))


def test_fingerprints_change_with_the_finding(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "analysis.ipynb", [CELL_A, CELL_B])
    base = finding(cell_index=1, cell_id="c", line=1, column=5)
    variants = [
        base,
        finding("NB302", cell_index=1, cell_id="c", line=1, column=5),
        finding(cell_index=1, cell_id="d", line=1, column=5),
        finding(cell_index=1, cell_id="c", line=2, column=5),
        finding(path="other.ipynb", cell_index=1, cell_id="c", line=1, column=5),
        finding(),
    ]
    prints = [fingerprints(notebook, [variant])[0] for variant in variants]
    assert len(set(prints)) == len(prints)
    # the column and the wording of the message are not part of it
    reworded = finding(cell_index=1, cell_id="c", line=1, column=9, message="reworded")
    assert fingerprints(notebook, [base]) == fingerprints(notebook, [reworded])


def test_the_shipped_schema_rejects_an_invalid_log(sample: FileResult) -> None:
    import jsonschema

    document = json.loads(render_sarif([sample], {}, tool_version="0"))
    document["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(json.dumps(document))
