"""What a case file says, gathered once from the store and handed to every renderer.

`CaseData` is the single source of every file in a case file: `report.md`, `report.html`,
`members.csv`, `case.json`, `evidence/` and `indicators.json` are all drawn from one instance, after
redaction (`farmhound.casefile.redact`), so no renderer can leak what another one hid.

Every string in it that came from a log (account ids, emails, user agents, IPs, prompts, file names,
even analyst notes) is untrusted: renderers escape it for their medium (HTML, CSV, Markdown, STIX).

Times are ISO 8601 strings in UTC (`2026-05-01T12:00:00Z`); counts are ints.

Not here: reading the store (`farmhound.store.evidence`), writing files (`farmhound.casefile.export`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")  # TLP 2.0


@dataclass
class Member:
    """One account of the case, with what the store knows of it."""

    account_id: str
    via: str  # how it joined the case: "account", "cluster 4 (run 7)", "tagged confirmed", ...
    email: str | None = None
    email_domain: str | None = None
    payment_fingerprint: str | None = None
    card_bin: str | None = None
    billing_country: str | None = None
    signup_ip: str | None = None
    created_at: str | None = None  # signup time
    org_id: str | None = None
    tier: str | None = None
    cluster_id: int | None = None  # in the latest triage run
    score: float | None = None
    level: str | None = None  # low | medium | high | critical
    reasons: list[str] = field(default_factory=list)  # reason codes with points, e.g. "S3 +2.0"
    tags: list[str] = field(default_factory=list)
    requests: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    ips: list[str] = field(default_factory=list)  # the IPs it sent requests from (most used first, at most 20)
    user_agents: list[str] = field(default_factory=list)  # most used first, at most 10


@dataclass
class ClusterEntry:
    """A candidate farm added to the case: as it was when added, and its reasons."""

    id: int  # its id in the triage run it came from
    run: int  # that triage run
    score: float
    level: str
    size: int
    links: dict[str, int]  # what holds it together: {link kind: edges}
    families: dict[str, float]  # capped points per signal family
    reasons: list[dict]  # {code, name, value, threshold, points, detail, evidence}
    current: bool  # True: the same run is still the latest, so `id` still names it in the workbench


@dataclass
class TemplateEntry:
    """A prompt template the members send (or one added to the case by hand)."""

    pattern: str  # volatile parts as <*>
    pattern_sha256: str  # a stable key across triage runs and organisations
    template_id: int | None  # in the latest run (None: no longer found)
    accounts: int  # platform-wide accounts sending it
    requests: int  # platform-wide
    member_accounts: int  # members of the case sending it
    member_requests: int
    cot_share: float | None  # share of uses asking for reasoning traces
    examples: list[str]  # a few prompts of the template, verbatim (or redacted)
    added: bool = False  # True: added to the case by an analyst, not only used by members


@dataclass
class SampleRequest:
    """One request of a member, as evidence."""

    account_id: str
    ts: str | None
    ip: str | None
    user_agent: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    prompt: str | None  # the last user turn, cut at 2,000 characters (or redacted)
    template_id: int | None


@dataclass
class SourceFile:
    """An export file loaded into the store that holds rows of the members."""

    path: str
    sha256: str
    format: str
    kind: str  # requests | accounts
    rows_read: int
    loaded_at: str | None


@dataclass
class Note:
    at: str
    analyst: str
    text: str


@dataclass
class CaseData:
    name: str
    status: str  # open | review | closed
    created_at: str
    created_by: str
    description: str | None
    notes: list[Note]
    generated_at: str
    analyst: str  # who exported
    tool_version: str
    tlp: str  # one of TLP_LEVELS
    redacted: list[str]  # what was hashed or dropped: emails, ips, prompts
    triage: dict | None  # the latest run: {run, config_hash, config, finished_at, tool_version}
    members: list[Member]
    clusters: list[ClusterEntry]
    templates: list[TemplateEntry]  # most member accounts first
    timeline: list[tuple[str, int]]  # members' requests per hour: (hour start, requests), oldest first
    signups: list[tuple[str, int]]  # members' signups per hour: (hour start, accounts), oldest first
    samples: list[SampleRequest]  # a few requests per member, by member then time
    sources: list[SourceFile]
    organisation: str = "farmhound"  # the producer, named in the STIX bundle (settings: organisation)

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.members)

    def to_dict(self) -> dict:
        return asdict(self)
