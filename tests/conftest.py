"""Shared fixtures for the ingest tests (helper functions live in helpers.py)."""

import pytest

from farmhound.store import Store


@pytest.fixture
def fresh_store(tmp_path):
    """An empty farmhound store in a temporary folder, closed after the test."""
    store = Store(tmp_path / "t.db")
    yield store
    store.close()
