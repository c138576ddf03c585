"""Showing attacker-written text literally.

Prompts, user agents, emails and even file names come from the adversary. Before any of it reaches
a terminal it goes through `visible()`: control characters (ESC, BEL, C1 controls such as the 8-bit
CSI, DEL), bidi overrides and zero-width characters become visible escapes such as `\\x1b` or
`\\u202e`, so nothing can move the cursor, rewrite the title, write the clipboard or reorder text.
Rich markup is never interpreted because callers wrap the result in `rich.text.Text`, never in a
markup string.
"""

from __future__ import annotations

import re

# C0 controls except TAB, DEL, C1 controls, bidi embeddings/overrides/isolates, zero-width and
# other invisible formatting characters, line/paragraph separators.
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def visible(text: object, limit: int | None = None, newlines: bool = False) -> str:
    """`text` with every invisible or terminal-controlling character shown as an escape; with
    `newlines`, line feeds stay line feeds (for text shown on several lines of a `Text`)."""
    s = "" if text is None else str(text)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    if newlines:
        return "\n".join(_UNSAFE.sub(_escape, line) for line in s.split("\n"))
    return _UNSAFE.sub(_escape, s)
