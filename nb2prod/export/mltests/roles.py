"""Find the ML roles of an exported module from its code alone (AST and signatures; nothing runs).

The roles (see ``reference/monitoring.md`` section 3b) say which sanity tests fit the module:

- **train**: how a fitted model is made. A ``train``/``fit`` function that returns it; a model
  factory (``build_model(...)``, or any exported function whose result the notebook ``.fit``s)
  followed by ``.fit(X, y)``; an exported estimator class (``fit`` and ``predict`` methods); a model
  object built at module level (``model = make_pipeline(...)``), copied and fitted; a PyTorch
  training loop ``fit_net(net, loader, epochs)`` with an exported ``nn.Module``: the tests build the
  net (its input and output sizes from the data), a ``DataLoader`` of ``(X, y)``, and run the loop.
- **seed**: the train (or factory, or constructor) parameter named ``seed``/``random_state``/
  ``random_seed``/``rng``, and the value the notebook passes to it (a ``parameters`` cell variable
  given at the call site, else the parameter's default).
- **predict**: a ``predict*``/``infer``/``score_batch`` function taking ``(model, X)``, else the
  model's own ``.predict``; ``proba`` when the name holds ``proba`` (bounded output, [0, 1]).
- **evaluate**: an ``evaluate*``/``eval_*``/``score*``/``metrics*`` function, called as
  ``(model, X, y)`` or ``(y_true, y_pred)`` as its parameter names say.
- **data**: a loader that takes no required argument (``load_data()``) and returns ``(X, y, ...)``.
- **framework**: scikit-learn, PyTorch or plain numpy, from the module's imports.

Arguments a call needs beyond X, y and the seed come from the notebook's call site (literals and
``parameters`` cell variables); a role whose required arguments cannot be filled is not used, and
the reason is kept for ``nb2prod export --explain-tests``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TRAIN_NAME = re.compile(r"^(train|fit)(_\w+)?$")
FACTORY_NAME = re.compile(r"^(build|make|create|get|new)_\w*(model|pipeline|estimator|classifier|regressor|clf|net|network)\w*$")
PREDICT_NAME = re.compile(r"^(predict|predict_proba|infer|score_batch)")
EVALUATE_NAME = re.compile(r"^(evaluate|eval_|score|metrics)")
LOADER_NAME = re.compile(r"^(load|get|read|make)_\w*(data|dataset|xy)\w*$")
X_NAMES = ("X", "x", "X_train", "features", "df", "data", "train_df", "inputs")
Y_NAMES = ("y", "y_train", "target", "labels", "targets")
SEED_NAMES = ("seed", "random_state", "random_seed", "rng")
NET_NAMES = ("net", "model", "module", "network", "nn_model")
LOADER_NAMES = ("loader", "train_loader", "dataloader", "data_loader", "dl", "train_dl", "batches", "train_batches")
EPOCH_NAMES = ("epochs", "n_epochs", "num_epochs", "max_epochs")
#: Constructor parameters of a net that the data decides: the number of input features, and of outputs (classes).
IN_SIZE_NAMES = ("n_features", "in_features", "input_dim", "n_inputs", "in_dim", "num_features", "input_size", "n_in")
OUT_SIZE_NAMES = ("n_classes", "num_classes", "out_features", "output_dim", "n_outputs", "out_dim", "output_size", "n_out")
MODEL_NAMES = ("model", "estimator", "clf", "pipeline", "pipe", "net", "regressor", "classifier", "m", "fitted")
TRUE_NAMES = ("y_true", "y", "y_test", "target", "labels", "truth")
# Constructors that make a scikit-learn-style model object at module level.
_MODEL_CALL = re.compile(r"^(make_pipeline|Pipeline|make_union|\w*(Classifier|Regressor|Estimator|Regression|SVC|SVR|Means|NB))$")


@dataclass(frozen=True)
class Call:
    """How the generated tests call a function: its name, keyword arguments as Python source, the seed keyword."""

    name: str
    keywords: tuple[tuple[str, str], ...] = ()  # (parameter, Python source of the value), X/y/seed excluded
    seed_keyword: str | None = None
    x: str | None = None  # the X parameter's name (train functions)
    y: str | None = None
    labels: str = ""  # a training loop's target dtype: "long" (class indices) or "float"


@dataclass(frozen=True)
class Roles:
    """What :func:`find_roles` found in one module, and why roles were not found."""

    module: str
    framework: str | None = None  # "scikit-learn", "pytorch", "numpy"
    train_kind: str | None = None  # "function", "factory", "class", "object", "loop" (a PyTorch training loop)
    train: Call | None = None
    seed: Any = None  # the seed value the tests use (an int), None without a seed role
    seed_source: str = ""  # where the seed came from, for --explain-tests
    predict: Call | None = None
    proba: bool = False  # the predict role returns probabilities
    evaluate: Call | None = None
    evaluate_style: str = "model"  # "model": evaluate(model, X, y); "labels": evaluate(y_true, y_pred)
    data: str | None = None  # name of the loader function
    estimator_classes: tuple[str, ...] = ()  # exported BaseEstimator subclasses with fit and predict
    torch_modules: tuple[str, ...] = ()  # exported nn.Module subclasses
    training_loop: bool = False  # a function with loss.backward() ... opt.step()
    pandas: bool = False  # the module imports pandas (its data are DataFrames)
    net: Call | None = None  # train_kind "loop": the nn.Module the loop trains, with its constructor's arguments
    notes: tuple[str, ...] = field(default_factory=tuple)  # why roles were not found

    @property
    def names(self) -> tuple[str, ...]:
        """The module names the generated tests import."""
        wanted = [call.name for call in (self.train, self.predict, self.evaluate) if call is not None]
        if self.data:
            wanted.append(self.data)
        wanted.extend(self.estimator_classes)
        if self.net is not None:
            wanted.append(self.net.name)
        return tuple(dict.fromkeys(wanted))


def _imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _params(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[list[str], set[str]]:
    """All parameter names in order, and those without a default."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    names = [arg.arg for arg in positional] + [arg.arg for arg in args.kwonlyargs]
    first_default = len(positional) - len(args.defaults)
    required = {arg.arg for index, arg in enumerate(positional) if index < first_default}
    required |= {arg.arg for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True) if default is None}
    return names, required


def _returns_value(function: ast.AST) -> bool:
    return any(isinstance(node, ast.Return) and node.value is not None for node in ast.walk(function))


def _calls_method(node: ast.AST, method: str) -> bool:
    return any(
        isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr == method for child in ast.walk(node)
    )


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _base_names(node: ast.ClassDef) -> set[str]:
    return {name for name in (_call_name(base) for base in node.bases) if name}


@dataclass
class _CallSites:
    """Calls the notebook's main code makes to exported names: name -> keyword -> Python source."""

    keywords: dict[str, dict[str, tuple[str, str | None]]] = field(default_factory=dict)
    fitted: set[str] = field(default_factory=set)  # names whose result (or which) the main code calls .fit on

    @classmethod
    def of(cls, main_code: str, parameters: Mapping[str, Any]) -> _CallSites:
        sites = cls()
        try:
            tree = ast.parse(main_code or "")
        except SyntaxError:
            return sites
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr == "fit":
                target = node.func.value
                if isinstance(target, ast.Call) and isinstance(target.func, ast.Name):
                    sites.fitted.add(target.func.id)
                elif isinstance(target, ast.Name):
                    sites.fitted.add(target.id)
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name is None:
                continue
            given = sites.keywords.setdefault(name, {})
            for keyword in node.keywords:
                if keyword.arg is None:
                    continue
                value = keyword.value
                if isinstance(value, ast.Name) and value.id in parameters:
                    given[keyword.arg] = (repr(parameters[value.id]), value.id)
                else:
                    try:
                        given[keyword.arg] = (repr(ast.literal_eval(value)), None)
                    except ValueError:
                        continue
        return sites

    def value(self, function: str, keyword: str) -> tuple[str | None, str | None]:
        """``(Python source of the value, the parameter it came from)`` the notebook passes to ``function``'s ``keyword``."""
        return self.keywords.get(function, {}).get(keyword, (None, None))


def _fill(
    name: str,
    params: Sequence[str],
    required: set[str],
    sites: _CallSites,
    *,
    skip: set[str],
    notes: list[str],
    what: str,
) -> tuple[tuple[tuple[str, str], ...], bool]:
    """Keyword arguments for ``params`` other than ``skip``: the call site's values; False when a required one is unknown."""
    keywords = []
    for param in params:
        if param in skip or param in ("self", "cls"):
            continue
        value, _ = sites.value(name, param)
        if value is not None:
            keywords.append((param, value))
        elif param in required:
            notes.append(f"{what} {name}() needs '{param}', which the notebook's main cells do not pass as a literal or a parameter")
            return (), False
    return tuple(keywords), True


def _seed_of(
    function: str, seed_param: str | None, default: ast.expr | None, sites: _CallSites, parameters: Mapping[str, Any]
) -> tuple[Any, str]:
    if seed_param is None:
        return None, ""
    value, source = sites.value(function, seed_param)
    if value is not None:
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            literal = None
        if isinstance(literal, int) and not isinstance(literal, bool):
            where = f"the notebook parameter {source}, passed as {seed_param}" if source else f"the notebook passes {seed_param}={literal}"
            return literal, where
    if default is not None:
        try:
            literal = ast.literal_eval(default)
        except ValueError:
            literal = None
        if isinstance(literal, int) and not isinstance(literal, bool):
            return literal, f"the default of {seed_param}"
    for name in SEED_NAMES:
        value = parameters.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value, f"the notebook parameter {name}"
    return 0, f"{seed_param} has no value in the notebook; the tests use 0"


def _default_of(function: ast.FunctionDef | ast.AsyncFunctionDef, param: str) -> ast.expr | None:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    offset = len(positional) - len(args.defaults)
    for index, arg in enumerate(positional):
        if arg.arg == param and index >= offset:
            return args.defaults[index - offset]
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if arg.arg == param:
            return default
    return None


def _training_loop(
    name: str,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    classes: Mapping[str, ast.ClassDef],
    torch_modules: Sequence[str],
    sites: _CallSites,
    parameters: Mapping[str, Any],
    notes: list[str],
) -> tuple[Call, Call, Any, str] | None:
    """A loop ``name(net, loader, epochs=...)``: how to call it, the net it trains (the one the notebook builds), the seed.

    Epochs come from the call site, else the default, else 2. The net's input size parameter is the
    data's column count, its output size the number of labels unless the notebook passes one.
    """
    params, required = _params(node)
    seed_param = next((param for param in SEED_NAMES if param in params), None)
    epochs = next((param for param in params if param in EPOCH_NAMES), None)
    keywords, ok = _fill(
        name, params, required - {epochs or ""}, sites, skip={params[0], params[1], seed_param or ""}, notes=notes, what="training loop"
    )
    if not ok:
        return None
    if epochs is not None and epochs in required and all(keyword != epochs for keyword, _ in keywords):
        keywords = (*keywords, (epochs, "2"))
    chosen = next((module for module in torch_modules if module in sites.keywords), torch_modules[0])
    init = next((item for item in classes[chosen].body if isinstance(item, ast.FunctionDef) and item.name == "__init__"), None)
    init_params, init_required = _params(init) if init is not None else ([], set())
    sizes = {param: "X.shape[1]" for param in init_params if param in IN_SIZE_NAMES}
    sizes.update(
        {
            param: "len(np.unique(np.asarray(y)))"
            for param in init_params
            if param in OUT_SIZE_NAMES and sites.value(chosen, param)[0] is None
        }
    )
    built, ok = _fill(chosen, init_params, init_required - set(sizes), sites, skip=set(sizes), notes=notes, what="the net")
    if not ok:
        return None
    seed, source = _seed_of(name, seed_param, _default_of(node, seed_param) if seed_param else None, sites, parameters)
    if seed_param is None:
        seed, source = next(
            (
                (value, f"the notebook parameter {key}; the tests call torch.manual_seed")
                for key, value in parameters.items()
                if key in SEED_NAMES and isinstance(value, int) and not isinstance(value, bool)
            ),
            (0, "the loop takes no seed: the tests call torch.manual_seed(0)"),
        )
    # class indices (long) for a cross-entropy or NLL loss anywhere in the module, else float targets (MSE, BCE)
    labels = (
        "long"
        if re.search(
            r"(?<!binary_)cross_entropy|CrossEntropyLoss|nll_loss|NLLLoss", "".join(map(ast.unparse, classes.values())) + ast.unparse(node)
        )
        else "float"
    )
    loop = Call(name, (*keywords,), seed_param, params[0], params[1], labels=labels)
    return loop, Call(chosen, (*built, *sizes.items())), seed, source


def find_roles(
    module: str, code: str, *, main_code: str = "", parameters: Mapping[str, Any] | None = None, excluded: set[str] | None = None
) -> Roles:
    """The roles of the module ``module`` whose source is ``code`` (see the module docstring).

    ``main_code`` is the notebook's main cells (where it calls the exported functions),
    ``parameters`` the ``parameters`` cell's defaults, ``excluded`` names defined in cells tagged
    ``no-ml-tests`` (they get no role).
    """
    parameters = dict(parameters or {})
    excluded = excluded or set()
    tree = ast.parse(code)
    imports = _imports(tree)
    sites = _CallSites.of(main_code, parameters)
    notes: list[str] = []
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name not in excluded and not node.name.startswith("_")
    }
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef) and node.name not in excluded}
    torch_modules = tuple(name for name, node in classes.items() if _base_names(node) & {"Module"} and "torch" in imports)
    training_loop = any(_calls_method(node, "backward") and _calls_method(node, "step") for node in functions.values())
    framework = "pytorch" if "torch" in imports else "scikit-learn" if "sklearn" in imports else "numpy" if "numpy" in imports else None
    estimator_classes = tuple(
        name
        for name, node in classes.items()
        if {"fit", "predict"} <= {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
        and "BaseEstimator" in _base_names(node)
    )
    model_classes = [
        name
        for name, node in classes.items()
        if {"fit", "predict"} <= {item.name for item in node.body if isinstance(item, ast.FunctionDef)} and name not in torch_modules
    ]

    train: Call | None = None
    train_kind = None
    seed: Any = None
    seed_source = ""
    x_param = y_param = None
    net: Call | None = None
    for name, node in functions.items():
        params, required = _params(node)
        fits = _calls_method(node, "fit") or (_calls_method(node, "backward") and _calls_method(node, "step"))
        if torch_modules and len(params) >= 2 and params[0] in NET_NAMES and params[1] in LOADER_NAMES and (TRAIN_NAME.match(name) or fits):
            found = _training_loop(name, node, classes, torch_modules, sites, parameters, notes)
            if found is not None:
                train, net, seed, seed_source = found
                train_kind = "loop"
                break
            continue
        if not (_returns_value(node) and (TRAIN_NAME.match(name) or fits)):
            continue
        x_param = next((param for param in X_NAMES if param in params), None)
        y_param = next((param for param in Y_NAMES if param in params), None)
        if (x_param is None or y_param is None) and _calls_method(node, "backward"):
            notes.append(f"{name}() looks like a training loop but takes neither (X, y) nor (net, loader, ...) with an exported nn.Module")
            continue
        if x_param is None or y_param is None:
            notes.append(f"{name}() looks like training but has no X parameter ({', '.join(X_NAMES[:4])}…) and y parameter (y, target…)")
            continue
        seed_param = next((param for param in SEED_NAMES if param in params), None)
        keywords, ok = _fill(name, params, required, sites, skip={x_param, y_param, seed_param or ""}, notes=notes, what="train")
        if not ok:
            continue
        train, train_kind = Call(name, keywords, seed_param, x_param, y_param), "function"
        seed, seed_source = _seed_of(name, seed_param, _default_of(node, seed_param) if seed_param else None, sites, parameters)
        break
    if train is None:
        for name, node in functions.items():
            if not (_returns_value(node) and (FACTORY_NAME.match(name) or name in sites.fitted)):
                continue
            params, required = _params(node)
            seed_param = next((param for param in SEED_NAMES if param in params), None)
            keywords, ok = _fill(name, params, required, sites, skip={seed_param or ""}, notes=notes, what="model factory")
            if not ok:
                continue
            train, train_kind = Call(name, keywords, seed_param), "factory"
            seed, seed_source = _seed_of(name, seed_param, _default_of(node, seed_param) if seed_param else None, sites, parameters)
            break
    if train is None:
        for name in model_classes:
            init = next((item for item in classes[name].body if isinstance(item, ast.FunctionDef) and item.name == "__init__"), None)
            params, required = _params(init) if init is not None else ([], set())
            seed_param = next((param for param in SEED_NAMES if param in params), None)
            keywords, ok = _fill(name, params, required, sites, skip={seed_param or ""}, notes=notes, what="estimator class")
            if not ok:
                continue
            train, train_kind = Call(name, keywords, seed_param), "class"
            if seed_param and init is not None:
                seed, seed_source = _seed_of(name, seed_param, _default_of(init, seed_param), sites, parameters)
            break
    if train is None:
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
                and _MODEL_CALL.match(_call_name(node.value.func) or "")
                and node.targets[0].id not in excluded
            ):
                train, train_kind = Call(node.targets[0].id), "object"
                break
    if train is None and not notes:
        if torch_modules or training_loop:
            notes.append(
                "a PyTorch model or training loop without a train function taking (X, y) that returns the model, "
                "or a loop taking (net, loader, ...) with an exported nn.Module"
            )
        else:
            notes.append("no train function (train*/fit* or one that calls .fit), model factory, estimator class or model object")

    predict: Call | None = None
    proba = False
    for name, node in functions.items():
        params, required = _params(node)
        returns_predict = any(
            isinstance(child, ast.Return)
            and isinstance(child.value, ast.Call)
            and isinstance(child.value.func, ast.Attribute)
            and child.value.func.attr.startswith("predict")
            for child in ast.walk(node)
        )
        if not (PREDICT_NAME.match(name) or returns_predict) or len(params) < 2:
            continue
        model_param, x_name = params[0], params[1]
        keywords, ok = _fill(name, params, required, sites, skip={model_param, x_name}, notes=notes, what="predict")
        if ok:
            predict, proba = Call(name, keywords, None, x_name), "proba" in name
            break

    evaluate: Call | None = None
    style = "model"
    for name, node in functions.items():
        params, required = _params(node)
        if not EVALUATE_NAME.match(name) or len(params) < 2:
            continue
        if params[0] in TRUE_NAMES:
            style, used = "labels", set(params[:2])
        elif len(params) >= 3:
            style, used = "model", set(params[:3])
        else:
            notes.append(f"evaluate {name}() takes neither (model, X, y) nor (y_true, y_pred)")
            continue
        keywords, ok = _fill(name, params, required, sites, skip=used, notes=notes, what="evaluate")
        if ok:
            evaluate = Call(name, keywords)
            break

    data = next(
        (name for name, node in functions.items() if LOADER_NAME.match(name) and not _params(node)[1] and _returns_value(node)),
        None,
    )
    return Roles(
        module=module,
        framework=framework,
        train_kind=train_kind,
        train=train,
        seed=seed,
        seed_source=seed_source,
        predict=predict,
        proba=proba,
        evaluate=evaluate,
        evaluate_style=style,
        data=data,
        estimator_classes=estimator_classes,
        torch_modules=torch_modules,
        training_loop=training_loop,
        pandas="pandas" in imports,
        net=net,
        notes=tuple(dict.fromkeys(notes)),
    )
