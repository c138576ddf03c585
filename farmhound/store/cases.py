"""Cases: named groups of accounts, clusters and templates, with notes, a status and a log.

A case is what an analyst hands on: the accounts of a suspected farm, the candidate farms and the
prompt templates that show it, the notes that explain it. Every change (create, add, remove, note,
status, export) is appended to `case_events` with who and when; nothing there is ever deleted.

Clusters and templates are renumbered by each triage run, so a case keeps them as they were when
added (`detail`, JSON), under a key that stays meaningful: "run R cluster N" for a cluster, the
SHA-256 of the pattern for a template. Adding a cluster also adds its accounts as members (their
`via` names the cluster), so the case's members never change behind the analyst's back.

Cases are investigation tables: ingest and triage never touch them.

Not here: presentation (the CLI, `tui/`), the case file (`farmhound/casefile/`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass

from farmhound.store import Store
from farmhound.store.tags import STATUSES as TAG_STATUSES
from farmhound.store.tags import now as _now

STATUSES = ("open", "review", "closed")
ITEM_KINDS = ("account", "cluster", "template")
_NAME = re.compile(r"^[\w][\w .:+#-]{0,63}$")


class CaseError(ValueError):
    """A case that does not exist, a bad name or status, or a change that changes nothing."""


@dataclass
class Case:
    id: int
    name: str
    status: str
    created_at: str
    analyst: str
    description: str | None
    members: int = 0
    clusters: int = 0
    templates: int = 0
    updated_at: str | None = None  # the latest event


@dataclass
class CaseItem:
    kind: str
    key: str
    added_at: str
    analyst: str
    via: str
    detail: dict | None


@dataclass
class CaseEvent:
    id: int
    at: str
    analyst: str
    action: str
    kind: str | None
    keys: list[str]
    text: str | None


@dataclass
class Added:
    """What one add changed: keys new to the case, per kind."""

    accounts: int = 0
    clusters: int = 0
    templates: int = 0

    def __str__(self) -> str:
        parts = [f"{n:,} {kind}{'s' if n != 1 else ''}" for kind, n in
                 (("account", self.accounts), ("cluster", self.clusters), ("template", self.templates)) if n]  # fmt: skip
        return ", ".join(parts) or "nothing new"


def pattern_key(pattern: str) -> str:
    """A template's key across triage runs and organisations: the SHA-256 of its pattern."""
    return hashlib.sha256(pattern.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise CaseError(f"{name!r}: a case name is 1-64 letters, digits, spaces and . : + # - _, starting with a letter or digit")
    return name


class CaseBook:
    """The cases of one store. Writes go through the store's connection, one transaction each."""

    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    # -- changing cases -------------------------------------------------------------------------

    def new(self, name: str, analyst: str, description: str | None = None) -> Case:
        name = check_name(name)
        if self._find(name):
            raise CaseError(f"a case named {name!r} exists already")
        at = _now()
        try:
            with self.store.transaction():
                cur = self.conn.execute(
                    "INSERT INTO cases (name, status, created_at, analyst, description) VALUES (?, 'open', ?, ?, ?)",
                    (name, at, analyst, description),
                )
                self._log(cur.lastrowid, analyst, "new", text=description, at=at)
        except sqlite3.IntegrityError:  # another analyst opened it since the check above
            raise CaseError(f"a case named {name!r} exists already") from None
        return self.get(name)

    def add_accounts(self, name: str, accounts: list[str], analyst: str, via: str = "account") -> Added:
        case = self.get(name)
        accounts = list(dict.fromkeys(accounts))
        missing = sorted(set(accounts) - self.store.known_accounts(accounts))
        if missing:
            raise CaseError(f"no such account: {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
        with self.store.transaction():
            return Added(accounts=self._add(case.id, "account", [(a, via, None) for a in accounts], analyst))

    def add_clusters(self, name: str, cluster_ids: list[int], analyst: str) -> Added:
        """Add candidate farms of the latest triage run, as they are now, and all their members."""
        case = self.get(name)
        added = Added()
        with self.store.transaction():  # read and written in one: a triage run cannot come between
            run = self.conn.execute("SELECT max(id) FROM triage_runs").fetchone()[0]
            found = []
            for cid in dict.fromkeys(cluster_ids):
                row = self.conn.execute(
                    "SELECT score, level, size, families, links, reasons FROM clusters WHERE id = ?", (cid,)
                ).fetchone()
                if row is None:
                    raise CaseError(f"cluster {cid} is not in the latest triage run")
                detail = {"id": cid, "run": run, "score": row[0], "level": row[1], "size": row[2],
                          "families": json.loads(row[3]), "links": json.loads(row[4]), "reasons": json.loads(row[5])}  # fmt: skip
                found.append((cid, detail))
            for cid, detail in found:
                label = f"cluster {cid} (run {run})"
                added.clusters += self._add(case.id, "cluster", [(f"run {run} cluster {cid}", label, detail)], analyst)
                members = [a for (a,) in self.conn.execute(
                    "SELECT account_id FROM account_scores WHERE cluster_id = ? ORDER BY account_id", (cid,))]  # fmt: skip
                added.accounts += self._add(case.id, "account", [(a, label, None) for a in members], analyst)
        return added

    def add_templates(self, name: str, template_ids: list[int], analyst: str) -> Added:
        """Add prompt templates of the latest triage run, keyed by their pattern."""
        case = self.get(name)
        items = []
        for tid in dict.fromkeys(template_ids):
            row = self.conn.execute(
                "SELECT pattern, accounts, requests, cot_share FROM templates WHERE id = ?", (tid,)
            ).fetchone()
            if row is None:
                raise CaseError(f"template {tid} is not in the latest triage run")
            detail = {"id": tid, "pattern": row[0], "accounts": row[1], "requests": row[2], "cot_share": row[3]}
            items.append((pattern_key(row[0]), f"template {tid}", detail))
        with self.store.transaction():
            return Added(templates=self._add(case.id, "template", items, analyst))

    def add_tagged(self, name: str, tag: str, analyst: str) -> Added:
        """Add every account that has `tag` now (e.g. all confirmed farm members)."""
        accounts = [a for (a,) in self.conn.execute("SELECT account_id FROM tags WHERE tag = ? ORDER BY account_id", (tag,))]
        if not accounts:
            raise CaseError(f"no account is tagged {tag!r}")
        label = f"tagged {tag}" if tag in TAG_STATUSES else f"label {tag}"
        return self.add_accounts(name, accounts, analyst, via=label)

    def remove(self, name: str, kind: str, keys: list[str], analyst: str) -> int:
        if kind not in ITEM_KINDS:
            raise CaseError(f"{kind!r}: a case holds {', '.join(ITEM_KINDS)}")
        case = self.get(name)
        with self.store.transaction():
            gone = [k for k in dict.fromkeys(keys) if self.conn.execute(
                "DELETE FROM case_items WHERE case_id = ? AND kind = ? AND key = ?", (case.id, kind, k)).rowcount]  # fmt: skip
            if not gone:
                raise CaseError(f"none of these {kind}s is in case {case.name!r}")
            self._log(case.id, analyst, "remove", kind, gone)
        return len(gone)

    def note(self, name: str, text: str, analyst: str) -> None:
        case = self.get(name)
        if not text.strip():
            raise CaseError("an empty note")
        with self.store.transaction():
            self._log(case.id, analyst, "note", text=text)

    def set_status(self, name: str, status: str, analyst: str) -> None:
        case = self.get(name)
        if status not in STATUSES:
            raise CaseError(f"{status!r}: a case status is one of {', '.join(STATUSES)}")
        if status == case.status:
            raise CaseError(f"case {case.name!r} is {status} already")
        with self.store.transaction():
            self.conn.execute("UPDATE cases SET status = ? WHERE id = ?", (status, case.id))
            self._log(case.id, analyst, "status", text=status)

    def record_export(self, name: str, analyst: str, where: str) -> None:
        case = self.get(name)
        with self.store.transaction():
            self._log(case.id, analyst, "export", text=where)

    def _add(self, case_id: int, kind: str, items: list[tuple[str, str, dict | None]], analyst: str) -> int:
        """Insert the items not in the case yet; log them as one event. Call inside a transaction."""
        at, new = _now(), []
        for key, via, detail in items:
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO case_items (case_id, kind, key, added_at, analyst, via, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (case_id, kind, key, at, analyst, via, json.dumps(detail) if detail is not None else None),
            )
            if cur.rowcount:
                new.append(key)
        if new:
            self._log(case_id, analyst, "add", kind, new, text=items[0][1] if kind == "account" else None, at=at)
        return len(new)

    def _log(self, case_id, analyst, action, kind=None, keys=None, text=None, at=None) -> None:
        self.conn.execute(
            "INSERT INTO case_events (case_id, at, analyst, action, kind, keys, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (case_id, at or _now(), analyst, action, kind, json.dumps(keys) if keys else None, text),
        )

    # -- reading --------------------------------------------------------------------------------

    def get(self, name: str) -> Case:
        case = self._find(name.strip())
        if case is None:
            raise CaseError(f"no case named {name!r} (farmhound case list shows them)")
        return case

    def list(self) -> list[Case]:
        return [Case(*row) for row in self.conn.execute(_CASES + " ORDER BY c.id")]

    def items(self, name: str, kind: str | None = None) -> list[CaseItem]:
        case = self.get(name)
        sql, params = "SELECT kind, key, added_at, analyst, via, detail FROM case_items WHERE case_id = ?", [case.id]
        if kind:
            sql, params = sql + " AND kind = ?", [*params, kind]
        return [
            CaseItem(k, key, at, who, via, json.loads(d) if d else None)
            for k, key, at, who, via, d in self.conn.execute(sql + " ORDER BY kind, added_at, key", params)
        ]

    def members(self, name: str) -> list[str]:
        return [i.key for i in self.items(name, "account")]

    def events(self, name: str) -> list[CaseEvent]:
        case = self.get(name)
        return [
            CaseEvent(i, at, who, action, kind, json.loads(keys) if keys else [], text)
            for i, at, who, action, kind, keys, text in self.conn.execute(
                "SELECT id, at, analyst, action, kind, keys, text FROM case_events WHERE case_id = ? ORDER BY id",
                (case.id,),
            )
        ]

    def _find(self, name: str) -> Case | None:
        row = self.conn.execute(_CASES + " WHERE c.name = ?", (name,)).fetchone()
        return Case(*row) if row else None


_CASES = """SELECT c.id, c.name, c.status, c.created_at, c.analyst, c.description,
    (SELECT count(*) FROM case_items i WHERE i.case_id = c.id AND i.kind = 'account'),
    (SELECT count(*) FROM case_items i WHERE i.case_id = c.id AND i.kind = 'cluster'),
    (SELECT count(*) FROM case_items i WHERE i.case_id = c.id AND i.kind = 'template'),
    (SELECT max(at) FROM case_events e WHERE e.case_id = c.id)
FROM cases c"""
