"""Account-level signal values: one row per account, vectorised group-bys over integer codes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from farmhound.signals.common import _an, _codes, _col, _cot_base, _family_key, _template_stats
from farmhound.signals.registry import DAY_MS, H_MS, _settings

# -- account signals ----------------------------------------------------------------------------------------


def account_signals(requests: pd.DataFrame, accounts: pd.DataFrame, config=None,
                    baseline: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """Raw values of every account-level signal, one row per account (request or account record).

    Args:
        requests, accounts: the frames described in the module docstring.
        config: None, a dict of DEFAULT_SETTINGS overrides, or a triage config with a "signals" section.
        baseline: from `baseline_stats`; only the shared templates and CoT base rate are used, and they
            are computed here when it is not given.
    Returns:
        DataFrame indexed by account_id: n_requests, active_days, first_ts, last_ts, each account
        signal under its code (NaN when its gate is not met) and helper columns (S4_rate, S4_lift,
        S7_single_turn, S7_modal, S10_cv, S10_iets, S14_ramp, S14_start_h).
    """
    st, gates = _settings(config)
    if baseline is None:
        baseline = _template_stats(requests, accounts, st)
        baseline["cot_rate"] = _cot_base(requests)
    codes, ids = _codes(requests["account_id"])
    if "ts" in requests.columns:
        ts_s = pd.to_numeric(requests["ts"], errors="coerce")
    else:
        ts_s = pd.Series(np.nan, index=requests.index)
    ts_ok = ts_s.notna().to_numpy()
    ts = ts_s.fillna(0).to_numpy(dtype=np.int64)
    if not _sorted(codes, ts, ts_ok):  # the promise is (account_id, ts) order; keep it cheap to check
        order = np.lexsort((np.where(ts_ok, ts, np.iinfo(np.int64).max), codes))
        requests = requests.iloc[order]
        codes, ts, ts_ok = codes[order], ts[order], ts_ok[order]
    keep = codes >= 0
    A = len(ids)
    n = np.bincount(codes[keep], minlength=A).astype(float)
    out = pd.DataFrame(index=pd.Index(ids.astype(str), name="account_id"))
    out["n_requests"] = n.astype(np.int64)

    # timing: rows with a timestamp, sorted by (account, ts)
    tk = keep & ts_ok
    tc, t = codes[tk], ts[tk]
    first = np.full(A, np.nan)
    last = np.full(A, np.nan)
    if len(t):
        starts = np.flatnonzero(np.r_[True, tc[1:] != tc[:-1]])
        ends = np.r_[starts[1:] - 1, len(t) - 1]
        first[tc[starts]], last[tc[ends]] = t[starts], t[ends]
    day = t // DAY_MS
    new_day = np.r_[True, (tc[1:] != tc[:-1]) | (day[1:] != day[:-1])] if len(t) else np.zeros(0, bool)
    active_days = np.bincount(tc[new_day], minlength=A)
    out["active_days"] = active_days
    out["first_ts"], out["last_ts"] = pd.array(first, dtype="Int64"), pd.array(last, dtype="Int64")
    n_t = np.bincount(tc, minlength=A).astype(float)

    # content
    key = _family_key(requests)[keep]
    kc = codes[keep]
    shared = np.isin(key, baseline["shared_templates"])
    has_templates = "template_id" in requests.columns or "family_id" in requests.columns
    gate = (n >= gates["S1"]) & has_templates
    out["S1"] = np.where(gate, np.bincount(kc, shared, minlength=A) / np.maximum(n, 1), np.nan)
    cot = _col(requests, "cot")
    if cot is not None:
        cv = pd.to_numeric(cot, errors="coerce").to_numpy(dtype=float)[keep]
        ok = ~np.isnan(cv)
        m = np.bincount(kc[ok], minlength=A).astype(float)
        rate = np.bincount(kc[ok], cv[ok], minlength=A) / np.maximum(m, 1)
        base = baseline.get("cot_rate", float("nan"))
        lift = rate / max(base if base == base else 0.0, 0.01)
        rate = np.where(m >= gates["S4"], rate, np.nan)
        out["S4"] = np.where(lift >= st["cot_min_lift"], rate, np.where(np.isnan(rate), np.nan, 0.0))
        out["S4_rate"], out["S4_lift"] = rate, np.where(np.isnan(rate), np.nan, lift)
    else:
        out["S4"] = out["S4_rate"] = out["S4_lift"] = np.nan
    _shape(out, requests, keep, kc, n, A, gates)

    # timing
    gap_max = st["gap_max_hours"] * H_MS
    same = tc[1:] == tc[:-1]
    gaps = np.diff(t).astype(float)
    gk = same & (gaps <= gap_max)
    gc, gv = tc[1:][gk], gaps[gk]
    n_iet = np.bincount(gc, minlength=A).astype(float)
    mean = np.bincount(gc, gv, minlength=A) / np.maximum(n_iet, 1)
    var = np.bincount(gc, (gv - mean[gc]) ** 2, minlength=A) / np.maximum(n_iet, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cvs = np.sqrt(var) / mean
    ok = (n_iet >= gates["S10"]) & (mean > 0)
    out["S10"] = np.where(ok, _an(cvs, n_iet), np.nan)
    out["S10_cv"] = np.where(ok, cvs, np.nan)
    out["S10_iets"] = n_iet.astype(np.int64)
    hours = (t // H_MS) % 24
    hist = np.bincount(tc * 24 + hours, minlength=A * 24).reshape(A, 24).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = hist / n_t[:, None]
        h = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
        h = h + ((hist > 0).sum(axis=1) - 1) / (2.0 * n_t * math.log(2))
    out["S11"] = np.where((n_t >= gates["S11"]) & (active_days >= 2), np.minimum(h, math.log2(24)), np.nan)
    _lifetime(out, accounts, tc, t, first, last, n_t, A, baseline, st, gates)

    # infrastructure
    _region(out, requests, accounts, keep, kc, ids, A, gates)
    if "account_id" in accounts.columns:  # accounts with a record but no requests: zero counts, NaN signals
        extra = pd.Index(accounts["account_id"].dropna().astype(str).unique()).difference(out.index)
        if len(extra):
            out = out.reindex(out.index.append(extra))
            out[["n_requests", "active_days", "S10_iets"]] = out[["n_requests", "active_days", "S10_iets"]].fillna(0).astype(np.int64)
    return out


def _sorted(codes: np.ndarray, ts: np.ndarray, ok: np.ndarray) -> bool:
    """Rows grouped by account (codes never decrease) and, among rows with a time, in time order."""
    if len(codes) < 2:
        return True
    if np.any(np.diff(codes) < 0):
        return False
    c, t = codes[ok], ts[ok]
    return not np.any((c[1:] == c[:-1]) & (t[1:] < t[:-1]))


def _shape(out, req, keep, kc, n, A, gates) -> None:
    turns = _col(req, "turns")
    if turns is not None:
        tv = pd.to_numeric(turns, errors="coerce").to_numpy(dtype=float)[keep]
        ok = ~np.isnan(tv)
        single = np.bincount(kc[ok], (tv[ok] <= 1).astype(float), minlength=A) / np.maximum(
            np.bincount(kc[ok], minlength=A), 1)
    else:
        single = np.full(A, np.nan)
    vec = np.zeros(int(keep.sum()), dtype=np.int64)
    for c in ("model", "max_tokens", "temperature", "system_hash"):
        if c in req.columns:
            cc, u = pd.factorize(req[c], use_na_sentinel=False)
            vec = vec * (len(u) + 1) + cc[keep]
            vec = pd.factorize(vec)[0].astype(np.int64)  # keep the mixed-radix code small
    pair = kc * (int(vec.max(initial=0)) + 1) + vec
    uniq, counts = np.unique(pair, return_counts=True)
    modal = np.zeros(A)
    np.maximum.at(modal, uniq // (int(vec.max(initial=0)) + 1), counts)
    modal = modal / np.maximum(n, 1)
    gate = (n >= gates["S7"]) & any(c in req.columns for c in ("model", "max_tokens", "temperature", "system_hash"))
    out["S7"] = np.where(gate, np.fmin(single, modal) if turns is not None else modal, np.nan)
    out["S7_single_turn"] = np.where(gate, single, np.nan)
    out["S7_modal"] = np.where(gate, modal, np.nan)


def _lifetime(out, accounts, tc, t, first, last, n_t, A, baseline, st, gates) -> None:
    end = baseline.get("data_end") or (int(t.max()) if len(t) else None)
    lifetime = (last - first) / DAY_MS
    # volume per day since the first request (relative days), active days only
    rel = (t - first[tc]).astype(np.int64) // DAY_MS if len(t) else np.zeros(0, np.int64)
    runs = np.flatnonzero(np.r_[True, (tc[1:] != tc[:-1]) | (rel[1:] != rel[:-1])]) if len(t) else np.zeros(0, int)
    run_n = np.diff(np.r_[runs, len(t)])
    run_acc = tc[runs]
    med = pd.Series(run_n).groupby(run_acc).median().reindex(range(A)).to_numpy(dtype=float)
    first_day = np.full(A, np.nan)
    if len(runs):
        is_first = np.r_[True, run_acc[1:] != run_acc[:-1]]
        first_day[run_acc[is_first]] = run_n[is_first]
    ramp = first_day / med
    abandoned = (end - last >= st["abandon_days"] * DAY_MS) if end is not None else np.zeros(A, bool)
    ok = (n_t >= gates["S14"]) & abandoned & (ramp >= st["ramp_min"])
    out["S14"] = np.where(ok, lifetime, np.nan)
    out["S14_ramp"] = np.where(n_t >= gates["S14"], ramp, np.nan)
    created = np.full(A, np.nan)
    if "created_at" in accounts.columns:
        c = pd.to_numeric(accounts["created_at"], errors="coerce")
        c.index = accounts["account_id"].astype(str).to_numpy()
        created = c[~c.index.duplicated()].reindex(out.index).to_numpy(dtype=float)
    out["S14_start_h"] = (first - created) / H_MS


def _region(out, req, accounts, keep, kc, ids, A, gates) -> None:
    country = _col(req, "country")
    if country is not None and "billing_country" in accounts.columns:
        bill = pd.Series(accounts["billing_country"].astype(object).to_numpy(),
                         index=accounts["account_id"].astype(str).to_numpy())  # fmt: skip
        bill = bill[~bill.index.duplicated()].reindex(ids.astype(str)).to_numpy()
        rc = country.astype(object).to_numpy()[keep]
        bc = bill[kc]
        known = pd.notna(rc) & pd.notna(bc)
        mism = known & (rc != bc)
        m = np.bincount(kc[known], minlength=A).astype(float)
        out["S18"] = np.where(m >= gates["S18"], np.bincount(kc, mism, minlength=A) / np.maximum(m, 1), np.nan)
    else:
        out["S18"] = np.nan
    prefix = _col(req, "ip_prefix")
    if prefix is not None:
        pc, _ = _codes(prefix)
        pc = pc[keep]
        ok = pc >= 0
        m = np.bincount(kc[ok], minlength=A).astype(float)
        pairs = np.unique(kc[ok] * (int(pc.max(initial=0)) + 1) + pc[ok])
        distinct = np.bincount(pairs // (int(pc.max(initial=0)) + 1), minlength=A)
        out["S18b"] = np.where(m >= gates["S18b"], distinct / np.maximum(m, 1), np.nan)
    else:
        out["S18b"] = np.nan


