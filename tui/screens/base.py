"""What every screen of the workbench shares: header, footer, the `/` filter bar, Escape to go back,
and loading aggregate panels in thread workers.

Not here: what a screen shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from tui.casework import CaseTarget
from tui.chrome import KeyHints, TaskBar
from tui.widgets import FilterBar, PagedTable


class FarmScreen(Screen):
    """A workbench screen. Subclasses yield their body from `body()`."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("T", "tag_one", "Tag", id="tag"),
        Binding("A", "tag_all", "Tag all", show=False, id="tag-all"),
        Binding("u", "app.undo_tag", "Undo tag", show=False, id="undo-tag"),
        Binding("U", "app.redo_tag", "Redo tag", show=False, id="redo-tag"),
        *(Binding(str(n), f"tab({n})", f"Tab {n}", show=False, id=f"tab-{n}") for n in range(1, 6)),
    ]
    HELP = ""
    target: tuple | None = None  # what the screen shows (a cluster, an account, a value): not opened twice in a row

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loaded: set[str] = set()  # aggregate panels shown so far (tests and benchmarks wait on it)
        self._first_rows = False  # aggregates wait for the first rows: they would compete for the 2 cores
        self._pending: list[tuple] = []
        self._deferred: dict[str, dict[str, tuple]] = {}  # tab pane id -> {table id: (table, fetch)} for later

    def compose(self) -> ComposeResult:
        # Not Textual's Header: its title watcher raises if the screen is popped while it mounts.
        title = Text.assemble(("farmhound", "bold"), "  ·  ", self.title or "", ("  " + (self.sub_title or ""), "dim"))
        yield Static(title, id="title-bar")
        yield TaskBar()
        yield from self.body()
        filter_bar = FilterBar(id="filter")
        filter_bar.display = False
        yield filter_bar
        yield KeyHints()

    def body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        """Keys go to a table at once: the focused one, else the first visible one."""
        self.app.screen_changed()
        if not isinstance(self.focused, PagedTable):
            self._focus_table()

    def _focus_table(self) -> None:
        tabs = self.query(TabbedContent)
        scope = tabs.first().active_pane if tabs and tabs.first().active_pane else self
        tables = scope.query(PagedTable)
        if tables:
            tables.first().focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.tab_opened(event.pane)

    def tab_opened(self, pane: TabPane, focus: bool = True) -> None:
        """A tab was opened: its tables load if they waited for it, and the first one has the keys."""
        for table, fetch in self._deferred.pop(pane.id or "", {}).values():
            table.show(fetch)
        tables = pane.query(PagedTable)
        if tables and focus:
            tables.first().focus()

    def action_tab(self, n: int) -> None:
        """Keys 1-5: the screen's nth tab."""
        tabs = self.query(TabbedContent)
        if tabs:
            panes = list(tabs.first().query(TabPane))
            if 0 < n <= len(panes):
                tabs.first().active = panes[n - 1].id or ""

    def show_table(self, table_id: str, fetch) -> None:
        """Page `fetch` in a table now if it can be seen, else when its tab is first opened
        (a screen opens faster when its hidden tabs load nothing)."""
        table = self.query_one(f"#{table_id}", PagedTable)
        pane = next((a for a in table.ancestors if isinstance(a, TabPane)), None)
        if pane is None or self.query_one(TabbedContent).active == pane.id:
            table.show(fetch)
        else:
            self._deferred.setdefault(pane.id or "", {})[table_id] = (table, fetch)  # the latest wins

    @property
    def inv(self):
        return self.app.inv

    def on_paged_table_filter_requested(self, message: PagedTable.FilterRequested) -> None:
        self.query_one(FilterBar).open_for(message.table)

    def action_back(self) -> None:
        """Escape: cancels the running job or export (its bar says so), else goes back one screen."""
        if self.app.job_running:
            self.app.cancel_job()
        elif self.app.export_cancel is not None:
            self.app.cancel_export()
        elif len(self.app.screen_stack) > 2:  # the default screen, then the triage queue
            self.app.pop_screen()

    # -- tagging (tui/tagging.py) ---------------------------------------------------------------

    def account_here(self) -> str | None:
        """The account under the cursor, or the one this screen is about."""
        focused = self.focused
        row = focused.row() if isinstance(focused, PagedTable) else None
        if row and row.get("account_id"):
            return row["account_id"]
        return getattr(self, "account_id", None)

    def group_here(self) -> tuple[str, str] | None:
        """(kind, value) of the accounts this screen lists as a whole: a cluster, a pivot value."""
        return None

    def marked_accounts(self) -> list[str]:
        """The accounts marked with Space in the focused table. They stay marked until what T or C
        asked is written (`unmarker`): Escape in the dialog keeps the selection."""
        focused = self.focused
        if not isinstance(focused, PagedTable) or not focused.marked:
            return []
        return [r["account_id"] for r in focused.marked_rows() if r.get("account_id")]

    def unmarker(self, accounts: list[str]) -> Callable[[], None]:
        """What unmarks `accounts` in the focused table, called once they were tagged or added."""
        table = self.focused

        def unmark() -> None:
            if isinstance(table, PagedTable) and table.is_attached:
                table.unmark(accounts)

        return unmark

    def action_tag_one(self) -> None:
        marked = self.marked_accounts()
        if marked:
            self.app.ask_tag(marked, f"{len(marked):,} marked account{'s' if len(marked) != 1 else ''}",
                             done=self.unmarker(marked))  # fmt: skip
            return
        account = self.account_here()
        if account is None:
            self.app.say("No account here: T tags the account under the cursor (A: all of a cluster or pivot).")
        else:
            self.app.ask_tag([account], f"account {account}")

    def action_tag_all(self) -> None:
        group = self.group_here()
        if group is None:
            self.app.say("A tags every account of a cluster or a pivot: open one first.")
            return
        accounts = self.inv.members_of(*group)
        self.app.ask_tag(accounts, f"all {len(accounts):,} accounts of {group[0]} {group[1]}")

    # -- cases (tui/casework.py) -----------------------------------------------------------------

    def case_target(self):
        """What `C` adds to a case here (a `CaseTarget`), or None. Screens with a `C` binding say."""
        return None

    def action_to_case(self) -> None:
        marked = self.marked_accounts()
        target = self.case_target() if not marked else CaseTarget(
            f"{len(marked):,} marked account{'s' if len(marked) != 1 else ''}",
            lambda book, case, who: book.add_accounts(case, marked, who), self.unmarker(marked))  # fmt: skip
        if target is None:
            self.app.say("Nothing here to add to a case: C adds a cluster, an account, a pivot or a template.")
        else:
            self.app.ask_case(target)

    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        """(name, help, callback) of this screen's own actions, for the command palette."""
        return []

    def tags_changed(self) -> None:
        """Tags were written (the app calls this): tables with a tags column show them anew."""
        for table in self.query(PagedTable):
            if any(c.name == "tags" for c in table.columns_spec):
                table.reload(keep_cursor=True)

    def reload(self) -> None:
        """The store's derived tables changed (a triage run finished): show the new results."""
        for table in self.query(PagedTable):
            table.reload()

    def load(self, compute: Callable[[], Any], apply: Callable[[Any], None], group: str) -> None:
        """Run `compute` (a store query) in a named thread worker, then `apply` its result on
        screen. A newer load of the same group replaces an older one."""

        if not self._first_rows:
            if not self._pending:
                self.set_timer(0.3, self._start_pending)  # a screen whose tables show nothing quickly
            self._pending.append((compute, apply, group))
            return

        def job() -> None:
            result = compute()
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._apply, apply, result)

        self.run_worker(job, name=group, group=group, thread=True, exclusive=True, exit_on_error=False)

    def on_paged_table_first_page(self, message: PagedTable.FirstPage) -> None:
        self._start_pending()

    def _start_pending(self) -> None:
        self._first_rows = True
        pending, self._pending = self._pending, []
        for compute, apply, group in pending:
            self.load(compute, apply, group)

    def _apply(self, apply: Callable[[Any], None], result: Any) -> None:
        if self.is_attached:
            apply(result)
            self.loaded.add(getattr(apply, "__name__", "apply"))
