"""Export formats as a user meets them: sniffing, --format, --account-field, --map and map files,
the `formats` command, and rows joined from a batch's input file."""

from pathlib import Path

import orjson
import pytest
from helpers import T0, accounting, cli, cli_json, one, q, write, write_csv, write_jsonl

from loaders.exports import CANONICAL, EXPORTS, detect_export, load_all
from loaders.pipeline import ingest


def event(i: int) -> dict:
    """A row of an export nobody wrote a loader for."""
    return {
        "event": {"id": f"ev-{i}", "time": T0 + i, "kind": "completion"},
        "actor": {"email": f"user{i % 2}@example.com", "ip": "198.51.100.7"},
        "payload": {"input": f"question {i}", "output": f"answer {i}"},
    }


MAP = ["request_id=event.id", "ts=event.time", "account_id=actor.email", "ip=actor.ip",
       "prompt=payload.input", "response=payload.output"]  # fmt: skip


def test_map_loads_an_unknown_layout_by_dotted_paths(tmp_path):
    path = write_jsonl(tmp_path / "events.jsonl", [event(i) for i in range(4)])
    db = tmp_path / "s.db"
    out = cli_json("ingest", path, "--db", db, "--json", *[a for m in MAP for a in ("--map", m)])
    assert accounting(out) == (4, 4, 0, 0)
    assert out["options"]["map"]["account_id"] == "actor.email"
    rows = cli_json("info", "--db", db, "--json")
    assert rows["requests"] == 4 and rows["accounts"] == 2
    from farmhound.store import Store

    with Store(db) as store:
        assert q(store, "SELECT request_id, ts, account_id, ip_prefix FROM requests ORDER BY rid LIMIT 1") == [
            ("ev-0", T0 * 1000, "user0@example.com", "198.51.100.0/24")
        ]
        assert one(store, "SELECT text FROM prompts WHERE hash = (SELECT prompt_hash FROM requests LIMIT 1)") == "question 0"


def test_a_saved_map_file_loads_the_next_export_the_same_way(tmp_path):
    first = write_jsonl(tmp_path / "week1.jsonl", [event(i) for i in range(3)])
    second = write_jsonl(tmp_path / "week2.jsonl", [event(i) for i in range(3, 6)])
    db, saved = tmp_path / "s.db", tmp_path / "events.toml"
    cli("ingest", first, "--db", db, "--save-map", saved, *[a for m in MAP for a in ("--map", m)])
    assert 'account_id = "actor.email"' in saved.read_text()
    out = cli_json("ingest", second, "--db", db, "--json", "--map-file", saved)
    assert accounting(out) == (3, 3, 0, 0) and out["options"]["map"]["ts"] == "event.time"


def test_map_on_a_csv_maps_columns_by_header_name(fresh_store, tmp_path):
    rows = [{"Event Time": T0 + i, "Customer": f"c{i % 2}", "Question": f"q{i}"} for i in range(3)]
    path = write_csv(tmp_path / "x.csv", rows)
    fm = {"ts": "Event Time", "account_id": "Customer", "prompt": "Question"}
    [s] = ingest(fresh_store, [str(path)], field_map=fm)
    assert accounting(s) == (3, 3, 0, 0)
    assert [r[0] for r in q(fresh_store, "SELECT account_id FROM requests ORDER BY rid")] == ["c0", "c1", "c0"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--map", "accountid=actor.email"], "'accountid' is not a canonical field"),
        (["--map", "account_id"], "expected canonical=source.path"),
        (["--map-file", "missing.toml"], "cannot read"),
    ],
)
def test_a_bad_map_is_a_usage_error_naming_the_entry(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    path = write_jsonl(tmp_path / "events.jsonl", [event(1)])
    result = cli("ingest", path, "--db", tmp_path / "s.db", *args, expect=2)
    assert message in result.output
    assert not (tmp_path / "s.db").exists()  # nothing was started


def test_a_broken_map_file_names_the_file(tmp_path):
    bad = write(tmp_path / "m.toml", b"[map\naccount_id = 1\n")
    path = write_jsonl(tmp_path / "events.jsonl", [event(1)])
    result = cli("ingest", path, "--db", tmp_path / "s.db", "--map-file", bad, expect=2)
    assert "m.toml: not a TOML field map" in result.output


def test_account_field_picks_the_account_and_is_recorded_with_the_source(fresh_store, tmp_path):
    rows = [{"ts": T0 + i, "account_id": "shared-nat", "meta": {"login": f"student{i}"}} for i in range(3)]
    path = write_jsonl(tmp_path / "r.jsonl", rows)
    [s] = ingest(fresh_store, [str(path)], account_field="meta.login")
    assert accounting(s) == (3, 3, 0, 0)
    assert [r[0] for r in q(fresh_store, "SELECT account_id FROM requests ORDER BY rid")] == [
        "student0", "student1", "student2"
    ]  # fmt: skip
    [src] = fresh_store.sources()
    assert orjson.loads(src.options) == {"account_field": "meta.login", "format": "canonical"}


def test_an_account_field_that_is_empty_quarantines_the_row_with_the_field_named(fresh_store, tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"ts": T0, "account_id": "a", "meta": {}}])
    [s] = ingest(fresh_store, [str(path)], account_field="meta.login")
    assert accounting(s) == (1, 0, 0, 1) and s.reasons == {"missing account_id": 1}


def test_every_export_is_listed_by_the_formats_command():
    out = cli_json("formats", "--json")
    assert [f["name"] for f in out] == list(load_all())
    assert {"canonical", "litellm", "bedrock", "openai-batch", "anthropic-batch", "langfuse", "helicone",
            "openrouter"} <= {f["name"] for f in out}  # fmt: skip
    text = cli("formats").output
    assert "litellm" in text and "bedrock" in text


def test_canonical_rows_are_not_claimed_by_any_other_export():
    row = {"request_id": "r1", "ts": T0, "account_id": "a", "prompt": "hi", "model": "m"}
    assert detect_export(row) is CANONICAL
    assert detect_export(dict.fromkeys(row, "")) is CANONICAL  # as a CSV header
    assert [e.name for e in load_all().values() if e is not CANONICAL and e.detect(row)] == []
    assert EXPORTS["canonical"].convert(row) is row  # no copy on the hot path


def batch_pair(folder, user: str, created: int):
    """An OpenAI batch: input and output files whose custom_ids (req-1, req-2) every batch reuses."""
    inputs = [{"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": "gpt-4o-mini", "user": user, "messages": [
                   {"role": "system", "content": "Be brief."}, {"role": "user", "content": f"{user} asks {i}"}]}}
              for i in (1, 2)]  # fmt: skip
    outputs = [{"id": f"batch_req_{user}{i}", "custom_id": f"req-{i}", "error": None, "response": {
        "status_code": 200, "request_id": f"req_{user}_{i}", "body": {
            "id": f"chatcmpl-{user}{i}", "object": "chat.completion", "created": created, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"answer {i}"}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2}}}} for i in (1, 2)]  # fmt: skip
    outputs.append({"id": "batch_req_err", "custom_id": "req-3", "response": None,
                    "error": {"code": "invalid_request_error", "message": "Invalid model ID provided."}})
    return write_jsonl(folder / "input.jsonl", inputs), write_jsonl(folder / "output.jsonl", outputs)


def test_batch_outputs_join_the_input_file_of_their_own_batch(fresh_store, tmp_path):
    a_in, a_out = batch_pair(tmp_path / "batch_a", "alice", T0)
    b_in, b_out = batch_pair(tmp_path / "batch_b", "bob", T0 + 60)
    summaries = ingest(fresh_store, [str(tmp_path)])
    by_name = {(s.path.split("/")[-2], s.path.split("/")[-1]): s for s in summaries}
    assert by_name["batch_a", "input.jsonl"].kind == "companion"
    out = by_name["batch_a", "output.jsonl"]
    # the error line has no time and no input line to name its account: quarantined, with its reason
    assert accounting(out) == (3, 2, 0, 1) and out.reasons == {"missing account_id": 1}
    rows = q(fresh_store, """SELECT r.account_id, p.text, r.ts FROM requests r JOIN prompts p ON p.hash = r.prompt_hash
                             ORDER BY r.account_id, p.text""")  # fmt: skip
    assert rows == [("alice", "alice asks 1", T0 * 1000), ("alice", "alice asks 2", T0 * 1000),
                    ("bob", "bob asks 1", (T0 + 60) * 1000), ("bob", "bob asks 2", (T0 + 60) * 1000)]  # fmt: skip
    assert one(fresh_store, "SELECT count(DISTINCT system_hash) FROM requests") == 1


def test_a_batch_output_without_its_input_file_is_stored_and_says_what_it_lacks(fresh_store, tmp_path):
    _, out_path = batch_pair(tmp_path, "alice", T0)
    [s] = ingest(fresh_store, [str(out_path)], account_field="custom_id")
    assert accounting(s) == (3, 3, 0, 0)
    assert s.notes.get("prompt in the batch input file (not given)") == 3
    assert one(fresh_store, "SELECT count(*) FROM requests WHERE ts IS NULL") == 1  # the error line
    assert one(fresh_store, "SELECT count(*) FROM requests WHERE prompt_hash IS NOT NULL") == 0


def test_one_tenant_base_written_in_three_formats_loads_to_the_same_accounts_and_requests(tmp_path):
    """`farmhound sample --format canonical|litellm|bedrock` with one seed, each ingested into its own
    store: the same accounts, the same requests per account, the same prompt and response texts."""
    from farmhound.store import Store

    seen = {}
    for fmt in ("canonical", "litellm", "bedrock"):
        out, db = tmp_path / fmt, tmp_path / f"{fmt}.db"
        cli("sample", "--out", out, "--scale", "0.05", "--seed", "5", "--format", fmt)
        summaries = cli_json("ingest", out, "--db", db, "--json")
        requests = [s for s in summaries if s["kind"] == "requests"]
        assert all(s["quarantined"] == 0 for s in summaries)
        assert {s["options"]["format"] for s in requests} == {fmt}
        with Store(db) as store:
            seen[fmt] = (
                q(store, "SELECT account_id, count(*) FROM requests GROUP BY account_id ORDER BY account_id"),
                q(store, "SELECT count(*), count(DISTINCT ts / 1000) FROM requests"),
                q(store, "SELECT text FROM prompts WHERE hash IN (SELECT prompt_hash FROM requests) ORDER BY text"),
                q(store, "SELECT text FROM responses ORDER BY text"),
                one(store, "SELECT count(*) FROM accounts WHERE has_record"),
            )
    assert seen["canonical"][0] and seen["canonical"][2]
    assert seen["litellm"] == seen["canonical"]
    assert seen["bedrock"] == seen["canonical"]


EXAMPLES = orjson.loads((Path(__file__).parent / "fixtures/reference_examples/first_rows.json").read_bytes())


@pytest.mark.parametrize("container", ["jsonl", "json.gz", "csv"])
@pytest.mark.parametrize("name", [n for n in EXAMPLES if n != "portkey"])
def test_sniffing_picks_the_loader_of_every_reference_example(tmp_path, name, container):
    from loaders.formats import sniff

    rows = EXAMPLES[name]
    if container == "csv":  # nested values as JSON text, as CSV exports hold them
        header = sorted({k for r in rows for k in r})
        flat = [{k: orjson.dumps(v).decode() if isinstance(v, dict | list) else v for k, v in r.items()} for r in rows]
        path = write_csv(tmp_path / "x.csv", flat, header=header)
    elif container == "json.gz":
        path = write(tmp_path / "x.json.gz", orjson.dumps(rows), gz=True)
    else:
        path = write_jsonl(tmp_path / "x.jsonl", rows)
    assert sniff(path).export == name


def test_a_custom_id_repeated_in_one_folder_is_not_joined_to_either_batch(fresh_store, tmp_path):
    a_in, a_out = batch_pair(tmp_path, "alice", T0)
    other = [orjson.loads(line) for line in a_in.read_bytes().splitlines()]
    for row in other:
        row["body"]["user"] = "mallory"
    write_jsonl(tmp_path / "input_2.jsonl", other)  # another batch's input, same custom_ids, same folder
    summaries = {s.path.rsplit("/", 1)[-1]: s for s in ingest(fresh_store, [str(tmp_path)])}
    out = summaries["output.jsonl"]
    assert out.stored == 0 and out.reasons == {"missing account_id": 3}  # never mallory's account
    assert one(fresh_store, "SELECT count(*) FROM requests WHERE account_id = 'mallory'") == 0


def test_forcing_the_batch_format_also_takes_its_input_file(fresh_store, tmp_path):
    batch_pair(tmp_path, "alice", T0)
    summaries = ingest(fresh_store, [str(tmp_path)], fmt="openai-batch")
    assert [s.status for s in summaries] == ["loaded", "loaded"]
    assert one(fresh_store, "SELECT count(*) FROM requests WHERE account_id = 'alice'") == 2


def test_a_damaged_json_document_is_quarantined_not_a_crash(fresh_store, tmp_path):
    big = orjson.dumps([{"ts": T0 + i, "account_id": "a", "prompt": "x" * 200} for i in range(500)])
    path = write(tmp_path / "cut.json", big[: len(big) // 2])  # a truncated download, over 64 KB
    [s] = ingest(fresh_store, [str(path)])
    assert accounting(s) == (1, 0, 0, 1) and s.reasons == {"invalid JSON": 1}


def test_a_batch_output_alone_is_refused_so_a_later_run_with_its_input_joins_it(fresh_store, tmp_path):
    a_in, a_out = batch_pair(tmp_path, "alice", T0)
    [alone] = ingest(fresh_store, [str(a_out)])
    assert alone.status == "failed" and "input file (openai-batch-input)" in alone.error
    assert fresh_store.info().requests == 0 and fresh_store.info().sources == 0  # nothing recorded as done
    summaries = ingest(fresh_store, [str(a_in), str(a_out)])
    assert [s.status for s in summaries] == ["loaded", "loaded"]
    assert one(fresh_store, "SELECT count(*) FROM requests WHERE account_id = 'alice'") == 2


def test_a_big_json_export_is_sniffed_from_its_first_elements(tmp_path):
    """An API's JSON array of rows over 64 KB: sniffed from the elements complete in the head
    (quotes and brackets inside strings do not confuse it), loaded whole by the reader."""
    from loaders.formats import sniff

    rows = [dict(EXAMPLES["litellm"][0], request_id=f"chatcmpl-{i}", user=f"u{i % 7}",
                 proxy_server_request='{"messages": [{"role": "user", "content": "q \\\\"]}[ ' + str(i) + '"}]}')
            for i in range(400)]  # fmt: skip
    path = write(tmp_path / "spend_logs.json", orjson.dumps(rows))
    assert path.stat().st_size > 64 * 1024
    assert sniff(path).export == "litellm"
