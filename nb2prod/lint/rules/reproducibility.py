"""NB4 — ML reproducibility: randomness and inputs that make a rerun give other results."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping

from ..context import LintContext
from ..rule import Hit, Rule, RuleDoc, Severity
from .portability import _ABSOLUTE_PATH, cell_column, shorten
from .sklearn_random import is_literal, keyword_value, seeded_by_outer, sklearn_call_is_random, sklearn_random_callable

_STDLIB_DRAWS = (
    "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform", "triangular", "gauss",
    "normalvariate", "lognormvariate", "betavariate", "gammavariate", "expovariate", "paretovariate", "weibullvariate",
    "vonmisesvariate", "binomialvariate", "getrandbits", "randbytes",
)  # fmt: skip
_NUMPY_DRAWS = (
    "rand", "randn", "randint", "random", "random_sample", "random_integers", "ranf", "sample", "choice", "bytes",
    "shuffle", "permutation", "normal", "standard_normal", "uniform", "binomial", "negative_binomial", "poisson",
    "beta", "gamma", "standard_gamma", "exponential", "standard_exponential", "lognormal", "laplace", "logistic",
    "gumbel", "geometric", "hypergeometric", "multinomial", "multivariate_normal", "dirichlet", "chisquare",
    "noncentral_chisquare", "f", "noncentral_f", "standard_t", "standard_cauchy", "pareto", "power", "rayleigh",
    "triangular", "vonmises", "wald", "weibull", "zipf", "logseries",
)  # fmt: skip
_TORCH_DRAWS = (
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "normal", "bernoulli", "multinomial", "poisson",
)  # fmt: skip
_TF_DRAWS = ("normal", "uniform", "shuffle", "truncated_normal", "categorical", "gamma", "poisson", "stateless_binomial")

#: Qualified name of a call that draws from a family's global generator -> the family.
DRAWS: Mapping[str, str] = {
    **{f"random.{name}": "random" for name in _STDLIB_DRAWS},
    **{f"numpy.random.{name}": "numpy" for name in _NUMPY_DRAWS},
    **{f"torch.{name}": "torch" for name in _TORCH_DRAWS},
    **{f"tensorflow.random.{name}": "tensorflow" for name in _TF_DRAWS if not name.startswith("stateless")},
    **{f"tensorflow.{name}": "tensorflow" for name in ("random_normal", "random_uniform", "random_shuffle", "truncated_normal")},
}
#: Constructors of generators that are seeded by their own argument only -> the family.
GENERATORS: Mapping[str, str] = {
    **{f"numpy.random.{name}": "numpy" for name in ("default_rng", "RandomState", "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")},
    "random.Random": "random",
}
_SEEDS: Mapping[str, tuple[str, ...]] = {
    "random.seed": ("random",),
    "numpy.random.seed": ("numpy",),
    "torch.manual_seed": ("torch",),
    "torch.random.manual_seed": ("torch",),
    "tensorflow.random.set_seed": ("tensorflow",),
    "tensorflow.set_random_seed": ("tensorflow",),
    "tensorflow.compat.v1.set_random_seed": ("tensorflow",),
    "tensorflow.keras.utils.set_random_seed": ("random", "numpy", "tensorflow"),
    "keras.utils.set_random_seed": ("random", "numpy", "tensorflow"),
}
#: Packages a draw can come from: without one of them imported there is nothing to report.
_RANDOM_PACKAGES = frozenset(name.split(".")[0] for name in (*DRAWS, *GENERATORS))
_SEED_HINTS: Mapping[str, str] = {
    "random": "call random.seed(SEED) once, near the top",
    "numpy": "call numpy.random.seed(SEED) once, near the top, or draw from numpy.random.default_rng(SEED)",
    "torch": "call torch.manual_seed(SEED) once, near the top",
    "tensorflow": "call tf.random.set_seed(SEED) once, near the top",
}


_ALL_FAMILIES = ("random", "numpy", "torch", "tensorflow")
_FAMILY_ROOTS: Mapping[str, str] = {"random": "random", "numpy": "numpy", "torch": "torch", "tensorflow": "tensorflow"}


def seeded_families(qualname: str) -> tuple[str, ...]:
    """The random families a seeding call with this qualified (or plain) name seeds (empty if it is no seeding call).

    Besides the libraries' own calls (``random.seed``, ``np.random.seed``, ``torch.manual_seed``…),
    a seed is often set through a helper: ``transformers.set_seed``, ``accelerate.utils.set_seed``,
    ``lightning.seed_everything``, ``keras.utils.set_random_seed``, a project's own
    ``utils.seed_everything(42)`` or a ``set_seed`` defined in the notebook. Any call whose last name
    contains ``seed`` counts as seeding every family, except calls inside a family's own package
    (``torch.cuda.manual_seed_all``), which seed that family. ``sklearn.utils.check_random_state(SEED)``
    makes the seeded generator scikit-learn code draws from, so it counts for numpy.
    """
    if qualname in _SEEDS:
        return _SEEDS[qualname]
    root, last = qualname.split(".")[0], qualname.rsplit(".", 1)[-1].lower()
    if qualname == "sklearn.utils.check_random_state" or (root == "sklearn" and last == "check_random_state"):
        return ("numpy",)
    if "seed" not in last:
        return ()
    if root in _FAMILY_ROOTS:
        return (_FAMILY_ROOTS[root],)
    return _ALL_FAMILIES


def has_seed(call: ast.Call, keywords: tuple[str, ...] = ("seed", "a", "x")) -> bool:
    """Whether a seeding call or generator constructor gets a seed that is not ``None`` (unknowable forms count)."""
    if any(keyword.arg is None for keyword in call.keywords):
        return True  # **kwargs
    given = [call.args[0]] if call.args else [keyword.value for keyword in call.keywords if keyword.arg in keywords]
    return any(not (isinstance(value, ast.Constant) and value.value is None) for value in given)


def _imports_any(ctx: LintContext, packages: frozenset[str]) -> bool:
    return any(target.split(".")[0] in packages for target in ctx.aliases.values())


#: Last names of calls that only show what they are given: a draw made for them changes no result.
_DISPLAY_SINKS = frozenset(
    {
        "print", "display", "DataFrame", "Series", "plot", "scatter", "hist", "hist2d", "imshow", "matshow", "bar", "barh",
        "pcolormesh", "pcolor", "contour", "contourf", "heatmap", "histplot", "scatterplot", "lineplot", "kdeplot",
        "boxplot", "violinplot", "plot_surface", "fill_between", "errorbar", "pie", "stem", "step", "quiver", "Image",
    }
)  # fmt: skip


def _display_only(ctx: LintContext, index: int, calls: list[ast.Call]) -> set[int]:
    """Ids of the calls of a cell whose result is only shown: inside a print, display, plot or DataFrame call, or the cell's shown value."""
    shown: set[int] = set()
    for call in calls:
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in _DISPLAY_SINKS:
            for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
                shown.update(id(node) for node in ast.walk(argument) if isinstance(node, ast.Call))
    tree = ctx.trees.get(index)
    last = tree.body[-1] if tree is not None and tree.body else None
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
        func = last.value.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name != "shuffle":  # shuffle works in place
            shown.add(id(last.value))  # the value the cell shows: `np.random.rand(3, 4)`, `random.choice(pairs)`
    return shown


def check_unseeded_random(ctx: LintContext) -> Iterator[Hit]:
    """NB401: the first unseeded draw per family (random, numpy, torch, tensorflow) whose result is used, not only shown."""
    if not ctx.is_python or not _imports_any(ctx, _RANDOM_PACKAGES):
        return
    seeded: set[str] = set()
    candidates: list[tuple[int, ast.Call, str, bool]] = []  # (cell, call, family, is a generator)
    for index, calls in sorted(ctx.calls.items()):
        shown: set[int] | None = None  # computed for a cell only when it draws
        for call in calls:
            qualname = ctx.qualified_name(call.func)
            if qualname is None:
                func = call.func
                last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if "seed" in last.lower() and has_seed(call):
                    seeded.update(seeded_families(ast.unparse(func)))  # a helper defined in the notebook
                continue
            if qualname in GENERATORS or qualname in DRAWS:
                shown = _display_only(ctx, index, calls) if shown is None else shown
                if id(call) in shown:
                    continue  # `print(random.choice(pairs))`, `plt.imshow(np.random.rand(8, 8))`: nothing depends on it
            if qualname in GENERATORS and not has_seed(call):
                candidates.append((index, call, GENERATORS[qualname], True))
            elif qualname in DRAWS and not any(keyword.arg in ("seed", "generator") for keyword in call.keywords):
                candidates.append((index, call, DRAWS[qualname], False))
            elif has_seed(call):
                seeded.update(seeded_families(qualname))
    reported: set[str] = set()
    for index, call, family, generator in candidates:
        if family in reported or (family in seeded and not generator):
            continue
        reported.add(family)
        shown = ast.unparse(call.func)
        if generator:
            message = f"'{shown}()' makes a generator with no seed (a global seed does not cover it): pass one, e.g. {shown}(SEED)"
        else:
            message = f"'{shown}' draws random numbers but {family} is never seeded: {_SEED_HINTS[family]}"
        yield Hit(index, message, call.lineno, cell_column(ctx, index, call))


# --- NB402 ------------------------------------------------------------------------------------------


def check_sklearn_random_state(ctx: LintContext) -> Iterator[Hit]:
    """NB402: scikit-learn calls that draw random numbers without ``random_state`` (or with ``None``)."""
    if not ctx.is_python or not _imports_any(ctx, frozenset({"sklearn"})):
        return
    for index, calls in sorted(ctx.calls.items()):
        seeded = seeded_by_outer(calls)
        for call in calls:
            qualname = ctx.qualified_name(call.func)
            last = sklearn_random_callable(qualname) if qualname else None
            if last is None or any(keyword.arg is None for keyword in call.keywords):
                continue  # not ours, or **kwargs may carry random_state
            if id(call) in seeded or not sklearn_call_is_random(last, call):
                continue
            state = keyword_value(call, "random_state")
            if state is not None and not is_literal(state, None):
                continue
            how = "with random_state=None" if state is not None else "without random_state"
            yield Hit(
                index,
                f"'{ast.unparse(call.func)}' is called {how}: pass random_state=SEED so every run gives the same result",
                call.lineno,
                cell_column(ctx, index, call),
            )


# --- NB403 ------------------------------------------------------------------------------------------

_READERS = frozenset(
    {
        "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile", "urllib.request.urlopen",
        "urllib.request.urlretrieve", "requests.get", "joblib.load", "torch.load", "datasets.load_dataset", "io.open",
        "gzip.open", "bz2.open", "lzma.open",
    }
)  # fmt: skip
_OPENERS = frozenset({"open", "io.open", "gzip.open", "bz2.open", "lzma.open"})
#: pandas/polars readers whose first argument is a query or nothing, not a location.
_NOT_LOCATION_READERS = frozenset(
    {"read_sql", "read_sql_query", "read_sql_table", "read_gbq", "read_clipboard", "read_database", "read_database_uri"}
)
_PATH_KEYWORDS = ("filepath_or_buffer", "path", "fname", "file", "filename", "f", "io", "url", "source", "path_or_buf", "data_files")
_REMOTE = re.compile(r"^(?:https?|s3a?|gs|gcs|abfss?|az|hdfs|ftp)://", re.IGNORECASE)
_ABSOLUTE = re.compile(r"^(?:/|~[/\\]|[A-Za-z]:[\\/]|\\\\)")


def reader_name(ctx: LintContext, call: ast.Call) -> str | None:
    """The qualified name of a call that reads data (``pandas.read_csv``, ``open``…), else None."""
    func = call.func
    if isinstance(func, ast.Name) and func.id == "open" and "open" not in ctx.aliases:
        return "open"
    qualname = ctx.qualified_name(func)
    if qualname is None:
        return None
    root, last = qualname.split(".")[0], qualname.rsplit(".", 1)[-1]
    if qualname in _READERS or (root in ("pandas", "polars") and last.startswith(("read_", "scan_")) and last not in _NOT_LOCATION_READERS):
        return qualname
    return None


def _opens_for_writing(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else keyword_value(call, "mode")
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(flag in mode.value for flag in "wax")


def _path_literals(call: ast.Call) -> Iterator[tuple[ast.expr, str]]:
    candidates = [call.args[0]] if call.args else []
    candidates += [keyword.value for keyword in call.keywords if keyword.arg in _PATH_KEYWORDS]
    for node in candidates:
        items = node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else node.values if isinstance(node, ast.Dict) else [node]
        for item in items:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                yield item, item.value
            elif isinstance(item, ast.JoinedStr) and item.values and isinstance(item.values[0], ast.Constant):
                yield item, str(item.values[0].value)


def _display(value: str) -> str:
    shown = re.sub(r"^([A-Za-z0-9+.-]+://)[^/@]*@", r"\1", value).split("?")[0].split("#")[0] if _REMOTE.match(value) else value
    return shorten(shown)


#: Storage that only the author's account can read: its content is not what a URL's reader sees.
_PRIVATE_STORAGE = re.compile(r"^(?:s3a?|gs|gcs|abfss?|az|hdfs|dbfs)://", re.IGNORECASE)


def _unrecorded(value: str) -> str | None:
    """What kind of unrecorded input a literal is: "storage URL", "absolute path", or None.

    Public web URLs (``https://raw.githubusercontent.com/…``, a tutorial's dataset) name the same
    data for everyone: a parameter adds nothing. Home directories (``/home/…``, ``~/…``, ``C:\\…``)
    are NB301's; NB403 reports the other absolute paths (``/kaggle/input/…``, ``/data/…``, ``/mnt/…``)
    and private storage (``s3://``, ``gs://``, ``abfs://``, ``hdfs://``, ``dbfs://``).
    """
    if _PRIVATE_STORAGE.match(value):
        return "storage URL"
    if _ABSOLUTE.match(value) and not _ABSOLUTE_PATH.match(value):
        return "absolute path"
    return None


def check_unrecorded_data_source(ctx: LintContext) -> Iterator[Hit]:
    """NB403: a data-reading call whose path is a literal URL or absolute path outside the ``parameters`` cell."""
    if not ctx.is_python:
        return
    for cell in ctx.code_cells():
        if "parameters" in cell.roles:
            continue
        for call in ctx.calls.get(cell.index, ()):
            name = reader_name(ctx, call)
            if name is None or (name in _OPENERS and _opens_for_writing(call)):
                continue
            for node, value in _path_literals(call):
                where = _unrecorded(value)
                if where:
                    yield Hit(
                        cell.index,
                        f"'{ast.unparse(call.func)}' reads the hard-coded {where} '{_display(value)}': make it a parameter "
                        "(in the `parameters` cell) so each run records its input",
                        node.lineno,
                        cell_column(ctx, cell.index, node),
                    )
                    break


RULES: tuple[Rule, ...] = (
    Rule(
        "NB401",
        "unseeded-random",
        Severity.WARNING,
        "random numbers drawn with no seed set anywhere in the notebook",
        check_unseeded_random,
        RuleDoc(
            what="Calls that draw random numbers from `random`, `numpy.random`, `torch` or `tensorflow.random` when no "
            "cell seeds that library, and generators (`numpy.random.default_rng()`, `RandomState()`, `random.Random()`) "
            "made without a seed. The first such call per library is reported.",
            why="Each run samples, shuffles and initialises differently: metrics move between runs, a rerun cannot "
            "confirm a result, and a regression cannot be told apart from noise.",
            bad="import numpy as np\nnoise = np.random.randn(100)",
            good="import numpy as np\nrng = np.random.default_rng(42)\nnoise = rng.standard_normal(100)",
            fix="Seed once near the top (`random.seed`, `np.random.seed`, `torch.manual_seed`, `tf.random.set_seed`, or "
            "a helper for all at once: `transformers.set_seed`, `accelerate.utils.set_seed`, `lightning.seed_everything`, "
            "`keras.utils.set_random_seed`, your own `set_seed(SEED)`), preferably from a parameter, or pass a seed to "
            "the generator. Not auto-fixable.",
            limits="Heuristic: draws whose result is only shown are not reported (inside `print`, `display`, a plot "
            "call or `pd.DataFrame(...)`, or the value a cell shows, like `np.random.rand(3, 4)` alone). Calls are "
            "recognised through the notebook's "
            "imports only, so draws through objects "
            "(`rng.random()`), `from random import *`, weight initialisation inside model constructors and other "
            "libraries are not seen. Where in the notebook the seed is set does not matter. Any call whose name "
            "contains `seed` (`set_seed(42)`, `seed_everything(SEED)`, a helper of the project) counts as seeding every "
            "library, whatever it really does. A seed call with no argument or `None` does not count as a seed.",
        ),
    ),
    Rule(
        "NB402",
        "sklearn-no-random-state",
        Severity.WARNING,
        "a scikit-learn callable that takes random_state is called without one",
        check_sklearn_random_state,
        RuleDoc(
            what="Calls of scikit-learn splitters, estimators, decompositions, searches and dataset generators that "
            "draw random numbers with the arguments given, without `random_state` or with `random_state=None`. A table "
            "says which: always random by default (`train_test_split` unless `shuffle=False`, tree ensembles and "
            "decision trees, `KMeans`, `GaussianMixture`, `TSNE`, `TruncatedSVD`, `MLPClassifier`, `SGDClassifier`, "
            "`RandomizedSearchCV`, `make_*` dataset generators…), and random only with some arguments: `KFold` and "
            "friends with `shuffle=True`, `PCA` with `svd_solver='randomized'` or `'arpack'`, `LogisticRegression` with "
            "`solver='sag'`, `'saga'` or `'liblinear'`, `Lasso`/`ElasticNet` with `selection='random'`, `SVC` with "
            "`probability=True`, `NMF` with `init='random'`, `HistGradientBoosting*` with `early_stopping=True`…",
            why="With no random_state each run splits the data and fits the model differently, so scores change from "
            "run to run and a reported metric cannot be reproduced.",
            bad="from sklearn.model_selection import train_test_split\nX_train, X_test = train_test_split(X)",
            good="from sklearn.model_selection import train_test_split\nX_train, X_test = train_test_split(X, random_state=42)",
            fix="Pass `random_state=SEED` (an int, ideally a parameter). Not auto-fixable.",
            limits="Calls passing `**kwargs` are skipped (random_state may be in them); an argument that decides "
            "randomness must be a literal to count (`PCA(svd_solver=solver)` is not reported). Randomness that depends "
            "on the data is not known: `PCA()` and `HistGradientBoosting*()` become random on large data (`svd_solver="
            "'auto'`, `early_stopping='auto'`) and are not reported. A global `np.random.seed` makes such calls "
            "repeatable in a fixed call order, but they are still reported.",
        ),
    ),
    Rule(
        "NB403",
        "unrecorded-data-source",
        Severity.INFO,
        "data read from a URL or absolute path that is not a parameter",
        check_unrecorded_data_source,
        RuleDoc(
            what="Data-reading calls (`pandas.read_*`, `polars.read_*`/`scan_*`, `numpy.load`/`loadtxt`/`genfromtxt`, "
            "`open`, `requests.get`, `urlopen`, `joblib.load`, `torch.load`, `datasets.load_dataset`) whose path is a "
            "literal private storage URL (`s3://`, `gs://`, `abfs://`, `hdfs://`, `dbfs://`) or an absolute path outside "
            "home directories (`/kaggle/input/…`, `/data/…`, `/mnt/…`), outside the `parameters` cell. Public web URLs "
            "(`https://…`, a tutorial's dataset) are not reported: they name the same data for everyone. Home "
            "directories (`/home/…`, `~/…`, `C:\\…`) are NB301's.",
            why="The input of a run is hidden in the code: a run record cannot say which data produced the results, "
            "and pointing the notebook at other data means editing it.",
            bad='import pandas as pd\ndf = pd.read_csv("s3://churn-data/train.csv")',
            good='import pandas as pd\n# parameters cell: DATA_URL = "s3://churn-data/train.csv"\ndf = pd.read_csv(DATA_URL)',
            fix="Move the location into the `parameters` cell and pass the name to the reader. Not auto-fixable.",
            limits="Only literal first arguments (or path keywords) of the listed readers; paths built in another "
            "statement are not followed. Relative paths are not reported; files opened for writing are not reads.",
        ),
    ),
)
