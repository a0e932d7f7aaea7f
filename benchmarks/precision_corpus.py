"""Build the corpus of real public notebooks that the lint precision harness samples findings from.

Nothing of the corpus is committed (the notebooks belong to their authors, under their licences): this
script extracts them, at pinned commits, from local git snapshots of public repositories into a
git-ignored cache, and writes a manifest (source, path, sha256) next to them so that a sample can be
reproduced and checked. CI cannot reach GitHub, so the snapshots come from a folder given on the command
line that holds one git directory per repository, named ``owner+name/repo`` (or ``owner+name`` or
``owner+name.git``; a clone with a work tree also works).

Usage: ``python benchmarks/precision_corpus.py --mirror DIR [--dest DIR]``

The sources are textbooks, course material, library example notebooks and Kaggle-style analyses, none
written by nb2prod's developers. Duplicates (same bytes) are kept once; notebooks larger than
``MAX_BYTES`` and checkpoint copies are left out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
DEFAULT_DEST = HERE / ".cache" / "precision-corpus"
MANIFEST = "manifest.json"
MAX_BYTES = 20_000_000
MIN_CORPUS = 300


@dataclass(frozen=True)
class Source:
    """A public repository pinned at a commit, what kind of material it is and which notebooks to take."""

    repo: str
    commit: str
    kind: str
    include: tuple[str, ...] = ("",)  # path prefixes to take ("" is all)
    exclude: tuple[str, ...] = ()  # path prefixes to leave out


SOURCES: tuple[Source, ...] = (
    Source("jakevdp/PythonDataScienceHandbook", "d66231454ef753818dc9213c9b5942e067266966", "textbook", ("notebooks/",)),
    Source("ageron/handson-ml2", "1e2115277b50f6c584cd668fa30e3af309a5b136", "textbook"),
    Source("ageron/handson-ml3", "e3f3f9e66d58cfa1d068a498433063a1d3fba9ef", "textbook"),
    Source("wesm/pydata-book", "d86d8056fa17b180e2a7dc1d9ae1cfb830967d50", "textbook"),
    Source("rasbt/machine-learning-book", "35ab3774e8e249c43a98209d8efd94c060102003", "textbook"),
    Source("amueller/introduction_to_ml_with_python", "ea60cf6cf791553b6cca7cf31802c68cb3798ebb", "textbook"),
    Source("fchollet/deep-learning-with-python-notebooks", "dea84a4e12cc3bb3cb61ce952a0168bca113d315", "textbook"),
    Source(
        "CamDavidsonPilon/Probabilistic-Programming-and-Bayesian-Methods-for-Hackers",
        "5b33f77a803a1a07dcadabae6cc382c9fd2c77d7",
        "textbook",
    ),
    Source("donnemartin/data-science-ipython-notebooks", "5b3c00d462c6e9200315afe46d0093948621eb95", "course"),
    Source("guipsamora/pandas_exercises", "daf0fd2c7c34724aba5b7ec6006aaf9873a2913b", "course"),
    Source("justmarkham/scikit-learn-videos", "8545c74961398def7724501648fd504dbf061b41", "course"),
    Source("fastai/course22", "230390584ba5b990e20487d68681a9ec5b258eff", "kaggle", exclude=("clean/",)),
    Source(
        "Sharzzz001/Machine-Learning-Applications-and-Kaggle-Competitions",
        "200a425815e63f92e469813e7092fb60639531fd",
        "kaggle",
    ),
    Source("statsmodels/statsmodels", "82c59e378bdfb5ae324006c477954879ad3e24be", "library", ("examples/notebooks/",)),
    Source("shap/shap", "df974a1966294b9c7acebb1373fd6dc5445d1d3d", "library", ("notebooks/",)),
    Source("CamDavidsonPilon/lifelines", "ad023a013edaff89926ec118b16d4a0d644db9b5", "library"),
)


class CorpusError(Exception):
    """The precision corpus could not be built."""


def git_dir(mirror: Path, repo: str) -> Path:
    """Find the bare git directory of ``repo`` (``owner/name``) under ``mirror``."""
    stem = repo.replace("/", "+")
    for candidate in (mirror / stem / "repo", mirror / stem, mirror / f"{stem}.git"):
        if (candidate / ".git").is_dir():  # a clone with a work tree
            return candidate / ".git"
        if (candidate / "HEAD").is_file():
            return candidate
    raise CorpusError(f"{mirror}: no git snapshot of {repo} (expected {stem}/repo, {stem} or {stem}.git)")


def _git(directory: Path, *args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(["git", "--git-dir", str(directory), *args], input=stdin, capture_output=True)
    if done.returncode != 0:
        raise CorpusError(f"{directory}: git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _wanted(source: Source, path: str) -> bool:
    parts = PurePosixPath(path).parts
    if not path.endswith(".ipynb") or ".ipynb_checkpoints" in parts:
        return False
    return any(path.startswith(p) for p in source.include) and not any(path.startswith(p) for p in source.exclude)


def notebooks_of(directory: Path, source: Source) -> list[tuple[str, bytes | None]]:
    """Return (path, bytes) of the notebooks ``source`` takes from its commit, in path order.

    The bytes are None for a blob the snapshot lacks (snapshots leave out files of 4 MiB and more).
    """
    listing = _git(directory, "ls-tree", "-r", "-z", "--full-tree", source.commit)
    entries = []
    for line in listing.split(b"\0"):
        if not line:
            continue
        meta, _, path = line.partition(b"\t")
        mode, kind, sha = meta.split()
        name = path.decode("utf-8", errors="surrogateescape")
        if kind == b"blob" and mode != b"120000" and _wanted(source, name):
            entries.append((name, sha.decode()))
    entries.sort()
    batch = _git(directory, "cat-file", "--batch", stdin="".join(f"{sha}\n" for _, sha in entries).encode())
    out: list[tuple[str, bytes | None]] = []
    position = 0
    for name, _ in entries:
        end = batch.index(b"\n", position)
        header = batch[position:end].split()
        position = end + 1
        if header[-1] == b"missing":
            out.append((name, None))
            continue
        size = int(header[2])
        out.append((name, batch[position : position + size]))
        position += size + 1
    return out


def build(mirror: Path, dest: Path = DEFAULT_DEST) -> dict:
    """Extract every source's notebooks into ``dest`` and write the manifest; return it."""
    shutil.rmtree(dest / "notebooks", ignore_errors=True)
    (dest / MANIFEST).unlink(missing_ok=True)
    seen: set[str] = set()
    files = []
    skipped: Counter[str] = Counter()
    for source in SOURCES:
        directory = git_dir(mirror, source.repo)
        for path, data in notebooks_of(directory, source):
            if data is None:
                skipped["not in the snapshot (4 MiB or more)"] += 1
                continue
            digest = hashlib.sha256(data).hexdigest()
            if len(data) > MAX_BYTES:
                skipped["too large"] += 1
                continue
            if digest in seen:
                skipped["duplicate bytes"] += 1
                continue
            seen.add(digest)
            local = PurePosixPath("notebooks", source.repo.replace("/", "+"), path)
            target = dest / local
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            files.append(
                {"source": f"{source.repo}@{source.commit[:12]}", "kind": source.kind, "path": path, "sha256": digest, "file": str(local)}
            )
    if len(files) < MIN_CORPUS:
        raise CorpusError(f"corpus has {len(files)} notebooks, fewer than {MIN_CORPUS}")
    manifest = {
        "sources": [{"repo": s.repo, "commit": s.commit, "kind": s.kind} for s in SOURCES],
        "count": len(files),
        "skipped": dict(skipped),
        "files": files,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def load(dest: Path = DEFAULT_DEST) -> dict:
    """Read the manifest of a built corpus and check every file's sha256 against it."""
    try:
        manifest = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CorpusError(f"{dest}: no corpus manifest ({error}); build it with benchmarks/precision_corpus.py --mirror DIR") from None
    for entry in manifest["files"]:
        data = (dest / entry["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise CorpusError(f"{dest / entry['file']}: sha256 differs from the manifest (rebuild the corpus)")
    return manifest


def summary(manifest: dict) -> str:
    """One line per source: how many notebooks it gave, then the total."""
    by_source = Counter(entry["source"] for entry in manifest["files"])
    kinds = Counter(entry["kind"] for entry in manifest["files"])
    lines = [f"{count:5d}  {source}" for source, count in by_source.items()]
    lines.append(
        f"{manifest['count']:5d}  notebooks in all ({', '.join(f'{k} {n}' for k, n in kinds.items())}); skipped {manifest['skipped']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: build the corpus from a folder of git snapshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, required=True, help="folder of bare git snapshots (owner+name/repo)")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    args = parser.parse_args(argv)
    try:
        manifest = build(args.mirror, args.dest)
    except CorpusError as error:
        print(f"precision_corpus: error: {error}", file=sys.stderr)
        return 2
    print(summary(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
