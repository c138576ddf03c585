"""Input fields that draw what they hold literally.

Textual's `Input` draws its value as it is, so text an analyst pastes (an account id or a user
agent copied from a report, a spreadsheet or a log) would send its escape sequences, bidi overrides
and zero-width characters straight to the terminal. `LiteralInput` draws each such character as one
visible cell (`farmhound.safe.pictured`: ␛ for ESC, � for a bidi override), so the cursor still
moves one character at a time, while the value keeps the text exactly: a filter or a search still
finds it. `LiteralCommandPalette` is Textual's command palette with that input.

Not here: what the inputs are for (`widgets.py`, `case_modals.py`, `tagging.py`, `commands.py`).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.command import CommandInput, CommandPalette
from textual.expand_tabs import expand_tabs_inline
from textual.widgets import Input

from farmhound.safe import pictured


class LiteralInput(Input):
    """An `Input` that never draws a control, bidi or zero-width character it holds."""

    @property
    def _value(self) -> Text:
        if self.password:
            return super()._value
        return Text(pictured(self.value), no_wrap=True, overflow="ignore", end="")

    def _position_to_cell(self, position: int) -> int:
        return cell_len(expand_tabs_inline(pictured(self.value[:position]), 4))


class _LiteralCommandInput(CommandInput, LiteralInput):
    """CommandInput first: Textual's CSS and the palette's focus find it by that type name."""


class LiteralCommandPalette(CommandPalette):
    """Textual's command palette, its search field a `LiteralInput`."""

    def compose(self):
        for widget in super().compose():
            if type(widget) is CommandInput:
                widget = _LiteralCommandInput(placeholder=widget.placeholder, select_on_focus=False)
            yield widget
