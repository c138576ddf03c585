"""The sample tenant base written as real export formats: LiteLLM spend logs, Bedrock invocation logs.

Responsible for: turning the canonical request dicts that `sample.generate` writes to
`requests.jsonl` into the rows a LiteLLM proxy or AWS Bedrock would have logged for the same
traffic, so every export loader can be tried on a tenant base with planted farms. The account id
travels in each format's own account field (LiteLLM `user`, Bedrock the role session name of
`identity.arn`), so a loaded export finds the same accounts as the canonical file. What a format
does not carry (LiteLLM: user agent, country; Bedrock: IP, user agent, country, API key, org) is
not written. Output is deterministic: the same requests always give byte-identical files.

Not responsible for: generating traffic (`sample.py`), the CLI, or reading exports back
(`loaders/exports/`).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from loaders.records import parse_ts

__all__ = ["write_litellm", "write_bedrock", "BEDROCK_ACCOUNT", "BEDROCK_REGION"]

LITELLM_FILE = "litellm_spend_logs.jsonl"
BEDROCK_ACCOUNT = "210987654321"  # the tenant's AWS account: every caller is a role session in it
BEDROCK_REGION = "us-east-1"
BEDROCK_ROLE = "app"
RECORDS_PER_OBJECT = 5000  # Bedrock writes many small objects per hour; a cap keeps ours small too
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ERRORS = {  # canonical status -> (HTTP code, LiteLLM error class, Bedrock errorCode)
    "rate_limited": ("429", "RateLimitError", "ThrottlingException"),
    "error": ("500", "InternalServerError", "InternalServerException"),
}


def _iso(ms: int) -> str:
    """ISO 8601 UTC with microseconds, as LiteLLM's JSON has it: 2025-03-02T14:05:11.204000Z."""
    dt = _EPOCH + timedelta(milliseconds=ms)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}000Z"


def _iso_seconds(ms: int) -> str:
    """ISO 8601 UTC to the second, as Bedrock writes `timestamp`: 2025-03-11T00:38:02Z."""
    return f"{_EPOCH + timedelta(milliseconds=ms):%Y-%m-%dT%H:%M:%S}Z"


def _hash_key(key: str) -> str:
    """LiteLLM stores a virtual key as its SHA-256 hex digest (`hash_token`)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _failure(status) -> tuple[str, str, str] | None:
    if status in (None, "", "ok", "success"):
        return None
    return _ERRORS.get(status, ("500", "APIError", "InternalServerException"))


def _messages(r: dict) -> list[dict]:
    """The request's messages; a canonical record may instead hold `prompt` (and `system`)."""
    if r.get("messages"):
        return r["messages"]
    out = [{"role": "system", "content": r["system"]}] if r.get("system") else []
    return [*out, {"role": "user", "content": r.get("prompt") or ""}]


# -- LiteLLM -----------------------------------------------------------------------------------------


def write_litellm(requests: Iterable[dict], out_dir: Path) -> Path:
    """Write LiteLLM spend-log rows (as `GET /spend/logs` returns them, one JSON object a line).

    Prompts are stored as LiteLLM does with `store_prompts_in_spend_logs`: the client body as a
    JSON string in `proxy_server_request`, the reply as an OpenAI chat.completion in `response`.

    Args:
        requests: canonical request dicts, as in the sample's `requests.jsonl`.
        out_dir: folder to write into (created if missing).
    Returns:
        The path of the JSONL file written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LITELLM_FILE
    hashes: dict[str, str] = {}
    with open(path, "wb") as f:
        buf: list[bytes] = []
        for r in requests:
            buf.append(orjson.dumps(_litellm_row(r, hashes)))
            if len(buf) >= 4096:
                f.write(b"\n".join(buf) + b"\n")
                buf.clear()
        if buf:
            f.write(b"\n".join(buf) + b"\n")
    return path


def _litellm_row(r: dict, hashes: dict) -> dict:
    start = parse_ts(r["ts"])
    latency = r.get("latency_ms")
    acct = r["account_id"]
    key = r.get("api_key_id")
    key_hash = None
    if key:
        key_hash = hashes.get(key)
        if key_hash is None:
            key_hash = hashes[key] = _hash_key(key)
    model = r.get("model")
    failure = _failure(r.get("status"))
    prompt_tokens, completion_tokens = r.get("input_tokens") or 0, r.get("output_tokens") or 0
    body = {"model": model, "messages": _messages(r)}
    for k in ("max_tokens", "temperature"):
        if r.get(k) is not None:
            body[k] = r[k]
    body["user"] = acct
    meta = {"user_api_key": key_hash, "user_api_key_user_id": acct, "user_api_key_org_id": r.get("org_id")}
    if r.get("ip"):
        meta["requester_ip_address"] = r["ip"]
    meta["status"] = "failure" if failure else "success"
    meta["error_information"] = (
        {"error_code": failure[0], "error_class": failure[1], "llm_provider": "openai"} if failure else None
    )
    response: dict = {}
    if r.get("response") and not failure:
        response = {
            "id": r.get("request_id"),
            "object": "chat.completion",
            "created": start // 1000,
            "model": model,
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": r["response"]}}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    row = {
        "request_id": r.get("request_id"),
        "call_type": "acompletion",
        "api_key": key_hash or "",
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "startTime": _iso(start),
    }
    if latency is not None:
        row["endTime"] = _iso(start + int(latency))
        row["request_duration_ms"] = int(latency)
    row.update(
        {
            "model": model or "",
            "model_group": model or "",
            "user": acct,
            "metadata": meta,
            "cache_hit": "False",
            "cache_key": "Cache OFF",
            "request_tags": [],
            "team_id": r.get("org_id"),
            "organization_id": r.get("org_id"),
            "end_user": acct,
            "requester_ip_address": r.get("ip"),
            "messages": {},
            "response": response,
            "status": "failure" if failure else "success",
            "proxy_server_request": orjson.dumps(body).decode(),
        }
    )
    return row


# -- Bedrock -----------------------------------------------------------------------------------------


def write_bedrock(requests: Iterable[dict], out_dir: Path) -> Path:
    """Write Bedrock model invocation logs in the S3 layout Bedrock uses:
    `AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/<n>.json.gz`, each object
    gzipped JSON Lines of Converse records. Every caller is a session of one role, named by its
    account id (`arn:aws:sts::<account>:assumed-role/app/<account_id>`).

    Args:
        requests: canonical request dicts, as in the sample's `requests.jsonl`.
        out_dir: folder to write into (created if missing).
    Returns:
        The `AWSLogs` folder (give it to `farmhound ingest`).
    """
    root = Path(out_dir) / "AWSLogs"
    base = root / BEDROCK_ACCOUNT / "BedrockModelInvocationLogs" / BEDROCK_REGION
    next_n: dict[str, int] = {}  # hour folder -> next object number
    current_hour, count = None, 0
    raw = gz = None
    try:
        for r in requests:
            ms = parse_ts(r["ts"])
            hour = f"{_EPOCH + timedelta(milliseconds=ms):%Y/%m/%d/%H}"
            if hour != current_hour or count >= RECORDS_PER_OBJECT:
                if gz is not None:
                    gz.close()  # does not close the file under it
                    raw.close()
                n = next_n.get(hour, 0)
                next_n[hour] = n + 1
                folder = base / hour
                folder.mkdir(parents=True, exist_ok=True)
                raw = open(folder / f"{n}.json.gz", "wb")
                # No file name and a fixed mtime in the gzip header: the same input, the same bytes.
                gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
                current_hour, count = hour, 0
            gz.write(orjson.dumps(_bedrock_record(r, ms)) + b"\n")
            count += 1
    finally:
        if gz is not None:
            gz.close()
            raw.close()
    root.mkdir(parents=True, exist_ok=True)
    return root


def _bedrock_record(r: dict, ms: int) -> dict:
    failure = _failure(r.get("status"))
    system, messages = [], []
    for m in _messages(r):
        content = m.get("content")
        blocks = (
            [{"text": content}]
            if isinstance(content, str)
            else [{"text": p["text"]} if "text" in p else {p.get("type", "part"): {}} for p in content or []]
        )
        if m.get("role") in ("system", "developer"):
            system.extend(blocks)
        else:
            messages.append({"role": m.get("role"), "content": blocks})
    body: dict = {"messages": messages}
    if system:
        body["system"] = system
    config = {}
    if r.get("max_tokens") is not None:
        config["maxTokens"] = r["max_tokens"]
    if r.get("temperature") is not None:
        config["temperature"] = r["temperature"]
    if config:
        body["inferenceConfig"] = config
    record = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": _iso_seconds(ms),  # Bedrock logs whole seconds: the milliseconds are lost
        "accountId": BEDROCK_ACCOUNT,
        "identity": {"arn": f"arn:aws:sts::{BEDROCK_ACCOUNT}:assumed-role/{BEDROCK_ROLE}/{r['account_id']}"},
        "region": BEDROCK_REGION,
        "requestId": r.get("request_id"),
        "operation": "Converse",
        "modelId": r.get("model"),
    }
    if failure:
        record["errorCode"] = failure[2]
    inp = {"inputContentType": "application/json", "inputBodyJson": body}
    if r.get("input_tokens") is not None:
        inp["inputTokenCount"] = r["input_tokens"]
    record["input"] = inp
    if not failure:
        out_tokens = r.get("output_tokens") or 0
        out_body = {
            "output": {"message": {"role": "assistant", "content": [{"text": r.get("response") or ""}]}},
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": r.get("input_tokens") or 0,
                "outputTokens": out_tokens,
                "totalTokens": (r.get("input_tokens") or 0) + out_tokens,
            },
        }
        if r.get("latency_ms") is not None:
            out_body["metrics"] = {"latencyMs": r["latency_ms"]}
        record["output"] = {
            "outputContentType": "application/json",
            "outputBodyJson": out_body,
            "outputTokenCount": out_tokens,
        }
    return record
