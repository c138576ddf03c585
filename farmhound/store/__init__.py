"""The SQLite store: schema, migrations and every SQL statement farmhound runs.

One file, WAL mode, opened through sqlite-utils. The schema is versioned in `meta` and migrated on
open. Schema, DDL and queries go through sqlite-utils; the ingest hot path uses the raw connection's
`executemany` because sqlite-utils' `insert_all` caps statements at a few dozen rows.

Not here: parsing files (see `loaders/`), presentation (the CLI and `tui/`).

Row identity: prompt and response texts are deduplicated by a 63-bit xxh3 hash that requests use
as the reference, so the writer never has to look an id up. Timestamps are INTEGER milliseconds
since the epoch, UTC.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from farmhound import __version__
from farmhound.models import SourceRecord, StoreInfo

SCHEMA_VERSION = 5
BUSY_TIMEOUT_MS = 30_000
PAGE_SIZE = 16384  # measured: 16 KiB pages load ~1.5x faster than 4 KiB for 2 KB rows

# Columns of `requests` in the order the loaders produce them (see loaders/records.py).
REQUEST_COLUMNS = (
    "request_id",
    "source_id",
    "line",
    "ts",
    "account_id",
    "api_key_id",
    "org_id",
    "ip",
    "ip_prefix",
    "user_agent",
    "country",
    "model",
    "system_hash",
    "prompt_hash",
    "conversation_hash",
    "response_hash",
    "turns",
    "input_tokens",
    "output_tokens",
    "max_tokens",
    "temperature",
    "latency_ms",
    "status",
    "tags",
    "cache_hit",
)
ACCOUNT_COLUMNS = (
    "account_id",
    "created_at",
    "email",
    "email_domain",
    "payment_fingerprint",
    "card_bin",
    "billing_country",
    "signup_ip",
    "signup_ip_prefix",
    "org_id",
    "tier",
    "verified",
)
# Secondary indexes that serve the pivots. The request ones are dropped and rebuilt around a bulk
# load (building an index once is far cheaper than maintaining it row by row); `ensure_indexes`
# restores any that a killed load left missing.
REQUEST_INDEXES = {
    "idx_requests_account_ts": ("requests", ("account_id", "ts")),
    "idx_requests_ts": ("requests", ("ts",)),
    "idx_requests_ip_prefix": ("requests", ("ip_prefix",)),
    "idx_requests_user_agent": ("requests", ("user_agent",)),
    "idx_requests_org": ("requests", ("org_id",)),
}
ACCOUNT_INDEXES = {
    "idx_accounts_payment": ("accounts", ("payment_fingerprint",)),
    "idx_accounts_card_bin": ("accounts", ("card_bin",)),
    "idx_accounts_email_domain": ("accounts", ("email_domain",)),
    "idx_accounts_org": ("accounts", ("org_id",)),
    "idx_accounts_created": ("accounts", ("created_at",)),
    "idx_accounts_signup_prefix": ("accounts", ("signup_ip_prefix",)),
}


def _migrate_1(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute(
        """CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            format TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,             -- loading | complete
            rows_read INTEGER NOT NULL DEFAULT 0,
            stored INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            quarantined INTEGER NOT NULL DEFAULT 0,
            resume_units INTEGER NOT NULL DEFAULT 0,  -- input units (rows) consumed and committed
            resume_bytes INTEGER NOT NULL DEFAULT 0,  -- file bytes consumed and committed
            resume_lines INTEGER NOT NULL DEFAULT 0,  -- physical lines consumed and committed
            options TEXT,                     -- JSON: loader options that shaped the rows
            notes TEXT,                       -- JSON {note: rows}: what rows lacked and why
            tool_version TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            UNIQUE (sha256, kind)
        )"""
    )
    # Texts are appended in arrival order (sequential rowids keep the big table append-only) and
    # found by their hash through a small unique index; requests refer to texts by hash.
    for table in ("prompts", "responses"):
        db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, text TEXT NOT NULL)")
        db.execute(f"CREATE UNIQUE INDEX idx_{table}_hash ON {table} (hash)")
    db.execute(
        """CREATE TABLE requests (
            rid INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            line INTEGER NOT NULL,
            ts INTEGER,                       -- ms since epoch, UTC; NULL: the export has no time
            account_id TEXT NOT NULL,
            api_key_id TEXT,
            org_id TEXT,
            ip TEXT,
            ip_prefix TEXT,                   -- /24 (IPv4) or /48 (IPv6)
            user_agent TEXT,
            country TEXT,
            model TEXT,
            system_hash INTEGER,              -- prompts.hash of the system prompt
            prompt_hash INTEGER,              -- prompts.hash of the last user turn
            conversation_hash INTEGER,        -- prompts.hash of the whole multi-turn conversation (JSON)
            response_hash INTEGER,            -- responses.hash
            turns INTEGER,
            input_tokens INTEGER,
            output_tokens INTEGER,
            max_tokens INTEGER,
            temperature REAL,
            latency_ms REAL,
            status TEXT,
            tags TEXT,                        -- JSON list: request / trace tags of the export
            cache_hit INTEGER                 -- 1: the gateway answered from its cache
        )"""
    )
    db.execute("CREATE UNIQUE INDEX idx_requests_request_id ON requests (request_id)")
    db.execute(
        """CREATE TABLE accounts (
            account_id TEXT PRIMARY KEY,
            has_record INTEGER NOT NULL DEFAULT 0,  -- 1 once an account record was loaded
            created_at INTEGER,               -- ms since epoch, UTC
            email TEXT,
            email_domain TEXT,
            payment_fingerprint TEXT,
            card_bin TEXT,
            billing_country TEXT,
            signup_ip TEXT,
            signup_ip_prefix TEXT,
            org_id TEXT,
            tier TEXT,
            verified INTEGER,
            source_id INTEGER REFERENCES sources(id)
        )"""
    )
    db.execute(
        """CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            line INTEGER NOT NULL,
            reason TEXT NOT NULL,             -- short code, e.g. 'invalid JSON'
            detail TEXT,                      -- the specifics: field, value, parser message
            raw TEXT,                         -- the raw row, truncated
            UNIQUE (source_id, line)
        )"""
    )
    db.execute("CREATE INDEX idx_quarantine_reason ON quarantine (reason)")


def _migrate_2(db: sqlite_utils.Database) -> None:
    """Derived tables of triage: rebuilt whole by each run, stamped with the config hash that made
    them. Investigation tables (tags, notes, cases) are never touched by a rebuild."""
    db.execute(
        """CREATE TABLE triage_runs (
            id INTEGER PRIMARY KEY,
            config_hash TEXT NOT NULL,
            config TEXT NOT NULL,             -- the whole config used, as JSON
            tool_version TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            requests INTEGER, accounts INTEGER, templates INTEGER, clusters INTEGER, flagged INTEGER,
            seconds TEXT                      -- JSON: seconds per phase
        )"""
    )
    db.execute(
        """CREATE TABLE templates (
            id INTEGER PRIMARY KEY,
            family_id INTEGER NOT NULL,
            pattern TEXT NOT NULL,            -- volatile parts as <*>
            prompts INTEGER NOT NULL,         -- distinct prompt texts
            requests INTEGER NOT NULL,
            accounts INTEGER NOT NULL,
            orgs INTEGER NOT NULL,
            evenness REAL,                    -- entropy of use per account / log(accounts)
            top_share REAL,                   -- the largest account's share of the uses
            cot_share REAL,                   -- share of uses that ask for reasoning traces
            examples TEXT NOT NULL,           -- JSON list of prompt hashes
            config_hash TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX idx_templates_family ON templates (family_id)")
    db.execute("CREATE TABLE prompt_templates (prompt_hash INTEGER PRIMARY KEY, template_id INTEGER NOT NULL)")
    db.execute("CREATE INDEX idx_prompt_templates_template ON prompt_templates (template_id)")
    db.execute(
        """CREATE TABLE account_templates (
            account_id TEXT NOT NULL, template_id INTEGER NOT NULL, requests INTEGER NOT NULL,
            first_ts INTEGER, last_ts INTEGER,
            PRIMARY KEY (account_id, template_id)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX idx_account_templates_template ON account_templates (template_id, requests)")
    db.execute(
        """CREATE TABLE clusters (
            id INTEGER PRIMARY KEY,
            score REAL NOT NULL,
            level TEXT NOT NULL,              -- low | medium | high | critical
            size INTEGER NOT NULL,
            families TEXT NOT NULL,           -- JSON {family: capped points}
            links TEXT NOT NULL,              -- JSON {link kind: edges}: what holds the cluster together
            reasons TEXT NOT NULL,            -- JSON list of reason codes (signal, value, threshold, points, detail, evidence)
            config_hash TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE account_scores (
            account_id TEXT PRIMARY KEY,
            cluster_id INTEGER,               -- NULL: linked to no other account
            score REAL NOT NULL,
            level TEXT NOT NULL,
            membership REAL,                  -- strength of the account's tie to its cluster, 0..1
            signals TEXT NOT NULL,            -- JSON {signal code: raw value}
            reasons TEXT NOT NULL,            -- JSON list of reason codes
            config_hash TEXT NOT NULL
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX idx_account_scores_cluster ON account_scores (cluster_id, score)")
    db.execute("CREATE INDEX idx_account_scores_score ON account_scores (score)")


def _migrate_3(db: sqlite_utils.Database) -> None:
    """The pivot table of triage: every attribute value an account has (IP prefix, user agent,
    payment fingerprint, card BIN, email domain and pattern, signup /24 and hour, org, template),
    with how many accounts share it. Pivots and facets are range scans of its primary key."""
    db.execute(
        """CREATE TABLE account_values (
            kind TEXT NOT NULL,               -- see farmhound.store.investigate.KINDS
            value TEXT NOT NULL,
            account_id TEXT NOT NULL,
            uses INTEGER NOT NULL,            -- the account's requests with it (1 for account-record fields)
            accounts INTEGER NOT NULL,        -- accounts sharing this value, platform-wide
            PRIMARY KEY (kind, value, account_id)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX idx_account_values_account ON account_values (account_id, kind)")
    db.execute("ALTER TABLE templates ADD COLUMN family_accounts INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX idx_templates_spread ON templates (family_accounts, family_id, accounts)")
    db.execute("CREATE INDEX idx_clusters_score ON clusters (score)")
    # Results of an older triage have no pivot values: dropped, so the next triage (or `farmhound
    # tui`, which runs it when there are none) rebuilds them all; tags and cases are not derived.
    for table in ("templates", "prompt_templates", "account_templates", "clusters", "account_scores", "triage_runs"):
        db.execute(f"DELETE FROM {table}")
    db.execute("ALTER TABLE clusters ADD COLUMN timeline TEXT")  # JSON {first, last, counts}: members' requests
    db.execute(
        """CREATE TABLE cluster_values (
            cluster_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            members INTEGER NOT NULL,         -- members of the cluster with the value (2 or more)
            accounts INTEGER NOT NULL,        -- accounts with it, platform-wide
            PRIMARY KEY (cluster_id, kind, value)
        ) WITHOUT ROWID"""
    )


def _migrate_4(db: sqlite_utils.Database) -> None:
    """Tags on accounts (see `farmhound/store/tags.py`): an append-only event log and the
    current state, written together. Investigation tables: no rebuild touches them."""
    db.execute(
        """CREATE TABLE tag_events (
            id INTEGER PRIMARY KEY,
            batch INTEGER NOT NULL,           -- one analyst action, undone and redone whole
            kind TEXT NOT NULL,               -- do | undo | redo
            at TEXT NOT NULL,                 -- ISO 8601, UTC
            analyst TEXT NOT NULL,
            action TEXT NOT NULL,             -- add | remove
            account_id TEXT NOT NULL,
            tag TEXT NOT NULL,                -- suspected | confirmed | cleared, or a free label
            note TEXT,
            previous TEXT,                    -- the account's status before this event
            reverts INTEGER                   -- undo: the batch taken back; redo: the undo reversed
        )"""
    )
    db.execute("CREATE INDEX idx_tag_events_account ON tag_events (account_id, id)")
    db.execute("CREATE INDEX idx_tag_events_batch ON tag_events (batch)")
    db.execute(
        """CREATE TABLE tags (
            account_id TEXT NOT NULL, tag TEXT NOT NULL, analyst TEXT NOT NULL, at TEXT NOT NULL, note TEXT,
            PRIMARY KEY (account_id, tag)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX idx_tags_tag ON tags (tag)")


def _migrate_5(db: sqlite_utils.Database) -> None:
    """Cases (see `farmhound/store/cases.py`): named groups of accounts, clusters and templates, with
    notes, a status and an append-only log of every change. Investigation tables: no rebuild touches
    them. A cluster or template is kept as it was when added (ids are renumbered by each triage
    run); the accounts of a cluster are added as members in their own right."""
    db.execute(
        """CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            status TEXT NOT NULL,             -- open | review | closed
            created_at TEXT NOT NULL,
            analyst TEXT NOT NULL,
            description TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE case_items (
            case_id INTEGER NOT NULL REFERENCES cases(id),
            kind TEXT NOT NULL,               -- account | cluster | template
            key TEXT NOT NULL,                -- account id; "run R cluster N"; the template pattern's SHA-256
            added_at TEXT NOT NULL,
            analyst TEXT NOT NULL,
            via TEXT NOT NULL,                -- how it joined: "account", "cluster 4 (run 7)", "tagged confirmed", ...
            detail TEXT,                      -- JSON: a cluster or template as it was when added
            PRIMARY KEY (case_id, kind, key)
        ) WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE case_events (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id),
            at TEXT NOT NULL,
            analyst TEXT NOT NULL,
            action TEXT NOT NULL,             -- new | add | remove | note | status | export
            kind TEXT,                        -- add/remove: account | cluster | template
            keys TEXT,                        -- add/remove: JSON list of the keys changed
            text TEXT                         -- note text, new status, export folder, ...
        )"""
    )
    db.execute("CREATE INDEX idx_case_events_case ON case_events (case_id, id)")


MIGRATIONS = {1: _migrate_1, 2: _migrate_2, 3: _migrate_3, 4: _migrate_4, 5: _migrate_5}
DERIVED_TABLES = (
    "templates", "prompt_templates", "account_templates", "clusters", "account_scores", "account_values",
    "cluster_values",
)  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class StoreError(Exception):
    """The store cannot be opened or used (not a farmhound store, newer schema, corrupt file)."""


@dataclass
class BatchResult:
    stored: int
    duplicates: int
    quarantined: int


class Store:
    """A farmhound store: one SQLite file. One instance per thread or process."""

    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise StoreError(f"{self.path}: no such store")
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            if readonly:
                conn.execute("PRAGMA query_only=1")  # the investigation read path never writes
            else:
                conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only takes effect on a new file
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-65536")  # 64 MiB
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable SQLite store ({exc})") from exc
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        if not readonly:
            self._migrate()

    # -- schema ---------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        if not self.db["meta"].exists():
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {current} is newer than this farmhound "
                f"({__version__}, schema {SCHEMA_VERSION}); upgrade farmhound"
            )
        if current == 0 and [t for t in self.db.table_names() if t != "meta"]:
            raise StoreError(f"{self.path}: an SQLite file that is not a farmhound store")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                MIGRATIONS[version](self.db)
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(version),),
                )
        self.ensure_indexes()

    def ensure_indexes(self) -> None:
        """Create any pivot index that is missing (a killed bulk load can leave them dropped)."""
        for name, (table, cols) in {**REQUEST_INDEXES, **ACCOUNT_INDEXES}.items():
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(cols)})")

    def drop_request_indexes(self) -> None:
        """Drop the request pivot indexes before a bulk load; `ensure_indexes` rebuilds them."""
        for name in REQUEST_INDEXES:
            self.conn.execute(f"DROP INDEX IF EXISTS {name}")

    def bulk_mode(self, rollback_journal: bool = False) -> None:
        """For the length of an ingest: no fsync per commit. A killed process still leaves a
        consistent store (the OS has every committed write); `end_bulk_mode` makes it durable.

        With `rollback_journal` (a big load into a store that is nearly empty), the load also
        leaves WAL mode while it runs: new pages are then written once, where WAL writes them twice
        (measured: commits took 4x less time). Readers of the store wait while it loads. If
        another connection has the store open, it stays in WAL mode."""
        self.conn.execute("PRAGMA synchronous=OFF")
        if rollback_journal:
            self.conn.execute("PRAGMA busy_timeout=0")  # an open reader: fail now, not in 30 s
            try:
                self.conn.execute("PRAGMA journal_mode=TRUNCATE")
            except sqlite3.OperationalError:  # another connection holds the store: stay in WAL
                pass
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def end_bulk_mode(self) -> None:
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # with NORMAL: synced to disk
        self.conn.execute("PRAGMA optimize")

    def transaction(self):
        return _Transaction(self.conn)

    @contextmanager
    def snapshot(self):
        """A read transaction: every query inside sees the store as of its first read, however
        many writers commit meanwhile (WAL). Inside a transaction already, that one is the snapshot."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- sources --------------------------------------------------------------------------------

    def find_source(self, sha256: str, kind: str) -> SourceRecord | None:
        rows = list(self.db.query("SELECT * FROM sources WHERE sha256 = ? AND kind = ?", [sha256, kind]))
        return SourceRecord(**rows[0]) if rows else None

    def begin_source(self, path: str, size: int, sha256: str, fmt: str, kind: str, options: str | None) -> SourceRecord:
        """Return the source row for this file content, creating it (status 'loading') if new."""
        existing = self.find_source(sha256, kind)
        if existing:
            if existing.status != "complete" and existing.path != path:
                self.conn.execute("UPDATE sources SET path = ? WHERE id = ?", (path, existing.id))
                existing.path = path
            return existing
        with self.transaction():
            self.conn.execute(
                """INSERT INTO sources (path, size, sha256, format, kind, status, options,
                   tool_version, started_at) VALUES (?, ?, ?, ?, ?, 'loading', ?, ?, ?)""",
                (path, size, sha256, fmt, kind, options, __version__, _now()),
            )
        return self.find_source(sha256, kind)  # type: ignore[return-value]

    def finish_source(self, source_id: int) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE sources SET status = 'complete', finished_at = ? WHERE id = ?", (_now(), source_id)
            )

    def sources(self) -> list[SourceRecord]:
        return [SourceRecord(**row) for row in self.db.query("SELECT * FROM sources ORDER BY id")]

    def request_count(self) -> int:
        # max(rid) is O(1); rows are never deleted, so it equals count(*) without a full scan.
        return self.conn.execute("SELECT coalesce(max(rid), 0) FROM requests").fetchone()[0]

    # -- the ingest write path ------------------------------------------------------------------

    def write_request_batch(
        self,
        source_id: int,
        rows: Sequence[tuple],
        prompts: Iterable[tuple[int, str]],
        responses: Iterable[tuple[int, str]],
        account_ids: Iterable[str],
        quarantine: Sequence[tuple[int, str, str, str]],
        progress: tuple[int, int, int],
        line_offset: int = 0,
        notes: dict[str, int] | None = None,
    ) -> BatchResult:
        """Store one batch of normalised request rows atomically with the source's progress.

        Args:
            rows: tuples in `REQUEST_COLUMNS` order (source_id already set).
            prompts / responses: (hash, UTF-8 text) pairs; already-known hashes are ignored.
            account_ids: accounts seen in this batch, so `accounts` knows every account.
            quarantine: (line, reason, detail, raw) of rejected rows.
            progress: (units consumed, bytes position, last line) of this batch, for resuming.
            notes: {note: rows} of this batch, added to the source's notes.
            line_offset: added to each row's line (a batch read from the middle of a file counts
                its lines from its own start); SQL adds it, saving a Python pass over the rows.
        Returns:
            How many rows were stored and how many were duplicates of stored request ids.
        """
        c = self.conn
        with self.transaction():
            c.executemany("INSERT OR IGNORE INTO prompts (hash, text) VALUES (?, ?)", prompts)
            c.executemany("INSERT OR IGNORE INTO responses (hash, text) VALUES (?, ?)", responses)
            insert = _INSERT_REQUEST.replace("?3", f"?3 + {int(line_offset)}") if line_offset else _INSERT_REQUEST
            stored = c.executemany(insert, rows).rowcount if rows else 0
            c.executemany("INSERT OR IGNORE INTO accounts (account_id) VALUES (?)", [(a,) for a in account_ids])
            result = self._finish_batch(source_id, len(rows), stored, quarantine, progress, notes)
        return result

    def write_account_batch(
        self,
        source_id: int,
        rows: Sequence[tuple],
        quarantine: Sequence[tuple[int, str, str, str]],
        progress: tuple[int, int, int],
    ) -> BatchResult:
        """Store account records (tuples in `ACCOUNT_COLUMNS` order) atomically with progress.

        A record for a known account fills in or updates its fields; a record identical to what
        is stored counts as a duplicate.
        """
        c = self.conn
        with self.transaction():
            before = c.total_changes
            c.executemany(_UPSERT_ACCOUNT, [(*r, source_id) for r in rows])
            stored = c.total_changes - before
            result = self._finish_batch(source_id, len(rows), stored, quarantine, progress)
        return result

    def write_companion_batch(
        self, source_id: int, kept: int, quarantine: Sequence[tuple[int, str, str, str]], progress: tuple[int, int, int]
    ) -> BatchResult:
        """Account for a companion file (a batch input joined into another file's rows): `kept`
        rows served the join; the rest are quarantined."""
        with self.transaction():
            return self._finish_batch(source_id, kept, kept, quarantine, progress)

    def _finish_batch(self, source_id, n_rows, stored, quarantine, progress, notes=None) -> BatchResult:
        c = self.conn
        before = c.total_changes
        c.executemany(
            "INSERT OR IGNORE INTO quarantine (source_id, line, reason, detail, raw) VALUES (?, ?, ?, ?, ?)",
            [(source_id, *q) for q in quarantine],
        )
        quarantined = c.total_changes - before
        if notes:
            (current,) = c.execute("SELECT notes FROM sources WHERE id = ?", (source_id,)).fetchone()
            merged = json.loads(current) if current else {}
            for note, n in notes.items():
                merged[note] = merged.get(note, 0) + n
            c.execute("UPDATE sources SET notes = ? WHERE id = ?", (json.dumps(merged, sort_keys=True), source_id))
        # A row already stored, or already in quarantine for this source, is a duplicate.
        duplicates = n_rows - stored + len(quarantine) - quarantined
        c.execute(
            """UPDATE sources SET rows_read = rows_read + ?, stored = stored + ?,
               duplicates = duplicates + ?, quarantined = quarantined + ?,
               resume_units = resume_units + ?, resume_bytes = ?, resume_lines = ? WHERE id = ?""",
            (n_rows + len(quarantine), stored, duplicates, quarantined, *progress, source_id),
        )
        return BatchResult(stored=stored, duplicates=duplicates, quarantined=quarantined)

    # -- triage: reading the columns detection needs, writing its derived tables ---------------------

    def triage_requests(self):
        """Every request as a pandas DataFrame of the columns detection reads (strings as
        categoricals), sorted by account and time."""
        import pandas as pd

        cols = [
            "rid", "account_id", "ts", "ip_prefix", "user_agent", "country", "model", "system_hash",
            "prompt_hash", "turns", "max_tokens", "temperature", "org_id",
        ]  # fmt: skip
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM requests").fetchall()
        df = pd.DataFrame.from_records(rows, columns=cols)
        for c in ("account_id", "ip_prefix", "user_agent", "country", "model", "org_id"):
            df[c] = df[c].astype("category")
        for c in ("ts", "system_hash", "prompt_hash", "turns", "max_tokens"):
            df[c] = df[c].astype("Int64")
        return df.sort_values(["account_id", "ts"], kind="stable", ignore_index=True)

    def triage_accounts(self):
        """Every known account (from records or only seen in requests) as a DataFrame."""
        import pandas as pd

        cols = ["account_id", "has_record", *ACCOUNT_COLUMNS[1:]]
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM accounts ORDER BY account_id").fetchall()
        df = pd.DataFrame.from_records(rows, columns=cols)
        df["created_at"] = df["created_at"].astype("Int64")
        return df

    def prompt_texts(self, used: set[int], head: int, tail: int) -> Iterator[tuple[int, str]]:
        """(hash, text) of the prompts whose hash is in `used` (the prompt hashes requests carry).
        A text longer than head + tail comes as its first `head` and last `tail` characters joined
        by " … ", cut by SQLite: the middle of a long prompt never becomes a Python string.
        (One scan filtered here: measured 8x faster than `WHERE hash IN (SELECT ... requests)`.)"""
        sql = (
            "SELECT hash, CASE WHEN length(text) > ?1 + ?2 + 3 THEN substr(text, 1, ?1) || ' … ' || substr(text, -?2) "
            "ELSE text END FROM prompts"
        )
        for h, text in self.conn.execute(sql, (head, tail)):
            if h in used:
                yield h, text

    def write_triage(
        self, run: dict, templates, prompt_templates, account_templates, clusters, account_scores, account_values=(),
        cluster_values=(),
    ) -> int:  # fmt: skip
        """Replace the derived tables with one triage run's results, atomically. Tags, notes and
        cases are not touched. Returns the run id."""
        c = self.conn
        with self.transaction():
            for table in DERIVED_TABLES:
                c.execute(f"DELETE FROM {table}")
            c.executemany(
                "INSERT INTO templates (id, family_id, pattern, prompts, requests, accounts, orgs, evenness, "
                "top_share, cot_share, examples, config_hash, family_accounts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                templates,
            )
            c.executemany("INSERT INTO prompt_templates (prompt_hash, template_id) VALUES (?, ?)", prompt_templates)
            c.executemany(
                "INSERT INTO account_templates (account_id, template_id, requests, first_ts, last_ts) "
                "VALUES (?, ?, ?, ?, ?)",
                account_templates,
            )
            c.executemany(
                "INSERT INTO clusters (id, score, level, size, families, links, reasons, config_hash, timeline) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                clusters,
            )
            c.executemany(
                "INSERT INTO account_scores (account_id, cluster_id, score, level, membership, signals, reasons, "
                "config_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                account_scores,
            )
            c.executemany(
                "INSERT INTO account_values (kind, value, account_id, uses, accounts) VALUES (?, ?, ?, ?, ?)",
                account_values,
            )
            c.executemany(
                "INSERT INTO cluster_values (cluster_id, kind, value, members, accounts) VALUES (?, ?, ?, ?, ?)",
                cluster_values,
            )
            cur = c.execute(
                "INSERT INTO triage_runs (config_hash, config, tool_version, started_at, finished_at, requests, "
                "accounts, templates, clusters, flagged, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run["config_hash"], run["config"], __version__, run["started_at"], _now(), run["requests"],
                 run["accounts"], run["templates"], run["clusters"], run["flagged"], json.dumps(run["seconds"])),
            )  # fmt: skip
        return cur.lastrowid

    def record_triage_seconds(self, run_id: int, seconds: dict[str, float]) -> None:
        """The time per phase of a triage run, once it is complete (writing included)."""
        with self.transaction():
            self.conn.execute("UPDATE triage_runs SET seconds = ? WHERE id = ?", (json.dumps(seconds), run_id))

    # -- reading --------------------------------------------------------------------------------

    def info(self) -> StoreInfo:
        def count(table: str, sql: str | None = None) -> int:
            if not self.db[table].exists():
                return 0
            return self.conn.execute(sql or f"SELECT count(*) FROM {table}").fetchone()[0]

        return StoreInfo(
            path=str(self.path),
            requests=self.request_count(),
            accounts=count("accounts"),
            account_records=count("accounts", "SELECT count(*) FROM accounts WHERE has_record"),
            prompts=count("prompts"),
            responses=count("responses"),
            sources=count("sources"),
            quarantined=count("quarantine"),
            templates=count("templates"),
            clusters=count("clusters"),
            tags=count("tags"),
            cases=count("cases"),
            schema_version=self.schema_version,
            first_ts=self.conn.execute("SELECT min(ts) FROM requests").fetchone()[0],
            last_ts=self.conn.execute("SELECT max(ts) FROM requests").fetchone()[0],
            size_bytes=self.path.stat().st_size if self.path.exists() else 0,
        )

    def known_accounts(self, accounts: list[str]) -> set[str]:
        """Which of `accounts` the store knows (from account records or requests)."""
        found: set[str] = set()
        for k in range(0, len(accounts), 500):
            chunk = accounts[k : k + 500]
            sql = f"SELECT account_id FROM accounts WHERE account_id IN ({', '.join('?' * len(chunk))})"
            found.update(a for (a,) in self.conn.execute(sql, chunk))
        return found

    def cluster_members(self, cluster_id: int) -> list[str]:
        """The accounts of a candidate farm of the latest triage run."""
        return [a for (a,) in self.conn.execute("SELECT account_id FROM account_scores WHERE cluster_id = ?", (cluster_id,))]

    def quarantine_reasons(self, source_id: int | None = None, limit: int = 5) -> list[tuple[str, int]]:
        where, params = ("WHERE source_id = ?", [source_id]) if source_id is not None else ("", [])
        return [
            (r["reason"], r["n"])
            for r in self.db.query(
                f"SELECT reason, count(*) AS n FROM quarantine {where} GROUP BY reason ORDER BY n DESC, reason LIMIT ?",
                [*params, limit],
            )
        ]

    def quarantine_rows(self, source_id: int | None = None, limit: int = 100) -> list[dict]:
        where, params = ("WHERE source_id = ?", [source_id]) if source_id is not None else ("", [])
        return list(
            self.db.query(
                f"SELECT source_id, line, reason, detail, raw FROM quarantine {where} ORDER BY source_id, line LIMIT ?",
                [*params, limit],
            )
        )


_INSERT_REQUEST = (
    f"INSERT OR IGNORE INTO requests ({', '.join(REQUEST_COLUMNS)}) "
    f"VALUES ({', '.join(f'?{i}' for i in range(1, len(REQUEST_COLUMNS) + 1))})"
)
_ACCOUNT_FIELDS = ACCOUNT_COLUMNS[1:]
_UPSERT_ACCOUNT = (
    f"INSERT INTO accounts ({', '.join(ACCOUNT_COLUMNS)}, source_id, has_record) "
    f"VALUES ({', '.join('?' * len(ACCOUNT_COLUMNS))}, ?, 1) "
    "ON CONFLICT (account_id) DO UPDATE SET has_record = 1, source_id = excluded.source_id, "
    + ", ".join(f"{f} = coalesce(excluded.{f}, {f})" for f in _ACCOUNT_FIELDS)
    + " WHERE has_record = 0 OR "
    + " OR ".join(f"(excluded.{f} IS NOT NULL AND excluded.{f} IS NOT {f})" for f in _ACCOUNT_FIELDS)
)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (KeyboardInterrupt included).

    Nested in another transaction it is a SAVEPOINT: the inner block rolls back alone on error,
    and its writes commit with the outer one. So several changes (e.g. a case created and filled)
    can be made one transaction by wrapping them in `store.transaction()`."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.nested = False

    def __enter__(self):
        self.nested = self.conn.in_transaction
        self.conn.execute("SAVEPOINT nested" if self.nested else "BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        if self.nested:
            if exc_type is not None:
                self.conn.execute("ROLLBACK TO nested")
            self.conn.execute("RELEASE nested")
        elif exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
        return False
