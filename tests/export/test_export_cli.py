"""``nb2prod export`` on real notebooks: the command line, its exit codes, the Python API and the nbconvert exporter."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nb2prod
from nb2prod.cli import main
from nb2prod.export.write import ExportResult, header_state

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
TINY = [
    ("markdown", "# Tiny model\n\nAdds up the numbers below `n`.", []),
    ("code", "n = 3  # how many numbers\nscale = 1.5  # a factor", ["parameters"]),
    ("code", "import math\n\nimport nb2prod\n\n\ndef total(k: int) -> int:\n    return sum(range(k))", ["export"]),
    ("code", "assert total(3) == 3", ["test"]),
    ("code", 'result = total(n) * scale\nnb2prod.record("total", result)\nnb2prod.record("root", math.sqrt(result))', ["main"]),
    ("code", "print(result)", []),
]


def write_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    """Write a small nbformat 4.5 notebook: ``(cell_type, source, tags)`` per cell."""
    built = []
    for index, (kind, source, tags) in enumerate(cells):
        cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{index}", "metadata": {"tags": tags} if tags else {}, "source": source}
        if kind == "code":
            cell |= {"execution_count": None, "outputs": []}
        built.append(cell)
    data = {"cells": built, "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["export", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tiny.ipynb`` in a fresh working folder (no pyproject.toml above it: nb2prod's defaults apply)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()  # the configuration search stops here
    return write_notebook(tmp_path / "tiny.ipynb", TINY)


def generated(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_export_writes_the_project_into_build_by_default(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "tiny.ipynb")
    assert code == 0 and out == ""
    project = Path("build/tiny")
    assert generated(project) == [
        "README.md",
        "pyproject.toml",
        "src/tiny/__init__.py",
        "src/tiny/cli.py",
        "src/tiny/tiny.py",
        "tests/test_cli.py",
        "tests/test_tiny.py",
    ]
    assert f"wrote {os.path.join('build', 'tiny', 'src', 'tiny', 'cli.py')}\n" in err
    assert err.endswith("exported tiny into build/tiny: 7 written, 0 unchanged\n")
    ran = subprocess.run(
        [sys.executable, "-m", "tiny.cli", "--n", "5", "--scale", "2"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": "src"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "total: 20.0\nroot: 4.47213595499958\n"
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": "src"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0 and "3 passed" in tests.stdout, tests.stdout


def test_check_exit_codes_fresh_stale_and_after_a_hand_edit(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "tiny.ipynb", "-o", "out", "--check")
    assert code == 1 and "would write out/pyproject.toml" in err and not Path("out").exists()
    assert cli(capsys, "tiny.ipynb", "-o", "out")[0] == 0
    code, _, err = cli(capsys, "tiny.ipynb", "-o", "out", "--check")
    assert code == 0 and err == "tiny in out: up to date (7 unchanged)\n"

    write_notebook(tiny, [*TINY[:4], ("code", TINY[4][1] + "\nnb2prod.record('twice', 2 * result)", ["main"]), TINY[5]])
    code, _, err = cli(capsys, "tiny.ipynb", "-o", "out", "--check")
    assert code == 1
    assert set(err.splitlines()) == {
        "would write out/README.md",
        "would write out/src/tiny/cli.py",
        "tiny in out: 2 files out of date (5 unchanged)",
    }
    assert cli(capsys, "tiny.ipynb", "-o", "out")[0] == 0

    module = Path("out/src/tiny/tiny.py")
    module.write_text(module.read_text() + "\n\ndef added_by_hand() -> None: ...\n")
    code, _, err = cli(capsys, "tiny.ipynb", "-o", "out", "--check")
    assert code == 1 and "out/src/tiny/tiny.py: error: edited by hand (or not written by nb2prod); an export needs --force" in err
    code, _, err = cli(capsys, "tiny.ipynb", "-o", "out")
    assert code == 2 and "nothing written: out/src/tiny/tiny.py (move the changes into the notebook, or pass --force" in err
    assert "added_by_hand" in module.read_text()
    code, _, err = cli(capsys, "tiny.ipynb", "-o", "out", "--force")
    assert code == 0 and "wrote out/src/tiny/tiny.py" in err and header_state(module.read_text()) == "intact"
    assert cli(capsys, "tiny.ipynb", "-o", "out", "--check")[0] == 0


def test_diff_prints_unified_diffs_and_writes_nothing(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "tiny.ipynb", "-o", "out")[0] == 0
    write_notebook(tiny, [("markdown", "# Renamed model", []), *TINY[1:]])
    before = Path("out/README.md").read_text()
    code, out, err = cli(capsys, "tiny.ipynb", "-o", "out", "--diff")
    assert code == 0 and "would write out/README.md" in err
    assert out.startswith("--- a/README.md\n+++ b/README.md\n") and "\n-# Tiny model\n" in out and "\n+# Renamed model\n" in out
    assert Path("out/README.md").read_text() == before
    assert cli(capsys, "tiny.ipynb", "-o", "out", "--diff", "--check")[0] == 1


def test_into_writes_only_the_modules_into_an_existing_package(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = Path("src/mypkg")
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Our own package."""\n')
    code, _, err = cli(capsys, "tiny.ipynb", "--into", "src/mypkg")
    assert code == 0 and "wrote src/mypkg/tiny.py" in err
    assert generated(package) == ["__init__.py", "tiny.py"] and not Path("build").exists()
    assert (package / "__init__.py").read_text() == '"""Our own package."""\n'
    assert Path("src/mypkg/tiny.py").read_text() == _exported_module(capsys)
    assert cli(capsys, "tiny.ipynb", "--into", "src/mypkg", "--check")[0] == 0
    code, _, err = cli(capsys, "tiny.ipynb", "--into", "src/missing")
    assert code == 2 and "src/missing: error: no such package folder" in err


def test_into_warns_of_no_requirement_since_it_writes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    write_notebook(tmp_path / "lib.ipynb", [("code", "import surely_not_installed_nb2prod_abc\n\nX = 1", ["export"])])
    Path("pkg").mkdir()
    code, _, err = cli(capsys, "lib.ipynb", "--into", "pkg")
    assert code == 0 and "warning" not in err and Path("pkg/lib.py").is_file()
    code, _, err = cli(capsys, "lib.ipynb", "-o", "full")
    assert (
        code == 0 and "lib.ipynb:cell 1: warning: no installed distribution provides the import 'surely_not_installed_nb2prod_abc'" in err
    )


def _exported_module(capsys: pytest.CaptureFixture[str]) -> str:
    assert cli(capsys, "tiny.ipynb", "-o", "full", "-q")[0] == 0
    return Path("full/src/tiny/tiny.py").read_text()


def test_out_and_into_together_are_a_usage_error(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["export", "tiny.ipynb", "-o", "a", "--into", "b"])
    assert exited.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_pin_name_quiet_and_template_dir(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cells = [*TINY]
    cells[2] = ("code", TINY[2][1].replace("import math\n", "import math\n\nimport numpy as np\n") + "\n\n\nZERO = np.zeros(1)", ["export"])
    write_notebook(tiny, cells)
    templates = Path("mine")
    templates.mkdir()
    (templates / "README.md.j2").write_text("# {{ plan.package }} card\n")
    code, out, err = cli(capsys, "tiny.ipynb", "--name", "My Model", "--pin", "exact", "--template-dir", "mine", "-q")
    assert (code, out, err) == (0, "", "")
    project = Path("build/my-model")
    assert f'"numpy=={importlib.metadata.version("numpy")}"' in (project / "pyproject.toml").read_text()
    assert (project / "src" / "my_model" / "tiny.py").exists()
    assert (project / "README.md").read_text().split("\n", 2)[2] == "# my_model card\n"


def test_all_exports_every_cell_of_an_untagged_notebook(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_notebook(Path("plain.ipynb"), [("code", "def double(x):\n    return 2 * x", [])])
    code, _, err = cli(capsys, "plain.ipynb")
    assert code == 2 and "plain.ipynb: error: nothing is marked for export" in err and "--all" in err
    assert cli(capsys, "plain.ipynb", "--all")[0] == 0
    assert "def double(x):" in Path("build/plain/src/plain/plain.py").read_text()
    assert "src/plain/cli.py" not in generated(Path("build/plain")), "no main cells, no entry point"


def test_warnings_of_the_plan_are_printed(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_notebook(tiny, [*TINY, ("code", "def total(k: int) -> int:\n    return k", ["export"])])
    code, _, err = cli(capsys, "tiny.ipynb")
    assert code == 0 and "tiny.ipynb:cell 7:line 1: warning: 'total' is also defined by cell 3" in err and "(NB209)" in err


def test_inputs_that_cannot_be_read_exit_2(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "missing.ipynb")
    assert code == 2 and err == "missing.ipynb: error: no such file or folder (check the path)\n"
    code, _, err = cli(capsys, "missing.ipynb", "gone.ipynb")
    assert code == 2 and err.startswith("error: 2 inputs cannot be read: missing.ipynb: no such file or folder; gone.ipynb:")
    Path("empty").mkdir()
    code, _, err = cli(capsys, "empty")
    assert code == 2 and err.startswith("empty: error: no notebooks found here (pass .ipynb files")
    assert not Path("build").exists()


def test_black_formats_the_package_on_request(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "tiny.ipynb", "--formatter", "black", "-o", "out")[0] == 0
    assert header_state(Path("out/src/tiny/cli.py").read_text()) == "intact"


# --- the Python API --------------------------------------------------------------------------------------


def test_nb2prod_export_is_callable_and_returns_the_result(tiny: Path) -> None:
    assert "export" in nb2prod.__all__ and "ExportResult" in nb2prod.__all__
    assert nb2prod.ExportResult is ExportResult
    result = nb2prod.export(["tiny.ipynb"], out="api")
    assert isinstance(result, ExportResult) and result.plan is not None and result.plan.package == "tiny"
    assert result.out == Path("api") and len(result.written) == 7 and result.warnings == ()
    assert nb2prod.export(["tiny.ipynb"], out="api", check=True).changed is False


def test_the_api_is_lazy_and_works_whatever_is_imported_first() -> None:
    probe = (
        "import sys, nb2prod\n"
        "assert 'nb2prod.export' not in sys.modules\n"
        "import nb2prod.export.codegen\n"  # binds nb2prod.export to the package first
        "print(callable(nb2prod.export), nb2prod.export.export.__name__, 'jinja2' in sys.modules, 'nbconvert' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["True", "export", "False", "False"]


# --- nbconvert ---------------------------------------------------------------------------------------------


def _jupyter() -> list[str]:
    beside = Path(sys.executable).with_name("jupyter")
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which("jupyter")
    return [found] if found else [sys.executable, "-m", "jupyter"]


def test_jupyter_nbconvert_to_nb2prod_writes_the_module(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cells = [*TINY, ("code", "#| export helpers\ndef helper() -> int:\n    return 1", [])]
    write_notebook(tiny, cells)
    ran = subprocess.run([*_jupyter(), "nbconvert", "--to", "nb2prod", "tiny.ipynb"], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert "Writing" in ran.stderr and sorted(path.name for path in Path().glob("*.py")) == ["helpers.py", "tiny.py"]
    assert cli(capsys, "tiny.ipynb", "-o", "out")[0] == 0
    assert Path("tiny.py").read_text() == Path("out/src/tiny/tiny.py").read_text()
    assert Path("helpers.py").read_text() == Path("out/src/tiny/helpers.py").read_text()


def test_nbconvert_reports_an_export_error(tiny: Path) -> None:
    write_notebook(tiny, [("code", "x = 1", [])])
    ran = subprocess.run([*_jupyter(), "nbconvert", "--to", "nb2prod", "tiny.ipynb"], capture_output=True, text=True, check=False)
    assert ran.returncode != 0 and "nothing is marked for export" in ran.stderr
    assert not Path("tiny.py").exists()


def test_the_package_is_as_ruff_format_leaves_python_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Modules are formatted as .py files, not as notebook cells: `ruff format` on the package changes nothing, so the
    header hashes stay valid (a cell's trailing `;` and a string line starting with %% are where the two differ)."""
    from nb2prod.lint.ruff import ruff_executable

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    cells = [
        ("code", "n = 2  # rows", ["parameters"]),
        ("code", 'import math\nHELP = """\n%%bash is text\n"""\ndef area(r):\n    return math.pi*r**2;', ["export"]),
        ("code", "value = area(n);\nnb2prod.record('area', value)", ["main"]),
        ("code", "assert area(1) == math.pi;", ["test"]),
    ]
    write_notebook(tmp_path / "shapes.ipynb", cells)
    code, _, err = cli(capsys, "shapes.ipynb", "-o", "out")
    assert code == 0, err
    assert "return math.pi * r**2\n" in Path("out/src/shapes/shapes.py").read_text()
    done = subprocess.run([ruff_executable(), "format", "--check", "--no-cache", "out"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert cli(capsys, "shapes.ipynb", "-o", "out", "--check")[0] == 0
