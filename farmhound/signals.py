"""Detection signals: raw per-account and per-cluster values, each documented once in `SIGNALS`.

Responsible for: the signal registry (definition, what each catches, its legitimate look-alike,
thresholds of the evidence ramp, weight, gate); the chain-of-thought elicitation detector; the
platform-wide baseline that cluster signals compare against; and computing the values as pure
functions over pandas DataFrames, vectorised (group-bys over integer codes, no loop per request).
Definitions follow `reference/detection-signals.md` §5-§7; where the shipped synthetic tenant base
showed a reference default cannot work, the `Signal` says so in `adjusted`.

Not responsible for: SQL or the store (the caller hands in frames), template mining (requests arrive
with `template_id`/`family_id`, -1 = no template), linking accounts into clusters, or turning values
into points and levels (`scoring.py`, which holds the evidence ramp).

Inputs. `requests`: one row per request with account_id, ts (int ms UTC, may be NA), ip_prefix,
user_agent, country, model, system_hash, prompt_hash, template_id, family_id, turns, max_tokens,
temperature, cot (bool), optionally rid; sorted by (account_id, ts) (re-sorted if not). `accounts`:
account_id, created_at (ms, may be NA), email, email_domain, payment_fingerprint, card_bin,
billing_country, signup_ip_prefix, org_id, tier, verified. A missing column disables the signals
that need it (their value is NaN), it never raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["Gate", "Signal", "SignalValue", "SIGNALS", "FAMILIES", "DEFAULT_SETTINGS", "cot_flags",
           "baseline_stats", "account_signals", "cluster_signals", "email_shape"]  # fmt: skip

FAMILIES = ("content", "timing", "identity", "infrastructure")
MIN_MS, H_MS, DAY_MS = 60_000, 3_600_000, 86_400_000


class Gate(NamedTuple):
    """The minimum evidence before a value means anything: `unit >= minimum` (NaN below it)."""

    unit: str  # "requests", "IETs", "members", ...
    minimum: float
    also: str = ""  # a further condition, in words

    def __str__(self) -> str:
        return f"{self.unit} >= {self.minimum:g}" + (f" and {self.also}" if self.also else "")


@dataclass(frozen=True)
class Signal:
    """One signal. Evidence ramps linearly from 0 at `notice` to 1 at `strong` (strong < notice
    when lower values are worse); points = weight x evidence (§7.2)."""

    code: str
    name: str
    family: str  # content | timing | identity | infrastructure
    level: str  # account | cluster
    definition: str
    catches: str
    lookalike: str
    notice: float
    strong: float
    weight: float
    gate: Gate
    higher_is_worse: bool = True
    adjusted: str = ""  # where and why the reference default was changed


class SignalValue(NamedTuple):
    value: float  # NaN when the gate is not met
    detail: str  # names the evidence, e.g. "payment fp pf_9a1 on 11 of 24 members in 7 billing entities"
    evidence: list  # request rids (or row labels) or "attribute=value" strings


def _s(code, name, family, level, notice, strong, weight, gate, definition, catches, lookalike, adjusted="",
       higher_is_worse=True) -> Signal:  # fmt: skip
    return Signal(code, name, family, level, definition, catches, lookalike, notice, strong, weight, gate,
                  higher_is_worse, adjusted)  # fmt: skip


SIGNALS: dict[str, Signal] = {s.code: s for s in (
    _s("S1", "shared-template share", "content", "account", 0.5, 0.9, 2.0, Gate("requests", 30),
       "Share of the account's requests whose template family (template when it has no family) is "
       "shared: used by >= 20 accounts in >= 5 billing entities (org, else the account), >= 200 uses, and "
       "a median of >= 3 uses per account (repeated, not a common phrasing).",
       "farm members running the operator's prompt wrappers",
       "SaaS products and coding agents with a fixed prompt, a class's assignment, eval harnesses",
       "adds the median >= 3 uses per account: the miner groups casual phrasings ('explain <*> like I'm "
       "12') that 100 individuals use 1-2 times each; without it individuals' median S1 was 0.74"),
    _s("S2", "template spread and evenness", "content", "cluster", 0.8, 0.9, 1.5, Gate("accounts using the family", 20),
       "Evenness E = H(per-account usage shares) / log(accounts) of the cluster's main template family "
       "across every account that uses it; 0 when fewer than 10 billing entities use it (an owned template).",
       "one template spread evenly over many unrelated-looking accounts",
       "a popular client used by many customers (heavy-tailed, so lower E); a class (even, many entities)"),
    _s("S3", "slot diversity", "content", "cluster", 0.9, 0.98, 0.5, Gate("uses of the main family", 200),
       "U = distinct prompts / uses of the cluster's main template family inside the cluster (the slots "
       "almost never repeat: the space is being swept).",
       "systematic dataset harvesting", "synthetic-data jobs, SaaS traffic with free-text slots",
       "gate 1,000 -> 200 uses: a farm's main family at scale 1 has 300-2,000 uses"),
    _s("S4", "CoT-elicitation rate", "content", "account", 0.5, 0.8, 1.5, Gate("requests", 30),
       "Share of the account's prompts that ask for the reasoning (cot_flags); 0 when that is under 5x "
       "the platform baseline (median account rate, floored at 1%). Raw rate and lift: S4_rate, S4_lift.",
       "reasoning-trace harvesting ('show your full reasoning', 'reconstruct the reasoning')",
       "tutoring apps, maths homework, eval harnesses ('Let's think step by step')",
       "gate 50 -> 30 requests: careful-farm accounts are abandoned after 30-60 requests"),
    _s("S7", "request-shape uniformity", "content", "account", 0.8, 0.95, 1.0, Gate("requests", 30),
       "min(single-turn share, share of the modal parameter vector (model, max_tokens, temperature, "
       "system prompt)). Parts: S7_single_turn, S7_modal.",
       "scripted clients sending one fixed request shape", "batch jobs, classification pipelines, CI, SaaS"),
    _s("S8", "model-release pivot", "content", "cluster", 0.2, 0.4, 1.0, Gate("cluster requests in the window", 20),
       "For each model first seen >= 1 day into the data: the cluster's share of traffic on it in the 24 h "
       "after its first request; 0 unless >= 3x the rest of the platform's share in that window.",
       "operators redirecting collection to a new model within a day",
       "eager early adopters, clients on a 'latest' alias"),
    _s("S10", "inter-arrival regularity", "timing", "account", -0.2, -0.6, 1.5, Gate("IETs", 30),
       "Kim-Jo finite-size burstiness A_n of inter-event times (gaps over 6 h dropped). -1 periodic, 0 "
       "Poisson, > 0.2 human. Also S10_cv (CV r) and S10_iets.",
       "cron-like bots (A_n ~ -1) and round-robin fan-out (CV ~ 1/sqrt(N), A_n <= -0.5)",
       "cron monitors, CI, health checks, eval harnesses at fixed concurrency",
       "ramp -0.2 -> -0.6 around the reference's -0.5 flag (e = 0.75 there): careful-farm members sit at "
       "-0.31 (CV 0.55), rotating -0.73, crude -0.81; humans +0.55..0.70, a Poisson SaaS -0.13",
       higher_is_worse=False),
    _s("S11", "hour-of-day entropy", "timing", "account", 3.9, 4.3, 1.0, Gate("requests", 30, "active days >= 2"),
       "Shannon entropy (bits) of requests over 24 UTC hours with the Miller-Madow correction "
       "(+(m-1)/(2N ln 2)), capped at log2 24 = 4.585.",
       "accounts that never sleep", "24/7 production integrations, follow-the-sun teams",
       "gate 100 requests / 3 days -> 30 / 2 with the bias correction: farm accounts at scale 1 have "
       "30-80 requests, and uncorrected entropy of 40 draws from a flat day reads ~4.2"),
    _s("S12", "cross-account synchrony", "timing", "cluster", 0.1, 0.5, 3.0, Gate("co-active days", 3),
       "SynchroTrap within the cluster: actions (template family, time) match when another member used "
       "the same family within T_sim = 10 min; per day, pair Jaccard = matched / all actions of the pair, "
       "averaged over co-active pairs and days. Each action is compared with its 64 nearest same-family "
       "neighbours in time (sorting, never all pairs).",
       "members firing the same templates in lockstep", "a class in one lab session, a hackathon",
       "notice 0.5 -> 0.1 (strong 0.5): no sample farm is lockstep; staggered or load-balanced members "
       "score 0.10-0.30 (legitimate groups <= 0.012), a lockstep group ~1"),
    _s("S13", "load-balancing fingerprint", "timing", "cluster", 1.0, 3.0, 2.5, Gate("members", 5),
       "How many of four load-balancer traits the cluster shows: Gini of member request counts <= 0.2; "
       "median member CV <= 0.6 x the aggregate stream's CV; >= 80% of full member-days at >= 60% of the "
       "cluster's p95 member-day volume (cap hugging); >= 20% of members start within 15 min after another "
       "member's last request (handoffs).",
       "traffic spread across accounts by a scheduler, accounts replaced as they burn",
       "one enterprise rotating its own keys behind a gateway (same org: scored as legitimate evidence)",
       "rate limits are not in the logs, so utilisation u = volume / cap becomes volume against the "
       "cluster's own p95 member-day; handoffs >= 5 per member -> >= 20% of members (each member can be "
       "handed over to once); CV ratio trait added (careful farm 0.34-0.51, independent accounts ~1.1)"),
    _s("S14", "short lifetime, abandoned", "timing", "account", 7.0, 3.0, 1.0, Gate("requests", 30, "abandoned"),
       "Days from first to last request, for accounts that stopped >= 2 days before the data ends and "
       "started at full volume (first day >= 20% of the median active day); NaN otherwise. Also "
       "S14_ramp and S14_start_h (hours from signup to first request).",
       "burner accounts used for a few days at full rate, then replaced",
       "a batch job on a fresh account, a trial that was dropped", higher_is_worse=False),
    _s("S15", "signup burst", "identity", "cluster", 5.0, 10.0, 2.0, Gate("members", 2),
       "Most members signing up within 24 h with one signup /24, payment fingerprint or email domain, "
       "where that window's platform-wide signups with the value have Poisson tail p < 1e-6 against the "
       "value's own signup rate outside it; 0 if none.",
       "accounts registered in a batch from one place or card", "a class or bootcamp signing up on day one"),
    _s("S16", "shared attributes", "identity", "cluster", 0.3, 1.0, 3.0, Gate("members", 2),
       "Sum over attribute types of prior x min(1, sum over shared values of coverage x specificity x "
       "entity factor): coverage = members with it / members, specificity = members with it / accounts "
       "with it platform-wide, entity factor = min(1, (billing entities - 1) / 2). Priors: payment fp 1.0, "
       "signup /24 0.5, request /24 0.4, card BIN 0.3, user agent 0.2, email domain 0.2.",
       "one card across unrelated billing entities; shared proxies and signup ranges",
       "family cards, agencies paying for clients, a campus NAT (sharing inside one org scores 0)"),
    _s("S17", "registration pattern", "identity", "cluster", 0.6, 0.8, 1.0, Gate("members with email", 5),
       "Share of members whose email local part has the cluster's modal shape (letters -> a, digits -> 9), "
       "when that shape is >= 10x rarer outside the cluster; 0 otherwise.",
       "generated names like [a-z]{6}\\d{4}", "university addresses (s1234567@uni.edu), corporate naming",
       "adds the rarity test (>= 10x): an enterprise's first.last reads 98% in-cluster but is 15% elsewhere"),
    _s("S18", "region mismatch", "infrastructure", "account", 0.5, 0.9, 0.5, Gate("requests with countries", 10),
       "Share of requests from a country other than the account's billing country.",
       "traffic through proxies in other regions", "travellers, VPN-mandated companies"),
    _s("S18b", "prefix churn", "infrastructure", "account", 0.3, 0.7, 0.5, Gate("requests with an IP", 30),
       "Distinct request /24s (/48) per request.", "rotating residential proxies",
       "mobile users on carrier NAT pools (few distinct /24s), travellers"),
)}

DEFAULT_SETTINGS: dict[str, Any] = {
    "gap_max_hours": 6.0,  # S10/S13: inter-event gaps longer than this are between sessions, dropped
    "t_sim_minutes": 10.0,  # S12: two actions match within this
    "sync_neighbours": 64,  # S12: same-family neighbours in time compared per action
    "handoff_minutes": 15.0,  # S13
    "abandon_days": 2.0,  # S14: stopped at least this long before the data ends
    "ramp_min": 0.2,  # S14: first active day at >= this share of the median active day
    "burst_hours": 24.0,  # S15
    "burst_p_max": 1e-6,  # S15
    "shared_min_accounts": 20,  # S1
    "shared_min_entities": 5,  # S1
    "shared_min_uses": 200,  # S1
    "shared_min_median_uses": 3,  # S1: median uses per account of a shared family
    "spread_min_entities": 10,  # S2
    "cot_min_lift": 5.0,  # S4
    "pivot_hours": 24.0,  # S8
    "pivot_min_lift": 3.0,  # S8
    "pattern_min_lift": 10.0,  # S17
    "evidence_rows": 50,  # cap on evidence rows per cluster signal
}


def _settings(config) -> tuple[dict, dict]:
    """(settings, gate minimums by code) from None, a dict of settings, or a triage config whose
    "signals" section holds settings and per-code tables ({"gate": n} is read; notice/strong/weight
    belong to the scorer)."""
    settings, gates = dict(DEFAULT_SETTINGS), {c: s.gate.minimum for c, s in SIGNALS.items()}
    section = None
    if config is not None:
        try:
            section = config["signals"]
        except (KeyError, TypeError, IndexError):
            section = config if isinstance(config, Mapping) else None
    for key, value in (section or {}).items():
        if key in SIGNALS:
            if isinstance(value, Mapping) and "gate" in value:
                gates[key] = value["gate"]
        elif key in settings:
            settings[key] = value
        else:
            raise ValueError(f"unknown signal setting {key!r}")
    return settings, gates


# -- chain-of-thought elicitation -------------------------------------------------------------------

_STEP = r"step[\s-]*by[\s-]*step"
# "a step-by-step guide" asks for instructions, not reasoning. RE2 (pyarrow) has no lookahead, so these
# uses are counted and subtracted from all uses of the phrase.
_STEP_ADJ = _STEP + (r"[\s-]*(?:guides?|tutorials?|instructions?|plans?|recipes?|itinerar(?:y|ies)|"
                     r"walk-?throughs?|directions|lists?|process(?:es)?|breakdowns?|manuals?|checklists?|"
                     r"approach|routines?|programs?)\b")
_SHOW = (r"(?:show|write\s+(?:out|down)|walk\s+(?:me\s+|us\s+)?through|lay\s+out|spell\s+out|give(?:\s+me)?|"
         r"include|output|reveal|provide|print|share|narrate|articulate|expose|dump|display|verbali[sz]e)")
_THOUGHT = (r"(?:reasoning|thought\s+process|thinking|chain\s+of\s+(?:thought|reasoning)|train\s+of\s+thought|"
            r"rationale|deliberation|scratch\s*pad|thoughts)")
_ADJ = r"(?:(?:full|internal|complete|entire|whole|detailed|hidden|private|raw|underlying|intermediate|inner)\s+)"
_COT_OTHER = "|".join((
    r"chain[\s-]*of[\s-]*(?:thought|reasoning)",
    r"think(?:ing)?\s+(?:aloud|out\s+loud)",
    _SHOW + r"\s+(?:all\s+(?:of\s+)?|each\s+|every\s+)?(?:(?:your|the|its)\s+)?" + _ADJ + r"*" + _THOUGHT,
    r"(?:every|each)\s+step\s+of\s+(?:your|the)\s+(?:reasoning|thought\s+process|thinking|working)",
    r"explain\s+your\s+(?:reasoning|thinking|thought\s+process|logic)\s+(?:in\s+(?:full|detail)|before|first|then)",
    r"reconstruct\s+(?:the|your)\s+(?:\w+\s+)?(?:reasoning|thought\s+process|chain\s+of\s+thought)",
    r"(?:imagine|articulate)\s+(?:the\s+)?(?:internal\s+)?reasoning",
    r"reason\s+(?:it\s+|this\s+)?(?:out|through)\s+(?:fully|in\s+full|completely|carefully|step)",
    r"(?:full|complete|entire|whole)\s+(?:reasoning|thought\s+process|chain\s+of\s+thought|trajectory)",
    r"intermediate\s+(?:reasoning|steps|thoughts)",
    r"<\s*/?\s*(?:thinking|think|reasoning|scratchpad)\s*>",
    r"show\s+(?:all\s+)?(?:of\s+)?your\s+work(?:ing)?\b",
))
_COT_BATCH = 100_000  # prompts per pyarrow call: bounds the memory of one call


def cot_flags(texts: Iterable[str | None]) -> list[bool]:
    """Whether each prompt asks the model to show its reasoning ("step by step", "show your full
    reasoning", "think aloud", "explain your reasoning before", "reconstruct the reasoning", "chain of
    thought", ...). Case-insensitive; None or non-text is False; "a step-by-step guide to X" asks for
    instructions, not reasoning. Runs RE2 over Arrow arrays (one pass per pattern group, in C++)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out: list[bool] = []
    it = iter(texts)
    while True:
        batch = [t if type(t) is str else None for t in islice(it, _COT_BATCH)]
        if not batch:
            return out
        arr = pc.utf8_lower(pa.array(batch, pa.large_string()))
        other = pc.match_substring_regex(arr, _COT_OTHER)
        steps = pc.subtract(pc.count_substring_regex(arr, _STEP), pc.count_substring_regex(arr, _STEP_ADJ))
        flags = pc.fill_null(pc.or_(other, pc.greater(steps, 0)), False)
        out += flags.to_pylist()


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


def _local_parts(accounts: pd.DataFrame) -> pd.Series:
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
    out["email_shapes"] = email_shape(_local_parts(accounts)).value_counts()
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
              f"actions have a partner; {pairs} pairs matched, {pair_days} pair-days >= 0.5")  # fmt: skip
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
    local = _local_parts(acc)
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
