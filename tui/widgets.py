"""The workbench's table: it pages from the store, sorts and filters, with its filter bar.

`PagedTable` is the one table of the app: it asks a fetch function for one page at a time (a
store `Listing`, or rows already in memory), loads the next page as the cursor nears the end,
sorts by a column in the query (`s`), and filters with `/`. Loading runs in a thread worker, so a
slow query never freezes the screen. Widgets post `...Chosen` / `...Highlighted` messages up;
screens decide what opening a row means.

Not here: what a screen shows (see `tui/screens/`), SQL (`farmhound/store/`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.content import Content
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable, Input
from textual.worker import get_current_worker

from farmhound.safe import visible
from farmhound.store.investigate import Investigation, Page
from farmhound.store.listings import Column
from tui.inputs import LiteralInput
from tui.text import cell, kind

Fetch = Callable[[int, int, str, str | None, bool | None], Page]  # offset, limit, search, sort, descending


def listing_fetch(inv: Investigation, listing: str, params: dict | None = None) -> Fetch:
    """A fetch that pages one of the store's listings."""

    def fetch(offset, limit, search, sort, descending):
        return inv.page(listing, params, search=search, sort=sort, descending=descending, offset=offset, limit=limit)

    return fetch


def local_fetch(columns: Sequence[Column], rows: Sequence[tuple]) -> Fetch:
    """A fetch over rows already in memory (a score's reasons, a set's facets)."""
    columns = tuple(columns)

    def fetch(offset, limit, search, sort, descending):
        picked = list(rows)
        if search:
            s = search.casefold()
            idx = [k for k, c in enumerate(columns) if c.searchable]
            picked = [r for r in picked if any(s in shown(r[k], columns[k]).casefold() for k in idx)]
        if sort:
            k = next(i for i, c in enumerate(columns) if c.name == sort)
            present = [r for r in picked if r[k] is not None]
            present.sort(key=lambda r: r[k], reverse=bool(descending))
            picked = present + [r for r in picked if r[k] is None]  # like SQL's NULLS LAST
        return Page(columns, picked[offset : offset + limit], offset, offset + limit < len(picked))

    return fetch


def shown(value, column: Column) -> str:
    """The text a filter matches: what the cell says (a kind's label, not its code)."""
    return kind(str(value)) if column.kind == "kind" else str(value)


@dataclass
class _RowMessage(Message):
    table: PagedTable
    row: dict  # {column name: value}

    @property
    def control(self) -> PagedTable:
        return self.table


class PagedTable(DataTable):
    """A table that shows a listing one page at a time."""

    HELP = """
## Table
- **↑ ↓ ← → / j k h l** move, **g / G** first / last loaded row, **PgUp / PgDn** page
- **Enter** opens the row (an account, a cluster, a pivot on a value)
- **< / >** pick the column to sort by (underlined), **s** sorts by it (again: reverse); or click a header
- **/** filters: rows containing the text in any text column
- **Space** marks the row (●) or unmarks it: **T** and **C** then act on the marked rows. Marks
  stay while you sort, filter and scroll, and until the tag or the case add is written (Escape in
  its dialog keeps them).
- More rows load as you scroll; the title says `60 of >60` until all are loaded.
"""
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("h", "cursor_left", "Left", show=False),
        Binding("l", "cursor_right", "Right", show=False),
        Binding("g", "scroll_top", "First", show=False),
        Binding("G", "scroll_bottom", "Last", show=False),
        Binding("less_than_sign", "sort_column(-1)", "Sort column ←", show=False, id="sort-left"),
        Binding("greater_than_sign", "sort_column(1)", "Sort column →", show=False, id="sort-right"),
        Binding("s", "sort", "Sort", id="sort"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("space", "toggle_mark", "Mark", show=False, id="mark"),
    ]

    class Chosen(_RowMessage):
        """Enter on a row."""

    class Highlighted(_RowMessage):
        """The cursor moved onto a row."""

    @dataclass
    class FirstPage(Message):
        """The table shows its first rows (screens start their slower panels after this)."""

        table: PagedTable

    @dataclass
    class FilterRequested(Message):
        table: PagedTable

    @dataclass
    class _Loaded(Message):
        page: Page
        generation: int
        append: bool

    def __init__(self, fetch: Fetch | None = None, *, title: str = "", page_size: int = 60, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.fetch = fetch
        self.title = title
        self.page_size = page_size
        self.search = ""
        self.sort_by: str | None = None
        self.descending: bool | None = None
        self.rows_data: list[tuple] = []
        self.sort_column = 0  # the column `s` sorts by, picked with < and >
        self.columns_spec: tuple[Column, ...] = ()
        self.more = False
        self.loads = 0  # pages shown so far (tests and benchmarks wait on it)
        self._generation = 0
        self._loading = False
        self._keep_row: int | None = None
        self.marked: dict[object, dict] = {}  # the rows marked with Space, by key (see `_key`)

    def on_mount(self) -> None:
        # F1 shows the focused widget's help: the screen's, then how tables work.
        self.HELP = f"{getattr(self.screen, 'HELP', '')}\n{type(self).HELP}"
        if self.fetch is not None:
            self.reload()

    # -- loading --------------------------------------------------------------------------------

    def show(self, fetch: Fetch, title: str | None = None) -> None:
        """Page a new source from its start."""
        self.fetch = fetch
        if title is not None:
            self.title = title
        self.search, self.sort_by, self.descending, self.sort_column = "", None, None, 0
        self.marked = {}
        self.reload()

    def set_title(self, title: str) -> None:
        self.title = title
        self._status()

    def reload(self, keep_cursor: bool = False) -> None:
        """Page the source again from its start; with `keep_cursor`, the cursor stays on the same
        row number (after a row was removed: the next one), within the first page."""
        self._generation += 1
        self._keep_row = self.cursor_row if keep_cursor and self.row_count else None
        self._load(0, False)

    def _load(self, offset: int, append: bool) -> None:
        if self.fetch is None:
            return
        self._loading = True
        self._fetch(self.fetch, offset, self.search, self.sort_by, self.descending, self._generation, append)

    @work(thread=True, exclusive=True, group="page", exit_on_error=False, description="loading rows")
    def _fetch(self, fetch, offset, search, sort, descending, generation, append) -> None:
        page = fetch(offset, self.page_size, search, sort, descending)
        if not get_current_worker().is_cancelled:
            self.post_message(self._Loaded(page, generation, append))

    @on(_Loaded)
    def _show_page(self, message: _Loaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        page = message.page
        if not message.append:
            self.clear(columns=self.columns_spec != page.columns)
            if not self.columns:
                self.columns_spec = page.columns
                for c in page.columns:
                    self.add_column(self._header(c), key=c.name)
            else:
                self._relabel()
            self.rows_data = []
        kinds = [c.kind for c in page.columns]
        cells = [[cell(v, k) for v, k in zip(row, kinds, strict=True)] for row in page.rows]
        if self.marked:
            for row, shown_row in zip(page.rows, cells, strict=True):
                if self._key(row) in self.marked:
                    shown_row[0] = _marked(shown_row[0])
        self.add_rows(cells)
        self.rows_data.extend(page.rows)
        if not message.append and self._keep_row and self.row_count:
            self.move_cursor(row=min(self._keep_row, self.row_count - 1), animate=False)
        self._keep_row = None
        self.more = page.more
        self._loading = False
        self.loads += 1
        self._status()
        if self.loads == 1:
            self.post_message(self.FirstPage(self))

    def _header(self, c: Column) -> Text:
        arrow = "  "  # the width an arrow needs, kept so that sorting never clips a header
        if c.name == (self.sort_by or ""):
            arrow = " ↓" if self.descending else " ↑"
        picked = self.columns_spec and self.columns_spec[self.sort_column].name == c.name
        justify = "right" if c.kind in ("int", "float") else "left"
        return Text.assemble((c.label, "underline" if picked else ""), arrow, justify=justify)

    def _relabel(self) -> None:
        for c in self.columns_spec:
            if c.name in self.columns:
                self.columns[c.name].label = self._header(c)  # type: ignore[index]
        self.refresh()

    def _status(self) -> None:
        n = len(self.rows_data)
        count = f"{n:,} of >{n:,}" if self.more else f"{n:,} rows"
        parts = [count] + ([f"{len(self.marked):,} marked"] if self.marked else [])
        if self.search:
            parts.append(f"filter “{visible(self.search, 60)}”")
        # Content, not markup: `textual.markup.escape` lets `[B]` or `[$x]` through as markup
        self.border_subtitle = Content(" · ".join(parts))
        self.border_title = Content(visible(self.title)) if self.title else None

    # -- user actions ---------------------------------------------------------------------------

    def row(self, index: int | None = None) -> dict | None:
        """The loaded row at `index` (default: the cursor's), as {column name: value}."""
        index = self.cursor_row if index is None else index
        if index is None or not (0 <= index < len(self.rows_data)):
            return None
        return dict(zip((c.name for c in self.columns_spec), self.rows_data[index], strict=True))

    def _key(self, row: tuple) -> object:
        """A row's identity across reloads: its account if it has one, else the whole row."""
        names = [c.name for c in self.columns_spec]
        return row[names.index("account_id")] if "account_id" in names else row

    def action_toggle_mark(self) -> None:
        index = self.cursor_row
        if not (0 <= index < len(self.rows_data)):
            return
        raw = self.rows_data[index]
        key = self._key(raw)
        first = cell(raw[0], self.columns_spec[0].kind)
        if self.marked.pop(key, None) is None:
            self.marked[key] = self.row(index)
            first = _marked(first)
        self.update_cell_at(Coordinate(index, 0), first, update_width=True)
        self._status()
        if index + 1 < self.row_count:
            self.move_cursor(row=index + 1)  # Space, Space, Space marks a run of rows

    def marked_rows(self) -> list[dict]:
        return list(self.marked.values())

    def clear_marks(self) -> None:
        if self.marked:
            self.marked = {}
            self.reload(keep_cursor=True)

    def unmark(self, keys: list[object]) -> None:
        """Unmark the rows of these keys (accounts), leaving any other mark (made since) alone."""
        unmarked = [k for k in keys if self.marked.pop(k, None) is not None]
        if unmarked:
            self.reload(keep_cursor=True)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if self.more and not self._loading and event.cursor_row >= len(self.rows_data) - 10:
            self._load(len(self.rows_data), True)
        row = self.row(event.cursor_row)
        if row is not None:
            self.post_message(self.Highlighted(self, row))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.row(event.cursor_row)
        if row is not None:
            self.post_message(self.Chosen(self, row))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_column = event.column_index
        self.sort_on(str(event.column_key.value))

    def action_sort_column(self, step: int) -> None:
        if self.columns_spec:
            self.sort_column = (self.sort_column + step) % len(self.columns_spec)
            self._relabel()

    def action_sort(self) -> None:
        if self.columns_spec:
            self.sort_on(self.columns_spec[self.sort_column].name)

    def sort_on(self, name: str) -> None:
        spec = next((c for c in self.columns_spec if c.name == name), None)
        if spec is None or not spec.sortable:
            self.notify(f"{spec.label if spec else name}: not sortable", severity="warning", markup=False)
            return
        if self.sort_by == name:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = name, spec.kind not in ("text", "kind")
        self.reload()

    def set_search(self, text: str) -> None:
        if text != self.search:
            self.search = text
            self.reload()

    def action_filter(self) -> None:
        self.post_message(self.FilterRequested(self))

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=max(self.row_count - 1, 0))


def _marked(shown: Text) -> Text:
    return Text.assemble(("● ", "bold yellow"), shown, justify=shown.justify)


class FilterBar(LiteralInput):
    """`/` filter of the focused table: typing filters as you go, Enter keeps it, Escape clears it."""

    HELP = "## Filter\nType to keep rows containing the text. **Enter** keeps the filter, **Escape** clears it."
    BINDINGS = [Binding("escape", "clear", "Clear filter", id="filter-clear")]

    def __init__(self, **kwargs):
        super().__init__(placeholder="filter rows…  (Enter keeps, Escape clears)", **kwargs)
        self.table: PagedTable | None = None

    def open_for(self, table: PagedTable) -> None:
        self.table = table
        self.value = table.search
        self.display = True
        self.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.table is not None:
            self.table.set_search(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close()

    def action_clear(self) -> None:
        if self.table is not None:
            self.table.set_search("")
        self._close()

    def _close(self) -> None:
        self.display = False
        if self.table is not None:
            self.table.focus()
