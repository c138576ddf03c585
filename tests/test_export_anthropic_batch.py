"""Anthropic Message Batches results lines, joined with their request items, as stored requests."""

from pathlib import Path

import orjson
import pytest
from helpers import stored_untimed

from loaders.exports import anthropic_batch
from loaders.records import RecordError

EXAMPLES = orjson.loads((Path(__file__).parent / "fixtures/reference_examples/first_rows.json").read_bytes())
SUCCEEDED, ERRORED = EXAMPLES["anthropic-batch"]
REQUEST = EXAMPLES["anthropic-batch-requests"][0]
RESULTS = anthropic_batch.RESULTS


def convert(line: dict, companion: dict | None = None, account_field: str | None = None) -> dict:
    return RESULTS.convert(line, account_field, companion)


def request_with(**params) -> dict:
    p = {**REQUEST["params"], **params}
    return {**REQUEST, "params": {k: v for k, v in p.items() if v is not None}}


def message_with(**message) -> dict:
    m = {**SUCCEEDED["result"]["message"], **message}
    return {**SUCCEEDED, "result": {"type": "succeeded", "message": m}}


def test_succeeded_line_with_its_request_item():
    canonical = convert(SUCCEEDED, REQUEST)
    assert "ts" not in canonical
    assert canonical["notes"] == ["no per-request time"]
    row = stored_untimed(canonical)
    assert row["ts"] is None
    assert row["request_id"] == "msg_01Xk9fakeFAKEfake"
    assert row["account_id"] == "9b1d3c0e-hash-of-end-user"
    assert row["model"] == "claude-sonnet-4-5-20250929"
    assert row["system"] == "You write social media bios."
    assert row["prompt"] == "Write a bio for a fitness coach."
    assert row["response"] == "Sure, here is a short bio for your profile..."
    assert (row["input_tokens"], row["output_tokens"], row["max_tokens"]) == (58, 74, 512)
    assert row["status"] == "succeeded"


@pytest.mark.parametrize(
    "error",
    [
        {"type": "error", "error": {"type": "invalid_request_error", "message": "messages.0.content: Input should be a valid string"}},
        {"type": "invalid_request_error", "message": "messages.0.content: Input should be a valid string"},
    ],
    ids=["nested", "un-nested"],
)  # fmt: skip
def test_errored_line_in_either_error_shape(error):
    line = {"custom_id": "acct-4471-msg-4", "result": {"type": "errored", "error": error}}
    row = stored_untimed(convert(line, {**REQUEST, "custom_id": "acct-4471-msg-4"}))
    assert row["status"] == "errored: invalid_request_error"
    assert row["request_id"] == "acct-4471-msg-4"  # no message, so no message id
    assert (row["response"], row["input_tokens"]) == (None, None)
    assert row["prompt"] == "Write a bio for a fitness coach."


def test_errored_request_with_malformed_content_is_still_stored():
    # The documented error is about exactly this: content that is not a string or blocks.
    bad = request_with(messages=[{"role": "user", "content": {"text_": "hi"}}])
    assert stored_untimed(convert(ERRORED, bad))["prompt"] == '{"text_":"hi"}'


@pytest.mark.parametrize("kind", ["canceled", "expired"])
def test_canceled_and_expired_lines(kind):
    row = stored_untimed(convert({"custom_id": "acct-4471-msg-3", "result": {"type": kind}}, REQUEST))
    assert (row["status"], row["response"], row["request_id"]) == (kind, None, "acct-4471-msg-3")


def test_input_tokens_include_cache_writes_and_reads():
    line = message_with(
        usage={
            "input_tokens": 10,
            "output_tokens": 5,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 2000,
        }
    )
    row = stored_untimed(convert(line, REQUEST))
    assert (row["input_tokens"], row["output_tokens"]) == (2110, 5)


def test_thinking_and_tool_use_blocks_become_markers():
    line = message_with(
        content=[
            {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig"},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
        ]
    )
    assert stored_untimed(convert(line, REQUEST))["response"] == "[thinking]\nLet me check.\n[tool_use get_weather]"


def test_string_system_image_blocks_and_tool_results_in_the_prompt():
    request = request_with(
        system="You are terse.",
        temperature=0.3,
        messages=[
            {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}, {"type": "text", "text": "What is this?"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "classify", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "a cat"}]}]},
        ],
    )  # fmt: skip
    row = stored_untimed(convert(SUCCEEDED, request))
    assert row["system"] == "You are terse."
    assert row["prompt"] == "a cat"
    # the top-level system prompt leads the conversation, as a system message would
    assert [m["content"] for m in orjson.loads(row["conversation"])] == [
        "You are terse.", "[image]\nWhat is this?", "[tool_use classify]", "a cat",
    ]  # fmt: skip
    assert (row["turns"], row["temperature"]) == (3, 0.3)


def test_account_is_metadata_user_id_and_custom_id_is_not_an_account():
    with pytest.raises(RecordError) as e:
        convert(SUCCEEDED, request_with(metadata=None))
    assert (e.value.reason, e.value.detail) == (
        "missing account_id",
        "none of params.metadata.user_id in the batch requests file",
    )


def test_without_the_requests_file_the_account_must_be_named():
    with pytest.raises(RecordError) as e:
        convert(SUCCEEDED)
    assert e.value.reason == "missing account_id"
    assert "not given" in e.value.detail
    canonical = convert(SUCCEEDED, account_field="custom_id")
    row = stored_untimed(canonical)
    assert (row["account_id"], row["prompt"], row["system"]) == ("acct-4471-msg-3", None, None)
    assert row["response"] == "Sure, here is a short bio for your profile..."
    assert canonical["notes"] == ["no per-request time", "prompt in the batch requests file (not given)"]


def test_account_field_reads_the_request_item():
    request = request_with(metadata={"user_id": "u1", "tenant": "t-7"})
    assert stored_untimed(convert(SUCCEEDED, request, "params.metadata.tenant"))["account_id"] == "t-7"


def test_line_without_a_result_is_rejected():
    with pytest.raises(RecordError) as e:
        convert({"custom_id": "x", "result": None}, REQUEST)
    assert e.value.reason == "not a batch result"


def test_results_carry_no_time_and_join_their_requests_on_custom_id():
    assert "ts" in RESULTS.lacks
    assert (RESULTS.companion, RESULTS.join_key) == ("anthropic-batch-requests", "custom_id")
    assert anthropic_batch.REQUESTS.kind == "companion"


@pytest.mark.parametrize(
    "fmt,row", [(f, r) for f, rows in EXAMPLES.items() for r in rows], ids=lambda v: v if isinstance(v, str) else ""
)
def test_detect_claims_only_its_own_lines(fmt, row):
    assert RESULTS.detect(row) == (fmt == "anthropic-batch")
    assert anthropic_batch.REQUESTS.detect(row) == (fmt == "anthropic-batch-requests")
