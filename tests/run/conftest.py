"""Every run test module leaves the fixture notebooks of ``tests/data/run`` as they were."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from run_helpers import fixture_digests


@pytest.fixture(autouse=True, scope="module")
def fixtures_unchanged() -> Iterator[None]:
    """No test of a module changes a fixture's bytes."""
    before = fixture_digests()
    yield
    assert fixture_digests() == before
