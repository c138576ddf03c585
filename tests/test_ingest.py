"""Ingest as a user runs it: every loader path, folders and globs, idempotency, the CLI."""

import csv
import gzip
import shutil

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import request, write_jsonl
from farmhound.cli import main
from loaders.pipeline import ingest

ACCOUNT_HEADER = ["account_id", "created_at", "email", "payment_fingerprint", "card_bin", "billing_country",
                  "signup_ip", "org_id", "tier", "verified"]  # fmt: skip


def write_csv(path, header, rows, gz=False):
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def request_files(tmp_path, n=25):
    recs = [request(i) for i in range(n)]
    flat = [{"request_id": r["request_id"], "ts": r["ts"], "account_id": r["account_id"], "ip": r["ip"],
             "prompt": f"task {i}", "response": r["response"]} for i, r in enumerate(recs)]  # fmt: skip
    header = list(flat[0])
    return {
        "jsonl": lambda: write_jsonl(tmp_path / "r.jsonl", recs),
        "jsonl.gz": lambda: write_jsonl(tmp_path / "r.jsonl.gz", recs, gz=True),
        "csv": lambda: write_csv(tmp_path / "r.csv", header, [[f[h] for h in header] for f in flat]),
        "csv.gz": lambda: write_csv(tmp_path / "r.csv.gz", header, [[f[h] for h in header] for f in flat], gz=True),
        "parquet": lambda: (pq.write_table(pa.Table.from_pylist(recs), tmp_path / "r.parquet"), tmp_path / "r.parquet")[1],
    }


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "csv", "csv.gz", "parquet"])
def test_every_request_format_loads_every_row(fresh_store, tmp_path, fmt):
    path = request_files(tmp_path)[fmt]()
    [s] = ingest(fresh_store, [str(path)])
    assert (s.format, s.kind, s.rows_read, s.stored, s.duplicates, s.quarantined) == (fmt, "requests", 25, 25, 0, 0)
    info = fresh_store.info()
    assert info.requests == 25 and info.accounts == 7
    row = fresh_store.conn.execute("SELECT ts, ip_prefix FROM requests WHERE request_id = 'r3'").fetchone()
    assert row == ((1_776_816_000 + 3) * 1000, "203.0.113.0/24")


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "jsonl", "parquet"])
def test_every_account_format_loads(fresh_store, tmp_path, fmt):
    rows = [[f"acct_{i}", "2026-04-01T00:00:00Z", f"u{i}@corp.example", "pf_1", "411111", "US", "198.51.100.4",
             "org_1", "build", "true"] for i in range(5)]  # fmt: skip
    if fmt.startswith("csv"):
        path = write_csv(tmp_path / f"a.{fmt}", ACCOUNT_HEADER, rows, gz=fmt.endswith("gz"))
    else:
        dicts = [dict(zip(ACCOUNT_HEADER, r)) for r in rows]
        if fmt == "jsonl":
            path = write_jsonl(tmp_path / "a.jsonl", dicts)
        else:
            path = tmp_path / "a.parquet"
            pq.write_table(pa.Table.from_pylist(dicts), path)
    [s] = ingest(fresh_store, [str(path)])
    assert (s.kind, s.stored, s.quarantined) == ("accounts", 5, 0)
    pf = fresh_store.conn.execute("SELECT count(*) FROM accounts WHERE payment_fingerprint = 'pf_1' AND email_domain = 'corp.example' AND verified = 1").fetchone()[0]
    assert pf == 5


def test_worker_processes_give_the_same_store_as_inline(tmp_path):
    from farmhound.store import Store

    path = write_jsonl(tmp_path / "r.jsonl", [request(i) for i in range(3000)] + [b"{broken"] + [request(5)])
    dumps = []
    for workers in (False, True):
        with Store(tmp_path / f"{workers}.db") as store:
            [s] = ingest(store, [str(path)], workers=workers)
            assert (s.rows_read, s.stored, s.duplicates, s.quarantined) == (3002, 3000, 1, 1)
            dumps.append(store.conn.execute("SELECT request_id, line, ts, account_id, prompt_hash FROM requests ORDER BY rid").fetchall())
            assert store.conn.execute("SELECT line, reason FROM quarantine").fetchall() == [(3001, "invalid JSON")]
    assert dumps[0] == dumps[1]


def test_folders_and_globs(fresh_store, tmp_path):
    sub = tmp_path / "exports" / "2026" / "04"
    sub.mkdir(parents=True)
    write_jsonl(sub / "a.jsonl", [request(i) for i in range(3)])
    write_jsonl(sub / "b.jsonl.gz", [request(i) for i in range(3, 6)], gz=True)
    (sub / "notes.txt").write_text("not an export")
    summaries = ingest(fresh_store, [str(tmp_path / "exports")])
    assert sorted(s.path.rsplit("/", 1)[1] for s in summaries) == ["a.jsonl", "b.jsonl.gz"]
    assert fresh_store.info().requests == 6
    again = ingest(fresh_store, [str(tmp_path / "exports" / "**" / "*.jsonl*")])
    assert [s.status for s in again] == ["already loaded", "already loaded"]


def test_same_content_twice_stores_nothing_twice(fresh_store, tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [request(i) for i in range(10)])
    ingest(fresh_store, [str(path)])
    copy = tmp_path / "renamed.jsonl"
    shutil.copy(path, copy)
    for p in (path, copy):
        [s] = ingest(fresh_store, [str(p)])
        assert (s.status, s.rows_read, s.stored, s.duplicates) == ("already loaded", 10, 0, 10)
    assert fresh_store.info().requests == 10 and fresh_store.info().sources == 1


def test_overlapping_exports_count_duplicates(fresh_store, tmp_path):
    ingest(fresh_store, [str(write_jsonl(tmp_path / "a.jsonl", [request(i) for i in range(10)]))])
    [s] = ingest(fresh_store, [str(write_jsonl(tmp_path / "b.jsonl", [request(i) for i in range(5, 15)]))])
    assert (s.rows_read, s.stored, s.duplicates) == (10, 5, 5)
    assert fresh_store.info().requests == 15


def test_rows_without_ids_are_idempotent_across_files(fresh_store, tmp_path):
    recs = [{"ts": 1_776_816_000 + i, "account_id": "a", "prompt": f"p{i}"} for i in range(4)]
    ingest(fresh_store, [str(write_jsonl(tmp_path / "a.jsonl", recs))])
    reordered = [orjson.dumps(dict(reversed(list(r.items())))) for r in recs]  # same rows, other bytes
    [s] = ingest(fresh_store, [str(write_jsonl(tmp_path / "b.jsonl", reordered))])
    assert (s.stored, s.duplicates) == (0, 4)


def test_account_record_fills_in_an_account_seen_in_requests(fresh_store, tmp_path):
    ingest(fresh_store, [str(write_jsonl(tmp_path / "r.jsonl", [request(0)]))])
    assert fresh_store.conn.execute("SELECT has_record FROM accounts WHERE account_id = 'acct_0'").fetchone() == (0,)
    path = write_csv(tmp_path / "a.csv", ACCOUNT_HEADER, [["acct_0", "2026-04-01", "x@y.example", "pf", "", "", "", "", "", ""]])
    [s] = ingest(fresh_store, [str(path)])
    assert s.stored == 1
    assert fresh_store.conn.execute("SELECT has_record, email FROM accounts WHERE account_id = 'acct_0'").fetchone() == (1, "x@y.example")


def test_a_file_of_neither_kind_is_skipped_with_a_reason(fresh_store, tmp_path):
    path = write_csv(tmp_path / "labels.csv", ["account_id", "label"], [["a", "farm"]])
    [s] = ingest(fresh_store, [str(path)])
    assert s.status == "skipped" and "labels.csv" in s.error and "fields: account_id, label" in s.error


def test_cli_ingest_and_info_json(tmp_path):
    db = tmp_path / "cli.db"
    path = write_jsonl(tmp_path / "r.jsonl", [request(i) for i in range(12)] + [b"not json"])
    runner = CliRunner()
    res = runner.invoke(main, ["ingest", str(path), "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    out = orjson.loads(res.output)
    assert {k: out[k] for k in ("rows_read", "stored", "duplicates", "quarantined")} == {
        "rows_read": 13, "stored": 12, "duplicates": 0, "quarantined": 1}  # fmt: skip
    assert out["reasons"] == {"invalid JSON": 1} and len(out["sha256"]) == 64 and out["format"] == "jsonl"
    res = runner.invoke(main, ["info", "--db", str(db), "--json"])
    info = orjson.loads(res.output)
    assert set(info) == {"requests", "accounts", "sources", "quarantined", "templates", "clusters", "tags", "cases", "schema_version"}
    assert (info["requests"], info["accounts"], info["quarantined"], info["schema_version"]) == (12, 7, 1, 1)


def test_cli_summary_table_and_quarantine_listing(tmp_path):
    db = tmp_path / "cli.db"
    path = write_jsonl(tmp_path / "mixed.jsonl", [request(1), {"account_id": "a", "prompt": "no time"}])
    runner = CliRunner()
    res = runner.invoke(main, ["ingest", str(path), "--db", str(db)], terminal_width=160)
    assert res.exit_code == 0
    assert "mixed.jsonl" in res.output and "missing ts" in res.output
    res = runner.invoke(main, ["info", "--db", str(db), "--quarantine", "5"], terminal_width=200)
    assert "mixed.jsonl" in res.output and "missing ts" in res.output and "no time" in res.output


def test_cli_errors_name_the_cause(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["ingest", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "x.db")])
    assert res.exit_code == 1 and "nope.jsonl: no such file or folder" in res.output
    res = runner.invoke(main, ["info", "--db", str(tmp_path / "missing.db")])
    assert res.exit_code == 1 and "no such store" in res.output
    not_store = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(not_store).execute("CREATE TABLE t (x)")
    res = runner.invoke(main, ["info", "--db", str(not_store)])
    assert res.exit_code == 1 and "not a farmhound store" in res.output
    res = runner.invoke(main, ["ingest", "--bogus"])
    assert res.exit_code == 2


def test_wrong_format_flag_is_a_clear_error(fresh_store, tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [request(0)])
    [s] = ingest(fresh_store, [str(path)], fmt="csv")
    assert s.status == "failed" and "--format csv given, but the content is jsonl" in s.error


def test_hostile_file_names_and_values_are_shown_literally(tmp_path):
    db = tmp_path / "h.db"
    path = write_jsonl(tmp_path / "evil\x1b[31m.jsonl", [{"ts": "\x1b]52;c;cGF5bG9hZA==\x07[bold]x", "account_id": "a"}])
    injected = ("\x1b[31m", "\x1b]52", "\x07")
    res = CliRunner().invoke(main, ["ingest", str(path), "--db", str(db), "--json"])
    assert orjson.loads(res.output)["path"].endswith("evil\x1b[31m.jsonl")  # JSON escapes it: \u001b
    res = CliRunner().invoke(main, ["info", "--db", str(db), "--quarantine", "3"])
    assert not any(seq in res.output for seq in injected)
    assert "\\x1b" in res.output and "\\x07" in res.output  # shown as visible escapes
    assert "[bold]" in res.output  # Rich markup printed, not interpreted
