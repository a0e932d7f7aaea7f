"""The statistics of a drift check, computed from binned counts and a few quantiles (no scipy).

Every function takes what a stored profile keeps (bin counts, quantiles, a CDF at the quantiles)
and what one pass over the new data gives, so no raw training data is needed. Distances:

- ``psi``: population stability index over the same bins, proportions floored at 1e-4 (as
  Evidently does), natural log; higher is more drift.
- ``js_distance``: Jensen-Shannon distance, base 2 (0 = same, 1 = disjoint).
- ``ks_from_cdf``: the Kolmogorov-Smirnov D evaluated at the reference's 21 quantiles (a lower
  bound of the exact D, at most 0.05 below it; the new data's CDF there comes from its sample of
  up to 50,000 values, exact below that).
- ``w1_from_quantiles``: Wasserstein-1 approximated by the mean absolute difference of matching
  quantiles, in units of the reference's standard deviation.

Significance (the guard that keeps small and very large batches from raising false alarms):
``chi2_homogeneity`` (2 x B table, sparse bins pooled), ``two_proportion_p``, and
``excess_rate_p`` for shares that a finite reference cannot rule out (values beyond the
reference's range). p-values use the regularized incomplete gamma function written here
(``gamma_q``), checked against scipy in the tests.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Empty bins count as this proportion in PSI (Evidently's floor), so one empty bin cannot make PSI infinite.
PSI_FLOOR = 1e-4
#: Bins whose expected count is below this are pooled before the chi-square test (the usual validity rule).
MIN_EXPECTED = 5.0
_EPS = 1e-15
_MAX_ITER = 100_000


def proportions(counts: np.ndarray) -> np.ndarray:
    """``counts`` as proportions of their total (all zeros when the total is zero)."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts)


def psi(ref_counts: np.ndarray, new_counts: np.ndarray, *, floor: float = PSI_FLOOR) -> float:
    """Population stability index of two count vectors over the same bins: sum (q - p) ln(q / p)."""
    import numpy as np

    p = np.maximum(proportions(ref_counts), floor)
    q = np.maximum(proportions(new_counts), floor)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(ref_counts: np.ndarray, new_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) of two count vectors over the same bins."""
    import numpy as np

    p, q = proportions(ref_counts), proportions(new_counts)
    m = (p + q) / 2
    divergence = 0.0
    for side in (p, q):
        mask = side > 0
        divergence += float(np.sum(side[mask] * np.log2(side[mask] / m[mask]))) / 2
    return math.sqrt(max(divergence, 0.0))


def linf(ref_counts: np.ndarray, new_counts: np.ndarray) -> float:
    """The largest absolute difference of two bin proportions (TFDV's L-infinity comparator)."""
    import numpy as np

    return float(np.max(np.abs(proportions(ref_counts) - proportions(new_counts)), initial=0.0))


def ks_from_cdf(ref_cdf: np.ndarray, new_cdf: np.ndarray) -> float:
    """KS D evaluated at the reference quantiles: max |F_ref(q_i) - F_new(q_i)|."""
    import numpy as np

    if len(ref_cdf) == 0:
        return 0.0
    return float(np.max(np.abs(np.asarray(ref_cdf, dtype=np.float64) - np.asarray(new_cdf, dtype=np.float64))))


def w1_from_quantiles(ref_q: np.ndarray, new_q: np.ndarray, scale: float) -> float:
    """Wasserstein-1 of two distributions from matching quantiles, divided by ``scale`` (floored at 1e-3, as Evidently)."""
    import numpy as np

    if len(ref_q) == 0:
        return 0.0
    return float(np.mean(np.abs(np.asarray(ref_q) - np.asarray(new_q)))) / max(scale, 1e-3)


# --- p-values ---------------------------------------------------------------------------------------


def gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x), for a > 0, x >= 0.

    A power series when x < a + 1, else a continued fraction (modified Lentz); both converge to
    double precision, and the continued fraction keeps tiny upper tails accurate.
    """
    if a <= 0:
        raise ValueError("gamma_q needs a > 0")
    if x <= 0:
        return 1.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        denominator = a
        for _ in range(_MAX_ITER):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return min(1.0, math.exp(log_prefix) * h)


def chi2_sf(statistic: float, df: int) -> float:
    """Upper tail P(X >= statistic) of a chi-square distribution with ``df`` degrees of freedom."""
    if df <= 0:
        return 1.0
    return gamma_q(df / 2, max(statistic, 0.0) / 2)


def normal_sf(z: float) -> float:
    """Upper tail of the standard normal distribution."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def poisson_sf(k: int, mean: float) -> float:
    """P(X >= k) for a Poisson variable with ``mean``: the regularized lower gamma P(k, mean)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    return 1.0 - gamma_q(k, mean)


def pooled_table(ref_counts: np.ndarray, new_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 2 x B table with bins of small expected count pooled, so the chi-square approximation holds.

    Bins nobody used are dropped; the bins whose expected count (under "same distribution") is
    below 5 on either side are merged into one, and that merged bin into the next smallest bin
    while it is still below 5.
    """
    import numpy as np

    ref = np.asarray(ref_counts, dtype=np.float64)
    new = np.asarray(new_counts, dtype=np.float64)
    used = (ref + new) > 0
    ref, new = ref[used], new[used]
    n_ref, n_new = ref.sum(), new.sum()
    if n_ref == 0 or n_new == 0:
        return ref, new
    share = (ref + new) / (n_ref + n_new)
    small = np.minimum(n_ref, n_new) * share < MIN_EXPECTED
    if not small.any():
        return ref, new
    keep_ref, keep_new, keep_share = ref[~small], new[~small], share[~small]
    pool_ref, pool_new, pool_share = ref[small].sum(), new[small].sum(), share[small].sum()
    order = np.argsort(keep_share, kind="stable")
    keep_ref, keep_new, keep_share = keep_ref[order], keep_new[order], keep_share[order]
    while min(n_ref, n_new) * pool_share < MIN_EXPECTED and len(keep_share):
        pool_ref += keep_ref[0]
        pool_new += keep_new[0]
        pool_share += keep_share[0]
        keep_ref, keep_new, keep_share = keep_ref[1:], keep_new[1:], keep_share[1:]
    return np.append(keep_ref, pool_ref), np.append(keep_new, pool_new)


def chi2_homogeneity(ref_counts: np.ndarray, new_counts: np.ndarray, *, pool: bool = True) -> tuple[float, int, float]:
    """Pearson's chi-square test that two count vectors come from one distribution: (statistic, df, p).

    With ``pool`` (the default) sparse bins are pooled first (``pooled_table``). Fewer than two
    bins, or an empty side, is no evidence of a difference: p = 1.
    """
    import numpy as np

    ref, new = pooled_table(ref_counts, new_counts) if pool else (np.asarray(ref_counts, float), np.asarray(new_counts, float))
    n_ref, n_new = ref.sum(), new.sum()
    if len(ref) < 2 or n_ref == 0 or n_new == 0:
        return 0.0, 0, 1.0
    total = ref + new
    expected_ref = total * n_ref / (n_ref + n_new)
    expected_new = total * n_new / (n_ref + n_new)
    mask = total > 0
    statistic = float(
        np.sum((ref[mask] - expected_ref[mask]) ** 2 / expected_ref[mask])
        + np.sum((new[mask] - expected_new[mask]) ** 2 / expected_new[mask])
    )
    df = int(mask.sum()) - 1
    return statistic, df, chi2_sf(statistic, df)


def two_proportion_p(k_ref: int, n_ref: int, k_new: int, n_new: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (Evidently's z-test) for k_ref/n_ref vs k_new/n_new."""
    if n_ref <= 0 or n_new <= 0:
        return 1.0
    pooled = (k_ref + k_new) / (n_ref + n_new)
    variance = pooled * (1 - pooled) * (1 / n_ref + 1 / n_new)
    difference = k_new / n_new - k_ref / n_ref
    if variance <= 0:
        return 1.0 if difference == 0 else 0.0
    return min(1.0, 2 * normal_sf(abs(difference) / math.sqrt(variance)))


def beta2_upper(n: int, alpha: float) -> float:
    """The rate r with P(R >= r) = alpha for R ~ Beta(2, n - 1): how much mass can lie beyond the extremes of n values.

    For a continuous variable, the share of new values below the minimum or above the maximum of
    ``n`` reference values is Beta(2, n - 1) distributed; its upper tail is (1 - r)^b (1 + b r).
    """
    b = max(n - 1, 1)
    low, high = 0.0, 1.0
    for _ in range(80):
        middle = (low + high) / 2
        tail = (1 - middle) ** b * (1 + b * middle)
        low, high = (middle, high) if tail > alpha else (low, middle)
    return high


def excess_rate_p(count: int, n_new: int, allowed_rate: float) -> float:
    """p-value of seeing ``count`` or more of ``n_new`` values when the true rate is at most ``allowed_rate`` (Poisson tail)."""
    return poisson_sf(count, n_new * allowed_rate)
