"""``infer_dependencies``: import names of exported code -> installed distributions, pinned to their versions."""

from __future__ import annotations

import importlib.metadata

import pytest

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
