"""Langfuse exports (snake_case blob export, camelCase UI / API export) as stored requests."""

from datetime import datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from helpers import stored

from loaders.exports import langfuse
from loaders.records import RecordError

EXAMPLES = orjson.loads((Path(__file__).parent / "fixtures/reference_examples/first_rows.json").read_bytes())
OBSERVATION, UI_GENERATION, API_TRACE, BLOB_TRACE, SCORE, SPAN = EXAMPLES["langfuse"]
LANGFUSE = langfuse.LANGFUSE


def convert(row: dict, account_field: str | None = None) -> dict:
    return LANGFUSE.convert(row, account_field)


def obs(**over) -> dict:
    """The observations_v2 example with fields replaced (value None removes one)."""
    return {k: v for k, v in {**OBSERVATION, **over}.items() if v is not None}


def test_observations_v2_generation():
    canonical = convert(OBSERVATION)
    row = stored(canonical)
    assert row["request_id"] == "obs_7f3c1e"
    assert row["ts"] == 1744453394512  # 2025-04-12 10:23:14.512 UTC
    assert row["account_id"] == "user_311"
    assert row["model"] == "gpt-4o-mini"
    assert row["system"] == "You are a helpful assistant."
    assert row["prompt"] == "Summarize the email below."
    assert row["response"] == "The email asks ..."
    assert (row["input_tokens"], row["output_tokens"], row["temperature"]) == (412, 87, 0.7)
    assert row["latency_ms"] == 1596  # 1.596 s: end - start is 1596 ms
    assert row["status"] is None
    assert (canonical["tags"], canonical["notes"]) == (["prod"], [])


@pytest.mark.parametrize(
    "latency,expected",
    [(1.596, 1596), (1596, 1596), (0.004, 4), (4, 4)],
    ids=["seconds", "milliseconds", "small-seconds", "small-milliseconds"],
)
def test_latency_unit_is_decided_by_end_minus_start(latency, expected):
    end = {1596: "2025-04-12 10:23:16.108000", 4: "2025-04-12 10:23:14.516000"}[expected]
    canonical = convert(obs(latency=latency, end_time=end))
    assert stored(canonical)["latency_ms"] == expected
    assert canonical["notes"] == []


@pytest.mark.parametrize(
    "latency,expected,note",
    [(2.5, 2500, "latency unit guessed (seconds)"), (2500, 2500, "latency unit guessed (milliseconds)")],
)
def test_latency_unit_is_guessed_and_noted_without_an_end_time(latency, expected, note):
    canonical = convert(obs(latency=latency, end_time=None))
    assert stored(canonical)["latency_ms"] == expected
    assert canonical["notes"] == [note]


def test_latency_without_the_column_is_end_minus_start():
    assert stored(convert(obs(latency=None)))["latency_ms"] == 1596


@pytest.mark.parametrize("kind", ["SPAN", "EVENT", "TOOL", "AGENT", "EMBEDDING"])
def test_other_observation_types_are_not_requests(kind):
    with pytest.raises(RecordError) as e:
        convert(obs(type=kind))
    assert (e.value.reason, e.value.detail) == ("not a generation", f"type {kind}")


def test_span_and_score_rows_are_rejected_as_not_generations():
    for row, detail in ((SPAN, "type SPAN"), (SCORE, "a score")):
        with pytest.raises(RecordError) as e:
            convert(row)
        assert (e.value.reason, e.value.detail) == ("not a generation", detail)


def test_project_is_the_account_when_there_is_no_user():
    canonical = convert(obs(user_id=""))
    assert stored(canonical)["account_id"] == "proj_01"
    assert canonical["notes"] == ["account is the Langfuse project (no user id)"]


def test_ui_generation_has_no_user_or_project_unless_named():
    with pytest.raises(RecordError) as e:
        convert(UI_GENERATION)
    assert e.value.reason == "missing account_id"
    row = stored(convert(UI_GENERATION, "traceId"))
    assert row["account_id"] == "tr_77d0"
    assert row["ts"] == 1777796102250  # 2026-05-03T08:15:02.250Z
    assert (row["system"], row["prompt"]) == (
        "You are a coding assistant.",
        "Write a Python function that reverses a list.",
    )
    assert row["response"] == "def rev(xs): return xs[::-1]"
    assert (row["model"], row["input_tokens"], row["output_tokens"]) == ("gpt-4o", 31, 12)
    assert row["latency_ms"] == 1750  # no latency column: end - start


def test_ui_csv_row_with_json_text_columns():
    # The UI export as CSV: every value a string, nested values as JSON text.
    row = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in UI_GENERATION.items()}
    row["userId"] = "u_9"
    canonical = convert(row)
    assert canonical["tags"] == ["eval"]
    got = stored(canonical)
    assert (got["account_id"], got["input_tokens"], got["output_tokens"]) == ("u_9", 31, 12)
    assert (got["system"], got["prompt"], got["response"]) == (
        "You are a coding assistant.", "Write a Python function that reverses a list.", "def rev(xs): return xs[::-1]",
    )  # fmt: skip


@pytest.mark.parametrize(
    "trace,account,ts",
    [(API_TRACE, "u_9", 1777796102000), (BLOB_TRACE, "user_311", 1744453394000)],
    ids=["api", "blob"],
)
def test_traces_are_requests(trace, account, ts):
    canonical = convert(trace)
    row = stored(canonical)
    assert (row["request_id"], row["account_id"], row["ts"]) == (trace["id"], account, ts)
    assert (row["prompt"], row["response"]) == (trace["input"], trace["output"])
    assert canonical["tags"] == trace["tags"]


def test_api_trace_latency_is_seconds():
    canonical = convert(API_TRACE)
    assert stored(canonical)["latency_ms"] == 2100
    assert canonical["notes"] == ["latency unit guessed (seconds)"]


def test_error_level_and_the_first_line_of_the_status_message_are_the_status():
    row = stored(
        convert(obs(level="ERROR", status_message="Rate limit exceeded\nTraceback (most recent call last): ..."))
    )
    assert row["status"] == "ERROR: Rate limit exceeded"
    assert stored(convert(obs(level="ERROR", status_message="")))["status"] == "ERROR"


@pytest.mark.parametrize(
    "value,system,prompt",
    [
        ("Just some plain text [not JSON", None, "Just some plain text [not JSON"),
        ({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]}, "S", "U"),
        ({"role": "user", "content": [{"type": "text", "text": "U"}, {"type": "image_url", "image_url": {"url": "x"}}]}, None, "U\n[image_url]"),
        ({"question": "What is X?", "k": 3}, None, '{"question":"What is X?","k":3}'),
        (orjson.dumps(orjson.dumps([{"role": "user", "content": "twice"}]).decode()).decode(), None, "twice"),
    ],
    ids=["plain-text", "messages-dict", "one-message", "other-object", "double-encoded"],
)  # fmt: skip
def test_input_shapes(value, system, prompt):
    row = stored(convert(obs(input=value)))
    assert (row["system"], row["prompt"]) == (system, prompt)


@pytest.mark.parametrize(
    "value,response",
    [
        ("plain answer", "plain answer"),
        (
            {"role": "assistant", "content": None, "tool_calls": [{"name": "search", "args": {}, "id": "1"}]},
            "[tool_call search]",
        ),
        ({"choices": [{"message": {"role": "assistant", "content": "from choices"}}]}, "from choices"),
        ([{"role": "assistant", "content": "last of a list"}], "last of a list"),
        ({"answer": 42}, '{"answer":42}'),
    ],
    ids=["plain-text", "tool-calls", "completion-object", "message-list", "other-object"],
)
def test_output_shapes(value, response):
    assert stored(convert(obs(output=value)))["response"] == response


def test_parquet_row_with_a_map_column_and_timestamp_columns():
    # The blob export's default container: usage_details a Parquet map, times timestamp columns.
    columns = {
        "id": pa.string(), "type": pa.string(), "user_id": pa.string(), "input": pa.string(),
        "usage_details": pa.map_(pa.string(), pa.int64()), "start_time": pa.timestamp("us"),
        "end_time": pa.timestamp("us"), "latency": pa.float64(), "tags": pa.list_(pa.string()),
    }  # fmt: skip
    source = {k: OBSERVATION[k] for k in columns}
    source["usage_details"] = list(OBSERVATION["usage_details"].items())
    for k in ("start_time", "end_time"):
        source[k] = datetime.fromisoformat(OBSERVATION[k])
    (row,) = pa.Table.from_pylist([source], schema=pa.schema(columns)).to_pylist()
    got = stored(convert(row))
    assert (got["ts"], got["input_tokens"], got["output_tokens"], got["latency_ms"]) == (1744453394512, 412, 87, 1596)
    assert got["prompt"] == "Summarize the email below."


def test_unusable_model_parameters_do_not_cost_the_row():
    row = stored(convert(obs(model_parameters='{"max_tokens": "Infinity", "temperature": "0.2"}')))
    assert (row["max_tokens"], row["temperature"]) == (None, 0.2)


def test_camel_case_usage_details_and_model_parameters():
    row = stored(
        convert(
            dict(
                UI_GENERATION,
                userId="u_9",
                usage=None,
                usageDetails={"input": 7, "output": 8},
                modelParameters={"maxTokens": 64},
            )
        )
    )
    assert (row["input_tokens"], row["output_tokens"], row["max_tokens"]) == (7, 8, 64)


@pytest.mark.parametrize(
    "fmt,row", [(f, r) for f, rows in EXAMPLES.items() for r in rows], ids=lambda v: v if isinstance(v, str) else ""
)
def test_detect_claims_only_its_own_rows(fmt, row):
    assert LANGFUSE.detect(row) == (fmt == "langfuse")


def test_detect_claims_csv_headers_of_both_spellings():
    assert LANGFUSE.detect({k: "" for k in OBSERVATION})
    assert LANGFUSE.detect({k: "" for k in UI_GENERATION})
    # observations_v2 with every optional field group deselected
    assert LANGFUSE.detect({k: "" for k in ("id", "trace_id", "project_id", "type", "start_time")})
