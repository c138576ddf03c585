"""A killed or cancelled ingest leaves a consistent store, and running it again completes it."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from farmhound.store import REQUEST_INDEXES, Store
from loaders.pipeline import Cancelled, ingest

N = 120_000


def big_file(path):
    with open(path, "w") as f:
        for i in range(N):
            f.write(f'{{"request_id":"r{i}","ts":{1776816000 + i},"account_id":"a{i % 997}",'
                    f'"ip":"198.51.{i % 200}.{i % 250}","prompt":"please solve task {i} step by step"}}\n')
    return path


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def rows_read(db):
    try:
        with sqlite3.connect(db, timeout=1) as c:
            row = c.execute("SELECT rows_read FROM sources").fetchone()
            return row[0] if row else 0
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("workers", ["inline", "readers"])
def test_kill_9_then_rerun_completes_exactly(tmp_path, workers):
    path = big_file(tmp_path / "big.jsonl")
    db = tmp_path / "k.db"
    cmd = [sys.executable, "-m", "farmhound", "ingest", str(path), "--db", str(db), "--json"]
    cmd += ["--no-readers"] if workers == "inline" else []
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    committed = wait_for(lambda: rows_read(db) >= 20_000)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: readers die too
    proc.wait()
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        status, read = c.execute("SELECT status, rows_read FROM sources").fetchone()
        assert status == "loading" and committed <= read < N
        assert c.execute("SELECT count(*) FROM requests").fetchone()[0] == read

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert '"status": "resumed"' in done.stdout
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert c.execute("SELECT count(*), count(DISTINCT request_id), count(DISTINCT line) FROM requests").fetchone() == (N, N, N)
        assert c.execute("SELECT status, rows_read, stored, duplicates, quarantined FROM sources").fetchone() == ("complete", N, N, 0, 0)
        # every line number points at the line the row came from
        assert c.execute("SELECT count(*) FROM requests WHERE request_id != 'r' || (line - 1)").fetchone() == (0,)
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert set(REQUEST_INDEXES) <= names


def test_cancel_between_batches_then_resume(tmp_path):
    path = big_file(tmp_path / "big.jsonl")
    cancel = threading.Event()
    with Store(tmp_path / "c.db") as store:
        with pytest.raises(Cancelled):
            ingest(store, [str(path)], cancel=cancel, on_progress=lambda p: p.rows and cancel.set(), workers=False)
        [src] = store.sources()
        assert src.status == "loading" and 0 < src.rows_read < N
        assert store.info().requests == src.stored
        [s] = ingest(store, [str(path)])
        assert (s.status, s.rows_read, s.stored, s.duplicates, s.quarantined) == ("resumed", N, N, 0, 0)
        assert store.info().requests == N
