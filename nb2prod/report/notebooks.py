"""Each run's executed notebook as a page of its own, for the report's links.

The notebooks go next to the report (``report_files/<run id>.html``), not into it: nbconvert's
rendering of one executed notebook is 5 KB to several MB (plots are embedded images), so a
hundred of them inside the page would make it too big to e-mail, while the report alone stays
small and the links work offline as long as the folder travels with it.

Each page is nbconvert's ``basic`` template (the notebook's cells, no CDN scripts, images already
embedded as ``data:`` URIs) in a small page of nb2prod's with Pygments' colours and a Content
Security Policy that allows no script and no network request: an output that carries a script or
a remote image (plotly, widgets) shows what it can without them, and opening the page offline
never waits on the network.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..atomic import atomic_write
from ..errors import Nb2prodError
from ..notebook import read_notebook
from ..records import RunRecord
from ..secrets import Masker

#: Characters a run id keeps in a file name; others become ``_``.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def files_folder(report: Path) -> Path:
    """The folder next to ``report`` that holds its notebooks: ``report.html`` -> ``report_files/`` (as browsers save pages)."""
    return report.with_name(f"{report.stem}_files")


def notebook_file_name(run_id: str, taken: set[str]) -> str:
    """A file name for a run's rendered notebook: the id made safe for any file system, unique among ``taken``."""
    stem = _UNSAFE.sub("_", run_id)[:100] or "run"
    name, counter = f"{stem}.html", 1
    while name in taken:
        counter += 1
        name = f"{stem}-{counter}.html"
    taken.add(name)
    return name


def render_notebook(path: Path, *, title: str, template: Callable[..., str], secrets: Iterable[str] = ()) -> bytes:
    """The executed notebook at ``path`` as a standalone HTML page (``template`` is the page around nbconvert's body).

    ``secrets`` (the run's secret values, ``RunRecord.secrets``) and any credential in a known format
    are masked first: an executed notebook saved before nb2prod masked them is shown masked too.
    Raises ``Nb2prodError`` (from reading it) when the notebook is missing or unreadable.
    """
    from nbformat import convert, from_dict
    from nbformat.v4.rwbase import rejoin_lines

    notebook = read_notebook(path)
    node = from_dict(Masker(secrets).data(notebook.data))  # a masked copy: the read notebook stays as it was
    if node.nbformat != 4:
        node = convert(node, 4)
    rejoin_lines(node)  # sources and outputs as lists of lines (as files store them) -> strings (what nbconvert expects)
    body, _ = _exporter().from_notebook_node(node)
    return template(title=title, body=Markup(body), highlight_css=Markup(_highlight_css())).encode("utf-8")


def write_notebooks(
    records: Sequence[RunRecord], folder: Path, *, template: Callable[..., str]
) -> dict[str, tuple[str | None, str | None]]:
    """Render each run's ``output.ipynb`` into ``folder``; return, by run id, its file name or why there is none.

    A run without an executed notebook, or with one that cannot be read, gets no page and a
    reason; the other runs are rendered all the same.
    """
    results: dict[str, tuple[str | None, str | None]] = {}
    taken: set[str] = set()
    for record in records:
        run_id, output = record.id, record.output_path
        if output is None or not output.is_file():
            results[run_id] = (None, "no executed notebook (the run did not start its kernel, or output.ipynb was removed)")
            continue
        try:
            page = render_notebook(output, title=f"run {run_id}", template=template, secrets=record.secrets)
        except Nb2prodError as error:
            results[run_id] = (None, f"executed notebook unreadable: {error.message}")
            continue
        except Exception as error:  # nbconvert on an output it cannot render: that run gets no page, the report goes on
            results[run_id] = (None, f"nbconvert could not render the executed notebook: {type(error).__name__}: {error}")
            continue
        name = notebook_file_name(run_id, taken)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / name, page, display_path=os.fspath(folder / name))
        results[run_id] = (name, None)
    return results


@functools.cache
def _exporter() -> Any:
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="basic")


@functools.cache
def _highlight_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")
