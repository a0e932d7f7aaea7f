"""Benchmark ``nb2prod sweep`` against sequential ``papermill`` runs of the same small notebook.

Usage: ``python benchmarks/bench_sweep.py [--runs 8] [--workers 2] [--repeat 3] [--no-dask]``

Writes a small parameterised notebook into a temporary folder, then times, each as one subprocess
(start-up and imports included, as a user waits for them):

- papermill: one Python process running ``papermill.execute_notebook`` N times in a row (the
  import paid once: the most favourable way to run papermill sequentially);
- ``nb2prod sweep small.ipynb -g x=0,...,N-1 --workers W`` (the local pool: W worker processes,
  the next run's kernel started while the current run executes; every run with its record);
- ``nb2prod sweep ... --executor dask --workers W`` (a W-worker ``LocalCluster`` started for the
  sweep, the notebook shipped with each task, the records brought back).

Each repeat times papermill and the local pool (and the LocalCluster) once, alternating which goes
first, so that a change in the machine's load weighs on both. It prints each repeat's wall times and
ratio, then the medians: papermill / local pool (the goal is at least 2x on a 2-core machine) and
LocalCluster / local pool, with the load average (``os.getloadavg``) before and after. Every sweep
must end with all runs ``ok``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
    """Time one sweep (into a fresh runs folder) and check that every run succeeded."""
    runs_dir = folder / f"runs-{executor}"
    shutil.rmtree(runs_dir, ignore_errors=True)
    grid = "x=" + ",".join(str(i) for i in range(runs))
    command = [sys.executable, "-m", "nb2prod", "sweep", "small.ipynb", "-g", grid, "--workers", str(workers), "--runs-dir", runs_dir.name]
    elapsed = timed([*command, "--executor", executor, "--format", "json"], folder)
    [sweep_json] = (runs_dir / ".sweeps").glob("*/sweep.json")
    statuses = [entry["status"] for entry in json.loads(sweep_json.read_text())["sets"]]
    if statuses != ["ok"] * runs:
        raise SystemExit(f"the {executor} sweep did not succeed: {statuses}")
    return elapsed


def load() -> str:
    """The 1-minute load average, as ``uptime`` shows it."""
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="alternating repeats; medians are reported")
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster measurement")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"papermill": [], "local": [], "dask": []}
    print(f"load average before: {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        (folder / "small.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
        for repeat in range(args.repeat):
            order = ["papermill", "local"] if repeat % 2 == 0 else ["local", "papermill"]
            if not args.no_dask:
                order.append("dask")
            for kind in order:
                if kind == "papermill":
                    times[kind].append(timed([sys.executable, "-c", PAPERMILL, str(args.runs)], folder))
                else:
                    times[kind].append(sweep(folder, args.runs, args.workers, kind))
            line = f"repeat {repeat + 1} (load {load()}): papermill {times['papermill'][-1]:5.2f} s, local pool {times['local'][-1]:5.2f} s"
            line += f" ({times['papermill'][-1] / times['local'][-1]:.2f}x)"
            if not args.no_dask:
                line += f", LocalCluster {times['dask'][-1]:5.2f} s"
            print(line, flush=True)
    papermill, local = statistics.median(times["papermill"]), statistics.median(times["local"])
    print(f"papermill, {args.runs} runs in a row (median):            {papermill:6.2f} s")
    print(f"nb2prod sweep --workers {args.workers} (local pool, median):    {local:6.2f} s")
    ratio = statistics.median(p / q for p, q in zip(times["papermill"], times["local"], strict=True))
    verdict = "ok" if ratio >= SPEED_GOAL else "BELOW GOAL"
    print(f"speed-up over papermill (median of the repeats): {ratio:.2f}x (goal: at least {SPEED_GOAL:g}x) {verdict}")
    if not args.no_dask:
        dask = statistics.median(times["dask"])
        print(f"nb2prod sweep --executor dask ({args.workers}-worker LocalCluster, median): {dask:6.2f} s")
        print(f"LocalCluster / local pool: {dask / local:.2f}x")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
