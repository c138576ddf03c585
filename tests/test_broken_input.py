"""Broken and hostile input: each bad row goes to quarantine with its file, line and reason, the
good rows around it are stored, and rows read = stored + duplicates + quarantined."""

import gzip

import orjson
import pytest

from conftest import request, write_jsonl
from loaders.pipeline import ingest

GOOD = orjson.dumps(request(1))
GOOD2 = orjson.dumps(request(2))

CASES = {
    "invalid JSON": b'{"ts": 1776816000, "account_id": "a", ',
    "missing ts": orjson.dumps({"account_id": "a", "prompt": "x"}),
    "missing account_id": orjson.dumps({"ts": 1776816000, "prompt": "x"}),
    "unparsable timestamp": orjson.dumps({"ts": "last tuesday", "account_id": "a"}),
    "wrong type": orjson.dumps({"ts": 1776816000, "account_id": "a", "output_tokens": [1, 2]}),
    "invalid UTF-8": b'{"ts": 1776816000, "account_id": "caf\xe9"}',
    "NUL character": b'{"ts": 1776816000, "account_id": "a\x00b"}',
    "not an object": b'["ts", 1776816000]',
}


@pytest.mark.parametrize("reason", list(CASES))
def test_bad_line_is_quarantined_with_file_line_and_reason(fresh_store, tmp_path, reason):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD, CASES[reason], GOOD2])
    [s] = ingest(fresh_store, [str(path)])
    assert (s.rows_read, s.stored, s.duplicates, s.quarantined) == (3, 2, 0, 1)
    assert s.reasons == {reason: 1}
    [q] = fresh_store.quarantine_rows()
    assert (q["line"], q["reason"]) == (2, reason)
    assert fresh_store.sources()[0].path.endswith("bad.jsonl")
    assert q["raw"] and "\x00" not in q["raw"]


def test_escaped_nul_inside_a_prompt_is_quarantined(fresh_store, tmp_path):
    path = write_jsonl(tmp_path / "n.jsonl", [GOOD, {"ts": 1776816000, "account_id": "a", "prompt": "a\u0000b"}])
    [s] = ingest(fresh_store, [str(path)])
    assert (s.stored, s.quarantined, s.reasons) == (1, 1, {"NUL character": 1})
    assert "prompt" in fresh_store.quarantine_rows()[0]["detail"]


def test_a_50_mb_line_is_quarantined_without_holding_it(fresh_store, tmp_path):
    big = b'{"ts": 1776816000, "account_id": "a", "prompt": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    path = write_jsonl(tmp_path / "big.jsonl", [GOOD, big, GOOD2])
    [s] = ingest(fresh_store, [str(path)])
    assert (s.rows_read, s.stored, s.quarantined, s.reasons) == (3, 2, 1, {"line too long": 1})
    [q] = fresh_store.quarantine_rows()
    assert q["line"] == 2 and "52,428,8" in q["detail"] and len(q["raw"]) < 5000


def test_the_line_limit_is_configurable(fresh_store, tmp_path):
    path = write_jsonl(tmp_path / "l.jsonl", [GOOD, request(3, prompt="y" * 5000), GOOD2])
    [s] = ingest(fresh_store, [str(path)], max_line_bytes=2048)
    assert (s.stored, s.quarantined, s.reasons) == (2, 1, {"line too long": 1})


def test_truncated_gzip_keeps_the_rows_before_the_damage(fresh_store, tmp_path):
    lines = b"".join(orjson.dumps(request(i)) + b"\n" for i in range(2000))
    blob = gzip.compress(lines)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(blob[: len(blob) // 2])
    [s] = ingest(fresh_store, [str(path)])
    assert s.reasons == {"corrupt gzip": 1} and s.quarantined == 1
    assert 0 < s.stored < 2000 and s.rows_read == s.stored + s.quarantined
    [q] = fresh_store.quarantine_rows()
    assert q["line"] == s.stored + 1 and "after line" in q["detail"]


def test_corrupt_gzip_is_one_quarantined_row(fresh_store, tmp_path):
    blob = gzip.compress(b"".join(orjson.dumps(request(i)) + b"\n" for i in range(500)))
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(blob[:60] + b"\xde\xad\xbe\xef" * 50 + blob[260:])
    [s] = ingest(fresh_store, [str(path)])
    assert s.reasons == {"corrupt gzip": 1}
    assert s.rows_read == s.stored + s.quarantined


def test_csv_broken_rows(fresh_store, tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"ts,account_id,prompt\n"
        b'1776816000,a,"a prompt\nover two lines"\n'  # fine: a quoted field spans lines
        b"1776816001,b\n"  # wrong number of fields
        b"1776816002,caf\xe9,x\n"  # invalid UTF-8
        b"1776816003,d,nul\x00here\n"  # NUL
        b"\n"  # blank: not a row
        b"yesterday,e,x\n"  # unparsable timestamp
        b"1776816004,f,ok\n"
    )
    [s] = ingest(fresh_store, [str(path)])
    assert (s.rows_read, s.stored, s.duplicates, s.quarantined) == (6, 2, 0, 4)
    got = {(q["line"], q["reason"]) for q in fresh_store.quarantine_rows()}
    assert got == {(4, "wrong number of fields"), (5, "invalid UTF-8"), (6, "NUL character"), (8, "unparsable timestamp")}
    prompt = fresh_store.conn.execute(
        "SELECT p.text FROM requests r JOIN prompts p ON p.hash = r.prompt_hash WHERE r.account_id = 'a'"
    ).fetchone()[0]
    assert prompt == "a prompt\nover two lines"


def test_every_row_is_accounted_for_in_a_mixed_file(fresh_store, tmp_path):
    rows = [GOOD, *CASES.values(), GOOD, GOOD2, b"", b"   "]
    [s] = ingest(fresh_store, [str(write_jsonl(tmp_path / "m.jsonl", rows))])
    assert (s.rows_read, s.stored, s.duplicates, s.quarantined) == (11, 2, 1, 8)
    assert fresh_store.info().quarantined == 8 and fresh_store.info().requests == 2
