"""Langfuse exports, reference §5: the blob-storage export (snake_case; `observations_v2/`, legacy
`observations/` and `traces/`; JSON/JSONL/CSV/Parquet) and the UI / public API export (camelCase;
JSON or CSV, nested values as JSON text in CSV).

Only GENERATION observations and traces are requests; other observations (spans, events, tools…)
and scores are quarantined as "not a generation", so the summary says how many there were.
Loading both the traces and the generations of the same runs counts each call twice.

Not here: body readers (`openai_batch.prompt_fields` / `reply_text`).
"""

from __future__ import annotations

from collections.abc import Mapping

from loaders.exports import Export, account, loads_maybe, register
from loaders.exports.openai_batch import number, prompt_fields, reply_text
from loaders.records import RecordError, parse_ts

ACCOUNT_FIELDS = ("user_id", "userId", "project_id", "projectId")


def detect(row: Mapping) -> bool:
    if "traceId" in row:  # UI / API observation
        return "startTime" in row or "type" in row
    if "trace_id" in row:  # blob observation (any non-core column may be deselected), or score
        return "start_time" in row or "project_id" in row and ("type" in row or "observation_id" in row)
    if "timestamp" in row:  # trace: blob legacy `traces/`, or UI / API
        if "project_id" in row:
            return "session_id" in row or "bookmarked" in row or "public" in row or "release" in row
        return "htmlPath" in row or "userId" in row or "sessionId" in row
    return False


def _pick(row: dict, keys: tuple):
    """The first non-empty value among top-level keys (the snake_case and camelCase spellings);
    a plain `get` per key, as this runs several times per row."""
    for key in keys:
        v = row.get(key)
        if v is not None and v != "":
            return v
    return None


def _mapping(v) -> dict:
    """An object column: a dict (JSON), JSON text (CSV), or (key, value) pairs (a Parquet map)."""
    v = loads_maybe(v)
    if type(v) is dict:
        return v
    if type(v) is list:
        try:
            return dict(v)
        except (TypeError, ValueError):
            return {}
    return {}


def _status(row: dict) -> str | None:
    level = row.get("level")
    if level != "ERROR" and level != "WARNING":
        return None
    message = _pick(row, ("status_message", "statusMessage"))
    if type(message) is not str:
        return level
    # The first line only: a status groups requests, a stack trace would make each one unique.
    message = message.strip().split("\n", 1)[0]
    return f"{level}: {message[:120]}" if message else level


def _ms(v) -> int | None:
    if v is None or v == "":
        return None
    try:
        return parse_ts(v)
    except RecordError:
        return None


def _latency(row: dict, start, notes: list):
    """Latency in ms. Langfuse writes seconds for integrations created from 2026-04-01 and ms
    before, in the same column: with both timestamps the unit closer to end - start wins; without
    them a value under 1000 is taken as seconds, and the guess is noted."""
    end = _ms(_pick(row, ("end_time", "endTime")))
    start = _ms(start) if end is not None else None
    value = number(row.get("latency"))
    if value is None:
        return end - start if start is not None and end is not None else None
    if start is not None and end is not None:
        elapsed = end - start
        seconds = abs(value * 1000 - elapsed) <= abs(value - elapsed)
    else:
        seconds = value < 1000
        notes.append("latency unit guessed (seconds)" if seconds else "latency unit guessed (milliseconds)")
    return round(value * 1000, 3) if seconds else value


def _tags(v) -> list[str] | None:
    v = loads_maybe(v)
    if type(v) is not list:
        return None
    return [t if type(t) is str else str(t) for t in v if t is not None and t != ""] or None


def convert(row: dict, account_field: str | None = None, companion: dict | None = None) -> dict:
    """One Langfuse row (observation or trace, either spelling) -> a canonical request."""
    kind = row.get("type")
    if kind is not None and kind != "":
        if kind != "GENERATION":
            raise RecordError("not a generation", f"type {kind}")
    elif "observation_id" in row or "data_type" in row:
        raise RecordError("not a generation", "a score")
    notes = []
    if account_field:
        acct = account(row, account_field, LANGFUSE)
    else:
        acct = _pick(row, ("user_id", "userId"))
        if acct is None:
            acct = _pick(row, ("project_id", "projectId"))
            if acct is None:
                raise RecordError("missing account_id", "none of " + ", ".join(ACCOUNT_FIELDS))
            notes.append("account is the Langfuse project (no user id)")
    start = _pick(row, ("start_time", "startTime", "timestamp"))
    usage = _mapping(_pick(row, ("usage_details", "usageDetails", "usage")))
    params = _mapping(_pick(row, ("model_parameters", "modelParameters")))
    out = {
        "request_id": row.get("id"),
        "ts": start,
        "account_id": acct,
        "model": _pick(row, ("provided_model_name", "providedModelName", "model")),
        "response": reply_text(row.get("output")),
        "input_tokens": usage.get("input", row.get("promptTokens")),
        "output_tokens": usage.get("output", row.get("completionTokens")),
        "max_tokens": number(_pick(params, ("max_tokens", "max_completion_tokens", "maxTokens", "max_output_tokens"))),
        "temperature": number(params.get("temperature")),
        "latency_ms": _latency(row, start, notes),
        "status": _status(row),
        "notes": notes,
    }
    out.update(prompt_fields(row.get("input")))
    tags = _tags(row.get("tags"))
    if tags:
        out["tags"] = tags
    return out


LANGFUSE = register(
    Export(
        name="langfuse",
        title="Langfuse export (blob storage, UI or API)",
        detect=detect,
        convert=convert,
        account_fields=ACCOUNT_FIELDS,
        lacks=frozenset({"api_key_id", "org_id", "ip", "user_agent", "country"}),
    )
)
