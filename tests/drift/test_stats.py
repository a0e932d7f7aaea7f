"""nb2prod.drift.stats against independent computations: numpy from the formulas (1e-12) and scipy (dev-only, 1e-6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import spatial, special
from scipy import stats as sps

from nb2prod.drift import stats

RNG = np.random.default_rng(20261206)


def _independent_psi(ref: np.ndarray, new: np.ndarray) -> float:
    """PSI written out term by term in plain Python floats."""
    total_ref, total_new = float(sum(ref)), float(sum(new))
    value = 0.0
    for r, n in zip(ref.tolist(), new.tolist(), strict=True):
        p = max(r / total_ref, 1e-4)
        q = max(n / total_new, 1e-4)
        value += (q - p) * math.log(q / p)
    return value


def _independent_js(ref: np.ndarray, new: np.ndarray) -> float:
    """JS distance, base 2, from the entropy identity JS = H(m) - (H(p) + H(q)) / 2."""
    p, q = ref / ref.sum(), new / new.sum()
    m = (p + q) / 2

    def entropy(x: np.ndarray) -> float:
        x = x[x > 0]
        return float(-(x * np.log(x)).sum() / np.log(2))

    return math.sqrt(max(entropy(m) - (entropy(p) + entropy(q)) / 2, 0.0))


@pytest.mark.parametrize("bins", [2, 3, 10, 51, 1001])
def test_psi_and_js_match_an_independent_numpy_computation(bins: int) -> None:
    for _ in range(20):
        ref = RNG.integers(0, 1000, bins).astype(float)
        new = RNG.integers(0, 1000, bins).astype(float)
        ref[RNG.integers(0, bins)] = 0  # an empty bin: the floor applies
        ref[0] += 1
        new[0] += 1
        assert stats.psi(ref, new) == pytest.approx(_independent_psi(ref, new), abs=1e-12, rel=1e-12)
        assert stats.js_distance(ref, new) == pytest.approx(_independent_js(ref, new), abs=1e-12)
        assert stats.js_distance(ref, new) == pytest.approx(spatial.distance.jensenshannon(ref, new, base=2), abs=1e-12)


def test_psi_of_identical_distributions_is_zero_and_grows_with_the_shift() -> None:
    ref = np.array([50, 50])
    assert stats.psi(ref, ref * 7) == 0.0
    assert stats.psi(ref, np.array([70, 30])) == pytest.approx(0.2 * math.log(1.4) + 0.2 * math.log(5 / 3), abs=1e-12)


@pytest.mark.parametrize("a", [0.5, 1.0, 4.5, 10.0, 50.0, 499.5])
def test_gamma_q_matches_scipy(a: float) -> None:
    for x in [0.0, 1e-3, 0.5, a * 0.5, a, a + 1, a * 2, a * 5 + 30]:
        expected = special.gammaincc(a, x)
        got = stats.gamma_q(a, x)
        assert got == pytest.approx(expected, abs=1e-6)
        if expected > 1e-300:
            assert got == pytest.approx(expected, rel=1e-6)  # tiny tails too (the continued fraction)


def test_chi2_homogeneity_matches_scipy_contingency() -> None:
    for bins in (2, 5, 10, 30):
        for _ in range(10):
            ref = RNG.integers(20, 2000, bins)
            new = RNG.integers(20, 500, bins)
            statistic, df, p = stats.chi2_homogeneity(ref, new)
            expected = sps.chi2_contingency(np.vstack([ref, new]), correction=False)
            assert statistic == pytest.approx(expected.statistic, rel=1e-9)
            assert df == expected.dof
            assert p == pytest.approx(expected.pvalue, abs=1e-6)
            if expected.pvalue > 1e-300:
                assert p == pytest.approx(expected.pvalue, rel=1e-6)


def test_sparse_bins_are_pooled_before_the_chi_square_test() -> None:
    ref = np.array([1000, 1000, 3, 2, 0])
    new = np.array([50, 50, 0, 1, 1])
    pooled_ref, pooled_new = stats.pooled_table(ref, new)
    assert pooled_ref.sum() == ref.sum() and pooled_new.sum() == new.sum()
    assert len(pooled_ref) == 2  # the pooled bin (7 values) is still too small: merged into the next smallest
    _, df, p = stats.chi2_homogeneity(ref, new)
    expected = sps.chi2_contingency(np.vstack([pooled_ref, pooled_new]), correction=False)
    assert p == pytest.approx(expected.pvalue, abs=1e-9) and df == 1


def test_other_p_values_match_scipy() -> None:
    for z in (-3.0, 0.0, 1.0, 2.5, 8.0):
        assert stats.normal_sf(z) == pytest.approx(sps.norm.sf(z), rel=1e-9)
    for k, mean in ((0, 1.0), (1, 0.2), (5, 2.0), (30, 10.0), (200, 150.0)):
        assert stats.poisson_sf(k, mean) == pytest.approx(sps.poisson.sf(k - 1, mean), abs=1e-6, rel=1e-6)
    for n, alpha in ((500, 0.005), (100_000, 0.0005), (10, 0.05)):
        assert stats.beta2_upper(n, alpha) == pytest.approx(sps.beta(2, n - 1).isf(alpha), rel=1e-6)
    # two-proportion z-test: the same as the chi-square test of the 2 x 2 table
    for k_ref, n_ref, k_new, n_new in ((30, 1000, 60, 1000), (0, 500, 5, 50), (100, 100_000, 150, 100_000)):
        table = np.array([[k_ref, n_ref - k_ref], [k_new, n_new - k_new]])
        expected = sps.chi2_contingency(table, correction=False).pvalue
        assert stats.two_proportion_p(k_ref, n_ref, k_new, n_new) == pytest.approx(expected, abs=1e-6)


def test_ks_and_w1_from_quantiles_approximate_the_exact_values() -> None:
    """KS D at 21 quantiles is a lower bound within 0.05 of the exact D; W1 from quantiles is close to scipy's."""
    levels = np.linspace(0, 1, 21)
    for shift in (0.0, 0.3, 1.0):
        ref = RNG.normal(size=20_000)
        new = RNG.normal(shift, 1.2, size=20_000)
        q_ref = np.quantile(ref, levels)
        ref_cdf = np.searchsorted(np.sort(ref), q_ref, side="right") / len(ref)
        new_cdf = np.searchsorted(np.sort(new), q_ref, side="right") / len(new)
        exact = sps.ks_2samp(ref, new).statistic
        approx = stats.ks_from_cdf(ref_cdf, new_cdf)
        assert exact - 0.05 - 1e-9 <= approx <= exact + 1e-9
        w1 = stats.w1_from_quantiles(q_ref, np.quantile(new, levels), ref.std())
        assert w1 == pytest.approx(sps.wasserstein_distance(ref, new) / ref.std(), abs=0.08)
