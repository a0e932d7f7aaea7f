"""Generated names and files are checked before anything is written (reliability.md scenario 56).

Names: the project name (PEP 508, PEP 503-normalized), the import name (an ASCII identifier, not
a keyword), the console script. Files: ``pyproject.toml`` parses as TOML, every Python file
compiles, README.md holds no control character. Control characters in a notebook's title and
description are dropped, so valid input always gives valid files.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from nb2prod.errors import ExportError
from nb2prod.export.package import module_files, render_package
from nb2prod.export.plan import ExportPlan, ModulePlan
from nb2prod.export.validate import check_files

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PEP_508_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def tagged(title: str) -> list[tuple[str, str, list[str]]]:
    return [
        ("markdown", title, []),
        ("code", "n = 3", ["parameters"]),
        ("code", "def total(k: int) -> int:\n    return sum(range(k))", ["export"]),
        ("code", "print(total(n))", ["main"]),
    ]


def written(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_scenario_56_control_characters_in_the_title_give_valid_files(
    make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], workdir: Path
) -> None:
    make_notebook("model.ipynb", tagged("# My \x7fmodel\x1b[31m\n\nReads\x00 the \x07data.\tTabs stay."))
    code, _, err = run_export("model.ipynb", "-o", "out")
    assert code == 0, err
    project = tomllib.loads((workdir / "out" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["description"] == "My model[31m"
    readme = (workdir / "out" / "README.md").read_text(encoding="utf-8")
    assert "# My model[31m\n" in readme and "Reads the data.\tTabs stay." in readme
    for path in written(workdir / "out"):
        assert not CONTROL.search(path.read_text(encoding="utf-8")), path


def test_scenario_56_a_notebook_name_with_control_characters_gives_valid_files(
    make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], workdir: Path
) -> None:
    make_notebook("churn\x7fmodel.ipynb", tagged("# Churn"))
    code, _, err = run_export("churn\x7fmodel.ipynb", "-o", "out")
    assert code == 0, err
    text = (workdir / "out" / "pyproject.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["project"]["name"] == "churn-model"
    assert "churn\\x7fmodel.ipynb" in text.splitlines()[0]
    code, _, err = run_export("churn\x7fmodel.ipynb", "-o", "out", "--check")
    assert code == 0, err  # the escaped name in the headers is read back: the project is up to date


@pytest.mark.parametrize(
    ("stem", "package", "project"),
    [("del", "del_", "del"), ("Über", "_ber", "ber"), ("01 eda", "nb_01_eda", "nb-01-eda")],
)
def test_scenario_56_names_made_from_the_file_name_follow_the_packaging_rules(
    stem: str,
    package: str,
    project: str,
    make_notebook: Callable[..., Path],
    run_export: Callable[..., tuple[int, str, str]],
    workdir: Path,
) -> None:
    cells = tagged("# A model")
    make_notebook(f"{stem}.ipynb", [cells[0], ("code", "#| default_exp core", []), *cells[1:]])
    code, _, err = run_export(f"{stem}.ipynb", "-o", "out")
    assert code == 0, err
    pyproject = tomllib.loads((workdir / "out" / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == project and PEP_508_NAME.match(project)
    assert list(pyproject["project"]["scripts"]) == [project]
    assert (workdir / "out" / "src" / package / "__init__.py").is_file()


@pytest.mark.parametrize(
    ("args", "notebook", "message"),
    [
        (
            ["--name", "é"],
            "model.ipynb",
            "error: 'é' cannot name a package: use ASCII letters, digits and underscores (pass --name, e.g. --name churn_model)",
        ),
        (
            ["--name", "___"],
            "model.ipynb",
            "error: the package name '___' has no letter or digit, so no project name can be made from it "
            "(pass --name, e.g. --name churn_model)",
        ),
        (
            [],
            "数据.ipynb",
            "error: the package name '__' (from the notebook's file name) has no letter or digit, so no project name can be made "
            "from it (pass --name, e.g. --name churn_model)",
        ),
    ],
)
def test_scenario_56_a_name_that_makes_no_valid_project_is_refused_and_nothing_written(
    args: list[str],
    notebook: str,
    message: str,
    make_notebook: Callable[..., Path],
    run_export: Callable[..., tuple[int, str, str]],
    workdir: Path,
) -> None:
    make_notebook(notebook, tagged("# A model"))
    code, out, err = run_export(notebook, "-o", "out", *args)
    assert (code, out, err.strip()) == (2, "", message)
    assert not (workdir / "out").exists()


def test_scenario_56_a_template_that_writes_invalid_toml_is_refused_and_nothing_written(
    make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], workdir: Path
) -> None:
    make_notebook("model.ipynb", tagged("# A model"))
    (workdir / "mine").mkdir()
    (workdir / "mine" / "pyproject.toml.j2").write_text('[project]\nname = {{ plan.distribution }}\nversion = "1"\n')
    code, _out, err = run_export("model.ipynb", "-o", "out", "--template-dir", "mine")
    assert code == 2
    assert err.strip().startswith("mine/pyproject.toml.j2: error: the generated pyproject.toml is not valid TOML: ")
    assert err.strip().endswith("(check the templates (--template-dir))")
    assert not (workdir / "out").exists()


def test_scenario_56_a_template_that_names_an_invalid_project_is_refused(
    make_notebook: Callable[..., Path], run_export: Callable[..., tuple[int, str, str]], workdir: Path
) -> None:
    make_notebook("model.ipynb", tagged("# A model"))
    (workdir / "mine").mkdir()
    (workdir / "mine" / "pyproject.toml.j2").write_text(
        '[project]\nname = "-bad-"\nversion = "1"\n\n[project.scripts]\n"my tool" = "model.cli:main"\n'
    )
    code, _, err = run_export("model.ipynb", "-o", "out", "--template-dir", "mine")
    assert code == 2
    assert "error: the generated pyproject.toml names the project '-bad-'" in err
    assert not (workdir / "out").exists()


def _plan(**changes: object) -> ExportPlan:
    module = ModulePlan("core", ("nb.ipynb",), '"""Core."""\n\n__all__ = []\n', (), ())
    return replace(ExportPlan(package="churn", distribution="churn", modules=(module,), notebooks=("nb.ipynb",)), **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"package": "class"}, "'class' is not a valid package name"),
        ({"package": "café"}, "'café' is not a valid package name"),
        ({"distribution": "-"}, "'-' is not a valid project name"),
        ({"distribution": "churn model"}, "'churn model' is not a valid project name"),
    ],
)
def test_plans_with_invalid_names_are_refused_before_rendering(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ExportError, match=re.escape(message)):
        render_package(_plan(**changes), nb2prod_version="9")


def test_every_generated_file_is_checked_by_its_kind() -> None:
    files = render_package(_plan(), nb2prod_version="9")
    check_files(files)
    assert set(module_files(_plan(), nb2prod_version="9")) == {"core.py"}
    bad = {
        "pyproject.toml": ("[project\n", "is not valid TOML"),
        "src/churn/core.py": ("def f(:\n", "does not compile"),
        "src/churn/nul.py": ("x = 1\0\n", "does not compile"),
        "README.md": ("# Card \x7f\n", "holds the control character U+007F"),
        "notes.json": ("{", "is not valid JSON"),
        "data.txt": ("\ud800", "cannot be written as UTF-8"),
    }
    for relative, (text, message) in bad.items():
        with pytest.raises(ExportError, match=re.escape(f"the generated {relative} {message}")):
            check_files({**files, relative: text})
