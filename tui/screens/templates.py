"""Prompt templates: families sorted by how many accounts send them, the accounts using the
highlighted template, and two of its prompts side by side with the variable parts highlighted.

Not here: mining templates (`farmhound/templates/`).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from tui.casework import CaseTarget
from tui.screens.base import FarmScreen
from tui.text import pattern, side_by_side
from tui.widgets import PagedTable, listing_fetch


class TemplatesScreen(FarmScreen):
    HELP = """
## Templates
Template families, the most widely spread first (family accts: accounts sending any template of
the family). Moving the cursor shows the template's accounts and two of its prompts side by side,
the parts that differ (its slots) highlighted.
- **[ / ]** compare other prompts of the template
- **Enter** pivots to every account sending the template
- **C** adds the highlighted template to a case (kept by its pattern's SHA-256)
"""
    BINDINGS = [
        Binding("left_square_bracket", "compare(-1)", "Prev pair", id="compare-prev"),
        Binding("right_square_bracket", "compare(1)", "Next pair", id="compare-next"),
        Binding("C", "to_case", "Add to case", id="to-case"),
    ]

    TITLE = "templates"
    SUB_TITLE = "families by spread"

    def __init__(self):
        super().__init__()
        self.template_id: int | None = None
        self.examples: list[str] = []
        self.pair = 0

    def body(self) -> ComposeResult:
        yield PagedTable(id="templates", title="Template families by spread")
        yield Static(id="template-pattern")
        with Horizontal(id="template-detail"):
            yield PagedTable(id="template-accounts", title="Accounts sending it")
            with VerticalScroll(id="compare-left"):
                yield Static(id="example-a")
            with VerticalScroll(id="compare-right"):
                yield Static(id="example-b")

    def on_mount(self) -> None:
        self.query_one("#templates", PagedTable).show(listing_fetch(self.inv, "templates"))

    def on_paged_table_highlighted(self, message: PagedTable.Highlighted) -> None:
        if message.table.id != "templates":
            return
        tid = int(message.row["id"])
        if tid == self.template_id:
            return
        self.template_id = tid
        self.query_one("#template-pattern", Static).update(
            Text.assemble((f"template {tid}: ", "bold"), pattern(message.row["pattern"], 400))
        )
        self.query_one("#template-accounts", PagedTable).show(
            listing_fetch(self.inv, "pivot", {"kind": "template", "value": str(tid)})
        )
        self.load(lambda: self.inv.template_examples(tid), self._examples, "template-examples")

    def _examples(self, examples: list[str]) -> None:
        self.examples, self.pair = examples, 0
        self._compare()

    def _compare(self) -> None:
        ex = self.examples
        if len(ex) < 2:
            a = side_by_side(ex[0], ex[0])[0] if ex else Text("(no prompt text stored)", style="dim")
            b = Text("(only one distinct prompt)", style="dim")
            label_a, label_b = "prompt 1 of 1", ""
        else:
            i, j = self.pair % len(ex), (self.pair + 1) % len(ex)
            a, b = side_by_side(ex[i], ex[j])
            label_a, label_b = f"prompt {i + 1} of {len(ex)}", f"prompt {j + 1} of {len(ex)}"
        self.query_one("#example-a", Static).update(Text.assemble((label_a + "\n", "dim"), a))
        self.query_one("#example-b", Static).update(Text.assemble((label_b + "\n", "dim"), b))

    def action_compare(self, step: int) -> None:
        if len(self.examples) >= 2:
            self.pair = (self.pair + step) % len(self.examples)
            self._compare()

    def case_target(self) -> CaseTarget | None:
        tid = self.template_id
        if tid is None:
            return None
        return CaseTarget(f"template {tid}", lambda book, case, who: book.add_templates(case, [tid], who))

    def on_paged_table_chosen(self, message: PagedTable.Chosen) -> None:
        trail = [("template", str(self.template_id))] if self.template_id is not None else []
        if message.table.id == "templates":
            self.app.open_pivot("template", str(message.row["id"]))
        else:
            self.app.open_account(message.row["account_id"], trail)
