"""The investigation read path (`farmhound.store.investigate`) on a copy of the committed TUI store:
paging, sorting, search, pivots, facets, timelines, profiles and account look-up."""

from __future__ import annotations

import re
import sqlite3

import pytest
from tui_waiting import HOSTILE_ACCOUNTS, HOSTILE_EMAIL, HOSTILE_UA, copy_store

from farmhound.store import SCHEMA_VERSION, Store
from farmhound.store.investigate import Investigation, member_set, pivot_set
from farmhound.store.listings import LISTINGS, like_pattern

BIG_ACCOUNT = "acct_85e46914"  # 349 requests: the one listing of tui.db with several pages


@pytest.fixture
def db(tmp_path):
    return copy_store(tmp_path)


@pytest.fixture
def inv(db):
    inv = Investigation(db)
    yield inv
    inv.close()


@pytest.fixture
def sql(db):
    conn = sqlite3.connect(db)
    yield conn
    conn.close()


def _all(inv, listing, params=None, **kw):
    page = inv.page(listing, params, limit=10_000, **kw)
    assert not page.more
    return page.rows


# -- paging --------------------------------------------------------------------------------------


def test_pages_cover_the_listing_once_in_order(inv):
    acc = {"account": BIG_ACCOUNT}
    whole = _all(inv, "requests", acc)
    assert len(whole) == 349
    pages = [inv.page("requests", acc, offset=o, limit=100) for o in (0, 100, 200, 300)]
    assert [p.more for p in pages] == [True, True, True, False]
    assert [len(p.rows) for p in pages] == [100, 100, 100, 49]
    assert [p.offset for p in pages] == [0, 100, 200, 300]
    assert [r for p in pages for r in p.rows] == whole


def test_pages_of_unique_ids_never_overlap(inv):
    ids = []
    offset = 0
    while True:
        page = inv.page("templates", offset=offset, limit=30)
        ids += [r[2] for r in page.rows]  # column "id"
        offset += 30
        if not page.more:
            break
    assert len(ids) == len(set(ids)) == 79


def test_page_past_the_end_is_empty(inv):
    page = inv.page("templates", offset=500, limit=100)
    assert page.rows == [] and page.more is False


def test_more_is_false_when_the_last_page_is_exactly_full(inv):
    page = inv.page("clusters", limit=5)
    assert len(page.rows) == 5 and page.more is False
    assert inv.page("clusters", limit=4).more is True


# -- sorting -------------------------------------------------------------------------------------


def test_clusters_default_to_score_descending(inv, sql):
    rows = _all(inv, "clusters")
    assert [r[0] for r in rows] == [r[0] for r in sql.execute("SELECT id FROM clusters ORDER BY score DESC")]
    scores = [r[2] for r in rows]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("descending", [True, False])
def test_sort_by_a_whitelisted_column_both_ways(inv, descending):
    k = [c.name for c in LISTINGS["templates"].columns].index("requests")
    values = [r[k] for r in _all(inv, "templates", sort="requests", descending=descending)]
    assert values == sorted(values, reverse=descending)
    assert len(set(values)) > 1  # a real ordering, not a constant column


def test_levels_sort_by_rank_not_alphabetically(inv):
    levels = [r[1] for r in _all(inv, "clusters", sort="level", descending=True)]
    rank = {"critical": 3, "high": 2, "medium": 1, "low": 0}
    assert [rank[x] for x in levels] == sorted((rank[x] for x in levels), reverse=True)
    assert levels[0] == "critical"


def test_unknown_sort_name_raises_keyerror(inv):
    with pytest.raises(KeyError):
        inv.page("clusters", sort="score; DROP TABLE clusters")
    assert len(_all(inv, "clusters")) == 5


def test_unsortable_column_falls_back_to_the_default_sort(inv):
    assert inv.page("clusters", sort="reasons").rows == inv.page("clusters").rows


# -- search --------------------------------------------------------------------------------------


def _searchable_hits(inv, listing, params, text):
    """Rows whose searchable columns contain `text` literally (ASCII case-insensitively, as LIKE)."""
    cols = LISTINGS[listing].columns
    idx = [k for k, c in enumerate(cols) if c.searchable]
    return [r for r in _all(inv, listing, params) if any(text.lower() in str(r[k] or "").lower() for k in idx)]


def test_search_keeps_rows_containing_the_text_case_insensitively(inv):
    params = {"cluster": 1}
    rows = _all(inv, "members", params, search="OUTLOOK")
    assert rows and rows == _searchable_hits(inv, "members", params, "outlook")
    assert len(rows) < len(_all(inv, "members", params))


@pytest.mark.parametrize("text", ["a_c", "ac%t", "%", "_"])
def test_search_takes_like_wildcards_literally(inv, text):
    params = {"cluster": 1}
    everything = _all(inv, "members", params)
    wildcard = re.compile(re.escape(text).replace("%", ".*").replace("_", "."), re.I)
    as_wildcards = [r for r in everything if wildcard.search(r[0]) or wildcard.search(str(r[4] or ""))]
    got = _all(inv, "members", params, search=text)
    assert got == _searchable_hits(inv, "members", params, text)
    if text != "_":  # every account id has a literal underscore
        assert len(got) < len(as_wildcards)


def test_search_finds_markup_and_escapes_as_typed(inv):
    rows = _all(inv, "members", {"cluster": 5}, search="[bold red]boss[/]\x1b")
    assert sorted(r[0] for r in rows) == HOSTILE_ACCOUNTS


def test_like_pattern_escapes_wildcards_and_backslash():
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


# -- pivots, facets, levels, timeline ---------------------------------------------------------


def test_pivot_lists_exactly_the_accounts_with_the_value(inv, sql):
    kind, value = "user_agent", "python-requests/2.31.0"
    got = sorted(r[0] for r in _all(inv, "pivot", {"kind": kind, "value": value}))
    want = sorted(a for (a,) in sql.execute(
        "SELECT account_id FROM account_values WHERE kind = ? AND value = ?", (kind, value)))  # fmt: skip
    assert got == want and len(got) == 14


def test_pivot_on_the_hostile_user_agent_finds_the_hostile_accounts(inv):
    rows = _all(inv, "pivot", {"kind": "user_agent", "value": HOSTILE_UA})
    assert sorted(r[0] for r in rows) == HOSTILE_ACCOUNTS


def test_facets_exclude_the_pivot_value_and_count_members(inv, sql):
    kind, value = "user_agent", "python-requests/2.31.0"
    facets = inv.facets(*pivot_set(kind, value), exclude=(kind, value))
    assert facets
    assert (kind, value) not in {(f.kind, f.value) for f in facets}
    members = {a for (a,) in sql.execute(
        "SELECT account_id FROM account_values WHERE kind = ? AND value = ?", (kind, value))}  # fmt: skip
    for f in facets[:20]:
        having = {a for (a,) in sql.execute(
            "SELECT account_id FROM account_values WHERE kind = ? AND value = ?", (f.kind, f.value))}  # fmt: skip
        assert f.members == len(members & having) >= 2
        assert f.accounts >= f.members
    counts = [f.members for f in facets]
    assert counts == sorted(counts, reverse=True)


def test_facets_without_exclude_include_the_pivot_value(inv):
    kind, value = "user_agent", "python-requests/2.31.0"
    facets = inv.facets(*pivot_set(kind, value))
    assert (kind, value, 14) in {(f.kind, f.value, f.members) for f in facets}


def test_levels_count_every_account_of_the_set(inv):
    levels = inv.levels(*member_set(1))
    assert sum(levels.values()) == 14


@pytest.mark.parametrize("cluster", [1, 3, 5])
def test_a_clusters_stored_timeline_counts_its_members_requests(inv, sql, cluster):
    counts, first, last = inv.cluster(cluster).timeline
    n, lo, hi = sql.execute(
        "SELECT count(r.ts), min(r.ts), max(r.ts) FROM requests r JOIN account_scores s "
        "ON s.account_id = r.account_id WHERE s.cluster_id = ?", (cluster,)).fetchone()  # fmt: skip
    assert len(counts) == 60
    assert sum(counts) == n > 0
    assert (first, last) == (lo, hi)


def test_an_accounts_days_run_from_its_first_to_its_last_day(inv, sql):
    counts, first, last = inv.days("acct_hostile_1")
    assert sum(counts) == 12 and len(counts) == (last // 86_400_000) - (first // 86_400_000) + 1
    assert inv.days("nobody") == ([], None, None)


# -- single objects -----------------------------------------------------------------------------


def test_profile_of_a_known_account(inv):
    p = inv.profile("acct_hostile_1")
    assert p.account_id == "acct_hostile_1" and p.has_record
    assert p.email == HOSTILE_EMAIL.replace("@", "0@")
    assert p.requests == 12
    assert p.cluster_id == 5 and p.level == "low"
    assert p.first_ts <= p.last_ts
    assert p.reasons


def test_profile_of_an_unknown_account_is_none(inv):
    assert inv.profile("acct_nobody") is None


def test_hours_count_the_accounts_requests(inv):
    hours = inv.hours("acct_hostile_1")
    assert len(hours) == 24 and sum(hours) == 12


def test_find_accounts_by_prefix(inv):
    assert inv.find_accounts("acct_hostile") == HOSTILE_ACCOUNTS
    assert inv.find_accounts("acct_hostile_2") == ["acct_hostile_2"]
    assert inv.find_accounts("acct_h%") == []
    assert inv.find_accounts("nope") == []
    assert len(inv.find_accounts("acct_", limit=7)) == 7


def test_cluster_and_run(inv):
    c = inv.cluster(3)
    assert c.level == "critical" and c.size == 3 and c.reasons
    assert inv.cluster(999) is None
    run = inv.run()
    assert run.clusters == 5 and run.accounts == 66 and not run.stale


def test_quarantine_listing_and_reasons(inv):
    assert inv.quarantine_reasons() == [("invalid JSON", 1)]
    rows = _all(inv, "quarantine")
    assert len(rows) == 1 and "\x1b[5m" in rows[0][4]
    assert _all(inv, "quarantine", {"source": 2}) == []


def test_the_attribute_column_is_searched_by_what_it_shows(inv):
    rows = inv.page("shared", {"account": "acct_hostile_1"}, search="card BIN").rows
    assert [r[2] for r in rows] == ["card_bin"]


def test_the_read_path_cannot_write(inv):
    with inv._store() as s, pytest.raises(sqlite3.OperationalError, match="readonly"):
        s.conn.execute("DELETE FROM clusters")


def test_a_schema_2_store_loses_its_old_results_so_triage_rebuilds_them(db):
    s = Store(db)  # make it look like a store triaged by schema 2
    for sql in (
        "DROP TABLE case_events",
        "DROP TABLE case_items",
        "DROP TABLE cases",
        "DROP TABLE tag_events",
        "DROP TABLE tags",
        "DROP TABLE account_values",
        "DROP TABLE cluster_values",
        "DROP INDEX idx_templates_spread",
        "ALTER TABLE templates DROP COLUMN family_accounts",
        "DROP INDEX idx_clusters_score",
        "ALTER TABLE clusters DROP COLUMN timeline",
        "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
    ):
        s.conn.execute(sql)
    s.close()
    s = Store(db)
    assert s.schema_version == SCHEMA_VERSION
    assert s.conn.execute("SELECT count(*) FROM triage_runs").fetchone()[0] == 0
    assert s.conn.execute("SELECT count(*) FROM clusters").fetchone()[0] == 0
    assert s.request_count() > 0  # the loaded data stays
    s.close()
    assert Investigation(db).run() is None  # so `farmhound tui` runs triage on open


def test_local_rows_sort_with_missing_values_last_both_ways():
    from farmhound.store.listings import Column
    from tui.widgets import local_fetch

    fetch = local_fetch([Column("v", "v", "", "float")], [(2.0,), (None,), (5.0,), (1.0,)])
    assert [r[0] for r in fetch(0, 10, "", "v", True).rows] == [5.0, 2.0, 1.0, None]
    assert [r[0] for r in fetch(0, 10, "", "v", False).rows] == [1.0, 2.0, 5.0, None]
