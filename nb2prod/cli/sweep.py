"""``nb2prod sweep``: the command-line adapter over ``nb2prod.sweep.sweep``: options in, progress and a results table out."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any

from ..errors import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, UsageError
from ..records import DEFAULT_RUNS_DIR, RunRecord
from ..runs import format_duration, format_value, is_number
from ..text import printable
from .common import about
from .run import parse_assignments, seconds


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (``--workers``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``sweep`` subcommand."""
    parser = subparsers.add_parser(
        "sweep",
        parents=parents,
        help="run a notebook over a grid or list of parameter sets, locally in parallel or on a Dask cluster",
        description=(
            "Run NOTEBOOK once per parameter set: the cartesian product of the -g grids, each set of --params-file, "
            "with the -p values in every set; values are typed as in `nb2prod run` and every set is checked before the "
            "first kernel starts. Each run is an ordinary run (RUNS_DIR/<notebook>/<run id>/) whose run.json names the "
            "sweep; the sweep is recorded in RUNS_DIR/.sweeps/<sweep id>/sweep.json. `nb2prod runs list --sweep ID` "
            "lists its runs. Exit code: 0 every run ok, 1 some run did not succeed, 2 bad input (nothing run), 130 "
            "interrupted (finished runs kept; --resume SWEEP runs what is missing)."
        ),
    )
    parser.add_argument("notebook", metavar="NOTEBOOK", nargs="?", help="a .ipynb or jupytext text notebook (not with --resume)")
    parser.add_argument(
        "-g",
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="sweep a parameter over values (repeatable: the cartesian product); lists as JSON, e.g. -g layers=[64],[64,32]",
    )
    parser.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a fixed value in every set (repeatable)",
    )
    parser.add_argument("--params-file", metavar="FILE", help="a YAML or JSON list of parameter sets (crossed with -g, if any)")
    parser.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, metavar="DIR", help=f"where run folders go (default: {DEFAULT_RUNS_DIR}/)")
    parser.add_argument(
        "--executor", default="local", metavar="NAME", help="local (default) or dask, or one from an nb2prod.executors plugin"
    )
    parser.add_argument("--workers", type=positive_int, metavar="N", help="runs at once (default: the number of cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler (tcp://host:8786); none: a LocalCluster")
    parser.add_argument(
        "--input",
        dest="inputs",
        action="append",
        default=[],
        metavar="PATH",
        help="a file or folder the notebook reads (sent to Dask workers)",
    )
    parser.add_argument(
        "--resume", metavar="SWEEP", help="run again the sets of SWEEP without a successful run (its id, a prefix, or latest)"
    )
    parser.add_argument("--sort-by", metavar="METRIC[:min]", help="sort the results by a metric, highest first (:min for lowest first)")
    parser.add_argument("--timeout", type=seconds, metavar="S", help="fail a cell that runs longer than S seconds")
    parser.add_argument("--kernel", metavar="NAME", help="kernel to run (default: the notebook's kernelspec)")
    parser.add_argument("--cwd", metavar="DIR", help="the kernels' working folder (default: the current folder)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format of the results (default: text)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the sweep with progress on stderr, print the results, return 0 / 1 / 130."""
    if args.resume and (args.notebook or args.grid or args.params_file):
        raise UsageError("--resume runs the sets of a sweep as they were: give no notebook, -g or --params-file with it")
    if not args.resume and not args.notebook:
        raise UsageError("give a notebook to sweep (or --resume SWEEP)")
    sort = _sort_key(args.sort_by)
    from ..sweep import load_sets_file, parse_grid, sweep

    with about(args.notebook or args.resume):
        strings = parse_assignments(args.parameters)
        grid = parse_grid(args.grid)
        sets = load_sets_file(args.params_file) if args.params_file else None
        progress = _Progress(sys.stderr)
        try:
            result = sweep(
                args.notebook,
                grid_strings=grid,
                strings=strings,
                parameter_sets=sets,
                sets_source=args.params_file,
                runs_dir=args.runs_dir,
                executor=args.executor,
                workers=args.workers,
                scheduler=args.scheduler,
                timeout=args.timeout,
                kernel=args.kernel,
                cwd=args.cwd,
                inputs=args.inputs,
                resume=args.resume,
                progress=progress.event,
                on_plan=progress.begin,
            )
        finally:
            progress.end()
    rows = _rows(result, sort)
    if args.format == "json":
        print(
            json.dumps(
                {"sweep": result.record.to_json(), "runs": [_row_json(row) for row in rows]}, indent=2, ensure_ascii=False, default=repr
            )
        )
    else:
        print(_table(result, rows, sort))
    if result.interrupted:
        print(printable(f"{result.record.id}: interrupted (resume with `nb2prod sweep --resume {result.record.id}`)"), file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FINDINGS if result.failed else EXIT_OK


def _sort_key(text: str | None) -> tuple[str, bool] | None:
    """``accuracy`` -> (accuracy, highest first); ``loss:min`` -> (loss, lowest first)."""
    if not text:
        return None
    name, _, direction = text.partition(":")
    if not name or direction not in ("", "max", "min"):
        raise UsageError(f"--sort-by {text!r}: expected METRIC, METRIC:max or METRIC:min")
    return name, direction != "min"


def _rows(result: Any, sort: tuple[str, bool] | None) -> list[tuple[int, Any, RunRecord | None]]:
    rows = [(index, entry, run) for index, (entry, run) in enumerate(zip(result.record.sets, result.runs, strict=True))]
    if sort is not None:
        name, highest = sort

        def key(row: tuple[int, Any, RunRecord | None]) -> tuple[int, float]:
            value = row[2].metrics.get(name) if row[2] is not None and row[2].status == "ok" else None
            if not is_number(value) or math.isnan(value):
                return (1, 0.0)
            return (0, -value if highest else value)

        rows.sort(key=key)
    return rows


def _row_json(row: tuple[int, Any, RunRecord | None]) -> dict[str, Any]:
    index, entry, run = row
    return {
        "set": index + 1,
        "parameters": entry.parameters,
        "status": entry.status,
        "run": None if run is None else run.id,
        "directory": None if run is None or run.directory is None else os.fspath(run.directory),
        "duration_s": None if run is None else run.duration_s,
        "metrics": {} if run is None else run.metrics,
    }


def _table(result: Any, rows: list[tuple[int, Any, RunRecord | None]], sort: tuple[str, bool] | None) -> str:
    """The results: one line per set (parameters swept, status, metrics, run id), the best run named."""
    record = result.record
    names = record.swept or sorted({name for entry in record.sets for name in entry.parameters})
    metrics = list(dict.fromkeys(name for _, _, run in rows if run is not None for name in run.metrics))
    header = ["#", *names, "status", *metrics, "time", "run"]
    body = []
    for index, entry, run in rows:
        cells = [str(index + 1), *(format_value(entry.parameters.get(name, "")) for name in names), entry.status]
        cells += [format_value(run.metrics[name]) if run is not None and name in run.metrics else "—" for name in metrics]
        cells += [format_duration(run.duration_s) if run is not None else "—", run.id if run is not None else "—"]
        body.append(cells)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in [header, *body]]
    counts = record.counts()
    summary = f"sweep {record.id}: {record.status}, {counts['ok']} of {len(record.sets)} sets ok"
    failed = len(record.sets) - counts["ok"] - counts["pending"]
    if failed:
        summary += f", {failed} not ok"
    if counts["pending"]:
        summary += f", {counts['pending']} not run"
    lines = [summary, *lines]
    if sort is not None and rows and rows[0][2] is not None and is_number(rows[0][2].metrics.get(sort[0])) and rows[0][2].status == "ok":
        best = rows[0][2]
        lines.append(
            f"best by {sort[0]} ({'highest' if sort[1] else 'lowest'}): run {best.id}, {sort[0]}={format_value(best.metrics[sort[0]])}"
        )
    return "\n".join(printable(line) for line in lines)


class _Progress:
    """Live progress on stderr: a rich bar on a terminal (done / failed / running, elapsed, time left), plain lines otherwise."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.total = self.done = self.failed = self.running = 0
        self.started = time.monotonic()
        self.bar: Any = None
        self.task: Any = None
        self.sets: list[Any] = []

    def begin(self, record: Any) -> None:
        """The sweep exists: how many runs it will make."""
        self.sets = record.sets
        self.total = sum(1 for entry in record.sets if not entry.done)
        self.started = time.monotonic()
        executor = record.executor.get("name", "?")
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task(record.id, total=self.total, detail=self._detail())
        else:
            print(printable(f"sweep {record.id}: {self.total} runs on {executor}"), file=self.stream, flush=True)

    def _detail(self) -> str:
        return f"ok {self.done - self.failed} · failed {self.failed} · running {self.running}"

    def event(self, event: Any) -> None:
        """A run started or finished."""
        if event.kind == "started":
            self.running += 1
        else:
            self.running = max(0, self.running - 1)
            self.done += 1
            record = event.record
            if record.status != "ok":
                self.failed += 1
            if not self.live:
                values = ", ".join(f"{k}={format_value(v)}" for k, v in self.sets[event.index].parameters.items())
                elapsed = format_duration(time.monotonic() - self.started)
                line = (
                    f"[{self.done}/{self.total}] set {event.index + 1} ({values}): {record.status} in {format_duration(record.duration_s)}"
                )
                print(printable(f"{line}, run {record.id} (elapsed {elapsed})"), file=self.stream, flush=True)
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, detail=self._detail())

    def end(self) -> None:
        """Stop the live display."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
