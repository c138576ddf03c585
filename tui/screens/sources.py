"""What was loaded: every source file with its hash, format and row accounting, and the
quarantined rows with their reasons (filterable; highlighting a source shows only its rows).

Not here: loading (`loaders/`).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.screens.base import FarmScreen
from tui.text import lit
from tui.widgets import PagedTable, listing_fetch


class SourcesScreen(FarmScreen):
    HELP = """
## Sources and quarantine
Every file loaded: its SHA-256, format, and rows read = stored + duplicates + quarantined.
Highlighting a source shows its quarantined rows below, each with the line, the reason and the
raw row (shown literally). **/** filters either table, e.g. by reason.
"""

    def body(self) -> ComposeResult:
        yield PagedTable(id="sources", title="Files loaded")
        yield Static(id="source-detail")
        yield PagedTable(id="quarantine", title="Quarantined rows")

    def on_mount(self) -> None:
        self.title = "sources"
        self.sub_title = "ingest summary and quarantine"
        self.query_one("#sources", PagedTable).show(listing_fetch(self.inv, "sources"))
        self.query_one("#quarantine", PagedTable).show(listing_fetch(self.inv, "quarantine"))
        self.load(self.inv.quarantine_reasons, self._reasons, "quarantine-reasons")

    def _reasons(self, reasons) -> None:
        if not reasons:
            self.query_one("#source-detail", Static).update(Text("No row was quarantined.", style="green"))
            return
        text = Text("quarantined: ", style="dim")
        text.append_text(lit(", ".join(f"{r} {n:,}" for r, n in reasons), 400))
        self.query_one("#source-detail", Static).update(text)

    def on_paged_table_highlighted(self, message: PagedTable.Highlighted) -> None:
        if message.table.id != "sources":
            return
        row = message.row
        text = Text.assemble(lit(row["path"], 200, "bold"), "\nsha256 ", (row["sha256"], "dim"))
        self.query_one("#source-detail", Static).update(text)
        self.query_one("#quarantine", PagedTable).show(
            listing_fetch(self.inv, "quarantine", {"source": row["id"]}),
            title=f"Quarantined rows of source {row['id']}",
        )
