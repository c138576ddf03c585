"""The signal registry: each signal documented once (definition, what it catches, its legitimate
look-alike, evidence-ramp thresholds, weight, gate), and the settings of their computation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

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
       "neighbours in time (sorting, never all pairs); a cluster of more than 2,000 members is measured on "
       "2,000 of them, sampled.",
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
    "sync_max_members": 2000,  # S12: a bigger cluster's synchrony is measured on this many members, sampled
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


