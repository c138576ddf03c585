"""The reader side of ingest: a file's units -> normalised batches, ready for one transaction each.

Runs in the reader process (or inline for small files). It must stay cheap to import: a spawned
reader process imports this module and what it imports, so nothing here imports the store,
sqlite-utils or pandas.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import queue
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from loaders.exports import converter, load_all
from loaders.formats import READERS, Lines, Sniffed, SourceError, raw_text, read_jsonl
from loaders.records import RecordError, normalise_account, normalise_request

BATCH_ROWS = 5_000
_SENT_MAX = 200_000  # bounds the reader's memory; a repeat after a reset only costs an ignored insert


@dataclass
class Batch:
    """One transaction's worth of normalised rows."""

    rows: list[list]
    prompts: list[tuple[int, str]]
    responses: list[tuple[int, str]]
    account_ids: list[str]
    quarantine: list[tuple[int, str, str, str | None]]
    units: int  # input units (non-blank lines / records) consumed
    position: int  # bytes of the file consumed (compressed bytes for gzip)
    line: int  # the last physical line (or record) consumed
    notes: dict[str, int] = field(default_factory=dict)  # what stored rows lack and why
    kept: int = 0  # rows of a companion file kept for joining


@dataclass
class RowOptions:
    """How a file's rows become canonical records. Picklable: it travels to reader processes."""

    export: str = "canonical"  # loaders.exports name
    account_field: str | None = None  # --account-field: a dotted path into the source row
    field_map: dict[str, str] | None = None  # --map: canonical field -> dotted source path
    companions: dict[str, dict] | None = None  # join key -> row of a companion file (batch inputs)


class _Batcher:
    """Normalises units into batches. Remembers which texts and accounts it already handed over,
    so a system prompt repeated on a million requests travels to the writer once."""

    def __init__(self, kind: str, source_id: int, options: RowOptions | None = None):
        options = options or RowOptions()
        self.accounts = kind == "accounts"
        self.source_id = source_id
        self.sent: set = set()
        self.convert = None
        self.require_ts = True
        # Notes are what an export's converter says rows lack; a source field named "notes" in a
        # canonical or mapped file is not one.
        self.counts_notes = not options.field_map and options.export != "canonical"
        if not self.accounts:
            self.convert = converter(options.export, options.account_field, options.field_map, options.companions)
            self.require_ts = load_all()[options.export].ts_required

    def batches(self, units, limit: int | None, counter: Lines, position: int = 0) -> Iterator[Batch]:
        """Batches of `limit` units (None: one batch of all). `position` is where the units start
        in the file: a resumed file with nothing left must not report position 0, or a later resume
        would read the whole file again."""
        rows, prompts, responses, account_ids, quarantine, notes = [], {}, {}, set(), [], {}
        n = line = 0
        pos = position
        convert, require_ts, source_id, counts_notes = self.convert, self.require_ts, self.source_id, self.counts_notes
        for line, value, raw, pos in units:
            n += 1
            try:
                if type(value) is RecordError:
                    raise value
                if self.accounts:
                    rows.append(normalise_account(value))
                else:
                    record = value if convert is None else convert(value)
                    row = normalise_request(record, source_id, line, prompts, responses, require_ts)
                    rows.append(row)
                    account_ids.add(row[4])
                    if counts_notes:
                        for note in record.get("notes", ()):
                            notes[note] = notes.get(note, 0) + 1
            except RecordError as err:
                if raw is None:
                    raw = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
                quarantine.append((line, err.reason, err.detail, raw_text(raw)))
            if limit and n >= limit:
                yield self._flush(rows, prompts, responses, account_ids, quarantine, notes, n, pos, max(line, counter.count))
                rows, prompts, responses, account_ids, quarantine, notes = [], {}, {}, set(), [], {}
                n = 0
        if n or counter.count:
            yield self._flush(rows, prompts, responses, account_ids, quarantine, notes, n, pos, max(line, counter.count))

    def _flush(self, rows, prompts, responses, account_ids, quarantine, notes, n, pos, line) -> Batch:
        sent = self.sent
        if len(sent) > _SENT_MAX:
            sent.clear()
        # Responses almost never repeat, so they are not worth remembering.
        p = [kv for kv in prompts.items() if kv[0] not in sent]
        a = [k for k in account_ids if k not in sent]
        sent.update(prompts)
        sent.update(a)
        return Batch(rows, p, list(responses.items()), a, quarantine, n, pos, line, notes)


def produce_batches(
    path: str, sniffed: Sniffed, source_id: int, resume: tuple[int, int, int], max_line_bytes: int,
    options: RowOptions | None = None,
) -> Iterator[Batch]:  # fmt: skip
    """Read, decode and normalise a whole file in order, from its resume point (units, bytes,
    line), into batches of `BATCH_ROWS` units."""
    units, position, line = resume
    counter = Lines()
    if sniffed.format == "jsonl" and not sniffed.compressed:
        counter.count = line  # a plain file seeks straight to where the last run stopped
        reader = read_jsonl(Path(path), False, 0, max_line_bytes, start=position, counter=counter)
    else:
        reader = READERS[sniffed.format](Path(path), sniffed.compressed, units, max_line_bytes)
    yield from _Batcher(sniffed.kind, source_id, options).batches(reader, BATCH_ROWS, counter, position)


def chunk_batches(
    path: str, sniffed: Sniffed, source_id: int, chunks: list[tuple[int, int]], max_line_bytes: int,
    options: RowOptions | None = None,
) -> Iterator[Batch]:  # fmt: skip
    """One batch per byte range of a plain JSON Lines file. Line numbers (rows, quarantine, `line`)
    count from the start of each range: the writer adds the lines of the ranges before it."""
    batcher = _Batcher(sniffed.kind, source_id, options)
    for start, end in chunks:
        counter = Lines()
        reader = read_jsonl(Path(path), False, 0, max_line_bytes, start=start, end=end, counter=counter)
        b = next(batcher.batches(reader, None, counter))
        b.line, b.position = counter.count, end
        yield b


def reader_main(out: mp.Queue, args: tuple, produce=produce_batches) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how to stop
    gc.disable()  # rows are acyclic; the collector only costs time here (measured: ~25%)
    try:
        parent = os.getppid()
        for batch in produce(*args):
            while True:  # never outlive a killed parent: a full queue would block forever
                try:
                    out.put(("batch", batch), timeout=1)
                    break
                except queue.Full:
                    if os.getppid() != parent:
                        out.cancel_join_thread()  # the queued batch can never be read: drop it
                        return
        out.put(("done", None))
    except SourceError as exc:
        out.put(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - report, never hang the parent
        out.put(("error", f"{type(exc).__name__}: {exc}"))
