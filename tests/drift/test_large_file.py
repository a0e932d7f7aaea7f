"""A data file is read in chunks: checking four times the rows takes no more memory, and a file three times larger
than the memory a process may use is profiled and checked (slow: writes ~60 MB, then 1.8 GB in tmp, deleted after)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bigfile import run_capped, write_file

pytestmark = pytest.mark.slow
MB = 1 << 20
CAP = 600 * MB  # the profile's bounded state (a 1M-value sample per numeric column) plus numpy, pandas and pyarrow mapped

CHILD = """
import json, resource, sys
from nb2prod.cli import main
code = main(["drift", sys.argv[1], sys.argv[2], "--format", "json"])
print(json.dumps({"code": code, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_csv(path: Path, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    block = 250_000
    with path.open("w") as handle:
        handle.write("a,b,c,k\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            numbers = rng.normal(size=(n, 3))
            labels = rng.choice(np.array(["x", "y", "z"]), n)
            handle.writelines(f"{a:.5f},{b:.5f},{c:.5f},{k}\n" for (a, b, c), k in zip(numbers.tolist(), labels.tolist(), strict=True))


def peak(profile: Path, data: Path) -> float:
    done = subprocess.run([sys.executable, "-c", CHILD, str(profile), str(data)], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    return result["peak_mb"]


def test_checking_four_times_the_rows_takes_no_more_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nb2prod.cli import main

    write_csv(tmp_path / "train.csv", 50_000, 0)
    assert main(["profile", str(tmp_path / "train.csv"), "-o", str(tmp_path / "p.json")]) == 0
    write_csv(tmp_path / "small.csv", 300_000, 1)
    write_csv(tmp_path / "large.csv", 1_200_000, 2)
    small, large = peak(tmp_path / "p.json", tmp_path / "small.csv"), peak(tmp_path / "p.json", tmp_path / "large.csv")
    size_mb = (tmp_path / "large.csv").stat().st_size / 2**20
    with capsys.disabled():
        print(f"\npeak memory of nb2prod drift: {small:.0f} MB for 300k rows, {large:.0f} MB for 1.2M rows ({size_mb:.0f} MB of CSV)")
    assert large - small < 25, (small, large)


def test_a_file_three_times_larger_than_the_memory_cap_is_profiled_and_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Address space capped at 600 MB (tests/drift/bigfile.py says how and why), a 1.8 GB CSV: both commands succeed
    with a peak resident memory far below the file; the same check reading the file whole fails under the same cap."""
    data = tmp_path / "big.csv"
    try:
        rows = write_file(data, 3 * CAP, seed=1)
        size = data.stat().st_size
        profiled = run_capped(CAP, sys.executable, "-m", "nb2prod", "profile", str(data), "-o", str(tmp_path / "p.json"))
        assert profiled["code"] == 0, profiled["stderr"]
        checked = run_capped(CAP, sys.executable, "-m", "nb2prod", "drift", str(tmp_path / "p.json"), str(data), "--no-audit")
        assert checked["code"] == 0, checked["stderr"]
        assert f"{rows:,} reference rows; {rows:,} new rows" in checked["stdout"] and "drift gate passed" in checked["stdout"]
        whole = "import sys, nb2prod.drift.read as r; r.CHUNK_ROWS = 10**9; from nb2prod.cli import main; sys.exit(main(sys.argv[1:]))"
        unchunked = run_capped(CAP, sys.executable, "-c", whole, "drift", str(tmp_path / "p.json"), str(data), "--no-audit")
    finally:
        data.unlink(missing_ok=True)
    with capsys.disabled():
        print(
            f"\ncap {CAP / MB:.0f} MB (RLIMIT_AS), CSV {size / MB:.0f} MB: nb2prod profile peak RSS {profiled['peak_bytes'] / MB:.0f} MB, "
            f"nb2prod drift peak RSS {checked['peak_bytes'] / MB:.0f} MB; read whole: exit {unchunked['code']}"
        )
    assert size >= 3 * CAP
    assert profiled["peak_bytes"] < CAP / 2 and checked["peak_bytes"] < CAP / 3
    # the cap is real: without chunks the file does not fit (numpy MemoryError, or the C parser out of memory: exit 3 or 2)
    assert unchunked["code"] != 0 and ("MemoryError" in unchunked["stderr"] or "out of memory" in unchunked["stderr"])
