"""Benchmark ``%load_ext nb2prod``: what loading the extension costs a kernel (goal: under 50 ms).

Usage: ``python benchmarks/bench_magics.py [--repeat N]``

Each measurement is a fresh Python process that has already imported IPython and made its shell
(as a kernel has when a user types the magic), then times ``%load_ext nb2prod``: the import of
nb2prod plus the registration of ``%nb2prod``. The anchor is IPython's own ``%load_ext autoreload``
in the same kind of process. Also timed: the first ``%nb2prod lint`` of ``notebooks/train.ipynb``
(nb2prod's rules without ruff, plus the live checks against the shell's history), which loads the
lint engine. Prints the median and best wall time of N processes, the ratio to the anchor, the CPU time of the
load (``time.process_time``: what the load itself costs when other processes share the cores), and which heavy
modules (papermill, nbconvert, jupytext) the load imported: there must be none.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("papermill", "nbconvert", "jupytext", "black", "nbclient")

PROBE = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell("x = 1", store_history=True)
before = set(sys.modules)
start, cpu = time.perf_counter(), time.process_time()
shell.run_line_magic("load_ext", {extension!r})
loaded, loaded_cpu = time.perf_counter() - start, time.process_time() - cpu
heavy = sorted({{name.split(".")[0] for name in set(sys.modules) - before}} & set({heavy!r}))
lint = None
if {extension!r} == "nb2prod":
    start = time.perf_counter()
    shell.run_line_magic("nb2prod", "lint --no-ruff {notebook}")
    lint = time.perf_counter() - start
print(json.dumps({{"load": loaded, "cpu": loaded_cpu, "lint": lint, "heavy": heavy}}), file=sys.__stderr__)
"""


def measure(extension: str) -> dict[str, object]:
    """One fresh process: the seconds ``%load_ext extension`` took (and the first lint for nb2prod)."""
    code = PROBE.format(extension=extension, heavy=HEAVY, notebook=ROOT / "notebooks" / "train.ipynb")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="fresh processes per measurement (default: 7)")
    repeat = parser.parse_args().repeat
    ours, anchor = [], []
    for _ in range(repeat):  # alternate, so both see the same machine load
        ours.append(measure("nb2prod"))
        anchor.append(measure("autoreload"))
    load = [float(m["load"]) * 1000 for m in ours]
    base = [float(m["load"]) * 1000 for m in anchor]
    lint = [float(m["lint"]) * 1000 for m in ours]
    cpu, base_cpu = [float(m["cpu"]) * 1000 for m in ours], [float(m["cpu"]) * 1000 for m in anchor]
    heavy = sorted({name for m in ours for name in m["heavy"]})
    print(f"%load_ext nb2prod     median {statistics.median(load):6.1f} ms  best {min(load):6.1f} ms  (goal: under 50 ms)")
    print(f"%load_ext autoreload  median {statistics.median(base):6.1f} ms  best {min(base):6.1f} ms  (IPython's own, the anchor)")
    print(f"ratio nb2prod / autoreload (medians): {statistics.median(load) / statistics.median(base):.1f}x")
    print(
        f"CPU time (less sensitive to a busy machine): nb2prod median {statistics.median(cpu):.1f} ms, "
        f"autoreload {statistics.median(base_cpu):.1f} ms"
    )
    print(f"first %nb2prod lint --no-ruff notebooks/train.ipynb: median {statistics.median(lint):6.1f} ms")
    print(f"heavy modules imported by %load_ext nb2prod: {', '.join(heavy) if heavy else 'none'}")


if __name__ == "__main__":
    main()
