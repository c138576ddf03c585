"""The dialogs of case work: a small form (a new case, a note), picking the case to add to, and
the export options. Each returns what the analyst chose, or None on Escape; none of them writes.

Not here: the writes (`casework.py`), the Cases screen (`screens/case.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from farmhound.safe import visible
from tui.inputs import LiteralInput


class FormModal(ModalScreen[dict | None]):
    """A title and a few one-line fields: Tab moves between them, Enter in any of them returns
    {field id: text} (the first is required), Escape cancels."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: Text | str, fields: list[tuple[str, str, str]], hint: str = ""):
        """Args: fields: (id, placeholder, initial value) of each field, in order."""
        super().__init__(classes="case-modal")
        self.heading, self.fields, self.hint = title, fields, hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.heading if isinstance(self.heading, Text) else Text(self.heading, style="bold"))
            if self.hint:
                yield Label(Text(self.hint, style="dim"))
            for field_id, placeholder, value in self.fields:
                yield LiteralInput(value=value, placeholder=placeholder, id=field_id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if not inputs[0].value.strip():
            inputs[0].focus()
            return
        self.dismiss({i.id: i.value for i in inputs})


class CasePickModal(ModalScreen[str | None]):
    """Which case `what` goes to: type a name (a new one creates the case) or pick one below."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, what: str, names: list[str], current: str | None):
        super().__init__(classes="case-modal")
        self.what, self.names = what, names
        self.current = current if current in names else (names[0] if names else "")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble(("Add to a case: ", "bold"), visible(self.what, 80)))
            yield LiteralInput(value=self.current, placeholder="case name (a new name opens a new case)", id="case-name")
            yield Label(id="case-pick-hint")
            options = [Option(Text(visible(n, 64)), id=str(k)) for k, n in enumerate(self.names)]
            yield OptionList(*options, id="case-choices")

    def on_mount(self) -> None:
        self.query_one("#case-choices").display = bool(self.names)
        self._hint(self.current)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._hint(event.value)

    def _hint(self, name: str) -> None:
        name = name.strip()
        known = {n.casefold(): n for n in self.names}
        if not name:
            pick = ", or ↓ to pick one below" if self.names else ""
            text = f"Type a case name{pick}. Enter adds; Escape cancels."
        elif name.casefold() in known:
            text = f"Enter adds to the case {visible(known[name.casefold()], 64)}."
        else:
            text = f"Enter opens a new case {visible(name, 64)} and adds to it."
        self.query_one("#case-pick-hint", Label).update(Text(text, style="dim"))

    def on_key(self, event) -> None:
        if event.key == "down" and self.focused is self.query_one("#case-name") and self.names:
            event.stop()
            self.query_one("#case-choices", OptionList).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.names[int(event.option.id or 0)])


@dataclass
class ExportRequest:
    case: str
    out: Path
    tlp: str
    redact: list[str]
    make_zip: bool


class ExportModal(ModalScreen[ExportRequest | None]):
    """Where the case file goes, its TLP marking, what is redacted, and whether to zip it."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, case: str, tlp_levels: tuple[str, ...], redact_kinds: tuple[str, ...], tlp: str = "amber"):
        super().__init__(classes="case-modal")
        self.case, self.tlp_levels, self.redact_kinds, self.default_tlp = case, tlp_levels, redact_kinds, tlp

    def compose(self) -> ComposeResult:
        with Vertical(id="export-form"):
            yield Label(Text.assemble(("Export the case file of ", "bold"), visible(self.case, 64)))
            yield Label(Text(f"folder (relative to {visible(Path.cwd(), 80)}); it must not exist yet", style="dim"))
            yield LiteralInput(value=f"cases/{self.case}", id="export-out")
            with Horizontal(classes="export-row"):
                yield Label("TLP ", classes="export-label")
                default = self.default_tlp if self.default_tlp in self.tlp_levels else self.tlp_levels[0]
                yield Select(
                    [(t.upper(), t) for t in self.tlp_levels], value=default, allow_blank=False, id="export-tlp"
                )
            with Horizontal(classes="export-row"):
                yield Label("redact ", classes="export-label")
                for kind in self.redact_kinds:
                    yield Checkbox(kind, id=f"redact-{kind}")
            yield Checkbox("also write a .zip beside the folder", id="export-zip")
            with Horizontal(classes="export-row"):
                yield Button("Export", variant="primary", id="export-go")
                yield Button("Cancel", id="export-cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "export-go":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        raw = self.query_one("#export-out", Input).value.strip()
        if not raw:
            self.notify("Give the folder to write the case file to.", severity="warning", markup=False)
            return
        out = Path(raw).expanduser()
        self.dismiss(ExportRequest(
            case=self.case,
            out=out if out.is_absolute() else Path.cwd() / out,
            tlp=str(self.query_one("#export-tlp", Select).value),
            redact=[k for k in self.redact_kinds if self.query_one(f"#redact-{k}", Checkbox).value],
            make_zip=self.query_one("#export-zip", Checkbox).value,
        ))  # fmt: skip
