"""SIGKILL during triage, and during a bulk load into an empty store: the store stays intact, a
killed triage leaves the previous results whole until a re-run replaces them, and re-running the
same command gives exactly what an uninterrupted run gives.

A CI-sized version of `benchmarks/crash.py` (whose checks it reuses). Kills of an ingest in the
middle of its batches are in test_resume.py; kills at random points, 60 of them, in the benchmark.
Each kill waits for what the command draws on its terminal (its progress), never for a duration.
"""

import importlib.util
import sqlite3
import sys
from pathlib import Path

import pytest
from test_resume import BAD, N, big_jsonl

from farmhound.store import REQUEST_INDEXES, Store
from farmhound.triage import PHASES
from loaders.pipeline import BULK_INDEX_BYTES, Cancelled, ingest

_spec = importlib.util.spec_from_file_location("crash", Path(__file__).resolve().parents[1] / "benchmarks" / "crash.py")
crash = sys.modules["crash"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash)


def shown(phase: str):
    """A condition on the terminal output: triage shows `phase` or a later one."""
    later = [f"triage: {p}".encode() for p in [*PHASES[PHASES.index(phase) :], "done"]]
    return lambda out: any(p in out for p in later)


# -- triage ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def triaged(tmp_path_factory):
    """A small sample store: the reference (clean ingest + triage) and a base holding the results
    of an earlier triage run with another config, for the kills."""
    work = tmp_path_factory.mktemp("crash")
    crash.run_ok([*crash.FARMHOUND, "sample", "--out", str(work / "sample"), "--scale", "0.5", "--seed", "5"])
    files = [work / "sample" / "accounts.csv", work / "sample" / "requests.jsonl"]
    ref = work / "ref.db"
    crash.run_ok(crash.ingest_cmd(files, ref))
    base = crash.copy_store(ref, work / "base.db")
    crash.run_ok(crash.triage_cmd(ref))
    (work / "old.toml").write_text(crash.OLD_CONFIG)
    crash.run_ok(crash.triage_cmd(base, work / "old.toml"))
    old = crash.triage_state(base)
    new = crash.triage_state(ref)
    assert old["latest run"] != new["latest run"] and old["clusters"] != new["clusters"], "the runs must differ"
    return {"work": work, "ref": ref, "base": base, "old": old, "new": new, "ingested": crash.ingest_state(ref)}


@pytest.mark.parametrize("phase", ["templates", "linking", "writing"])
def test_a_killed_triage_keeps_the_previous_results_and_a_rerun_replaces_them(triaged, phase):
    db = crash.copy_store(triaged["base"], triaged["work"] / f"kill-{phase}.db")
    runs_before = crash.triage_runs(db)
    cmd = crash.triage_cmd(db)
    for _attempt in range(3):
        run = crash.run_killed(cmd, kill_when=shown(phase), timeout=120)
        if run.when == "mid-work":
            break
        crash.copy_store(triaged["base"], db)  # it finished first: try again
    assert run.when == "mid-work", f"triage finished before it showed {phase!r} three times"

    assert crash.integrity_problems(db) == []
    state, runs = crash.triage_state(db), crash.triage_runs(db)
    if phase == "writing" and runs == runs_before + 1:
        assert state == triaged["new"]  # the kill came after the commit: the new run, whole
    else:
        assert (state, runs) == (triaged["old"], runs_before), "the previous run's results must stay whole"
    assert crash.differences(crash.ingest_state(db), triaged["ingested"]) == []

    rerun = crash.run_killed(cmd, timeout=120)
    assert rerun.returncode == 0, crash._tail(rerun.output)
    assert crash.finished_store_problems(db) == []
    assert crash.differences(crash.triage_state(db), triaged["new"]) == []
    assert crash.differences(crash.ingest_state(db), triaged["ingested"]) == []


# -- a bulk load into an empty store --------------------------------------------------------------------


def test_a_bulk_load_killed_while_building_its_indexes_completes_on_rerun(tmp_path):
    path = big_jsonl(tmp_path / "big.jsonl", pad=1100)  # ~73 MB into an empty store: a bulk load
    assert path.stat().st_size >= BULK_INDEX_BYTES
    db = tmp_path / "bulk.db"
    cmd = crash.ingest_cmd([path], db)
    for _attempt in range(3):
        crash.remove_store(db)
        run = crash.run_killed(cmd, kill_when=lambda out: b"building pivot indexes" in out, timeout=120)
        if run.when == "mid-work":
            break
    assert run.when == "mid-work", "the ingest ended before it showed its index build three times"
    # killed in the bulk load's rollback-journal mode, with every row committed
    assert Path(f"{db}-journal").exists() and not Path(f"{db}-wal").exists()
    assert crash.integrity_problems(db) == []
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT status, rows_read FROM sources").fetchone() == ("complete", N)

    rerun = crash.run_killed(cmd, timeout=120)
    assert rerun.returncode == 0, crash._tail(rerun.output)
    assert b"already loaded" in rerun.output
    assert crash.finished_store_problems(db) == []  # WAL again, every pivot index, no journal left
    with sqlite3.connect(db) as c:
        good = N - len(BAD)
        assert c.execute("SELECT count(*), count(DISTINCT request_id) FROM requests").fetchone() == (good, good)
        assert c.execute("SELECT rows_read, stored, duplicates, quarantined FROM sources").fetchone() == (
            N,
            good,
            0,
            len(BAD),
        )
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert set(REQUEST_INDEXES) <= names


# -- regression: a resumed file with nothing left kept its resume point ---------------------------------


def test_a_file_stopped_twice_at_its_end_is_not_read_again(tmp_path):
    # Stopped after its last batch but before it was marked complete, then stopped again in the same
    # window of the resumed run: the resumed run (nothing left to read) set the resume byte to 0,
    # so the next run read the whole file a second time (rows read doubled, quarantine repeated).
    path = big_jsonl(tmp_path / "small.jsonl", n=12_000)
    with Store(tmp_path / "s.db") as store:
        finish = store.finish_source

        def stop(source_id):
            raise Cancelled("stopped before the file was marked complete")

        store.finish_source = stop
        for _ in range(2):
            with pytest.raises(Cancelled):
                ingest(store, [str(path)], workers=False)
        [src] = store.sources()
        assert (src.status, src.resume_bytes) == ("loading", path.stat().st_size)
        store.finish_source = finish
        [s] = ingest(store, [str(path)], workers=False)
        assert (s.rows_read, s.stored, s.duplicates, s.quarantined) == (12_000, 11_999, 0, 1)
        assert store.conn.execute("SELECT count(*) FROM quarantine").fetchone() == (1,)
