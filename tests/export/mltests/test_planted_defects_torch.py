"""Planted defects for PyTorch (T9-T11, and T1/T2 on a module): a tiny CPU model.

torch is not a dependency of nb2prod (``.[dev]`` has none): CI installs ``torch==2.13.0``, the CPU wheel
on the machine's disk (``.ci/run``), and there a missing torch fails collection instead of skipping.
Elsewhere these tests skip without torch; the template logic they reach is also covered by the numpy
models of ``test_planted_defects.py``, which always run.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from test_planted_defects import run_generated_tests  # this folder is on sys.path: the tests are not packages
from test_roles import TRAINING_LOOP

if importlib.util.find_spec("torch") is None:
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        raise ImportError("torch is not installed: CI runs these tests (.ci/run installs torch==2.13.0)")
    pytest.skip("torch is not installed (pip install torch==2.13.0)", allow_module_level=True)
pytestmark = pytest.mark.slow  # torch's import and training take about a minute on this machine

TORCH_MODEL = """
import numpy as np
import torch
from torch import nn


def load_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 3)).astype("float32")
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        return torch.sigmoid(self.out(torch.tanh(self.hidden(x))))


def train(X, y, seed=0, epochs=150):
    torch.manual_seed(seed)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    xb = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    yb = torch.as_tensor(np.asarray(y), dtype=torch.float32).reshape(-1, 1)
    for _ in range(epochs):
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy(net(xb), yb)
        loss.backward()
        opt.step()
    return net


def predict(model, X):
    model.eval()
    with torch.no_grad():
        scores = model(torch.as_tensor(np.asarray(X), dtype=torch.float32)).reshape(-1).numpy()
    return (scores > 0.5).astype(int)
"""

TORCH_DEFECTS = {
    "T2": ("    torch.manual_seed(seed)\n", "    torch.manual_seed(0)\n"),
    "T9": ("torch.optim.Adam(net.parameters(), lr=0.05)", "torch.optim.Adam(net.out.parameters(), lr=0.05)"),
    "T10": ("    for _ in range(epochs):", "    yb = yb[torch.randperm(len(yb))]\n    for _ in range(epochs):"),
    "T11": ("torch.tanh(self.hidden(x))", "torch.tanh(self.hidden(x * torch.tensor([1.0, 1.0, 0.0])))"),
}
MAIN = "X, y = load_data()\nmodel = train(X, y, seed=seed)\n"
MESSAGES = {
    "T2": "T2 seed plumbing",
    "T9": "T9 fitting changes the model",
    "T10": "T10 overfits a tiny batch",
    "T11": "T11 input dependency",
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, str]]]:
    variants = {"torch_ok": (TORCH_MODEL, MAIN)}
    for code, (old, new) in TORCH_DEFECTS.items():
        assert old in TORCH_MODEL, code
        variants[f"torch_{code.lower()}"] = (TORCH_MODEL.replace(old, new, 1), MAIN)
    return run_generated_tests(tmp_path_factory.mktemp("torch"), variants)


def test_the_correct_torch_model_passes_every_generated_test(outcomes: dict[str, dict[str, tuple[str, str]]]) -> None:
    results = outcomes["torch_ok"]
    assert {
        "test_t9_fitting_changes_the_model",
        "test_t10_overfits_a_tiny_batch",
        "test_t11_input_dependency_and_batch_independence",
    } <= set(results)
    bad = {name: message[:300] for name, (outcome, message) in results.items() if outcome != "passed" and name != "test_t5_label_set"}
    assert not bad


@pytest.mark.parametrize("code", list(TORCH_DEFECTS))
def test_a_torch_model_with_the_planted_defect_fails_the_test_of_that_property(
    outcomes: dict[str, dict[str, tuple[str, str]]], code: str
) -> None:
    results = outcomes[f"torch_{code.lower()}"]
    failing = {name: message for name, (outcome, message) in results.items() if outcome == "failure"}
    matching = [message for name, message in failing.items() if name.startswith(f"test_{code.lower()}_")]
    assert matching, f"{code} did not fail: {sorted(failing)}"
    assert MESSAGES[code] in matching[0]


#: The training-loop style of the role tests (``fit_net(net, loader, epochs)``, a net whose output is a column), with a loader.
LOOP_MODEL = (
    TRAINING_LOOP
    + """
import numpy as np


def load_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 3)).astype("float32")
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype("float32")
    return X, y
"""
)
LOOP_MAIN = (
    "X, y = load_data()\n"
    "loader = torch.utils.data.DataLoader(list(zip(torch.as_tensor(X), torch.as_tensor(y).reshape(-1, 1))), batch_size=16)\n"
    "net = Net()\n"
    "fit_net(net, loader, epochs=20)\n"
)


@pytest.fixture(scope="module")
def loop_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, str]]]:
    untrained = LOOP_MODEL.replace("torch.optim.SGD(net.parameters(), lr=0.1)", "torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)")
    return run_generated_tests(tmp_path_factory.mktemp("loop"), {"loop_ok": (LOOP_MODEL, LOOP_MAIN), "loop_t9": (untrained, LOOP_MAIN)})


def test_a_correct_training_loop_passes_every_generated_test(loop_outcomes: dict[str, dict[str, tuple[str, str]]]) -> None:
    """The net's (n, 1) output gets (n, 1) targets, T10 trains long enough to overfit, float32 outputs compare within rounding."""
    results = loop_outcomes["loop_ok"]
    assert {
        "test_t1_determinism",
        "test_t7_batch_invariance",
        "test_t9_fitting_changes_the_model",
        "test_t10_overfits_a_tiny_batch",
    } <= set(results)
    bad = {name: message[:300] for name, (outcome, message) in results.items() if outcome not in ("passed", "skipped")}
    assert not bad
    assert [name for name, (outcome, _) in results.items() if outcome == "skipped"] == ["test_t5_label_set"]  # float targets


def test_a_training_loop_that_trains_nothing_fails_t9(loop_outcomes: dict[str, dict[str, tuple[str, str]]]) -> None:
    outcome, message = loop_outcomes["loop_t9"]["test_t9_fitting_changes_the_model"]
    assert outcome == "failure" and "T9 fitting changes the model" in message
