"""The triage queue: candidate farms ranked by score, with their level, size, what links them and
their top reasons. The analyst's home screen; the running job (ingest, triage) shows here.

Not here: running triage (the app's job worker), the clusters themselves (`cluster.py`).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from farmhound.safe import visible
from tui.casework import CaseTarget
from tui.screens.base import FarmScreen
from tui.widgets import PagedTable, listing_fetch


class TriageScreen(FarmScreen):
    HELP = """
## Triage queue
Candidate farms, highest score first. A level of **high** needs evidence from two signal
families, **critical** from three; negative points are legitimate-looking evidence (one billing
org, institutional emails, a human rhythm).

- **Enter** opens a cluster: its members, score, shared attributes, templates, timeline
- **i** sources and quarantine, **t** templates, **r** re-runs triage
- **C** adds the cluster under the cursor, with its members, to a case; **c** shows the cases
- **Ctrl+P** every action; **F1** this help
"""
    BINDINGS = [
        Binding("i", "app.open_sources", "Sources", id="sources"),
        Binding("t", "app.open_templates", "Templates", id="templates"),
        Binding("r", "app.rerun", "Re-run triage", id="rerun"),
        Binding("C", "to_case", "Add to case", id="to-case"),
    ]

    TITLE = "triage queue"
    SUB_TITLE = "candidate farms, highest score first"

    def body(self) -> ComposeResult:
        yield Static(id="run-summary")
        yield PagedTable(id="clusters", title="Candidate farms")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        run = self.inv.run()
        summary = self.query_one("#run-summary", Static)
        table = self.query_one("#clusters", PagedTable)
        if run is None:
            if not self.inv.request_count():
                summary.update(Text(f"The store holds no requests. Load some: farmhound ingest FILES --db {visible(self.app.db)}",
                                    style="yellow"))  # fmt: skip
            else:
                summary.update(Text("No triage results yet. Press r to run triage.", style="yellow"))
            return
        text = Text.assemble(
            (f"{run.clusters:,} candidate farms", "bold"), "  ·  ",
            (f"{run.flagged:,} accounts flagged", "bold red" if run.flagged else ""), "  ·  ",
            f"{run.requests:,} requests  ·  {run.accounts:,} accounts  ·  {run.templates:,} templates  ·  ",
            f"config {run.config_hash}  ·  triaged {run.finished_at}",
        )  # fmt: skip
        if run.stale:
            text.append("\nFiles were loaded after this run: press r to re-run triage.", style="yellow")
        summary.update(text)
        if table.fetch is None:
            table.show(listing_fetch(self.inv, "clusters"))
        else:
            table.reload()

    def case_target(self) -> CaseTarget | None:
        row = self.query_one("#clusters", PagedTable).row()
        if row is None:
            return None
        cid = int(row["id"])
        return CaseTarget(f"cluster {cid} and its {row['size']:,} accounts",
                          lambda book, case, who: book.add_clusters(case, [cid], who))  # fmt: skip

    def on_paged_table_chosen(self, message: PagedTable.Chosen) -> None:
        self.app.open_cluster(int(message.row["id"]))
