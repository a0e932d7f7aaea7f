"""Benchmark: ``nb2prod drift`` against Evidently's DataDriftPreset on the same data (1M rows x 20 columns).

Writes a reference and a current CSV (20 columns: 15 numeric, 5 categorical; the current one
with a shift in three columns), then times, each in its own process so that peak memory
(``ru_maxrss`` of the child) is its own:

- nb2prod: ``nb2prod profile reference.csv`` once (the training run's side), then
  ``nb2prod drift profile.json current.csv`` (what is timed: the check);
- Evidently: ``Report([DataDriftPreset()]).run(current, reference)`` on the same two CSVs read with
  pandas (it needs the raw reference), in a throw-away virtual environment under
  ``benchmarks/.cache/evidently-venv`` (created on first use with ``pip install evidently "pandas<3"``:
  evidently 0.7 does not import under pandas 3; not a project dependency).

Both sides include reading the CSVs: nb2prod reads the new data in chunks, Evidently needs both
data sets in memory. Timings on a shared machine vary; the ratio is what the benchmark reports.

Also prints the no-drift false-alarm sweep of tests/drift/simulate.py at more batches than the
tests use, and (``--memory``) files larger than memory allows: CSV, JSON lines and Parquet files
of ``--memory-factor`` (3) times a ``--memory-cap-mb`` (600) address-space cap, written streaming
in a temporary folder and deleted after, profiled (CSV) and checked under the cap, with each
command's peak resident memory (tests/drift/bigfile.py says how the cap is set and measured).
Run: ``python benchmarks/bench_drift.py [--rows 1000000] [--skip-evidently] [--memory]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
EVIDENTLY_VENV = CACHE / "evidently-venv"

CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
{body}
print(json.dumps({{"seconds": time.perf_counter() - started, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

NB2PROD_BODY = """
from nb2prod.cli import main
code = main(["drift", sys.argv[1], sys.argv[2], "--format", "json"])
sys.stdout.flush()
"""

EVIDENTLY_BODY = """
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
reference = pd.read_csv(sys.argv[1])
current = pd.read_csv(sys.argv[2])
snapshot = Report([DataDriftPreset()]).run(current, reference)
drifted = [m for m in snapshot.dict()["metrics"]]
"""


def write_data(folder: Path, rows: int) -> tuple[Path, Path]:
    """Reference and current CSVs (cached by row count)."""
    import numpy as np
    import pandas as pd

    reference, current = folder / f"reference-{rows}.csv", folder / f"current-{rows}.csv"
    if reference.exists() and current.exists():
        return reference, current
    for path, seed, shift in ((reference, 0, 0.0), (current, 1, 0.5)):
        rng = np.random.default_rng(seed)
        columns = {f"num{i}": rng.normal(shift if i < 3 else 0.0, 1.0, rows).round(4) for i in range(15)}
        for i in range(5):
            columns[f"cat{i}"] = rng.choice([f"v{j}" for j in range(8)], rows)
        pd.DataFrame(columns).to_csv(path, index=False)
    return reference, current


def measure(python: str, body: str, *args: str) -> dict:
    """Run ``body`` in a fresh ``python`` process; its time and peak memory."""
    started = time.perf_counter()
    done = subprocess.run([python, "-c", CHILD.format(body=body), *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{python} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def evidently_python() -> str:
    """The throw-away venv's python, with evidently installed in it."""
    python = EVIDENTLY_VENV / "bin" / "python"
    if not python.exists():
        venv.create(EVIDENTLY_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "evidently>=0.7,<0.8", "pandas<3"], check=True)
    return str(python)


def sweep() -> None:
    """The false-alarm rate and shift detection at more batches than the fast tests run."""
    sys.path.insert(0, str(HERE.parent / "tests" / "drift"))
    import numpy as np
    import simulate

    rng = np.random.default_rng(2026)
    print("no-drift false alarms (fail) per batch of 7 columns, 10,000 batches each:")
    for n_ref in (500, 100_000):
        rates = []
        for n_new in (50, 200, 1_000, 10_000, 100_000, 1_000_000):
            levels = simulate.batch_levels(rng, n_ref=n_ref, n_new=n_new, batches=500, references=20)
            rates.append(f"{n_new:>9,}: {(levels.max(axis=1) == 2).mean():.2%}")
        print(f"  n_ref={n_ref:>7,}  " + "  ".join(rates))


def memory(cap_mb: int, factor: float, formats: list[str]) -> None:
    """Profile and check files ``factor`` times larger than an address-space cap of ``cap_mb``; peak RSS of each command."""
    import tempfile

    sys.path.insert(0, str(HERE.parent / "tests" / "drift"))
    import bigfile

    mb = 1 << 20
    cap = cap_mb * mb
    with tempfile.TemporaryDirectory(prefix="nb2prod-bench-memory-") as folder:
        base = Path(folder)
        reference = base / "reference.csv"
        bigfile.write_file(reference, 20 * mb, seed=0)
        profile = base / "profile.json"
        subprocess.run([sys.executable, "-m", "nb2prod", "profile", str(reference), "-o", str(profile)], check=True, capture_output=True)
        print(f"files {factor:g}x larger than a {cap_mb} MB address-space cap (RLIMIT_AS), peak RSS per command:")
        for kind in formats:
            data = base / f"big.{kind}"
            started = time.perf_counter()
            rows = bigfile.write_file(data, int(factor * cap), seed=1)
            size = data.stat().st_size
            written = time.perf_counter() - started
            commands = [("drift", ["drift", str(profile), str(data), "--no-audit", "--format", "json"])]
            if kind == "csv":
                commands.insert(0, ("profile", ["profile", str(data), "-o", str(base / "big-profile.json")]))
            for name, args in commands:
                started = time.perf_counter()
                done = bigfile.run_capped(cap, sys.executable, "-m", "nb2prod", *args)
                wall = time.perf_counter() - started
                status = "ok" if done["code"] in (0, 1) else f"FAILED (exit {done['code']}): {done['stderr'].strip().splitlines()[-1:]}"
                print(
                    f"  {kind:>7} {size / mb:>6,.0f} MB ({rows:,} rows, written in {written:.0f} s): nb2prod {name:<7} "
                    f"peak RSS {done['peak_bytes'] / mb:>4.0f} MB, {done['cpu_s']:.0f} s CPU, {wall:.0f} s wall, {status}"
                )
            if kind == "csv":
                whole = (
                    "import sys, nb2prod.drift.read as r; r.CHUNK_ROWS = 10**9; from nb2prod.cli import main; sys.exit(main(sys.argv[1:]))"
                )
                done = bigfile.run_capped(cap, sys.executable, "-c", whole, "drift", str(profile), str(data), "--no-audit")
                lines = done["stderr"].strip().splitlines() or [""]
                last = next((line for line in lines if "rror" in line), lines[-1])[:120]
                print(
                    f"  {kind:>7} read whole (one chunk) under the same cap: exit {done['code']}, "
                    f"peak RSS {done['peak_bytes'] / mb:.0f} MB: {last}"
                )
            data.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--memory", action="store_true", help="also: files larger than a memory cap, profiled and checked under it")
    parser.add_argument("--memory-only", action="store_true", help="only the --memory figures")
    parser.add_argument("--memory-cap-mb", type=int, default=600)
    parser.add_argument("--memory-factor", type=float, default=3.0)
    parser.add_argument("--memory-formats", default="csv,jsonl,parquet")
    args = parser.parse_args()
    if args.memory or args.memory_only:
        memory(args.memory_cap_mb, args.memory_factor, args.memory_formats.split(","))
        if args.memory_only:
            return
    CACHE.mkdir(exist_ok=True)
    reference, current = write_data(CACHE, args.rows)
    profile = CACHE / f"profile-{args.rows}.json"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nb2prod", "profile", str(reference), "-o", str(profile)], check=True)
    print(f"nb2prod profile {reference.name}: {time.perf_counter() - started:.1f} s (once, at training time)")
    ours = measure(sys.executable, NB2PROD_BODY, str(profile), str(current))
    print(f"nb2prod drift   : {ours['seconds']:.2f} s, peak {ours['peak_mb']:.0f} MB")
    if not args.skip_evidently:
        theirs = measure(evidently_python(), EVIDENTLY_BODY, str(reference), str(current))
        print(f"Evidently preset: {theirs['seconds']:.2f} s, peak {theirs['peak_mb']:.0f} MB")
        print(f"ratio: {theirs['seconds'] / ours['seconds']:.1f}x faster, {theirs['peak_mb'] / ours['peak_mb']:.1f}x less memory")
    if not args.skip_sweep:
        sweep()


if __name__ == "__main__":
    main()
