"""Helicone request exports (JSON / JSONL records and the fixed 12-column CSV) as stored requests."""

import csv
from pathlib import Path

import orjson
import pytest
from helpers import stored

from loaders.exports import helicone
from loaders.records import RecordError

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = orjson.loads((FIXTURES / "reference_examples/first_rows.json").read_bytes())
RECORD = EXAMPLES["helicone"][0]
HELICONE = helicone.HELICONE


def convert(row: dict, account_field: str | None = None) -> dict:
    return HELICONE.convert(row, account_field)


def record(**over) -> dict:
    return {**RECORD, **over}


def csv_rows() -> list[dict]:
    with open(FIXTURES / "helicone/export.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_json_record():
    canonical = convert(RECORD)
    row = stored(canonical)
    assert row["request_id"] == "5c1b7e02-6f7a-4c1e-9d0b-2f3a4b5c6d7e"
    assert row["ts"] == 1746090764120  # 2025-05-01T09:12:44.120Z
    assert (row["account_id"], row["country"], row["model"]) == ("acct_88812", "VN", "gpt-4o-mini")
    assert (row["prompt"], row["response"]) == ("Generate 10 fake reviews", "1. Great product...")
    assert (row["input_tokens"], row["output_tokens"], row["latency_ms"], row["status"]) == (14, 220, 1210, "200")
    assert "notes" not in canonical


def test_helicone_user_when_there_is_no_request_user_id():
    assert stored(convert(record(request_user_id=None, helicone_user="hu_5")))["account_id"] == "hu_5"


def test_no_user_at_all_is_rejected_unless_a_field_is_named():
    row = record(request_user_id=None, helicone_user=None)
    with pytest.raises(RecordError) as e:
        convert(row)
    assert (e.value.reason, e.value.detail) == ("missing account_id", "none of request_user_id, helicone_user")
    props = {"Helicone-Property-Environment": "prod", "Helicone-Property-Account": "A-17"}
    assert (
        stored(
            convert(
                record(request_user_id=None, request_properties=props), "request_properties.Helicone-Property-Account"
            )
        )["account_id"]
        == "A-17"
    )


def test_model_falls_back_to_the_request_then_response_model():
    assert stored(convert(record(model=None)))["model"] == "gpt-4o-mini"
    assert stored(convert(record(model=None, request_model=None)))["model"] == "gpt-4o-mini-2024-07-18"


def test_csv_row_with_json_text_body_and_multimodal_parts():
    canonical = convert(csv_rows()[0])
    row = stored(canonical)
    assert row["request_id"] == "9a8b7c6d-0000-4000-8000-00000000abcd"  # the CSV has no request_id
    assert (row["ts"], row["account_id"], row["model"]) == (1746090764120, "acct_88812", "gpt-4o-mini")
    assert (row["system"], row["prompt"]) == ("You review products.", "Review the item in this photo\n[image_url]")
    assert (row["input_tokens"], row["output_tokens"], row["latency_ms"], row["status"]) == (14, 220, 1210, "200")
    assert row["temperature"] == 0.9
    assert (row["response"], row["country"]) == (None, None)
    assert canonical["notes"] == ["no response body in this export"]


def test_csv_row_with_empty_body_and_counts():
    canonical = convert(csv_rows()[1])
    row = stored(canonical)
    assert (row["status"], row["prompt"], row["input_tokens"], row["latency_ms"]) == ("429", None, None, None)
    assert canonical["notes"] == [
        "no request body (exported without --include-body)",
        "no response body in this export",
    ]


def test_json_record_exported_without_bodies():
    canonical = convert(record(request_body=None, response_body=None))
    row = stored(canonical)
    assert (row["prompt"], row["response"], row["input_tokens"]) == (None, None, 14)
    assert canonical["notes"] == ["no request body (exported without --include-body)"]


def test_anthropic_native_bodies():
    body = {
        "model": "claude-3-5-haiku-20241022", "max_tokens": 300,
        "system": [{"type": "text", "text": "You are a bot."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi there"}]}],
    }  # fmt: skip
    response = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": "Hello!"}], "usage": {"input_tokens": 9, "output_tokens": 3},
    }  # fmt: skip
    row = stored(convert(record(request_body=body, response_body=response, prompt_tokens=None, completion_tokens=None)))
    assert (row["system"], row["prompt"], row["response"], row["max_tokens"]) == (
        "You are a bot.",
        "Hi there",
        "Hello!",
        300,
    )
    assert (row["input_tokens"], row["output_tokens"]) == (9, 3)  # from the response's usage


def test_gemini_native_bodies():
    body = {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "Capital of Peru?"}]}],
    }
    response = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Lima."}]}}]}
    row = stored(convert(record(request_body=body, response_body=response)))
    assert (row["system"], row["prompt"], row["response"]) == ("Be brief.", "Capital of Peru?", "Lima.")


def test_error_response_body_is_not_a_response_text():
    row = stored(
        convert(
            record(response_status=429, response_body={"error": {"message": "Rate limit reached", "type": "requests"}})
        )
    )
    assert (row["status"], row["response"]) == ("429", None)


@pytest.mark.parametrize(
    "fmt,row", [(f, r) for f, rows in EXAMPLES.items() for r in rows], ids=lambda v: v if isinstance(v, str) else ""
)
def test_detect_claims_only_its_own_rows(fmt, row):
    assert HELICONE.detect(row) == (fmt == "helicone")


def test_detect_claims_the_csv_header():
    with open(FIXTURES / "helicone/export.csv", newline="") as f:
        assert HELICONE.detect(dict.fromkeys(next(csv.reader(f)), ""))
