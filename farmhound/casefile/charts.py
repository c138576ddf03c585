"""The inline SVG charts of `report.html`, drawn by hand so the report needs no library and no asset.

Three charts: requests per hour and signups per hour (vertical bars, binned so a chart never has
more than ~120 bars) and the spread of the top templates over members (horizontal bars). Each
function returns one `<svg>` element with the given id; with nothing to draw it returns an SVG that
says "no data", so the report keeps its shape.

Every string from a log (template patterns) is shown through `farmhound.safe.visible` and then
`html.escape`, inside `<text>` and `<title>` alike: this SVG sits inline in HTML, so a `</svg>` or a
`<script>` in a pattern must stay text.

Not here: the figure around each chart and its caption (`farmhound.casefile.report`).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from farmhound.safe import visible

WIDTH = 960
MAX_BARS = 120
_FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"'


def esc(text: object, limit: int | None = None) -> str:
    """Attacker text made safe for HTML and inline SVG: controls shown visibly, then escaped."""
    s = visible(text)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    return html.escape(s, quote=True)


def parse_ts(ts: object) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime, or None if it is not one."""
    try:
        d = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def _floor(d: datetime, step: int) -> datetime:
    d = d.replace(minute=0, second=0, microsecond=0)
    return d.replace(hour=0) if step >= 24 else d.replace(hour=d.hour // step * step)


def bin_series(series: list[tuple[str, int]], max_bars: int = MAX_BARS) -> tuple[list[tuple[datetime, int]], int]:
    """Hourly counts summed into at most `max_bars` consecutive bins of 1 h, 6 h or n days.

    Returns:
        The bins, oldest first, including empty ones (start, count), and the bin width in hours.
        Rows with an unreadable time are left out.
    """
    points = []
    for ts, n in series:
        d = parse_ts(ts)
        if d is not None:
            points.append((d, int(n or 0)))
    if not points:
        return [], 1
    first, last = min(d for d, _ in points), max(d for d, _ in points)
    step = 0
    for hours in (1, 6, 24):
        if (last - _floor(first, hours)) // timedelta(hours=hours) < max_bars:
            step = hours
            break
    if not step:
        days = (last.date() - first.date()).days + 1
        step = 24 * -(-days // max_bars)
    base, width = _floor(first, step), timedelta(hours=step)
    bins = [0] * ((last - base) // width + 1)
    for d, n in points:
        bins[(d - base) // width] += n
    return [(base + i * width, n) for i, n in enumerate(bins)], step


def _bin_label(start: datetime, step: int) -> str:
    if step == 1:
        return f"{start:%Y-%m-%d %H:00} UTC"
    if step < 24:
        return f"{start:%Y-%m-%d %H:00}–{start + timedelta(hours=step):%H:00} UTC"
    if step == 24:
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d} – {start + timedelta(hours=step - 24):%Y-%m-%d}"


def _no_data(chart_id: str, height: int = 80) -> str:
    return (
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="no data" {_FONT}><rect width="{WIDTH}" height="{height}" fill="#f6f7f9"/>'
        f'<text x="{WIDTH / 2}" y="{height / 2 + 5}" text-anchor="middle" font-size="15" fill="#667">'
        "no data</text></svg>"
    )


def time_bars(chart_id: str, series: list[tuple[str, int]], unit: str, colour: str) -> str:
    """Vertical bars of counts over time, with start/end dates, a few ticks and the peak marked.

    Args:
        chart_id: the id of the `<svg>` element.
        series: (hour start, count), as `CaseData.timeline` or `CaseData.signups`.
        unit: what is counted, plural ("requests", "signups"), for hover titles.
        colour: the bar fill.
    """
    bins, step = bin_series(series)
    if not bins or not any(n for _, n in bins):
        return _no_data(chart_id)
    h, left, right, top, bottom = 240, 64, 16, 30, 42
    pw, ph = WIDTH - left - right, h - top - bottom
    peak_i = max(range(len(bins)), key=lambda i: bins[i][1])
    peak = bins[peak_i][1]
    bw = pw / len(bins)
    gap = min(2.0, bw * 0.2) if bw > 3 else 0.0
    base_y = top + ph
    out = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {WIDTH} {h}" '
        f'role="img" aria-label="{esc(unit)} over time" {_FONT} font-size="12">',
        f'<line x1="{left}" y1="{top}" x2="{left + pw}" y2="{top}" stroke="#d5d9e0" stroke-dasharray="4 3"/>',
        f'<text x="{left - 8}" y="{top + 4}" text-anchor="end" fill="#445">{peak:,}</text>',
        f'<text x="{left - 8}" y="{base_y + 4}" text-anchor="end" fill="#445">0</text>',
    ]
    for i, (start, n) in enumerate(bins):
        if not n:
            continue
        bh = max(1.0, n / peak * ph)
        fill = "#b4231a" if i == peak_i else colour
        out.append(
            f'<rect x="{left + i * bw + gap / 2:.2f}" y="{base_y - bh:.2f}" width="{bw - gap:.2f}" '
            f'height="{bh:.2f}" fill="{fill}"><title>{esc(_bin_label(start, step))}: {n:,} {esc(unit)}'
            "</title></rect>"
        )
    out.append(f'<line x1="{left}" y1="{base_y}" x2="{left + pw}" y2="{base_y}" stroke="#445"/>')
    # Ticks at evenly spaced bins, ~150 px apart so the date labels never touch.
    ticks = max(2, min(len(bins), int(pw // 150)))
    fmt = "%Y-%m-%d %H:00" if step < 24 else "%Y-%m-%d"
    for k in range(ticks):
        i = round(k * (len(bins) - 1) / (ticks - 1)) if ticks > 1 else 0
        x = left + (i + 0.5) * bw
        anchor = "start" if k == 0 else "end" if k == ticks - 1 else "middle"
        tx = left if k == 0 else left + pw if k == ticks - 1 else x
        out.append(f'<line x1="{x:.2f}" y1="{base_y}" x2="{x:.2f}" y2="{base_y + 5}" stroke="#445"/>')
        out.append(f'<text x="{tx:.2f}" y="{base_y + 19}" text-anchor="{anchor}" fill="#445">{bins[i][0]:{fmt}}</text>')
    px = left + (peak_i + 0.5) * bw
    anchor = "start" if px < left + pw * 0.6 else "end"
    out.append(
        f'<text x="{px + (6 if anchor == "start" else -6):.2f}" y="{top - 10}" text-anchor="{anchor}" '
        f'fill="#b4231a" font-weight="600">peak {peak:,} {esc(unit)} · {esc(_bin_label(bins[peak_i][0], step))}</text>'
    )
    out.append(f'<text x="{left + pw}" y="{h - 4}" text-anchor="end" fill="#667" font-size="11">'
               f"{len(bins)} bars, one per {_step_name(step)}, UTC</text>")
    out.append("</svg>")
    return "".join(out)


def _step_name(step: int) -> str:
    if step < 24:
        return "hour" if step == 1 else f"{step} hours"
    return "day" if step == 24 else f"{step // 24} days"


def step_name(series: list[tuple[str, int]]) -> str:
    """The bin width `time_bars` uses for `series`, in words ("6 hours")."""
    return _step_name(bin_series(series)[1])


def template_bars(chart_id: str, rows: list[tuple[str, int, int]]) -> str:
    """Horizontal bars of the templates most members send.

    Args:
        chart_id: the id of the `<svg>` element.
        rows: (pattern, member accounts, platform accounts), most member accounts first.
    """
    rows = [r for r in rows if r[1] > 0]
    if not rows:
        return _no_data(chart_id)
    row_h, top, label_w, right = 24, 10, 430, 190
    h = top * 2 + row_h * len(rows)
    top_n = max(r[1] for r in rows)
    bar_w = WIDTH - label_w - right
    out = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {WIDTH} {h}" '
        f'role="img" aria-label="member accounts per template" {_FONT} font-size="12">'
    ]
    for i, (pattern, members, platform) in enumerate(rows):
        y = top + i * row_h
        w = max(1.0, members / top_n * bar_w)
        out.append(
            f"<g><title>{esc(pattern, 400)}: {members:,} member accounts, {platform:,} platform accounts</title>"
            f'<rect x="0" y="{y}" width="{WIDTH}" height="{row_h}" fill="{"#f6f7f9" if i % 2 else "#ffffff"}"/>'
            f'<text x="8" y="{y + 16}" font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" '
            f'font-size="11.5" fill="#223">{esc(pattern, 54)}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{w:.2f}" height="{row_h - 10}" fill="#2f5d8a"/>'
            f'<text x="{label_w + w + 6:.2f}" y="{y + 16}" fill="#223"><tspan font-weight="600">{members:,}</tspan>'
            f'<tspan fill="#667"> of {platform:,} on platform</tspan></text></g>'
        )
    out.append("</svg>")
    return "".join(out)
