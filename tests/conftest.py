"""Shared fixtures: a fresh store on disk and helpers that write small export files."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from farmhound.store import Store


@pytest.fixture
def fresh_store(tmp_path):
    store = Store(tmp_path / "t.db")
    yield store
    store.close()


def request(i: int, **over) -> dict:
    rec = {
        "request_id": f"r{i}",
        "ts": 1_776_816_000 + i,
        "account_id": f"acct_{i % 7}",
        "ip": f"203.0.113.{i % 250}",
        "user_agent": "openai-python/1.54.3",
        "model": "m1",
        "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": f"task {i}"}],
        "response": f"answer {i}",
        "input_tokens": 10,
        "output_tokens": 20,
    }
    rec.update(over)
    return rec


def write_jsonl(path: Path, records, gz: bool = False) -> Path:
    data = b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
