"""``nb2prod runs list|show|compare|check|report``: the command-line adapter over ``nb2prod.runs``.

Text output is drawn with rich (imported inside the functions that print, so ``import nb2prod.cli``
stays cheap) through a console that escapes the control characters of every string it is given
(names and values come from notebooks: see ``nb2prod.text``); ``--format json`` prints plain JSON
documents. A damaged ``run.json`` is listed as damaged, named on stderr, and makes the exit code 2:
the rest is still listed.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import (
    DEFAULT_RUNS_DIR,
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    STATUSES,
    DamagedRecord,
    RecordError,
    RunRecord,
    UsageError,
    check_run,
    compare_runs,
    describe_error,
    find_record,
    format_delta,
    format_duration,
    format_value,
    key_metrics,
    key_parameters,
    list_runs,
    parse_metric_expression,
    printable,
    record_json,
)
from .common import about, print_error

if TYPE_CHECKING:
    from rich.console import Console

#: ``runs list`` shows this many parameters and metrics per run, then "+N".
LIST_NAMES = 4
#: Width of the output when it goes to a file or a pipe: rows are never wrapped there (rich would use 80 columns).
PIPE_WIDTH = 1_000_000
_STATUS_STYLE = {"ok": "green", "failed": "red", "damaged": "bold red"}


def console() -> Console:
    """A rich console for stdout: no markup (values are data), strings escaped, colour only on a terminal, rows whole in pipes."""
    return _escaping_console()(markup=False, highlight=False, emoji=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)


@functools.cache
def _escaping_console() -> type[Console]:
    from rich.console import Console

    class EscapingConsole(Console):
        """A console that shows the control characters of every string it renders escaped (``nb2prod.text.printable``).

        Table cells, headers and printed strings all become text through ``render_str``; ``Text``
        objects do not, so code that builds them escapes their content itself.
        """

        def render_str(self, text: str, **options: Any) -> Any:
            return super().render_str(printable(text), **options)

    return EscapingConsole


def emit(*renderables: Any) -> None:
    """Print rich renderables to stdout, without the trailing spaces rich pads table rows with."""
    out = console()
    with out.capture() as captured:
        for renderable in renderables:
            out.print(renderable)
    text = captured.get()
    sys.stdout.write("".join(line.rstrip() + "\n" for line in text.splitlines()))


def print_json(document: Any) -> None:
    """Print ``document`` as indented JSON (``\\uXXXX`` escapes for what UTF-8 cannot encode, such as a lone surrogate)."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(document, indent=2)
    print(text)


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``runs`` subcommand and its ``list``, ``show``, ``compare`` and ``check`` subcommands."""
    parser = subparsers.add_parser(
        "runs",
        parents=parents,
        help="list, show, compare and check run records",
        description=(
            "Read the run records that `nb2prod run` writes. RUN is an id, a unique id prefix, "
            "a path to a run folder or its run.json, or `latest`."
        ),
    )
    common = argparse.ArgumentParser(add_help=False, parents=parents)
    common.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, metavar="DIR", help=f"where the runs are (default: {DEFAULT_RUNS_DIR})")
    common.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    commands = parser.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", required=True)

    listing = commands.add_parser(
        "list", parents=[common], help="a table of runs, newest first", description="A table of runs, newest first."
    )
    listing.add_argument("--notebook", metavar="NAME", help="only runs of this notebook (stem, file name or path)")
    listing.add_argument("--status", choices=STATUSES, help="only runs with this status")
    listing.add_argument("--limit", type=positive_int, metavar="N", help="at most N runs")
    listing.add_argument("--sweep", metavar="SWEEP", help="only the runs of this sweep (its id, a unique prefix, or latest)")
    listing.set_defaults(handler=run_list)

    show = commands.add_parser("show", parents=[common], help="everything in one run record", description="Everything in one run record.")
    show.add_argument("run", metavar="RUN")
    show.set_defaults(handler=run_show)

    compare = commands.add_parser(
        "compare",
        parents=[common],
        help="parameters and metrics of runs side by side",
        description="Parameters and metrics of two or more runs side by side; rows that differ are marked *, "
        "numeric metrics show their difference to the first run.",
    )
    compare.add_argument("runs", nargs="*", metavar="RUN")
    compare.add_argument(
        "--sweep", metavar="SWEEP", help="compare the runs of this sweep (its id, a unique prefix, or latest), oldest first"
    )
    compare.set_defaults(handler=run_compare)

    check = commands.add_parser(
        "check",
        parents=[common],
        help="exit 1 unless the run's metrics pass thresholds",
        description="Check a run's metrics against thresholds: exit 0 when all pass, 1 when any fails (a missing "
        "metric and a run whose status is not ok fail too), 2 for a malformed expression.",
    )
    check.add_argument("run", metavar="RUN")
    check.add_argument(
        "--metric",
        "-m",
        dest="metrics",
        action="append",
        required=True,
        metavar="EXPR",
        help="NAME OP VALUE with OP one of >= <= > < == != (repeatable), e.g. 'accuracy>=0.9'",
    )
    check.set_defaults(handler=run_check)

    report = commands.add_parser(
        "report",
        parents=parents,
        help="the runs dashboard: one self-contained HTML page",
        description="Write one HTML page about runs that opens with no network access: the runs table (sortable), "
        "each metric against each swept parameter, each notebook's metric history, the best run, every run's "
        "parameters and environment, and links to the executed notebooks (rendered next to the page, in "
        "REPORT_files/). Runs: those of --sweep, or the RUNs named, or every run of --notebook, or every run.",
    )
    report.add_argument("runs", nargs="*", metavar="RUN", help="runs to report on (id, unique prefix, path or `latest`)")
    report.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, metavar="DIR", help=f"where the runs are (default: {DEFAULT_RUNS_DIR})")
    report.add_argument("--sweep", metavar="ID", help="the runs of this sweep")
    report.add_argument("--notebook", metavar="NAME", help="only runs of this notebook (stem, file name or path)")
    report.add_argument("-o", "--output", default="report.html", metavar="FILE", help="the page to write (default: report.html)")
    report.add_argument(
        "--best",
        metavar="METRIC",
        help="the metric that picks the best run: NAME, max:NAME or min:NAME (default: the first metric; "
        "lower is better when its name says loss, error, time…)",
    )
    report.add_argument("--title", help="the page's title (default: the sweep or the notebooks)")
    report.add_argument("--no-notebooks", action="store_true", help="do not render the executed notebooks (faster; no links)")
    report.set_defaults(handler=run_report)

    promote = commands.add_parser(
        "promote",
        parents=parents,
        help="record which run's model is in production (or another stage)",
        description="Point a stage (default: production) at a run that finished ok: rewrites <runs dir>/stages.json "
        "atomically and appends a line to the audit trail. The stage's name then names the run "
        "(`nb2prod runs show production`), and `nb2prod drift DATA` checks against it.",
    )
    promote.add_argument("run", metavar="RUN")
    promote.add_argument("--stage", default="production", help="the stage (default: production)")
    promote.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, metavar="DIR", help=f"where the runs are (default: {DEFAULT_RUNS_DIR})")
    promote.set_defaults(handler=run_promote)

    metrics = commands.add_parser(
        "metrics",
        parents=parents,
        help="the latest runs, stages and drift decisions for Prometheus (OpenMetrics text)",
        description="Write the latest run of each notebook, the promoted runs and the latest drift decision per profile "
        "as OpenMetrics text (ending with # EOF), for node_exporter's textfile collector; the file is replaced atomically.",
    )
    metrics.add_argument("--openmetrics", action="store_true", help="OpenMetrics text exposition (the only format; the default)")
    metrics.add_argument("-o", "--output", metavar="FILE", help="write here atomically (default: print)")
    metrics.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, metavar="DIR", help=f"where the runs are (default: {DEFAULT_RUNS_DIR})")
    metrics.set_defaults(handler=run_metrics)


# --- list -----------------------------------------------------------------------------------------


def _sweep_id(reference: str, runs_dir: str) -> str:
    """The id of the sweep ``reference`` names (id, unique prefix, ``latest``, path); as given when no sweep.json says."""
    from .. import RecordError, find_sweep

    try:
        return find_sweep(reference, runs_dir).id
    except RecordError:
        return reference


def run_list(args: argparse.Namespace) -> int:
    """Print the table of runs (or JSON); no runs is a note on stderr, a damaged record an error line (exit 2)."""
    sweep = _sweep_id(args.sweep, args.runs_dir) if args.sweep else None
    entries = list_runs(args.runs_dir, notebook=args.notebook, status=args.status, sweep=sweep, limit=args.limit)
    records = [entry for entry in entries if isinstance(entry, RunRecord)]
    damaged = [entry for entry in entries if isinstance(entry, DamagedRecord)]
    if args.format == "json":
        print_json([record_json(record) for record in records])
    elif entries:
        _print_list(entries, records)
    if not entries:
        filters = [f"notebook {args.notebook}" if args.notebook else "", f"status {args.status}" if args.status else ""]
        filters.append(f"sweep {sweep}" if sweep else "")
        shown = " and ".join(f for f in filters if f)
        note = f"no runs with {shown}" if shown else "no runs yet (run a notebook with `nb2prod run NOTEBOOK`)"
        print(printable(f"{args.runs_dir}: {note}"), file=sys.stderr)
    for entry in damaged:
        print_error(entry.error)
    return EXIT_INPUT if damaged else EXIT_OK


def _print_list(entries: Sequence[RunRecord | DamagedRecord], records: Sequence[RunRecord]) -> None:
    from rich.table import Table

    parameters, metrics = key_parameters(records), key_metrics(records)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "notebook", "status", "duration", "parameters", "metrics"):
        table.add_column(column, no_wrap=column in ("id", "status", "duration"), justify="right" if column == "duration" else "left")
    for record in entries:
        if isinstance(record, DamagedRecord):
            table.add_row(record.id, "—", _status_text("damaged"), "—", record.reason, "")
            continue
        table.add_row(
            record.id,
            record.notebook,
            _status_text(record.status),
            format_duration(record.duration_s),
            _abbreviated(record.parameters, parameters),
            _abbreviated(record.metrics, metrics),
        )
    emit(table)


def _abbreviated(values: dict[str, Any], order: Sequence[str]) -> str:
    """``name=value`` pairs of the first LIST_NAMES names of ``order`` the run has, then ``+N``."""
    present = [name for name in order if name in values]
    shown = " ".join(f"{name}={format_value(values[name], width=16)}" for name in present[:LIST_NAMES])
    rest = len(present) - LIST_NAMES
    return f"{shown} +{rest}" if rest > 0 else shown


def _status_text(status: str) -> Any:
    from rich.text import Text

    return Text(printable(status), style=_STATUS_STYLE.get(status, "yellow"))


# --- show -----------------------------------------------------------------------------------------


def run_show(args: argparse.Namespace) -> int:
    """Print one record in full."""
    record = find_record(args.run, args.runs_dir)
    if args.format == "json":
        print_json(record_json(record))
        return EXIT_OK
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in _summary(record):
        grid.add_row(label, value)
    parts: list[Any] = [grid]
    sections = {
        "parameters": {name: format_value(value, width=None) for name, value in record.parameters.items()},
        "metrics": {name: format_value(value, width=None) for name, value in record.metrics.items()},
        "inputs": dict(record.inputs),
        "packages": {name: str(version) for name, version in sorted(record.environment.get("packages", {}).items())},
    }
    for title, rows in sections.items():
        parts += ["", Text(f"{title} ({len(rows)})" if rows else f"{title}: none", style="bold")]
        if rows:
            section = Table.grid(padding=(0, 2))
            section.add_column(no_wrap=True)
            section.add_column()
            for name, value in rows.items():
                section.add_row(f"  {name}", value)
            parts.append(section)
    emit(*parts)
    return EXIT_OK


def _summary(record: RunRecord) -> list[tuple[str, Any]]:
    """Label and value of each top-level field of the record."""
    git = record.git or {}
    commit = f"{git['commit']}{' (uncommitted changes)' if git.get('dirty') else ''}" if git.get("commit") else "not a git repository"
    environment = record.environment
    rows: list[tuple[str, Any]] = [
        ("run", record.id),
        ("notebook", record.notebook),
        ("notebook sha256", record.notebook_sha256 or "—"),
        ("status", _status_text(record.status)),
    ]
    if record.error:
        rows.append(("error", describe_error(record) + (f", cell id {record.error['cell_id']}" if record.error.get("cell_id") else "")))
    rows += [
        ("started", record.started),
        ("finished", record.finished or "—"),
        ("duration", format_duration(record.duration_s)),
        ("kernel", record.kernel or "—"),
        ("git", commit),
        ("python", str(environment.get("python", "—"))),
        ("platform", str(environment.get("platform", "—"))),
        ("nb2prod", record.nb2prod_version or "—"),
        ("schema", record.schema),
        ("directory", str(record.directory)),
        ("output", str(record.output_path)),
    ]
    return rows


# --- compare --------------------------------------------------------------------------------------


def run_compare(args: argparse.Namespace) -> int:
    """Print the runs side by side, differing rows marked."""
    records: list[RunRecord] = []
    errors: list[RecordError] = []
    if bool(args.runs) == bool(args.sweep):
        raise UsageError("give the RUNs to compare, or --sweep SWEEP, not both", hint="e.g. `nb2prod runs compare --sweep latest`")
    if args.sweep:
        sweep = _sweep_id(args.sweep, args.runs_dir)
        entries = list_runs(args.runs_dir, sweep=sweep)[::-1]  # oldest first: the sweep's order
        if not entries:
            hint = "`nb2prod runs list --sweep latest` lists a sweep's runs"
            raise RecordError(f"no runs of sweep {sweep}", path=args.runs_dir, hint=hint)
        records = [entry for entry in entries if isinstance(entry, RunRecord)]
        errors = [entry.error for entry in entries if isinstance(entry, DamagedRecord)]
    for reference in args.runs:  # every run that cannot be read is named, not only the first
        try:
            records.append(find_record(reference, args.runs_dir))
        except RecordError as error:
            errors.append(error)
    shown = set()
    for error in errors:  # a missing runs folder is one error, not one per run named
        if (error.path, error.message) not in shown:
            shown.add((error.path, error.message))
            print_error(error)
    if errors:
        return EXIT_INPUT
    with about(records[0].directory):
        comparison = compare_runs(records)
    if args.format == "json":
        print_json(comparison.to_json())
        return EXIT_OK
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("", no_wrap=True)
    table.add_column("", no_wrap=True)
    for record in records:
        table.add_column(record.id, no_wrap=True)
    table.add_row("", "run", style="bold")
    for name, values in (
        ("notebook", [r.notebook for r in records]),
        ("status", [r.status for r in records]),
        ("duration", [format_duration(r.duration_s) for r in records]),
    ):
        differs = name != "duration" and len(set(values)) > 1
        table.add_row("*" if differs else "", name, *values, style="bold yellow" if differs else None)
    for title, rows in (("parameters", comparison.parameters), ("metrics", comparison.metrics)):
        table.add_section()
        table.add_row("", title if rows else f"{title}: none", style="bold")
        for row in rows:
            cells = [_cell(value, delta) for value, delta in zip(row.values, row.deltas, strict=True)]
            table.add_row("*" if row.differs else "", row.name, *cells, style="bold yellow" if row.differs else None)
    emit(table)
    differing = [row.name for row in (*comparison.parameters, *comparison.metrics) if row.differs]
    print(f"{len(differing)} of {len(comparison.parameters) + len(comparison.metrics)} parameters and metrics differ (*)")
    return EXIT_OK


def _cell(value: Any, delta: float | None) -> str:
    text = format_value(value, width=24)
    return f"{text} ({format_delta(delta)})" if delta is not None else text


# --- check ----------------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    """Check the thresholds; exit 1 naming the failures."""
    expressions = [parse_metric_expression(text) for text in args.metrics]  # malformed: exit 2 before reading anything
    record = find_record(args.run, args.runs_dir)
    results = check_run(record, expressions)
    failed = [result for result in results if not result.passed]
    if args.format == "json":
        print_json({"run": record.id, "notebook": record.notebook, "passed": not failed, "results": [r.to_json() for r in results]})
        return EXIT_FINDINGS if failed else EXIT_OK
    from rich.text import Text

    lines: list[Any] = [f"run {record.id} ({record.notebook}, status {record.status})"]
    checks = [printable(result.check) for result in results]  # Text is not escaped by the console
    width = max(len(check) for check in checks)
    for check, result in zip(checks, results, strict=True):
        line = Text("PASS  ", style="green") if result.passed else Text("FAIL  ", style="bold red")
        line.append(printable(f"{check:<{width}}  {result.reason or f'{result.name} = {format_value(result.value, width=None)}'}"))
        lines.append(line)
    if failed:
        failures = ", ".join(printable(r.check) for r in failed)
        lines.append(Text(f"{len(failed)} of {len(results)} checks failed: {failures}", style="bold red"))
    else:
        lines.append(Text("1 check passed" if len(results) == 1 else f"all {len(results)} checks passed", style="green"))
    emit(*lines)
    return EXIT_FINDINGS if failed else EXIT_OK


# --- report ---------------------------------------------------------------------------------------


def run_report(args: argparse.Namespace) -> int:
    """Write the report; say where, how big, and name the damaged records (exit 2 for those, the page written all the same)."""
    from .. import runs_report as write_report

    result = write_report(
        args.output,
        runs_dir=args.runs_dir,
        sweep=args.sweep,
        runs=args.runs,
        notebook=args.notebook,
        best=args.best,
        title=args.title,
        notebooks=not args.no_notebooks,
    )
    runs = len(result.data.records)
    line = f"wrote {args.output} ({_size(result.size)}, {runs} run{'' if runs == 1 else 's'})"
    if result.notebooks is not None:
        count = result.rendered
        line += f" and {count} executed notebook{'' if count == 1 else 's'} in {result.notebooks} ({_size(result.notebooks_size)})"
    print(printable(line))
    for entry in result.data.damaged:
        print_error(entry.error)
    return EXIT_INPUT if result.data.damaged else EXIT_OK


def _size(count: int) -> str:
    return f"{count} bytes" if count < 1024 else f"{count / 1024:.0f} KB" if count < 1024 * 1024 else f"{count / 1024 / 1024:.1f} MB"


def run_promote(args: argparse.Namespace) -> int:
    """Promote a run to a stage and say so."""
    from .. import promote

    line = promote(args.run, args.stage, runs_dir=args.runs_dir)
    run = line["run"]
    was = f" (was {line['previous']})" if line["previous"] and line["previous"] != run["id"] else ""
    print(printable(f"promoted run {run['id']} of {run['notebook']} to {line['stage']}{was}; audit line {line['seq']}"))
    return EXIT_OK


def run_metrics(args: argparse.Namespace) -> int:
    """Print or write the OpenMetrics exposition."""
    from .. import render_openmetrics as render

    text = render(args.runs_dir)
    if args.output:
        from .. import atomic_write

        atomic_write(args.output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return EXIT_OK
