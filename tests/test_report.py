"""The human reports of a case file (`report.md`, `report.html`): what a policy or legal reader sees —
the case, its TLP, its members and why they were flagged, three charts — and that nothing an attacker
wrote into a log can turn into a link, a script, an image, a table cell or a terminal escape."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from farmhound.casefile.charts import bin_series
from farmhound.casefile.model import (
    CaseData,
    ClusterEntry,
    Member,
    Note,
    SampleRequest,
    SourceFile,
    TemplateEntry,
)
from farmhound.casefile.report import render_html, render_markdown

T0 = datetime(2026, 5, 1, tzinfo=UTC)
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HOSTILE = (
    '<script>alert(1)</script>"><img src=x onerror=alert(1)>\x1b]52;c;aGk=\x07'
    "[click](javascript:alert(1)) | col | \u202e</svg> https://evil.example/x\n# heading\n- item"
)
RENDERERS = [render_markdown, render_html]


def _iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hourly(days: int, burst_day: int | None = None) -> list[tuple[str, int]]:
    """Requests per hour over `days` days, with a burst on `burst_day`."""
    return [(_iso(T0 + timedelta(hours=h)), 3 + (500 if burst_day == h // 24 else 0)) for h in range(days * 24)]


def _case(**changes) -> CaseData:
    members = [
        Member(account_id=f"acct_{i}", via="cluster 4 (run 7)", email=f"u{i}@mail.example", created_at=_iso(T0),
               cluster_id=4, score=8.5, level="critical", reasons=["S3 +2.0"], tags=["suspected"], requests=100 * i,
               first_seen=_iso(T0), last_seen=_iso(T0 + timedelta(days=2)), user_agents=["python-httpx/0.27"])
        for i in range(1, 4)
    ]
    cluster = ClusterEntry(
        id=4, run=7, score=8.5, level="critical", size=3, links={"payment_fingerprint": 3}, families={"identity": 3.0},
        reasons=[{"code": "S3", "name": "Shared payment fingerprint", "value": 1.0, "threshold": 0.5, "points": 2.0,
                  "detail": "3 accounts pay with one card", "evidence": {}}],
        current=True,
    )
    templates = [
        TemplateEntry(pattern=f"Solve step by step: <*> #{i}", pattern_sha256="ab" * 32, template_id=i, accounts=50 + i,
                      requests=900, member_accounts=3 - i, member_requests=40, cot_share=0.9, examples=["Solve 2+2"])
        for i in range(3)
    ]
    data = CaseData(
        name="Acme farm", status="open", created_at=_iso(T0), created_by="alice", description="Three accounts.",
        notes=[Note(at=_iso(T0), analyst="alice", text="Same card as case 12.")], generated_at=_iso(T0 + timedelta(days=5)),
        analyst="bob", tool_version="0.1.0", tlp="amber", redacted=["ips"],
        triage={"run": 7, "config_hash": "c0ffee", "config": {}, "finished_at": _iso(T0), "tool_version": "0.1.0"},
        members=members, clusters=[cluster], templates=templates, timeline=_hourly(3, burst_day=1),
        signups=[(_iso(T0), 1), (_iso(T0 + timedelta(days=1, hours=3)), 12), (_iso(T0 + timedelta(days=2)), 1)],
        samples=[SampleRequest(account_id="acct_1", ts=_iso(T0), ip="203.0.113.7", user_agent="python-httpx/0.27",
                               model="m-1", input_tokens=10, output_tokens=900, prompt="Solve 2+2", template_id=0)],
        sources=[SourceFile(path="/exports/batch.jsonl", sha256=SHA, format="openai_batch", kind="requests",
                            rows_read=1200, loaded_at=_iso(T0))],
    )
    return replace(data, **changes)


def _hostile_case() -> CaseData:
    """A case with attacker text in every string a log or an analyst could have written."""
    data = _case(name=HOSTILE, status=HOSTILE, created_by=HOSTILE, description=HOSTILE, analyst=HOSTILE,
                 tool_version=HOSTILE, tlp=HOSTILE, redacted=[HOSTILE],
                 notes=[Note(at=HOSTILE, analyst=HOSTILE, text=HOSTILE)],
                 triage={"run": HOSTILE, "config_hash": HOSTILE, "finished_at": HOSTILE})
    for m in data.members:
        for f in ("account_id", "via", "email", "email_domain", "billing_country", "created_at", "level", "first_seen",
                  "last_seen", "signup_ip", "org_id", "tier"):
            setattr(m, f, HOSTILE)
        m.tags, m.user_agents, m.ips, m.reasons = [HOSTILE], [HOSTILE], [HOSTILE], [HOSTILE]
    c = data.clusters[0]
    c.level, c.links, c.families = HOSTILE, {HOSTILE: 3}, {HOSTILE: 1.0}
    c.reasons = [{"code": HOSTILE, "name": HOSTILE, "points": HOSTILE, "detail": HOSTILE}, HOSTILE]
    for t in data.templates:
        t.pattern, t.examples = HOSTILE, [HOSTILE]
    s = data.sources[0]
    s.path, s.sha256, s.format, s.kind, s.loaded_at = HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE
    data.samples[0] = SampleRequest(HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE, 1, 1, HOSTILE, 0)
    return data


class _Tags(HTMLParser):
    """Every element and attribute of a document, whether its tags nest properly, and its text
    (what a reader sees: not the style sheet's)."""

    VOID = {"meta", "link", "br", "hr", "img", "input", "col"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack, self.starts, self.attrs, self.errors, self.text = [], [], [], [], []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.starts.append(tag)
        self.attrs += attrs
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.starts.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data):
        if not self.stack or self.stack[-1] != "style":
            self.text.append(data)


def _seen(render, data: CaseData) -> str:
    """The text a reader sees in a report (Markdown as rendered), without tags or escapes."""
    out = render(data)
    return "".join(_Tags(_rendered_md(out) if render is render_markdown else out).text)


def _svg(page: str, chart_id: str) -> str:
    m = re.search(rf'<svg id="{chart_id}".*?</svg>', page, re.S)
    assert m, chart_id
    return m.group()


def _rendered_md(text: str) -> str:
    """The Markdown as a permissive renderer (raw HTML on, GFM tables, autolinks) would show it."""
    markdown_it = pytest.importorskip("markdown_it")
    pytest.importorskip("linkify_it")
    md = markdown_it.MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(["table", "strikethrough", "linkify"])
    return md.render(text)


@pytest.mark.parametrize("render", RENDERERS)
def test_report_names_the_case_tlp_members_and_reasons(render):
    out = _seen(render, _case())
    assert "Acme farm" in out and "TLP:AMBER" in out
    assert out.index("TLP:AMBER") < out.index("Acme farm")  # the label comes first
    for needle in ("acct_1", "acct_3", "S3", "Shared payment fingerprint", "+2.0", "3 accounts pay with one card",
                   "critical", "Same card as case 12", SHA, "0.1.0", "ips", "alice", "bob"):
        assert needle in out, needle
    assert re.search(r"Requests:?\s*600(?!\d)", out)  # the summary: the members' requests, 100 + 200 + 300


@pytest.mark.parametrize(("tlp", "label", "colour"), [("red", "TLP:RED", "#ff2b2b"), ("amber", "TLP:AMBER", "#ffc000"),
                                                      ("green", "TLP:GREEN", "#33ff00"), ("clear", "TLP:CLEAR", "#ffffff"),
                                                      ("TLP:AMBER+STRICT", "TLP:AMBER+STRICT", "#ffc000")])
def test_tlp_banner_has_the_label_and_its_colour(tlp, label, colour):
    page = render_html(_case(tlp=tlp))
    assert re.search(rf'<div class="tlp" style="color:{colour}">{re.escape(label)}<', page)
    assert label in _rendered_md(render_markdown(_case(tlp=tlp))).split("\n")[0]


def test_html_loads_nothing_from_anywhere():
    page = render_html(_case())
    assert not re.search(r"""(src|href|action|xlink:href)\s*=\s*["']?\s*(https?:|//|data:|javascript:)""", page, re.I)
    assert not re.search(r"<script|<link|<iframe|<object|<embed|<img|@import|url\(|@font-face", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">""" in page
    assert all(v.startswith("#") for k, v in _Tags(page).attrs if k == "href")  # only links within the page


def test_html_is_one_well_formed_document_with_three_charts():
    page = render_html(_case())
    tags = _Tags(page)
    assert tags.errors == [] and tags.stack == []
    assert page.startswith("<!DOCTYPE html>")
    assert tags.starts.count("svg") == page.count("</svg>") == 3
    assert tags.starts.count("figure") == page.count("</figure>") == 3 == tags.starts.count("figcaption")
    for chart_id in ("chart-timeline", "chart-signups", "chart-templates"):
        assert f'<svg id="{chart_id}"' in page
    # Hover titles say what each bar is; the burst day is the peak.
    timeline = _svg(page, "chart-timeline")
    assert "<title>2026-05-02 12:00 UTC: 503 requests</title>" in timeline
    assert "peak 503 requests" in timeline
    assert "peak 12 signups" in _svg(page, "chart-signups")
    assert "Solve step by step: &lt;*&gt; #0" in _svg(page, "chart-templates")


def test_a_long_hourly_timeline_is_drawn_as_a_bounded_number_of_bars():
    page = render_html(_case(timeline=_hourly(45, burst_day=30)))
    bars = _svg(page, "chart-timeline").count("<rect")
    assert 40 <= bars <= 120  # one a day, not 1,080 hourly slivers
    assert "2026-05-01" in _svg(page, "chart-timeline") and "2026-06-14" in _svg(page, "chart-timeline")


@pytest.mark.parametrize(("hours", "step"), [(1, 1), (100, 1), (24 * 20, 6), (24 * 45, 24), (24 * 400, 96)])
def test_bins_are_hours_six_hours_or_days_and_keep_every_count(hours, step):
    series = [(_iso(T0 + timedelta(hours=h)), 2) for h in range(hours)] + [("not a time", 5)]
    bins, width = bin_series(series)
    assert width == step and len(bins) <= 120
    assert sum(n for _, n in bins) == 2 * hours


@pytest.mark.parametrize("render", RENDERERS)
def test_hostile_text_never_leaves_its_field_or_reaches_the_terminal(render):
    out = render(_hostile_case())
    for raw in ("\x1b", "\x07", "\u202e", "<script", "<img", "</svg> "):
        assert raw not in out, repr(raw)
    assert "\\x1b" in out and "\\u202e" in out  # shown, not dropped


def test_hostile_text_in_html_is_only_text():
    page = render_html(_hostile_case())
    tags = _Tags(page)
    assert tags.errors == [] and tags.stack == []
    allowed = {"html", "head", "meta", "title", "style", "body", "div", "small", "main", "header", "h1", "h2", "h3", "dl",
               "dt", "dd", "p", "nav", "a", "section", "span", "b", "i", "figure", "figcaption", "svg", "g", "rect",
               "line", "text", "tspan", "table", "thead", "tbody", "tr", "th", "td", "pre", "footer"}
    assert set(tags.starts) <= allowed
    assert not [k for k, _ in tags.attrs if k.startswith("on")]
    # Table rows (header + body): reasons 1 + 2, templates 1 + 3, members 1 + 3, sources 1 + 1.
    assert tags.starts.count("svg") == 3 and tags.starts.count("tr") == 3 + 4 + 4 + 2
    text = "".join(tags.text)
    assert "<script>alert(1)</script>" in text and "[click](javascript:alert(1))" in text  # readable as text


def test_hostile_text_in_markdown_cannot_link_embed_or_add_cells():
    text = render_markdown(_hostile_case())
    assert "](javascript:" not in text and "<script" not in text
    assert not re.search(r"^\s*(#|- |\d+\. )\s*(heading|item)", text, re.M)  # no heading or list started by a note
    html = _rendered_md(text)
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert html.count("<h1") == 1 and "<svg" not in html
    assert not re.search(r"<h\d>\s*heading|<li>\s*item", html)
    assert "onerror" not in re.sub(r"&[a-z]+;|[^<>]*", "", html)  # only ever in text, never in a tag
    # Every members row keeps its 12 cells: "| col |" stayed inside its cell.
    members = html[html.index("<h2>Members</h2>"):]
    members = members[: members.index("</table>")]
    assert [row.count("<td") for row in members.split("<tr>")[2:]] == [12, 12, 12]


ADDRESSES = ("see evil-farm.io/pay", "ops@evil-farm.io", "mailto:x@y.z", "www.evil.example", "//evil-farm.io/x",
             "ftp://evil-farm.io", "xn--80ak6aa92e.com")


def test_markdown_turns_no_bare_address_into_a_link():
    """A linkifying renderer (markdown-it with linkify, GitHub) links bare domains, emails and
    `mailto:` in plain text: in attacker text they stay text."""
    text = " · ".join(ADDRESSES)
    data = _case(name=text, description=text, notes=[Note(at=_iso(T0), analyst=text, text=text)])
    m = data.members[0]
    m.email, m.via, m.tags, m.user_agents = "ops@evil-farm.io", text, [text], [text]
    data.templates[0].pattern = text
    data.sources[0].path = text
    html = _rendered_md(render_markdown(data))
    assert "<a " not in html and "href" not in html
    seen = _seen(render_markdown, data)
    for address in ADDRESSES:
        assert address in seen, address  # shown as written


def test_html_template_patterns_are_escaped_once_cut_at_2000_and_keep_their_lines():
    pattern = "Solve\r\nstep <*> \x1b[31m" + "y" * 3000
    page = render_html(_case(templates=[replace(_case().templates[0], pattern=pattern)]))
    shown = re.search(r"<pre>(.*?)</pre>", page, re.S).group(1)
    # CRLF is one line break, ESC is shown once as \x1b, and the pattern is cut at 2,000 characters
    assert shown == "Solve\nstep &lt;*&gt; \\x1b[31m" + "y" * (2000 - 20 - 1) + "…"


def test_markdown_notes_keep_their_lines_but_start_nothing():
    note = "1. first\n- second\n=====\n    indented\n[x]: https://evil.example"
    html = _rendered_md(render_markdown(_case(notes=[Note(at=_iso(T0), analyst="alice", text=note)])))
    assert "<ol" not in html and "<ul" not in html.split("<h2>Notes</h2>")[1].split("<h2>")[0]
    assert "<h1>Case" in html and html.count("<h1") == 1 and "<pre" not in html
    assert "1. first<br" in html and "- second<br" in html


@pytest.mark.parametrize("render", RENDERERS)
def test_an_empty_case_still_renders(render):
    out = render(_case(members=[], clusters=[], templates=[], timeline=[], signups=[], samples=[], sources=[], notes=[],
                       triage=None, description=None, redacted=[]))
    assert "Acme farm" in out and "TLP:AMBER" in out
    assert "No members" in out and "No clusters" in out and "No templates" in out
    if render is render_html:
        assert out.count("no data</text>") == 3
        tags = _Tags(out)
        assert tags.errors == [] and tags.stack == [] and tags.starts.count("svg") == 3


@pytest.mark.parametrize(("render", "members", "shown", "more"), [(render_markdown, 250, 200, 50), (render_html, 600, 500, 100)])
def test_long_member_lists_point_to_members_csv(render, members, shown, more):
    data = _case()
    data.members = [replace(data.members[0], account_id=f"acct_{i:04d}") for i in range(members)]
    out = _seen(render, data)
    assert f"{more:,} more in members.csv" in out
    assert f"acct_{shown - 1:04d}" in out and f"acct_{shown:04d}" not in out
