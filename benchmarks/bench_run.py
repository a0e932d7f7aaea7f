"""Benchmark ``nb2prod run`` against bare ``papermill`` on the same small notebook.

Usage: ``python benchmarks/bench_run.py [--repeat N]``

Writes a small parameterised notebook into a new git repository in a temporary folder (so that
nb2prod's git lookup costs what it costs in a real project), then runs, as subprocesses and
alternating the two (A B, then B A, ...), ``N`` times each:

- ``nb2prod run small.ipynb -p factor=3 --runs-dir runs`` (typed parameters, a fresh kernel, the
  executed notebook and ``run.json`` with git state, package versions and metrics);
- ``papermill small.ipynb out.ipynb -p factor 3 -k python3 --no-progress-bar`` (the same execution
  with no record).

For each it prints the best and median wall time, the peak RSS (``ru_maxrss``) and how many
runs stalled: took more than 2 s longer than the tool's best run (the notebook's cells take a few
milliseconds; a stall is the kernel's graceful shutdown hanging, about 3.5 s), then the ratio
nb2prod / papermill by median and by best wall time (the goal is at most 1.15x). Every nb2prod run
must leave a ``run.json`` with status ``ok`` and the recorded metric.
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
from pathlib import Path

from bench_strip import MIB, BenchmarkError, Results, Tool, find_command, run_tool

DEFAULT_REPEAT = 10
SPEED_GOAL = 1.15
STALL_S = 2.0  # a run this much slower than the tool's best run stalled
NOTEBOOK = "small.ipynb"
KERNEL = "python3"
CELLS = (
    ("parameters", 'factor = 2  # multiplies the numbers\nname = "bench"  # a string parameter'),
    (None, "numbers = [factor * i for i in range(1000)]\ntotal = sum(numbers)\nprint(name, total)"),
    (None, "import json\n\nsummary = {'total': total, 'mean': total / len(numbers)}\nprint(json.dumps(summary))"),
    (None, "import nb2prod\n\nnb2prod.record('total', total)"),
)


def small_notebook() -> dict:
    """The benchmark notebook: a parameters cell, two cheap cells and a metric; nbformat 4.5."""
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"cell-{index}",
            "metadata": {"tags": [tag]} if tag else {},
            "outputs": [],
            "source": source,
        }
        for index, (tag, source) in enumerate(CELLS)
    ]
    kernelspec = {"display_name": "Python 3", "language": "python", "name": KERNEL}
    metadata = {"kernelspec": kernelspec, "language_info": {"name": "python"}}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def make_project(root: Path) -> None:
    """Write the notebook into ``root`` and commit it to a new git repository (skipped without git)."""
    (root / NOTEBOOK).write_text(json.dumps(small_notebook(), indent=1) + "\n", encoding="utf-8")
    (root / ".gitignore").write_text("runs/\nout.ipynb\n", encoding="utf-8")
    if shutil.which("git") is None:
        print("git not found: nb2prod runs outside a git repository")
        return
    identity = ("-c", "user.name=bench", "-c", "user.email=bench@example.invalid")
    for command in (("init", "-q"), ("add", "."), (*identity, "commit", "-q", "-m", "notebook")):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)


def check_records(runs_dir: Path, expected: int) -> None:
    """Every nb2prod run left a record with status ok and the notebook's metric."""
    records = [json.loads(path.read_text(encoding="utf-8")) for path in runs_dir.glob("*/*/run.json")]
    bad = [record["id"] for record in records if record["status"] != "ok" or record["metrics"].get("total") != 3 * sum(range(1000))]
    if len(records) != expected or bad:
        raise BenchmarkError(f"expected {expected} ok run records with total={3 * sum(range(1000))}, found {len(records)}; bad: {bad}")


def benchmark(repeat: int) -> None:
    """Run both tools ``repeat`` times each in a throw-away project and print the table."""
    nb2prod = Tool("nb2prod run", (*find_command("nb2prod"), "run"), frozenset({0}))
    papermill = Tool("papermill", find_command("papermill"), frozenset({0}))
    results = [
        Results(nb2prod, [[NOTEBOOK, "-p", "factor=3", "--runs-dir", "runs"]]),
        Results(papermill, [[NOTEBOOK, "out.ipynb", "-p", "factor", "3", "-k", KERNEL, "--no-progress-bar"]]),
    ]
    root = Path(tempfile.mkdtemp(prefix="nb2prod-bench-run-"))
    home = Path.cwd()
    try:
        make_project(root)
        os.chdir(root)
        for result in results:
            print(f"{result.tool.label}: {' '.join((*result.tool.command, *result.chunks[0]))}")
        print(f"\nin {root}; each tool run {repeat} time(s), alternating")
        for round_ in range(repeat):
            for result in results if round_ % 2 == 0 else results[::-1]:
                result.samples.append(run_tool(result.tool, result.chunks))
        check_records(root / "runs", repeat)
    finally:
        os.chdir(home)
        shutil.rmtree(root)

    print(f"\n{'tool':<14}{'best s':>9}{'median s':>10}{'peak RSS MiB':>14}{f'stalled > {STALL_S:g} s':>16}")
    medians, bests = [], []
    for result in results:
        times = [sample.seconds for sample in result.samples]
        medians.append(statistics.median(times))
        bests.append(min(times))
        peak = max(sample.max_rss_kib for sample in result.samples) / MIB
        stalls = sum(seconds > bests[-1] + STALL_S for seconds in times)
        print(f"{result.tool.label:<14}{bests[-1]:>9.3f}{medians[-1]:>10.3f}{peak:>14.1f}{f'{stalls} of {len(times)}':>16}")
    ratio = medians[0] / medians[1]
    verdict = "met" if ratio <= SPEED_GOAL else "NOT met"
    print(
        f"\nnb2prod run / papermill: {ratio:.2f}x by median, {bests[0] / bests[1]:.2f}x by best wall time "
        f"(goal <= {SPEED_GOAL:g}x: {verdict}); nb2prod's overhead {medians[0] - medians[1]:+.3f} s by median"
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark; exit 1 if a tool fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help=f"runs of each tool (default: {DEFAULT_REPEAT})")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        benchmark(args.repeat)
    except BenchmarkError as error:
        print(f"bench_run: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
