"""Benchmark ``nb2prod export --all`` against ``jupyter nbconvert --to script`` and ``jupytext --to py`` on the corpus.

Usage: ``python benchmarks/bench_export.py [--corpus DIR] [--repeat N] [--single-runs M]``

Builds (or reuses) the corpus of ``corpus.py`` and copies it to a temporary folder, one notebook per
file name (``n0001_<stem>.ipynb``, so that every notebook becomes its own module). ``nb2prod export``
refuses what a package cannot hold (non-Python kernels, shell commands and cell magics, cells that do
not parse); those notebooks are left out for every tool, and counted by reason, so all three convert
the same files. Then, in one run, as subprocesses, alternating the order:

1. whole corpus: ``nb2prod export --all FILES -o OUT`` (one package, a module per notebook, formatted
   with ruff), ``jupyter nbconvert --to script FILES --output-dir OUT`` and ``jupytext --to py FILES``
   (it writes beside its inputs: it gets its own copy of them); each run writes into a fresh folder;
   plus ``nb2prod export --all --check`` on the package already written (the up-to-date case of CI and
   pre-commit). Best and median wall time, peak RSS of the child, the number of files written, and
   the ratios to nb2prod;
2. single notebook: the same three commands on ``notebooks/train.ipynb`` (tagged: nb2prod writes the
   whole package), median of M runs.

The copied input is hashed before and after: no tool may change a byte of it.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import multiprocessing
import re
import shutil
import statistics
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from bench_strip import MIB, BenchmarkError, Sample, Tool, chunk_files, find_command, run_tool, snapshot
from corpus import DEFAULT_DEST, CorpusError, build_corpus

SINGLE_NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "train.ipynb"
SPEED_GOAL = 3.0  # nbconvert / nb2prod on the whole corpus
OK = frozenset({0})
CHECK_OK = frozenset({0, 1})  # nb2prod export --check: 1 would mean stale, reported below
_NOT_WORD = re.compile(r"[^A-Za-z0-9_]+")


@dataclass
class Runner:
    """A tool under test: how to build its command for a fresh output folder, and its samples."""

    label: str
    command: Callable[[Path], Tool]  # output folder -> the command to time
    prepare: Callable[[Path], None] = lambda out: out.mkdir(parents=True)
    outputs_in: Path | None = None  # where the tool writes, when not into the output folder (jupytext: beside its inputs)
    samples: list[Sample] = field(default_factory=list)
    outputs: int = 0  # files the last run wrote

    def best_median(self) -> tuple[float, float]:
        """The best and the median wall time."""
        times = [sample.seconds for sample in self.samples]
        return min(times), statistics.median(times)


def reason(message: str) -> str:
    """A short category for why ``nb2prod export`` refused a notebook."""
    for needle, label in (
        ("kernel language", "kernel is not Python"),
        ("IPython syntax", "shell command or magic (NB202)"),
        ("does not parse", "does not parse (NB208)"),
        ("cannot run as module code", "top-level await/return/yield"),
        ("nothing is marked", "no code cells"),
        ("parameters cell", "parameters cell is not literal assignments"),
        ("NB201", "uses names of skipped cells (NB201)"),
    ):
        if needle in message:
            return label
    return "other"


def exportable(files: Sequence[Path], scratch: Path) -> tuple[list[Path], Counter[str]]:
    """The notebooks every tool converts, and the others counted by reason (not timed).

    nbconvert stops at the first notebook that nbformat's schema refuses; ``nb2prod export`` refuses
    what a package cannot hold. Each notebook is planned alone in this process; the
    installed-distribution scan of dependency inference is cached meanwhile (it is the same for
    every notebook). Then the selected notebooks are exported together once, and any that only
    fails in company is left out too.
    """
    import nbformat

    import nb2prod
    from nb2prod.errors import Nb2prodError
    from nb2prod.export.codegen import build_plan
    from nb2prod.notebook import read_notebook

    refused: Counter[str] = Counter()
    selected = []
    cached = functools.cache(importlib.metadata.packages_distributions)
    with mock.patch.object(importlib.metadata, "packages_distributions", cached), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat's notes about the corpus's missing and duplicate cell ids
        for path in files:
            try:
                nbformat.validate(nbformat.read(path, as_version=4))
            except nbformat.ValidationError:
                refused["not valid nbformat (nbconvert refuses it)"] += 1
                continue
            try:
                build_plan([read_notebook(path)], all_cells=True)
            except (Nb2prodError, SyntaxError, RecursionError) as error:
                refused[reason(str(error))] += 1
            else:
                selected.append(path)
        while selected:
            try:
                nb2prod.export(selected, out=scratch, all_cells=True, force=True)
                break
            except Nb2prodError as error:
                culprit = next((path for path in selected if error.path and error.path.startswith(str(path))), None)
                if culprit is None:
                    raise BenchmarkError(f"nb2prod export fails on the selected notebooks: {error}") from None
                selected.remove(culprit)
                refused[f"together with the others: {reason(str(error))}"] += 1
    return selected, refused


def files_written(out: Path) -> int:
    """The files under ``out``, the copied notebooks left aside (jupytext writes beside them)."""
    return sum(1 for path in out.rglob("*") if path.is_file() and path.suffix != ".ipynb")


def make_runners(files: Sequence[str], work: Path, *, all_cells: bool) -> tuple[list[Runner], list[str]]:
    """nb2prod, nbconvert and jupytext over ``files``, and jupytext's inputs: its own copies in ``work / "jupytext"``."""
    nb2prod, jupyter, jupytext = find_command("nb2prod"), find_command("jupyter"), find_command("jupytext")
    copies = [str(work / "jupytext" / Path(name).name) for name in files]
    export = ("export", "--all") if all_cells else ("export",)
    label = " ".join(("nb2prod", *export))

    def fresh_copies(out: Path) -> None:
        shutil.rmtree(work / "jupytext", ignore_errors=True)
        (work / "jupytext").mkdir()
        for name in files:
            shutil.copy2(name, work / "jupytext")
        out.mkdir(parents=True)

    runners = [
        Runner(label, lambda out: Tool(label, (*nb2prod, *export, "-q", "-o", str(out)), OK)),
        Runner(
            "nbconvert --to script", lambda out: Tool("nbconvert", (*jupyter, "nbconvert", "--to", "script", "--output-dir", str(out)), OK)
        ),
        Runner("jupytext --to py", lambda out: Tool("jupytext", (*jupytext, "--to", "py"), OK), fresh_copies, outputs_in=work / "jupytext"),
    ]
    return runners, copies


def time_rounds(runners: Sequence[Runner], inputs: Callable[[Runner], Sequence[str]], rounds: int, work: Path) -> None:
    """Run every runner ``rounds`` times into fresh output folders, alternating the order (A B C, C B A...)."""
    for round_ in range(rounds):
        for index, runner in enumerate(runners if round_ % 2 == 0 else runners[::-1]):
            out = work / "out" / f"{round_}-{index}"
            runner.prepare(out)
            tool = runner.command(out)
            chunks = chunk_files(tool.command, inputs(runner))
            if len(chunks) > 1 and runner.label.startswith("nb2prod"):
                raise BenchmarkError("the file list does not fit on one command line; nb2prod must export it as one package")
            runner.samples.append(run_tool(tool, chunks))
            runner.outputs = files_written(runner.outputs_in or out)
            shutil.rmtree(out)


def print_table(runners: Sequence[Runner]) -> None:
    """One line per tool: runs, best and median wall time, peak RSS, files written."""
    print(f"\n{'tool':<30}{'runs':>5}{'best s':>9}{'median s':>10}{'peak RSS MiB':>14}{'files written':>15}")
    for runner in runners:
        best, median = runner.best_median()
        peak = max(sample.max_rss_kib for sample in runner.samples) / MIB
        print(f"{runner.label:<30}{len(runner.samples):>5}{best:>9.3f}{median:>10.3f}{peak:>14.1f}{runner.outputs:>15}")


def ratio(label: str, slow: Runner, fast: Runner, goal: float | None = None) -> str:
    """``slow / fast`` by median and best wall time, with the verdict when there is a goal."""
    (slow_best, slow_median), (fast_best, fast_median) = slow.best_median(), fast.best_median()
    line = f"{label}: {slow_median / fast_median:.2f}x by median, {slow_best / fast_best:.2f}x by best wall time"
    if goal is not None:
        line += f" (goal >= {goal:g}x: {'met' if slow_median / fast_median >= goal else 'NOT met'})"
    return line


def whole_corpus(files: list[str], work: Path, repeat: int) -> None:
    """Time the three tools, and nb2prod's up-to-date check, over the selected corpus notebooks."""
    runners, copies = make_runners(files, work, all_cells=True)
    for runner in runners:
        print(f"{runner.label}: {' '.join(runner.command(Path('OUT')).command)} FILES...")
    print(f"\nwhole corpus: {len(files)} notebooks, each tool {repeat} time(s), alternating, a fresh output folder each run")
    time_rounds(runners, lambda runner: copies if runner.outputs_in else files, repeat, work)

    package = work / "package"
    nb2prod = find_command("nb2prod")
    run_tool(Tool("nb2prod export --all", (*nb2prod, "export", "--all", "-q", "-o", str(package)), OK), [files])
    check = Tool("nb2prod export --check", (*nb2prod, "export", "--all", "--check", "-o", str(package)), CHECK_OK)
    checked = Runner("nb2prod export --all --check", lambda out: check)
    checked.samples = [run_tool(check, [files]) for _ in range(repeat)]
    if "up to date" not in checked.samples[-1].output:
        raise BenchmarkError(f"nb2prod export --check finds the package it has just written out of date:\n{checked.samples[-1].output}")
    print_table([*runners, checked])
    print()
    print(ratio("nbconvert --to script / nb2prod export --all", runners[1], runners[0], SPEED_GOAL))
    print(ratio("jupytext --to py / nb2prod export --all", runners[2], runners[0]))
    print(ratio("nbconvert --to script / nb2prod export --all --check (up to date)", runners[1], checked))


def single_notebook(work: Path, runs: int) -> None:
    """Time one notebook per process, the pre-commit case: the tagged example notebook, whole package for nb2prod."""
    notebook = work / "single" / SINGLE_NOTEBOOK.name
    notebook.parent.mkdir()
    shutil.copy2(SINGLE_NOTEBOOK, notebook)
    runners, copies = make_runners([str(notebook)], work, all_cells=False)
    print(f"\nsingle notebook: {SINGLE_NOTEBOOK.name}, {runs} runs of each tool, alternating")
    time_rounds(runners, lambda runner: copies if runner.outputs_in else [str(notebook)], runs, work)
    for runner in runners:
        best, median = runner.best_median()
        print(f"  {runner.label:<24}median {median:.3f} s, best {best:.3f} s, {runner.outputs} files written")
    print(ratio("nbconvert --to script / nb2prod export", runners[1], runners[0]))


def benchmark(corpus: Path, repeat: int, single_runs: int) -> None:
    """Build or reuse the corpus, copy it to a temporary folder, select, run both benchmarks there."""
    paths = build_corpus(corpus)
    work = Path(tempfile.mkdtemp(prefix="nb2prod-bench-export-"))
    keep = False
    try:
        source = work / "input"
        source.mkdir()
        copies = []
        for index, path in enumerate(paths):
            copy = source / f"n{index:04d}_{_NOT_WORD.sub('_', path.stem)[:40]}.ipynb"
            shutil.copy2(path, copy)
            copies.append(copy)
        # In a child process: this one stays small, and the RSS of the timed children (forked from it) with it.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            selected, refused = pool.submit(exportable, copies, work / "selection").result()
        shutil.rmtree(work / "selection", ignore_errors=True)
        left_out = ", ".join(f"{name} {count}" for name, count in refused.most_common())
        size_mb = sum(path.stat().st_size for path in selected) / 1e6
        print(f"{len(selected)} of {len(paths)} corpus notebooks export with --all ({size_mb:.1f} MB); left out: {left_out}")
        for path in set(copies) - set(selected):
            path.unlink()
        before = snapshot(source)
        whole_corpus([str(path) for path in selected], work, repeat)
        single_notebook(work, single_runs)
        keep = snapshot(source) != before
        if keep:
            raise BenchmarkError(f"the input in {source} changed during the benchmark (kept for inspection)")
        print(f"input unchanged: the {len(before)} notebooks of {source} have the same SHA-256 before and after")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark; exit 1 if a tool fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_DEST, help=f"corpus folder (default: {DEFAULT_DEST})")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool over the corpus (default: 3)")
    parser.add_argument("--single-runs", type=int, default=10, help="runs of each tool on one notebook (default: 10)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.single_runs < 1:
        parser.error("--repeat and --single-runs must be at least 1")
    try:
        benchmark(args.corpus.resolve(), args.repeat, args.single_runs)
    except (BenchmarkError, CorpusError) as error:
        print(f"bench_export: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
