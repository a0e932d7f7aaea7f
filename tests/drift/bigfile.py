"""Data files larger than a process may use, and a command run under that memory cap (test_large_file.py, bench_drift.py).

The cap is ``RLIMIT_AS`` (address space) set in the child before it starts. cgroup v2's
``memory.max`` would cap resident memory instead, but this machine has cgroup v1 and its
hierarchy belongs to the machinery running the sessions, so it is not touched. ``RLIMIT_DATA``
(tried before) counts differently across allocators and did not hold. Address space is more than
resident memory, so the child runs with what keeps reservations small: one BLAS/OpenMP thread,
one Arrow I/O thread, ``MALLOC_ARENA_MAX=2`` (each thread that allocates would otherwise reserve
a 64 MB glibc arena: with Arrow's threads that alone broke a 600 MB cap) and Arrow's system
allocator (its default one reserved a 1 GB region; pandas 3 loads pyarrow even for CSV). The
libraries mapped by numpy, pandas and pyarrow alone take ~325 MB of address space (~104 MB
resident), and ``nb2prod profile`` keeps a 1M-value sample per numeric column (its peak address
space was 464 MB uncapped, and 512 MB was too tight): the test caps at 600 MB. Peak resident
memory is the child's ``ru_maxrss``, read as ``RUSAGE_CHILDREN`` by a small runner process whose
only child is the capped command.

Files are written streaming: one block of rows is made once and written again and again (as CSV,
JSON lines or Parquet row groups) until the file reaches its size, so writing never holds more
than the block.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

BLOCK_ROWS = 200_000
CAPPED_ENV = {"MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "ARROW_IO_THREADS": "1"}
# long labels: more bytes per row for the same parsing work, so a file of a given size is quicker to check
LABELS = tuple(
    f"{region}-{'customer-segment-with-a-long-descriptive-name-' * 2}{region}" for region in ("north", "south", "east", "west", "centre")
)

RUNNER = r"""
import json, resource, subprocess, sys
cap = int(sys.argv[1])
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
done = subprocess.run(sys.argv[2:], preexec_fn=limit, capture_output=True, text=True, check=False)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": done.returncode, "peak_bytes": usage.ru_maxrss * 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:]}))
"""


def block(seed: int, rows: int = BLOCK_ROWS, shift: float = 0.0) -> dict[str, Any]:
    """A block of columns: three numbers and a long categorical label (about 130 bytes a CSV row)."""
    rng = np.random.default_rng(seed)
    numbers = rng.normal(shift, 1.0, size=(rows, 3)).round(5)
    return {"a": numbers[:, 0], "b": numbers[:, 1], "c": numbers[:, 2], "k": rng.choice(np.array(LABELS), rows)}


def write_file(path: Path, size_bytes: int, *, seed: int = 0, shift: float = 0.0) -> int:
    """Write ``path`` (CSV, JSON lines or Parquet, by suffix) of at least ``size_bytes``, one block at a time; its rows."""
    columns = block(seed, shift=shift)
    rows = 0
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(columns)
        with pq.ParquetWriter(path, table.schema) as writer:
            while path.stat().st_size < size_bytes:
                writer.write_table(table, row_group_size=BLOCK_ROWS // 2)
                rows += table.num_rows
        return rows
    values = zip(columns["a"].tolist(), columns["b"].tolist(), columns["c"].tolist(), columns["k"].tolist(), strict=True)
    if path.suffix == ".jsonl":
        text = "".join(json.dumps({"a": a, "b": b, "c": c, "k": k}) + "\n" for a, b, c, k in values).encode()
        header = b""
    else:
        text = "".join(f"{a},{b},{c},{k}\n" for a, b, c, k in values).encode()
        header = b"a,b,c,k\n"
    with path.open("wb") as handle:
        handle.write(header)
        written = len(header)
        while written < size_bytes:
            handle.write(text)
            written += len(text)
            rows += BLOCK_ROWS
    return rows


def run_capped(cap_bytes: int, *command: str, cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Run ``command`` with its address space capped at ``cap_bytes``: exit code, peak RSS (bytes), CPU seconds, output tails."""
    environment = {**os.environ, **CAPPED_ENV}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(cap_bytes), *command], capture_output=True, text=True, check=True, cwd=cwd, env=environment
    )
    return json.loads(done.stdout)
