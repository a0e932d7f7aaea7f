"""Benchmark ``nb2prod lint`` against ``nbqa ruff`` and ``nbqa flake8`` on the notebook corpus.

Usage: ``python benchmarks/bench_lint.py [--corpus DIR] [--repeat N] [--nbqa-repeat M]``

Builds (or reuses) the corpus of ``corpus.py`` and copies it, with ``notebooks/train.ipynb``, to a
temporary folder outside the repository that has no configuration file, so that every tool runs with its
defaults (the repository's ``pyproject.toml`` excludes ``benchmarks/.cache`` from ruff). Then, with that
folder as working directory:

1. whole corpus: ``nb2prod lint --format json``, ``nbqa ruff``, ``nbqa flake8`` and, for reference,
   ``ruff check --no-cache`` as subprocesses on the same explicit file list, plus reading and
   ``json.loads`` of every file in this process; best and median wall time, peak RSS of the child
   (``ru_maxrss`` from ``os.wait4``), the corpus files each tool names and the ratios to nb2prod;
2. single notebook (the pre-commit case): ``nb2prod lint``, ``ruff check --no-cache`` and ``nbqa ruff``
   on ``train.ipynb``, median of 10 runs (nbqa: 5).

The copied input is hashed before and after: no tool may change a byte of it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench_strip import MIB, BenchmarkError, Results, Sample, Tool, chunk_files, find_command, run_tool, snapshot
from corpus import DEFAULT_DEST, CorpusError, build_corpus

SINGLE_NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "train.ipynb"
SINGLE_RUNS = 10
SINGLE_RUNS_NBQA = 5
SPEED_GOAL = 10.0
SINGLE_GOAL_S = 0.3
LINT_OK = frozenset({0, 1})  # nb2prod lint and ruff check: 1 means findings; 2 and 3 are failures
ANY_CODE = frozenset(range(256))  # nbqa: 1 with findings, 123 when it failed on some notebooks
INPUT = "input"  # the copied corpus and notebook, relative to the working directory
CRASH = re.compile(r"^Traceback \(most recent call last\):", re.MULTILINE)
CORPUS_PATH = re.compile(rf"{INPUT}/corpus/.*?\.ipynb")
UNREADABLE = re.compile(r'"unreadable": (\d+)')
NBQA_FAILED = "nbQA failed to process"


@dataclass(frozen=True)
class Entry:
    """A tool under test, how many times to run it and how to count the notebooks it failed on."""

    results: Results
    runs: int
    failed: Callable[[str], int] | None = None


def nb2prod_unreadable(output: str) -> int:
    """Sum the ``unreadable`` counts of nb2prod's JSON summaries (one per command line)."""
    return sum(int(count) for count in UNREADABLE.findall(output))


def nbqa_failed(output: str) -> int:
    """Count the notebooks nbqa reports it could not process."""
    return output.count(NBQA_FAILED)


def named(output: str, files: Sequence[str]) -> int:
    """Count the corpus files a tool's output names (those with at least one finding)."""
    return len(set(CORPUS_PATH.findall(output)) & set(files))


def run_checked(results: Results) -> Sample:
    """Run a tool once over its command lines; fail on a Python traceback or on no output at all."""
    sample = run_tool(results.tool, results.chunks)
    crash = CRASH.search(sample.output)
    if crash or not sample.output.strip():
        detail = sample.output[crash.start() :].strip() if crash else "no output"
        raise BenchmarkError(f"{results.tool.label} failed:\n{detail}")
    return sample


def entry_for(tool: Tool, files: list[str], runs: int, failed: Callable[[str], int] | None = None) -> Entry:
    """Return the entry of ``tool`` over ``files``, split into command lines that fit ARG_MAX."""
    return Entry(Results(tool, chunk_files(tool.command, files)), runs, failed)


def run_rounds(entries: Sequence[Entry]) -> None:
    """Run each entry its number of times, alternating the order (A B C, then C B A, ...)."""
    for round_ in range(max(entry.runs for entry in entries)):
        for entry in entries if round_ % 2 == 0 else entries[::-1]:
            if len(entry.results.samples) < entry.runs:
                entry.results.samples.append(run_checked(entry.results))


def read_all(files: Sequence[str]) -> float:
    """Return the wall time of reading and JSON-parsing every file in this process."""
    start = time.perf_counter()
    for name in files:
        json.loads(Path(name).read_bytes())
    return time.perf_counter() - start


def wall(entry: Entry) -> tuple[float, float]:
    """Return the best and median wall time of an entry's samples."""
    times = [sample.seconds for sample in entry.results.samples]
    return min(times), statistics.median(times)


def ratio_line(label: str, slow: Entry, fast: Entry, goal: float | None = None) -> str:
    """Format ``slow / fast`` by median and by best wall time, with the verdict when there is a goal."""
    (slow_best, slow_median), (fast_best, fast_median) = wall(slow), wall(fast)
    line = f"{label}: {slow_median / fast_median:.2f}x by median, {slow_best / fast_best:.2f}x by best wall time"
    if goal is not None:
        line += f" (goal >= {goal:g}x: {'met' if slow_median / fast_median >= goal else 'NOT met'})"
    return line


def make_tools() -> dict[str, Tool]:
    """Return the commands under test, keyed by a short name."""
    nb2prod, nbqa = find_command("nb2prod"), find_command("nbqa")
    return {
        "nb2prod json": Tool("nb2prod lint", (*nb2prod, "lint", "--format", "json"), LINT_OK),
        "nb2prod": Tool("nb2prod lint", (*nb2prod, "lint"), LINT_OK),
        "nbqa ruff": Tool("nbqa ruff", (*nbqa, "ruff"), ANY_CODE),
        "nbqa flake8": Tool("nbqa flake8", (*nbqa, "flake8"), ANY_CODE),
        "ruff": Tool("ruff check", (*find_command("ruff"), "check", "--no-cache"), LINT_OK),
    }


def whole_corpus(tools: dict[str, Tool], files: list[str], repeat: int, nbqa_repeat: int) -> None:
    """Run every tool over the corpus and print the table and the ratios."""
    entry = {
        "nb2prod": entry_for(tools["nb2prod json"], files, repeat, nb2prod_unreadable),
        "nbqa ruff": entry_for(tools["nbqa ruff"], files, nbqa_repeat, nbqa_failed),
        "nbqa flake8": entry_for(tools["nbqa flake8"], files, nbqa_repeat, nbqa_failed),
        "ruff": entry_for(tools["ruff"], files, repeat),
    }
    if importlib.util.find_spec("flake8") is None:
        print(f"nbqa flake8: SKIPPED, flake8 is not installed for {sys.executable} (pip install flake8)")
        del entry["nbqa flake8"]
    entries = list(entry.values())
    for item in entries:
        print(f"{item.results.tool.label}: {' '.join(item.results.tool.command)} FILES...")

    print(f"\nwhole corpus: nb2prod lint and ruff check run {repeat} time(s), nbqa tools {nbqa_repeat}, alternating")
    run_rounds(entries)
    reading = [read_all(files) for _ in range(repeat)]

    print(f"\n{'tool':<18}{'runs':>5}{'best s':>9}{'median s':>10}{'peak RSS MiB':>14}{'files named':>13}{'failed':>8}{'processes':>11}")
    for item in entries:
        best, median = wall(item)
        peak = max(sample.max_rss_kib for sample in item.results.samples) / MIB
        last = item.results.samples[-1].output
        failed = "-" if item.failed is None else str(item.failed(last))
        figures = f"{len(item.results.samples):>5}{best:>9.3f}{median:>10.3f}{peak:>14.1f}{named(last, files):>13}{failed:>8}"
        print(f"{item.results.tool.label:<18}{figures}{len(item.results.chunks):>11}")
    print(f"{'read + json.loads':<18}{len(reading):>5}{min(reading):>9.3f}{statistics.median(reading):>10.3f}{'(in-process)':>14}")

    print()
    print(ratio_line("nbqa ruff / nb2prod lint", entry["nbqa ruff"], entry["nb2prod"], SPEED_GOAL))
    if "nbqa flake8" in entry:
        print(ratio_line("nbqa flake8 / nb2prod lint", entry["nbqa flake8"], entry["nb2prod"]))
    print(ratio_line("nb2prod lint / ruff check (reference)", entry["nb2prod"], entry["ruff"]))


def single_notebook(tools: dict[str, Tool], notebook: str) -> None:
    """Time the pre-commit case, one notebook per process, and print the medians and ratios."""
    runs = {"nb2prod": SINGLE_RUNS, "ruff": SINGLE_RUNS, "nbqa ruff": SINGLE_RUNS_NBQA}
    entry = {key: entry_for(tools[key], [notebook], count) for key, count in runs.items()}
    print(f"\nsingle notebook: {' '.join(entry['nb2prod'].results.tool.command)} {notebook}, and the same file for the others")
    run_rounds(list(entry.values()))
    for item in entry.values():
        best, median = wall(item)
        print(f"  {item.results.tool.label:<14}median {median:.3f} s, best {best:.3f} s of {item.runs} runs")
    nb2prod_median = wall(entry["nb2prod"])[1]
    verdict = "met" if nb2prod_median < SINGLE_GOAL_S else "NOT met"
    print(f"nb2prod lint one notebook: {nb2prod_median:.3f} s median (goal < {SINGLE_GOAL_S} s: {verdict})")
    print(ratio_line("nbqa ruff / nb2prod lint", entry["nbqa ruff"], entry["nb2prod"]))
    print(ratio_line("nb2prod lint / ruff check", entry["nb2prod"], entry["ruff"]))


def benchmark(corpus: Path, repeat: int, nbqa_repeat: int) -> None:
    """Build or reuse the corpus, copy it outside the repository, run both benchmarks there."""
    paths = build_corpus(corpus)
    root = Path(tempfile.mkdtemp(prefix="nb2prod-bench-lint-"))
    home = Path.cwd()
    keep = False
    try:
        shutil.copytree(corpus, root / INPUT / "corpus")
        shutil.copy2(SINGLE_NOTEBOOK, root / INPUT / SINGLE_NOTEBOOK.name)
        os.chdir(root)  # nbqa and flake8 look for configuration in the working directory
        files = [f"{INPUT}/corpus/{path.relative_to(corpus).as_posix()}" for path in paths]
        size_mb = sum(path.stat().st_size for path in paths) / 1e6
        print(f"{len(files)} notebooks, {size_mb:.1f} MB, copied to {root / INPUT}; {os.cpu_count()} CPUs")
        before = snapshot(root / INPUT)
        tools = make_tools()
        whole_corpus(tools, files, repeat, nbqa_repeat)
        single_notebook(tools, f"{INPUT}/{SINGLE_NOTEBOOK.name}")
        keep = snapshot(root / INPUT) != before
        if keep:
            raise BenchmarkError(f"the input in {root / INPUT} changed during the benchmark (kept for inspection)")
        print(f"input unchanged: the {len(before)} files of {root / INPUT} have the same SHA-256 before and after")
    finally:
        os.chdir(home)
        if not keep:
            shutil.rmtree(root)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark; exit 1 if a tool fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_DEST, help=f"corpus folder (default: {DEFAULT_DEST})")
    parser.add_argument("--repeat", type=int, default=3, help="runs of nb2prod lint, ruff check and reading (default: 3)")
    parser.add_argument("--nbqa-repeat", type=int, default=1, help="runs of each nbqa tool, about a minute each (default: 1)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.nbqa_repeat < 1:
        parser.error("--repeat and --nbqa-repeat must be at least 1")
    try:
        benchmark(args.corpus.resolve(), args.repeat, args.nbqa_repeat)
    except (BenchmarkError, CorpusError) as error:
        print(f"bench_lint: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
