"""``strip``: what it clears and keeps, parity with nbstripout, idempotence, and the CLI's exit codes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.config import StripConfig
from nb2prod.errors import ConfigError
from nb2prod.notebook import read_notebook
from nb2prod.strip import DEFAULT_KEYS, StripOptions, strip, strip_notebook

EXAMPLE = Path(__file__).resolve().parents[1] / "notebooks" / "train.ipynb"


def code_cell(source: str, count: int | None, outputs: list[dict[str, Any]], **metadata: Any) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": count, "id": f"c{count}", "metadata": metadata, "outputs": outputs, "source": source}


def executed_notebook() -> dict[str, Any]:
    """A notebook with everything strip clears, and things it must keep."""
    stream = {"name": "stdout", "output_type": "stream", "text": ["hello\n"]}
    result = {"data": {"text/plain": ["42"]}, "execution_count": 2, "metadata": {}, "output_type": "execute_result"}
    return {
        "cells": [
            {"cell_type": "markdown", "id": "m1", "metadata": {"collapsed": True, "tags": ["intro"]}, "source": "# Title"},
            code_cell("print('hello')", 1, [stream], collapsed=False, scrolled=True, ExecuteTime={"end_time": "x"}),
            code_cell("6 * 7", 2, [result], tags=["keep-output"], execution={"iopub.status.busy": "t"}),
            code_cell("x = 1", None, [], tags=["parameters"], custom={"keep": "me"}),
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "signature": "sha256:abc",
            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def test_strip_clears_outputs_counts_and_volatile_metadata() -> None:
    original = executed_notebook()
    before = copy.deepcopy(original)
    stripped = strip_notebook(original)
    assert original == before, "strip_notebook must not modify its input"
    markdown, printed, kept, params = stripped["cells"]
    assert markdown["metadata"] == {"tags": ["intro"]}
    assert printed["outputs"] == [] and printed["execution_count"] is None
    assert printed["metadata"] == {}
    assert kept["outputs"][0]["data"] == {"text/plain": ["42"]}, "keep-output cells keep their outputs"
    assert kept["outputs"][0]["execution_count"] is None and kept["execution_count"] is None
    assert kept["metadata"] == {"tags": ["keep-output"]}
    assert params["metadata"] == {"tags": ["parameters"], "custom": {"keep": "me"}}
    assert [cell["id"] for cell in stripped["cells"]] == ["m1", "c1", "c2", "cNone"], "cell ids are kept"
    assert stripped["metadata"] == {"kernelspec": original["metadata"]["kernelspec"]}


def test_strip_is_idempotent_and_shares_untouched_parts() -> None:
    once = strip_notebook(executed_notebook())
    twice = strip_notebook(once)
    assert twice == once
    assert twice["cells"][0] is once["cells"][0], "a clean cell is not copied"


def test_strip_matches_nbstripout_defaults() -> None:
    """Same result as nbstripout's library on its defaults, apart from the cell ids it renumbers."""
    import nbformat
    from nbstripout._utils import strip_output

    data = executed_notebook()
    data["cells"][2]["metadata"]["tags"] = ["keep_output"]  # nbstripout's spelling of the tag
    theirs = strip_output(nbformat.from_dict(copy.deepcopy(data)), None, False, True, extra_keys=list(DEFAULT_KEYS))
    ours = strip_notebook(data)
    assert json.loads(json.dumps(theirs)) == ours


def test_keep_output_cell_metadata_keeps_outputs(tmp_path: Path) -> None:
    """nbstripout's other spelling: ``"keep_output": true`` in the cell's metadata, no tag; the CLI keeps it too."""
    import nbformat
    from nbstripout._utils import strip_output

    data = executed_notebook()
    data["cells"][1]["metadata"] = {"keep_output": True}
    data["cells"][2]["metadata"] = {"keep_output": False}  # only true keeps
    ours = strip_notebook(data)
    assert ours["cells"][1]["outputs"] == data["cells"][1]["outputs"], "outputs kept"
    assert ours["cells"][1]["execution_count"] is None, "the count still goes"
    assert ours["cells"][2]["outputs"] == []
    theirs = strip_output(nbformat.from_dict(copy.deepcopy(data)), None, False, True, extra_keys=list(DEFAULT_KEYS))
    assert json.loads(json.dumps(theirs)) == ours
    path = write(tmp_path / "kept.ipynb", data)
    assert main(["strip", "-q", str(path)]) == 0
    assert json.loads(path.read_text(encoding="utf-8"))["cells"][1]["outputs"] == data["cells"][1]["outputs"]


@pytest.mark.parametrize(
    ("config", "check"),
    [
        (StripConfig(extra_keys=("metadata.kernelspec.display_name", "cell.metadata.custom")), "extra"),
        (StripConfig(keep_keys=("cell.metadata.scrolled", "metadata.signature")), "keep"),
        (StripConfig(keep_count=True), "count"),
        (StripConfig(keep_output=True), "output"),
    ],
)
def test_strip_options_from_config(config: StripConfig, check: str) -> None:
    stripped = strip_notebook(executed_notebook(), StripOptions.from_config(config))
    cells = stripped["cells"]
    if check == "extra":
        assert "display_name" not in stripped["metadata"]["kernelspec"]
        assert "custom" not in cells[3]["metadata"]
    elif check == "keep":
        assert cells[1]["metadata"] == {"scrolled": True}
        assert stripped["metadata"]["signature"] == "sha256:abc"
    elif check == "count":
        assert [cell.get("execution_count") for cell in cells] == [None, 1, 2, None]
        assert cells[1]["outputs"] == [], "counts kept, outputs still cleared"
    else:
        assert cells[1]["outputs"][0]["text"] == ["hello\n"]
        assert cells[1]["execution_count"] is None


@pytest.mark.parametrize("key", ["foo.bar", "metadata", "cell.", "outputs.x"])
def test_invalid_strip_key_is_a_config_error(key: str) -> None:
    with pytest.raises(ConfigError, match="invalid strip key"):
        StripOptions.from_config(StripConfig(extra_keys=(key,)))


def test_cli_check_reports_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dirty = write(tmp_path / "dirty.ipynb", executed_notebook())
    clean = write(tmp_path / "clean.ipynb", strip_notebook(executed_notebook()))
    before = {p: p.read_bytes() for p in (dirty, clean)}

    assert main(["strip", "--check", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"would strip {dirty}"]
    assert "1 notebook would be stripped, 1 unchanged" in err
    assert {p: p.read_bytes() for p in before} == before

    assert main(["strip", "--dry-run", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"would strip {dirty}"]
    assert {p: p.read_bytes() for p in before} == before


def test_cli_strip_writes_then_second_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dirty = write(tmp_path / "dirty.ipynb", executed_notebook())
    assert main(["strip", str(dirty)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"stripped {dirty}"]
    assert read_notebook(dirty).data == strip_notebook(executed_notebook())
    after_first = dirty.read_bytes()
    mtime = dirty.stat().st_mtime_ns

    assert main(["strip", str(dirty)]) == 0
    assert capsys.readouterr().out == ""
    assert dirty.read_bytes() == after_first and dirty.stat().st_mtime_ns == mtime, "an unchanged notebook is not rewritten"
    assert main(["strip", "--check", str(dirty)]) == 0


def test_cli_keep_flags_override(tmp_path: Path) -> None:
    dirty = write(tmp_path / "dirty.ipynb", executed_notebook())
    assert main(["strip", "-q", "--keep-count", "--keep-output", str(dirty)]) == 0
    cells = read_notebook(dirty).data["cells"]
    assert cells[1]["execution_count"] == 1 and cells[1]["outputs"], "flags keep counts and outputs"
    assert cells[1]["metadata"] == {}, "volatile metadata still cleared"


def test_text_notebooks_pass_through_untouched(tmp_path: Path) -> None:
    script = tmp_path / "analysis.py"
    script.write_text("# %%\nx = 1\n\n# %% [markdown]\n# Notes\n", encoding="utf-8")
    before = script.read_bytes()
    results = strip([script])
    assert [(r.changed, r.written, r.error) for r in results] == [(False, False, None)]
    assert script.read_bytes() == before


def test_strip_keeps_the_files_style(tmp_path: Path) -> None:
    """A two-space, CRLF, unsorted notebook stays so after stripping; only the stripped parts differ."""
    data = executed_notebook()
    data = {"nbformat": 4, "nbformat_minor": 5, "metadata": data["metadata"], "cells": data["cells"]}
    path = tmp_path / "styled.ipynb"
    path.write_bytes(json.dumps(data, indent=2, ensure_ascii=False).replace("\n", "\r\n").encode())
    assert strip([path])[0].written
    expected = json.dumps(strip_notebook(data), indent=2, ensure_ascii=False).replace("\n", "\r\n").encode()
    assert path.read_bytes() == expected


def test_example_notebook_strips_cleanly(tmp_path: Path) -> None:
    """The shipped example carries outputs; stripping a copy leaves a notebook with none, valid for nbformat."""
    import nbformat

    copy_path = tmp_path / EXAMPLE.name
    copy_path.write_bytes(EXAMPLE.read_bytes())
    assert strip([copy_path])[0].written
    stripped = nbformat.read(copy_path, as_version=4)
    nbformat.validate(stripped)
    code = [cell for cell in stripped.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert strip([copy_path])[0].changed is False
