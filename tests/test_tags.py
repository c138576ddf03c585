"""Tags: the event log, status exclusivity, undo / redo by batch, survival across re-ingest and
re-triage, and `farmhound tag` on the command line. Runs on a copy of the committed UI store."""

from __future__ import annotations

import pytest
from helpers import cli, cli_json
from tui_waiting import copy_store

from farmhound.store import Store
from farmhound.store.tags import TagError, TagLog

A, B, C = "acct_hostile_1", "acct_hostile_2", "acct_hostile_3"


@pytest.fixture
def db(tmp_path):
    return copy_store(tmp_path)


@pytest.fixture
def log(db):
    store = Store(db)  # migrates the committed store to the tag schema
    yield TagLog(store)
    store.close()


def test_a_tag_is_logged_with_who_when_why_and_the_status_before(log):
    batch = log.apply([A, B], "suspected", "ana", note="same card BIN")
    assert batch.accounts == 2 and log.tags_of(A) == ["suspected"]
    (e,) = log.events(A)
    assert (e.analyst, e.action, e.tag, e.note, e.previous, e.kind) == (
        "ana",
        "add",
        "suspected",
        "same card BIN",
        None,
        "do",
    )
    assert e.at.endswith("Z") and e.batch == batch.id


def test_a_status_replaces_the_other_statuses_and_labels_stay(log):
    log.apply([A], "suspected", "ana")
    log.apply([A], "proxy-pool", "ana")
    log.apply([A], "confirmed", "bo", note="payments agreed")
    assert log.tags_of(A) == ["confirmed", "proxy-pool"]
    last = log.events(A)[-2:]
    assert [(e.action, e.tag, e.previous) for e in last] == [("remove", "suspected", "suspected"),
                                                             ("add", "confirmed", None)]  # fmt: skip


def test_undo_takes_back_a_whole_batch_and_redo_reapplies_it(log):
    log.apply([A], "suspected", "ana")
    log.apply([A, B, C], "confirmed", "ana")
    log.undo("bo")
    assert [log.tags_of(x) for x in (A, B, C)] == [["suspected"], [], []]
    log.redo("bo")
    assert [log.tags_of(x) for x in (A, B, C)] == [["confirmed"]] * 3
    log.undo("bo")
    log.undo("bo")
    assert [log.tags_of(x) for x in (A, B, C)] == [[], [], []]
    with pytest.raises(TagError, match="nothing to undo"):
        log.undo("bo")
    log.redo("bo")  # the first action again
    assert log.tags_of(A) == ["suspected"]
    kinds = [e.kind for e in log.events()]
    assert (kinds.count("do"), kinds.count("undo"), kinds.count("redo")) == (5, 9, 5)  # nothing was ever deleted


def test_a_new_action_ends_what_can_be_redone(log):
    log.apply([A], "suspected", "ana")
    log.undo("ana")
    log.apply([B], "suspected", "ana")
    with pytest.raises(TagError, match="nothing to redo"):
        log.redo("ana")


def test_bad_input_changes_nothing(log):
    with pytest.raises(TagError, match="no such account: nobody"):
        log.apply([A, "nobody"], "suspected", "ana")
    with pytest.raises(TagError, match="a label is one word"):
        log.apply([A], "[bold red]x[/]", "ana")
    log.apply([A], "suspected", "ana")
    with pytest.raises(TagError, match="nothing to change"):
        log.apply([A], "suspected", "ana")
    assert len(log.events()) == 1


def test_tags_survive_re_triage_and_re_ingest(db, log, tmp_path):
    from farmhound.config import load_config
    from farmhound.triage import run_triage
    from loaders.pipeline import ingest

    log.apply([A], "confirmed", "ana")
    run_triage(log.store, load_config(None))
    extra = tmp_path / "more.jsonl"
    extra.write_text(
        '{"request_id": "r-new", "ts": "2026-05-01T00:00:00Z", "account_id": "acct_hostile_1", "prompt": "hi"}\n'
    )
    ingest(log.store, [str(extra)], workers=False)
    assert log.tags_of(A) == ["confirmed"] and len(log.events(A)) == 1


def test_cli_tags_a_cluster_shows_history_and_undoes(db):
    out = cli(
        "tag", "--db", db, "--cluster", 5, "--as", "suspected", "--note", "hostile text", "--analyst", "ana"
    ).output
    assert "do #1 by ana: add suspected on 3 (3 accounts)" in out
    hist = cli("tag", "--db", db, "--history", A).output
    assert "acct_hostile_1: suspected" in hist and "ana  do    add suspected" in hist and "hostile text" in hist
    assert "undo #2" in cli("tag", "--db", db, "--undo", "--analyst", "bo").output
    assert cli_json("info", "--db", db, "--json")["tags"] == 0
    cli("tag", "--db", db, "--redo")
    assert cli_json("info", "--db", db, "--json")["tags"] == 3


def test_cli_refuses_what_it_cannot_do(db):
    assert "no such account" in cli("tag", "--db", db, "nobody", "--as", "suspected", expect=1).output
    assert (
        "is not in the latest triage run"
        in cli("tag", "--db", db, "--cluster", 999, "--as", "cleared", expect=1).output
    )
    cli("tag", "--db", db, A, expect=2)  # no --as
    cli("tag", "--db", db, "--undo", "--redo", expect=2)
    assert "nothing to undo" in cli("tag", "--db", db, "--undo", expect=1).output


def test_the_analyst_comes_from_the_flag_the_environment_the_settings_file_then_the_os(db, tmp_path, monkeypatch):
    import getpass

    from farmhound.store.tags import analyst_name

    settings = tmp_path / "settings.toml"
    monkeypatch.setenv("FARMHOUND_SETTINGS", str(settings))
    monkeypatch.delenv("FARMHOUND_ANALYST", raising=False)
    assert analyst_name() == getpass.getuser()  # no settings file yet
    settings.write_text('analyst = "ana.lopez"\norganisation = "Example AI T&S"\n')
    assert analyst_name() == "ana.lopez"
    monkeypatch.setenv("FARMHOUND_ANALYST", "bo")
    assert analyst_name() == "bo" and analyst_name("cy") == "cy"
    monkeypatch.delenv("FARMHOUND_ANALYST")
    cli("tag", A, "--as", "suspected", "--db", db)
    with Store(db) as s:
        assert TagLog(s).events(A)[-1].analyst == "ana.lopez"
    settings.write_text('analyst = "ana"\nanalist = "typo"\n')
    out = cli("tag", B, "--as", "suspected", "--db", db, expect=1).output
    assert "unknown setting 'analist'" in out and str(settings) in out
