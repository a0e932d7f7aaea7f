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


def test_parquet_is_read_without_holding_the_file(tmp_path: Path) -> None:
    """Arrow's memory stays at about a row group while a Parquet file of many row groups is read (pyarrow's pre-buffering held it all)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    rows = 50_000
    table = pa.table({"a": rng.normal(size=rows), "b": rng.normal(size=rows), "k": rng.choice(np.array(["x" * 40, "y" * 40]), rows)})
    path = tmp_path / "data.parquet"
    with pq.ParquetWriter(path, table.schema) as writer:
        for _ in range(40):  # 2M rows, 40 row groups
            writer.write_table(table)
    held = []
    for _ in iter_file(path, chunk_rows=10_000):
        held.append(pa.total_allocated_bytes())
    assert len(held) == 200
    assert max(held) < 20 * 2**20, f"{max(held) / 2**20:.0f} MB held by Arrow"


def test_a_file_its_parser_refuses_is_one_error_that_says_what_to_check(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot parse as parquet") as error:
        list(iter_file(parquet_path(tmp_path)))
    assert error.value.path == str(parquet_path(tmp_path)) and error.value.hint and "extension" in error.value.hint
