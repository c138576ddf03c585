"""Ingest as a user runs it, through the API and the CLI: every loader path, folders and globs,
idempotency (by SHA-256, by request id, by content hash), account records, `info --json`, clear
errors, and hostile file names and values shown literally on the terminal."""

import gzip
import shutil
import sqlite3
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pytest
from helpers import (
    ACCOUNT_HEADER,
    T0,
    account,
    accounting,
    cli,
    cli_json,
    csv_bytes,
    jsonl_bytes,
    one,
    prompt_text,
    q,
    quarantine_table_has,
    req,
    request_ids,
    sha256,
    source_accounting,
    write,
    write_csv,
    write_jsonl,
    write_parquet,
)  # fmt: skip

from farmhound.store import SCHEMA_VERSION, Store
from loaders.formats import SourceError
from loaders.pipeline import ingest

FORMATS = ["jsonl", "jsonl.gz", "csv", "csv.gz", "parquet"]
INFO_KEYS = {"requests", "accounts", "sources", "quarantined", "templates", "clusters", "tags", "cases", "schema_version"}  # fmt: skip
SUMMARY_KEYS = {"path", "format", "sha256", "rows_read", "stored", "duplicates", "quarantined", "reasons"}  # DESIGN §8


def write_as(path_stem, fmt: str, rows, header=None):
    """Write rows in one of FORMATS; the file name ends with the format."""
    path = path_stem.with_name(f"{path_stem.name}.{fmt}")
    if fmt == "parquet":
        return write_parquet(path, rows)
    gz = fmt.endswith(".gz")
    if fmt.startswith("jsonl"):
        return write(path, jsonl_bytes(rows), gz)
    return write(path, csv_bytes(rows, header), gz)


def run_ingest(route: str, db, paths, **kw) -> list[dict]:
    """Ingest through the API or the CLI; the summaries as `--json` dicts."""
    if route == "api":
        with Store(db) as store:
            return [s.to_json() for s in ingest(store, [str(p) for p in paths], **kw)]
    out = cli_json("ingest", *paths, "--db", db, "--json")
    return out if isinstance(out, list) else [out]


def info_json(db) -> dict:
    return cli_json("info", "--db", db, "--json")


def jan_2024_ms(day: int) -> int:
    return int(datetime(2024, 1, day, tzinfo=UTC).timestamp()) * 1000


# -- every loader path ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["api", "cli"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_request_records_load_from_every_format(tmp_path, fmt, route):
    rows = [req(i) for i in range(5)]
    path = write_as(tmp_path / "requests", fmt, rows)
    db = tmp_path / "s.db"
    [s] = run_ingest(route, db, [path])
    assert SUMMARY_KEYS <= set(s)
    assert (s["format"], s["kind"], s["status"], s["sha256"]) == (fmt, "requests", "loaded", sha256(path))
    assert accounting(s) == (5, 5, 0, 0) and s["reasons"] == {}
    with Store(db) as store:
        got = q(store, "SELECT request_id, ts, account_id, ip, ip_prefix, model, prompt_hash, input_tokens, line "
                       "FROM requests ORDER BY ts")  # fmt: skip
        assert [g[:6] for g in got] == [
            (f"r{i}", (T0 + i) * 1000, f"acct{i % 3}", f"203.0.113.{i}", "203.0.113.0/24", "model-a") for i in range(5)
        ]
        assert [prompt_text(store, g[6]) for g in got] == [f"prompt number {i}" for i in range(5)]
        assert [g[7] for g in got] == [10 + i for i in range(5)]  # integers, whatever the container
        first_line = 2 if fmt.startswith("csv") else 1  # CSV: line 1 is the header
        assert [g[8] for g in got] == list(range(first_line, first_line + 5))
        [src] = store.sources()
        assert (src.path, src.size, src.sha256, src.format, src.kind, src.status) == (
            str(path), path.stat().st_size, sha256(path), fmt, "requests", "complete")  # fmt: skip
        assert (src.rows_read, src.stored, src.duplicates, src.quarantined) == (5, 5, 0, 0)
        assert src.tool_version and src.started_at and src.finished_at
    assert info_json(db)["requests"] == 5 and info_json(db)["accounts"] == 3


@pytest.mark.parametrize("route", ["api", "cli"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_account_records_load_from_every_format(tmp_path, fmt, route):
    rows = [account(i) for i in range(3)]
    if fmt.startswith("jsonl") or fmt == "parquet":
        rows = [dict(r, verified=True) for r in rows]  # typed containers carry a real boolean
    path = write_as(tmp_path / "accounts", fmt, rows, header=ACCOUNT_HEADER)
    db = tmp_path / "s.db"
    [s] = run_ingest(route, db, [path])
    assert (s["format"], s["kind"], s["status"]) == (fmt, "accounts", "loaded")
    assert accounting(s) == (3, 3, 0, 0)
    with Store(db) as store:
        got = q(store, "SELECT account_id, has_record, created_at, email, email_domain, payment_fingerprint, card_bin, "
                       "billing_country, signup_ip, signup_ip_prefix, org_id, tier, verified FROM accounts "
                       "ORDER BY account_id")  # fmt: skip
        assert got == [
            (f"acct{i}", 1, jan_2024_ms(i + 1), f"User{i}@Example.COM", "example.com", f"pf{i}", "411111", "US",
             f"198.51.100.{i}", "198.51.100.0/24", f"org{i}", "free", 1)
            for i in range(3)
        ]  # fmt: skip
    info = info_json(db)
    assert (info["accounts"], info["requests"], info["sources"]) == (3, 0, 1)


def test_parquet_timestamp_columns(fresh_store, tmp_path):
    schema = pa.schema([("request_id", pa.string()), ("ts", pa.timestamp("ms", tz="UTC")),
                        ("created_at", pa.timestamp("us")), ("account_id", pa.string())])  # fmt: skip
    moment = datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
    rows = [{"request_id": "p1", "ts": moment, "created_at": None, "account_id": "a"},
            {"request_id": "p2", "ts": None, "created_at": moment.replace(tzinfo=None), "account_id": "a"}]  # fmt: skip
    path = write_parquet(tmp_path / "ts.parquet", rows, schema=schema)
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (2, 2, 0, 0)
    want = int(moment.timestamp() * 1000)
    assert q(fresh_store, "SELECT request_id, ts FROM requests ORDER BY request_id") == [("p1", want), ("p2", want)]


def test_format_is_sniffed_from_content_not_the_name(fresh_store, tmp_path):
    path = write(tmp_path / "export.log", jsonl_bytes([req(1), req(2)]))
    [s] = ingest(fresh_store, [str(path)])
    assert (s.format, accounting(s)) == ("jsonl", (2, 2, 0, 0))
    csv_named_json = write(tmp_path / "dump.txt.gz", csv_bytes([req(3)]), gz=True)
    [s] = ingest(fresh_store, [str(csv_named_json)])
    assert (s.format, accounting(s)) == ("csv.gz", (1, 1, 0, 0))


# -- folders and globs ------------------------------------------------------------------------------


def make_tree(root):
    write_jsonl(root / "a.jsonl", [req(i) for i in range(3)])
    write_csv(root / "sub" / "b.csv.gz", [req(i) for i in range(3, 5)], gz=True)
    write_parquet(root / "sub" / "deeper" / "c.parquet", [req(i) for i in range(5, 9)])
    write_csv(root / "sub" / "accounts.csv", [account(i) for i in range(2)], header=ACCOUNT_HEADER)
    write(root / "README.txt", b"not an export\n")
    write(root / "sub" / "notes.md", b"# notes\n")


@pytest.mark.parametrize("route", ["api", "cli"])
def test_a_folder_is_searched_recursively_for_exports(tmp_path, route):
    make_tree(tmp_path / "exports")
    db = tmp_path / "s.db"
    summaries = run_ingest(route, db, [tmp_path / "exports"])
    names = sorted(s["path"].rsplit("/", 1)[1] for s in summaries)
    assert names == ["a.jsonl", "accounts.csv", "b.csv.gz", "c.parquet"]
    assert all(s["status"] == "loaded" for s in summaries)
    assert sum(accounting(s)[1] for s in summaries) == 3 + 2 + 4 + 2
    info = info_json(db)
    assert (info["requests"], info["sources"], info["accounts"]) == (9, 4, 3)


@pytest.mark.parametrize("route", ["api", "cli"])
def test_glob_patterns(tmp_path, route):
    make_tree(tmp_path / "exports")
    db = tmp_path / "s.db"
    [s] = run_ingest(route, db, [tmp_path / "exports" / "**" / "*.parquet"])
    assert s["path"].endswith("c.parquet") and s["stored"] == 4
    summaries = run_ingest(route, db, [tmp_path / "exports" / "**" / "*.jsonl", tmp_path / "exports" / "sub" / "b.*"])
    assert [s["path"].rsplit("/", 1)[1] for s in summaries] == ["a.jsonl", "b.csv.gz"]
    assert info_json(db)["requests"] == 9


def test_the_same_file_named_twice_is_loaded_once(fresh_store, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [req(1), req(2)])
    summaries = ingest(fresh_store, [str(path), str(tmp_path / "*.jsonl"), str(tmp_path)])
    assert len(summaries) == 1 and summaries[0].stored == 2


def test_missing_paths_and_empty_globs_are_clear_errors(fresh_store, tmp_path):
    with pytest.raises(SourceError, match="nope.jsonl: no such file or folder"):
        ingest(fresh_store, [str(tmp_path / "nope.jsonl")])
    with pytest.raises(SourceError, match=r"\*\.parquet: the pattern matches no file"):
        ingest(fresh_store, [str(tmp_path / "*.parquet")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="holds no .jsonl, .csv or .parquet file"):
        ingest(fresh_store, [str(tmp_path / "empty")])
    res = cli("ingest", tmp_path / "nope.jsonl", "--db", tmp_path / "c.db", expect=1)
    assert "nope.jsonl: no such file or folder" in res.output
    res = cli("ingest", tmp_path / "*.parquet", "--db", tmp_path / "c.db", expect=1)
    assert "the pattern matches no file" in res.output


# -- idempotency ------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["api", "cli"])
def test_loading_the_same_file_again_stores_nothing(tmp_path, route):
    path = write_jsonl(tmp_path / "a.jsonl", [req(1), req(2), {"ts": T0}, req(3)])  # one row quarantined
    db = tmp_path / "s.db"
    [first] = run_ingest(route, db, [path])
    assert (accounting(first), first["status"]) == ((4, 3, 0, 1), "loaded")
    before = info_json(db)
    [again] = run_ingest(route, db, [path])
    assert again["status"] == "already loaded"
    assert accounting(again) == (4, 0, 3, 1)  # every row read before: a duplicate or (still) quarantined
    assert again["reasons"] == first["reasons"] == {"missing account_id": 1}
    assert again["sha256"] == first["sha256"]
    assert info_json(db) == before
    with Store(db) as store:
        assert source_accounting(store) == [(4, 3, 0, 1)]


@pytest.mark.parametrize("route", ["api", "cli"])
def test_a_renamed_copy_is_already_loaded(tmp_path, route):
    path = write_csv(tmp_path / "a.csv", [req(i) for i in range(4)])
    copy = tmp_path / "elsewhere" / "renamed-copy.csv"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    db = tmp_path / "s.db"
    run_ingest(route, db, [path])
    [s] = run_ingest(route, db, [copy])
    assert (s["status"], s["path"], accounting(s)) == ("already loaded", str(copy), (4, 0, 4, 0))
    info = info_json(db)
    assert (info["sources"], info["requests"]) == (1, 4)


def test_duplicate_request_ids_within_a_file(fresh_store, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [req(1), req(2), req(1, prompt="a later copy"), req(3), req(2)])
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (5, 3, 2, 0)
    assert request_ids(fresh_store) == ["r1", "r2", "r3"]
    h = one(fresh_store, "SELECT prompt_hash FROM requests WHERE request_id = 'r1'")
    assert prompt_text(fresh_store, h) == "prompt number 1"  # the first one wins


def test_overlapping_exports_count_the_overlap_as_duplicates(fresh_store, tmp_path):
    ingest(fresh_store, [str(write_jsonl(tmp_path / "a.jsonl", [req(i) for i in range(6)]))])
    [s] = ingest(fresh_store, [str(write_csv(tmp_path / "b.csv", [req(i) for i in range(4, 10)]))])
    assert accounting(s) == (6, 4, 2, 0)
    assert fresh_store.info().requests == 10


def idless(i: int) -> dict:
    return {"ts": T0 + i, "account_id": f"acct{i % 2}", "prompt": f"no id {i}", "model": "m", "input_tokens": i}


def test_rows_without_request_id_get_content_ids_and_reingest_stores_nothing_twice(fresh_store, tmp_path):
    rows = [idless(i) for i in range(4)]
    [a] = ingest(fresh_store, [str(write_jsonl(tmp_path / "a.jsonl", rows))])
    assert accounting(a) == (4, 4, 0, 0)
    ids = request_ids(fresh_store)
    assert len(set(ids)) == 4 and all(i.startswith("h:") for i in ids)
    # Another file (other bytes: other key order, other row order, one new row) with the same rows.
    shuffled = [dict(reversed(list(r.items()))) for r in reversed(rows)] + [idless(9)]
    [b] = ingest(fresh_store, [str(write_jsonl(tmp_path / "b.jsonl", shuffled))])
    assert b.status == "loaded" and accounting(b) == (5, 1, 4, 0)
    assert fresh_store.info().requests == 5


def test_identical_idless_rows_in_one_file_are_one_request(fresh_store, tmp_path):
    [s] = ingest(fresh_store, [str(write_jsonl(tmp_path / "a.jsonl", [idless(1), idless(1), idless(2)]))])
    assert accounting(s) == (3, 2, 1, 0)


def test_idless_rows_dedupe_across_jsonl_and_csv_exports(fresh_store, tmp_path):
    rows = [dict(idless(i), latency_ms=350, temperature=1) for i in range(3)]
    ingest(fresh_store, [str(write_jsonl(tmp_path / "a.jsonl", rows))])
    [s] = ingest(fresh_store, [str(write_csv(tmp_path / "a.csv", rows))])
    assert (s.stored, s.duplicates) == (0, 3)


# -- accounts ---------------------------------------------------------------------------------------


def test_account_record_fills_in_an_account_first_seen_in_requests(tmp_path):
    db = tmp_path / "s.db"
    run_ingest("cli", db, [write_jsonl(tmp_path / "r.jsonl", [req(0), req(1), req(3)])])  # acct0, acct1
    assert info_json(db)["accounts"] == 2
    with Store(db) as store:
        assert q(store, "SELECT account_id, has_record, email FROM accounts ORDER BY 1") == [
            ("acct0", 0, None), ("acct1", 0, None)]  # fmt: skip
    accounts = [account(0), account(9)]
    [s] = run_ingest("cli", db, [write_csv(tmp_path / "acc.csv", accounts, header=ACCOUNT_HEADER)])
    assert (s["kind"], accounting(s)) == ("accounts", (2, 2, 0, 0))
    assert info_json(db)["accounts"] == 3
    with Store(db) as store:
        assert q(store, "SELECT account_id, has_record, email, tier FROM accounts ORDER BY 1") == [
            ("acct0", 1, "User0@Example.COM", "free"), ("acct1", 0, None, None), ("acct9", 1, "User9@Example.COM", "free")]  # fmt: skip
    # A later export: acct0 moved to another tier (an update), acct9 unchanged (a duplicate).
    later = [dict(account(0), tier="pro"), account(9)]
    [s] = run_ingest("cli", db, [write_csv(tmp_path / "acc2.csv", later, header=ACCOUNT_HEADER)])
    assert accounting(s) == (2, 1, 1, 0)
    # A partial record only fills in what it has; requests seen later do not wipe the record.
    partial = {"account_id": "acct0", "email": "", "payment_fingerprint": "", "card_bin": "", "billing_country": "",
               "signup_ip": "", "org_id": "", "tier": "enterprise", "verified": "", "created_at": ""}  # fmt: skip
    run_ingest("cli", db, [write_csv(tmp_path / "acc3.csv", [partial], header=ACCOUNT_HEADER)])
    run_ingest("cli", db, [write_jsonl(tmp_path / "r2.jsonl", [req(30)])])  # acct0 again
    with Store(db) as store:
        assert q(store, "SELECT has_record, email, tier, payment_fingerprint FROM accounts WHERE account_id = 'acct0'") == [
            (1, "User0@Example.COM", "enterprise", "pf0")]  # fmt: skip
    assert info_json(db)["accounts"] == 3


def test_info_json_has_exactly_the_documented_keys_and_counts_request_only_accounts(tmp_path):
    db = tmp_path / "s.db"
    cli("ingest", write_jsonl(tmp_path / "r.jsonl", [req(i) for i in range(6)] + [{"ts": "nope", "account_id": "z"}]),
        "--db", db)  # fmt: skip
    cli("ingest", write_csv(tmp_path / "a.csv", [account(0), account(7)], header=ACCOUNT_HEADER), "--db", db)
    info = info_json(db)
    assert set(info) == INFO_KEYS
    assert info == {"requests": 6, "accounts": 4, "sources": 2, "quarantined": 1, "templates": 0, "clusters": 0,
                    "tags": 0, "cases": 0, "schema_version": SCHEMA_VERSION}  # fmt: skip


def test_info_on_a_missing_store_fails_clearly(tmp_path):
    res = cli("info", "--db", tmp_path / "none.db", "--json", expect=1)
    assert "no such store" in res.output
    assert not (tmp_path / "none.db").exists()


def test_info_on_a_database_that_is_not_a_farmhound_store_fails_clearly(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (x)")
    res = cli("info", "--db", other, expect=1)
    assert "not a farmhound store" in res.output


# -- CLI summaries and exit codes --------------------------------------------------------------------


def test_cli_summary_table_names_each_file_and_its_counts(tmp_path):
    a = write_jsonl(tmp_path / "alpha.jsonl", [req(1), req(2), {"account_id": "x"}])
    b = write_csv(tmp_path / "beta.csv", [req(2), req(3)])
    db = tmp_path / "s.db"
    res = cli("ingest", a, b, "--db", db)
    out = res.stdout
    assert "alpha.jsonl" in out and "beta.csv" in out
    assert "missing ts 1" in out
    assert "info --quarantine" in out  # tells the user where to see the rejected rows
    assert "does not add up" not in res.output
    listing = cli("info", "--db", db, "--quarantine", 5).stdout
    assert quarantine_table_has(listing, "alpha.jsonl", 3, "missing ts")
    assert '{"account_id":"x"}' in listing  # the raw text of the rejected row


def test_cli_json_is_a_list_for_several_files(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [req(1)])
    b = write_jsonl(tmp_path / "b.jsonl", [req(2)])
    out = cli_json("ingest", a, b, "--db", tmp_path / "s.db", "--json")
    assert isinstance(out, list) and [o["stored"] for o in out] == [1, 1]


def test_an_unreadable_file_fails_alone_and_the_exit_code_says_so(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [req(1), req(2)])
    bad = write(tmp_path / "table.parquet.gz", gzip.compress(b"PAR1" + b"\0" * 64 + b"PAR1"))
    out = cli_json("ingest", bad, good, "--db", tmp_path / "s.db", "--json", expect=1)
    assert out[0]["status"] == "failed" and "gzip-compressed Parquet is not supported" in out[0]["error"]
    assert (out[1]["status"], out[1]["stored"]) == ("loaded", 2)
    assert info_json(tmp_path / "s.db")["requests"] == 2


@pytest.mark.parametrize("gz", [False, True])
def test_json_documents_load_an_array_of_rows_or_one_pretty_printed_object(fresh_store, tmp_path, gz):
    array = write(tmp_path / "export.json", orjson.dumps([req(1), req(2), 7, req(3)]), gz=gz)
    pretty = write(tmp_path / "one.json", orjson.dumps(req(4), option=orjson.OPT_INDENT_2), gz=gz)
    a, p = ingest(fresh_store, [str(array), str(pretty)])
    assert (a.format, accounting(a), a.reasons) == ("json.gz" if gz else "json", (4, 3, 0, 1), {"not an object": 1})
    assert fresh_store.quarantine_rows(limit=5)[0]["line"] == 3  # the element's number in the array
    assert (p.format.removesuffix(".gz"), accounting(p)) == ("json", (1, 1, 0, 0))


def test_a_file_of_neither_kind_is_skipped_with_its_fields_named(fresh_store, tmp_path):
    path = write_csv(tmp_path / "labels.csv", [{"account_id": "a", "population": "farm"}])
    [s] = ingest(fresh_store, [str(path)])
    assert s.status == "skipped" and "labels.csv" in s.error and "account_id, population" in s.error
    assert fresh_store.info().sources == 0


def test_format_override_that_contradicts_the_content_fails_the_file(fresh_store, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [req(1)])
    [s] = ingest(fresh_store, [str(path)], fmt="litellm")
    assert s.status == "failed" and "--format litellm given, but the first row has none of its fields" in s.error
    assert fresh_store.info().requests == 0
    [s] = ingest(fresh_store, [str(path)], fmt="canonical")
    assert (s.status, s.stored) == ("loaded", 1)


# -- the worker-process path gives the same store ---------------------------------------------------


def store_dump(store: Store) -> dict:
    return {
        "requests": q(
            store,
            "SELECT request_id, line, ts, account_id, ip_prefix, prompt_hash, response_hash, "
            "input_tokens FROM requests ORDER BY request_id",
        ),
        "quarantine": q(store, "SELECT line, reason, detail, raw FROM quarantine ORDER BY line"),
        "prompts": q(store, "SELECT hash, text FROM prompts ORDER BY hash"),
        "accounts": q(store, "SELECT * FROM accounts ORDER BY account_id"),
        "sources": q(
            store, "SELECT rows_read, stored, duplicates, quarantined, resume_units, resume_lines, status FROM sources"
        ),
    }


def inline_and_workers(tmp_path, path) -> list:
    results = []
    for workers in (False, True):
        with Store(tmp_path / f"w{workers}.db") as store:
            [s] = ingest(store, [str(path)], workers=workers)
            summary = s.to_json()
            summary.pop("path")
            results.append((summary, store_dump(store)))
    return results


def test_workers_give_the_same_store_on_a_small_file(tmp_path):
    path = write_jsonl(tmp_path / "small.jsonl", [req(1), req(2), b"{oops", req(1), req(3, input_tokens="many")])
    (s0, d0), (s1, d1) = inline_and_workers(tmp_path, path)
    assert accounting(s0) == (5, 2, 1, 2)
    assert s0 == s1 and d0 == d1


def test_workers_give_the_same_store_on_a_file_read_in_several_ranges(tmp_path):
    # ~3 MB: split into byte ranges that two reader processes parse in turn; bad rows and a
    # duplicate fall in later ranges, so line numbers must be carried across ranges.
    rows = [req(i, prompt=f"prompt number {i} " + "pad " * 15) for i in range(20_000)]
    rows[15_001] = b'{"ts": 1700000000, "account_id": '
    rows[19_998] = req(7)
    rows.insert(12_345, b"")  # a blank line: not a row, but it moves the line numbers
    path = write_jsonl(tmp_path / "ranges.jsonl", rows)
    (s0, d0), (s1, d1) = inline_and_workers(tmp_path, path)
    assert accounting(s0) == (20_000, 19_998, 1, 1)
    assert d0["quarantine"][0][:2] == (15_003, "invalid JSON")
    assert s0 == s1
    assert d0 == d1


def test_workers_give_the_same_store_on_gzip_csv(tmp_path):
    rows = [req(i) for i in range(300)]
    rows[100]["ts"] = "not a time"
    path = write_csv(tmp_path / "r.csv.gz", rows, gz=True)
    (s0, d0), (s1, d1) = inline_and_workers(tmp_path, path)
    assert accounting(s0) == (300, 299, 0, 1) and d0["quarantine"][0][:2] == (102, "unparsable timestamp")
    assert s0 == s1 and d0 == d1


# -- hostile input on the terminal ------------------------------------------------------------------


def test_hostile_file_names_and_values_are_shown_literally(tmp_path):
    db = tmp_path / "h.db"
    path = write_jsonl(
        tmp_path / "evil\x1b[31m.jsonl", [{"ts": "\x1b]52;c;cGF5bG9hZA==\x07[bold]x", "account_id": "a"}]
    )
    injected = ("\x1b[31m", "\x1b]52", "\x07")
    out = cli_json("ingest", path, "--db", db, "--json")
    assert out["path"].endswith("evil\x1b[31m.jsonl")  # JSON escapes it: \u001b
    res = cli("info", "--db", db, "--quarantine", 3)
    assert not any(seq in res.output for seq in injected)
    assert "\\x1b" in res.output and "\\x07" in res.output  # shown as visible escapes
    assert "[bold]" in res.output  # Rich markup printed, not interpreted
