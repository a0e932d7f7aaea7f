"""Parameters without a kernel: typing, rendering, files, ``nb2prod params``, and every input error of ``nb2prod run``.

Nothing here starts a kernel. The input errors of ``nb2prod run`` are checked with papermill's
``execute_notebook`` replaced by a function that fails the test if called, and with the runs folder
checked to be absent afterwards: bad input is refused before anything starts or is written.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from run_helpers import RUN_DATA as DATA
from run_helpers import copy_fixtures

import nb2prod
from nb2prod.cli import main
from nb2prod.cli.run import parse_assignments
from nb2prod.errors import ParameterError, UsageError, run_exit_code
from nb2prod.notebook import read_notebook
from nb2prod.params import (
    Parameter,
    ParameterValues,
    check_value,
    convert,
    notebook_parameters,
    parse_parameters,
    render,
    render_value,
    resolve,
)
from nb2prod.run import git_state, injected_source, input_hashes, load_parameters_file, parameterise


@pytest.fixture
def copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixtures copied into a fresh working folder, which is made the current folder."""
    return copy_fixtures(tmp_path, monkeypatch)


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if papermill is ever asked to execute a notebook."""
    import papermill

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("papermill.execute_notebook was called: a kernel would have started")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def typed() -> tuple[Parameter, ...]:
    return notebook_parameters(read_notebook(DATA / "typed_parameters.ipynb"))


# --- typing values -----------------------------------------------------------------------------------


def test_parameters_of_the_typed_fixture() -> None:
    kinds = {p.name: (p.type, p.optional) for p in typed()}
    assert kinds == {
        "version": ("str", False),
        "layers": ("list", False),
        "debug": ("bool", False),
        "learning_rate": ("float", False),
        "epochs": ("int", False),
        "options": ("dict", False),
        "limit": ("any", True),
        "text": ("str", False),
        "api_key": ("str", False),
    }


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("version", "1.10", "1.10"),  # papermill would make this the float 1.1
        ("version", "nan", "nan"),
        ("version", "", ""),
        ("layers", "[64,32]", [64, 32]),
        ("layers", "[]", []),
        ("debug", "true", True),
        ("debug", "No", False),
        ("debug", "1", True),
        ("learning_rate", "1e-3", 0.001),
        ("learning_rate", "2", 2.0),
        ("epochs", "1_000", 1000),
        ("options", '{"optimizer": "adam", "betas": [0.9, 0.99]}', {"optimizer": "adam", "betas": [0.9, 0.99]}),
        ("options", "{'optimizer': 'adam'}", {"optimizer": "adam"}),  # a Python literal works too
        ("limit", "None", None),
        ("limit", "5", 5),
        ("limit", "[1, 2]", [1, 2]),
        ("limit", "hello", "hello"),
        ("text", '"""; import os\n\\', '"""; import os\n\\'),
    ],
)
def test_strings_are_converted_by_the_parameter_type(name: str, text: str, expected: Any) -> None:
    value = resolve(typed(), strings={name: text})[name]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "text"),
    [("epochs", "1.5"), ("epochs", "ten"), ("learning_rate", "fast"), ("debug", "maybe"), ("layers", "64"), ("options", "[1]")],
)
def test_ill_typed_strings_are_refused(name: str, text: str) -> None:
    with pytest.raises(ParameterError, match=f"'{name}' expects"):
        resolve(typed(), strings={name: text})


@pytest.mark.parametrize("text", ["None", "null", " None "])
def test_none_is_none_only_for_an_optional_parameter(text: str) -> None:
    """papermill makes `-p x None` None for every parameter; nb2prod types it by the parameters cell.

    A parameter whose default is None (or annotated ``int | None``) takes None; a str parameter
    keeps the string (as `version=1.10` stays "1.10"); any other type refuses it and says how to
    make the parameter optional.
    """
    cell = 'limit = None\ncap: int | None = 3\nname = "x"\nepochs = 10\nrate: float = 0.1\n'
    parameters = parse_parameters(cell)
    assert resolve(parameters, strings={"limit": text, "cap": text}) == {"limit": None, "cap": None, "name": "x", "epochs": 10, "rate": 0.1}
    assert resolve(parameters, strings={"name": text})["name"] == text
    for name, hint in (("epochs", "`epochs: int | None = 10`"), ("rate", "`rate: float | None = 0.1`")):
        with pytest.raises(ParameterError, match=f"'{name}' expects an? (int|float), got") as raised:
            resolve(parameters, strings={name: text})
        assert raised.value.hint == f"'{name}' is not optional; to allow None, write {hint} in the parameters cell"
    with pytest.raises(ParameterError, match="'epochs' expects an int, got NoneType None"):
        resolve(parameters, values={"epochs": None})  # `epochs: null` in a YAML file
    assert resolve(parameters, values={"limit": None, "cap": None})["cap"] is None


def test_errors_about_values_from_a_file_name_the_file() -> None:
    with pytest.raises(ParameterError) as raised:
        resolve(typed(), values=ParameterValues({"epochs": "many"}, source="params.yaml"))
    assert str(raised.value).startswith("params.yaml: error: 'epochs' expects an int, got 'many'")
    with pytest.raises(ParameterError) as raised:
        resolve(typed(), values=ParameterValues({"epoch": 3}, source="params.yaml"))
    assert str(raised.value) == "params.yaml: error: unknown parameter 'epoch' (did you mean 'epochs'?)"
    with pytest.raises(ParameterError) as raised:
        resolve(typed(), values={"epochs": "many"})  # a plain mapping: the caller knows where it came from
    assert raised.value.path is None


def test_unknown_name_gets_a_did_you_mean() -> None:
    with pytest.raises(ParameterError, match="unknown parameter 'learning_rat'") as raised:
        resolve(typed(), strings={"learning_rat": "0.1"})
    assert raised.value.hint == "did you mean 'learning_rate'?"


@pytest.mark.parametrize("name", ["x\nimport os", "import", "a-b", "1x", ""])
def test_names_that_are_not_identifiers_are_refused(name: str) -> None:
    with pytest.raises(ParameterError, match="not a valid parameter name"):
        resolve(typed(), strings={name: "1"})


def test_file_values_are_checked_and_strings_win() -> None:
    values = resolve(typed(), values={"epochs": 3, "learning_rate": 1, "version": "2"}, strings={"epochs": "4"})
    assert values["epochs"] == 4 and values["learning_rate"] == 1.0 and isinstance(values["learning_rate"], float)
    with pytest.raises(ParameterError, match="'version' expects a str, got float"):
        resolve(typed(), values={"version": 1.1})  # YAML `version: 1.10`: quote it
    with pytest.raises(ParameterError, match="'debug' expects a bool"):
        check_value(next(p for p in typed() if p.name == "debug"), 1)


def test_convert_keeps_unicode_and_whitespace_of_strings() -> None:
    parameter = Parameter("text", "str", "")
    assert convert(parameter, "  é日本 \t") == "  é日本 \t"


# --- parameter files -------------------------------------------------------------------------------


def test_yaml_file_keeps_dates_as_strings() -> None:
    values = load_parameters_file(DATA / "params.yaml")
    assert values == {"version": "2.0", "layers": [128, 64], "debug": True, "text": "2024-01-31"}
    assert resolve(typed(), values=values)["text"] == "2024-01-31"


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_text('{"epochs": 3, "options": {"a": null}}', encoding="utf-8")
    assert load_parameters_file(path) == {"epochs": 3, "options": {"a": None}}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("list.yaml", "- 1\n- 2\n", "holds a mapping"),
        ("bad.yaml", "a: [1\n", "not valid YAML"),
        ("bad.json", "{", "not valid JSON"),
        ("object.yaml", "!!python/object:os.system {}\n", "not valid YAML"),  # safe loading: no objects
        ("int_keys.yaml", "1: a\n", "holds a mapping"),
    ],
)
def test_bad_parameter_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ParameterError, match=message):
        load_parameters_file(path)


def test_missing_and_empty_parameter_files(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no such parameters file"):
        load_parameters_file(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert load_parameters_file(tmp_path / "empty.yaml") == {}


def test_parse_assignments() -> None:
    assert parse_assignments(["a=1", " b =x=y", "a=2", "c="]) == {"a": "2", "b": "x=y", "c": ""}
    for bad in ("novalue", "=1"):
        with pytest.raises(UsageError, match="expected NAME=VALUE"):
            parse_assignments([bad])


# --- rendering: what reaches the kernel -------------------------------------------------------------

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)
tricky_text = st.sampled_from(['"""; import os', "'''", "\\", "a\nb\r\nc", "\x00\x1b", "é日本\u2028", "{x}", "\\N{DASH}"]) | st.text()


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (1 == 1.0 == True for Python, not here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


@given(json_like)
def test_render_value_reads_back_with_literal_eval(value: Any) -> None:
    assert same(ast.literal_eval(render_value(value)), value)


@given(json_like | tricky_text)
def test_rendered_assignment_binds_the_value(value: Any) -> None:
    namespace: dict[str, Any] = {}
    exec(render({"x": value}), namespace)  # the injected cell, exactly as the kernel runs it
    assert same(namespace["x"], value)


@given(st.lists(st.sampled_from([math.nan, math.inf, -math.inf]) | st.floats(), max_size=5))
def test_non_finite_floats_render_as_float_calls(values: list[float]) -> None:
    namespace: dict[str, Any] = {}
    exec(render({"x": values, "y": values[0] if values else math.nan}), namespace)
    assert same(namespace["x"], values)
    assert math.isnan(namespace["y"]) if not values or math.isnan(values[0]) else namespace["y"] == values[0]


def test_injected_source_is_papermills_shape() -> None:
    assert injected_source({"a": 1, "b": "x"}) == "# Parameters\na = 1\nb = 'x'\n"


# --- parameterising a notebook ----------------------------------------------------------------------


def test_parameterise_puts_the_cell_after_the_parameters_cell() -> None:
    notebook = read_notebook(DATA / "broken_cell.ipynb")
    before = json.dumps(notebook.data)
    node, origin = parameterise(notebook.data, {"divisor": 2}, after=1)
    assert [cell.metadata.get("tags", []) for cell in node.cells][1:3] == [["parameters"], ["injected-parameters"]]
    assert node.cells[2].source == "# Parameters\ndivisor = 2\n"
    assert origin == [0, 1, None, 2, 3, 4]
    assert json.dumps(notebook.data) == before  # the notebook read from disk is untouched


def test_parameterise_without_values_injects_nothing() -> None:
    notebook = read_notebook(DATA / "broken_cell.ipynb")
    node, origin = parameterise(notebook.data, {}, after=1)
    assert len(node.cells) == len(notebook.data["cells"]) and origin == list(range(len(node.cells)))


def test_parameterise_replaces_an_old_injected_cell_and_drops_error_banners() -> None:
    data = json.loads((DATA / "broken_cell.ipynb").read_text(encoding="utf-8"))
    banner = {"cell_type": "markdown", "id": "banner", "metadata": {"tags": ["papermill-error-cell-tag"]}, "source": "An Exception"}
    old = {"cell_type": "code", "id": "old", "metadata": {"tags": ["injected-parameters"]}, "outputs": [], "execution_count": 1}
    data["cells"][2:2] = [{**old, "source": "divisor = 5"}]
    data["cells"].insert(0, banner)
    data["cells"][-1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "old output"}]
    node, origin = parameterise(data, {"divisor": 3}, after=2)
    assert [cell.source for cell in node.cells if "injected-parameters" in cell.metadata.get("tags", [])] == ["# Parameters\ndivisor = 3\n"]
    assert origin == [1, 2, None, 4, 5, 6]
    assert all(cell.get("outputs", []) == [] for cell in node.cells)  # a fresh run starts from no outputs


def test_parameterise_upgrades_old_notebooks_with_ids() -> None:
    data = json.loads((DATA / "broken_cell.ipynb").read_text(encoding="utf-8"))
    data["nbformat_minor"] = 4
    for cell in data["cells"]:
        del cell["id"]
    node, _ = parameterise(data, {"divisor": 3}, after=1)
    assert node.nbformat_minor == 5 and all(cell.get("id") for cell in node.cells)


# --- the record's helpers -------------------------------------------------------------------------


def test_run_exit_codes() -> None:
    assert [run_exit_code(s) for s in ("ok", "failed", "timeout", "interrupted", "kernel_died")] == [0, 1, 124, 130, 138]


def test_input_hashes_cover_existing_files_named_by_strings(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_bytes(b"a,b\n1,2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.txt").write_bytes(b"x")
    parameters = {"data": "data.csv", "files": ["sub/x.txt", "missing.csv"], "folder": "sub", "n": 3, "api_key": "data.csv", "odd": "a\0b"}
    assert input_hashes(parameters, tmp_path) == {
        "data.csv": "sha256:" + hashlib.sha256(b"a,b\n1,2\n").hexdigest(),
        "sub/x.txt": "sha256:" + hashlib.sha256(b"x").hexdigest(),
    }


def test_git_state(tmp_path: Path) -> None:
    assert git_state(tmp_path) is None

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    assert git_state(tmp_path) == {"commit": None, "dirty": False}
    (tmp_path / "a.txt").write_text("1", encoding="utf-8")
    git("add", "a.txt")
    git("commit", "-q", "-m", "one")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "untracked.txt").write_text("u", encoding="utf-8")
    assert git_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "a.txt").write_text("2", encoding="utf-8")
    assert git_state(tmp_path) == {"commit": head, "dirty": True}


def test_run_notebook_is_a_lazy_public_attribute() -> None:
    from nb2prod.run import run_notebook

    assert nb2prod.run_notebook is run_notebook and "run_notebook" in nb2prod.__all__
    with pytest.raises(AttributeError):
        _ = nb2prod.no_such_thing


# --- nb2prod params --------------------------------------------------------------------------------


def test_params_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", str(DATA / "typed_parameters.ipynb")]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == ["name", "type", "default", "help"]
    assert lines[1][:3] == ["version", "str", "'1.0'"] and " ".join(lines[1][3:]) == "a string that looks like a number"
    assert lines[7][:4] == ["limit", "any", "None", "optional"]


def test_params_json_with_schema(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DATA / "typed_parameters.ipynb")
    assert main(["params", path, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["notebook"] == path
    assert document["parameters"][1] == {"name": "layers", "type": "list", "default": [64], "help": "hidden layer sizes", "optional": False}
    schema = document["schema"]
    assert schema["title"] == "typed_parameters" and schema["additionalProperties"] is False
    assert schema["properties"]["epochs"] == {"type": "integer", "default": 10, "description": "passes over the data"}


def test_params_of_a_text_notebook(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", str(DATA / "percent_notebook.py"), "--format", "json"]) == 0
    assert [p["name"] for p in json.loads(capsys.readouterr().out)["parameters"]] == ["factor"]


def test_params_without_a_parameters_cell(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", str(DATA / "os_exit.ipynb")]) == 0
    assert "no parameters cell" in capsys.readouterr().out


def test_params_not_literal_is_exit_2_naming_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DATA / "not_literal_parameters.ipynb")
    assert main(["params", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:cell 1: error: line 1: only `name = literal` assignments") and err.count("\n") == 1


# --- nb2prod run: bad input, nothing started, nothing written --------------------------------------


@pytest.mark.usefixtures("no_kernel")
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["typed_parameters.ipynb", "-p", "learning_rat=0.5"], "unknown parameter 'learning_rat' (did you mean 'learning_rate'?)"),
        (["typed_parameters.ipynb", "-p", "epochs=ten"], "'epochs' expects an int, got 'ten'"),
        (["typed_parameters.ipynb", "-p", "layers=64"], "'layers' expects a list"),
        (["typed_parameters.ipynb", "-p", "debug=maybe"], "'debug' expects a bool"),
        (["typed_parameters.ipynb", "-p", "os.system=1"], "'os.system' is not a valid parameter name"),
        (["typed_parameters.ipynb", "-p", "import=1"], "'import' is not a valid parameter name"),
        (["typed_parameters.ipynb", "-p", "epochs"], "expected NAME=VALUE"),
        (["typed_parameters.ipynb", "-f", "missing.yaml"], "no such parameters file"),
        (["os_exit.ipynb", "-p", "seed=1"], "unknown parameter 'seed' (the notebook has no parameters cell"),
        (["not_literal_parameters.ipynb"], "only `name = literal` assignments"),
        (["missing_kernel.ipynb"], "no kernel named 'no-such-kernel' (the notebook's kernelspec) is installed (installed kernels: "),
        (["os_exit.ipynb", "--kernel", "nope"], "no kernel named 'nope' (--kernel)"),
        (["os_exit.ipynb", "--cwd", "no-such-folder"], "no-such-folder: error: the working folder does not exist"),
        (["os_exit.ipynb", "--cwd", "params.yaml"], "params.yaml: error: is not a folder"),
        (["no-such.ipynb"], "no-such.ipynb: error: no such file"),
    ],
)
def test_bad_input_is_exit_2_before_anything_starts(
    copied: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["run", *argv, "--runs-dir", "runs"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""
    assert not (copied / "runs").exists()


@pytest.mark.usefixtures("no_kernel")
def test_ill_typed_value_in_a_parameters_file(copied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (copied / "bad.yaml").write_text("version: 1.10\n", encoding="utf-8")  # unquoted: YAML makes it a float
    assert main(["run", "typed_parameters.ipynb", "-f", "bad.yaml"]) == 2
    assert "'version' expects a str, got float 1.1" in capsys.readouterr().err
    assert not (copied / "runs").exists()


@pytest.mark.usefixtures("no_kernel")
def test_missing_kernel_lists_the_installed_ones(copied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    assert main(["run", "missing_kernel.ipynb"]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in KernelSpecManager().find_kernel_specs())
    assert "--kernel NAME" in err


@pytest.mark.usefixtures("no_kernel")
def test_a_runs_dir_that_is_a_file_is_refused(copied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "os_exit.ipynb", "--runs-dir", "params.yaml"]) == 2
    assert "params.yaml: error: the runs folder is a file" in capsys.readouterr().err


@pytest.mark.parametrize("timeout", ["0", "-1", "soon", "inf"])
def test_bad_timeout_is_a_usage_error(timeout: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "x.ipynb", "--timeout", timeout])
    assert exited.value.code == 2 and "--timeout" in capsys.readouterr().err
