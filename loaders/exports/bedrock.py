"""AWS Bedrock model invocation logs (S3 objects or CloudWatch events) -> canonical request dicts.

One record per invocation (`schemaType` "ModelInvocationLog"). The request and response bodies
are the provider-native bodies, so the text is found by shape (shared reference
`log-formats.md` §2.2 and §8.3):
  Converse / ConverseStream, Amazon Nova   messages[].content[] blocks, system[]; output.message
  InvokeModel + Anthropic                  messages (string or typed blocks), system; content[]
  Amazon Titan text                        inputText; results[].outputText
  Meta Llama, Mistral                      prompt; generation / outputs[].text
  Cohere                                   message (+ chat_history, preamble); text
  InvokeModelWithResponseStream            outputBodyJson is an array of chunks: the text deltas
                                           of each provider's chunk shape are concatenated
Non-text blocks (image, document, toolUse, toolResult without text…) become bracketed markers such
as `[image]` or `[toolUse get_weather]`, never dropped. A body too large to inline is only an S3
path: the record then has no prompt (or response) and the note "input body offloaded to S3"
("output body offloaded to S3").

The account is `--account-field` when given. Otherwise it comes from `identity.arn`: for an
assumed role (`arn:aws:sts::…:assumed-role/<role>/<session>`) the role session name, which is who
the application assumed the role for (one role is shared by all its callers); for any other
principal the whole ARN. With no identity the AWS `accountId` is the account. `--account-field
identity.arn` keeps whole ARNs. org_id is the AWS account. Lacks api_key_id, ip, user_agent and
country (CloudTrail holds those, joined on requestId; not done here).

Not here: reading containers (`formats.py`), validating field types (`records.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

from loaders.exports import EMPTY, Export, account, dig, loads_maybe, register
from loaders.records import RecordError

_ASSUMED_ROLE = ":assumed-role/"
_SUCCESS = (None, "", "success", "Success", "SUCCESS")


def detect(row: Mapping) -> bool:
    if not isinstance(row, Mapping):
        return False
    if row.get("schemaType") == "ModelInvocationLog":
        return True
    return "modelId" in row and "operation" in row and ("input" in row or "output" in row)


def convert(row: dict, account_field: str | None = None) -> dict:
    """One invocation log record -> a canonical request dict (see the module docstring).

    Raises:
        RecordError: the record has no timestamp or no account.
    """
    get = row.get
    ts = get("timestamp")
    if ts is None or ts == "":
        raise RecordError("missing ts", "timestamp")
    if account_field:
        acct = account(row, account_field, EXPORT)
    else:
        acct = account(row, None, EXPORT)
        if type(acct) is str and _ASSUMED_ROLE in acct:
            acct = acct.rpartition("/")[2] or acct
    d: dict = {"ts": ts, "account_id": acct}
    notes: list[str] = []
    _put(d, "request_id", get("requestId"))
    _put(d, "org_id", get("accountId"))
    _put(d, "model", get("modelId"))
    status = get("errorCode") or get("status")
    _put(d, "status", status)
    tags = loads_maybe(get("requestMetadata"))
    if type(tags) is dict and tags:
        d["tags"] = [f"{k}:{v}" for k, v in tags.items()]

    inp = loads_maybe(get("input"))
    if type(inp) is dict:
        body = loads_maybe(inp.get("inputBodyJson"))
        if type(body) is dict and body:
            _input(body, d)
        elif inp.get("inputBodyS3Path"):
            notes.append("input body offloaded to S3")
        _put(d, "input_tokens", inp.get("inputTokenCount"))

    out = loads_maybe(get("output"))
    if type(out) is dict:
        _put(d, "output_tokens", out.get("outputTokenCount"))
        body = loads_maybe(out.get("outputBodyJson"))
        if type(body) is list and body:
            _stream_output(body, d)
        elif type(body) is dict and body:
            _output(body, d)
        elif out.get("outputBodyS3Path"):
            notes.append("output body offloaded to S3")
        failed = status not in _SUCCESS
        if type(body) in (dict, list) and body and "response" not in d and not failed:
            notes.append("response not text")  # an image or video model, or a shape not known here
    if notes:
        d["notes"] = notes
    return d


def _put(d: dict, key: str, v) -> None:
    if v is not None and v != "" and key not in d:
        d[key] = v


# -- request bodies ---------------------------------------------------------------------------------


def _input(body: dict, d: dict) -> None:
    messages = body.get("messages")
    if type(messages) is list and messages:  # Converse, Nova, Anthropic, Mistral/AI21 chat
        d["messages"] = [
            {"role": m.get("role"), "content": blocks_text(m.get("content"))} for m in messages if type(m) is dict
        ]
        system = body.get("system")
        if system not in EMPTY:  # records puts it first in the conversation, as a system message
            d["system"] = blocks_text(system)
    elif type(body.get("inputText")) is str:  # Titan
        d["prompt"] = body["inputText"]
    elif type(body.get("prompt")) is str:  # Llama, Mistral, Anthropic text completions
        d["prompt"] = body["prompt"]
    elif type(body.get("message")) is str:  # Cohere chat
        history = body.get("chat_history")
        if type(history) is list and history:
            d["messages"] = [
                {"role": "user" if str(h.get("role")).upper() == "USER" else "assistant", "content": h.get("message")}
                for h in history
                if type(h) is dict and type(h.get("message")) is str
            ] + [{"role": "user", "content": body["message"]}]
        else:
            d["prompt"] = body["message"]
        _put(d, "system", body.get("preamble"))

    config = body.get("inferenceConfig")  # Converse (maxTokens) and Nova InvokeModel (max_new_tokens)
    titan = body.get("textGenerationConfig")
    for c in (config, titan, body):
        if type(c) is dict:
            for key in ("maxTokens", "max_new_tokens", "maxTokenCount", "max_tokens", "max_gen_len"):
                _put(d, "max_tokens", c.get(key))
            _put(d, "temperature", c.get("temperature"))


def blocks_text(content) -> str:
    """Text of a content value in any Bedrock body: a string, Converse blocks (`{"text": …}`,
    `{"image": …}`, `{"toolUse": …}`), or Anthropic typed blocks. Non-text blocks become markers."""
    t = type(content)
    if t is str:
        return content
    if content is None:
        return ""
    if t is dict:
        content = [content]
    elif t is not list:
        return str(content)
    out = []
    for b in content:
        if type(b) is str:
            out.append(b)
            continue
        if type(b) is not dict:
            continue
        text = b.get("text")
        if type(text) is str:
            out.append(text)
            continue
        btype = b.get("type")
        if type(btype) is str:  # Anthropic: image, document, tool_use, tool_result, thinking…
            if btype == "tool_result":
                out.append(blocks_text(b.get("content")) or "[tool_result]")
            else:
                out.append(_marker(btype, b.get("name")))
            continue
        for key, val in b.items():  # Converse: a block is a one-key object
            if key == "cachePoint":
                break  # a cache boundary, not content
            if key == "toolResult" and type(val) is dict:
                out.append(blocks_text(val.get("content")) or "[toolResult]")
            elif key == "guardContent":
                guarded = dig(val, "text.text")
                out.append(guarded if type(guarded) is str else "[guardContent]")
            else:  # image, document, video, toolUse, json, reasoningContent…
                out.append(_marker(key, val.get("name") if type(val) is dict else None))
            break
    return "\n".join(out)


def _marker(kind: str, name) -> str:
    return f"[{kind} {name}]" if type(name) is str and name else f"[{kind}]"


# -- response bodies --------------------------------------------------------------------------------


def _output(body: dict, d: dict) -> None:
    text = None
    message = dig(body, "output.message")
    if type(message) is dict:  # Converse, Nova
        text = blocks_text(message.get("content"))
        _put(d, "latency_ms", dig(body, "metrics.latencyMs"))
        usage = body.get("usage")
        if type(usage) is dict:
            _put(d, "input_tokens", usage.get("inputTokens"))
            _put(d, "output_tokens", usage.get("outputTokens"))
    elif type(body.get("content")) is list:  # Anthropic messages
        text = blocks_text(body["content"])
        usage = body.get("usage")
        if type(usage) is dict:
            _put(d, "input_tokens", usage.get("input_tokens"))
            _put(d, "output_tokens", usage.get("output_tokens"))
    elif type(body.get("results")) is list:  # Titan
        text = "\n".join(
            r["outputText"] for r in body["results"] if type(r) is dict and type(r.get("outputText")) is str
        )
    elif type(body.get("generation")) is str:  # Llama
        text = body["generation"]
        _put(d, "input_tokens", body.get("prompt_token_count"))
        _put(d, "output_tokens", body.get("generation_token_count"))
    elif type(body.get("outputs")) is list:  # Mistral
        text = "\n".join(o["text"] for o in body["outputs"] if type(o) is dict and type(o.get("text")) is str)
    elif type(body.get("choices")) is list and body["choices"]:  # Mistral / AI21 chat, OpenAI shape
        choice = body["choices"][0]
        text = blocks_text(dig(choice, "message.content") if type(choice) is dict else None)
    elif type(body.get("text")) is str:  # Cohere chat
        text = body["text"]
    elif type(body.get("generations")) is list:  # Cohere generate
        text = "\n".join(g["text"] for g in body["generations"] if type(g) is dict and type(g.get("text")) is str)
    elif type(body.get("completion")) is str:  # Anthropic text completions
        text = body["completion"]
    if text:
        d["response"] = text


def _stream_output(chunks: list, d: dict) -> None:
    """Concatenate the text deltas of a streamed response (one chunk object per list item)."""
    out = []
    for c in chunks:
        if type(c) is str:
            c = loads_maybe(c)
        if type(c) is not dict:
            continue
        ctype = c.get("type")
        if ctype == "content_block_delta":  # Anthropic
            text = dig(c, "delta.text")
            if type(text) is str:
                out.append(text)
        elif ctype == "content_block_start":
            block = c.get("content_block")
            if type(block) is dict and block.get("type") != "text":
                out.append(_stream_marker(out, block.get("type") or "part", block.get("name")))
        elif ctype is None:
            if "contentBlockDelta" in c:  # ConverseStream
                text = dig(c, "contentBlockDelta.delta.text")
                if type(text) is str:
                    out.append(text)
            elif "contentBlockStart" in c:
                tool = dig(c, "contentBlockStart.start.toolUse")
                if type(tool) is dict:
                    out.append(_stream_marker(out, "toolUse", tool.get("name")))
            elif "metadata" in c:
                _put(d, "latency_ms", dig(c, "metadata.metrics.latencyMs"))
                _put(d, "input_tokens", dig(c, "metadata.usage.inputTokens"))
                _put(d, "output_tokens", dig(c, "metadata.usage.outputTokens"))
            elif type(c.get("outputText")) is str:  # Titan
                out.append(c["outputText"])
            elif type(c.get("generation")) is str:  # Llama
                out.append(c["generation"])
            elif type(c.get("outputs")) is list:  # Mistral
                out.extend(o["text"] for o in c["outputs"] if type(o) is dict and type(o.get("text")) is str)
            elif c.get("event_type") == "text-generation" and type(c.get("text")) is str:  # Cohere
                out.append(c["text"])
            elif type(c.get("choices")) is list and c["choices"]:  # OpenAI-shaped chunks
                text = dig(c, "choices.0.delta.content")
                if type(text) is str:
                    out.append(text)
        metrics = c.get("amazon-bedrock-invocationMetrics")  # the last chunk of InvokeModel streams
        if type(metrics) is dict:
            _put(d, "latency_ms", metrics.get("invocationLatency"))
            _put(d, "input_tokens", metrics.get("inputTokenCount"))
            _put(d, "output_tokens", metrics.get("outputTokenCount"))
    text = "".join(out).strip("\n")
    if text:
        d["response"] = text


def _stream_marker(out: list, kind: str, name) -> str:
    marker = _marker(kind, name)
    return "\n" + marker + "\n" if out else marker + "\n"


EXPORT = register(
    Export(
        name="bedrock",
        title="AWS Bedrock invocation logs",
        detect=detect,
        convert=convert,
        account_fields=("identity.arn", "accountId"),
        lacks=frozenset({"api_key_id", "ip", "user_agent", "country"}),
    )
)
