"""Showing attacker-written text literally.

Prompts, user agents, emails and even file names come from the adversary. Before any of it reaches
a terminal it goes through `visible()`: control characters (ESC, BEL, C1 controls such as the 8-bit
CSI, DEL), bidi controls, zero-width and other invisible format characters (the soft hyphen, tag
characters that smuggle text no one sees), line separators and lone surrogates become visible
escapes such as `\\x1b`, `\\u202e` or `\\U000e0041`, so nothing can move the cursor, rewrite the
title, write the clipboard, reorder or hide text. Rich markup is never interpreted because callers
wrap the result in `rich.text.Text`, never in a markup string.

The same characters are kept out of what the CLI and the case file write as JSON (`inert_json`:
as `\\uXXXX` escapes, the same data), input fields draw them as one-cell pictures (`pictured`),
and CSV cells are made safe for spreadsheets (`csv_text`).

Emoji joined with a zero-width joiner show the joiner as `\\u200d`: terminals disagree on the width
of such sequences, so a table holding one would be drawn misaligned.
"""

from __future__ import annotations

import re

# C0 controls except TAB, DEL, C1 controls, the soft hyphen, the Arabic letter mark, the Mongolian
# vowel separator, zero-width characters and bidi marks, line/paragraph separators, bidi
# embeddings/overrides/isolates, invisible operators and deprecated format controls, the BOM,
# interlinear annotations, lone surrogates, shorthand and musical format controls, tag characters.
_INVISIBLE = (
    "\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f"
)
_UNSAFE = re.compile(f"[\x00-\x08\x0a-\x1f{_INVISIBLE}]")
# In serialised JSON: C0 controls are escaped by every serialiser, and line feeds are its own.
_UNSAFE_IN_JSON = re.compile(f"[{_INVISIBLE}]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}"


def visible(text: object, limit: int | None = None, newlines: bool = False) -> str:
    """`text` with every invisible or terminal-controlling character shown as an escape; with
    `newlines`, line feeds stay line feeds (for text shown on several lines of a `Text`)."""
    s = "" if text is None else str(text)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    if newlines:
        return "\n".join(_UNSAFE.sub(_escape, line) for line in s.split("\n"))
    return _UNSAFE.sub(_escape, s)


def _picture(m: re.Match) -> str:
    c = ord(m.group())
    return chr(0x2400 + c) if c < 0x20 else "\u2421" if c == 0x7F else "\ufffd"


def pictured(text: str) -> str:
    """`text` with each character `visible` would escape drawn as one visible character instead: a
    control picture (␛ for ESC, ␇ for BEL) or �. For an input field, whose cursor moves one
    character at a time over what the analyst typed or pasted (the value itself keeps them)."""
    return _UNSAFE.sub(_picture, text)


def _json_escape(m: re.Match) -> str:
    c = ord(m.group())
    if c < 0x10000:
        return f"\\u{c:04x}"
    c -= 0x10000
    return f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}"  # a surrogate pair, as JSON spells it


def inert_json(text: str | bytes) -> str:
    """Serialised JSON with every character `visible` would escape written as a `\\uXXXX` escape:
    the same data for any JSON reader, but nothing a terminal acts on (`cat`, `less`, a pipe) and
    nothing a line splitter breaks on (U+2028, NEL)."""
    if isinstance(text, bytes):
        text = text.decode()
    return _UNSAFE_IN_JSON.sub(_json_escape, text)


def json_text(doc, indent: bool = True) -> str:
    """`doc` as JSON text (indented by default) that is inert on a terminal (`inert_json`)."""
    import orjson

    return inert_json(orjson.dumps(doc, option=orjson.OPT_INDENT_2 if indent else 0))


def csv_text(value: object) -> str:
    """Attacker text for a CSV cell a spreadsheet shows as text: escapes visible (no CR or LF can
    split the row), and a leading apostrophe if it would be read as a formula: starting with =, +,
    -, @, TAB, CR or their full-width forms, also after leading blanks."""
    s = visible(value)
    return "'" + s if s.startswith(_FORMULA_START) or s.lstrip().startswith(_FORMULA_START) else s
