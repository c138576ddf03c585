"""Tagging from the workbench: the dialog that asks for the tag and the note, and the writes.

`T` tags the account under the cursor, `A` every account of the list on screen (a cluster's
members, a pivot's accounts); `u` undoes the latest change and `U` redoes it. Writes go through
`farmhound/store/tags.py` on a connection of their own, in a thread worker: tagging a farm of 10k
accounts is one transaction and never blocks the screen.

Not here: the log's rules (statuses exclusive, batches, undo) — the store's tag module.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from farmhound.safe import visible
from farmhound.store.tags import STATUSES
from tui.inputs import LiteralInput


@dataclass
class TagRequest:
    accounts: list[str]
    tag: str
    note: str | None


class TagModal(ModalScreen[TagRequest | None]):
    """Asks for a tag and a note for `accounts`; Enter applies, Escape cancels."""

    DEFAULT_CSS = """
    TagModal { align: center middle; }
    TagModal > Vertical { width: 72; height: auto; border: round $accent; background: $panel; padding: 1 2; }
    TagModal Input { margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, accounts: list[str], what: str):
        super().__init__()
        self.accounts, self.what = accounts, what

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble(("Tag ", "bold"), visible(self.what, 60)))
            yield Label(Text(f"{' / '.join(STATUSES)}, or a one-word label", style="dim"))
            yield LiteralInput(value="suspected", id="tag-name")
            yield LiteralInput(placeholder="note: why (kept with every change)", id="tag-note")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "tag-name":
            self.query_one("#tag-note", Input).focus()
            return
        tag = self.query_one("#tag-name", Input).value.strip()
        note = self.query_one("#tag-note", Input).value.strip() or None
        self.dismiss(TagRequest(self.accounts, tag, note) if tag else None)


def describe(batch) -> str:
    """`do #3: add suspected on 104 accounts`."""
    changes: dict[str, int] = {}
    for e in batch.events:
        changes[f"{e.action} {e.tag}"] = changes.get(f"{e.action} {e.tag}", 0) + 1
    return f"{batch.kind} #{batch.id}: " + ", ".join(f"{k} on {n:,}" for k, n in changes.items())
