"""Generated ML sanity tests: which templates (T1-T16) fit an exported module, and the context that renders them.

:func:`plan_ml_tests` finds the roles of each module (:mod:`nb2prod.export.mltests.roles`), keeps the
first module that can train a model, and decides for each template whether it is generated and why
(or why not): the plan is plain data, rendered into ``tests/test_ml_<module>.py`` by
``templates/tests/test_ml.py.j2`` and explained by ``nb2prod export --explain-tests``. The generated
file needs numpy and pytest, never nb2prod. Tests can be switched off in
``[tool.nb2prod.ml-tests]`` (``enabled = false``, ``skip = ["T7"]``) or, for the names a cell
defines, with the cell tag ``no-ml-tests``.

The tests' data (:func:`with_data`): a captured real sample (``--capture-sample N``), else the
module's loader (``load_data()``), else columns synthesized from the notebook's data profile
(``--profile``, or the ``--reference-run`` run's profile), else four generic numeric columns; see
:mod:`nb2prod.export.mltests.data`. A profile also brings T16, the input data contract.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .data import PROFILE_FIXTURE, SAMPLE_FIXTURE, TestData, text_sha256
from .roles import Roles, find_roles

__all__ = [
    "NO_ML_TESTS_TAG",
    "TEMPLATES",
    "MLTestPlan",
    "Reference",
    "TestData",
    "explain",
    "fixture_files",
    "plan_ml_tests",
    "render_context",
    "with_data",
    "with_reference",
]

#: The cell tag whose cells' names get no ML role.
NO_ML_TESTS_TAG = "no-ml-tests"
#: Template -> what it checks (one line, as README and --explain-tests show it).
TEMPLATES: Mapping[str, str] = {
    "T1": "determinism: two trainings with one seed predict the same",
    "T2": "seed plumbing: every random_state of the model is the seed passed to training",
    "T3": "finite outputs: no NaN or Inf in predictions or probabilities",
    "T4": "output shape: one prediction per row; probability rows in [0, 1] summing to 1",
    "T5": "label set: a classifier predicts only labels seen in training",
    "T6": "row-order equivariance: shuffled rows give the shuffled predictions",
    "T7": "batch invariance: predicting in halves or row by row gives the same predictions",
    "T8": "inputs not mutated: training and predicting leave X and y unchanged",
    "T9": "fitting changes the model: models trained on different data differ",
    "T10": "PyTorch: the model overfits a tiny batch",
    "T11": "PyTorch: outputs depend on every input feature and on no other row",
    "T12": "save/load round trip: the pickled model predicts the same",
    "T13": "metric within the recorded run's tolerance",
    "T14": "beats a trivial baseline: every metric 10% better than most-frequent/mean",
    "T15": "scikit-learn estimator conventions (parametrize_with_checks)",
    "T16": "input data contract: the loader's columns, kinds, ranges and categories match the data profile",
}
_NEEDS_MODEL = ("T3", "T4", "T5", "T6", "T7", "T8", "T9", "T12")
#: Rows of the data the tests use at most (training is repeated a few times).
MAX_ROWS = 400
#: A training loop's epochs for T10 at least (8 rows: one step an epoch), and the names that say "epochs".
TINY_EPOCHS = 200
_EPOCHS = re.compile(r"^(n_|num_|max_)?epochs?$")
#: Features of synthesized data when the module has no loader.
SYNTHETIC_FEATURES = 4


@dataclass(frozen=True)
class Reference:
    """The recorded run T13 compares with (plain data from its ``run.json``; see ``nb2prod export --reference-run``)."""

    id: str
    metrics: Mapping[str, float]  # the numeric metrics
    parameters: Mapping[str, Any]  # the parameters it ran with that the entry point takes
    inputs: Mapping[str, str]  # path -> "sha256:…" of the files it read
    rtol: float = 1e-6
    atol: float = 0.0


@dataclass(frozen=True)
class MLTestPlan:
    """The ML tests of one export: the roles, the templates generated and those not, each with its reason."""

    roles: tuple[Roles, ...]  # every module's roles
    chosen: Roles | None  # the module the tests are for
    generated: tuple[tuple[str, str], ...] = ()  # (template, why it applies)
    not_generated: tuple[tuple[str, str], ...] = ()  # (template, why not)
    disabled: tuple[str, ...] = field(default_factory=tuple)
    reference: Reference | None = None  # T13's recorded run
    data: TestData | None = None  # the profile spec and captured sample the tests use (with_data)


def with_reference(plan: MLTestPlan, reference: Reference | None, *, entry_point: bool) -> MLTestPlan:
    """``plan`` with T13 generated when ``reference`` has metrics and the package has an entry point to re-run."""
    if reference is None or plan.chosen is None or "T13" in plan.disabled:
        return plan
    if not entry_point:
        why = "the package has no entry point (main cells) to re-run"
    elif not reference.metrics:
        why = f"run {reference.id} recorded no numeric metric"
    else:
        why = ""
    others = tuple(item for item in plan.not_generated if item[0] != "T13")
    order = list(TEMPLATES)
    if why:
        missing = tuple(sorted((*others, ("T13", why)), key=lambda item: order.index(item[0])))
        return replace(plan, not_generated=missing)
    names = ", ".join(sorted(reference.metrics))
    generated = (*plan.generated, ("T13", f"run {reference.id}: {names}; marked slow; skipped when a recorded input changed"))
    return replace(
        plan, generated=tuple(sorted(generated, key=lambda item: order.index(item[0]))), not_generated=others, reference=reference
    )


def data_kind(plan: MLTestPlan) -> str:
    """Where the tests' data comes from: ``sample``, ``loader``, ``profile`` or ``synthesized`` (generic columns)."""
    data, roles = plan.data, plan.chosen
    if data is not None and data.sample is not None:
        return "sample"
    if roles is not None and roles.data:
        return "loader"
    return "profile" if data is not None and data.spec is not None else "synthesized"


def with_data(plan: MLTestPlan, data: TestData | None) -> MLTestPlan:
    """``plan`` with its test data: T16 when a profile exists, T14 on a captured sample, neither on synthesized data."""
    if data is None or plan.chosen is None or (data.spec is None and data.sample is None):
        return plan
    roles = plan.chosen
    generated, missing = dict(plan.generated), dict(plan.not_generated)

    def decide(code: str, applies: bool, why: str) -> None:
        if code in plan.disabled:
            return
        generated.pop(code, None)
        missing.pop(code, None)
        (generated if applies else missing)[code] = why

    kind = data_kind(replace(plan, data=data))
    if data.spec is not None:
        checked = f"{roles.data}()" if roles.data else "the captured sample" if data.sample is not None else ""
        decide(
            "T16",
            bool(checked),
            f"{checked} against the profile {data.origin}: columns, kinds, [min, max] ± 10% (99% of values), vocabularies"
            if checked
            else "no loader (load_data()) or captured sample to check: synthesized data fits its profile by construction",
        )
    if roles.evaluate is not None and kind == "sample":
        decide("T14", True, f"{roles.evaluate.name}() on the captured sample ({data.sample_meta.get('rows')} real rows)")
    elif roles.evaluate is not None and kind == "profile":
        decide("T14", False, f"the data is synthesized from the profile {data.origin}: its target is independent of the features")
    order = list(TEMPLATES)
    return replace(
        plan,
        generated=tuple(sorted(generated.items(), key=lambda item: order.index(item[0]))),
        not_generated=tuple(sorted(missing.items(), key=lambda item: order.index(item[0]))),
        data=data,
    )


def plan_ml_tests(
    modules: Sequence[tuple[str, str]],
    *,
    main_code: str = "",
    parameters: Mapping[str, Any] | None = None,
    excluded: set[str] | None = None,
    enabled: bool = True,
    skip: Sequence[str] = (),
) -> MLTestPlan:
    """Decide the ML tests for ``modules`` (``(name, code)`` pairs); see the module docstring.

    ``enabled`` False (``[tool.nb2prod.ml-tests] enabled = false``) generates nothing; ``skip``
    lists templates switched off; ``excluded`` names from cells tagged ``no-ml-tests``.
    """
    roles = tuple(find_roles(name, code, main_code=main_code, parameters=parameters, excluded=excluded) for name, code in modules)
    chosen = next((found for found in roles if found.train is not None and found.framework is not None), None)
    if not enabled:
        return MLTestPlan(roles, None, (), tuple((code, "switched off: [tool.nb2prod.ml-tests] enabled = false") for code in TEMPLATES))
    if chosen is None:
        trained = next((found for found in roles if found.train is not None), None)
        why = (
            f"module {trained.module} imports neither numpy, scikit-learn nor PyTorch (the tests need numpy)"
            if trained is not None
            else "; ".join(note for found in roles for note in found.notes) or "no train role found"
        )
        return MLTestPlan(roles, None, (), tuple((code, f"nothing to train: {why}") for code in TEMPLATES))
    generated: list[tuple[str, str]] = []
    missing: list[tuple[str, str]] = []

    def decide(code: str, applies: bool, why: str, why_not: str) -> None:
        if code in skip:
            missing.append((code, "switched off in [tool.nb2prod.ml-tests] skip"))
        elif applies:
            generated.append((code, why))
        else:
            missing.append((code, why_not))

    seeded = chosen.train is not None and chosen.train.seed_keyword is not None
    loop = chosen.train_kind == "loop"
    decide(
        "T1",
        seeded or chosen.train_kind == "object" or loop,
        f"seed {chosen.seed}"
        if seeded
        else "torch.manual_seed(seed) before the net is built"
        if loop
        else "a model object whose random_state is fixed",
        "training takes no seed parameter (seed, random_state, random_seed, rng)",
    )
    decide(
        "T2",
        (chosen.framework == "scikit-learn" and (seeded or chosen.train_kind == "object")) or (chosen.framework == "pytorch" and seeded),
        "two seeds give different weights" if chosen.framework == "pytorch" else "a scikit-learn model: get_params(deep=True)",
        "needs a seed parameter" if chosen.framework in ("scikit-learn", "pytorch") else "needs a scikit-learn or PyTorch model",
    )
    for code in _NEEDS_MODEL:
        decide(code, True, "a model to train and predict with", "")
    torch = chosen.framework == "pytorch" and bool(chosen.torch_modules)
    torch_why = "needs a PyTorch model: an exported torch.nn.Module subclass that training returns"
    decide("T10", torch, "PyTorch model: trained on 8 rows", torch_why)
    decide("T11", torch, f"PyTorch module {', '.join(chosen.torch_modules)}: gradients of outputs with respect to inputs", torch_why)
    decide("T13", False, "", "no recorded run: pass --reference-run RUN (a run of `nb2prod run` whose metrics to keep)")
    decide(
        "T14",
        chosen.evaluate is not None and chosen.data is not None,
        f"{chosen.evaluate.name if chosen.evaluate else ''}() on real data from {chosen.data}()",
        "needs an evaluate function" if chosen.evaluate is None else "needs real data: a loader such as load_data() returning (X, y)",
    )
    decide("T16", False, "", "no data profile: pass --profile FILE, or a --reference-run whose notebook called nb2prod.profile(df)")
    decide(
        "T15",
        bool(chosen.estimator_classes) and chosen.framework == "scikit-learn",
        f"estimator class{'es' if len(chosen.estimator_classes) > 1 else ''} {', '.join(chosen.estimator_classes)}",
        "no exported scikit-learn estimator class (a class with fit and predict subclassing BaseEstimator)",
    )
    order = list(TEMPLATES)
    generated.sort(key=lambda item: order.index(item[0]))
    missing.sort(key=lambda item: order.index(item[0]))
    return MLTestPlan(roles, chosen, tuple(generated), tuple(missing), tuple(skip))


def _describe_train(roles: Roles) -> str:
    call = roles.train
    assert call is not None
    if roles.train_kind == "function":
        return f"train: {call.name}({call.x}, {call.y}{', ' + call.seed_keyword + '=seed' if call.seed_keyword else ''})"
    if roles.train_kind == "factory":
        return f"train: {call.name}({call.seed_keyword + '=seed, ' if call.seed_keyword else ''}...).fit(X, y)"
    if roles.train_kind == "loop":
        assert roles.net is not None
        seed = f", {call.seed_keyword}=seed" if call.seed_keyword else ""
        return f"train: {call.name}({call.x}={roles.net.name}(...), {call.y}=DataLoader(X, y){seed}, ...), after torch.manual_seed(seed)"
    if roles.train_kind == "class":
        return f"train: {call.name}({call.seed_keyword + '=seed' if call.seed_keyword else ''}).fit(X, y)"
    return f"train: a copy of {call.name}, .fit(X, y)"


def _describe_predict(roles: Roles) -> str:
    if roles.predict is None:
        return "the model's .predict"
    return f"{roles.predict.name}(model, X)"


def explain(plan: MLTestPlan) -> str:
    """The text of ``nb2prod export --explain-tests``: the roles found, the tests generated and why the others are not."""
    lines = []
    for roles in plan.roles:
        parts = [f"framework {roles.framework or 'none'}"]
        if roles.train is not None:
            parts.append(_describe_train(roles))
        if roles.seed is not None:
            parts.append(f"seed {roles.seed} ({roles.seed_source})")
        if roles.train is not None or roles.predict is not None:
            parts.append(f"predict: {_describe_predict(roles)}" + (" (probabilities)" if roles.proba else ""))
        if roles.evaluate is not None:
            parts.append(f"evaluate: {roles.evaluate.name}({'model, X, y' if roles.evaluate_style == 'model' else 'y_true, y_pred'})")
        parts.append(f"data: {roles.data}()" if roles.data else "data: no loader")
        if roles.estimator_classes:
            parts.append(f"estimator classes: {', '.join(roles.estimator_classes)}")
        lines.append(f"module {roles.module}: " + "; ".join(parts))
        lines.extend(f"  note: {note}" for note in roles.notes)
    if plan.chosen is not None:
        lines.append("test data: " + _describe_data(plan))
    target = f"tests/test_ml_{plan.chosen.module}.py" if plan.chosen is not None and plan.generated else None
    lines.append(f"generated ({target}):" if target else "generated: nothing")
    lines.extend(f"  {code:<4} {TEMPLATES[code]}  [{why}]" for code, why in plan.generated)
    if plan.not_generated:
        lines.append("not generated:")
        lines.extend(f"  {code:<4} {TEMPLATES[code]}  [{why}]" for code, why in plan.not_generated)
    return "\n".join(lines) + "\n"


def fixture_files(plan: MLTestPlan) -> dict[str, str]:
    """The data files the generated tests read, by path in the project (their headers added when written)."""
    from .data import spec_text

    data = plan.data
    if data is None or plan.chosen is None or not plan.generated:
        return {}
    files = {}
    if data.spec is not None:
        files[PROFILE_FIXTURE] = spec_text(data.spec)
    if data.sample is not None:
        files[SAMPLE_FIXTURE] = data.sample
    return files


def _describe_data(plan: MLTestPlan) -> str:
    kind, data, roles = data_kind(plan), plan.data, plan.chosen
    assert roles is not None
    redacted = f"; redacted (synthesized in the tests): {', '.join(data.redacted)}" if data is not None and data.redacted else ""
    if kind == "sample":
        assert data is not None
        return f"{data.sample_meta.get('rows')} real rows of {roles.data}() in {SAMPLE_FIXTURE} (sha256 checked){redacted}"
    if kind == "loader":
        return f"{roles.data}() of the module"
    if kind == "profile":
        assert data is not None and data.spec is not None
        spec = data.spec
        target = (
            f"the target {spec['target']!r} from its marginal"
            if spec.get("target")
            else "labels 0/1 at random (the profile names no target)"
        )
        features = len(spec["columns"]) - bool(spec.get("target"))
        return (
            f"synthesized from the profile {data.origin} ({features} feature columns as in the notebook, "
            f"{'a DataFrame' if spec['x'] == 'frame' else 'an array'}; {target}; no real row){redacted}"
        )
    return f"synthesized: {SYNTHETIC_FEATURES} numeric columns (no loader, no profile)"


def _loop_lines(roles: Roles, arguments: str) -> list[str]:
    """The body of ``_train`` for a PyTorch training loop: seed torch, build the net, a DataLoader of (X, y), run the loop."""
    call, net = roles.train, roles.net
    assert call is not None and net is not None
    built = ", ".join(f"{name}={value}" for name, value in net.keywords)
    why = "class indices: the module uses a cross-entropy loss" if call.labels == "long" else "float targets (no cross-entropy loss)"
    return [
        "import torch",
        "from torch.utils.data import DataLoader, TensorDataset",
        "",
        "torch.manual_seed(seed)",
        f"net = {net.name}({built})",
        "features = torch.as_tensor(np.asarray(X, dtype=np.float32))",
        f"# {why}",
        f"labels = torch.as_tensor(np.asarray(y)).{call.labels}()",
        *(
            []
            if call.labels == "long"
            else [
                "net.eval()  # one look at the output's shape, without touching batch-norm statistics",
                "with torch.no_grad():",
                "    shape = net(features[:2]).shape",
                "net.train()",
                "if labels.ndim + 1 == len(shape) and shape[-1] == 1:  # the net outputs a column: so must the targets",
                "    labels = labels.reshape(-1, 1)",
            ]
        ),
        "loader = DataLoader(TensorDataset(features, labels), batch_size=32)",
        f"trained = {call.name}({', '.join(filter(None, [f'{call.x}=net', f'{call.y}=loader', arguments]))})",
        "return trained if isinstance(trained, torch.nn.Module) else net",
    ]


def render_context(plan: MLTestPlan, package: str) -> dict[str, Any] | None:
    """What ``tests/test_ml.py.j2`` needs, or None when no test is generated."""
    roles = plan.chosen
    if roles is None or not plan.generated or roles.train is None:
        return None
    call = roles.train
    keywords = list(call.keywords)
    if call.seed_keyword:
        keywords.append((call.seed_keyword, "seed"))
    arguments = ", ".join(f"{name}={value}" for name, value in keywords)
    tiny_lines: list[str] = []
    tiny_keyword = ""
    if roles.train_kind == "function":
        lines = [f"return {call.name}({', '.join(filter(None, [f'{call.x}=X', f'{call.y}=y', arguments]))})"]
    elif roles.train_kind in ("factory", "class"):
        lines = [f"return {call.name}({arguments}).fit(X, y)"]
    elif roles.train_kind == "loop":
        lines = _loop_lines(roles, arguments)
        epochs = next((name for name, _ in keywords if _EPOCHS.match(name)), None)
        if epochs is not None:  # T10 needs steps: on 8 rows an epoch is one step
            tiny_keyword = epochs
            tiny = ", ".join(f"{name}=max({value}, {TINY_EPOCHS})" if name == epochs else f"{name}={value}" for name, value in keywords)
            tiny_lines = _loop_lines(roles, tiny)
    else:
        lines = [f"return copy.deepcopy({call.name}).fit(X, y)"]
    if not call.seed_keyword and roles.train_kind != "loop":
        lines.insert(0, "del seed  # training takes no seed")
    predict_call = proba_call = None
    if roles.predict is not None:
        extra = "".join(f", {name}={value}" for name, value in roles.predict.keywords)
        text = f"{roles.predict.name}(model, X{extra})"
        if roles.proba:
            proba_call = text
        else:
            predict_call = text
    evaluate_call = None
    if roles.evaluate is not None:
        extra = "".join(f", {name}={value}" for name, value in roles.evaluate.keywords)
        first = "model, X, y" if roles.evaluate_style == "model" else "y, _predict(model, X)"
        evaluate_call = f"{roles.evaluate.name}({first}{extra})"
    seed = roles.seed if isinstance(roles.seed, int) else 0
    tests = [code for code, _ in plan.generated]
    kind = data_kind(plan)
    fixtures = fixture_files(plan)
    data = plan.data
    return {
        "tests": tests,
        "names": list(roles.names),
        "module": roles.module,
        "package": package,
        "seed": seed,
        "other_seed": seed + 1,
        "seeded": bool(call.seed_keyword),
        "data_kind": kind,
        "data_doc": {
            "sample": f"real rows of {roles.data}() in tests/fixtures/sample.csv",
            "loader": f"{roles.data}() of the module",
            "profile": "synthesized from the profile in tests/fixtures/profile.txt, no real rows",
        }.get(kind, f"{SYNTHETIC_FEATURES} numeric features, no real rows"),
        "loader": roles.data,
        "manifest": {relative.rpartition("/")[2]: text_sha256(text) for relative, text in fixtures.items()},
        "has_profile": data is not None and data.spec is not None,
        "sample": dict(data.sample_meta) if data is not None and data.sample is not None else None,
        "frame": data is not None and data.spec is not None and data.spec["x"] == "frame",
        "features": SYNTHETIC_FEATURES,
        "max_rows": MAX_ROWS,
        "train_lines": lines,
        "tiny_train_lines": tiny_lines,
        "tiny_keyword": tiny_keyword,
        "predict_call": predict_call,
        "proba_call": proba_call,
        "evaluate_call": evaluate_call,
        "estimator_classes": list(roles.estimator_classes) if "T15" in tests else [],
        "torch": roles.framework == "pytorch",
        "reference": plan.reference,
    }
