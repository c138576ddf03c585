"""Generated and damaged export files for fuzzing the loaders, and the property each must keep.

Shared by `tests/test_fuzz_loaders.py` (Hypothesis, a bounded number of examples) and
`benchmarks/fuzz_loaders.py` (thousands of files from a seeded generator). One generator serves
both: it makes every choice through a `Draw`, backed by Hypothesis (which can then shrink a
failing file) or by `random.Random` (which the benchmark replays from a seed).

A case is the files of one export format in one container (canonical JSONL, a JSON document,
CSV or Parquet, each optionally gzip; a batch's output file comes with its input file). Rows
start from valid examples (`tests/fixtures/reference_examples/first_rows.json`) and are damaged
on three levels: values (wrong types, huge fields, deep nesting, NaN, duplicated rows), bytes
(truncation, flips, NUL, invalid UTF-8, BOMs, latin-1 lines, CR / CRLF line ends, empty files)
and gzip streams (garbage between members, junk after a header, cut or flipped streams).

The property (`check_case`), for each case loaded into a fresh store by `loaders.pipeline.ingest`
(the CLI's entry point): no exception escapes; a file is loaded, or refused whole with a reason
that names it; rows read = stored + duplicates + quarantined; the store holds exactly the
summary's stored rows and quarantined rows for the source; the file's rows are all read (counted
independently of the loaders where the damage leaves that countable); `PRAGMA integrity_check` is
ok. Not here: the examples themselves (`test_fuzz_loaders.py`), timing (the benchmark).
"""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

MAX_LINE = 4096  # a small --max-line-bytes keeps "a field over the line limit" cheap to make
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reference_examples" / "first_rows.json"

# -- drawing choices ----------------------------------------------------------------------------------


class Draw:
    """The choices a generator makes. `RandomDraw` and `HypothesisDraw` implement them."""

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def choice(self, seq):
        return seq[self.integer(0, len(seq) - 1)]

    def chance(self, percent: int) -> bool:
        """True with about `percent` % probability (shrinks towards False)."""
        return self.integer(0, 99) >= 100 - percent


class RandomDraw(Draw):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class HypothesisDraw(Draw):
    def __init__(self, draw):
        from hypothesis import strategies as st

        self.draw, self.st = draw, st

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(self.st.integers(lo, hi))


# -- values -------------------------------------------------------------------------------------------

# Placeholders replaced in the serialised bytes: JSON that orjson cannot write (NaN, lone
# surrogates, numbers beyond a double, nesting deeper than its limits).
DEEP = "__fuzz_deep__"
NAN = "__fuzz_nan__"
INFINITY = "__fuzz_inf__"
SURROGATE = "__fuzz_surrogate__"
HUGE_NUMBER = "__fuzz_1e400__"
DEPTHS = (100, 254, 256, 500, 999, 1100, 10_000)  # orjson reads 1024 levels and writes 255

TEXTS = (
    "hello", "café", "中文字符", "🙂 emoji", "a,b;c", 'say "hi"', "line\nbreak", "cr\rhere", "tab\tx",
    "back\\slash", "\u202eevil", "\x1b[31mred", "[bold]markup[/]", "=cmd|' /C calc'!A0", "<script>",
    "NUL\x00inside", "", " ", "null", "{", "[1, 2", '{"a": 1}', "[]", "1e400", "-0",
)  # fmt: skip
WEIRD = (
    None, "", 0, -1, 1, 2**63 - 1, 2**63, 2**64, 2**70, -(2**70), 1.5, -0.0, 1e300, -1e300, 1e-300, True, False,
    [], {}, [1, "a", None], {"a": {"b": [1]}}, [{"role": 1, "content": {"x": []}}], "1e400", "NaN",
    "Infinity", "-Infinity", "nan", str(2**70), "-1700000000", "1970-01-01T00:00:00Z", "0001-01-01",
    "9999-12-31T23:59:59Z", "2024-02-30T00:00:00Z", "2024-01-01T00:00:00+25:00", "T", "-", "2024",
    "1700000000000000000000", -1_700_000_000, -1.7e12, 1e11, 99_999_999_999, 1e17, 1.7e18,
    f"{DEEP}300", f"{DEEP}1100", NAN, INFINITY, SURROGATE, HUGE_NUMBER, *TEXTS,
)  # fmt: skip


def weird_value(d: Draw):
    return d.choice(WEIRD)


def text(d: Draw) -> str:
    return d.choice(TEXTS[:16]) + f" {d.integer(0, 99)}"


# -- rows of each format ------------------------------------------------------------------------------

ID_KEYS = frozenset(
    {"request_id", "id", "requestId", "response_id", "generation_id", "custom_id", "trace_id", "traceId"}
)
ROW_KEY = "fuzz_row"  # every row carries its number, so no row is all empty (a blank CSV line)


def _examples() -> dict[str, list[dict]]:
    """Valid rows of each format: the reference examples and the real-format fixture files
    (`tests/fixtures/<format>/*.csv|json`); an example with no value at all (a header) is not one."""
    out = json.loads(FIXTURES.read_text(encoding="utf-8"))
    for name in out:
        for path in sorted((FIXTURES.parent.parent / name).glob("*")):
            if path.suffix == ".csv":
                out[name] += list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
            elif path.suffix == ".json":
                doc = json.loads(path.read_text(encoding="utf-8"))
                out[name] += doc if type(doc) is list else [doc]
    return {name: [r for r in rows if any(v not in (None, "") for v in r.values())] for name, rows in out.items()}


_EXAMPLES: dict[str, list[dict]] | None = None


def examples(name: str) -> list[dict]:
    global _EXAMPLES
    if _EXAMPLES is None:
        _EXAMPLES = _examples()
    return _EXAMPLES[name]


def uniquify(v, n: int):
    """`v` with every id field (any depth) made unique to row `n`, so rows are not duplicates."""
    if type(v) is dict:
        return {k: (f"{x}-{n}" if k in ID_KEYS and type(x) is str else uniquify(x, n)) for k, x in v.items()}
    if type(v) is list:
        return [uniquify(x, n) for x in v]
    return v


def canonical_request(d: Draw, n: int) -> dict:
    row: dict = {ROW_KEY: n}
    if d.chance(80):
        row["request_id"] = f"r{n}"
    row[d.choice(("ts", "timestamp", "time", "created_at"))] = d.choice(
        (
            1_700_000_000 + n,
            1_700_000_000_000 + n,
            "2024-05-01T12:00:00Z",
            "2024-05-01 12:00:00.123+02:00",
            "1700000000",
        )
    )
    row[d.choice(("account_id", "user_id", "user", "account"))] = f"acct{d.integer(0, 3)}"
    optional = {
        "api_key_id": lambda: f"key{d.integer(0, 3)}",
        "org_id": lambda: f"org{d.integer(0, 2)}",
        "ip": lambda: d.choice(("203.0.113.7", "2001:db8::1", "[2001:db8::2]:443", "10.0.0.1:80", "1.2.3.xxx", "::ffff:1.2.3.4")),
        "user_agent": lambda: text(d),
        "country": lambda: d.choice(("US", "BR", "")),
        "model": lambda: d.choice(("gpt-4o", "claude", "")),
        "messages": lambda: [
            {"role": d.choice(("system", "user", "assistant", "developer")), "content": d.choice((text(d), [{"type": "text", "text": text(d)}, {"type": "image_url"}]))}
            for _ in range(d.integer(1, 3))
        ],
        "prompt": lambda: text(d),
        "system": lambda: text(d),
        "response": lambda: d.choice((text(d), {"choices": [{"message": {"content": text(d)}}]}, {"content": [{"type": "text", "text": text(d)}]})),
        "input_tokens": lambda: d.integer(0, 5000),
        "output_tokens": lambda: d.integer(0, 5000),
        "max_tokens": lambda: d.integer(1, 8000),
        "temperature": lambda: d.choice((0, 0.7, 1.0, "0.5")),
        "latency_ms": lambda: d.choice((12, 830.5, "99")),
        "status": lambda: d.choice(("ok", "error", 200)),
        "tags": lambda: d.choice((["a", "b"], "x,y", '["z"]')),
        "cache_hit": lambda: d.choice((True, False, "yes", 0)),
    }  # fmt: skip
    for key, make in optional.items():
        if d.chance(40):
            row[key] = make()
    return row


def canonical_account(d: Draw, n: int) -> dict:
    row = {ROW_KEY: n, "account_id": f"acct{n}", "email": f"user{n}@example.com"}
    optional = {
        "created_at": lambda: d.choice(("2024-01-02T00:00:00Z", 1_700_000_000, "")),
        "payment_fingerprint": lambda: f"pf{d.integer(0, 3)}",
        "card_bin": lambda: d.choice(("411111", 411111)),
        "billing_country": lambda: "US",
        "signup_ip": lambda: d.choice(("198.51.100.4", "junk", "2001:db8::9")),
        "org_id": lambda: "org1",
        "tier": lambda: d.choice(("free", "pro")),
        "verified": lambda: d.choice((True, "false", 1, "")),
    }
    for key, make in optional.items():
        if d.chance(50):
            row[key] = make()
    return row


def mapped_event(d: Draw, n: int) -> dict:
    """A row of a layout nobody wrote a loader for, read with `MAP`."""
    return {
        ROW_KEY: n,
        "event": {"id": f"ev-{n}", "time": 1_700_000_000 + n, "kind": "completion"},
        "actor": {"email": f"user{d.integer(0, 2)}@example.com", "ip": "198.51.100.7"},
        "payload": {"input": text(d), "output": text(d)},
    }


MAP = {"request_id": "event.id", "ts": "event.time", "account_id": "actor.email", "ip": "actor.ip",
       "prompt": "payload.input", "response": "payload.output"}  # fmt: skip


def export_row(name: str) -> Callable[[Draw, int], dict]:
    def make(d: Draw, n: int) -> dict:
        row = {ROW_KEY: n, **uniquify(copy.deepcopy(d.choice(examples(name))), n)}
        return _with_account(name, row, d)

    return make


def _with_account(name: str, row: dict, d: Draw) -> dict:
    """Some reference examples show a row without an account (which can only be quarantined):
    give those one, in the export's first top-level account field, so most rows can be stored."""
    from loaders.exports import first, load_all

    fields = load_all()[name].account_fields
    top = next((f for f in fields if "." not in f), None)
    if top and first(row, fields) is None:
        row[top] = f"acct{d.integer(0, 3)}"
    return row


@dataclass(frozen=True)
class Format:
    """A format the fuzzer writes: how to make a row, which containers it comes in, and the
    companion (batch input) file its rows join, if any."""

    name: str
    row: Callable[[Draw, int], dict]
    containers: tuple[str, ...] = ("jsonl", "json", "csv", "parquet")
    companion: str | None = None  # first_rows.json key of the joined input file's rows
    field_map: dict[str, str] | None = None


EXPORT_NAMES = ("litellm", "bedrock", "helicone", "langfuse", "openrouter", "openai-batch", "anthropic-batch")
FORMATS = {
    f.name: f
    for f in (
        Format("canonical", canonical_request),
        Format("accounts", canonical_account),
        Format("mapped", mapped_event, ("jsonl", "json", "csv"), field_map=MAP),
        Format("litellm", export_row("litellm")),
        Format("bedrock", export_row("bedrock"), ("json", "jsonl")),
        Format("helicone", export_row("helicone")),
        Format("langfuse", export_row("langfuse")),
        Format("openrouter", export_row("openrouter"), ("csv", "jsonl", "parquet")),
        Format("openai-batch", export_row("openai-batch"), ("jsonl", "json"), companion="openai-batch-input"),
        Format(
            "anthropic-batch", export_row("anthropic-batch"), ("jsonl", "json"), companion="anthropic-batch-requests"
        ),
    )
}

# -- value damage -------------------------------------------------------------------------------------


def _paths(v, prefix=()) -> list[tuple]:
    """Every key path into a row (dict keys and list indexes), the row marker excepted."""
    out = []
    items = v.items() if type(v) is dict else enumerate(v) if type(v) is list else ()
    for k, x in items:
        if k == ROW_KEY:
            continue
        out.append((*prefix, k))
        out.extend(_paths(x, (*prefix, k)))
    return out


def _set(row, path: tuple, value) -> None:
    for k in path[:-1]:
        row = row[k]
    row[path[-1]] = value


def _delete(row, path: tuple) -> None:
    for k in path[:-1]:
        row = row[k]
    del row[path[-1]]


VALUE_DAMAGE = (
    "wrong type",
    "drop field",
    "huge field",
    "deep nesting",
    "escaped NUL",
    "not an object",
    "duplicate row",
)


def damage_rows(d: Draw, rows: list, flat: bool) -> list[str]:
    """Damage some rows in place; returns what was done. `flat`: the container holds only
    objects of scalars (CSV, Parquet), so a row cannot become a non-object."""
    done = []
    for _ in range(d.integer(0, 4)):
        if not rows:
            break
        what = d.choice(VALUE_DAMAGE)
        i = d.integer(0, len(rows) - 1)
        row = rows[i]
        if what == "not an object":
            if flat or type(row) is not dict:
                continue
            rows[i] = d.choice(([row], [], "a row", 42, None, True, [1, {"ts": 1}]))
            done.append(what)
            continue
        if what == "duplicate row":
            rows.insert(d.integer(0, len(rows)), copy.deepcopy(row))
            done.append(what)
            continue
        if type(row) is not dict:
            continue
        paths = _paths(row)
        if not paths:
            continue
        path = d.choice(paths)
        if what == "drop field":
            _delete(row, path)
        elif what == "huge field":
            _set(row, path, "h" * d.choice((MAX_LINE // 2, MAX_LINE + 1, 3 * MAX_LINE)))
        elif what == "deep nesting":
            _set(row, path, f"{DEEP}{d.choice(DEPTHS)}")
        elif what == "escaped NUL":
            _set(row, path, "a\x00b")
        else:
            _set(row, path, weird_value(d))
        done.append(what)
    return done


def _unmark(data: bytes, depth_default: int = 1100) -> bytes:
    """Replace the placeholders in serialised JSON with what orjson would not have written."""
    if b"__fuzz_" not in data:
        return data
    out = data.replace(f'"{NAN}"'.encode(), b"NaN").replace(f'"{INFINITY}"'.encode(), b"-Infinity")
    out = out.replace(f'"{SURROGATE}"'.encode(), b'"\\ud800x"').replace(f'"{HUGE_NUMBER}"'.encode(), b"1e400")
    while (i := out.find(f'"{DEEP}'.encode())) >= 0:
        j = out.index(b'"', i + 1)
        depth = int(out[i + len(DEEP) + 1 : j] or depth_default)
        out = out[:i] + b"[" * depth + b"]" * depth + out[j + 1 :]
    return out


def _unmark_text(s: str) -> str:
    """The placeholders inside a CSV cell (JSON text of a nested value, or a plain string)."""
    if "__fuzz_" not in s:
        return s
    for marker, repl in ((NAN, "NaN"), (INFINITY, "-Infinity"), (SURROGATE, "\\ud800x"), (HUGE_NUMBER, "1e400")):
        s = s.replace(f'"{marker}"', repl).replace(marker, repl)
    while (i := s.find(DEEP)) >= 0:
        j = i + len(DEEP)
        k = j
        while k < len(s) and s[k].isdigit():
            k += 1
        depth = int(s[j:k] or 1100)
        quoted = i > 0 and s[i - 1] == '"' and k < len(s) and s[k] == '"'
        a, b = (i - 1, k + 1) if quoted else (i, k)
        s = s[:a] + "[" * depth + "]" * depth + s[b:]
    return s


# -- containers ---------------------------------------------------------------------------------------


def _dumps(v, indent: bool = False) -> bytes:
    """JSON of a row; the standard library writes what orjson refuses (integers over 64 bits)."""
    try:
        return orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0))
    except TypeError:
        text = json.dumps(
            v, ensure_ascii=False, indent=2 if indent else None, separators=None if indent else (",", ":")
        )
        return text.encode("utf-8", "surrogatepass")


def to_jsonl(rows: list) -> bytes:
    return b"".join(_unmark(_dumps(r)) + b"\n" for r in rows)


def to_json(rows: list, d: Draw) -> bytes:
    if len(rows) == 1 and type(rows[0]) is dict and d.chance(50):  # one object per file (a Bedrock log object)
        return _unmark(_dumps(rows[0], indent=True))
    return _unmark(_dumps(rows, indent=d.chance(50)))


def _cell(v) -> str:
    if v is None:
        return ""
    if type(v) is str:
        return _unmark_text(v)
    if type(v) is bool:
        return "true" if v else "false"
    if type(v) in (dict, list):
        return _unmark_text(_dumps(v).decode())
    return str(v)


def _header(rows: list) -> list[str]:
    return list(dict.fromkeys(k for r in rows if type(r) is dict for k in r))


def to_csv(rows: list, d: Draw) -> bytes:
    header = _header(rows)
    cells = [[_cell(r.get(h)) for h in header] for r in rows]
    # With "\n" line ends Python's writer leaves a bare CR unquoted, which no reader takes as
    # part of a field (RFC 4180 quotes it); "\r\n" line ends make the writer quote it.
    bare_cr = any("\r" in c for row in cells for c in row)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if bare_cr else d.choice(("\n", "\r\n")))
    w.writerow(header)
    w.writerows(cells)
    return buf.getvalue().encode("utf-8", "surrogatepass")


def _parquet_value(v):
    if type(v) is str and v.startswith("__fuzz_"):
        if v == NAN:
            return float("nan")
        if v == INFINITY:
            return float("-inf")
        return _cell(v)
    return v


def to_parquet(rows: list, d: Draw) -> bytes:
    """A Parquet file: a column keeps its type when pyarrow can hold it, else becomes text (JSON
    text for nested values, as exports write them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    header = _header(rows)
    columns = {}
    for h in header:
        values = [_parquet_value(r.get(h)) for r in rows]
        if h in ("ts", "timestamp", "start_time", "created_at") and d.chance(30):
            import datetime as dt

            values = [dt.datetime(d.choice((1, 1969, 2024, 9999)), 1, 2, tzinfo=d.choice((None, dt.UTC))) for _ in rows]
        try:
            columns[h] = pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            columns[h] = pa.array([None if v is None else _cell(v) for v in values], type=pa.string())
    table = pa.table(columns) if columns else pa.table({"empty": pa.array([], pa.string())})
    buf = io.BytesIO()
    try:
        pq.write_table(table, buf)
    except pa.ArrowException:  # e.g. an empty struct: nested columns as JSON text instead
        for h, col in columns.items():
            if pa.types.is_nested(col.type):
                columns[h] = pa.array([None if v is None else _cell(v) for v in col.to_pylist()], type=pa.string())
        buf = io.BytesIO()
        pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def serialise(container: str, rows: list, d: Draw) -> bytes:
    if container == "jsonl":
        return to_jsonl(rows)
    if container == "json":
        return to_json(rows, d)
    if container == "csv":
        return to_csv(rows, d)
    return to_parquet(rows, d)


# -- byte damage --------------------------------------------------------------------------------------

BYTE_DAMAGE = (
    "truncate", "flip bytes", "insert NUL", "invalid UTF-8", "UTF-8 BOM", "UTF-16 BOM", "UTF-16 file",
    "latin-1 line", "CRLF", "CR", "empty file", "blank lines", "junk line",
)  # fmt: skip
GZIP_DAMAGE = ("truncate gzip", "flip gzip byte", "garbage between members", "junk after header", "trailing garbage")


def _lines_at(data: bytes) -> list[int]:
    return [i + 1 for i, b in enumerate(data) if b == 0x0A]


def damage_bytes(d: Draw, data: bytes) -> tuple[bytes, list[str]]:
    done = []
    for _ in range(d.integer(1, 3)):
        what = d.choice(BYTE_DAMAGE)
        n = len(data)
        if what == "truncate":
            data = data[: d.integer(0, n)]
        elif what == "flip bytes" and n:
            b = bytearray(data)
            for _ in range(d.integer(1, 4)):
                b[d.integer(0, n - 1)] ^= 1 << d.integer(0, 7)
            data = bytes(b)
        elif what == "insert NUL":
            i = d.integer(0, n)
            data = data[:i] + b"\x00" + data[i:]
        elif what == "invalid UTF-8":
            i = d.integer(0, n)
            data = (
                data[:i] + d.choice((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe9t\xe9", b"\xf4\x90\x80\x80")) + data[i:]
            )
        elif what == "UTF-8 BOM":
            data = b"\xef\xbb\xbf" + data
        elif what == "UTF-16 BOM":
            data = d.choice((b"\xff\xfe", b"\xfe\xff")) + data
        elif what == "UTF-16 file":
            data = data.decode("utf-8", "replace").encode(d.choice(("utf-16", "utf-16-le", "utf-16-be")))
        elif what == "latin-1 line":
            starts = [0, *_lines_at(data)]
            i = d.choice(starts)
            j = data.find(b"\n", i)
            j = n if j < 0 else j
            line = data[i:j].decode("utf-8", "replace") + " café déjà"
            data = data[:i] + line.encode("latin-1", "replace") + data[j:]
        elif what == "CRLF":
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        elif what == "CR":
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
        elif what == "empty file":
            data = b""
        elif what == "blank lines":
            i = d.choice([0, *_lines_at(data)])
            data = data[:i] + d.choice((b"\n", b"  \n", b"\r\n", b"\t\n\n")) + data[i:]
        elif what == "junk line":
            i = d.choice([0, *_lines_at(data)])
            data = data[:i] + d.choice((b"export v2 -- do not edit\n", b"}\n", b"[\n", b'"\n', b",,,\n")) + data[i:]
        else:
            continue
        done.append(what)
    return data, done


def gzip_bytes(d: Draw, data: bytes, damage: bool) -> tuple[bytes, list[str]]:
    if not damage:
        if len(data) > 4 and d.chance(30):  # several members, as `cat a.gz b.gz` writes
            cut = d.integer(3, len(data) - 1)  # (not inside a BOM: see test_fuzz_loaders)
            return gzip.compress(data[:cut], mtime=0) + gzip.compress(data[cut:], mtime=0), []
        return gzip.compress(data, mtime=0), []
    what = d.choice(GZIP_DAMAGE)
    blob = gzip.compress(data, mtime=0)
    if what == "truncate gzip":
        blob = blob[: d.integer(2, len(blob) - 1)]
    elif what == "flip gzip byte":
        b = bytearray(blob)
        b[d.integer(10, len(b) - 1)] ^= 1 << d.integer(0, 7)
        blob = bytes(b)
    elif what == "garbage between members":
        cut = d.integer(0, len(data))
        blob = (
            gzip.compress(data[:cut], mtime=0)
            + b"GARBAGE, NOT GZIP" * d.integer(1, 4)
            + gzip.compress(data[cut:], mtime=0)
        )
    elif what == "junk after header":
        blob = b"\x1f\x8b\x08\x00" + bytes(d.integer(0, 255) for _ in range(d.integer(0, 64)))
    else:
        blob += d.choice((b"\x00" * 8, b"junk", b"\x1f\x8b"))
    return blob, [what]


# -- cases --------------------------------------------------------------------------------------------


@dataclass
class Case:
    """The files of one generated case, and what is known about them."""

    fmt: str
    container: str
    gz: bool
    files: dict[str, bytes]  # file name -> content
    damage: list[str] = field(default_factory=list)
    rows: dict[str, int | None] = field(default_factory=dict)  # file name -> exact row count, if known
    objects: bool = True  # each file has an object row (one of none is ambiguous: `42`, `[]` lines)
    known: dict[str, bool] = field(default_factory=dict)  # file name -> a row of a known format
    field_map: dict[str, str] | None = None
    forced: str | None = None  # --format given, as an analyst who knows the export would

    @property
    def label(self) -> str:
        return f"{self.fmt} {self.container}{'.gz' if self.gz else ''}"


def make_case(d: Draw, fmt: str | None = None) -> Case:
    """One case of format `fmt` (default: drawn)."""
    f = FORMATS[fmt or d.choice(list(FORMATS))]
    container = d.choice(f.containers)
    gz = d.chance(30)
    n = d.integer(0, 8)
    rows = [f.row(d, i) for i in range(n)]
    flat = container in ("csv", "parquet")
    damage = damage_rows(d, rows, flat)
    files: dict[str, bytes] = {}
    counts: dict[str, int | None] = {}
    ext = {"jsonl": ".jsonl", "json": ".json", "csv": ".csv", "parquet": ".parquet"}[container]
    name = f"{f.name}{ext}{'.gz' if gz else ''}"
    data = serialise(container, rows, d)
    # In a JSON document, one value orjson cannot read makes the whole document one bad row.
    exact = container != "json" or _readable_json(rows)
    if container == "parquet" and len(data) and d.chance(15):
        data, more = _parquet_damage(d, data)
        damage += more
        exact = False
    elif container != "parquet" and d.chance(45):
        data, more = damage_bytes(d, data)
        damage += more
        exact = False
    if gz:
        gz_damage = d.chance(35)
        data, more = gzip_bytes(d, data, gz_damage)
        damage += more
        exact = exact and not gz_damage
    files[name] = data
    counts[name] = len(rows) if exact else None
    if f.companion:
        inputs = [uniquify(copy.deepcopy(d.choice(examples(f.companion))), i) for i in range(n)]
        if d.chance(20):
            damage.append("companion damaged")
            damage_rows(d, inputs, False)
        iname = f"{f.companion}.jsonl"
        files[iname] = to_jsonl([{ROW_KEY: i, **r} if type(r) is dict else r for i, r in enumerate(inputs)])
        counts[iname] = len(inputs)
    objects = any(_readable_object(r, flat) for r in rows)
    known = {name: _known(rows, flat)}
    if f.companion:
        objects = objects and any(_readable_object(r, False) for r in inputs)
        known[iname] = _known(inputs, False)
    forced = f.name if f.name in EXPORT_NAMES and d.chance(15) else None
    return Case(
        f.name, container, gz, files, damage, counts, objects=objects, known=known, field_map=f.field_map, forced=forced
    )


def _known(rows: list, flat: bool) -> bool:
    """Whether any row (of CSV or Parquet: the header, all rows' columns) is of a known export or
    has request or account fields. If none is, a loader may refuse the file as of no known kind."""
    from loaders.exports import detect_export
    from loaders.records import kind_of

    objects = [r for r in rows if _readable_object(r, flat)]
    if flat and objects:
        objects = [dict.fromkeys(_header(objects), "")]
    return any(detect_export(r) is not None or kind_of(r) for r in objects)


def _readable_object(row, flat: bool) -> bool:
    """An object row that a reader can parse; in CSV and Parquet placeholders are only text."""
    return type(row) is dict and (flat or _readable_json(row))


def _readable_json(value) -> bool:
    """Whether `value` serialised is JSON that orjson reads: no NaN, lone surrogate or 1e400, and
    no nesting past its 1,024 levels (placeholders are at most ~10 levels down in a row)."""
    text = _dumps(value)
    if any(m.encode() in text for m in (NAN, INFINITY, SURROGATE, HUGE_NUMBER)):
        return False
    return not any(int(depth) > 1000 for depth in re.findall(rb"__fuzz_deep__(\d+)", text))


def _parquet_damage(d: Draw, data: bytes) -> tuple[bytes, list[str]]:
    b = bytearray(data)
    what = d.choice(("truncate", "flip bytes"))
    if what == "truncate":
        return bytes(b[: d.integer(0, len(b) - 1)]), [what]
    for _ in range(d.integer(1, 4)):
        b[d.integer(0, len(b) - 1)] ^= 1 << d.integer(0, 7)
    return bytes(b), [what]


def hypothesis_case(fmt: str | None = None):
    """A Hypothesis strategy of cases (of one format, or any)."""
    from hypothesis import strategies as st

    @st.composite
    def cases(draw):
        return make_case(HypothesisDraw(draw), fmt)

    return cases()


# -- the property -------------------------------------------------------------------------------------


class PropertyFailure(AssertionError):
    """A case broke the property: the message says which file and how."""


class KnownIssue(Exception):
    """A crash outside the loader modules the fuzzer checks, known and described in
    `KNOWN_ISSUES`: counted apart, so the fuzzer goes on finding new failures."""


# (name, the file and function the crash comes from, a piece of its message, what to change)
KNOWN_ISSUES: list[tuple] = []  # none left: the deep companion row (pipeline._read_companion) is fixed


def known_issue(exc: BaseException) -> str | None:
    """The name of the known issue `exc` is, if it is one."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    for name, (file, function), message, _ in KNOWN_ISSUES:
        if message in str(exc) and any(f.filename.endswith(file) and f.name == function for f in frames):
            return name
    return None


def write_case(case: Case, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in case.files.items():
        p = folder / name
        p.write_bytes(data)
        paths.append(p)
    return paths


def check_case(case: Case, folder: Path, max_line: int = MAX_LINE) -> list:
    """Load the case's files into a fresh store in `folder` and check the property.

    Returns:
        The summaries (for statistics).
    Raises:
        PropertyFailure: the property does not hold. Any other exception is a crash.
    """
    from farmhound.store import Store
    from loaders.formats import SourceError
    from loaders.pipeline import ingest

    paths = write_case(case, folder / "files")
    db = folder / "fuzz.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(db)
    try:
        try:
            summaries = ingest(
                store, [str(p) for p in paths], case.forced, max_line_bytes=max_line, field_map=case.field_map
            )
        except SourceError as exc:  # a whole-run refusal must name the file it refuses
            if not any(str(p) in str(exc) for p in paths):
                raise PropertyFailure(f"SourceError without a file name: {exc}") from exc
            return []
        except Exception as exc:
            if (name := known_issue(exc)) is not None:
                raise KnownIssue(name) from exc
            raise
        problems = []
        shas = [s.sha256 for s in summaries]
        for s in summaries:
            problems += [f"{Path(s.path).name}: {p}" for p in _check_summary(store, s, case, shas, max_line)]
        (ok,) = store.conn.execute("PRAGMA integrity_check").fetchone()
        if ok != "ok":
            problems.append(f"integrity_check: {ok}")
        if problems:
            raise PropertyFailure("; ".join(problems))
        return summaries
    finally:
        store.close()


def _check_summary(store, s, case: Case, shas: list[str], max_line: int) -> list[str]:
    problems = []
    name = Path(s.path).name
    if s.status not in ("loaded", "failed", "skipped", "already loaded"):
        problems.append(f"status {s.status}")
    if s.status == "already loaded" and shas.count(s.sha256) < 2:
        problems.append("'already loaded' in a fresh store")
    if s.status in ("failed", "skipped"):
        if not s.error or s.path not in s.error:
            problems.append(f"{s.status} without a reason naming the file: {s.error!r}")
        expected = case.rows.get(name)
        if expected and case.objects and all(case.known.values()) and not _refusal_expected(case, s):
            problems.append(f"a file of {expected} generated rows refused: {s.error}")
    if s.rows_read != s.stored + s.duplicates + s.quarantined:
        problems.append(
            f"rows read {s.rows_read} != {s.stored} stored + {s.duplicates} dupes + {s.quarantined} quarantined"
        )
    if not s.sha256 or s.kind == "?":
        return problems
    src = store.find_source(s.sha256, s.kind)
    if src is None:
        return problems + ["no source row"]
    if (src.rows_read, src.stored, src.duplicates, src.quarantined) != (
        s.rows_read,
        s.stored,
        s.duplicates,
        s.quarantined,
    ):
        problems.append(f"source row {src.rows_read, src.stored, src.duplicates, src.quarantined} != summary")
    (quarantined,) = store.conn.execute("SELECT count(*) FROM quarantine WHERE source_id = ?", (src.id,)).fetchone()
    if quarantined != s.quarantined:
        problems.append(f"{quarantined} quarantine rows in the store, summary says {s.quarantined}")
    if s.kind == "requests":
        (stored,) = store.conn.execute("SELECT count(*) FROM requests WHERE source_id = ?", (src.id,)).fetchone()
        if stored != s.stored:
            problems.append(f"{stored} requests in the store, summary says {s.stored}")
    elif s.kind == "accounts":
        (stored,) = store.conn.execute("SELECT count(*) FROM accounts WHERE source_id = ?", (src.id,)).fetchone()
        if stored > s.stored or (stored == 0) != (s.stored == 0):
            problems.append(f"{stored} accounts in the store, summary says {s.stored} stored")
    if s.status == "failed":
        return problems
    expected = case.rows.get(name)
    if expected is not None and case.objects and s.status == "loaded" and s.rows_read != expected:
        problems.append(f"{expected} rows generated, {s.rows_read} read ({s.format}, reasons {s.reasons})")
    counted = independent_units(Path(s.path), s.format, max_line)
    if "corrupt Parquet" in s.reasons:
        counted = None  # the rows before the damage, and one for it
    if counted is not None and s.status == "loaded" and s.rows_read != counted:
        problems.append(f"{counted} rows in the file by an independent count, {s.rows_read} read ({s.format})")
    return problems


def _refusal_expected(case: Case, s) -> bool:
    """Whole-file refusals of a well-formed file that the loaders document."""
    if case.container == "parquet" and case.gz:
        return "gzip-compressed Parquet" in (s.error or "")
    # --format X refuses a file whose first telling row is not X: damage can make it so.
    return bool(case.forced) and case.damage != [] and f"--format {case.forced} given" in (s.error or "")


def independent_units(path: Path, fmt: str, max_line: int) -> int | None:
    """The number of rows (units) a file holds for its container, counted without the loaders:
    non-blank lines of JSON Lines, elements of a JSON array, rows of Parquet; of a gzip stream
    the lines before the damage plus one for the damage. None when not countable here (CSV)."""
    data = path.read_bytes()
    if fmt in ("jsonl", "jsonl.gz"):
        damaged = False
        if fmt == "jsonl.gz":
            unzipped = _gunzip(data)
            if unzipped is None:
                return None
            data, damaged = unzipped
        data = data.removeprefix(b"\xef\xbb\xbf")
        units = 0
        lines = data.split(b"\n")
        last = len(lines) - 1
        for i, line in enumerate(lines):
            if damaged and i == last and len(line) <= max_line:
                break  # the partial line before the damage is reported with it (unless too long)
            if len(line) > max_line or line.strip(b" \t\r\n\x0b\x0c"):
                units += 1
        return units + damaged
    if fmt == "json":
        try:
            doc = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
        except orjson.JSONDecodeError:
            return 1
        return len(doc) if type(doc) is list else 1
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - unreadable: the loader refuses or reports it
            return None
    return None


def _gunzip(blob: bytes) -> tuple[bytes, bool] | None:
    """(what decompresses before any damage, whether there was damage), member by member as
    Python's gzip module reads a stream: zero padding after a member is skipped, anything else
    after it is damage. None when the damage is inside a member's deflate data or checksum: how
    much comes out before it then depends on the reader's buffer sizes."""
    out = []
    rest = blob
    while rest:
        if rest[:2] != b"\x1f\x8b":
            return b"".join(out), True
        d = zlib.decompressobj(wbits=31)
        try:
            out.append(d.decompress(rest))
        except zlib.error:
            return None
        if not d.eof:
            return b"".join(out), True  # cut short: everything before the cut comes out
        rest = d.unused_data.lstrip(b"\x00")
    return b"".join(out), False


def check_cli_case(case: Case, folder: Path, summaries: list, max_line: int = MAX_LINE) -> None:
    """The same files through `farmhound ingest` in-process, as JSON and as the table a person
    reads: no crash, exit status 0 (or 1 when a file was refused: `failed`), and the numbers and
    status of each file those of the pipeline run (`summaries`, from `check_case`).

    Raises:
        PropertyFailure: the command disagrees with the pipeline or exits otherwise.
    """
    from click.testing import CliRunner

    from farmhound.cli import main

    paths = write_case(case, folder / "cli-files")
    args = [*map(str, paths), "--max-line-bytes", str(max_line)]
    if case.forced:
        args += ["--format", case.forced]
    for canonical, source in (case.field_map or {}).items():
        args += ["--map", f"{canonical}={source}"]
    expected_exit = 1 if any(s.status == "failed" for s in summaries) or not summaries else 0
    for as_json in (True, False):
        db = folder / f"cli-{as_json}.db"
        result = CliRunner().invoke(
            main, ["ingest", *args, "--db", str(db), *(["--json"] if as_json else [])], catch_exceptions=False
        )
        if result.exit_code != expected_exit:
            raise PropertyFailure(
                f"farmhound ingest exit {result.exit_code}, expected {expected_exit}: {result.output[-500:]}"
            )
        if not as_json or not summaries:
            continue
        out = orjson.loads(result.stdout)
        out = out if type(out) is list else [out]
        got = [
            (Path(o["path"]).name, o["status"], o["rows_read"], o["stored"], o["duplicates"], o["quarantined"])
            for o in out
        ]
        want = [(Path(s.path).name, s.status, s.rows_read, s.stored, s.duplicates, s.quarantined) for s in summaries]
        if got != want:
            raise PropertyFailure(f"farmhound ingest --json says {got}, the pipeline {want}")
