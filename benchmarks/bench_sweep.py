"""Benchmark ``nb2prod sweep`` against sequential ``papermill`` runs of the same small notebook.

Usage: ``python benchmarks/bench_sweep.py [--runs 8] [--workers 2] [--no-dask]``

Writes a small parameterised notebook into a temporary folder, then times, each as one subprocess
(start-up and imports included, as a user waits for them):

- papermill: one Python process running ``papermill.execute_notebook`` N times in a row (the
  import paid once: the most favourable way to run papermill sequentially);
- ``nb2prod sweep small.ipynb -g x=0,...,N-1 --workers W`` (the local pool: W worker processes,
  the next run's kernel started while the current run executes; every run with its record);
- ``nb2prod sweep ... --executor dask --workers W`` (a W-worker ``LocalCluster`` started for the
  sweep, the notebook shipped with each task, the records brought back).

It prints each wall time and the ratios papermill / local pool (the goal is at least 2x on a
2-core machine) and dask / local pool. Every sweep must end with all runs ``ok``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEED_GOAL = 2.0
NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "p", "metadata": {"tags": ["parameters"]}, "outputs": [], "source": ["x = 0"]},
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "b",
            "metadata": {},
            "outputs": [],
            "source": ["total = sum(range(1000)) * x\n", "print(total)"],
        },
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}
PAPERMILL = """
import sys, papermill
for i in range(int(sys.argv[1])):
    papermill.execute_notebook("small.ipynb", f"out-{i}.ipynb", parameters={"x": i}, kernel_name="python3", progress_bar=False)
"""


def timed(command: list[str], folder: Path) -> float:
    """Wall time of ``command`` run in ``folder``; raises when it fails."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed


def sweep(folder: Path, runs: int, workers: int, executor: str) -> float:
    """Time one sweep and check that every run succeeded."""
    runs_dir = f"runs-{executor}"
    grid = "x=" + ",".join(str(i) for i in range(runs))
    command = [sys.executable, "-m", "nb2prod", "sweep", "small.ipynb", "-g", grid, "--workers", str(workers), "--runs-dir", runs_dir]
    elapsed = timed([*command, "--executor", executor, "--format", "json"], folder)
    [sweep_json] = (folder / runs_dir / ".sweeps").glob("*/sweep.json")
    statuses = [entry["status"] for entry in json.loads(sweep_json.read_text())["sets"]]
    if statuses != ["ok"] * runs:
        raise SystemExit(f"the {executor} sweep did not succeed: {statuses}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        (folder / "small.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
        papermill = timed([sys.executable, "-c", PAPERMILL, str(args.runs)], folder)
        local = sweep(folder, args.runs, args.workers, "local")
        print(f"papermill, {args.runs} runs in a row:            {papermill:6.2f} s")
        print(f"nb2prod sweep --workers {args.workers} (local pool):    {local:6.2f} s")
        ratio = papermill / local
        print(f"speed-up over papermill: {ratio:.2f}x (goal: at least {SPEED_GOAL:g}x) {'ok' if ratio >= SPEED_GOAL else 'BELOW GOAL'}")
        if not args.no_dask:
            dask = sweep(folder, args.runs, args.workers, "dask")
            print(f"nb2prod sweep --executor dask ({args.workers}-worker LocalCluster): {dask:6.2f} s")
            print(f"LocalCluster / local pool: {dask / local:.2f}x")


if __name__ == "__main__":
    main()
