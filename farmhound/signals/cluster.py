"""Cluster-level signal values of one candidate cluster (spread, slots, pivot, synchrony, load
balancing, signup burst, shared attributes, registration pattern)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from farmhound.signals.common import (
    _codes,
    _cv,
    _entity_of,
    _family_key,
    _gini,
    _poisson_sf,
    _rids,
    _shape_regex,
    email_local_parts,
    email_shape,
)
from farmhound.signals.registry import DAY_MS, H_MS, MIN_MS, SignalValue, _settings

# -- cluster signals ------------------------------------------------------------------------------------------


def cluster_signals(members: list[str], requests: pd.DataFrame, accounts: pd.DataFrame, baseline: dict,
                    config=None) -> dict[str, SignalValue]:  # fmt: skip
    """Raw values of every cluster-level signal for one candidate cluster.

    Args:
        members: the cluster's account ids.
        requests, accounts: frames holding at least the members' rows (others are ignored).
        baseline: from `baseline_stats` over the whole platform.
        config: as for `account_signals`.
    Returns:
        {code: SignalValue(value, detail, evidence rows)} for S2, S3, S8, S12, S13, S15, S16, S17; a
        value is NaN (with the reason in the detail) when its gate is not met.
    """
    st, gates = _settings(config)
    ids = pd.Index(pd.unique(pd.Series([str(m) for m in members], dtype=object)))
    req = requests[requests["account_id"].isin(ids)] if len(requests) else requests
    if "ts" in req.columns:
        req = req.assign(_t=pd.to_numeric(req["ts"], errors="coerce")).sort_values("_t", kind="stable")
    else:
        req = req.assign(_t=np.nan)
    acc = accounts[accounts["account_id"].astype(str).isin(ids)].drop_duplicates("account_id")
    limit = st["evidence_rows"]
    out = {}
    out["S2"], main = _spread(req, baseline, st, gates)
    out["S3"] = _slots(req, main, gates, limit)
    out["S8"] = _pivot(req, baseline, st, gates, limit)
    out["S12"] = _synchrony(req, st, gates, limit)
    out["S13"] = _load_balancing(req, st, gates, limit)
    out["S15"] = _burst(acc, baseline, st, gates)
    out["S16"] = _shared(req, acc, ids, baseline, gates)
    out["S17"] = _pattern(acc, baseline, st, gates)
    return out


def _nan(detail: str) -> SignalValue:
    return SignalValue(float("nan"), detail, [])


def _main_family(req: pd.DataFrame) -> int | None:
    """The template family with the most of the cluster's requests."""
    key = _family_key(req)
    key = key[key >= 0]
    if not len(key):
        return None
    vals, counts = np.unique(key, return_counts=True)
    return int(vals[int(np.argmax(counts))])


def _spread(req, baseline, st, gates) -> tuple[SignalValue, int | None]:
    main = _main_family(req)
    if main is None:
        return _nan("no templated requests"), None
    n_acc = int(baseline["template_accounts"].get(main, 0))
    n_ent = int(baseline["template_entities"].get(main, 0))
    e = float(baseline["template_evenness"].get(main, float("nan")))
    top = float(baseline["template_max_share"].get(main, float("nan")))
    where = f"family {main}: {n_acc} accounts in {n_ent} billing entities, evenness {e:.2f}, top account {top:.0%}"
    if n_acc < gates["S2"]:
        return SignalValue(float("nan"), where + f" (needs >= {gates['S2']:g} accounts)", [f"family={main}"]), main
    if n_ent < st["spread_min_entities"]:
        return SignalValue(0.0, where + " (owned: too few billing entities)", [f"family={main}"]), main
    return SignalValue(e, where, [f"family={main}"]), main


def _slots(req, main, gates, limit) -> SignalValue:
    if main is None or "prompt_hash" not in req.columns:
        return _nan("no templated requests")
    on = _family_key(req) == main
    uses = int(on.sum())
    if uses < gates["S3"]:
        return _nan(f"family {main}: {uses} uses in the cluster (needs >= {gates['S3']:g})")
    distinct = int(req["prompt_hash"][on].nunique())
    u = distinct / uses
    return SignalValue(u, f"family {main}: {distinct} distinct prompts in {uses} uses", _rids(req, on, limit))


def _pivot(req, baseline, st, gates, limit) -> SignalValue:
    models = baseline.get("new_models") or {}
    if not models or "model" not in req.columns:
        return _nan("no model appeared during the data")
    t, m = req["_t"].to_numpy(dtype=float), req["model"].astype(object).to_numpy()
    best, w = None, st["pivot_hours"] * H_MS
    for model, (release, plat_n, plat_m) in models.items():
        win = (t >= release) & (t < release + w)
        c_n, c_m = int(win.sum()), int((win & (m == model)).sum())
        if c_n < gates["S8"]:
            continue
        share = c_m / c_n
        rest = (plat_m - c_m) / max(plat_n - c_n, 1)
        lift = share / max(rest, 0.01)
        value = share if lift >= st["pivot_min_lift"] else 0.0
        detail = (f"{share:.0%} of the cluster's {c_n} requests in the {st['pivot_hours']:g} h after {model} "
                  f"appeared, vs {rest:.0%} for the rest of the platform ({lift:.1f}x)")
        if best is None or value > best.value:
            best = SignalValue(value, detail, _rids(req, win & (m == model), limit))
    return best or _nan(f"fewer than {gates['S8']:g} cluster requests in the window after a new model")


def _synchrony(req, st, gates, limit) -> SignalValue:
    t_sim = st["t_sim_minutes"] * MIN_MS
    # A pair statistic: a big cluster's is estimated on a sample of its members (all pairs of 10k
    # members cost minutes; the average over pairs of 2,000 of them is the same measure).
    members = np.sort(req["account_id"].astype(str).unique())
    sampled = ""
    if len(members) > st["sync_max_members"]:
        keep = np.random.default_rng(0).choice(members, int(st["sync_max_members"]), replace=False)
        req = req[req["account_id"].astype(str).isin(keep)]
        sampled = f" (on {len(keep):,} of {len(members):,} members, sampled)"
    key = _family_key(req)
    ok = (key >= 0) & ~np.isnan(req["_t"].to_numpy(dtype=float))
    acc, _ = _codes(req["account_id"].astype(str)[ok])
    key, t = key[ok], req["_t"].to_numpy(dtype=float)[ok].astype(np.int64)
    rows = np.flatnonzero(ok)
    order = np.lexsort((t, key))
    acc, key, t, rows = acc[order], key[order], t[order], rows[order]
    day = t // DAY_MS
    M = int(acc.max(initial=-1)) + 1
    d0 = int(day.min(initial=0))
    D = int(day.max(initial=0)) - d0 + 1
    dd = day - d0
    n_ad = np.bincount(acc * D + dd, minlength=M * D).reshape(M, D)
    active = (n_ad > 0).sum(axis=0)
    co_days = int((active >= 2).sum())
    if co_days < gates["S12"]:
        return _nan(f"{co_days} days with two or more members using templates (needs >= {gates['S12']:g})")
    src, other = [], []
    for k in range(1, int(st["sync_neighbours"]) + 1):
        near = (key[k:] == key[:-k]) & (t[k:] - t[:-k] <= t_sim)
        if not near.any():
            break  # sorted by (family, time): no pair further apart can be within T_sim either
        i = np.flatnonzero(near & (acc[k:] != acc[:-k]))
        src += [i, i + k]
        other += [acc[i + k], acc[i]]
    pairs = pair_days = 0
    if src:
        a_src, a_oth = np.concatenate(src), np.concatenate(other)
        matched = np.unique(a_src * M + a_oth)  # (action, other member): each action counts once per pair
        a_src, a_oth = matched // M, matched % M
        u = acc[a_src]
        lo, hi = np.minimum(u, a_oth), np.maximum(u, a_oth)
        pk, cnt = np.unique((lo * M + hi) * D + dd[a_src], return_counts=True)
        lo, hi, pd_day = pk // D // M, pk // D % M, pk % D
        jac = np.minimum(1.0, cnt / (n_ad[lo, pd_day] + n_ad[hi, pd_day]))
        pairs = int(len(np.unique(lo * M + hi)))
        pair_days = int((jac >= 0.5).sum())
        total = float(jac.sum())
        sync_rows = rows[np.unique(a_src)]
    else:
        total, sync_rows = 0.0, np.zeros(0, np.int64)
    co_pairs = float((active * (active - 1) / 2).sum())
    value = total / co_pairs if co_pairs else float("nan")
    share = len(sync_rows) / max(len(t), 1)
    detail = (f"Jaccard {value:.2f} over {co_days} days, T={st['t_sim_minutes']:g} min; {share:.0%} of templated "
              f"actions have a partner; {pairs} pairs matched, {pair_days} pair-days >= 0.5{sampled}")  # fmt: skip
    return SignalValue(value, detail, _rids(req.iloc[np.sort(sync_rows)], None, limit))


def _load_balancing(req, st, gates, limit) -> SignalValue:
    t_all = req["_t"].to_numpy(dtype=float)
    okt = ~np.isnan(t_all)
    acc, names = _codes(req["account_id"].astype(str)[okt])
    t = t_all[okt].astype(np.int64)
    M = len(names)
    if M < gates["S13"]:
        return _nan(f"{M} members with requests (needs >= {gates['S13']:g})")
    counts = np.bincount(acc, minlength=M)
    gini = _gini(counts)
    gap_max = st["gap_max_hours"] * H_MS
    agg = np.diff(t)  # the cluster stream (req is sorted by time)
    cv_agg = _cv(agg[agg <= gap_max].astype(float))
    o = np.lexsort((t, acc))
    a2, t2 = acc[o], t[o]
    g = np.diff(t2).astype(float)
    same = (a2[1:] == a2[:-1]) & (g <= gap_max)
    member_cv = _member_cvs(a2[1:][same], g[same], M)
    cv_mem = float(np.median(member_cv)) if len(member_cv) else float("nan")
    ratio = cv_mem / cv_agg if cv_agg and cv_agg == cv_agg else float("nan")
    # cap hugging over full days (each member's first and last active day are partial)
    day = t2 // DAY_MS
    first_d = np.full(M, np.iinfo(np.int64).max)
    last_d = np.full(M, np.iinfo(np.int64).min)
    np.minimum.at(first_d, a2, day)
    np.maximum.at(last_d, a2, day)
    full = (day > first_d[a2]) & (day < last_d[a2])
    md, md_n = np.unique(a2[full] * (1 << 32) + day[full], return_counts=True)
    n_full_days = int(np.maximum(last_d - first_d - 1, 0).sum())
    if n_full_days >= 5 and len(md_n):
        level = float(np.percentile(md_n, 95))
        hug = float((md_n >= 0.6 * level).sum()) / n_full_days
    else:
        level, hug = float("nan"), float("nan")
    # handoffs: a member's first request within 15 min after another member's last
    f_ms = np.full(M, np.iinfo(np.int64).max)
    l_ms = np.full(M, np.iinfo(np.int64).min)
    np.minimum.at(f_ms, a2, t2)
    np.maximum.at(l_ms, a2, t2)
    lasts = np.sort(l_ms)
    h = st["handoff_minutes"] * MIN_MS
    k = np.searchsorted(lasts, f_ms, "right") - np.searchsorted(lasts, f_ms - h, "left")
    k -= (l_ms >= f_ms - h) & (l_ms <= f_ms)  # the member's own last request
    handoffs = int((k > 0).sum())
    traits = [
        ("Gini", gini == gini and gini <= 0.2),
        ("CV ratio", ratio == ratio and ratio <= 0.6),
        ("cap hugging", hug == hug and hug >= 0.8),
        ("handoffs", handoffs >= 3 and handoffs >= 0.2 * (M - 1)),
    ]
    value = float(sum(hit for _, hit in traits))
    detail = (f"Gini {gini:.2f}; member CV {cv_mem:.2f} vs aggregate {cv_agg:.2f} (ratio {ratio:.2f}); "
              f"{hug:.0%} of {n_full_days} full member-days at >= 60% of {level:.0f}/day; {handoffs} handoffs"
              f" — traits: {', '.join(n for n, hit in traits if hit) or 'none'}")  # fmt: skip
    return SignalValue(value, detail, [f"account={names[i]}" for i in np.argsort(-counts)[:limit]])


def _member_cvs(acc: np.ndarray, gaps: np.ndarray, M: int) -> np.ndarray:
    """CV of each member's gaps (members with >= 10 gaps)."""
    n = np.bincount(acc, minlength=M).astype(float)
    mean = np.bincount(acc, gaps, minlength=M) / np.maximum(n, 1)
    var = np.bincount(acc, (gaps - mean[acc]) ** 2, minlength=M) / np.maximum(n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = np.sqrt(var) / mean
    return cv[(n >= 10) & (mean > 0)]


def _burst(acc, baseline, st, gates) -> SignalValue:
    if len(acc) < gates["S15"]:
        return _nan(f"{len(acc)} member records (needs >= {gates['S15']:g})")
    signups = baseline.get("signups") or {}
    span = float(baseline.get("signup_span_days", 1.0))
    w = st["burst_hours"] * H_MS
    days = w / DAY_MS
    created = pd.to_numeric(acc["created_at"], errors="coerce") if "created_at" in acc.columns else None
    if created is None or created.isna().all():
        return _nan("no member signup times")
    best = quiet = None
    for attr, groups in signups.items():
        if attr not in acc.columns:
            continue
        f = pd.DataFrame({"v": acc[attr].astype(object).to_numpy(), "t": created.to_numpy(dtype=float)}).dropna()
        f = f[f.groupby("v")["v"].transform("size") >= 2]
        for v, mine in f.groupby("v", sort=True)["t"]:
            times = groups.get(v)
            mine = np.sort(mine.to_numpy(dtype=np.int64))
            if times is None or len(times) < 2:
                continue
            # windows [m_j, m_j + w] from each member's signup: members in it, and all signups in it
            k_all = np.searchsorted(mine, mine + w, "right") - np.arange(len(mine))
            c_all = np.searchsorted(times, mine + w, "right") - np.searchsorted(times, mine, "left")
            j = int(np.lexsort((c_all, k_all))[-1])
            k, c = int(k_all[j]), max(int(c_all[j]), int(k_all[j]))
            if k < 2:
                continue
            lam = max((len(times) - c) / max(span - days, 1.0), 0.5 / span) * days
            p = _poisson_sf(c, lam)
            last = mine[min(j + k, len(mine)) - 1]
            row = (k, attr, v, p, c, int(last - mine[j]))
            if p < st["burst_p_max"]:
                if best is None or (k, k / c) > (best[0], best[0] / best[4]):  # ties: the most specific value
                    best = row
            elif quiet is None or k > quiet[0]:
                quiet = row
    if best is None:
        if quiet is None:
            return SignalValue(0.0, "no two members signed up within a window sharing an attribute", [])
        k, attr, v, p, c, _ = quiet
        return SignalValue(0.0, f"{k} members signed up with {attr} {v} within {st['burst_hours']:g} h ({c} signups "
                                f"with it then; p={p:.1g}: usual for it)", [f"{attr}={v}"])  # fmt: skip
    k, attr, v, p, c, spread = best
    detail = (f"{k} members signed up with {attr} {v} within {spread / H_MS:.1f} h ({c} signups with it then; "
              f"p={p:.1g} against its own rate)")
    return SignalValue(float(k), detail, [f"{attr}={v}"])


_PRIORS = {"payment_fingerprint": 1.0, "signup_ip_prefix": 0.5, "ip_prefix": 0.4, "card_bin": 0.3,
           "user_agent": 0.2, "email_domain": 0.2}  # fmt: skip


def _shared(req, acc, ids, baseline, gates) -> SignalValue:
    n = len(ids)
    if n < gates["S16"]:
        return _nan(f"{n} members (needs >= {gates['S16']:g})")
    entity = _entity_of(acc) if len(acc) else pd.Series(dtype=object)
    deg_all = baseline.get("attr_accounts") or {}
    rows = []
    for attr in _PRIORS:
        if attr in acc.columns:
            f = pd.DataFrame({"a": acc["account_id"].astype(str).to_numpy(), "v": acc[attr].astype(object).to_numpy()})
        elif attr in req.columns:
            f = pd.DataFrame({"a": req["account_id"].astype(str).to_numpy(), "v": req[attr].astype(object).to_numpy()})
        else:
            continue
        f = f.dropna().drop_duplicates()
        f["v"] = f["v"].astype(str)
        f = f[f["v"] != ""]
        if not len(f):
            continue
        f["e"] = f["a"].map(entity).fillna("acct:" + f["a"])
        g = f.groupby("v", sort=False).agg(m=("a", "nunique"), ent=("e", "nunique"))
        g = g[g["m"] >= 2]
        if not len(g):
            continue
        deg = g.index.to_series().map(deg_all.get(attr, pd.Series(dtype=int))).fillna(g["m"]).to_numpy(dtype=float)
        spec = np.minimum(1.0, g["m"].to_numpy() / np.maximum(deg, 1))
        ef = np.minimum(1.0, (g["ent"].to_numpy() - 1) / 2.0)
        contrib = g["m"].to_numpy() / n * spec * ef
        for v, m, e, d, c in zip(g.index, g["m"], g["ent"], deg, contrib, strict=True):
            rows.append((attr, v, int(m), int(e), int(d), float(c)))
    if not rows:
        return SignalValue(0.0, "no attribute shared across billing entities", [])
    r = pd.DataFrame(rows, columns=["attr", "v", "m", "ent", "deg", "c"])
    r = r[r["c"] > 0]
    if not len(r):
        return SignalValue(0.0, "attributes shared only inside one billing entity", [])
    per_type = r.groupby("attr")["c"].sum().clip(upper=1.0)
    points = {a: _PRIORS[a] * v for a, v in per_type.items()}
    value = float(sum(points.values()))
    r = r.assign(rank=r["attr"].map(points)).sort_values(["rank", "m", "v"], ascending=[False, False, True])
    parts = []
    for attr, g in r.groupby("attr", sort=False):
        top = g.iloc[0]
        more = f" (+{len(g) - 1} more shared)" if len(g) > 1 else ""
        parts.append(f"{attr.replace('_', ' ')} {top.v} on {top.m} of {n} members in {top.ent} billing entities "
                     f"({top.deg} accounts platform-wide){more}")  # fmt: skip
    return SignalValue(value, "; ".join(parts[:3]), [f"{a}={v}" for a, v in r[["attr", "v"]].head(20).itertuples(index=False)])


def _pattern(acc, baseline, st, gates) -> SignalValue:
    local = email_local_parts(acc)
    emails = acc["email"].reindex(local.index).astype(str) if len(local) else pd.Series(dtype=object)
    if len(local) < gates["S17"]:
        return _nan(f"{len(local)} member emails (needs >= {gates['S17']:g})")
    shapes = email_shape(local)
    counts = shapes.value_counts()
    modal, k = str(counts.index[0]), int(counts.iloc[0])
    share = k / len(local)
    plat = baseline.get("email_shapes", pd.Series(dtype=int))
    others = max(int(baseline.get("n_accounts", 0)) - len(acc), 1)
    outside = max(int(plat.get(modal, k)) - k, 0) / others
    lift = share / max(outside, 1.0 / others)
    detail = (f"{k} of {len(local)} member emails look like {_shape_regex(modal)}@ ({share:.0%}; "
              f"{outside:.1%} of other accounts, {lift:.1f}x)")
    value = share if lift >= st["pattern_min_lift"] else 0.0
    examples = emails[shapes.reindex(emails.index) == modal].head(5).tolist() if value else []
    return SignalValue(value, detail, examples)

