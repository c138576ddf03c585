"""The ingest pipeline: files -> normalised batches -> the store, resumable and cancellable.

For each file: hash it (SHA-256, the source's identity), sniff it, look it up in `sources`
(already complete: skip; partly loaded by a killed run: resume after the last committed batch),
then stream it. Every batch is one transaction that also advances the source's resume point
(units, byte offset, line), so a kill at any point leaves a consistent store.

Small files are parsed and written inline. For a big file, a reader process parses and normalises
while this process writes, so both cores work. (Measured and rejected: two processes that each
parse a byte range of the file and write it in turn. Each write then starts with a page cache the
other process invalidated, and SQLite's work per row more than doubled.)

Not here: file formats (`formats.py`), field semantics (`records.py`), SQL (`farmhound.store`),
presentation (the CLI draws progress from the callback).
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from farmhound.models import IngestSummary
from farmhound.store import Store
from loaders.batches import BATCH_ROWS, Batch, RowOptions, chunk_batches, produce_batches, reader_main
from loaders.exports import companion_rows, dig, load_all
from loaders.formats import (
    DEFAULT_MAX_LINE_BYTES,
    READERS,
    Sniffed,
    SourceError,
    expand_paths,
    line_bounds,
    raw_text,
    sniff,
)  # fmt: skip
from loaders.records import RecordError

WORKER_MIN_BYTES = 8 * 1024 * 1024  # below this, a worker process costs more than it saves
BULK_INDEX_BYTES = 64 * 1024 * 1024  # loads bigger than this rebuild the pivot indexes afterwards


@dataclass
class Progress:
    """Reported while hashing, after each batch, and while building indexes."""

    path: str
    phase: str  # hashing | loading | indexing
    bytes_done: int
    bytes_total: int
    rows: int


ProgressCallback = Callable[[Progress], None]


def sha256_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            h.update(chunk)
            if on_bytes:
                on_bytes(len(chunk))
    return h.hexdigest()


def _write(store: Store, kind: str, source_id: int, b: Batch, line_offset: int) -> None:
    progress = (b.units, b.position, b.line)
    if kind == "accounts":
        store.write_account_batch(source_id, b.rows, b.quarantine, progress)
    elif kind == "companion":
        store.write_companion_batch(source_id, b.kept, b.quarantine, progress)
    else:
        store.write_request_batch(
            source_id, b.rows, b.prompts, b.responses, b.account_ids, b.quarantine, progress, line_offset, b.notes
        )


# -- one reader process, this process writes --------------------------------------------------------


def _batches_from_readers(jobs: list[tuple]) -> Iterator[Batch]:
    """Batches from reader processes, one per job (produce function, args), taken round-robin:
    job k yields batches k, k+n, k+2n, ... of the file, so they come out in file order. The
    readers stop when the caller closes this generator."""
    ctx = mp.get_context("spawn")
    queues = [ctx.Queue(maxsize=1) for _ in jobs]  # bounds memory: a few batches in flight
    procs = [
        ctx.Process(target=reader_main, args=(q, args, produce), daemon=True, name=f"farmhound-reader-{k}")
        for k, (q, (produce, args)) in enumerate(zip(queues, jobs))
    ]
    for p in procs:
        p.start()
    finished = [False] * len(jobs)
    try:
        k = 0
        while not all(finished):
            if finished[k]:
                k = (k + 1) % len(jobs)
                continue
            try:
                kind, payload = queues[k].get(timeout=0.2)
            except queue.Empty:
                if not procs[k].is_alive() and queues[k].empty():
                    raise SourceError(f"the ingest reader died (exit code {procs[k].exitcode})") from None
                continue
            if kind == "batch":
                yield payload
            elif kind == "error":
                raise SourceError(payload)
            else:
                finished[k] = True
            k = (k + 1) % len(jobs)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=5)
        for q in queues:
            q.close()
            q.cancel_join_thread()


def _chunk_bytes(path: Path) -> int:
    """Bytes of a range of about `BATCH_ROWS` lines, from the mean line length of the head."""
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    mean = len(head) / max(head.count(b"\n"), 1)
    return int(min(max(mean * BATCH_ROWS, 1 << 20), 64 << 20))


def _plan(path: Path, sniffed, source, max_line_bytes: int, use_workers: bool, options: RowOptions):
    """How to read a file: (batches, whether line numbers are relative to each batch)."""
    resume = (source.resume_units, source.resume_bytes, source.resume_lines)
    args = (str(path), sniffed, source.id, resume, max_line_bytes, options)
    if not use_workers:
        return produce_batches(*args), False
    if sniffed.format == "jsonl" and not sniffed.compressed:
        # Two readers each take every other byte range; this process writes them in order.
        chunks = line_bounds(path, source.resume_bytes, _chunk_bytes(path))
        jobs = [
            (chunk_batches, (str(path), sniffed, source.id, chunks[k::2], max_line_bytes, options)) for k in range(2)
        ]
        return _batches_from_readers(jobs), True
    return _batches_from_readers([(produce_batches, args)]), False


class Cancelled(Exception):
    """The ingest was cancelled between batches; everything committed so far is consistent."""


def ingest(
    store: Store,
    paths: list[str],
    fmt: str | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    workers: bool | None = None,
    account_field: str | None = None,
    field_map: dict[str, str] | None = None,
) -> list[IngestSummary]:
    """Load files, folders and globs into the store.

    Args:
        fmt: force an export format (`loaders.exports` name); default: sniffed from content.
        on_progress: called after each batch; must be cheap.
        cancel: set it to stop between batches (raises `Cancelled`).
        workers: use worker processes (default: for files over 8 MB on a machine with 2+ cores).
        account_field: the dotted source path that holds the account (default: per format).
        field_map: canonical field -> dotted source path, for an export of unknown layout.
    Returns:
        One summary per file, in order. A file that cannot be read at all gets status 'failed'
        and an error; the other files still load.
    Raises:
        SourceError: a path does not exist. Cancelled / KeyboardInterrupt: stopped; re-run resumes.
    """
    cancel = cancel or threading.Event()
    files = expand_paths(paths)
    total_bytes = sum(f.stat().st_size for f in files)
    bulk = total_bytes >= BULK_INDEX_BYTES and store.request_count() * 2000 < total_bytes
    sniffed: dict[Path, Sniffed | SourceError] = {}
    for f in files:
        try:
            sniffed[f] = sniff(f, fmt, field_map=bool(field_map))
        except SourceError as exc:
            sniffed[f] = exc
    companions, companion_batches = _companions(sniffed, max_line_bytes)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # batches are large acyclic lists: collection passes over them cost ~25%
    store.bulk_mode(rollback_journal=bulk)
    if bulk:
        store.drop_request_indexes()
    summaries = []
    try:
        for f in files:
            sn = sniffed[f]
            options = None
            if isinstance(sn, Sniffed):
                export = load_all()[sn.export]
                joins = _companions_for(f, companions.get(export.companion)) if export.companion else None
                given = export.companion in companions  # an input file was in this run
                if export.companion and not given and not account_field and not field_map:
                    # Its accounts are in the batch's input file: loading it alone would quarantine
                    # every row and mark the file done, so a later run with both could not join them.
                    sn = SourceError(
                        f"{f}: {export.title} names no account; its input file ({export.companion}) holds them. "
                        f"Give both in one run (e.g. the folder), or choose a field with --account-field"
                    )
                else:
                    options = RowOptions(sn.export, account_field, field_map, joins)
            summaries.append(
                _ingest_file(store, f, sn, options, on_progress, cancel, max_line_bytes, workers, companion_batches.get(f))
            )
    finally:
        if gc_was_enabled:
            gc.enable()
        if bulk:
            if on_progress:
                on_progress(Progress("", "indexing", 0, 0, 0))
            store.ensure_indexes()
        store.end_bulk_mode()
    return summaries


def _companions(sniffed: dict, max_line_bytes: int) -> tuple[dict, dict[Path, Batch]]:
    """The companion files among the inputs (batch input files), each read once, before the files
    that join them. Returns ({companion export: {folder: {join key: row}}}, where key None holds
    the keys unique across all folders; {path: the file's accounting batch}). A key repeated
    inside one folder, or across folders for key None, is left out: it would be ambiguous."""
    exports = load_all()
    read: dict[str, dict[Path, list[dict]]] = {}
    batches: dict[Path, Batch] = {}
    for path, sn in sniffed.items():
        if isinstance(sn, Sniffed) and sn.kind == "companion":
            rows, batches[path] = _read_companion(path, sn, exports[sn.export].join_key, max_line_bytes)
            read.setdefault(sn.export, {}).setdefault(path.parent, []).extend(rows)
    out: dict[str, dict] = {}
    for name, folders in read.items():
        out[name] = {parent: companion_rows(rows, exports[name]) for parent, rows in folders.items()}
        out[name][None] = companion_rows([r for rows in folders.values() for r in rows], exports[name])
    return out, batches


def _read_companion(path: Path, sniffed: Sniffed, join_key: str, max_line_bytes: int) -> tuple[list[dict], Batch]:
    """A companion file's rows that carry the join key, and its accounting as one batch: each row
    is kept for the join, or quarantined with its reason."""
    rows, quarantine = [], []
    n = line = pos = 0
    for line, value, raw, pos in READERS[sniffed.format](path, sniffed.compressed, 0, max_line_bytes):
        n += 1
        if type(value) is RecordError:
            quarantine.append((line, value.reason, value.detail, raw_text(raw)))
        elif type(value) is not dict or dig(value, join_key) is None:
            # the line as read: the decoded row may be nested too deep for orjson to write back
            text = raw if raw is not None else orjson.dumps(value, default=str)
            quarantine.append((line, f"missing {join_key}", "", raw_text(text)))
        else:
            rows.append(value)
    return rows, Batch([], [], [], [], quarantine, n, pos, line, kept=len(rows))


def _companions_for(path: Path, folders: dict | None) -> dict[str, dict] | None:
    """The companion rows a file joins: those of its own folder first (batches reuse ids such as
    `req-1`, so a batch's input sits beside its output), then ids unique across all folders."""
    if not folders:
        return None
    return {**folders[None], **folders.get(path.parent, {})}


def _ingest_file(
    store: Store, path: Path, sniffed: Sniffed | SourceError, options: RowOptions | None, on_progress, cancel,
    max_line_bytes: int, workers: bool | None, companion_batch: Batch | None = None,
) -> IngestSummary:  # fmt: skip
    started = time.perf_counter()
    size = path.stat().st_size
    report = on_progress or (lambda p: None)
    hashed = 0

    def on_hash(n: int) -> None:
        nonlocal hashed
        hashed += n
        report(Progress(str(path), "hashing", hashed, size, 0))

    try:
        if isinstance(sniffed, SourceError):
            raise sniffed
        sha = sha256_file(path, on_hash)
    except SourceError as exc:
        return IngestSummary(str(path), "?", "?", "", size, status="failed", error=str(exc))
    label = sniffed.format + (".gz" if sniffed.compressed else "")
    if sniffed.kind is None:
        return IngestSummary(
            str(path), label, "?", sha, size, status="skipped",
            error=f"{path}: neither request records (no ts, prompt, messages ...) nor account records "
            f"(no email, payment_fingerprint ...); fields: {', '.join(sniffed.fields[:12])}",
        )  # fmt: skip
    recorded = {"format": sniffed.export}
    if options and options.account_field:
        recorded["account_field"] = options.account_field
    if options and options.field_map:
        recorded["map"] = options.field_map
    source = store.begin_source(str(path), size, sha, label, sniffed.kind, json.dumps(recorded, sort_keys=True))
    summary = IngestSummary(str(path), label, sniffed.kind, sha, size, options=recorded)
    if source.status == "complete":
        summary.status = "already loaded"
        summary.rows_read = source.rows_read
        summary.quarantined = source.quarantined
        summary.duplicates = source.rows_read - source.quarantined
        summary.reasons = dict(store.quarantine_reasons(source.id, limit=100))
        summary.notes = json.loads(source.notes) if source.notes else {}
        report(Progress(str(path), "loading", size, size, source.rows_read))
        return summary
    if source.resume_units or source.resume_bytes:
        summary.status = "resumed"
    big = size >= WORKER_MIN_BYTES and (os.cpu_count() or 1) >= 2
    use_workers = workers if workers is not None else big
    batches = None
    try:
        if sniffed.kind == "companion":
            batches, relative_lines = (b for b in [companion_batch]), False  # read once, by _companions
        else:
            batches, relative_lines = _plan(path, sniffed, source, max_line_bytes, use_workers, options)
        rows = source.rows_read
        base = source.resume_lines
        for b in batches:
            offset = base if relative_lines else 0
            if relative_lines:
                b.quarantine = [(line + base, *rest) for line, *rest in b.quarantine]
                b.line += base
                base = b.line
            _write(store, sniffed.kind, source.id, b, offset)
            rows += b.units
            report(Progress(str(path), "loading", b.position, size, rows))
            if cancel.is_set():
                break
    except SourceError as exc:
        summary.status, summary.error = "failed", str(exc)
    finally:
        if batches is not None:
            batches.close()
        final = store.find_source(sha, sniffed.kind)
        summary.rows_read, summary.stored = final.rows_read, final.stored
        summary.duplicates, summary.quarantined = final.duplicates, final.quarantined
        summary.reasons = dict(store.quarantine_reasons(source.id, limit=100))
        summary.notes = json.loads(final.notes) if final.notes else {}
        summary.seconds = time.perf_counter() - started
    if cancel.is_set():
        summary.status = "interrupted"
        raise Cancelled(summary)
    if summary.status != "failed":
        store.finish_source(source.id)
    return summary
