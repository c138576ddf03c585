"""Shared fixtures and tiny-file helpers for the ingest tests."""

import gzip

import orjson
import pytest

from farmhound.store import Store


@pytest.fixture
def fresh_store(tmp_path):
    """An empty farmhound store in a temporary folder, closed after the test."""
    store = Store(tmp_path / "t.db")
    yield store
    store.close()


def request(i: int, **over) -> dict:
    """A small valid canonical request record number `i` (seven accounts, one /24)."""
    row = {
        "request_id": f"r{i}",
        "ts": 1_776_816_000 + i,
        "account_id": f"acct_{i % 7}",
        "ip": f"203.0.113.{i % 250}",
        "model": "model-a",
        "prompt": f"please solve task {i}",
        "response": f"answer {i}",
    }
    row.update(over)
    return row


def write_jsonl(path, rows, gz: bool = False):
    """Write rows (dicts, or bytes written as they are) one per line; gzip if asked."""
    data = b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in rows)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
