"""The terminal workbench (`tui/`) driven as an analyst would, with Textual's Pilot on a copy of the
committed store tests/fixtures/tui.db. Every wait is bounded polling (`tui_waiting.wait_for`).

The hostile-text tests check that what an adversary wrote (terminal escapes, Rich markup, bidi
overrides) reaches the screen literally; the snapshot tests pin four screens' looks.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, HelpPanel, Static, TabbedContent, TabPane
from textual.worker import WorkerState
from tui_waiting import HOSTILE_EMAIL, HOSTILE_UA, copy_store, wait_for

from farmhound.cli import main
from farmhound.safe import visible
from farmhound.store import Store
from tui.app import FarmhoundApp
from tui.chrome import TaskBar
from tui.screens.account import AccountScreen
from tui.screens.cluster import ClusterScreen
from tui.screens.pivot import PivotScreen
from tui.screens.sources import SourcesScreen
from tui.screens.templates import TemplatesScreen
from tui.screens.triage import TriageScreen
from tui.widgets import FilterBar, PagedTable

SIZE = (160, 45)
SAMPLE_LOGS = Path(__file__).resolve().parents[1] / "sample_logs"
BIG_ACCOUNT = "acct_85e46914"  # 349 requests: more than one page
# What must never reach a cell: ESC, BEL, 8-bit CSI, bidi override, zero-width space, other C0/C1
# (a Static may hold the app's own line breaks).
RAW_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
RAW_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def db(tmp_path):
    return copy_store(tmp_path)


def drive(db, scenario, timeout: float = 60, **app_kw) -> None:
    """Run `scenario(app, pilot)` inside a headless app on `db`."""

    async def go():
        app = FarmhoundApp(db, **app_kw)
        async with app.run_test(size=SIZE) as pilot:
            await scenario(app, pilot)

    asyncio.run(asyncio.wait_for(go(), timeout))


def table(app, name: str) -> PagedTable:
    return app.screen.query_one(f"#{name}", PagedTable)


def static_text(app, name: str) -> str:
    content = app.screen.query_one(f"#{name}", Static).content
    return content.plain if isinstance(content, Text) else str(content)


async def ready(pilot, name: str, loads: int = 1, timeout: float = 10) -> PagedTable:
    """The table `#name` of the current screen, once it has shown `loads` pages."""
    await wait_for(pilot, lambda: table(pilot.app, name).loads >= loads, timeout, f"table #{name} loaded")
    return table(pilot.app, name)


async def on_screen(pilot, cls, timeout: float = 10):
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, cls), timeout, f"{cls.__name__} on top")
    return pilot.app.screen


async def panels(pilot, *names: str) -> None:
    await wait_for(pilot, lambda: set(names) <= pilot.app.screen.loaded, 10, f"panels {names}")


async def show_tab(pilot, tabs: str, pane: str) -> None:
    """Open the tab of `pane` with its number key, as the analyst would."""
    panes = lambda: [p.id for p in pilot.app.screen.query_one(f"#{tabs}", TabbedContent).query(TabPane)]  # noqa: E731
    await wait_for(pilot, lambda: pane in panes(), 5, f"tab {pane} composed")
    await pilot.press(str(panes().index(pane) + 1))
    await wait_for(pilot, lambda: pilot.app.screen.query_one(f"#{tabs}", TabbedContent).active == pane, 5, pane)


async def open_cluster_screen(app, pilot, cluster_id: int) -> ClusterScreen:
    await ready(pilot, "clusters")
    app.open_cluster(cluster_id)
    screen = await on_screen(pilot, ClusterScreen)
    await ready(pilot, "members")
    return screen


def cells(t: PagedTable) -> list[list[str]]:
    return [[c.plain if isinstance(c, Text) else str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


# -- triage queue -------------------------------------------------------------------------------


def test_triage_lists_clusters_in_score_order(db):
    async def scenario(app, pilot):
        t = await ready(pilot, "clusters")
        assert isinstance(app.screen, TriageScreen)
        assert [t.row(i)["id"] for i in range(t.row_count)] == [3, 1, 5, 4, 2]
        scores = [r["score"] for r in map(t.row, range(t.row_count))]
        assert scores == sorted(scores, reverse=True)
        assert t.border_subtitle == "5 rows"
        assert "5 candidate farms" in static_text(app, "run-summary")

    drive(db, scenario)


def test_enter_opens_the_first_cluster_with_its_members(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        await pilot.press("enter")
        screen = await on_screen(pilot, ClusterScreen)
        assert screen.cluster_id == 3
        members = await ready(pilot, "members")
        assert screen.query_one("#cluster-tabs", TabbedContent).active == "tab-members"
        assert members.row_count == 3
        assert {members.row(i)["cluster"] for i in range(3)} == {3}
        assert "cluster 3" in static_text(app, "cluster-summary")

    drive(db, scenario)


def test_cluster_tabs_show_score_waterfall_shared_values_and_templates(db):
    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 1)
        await panels(pilot, "_templates")

        await show_tab(pilot, "cluster-tabs", "tab-score")
        score = await ready(pilot, "score")
        rows = [score.row(i) for i in range(score.row_count)]
        assert rows and rows[0]["code"] == "S16"
        running = 0.0
        for r in rows:  # the running total adds each signal's points in order
            running += r["points"]
            assert r["total"] == pytest.approx(running, abs=1e-3)

        await show_tab(pilot, "cluster-tabs", "tab-shared")
        shared = await ready(pilot, "shared")
        assert shared.row_count == shared.page_size and shared.more  # 139 shared values, paged
        counts = [shared.row(i)["members"] for i in range(shared.row_count)]
        assert counts == sorted(counts, reverse=True) and min(counts) >= 2

        await show_tab(pilot, "cluster-tabs", "tab-templates")
        templates = await ready(pilot, "templates")
        assert templates.row_count > 0
        assert all(templates.row(i)["members"] >= 1 for i in range(templates.row_count))

    drive(db, scenario)


def test_number_keys_switch_tabs_and_a_hidden_tab_loads_when_opened(db):
    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 1)
        tabs = app.screen.query_one("#cluster-tabs", TabbedContent)
        assert tabs.active == "tab-members"
        assert table(app, "shared").loads == 0  # not loaded while hidden
        await pilot.press("3")
        await wait_for(pilot, lambda: tabs.active == "tab-shared", what="the Shared tab")
        shared = await ready(pilot, "shared")
        assert app.focused is shared and shared.row_count > 0
        await pilot.press("1")
        await wait_for(pilot, lambda: tabs.active == "tab-score", what="the Score tab")
        assert (await ready(pilot, "score")).row_count > 0

    drive(db, scenario)


def test_enter_on_a_shared_value_pivots_with_a_breadcrumb(db):
    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 3)
        await show_tab(pilot, "cluster-tabs", "tab-shared")
        shared = await ready(pilot, "shared")
        first = shared.row(0)
        await pilot.press("enter")
        pivot = await on_screen(pilot, PivotScreen)
        assert (pivot.kind, pivot.value) == (first["kind"], first["value"])
        crumb = static_text(app, "breadcrumb")
        assert crumb.startswith("trail: cluster 3 › ")
        assert crumb.endswith(visible(first["value"], 48))
        accounts = await ready(pilot, "accounts")
        assert accounts.row_count == first["accounts"]

    drive(db, scenario)


def test_two_step_pivot_and_escape_walks_back_the_trail(db):
    async def scenario(app, pilot):
        cluster = await open_cluster_screen(app, pilot, 3)
        await show_tab(pilot, "cluster-tabs", "tab-shared")
        await ready(pilot, "shared")
        await pilot.press("enter")
        first = await on_screen(pilot, PivotScreen)
        await panels(pilot, "_facets")
        facets = await ready(pilot, "facets")
        facet = facets.row(0)
        assert (facet["kind"], facet["value"]) != (first.kind, first.value)  # the pivot value is excluded
        facets.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not first and isinstance(app.screen, PivotScreen), 5, "2nd pivot")
        second = app.screen
        assert (second.kind, second.value) == (facet["kind"], facet["value"])
        assert [k for k, _ in second.trail] == ["cluster", first.kind, facet["kind"]]
        assert static_text(app, "breadcrumb").count(" › ") == 2

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is first, 5, "back to the first pivot")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is cluster, 5, "back to the cluster")
        await pilot.press("escape")
        await on_screen(pilot, TriageScreen)
        await pilot.press("escape")  # the queue is the bottom: Escape does not leave it
        await pilot.pause()
        assert isinstance(app.screen, TriageScreen)

    drive(db, scenario)


def test_account_from_members_shows_profile_and_c_opens_its_cluster(db):
    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 1)
        account_id = table(app, "members").row(0)["account_id"]
        await pilot.press("enter")
        screen = await on_screen(pilot, AccountScreen)
        assert screen.account_id == account_id
        await wait_for(pilot, lambda: account_id in static_text(app, "profile"), 5, "profile")
        assert "cluster 1" in static_text(app, "profile")
        assert static_text(app, "breadcrumb") == f"trail: cluster 1 › account {account_id}"
        await ready(pilot, "shares")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen) and app.screen is not screen, 5, "cluster")
        assert app.screen.cluster_id == 1
        assert len(app.screen_stack) == 5  # default, queue, cluster, account, cluster

    drive(db, scenario)


def test_templates_screen_compares_two_prompts_and_brackets_change_the_pair(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        await pilot.press("t")
        screen = await on_screen(pilot, TemplatesScreen)
        await ready(pilot, "templates")
        await panels(pilot, "_examples")
        await ready(pilot, "template-accounts")
        assert static_text(app, "template-pattern").startswith(f"template {screen.template_id}: ")
        n = len(screen.examples)
        assert n >= 3
        a, b = static_text(app, "example-a"), static_text(app, "example-b")
        assert a.startswith(f"prompt 1 of {n}\n") and b.startswith(f"prompt 2 of {n}\n")
        assert a.split("\n", 1)[1] != b.split("\n", 1)[1]
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: static_text(app, "example-a").startswith(f"prompt 2 of {n}"), 5, "next pair")
        assert static_text(app, "example-b").startswith(f"prompt 3 of {n}\n")
        assert static_text(app, "example-a").split("\n", 1)[1] == b.split("\n", 1)[1]
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: static_text(app, "example-a").startswith(f"prompt {n} of {n}"), 5, "wraps")

    drive(db, scenario)


def test_sources_screen_lists_files_hashes_and_the_quarantined_row(db):
    with sqlite3.connect(db) as conn:
        want = conn.execute("SELECT path, sha256 FROM sources ORDER BY id").fetchall()

    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        await pilot.press("i")
        await on_screen(pilot, SourcesScreen)
        sources = await ready(pilot, "sources")
        assert [(sources.row(i)["path"], sources.row(i)["sha256"]) for i in range(2)] == want
        assert sources.row_count == 2
        shown = cells(sources)
        for (path, sha), row in zip(want, shown, strict=True):  # the table cuts the hash at 60 characters
            assert path in row and any(c.rstrip("…") and sha.startswith(c.rstrip("…")) for c in row)
        quarantine = await ready(pilot, "quarantine")
        assert quarantine.row_count == 1
        assert quarantine.row(0)["reason"] == "invalid JSON"
        await wait_for(pilot, lambda: "invalid JSON 1" in static_text(app, "quarantine-summary"), 5, "summary")
        # moving the cursor shows that source's path and full hash, and only its quarantined rows
        await pilot.press("down")
        await wait_for(pilot, lambda: f"sha256 {want[1][1]}" in static_text(app, "source-detail"), 5, "detail 2")
        assert static_text(app, "source-detail").startswith(want[1][0])
        await wait_for(pilot, lambda: quarantine.title == "Quarantined rows of source 2" and not quarantine._loading
                       and quarantine.row_count == 0, 5, "source 2 has no quarantined row")  # fmt: skip
        await pilot.press("up")
        await wait_for(pilot, lambda: f"sha256 {want[0][1]}" in static_text(app, "source-detail"), 5, "detail 1")
        await wait_for(pilot, lambda: quarantine.title == "Quarantined rows of source 1" and not quarantine._loading
                       and quarantine.row_count == 1, 5, "source 1's quarantined row")  # fmt: skip


def test_sources_detail_agrees_with_the_quarantine_table_when_reasons_load_last(db, monkeypatch):
    """Opening the sources screen, the detail line and the quarantine table must describe the
    same thing, whichever of the two background loads finishes first."""
    import threading

    from farmhound.store.investigate import Investigation

    real = Investigation.quarantine_reasons
    highlighted = threading.Event()

    def late_reasons(self):  # the summary query finishes after the first source is highlighted
        highlighted.wait(5)
        return real(self)

    monkeypatch.setattr(Investigation, "quarantine_reasons", late_reasons)

    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        await pilot.press("i")
        screen = await on_screen(pilot, SourcesScreen)
        quarantine = table(app, "quarantine")
        await wait_for(pilot, lambda: quarantine.title == "Quarantined rows of source 1", 5, "first source highlighted")
        highlighted.set()
        await panels(pilot, "_reasons")
        await wait_for(pilot, lambda: not quarantine._loading, 5, "quarantine idle")
        assert screen.query_one("#sources", PagedTable).cursor_row == 0
        detail = static_text(app, "source-detail")
        assert detail.startswith("sample_logs/requests.jsonl\nsha256 "), (
            f"the table shows source 1's quarantined rows but the detail line says {detail!r}"
        )

    drive(db, scenario)


# -- table keys: filter, sort, paging -------------------------------------------------------------


def test_slash_filter_narrows_rows_and_escape_clears_it(db):
    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 1)
        members = table(app, "members")
        total = members.row_count
        assert total == 14
        await pilot.press("slash")
        bar = app.screen.query_one(FilterBar)
        await wait_for(pilot, lambda: app.focused is bar and bar.display, 5, "filter bar focused")
        loads = members.loads
        await pilot.press(*"outlook")
        await wait_for(pilot, lambda: members.search == "outlook" and members.loads > loads
                       and not members._loading, 5, "filtered")  # fmt: skip
        await wait_for(pilot, lambda: 0 < members.row_count < total, 5, "fewer rows")
        for row in cells(members):
            assert any("outlook" in c.lower() for c in row)
        assert "filter “outlook”" in members.border_subtitle
        await pilot.press("escape")
        await wait_for(pilot, lambda: members.row_count == total and members.search == "", 5, "filter cleared")
        assert not bar.display and app.focused is members
        assert isinstance(app.screen, ClusterScreen)  # Escape cleared the filter, it did not go back

    drive(db, scenario)


def test_a_filter_with_markup_is_shown_as_typed_in_the_table_border(db):
    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 1)
        members = table(app, "members")
        members.set_search("[B]x[$y][/b]")
        await wait_for(pilot, lambda: members.search and not members._loading, 5, "filtered")
        assert "filter “[B]x[$y][/b]”" in members._border_subtitle.plain

    drive(db, scenario)


def test_filter_enter_keeps_the_filter(db):
    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 1)
        members = table(app, "members")
        await pilot.press("slash", *"outlook", "enter")
        await wait_for(pilot, lambda: members.search == "outlook" and 0 < members.row_count < 14, 5, "kept")
        assert app.focused is members
        assert not app.screen.query_one(FilterBar).display

    drive(db, scenario)


def test_greater_than_picks_the_sort_column_and_s_sorts_by_it_then_reverses(db):
    async def scenario(app, pilot):
        t = await ready(pilot, "clusters")
        column = lambda name: [t.row(i)[name] for i in range(t.row_count)]  # noqa: E731
        assert t.sort_column == 0  # "#"
        await pilot.press("s")
        await ready(pilot, "clusters", 2)
        assert column("id") == [5, 4, 3, 2, 1] and str(t.columns["id"].label).endswith("↓")
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")  # "#", level, score, accounts
        assert t.columns_spec[t.sort_column].name == "size"
        assert t.columns["size"].label.spans  # the picked column is marked (underlined)
        await pilot.press("s")
        await ready(pilot, "clusters", 3)
        sizes = column("size")
        assert sizes == sorted(sizes, reverse=True)  # not the score order: 104, 24, 30, 3, 40
        assert str(t.columns["size"].label).endswith("↓") and not str(t.columns["id"].label).strip().endswith("↓")
        await pilot.press("s")
        await ready(pilot, "clusters", 4)
        assert column("size") == sorted(sizes) and str(t.columns["size"].label).endswith("↑")
        await pilot.press("less_than_sign")
        assert t.columns_spec[t.sort_column].name == "score"

    drive(db, scenario)


def test_moving_to_the_end_loads_the_next_page(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        app.open_account(BIG_ACCOUNT)
        await on_screen(pilot, AccountScreen)
        await show_tab(pilot, "account-tabs", "tab-requests")
        requests = await ready(pilot, "requests")
        size = requests.page_size
        assert size < 349 and len(requests.rows_data) == size and requests.more
        assert requests.border_subtitle == f"{size} of >{size}"
        assert app.focused is requests
        pages = 1
        while requests.more:  # G: to the last loaded row, which loads the next page
            await pilot.press("G")
            pages += 1
            await ready(pilot, "requests", pages)
            assert len(requests.rows_data) == min(pages * size, 349)
        assert pages == -(-349 // size)
        assert len(requests.rows_data) == requests.row_count == 349
        assert not requests.more and requests.border_subtitle == "349 rows"
        times = [r[0] for r in requests.rows_data]
        assert times == sorted(times, reverse=True)  # newest first, no page out of order

    drive(db, scenario)


# -- the job: re-run and cancel -------------------------------------------------------------------


def _job_done(app) -> bool:
    return app.job is not None and app.job.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


@pytest.fixture
def progress_log(monkeypatch):
    """What the task bar showed: (label, percent, bar visible) at every report."""
    log: list[tuple[str, float, bool]] = []
    real = TaskBar.report

    def report(self, label, fraction):
        real(self, label, fraction)
        log.append((label, round(100 * fraction, 1), self.has_class("-running")))

    monkeypatch.setattr(TaskBar, "report", report)
    return log


def test_r_reruns_triage_with_progress_and_reloads_the_queue(db, progress_log):
    async def scenario(app, pilot):
        t = await ready(pilot, "clusters")
        bar = app.screen.query_one(TaskBar)
        assert not bar.has_class("-running")
        loads = t.loads
        await pilot.press("r")
        assert app.job is not None and app.job.name == "triage"
        await wait_for(pilot, lambda: _job_done(app), 60, "triage job to finish")
        assert app.job.state == WorkerState.SUCCESS, f"the job failed: {app.job.error!r}"
        assert app.job.result == "done"
        await wait_for(pilot, lambda: not bar.has_class("-running"), 5, "task bar hidden")
        await wait_for(pilot, lambda: t.loads > loads, 5, "queue reloaded")
        assert t.row_count == 5
        assert app.inv.run().id == 2
        assert any("Triage finished." in str(n.message) for n in app._notifications)

    drive(db, scenario)
    assert progress_log[0] == ("triage", 0.0, True)  # shown at once
    assert all(visible for _, _, visible in progress_log)
    assert any(label.startswith("triage: ") for label, _, _ in progress_log)  # phases reported
    percents = [p for _, p, _ in progress_log]
    assert percents == sorted(percents)


def test_a_rerun_closes_screens_that_showed_the_previous_results(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        await open_cluster_screen(app, pilot, 3)
        app.action_rerun()
        assert app.screen.query_one(TaskBar).has_class("-running")  # the job shows on every screen
        await wait_for(pilot, lambda: _job_done(app), 60, "triage job to finish")
        await wait_for(pilot, lambda: isinstance(app.screen, TriageScreen), 5, "back on the queue")
        assert len(app.screen_stack) == 2
        await pilot.pause()
        assert any("1 open screen(s) closed" in str(n.message) for n in app._notifications)

    drive(db, scenario)


def test_a_screen_asked_for_three_times_in_a_row_opens_once(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        for _ in range(3):  # what keys repeated faster than a screen mounts ask for
            app.open_cluster(1)
        await on_screen(pilot, ClusterScreen)
        await ready(pilot, "members")
        assert sum(isinstance(s, ClusterScreen) for s in app.screen_stack) == 1

    drive(db, scenario)


def test_notifications_show_markup_and_escapes_literally(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        app.say("triage failed: [/evil] [@click=app.quit]x[/] \x1b]0;title\x07")
        await pilot.pause()
        message = str(list(app._notifications)[-1].message)
        assert "[/evil] [@click=app.quit]x[/] \\x1b]0;title\\x07" in message
        assert app.is_running  # a closing tag with no opening one did not crash the app

    drive(db, scenario)


def test_an_empty_store_says_how_to_load_and_r_does_not_start_a_job(tmp_path):
    empty = tmp_path / "empty.db"
    Store(empty).close()

    async def scenario(app, pilot):
        await on_screen(pilot, TriageScreen)
        await wait_for(pilot, lambda: "holds no requests" in static_text(app, "run-summary"), 5, "hint")
        await pilot.press("r")
        assert app.job is None
        assert any("holds no requests" in str(n.message) for n in app._notifications)

    drive(empty, scenario)


@pytest.fixture(scope="session")
def big_store(tmp_path_factory) -> Path:
    """A triaged store big enough (~100k requests, triage takes seconds) to cancel a re-run
    while it works."""
    from farmhound.config import load_config
    from farmhound.sample import generate
    from farmhound.triage import run_triage
    from loaders.pipeline import ingest

    tmp = tmp_path_factory.mktemp("big")
    generate(tmp / "logs", scale=8, seed=7)
    store = Store(tmp / "big.db")
    ingest(store, [str(tmp / "logs" / "requests.jsonl"), str(tmp / "logs" / "accounts.csv")], workers=False)
    run_triage(store, load_config(None))
    store.close()
    return tmp / "big.db"


def test_escape_on_the_queue_cancels_a_running_triage(big_store):
    with sqlite3.connect(big_store) as conn:
        clusters = conn.execute("SELECT count(*) FROM clusters").fetchone()[0]
    assert clusters > 0

    async def scenario(app, pilot):
        t = await ready(pilot, "clusters")
        await pilot.press("r")
        bar = app.screen.query_one(TaskBar)
        label = lambda: str(bar.content)  # noqa: E731
        await wait_for(pilot, lambda: re.search(r"triage: (templates|signals|linking)", label()), 30, "triage at work")
        await pilot.press("escape")
        await wait_for(pilot, lambda: _job_done(app), 30, "triage job to end")
        assert app.job.state == WorkerState.SUCCESS, f"the job failed: {app.job.error!r}"
        assert app.job.result == "cancelled"
        await wait_for(pilot, lambda: not bar.has_class("-running"), 5, "task bar hidden")
        assert any("Cancelled" in str(n.message) for n in app._notifications)
        assert isinstance(app.screen, TriageScreen)
        await wait_for(pilot, lambda: t.row_count > 0 and not t._loading, 5, "queue still listed")
        assert app.inv.run().id == 1  # the previous results stand

    drive(big_store, scenario)
    with sqlite3.connect(big_store) as conn:
        assert conn.execute("SELECT count(*) FROM clusters").fetchone()[0] == clusters
        assert conn.execute("SELECT count(*) FROM triage_runs WHERE finished_at IS NOT NULL").fetchone()[0] == 1


def test_escape_right_after_r_leaves_a_consistent_store(db):
    """Ungated: the tiny store may finish before Escape lands; either way the queue stays whole."""

    async def scenario(app, pilot):
        t = await ready(pilot, "clusters")
        await pilot.press("r", "escape")
        await wait_for(pilot, lambda: _job_done(app), 60, "triage job to end")
        assert app.job.state == WorkerState.SUCCESS, f"the job failed: {app.job.error!r}"
        assert app.job.result in ("cancelled", "done")
        await wait_for(pilot, lambda: t.row_count == 5 and not t._loading, 5, "queue")
        assert isinstance(app.screen, TriageScreen)

    drive(db, scenario)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM clusters").fetchone()[0] == 5
        assert conn.execute("SELECT count(*) FROM account_scores WHERE cluster_id IS NOT NULL").fetchone()[0] > 0


# -- command palette, help ---------------------------------------------------------------------


async def _palette_pick(pilot, query: str, expect: str) -> None:
    await pilot.press("ctrl+p")
    await on_screen(pilot, CommandPalette)
    await pilot.press(*query)

    def top_hit():
        options = pilot.app.screen.query_one(CommandList)
        prompt = options.get_option_at_index(options.highlighted).prompt
        return expect in (prompt.plain if hasattr(prompt, "plain") else str(prompt))

    await wait_for(pilot, top_hit, 5, f"palette offers {expect!r}")
    await pilot.press("enter")


def test_palette_templates_opens_the_templates_screen(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        await _palette_pick(pilot, "Templates", "Templates")
        await on_screen(pilot, TemplatesScreen)

    drive(db, scenario)


def test_palette_offers_an_account_by_id_prefix(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        await _palette_pick(pilot, "acct_hostile_2", "Account acct_hostile_2")
        screen = await on_screen(pilot, AccountScreen)
        assert screen.account_id == "acct_hostile_2"

    drive(db, scenario)


def test_f1_toggles_the_help_panel(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        assert not app.screen.query(HelpPanel)
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen.query(HelpPanel), 5, "help panel shown")
        help_text = app.focused.HELP  # what the panel shows: the focused table's help, the screen's first
        assert help_text.index("## Triage queue") < help_text.index("## Table")
        await pilot.press("f1")
        await wait_for(pilot, lambda: not app.screen.query(HelpPanel), 5, "help panel hidden")

    drive(db, scenario)


# -- first run and the CLI -------------------------------------------------------------------------


def test_first_run_loads_the_sample_logs_and_triages(tmp_path):
    db = tmp_path / "first.db"
    Store(db).close()
    load = [SAMPLE_LOGS / "requests.jsonl", SAMPLE_LOGS / "accounts.csv"]

    async def scenario(app, pilot):
        await on_screen(pilot, TriageScreen)
        await wait_for(pilot, lambda: app.job is not None, 5, "the first-run job to start")
        await wait_for(pilot, lambda: _job_done(app), 120, "first-run load and triage")
        assert app.job.result == "done"
        await wait_for(pilot, lambda: table(app, "clusters").row_count > 0, 10, "clusters in the queue")
        assert "candidate farms" in static_text(app, "run-summary")

    drive(db, scenario, timeout=150, load=load)


def test_a_loaded_store_never_triaged_is_triaged_on_open(db):
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM triage_runs")

    async def scenario(app, pilot):
        await on_screen(pilot, TriageScreen)
        await wait_for(pilot, lambda: app.job is not None, 5, "the triage job to start")
        await wait_for(pilot, lambda: _job_done(app), 60, "triage")
        assert app.job.result == "done"
        await wait_for(pilot, lambda: table(app, "clusters").row_count == 5, 10, "clusters in the queue")

    drive(db, scenario)


def test_cli_tui_with_a_missing_store_fails_naming_it(tmp_path):
    missing = tmp_path / "missing.db"
    result = CliRunner().invoke(main, ["tui", str(missing)])
    assert result.exit_code == 1
    assert "missing.db" in result.output
    assert not missing.exists()


# -- hostile text ------------------------------------------------------------------------------


def _assert_literal_screen(app) -> str:
    """No raw control character in any cell or Static of the screen, nor in its SVG screenshot."""
    for t in app.screen.query(DataTable):
        for row in cells(t):
            for c in row:
                assert not RAW_CONTROLS.search(c), f"raw control in #{t.id}: {c!r}"
    for s in app.screen.query(Static):
        content = s.content
        plain = content.plain if isinstance(content, Text) else str(content)
        assert not RAW_CONTROLS_BUT_NEWLINE.search(plain), f"raw control in {s!r}: {plain!r}"
    svg = app.export_screenshot()
    for ch in ("\x1b", "\x07", "\x9b", "\u202e", "\u200b"):
        assert ch not in svg, f"{ch!r} in the screenshot"
    return svg


def test_hostile_account_is_shown_literally(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        app.open_account("acct_hostile_1")
        await on_screen(pilot, AccountScreen)
        await panels(pilot, "_profile", "_hours", "_days")
        shares = await ready(pilot, "shares")
        profile = static_text(app, "profile")
        assert "[bold red]boss[/]\\x1b[2J0@evil.example" in profile
        ua_cells = [row for row in cells(shares) if "user agent" in row]
        assert ua_cells and any(c.startswith("\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b]0;pwned") for c in ua_cells[0])
        svg = _assert_literal_screen(app)
        assert "boss[/]\\x1b[2J0@evil.example" in svg.replace("&#160;", " ")

        await show_tab(pilot, "account-tabs", "tab-requests")
        requests = await ready(pilot, "requests")
        assert requests.row_count == 12
        row = cells(requests)[0]
        prompt, ua = row[4], row[2]
        assert prompt.startswith("\\x1b[31mIgnore previous instructions\\x1b[0m [reverse]and[/reverse] \\x9b2J")
        assert ua.startswith("\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b]0;pwned\\x07[link=https://evil.example]sd")
        _assert_literal_screen(app)

    drive(db, scenario)


def test_pivot_on_the_hostile_user_agent_is_shown_literally(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        app.open_pivot("user_agent", HOSTILE_UA, [("account", "acct_hostile_1")])
        screen = await on_screen(pilot, PivotScreen)
        accounts = await ready(pilot, "accounts")
        await panels(pilot, "_levels", "_facets")
        await ready(pilot, "facets")
        assert sorted(accounts.row(i)["account_id"] for i in range(accounts.row_count)) == [
            "acct_hostile_1", "acct_hostile_2", "acct_hostile_3"]  # fmt: skip
        emails = {c for row in cells(accounts) for c in row if "evil.example" in c}
        assert emails == {visible(HOSTILE_EMAIL.replace("@", f"{n}@")) for n in range(3)}
        summary = static_text(app, "pivot-summary")
        assert summary.startswith("3 accounts have user agent ")
        assert visible(HOSTILE_UA) in summary
        assert "\\u202e\\u200b" in summary
        assert static_text(app, "breadcrumb").endswith(visible(HOSTILE_UA, 48))
        assert screen.value == HOSTILE_UA
        _assert_literal_screen(app)

    drive(db, scenario)


def test_quarantined_hostile_row_is_shown_literally(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        app.action_open_sources()
        await on_screen(pilot, SourcesScreen)
        quarantine = await ready(pilot, "quarantine")
        await panels(pilot, "_reasons")
        raw = cells(quarantine)[0][4]
        assert '"ts": "\\x1b[5mnot a time[/]"' in raw
        _assert_literal_screen(app)

    drive(db, scenario)


# -- snapshots -----------------------------------------------------------------------------------


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def _settle(pilot, *tables: str, panels_: tuple[str, ...] = ()) -> None:
    for name in tables:
        await ready(pilot, name)
    if panels_:
        await panels(pilot, *panels_)
    await wait_for(pilot, lambda: all(not t._loading for t in pilot.app.screen.query(PagedTable)), 10, "idle tables")
    await pilot.pause()


def test_snapshot_triage_queue(db, utc, snap_compare):
    async def run_before(pilot):
        await _settle(pilot, "clusters")

    assert snap_compare(FarmhoundApp(db), terminal_size=SIZE, run_before=run_before)


def test_snapshot_cluster(db, utc, snap_compare):
    async def run_before(pilot):
        await ready(pilot, "clusters")
        pilot.app.open_cluster(3)
        await on_screen(pilot, ClusterScreen)
        await _settle(pilot, "members", panels_=("_templates",))  # hidden tabs load when opened

    assert snap_compare(FarmhoundApp(db), terminal_size=SIZE, run_before=run_before)


def test_snapshot_pivot(db, utc, snap_compare):
    async def run_before(pilot):
        await ready(pilot, "clusters")
        pilot.app.open_pivot("payment_fingerprint", "pf_8390636647f7", [("cluster", "3")])
        await on_screen(pilot, PivotScreen)
        await _settle(pilot, "accounts", panels_=("_levels", "_facets"))
        await ready(pilot, "facets")

    assert snap_compare(FarmhoundApp(db), terminal_size=SIZE, run_before=run_before)


def test_snapshot_hostile_account(db, utc, snap_compare):
    async def run_before(pilot):
        await ready(pilot, "clusters")
        pilot.app.open_account("acct_hostile_1", [("cluster", "5")])
        await on_screen(pilot, AccountScreen)
        await _settle(pilot, "shares", panels_=("_profile", "_hours", "_days"))

    assert snap_compare(FarmhoundApp(db), terminal_size=SIZE, run_before=run_before)


# -- tagging -------------------------------------------------------------------------------------


def test_tag_a_whole_cluster_with_a_note_then_undo_and_redo(db):
    from farmhound.store.tags import TagLog
    from tui.tagging import TagModal

    def tags(account):
        with Store(db) as s:
            return TagLog(s).tags_of(account)

    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 3)
        members = [table(app, "members").row(i)["account_id"] for i in range(3)]
        await pilot.press("A")
        await on_screen(pilot, TagModal)
        await pilot.press("enter")  # keep "suspected"
        for ch in "same card":
            await pilot.press("space" if ch == " " else ch)
        await pilot.press("enter")
        await wait_for(pilot, lambda: all(tags(m) == ["suspected"] for m in members), 10, "cluster tagged")
        await wait_for(pilot, lambda: any("add suspected on 3" in str(n.message) for n in app._notifications), 5)
        await pilot.press("u")
        await wait_for(pilot, lambda: all(tags(m) == [] for m in members), 10, "undone")
        await pilot.press("U")
        await wait_for(pilot, lambda: all(tags(m) == ["suspected"] for m in members), 10, "redone")

    drive(db, scenario)


def test_marked_rows_are_tagged_together_and_the_members_table_shows_their_tags(db):
    from farmhound.store.tags import TagLog
    from tui.tagging import TagModal

    def tags(account):
        with Store(db) as s:
            return TagLog(s).tags_of(account)

    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 1)
        members = table(app, "members")
        await show_tab(pilot, "cluster-tabs", "tab-members")
        members.focus()
        # Space marks the row and moves down: marks rows 1 and 2, then 4; unmarks 4 again; marks 5
        await pilot.press("down", "space", "space", "down", "space", "up", "space", "space")
        marked = [members.row(i)["account_id"] for i in (1, 2, 5)]
        assert sorted(members.marked) == sorted(marked) and "3 marked" in str(members.border_subtitle)
        before = members.loads
        await pilot.press("s")  # a sort keeps the marks
        await wait_for(pilot, lambda: members.loads > before, 5, "sorted")
        assert sorted(members.marked) == sorted(marked)
        await pilot.press("T")
        modal = await on_screen(pilot, TagModal)
        assert sorted(modal.accounts) == sorted(marked) and "3 marked accounts" in modal.what
        await pilot.press("enter", "enter")  # suspected, no note
        await wait_for(pilot, lambda: all(tags(m) == ["suspected"] for m in marked), 10, "marked rows tagged")
        others = [members.row(i)["account_id"] for i in range(members.row_count)]
        assert [tags(a) for a in others if a not in marked] == [[]] * (len(others) - 3)  # only the marked ones
        await wait_for(pilot, lambda: not members.marked and sum(
            (members.row(i)["tags"] or "") == "suspected" for i in range(members.row_count)) == 3, 10, "tags shown")  # fmt: skip

    drive(db, scenario)


def test_an_account_shows_its_tags_and_every_change_to_them(db):
    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        app.open_account("acct_hostile_1")
        await on_screen(pilot, AccountScreen)
        await panels(pilot, "_tags")
        assert "none" in static_text(app, "account-tags")
        await pilot.press("T")
        await pilot.press("backspace", *["backspace"] * 9, *"confirmed", "enter", "enter")
        await wait_for(pilot, lambda: "confirmed" in static_text(app, "account-tags"), 10, "tag shown")
        await show_tab(pilot, "account-tabs", "tab-tags")
        history = table(app, "tag-history")
        await wait_for(pilot, lambda: history.row_count == 1, 5, "one change")
        await pilot.press("u")
        await wait_for(pilot, lambda: history.row_count == 2 and "none" in static_text(app, "account-tags"), 10)
        assert [history.row(i)["kind"] for i in range(2)] == ["undo", "do"]  # newest first

    drive(db, scenario)


def test_palette_offers_sorting_the_table_it_was_opened_over_and_tagging(db):
    async def scenario(app, pilot):
        t = await ready(pilot, "clusters")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), 5, "palette")
        for ch in "sort":
            await pilot.press(ch)
        await wait_for(pilot, lambda: "Sort by the picked column" in _palette_text(app), 5, "sort offered")
        await pilot.press("enter")
        await wait_for(pilot, lambda: t.loads >= 2 and t.sort_by == "id", 5, "sorted")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), 5, "palette")
        for ch in "undo":
            await pilot.press(ch)
        await wait_for(pilot, lambda: "Undo the latest tag change" in _palette_text(app), 5, "undo offered")

    drive(db, scenario)


def _palette_text(app) -> str:
    return " ".join(str(o.prompt) for o in app.screen.query_one(CommandList)._options)


MARKUP_VALUE = "x[/b] [@click=app.quit]q[/]"  # Textual markup: a bad closing tag, an action


def test_palette_shows_a_hostile_value_of_the_screen_literally(db):
    """The palette's "Add to a case" quotes what the screen shows (a pivot value, an account id:
    attacker text): it is shown as typed, and neither breaks (a markup error killed the app) nor acts."""

    async def palette_shows(pilot, query: str, expect: str) -> None:
        await pilot.press("ctrl+p")
        await on_screen(pilot, CommandPalette)
        await pilot.press(*query)
        await wait_for(pilot, lambda: expect in _palette_text(pilot.app), 5, f"palette shows {expect!r}")
        assert pilot.app.is_running
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, CommandPalette), 5, "palette closed")

    async def scenario(app, pilot):
        await ready(pilot, "clusters")
        app.open_pivot("user_agent", MARKUP_VALUE)
        await on_screen(pilot, PivotScreen)
        await palette_shows(pilot, "", f"every account with user agent {MARKUP_VALUE} (C)")  # discovered
        await palette_shows(pilot, "case", f"every account with user agent {MARKUP_VALUE} (C)")  # searched
        app.open_account("acct[/b][@click=app.quit]x")
        await on_screen(pilot, AccountScreen)
        await palette_shows(pilot, "case", "account acct[/b][@click=app.quit]x (C)")
        assert app.is_running and isinstance(app.screen, AccountScreen)

    drive(db, scenario)


def test_marks_stay_when_the_tag_dialog_is_escaped_and_clear_once_tagged(db):
    from farmhound.store.tags import TagLog
    from tui.tagging import TagModal

    def tags(account):
        with Store(db) as s:
            return TagLog(s).tags_of(account)

    async def scenario(app, pilot):
        await open_cluster_screen(app, pilot, 1)
        members = table(app, "members")
        await show_tab(pilot, "cluster-tabs", "tab-members")
        members.focus()
        await pilot.press("space", "space")  # rows 0 and 1
        marked = [members.row(i)["account_id"] for i in (0, 1)]
        assert sorted(members.marked) == sorted(marked)
        await pilot.press("T")
        await on_screen(pilot, TagModal)
        await pilot.press("escape")
        await on_screen(pilot, ClusterScreen)
        assert sorted(members.marked) == sorted(marked) and "2 marked" in str(members.border_subtitle)
        assert all(tags(a) == [] for a in marked)
        await pilot.press("T")
        modal = await on_screen(pilot, TagModal)
        assert sorted(modal.accounts) == sorted(marked)
        await pilot.press("enter", "enter")  # suspected, no note
        await wait_for(pilot, lambda: all(tags(a) == ["suspected"] for a in marked), 10, "marked rows tagged")
        await wait_for(pilot, lambda: not members.marked and "marked" not in str(members.border_subtitle), 10,
                       "marks cleared")  # fmt: skip

    drive(db, scenario)
