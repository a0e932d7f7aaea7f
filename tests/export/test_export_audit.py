"""An export that writes appends its audit line: the notebooks' and the package files' sha256; --check and --diff append none."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from nb2prod import audit

CELLS = [("code", "def double(x):\n    return 2 * x\n", ["export"])]


def test_an_export_appends_the_hashes_of_what_it_wrote(make_notebook: Callable[..., Path], run_export: Callable[..., tuple]) -> None:
    notebook = make_notebook("tiny.ipynb", CELLS)
    code, _, _ = run_export("tiny.ipynb", "--check")
    assert code == 1 and not Path("runs").exists()  # a check writes nothing, not even a line
    code, _, _ = run_export("tiny.ipynb", "--runs-dir", "trail")
    assert code == 0
    (line,) = audit.entries("trail")
    assert line["event"] == "export" and line["out"] == "build/tiny"
    assert line["notebooks"] == {"tiny.ipynb": hashlib.sha256(notebook.read_bytes()).hexdigest()}
    files = {path.as_posix() for path in Path("build/tiny").rglob("*") if path.is_file()}
    assert set(line["files"]) == files and sorted(line["written"]) == sorted(files)
    assert all(audit.sha256_file(path) == digest for path, digest in line["files"].items())
    code, _, _ = run_export("tiny.ipynb", "--runs-dir", "trail")  # nothing changed: a line all the same, nothing written
    assert code == 0 and audit.entries("trail")[1]["written"] == [] and audit.entries("trail")[1]["files"] == line["files"]
    assert audit.verify("trail").ok
