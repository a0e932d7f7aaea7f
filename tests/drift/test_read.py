"""Reading data files: a reader that is missing and one that is there but cannot be imported are told apart."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nb2prod.drift.read import iter_file
from nb2prod.errors import DataError


def parquet_path(tmp_path: Path) -> Path:
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1 not really")
    return path


def test_a_missing_reader_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(DataError, match="needs pyarrow, which is not installed") as error:
        list(iter_file(parquet_path(tmp_path)))
    assert error.value.hint == "pip install pyarrow"


def test_a_reader_that_cannot_import_is_not_called_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a capped address space a library's shared object fails to map: that is no reason to reinstall it."""
    fake = tmp_path / "site" / "pyarrow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('libarrow.so.2600: failed to map segment from shared object')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "pyarrow", raising=False)
    with pytest.raises(DataError) as error:
        list(iter_file(parquet_path(tmp_path)))
    assert "which cannot be imported: libarrow.so.2600: failed to map segment" in str(error.value)
    assert "not installed" not in str(error.value)
