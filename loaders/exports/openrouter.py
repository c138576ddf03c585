"""OpenRouter activity export (CSV, one row per generation), reference §7.1. Columns are read by
header name: older exports have fewer of them, in other positions.

The export holds no prompt, response, IP, user agent or country; `user` is the caller's `user`
parameter and `api_key_name` a label the account gave its key.

Not here: reading the CSV (`formats.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

from loaders.exports import Export, account, register
from loaders.records import RecordError

ACCOUNT_FIELDS = ("user", "api_key_name")
NO_TEXT = "no prompt or response in this export"
_TRUE = frozenset({"true", "1", "t", "yes"})


def detect(row: Mapping) -> bool:
    return "generation_id" in row and ("model_permaslug" in row or "tokens_prompt" in row)


def convert(row: dict, account_field: str | None = None, companion: dict | None = None) -> dict:
    """One activity row -> a canonical request."""
    get = row.get
    notes = [NO_TEXT]
    if account_field:
        acct = account(row, account_field, OPENROUTER)
    else:
        acct = get("user")
        if acct is None or acct == "":
            acct = get("api_key_name")
            if acct is None or acct == "":
                raise RecordError("missing account_id", "none of " + ", ".join(ACCOUNT_FIELDS))
            notes.append("account is the API key name (no user)")
    cancelled = get("cancelled")
    if cancelled is True or type(cancelled) is str and cancelled.lower() in _TRUE:
        status = "cancelled"
    else:
        status = get("finish_reason_normalized") or get("finish_reason_raw")
    out = {
        "request_id": get("generation_id"),
        "ts": get("created_at"),
        "account_id": acct,
        "api_key_id": get("api_key_name"),
        "model": get("model_permaslug") or get("model"),
        "input_tokens": get("tokens_prompt"),
        "output_tokens": get("tokens_completion"),
        "latency_ms": get("generation_time_ms"),
        "status": status,
        "notes": notes,
    }
    app = get("app_name")
    if app:
        out["tags"] = [f"app:{app}"]
    return out


OPENROUTER = register(
    Export(
        name="openrouter",
        title="OpenRouter activity export",
        detect=detect,
        convert=convert,
        account_fields=ACCOUNT_FIELDS,
        lacks=frozenset({"org_id", "ip", "user_agent", "country", "prompt", "response", "max_tokens", "temperature"}),
    )
)
