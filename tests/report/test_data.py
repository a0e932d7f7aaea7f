"""Which runs a report shows and what it says about them (``nb2prod.report.data``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from report_helpers import ENVIRONMENT, START, make_run, make_sweep

from nb2prod.errors import RecordError, UsageError
from nb2prod.report.data import BestRule, best_run, gather, guess_rule, parse_best, select_runs


def test_sweep_selects_its_runs_oldest_first(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    sweep = make_sweep(runs, "s1", count=4)
    make_run(runs, 20, parameters={"lr": 0.5}, metrics={"accuracy": 0.1})  # not in the sweep
    records, damaged = select_runs(runs, sweep="s1")
    assert [r.id for r in records] == [r.id for r in sweep]
    assert damaged == []


def test_unknown_sweep_is_an_error_naming_the_runs_folder(tmp_path: Path) -> None:
    make_sweep(tmp_path / "runs", "s1", count=2)
    with pytest.raises(RecordError, match="no runs of sweep 'nope'"):
        select_runs(tmp_path / "runs", sweep="nope")


def test_named_runs_by_id_prefix_and_latest_without_duplicates(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    records = make_sweep(runs, count=3)
    chosen, _ = select_runs(runs, runs=["latest", records[0].id, records[0].id[:-2], str(records[1].directory)])
    assert [r.id for r in chosen] == [records[0].id, records[1].id, records[2].id]


def test_no_runs_at_all_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="no runs here"):
        select_runs(tmp_path / "runs")


def test_every_run_of_a_notebook_and_damaged_records_alongside(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, 1, notebook="a.ipynb", metrics={"m": 1})
    make_run(runs, 2, notebook="b.ipynb", metrics={"m": 2})
    bad = runs / "a" / "20261128T120000Z-bad000"
    bad.mkdir()
    (bad / "run.json").write_text("{not json", encoding="utf-8")
    records, damaged = select_runs(runs, notebook="a")
    assert [r.notebook for r in records] == ["a.ipynb"]
    assert [d.id for d in damaged] == ["20261128T120000Z-bad000"]


def test_sweep_and_runs_together_are_a_usage_error(tmp_path: Path) -> None:
    make_sweep(tmp_path / "runs", count=1)
    with pytest.raises(UsageError):
        select_runs(tmp_path / "runs", sweep="sweep-1", runs=["latest"])


def test_gather_splits_swept_from_fixed_parameters_and_picks_the_best(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    records = make_sweep(runs, count=6)
    data = gather(records, runs_dir=runs, sweep="sweep-1")
    assert data.swept == ("lr", "model")
    assert data.fixed == {"seed": 0}
    assert data.metrics == ("accuracy", "loss")
    assert data.rule == BestRule("accuracy", "max", guessed=True)
    assert data.best is not None and data.best.parameters == {"lr": 0.1, "model": "forest", "seed": 0}
    assert data.title == "sweep sweep-1"
    assert data.charted_metrics() == ["accuracy", "loss"]


def test_an_int_and_a_float_of_the_same_value_are_different_parameter_values(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    records = [make_run(runs, 1, parameters={"alpha": 1}), make_run(runs, 2, parameters={"alpha": 1.0})]
    assert gather(records, runs_dir=runs).swept == ("alpha",)


def test_history_holds_every_run_of_the_notebook_in_the_folder(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    older = make_run(runs, 100, metrics={"accuracy": 0.5}, started=START + timedelta(seconds=30))
    records = make_sweep(runs, count=2)
    data = gather(records, runs_dir=runs)
    assert [r.id for r in data.history["notebooks/train.ipynb"]] == [records[0].id, older.id, records[1].id]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accuracy", BestRule("accuracy", "max", guessed=True)),
        ("val_loss", BestRule("val_loss", "min", guessed=True)),
        ("rmse", BestRule("rmse", "min", guessed=True)),
        ("min:accuracy", BestRule("accuracy", "min")),
        ("max:loss", BestRule("loss", "max")),
    ],
)
def test_best_rule_from_the_option_or_the_metric_name(text: str, expected: BestRule) -> None:
    assert parse_best(text) == expected


def test_best_ignores_failed_runs_and_non_numbers(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    failed = make_run(runs, 1, metrics={"loss": 0.0}, status="failed")
    text = make_run(runs, 2, metrics={"loss": "nan"})
    good = make_run(runs, 3, metrics={"loss": 0.3})
    worse = make_run(runs, 4, metrics={"loss": 0.4})
    assert best_run([failed, text, good, worse], guess_rule("loss")) is good
    assert best_run([failed, text], guess_rule("loss")) is None


def test_runs_sharing_an_environment_list_it_once(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    records = make_sweep(runs, count=3)
    other = {**ENVIRONMENT, "packages": {"numpy": "1.26.4"}}
    records.append(make_run(runs, 9, environment=other))
    data = gather(records, runs_dir=runs)
    assert [(e.label, len(e.run_ids)) for e in data.environments] == [("A", 3), ("B", 1)]
    assert data.environment_of[records[-1].id] == "B"


def test_best_by_a_metric_no_run_recorded_is_a_usage_error_listing_the_metrics(tmp_path: Path) -> None:
    records = make_sweep(tmp_path / "runs", count=2)
    with pytest.raises(UsageError, match="no run recorded the metric 'acc'") as raised:
        gather(records, runs_dir=tmp_path / "runs", best=parse_best("acc"))
    assert raised.value.hint == "recorded metrics: accuracy, loss"


def test_history_keeps_the_latest_runs_and_every_run_of_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nb2prod.report.data.HISTORY_LIMIT", 3)
    runs = tmp_path / "runs"
    records = [make_run(runs, index, metrics={"m": float(index)}) for index in range(6)]
    data = gather(records[:1], runs_dir=runs)
    assert [r.id for r in data.history["notebooks/train.ipynb"]] == [records[i].id for i in (0, 3, 4, 5)]
    assert data.history_total == {"notebooks/train.ipynb": 6}
