"""One account: its profile (signup, email, payment, org), its score, its activity by hour of
day and over time, the templates it sends, its requests, and every value it shares with other
accounts, each a pivot.

Not here: the pivot itself (`pivot.py`).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static, TabbedContent, TabPane

from farmhound.store.listings import Column
from tui.casework import CaseTarget
from tui.chrome import Timeline
from tui.screens.base import FarmScreen
from tui.screens.cluster import REASON_COLUMNS, reason_rows
from tui.screens.pivot import breadcrumb
from tui.text import LEVEL_STYLES, lit, when
from tui.widgets import PagedTable, listing_fetch, local_fetch

HISTORY_COLUMNS = (
    Column("at", "time (UTC)", "", "text", True, True),
    Column("analyst", "analyst", "", "text", True, True),
    Column("kind", "", "", "text", True, True),
    Column("action", "change", "", "text", True, True),
    Column("tag", "tag", "", "text", True, True),
    Column("previous", "status before", "", "text", True, True),
    Column("note", "note", "", "long", False, True),
)


class AccountScreen(FarmScreen):
    HELP = """
## Account
- **Shares**: every value this account has, most widely shared first; **Enter** pivots to all
  accounts with it. **Templates**: what it sends; Enter pivots on the template.
- **Requests**: its requests, newest first, with the start of each prompt.
- **1-5** switch tabs (Shares, Templates, Score, Requests, Tags); **c** opens its cluster;
  **Escape** goes back along the trail.
- **T** tags it (suspected / confirmed / cleared or a label, with a note); **u** undoes, **U** redoes.
- **C** adds it to a case (the cases: Ctrl+P "Cases"; here **c** opens its cluster).
"""
    BINDINGS = [
        Binding("c", "open_cluster", "Its cluster", id="open-cluster"),
        Binding("C", "to_case", "Add to case", id="to-case"),
    ]
    TITLE = "account"

    def __init__(self, account_id: str, trail: list[tuple[str, str]] | None = None):
        super().__init__()
        self.account_id = account_id
        self.target = ("account", account_id)
        self.trail = [*(trail or []), ("account", account_id)]
        self.cluster_id: int | None = None

    def body(self) -> ComposeResult:
        yield Static(breadcrumb(self.trail), id="breadcrumb")
        yield Static(id="profile")
        yield Static(id="account-tags")
        with Horizontal(id="activity"):
            yield Timeline("Requests by hour of day (UTC)", id="hours")
            yield Timeline("Requests per day (UTC)", id="days")
        with TabbedContent(id="account-tabs"):
            with TabPane("Shares", id="tab-shares"):
                yield PagedTable(id="shares", title="Everything it shares")
            with TabPane("Templates", id="tab-templates"):
                yield PagedTable(id="templates", title="Templates it sends")
            with TabPane("Score", id="tab-score"):
                yield PagedTable(id="score", title="Its score")
            with TabPane("Requests", id="tab-requests"):
                yield PagedTable(id="requests", title="Requests")
            with TabPane("Tags", id="tab-tags"):
                yield PagedTable(id="tag-history", title="Every change to its tags (T tags, u undoes)")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        account = self.account_id
        acc = {"account": account}
        self.show_table("shares", listing_fetch(self.inv, "shared", acc))
        self.show_table("templates", listing_fetch(self.inv, "account_templates", acc))
        self.show_table("requests", listing_fetch(self.inv, "requests", acc))
        # The profile counts the account's requests: an index range, but a scan while an ingest
        # has the indexes dropped, so it is loaded off the UI thread like the charts.
        self.load(lambda: self.inv.profile(account), self._profile, "account-profile")
        self.load(lambda: self.inv.hours(account), self._hours, "account-hours")
        self.load(lambda: self.inv.days(account), self._days, "account-days")
        self.show_tags()

    def tags_changed(self) -> None:
        super().tags_changed()
        self.show_tags()

    def show_tags(self) -> None:
        """Its tags now, and the history of every change (reloaded after each tag, undo, redo)."""
        account = self.account_id
        self.load(lambda: (self.inv.tags_of(account), self.inv.tag_history(account)), self._tags, "account-tags")

    def _tags(self, result) -> None:
        tags, history = result
        line = Text("tags: ", style="dim")
        line.append_text(lit(", ".join(tags), 200, "bold") if tags else Text("none  (T tags it)", style="dim"))
        self.query_one("#account-tags", Static).update(line)
        self.show_table("tag-history", local_fetch(HISTORY_COLUMNS, list(reversed(history))))

    def _profile(self, p) -> None:
        if p is None:
            self.query_one("#profile", Static).update(lit(f"{self.account_id}: no such account"))
            return
        self.cluster_id = p.cluster_id
        level = (p.level or "unscored", LEVEL_STYLES.get(p.level or "", "dim"))
        cluster = (
            f"cluster {p.cluster_id} (membership {p.membership:.2f}, c opens it)" if p.cluster_id else "no cluster"
        )
        score = f"  score {p.score:.2f}  ·  " if p.score is not None else "  ·  "
        text = Text.assemble(lit(p.account_id, 80, "bold"), "  ", level, score, cluster, "\n")
        fields = [
            ("signed up", when(p.created_at)), ("from", p.signup_ip), ("email", p.email),
            ("payment", p.payment_fingerprint), ("card BIN", p.card_bin), ("billing", p.billing_country),
            ("org", p.org_id), ("tier", p.tier), ("verified", {1: "yes", 0: "no"}.get(p.verified, "—")),
        ]  # fmt: skip
        for k, (name, value) in enumerate(fields):
            text.append(("  ·  " if k else "") + name + " ", style="dim")
            text.append_text(lit(value if value is not None else "—", 60))
        text.append(f"\n{p.requests:,} requests, {when(p.first_ts)} → {when(p.last_ts)}", style="dim")
        if not p.has_record:
            text.append("   (no account record: seen only in requests)", style="yellow")
        self.query_one("#profile", Static).update(text)
        self.show_table("score", local_fetch(REASON_COLUMNS, reason_rows(p.reasons)))

    def _hours(self, counts) -> None:
        self.query_one("#hours", Timeline).set_counts(counts, axis="00h → 23h")

    def _days(self, result) -> None:
        self.query_one("#days", Timeline).set_counts(*result)

    def action_open_cluster(self) -> None:
        if self.cluster_id is None:
            self.notify("This account is in no cluster.")
        else:
            self.app.open_cluster(self.cluster_id)

    def case_target(self) -> CaseTarget:
        account = self.account_id
        return CaseTarget(f"account {account}", lambda book, case, who: book.add_accounts(case, [account], who))

    def on_paged_table_chosen(self, message: PagedTable.Chosen) -> None:
        row, table = message.row, message.table.id
        if table == "shares":
            self.app.open_pivot(row["kind"], row["value"], self.trail)
        elif table == "templates":
            self.app.open_pivot("template", str(row["template_id"]), self.trail)

    def commands(self):
        return [("Open this account's cluster", "the candidate farm it belongs to", self.action_open_cluster)]
