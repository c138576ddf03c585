"""One canonical record -> one store row: aliases, messages, timestamps, IP prefixes and types."""

from datetime import UTC, datetime

import orjson
import pytest
from helpers import T0, one, prompt_text, write_jsonl

from farmhound.store import REQUEST_COLUMNS
from loaders.pipeline import ingest
from loaders.records import (
    RecordError,
    ip_prefix,
    normalise_account,
    normalise_request,
    parse_ts,
)

NOON = int(datetime(2024, 3, 1, 12, 0, tzinfo=UTC).timestamp()) * 1000  # 2024-03-01T12:00:00Z in ms


def norm(d: dict) -> tuple[dict, dict, dict]:
    """(row as {column: value}, prompts {hash: text}, responses {hash: text}) of one valid record."""
    prompts, responses = {}, {}
    row = normalise_request(d, 7, 3, prompts, responses)
    assert len(row) == len(REQUEST_COLUMNS)
    return dict(zip(REQUEST_COLUMNS, row)), prompts, responses


def base(**over) -> dict:
    d = {"ts": NOON, "account_id": "alice"}
    d.update(over)
    return d


def reason_of(d: dict) -> RecordError:
    with pytest.raises(RecordError) as e:
        norm(d)
    return e.value


# -- field aliases ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ts", "timestamp", "time", "created_at"])
def test_timestamp_aliases(key):
    row, _, _ = norm({key: "2024-03-01T12:00:00Z", "account_id": "alice"})
    assert row["ts"] == NOON


@pytest.mark.parametrize("key", ["account_id", "user_id", "user", "account"])
def test_account_aliases(key):
    row, _, _ = norm({"ts": NOON, key: "alice"})
    assert row["account_id"] == "alice"


def test_client_ip_alias_fills_ip_and_prefix():
    row, _, _ = norm(base(client_ip="203.0.113.77"))
    assert (row["ip"], row["ip_prefix"]) == ("203.0.113.77", "203.0.113.0/24")


def test_source_and_line_are_kept_and_plain_fields_pass_through():
    row, _, _ = norm(base(request_id="req-1", api_key_id="k1", org_id="o1", user_agent="sdk/1.0", country="DE",
                          model="m", status="ok", input_tokens=5, output_tokens=6, max_tokens=7,
                          temperature=0.5, latency_ms=120.5))  # fmt: skip
    assert (row["request_id"], row["source_id"], row["line"]) == ("req-1", 7, 3)
    assert (row["api_key_id"], row["org_id"], row["user_agent"], row["country"], row["model"], row["status"]) == (
        "k1", "o1", "sdk/1.0", "DE", "m", "ok")  # fmt: skip
    assert (row["input_tokens"], row["output_tokens"], row["max_tokens"]) == (5, 6, 7)
    assert (row["temperature"], row["latency_ms"]) == (0.5, 120.5)


# -- messages and prompts ---------------------------------------------------------------------------


def test_messages_with_string_content():
    row, prompts, _ = norm(base(messages=[{"role": "user", "content": "write a parser"}]))
    assert prompts[row["prompt_hash"]] == "write a parser"
    assert (row["system_hash"], row["conversation_hash"], row["turns"]) == (None, None, 1)


def test_list_of_parts_content_keeps_text_and_marks_the_image():
    content = [{"type": "text", "text": "describe this chart"},
               {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]  # fmt: skip
    row, prompts, _ = norm(base(messages=[{"role": "user", "content": content}]))
    text = prompts[row["prompt_hash"]]
    assert text.startswith("describe this chart")
    assert "[image_url]" in text and "base64" not in text


def test_an_image_only_prompt_is_not_empty():
    row, prompts, _ = norm(
        base(messages=[{"role": "user", "content": [{"type": "image", "source": {"data": "AAAA"}}]}])
    )
    assert prompts[row["prompt_hash"]] == "[image]"


def test_system_message_is_stored_apart_from_the_prompt():
    row, prompts, _ = norm(base(messages=[{"role": "system", "content": "You are terse."},
                                          {"role": "user", "content": "hi"}]))  # fmt: skip
    assert prompts[row["system_hash"]] == "You are terse."
    assert prompts[row["prompt_hash"]] == "hi"
    assert row["conversation_hash"] is None and row["turns"] == 1


def test_multi_turn_is_kept_whole_and_the_prompt_is_the_last_user_turn():
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "You are a grader."}]},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": [{"type": "text", "text": "now think step by step"}]},
    ]
    row, prompts, _ = norm(base(messages=messages))
    assert prompts[row["prompt_hash"]] == "now think step by step"
    assert prompts[row["system_hash"]] == "You are a grader."
    assert row["turns"] == 3
    whole = orjson.loads(prompts[row["conversation_hash"]])
    assert whole == [
        {"role": "system", "content": "You are a grader."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "now think step by step"},
    ]


def test_conversation_json_lands_in_the_prompts_table(fresh_store, tmp_path):
    messages = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    ]
    path = write_jsonl(
        tmp_path / "conv.jsonl", [{"request_id": "c1", "ts": T0, "account_id": "a", "messages": messages}]
    )
    [s] = ingest(fresh_store, [str(path)])
    assert s.stored == 1
    p_hash, c_hash, turns = fresh_store.conn.execute(
        "SELECT prompt_hash, conversation_hash, turns FROM requests WHERE request_id = 'c1'"
    ).fetchone()
    assert prompt_text(fresh_store, p_hash) == "q2"
    assert orjson.loads(prompt_text(fresh_store, c_hash)) == messages
    assert turns == 3


def test_messages_as_a_json_string_as_csv_exports_carry_them():
    row, prompts, _ = norm(base(messages='[{"role": "user", "content": "from csv"}]'))
    assert prompts[row["prompt_hash"]] == "from csv"


def test_prompt_and_system_fields():
    row, prompts, responses = norm(base(prompt="the prompt", system="the system", response="the answer"))
    assert prompts[row["prompt_hash"]] == "the prompt"
    assert prompts[row["system_hash"]] == "the system"
    assert responses[row["response_hash"]] == "the answer"
    assert (row["conversation_hash"], row["turns"]) == (None, 1)


def test_top_level_system_with_messages_is_used():
    row, prompts, _ = norm(base(system="sys", messages=[{"role": "user", "content": "u"}]))
    assert prompts[row["system_hash"]] == "sys"


def test_a_row_without_any_prompt_is_still_a_request():
    row, prompts, _ = norm(base())
    assert (row["prompt_hash"], row["turns"], prompts) == (None, 0, {})


def test_identical_texts_share_one_hash():
    a, _, _ = norm(base(prompt="same", response="same answer"))
    b, _, _ = norm(base(account_id="bob", prompt="same", response="same answer"))
    c, _, _ = norm(base(prompt="other"))
    assert a["prompt_hash"] == b["prompt_hash"] != c["prompt_hash"]
    assert a["response_hash"] == b["response_hash"]


def test_openai_and_anthropic_response_objects():
    openai = {"choices": [{"message": {"role": "assistant", "content": "42"}}]}
    anthropic = {"content": [{"type": "text", "text": "forty-two"}]}
    for resp, text in ((openai, "42"), (anthropic, "forty-two")):
        row, _, responses = norm(base(response=resp))
        assert responses[row["response_hash"]] == text


# -- timestamps -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-01T12:00:00Z",
        "2024-03-01T14:00:00+02:00",  # the same instant, written in another zone
        "2024-03-01T07:00:00-05:00",
        "2024-03-01T12:00:00",  # naive means UTC
        "2024-03-01 12:00:00",
        NOON // 1000,  # epoch seconds
        float(NOON // 1000),
        NOON,  # epoch milliseconds
        str(NOON // 1000),  # epoch as a numeric string
        str(NOON),
    ],
)
def test_timestamps_become_integer_ms_utc(value):
    row, _, _ = norm(base(ts=value))
    assert row["ts"] == NOON and type(row["ts"]) is int


def test_sub_second_precision_is_kept_to_the_millisecond():
    assert parse_ts("2024-03-01T12:00:00.250Z") == NOON + 250
    assert parse_ts(NOON / 1000 + 0.25) == NOON + 250


@pytest.mark.parametrize("value", ["yesterday", "2024-13-45T00:00:00", "12:00", "2024-03-01Tnoon"])
def test_unparsable_timestamps_are_record_errors(value):
    e = reason_of(base(ts=value))
    assert e.reason == "unparsable timestamp" and value in e.detail


def test_implausible_epochs_are_out_of_range():
    assert reason_of(base(ts=5)).reason == "timestamp out of range"
    assert reason_of(base(ts="2150-01-01T00:00:00Z")).reason == "timestamp out of range"


# -- IP prefixes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ip,prefix",
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("203.0.113.77:8443", "203.0.113.0/24"),  # with a port
        ("203.0.113.xxx", "203.0.113.0/24"),  # masked last octet (Azure)
        ("::ffff:203.0.113.5", "203.0.113.0/24"),  # IPv4-mapped IPv6
        ("[2001:db8::1]:443", "2001:db8::/48"),  # bracketed IPv6 with a port
        ("not-an-ip", None),
        ("999.1.2.3", None),
    ],
)
def test_ip_prefixes(ip, prefix):
    assert ip_prefix(ip) == prefix
    row, _, _ = norm(base(ip=ip))
    assert (row["ip"], row["ip_prefix"]) == (ip, prefix)


# -- types ------------------------------------------------------------------------------------------


def test_numeric_strings_are_accepted():
    row, _, _ = norm(base(input_tokens="12", output_tokens="3.0", max_tokens=256.0, temperature="0.7", latency_ms="88"))
    assert (row["input_tokens"], row["output_tokens"], row["max_tokens"]) == (12, 3, 256)
    assert (row["temperature"], row["latency_ms"]) == (0.7, 88)
    assert type(row["latency_ms"]) is int  # "88" from a CSV is 88, as in the JSON export of the same row


def test_numeric_ids_become_text():
    row, _, _ = norm(base(account_id=12345, request_id=99))
    assert (row["account_id"], row["request_id"]) == ("12345", "99")


@pytest.mark.parametrize(
    "patch,field",
    [
        ({"input_tokens": "many"}, "input_tokens"),
        ({"output_tokens": [1, 2]}, "output_tokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"user_agent": ["sdk"]}, "user_agent"),
        ({"messages": 5}, "messages"),
        ({"messages": ["not an object"]}, "message"),
        ({"ts": True}, "ts"),
        ({"account_id": True}, "account_id"),
    ],
)
def test_wrong_types_are_record_errors_naming_the_field(patch, field):
    e = reason_of(base(**patch))
    assert e.reason == "wrong type"
    assert field in e.detail


def test_dict_account_id_detail_says_what_it_got():
    e = reason_of(base(account_id={"id": "alice"}))
    assert e.reason == "wrong type"
    assert "account_id must be a string, got an object" in e.detail


@pytest.mark.parametrize(
    "d,reason",
    [
        ({"account_id": "alice"}, "missing ts"),
        ({"ts": "", "account_id": "alice"}, "missing ts"),
        ({"ts": NOON}, "missing account_id"),
        ({"ts": NOON, "account_id": ""}, "missing account_id"),
    ],
)
def test_missing_required_fields(d, reason):
    assert reason_of(d).reason == reason


def test_not_an_object():
    with pytest.raises(RecordError) as e:
        normalise_request([1, 2], 1, 1, {}, {})
    assert e.value.reason == "not an object"


# -- account records --------------------------------------------------------------------------------


def test_account_record_normalisation():
    row = normalise_account({
        "user_id": "u1", "created_at": "2024-03-01T14:00:00+02:00", "email": " Bob@Example.COM ",
        "payment_fingerprint": "pf", "card_bin": 411111, "billing_country": "US", "signup_ip": "198.51.100.9",
        "org_id": "o", "tier": "free", "verified": "yes",
    })  # fmt: skip
    assert row == ("u1", NOON, "Bob@Example.COM", "example.com", "pf", "411111", "US", "198.51.100.9",
                   "198.51.100.0/24", "o", "free", 1)  # fmt: skip


@pytest.mark.parametrize(
    "patch,reason",
    [({"verified": "maybe"}, "wrong type"), ({"created_at": "soon"}, "unparsable timestamp"),
     ({"email": {"a": 1}}, "wrong type"), ({"account_id": None}, "missing account_id")],
)  # fmt: skip
def test_bad_account_records(patch, reason):
    d = {"account_id": "u1", "email": "a@b.c"}
    d.update(patch)
    with pytest.raises(RecordError) as e:
        normalise_account(d)
    assert e.value.reason == reason


def test_store_keeps_integer_ms(fresh_store, tmp_path):
    path = write_jsonl(
        tmp_path / "ts.jsonl", [{"request_id": "t", "ts": "2024-03-01T14:00:00+02:00", "account_id": "a"}]
    )
    ingest(fresh_store, [str(path)])
    assert one(fresh_store, "SELECT typeof(ts) || ':' || ts FROM requests") == f"integer:{NOON}"
