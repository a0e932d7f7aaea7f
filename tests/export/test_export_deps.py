"""``infer_dependencies``: import names of exported code -> installed distributions, pinned to their versions."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path
from typing import Any

import pytest

from nb2prod.export import deps
from nb2prod.export.deps import imported_modules, infer_dependencies
from nb2prod.export.plan import Dependency


def test_import_names_map_to_distributions_with_installed_versions() -> None:
    found = infer_dependencies(["import sklearn.ensemble\nfrom yaml import safe_load\n"])
    assert found == (
        Dependency("PyYAML", importlib.metadata.version("PyYAML"), ("yaml",)),
        Dependency("scikit-learn", importlib.metadata.version("scikit-learn"), ("sklearn",)),
    )


def test_standard_library_relative_future_and_nb2prod_are_not_dependencies() -> None:
    source = (
        "from __future__ import annotations\n"
        "import os, sys, json\n"
        "import importlib.metadata\n"
        "from collections import abc\n"
        "from . import sibling\n"
        "from .core import thing\n"
        "from .. import parent\n"
        "import nb2prod\n"
        "from nb2prod import record\n"
    )
    assert infer_dependencies([source]) == ()


def test_excluded_names_are_the_package_itself() -> None:
    assert infer_dependencies(["import churn.core\nfrom churn import model\nimport yaml"], exclude={"churn"}) == (
        Dependency("PyYAML", importlib.metadata.version("PyYAML"), ("yaml",)),
    )


def test_an_import_no_installed_distribution_provides_has_no_version() -> None:
    assert infer_dependencies(["import surely_not_installed_nb2prod_xyz"]) == (
        Dependency("surely_not_installed_nb2prod_xyz", None, ("surely_not_installed_nb2prod_xyz",)),
    )


def test_imports_anywhere_in_the_code_count_and_results_are_sorted_by_distribution() -> None:
    sources = [
        "def f():\n    import yaml\n    return yaml\n",
        "try:\n    import zz_not_installed_nb2prod\nexcept ImportError:\n    pass\n",
        "class A:\n    from sklearn import base\n",
        "import numpy as np\nimport numpy.linalg\n",
    ]
    found = infer_dependencies(sources)
    assert [d.distribution for d in found] == ["numpy", "PyYAML", "scikit-learn", "zz_not_installed_nb2prod"]
    assert found[0].imports == ("numpy",)  # one entry per import name, however often it is imported


def test_one_distribution_for_several_import_names_lists_them_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {"alpha": ["multi"], "beta": ["multi"]})
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "1.0")
    assert infer_dependencies(["import beta\nimport alpha"]) == (Dependency("multi", "1.0", ("alpha", "beta")),)


def test_several_distributions_for_one_import_name_pick_the_first_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {"ns": ["zeta-ns", "Alpha-NS", "zeta-ns"]})
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.0")
    monkeypatch.setattr(importlib.metadata, "files", lambda name: [])
    assert infer_dependencies(["import ns"]) == (Dependency("Alpha-NS", "2.0", ("ns",)),)


def test_several_distributions_prefer_the_one_holding_the_imported_submodule(monkeypatch: pytest.MonkeyPatch) -> None:
    class File:
        def __init__(self, path: str) -> None:
            self.path = path

        def as_posix(self) -> str:
            return self.path

    files = {"a-ns": [File("ns/other/__init__.py")], "b-ns": [File("ns/wanted/__init__.py")]}
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {"ns": ["a-ns", "b-ns"]})
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "3.0")
    monkeypatch.setattr(importlib.metadata, "files", lambda name: files[name])
    assert infer_dependencies(["from ns.wanted import x"]) == (Dependency("b-ns", "3.0", ("ns",)),)


def test_no_third_party_import_does_not_scan_the_installed_distributions(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise AssertionError("scanned the installed distributions")

    monkeypatch.setattr(importlib.metadata, "packages_distributions", fail)
    assert infer_dependencies(["import os", ""]) == ()


def test_imported_modules_in_source_order() -> None:
    assert imported_modules("import b.c, a\nfrom .x import y\nfrom d.e import f\ndef g():\n    import h\n") == ["b.c", "a", "d.e", "h"]


# --- the targeted scan of installed metadata (deps._providers) and the statement walk -------------------


def _sorted_providers(mapping: dict[str, list[str]] | Any) -> dict[str, list[str]]:
    return {name: sorted(dists) for name, dists in mapping.items()}


def test_targeted_scan_agrees_with_packages_distributions_for_every_installed_name() -> None:
    full = importlib.metadata.packages_distributions()
    assert _sorted_providers(deps._providers(set(full))) == _sorted_providers(full)
    for name in sorted(full)[:: max(1, len(full) // 40)]:  # one name at a time: nothing else comes back
        assert _sorted_providers(deps._providers({name})) == {name: sorted(full[name])}
    assert deps._providers({"surely_not_installed_nb2prod_xyz"}) == {}


def _dist_info(root: Path, name: str, record: str, top_level: str | None = None) -> importlib.metadata.Distribution:
    """An installed distribution in ``root`` with this RECORD, and the files it lists (Python 3.12+ ignores missing ones)."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    for line in record.splitlines():
        listed = root / line.split(",")[0].strip('"')
        listed.parent.mkdir(parents=True, exist_ok=True)
        listed.touch()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    (info / "RECORD").write_text(record, encoding="utf-8")
    if top_level is not None:
        (info / "top_level.txt").write_text(top_level, encoding="utf-8")
    return importlib.metadata.PathDistribution(info)


def test_targeted_scan_infers_from_record_as_the_standard_library_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = [
        _dist_info(tmp_path, "Provider-One", "one/__init__.py,sha256=x,1\none/sub.py,,\n"),
        # the name appears, but never as a path component that gives it: a nested folder, a .pyc, a longer stem
        _dist_info(tmp_path, "decoy", "decoy/one/x.py,,\ndecoy/__pycache__/two.cpython-311.pyc,,\ntwo_more.py,,\ndecoy/__init__.py,,\n"),
        _dist_info(tmp_path, "single-file", "two.py,,\n"),  # a lone module: its stem
        _dist_info(tmp_path, "dotted", "./three/x.py,,\nthree.libs/lib.so,,\n"),
        _dist_info(tmp_path, "quoted", '"four/x.py",,\n'),  # quoted CSV fields: the full inference
        _dist_info(tmp_path, "crlf", "five/x.py,,\r\nfive/y.py,,\r\n"),
        _dist_info(tmp_path, "declared", "whatever/x.py,,\n", top_level="one\nsix\n"),
        _dist_info(tmp_path, "data-only", "one/data.txt,,\nbin/seven,,\n"),  # no .py file: nothing inferred
    ]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda **kwargs: iter(fake))
    wanted = {"one", "two", "three", "four", "five", "six", "seven", "whatever", "decoy", "bin", "x", "sub", "missing"}
    full = importlib.metadata.packages_distributions()  # uses the same distributions()
    assert _sorted_providers(deps._providers(wanted)) == _sorted_providers({name: full[name] for name in wanted if name in full})
    assert {"one", "six"} <= set(deps._providers(wanted))  # declared; what is inferred depends on the Python version


def test_a_long_record_is_answered_from_its_first_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(importlib.metadata, "_top_level_inferred"):
        pytest.skip("this Python's packages_distributions reads top_level.txt only")
    record = "big/__init__.py,,\n" + "".join(f"big/data/file{i}.bin,,\n" for i in range(300))
    [dist] = fake = [_dist_info(tmp_path, "big", record)]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda **kwargs: iter(fake))
    seen: list[int] = []
    real = importlib.metadata._top_level_inferred  # type: ignore[attr-defined]

    def counting(d: importlib.metadata.Distribution) -> Any:
        seen.append(len(d.files or ()))
        return real(d)

    monkeypatch.setattr(importlib.metadata, "_top_level_inferred", counting)
    assert deps._providers({"big"}) == {"big": ["big"]}
    assert seen == [1]  # one line of RECORD answered
    assert set(real(dist)) == {"big"}


def test_import_statements_come_in_ast_walk_order() -> None:
    source = (
        "import a\n"
        "try:\n    import b\nexcept ImportError:\n    import c\nelse:\n    import d\nfinally:\n    from e import f\n"
        "def g():\n    import h\n    class K:\n        from i import j\n"
        "if x:\n    import k\nelif y:\n    import l\nelse:\n    import m\n"
        "with n:\n    import o\n"
        "for p in q:\n    import r\nelse:\n    import s\n"
        "while t:\n    import u\n"
        "match v:\n    case 1:\n        import w\n    case _:\n        from . import z\n"
        "lambda: __import__('not_a_statement')\n"
    )
    tree = ast.parse(source)
    walked = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert list(deps.import_statements(tree)) == walked
    assert imported_modules(tree) == imported_modules(source) == ["a", "b", "c", "d", "e", "h", "i", "k", "l", "m", "o", "r", "s", "u", "w"]
