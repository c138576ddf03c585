"""OpenAI Batch API output / error lines, joined with their input lines, as stored requests."""

from pathlib import Path

import orjson
import pytest
from helpers import stored_untimed

from loaders.exports import openai_batch
from loaders.records import RecordError

EXAMPLES = orjson.loads((Path(__file__).parent / "fixtures/reference_examples/first_rows.json").read_bytes())
INPUT_LINE = EXAMPLES["openai-batch-input"][0]
SUCCESS, FAILURE = EXAMPLES["openai-batch"]
OUTPUT = openai_batch.OUTPUT


def convert(line: dict, companion: dict | None = None, account_field: str | None = None) -> dict:
    return OUTPUT.convert(line, account_field, companion)


def with_body(line: dict, **body) -> dict:
    """A copy of `line` with its body fields replaced (value None removes one)."""
    b = {**line["body"], **body}
    return {**line, "body": {k: v for k, v in b.items() if v is not None}}


def output_with(**body) -> dict:
    """The success example with its response body fields replaced (value None removes one)."""
    b = {**SUCCESS["response"]["body"], **body}
    b = {k: v for k, v in b.items() if v is not None}
    return {**SUCCESS, "response": {**SUCCESS["response"], "body": b}}


def test_success_line_with_its_input_line():
    canonical = convert(SUCCESS, INPUT_LINE)
    row = stored_untimed(canonical)
    assert row["request_id"] == "req_1c0b8e4f2a"
    assert row["ts"] == 1740925511000
    assert row["account_id"] == "u_5f2a9c"
    assert row["model"] == "gpt-4o-mini-2024-07-18"
    assert row["system"] == "You are a helpful assistant."
    assert row["prompt"] == "Describe this image\n[image_url]"
    assert row["response"] == "The image shows a red bicycle."
    assert (row["input_tokens"], row["output_tokens"], row["status"]) == (112, 9, "200")
    assert canonical["notes"] == []


def test_error_line_has_no_time_and_the_error_code_as_status():
    canonical = convert(FAILURE, {**INPUT_LINE, "custom_id": "req-000118"})
    assert "ts" not in canonical
    assert canonical["notes"] == ["no per-request time"]
    row = stored_untimed(canonical)
    assert row["ts"] is None
    assert row["request_id"] == "batch_req_9Kq2zR"
    assert row["status"] == "invalid_request_error"
    assert row["response"] is None
    assert row["model"] == "gpt-4o-mini"  # the requested model, from the input line
    assert row["prompt"] == "Describe this image\n[image_url]"


def test_http_error_line_keeps_the_status_code_and_no_response_text():
    line = {
        "id": "batch_req_3", "custom_id": "req-000119", "error": None,
        "response": {"status_code": 429, "request_id": "req_429", "body": {"error": {"message": "Rate limit", "type": "rate_limit"}}},
    }  # fmt: skip
    canonical = convert(line, INPUT_LINE)
    row = stored_untimed(canonical)
    assert (row["status"], row["response"], row["request_id"], row["ts"]) == ("429", None, "req_429", None)
    assert canonical["notes"] == ["no per-request time"]


def test_request_id_falls_back_to_the_body_id_then_the_line_id():
    no_request_id = {**SUCCESS, "response": {k: v for k, v in SUCCESS["response"].items() if k != "request_id"}}
    assert stored_untimed(convert(no_request_id, INPUT_LINE))["request_id"] == "chatcmpl-AbC123"
    assert stored_untimed(convert(FAILURE, INPUT_LINE))["request_id"] == "batch_req_9Kq2zR"


def test_account_is_the_safety_identifier_then_the_legacy_user():
    both = with_body(INPUT_LINE, user="legacy_7")
    assert stored_untimed(convert(SUCCESS, both))["account_id"] == "u_5f2a9c"
    legacy = with_body(INPUT_LINE, safety_identifier=None, user="legacy_7")
    assert stored_untimed(convert(SUCCESS, legacy))["account_id"] == "legacy_7"


def test_custom_id_is_not_taken_as_the_account():
    with pytest.raises(RecordError) as e:
        convert(SUCCESS, with_body(INPUT_LINE, safety_identifier=None))
    assert e.value.reason == "missing account_id"
    assert "body.safety_identifier" in e.value.detail


def test_without_the_input_file_the_account_must_be_named():
    with pytest.raises(RecordError) as e:
        convert(SUCCESS)
    assert e.value.reason == "missing account_id"
    assert "not given" in e.value.detail
    canonical = convert(SUCCESS, account_field="custom_id")
    row = stored_untimed(canonical)
    assert row["account_id"] == "req-000117"
    assert (row["prompt"], row["model"], row["response"]) == (
        None,
        "gpt-4o-mini-2024-07-18",
        "The image shows a red bicycle.",
    )
    assert canonical["notes"] == ["prompt in the batch input file (not given)"]


def test_account_field_reads_the_input_body():
    line = with_body(INPUT_LINE, metadata={"acct": "tenant-9"})
    assert stored_untimed(convert(SUCCESS, line, "body.metadata.acct"))["account_id"] == "tenant-9"


def test_developer_message_settings_and_multi_turn_conversation():
    line = with_body(
        INPUT_LINE,
        messages=[
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": [{"type": "text", "text": "And 3+3?"}, {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}]},
        ],
        max_completion_tokens=256,
        temperature=0.2,
    )  # fmt: skip
    row = stored_untimed(convert(SUCCESS, line))
    assert row["system"] == "Answer in French."
    assert row["prompt"] == "And 3+3?\n[input_audio]"
    assert row["turns"] == 3
    assert [m["content"] for m in orjson.loads(row["conversation"])][-1] == "And 3+3?\n[input_audio]"
    assert (row["max_tokens"], row["temperature"]) == (256, 0.2)


def test_tool_calls_become_markers_in_the_response_and_the_history():
    line = with_body(
        INPUT_LINE,
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "12C"},
        ],
    )  # fmt: skip
    out = output_with(
        choices=[
            {"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c2", "type": "function", "function": {"name": "get_forecast", "arguments": "{\"days\": 3}"}},
                {"id": "c3", "type": "function", "function": {"name": "get_alerts", "arguments": "{}"}},
            ]}}
        ]
    )  # fmt: skip
    row = stored_untimed(convert(out, line))
    assert row["response"] == "[tool_call get_forecast]\n[tool_call get_alerts]"
    assert [m["content"] for m in orjson.loads(row["conversation"])] == [
        "Weather in Oslo?",
        "[tool_call get_weather]",
        "12C",
    ]


def test_refusal_is_the_response_when_there_is_no_content():
    out = output_with(
        choices=[{"index": 0, "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."}}]
    )
    assert stored_untimed(convert(out, INPUT_LINE))["response"] == "I can't help with that."


def test_responses_api_line():
    line = {
        "custom_id": "r-1", "method": "POST", "url": "/v1/responses",
        "body": {"model": "gpt-4.1", "instructions": "Be terse.", "input": "Name a prime.", "user": "acct_3", "max_output_tokens": 50},
    }  # fmt: skip
    out = {
        "id": "batch_req_r1", "custom_id": "r-1", "error": None,
        "response": {"status_code": 200, "request_id": "req_r1", "body": {
            "id": "resp_1", "object": "response", "created_at": 1740925600, "model": "gpt-4.1-2025-04-14",
            "output": [
                {"type": "reasoning", "summary": []},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "7"}]},
            ],
            "usage": {"input_tokens": 20, "output_tokens": 3, "total_tokens": 23},
        }},
    }  # fmt: skip
    row = stored_untimed(convert(out, line))
    assert (row["ts"], row["account_id"], row["system"], row["prompt"]) == (
        1740925600000,
        "acct_3",
        "Be terse.",
        "Name a prime.",
    )
    assert (row["response"], row["input_tokens"], row["output_tokens"], row["max_tokens"]) == (
        "[reasoning]\n7",
        20,
        3,
        50,
    )


def test_embeddings_line_has_its_input_as_prompt_and_no_response():
    line = {
        "custom_id": "e-1",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": "text-embedding-3-small", "input": "hello world", "user": "acct_4"},
    }
    out = {
        "id": "batch_req_e1", "custom_id": "e-1", "error": None,
        "response": {"status_code": 200, "request_id": "req_e1", "body": {
            "object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
            "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2},
        }},
    }  # fmt: skip
    row = stored_untimed(convert(out, line))
    assert (row["prompt"], row["response"], row["input_tokens"], row["output_tokens"]) == ("hello world", None, 2, None)


def test_odd_message_content_is_kept_as_text_not_quarantined():
    line = with_body(INPUT_LINE, messages=[{"role": "user", "content": {"unexpected": 1}}])
    assert stored_untimed(convert(FAILURE, line))["prompt"] == '{"unexpected":1}'


def test_input_line_is_a_companion_joined_on_custom_id():
    assert openai_batch.INPUT.kind == "companion"
    assert (OUTPUT.companion, OUTPUT.join_key, openai_batch.INPUT.join_key) == (
        "openai-batch-input",
        "custom_id",
        "custom_id",
    )


@pytest.mark.parametrize(
    "fmt,row", [(f, r) for f, rows in EXAMPLES.items() for r in rows], ids=lambda v: v if isinstance(v, str) else ""
)
def test_detect_claims_only_its_own_lines(fmt, row):
    assert OUTPUT.detect(row) == (fmt == "openai-batch")
    assert openai_batch.INPUT.detect(row) == (fmt == "openai-batch-input")
