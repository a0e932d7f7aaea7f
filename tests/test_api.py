"""The public API is the one door: commands are functions of ``nb2prod``; the CLI and the magics go through it.

- ``import nb2prod`` (and loading the magics) stays cheap: no papermill, nbconvert, jupytext or IPython.
- ``nb2prod.lint``, ``nb2prod.params`` and ``nb2prod.verify`` are callable whatever was imported first.
- The CLI modules import only ``nb2prod`` itself and each other (``from .. import X``, ``from . import y``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("papermill", "nbconvert", "jupytext", "IPython", "black", "nbclient")

#: The CLI modules held to the rule. A new module joins this list once it imports only from
#: ``nb2prod`` (``from .. import name``) and ``nb2prod.cli`` (``from . import module``).
CHECKED_CLI_MODULES = ("__init__", "common", "export", "fmt", "init", "lint", "params", "rules", "run", "runs", "strip", "verify")

#: Imports below the API that a branch in flight adds to a checked module, allowed until they are
#: converted to ``from .. import NAME`` (module name -> imported modules); then delete the entry.
PENDING: dict[str, frozenset[str]] = {}


def loaded_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(result.stdout)}


def test_import_and_magics_load_nothing_heavy() -> None:
    loaded = loaded_after("import nb2prod, nb2prod.magics, nb2prod.magics.command, nb2prod.magics.kernel")
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_the_api_names_load_without_heavy_imports_until_called() -> None:
    names = ("lint", "params", "verify", "list_runs", "show", "LintResults", "KernelState")
    loaded = loaded_after(f"import nb2prod\nfor name in {names!r}: getattr(nb2prod, name)")
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_commands_are_callable_whichever_module_was_imported_first() -> None:
    import nb2prod.lint.engine  # binds nb2prod.lint to the package: it must still be the command
    import nb2prod.verify

    assert callable(nb2prod.lint) and callable(nb2prod.params) and callable(nb2prod.verify)
    results = nb2prod.lint([ROOT / "notebooks" / "train.ipynb"], ruff=False)
    assert isinstance(results, nb2prod.LintResults)
    assert str(results).splitlines()[-1].startswith(("All checks passed", "Found"))
    shown = nb2prod.show(nb2prod.params(ROOT / "notebooks" / "train.ipynb"))
    assert "n_estimators" in str(shown) and "<td" in shown._repr_html_()


def _imports(path: Path) -> list[tuple[int, str | None, str]]:
    """(level, module, line) of every import statement of a module, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module, ast.unparse(node)))
        elif isinstance(node, ast.Import):
            found += [(0, alias.name, ast.unparse(node)) for alias in node.names]
    return found


def test_cli_modules_import_only_the_public_package() -> None:
    wrong = []
    for name in CHECKED_CLI_MODULES:
        path = ROOT / "nb2prod" / "cli" / f"{name}.py"
        for level, module, line in _imports(path):
            inside = level == 1 or (level == 2 and module is None) or module == "nb2prod" or (module or "").startswith("nb2prod.cli")
            pending = level == 2 and f"nb2prod.{module}" in PENDING.get(name, frozenset())
            if (level or (module or "").startswith("nb2prod")) and not inside and not pending:
                wrong.append(f"cli/{name}.py: {line}")
    assert not wrong, "import from nb2prod (the public API) instead:\n" + "\n".join(wrong)


def test_magics_import_only_the_public_package_and_the_cli_parser() -> None:
    wrong = []
    for path in sorted((ROOT / "nb2prod" / "magics").glob("*.py")):
        for level, module, line in _imports(path):
            allowed = level == 1 or (level == 2 and module in (None, "cli", "cli.run")) or module == "nb2prod"
            if (level or (module or "").startswith("nb2prod")) and not allowed:
                wrong.append(f"magics/{path.name}: {line}")
    assert not wrong, "\n".join(wrong)


def test_the_parameters_view_masks_a_secret_default_as_nb2prod_params_does() -> None:
    """``%nb2prod params`` shows what ``nb2prod params`` shows: no secret default, by name or by shape."""
    import nb2prod
    from nb2prod.params import parse_parameters

    shown = nb2prod.show(parse_parameters('api_key = "sk-abcdefabcdefabcdefabcdef"  # the key\nn = 3'))
    assert "sk-abcdef" not in str(shown) and "sk-abcdef" not in shown._repr_html_()
    assert ["api_key", "str", "***", "the", "key"] in [line.split() for line in str(shown).splitlines()]


def test_scenario_46_a_run_view_masks_a_key_shaped_value_the_notebook_echoed() -> None:
    """A record's error message or metric holding a credential shows masked in ``%nb2prod run``'s view."""
    import nb2prod

    key = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    record = nb2prod.RunRecord(
        id="20261206T000000Z-abc123",
        notebook="train.ipynb",
        notebook_sha256="",
        parameters={"n": 1},
        status="failed",
        started="2026-12-06T00:00:00Z",
        duration_s=1.0,
        error={"cell_index": 2, "cell_id": None, "ename": "ValueError", "evalue": f"bad token {key}"},
        metrics={"note": key},
    )
    shown = nb2prod.show(record)
    assert key not in str(shown) and key not in shown._repr_html_()
    assert "ValueError: bad token" in str(shown)


def test_load_ext_imports_no_command_code() -> None:
    """``%load_ext nb2prod`` (``import nb2prod`` and registering the magics) loads no command's module: under 50 ms."""
    probe = "import sys, json, nb2prod, nb2prod.magics\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('nb2prod'))))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout))
    assert loaded <= {"nb2prod", "nb2prod._version", "nb2prod.errors", "nb2prod.model", "nb2prod.record", "nb2prod.magics"}, loaded
