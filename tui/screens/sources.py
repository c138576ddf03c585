"""What was loaded: every source file with its hash, format and row accounting, and the
quarantined rows with their reasons (filterable; highlighting a source shows only its rows).

Not here: loading (`loaders/`).
"""

from __future__ import annotations

import json

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

    TITLE = "sources"
    SUB_TITLE = "ingest summary and quarantine"

    def body(self) -> ComposeResult:
        yield PagedTable(id="sources", title="Files loaded")
        yield Static(id="source-detail")
        yield Static(id="quarantine-summary")
        yield PagedTable(id="quarantine", title="Quarantined rows")

    def on_mount(self) -> None:
        self.query_one("#sources", PagedTable).show(listing_fetch(self.inv, "sources"))
        self.query_one("#quarantine", PagedTable).show(listing_fetch(self.inv, "quarantine"))
        self.load(self.inv.quarantine_reasons, self._reasons, "quarantine-reasons")

    def _reasons(self, reasons) -> None:
        if not reasons:
            self.query_one("#quarantine-summary", Static).update(Text("No row was quarantined.", style="green"))
            return
        text = Text("quarantined, all files: ", style="dim")
        text.append_text(lit(", ".join(f"{r} {n:,}" for r, n in reasons), 400))
        self.query_one("#quarantine-summary", Static).update(text)

    def on_paged_table_highlighted(self, message: PagedTable.Highlighted) -> None:
        if message.table.id != "sources":
            return
        row = message.row
        text = Text.assemble(lit(row["path"], 200, "bold"), ("\nsha256 ", "dim"), row["sha256"])
        if row["notes"]:
            text.append("\nnotes ", style="dim")
            text.append_text(lit(", ".join(f"{k}: {v:,} rows" for k, v in json.loads(row["notes"]).items()), 300))
        self.query_one("#source-detail", Static).update(text)
        self.query_one("#quarantine", PagedTable).show(
            listing_fetch(self.inv, "quarantine", {"source": row["id"]}),
            title=f"Quarantined rows of source {row['id']}",
        )
