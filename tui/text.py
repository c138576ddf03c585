"""Turning store values into terminal text, safely.

Everything shown goes through here as a `rich.text.Text` built from `farmhound.safe.visible`:
never a markup string, so a prompt, user agent, email or file name written by the adversary is
shown literally (escapes made visible, `[bold]` left as typed). Numbers, times and levels get one
house format.

Not here: layout and widgets.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from rapidfuzz.distance import Indel
from rich.text import Text

from farmhound.safe import visible
from farmhound.scoring import Reason
from farmhound.store.listings import KINDS

LEVEL_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}
CASE_STYLES = {"open": "bold", "review": "yellow", "closed": "dim"}


def lit(value: object, limit: int | None = None, style: str = "") -> Text:
    """Attacker-safe text: control characters and escapes shown as `\\x1b`, markup not parsed."""
    return Text(visible(value, limit), style=style, no_wrap=True, overflow="ellipsis")


def when(ms: int | None, seconds: bool = False) -> str:
    if ms is None:
        return "—"
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(fmt)


def iso(at: str | None) -> str:
    """An investigation event's time (ISO 8601, UTC) as `2026-05-04 13:02:11`."""
    return at[:19].replace("T", " ") if at else "—"


def level(name: str | None) -> Text:
    return Text(name or "—", style=LEVEL_STYLES.get(name or "", "dim"))


def number(v: float | int | None, digits: int = 2) -> Text:
    if v is None:
        return Text("—", style="dim", justify="right")
    if isinstance(v, int):
        return Text(f"{v:,}", justify="right")
    return Text(f"{v:.{digits}f}", justify="right")


def reasons(raw: str | None, top: int = 2) -> str:
    """The first `top` reasons of a score, short (`S16 shared attributes 1.62 (notice 0.3) +3.0`)."""
    return "; ".join(r.text(detail=False) for r in Reason.parse(raw)[:top])


def kind(name: str) -> str:
    return KINDS.get(name, name)


def cell(value: object, column_kind: str) -> Text:
    """One table cell for a value of a listing column (see `Column.kind`)."""
    if column_kind == "int":
        return number(value if value is None else int(value))
    if column_kind == "float":
        return number(value if value is None else float(value))
    if column_kind == "ts":
        return Text(when(value))
    if column_kind == "iso":
        return Text(iso(value))
    if column_kind == "level":
        return level(value)
    if column_kind == "status":
        return lit(value, 20, CASE_STYLES.get(str(value), ""))
    if column_kind == "hash":
        return lit(value, 13)
    if column_kind == "json":
        try:
            data = json.loads(value or "{}")
        except ValueError:
            return lit(value, 80)
        return lit(", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in data.items()), 80)
    if column_kind == "reasons":
        return lit(reasons(value), 120)
    if column_kind == "kind":
        return Text(kind(str(value)))
    if column_kind == "long":
        return lit(value, 240)
    return lit(value, 60)


_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


def side_by_side(a: str, b: str, limit: int = 3000) -> tuple[Text, Text]:
    """Two prompts with the parts that differ highlighted: the template's variable slots."""
    ta, tb = _TOKENS.findall(a[:limit]), _TOKENS.findall(b[:limit])
    left, right = Text(), Text()
    for op in Indel.opcodes(ta, tb):
        sa, sb = "".join(ta[op.src_start : op.src_end]), "".join(tb[op.dest_start : op.dest_end])
        style = "" if op.tag == "equal" else "bold black on yellow"
        left.append(visible(sa, newlines=True), style=style)
        right.append(visible(sb, newlines=True), style=style)
    return left, right


def pattern(text: str, limit: int | None = 200) -> Text:
    """A template pattern with its `<*>` slots highlighted."""
    out = Text()
    for k, part in enumerate(visible(text, limit).split("<*>")):
        if k:
            out.append("<*>", style="bold black on yellow")
        out.append(part)
    return out
