"""A pivot: one value (an IP prefix, card BIN, payment fingerprint, email pattern, user agent,
signup hour, template, org) and every account that has it, with what else those accounts share
(facets) and their levels. Pivot again from any facet; open any account; Escape steps back along
the breadcrumb.

Not here: what counts as a shared value (triage writes `account_values`).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static

from farmhound.store.investigate import pivot_set
from tui.casework import CaseTarget
from tui.screens.base import FarmScreen
from tui.screens.cluster import FACET_COLUMNS
from tui.text import LEVEL_STYLES, kind, lit, pattern
from tui.widgets import PagedTable, listing_fetch, local_fetch

FACET_SAMPLE = 1000  # facets of a bigger set count its highest-scored accounts (and say so)
VIA_LIMIT = 200  # of a pivot value kept as how its accounts joined a case


def breadcrumb(trail: list[tuple[str, str]]) -> Text:
    """`cluster 1 › account acct_1 › card BIN 453275`: the pivot trail, values shown literally."""
    text = Text("trail: ", style="dim")
    for k, (name, value) in enumerate(trail):
        if k:
            text.append(" › ", style="dim")
        text.append(kind(name) + " ", style="dim")
        text.append_text(lit(value, 48, "bold" if k == len(trail) - 1 else ""))
    return text


class PivotScreen(FarmScreen):
    HELP = """
## Pivot
Every account that has this value, and (right) the values those accounts also share, with how
many of them have each and how many accounts have it platform-wide.
- **Enter** on an account opens it; on a shared value, pivots again.
- **Tab** switches tables; **Escape** goes back one step of the trail.
- **T** tags the account under the cursor, **A** every account with this value; **u** undoes.
- **C** adds every account with this value to a case (all of them, not only those loaded).
"""
    BINDINGS = [Binding("C", "to_case", "Add to case", id="to-case")]

    def __init__(self, kind_name: str, value: str, trail: list[tuple[str, str]] | None = None):
        super().__init__()
        self.kind, self.value = kind_name, value
        self.target = (kind_name, value)
        self.trail = [*(trail or []), (kind_name, value)]
        self.title = f"pivot on {kind(kind_name)}"

    def body(self) -> ComposeResult:
        yield Static(breadcrumb(self.trail), id="breadcrumb")
        yield Static(id="pivot-summary")
        with Horizontal(id="pivot-body"):
            yield PagedTable(id="accounts", title="Accounts with this value")
            yield PagedTable(id="facets", title="What these accounts also share")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.query_one("#accounts", PagedTable).show(
            listing_fetch(self.inv, "pivot", {"kind": self.kind, "value": self.value})
        )
        accounts = pivot_set(self.kind, self.value)
        self.load(lambda: (self.inv.levels(*accounts), self._value_text()), self._levels, "pivot-levels")
        self.load(
            lambda: self.inv.facets(*accounts, exclude=(self.kind, self.value), sample=FACET_SAMPLE),
            self._facets,
            "pivot-facets",
        )

    def _value_text(self) -> Text:
        """The value as the summary shows it: a template by its pattern (a store read: in the worker)."""
        if self.kind == "template":
            t = self.inv.template(int(self.value))
            return pattern(t["pattern"], 120) if t else lit(self.value)
        return lit(self.value, 120)

    def _levels(self, result: tuple[dict[str, int], Text]) -> None:
        levels, value = result
        n = sum(levels.values())
        if n > FACET_SAMPLE:
            self.query_one("#facets", PagedTable).set_title(
                f"What the {FACET_SAMPLE:,} highest-scored of these {n:,} accounts also share"
            )
        text = Text.assemble((f"{n:,} accounts", "bold"), " have ", (kind(self.kind) + " ", "dim"))
        text.append_text(value)
        text.append("   ")
        for name in ("critical", "high", "medium", "low", "unscored"):
            if levels.get(name):
                text.append(f"{name} {levels[name]:,}  ", style=LEVEL_STYLES.get(name, "dim"))
        self.query_one("#pivot-summary", Static).update(text)

    def _facets(self, facets) -> None:
        rows = [(f.members, f.accounts, f.kind, f.value) for f in facets]
        self.query_one("#facets", PagedTable).show(local_fetch(FACET_COLUMNS, rows))

    def group_here(self) -> tuple[str, str]:
        return (self.kind, self.value)

    def case_target(self) -> CaseTarget:
        inv, kind_name, value = self.inv, self.kind, self.value
        # The value as it is (cut at VIA_LIMIT), not as a screen shows it: every place that shows
        # `via` (listings, the case log, the CLI, the reports) makes it visible and inert itself.
        via = f"pivot on {kind(kind_name)} {value[:VIA_LIMIT]}"

        def add(book, case, who):  # in the write worker: every account with the value, not one page
            return book.add_accounts(case, inv.members_of(kind_name, value), who, via=via)

        return CaseTarget(f"every account with {kind(kind_name)} {value}", add)

    def on_paged_table_chosen(self, message: PagedTable.Chosen) -> None:
        row = message.row
        if message.table.id == "accounts":
            self.app.open_account(row["account_id"], self.trail)
        else:
            self.app.open_pivot(row["kind"], row["value"], self.trail)
