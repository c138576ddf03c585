"""Detection signals on small hand-built tenants: each test is a case where an analyst would notice
a wrong answer (a cron bot read as human, a class read as a signup farm with no burst, ...)."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from farmhound.scoring import evidence as ramp
from farmhound.signals import (
    FAMILIES,
    SIGNALS,
    account_signals,
    baseline_stats,
    cluster_signals,
    cot_flags,
    email_shape,
)


def evidence(signal, value) -> float:
    """The scorer's evidence ramp with a signal's default thresholds."""
    sig = SIGNALS[signal] if isinstance(signal, str) else signal
    return ramp(value, sig.notice, sig.strong)

T0 = 1_776_816_000_000  # 2026-04-22T00:00:00Z
MIN, H, DAY = 60_000, 3_600_000, 86_400_000

REQUEST_DEFAULTS = {
    "ip_prefix": "198.51.100.0/24", "user_agent": "openai-python/1.54.3", "country": "US", "model": "atlas-4",
    "system_hash": None, "prompt_hash": None, "template_id": -1, "family_id": -1, "turns": 1, "max_tokens": 1024,
    "temperature": 1.0, "input_tokens": 50, "output_tokens": 200, "cot": False,
}  # fmt: skip
ACCOUNT_DEFAULTS = {
    "email": None, "email_domain": None, "payment_fingerprint": None, "card_bin": None, "billing_country": "US",
    "signup_ip_prefix": None, "org_id": None, "tier": "free", "verified": 0,
}  # fmt: skip


def stream(account: str, times, **over) -> list[dict]:
    """Request rows of one account at `times` (ms); `over` sets columns (a list sets one per row)."""
    rows = []
    for i, t in enumerate(times):
        row = {"account_id": account, "ts": int(t), **REQUEST_DEFAULTS}
        for k, v in over.items():
            row[k] = v[i] if isinstance(v, list) else v
        if row["prompt_hash"] is None:
            row["prompt_hash"] = hash((account, i)) & 0xFFFFFFFF
        rows.append(row)
    return rows


def frame(rows: list[dict]) -> pd.DataFrame:
    """Requests as triage reads them: categoricals, nullable ints, sorted by (account, ts), with rids."""
    df = pd.DataFrame(rows)
    for c in ("account_id", "ip_prefix", "user_agent", "country", "model"):
        df[c] = df[c].astype("category")
    for c in ("ts", "system_hash", "prompt_hash", "turns", "max_tokens", "input_tokens", "output_tokens"):
        df[c] = df[c].astype("Int64")
    df = df.sort_values(["account_id", "ts"], kind="stable", ignore_index=True)
    df.insert(0, "rid", np.arange(1, len(df) + 1))
    return df


def accounts(rows: list[dict]) -> pd.DataFrame:
    out = []
    for r in rows:
        row = {**ACCOUNT_DEFAULTS, **r}
        if row["email"] and not row["email_domain"]:
            row["email_domain"] = row["email"].rpartition("@")[2]
        out.append(row)
    df = pd.DataFrame(out)
    df["created_at"] = df["created_at"].astype("Int64")
    return df


def human_times(rng, days: int, start=T0, hours=(9, 23), sessions=2.0) -> list[int]:
    """Bursty sessions on a diurnal schedule: heavy-tailed think times inside a session."""
    out = []
    for d in range(days):
        for _ in range(1 + rng.poisson(sessions - 1)):
            t = start + d * DAY + int(rng.uniform(*hours) * H)
            for _ in range(rng.geometric(1 / 4)):
                out.append(t)
                t += 4000 + int(rng.lognormal(4.2, 1.1) * 1000)
    return sorted(out)


def poisson_times(rng, t0: int, t1: int, per_day: float) -> list[int]:
    n = rng.poisson(per_day * (t1 - t0) / DAY)
    return sorted(int(t) for t in rng.uniform(t0, t1, n))


def background(rng, n: int = 40) -> tuple[list[dict], list[dict]]:
    """Ordinary individuals: the platform the baseline is measured on."""
    reqs, accts = [], []
    for i in range(n):
        a = f"ind{i:03d}"
        times = human_times(rng, 12, hours=(8, 22), sessions=1.5)
        reqs += stream(a, times, ip_prefix=f"73.{i}.{i % 7}.0/24", template_id=[1000 + i * 100 + k for k in range(len(times))],
                       family_id=[1000 + i * 100 + k for k in range(len(times))])  # fmt: skip
        accts.append({"account_id": a, "created_at": T0 - int(rng.integers(30, 400)) * DAY, "email": f"user.{a}@gmail.com",
                      "signup_ip_prefix": f"73.{i}.{i % 7}.0/24", "payment_fingerprint": f"pf_ind{i}"})  # fmt: skip
    return reqs, accts


# -- registry and ramp ---------------------------------------------------------------------------------


def test_registry_documents_every_signal_the_scorer_needs():
    required = {"S1", "S2", "S3", "S4", "S7", "S10", "S11", "S12", "S13", "S14", "S15", "S16", "S17", "S18"}
    assert required <= set(SIGNALS)
    for code, s in SIGNALS.items():
        assert s.code == code
        assert s.family in FAMILIES and s.level in ("account", "cluster")
        assert s.definition and s.catches and s.lookalike and s.name
        assert s.weight > 0 and s.gate.minimum > 0
        # the ramp's direction is the order of its thresholds (scoring.evidence reads it that way)
        assert (s.strong > s.notice) == s.higher_is_worse, code


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [("S1", 0.5, 0.0), ("S1", 0.7, 0.5), ("S1", 0.95, 1.0), ("S1", 0.1, 0.0),
     ("S10", -0.2, 0.0), ("S10", -0.4, 0.5), ("S10", -0.95, 1.0), ("S10", 0.6, 0.0),
     ("S1", float("nan"), 0.0), ("S1", None, 0.0)],
)  # fmt: skip
def test_evidence_ramps_between_notice_and_strong(code, value, expected):
    assert evidence(code, value) == pytest.approx(expected)
    assert evidence(SIGNALS[code], value) == pytest.approx(expected)


# -- chain-of-thought elicitation ----------------------------------------------------------------------

COT = [
    "Solve step by step and show your full reasoning: what is 17 * 23?",
    "Think step-by-step. Show every step of your reasoning.",
    "Please walk through your complete reasoning before giving the final answer.",
    "Before answering, think it through and write out every step of your thought process.",
    "I want to see how you get there: show all intermediate reasoning, then the answer.",
    "(Reason it out fully, I want each step, not just the result.)",
    "Work through this and narrate your reasoning as you go, including dead ends",
    "Write out your full chain of reasoning in <thinking> tags first.",
    "Think aloud while you debug this.",
    "Explain your reasoning before you give the answer.",
    "Here is a finished answer. Reconstruct the reasoning that led to it.",
    "Use chain of thought.",
    "Give the full trajectory with your complete reasoning.",
    "Question: what is 3+4?\nAnswer: Let's think step by step.",
    "SHOW YOUR INTERNAL REASONING",
]
ORDINARY = [
    "Give me a step-by-step guide to repotting a cactus.",
    "Explain recursion like I'm 12",
    "can you explain step 2 again?",
    "Help me understand inflation with an example.",
    "I think my code has a bug, can you look at it?",
    "Can you explain what I'm doing wrong without the full answer?",
    "Write a short poem about the ocean at night.",
    "What's the reasoning behind the four-day work week debate? Summarize both sides.",
    "",
]


@pytest.mark.parametrize("text", COT)
def test_cot_phrases_are_detected(text):
    assert cot_flags([text]) == [True]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_prompts_are_not_cot(text):
    assert cot_flags([text]) == [False]


def test_cot_flags_keeps_order_and_length_and_tolerates_missing_text():
    texts = iter([COT[0], None, ORDINARY[0], 42, "a step by step guide; then solve it step by step"])
    assert cot_flags(texts) == [True, False, False, False, True]
    assert cot_flags([]) == []


# -- timing --------------------------------------------------------------------------------------------


def test_periodic_bot_and_human_rhythm_are_told_apart():
    rng = np.random.default_rng(1)
    bot = [T0 + k * 30 * MIN + int(rng.integers(-20_000, 20_000)) for k in range(150)]
    human = human_times(rng, 20)
    assert len(human) >= 60
    req = frame(stream("bot", bot) + stream("human", human))
    f = account_signals(req, accounts([{"account_id": "bot", "created_at": T0}, {"account_id": "human", "created_at": T0}]))
    assert f.loc["bot", "S10"] < -0.9 and f.loc["bot", "S10_cv"] < 0.1
    assert evidence("S10", f.loc["bot", "S10"]) == 1.0
    assert f.loc["human", "S10"] > 0.2 and evidence("S10", f.loc["human", "S10"]) == 0.0
    assert f.loc["human", "S11"] < 3.9  # sleeps at night
    assert f.loc["bot", "S11"] > 4.4  # the same count every hour


def test_machine_account_active_around_the_clock_has_high_hour_entropy():
    rng = np.random.default_rng(2)
    req = frame(stream("svc", poisson_times(rng, T0, T0 + 5 * DAY, 48)))
    f = account_signals(req, accounts([{"account_id": "svc", "created_at": T0 - 90 * DAY}]))
    assert f.loc["svc", "S11"] > 4.3 and evidence("S11", f.loc["svc", "S11"]) == 1.0
    assert abs(f.loc["svc", "S10"]) < 0.3  # Poisson: neither periodic nor bursty


def test_small_accounts_get_no_timing_verdict():
    req = frame(stream("tiny", [T0 + k * H for k in range(5)]) + stream("other", [T0 + 20 * DAY]))
    f = account_signals(req, accounts([{"account_id": "tiny", "created_at": T0}]))
    assert f.loc["tiny", "n_requests"] == 5
    assert f.loc["tiny", ["S10", "S11", "S14", "S1", "S4", "S7"]].isna().all()
    assert f.loc["tiny", "first_ts"] == T0 and f.loc["tiny", "last_ts"] == T0 + 4 * H


def test_burner_account_abandoned_after_days_vs_a_long_lived_one():
    rng = np.random.default_rng(3)
    burner = poisson_times(rng, T0 + 2 * H, T0 + 2 * H + 3 * DAY, 40)
    steady = poisson_times(rng, T0, T0 + 20 * DAY, 10)
    req = frame(stream("burner", burner) + stream("steady", steady))
    f = account_signals(req, accounts([{"account_id": "burner", "created_at": T0}, {"account_id": "steady", "created_at": T0 - 60 * DAY}]))
    assert 2.5 < f.loc["burner", "S14"] < 3.1 and evidence("S14", f.loc["burner", "S14"]) == 1.0
    assert f.loc["burner", "S14_start_h"] < 3
    assert math.isnan(f.loc["steady", "S14"])  # still active when the data ends


def test_timestamps_missing_or_unsorted_input_do_not_change_the_answer():
    rng = np.random.default_rng(4)
    rows = stream("a", poisson_times(rng, T0, T0 + 4 * DAY, 30)) + stream("b", human_times(rng, 10))
    req = frame(rows)
    acc = accounts([{"account_id": "a", "created_at": T0}, {"account_id": "b", "created_at": T0}])
    shuffled = req.sample(frac=1.0, random_state=1)
    with_na = pd.concat([req, frame(stream("a", [0]))]).reset_index(drop=True)
    with_na.loc[len(with_na) - 1, "ts"] = pd.NA
    cols = ["S10", "S11", "S14", "first_ts", "last_ts"]
    pd.testing.assert_frame_equal(account_signals(shuffled, acc)[cols], account_signals(req, acc)[cols])
    pd.testing.assert_frame_equal(account_signals(with_na, acc)[cols], account_signals(req, acc)[cols])


# -- content -------------------------------------------------------------------------------------------


def test_farm_template_is_shared_and_a_common_phrasing_is_not():
    rng = np.random.default_rng(5)
    rows, accts = background(rng)
    for i in range(25):  # 25 unrelated-looking accounts, each sending the operator's wrapper 40 times
        times = sorted(int(t) for t in rng.uniform(T0, T0 + 4 * DAY, 40))
        rows += stream(f"farm{i}", times, template_id=7, family_id=7, cot=True)
        accts.append({"account_id": f"farm{i}", "created_at": T0 - DAY})
    for i in range(40):  # the individuals also each send one "explain <*> like I'm 12"
        rows += stream(f"ind{i:03d}", [T0 + 25 * DAY + i * MIN], template_id=9, family_id=9)
    req, acc = frame(rows), accounts(accts)
    base = baseline_stats(req, acc)
    assert 7 in base["shared_templates"] and 9 not in base["shared_templates"]
    f = account_signals(req, acc, baseline=base)
    farm = f.loc[[f"farm{i}" for i in range(25)]]
    assert (farm["S1"] == 1.0).all() and (farm["S4"] == 1.0).all()
    assert base["cot_rate"] == 0.0
    heavy = f[f.index.str.startswith("ind") & f["S1"].notna()]
    assert len(heavy) and (heavy["S1"] == 0).all()


def test_cot_rate_counts_only_when_well_above_the_platform_baseline():
    # a tutoring platform: most accounts ask for steps, so one more that does is not notable
    rows = []
    for i in range(10):
        rows += stream(f"t{i}", [T0 + k * H for k in range(40)], cot=[k % 2 == 0 for k in range(40)])
    f = account_signals(frame(rows), accounts([{"account_id": "t0", "created_at": T0}]))
    assert f.loc["t0", "S4_rate"] == 0.5 and f.loc["t0", "S4_lift"] == pytest.approx(1.0)
    assert f.loc["t0", "S4"] == 0.0


def test_request_shape_uniformity():
    fixed = stream("script", [T0 + k * H for k in range(40)], system_hash=11, max_tokens=8192, temperature=0.0)
    varied = stream("person", [T0 + k * H for k in range(40)], max_tokens=[1024, 2048, 4096, 512] * 10,
                    temperature=[1.0, 0.7] * 20, turns=[1, 2, 3, 1] * 10)  # fmt: skip
    f = account_signals(frame(fixed + varied), accounts([{"account_id": "script", "created_at": T0}]))
    assert f.loc["script", "S7"] == 1.0 and evidence("S7", 1.0) == 1.0
    assert f.loc["person", "S7"] <= 0.5 and f.loc["person", "S7_single_turn"] == 0.5


def test_template_spread_evenly_over_many_entities_vs_owned_by_one_org():
    rows, accts = [], []
    for i in range(20):
        rows += stream(f"f{i}", [T0 + k * H + i * MIN for k in range(30)], template_id=5, family_id=5)
        accts.append({"account_id": f"f{i}", "created_at": T0})
        rows += stream(f"e{i}", [T0 + k * H + i * MIN for k in range(30)], template_id=6, family_id=6)
        accts.append({"account_id": f"e{i}", "created_at": T0, "org_id": "org_corp"})
    req, acc = frame(rows), accounts(accts)
    base = baseline_stats(req, acc)
    farm = cluster_signals([f"f{i}" for i in range(20)], req, acc, base)["S2"]
    corp = cluster_signals([f"e{i}" for i in range(20)], req, acc, base)["S2"]
    assert farm.value > 0.99 and "20 billing entities" in farm.detail
    assert corp.value == 0.0 and "owned" in corp.detail


# -- synchrony and load balancing ----------------------------------------------------------------------


def test_synchrony_high_for_lockstep_and_low_for_the_same_template_at_unrelated_times():
    rng = np.random.default_rng(6)
    triggers = [T0 + d * DAY + int(rng.uniform(0, DAY)) for d in range(4) for _ in range(6)]
    lock, loose, accts = [], [], []
    for i in range(10):
        lock += stream(f"l{i}", sorted(t + int(rng.integers(-2 * MIN, 2 * MIN)) for t in triggers), template_id=3, family_id=3)
        loose += stream(f"u{i}", sorted(T0 + d * DAY + int(rng.uniform(0, DAY)) for d in range(4) for _ in range(6)),
                        template_id=3, family_id=3)  # fmt: skip
        accts += [{"account_id": f"l{i}", "created_at": T0}, {"account_id": f"u{i}", "created_at": T0}]
    req, acc = frame(lock + loose), accounts(accts)
    base = baseline_stats(req, acc)
    hi = cluster_signals([f"l{i}" for i in range(10)], req, acc, base)["S12"]
    lo = cluster_signals([f"u{i}" for i in range(10)], req, acc, base)["S12"]
    assert hi.value > 0.8 and evidence("S12", hi.value) == 1.0
    assert "over 4 days, T=10 min" in hi.detail and len(hi.evidence) > 0
    assert lo.value < 0.15


def test_synchrony_of_a_big_cluster_is_measured_on_a_sample_of_members_and_says_so():
    rng = np.random.default_rng(6)
    triggers = [T0 + d * DAY + int(rng.uniform(0, DAY)) for d in range(4) for _ in range(6)]
    rows, accts = [], []
    for i in range(10):
        rows += stream(f"l{i}", sorted(t + int(rng.integers(-2 * MIN, 2 * MIN)) for t in triggers), template_id=3, family_id=3)
        accts.append({"account_id": f"l{i}", "created_at": T0})
    req, acc = frame(rows), accounts(accts)
    base = baseline_stats(req, acc)
    members = [f"l{i}" for i in range(10)]
    whole = cluster_signals(members, req, acc, base)["S12"]
    sample = cluster_signals(members, req, acc, base, {"sync_max_members": 4})["S12"]
    assert "sampled" not in whole.detail and "(on 4 of 10 members, sampled)" in sample.detail
    assert sample.value == pytest.approx(whole.value, abs=0.15)  # lockstep is lockstep in any sample
    assert "6 pairs matched" in sample.detail  # the pairs of the 4 sampled members


def test_synchrony_needs_several_days():
    req = frame(stream("a", [T0, T0 + H], template_id=1, family_id=1) + stream("b", [T0 + MIN], template_id=1, family_id=1))
    acc = accounts([{"account_id": "a", "created_at": T0}, {"account_id": "b", "created_at": T0}])
    assert math.isnan(cluster_signals(["a", "b"], req, acc, baseline_stats(req, acc))["S12"].value)


def test_round_robin_relay_is_load_balanced_and_an_enterprise_is_not():
    rng = np.random.default_rng(7)
    rows, accts = [], []
    # 5 slots fed round-robin from one Poisson stream; every 3 days each slot's account is replaced
    stream_t = poisson_times(rng, T0, T0 + 12 * DAY, 1000)
    per: dict[str, list[int]] = {}
    for k, t in enumerate(stream_t):
        per.setdefault(f"rr{(t - T0) // (3 * DAY)}_{k % 5}", []).append(t)
    for a, times in per.items():
        rows += stream(a, times)
        accts.append({"account_id": a, "created_at": T0 - DAY, "org_id": f"org_{a}"})
    # an enterprise: 8 keys with very uneven use, office hours, one org
    for i, sessions in enumerate([6, 3, 2, 1.5, 1.2, 1.1, 1.05, 1.0]):
        rows += stream(f"key{i}", human_times(rng, 12, hours=(8, 18), sessions=sessions))
        accts.append({"account_id": f"key{i}", "created_at": T0 - 90 * DAY, "org_id": "org_corp"})
    req, acc = frame(rows), accounts(accts)
    base = baseline_stats(req, acc)
    lb = cluster_signals(list(per), req, acc, base)["S13"]
    corp = cluster_signals([f"key{i}" for i in range(8)], req, acc, base)["S13"]
    assert lb.value == 4.0 and evidence("S13", lb.value) == 1.0
    assert "Gini 0.0" in lb.detail and int(re.search(r"(\d+) handoffs", lb.detail).group(1)) >= 12  # of 15 relays
    assert corp.value <= 1.0 and evidence("S13", corp.value) == 0.0


# -- identity and infrastructure -------------------------------------------------------------------------


def test_signup_burst_from_one_prefix_vs_a_trickle():
    rng = np.random.default_rng(8)
    rows, accts = background(rng)
    net, slow = "203.0.113.0/24", "192.0.2.0/24"
    accts += [{"account_id": f"old{i}", "created_at": T0 - 200 * DAY + i * 50 * DAY, "signup_ip_prefix": net} for i in range(2)]
    accts += [{"account_id": f"b{i}", "created_at": T0 + 5 * DAY + i * 8 * MIN, "signup_ip_prefix": net} for i in range(15)]
    accts += [{"account_id": f"t{i}", "created_at": T0 - 45 * DAY + i * 3 * DAY, "signup_ip_prefix": slow} for i in range(15)]
    req, acc = frame(rows), accounts(accts)
    base = baseline_stats(req, acc)
    burst = cluster_signals([f"b{i}" for i in range(15)], req, acc, base)["S15"]
    trickle = cluster_signals([f"t{i}" for i in range(15)], req, acc, base)["S15"]
    assert burst.value == 15 and evidence("S15", burst.value) == 1.0
    assert net in burst.detail and f"signup_ip_prefix={net}" in burst.evidence
    assert trickle.value == 0.0


def test_card_shared_across_three_orgs_vs_one_company_card():
    rows, accts = [], []
    for i in range(6):
        accts.append({"account_id": f"s{i}", "created_at": T0, "org_id": f"org_{i % 3}", "payment_fingerprint": "pf_9a1"})
        accts.append({"account_id": f"c{i}", "created_at": T0, "org_id": "org_corp", "payment_fingerprint": "pf_corp",
                      "signup_ip_prefix": "185.46.212.0/24"})  # fmt: skip
        rows += stream(f"s{i}", [T0 + i * H], ip_prefix=f"10.0.{i}.0/24")
        rows += stream(f"c{i}", [T0 + i * H], ip_prefix="185.46.212.0/24")
    req, acc = frame(rows), accounts(accts)
    base = baseline_stats(req, acc)
    shared = cluster_signals([f"s{i}" for i in range(6)], req, acc, base)["S16"]
    corp = cluster_signals([f"c{i}" for i in range(6)], req, acc, base)["S16"]
    assert shared.value >= 1.0 and evidence("S16", shared.value) == 1.0
    assert "pf_9a1 on 6 of 6 members in 3 billing entities" in shared.detail
    assert shared.evidence[0] == "payment_fingerprint=pf_9a1"
    assert corp.value == 0.0  # one org's card and egress: key management, not a farm


def test_generated_email_names_vs_a_common_naming_style():
    accts = [{"account_id": f"g{i}", "created_at": T0, "email": f"{'qwerty'[i % 3:] + 'abcdef'[:i % 3]}{1000 + i}@outlook.com"}
             for i in range(10)]  # fmt: skip
    accts += [{"account_id": f"p{i}", "created_at": T0, "email": f"maria{i}.chen@gmail.com".replace(str(i), "")} for i in range(30)]
    acc = accounts(accts)
    req = frame(stream("g0", [T0]))
    base = baseline_stats(req, acc)
    gen = cluster_signals([f"g{i}" for i in range(10)], req, acc, base)["S17"]
    common = cluster_signals([f"p{i}" for i in range(10)], req, acc, base)["S17"]
    assert gen.value == 1.0 and r"[a-z]+\d{4}" in gen.detail
    assert common.value == 0.0  # first.last is everyone's pattern
    assert email_shape(pd.Series(["qwerty1234", "maria.chen", "s1234567"])).tolist() == ["a9999", "a.a", "a9999999"]


def test_proxy_region_mismatch_and_prefix_churn():
    proxied = stream("px", [T0 + k * H for k in range(40)], country="BR", ip_prefix=[f"177.{k}.1.0/24" for k in range(40)])
    home = stream("home", [T0 + k * H for k in range(40)], country="US", ip_prefix=["73.1.2.0/24", "174.3.9.0/24"] * 20)
    f = account_signals(frame(proxied + home), accounts([{"account_id": "px", "created_at": T0, "billing_country": "US"},
                                                         {"account_id": "home", "created_at": T0}]))  # fmt: skip
    assert f.loc["px", "S18"] == 1.0 and f.loc["px", "S18b"] == 1.0
    assert f.loc["home", "S18"] == 0.0 and f.loc["home", "S18b"] == 0.05


def test_cluster_moving_to_a_new_model_within_a_day():
    rng = np.random.default_rng(9)
    release = T0 + 10 * DAY
    rows, accts = background(rng)
    rows += stream("early_adopter", [release + k * MIN for k in range(5)], model="atlas-5")
    for i in range(6):
        times = poisson_times(rng, T0 + 5 * DAY, T0 + 15 * DAY, 30)
        rows += stream(f"m{i}", times, model=["atlas-5" if t >= release + H else "atlas-4" for t in times])
        accts.append({"account_id": f"m{i}", "created_at": T0})
    req, acc = frame(rows), accounts(accts)
    base = baseline_stats(req, acc)
    assert list(base["new_models"]) == ["atlas-5"]
    pivot = cluster_signals([f"m{i}" for i in range(6)], req, acc, base)["S8"]
    assert pivot.value > 0.9 and "atlas-5" in pivot.detail


# -- a legitimate look-alike -------------------------------------------------------------------------------


def test_class_behind_one_nat_hits_content_and_identity_but_not_timing_or_infrastructure():
    """A class of 30 behind the campus NAT, signing up the week the course starts, working on one
    assignment template in bursty human sessions. Its shared /24, signup burst, s1234567 addresses and
    shared template DO fire (content + identity): that is correct, and why the scorer needs
    corroboration from the timing and infrastructure families, which stay quiet, and visible negative
    evidence (one institutional email domain)."""
    rng = np.random.default_rng(10)
    rows, accts = background(rng)
    nat = "128.210.5.0/24"
    students = [f"s{i:02d}" for i in range(30)]
    for i, s in enumerate(students):
        created = T0 + DAY + 14 * H + int(rng.choice([0, 0, 0, 0, 1, 2, 5])) * DAY + int(rng.integers(0, 2 * H))
        times = [t for t in human_times(rng, 12, start=T0 + 8 * DAY, hours=(10, 23), sessions=1.5) if t > created]
        rows += stream(s, times, ip_prefix=nat, template_id=42, family_id=42, turns=[1, 2] * len(times))
        accts.append({"account_id": s, "created_at": created, "email": f"s{rng.integers(1_000_000, 9_999_999)}@northfield.edu",
                      "signup_ip_prefix": nat})  # fmt: skip
    req, acc = frame(rows), accounts(accts)
    base = baseline_stats(req, acc)
    f = account_signals(req, acc, baseline=base).loc[students]
    c = cluster_signals(students, req, acc, base)
    fired = {code for code, v in c.items() if evidence(code, v.value) > 0}
    fired |= {code for code in SIGNALS if code in f.columns and evidence(code, f[code].median()) > 0}
    assert {"S1", "S15", "S16", "S17"} <= fired
    assert {SIGNALS[code].family for code in fired} == {"content", "identity"}
    assert f["S10"].median() > 0.2 and f["S14"].isna().all()


def test_a_missing_column_disables_its_signals_instead_of_inventing_values():
    req = frame(stream("a", [T0 + k * H for k in range(40)]))[["account_id", "ts"]]
    acc = accounts([{"account_id": "a", "created_at": T0}])[["account_id"]]
    f = account_signals(req, acc)
    assert f.loc["a", ["S1", "S4", "S7", "S18", "S18b"]].isna().all()
    assert f.loc["a", "S10"] == pytest.approx(-1.0)  # timing needs only the timestamps
    c = cluster_signals(["a"], req, acc, baseline_stats(req, acc))
    assert all(math.isnan(v.value) and v.detail for v in c.values())


def test_settings_and_gates_come_from_the_config_and_typos_are_refused():
    req = frame(stream("a", [T0 + k * H for k in range(15)]))
    acc = accounts([{"account_id": "a", "created_at": T0}])
    assert math.isnan(account_signals(req, acc).loc["a", "S10"])
    assert account_signals(req, acc, {"S10": {"gate": 10}}).loc["a", "S10"] == pytest.approx(-1.0)
    assert account_signals(req, acc, {"signals": {"S10": {"gate": 10, "weight": 2.0}}}).loc["a", "S10"] < 0
    with pytest.raises(ValueError, match="t_sim_minute"):
        account_signals(req, acc, {"t_sim_minute": 5})
