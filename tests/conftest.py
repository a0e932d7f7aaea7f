"""Fixtures shared across test areas."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``PRE_COMMIT_HOME`` for the session: the tests that install this checkout as a hook repository
    (same repository, same commit) build its hook environment once instead of once each (about a minute)."""
    return tmp_path_factory.mktemp("pre-commit-home")
