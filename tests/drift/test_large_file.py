"""A data file is read in chunks: checking four times the rows does not take more memory (slow: writes ~60 MB)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

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
