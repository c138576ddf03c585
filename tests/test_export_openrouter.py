"""OpenRouter activity export (CSV, read by header name) as stored requests."""

import csv
from pathlib import Path

import orjson
import pytest
from helpers import stored

from loaders.exports import openrouter
from loaders.records import RecordError

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = orjson.loads((FIXTURES / "reference_examples/first_rows.json").read_bytes())
OPENROUTER = openrouter.OPENROUTER


def rows(name: str = "activity.csv") -> list[dict]:
    with open(FIXTURES / "openrouter" / name, newline="") as f:
        return list(csv.DictReader(f))


def convert(row: dict, account_field: str | None = None) -> dict:
    return OPENROUTER.convert(row, account_field)


def test_reference_row():
    canonical = convert(rows()[0])
    row = stored(canonical)
    assert row["request_id"] == "gen-1751011617-AbCdEfGhIjKlMnOpQrSt"
    assert row["ts"] == 1751011617713  # 2025-06-27 08:06:57.713 UTC
    assert (row["account_id"], row["api_key_id"]) == ("cust_5521", "farm-key-03")
    assert row["model"] == "openai/gpt-4o-mini-2024-07-18"
    assert (row["input_tokens"], row["output_tokens"], row["latency_ms"], row["status"]) == (1038, 137, 2940, "stop")
    assert (row["prompt"], row["response"], row["ip"], row["user_agent"], row["country"]) == (None,) * 5
    assert canonical["notes"] == ["no prompt or response in this export"]
    assert canonical["tags"] == ["app:MyApp"]


def test_cancelled_row_without_user_is_the_key_account():
    canonical = convert(rows()[1])
    row = stored(canonical)
    assert (row["account_id"], row["api_key_id"], row["status"]) == ("farm-key-04", "farm-key-04", "cancelled")
    assert (row["output_tokens"], row["latency_ms"]) == (12, None)  # cancelled mid-stream: no generation time
    assert canonical["notes"] == ["no prompt or response in this export", "account is the API key name (no user)"]
    assert "tags" not in canonical


def test_older_export_with_other_columns_is_read_by_name():
    row = stored(convert(rows("activity_old.csv")[0]))
    assert (row["request_id"], row["ts"], row["account_id"]) == (
        "gen-1736467199-OldOldOldOld",
        1736467199999,
        "cust_0001",
    )
    assert (row["model"], row["input_tokens"], row["output_tokens"], row["latency_ms"]) == (
        "mistralai/mistral-7b-instruct",
        50,
        5,
        700,
    )
    assert row["status"] is None


def test_account_field_names_another_column():
    assert stored(convert(rows()[0], "app_name"))["account_id"] == "MyApp"
    with pytest.raises(RecordError) as e:
        convert(rows()[1], "app_name")
    assert e.value.reason == "missing account_id"


def test_neither_user_nor_key_is_rejected():
    with pytest.raises(RecordError) as e:
        convert({**rows()[0], "user": "", "api_key_name": ""})
    assert (e.value.reason, e.value.detail) == ("missing account_id", "none of user, api_key_name")


def test_what_the_export_lacks_is_declared():
    assert {"prompt", "response", "ip", "user_agent", "country"} <= OPENROUTER.lacks
    assert "ts" not in OPENROUTER.lacks


@pytest.mark.parametrize(
    "fmt,row", [(f, r) for f, rows in EXAMPLES.items() for r in rows], ids=lambda v: v if isinstance(v, str) else ""
)
def test_detect_claims_only_its_own_rows(fmt, row):
    assert OPENROUTER.detect(row) == (fmt == "openrouter")


def test_detect_claims_the_older_header():
    with open(FIXTURES / "openrouter/activity_old.csv", newline="") as f:
        assert OPENROUTER.detect(dict.fromkeys(next(csv.reader(f)), ""))
