"""Crash benchmark (issue #7): SIGKILL `farmhound ingest` and `farmhound triage` at random moments,
then check that the store is intact, that re-running the same command completes it, and that the
result is exactly what an uninterrupted run gives.

    python benchmarks/crash.py                    # 60 kills on a sample tenant base of scale 10
    python benchmarks/crash.py --kills 9 --seed 3
    python benchmarks/crash.py --only triage:123  # replay one kill (the failures list prints these)

Data, made once per run: `farmhound sample` split into five files given in this order: accounts.csv
(CSV), a.jsonl (plain, over 8 MB: reader processes), b.jsonl.gz (gzip), c.csv (requests as CSV) and
d.jsonl (plain, reader processes; rows repeated from a and b, and within itself). Every file has
broken rows (quarantined) and a few blank lines. Together they are over 64 MiB, so an ingest into
an empty store is a bulk load (rollback journal instead of WAL, pivot indexes rebuilt at the end).

Reference: a clean ingest of the five files into an empty store, then a clean triage. Triage is
run twice on copies to see whether it is deterministic; tables that differ are not compared (and
are reported).

Each kill starts the real command in a subprocess on a pseudo-terminal (so it draws its progress),
waits a random delay drawn over 0 .. 1.1 x its clean duration, and SIGKILLs its whole process
group (the command and its reader processes). A kill "before start" landed before the command
printed anything, "after end" once it had exited by itself. Phases, in equal shares:
  ingest into an empty store      the bulk path: journal mode switched, indexes dropped
  ingest into a non-empty store   a.jsonl and accounts.csv already loaded: the WAL path
  triage                          on the reference ingest, with the results of an earlier triage
                                  run (another config) that the kill must leave intact
Checked on a copy of the killed store: PRAGMA integrity_check and foreign_key_check; every
source's accounting adds up (read = stored + duplicates + quarantined, rows in the tables match);
a partly loaded file holds a prefix of its lines; a file marked complete has the reference's
accounting; no request the reference lacks. For triage: the derived tables are either the previous
run's, whole, or the new run's, whole. Then the same command runs again to completion on the
killed store itself, and the store must equal the reference: request ids (and no duplicates), the
request rows, accounts, prompts, responses, quarantine rows (file, line, reason, raw), each
file's rows read / stored / duplicates / quarantined and resume point, and after triage every
derived table; journal mode back to WAL, no journal left, every pivot index present.

The working folder is a temporary one, removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import hashlib
import os
import pty
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psutil

FARMHOUND = [sys.executable, "-m", "farmhound"]
PHASES = ("ingest-empty", "ingest-nonempty", "triage")
PHASE_TITLES = {
    "ingest-empty": "ingest into an empty store",
    "ingest-nonempty": "ingest into a non-empty store",
    "triage": "triage (previous results present)",
}
DERIVED = {  # derived table -> its key, for a stable order
    "templates": "id",
    "prompt_templates": "prompt_hash",
    "account_templates": "account_id, template_id",
    "clusters": "id",
    "account_scores": "account_id",
    "account_values": "kind, value, account_id",
    "cluster_values": "cluster_id, kind, value",
}
# An earlier triage run's config: different links and scores, so its results differ from the new run's.
OLD_CONFIG = "[linking]\ntemplate_min_accounts = 4\n[scoring]\nown_share = 0.4\nmedium = 2.5\n"
OVERSHOOT = 1.1  # kill delays are drawn over 0 .. 1.1 x the clean duration: some land after the end


# -- running a command and killing it -----------------------------------------------------------------


@dataclass
class Run:
    """What happened to one run of a command."""

    when: str  # before start | mid-work | after end
    seconds: float  # when the kill landed (or the command ended), from the start
    returncode: int | None
    output: bytes  # what it drew on its terminal (stdout and stderr)


def run_killed(
    cmd: list[str], kill_after: float | None = None, kill_when: Callable[[bytes], bool] | None = None,
    timeout: float = 600,
) -> Run:  # fmt: skip
    """Run `cmd` on a pseudo-terminal (so it draws its progress, as for a user) and SIGKILL its
    process group (the command and every process it started) after `kill_after` seconds, or as
    soon as `kill_when(output so far)` is true. With neither, it runs to the end (or `timeout`)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONUNBUFFERED": "1"}
    output = bytearray()

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal has gone
                return
            if not data:
                return
            output.extend(data)

    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    deadline = started + (kill_after if kill_after is not None else timeout)
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if now >= deadline or (kill_when is not None and kill_when(bytes(output))):
                break
            time.sleep(min(0.002, deadline - now))
        landed = time.monotonic() - started
        if proc.poll() is not None:
            when = "after end"
        else:
            when = "mid-work" if output else "before start"
    finally:
        kill_group(proc)  # the command if it still runs, and anything it left behind
        reader.join(timeout=5)
        os.close(master)
    if kill_after is None and kill_when is None and when != "after end":
        raise TimeoutError(f"{' '.join(cmd)}: still running after {timeout} s")
    return Run(when, landed, proc.returncode, bytes(output))


def kill_group(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGKILL every process of the command's process group, reap the command, and wait until
    no process of the group is left (reader processes are the command's children)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    deadline = time.monotonic() + timeout
    while _group_alive(proc.pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of group {proc.pid} outlived SIGKILL for {timeout} s")
        time.sleep(0.01)


def _group_alive(pgid: int) -> list[int]:
    """Processes of the group that still run (a zombie waiting for its reaper has ended)."""
    alive = []
    for p in psutil.process_iter(["status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(p.pid)
        except (ProcessLookupError, psutil.Error):
            pass
    return alive


def run_ok(cmd: list[str], timeout: float = 600) -> float:
    """Run a command to the end on a terminal; its duration. Raises if it fails."""
    run = run_killed(cmd, timeout=timeout)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {run.returncode}:\n{_tail(run.output)}")
    return run.seconds


def _tail(output: bytes, n: int = 1500) -> str:
    return output[-n:].decode(errors="replace")


def ingest_cmd(files: list[Path], db: Path) -> list[str]:
    return [*FARMHOUND, "ingest", *map(str, files), "--db", str(db)]


def triage_cmd(db: Path, config: Path | None = None) -> list[str]:
    return [*FARMHOUND, "triage", "--db", str(db), *(["--config", str(config)] if config else [])]


# -- stores -------------------------------------------------------------------------------------------

SUFFIXES = ("", "-journal", "-wal", "-shm")


def remove_store(db: Path) -> None:
    for s in SUFFIXES:
        Path(f"{db}{s}").unlink(missing_ok=True)


def copy_store(src: Path, dst: Path) -> Path:
    """Copy a store with its journal or WAL (the state a killed process left; nothing may run on it)."""
    remove_store(dst)
    for s in SUFFIXES[:3]:
        if Path(f"{src}{s}").exists():
            shutil.copyfile(f"{src}{s}", f"{dst}{s}")
    return dst


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(db, timeout=30, isolation_level=None)


def integrity_problems(db: Path) -> list[str]:
    """PRAGMA integrity_check and foreign_key_check (opening rolls back a hot journal)."""
    c = _connect(db)
    try:
        problems = []
        result = [r[0] for r in c.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.append(f"integrity_check: {result[:5]}")
        fk = c.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            problems.append(f"foreign_key_check: {len(fk)} violations, e.g. {fk[:3]}")
        return problems
    finally:
        c.close()


def _digest(rows) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    for row in rows:
        h.update(repr(row).encode())
        h.update(b"\n")
        n += 1
    return n, h.hexdigest()[:16]


def _has_table(c: sqlite3.Connection, name: str) -> bool:
    return c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


SOURCE_FIELDS = (
    "path", "format", "kind", "status", "rows_read", "stored", "duplicates", "quarantined", "resume_units",
    "resume_bytes", "resume_lines", "notes", "options",
)  # fmt: skip


def ingest_state(db: Path) -> dict[str, object]:
    """What an ingest left, comparable across stores: source ids are replaced by file hashes, row
    ids (rid, text ids) left out; tables as (rows, digest of the rows in key order)."""
    c = _connect(db)
    try:
        if not _has_table(c, "sources"):
            return {"sources": {}}
        cols = [r[1] for r in c.execute("PRAGMA table_info(requests)") if r[1] not in ("rid", "source_id")]
        acols = [r[1] for r in c.execute("PRAGMA table_info(accounts)") if r[1] != "source_id"]
        sources = {
            row[0]: dict(zip(SOURCE_FIELDS, row[1:], strict=True))
            for row in c.execute(f"SELECT sha256 || ':' || kind, {', '.join(SOURCE_FIELDS)} FROM sources")
        }
        return {
            "sources": sources,
            "requests (rows, distinct request ids)": c.execute(
                "SELECT count(*), count(DISTINCT request_id) FROM requests"
            ).fetchone(),
            "request ids": _digest(c.execute("SELECT request_id FROM requests ORDER BY request_id")),
            "request rows": _digest(
                c.execute(
                    f"SELECT s.sha256, {', '.join('r.' + k for k in cols)} FROM requests r JOIN sources s ON s.id = r.source_id "
                    "ORDER BY r.request_id"
                )
            ),
            "accounts": _digest(
                c.execute(
                    f"SELECT {', '.join('a.' + k for k in acols)}, s.sha256 FROM accounts a LEFT JOIN sources s ON s.id = a.source_id "
                    "ORDER BY a.account_id"
                )
            ),
            "quarantine": _digest(
                c.execute(
                    "SELECT s.sha256, q.line, q.reason, q.detail, q.raw FROM quarantine q JOIN sources s ON s.id = q.source_id "
                    "ORDER BY s.sha256, q.line"
                )
            ),
            "prompts": _digest(c.execute("SELECT hash, text FROM prompts ORDER BY hash")),
            "responses": _digest(c.execute("SELECT hash, text FROM responses ORDER BY hash")),
        }
    finally:
        c.close()


def triage_state(db: Path, skip: set[str] = frozenset()) -> dict[str, object]:
    """The derived tables (rows, digest) and the latest triage run's summary."""
    c = _connect(db)
    try:
        state: dict[str, object] = {
            t: _digest(c.execute(f"SELECT * FROM {t} ORDER BY {key}")) for t, key in DERIVED.items() if t not in skip
        }
        state["latest run"] = c.execute(
            "SELECT config_hash, requests, accounts, templates, clusters, flagged FROM triage_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return state
    finally:
        c.close()


def triage_runs(db: Path) -> int:
    c = _connect(db)
    try:
        return c.execute("SELECT count(*) FROM triage_runs").fetchone()[0]
    finally:
        c.close()


def differences(got: dict, want: dict) -> list[str]:
    """What differs between two states, one line each."""
    out = []
    for key in sorted(set(got) | set(want)):
        g, w = got.get(key), want.get(key)
        if key == "sources" and isinstance(g, dict) and isinstance(w, dict):
            for sha in sorted(set(g) | set(w)):
                gs, ws = g.get(sha) or {}, w.get(sha) or {}
                name = Path((ws or gs).get("path", sha)).name
                bad = {f: (gs.get(f), ws.get(f)) for f in SOURCE_FIELDS if gs.get(f) != ws.get(f)}
                if bad:
                    out.append(
                        f"source {name}: " + ", ".join(f"{f} {a!r} (reference {b!r})" for f, (a, b) in bad.items())
                    )
        elif g != w:
            out.append(f"{key}: {g} (reference {w})")
    return out


def set_differences(db: Path, ref: Path) -> list[str]:
    """Request ids and quarantined lines the store has and the reference lacks, and the reverse."""
    c = _connect(db)
    try:
        c.execute("ATTACH DATABASE ? AS ref", (str(ref),))
        out = []
        extra = c.execute(
            "SELECT count(*) FROM main.requests WHERE request_id NOT IN (SELECT request_id FROM ref.requests)"
        ).fetchone()[0]
        lost = c.execute(
            "SELECT count(*) FROM ref.requests WHERE request_id NOT IN (SELECT request_id FROM main.requests)"
        ).fetchone()[0]
        if extra or lost:
            out.append(f"request ids: {lost} lost, {extra} not in the reference")
        q = "SELECT s.sha256, q.line, q.reason FROM {0}.quarantine q JOIN {0}.sources s ON s.id = q.source_id"
        extra_q = c.execute(f"SELECT count(*) FROM ({q.format('main')} EXCEPT {q.format('ref')})").fetchone()[0]
        lost_q = c.execute(f"SELECT count(*) FROM ({q.format('ref')} EXCEPT {q.format('main')})").fetchone()[0]
        if extra_q or lost_q:
            out.append(f"quarantine rows: {lost_q} lost, {extra_q} not in the reference")
        return out
    finally:
        c.close()


def partial_ingest_problems(db: Path, ref: dict) -> tuple[list[str], int]:
    """Invariants of the state a killed ingest left (run on a copy). Returns (problems, how many
    sources were left part-loaded, with rows committed)."""
    c = _connect(db)
    problems: list[str] = []
    partial = 0
    try:
        if not _has_table(c, "sources"):
            return problems, 0
        rows = c.execute(
            "SELECT id, sha256 || ':' || kind, path, kind, status, rows_read, stored, duplicates, quarantined, "
            "resume_units, resume_lines FROM sources"
        ).fetchall()
        for sid, key, path, kind, status, read, stored, dupes, quarantined, units, lines in rows:
            name = Path(path).name
            if read != stored + dupes + quarantined:
                problems.append(
                    f"{name}: read {read} != stored {stored} + duplicates {dupes} + quarantined {quarantined}"
                )
            n_quarantine = c.execute("SELECT count(*) FROM quarantine WHERE source_id = ?", (sid,)).fetchone()[0]
            if n_quarantine != quarantined:
                problems.append(f"{name}: {n_quarantine} quarantine rows, the source says {quarantined}")
            if kind == "requests":
                n, last = c.execute("SELECT count(*), max(line) FROM requests WHERE source_id = ?", (sid,)).fetchone()
                if n != stored:
                    problems.append(f"{name}: {n} request rows, the source says {stored} stored")
                if read != units:
                    problems.append(f"{name}: read {read} != resume units {units}")
                last_q = c.execute("SELECT max(line) FROM quarantine WHERE source_id = ?", (sid,)).fetchone()[0]
                if max(last or 0, last_q or 0) > lines:
                    problems.append(
                        f"{name}: rows after the resume point (line {max(last or 0, last_q or 0)} > {lines})"
                    )
            want = ref["sources"].get(key)
            if want is None:
                problems.append(f"{name}: a source the reference does not have")
            elif status == "complete":
                got = dict(
                    zip(
                        ("rows_read", "stored", "duplicates", "quarantined"),
                        (read, stored, dupes, quarantined),
                        strict=True,
                    )
                )
                exp = {k: want[k] for k in got}
                if got != exp:
                    problems.append(f"{name}: complete with {got}, the reference has {exp}")
            elif status == "loading" and read:
                partial += 1
        c.execute("ATTACH DATABASE ? AS ref", (str(ref["db"]),))
        extra = c.execute(
            "SELECT count(*) FROM main.requests WHERE request_id NOT IN (SELECT request_id FROM ref.requests)").fetchone()[0]  # fmt: skip
        if extra:
            problems.append(f"{extra} request ids the reference does not have")
        return problems, partial
    finally:
        c.close()


def finished_store_problems(db: Path) -> list[str]:
    """After a completed run: the store opens (migrated), is in WAL mode, has every pivot index,
    and no rollback journal is left."""
    from farmhound.store import ACCOUNT_INDEXES, REQUEST_INDEXES, SCHEMA_VERSION, Store

    problems = integrity_problems(db)
    if Path(f"{db}-journal").exists() and Path(f"{db}-journal").stat().st_size:
        problems.append("a non-empty rollback journal is left")
    c = _connect(db)
    try:
        mode = c.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            problems.append(f"journal_mode is {mode}, not wal")
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        missing = (set(REQUEST_INDEXES) | set(ACCOUNT_INDEXES)) - names
        if missing:
            problems.append(f"pivot indexes missing: {sorted(missing)}")
    finally:
        c.close()
    with Store(db) as store:  # last: opening creates any missing index
        if store.schema_version != SCHEMA_VERSION:
            problems.append(f"schema version {store.schema_version}, expected {SCHEMA_VERSION}")
    return problems


# -- the data -----------------------------------------------------------------------------------------

BROKEN = (
    b'{"ts": 1700000000, "account_id": "broken"\n',  # invalid JSON
    b'{"request_id": "no-account", "ts": 1700000000, "prompt": "x"}\n',  # no account
    b'{"ts": "the day before yesterday", "account_id": "acct_broken"}\n',  # unparsable time
    b"\n",  # a blank line: not a row, but it counts as a line
)
CSV_FIELDS = (
    "request_id", "ts", "account_id", "api_key_id", "org_id", "ip", "user_agent", "country", "model", "messages",
    "response", "input_tokens", "output_tokens", "max_tokens", "temperature", "latency_ms", "status",
)  # fmt: skip


def _spoil(lines: list[bytes], every: int) -> list[bytes]:
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if i % every == every // 2:
            out.append(BROKEN[(i // every) % len(BROKEN)])
    return out


def _csv(lines: list[bytes]) -> bytes:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for i, line in enumerate(lines):
        r = orjson.loads(line)
        w.writerow(
            ["" if r.get(k) is None else orjson.dumps(r[k]).decode() if k == "messages" else r[k] for k in CSV_FIELDS]
        )
        if i % 997 == 500:
            w.writerow(["csv-short-row", "2026-01-01T00:00:00Z"])  # wrong number of fields
        if i % 997 == 800:
            w.writerow(["csv-bad-ts", "not a time", "acct_x", *[""] * (len(CSV_FIELDS) - 3)])
    return buf.getvalue().encode()


def make_data(out: Path, scale: float, seed: int) -> list[Path]:
    """Generate the sample tenant base and split it into the five input files (see the module doc)."""
    sample = out / "sample"
    subprocess.run([*FARMHOUND, "sample", "--out", str(sample), "--scale", str(scale), "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    rng = random.Random(seed)
    lines = (sample / "requests.jsonl").read_bytes().splitlines(keepends=True)
    n = len(lines)
    cut = [0, int(n * 0.45), int(n * 0.55), int(n * 0.60), n]
    a, b, c, d = (lines[cut[k] : cut[k + 1]] for k in range(4))
    # b: some rows without a request id (deduplicated by a hash of their content), a few repeated
    b = [orjson.dumps({k: v for k, v in orjson.loads(x).items() if k != "request_id"}) + b"\n" if i % 50 == 7 else x
         for i, x in enumerate(b)]  # fmt: skip
    b += [b[k] for k in range(7, len(b), 500)]
    # d: rows already loaded from a and b, and rows repeated later in d itself
    for x in rng.sample(a, 300) + rng.sample(b, 100) + rng.sample(d, 100):
        d.insert(rng.randrange(len(d) + 1), x)
    files = {
        "accounts.csv": (sample / "accounts.csv").read_bytes(),
        "a.jsonl": b"".join(_spoil(a, 4001)),
        "b.jsonl.gz": gzip.compress(b"".join(_spoil(b, 997)), mtime=0),
        "c.csv": _csv(c),
        "d.jsonl": b"".join(_spoil(d, 3001)),
    }
    acc = files["accounts.csv"].splitlines(keepends=True)
    files["accounts.csv"] = b"".join([*acc, acc[5], acc[9], b"acct_short,2024-01-01T00:00:00Z\n"])
    paths = []
    for name, data in files.items():
        (out / name).write_bytes(data)
        paths.append(out / name)
    return paths


# -- the benchmark --------------------------------------------------------------------------------------


@dataclass
class Kill:
    phase: str
    seed: int
    delay: float = 0.0
    when: str = ""
    partial: int = 0  # ingest: sources left part-loaded; triage: 1 if the new run had committed
    problems: list[str] = field(default_factory=list)


@dataclass
class Setup:
    work: Path
    files: list[Path]
    ref: Path  # reference store: clean ingest + clean triage
    ref_ingest: dict
    ref_triage: dict
    nonempty_base: Path
    triage_base: Path
    old_triage: dict
    old_runs: int
    durations: dict[str, float]
    skip: set[str]  # derived tables that are not deterministic


def setup(work: Path, scale: float, seed: int) -> Setup:
    from loaders.pipeline import BULK_INDEX_BYTES, WORKER_MIN_BYTES

    t0 = time.perf_counter()
    files = make_data(work, scale, seed)
    total = sum(f.stat().st_size for f in files)
    print(f"data: sample --scale {scale:g} --seed {seed} in {time.perf_counter() - t0:.1f} s")
    for f in files:
        size = f.stat().st_size
        note = "reader processes" if size >= WORKER_MIN_BYTES else "inline"
        print(f"  {f.name:<14} {size / 1e6:7.1f} MB  {note}")
    print(
        f"  total          {total / 1e6:7.1f} MB  (bulk load into an empty store: over {BULK_INDEX_BYTES / 1e6:.1f} MB)"
    )
    if total < BULK_INDEX_BYTES:
        raise SystemExit("the data is too small for the bulk path: raise --scale")

    durations = {}
    ref = work / "ref.db"
    durations["ingest-empty"] = run_ok(ingest_cmd(files, ref))
    ref_ingest = ingest_state(ref) | {"db": ref}
    print(f"reference ingest: {durations['ingest-empty']:.1f} s, "
          f"{ref_ingest['requests (rows, distinct request ids)'][0]:,} requests")  # fmt: skip
    ingested = copy_store(ref, work / "ref-ingest.db")

    nonempty_base = work / "base-nonempty.db"
    run_ok(ingest_cmd(files[:2], nonempty_base))
    c = _connect(nonempty_base)
    held = c.execute("SELECT count(*) FROM requests").fetchone()[0]
    c.close()
    if held * 2000 < total:
        raise SystemExit("the non-empty base holds too few requests: its ingest would take the bulk path too")
    probe = copy_store(nonempty_base, work / "probe.db")
    durations["ingest-nonempty"] = run_ok(ingest_cmd(files, probe))
    if diff := differences(ingest_state(probe) | {"db": ref}, ref_ingest):
        raise SystemExit("loading the files in two runs does not give the reference:\n  " + "\n  ".join(diff))

    ref_seconds = run_ok(triage_cmd(ref))
    again = copy_store(ingested, work / "triage-again.db")
    again_seconds = run_ok(triage_cmd(again))
    first, second = triage_state(ref), triage_state(again)
    skip = {t for t in DERIVED if first[t] != second[t]}
    if skip:
        print(f"triage is NOT deterministic: {', '.join(sorted(skip))} differ between two clean runs; not compared")
    else:
        print("triage is deterministic: two clean runs give identical derived tables")
    ref_triage = triage_state(ref, skip)

    triage_base = copy_store(ingested, work / "base-triage.db")
    old_config = work / "old.toml"
    old_config.write_text(OLD_CONFIG)
    run_ok(triage_cmd(triage_base, old_config))
    old_triage = triage_state(triage_base, skip)
    same = [t for t in DERIVED if t not in skip and old_triage[t] == ref_triage[t]]
    print(f"previous triage run (another config): {len(DERIVED) - len(skip) - len(same)} of the derived tables differ "
          f"from the new run's")  # fmt: skip
    probe = copy_store(triage_base, work / "probe.db")
    # The longest of three clean runs: kill delays should reach past the end of a slow one too.
    durations["triage"] = max(run_ok(triage_cmd(probe)), ref_seconds, again_seconds)
    if diff := differences(triage_state(probe, skip), ref_triage):
        raise SystemExit("triage over an earlier run does not give the reference:\n  " + "\n  ".join(diff))
    remove_store(probe)
    print(f"clean durations: ingest into an empty store {durations['ingest-empty']:.1f} s, into the non-empty one "
          f"{durations['ingest-nonempty']:.1f} s, triage {durations['triage']:.1f} s (the longest of three)")  # fmt: skip
    return Setup(work, files, ref, ref_ingest, ref_triage, nonempty_base, triage_base, old_triage,
                 triage_runs(triage_base), durations, skip)  # fmt: skip


def one_kill(s: Setup, k: Kill) -> None:
    """Kill the phase's command after a delay drawn from the kill's seed; check; re-run; compare."""
    db = s.work / "kill.db"
    remove_store(db)
    if k.phase == "ingest-nonempty":
        copy_store(s.nonempty_base, db)
    elif k.phase == "triage":
        copy_store(s.triage_base, db)
    cmd = triage_cmd(db) if k.phase == "triage" else ingest_cmd(s.files, db)
    k.delay = random.Random(k.seed).uniform(0, OVERSHOOT * s.durations[k.phase])
    run = run_killed(cmd, kill_after=k.delay)
    k.when = run.when
    if run.when == "after end" and run.returncode != 0:
        k.problems.append(f"the command failed on its own ({run.returncode}): {_tail(run.output, 300)}")

    # The state the kill left, checked on a copy: the re-run below starts from the state itself.
    copy = copy_store(db, s.work / "killed-copy.db")
    if db.exists():
        k.problems += integrity_problems(copy)
        if k.phase == "triage":
            state = triage_state(copy, s.skip)
            runs = triage_runs(copy)
            if state == s.old_triage and runs == s.old_runs:
                k.partial = 0
            elif state == s.ref_triage and runs == s.old_runs + 1:
                k.partial = 1
            else:
                k.problems.append("derived tables are neither the previous run's nor the new run's: "
                                  + "; ".join(differences(state, s.old_triage)[:4]))  # fmt: skip
            k.problems += [f"killed triage changed the ingested data: {d}" for d in
                           differences(ingest_state(copy) | {"db": s.ref}, s.ref_ingest)]  # fmt: skip
        else:
            problems, k.partial = partial_ingest_problems(copy, s.ref_ingest)
            k.problems += problems
    remove_store(copy)

    rerun = run_killed(cmd)
    if rerun.returncode != 0:
        k.problems.append(f"the re-run exited {rerun.returncode}: {_tail(rerun.output, 600)}")
        return
    k.problems += finished_store_problems(db)
    diff = differences(ingest_state(db) | {"db": s.ref}, s.ref_ingest)
    if diff:
        diff += set_differences(db, s.ref)
    if k.phase == "triage":
        diff += differences(triage_state(db, s.skip), s.ref_triage)
    k.problems += diff


def schedule(kills: int, seed: int) -> list[Kill]:
    rng = random.Random(seed)
    phases = [PHASES[i % len(PHASES)] for i in range(kills)]
    rng.shuffle(phases)
    return [Kill(p, rng.randrange(1 << 31)) for p in phases]


def report(kills: list[Kill], seed: int, argv: list[str]) -> None:
    print(
        f"\n{'phase':<36} {'kills':>5} {'before start':>12} {'mid-work':>8} {'after end':>9}  {'left mid-load / new run committed':>34} {'failures':>8}"
    )
    for phase in PHASES:
        ks = [k for k in kills if k.phase == phase]
        if not ks:
            continue
        when = Counter(k.when for k in ks)
        if phase == "triage":
            extra = f"{sum(k.partial for k in ks)} new run committed"
        else:
            extra = f"{sum(k.partial > 0 for k in ks)} left a file part-loaded"
        print(f"{PHASE_TITLES[phase]:<36} {len(ks):>5} {when['before start']:>12} {when['mid-work']:>8} "
              f"{when['after end']:>9}  {extra:>34} {sum(bool(k.problems) for k in ks):>8}")  # fmt: skip
    ks = kills
    when = Counter(k.when for k in ks)
    print(f"{'all':<36} {len(ks):>5} {when['before start']:>12} {when['mid-work']:>8} {when['after end']:>9}  "
          f"{'':>34} {sum(bool(k.problems) for k in ks):>8}")  # fmt: skip
    failed = [k for k in kills if k.problems]
    if failed:
        base = [a for a in argv if not a.startswith("--only")]
        print(f"\n{len(failed)} FAILED (seed {seed}):")
        for k in failed:
            print(f"- {k.phase}, kill seed {k.seed}: killed {k.when} at {k.delay:.2f} s; reproduce: "
                  f"python benchmarks/crash.py {' '.join(base)} --only {k.phase}:{k.seed}")  # fmt: skip
            for p in k.problems:
                print(f"    {p}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=60, help="kills in all, split evenly between the phases (default 60)")
    ap.add_argument("--seed", type=int, default=7, help="seed of the data and of the kill schedule (default 7)")
    ap.add_argument("--scale", type=float, default=10.0, help="sample scale; 10 is ~84 MB of requests (default)")
    ap.add_argument("--only", action="append", default=[], metavar="PHASE:SEED", help="replay these kills only")
    ap.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    args = ap.parse_args()

    if args.only:
        kills = []
        for item in args.only:
            phase, _, s = item.partition(":")
            if phase not in PHASES:
                ap.error(f"--only: the phase is one of {', '.join(PHASES)}")
            kills.append(Kill(phase, int(s)))
    else:
        kills = schedule(args.kills, args.seed)
    work = args.work or Path(tempfile.mkdtemp(prefix="farmhound-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"working folder: {work} ({os.cpu_count()} cores)")
    started = time.perf_counter()
    try:
        s = setup(work, args.scale, args.seed)
        print(f"\n{len(kills)} kills (seed {args.seed}):")
        for i, k in enumerate(kills, 1):
            t = time.perf_counter()
            one_kill(s, k)
            status = "FAILED: " + "; ".join(k.problems)[:300] if k.problems else "ok"
            print(f"  {i:>3} {k.phase:<16} seed {k.seed:<11} killed at {k.delay:5.2f} s ({k.when:<12}) "
                  f"{time.perf_counter() - t:5.1f} s  {status}", flush=True)  # fmt: skip
        report(kills, args.seed, sys.argv[1:])
        print(f"\n{time.perf_counter() - started:.0f} s in all")
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if any(k.problems for k in kills) else 0)


if __name__ == "__main__":
    main()
