"""The sweep worker process: what it imports before its first run."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from nb2prod.sweep.worker import import_papermill
import_papermill()
import papermill.iorw
from nb2prod.run.output import _OUTPUT_SCHEME
from papermill.iorw import papermill_io
assert papermill_io.get_handler(_OUTPUT_SCHEME + "/x.ipynb") is not None  # nb2prod's handler is registered
assert "pyarrow" not in sys.modules and "numpy" not in sys.modules, "papermill pulled in pyarrow/numpy"
import importlib.util
assert importlib.util.find_spec("pyarrow") is None or __import__("pyarrow")  # later imports of pyarrow work as usual
print("ok")
"""


def test_the_worker_imports_papermill_without_pyarrow_and_numpy_and_leaves_them_importable() -> None:
    """papermill imports pyarrow (with numpy, ~0.2 s of CPU per worker) only for hdfs:// paths, which a worker never uses."""
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
