"""``nb2prod export`` reports lint's NB2 findings for the cells it exports, as warnings (issue #9 item 20)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

IMPORT_TIME_WORK = "import random\nrandom.seed(0)\n\n\ndef pick(items):\n    return random.choice(items)"
CELLS = [
    ("markdown", "# Picker", []),
    ("code", "items = [1, 2, 3]", ["parameters"]),
    ("code", IMPORT_TIME_WORK, ["export"]),
    ("code", "print(pick(items))", ["main"]),
    ("code", "print('explore')", []),
]


def warning_lines(err: str, code: str) -> list[str]:
    return [line for line in err.splitlines() if f" {code} " in line]


def test_an_exported_cell_doing_work_at_import_is_reported_as_lint_reports_it(
    make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], workdir: Path
) -> None:
    make_notebook("picker.ipynb", CELLS)
    code, _, err = run_export("picker.ipynb", "-o", "out")
    assert code == 0, err
    assert [line.split(" NB203 ")[0] for line in warning_lines(err, "NB203")] == ["picker.ipynb:cell 3:line 2:col 1:"]
    assert warning_lines(err, "NB203")[0].startswith("picker.ipynb:cell 3:line 2:col 1: NB203 [W] ")
    assert (workdir / "out" / "src" / "picker" / "picker.py").is_file()  # a warning does not stop the export
    code, _, err = run_export("picker.ipynb", "-o", "out", "--check", "-q")
    assert code == 0 and len(warning_lines(err, "NB203")) == 1  # --check reports it too


def test_the_same_line_as_nb2prod_lint(make_notebook: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    from nb2prod.cli import main

    make_notebook("picker.ipynb", CELLS)
    main(["lint", "--no-ruff", "--select", "NB203", "picker.ipynb"])
    lint_line = next(line for line in capsys.readouterr().out.splitlines() if " NB203 " in line)
    main(["export", "picker.ipynb", "-o", "out", "-q"])
    assert warning_lines(capsys.readouterr().err, "NB203") == [lint_line]


@pytest.mark.parametrize(
    ("cell", "config"),
    [
        (IMPORT_TIME_WORK + "  # nb2prod: noqa NB203", None),
        (IMPORT_TIME_WORK, '[tool.nb2prod.lint]\nignore = ["NB203"]\n'),
        (IMPORT_TIME_WORK, '[tool.nb2prod.lint]\nper-path-ignores = {"picker.ipynb" = ["NB2"]}\n'),
    ],
)
def test_suppressions_lint_honours_are_honoured(
    cell: str, config: str | None, make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], workdir: Path
) -> None:
    if config is not None:
        (workdir / "pyproject.toml").write_text(config)
    make_notebook("picker.ipynb", [*CELLS[:2], ("code", cell, ["export"]), *CELLS[3:]])
    code, _, err = run_export("picker.ipynb", "-o", "out")
    assert code == 0 and warning_lines(err, "NB203") == [], err


def test_only_cells_the_export_exports_are_reported(
    make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]]
) -> None:
    make_notebook("picker.ipynb", [*CELLS, ("code", "import json\njson.dumps(1)", ["test"])])
    _, _, err = run_export("picker.ipynb", "-o", "out")
    assert [line.split(":")[1] for line in warning_lines(err, "NB203")] == ["cell 3"]  # not the main, test or untagged cells
    untagged = [(kind, source, []) for kind, source, _ in CELLS[1:3]]
    make_notebook("plain.ipynb", [("markdown", "# Plain", []), *untagged])
    _, _, err = run_export("plain.ipynb", "--all", "-o", "plain")
    assert [line.split(":")[1] for line in warning_lines(err, "NB203")] == ["cell 3"]  # --all exports untagged cells


def test_a_finding_export_reports_itself_is_not_repeated(
    make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]]
) -> None:
    make_notebook("twice.ipynb", [("code", "def f():\n    return 1", ["export"]), ("code", "def f():\n    return 2", ["export"])])
    code, _, err = run_export("twice.ipynb", "-o", "out")
    assert code == 0
    assert len([line for line in err.splitlines() if "NB209" in line]) == 1, err


def test_the_dataflow_analysis_runs_once_per_notebook(
    make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lint pass reuses the analysis export made: export stays as cheap as it was."""
    from nb2prod.lint import context

    calls: list[int] = []
    real = context.analyze_notebook

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(context, "analyze_notebook", counting)
    make_notebook("picker.ipynb", CELLS)
    code, _, err = run_export("picker.ipynb", "-o", "out")
    assert code == 0 and len(warning_lines(err, "NB203")) == 1
    assert len(calls) == 1
