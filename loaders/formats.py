"""Reading export files: path expansion, sniffing, and one reader per container format.

A reader is a generator of units `(line, value, raw)`: `line` is the 1-based line (JSONL, CSV) or
row (Parquet) number; `value` is the decoded row (a dict) or a `RecordError` when the unit could
not be decoded; `raw` is the unit's raw text for quarantine. Every non-blank input line or row is
exactly one unit, so the pipeline's accounting and resume offsets are exact. Readers never touch
the store, and they bound memory: a line longer than `max_line_bytes` is skipped in pieces and
reported, never held whole.

Not here: what the fields mean (`records.py`), batching and writing (`pipeline.py`).
"""

from __future__ import annotations

import csv
import glob
import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import orjson

from loaders.records import RecordError, kind_of

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
RAW_MAX = 4096  # bytes of a rejected row kept in quarantine
EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq")
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, OSError)
BOM = b"\xef\xbb\xbf"


class SourceError(Exception):
    """A whole file cannot be read (missing, unreadable, not a known format)."""


@dataclass
class Sniffed:
    format: str  # jsonl | csv | parquet
    compressed: bool
    kind: str | None  # requests | accounts | None: neither (e.g. a labels file)
    fields: tuple[str, ...] = ()  # the field names the kind was told from
    export: str = "canonical"  # the export format (loaders.exports)


def expand_paths(paths: list[str]) -> list[Path]:
    """Files, folders (recursively, known extensions, `.gz` too) and glob patterns -> files.

    Raises:
        SourceError: a path does not exist or a pattern matches nothing.
    """
    out: list[Path] = []
    for p in paths:
        if any(ch in p for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(p, recursive=True) if Path(m).is_file())
            if not matches:
                raise SourceError(f"{p}: the pattern matches no file")
            out.extend(matches)
        elif Path(p).is_dir():
            found = sorted(
                f for f in Path(p).rglob("*")
                if f.is_file() and f.name.removesuffix(".gz").endswith(EXTENSIONS)
            )  # fmt: skip
            if not found:
                raise SourceError(f"{p}: the folder holds no .jsonl, .csv or .parquet file")
            out.extend(found)
        elif Path(p).is_file():
            out.append(Path(p))
        else:
            raise SourceError(f"{p}: no such file or folder")
    seen: set[Path] = set()
    return [f for f in out if not (f.resolve() in seen or seen.add(f.resolve()))]


def _open(path: Path, compressed: bool):
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def sniff(path: Path, export: str | None = None, field_map: bool = False) -> Sniffed:
    """Tell the container (from content, not the name), compression, export format and record kind.

    Args:
        export: the `--format` the analyst forced; checked against the first row.
        field_map: a `--map` is given: the file is read as canonical records after mapping, so an
            unknown layout is not an error.
    Raises:
        SourceError: the file cannot be read, or is not of the forced export format.
    """
    from loaders.exports import CANONICAL, detect_export, load_all

    exports = load_all()

    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})") from exc
    compressed = magic[:2] == b"\x1f\x8b"
    head = b""
    if magic == b"PAR1":
        container = "parquet"
    else:
        head = _head(path, compressed)
        stripped = head.lstrip(BOM + b" \t\r\n")
        if compressed and stripped[:4] == b"PAR1":
            raise SourceError(f"{path}: gzip-compressed Parquet is not supported; decompress it first")
        start = stripped[:1]
        if start == b"[":
            container = "json"  # one document: an array of rows (an API's export)
        elif start == b"{":  # JSON Lines, or one pretty-printed object (a Bedrock log object)
            container = "jsonl" if _first_line_is_json(stripped) or _mostly_json(stripped) else "json"
        else:  # JSON Lines behind a junk first line, an empty file, or CSV
            container = "jsonl" if not stripped or _mostly_json(stripped) else "csv"
    fields, first = _first_row(path, container, head)
    if field_map:
        return Sniffed(container, compressed, "requests", tuple(fields), export or CANONICAL.name)
    detected = detect_export(first) if first is not None else None
    companion = exports[export].companion if export else None
    if companion and first is not None and exports[companion].detect(first):
        export = companion  # --format openai-batch also takes the batch's input file
    if export:
        if first is not None and not exports[export].detect(first):
            looks = f"it looks like {detected.title} (--format {detected.name})" if detected else "no known format"
            raise SourceError(
                f"{path}: --format {export} given, but the first row has none of its fields ({looks}); "
                f"fields: {', '.join(fields[:12])}"
            )
        kind = exports[export].kind
    elif detected is not None:
        export, kind = detected.name, detected.kind
    else:
        export = CANONICAL.name
        # A file with no readable row at all is read as requests, so each bad row is quarantined.
        kind = kind_of(fields) if fields else "requests"
    return Sniffed(container, compressed, kind, tuple(fields), export)


def _first_line_is_json(head: bytes) -> bool:
    line = head.split(b"\n", 1)[0]
    try:
        return type(orjson.loads(line)) is dict
    except orjson.JSONDecodeError:
        return False


def _head(path: Path, compressed: bool, size: int = 64 * 1024) -> bytes:
    """The first `size` bytes of the (decompressed) content; of a damaged gzip, what decompresses
    before the damage (the reader reports the damage itself as a row-level error)."""
    parts: list[bytes] = []
    try:
        with _open(path, compressed) as f:
            while size > 0 and (part := f.read(min(size, 4096))):
                parts.append(part)
                size -= len(part)
    except _GZIP_ERRORS:
        pass
    return b"".join(parts)


def _mostly_json(head: bytes) -> bool:
    """JSON Lines whose first lines include junk (a banner, a log prefix): most lines are objects."""
    lines = [line for line in head.splitlines()[:50] if line.strip()]
    return len(lines) > 1 and sum(line.lstrip()[:1] == b"{" for line in lines) * 2 > len(lines)


def _first_row(path: Path, container: str, head: bytes) -> tuple[list[str], dict | None]:
    """(field names, the first row that tells the kind) from the head of a file. A CSV header
    stands in as {name: ""}; for JSON, the first object with request or account fields (or else
    the first object) of the first 50 lines."""
    if container == "parquet":
        import pyarrow.parquet as pq

        try:
            names = pq.ParquetFile(path).schema_arrow.names
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise SourceError(f"{path}: not a readable Parquet file ({exc})") from exc
        return names, dict.fromkeys(names, "")
    head = head.removeprefix(BOM)
    if container == "csv":
        lines = head.splitlines()
        first = lines[0].decode("utf-8", "replace") if lines else ""
        names = [h.strip() for h in next(csv.reader([first]), [])]
        return names, dict.fromkeys(names, "") if names else None
    if container == "json":
        rows = _json_head_rows(path, head)
    else:
        rows = []
        for line in head.splitlines()[:50]:
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    objects = [d for d in rows if type(d) is dict]
    for d in objects:
        if kind_of(d):
            return list(d), d
    return (list(objects[0]), objects[0]) if objects else ([], None)


def _json_head_rows(path: Path, head: bytes) -> list:
    """The first rows of a JSON document: the whole head if it parses; else, for an array, its
    first elements that are complete within the head; else (one object over 64 KB) the document."""
    try:
        doc = orjson.loads(head)
    except orjson.JSONDecodeError:
        rows = _leading_elements(head)
        if rows:
            return rows
        try:
            doc = _load_document(path)
        except (SourceError, orjson.JSONDecodeError, *_GZIP_ERRORS):  # the reader reports it per row
            return []
    return doc[:50] if type(doc) is list else [doc]


def _leading_elements(head: bytes, limit: int = 50) -> list:
    """The complete leading elements of a JSON array cut off mid-way (a document's head), found by
    tracking depth and strings, so sniffing a big export never parses all of it."""
    start = head.find(b"[")
    if start < 0 or head[:start].strip(BOM + b" \t\r\n"):
        return []
    depth, in_string, escaped, begin, out = 0, False, False, None, []
    for i in range(start + 1, len(head)):
        c = head[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5C:  # backslash
                escaped = True
            elif c == 0x22:  # quote
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in (0x7B, 0x5B):  # { [
            if depth == 0:
                begin = i
            depth += 1
        elif c in (0x7D, 0x5D):  # } ]
            depth -= 1
            if depth == 0 and begin is not None:
                try:
                    out.append(orjson.loads(head[begin : i + 1]))
                except orjson.JSONDecodeError:
                    return out
                begin = None
                if len(out) >= limit:
                    return out
            elif depth < 0:
                return out
    return out


def raw_text(raw: bytes | str | None) -> str | None:
    """A rejected row's raw text for quarantine: truncated, invalid UTF-8 shown as escapes."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        cut = raw[:RAW_MAX]
        text = cut.decode("utf-8", "backslashreplace")
    else:  # CSV text decoded with surrogateescape: show undecodable bytes as escapes
        cut = raw[:RAW_MAX]
        text = cut.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = text.rstrip("\r\n")
    if len(cut) < len(raw):
        text += f" …[{len(raw):,} bytes, truncated]"
    return text.replace("\x00", "\\x00")


# -- readers ----------------------------------------------------------------------------------------


class Lines:
    """Physical lines a reader consumed: lets a chunk of a file report how far it got."""

    count = 0


def _lines(f, max_line: int, skip: int, tell=None, start: int = 0, end: int | None = None,
           counter: Lines | None = None):  # fmt: skip
    """(line number, bytes or RecordError, bytes position) of each non-blank line; bounded memory.

    The position is `tell()` (the compressed bytes under a gzip stream) or, for a plain file read
    from byte `start`, counted: a system call per line would cost a fifth of the reading time.
    Stops at EOF or, when `end` is given, at the first line starting at or after byte `end`.
    `counter.count` is the number of the last physical line read (blank lines included)."""
    readline = f.readline
    counter = counter or Lines()
    n = counter.count
    units = 0
    pos = tell() if tell else start
    while end is None or pos < end:
        try:
            line = readline(max_line + 1)
        except _GZIP_ERRORS as exc:
            yield n + 1, RecordError("corrupt gzip", f"decompression failed after line {n}: {exc}"), tell()
            return
        if not line:
            return
        n += 1
        counter.count = n
        size = len(line)
        if size > max_line and not line.endswith(b"\n"):
            head = line[:RAW_MAX]
            try:
                while line and not line.endswith(b"\n"):
                    line = readline(max_line)
                    size += len(line)
            except _GZIP_ERRORS:
                pass  # the next read raises again and reports it
            pos = tell() if tell else pos + size
            err = RecordError("line too long", f"{size:,} bytes, over the {max_line:,}-byte limit")
            err.raw = head + b" ..."
            units += 1
            if units > skip:
                yield n, err, pos
            continue
        pos = tell() if tell else pos + size
        if line.isspace():
            continue
        units += 1
        if units > skip:
            yield n, line, pos


def read_jsonl(
    path: Path,
    compressed: bool,
    skip: int = 0,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    start: int = 0,
    end: int | None = None,
    counter: Lines | None = None,
):
    """Units of a JSON Lines file (optionally gzip); each line must hold one JSON object.

    A plain file can be read from byte `start` (a line start) to `end`; line numbers then continue
    from `counter.count`."""
    loads = orjson.loads
    JSONDecodeError = orjson.JSONDecodeError
    with open(path, "rb") as raw_file:
        if start:
            raw_file.seek(start)
        f = gzip.GzipFile(fileobj=raw_file, mode="rb") if compressed else raw_file
        if not start:
            try:
                if f.peek(3)[:3] == BOM:  # some Windows tools write one: it is not part of row 1
                    start = len(f.read(3))
            except _GZIP_ERRORS:
                pass  # the first read reports it
        tell = raw_file.tell if compressed else None
        for n, line, pos in _lines(f, max_line_bytes, skip, tell, start, end, counter):
            if type(line) is RecordError:
                yield n, line, getattr(line, "raw", b""), pos
                continue
            try:
                value = loads(line)
            except JSONDecodeError as exc:
                yield n, _json_error(line, exc), line, pos
                continue
            if b"\\u0000" in line:  # rare: only then look for a decoded NUL character
                value = _nul_error(value) or value
            yield n, value, line, pos


def line_bounds(path: Path, start: int, chunk_bytes: int) -> list[tuple[int, int]]:
    """Split a plain file from byte `start` into (start, end) ranges of about `chunk_bytes` that
    begin at line starts. Scans for newlines a block at a time, so a huge line costs no memory."""
    size = path.stat().st_size
    bounds = []
    with open(path, "rb") as f:
        pos = start
        while pos < size:
            cut = pos + chunk_bytes
            if cut < size:
                f.seek(cut)
                while block := f.read(1 << 16):
                    i = block.find(b"\n")
                    if i >= 0:
                        cut += i + 1
                        break
                    cut += len(block)
            cut = min(cut, size)
            bounds.append((pos, cut))
            pos = cut
    return bounds


def _nul_path(value, path: str = "") -> str | None:
    """The path of the first string holding a NUL character inside a decoded row, if any."""
    if type(value) is str:
        return path or "value" if "\x00" in value else None
    if type(value) is dict:
        items = value.items()
    elif type(value) is list:
        items = enumerate(value)
    else:
        return None
    for k, v in items:
        found = _nul_path(k if type(k) is str else "", path) if type(value) is dict else None
        found = found or _nul_path(v, f"{path}.{k}" if path else str(k))
        if found:
            return found
    return None


def _nul_error(value) -> RecordError | None:
    """NUL characters are rejected at the door: they truncate text in C APIs and hide content."""
    where = _nul_path(value)
    return RecordError("NUL character", f"in field {where}") if where else None


def _json_error(line: bytes, exc: Exception) -> RecordError:
    msg = str(exc)
    if b"\x00" in line:
        return RecordError("NUL character", "a raw NUL byte in the line")
    if "UTF-8" in msg or "surrogate" in msg:
        return RecordError("invalid UTF-8", msg)
    if not line.endswith(b"\n") and "unexpected end" in msg.lower():
        return RecordError("invalid JSON", f"truncated line (no newline at end of file): {msg}")
    return RecordError("invalid JSON", msg)


_OVERSIZE = "\x00farmhound-oversize\x00"


def read_csv(path: Path, compressed: bool, skip: int = 0, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES):
    """Units of a CSV file with a header row (optionally gzip). Quoted fields may span lines."""
    csv.field_size_limit(max_line_bytes)
    with open(path, "rb") as raw_file:
        f = gzip.GzipFile(fileobj=raw_file, mode="rb") if compressed else raw_file
        consumed: list[str] = []
        events: list[RecordError] = []
        line_no = 0

        def text_lines():
            nonlocal line_no
            for n, line, _pos in _lines(f, max_line_bytes, 0, raw_file.tell):
                if not consumed:
                    line_no = n  # the first physical line of the record being read
                if type(line) is RecordError:
                    events.append(line)
                    consumed.append(raw_text(getattr(line, "raw", b"")) or "")
                    yield _OVERSIZE + "\n"
                    continue
                text = line.decode("utf-8", "surrogateescape")
                consumed.append(text)
                yield text

        reader = csv.reader(text_lines())
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SourceError(f"{path}: unreadable CSV header ({exc})") from exc
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        header = [h.strip() for h in header]
        width = len(header)
        consumed.clear()
        units = 0
        while True:
            try:
                row = next(reader)
                err = None
            except StopIteration:
                return
            except csv.Error as exc:
                row, err = None, RecordError("invalid CSV", str(exc))
            raw = "".join(consumed)
            consumed.clear()
            start = line_no
            if row is not None and row and row[0] == _OVERSIZE:
                err = events.pop(0)
            if row is not None and not err and not any(row):
                continue  # blank line
            units += 1
            if units <= skip:
                continue
            if err is None:
                if len(row) != width:
                    err = RecordError("wrong number of fields", f"expected {width}, got {len(row)}")
                elif "\x00" in raw:
                    err = RecordError("NUL character", "a NUL byte in the row")
                elif not raw.isascii():
                    try:
                        raw.encode("utf-8")
                    except UnicodeEncodeError:
                        err = RecordError("invalid UTF-8", "the row has bytes that are not UTF-8")
            pos = raw_file.tell()
            if err is not None:
                yield start, err, raw, pos
            else:
                yield start, dict(zip(header, row)), raw, pos
        # events left over would mean an oversize line inside a quoted field: reported above


MAX_DOCUMENT_BYTES = 512 * 1024 * 1024


def _load_document(path: Path, compressed: bool | None = None):
    """A whole JSON document (an export's array of rows, or one object)."""
    if compressed is None:
        with open(path, "rb") as f:
            compressed = f.read(2) == b"\x1f\x8b"
    with _open(path, compressed) as f:
        data = f.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SourceError(
            f"{path}: a JSON document over {MAX_DOCUMENT_BYTES >> 20} MB; convert it to JSON Lines "
            "(one row per line), e.g. jq -c '.[]'"
        )
    return orjson.loads(data.removeprefix(BOM))


def read_json(path: Path, compressed: bool, skip: int = 0, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES):
    """Units of a JSON document: each element of a top-level array (an API's export of rows), or
    the one top-level object (a Bedrock log object). `line` is the element's number."""
    size = path.stat().st_size
    try:
        doc = _load_document(path, compressed)
    except orjson.JSONDecodeError as exc:
        yield 1, RecordError("invalid JSON", f"the document does not parse: {exc}"), None, size
        return
    except _GZIP_ERRORS as exc:
        yield 1, RecordError("corrupt gzip", f"decompression failed: {exc}"), None, size
        return
    rows = doc if type(doc) is list else [doc]
    total = len(rows)
    for n, value in enumerate(rows, 1):
        if n <= skip:
            continue
        err = _nul_error(value)
        if err is None and type(value) is not dict:
            err = RecordError("not an object", f"element {n} of the document is {type(value).__name__}")
        raw = orjson.dumps(value, default=str) if err else None
        yield n, err or value, raw, size * n // total


def read_parquet(path: Path, compressed: bool = False, skip: int = 0, max_line_bytes: int = 0):
    """Units of a Parquet file: one per row, read a record batch at a time."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise SourceError(f"{path}: not a readable Parquet file ({exc})") from exc
    total = pf.metadata.num_rows
    size = path.stat().st_size
    n = 0
    try:
        for batch in pf.iter_batches(batch_size=8192):
            if n + batch.num_rows <= skip:
                n += batch.num_rows
                continue
            for d in batch.to_pylist():
                n += 1
                if n > skip:
                    err = _nul_error(d)
                    raw = orjson.dumps(d, default=str, option=orjson.OPT_NON_STR_KEYS) if err else None
                    yield n, err or d, raw, size * n // max(total, 1)
    except Exception as exc:  # a corrupt page or column chunk
        yield n + 1, RecordError("corrupt Parquet", f"reading stopped after row {n}: {exc}"), None, size


READERS = {"jsonl": read_jsonl, "json": read_json, "csv": read_csv, "parquet": read_parquet}
