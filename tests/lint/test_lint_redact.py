"""Secrets never reach lint's output: source lines, snippets under any rule's finding, messages, fingerprints.

reliability.md scenario 45: a secret in a shown source line is masked by every report format, the
text format's code snippet included.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.config import Config
from nb2prod.lint import report
from nb2prod.lint.engine import lint
from nb2prod.lint.redact import Redactor, mask_secret, masked_column
from nb2prod.lint.rule import FileResult, Finding, Severity
from nb2prod.notebook import read_notebook

FIXTURE = Path(__file__).parent.parent / "data" / "lint" / "secrets_on_reported_lines.ipynb"
#: The secrets the fixture holds: an OpenAI key, an AWS key id, a GitHub token, two passwords.
SECRETS = (
    "sk-proj-Zq3xV9mB2nK7pL4wR8tY1uI6oA5sD0fGhJ",
    "AKIAZ7QWERTY4ASDFGH2",
    "ghp_R4nd0mL00k1ngT0k3nV4lu3F0rT3st1ng0Zz",
    "Tr0ub4dor&3",
    "s3cr3t-Pa55",
)
#: Enough of each secret to recognise it leaking (the masks show at most the first four characters).
LEAKS = tuple(secret[:8] for secret in SECRETS)
MakeNotebook = Callable[..., Path]


def leaked(text: str) -> list[str]:
    return [leak for leak in LEAKS if leak in text]


@pytest.fixture
def secrets_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture copied out of tests/data (which the project's ruff configuration excludes)."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / FIXTURE.name
    shutil.copyfile(FIXTURE, target)
    return target


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
@pytest.mark.parametrize("select", [None, "NB,E501,E702,F841", "ALL"])
def test_scenario_45_no_format_prints_a_secret(
    secrets_notebook: Path, fmt: str, select: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["lint", "--format", fmt, secrets_notebook.name, *(["--select", select] if select else [])]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1
    assert "NB302" in out
    if select:
        assert all(code in out for code in ("E501", "E702", "F841"))
    assert leaked(out + err) == []


def test_scenario_45_ruff_snippets_on_a_secret_line_are_masked(secrets_notebook: Path) -> None:
    """The snippets under E501, E702 and F841 (not only under NB302) hide the secret on their line."""
    [result] = lint([secrets_notebook.name], config=Config(), select=["E501", "E702", "F841"])
    assert {f.code for f in result.findings} == {"E501", "E702", "F841"}
    for color in (False, True):
        text = report.render_text([result], color=color)
        assert leaked(text) == []
    plain = report.render_text([result], color=False)
    assert 'openai.api_key = "sk-p…"  # the production key' in plain
    assert 'AWS_ACCESS_KEY_ID = "AKIA…"; region = "eu-west-1"' in plain


def test_the_caret_points_at_the_same_code_on_the_masked_line(secrets_notebook: Path) -> None:
    [result] = lint([secrets_notebook.name], config=Config(), select=["E702"])
    lines = report.render_text([result], color=False).splitlines()
    snippet, caret = lines[2], lines[3]
    assert snippet[caret.index("^")] == ";", "E702's caret is under the semicolon after the masked key"


def test_a_secret_repeated_in_a_comment_and_a_private_key_body_are_masked(make_notebook: MakeNotebook) -> None:
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeymaterial\n-----END RSA PRIVATE KEY-----"
    path = make_notebook([f'KEY = """{key}"""', 'password = "hunter2!x"  # hunter2!x'])
    redactor = Redactor(read_notebook(path))
    assert redactor.line(0, 2, "MIIEowIBAAKCAQEAsecretkeymaterial")[0] == "…"
    masked, _ = redactor.line(1, 1, 'password = "hunter2!x"  # hunter2!x')
    assert "hunter2" not in masked and masked == 'password = "…"  # …'


def test_messages_of_other_tools_are_masked_in_every_format(make_notebook: MakeNotebook) -> None:
    """A checker run through nbqa may quote a literal (mypy: ``Literal['…']``) in its message."""
    path = make_notebook(['password = "Tr0ub4dor&3"'])
    notebook = read_notebook(path)
    message = "Argument 1 has incompatible type \"Literal['Tr0ub4dor&3']\"; token ghp_R4nd0mL00k1ngT0k3nV4lu3F0rT3st1ng0Zz"
    finding = Finding(str(path), "arg-type", Severity.WARNING, message, cell_index=0, line=1, column=1, origin="mypy")
    result = FileResult(str(path), findings=[finding], notebook=notebook)
    for text in (
        report.render_text([result], color=False),
        report.render_json([result]),
        report.render_github([result]),
        report.render_sarif([result], {}, tool_version="0"),
    ):
        assert "Tr0ub4dor" not in text and "ghp_R4nd0mL" not in text


def test_sarif_fingerprints_do_not_depend_on_the_secret(make_notebook: MakeNotebook) -> None:
    """A fingerprint hashes the masked line: a hash of a line with a short password could be brute-forced."""
    prints = []
    for password in ("Tr0ub4dor&3", "hunter2-xyz"):
        notebook = read_notebook(make_notebook([f'password = "{password}"'], name=f"{password[:3]}/a.ipynb"))
        finding = Finding("a.ipynb", "NB302", Severity.ERROR, "m", cell_index=0, cell_id="cell-0", line=1, column=12)
        prints.append(report.fingerprints(notebook, [finding]))
    assert prints[0] == prints[1]


def test_json_findings_carry_the_cell_number_jupyter_shows(secrets_notebook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["lint", "--format", "json", "--select", "NB302", secrets_notebook.name])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert findings and all(f["cell_number"] == f["cell_index"] + 1 for f in findings)
    assert list(findings[0])[:4] == ["path", "cell_index", "cell_number", "cell_id"]


def test_mask_and_column_mapping() -> None:
    assert mask_secret("sk-proj-Zq3xV9mB2nK7") == "sk-p…"
    assert mask_secret("hunter2") == "…", "a short secret shows none of its characters"
    parts = [(4, 14, 5)]  # ten characters masked into five
    assert [masked_column(parts, c) for c in (0, 4, 9, 14, 20)] == [0, 4, 4, 9, 15]
