"""The sets of a sweep: grids, fixed values and lists of sets, typed as ``run`` types them and all checked before anything runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.errors import ParameterError, UsageError
from nb2prod.sweep import load_sets_file, parse_grid
from nb2prod.sweep.plan import plan_sets

DATA = Path(__file__).resolve().parents[1] / "data"
TYPED = DATA / "run" / "typed_parameters.ipynb"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("sleeps.ipynb", "fails_on_two.ipynb"):
        shutil.copy(DATA / "sweep" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_parse_grid_splits_on_top_level_commas_only() -> None:
    assert parse_grid(["x=1,2", "layers=[64,32],[128]", "name='a,b',c"]) == {
        "x": ["1", "2"],
        "layers": ["[64,32]", "[128]"],
        "name": ["'a,b'", "c"],
    }
    with pytest.raises(UsageError, match="twice"):
        parse_grid(["x=1", "x=2"])
    with pytest.raises(UsageError, match="expected NAME=VALUE1"):
        parse_grid(["x"])


def test_the_grid_is_the_cartesian_product_typed_by_the_parameters_cell(work: Path) -> None:
    planned = plan_sets("sleeps.ipynb", grid_strings={"x": ["1", "2"], "seconds": ["0", "0.5"]}, strings={"x": "9"})
    # -p values go into every set; a grid over the same name wins over them
    assert planned.sets == (
        {"x": 1, "seconds": 0.0},
        {"x": 1, "seconds": 0.5},
        {"x": 2, "seconds": 0.0},
        {"x": 2, "seconds": 0.5},
    )
    assert all(isinstance(s["seconds"], float) and isinstance(s["x"], int) for s in planned.sets)
    assert planned.swept == ("x", "seconds")


def test_a_list_of_sets_is_crossed_with_the_grid(work: Path) -> None:
    planned = plan_sets("sleeps.ipynb", parameter_sets=[{"x": 1}, {"x": 2}], grid_strings={"seconds": ["0", "1"]})
    assert [s["x"] for s in planned.sets] == [1, 1, 2, 2] and planned.swept == ("x", "seconds")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"grid_strings": {"x": ["1", "two"]}}, ParameterError, "set 2 (x=two): 'x' expects an int"),
        ({"grid_strings": {"nosuch": ["1"]}}, ParameterError, "set 1 (nosuch=1): unknown parameter"),
        ({"parameter_sets": [{"x": 1}, {"x": "one"}]}, ParameterError, "set 2 (x=one): 'x' expects an int"),
        ({"parameter_sets": [{"x": 1}, {"x": 1}]}, UsageError, "set 2 (x=1) repeats set 1"),
        ({}, UsageError, "nothing to sweep"),
        ({"parameter_sets": []}, UsageError, "lists no sets"),
    ],
)
def test_bad_sets_are_refused_naming_the_set(work: Path, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        plan_sets("sleeps.ipynb", **kwargs)
    assert message in raised.value.message


def test_a_bad_value_is_exit_2_and_nothing_runs(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sweep", "sleeps.ipynb", "-g", "x=1,2,zz", "--runs-dir", "runs"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "sleeps.ipynb: error: set 3 (x=zz): 'x' expects an int, got 'zz' (for example x=42)"
    assert not (work / "runs").exists()


def test_sets_files_hold_a_list_of_mappings(tmp_path: Path) -> None:
    good = tmp_path / "sets.yaml"
    good.write_text("- x: 1\n  seconds: 0.5\n- x: 2\n", encoding="utf-8")
    assert load_sets_file(good) == [{"x": 1, "seconds": 0.5}, {"x": 2}]
    bad = tmp_path / "bad.json"
    bad.write_text('{"x": 1}', encoding="utf-8")
    with pytest.raises(ParameterError, match="holds a list of parameter sets"):
        load_sets_file(bad)


def test_a_sets_file_value_of_the_wrong_type_names_the_file(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "sets.json").write_text('[{"x": 1}, {"x": "one"}]', encoding="utf-8")
    code = main(["sweep", "sleeps.ipynb", "--params-file", "sets.json", "--runs-dir", "runs"])
    assert code == 2 and "sets.json: error: set 2 (x=one): 'x' expects an int" in capsys.readouterr().err
    assert not (work / "runs").exists()


def test_a_sets_values_win_over_nb2prod_param_variables() -> None:
    """A run of a set reads NB2PROD_PARAM_<NAME> only for the names the set does not give (the environment wins over -f in run)."""
    from nb2prod.sweep import set_environ

    environ = {"NB2PROD_PARAM_X": "5", "NB2PROD_PARAM_API_KEY": "from-env", "PATH": "/bin"}
    assert set_environ({"x": 1}, environ) == {"NB2PROD_PARAM_API_KEY": "from-env", "PATH": "/bin"}
