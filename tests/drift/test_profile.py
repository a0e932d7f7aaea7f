"""Profiles: kinds, bins, edge cases (constant, all-missing, infinities, >1,000 categories, mixed types), size, schema versions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2prod.drift import profile_files, profile_frame
from nb2prod.drift.profile import SCHEMA, load_profile, profile_bytes, write_profile
from nb2prod.errors import DataError, UsageError

RNG = np.random.default_rng(11)


def test_numeric_columns_get_decile_bins_quantiles_and_cdf() -> None:
    values = RNG.normal(size=10_000)
    column = profile_frame({"x": values})["columns"]["x"]
    assert column["kind"] == "numeric" and column["n"] == 10_000 and column["missing"] == 0
    assert len(column["edges"]) == 11 and column["counts"] == [1000] * 10
    assert len(column["q"]) == 21 and column["cdf"][10] == pytest.approx(0.5)
    assert column["min"] == pytest.approx(values.min()) and column["std"] == pytest.approx(values.std(), rel=1e-9)


def test_about_one_kilobyte_a_column() -> None:
    frame = pd.DataFrame({f"x{i}": RNG.normal(size=5_000) for i in range(20)})
    size = len(profile_bytes(profile_frame(frame)))
    assert size / 20 < 1500, size


def test_a_constant_column_is_a_one_value_category() -> None:
    column = profile_frame({"c": np.full(500, 3.0)})["columns"]["c"]
    assert column["kind"] == "categorical" and column["top"] == {"3": 500} and column["vocab_complete"]


def test_an_all_missing_column_is_empty() -> None:
    column = profile_frame({"m": np.full(100, np.nan), "s": np.array([None] * 100, dtype=object)})["columns"]
    assert column["m"]["kind"] == column["s"]["kind"] == "empty"
    assert column["m"]["missing"] == 100


def test_infinities_are_counted_and_kept_out_of_the_moments() -> None:
    values = RNG.normal(size=1000)
    values[:10] = np.inf
    values[10:15] = -np.inf
    column = profile_frame({"x": values})["columns"]["x"]
    assert column["posinf"] == 10 and column["neginf"] == 5
    assert np.isfinite(column["mean"]) and column["max"] < 10
    assert sum(column["counts"]) == 1000  # infinities fall in the open outer bins


def test_more_than_1000_categories_keep_the_top_50_and_other() -> None:
    values = np.array([f"c{i % 3000}" for i in range(30_000)], dtype=object)
    column = profile_frame({"c": values})["columns"]["c"]
    assert column["kind"] == "categorical" and not column["vocab_complete"]
    assert len(column["top"]) == 50 and column["other"] == 30_000 - sum(column["top"].values())


def test_free_text_is_unsupported() -> None:
    column = profile_frame({"t": np.array([f"note {i}" for i in range(1000)], dtype=object)})["columns"]["t"]
    assert column["kind"] == "unsupported" and "distinct" in column["reason"]


def test_mixed_types_in_one_column_are_categories_with_one_key_per_value() -> None:
    values = np.array([1, "a", 2.0, "a", None, 1.0, True] * 20, dtype=object)
    column = profile_frame({"m": values})["columns"]["m"]
    assert column["kind"] == "categorical"
    assert column["top"] == {"1": 40, "a": 40, "2": 20, "True": 20} and column["missing"] == 20


def test_mixed_types_across_csv_chunks_count_the_same_as_in_one_chunk(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("v\n" + "1\n2\n3\n" * 10 + "a\nb\n" * 5)
    whole = profile_files([path])["columns"]["v"]
    chunked = profile_files([path], chunk_rows=7)["columns"]["v"]
    assert whole["top"] == chunked["top"] == {"1": 10, "2": 10, "3": 10, "a": 5, "b": 5}


def test_hashed_categories_keep_values_out_of_the_file() -> None:
    profile = profile_frame({"email": np.array(["ann@example.com", "bob@example.com"] * 50, dtype=object)}, hash_categories=True)
    text = profile_bytes(profile).decode()
    assert "example.com" not in text and profile["hashed"]
    assert all(key.startswith("sha256:") and len(key) == 23 for key in profile["columns"]["email"]["top"])


def test_csv_parquet_and_jsonl_give_the_same_profile(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": RNG.normal(size=300), "k": RNG.choice(["a", "b"], 300), "i": RNG.integers(0, 100, 300)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    frame.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    columns = [profile_files([tmp_path / name], chunk_rows=64)["columns"] for name in ("d.csv", "d.parquet", "d.jsonl")]
    for column in ("k", "i"):
        assert columns[0][column] | {"dtype": ""} == columns[1][column] | {"dtype": ""} == columns[2][column] | {"dtype": ""}
    assert columns[0]["x"]["counts"] == columns[1]["x"]["counts"] == columns[2]["x"]["counts"]


@pytest.mark.parametrize(("content", "message"), [(b"", "empty file"), (b"a,b\n", "no rows to profile")])
def test_an_empty_file_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        profile_files([path])


def test_a_target_that_is_not_a_column_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="target 'y'"):
        profile_frame({"x": np.arange(10)}, target="y")


def test_profiles_round_trip_through_the_file(tmp_path: Path) -> None:
    profile = profile_frame({"x": RNG.normal(size=100), "k": np.array(["a", "b"] * 50, dtype=object)})
    path = tmp_path / "p.json"
    digest = write_profile(profile, path)
    assert load_profile(path, sha256=digest)["columns"] == json.loads(profile_bytes(profile))["columns"]
    with pytest.raises(DataError, match="does not match the sha256"):
        load_profile(path, sha256="sha256:" + "0" * 64)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("nb2prod.profile/0", "older than this nb2prod reads"),
        ("nb2prod.profile/2", "newer than this nb2prod reads"),
        ("whylogs/1", "not an nb2prod profile"),
    ],
)
def test_a_profile_of_another_schema_version_is_refused_with_what_to_do(tmp_path: Path, schema: str, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"schema": schema, "columns": {}}))
    with pytest.raises(DataError, match=message) as raised:
        load_profile(path)
    assert raised.value.hint


def test_a_version_1_profile_without_the_later_optional_fields_still_loads(tmp_path: Path) -> None:
    """The first nb2prod.profile/1 files had no cdf, posinf/neginf, hashed or sampled: they still check."""
    column = {"kind": "numeric", "dtype": "float64", "n": 1000, "missing": 0, "min": 0.0, "max": 9.0, "mean": 4.5, "std": 2.9}
    column |= {"edges": [0.0, 3.0, 6.0, 9.0], "counts": [300, 300, 400], "q": [0.0, 4.5, 9.0]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": SCHEMA, "name": "train", "rows": 1000, "columns": {"x": column}}))
    from nb2prod.drift.checks import check_chunks

    result = check_chunks(load_profile(path), [{"x": RNG.uniform(0, 9, 1000)}])
    assert result.columns[0].status == "ok" and result.columns[0].value("ks") is not None


def test_columns_past_the_sample_cap_get_quantiles_from_a_seeded_uniform_sample() -> None:
    from nb2prod.drift.profile import build_profile

    values = np.arange(100_000, dtype=float)
    chunks = [{"x": values[start : start + 7_000]} for start in range(0, len(values), 7_000)]
    first, again = (build_profile(chunks, sample_cap=5_000)["columns"]["x"] for _ in range(2))
    assert first == again and first["sampled"] and sum(first["counts"]) == 5_000
    assert first["min"] == 0 and first["max"] == 99_999 and first["mean"] == pytest.approx(49_999.5)  # moments: all values
    assert np.allclose(first["q"], np.linspace(0, 99_999, 21), atol=2_500)  # a uniform sample, not the first rows


def test_a_missing_reader_library_is_an_input_error_that_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    path = tmp_path / "d.parquet"
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what Python does for a module that is not installed: ImportError
    with pytest.raises(DataError, match="needs pyarrow") as raised:
        profile_files([path])
    assert raised.value.hint == "pip install pyarrow"
