"""Canonical records: one decoded source row (a dict) -> one store row (a tuple), or a RecordError.

This module knows the canonical fields of DESIGN §3 and their aliases, how to normalise `messages`,
timestamps, IP prefixes and types. It does not read files (see `formats.py`) and never touches the
store. It is the per-row hot path of ingest, so it avoids per-row allocations it does not need.
"""

from __future__ import annotations

import ipaddress
import reprlib
from datetime import UTC, datetime
from functools import lru_cache

import ciso8601
import orjson
import xxhash

TS_ALIASES = ("ts", "timestamp", "time", "created_at")
ACCOUNT_ALIASES = ("account_id", "user_id", "user", "account")
IP_ALIASES = ("ip", "client_ip")

# Keys that mark a row as a request or as an account record, for sniffing the kind of a file.
REQUEST_KEYS = frozenset(
    {"request_id", "ts", "timestamp", "time", "messages", "prompt", "response", "model", "ip", "client_ip",
     "user_agent", "input_tokens", "output_tokens", "latency_ms"}
)
ACCOUNT_KEYS = frozenset(
    {"email", "payment_fingerprint", "card_bin", "billing_country", "signup_ip", "tier", "verified"}
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_MS = 631_152_000_000  # 1990-01-01: earlier stamps are unit mistakes, not API traffic
_MAX_MS = 4_102_444_800_000  # 2100-01-01
_MASK63 = (1 << 63) - 1


class RecordError(Exception):
    """A row that cannot be stored. `reason` is a short code for grouping, `detail` the specifics."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _put(texts: dict, text: str) -> int:
    """Add `text` to a {hash: text} batch dict and return its hash."""
    h = _xxh3(text.encode()) & _MASK63
    texts[h] = text
    return h


_xxh3 = xxhash.xxh3_64_intdigest


def kind_of(keys) -> str | None:
    """'requests' or 'accounts' by the field names of a row or header; None if neither."""
    keys = set(keys)
    if keys & REQUEST_KEYS:
        return "requests"
    if keys & ACCOUNT_KEYS:
        return "accounts"
    return None


# -- scalar fields --------------------------------------------------------------------------------


def _type_name(v) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", str: "a string"}.get(type(v), type(v).__name__)


def _str(d: dict, key: str) -> str | None:
    v = d.get(key)
    if v is None or v == "":
        return None
    t = type(v)
    if t is str:
        if "\x00" in v:
            raise RecordError("NUL character", f"field {key!r}")
        return v
    if t is int:
        return str(v)
    if t is float and v.is_integer():
        return str(int(v))
    raise RecordError("wrong type", f"{key} must be a string, got {_type_name(v)}")


def _first(d: dict, aliases: tuple[str, ...]) -> tuple[str, object]:
    for key in aliases:
        v = d.get(key)
        if v is not None and v != "":
            return key, v
    return aliases[0], None


def _int(d: dict, key: str) -> int | None:
    v = d.get(key)
    if v is None or v == "":
        return None
    t = type(v)
    if t is int:
        return v
    if t is float and v.is_integer():
        return int(v)
    if t is str:
        try:
            f = float(v)
            if f.is_integer():
                return int(f)
        except ValueError:
            pass
    raise RecordError("wrong type", f"{key} must be an integer, got {_type_name(v)} {_short(v)}")


def _num(d: dict, key: str) -> float | int | None:
    v = d.get(key)
    if v is None or v == "":
        return None
    t = type(v)
    if t is int or t is float:
        return v
    if t is str:
        try:  # "350" from a CSV export is 350, as in the JSON export of the same row
            return int(v)
        except ValueError:
            pass
        try:
            return float(v)
        except ValueError:
            pass
    raise RecordError("wrong type", f"{key} must be a number, got {_type_name(v)} {_short(v)}")


def _short(v, n: int = 40) -> str:
    # reprlib for containers: it stops a few levels down, where repr would recurse through a
    # value nested a thousand levels deep (orjson reads 1,024) and raise RecursionError.
    s = repr(v) if type(v) in (str, int, float) else reprlib.repr(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def parse_ts(v, key: str = "ts") -> int:
    """Milliseconds since the epoch, UTC, from ISO 8601 (any offset; naive means UTC) or epoch
    seconds / milliseconds / microseconds / nanoseconds (told apart by magnitude)."""
    t = type(v)
    if t is str:
        s = v.strip()
        if s[4:5] != "-":  # not ISO 8601 (YYYY-...): maybe epoch digits in a string
            try:
                return parse_ts(float(s), key)
            except ValueError:
                pass
        try:
            dt = ciso8601.parse_datetime(s)
        except ValueError:
            try:
                dt = datetime.fromisoformat(s)
            except ValueError:
                raise RecordError("unparsable timestamp", f"{key} = {_short(v)}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        ms = (dt - _EPOCH) // _ONE_MS
    elif isinstance(v, datetime):  # Parquet timestamp columns
        if v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        ms = (v - _EPOCH) // _ONE_MS
    elif t is int or t is float:
        a = abs(v)
        if a < 1e11:
            ms = v * 1000
        elif a < 1e14:
            ms = v
        elif a < 1e17:
            ms = v / 1000
        else:
            ms = v / 1_000_000
        if ms != ms or ms in (float("inf"), float("-inf")):  # NaN, inf
            raise RecordError("unparsable timestamp", f"{key} = {v!r}")
        ms = round(ms)
    else:
        raise RecordError("wrong type", f"{key} must be a timestamp, got {_type_name(v)}")
    if not _MIN_MS <= ms < _MAX_MS:
        raise RecordError("timestamp out of range", f"{key} = {_short(v)} (before 1990 or after 2100)")
    return ms


_ONE_MS = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - _EPOCH


def ip_prefix(ip: str) -> str | None:
    """The /24 of an IPv4 address or the /48 of an IPv6 address; None if it is not an address.

    Tolerates a port suffix and a masked last octet (Azure logs write `203.0.113.xxx`)."""
    if ip[:1] == "[":  # [IPv6]:port
        ip = ip[1:].partition("]")[0]
    if ":" in ip:
        if ip.count(":") > 1:
            return _v6_prefix(ip)
        ip = ip.partition(":")[0]  # IPv4 with a port
    head, dot, _ = ip.rpartition(".")
    return _v4_prefix(head) if dot else None


@lru_cache(maxsize=1 << 16)
def _v4_prefix(head: str) -> str | None:
    parts = head.split(".")
    if len(parts) == 3 and all(p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts):
        return f"{int(parts[0])}.{int(parts[1])}.{int(parts[2])}.0/24"
    return None


@lru_cache(maxsize=1 << 14)
def _v6_prefix(ip: str) -> str | None:
    try:
        addr = ipaddress.IPv6Address(ip.strip("[]").split("%")[0])
    except ValueError:
        return None
    if addr.ipv4_mapped:
        return ip_prefix(str(addr.ipv4_mapped))
    return str(ipaddress.IPv6Network((addr, 48), strict=False))


# -- messages ---------------------------------------------------------------------------------------


def content_text(c, key: str = "content") -> str:
    """Text of a message content: a string, or a list of parts (text parts joined; others shown as
    a bracketed marker such as `[image]`, so a prompt that was only an image is not empty)."""
    t = type(c)
    if t is str:
        return c
    if c is None:
        return ""
    if t is list:
        out = []
        for part in c:
            if type(part) is str:
                out.append(part)
            elif type(part) is dict:
                text = part.get("text")
                if type(text) is str:
                    out.append(text)
                elif "content" in part:  # tool_result blocks nest content
                    out.append(content_text(part["content"], key))
                else:
                    ptype = part.get("type")
                    name = part.get("name")
                    out.append(f"[{ptype or 'part'}{' ' + name if isinstance(name, str) else ''}]")
            else:
                raise RecordError("wrong type", f"{key} parts must be objects or strings, got {_type_name(part)}")
        return "\n".join(out)
    if t is dict and type(c.get("text")) is str:
        return c["text"]
    raise RecordError("wrong type", f"{key} must be a string or a list of parts, got {_type_name(c)}")


def split_messages(messages, system_field=None) -> tuple[str | None, str | None, str | None, int]:
    """(system text, last user turn, whole conversation as JSON if multi-turn, number of turns).

    `system_field` is a system prompt given beside the messages (Anthropic's `system`): it comes
    first, as if it were a system message, so the same traffic gets the same texts and hashes
    whichever shape the export used."""
    system = [] if system_field is None or system_field == "" else [content_text(system_field, "system")]
    if type(messages) is str:
        s = messages.lstrip()
        if not s.startswith("["):  # one plain prompt
            return (system[0] if system else None), messages, None, 1
        try:  # CSV exports carry messages as a JSON string
            messages = orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            raise RecordError("invalid messages JSON", str(exc)) from None
    if type(messages) is not list:
        raise RecordError("wrong type", f"messages must be a list, got {_type_name(messages)}")
    turns = []
    last_user = None
    for m in messages:
        if type(m) is not dict:
            raise RecordError("wrong type", f"each message must be an object, got {_type_name(m)}")
        role = m.get("role")
        text = m.get("content")
        if type(text) is not str:
            text = content_text(text)
        if role == "system" or role == "developer":
            system.append(text)
            continue
        if role is not None and type(role) is not str:
            raise RecordError("wrong type", f"message role must be a string, got {_type_name(role)}")
        turns.append((role, text))
        if role == "user":
            last_user = text
    if last_user is None and turns:
        last_user = turns[-1][1]
    conversation = None
    if len(turns) > 1:
        whole = [{"role": "system", "content": s} for s in system] + [{"role": r, "content": t} for r, t in turns]
        conversation = orjson.dumps(whole).decode()
    return ("\n".join(system) if system else None), last_user, conversation, len(turns)


def response_text(v) -> str | None:
    """Text of a response: a string, content parts, or an OpenAI / Anthropic response object."""
    if v is None or v == "":
        return None
    if type(v) is dict:
        choices = v.get("choices")
        if type(choices) is list and choices and type(choices[0]) is dict:
            msg = choices[0].get("message")
            text = content_text(msg.get("content") if type(msg) is dict else choices[0].get("text"), "response")
        elif "content" in v:
            text = content_text(v["content"], "response")
        else:
            text = content_text(v, "response")
    else:
        text = content_text(v, "response")
    return text or None  # an empty response (tool calls only, content null) is no text


# -- whole records ----------------------------------------------------------------------------------


_IP_PREFIXES: dict[str, str | None] = {}  # a cache: the same client IPs recur across requests


def normalise_request(
    d: dict, source_id: int, line: int, prompts: dict, responses: dict, require_ts: bool = True
) -> list:
    """One canonical request dict -> a row in `store.REQUEST_COLUMNS` order.

    The per-row hot path of ingest: every field takes a fast path when it already has the expected
    type and falls back to the converting validators otherwise. Readers have already rejected rows
    holding NUL characters. Texts go into `prompts` / `responses` ({hash: text}) only when
    the whole row is valid.
    `require_ts=False` is for exports that carry no time at all (Anthropic batch results): the
    row is then stored with no time rather than invented one.
    Raises:
        RecordError: the row is missing a required field or has a value of the wrong type.
    """
    if type(d) is not dict:
        raise RecordError("not an object", f"the row is {_type_name(d)}")
    get = d.get
    ts_key, ts_raw = "ts", get("ts")
    if ts_raw is None or ts_raw == "":
        ts_key, ts_raw = _first(d, TS_ALIASES)
        if ts_raw is None and require_ts:
            raise RecordError("missing ts", "none of " + ", ".join(TS_ALIASES))
    acct_key, acct = "account_id", get("account_id")
    if acct is None or acct == "":
        acct_key, acct = _first(d, ACCOUNT_ALIASES)
        if acct is None:
            raise RecordError("missing account_id", "none of " + ", ".join(ACCOUNT_ALIASES))
    if type(acct) is not str:
        acct = _str(d, acct_key)
    ts = parse_ts(ts_raw, ts_key) if ts_raw is not None else None

    messages = get("messages")
    if messages is not None and messages != "":
        system, prompt, conversation, turns = split_messages(messages, get("system"))
    else:
        p = get("prompt")
        prompt = content_text(p, "prompt") if p is not None else None
        sp = get("system")
        system = content_text(sp, "system") if sp is not None else None
        conversation = None
        turns = 0 if prompt is None else 1
    response = get("response")
    if type(response) is not str or not response:
        response = response_text(response)

    ip_key, ip = "ip", get("ip")
    if ip is None or ip == "":
        ip_key, ip = "client_ip", get("client_ip")
    if ip is not None and type(ip) is not str:
        ip = _str(d, ip_key)
    prefix = None
    if ip:
        prefix = _IP_PREFIXES.get(ip, False)
        if prefix is False:
            if len(_IP_PREFIXES) > 200_000:
                _IP_PREFIXES.clear()
            prefix = _IP_PREFIXES[ip] = ip_prefix(ip)
    row = [
        None, source_id, line, ts, acct,
        get("api_key_id"), get("org_id"), ip or None, prefix, get("user_agent"), get("country"), get("model"),
        system, prompt, conversation, response, turns,
        get("input_tokens"), get("output_tokens"), get("max_tokens"), get("temperature"), get("latency_ms"),
        get("status"), None, None,
    ]  # fmt: skip
    tags = get("tags")
    if tags is not None and tags != "":
        row[23] = _tags(tags)
    if get("cache_hit") is not None:
        row[24] = _bool(d, "cache_hit")
    for i in _STRING_COLUMNS:
        v = row[i]
        if type(v) is not str and v is not None or v == "":
            row[i] = _str(d, REQUEST_FIELD_NAMES[i])
    for i in _INT_COLUMNS:
        if type(row[i]) is not int and row[i] is not None:
            row[i] = _int(d, REQUEST_FIELD_NAMES[i])
        if row[i] is not None and not -(1 << 63) <= row[i] < 1 << 63:
            raise RecordError("number out of range", f"{REQUEST_FIELD_NAMES[i]} = {_short(row[i])}")
    for i in _NUM_COLUMNS:
        v = row[i]
        if type(v) is not float and type(v) is not int and v is not None:
            v = row[i] = _num(d, REQUEST_FIELD_NAMES[i])
        if type(v) is int and not -(1 << 63) <= v < 1 << 63:  # "1e30" in a CSV: SQLite cannot bind it
            raise RecordError("number out of range", f"{REQUEST_FIELD_NAMES[i]} = {_short(v)}")
    request_id = get("request_id")
    if type(request_id) is not str or not request_id:
        request_id = _str(d, "request_id") if request_id not in (None, "") else None
    # The row is valid: only now do its texts join the batch.
    for i in _PROMPT_COLUMNS:
        if row[i] is not None:
            row[i] = _put(prompts, row[i])
    if row[15] is not None:
        row[15] = _put(responses, row[15])
    if request_id is None:
        # No id in the export: a hash of the normalised content keeps re-ingest idempotent.
        request_id = "h:" + xxhash.xxh3_128_hexdigest(orjson.dumps(row[3:]))
    row[0] = request_id
    return row


# Source field of each row position (None: derived), and the positions checked by type.
REQUEST_FIELD_NAMES = (
    "request_id", None, None, "ts", "account_id", "api_key_id", "org_id", "ip", None, "user_agent",
    "country", "model", None, None, None, None, None, "input_tokens", "output_tokens", "max_tokens",
    "temperature", "latency_ms", "status", "tags", "cache_hit",
)
_STRING_COLUMNS = (5, 6, 9, 10, 11, 22)
_INT_COLUMNS = (17, 18, 19)
_NUM_COLUMNS = (20, 21)
_PROMPT_COLUMNS = (12, 13, 14)  # system, prompt, conversation; 15 is the response


def _tags(v) -> str:
    """Tags as a JSON list of strings, from a list or a JSON / comma-separated string."""
    if type(v) is str:
        s = v.strip()
        if s.startswith("["):
            try:
                v = orjson.loads(s)
            except orjson.JSONDecodeError:
                raise RecordError("wrong type", f"tags is not a JSON list: {_short(v)}") from None
        else:
            v = [t.strip() for t in s.split(",") if t.strip()]
    if type(v) is not list:
        raise RecordError("wrong type", f"tags must be a list, got {_type_name(v)}")
    try:
        return orjson.dumps([t if type(t) is str else orjson.dumps(t).decode() for t in v]).decode()
    except TypeError:  # orjson refuses a tag nested deeper than it writes, or an integer over 64 bits
        raise RecordError("wrong type", "tags must be strings; a tag is nested too deeply or too large") from None


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _bool(d: dict, key: str) -> int | None:
    v = d.get(key)
    if v is None or v == "":
        return None
    if type(v) is bool:
        return int(v)
    if type(v) is int and v in (0, 1):
        return v
    if type(v) is str and v.strip().lower() in _TRUE | _FALSE:
        return int(v.strip().lower() in _TRUE)
    raise RecordError("wrong type", f"{key} must be true or false, got {_short(v)}")


def normalise_account(d: dict) -> tuple:
    """One canonical account dict -> a row tuple in `store.ACCOUNT_COLUMNS` order."""
    if type(d) is not dict:
        raise RecordError("not an object", f"the row is {_type_name(d)}")
    acct_key, acct = _first(d, ACCOUNT_ALIASES)
    if acct is None:
        raise RecordError("missing account_id", "none of " + ", ".join(ACCOUNT_ALIASES))
    created = d.get("created_at")
    email = _str(d, "email")
    domain = None
    if email:
        email = email.strip()
        domain = email.rpartition("@")[2].lower() or None if "@" in email else None
    signup_ip = _str(d, "signup_ip")
    return (
        _str(d, acct_key),
        parse_ts(created, "created_at") if created not in (None, "") else None,
        email,
        domain,
        _str(d, "payment_fingerprint"),
        _str(d, "card_bin"),
        _str(d, "billing_country"),
        signup_ip,
        ip_prefix(signup_ip) if signup_ip else None,
        _str(d, "org_id"),
        _str(d, "tier"),
        _bool(d, "verified"),
    )
