"""The human reports of a case file: `report.md` and the self-contained `report.html`.

Both are drawn from one redacted `CaseData` and tell the same story for a policy or legal reader:
the TLP label first, who generated it and when, summary figures, the clusters and their reasons, the
templates the members send, the analysts' notes, the members and the source exports with their
SHA-256. The HTML adds three inline SVG charts (`farmhound.casefile.charts`).

Every string that came from a log or an analyst is untrusted. In Markdown it is escaped so it cannot
open a link, an image, HTML, emphasis or a table cell (`&`, `<` and `>` become entities, the other
Markdown punctuation gets a backslash). Renderers that linkify bare text (markdown-it, GitHub) would
still turn `evil.example/pay`, `ops@evil.example`, `mailto:x@y.z` or `//host` into live links, so
every `.`, `@` and `:` and the second `/` of `//` get a backslash as well: a backslash escape ends
the run of text a linkifier scans, and no address survives split at its dots; in HTML it goes through
`html.escape`. Both first go through `farmhound.safe.visible`, so control characters and bidi
overrides show as escapes such as `\\x1b`. The HTML loads nothing: no script, font, image or style
from anywhere, and a Content-Security-Policy that forbids it even if something slipped through.

Not here: gathering or redacting the data (`farmhound.casefile.model`, `redact`), writing files
(`farmhound.casefile.export`).
"""

from __future__ import annotations

import html
import re

from farmhound.casefile.charts import esc, parse_ts, step_name, template_bars, time_bars
from farmhound.casefile.model import CaseData, ClusterEntry
from farmhound.safe import visible

MD_MEMBERS = 200
HTML_MEMBERS = 500
TOP_TEMPLATES = 15
LEVELS = ("low", "medium", "high", "critical")

# TLP 2.0 (FIRST): label colour on a black background, and what the label asks of the reader.
_TLP = {
    "clear": ("#ffffff", "Disclosure is not limited."),
    "green": ("#33ff00", "Limited disclosure: recipients may share it within their community, not publicly."),
    "amber": ("#ffc000", "Limited disclosure: recipients may share it only within their organisation and its "
                         "clients, on a need-to-know basis."),
    "amber+strict": ("#ffc000", "Limited disclosure: recipients may share it only within their organisation, "
                                "on a need-to-know basis."),
    "red": ("#ff2b2b", "For the eyes and ears of individual recipients only, no further disclosure."),
}

# Markdown punctuation, and what a linkifier needs: the dots of a domain, the @ of an email, the :
# of a scheme, the // of a protocol-relative URL (its second slash).
_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#+!|~$.@:]|(?<=/)/)")
_MD_LINE_START = re.compile(r"^(\s*)([-=]|\d+[.)])")


def tlp(data: CaseData) -> tuple[str, str, str]:
    """The case's TLP label ("TLP:AMBER"), its colour and its meaning (empty if not a TLP 2.0 label)."""
    key = str(data.tlp or "").strip().lower().removeprefix("tlp:")
    key = "clear" if key == "white" else key
    colour, meaning = _TLP.get(key, ("#c8c8c8", ""))
    return "TLP:" + visible(key, 40).upper(), colour, meaning


def md(text: object, limit: int | None = None) -> str:
    """Untrusted text as inert inline Markdown: one line, nothing a renderer would act on."""
    s = visible(text, limit)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", s)


def md_block(text: object) -> str:
    """Untrusted multi-line text (notes, descriptions) as one inert paragraph with line breaks."""
    lines = visible(str(text or "").replace("\r\n", "\n"), newlines=True).split("\n")
    # Each line could start a list, heading or rule: escape its first -, = or "1." / "1)" too.
    lines = [_MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], md(line.strip()))
             for line in lines if line.strip()]
    return "\\\n".join(lines) or "—"


def _when(ts: object, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    d = parse_ts(ts) if ts else None
    if d is None:
        return "—" if not ts else visible(ts, 40)
    return d.strftime(fmt)


def _num(v: object, fmt: str = ",") -> str:
    return format(v, fmt) if isinstance(v, int | float) and not isinstance(v, bool) else visible(v if v is not None else "—", 30)


def _share(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def _activity(data: CaseData) -> tuple[str, str]:
    """First and last request of the members (from their first/last seen, else the timeline)."""
    firsts = [d for m in data.members if (d := parse_ts(m.first_seen))]
    lasts = [d for m in data.members if (d := parse_ts(m.last_seen))]
    hours = [d for ts, n in data.timeline if n and (d := parse_ts(ts))]
    first, last = min(firsts or hours, default=None), max(lasts or hours, default=None)
    return (_when(first.isoformat()) if first else "—", _when(last.isoformat()) if last else "—")


def _summary(data: CaseData) -> list[tuple[str, str]]:
    first, last = _activity(data)
    return [
        ("Members", f"{len(data.members):,}"),
        ("Requests", f"{data.requests:,}"),
        ("Clusters", f"{len(data.clusters):,}"),
        ("Templates", f"{len(data.templates):,}"),
        ("First activity", first),
        ("Last activity", last),
    ]


def _meta(data: CaseData) -> list[tuple[str, str]]:
    """(label, plain text) lines of the report header; the text is still untrusted."""
    rows = [
        ("Status", str(data.status)),
        ("Created", f"{_when(data.created_at)} by {visible(data.created_by)}"),
        ("Generated", f"{_when(data.generated_at)} by {visible(data.analyst)}"),
        ("Tool version", f"farmhound {visible(data.tool_version)}"),
    ]
    t = data.triage or {}
    if t:
        config = visible(t.get("config_hash") or "?", 13)
        rows.append(("Triage run", f"{_num(t.get('run'))}, finished {_when(t.get('finished_at'))}, config {config}"))
    rows.append(("Redactions applied", ", ".join(visible(r) for r in data.redacted) or "none"))
    return rows


def _cluster_title(c: ClusterEntry) -> str:
    stale = "" if c.current else " (no longer in the latest triage run)"
    return f"Cluster {_num(c.id)} (run {_num(c.run)}): {c.level}, score {_num(c.score, '.1f')}, {_num(c.size)} accounts{stale}"


def _links(c: ClusterEntry) -> str:
    return ", ".join(f"{visible(k, 40)} {_num(n)} edges" for k, n in (c.links or {}).items()) or "none"


def _families(c: ClusterEntry) -> str:
    return ", ".join(f"{visible(k, 40)} {_num(v, '.1f')}" for k, v in (c.families or {}).items()) or "none"


def _reason(r: object) -> tuple[str, str, str, str]:
    r = r if isinstance(r, dict) else {"detail": r}
    pts = r.get("points")
    points = f"{pts:+.1f}" if isinstance(pts, int | float) and not isinstance(pts, bool) else _num(pts)
    return str(r.get("code") or "—"), str(r.get("name") or "—"), points, str(r.get("detail") or "")


def _member_more(data: CaseData, limit: int) -> str:
    more = len(data.members) - limit
    return f"First {limit:,} of {len(data.members):,} members; {more:,} more in members.csv." if more > 0 else ""


# ---------------------------------------------------------------- Markdown


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in rows] + [""]


def render_markdown(data: CaseData) -> str:
    """The case as `report.md`, for readers who open it in a Markdown viewer or a text editor.

    Returns:
        The document; every untrusted string in it is inert (see the module docstring).
    """
    label, _, meaning = tlp(data)
    label = label if meaning else md(label)  # a TLP 2.0 label as written (TLP:AMBER), anything else inert
    out = [f"**{label}**" + (f" — {meaning}" if meaning else ""), "", f"# Case: {md(data.name)}", ""]
    out += [f"- **{k}:** {md(v)}" for k, v in _meta(data)] + [""]
    if data.description:
        out += [md_block(data.description), ""]
    out += ["## Summary", ""] + [f"- **{k}:** {md(v)}" for k, v in _summary(data)]
    out += [f"- **Evidence samples:** {len(data.samples):,} requests (in evidence/)", ""]

    out += ["## Clusters", ""]
    for c in data.clusters:
        out += [f"### {md(_cluster_title(c))}", "", f"- **Links:** {md(_links(c))}",
                f"- **Signal families:** {md(_families(c))}", ""]
        out += _md_table(["Code", "Reason", "Points", "Detail"], [[md(x, 300) for x in _reason(r)] for r in c.reasons])
    if not data.clusters:
        out += ["No clusters in this case.", ""]

    out += ["## Templates", ""]
    top = data.templates[:TOP_TEMPLATES]
    if top:
        out += [f"Top {len(top)} of {len(data.templates):,} templates, most member accounts first.", ""]
    rows = [[str(i), md(t.pattern, 300) + (" *(added by an analyst)*" if t.added else ""), f"{t.member_accounts:,}",
             f"{t.member_requests:,}", f"{t.accounts:,}", _share(t.cot_share)] for i, t in enumerate(top, 1)]
    out += _md_table(["#", "Pattern", "Member accounts", "Member requests", "Platform accounts", "CoT share"], rows) if rows else []
    if not top:
        out += ["No templates in this case.", ""]

    out += ["## Notes", ""]
    for n in data.notes:
        out += [f"**{md(_when(n.at))} — {md(n.analyst, 80)}:**\\", md_block(n.text), ""]
    if not data.notes:
        out += ["No notes.", ""]

    out += ["## Members", ""]
    if more := _member_more(data, MD_MEMBERS):
        out += [more, ""]
    rows = [[md(m.account_id, 80), md(m.email or "—", 80), md(_when(m.created_at)), md(_num(m.cluster_id)), md(m.level or "—"),
             md(_num(m.score, ".1f")), md(_num(m.requests)), md(_when(m.first_seen, "%Y-%m-%d")), md(_when(m.last_seen, "%Y-%m-%d")),
             md(m.user_agents[0] if m.user_agents else "—", 80), md(", ".join(m.tags), 80), md(m.via, 60)]
            for m in data.members[:MD_MEMBERS]]
    if rows:
        out += _md_table(["Account", "Email", "Signed up", "Cluster", "Level", "Score", "Requests", "First seen",
                          "Last seen", "Top user agent", "Tags", "Joined via"], rows)
    else:
        out += ["No members.", ""]

    out += ["## Source exports", ""]
    rows = [[md(s.path, 200), md(s.kind), md(s.format), _num(s.rows_read), md(_when(s.loaded_at)), md(s.sha256, 80)]
            for s in data.sources]
    out += _md_table(["Path", "Kind", "Format", "Rows", "Loaded", "SHA-256"], rows) if rows else ["No source exports.", ""]
    out += ["---", "", f"**{label}** · generated {md(_when(data.generated_at))} by {md(data.analyst)} "
            f"with farmhound {md(data.tool_version)}", ""]
    return "\n".join(out)


# ---------------------------------------------------------------- HTML

_CSS = """
:root{--ink:#1d2330;--muted:#5d6575;--line:#dde1e7;--soft:#f5f7fa;--accent:#2f5d8a}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:#fff}
main{max-width:1180px;margin:0 auto;padding:16px 32px 40px}
.tlp{background:#000;text-align:center;padding:6px 12px;font:700 15px/1.4 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.08em;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.tlp small{font:12px/1.4 system-ui,sans-serif;letter-spacing:0;color:#ddd;margin-left:12px}
h1{font-size:28px;margin:.5em 0 .3em;overflow-wrap:anywhere}
h2{font-size:20px;border-bottom:2px solid var(--line);padding-bottom:4px;margin:2em 0 .6em}
h3{font-size:16px;margin:.2em 0 .4em;overflow-wrap:anywhere}
nav{font-size:13px;color:var(--muted)} nav a{color:var(--accent);margin-right:14px;text-decoration:none}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 18px;margin:8px 0} dt{color:var(--muted)} dd{margin:0;overflow-wrap:anywhere}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.fig{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.fig b{display:block;font-size:24px;font-variant-numeric:tabular-nums} .fig b.t{font-size:15px;padding:5px 0 4px}
.fig span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
figure{margin:16px 0;border:1px solid var(--line);border-radius:6px;padding:12px;break-inside:avoid}
figcaption{color:var(--muted);font-size:13px;margin-bottom:8px} figcaption b{color:var(--ink);font-size:15px}
svg.chart{width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:6px 0 14px}
th,td{border-bottom:1px solid var(--line);padding:4px 7px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:var(--soft);font-weight:600;white-space:nowrap} .n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.d{white-space:nowrap} td.w{overflow-wrap:anywhere;min-width:8em} td.i{overflow-wrap:anywhere;min-width:10.5em}
code,.mono,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:6px 8px;margin:0;border-radius:4px;max-height:12em;overflow:auto}
.level{display:inline-block;white-space:nowrap;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:#7a8594;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.level.medium{background:#b58900}.level.high{background:#d9631e}.level.critical{background:#b4231a}
.cluster th:nth-child(1){width:4.5em}.cluster th:nth-child(2){width:15em}.cluster th:nth-child(3){width:5em}
.cluster{border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:6px;padding:10px 16px;margin:12px 0}
.note{border-left:3px solid var(--line);padding:2px 12px;margin:10px 0} .note .who{color:var(--muted);font-size:13px}
.muted{color:var(--muted)} footer{margin-top:32px;color:var(--muted);font-size:13px;border-top:1px solid var(--line);padding-top:8px}
@media print{body{font-size:10.5pt} main{max-width:none;padding:0 8mm} nav{display:none} h2{break-after:avoid} tr,.cluster,.note{break-inside:avoid}}
"""


def _level(level: object) -> str:
    cls = level if level in LEVELS else "other"
    return f'<span class="level {cls}">{esc(level or "—", 20)}</span>'


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    """An HTML table from cells that are already escaped; `cls` has a letter per column: n numeric,
    d no wrapping (times), w wrap anywhere (emails, user agents, hashes), i the same but wider (account
    ids), anything else plain text."""
    def cell(tag: str, i: int, v: str) -> str:
        c = cls[i:i + 1].strip(".")
        return f'<{tag} class="{c}">{v}</{tag}>' if c else f"<{tag}>{v}</{tag}>"
    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _block(text: object, limit: int | None = None) -> str:
    """Untrusted multi-line text for a `white-space: pre-wrap` element: lines kept, CRLF as one break."""
    return html.escape(visible(str(text or "").replace("\r\n", "\n"), limit, newlines=True), quote=True)


def _figure(svg: str, title: str, caption: str) -> str:
    return f"<figure><figcaption><b>{title}.</b> {caption}</figcaption>{svg}</figure>"


def _charts(data: CaseData) -> str:
    top = sorted(data.templates, key=lambda t: -t.member_accounts)[:TOP_TEMPLATES]
    return "".join([
        _figure(time_bars("chart-timeline", data.timeline, "requests", "#2f5d8a"),
                "Activity", f"The members' requests per {step_name(data.timeline)} (UTC). Hover a bar for its count; "
                "the peak is in red."),
        _figure(time_bars("chart-signups", data.signups, "signups", "#6b4c9a"),
                "Signups", f"Member accounts created per {step_name(data.signups)} (UTC). Many accounts created "
                "in a short burst suggest one operator."),
        _figure(template_bars("chart-templates", [(t.pattern, t.member_accounts, t.accounts) for t in top]),
                "Template spread", f"The {len(top)} templates sent by the most member accounts, with how many "
                "accounts send each across the platform. Volatile parts of a pattern show as &lt;*&gt;."),
    ])


def render_html(data: CaseData) -> str:
    """The case as one self-contained `report.html` (inline CSS and SVG, nothing loaded from elsewhere).

    Returns:
        The HTML5 document; every untrusted string in it is escaped.
    """
    label, colour, meaning = tlp(data)
    banner = f'<div class="tlp" style="color:{colour}">{esc(label)}<small>{esc(meaning)}</small></div>'
    out = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">""",
        '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">',
        f"<title>{esc(label)} — Case: {esc(data.name, 120)} — farmhound report</title><style>{_CSS}</style></head>",
        f"<body>{banner}<main><header><h1>Case: {esc(data.name)}</h1><dl class=\"meta\">",
        "".join(f"<dt>{k}</dt><dd>{esc(v)}</dd>" for k, v in _meta(data)) + "</dl>",
        f'<p class="text">{_block(data.description)}</p>' if data.description else "",
        '<nav><a href="#summary">Summary</a><a href="#charts">Charts</a><a href="#clusters">Clusters</a>'
        '<a href="#templates">Templates</a><a href="#notes">Notes</a><a href="#members">Members</a>'
        '<a href="#sources">Source exports</a></nav></header>',
        '<section id="summary"><h2>Summary</h2><div class="figures">',
        "".join(f'<div class="fig"><span>{k}</span><b{" class=t" if "activity" in k else ""}>{esc(v)}</b></div>'
                for k, v in _summary(data)) + "</div>",
        f'<p class="muted">{len(data.samples):,} sample requests of the members are in evidence/.</p></section>',
        f'<section id="charts"><h2>Charts</h2>{_charts(data)}</section>',
        '<section id="clusters"><h2>Clusters</h2>',
    ]
    for c in data.clusters:
        stale = "" if c.current else ' <span class="muted">(no longer in the latest triage run)</span>'
        reasons = [[esc(code, 40), esc(name, 200), esc(points), esc(detail, 600)]
                   for code, name, points, detail in map(_reason, c.reasons)]
        out.append(
            f'<div class="cluster"><h3>Cluster {esc(_num(c.id))} <span class="muted">(run {esc(_num(c.run))})</span> '
            f"{_level(c.level)} score {esc(_num(c.score, '.1f'))} · {esc(_num(c.size))} accounts{stale}</h3>"
            f'<dl class="meta"><dt>Links</dt><dd>{esc(_links(c))}</dd><dt>Signal families</dt>'
            f"<dd>{esc(_families(c))}</dd></dl>"
            + (_table(["Code", "Reason", "Points", "Detail"], reasons, "d.n") if reasons else "") + "</div>"
        )
    if not data.clusters:
        out.append('<p class="muted">No clusters in this case.</p>')
    out.append('</section><section id="templates"><h2>Templates</h2>')
    top = data.templates[:TOP_TEMPLATES]
    if top:
        rows = [[str(i), f"<pre>{_block(t.pattern, 2000)}</pre>" + (" <i>added by an analyst</i>" if t.added else ""),
                 f"{t.member_accounts:,}", f"{t.member_requests:,}", f"{t.accounts:,}", _share(t.cot_share)]
                for i, t in enumerate(top, 1)]
        out.append(f'<p class="muted">Top {len(top)} of {len(data.templates):,} templates, most member accounts first.</p>'
                   + _table(["#", "Pattern", "Member accounts", "Member requests", "Platform accounts", "CoT share"],
                            rows, "n.nnnn"))
    else:
        out.append('<p class="muted">No templates in this case.</p>')
    out.append('</section><section id="notes"><h2>Notes</h2>')
    out += [f'<div class="note"><div class="who">{esc(_when(n.at))} — {esc(n.analyst, 80)}</div>'
            f'<div class="text">{_block(n.text)}</div></div>' for n in data.notes] or ['<p class="muted">No notes.</p>']
    out.append('</section><section id="members"><h2>Members</h2>')
    if more := _member_more(data, HTML_MEMBERS):
        out.append(f'<p class="muted">{more}</p>')
    rows = [[f'<span class="mono">{esc(m.account_id, 80)}</span>', esc(m.email or "—", 80), esc(m.billing_country or "—", 10),
             esc(_when(m.created_at, "%Y-%m-%d %H:%M")), esc(_num(m.cluster_id)), _level(m.level),
             esc(_num(m.score, ".1f")), esc(_num(m.requests)), esc(_when(m.first_seen, "%Y-%m-%d")),
             esc(_when(m.last_seen, "%Y-%m-%d")), esc(m.user_agents[0] if m.user_agents else "—", 80),
             esc(", ".join([*m.tags, m.via]), 100)] for m in data.members[:HTML_MEMBERS]]
    out.append(_table(["Account", "Email", "Country", "Signed up (UTC)", "Cluster", "Level", "Score", "Requests",
                       "First seen", "Last seen", "Top user agent", "Tags, joined via"], rows, "iw.dndnnddw.") if rows
               else '<p class="muted">No members.</p>')
    out.append('</section><section id="sources"><h2>Source exports</h2>')
    rows = [[esc(s.path, 200), esc(s.kind), esc(s.format), esc(_num(s.rows_read)), esc(_when(s.loaded_at)),
             f'<span class="mono">{esc(s.sha256, 80)}</span>'] for s in data.sources]
    out.append(_table(["Path", "Kind", "Format", "Rows", "Loaded", "SHA-256"], rows, "w..ndw") if rows
               else '<p class="muted">No source exports.</p>')
    out.append(f"</section><footer>{esc(label)} · generated {esc(_when(data.generated_at))} by {esc(data.analyst)} "
               f"with farmhound {esc(data.tool_version)}</footer></main>{banner}</body></html>\n")
    return "\n".join(out)
