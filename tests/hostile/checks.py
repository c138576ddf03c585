"""Injection detectors for `tests/test_hostile.py`, one per medium. Each returns findings: strings
naming the corpus entry (by the `h007` prefix of its account or request id, where the output shows
one), the field and the output, so a failing test says exactly what got through where.

The definition of "unsafe in a terminal" here is independent of `farmhound.safe.visible`: every
character of Unicode categories Cc (controls, but TAB and LF), Cf (format: bidi controls,
zero-width characters, tag characters, the soft hyphen), Cs (lone surrogates), Zl and Zp, except the
few format characters that are visible signs (Arabic number signs and the like).

Not here: building the store (`build.py`) or driving the outputs (`tests/test_hostile.py`).
"""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata
from html.parser import HTMLParser

from hostile.corpus import ENTRIES

# Format characters that draw a visible sign (prepended concatenation marks, hieroglyph controls).
_VISIBLE_FORMAT = {*range(0x600, 0x606), 0x6DD, 0x70F, 0x890, 0x891, 0x8E2, 0x110BD, 0x110CD, *range(0x13430, 0x13440)}


def _unsafe_class() -> str:
    ranges, start, prev = [], None, None
    for c in range(sys.maxunicode + 1):
        bad = unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp") and c not in (9, 10, *_VISIBLE_FORMAT)
        if bad and start is None:
            start = c
        if not bad and start is not None:
            ranges.append((start, prev))
            start = None
        prev = c
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in ranges)


UNSAFE = re.compile(f"[{_unsafe_class()}]")
_ID = re.compile(r"(?<![^\W_])h(\d{3})(?![^\W_])")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def entry_of(text: str) -> str:
    """The corpus entries an id in `text` names (`...-h007`, `h007` or the request `h007-r3`), or "?"."""
    names = sorted({ENTRIES[int(m.group(1))].name for m in _ID.finditer(text) if int(m.group(1)) < len(ENTRIES)})
    return ",".join(names) or "?"


def _context(text: str, pos: int, width: int = 60) -> str:
    return repr(text[max(0, pos - width) : pos + width])


def raw_controls(text: str, output: str, allow: str = "", where: str = "") -> list[str]:
    """A finding for each line of `text` holding a character a terminal would act on, or that hides
    or reorders text (`allow`: characters this output may hold, such as CR in CRLF files)."""
    found, seen = [], set()
    for m in UNSAFE.finditer(text):
        if m.group() in allow:
            continue
        start = text.rfind("\n", 0, m.start()) + 1
        if start in seen:
            continue
        seen.add(start)
        end = text.find("\n", m.start())
        line = text[start : end if end >= 0 else len(text)]
        who = entry_of(line if _ID.search(line) else text[max(0, m.start() - 2000) : m.start()] + where)
        found.append(f"{output}: raw {m.group()!r} (entry {who}) near {_context(text, m.start())}")
        if len(found) >= 20:
            found.append(f"{output}: ... more raw characters")
            break
    return found


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def formula_cells(text: str, output: str, id_column: str) -> list[str]:
    """A finding for each CSV cell a spreadsheet would run: one starting with = + - @ TAB CR LF or a
    full-width form of them, also after leading blanks (numbers aside)."""
    found = []
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    key = header.index(id_column)
    for row in body:
        if len(row) != len(header):
            found.append(f"{output}: a row of {len(row)} cells under a header of {len(header)} ({entry_of(row[key])})")
            continue
        for column, cell in zip(header, row, strict=True):
            if (cell.startswith(FORMULA_START) or cell.lstrip().startswith(FORMULA_START)) and not _is_number(cell):
                found.append(f"{output}: column {column} of {entry_of(row[key])} starts a formula: {cell[:60]!r}")
    return found


class Elements(HTMLParser):
    """Every element, attribute, comment and declaration of an HTML document, and its text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]], int]] = []
        self.others: list[str] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs, self.getpos()[0]))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.others.append(f"comment {data[:60]!r}")

    def handle_pi(self, data):
        self.others.append(f"processing instruction {data[:60]!r}")

    def unknown_decl(self, data):
        self.others.append(f"declaration {data[:60]!r}")


# What the report writes itself: document, headings, tables, the TLP banner, the inline SVG charts.
HTML_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "footer", "nav", "section", "h1", "h2", "h3",
    "dl", "dt", "dd", "p", "div", "span", "b", "i", "small", "a", "figure", "figcaption", "table", "thead", "tbody",
    "tr", "th", "td", "pre", "svg", "g", "rect", "text", "tspan", "line", "path", "polyline",
}  # fmt: skip
# What markdown-it makes of the report's own Markdown.
MD_TAGS = {"p", "strong", "em", "h1", "h2", "h3", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "hr", "br"}


def html_findings(text: str, output: str, allowed: set[str]) -> list[str]:
    """Elements outside `allowed`, event handlers, links and sources anywhere but `#...`, script,
    comments and declarations: each a finding."""
    found = []
    lines = text.split("\n")
    doc = Elements(text)
    for tag, attrs, line in doc.tags:
        near = lines[line - 1] if line - 1 < len(lines) else ""
        who = entry_of(near)
        if tag not in allowed:
            found.append(f"{output}: element <{tag}> (entry {who}) near {near[:120]!r}")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                found.append(f"{output}: event handler {name}= on <{tag}> (entry {who})")
            if name in ("src", "srcset", "action", "formaction", "xlink:href", "background", "poster", "data"):
                found.append(f"{output}: {name}={value[:60]!r} on <{tag}> (entry {who})")
            if name == "href" and not value.startswith("#"):
                found.append(f"{output}: href={value[:60]!r} on <{tag}> (entry {who})")
            if "javascript:" in value.lower() or "url(" in value.lower():
                found.append(f"{output}: {name}={value[:60]!r} on <{tag}> (entry {who})")
    found += [f"{output}: {o}" for o in doc.others]
    if re.search(r"<\s*script", text, re.I):
        found.append(f"{output}: a <script")
    return found


def markdown_html(text: str) -> str:
    """`report.md` as a permissive renderer shows it: raw HTML on, GFM tables, strikethrough, linkify."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(["table", "strikethrough", "linkify"])
    return md.render(text)


def markdown_tables(source: str, output: str) -> list[str]:
    """Every Markdown table row with as many cell separators as its header: an injected | would add
    a cell (renderers drop the extra cells silently, so this reads the source). A | is a separator
    unless an odd number of backslashes escape it."""
    found, width = [], None
    for line in source.split("\n"):
        if not line.startswith("|"):
            width = None
            continue
        pipes = sum(len(m.group(1)) % 2 == 0 for m in re.finditer(r"(\\*)\|", line))
        if width is None:
            width = pipes
        elif pipes != width:
            found.append(f"{output}: a table row with {pipes - 1} cells under {width - 1} (entry {entry_of(line)})")
    return found


# -- the terminal workbench ----------------------------------------------------------------------


def drawn(app) -> tuple[list[str], list[str]]:
    """What the app draws of its current screen, line by line (the segments a terminal would get,
    as `App.export_screenshot` renders them), and every link or click action on those segments."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    lines, actions = [], []
    for line in update.strips:
        text = []
        for strip in line:
            for seg in strip:
                if seg.control:
                    continue
                text.append(seg.text)
                style = seg.style
                if style is not None and style.link:
                    actions.append(f"link {style.link!r} on {seg.text!r}")
                if style is not None and style.meta and "@click" in style.meta:
                    actions.append(f"click {style.meta['@click']!r} on {seg.text!r}")
        lines.append("".join(text))
    return lines, actions


def screen_findings(app, label: str) -> tuple[list[str], str]:
    """Findings on the current screen: raw characters or links/click actions in what is drawn, raw
    characters in any loaded table cell (drawn or not) or text panel. Returns them and the drawn text."""
    from rich.text import Text
    from textual.widgets import DataTable, Static

    lines, actions = drawn(app)
    found = [f"{label}: {a} (entry {entry_of(a)})" for a in actions]
    for line in lines:
        found += raw_controls(line, f"{label} (drawn)")
    for table in app.screen.query(DataTable):
        for i in range(table.row_count):
            for c in table.get_row_at(i):
                found += raw_controls(c.plain if isinstance(c, Text) else str(c), f"{label} #{table.id}")
    for static in app.screen.query(Static):
        content = static.content
        found += raw_controls(getattr(content, "plain", str(content)), f"{label} #{static.id}", allow="\n")
    return found, "\n".join(lines)
