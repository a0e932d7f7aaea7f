"""NB4 rules: unseeded randomness, scikit-learn without random_state, data read from hard-coded locations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from lint_helpers import AWKWARD_FRAGMENTS, assert_hits_inside, cell_sources

from nb2prod.lint.context import LintContext
from nb2prod.lint.rule import Hit, Rule
from nb2prod.lint.rules.reproducibility import RULES, seeded_families, sklearn_random_callable
from nb2prod.notebook import read_notebook

DATA = Path(__file__).parent.parent / "data" / "lint"
BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
Where = tuple[int | None, int | None, int | None]
DRAW_EACH = "random.random(); np.random.rand(); torch.rand(1)"


def hits(ctx: LintContext, code: str) -> list[Hit]:
    """Run one rule over a context."""
    return list(BY_CODE[code].check(ctx))


def where(found: list[Hit]) -> list[Where]:
    """(cell, line, column) of each hit."""
    return [(hit.cell_index, hit.line, hit.column) for hit in found]


# --- fixtures on disk ---------------------------------------------------------------------------

FIXTURE_CASES = [
    ("nb401_unseeded_random", "NB401", [(1, 1, 5), (2, 1, 1)]),
    ("nb401_clean", "NB401", []),
    ("nb401_seed_set_through_helpers", "NB401", []),
    ("nb402_default_solvers_not_random", "NB402", []),
    ("nb402_sklearn_no_random_state", "NB402", [(1, 1, 36), (2, 1, 6), (2, 2, 9)]),
    ("nb402_clean", "NB402", []),
    ("nb403_unrecorded_data_source", "NB403", [(2, 1, 11)]),
    ("nb403_public_dataset_urls_not_reported", "NB403", []),
    ("nb401_display_only_draws_not_reported", "NB401", []),
    ("nb403_clean", "NB403", []),
]


@pytest.mark.parametrize(("name", "code", "expected"), FIXTURE_CASES, ids=[case[0] for case in FIXTURE_CASES])
def test_fixture_notebooks(name: str, code: str, expected: list[Where]) -> None:
    ctx = LintContext(read_notebook(DATA / f"{name}.ipynb"))
    assert where(hits(ctx, code)) == expected


# --- NB401 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["import random\nx = random.random()"], [(0, 2, 5)]),
        (["import random as rnd\nrnd.shuffle(items)"], [(0, 2, 1)]),
        (["from random import shuffle\nshuffle(items)"], [(0, 2, 1)]),
        (["import numpy as np\nx = np.random.rand(3)"], [(0, 2, 5)]),
        (["import numpy\nx = numpy.random.normal(size=3)"], [(0, 2, 5)]),
        (["from numpy.random import rand\nx = rand(3)"], [(0, 2, 5)]),
        (["import numpy.random as npr\nx = npr.choice(items)"], [(0, 2, 5)]),
        (["from numpy import random\np = random.permutation(10)"], [(0, 2, 5)]),
        (["import torch\nw = torch.randn(3, 3)"], [(0, 2, 5)]),
        (["import torch\nidx = torch.randperm(10)"], [(0, 2, 7)]),
        (["import tensorflow as tf\nx = tf.random.normal([3])"], [(0, 2, 5)]),
        (["import numpy as np\nrng = np.random.default_rng()"], [(0, 2, 7)]),
        (["import numpy as np\nrng = np.random.default_rng(None)"], [(0, 2, 7)]),
        (["import numpy as np\nrs = np.random.RandomState()"], [(0, 2, 6)]),
        (["import random\nr = random.Random()"], [(0, 2, 5)]),
        # one finding per family, the first in notebook order
        (["import numpy as np", "a = np.random.rand(1)\nb = np.random.rand(2)", "c = np.random.rand(3)"], [(1, 1, 5)]),
        (
            ["import numpy as np, random, torch", "x = torch.rand(1)", "y = np.random.rand(1)\nz = random.random()"],
            [(1, 1, 5), (2, 1, 5), (2, 2, 5)],
        ),
        # columns count characters
        (["import numpy as np\né = 1; x = np.random.rand(3)"], [(0, 2, 12)]),
        # a kept %time statement is code; the column is the cell's
        (["import numpy as np\n%time x = np.random.rand(3)"], [(0, 2, 11)]),
    ],
)
def test_unseeded_random(context_for: Callable[..., LintContext], cells: list[str], expected: list[Where]) -> None:
    assert where(hits(context_for(cells), "NB401")) == expected


@pytest.mark.parametrize(
    "cells",
    [
        ["import random\nrandom.seed(0)\nx = random.random()"],
        ["import random\nx = random.random()", "random.seed(0)"],  # the seed may come anywhere
        ["import numpy as np\nx = np.random.rand(3)", "np.random.seed(42)"],
        ["from numpy.random import seed, rand\nseed(1)\nx = rand(3)"],
        ["import numpy as np\nrng = np.random.default_rng(42)\nx = rng.normal(size=3)"],
        ["import numpy as np\nrng = np.random.default_rng(seed=SEED)\nx = rng.integers(10)"],
        ["import numpy as np\nrs = np.random.RandomState(0)\nx = rs.rand(3)"],
        ["import random\nr = random.Random(7)\nx = r.random()"],
        ["import torch\ntorch.manual_seed(0)\nw = torch.randn(3)"],
        ["import tensorflow as tf\ntf.random.set_seed(0)\nx = tf.random.uniform([3])"],
        ["import tensorflow as tf\nx = tf.random.uniform([3], seed=1)"],
        ["import torch\nw = torch.randn(3, generator=g)"],
        [
            "import random, numpy as np, tensorflow as tf",
            "tf.keras.utils.set_random_seed(1)",
            "random.random(); np.random.rand(); tf.random.normal([1])",
        ],
        ["import random, numpy as np, torch\nfrom lightning import seed_everything", "seed_everything(1)", DRAW_EACH],
        ["import random, numpy as np, torch\nimport pytorch_lightning as pl", "pl.seed_everything(1)", DRAW_EACH],
        ["import random, numpy as np, torch\nfrom transformers import set_seed", "set_seed(1)", DRAW_EACH],
        ["x = rand(3)\ny = random.random()"],  # not imported: nothing is known about these names
        ["import numpy as np\nx = np.random.default_rng(0).normal()"],
        ["import numpy as np\nnp.random.seed(**cfg)\nnp.random.rand()"],
    ],
)
def test_seeded_or_no_draw(context_for: Callable[..., LintContext], cells: list[str]) -> None:
    assert hits(context_for(cells), "NB401") == []


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # a seeded generator does not seed numpy's global functions
        (["import numpy as np\nrng = np.random.default_rng(0)\nx = np.random.rand(3)"], [(0, 3, 5)]),
        # the global seed does not seed a generator made without one
        (["import numpy as np\nnp.random.seed(0)\nrng = np.random.default_rng()"], [(0, 3, 7)]),
        (["import random\nrandom.seed(0)\nr = random.Random()"], [(0, 3, 5)]),
        # seeding one family does not seed another
        (["import numpy as np, torch\ntorch.manual_seed(0)\nx = np.random.rand(3)"], [(0, 3, 5)]),
        # a seed call without a seed (or with None) seeds from the clock
        (["import random\nrandom.seed()\nx = random.random()"], [(0, 3, 5)]),
        (["import numpy as np\nnp.random.seed(None)\nx = np.random.rand()"], [(0, 3, 5)]),
        (["import random\nfrom lightning import seed_everything\nseed_everything()\nx = random.random()"], [(0, 4, 5)]),
    ],
)
def test_seed_scope(context_for: Callable[..., LintContext], cells: list[str], expected: list[Where]) -> None:
    assert where(hits(context_for(cells), "NB401")) == expected


def test_unseeded_random_messages(context_for: Callable[..., LintContext]) -> None:
    ctx = context_for(["import numpy as np, torch\nx = np.random.rand(3)\nrng = np.random.default_rng()\nw = torch.rand(2)"])
    draw, torch_draw = hits(ctx, "NB401")
    assert draw.message.startswith("'np.random.rand' draws random numbers but numpy is never seeded")
    assert "numpy.random.seed(SEED)" in draw.message
    assert "torch.manual_seed(SEED)" in torch_draw.message
    ctx = context_for(["import numpy as np\nnp.random.seed(0)\nrng = np.random.default_rng()"])
    [generator] = hits(ctx, "NB401")
    assert generator.message.startswith("'np.random.default_rng()' makes a generator with no seed")


@pytest.mark.parametrize(
    "seeding",
    [
        "from accelerate.utils import set_seed\nset_seed(42)",
        "import accelerate\naccelerate.utils.set_seed(SEED)",
        "def seed_everything(seed):\n    pass\n\nseed_everything(42)",  # the notebook's own helper
        "import helpers\nhelpers.seed_all(SEED)",
        "import tensorflow as tf\ntf.keras.utils.set_random_seed(1)",
        "import lightning as L\nL.seed_everything(3)",
    ],
)
def test_seed_set_through_a_helper(context_for: Callable[..., LintContext], seeding: str) -> None:
    """NB401 is not reported when a helper (library or the project's own) sets the seed."""
    assert hits(context_for([seeding, "import numpy as np\nnoise = np.random.randn(10)"]), "NB401") == []


def test_helper_without_seed_still_reported(context_for: Callable[..., LintContext]) -> None:
    """What NB401 still finds: a helper called without a seed seeds nothing."""
    ctx = context_for(["from accelerate.utils import set_seed\nset_seed(None)", "import numpy as np\nnoise = np.random.randn(10)"])
    assert where(hits(ctx, "NB401")) == [(1, 2, 9)]


@pytest.mark.parametrize(
    ("qualname", "families"),
    [
        ("random.seed", ("random",)),
        ("numpy.random.seed", ("numpy",)),
        ("torch.manual_seed", ("torch",)),
        ("tensorflow.random.set_seed", ("tensorflow",)),
        ("tensorflow.keras.utils.set_random_seed", ("random", "numpy", "tensorflow")),
        ("lightning.pytorch.seed_everything", ("random", "numpy", "torch", "tensorflow")),
        ("pytorch_lightning.utilities.seed.seed_everything", ("random", "numpy", "torch", "tensorflow")),
        ("transformers.set_seed", ("random", "numpy", "torch", "tensorflow")),
        ("accelerate.utils.set_seed", ("random", "numpy", "torch", "tensorflow")),
        ("keras.utils.set_random_seed", ("random", "numpy", "tensorflow")),
        ("sklearn.utils.check_random_state", ("numpy",)),
        ("torch.cuda.manual_seed_all", ("torch",)),
        ("seed_everything", ("random", "numpy", "torch", "tensorflow")),  # a helper defined in the notebook
        ("mylib.set_seed", ("random", "numpy", "torch", "tensorflow")),
        ("numpy.random.rand", ()),
        ("mylib.train", ()),
    ],
)
def test_seeded_families(qualname: str, families: tuple[str, ...]) -> None:
    assert seeded_families(qualname) == families


# --- NB402 --------------------------------------------------------------------------------------

IMPORTS = (
    "from sklearn.model_selection import train_test_split, KFold, StratifiedKFold, GroupKFold, ShuffleSplit, RandomizedSearchCV\n"
    "from sklearn.ensemble import RandomForestClassifier, HistGradientBoostingRegressor\n"
    "from sklearn.cluster import KMeans\nfrom sklearn.decomposition import PCA\nfrom sklearn.manifold import TSNE\n"
    "from sklearn.datasets import make_classification\nfrom sklearn.utils import resample, shuffle\n"
    "from sklearn.pipeline import make_pipeline\nfrom sklearn.linear_model import LogisticRegression\n"
    "from sklearn.inspection import permutation_importance\nimport sklearn\nfrom sklearn import tree as sktree"
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("X_tr, X_te = train_test_split(X)", [(1, 1, 14)]),
        ("X_tr, X_te = train_test_split(X, random_state=None)", [(1, 1, 14)]),
        ("m = RandomForestClassifier(n_estimators=10)", [(1, 1, 5)]),
        ("m = HistGradientBoostingRegressor(early_stopping=True)", [(1, 1, 5)]),
        ("p = PCA(n_components=2, svd_solver='randomized')", [(1, 1, 5)]),
        ("p = PCA(svd_solver='arpack', random_state=None)", [(1, 1, 5)]),
        ("m = LogisticRegression(solver='saga')", [(1, 1, 5)]),
        ("m = KMeans(n_clusters=3)", [(1, 1, 5)]),
        ("e = TSNE()", [(1, 1, 5)]),
        ("X, y = make_classification(n_samples=100)", [(1, 1, 8)]),
        ("Xb = resample(X)", [(1, 1, 6)]),
        ("Xs = shuffle(X)", [(1, 1, 6)]),
        ("cv = ShuffleSplit(n_splits=3)", [(1, 1, 6)]),
        ("cv = KFold(n_splits=5, shuffle=True)", [(1, 1, 6)]),
        ("cv = StratifiedKFold(shuffle=True, random_state=None)", [(1, 1, 6)]),
        ("cv = GroupKFold(n_splits=3, shuffle=True)", [(1, 1, 6)]),
        ("s = RandomizedSearchCV(model, grid)", [(1, 1, 5)]),
        ("r = permutation_importance(model, X, y)", [(1, 1, 5)]),
        ("m = sklearn.ensemble.ExtraTreesClassifier()", [(1, 1, 5)]),
        ("m = sktree.DecisionTreeClassifier(max_features='sqrt')", [(1, 1, 5)]),
        ("m = sktree.DecisionTreeRegressor(splitter='random')", [(1, 1, 5)]),
        ("m = sklearn.ensemble.GradientBoostingClassifier(subsample=0.8)", [(1, 1, 5)]),
        ("m = sklearn.ensemble.BaggingClassifier(sktree.DecisionTreeClassifier(max_features=2))", [(1, 1, 5), (1, 1, 40)]),
        ("m = RandomForestClassifier(*args)", [(1, 1, 5)]),
        ("é = 1; m = KMeans()", [(1, 1, 12)]),
        ("a = KMeans()\nb = PCA(svd_solver='randomized')", [(1, 1, 5), (1, 2, 5)]),
        ("m = fit(KMeans())", [(1, 1, 9)]),
    ],
)
def test_sklearn_without_random_state(context_for: Callable[..., LintContext], source: str, expected: list[Where]) -> None:
    assert where(hits(context_for([IMPORTS, source]), "NB402")) == expected


@pytest.mark.parametrize(
    "source",
    [
        "X_tr, X_te = train_test_split(X, random_state=42)",
        "X_tr, X_te = train_test_split(X, random_state=SEED)",
        "X_tr, X_te = train_test_split(X, shuffle=False)",
        "m = RandomForestClassifier(random_state=rng)",
        "m = RandomForestClassifier(**params)",
        "m = KMeans(n_clusters=3, **extra)",
        "cv = KFold(n_splits=5)",
        "cv = KFold(n_splits=5, shuffle=False)",
        "cv = StratifiedKFold(5, shuffle=flag)",  # unknown: not reported
        "cv = KFold(n_splits=5, shuffle=True, random_state=0)",
        "pipe = make_pipeline(model)",  # not a dataset generator
        "m = LogisticRegression()",  # lbfgs, the default solver, is deterministic
        "m = LogisticRegression(solver='lbfgs')",
        "p = PCA(n_components=2)",  # the default solver is exact on small data
        "p = PCA(n_components=2, svd_solver='full')",
        "p = PCA(svd_solver=solver)",  # unknown: not reported
        "m = HistGradientBoostingRegressor()",  # early stopping only on large data
        "Xs = shuffle(X, random_state=0)",
        "m = sktree.DecisionTreeClassifier(max_depth=3)",  # random_state only breaks ties between equal splits
        "m = sklearn.ensemble.GradientBoostingRegressor(n_estimators=50)",
        "m = sklearn.ensemble.GradientBoostingRegressor(subsample=1.0)",
        # the ensemble seeds the estimators made in its arguments
        "m = sklearn.ensemble.BaggingClassifier(sktree.DecisionTreeClassifier(max_features=2), n_estimators=5, random_state=42)",
        "m = sklearn.ensemble.AdaBoostClassifier(estimator=sktree.DecisionTreeClassifier(max_features=1), random_state=0)",
        "m = RandomForest()",  # not imported from sklearn
    ],
)
def test_sklearn_with_random_state_or_not_random(context_for: Callable[..., LintContext], source: str) -> None:
    assert hits(context_for([IMPORTS, source]), "NB402") == []


def test_sklearn_message_names_the_callable(context_for: Callable[..., LintContext]) -> None:
    ctx = context_for(["from sklearn.ensemble import RandomForestClassifier as RF\nm = RF()\nn = RF(random_state=None)"])
    first, second = hits(ctx, "NB402")
    assert first.message.startswith("'RF' is called without random_state")
    assert second.message.startswith("'RF' is called with random_state=None")


@pytest.mark.parametrize(
    ("qualname", "short"),
    [
        ("sklearn.model_selection.train_test_split", "train_test_split"),
        ("sklearn.model_selection._split.KFold", "KFold"),
        ("sklearn.ensemble.AdaBoostClassifier", "AdaBoostClassifier"),
        ("sklearn.ensemble.BaggingRegressor", "BaggingRegressor"),
        ("sklearn.tree.ExtraTreeRegressor", "ExtraTreeRegressor"),
        ("sklearn.linear_model.PassiveAggressiveClassifier", "PassiveAggressiveClassifier"),
        ("sklearn.neural_network.MLPClassifier", "MLPClassifier"),
        ("sklearn.mixture.GaussianMixture", "GaussianMixture"),
        ("sklearn.datasets.make_blobs", "make_blobs"),
        ("sklearn.utils.resample", "resample"),
        ("sklearn.pipeline.make_pipeline", None),
        ("sklearn.compose.make_column_transformer", None),
        ("sklearn.metrics.make_scorer", None),
        ("sklearn.linear_model.LinearRegression", None),
        ("mylib.RandomForestClassifier", None),
    ],
)
def test_sklearn_random_callables(qualname: str, short: str | None) -> None:
    assert sklearn_random_callable(qualname) == short


# --- NB403 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('df = pd.read_parquet("s3://bucket/train.parquet")', [(1, 1, 22)]),
        ('df = pd.read_csv(filepath_or_buffer="gs://bucket/x.csv", sep=";")', [(1, 1, 37)]),
        ('df = pd.read_excel("/srv/data/x.xlsx")', [(1, 1, 20)]),
        ('df = pandas.read_json("abfs://container/x.json")', [(1, 1, 23)]),
        ('df = pl.read_csv("hdfs://cluster/x.csv")', [(1, 1, 18)]),
        ('df = pd.read_csv("/kaggle/input/titanic/train.csv")', [(1, 1, 18)]),
        ('lf = pl.scan_parquet("/data/x.parquet")', [(1, 1, 22)]),
        ('a = np.load("/data/arr.npy")', [(1, 1, 13)]),
        ('with open("/etc/app/config.json") as f: pass', [(1, 1, 11)]),
        ('with open(file="/etc/app/config.json", mode="r") as f: pass', [(1, 1, 16)]),
        ('m = pickle.load(open("/models/m.pkl", "rb"))', [(1, 1, 22)]),
        ('m = joblib.load("/models/m.joblib")', [(1, 1, 17)]),
        ('m = torch.load("/models/m.pt")', [(1, 1, 16)]),
        ('d = load_dataset("csv", data_files="s3://bucket/x.csv")', [(1, 1, 36)]),
        ('d = load_dataset("csv", data_files=["data/a.csv", "gs://bucket/x.csv"])', [(1, 1, 51)]),
        ('d = load_dataset("csv", data_files={"train": "/data/train.csv"})', [(1, 1, 46)]),
        ('df = pd.read_csv(f"/data/{name}.csv")', [(1, 1, 18)]),
        ('if True:\n    df = pd.read_csv("/data/x.csv")', [(1, 2, 22)]),
        ('é = 1; df = pd.read_csv("/data/x.csv")', [(1, 1, 25)]),
    ],
)
def test_unrecorded_data_source(context_for: Callable[..., LintContext], source: str, expected: list[Where]) -> None:
    imports = (
        "import pandas as pd, pandas, polars as pl, numpy as np, pickle, requests, joblib, torch, urllib.request\n"
        "from urllib.request import urlopen\nfrom datasets import load_dataset"
    )
    assert where(hits(context_for([imports, source]), "NB403")) == expected


@pytest.mark.parametrize(
    "source",
    [
        "df = pd.read_csv(DATA_URL)",
        'df = pd.read_csv("data/train.csv")',
        'df = pd.read_csv("./data/train.csv")',
        'df = pd.read_csv("https://raw.githubusercontent.com/justmarkham/DAT8/master/data/chipotle.tsv")',  # public
        'r = requests.get("https://www.stata-press.com/data/r12/air2.dta")',
        'r = urlopen("http://example.org/x")',
        'df = pd.read_csv("~/Desktop/products.tsv")',  # a home directory: NB301's
        'a = np.loadtxt(fname="C:\\\\data\\\\x.txt")',
        'df = pd.read_csv(f"{DATA_DIR}/train.csv")',
        'df = pd.read_csv(DATA_DIR + "/train.csv")',
        'with open("/tmp/out.txt", "w") as f: pass',
        'with open("/tmp/out.txt", mode="a") as f: pass',
        'df.to_csv("/tmp/out.csv")',
        'd = load_dataset("imdb")',
        'x = np.save("/tmp/a.npy", a)',
        'x = requests.post("https://api.example.org/v1/predict", json=payload)',
        'df = read_csv("/data/x.csv")',  # not imported from pandas
        'df = pd.read_sql("/* daily */ SELECT * FROM t", con)',  # a query, not a location
        'with gzip.open("/tmp/x.gz", "wt") as f: pass',
    ],
)
def test_data_source_not_reported(context_for: Callable[..., LintContext], source: str) -> None:
    imports = "import gzip, pandas as pd, numpy as np, requests\nfrom datasets import load_dataset\nfrom urllib.request import urlopen"
    assert hits(context_for([imports, source]), "NB403") == []


def test_data_source_in_parameters_cell_is_fine(context_for: Callable[..., LintContext]) -> None:
    parameters = {"source": 'import pandas as pd\ndf = pd.read_csv("s3://bucket/x.csv")', "metadata": {"tags": ["parameters"]}}
    directive = '#| parameters\nimport pandas as pd\ndf = pd.read_csv("s3://bucket/x.csv")'
    assert hits(context_for([parameters]), "NB403") == []
    assert hits(context_for([directive]), "NB403") == []


def test_data_source_message_hides_credentials_in_urls(context_for: Callable[..., LintContext]) -> None:
    ctx = context_for(['import pandas as pd\ndf = pd.read_csv("s3://user:pw@bucket/x.csv?sig=abc")'])
    [hit] = hits(ctx, "NB403")
    assert "'s3://bucket/x.csv'" in hit.message and "pw" not in hit.message and "sig" not in hit.message
    assert hit.message.startswith("'pd.read_csv' reads the hard-coded storage URL")


def test_open_aliased_to_another_module(context_for: Callable[..., LintContext]) -> None:
    assert where(hits(context_for(['from gzip import open\nwith open("/data/x.gz") as f: pass']), "NB403")) == [(0, 2, 11)]
    assert hits(context_for(['from webbrowser import open\nopen("/data/x.html")']), "NB403") == []


# --- every rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=[rule.code for rule in RULES])
def test_rule_doc_is_complete_and_examples_behave(context_for: Callable[..., LintContext], rule: Rule) -> None:
    doc = rule.doc
    assert all(part.strip() for part in (doc.what, doc.why, doc.bad, doc.good, doc.fix)), rule.code
    assert doc.limits.strip() and "auto-fixable" in doc.fix
    assert not rule.fixable and rule.default_on and rule.code.startswith("NB4")
    assert list(rule.check(context_for([doc.bad]))), f"{rule.code}: the bad example is not reported"
    assert not list(rule.check(context_for([doc.good]))), f"{rule.code}: the good example is reported"


def test_rules_survive_unparsable_cells_and_magics(context_for: Callable[..., LintContext]) -> None:
    cells: list[Any] = [
        "import numpy as np, pandas as pd\nfrom sklearn.cluster import KMeans",
        "def broken(:\n    np.random.rand()",
        "%matplotlib inline\n!ls /data\nx = !pip list\nnp?",
        '%%bash\npython -c "import numpy; numpy.random.rand()"',
        "%%time\nm = KMeans()",
        '%time df = pd.read_csv("/data/x.csv")',
        ("markdown", "np.random.rand()"),
        ("raw", "KMeans()"),
        "",
        "\x00",
        "np.random",  # an attribute, not a call
        "(lambda: np.random.rand)()()",
        "getattr(np.random, 'rand')()",
    ]
    ctx = context_for(cells)
    for rule in RULES:
        assert isinstance(list(rule.check(ctx)), list)
    assert where(hits(ctx, "NB401")) == []
    assert where(hits(ctx, "NB402")) == [(4, 2, 5)]
    assert where(hits(ctx, "NB403")) == [(5, 1, 24)]


def test_non_python_notebook_is_skipped(context_for: Callable[..., LintContext]) -> None:
    metadata = {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}, "language_info": {"name": "R"}}
    ctx = context_for(["import numpy as np\nnp.random.rand()\nfrom sklearn.cluster import KMeans\nKMeans()"], metadata=metadata)
    assert all(hits(ctx, code) == [] for code in BY_CODE)


FRAGMENTS = [
    "import numpy as np, random, torch",
    "from sklearn.cluster import KMeans",
    "np.random.rand(",
    "KMeans(**k)",
    "pd.read_csv('/data/x.csv')",
    "np.random.seed()",
    *AWKWARD_FRAGMENTS,
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cell_sources(FRAGMENTS))
def test_rules_never_raise_on_generated_cells(context_for: Callable[..., LintContext], sources: list[str]) -> None:
    assert_hits_inside(context_for(sources), RULES, len(sources))


@pytest.mark.parametrize(
    "cells",
    [
        ["import numpy as np", "np.random.rand(3, 4)"],  # the value the cell shows
        ["import random", "random.choice(text_pairs)"],
        ["import numpy as np, pandas as pd", "df = pd.DataFrame(np.random.randn(6, 4), columns=list('ABCD'))"],
        ["import numpy as np\nimport matplotlib.pyplot as plt", "plt.scatter(np.random.rand(50), np.random.rand(50))"],
    ],
)
def test_draws_only_shown_not_reported(context_for: Callable[..., LintContext], cells: list[str]) -> None:
    assert hits(context_for(cells), "NB401") == []


def test_draws_used_still_reported(context_for: Callable[..., LintContext]) -> None:
    """What NB401 still finds: a draw whose result is kept, or an in-place shuffle shown last."""
    ctx = context_for(["import numpy as np, random", "w = np.random.randn(3, 3)\nprint(w)", "random.shuffle(data)"])
    assert where(hits(ctx, "NB401")) == [(1, 1, 5), (2, 1, 1)]
