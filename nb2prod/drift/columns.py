"""One pass over a column, chunk by chunk: the counts, moments, sample and value counts a profile or a check needs.

``ColumnAccumulator.add(values)`` takes one chunk of a column as a numpy array of any dtype
(numbers, booleans, datetimes, objects, strings) and keeps memory bounded by the chunk:

- numbers: missing, +inf and -inf counts, min and max, a shifted sum and sum of squares (mean and
  standard deviation), a seeded uniform sample of at most ``sample_cap`` values (quantiles), and,
  when ``edges`` are given (a check against a profile), exact counts per bin and of values
  outside ``bounds``;
- everything else, and numbers while there are few distinct ones: value counts under a canonical
  text key (``1`` and ``1.0`` are one category), up to ``track_cap`` distinct keys;
- datetimes: missing, min and max.

A column whose chunks disagree on type (a CSV column numeric in one chunk and text in the next,
a JSON-lines column holding numbers and strings) is counted consistently: numbers go to the
numeric side and their keys to the value counts, text to the value counts.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: Distinct keys counted per column; past this, new keys are counted as "untracked".
TRACK_CAP = 100_000
#: At most this many distinct numbers are tracked as value counts (a numeric column with <= 5 distinct values is categorical).
NUMERIC_TRACK_CAP = 1_000


def canonical(value: Any) -> str:
    """The category key of a value: integral floats without ``.0`` (a CSV's ``1`` and a frame's ``1.0`` agree), text as is."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) or type(value).__module__ == "numpy":
        number = float(value)
        if math.isfinite(number) and number.is_integer() and abs(number) < 2**53:
            return str(int(number))
        return repr(number)
    if isinstance(value, int):
        return str(value)
    return str(value)


def hash_key(key: str) -> str:
    """A category key as the first 8 bytes of its sha256 (``--hash-categories``: no personal values in the record)."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    name = type(value).__name__
    if name in ("NAType", "NaTType"):
        return True
    if name in ("float64", "float32", "float16"):
        return bool(math.isnan(value))
    return False


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return type(value).__module__ == "numpy" and type(value).__name__.startswith(("int", "uint", "float"))


class ColumnAccumulator:
    """The running summary of one column; ``add`` chunks, then read the fields (see the module docstring)."""

    def __init__(
        self,
        name: str,
        *,
        sample_cap: int,
        seed: int = 0,
        edges: Any = None,
        vocabulary: frozenset[str] | None = None,
        bounds: tuple[float, float] | None = None,
        hashed: bool = False,
        track_numbers: bool = True,
    ):
        import numpy as np

        self.name = name
        self.dtype: str | None = None
        self.rows = 0
        self.missing = 0
        self.posinf = 0
        self.neginf = 0
        self.finite = 0
        self.shift: float | None = None
        self.sum = 0.0
        self.sum_sq = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.texts = 0  # non-numeric, non-missing values (strings, booleans, other objects)
        self.numbers = 0  # numeric non-missing values, infinities included
        self.datetimes = 0
        self.dt_min: Any = None
        self.dt_max: Any = None
        self.counts: Counter[str] = Counter()
        self.numeric_keys = track_numbers  # numbers still tracked in ``counts``
        self.untracked = 0
        self.sample_cap = sample_cap
        self._rng = np.random.default_rng([seed, len(name)])
        self._sample: list[Any] = []
        self._keys: list[Any] = []
        self._kept = 0
        self.edges = None if edges is None else np.asarray(edges, dtype=np.float64)
        self.bin_counts = None if self.edges is None else np.zeros(len(self.edges) + 1, dtype=np.int64)
        self.vocabulary = vocabulary
        self.bounds = bounds
        self.outside = 0  # values outside ``bounds`` (infinities included)
        self.hashed = hashed

    # --- adding a chunk ---------------------------------------------------------------------------

    def add(self, values: Any) -> None:
        """Add one chunk of the column (any array-like; numpy arrays are taken as they are)."""
        import numpy as np

        array = np.asarray(values)
        if array.ndim != 1:
            array = array.reshape(-1)
        self.rows += len(array)
        kind = array.dtype.kind
        if self.dtype is None and len(array):
            self.dtype = "object" if kind in "OUST" else str(array.dtype)
        if kind in "iuf":
            self._add_numbers(array.astype(np.float64, copy=False))
        elif kind == "b":
            trues = int(np.count_nonzero(array))
            self._count({"True": trues, "False": len(array) - trues})
            self.texts += len(array)
        elif kind in "mM":
            self._add_datetimes(array)
        else:
            self._add_objects(array)

    def _add_numbers(self, x: np.ndarray) -> None:
        import numpy as np

        nan = np.isnan(x)
        n_missing = int(np.count_nonzero(nan))
        self.missing += n_missing
        present = x[~nan] if n_missing else x
        if not len(present):
            return
        self.numbers += len(present)
        finite_mask = np.isfinite(present)
        finite = present if finite_mask.all() else present[finite_mask]
        if len(finite) != len(present):
            self.posinf += int(np.count_nonzero(present == np.inf))
            self.neginf += int(np.count_nonzero(present == -np.inf))
        if self.bin_counts is not None:
            self.bin_counts += np.bincount(np.searchsorted(self.edges, present, side="right"), minlength=len(self.bin_counts))
        if self.bounds is not None:
            self.outside += int(np.count_nonzero((present < self.bounds[0]) | (present > self.bounds[1])))
        if self.numeric_keys:
            self._track_numbers(present)
        if not len(finite):
            return
        if self.shift is None:
            self.shift = float(finite[0])
        centred = finite - self.shift
        self.sum += float(centred.sum())
        self.sum_sq += float(np.dot(centred, centred))
        self.finite += len(finite)
        self.min = min(self.min, float(finite.min()))
        self.max = max(self.max, float(finite.max()))
        self._add_sample(finite)

    def _track_numbers(self, present: np.ndarray) -> None:
        import numpy as np

        distinct, counts = np.unique(present, return_counts=True)
        known = sum(1 for key in self.counts if key not in ("True", "False"))
        if len(distinct) + known > NUMERIC_TRACK_CAP and self.vocabulary is None:
            self._drop_numeric_keys()
            return
        self._count({canonical(value): int(count) for value, count in zip(distinct.tolist(), counts.tolist(), strict=True)})

    def _drop_numeric_keys(self) -> None:
        """Too many distinct numbers to be categories: stop counting them (the column is numeric or mixed)."""
        self.numeric_keys = False
        if self.texts == 0:
            self.counts.clear()

    def _add_sample(self, finite: np.ndarray) -> None:
        """Keep a uniform sample: every value gets a random key, the ``sample_cap`` smallest keys stay.

        Keys are independent of the values, so they are drawn only once the cap is first passed
        (a column that fits keeps all its values and never pays for keys). The values are copied:
        a view would keep the reader's whole chunk alive.
        """
        import numpy as np

        self._sample.append(np.array(finite, dtype=np.float64, copy=True))
        if self._keys:
            self._keys.append(self._rng.random(len(finite)))
        self._kept += len(finite)
        if self._kept > self.sample_cap + max(len(finite), self.sample_cap // 4):
            self._shrink()

    def _shrink(self) -> None:
        import numpy as np

        values = np.concatenate(self._sample)
        if len(values) <= self.sample_cap:
            self._sample, self._kept = [values], len(values)
            return
        keys = np.concatenate(self._keys) if self._keys else self._rng.random(len(values))
        keep = np.argpartition(keys, self.sample_cap - 1)[: self.sample_cap]
        self._sample, self._keys, self._kept = [values[keep]], [keys[keep]], self.sample_cap

    def _add_datetimes(self, array: np.ndarray) -> None:
        import numpy as np

        nat = np.isnat(array)
        self.missing += int(np.count_nonzero(nat))
        present = array[~nat]
        if not len(present):
            return
        self.datetimes += len(present)
        low, high = present.min(), present.max()
        self.dt_min = low if self.dt_min is None else min(self.dt_min, low)
        self.dt_max = high if self.dt_max is None else max(self.dt_max, high)

    def _add_objects(self, array: np.ndarray) -> None:
        """Objects and strings: count them first (fast in C), then sort the few distinct values into missing, numbers and text."""
        import numpy as np

        items = array.tolist()
        counted = Counter(items)
        if any(isinstance(key, bool) or (_is_number(key) and key in (0, 1)) for key in counted if not isinstance(key, str)):
            # True == 1 and False == 0 share a Counter key: count the booleans apart (only when both could be there)
            counted = Counter((type(value) is bool, value) for value in items)
            counted = Counter({(str(value) if is_bool else value): count for (is_bool, value), count in counted.items()})
        numbers: list[float] = []
        repeats: list[int] = []
        texts: dict[str, int] = {}
        for value, count in counted.items():
            if _is_missing(value):
                self.missing += count
            elif _is_number(value):
                numbers.append(float(value))
                repeats.append(count)
            else:
                key = value if isinstance(value, str) else canonical(value)
                texts[key] = texts.get(key, 0) + count
        if numbers:
            self._add_numbers(np.repeat(np.asarray(numbers, dtype=np.float64), repeats))
        if texts:
            self.texts += sum(texts.values())
            self._count(texts)

    def _count(self, keys: dict[str, int]) -> None:
        """Add value counts; past ``TRACK_CAP`` distinct keys only keys already counted (or in the reference vocabulary) are."""
        if len(self.counts) + len(keys) <= TRACK_CAP:
            self.counts.update(keys)
            return
        for key, count in keys.items():
            if key in self.counts or len(self.counts) < TRACK_CAP or self._in_vocabulary(key):
                self.counts[key] += count
            else:
                self.untracked += count

    def _in_vocabulary(self, key: str) -> bool:
        if self.vocabulary is None:
            return False
        return (hash_key(key) if self.hashed else key) in self.vocabulary

    # --- results ----------------------------------------------------------------------------------

    @property
    def present(self) -> int:
        """Non-missing values."""
        return self.rows - self.missing

    def sample(self) -> np.ndarray:
        """The sampled finite values (all of them when there were at most ``sample_cap``), sorted."""
        import numpy as np

        if not self._sample:
            return np.zeros(0)
        self._shrink()
        return np.sort(self._sample[0])

    @property
    def sampled(self) -> bool:
        """Whether ``sample()`` holds fewer values than the column's finite values."""
        return self.finite > self.sample_cap

    def mean_std(self) -> tuple[float, float]:
        """Mean and (population) standard deviation of the finite values; NaN when there are none."""
        if self.finite == 0 or self.shift is None:
            return math.nan, math.nan
        centred_mean = self.sum / self.finite
        variance = max(self.sum_sq / self.finite - centred_mean**2, 0.0)
        return self.shift + centred_mean, math.sqrt(variance)

    def keyed_counts(self) -> dict[str, int]:
        """The value counts, keys hashed when the accumulator hashes."""
        if not self.hashed:
            return dict(self.counts)
        hashed: dict[str, int] = {}
        for key, count in self.counts.items():
            digest = hash_key(key)
            hashed[digest] = hashed.get(digest, 0) + count
        return hashed
