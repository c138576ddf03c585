"""Normalisation of one canonical record: aliases, messages, timestamps, IP prefixes, types."""

import orjson
import pytest

from loaders.records import RecordError, ip_prefix, normalise_account, normalise_request, parse_ts

APR22 = 1_776_816_000_000  # 2026-04-22T00:00:00Z in ms


def norm(d):
    prompts, responses = {}, {}
    row = normalise_request(d, 1, 1, prompts, responses)
    return row, {h: b.decode() for h, b in prompts.items()}, {h: b.decode() for h, b in responses.items()}


@pytest.mark.parametrize(
    "value",
    ["2026-04-22T00:00:00Z", "2026-04-22T02:00:00+02:00", "2026-04-21T19:00:00-05:00", "2026-04-22 00:00:00",
     "2026-04-22T00:00:00", 1_776_816_000, 1_776_816_000.0, APR22, "1776816000", "1776816000000"],
)  # fmt: skip
def test_timestamps_are_stored_as_utc_milliseconds(value):
    assert parse_ts(value) == APR22


def test_fractional_seconds_keep_milliseconds():
    assert parse_ts("2026-04-22T00:00:00.204Z") == APR22 + 204
    assert parse_ts(1_776_816_000.204) == APR22 + 204


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-45", "", "12:00"])
def test_unparsable_timestamps_raise(bad):
    with pytest.raises(RecordError) as e:
        parse_ts(bad)
    assert e.value.reason in ("unparsable timestamp", "timestamp out of range")


@pytest.mark.parametrize("alias", ["timestamp", "time", "created_at"])
def test_timestamp_aliases(alias):
    row, _, _ = norm({alias: "2026-04-22T00:00:00Z", "account_id": "a"})
    assert row[3] == APR22


@pytest.mark.parametrize("alias", ["user_id", "user", "account"])
def test_account_aliases(alias):
    row, _, _ = norm({"ts": APR22, alias: "alice"})
    assert row[4] == "alice"


def test_numeric_account_id_becomes_text():
    assert norm({"ts": APR22, "account_id": 12345})[0][4] == "12345"


@pytest.mark.parametrize(
    "ip,prefix",
    [("198.51.100.7", "198.51.100.0/24"), ("198.51.100.7:443", "198.51.100.0/24"), ("198.51.100.xxx", "198.51.100.0/24"),
     ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"), ("::ffff:198.51.100.7", "198.51.100.0/24"), ("not-an-ip", None)],
)  # fmt: skip
def test_ip_prefixes(ip, prefix):
    assert ip_prefix(ip) == prefix


def test_client_ip_alias_and_prefix_in_row():
    row, _, _ = norm({"ts": APR22, "account_id": "a", "client_ip": "198.51.100.7"})
    assert row[7:9] == ["198.51.100.7", "198.51.100.0/24"]


def test_messages_with_parts_system_and_multi_turn():
    d = {
        "ts": APR22, "account_id": "a",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "You are a grader."}]},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": [{"type": "text", "text": "look at this"}, {"type": "image_url", "image_url": {"url": "x"}}]},
        ],
    }  # fmt: skip
    row, prompts, _ = norm(d)
    assert prompts[row[12]] == "You are a grader."  # system
    assert prompts[row[13]] == "look at this\n[image_url]"  # last user turn
    whole = orjson.loads(prompts[row[14]])  # the whole conversation, kept
    assert [m["role"] for m in whole] == ["system", "user", "assistant", "user"]
    assert row[16] == 3  # turns


def test_prompt_and_system_fields():
    row, prompts, responses = norm({"ts": APR22, "account_id": "a", "prompt": "p", "system": "s", "response": "r"})
    assert (prompts[row[13]], prompts[row[12]], responses[row[15]]) == ("p", "s", "r")
    assert row[14] is None  # single turn: no conversation stored


def test_openai_response_object():
    resp = {"choices": [{"message": {"role": "assistant", "content": "42"}}]}
    row, _, responses = norm({"ts": APR22, "account_id": "a", "prompt": "q", "response": resp})
    assert responses[row[15]] == "42"


def test_identical_texts_share_one_hash():
    a, _, _ = norm({"ts": APR22, "account_id": "a", "prompt": "same"})
    b, _, _ = norm({"ts": APR22 + 1, "account_id": "b", "prompt": "same"})
    assert a[13] == b[13]


def test_missing_request_id_gets_a_stable_content_hash():
    d = {"ts": APR22, "account_id": "a", "prompt": "p"}
    assert norm(dict(d))[0][0] == norm(dict(d))[0][0]
    assert norm(dict(d))[0][0].startswith("h:")
    assert norm(dict(d, prompt="q"))[0][0] != norm(dict(d))[0][0]


def test_numeric_strings_are_accepted():
    row, _, _ = norm({"ts": APR22, "account_id": "a", "input_tokens": "12", "temperature": "0.7"})
    assert row[17] == 12 and row[20] == 0.7


@pytest.mark.parametrize(
    "patch,reason",
    [({"account_id": {"id": 1}}, "wrong type"), ({"input_tokens": "many"}, "wrong type"), ({"messages": 5}, "wrong type"),
     ({"ts": None}, "missing ts"), ({"account_id": ""}, "missing account_id"), ({"ts": True}, "wrong type"),
     ({"user_agent": ["x"]}, "wrong type"), ({"ts": 5}, "timestamp out of range")],
)  # fmt: skip
def test_bad_fields_raise_with_a_reason(patch, reason):
    d = {"ts": APR22, "account_id": "a", "prompt": "p"}
    d.update(patch)
    with pytest.raises(RecordError) as e:
        norm(d)
    assert e.value.reason == reason


def test_account_record():
    row = normalise_account({"account_id": "a", "created_at": "2026-04-01T00:00:00Z", "email": "Bob@Example.COM",
                             "signup_ip": "198.51.100.9", "verified": "true"})  # fmt: skip
    assert row[1] == parse_ts("2026-04-01T00:00:00Z")
    assert row[3] == "example.com"  # email domain, for pivots
    assert row[8] == "198.51.100.0/24"
    assert row[11] == 1
