"""Tiny-fixture helpers for the ingest tests: write export files, run the CLI, read the store back."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from pathlib import Path

import orjson
from click.testing import CliRunner

from farmhound.cli import main
from farmhound.store import Store

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z, in epoch seconds

ACCOUNT_HEADER = (
    "account_id", "created_at", "email", "payment_fingerprint", "card_bin", "billing_country",
    "signup_ip", "org_id", "tier", "verified",
)  # fmt: skip


def req(i: int, **over) -> dict:
    """A small valid canonical request record; `over` replaces fields (value None removes one)."""
    row = {
        "request_id": f"r{i}",
        "ts": T0 + i,
        "account_id": f"acct{i % 3}",
        "ip": f"203.0.113.{i % 250}",
        "model": "model-a",
        "prompt": f"prompt number {i}",
        "input_tokens": 10 + i,
    }
    row.update(over)
    return {k: v for k, v in row.items() if v is not None}


def account(i: int, **over) -> dict:
    row = {
        "account_id": f"acct{i}",
        "created_at": f"2024-01-0{i % 9 + 1}T00:00:00Z",
        "email": f"User{i}@Example.COM",
        "payment_fingerprint": f"pf{i}",
        "card_bin": "411111",
        "billing_country": "US",
        "signup_ip": f"198.51.100.{i}",
        "org_id": f"org{i}",
        "tier": "free",
        "verified": "true",
    }
    row.update(over)
    return row


def jsonl_bytes(rows) -> bytes:
    """One line per row: dicts as JSON, bytes written as they are (b"" is a blank line)."""
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in rows)


def csv_bytes(rows, header=None) -> bytes:
    header = list(header or rows[0])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if r.get(h) is None else r.get(h) for h in header])
    return buf.getvalue().encode()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def write_jsonl(path: Path, rows, gz: bool = False) -> Path:
    return write(path, jsonl_bytes(rows), gz)


def write_csv(path: Path, rows, header=None, gz: bool = False) -> Path:
    return write(path, csv_bytes(rows, header), gz)


def write_parquet(path: Path, rows, schema=None) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def q(store: Store, sql: str, params=()) -> list[tuple]:
    return store.conn.execute(sql, params).fetchall()


def one(store: Store, sql: str, params=()):
    return store.conn.execute(sql, params).fetchone()[0]


def request_ids(store: Store) -> list[str]:
    return [r[0] for r in q(store, "SELECT request_id FROM requests ORDER BY rid")]


def quarantine(store: Store) -> list[tuple]:
    """(line, reason, detail, raw) of every quarantined row, in line order."""
    return q(store, "SELECT line, reason, detail, raw FROM quarantine ORDER BY source_id, line")


def prompt_text(store: Store, h) -> str | None:
    row = store.conn.execute("SELECT text FROM prompts WHERE hash = ?", (h,)).fetchone()
    return row[0] if row else None


def accounting(summary) -> tuple[int, int, int, int]:
    """(rows_read, stored, duplicates, quarantined) of a summary (object or --json dict),
    checking the invariant rows_read = stored + duplicates + quarantined on the way."""
    get = summary.get if isinstance(summary, dict) else lambda k: getattr(summary, k)
    t = (get("rows_read"), get("stored"), get("duplicates"), get("quarantined"))
    assert t[0] == t[1] + t[2] + t[3], f"row accounting does not add up: {t}"
    return t


def source_accounting(store: Store) -> list[tuple]:
    """(rows_read, stored, duplicates, quarantined) per source row, invariant checked."""
    rows = q(store, "SELECT rows_read, stored, duplicates, quarantined FROM sources ORDER BY id")
    for r in rows:
        assert r[0] == r[1] + r[2] + r[3], f"source accounting does not add up: {r}"
    return rows


# -- the command line ---------------------------------------------------------------------------


def cli(*args, expect: int | None = 0):
    """Invoke `farmhound ARGS` in-process; check the exit code (None: any)."""
    # A wide console, so Rich tables keep a file name, line and reason on one row.
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, env={"COLUMNS": "250"})
    if expect is not None:
        assert result.exit_code == expect, f"exit {result.exit_code}\n{result.output}"
    return result


def cli_json(*args, expect: int | None = 0):
    result = cli(*args, expect=expect)
    return orjson.loads(result.stdout)


def quarantine_table_has(output: str, file_name: str, line: int, reason: str) -> bool:
    """True if `info --quarantine N` printed a row naming this file, line and reason."""
    pattern = rf"│\s*{re.escape(file_name)}\s*│\s*{line}\s*│\s*{re.escape(reason)}"
    return re.search(pattern, output) is not None


# -- export conversions -------------------------------------------------------------------------


def stored(canonical: dict, require_ts: bool = True) -> dict:
    """The store row of a canonical dict as {column: value}, with texts in place of their hashes,
    plus the notes the export gave the row."""
    from farmhound.store import REQUEST_COLUMNS
    from loaders.records import normalise_request

    prompts, responses = {}, {}
    row = dict(zip(REQUEST_COLUMNS, normalise_request(canonical, 1, 1, prompts, responses, require_ts), strict=True))
    for col, texts in (("system", prompts), ("prompt", prompts), ("conversation", prompts), ("response", responses)):
        h = row.pop(col + "_hash")
        row[col] = None if h is None else texts[h]
    row["notes"] = canonical.get("notes", [])
    return row


def stored_untimed(canonical: dict) -> dict:
    """`stored` for exports whose rows may carry no time (batch results)."""
    return stored(canonical, require_ts=False)


# A few canonical requests of varied shapes (system message, multi-turn, parts, an empty
# response), for round trips through the export writers.
CANONICAL = [
    {"request_id": "req_01", "ts": "2026-04-22T09:15:02.417Z", "account_id": "acct_aa", "api_key_id": "key_1",
     "org_id": "org_x", "ip": "73.12.4.9", "user_agent": "openai-python/1.54.3", "country": "US", "model": "atlas-4-mini",
     "messages": [{"role": "system", "content": "You are Nimbus."},
                  {"role": "user", "content": [{"type": "text", "text": "Where is my parcel?"}]}],
     "response": "It is in transit.", "input_tokens": 30, "output_tokens": 9, "max_tokens": 300,
     "temperature": 0.3, "latency_ms": 812, "status": "ok"},
    {"request_id": "req_02", "ts": "2026-04-22T09:59:03.001Z", "account_id": "acct_bb", "api_key_id": "key_2",
     "org_id": None, "ip": "45.137.21.8", "user_agent": "httpx/0.27.0", "country": "BR", "model": "atlas-4.5-pro",
     "messages": [{"role": "user", "content": "Write merge_intervals in Go."},
                  {"role": "assistant", "content": "func mergeIntervals..."},
                  {"role": "user", "content": "now add tests"}],
     "response": "func TestMerge...", "input_tokens": 60, "output_tokens": 400, "max_tokens": 1024,
     "temperature": 1.0, "latency_ms": 5100, "status": "ok"},
    {"request_id": "req_03", "ts": "2026-04-23T23:59:59.999Z", "account_id": "acct_bb", "api_key_id": "key_2",
     "org_id": None, "ip": "45.137.21.9", "user_agent": "httpx/0.27.0", "country": "BR", "model": "atlas-4-mini",
     "messages": [{"role": "user", "content": "Find all real x with x^2 - 5x + 6 = 0."}],
     "response": "", "input_tokens": 20, "output_tokens": 0, "max_tokens": 1024,
     "temperature": 1.0, "latency_ms": 40, "status": "rate_limited"},
    {"request_id": "req_04", "ts": "2026-04-24T01:00:00.250Z", "account_id": "acct_cc", "model": "atlas-4-mini",
     "system": "Be kind.", "prompt": "hello", "response": "hi", "input_tokens": 5, "output_tokens": 1,
     "latency_ms": 100, "status": "ok"},
]  # fmt: skip
