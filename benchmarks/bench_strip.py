"""Benchmark ``nb2prod strip --check`` against ``nbstripout --dry-run`` on the notebook corpus.

Usage: ``python benchmarks/bench_strip.py [--corpus DIR] [--repeat N]``

Builds (or reuses) the corpus of ``corpus.py``, then in one run starts each tool ``N`` times as a
subprocess, alternating the two, on the same explicit list of files. For each it reports the best and
median wall time, the peak resident memory of the child (``ru_maxrss`` from ``os.wait4``) and the number
of notebooks it reports as needing a strip; then the ratio nbstripout / nb2prod and the median start-up
time of ``nb2prod --version``. The corpus is hashed before and after: neither tool may change a byte.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corpus import DEFAULT_DEST, CorpusError, build_corpus

VERSION_RUNS = 20
VERSION_GOAL_S = 0.15
SPEED_GOAL = 3.0
MIB = 1024


class BenchmarkError(Exception):
    """A tool failed or changed its input: the figures would mean nothing."""


@dataclass(frozen=True)
class Tool:
    """A command under test and the exit codes that mean it did its job."""

    label: str
    command: tuple[str, ...]
    ok_codes: frozenset[int]


@dataclass
class Sample:
    """One timed run of a tool over the whole file list (possibly several processes)."""

    seconds: float
    max_rss_kib: int
    output: str


@dataclass
class Results:
    """The command lines of one tool over the corpus and the samples it gave."""

    tool: Tool
    chunks: list[list[str]]
    samples: list[Sample] = field(default_factory=list)


def find_command(name: str) -> tuple[str, ...]:
    """Return the console script ``name`` of this interpreter, else the one on PATH, else ``python -m name``.

    The script beside ``sys.executable`` comes first so that a launcher on PATH (a pyenv shim costs
    about 0.1 s per start) is not timed as part of the tool. For nb2prod, its bytecode is compiled
    first (:func:`compile_bytecode`).
    """
    if name == "nb2prod":
        compile_bytecode("nb2prod")
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which(name)
    return (found,) if found else (sys.executable, "-m", name)


def compile_bytecode(package: str) -> None:
    """Compile ``package``'s modules to bytecode, as ``pip install`` does for the tools it compares with.

    An editable install run with ``PYTHONDONTWRITEBYTECODE`` set (or from a read-only checkout)
    would otherwise compile every module from source at every start, a cost no installed tool pays.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)


def run_child(command: Sequence[str]) -> tuple[float, int, int, str, str]:
    """Run one process; return its wall time, peak RSS in KiB, exit code, stdout and stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        decoded = (out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    return seconds, usage.ru_maxrss, process.returncode, *decoded


def chunk_files(prefix: Sequence[str], files: Sequence[str]) -> list[list[str]]:
    """Split ``files`` into command lines that fit in half of what ARG_MAX leaves after the environment."""

    def cost(arg: str) -> int:
        return len(os.fsencode(arg)) + 1 + 8  # the string, its NUL, its argv pointer

    environment = sum(cost(f"{key}={value}") for key, value in os.environ.items())
    budget = (os.sysconf("SC_ARG_MAX") - environment) // 2 - sum(map(cost, prefix))
    chunks: list[list[str]] = [[]]
    used = 0
    for name in files:
        if chunks[-1] and used + cost(name) > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(name)
        used += cost(name)
    return chunks


def run_tool(tool: Tool, chunks: Sequence[Sequence[str]]) -> Sample:
    """Run ``tool`` over all chunks; sum the wall times and keep the largest peak RSS."""
    total, peak, outputs = 0.0, 0, []
    for chunk in chunks:
        seconds, rss, code, stdout, stderr = run_child([*tool.command, *chunk])
        if code not in tool.ok_codes:
            raise BenchmarkError(f"{tool.label} exited with {code}:\n{stderr.strip() or stdout.strip()}")
        total += seconds
        peak = max(peak, rss)
        outputs += [stdout, stderr]
    return Sample(total, peak, "\n".join(outputs))


def snapshot(root: Path) -> dict[Path, str]:
    """Return the SHA-256 of every file under ``root``."""
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(root.rglob("*")) if path.is_file()}


def flagged(output: str, files: Sequence[str]) -> int:
    """Count the files named in a tool's output (the notebooks it says would be stripped)."""
    lines = output.splitlines()
    return sum(any(line.endswith(name) for line in lines) for name in files)


def time_version(command: Sequence[str]) -> float:
    """Return the median wall time of ``command --version`` over VERSION_RUNS runs."""
    times = []
    for _ in range(VERSION_RUNS):
        seconds, _, code, _, stderr = run_child([*command, "--version"])
        if code != 0:
            raise BenchmarkError(f"{' '.join(command)} --version exited with {code}:\n{stderr.strip()}")
        times.append(seconds)
    return statistics.median(times)


def benchmark(corpus: Path, repeat: int) -> None:
    """Build or reuse the corpus, run both tools ``repeat`` times each, print the table."""
    paths = build_corpus(corpus)
    files = [str(path) for path in paths]
    nb2prod = Tool("nb2prod strip --check", (*find_command("nb2prod"), "strip", "--check"), frozenset({0, 1}))
    nbstripout = Tool("nbstripout --dry-run", (*find_command("nbstripout"), "--dry-run"), frozenset({0}))
    results = [Results(tool, chunk_files(tool.command, files)) for tool in (nb2prod, nbstripout)]
    for result in results:
        print(f"{result.tool.label}: {' '.join(result.tool.command)} FILES...")

    size_mb = sum(path.stat().st_size for path in paths) / 1e6
    print(f"\n{len(files)} notebooks, {size_mb:.1f} MB; each tool run {repeat} time(s), alternating")
    before = snapshot(corpus)
    for round_ in range(repeat):
        for result in results if round_ % 2 == 0 else results[::-1]:
            result.samples.append(run_tool(result.tool, result.chunks))
    if snapshot(corpus) != before:
        raise BenchmarkError(f"the corpus in {corpus} changed during the benchmark")

    print(f"\n{'tool':<24}{'best s':>9}{'median s':>10}{'peak RSS MiB':>14}{'would strip':>13}{'processes':>11}")
    medians, bests, peaks = [], [], []
    for result in results:
        times = [sample.seconds for sample in result.samples]
        medians.append(statistics.median(times))
        bests.append(min(times))
        peaks.append(max(sample.max_rss_kib for sample in result.samples) / MIB)
        count = flagged(result.samples[-1].output, files)
        figures = f"{bests[-1]:>9.3f}{medians[-1]:>10.3f}{peaks[-1]:>14.1f}"
        print(f"{result.tool.label:<24}{figures}{count:>13}{len(result.chunks):>11}")
    ratio = medians[1] / medians[0]
    verdict = "met" if ratio >= SPEED_GOAL else "NOT met"
    print(
        f"\nnbstripout / nb2prod: {ratio:.2f}x by median, {bests[1] / bests[0]:.2f}x by best wall time "
        f"(goal >= {SPEED_GOAL:g}x: {verdict}); peak RSS {peaks[1] / peaks[0]:.2f}x"
    )
    version = time_version(find_command("nb2prod"))
    verdict = "met" if version < VERSION_GOAL_S else "NOT met"
    print(f"nb2prod --version: {version:.3f} s median of {VERSION_RUNS} runs (goal < {VERSION_GOAL_S} s: {verdict})")
    print(f"input unchanged: the {len(before)} files of {corpus} have the same SHA-256 before and after")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark; exit 1 if a tool fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_DEST, help=f"corpus folder (default: {DEFAULT_DEST})")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool (default: 3)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        benchmark(args.corpus, args.repeat)
    except (BenchmarkError, CorpusError) as error:
        print(f"bench_strip: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
