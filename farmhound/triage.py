"""Triage: the whole detection pass over a store, from prompts to ranked, explained farms.

Phases: read the columns detection needs; mine prompt templates; compute per-account signals;
link accounts into candidate clusters; score each cluster from its signals (with corroboration
across families and visible deductions for legitimate-looking evidence); score each account from
its cluster and its own signals; write everything to the store's derived tables, stamped with the
config hash. Re-running replaces the derived tables and nothing else: tags, notes and cases stay.

Each phase is a partitionable group-by over columns (DESIGN §9), so the heavy pass could later
run on a distributed engine and load only its results here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from farmhound.config import Config
from farmhound.linking import link_accounts
from farmhound.scoring import LEVELS, Reason, Score, cap_level, combine, evidence, level_for
from farmhound.signals import SIGNALS, account_signals, baseline_stats, cluster_signals, cot_flags
from farmhound.signals.common import email_local_parts, email_shape
from farmhound.store import Store
from farmhound.templates import TemplateConfig, mine

FLAGGED = ("high", "critical")


class Cancelled(Exception):
    """Triage was cancelled; the store's derived tables are as the previous run left them."""


@dataclass
class ClusterResult:
    id: int
    score: float
    level: str
    accounts: list[str]
    families: dict[str, float]
    links: dict[str, int]
    reasons: list[Reason]

    def to_json(self) -> dict:
        return {"id": self.id, "score": self.score, "level": self.level, "accounts": self.accounts,
                "families": self.families, "links": self.links, "reasons": [r.to_json() for r in self.reasons]}  # fmt: skip


@dataclass
class AccountResult:
    account_id: str
    score: float
    level: str
    cluster_id: int | None
    membership: float | None
    reasons: list[Reason]
    signals: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"account_id": self.account_id, "score": self.score, "level": self.level,
                "cluster_id": self.cluster_id, "reasons": [r.to_json() for r in self.reasons]}  # fmt: skip


@dataclass
class TriageResult:
    clusters: list[ClusterResult]  # by score, highest first
    accounts: list[AccountResult]  # by score, highest first
    config_hash: str
    requests: int
    templates: int
    seconds: dict[str, float]

    @property
    def flagged(self) -> list[AccountResult]:
        return [a for a in self.accounts if a.level in FLAGGED]

    def to_json(self, top: int | None = None) -> dict:
        """DESIGN §8: {"clusters": [...], "accounts": [...]}, plus the config hash."""
        clusters = self.clusters[:top] if top else self.clusters
        return {"clusters": [c.to_json() for c in clusters], "accounts": [a.to_json() for a in self.accounts],
                "config_hash": self.config_hash}  # fmt: skip


Progress = Callable[[str, float], None]  # (phase, fraction done of all phases)

PHASES = ("reading", "templates", "signals", "linking", "scoring", "writing")


def run_triage(store: Store, config: Config, on_progress: Progress | None = None,
               cancel: threading.Event | None = None) -> TriageResult:  # fmt: skip
    report = on_progress or (lambda phase, done: None)
    seconds: dict[str, float] = {}
    started_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    clock = time.perf_counter()

    def phase_done(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now
        if cancel is not None and cancel.is_set() and name != PHASES[-1]:  # once written, it is done
            raise Cancelled(name)
        k = PHASES.index(name) + 1
        report(PHASES[k] if k < len(PHASES) else "done", k / len(PHASES))

    report("reading", 0.0)
    requests = store.triage_requests()
    accounts = orgs_from_requests(store.triage_accounts(), requests)
    # The miner looks at the edges of a prompt (where wrappers sit); a wide margin keeps CoT phrases.
    tc = config["templates"]
    used = set(requests["prompt_hash"].dropna().unique().tolist())
    prompts = list(store.prompt_texts(used, 2 * tc["head_chars"] + 200, 2 * tc["tail_chars"] + 200))
    del used
    phase_done("reading")

    mined = mine(prompts, TemplateConfig(**config["templates"]))
    cot = dict(zip((h for h, _ in prompts), cot_flags(t for _, t in prompts), strict=True))
    del prompts
    family_of = {t.id: t.family_id for t in mined.templates}
    ph = requests["prompt_hash"]
    template = ph.map(mined.assignment).astype("Int64")
    requests["template_id"] = template.fillna(-1).astype("int64")
    requests["family_id"] = template.map(family_of).fillna(-1).astype("int64")
    requests["cot"] = ph.map(cot).fillna(False).astype(bool)
    phase_done("templates")

    baseline = baseline_stats(requests, accounts, config)
    feats = account_signals(requests, accounts, config, baseline)
    phase_done("signals")

    linked = link_accounts(requests, accounts, config["linking"])
    phase_done("linking")

    specs = signal_specs(config)
    clusters: list[ClusterResult] = []
    families_of: dict[int, np.ndarray] = {}
    by_account = requests.groupby("account_id", observed=True, sort=False).indices
    for cid, members in linked.members.items():
        parts = [by_account[m] for m in members if m in by_account]
        member_requests = requests.iloc[np.concatenate(parts)] if parts else requests.iloc[:0]
        member_accounts = accounts[accounts["account_id"].isin(members)]
        families_of[cid] = shared_families(member_requests)
        values = cluster_signals(members, member_requests, member_accounts, baseline, config)
        reasons = _reasons(values, specs, level="cluster")
        member_feats = feats.reindex(members)
        reasons += _member_reasons(member_feats, specs)
        reasons += legitimate_evidence(member_accounts, member_feats, config["scoring"])
        s = combine(reasons, config["scoring"])
        clusters.append(ClusterResult(cid, s.score, s.level, members, s.families, linked.links[cid], s.reasons))
    clusters.sort(key=lambda c: (-c.score, c.id))
    cluster_by_id = {c.id: c for c in clusters}

    results: list[AccountResult] = []
    scoring_cfg = config["scoring"]
    values_of = _account_values(feats)
    for account_id in accounts["account_id"]:
        values = values_of.get(account_id, {})
        own = _reasons(values, specs, level="account")
        own_score = combine(own, scoring_cfg)
        cid = linked.cluster_of.get(account_id)
        signals = {k: v[0] for k, v in values.items() if v[0] is not None}
        if cid is None:
            score = min(own_score.score, scoring_cfg["unlinked_max"])
            level = cap_level(own_score.level, "medium")
            results.append(AccountResult(account_id, round(score, 3), level, None, None, own_score.reasons, signals))
            continue
        c = cluster_by_id[cid]
        m = membership(by_account.get(account_id), requests, families_of[cid])
        score = round(c.score * m + scoring_cfg["own_share"] * max(own_score.score, 0.0), 3)
        level = cap_level(level_for(score, scoring_cfg), c.level)
        reasons = [Reason("C", "cluster", "cluster", c.score, None, round(c.score * m, 3),
                          f"cluster {c.id} ({len(c.accounts)} accounts, {c.level}) x membership {m:.2f}")]
        results.append(AccountResult(account_id, score, level, cid, round(m, 3), reasons + own_score.reasons, signals))
    results.sort(key=lambda a: (-a.score, a.account_id))
    phase_done("scoring")

    orgs = accounts.loc[accounts["org_id"].fillna("") != "", ["account_id", "org_id"]]
    run_id, n_templates = _write(store, config, requests, accounts, orgs, mined, clusters, results, started_at, seconds)
    phase_done("writing")
    store.record_triage_seconds(run_id, seconds)
    return TriageResult(clusters, results, config.hash, len(requests), n_templates, seconds)


def orgs_from_requests(accounts: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """Accounts whose record names no org take the org their requests carry most often (an
    export's billing entity: a LiteLLM team, a Bedrock AWS account)."""
    known = requests[["account_id", "org_id"]].dropna()
    known = known[known["org_id"] != ""]
    if known.empty:
        return accounts
    counts = known.groupby(["account_id", "org_id"], observed=True).size().reset_index(name="n")
    top = counts.sort_values(["n", "org_id"], ascending=[False, True]).drop_duplicates("account_id")
    org_of = dict(zip(top["account_id"].astype(str), top["org_id"].astype(str), strict=True))
    missing = accounts["org_id"].isna() | (accounts["org_id"] == "")
    accounts = accounts.copy()
    accounts.loc[missing, "org_id"] = accounts.loc[missing, "account_id"].map(org_of)
    return accounts


def signal_specs(config: Config) -> dict[str, dict]:
    """Each signal's documentation (signals.SIGNALS) with its numbers from the config."""
    specs = {}
    for code, sig in SIGNALS.items():
        numbers = config["signals"].get(code, {})
        specs[code] = {"name": sig.name, "family": sig.family, "level": sig.level,
                       "notice": numbers.get("notice", sig.notice), "strong": numbers.get("strong", sig.strong),
                       "weight": numbers.get("weight", sig.weight)}  # fmt: skip
    return specs


def _account_values(feats: pd.DataFrame) -> dict[str, dict[str, tuple]]:
    """{account: {signal code: (raw value, detail, evidence)}} of the account-level signals."""
    codes = [c for c in SIGNALS if c in feats.columns]
    table = feats[codes].apply(pd.to_numeric, errors="coerce")
    return {
        account: {c: (None if v != v else float(v), "", []) for c, v in zip(codes, values, strict=True)}
        for account, values in zip(table.index, table.to_numpy().tolist(), strict=True)
    }


def _num(v):
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _reasons(values: dict[str, tuple], specs: dict[str, dict], level: str) -> list[Reason]:
    out = []
    for code, (value, detail, rows) in values.items():
        spec = specs.get(code)
        if spec is None or spec["level"] != level:
            continue
        value = _num(value)
        e = evidence(value, spec["notice"], spec["strong"])
        if e > 0:
            out.append(Reason(code, spec["name"], spec["family"], value, spec["notice"],
                              round(spec["weight"] * e, 3), detail, list(rows)[:20]))  # fmt: skip
    return out


def _member_reasons(member_feats: pd.DataFrame, specs: dict[str, dict]) -> list[Reason]:
    """Account-level signals seen across a cluster: the median over its members."""
    values = {}
    for code, spec in specs.items():
        if spec["level"] == "account" and code in member_feats.columns:
            col = pd.to_numeric(member_feats[code], errors="coerce")
            if col.notna().sum() >= 2:
                values[code] = (float(col.median()), f"median over {int(col.notna().sum())} members", [])
    return _reasons(values, specs, level="account")


def legitimate_evidence(member_accounts: pd.DataFrame, member_feats: pd.DataFrame, cfg: dict) -> list[Reason]:
    """Legitimate-looking evidence, shown as subtractions:
    N1 every member in one billing org (one customer's keys);
    N2 most members at institutional email domains (not webmail), each shared by several members
       (one or more universities' classes, a company);
    N3 human rhythm: the members' requests come in bursts at a few hours of the day."""
    out = []
    n = len(member_accounts)
    if n == 0:
        return out
    orgs = member_accounts["org_id"].dropna()
    orgs = orgs[orgs != ""]
    if len(orgs) == n and orgs.nunique() == 1:
        out.append(Reason("N1", "one billing org", "legitimate", 1.0, None, -cfg["one_org_points"],
                          f"all {n} accounts in org {orgs.iloc[0]}", [orgs.iloc[0]]))  # fmt: skip
    domains = member_accounts["email_domain"].dropna()
    domains = domains[~domains.isin(cfg["webmail_domains"])]
    counts = domains.value_counts()
    institutional = counts[counts >= cfg["institution_min_members"]]
    share = float(institutional.sum()) / n
    if share >= cfg["institution_share"]:
        names = ", ".join(f"{d} ({c})" for d, c in institutional.head(3).items())
        out.append(Reason("N2", "institutional email domains", "legitimate", round(share, 3), cfg["institution_share"],
                          -cfg["institution_points"], f"{int(institutional.sum())} of {n} accounts at {names}",
                          list(institutional.index[:10])))  # fmt: skip
    entropy = pd.to_numeric(member_feats.get("S11"), errors="coerce").dropna()
    bursts = pd.to_numeric(member_feats.get("S10"), errors="coerce").dropna()
    if min(len(entropy), len(bursts)) >= cfg["human_min_members"]:
        h, a = float(entropy.median()), float(bursts.median())
        if h <= cfg["human_entropy_max"] and a >= cfg["human_burstiness_min"]:
            out.append(Reason("N3", "human rhythm", "legitimate", round(h, 3), cfg["human_entropy_max"],
                              -cfg["human_points"], f"median hour entropy {h:.2f} bits, burstiness A_n {a:.2f} "
                              f"over {min(len(entropy), len(bursts))} members", []))  # fmt: skip
    return out


def membership(rows, requests: pd.DataFrame, shared_families: np.ndarray) -> float:
    """How strongly an account belongs to its cluster, 0..1: the share of its requests in the
    template families its cluster's members share, and at least 0.5 (infrastructure ties it)."""
    if rows is None or not len(rows) or not len(shared_families):
        return 0.5
    fam = requests["family_id"].to_numpy()[rows]
    return max(float(np.isin(fam, shared_families).mean()), 0.5)


def shared_families(member_requests: pd.DataFrame) -> np.ndarray:
    """Template families used by at least two of a cluster's members."""
    per = member_requests.groupby("family_id", sort=False)["account_id"].nunique()
    return per[(per >= 2) & (per.index >= 0)].index.to_numpy()


def pivot_values(requests: pd.DataFrame, accounts: pd.DataFrame, account_templates: pd.DataFrame) -> pd.DataFrame:
    """The store's `account_values`: kind, value, account_id, uses, accounts (sharing the value).

    Request attributes count the account's requests with the value; account-record attributes
    count 1. The email pattern is the local part's shape at its domain ("a9999@mail.example")."""
    parts = []
    for kind in ("ip_prefix", "user_agent"):
        per = requests.groupby(["account_id", kind], observed=True, sort=False).size()
        parts.append(pd.DataFrame({"kind": kind, "value": per.index.get_level_values(1).astype(str),
                                   "account_id": per.index.get_level_values(0).astype(str), "uses": per.to_numpy()}))  # fmt: skip
    acc = accounts.set_index("account_id")
    record = {
        "payment_fingerprint": acc["payment_fingerprint"], "card_bin": acc["card_bin"],
        "email_domain": acc["email_domain"], "signup_ip_prefix": acc["signup_ip_prefix"], "org": acc["org_id"],
    }  # fmt: skip
    local = email_local_parts(accounts)
    local.index = accounts.loc[local.index, "account_id"].to_numpy()
    if len(local):
        domain = acc["email_domain"].reindex(local.index).fillna("")
        record["email_pattern"] = email_shape(local) + "@" + domain.astype(str)
    created = pd.to_datetime(acc["created_at"].dropna().astype("int64"), unit="ms", utc=True)
    record["signup_hour"] = created.dt.strftime("%Y-%m-%dT%H:00Z")
    for kind, series in record.items():
        series = series.dropna().astype(str)
        series = series[series != ""]
        parts.append(pd.DataFrame({"kind": kind, "value": series.to_numpy(), "account_id": series.index.astype(str),
                                   "uses": 1}))  # fmt: skip
    if len(account_templates):
        parts.append(pd.DataFrame({"kind": "template", "value": account_templates["template_id"].astype(str),
                                   "account_id": account_templates["account_id"].astype(str),
                                   "uses": account_templates["requests"].astype(int)}))  # fmt: skip
    df = pd.concat(parts, ignore_index=True)
    df["accounts"] = df.groupby(["kind", "value"], sort=False)["account_id"].transform("size")
    df["uses"] = df["uses"].astype(int)
    return df


def cluster_facets(values: pd.DataFrame, cluster_of: dict[str, int], top: int = 500) -> list[tuple]:
    """Rows of `cluster_values`: per cluster, the values 2+ members share (the `top` most shared)."""
    cid = values["account_id"].map(cluster_of)
    inside = values[cid.notna()].assign(cluster_id=cid[cid.notna()].astype(int))
    per = inside.groupby(["cluster_id", "kind", "value"], sort=False).agg(
        members=("account_id", "size"), accounts=("accounts", "max")).reset_index()
    per = per[per["members"] >= 2].sort_values(["cluster_id", "members"], ascending=[True, False])
    per = per.groupby("cluster_id", sort=False).head(top)
    return list(per[["cluster_id", "kind", "value", "members", "accounts"]].itertuples(index=False, name=None))


def cluster_timelines(requests: pd.DataFrame, cluster_of: dict[str, int], buckets: int = 60) -> dict[int, str]:
    """Per cluster, its members' requests over time as JSON {first, last, counts}: `buckets` equal
    slices of the span (the cluster screen's timeline, so it never scans the requests)."""
    cid = requests["account_id"].astype(str).map(cluster_of)
    ts = requests["ts"]
    df = pd.DataFrame({"cid": cid, "ts": ts})[cid.notna() & ts.notna()]
    if not len(df):
        return {}
    df["cid"] = df["cid"].astype(int)
    df["ts"] = df["ts"].astype("int64")
    span = df.groupby("cid")["ts"].agg(["min", "max"])
    width = ((span["max"] - span["min"]) // buckets + 1).clip(lower=1)
    first = df["cid"].map(span["min"])
    df["bucket"] = ((df["ts"] - first) // df["cid"].map(width)).clip(upper=buckets - 1)
    counts = df.groupby(["cid", "bucket"]).size()
    out = {}
    for c, (lo, hi) in span.iterrows():
        series = counts.loc[c]
        row = [0] * buckets
        for b, n in series.items():
            row[int(b)] = int(n)
        out[int(c)] = json.dumps({"first": int(lo), "last": int(hi), "counts": row})
    return out


def _write(store, config, requests, accounts, accounts_orgs, mined, clusters, results, started_at, seconds) -> tuple[int, int]:
    h = config.hash
    # Only templates shared by two prompts or two accounts are kept: a singleton is no pattern.
    keep = {t.id for t in mined.templates if t.prompts >= 2}
    uses = requests[requests["template_id"] >= 0]
    per_acc = uses.groupby("template_id", sort=False)["account_id"].nunique()
    keep |= set(per_acc[per_acc >= 2].index.tolist())
    uses = uses[uses["template_id"].isin(keep)]
    mined_kept = [t for t in mined.templates if t.id in keep]
    assignment = [(p, t) for p, t in mined.assignment.items() if t in keep]
    per_t = uses.groupby("template_id", sort=False).agg(requests=("rid", "size"), accounts=("account_id", "nunique"),
                                                        cot=("cot", "mean"))  # fmt: skip
    per_ta = uses.groupby(["account_id", "template_id"], observed=True, sort=False).agg(
        requests=("rid", "size"), first_ts=("ts", "min"), last_ts=("ts", "max"))
    shares = per_ta["requests"] / per_ta.groupby(level="template_id")["requests"].transform("sum")
    ent = (-(shares * np.log(shares))).groupby(level="template_id").sum()
    top = shares.groupby(level="template_id").max()
    stats = pd.DataFrame({"requests": per_t["requests"], "accounts": per_t["accounts"], "cot": per_t["cot"],
                          "entropy": ent, "top": top})  # fmt: skip
    orgs = per_ta.reset_index()[["account_id", "template_id"]].merge(
        accounts_orgs, on="account_id", how="left").groupby("template_id")["org_id"].nunique()
    stats["orgs"] = orgs
    family_accounts = uses.groupby("family_id", sort=False)["account_id"].nunique().to_dict()
    ids = [t.id for t in mined_kept]
    st = stats.reindex(ids)
    n_req = st["requests"].fillna(0).astype(int).tolist()
    n_acc = st["accounts"].fillna(0).astype(int).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        even = np.where(n_acc > 1, st["entropy"].to_numpy() / np.log(np.maximum(n_acc, 2)), np.nan)
    templates = [
        (t.id, t.family_id, t.pattern, t.prompts, n_req[k], int(n_acc[k]), int(o) if o == o else 0,
         None if e != e else float(e), None if tp != tp else float(tp), 0.0 if c != c else float(c),
         json.dumps(t.examples), h, family_accounts.get(t.family_id, 0))
        for k, (t, o, e, tp, c) in enumerate(zip(mined_kept, st["orgs"].tolist(), even.tolist(),
                                                 st["top"].tolist(), st["cot"].tolist(), strict=True))
    ]  # fmt: skip
    flat = per_ta.reset_index()
    account_templates = list(zip(
        flat["account_id"].astype(str), flat["template_id"].astype(int).tolist(), flat["requests"].astype(int).tolist(),
        flat["first_ts"].astype(object).where(flat["first_ts"].notna(), None).tolist(),
        flat["last_ts"].astype(object).where(flat["last_ts"].notna(), None).tolist(), strict=True,
    ))  # fmt: skip
    cluster_of = {a.account_id: a.cluster_id for a in results if a.cluster_id is not None}
    timelines = cluster_timelines(requests, cluster_of)
    cluster_rows = [(c.id, c.score, c.level, len(c.accounts), json.dumps(c.families), json.dumps(c.links),
                     json.dumps([r.to_json() for r in c.reasons]), h, timelines.get(c.id)) for c in clusters]  # fmt: skip
    account_rows = [(a.account_id, a.cluster_id, a.score, a.level, a.membership, json.dumps(a.signals),
                     json.dumps([r.to_json() for r in a.reasons]), h) for a in results]  # fmt: skip
    run = {"config_hash": h, "config": config.to_json(), "started_at": started_at, "requests": len(requests),
           "accounts": len(results), "templates": len(templates), "clusters": len(clusters),
           "flagged": sum(a.level in FLAGGED for a in results), "seconds": seconds}  # fmt: skip
    values = pivot_values(requests, accounts, flat)
    facets = cluster_facets(values, cluster_of)
    value_rows = values[["kind", "value", "account_id", "uses", "accounts"]].itertuples(index=False, name=None)
    run_id = store.write_triage(run, templates, assignment, account_templates, cluster_rows, account_rows,
                                value_rows, facets)  # fmt: skip
    return run_id, len(templates)


__all__ = ["run_triage", "TriageResult", "ClusterResult", "AccountResult", "Cancelled", "LEVELS", "Score"]
