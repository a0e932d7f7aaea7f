"""``nb2prod runs report``: the runs dashboard, one self-contained HTML page.

The page holds the runs table (sortable), a chart of each metric against each swept parameter,
each notebook's metric history, the best run, and every run's parameters, metrics and
environment. It opens with no network access: charts are inline SVG drawn in Python
(``charts``), the one script (table sorting) and the styles are inlined, and a Content Security
Policy forbids any other script or request. Each run's executed notebook is rendered to HTML with
nbconvert into a folder next to the report (``report_files/``), linked from the page.

- ``data``: which runs, and what the page says about them (``select_runs``, ``gather``);
- ``charts``: the SVG charts;
- ``page``: the view and the Jinja template (``templates/``);
- ``notebooks``: the executed notebooks as pages.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..atomic import atomic_write
from ..errors import WriteError
from ..records import DEFAULT_RUNS_DIR
from .data import BestRule, ReportData, gather, parse_best, select_runs

__all__ = ["BestRule", "ReportData", "ReportResult", "parse_best", "write_report"]


@dataclass(frozen=True)
class ReportResult:
    """What ``write_report`` wrote: the page, its size, and the folder of rendered notebooks."""

    path: Path
    size: int  # bytes of the page
    data: ReportData
    notebooks: Path | None  # the folder of rendered notebooks (None with notebooks=False, or when no run has one)
    rendered: int  # notebooks rendered
    notebooks_size: int  # their bytes
    missing: dict[str, str]  # run id -> why it has no rendered notebook


def write_report(
    output: str | os.PathLike[str],
    *,
    runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR,
    sweep: str | None = None,
    runs: Sequence[str] = (),
    notebook: str | None = None,
    best: str | BestRule | None = None,
    title: str | None = None,
    notebooks: bool = True,
) -> ReportResult:
    """Write the report of some runs to ``output`` (an ``.html`` file) and their executed notebooks next to it.

    The runs: those of ``sweep``, or the ``runs`` named (id, prefix, path, ``latest``), or every
    run of ``notebook``, or every run in ``runs_dir``. ``best`` is ``METRIC``, ``max:METRIC`` or
    ``min:METRIC`` (default: the first metric, lower-is-better when its name says loss, error,
    time…). Raises ``RecordError`` when there is no such run or a named one is damaged,
    ``UsageError`` for bad options; nothing is written then.
    """
    from .notebooks import files_folder, write_notebooks
    from .page import render_notebook_page, render_report

    rule = parse_best(best) if isinstance(best, str) else best
    target = Path(output)
    folder = files_folder(target)
    _check_target(target, folder, shown=os.fspath(output))
    records, damaged = select_runs(runs_dir, sweep=sweep, runs=runs, notebook=notebook)
    data = gather(records, runs_dir=runs_dir, damaged=damaged, best=rule, title=title, sweep=sweep)
    target.parent.mkdir(parents=True, exist_ok=True)  # `-o reports/sweep.html` makes reports/
    links: dict[str, tuple[str | None, str | None]] = {}
    if notebooks:
        back = f"../{quote(target.name)}"

        def around(**parts: object) -> str:
            return render_notebook_page(back=back, **parts)  # type: ignore[arg-type]

        links = write_notebooks(records, folder, template=around)
    page = render_report(data, links, files_url=quote(folder.name)).encode("utf-8")
    atomic_write(target, page, display_path=os.fspath(output))
    written = [folder / name for name, _ in links.values() if name]
    return ReportResult(
        path=target,
        size=len(page),
        data=data,
        notebooks=folder if written else None,
        rendered=len(written),
        notebooks_size=sum(path.stat().st_size for path in written),
        missing={run_id: why for run_id, (name, why) in links.items() if name is None and why},
    )


def _check_target(target: Path, folder: Path, *, shown: str) -> None:
    """Refuse, before any work, an output that is a folder (or another non-file) or whose notebooks folder is a file."""
    if target.exists() and not target.is_file():
        raise WriteError("not a file: the report is one HTML file", path=shown, hint="give a file name, for example -o report.html")
    if folder.exists() and not folder.is_dir():
        raise WriteError(
            f"{folder.name} is not a folder: the executed notebooks go there", path=shown, hint="remove it, or choose another -o name"
        )
