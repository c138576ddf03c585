"""Cases: creating, adding accounts / clusters / templates / tagged accounts, removing, notes,
status, the case log, survival across re-triage, and `farmhound case` on the command line.
Runs on a copy of the committed UI store (its cluster 5 holds three accounts with hostile text)."""

from __future__ import annotations

import pytest
from helpers import cli, cli_json
from tui_waiting import HOSTILE_ACCOUNTS, copy_store

from farmhound.store import Store
from farmhound.store.cases import CaseBook, CaseError, pattern_key
from farmhound.store.tags import TagLog


@pytest.fixture
def db(tmp_path):
    return copy_store(tmp_path)


@pytest.fixture
def store(db):
    s = Store(db)
    yield s
    s.close()


@pytest.fixture
def book(store):
    return CaseBook(store)


def test_a_new_case_is_open_and_logged(book):
    case = book.new("Nightjar 2026-11", "ana", "payment-linked farm")
    assert (case.name, case.status, case.analyst, case.members) == ("Nightjar 2026-11", "open", "ana", 0)
    (e,) = book.events("nightjar 2026-11")  # names match regardless of case
    assert (e.action, e.analyst, e.text) == ("new", "ana", "payment-linked farm")


@pytest.mark.parametrize("name", ["", "   ", "../etc", "[bold]x[/]", "a" * 65, "-rf", "x\x1b[2J"])
def test_bad_case_names_are_refused(book, name):
    with pytest.raises(CaseError):
        book.new(name, "ana")


def test_a_name_is_taken_once(book):
    book.new("nightjar", "ana")
    with pytest.raises(CaseError, match="exists already"):
        book.new("NIGHTJAR", "bo")


def test_adding_a_cluster_adds_its_members_and_keeps_it_as_it_was(book, store):
    book.new("nightjar", "ana")
    added = book.add_clusters("nightjar", [5], "ana")
    assert (added.accounts, added.clusters) == (3, 1)
    assert sorted(book.members("nightjar")) == sorted(HOSTILE_ACCOUNTS)
    (cluster,) = book.items("nightjar", "cluster")
    run = store.conn.execute("SELECT max(id) FROM triage_runs").fetchone()[0]
    assert cluster.key == f"run {run} cluster 5"
    assert cluster.detail["size"] == 3 and cluster.detail["reasons"]
    members = book.items("nightjar", "account")
    assert {m.via for m in members} == {f"cluster 5 (run {run})"}
    # again: nothing new, and the log says so only once
    assert str(book.add_clusters("nightjar", [5], "bo")) == "nothing new"
    assert [e.action for e in book.events("nightjar")] == ["new", "add", "add"]


def test_unknown_clusters_templates_and_accounts_are_refused_whole(book):
    book.new("nightjar", "ana")
    with pytest.raises(CaseError, match="cluster 999"):
        book.add_clusters("nightjar", [5, 999], "ana")
    with pytest.raises(CaseError, match="template 99999"):
        book.add_templates("nightjar", [99999], "ana")
    with pytest.raises(CaseError, match="no such account: nobody"):
        book.add_accounts("nightjar", [HOSTILE_ACCOUNTS[0], "nobody"], "ana")
    assert book.get("nightjar").members == 0  # nothing half-added


def test_templates_are_kept_by_the_hash_of_their_pattern(book, store):
    book.new("nightjar", "ana")
    tid, pattern = store.conn.execute("SELECT id, pattern FROM templates ORDER BY id LIMIT 1").fetchone()
    assert book.add_templates("nightjar", [tid], "ana").templates == 1
    (item,) = book.items("nightjar", "template")
    assert item.key == pattern_key(pattern) and item.detail["pattern"] == pattern


def test_adding_tagged_accounts(book, store):
    TagLog(store).apply(HOSTILE_ACCOUNTS[:2], "confirmed", "ana")
    book.new("nightjar", "ana")
    assert book.add_tagged("nightjar", "confirmed", "ana").accounts == 2
    assert {i.via for i in book.items("nightjar", "account")} == {"tagged confirmed"}
    with pytest.raises(CaseError, match="no account is tagged"):
        book.add_tagged("nightjar", "cleared", "ana")


def test_remove_note_and_status_are_logged_in_order(book):
    book.new("nightjar", "ana")
    book.add_accounts("nightjar", HOSTILE_ACCOUNTS, "ana")
    assert book.remove("nightjar", "account", [HOSTILE_ACCOUNTS[0]], "bo") == 1
    book.note("nightjar", "BIN 666666 is prepaid", "bo")
    book.set_status("nightjar", "review", "cy")
    with pytest.raises(CaseError, match="review already"):
        book.set_status("nightjar", "review", "cy")
    with pytest.raises(CaseError, match="status is one of"):
        book.set_status("nightjar", "done", "cy")
    with pytest.raises(CaseError, match="none of these"):
        book.remove("nightjar", "account", ["nobody"], "bo")
    log = [(e.action, e.analyst, e.keys, e.text) for e in book.events("nightjar")]
    assert log[1:] == [
        ("add", "ana", HOSTILE_ACCOUNTS, "account"),
        ("remove", "bo", [HOSTILE_ACCOUNTS[0]], None),
        ("note", "bo", [], "BIN 666666 is prepaid"),
        ("status", "cy", [], "review"),
    ]
    assert book.get("nightjar").status == "review" and book.get("nightjar").members == 2


def test_cases_survive_re_triage(db, book, store):
    book.new("nightjar", "ana")
    book.add_clusters("nightjar", [5], "ana")
    store.close()
    cli("triage", "--db", db)
    with Store(db) as again:
        assert sorted(CaseBook(again).members("nightjar")) == sorted(HOSTILE_ACCOUNTS)
        assert len(CaseBook(again).items("nightjar", "cluster")) == 1


def test_the_case_commands(db):
    cli("case", "new", "nightjar", "--note", "CoT harvesting", "--analyst", "ana", "--db", db)
    out = cli("case", "add", "nightjar", "--cluster", "5", "--analyst", "ana", "--db", db).output
    assert "added 3 accounts, 1 cluster" in out and "it holds 3 accounts" in out
    cli("case", "note", "nightjar", "prepaid BIN", "--analyst", "bo", "--db", db)
    cli("case", "status", "nightjar", "review", "--analyst", "bo", "--db", db)
    cli("case", "remove", "nightjar", HOSTILE_ACCOUNTS[0], "--db", db)
    (listed,) = cli_json("case", "list", "--json", "--db", db)
    assert (listed["name"], listed["status"], listed["members"], listed["clusters"]) == ("nightjar", "review", 2, 1)
    shown = cli("case", "show", "nightjar", "--db", db).output
    assert "prepaid BIN" in shown and "status → review" in shown
    assert f"remove 1 account: {HOSTILE_ACCOUNTS[0]}" in shown
    assert cli_json("info", "--json", "--db", db)["cases"] == 1


def test_case_command_errors_name_the_cause(db):
    assert "no case named 'ghost'" in cli("case", "add", "ghost", "--cluster", "5", "--db", db, expect=1).output
    assert cli("case", "add", "ghost", "--db", db, expect=2).exit_code == 2  # nothing to add: usage error
    cli("case", "new", "nightjar", "--db", db)
    assert "exists already" in cli("case", "new", "nightjar", "--db", db, expect=1).output


def test_hostile_text_in_cases_is_shown_literally(db):
    cli("case", "new", "nightjar", "--note", "[bold red]x[/] \x1b]52;c;aGk=\x07", "--db", db)
    out = cli("case", "show", "nightjar", "--db", db).output
    assert "\x1b" not in out and "\x07" not in out and "[bold red]x[/]" in out and "\\x1b]52" in out


def test_an_add_that_is_partly_refused_adds_nothing(db):
    cli("case", "new", "nightjar", "--db", db)
    out = cli("case", "add", "nightjar", "--account", HOSTILE_ACCOUNTS[0], "--cluster", "999", "--db", db, expect=1).output
    assert "cluster 999 is not in the latest triage run" in out
    (listed,) = cli_json("case", "list", "--json", "--db", db)
    assert listed["members"] == 0  # the good account was not added either
    with Store(db) as s:
        assert [e.action for e in CaseBook(s).events("nightjar")] == ["new"]


def test_the_cli_offers_the_stores_case_statuses():
    from farmhound.cli_case import CASE_STATUSES
    from farmhound.store.cases import STATUSES

    assert CASE_STATUSES == STATUSES


@pytest.mark.parametrize("written, level", [("AMBER", "amber"), ("TLP:Amber+Strict", "amber+strict"),
                                            ("white", "clear"), (" red ", "red")])  # fmt: skip
def test_the_settings_tlp_is_read_as_people_write_it(tmp_path, monkeypatch, written, level):
    from farmhound.settings import load_settings

    path = tmp_path / "settings.toml"
    path.write_text(f'tlp = "{written}"\n')
    monkeypatch.setenv("FARMHOUND_SETTINGS", str(path))
    assert load_settings()["tlp"] == level


def test_a_settings_tlp_that_is_no_level_is_an_error_not_a_weaker_marking(tmp_path, monkeypatch):
    from farmhound.settings import SettingsError, load_settings

    path = tmp_path / "settings.toml"
    path.write_text('tlp = "orange"\n')
    monkeypatch.setenv("FARMHOUND_SETTINGS", str(path))
    with pytest.raises(SettingsError, match="tlp 'orange' is not one of clear, green"):
        load_settings()
