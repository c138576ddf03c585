"""Cases: every case (top), and the one under the cursor below — its members, clusters and
templates as they were added, and its log of every change. New cases, notes, status, removal and
export start here; the writes themselves run in the app's workers (`tui/casework.py`, the export
in `tui/case_export.py`).

Not here: the rules of cases (`farmhound/store/cases.py`), the dialogs (`tui/case_modals.py`).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static, TabbedContent, TabPane

from farmhound.store.cases import Case
from tui.casework import next_status, remove_item
from tui.screens.base import FarmScreen
from tui.text import CASE_STYLES, iso, lit
from tui.widgets import PagedTable, listing_fetch

DETAIL = {"case-members": "case_members", "case-clusters": "case_clusters",
          "case-templates": "case_templates", "case-log": "case_log"}  # fmt: skip
ITEM_KINDS = {"case-members": "account", "case-clusters": "cluster", "case-templates": "template"}


class CasesScreen(FarmScreen):
    HELP = """
## Cases
A case groups the accounts, clusters and templates of a suspected farm, with notes, a status and a
log of every change. The case under the cursor (top) is shown below; **Enter** goes to its tabs.
- **n** opens a new case, **N** adds a note, **S** moves its status open → review → closed (→ open)
- **x** exports its case file (report, members.csv, STIX indicators, manifest): TLP, redaction, zip
- **Delete** removes the member, cluster or template under the cursor (logged)
- **1-4** Members, Clusters, Templates, Log; **Enter** on a member opens the account
- **C** on a cluster, account, pivot, template or the triage queue adds it to a case
- **T** tags the member under the cursor, **A** every member of the case
"""
    BINDINGS = [
        Binding("n", "new_case", "New case", id="case-new"),
        Binding("N", "note", "Note", id="case-note"),
        Binding("S", "status", "Status", id="case-status"),
        Binding("x", "export", "Export", id="case-export"),
        Binding("delete", "remove", "Remove", id="case-remove"),
    ]
    TITLE = "cases"
    SUB_TITLE = "accounts, clusters, templates and notes; exported as case files"

    def __init__(self):
        super().__init__()
        self.target = ("cases",)
        self.case: Case | None = None  # the case shown below
        self._want: str | None = None  # the case to put the cursor on once the list has loaded
        self._tabs_shown = False

    def body(self) -> ComposeResult:
        yield PagedTable(id="cases", title="Cases")
        yield Static(Text("Loading cases…", style="dim"), id="case-summary")
        with TabbedContent(id="case-tabs", initial="tab-case-members"):
            with TabPane("Members", id="tab-case-members"):
                yield PagedTable(id="case-members", title="Members (Enter opens the account, Delete removes it)")
            with TabPane("Clusters", id="tab-case-clusters"):
                yield PagedTable(id="case-clusters", title="Clusters as they were when added")
            with TabPane("Templates", id="tab-case-templates"):
                yield PagedTable(id="case-templates", title="Templates (patterns shown literally)")
            with TabPane("Log", id="tab-case-log"):
                yield PagedTable(id="case-log", title="Every change, newest first (Enter shows one in full)")

    def on_mount(self) -> None:
        self._want = self.app.current_case
        self.app.ensure_cases(lambda: self.query_one("#cases", PagedTable).show(listing_fetch(self.inv, "cases")))

    def _focus_table(self) -> None:
        self.query_one("#cases", PagedTable).focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.prevent_default()  # not FarmScreen's handler: the first tab, shown as the screen opens,
        self.tab_opened(event.pane, focus=self._tabs_shown)  # leaves the keys on the list of cases
        self._tabs_shown = True

    # -- showing a case --------------------------------------------------------------------------

    def on_paged_table_first_page(self, message: PagedTable.FirstPage) -> None:
        # (FarmScreen's handler runs as well: Textual calls each class's handler in turn)
        if message.table.id == "cases" and not message.table.rows_data:
            self.query_one("#case-summary", Static).update(Text("No case yet: n opens one, or C on a cluster, "
                                                                "an account, a pivot or a template.", style="yellow"))  # fmt: skip

    def on_paged_table_highlighted(self, message: PagedTable.Highlighted) -> None:
        if message.table.id != "cases":
            return
        table, want, self._want = message.table, self._want, None
        if want and message.row["name"].casefold() != want.casefold():
            names = [table.row(k)["name"].casefold() for k in range(len(table.rows_data))]
            if want.casefold() in names:
                table.move_cursor(row=names.index(want.casefold()))  # highlights it in turn
                return
        name = message.row["name"]
        self.load(lambda: self.inv.case(name), self._show, "case-summary")

    def _show(self, case: Case | None) -> None:
        summary = self.query_one("#case-summary", Static)
        if case is None:
            summary.update(Text("This case is gone.", style="yellow"))
            return
        same, self.case = self.case is not None and self.case.id == case.id, case
        text = Text.assemble(lit(case.name, 64, "bold"), "  ", (case.status, CASE_STYLES.get(case.status, "")),
                             f"  ·  {_n(case.members, 'account')}  ·  {_n(case.clusters, 'cluster')}  ·  "
                             f"{_n(case.templates, 'template')}  ·  opened {iso(case.created_at)} by ")  # fmt: skip
        text.append_text(lit(case.analyst, 40))
        text.append(f"  ·  last change {iso(case.updated_at)}\n", style="dim")
        text.append_text(lit(case.description, 300) if case.description else Text("(no description)", style="dim"))
        summary.update(text)
        deferred = {tid for pane in self._deferred.values() for tid in pane}
        for table_id, listing in DETAIL.items():
            table = self.query_one(f"#{table_id}", PagedTable)
            if same and table.fetch is not None and table_id not in deferred:
                table.reload(keep_cursor=True)  # the same case changed: keep sort, filter and place
            else:
                self.show_table(table_id, listing_fetch(self.inv, listing, {"case": case.id}))

    def case_changed(self, case: str | None) -> None:
        """A case write finished (the app calls this): list the cases again, cursor on `case`."""
        self._want = case or (self.case.name if self.case else None)
        self.query_one("#cases", PagedTable).reload()

    def on_paged_table_chosen(self, message: PagedTable.Chosen) -> None:
        row, table = message.row, message.table.id
        trail = [("case", self.case.name)] if self.case else []
        if table == "cases":
            super()._focus_table()  # the open tab's table
        elif table == "case-members":
            self.app.open_account(row["account_id"], trail)
        elif table == "case-clusters":
            run = self.inv.run()
            if run is not None and run.id == row["run"]:
                self.app.open_cluster(int(row["cluster_id"]))
            else:
                self.app.say(f"Cluster {row['cluster_id']} was of triage run {row['run']}; a later run renumbered "
                             "the clusters. Its accounts are in Members.")  # fmt: skip
        elif table == "case-templates":
            now = self.inv.template(int(row["template_id"]))
            if now is not None and now["pattern"] == row["pattern"]:
                self.app.open_pivot("template", str(row["template_id"]), trail)
            else:
                self.app.say(f"Template {row['template_id']} is no longer this pattern (a later triage run).")
        else:
            what = " · ".join(
                str(v) for v in (iso(row["at"]), row["analyst"], row["action"], row["what"], row["text"]) if v
            )
            self.app.say(what, timeout=20)

    # -- changing it (the writes run in the app's workers) ---------------------------------------

    def _named(self) -> str | None:
        if self.case is None:
            self.app.say("No case here: n opens one.", "warning")
            return None
        return self.case.name

    def action_new_case(self) -> None:
        self.app.ask_new_case()

    def action_note(self) -> None:
        if (name := self._named()) is not None:
            self.app.ask_note(name)

    def action_status(self) -> None:
        if (name := self._named()) is not None:
            self.app.write_case(lambda book, who: next_status(book, name, who))

    def action_export(self) -> None:
        if (name := self._named()) is not None:
            self.app.ask_export(name)

    def action_remove(self) -> None:
        table = self.focused
        kind = ITEM_KINDS.get(table.id or "") if isinstance(table, PagedTable) else None
        row = table.row() if kind else None
        if kind is None or row is None or (name := self._named()) is None:
            self.app.say("Delete removes the member, cluster or template under the cursor (in the tabs below).")
            return
        key = row["account_id"] if kind == "account" else row["key"]
        shown = {"account": key, "cluster": f"{row.get('cluster_id')} of run {row.get('run')}",
                 "template": f"{row.get('template_id')}"}[kind]  # fmt: skip
        self.app.write_case(lambda book, who: remove_item(book, name, kind, key, shown, who))

    def action_tag_all(self) -> None:
        if (name := self._named()) is not None:
            accounts = self.inv.case_members(name)
            self.app.ask_tag(accounts, f"all {len(accounts):,} members of case {name}")

    def commands(self):
        return [
            ("New case", "a name and a description (n)", self.action_new_case),
            ("Add a note to this case", "kept in its log (N)", self.action_note),
            ("Change this case's status", "open → review → closed (S)", self.action_status),
            ("Export this case's case file", "report, members, indicators, manifest; TLP, redaction (x)",
             self.action_export),
            ("Remove the item under the cursor from the case", "a member, cluster or template (Delete)",
             self.action_remove),
        ]  # fmt: skip


def _n(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
