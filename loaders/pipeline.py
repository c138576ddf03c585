"""The ingest pipeline: files -> normalised batches -> the store, resumable and cancellable.

For each file: hash it (SHA-256, the source's identity), sniff it, look it up in `sources`
(already complete: skip; partly loaded by a killed run: resume after the last committed unit),
then stream it. Parsing and normalising run in a worker process while this process writes, so
ingest uses both cores; small files are parsed inline. Each batch is one transaction that also
advances the source's resume offset, so a kill at any point leaves a consistent store.

Not here: file formats (`formats.py`), field semantics (`records.py`), SQL (`farmhound.store`),
presentation (the CLI draws progress from the callback).
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing as mp
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from farmhound.models import IngestSummary
from farmhound.store import Store
from loaders.formats import DEFAULT_MAX_LINE_BYTES, READERS, SourceError, Sniffed, expand_paths, raw_text, sniff
from loaders.records import RecordError, normalise_account, normalise_request

BATCH_ROWS = 10_000
WORKER_MIN_BYTES = 8 * 1024 * 1024  # below this, a worker process costs more than it saves
BULK_INDEX_BYTES = 64 * 1024 * 1024  # loads bigger than this rebuild the pivot indexes afterwards
_SENT_TEXTS_MAX = 2_000_000


@dataclass
class Batch:
    """One transaction's worth of normalised rows, as the worker hands it to the writer."""

    rows: list[tuple]
    prompts: list[tuple[int, bytes]]
    responses: list[tuple[int, bytes]]
    account_ids: list[str]
    quarantine: list[tuple[int, str, str, str | None]]
    units: int
    position: int  # bytes of the file consumed (compressed bytes for gzip)


@dataclass
class Progress:
    """Reported after each batch (and while hashing, with rows = 0)."""

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


def produce_batches(
    path: str, sniffed: Sniffed, source_id: int, skip: int, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[Batch]:
    """Read, decode and normalise a file into batches. Runs in the worker process (or inline)."""
    reader = READERS[sniffed.format](Path(path), sniffed.compressed, skip, max_line_bytes)
    accounts = sniffed.kind == "accounts"
    sent: set = set()  # text hashes and account ids already handed to the writer travel once
    rows: list[tuple] = []
    prompts: dict[int, str] = {}
    responses: dict[int, str] = {}
    account_ids: set[str] = set()
    quarantine: list[tuple] = []
    units = 0
    pos = 0

    def flush() -> Batch:
        nonlocal rows, prompts, responses, account_ids, quarantine, units, sent
        if len(sent) > _SENT_TEXTS_MAX:
            sent = set()
        # Texts travel as UTF-8 bytes: cheaper to pickle and unpickle than str, and the store
        # casts them back to TEXT inside SQLite.
        p = [kv for kv in prompts.items() if kv[0] not in sent]
        r = [kv for kv in responses.items() if kv[0] not in sent]
        a = [k for k in account_ids if k not in sent]
        sent.update(prompts)
        sent.update(responses)
        sent.update(a)
        batch = Batch(rows, p, r, a, quarantine, units, pos)
        rows, prompts, responses, account_ids, quarantine, units = [], {}, {}, set(), [], 0
        return batch

    for line, value, raw, pos in reader:
        units += 1
        try:
            if type(value) is RecordError:
                raise value
            if accounts:
                rows.append(normalise_account(value))
            else:
                row = normalise_request(value, source_id, line, prompts, responses)
                rows.append(row)
                account_ids.add(row[4])
        except RecordError as err:
            if raw is None:
                raw = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
            quarantine.append((line, err.reason, err.detail, raw_text(raw)))
        if units >= BATCH_ROWS:
            yield flush()
    if units:
        yield flush()


# -- worker process ---------------------------------------------------------------------------------


def _worker_main(out: mp.Queue, args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how to stop
    gc.disable()  # rows are acyclic; the collector only costs time here (measured: ~25%)
    try:
        for batch in produce_batches(*args):
            out.put(("batch", batch))
        out.put(("done", None))
    except SourceError as exc:
        out.put(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - report, never hang the parent
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def _batches_from_worker(args: tuple, cancel: threading.Event) -> Iterator[Batch]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue(maxsize=3)  # bounds memory: at most a few batches in flight
    proc = ctx.Process(target=_worker_main, args=(out, args), daemon=True, name="farmhound-ingest-worker")
    proc.start()
    try:
        while not cancel.is_set():
            try:
                kind, payload = out.get(timeout=0.2)
            except queue.Empty:
                if not proc.is_alive() and out.empty():
                    raise SourceError(f"{args[0]}: the ingest worker died (exit code {proc.exitcode})") from None
                continue
            if kind == "batch":
                yield payload
            elif kind == "error":
                raise SourceError(payload)
            else:
                return
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=5)
        out.close()
        out.cancel_join_thread()


# -- the pipeline ---------------------------------------------------------------------------------------


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
) -> list[IngestSummary]:
    """Load files, folders and globs into the store.

    Args:
        fmt: force a container format (jsonl, csv, parquet); default: sniffed from content.
        on_progress: called after each batch; must be cheap.
        cancel: set it to stop between batches (raises `Cancelled`).
        workers: parse in a worker process (default: for files over 8 MB).
    Returns:
        One summary per file, in order. A file that cannot be read at all gets status 'failed'
        and an error; the other files still load.
    Raises:
        SourceError: a path does not exist. Cancelled / KeyboardInterrupt: stopped; re-run resumes.
    """
    cancel = cancel or threading.Event()
    files = expand_paths(paths)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # batches are large acyclic lists: collection passes over them cost ~25%
    total_bytes = sum(f.stat().st_size for f in files)
    bulk = total_bytes >= BULK_INDEX_BYTES and store.request_count() * 2000 < total_bytes
    if bulk:
        store.drop_request_indexes()
    summaries = []
    try:
        for f in files:
            summaries.append(_ingest_file(store, f, fmt, on_progress, cancel, max_line_bytes, workers))
    finally:
        if gc_was_enabled:
            gc.enable()
        if bulk:
            if on_progress:
                on_progress(Progress("", "indexing", 0, 0, 0))
            store.ensure_indexes()
    return summaries


def _ingest_file(store, path: Path, fmt, on_progress, cancel, max_line_bytes, workers) -> IngestSummary:
    started = time.perf_counter()
    size = path.stat().st_size
    report = on_progress or (lambda p: None)
    hashed = 0

    def on_hash(n: int) -> None:
        nonlocal hashed
        hashed += n
        report(Progress(str(path), "hashing", hashed, size, 0))

    try:
        sniffed = sniff(path, fmt)
        sha = sha256_file(path, on_hash)
    except SourceError as exc:
        return IngestSummary(str(path), fmt or "?", "?", "", size, status="failed", error=str(exc))
    label = sniffed.format + (".gz" if sniffed.compressed else "")
    if sniffed.kind is None:
        return IngestSummary(
            str(path), label, "?", sha, size, status="skipped",
            error=f"{path}: neither request records (no ts, prompt, messages ...) nor account records "
            f"(no email, payment_fingerprint ...); fields: {', '.join(sniffed.fields[:12])}",
        )  # fmt: skip
    source = store.begin_source(str(path), size, sha, label, sniffed.kind, None)
    summary = IngestSummary(str(path), label, sniffed.kind, sha, size)
    if source.status == "complete":
        summary.status = "already loaded"
        summary.rows_read = source.rows_read
        summary.quarantined = source.quarantined
        summary.duplicates = source.rows_read - source.quarantined
        summary.reasons = dict(store.quarantine_reasons(source.id, limit=100))
        report(Progress(str(path), "loading", size, size, source.rows_read))
        return summary
    if source.resume_units:
        summary.status = "resumed"
    args = (str(path), sniffed, source.id, source.resume_units, max_line_bytes)
    use_worker = workers if workers is not None else size >= WORKER_MIN_BYTES
    batches = _batches_from_worker(args, cancel) if use_worker else produce_batches(*args)
    write = store.write_account_batch if sniffed.kind == "accounts" else store.write_request_batch
    rows = source.rows_read
    try:
        for b in batches:
            if sniffed.kind == "accounts":
                write(source.id, b.rows, b.quarantine, b.units)
            else:
                write(source.id, b.rows, b.prompts, b.responses, b.account_ids, b.quarantine, b.units)
            rows += b.units
            report(Progress(str(path), "loading", b.position, size, rows))
            if cancel.is_set():
                break
    except SourceError as exc:
        summary.status, summary.error = "failed", str(exc)
    finally:
        close = getattr(batches, "close", None)
        if close:
            close()
        final = store.find_source(sha, sniffed.kind)
        summary.rows_read, summary.stored = final.rows_read, final.stored
        summary.duplicates, summary.quarantined = final.duplicates, final.quarantined
        summary.reasons = dict(store.quarantine_reasons(source.id, limit=100))
        summary.seconds = time.perf_counter() - started
    if cancel.is_set():
        summary.status = "interrupted"
        raise Cancelled(summary)
    if summary.status != "failed":
        store.finish_source(source.id)
    return summary
