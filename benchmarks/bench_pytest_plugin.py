"""Benchmark ``pytest --nb2prod`` against ``pytest --nbmake`` on the same 8 small notebooks.

Usage: ``python benchmarks/bench_pytest_plugin.py [--repeat N] [--workers N]``

nbmake (from PyPI) is not a dependency of nb2prod: the first run installs it with pip into
``benchmarks/.cache/nbmake`` (``pip install --target``, with pydantic, the one dependency of nbmake
that nb2prod's ``.[dev]`` does not bring), a throw-away folder put on ``PYTHONPATH`` for both tools,
so both run in the same environment with both plugins loaded and differ only in the option.

Writes 8 notebooks (a parameters cell, a little numpy work, a metric recorded with
``nb2prod.record``) into a temporary git project whose ``pyproject.toml`` gives
``[tool.nb2prod.tests]`` a parameter and a metric bound, then runs, as subprocesses and
alternating (A B, then B A, ...), ``N`` times each:

- ``pytest --nb2prod -p no:cacheprovider notebooks`` (each notebook in a fresh kernel through
  nb2prod's runner, parameters injected, run record written, the metric bound checked);
- ``pytest --nbmake -p no:cacheprovider notebooks`` (each notebook executed by nbclient, no
  parameters, no metric check).

With ``--workers N`` both run with ``-n N`` (pytest-xdist) instead of in one process. nb2prod's
modules are compiled to bytecode first, as ``pip install`` compiles nbmake's (the notebooks'
kernels import nb2prod under both tools).

Prints the best and median wall time and peak RSS of each, then nb2prod / nbmake by median and by
best wall time; the goal is at most 1.0x (no slower than nbmake).
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

from bench_strip import MIB, BenchmarkError, Results, Tool, compile_bytecode, run_tool

DEFAULT_REPEAT = 3
SPEED_GOAL = 1.0
NOTEBOOKS = 8
CACHE = Path(__file__).resolve().parent / ".cache" / "nbmake"
REQUIREMENTS = ("nbmake==1.5.5", "pydantic>=2,<3", "pydantic-core", "annotated-types", "typing-inspection", "typing-extensions")
PYPROJECT = '[tool.nb2prod.tests]\nparameters = { size = 200 }\nmetrics = ["mean >= 0"]\n'


def install_nbmake() -> None:
    """nbmake and pydantic into the cache folder, unless they are there already."""
    if (CACHE / "nbmake").is_dir():
        return
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", os.fspath(CACHE), *REQUIREMENTS]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(CACHE, ignore_errors=True)
        raise BenchmarkError(f"installing nbmake failed:\n{done.stderr.strip()}")


def notebook(index: int) -> dict:
    """A small notebook: parameters, numpy work, a recorded metric; nbformat 4.5."""
    cells = [
        ("parameters", f"size = 1000  # rows\nseed = {index}"),
        (None, "import numpy as np\n\nrng = np.random.default_rng(seed)\nvalues = rng.random(size)"),
        (None, "summary = {'mean': float(values.mean()), 'max': float(values.max())}\nprint(summary)"),
        (None, "import nb2prod\n\nnb2prod.record('mean', summary['mean'])"),
    ]
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{number}",
                "metadata": {"tags": [tag]} if tag else {},
                "outputs": [],
                "source": source,
            }
            for number, (tag, source) in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def make_project(root: Path) -> None:
    """A git project with the pyproject.toml and the notebooks."""
    subprocess.run(["git", "init", "-q", os.fspath(root)], check=True)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "notebooks").mkdir()
    for index in range(NOTEBOOKS):
        (root / "notebooks" / f"small_{index}.ipynb").write_text(json.dumps(notebook(index), indent=1), encoding="utf-8")


def benchmark(repeat: int, workers: int = 0) -> None:
    """Run both tools ``repeat`` times each (with ``-n workers`` when not 0) in a throw-away project and print the table."""
    install_nbmake()
    compile_bytecode("nb2prod")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.fspath(CACHE), os.environ.get("PYTHONPATH")]))
    spread = ("-n", str(workers)) if workers else ()
    pytest = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *spread)
    results = [
        Results(Tool("pytest --nb2prod", (*pytest, "--nb2prod"), frozenset({0})), [["notebooks"]]),
        Results(Tool("pytest --nbmake", (*pytest, "--nbmake"), frozenset({0})), [["notebooks"]]),
    ]
    root = Path(tempfile.mkdtemp(prefix="nb2prod-bench-pytest-"))
    home = Path.cwd()
    try:
        make_project(root)
        os.chdir(root)
        for result in results:
            print(f"{result.tool.label}: {' '.join((*result.tool.command, *result.chunks[0]))}")
        where = f"{workers} xdist workers" if workers else "one process"
        print(f"\nin {root}; {NOTEBOOKS} notebooks ({where}); each tool run {repeat} time(s), alternating")
        for round_ in range(repeat):
            for result in results if round_ % 2 == 0 else results[::-1]:
                sample = run_tool(result.tool, result.chunks)
                if f"{NOTEBOOKS} passed" not in sample.output:
                    raise BenchmarkError(f"{result.tool.label} did not pass {NOTEBOOKS} notebooks:\n{sample.output[-2000:]}")
                result.samples.append(sample)
    finally:
        os.chdir(home)
        shutil.rmtree(root)

    print(f"\n{'tool':<18}{'best s':>9}{'median s':>10}{'peak RSS MiB':>14}")
    medians, bests = [], []
    for result in results:
        times = [sample.seconds for sample in result.samples]
        medians.append(statistics.median(times))
        bests.append(min(times))
        peak = max(sample.max_rss_kib for sample in result.samples) / MIB
        print(f"{result.tool.label:<18}{bests[-1]:>9.3f}{medians[-1]:>10.3f}{peak:>14.1f}")
    ratio = medians[0] / medians[1]
    verdict = "met" if ratio <= SPEED_GOAL else "NOT met"
    print(f"\nnb2prod / nbmake: {ratio:.2f}x by median, {bests[0] / bests[1]:.2f}x by best wall time (goal <= {SPEED_GOAL:g}x: {verdict})")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark; exit 1 if a tool fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help=f"runs of each tool (default: {DEFAULT_REPEAT})")
    parser.add_argument("--workers", type=int, default=0, help="run both with pytest-xdist's -n WORKERS (default: 0, one process)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.workers < 0:
        parser.error("--workers must be 0 or more")
    try:
        benchmark(args.repeat, args.workers)
    except BenchmarkError as error:
        print(f"bench_pytest_plugin: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
