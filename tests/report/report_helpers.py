"""Run folders for report tests, written as ``nb2prod run`` writes them (``run.json`` and ``output.ipynb``) without a kernel."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from nb2prod.records import RunRecord, write_record

ENVIRONMENT = {"python": "3.11.7", "platform": "Linux-6.1-x86_64", "packages": {"numpy": "2.1.0", "scikit-learn": "1.5.2"}}
START = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)


def executed_notebook(text: str) -> dict[str, Any]:
    """A small executed notebook whose one cell printed ``text``."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {
                "cell_type": "markdown",
                "id": "intro",
                "metadata": {},
                "source": ["# Train\n", "\n", "A notebook as files store it: lines in lists."],
            },
            {
                "cell_type": "code",
                "id": "work",
                "metadata": {},
                "execution_count": 1,
                "source": ["x = 1\n", "print('trained')"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [text + "\n", "done\n"]}],
            },
        ],
    }


def make_run(
    runs_dir: Path,
    index: int,
    *,
    notebook: str = "notebooks/train.ipynb",
    parameters: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    status: str = "ok",
    sweep: str | None = None,
    started: datetime | None = None,
    environment: dict[str, Any] | None = None,
    output: bool = True,
) -> RunRecord:
    """Write run number ``index`` (its start time is ``index`` minutes after START unless given) and return its record."""
    moment = started or START + timedelta(minutes=index)
    run_id = f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{index:06x}"
    folder = runs_dir / Path(notebook).stem / run_id
    folder.mkdir(parents=True)
    record = RunRecord(
        id=run_id,
        notebook=notebook,
        notebook_sha256="0" * 64,
        parameters=dict(parameters or {}),
        status=status,
        started=moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        finished=(moment + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        duration_s=2.0 + index / 10,
        metrics=dict(metrics or {}),
        environment=dict(environment or ENVIRONMENT),
        kernel="python3",
        nb2prod_version="0.1.0",
        sweep=sweep,
        directory=folder,
    )
    if status == "failed":
        record.error = {"cell_index": 1, "cell_id": "work", "ename": "ValueError", "evalue": "bad value"}
    write_record(record)
    if output:
        (folder / "output.ipynb").write_text(json.dumps(executed_notebook(f"run {index}")), encoding="utf-8")
    return record


def make_sweep(runs_dir: Path, sweep: str = "sweep-1", *, count: int = 6) -> list[RunRecord]:
    """A sweep of ``count`` runs over ``lr`` (log-spaced numbers) and ``model`` (strings), with accuracy and loss."""
    records = []
    for index in range(count):
        lr = [0.001, 0.01, 0.1][index % 3]
        model = ["tree", "forest"][index // 3 % 2]
        accuracy = 0.7 + 0.05 * (index % 3) + (0.08 if model == "forest" else 0)
        parameters = {"lr": lr, "model": model, "seed": 0}
        metrics = {"accuracy": round(accuracy, 4), "loss": round(1 - accuracy, 4)}
        records.append(make_run(runs_dir, index, parameters=parameters, metrics=metrics, sweep=sweep))
    return records
