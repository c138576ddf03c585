"""The account graph: which accounts are held together by shared infrastructure, payment,
signup bursts or prompt templates, as candidate clusters.

Links are typed (the kinds below) and kept as facets of each cluster, so an analyst sees what holds
a cluster together. Every link kind works on groups of accounts sharing one value (a template
family, a payment fingerprint, a /24), found by sorting and grouping, never by comparing all
pairs of accounts. Values shared by very many accounts (over `max_group_share` of all, or a /24
over `ip_max_accounts`) link nothing: a carrier NAT or a platform-wide template carries no
identity. (How much a shared value weighs as evidence is the scorer's business: signal S16.)

Kinds:
  template  accounts whose traffic is mostly one template family used by several accounts
  payment   a shared payment fingerprint
  signup    signups from one /24 (or /48) within a day of each other
  ip        at least `ip_min_shared` request /24s in common (one shared NAT alone is not enough)

One billing org is not a link: it is the scorer's legitimate evidence (N1) about a cluster the
links above formed. (Linking by org made one cluster per customer: measured, scoring 500 such
clusters took 16 s of a 1M-request triage.)

Not here: what the clusters score (`scoring.py`), the signals (`farmhound/signals/`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LINK_KINDS = ("template", "payment", "signup", "ip")


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union_all(self, members) -> None:
        """Join all `members` (account indexes) into one set."""
        it = iter(members)
        first = next(it, None)
        if first is None:
            return
        root = self.find(first)
        for m in it:
            r = self.find(m)
            if r != root:
                self.parent[r] = root


@dataclass
class Linked:
    """Candidate clusters: each account's cluster (None when linked to no other account)."""

    cluster_of: dict[str, int]  # account_id -> cluster id (clusters of >= 2 accounts, ids 1..n by size)
    members: dict[int, list[str]]  # cluster id -> account ids
    links: dict[int, dict[str, int]] = field(default_factory=dict)  # cluster id -> {kind: joins}
    shared: dict[int, list[tuple[str, str, int]]] = field(default_factory=dict)  # (kind, value, accounts)


def link_accounts(requests: pd.DataFrame, accounts: pd.DataFrame, cfg: dict) -> Linked:
    """Candidate clusters from the requests (account_id, ip_prefix, family_id) and account
    records (account_id, payment_fingerprint, signup_ip_prefix, created_at)."""
    ids = pd.Index(sorted(set(accounts["account_id"]) | set(requests["account_id"].unique())))
    n = len(ids)
    uf = _UnionFind(n)
    events: list[tuple[str, str, np.ndarray]] = []  # (kind, value, member indexes)
    max_group = max(2, int(cfg["max_group_share"] * n)) if n else 2

    def join(kind: str, value, members: np.ndarray) -> None:
        if 2 <= len(members) <= max(max_group, cfg["min_group_cap"]):
            events.append((kind, str(value), members))

    acc = accounts.assign(idx=ids.get_indexer(accounts["account_id"]))
    req_idx = ids.get_indexer(requests["account_id"])

    # template: accounts whose traffic is mostly one family shared by several accounts
    fam = pd.DataFrame({"idx": req_idx, "family": requests["family_id"].to_numpy()})
    per = fam.groupby(["family", "idx"], sort=False).size().rename("n").reset_index()
    totals = np.bincount(req_idx, minlength=n)
    per["share"] = per["n"].to_numpy() / np.maximum(totals[per["idx"].to_numpy()], 1)
    core = per[(per["share"] >= cfg["template_core_share"]) & (per["n"] >= cfg["template_min_requests"])]
    for family, g in core.groupby("family", sort=False):
        if len(g) >= cfg["template_min_accounts"]:
            join("template", family, g["idx"].to_numpy())

    # payment: one fingerprint on several accounts
    pay = acc.dropna(subset=["payment_fingerprint"])
    pay = pay[pay["payment_fingerprint"] != ""]
    for value, g in pay.groupby("payment_fingerprint", sort=False):
        join("payment", value, g["idx"].to_numpy())

    # signup: one signup /24 within a day, chained in time
    su = acc.dropna(subset=["signup_ip_prefix", "created_at"]).sort_values(["signup_ip_prefix", "created_at"])
    window = cfg["signup_window_hours"] * 3_600_000
    for value, g in su.groupby("signup_ip_prefix", sort=False):
        if len(g) < cfg["signup_min_accounts"]:
            continue
        t = g["created_at"].to_numpy()
        breaks = np.flatnonzero(np.diff(t) > window) + 1
        for run in np.split(g["idx"].to_numpy(), breaks):
            if len(run) >= cfg["signup_min_accounts"]:
                join("signup", value, run)

    # ip: pairs of accounts with >= ip_min_shared request /24s in common (pairs only inside small groups)
    ipa = pd.DataFrame({"idx": req_idx, "prefix": requests["ip_prefix"].to_numpy()}).dropna().drop_duplicates()
    deg = ipa.groupby("prefix", sort=False)["idx"].transform("size")
    ipa = ipa[(deg >= 2) & (deg <= cfg["ip_max_accounts"])]
    if len(ipa):
        pairs = ipa.merge(ipa, on="prefix")
        pairs = pairs[pairs["idx_x"] < pairs["idx_y"]]
        counts = pairs.groupby(["idx_x", "idx_y"], sort=False).size()
        strong = counts[counts >= cfg["ip_min_shared"]]
        for (a, b), shared in strong.items():
            events.append(("ip", f"{shared} shared /24s", np.array([a, b])))

    for _kind, _value, members in events:
        uf.union_all(members)
    roots = np.array([uf.find(i) for i in range(n)])
    sizes = np.bincount(roots, minlength=n)
    big = [r for r in np.unique(roots) if sizes[r] >= 2]
    big.sort(key=lambda r: (-sizes[r], ids[r]))
    cid_of_root = {r: k for k, r in enumerate(big, 1)}
    cluster_of = {ids[i]: cid_of_root[roots[i]] for i in range(n) if roots[i] in cid_of_root}
    members: dict[int, list[str]] = {}
    for acct, c in cluster_of.items():
        members.setdefault(c, []).append(acct)
    links: dict[int, dict[str, int]] = {c: {} for c in members}
    shared: dict[int, list[tuple[str, str, int]]] = {c: [] for c in members}
    for kind, value, idxs in events:
        c = cid_of_root[roots[idxs[0]]]
        links[c][kind] = links[c].get(kind, 0) + len(idxs) - 1
        if kind != "ip":
            shared[c].append((kind, value, len(idxs)))
    for c in shared:
        shared[c].sort(key=lambda t: (-t[2], t[0], t[1]))
    return Linked(cluster_of, {c: sorted(m) for c, m in members.items()}, links, shared)
