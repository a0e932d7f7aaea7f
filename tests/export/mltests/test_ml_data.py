"""The generated ML tests' data: synthesized from the notebook's data profile, or a captured real sample; T16, the input data contract.

The variants below are small pandas + scikit-learn notebooks whose loader reads ``data.csv`` from the
working folder. Each is exported with a profile of the correct data (and some with
``--capture-sample``), and all their generated tests run in ONE real ``pytest`` subprocess (JUnit
XML read once): the correct ones pass, each planted T16 defect (a missing column, values out of
range, an unseen category) fails T16 with a message naming the column and the property, and a
sample changed after the export fails on its sha256. One slow test ``pip install``s such a package
into a throw-away virtual environment and runs its tests there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path
from typing import Any

import pytest
from test_planted_defects import pytest_outcomes  # this folder is on sys.path: the tests are not packages

import nb2prod
from nb2prod.export import export
from nb2prod.export.mltests.data import fixture_spec, sample_csv

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"  # a GitHub token's format: never written

MODEL = """
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


def load_data():
    frame = pd.read_csv("data.csv")
    #DEFECT
    return frame.drop(columns=["label"]), frame["label"]


def build_model(seed):
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["color"]), ("passthrough", ["age", "income"]))
    return make_pipeline(encode, RandomForestClassifier(n_estimators=8, max_depth=4, random_state=seed))


def evaluate(model, X, y):
    return {"accuracy": float((model.predict(X) == y).mean())}
"""
MAIN = "X, y = load_data()\nmodel = build_model(seed=seed).fit(X, y)\n"
#: No loader (load_data takes the path): the tests synthesize their data from the profile.
NO_LOADER = MODEL.replace("def load_data():", "def load_data(path):").replace('"data.csv"', "path")
NO_LOADER_MAIN = 'X, y = load_data("data.csv")\nmodel = build_model(seed=seed).fit(X, y)\n'

#: A loader that returns a bare array: T16 matches its columns by position, when the profile keeps the data's order.
ARRAY_MODEL = """
import numpy as np
from sklearn.linear_model import LogisticRegression


def load_data():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(100, 1, 120), rng.normal(0, 1, 120)])
    return X, (X[:, 1] > 0).astype(int)


def train(X, y, seed=0):
    return LogisticRegression(random_state=seed).fit(X, y)
"""
ARRAY_MAIN = "X, y = load_data()\nmodel = train(X, y, seed=seed)\n"

T16_DEFECTS = {
    "missing": ('frame = frame.drop(columns=["income"])', "column 'income': missing"),
    "range": ('frame["age"] = frame["age"] * 10', "column 'age': "),
    "category": ('frame.loc[3, "color"] = "purple"', "column 'color': categories not in the profile's vocabulary: ['purple']"),
}


def _data() -> Any:
    """The notebook's data: numbers, a category, a city to redact, a column named like a secret, notes with a token in one row."""
    import numpy as np

    rng = np.random.default_rng(0)
    rows = 160
    age = rng.integers(18, 90, rows)
    return pd.DataFrame(
        {
            "age": age,
            "income": np.round(rng.lognormal(10, 0.5, rows), 2),
            "color": rng.choice(["red", "green", "blue"], rows),
            "city": [f"Zanzibar{index % 7}" for index in range(rows)],
            "api_key": [f"k-{index:04d}-secretvalue" for index in range(rows)],
            "notes": ["fine"] * (rows - 1) + [f"token {TOKEN}"],
            "label": (age > 50).astype(int),
        }
    )


def _notebook(path: Path, code: str, main: str) -> None:
    cells = [("seed = 3\n", ["parameters"]), (code.strip() + "\n", ["export"]), (main, ["main"])]
    notebook = {
        "cells": [
            {"cell_type": "code", "id": f"c{index}", "metadata": {"tags": tags}, "source": source, "execution_count": None, "outputs": []}
            for index, (source, tags) in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook), encoding="utf-8")


def _run_pytest(root: Path, packages: list[Path]) -> dict[str, dict[str, tuple[str, str]]]:
    sources = [os.fspath(package / "src") for package in packages]
    return pytest_outcomes(
        root, sources, sorted(os.fspath(path) for package in packages for path in (package / "tests").glob("test_ml_*.py"))
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, tuple[str, str]]]]:
    """The working folder, and variant -> generated test -> (outcome, message) from one pytest run over all the packages."""
    root = tmp_path_factory.mktemp("mldata")
    (root / ".git").mkdir()
    data = _data()
    data.to_csv(root / "data.csv", index=False)
    profile = nb2prod.profile(data, name="train", target="label")
    variants: dict[str, tuple[str, str, dict[str, Any]]] = {
        "profile_ok": (NO_LOADER, NO_LOADER_MAIN, {}),
        "contract_ok": (MODEL, MAIN, {}),
        "sample_ok": (MODEL, MAIN, {"capture_sample": 40, "redact": ["city"]}),
        "sample_tampered": (MODEL, MAIN, {"capture_sample": 40, "redact": ["city"]}),
    }
    for name, (line, _) in T16_DEFECTS.items():
        variants[f"t16_{name}"] = (MODEL.replace("#DEFECT", line), MAIN, {})
    namespace: dict[str, Any] = {}
    exec(ARRAY_MODEL, namespace)
    array = namespace["load_data"]()[0]
    array_profiles = {
        "array_ordered": nb2prod.profile(array, columns=["z_big", "a_small"], name="x"),  # not sorted: the data's order
        "array_sorted": nb2prod.profile(array, columns=["a_big", "b_small"], name="x"),  # sorted: maybe not the data's order
    }
    packages = []
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # the loader reads data.csv from the working folder, as the capture subprocess does
        for name, (code, main, options) in variants.items():
            notebook = root / "notebooks" / f"{name}.ipynb"
            notebook.parent.mkdir(exist_ok=True)
            _notebook(notebook, code, main)
            out = root / "build" / name
            export([notebook], out=out, data_profile=profile, profile_origin="profile-train.json", **options)
            packages.append(out)
        for name, array_profile in array_profiles.items():
            notebook = root / "notebooks" / f"{name}.ipynb"
            _notebook(notebook, ARRAY_MODEL, ARRAY_MAIN)
            export([notebook], out=root / "build" / name, data_profile=array_profile, profile_origin="x.json")
            packages.append(root / "build" / name)
    sample = root / "build" / "sample_tampered" / "tests" / "fixtures" / "sample.csv"
    lines = sample.read_text(encoding="utf-8").split("\n")
    lines[3] = lines[3].replace(lines[3].split(",")[0], "999", 1)  # one value of the first row changed
    sample.write_text("\n".join(lines), encoding="utf-8")
    return root, _run_pytest(root, packages)


def _failed(results: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {name: message[:400] for name, (outcome, message) in results.items() if outcome in ("failure", "error")}


def test_tests_on_data_synthesized_from_the_profile_all_run_and_pass(exported: Any) -> None:
    results = exported[1]["profile_ok"]
    assert not _failed(results)
    assert {name for name, (outcome, _) in results.items() if outcome == "skipped"} == set()
    assert "test_t1_determinism" in results and "test_t16_input_data_contract" not in results  # no loader: nothing to check


def test_the_profile_fixture_holds_the_notebooks_columns_and_no_real_row(exported: Any) -> None:
    root = exported[0]
    text = (root / "build" / "profile_ok" / "tests" / "fixtures" / "profile.txt").read_text(encoding="utf-8")
    assert text.startswith("# Generated by nb2prod ")
    spec = json.loads(text.split("\n", 2)[2])
    assert [column["name"] for column in spec["columns"]] == ["age", "income", "color", "city", "api_key", "notes", "label"]
    assert spec["target"] == "label" and spec["x"] == "frame"
    kinds = {column["name"]: column["kind"] for column in spec["columns"]}
    assert kinds["age"] == "numeric" and kinds["color"] == "categorical"
    api_key = next(column for column in spec["columns"] if column["name"] == "api_key")
    assert api_key["redacted"] and "top" not in api_key  # named like a secret: its values stay out
    test_file = (root / "build" / "profile_ok" / "tests" / "test_ml_profile_ok.py").read_text(encoding="utf-8")
    assert 'DATA = "profile"' in test_file and "load_data" not in test_file.split("def _load", 1)[1].split("def ", 2)[1]


def test_the_correct_loader_passes_the_input_data_contract(exported: Any) -> None:
    results = exported[1]["contract_ok"]
    assert results["test_t16_input_data_contract"] == ("passed", "")
    assert not _failed(results)


@pytest.mark.parametrize("defect", sorted(T16_DEFECTS))
def test_a_planted_data_defect_fails_t16_naming_the_column_and_property(exported: Any, defect: str) -> None:
    outcome, message = exported[1][f"t16_{defect}"]["test_t16_input_data_contract"]
    assert outcome == "failure"
    assert "T16 input data contract: " in message and T16_DEFECTS[defect][1] in message
    if defect == "range":
        assert "values outside the profile's range [18, 89]" in message


def test_an_arrays_columns_are_checked_by_position_only_when_the_profile_keeps_the_datas_order(exported: Any) -> None:
    assert exported[1]["array_ordered"]["test_t16_input_data_contract"] == ("passed", "")
    outcome, message = exported[1]["array_sorted"]["test_t16_input_data_contract"]
    assert outcome == "skipped" and "the profile's columns are sorted by name" in message


def test_tests_on_a_captured_sample_pass_with_the_redacted_column_synthesized(exported: Any) -> None:
    results = exported[1]["sample_ok"]
    assert not _failed(results)
    assert {name for name, (outcome, _) in results.items() if outcome == "skipped"} == set()
    assert results["test_t14_beats_trivial_baseline"][0] == "passed"  # real rows: T14 applies
    sample = (exported[0] / "build" / "sample_ok" / "tests" / "fixtures" / "sample.csv").read_text(encoding="utf-8")
    header = sample.split("\n")[2].split(",")
    assert header == ["age", "income", "color", "notes", "label"]  # city redacted; api_key redacted by its name
    assert len(sample.strip().split("\n")) == 2 + 1 + 40


def test_redacted_values_and_secrets_are_in_no_file_of_the_package(exported: Any) -> None:
    data = _data()
    forbidden = {*data["city"], *data["api_key"], TOKEN}
    package = exported[0] / "build" / "sample_ok"
    files = [path for path in package.rglob("*") if path.is_file()]
    assert any(path.name == "sample.csv" for path in files) and any(path.name == "profile.txt" for path in files)
    leaks = {(path.name, value) for path in files for value in forbidden if value in path.read_text(encoding="utf-8", errors="replace")}
    assert not leaks
    sample = (package / "tests" / "fixtures" / "sample.csv").read_text(encoding="utf-8")
    assert "fine" in sample  # the notes column is kept; only its token is masked


def test_a_sample_changed_after_the_export_fails_on_its_sha256(exported: Any) -> None:
    results = exported[1]["sample_tampered"]
    failed = _failed(results)
    assert failed and all("fixture sample.csv: its sha256 is" in message for message in failed.values())
    assert all("the file changed since the export" in message for message in failed.values())


# --- the spec and the sample, without a subprocess -------------------------------------------------------


def test_a_redacted_column_keeps_only_its_kind_and_credentials_in_a_vocabulary_are_masked() -> None:
    frame = pd.DataFrame({"color": ["red", "blue", TOKEN] * 5, "city": ["Oslo", "Rome", "Lima"] * 5, "x": range(15)})
    spec = fixture_spec(nb2prod.profile(frame, name="t"), frame=False, redact=["city"])
    columns = {column["name"]: column for column in spec["columns"]}
    assert set(columns["color"]["top"]) == {"red", "blue", "***"}
    assert columns["city"] == {
        "name": "city",
        "kind": "categorical",
        "dtype": "object",
        "missing": 0.0,
        "redacted": True,
        "numbers": False,
        "integral": False,
    }
    assert spec["x"] == "frame"  # a text column: the tests build a DataFrame


def test_a_sample_drops_redacted_columns_and_masks_credentials() -> None:
    captured = {
        "x": "array",
        "columns": ["a", "b"],
        "dtypes": ["O", "O"],
        "target": "target",
        "y_dtype": "i",
        "rows": [["x", f"see {TOKEN}", 1], [None, "y\r\x00", 0]],
    }
    text, meta = sample_csv(captured, ["a"])
    assert text == "b,target\n***,1\ny  ,0\n"
    assert meta["columns"][0] == {"name": "a", "dtype": "O", "redacted": True} and meta["rows"] == 2


# --- nb2prod export's options and --explain-tests -------------------------------------------------------


@pytest.fixture
def profiled(workdir: Path, make_notebook: Any) -> Path:
    """data.csv, its profile profile-train.json, and two notebooks: with.ipynb (a loader) and without.ipynb (none)."""
    data = _data()
    data.to_csv(workdir / "data.csv", index=False)
    (workdir / "profile-train.json").write_bytes(nb2prod.profile_bytes(nb2prod.profile(data, name="train", target="label")))
    make_notebook("with.ipynb", [("code", "seed = 3\n", ["parameters"]), ("code", MODEL, ["export"]), ("code", MAIN, ["main"])])
    make_notebook(
        "without.ipynb", [("code", "seed = 3\n", ["parameters"]), ("code", NO_LOADER, ["export"]), ("code", NO_LOADER_MAIN, ["main"])]
    )
    return workdir


def test_explain_tests_says_the_data_is_synthesized_from_the_profile_and_why_t14_and_t16_are_not_generated(
    profiled: Path, run_export: Any
) -> None:
    code, out, _ = run_export("without.ipynb", "--profile", "profile-train.json", "--explain-tests")
    assert code == 0
    assert (
        "test data: synthesized from the profile profile-train.json (6 feature columns as in the notebook, a DataFrame; "
        "the target 'label' from its marginal; no real row); redacted (synthesized in the tests): api_key"
    ) in out
    assert (
        "T14  beats a trivial baseline: every metric 10% better than most-frequent/mean  [the data is synthesized from the profile" in out
    )
    assert "its target is independent of the features]" in out
    assert "  T16  input data contract" in out.split("not generated:")[1]
    assert "no loader (load_data()) or captured sample to check" in out
    assert not (profiled / "build").exists()


def test_explain_tests_names_t16_with_a_loader_and_a_profile_and_says_how_to_get_one_without(profiled: Path, run_export: Any) -> None:
    _, out, _ = run_export("with.ipynb", "--profile", "profile-train.json", "--explain-tests")
    generated = out.split("not generated:")[0]
    assert (
        "  T16  input data contract: the loader's columns, kinds, ranges and categories match the data profile  [load_data() against"
        in generated
    )
    assert "test data: load_data() of the module" in out
    _, out, _ = run_export("with.ipynb", "--explain-tests")
    assert "T16" in out.split("not generated:")[1] and "no data profile: pass --profile FILE" in out


def test_capture_sample_explained_and_switched_off_by_config(profiled: Path, run_export: Any) -> None:
    _, out, _ = run_export("with.ipynb", "--capture-sample", "30", "--redact-column", "city", "--explain-tests")
    assert "test data: 30 real rows of load_data() in tests/fixtures/sample.csv (sha256 checked); redacted" in out
    assert "redacted (synthesized in the tests): city, api_key" in out
    (profiled / "pyproject.toml").write_text('[tool.nb2prod.ml-tests]\nskip = ["T16"]\nredact = ["color"]\n', encoding="utf-8")
    _, out, _ = run_export("with.ipynb", "--profile", "profile-train.json", "--explain-tests")
    assert "T16  input data contract: the loader's columns, kinds, ranges and categories match the data profile  [switched off" in out
    _, out, _ = run_export("with.ipynb", "--capture-sample", "20", "--explain-tests")
    assert "redacted (synthesized in the tests): color, api_key" in out  # from [tool.nb2prod.ml-tests] redact


def _run_with_profile(runs: Path, run_id: str, profile: dict[str, Any] | None) -> None:
    """A recorded run of without.ipynb (as `nb2prod run` writes it), with the profile its notebook stored, if any."""
    from nb2prod.drift.profile import write_profile
    from nb2prod.records import RunRecord, write_record

    directory = runs / "without" / run_id
    directory.mkdir(parents=True)
    profiles = {}
    if profile is not None:
        digest = write_profile(profile, directory / "profile-train.json")
        profiles = {"train": {"path": "profile-train.json", "sha256": digest, "rows": profile["rows"], "columns": 7}}
    record = RunRecord(
        id=run_id,
        notebook="without.ipynb",
        notebook_sha256="ab" * 32,
        parameters={"seed": 3},
        status="ok",
        started="2026-12-06T10:00:00.000Z",
        finished="2026-12-06T10:01:00.000Z",
        duration_s=60.0,
        metrics={"accuracy": 0.9},
        directory=directory,
        profiles=profiles,
    )
    write_record(record)


def test_the_reference_runs_profile_is_used_and_a_run_without_one_leaves_the_tests_as_they_were(profiled: Path, run_export: Any) -> None:
    profile = json.loads((profiled / "profile-train.json").read_text(encoding="utf-8"))
    _run_with_profile(profiled / "runs", "20261206T100000Z-aaaaaa", profile)
    _run_with_profile(profiled / "runs", "20261206T110000Z-bbbbbb", None)
    code, out, _ = run_export("without.ipynb", "--reference-run", "20261206T100000Z-aaaaaa", "--explain-tests")
    assert code == 0 and "test data: synthesized from the profile of run 20261206T100000Z-aaaaaa (6 feature columns" in out
    code, out, _ = run_export("without.ipynb", "--reference-run", "20261206T110000Z-bbbbbb", "--explain-tests")
    assert code == 0 and "test data: synthesized: 4 numeric columns (no loader, no profile)" in out
    code, _, err = run_export("without.ipynb", "--profile", "20261206T110000Z-bbbbbb", "--explain-tests")
    assert code == 2 and "error: run 20261206T110000Z-bbbbbb stored no data profile" in err


def test_an_export_with_a_captured_sample_is_up_to_date_when_checked_again(profiled: Path, run_export: Any) -> None:
    args = ["with.ipynb", "--profile", "profile-train.json", "--capture-sample", "20", "-o", "build/with"]
    assert run_export(*args)[0] == 0
    code, _, err = run_export(*args, "--check")
    assert code == 0 and "up to date" in err  # the same rows at every export


@pytest.mark.parametrize(
    ("notebook", "args", "message"),
    [
        ("without.ipynb", ["--capture-sample", "10"], "error: --capture-sample needs a loader in module without"),
        ("with.ipynb", ["--capture-sample", "0"], "error: --capture-sample takes a number of rows, not 0"),
        ("with.ipynb", ["--profile", "profile-train.json", "--redact-column", "nmae"], "error: cannot redact 'nmae': not a column"),
        ("with.ipynb", ["--profile", "missing.json"], "missing.json: error: no such profile file or run"),
    ],
)
def test_bad_data_options_are_one_line_errors_and_write_nothing(
    profiled: Path, run_export: Any, notebook: str, args: list[str], message: str
) -> None:
    code, _, err = run_export(notebook, *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (profiled / "build").exists()


def test_a_loader_that_fails_during_capture_is_an_export_error_naming_it(profiled: Path, run_export: Any) -> None:
    (profiled / "data.csv").unlink()
    code, _, err = run_export("with.ipynb", "--capture-sample", "10")
    assert code == 2 and "error: --capture-sample: with_.load_data() failed: FileNotFoundError" in err
    assert not (profiled / "build").exists()


# --- end to end: pip install, then pytest in that environment ------------------------------------------


@pytest.mark.slow
def test_a_pip_installed_package_runs_its_ml_tests_on_data_synthesized_from_the_profile(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    profile = nb2prod.profile(_data(), name="train", target="label")
    notebook = tmp_path / "churn.ipynb"
    _notebook(notebook, NO_LOADER, NO_LOADER_MAIN)
    project = tmp_path / "churn"
    export([notebook], out=project, data_profile=profile, profile_origin="profile-train.json")
    assert (project / "tests" / "fixtures" / "profile.txt").is_file()

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True)
    Path(site.stdout.strip(), "host.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "--no-build-isolation", os.fspath(project)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:randomly", "tests"],
        cwd=project,
        # no plugin entry points: the host environment's would load nb2prod's own pytest plugin, which the tests never need
        env={**{key: value for key, value in os.environ.items() if key != "PYTHONPATH"}, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "skipped" not in tests.stdout and " passed" in tests.stdout
    shown = subprocess.run([python, "-c", "import churn, sys; print(churn.__file__)"], capture_output=True, text=True, cwd=tmp_path)
    assert os.fspath(env_dir) in shown.stdout  # the installed package, not the source folder
    assert sys.prefix not in shown.stdout


def test_a_fixture_an_earlier_export_wrote_is_reported_when_no_longer_produced(profiled: Path, run_export: Any) -> None:
    assert run_export("with.ipynb", "--profile", "profile-train.json", "--capture-sample", "20", "-o", "build/with")[0] == 0
    code, _, err = run_export("with.ipynb", "-o", "build/with")
    assert code == 0
    sample = os.path.join("build", "with", "tests", "fixtures", "sample.csv")
    assert f"{sample}: warning: generated by an earlier export but no longer produced" in err
    assert "profile.txt: warning: generated by an earlier export" in err
    assert "sample.csv" not in (profiled / "build" / "with" / "tests" / "test_ml_with_.py").read_text(encoding="utf-8")


def test_a_profile_whose_columns_are_sorted_by_name_does_not_claim_to_be_in_the_datas_order() -> None:
    from nb2prod.export.mltests.data import column_order

    assert column_order({"columns": {"b": {}, "a": {}}}) == (["b", "a"], True)
    assert column_order({"columns": {"a": {}, "b": {}}}) == (["a", "b"], False)  # the notebook's JSON sorts keys
    assert column_order({"columns": {"a": {}, "b": {}}, "order": ["b", "a"]}) == (["b", "a"], True)
