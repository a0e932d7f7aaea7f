"""Rendering and writing the exported project (``nb2prod.export.package``), from plans made by hand.

The plans here are built directly, not by ``build_plan``, so each behaviour of the package half is
tested alone: every file and its header, determinism, the entry point's typing of every kind of
parameter (the generated code runs in a subprocess), ``check``/``diff``/``force``, template
overrides, and templates rendered from an installed wheel.
"""

from __future__ import annotations

import ast
import errno
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import venv
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nb2prod.atomic import PendingWrite
from nb2prod.errors import ExportError, WriteConflictError, WriteError
from nb2prod.export import templates, write
from nb2prod.export.package import module_files, render_package
from nb2prod.export.plan import Dependency, ExportPlan, ModulePlan, Provenance
from nb2prod.export.plan import TestPlan as CellTest  # not a test class
from nb2prod.export.pysource import indent_code, python_literal, python_string
from nb2prod.export.templates import builtin_template_dir
from nb2prod.export.write import HASH_PREFIX, ExportResult, header_state, with_header, write_package
from nb2prod.params import Parameter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
VERSION = "9.9.9"
NOTEBOOK = "nbs/demo.ipynb"
MODULE_CODE = '''"""Exported by nb2prod from nbs/demo.ipynb."""

__all__ = ["load", "score"]


# -- from nbs/demo.ipynb, cell 2 (id aa) --
import statistics


# -- from nbs/demo.ipynb, cell 3 (id bb) --
def load(n: int) -> list[int]:
    """The numbers below n."""
    return list(range(n))


def score(values: list[int]) -> float:
    return float(statistics.fmean(values)) if values else 0.0


def _helper() -> int:
    return 1
'''
MAIN_CODE = '''# -- from nbs/demo.ipynb, cell 9 (id cc) --
import json

received = {
    "n_rows": n_rows,
    "rate": rate,
    "label": label,
    "verbose": verbose,
    "layers": layers,
    "options": options,
    "limit": limit,
    "anything": anything,
}
print("received:", json.dumps(received, sort_keys=True))
note = """two
  lines"""
print(note)
values = load(n_rows)
record("mean", score(values))
nb2prod.record("count", len(values))
nb2prod.record("fraction", statistics.fmean([rate, 0.0]))
'''
PARAMETERS = (
    Parameter("n_rows", "int", 10, "how many rows"),
    Parameter("rate", "float", 0.5, "a 50% rate"),
    Parameter("label", "str", 'say "hi"', ""),
    Parameter("verbose", "bool", False, "talk more"),
    Parameter("layers", "list", [64, 32], "layer sizes"),
    Parameter("options", "dict", {"a": 1}, "extra options"),
    Parameter("limit", "int", None, "an optional limit", optional=True),
    Parameter("anything", "any", None, "", optional=True),
)


def make_plan(**changes: object) -> ExportPlan:
    """A plan like ``build_plan`` would make for a small notebook with every kind of parameter."""
    module = ModulePlan(
        "demo", (NOTEBOOK,), MODULE_CODE, ("load", "score"), ("_helper", "load", "score", "statistics"), (Provenance(NOTEBOOK, 1, "aa"),)
    )
    plan = ExportPlan(
        package="demo_pkg",
        distribution="demo-pkg",
        modules=(module,),
        parameters=PARAMETERS,
        main_code=MAIN_CODE,
        main_module="demo",
        recorded=("mean", "count", "fraction"),
        tests=(
            CellTest("test_demo_cell_5", "demo", "assert load(3) == [0, 1, 2]\nassert _helper() == 1", Provenance(NOTEBOOK, 4, "dd")),
            CellTest(
                "test_demo_cell_6", "demo", "assert statistics.fmean(load(3)) == score(load(3)) == 1.0", Provenance(NOTEBOOK, 5, None)
            ),
        ),
        dependencies=(
            Dependency("scikit-learn", "1.9.1", ("sklearn",)),
            Dependency("numpy", "2.4.6", ("numpy",)),
            Dependency("x-y", None, ("xy",)),
        ),
        title="Demo model",
        description="A demo of **everything**.\n\nSecond paragraph.",
        notebooks=(NOTEBOOK,),
        source_hash="sha256:" + "0" * 64,
    )
    return replace(plan, **changes)


def render(plan: ExportPlan | None = None, **options: object) -> dict[str, str]:
    return render_package(plan or make_plan(), nb2prod_version=VERSION, **options)


def run_python(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(cwd / "src"), **env}
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=environment, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo plan written once into a folder (read-only for the tests that use it)."""
    out = tmp_path_factory.mktemp("project")
    write_package(render(), out)
    return out


# --- every file ---------------------------------------------------------------------------------------


def test_render_writes_the_whole_project() -> None:
    assert list(render()) == [
        "README.md",
        "pyproject.toml",
        "src/demo_pkg/__init__.py",
        "src/demo_pkg/cli.py",
        "src/demo_pkg/demo.py",
        "tests/test_cli.py",
        "tests/test_demo.py",
    ]


def test_every_file_starts_with_its_source_and_the_hash_of_its_body() -> None:
    for relative, text in render().items():
        first, second, body = text.split("\n", 2)
        comment = ("<!-- ", " -->") if relative.endswith(".md") else ("# ", "")
        assert first == f"{comment[0]}Generated by nb2prod {VERSION} from {NOTEBOOK}; edit the notebook, not this file.{comment[1]}"
        assert second == f"{comment[0]}{HASH_PREFIX}{hashlib.sha256(body.encode()).hexdigest()}{comment[1]}"
        assert header_state(text) == "intact"
        assert header_state(text.replace("\n", "\r\n")) == "intact", "a checkout with CRLF line endings is not an edit"
        assert header_state(text + "# more\n") == "edited"
        assert text.endswith("\n") and not text.endswith("\n\n")


def test_several_notebooks_are_named_in_the_header() -> None:
    text = with_header("x.py", "pass\n", ["a.ipynb", "b.ipynb"], "1.0")
    assert text.startswith("# Generated by nb2prod 1.0 from a.ipynb, b.ipynb; edit the notebooks, not this file.\n")
    assert header_state("no header\n") == "foreign"
    assert header_state("# Generated by nb2prod 1 from x; edit the notebook, not this file.\n# something else\nbody") == "foreign"


def test_rendering_is_deterministic_and_exporting_twice_changes_nothing(tmp_path: Path) -> None:
    first, second = render(), render()
    assert first == second
    write_package(first, tmp_path / "a")
    write_package(second, tmp_path / "b")
    files = sorted(path.relative_to(tmp_path / "a") for path in (tmp_path / "a").rglob("*") if path.is_file())
    assert files and all((tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes() for name in files)
    again = write_package(render(), tmp_path / "a")
    assert again.written == () and len(again.unchanged) == len(files) and not again.changed


def test_pyproject_names_pins_and_scripts() -> None:
    data = tomllib.loads(render()["pyproject.toml"])
    assert data["build-system"] == {"requires": ["hatchling"], "build-backend": "hatchling.build"}
    project = data["project"]
    assert project["name"] == "demo-pkg" and project["version"] == "0.1.0" and project["description"] == "Demo model"
    assert project["requires-python"] == f">={sys.version_info.major}.{sys.version_info.minor}"
    assert project["dependencies"] == ["numpy~=2.4.6", "scikit-learn~=1.9.1", "x-y"]
    assert project["optional-dependencies"] == {"test": ["pytest"]}
    assert project["scripts"] == {"demo-pkg": "demo_pkg.cli:main"}
    assert data["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/demo_pkg"]
    exact = tomllib.loads(render(pin="exact")["pyproject.toml"])
    assert exact["project"]["dependencies"] == ["numpy==2.4.6", "scikit-learn==1.9.1", "x-y"]
    with pytest.raises(ExportError, match="unknown pin"):
        render(pin="loose")


def test_init_reexports_the_public_names_and_a_later_module_wins() -> None:
    other = ModulePlan(
        "other",
        (NOTEBOOK,),
        '__all__ = ["score", "extra"]\n\n\ndef score(): ...\n\n\ndef extra(): ...\n',
        ("extra", "score"),
        ("extra", "score"),
    )
    text = render(make_plan(modules=(*make_plan().modules, other)))["src/demo_pkg/__init__.py"]
    body = text.split("\n", 2)[2]
    assert body.startswith('"""Demo model: exported by nb2prod from nbs/demo.ipynb."""\n')
    assert "from .demo import load\nfrom .other import extra, score\n" in body
    assert ast.literal_eval(body.split("__all__ = ", 1)[1]) == ["extra", "load", "score"]


def test_readme_is_a_model_card() -> None:
    text = render()["README.md"]
    assert "\n# Demo model\n\nA demo of **everything**.\n\nSecond paragraph.\n" in text
    assert "| `rate` | float | `0.5` | a 50% rate |" in text
    assert "| `label` | str | `'say \"hi\"'` |  |" in text
    assert "| `limit` | int or None | `None` | an optional limit |" in text
    assert '| `options` | dict | `{"a": 1}` | extra options |' in text
    assert "A run records `mean`, `count` and `fraction`" in text
    assert "pip install .\ndemo-pkg --help\ndemo-pkg --n-rows 10 --metrics-json metrics.json\n" in text
    assert "Exported from `nbs/demo.ipynb`; source hash `sha256:" + "0" * 64 + "`" in text


def test_generated_python_compiles_and_is_formatted(tmp_path: Path) -> None:
    files = render()
    write_package(files, tmp_path)
    python = [relative for relative in files if relative.endswith(".py")]
    for relative in python:
        compile(files[relative], relative, "exec", dont_inherit=True)
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--isolated", *python],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_formatter_formats_the_python_files_as_fmt_would(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text("line-length = 60\n")
    files = render(formatter="ruff", start=tmp_path / "demo.ipynb")
    cli = files["src/demo_pkg/cli.py"]
    assert cli != render()["src/demo_pkg/cli.py"]
    assert '    nb2prod.record(\n        "fraction", statistics.fmean([rate, 0.0])\n    )\n' in cli
    (tmp_path / "cli.py").write_text(cli)
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "cli.py"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert files["src/demo_pkg/demo.py"] == render()["src/demo_pkg/demo.py"], "module code comes formatted from build_plan"
    assert header_state(cli) == "intact"


# --- the entry point -----------------------------------------------------------------------------------


def test_entry_point_help_lists_every_parameter_with_its_default(project: Path) -> None:
    shown = run_python(["-m", "demo_pkg.cli", "--help"], project)
    assert shown.returncode == 0, shown.stderr
    help_text = " ".join(shown.stdout.split())
    for fragment in (
        "usage: demo-pkg",
        "--n-rows INT how many rows (default: 10)",
        "--rate FLOAT a 50% rate (default: 0.5)",
        '--label TEXT the notebook\'s label (default: say "hi")',
        "--verbose, --no-verbose talk more (default: False)",
        "--layers JSON layer sizes (default: [64, 32])",
        '--options JSON extra options (default: {"a": 1})',
        "--limit INT an optional limit (default: None)",
        "--anything VALUE the notebook's anything (default: None)",
        "--metrics-json PATH also write the recorded metrics to PATH as JSON",
    ):
        assert fragment in help_text
    assert "PATH as JSON (default" not in help_text


def test_entry_point_runs_the_main_code_with_defaults(project: Path) -> None:
    ran = run_python(["-m", "demo_pkg.cli"], project)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    received = json.loads(lines[0].removeprefix("received: "))
    assert received == {
        "anything": None,
        "label": 'say "hi"',
        "layers": [64, 32],
        "limit": None,
        "n_rows": 10,
        "options": {"a": 1},
        "rate": 0.5,
        "verbose": False,
    }
    assert lines[1:] == ["two", "  lines", "mean: 4.5", "count: 10", "fraction: 0.25"]


def test_entry_point_types_every_kind_of_parameter(project: Path, tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.json"
    args = ["--n-rows", "3", "--rate", "1", "--label", "x y", "--verbose", "--layers", "[1, 2]", "--options", '{"b": [2]}']
    ran = run_python(["-m", "demo_pkg.cli", *args, "--limit", "7", "--anything", "[1, true]", "--metrics-json", str(metrics)], project)
    assert ran.returncode == 0, ran.stderr
    received = json.loads(ran.stdout.splitlines()[0].removeprefix("received: "))
    assert received == {
        "anything": [1, True],
        "label": "x y",
        "layers": [1, 2],
        "limit": 7,
        "n_rows": 3,
        "options": {"b": [2]},
        "rate": 1.0,
        "verbose": True,
    }
    assert '"rate": 1.0' in ran.stdout, "a float option is a float even when written as 1"
    assert json.loads(metrics.read_text()) == {"mean": 1.0, "count": 3, "fraction": 0.5}
    again = run_python(["-m", "demo_pkg.cli", "--no-verbose", "--limit", "None", "--anything", "plain text"], project)
    received = json.loads(again.stdout.splitlines()[0].removeprefix("received: "))
    assert (received["verbose"], received["limit"], received["anything"]) == (False, None, "plain text")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n-rows", "1.5"], "argument --n-rows: invalid int value: '1.5'"),
        (["--rate", "fast"], "argument --rate: invalid float value: 'fast'"),
        (["--layers", '{"a": 1}'], "argument --layers: expected a JSON array, got '{\"a\": 1}'"),
        (["--options", "[1]"], "argument --options: expected a JSON object, got '[1]'"),
        (["--options", "{a: 1}"], "argument --options: not valid JSON: '{a: 1}'"),
        (["--limit", "many"], "argument --limit: invalid int value: 'many'"),
        (["--verbose=yes"], "ignored explicit argument 'yes'"),
        (["--n-estimators", "3"], "unrecognized arguments: --n-estimators 3"),
    ],
)
def test_entry_point_refuses_bad_values_with_exit_2(project: Path, args: list[str], message: str) -> None:
    ran = run_python(["-m", "demo_pkg.cli", *args], project)
    assert ran.returncode == 2 and message in ran.stderr, ran.stderr


def test_run_is_a_python_api_and_list_defaults_are_not_shared(project: Path) -> None:
    code = (
        "from demo_pkg.cli import run\n"
        "first = run(n_rows=2, layers=None)\n"
        "print(first)\n"
        "print(run.__kwdefaults__['layers'], run(rate=0.0)['fraction'])\n"
    )
    ran = run_python(["-c", code], project)
    assert ran.returncode == 0, ran.stderr
    assert "{'mean': 0.5, 'count': 2, 'fraction': 0.25}" in ran.stdout
    assert ran.stdout.strip().endswith("None 0.0")


def test_generated_tests_pass(project: Path) -> None:
    ran = run_python(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], project)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "4 passed" in ran.stdout


def test_test_files_group_tests_by_module_with_provenance() -> None:
    text = render()["tests/test_demo.py"]
    assert "import statistics\n\nfrom demo_pkg.demo import _helper, load, score\n" in text
    assert "\n\n# -- from nbs/demo.ipynb, cell 5 (id dd) --\ndef test_demo_cell_5() -> None:\n    assert load(3) == [0, 1, 2]\n" in text
    assert "# -- from nbs/demo.ipynb, cell 6 --\ndef test_demo_cell_6() -> None:\n" in text


def test_entry_point_imports_what_the_main_code_uses() -> None:
    cli = render()["src/demo_pkg/cli.py"]
    assert "    import statistics\n\n    from demo_pkg.demo import load, score\n" in cli
    assert "    nb2prod = _recorder\n    record = _recorder.record\n" in cli
    plain = render(make_plan(main_code="print(n_rows)\n"))["src/demo_pkg/cli.py"]
    assert "nb2prod = _recorder" not in plain and "record = _recorder.record" not in plain and "from demo_pkg" not in plain


def test_without_main_cells_there_is_no_entry_point() -> None:
    files = render(make_plan(main_code="", main_module=None, recorded=()))
    assert "src/demo_pkg/cli.py" not in files
    assert "scripts" not in tomllib.loads(files["pyproject.toml"])["project"]
    assert "main(" not in files["tests/test_cli.py"] and "import pytest" not in files["tests/test_cli.py"]
    assert "demo-pkg --help" not in files["README.md"] and "from demo_pkg import load, score" in files["README.md"]


def test_without_parameters_or_tests() -> None:
    files = render(make_plan(parameters=(), tests=(), main_code="record('n', len(load(2)))\n"))
    assert "tests/test_demo.py" not in files
    assert "def run() -> dict[str, Any]:" in files["src/demo_pkg/cli.py"] and "metrics = run()" in files["src/demo_pkg/cli.py"]
    assert "## Parameters" not in files["README.md"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"package": "demo-pkg"}, "'demo-pkg' is not a valid package name"),
        ({"modules": (ModulePlan("cli", (NOTEBOOK,), "x = 1\n", (), ("x",)),)}, "cannot export a module named 'cli'"),
        ({"parameters": (Parameter("help", "bool", False),)}, "'help' would be the entry point's option --help"),
        ({"parameters": (Parameter("metrics_json", "str", ""),)}, "option --metrics-json, which it needs"),
        ({"parameters": (Parameter("a_b", "int", 1), Parameter("_a_b", "int", 2))}, "'a_b' and '_a_b' would both be the option --a-b"),
        ({"main_code": "print(undefined_thing, n_rows)\n"}, "the main cells use 'undefined_thing', which no exported cell defines"),
        ({"main_code": "x = 1\nfrom os.path import *\n"}, "the main cells cannot run inside a function: line 2: import * only allowed"),
        ({"main_code": "x = (\n"}, "the main cells do not parse: line 1"),
    ],
)
def test_plans_that_cannot_make_a_working_package_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ExportError) as raised:
        render(make_plan(**changes))
    assert message in str(raised.value)


def test_module_files_take_a_module_named_cli_since_they_write_no_cli_py() -> None:
    plan = make_plan(modules=(ModulePlan("cli", (NOTEBOOK,), "x = 1\n", (), ("x",)),))
    assert list(module_files(plan, nb2prod_version=VERSION)) == ["cli.py"]
    with pytest.raises(ExportError, match="cannot export a module named '__init__'"):
        module_files(make_plan(modules=(ModulePlan("__init__", (NOTEBOOK,), "x = 1\n", (), ("x",)),)), nb2prod_version=VERSION)


def test_a_test_cell_that_cannot_be_a_function_is_refused_naming_the_cell() -> None:
    bad = CellTest("test_demo_cell_7", "demo", "from statistics import *", Provenance(NOTEBOOK, 6, "ee"))
    with pytest.raises(ExportError) as raised:
        render(make_plan(tests=(bad,)))
    assert str(raised.value).startswith("nbs/demo.ipynb:cell 7: error: the test cell cannot run inside a function: line 1")


def test_a_test_cell_using_an_unknown_name_is_refused_naming_the_cell() -> None:
    bad = CellTest("test_demo_cell_7", "demo", "assert missing_helper() == 1", Provenance(NOTEBOOK, 6, "ee"))
    with pytest.raises(ExportError) as raised:
        render(make_plan(tests=(bad,)))
    assert str(raised.value).startswith("nbs/demo.ipynb:cell 7: error: the test cell uses 'missing_helper', which no exported cell defines")


# --- source helpers ------------------------------------------------------------------------------------


@given(st.text())
def test_python_string_round_trips(text: str) -> None:
    literal = python_string(text)
    assert ast.literal_eval(literal) == text
    assert literal[0] == '"' or ('"' in text and "'" not in text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    )
)
def test_python_literal_round_trips(value: object) -> None:
    assert eval(python_literal(value), {"__builtins__": {"float": float}}) == value  # infinities are float("inf")


def test_indent_code_leaves_multiline_strings_alone() -> None:
    code = 'text = """a\n  b\n"""\nif text:\n    x = f"""{text}\nc"""\n\ny = 1'
    indented = indent_code(code)
    assert indented == '    text = """a\n  b\n"""\n    if text:\n        x = f"""{text}\nc"""\n\n    y = 1'
    scope: dict[str, object] = {}
    exec(compile("def f():\n" + indented + "\n    return text, x, y\n", "t", "exec"), scope)
    assert scope["f"]() == ("a\n  b\n", "a\n  b\n\nc", 1)  # type: ignore[operator]


# --- writing ---------------------------------------------------------------------------------------------


def test_check_reports_stale_files_and_writes_nothing(tmp_path: Path) -> None:
    fresh = write_package(render(), tmp_path, check=True)
    assert fresh.written == () and len(fresh.stale) == 7 and not any(tmp_path.iterdir())
    write_package(render(), tmp_path)
    assert write_package(render(), tmp_path, check=True).changed is False
    module = tmp_path / "src" / "demo_pkg" / "demo.py"
    before = module.read_bytes()
    changed = make_plan(modules=(replace(make_plan().modules[0], code=MODULE_CODE + "\n\nEXTRA = 1\n"),))
    stale = write_package(render(changed), tmp_path, check=True)
    assert stale.stale == (str(module),) and stale.refused == () and stale.changed
    assert module.read_bytes() == before


def test_a_file_edited_by_hand_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    write_package(render(), tmp_path)
    cli = tmp_path / "src" / "demo_pkg" / "cli.py"
    readme = tmp_path / "README.md"
    cli.write_text(cli.read_text() + "# my change\n")
    changed = render(make_plan(title="New title"))
    checked = write_package(changed, tmp_path, check=True)
    assert checked.refused == (str(cli),) and str(readme) in checked.stale
    with pytest.raises(ExportError) as raised:
        write_package(changed, tmp_path)
    assert str(raised.value) == (
        f"{tmp_path}: error: 1 file edited by hand or not written by nb2prod; nothing written: {cli} "
        "(move the changes into the notebook, or pass --force to overwrite them)"
    )
    assert cli.read_text().endswith("# my change\n") and "New title" not in readme.read_text(), "nothing at all was written"
    forced = write_package(changed, tmp_path, force=True)
    assert str(cli) in forced.written and str(readme) in forced.written
    assert header_state(cli.read_text()) == "intact" and "New title" in readme.read_text()


def test_a_file_nb2prod_did_not_write_is_never_overwritten_without_force(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# My own readme\n")
    with pytest.raises(ExportError, match="nothing written"):
        write_package(render(), tmp_path)
    assert (tmp_path / "README.md").read_text() == "# My own readme\n" and not (tmp_path / "src").exists()
    (tmp_path / "README.md").write_bytes(b"\xff\xfe not utf-8")
    assert write_package(render(), tmp_path, check=True).refused == (str(tmp_path / "README.md"),)


def test_diff_shows_what_would_change_and_writes_nothing(tmp_path: Path) -> None:
    new = write_package(render(), tmp_path, diff=True)
    assert not any(tmp_path.iterdir())
    assert new.diffs[str(tmp_path / "pyproject.toml")].startswith("--- /dev/null\n+++ b/pyproject.toml\n@@ -0,0 +1,")
    write_package(render(), tmp_path)
    changed = write_package(render(make_plan(title="Other")), tmp_path, diff=True)
    readme = changed.diffs[str(tmp_path / "README.md")]
    assert readme.startswith("--- a/README.md\n+++ b/README.md\n") and "\n-# Demo model\n" in readme and "\n+# Other\n" in readme
    assert set(changed.diffs) == set(changed.stale) and "Other" not in (tmp_path / "README.md").read_text()


def test_files_no_longer_generated_are_reported_never_deleted(tmp_path: Path) -> None:
    write_package(render(), tmp_path)
    (tmp_path / "src" / "demo_pkg" / "mine.py").write_text("x = 1\n")
    other = with_header("other.py", "y = 2\n", ["nbs/other.ipynb"], VERSION)  # exported from another notebook
    (tmp_path / "src" / "demo_pkg" / "other.py").write_text(other)
    result = write_package(render(make_plan(tests=())), tmp_path)
    assert result.orphaned == (str(tmp_path / "tests" / "test_demo.py"),)
    assert (tmp_path / "tests" / "test_demo.py").exists() and (tmp_path / "src" / "demo_pkg" / "mine.py").exists()


def test_only_changed_files_are_written(tmp_path: Path) -> None:
    write_package(render(), tmp_path)
    stamps = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*") if path.is_file()}
    result = write_package(render(make_plan(title="Changed")), tmp_path)
    assert sorted(result.written) == sorted(
        str(tmp_path / name) for name in ("README.md", "pyproject.toml", "src/demo_pkg/__init__.py", "src/demo_pkg/cli.py")
    )
    untouched = [path for path in stamps if str(path) not in result.written]
    assert untouched and all(path.stat().st_mtime_ns == stamps[path] for path in untouched)


def test_a_file_changed_during_the_export_is_not_overwritten_and_nothing_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_package(render(), tmp_path)
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    readme = tmp_path / "README.md"
    real = write.atomic_write_all

    def meddling(writes: list[PendingWrite]) -> None:
        assert readme in [Path(write.path) for write in writes]
        readme.write_text(readme.read_text() + "someone else\n")
        real(writes)

    monkeypatch.setattr(write, "atomic_write_all", meddling)
    with pytest.raises(WriteConflictError, match="changed on disk"):
        write_package(render(make_plan(title="Changed")), tmp_path)
    assert readme.read_text().endswith("someone else\n")
    after = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert {path: data for path, data in after.items() if path != readme} == {path: data for path, data in before.items() if path != readme}


def test_a_full_disk_while_exporting_leaves_every_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The third flush fails: no new file is put in place, and no temporary file stays (files are staged by several threads)."""
    write_package(render(), tmp_path)
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    real_fsync = os.fsync
    calls = []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(WriteError, match="No space left on device"):
        write_package(render(make_plan(title="Changed")), tmp_path)
    assert len(calls) >= 3
    after = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert after == before


def test_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("a file")
    with pytest.raises(ExportError, match="the output exists and is not a folder"):
        write_package(render(), target)


def test_module_files_are_the_modules_of_the_package() -> None:
    files = module_files(make_plan(), nb2prod_version=VERSION)
    assert files == {"demo.py": render()["src/demo_pkg/demo.py"]}


def test_export_result_defaults() -> None:
    assert ExportResult(Path("out")).changed is False


# --- templates -------------------------------------------------------------------------------------------


def test_template_dir_overrides_one_file_and_falls_back_for_the_others(tmp_path: Path) -> None:
    (tmp_path / "README.md.j2").write_text("Our card for {{ plan.package }}.\n\n{% include 'nb2prod/README.md.j2' %}")
    files = render(template_dir=tmp_path)
    body = files["README.md"].split("\n", 2)[2]
    assert body == "Our card for demo_pkg.\n\n" + render()["README.md"].split("\n", 2)[2]
    assert header_state(files["README.md"]) == "intact"
    default = render()
    assert all(files[name] == default[name] for name in default if name != "README.md")


def test_template_errors_are_export_errors(tmp_path: Path) -> None:
    (tmp_path / "package").mkdir()
    (tmp_path / "package" / "cli.py.j2").write_text("def broken(:\n")
    with pytest.raises(ExportError, match=r"the generated src/demo_pkg/cli.py does not compile: line 1"):
        render(template_dir=tmp_path)
    (tmp_path / "package" / "cli.py.j2").write_text("{{ no_such_value }}\n")
    with pytest.raises(ExportError, match="'no_such_value' is undefined"):
        render(template_dir=tmp_path)
    with pytest.raises(ExportError, match="no such template folder"):
        render(template_dir=tmp_path / "missing")


def test_compiled_templates_are_cached_and_an_edited_template_compiles_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "README.md.j2").write_text("First card for {{ plan.package }}.\n")
    assert render(template_dir=templates)["README.md"].endswith("First card for demo_pkg.\n")
    cached = sorted((tmp_path / "tmp").rglob("nb2prod-*.cache"))
    assert cached, "the compiled templates were not cached"
    (templates / "README.md.j2").write_text("Second card for {{ plan.package }}.\n")
    assert render(template_dir=templates)["README.md"].endswith("Second card for demo_pkg.\n")
    for path in (tmp_path / "tmp").rglob("nb2prod-*.cache"):
        path.write_bytes(b"not a cache")  # damaged: compiled again
    assert render(template_dir=templates)["README.md"].endswith("Second card for demo_pkg.\n")


def test_templates_render_without_a_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import jinja2

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Cannot determine safe temp directory.")

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "__init__", refuse)
    assert templates._template_cache() is None
    (tmp_path / "README.md.j2").write_text("Card.\n")
    assert render(template_dir=tmp_path)["README.md"].endswith("Card.\n")


def test_a_cache_that_cannot_be_read_or_written_costs_only_the_compilation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jinja2

    def fail(self: object, bucket: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "load_bytecode", fail)
    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "dump_bytecode", fail)
    (tmp_path / "README.md.j2").write_text("Card.\n")
    assert render(template_dir=tmp_path)["README.md"].endswith("Card.\n")


def test_builtin_templates_are_the_repository_templates_in_a_checkout() -> None:
    assert builtin_template_dir() == ROOT / "templates"
    shipped = sorted(path.relative_to(ROOT / "templates").as_posix() for path in (ROOT / "templates").rglob("*.j2"))
    assert shipped == [
        "README.md.j2",
        "package/__init__.py.j2",
        "package/cli.py.j2",
        "package/module.py.j2",
        "pyproject.toml.j2",
        "tests/ml_data.py.j2",
        "tests/test_cli.py.j2",
        "tests/test_ml.py.j2",
        "tests/test_module.py.j2",
    ]


@pytest.mark.slow
def test_templates_render_from_an_installed_wheel(tmp_path: Path) -> None:
    """The wheel carries the templates inside the package, and an installed nb2prod renders from them."""
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("nb2prod-*.whl")
    env_dir = tmp_path / "venv"
    # The environment sees this one's packages (Jinja2 and the rest) but has its own nb2prod, from the wheel.
    venv.create(env_dir, with_pip=True, system_site_packages=True)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    installed = subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    probe = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import nb2prod
        from nb2prod.export.package import render_package
        from nb2prod.export.templates import builtin_template_dir
        from test_export_package import make_plan
        files = render_package(make_plan(), nb2prod_version="9.9.9")
        print(json.dumps({"module": nb2prod.__file__, "templates": str(builtin_template_dir()), "files": files}))
        """
    )
    shown = subprocess.run([python, "-c", probe, str(Path(__file__).parent)], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    site = str(env_dir.resolve())
    assert str(Path(data["module"]).resolve()).startswith(site), "the wheel's nb2prod was imported"
    assert str(Path(data["templates"]).resolve()).startswith(site) and data["templates"].endswith(os.path.join("nb2prod", "templates"))
    assert data["files"] == render(), "the installed templates render exactly what the source tree's do"
