"""Everything a case file says about a case, read from the store in a few set queries.

`gather()` turns a case (its members, clusters and templates) into one `CaseData`, unredacted.
Members are passed to SQLite as one JSON array (`json_each`), so a 10,000-member case costs a few
scans of the members' requests through `idx_requests_account_ts`, never a query per member (except
the sample requests, which take the first few of each member from that index).

Not here: redaction and writing files (`farmhound/casefile/`), case bookkeeping (`cases.py`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from farmhound import __version__
from farmhound.casefile.model import CaseData, ClusterEntry, Member, Note, SampleRequest, SourceFile, TemplateEntry
from farmhound.scoring import Reason
from farmhound.store import Store
from farmhound.store.cases import CaseBook, pattern_key
from farmhound.store.tags import now

HOUR_MS = 3_600_000
PROMPT_CHARS = 2000  # evidence prompts are cut here
MEMBERS = "(SELECT value FROM json_each(?))"


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def gather(
    store: Store,
    name: str,
    analyst: str,
    tlp: str = "amber",
    samples_per_member: int = 5,
    top_templates: int = 50,
    progress: Callable[[str], None] | None = None,
) -> CaseData:
    """The case `name` as a `CaseData`, unredacted.

    Args:
        analyst: who exports (recorded in the case file).
        samples_per_member: the first requests of each member kept as evidence.
        top_templates: templates the members send, most member accounts first.
        progress: called with the name of each step as it starts.
    """
    step = progress or (lambda _: None)
    book = CaseBook(store)
    case = book.get(name)
    items = book.items(name)
    via = {i.key: i.via for i in items if i.kind == "account"}
    members = json.dumps(list(via))
    conn = store.conn

    step("members")
    run = conn.execute(
        "SELECT id, config_hash, config, finished_at, tool_version FROM triage_runs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    people = {}
    for row in conn.execute(
        "SELECT a.account_id, a.email, a.email_domain, a.payment_fingerprint, a.card_bin, a.billing_country, "
        "a.signup_ip, a.created_at, a.org_id, a.tier, s.cluster_id, s.score, s.level, s.reasons "
        f"FROM accounts a LEFT JOIN account_scores s USING (account_id) WHERE a.account_id IN {MEMBERS}",
        (members,),
    ):
        reasons = [f"{r.code} {r.name} {r.points:+.1f}" for r in Reason.parse(row[13])]
        people[row[0]] = Member(row[0], via[row[0]], *row[1:7], _iso(row[7]), *row[8:13], reasons=reasons)
    for account, tag in conn.execute(f"SELECT account_id, tag FROM tags WHERE account_id IN {MEMBERS} ORDER BY tag", (members,)):
        people[account].tags.append(tag)

    step("requests")
    uses: dict[str, dict[str, dict]] = defaultdict(lambda: {"ip": defaultdict(int), "ua": defaultdict(int)})
    source_ids = set()
    for account, ip, ua, source_id, n, first, last in conn.execute(
        "SELECT account_id, ip, user_agent, source_id, count(*), min(ts), max(ts) FROM requests "
        f"WHERE account_id IN {MEMBERS} GROUP BY account_id, ip, user_agent, source_id",
        (members,),
    ):
        source_ids.add(source_id)
        m = people[account]
        m.requests += n
        m.first_seen = min(filter(None, (m.first_seen, _iso(first))), default=None)
        m.last_seen = max(filter(None, (m.last_seen, _iso(last))), default=None)
        if ip:
            uses[account]["ip"][ip] += n
        if ua:
            uses[account]["ua"][ua] += n
    for account, seen in uses.items():
        people[account].ips = sorted(seen["ip"], key=lambda v: -seen["ip"][v])[:20]
        people[account].user_agents = sorted(seen["ua"], key=lambda v: -seen["ua"][v])[:10]

    step("timeline")
    timeline = _hourly(conn, "requests", "ts", members)
    signups = _hourly(conn, "accounts", "created_at", members)

    step("templates")
    templates = _templates(conn, members, [i.detail for i in items if i.kind == "template"], top_templates)

    step("samples")
    samples = _samples(conn, members, samples_per_member)

    step("sources")
    source_ids.update(i for (i,) in conn.execute(
        f"SELECT DISTINCT source_id FROM accounts WHERE account_id IN {MEMBERS}", (members,)))  # fmt: skip
    sources = [
        SourceFile(*row)
        for row in conn.execute(
            "SELECT path, sha256, format, kind, rows_read, finished_at FROM sources "
            "WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (json.dumps(sorted(i for i in source_ids if i is not None)),),
        )
    ]

    clusters = [
        ClusterEntry(d["id"], d["run"], d["score"], d["level"], d["size"], d["links"], d["families"], d["reasons"],
                     current=run is not None and d["run"] == run[0])  # fmt: skip
        for d in (i.detail for i in items if i.kind == "cluster")
    ]
    notes = [Note(e.at, e.analyst, e.text) for e in book.events(name) if e.action == "note"]
    triage = None
    if run:
        triage = {"run": run[0], "config_hash": run[1], "config": json.loads(run[2]), "finished_at": run[3],
                  "tool_version": run[4]}  # fmt: skip
    return CaseData(
        name=case.name, status=case.status, created_at=case.created_at, created_by=case.analyst,
        description=case.description, notes=notes, generated_at=now(), analyst=analyst, tool_version=__version__,
        tlp=tlp, redacted=[], triage=triage, members=[people[a] for a in via if a in people], clusters=clusters,
        templates=templates, timeline=timeline, signups=signups, samples=samples, sources=sources,
    )  # fmt: skip


def _hourly(conn, table: str, column: str, members: str) -> list[tuple[str, int]]:
    """Rows of the members per hour of `column` (ms): (hour start, rows), oldest first."""
    return [
        (_iso(h * HOUR_MS), n)
        for h, n in conn.execute(
            f"SELECT {column} / {HOUR_MS}, count(*) FROM {table} WHERE account_id IN {MEMBERS} "
            f"AND {column} IS NOT NULL GROUP BY 1 ORDER BY 1",
            (members,),
        )
    ]


def _templates(conn, members: str, added: list[dict], top: int) -> list[TemplateEntry]:
    """The templates the members send most widely, then the ones added to the case by hand."""
    rows = conn.execute(
        "SELECT t.id, t.pattern, t.accounts, t.requests, t.cot_share, t.examples, count(*), sum(at.requests) "
        "FROM account_templates at JOIN templates t ON t.id = at.template_id "
        f"WHERE at.account_id IN {MEMBERS} GROUP BY t.id ORDER BY count(*) DESC, sum(at.requests) DESC LIMIT ?",
        (members, top),
    ).fetchall()
    entries = {pattern_key(r[1]): TemplateEntry(r[1], pattern_key(r[1]), r[0], r[2], r[3], r[6], r[7], r[4],
                                                 _examples(conn, r[5])) for r in rows}  # fmt: skip
    for d in added:
        key = pattern_key(d["pattern"])
        if key in entries:
            entries[key].added = True
            continue
        now_row = conn.execute(
            "SELECT id, accounts, requests, cot_share, examples FROM templates WHERE pattern = ?", (d["pattern"],)
        ).fetchone()
        if now_row:  # the template still exists, perhaps under another id
            used = conn.execute(
                f"SELECT count(*), coalesce(sum(requests), 0) FROM account_templates WHERE template_id = ? "
                f"AND account_id IN {MEMBERS}",
                (now_row[0], members),
            ).fetchone()
            entries[key] = TemplateEntry(d["pattern"], key, now_row[0], now_row[1], now_row[2], used[0], used[1],
                                         now_row[3], _examples(conn, now_row[4]), added=True)  # fmt: skip
        else:  # gone since it was added: as it was then
            entries[key] = TemplateEntry(d["pattern"], key, None, d["accounts"], d["requests"], 0, 0, d["cot_share"],
                                         [], added=True)  # fmt: skip
    return list(entries.values())


def _examples(conn, examples_json: str, n: int = 3) -> list[str]:
    hashes = json.loads(examples_json or "[]")[:n]
    if not hashes:
        return []
    found = dict(
        conn.execute(
            f"SELECT hash, substr(text, 1, {PROMPT_CHARS}) FROM prompts WHERE hash IN ({', '.join('?' * len(hashes))})",
            hashes,
        )
    )
    return [found[h] for h in hashes if h in found]


def _samples(conn, members: str, per_member: int) -> list[SampleRequest]:
    rows = conn.execute(
        "SELECT r.account_id, r.ts, r.ip, r.user_agent, r.model, r.input_tokens, r.output_tokens, "
        f"substr(p.text, 1, {PROMPT_CHARS}), pt.template_id "
        f"FROM {MEMBERS} m JOIN requests r ON r.rid IN "
        "(SELECT rid FROM requests WHERE account_id = m.value ORDER BY ts LIMIT ?) "
        "LEFT JOIN prompts p ON p.hash = r.prompt_hash LEFT JOIN prompt_templates pt ON pt.prompt_hash = r.prompt_hash "
        "ORDER BY r.account_id, r.ts",
        (members, per_member),
    )
    return [SampleRequest(a, _iso(ts), *rest) for a, ts, *rest in rows]
