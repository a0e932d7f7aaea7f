"""Role detection on exported code written in common notebook styles, and the tests that follow (or do not)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.export.mltests import explain, plan_ml_tests, render_context
from nb2prod.export.mltests.roles import find_roles

FUNCTIONS = """
import numpy as np
from sklearn.linear_model import LogisticRegression

def load_data():
    return np.zeros((4, 2)), np.array([0, 1, 0, 1])

def train(X_train, y_train, C=1.0, random_state=0):
    return LogisticRegression(C=C, random_state=random_state).fit(X_train, y_train)

def predict_proba(model, X):
    return model.predict_proba(X)

def evaluate(y_true, y_pred):
    return float((y_true == y_pred).mean())
"""

ESTIMATOR_CLASS = """
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

class Shrunk(ClassifierMixin, BaseEstimator):
    def __init__(self, alpha=1.0, random_state=None):
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])
"""

MODULE_PIPELINE = """
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

model = make_pipeline(StandardScaler(), DecisionTreeClassifier(random_state=0))
"""

TRAINING_LOOP = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 1)

    def forward(self, x):
        return torch.sigmoid(self.layer(x))

def fit_net(net, loader, epochs):
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.binary_cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net
"""

NOTHING = """
import pandas as pd

def clean(df):
    return df.dropna()

def summarize(df):
    return df.describe()
"""


def test_functions_style_finds_train_seed_predict_proba_evaluate_and_data() -> None:
    roles = find_roles("m", FUNCTIONS, main_code="model = train(X, y, C=0.5, random_state=seed)\n", parameters={"seed": 3})
    assert (roles.framework, roles.train_kind, roles.data) == ("scikit-learn", "function", "load_data")
    assert roles.train is not None and (roles.train.x, roles.train.y, roles.train.seed_keyword) == ("X_train", "y_train", "random_state")
    assert roles.train.keywords == (("C", "0.5"),)
    assert roles.seed == 3 and "seed" in roles.seed_source
    assert roles.predict is not None and roles.predict.name == "predict_proba" and roles.proba
    assert roles.evaluate is not None and roles.evaluate_style == "labels"


def test_the_seed_default_is_used_when_the_notebook_does_not_pass_it() -> None:
    roles = find_roles("m", FUNCTIONS)
    assert roles.seed == 0 and roles.seed_source == "the default of random_state"


def test_an_estimator_class_trains_through_its_constructor_and_gets_the_conventions_test() -> None:
    plan = plan_ml_tests([("m", ESTIMATOR_CLASS)])
    roles = plan.chosen
    assert roles is not None and roles.train_kind == "class" and roles.estimator_classes == ("Shrunk",)
    assert roles.train is not None and roles.train.seed_keyword == "random_state"
    codes = [code for code, _ in plan.generated]
    assert "T15" in codes and "T2" in codes and "T14" not in codes  # no evaluate, no data


def test_a_pipeline_built_at_module_level_is_copied_and_fitted() -> None:
    plan = plan_ml_tests([("m", MODULE_PIPELINE)])
    assert plan.chosen is not None and plan.chosen.train_kind == "object" and plan.chosen.train.name == "model"
    assert {"T1", "T2", "T3", "T7"} <= {code for code, _ in plan.generated}


def test_a_torch_training_loop_taking_a_net_and_a_loader_is_the_train_role() -> None:
    main = "net = Net()\nfit_net(net, loader, epochs=5)\n"
    roles = find_roles("m", TRAINING_LOOP, main_code=main, parameters={"seed": 4})
    assert roles.framework == "pytorch" and roles.torch_modules == ("Net",) and roles.training_loop
    assert roles.train_kind == "loop" and roles.train is not None and roles.net is not None
    assert (roles.train.name, roles.train.x, roles.train.y, roles.train.keywords) == ("fit_net", "net", "loader", (("epochs", "5"),))
    assert roles.train.labels == "float" and roles.net.name == "Net" and roles.net.keywords == ()
    assert roles.seed == 4 and "torch.manual_seed" in roles.seed_source
    plan = plan_ml_tests([("m", TRAINING_LOOP)], main_code=main, parameters={"seed": 4})
    codes = [code for code, _ in plan.generated]
    assert codes == ["T1", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12"]  # T2: the loop takes no seed
    text = explain(plan)
    assert "train: fit_net(net=Net(...), loader=DataLoader(X, y), ...), after torch.manual_seed(seed)" in text
    assert "T1   determinism: two trainings with one seed predict the same  [torch.manual_seed(seed) before the net is built]" in text


def test_a_training_loop_net_gets_its_sizes_from_the_data_and_class_indices_for_cross_entropy() -> None:
    code = TRAINING_LOOP.replace("def __init__(self):", "def __init__(self, n_features, n_classes, hidden=8):").replace(
        "nn.functional.binary_cross_entropy(net(xb), yb)", "nn.functional.cross_entropy(net(xb), yb)"
    )
    code = code.replace("def fit_net(net, loader, epochs):", "def fit_net(net, loader, epochs, seed=1):")
    main = "net = Net(n_features=30, n_classes=2, hidden=hidden)\nfit_net(net, loader, 3)\n"
    roles = find_roles("m", code, main_code=main, parameters={"hidden": 16})
    assert roles.train is not None and roles.net is not None
    assert roles.train.keywords == (("epochs", "2"),) and roles.train.seed_keyword == "seed" and roles.train.labels == "long"
    assert dict(roles.net.keywords) == {"hidden": "16", "n_features": "X.shape[1]", "n_classes": "2"}
    plan = plan_ml_tests([("m", code)], main_code=main, parameters={"hidden": 16})
    assert "T2" in [code for code, _ in plan.generated]  # the loop takes the seed: two seeds must give other weights
    lines = render_context(plan, "pkg")["train_lines"]
    assert "net = Net(n_classes=2, hidden=16, n_features=X.shape[1])" in lines  # the notebook's n_classes, the data's n_features
    assert "labels = torch.as_tensor(np.asarray(y)).long()" in lines and "# class indices: the module uses a cross-entropy loss" in lines
    assert "trained = fit_net(net=net, loader=loader, epochs=2, seed=seed)" in lines


def test_the_training_loop_renders_a_test_file_that_compiles(workdir: Path, write_code_notebook: Callable[..., Path]) -> None:
    from nb2prod.export import export

    notebook = write_code_notebook(
        workdir / "loop.ipynb",
        ("seed = 4\n", ["parameters"]),
        (TRAINING_LOOP, ["export"]),
        ("loader = [(0, 0)]\nnet = Net()\nfit_net(net, loader, epochs=5)\n", ["main"]),
    )
    export([notebook], out=workdir / "out")
    text = (workdir / "out" / "tests" / "test_ml_loop.py").read_text(encoding="utf-8")
    compile(text, "test_ml_loop.py", "exec")
    assert "from loop.loop import fit_net, Net" in text and "    trained = fit_net(net=net, loader=loader, epochs=5)\n" in text


def test_a_loop_that_takes_no_net_and_loader_generates_nothing_and_says_why() -> None:
    code = (
        TRAINING_LOOP.replace("def fit_net(net, loader, epochs):", "def fit_net(steps, batches_list):")
        .replace("range(epochs)", "range(steps)")
        .replace("net.parameters()", "Net().parameters()")
        .replace("in loader", "in batches_list")
        .replace("return net", "return None")
    )
    plan = plan_ml_tests([("m", code)])
    assert plan.generated == () and plan.chosen is None
    assert "fit_net() looks like a training loop but takes neither (X, y) nor (net, loader, ...)" in explain(plan)


def test_data_cleaning_code_generates_nothing() -> None:
    plan = plan_ml_tests([("m", NOTHING)])
    assert plan.generated == ()
    text = explain(plan)
    assert "generated: nothing" in text and "no train function" in text


def test_a_required_argument_the_notebook_does_not_give_means_no_train_role() -> None:
    code = FUNCTIONS.replace("C=1.0, random_state=0", "C, random_state=0")
    roles = find_roles("m", code)
    assert roles.train is None and any("needs 'C'" in note for note in roles.notes)


def test_config_skip_and_switch_off() -> None:
    skipped = plan_ml_tests([("m", FUNCTIONS)], skip=("T7",))
    assert ("T7", "switched off in [tool.nb2prod.ml-tests] skip") in skipped.not_generated
    off = plan_ml_tests([("m", FUNCTIONS)], enabled=False)
    assert off.generated == ()


# --- through the command line --------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_code_notebook: Callable[..., Path]) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    write_code_notebook(
        tmp_path / "model.ipynb",
        ("seed = 5\n", ["parameters"]),
        (FUNCTIONS, ["export"]),
        ("X, y = load_data()\nm = train(X, y, random_state=seed)\n", ["main"]),
    )
    return tmp_path


def test_explain_tests_prints_roles_and_tests_and_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "model.ipynb", "--explain-tests"]) == 0
    out = capsys.readouterr().out
    assert "train: train(X_train, y_train, random_state=seed)" in out and "seed 5" in out
    assert "generated (tests/test_ml_model.py):" in out and "T6" in out
    assert "T15" in out.split("not generated:")[1]
    assert not (project / "build").exists()


def test_the_generated_file_is_written_with_the_header(project: Path) -> None:
    assert main(["export", "model.ipynb", "-q"]) == 0
    text = (project / "build" / "model" / "tests" / "test_ml_model.py").read_text()
    assert (
        text.startswith("# Generated by nb2prod")
        and "def test_t1_determinism" in text
        and "nb2prod" not in text.split("\n", 3)[3].replace("nb2prod export --explain-tests", "").replace("generated by nb2prod", "")
    )


def test_the_config_switches_a_test_off(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.nb2prod.ml-tests]\nskip = ["T6"]\n')
    assert main(["export", "model.ipynb", "-q"]) == 0
    text = (project / "build" / "model" / "tests" / "test_ml_model.py").read_text()
    assert "def test_t6_" not in text and "def test_t7_" in text


def test_an_unknown_test_in_the_config_is_an_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text('[tool.nb2prod.ml-tests]\nskip = ["T99"]\n')
    assert main(["export", "model.ipynb", "-q"]) == 2
    assert "unknown test 'T99'" in capsys.readouterr().err


def test_the_no_ml_tests_cell_tag_removes_the_roles_of_that_cell(project: Path, write_code_notebook: Callable[..., Path]) -> None:
    write_code_notebook(project / "model.ipynb", ("seed = 5\n", ["parameters"]), (FUNCTIONS, ["export", "no-ml-tests"]))
    assert main(["export", "model.ipynb", "-q"]) == 0
    assert not (project / "build" / "model" / "tests" / "test_ml_model.py").exists()


def test_reference_run_generates_t13_from_the_records_metrics(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = project / "runs" / "model" / "20261206T000000Z-abc123"
    run.mkdir(parents=True)
    record = {
        "schema": "nb2prod.run/1",
        "id": run.name,
        "notebook": "model.ipynb",
        "notebook_sha256": "0" * 64,
        "parameters": {"seed": 5, "api_token": "***"},
        "status": "ok",
        "error": None,
        "started": "2026-12-06T00:00:00Z",
        "metrics": {"accuracy": 0.75, "note": "text"},
        "inputs": {},
    }
    (run / "run.json").write_text(json.dumps(record))
    assert main(["export", "model.ipynb", "--explain-tests", "--reference-run", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"T13  metric within the recorded run's tolerance  [run {run.name}: accuracy;" in out
    assert main(["export", "model.ipynb", "-q", "--reference-run", str(run)]) == 0
    text = (project / "build" / "model" / "tests" / "test_ml_model.py").read_text()
    assert 'RECORDED_METRICS = {"accuracy": 0.75}' in text and 'RECORDED_PARAMETERS = {"seed": 5}' in text
    assert "@pytest.mark.slow\ndef test_t13_metric_within_recorded_run" in text


def test_explain_tests_without_notebooks_is_a_usage_error_and_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text('[[tool.nb2prod.export]]\nnotebooks = ["model.ipynb"]\nout = "build/model"\n')
    assert main(["export", "--explain-tests"]) == 2
    assert "--explain-tests needs notebooks" in capsys.readouterr().err
    assert not (project / "build").exists()
