"""Helpers shared by the account and cluster signals, and the platform-wide baseline that cluster
signals compare against."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from farmhound.signals.registry import DAY_MS, H_MS, _settings

# -- small helpers --------------------------------------------------------------------------------------


def _col(df: pd.DataFrame, name: str) -> pd.Series | None:
    return df[name] if name in df.columns else None


def _ints(s: pd.Series | None, n: int, fill: int = -1) -> np.ndarray:
    if s is None:
        return np.full(n, fill, dtype=np.int64)
    return pd.to_numeric(s, errors="coerce").fillna(fill).to_numpy(dtype=np.int64)


def _family_key(req: pd.DataFrame) -> np.ndarray:
    """Template family per request, falling back to the template; -1 = no template."""
    n = len(req)
    fam, tpl = _ints(_col(req, "family_id"), n), _ints(_col(req, "template_id"), n)
    return np.where(fam >= 0, fam, tpl)


def _codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for missing) and the unique values."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _entity_of(accounts: pd.DataFrame) -> pd.Series:
    """Billing entity per account id: its org, else the account itself."""
    accounts = accounts.drop_duplicates("account_id")
    ids = accounts["account_id"].astype(str)
    org = accounts["org_id"] if "org_id" in accounts.columns else pd.Series(None, index=accounts.index)
    org = org.where(org.notna() & (org.astype(str) != ""), None)
    return pd.Series(np.where(org.isna(), "acct:" + ids, "org:" + org.astype(str)), index=ids.to_numpy())


def _an(cv: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Kim & Jo (2016) finite-size burstiness A_n for CV r over n inter-event times."""
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = np.sqrt(n + 1.0), np.sqrt(np.maximum(n - 1.0, 0.0))
        return (a * cv - b) / ((a - 2.0) * cv + b)


def _gini(x: np.ndarray) -> float:
    x = np.sort(np.asarray(x, dtype=float))
    n, total = len(x), x.sum()
    if n < 2 or total <= 0:
        return float("nan")
    return float((2.0 * np.arange(1, n + 1) - n - 1) @ x / (n * total))


def _cv(gaps: np.ndarray) -> float:
    if len(gaps) < 2 or gaps.mean() <= 0:
        return float("nan")
    return float(gaps.std() / gaps.mean())


def _poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), accurate far into the tail."""
    if k <= 0:
        return 1.0
    if k <= lam:
        cdf = sum(math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1)) for j in range(k))
        return max(0.0, 1.0 - cdf)
    logs = [-lam + j * math.log(lam) - math.lgamma(j + 1) for j in range(k, k + 60 + int(10 * math.sqrt(lam)))]
    top = max(logs)
    return math.exp(top) * sum(math.exp(v - top) for v in logs)


def email_shape(local_parts: pd.Series) -> pd.Series:
    """Letter/digit shape of email local parts: letter runs -> 'a', each digit -> '9', the rest kept
    ("qwerty1234" -> "a9999", "maria.chen" -> "a.a", "s1234567" -> "a9999999")."""
    s = local_parts.astype("string").str.lower()
    return s.str.replace(r"[^\W\d_]+", "a", regex=True).str.replace(r"\d", "9", regex=True)


def email_local_parts(accounts: pd.DataFrame) -> pd.Series:
    """Non-empty email local parts (before the last @), indexed like `accounts`."""
    if "email" not in accounts.columns:
        return pd.Series(dtype=object)
    s = accounts["email"].dropna().astype(str)
    s = s[s.str.contains("@", regex=False)]
    if not len(s):
        return pd.Series(dtype=object)
    local = s.str.rsplit("@", n=1).str[0]
    return local[local != ""]


def _shape_regex(shape: str) -> str:
    out = re.sub(r"9+", lambda m: r"\d" + (f"{{{len(m.group())}}}" if len(m.group()) > 1 else ""), shape)
    return out.replace("a", "[a-z]+")


def _rids(req: pd.DataFrame, mask=None, limit: int = 50) -> list:
    r = req if mask is None else req[mask]
    r = r.head(limit)
    for name in ("rid", "request_id"):
        if name in r.columns:
            return [v.item() if hasattr(v, "item") else v for v in r[name].tolist()]
    return list(r.index[:limit])


# -- baseline ---------------------------------------------------------------------------------------------


def _template_stats(req: pd.DataFrame, accounts: pd.DataFrame | None, st: dict) -> dict:
    key = _family_key(req)
    codes, ids = _codes(req["account_id"])
    has = (key >= 0) & (codes >= 0)
    per = pd.DataFrame({"key": key[has], "acc": codes[has]}).groupby(["key", "acc"], sort=False).size()
    per = per.rename("n").reset_index()
    ent_map = _entity_of(accounts) if accounts is not None and len(accounts) else pd.Series(dtype=object)
    names = pd.Series(ids.astype(str))
    ent = names.map(ent_map)
    ent_codes = pd.factorize(ent.where(ent.notna(), "acct:" + names))[0]
    per["ent"] = ent_codes[per["acc"].to_numpy()]
    g = per.groupby("key", sort=False)
    uses, n_acc = g["n"].sum(), g.size()
    n_ent = per.drop_duplicates(["key", "ent"]).groupby("key", sort=False).size()
    share = per["n"] / per["key"].map(uses)
    ent_h = (-(share * np.log(share))).groupby(per["key"]).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        evenness = (ent_h / np.log(n_acc)).where(n_acc > 1)
    med = g["n"].median()
    shared = uses.index[(n_acc >= st["shared_min_accounts"]) & (n_ent >= st["shared_min_entities"])
                        & (uses >= st["shared_min_uses"]) & (med >= st["shared_min_median_uses"])]  # fmt: skip
    return {"template_uses": uses, "template_accounts": n_acc, "template_entities": n_ent,
            "template_evenness": evenness, "template_max_share": share.groupby(per["key"]).max(),
            "shared_templates": np.sort(shared.to_numpy(dtype=np.int64))}  # fmt: skip


def _cot_base(req: pd.DataFrame) -> float:
    """Median per-account CoT rate over every account with a known rate. Not request-weighted and not
    only heavy accounts: in the sample, farms send 54% of requests and are 80% of accounts with >= 30."""
    cot = _col(req, "cot")
    if cot is None:
        return float("nan")
    codes, ids = _codes(req["account_id"])
    c = pd.to_numeric(cot, errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(c) & (codes >= 0)
    n = np.bincount(codes[ok], minlength=len(ids))
    rate = np.bincount(codes[ok], c[ok], minlength=len(ids))[n > 0] / n[n > 0]
    return float(np.median(rate)) if len(rate) else float("nan")


def baseline_stats(requests: pd.DataFrame, accounts: pd.DataFrame, config=None) -> dict:
    """Platform-wide statistics that cluster signals are measured against.

    Returns a dict with:
        cot_rate: median per-account CoT rate over all accounts (S4 lift's denominator).
        template_uses / template_accounts / template_entities / template_evenness / template_max_share:
            Series by template family (S1, S2).
        shared_templates: sorted int array of the families S1 counts as shared.
        attr_accounts: {attribute: Series value -> number of accounts}, for payment_fingerprint,
            card_bin, signup_ip_prefix, email_domain (account records) and ip_prefix, user_agent
            (requests) (S16 specificity).
        signups: {attribute: {value: sorted created_at ms array}} for signup_ip_prefix,
            payment_fingerprint, email_domain, values with >= 2 signups; signup_span_days (S15).
        email_shapes: Series shape -> accounts; n_accounts (S17).
        new_models: {model: (release ms, platform requests in the window, of them on the model)} for
            models first seen >= 1 day into the data (S8).
        data_start, data_end: first and last request ms.
    """
    st, gates = _settings(config)
    out = _template_stats(requests, accounts, st)
    out["cot_rate"] = _cot_base(requests)
    ts = pd.to_numeric(requests["ts"], errors="coerce") if "ts" in requests.columns else pd.Series(dtype=float)
    out["data_start"] = int(ts.min()) if ts.notna().any() else None
    out["data_end"] = int(ts.max()) if ts.notna().any() else None
    attr: dict[str, pd.Series] = {}
    for c in ("payment_fingerprint", "card_bin", "signup_ip_prefix", "email_domain"):
        if c in accounts.columns:
            v = accounts[c].dropna().astype(str)
            attr[c] = v[v != ""].value_counts()
    codes, _ = _codes(requests["account_id"])
    for c in ("ip_prefix", "user_agent"):
        if c in requests.columns:
            vc, vals = _codes(requests[c])
            ok = (vc >= 0) & (codes >= 0)
            pairs = np.unique(codes[ok] * (len(vals) + 1) + vc[ok])
            n = np.bincount(pairs % (len(vals) + 1), minlength=len(vals))
            attr[c] = pd.Series(n, index=pd.Index(vals.astype(str))).sort_values(ascending=False)
    out["attr_accounts"] = attr
    signups: dict[str, dict] = {}
    created = pd.to_numeric(accounts.get("created_at"), errors="coerce") if "created_at" in accounts.columns else None
    if created is not None and created.notna().any():
        out["signup_span_days"] = max(1.0, float(created.max() - created.min()) / DAY_MS)
        for c in ("signup_ip_prefix", "payment_fingerprint", "email_domain"):
            if c in accounts.columns:
                f = pd.DataFrame({"v": accounts[c].astype(object), "t": created}).dropna()
                f = f[(f["v"].astype(str) != "") & (f.groupby("v")["v"].transform("size") >= 2)]
                f = f.sort_values(["v", "t"])  # one signup alone is never a burst: not kept
                signups[c] = {str(v): g.to_numpy(dtype=np.int64) for v, g in f.groupby("v", sort=False)["t"]}
    else:
        out["signup_span_days"] = 1.0
    out["signups"] = signups
    out["email_shapes"] = email_shape(email_local_parts(accounts)).value_counts()
    out["n_accounts"] = int(len(accounts))
    out["new_models"] = _new_models(requests, out["data_start"], st)
    return out


def _new_models(req: pd.DataFrame, start, st) -> dict:
    if start is None or "model" not in req.columns:
        return {}
    f = pd.DataFrame({"m": req["model"].astype(object), "t": pd.to_numeric(req["ts"], errors="coerce")}).dropna()
    first = f.groupby("m")["t"].min()
    out, w = {}, st["pivot_hours"] * H_MS
    for m, r in first[first >= start + DAY_MS].items():
        win = f[(f["t"] >= r) & (f["t"] < r + w)]
        out[str(m)] = (int(r), int(len(win)), int((win["m"] == m).sum()))
    return out


