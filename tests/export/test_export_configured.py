"""``[[tool.nb2prod.export]]`` and ``nb2prod export [--check]`` without notebooks (the nb2prod-export-check hook).

The entries are validated like every other table (unknown keys with a did-you-mean, wrong types,
``out`` or ``into`` required); a stale package is named with its notebooks and the exact command
that refreshes it; the result does not depend on the folder the command starts in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.config import ExportEntry, load_config
from nb2prod.errors import ConfigError
from nb2prod.export.configured import refresh_command

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
TINY = [
    ("markdown", "# Tiny model", []),
    ("code", "n = 3  # how many numbers", ["parameters"]),
    ("code", "def total(k: int) -> int:\n    return sum(range(k))", ["export"]),
    ("code", "assert total(3) == 3", ["test"]),
    ("code", "result = total(n)", ["main"]),
]


def write_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> None:
    """A small nbformat 4.5 notebook: ``(cell_type, source, tags)`` per cell."""
    built = []
    for index, (kind, source, tags) in enumerate(cells):
        cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{index}", "metadata": {"tags": tags} if tags else {}, "source": source}
        if kind == "code":
            cell |= {"execution_count": None, "outputs": []}
        built.append(cell)
    data = {"cells": built, "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


PYPROJECT = """\
[project]
name = "demo"

[[tool.nb2prod.export]]
notebooks = ["notebooks/tiny.ipynb"]
out = "build/tiny"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git root holding ``notebooks/tiny.ipynb`` and a pyproject.toml that exports it to build/tiny."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    write_notebook(root / "notebooks" / "tiny.ipynb", TINY)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def export_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["export", *args])
    return code, capsys.readouterr().err


def test_entries_load_with_their_defaults(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        PYPROJECT
        + '\n[[tool.nb2prod.export]]\nnotebooks = ["a.ipynb", "b.ipynb"]\ninto = "src/pkg"\nname = "pkg"\npin = "exact"\nall = true\n',
        encoding="utf-8",
    )
    assert load_config(project / "pyproject.toml").exports == (
        ExportEntry(notebooks=("notebooks/tiny.ipynb",), out="build/tiny"),
        ExportEntry(notebooks=("a.ipynb", "b.ipynb"), into="src/pkg", name="pkg", pin="exact", all_cells=True),
    )


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ('[[tool.nb2prod.export]]\nnotebook = ["a.ipynb"]\nout = "o"\n', "unknown key 'tool.nb2prod.export[0].notebook'", "did you mean"),
        ('[tool.nb2prod.export]\nnotebooks = ["a.ipynb"]\n', "'tool.nb2prod.export' must be a list of tables", "[[tool.nb2prod.export]]"),
        (
            '[[tool.nb2prod.export]]\nnotebooks = "a.ipynb"\nout = "o"\n',
            "'tool.nb2prod.export[0].notebooks' must be a list of strings",
            None,
        ),
        ('[[tool.nb2prod.export]]\nout = "o"\n', "'tool.nb2prod.export[0]' needs 'notebooks'", "notebooks = ["),
        (
            '[[tool.nb2prod.export]]\nnotebooks = ["a.ipynb"]\n',
            "'tool.nb2prod.export[0]' needs one of 'out' and 'into'",
            "existing package",
        ),
        ('[[tool.nb2prod.export]]\nnotebooks = ["a.ipynb"]\nout = "o"\ninto = "p"\n', "needs one of 'out' and 'into', not both", None),
        ('[[tool.nb2prod.export]]\nnotebooks = ["a.ipynb"]\nout = "o"\npin = "loose"\n', "'tool.nb2prod.export[0].pin' must be", None),
    ],
    ids=["typo", "table-not-list", "notebooks-a-string", "no-notebooks", "no-out", "out-and-into", "bad-pin"],
)
def test_bad_entries_are_errors_naming_the_key(
    project: Path, capsys: pytest.CaptureFixture[str], text: str, message: str, hint: str | None
) -> None:
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(project / "pyproject.toml")
    assert message in info.value.message
    assert hint is None or hint in (info.value.hint or "")
    code, err = export_cli(capsys, "--check")
    assert code == 2 and message in err and "Traceback" not in err


def test_check_fails_on_a_stale_package_naming_the_notebook_and_the_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = export_cli(capsys, "--check")
    assert code == 1 and not (project / "build").exists()
    assert (
        "build/tiny: out of date with notebooks/tiny.ipynb (7 files); refresh it with: nb2prod export notebooks/tiny.ipynb -o build/tiny\n"
        in err
    )

    code, err = export_cli(capsys)  # the refresh: every configured package
    assert code == 0 and "exported tiny into build/tiny: 7 written" in err
    assert export_cli(capsys, "--check") == (0, "tiny in build/tiny: up to date (7 unchanged)\n")

    write_notebook(project / "notebooks" / "tiny.ipynb", [("markdown", "# Renamed", []), *TINY[1:]])
    code, err = export_cli(capsys, "--check", "--quiet")
    assert code == 1 and "refresh it with: nb2prod export notebooks/tiny.ipynb -o build/tiny" in err


def test_a_hand_edited_file_asks_for_force(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export_cli(capsys)[0] == 0
    module = project / "build" / "tiny" / "src" / "tiny" / "tiny.py"
    module.write_text(module.read_text(encoding="utf-8") + "\nEDITED = 1\n", encoding="utf-8")
    code, err = export_cli(capsys, "--check")
    assert code == 1 and err.rstrip().endswith("refresh it with: nb2prod export notebooks/tiny.ipynb -o build/tiny --force")
    assert "EDITED = 1" in module.read_text(encoding="utf-8"), "a check writes nothing"


def test_the_result_is_the_same_from_a_subfolder(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Generated headers name the notebook as given, so the exports run at the project root wherever the command starts."""
    assert export_cli(capsys)[0] == 0
    os.chdir(project / "notebooks")
    assert export_cli(capsys, "--check")[0] == 0
    write_notebook(project / "notebooks" / "tiny.ipynb", [("markdown", "# Renamed", []), *TINY[1:]])
    code, err = export_cli(capsys, "--check")
    assert code == 1 and "refresh it with: cd .. && nb2prod export notebooks/tiny.ipynb -o build/tiny" in err
    assert Path.cwd() == project / "notebooks", "the working folder is restored"


def test_nothing_configured_is_an_error_that_says_what_to_add(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.nb2prod]\n", encoding="utf-8")
    code, err = export_cli(capsys, "--check")
    assert code == 2 and "no exports are configured in [[tool.nb2prod.export]]" in err


def test_per_package_options_need_notebooks(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = export_cli(capsys, "--check", "-o", "elsewhere")
    assert code == 2 and "--out need notebooks to apply to" in err


def test_refresh_command_quotes_paths() -> None:
    entry = ExportEntry(notebooks=("my notebooks/a.ipynb",), into="src/pkg", name="pkg", pin="exact", all_cells=True)
    assert refresh_command(entry) == "nb2prod export 'my notebooks/a.ipynb' --into src/pkg --name pkg --pin exact --all"


# --- the ML tests' data and T13's run per package: profile, capture-sample, redact-columns, reference-run ----------

DATA_KEYS = 'profile = "profile-train.json"\ncapture-sample = 20\nredact-columns = ["city"]\nreference-run = "latest"\n'


def test_the_data_keys_load_into_the_entry_and_its_refresh_command(project: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + DATA_KEYS, encoding="utf-8")
    entry = load_config(project / "pyproject.toml").exports[0]
    assert entry == ExportEntry(
        notebooks=("notebooks/tiny.ipynb",),
        out="build/tiny",
        profile="profile-train.json",
        capture_sample=20,
        redact_columns=("city",),
        reference_run="latest",
    )
    assert refresh_command(entry) == (
        "nb2prod export notebooks/tiny.ipynb -o build/tiny --reference-run latest --profile profile-train.json "
        "--capture-sample 20 --redact-column city"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('capture-sample = "20"', "'tool.nb2prod.export[0].capture-sample' must be an int"),
        ("capture-sample = true", "'tool.nb2prod.export[0].capture-sample' must be an int"),
        ("capture-sample = 0", "'tool.nb2prod.export[0].capture-sample' must be a number of rows, at least 1"),
        ('redact-columns = "city"', "'tool.nb2prod.export[0].redact-columns' must be a list of strings"),
        ('redact-column = ["city"]', "unknown key 'tool.nb2prod.export[0].redact-column'"),
        ("profile = 3", "'tool.nb2prod.export[0].profile' must be a str"),
        ('profile = ""', "'tool.nb2prod.export[0].profile' must not be empty"),
        ('reference-run = ["latest"]', "'tool.nb2prod.export[0].reference-run' must be a str"),
    ],
    ids=[
        "sample-a-string",
        "sample-a-bool",
        "sample-zero",
        "redact-a-string",
        "redact-typo",
        "profile-a-number",
        "profile-empty",
        "run-a-list",
    ],
)
def test_a_bad_data_key_is_one_error_line_naming_pyproject_and_the_key(
    project: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + line + "\n", encoding="utf-8")
    code, err = export_cli(capsys, "--check")
    assert code == 2 and err.startswith(f"{project / 'pyproject.toml'}: error: {message}") and err.count("\n") == 1
    assert not (project / "build").exists()


def test_the_typo_redact_column_suggests_redact_columns(project: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + 'redact-column = ["city"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(project / "pyproject.toml")
    assert info.value.hint == "did you mean 'tool.nb2prod.export[0].redact-columns'?"


@pytest.mark.parametrize(("flag", "key"), [("--capture-sample", "capture-sample"), ("--redact-column", "redact-columns")])
def test_a_data_flag_with_configured_exports_is_an_error_naming_the_key(
    project: Path, capsys: pytest.CaptureFixture[str], flag: str, key: str
) -> None:
    """As with --out or --pin: the flags apply to named notebooks; a configured package takes them from its entry."""
    code, err = export_cli(capsys, "--check", flag, "20")
    assert code == 2 and f"{flag} needs notebooks to apply to" in err and f"set {key} per package in [[tool.nb2prod.export]]" in err


MODEL = """
import pandas as pd
from sklearn.linear_model import LogisticRegression


def load_data():
    frame = pd.read_csv("data.csv")
    return frame.drop(columns=["label"]), frame["label"]


def build_model(seed):
    return LogisticRegression(random_state=seed)


def evaluate(model, X, y):
    return {"accuracy": float((model.predict(X) == y).mean())}
"""
ML_NOTEBOOK = [
    ("code", "seed = 3", ["parameters"]),
    ("code", MODEL.strip(), ["export"]),
    ("code", "X, y = load_data()\nmodel = build_model(seed=seed).fit(X, y)", ["main"]),
]
ML_PYPROJECT = '[[tool.nb2prod.export]]\nnotebooks = ["notebooks/train.ipynb"]\nout = "build/train"\n'


@pytest.fixture
def ml_project(project: Path) -> Path:
    """The project with notebooks/train.ipynb (a scikit-learn model whose load_data() reads data.csv) and its data's profile."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    import nb2prod

    rows = 60
    data = pd.DataFrame(
        {
            "age": [18 + (index * 7) % 70 for index in range(rows)],
            "city": [f"Zanzibar{index % 5}" for index in range(rows)],
            "income": [round(1000 + (index * 37) % 900 + 0.25, 2) for index in range(rows)],
        }
    )
    data["label"] = (data["age"] > 50).astype(int)
    data.to_csv(project / "data.csv", index=False)
    (project / "profile-train.json").write_bytes(nb2prod.profile_bytes(nb2prod.profile(data, name="train", target="label")))
    write_notebook(project / "notebooks" / "train.ipynb", ML_NOTEBOOK)
    return project


def test_a_package_with_a_profile_a_sample_and_a_redacted_column_is_up_to_date_until_its_notebook_changes(
    ml_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = 'profile = "profile-train.json"\ncapture-sample = 20\nredact-columns = ["city"]\n'
    (ml_project / "pyproject.toml").write_text(ML_PYPROJECT + keys, encoding="utf-8")
    code, err = export_cli(capsys)
    assert code == 0, err
    fixtures = ml_project / "build" / "train" / "tests" / "fixtures"
    sample = (fixtures / "sample.csv").read_text(encoding="utf-8")
    rows = [line for line in sample.splitlines() if not line.startswith("#")]
    assert rows[0] == "age,income,label" and len(rows) == 21  # 20 rows of load_data(), the city column kept out
    assert "Zanzibar" not in (fixtures / "profile.txt").read_text(encoding="utf-8")
    code, err = export_cli(capsys, "--check")
    assert code == 0 and "train in build/train: up to date" in err, err

    os.chdir(ml_project / "notebooks")  # and from a subfolder
    assert export_cli(capsys, "--check")[0] == 0
    write_notebook(ml_project / "notebooks" / "train.ipynb", [("markdown", "# Renamed", []), *ML_NOTEBOOK])
    code, err = export_cli(capsys, "--check", "--quiet")
    assert code == 1
    assert err.rstrip().endswith(
        "refresh it with: cd .. && nb2prod export notebooks/train.ipynb -o build/train --profile profile-train.json "
        "--capture-sample 20 --redact-column city"
    )


def test_a_package_exported_with_the_flags_is_up_to_date_under_the_entry_that_names_them(
    ml_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The entry's keys reach the export as the flags do: the command a stale check prints makes the package the check wants."""
    keys = 'profile = "profile-train.json"\ncapture-sample = 20\nredact-columns = ["city"]\n'
    (ml_project / "pyproject.toml").write_text(ML_PYPROJECT + keys, encoding="utf-8")
    flags = ["--profile", "profile-train.json", "--capture-sample", "20", "--redact-column", "city"]
    assert export_cli(capsys, "notebooks/train.ipynb", "-o", "build/train", *flags)[0] == 0
    code, err = export_cli(capsys, "--check")
    assert code == 0 and "up to date" in err, err


def _record_run(runs: Path, run_id: str, accuracy: float) -> None:
    """A recorded ok run of notebooks/train.ipynb, as `nb2prod run` writes it."""
    from nb2prod.records import RunRecord, write_record

    directory = runs / "train" / run_id
    directory.mkdir(parents=True)
    started = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:00:00.000Z"
    record = RunRecord(
        id=run_id,
        notebook="notebooks/train.ipynb",
        notebook_sha256="ab" * 32,
        parameters={"seed": 3},
        status="ok",
        started=started,
        finished=started,
        duration_s=1.0,
        metrics={"accuracy": accuracy},
        directory=directory,
    )
    write_record(record)


def test_reference_run_latest_follows_the_newest_run_so_a_new_run_makes_the_package_stale(
    ml_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (ml_project / "pyproject.toml").write_text(ML_PYPROJECT + 'reference-run = "latest"\n', encoding="utf-8")
    _record_run(ml_project / "runs", "20261206T100000Z-aaaaaa", 0.9)
    assert export_cli(capsys)[0] == 0
    assert "20261206T100000Z-aaaaaa" in (ml_project / "build" / "train" / "tests" / "test_ml_train.py").read_text(encoding="utf-8")
    os.chdir(ml_project / "notebooks")  # the project's runs folder, wherever the check starts
    code, err = export_cli(capsys, "--check")
    assert code == 0 and "up to date" in err, err

    _record_run(ml_project / "runs", "20261206T110000Z-bbbbbb", 0.95)
    code, err = export_cli(capsys, "--check", "--quiet")
    assert code == 1 and "refresh it with: cd .. && nb2prod export notebooks/train.ipynb -o build/train --reference-run latest" in err


def test_a_reference_run_that_does_not_exist_is_one_error_line(ml_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ml_project / "pyproject.toml").write_text(ML_PYPROJECT + 'reference-run = "latest"\n', encoding="utf-8")
    code, err = export_cli(capsys, "--check")
    assert code == 2 and err.startswith("runs: error: no runs here") and err.count("\n") == 1  # the project's runs folder
    assert not (ml_project / "build").exists()
