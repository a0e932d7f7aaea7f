"""The lint precision harness: corpus manifest, stratified and stable sampling, verdict carry-over, figures."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import precision  # noqa: E402
import precision_corpus  # noqa: E402


def _item(code: str, n: int) -> precision.Item:
    return precision.Item(f"repo:nb{n}.ipynb|{n}|{code}|message {n}", "repo@abc", f"nb{n}.ipynb", "f", n, None, code, f"message {n}")


def test_allocate_gives_each_rule_its_floor_and_shares_the_rest_by_count() -> None:
    quota = precision.allocate(Counter({"NB101": 1000, "NB206": 3000, "NB302": 3}), size=40, per_rule=8)
    assert quota["NB302"] == 3  # all it has
    assert sum(quota.values()) == 40
    assert quota["NB206"] > quota["NB101"] > 8


def test_sample_keeps_surviving_findings_when_others_disappear() -> None:
    items = [_item("NB101", n) for n in range(50)] + [_item("NB502", n) for n in range(50, 60)]
    first = precision.sample(items, size=20, per_rule=8, seed=1)
    dropped = first[0]
    second = precision.sample([i for i in items if i != dropped], size=20, per_rule=8, seed=1)
    kept = {i.key for i in first} - {dropped.key}
    assert kept <= {i.key for i in second}
    assert len(second) == len(first)


def test_figures_report_raw_share_and_weighted_precision() -> None:
    chosen = [_item("NB101", n) for n in range(4)] + [_item("NB502", n) for n in range(4, 8)]
    table = {i.key: {"verdict": "right" if i.code == "NB101" else "wrong"} for i in chosen}
    text, data = precision.figures(chosen, Counter({"NB101": 900, "NB502": 100}), table)
    assert data["all"]["raw"] == pytest.approx(0.5)
    assert data["all"]["weighted"] == pytest.approx(0.9)
    assert "| **NB1** |" in text


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _notebook(counts: list[int]) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Title")]
    for index, count in enumerate(counts):
        cell = nbformat.v4.new_code_cell(f"x{index} = {index}")
        cell.execution_count = count
        nb.cells.append(cell)
    return nbformat.writes(nb)


def test_corpus_manifest_and_verdict_carry_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "mirror" / "someone+notebooks"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "ordered.ipynb").write_text(_notebook([1, 2, 3]), encoding="utf-8")
    (repo / "shuffled.ipynb").write_text(_notebook([3, 1, 2]), encoding="utf-8")
    (repo / "copy.ipynb").write_bytes((repo / "ordered.ipynb").read_bytes())
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "notebooks")
    commit = _git(repo, "rev-parse", "HEAD")
    monkeypatch.setattr(precision_corpus, "SOURCES", (precision_corpus.Source("someone/notebooks", commit, "test"),))
    monkeypatch.setattr(precision_corpus, "MIN_CORPUS", 1)

    corpus = tmp_path / "corpus"
    manifest = precision_corpus.build(tmp_path / "mirror", corpus)
    assert manifest["count"] == 2 and manifest["skipped"] == {"duplicate bytes": 1}
    assert precision_corpus.load(corpus)["files"][0]["sha256"]

    out, judge = tmp_path / "out", tmp_path / "judge"
    args = ["--corpus", str(corpus), "--out", str(out), "--judge-dir", str(judge), "--size", "10", "--per-rule", "2"]
    assert precision.main([*args, "--label", "before"]) == 0
    rows = list(csv.DictReader((out / "verdicts.csv").open(encoding="utf-8")))
    assert rows and all(row["verdict"] == "" for row in rows)
    assert any(row["code"] == "NB101" for row in rows)
    assert "## [1] " in (judge / "judge-before.md").read_text(encoding="utf-8")

    for row in rows:
        row["verdict"], row["reason"] = "right", "judged"
    precision.write_verdicts(out / "verdicts.csv", {row["key"]: row for row in rows})
    assert precision.main([*args, "--label", "after"]) == 0
    results = (out / "results-after.md").read_text(encoding="utf-8")
    assert "not judged yet" not in results
    assert "| **all** |" in results and "100%" in results
    assert json.loads((out / "counts-after.json").read_text(encoding="utf-8"))["notebooks"] == 2


def test_load_refuses_a_notebook_changed_since_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "a.ipynb").write_text("{}", encoding="utf-8")
    entry = {"source": "s@c", "kind": "k", "path": "a.ipynb", "sha256": "0" * 64, "file": "notebooks/a.ipynb"}
    (tmp_path / "manifest.json").write_text(json.dumps({"count": 1, "files": [entry]}), encoding="utf-8")
    with pytest.raises(precision_corpus.CorpusError, match="sha256"):
        precision_corpus.load(tmp_path)
