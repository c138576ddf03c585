"""Small dataclasses the core hands to the CLI and the terminal UI (never raw SQLite rows)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SourceRecord:
    """One loaded export file, as recorded in the `sources` table."""

    id: int
    path: str
    size: int
    sha256: str
    format: str
    kind: str
    status: str
    rows_read: int
    stored: int
    duplicates: int
    quarantined: int
    resume_units: int
    resume_bytes: int
    resume_lines: int
    options: str | None  # JSON: export format, account field, field map
    notes: str | None  # JSON {note: rows}
    tool_version: str
    started_at: str
    finished_at: str | None


@dataclass
class IngestSummary:
    """What one ingest run did to one file. Invariant: rows_read = stored + duplicates + quarantined."""

    path: str
    format: str
    kind: str
    sha256: str
    size: int
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)  # what stored rows lack and why, e.g. {"prompt not stored": 12}
    options: dict = field(default_factory=dict)  # export format, account field, field map
    status: str = "loaded"  # loaded | resumed | already loaded | skipped | interrupted | failed
    error: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        keys = (
            "path", "format", "kind", "sha256", "rows_read", "stored", "duplicates", "quarantined", "reasons",
            "notes", "options", "status",
        )  # fmt: skip
        d = {k: asdict(self)[k] for k in keys}
        if self.error:
            d["error"] = self.error
        return d


@dataclass
class StoreInfo:
    """What a store holds (`farmhound info`)."""

    path: str
    requests: int
    accounts: int
    account_records: int
    prompts: int
    responses: int
    sources: int
    quarantined: int
    templates: int
    clusters: int
    tags: int
    cases: int
    schema_version: int
    first_ts: int | None
    last_ts: int | None
    size_bytes: int

    def to_json(self) -> dict:
        keys = ("requests", "accounts", "sources", "quarantined", "templates", "clusters", "tags", "cases", "schema_version")
        return {k: getattr(self, k) for k in keys}
