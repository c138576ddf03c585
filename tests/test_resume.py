"""A killed (SIGKILL) or cancelled ingest leaves a consistent store; running the same command again
completes it with every row stored exactly once and the row accounting exact."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import orjson
import psutil
import pytest
from helpers import accounting, source_accounting

from farmhound.store import REQUEST_INDEXES, Store
from loaders.pipeline import Cancelled, ingest

N = 60_000
BAD_EVERY, BAD_AT = 9_973, 4_000  # row i is broken when i % BAD_EVERY == BAD_AT
BAD = [i for i in range(N) if i % BAD_EVERY == BAD_AT]


def big_jsonl(path, n: int = N, pad: int = 0):
    """n small request rows (row i has request id r{i} and sits on line i + 1); a few are broken."""
    filler = "x" * pad
    with open(path, "w") as f:
        f.write("".join(
            '{"ts": 1700000000, "account_id": "broken"\n' if i % BAD_EVERY == BAD_AT else
            f'{{"request_id":"r{i}","ts":{1700000000 + i},"account_id":"acct{i % 997}","ip":"10.{i % 7}.{i % 200}.{i % 250}",'
            f'"prompt":"write function {i % 5000} in python{filler}"}}\n'
            for i in range(n)
        ))  # fmt: skip
    return path


def wait_until(condition, timeout: float, interval: float = 0.005):
    """Poll `condition` until it returns something truthy or the deadline passes (then None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return None


def committed_rows(db) -> int:
    """rows_read of the (only) source, through a separate read-only connection; 0 if none yet."""
    if not db.exists():
        return 0
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
        try:
            row = c.execute("SELECT rows_read FROM sources").fetchone()
        finally:
            c.close()
    except sqlite3.Error:
        return 0
    return row[0] if row else 0


def ingest_cmd(path, db, *extra):
    return [sys.executable, "-m", "farmhound", "ingest", str(path), "--db", str(db), *extra]


def start_and_kill_midway(path, db):
    """Start the real command, wait until some but not all rows are committed, SIGKILL it.
    Returns (rows committed when killed, the processes it had started)."""
    for _attempt in range(3):
        for f in db.parent.glob(db.name + "*"):
            f.unlink()
        proc = subprocess.Popen(ingest_cmd(path, db), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            seen = wait_until(lambda p=proc: p.poll() is not None or 0 < committed_rows(db) < N, timeout=60)
            assert seen, "the ingest committed nothing within 60 s"
            if proc.poll() is not None:
                continue  # it finished before it could be caught midway: try again
            children = psutil.Process(proc.pid).children(recursive=True)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            return committed_rows(db), children
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    pytest.fail("could not catch the ingest midway in 3 attempts")


def reap(children):
    """End the processes the killed ingest had started (by pid), so none outlives the test."""
    for p in children:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(children, timeout=5)


def check_consistent_partial(db):
    c = sqlite3.connect(db)
    try:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        status, read, stored, dupes, quarantined, units = c.execute(
            "SELECT status, rows_read, stored, duplicates, quarantined, resume_units FROM sources"
        ).fetchone()
        assert status == "loading"
        assert 0 < read < N and read == units
        assert read == stored + dupes + quarantined
        assert c.execute("SELECT count(*) FROM requests").fetchone()[0] == stored
        assert c.execute("SELECT count(*) FROM quarantine").fetchone()[0] == quarantined
        return read
    finally:
        c.close()


def check_complete(db):
    c = sqlite3.connect(db)
    try:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        good = N - len(BAD)
        assert c.execute("SELECT count(*), count(DISTINCT request_id) FROM requests").fetchone() == (good, good)
        assert c.execute("SELECT status, rows_read, stored, duplicates, quarantined FROM sources").fetchone() == (
            "complete", N, good, 0, len(BAD))  # fmt: skip
        # every row carries the line it came from, and the broken lines are exactly the quarantined ones
        assert c.execute("SELECT count(*) FROM requests WHERE request_id != 'r' || (line - 1)").fetchone() == (0,)
        assert [r[0] for r in c.execute("SELECT line FROM quarantine ORDER BY line")] == [i + 1 for i in BAD]
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert set(REQUEST_INDEXES) <= names, set(REQUEST_INDEXES) - names
    finally:
        c.close()


@pytest.mark.parametrize("pad", [0, 40, 1100], ids=["inline-reader", "reader-processes", "bulk-load"])
def test_kill_9_midway_then_rerun_completes_exactly_once(tmp_path, pad):
    # ~7 MB is parsed in the writing process; ~9.5 MB (over 8 MB) by reader processes; ~73 MB
    # (over 64 MB, into an empty store) is a bulk load, with a rollback journal instead of WAL.
    path = big_jsonl(tmp_path / "big.jsonl", pad=pad)
    db = tmp_path / "k.db"
    committed, children = start_and_kill_midway(path, db)
    try:
        assert 0 < committed < N
        check_consistent_partial(db)
    finally:
        reap(children)

    done = subprocess.run(ingest_cmd(path, db, "--json"), capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    summary = orjson.loads(done.stdout)
    assert summary["status"] == "resumed"
    # cumulative over both runs, and nothing read twice: a resumed run starts where the kill left off
    assert accounting(summary) == (N, N - len(BAD), 0, len(BAD))
    check_complete(db)
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_killed_ingest_leaves_no_reader_processes_behind(tmp_path):
    path = big_jsonl(tmp_path / "big.jsonl", pad=40)  # over 8 MB: reader processes
    db = tmp_path / "k.db"
    _, children = start_and_kill_midway(path, db)
    try:
        assert children, "expected reader processes"
        _gone, alive = psutil.wait_procs(children, timeout=3)
        assert not alive, f"{len(alive)} processes outlived the killed ingest"
    finally:
        reap(children)


# -- cancel (the TUI's and Ctrl-C's way to stop) --------------------------------------------------------

M = 25_000  # three batches


def cancel_after_first_batch():
    event = threading.Event()

    def on_progress(p):
        if p.phase == "loading" and p.rows > 0:
            event.set()

    return event, on_progress


@pytest.mark.parametrize("workers", [False, True], ids=["inline", "workers"])
def test_cancel_then_rerun_resumes_with_exact_counts(tmp_path, workers):
    path = big_jsonl(tmp_path / "c.jsonl", n=M)
    bad = [i for i in range(M) if i % BAD_EVERY == BAD_AT]
    cancel, on_progress = cancel_after_first_batch()
    with Store(tmp_path / "c.db") as store:
        with pytest.raises(Cancelled) as exc:
            ingest(store, [str(path)], cancel=cancel, on_progress=on_progress, workers=workers)
        interrupted = exc.value.args[0]
        assert interrupted.status == "interrupted"
        read = accounting(interrupted)[0]
        assert 0 < read < M
        [src] = store.sources()
        assert (src.status, src.rows_read) == ("loading", read)
        assert store.info().requests == src.stored
        assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

        [s] = ingest(store, [str(path)], workers=workers)
        assert s.status == "resumed"
        assert accounting(s) == (M, M - len(bad), 0, len(bad))
        assert store.info().requests == M - len(bad)
        misplaced = store.conn.execute("SELECT count(*) FROM requests WHERE request_id != 'r' || (line - 1)").fetchone()
        assert misplaced == (0,)
        assert [r[0] for r in store.conn.execute("SELECT line FROM quarantine ORDER BY line")] == [i + 1 for i in bad]
        assert source_accounting(store) == [(M, M - len(bad), 0, len(bad))]
        assert store.sources()[0].status == "complete"


def test_a_partly_loaded_file_resumes_under_another_name(tmp_path):
    path = big_jsonl(tmp_path / "c.jsonl", n=M)
    cancel, on_progress = cancel_after_first_batch()
    with Store(tmp_path / "c.db") as store:
        with pytest.raises(Cancelled):
            ingest(store, [str(path)], cancel=cancel, on_progress=on_progress, workers=False)
        moved = tmp_path / "moved" / "renamed.jsonl"
        moved.parent.mkdir()
        shutil.move(path, moved)
        [s] = ingest(store, [str(moved)], workers=False)
        assert (s.status, s.rows_read, s.duplicates) == ("resumed", M, 0)
        [src] = store.sources()
        assert (src.path, src.status) == (str(moved), "complete")


def test_cancel_stores_the_cancelled_batch_and_nothing_after_it(tmp_path):
    path = big_jsonl(tmp_path / "c.jsonl", n=M)
    cancel, on_progress = cancel_after_first_batch()
    with Store(tmp_path / "c.db") as store:
        with pytest.raises(Cancelled):
            ingest(store, [str(path)], cancel=cancel, on_progress=on_progress, workers=False)
        [src] = store.sources()
        lines = store.conn.execute("SELECT min(line), max(line), count(*) FROM requests").fetchone()
        # the committed rows are exactly a prefix of the file
        assert lines[0] == 1 and lines[1] == src.resume_lines
        assert lines[2] + src.quarantined == src.rows_read
