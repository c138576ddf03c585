"""The listings the terminal UI pages through: for each, its columns (label, SQL expression, how
to show it, whether it sorts and searches) and the SQL it comes from, with named parameters.

Sort keys are picked from these columns by name and filter text is a bound LIKE parameter, so
nothing the analyst types (or an attacker wrote) becomes SQL. The attribute kinds of the pivot
table are named here too.

Not here: running the queries (`investigate.py`), showing the cells (`tui/text.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Pivot kinds (the `kind` column of account_values) and how an analyst reads them.
KINDS = {
    "ip_prefix": "IP prefix",
    "user_agent": "user agent",
    "payment_fingerprint": "payment fingerprint",
    "card_bin": "card BIN",
    "email_domain": "email domain",
    "email_pattern": "email pattern",
    "signup_ip_prefix": "signup IP prefix",
    "signup_hour": "signup hour",
    "org": "org",
    "template": "template",
}
KIND_LABEL = "CASE {col} " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in KINDS.items()) + " ELSE {col} END"
LEVEL_ORDER = "CASE {col} WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END"


def _level(col: str) -> tuple:
    return ("level", "level", col, "level", True, True, LEVEL_ORDER.format(col=col))


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    expr: str  # SQL expression
    kind: str = "text"  # text | long (a last column: shown wider) | int | float | ts | iso | level | json | reasons
    #                     | kind | status (a case's) | hash (shown short)
    sortable: bool = True
    searchable: bool = False
    order: str | None = None  # SQL expression to sort by, when not `expr` (levels sort by rank)
    search: str | None = None  # SQL expression a filter matches, when not `expr` (kinds match their label)


@dataclass(frozen=True)
class Listing:
    """A table the UI pages through: `source` is the FROM (and WHERE) with named parameters."""

    name: str
    columns: tuple[Column, ...]
    source: str
    key: str  # a unique tiebreak expression, so pages never overlap
    sort: str  # default sort column name
    descending: bool = True
    defaults: dict = field(default_factory=dict)  # optional parameters and their default values

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _cols(*spec: tuple) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


_ACCOUNT_COLS = (
    _level("s.level"),
    ("score", "score", "s.score", "float"),
    ("cluster", "cluster", "s.cluster_id", "int"),
    ("email", "email", "a.email", "text", True, True),
    ("created", "signed up", "a.created_at", "ts"),
)

# Case listings (`cases.py` owns the tables): a case's items are keyed by account id, "run R cluster
# N" or a pattern's SHA-256, and keep a cluster or template as it was when added (`detail`, JSON).
_CASE_ITEMS = "(SELECT count(*) FROM case_items i WHERE i.case_id = c.id AND i.kind = '{kind}')"
_DETAIL = "json_extract(i.detail, '$.{key}')"
_TAGS_OF = "(SELECT group_concat(t.tag, ', ') FROM tags t WHERE t.account_id = {account})"
_ADDED_COLS = (("added", "added (UTC)", "i.added_at", "iso"), ("analyst", "by", "i.analyst", "text", True, True))
_EVENT_WHAT = (  # "3 accounts: acct_1, …" (a template by the start of its pattern's SHA-256)
    "CASE WHEN e.keys IS NULL THEN '' ELSE json_array_length(e.keys) || ' ' || e.kind "
    "|| CASE WHEN json_array_length(e.keys) > 1 THEN 's' ELSE '' END || ': ' "
    "|| CASE e.kind WHEN 'template' THEN substr(json_extract(e.keys, '$[0]'), 1, 12) || '…' "
    "ELSE json_extract(e.keys, '$[0]') END || CASE WHEN json_array_length(e.keys) > 1 THEN ', …' ELSE '' END END"
)

LISTINGS = {
    "clusters": Listing(
        "clusters",
        _cols(
            ("id", "#", "c.id", "int"),
            _level("c.level"),
            ("score", "score", "c.score", "float"),
            ("size", "accounts", "c.size", "int"),
            ("links", "held together by", "c.links", "json", False, True),
            ("reasons", "top reasons", "c.reasons", "reasons", False, True),
        ),
        "clusters c",
        "c.id",
        "score",
    ),
    "members": Listing(
        "members",
        _cols(
            ("account_id", "account", "s.account_id", "text", True, True),
            *_ACCOUNT_COLS,
            ("membership", "membership", "s.membership", "float"),
            ("tags", "tags", _TAGS_OF.format(account="s.account_id"), "text", False, True),
            ("requests", "requests", "(SELECT count(*) FROM requests r WHERE r.account_id = s.account_id)", "int"),
        ),
        "account_scores s LEFT JOIN accounts a ON a.account_id = s.account_id WHERE s.cluster_id = :cluster",
        "s.account_id",
        "score",
    ),
    "cluster_shared": Listing(  # the values 2+ members of a cluster share (computed by triage)
        "cluster_shared",
        _cols(
            ("members", "members", "v.members", "int"),
            ("accounts", "platform-wide", "v.accounts", "int"),
            ("kind", "attribute", "v.kind", "kind", True, True, None, KIND_LABEL.format(col="v.kind")),
            ("value", "value", "v.value", "long", True, True),
        ),
        "cluster_values v WHERE v.cluster_id = :cluster",
        "v.kind || v.value",
        "members",
    ),
    "pivot": Listing(
        "pivot",
        _cols(
            ("account_id", "account", "v.account_id", "text", True, True),
            ("uses", "uses", "v.uses", "int"),
            *_ACCOUNT_COLS,
            ("tags", "tags", _TAGS_OF.format(account="v.account_id"), "text", False, True),
        ),
        "account_values v LEFT JOIN account_scores s ON s.account_id = v.account_id "
        "LEFT JOIN accounts a ON a.account_id = v.account_id WHERE v.kind = :kind AND v.value = :value",
        "v.account_id",
        "score",
    ),
    "shared": Listing(  # everything one account has, most widely shared first
        "shared",
        _cols(
            ("accounts", "accounts sharing", "v.accounts", "int"),
            ("uses", "uses", "v.uses", "int"),
            ("kind", "attribute", "v.kind", "kind", True, True, None, KIND_LABEL.format(col="v.kind")),
            ("value", "value", "v.value", "text", True, True),
            (
                "pattern",
                "template pattern",
                "(SELECT t.pattern FROM templates t WHERE v.kind = 'template' AND t.id = CAST(v.value AS INTEGER))",
                "long",
                False,
                True,
            ),
        ),
        "account_values v WHERE v.account_id = :account",
        "v.kind || v.value",
        "accounts",
    ),
    "account_templates": Listing(
        "account_templates",
        _cols(
            ("template_id", "template", "t.id", "int"),
            ("requests", "requests", "at.requests", "int"),
            ("accounts", "accounts", "t.accounts", "int"),
            ("first", "first", "at.first_ts", "ts"),
            ("last", "last", "at.last_ts", "ts"),
            ("pattern", "pattern", "t.pattern", "long", False, True),
        ),
        "account_templates at JOIN templates t ON t.id = at.template_id WHERE at.account_id = :account",
        "t.id",
        "requests",
    ),
    "requests": Listing(
        "requests",
        _cols(
            ("ts", "time", "r.ts", "ts"),
            ("ip", "ip", "r.ip", "text", False, True),
            ("user_agent", "user agent", "r.user_agent", "text", False, True),
            ("model", "model", "r.model", "text", False, True),
            ("prompt", "prompt", "substr(p.text, 1, 160)", "long", False, True),
        ),
        "requests r LEFT JOIN prompts p ON p.hash = r.prompt_hash WHERE r.account_id = :account",
        "r.rid",
        "ts",
    ),
    "templates": Listing(
        "templates",
        _cols(
            ("family_accounts", "family accts", "t.family_accounts", "int"),
            ("family_id", "family", "t.family_id", "int"),
            ("id", "template", "t.id", "int"),
            ("accounts", "accounts", "t.accounts", "int"),
            ("requests", "requests", "t.requests", "int"),
            ("orgs", "orgs", "t.orgs", "int"),
            ("evenness", "evenness", "t.evenness", "float"),
            ("cot_share", "CoT", "t.cot_share", "float"),
            ("pattern", "pattern", "t.pattern", "long", False, True),
        ),
        "templates t",
        "t.id",
        "family_accounts",
    ),
    "sources": Listing(
        "sources",
        _cols(
            ("id", "#", "id", "int"),
            ("path", "file", "path", "text", True, True),
            ("format", "format", "format", "text", True, True),
            ("kind", "kind", "kind", "text", True, True),
            ("status", "status", "status", "text", True, True),
            ("rows_read", "read", "rows_read", "int"),
            ("stored", "stored", "stored", "int"),
            ("duplicates", "dups", "duplicates", "int"),
            ("quarantined", "quarantined", "quarantined", "int"),
            ("sha256", "sha256", "sha256", "text", False, True),
            ("notes", "notes", "notes", "json", False, True),
        ),
        "sources",
        "id",
        "id",
        False,
    ),
    "quarantine": Listing(
        "quarantine",
        _cols(
            ("source_id", "src", "q.source_id", "int"),
            ("line", "line", "q.line", "int"),
            ("reason", "reason", "q.reason", "text", True, True),
            ("detail", "detail", "q.detail", "long", False, True),
            ("raw", "raw row", "substr(q.raw, 1, 200)", "long", False, True),
        ),
        "quarantine q WHERE (:source IS NULL OR q.source_id = :source)",
        "q.id",
        "source_id",
        False,
        {"source": None},
    ),
    "cases": Listing(
        "cases",
        _cols(
            ("id", "#", "c.id", "int"),
            ("name", "case", "c.name", "text", True, True),
            ("status", "status", "c.status", "status", True, True),
            ("accounts", "accounts", _CASE_ITEMS.format(kind="account"), "int"),
            ("clusters", "clusters", _CASE_ITEMS.format(kind="cluster"), "int"),
            ("templates", "templates", _CASE_ITEMS.format(kind="template"), "int"),
            ("opened", "opened (UTC)", "c.created_at", "iso"),
            ("analyst", "by", "c.analyst", "text", True, True),
            ("updated", "last change (UTC)", "(SELECT max(e.at) FROM case_events e WHERE e.case_id = c.id)", "iso"),
            ("description", "description", "c.description", "long", False, True),
        ),
        "cases c",
        "c.id",
        "updated",
    ),
    "case_members": Listing(
        "case_members",
        _cols(
            ("account_id", "account", "i.key", "text", True, True),
            ("via", "via", "i.via", "text", True, True),
            _level("s.level"),
            ("score", "score", "s.score", "float"),
            ("cluster", "cluster now", "s.cluster_id", "int"),
            ("tags", "tags", _TAGS_OF.format(account="i.key"), "text", False, True),
            ("requests", "requests", "(SELECT count(*) FROM requests r WHERE r.account_id = i.key)", "int"),
            *_ADDED_COLS,
        ),
        "case_items i LEFT JOIN account_scores s ON s.account_id = i.key WHERE i.case_id = :case AND i.kind = 'account'",
        "i.key",
        "score",
    ),
    "case_clusters": Listing(  # as they were when added: a later triage run renumbers clusters
        "case_clusters",
        _cols(
            ("cluster_id", "cluster", _DETAIL.format(key="id"), "int"),
            ("run", "run", _DETAIL.format(key="run"), "int"),
            _level(_DETAIL.format(key="level")),
            ("score", "score", _DETAIL.format(key="score"), "float"),
            ("size", "accounts", _DETAIL.format(key="size"), "int"),
            *_ADDED_COLS,
            ("key", "key", "i.key", "text", True, True),
            ("links", "held together by", _DETAIL.format(key="links"), "json", False, True),
        ),
        "case_items i WHERE i.case_id = :case AND i.kind = 'cluster'",
        "i.key",
        "score",
    ),
    "case_templates": Listing(
        "case_templates",
        _cols(
            ("template_id", "template", _DETAIL.format(key="id"), "int"),
            ("accounts", "accounts", _DETAIL.format(key="accounts"), "int"),
            ("requests", "requests", _DETAIL.format(key="requests"), "int"),
            ("cot_share", "CoT", _DETAIL.format(key="cot_share"), "float"),
            ("key", "pattern sha256", "i.key", "hash", True, True),
            *_ADDED_COLS,
            ("pattern", "pattern", _DETAIL.format(key="pattern"), "long", False, True),
        ),
        "case_items i WHERE i.case_id = :case AND i.kind = 'template'",
        "i.key",
        "accounts",
    ),
    "case_log": Listing(  # newest first
        "case_log",
        _cols(
            ("id", "#", "e.id", "int"),
            ("at", "time (UTC)", "e.at", "iso"),
            ("analyst", "analyst", "e.analyst", "text", True, True),
            ("action", "action", "e.action", "text", True, True),
            ("what", "what", _EVENT_WHAT, "text", False, True),
            ("text", "note / detail", "e.text", "long", False, True),
        ),
        "case_events e WHERE e.case_id = :case",
        "e.id",
        "id",
    ),
}


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with LIKE's own wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
