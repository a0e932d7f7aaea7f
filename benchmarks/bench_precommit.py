"""Benchmark ``pre-commit run --files one.ipynb``: nb2prod's hooks against nbstripout, ruff and black.

Usage: ``python benchmarks/bench_precommit.py [--repeat N] [--notebook PATH]``

What a user waits for at ``git commit`` on one notebook. Every side is the hooks a notebook
repository would configure:

- **nb2prod**: the three separate hooks ``nb2prod-strip``, ``nb2prod-fmt``, ``nb2prod-lint``
  (outputs, formatting, nb2prod's notebook rules plus ruff's code rules): three processes;
- **check**: the one hook ``nb2prod-check`` (``nb2prod check``) that does the same three in one
  process, reading and writing each notebook once (what ``nb2prod init`` writes);
- **anchors**: nbstripout's ``nbstripout`` hook, ruff-pre-commit's ``ruff`` (``ruff check
  --force-exclude``) and ``ruff-format`` hooks on notebooks, and black's ``black-jupyter`` hook
  (outputs, ruff's code rules, formatting twice: these are the hooks such a repository runs today).

pre-commit installs a hook repository by ``git clone``, which cannot reach GitHub from every
machine; so every side is written as ``repo: local`` hooks with ``language: system`` calling the
tools installed beside this interpreter, each with the entry, file types and ``require_serial`` of
the tool's own ``.pre-commit-hooks.yaml``. Like for like: no side pays for a hook environment.

Two cases, each timed N times per side, the order of the sides rotating from one round to the
next, in a throw-away git repository with its own ``PRE_COMMIT_HOME``:

1. **dirty**: the notebook as saved from Jupyter (``notebooks/train.ipynb``: outputs, counts) with
   one more cell holding an unused import (a finding for ruff and nb2prod alike); the hooks fix
   what they fix, report the finding and fail the run. The file is put back before every run.
2. **clean**: the notebook as that side's hooks leave it (the finding stays: nothing fixes it);
   only the finding's hook fails. With ``--no-finding`` the extra cell is left out and every hook
   passes on the clean notebook (the common commit).

Printed: median and best wall time and median CPU time (pre-commit and the processes it waited
for) of the whole ``pre-commit run`` per side and case, the hooks that failed (a sanity check that
each side really worked), the ratios anchors / nb2prod side, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "train.ipynb"
TARGET = "one.ipynb"


class BenchmarkError(Exception):
    """A side did not do its job (a tool missing, an unexpected exit code): the figures would mean nothing."""


@dataclass(frozen=True)
class Side:
    """One configuration of hooks under test."""

    label: str
    config: str  # file name of its .pre-commit-config.yaml in the repository


def tool(name: str) -> str:
    """The console script ``name`` beside this interpreter (a launcher on PATH would add its own start-up), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which(name)
    if not found:
        raise BenchmarkError(f"{name} is not installed (pip install -e '.[dev]' installs nb2prod, nbstripout, ruff, black and pre-commit)")
    return found


def local_hook(hook_id: str, entry: str, **fields: object) -> dict[str, object]:
    return {"id": hook_id, "name": hook_id, "entry": entry, "language": "system", **fields}


def configs() -> dict[str, dict[str, object]]:
    """The configurations, each hook as the tool's own manifest declares it."""
    nb2prod, jupyter = tool("nb2prod"), {"types": ["jupyter"]}
    ruff_types = {"types_or": ["python", "pyi", "jupyter"], "require_serial": True}
    return {
        "nb2prod": {
            "repos": [
                {
                    "repo": "local",
                    "hooks": [
                        local_hook("nb2prod-strip", f"{nb2prod} strip --quiet", **jupyter),
                        local_hook("nb2prod-fmt", f"{nb2prod} fmt --quiet", **jupyter),
                        local_hook("nb2prod-lint", f"{nb2prod} lint", **jupyter),
                    ],
                }
            ]
        },
        "check": {"repos": [{"repo": "local", "hooks": [local_hook("nb2prod-check", f"{nb2prod} check", **jupyter)]}]},
        "anchors": {
            "repos": [
                {
                    "repo": "local",
                    "hooks": [
                        local_hook("nbstripout", tool("nbstripout"), **jupyter),
                        local_hook("ruff", f"{tool('ruff')} check --force-exclude", **ruff_types),
                        local_hook("ruff-format", f"{tool('ruff')} format --force-exclude", **ruff_types),
                        local_hook("black-jupyter", tool("black"), **ruff_types),
                    ],
                }
            ]
        },
    }


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def run_hooks(repo: Path, side: Side, env: dict[str, str]) -> tuple[float, int, str, float]:
    """Time one ``pre-commit run --files one.ipynb`` of ``side``; return seconds, exit code, output and CPU seconds.

    The CPU time (user + system) is that of pre-commit and every process it waited for (the hooks
    and theirs): a figure the load of a shared machine moves much less than the wall time.
    """
    command = [tool("pre-commit"), "run", "--config", side.config, "--files", TARGET]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1) or "Traceback" in done.stdout + done.stderr:
        raise BenchmarkError(f"{side.label}: pre-commit exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return seconds, done.returncode, done.stdout, cpu


def failed_hooks(output: str) -> list[str]:
    return [line.split(".")[0].strip() for line in output.splitlines() if line.rstrip().endswith("Failed")]


def settle(repo: Path, side: Side, env: dict[str, str], dirty: bytes) -> bytes:
    """The notebook as ``side``'s hooks leave it: run them until they change it no more (formatters may need two rounds)."""
    (repo / TARGET).write_bytes(dirty)
    before = dirty
    for _ in range(4):
        _, _, output, _ = run_hooks(repo, side, env)
        after = (repo / TARGET).read_bytes()
        if after == before:
            return after
        before = after
    raise BenchmarkError(f"{side.label}: the hooks keep changing the notebook:\n{output}")


def with_finding(notebook: bytes) -> bytes:
    """The notebook with one more code cell whose import is unused (F401 for ruff, and for nb2prod's lint)."""
    data = json.loads(notebook)
    cell = {"cell_type": "code", "execution_count": None, "id": "bench-finding", "metadata": {}, "outputs": [], "source": ["import os\n"]}
    data["cells"].append(cell)
    return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 1 if a side failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per side and case (default 7)")
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK, help="the notebook to commit (default notebooks/train.ipynb)")
    parser.add_argument("--no-finding", dest="finding", action="store_false", help="do not add the cell with an unused import")
    args = parser.parse_args(argv)
    dirty = args.notebook.read_bytes()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-precommit-") as folder:
            report(Path(folder), with_finding(dirty) if args.finding else dirty, args.repeat)
    except BenchmarkError as error:
        print(f"bench_precommit: {error}", file=sys.stderr)
        return 1
    return 0


def report(folder: Path, dirty: bytes, repeat: int) -> None:
    repo = folder / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    sides = [Side("nb2prod", ".nb2prod-hooks.yaml"), Side("check", ".check-hooks.yaml"), Side("anchors", ".anchor-hooks.yaml")]
    for side in sides:
        (repo / side.config).write_text(yaml.safe_dump(configs()[side.label], sort_keys=False), encoding="utf-8")
    (repo / TARGET).write_bytes(dirty)
    git(repo, "add", "-A")
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "PRE_COMMIT_HOME": str(folder / "cache"), "LANG": "C.UTF-8"}
    print("commands:")
    for side in sides:
        for hook in configs()[side.label]["repos"][0]["hooks"]:  # type: ignore[index]
            print(f"  {side.label:8} {hook['id']:14} {hook['entry']}")
    run_hooks(repo, sides[0], env)  # warm-up: pre-commit creates its cache database once

    clean = {side.label: settle(repo, side, env, dirty) for side in sides}
    print(f"\npre-commit run --files {TARGET} ({len(dirty) / 1024:.0f} KiB notebook), {repeat} runs per side, order rotating")
    print(f"load average before: {load()}\n")
    print(f"{'case':6} {'side':8} {'median s':>9} {'best s':>7} {'CPU s':>6}  hooks that failed")
    ratios = {}
    for case in ("dirty", "clean"):
        times: dict[str, list[float]] = {side.label: [] for side in sides}
        cpus: dict[str, list[float]] = {side.label: [] for side in sides}
        failures: dict[str, list[str]] = {}
        for index in range(repeat):
            for side in sides[index % len(sides) :] + sides[: index % len(sides)]:
                (repo / TARGET).write_bytes(dirty if case == "dirty" else clean[side.label])
                seconds, _, output, cpu = run_hooks(repo, side, env)
                times[side.label].append(seconds)
                cpus[side.label].append(cpu)
                failures[side.label] = failed_hooks(output)
        for side in sides:
            values = times[side.label]
            cpu = statistics.median(cpus[side.label])
            failed = ", ".join(failures[side.label]) or "-"
            print(f"{case:6} {side.label:8} {statistics.median(values):9.3f} {min(values):7.3f} {cpu:6.3f}  {failed}")
        for label in ("nb2prod", "check"):
            ratios[case, label] = (
                statistics.median(times["anchors"]) / statistics.median(times[label]),
                statistics.median(cpus["anchors"]) / statistics.median(cpus[label]),
            )
    print(f"\nload average after: {load()}")
    for (case, label), (ratio, cpu_ratio) in ratios.items():
        print(f"{case}: anchors / {label} = {ratio:.2f}x by median wall time, {cpu_ratio:.2f}x by median CPU time (above 1: faster)")
    print(
        "nb2prod checks: outputs and volatile metadata, formatting, nb2prod's notebook rules (hidden state, secrets, "
        "reproducibility, export) and ruff's code rules;\nanchors check: outputs, ruff's code rules, formatting (ruff and black)."
    )


def load() -> str:
    """The 1, 5 and 15 minute load averages (the figures mean little on a busy machine)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
