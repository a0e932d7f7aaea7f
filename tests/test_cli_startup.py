"""Start-up cost of one ``nb2prod`` process (issue #10): a pre-commit hook pays it on every commit.

Each command imports its own subcommand module and what that needs, not every command's; lint
looks for plugin rules through importlib.metadata only when an installed distribution may declare
some.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from importlib.machinery import PathFinder
from pathlib import Path

import pytest

import nb2prod.lint.registry as plugins
from nb2prod.cli import COMMANDS, build_parser, commands_needed

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "train.ipynb"
OTHER_COMMANDS_MODULES = {f"nb2prod.cli.{module}" for module in COMMANDS.values()}
#: What none of strip, fmt and lint needs on one notebook: other commands' data, process pools, the metadata scan.
NEVER_FOR_HOOKS = {"nb2prod.records", "nb2prod.runs", "nb2prod.verify", "importlib.metadata", "concurrent.futures", "tomllib"}


def loaded_modules(tmp_path: Path, *argv: str) -> set[str]:
    """The modules in ``sys.modules`` when ``nb2prod ARGV`` has run in a fresh interpreter."""
    dump = tmp_path / "modules.json"
    probe = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(dump)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
        "from nb2prod.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode in (0, 1), done.stderr
    return set(json.loads(dump.read_text(encoding="utf-8")))


HOOKS = [(["strip", "--check"], "strip"), (["fmt", "--check"], "fmt"), (["lint", "--no-ruff"], "lint"), (["check", "--no-write"], "check")]


@pytest.mark.parametrize(("argv", "module"), HOOKS)
def test_a_hook_command_imports_its_own_module_only(tmp_path: Path, argv: list[str], module: str) -> None:
    """``nb2prod strip|fmt|lint|check one.ipynb`` (no pyproject.toml, no plugin) loads no other command and nothing in NEVER_FOR_HOOKS."""
    notebook = tmp_path / "one.ipynb"
    shutil.copyfile(NOTEBOOK, notebook)
    loaded = loaded_modules(tmp_path, *argv, notebook.name)
    assert f"nb2prod.cli.{module}" in loaded
    assert not (loaded & (OTHER_COMMANDS_MODULES - {f"nb2prod.cli.{module}"})), sorted(loaded & OTHER_COMMANDS_MODULES)
    assert not (loaded & NEVER_FOR_HOOKS), sorted(loaded & NEVER_FOR_HOOKS)


@pytest.mark.parametrize("argv", [["strip", "--quiet"], ["fmt", "--quiet"]], ids=["strip", "fmt"])
def test_strip_and_fmt_do_not_compile_the_secret_patterns(tmp_path: Path, argv: list[str]) -> None:
    """The secret patterns (nb2prod.secrets) mask the rare internal-error message; strip and fmt hooks never pay for them."""
    notebook = tmp_path / "one.ipynb"
    shutil.copyfile(NOTEBOOK, notebook)
    assert "nb2prod.secrets" not in loaded_modules(tmp_path, *argv, notebook.name)


def test_version_imports_no_command(tmp_path: Path) -> None:
    assert not (loaded_modules(tmp_path, "--version") & OTHER_COMMANDS_MODULES)


def test_commands_needed_picks_the_named_command_or_all() -> None:
    assert commands_needed(["--debug", "lint", "x.ipynb"]) == ("lint",)
    assert commands_needed(["runs", "list"]) == ("runs",)
    assert commands_needed(["--version"]) == () and commands_needed(["--vers", "--debug"]) == ()
    for argv in (["lnt", "x"], ["-h"], ["--help"], ["--version", "-h"], [], ["--debug"], ["--", "lint"]):
        assert commands_needed(argv) is None, argv


def test_each_registration_adds_the_command_of_its_name() -> None:
    """Every COMMANDS entry's module registers exactly that command; the full parser lists them in COMMANDS order."""

    def names(parser: object) -> list[str]:
        (action,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]  # type: ignore[attr-defined]
        return list(action.choices)

    for name in COMMANDS:
        assert names(build_parser([name])) == [name]
    assert names(build_parser()) == list(COMMANDS)
    assert names(build_parser(())) == []


class _DistributionFinder:
    """A meta path finder that can also find distributions (as importlib_metadata's or a zipapp's may)."""

    def find_spec(self, *args: object) -> None:
        return None

    def find_distributions(self, *args: object) -> list[object]:
        return []


def _dist(site: Path, name: str, entry_points: str | None) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


def test_plugin_precheck_finds_a_declared_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cheap pre-check says "maybe" exactly when a distribution on sys.path declares nb2prod.rules."""
    site = tmp_path / "site"
    _dist(site, "plain", None)
    _dist(site, "scripts", "[console_scripts]\nplain = plain:main\n")
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "missing")])
    # Only the standard finder of distributions (another test may have left a finder of its own behind).
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if not hasattr(f, "find_distributions") or f is PathFinder])
    assert plugins._may_declare_plugins() is False
    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, _DistributionFinder()])
    assert plugins._may_declare_plugins() is True, "a custom finder of distributions may hold a plugin"
    monkeypatch.setattr(sys, "meta_path", sys.meta_path[:-1])
    _dist(site, "acme", "[console_scripts]\nacme = acme:main\n\n[nb2prod.rules]\nacme = acme_rules:RULES\n")
    assert plugins._may_declare_plugins() is True


def test_plugin_precheck_defers_to_importlib_for_zips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip on sys.path (it may hold dist-info) is left to importlib.metadata: the pre-check never hides a plugin."""
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("acme-1.0.dist-info/entry_points.txt", "[nb2prod.rules]\nacme = acme_rules:RULES\n")
    monkeypatch.setattr(sys, "path", [str(archive)])
    assert plugins._may_declare_plugins() is True


def test_a_broken_plugin_declaration_still_reaches_the_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a declared group the real lookup runs: a plugin that cannot load is still reported, not skipped."""
    from nb2prod.errors import ConfigError

    site = tmp_path / "site"
    _dist(site, "acme", "[nb2prod.rules]\nacme = no_such_module_acme:RULES\n")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ConfigError, match="cannot load lint rules from plugin 'acme'"):
        plugins._plugin_rules()
