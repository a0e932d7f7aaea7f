"""``NB2PROD_PARAM_<NAME>``: parameters from the environment (a way to pass a secret that stays out of shell history).

Precedence, first that has a value: ``-p`` > ``NB2PROD_PARAM_<NAME>`` > ``-f`` > the notebook's
default. Nothing here starts a kernel: papermill is replaced by a function that fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.errors import ParameterError
from nb2prod.params import Parameter, env_variable, environment_strings, resolve

PARAMETERS = (
    Parameter("seed", "int", 0),
    Parameter("api_key", "str", ""),
    Parameter("layers", "list", [64]),
)


def test_the_variable_is_the_name_in_upper_case() -> None:
    assert env_variable("api_key") == "NB2PROD_PARAM_API_KEY" and env_variable("lr") == "NB2PROD_PARAM_LR"


def test_only_the_notebooks_parameters_are_read_from_the_environment() -> None:
    environ = {"NB2PROD_PARAM_API_KEY": "k-1", "NB2PROD_PARAM_OTHER": "x", "API_KEY": "y", "nb2prod_param_seed": "3"}
    assert environment_strings(PARAMETERS, environ) == {"api_key": "k-1"}


def test_precedence_p_then_environment_then_file_then_default() -> None:
    environment = environment_strings(PARAMETERS, {"NB2PROD_PARAM_SEED": "5", "NB2PROD_PARAM_LAYERS": "[1, 2]"})
    values = {"seed": 9, "api_key": "from-file"}
    resolved = resolve(PARAMETERS, strings={"layers": "[3]"}, values=values, environment=environment)
    assert resolved == {"seed": 5, "api_key": "from-file", "layers": [3]}
    assert resolve(PARAMETERS, values=values, environment=environment)["layers"] == [1, 2]
    assert resolve(PARAMETERS, environment={})["seed"] == 0


def test_a_value_from_the_environment_is_typed_and_its_errors_say_where_it_came_from() -> None:
    with pytest.raises(ParameterError, match=r"'seed' expects an int, got 'five' \(from NB2PROD_PARAM_SEED\)"):
        resolve(PARAMETERS, environment=environment_strings(PARAMETERS, {"NB2PROD_PARAM_SEED": "five"}))


def test_two_names_that_differ_by_case_cannot_share_a_set_variable() -> None:
    parameters = (Parameter("lr", "float", 0.1), Parameter("LR", "float", 0.2))
    assert environment_strings(parameters, {}) == {}
    with pytest.raises(ParameterError, match="NB2PROD_PARAM_LR could set 'lr' or 'LR'"):
        environment_strings(parameters, {"NB2PROD_PARAM_LR": "0.5"})


def test_a_bad_environment_value_is_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("papermill.execute_notebook", lambda *args, **kwargs: pytest.fail("a kernel was started"))
    notebook = tmp_path / "typed.py"
    notebook.write_text('# %% tags=["parameters"]\nseed = 0\napi_key = 1\n', encoding="utf-8")
    monkeypatch.setenv("NB2PROD_PARAM_API_KEY", "sk-proj-Ab3dEf6hIjCoreKey9kLm2nOp5qRs8tUv")
    assert main(["run", str(notebook), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "NB2PROD_PARAM_API_KEY" in err and "not shown: a secret" in err and "CoreKey" not in err
    assert not (tmp_path / "runs").exists()
