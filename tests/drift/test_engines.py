"""``--engine evidently`` without evidently: the mapping of evidently 0.7's result dict, the reference decision, the refusals.

The fixtures ``tests/data/drift/evidently-0.7-snapshot-{small,large}.json`` are ``snapshot.dict()``
of a real evidently 0.7.23 run (``tests/drift/evidently_capture.py 7 500 5000``, one list element each): at 500
rows Evidently picks p-value tests (K-S, chi-square, Z-test), at 5,000 distances (Wasserstein,
Jensen-Shannon). The slow test in test_engines_evidently.py checks that the installed evidently
still returns that shape. Here a stand-in ``evidently`` package returns a fixture, so that the
whole command (table, JSON, GitHub, gate, exit code, audit line) runs in the fast suite.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2prod.cli import main
from nb2prod.drift.engines import evidently_reference, map_snapshot
from nb2prod.drift.profile import file_sha256
from nb2prod.errors import DataError, UsageError

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "drift"


def snapshot(size: str) -> dict:
    return json.loads((FIXTURES / f"evidently-0.7-snapshot-{size}.json").read_text())


def test_p_value_methods_drift_below_their_threshold() -> None:
    mapped = map_snapshot(snapshot("small"))
    assert {name: metric.status for name, metric in mapped.items()} == {"shifted": "fail", "steady": "ok", "mix": "fail", "flag": "ok"}
    shifted = mapped["shifted"]
    assert shifted.name == "evidently" and shifted.method == "K-S p_value" and shifted.direction == "lower_is_drift"
    assert shifted.p_value == shifted.value < 1e-20 and shifted.alpha == 0.05 and shifted.warn is None
    assert mapped["mix"].method == "chi-square p_value" and mapped["flag"].method == "Z-test p_value"
    assert mapped["steady"].detail == f"evidently K-S p_value {mapped['steady'].value:.3g} >= 0.05"
    stored = shifted.to_json()
    assert stored["direction"] == "lower_is_drift" and stored["method"] == "K-S p_value" and stored["significant"] is True


def test_distance_methods_drift_at_or_above_their_threshold() -> None:
    mapped = map_snapshot(snapshot("large"))
    assert {name: metric.status for name, metric in mapped.items()} == {"shifted": "fail", "steady": "ok", "mix": "fail", "flag": "ok"}
    shifted = mapped["shifted"]
    assert shifted.method == "Wasserstein distance (normed)" and shifted.direction == "higher_is_drift"
    assert shifted.warn == shifted.fail == 0.1 and shifted.p_value is None and shifted.value == pytest.approx(0.8185907470345698)
    assert mapped["mix"].method == "Jensen-Shannon distance" and mapped["mix"].detail.endswith(">= 0.1")


@pytest.mark.parametrize("size", ["small", "large"])
def test_without_tests_the_verdict_follows_the_method_kind(size: str) -> None:
    document = snapshot(size)
    with_tests = {name: metric.status for name, metric in map_snapshot(document).items()}
    document["tests"] = []
    assert {name: metric.status for name, metric in map_snapshot(document).items()} == with_tests


def test_the_bound_test_decides_over_the_score() -> None:
    document = snapshot("large")
    steady = next(m for m in document["metrics"] if m["config"].get("column") == "steady")
    for test in document["tests"]:
        if test["metric_config"]["metric_id"] == steady["id"]:
            test["status"] = "FAIL"
    assert map_snapshot(document)["steady"].status == "fail"


# --- the reference data ----------------------------------------------------------------------------


def write(path: Path, rows: int = 300, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pd.DataFrame({"x": rng.normal(size=rows).round(4), "k": rng.choice(["a", "b"], rows)}).to_csv(path, index=False)
    return path


def test_reference_given_must_be_one_of_the_profile_inputs(tmp_path: Path) -> None:
    train, other = write(tmp_path / "train.csv"), write(tmp_path / "other.csv", seed=1)
    profile = {"inputs": {str(train): file_sha256(train)}}
    assert evidently_reference(profile, tmp_path / "p.json", [str(train)]) == [str(train)]
    with pytest.raises(DataError, match="not the data the profile was made from"):
        evidently_reference(profile, tmp_path / "p.json", [str(other)])
    assert evidently_reference({"inputs": {}}, tmp_path / "p.json", [str(other)]) == [str(other)]  # a notebook profile: on the user's word


def test_without_reference_the_profile_inputs_are_used_while_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    train = write(tmp_path / "train.csv")
    profile = {"inputs": {"train.csv": file_sha256(train)}}
    assert evidently_reference(profile, tmp_path / "p.json", []) == ["train.csv"]
    monkeypatch.chdir(tmp_path.parent)  # a relative input is also found next to the profile
    assert evidently_reference(profile, tmp_path / "p.json", []) == [str(tmp_path / "train.csv")]
    write(train, seed=5)
    with pytest.raises(DataError, match="changed since the profile was made"):
        evidently_reference(profile, tmp_path / "p.json", [])
    train.unlink()
    with pytest.raises(DataError, match="input file is gone"):
        evidently_reference(profile, tmp_path / "p.json", [])
    with pytest.raises(UsageError, match="records no input file"):
        evidently_reference({"inputs": {}}, tmp_path / "p.json", [])


# --- the command -----------------------------------------------------------------------------------

FAKE_EVIDENTLY = '''
"""A stand-in for evidently 0.7: Report(...).run(current, reference).dict() is the fixture in $FAKE_SNAPSHOT."""
import json, os
__version__ = "0.7.23-fake"
CALLS = []
class DataDefinition:
    def __init__(self, numerical_columns=(), categorical_columns=()):
        self.numerical_columns, self.categorical_columns = list(numerical_columns), list(categorical_columns)
class Dataset:
    @staticmethod
    def from_pandas(frame, data_definition):
        return (frame, data_definition)
class _Snapshot:
    def dict(self):
        return json.loads(open(os.environ["FAKE_SNAPSHOT"]).read())
class Report:
    def __init__(self, metrics, include_tests=False):
        self.metrics, self.include_tests = metrics, include_tests
    def run(self, current, reference):
        CALLS.append({"current": list(current[0].columns), "reference": len(reference[0]), "rows": len(current[0]),
                      "numerical": current[1].numerical_columns, "categorical": current[1].categorical_columns,
                      "include_tests": self.include_tests, "columns": self.metrics[0].columns})
        return _Snapshot()
'''
FAKE_PRESETS = "class DataDriftPreset:\n    def __init__(self, columns=None):\n        self.columns = columns\n"


def fake_frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "shifted": rng.normal(shift, 1, rows).round(4),
            "steady": rng.normal(0, 1, rows).round(4),
            "mix": rng.choice(["a", "b", "c"], rows),
            "flag": rng.choice(["yes", "no"], rows),
        }
    )


@pytest.fixture
def fake_evidently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "site" / "evidently"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_EVIDENTLY)
    (package / "presets.py").write_text(FAKE_PRESETS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("FAKE_SNAPSHOT", str(FIXTURES / "evidently-0.7-snapshot-large.json"))
    for name in ("evidently", "evidently.presets"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.chdir(tmp_path)
    fake_frame(5000, 0).to_csv("train.csv", index=False)
    fake_frame(5000, 1, shift=0.8).assign(extra=1).to_csv("new.csv", index=False)
    assert main(["profile", "train.csv", "-o", "profile.json"]) == 0
    return tmp_path


def test_the_command_maps_the_engine_result_into_the_table_gate_and_audit_line(
    fake_evidently: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["drift", "profile.json", "new.csv", "--engine", "evidently"]) == 1
    out = capsys.readouterr().out
    assert "engine evidently 0.7.23-fake (DataDriftPreset)" in out and "reference data train.csv" in out
    assert "Wasserstein distance (normed)" in out and "drift gate FAILED (fail): mix: fail; shifted: fail" in out
    import evidently

    (call,) = evidently.CALLS
    assert call["numerical"] == ["shifted", "steady"] and call["categorical"] == ["mix", "flag"]
    assert call["include_tests"] and call["current"] == call["columns"] == ["shifted", "steady", "mix", "flag"]
    assert call["reference"] == call["rows"] == 5000
    line = json.loads((fake_evidently / "runs" / "audit.jsonl").read_text().splitlines()[-1])
    assert line["reference"]["engine"] == "evidently" and line["reference"]["engine_version"] == "0.7.23-fake"
    assert line["reference"]["data"] == [{"path": "train.csv", "sha256": file_sha256("train.csv").removeprefix("sha256:")}]
    assert line["decision"] == "fail" and line["exit_code"] == 1 and line["failed"] == ["mix", "shifted"]
    stored = json.loads((fake_evidently / "runs" / line["report"]).read_text())
    assert stored["engine"] == "evidently" and stored["config"]["engine"]["version"] == "0.7.23-fake"
    extra = next(c for c in stored["columns"] if c["column"] == "extra")
    assert extra["status"] == "new" and extra["schema"] == "new"


def test_json_and_github_formats_name_the_method(fake_evidently: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["drift", "profile.json", "new.csv", "--engine", "evidently", "--format", "json", "--no-audit"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["engine"] == "evidently" and document["summary"]["fail"] == 2 and document["summary"]["checked"] == 4
    shifted = next(c for c in document["columns"] if c["column"] == "shifted")
    (metric,) = shifted["metrics"]
    assert metric["metric"] == "evidently" and metric["method"] == "Wasserstein distance (normed)" and metric["fail"] == 0.1
    assert main(["drift", "profile.json", "new.csv", "--engine", "evidently", "--format", "github", "--no-audit"]) == 1
    out = capsys.readouterr().out
    assert "::error title=drift%3A shifted::evidently Wasserstein distance (normed) 0.819 >= 0.1" in out
    assert main(["drift", "profile.json", "new.csv", "--engine", "evidently", "--no-audit", "--fail-on", "share>0.9"]) == 0


def test_schema_and_min_rows_stay_nb2prods(fake_evidently: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = fake_frame(50, 2).drop(columns=["flag"]).assign(shifted="oops")
    data.to_csv("broken.csv", index=False)
    capsys.readouterr()
    assert main(["drift", "profile.json", "broken.csv", "--engine", "evidently", "--format", "json", "--no-audit"]) == 1
    columns = {c["column"]: c for c in json.loads(capsys.readouterr().out)["columns"]}
    assert columns["flag"]["schema"] == "missing" and columns["flag"]["status"] == "fail"
    assert columns["shifted"]["schema"] == "kind" and columns["shifted"]["status"] == "fail"
    assert columns["steady"]["status"] == "insufficient" and columns["mix"]["status"] == "insufficient"
    import evidently

    assert evidently.CALLS == []  # nothing left for Evidently to test


def test_without_evidently_one_line_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "evidently", None)  # import evidently -> ImportError, as when it is not installed
    fake_frame(300, 0).to_csv("train.csv", index=False)
    assert main(["profile", "train.csv", "-o", "profile.json"]) == 0
    capsys.readouterr()
    assert main(["drift", "profile.json", "train.csv", "--engine", "evidently"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: --engine evidently: evidently is not installed (pip install 'nb2prod[evidently]': evidently 0.7 with pandas < 3)"
    ]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("raised", "shown"),
    [  # the first is what evidently 0.7.23 raises under pandas 3.1.1 (seen in a venv with both)
        ("ImportError(\"cannot import name 'infer_dtype_from_object' from 'pandas.core.dtypes.common'\")", "cannot be imported (cannot"),
        ("AttributeError(\"module 'pandas' has no attribute 'gone'\")", "cannot be imported (AttributeError"),
    ],
)
def test_an_evidently_that_cannot_import_says_pandas_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], raised: str, shown: str
) -> None:
    package = tmp_path / "site" / "evidently"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"raise {raised}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "evidently", raising=False)
    monkeypatch.chdir(tmp_path)
    fake_frame(300, 0).to_csv("train.csv", index=False)
    assert main(["profile", "train.csv", "-o", "profile.json"]) == 0
    capsys.readouterr()
    assert main(["drift", "profile.json", "train.csv", "--engine", "evidently", "--no-audit"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"evidently {shown}" in line and "pandas < 3" in line


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--reference", "train.csv"], "--reference is for --engine evidently"),
        (["--engine", "evidently", "--threshold", "psi=0.2,0.3"], "--threshold: not used by --engine evidently"),
        (["--engine", "evidently", "--alpha", "0.01", "--report", "r.html"], "--alpha, --report: not used by --engine evidently"),
        (["--engine", "evidently", "--fail-on", "psi[shifted]>0.3"], "the evidently engine does not compute psi"),
    ],
)
def test_flags_of_the_other_engine_are_refused(
    fake_evidently: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    capsys.readouterr()
    assert main(["drift", "profile.json", "new.csv", *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (fake_evidently / "runs").exists() and not (fake_evidently / "r.html").exists()


def test_the_default_engine_is_named_in_its_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    fake_frame(300, 0).to_csv("train.csv", index=False)
    assert main(["profile", "train.csv", "-o", "profile.json"]) == 0
    capsys.readouterr()
    assert main(["drift", "profile.json", "train.csv", "--format", "json", "--no-audit"]) == 0
    assert json.loads(capsys.readouterr().out)["engine"] == "nb2prod"
