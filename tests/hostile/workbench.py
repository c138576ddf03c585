"""Driving the workbench for `tests/test_hostile.py`: one app run per test on the hostile store,
a `look` at every screen it opens (what is drawn, every loaded table cell and text panel), tables
loaded to their last page, tabs opened, a table filtered as if by pasted text.

Not here: what counts as an injection (`checks.py`).
"""

from __future__ import annotations

import asyncio

from textual.widgets import Input, TabbedContent, TabPane
from tui_waiting import wait_for

from hostile import checks
from hostile.corpus import Entry
from tui.app import FarmhoundApp
from tui.widgets import PagedTable


def drive(db, scenario, size: tuple[int, int]) -> tuple[list[str], str]:
    """Run `scenario(app, pilot, look)` in the workbench on `db`; `look(label)` gathers the findings
    of the screen on top (`checks.screen_findings`). Fails if the app stopped or said it failed.

    Returns:
        The findings, and everything drawn (to check that markup was shown as typed).
    """
    findings: list[str] = []
    seen: list[str] = []

    async def go():
        app = FarmhoundApp(db)
        async with app.run_test(size=size) as pilot:

            async def look(label: str) -> None:
                await pilot.pause()
                found, text = checks.screen_findings(app, label)
                findings.extend(found)
                seen.append(text)

            await wait_table(pilot, "clusters")
            await scenario(app, pilot, look)
            assert app.is_running, "the app stopped"
            errors = [str(n.message) for n in app._notifications if n.severity == "error"]
            assert not errors, errors

    asyncio.run(asyncio.wait_for(go(), 60))
    return findings, "\n".join(seen)


async def wait_table(pilot, name: str, loads: int = 1):
    table = lambda: pilot.app.screen.query_one(f"#{name}", PagedTable)  # noqa: E731
    await wait_for(pilot, lambda: table().loads >= loads and not table()._loading, 10, f"table #{name}")
    while table().more:  # G loads the next page: every row of the table is checked
        pages = table().loads
        table().focus()
        await pilot.press("G")
        await wait_for(pilot, lambda: table().loads > pages and not table()._loading, 10, f"#{name} next page")  # noqa: B023
    return table()


async def filtered(pilot, table, e: Entry, acct: str, look, findings: list[str]) -> None:
    """Filter `table` by the text of `e` as if pasted after `/`: one row (its account), drawn literally."""
    table.focus()
    await pilot.press("slash")
    bar = pilot.app.screen.query_one("#filter", Input)
    await wait_for(pilot, lambda: bar.has_focus, 5, "the filter bar")
    bar.value = e.text
    await wait_for(pilot, lambda: table.search == e.text and not table._loading, 10, "filtered")
    await pilot.pause()
    if [table.row(i)["account_id"] for i in range(table.row_count)] != [acct]:
        findings.append(f"filter ({e.name}): {table.row_count} rows, not the one account holding it")
    await look(f"filter ({e.name})")
    await pilot.press("escape")
    await wait_for(pilot, lambda: not table.search and not table._loading, 10, "filter cleared")


async def open_tab(pilot, tabs: str, pane: str) -> None:
    content = pilot.app.screen.query_one(f"#{tabs}", TabbedContent)
    await wait_for(pilot, lambda: pane in [p.id for p in content.query(TabPane)], 5, f"tab {pane}")
    content.active = pane
    await wait_for(pilot, lambda: content.active == pane, 5, pane)
