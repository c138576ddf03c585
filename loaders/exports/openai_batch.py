"""OpenAI Batch API files: the output / error file (`BatchRequestOutput` lines) joined on
`custom_id` with the input file (`BatchRequestInput` lines), reference §3.

Also the readers of request and response bodies that other gateway exports share (Helicone and
Langfuse log the same OpenAI, Anthropic and Gemini bodies): `prompt_fields` and `reply_text`.
They turn any body shape into canonical text fields and never raise, so an odd body costs a row
its text, not the row itself.

Not here: joining the two files (the pipeline hands `convert` the matching input line), field
validation (`records.py`).
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping

import orjson

from loaders.exports import Export, first, loads_maybe, register
from loaders.records import RecordError, content_text

# -- request and response bodies (shared with helicone and langfuse) ------------------------------


def _json(v) -> str:
    try:
        return orjson.dumps(v, default=str).decode()
    except TypeError:  # nested deeper than orjson writes (255 levels): keep what reprlib shows
        return reprlib.repr(v)


def _parts_ok(parts: list) -> bool:
    """Whether `records.content_text` can read a list of content parts without raising."""
    for p in parts:
        if type(p) is str:
            continue
        if type(p) is not dict:
            return False
        if type(p.get("text")) is not str and "content" in p:  # tool_result blocks nest content
            inner = p["content"]
            if not (inner is None or type(inner) is str or type(inner) is list and _parts_ok(inner)):
                return False
    return True


def _call_markers(calls) -> list[str]:
    """`[tool_call name]` for each tool call of an OpenAI (`function.name`) or LangChain (`name`)
    assistant turn."""
    if type(calls) is not list:
        return []
    out = []
    for c in calls:
        name = None
        if type(c) is dict:
            fn = c.get("function")
            name = fn.get("name") if type(fn) is dict else c.get("name")
        out.append(f"[tool_call {name}]" if type(name) is str else "[tool_call]")
    return out


def _clean_message(m):
    """One message safe for `records.split_messages`, or `m` itself when it already is."""
    if type(m) is not dict:
        return {"role": None, "content": m if type(m) is str else _json(m)}
    c = m.get("content")
    role = m.get("role")
    calls = m.get("tool_calls")
    content_ok = c is None or type(c) is str or type(c) is list and _parts_ok(c)
    if content_ok and (role is None or type(role) is str) and not calls:
        return m
    if not content_ok:
        c = c["text"] if type(c) is dict and type(c.get("text")) is str else _json(c)
    markers = _call_markers(calls)
    if markers:  # an assistant turn that called tools: show the calls, not an empty turn
        text = c if type(c) is str else content_text(c) if c else ""
        c = "\n".join([text, *markers] if text else markers)
    return {"role": role if role is None or type(role) is str else str(role), "content": c}


def clean_messages(msgs: list) -> list:
    """`msgs` with every message readable by `records.split_messages` (odd content becomes JSON
    text, tool calls become markers); the same list when nothing needed changing."""
    out = None
    for i, m in enumerate(msgs):
        fixed = _clean_message(m)
        if out is None and fixed is not m:
            out = msgs[:i]
        if out is not None:
            out.append(fixed)
    return msgs if out is None else out


def _system(v):
    """A system prompt (string, or text blocks) as `records` reads it, else as JSON text."""
    if v is None or v == "" or v == []:
        return None
    if type(v) is str or type(v) is list and _parts_ok(v):
        return v
    return _json(v)


def prompt_fields(v) -> dict:
    """Canonical prompt fields (`messages`, or `prompt`, plus `system`) of a request body or a
    logged input: a chat or Anthropic body (`messages` + `system`), Gemini (`contents`), Responses
    API (`input` + `instructions`), completions (`prompt`), a messages list, one message, plain text,
    or any of these as JSON text (ref §8). Anything else is kept as JSON text, never dropped."""
    if type(v) is str:
        v = loads_maybe(v)
        if type(v) is str:
            return {"prompt": v} if v else {}
    if v is None:
        return {}
    if type(v) is list:
        if not v:
            return {}
        msgs = [m for m in v if type(m) is dict and "role" in m]
        if msgs:
            return {"messages": clean_messages(msgs)}
        if all(type(x) is str for x in v):
            return {"prompt": "\n".join(v)}
        return {"prompt": _json(v)}
    if type(v) is not dict:
        return {"prompt": _json(v)}
    msgs = v.get("messages")
    if type(msgs) is str:
        msgs = loads_maybe(msgs)
    if type(msgs) is list:
        out = {"messages": clean_messages(msgs)}
        system = _system(v.get("system"))
        if system is not None:
            out["system"] = system
        return out
    contents = v.get("contents")  # Gemini
    if type(contents) is list:
        out = {
            "messages": clean_messages(
                [{"role": c.get("role"), "content": c.get("parts")} if type(c) is dict else c for c in contents]
            )
        }
        system = _system(first(v, ("systemInstruction.parts", "system_instruction.parts")))
        if system is not None:
            out["system"] = system
        return out
    for key in ("input", "prompt"):  # Responses API and embeddings; completions
        if key in v and v[key] not in (None, ""):
            out = prompt_fields(v[key])
            system = _system(v.get("instructions"))
            if system is not None:
                out["system"] = system
            return out
    if "role" in v and "content" in v:
        return {"messages": clean_messages([v])}
    return {"prompt": _json(v)}


def _content_text(c, calls=None) -> str | None:
    if type(c) is str:
        text = c
    else:
        try:
            text = content_text(c, "response")
        except RecordError:
            text = _json(c)
    markers = _call_markers(calls)
    if markers:
        text = "\n".join([text, *markers] if text else markers)
    return text or None


def _output_items_text(items: list) -> str | None:
    """Text of a Responses API `output` list: message text, tool and reasoning items as markers."""
    out = []
    for item in items:
        if type(item) is not dict:
            continue
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or ():
                if type(part) is dict:
                    text = part.get("text") if part.get("type") != "refusal" else part.get("refusal")
                    if type(text) is str:
                        out.append(text)
        elif kind == "function_call":
            name = item.get("name")
            out.append(f"[function_call {name}]" if type(name) is str else "[function_call]")
        elif type(kind) is str:
            out.append(f"[{kind}]")
    return "\n".join(out) or None


def reply_text(v) -> str | None:
    """The response text of a logged output or response body: OpenAI chat completion (content or
    refusal; tool calls as `[tool_call name]`), completion (`text`), Responses API (`output`),
    Anthropic message (`content` blocks), Gemini (`candidates`), one message, a messages list,
    plain text, or any of these as JSON text. None for error bodies and embeddings; any other
    object is kept as JSON text."""
    if v is None or v == "":
        return None
    if type(v) is str:
        v = loads_maybe(v)
        if type(v) is str:
            return v
    if type(v) is dict:
        choices = v.get("choices")
        if type(choices) is list:
            c = choices[0] if choices else None
            if type(c) is not dict:
                return None
            msg = c.get("message")
            if type(msg) is dict:
                text = _content_text(msg.get("content"), msg.get("tool_calls"))
                refusal = msg.get("refusal")
                return text if text or type(refusal) is not str else refusal
            return c.get("text") if type(c.get("text")) is str else None
        output = v.get("output")
        if type(output) is list:
            return _output_items_text(output)
        if "content" in v:
            return _content_text(v["content"], v.get("tool_calls"))
        candidates = v.get("candidates")  # Gemini
        if type(candidates) is list:
            return _content_text(first(v, ("candidates.0.content.parts",)))
        if type(v.get("text")) is str:
            return v["text"]
        if type(output) is str:
            return output or None
        if "error" in v or v.get("object") == "list":  # an error body; embeddings
            return None
        return _json(v)
    if type(v) is list:
        if not v:
            return None
        msgs = [m for m in v if type(m) is dict and "content" in m]
        if msgs:
            return _content_text(msgs[-1]["content"], msgs[-1].get("tool_calls"))
        if all(type(x) is str for x in v):
            return "\n".join(v)
        return _json(v)
    return _json(v)


def number(v):
    """A numeric setting (temperature, max tokens) as logged, or None when it is not a number
    (LangChain logs `"Infinity"`; a setting is not worth quarantining a row for)."""
    t = type(v)
    if t is int or t is float:
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    if t is str and v:
        try:
            f = float(v)
        except ValueError:
            return None
        if f != f or f in (float("inf"), float("-inf")):
            return None
        return int(f) if f.is_integer() else f
    return None


# -- the batch files --------------------------------------------------------------------------------

NO_TIME = "no per-request time"
ACCOUNT_FIELDS = ("body.safety_identifier", "body.user")


def detect_output(row: Mapping) -> bool:
    return "custom_id" in row and ("response" in row or "error" in row)


def detect_input(row: Mapping) -> bool:
    return "custom_id" in row and "body" in row and ("url" in row or "method" in row)


def batch_account(row: dict, companion: dict | None, account_field: str | None, fields: tuple, file: str):
    """The account of a batch line: `--account-field` in the request line, then in the result
    line; by default the documented fields of the request line (the result line has none)."""
    if account_field:
        v = first(companion, (account_field,)) if companion else None
        if v is None:
            v = first(row, (account_field,))
        if v is None:
            raise RecordError("missing account_id", f"{account_field} is empty in this line and its {file} line")
        return v
    if companion is None:
        raise RecordError(
            "missing account_id", f"the account is in the {file} ({', '.join(fields)}), which was not given"
        )
    v = first(companion, fields)
    if v is None:
        raise RecordError("missing account_id", f"none of {', '.join(fields)} in the {file}")
    return v


def convert_output(row: dict, account_field: str | None = None, companion: dict | None = None) -> dict:
    """One batch output (or error file) line, with its input line when that file was given."""
    response = row.get("response")
    response = response if type(response) is dict else None
    error = row.get("error")
    if response is None and type(error) is not dict:
        raise RecordError("not a batch result", "neither response nor error")
    body = loads_maybe(response.get("body")) if response else None
    body = body if type(body) is dict else {}
    request = companion.get("body") if type(companion) is dict else None
    request = request if type(request) is dict else {}
    notes = []
    out = {
        "request_id": first(row, ("response.request_id", "response.body.id", "id", "custom_id")),
        "account_id": batch_account(row, companion, account_field, ACCOUNT_FIELDS, "batch input file"),
        "model": body.get("model") or request.get("model"),
        "response": reply_text(body) if body else None,
        "max_tokens": number(first(request, ("max_tokens", "max_completion_tokens", "max_output_tokens"))),
        "temperature": number(request.get("temperature")),
        "notes": notes,
    }
    created = body.get("created") or body.get("created_at")  # chat completions; Responses API
    if created:
        out["ts"] = created
    else:  # error lines: the time is only on the batch object
        notes.append(NO_TIME)
    if response is not None and response.get("status_code") is not None:
        out["status"] = str(response["status_code"])
    else:
        out["status"] = str(error.get("code") or "error") if type(error) is dict else "error"
    usage = body.get("usage")
    if type(usage) is dict:
        out["input_tokens"] = usage.get("prompt_tokens", usage.get("input_tokens"))
        out["output_tokens"] = usage.get("completion_tokens", usage.get("output_tokens"))
    if companion is None:
        notes.append("prompt in the batch input file (not given)")
    else:
        out.update(prompt_fields(request))
    return out


def convert_input(row: dict, account_field: str | None = None, companion: dict | None = None) -> dict:
    """A batch input line is not a request of its own: the pipeline keeps it whole and hands it
    to `convert_output` by `custom_id`."""
    return row


OUTPUT = register(
    Export(
        name="openai-batch",
        title="OpenAI Batch API output / error file",
        detect=detect_output,
        convert=convert_output,
        account_fields=ACCOUNT_FIELDS,
        # Error lines carry no time (only the batch object does), so `ts` may be missing.
        lacks=frozenset({"api_key_id", "org_id", "ip", "user_agent", "country", "latency_ms"}),
        ts_required=False,  # error lines have no time
        companion="openai-batch-input",
        join_key="custom_id",
    )
)
INPUT = register(
    Export(
        name="openai-batch-input",
        title="OpenAI Batch API input file",
        detect=detect_input,
        convert=convert_input,
        account_fields=ACCOUNT_FIELDS,
        kind="companion",
        join_key="custom_id",
    )
)
