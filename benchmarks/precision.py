"""Measure how many of nb2prod's default-on notebook-rule findings are right and wanted on real notebooks.

Usage::

    python benchmarks/precision.py --label before [--corpus DIR] [--size 200] [--per-rule 8]

Lints the corpus of ``precision_corpus.py`` with nb2prod's default rules through the library API in one
process (notebook rules only: ruff's code rules are not measured), keeps the findings of default-on
``NB`` rules and draws a seeded, stratified sample of them:

* every default-on rule with findings gets ``--per-rule`` findings (all of them if it has fewer), so that
  each rule's precision can be told apart from 75%;
* the rest of ``--size`` is shared out in proportion to each rule's count of findings in the corpus.

Within a rule, findings are ranked by a hash of the seed and the finding's key (notebook source and
path, cell, code, message), and the first ones are taken. A finding that survives a rule change keeps
its rank, so a later run ("after") samples the same findings where they still exist and only new ones
need judging; verdicts are keyed the same way in ``precision/verdicts.csv`` and carry over.

Outputs (``--out``, default ``benchmarks/precision``):

* ``sample-LABEL.csv``: the sampled keys with rule counts, committed, so a figure can be recomputed;
* ``verdicts.csv``: one row per judged finding (key, source, path, cell, code, message, verdict,
  reason); rows for sampled findings not judged yet are added with an empty verdict;
* ``results-LABEL.md``: precision per rule, per family (NB1..NB5) and overall, both as the raw share of
  the sample and re-weighted by each rule's share of all findings in the corpus;
* ``.cache/precision/judge-LABEL.md`` (git-ignored: it quotes the notebooks): each unjudged finding with
  the cell it points at and the context needed to judge it.

A verdict is ``right`` (right and worth a user's time), ``unwanted`` (technically right, not worth it)
or ``wrong`` (false). Precision is the share of ``right``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from precision_corpus import DEFAULT_DEST, CorpusError, load

from nb2prod.config import Config
from nb2prod.lint.engine import lint

try:  # the rule registry has its own module since the rule-precision work
    from nb2prod.lint.registry import registry
except ImportError:
    from nb2prod.lint.rule import registry

HERE = Path(__file__).resolve().parent
OUT = HERE / "precision"
JUDGE_DIR = HERE / ".cache" / "precision"
SEED = 20261206
VERDICTS = ("right", "unwanted", "wrong")
FIELDS = ("key", "source", "path", "cell", "code", "message", "verdict", "reason")
GOAL_OVERALL = 0.90
GOAL_RULE = 0.75
SNIPPET_LINES = 30


@dataclass(frozen=True)
class Item:
    """A finding with the stable key verdicts are stored under."""

    key: str
    source: str
    path: str
    file: str
    cell: int | None  # 0-based index, None for the whole notebook
    line: int | None
    code: str
    message: str


def collect(corpus: Path) -> tuple[list[Item], int, int, float]:
    """Lint the corpus; return the default-on NB findings, notebooks linted, unreadable, seconds."""
    manifest = load(corpus)
    by_file = {str(corpus / entry["file"]): entry for entry in manifest["files"]}
    rules = registry()
    started = time.perf_counter()
    results = lint(list(by_file), config=Config(), ruff=False, jobs=1)
    seconds = time.perf_counter() - started
    items: list[Item] = []
    seen: Counter[str] = Counter()
    unreadable = 0
    for result in results:
        if result.error is not None:
            unreadable += 1
            continue
        entry = by_file[result.path]
        for finding in result.findings:
            rule = rules.get(finding.code)
            if rule is None or not rule.default_on or not finding.code.startswith("NB"):
                continue
            cell = "-" if finding.cell_index is None else str(finding.cell_index + 1)
            key = f"{entry['source'].split('@')[0]}:{entry['path']}|{cell}|{finding.code}|{finding.message}"
            seen[key] += 1
            if seen[key] > 1:
                key = f"{key}|#{seen[key]}"
            items.append(
                Item(key, entry["source"], entry["path"], result.path, finding.cell_index, finding.line, finding.code, finding.message)
            )
    return items, len(results) - unreadable, unreadable, seconds


def rank(key: str, seed: int) -> str:
    """The finding's place in the seeded random order (stable across runs and rule changes)."""
    return hashlib.sha256(f"{seed}\0{key}".encode()).hexdigest()


def allocate(counts: Counter[str], size: int, per_rule: int) -> dict[str, int]:
    """How many findings to sample per rule: a floor per rule, the rest in proportion to the counts."""
    quota = {code: min(count, per_rule) for code, count in counts.items()}
    left = size - sum(quota.values())
    total = sum(counts.values())
    if left > 0 and total:
        exact = {code: left * count / total for code, count in counts.items()}
        extra = {code: int(share) for code, share in exact.items()}
        by_remainder = sorted(exact, key=lambda c: (exact[c] - extra[c], c), reverse=True)
        for code in by_remainder[: left - sum(extra.values())]:
            extra[code] += 1
        for code in counts:
            quota[code] = min(counts[code], quota[code] + extra[code])
    return quota


def sample(items: list[Item], size: int, per_rule: int, seed: int) -> list[Item]:
    """Draw the stratified sample (see the module docstring), in rule then rank order."""
    by_rule: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_rule[item.code].append(item)
    quota = allocate(Counter({code: len(found) for code, found in by_rule.items()}), size, per_rule)
    chosen = []
    for code in sorted(by_rule):
        ranked = sorted(by_rule[code], key=lambda item: rank(item.key, seed))
        chosen += ranked[: quota[code]]
    return chosen


def read_verdicts(path: Path) -> dict[str, dict[str, str]]:
    """Read the verdict table (key -> row); a missing file is an empty table."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["verdict"] and row["verdict"] not in VERDICTS:
            raise SystemExit(f"{path}: verdict '{row['verdict']}' for {row['key']} is not one of {', '.join(VERDICTS)}")
    return {row["key"]: row for row in rows}


def write_verdicts(path: Path, table: dict[str, dict[str, str]]) -> None:
    """Write the verdict table sorted by code then key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for key in sorted(table, key=lambda k: (table[k]["code"], k)):
            writer.writerow({field: table[key].get(field, "") for field in FIELDS})


def context(item: Item, siblings: list[Item]) -> str:
    """The cell a finding points at (numbered lines around its line) and what is needed to judge it.

    ``siblings`` are the findings of the same rule in the same notebook, in order.
    """
    data = json.loads(Path(item.file).read_text(encoding="utf-8"))
    if data.get("nbformat", 4) < 4:  # lint may read older notebooks: show them as nbformat 4, as lint saw them
        import nbformat

        data = nbformat.convert(nbformat.from_dict(data), 4)
    cells = data.get("cells", [])
    kernel = data.get("metadata", {}).get("kernelspec", {}).get("name")
    lines = [
        f"file name: {Path(item.path).name}; {len(cells)} cells; kernelspec: {kernel}; "
        f"{item.code} finding {siblings.index(item) + 1} of {len(siblings)} in this notebook"
    ]

    def text(cell: dict) -> str:
        source = cell.get("source", "")
        return "".join(source) if isinstance(source, list) else source

    if item.code.startswith("NB1"):
        order = [
            f"{i + 1}:{c.get('execution_count') if c.get('execution_count') is not None else '-'}"
            for i, c in enumerate(cells)
            if c.get("cell_type") == "code"
        ]
        lines.append("execution counts (cell:count): " + " ".join(order))
    if item.cell is None:
        for i, cell in enumerate(cells[:3]):
            lines.append(f"--- cell {i + 1} ({cell.get('cell_type')})")
            lines += text(cell).splitlines()[:6]
        return "\n".join(lines)
    cell = cells[item.cell]
    if item.cell > 0:
        before = cells[item.cell - 1]
        lines.append(f"--- cell {item.cell} ({before.get('cell_type')}, above), last lines:")
        lines += text(before).splitlines()[-4:]
    lines.append(f"--- cell {item.cell + 1} ({cell.get('cell_type')}, exec {cell.get('execution_count')}) <== finding")
    source = text(cell).splitlines()
    start = max(0, (item.line or 1) - 1 - SNIPPET_LINES // 2) if len(source) > SNIPPET_LINES else 0
    for number, line in enumerate(source[start : start + SNIPPET_LINES], start + 1):
        mark = ">>" if number == item.line else "  "
        lines.append(f"{mark}{number:3d} {line[:160]}")
    for output in cell.get("outputs", [])[:3]:
        kind = output.get("output_type")
        if kind == "error":
            lines.append(f"[error output] {output.get('ename')}: {str(output.get('evalue'))[:150]}")
        elif kind == "stream":
            lines.append("[stream] " + "".join(output.get("text", ""))[:200].replace("\n", " | "))
        else:
            plain = output.get("data", {}).get("text/plain", "")
            plain = "".join(plain) if isinstance(plain, list) else plain
            lines.append(f"[{kind}] {sorted(output.get('data', {}))} " + plain[:150].replace("\n", " | "))
    return "\n".join(lines)


def wilson(right: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a share of ``right`` in ``n``."""
    if n == 0:
        return 0.0, 1.0
    share = right / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def figures(chosen: list[Item], counts: Counter[str], table: dict[str, dict[str, str]]) -> tuple[str, dict]:
    """Precision per rule, per family and overall (raw sample share and re-weighted) as markdown."""
    judged: dict[str, Counter[str]] = defaultdict(Counter)
    for item in chosen:
        verdict = table.get(item.key, {}).get("verdict", "")
        judged[item.code][verdict or "unjudged"] += 1
    total = sum(counts.values())

    def line(name: str, codes: list[str]) -> tuple[str, dict]:
        tally = Counter()
        for code in codes:
            tally.update(judged[code])
        n = sum(tally[v] for v in VERDICTS)
        found = sum(counts[c] for c in codes)
        raw = tally["right"] / n if n else None
        # Re-weighted: each rule's precision counts by its share of the group's findings in the corpus.
        weights = [
            (counts[c], judged[c]["right"] / sum(judged[c][v] for v in VERDICTS)) for c in codes if sum(judged[c][v] for v in VERDICTS)
        ]
        weight = sum(w for w, _ in weights)
        weighted = sum(w * p for w, p in weights) / weight if weight else None
        cells = [
            name,
            str(found),
            f"{100 * found / total:.1f}%" if total else "-",
            str(n),
            str(tally["right"]),
            str(tally["unwanted"]),
            str(tally["wrong"]),
            "-" if raw is None else f"{100 * raw:.0f}%",
            "-" if raw is None else "{:.0f}-{:.0f}%".format(*(100 * bound for bound in wilson(tally["right"], n))),
            "-" if weighted is None else f"{100 * weighted:.0f}%",
        ]
        if tally["unjudged"]:
            cells[3] += f" (+{tally['unjudged']} unjudged)"
        return "| " + " | ".join(cells) + " |", {
            "findings": found,
            "judged": n,
            **{v: tally[v] for v in VERDICTS},
            "raw": raw,
            "weighted": weighted,
        }

    header = [
        "| rule / family | findings in corpus | share | judged | right | unwanted | wrong | right (sample) | 95% interval "
        "| right (weighted) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    out = list(header)
    data: dict[str, dict] = {}
    codes = sorted(counts)
    for code in codes:
        text, data[code] = line(code, [code])
        out.append(text)
    out.append("| | | | | | | | | | |")
    for family in sorted({code[:3] for code in codes}):
        text, data[family] = line(f"**{family}**", [c for c in codes if c.startswith(family)])
        out.append(text)
    text, data["all"] = line("**all**", codes)
    out.append(text)
    return "\n".join(out), data


def main(argv: list[str] | None = None) -> int:
    """Command line: lint, sample, update the verdict table, write the judging sheet and the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="before", help="name of this run (before, after, ...)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--per-rule", type=int, default=8)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--judge-dir", type=Path, default=JUDGE_DIR, help="where the judging sheet goes (git-ignored)")
    args = parser.parse_args(argv)
    try:
        items, linted, unreadable, seconds = collect(args.corpus)
    except CorpusError as error:
        print(f"precision: error: {error}", file=sys.stderr)
        return 2
    counts = Counter(item.code for item in items)
    chosen = sample(items, args.size, args.per_rule, args.seed)
    print(
        f"precision: linted {linted} notebooks ({unreadable} unreadable) in {seconds:.1f} s; "
        f"{len(items)} default-on NB findings; sample {len(chosen)}"
    )

    verdict_path = args.out / "verdicts.csv"
    table = read_verdicts(verdict_path)
    todo = []
    for item in chosen:
        if item.key not in table:
            table[item.key] = {
                "key": item.key,
                "source": item.source,
                "path": item.path,
                "cell": "-" if item.cell is None else str(item.cell + 1),
                "code": item.code,
                "message": item.message,
                "verdict": "",
                "reason": "",
            }
        if not table[item.key]["verdict"]:
            todo.append(item)
    write_verdicts(verdict_path, table)

    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / f"sample-{args.label}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["key", "code"])
        for item in chosen:
            writer.writerow([item.key, item.code])
    with (args.out / f"counts-{args.label}.json").open("w", encoding="utf-8") as handle:
        by_source: dict[str, Counter[str]] = defaultdict(Counter)
        for item in items:
            by_source[item.code][item.source.split("@")[0]] += 1
        sources = {code: dict(by_source[code].most_common()) for code in sorted(by_source)}
        json.dump(
            {"notebooks": linted, "unreadable": unreadable, "findings": dict(sorted(counts.items())), "by_source": sources},
            handle,
            indent=1,
        )
        handle.write("\n")

    args.judge_dir.mkdir(parents=True, exist_ok=True)
    sheet = args.judge_dir / f"judge-{args.label}.md"
    siblings: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in items:
        siblings[(item.file, item.code)].append(item)
    with sheet.open("w", encoding="utf-8") as handle:
        for number, item in enumerate(todo, 1):
            text = context(item, siblings[(item.file, item.code)])
            handle.write(f"\n## [{number}] {item.key}\n{item.code}: {item.message}\n```\n{text}\n```\n")

    table_md, data = figures(chosen, counts, table)
    allowed = data["all"]
    weak = [code for code in counts if data[code]["raw"] is not None and data[code]["raw"] < GOAL_RULE]
    summary = [
        f"# Lint precision: {args.label}",
        "",
        f"{linted} notebooks linted ({unreadable} unreadable), {len(items)} default-on NB findings, {len(chosen)} sampled "
        f"(seed {args.seed}, at least {args.per_rule} per rule, the rest in proportion to the rule's findings).",
        "",
        table_md,
        "",
        f"Goal: overall right >= {GOAL_OVERALL:.0%} (weighted figure), no rule below {GOAL_RULE:.0%}. "
        f"Rules below {GOAL_RULE:.0%}: {', '.join(sorted(weak)) or 'none'}.",
    ]
    if todo:
        summary.append(f"\n{len(todo)} sampled findings are not judged yet: see {sheet}.")
    (args.out / f"results-{args.label}.md").write_text("\n".join(summary) + "\n", encoding="utf-8")
    print("\n".join(summary))
    weighted = allowed["weighted"]
    print(f"precision: overall right {'-' if weighted is None else f'{100 * weighted:.0f}%'} (weighted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
