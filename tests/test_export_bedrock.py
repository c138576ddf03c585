"""AWS Bedrock invocation logs -> stored requests: every body shape (Converse, InvokeModel for
Anthropic / Titan / Llama / Cohere, streamed chunk arrays), offloaded bodies, non-text blocks,
failures, and the sample tenant base written in Bedrock's S3 layout."""

import copy
import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from helpers import CANONICAL, stored

from farmhound.sample_exports import BEDROCK_ACCOUNT, write_bedrock
from loaders.exports import bedrock
from loaders.records import RecordError, parse_ts

FIXTURES = Path(__file__).parent / "fixtures" / "bedrock"
TS_MS = int(datetime(2025, 3, 11, 0, 38, 2, tzinfo=UTC).timestamp() * 1000)
convert = bedrock.EXPORT.convert


def reference_record() -> dict:
    """The example record of the reference (log-formats.md §2.4): a Converse call."""
    return orjson.loads((FIXTURES / "converse_record.json").read_bytes())


def load(record: dict, account_field: str | None = None) -> dict:
    return stored(convert(record, account_field))


def invoke(model: str, body_in, body_out, operation: str = "InvokeModel", **extra) -> dict:
    """A record of the reference's shape with other bodies."""
    rec = reference_record()
    rec.update(operation=operation, modelId=model, **extra)
    rec["input"] = {"inputContentType": "application/json", "inputBodyJson": body_in, "inputTokenCount": 11}
    rec["output"] = {"outputContentType": "application/json", "outputBodyJson": body_out, "outputTokenCount": 7}
    return rec


# -- the documented record -----------------------------------------------------------------------


def test_reference_converse_record_stores_what_a_user_would_look_up():
    r = load(reference_record())
    assert r["request_id"] == "ff4b6c63-5561-4431-93b8-06a817275900"
    assert r["ts"] == TS_MS
    assert r["account_id"] == "i-0abc123"  # the role session of identity.arn
    assert r["org_id"] == "111122223333"
    assert r["model"] == "anthropic.claude-3-5-haiku-20241022-v1:0"
    assert r["system"] == "You write product reviews."
    assert r["prompt"] == "Write a 5-star review for a phone case."
    assert r["response"] == "Absolutely love this case..."
    assert (r["input_tokens"], r["output_tokens"], r["latency_ms"]) == (21, 64, 812)
    assert (r["max_tokens"], r["temperature"]) == (512, 0.7)
    for lacking in ("api_key_id", "ip", "ip_prefix", "user_agent", "country"):
        assert r[lacking] is None, lacking  # Bedrock does not log them: never invented
    assert r["notes"] == []


def test_account_is_the_whole_arn_for_other_principals_and_on_request():
    rec = reference_record()
    assert load(rec, "identity.arn")["account_id"] == "arn:aws:sts::111122223333:assumed-role/app-backend/i-0abc123"
    rec["identity"]["arn"] = "arn:aws:iam::111122223333:user/alice"
    assert load(rec)["account_id"] == "arn:aws:iam::111122223333:user/alice"
    del rec["identity"]
    assert load(rec)["account_id"] == "111122223333"  # no caller identity: the AWS account
    del rec["accountId"]
    with pytest.raises(RecordError, match="missing account_id"):
        convert(rec)


def test_record_without_timestamp_is_rejected():
    rec = reference_record()
    del rec["timestamp"]
    with pytest.raises(RecordError, match="missing ts"):
        convert(rec)


def test_caller_request_metadata_becomes_tags():
    rec = reference_record()
    rec["requestMetadata"] = {"tenant": "t-42", "feature": "reviews"}
    assert orjson.loads(load(rec)["tags"]) == ["tenant:t-42", "feature:reviews"]


def test_bodies_held_as_json_text_are_read():
    rec = reference_record()
    rec["input"]["inputBodyJson"] = orjson.dumps(rec["input"]["inputBodyJson"]).decode()
    rec["output"] = orjson.dumps(rec["output"]).decode()
    r = load(rec)
    assert (r["prompt"], r["response"], r["output_tokens"]) == (
        "Write a 5-star review for a phone case.",
        "Absolutely love this case...",
        64,
    )


# -- body shapes -------------------------------------------------------------------------------------


def test_invoke_model_anthropic_body():
    body_in = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "temperature": 0.5,
        "system": "You grade essays.",
        "messages": [
            {"role": "user", "content": "Grade this."},
            {"role": "assistant", "content": [{"type": "text", "text": "Send it."}]},
            {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "iVBOR"}},
                                         {"type": "text", "text": "Here it is."}]},
        ],
    }  # fmt: skip
    body_out = {
        "id": "msg_01",
        "type": "message",
        "content": [{"type": "text", "text": "B+"}],
        "usage": {"input_tokens": 50, "output_tokens": 2},
    }
    r = load(invoke("anthropic.claude-3-haiku-20240307-v1:0", body_in, body_out))
    assert r["system"] == "You grade essays."
    assert r["prompt"] == "[image]\nHere it is."  # the image is a marker, not dropped
    assert r["turns"] == 3
    assert orjson.loads(r["conversation"])[0] == {"role": "system", "content": "You grade essays."}
    assert r["response"] == "B+"
    assert (r["input_tokens"], r["output_tokens"]) == (11, 7)  # the record's counts win over the body's
    assert (r["max_tokens"], r["temperature"]) == (200, 0.5)


def test_invoke_model_titan_body():
    body_in = {
        "inputText": "Summarise: cats sleep a lot.",
        "textGenerationConfig": {"maxTokenCount": 128, "temperature": 0.1},
    }
    body_out = {
        "inputTextTokenCount": 8,
        "results": [{"tokenCount": 4, "outputText": "Cats nap.", "completionReason": "FINISH"}],
    }
    r = load(invoke("amazon.titan-text-express-v1", body_in, body_out))
    assert (r["prompt"], r["response"], r["max_tokens"], r["temperature"]) == (
        "Summarise: cats sleep a lot.",
        "Cats nap.",
        128,
        0.1,
    )


def test_invoke_model_llama_body():
    prompt = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\nHi<|eot_id|>"
    body_out = {"generation": "Hello!", "prompt_token_count": 9, "generation_token_count": 3, "stop_reason": "stop"}
    r = load(invoke("meta.llama3-8b-instruct-v1:0", {"prompt": prompt, "max_gen_len": 64}, body_out))
    assert (r["prompt"], r["response"], r["max_tokens"]) == (prompt, "Hello!", 64)


def test_invoke_model_cohere_body():
    body_in = {"message": "Name a colour.", "preamble": "Answer in one word.", "max_tokens": 5}
    r = load(invoke("cohere.command-r-v1:0", body_in, {"text": "Teal", "finish_reason": "COMPLETE"}))
    assert (r["system"], r["prompt"], r["response"]) == ("Answer in one word.", "Name a colour.", "Teal")


def test_converse_non_text_blocks_become_markers_and_tool_results_keep_their_text():
    body_in = {
        "messages": [
            {"role": "user", "content": [{"text": "What is in this file?"},
                                         {"document": {"name": "invoice", "format": "pdf", "source": {"bytes": "JVBE"}}},
                                         {"image": {"format": "png", "source": {"bytes": "iVBOR"}}}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "ocr", "input": {}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "Total: $12"}]}},
                                         {"cachePoint": {"type": "default"}}]},
        ],
        "system": [{"text": "Read documents."}, {"cachePoint": {"type": "default"}}],
    }  # fmt: skip
    body_out = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"text": "An invoice for $12."}, {"toolUse": {"name": "save", "input": {}}}],
            }
        }
    }
    r = load(invoke("anthropic.claude-3-5-sonnet", body_in, body_out, operation="Converse"))
    turns = orjson.loads(r["conversation"])
    assert turns[1]["content"] == "What is in this file?\n[document invoice]\n[image]"
    assert turns[2]["content"] == "[toolUse ocr]"
    assert r["prompt"] == "Total: $12"
    assert r["system"] == "Read documents."
    assert r["response"] == "An invoice for $12.\n[toolUse save]"


# -- streamed responses ---------------------------------------------------------------------------


def test_anthropic_stream_chunks_are_concatenated():
    chunks = [
        {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 11}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo there"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "name": "lookup", "input": {}}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"q\":"}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}},
        {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 11, "outputTokenCount": 7, "invocationLatency": 934, "firstByteLatency": 210}},
    ]  # fmt: skip
    body_in = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
    }
    r = load(invoke("anthropic.claude-3-haiku", body_in, chunks, operation="InvokeModelWithResponseStream"))
    assert r["response"] == "Hello there\n[tool_use lookup]"
    assert r["latency_ms"] == 934


@pytest.mark.parametrize(
    "model, body_in, chunks",
    [
        ("amazon.titan-text-lite-v1", {"inputText": "count"},
         [{"outputText": "one, two", "index": 0}, {"outputText": ", three", "index": 0, "completionReason": "FINISH"}]),
        ("meta.llama3-70b-instruct-v1:0", {"prompt": "count"},
         [{"generation": "one, two"}, {"generation": ", three", "stop_reason": "stop"}]),
        ("amazon.nova-lite-v1:0", {"messages": [{"role": "user", "content": [{"text": "count"}]}]},
         [{"messageStart": {"role": "assistant"}}, {"contentBlockDelta": {"delta": {"text": "one, two"}, "contentBlockIndex": 0}},
          {"contentBlockDelta": {"delta": {"text": ", three"}, "contentBlockIndex": 0}}, {"messageStop": {"stopReason": "end_turn"}},
          {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 5}, "metrics": {"latencyMs": 120}}}]),
        ("cohere.command-r-v1:0", {"message": "count"},
         [{"event_type": "stream-start"}, {"event_type": "text-generation", "text": "one, two"},
          {"event_type": "text-generation", "text": ", three"},
          {"event_type": "stream-end", "response": {"text": "one, two, three"}}]),
    ],
    ids=["titan", "llama", "converse-stream", "cohere"],
)  # fmt: skip
def test_stream_chunks_of_each_provider_are_concatenated(model, body_in, chunks):
    r = load(invoke(model, body_in, chunks, operation="InvokeModelWithResponseStream"))
    assert (r["prompt"], r["response"]) == ("count", "one, two, three")


# -- missing bodies and failures ---------------------------------------------------------------------


def test_bodies_offloaded_to_s3_are_missing_and_noted():
    rec = reference_record()
    rec["input"] = {
        "inputContentType": "application/json",
        "inputTokenCount": 90000,
        "inputBodyS3Path": "s3://logs/AWSLogs/111122223333/BedrockModelInvocationLogs/data/in.json.gz",
    }
    rec["output"] = {"outputContentType": "application/json", "outputTokenCount": 4000,
                     "outputBodyS3Path": "s3://logs/AWSLogs/111122223333/BedrockModelInvocationLogs/data/out.json.gz"}  # fmt: skip
    r = load(rec)
    assert r["prompt"] is None and r["system"] is None and r["response"] is None
    assert (r["input_tokens"], r["output_tokens"]) == (90000, 4000)
    assert r["notes"] == ["input body offloaded to S3", "output body offloaded to S3"]


def test_failed_invocation_shows_its_error_code():
    rec = reference_record()
    rec["errorCode"] = "ThrottlingException"
    rec["status"] = "failure"
    del rec["output"]
    r = load(rec)
    assert r["status"] == "ThrottlingException"
    assert r["prompt"] == "Write a 5-star review for a phone case."
    assert r["response"] is None
    assert r["notes"] == []


def test_unknown_output_shape_is_noted_not_guessed():
    r = load(invoke("stability.sd3-large-v1:0", {"prompt": "a red fox"}, {"seeds": [1], "images": ["iVBOR"]}))
    assert r["response"] is None
    assert r["notes"] == ["response not text"]


def test_detect():
    assert bedrock.detect(reference_record())
    assert bedrock.detect({"modelId": "", "operation": "", "input": "", "output": "", "timestamp": ""})  # a CSV header
    litellm_row = orjson.loads((FIXTURES.parent / "litellm" / "spend_log_row.json").read_bytes())
    assert not bedrock.detect(litellm_row)
    assert not bedrock.detect({"ts": "2025-03-11T00:38:02Z", "account_id": "a", "model": "m"})


def test_convert_does_not_change_the_source_record():
    rec = invoke("anthropic.claude-3-5-sonnet", {"messages": [{"role": "user", "content": [{"image": {}}]}], "system": [{"text": "s"}]},
                 {"output": {"message": {"content": [{"text": "ok"}]}}}, operation="Converse")  # fmt: skip
    before = copy.deepcopy(rec)
    convert(rec)
    assert rec == before


# -- the sample tenant base in Bedrock's S3 layout --------------------------------------------------------


SAME = ("request_id", "account_id", "model", "system", "prompt", "conversation", "response", "turns",
        "input_tokens", "output_tokens", "max_tokens", "temperature")  # fmt: skip


def read_objects(root: Path) -> dict[str, list[dict]]:
    """{object key under root: its records} of every gzipped JSON Lines object written."""
    return {
        f.relative_to(root).as_posix(): [orjson.loads(line) for line in gzip.decompress(f.read_bytes()).splitlines()]
        for f in sorted(root.rglob("*.json.gz"))
    }


def test_sample_written_as_bedrock_logs_loads_back_as_the_same_requests(tmp_path):
    root = write_bedrock(iter(CANONICAL), tmp_path)
    objects = read_objects(root)
    prefix = f"{BEDROCK_ACCOUNT}/BedrockModelInvocationLogs/us-east-1"
    hours = ("2026/04/22/09", "2026/04/23/23", "2026/04/24/01")
    assert list(objects) == [f"{prefix}/{hour}/0.json.gz" for hour in hours]
    records = [rec for recs in objects.values() for rec in recs]
    assert [rec["requestId"] for rec in records] == ["req_01", "req_02", "req_03", "req_04"]
    for rec, canonical in zip(records, CANONICAL):
        assert bedrock.detect(rec)
        got, want = load(rec), stored(canonical)
        if canonical["status"] != "ok":  # a failed invocation is logged without an output section
            want["output_tokens"] = None
        for col in SAME:
            assert got[col] == want[col], (canonical["request_id"], col)
        assert got["ts"] == want["ts"] // 1000 * 1000  # Bedrock logs whole seconds
        for lacking in ("api_key_id", "ip", "user_agent", "country"):
            assert got[lacking] is None  # not in the format, not written
        assert got["org_id"] == BEDROCK_ACCOUNT
    assert load(records[2])["status"] == "ThrottlingException"
    assert load(records[0])["latency_ms"] == 812


def test_sample_bedrock_logs_are_byte_identical_whenever_they_are_written(tmp_path, monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_700_000_000.0)
    write_bedrock(CANONICAL, tmp_path / "a")
    monkeypatch.setattr("time.time", lambda: 1_800_000_000.0)  # gzip would stamp the write time
    write_bedrock(CANONICAL, tmp_path / "b")
    raw_a = sorted((tmp_path / "a").rglob("*.gz"))
    raw_b = sorted((tmp_path / "b").rglob("*.gz"))
    assert len(raw_a) == 3
    assert [f.read_bytes() for f in raw_a] == [f.read_bytes() for f in raw_b]


def test_generated_tenant_base_round_trips_through_bedrock_logs(tmp_path):
    from farmhound.sample import generate

    generate(tmp_path, scale=0.05, seed=3)
    canonical = [orjson.loads(line) for line in (tmp_path / "requests.jsonl").read_bytes().splitlines()]
    records = [rec for recs in read_objects(write_bedrock(canonical, tmp_path / "bedrock")).values() for rec in recs]
    assert len(records) == len(canonical) > 100
    by_id = {c["request_id"]: c for c in canonical}
    for rec in records:
        c = by_id[rec["requestId"]]
        got, want = load(rec), stored(c)
        if c["status"] != "ok":
            want["output_tokens"] = None
        assert [got[k] for k in SAME] == [want[k] for k in SAME]
        assert got["ts"] == parse_ts(c["ts"]) // 1000 * 1000
