"""Vectorised drift simulations (fixed seeds): the default gate over many batches without and with drift.

A batch of n new rows from a known distribution is simulated by its sufficient statistics: the
counts in the profile's bins are multinomial, the count beyond the reference's min and max is
binomial, so a 1,000,000-row batch costs no more than a 50-row one. The gate applied is the
library's (``checks.gated`` with the default thresholds and alpha / k); ``check_library_agrees``
confirms, on a few batches, that the vectorised PSI and p-values equal the library's.

Shared by the fast tests (tests/drift/test_simulation.py) and the sweep in benchmarks/bench_drift.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy import stats as sps

from nb2prod.drift import stats
from nb2prod.drift.checks import DEFAULT_ALPHA, DEFAULT_THRESHOLDS
from nb2prod.drift.profile import DECILE_INDEXES, QUANTILE_LEVELS

NUMERIC_COLUMNS = 5
CATEGORIES = (np.array([0.5, 0.5]), np.array([0.4, 0.3, 0.15, 0.1, 0.05]))
K = NUMERIC_COLUMNS + len(CATEGORIES)
STATUS = {0: "ok", 1: "warn", 2: "fail"}


@dataclass
class Profiled:
    """A reference numeric column as a profile stores it: interior edges, bin counts, min and max."""

    interior: np.ndarray
    counts: np.ndarray
    low: float
    high: float
    n: int


def reference_numeric(rng: np.random.Generator, n_ref: int) -> Profiled:
    """A standard-normal reference sample, binned as nb2prod.drift.profile bins it (deciles, 12 digits, ties collapsed)."""
    sample = np.sort(rng.normal(size=n_ref))
    q = [float(f"{value:.12g}") for value in np.quantile(sample, QUANTILE_LEVELS)]
    edges = sorted({q[i] for i in DECILE_INDEXES})
    interior = np.asarray(edges[1:-1])
    counts = np.bincount(np.searchsorted(interior, sample, side="right"), minlength=len(interior) + 1)
    return Profiled(interior, counts, float(sample[0]), float(sample[-1]), n_ref)


def level(values: np.ndarray, metric: str) -> np.ndarray:
    """0 ok, 1 warn, 2 fail by the default thresholds (strictly above)."""
    warn, fail = DEFAULT_THRESHOLDS[metric]
    return np.where(values > fail, 2, np.where(values > warn, 1, 0))


def psi_rows(ref: np.ndarray, new: np.ndarray) -> np.ndarray:
    """PSI of every row of ``new`` (batches x bins) against ``ref``."""
    p = np.maximum(ref / ref.sum(), stats.PSI_FLOOR)
    q = np.maximum(new / new.sum(axis=1, keepdims=True), stats.PSI_FLOOR)
    return np.sum((q - p) * np.log(q / p), axis=1)


def chi2_rows(ref: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Chi-square homogeneity p-value of every row (bins used by nobody dropped per row)."""
    n_ref = ref.sum()
    n_new = new.sum(axis=1, keepdims=True)
    total = ref + new
    expected_ref = total * n_ref / (n_ref + n_new)
    expected_new = total * n_new / (n_ref + n_new)
    used = total > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(used, (ref - expected_ref) ** 2 / expected_ref + (new - expected_new) ** 2 / expected_new, 0.0)
    df = used.sum(axis=1) - 1
    return np.where(df > 0, special.gammaincc(np.maximum(df, 1) / 2, terms.sum(axis=1) / 2), 1.0)


def gate_levels(ref: np.ndarray, new: np.ndarray, alpha: float) -> np.ndarray:
    """The PSI gate's level per batch: the threshold's level, kept only where significant."""
    return np.where(chi2_rows(ref, new) < alpha, level(psi_rows(ref, new), "psi"), 0)


def out_of_range_levels(column: Profiled, counts: np.ndarray, n_new: int, alpha: float) -> np.ndarray:
    allowed = stats.beta2_upper(column.n, alpha / 2)
    p = np.minimum(2 * sps.poisson.sf(counts - 1, n_new * allowed), 1.0)
    return np.where(p < alpha, level(counts / n_new, "out_of_range"), 0)


def batch_levels(
    rng: np.random.Generator,
    *,
    n_ref: int,
    n_new: int,
    batches: int,
    references: int,
    shift: float = 0.0,
    category_shift: np.ndarray | None = None,
) -> np.ndarray:
    """The worst level (0/1/2) per column per batch: an array (references * batches, K)."""
    alpha = DEFAULT_ALPHA / K
    per_reference = []
    for _ in range(references):
        columns = []
        for _ in range(NUMERIC_COLUMNS):
            ref = reference_numeric(rng, n_ref)
            cuts = np.concatenate([[-np.inf], ref.interior, [np.inf]])
            probabilities = np.diff(special.ndtr(cuts - shift))
            new = rng.multinomial(n_new, probabilities / probabilities.sum(), size=batches)
            outside_p = special.ndtr(ref.low - shift) + special.ndtr(shift - ref.high)
            outside = rng.binomial(n_new, outside_p, size=batches)
            columns.append(np.maximum(gate_levels(ref.counts, new, alpha), out_of_range_levels(ref, outside, n_new, alpha)))
        for index, truth in enumerate(CATEGORIES):
            ref_counts = rng.multinomial(n_ref, truth)
            drawn = category_shift if (category_shift is not None and index == 0) else truth
            new = rng.multinomial(n_new, drawn, size=batches)
            columns.append(gate_levels(ref_counts, new, alpha))
        per_reference.append(np.stack(columns, axis=1))
    return np.concatenate(per_reference)


def check_library_agrees(rng: np.random.Generator, n_ref: int, n_new: int) -> None:
    """On a few batches, the vectorised PSI and p-value equal ``stats.psi`` and ``stats.chi2_homogeneity``."""
    ref = reference_numeric(rng, n_ref)
    probabilities = np.diff(special.ndtr(np.concatenate([[-np.inf], ref.interior, [np.inf]])))
    new = rng.multinomial(n_new, probabilities / probabilities.sum(), size=5)
    for row, psi, p in zip(new, psi_rows(ref.counts, new), chi2_rows(ref.counts, new), strict=True):
        assert abs(stats.psi(ref.counts, row) - psi) < 1e-12
        assert abs(stats.chi2_homogeneity(ref.counts, row, pool=False)[2] - p) < 1e-9
