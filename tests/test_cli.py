"""The command line as a whole: entry points, --version/--help, cheap start-up, packaging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import nb2prod
from nb2prod.cli import main

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("papermill", "nbconvert", "jupytext", "black", "IPython", "nbformat", "dask", "rich", "jinja2", "ruamel", "tomlkit")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"nb2prod {nb2prod.__version__}"


def test_python_dash_m_runs_the_same_cli() -> None:
    result = run("-m", "nb2prod", "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"nb2prod {nb2prod.__version__}"


def test_help_lists_commands() -> None:
    result = run("-m", "nb2prod", "--help")
    assert result.returncode == 0
    assert "strip" in result.stdout and "--debug" in result.stdout and "--version" in result.stdout


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["strip"], ["no-such-command"], ["strip", "--check", "--dry-run", "x.ipynb"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_import_is_cheap() -> None:
    """``import nb2prod`` and ``nb2prod --version`` load none of the heavy libraries."""
    probe = "import sys, nb2prod, nb2prod.cli; print(__import__('json').dumps(sorted(sys.modules)))"
    result = run("-c", probe)
    assert result.returncode == 0, result.stderr
    loaded = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_public_api_is_documented() -> None:
    for name in nb2prod.__all__:
        obj = getattr(nb2prod, name)
        if callable(obj):
            assert obj.__doc__, f"nb2prod.{name} has no docstring"


@pytest.mark.slow
def test_wheel_ships_templates_and_installs(tmp_path: Path) -> None:
    """The built wheel carries ``templates/`` inside the package, and its console script works."""
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("nb2prod-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*") if p.is_file())
    assert shipped and all(f"nb2prod/{name}" in names for name in shipped)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    installed = subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    script = env_dir / "bin" / "nb2prod"
    version = subprocess.run([script, "--version"], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert version.stdout.strip() == f"nb2prod {nb2prod.__version__}"
    probe = "import importlib.resources as r; print((r.files('nb2prod') / 'templates' / 'README.md').read_text())"
    shown = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout.strip() == (ROOT / "templates" / "README.md").read_text().strip()
