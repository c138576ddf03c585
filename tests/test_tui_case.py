"""Cases in the terminal workbench, driven as an analyst would with Textual's Pilot on a copy of the
committed store: opening a case, adding a cluster, an account, a pivot's accounts and a template
(`C`), notes, status, removal, export, and hostile text shown literally. Every wait is bounded
polling (`tui_waiting.wait_for`).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time

import pytest
from rich.text import Text
from textual.widgets import HelpPanel, Input, Static, TabbedContent, TabPane
from tui_waiting import HOSTILE_PROMPT, HOSTILE_UA, copy_store, wait_for

from farmhound.safe import visible
from farmhound.store import Store
from farmhound.store.cases import CaseBook, CaseError
from tui.app import FarmhoundApp
from tui.case_modals import CasePickModal, ExportModal, FormModal
from tui.screens.account import AccountScreen
from tui.screens.case import CasesScreen
from tui.screens.cluster import ClusterScreen
from tui.screens.pivot import PivotScreen
from tui.screens.templates import TemplatesScreen
from tui.tagging import TagModal
from tui.widgets import PagedTable

SIZE = (160, 45)
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("FARMHOUND_ANALYST", "ana")
    monkeypatch.chdir(tmp_path)  # an export's default folder is under the working directory
    return copy_store(tmp_path)


def with_case(db, name="nightjar", clusters=(3,), description=None, notes=()) -> None:
    """A case made through the core before the app opens (this also migrates the copy to schema 5)."""
    with Store(db) as store:
        book = CaseBook(store)
        book.new(name, "ana", description)
        if clusters:
            book.add_clusters(name, list(clusters), "ana")
        for note in notes:
            book.note(name, note, "ana")


def drive(db, scenario, timeout: float = 60) -> None:
    async def go():
        app = FarmhoundApp(db)
        async with app.run_test(size=SIZE) as pilot:
            await scenario(app, pilot)

    asyncio.run(asyncio.wait_for(go(), timeout))


def table(app, name: str) -> PagedTable:
    return app.screen.query_one(f"#{name}", PagedTable)


def rows(app, name: str) -> list[dict]:
    t = table(app, name)
    return [t.row(i) for i in range(len(t.rows_data))]


def text_of(app, widget_id: str) -> str:
    content = app.screen.query_one(f"#{widget_id}", Static).content
    return content.plain if isinstance(content, Text) else str(content)


def said(app, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


async def typed(pilot, text: str) -> None:
    await pilot.press(*("space" if ch == " " else ch for ch in text))


async def on_screen(pilot, cls):
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, cls), 10, f"{cls.__name__} on top")
    return pilot.app.screen


async def open_cases(pilot) -> CasesScreen:
    await wait_for(pilot, lambda: table(pilot.app, "clusters").loads >= 1, 10, "the triage queue")
    await pilot.press("c")
    return await on_screen(pilot, CasesScreen)


async def case_shown(pilot, name: str) -> None:
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.case is not None and screen.case.name == name, 10, f"case {name} shown")


async def show_tab(pilot, pane: str) -> None:
    tabs = pilot.app.screen.query_one("#case-tabs", TabbedContent)
    await pilot.press(str([p.id for p in tabs.query(TabPane)].index(pane) + 1))
    await wait_for(pilot, lambda: tabs.active == pane, 5, pane)


async def add_to_case(pilot, name: str) -> None:
    """`C`, then type the case's name in the dialog and Enter."""
    await pilot.press("C")
    modal = await on_screen(pilot, CasePickModal)
    modal.query_one("#case-name", Input).value = ""
    await typed(pilot, name)
    await pilot.press("enter")


def events(db, name="nightjar") -> list[tuple[str, str | None]]:
    with Store(db) as store:
        return [(e.action, e.text) for e in CaseBook(store).events(name)]


# -- creating and filling a case -------------------------------------------------------------------


def test_n_opens_a_new_case_with_a_description(db):
    async def scenario(app, pilot):
        screen = await open_cases(pilot)
        await wait_for(pilot, lambda: "No case yet" in text_of(app, "case-summary"), 10, "the empty hint")
        await pilot.press("n")
        await on_screen(pilot, FormModal)
        await typed(pilot, "nightjar")
        await pilot.press("tab")
        await typed(pilot, "payment linked farm")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, 5, "back on the Cases screen")
        await case_shown(pilot, "nightjar")
        assert [r["name"] for r in rows(app, "cases")] == ["nightjar"]
        summary = text_of(app, "case-summary")
        assert summary.startswith("nightjar  open  ·  0 accounts") and "by ana" in summary
        assert "payment linked farm" in summary
        assert said(app, "case nightjar opened")
        await show_tab(pilot, "tab-case-log")
        await wait_for(pilot, lambda: [r["action"] for r in rows(app, "case-log")] == ["new"], 5, "the log")

    drive(db, scenario)


def test_C_on_a_cluster_adds_it_with_its_members_and_the_cases_screen_shows_them(db):
    async def scenario(app, pilot):
        await wait_for(pilot, lambda: table(app, "clusters").loads >= 1, 10, "queue")
        app.open_cluster(3)
        await on_screen(pilot, ClusterScreen)
        await wait_for(pilot, lambda: table(app, "members").row_count == 3, 10, "cluster members")
        members = sorted(r["account_id"] for r in rows(app, "members"))
        await add_to_case(pilot, "nightjar")
        await wait_for(pilot, lambda: said(app, "added 3 accounts, 1 cluster to case nightjar (a new case)"), 10)
        assert isinstance(app.screen, ClusterScreen)
        await pilot.press("c")
        await on_screen(pilot, CasesScreen)
        await case_shown(pilot, "nightjar")
        await wait_for(pilot, lambda: len(rows(app, "case-members")) == 3, 10, "members listed")
        assert sorted(r["account_id"] for r in rows(app, "case-members")) == members
        assert {r["via"] for r in rows(app, "case-members")} == {"cluster 3 (run 1)"}
        assert all(r["requests"] > 0 and r["level"] for r in rows(app, "case-members"))
        await show_tab(pilot, "tab-case-clusters")
        await wait_for(pilot, lambda: len(rows(app, "case-clusters")) == 1, 5, "the cluster")
        cluster = rows(app, "case-clusters")[0]
        assert (cluster["cluster_id"], cluster["run"], cluster["size"]) == (3, 1, 3)
        # Enter on a member opens the account, with the case in its trail
        await show_tab(pilot, "tab-case-members")
        await pilot.press("enter")
        account = await on_screen(pilot, AccountScreen)
        assert account.account_id in members and account.trail[0] == ("case", "nightjar")

    drive(db, scenario)


def test_C_with_marked_rows_adds_only_those_accounts(db):
    async def scenario(app, pilot):
        await wait_for(pilot, lambda: table(app, "clusters").loads >= 1, 10, "queue")
        app.open_cluster(1)
        await on_screen(pilot, ClusterScreen)
        await pilot.press("2")  # the Members tab
        await wait_for(pilot, lambda: app.screen.query("#members"), 10, "the members tab")
        members = table(app, "members")
        await wait_for(pilot, lambda: members.row_count > 3, 10, "cluster members")
        members.focus()
        await pilot.press("space", "down", "space")  # rows 0 and 2
        marked = sorted(members.row(i)["account_id"] for i in (0, 2))
        await add_to_case(pilot, "nightjar")
        await wait_for(pilot, lambda: said(app, "added 2 accounts to case nightjar"), 10)
        with Store(db) as store:
            assert sorted(CaseBook(store).members("nightjar")) == marked
            assert not CaseBook(store).items("nightjar", "cluster")  # the marks, not the cluster

    drive(db, scenario)


def test_C_adds_an_account_a_whole_pivot_and_a_template_to_the_current_case(db):
    with_case(db, clusters=())

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: table(app, "clusters").loads >= 1, 10, "queue")
        app.current_case = "nightjar"
        app.open_account("acct_hostile_1")
        await on_screen(pilot, AccountScreen)
        await pilot.press("C")
        modal = await on_screen(pilot, CasePickModal)
        assert modal.query_one("#case-name", Input).value == "nightjar"  # the case used last is offered
        await pilot.press("enter")
        await wait_for(pilot, lambda: said(app, "added 1 account to case nightjar"), 10)

        # a pivot adds every account with the value, not only the page loaded
        app.open_pivot("email_domain", "outlook.com")
        await on_screen(pilot, PivotScreen)
        await wait_for(pilot, lambda: table(app, "accounts").loads >= 1, 10, "pivot accounts")
        accounts = table(app, "accounts")
        accounts.page_size = 12  # (a page of fewer than 10 rows would load the next one at once)
        accounts.reload()
        await wait_for(pilot, lambda: accounts.more and len(accounts.rows_data) == 12, 10, "one page of 12")
        await pilot.press("C")
        await on_screen(pilot, CasePickModal)
        await pilot.press("enter")
        await wait_for(pilot, lambda: said(app, "added 14 accounts to case nightjar"), 10)

        await pilot.press("escape", "escape")
        await pilot.press("t")
        templates = await on_screen(pilot, TemplatesScreen)
        await wait_for(pilot, lambda: templates.template_id is not None, 10, "a template highlighted")
        await pilot.press("C")
        await on_screen(pilot, CasePickModal)
        await pilot.press("enter")
        await wait_for(pilot, lambda: said(app, "added 1 template to case nightjar"), 10)

    drive(db, scenario)
    with Store(db) as store:
        book = CaseBook(store)
        case = book.get("nightjar")
        assert (case.members, case.clusters, case.templates) == (15, 0, 1)
        vias = {i.via for i in book.items("nightjar", "account")}
        assert vias == {"account", "pivot on email domain outlook.com"}


def test_a_pivot_keeps_its_value_as_it_is_for_via_cut_at_200(db):
    from farmhound.store.cases import Added

    value = "[b]x[/b]\x1b[2J" + "v" * 300

    class Book:  # what the pivot's add hands the store
        def add_accounts(self, case, accounts, analyst, via="account"):
            self.via = via
            return Added()

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: table(app, "clusters").loads >= 1, 10, "queue")
        app.open_pivot("user_agent", value)
        screen = await on_screen(pilot, PivotScreen)
        await wait_for(pilot, lambda: table(app, "accounts").loads >= 1, 10, "pivot accounts")
        book = Book()
        screen.case_target().add(book, "nightjar", "ana")
        assert book.via == "pivot on user agent " + value[:200]

    drive(db, scenario)


def test_a_failed_add_leaves_no_new_case_behind_and_keeps_the_marks(db, monkeypatch):
    real = CaseBook.add_accounts

    def add_then_fail(self, name, accounts, analyst, via="account"):
        real(self, name, accounts, analyst, via)  # written, then the add fails: all of it is undone
        raise CaseError("refused by the test")

    monkeypatch.setattr(CaseBook, "add_accounts", add_then_fail)
    with_case(db, name="kept", clusters=())  # (migrates the copy: the list of cases is readable below)

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: table(app, "clusters").loads >= 1, 10, "queue")
        app.open_cluster(1)
        await on_screen(pilot, ClusterScreen)
        await pilot.press("2")  # the Members tab
        await wait_for(pilot, lambda: app.screen.query("#members"), 10, "the members tab")
        members = table(app, "members")
        await wait_for(pilot, lambda: members.row_count > 3, 10, "cluster members")
        members.focus()
        await pilot.press("space", "space")
        await add_to_case(pilot, "fresh")
        await wait_for(pilot, lambda: said(app, "refused by the test"), 10, "the refusal")
        assert len(members.marked) == 2  # nothing was added: the selection stays

    drive(db, scenario)
    with Store(db) as store:
        assert [c.name for c in CaseBook(store).list()] == ["kept"]


def test_marks_stay_when_the_case_dialog_is_escaped_and_clear_once_added(db):
    marked: list[str] = []

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: table(app, "clusters").loads >= 1, 10, "queue")
        app.open_cluster(1)
        await on_screen(pilot, ClusterScreen)
        await pilot.press("2")  # the Members tab
        await wait_for(pilot, lambda: app.screen.query("#members"), 10, "the members tab")
        members = table(app, "members")
        await wait_for(pilot, lambda: members.row_count > 3, 10, "cluster members")
        members.focus()
        await pilot.press("space", "space")
        marked.extend(sorted(members.row(i)["account_id"] for i in (0, 1)))
        await pilot.press("C")
        await on_screen(pilot, CasePickModal)
        await pilot.press("escape")
        await on_screen(pilot, ClusterScreen)
        assert sorted(members.marked) == marked and "2 marked" in str(members.border_subtitle)
        await add_to_case(pilot, "nightjar")
        await wait_for(pilot, lambda: said(app, "added 2 accounts to case nightjar"), 10)
        await wait_for(pilot, lambda: not members.marked and "marked" not in str(members.border_subtitle), 10,
                       "marks cleared")  # fmt: skip

    drive(db, scenario)
    with Store(db) as store:
        assert sorted(CaseBook(store).members("nightjar")) == marked


# -- notes, status, removal -------------------------------------------------------------------------


def test_note_status_and_delete_are_logged_and_shown(db):
    with_case(db)

    async def scenario(app, pilot):
        await open_cases(pilot)
        await case_shown(pilot, "nightjar")
        await pilot.press("N")
        await on_screen(pilot, FormModal)
        await typed(pilot, "same card BIN on all three")
        await pilot.press("enter")
        await wait_for(pilot, lambda: said(app, "note added to case nightjar"), 10)

        await pilot.press("S")
        await wait_for(pilot, lambda: said(app, "case nightjar: open → review"), 10)
        await wait_for(pilot, lambda: text_of(app, "case-summary").startswith("nightjar  review"), 5, "status")
        assert rows(app, "cases")[0]["status"] == "review"

        await show_tab(pilot, "tab-case-log")
        log = lambda: rows(app, "case-log")  # noqa: E731
        await wait_for(pilot, lambda: [r["action"] for r in log()][:2] == ["status", "note"], 5, "log, newest first")
        assert log()[1]["text"] == "same card BIN on all three" and log()[1]["analyst"] == "ana"

        await show_tab(pilot, "tab-case-members")
        members = table(app, "case-members")
        await wait_for(pilot, lambda: members.row_count == 3, 5, "members")
        second, third = members.row(1)["account_id"], members.row(2)["account_id"]
        await pilot.press("down", "delete")
        await wait_for(pilot, lambda: said(app, f"removed account {second} from case nightjar"), 10)
        await wait_for(pilot, lambda: members.row_count == 2 and not members._loading, 5, "one member fewer")
        assert second not in [r["account_id"] for r in rows(app, "case-members")]
        assert members.row()["account_id"] == third  # the cursor stays in place: on the next member
        await wait_for(pilot, lambda: "2 accounts" in text_of(app, "case-summary"), 5, "summary counts")

    drive(db, scenario)
    assert [a for a, _ in events(db)] == ["new", "add", "add", "note", "status", "remove"]


def test_A_tags_every_member_of_the_case_and_the_members_show_it(db):
    with_case(db)

    async def scenario(app, pilot):
        await open_cases(pilot)
        await case_shown(pilot, "nightjar")
        members = table(app, "case-members")
        await wait_for(pilot, lambda: members.row_count == 3, 10, "members")
        await pilot.press("A")
        await on_screen(pilot, TagModal)
        await pilot.press("enter", "enter")  # "suspected", no note
        await wait_for(pilot, lambda: said(app, "add suspected on 3"), 10, "tagged")
        await wait_for(pilot, lambda: [r["tags"] for r in rows(app, "case-members")] == ["suspected"] * 3, 10)

    drive(db, scenario)


def test_a_case_error_is_a_notice_not_a_crash(db):
    with_case(db)

    async def scenario(app, pilot):
        screen = await open_cases(pilot)
        await case_shown(pilot, "nightjar")
        await pilot.press("n")
        await on_screen(pilot, FormModal)
        await typed(pilot, "nightjar")  # taken
        await pilot.press("enter")
        await wait_for(pilot, lambda: said(app, "a case named 'nightjar' exists already"), 10)
        assert app.screen is screen and app.is_running

    drive(db, scenario)


# -- export ---------------------------------------------------------------------------------------------


def test_x_exports_a_verifiable_case_file_with_progress(db, tmp_path, monkeypatch):
    from farmhound.casefile.export import STEPS
    from farmhound.casefile.verify import verify
    from tui.chrome import TaskBar

    bar: list[tuple[str, bool]] = []  # what the task bar showed: (text, shown)
    real = TaskBar.report

    def report(self, label, fraction):
        real(self, label, fraction)
        bar.append((str(self.content), self.has_class("-running")))

    monkeypatch.setattr(TaskBar, "report", report)

    with_case(db, notes=["BIN 601100 everywhere"])
    out = tmp_path / "shared" / "nightjar"
    settings = tmp_path / "settings.toml"
    settings.write_text('tlp = "red"\norganisation = "Example AI T&S"\n')
    monkeypatch.setenv("FARMHOUND_SETTINGS", str(settings))

    async def scenario(app, pilot):
        await open_cases(pilot)
        await case_shown(pilot, "nightjar")
        await pilot.press("x")
        modal = await on_screen(pilot, ExportModal)
        folder = modal.query_one("#export-out", Input)
        assert folder.value == "cases/nightjar"  # under the working directory
        assert modal.query_one("#export-tlp").value == "red"  # the settings file's default
        folder.value = str(out)
        modal.query_one("#export-zip").value = True
        modal.query_one("#redact-emails").value = True
        folder.focus()
        await pilot.press("enter")
        ended = lambda: said(app, "manifest SHA-256") or said(app, "failed") or said(app, "Not exported")  # noqa: E731
        await wait_for(pilot, ended, 60, "the export to end")
        assert said(app, "manifest SHA-256"), [str(n.message) for n in app._notifications]
        assert app.export_label is None
        await show_tab(pilot, "tab-case-log")
        await wait_for(pilot, lambda: rows(app, "case-log")[0]["action"] == "export", 10, "export logged")

    drive(db, scenario, timeout=90)
    assert (out / "manifest.json").is_file() and out.with_name("nightjar.zip").is_file()
    assert verify(out).ok and verify(out.with_name("nightjar.zip")).ok
    assert "sha256:" in (out / "members.csv").read_text("utf-8-sig")  # emails redacted as asked
    assert '"name": "Example AI T&S"' in (out / "indicators.json").read_text()  # the producer, from settings
    assert bar and all(shown and "export nightjar: " in text and "Esc cancels" in text for text, shown in bar)
    assert any(f"export nightjar: {step}" in text for text, _ in bar for step in STEPS)  # its steps, as they ran


def test_escape_cancels_an_export_and_nothing_is_written(db, tmp_path, monkeypatch):
    import farmhound.store.evidence as evidence

    started = threading.Event()

    def slow_gather(store, name, analyst, progress=None, **kwargs):
        progress("members")
        started.set()
        for _ in range(600):  # until Escape: the next step's progress call raises
            time.sleep(0.05)
            progress("requests")
        raise AssertionError("the export was not cancelled")

    monkeypatch.setattr(evidence, "gather", slow_gather)
    with_case(db)
    out = tmp_path / "shared" / "nightjar"

    async def scenario(app, pilot):
        await open_cases(pilot)
        await case_shown(pilot, "nightjar")
        await pilot.press("x")
        modal = await on_screen(pilot, ExportModal)
        folder = modal.query_one("#export-out", Input)
        folder.value = str(out)
        folder.focus()
        await pilot.press("enter")
        await wait_for(pilot, started.is_set, 20, "the export to start")
        await pilot.press("escape")
        await wait_for(pilot, lambda: said(app, "cancelled: nothing was written"), 20, "the export to stop")
        assert app.export_label is None and app.is_running

    drive(db, scenario, timeout=60)
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_export_to_a_folder_that_exists_says_why_and_writes_nothing(db, tmp_path):
    with_case(db)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")

    async def scenario(app, pilot):
        await open_cases(pilot)
        await case_shown(pilot, "nightjar")
        await pilot.press("x")
        modal = await on_screen(pilot, ExportModal)
        modal.query_one("#export-out", Input).value = str(taken)
        modal.query_one("#export-out", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: said(app, "Not exported:"), 30, "the refusal")
        assert app.export_label is None and isinstance(app.screen, CasesScreen)

    drive(db, scenario)
    assert sorted(p.name for p in taken.iterdir()) == ["keep.txt"]


# -- hostile text, palette, help ---------------------------------------------------------------------


def test_hostile_case_text_is_shown_literally(db):
    with_case(db, description="[bold red]farm[/]\x1b[2J", notes=[HOSTILE_PROMPT])

    async def scenario(app, pilot):
        await wait_for(pilot, lambda: table(app, "clusters").loads >= 1, 10, "queue")
        app.open_pivot("user_agent", HOSTILE_UA)
        await on_screen(pilot, PivotScreen)
        await wait_for(pilot, lambda: table(app, "accounts").loads >= 1, 10, "pivot")
        await add_to_case(pilot, "nightjar")
        await wait_for(pilot, lambda: said(app, "added 3 accounts to case nightjar"), 10)
        await pilot.press("c")
        await on_screen(pilot, CasesScreen)
        await case_shown(pilot, "nightjar")
        summary = text_of(app, "case-summary")
        assert "[bold red]farm[/]\\x1b[2J" in summary
        await wait_for(pilot, lambda: len(rows(app, "case-members")) == 6, 10, "members")
        via = {r["via"] for r in rows(app, "case-members")} - {"cluster 3 (run 1)"}
        assert via == {f"pivot on user agent {HOSTILE_UA}"}  # stored as it is: shown visible, below
        shown_via = {c.plain for i in range(table(app, "case-members").row_count)
                     for c in table(app, "case-members").get_row_at(i) if c.plain.startswith("pivot on")}  # fmt: skip
        assert shown_via == {visible(f"pivot on user agent {HOSTILE_UA}", 60)}
        await show_tab(pilot, "tab-case-log")
        await wait_for(pilot, lambda: any(r["action"] == "note" for r in rows(app, "case-log")), 5, "the note")
        shown = [
            [c.plain for c in table(app, "case-log").get_row_at(i)] for i in range(table(app, "case-log").row_count)
        ]
        note = next(r for r in shown if r[3] == "note")
        assert note[5].startswith("\\x1b[31mIgnore previous instructions\\x1b[0m [reverse]and[/reverse] \\x9b2J")
        for t in app.screen.query(PagedTable):
            for i in range(t.row_count):
                for c in t.get_row_at(i):
                    assert not RAW_CONTROLS.search(c.plain), f"raw control in #{t.id}: {c.plain!r}"
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\u202e" not in svg and "\x9b" not in svg

        # a name with markup is refused, and the refusal shows it as typed
        await pilot.press("n")
        modal = await on_screen(pilot, FormModal)
        modal.query_one("#case-name", Input).value = "[red]x[/red]\x1b"
        await pilot.press("enter")
        await wait_for(pilot, lambda: said(app, "'[red]x[/red]\\x1b': a case name is"), 10, "the refusal")

    drive(db, scenario)


def test_palette_opens_cases_and_f1_explains_the_keys(db):
    async def scenario(app, pilot):
        await wait_for(pilot, lambda: table(app, "clusters").loads >= 1, 10, "queue")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.query(Input), 5, "palette")
        await typed(pilot, "Cases")
        await wait_for(pilot, lambda: "Cases" in str(app.screen.query_one("CommandList").get_option_at_index(0).prompt),
                       5, "Cases offered")  # fmt: skip
        await pilot.press("enter")
        await on_screen(pilot, CasesScreen)
        await wait_for(pilot, lambda: app.focused is table(app, "cases"), 5, "the list of cases focused")
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen.query(HelpPanel), 5, "help")
        help_text = app.focused.HELP
        for key in ("**n**", "**N**", "**S**", "**x**", "**Delete**", "**C**"):
            assert key in help_text

    drive(db, scenario)


def test_cases_screen_on_a_schema_4_store_migrates_it(db):
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "4"

    async def scenario(app, pilot):
        await open_cases(pilot)
        await wait_for(pilot, lambda: table(app, "cases").loads >= 1, 10, "the (empty) list of cases")
        assert table(app, "cases").row_count == 0

    drive(db, scenario)
