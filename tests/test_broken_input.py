"""Broken input never crashes an ingest and never loses a row: each bad row is quarantined with its
file, line and a clear reason, the good rows around it are stored, and for every file
rows read = stored + duplicates + quarantined (exactly)."""

import gzip
import os
import subprocess
import sys
import zlib

import orjson
import pytest
from helpers import (
    T0,
    accounting,
    cli,
    cli_json,
    csv_bytes,
    jsonl_bytes,
    one,
    quarantine,
    quarantine_table_has,
    req,
    request_ids,
    source_accounting,
    write,
)  # fmt: skip

from farmhound.store import Store
from loaders.formats import RAW_MAX
from loaders.pipeline import ingest

GOOD1 = orjson.dumps(req(1))
GOOD2 = orjson.dumps(req(2))

# name -> (the bad line, expected reason, a piece of the expected detail)
JSONL_CASES = {
    "invalid JSON": (b'{"ts": 1700000000, "account_id": "a", ', "invalid JSON", ""),
    "missing ts": (b'{"account_id": "a", "prompt": "no time"}', "missing ts", "timestamp"),
    "missing account_id": (b'{"ts": 1700000000, "prompt": "nobody"}', "missing account_id", "user_id"),
    "unparsable timestamp": (b'{"ts": "last tuesday", "account_id": "a"}', "unparsable timestamp", "last tuesday"),
    "timestamp out of range": (b'{"ts": 12, "account_id": "a"}', "timestamp out of range", "ts"),
    "dict account_id": (b'{"ts": 1700000000, "account_id": {"id": "a"}}', "wrong type", "account_id"),
    "tokens 'many'": (b'{"ts": 1700000000, "account_id": "a", "input_tokens": "many"}', "wrong type", "input_tokens"),
    "list user agent": (b'{"ts": 1700000000, "account_id": "a", "user_agent": ["x"]}', "wrong type", "user_agent"),
    "invalid UTF-8": (b'{"ts": 1700000000, "account_id": "caf\xe9"}', "invalid UTF-8", ""),
    "raw NUL byte": (b'{"ts": 1700000000, "account_id": "a\x00b"}', "NUL character", ""),
    "escaped NUL": (b'{"ts": 1700000000, "account_id": "a", "prompt": "x\\u0000y"}', "NUL character", "prompt"),
    "array line": (b'[{"ts": 1700000000, "account_id": "a"}]', "not an object", "list"),
    "number line": (b"42", "not an object", ""),
}


def check_cli(tmp_path, path, expected: tuple, line: int, reason: str):
    """The same file through the CLI: the same accounting, and the quarantine listing names the
    file, the line and the reason."""
    db = tmp_path / "cli.db"
    out = cli_json("ingest", path, "--db", db, "--json")
    assert accounting(out) == expected and out["reasons"] == {reason: 1}
    listing = cli("info", "--db", db, "--quarantine", 10).stdout
    assert quarantine_table_has(listing, path.name, line, reason), listing


@pytest.mark.parametrize("case", list(JSONL_CASES))
def test_a_bad_jsonl_line_is_quarantined_with_file_line_and_reason(fresh_store, tmp_path, case):
    bad, reason, detail = JSONL_CASES[case]
    path = write(tmp_path / "bad.jsonl", GOOD1 + b"\n" + bad + b"\n" + GOOD2 + b"\n")
    [s] = ingest(fresh_store, [str(path)])
    assert s.status == "loaded"
    assert accounting(s) == (3, 2, 0, 1)
    assert s.reasons == {reason: 1}
    assert request_ids(fresh_store) == ["r1", "r2"]
    [(line, got_reason, got_detail, raw)] = quarantine(fresh_store)
    assert (line, got_reason) == (2, reason)
    assert detail in got_detail and got_detail  # says what exactly is wrong
    assert raw and "\x00" not in raw  # the raw row is kept, NUL shown as an escape
    assert fresh_store.sources()[0].path == str(path)
    assert source_accounting(fresh_store) == [(3, 2, 0, 1)]
    check_cli(tmp_path, path, (3, 2, 0, 1), 2, reason)


def test_a_truncated_last_line_is_quarantined_as_truncated(fresh_store, tmp_path):
    path = write(tmp_path / "cut.jsonl", GOOD1 + b"\n" + GOOD2 + b'\n{"ts": 1700000000, "acc')
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (3, 2, 0, 1)
    [(line, reason, detail, raw)] = quarantine(fresh_store)
    assert (line, reason, raw) == (3, "invalid JSON", '{"ts": 1700000000, "acc')
    assert "truncated line" in detail


def test_blank_lines_are_not_rows_but_count_for_line_numbers(fresh_store, tmp_path):
    path = write(tmp_path / "gaps.jsonl", b"\n" + GOOD1 + b"\n\n   \n\r\n" + b'{"ts": 1}' + b"\n" + GOOD2 + b"\n\n")
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (3, 2, 0, 1)
    assert [r[:2] for r in quarantine(fresh_store)] == [(6, "missing account_id")]
    assert one(fresh_store, "SELECT line FROM requests WHERE request_id = 'r2'") == 7


def test_a_file_of_only_bad_rows_stores_nothing_and_crashes_nothing(fresh_store, tmp_path):
    lines = [case[0] for case in JSONL_CASES.values()]
    path = write(tmp_path / "allbad.jsonl", b"\n".join(lines) + b"\n")
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (len(lines), 0, 0, len(lines))
    assert [r[0] for r in quarantine(fresh_store)] == list(range(1, len(lines) + 1))


@pytest.mark.parametrize("data", [b"", b"\n\n  \n"], ids=["empty", "blank"])
def test_an_empty_file_loads_as_zero_rows(fresh_store, tmp_path, data):
    [s] = ingest(fresh_store, [str(write(tmp_path / "empty.jsonl", data))])
    assert (s.status, accounting(s)) == ("loaded", (0, 0, 0, 0))


def test_every_row_of_a_mixed_file_is_accounted_for(fresh_store, tmp_path):
    bad = [case[0] for case in JSONL_CASES.values()]
    rows = [GOOD1, *bad, GOOD1, GOOD2, b"", orjson.dumps(req(3))]
    [s] = ingest(fresh_store, [str(write(tmp_path / "mixed.jsonl", b"\n".join(rows) + b"\n"))])
    assert accounting(s) == (len(bad) + 4, 3, 1, len(bad))
    info = fresh_store.info()
    assert (info.requests, info.quarantined) == (3, len(bad))


def test_an_integer_too_big_for_sqlite_is_quarantined(fresh_store, tmp_path):
    big = b'{"ts": 1700000000, "account_id": "a", "input_tokens": 18446744073709551615}'
    path = write(tmp_path / "big.jsonl", GOOD1 + b"\n" + big + b"\n" + GOOD2 + b"\n")
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (3, 2, 0, 1) and s.reasons == {"number out of range": 1}
    assert request_ids(fresh_store) == ["r1", "r2"]
    [(line, _, detail, _)] = quarantine(fresh_store)
    assert line == 2 and "input_tokens" in detail


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_infinite_timestamp_is_quarantined(fresh_store, tmp_path, fmt):
    rows = [req(1), req(8, ts="inf"), req(9, ts="-Infinity"), req(2)]
    data = jsonl_bytes(rows) if fmt == "jsonl" else csv_bytes(rows)
    [s] = ingest(fresh_store, [str(write(tmp_path / f"inf.{fmt}", data))])
    assert accounting(s) == (4, 2, 0, 2) and s.reasons == {"unparsable timestamp": 2}
    assert request_ids(fresh_store) == ["r1", "r2"]


def test_a_quarantined_row_leaves_no_text_in_the_store(fresh_store, tmp_path):
    bad = {"ts": T0, "account_id": "a", "prompt": "secret prompt", "response": "secret answer", "input_tokens": "many"}
    ingest(fresh_store, [str(write(tmp_path / "t.jsonl", jsonl_bytes([req(1), bad])))])
    assert fresh_store.info().quarantined == 1
    assert one(fresh_store, "SELECT count(*) FROM prompts WHERE text = 'secret prompt'") == 0
    assert one(fresh_store, "SELECT count(*) FROM responses WHERE text = 'secret answer'") == 0


def test_a_utf8_bom_does_not_cost_the_first_row(fresh_store, tmp_path):
    [s] = ingest(fresh_store, [str(write(tmp_path / "bom.jsonl", b"\xef\xbb\xbf" + GOOD1 + b"\n" + GOOD2 + b"\n"))])
    assert accounting(s) == (2, 2, 0, 0)
    assert request_ids(fresh_store) == ["r1", "r2"]


def test_a_jsonl_file_with_a_junk_first_line_loads_the_rest(fresh_store, tmp_path):
    [s] = ingest(
        fresh_store,
        [str(write(tmp_path / "banner.jsonl", b"export v2 -- do not edit\n" + GOOD1 + b"\n" + GOOD2 + b"\n"))],
    )
    assert (s.format, s.status) == ("jsonl", "loaded")
    assert accounting(s) == (3, 2, 0, 1) and s.reasons == {"invalid JSON": 1}
    assert request_ids(fresh_store) == ["r1", "r2"]
    assert [r[:2] for r in quarantine(fresh_store)] == [(1, "invalid JSON")]


# -- CSV ----------------------------------------------------------------------------------------------

HEADER = b"request_id,ts,account_id,prompt\n"
CSV_GOOD1 = b"r1,1700000000,acct1,hello\n"
CSV_GOOD2 = b"r2,1700000001,acct2,world\n"
CSV_CASES = {
    "too few fields": (b"r9,1700000000,a\n", "wrong number of fields", "expected 4, got 3"),
    "too many fields": (b"r9,1700000000,a,x,extra\n", "wrong number of fields", "expected 4, got 5"),
    "invalid UTF-8": (b"r9,1700000000,caf\xe9,x\n", "invalid UTF-8", ""),
    "NUL byte": (b"r9,1700000000,a,nul\x00here\n", "NUL character", ""),
    "unparsable timestamp": (b"r9,yesterday,a,x\n", "unparsable timestamp", "yesterday"),
    "missing account_id": (b"r9,1700000000,,x\n", "missing account_id", ""),
    "wrong type": (b"r9,1700000000,a,x\n", "wrong type", "input_tokens"),  # with an input_tokens column
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_a_bad_csv_row_is_quarantined_with_file_line_and_reason(fresh_store, tmp_path, case):
    bad, reason, detail = CSV_CASES[case]
    header, good1, good2 = HEADER, CSV_GOOD1, CSV_GOOD2
    if case == "wrong type":
        header = header.replace(b"\n", b",input_tokens\n")
        good1, good2 = good1.replace(b"\n", b",5\n"), good2.replace(b"\n", b",6\n")
        bad = bad.replace(b"\n", b",many\n")
    path = write(tmp_path / "bad.csv", header + good1 + bad + good2)
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (3, 2, 0, 1) and s.reasons == {reason: 1}
    assert request_ids(fresh_store) == ["r1", "r2"]
    [(line, got_reason, got_detail, raw)] = quarantine(fresh_store)
    assert (line, got_reason) == (3, reason)  # line 1 is the header
    assert detail in got_detail
    assert raw.startswith("r9,") and "\x00" not in raw
    check_cli(tmp_path, path, (3, 2, 0, 1), 3, reason)


def test_invalid_utf8_in_a_csv_row_is_kept_visible_in_the_raw_text(fresh_store, tmp_path):
    path = write(tmp_path / "u.csv", HEADER + b"r9,1700000000,caf\xe9,x\n")
    ingest(fresh_store, [str(path)])
    [(_, reason, _, raw)] = quarantine(fresh_store)
    assert reason == "invalid UTF-8" and raw == "r9,1700000000,caf\\xe9,x"


def test_a_quoted_multi_line_csv_field_is_one_row_and_blank_lines_are_no_rows(fresh_store, tmp_path):
    path = write(tmp_path / "multi.csv", HEADER + CSV_GOOD1 + b'r3,1700000002,a,"first line\nsecond, with comma\n""quoted"""\n'
                 + b"r4,1700000003,a\n" + b"\n" + CSV_GOOD2)  # fmt: skip
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (4, 3, 0, 1)
    text = fresh_store.conn.execute(
        "SELECT p.text FROM requests r JOIN prompts p ON p.hash = r.prompt_hash WHERE r.request_id = 'r3'"
    ).fetchone()[0]
    assert text == 'first line\nsecond, with comma\n"quoted"'
    assert one(fresh_store, "SELECT line FROM requests WHERE request_id = 'r3'") == 3  # where the row starts
    assert [r[:2] for r in quarantine(fresh_store)] == [(6, "wrong number of fields")]  # after the 3-line row
    assert one(fresh_store, "SELECT line FROM requests WHERE request_id = 'r2'") == 8  # after the blank line 7


def test_a_csv_with_a_bom_and_crlf_line_ends(fresh_store, tmp_path):
    data = b"\xef\xbb\xbf" + (HEADER + CSV_GOOD1 + CSV_GOOD2).replace(b"\n", b"\r\n")
    [s] = ingest(fresh_store, [str(write(tmp_path / "win.csv", data))])
    assert accounting(s) == (2, 2, 0, 0)
    assert request_ids(fresh_store) == ["r1", "r2"]


# -- gzip ---------------------------------------------------------------------------------------------


def numbered_lines(n: int, start: int = 0) -> bytes:
    return b"".join(
        orjson.dumps(req(i, prompt=f"prompt {i} " + "x" * (i % 13))) + b"\n" for i in range(start, start + n)
    )


def decompressible_lines(blob: bytes) -> int:
    """How many complete lines can be recovered from the front of a damaged gzip stream."""
    d = zlib.decompressobj(wbits=31)
    out = b""
    for k in range(0, len(blob), 256):
        try:
            out += d.decompress(blob[k : k + 256])
        except zlib.error:
            break
    return out.count(b"\n")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_truncated_gzip_keeps_every_row_before_the_cut(fresh_store, tmp_path, fmt):
    n = 20_000
    if fmt == "jsonl":
        data = numbered_lines(n)
    else:
        data = csv_bytes([req(i, prompt=f"prompt {i} " + "x" * (i % 13)) for i in range(n)])
    blob = gzip.compress(data, mtime=0)
    path = write(tmp_path / f"cut.{fmt}.gz", blob[: len(blob) // 2])
    complete = decompressible_lines(blob[: len(blob) // 2])
    rows_before = complete - (1 if fmt == "csv" else 0)  # the CSV header is not a row
    [s] = ingest(fresh_store, [str(path)])
    assert s.format == f"{fmt}.gz" and s.status == "loaded"
    assert accounting(s) == (rows_before + 1, rows_before, 0, 1)
    assert s.reasons == {"corrupt gzip": 1}
    assert request_ids(fresh_store) == [f"r{i}" for i in range(rows_before)]
    [(line, reason, detail, _)] = quarantine(fresh_store)
    assert (line, reason) == (complete + 1, "corrupt gzip")
    assert f"after line {complete}" in detail
    check_cli(tmp_path, path, (rows_before + 1, rows_before, 0, 1), complete + 1, "corrupt gzip")


def test_a_small_truncated_csv_gzip_keeps_its_rows(fresh_store, tmp_path):
    blob = gzip.compress(csv_bytes([req(i) for i in range(400)]), mtime=0)
    path = write(tmp_path / "small.csv.gz", blob[: len(blob) // 2])
    [s] = ingest(fresh_store, [str(path)])
    assert s.format == "csv.gz"
    assert s.reasons == {"corrupt gzip": 1}
    read, stored, _, _ = accounting(s)
    assert stored > 0 and read == stored + 1


def test_garbage_between_gzip_members_is_one_quarantined_row(fresh_store, tmp_path):
    blob = (
        gzip.compress(numbered_lines(500), mtime=0)
        + b"GARBAGE, NOT GZIP" * 8
        + gzip.compress(numbered_lines(500, 500), mtime=0)
    )
    path = write(tmp_path / "garbage.jsonl.gz", blob)
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (501, 500, 0, 1) and s.reasons == {"corrupt gzip": 1}
    assert request_ids(fresh_store) == [f"r{i}" for i in range(500)]
    [(line, reason, detail, _)] = quarantine(fresh_store)
    assert (line, reason) == (501, "corrupt gzip") and "after line 500" in detail


def test_a_corrupt_stretch_inside_a_gzip_stream_never_crashes(fresh_store, tmp_path):
    data = numbered_lines(3000)
    blob = bytearray(gzip.compress(data, mtime=0))
    mid = len(blob) // 2
    blob[mid : mid + 64] = bytes((i * 37 + 11) % 256 for i in range(64))
    path = write(tmp_path / "corrupt.jsonl.gz", bytes(blob))
    # Every line that decompresses intact before the damage must be stored.
    d = zlib.decompressobj(wbits=31)
    out = b""
    for k in range(0, mid, 256):
        out += d.decompress(bytes(blob[k : min(k + 256, mid)]))
    intact = 0
    for a, b in zip(out.split(b"\n")[:-1], data.split(b"\n")):
        if a != b:
            break
        intact += 1
    [s] = ingest(fresh_store, [str(path)])
    accounting(s)
    assert s.reasons.get("corrupt gzip") == 1  # the damage ends the stream: exactly one row for it
    stored = set(request_ids(fresh_store))
    assert intact > 0 and {f"r{i}" for i in range(intact)} <= stored
    last = quarantine(fresh_store)[-1]
    assert last[1] == "corrupt gzip"  # and it is the last unit of the file


def test_a_gzip_header_followed_by_junk(fresh_store, tmp_path):
    path = write(tmp_path / "junk.jsonl.gz", b"\x1f\x8b\x08\x00" + b"\xff" * 200)
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (1, 0, 0, 1) and s.reasons == {"corrupt gzip": 1}


# -- over-long lines ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "csv"])
def test_a_line_over_the_limit_is_quarantined_and_the_rest_is_read(fresh_store, tmp_path, fmt):
    long_row = req(5, prompt="y" * 10_000)
    rows = [req(1), long_row, req(2)]
    data = csv_bytes(rows) if fmt == "csv" else jsonl_bytes(rows)
    path = write(tmp_path / f"long.{fmt}", data, gz=fmt.endswith(".gz"))
    [s] = ingest(fresh_store, [str(path)], max_line_bytes=2048)
    assert accounting(s) == (3, 2, 0, 1) and s.reasons == {"line too long": 1}
    assert request_ids(fresh_store) == ["r1", "r2"]
    [(line, reason, detail, raw)] = quarantine(fresh_store)
    assert (line, reason) == (3 if fmt == "csv" else 2, "line too long")
    assert "over the 2,048-byte limit" in detail
    assert len(raw) < 2 * 2048 and raw.startswith("r5," if fmt == "csv" else '{"request_id":"r5"')


def test_the_cli_line_limit_option(tmp_path):
    path = write(tmp_path / "long.jsonl", jsonl_bytes([req(1), req(5, prompt="y" * 5000), req(2)]))
    out = cli_json("ingest", path, "--db", tmp_path / "s.db", "--json", "--max-line-bytes", 2048)
    assert accounting(out) == (3, 2, 0, 1) and out["reasons"] == {"line too long": 1}


def test_a_50_mb_line_with_default_limits(tmp_path):
    """A 50 MB JSON line between two good lines, through the real command in its own process:
    quarantined as too long, the good lines stored, and the process's peak memory stays far below
    what holding (and decoding) the line would take."""
    path = tmp_path / "huge.jsonl"
    head = b'{"ts": 1700000000, "account_id": "a", "prompt": "'
    with open(path, "wb") as f:
        f.write(GOOD1 + b"\n")
        f.write(head)
        chunk = b"z" * (1 << 20)
        f.writelines(chunk for _ in range(50))
        f.write(b'"}\n')
        f.write(GOOD2 + b"\n")
    huge_line = len(head) + 50 * (1 << 20) + 3
    db = tmp_path / "huge.db"
    with open(tmp_path / "stderr.txt", "wb") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "farmhound", "ingest", str(path), "--db", str(db), "--json"],
            stdout=subprocess.PIPE, stderr=err_file,
        )  # fmt: skip
        out = proc.stdout.read()
        proc.stdout.close()
        # wait4: the child's own peak RSS, including the reader processes it waited for (KiB on Linux)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024
    assert proc.returncode == 0, (tmp_path / "stderr.txt").read_text()[-2000:]
    summary = orjson.loads(out)
    assert accounting(summary) == (3, 2, 0, 1) and summary["reasons"] == {"line too long": 1}
    with Store(db) as store:
        assert request_ids(store) == ["r1", "r2"]
        [(line, reason, detail, raw)] = quarantine(store)
    assert (line, reason) == (2, "line too long")
    assert f"{huge_line:,} bytes" in detail
    assert len(raw.encode()) < RAW_MAX + 200
    listing = cli("info", "--db", db, "--quarantine", 5).stdout
    assert quarantine_table_has(listing, "huge.jsonl", 2, "line too long")
    if sys.platform.startswith("linux"):
        assert peak_mb < 300, f"peak RSS {peak_mb:.0f} MB for a 50 MB line"
