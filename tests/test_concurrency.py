"""The workbench reads while other processes write: an ingest of new files, a triage re-run, both
at once. No read fails ("database is locked" or anything else), no notice of a failure reaches the
analyst, and the writers finish. The writers are real `farmhound` processes, as an analyst would
run them in another terminal."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers import cli
from tui_waiting import copy_store, wait_for

from farmhound.store import Store
from farmhound.store.investigate import Investigation
from tui.app import FarmhoundApp
from tui.screens.cluster import ClusterScreen
from tui.widgets import PagedTable


@pytest.fixture(scope="module")
def more_logs(tmp_path_factory) -> Path:
    """Request logs big enough that loading them takes a few seconds (reader processes included)."""
    out = tmp_path_factory.mktemp("more")
    cli("sample", "--out", out, "--scale", 6, "--seed", 9)
    return out


@pytest.fixture
def db(tmp_path):
    db = copy_store(tmp_path)
    Store(db).close()  # migrated to this version's schema, as the workbench does when it opens it
    return db


def farmhound(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "farmhound", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]


def test_reads_never_fail_while_an_ingest_and_a_triage_write(db, more_logs):
    with Store(db) as s:
        before = s.info().requests
    inv = Investigation(db)
    errors: list[BaseException] = []
    reads = [0, 0]
    during = [0]  # reads completed while the ingest was still running
    stop = threading.Event()
    ingest: subprocess.Popen | None = None

    def reader(k: int) -> None:
        while not stop.is_set():
            try:
                inv.page("clusters", limit=60)
                inv.page("members", {"cluster": 1}, limit=60, offset=60 * (reads[k] % 3))
                inv.page("pivot", {"kind": "card_bin", "value": "453275"}, search="acct", limit=60)
                inv.request_count()
                inv.run()
                reads[k] += 1
                if ingest is not None and ingest.poll() is None:
                    during[0] += 1
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(2)]
    try:
        ingest = farmhound("ingest", more_logs / "requests.jsonl", more_logs / "accounts.csv", "--db", db)
        for t in threads:
            t.start()
        triage = farmhound("triage", "--db", db)  # a second writer at the same time
        finish(ingest)
        finish(triage)
        finish(farmhound("triage", "--db", db))  # and one over everything loaded
    finally:
        stop.set()
        for t in threads:
            if t.is_alive():
                t.join()
        inv.close()
    assert not errors, errors[:3]
    assert min(reads) > 10 and during[0] > 10  # both readers kept answering, also while the load ran
    with Store(db) as s:
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert s.info().requests > before + 50_000  # the load completed


def test_the_workbench_keeps_answering_while_another_process_ingests(db, more_logs):
    """Pages, screens and a triage re-run in the workbench while `farmhound ingest` loads files
    into the same store: no notice of a failure, no "locked", and every load succeeds."""

    async def go():
        app = FarmhoundApp(db)
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.screen.query_one("#clusters", PagedTable).loads >= 1, 20, "queue")
            ingest = farmhound("ingest", more_logs / "requests.jsonl", more_logs / "accounts.csv", "--db", db)
            rounds = 0
            while ingest.poll() is None or rounds < 3:
                app.open_cluster(1)
                await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen), 20, "cluster screen")
                await pilot.press("2")  # members: a page from the store
                await wait_for(pilot, lambda: app.screen.query_one("#members", PagedTable).loads >= 1, 20, "members")
                await pilot.press("G", "escape")  # scroll to the end (more pages), then back
                await wait_for(pilot, lambda: not isinstance(app.screen, ClusterScreen), 20, "back on the queue")
                rounds += 1
            finish(ingest)
            await pilot.press("r")  # triage over the new rows, from the workbench
            await wait_for(pilot, lambda: any("Triage finished" in str(n.message) for n in app._notifications),
                           120, "the re-run")  # fmt: skip
            said = [str(n.message) for n in app._notifications]
            assert not [m for m in said if "locked" in m.lower() or "failed" in m.lower()], said
            assert rounds >= 3 and app.is_running

    asyncio.run(asyncio.wait_for(go(), 240))
