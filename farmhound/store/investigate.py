"""The investigation read path: every query the terminal UI runs, answered from indexes.

Listings (candidate farms, cluster members, pivots, templates, quarantine, ...) are described once
as a `Listing`: its columns, the SQL they come from, which columns can be sorted and searched. One
`page()` turns a listing into a bounded, sorted, filtered page, so no screen ever loads a whole
table and no sort or filter string reaches SQL unchecked (sort keys are whitelisted, filter text is
a bound LIKE parameter). Aggregates (shared attributes, facets, timelines) have their own methods.

`Investigation` is thread-safe: each call borrows one of its read-only connections, so UI workers
can query in parallel while an ingest or a triage writes (WAL).

Not here: writing (the store), presentation (`tui/`), detection (`farmhound/triage.py`).
"""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from farmhound.scoring import Reason
from farmhound.store import Store, StoreError
from farmhound.store.cases import Case, CaseBook, CaseError
from farmhound.store.listings import LISTINGS, Column, Listing, like_pattern


@dataclass
class Page:
    """One page of a listing: `more` says whether rows exist past it ("100 of >100")."""

    columns: tuple[Column, ...]
    rows: list[tuple]
    offset: int
    more: bool


@dataclass
class RunInfo:
    """The latest triage run, and whether the store changed since."""

    id: int
    config_hash: str
    finished_at: str | None
    requests: int
    accounts: int
    templates: int
    clusters: int
    flagged: int
    stale: bool  # a source finished loading after this run


@dataclass
class Profile:
    account_id: str
    has_record: bool
    created_at: int | None
    email: str | None
    email_domain: str | None
    payment_fingerprint: str | None
    card_bin: str | None
    billing_country: str | None
    signup_ip: str | None
    org_id: str | None
    tier: str | None
    verified: int | None
    requests: int
    first_ts: int | None
    last_ts: int | None
    level: str | None = None
    score: float | None = None
    cluster_id: int | None = None
    membership: float | None = None
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class ClusterInfo:
    id: int
    score: float
    level: str
    size: int
    families: dict[str, float]
    links: dict[str, int]
    reasons: list[Reason]
    config_hash: str
    timeline: tuple[list[int], int | None, int | None] = ([], None, None)  # counts, first ts, last ts


@dataclass
class Facet:
    """A value shared inside a set of accounts: `members` of the set have it, `accounts` platform-wide."""

    kind: str
    value: str
    members: int
    accounts: int


class Investigation:
    """Read-only queries over one store, safe to call from several threads at once."""

    def __init__(self, path: str | Path, connections: int = 4):
        self.path = Path(path)
        self._pool: queue.LifoQueue[Store] = queue.LifoQueue()
        self._size = connections
        with self._store():  # fail now, naming the file, if it is not a store
            pass

    @contextmanager
    def _store(self) -> Iterator[Store]:
        try:
            store = self._pool.get_nowait()
        except queue.Empty:
            store = Store(self.path, readonly=True)
            if store.schema_version < 3:
                store.close()
                raise StoreError(f"{self.path}: schema {store.schema_version}; open it with farmhound once to migrate")
        try:
            yield store
        finally:
            if self._pool.qsize() < self._size:
                self._pool.put(store)
            else:
                store.close()

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()

    def _rows(self, sql: str, params=()) -> list[tuple]:
        with self._store() as s:
            return s.conn.execute(sql, params).fetchall()

    # -- listings -------------------------------------------------------------------------------

    def page(
        self,
        listing: Listing | str,
        params: dict | None = None,
        *,
        search: str = "",
        sort: str | None = None,
        descending: bool | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> Page:
        """One page of a listing, sorted by a whitelisted column and filtered by `search` (case-
        insensitive substring of any searchable column)."""
        lst = LISTINGS[listing] if isinstance(listing, str) else listing
        col = lst.column(sort or lst.sort)
        if not col.sortable:
            col = lst.column(lst.sort)
        desc = lst.descending if descending is None else descending
        params = {**lst.defaults, **(params or {})}
        where = ""
        if search:
            params["_search"] = like_pattern(search)
            match = " OR ".join(f"{c.search or c.expr} LIKE :_search ESCAPE '\\'" for c in lst.columns if c.searchable)
            where = (" AND " if " WHERE " in f" {lst.source} " else " WHERE ") + f"({match})"
        order = "DESC" if desc else "ASC"
        sql = (
            f"SELECT {', '.join(c.expr for c in lst.columns)} FROM {lst.source}{where} "
            f"ORDER BY {col.order or col.expr} {order} NULLS LAST, {lst.key} LIMIT :_limit OFFSET :_offset"
        )
        params.update(_limit=limit + 1, _offset=offset)
        rows = self._rows(sql, params)
        return Page(lst.columns, rows[:limit], offset, len(rows) > limit)

    # -- single objects -------------------------------------------------------------------------

    def request_count(self) -> int:
        with self._store() as s:
            return s.request_count()

    def run(self) -> RunInfo | None:
        rows = self._rows(
            "SELECT id, config_hash, finished_at, requests, accounts, templates, clusters, flagged FROM triage_runs "
            "WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        newer = self._rows("SELECT count(*) FROM sources WHERE finished_at > ?", (rows[0][2],))[0][0]
        return RunInfo(*rows[0], stale=bool(newer))

    def cluster(self, cluster_id: int) -> ClusterInfo | None:
        rows = self._rows(
            "SELECT id, score, level, size, families, links, reasons, config_hash, timeline FROM clusters WHERE id = ?",
            (cluster_id,),
        )
        if not rows:
            return None
        cid, score, level, size, fam, links, reasons, h, timeline = rows[0]
        t = json.loads(timeline) if timeline else {"counts": [], "first": None, "last": None}
        return ClusterInfo(cid, score, level, size, json.loads(fam), json.loads(links), Reason.parse(reasons), h,
                           (t["counts"], t["first"], t["last"]))  # fmt: skip

    def profile(self, account_id: str) -> Profile | None:
        rows = self._rows(
            "SELECT account_id, has_record, created_at, email, email_domain, payment_fingerprint, card_bin, "
            "billing_country, signup_ip, org_id, tier, verified FROM accounts WHERE account_id = ?",
            (account_id,),
        )
        if not rows:
            return None
        n, first, last = self._rows(
            "SELECT count(*), min(ts), max(ts) FROM requests WHERE account_id = ?", (account_id,)
        )[0]
        p = Profile(*rows[0][:1], bool(rows[0][1]), *rows[0][2:], requests=n, first_ts=first, last_ts=last)
        score = self._rows(
            "SELECT level, score, cluster_id, membership, reasons FROM account_scores WHERE account_id = ?",
            (account_id,),
        )
        if score:
            p.level, p.score, p.cluster_id, p.membership, reasons = score[0]
            p.reasons = Reason.parse(reasons)
        return p

    def template(self, template_id: int) -> dict | None:
        rows = self._rows(
            "SELECT id, family_id, pattern, prompts, requests, accounts, orgs, evenness, top_share, cot_share, "
            "examples, family_accounts FROM templates WHERE id = ?",
            (template_id,),
        )
        if not rows:
            return None
        keys = ("id", "family_id", "pattern", "prompts", "requests", "accounts", "orgs", "evenness", "top_share",
                "cot_share", "examples", "family_accounts")  # fmt: skip
        return dict(zip(keys, rows[0], strict=True))

    def template_examples(self, template_id: int, limit: int = 8) -> list[str]:
        """Distinct prompt texts of a template: its stored examples first, then other members."""
        t = self.template(template_id)
        if t is None:
            return []
        hashes = list(json.loads(t["examples"]))[:limit]
        if len(hashes) < limit:
            more = self._rows(
                "SELECT prompt_hash FROM prompt_templates WHERE template_id = ? LIMIT ?", (template_id, limit * 2)
            )
            hashes += [h for (h,) in more if h not in hashes][: limit - len(hashes)]
        marks = ", ".join("?" * len(hashes))
        texts = dict(self._rows(f"SELECT hash, text FROM prompts WHERE hash IN ({marks})", hashes)) if hashes else {}
        return [texts[h] for h in hashes if h in texts]

    def tags_of(self, account_id: str) -> list[str]:
        return [t for (t,) in self._rows("SELECT tag FROM tags WHERE account_id = ? ORDER BY tag", (account_id,))]

    def tag_history(self, account_id: str) -> list[tuple]:
        """(time, analyst, kind, action, tag, status before, note) of every change to an account's tags."""
        return self._rows(
            "SELECT at, analyst, kind, action, tag, previous, note FROM tag_events WHERE account_id = ? ORDER BY id",
            (account_id,),
        )

    def members_of(self, kind: str, value: str) -> list[str]:
        """Every account of a cluster (kind "cluster") or with a pivot value: what `A` tags."""
        if kind == "cluster":
            with self._store() as s:
                return s.cluster_members(int(value))
        return [a for (a,) in self._rows(
            "SELECT account_id FROM account_values WHERE kind = ? AND value = ?", (kind, value))]  # fmt: skip

    def find_accounts(self, prefix: str, limit: int = 20) -> list[str]:
        """Account ids starting with `prefix` (the command palette's "go to account")."""
        hi = prefix + "\U0010ffff"
        return [r[0] for r in self._rows(
            "SELECT account_id FROM accounts WHERE account_id >= ? AND account_id < ? ORDER BY account_id LIMIT ?",
            (prefix, hi, limit),
        )]  # fmt: skip

    # -- cases (written by `cases.py` on a writable store; read here) ------------------------------

    def cases_ready(self) -> bool:
        """Whether the store has the case tables (schema 5: a writable open migrates it)."""
        return bool(self._rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'case_events'"))

    def case(self, name: str) -> Case | None:
        """One case with its counts and latest change, or None."""
        with self._store() as s:
            try:
                return CaseBook(s).get(name)
            except CaseError:
                return None

    def case_members(self, name: str) -> list[str]:
        """Every account of a case (what `A` tags on the Cases screen)."""
        with self._store() as s:
            try:
                return CaseBook(s).members(name)
            except CaseError:
                return []

    def case_names(self, limit: int = 100) -> list[str]:
        """Case names, the most recently changed first (what the "add to case" dialog offers)."""
        if not self.cases_ready():
            return []
        return [n for (n,) in self._rows(
            "SELECT c.name FROM cases c ORDER BY (SELECT max(e.at) FROM case_events e WHERE e.case_id = c.id) DESC, "
            "c.id DESC LIMIT ?", (limit,))]  # fmt: skip

    # -- aggregates -----------------------------------------------------------------------------

    def facets(self, accounts_sql: str, params: dict, exclude: tuple[str, str] | None = None,
               limit: int = 200, sample: int | None = None) -> list[Facet]:  # fmt: skip
        """Values that at least two accounts of a set share, most shared first.

        Args:
            accounts_sql: selects the set's account ids (one of `member_set` / `pivot_set`).
            exclude: a (kind, value) left out (the value a pivot started from).
            sample: count only the set's `sample` highest-scored accounts (a huge set's facets
                cost about 80 µs per account); the caller says so on screen.
        """
        params = dict(params, _limit=limit)
        if sample is not None:
            accounts_sql = (
                f"SELECT m.account_id FROM ({accounts_sql}) m LEFT JOIN account_scores s "
                "ON s.account_id = m.account_id ORDER BY s.score DESC, m.account_id LIMIT :_sample"
            )
            params["_sample"] = sample
        skip = ""
        if exclude:
            skip = "WHERE NOT (v.kind = :_xk AND v.value = :_xv)"
            params.update(_xk=exclude[0], _xv=exclude[1])
        rows = self._rows(
            f"SELECT v.kind, v.value, count(*) AS n, max(v.accounts) FROM account_values v "
            f"JOIN ({accounts_sql}) m ON m.account_id = v.account_id {skip} "
            "GROUP BY v.kind, v.value HAVING n >= 2 ORDER BY n DESC, v.kind, v.value LIMIT :_limit",
            params,
        )
        return [Facet(*r) for r in rows]

    def levels(self, accounts_sql: str, params: dict) -> dict[str, int]:
        """How many accounts of a set are at each level."""
        rows = self._rows(
            f"SELECT coalesce(s.level, 'unscored'), count(*) FROM ({accounts_sql}) m "
            "LEFT JOIN account_scores s ON s.account_id = m.account_id GROUP BY 1",
            params,
        )
        return dict(rows)

    def hours(self, account_id: str) -> list[int]:
        """An account's requests by hour of day (UTC), 24 counts."""
        counts = [0] * 24
        for h, n in self._rows(
            "SELECT (ts / 3600000) % 24, count(*) FROM requests WHERE account_id = ? AND ts IS NOT NULL GROUP BY 1",
            (account_id,),
        ):
            counts[int(h)] = n
        return counts

    def days(self, account_id: str) -> tuple[list[int], int | None, int | None]:
        """An account's requests per UTC day, from its first day to its last (zeros included).
        Returns (counts, first ts, last ts)."""
        rows = self._rows(
            "SELECT ts / 86400000, count(*), min(ts), max(ts) FROM requests WHERE account_id = ? AND ts IS NOT NULL "
            "GROUP BY 1 ORDER BY 1",
            (account_id,),
        )
        if not rows:
            return [], None, None
        d0 = rows[0][0]
        counts = [0] * (rows[-1][0] - d0 + 1)
        for d, n, _, _ in rows:
            counts[d - d0] = n
        return counts, rows[0][2], rows[-1][3]

    def cluster_templates(self, cluster_id: int, limit: int = 100) -> list[tuple]:
        """(template id, members using it, requests, pattern) of a cluster, most used first."""
        return self._rows(
            "SELECT t.id, count(*) AS members, sum(at.requests), t.pattern FROM account_scores s "
            "JOIN account_templates at ON at.account_id = s.account_id JOIN templates t ON t.id = at.template_id "
            "WHERE s.cluster_id = ? GROUP BY t.id ORDER BY members DESC, 3 DESC LIMIT ?",
            (cluster_id, limit),
        )

    def quarantine_reasons(self, limit: int = 20) -> list[tuple[str, int]]:
        with self._store() as s:
            return s.quarantine_reasons(limit=limit)


def member_set(cluster_id: int) -> tuple[str, dict]:
    """The accounts of a cluster, as (SQL, params) for the aggregate queries."""
    return "SELECT account_id FROM account_scores WHERE cluster_id = :cluster", {"cluster": cluster_id}


def pivot_set(kind: str, value: str) -> tuple[str, dict]:
    """The accounts sharing one value, as (SQL, params) for the aggregate queries."""
    return "SELECT account_id FROM account_values WHERE kind = :kind AND value = :value", {"kind": kind, "value": value}
