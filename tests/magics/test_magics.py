"""``%load_ext nb2prod`` in a real kernel (nbclient + ipykernel): every subcommand, the live checks, unload.

One kernel session does it all, to keep the slow part short: it replays the session that left
``tests/data/magics/deleted_edited_and_stale_cells.ipynb`` as saved (a cell defining ``helper`` ran
and was deleted, ``c = 10`` ran and was edited to ``c = 20``, ``b = a * 2`` ran before ``a`` was
redefined), then runs each ``%nb2prod`` subcommand. The kernel learns its notebook from
``JPY_SESSION_NAME``, as under Jupyter Server. The executed notebook is also rendered with
nbconvert and photographed with headless Chromium.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAVED = ROOT / "data" / "magics" / "deleted_edited_and_stale_cells.ipynb"
IDENTICAL = ROOT / "data" / "magics" / "identical_cells_run_in_order.ipynb"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

#: What the kernel runs, in order: the session behind the saved notebook, then the commands.
SESSION = [
    "%load_ext nb2prod",  # [1]
    "n = 3  # how many",  # [2]
    "a = 1",  # [3]
    "b = a * 2",  # [4]
    "helper = 5",  # [5] a cell deleted afterwards
    "c = 10",  # [6] edited afterwards to c = 20, not run again
    "a = 3",  # [7] cell 4 rewritten from a = 1 and run again: b is stale
    "%nb2prod lint --no-ruff",  # [8]
    "%nb2prod lint --slect NB1",  # [9] a bad option
    "1 + 1",  # [10] the kernel goes on
    "%nb2prod params",  # [11]
    "%nb2prod run -p n=4 --runs-dir runs",  # [12]
    "%nb2prod runs --runs-dir runs",  # [13]
    "%nb2prod verify latest --runs-dir runs",  # [14]
    "%nb2prod export -o pkg",  # [15]
    "%nb2prod lint --help",  # [16]
    "%nb2prod frobnicate",  # [17]
    "%%nb2prod params\nignored body",  # [18]
    "import json; _before = len(get_ipython().events.callbacks['post_run_cell'])",  # [19]
    "%nb2prod watch",  # [20]
    "helper * 2",  # [21] helper's cell is gone from the saved notebook: one line
    "a * 2",  # [22] cell 4 defines a: nothing
    "%unload_ext nb2prod",  # [23]
    "ip = get_ipython(); print(json.dumps([sorted(k for k in ip.magics_manager.magics[kind] if 'nb2prod' in k) "
    "for kind in ('line', 'cell')] + [len(ip.events.callbacks['post_run_cell']) - _before]))",  # [24]
    "%nb2prod lint",  # [25] gone
    "helper * 3",  # [26] and so is the watch hook
]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """The session executed in a real kernel whose working folder holds the saved notebook."""
    import nbformat
    from nbclient import NotebookClient

    folder = tmp_path_factory.mktemp("magics")
    shutil.copy(SAVED, folder / "notebook.ipynb")
    os.utime(folder / "notebook.ipynb", (1_700_000_000, 1_700_000_000))
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in SESSION], metadata={"kernelspec": KERNELSPEC}
    )
    previous = os.environ.get("JPY_SESSION_NAME")
    os.environ["JPY_SESSION_NAME"] = "notebook.ipynb"  # the kernel inherits it, as from Jupyter Server
    try:
        NotebookClient(
            notebook, timeout=120, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        if previous is None:
            del os.environ["JPY_SESSION_NAME"]
        else:
            os.environ["JPY_SESSION_NAME"] = previous
    yield notebook, folder


def outputs(notebook: Any, count: int) -> dict[str, str]:
    """``stdout``, ``stderr``, ``text/plain`` and ``text/html`` of the cell run as ``[count]``, each joined."""
    cell = notebook.cells[count - 1]
    assert cell.execution_count == count
    found: dict[str, str] = {}
    for output in cell.outputs:
        if output.output_type == "stream":
            found[output.name] = found.get(output.name, "") + output.text
        elif output.output_type in ("display_data", "execute_result"):
            for kind in ("text/plain", "text/html"):
                if kind in output.data:
                    found[kind] = found.get(kind, "") + output.data[kind]
        elif output.output_type == "error":
            found["error"] = f"{output.ename}: {output.evalue}"
    return found


@pytest.mark.slow
def test_lint_shows_static_and_live_findings(executed: tuple[Any, Path]) -> None:
    notebook, _ = executed
    shown = outputs(notebook, 8)
    assert set(shown) == {"text/plain", "text/html"}, shown
    text, page = shown["text/plain"], shown["text/html"]
    assert text.startswith("linted notebook.ipynb (saved 2023-11-14 22:13:20 UTC,")
    assert "live checks against this kernel" in text
    # the deleted cell's name, the edited cell, the stale cell (and its out-of-order run)
    assert "NB111 [W] 'helper' exists only in the kernel: [5] ('helper = 5') defined it" in text
    assert "notebook.ipynb:cell 6: NB112 [W] edited since it ran as [6] (the kernel ran 'c = 10')" in text
    assert "notebook.ipynb:cell 5:line 1:col 5: NB114 [W] stale: it ran as [4] with 'a', which [7] (cell 4 ('a = 3'))" in text
    assert "notebook.ipynb:cell 5: NB113 [W] last ran as [4], before cell 4 ('a = 3') above it ran as [7]" in text
    # the HTML table names each cell by its number and first line
    assert (
        "<table" in page
        and 'cell 5 <code style="white-space:nowrap">b = a * 2</code>' in page
        and 'cell 6 <code style="white-space:nowrap">c = 20</code>' in page
    )
    assert "&#x27;helper&#x27; exists only in the kernel" in page and "NB114" in page


@pytest.mark.slow
def test_two_cells_with_the_same_code_are_not_one_in_a_real_kernel(tmp_path: Path) -> None:
    """The saved notebook's cells 3 and 5 hold the same code and ran as [3] and [5]: top to bottom, no live finding.

    Matched by code alone, both were [5], and cell 4 ([4]) was reported as run before cell 3 above it.
    """
    import nbformat
    from nbclient import NotebookClient

    shutil.copy(IDENTICAL, tmp_path / "notebook.ipynb")
    saved = nbformat.read(IDENTICAL, as_version=4)
    session = [cell.source for cell in saved.cells if cell.cell_type == "code"] + ["%nb2prod lint --no-ruff --select NB11"]
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in session], metadata={"kernelspec": KERNELSPEC}
    )
    previous = os.environ.get("JPY_SESSION_NAME")
    os.environ["JPY_SESSION_NAME"] = "notebook.ipynb"
    try:
        NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if previous is None:
            del os.environ["JPY_SESSION_NAME"]
        else:
            os.environ["JPY_SESSION_NAME"] = previous
    text = outputs(notebook, 6)["text/plain"]
    assert "live checks against this kernel" in text
    assert "NB11" not in text, text


@pytest.mark.slow
def test_a_bad_argument_is_one_error_line_and_the_kernel_goes_on(executed: tuple[Any, Path]) -> None:
    notebook, _ = executed
    assert outputs(notebook, 9) == {"stderr": "%nb2prod lint: error: unrecognized arguments: --slect (did you mean --select?)\n"}
    assert outputs(notebook, 10) == {"text/plain": "2"}
    assert outputs(notebook, 17) == {
        "stderr": "%nb2prod: error: unknown command 'frobnicate' (choose from lint, params, export, run, verify, runs, watch)\n"
    }


@pytest.mark.slow
def test_params_run_runs_verify_export_and_help(executed: tuple[Any, Path]) -> None:
    notebook, folder = executed
    params = outputs(notebook, 11)
    assert params["text/plain"].splitlines()[:3] == ["1 parameter", "name  type  default  help", "n     int   3        how many"]
    assert "<td" in params["text/html"] and "how many" in params["text/html"]
    assert outputs(notebook, 18) == params  # the cell magic does the same

    run = outputs(notebook, 12)
    assert run["text/plain"].startswith("run ") and ": ok" in run["text/plain"].splitlines()[0]
    rows = [line.split() for line in run["text/plain"].splitlines()]
    assert ["parameter", "n", "4"] in rows and ["metric", "total", "36"] in rows  # double(6) + 20 + 4 in a fresh kernel
    assert "<table" in run["text/html"]
    run_id = run["text/plain"].split()[1]
    assert (folder / "runs" / "notebook" / run_id / "run.json").is_file()

    runs = outputs(notebook, 13)
    assert runs["text/plain"].startswith("1 run, newest first") and run_id in runs["text/plain"]
    verify = outputs(notebook, 14)
    assert f"run {run_id} re-run as " in verify["text/plain"] and "reproduced within" in verify["text/plain"]
    assert "NOT" not in verify["text/plain"] and "<table" in verify["text/html"]

    export = outputs(notebook, 15)
    assert export["text/plain"].startswith("notebook in pkg") and "written" in export["text/plain"]
    assert (folder / "pkg" / "pyproject.toml").is_file()

    helped = outputs(notebook, 16)
    assert set(helped) == {"stdout"} and helped["stdout"].startswith("usage: %nb2prod lint ") and "--select" in helped["stdout"]


@pytest.mark.slow
def test_watch_warns_and_unload_removes_every_magic_and_hook(executed: tuple[Any, Path]) -> None:
    notebook, _ = executed
    assert outputs(notebook, 20) == {"stdout": "nb2prod watch: on for notebook.ipynb (`%nb2prod watch off` to stop)\n"}
    assert outputs(notebook, 21) == {
        "stderr": "nb2prod: 'helper' comes from a cell no longer in notebook.ipynb ([5] defined it); Restart & Run All would fail here\n",
        "text/plain": "10",
    }
    assert outputs(notebook, 22) == {"text/plain": "6"}
    assert outputs(notebook, 24) == {"stdout": "[[], [], 0]\n"}
    assert outputs(notebook, 26) == {"text/plain": "15"}
    gone = outputs(notebook, 25)
    assert "Line magic function `%nb2prod` not found" in gone.get("stderr", "") + gone.get("error", ""), gone


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed (filtered) scanlines of a PNG: enough to see it is not blank."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, size = 8, b"", (0, 0)
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            chunks += body
        position += 12 + length
    return size[0], size[1], zlib.decompress(chunks)


@pytest.mark.slow
def test_screenshot_of_the_lint_table(executed: tuple[Any, Path], tmp_path: Path) -> None:
    """nbconvert renders the executed notebook; headless Chromium photographs it; the PNG is not blank."""
    browser = shutil.which("chromium")
    if browser is None:
        message = "chromium is not installed (apt-get install -y chromium; .ci/run does it)"
        pytest.fail(message) if in_ci() else pytest.skip(message)
    import nbformat
    from nbconvert import HTMLExporter

    notebook, _ = executed
    lint_only = nbformat.v4.new_notebook(cells=[notebook.cells[7]], metadata=notebook.metadata)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(lint_only)
    page = tmp_path / "lint.html"
    page.write_text(body, encoding="utf-8")
    assert "NB114" in body and "<table" in body
    png = tmp_path / "lint.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
    flags += ["--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}"]
    subprocess.run(
        [browser, *flags, "--window-size=1100,700", "--hide-scrollbars", page.as_uri()], capture_output=True, timeout=120, check=False
    )
    assert png.is_file(), "chromium wrote no screenshot"
    width, height, pixels = _png_pixels(png.read_bytes())
    assert (width, height) == (1100, 700)
    assert len(set(pixels)) > 16, "the screenshot is blank"
