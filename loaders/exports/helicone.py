"""Helicone request export, reference §5H: JSON / JSONL `HeliconeRequest` records and the CSV of
`@helicone/export` (a fixed 12-column header; nested values as JSON text, `latency` for the
records' `delay_ms`).

Bodies are there only when the export was made with `--include-body`; they may be OpenAI,
Anthropic or Gemini shaped (Helicone proxies all three).

Not here: body readers (`openai_batch.prompt_fields` / `reply_text`).
"""

from __future__ import annotations

from collections.abc import Mapping

from loaders.exports import Export, account, loads_maybe, register
from loaders.exports.openai_batch import number, prompt_fields, reply_text

ACCOUNT_FIELDS = ("request_user_id", "helicone_user")
NO_BODY = "no request body (exported without --include-body)"
NO_RESPONSE = "no response body in this export"  # the CSV has no column for it


def detect(row: Mapping) -> bool:
    return "request_created_at" in row and ("request_id" in row or "response_id" in row)


def _usage(body, key: str, alt: str):
    usage = body.get("usage") if type(body) is dict else None
    if type(usage) is not dict:
        return None
    return usage.get(key, usage.get(alt))


def convert(row: dict, account_field: str | None = None, companion: dict | None = None) -> dict:
    """One Helicone record or CSV row -> a canonical request."""
    get = row.get
    request = loads_maybe(get("request_body"))
    response = loads_maybe(get("response_body"))
    status = get("response_status")
    input_tokens = get("prompt_tokens")
    output_tokens = get("completion_tokens")
    latency = get("delay_ms")
    out = {
        "request_id": get("request_id") or get("response_id"),
        "ts": get("request_created_at"),
        "account_id": account(row, account_field, HELICONE),
        "country": get("country_code"),
        "model": get("model") or get("request_model") or get("response_model"),
        "response": reply_text(response),
        "input_tokens": input_tokens
        if input_tokens not in (None, "")
        else _usage(response, "prompt_tokens", "input_tokens"),
        "output_tokens": (
            output_tokens if output_tokens not in (None, "") else _usage(response, "completion_tokens", "output_tokens")
        ),
        "latency_ms": latency if latency not in (None, "") else get("latency"),
        "status": str(status) if status not in (None, "") else None,
    }
    notes = []
    if type(request) is dict:
        out.update(prompt_fields(request))
        out["max_tokens"] = number(request.get("max_tokens") or request.get("max_completion_tokens"))
        out["temperature"] = number(request.get("temperature"))
    elif request in (None, ""):
        notes.append(NO_BODY)
    else:
        out.update(prompt_fields(request))
    if "response_body" not in row:
        notes.append(NO_RESPONSE)
    if notes:
        out["notes"] = notes
    return out


HELICONE = register(
    Export(
        name="helicone",
        title="Helicone request export",
        detect=detect,
        convert=convert,
        account_fields=ACCOUNT_FIELDS,
        lacks=frozenset({"api_key_id", "org_id", "ip", "user_agent"}),
    )
)
