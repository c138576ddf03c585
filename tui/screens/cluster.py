"""One candidate farm: its members, its score built up signal by signal, the attributes and
templates its members share, and an activity timeline of the members together.

Not here: computing the score (`farmhound/scoring.py`), the store queries (`investigate.py`).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static, TabbedContent, TabPane

from farmhound.store.listings import Column
from tui.casework import CaseTarget
from tui.chrome import Timeline
from tui.screens.base import FarmScreen
from tui.text import LEVEL_STYLES
from tui.widgets import PagedTable, listing_fetch, local_fetch

REASON_COLUMNS = (
    Column("code", "signal", "", "text", True, True),
    Column("name", "name", "", "text", True, True),
    Column("family", "family", "", "text", True, True),
    Column("value", "value", "", "float"),
    Column("threshold", "notice", "", "float"),
    Column("points", "points", "", "float"),
    Column("total", "running total", "", "float"),
    Column("detail", "evidence", "", "long", False, True),
)
FACET_COLUMNS = (
    Column("members", "members", "", "int"),
    Column("accounts", "platform-wide", "", "int"),
    Column("kind", "attribute", "", "kind", True, True),
    Column("value", "value", "", "long", True, True),
)
TEMPLATE_COLUMNS = (
    Column("template_id", "template", "", "int"),
    Column("members", "members using", "", "int"),
    Column("requests", "requests", "", "int"),
    Column("pattern", "pattern", "", "long", False, True),
)


def reason_rows(reasons) -> list[tuple]:
    """A score's reasons in order, each with the running total: the waterfall."""
    total, rows = 0.0, []
    for r in reasons:
        total += r.points
        value = r.value if isinstance(r.value, int | float) else None
        rows.append((r.code, r.name, r.family, value, r.threshold, r.points, round(total, 3), r.detail))
    return rows


class ClusterScreen(FarmScreen):
    HELP = """
## Cluster
- **Score**: each signal's points in order, with the running total. Family sums are capped;
  negative points are legitimate-looking evidence.
- **Members**: Enter opens an account. **Shared**: values two or more members share; Enter pivots
  to every account with that value. **Templates**: prompt templates the members send; Enter pivots.
- **1-4** switch tabs (Score, Members, Shared, Templates); **Escape** goes back.
- **T** tags the member under the cursor, **A** every member; **u** undoes, **U** redoes.
- **C** adds the cluster, with its members, to a case (**c** shows the cases).
"""
    BINDINGS = [Binding("C", "to_case", "Add to case", id="to-case")]

    def __init__(self, cluster_id: int):
        super().__init__()
        self.cluster_id = cluster_id
        self.target = ("cluster", cluster_id)
        self.title = f"cluster {cluster_id}"

    def body(self) -> ComposeResult:
        yield Static(id="cluster-summary")
        yield Timeline("Requests of all members over time", id="cluster-timeline")
        with TabbedContent(id="cluster-tabs", initial="tab-members"):
            with TabPane("Score", id="tab-score"):
                yield PagedTable(id="score", title="Score, signal by signal")
            with TabPane("Members", id="tab-members"):
                yield PagedTable(id="members", title="Members")
            with TabPane("Shared", id="tab-shared"):
                yield PagedTable(id="shared", title="Values 2+ members share (the 500 most shared)")
            with TabPane("Templates", id="tab-templates"):
                yield PagedTable(id="templates", title="Templates the members send")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        c = self.inv.cluster(self.cluster_id)
        summary = self.query_one("#cluster-summary", Static)
        if c is None:
            summary.update(Text(f"Cluster {self.cluster_id} is not in the latest triage run.", style="yellow"))
            return
        families = "  ".join(f"{f} {p:+.1f}" for f, p in c.families.items())
        links = ", ".join(f"{k} {v:,}" for k, v in c.links.items())
        summary.update(Text.assemble(
            (f"cluster {c.id}  ", "bold"), (c.level, LEVEL_STYLES.get(c.level, "")), f"  score {c.score:.1f}  ·  ",
            f"{c.size:,} accounts  ·  held together by {links}\n", ("families (capped): ", "dim"), families,
        ))  # fmt: skip
        self.show_table("score", local_fetch(REASON_COLUMNS, reason_rows(c.reasons)))
        self.show_table("members", listing_fetch(self.inv, "members", {"cluster": c.id}))
        self.show_table("shared", listing_fetch(self.inv, "cluster_shared", {"cluster": c.id}))
        self.query_one("#cluster-timeline", Timeline).set_counts(*c.timeline)
        self.load(lambda: self.inv.cluster_templates(c.id), self._templates, "cluster-templates")

    def _templates(self, rows) -> None:
        self.show_table("templates", local_fetch(TEMPLATE_COLUMNS, rows))

    def group_here(self) -> tuple[str, str]:
        return ("cluster", str(self.cluster_id))

    def case_target(self) -> CaseTarget:
        cid = self.cluster_id
        return CaseTarget(f"cluster {cid} and its members", lambda book, case, who: book.add_clusters(case, [cid], who))

    def on_paged_table_chosen(self, message: PagedTable.Chosen) -> None:
        row, table = message.row, message.table.id
        trail = [("cluster", str(self.cluster_id))]
        if table == "members":
            self.app.open_account(row["account_id"], trail)
        elif table == "shared":
            self.app.open_pivot(row["kind"], row["value"], trail)
        elif table == "templates":
            self.app.open_pivot("template", str(row["template_id"]), trail)
