"""LiteLLM proxy spend logs (`LiteLLM_SpendLogs` rows) -> canonical request dicts.

Reads rows as `GET /spend/logs` returns them (JSON), as `psql`/CSV dumps hold them (every JSON
column as JSON text, sometimes encoded twice, times as naive UTC `YYYY-MM-DD HH:MM:SS.fff`), and
the sibling StandardLoggingPayload that LiteLLM's S3/GCS callbacks write (`id`, float epoch
seconds). Field facts: shared reference `log-formats.md` §1 and §8.

Where things come from:
  request_id   `request_id` (`id` in the StandardLoggingPayload). A cache hit keeps its whole id
               (`chatcmpl-…_cache_hit1712345678.9`) so it stays a request of its own, and is
               flagged `cache_hit`.
  account      `--account-field`, else the first of `user`, `end_user`,
               `metadata.user_api_key_user_id`, `api_key`, `metadata.user_api_key_hash`.
  prompt       `messages` when it is a non-empty list (older LiteLLM), else the client body in
               `proxy_server_request` (its `messages`, `system`, else `input`/`prompt`).
  response     `response`: an OpenAI (or Anthropic, or Responses API) object, or a string.
LiteLLM stores no content unless prompt storage is on; then the columns hold "{}" and the row gets
the note "prompt not stored" / "response not stored". Strings LiteLLM cut to fit the database keep
their head and tail around a `(litellm_truncated skipped N chars)` marker: the text is kept and
the row gets the note "payload truncated by LiteLLM".

Lacks user_agent and country. Not here: reading containers (`formats.py`), validating field types
(`records.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

from loaders.exports import EMPTY, Export, account, loads_maybe, register
from loaders.exports.openai_batch import reply_text
from loaders.records import RecordError, parse_ts

# LiteLLM writes `... (litellm_truncated skipped N chars[. note]) ...` (constant
# LITELLM_TRUNCATED_PAYLOAD_FIELD = "litellm_truncated"); docs and the reference spell the constant.
_TRUNCATION_MARKERS = ("litellm_truncated skipped", "LITELLM_TRUNCATED_PAYLOAD_FIELD")
_CACHE_HIT_SUFFIX = "_cache_hit"
_BARE_FAILURE = (None, "", "failure")
_DETECT_KEYS = ("call_type", "spend", "api_key", "model_group")


def detect(row: Mapping) -> bool:
    if not isinstance(row, Mapping) or "startTime" not in row:
        return False
    return any(k in row for k in _DETECT_KEYS)


def convert(row: dict, account_field: str | None = None) -> dict:
    """One spend-log row -> a canonical request dict (see the module docstring for the mapping).

    Raises:
        RecordError: the row has no start time, no account, or is a per-day summary row.
    """
    get = row.get
    rid = get("request_id") or get("id")
    start = get("startTime")
    if start is None or start == "":
        raise RecordError("missing ts", "startTime")
    if rid in EMPTY and ("users" in row or "models" in row):
        raise RecordError(
            "summary row", "per-day totals from /spend/logs with a date range; export with summarize=false"
        )
    meta = get("metadata")
    if type(meta) is str:  # CSV / dumps: parse once, not once per dotted path
        meta = loads_maybe(meta)
        row = {**row, "metadata": meta}
    if type(meta) is not dict:
        meta = {}

    ts = parse_ts(start, "startTime")
    d: dict = {"ts": ts, "account_id": account(row, account_field, EXPORT)}
    notes: list[str] = []
    if rid not in EMPTY:
        d["request_id"] = rid
    cache_hit = get("cache_hit")
    if type(rid) is str and _CACHE_HIT_SUFFIX in rid and _is_number(rid.rpartition(_CACHE_HIT_SUFFIX)[2]):
        d["cache_hit"] = True
    elif cache_hit is True or cache_hit is False:
        d["cache_hit"] = cache_hit
    elif type(cache_hit) is str and cache_hit:
        d["cache_hit"] = cache_hit.lower() == "true"

    _put(d, "api_key_id", get("api_key") or meta.get("user_api_key_hash") or meta.get("user_api_key"))
    _put(
        d,
        "org_id",
        get("organization_id") or get("team_id") or meta.get("user_api_key_org_id") or meta.get("user_api_key_team_id"),
    )
    _put(d, "ip", get("requester_ip_address") or meta.get("requester_ip_address"))
    _put(d, "model", get("model") or get("model_group"))
    _put(d, "input_tokens", get("prompt_tokens"))
    _put(d, "output_tokens", get("completion_tokens"))

    latency = get("request_duration_ms")
    if latency in EMPTY:
        end = get("endTime")
        if end not in EMPTY:
            ms = parse_ts(end, "endTime") - ts
            latency = ms if ms >= 0 else None
    _put(d, "latency_ms", latency)

    status = get("status") or meta.get("status")
    error = loads_maybe(get("error_information") or meta.get("error_information"))
    error_class = error.get("error_class") if type(error) is dict else None
    if error_class and status in _BARE_FAILURE:
        status = f"failure: {error_class}"
    _put(d, "status", status)
    failed = type(status) is str and status.startswith("failure")

    body = _prompt(row, d, notes)
    if type(body) is dict:
        params = body
    else:
        params = loads_maybe(get("model_parameters"))  # StandardLoggingPayload
        params = params if type(params) is dict else {}
    _put(d, "max_tokens", params.get("max_tokens") or params.get("max_completion_tokens"))
    _put(d, "temperature", params.get("temperature"))

    noted = len(notes)
    response = _response_text(loads_maybe(get("response")), notes)
    if response is not None:
        d["response"] = response
        if _truncated(response):
            notes.append("payload truncated by LiteLLM")
    elif not failed and len(notes) == noted:  # no reason given yet: storage was off
        notes.append("response not stored")

    tags = loads_maybe(get("request_tags"))
    if type(tags) is list:
        tags = [t if type(t) is str else str(t) for t in tags if t not in EMPTY]
    if tags and (type(tags) is list or type(tags) is str):  # a string: records.py splits it on commas
        d["tags"] = tags
    if notes:
        d["notes"] = list(dict.fromkeys(notes))
    return d


def _put(d: dict, key: str, v) -> None:
    if v is not None and v != "":
        d[key] = v


def _is_number(s: str) -> bool:
    return bool(s) and s.replace(".", "", 1).isdigit()


def _prompt(row: dict, d: dict, notes: list) -> dict | None:
    """Fill `messages` or `prompt` (and `system`) into `d`; return the client request body, if any."""
    raw_messages = row.get("messages")
    messages = loads_maybe(raw_messages)
    raw_body = row.get("proxy_server_request")
    body = loads_maybe(raw_body)
    if type(body) is not dict:
        if _cut_json(body) and not (type(messages) is list and messages):
            notes.append("prompt not parsable")  # cut mid-JSON (e.g. by a spreadsheet's cell limit)
            if _truncated(body):
                notes.append("payload truncated by LiteLLM")
            return None
        body = None
    source = None
    if type(messages) is list and messages:
        d["messages"], source = messages, raw_messages
    elif type(messages) is str and messages and messages != "{}":
        d["prompt"], source = messages, messages  # StandardLoggingPayload of a text completion
    elif body:
        source = raw_body
        inner = loads_maybe(body.get("messages"))
        if type(inner) is list and inner:
            d["messages"] = inner
        else:
            text = body.get("input")
            if text in EMPTY:
                text = body.get("prompt")
            if type(text) is list and all(type(t) is str for t in text):
                text = "\n".join(text)  # a batch of embedding inputs
            if type(text) is str and text:
                d["prompt"] = text
            elif text not in EMPTY:
                notes.append("prompt not text")  # e.g. token ids
                return body
        system = body.get("system")  # Anthropic-style /v1/messages passthrough
        if system not in EMPTY and ("messages" in d or "prompt" in d):
            d["system"] = system  # records puts it first in the conversation, as a system message
    if "messages" not in d and "prompt" not in d:
        notes.append("prompt not stored")
    elif _truncated(source):
        notes.append("payload truncated by LiteLLM")
    return body


def _response_text(v, notes: list) -> str | None:
    """The text of a stored response, or None when none was stored (or it holds no text)."""
    if v in EMPTY:
        return None
    if type(v) is str:
        if _cut_json(v):
            notes.append("response not parsable")
            return None
        return v
    text = reply_text(v)  # the body reader every export shares
    if text is None:
        notes.append("response not text")  # embeddings, images, or a shape not known here
    return text


def _cut_json(v) -> bool:
    """Whether `v` is JSON text that did not parse (an object cut short), not a plain string."""
    return type(v) is str and v.lstrip()[:2] == '{"'


def _truncated(v) -> bool:
    """Whether LiteLLM cut a string anywhere in `v` (a string, or parsed JSON)."""
    t = type(v)
    if t is str:
        return any(m in v for m in _TRUNCATION_MARKERS)
    if t is list:
        return any(_truncated(x) for x in v)
    if t is dict:
        return any(_truncated(x) for x in v.values())
    return False


EXPORT = register(
    Export(
        name="litellm",
        title="LiteLLM spend logs",
        detect=detect,
        convert=convert,
        account_fields=("user", "end_user", "metadata.user_api_key_user_id", "api_key", "metadata.user_api_key_hash"),
        lacks=frozenset({"user_agent", "country"}),
    )
)
