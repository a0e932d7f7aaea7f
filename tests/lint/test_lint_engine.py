"""The lint engine and ``nb2prod lint``: selection, suppression, ruff merged in, exit codes, plugins."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.config import Config, LintConfig
from nb2prod.errors import UsageError
from nb2prod.lint.engine import PARALLEL_THRESHOLD, Selection, lint
from nb2prod.lint.registry import registry

MessyNotebook = Callable[..., Path]


@pytest.fixture
def messy(make_notebook: Callable[..., Path]) -> MessyNotebook:
    """A notebook with findings of several kinds: NB104 (cell 1), F401 from ruff (cell 2), NB502 (cell 3)."""

    def build(name: str = "messy.ipynb", extra_first_cell: str = "") -> Path:
        return make_notebook(
            [
                ("markdown", "# Messy"),
                extra_first_cell + "print(threshold)",
                "import os\nthreshold = 0.5",
                "",
            ],
            name=name,
        )

    return build


def codes(results: list, path: str | None = None) -> list[tuple[str, int | None, int | None]]:
    return [(f.code, f.cell_index, f.line) for r in results for f in r.findings if path is None or r.path == path]


def isolated(tmp_path: Path) -> Config:
    """A configuration as if there were no pyproject.toml (tmp_path has none)."""
    return Config()


def test_lint_merges_notebook_rules_and_ruff(messy: MessyNotebook, tmp_path: Path) -> None:
    path = messy()
    (result,) = lint([path], config=isolated(tmp_path))
    found = codes([result])
    assert ("NB104", 1, 1) in found
    assert ("F401", 2, 1) in found, "ruff's finding mapped to cell index 2, line 1"
    assert ("NB502", 3, None) in found
    assert not any(code == "F821" for code, *_ in found), "ruff's F821 repeats NB104 and is dropped"
    ruff_finding = next(f for f in result.findings if f.code == "F401")
    assert ruff_finding.origin == "ruff" and ruff_finding.cell_id == "cell-2" and ruff_finding.fixable


def test_selection_select_ignore_and_prefixes(messy: MessyNotebook, tmp_path: Path) -> None:
    path = messy()
    config = isolated(tmp_path)
    assert {c for c, *_ in codes(lint([path], config=config, select=["NB1"]))} == {"NB104"}
    assert {c for c, *_ in codes(lint([path], config=config, select=["F401"]))} == {"F401"}
    remaining = {c for c, *_ in codes(lint([path], config=config, ignore=["NB5", "F"]))}
    assert "NB502" not in remaining and "F401" not in remaining and "NB104" in remaining
    assert {c for c, *_ in codes(lint([path], config=config, ruff=False))} == {"NB104", "NB502"}  # NB206: nothing exported


def test_selection_defaults_skip_off_rules() -> None:
    rules = registry()
    default = Selection(select=None)
    assert not default.wants(rules["NB506"]) and not default.wants(rules["NB509"])
    assert Selection(select=("NB506",)).wants(rules["NB506"])
    assert Selection(select=None, extend_select=("NB5",)).wants(rules["NB509"])
    assert Selection(select=("ALL",)).wants(rules["NB509"])
    assert not Selection(select=("N",)).wants(rules["NB101"]), "ruff's pep8-naming prefix N does not select NB rules"


def test_unknown_nb_selector_is_a_usage_error(messy: MessyNotebook, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no lint rule matches 'NB999'"):
        lint([messy()], config=isolated(tmp_path), select=["NB999"])


def test_noqa_in_a_cell_suppresses(messy: MessyNotebook, tmp_path: Path) -> None:
    specific = messy("specific.ipynb", extra_first_cell="# nb2prod: noqa NB104\n")
    found = codes(lint([specific], config=isolated(tmp_path)))
    assert not any(code == "NB104" for code, *_ in found)
    assert any(code == "NB502" for code, *_ in found), "other cells are still linted"
    blanket = messy("blanket.ipynb", extra_first_cell="# nb2prod: noqa\n")
    assert not any(cell == 1 for _, cell, _ in codes(lint([blanket], config=isolated(tmp_path))))


def test_notebook_metadata_ignore_list(make_notebook: Callable[..., Path], tmp_path: Path) -> None:
    metadata = {"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}, "nb2prod": {"ignore": ["NB104"]}}
    path = make_notebook(["print(x)", "x = 1"], metadata=metadata)
    assert not any(code == "NB104" for code, *_ in codes(lint([path], config=isolated(tmp_path))))


def test_per_path_ignores(messy: MessyNotebook, tmp_path: Path) -> None:
    path = messy("drafts/messy.ipynb")
    config = Config(source=tmp_path / "pyproject.toml", lint=LintConfig(per_path_ignores={"drafts/*": ("NB1", "F401")}))
    found = {code for code, *_ in codes(lint([path], config=config))}
    assert "NB104" not in found and "F401" not in found and "NB502" in found


def test_unreadable_file_is_reported_and_the_rest_linted(messy: MessyNotebook, tmp_path: Path) -> None:
    good = messy()
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{", encoding="utf-8")
    results = lint([good, bad], config=isolated(tmp_path))
    by_path = {r.path: r for r in results}
    assert by_path[str(bad)].error is not None and "not valid JSON" in str(by_path[str(bad)].error)
    assert by_path[str(good)].findings


def test_parallel_and_serial_give_the_same_findings(messy: MessyNotebook, tmp_path: Path) -> None:
    paths = [messy(f"nb_{i}.ipynb") for i in range(PARALLEL_THRESHOLD + 2)]
    config = isolated(tmp_path)
    serial = lint(paths, config=config, jobs=1)
    parallel = lint(paths, config=config, jobs=2)
    assert [(r.path, codes([r])) for r in serial] == [(r.path, codes([r])) for r in parallel]
    assert all(r.notebook is not None for r in parallel if r.findings), "reports still get the source lines"


def test_text_notebook_goes_through_ruff_too(tmp_path: Path) -> None:
    script = tmp_path / "analysis.py"
    script.write_text("# %% [markdown]\n# # Title\n\n# %%\nimport os\n\n# %%\nprint(undefined_name)\n", encoding="utf-8")
    (result,) = lint([script], config=isolated(tmp_path))
    found = codes([result])
    assert ("F401", 1, 1) in found
    assert ("NB105", 2, 1) in found


def test_non_python_notebook_skips_code_rules(make_notebook: Callable[..., Path], tmp_path: Path) -> None:
    metadata = {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}
    path = make_notebook([("markdown", "# R analysis"), "print(x)"], metadata=metadata)
    (result,) = lint([path], config=isolated(tmp_path), ruff=False)
    assert {code for code, *_ in codes([result])} == {"NB510"}
    assert result.notes and "code rules skipped" in result.notes[0]


def test_project_ruff_config_is_respected(messy: MessyNotebook, tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text('[lint]\nselect = ["E"]\n', encoding="utf-8")
    found = {code for code, *_ in codes(lint([messy()], config=isolated(tmp_path)))}
    assert "F401" not in found, "the project selects only E rules"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--select", "NB502"], 0),  # NB502 is info, below the default --fail-on warning
        (["--select", "NB502", "--fail-on", "warning"], 0),
        (["--select", "NB502", "--fail-on", "info"], 1),
        (["--select", "NB104", "--fail-on", "error"], 1),
        (["--select", "NB104", "--ignore", "NB104"], 0),
    ],
)
def test_cli_exit_codes_follow_fail_on(messy: MessyNotebook, argv: list[str], expected: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = messy()
    monkeypatch.chdir(path.parent)
    assert main(["lint", "--no-ruff", *argv, str(path)]) == expected


def test_cli_text_report(messy: MessyNotebook, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = messy()
    monkeypatch.chdir(path.parent)
    assert main(["lint", "messy.ipynb"]) == 1
    out = capsys.readouterr().out
    assert "messy.ipynb:cell 2:line 1:col 7: NB104 [E]" in out
    assert "print(threshold)" in out, "the source line is shown"
    assert "F401" in out


def test_cli_json_report(messy: MessyNotebook, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(messy().parent)
    main(["lint", "--format", "json", "messy.ipynb"])
    data = json.loads(capsys.readouterr().out)
    finding = next(f for f in data["findings"] if f["code"] == "NB104")
    assert {k: finding[k] for k in ("path", "cell_index", "cell_id", "line", "column", "severity", "fixable")} == {
        "path": "messy.ipynb",
        "cell_index": 1,
        "cell_id": "cell-1",
        "line": 1,
        "column": 7,
        "severity": "error",
        "fixable": False,
    }


def test_cli_unreadable_file_exits_2(tmp_path: Path, messy: MessyNotebook, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.ipynb"
    bad.write_bytes(b"")
    assert main(["lint", "--no-ruff", str(bad), str(messy())]) == 2
    out = capsys.readouterr().out
    assert f"{bad}: error: empty file" in out


def test_cli_output_file(messy: MessyNotebook, tmp_path: Path) -> None:
    report = tmp_path / "report.sarif"
    main(["lint", "--format", "sarif", "--output", str(report), str(messy())])
    sarif = json.loads(report.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_cli_rules_table_and_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    table = capsys.readouterr().out
    assert all(code in table for code in registry())
    assert main(["rules", "nb302"]) == 0
    page = capsys.readouterr().out
    for heading in ("What it finds", "Why it matters in production", "Bad", "Good", "How to fix"):
        assert heading in page
    assert main(["rules", "NB999"]) == 2


def test_every_rule_documents_itself() -> None:
    for code in registry():
        doc = registry()[code].doc
        assert all((doc.what, doc.why, doc.bad, doc.good, doc.fix)), code


@pytest.mark.slow
def test_plugin_rules_load_from_entry_points(tmp_path: Path, messy: MessyNotebook) -> None:
    """A third-party rule installed as a distribution with an ``nb2prod.rules`` entry point runs in lint."""
    site = tmp_path / "site"
    (site / "acme_rules").mkdir(parents=True)
    (site / "acme_rules" / "__init__.py").write_text(
        textwrap.dedent(
            """
            from nb2prod.lint.rule import Hit, Rule, RuleDoc, Severity

            def check(ctx):
                for cell in ctx.code_cells():
                    if "threshold" in cell.source:
                        yield Hit(cell.index, "acme forbids thresholds", 1, 1)

            RULES = [Rule("ACME1", "no-threshold", Severity.WARNING, "no thresholds", check,
                          RuleDoc("w", "y", "b", "g", "f"))]
            """
        ),
        encoding="utf-8",
    )
    dist = site / "acme_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[nb2prod.rules]\nacme = acme_rules:RULES\n", encoding="utf-8")
    path = messy()
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from nb2prod.cli import main; sys.exit(main(['lint', '--no-ruff', '--select', 'ACME', '--format', 'json', sys.argv[2]]))"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(site), str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert [(f["code"], f["cell_index"]) for f in findings] == [("ACME1", 1), ("ACME1", 2)]


def test_configured_tools_run_through_nbqa(make_notebook: Callable[..., Path], tmp_path: Path) -> None:
    """``tools = ["pycodestyle"]`` runs ``nbqa pycodestyle``; its cell numbers (code cells only) map to cell indices."""
    path = make_notebook([("markdown", "# T"), "import os", ("markdown", "middle"), "os.getcwd()\nimport sys"])
    config = Config(lint=LintConfig(tools=("pycodestyle",), ruff=False))
    (result,) = lint([path], config=config, select=["E402"])
    found = [(f.code, f.cell_index, f.line, f.origin) for f in result.findings]
    assert found == [("E402", 3, 2, "pycodestyle")]


def test_missing_tool_is_a_clear_error(make_notebook: Callable[..., Path]) -> None:
    from nb2prod.errors import ToolError

    path = make_notebook(["x = 1"])
    with pytest.raises(ToolError, match="nbqa cannot run no-such-checker: it is not installed"):
        lint([path], config=Config(lint=LintConfig(tools=("no-such-checker",), ruff=False)))
