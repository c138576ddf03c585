"""Anthropic Message Batches: the results file joined on `custom_id` with the request items
(`{custom_id, params}`) the batch was created from, reference §4.

A results line has no time and no account: the account is the request's `params.metadata.user_id`,
and the time exists only on the batch object, so rows are stored without one.

Not here: joining the two files (the pipeline hands `convert` the matching request item), body
readers (`openai_batch.prompt_fields` / `reply_text`, shared by every export).
"""

from __future__ import annotations

from collections.abc import Mapping

from loaders.exports import Export, register
from loaders.exports.openai_batch import NO_TIME, batch_account, number, prompt_fields, reply_text
from loaders.records import RecordError

ACCOUNT_FIELDS = ("params.metadata.user_id",)


def detect_results(row: Mapping) -> bool:
    return "custom_id" in row and "result" in row


def detect_requests(row: Mapping) -> bool:
    return "custom_id" in row and "params" in row


def _error_type(error) -> str | None:
    """The error type of an errored result, in the documented nested shape
    `{"type": "error", "error": {"type": ...}}` or the un-nested `{"type": ...}` some tools write."""
    if type(error) is not dict:
        return None
    inner = error.get("error")
    if error.get("type") == "error" and type(inner) is dict:
        return inner.get("type")
    return error.get("type")


def _tokens(usage) -> tuple[int | None, int | None]:
    """(billed input tokens: uncached + cache writes + cache reads, output tokens)."""
    if type(usage) is not dict:
        return None, None
    n = usage.get("input_tokens")
    if type(n) is int:
        for key in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            extra = usage.get(key)
            if type(extra) is int:
                n += extra
    return n, usage.get("output_tokens")


def convert_result(row: dict, account_field: str | None = None, companion: dict | None = None) -> dict:
    """One results line, with its request item when that file was given."""
    result = row.get("result")
    if type(result) is not dict:
        raise RecordError("not a batch result", "no result object")
    message = result.get("message")
    message = message if type(message) is dict else {}
    params = companion.get("params") if type(companion) is dict else None
    params = params if type(params) is dict else {}
    status = result.get("type")
    if status == "errored":
        kind = _error_type(result.get("error"))
        status = f"errored: {kind}" if kind else "errored"
    input_tokens, output_tokens = _tokens(message.get("usage"))
    out = {
        "request_id": message.get("id") or row.get("custom_id"),
        "account_id": batch_account(row, companion, account_field, ACCOUNT_FIELDS, "batch requests file"),
        "model": message.get("model") or params.get("model"),
        "response": reply_text(message) if message else None,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "max_tokens": number(params.get("max_tokens")),
        "temperature": number(params.get("temperature")),
        "status": status,
        "notes": [NO_TIME],
    }
    if companion is None:
        out["notes"].append("prompt in the batch requests file (not given)")
    else:
        out.update(prompt_fields(params))
    return out


def convert_request(row: dict, account_field: str | None = None, companion: dict | None = None) -> dict:
    """A request item is not a request of its own: the pipeline keeps it whole and hands it to
    `convert_result` by `custom_id`."""
    return row


RESULTS = register(
    Export(
        name="anthropic-batch",
        title="Anthropic Message Batches results",
        detect=detect_results,
        convert=convert_result,
        account_fields=ACCOUNT_FIELDS,
        lacks=frozenset({"ts", "api_key_id", "org_id", "ip", "user_agent", "country", "latency_ms"}),
        ts_required=False,
        companion="anthropic-batch-requests",
        join_key="custom_id",
    )
)
REQUESTS = register(
    Export(
        name="anthropic-batch-requests",
        title="Anthropic Message Batches request items",
        detect=detect_requests,
        convert=convert_request,
        account_fields=ACCOUNT_FIELDS,
        kind="companion",
        join_key="custom_id",
    )
)
