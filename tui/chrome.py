"""The furniture every screen shares: a timeline chart, the running job's bar, the key hints.

Not here: tables (`widgets.py`).
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Label, Sparkline, Static

from farmhound.safe import visible
from tui.text import when


class Timeline(Vertical):
    """Requests over time as a sparkline, with its first and last time under it."""

    DEFAULT_CSS = """
    Timeline { height: auto; }
    Timeline Sparkline { height: 3; }
    Timeline Label { color: $text-muted; }
    """

    def __init__(self, caption: str, **kwargs):
        super().__init__(**kwargs)
        self.caption = caption

    def compose(self):
        yield Label(self.caption, classes="timeline-caption")
        yield Sparkline([], summary_function=max)
        yield Label("", classes="timeline-axis")

    def set_counts(self, counts: list[int], first: int | None = None, last: int | None = None, axis: str = "") -> None:
        self.query_one(Sparkline).data = counts
        peak = max(counts) if counts else 0
        if not axis and first is not None:
            axis = f"{when(first)}  →  {when(last)}"
        self.query_one(".timeline-axis", Label).update(Text(f"{axis}   peak {peak:,} per slot   total {sum(counts):,}"))


class TaskBar(Static):
    """The running job: its phase, how far it is, and how to cancel it. One line of text (every
    screen has one, hidden while no job runs, so it must cost nothing to mount)."""

    DEFAULT_CSS = """
    TaskBar { height: 1; display: none; }
    TaskBar.-running { display: block; }
    """
    WIDTH = 30

    def report(self, label: str, fraction: float) -> None:
        self.set_class(True, "-running")
        done = round(self.WIDTH * min(max(fraction, 0.0), 1.0))
        self.update(Text.assemble(("━" * done, "bold green"), ("━" * (self.WIDTH - done), "dim"),
                                  f" {fraction:4.0%}  {visible(label, 120)}   (Esc cancels)"))  # fmt: skip

    def finish(self) -> None:
        self.set_class(False, "-running")


class KeyHints(Static):
    """The footer: the keys that work here, as one line; click a key to use it.

    Not Textual's Footer: that rebuilds one widget per key at every focus change, and (Textual
    8.2) keeps each old one alive through its data binding, so the heap grows by the hundreds of
    widgets and the collector's full passes stall keypresses for 100 ms and more."""

    DEFAULT_CSS = """
    KeyHints { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._spans: list[tuple[int, int, object, str]] = []  # (start, end, node, action)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._changed)
        self._render_hints()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _changed(self, screen) -> None:
        if self.is_attached and screen is self.screen:
            self._render_hints()

    def on_resize(self) -> None:
        self._render_hints()

    def _render_hints(self) -> None:
        bindings = list(self.screen.active_bindings.values())
        palette = [b for b in bindings if b.binding.key == self.app.COMMAND_PALETTE_BINDING]
        shown, seen = [], set()
        for node, binding, enabled, _ in palette + [b for b in bindings if b.binding.show and b not in palette]:
            if enabled and binding.action not in seen:
                seen.add(binding.action)
                shown.append((node, binding))
        width = self.size.width or 10_000
        for short in (False, True):  # on a narrow terminal: the first word of each description
            text, spans = Text(), []
            for node, binding in shown:
                description = binding.description or "palette"
                start = len(text)
                key = self.app.get_key_display(binding)
                text.append(key if short else f" {key} ", style="bold reverse")
                text.append(f" {description.split()[0]} " if short else f" {description}  ")
                spans.append((start, len(text), node, binding.action))
            if text.cell_len <= width:
                break
        self._spans = spans
        self.update(text)

    async def on_click(self, event) -> None:
        for start, end, node, action in self._spans:
            if start <= event.x < end:
                await self.app.run_action(action, node)
                return
