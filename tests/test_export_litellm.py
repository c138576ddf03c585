"""LiteLLM spend logs -> stored requests: the JSON API form, CSV/psql dumps, the StandardLoggingPayload
sibling, and the sample tenant base written as spend logs."""

import copy
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from helpers import CANONICAL, stored

from farmhound.sample_exports import write_litellm
from loaders.exports import litellm
from loaders.records import RecordError

FIXTURES = Path(__file__).parent / "fixtures" / "litellm"
START_MS = int(datetime(2025, 3, 2, 14, 5, 11, 204000, tzinfo=UTC).timestamp() * 1000)
convert = litellm.EXPORT.convert


def reference_row() -> dict:
    """The example row of the reference (log-formats.md §1.6), as `GET /spend/logs` returns it."""
    return orjson.loads((FIXTURES / "spend_log_row.json").read_bytes())


def load(row: dict, account_field: str | None = None) -> dict:
    return stored(convert(row, account_field))


def as_csv_row(row: dict) -> dict:
    """The row as a CSV export (psql \\copy, a BI tool) holds it: every value text, JSON columns as
    JSON text, NULL as empty, timestamps as naive UTC `YYYY-MM-DD HH:MM:SS.fff`."""

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, dict | list):
            return orjson.dumps(v).decode()
        return str(v)

    flat = {k: cell(v) for k, v in row.items()}
    for k in ("startTime", "endTime", "completionStartTime"):
        flat[k] = flat[k].replace("T", " ").removesuffix("Z")[:23]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(flat))
    w.writeheader()
    w.writerow(flat)
    return next(csv.DictReader(io.StringIO(buf.getvalue())))


# -- the documented row --------------------------------------------------------------------------


def test_reference_row_stores_what_a_user_would_look_up():
    r = load(reference_row())
    assert r["request_id"] == "chatcmpl-3f9c2a71-5d0e-4b8e-9a61-0c2f7d1e4a10"
    assert r["ts"] == START_MS
    assert r["account_id"] == "user_0042"  # `user`, the internal user owning the key
    assert r["api_key_id"] == "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
    assert r["org_id"] == "org_9"
    assert (r["ip"], r["ip_prefix"]) == ("203.0.113.45", "203.0.113.0/24")
    assert r["model"] == "gpt-4o-mini"
    assert r["system"] == "You are helpful."  # from the proxy_server_request JSON string
    assert r["prompt"] == "Give me five random usernames"
    assert r["response"] == "Here are five usernames..."
    assert (r["input_tokens"], r["output_tokens"], r["latency_ms"]) == (41, 132, 2783)
    assert r["status"] == "success"
    assert orjson.loads(r["tags"]) == ["jobID:214590", "taskName:signup_copy"]
    assert r["cache_hit"] == 0
    assert r["user_agent"] is None and r["country"] is None  # LiteLLM lacks them: never invented
    assert r["notes"] == []


def test_csv_dump_with_json_text_columns_and_naive_times_gives_the_same_request():
    from_json = load(reference_row())
    row = reference_row()
    row["request_duration_ms"] = None  # often unset: latency then comes from endTime - startTime
    from_csv = load(as_csv_row(row))
    for col in ("request_id", "ts", "account_id", "api_key_id", "org_id", "ip", "model", "system", "prompt",
                "response", "input_tokens", "output_tokens", "latency_ms", "status", "tags", "cache_hit"):  # fmt: skip
        assert from_csv[col] == from_json[col], col
    assert from_csv["latency_ms"] == 2783


def test_double_encoded_json_columns_are_read():
    row = reference_row()
    row["user"] = row["end_user"] = None
    row["requester_ip_address"] = None
    row["proxy_server_request"] = orjson.dumps(row["proxy_server_request"]).decode()  # encoded twice
    row["metadata"] = orjson.dumps(orjson.dumps(row["metadata"]).decode()).decode()
    row["response"] = orjson.dumps(orjson.dumps(row["response"]).decode()).decode()
    r = load(row)
    assert r["account_id"] == "user_0042"  # metadata.user_api_key_user_id, inside the twice-encoded metadata
    assert r["ip"] == "203.0.113.45"  # metadata.requester_ip_address
    assert r["prompt"] == "Give me five random usernames"
    assert r["response"] == "Here are five usernames..."


def test_account_order_falls_back_to_end_user_then_key_owner_then_key():
    row = reference_row()
    row["user"] = ""
    assert load(row)["account_id"] == "cust_7731"
    row["end_user"] = None
    assert load(row)["account_id"] == "user_0042"  # metadata.user_api_key_user_id
    row["metadata"] = {}
    assert load(row)["account_id"] == row["api_key"]


def test_account_field_option_picks_any_path_even_inside_json_text():
    csv_row = as_csv_row(reference_row())
    assert load(csv_row, "end_user")["account_id"] == "cust_7731"
    assert load(csv_row, "metadata.user_api_key_alias")["account_id"] == "farm-key-17"


def test_row_without_any_account_is_rejected_with_the_fields_tried():
    row = reference_row()
    row.update(user=None, end_user=None, api_key="", metadata={})
    with pytest.raises(RecordError) as e:
        convert(row)
    assert e.value.reason == "missing account_id"
    assert "end_user" in e.value.detail


# -- content storage ---------------------------------------------------------------------------------


def test_content_not_stored_is_missing_and_noted():
    row = as_csv_row(reference_row())
    row.update(messages="{}", response="{}", proxy_server_request="{}")
    r = load(row)
    assert r["prompt"] is None and r["system"] is None and r["response"] is None
    assert r["notes"] == ["prompt not stored", "response not stored"]
    assert (r["account_id"], r["input_tokens"]) == ("user_0042", 41)  # the request itself is kept


@pytest.mark.parametrize(
    "marker",
    [
        "... (litellm_truncated skipped 48211 chars. Increase MAX_STRING_LENGTH_PROMPT_IN_DB) ...",
        "... (litellm_truncated skipped 48211 chars) ...",
        "... (<LITELLM_TRUNCATED_PAYLOAD_FIELD> skipped 48211 chars) ...",  # as the reference spells it
    ],
)
def test_truncated_prompt_keeps_its_text_and_is_noted(marker):
    text = "Summarise this contract: WHEREAS" + marker + "signed in duplicate."
    row = reference_row()
    row["proxy_server_request"] = orjson.dumps(
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    ).decode()
    r = load(row)
    assert r["prompt"] == text
    assert r["notes"] == ["payload truncated by LiteLLM"]


def test_truncated_response_is_noted():
    row = reference_row()
    row["response"]["choices"][0]["message"]["content"] = (
        "Once upon a (litellm_truncated skipped 9000 chars) ... the end."
    )
    r = load(row)
    assert r["response"].endswith("the end.")
    assert r["notes"] == ["payload truncated by LiteLLM"]


def test_request_body_cut_mid_json_is_noted_not_stored_as_prompt():
    row = reference_row()
    row["proxy_server_request"] = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "abc'
    r = load(row)
    assert r["prompt"] is None
    assert r["notes"] == ["prompt not parsable"]


def test_response_cut_mid_json_is_noted_not_stored_as_text():
    row = as_csv_row(reference_row())
    row["response"] = row["response"][:80]  # a spreadsheet's cell limit, say
    r = load(row)
    assert r["response"] is None
    assert r["notes"] == ["response not parsable"]


def test_messages_column_of_older_versions_wins_over_the_request_body():
    row = reference_row()
    row["messages"] = [{"role": "user", "content": "from the messages column"}]
    assert load(row)["prompt"] == "from the messages column"
    row["proxy_server_request"] = row["proxy_server_request"][:40]  # even when the body is cut
    assert load(row)["prompt"] == "from the messages column"
    assert load(row)["notes"] == []


def test_multimodal_prompt_keeps_a_marker_for_the_image():
    row = reference_row()
    parts = [
        {"type": "text", "text": "Describe this image"},
        {"type": "image_url", "image_url": {"url": "https://x/a.png"}},
    ]
    row["proxy_server_request"] = {"model": "gpt-4o", "messages": [{"role": "user", "content": parts}]}
    assert load(row)["prompt"] == "Describe this image\n[image_url]"


def test_anthropic_passthrough_body_keeps_its_system_prompt():
    row = reference_row()
    row["proxy_server_request"] = {
        "model": "claude-3-5-haiku",
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 64,
    }
    row["response"] = {"id": "msg_1", "type": "message", "content": [{"type": "text", "text": "Hello."}]}
    r = load(row)
    assert (r["system"], r["prompt"], r["response"], r["max_tokens"]) == ("You are terse.", "hi", "Hello.", 64)


def test_embedding_call_stores_its_input_and_notes_the_response_has_no_text():
    row = reference_row()
    row["call_type"] = "aembedding"
    row["proxy_server_request"] = {"model": "text-embedding-3-small", "input": ["alpha", "beta"]}
    row["response"] = {"object": "list", "data": [{"embedding": [0.1, 0.2]}]}
    r = load(row)
    assert r["prompt"] == "alpha\nbeta"
    assert r["response"] is None
    assert r["notes"] == ["response not text"]


def test_tool_call_reply_is_shown_as_a_marker():
    row = reference_row()
    msg = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
    }
    row["response"]["choices"][0]["message"] = msg
    assert load(row)["response"] == "[tool_call get_weather]"


def test_request_parameters_come_from_the_client_body():
    row = reference_row()
    row["proxy_server_request"] = orjson.dumps(
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "max_tokens": 256, "temperature": 0.2}
    ).decode()
    r = load(row)
    assert (r["max_tokens"], r["temperature"]) == (256, 0.2)


# -- cache hits, failures, the StandardLoggingPayload --------------------------------------------------


def test_cache_hit_keeps_its_own_request_id_and_is_flagged():
    original = reference_row()
    hit = reference_row()
    hit["request_id"] += "_cache_hit1740924400.5123"
    hit["cache_hit"] = "True"
    suffix_only = reference_row()
    suffix_only["request_id"] += "_cache_hit1740924500.01"
    suffix_only["cache_hit"] = ""
    rows = [load(r) for r in (original, hit, suffix_only)]
    assert len({r["request_id"] for r in rows}) == 3  # a cache hit is a request of its own
    assert [r["cache_hit"] for r in rows] == [0, 1, 1]


def test_failure_row_shows_the_error_class_and_is_not_noted_as_missing_a_response():
    row = as_csv_row(reference_row())
    meta = orjson.loads(row["metadata"])
    meta["error_information"] = {"error_code": "429", "error_class": "RateLimitError", "llm_provider": "openai"}
    row.update(status="failure", response="{}", completion_tokens="0", metadata=orjson.dumps(meta).decode())
    r = load(row)
    assert r["status"] == "failure: RateLimitError"
    assert r["response"] is None
    assert r["notes"] == []


def test_standard_logging_payload_with_float_epoch_times():
    slp = {
        "id": "chatcmpl-9a1", "trace_id": "t-1", "call_type": "acompletion", "response_cost": 0.0002,
        "status": "success", "total_tokens": 30, "prompt_tokens": 12, "completion_tokens": 18,
        "startTime": START_MS / 1000, "endTime": START_MS / 1000 + 1.25, "completionStartTime": START_MS / 1000 + 0.4,
        "model": "gpt-4o-mini", "model_group": "gpt-4o-mini", "api_base": "https://api.openai.com/v1",
        "metadata": {"user_api_key_hash": "ab12", "user_api_key_user_id": "user_7", "user_api_key_org_id": "org_2",
                     "requester_ip_address": "198.51.100.23"},
        "cache_hit": True, "request_tags": ["batch-3"], "end_user": "",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
        "response": {"choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}}]},
        "model_parameters": {"max_tokens": 16, "temperature": 0.0},
    }  # fmt: skip
    r = load(slp)
    assert r["request_id"] == "chatcmpl-9a1"
    assert r["ts"] == START_MS
    assert r["latency_ms"] == 1250
    assert (r["account_id"], r["api_key_id"], r["org_id"]) == ("user_7", "ab12", "org_2")
    assert r["ip_prefix"] == "198.51.100.0/24"
    assert (r["system"], r["prompt"], r["response"]) == ("Be brief.", "2+2?", "4")
    assert (r["max_tokens"], r["temperature"], r["cache_hit"]) == (16, 0.0, 1)


def test_per_day_summary_rows_are_rejected_with_a_hint():
    summary = {"startTime": "2025-03-02", "spend": 1.25, "users": {"user_0042": 1.25}, "models": {"gpt-4o": 1.25}}
    assert litellm.detect(summary)
    with pytest.raises(RecordError) as e:
        convert(summary)
    assert "summarize=false" in e.value.detail


def test_detect_accepts_json_rows_and_csv_headers_only():
    assert litellm.detect(reference_row())
    assert litellm.detect({k: "" for k in reference_row()})  # a CSV header
    assert not litellm.detect({"ts": "2025-03-02T14:05:11Z", "account_id": "a", "prompt": "x"})
    bedrock = orjson.loads((FIXTURES.parent / "bedrock" / "converse_record.json").read_bytes())
    assert not litellm.detect(bedrock)


def test_convert_does_not_change_the_source_row():
    row = as_csv_row(reference_row())
    before = copy.deepcopy(row)
    convert(row)
    assert row == before


# -- the sample tenant base as spend logs ---------------------------------------------------------------


SAME = ("request_id", "ts", "account_id", "ip", "ip_prefix", "model", "system", "prompt", "conversation", "response",
        "turns", "input_tokens", "output_tokens", "max_tokens", "temperature", "latency_ms")  # fmt: skip


def test_sample_written_as_spend_logs_loads_back_as_the_same_requests(tmp_path):
    path = write_litellm(iter(CANONICAL), tmp_path)
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert len(rows) == len(CANONICAL)
    for row, canonical in zip(rows, CANONICAL):
        assert litellm.detect(row)
        got, want = load(row), stored(canonical)
        for col in SAME:
            assert got[col] == want[col], (canonical["request_id"], col)
        assert got["user_agent"] is None and got["country"] is None  # not in the format, not written
    failed = load(rows[2])
    assert failed["status"] == "failure: RateLimitError"
    assert failed["notes"] == []
    first = load(rows[0])
    assert first["api_key_id"] != "key_1" and len(first["api_key_id"]) == 64  # the key is stored hashed
    assert load(rows[1])["api_key_id"] == load(rows[2])["api_key_id"]  # the same key hashes the same


def test_sample_spend_logs_are_byte_identical_for_the_same_requests(tmp_path):
    a = write_litellm(CANONICAL, tmp_path / "a").read_bytes()
    b = write_litellm(CANONICAL, tmp_path / "b").read_bytes()
    assert a == b


def test_generated_tenant_base_round_trips_through_spend_logs(tmp_path):
    from farmhound.sample import generate

    generate(tmp_path, scale=0.05, seed=3)
    canonical = [orjson.loads(line) for line in (tmp_path / "requests.jsonl").read_bytes().splitlines()]
    path = write_litellm(canonical, tmp_path / "litellm")
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert len(rows) == len(canonical) > 100
    for row, c in zip(rows, canonical):
        got, want = load(row), stored(c)
        assert [got[k] for k in SAME] == [want[k] for k in SAME]
