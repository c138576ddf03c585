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
import os
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


# -- limits on what a file may expand to --------------------------------------------------------
#
# A gzip bomb (a small file that decompresses to gigabytes) is bounded by a ratio to the file's
# compressed size; a JSON document (parsed whole) by its size. Both can be set for a run with
# `farmhound ingest --max-gzip-ratio / --max-document-mb`, which set these environment variables so
# the reader processes see the same limits.
GZIP_RATIO_ENV, DOCUMENT_MB_ENV = "FARMHOUND_MAX_GZIP_RATIO", "FARMHOUND_MAX_DOCUMENT_MB"
DEFAULT_MAX_GZIP_RATIO = 200  # real logs compress 5-30x; a stream of zeros ~1000x
GZIP_FLOOR_BYTES = 64 << 20  # small files may always expand this far
DEFAULT_MAX_DOCUMENT_MB = 256
MAX_DOCUMENT_CONTAINERS = 2_000_000  # objects + arrays in a JSON document parsed whole
MAX_DOCUMENT_VALUES = 20_000_000  # commas: a bound on the values of its arrays and objects


class DecompressionLimit(OSError):
    """A gzip stream expanded past the limit: the rest of the file is not read."""


def _limit(env: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(env, default)))
    except ValueError:
        return default


def max_document_bytes() -> int:
    return _limit(DOCUMENT_MB_ENV, DEFAULT_MAX_DOCUMENT_MB) << 20


class _BoundedGzip(gzip.GzipFile):
    """A gzip reader that raises DecompressionLimit once it has produced more than `limit` bytes."""

    def __init__(self, fileobj, limit: int):
        super().__init__(fileobj=fileobj, mode="rb")
        self.limit, self.produced = limit, 0

    def _count(self, data: bytes) -> bytes:
        self.produced += len(data)
        if self.produced > self.limit:
            raise DecompressionLimit(
                f"decompressed past {self.limit:,} bytes ({self.ratio}x the compressed file, "
                f"--max-gzip-ratio); the rest of the file is not read"
            )
        return data

    def read(self, size=-1):
        return self._count(super().read(size))

    def read1(self, size=-1):
        return self._count(super().read1(size))

    def readline(self, size=-1):
        return self._count(super().readline(size))


def gunzip(raw_file) -> _BoundedGzip:
    """A bounded reader of the gzip stream in the open file `raw_file`."""
    ratio = _limit(GZIP_RATIO_ENV, DEFAULT_MAX_GZIP_RATIO)
    size = os.fstat(raw_file.fileno()).st_size
    f = _BoundedGzip(raw_file, max(GZIP_FLOOR_BYTES, ratio * size))
    f.ratio = ratio
    return f


def gzip_error(exc: BaseException, detail: str) -> RecordError:
    """The quarantine row of a gzip stream that stopped: over the limit, or damaged."""
    if isinstance(exc, DecompressionLimit):
        return RecordError("decompression limit", str(exc))
    return RecordError("corrupt gzip", f"{detail}: {exc}")


def _open(path: Path, compressed: bool):
    if not compressed:
        return open(path, "rb")
    raw = open(path, "rb")
    f = gunzip(raw)
    f.myfileobj = raw  # closed with the gzip reader
    return f


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
        if _is_utf16(head):
            raise SourceError(
                f"{path}: UTF-16 text (it starts with a UTF-16 byte-order mark); farmhound reads UTF-8: "
                "convert it first, e.g. iconv -f UTF-16 -t UTF-8"
            )
        stripped = head.lstrip(BOM + b" \t\r\n")
        if compressed and stripped[:4] == b"PAR1":
            raise SourceError(f"{path}: gzip-compressed Parquet is not supported; decompress it first")
        start = stripped[:1]
        if start == b"[":  # one document: an array of rows (an API's export); or JSON Lines whose
            container = "jsonl" if _json_lines(stripped) else "json"  # first row is an array
        elif start == b"{":  # JSON Lines, or one pretty-printed object (a Bedrock log object)
            container = "jsonl" if _first_line_is_json(stripped) or _mostly_json(stripped) else "json"
        else:  # JSON Lines behind a junk first line or a non-object row, an empty file, or CSV
            container = "jsonl" if not stripped or _mostly_json(stripped) or _json_lines(stripped) else "csv"
        if container != "json" and _cr_line_ends(stripped, container):
            raise SourceError(
                f"{path}: lines end in a bare CR (classic Mac OS line ends), which {container.upper()} "
                "readers do not split on; convert them first, e.g. tr '\\r' '\\n' < in > out"
            )
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


def _is_utf16(head: bytes) -> bool:
    """A UTF-16 byte-order mark followed by UTF-16 text (mostly ASCII: every other byte is NUL),
    not just two junk bytes before UTF-8 text."""
    if head[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        return False
    body = head[2:512]
    return len(body) >= 2 and body.count(0) * 3 >= len(body)


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _json_lines(head: bytes) -> bool:
    """JSON Lines whose first row is not an object (an array, a number) or is broken: the first
    line is a whole JSON value on its own and a later line is an object; or, after a broken first
    line, most lines are objects each on its own. A JSON document spread over lines has a first
    line that does not parse alone and lines that do not either (`"key": 1,`, `{"a": 1},`); CSV
    lines are not objects."""
    lines = [line for line in head.splitlines()[:50] if line.strip()]
    if len(lines) < 2:
        return False
    objects = sum(line.lstrip()[:1] == b"{" and _parses(line) for line in lines[1:])
    return objects > 0 if _parses(lines[0]) else objects * 2 > len(lines) - 1


def _cr_line_ends(head: bytes, container: str) -> bool:
    """Lines ended by a bare CR and no LF at all. The readers split lines on LF, so each such
    file would be one long row. (A JSON value on one line, CRs being whitespace to it, is fine.)"""
    body = head.strip(b" \t\r")
    if b"\n" in head or b"\r" not in body:
        return False
    return container == "csv" or not _parses(body)


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
        try:
            names = [h.strip() for h in next(csv.reader([first]), [])]
        except csv.Error as exc:  # e.g. a header field over csv.field_size_limit
            raise SourceError(f"{path}: unreadable CSV header ({exc})") from exc
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
    return _telling_row([d for d in rows if type(d) is dict])


def _telling_row(objects: list[dict]) -> tuple[list[str], dict | None]:
    """(field names, row) of the row that tells a file's format: the first row of the export
    most of the head's rows belong to, so one damaged first row does not decide for the file
    (ties: the export met first); else the first row with request or account fields; else the
    first object."""
    from loaders.exports import detect_export

    votes: dict[str, int] = {}
    firsts: dict[str, dict] = {}
    for d in objects:
        export = detect_export(d)
        if export is not None:
            votes[export.name] = votes.get(export.name, 0) + 1
            firsts.setdefault(export.name, d)
    if votes:
        best = firsts[max(votes, key=votes.__getitem__)]
        return list(best), best
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
            yield n + 1, gzip_error(exc, f"decompression failed after line {n}"), tell()
            return
        if not line:
            return
        n += 1
        counter.count = n
        size = len(line)
        if size > max_line and not line.endswith(b"\n"):
            head = line[:RAW_MAX]
            quotes = line.count(b'"')  # CSV: whether the line ends inside a quoted field
            damage = None
            try:
                while line and not line.endswith(b"\n"):
                    line = readline(max_line)
                    size += len(line)
                    quotes += line.count(b'"')
            except _GZIP_ERRORS as exc:
                damage = exc  # reported below: the next read does not always raise again
            pos = tell() if tell else pos + size
            err = RecordError("line too long", f"{size:,} bytes, over the {max_line:,}-byte limit")
            err.raw = head + b" ..."
            err.quotes = quotes
            units += 1
            if units > skip:
                yield n, err, pos
            if damage is not None:
                yield n + 1, gzip_error(damage, f"decompression failed after line {n}"), tell()
                return
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
        f = gunzip(raw_file) if compressed else raw_file
        if not start:
            try:
                if f.peek(3)[:3] == BOM:  # some Windows tools write one: it is not part of row 1
                    start = len(f.read(3))
            except _GZIP_ERRORS as exc:
                # Report it here: a damaged gzip header does not always raise again on the next
                # read (a cut header reads as the end of the stream), so it would pass as empty.
                if skip < 1:
                    err = gzip_error(exc, "decompression failed at the start")
                    yield 1, err, b"", raw_file.tell()
                return
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


def _nul_path(value) -> str | None:
    """The path of the first string (value or key) holding a NUL character inside a decoded row,
    if any. Iterative: orjson reads rows nested 1,024 levels deep, past Python's recursion limit."""
    stack = [(value, "")]
    while stack:  # depth first, in document order: each key before its value
        v, path = stack.pop()
        t = type(v)
        if t is str:
            if "\x00" in v:
                return path or "value"
        elif t is dict:
            for k, x in reversed(v.items()):
                stack.append((x, f"{path}.{k}" if path else str(k)))
                stack.append((k, path))  # a key with a NUL is reported at its object's path
        elif t is list:
            stack.extend((x, f"{path}.{i}" if path else str(i)) for i, x in reversed(list(enumerate(v))))
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


class _RecordCut(Exception):
    """An unreadable physical line (over the limit, or where a gzip stream breaks) raised into
    csv.reader by its line source. csv.reader passes the exception through and starts its next
    record afresh, so the line ends the record it is part of, as one quarantined unit, even in
    the middle of a quoted field that spans lines."""

    def __init__(self, error: RecordError):
        super().__init__(error.reason)
        self.error = error


class _CsvLines:
    """The text lines csv.reader parses, with the raw text and first line of the record read.

    A record broken by an error (an unreadable line, or one csv.reader rejects) may be inside a
    quoted field that spans lines: the lines up to where its quotes balance belong to the same
    record, and are read into it rather than parsed as records of their own. (In RFC 4180 CSV a
    record's quote characters are even in number where it ends.)"""

    def __init__(self, lines):
        self.lines = lines
        self.consumed: list[str] = []
        self.line_no = 0  # the first physical line of the record being read
        self.pending: tuple[int, RecordError] | None = None  # damage met while finishing a record

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pending is not None:
            (self.line_no, err), self.pending = self.pending, None
            self.consumed.append("")
            raise _RecordCut(err)
        n, line, _pos = next(self.lines)
        if not self.consumed:
            self.line_no = n
        if type(line) is RecordError:
            quotes = sum(t.count('"') for t in self.consumed) + getattr(line, "quotes", 0)
            self.consumed.append(raw_text(getattr(line, "raw", b"")) or "")
            if quotes % 2 and line.reason == "line too long":
                self._finish_quoted()
            raise _RecordCut(line)
        text = line.decode("utf-8", "surrogateescape")
        self.consumed.append(text)
        return text

    def finish_record(self) -> None:
        """After csv.reader rejected the record being read: read on to its end."""
        if sum(t.count('"') for t in self.consumed) % 2:
            self._finish_quoted()

    def _finish_quoted(self) -> None:
        """Read on to the line that closes the record's open quoted field (an odd number of
        quote characters), keeping the lines as the record's raw text, up to RAW_MAX."""
        size = sum(map(len, self.consumed))
        for n, line, _pos in self.lines:
            if type(line) is RecordError:
                if line.reason != "line too long":  # the stream breaks: a unit of its own, next
                    self.pending = (n, line)
                    return
                text, quotes = raw_text(getattr(line, "raw", b"")) or "", line.quotes
            else:
                text = line.decode("utf-8", "surrogateescape")
                quotes = text.count('"')
            if size < RAW_MAX:
                self.consumed.append(text)
                size += len(text)
            if quotes % 2:
                return


def read_csv(path: Path, compressed: bool, skip: int = 0, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES):
    """Units of a CSV file with a header row (optionally gzip). Quoted fields may span lines."""
    csv.field_size_limit(max_line_bytes)
    with open(path, "rb") as raw_file:
        f = gunzip(raw_file) if compressed else raw_file
        source = _CsvLines(_lines(f, max_line_bytes, 0, raw_file.tell))
        consumed = source.consumed
        reader = csv.reader(source)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SourceError(f"{path}: unreadable CSV header ({exc})") from exc
        except _RecordCut as cut:
            raise SourceError(f"{path}: unreadable CSV header ({cut.error})") from None
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
                source.finish_record()
            except _RecordCut as cut:
                row, err = None, cut.error
            raw = "".join(consumed)
            consumed.clear()
            start = source.line_no
            if row is not None and not any(row):
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


def _load_document(path: Path, compressed: bool | None = None):
    """A whole JSON document (an export's array of rows, or one object), at most
    `max_document_bytes()` long: parsing holds all of it in memory."""
    if compressed is None:
        with open(path, "rb") as f:
            compressed = f.read(2) == b"\x1f\x8b"
    limit = max_document_bytes()
    with _open(path, compressed) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise SourceError(
            f"{path}: a JSON document over {limit >> 20} MB (--max-document-mb); convert it to JSON "
            "Lines (one row per line), e.g. jq -c '.[]'"
        )
    # Parsed, each object or array costs Python far more than its text (a 250 MB document of tiny
    # objects took 3.2 GB): count them first, a fast byte scan, and refuse a swarm of them.
    containers = data.count(b"{") + data.count(b"[")
    if containers > MAX_DOCUMENT_CONTAINERS or data.count(b",") > MAX_DOCUMENT_VALUES:
        raise SourceError(
            f"{path}: a JSON document of over {MAX_DOCUMENT_CONTAINERS:,} objects and arrays or "
            f"{MAX_DOCUMENT_VALUES:,} values; parsed whole it would not fit in memory. Convert it to JSON Lines, "
            "e.g. jq -c '.[]'"
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
        yield 1, gzip_error(exc, "decompression failed"), None, size
        return
    rows = doc if type(doc) is list else [doc]
    total = len(rows)
    clean = _plain_document(doc)
    for n, value in enumerate(rows, 1):
        if n <= skip:
            continue
        err = raw = None
        if not clean:
            err = _depth_error(value)
            if err is not None:
                raw = _short_raw(value)
            else:
                err = _nul_error(value)
        if err is None and type(value) is not dict:
            err = RecordError("not an object", f"element {n} of the document is {type(value).__name__}")
        if err is not None and raw is None:
            raw = orjson.dumps(value, default=str)
        yield n, err or value, raw, size * n // total


MAX_DEPTH = 254  # orjson writes values nested this deep and no deeper


def _plain_document(doc) -> bool:
    """Whether no element of a decoded document holds a NUL character or nests too deeply to be
    written back (as a quarantined row's raw text): one pass in C over the whole document. orjson
    writes a NUL as `\\u0000` and refuses (TypeError) to nest deeper than `MAX_DEPTH`."""
    try:
        return b"\\u0000" not in orjson.dumps(doc)
    except TypeError:
        return False


def _depth_error(value) -> RecordError | None:
    """A decoded row nested deeper than `MAX_DEPTH`: stored as is, it would break whatever writes
    it back as JSON (orjson refuses) or walks it recursively."""
    try:
        orjson.dumps(value, default=str)
    except TypeError:
        return RecordError("too deeply nested", f"more than {MAX_DEPTH} levels of nested arrays or objects")
    return None


def _short_raw(value) -> bytes:
    """A too-deep value's raw text, cut at a few levels (reprlib), for quarantine."""
    import reprlib

    return reprlib.repr(value).encode()


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
        return
    if n < total and n >= skip:  # damaged metadata can make pyarrow stop early without an error
        detail = f"the file's footer counts {total:,} rows; reading stopped after row {n:,}"
        yield n + 1, RecordError("corrupt Parquet", detail), None, size


READERS = {"jsonl": read_jsonl, "json": read_json, "csv": read_csv, "parquet": read_parquet}
