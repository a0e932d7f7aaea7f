"""Before a run: everything that can refuse (parameters, the kernel, the folders), checked without touching the disk.

Bad input (an unknown or ill-typed parameter, a missing kernel or folder, an unreadable parameters
file) raises here, before any kernel starts and before anything is written.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ParameterError, RunError
from ..notebook import Notebook, read_notebook
from ..params import environment_strings, notebook_parameters, resolve
from .environment import ParameterFiles, git_state, snapshot_files
from .output import _install_handler

DEFAULT_KERNEL = "python3"
#: ``git=QUERY_GIT``: the run asks git for the state of the notebook's repository (a sweep passes the state it captured once).
QUERY_GIT = "query"


@dataclass
class _Plan:
    """What a run needs, checked: nothing here has touched the disk or started a kernel."""

    source: Path
    shown: str
    notebook: Notebook
    parameters: dict[str, Any]
    given: dict[str, Any]
    kernel: str
    cwd: Path | None
    runs_dir: Path
    git: dict[str, Any] | None
    files: ParameterFiles  # the files parameters name, before the run: its inputs, unless the run writes them


def _plan(
    notebook: str | os.PathLike[str],
    *,
    strings: Mapping[str, str] | None,
    values: Mapping[str, Any] | None,
    environ: Mapping[str, str] | None,
    runs_dir: str | os.PathLike[str],
    kernel: str | None,
    cwd: str | os.PathLike[str] | None,
    git: Mapping[str, Any] | str | None = QUERY_GIT,
    papermill: bool = True,
) -> _Plan:
    """Check everything a run needs; ``git``: the state to record (``QUERY_GIT``: ask git now); ``papermill``: import it now."""
    source = Path(notebook)
    shown = os.fspath(notebook)
    nb = read_notebook(source, display_path=shown)
    _check_runnable(nb)
    declared = notebook_parameters(nb)
    environment = environment_strings(declared, os.environ if environ is None else environ)
    _check_values(values, {**environment, **(strings or {})})
    parameters = resolve(declared, strings=strings, values=values, environment=environment)
    named = [*(values or {}), *environment, *(strings or {})]
    given = {name: parameters[name] for name in parameters if name in named}
    kernel_name = _check_kernel(kernel, nb)
    work_dir = None if cwd is None else Path(cwd)
    if work_dir is not None and not work_dir.is_dir():
        raise RunError("the working folder does not exist" if not work_dir.exists() else "is not a folder", path=os.fspath(cwd))
    root = Path(runs_dir)
    if root.exists() and not root.is_dir():
        raise RunError("the runs folder is a file", path=os.fspath(runs_dir), hint="pass --runs-dir with a folder")
    plan = _Plan(
        source=source,
        shown=_record_path(source),
        notebook=nb,
        parameters=parameters,
        given=given,
        kernel=kernel_name,
        cwd=work_dir,
        runs_dir=root,
        git=git_state(source.resolve().parent) if git == QUERY_GIT else (None if git is None else dict(git)),
        files=snapshot_files(parameters, work_dir or Path.cwd()),
    )
    if papermill:
        _install_handler()  # imports papermill: a broken installation fails here, before anything is written
    elif importlib.util.find_spec("papermill") is None:  # a sweep's check: its workers import papermill, the sweep need not
        raise RunError("papermill is not installed", hint="pip install papermill")
    return plan


def _check_runnable(notebook: Notebook) -> None:
    """``RunError`` for a notebook papermill or the kernel cannot take, though strip, lint and fmt can (scenario 54).

    Two things pass nbformat and nb2prod's reader but break a run half-way: JSON nested deeper than
    Python's recursion limit allows nbformat, papermill and jupyter_client to copy and serialise, and
    a lone surrogate (``"\\ud800"`` in the JSON), which no UTF-8 writer accepts. Both are refused
    here, before a run folder exists. The outputs of code cells are not looked at: a run drops them.
    """
    data = notebook.data
    parts: list[tuple[str, Any]] = [("the notebook's metadata", {key: value for key, value in data.items() if key != "cells"})]
    for index, cell in enumerate(data.get("cells") or ()):
        if isinstance(cell, Mapping) and cell.get("cell_type") == "code":
            cell = {key: value for key, value in cell.items() if key != "outputs"}
        parts.append((f"cell {index + 1}", cell))
    for where, part in parts:
        problem = _unfit(part)
        if problem is not None:
            kind, what = problem
            hint = "flatten it" if kind == "deep" else "replace the escape with the whole character it belongs to, or remove it"
            raise RunError(f"{where} {what}", path=notebook.display_path, hint=hint)


def _check_values(values: Mapping[str, Any] | None, strings: Mapping[str, str] | None) -> None:
    """``ParameterError`` for a given value no run can carry: nested too deep, or a lone surrogate (invalid UTF-8 in argv)."""
    for name, value in [*(values or {}).items(), *(strings or {}).items()]:
        problem = _unfit(name) or _unfit(value)
        if problem is not None:
            kind, what = problem
            hint = "flatten it" if kind == "deep" else "pass valid UTF-8: a lone surrogate comes from bytes that are not"
            raise ParameterError(f"the parameter {name!r} {what}", hint=hint)


#: How deep JSON may nest in what a run hands papermill and the kernel. Notebooks nest about 10 levels
#: (widget state a few more); past ~400 nbformat's recursive copy exceeds Python's recursion limit.
MAX_DEPTH = 100


def _unfit(value: Any) -> tuple[str, str] | None:
    """What makes ``value`` (plain JSON data) impossible to run: ``("deep" | "surrogate", phrase)``; None when nothing does."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "deep", f"is nested more than {MAX_DEPTH} levels deep"
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                found = item[exc.start : exc.start + 1]
                return "surrogate", f"holds a lone surrogate {found!r}, half of a character, which cannot be written as UTF-8"
        elif isinstance(item, Mapping):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((child, depth + 1) for child in item)
    return None


def _check_kernel(kernel: str | None, notebook: Notebook) -> str:
    """The kernel to use; ``RunError`` listing the installed kernels when it is missing or not Python."""
    from jupyter_client.kernelspec import KernelSpecManager

    name = kernel or (notebook.metadata.get("kernelspec") or {}).get("name") or DEFAULT_KERNEL
    specs = KernelSpecManager().get_all_specs()
    if name not in specs:
        source = "--kernel" if kernel else "the notebook's kernelspec"
        raise RunError(
            f"no kernel named '{name}' ({source}) is installed",
            path=notebook.display_path,
            hint=f"installed kernels: {', '.join(sorted(specs)) or 'none'}; pass --kernel NAME, "
            "or install one with `python -m ipykernel install --user --name NAME`",
        )
    language = str(specs[name].get("spec", {}).get("language", "python")).lower()
    for found in (language, notebook.language):
        if found not in (None, "python"):
            raise RunError(
                f"nb2prod runs Python notebooks; this one uses {found} (kernel '{name}')",
                path=notebook.display_path,
                hint="use papermill directly for other languages",
            )
    return name


def _record_path(path: Path) -> str:
    """The notebook path stored in the record: relative to the current folder when under it."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def read_values_file(path: str | os.PathLike[str]) -> Any:
    """The data of a YAML/JSON parameters file, read and capped (scenario 58) but not yet shaped.

    Shared by ``run``'s one-mapping file and ``sweep``'s list of sets, so both refuse the same
    unreadable, malformed or alias-bomb files with the same messages.
    """
    shown = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParameterError("no such parameters file", path=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read the parameters file: {getattr(exc, 'strerror', None) or exc}", path=shown) from None
    if shown.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", path=shown) from None
        except RecursionError:
            raise ParameterError("the JSON is nested too deep to read", path=shown, hint="flatten it") from None
    else:
        data = _load_yaml(text, shown)
    _check_expansion(data, shown, aliases=not shown.lower().endswith(".json"))
    return data


def load_parameters_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parameter values from a YAML (``.yaml``/``.yml``) or JSON file holding one mapping.

    YAML is read with a safe loader that keeps dates as strings (as papermill does); a value is
    then checked against its parameter's type by ``run_notebook``.

    What the file expands to is capped (scenario 58): YAML aliases let a few hundred bytes stand for
    a billion values (an "alias bomb") that every later step (typing, rendering the injected cell,
    the record) would copy out. A file whose values, aliases expanded, number more than
    ``MAX_FILE_VALUES`` or hold more than ``MAX_FILE_CHARACTERS`` characters of text is refused, as
    is an alias that contains itself; counting stops at the cap, so refusing takes milliseconds.
    """
    shown = os.fspath(path)
    data = read_values_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        hint = "write one `name: value` per line"
        raise ParameterError("a parameters file holds a mapping of parameter names to values", path=shown, hint=hint)
    return data


def _load_yaml(text: str, shown: str) -> Any:
    import yaml

    class NoDatesLoader(yaml.SafeLoader):
        """SafeLoader without the timestamp resolver: ``2024-01-31`` stays a string."""

    NoDatesLoader.yaml_implicit_resolvers = {
        key: [resolver for resolver in resolvers if resolver[0] != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    try:
        return yaml.load(text, Loader=NoDatesLoader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as exc:
        raise ParameterError(f"not valid YAML: {exc}".replace("\n", " "), path=shown) from None
    except RecursionError:  # PyYAML composes and constructs recursively
        raise ParameterError("the YAML is nested too deep to read", path=shown, hint="flatten it") from None


#: Caps on what a parameters file expands to, aliases expanded: far above any real parameter set
#: (a long list of feature names is thousands of values), far below what stalls a run.
MAX_FILE_VALUES = 100_000
MAX_FILE_CHARACTERS = 10_000_000


def _check_expansion(data: Any, shown: str, *, aliases: bool) -> None:
    """``ParameterError`` when ``data`` expands to more than the caps, or contains itself (a recursive YAML alias)."""
    values = characters = 0
    stack = [data]
    while stack:
        item = stack.pop()
        values += 1
        if isinstance(item, str):
            characters += len(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        if values > MAX_FILE_VALUES or characters > MAX_FILE_CHARACTERS:
            what = f"more than {MAX_FILE_VALUES:,} values" if values > MAX_FILE_VALUES else f"more than {MAX_FILE_CHARACTERS:,} characters"
            raise ParameterError(
                f"the parameters file expands to {what}" + (" once its aliases (*name) are followed" if aliases else ""),
                path=shown,
                hint="write the values out, or pass a path to a data file as a parameter instead",
            )
