"""Bad inputs and faults from ``reliability.md`` section 9, scenarios 1-14 and 22-24, through the CLI.

Every bad notebook in ``tests/data/invalid/`` must give exit 2, exactly one line on stderr that
starts with the path as the user gave it and says what is wrong, no traceback, and leave the
file's bytes as they were. Scenarios that are *not* errors (nbformat 4.0-4.4 without cell ids,
4.5 with missing or duplicate ids, a BOM, CRLF, 2-space or one-line JSON) must read, strip
correctly and keep the file's style; an already clean file is not even rewritten. Faults while
writing (the file changed meanwhile, a full disk, a read-only folder) keep the file on disk intact
and leave no temporary file behind.

Fixtures are copied to ``tmp_path`` before any command sees them, and a module-scoped guard checks
that nothing under ``tests/data`` changed while this module ran.
"""

from __future__ import annotations

import builtins
import copy
import errno
import hashlib
import json
import os
import pickle
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nb2prod.atomic
import nb2prod.cli.strip
import nb2prod.notebook
import nb2prod.regularfile
from nb2prod.atomic import TEMP_SUFFIX
from nb2prod.cli import main
from nb2prod.errors import (
    ConfigError,
    Nb2prodError,
    NotebookFormatError,
    NotebookReadError,
    UsageError,
    WriteConflictError,
    WriteError,
)
from nb2prod.notebook import read_notebook

DATA = Path(__file__).resolve().parent / "data"
INVALID = DATA / "invalid"

#: Every fixture in tests/data/invalid, with the scenario it covers and a phrase its message must contain.
EXPECTED: dict[str, tuple[int, str]] = {
    # 1. empty / 0-byte
    "empty.ipynb": (1, "empty file"),
    "whitespace_only.ipynb": (1, "empty file"),
    # 2. truncated JSON
    "truncated.ipynb": (2, "not valid JSON"),
    "deeply_nested.ipynb": (2, "nested too deeply"),
    # 3. valid JSON that is not an object
    "json_list.ipynb": (3, "JSON is a list"),
    "json_string.ipynb": (3, "JSON is a string"),
    "json_null.ipynb": (3, "JSON is null"),
    # 4. no nbformat key
    "no_nbformat_key.ipynb": (4, "no 'nbformat'"),
    # 5. nbformat a string / a float / 5 / minor missing
    "nbformat_string.ipynb": (5, "'nbformat' is a string (\"4\")"),
    "nbformat_float.ipynb": (5, "'nbformat' is a number (4.5)"),
    "nbformat_5.ipynb": (5, "nbformat 5"),
    "nbformat_missing_minor.ipynb": (5, "nbformat_minor"),
    # 6. nbformat 3 (worksheets): refused, with how to upgrade
    "v3_worksheets.ipynb": (6, "nbformat 3"),
    # 10. invalid cell ids
    "invalid_id_chars.ipynb": (10, 'invalid id "train model!"'),
    "id_too_long.ipynb": (10, "invalid id"),
    "id_empty.ipynb": (10, 'invalid id ""'),
    "id_not_string.ipynb": (10, "invalid id 7"),
    # 11. schema violations nbformat's reader only logs
    "no_cells.ipynb": (11, "no 'cells' list"),
    "cells_not_list.ipynb": (11, "'cells' is an object"),
    "cell_not_object.ipynb": (11, "cell 2 is a string"),
    "missing_cell_type.ipynb": (11, "cell_type"),
    "unknown_cell_type.ipynb": (11, 'cell_type "heading"'),
    "source_wrong_type.ipynb": (11, "'source' is an integer"),
    "source_list_not_strings.ipynb": (11, "'source'"),
    "tags_string.ipynb": (11, "'metadata.tags' is a string"),
    "cell_metadata_not_object.ipynb": (11, "'metadata' is a list"),
    "notebook_metadata_not_object.ipynb": (11, "notebook 'metadata'"),
    "attachments_not_object.ipynb": (11, "'attachments'"),
    "execution_count_nan.ipynb": (11, "'execution_count' is a number (NaN)"),
    "execution_count_string.ipynb": (11, "'execution_count' is a string"),
    "outputs_missing.ipynb": (11, "no 'outputs' list"),
    "output_not_object.ipynb": (11, "output 1"),
    "output_without_type.ipynb": (11, "output_type"),
    # 12. not UTF-8 (Windows cp1252, UTF-16, binary); also a text notebook
    "not_utf8_cp1252.ipynb": (12, "not UTF-8 text (byte 0xe8"),
    "not_utf8_utf16.ipynb": (12, "not UTF-8"),
    "binary_png.ipynb": (12, "not UTF-8 text (byte 0x89 at offset 0)"),
    "not_utf8_cp1252.py": (12, "not UTF-8"),
}
FIXTURES = sorted(EXPECTED)
MODES = {"strip": ["strip", "-q"], "check": ["strip", "--check", "-q"], "dry-run": ["strip", "--dry-run", "-q"]}
STRUCTURAL_SCENARIOS = (3, 4, 5, 6, 10, 11)


def _digest_tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module", autouse=True)
def _test_data_untouched():
    """Nothing under tests/data may change while this module runs (fixtures are only ever copied)."""
    before = _digest_tree(DATA)
    yield
    assert _digest_tree(DATA) == before


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder, the current directory, with a ``.git`` so no outside pyproject.toml applies."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    """Run the CLI; return the exit code and the lines of stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def listing(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if ".git" not in path.parts}


# --- notebooks built in code, for the scenarios that are not errors ------------------------------


def make_notebook(*, minor: int = 5, ids: tuple[str | None, ...] = ("intro", "train"), text: str = "accuracy") -> dict[str, Any]:
    """A small notebook with an output, an execution count and volatile metadata; ``None`` ids are left out."""
    cells: list[dict[str, Any]] = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Modèle\n", "Résumé: ✓"]},
        {
            "cell_type": "code",
            "execution_count": 3,
            "metadata": {"collapsed": False, "tags": ["parameters"]},
            "outputs": [
                {"name": "stdout", "output_type": "stream", "text": [f"{text}: 0.95\n"]},
                {"data": {"text/plain": ["0.95"]}, "execution_count": 3, "metadata": {}, "output_type": "execute_result"},
            ],
            "source": ["seed = 42\n", "accuracy"],
        },
    ]
    for cell, cell_id in zip(cells, ids, strict=True):
        if cell_id is not None:
            cell["id"] = cell_id
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "signature": "sha256:ab12"},
        "nbformat": 4,
        "nbformat_minor": minor,
    }


def stripped(data: dict[str, Any]) -> dict[str, Any]:
    """What ``strip`` must make of ``make_notebook``'s output, written out by hand (key order kept)."""
    result = copy.deepcopy(data)
    del result["metadata"]["signature"]
    code = result["cells"][1]
    del code["metadata"]["collapsed"]
    code["execution_count"] = None
    code["outputs"] = []
    return result


def unordered(data: dict[str, Any]) -> dict[str, Any]:
    """The same notebook with keys in a non-sorted order, as some tools write them."""
    cells = [dict(reversed(list(cell.items()))) for cell in data["cells"]]
    return {"nbformat": data["nbformat"], "nbformat_minor": data["nbformat_minor"], "metadata": data["metadata"], "cells": cells}


BOM = b"\xef\xbb\xbf"
STYLES: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "jupyter": lambda d: (json.dumps(d, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode(),
    "bom": lambda d: BOM + (json.dumps(d, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode(),
    "crlf": lambda d: (json.dumps(d, indent=1, sort_keys=True, ensure_ascii=False) + "\n").replace("\n", "\r\n").encode(),
    "bom-crlf": lambda d: BOM + (json.dumps(d, indent=1, sort_keys=True) + "\n").replace("\n", "\r\n").encode(),
    "two-space": lambda d: (json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode(),
    "four-space-escaped": lambda d: (json.dumps(d, indent=4, sort_keys=True) + "\n").encode(),
    "tab": lambda d: (json.dumps(d, indent="\t", sort_keys=True, ensure_ascii=False) + "\n").encode(),
    "one-line": lambda d: json.dumps(d, ensure_ascii=False).encode(),
    "one-line-compact": lambda d: json.dumps(d, separators=(",", ":"), sort_keys=True).encode(),
    "no-trailing-newline": lambda d: json.dumps(d, indent=1, sort_keys=True, ensure_ascii=False).encode(),
    "unsorted-keys": lambda d: (json.dumps(unordered(d), indent=1, ensure_ascii=False) + "\n").encode(),
}
VARIANTS: dict[str, dict[str, Any]] = {
    # 7. nbformat 4.0-4.4: no ids, and strip must not add any
    **{f"v4.{minor}-no-ids": make_notebook(minor=minor, ids=(None, None)) for minor in range(5)},
    # 8. nbformat 4.5 with ids missing (all, or one)
    "v4.5-no-ids": make_notebook(ids=(None, None)),
    "v4.5-one-id-missing": make_notebook(ids=("intro", None)),
    # 9. duplicate ids
    "v4.5-duplicate-ids": make_notebook(ids=("same", "same")),
}


# --- scenarios 1-6, 10-12: bad notebooks -------------------------------------------------------


def test_every_fixture_has_an_expectation():
    """A fixture added to tests/data/invalid without an entry in EXPECTED would silently go untested."""
    on_disk = sorted(path.name for path in INVALID.iterdir() if path.is_file())
    assert on_disk == FIXTURES


def test_fixtures_cover_the_catalogue():
    assert {scenario for scenario, _ in EXPECTED.values()} == {1, 2, 3, 4, 5, 6, 10, 11, 12}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name", FIXTURES)
def test_bad_notebook_is_one_clear_line_and_left_alone(name: str, mode: str, project: Path, capsys: pytest.CaptureFixture[str]):
    copy_ = project / name
    shutil.copyfile(INVALID / name, copy_)
    original = copy_.read_bytes()
    before = listing(project)

    code, out, err = run(capsys, *MODES[mode], str(copy_))

    assert code == 2
    assert out == []
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith(f"{copy_}: error: ")
    assert EXPECTED[name][1] in line
    assert "Traceback" not in line
    message = line.removeprefix(f"{copy_}: error: ")
    assert not re.search(r"\b(\w+) \1\b", message), f"doubled word in {message!r}"
    assert copy_.read_bytes() == original
    assert listing(project) == before


@pytest.mark.parametrize("name", FIXTURES)
def test_bad_notebook_without_quiet_adds_only_the_summary(name: str, project: Path, capsys: pytest.CaptureFixture[str]):
    shutil.copyfile(INVALID / name, project / name)
    code, out, err = run(capsys, "strip", name)
    assert code == 2
    assert out == []
    assert len(err) == 2, err
    assert err[0].startswith(f"{name}: error: ")
    assert err[1] == "0 notebooks stripped, 0 unchanged, 1 failed"


@pytest.mark.parametrize("name", FIXTURES)
def test_bad_notebook_through_the_api(name: str, tmp_path: Path):
    """``read_notebook`` raises a NotebookReadError naming the file; structural problems are NotebookFormatError."""
    copy_ = tmp_path / name
    shutil.copyfile(INVALID / name, copy_)
    with pytest.raises(NotebookReadError) as info:
        read_notebook(copy_, display_path="shown/" + name)
    error = info.value
    assert error.path == "shown/" + name
    assert str(error).startswith(f"shown/{name}: error: ")
    assert "\n" not in str(error)
    scenario = EXPECTED[name][0]
    assert isinstance(error, NotebookFormatError) == (scenario in STRUCTURAL_SCENARIOS)


def test_v3_message_says_how_to_upgrade(tmp_path: Path):
    copy_ = tmp_path / "old.ipynb"
    shutil.copyfile(INVALID / "v3_worksheets.ipynb", copy_)
    with pytest.raises(NotebookFormatError) as info:
        read_notebook(copy_)
    assert "nbconvert --to notebook --nbformat 4" in (info.value.hint or "")


def test_truncated_json_says_where(tmp_path: Path):
    copy_ = tmp_path / "t.ipynb"
    shutil.copyfile(INVALID / "truncated.ipynb", copy_)
    with pytest.raises(NotebookReadError, match=r"line \d+ column \d+"):
        read_notebook(copy_)


def test_relative_path_is_shown_as_given(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "nbs").mkdir()
    shutil.copyfile(INVALID / "truncated.ipynb", project / "nbs" / "broken.ipynb")
    code, _, err = run(capsys, "strip", "-q", "nbs/")
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("nbs/broken.ipynb: error: not valid JSON")


def test_one_bad_notebook_does_not_stop_the_others(project: Path, capsys: pytest.CaptureFixture[str]):
    shutil.copyfile(INVALID / "tags_string.ipynb", project / "a_bad.ipynb")
    (project / "b_good.ipynb").write_bytes(STYLES["jupyter"](make_notebook()))
    bad_bytes = (project / "a_bad.ipynb").read_bytes()

    code, out, err = run(capsys, "strip", "a_bad.ipynb", "b_good.ipynb")

    assert code == 2
    assert out == ["stripped b_good.ipynb"]
    assert err[0].startswith("a_bad.ipynb: error: code cell 2: 'metadata.tags'")
    assert err[1:] == ["1 notebook stripped, 0 unchanged, 1 failed"]
    assert (project / "a_bad.ipynb").read_bytes() == bad_bytes
    assert json.loads((project / "b_good.ipynb").read_bytes()) == stripped(make_notebook())


def test_check_with_a_bad_and_a_dirty_notebook_exits_2(project: Path, capsys: pytest.CaptureFixture[str]):
    """A failure wins over "would change": a partial result must not pass for a complete one."""
    shutil.copyfile(INVALID / "empty.ipynb", project / "a.ipynb")
    dirty = STYLES["jupyter"](make_notebook())
    (project / "b.ipynb").write_bytes(dirty)
    code, out, _ = run(capsys, "strip", "--check", ".")
    assert code == 2
    assert out == ["would strip b.ipynb"]
    assert (project / "b.ipynb").read_bytes() == dirty


# --- paths that are not readable notebooks ----------------------------------------------------


def test_missing_path(project: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(capsys, "strip", "-q", "missing.ipynb")
    assert code == 2
    assert err == ["missing.ipynb: error: no such file or folder (check the path)"]
    assert listing(project) == set()


def test_missing_file_through_the_api(tmp_path: Path):
    with pytest.raises(NotebookReadError, match="no such file"):
        read_notebook(tmp_path / "missing.ipynb")


def test_non_notebook_extension(project: Path, capsys: pytest.CaptureFixture[str]):
    notes = project / "notes.txt"
    notes.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    original = notes.read_bytes()
    code, _, err = run(capsys, "strip", "-q", "notes.txt")
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("notes.txt: error: not a notebook file (nb2prod reads .ipynb")
    assert notes.read_bytes() == original


def test_directory_through_the_api(tmp_path: Path):
    folder = tmp_path / "looks_like.ipynb"
    folder.mkdir()
    with pytest.raises(NotebookReadError, match="is a directory") as info:
        read_notebook(folder)
    assert info.value.path == str(folder)


def _dirty_notebook(folder: Path, name: str = "nb.ipynb") -> tuple[Path, bytes]:
    path = folder / name
    raw = STYLES["jupyter"](make_notebook())
    path.write_bytes(raw)
    return path, raw


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_unreadable_file_chmod(project: Path, capsys: pytest.CaptureFixture[str]):
    path, raw = _dirty_notebook(project)
    path.chmod(0)
    try:
        code, _, err = run(capsys, "strip", "-q", "nb.ipynb")
    finally:
        path.chmod(0o644)
    assert code == 2
    assert err == ["nb.ipynb: error: cannot read: permission denied (check the file's permissions)"]
    assert path.read_bytes() == raw


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "cannot read: permission denied"),
        (OSError(errno.EIO, "Input/output error"), "cannot read: Input/output error"),
    ],
)
def test_unreadable_file_simulated(
    exc: OSError, message: str, project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    path, raw = _dirty_notebook(project)

    def refuse(file: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(file).name == "nb.ipynb":
            raise exc
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(nb2prod.regularfile, "open", refuse, raising=False)
    code, _, err = run(capsys, "strip", "-q", "nb.ipynb")
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"nb.ipynb: error: {message}")
    monkeypatch.undo()
    assert path.read_bytes() == raw


# --- scenarios 7-9, 12-14: unusual but valid notebooks -----------------------------------------


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_valid_variant_is_stripped_in_its_own_style(variant: str, style: str, project: Path, capsys: pytest.CaptureFixture[str]):
    data = VARIANTS[variant]
    dump = STYLES[style]
    path = project / "nb.ipynb"
    path.write_bytes(dump(data))

    code, out, _ = run(capsys, "strip", "nb.ipynb")

    assert code == 0
    assert out == ["stripped nb.ipynb"]
    assert path.read_bytes() == dump(stripped(data))
    # A second strip finds nothing to do and --check agrees.
    assert run(capsys, "strip", "--check", "nb.ipynb")[0] == 0
    assert listing(project) == {"nb.ipynb"}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_clean_valid_variant_is_not_rewritten(variant: str, style: str, project: Path, capsys: pytest.CaptureFixture[str]):
    path = project / "nb.ipynb"
    raw = STYLES[style](stripped(VARIANTS[variant]))
    path.write_bytes(raw)
    before = os.stat(path)

    code, out, err = run(capsys, "strip", "nb.ipynb")

    assert (code, out, err) == (0, [], ["0 notebooks stripped, 1 unchanged"])
    after = os.stat(path)
    assert path.read_bytes() == raw
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_ids_are_neither_added_nor_repaired(variant: str, tmp_path: Path):
    """Missing and duplicate ids are lint's business: reading leaves them, and so does strip."""
    path = tmp_path / "nb.ipynb"
    data = VARIANTS[variant]
    path.write_bytes(STYLES["jupyter"](data))
    notebook = read_notebook(path)
    expected_ids = [cell.get("id") for cell in data["cells"]]
    assert [cell.id for cell in notebook.cells] == expected_ids
    assert [cell.get("id") for cell in notebook.data["cells"]] == expected_ids
    assert notebook.nbformat == (4, data["nbformat_minor"])


# --- scenario 22: strip writes in place only --------------------------------------------------


def test_strip_leaves_no_other_file_behind(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "nbs" / "sub").mkdir(parents=True)
    dirty = STYLES["jupyter"](make_notebook())
    clean = STYLES["jupyter"](stripped(make_notebook()))
    for name in ("nbs/a.ipynb", "nbs/sub/b.ipynb"):
        (project / name).write_bytes(dirty)
    (project / "nbs" / "c.ipynb").write_bytes(clean)
    before = listing(project)

    code, out, _ = run(capsys, "strip", "nbs")

    assert code == 0
    assert out == ["stripped nbs/a.ipynb", "stripped nbs/sub/b.ipynb"]
    assert listing(project) == before
    assert {name: (project / name).read_bytes() for name in ("nbs/a.ipynb", "nbs/sub/b.ipynb", "nbs/c.ipynb")} == dict.fromkeys(
        ("nbs/a.ipynb", "nbs/sub/b.ipynb", "nbs/c.ipynb"), clean
    )


@pytest.mark.parametrize("flag", ["--check", "--dry-run"])
def test_read_only_modes_write_nothing(flag: str, project: Path, capsys: pytest.CaptureFixture[str]):
    path, raw = _dirty_notebook(project)
    before = os.stat(path)
    code, out, _ = run(capsys, "strip", flag, "nb.ipynb")
    assert code == (1 if flag == "--check" else 0)
    assert out == ["would strip nb.ipynb"]
    assert path.read_bytes() == raw
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert listing(project) == {"nb.ipynb"}


def test_strip_has_no_output_option(project: Path, capsys: pytest.CaptureFixture[str]):
    """There is no way to send strip's result elsewhere, so no output path can equal or miss the input."""
    _dirty_notebook(project)
    with pytest.raises(SystemExit) as info:
        main(["strip", "-o", "out.ipynb", "nb.ipynb"])
    assert info.value.code == 2
    assert listing(project) == {"nb.ipynb"}


# --- scenario 23: the file changes while nb2prod runs -------------------------------------------


def _race(monkeypatch: pytest.MonkeyPatch, before_write: Callable[[Path], None]) -> None:
    """Make ``before_write`` run between nb2prod's read and its write of the notebook."""
    real = nb2prod.notebook.atomic_write

    def racing(path: Any, data: bytes, **kwargs: Any) -> None:
        before_write(Path(path))
        real(path, data, **kwargs)

    monkeypatch.setattr(nb2prod.notebook, "atomic_write", racing)


def _other_edit() -> bytes:
    return STYLES["jupyter"](make_notebook(text="edited in Jupyter meanwhile"))


def test_file_changed_meanwhile_is_not_overwritten(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    path, _ = _dirty_notebook(project)
    other = _other_edit()
    _race(monkeypatch, lambda target: target.write_bytes(other))

    code, out, err = run(capsys, "strip", "-q", "nb.ipynb")

    assert code == 2
    assert out == []
    assert err == ["nb.ipynb: error: changed on disk after nb2prod read it; not overwritten (run the command again on the current file)"]
    assert path.read_bytes() == other
    assert listing(project) == {"nb.ipynb"}


def test_file_replaced_meanwhile_is_not_overwritten(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Editors save by writing a new file and renaming it over the old one (a new inode)."""
    path, _ = _dirty_notebook(project)
    other = _other_edit()

    def save_like_an_editor(target: Path) -> None:
        fresh = target.with_name("editor-save.tmp")
        fresh.write_bytes(other)
        os.replace(fresh, target)

    _race(monkeypatch, save_like_an_editor)
    code, _, err = run(capsys, "strip", "-q", "nb.ipynb")
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("nb.ipynb: error: changed on disk")
    assert path.read_bytes() == other
    assert listing(project) == {"nb.ipynb"}


def test_same_size_edit_with_the_same_mtime_is_not_overwritten(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    """On file systems with coarse timestamps (HFS+: 1 s, FAT: 2 s) an edit can keep size and mtime."""
    path, raw = _dirty_notebook(project)
    other = raw.replace(b"accuracy: 0.95", b"accuracy: 0.97")
    assert len(other) == len(raw) and other != raw

    def edit_in_the_same_tick(target: Path) -> None:
        stat = os.stat(target)
        with open(target, "r+b") as handle:
            handle.write(other)
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    _race(monkeypatch, edit_in_the_same_tick)
    code, _, err = run(capsys, "strip", "-q", "nb.ipynb")
    assert path.read_bytes() == other
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("nb.ipynb: error: changed on disk")


def test_file_deleted_meanwhile_is_not_recreated(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    path, _ = _dirty_notebook(project)
    _race(monkeypatch, lambda target: target.unlink())
    code, _, err = run(capsys, "strip", "-q", "nb.ipynb")
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("nb.ipynb: error: was deleted after nb2prod read it")
    assert not path.exists()
    assert listing(project) == set()


def test_race_on_one_notebook_does_not_stop_the_others(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    first, _ = _dirty_notebook(project, "a.ipynb")
    second, _ = _dirty_notebook(project, "b.ipynb")
    other = _other_edit()
    _race(monkeypatch, lambda target: target.write_bytes(other) if target.name == "a.ipynb" else None)
    code, out, err = run(capsys, "strip", ".")
    assert code == 2
    assert out == ["stripped b.ipynb"]
    assert err[0].startswith("a.ipynb: error: changed on disk")
    assert first.read_bytes() == other
    assert second.read_bytes() == STYLES["jupyter"](stripped(make_notebook()))


# --- scenario 24: disk full / permission denied / read-only file system --------------------------


def _temp_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(TEMP_SUFFIX)]


def _fail_fsync(fd: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fail_mkstemp(*args: Any, **kwargs: Any) -> Any:
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))


def _fail_replace(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))


@pytest.mark.parametrize(
    ("target", "name", "replacement", "reason"),
    [
        (os, "fsync", _fail_fsync, os.strerror(errno.ENOSPC)),
        (tempfile, "mkstemp", _fail_mkstemp, os.strerror(errno.EACCES)),
        (os, "replace", _fail_replace, os.strerror(errno.EROFS)),
    ],
    ids=["disk-full", "folder-not-writable", "read-only-fs"],
)
def test_write_failure_keeps_the_original(
    target: Any,
    name: str,
    replacement: Callable[..., Any],
    reason: str,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    path, raw = _dirty_notebook(project)
    monkeypatch.setattr(target, name, replacement)

    code, out, err = run(capsys, "strip", "-q", "nb.ipynb")
    monkeypatch.undo()

    assert code == 2
    assert out == []
    assert err == [f"nb.ipynb: error: cannot write: {reason} (the file on disk is unchanged; free space or fix permissions and retry)"]
    assert path.read_bytes() == raw
    assert _temp_files(project) == []
    assert listing(project) == {"nb.ipynb"}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_read_only_folder(project: Path, capsys: pytest.CaptureFixture[str]):
    folder = project / "ro"
    folder.mkdir()
    path, raw = _dirty_notebook(folder)
    folder.chmod(0o555)
    try:
        code, _, err = run(capsys, "strip", "-q", "ro")
    finally:
        folder.chmod(0o755)
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("ro/nb.ipynb: error: cannot write: ")
    assert path.read_bytes() == raw
    assert listing(folder) == {"nb.ipynb"}


def test_interrupt_during_write_keeps_the_original(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    path, raw = _dirty_notebook(project)

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    code, _, err = run(capsys, "strip", "-q", "nb.ipynb")
    monkeypatch.undo()
    assert code == 130
    assert err == ["nb2prod: interrupted"]
    assert path.read_bytes() == raw
    assert _temp_files(project) == []


def test_write_failure_on_one_notebook_does_not_stop_the_others(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    first, first_raw = _dirty_notebook(project, "a.ipynb")
    second, _ = _dirty_notebook(project, "b.ipynb")
    real_replace = os.replace

    def full_for_a(source: Any, destination: Any) -> None:
        if Path(destination).name == "a.ipynb":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(source, destination)

    monkeypatch.setattr(nb2prod.atomic.os, "replace", full_for_a)
    code, out, err = run(capsys, "strip", ".")
    monkeypatch.undo()
    assert code == 2
    assert out == ["stripped b.ipynb"]
    assert err[0].startswith("a.ipynb: error: cannot write: ")
    assert first.read_bytes() == first_raw
    assert second.read_bytes() == STYLES["jupyter"](stripped(make_notebook()))
    assert _temp_files(project) == []


# --- internal errors and the error classes ----------------------------------------------------


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("boom")


@pytest.mark.parametrize("argv_prefix", [[], ["--debug"]], ids=["plain", "debug-first"])
def test_internal_error_is_exit_3(
    argv_prefix: list[str], project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    _dirty_notebook(project)
    monkeypatch.setattr(nb2prod.cli.strip, "strip", _boom)
    code, out, err = run(capsys, *argv_prefix, "strip", "nb.ipynb")
    assert code == 3
    assert out == []
    text = "\n".join(err)
    assert "nb2prod: internal error: RuntimeError: boom" in text
    assert "please report it" in text
    if argv_prefix:
        assert "Traceback (most recent call last)" in text
    else:
        assert "Traceback" not in text
        assert err[0] == "nb2prod: internal error: RuntimeError: boom"
        assert "--debug" in err[-1]


def test_debug_after_the_command_shows_the_traceback(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    _dirty_notebook(project)
    monkeypatch.setattr(nb2prod.cli.strip, "strip", _boom)
    code, _, err = run(capsys, "strip", "--debug", "nb.ipynb")
    assert code == 3
    assert "Traceback (most recent call last)" in "\n".join(err)


@pytest.mark.parametrize(
    "cls", [Nb2prodError, UsageError, ConfigError, NotebookReadError, NotebookFormatError, WriteError, WriteConflictError]
)
def test_errors_survive_pickling(cls: type[Nb2prodError]):
    error = cls("x", path="p", hint="h")
    copy_ = pickle.loads(pickle.dumps(error))
    assert type(copy_) is cls
    assert (copy_.message, copy_.path, copy_.hint, str(copy_)) == ("x", "p", "h", "p: error: x (h)")


def test_error_without_path_or_hint_survives_pickling():
    copy_ = pickle.loads(pickle.dumps(NotebookReadError("x")))
    assert (copy_.message, copy_.path, copy_.hint, str(copy_)) == ("x", None, None, "error: x")
