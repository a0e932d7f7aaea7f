"""``nb2prod drift RUN DATA...``: the command-line adapter over ``nb2prod.drift.check_files``.

Exit 0 when the gate passes, 1 when it fails, 2 for bad input (a missing run or profile, a data
file that cannot be read, a malformed ``--fail-on``). ``--fail-on`` items replace the configured
or default gate (``fail``); settings come from ``[tool.nb2prod.drift]`` and the flags override them.

Each decision is stored in the runs folder (``nb2prod.audit.record_drift``: the result document,
then the audit line naming it; ``--no-audit`` stores neither) and, with ``--webhook-env VAR``,
POSTed to the URL in ``$VAR`` (``nb2prod.alerts``): a failed POST is a warning, never the exit
code. With no RUN (the first argument is a data file) the reference is the run promoted to
production (``nb2prod runs promote``).

``--engine evidently`` judges the columns with Evidently's DataDriftPreset instead (an optional
extra, ``pip install 'nb2prod[evidently]'``), against the raw reference data (``--reference DATA``,
or the files the profile was made from: ``nb2prod.drift.engines``); same outputs, gates, exit
codes and audit line, with the engine named in both. nb2prod's thresholds, alpha and HTML report
do not apply to it and are refused.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

from .. import DEFAULT_RUNS_DIR, DRIFT_METRICS, EXIT_FINDINGS, EXIT_OK, UsageError, load_config, printable
from .profile import names
from .runs import emit, positive_int, print_json

_STYLE = {"fail": "bold red", "warn": "yellow", "ok": "green", "insufficient": "magenta", "new": "cyan", "absent": "cyan"}


def threshold(text: str) -> tuple[str, tuple[float, float]]:
    """An argparse type: ``METRIC=WARN,FAIL`` (``psi=0.2,0.3``)."""
    metric, _, values = text.partition("=")
    parts = values.split(",")
    if metric not in DRIFT_METRICS or len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected METRIC=WARN,FAIL with METRIC one of {', '.join(DRIFT_METRICS)}, got {text!r}")
    try:
        warn, fail = float(parts[0]), float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"thresholds must be numbers, got {text!r}") from None
    if not (math.isfinite(warn) and math.isfinite(fail) and 0 <= warn <= fail):
        raise argparse.ArgumentTypeError(f"need 0 <= WARN <= FAIL, got {text!r}")
    return metric, (warn, fail)


def alpha(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``drift`` subcommand."""
    parser = subparsers.add_parser(
        "drift",
        parents=parents,
        help="check new data against the data profile a run stored",
        description=(
            "Check each column of new data against a training run's profile (no training data needed): PSI gates, "
            "guarded by a chi-square test so that neither small nor very large batches raise false alarms; "
            "Jensen-Shannon, KS D and Wasserstein reported; missing-share change, out-of-range share, unseen categories "
            "and schema changes. Every metric is 'higher is drift'. Exit 0 pass, 1 the gate failed, 2 bad input. "
            "RUN is a run id, a unique prefix, a run folder, `latest`, or a profile file."
        ),
    )
    parser.add_argument(
        "run",
        metavar="RUN",
        help="the reference; left out (the first argument is a data file), the run promoted to production (`nb2prod runs promote`)",
    )
    parser.add_argument("data", nargs="*", metavar="DATA", help="new data files: CSV, TSV, Parquet or JSON lines (one batch)")
    parser.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, metavar="DIR", help=f"where the runs are (default: {DEFAULT_RUNS_DIR})")
    parser.add_argument("--profile", metavar="NAME", help="which of the run's profiles (default: train, or the only one)")
    parser.add_argument("--columns", type=names, metavar="A,B", help="check only these columns")
    parser.add_argument("--exclude", type=names, default=[], metavar="A,B", help="do not check these columns")
    parser.add_argument(
        "--fail-on",
        action="append",
        metavar="GATE",
        help="exit 1 when: fail (default: a column at fail level or a schema failure), warn, schema (also new columns), "
        "insufficient, or an expression such as 'psi[age]>0.4', 'psi>0.3', 'share>=0.5' (repeatable: any one fails)",
    )
    parser.add_argument("--threshold", type=threshold, action="append", default=[], metavar="METRIC=WARN,FAIL", help="e.g. psi=0.2,0.3")
    parser.add_argument("--min-rows", type=positive_int, metavar="N", help="fewer rows than this: insufficient (default: 100)")
    parser.add_argument(
        "--alpha", type=alpha, metavar="A", help="significance level for the whole batch, Bonferroni-split over columns (default: 0.005)"
    )
    parser.add_argument(
        "--engine",
        choices=("nb2prod", "evidently"),
        default="nb2prod",
        help="who judges the columns: nb2prod (default, from the profile alone) or evidently "
        "(Evidently's DataDriftPreset on the raw reference data; pip install 'nb2prod[evidently]')",
    )
    parser.add_argument(
        "--reference",
        action="append",
        default=[],
        metavar="DATA",
        help="with --engine evidently: the raw reference data (default: the files the profile was made from, if unchanged); repeatable",
    )
    parser.add_argument("--format", choices=("table", "json", "github"), default="table", help="output format (default: table)")
    parser.add_argument("--report", metavar="FILE", help="also write a self-contained HTML report")
    parser.add_argument(
        "--webhook-env",
        metavar="VAR",
        help="POST the decision's audit line as JSON to the URL in environment variable VAR (the URL is never printed; "
        "a failed POST is a warning and never changes the decision or the exit code)",
    )
    parser.add_argument("--webhook-timeout", type=float, default=5.0, metavar="S", help="seconds to wait for the webhook (default: 5)")
    parser.add_argument(
        "--no-audit", action="store_true", help="do not store the decision (result document and audit line) in the runs folder"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check, print, write the report; return 1 when the gate fails."""
    from .. import DEFAULT_DRIFT_ALPHA, DEFAULT_DRIFT_MIN_ROWS, DriftOptions, atomic_write, check_drift, drift_reference, parse_drift_gate

    config = load_config().drift
    fail_on = tuple(args.fail_on or config.fail_on or ("fail",))
    for item in fail_on:  # a malformed gate is exit 2 before any data is read
        parse_drift_gate(item)
    options = DriftOptions(
        thresholds={**config.thresholds, **dict(args.threshold)},
        column_thresholds=config.column_thresholds,
        ignore=(*config.ignore, *args.exclude),
        columns=args.columns,
        alpha=args.alpha or config.alpha or DEFAULT_DRIFT_ALPHA,
        min_rows=args.min_rows or config.min_rows or DEFAULT_DRIFT_MIN_ROWS,
        fail_on=fail_on,
    )
    _check_engine_flags(args)
    run_ref, data = _reference_and_data(args.run, args.data, args.runs_dir)
    reference = drift_reference(run_ref, runs_dir=args.runs_dir, profile_name=args.profile)
    if args.report and any(_same_file(args.report, path) for path in (*data, reference.path)):
        raise UsageError("the report would overwrite an input", path=args.report, hint="write the report to another file")
    result = check_drift(reference, data, options, engine=args.engine, reference_data=args.reference)
    code = EXIT_FINDINGS if result.failed else EXIT_OK
    if args.report:
        from .. import render_drift_html

        atomic_write(args.report, render_drift_html(result).encode("utf-8", "surrogateescape"))
    document = result.to_json()
    document["reference"].update({"path": str(reference.path), "sha256": reference.sha256, "run": reference.run_id})
    document["data"] = list(data)
    if not args.no_audit:
        from .. import record_drift

        compared: dict[str, Any] = {
            "run": reference.run_id,
            "profile": result.profile.get("name"),
            "path": str(reference.path),
            "sha256": reference.sha256.removeprefix("sha256:"),
        }
        if result.engine != "nb2prod":  # the line names the engine and the raw reference data it compared against
            compared.update(engine=result.engine, engine_version=result.engine_info.get("version"))
            compared["data"] = list(result.engine_info.get("reference_data", []))
        line = record_drift(
            args.runs_dir,
            document,
            reference=compared,
            data=data,
            exit_code=code,
            html_report=args.report,
        )
        print(
            f"decision recorded: {os.path.join(args.runs_dir, 'audit.jsonl')} line {line['seq']}, result {line['report']}", file=sys.stderr
        )
        if args.webhook_env:
            _alert(args.webhook_env, line, args.webhook_timeout)
    elif args.webhook_env:
        _alert(
            args.webhook_env, {"event": "drift", "decision": "fail" if result.failed else "pass", "exit_code": code}, args.webhook_timeout
        )
    if args.format == "json":
        print_json(document)
    elif args.format == "github":
        _print_github(result)
    elif result.engine != "nb2prod":
        _print_engine_table(result, reference)
    else:
        _print_table(result, reference)
    return code


def _check_engine_flags(args: argparse.Namespace) -> None:
    """Flags that only one engine understands are refused with the other (exit 2), before anything is read."""
    if args.engine == "nb2prod":
        if args.reference:
            raise UsageError("--reference is for --engine evidently", hint="nb2prod checks against the run's profile alone")
        return
    refused = [flag for flag, given in (("--threshold", args.threshold), ("--alpha", args.alpha), ("--report", args.report)) if given]
    if refused:
        raise UsageError(
            f"{', '.join(refused)}: not used by --engine evidently (it applies Evidently's own methods and thresholds)",
            hint="leave them out, or use the default engine",
        )


def _reference_and_data(run: str, data: list[str], runs_dir: str) -> tuple[str, list[str]]:
    """RUN and the data files; when the first argument is a data file, RUN is the run promoted to production."""
    from .. import DEFAULT_STAGE, DataError, data_format

    try:
        data_format(run)
        looks_like_data = not os.path.isdir(run)
    except DataError:
        looks_like_data = False
    if looks_like_data:
        from .. import stage_run

        if stage_run(DEFAULT_STAGE, runs_dir) is None:
            raise UsageError(
                f"no run is promoted to {DEFAULT_STAGE} in {runs_dir}",
                hint="name the run: nb2prod drift RUN DATA..., or promote one: nb2prod runs promote RUN",
            )
        return DEFAULT_STAGE, [run, *data]
    if not data:
        raise UsageError("no data files given", hint="nb2prod drift [RUN] DATA... (RUN defaults to the run promoted to production)")
    return run, data


def _alert(variable: str, document: Any, timeout: float) -> None:
    """POST to the webhook named by ``variable``; a failure is a warning on stderr, never the exit code."""
    from .. import post_json, webhook_url

    url = webhook_url(variable)
    warning = (
        f"environment variable {variable} is not set; no alert sent"
        if url is None
        else post_json(url, document, timeout=timeout, label=f"webhook ${variable}")
    )
    if warning:
        print(f"nb2prod drift: warning: {printable(warning)}", file=sys.stderr)


def _same_file(left: str, right: Any) -> bool:
    import os

    return os.path.realpath(left) == os.path.realpath(right)


def _number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return ""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"


def _print_table(result: Any, reference: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    source = f"run {reference.run_id}, profile {result.profile.get('name')!r}" if reference.run_id else str(reference.path)
    lines: list[Any] = [f"{source}: {result.profile.get('rows', 0):,} reference rows; {result.rows:,} new rows"]
    table = Table(box=None, pad_edge=False, header_style="bold")
    headers = ("column", "kind", "status", "n_ref", "n_new", "psi", "p", "js", "ks", "w1/sd", "Δmissing", "out-of-range", "unseen", "note")
    for header in headers:
        table.add_column(header, justify="left" if header in ("column", "kind", "status", "note") else "right")
    for column in result.columns:
        psi = column.metric("psi")
        missing = column.metric("missing")
        notes = column.notes + [m.detail for m in column.metrics if m.detail and m.status != "ok"]
        table.add_row(
            column.name,
            column.kind,
            Text(column.status, style=_STYLE.get(column.status, "")),
            f"{column.n_ref:,}" if column.n_ref else "",
            f"{column.n_new:,}" if column.n_new else "",
            _number(psi.value) if psi else "",
            _number(psi.p_value, 2) if psi and psi.p_value is not None else "",
            _number(column.value("js")),
            _number(column.value("ks")),
            _number(column.value("w1")),
            _number(missing.value) if missing else "",
            _number(column.value("out_of_range")),
            _number(column.value("unseen")),
            printable("; ".join(notes))[:120],
        )
    lines.append(table)
    options = result.options
    limits = ", ".join(f"{metric} > {w:g} warn, > {f:g} fail" for metric, (w, f) in ((m, options.threshold("", m)) for m in DRIFT_METRICS))
    lines.append(
        f"every metric: higher is drift. Gated: {limits}; each only when significant at p < {result.alpha:.2g} "
        f"(alpha {options.alpha:g} over {result.summary()['checked']} columns). Reported: js, ks, w1/sd (Wasserstein / reference std)."
    )
    summary = result.summary()
    counts = ", ".join(f"{summary[s]} {s}" for s in ("fail", "warn", "ok", "insufficient", "unsupported", "new") if summary[s])
    if result.failed:
        reasons = "; ".join(result.gate_reasons[:10]) + (" …" if len(result.gate_reasons) > 10 else "")
        lines.append(Text(printable(f"drift gate FAILED ({', '.join(options.fail_on)}): {reasons}"), style="bold red"))
    else:
        lines.append(Text(f"drift gate passed ({', '.join(options.fail_on)}): {counts}", style="green"))
    emit(*lines)


def _print_engine_table(result: Any, reference: Any) -> None:
    """The table of a check judged by another engine: its method, score and threshold per column."""
    from rich.table import Table
    from rich.text import Text

    info = result.engine_info
    source = f"run {reference.run_id}, profile {result.profile.get('name')!r}" if reference.run_id else str(reference.path)
    raw = ", ".join(item["path"] for item in info.get("reference_data", []))
    lines: list[Any] = [
        f"engine {info.get('name')} {info.get('version')} ({info.get('preset')}): {source}; reference data {raw}; {result.rows:,} new rows"
    ]
    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in ("column", "kind", "status", "n_ref", "n_new", "method", "score", "drift when", "note"):
        table.add_column(header, justify="right" if header in ("n_ref", "n_new", "score") else "left")
    for column in result.columns:
        metric = next((m for m in column.metrics if m.method is not None), None)
        when = ""
        if metric is not None:
            when = f"< {metric.alpha:g}" if metric.direction == "lower_is_drift" else f">= {metric.fail:g}"
        table.add_row(
            column.name,
            column.kind,
            Text(column.status, style=_STYLE.get(column.status, "")),
            f"{column.n_ref:,}" if column.n_ref else "",
            f"{column.n_new:,}" if column.n_new else "",
            printable(metric.method) if metric else "",
            _number(metric.value) if metric else "",
            when,
            printable("; ".join(column.notes))[:120],
        )
    lines.append(table)
    summary = result.summary()
    counts = ", ".join(f"{summary[s]} {s}" for s in ("fail", "ok", "insufficient", "unsupported", "new") if summary[s])
    if result.failed:
        reasons = "; ".join(result.gate_reasons[:10]) + (" …" if len(result.gate_reasons) > 10 else "")
        lines.append(Text(printable(f"drift gate FAILED ({', '.join(result.options.fail_on)}): {reasons}"), style="bold red"))
    else:
        lines.append(Text(f"drift gate passed ({', '.join(result.options.fail_on)}): {counts}", style="green"))
    emit(*lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _print_github(result: Any) -> None:
    """GitHub Actions workflow commands: an error per failing column, a warning per warning one, a notice with the decision."""
    for column in result.columns:
        if column.status not in ("fail", "warn"):
            continue
        level = "error" if column.status == "fail" else "warning"
        parts = [
            m.detail
            if m.method is not None
            else f"{m.name} {_number(m.value)} > {m.fail if m.status == 'fail' else m.warn:g} ({m.status}, p={m.p_value:.2g})"
            for m in column.metrics
            if m.status != "ok" and (m.p_value is not None or m.method is not None)
        ]
        message = "; ".join(column.notes + parts)
        print(f"::{level} title={_escape_property('drift: ' + column.name)}::{_escape_data(printable(message))}")
    decision = "failed: " + "; ".join(result.gate_reasons[:10]) if result.failed else "passed"
    print(f"::notice title=nb2prod drift::{_escape_data(printable('drift gate ' + decision))}")
    sys.stdout.flush()
