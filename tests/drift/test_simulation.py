"""Simulations with fixed seeds: the default gate's false-alarm rate without drift, and what it catches.

Vectorised (tests/drift/simulate.py): batch counts are drawn from their exact multinomial and
binomial distributions, so batches of 50 to 1,000,000 rows cost the same. Seven columns per batch
(five numeric, a 50/50 and a five-way categorical); a batch is a false alarm when any column fails.
The end-to-end version through files and the CLI is in test_drift_cli.py; the bigger sweep in
benchmarks/bench_drift.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import simulate

NEW_ROWS = (50, 200, 1_000, 10_000, 100_000, 1_000_000)


@pytest.mark.parametrize("n_ref", [500, 100_000])
def test_false_alarm_rate_without_drift_is_at_most_one_percent_of_batches(n_ref: int) -> None:
    rng = np.random.default_rng(1306 + n_ref)
    for n_new in NEW_ROWS:
        levels = simulate.batch_levels(rng, n_ref=n_ref, n_new=n_new, batches=200, references=10)
        failed = (levels.max(axis=1) == 2).mean()
        assert failed <= 0.01, f"n_ref={n_ref} n_new={n_new}: {failed:.2%} of 2000 batches failed without drift"


def test_the_vectorised_gate_is_the_library_computation() -> None:
    rng = np.random.default_rng(7)
    for n_ref, n_new in ((500, 50), (100_000, 1_000_000)):
        simulate.check_library_agrees(rng, n_ref, n_new)


@pytest.mark.parametrize("n_ref", [500, 100_000])
@pytest.mark.parametrize("n_new", [1_000, 100_000, 1_000_000])
def test_mean_shifts_warn_at_half_a_sigma_and_fail_at_three_quarters(n_ref: int, n_new: int) -> None:
    rng = np.random.default_rng(n_ref + n_new)
    half = simulate.batch_levels(rng, n_ref=n_ref, n_new=n_new, batches=20, references=2, shift=0.5)[:, : simulate.NUMERIC_COLUMNS]
    assert (half >= 1).all(), "a 0.5 sigma shift must reach at least warn"
    three_quarters = simulate.batch_levels(rng, n_ref=n_ref, n_new=n_new, batches=20, references=2, shift=0.75)
    assert (three_quarters[:, : simulate.NUMERIC_COLUMNS] == 2).all(), "a 0.75 sigma shift must fail"


@pytest.mark.parametrize("n_ref", [500, 100_000])
@pytest.mark.parametrize("n_new", [1_000, 100_000])
def test_a_50_50_to_70_30_category_shift_warns(n_ref: int, n_new: int) -> None:
    rng = np.random.default_rng(5070 + n_ref + n_new)
    levels = simulate.batch_levels(rng, n_ref=n_ref, n_new=n_new, batches=100, references=5, category_shift=np.array([0.7, 0.3]))
    shifted = levels[:, simulate.NUMERIC_COLUMNS]
    assert (shifted >= 1).mean() >= 0.99
    if n_ref == 100_000:
        assert (shifted == 1).mean() >= 0.95, "PSI 0.17: warn (not fail) once the reference is large"
