"""Notebook I/O: reading, faithful writing and crash safety of ``nb2prod.notebook``.

What this file shows (issue 2, "Notebook I/O" and "Must show"):

* every file in ``tests/data/roundtrip/`` (one per serialisation style or notebook feature) reads,
  writes back byte-identical when unchanged, and keeps its style after a real change — proved by
  changing, writing, reverting on the freshly read notebook, writing again and comparing with the
  original bytes;
* a notebook with a 20 MB output reads, is not rewritten when unchanged, and strips to a small file;
* hypothesis-generated nbformat 4.5 notebooks in random styles round-trip the same way, and every
  one nb2prod accepts is also valid for ``nbformat.validate``;
* a writer killed with SIGKILL mid-write, a read-only folder, a full disk and a concurrent edit all
  leave the original file intact and valid;
* text notebooks (py:percent, light, markdown, MyST) go through jupytext;
* ``#|`` directives and tags give cells their roles.

The committed fixtures are never written to: every test that writes works on a copy in a
temporary folder.
"""

from __future__ import annotations

import base64
import copy
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import nb2prod.atomic
from nb2prod.atomic import TEMP_SUFFIX
from nb2prod.errors import NotebookReadError, WriteConflictError, WriteError
from nb2prod.model import Directive, make_cell, parse_directives
from nb2prod.notebook import is_notebook_path, read_notebook, serialize, write_notebook

ROUNDTRIP_DIR = Path(__file__).parent / "data" / "roundtrip"
FIXTURES = sorted(ROUNDTRIP_DIR.glob("*.ipynb"))
BOM = b"\xef\xbb\xbf"
Json = dict[str, Any]


# --- helpers ------------------------------------------------------------------------------------


def _load(raw: bytes) -> Json:
    """The notebook JSON in ``raw``, decoded the way any JSON reader would (a BOM allowed)."""
    return json.loads(raw.decode("utf-8-sig"))


def _temp_files(folder: Path) -> list[Path]:
    """Temporary files nb2prod's atomic writer left in ``folder``."""
    return sorted(folder.glob(f".*{TEMP_SUFFIX}"))


def _copy_fixture(fixture: Path, folder: Path) -> Path:
    target = folder / fixture.name
    shutil.copyfile(fixture, target)
    return target


def _same_json(a: Any, b: Any) -> bool:
    """Equality of JSON values that, unlike Python's, tells 1, 1.0 and true apart (key order aside)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_json(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _keys_sorted(value: Any) -> bool:
    """True when every object in ``value`` has its keys in sorted order."""
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(_keys_sorted(v) for v in value.values())
    if isinstance(value, list):
        return all(_keys_sorted(v) for v in value)
    return True


def _outputs(data: Json) -> list[Json]:
    return [output for cell in data["cells"] for output in cell.get("outputs", [])]


def _append_x(data: Json) -> None:
    """A one-line change: append "x" to the first cell's source, or to the kernel's display name."""
    if not data["cells"]:
        data["metadata"]["kernelspec"]["display_name"] += "x"
        return
    cell = data["cells"][0]
    if isinstance(cell["source"], str):
        cell["source"] += "x"
    elif cell["source"]:
        cell["source"][-1] += "x"
    else:
        cell["source"].append("x")


def _revert_append_x(data: Json, original: Json) -> None:
    if not data["cells"]:
        data["metadata"]["kernelspec"]["display_name"] = original["metadata"]["kernelspec"]["display_name"]
    else:
        data["cells"][0]["source"] = copy.deepcopy(original["cells"][0]["source"])


def _clear_outputs(data: Json) -> None:
    for cell in data["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


def _revert_clear_outputs(data: Json, original: Json) -> None:
    for cell, before in zip(data["cells"], original["cells"], strict=True):
        if cell["cell_type"] == "code":
            cell["outputs"] = copy.deepcopy(before["outputs"])
            cell["execution_count"] = before["execution_count"]


def _changed_lines(before: bytes, after: bytes) -> int:
    """How many lines differ between two files with the same number of lines (-1 if counts differ)."""
    old, new = before.split(b"\n"), after.split(b"\n")
    if len(old) != len(new):
        return -1
    return sum(a != b for a, b in zip(old, new, strict=True))


def _change_write_revert(path: Path, change: Callable[[Json], None], revert: Callable[[Json, Json], None]) -> tuple[bytes, bytes]:
    """Change the notebook at ``path``, write, read back, revert on the fresh data, write again.

    Asserts each step did what it should; returns (bytes after the change, bytes after the revert).
    """
    notebook = read_notebook(path)
    original = copy.deepcopy(notebook.data)
    changed = copy.deepcopy(notebook.data)
    change(changed)
    assert changed != original, "the change must change something"
    assert write_notebook(notebook, changed) is True
    changed_raw = path.read_bytes()
    fresh = read_notebook(path)
    assert _same_json(fresh.data, changed)
    assert _load(changed_raw) == changed
    reverted = copy.deepcopy(fresh.data)
    revert(reverted, original)
    assert reverted == original
    assert write_notebook(fresh, reverted) is True
    assert _temp_files(path.parent) == []
    return changed_raw, path.read_bytes()


# --- the round-trip fixture set -----------------------------------------------------------------


def _ids(data: Json) -> list[str | None]:
    return [cell.get("id") for cell in data["cells"]]


def _one_line(raw: bytes) -> bool:
    return b"\n" not in raw.rstrip(b"\n")


def _version_without_ids(minor: int) -> Callable[[bytes, Json], bool]:
    return lambda raw, d: d["nbformat_minor"] == minor and set(_ids(d)) == {None}


#: What each fixture is there to cover, checked against its bytes so a fixture cannot drift away
#: from the behaviour its name promises.
FIXTURE_CLAIMS: dict[str, Callable[[bytes, Json], bool]] = {
    **{f"nbformat-4.{minor}-no-ids": _version_without_ids(minor) for minor in range(5)},
    "nbformat-4.5-with-ids": lambda raw, d: d["nbformat_minor"] == 5 and None not in _ids(d) and len(set(_ids(d))) == len(d["cells"]),
    "nbformat-4.5-some-ids-missing": lambda raw, d: d["nbformat_minor"] == 5 and None in _ids(d) and any(_ids(d)),
    "nbformat-4.5-duplicate-ids": lambda raw, d: None not in _ids(d) and len(set(_ids(d))) < len(d["cells"]),
    "indent-1-sorted-keys": lambda raw, d: raw.startswith(b'{\n "') and _keys_sorted(d),
    "indent-2-insertion-order": lambda raw, d: raw.startswith(b'{\n  "') and not _keys_sorted(d),
    "indent-4-spaces": lambda raw, d: raw.startswith(b'{\n    "'),
    "indent-tabs": lambda raw, d: raw.startswith(b'{\n\t"') and b"\n\t\t" in raw,
    "one-line-compact-separators": lambda raw, d: (
        _one_line(raw) and b'","' in raw and b'":' in raw and b'": ' not in raw.replace(b'\\"', b"")
    ),
    "one-line-spaced-separators": lambda raw, d: _one_line(raw) and b'", "' in raw and b'": "' in raw,
    "unsorted-keys": lambda raw, d: raw.startswith(b'{\n "nbformat"') and not _keys_sorted(d),
    "crlf-line-endings": lambda raw, d: raw.count(b"\r\n") > 10 and raw.count(b"\n") == raw.count(b"\r\n"),
    "no-trailing-newline": lambda raw, d: raw.endswith(b"}") and not _one_line(raw),
    "non-ascii-raw": lambda raw, d: all(text.encode() in raw for text in ("é", "日本", "📈")),
    "non-ascii-escaped": lambda raw, d: raw.isascii() and b"\\u00e9" in raw and "日本" in json.dumps(d, ensure_ascii=False),
    "utf8-bom": lambda raw, d: raw.startswith(BOM) and "é".encode() in raw,
    "markdown-attachments": lambda raw, d: any(c["cell_type"] == "markdown" and c.get("attachments") for c in d["cells"]),
    "widget-state-metadata": lambda raw, d: "application/vnd.jupyter.widget-state+json" in d["metadata"].get("widgets", {}),
    "source-as-single-string": lambda raw, d: bool(d["cells"]) and all(isinstance(c["source"], str) for c in d["cells"]),
    "source-list-and-string-mixed": lambda raw, d: {type(c["source"]) for c in d["cells"]} == {str, list},
    "raw-cells": lambda raw, d: sum(c["cell_type"] == "raw" for c in d["cells"]) >= 2,
    "error-output-ansi-traceback": lambda raw, d: any(
        o["output_type"] == "error" and any("\x1b[" in line for line in o["traceback"]) for o in _outputs(d)
    ),
    "empty-no-cells": lambda raw, d: d["cells"] == [],
}


def test_fixture_set_covers_every_behaviour() -> None:
    """Each behaviour has its file, each file is claimed by a behaviour, and each file is small."""
    assert {path.stem for path in FIXTURES} == set(FIXTURE_CLAIMS)
    assert all(path.stat().st_size < 20_000 for path in FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURE_CLAIMS))
def test_fixture_has_the_behaviour_its_name_promises(name: str) -> None:
    raw = (ROUNDTRIP_DIR / f"{name}.ipynb").read_bytes()
    assert FIXTURE_CLAIMS[name](raw, _load(raw))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.stem)
def test_fixture_reads(fixture: Path) -> None:
    raw = fixture.read_bytes()
    expected = _load(raw)
    notebook = read_notebook(fixture, display_path="shown/name.ipynb")
    assert notebook.raw == raw
    assert notebook.data == expected
    assert notebook.format == "ipynb"
    assert not notebook.is_text
    assert notebook.nbformat == (4, expected["nbformat_minor"])
    assert notebook.display_path == "shown/name.ipynb"
    assert [cell.index for cell in notebook.cells] == list(range(len(expected["cells"])))
    assert [cell.cell_type for cell in notebook.cells] == [cell["cell_type"] for cell in expected["cells"]]
    assert [cell.id for cell in notebook.cells] == _ids(expected)
    for cell, source in zip(notebook.cells, expected["cells"], strict=True):
        text = source["source"] if isinstance(source["source"], str) else "".join(source["source"])
        assert cell.source == text
        assert cell.raw == source


@pytest.mark.parametrize("fixture", [f for f in FIXTURES if "ids" not in f.stem], ids=lambda path: path.stem)
def test_fixture_is_a_valid_notebook_for_nbformat(fixture: Path) -> None:
    """The fixtures are real notebooks, not shapes only nb2prod accepts (the id fixtures are lint cases)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nbformat.validate(nbformat.from_dict(_load(fixture.read_bytes())))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.stem)
def test_fixture_unchanged_write_is_a_no_op(fixture: Path, tmp_path: Path) -> None:
    path = _copy_fixture(fixture, tmp_path)
    raw = path.read_bytes()
    before = path.stat()
    notebook = read_notebook(path)
    assert serialize(notebook, notebook.data) == raw
    assert serialize(notebook, copy.deepcopy(notebook.data)) == raw
    time.sleep(0.01)  # an unwanted rewrite would then show in the modification time
    assert write_notebook(notebook, copy.deepcopy(notebook.data)) is False
    after = path.stat()
    assert path.read_bytes() == raw
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.stem)
def test_fixture_keeps_its_style_after_a_change(fixture: Path, tmp_path: Path) -> None:
    """Append "x" to a source line: one line of the file changes; reverting gives the original bytes."""
    path = _copy_fixture(fixture, tmp_path)
    original = path.read_bytes()
    changed, reverted = _change_write_revert(path, _append_x, _revert_append_x)
    if not _one_line(original):
        assert _changed_lines(original, changed) == 1, "a one-line edit must give a one-line diff"
    assert reverted == original


@pytest.mark.parametrize("fixture", [f for f in FIXTURES if _outputs(_load(f.read_bytes()))], ids=lambda path: path.stem)
def test_fixture_keeps_its_style_after_clearing_outputs(fixture: Path, tmp_path: Path) -> None:
    path = _copy_fixture(fixture, tmp_path)
    original = path.read_bytes()
    changed, reverted = _change_write_revert(path, _clear_outputs, _revert_clear_outputs)
    assert len(changed) < len(original)
    assert _outputs(_load(changed)) == []
    assert reverted == original


def test_cells_view_of_a_fixture() -> None:
    notebook = read_notebook(ROUNDTRIP_DIR / "nbformat-4.5-with-ids.ipynb")
    parameters, load = notebook.cells[1], notebook.cells[2]
    assert (parameters.index, parameters.number, parameters.id, parameters.cell_type) == (1, 2, "parameters", "code")
    assert parameters.tags == ("parameters",)
    assert parameters.roles == frozenset({"parameters"})
    assert parameters.source == "seed = 0\ntest_size = 0.25"
    assert parameters.execution_count == 1
    assert load.execution_count == 2 and load.tags == () and load.roles == frozenset()
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].execution_count is None
    assert notebook.language == "python"


def test_missing_and_duplicate_ids_are_not_read_errors() -> None:
    missing = read_notebook(ROUNDTRIP_DIR / "nbformat-4.5-some-ids-missing.ipynb")
    assert [cell.id for cell in missing.cells] == ["a1b2c3d4", None, "load-data", None, "plot"]
    duplicate = read_notebook(ROUNDTRIP_DIR / "nbformat-4.5-duplicate-ids.ipynb")
    assert duplicate.cells[2].id == duplicate.cells[3].id == "load-data"


def test_nbformat_3_is_refused_with_how_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"metadata": {}, "nbformat": 3, "nbformat_minor": 0, "worksheets": []}))
    with pytest.raises(NotebookReadError) as caught:
        read_notebook(path, display_path="old.ipynb")
    message = str(caught.value)
    assert message.startswith("old.ipynb: error: nbformat 3")
    assert "nbconvert --to notebook" in message


# --- a 20 MB output -----------------------------------------------------------------------------


def _nbformat_bytes(data: Json) -> bytes:
    """What nbformat / Jupyter write: indent 1, sorted keys, raw non-ASCII, a trailing newline."""
    return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def test_twenty_megabyte_output(tmp_path: Path) -> None:
    png = base64.b64encode(random.Random(20).randbytes(15_000_000)).decode()
    data: Json = {
        "cells": [
            {"cell_type": "markdown", "id": "title", "metadata": {}, "source": ["# A large figure"]},
            {
                "cell_type": "code",
                "execution_count": 7,
                "id": "figure",
                "metadata": {},
                "outputs": [{"data": {"image/png": png, "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}],
                "source": ["plot_everything()"],
            },
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "big.ipynb"
    raw = _nbformat_bytes(data)
    assert len(raw) > 20_000_000
    path.write_bytes(raw)
    before = path.stat()

    notebook = read_notebook(path)
    assert notebook.data == data
    assert notebook.cells[1].raw["outputs"][0]["data"]["image/png"] == png
    assert serialize(notebook, copy.deepcopy(notebook.data)) == raw
    assert write_notebook(notebook, copy.deepcopy(notebook.data)) is False
    assert path.stat().st_mtime_ns == before.st_mtime_ns

    stripped = copy.deepcopy(notebook.data)
    _clear_outputs(stripped)
    assert write_notebook(notebook, stripped) is True
    assert path.read_bytes() == _nbformat_bytes(stripped)
    assert path.stat().st_size < 2_000
    assert read_notebook(path).data == stripped
    assert _temp_files(tmp_path) == []


# --- property tests on generated notebooks -------------------------------------------------------

#: Pieces that stress JSON escaping, line handling and style detection (text that looks like JSON
#: separators or escapes), mixed into otherwise random unicode.
_TRICKY = [*"\r\n\t\"\\',:{}[] /\x00\x1b\x7f\x85\u2028\u2029éß日本😀\U0001d518\ufeff", '": ', '", "', ", ", "\r\n", "\\u00e9", "\\n"]
_text = st.lists(st.one_of(st.sampled_from(_TRICKY), st.characters(codec="utf-8")), max_size=12).map("".join)
_multiline = st.one_of(_text, _text.map(lambda text: text.splitlines(keepends=True)), st.lists(_text, max_size=4))
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=6,
)
#: Extra metadata keys carry a prefix so they never collide with keys the schema types.
_metadata = st.dictionaries(_text.map(lambda key: "x-" + key), _json_values, max_size=3)
_tags = st.lists(
    st.sampled_from(["parameters", "export", "test", "keep-output"])
    | st.text(st.characters(codec="utf-8", exclude_characters=","), min_size=1, max_size=8),
    unique=True,
    max_size=3,
)
_mimebundle = st.fixed_dictionaries(
    {},
    optional={
        "text/plain": _multiline,
        "text/html": _multiline,
        "image/png": st.binary(max_size=48).map(lambda data: base64.b64encode(data).decode()),
        "application/json": st.dictionaries(_text, _json_values, max_size=2),
    },
)
_counts = st.none() | st.integers(0, 10_000)


@st.composite
def _shuffled(draw: st.DrawFn, items: dict[str, Any]) -> Json:
    """The same object with its keys in a random order (files need not be sorted)."""
    return dict(draw(st.permutations(list(items.items()))))


@st.composite
def _outputs_strategy(draw: st.DrawFn) -> Json:
    kind = draw(st.sampled_from(["stream", "execute_result", "display_data", "error"]))
    if kind == "stream":
        output = {"output_type": kind, "name": draw(st.sampled_from(["stdout", "stderr"])), "text": draw(_multiline)}
    elif kind == "execute_result":
        output = {"output_type": kind, "execution_count": draw(_counts), "data": draw(_mimebundle), "metadata": draw(_metadata)}
    elif kind == "display_data":
        output = {"output_type": kind, "data": draw(_mimebundle), "metadata": draw(_metadata)}
    else:
        output = {"output_type": kind, "ename": draw(_text), "evalue": draw(_text), "traceback": draw(st.lists(_text, max_size=3))}
    return draw(_shuffled(output))


@st.composite
def notebooks(draw: st.DrawFn) -> Json:
    """A valid nbformat 4.5 notebook with random cells, sources, tags, outputs and metadata."""
    ids = draw(st.lists(st.from_regex(r"[a-zA-Z0-9_-]{1,16}", fullmatch=True), unique=True, max_size=5))
    cells = []
    for cell_id in ids:
        cell_type = draw(st.sampled_from(["code", "markdown", "raw"]))
        metadata = draw(_metadata)
        tags = draw(_tags)
        if tags or draw(st.booleans()):
            metadata["tags"] = tags
        cell: Json = {"cell_type": cell_type, "id": cell_id, "metadata": draw(_shuffled(metadata)), "source": draw(_multiline)}
        if cell_type == "code":
            cell["execution_count"] = draw(_counts)
            cell["outputs"] = draw(st.lists(_outputs_strategy(), max_size=3))
        elif cell_type == "markdown" and draw(st.booleans()):
            cell["attachments"] = {"image.png": {"image/png": base64.b64encode(draw(st.binary(max_size=24))).decode()}}
        cells.append(draw(_shuffled(cell)))
    metadata = draw(_metadata)
    if draw(st.booleans()):
        metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return draw(_shuffled({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}))


@dataclass(frozen=True)
class Style:
    """One way a tool may serialise a notebook."""

    indent: int | str | None
    separators: tuple[str, str]
    sort_keys: bool
    ensure_ascii: bool
    crlf: bool
    trailing_newline: bool
    bom: bool

    def dump(self, data: Json) -> bytes:
        text = json.dumps(data, indent=self.indent, separators=self.separators, sort_keys=self.sort_keys, ensure_ascii=self.ensure_ascii)
        text += "\n" if self.trailing_newline else ""
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return (BOM if self.bom else b"") + text.encode("utf-8")


@st.composite
def styles(draw: st.DrawFn) -> Style:
    indent = draw(st.sampled_from([None, 1, 2, 4, "\t"]))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")])) if indent is None else (",", ": ")
    flags = draw(st.lists(st.booleans(), min_size=5, max_size=5))
    return Style(indent, separators, *flags)


@st.composite
def changes(draw: st.DrawFn, data: Json, *, additive: bool = False) -> tuple[Json, Callable[[Json], None]]:
    """A real change to ``data`` (a copy), and how to undo it on a freshly read copy.

    ``additive`` keeps to changes that add content. A removal can erase the only evidence of a
    style (the one unsorted object, the one escaped non-ASCII character), after which the file
    in between is equally valid in several styles and undoing the change cannot be expected to
    find the original one.
    """
    changed = copy.deepcopy(data)
    code = [
        n
        for n, cell in enumerate(changed["cells"])
        if cell["cell_type"] == "code" and (cell["outputs"] or cell["execution_count"] is not None)
    ]
    kinds = ["metadata"] + (["source"] if changed["cells"] else [])
    if not additive:
        kinds += (["delete-cell"] if changed["cells"] else []) + (["clear-outputs"] if code else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "metadata":
        changed["metadata"]["nb2prod-test"] = draw(_json_values)

        def undo(fresh: Json) -> None:
            del fresh["metadata"]["nb2prod-test"]

    elif kind == "source":
        number = draw(st.integers(0, len(changed["cells"]) - 1))
        cell = changed["cells"][number]
        extra = draw(_text.filter(bool))
        cell["source"] = cell["source"] + extra if isinstance(cell["source"], str) else [*cell["source"], extra]

        def undo(fresh: Json) -> None:
            fresh["cells"][number]["source"] = copy.deepcopy(data["cells"][number]["source"])

    elif kind == "delete-cell":
        number = draw(st.integers(0, len(changed["cells"]) - 1))
        del changed["cells"][number]

        def undo(fresh: Json) -> None:
            fresh["cells"].insert(number, copy.deepcopy(data["cells"][number]))

    else:
        for number in code:
            changed["cells"][number]["outputs"] = []
            changed["cells"][number]["execution_count"] = None

        def undo(fresh: Json) -> None:
            for number in code:
                fresh["cells"][number]["outputs"] = copy.deepcopy(data["cells"][number]["outputs"])
                fresh["cells"][number]["execution_count"] = data["cells"][number]["execution_count"]

    return changed, undo


def _assert_nbformat_accepts(data: Json) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nbformat.validate(nbformat.from_dict(copy.deepcopy(data)))  # nbformat mutates what it checks


_PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@_PROPERTY_SETTINGS
@given(data=notebooks(), style=styles(), choice=st.data())
def test_generated_notebooks_round_trip(data: Json, style: Style, choice: st.DataObject) -> None:
    """Read gives the JSON; unchanged keeps the bytes; a change written reads back exactly."""
    raw = style.dump(data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.ipynb"
        path.write_bytes(raw)
        notebook = read_notebook(path)
        _assert_nbformat_accepts(notebook.data)
        assert notebook.data == json.loads(raw.decode("utf-8-sig")) == data
        assert serialize(notebook, notebook.data) == raw
        assert serialize(notebook, copy.deepcopy(notebook.data)) == raw
        assert write_notebook(notebook, copy.deepcopy(notebook.data)) is False
        assert path.read_bytes() == raw

        changed, _ = choice.draw(changes(data))
        assume(changed != data)
        assert write_notebook(notebook, changed) is True
        assert _same_json(read_notebook(path).data, changed)
        assert _temp_files(Path(folder)) == []


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_a_del_character_keeps_its_escaping(tmp_path: Path, ensure_ascii: bool) -> None:
    """Python's ensure_ascii escapes DEL (U+007F), an ASCII character; a change written keeps that style (found by hypothesis)."""
    data = {"cells": [], "metadata": {"x-\x7f": None}, "nbformat": 4, "nbformat_minor": 5}
    raw = json.dumps(data, indent=1, ensure_ascii=ensure_ascii).encode("utf-8")
    path = tmp_path / "del.ipynb"
    path.write_bytes(raw)
    changed = copy.deepcopy(data)
    changed["metadata"]["added"] = "\x7f"
    assert write_notebook(read_notebook(path), changed) is True
    assert path.read_bytes() == json.dumps(changed, indent=1, ensure_ascii=ensure_ascii, sort_keys=True).encode("utf-8")
    assert write_notebook(read_notebook(path), data) is True
    assert path.read_bytes() == raw


@_PROPERTY_SETTINGS
@given(data=notebooks(), style=styles(), choice=st.data())
def test_generated_notebooks_keep_their_style(data: Json, style: Style, choice: st.DataObject) -> None:
    """Change, write, undo the change on the re-read notebook, write: the original bytes come back."""
    raw = style.dump(data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.ipynb"
        path.write_bytes(raw)
        notebook = read_notebook(path)
        changed, undo = choice.draw(changes(data, additive=True))
        assume(changed != data)
        assert write_notebook(notebook, changed) is True
        fresh = read_notebook(path)
        reverted = copy.deepcopy(fresh.data)
        undo(reverted)
        assert reverted == data
        assert write_notebook(fresh, reverted) is True
        assert path.read_bytes() == raw


# --- crash safety -------------------------------------------------------------------------------

#: The writer process: reads the notebook, changes one line, writes. ``slow-write`` writes the
#: temporary file in 1 MB pieces with pauses (a slow disk) so the parent can kill it with the file
#: half written; ``slow-fsync`` stalls after the data is flushed and before the rename.
_WRITER = r"""
import copy, os, sys, time
from nb2prod.notebook import read_notebook, write_notebook

path, mode = sys.argv[1], sys.argv[2]
if mode == "slow-write":
    real_fdopen = os.fdopen

    class SlowFile:
        def __init__(self, handle):
            self._handle = handle

        def write(self, data):
            view = memoryview(data)
            for start in range(0, len(view), 1 << 20):
                self._handle.write(view[start:start + (1 << 20)])
                self._handle.flush()
                time.sleep(0.05)

        def __getattr__(self, name):
            return getattr(self._handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._handle.__exit__(*exc)

    os.fdopen = lambda fd, *args, **kwargs: SlowFile(real_fdopen(fd, *args, **kwargs))
elif mode == "slow-fsync":
    real_fsync = os.fsync

    def slow_fsync(fd):
        real_fsync(fd)
        time.sleep(60)

    os.fsync = slow_fsync

notebook = read_notebook(path)
data = copy.deepcopy(notebook.data)
data["cells"][1]["source"].append("\n# changed")
write_notebook(notebook, data)
"""


@dataclass(frozen=True)
class LargeNotebook:
    """A ~50 MB notebook, and the exact bytes a completed write of the writer's change gives."""

    original: bytes
    changed: bytes


@pytest.fixture(scope="module")
def large_notebook(tmp_path_factory: pytest.TempPathFactory) -> LargeNotebook:
    rng = random.Random(50)
    cells: list[Json] = [
        # The title's non-ASCII character is near the top on purpose: nb2prod's style detection
        # scans an all-ASCII file character by character in Python (seconds for 50 MB), which
        # would make every writer process here slow without testing anything more.
        {"cell_type": "markdown", "id": "title", "metadata": {}, "source": ["# Résultats"]},
    ]
    for number in range(5):
        png = base64.b64encode(rng.randbytes(7_500_000)).decode()
        output = {"data": {"image/png": png, "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}
        cells.append(
            {
                "cell_type": "code",
                "execution_count": number + 1,
                "id": f"plot-{number}",
                "metadata": {},
                "outputs": [output],
                "source": [f"plot({number})"],
            }
        )
    data: Json = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    original = _nbformat_bytes(data)
    assert len(original) > 50_000_000
    changed_data = copy.deepcopy(data)
    changed_data["cells"][1]["source"].append("\n# changed")
    return LargeNotebook(original, _nbformat_bytes(changed_data))


def _kill_writer(path: Path, mode: str, should_kill: Callable[[Path | None, float], bool]) -> tuple[bool, bool]:
    """Run the writer on ``path`` and SIGKILL it once ``should_kill(temp_file, seconds_since_temp)``.

    Returns (killed, temp_file_seen). A writer that finishes first is not killed.
    """
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), mode], stderr=subprocess.PIPE)
    seen_at: float | None = None
    killed = False
    deadline = time.monotonic() + 60
    try:
        while process.poll() is None:
            assert time.monotonic() < deadline, "the writer neither finished nor reached the kill point"
            temps = _temp_files(path.parent)
            temp = temps[0] if temps else None
            if temp is not None and seen_at is None:
                seen_at = time.monotonic()
            if seen_at is not None and should_kill(temp, time.monotonic() - seen_at):
                process.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.001)
    finally:
        if not killed and process.poll() is None:
            process.kill()  # the assertion above failed: do not leave the writer running
        _, stderr = process.communicate(timeout=60)
    if killed:
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 0, stderr.decode()
    return killed, seen_at is not None


def _assert_intact(path: Path, allowed: tuple[bytes, ...]) -> None:
    """``path`` holds exactly one of the allowed contents and is a valid notebook; no partial file."""
    content = path.read_bytes()
    assert any(content == option for option in allowed), f"{len(content)} bytes, matching neither the old nor the new content"
    assert read_notebook(path).data == _load(content)
    for leftover in _temp_files(path.parent):  # a killed process cannot clean up; never taken for a notebook
        assert not is_notebook_path(leftover)


def _size(temp: Path | None) -> int:
    try:
        return temp.stat().st_size if temp is not None else -1
    except FileNotFoundError:
        return -1


def test_sigkill_with_the_temporary_file_half_written_keeps_the_original(large_notebook: LargeNotebook, tmp_path: Path) -> None:
    path = tmp_path / "large.ipynb"
    path.write_bytes(large_notebook.original)
    total = len(large_notebook.changed)
    partial: list[int] = []

    def half_written(temp: Path | None, _: float) -> bool:
        size = _size(temp)
        if 4 << 20 < size < total:
            partial.append(size)
            return True
        return False

    killed, _ = _kill_writer(path, "slow-write", half_written)
    assert killed and partial, "the writer must be killed with its temporary file partly written"
    _assert_intact(path, (large_notebook.original,))


def test_sigkill_after_the_data_is_flushed_before_the_rename_keeps_the_original(large_notebook: LargeNotebook, tmp_path: Path) -> None:
    path = tmp_path / "large.ipynb"
    path.write_bytes(large_notebook.original)
    total = len(large_notebook.changed)
    killed, seen = _kill_writer(path, "slow-fsync", lambda temp, _: _size(temp) == total)
    assert killed and seen
    _assert_intact(path, (large_notebook.original,))


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.1, 0.2])
def test_sigkill_at_any_moment_leaves_old_or_new_never_partial(large_notebook: LargeNotebook, tmp_path: Path, delay: float) -> None:
    """Real disk I/O, killed ``delay`` seconds after the temporary file appears (or finished first)."""
    path = tmp_path / "large.ipynb"
    path.write_bytes(large_notebook.original)
    killed, _ = _kill_writer(path, "plain", lambda temp, elapsed: elapsed >= delay)
    if killed:
        _assert_intact(path, (large_notebook.original, large_notebook.changed))
    else:
        _assert_intact(path, (large_notebook.changed,))
        assert _temp_files(tmp_path) == []


class _OsProxy(types.SimpleNamespace):
    """Stands in for the ``os`` module inside ``nb2prod.atomic`` with some functions replaced."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def _small_notebook(folder: Path) -> tuple[Path, bytes, Json]:
    """A notebook to write over, its bytes, and a changed version of its data."""
    path = _copy_fixture(ROUNDTRIP_DIR / "nbformat-4.5-with-ids.ipynb", folder)
    raw = path.read_bytes()
    changed = _load(raw)
    _append_x(changed)
    return path, raw, changed


def _raise(error: OSError) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


def _can_create_files_in(folder: Path) -> bool:
    try:
        (folder / ".probe").touch()
    except PermissionError:
        return False
    (folder / ".probe").unlink()
    return True


def test_read_only_folder_refuses_and_keeps_the_original(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    path, raw, changed = _small_notebook(folder)
    notebook = read_notebook(path)
    folder.chmod(0o555)
    try:
        if _can_create_files_in(folder):
            pytest.skip("permissions are not enforced for this user (root); see the simulated test below")
        with pytest.raises(WriteError) as caught:
            write_notebook(notebook, changed)
    finally:
        folder.chmod(0o755)
    assert "permission denied" in str(caught.value).lower()
    assert path.read_bytes() == raw
    assert _temp_files(folder) == []


@pytest.mark.parametrize("step", ["create-temp", "rename"])
def test_permission_denied_simulated_keeps_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """What a read-only folder does, at either point it can refuse, also when running as root."""
    path, raw, changed = _small_notebook(tmp_path)
    notebook = read_notebook(path)
    denied = PermissionError(errno.EACCES, "Permission denied")
    if step == "create-temp":
        monkeypatch.setattr(nb2prod.atomic, "tempfile", types.SimpleNamespace(mkstemp=_raise(denied)))
    else:
        monkeypatch.setattr(nb2prod.atomic, "os", _OsProxy(replace=_raise(denied)))
    with pytest.raises(WriteError) as caught:
        write_notebook(notebook, changed)
    assert not isinstance(caught.value, WriteConflictError)
    assert str(caught.value).startswith(f"{path}: error: cannot write: Permission denied")
    assert path.read_bytes() == raw
    assert _temp_files(tmp_path) == []


class _FullDiskFile:
    """A file that takes half of what it is given, then fails as a full disk does."""

    def __init__(self, handle: Any):
        self._handle = handle

    def write(self, data: bytes) -> int:
        self._handle.write(data[: len(data) // 2])
        self._handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _FullDiskFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


@pytest.mark.parametrize("step", ["write", "fsync"])
def test_full_disk_simulated_keeps_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    path, raw, changed = _small_notebook(tmp_path)
    notebook = read_notebook(path)
    if step == "write":
        fake_os = _OsProxy(fdopen=lambda fd, *args, **kwargs: _FullDiskFile(os.fdopen(fd, *args, **kwargs)))
    else:
        fake_os = _OsProxy(fsync=_raise(OSError(errno.ENOSPC, "No space left on device")))
    monkeypatch.setattr(nb2prod.atomic, "os", fake_os)
    with pytest.raises(WriteError) as caught:
        write_notebook(notebook, changed)
    assert "no space left on device" in str(caught.value).lower()
    assert "unchanged" in str(caught.value)
    assert path.read_bytes() == raw
    assert _temp_files(tmp_path) == []


def test_file_changed_on_disk_since_read_is_not_overwritten(tmp_path: Path) -> None:
    path, _, changed = _small_notebook(tmp_path)
    notebook = read_notebook(path)
    theirs = _load(path.read_bytes())
    theirs["cells"].append({"cell_type": "markdown", "id": "their-edit", "metadata": {}, "source": ["Someone else's edit"]})
    their_bytes = _nbformat_bytes(theirs)
    path.write_bytes(their_bytes)
    with pytest.raises(WriteConflictError) as caught:
        write_notebook(notebook, changed)
    assert "changed on disk" in str(caught.value)
    assert path.read_bytes() == their_bytes
    assert _temp_files(tmp_path) == []


def test_file_changed_while_being_written_is_not_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit landing between the temporary file's write and the rename still wins."""
    path, _, changed = _small_notebook(tmp_path)
    notebook = read_notebook(path)
    their_bytes = path.read_bytes().replace(b"Iris classifier", b"Iris classifier, edited elsewhere")

    def fsync_then_someone_saves(fd: int) -> None:
        os.fsync(fd)
        path.write_bytes(their_bytes)

    monkeypatch.setattr(nb2prod.atomic, "os", _OsProxy(fsync=fsync_then_someone_saves))
    with pytest.raises(WriteConflictError):
        write_notebook(notebook, changed)
    assert path.read_bytes() == their_bytes
    assert _temp_files(tmp_path) == []


def test_file_deleted_since_read_is_not_recreated(tmp_path: Path) -> None:
    path, _, changed = _small_notebook(tmp_path)
    notebook = read_notebook(path)
    path.unlink()
    with pytest.raises(WriteConflictError) as caught:
        write_notebook(notebook, changed)
    assert "deleted" in str(caught.value)
    assert not path.exists()
    assert _temp_files(tmp_path) == []


def test_file_touched_with_the_same_content_is_still_written(tmp_path: Path) -> None:
    path, raw, changed = _small_notebook(tmp_path)
    notebook = read_notebook(path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert write_notebook(notebook, changed) is True
    assert read_notebook(path).data == changed
    assert path.read_bytes() != raw


def test_change_to_an_equal_python_value_of_another_json_type_is_written(tmp_path: Path) -> None:
    """0 and false are equal in Python but not in JSON: replacing one with the other is a change."""
    path = tmp_path / "typed.ipynb"
    data = {"cells": [_code_cell("x = 1")], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    data["cells"][0]["metadata"]["collapsed"] = 0  # written so by some old tool; a fix makes it a boolean
    path.write_bytes(_nbformat_bytes(data))
    fixed = copy.deepcopy(data)
    fixed["cells"][0]["metadata"]["collapsed"] = False
    notebook = read_notebook(path)
    assert write_notebook(notebook, fixed) is True
    assert _same_json(read_notebook(path).data, fixed)
    assert b'"collapsed": false' in path.read_bytes()


def test_write_keeps_the_file_mode(tmp_path: Path) -> None:
    path, _, changed = _small_notebook(tmp_path)
    path.chmod(0o640)
    assert write_notebook(read_notebook(path), changed) is True
    assert path.stat().st_mode & 0o777 == 0o640


# --- text notebooks -----------------------------------------------------------------------------

PY_PERCENT = """\
# %% [markdown]
# # Training

# %%
#| export
import os

x = 1

# %% tags=["parameters"]
seed = 0
"""

PY_LIGHT = """\
import os

x = 1


# + tags=["parameters"]
seed = 0
"""

MARKDOWN = """\
# Training

Some text.

```python
import os
```

```python
seed = 0
```
"""

MYST = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
    jupytext_version: 1.16.0
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Training

```{code-cell} ipython3
import os
```

```{code-cell} ipython3
seed = 0
```
"""

TEXT_NOTEBOOKS = {
    "percent.py": (PY_PERCENT, "py:percent", ["markdown", "code", "code"]),
    "light.py": (PY_LIGHT, "py:light", ["code", "code", "code"]),
    "notes.md": (MARKDOWN, "md:markdown", ["markdown", "code", "code"]),
    "myst.md": (MYST, "md:myst", ["markdown", "code", "code"]),
}


@pytest.mark.parametrize("name", sorted(TEXT_NOTEBOOKS))
def test_text_notebook_reads_through_jupytext(tmp_path: Path, name: str) -> None:
    text, expected_format, cell_types = TEXT_NOTEBOOKS[name]
    path = tmp_path / name
    path.write_text(text)
    notebook = read_notebook(path)
    assert notebook.format == expected_format
    assert notebook.is_text
    assert [cell.cell_type for cell in notebook.cells] == cell_types
    assert notebook.cells[-1].source == "seed = 0"

    before = path.stat()
    assert serialize(notebook, copy.deepcopy(notebook.data)) == text.encode()
    assert write_notebook(notebook, copy.deepcopy(notebook.data)) is False
    assert path.read_text() == text
    assert path.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize("name", ["percent.py", "notes.md"])
def test_text_notebook_change_is_written_in_its_format(tmp_path: Path, name: str) -> None:
    text = TEXT_NOTEBOOKS[name][0]
    path = tmp_path / name
    path.write_text(text)
    notebook = read_notebook(path)
    changed = copy.deepcopy(notebook.data)
    changed["cells"][-1]["source"] = "seed = 1"
    assert write_notebook(notebook, changed) is True
    assert path.read_text() == text.replace("seed = 0", "seed = 1")
    assert read_notebook(path).cells[-1].source == "seed = 1"


def test_percent_notebook_cells_have_directives_and_tags(tmp_path: Path) -> None:
    path = tmp_path / "percent.py"
    path.write_text(PY_PERCENT)
    cells = read_notebook(path).cells
    assert cells[1].directives == (Directive("export", "", 1),)
    assert cells[1].roles == frozenset({"export"})
    assert cells[2].tags == ("parameters",)
    assert cells[2].roles == frozenset({"parameters"})


# --- directives and roles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("#| export\nx = 1", [("export", "", 1)]),
        ("#|export\nx = 1", [("export", "", 1)]),
        ("# | export\nx = 1", [("export", "", 1)]),
        ("#| export core.data\nx = 1", [("export", "core.data", 1)]),
        ("#| default_exp core", [("default_exp", "core", 1)]),
        ("#| exporti", [("exporti", "", 1)]),
        ("#| hide\n#| test\nassert True", [("hide", "", 1), ("test", "", 2)]),
        ("\n#| export\n\n#| test\nx = 1", [("export", "", 2), ("test", "", 4)]),
        ("#| label: fig-iris", [("label", "fig-iris", 1)]),
        ("x = 1\n#| export", []),
        ("# a comment\n#| export", []),
        ("import os  #| export", []),
        ("#export\nx = 1", []),
        ("", []),
    ],
)
def test_parse_directives(source: str, expected: list[tuple[str, str, int]]) -> None:
    assert [(d.name, d.args, d.line) for d in parse_directives(source)] == expected


def _code_cell(source: str | list[str], tags: list[str] | None = None, cell_type: str = "code") -> Json:
    cell: Json = {"cell_type": cell_type, "metadata": {"tags": tags} if tags is not None else {}, "source": source}
    if cell_type == "code":
        cell |= {"execution_count": None, "outputs": []}
    return cell


@pytest.mark.parametrize(
    ("source", "tags", "roles"),
    [
        ("#| export\nx = 1", None, {"export"}),
        ("#| exports\nx = 1", None, {"export"}),
        ("#| exporti\nx = 1", None, {"export-internal"}),
        ("#| hide\nx = 1", None, {"skip"}),
        ("#| default_exp core", None, set()),
        ("#| test\nassert x", None, {"test"}),
        ("seed = 0", ["parameters"], {"parameters"}),
        ("x = 1", ["export"], {"export"}),
        ("assert x", ["test"], {"test"}),
        ("x = 1", ["keep-output", "unrelated"], set()),
        ("#| test\nassert x", ["export"], {"export", "test"}),
        ("x = 1\n#| export", None, set()),
    ],
)
def test_cell_roles_from_tags_and_directives(source: str, tags: list[str] | None, roles: set[str]) -> None:
    assert make_cell(0, _code_cell(source, tags)).roles == frozenset(roles)


def test_markdown_cells_have_no_directives() -> None:
    cell = make_cell(3, _code_cell("#| export\nSome *text*", cell_type="markdown"))
    assert cell.directives == ()
    assert cell.roles == frozenset()
    assert cell.number == 4


def test_cell_source_list_is_joined_and_directive_found() -> None:
    cell = make_cell(0, _code_cell(["#| default_exp core\n", "import os\n"]))
    assert cell.source == "#| default_exp core\nimport os\n"
    assert cell.directive("default_exp") == Directive("default_exp", "core", 1)
    assert cell.directive("export") is None
