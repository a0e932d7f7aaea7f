"""``nb2prod profile`` and ``nb2prod drift`` through ``main(argv)``: exit codes, formats, gates, config, edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2prod.cli import main

CaptureFixture = pytest.CaptureFixture[str]

RNG = np.random.default_rng(2026)


def frame(rows: int, *, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift * 10, 10, rows).round(2),
            "plan": rng.choice(["basic", "pro", "team"], rows, p=[0.5, 0.3, 0.2]),
            "score": rng.random(rows),
        }
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    frame(5000).to_csv("train.csv", index=False)
    assert main(["profile", "train.csv", "-o", "profile.json"]) == 0
    frame(2000, seed=1).to_csv("same.csv", index=False)
    frame(2000, shift=0.75, seed=2).to_csv("shifted.csv", index=False)
    return tmp_path


def drift_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["drift", "profile.json", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def column(document: dict, name: str) -> dict:
    return next(c for c in document["columns"] if c["column"] == name)


def test_exit_0_without_drift_and_1_with_it(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", "profile.json", "same.csv"]) == 0
    out = capsys.readouterr().out
    assert "drift gate passed" in out and "higher is drift" in out and "psi > 0.1 warn, > 0.25 fail" in out
    assert main(["drift", "profile.json", "shifted.csv"]) == 1
    out = capsys.readouterr().out
    assert out.index("age") < out.index("plan")  # worst first
    assert "drift gate FAILED (fail): age: fail" in out


def test_json_gives_every_metric_with_its_direction_and_thresholds(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = drift_json(capsys, "shifted.csv")
    assert code == 1 and document["schema"] == "nb2prod.drift/1" and document["gate"]["failed"]
    age = column(document, "age")
    assert age["status"] == "fail" and age["columns" if False else "kind"] == "numeric"
    metrics = {m["metric"]: m for m in age["metrics"]}
    assert set(metrics) == {"missing", "psi", "out_of_range", "js", "ks", "w1"}
    assert all(m["direction"] == "higher_is_drift" and m["description"] for m in metrics.values())
    assert metrics["psi"]["warn"] == 0.1 and metrics["psi"]["fail"] == 0.25 and metrics["psi"]["significant"]
    assert metrics["psi"]["value"] > 0.4 and metrics["ks"]["value"] > 0.2 and metrics["w1"]["value"] > 0.6
    assert {m["metric"] for m in column(document, "plan")["metrics"]} == {"missing", "psi", "unseen", "js", "linf"}


def test_fail_on_expressions_in_the_runs_check_grammar(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", "profile.json", "shifted.csv", "--fail-on", "psi[age]>5"]) == 0
    assert main(["drift", "profile.json", "shifted.csv", "--fail-on", "psi[age]>0.3"]) == 1
    assert main(["drift", "profile.json", "shifted.csv", "--fail-on", "share>=0.5"]) == 0  # 1 of 3 columns
    assert main(["drift", "profile.json", "shifted.csv", "--fail-on", "share>=0.3"]) == 1
    assert main(["drift", "profile.json", "same.csv", "--fail-on", "ks>0.001"]) == 1
    capsys.readouterr()
    assert main(["drift", "profile.json", "same.csv", "--fail-on", "psi[age]=0.4"]) == 2
    assert "use == to test equality" in capsys.readouterr().err
    assert main(["drift", "profile.json", "same.csv", "--fail-on", "pis>0.4"]) == 2
    assert "unknown metric 'pis'" in capsys.readouterr().err
    assert main(["drift", "profile.json", "same.csv", "--fail-on", "psi[nope]>0.4"]) == 2


def test_thresholds_and_ignores_from_the_config_and_the_command_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", "profile.json", "shifted.csv", "--threshold", "psi=2,3"]) == 0
    (project / "pyproject.toml").write_text("[tool.nb2prod.drift.columns.age]\npsi = [1.0, 2.0]\n")
    assert main(["drift", "profile.json", "shifted.csv"]) == 0
    (project / "pyproject.toml").write_text("[tool.nb2prod.drift]\nignore = ['age']\n")
    assert main(["drift", "profile.json", "shifted.csv"]) == 0
    (project / "pyproject.toml").write_text("[tool.nb2prod.drift.thresholds]\npis = [1.0, 2.0]\n")
    capsys.readouterr()
    assert main(["drift", "profile.json", "shifted.csv"]) == 2
    assert "did you mean 'tool.nb2prod.drift.thresholds.psi'?" in capsys.readouterr().err
    (project / "pyproject.toml").write_text("[tool.nb2prod.drift.thresholds]\npsi = [0.3, 0.2]\n")
    assert main(["drift", "profile.json", "shifted.csv"]) == 2


def test_schema_changes_missing_new_and_kind(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = frame(1000, seed=3)
    data.drop(columns=["score"]).assign(extra=1).to_csv("schema.csv", index=False)
    code, document = drift_json(capsys, "schema.csv")
    assert code == 1 and column(document, "score")["schema"] == "missing" and column(document, "extra")["status"] == "new"
    data.assign(extra=1).to_csv("new_only.csv", index=False)
    assert main(["drift", "profile.json", "new_only.csv"]) == 0
    assert main(["drift", "profile.json", "new_only.csv", "--fail-on", "schema"]) == 1
    data.assign(age=["unknown"] * 1000).to_csv("kind.csv", index=False)
    code, document = drift_json(capsys, "kind.csv")
    assert code == 1 and column(document, "age")["schema"] == "kind"


def test_all_missing_infinities_and_a_changed_constant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    train = frame(3000).assign(const=7)
    train.to_csv("train.csv", index=False)
    assert main(["profile", "train.csv", "-o", "profile.json"]) == 0
    new = frame(1000, seed=4).assign(const=7)
    new["score"] = np.nan
    new.loc[:99, "age"] = np.inf
    new.to_csv("new.csv", index=False)
    code, document = drift_json(capsys, "new.csv")
    assert code == 1
    score, age = column(document, "score"), column(document, "age")
    assert score["status"] == "fail" and any("fewer than --min-rows" in note for note in score["notes"])
    assert {m["metric"]: m["status"] for m in score["metrics"]}["missing"] == "fail"
    assert {m["metric"]: m["status"] for m in age["metrics"]}["out_of_range"] == "fail"
    assert column(document, "const")["status"] == "ok"
    new.assign(const=8, score=0.5, age=40.0).to_csv("const.csv", index=False)
    code, document = drift_json(capsys, "const.csv", "--columns", "const")
    assert code == 1 and {m["metric"]: m["status"] for m in column(document, "const")["metrics"]}["unseen"] == "fail"


def test_many_categories_and_hashed_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(5)
    pd.DataFrame({"city": [f"c{i}" for i in rng.zipf(1.3, 20_000) % 5000], "email": rng.choice(["a@x.org", "b@x.org"], 20_000)}).to_csv(
        "train.csv", index=False
    )
    assert main(["profile", "train.csv", "-o", "profile.json", "--hash-categories"]) == 0
    assert "x.org" not in Path("profile.json").read_text()
    pd.DataFrame({"city": [f"c{i}" for i in rng.zipf(1.3, 3000) % 5000], "email": rng.choice(["a@x.org", "b@x.org"], 3000)}).to_csv(
        "same.csv", index=False
    )
    assert main(["drift", "profile.json", "same.csv"]) == 0
    pd.DataFrame({"city": ["c1"] * 3000, "email": ["new@y.org"] * 3000}).to_csv("changed.csv", index=False)
    code, document = drift_json(capsys, "changed.csv")
    assert code == 1 and column(document, "email")["status"] == "fail" and column(document, "city")["status"] == "fail"


def test_bad_input_exits_2_with_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("empty.csv").write_bytes(b"")
    capsys.readouterr()
    assert main(["drift", "profile.json", "empty.csv"]) == 2
    assert capsys.readouterr().err == "empty.csv: error: empty file (no header, no rows) (check the export that wrote it)\n"
    assert main(["drift", "profile.json", "missing.csv"]) == 2
    Path("data.xlsx").write_bytes(b"PK")
    assert main(["drift", "profile.json", "data.xlsx"]) == 2
    assert main(["drift", "nope.json", "same.csv"]) == 2
    Path("bad.csv").write_text('a,b\n1,"unterminated\n')
    assert main(["drift", "profile.json", "bad.csv"]) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "Traceback" not in err and len(lines) == 4
    assert lines[1] == "data.xlsx: error: unknown data format (use a .csv, .tsv, .parquet or .jsonl file (optionally .gz))"
    assert lines[2] == "nope.json: error: no such profile file or run"
    assert main(["profile", "train.csv", "-o", "train.csv"]) == 2  # never overwrite the data


def test_header_only_data_is_insufficient_not_a_failure(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("header.csv").write_text("age,plan,score\n")
    assert main(["drift", "profile.json", "header.csv"]) == 0
    assert main(["drift", "profile.json", "header.csv", "--fail-on", "insufficient"]) == 1


def test_github_annotations(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["drift", "profile.json", "shifted.csv", "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("::error title=drift%3A age::psi ") and "> 0.25 (fail" in lines[0]
    assert lines[-1].startswith("::notice title=nb2prod drift::drift gate failed")


def test_html_report_is_self_contained_with_a_chart_per_drifted_column(project: Path) -> None:
    assert main(["drift", "profile.json", "shifted.csv", "--report", "drift.html"]) == 1
    page = Path("drift.html").read_text()
    assert page.count("<svg") == 1 and "<h2>age" in page
    assert "<script" not in page and "src=" not in page and "href=" not in page and "@import" not in page
    assert main(["drift", "profile.json", "shifted.csv", "--report", "shifted.csv"]) == 2


def test_scenario_59_escapes_in_column_names_are_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    name = "evil\x1b]0;owned\x07"
    pd.DataFrame({name: RNG.normal(size=500)}).to_csv("t.csv", index=False)
    assert main(["profile", "t.csv", "-o", "p.json"]) == 0
    pd.DataFrame({name: RNG.normal(3, 1, size=500)}).to_csv("n.csv", index=False)
    capsys.readouterr()
    assert main(["drift", "p.json", "n.csv"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b" in out
    assert main(["drift", "p.json", "n.csv", "--report", "r.html"]) == 1
    assert "\x1b" not in Path("r.html").read_text()


def test_a_run_without_a_profile_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nb2prod.records import RunRecord, write_record

    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "runs" / "train" / "20261206T000000Z-abcdef"
    directory.mkdir(parents=True)
    write_record(
        RunRecord(
            id=directory.name, notebook="train.ipynb", notebook_sha256="", parameters={}, status="ok", started="x", directory=directory
        )
    )
    frame(200).to_csv("d.csv", index=False)
    capsys.readouterr()
    assert main(["drift", "latest", "d.csv"]) == 2
    assert "stored no data profile" in capsys.readouterr().err
