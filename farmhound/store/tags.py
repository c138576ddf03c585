"""Tags on accounts, as an append-only event log with undo and redo.

Every change is an event (who, when, add or remove, which tag, why, the account's status before);
`tags` holds the current state and is written in the same transaction as the events. One analyst
action (an account, a selection, a whole cluster) is one batch: undo appends a batch that reverses
the latest batch still standing, redo reverses the latest undo, and a new action ends what can be
redone, as in an editor. Nothing is ever deleted from `tag_events`.

The statuses `suspected`, `confirmed` and `cleared` exclude each other: setting one removes the
other (recorded as its own event). Any other tag is a free label that accounts can have many of.

Tags and events are investigation tables: ingest and triage never touch them, so they survive
re-ingest and re-triage. They hold account ids only (cluster ids are renumbered by each triage run).

Not here: presentation (the CLI and `tui/tagging.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from farmhound.store import Store

STATUSES = ("suspected", "confirmed", "cleared")
_LABEL = re.compile(r"^[\w.:/+-]{1,64}$")  # free labels: one short word, no spaces or markup


class TagError(ValueError):
    """A tag that cannot be applied (a bad label, no accounts, nothing to undo)."""


@dataclass
class TagEvent:
    id: int
    batch: int
    kind: str  # do | undo | redo
    at: str
    analyst: str
    action: str  # add | remove
    account_id: str
    tag: str
    note: str | None
    previous: str | None  # the account's status before this event
    reverts: int | None  # undo: the batch it takes back; redo: the undo it reverses


@dataclass
class Batch:
    """What one action, undo or redo changed."""

    id: int
    kind: str
    events: list[TagEvent]

    @property
    def accounts(self) -> int:
        return len({e.account_id for e in self.events})


def analyst_name(explicit: str | None = None) -> str:
    """Who is deciding: `explicit` (e.g. --analyst), else $FARMHOUND_ANALYST, else `analyst` in the
    settings file (`farmhound/settings.py`), else the OS user."""
    import getpass
    import os

    from farmhound.settings import load_settings

    return explicit or os.environ.get("FARMHOUND_ANALYST") or load_settings()["analyst"] or getpass.getuser()


def check_tag(tag: str) -> str:
    tag = tag.strip()
    if tag.lower() in STATUSES:
        return tag.lower()
    if not _LABEL.match(tag):
        raise TagError(f"{tag!r}: a label is one word of letters, digits and . : / + - _ (at most 64)")
    return tag


def now() -> str:
    """The time of an investigation event: ISO 8601, UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TagLog:
    """The tags of one store. Writes go through the store's connection, one transaction each."""

    def __init__(self, store: Store):
        self.store = store
        self.conn = store.conn

    # -- changing tags --------------------------------------------------------------------------

    def apply(self, accounts: list[str], tag: str, analyst: str, note: str | None = None,
              remove: bool = False) -> Batch:  # fmt: skip
        """Add (or remove) `tag` on `accounts` as one batch; accounts already in that state are
        left alone. Raises TagError for an unknown account or an empty change."""
        tag = check_tag(tag)
        accounts = list(dict.fromkeys(accounts))
        if not accounts:
            raise TagError("no accounts to tag")
        known = self.store.known_accounts(accounts)
        missing = [a for a in accounts if a not in known]
        if missing:
            raise TagError(f"no such account: {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
        with self.store.transaction():
            batch = self._next_batch()
            events = []
            for account in accounts:
                events += self._change(batch, "do", account, tag, analyst, note, remove, None)
            if not events:
                raise TagError(f"nothing to change: every account already {'lacks' if remove else 'has'} {tag}")
        return Batch(batch, "do", events)

    def undo(self, analyst: str) -> Batch:
        """Reverse the latest action (or redo) still standing."""
        done, _ = self._stacks()
        if not done:
            raise TagError("nothing to undo")
        return self._reverse(done[-1], "undo", analyst)

    def redo(self, analyst: str) -> Batch:
        """Reverse the latest undo (re-applying what it took back), if no new action came after it."""
        _, undone = self._stacks()
        if not undone:
            raise TagError("nothing to redo")
        return self._reverse(undone[-1], "redo", analyst)

    def _reverse(self, batch: int, kind: str, analyst: str) -> Batch:
        original = self.events(batch=batch)
        with self.store.transaction():
            new = self._next_batch()
            events = []
            for e in reversed(original):
                events += self._write(new, kind, e.account_id, e.tag, analyst, e.note, e.action == "add", batch)
        return Batch(new, kind, events)

    def _change(self, batch, kind, account, tag, analyst, note, remove, reverts) -> list[TagEvent]:
        has = self._has(account, tag)
        if has != remove:  # already as asked
            return []
        events = []
        if not remove and tag in STATUSES:
            for other in STATUSES:
                if other != tag and self._has(account, other):
                    events += self._write(batch, kind, account, other, analyst, note, True, reverts)
        return events + self._write(batch, kind, account, tag, analyst, note, remove, reverts)

    def _write(self, batch, kind, account, tag, analyst, note, remove, reverts) -> list[TagEvent]:
        at, action, previous = now(), "remove" if remove else "add", self._status(account)
        cur = self.conn.execute(
            "INSERT INTO tag_events (batch, kind, at, analyst, action, account_id, tag, note, previous, reverts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (batch, kind, at, analyst, action, account, tag, note, previous, reverts),
        )
        if remove:
            self.conn.execute("DELETE FROM tags WHERE account_id = ? AND tag = ?", (account, tag))
        else:
            self.conn.execute(
                "INSERT OR REPLACE INTO tags (account_id, tag, analyst, at, note) VALUES (?, ?, ?, ?, ?)",
                (account, tag, analyst, at, note),
            )
        return [TagEvent(cur.lastrowid, batch, kind, at, analyst, action, account, tag, note, previous, reverts)]

    # -- reading --------------------------------------------------------------------------------

    def tags_of(self, account_id: str) -> list[str]:
        return [
            t for (t,) in self.conn.execute("SELECT tag FROM tags WHERE account_id = ? ORDER BY tag", (account_id,))
        ]

    def accounts_tagged(self, tag: str) -> list[str]:
        return [
            a for (a,) in self.conn.execute("SELECT account_id FROM tags WHERE tag = ? ORDER BY account_id", (tag,))
        ]

    def events(self, account_id: str | None = None, batch: int | None = None) -> list[TagEvent]:
        """The log, oldest first: of one account (its tag history), of one batch, or all."""
        where, params = [], []
        if account_id is not None:
            where.append("account_id = ?")
            params.append(account_id)
        if batch is not None:
            where.append("batch = ?")
            params.append(batch)
        sql = "SELECT id, batch, kind, at, analyst, action, account_id, tag, note, previous, reverts FROM tag_events"
        sql += (" WHERE " + " AND ".join(where)) if where else ""
        return [TagEvent(*r) for r in self.conn.execute(sql + " ORDER BY id", params)]

    def _stacks(self) -> tuple[list[int], list[int]]:
        """(batches that can be undone, batches that can be redone), latest last."""
        done: list[int] = []
        undone: list[int] = []
        for batch, kind, reverts in self.conn.execute(
            "SELECT batch, min(kind), min(reverts) FROM tag_events GROUP BY batch ORDER BY batch"
        ):
            if kind == "do":
                done.append(batch)
                undone.clear()
            elif kind == "undo":  # reverts: the batch it took back
                done.remove(reverts)
                undone.append(batch)
            else:  # a redo reverts an undo, and stands for the action it re-applies
                undone.remove(reverts)
                done.append(batch)
        return done, undone

    def _has(self, account: str, tag: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM tags WHERE account_id = ? AND tag = ?", (account, tag)).fetchone()
            is not None
        )

    def _status(self, account: str) -> str | None:
        row = self.conn.execute(
            f"SELECT tag FROM tags WHERE account_id = ? AND tag IN ({', '.join('?' * len(STATUSES))})",
            (account, *STATUSES),
        ).fetchone()
        return row[0] if row else None

    def _next_batch(self) -> int:
        return self.conn.execute("SELECT coalesce(max(batch), 0) + 1 FROM tag_events").fetchone()[0]
