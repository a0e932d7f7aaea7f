"""Generated ML sanity tests: which templates (T1-T15) fit an exported module, and the context that renders them.

:func:`plan_ml_tests` finds the roles of each module (:mod:`nb2prod.export.mltests.roles`), keeps the
first module that can train a model, and decides for each template whether it is generated and why
(or why not): the plan is plain data, rendered into ``tests/test_ml_<module>.py`` by
``templates/tests/test_ml.py.j2`` and explained by ``nb2prod export --explain-tests``. The generated
file needs numpy and pytest, never nb2prod. Tests can be switched off in
``[tool.nb2prod.ml-tests]`` (``enabled = false``, ``skip = ["T7"]``) or, for the names a cell
defines, with the cell tag ``no-ml-tests``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .roles import Roles, find_roles

__all__ = ["NO_ML_TESTS_TAG", "TEMPLATES", "MLTestPlan", "Reference", "explain", "plan_ml_tests", "render_context", "with_reference"]

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
}
_NEEDS_MODEL = ("T3", "T4", "T5", "T6", "T7", "T8", "T9", "T12")
#: Rows of the data the tests use at most (training is repeated a few times).
MAX_ROWS = 400
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
    decide(
        "T1",
        seeded or chosen.train_kind == "object",
        f"seed {chosen.seed}" if seeded else "a model object whose random_state is fixed",
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
        parts.append(f"data: {roles.data}()" if roles.data else "data: synthesized (no loader)")
        if roles.estimator_classes:
            parts.append(f"estimator classes: {', '.join(roles.estimator_classes)}")
        lines.append(f"module {roles.module}: " + "; ".join(parts))
        lines.extend(f"  note: {note}" for note in roles.notes)
    target = f"tests/test_ml_{plan.chosen.module}.py" if plan.chosen is not None and plan.generated else None
    lines.append(f"generated ({target}):" if target else "generated: nothing")
    lines.extend(f"  {code:<4} {TEMPLATES[code]}  [{why}]" for code, why in plan.generated)
    if plan.not_generated:
        lines.append("not generated:")
        lines.extend(f"  {code:<4} {TEMPLATES[code]}  [{why}]" for code, why in plan.not_generated)
    return "\n".join(lines) + "\n"


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
    if roles.train_kind == "function":
        lines = [f"return {call.name}({', '.join(filter(None, [f'{call.x}=X', f'{call.y}=y', arguments]))})"]
    elif roles.train_kind in ("factory", "class"):
        lines = [f"return {call.name}({arguments}).fit(X, y)"]
    else:
        lines = [f"return copy.deepcopy({call.name}).fit(X, y)"]
    if not call.seed_keyword:
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
    return {
        "tests": tests,
        "names": list(roles.names),
        "module": roles.module,
        "package": package,
        "seed": seed,
        "other_seed": seed + 1,
        "seeded": bool(call.seed_keyword),
        "data_kind": "loader" if roles.data else "synthesized",
        "data_doc": f"{roles.data}() of the module" if roles.data else f"{SYNTHETIC_FEATURES} numeric features, no real rows",
        "loader": roles.data,
        "features": SYNTHETIC_FEATURES,
        "max_rows": MAX_ROWS,
        "train_lines": lines,
        "predict_call": predict_call,
        "proba_call": proba_call,
        "evaluate_call": evaluate_call,
        "estimator_classes": list(roles.estimator_classes) if "T15" in tests else [],
        "torch": roles.framework == "pytorch",
        "reference": plan.reference,
    }
