"""Planted defects: each generated ML test fails, naming its property, on a model that breaks exactly it; the correct model passes.

Every variant is a small notebook exported by nb2prod; all the exported packages' generated tests
run in ONE real ``pytest`` subprocess (the packages' ``src`` folders on PYTHONPATH) whose JUnit XML
report is read once. The numpy variants always run; the scikit-learn ones need scikit-learn, which
``.[dev]`` installs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nb2prod.export import export
from nb2prod.export.mltests import Reference

# A nearest-centroid classifier in plain numpy, with a seeded bootstrap and seeded noise on the centroids.
NUMPY_MODEL = """
import numpy as np


def load_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


class Centroids:
    def __init__(self, centroids, classes):
        self.centroids = centroids
        self.classes = classes

    def predict(self, X):
        distances = ((X[:, None, :] - self.centroids[None, :, :]) ** 2).sum(axis=2)
        return self.classes[distances.argmin(axis=1)]
#STATE


def train(X, y, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), size=len(y), replace=True)
    Xb, yb = X[rows], y[rows]
    classes = np.unique(yb)
    centroids = np.stack([Xb[yb == label].mean(axis=0) for label in classes])
    return Centroids(centroids + rng.normal(scale=0.6, size=centroids.shape), classes)


def predict(model, X):
    return model.predict(X)


def evaluate(model, X, y):
    return {"accuracy": float((model.predict(X) == y).mean())}
"""

NUMPY_DEFECTS = {
    "T1": ("rng = np.random.default_rng(seed)", "rng = np.random.default_rng()"),
    "T3": ("    return model.predict(X)", "    out = model.predict(X).astype(float)\n    out[np.argmax(X[:, 0])] = np.nan\n    return out"),
    "T4": ("    return model.predict(X)", "    return model.predict(X)[:-1] if len(X) > 1 else model.predict(X)"),
    "T5": ("    return model.predict(X)", "    return np.where(X[:, 2] > 0.8, 2, model.predict(X))"),
    "T6": ("    return model.predict(X)", "    return np.roll(model.predict(X), 1)"),
    "T7": ("    return model.predict(X)", "    return model.predict((X - X.mean(axis=0)) / (X.std(axis=0) + 1e-12))"),
    "T8": ("    rng = np.random.default_rng(seed)", "    X -= 0.0 * X + 1.0\n    rng = np.random.default_rng(seed)"),
    "T9": ("    Xb, yb = X[rows], y[rows]", "    Xb, yb = np.eye(3)[[0, 0, 1, 1]] * [[1], [2], [-1], [-2]], np.array([0, 0, 1, 1])"),
    "T12": ("#STATE", "    def __setstate__(self, state):\n        self.__dict__.update(state)\n        self.classes = self.classes[::-1]"),
    "T14": ("        return self.classes[distances.argmin(axis=1)]", "        return self.classes[distances.argmax(axis=1)]"),
}

SKLEARN_MODEL = """
import numpy as np
from sklearn.ensemble import RandomForestClassifier


def load_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def build_model(n_estimators, seed):
    return RandomForestClassifier(n_estimators=n_estimators, max_depth=3, random_state=seed)


def evaluate(model, X, y):
    return {"accuracy": float((model.predict(X) == y).mean())}
"""

SKLEARN_DEFECTS = {
    "T2": ("random_state=seed", "random_state=None"),
}

ESTIMATOR_MODEL = """
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


def load_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


class CentroidClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, shrink=0.0):
        self.shrink = shrink

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, index = np.unique(y, return_inverse=True)
        self.centroids_ = np.stack([X[index == k].mean(axis=0) for k in range(len(self.classes_))]) * (1 - self.shrink)
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        distances = ((X[:, None, :] - self.centroids_[None, :, :]) ** 2).sum(axis=2)
        return self.classes_[distances.argmin(axis=1)]
"""

ESTIMATOR_DEFECTS = {
    "T15": ("        self.shrink = shrink", "        self.shrink = shrink\n        self.fitted_ = False"),
}

PARAMETERS = "seed = 7\nn_estimators = 10\n"
MAINS = {
    "numpy": (
        "import nb2prod\n\nX, y = load_data()\nmodel = train(X, y, seed=seed)\n"
        "nb2prod.record('accuracy', evaluate(model, X, y)['accuracy'])\n"
    ),
    "sklearn": "X, y = load_data()\nmodel = build_model(n_estimators=n_estimators, seed=seed).fit(X, y)\n",
    "estimator": "X, y = load_data()\nmodel = CentroidClassifier().fit(X, y)\n",
}


def _notebook(path: Path, code: str, main: str) -> None:
    cells = [("code", PARAMETERS, ["parameters"]), ("code", code.strip() + "\n", ["export"]), ("code", main, ["main"])]
    notebook = {
        "cells": [
            {"cell_type": kind, "id": f"c{index}", "metadata": {"tags": tags}, "source": source, "execution_count": None, "outputs": []}
            for index, (kind, source, tags) in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook), encoding="utf-8")


def _variants() -> dict[str, tuple[str, str]]:
    """Variant name -> (module code, main code): the correct models and one per planted defect."""
    variants = {"numpy_ok": (NUMPY_MODEL, MAINS["numpy"]), "sklearn_ok": (SKLEARN_MODEL, MAINS["sklearn"])}
    variants["estimator_ok"] = (ESTIMATOR_MODEL, MAINS["estimator"])
    for base, main, defects, prefix in (
        (NUMPY_MODEL, MAINS["numpy"], NUMPY_DEFECTS, "numpy"),
        (SKLEARN_MODEL, MAINS["sklearn"], SKLEARN_DEFECTS, "sklearn"),
        (ESTIMATOR_MODEL, MAINS["estimator"], ESTIMATOR_DEFECTS, "estimator"),
    ):
        for code, (old, new) in defects.items():
            assert old in base, (code, old)
            variants[f"{prefix}_{code.lower()}"] = (base.replace(old, new, 1), main)
    return variants


def run_generated_tests(
    root: Path, variants: dict[str, tuple[str, str]], references: dict[str, Reference] | None = None
) -> dict[str, dict[str, tuple[str, str]]]:
    """Export each variant (module code, main code) under ``root`` and run all their generated ML tests in one pytest.

    Returns variant -> generated test name -> (outcome, message) from pytest's JUnit XML report.
    """
    (root / ".git").mkdir()
    sources = []
    for name, (code, main) in variants.items():
        notebook = root / "notebooks" / f"{name}.ipynb"
        notebook.parent.mkdir(exist_ok=True)
        _notebook(notebook, code, main)
        export([notebook], out=root / "build" / name, reference_run=(references or {}).get(name))
        sources.append(os.fspath(root / "build" / name / "src"))
    return pytest_outcomes(root, sources, sorted(os.fspath(path) for path in (root / "build").glob("*/tests/test_ml_*.py")))


def pytest_outcomes(root: Path, sources: list[str], tests: list[str]) -> dict[str, dict[str, tuple[str, str]]]:
    """Run the generated ``tests`` in one pytest with ``sources`` importable; variant -> test name -> (outcome, message)."""
    report = root / "report.xml"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sources)}
    options = ["-p", "no:cacheprovider", "-p", "no:randomly", "--import-mode=importlib", "-o", "junit_family=xunit1"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *options, f"--junitxml={report}", *tests],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        variant = Path(case.get("file", "")).stem.removeprefix("test_ml_")
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            element = case.find(kind)
            if element is not None:
                outcome, message = kind, element.get("message", "") + (element.text or "")
        found.setdefault(variant, {})[case.get("name", "")] = (outcome, message)
    return found


def _numpy_accuracy() -> float:
    """What the correct numpy model's entry point records (seed 7, all rows)."""
    namespace: dict = {}
    exec(NUMPY_MODEL, namespace)
    X, y = namespace["load_data"]()
    return namespace["evaluate"](namespace["train"](X, y, seed=7), X, y)["accuracy"]


def _references() -> dict[str, Reference]:
    """T13's recorded runs: one the model reproduces, one whose metric it falls below, one whose input changed since."""
    accuracy = _numpy_accuracy()
    return {
        "numpy_ok": Reference("run-ok", {"accuracy": accuracy}, {"seed": 7}, {}),
        "numpy_t13": Reference("run-better", {"accuracy": accuracy + 0.1}, {"seed": 7}, {}),
        "numpy_t13_input_changed": Reference("run-old", {"accuracy": accuracy + 0.1}, {"seed": 7}, {"data.csv": "sha256:" + "0" * 64}),
    }


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, str]]]:
    """Variant -> generated test name -> (outcome, message), from one pytest run over every exported package."""
    root = tmp_path_factory.mktemp("planted")
    (root / "data.csv").write_text("a,b\n1,2\n")  # the pytest run's folder: T13's recorded input, now with other content
    variants = _variants()
    variants["numpy_t13"] = variants["numpy_t13_input_changed"] = variants["numpy_ok"]
    return run_generated_tests(root, variants, _references())


def _property_name(code: str) -> str:
    return {
        "T1": "T1 determinism",
        "T2": "T2 seed plumbing",
        "T3": "T3 finite outputs",
        "T4": "T4 output shape",
        "T5": "T5 label set",
        "T6": "T6 row-order equivariance",
        "T7": "T7 batch invariance",
        "T8": "T8 inputs not mutated",
        "T9": "T9 fitting changes the model",
        "T12": "T12 save/load round trip",
        "T13": "T13 metric within the recorded run",
        "T14": "T14 beats a trivial baseline",
    }[code]


@pytest.mark.parametrize("variant", ["numpy_ok", "sklearn_ok", "estimator_ok"])
def test_the_correct_models_pass_every_generated_test(outcomes: dict[str, dict[str, tuple[str, str]]], variant: str) -> None:
    results = outcomes[variant]
    assert results, f"no generated test ran for {variant}"
    failed = {name: message[:300] for name, (outcome, message) in results.items() if outcome in ("failure", "error")}
    assert not failed
    # scikit-learn itself skips the checks that need what is not installed (pandas, array API): those are its skips, not ours
    skipped = {name for name, (outcome, _) in results.items() if outcome == "skipped" and not name.startswith("test_t15_")}
    assert not skipped


@pytest.mark.parametrize("code", sorted(NUMPY_DEFECTS, key=lambda code: int(code[1:])))
def test_a_numpy_model_with_the_planted_defect_fails_the_test_of_that_property(
    outcomes: dict[str, dict[str, tuple[str, str]]], code: str
) -> None:
    results = outcomes[f"numpy_{code.lower()}"]
    failing = {name: message for name, (outcome, message) in results.items() if outcome == "failure"}
    prefix = f"test_{code.lower()}_"
    assert [name for name in failing if name.startswith(prefix)], f"{code} did not fail: {sorted(failing)}"
    message = next(message for name, message in failing.items() if name.startswith(prefix))
    assert _property_name(code) in message


def test_a_metric_below_the_recorded_run_fails_t13_and_a_changed_input_skips_it(outcomes: dict[str, dict[str, tuple[str, str]]]) -> None:
    outcome, message = outcomes["numpy_t13"]["test_t13_metric_within_recorded_run"]
    assert outcome == "failure" and "T13 metric within the recorded run: accuracy is" in message and "run-better" in message
    outcome, message = outcomes["numpy_t13_input_changed"]["test_t13_metric_within_recorded_run"]
    assert outcome == "skipped" and "data.csv changed since run run-old" in message
    assert outcomes["numpy_ok"]["test_t13_metric_within_recorded_run"][0] == "passed"


def test_a_scikit_learn_model_whose_seed_is_not_passed_fails_seed_plumbing(outcomes: dict[str, dict[str, tuple[str, str]]]) -> None:
    outcome, message = outcomes["sklearn_t2"]["test_t2_seed_plumbed"]
    assert outcome == "failure" and "T2 seed plumbing" in message and "random_state': None" in message


def test_an_estimator_class_that_sets_attributes_in_init_fails_the_conventions(outcomes: dict[str, dict[str, tuple[str, str]]]) -> None:
    failing = [name for name, (outcome, _) in outcomes["estimator_t15"].items() if outcome == "failure"]
    assert failing and all(name.startswith("test_t15_estimator_conventions[") for name in failing)
    assert any("check_no_attributes_set_in_init" in name for name in failing)
