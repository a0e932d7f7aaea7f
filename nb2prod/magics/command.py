"""``%nb2prod COMMAND [ARGS]``: parse as the CLI parses, call the API, display the result.

The arguments go through the CLI's own parser (``nb2prod.cli.build_parser``), so options and
their errors are the same; where the CLI needs a notebook and none is given, the magic uses the
notebook this kernel runs. A usage error or an ``Nb2prodError`` shows one line on stderr, never a
traceback, and the kernel goes on. ``--help`` prints the CLI's help.

``lint`` adds the live rules (NB111-NB114) from this kernel's history when it lints the kernel's
own notebook, and says which file it linted and when that file was saved: what the rules see is
the saved file, not the unsaved edits in the browser.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nb2prod

from .kernel import current_notebook, kernel_state

#: The subcommands the magic offers; the others (strip, fmt, rules…) rewrite or describe files and
#: are for the shell. Optional positional arguments: filled with the current notebook when left out.
COMMANDS = ("lint", "params", "export", "run", "verify", "runs", "watch")
_NOTEBOOK_ARGUMENTS = {"paths": "*", "notebook": "?"}
USAGE = "usage: %nb2prod {" + ",".join(COMMANDS) + "} [ARGS]  (%nb2prod COMMAND --help for its options)"


class _Stop(Exception):
    """Parsing ended: help was printed, or a usage error was shown."""


def run(line: str) -> None:
    """Run ``%nb2prod LINE`` in the current shell: errors become one line on stderr, never a traceback."""
    from IPython import get_ipython

    shell = get_ipython()
    try:
        args = parse(line)
        _dispatch(args, shell)
    except _Stop:
        return
    except nb2prod.Nb2prodError as error:
        _error(str(error))
    except KeyboardInterrupt:
        _error("nb2prod: interrupted")
    except Exception as error:  # a bug must not print a traceback into the user's notebook either
        _error(f"nb2prod: internal error: {type(error).__name__}: {error} (please report it at https://github.com/nb2prod/nb2prod/issues)")


def _error(text: str) -> None:
    print(nb2prod.printable(text), file=sys.stderr)


def parse(line: str) -> argparse.Namespace:
    """The namespace the CLI's parser makes of ``line``; raises ``_Stop`` after printing help or one error line."""
    from ..cli import build_parser
    from ..cli import parse as cli_parse

    try:
        words = shlex.split(line)
    except ValueError as error:
        _error(f"%nb2prod: error: {error}")
        raise _Stop from None
    if not words or words[0] in ("-h", "--help"):
        print(USAGE)
        if words:
            print("commands: " + ", ".join(COMMANDS) + "; the notebook defaults to the one this kernel runs")
            print("watch [on|off]: after each cell, warn when it used a name whose defining cell is gone from the saved notebook")
        raise _Stop
    if words[0] not in COMMANDS:
        close = __import__("difflib").get_close_matches(words[0], COMMANDS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else f" (choose from {', '.join(COMMANDS)})"
        _error(f"%nb2prod: error: unknown command '{words[0]}'{hint}")
        raise _Stop
    if words[0] == "watch":
        return _watch_arguments(words[1:])
    if words[0] == "runs" and (len(words) == 1 or (words[1].startswith("-") and words[1] not in ("-h", "--help"))):
        words.insert(1, "list")
    parser = build_parser()
    _optional_notebook(parser)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return cli_parse(parser, words)
    except SystemExit as stop:
        if out.getvalue():
            print(out.getvalue().replace("usage: nb2prod", "usage: %nb2prod"), end="")
        lines = [text for text in err.getvalue().splitlines() if text.strip()]
        if stop.code not in (0, None) and lines:
            _error("%" + lines[-1])  # argparse's "nb2prod lint: error: ..." line, without the usage above it
        raise _Stop from None


def _watch_arguments(words: list[str]) -> argparse.Namespace:
    """``watch [on|off] [NOTEBOOK]``: the magic's own command (a hook in this kernel; the CLI has no such thing)."""
    parser = argparse.ArgumentParser(
        prog="%nb2prod watch",
        description="After each cell, print one line when the cell used a name whose defining cell is no longer in the saved "
        "notebook. `off` removes the hook (so does %unload_ext nb2prod).",
    )
    parser.add_argument("state", nargs="?", choices=("on", "off"), default="on")
    parser.add_argument("notebook", nargs="?", metavar="NOTEBOOK", help="default: the notebook this kernel runs")
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(words)
    except SystemExit as stop:
        print(out.getvalue(), end="")
        lines = [text for text in err.getvalue().splitlines() if text.strip()]
        if stop.code not in (0, None) and lines:
            _error(lines[-1])
        raise _Stop from None
    args.command = "watch"
    return args


def _optional_notebook(parser: argparse.ArgumentParser) -> None:
    """Make the notebook argument of the magic's commands optional (the current notebook fills it in)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if name not in COMMANDS:
                    continue
                for argument in sub._actions:
                    if argument.dest in _NOTEBOOK_ARGUMENTS and not argument.option_strings:
                        argument.nargs = _NOTEBOOK_ARGUMENTS[argument.dest]
                        argument.required = False
                        argument.default = [] if argument.nargs == "*" else None


def _notebook(shell: Any) -> Path:
    found = current_notebook(shell)
    if found is None:
        raise nb2prod.UsageError(
            "cannot tell which notebook this kernel runs",
            hint="pass its path, e.g. %nb2prod lint train.ipynb",
        )
    return found


def _show(result: Any) -> None:
    from IPython.display import display

    display(nb2prod.show(result))


def _dispatch(args: argparse.Namespace, shell: Any) -> None:
    command = args.command
    if command == "lint":
        _lint(args, shell)
    elif command == "params":
        args.notebook = args.notebook or str(_notebook(shell))
        if args.format == "json":
            args.handler(args)  # the CLI's JSON document, secrets masked as there
        else:
            _show(nb2prod.params(args.notebook))
    elif command == "export":
        paths = args.paths or [_notebook(shell)]
        options = ("out", "name", "into", "check", "diff", "force", "pin", "template_dir", "all_cells", "formatter")
        _show(nb2prod.export(paths, **{name: getattr(args, name) for name in options}))
    elif command == "run":
        _run_notebook(args, shell)
    elif command == "verify":
        from ..cli.run import parse_assignments

        overrides = parse_assignments(args.overrides)
        result = nb2prod.verify(
            args.run, runs_dir=args.runs_dir, rtol=args.rtol, atol=args.atol, overrides=overrides, timeout=args.timeout, cwd=args.cwd
        )
        _show(result)
    elif command == "watch":
        from .watch import start, stop

        if args.state == "off":
            print("nb2prod watch: off" if stop(shell) else "nb2prod watch: was not on")
        else:
            watcher = start(shell, Path(args.notebook) if args.notebook else _notebook(shell))
            print(nb2prod.printable(f"nb2prod watch: on for {watcher.notebook} (`%nb2prod watch off` to stop)"))
    elif command == "runs" and args.runs_command == "list" and args.format == "text":
        _show(nb2prod.list_runs(args.runs_dir, notebook=args.notebook, status=args.status, limit=args.limit))
    elif command == "runs" and args.runs_command == "show" and args.format == "text":
        _show(nb2prod.find_record(args.run, args.runs_dir))
    else:  # runs compare/check and JSON output: what the CLI prints
        args.handler(args)


def _run_notebook(args: argparse.Namespace, shell: Any) -> None:
    from ..cli.run import parse_assignments

    path = args.notebook or _notebook(shell)
    strings = parse_assignments(args.parameters)
    file = args.parameters_file
    values = nb2prod.ParameterValues(nb2prod.load_parameters_file(file), source=file) if file else None
    record = nb2prod.run_notebook(
        path, strings=strings, values=values, runs_dir=args.runs_dir, timeout=args.timeout, kernel=args.kernel, cwd=args.cwd
    )
    if args.format == "json":
        print(json.dumps(nb2prod.record_json(record), indent=2, ensure_ascii=False))
    else:
        _show(record)


def _lint(args: argparse.Namespace, shell: Any) -> None:
    if args.fix:
        raise nb2prod.UsageError("--fix rewrites the saved notebook under the open editor", hint="run `nb2prod lint --fix` in a shell")
    here = current_notebook(shell)
    paths = args.paths or [_notebook(shell)]
    live = len(paths) == 1 and Path(paths[0]).is_file() and (here is None or Path(paths[0]).resolve() == here.resolve())
    state = kernel_state(shell) if live else None
    results = nb2prod.lint(paths, select=args.select, ignore=args.ignore, ruff=args.ruff, kernel=state)
    for path in paths:
        results.header.append(_linted(Path(path), live=live))
    if args.format != "text":
        report = nb2prod.lint_report
        renderers = {"json": report.render_json, "github": report.render_github}
        if args.format in renderers:
            text = renderers[args.format](results)
        else:
            text = report.render_sarif(results, nb2prod.rules(), tool_version=nb2prod.__version__)
        if args.output:
            nb2prod.atomic_write(args.output, (text + "\n").encode("utf-8"))
        else:
            print(text)
        return
    if args.output:
        nb2prod.atomic_write(args.output, (results.text() + "\n").encode("utf-8"))
    _show(results)


def _linted(path: Path, *, live: bool) -> str:
    """``linted train.ipynb (saved 2026-12-06 21:05:13 UTC, 3 min ago); live checks: this kernel's history``."""
    try:
        saved = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except OSError:
        return f"linted {path}"
    ago = int((datetime.now(timezone.utc) - saved).total_seconds())
    age = f"{ago} s ago" if ago < 120 else f"{ago // 60} min ago" if ago < 7200 else f"{ago // 3600} h ago"
    checks = "live checks against this kernel" if live else "no live checks (not this kernel's notebook)"
    return f"linted {path} (saved {saved:%Y-%m-%d %H:%M:%S} UTC, {age}); {checks}"
