"""Build the notebook corpus used by the strip benchmark.

The corpus has two parts:

* real notebooks: the ``.ipynb`` test data shipped inside the source distributions of Jupyter tools
  (pinned versions, downloaded once with pip into a cache folder, then reused without network);
* generated notebooks: deterministic (``random.Random``) notebooks of 1-300 cells with the outputs real
  work leaves behind: logs, HTML tables, base64 PNG images up to 2 MB, tracebacks, widget state,
  volatile cell metadata; from a few KB up to 8 MB each, some already stripped.

Run ``python benchmarks/corpus.py [--dest DIR]`` to build it on its own.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from random import Random
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
DEFAULT_DEST = CACHE / "corpus"
DEFAULT_SDIST_CACHE = CACHE / "sdists"

# Source distributions that ship .ipynb test data (pinned for a reproducible corpus).
SDISTS: tuple[tuple[str, str], ...] = (
    ("jupytext", "1.19.6"),
    ("nbconvert", "7.17.2"),
    ("nbformat", "5.11.1"),
    ("papermill", "2.7.0"),
    ("nbclient", "0.11.0"),
    ("nbdime", "4.0.4"),
    ("nbsphinx", "0.9.8"),
    ("nbval", "0.11.0"),
    ("nbmake", "1.5.5"),
    ("nbstripout", "0.9.1"),
    ("scrapbook", "0.5.0"),
)
# Valid notebooks that one of the benchmarked tools refuses on purpose: they would abort its whole run.
EXCLUDED = {
    "nbstripout-0.9.1/tests/test_keep_output_tags_exception.ipynb": "nbstripout refuses it (contradictory keep_output)",
}
SEED = 20261128
N_GENERATED = 200
MIN_CORPUS = 300
# The recipe is this file's own hash: any change to the pins, the selection or the generator rebuilds the corpus.
RECIPE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
MARKER = "corpus.json"
PARTS = ("sdist", "generated")

CELL_TYPES = frozenset({"code", "markdown", "raw"})
CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MB = 1_000_000


class CorpusError(Exception):
    """The corpus could not be built."""


def build_corpus(dest: Path = DEFAULT_DEST, *, sdist_cache: Path = DEFAULT_SDIST_CACHE) -> list[Path]:
    """Build the corpus in ``dest`` (or reuse the one already there) and return its notebook paths.

    A marker file records the recipe and the file list; a corpus built from the same recipe whose files
    are all present is reused as is. Only the ``sdist/`` and ``generated/`` sub-folders of ``dest`` are
    ever deleted and rewritten.
    """
    cached = _load_marker(dest)
    if cached is not None:
        print(f"corpus: reusing {dest}")
        _print_summary(cached)
        return [dest / name for name in cached["files"]]

    (dest / MARKER).unlink(missing_ok=True)
    for part in PARTS:
        shutil.rmtree(dest / part, ignore_errors=True)
    (dest / "generated").mkdir(parents=True)

    files: list[Path] = []
    composition: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for name, version in SDISTS:
        archive = fetch_sdist(name, version, sdist_cache)
        kept, reasons = extract_notebooks(archive, dest / "sdist")
        files += kept
        composition[f"{name}=={version}"] = len(kept)
        for reason, count in reasons.items():
            skipped[f"{name}: {reason}"] = count

    for index in range(N_GENERATED):
        path = dest / "generated" / f"gen-{index:03d}.ipynb"
        path.write_text(canonical_json(generate_notebook(index)), encoding="utf-8")
        files.append(path)
    composition["generated"] = N_GENERATED

    if len(files) < MIN_CORPUS:
        raise CorpusError(f"corpus has {len(files)} notebooks, fewer than {MIN_CORPUS}")
    marker = {
        "recipe": RECIPE,
        "count": len(files),
        "bytes": sum(path.stat().st_size for path in files),
        "composition": composition,
        "skipped": skipped,
        "files": [path.relative_to(dest).as_posix() for path in files],
    }
    (dest / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    _print_summary(marker)
    return files


def _load_marker(dest: Path) -> dict[str, Any] | None:
    """Return the marker of a complete corpus built from the current recipe, else None."""
    try:
        marker = json.loads((dest / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("recipe") != RECIPE:
        return None
    files = marker.get("files")
    if not isinstance(files, list) or marker.get("count") != len(files):
        return None
    return marker if all((dest / name).is_file() for name in files) else None


def _print_summary(marker: dict[str, Any]) -> None:
    """Print the corpus composition, size and what was skipped."""
    parts = ", ".join(f"{source} {count}" for source, count in marker["composition"].items())
    print(f"corpus: {marker['count']} notebooks, {marker['bytes'] / MB:.1f} MB ({parts})")
    skipped = marker["skipped"]
    if skipped:
        listed = ", ".join(f"{reason} {count}" for reason, count in skipped.items())
        print(f"corpus: skipped {sum(skipped.values())} sdist notebooks ({listed})")


def fetch_sdist(name: str, version: str, cache: Path) -> Path:
    """Return the cached sdist of ``name==version``, downloading it with pip on first use."""
    cache.mkdir(parents=True, exist_ok=True)
    for path in cache.iterdir():
        if _sdist_key(path.name) == (_normalize(name), version):
            return path
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            f"--no-binary={name}",
            "--dest",
            tmp,
            f"{name}=={version}",
        ]
        print(f"corpus: downloading the sdist of {name}=={version}", flush=True)
        if subprocess.run(command).returncode != 0:
            raise CorpusError(f"pip could not download the sdist of {name}=={version} (a first build needs PyPI)")
        archives = [path for path in Path(tmp).iterdir() if _sdist_key(path.name) == (_normalize(name), version)]
        if len(archives) != 1:
            raise CorpusError(f"pip did not download one sdist of {name}=={version}: {sorted(Path(tmp).iterdir())}")
        return Path(shutil.move(archives[0], cache / archives[0].name))


def _normalize(name: str) -> str:
    """Normalize a project name as PEP 503 does, with '_' as the separator."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _sdist_key(filename: str) -> tuple[str, str] | None:
    """Return (normalized name, version) of an sdist file name, or None for other files."""
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            name, _, version = filename[: -len(suffix)].rpartition("-")
            return _normalize(name), version
    return None


def _archive_members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (member name, bytes) for each regular ``.ipynb`` file of a tar or zip archive."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if not info.is_dir() and info.filename.endswith(".ipynb"):
                    yield info.filename, zipped.read(info)
        return
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".ipynb"):
                extracted = tar.extractfile(member)
                if extracted is not None:
                    yield member.name, extracted.read()


def extract_notebooks(archive: Path, dest: Path) -> tuple[list[Path], Counter[str]]:
    """Copy the usable nbformat 4 notebooks of an sdist under ``dest``; return them and skip reasons.

    Member names that are absolute or contain '..' are skipped, so nothing is written outside ``dest``.
    """
    kept: list[Path] = []
    skipped: Counter[str] = Counter()
    for name, raw in _archive_members(archive):
        member = PurePosixPath(name)
        if member.is_absolute() or ".." in member.parts:
            skipped["unsafe path"] += 1
            continue
        reason = EXCLUDED.get(name) or notebook_problem(raw)
        if reason is not None:
            skipped[reason] += 1
            continue
        target = dest.joinpath(*member.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
        kept.append(target)
    return kept, skipped


def notebook_problem(raw: bytes) -> str | None:
    """Say why ``raw`` is not a usable nbformat 4 notebook (stdlib json only), or None if it is one.

    Usable: a JSON object with integer ``nbformat`` 4 and ``nbformat_minor``, a ``cells`` list of cell
    objects of a known type whose ``source`` is a string or a list of strings, and code cells with an
    ``outputs`` list. Test data that is invalid on purpose fails this.
    """
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except ValueError:
        return "not UTF-8 JSON"
    if not isinstance(data, dict) or data.get("nbformat") != 4 or isinstance(data.get("nbformat"), bool):
        return "not nbformat 4"
    minor = data.get("nbformat_minor")
    if not isinstance(minor, int) or isinstance(minor, bool) or minor < 0:
        return "bad nbformat_minor"
    if not isinstance(data.get("metadata", {}), dict) or not isinstance(data.get("cells"), list):
        return "bad notebook structure"
    return next((problem for cell in data["cells"] if (problem := _cell_problem(cell))), None)


def _cell_problem(cell: Any) -> str | None:
    """Say why one cell is unusable, or None."""
    if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_TYPES:
        return "bad cell"
    if "id" in cell and not (isinstance(cell["id"], str) and CELL_ID.match(cell["id"])):
        return "bad cell id"
    source = cell.get("source")
    if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(line, str) for line in source))):
        return "bad cell source"
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        return "bad cell metadata"
    tags = metadata.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        return "bad cell tags"
    if cell["cell_type"] == "code":
        outputs = cell.get("outputs")
        if not (isinstance(outputs, list) and all(isinstance(out, dict) for out in outputs)):
            return "bad cell outputs"
    return None


def canonical_json(notebook: dict[str, Any]) -> str:
    """Serialize a notebook the way nbformat writes it."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def split_lines(text: str) -> list[str]:
    """Split text into nbformat's multi-line string form (lines keep their newline)."""
    return text.splitlines(keepends=True)


# --- generated notebooks -------------------------------------------------------------------------

MARKDOWN = (
    "# Training a gradient-boosted model\n\nWe load the data, clean it and fit a baseline.",
    "## Exploration\n\nThe target is **imbalanced**: about 12 % positives. See the histogram below.",
    "### Résumé des données\n\nLes colonnes numériques sont normalisées ; la date est convertie.",
    "Die Verteilung der Merkmale ist schief — wir verwenden eine Log-Transformation.",
    "数据集包含 1,000 个样本。我们使用交叉验证来评估模型。",
    "The loss is $\\mathcal{L}(\\theta) = -\\sum_i y_i \\log \\hat{y}_i$, minimized with Adam.",
    "- [x] load data\n- [x] split\n- [ ] tune hyper-parameters\n- [ ] export the model 🚀",
    "> **Note**: this cell downloads nothing; the data set ships with scikit-learn.",
    "| metric | value |\n|---|---|\n| accuracy | 0.93 |\n| f1 | 0.88 |",
)
CODE = (
    "import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\n%matplotlib inline",
    "from sklearn.datasets import load_wine\nfrom sklearn.model_selection import train_test_split",
    "seed = 42\ntest_size = 0.2\nn_estimators = 200\nlearning_rate = 0.05",
    "df = pd.DataFrame(data.data, columns=data.feature_names)\ndf['target'] = data.target\ndf.head(20)",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=seed)",
    "model = GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed)\nmodel.fit(X_train, y_train)",
    "fig, ax = plt.subplots(figsize=(8, 5))\nax.hist(df['alcohol'], bins=30)\nax.set_title('alcohol')\nplt.show()",
    "for epoch in range(epochs):\n    loss = train_one_epoch(model)\n    print(f'epoch {epoch}: loss={loss:.4f}')",
    "scores = cross_val_score(model, X, y, cv=5)\nscores.mean(), scores.std()",
    "!pip list | grep scikit\n%timeit model.predict(X_test[:10])",
    "df.describe()",
    "print(classification_report(y_test, model.predict(X_test)))",
)
TAGS = ("parameters", "keep-output", "export", "hide-input", "skip", "test", "remove-cell")
WIDGET_MODELS = ("IntSliderModel", "FloatProgressModel", "HBoxModel", "HTMLModel", "LayoutModel", "DropdownModel")
EXECUTION_KEYS = ("iopub.execute_input", "iopub.status.busy", "iopub.status.idle", "shell.execute_reply")
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
ANSI_RED, ANSI_GREEN, ANSI_RESET = "\x1b[0;31m", "\x1b[0;32m", "\x1b[0m"


def generate_notebook(index: int) -> dict[str, Any]:
    """Return generated notebook number ``index``; the same index always gives the same notebook.

    Every 8th notebook is already stripped; every 20th (from 3) is large, 2-8 MB; every 50th (from 7) has
    a single cell; the others are typical, from a few KB to about 2 MB. Most are nbformat 4.5 with cell
    ids, some 4.4 or 4.2 without.
    """
    rng = Random(SEED * 1000 + index)
    stripped = index % 8 == 0
    large = index % 20 == 3
    minor = rng.choices((5, 4, 2), weights=(80, 15, 5))[0]
    if large:
        n_cells = rng.randint(60, 300)
    elif index % 50 == 7:
        n_cells = 1
    else:
        n_cells = min(300, max(1, int(rng.triangular(1, 300, 20))))
    if stripped:
        image_budget = 0
    elif large:
        image_budget = rng.randint(2 * MB, 7 * MB) * 3 // 4
    else:
        image_budget = rng.choices((0, rng.randint(20_000, 300_000), rng.randint(300_000, 1_200_000)), (4, 4, 2))[0]

    cells: list[dict[str, Any]] = []
    counter = 0
    for position in range(n_cells):
        if rng.random() < 0.35:
            cell: dict[str, Any] = {"cell_type": "markdown", "metadata": {}, "source": _markdown(rng)}
        elif rng.random() < 0.02:
            cell = {"cell_type": "raw", "metadata": {"raw_mimetype": "text/x-rst"}, "source": split_lines(".. note::")}
        else:
            counter += rng.choice((1, 1, 1, 1, 2, 5))
            cell = {
                "cell_type": "code",
                "execution_count": None if stripped or rng.random() < 0.05 else counter,
                "metadata": {} if stripped else _cell_metadata(rng, position),
                "outputs": [] if stripped else _outputs(rng, counter, large),
                "source": split_lines(rng.choice(CODE)),
            }
        if stripped and rng.random() < 0.1:
            cell["metadata"] = {"tags": [rng.choice(TAGS)]}
        if minor == 5:
            cell["id"] = f"{rng.getrandbits(32):08x}"
        cells.append(cell)

    code_cells = [cell for cell in cells if cell["cell_type"] == "code"]
    while image_budget > 0 and code_cells:
        size = min(image_budget, rng.randint(4_000, 1_500_000))
        image_budget -= size
        rng.choice(code_cells)["outputs"].append(_image_output(rng, size))

    return {
        "cells": cells,
        "metadata": _notebook_metadata(rng, with_widgets=not stripped and rng.random() < 0.3),
        "nbformat": 4,
        "nbformat_minor": minor,
    }


def _markdown(rng: Random) -> list[str]:
    """Return the source of a markdown cell, sometimes several paragraphs long."""
    return split_lines("\n\n".join(rng.choice(MARKDOWN) for _ in range(rng.choice((1, 1, 1, 2, 4)))))


def _timestamp(rng: Random) -> str:
    """Return an ISO timestamp like those Jupyter records."""
    day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    clock = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    return f"{day}T{clock}.{rng.randint(0, 999999):06d}Z"


def _cell_metadata(rng: Random, position: int) -> dict[str, Any]:
    """Return code cell metadata with the volatile keys editors and extensions add."""
    metadata: dict[str, Any] = {}
    if rng.random() < 0.3:
        metadata["collapsed"] = False
    if rng.random() < 0.2:
        metadata["scrolled"] = rng.choice((True, "auto"))
    if rng.random() < 0.3:
        metadata["ExecuteTime"] = {"end_time": _timestamp(rng), "start_time": _timestamp(rng)}
    if rng.random() < 0.3:
        metadata["execution"] = {key: _timestamp(rng) for key in EXECUTION_KEYS}
    if position == 1 or rng.random() < 0.1:
        metadata["tags"] = ["parameters"] if position == 1 else rng.sample(TAGS, rng.randint(1, 2))
    return metadata


def _outputs(rng: Random, count: int, large: bool) -> list[dict[str, Any]]:
    """Return the text outputs of one executed code cell (images are added separately)."""
    outputs: list[dict[str, Any]] = []
    if rng.random() < 0.4:
        lines = rng.choice((1, 2, 5, 10, 30, 2000 if large else 100))
        text = "".join(f"epoch {i}/{lines}: loss={rng.random():.4f} acc={rng.random():.4f}\n" for i in range(lines))
        outputs.append({"name": "stdout", "output_type": "stream", "text": split_lines(text)})
    if rng.random() < 0.1:
        text = "/usr/lib/python3/site-packages/sklearn/utils/validation.py:1183: DataConversionWarning\n"
        outputs.append({"name": "stderr", "output_type": "stream", "text": split_lines(text)})
    if rng.random() < 0.15:
        outputs.append(_table_result(rng, count))
    elif rng.random() < 0.2:
        data = {"text/plain": split_lines(f"({rng.random():.6f}, {rng.random():.6f})")}
        outputs.append({"data": data, "execution_count": count, "metadata": {}, "output_type": "execute_result"})
    if rng.random() < 0.05:
        view = {"model_id": f"{rng.getrandbits(128):032x}", "version_major": 2, "version_minor": 0}
        data = {"application/vnd.jupyter.widget-view+json": view, "text/plain": ["IntSlider(value=3)"]}
        outputs.append({"data": data, "metadata": {}, "output_type": "display_data"})
    if rng.random() < 0.04:
        outputs.append(_error(rng))
    return outputs


def _table_result(rng: Random, count: int) -> dict[str, Any]:
    """Return an execute_result holding a DataFrame-like table as text/plain and text/html."""
    columns = [f"feature_{i}" for i in range(rng.randint(2, 14))]
    rows = [[f"{rng.gauss(0, 100):.4f}" for _ in columns] for _ in range(rng.choice((5, 10, 20, 60)))]
    plain = "\n".join(["    " + "  ".join(columns)] + [f"{i:<4}" + "  ".join(row) for i, row in enumerate(rows)])
    html = (
        "<div>\n<style scoped>\n    .dataframe tbody tr th:only-of-type {\n        vertical-align: middle;\n    }\n"
        '</style>\n<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: right;">\n'
        "      <th></th>\n"
        + "".join(f"      <th>{column}</th>\n" for column in columns)
        + "    </tr>\n  </thead>\n  <tbody>\n"
        + "".join(
            f"    <tr>\n      <th>{i}</th>\n" + "".join(f"      <td>{value}</td>\n" for value in row) + "    </tr>\n"
            for i, row in enumerate(rows)
        )
        + "  </tbody>\n</table>\n</div>"
    )
    data = {"text/html": split_lines(html), "text/plain": split_lines(plain)}
    return {"data": data, "execution_count": count, "metadata": {}, "output_type": "execute_result"}


def _error(rng: Random) -> dict[str, Any]:
    """Return an error output with an ANSI-coloured traceback like IPython's."""
    frames = [
        f"{ANSI_GREEN}File /home/user/project/module_{i}.py:{rng.randint(1, 400)}{ANSI_RESET}, in step_{i}(x)\n"
        f"    {rng.randint(1, 400)} def step_{i}(x):\n{ANSI_GREEN}--> {rng.randint(1, 400)}{ANSI_RESET}     return f(x)"
        for i in range(rng.randint(1, 12))
    ]
    ename, evalue = rng.choice((("ValueError", "could not convert string to float: 'n/a'"), ("KeyError", "'target'")))
    header = f"{ANSI_RED}{'-' * 75}{ANSI_RESET}\n{ANSI_RED}{ename}{ANSI_RESET}  Traceback (most recent call last)"
    return {
        "ename": ename,
        "evalue": evalue,
        "output_type": "error",
        "traceback": [header, *frames, f"{ANSI_RED}{ename}{ANSI_RESET}: {evalue}"],
    }


def _image_output(rng: Random, size: int) -> dict[str, Any]:
    """Return a display_data output with a base64 PNG-like payload of ``size`` bytes."""
    payload = base64.b64encode(PNG_SIGNATURE + rng.randbytes(max(0, size - len(PNG_SIGNATURE)))).decode("ascii")
    data = {
        "image/png": payload + ("\n" if rng.random() < 0.3 else ""),
        "text/plain": ["<Figure size 640x480 with 1 Axes>"],
    }
    metadata = {"needs_background": "light"} if rng.random() < 0.3 else {}
    return {"data": data, "metadata": metadata, "output_type": "display_data"}


def _notebook_metadata(rng: Random, *, with_widgets: bool) -> dict[str, Any]:
    """Return notebook metadata: kernelspec and language_info, sometimes widget state and extras."""
    version = rng.choice(("3.10.14", "3.11.9", "3.12.4"))
    metadata: dict[str, Any] = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {
            "codemirror_mode": {"name": "ipython", "version": 3},
            "file_extension": ".py",
            "mimetype": "text/x-python",
            "name": "python",
            "nbconvert_exporter": "python",
            "pygments_lexer": "ipython3",
            "version": version,
        },
    }
    if with_widgets:
        state = {
            f"{rng.getrandbits(128):032x}": {
                "model_module": "@jupyter-widgets/controls",
                "model_module_version": "2.0.0",
                "model_name": rng.choice(WIDGET_MODELS),
                "state": {"value": rng.randint(0, 100), "description": "n_estimators", "layout": "IPY_MODEL_abc"},
            }
            for _ in range(rng.randint(1, 200))
        }
        metadata["widgets"] = {WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    if rng.random() < 0.1:
        metadata["toc"] = {"base_numbering": 1, "nav_menu": {}, "number_sections": True, "toc_cell": False}
    if rng.random() < 0.05:
        metadata["signature"] = f"sha256:{rng.getrandbits(256):064x}"
    return metadata


def main(argv: list[str] | None = None) -> int:
    """Build the corpus from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"corpus folder (default: {DEFAULT_DEST})")
    parser.add_argument("--sdist-cache", type=Path, default=DEFAULT_SDIST_CACHE, help="folder of downloaded sdists")
    args = parser.parse_args(argv)
    try:
        build_corpus(args.dest, sdist_cache=args.sdist_cache)
    except CorpusError as error:
        print(f"corpus: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
