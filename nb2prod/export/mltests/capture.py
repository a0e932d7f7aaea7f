"""``nb2prod export --capture-sample N``: N real rows of what the exported module's loader returns.

The loader is the notebook's own code, so it runs in a subprocess (this Python, the modules written
to a temporary folder as the package): its imports, prints and failures stay out of nb2prod's
process, and a loader that hangs is stopped after ``TIMEOUT`` seconds. The rows are chosen by a
seeded generator (the same rows at every export, so ``nb2prod export --check`` stays quiet) and
come back as JSON in a file; :func:`nb2prod.export.mltests.data.sample_csv` turns them into the
fixture, without the redacted columns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import ExportError

#: Seconds the loader may take.
TIMEOUT = 300

_SCRIPT = r"""
import importlib, json, sys
import numpy as np

folder, package, module, loader, rows, out = sys.argv[1:7]
names = json.loads(sys.argv[7])
target = sys.argv[8]
sys.path.insert(0, folder)
loaded = getattr(importlib.import_module(f"{package}.{module}"), loader)()
X, y = loaded[0], loaded[1]
count = len(y)
index = np.sort(np.random.default_rng(0).choice(count, size=min(int(rows), count), replace=False))
if hasattr(X, "iloc") and hasattr(X, "columns"):
    part = X.iloc[index]
    columns = [str(name) for name in part.columns]
    dtypes = [part[name].dtype.kind if part[name].dtype.kind in "biuf" else "O" for name in part.columns]
    values = part.astype(object).where(part.notna(), None).values.tolist()
    kind = "frame"
else:
    part = np.asarray(X)[index]
    if part.ndim == 1:
        part = part.reshape(-1, 1)
    given = loaded[2] if len(loaded) > 2 and isinstance(loaded[2], (list, tuple)) else None  # load_data() -> X, y, names
    if given is not None and len(given) == part.shape[1] and all(isinstance(name, str) for name in given):
        names = list(given)
    columns = names if len(names) == part.shape[1] else [f"x{i}" for i in range(part.shape[1])]
    dtypes = [part.dtype.kind if part.dtype.kind in "biuf" else "O"] * part.shape[1]
    values = part.tolist()
    kind = "array"
labels = np.asarray(y.iloc[index] if hasattr(y, "iloc") else np.asarray(y)[index])
while target in columns:
    target = "_" + target
result = {
    "x": kind,
    "columns": columns,
    "dtypes": dtypes,
    "target": target,
    "y": "series" if hasattr(y, "iloc") else "array",
    "y_dtype": labels.dtype.kind if labels.dtype.kind in "biuf" else "O",
    "rows": [list(row) + [label] for row, label in zip(values, labels.tolist())],
}
with open(out, "w", encoding="utf-8") as handle:
    json.dump(result, handle, default=str)
"""


def capture(
    module_files: Mapping[str, str],
    *,
    package: str,
    module: str,
    loader: str,
    rows: int,
    names: Sequence[str] = (),
    target: str | None = None,
) -> dict[str, Any]:
    """Run ``<package>.<module>.<loader>()`` in a subprocess and return ``rows`` of its ``(X, y)`` (see :func:`sample_csv`).

    ``names`` name an array's columns (the profile's, when their count matches); ``target`` names
    the label column. Raises ``ExportError`` with the loader's last error line when it fails.
    """
    with tempfile.TemporaryDirectory(prefix="nb2prod-sample-") as folder:
        root = Path(folder) / package
        root.mkdir()
        (root / "__init__.py").write_text("", encoding="utf-8")
        for name, text in module_files.items():
            (root / name).write_text(text, encoding="utf-8")
        out = Path(folder) / "sample.json"
        command = [sys.executable, "-c", _SCRIPT, folder, package, module, loader, str(rows), os.fspath(out), json.dumps(list(names))]
        command.append(target or "target")
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=os.getcwd(), check=False)
        except subprocess.TimeoutExpired:
            raise ExportError(f"--capture-sample: {loader}() took more than {TIMEOUT} s", hint="make the loader faster") from None
        if done.returncode != 0 or not out.is_file():
            last = next((line for line in reversed(done.stderr.strip().splitlines()) if line.strip()), "no error message")
            raise ExportError(
                f"--capture-sample: {module}.{loader}() failed: {last.strip()[:300]}",
                hint="the loader must run here, with the notebook's data, and return (X, y)",
            )
        return json.loads(out.read_text(encoding="utf-8"))
