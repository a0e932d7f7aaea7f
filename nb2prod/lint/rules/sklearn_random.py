"""Which scikit-learn calls draw random numbers with the arguments given (NB402's table).

``random_state`` matters only where the call is random: always for tree ensembles, ``KMeans``,
``TSNE``, ``train_test_split``…; for others only with some arguments (``PCA`` with a randomized
solver, ``LogisticRegression`` with ``sag``/``saga``/``liblinear``, a ``KFold`` that shuffles), and a
decision tree's only breaks ties between equally good splits unless it samples features. An
estimator built inside the arguments of a call that gets a ``random_state`` (a ``BaggingClassifier``'s
base tree) is seeded by it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping

#: scikit-learn callables whose result depends on ``random_state`` with their default arguments.
_SKLEARN_ALWAYS_RANDOM = frozenset(
    {
        "train_test_split", "ShuffleSplit", "StratifiedShuffleSplit", "GroupShuffleSplit", "RepeatedKFold",
        "RepeatedStratifiedKFold", "IsolationForest", "RandomTreesEmbedding", "SGDClassifier", "SGDRegressor",
        "SGDOneClassSVM", "Perceptron", "PassiveAggressiveClassifier", "PassiveAggressiveRegressor", "MLPClassifier",
        "MLPRegressor", "BernoulliRBM", "KMeans", "MiniBatchKMeans", "BisectingKMeans", "SpectralClustering",
        "SpectralBiclustering", "SpectralCoclustering", "GaussianMixture", "BayesianGaussianMixture", "TruncatedSVD",
        "MiniBatchNMF", "FastICA", "TSNE", "MDS", "LatentDirichletAllocation", "DictionaryLearning",
        "MiniBatchDictionaryLearning", "SparsePCA", "MiniBatchSparsePCA", "GaussianRandomProjection",
        "SparseRandomProjection", "RBFSampler", "Nystroem", "SkewedChi2Sampler", "EllipticEnvelope", "MinCovDet",
        "RANSACRegressor", "TheilSenRegressor", "RandomizedSearchCV", "HalvingRandomSearchCV", "permutation_importance",
        "mutual_info_classif", "mutual_info_regression", "resample", "shuffle",
    }
)  # fmt: skip
_SKLEARN_ALWAYS_RANDOM_PREFIXES = ("RandomForest", "ExtraTree", "AdaBoost", "Bagging")
_SHUFFLE_SPLITTERS = ("KFold", "StratifiedKFold", "GroupKFold", "StratifiedGroupKFold", "learning_curve")
_COORDINATE_DESCENT = ("Lasso", "ElasticNet", "LassoCV", "ElasticNetCV", "MultiTaskLasso", "MultiTaskElasticNet")
Condition = Callable[[ast.Call], bool]


def _literal_in(keyword: str, *values: object) -> Condition:
    """Random when ``keyword`` is a literal among ``values`` (a variable there is unknown: not random)."""

    def check(call: ast.Call) -> bool:
        given = keyword_value(call, keyword)
        return isinstance(given, ast.Constant) and any(type(given.value) is type(value) and given.value == value for value in values)

    return check


def _set(*keywords: str) -> Condition:
    """Random when one of ``keywords`` is given and not ``None``."""
    return lambda call: any((given := keyword_value(call, keyword)) is not None and not is_literal(given, None) for keyword in keywords)


def _below_one(keyword: str) -> Condition:
    """Random when ``keyword`` is a number literal below 1 (``subsample=0.8``)."""

    def check(call: ast.Call) -> bool:
        given = keyword_value(call, keyword)
        return isinstance(given, ast.Constant) and isinstance(given.value, (int, float)) and given.value < 1

    return check


def _either(*conditions: Condition) -> Condition:
    return lambda call: any(condition(call) for condition in conditions)


#: Callables that draw random numbers only with some arguments. Without them (the defaults) random_state
#: changes nothing, or only breaks ties between equally good splits (decision trees, gradient boosting).
_SKLEARN_RANDOM_WHEN: Mapping[str, Condition] = {
    **{name: _literal_in("shuffle", True) for name in _SHUFFLE_SPLITTERS},
    "PCA": _literal_in("svd_solver", "randomized", "arpack"),
    "KernelPCA": _literal_in("eigen_solver", "randomized", "arpack"),
    "NMF": _literal_in("init", "random", "nndsvdar"),
    "LogisticRegression": _literal_in("solver", "sag", "saga", "liblinear"),
    "Ridge": _literal_in("solver", "sag", "saga"),
    "RidgeClassifier": _literal_in("solver", "sag", "saga"),
    **{name: _literal_in("selection", "random") for name in _COORDINATE_DESCENT},
    "SVC": _literal_in("probability", True),
    "NuSVC": _literal_in("probability", True),
    "DummyClassifier": _literal_in("strategy", "stratified", "uniform"),
    "HistGradientBoostingClassifier": _literal_in("early_stopping", True),
    "HistGradientBoostingRegressor": _literal_in("early_stopping", True),
    "IterativeImputer": _literal_in("sample_posterior", True),
    **{
        name: _either(_set("max_features"), _literal_in("splitter", "random"))
        for name in ("DecisionTreeClassifier", "DecisionTreeRegressor")
    },
    **{
        name: _either(_set("max_features", "n_iter_no_change"), _below_one("subsample"))
        for name in ("GradientBoostingClassifier", "GradientBoostingRegressor")
    },
}
#: Random by default, but not with ``shuffle=False``.
_SKLEARN_SHUFFLE_DEFAULT = frozenset(
    {"train_test_split", "SGDClassifier", "SGDRegressor", "SGDOneClassSVM", "Perceptron", "PassiveAggressiveClassifier",
     "PassiveAggressiveRegressor", "MLPClassifier", "MLPRegressor", "shuffle"}
)  # fmt: skip


def keyword_value(call: ast.Call, name: str) -> ast.expr | None:
    """The value passed for keyword ``name`` in a call, or None."""
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def is_literal(node: ast.expr | None, value: object) -> bool:
    """Whether ``node`` is the constant ``value`` (``True``, ``False``, ``None``), compared by identity."""
    return isinstance(node, ast.Constant) and node.value is value


def sklearn_random_callable(qualname: str) -> str | None:
    """The callable's short name if it is a scikit-learn callable whose randomness ``random_state`` may control, else None."""
    if not qualname.startswith("sklearn."):
        return None
    last = qualname.rsplit(".", 1)[-1]
    if (
        last in _SKLEARN_ALWAYS_RANDOM
        or last in _SKLEARN_RANDOM_WHEN
        or (last.startswith(_SKLEARN_ALWAYS_RANDOM_PREFIXES) and last[:1].isupper())
        or (qualname.startswith("sklearn.datasets.") and last.startswith("make_"))
    ):
        return last
    return None


def sklearn_call_is_random(last: str, call: ast.Call) -> bool:
    """Whether this call of the scikit-learn callable ``last`` draws random numbers, as far as its literal arguments tell.

    Callables of ``_SKLEARN_RANDOM_WHEN`` are random only when their condition holds; those of
    ``_SKLEARN_SHUFFLE_DEFAULT`` are not random with a literal ``shuffle=False``; the others always are.
    """
    if last in _SKLEARN_RANDOM_WHEN:
        return _SKLEARN_RANDOM_WHEN[last](call)
    return not (last in _SKLEARN_SHUFFLE_DEFAULT and is_literal(keyword_value(call, "shuffle"), False))


def seeded_by_outer(calls: list[ast.Call]) -> set[int]:
    """Calls made inside the arguments of a call that gets a random_state: the ensemble seeds its base estimator."""
    inner: set[int] = set()
    for call in calls:
        state = keyword_value(call, "random_state")
        if state is None or is_literal(state, None):
            continue
        for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
            inner.update(id(node) for node in ast.walk(argument) if isinstance(node, ast.Call))
    return inner
