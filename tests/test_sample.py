"""The planted-farm sample generator: deterministic, consistent, and shaped like its populations."""
import csv
import ipaddress
from collections import Counter, defaultdict
from datetime import datetime

import orjson
import pytest

from farmhound.sample import POPULATIONS, generate

FILES = ("requests.jsonl", "accounts.csv", "labels.csv")
REQUEST_KEYS = {"request_id", "ts", "account_id", "api_key_id", "org_id", "ip", "user_agent",
                "country", "model", "messages", "response", "input_tokens", "output_tokens",
                "max_tokens", "temperature", "latency_ms", "status"}


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    summary = generate(out, scale=1.0, seed=7)
    requests = [orjson.loads(line) for line in (out / "requests.jsonl").read_bytes().splitlines()]
    accounts = {a["account_id"]: a for a in _read_csv(out / "accounts.csv")}
    labels = {row["account_id"]: row for row in _read_csv(out / "labels.csv")}
    return summary, requests, accounts, labels


def _members(labels, population):
    return {a for a, row in labels.items() if row["population"] == population}


def _prefix24(ip):
    return ip.rsplit(".", 1)[0]


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    generate(tmp_path / "a", scale=0.2, seed=3)
    generate(tmp_path / "b", scale=0.2, seed=3)
    generate(tmp_path / "c", scale=0.2, seed=4)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = (tmp_path / "c" / "requests.jsonl").read_bytes()
    assert (tmp_path / "a" / "requests.jsonl").read_bytes() != other


def test_summary_matches_the_files(sample):
    summary, requests, accounts, labels = sample
    assert [p.name for p in summary.files] == list(FILES)
    assert summary.requests == len(requests) and summary.accounts == len(accounts) == len(labels)
    assert 500 <= summary.accounts <= 800 and 12_000 <= summary.requests <= 25_000
    assert list(summary.populations) == list(POPULATIONS)
    assert Counter(row["population"] for row in labels.values()) == summary.populations


def test_every_population_is_present_with_a_sensible_size(sample):
    summary, requests, _, labels = sample
    sizes = summary.populations
    assert sizes["individual"] > sum(sizes.values()) / 2          # most tenants are ordinary people
    assert 1 <= sizes["saas"] <= 10 and 1 <= sizes["eval_harness"] <= 10
    assert 25 <= sizes["campus_nat"] <= 35 and 35 <= sizes["enterprise"] <= 45
    for farm in ("farm_crude", "farm_rotating", "farm_careful"):
        assert sizes[farm] >= 20
    active = Counter(labels[r["account_id"]]["population"] for r in requests)
    assert set(active) == set(POPULATIONS)


def test_requests_reference_known_accounts_and_are_sorted(sample):
    _, requests, accounts, labels = sample
    assert set(accounts) == set(labels)
    assert {r["account_id"] for r in requests} <= set(accounts)
    assert len({r["request_id"] for r in requests}) == len(requests)
    stamps = [r["ts"] for r in requests]
    assert all(ts.endswith("Z") and len(ts) == 24 for ts in stamps)        # millisecond precision
    parsed = [datetime.fromisoformat(ts.replace("Z", "+00:00")) for ts in stamps]
    assert parsed == sorted(parsed)
    assert (parsed[-1] - parsed[0]).days <= 30


def test_request_records_have_the_canonical_shape(sample):
    _, requests, _, _ = sample
    assert all(set(r) == REQUEST_KEYS for r in requests)
    assert {r["status"] for r in requests} == {"ok", "error", "rate_limited"}
    assert Counter(r["status"] for r in requests)["ok"] > 0.95 * len(requests)
    for r in requests:
        ipaddress.ip_address(r["ip"])
        assert r["messages"][-1]["role"] == "user"
        assert {m["role"] for m in r["messages"]} <= {"system", "user", "assistant"}
    assert any(isinstance(r["messages"][-1]["content"], list) for r in requests)   # content parts
    assert any(r["messages"][0]["role"] == "system" for r in requests)
    assert any(len(r["messages"]) > 2 and r["messages"][1]["role"] == "assistant" for r in requests)
    assert any(":" in r["ip"] for r in requests)                                   # some IPv6


def test_account_records_and_labels(sample):
    _, _, accounts, labels = sample
    for a in accounts.values():
        assert a["created_at"].endswith("Z") and a["verified"] in {"true", "false"}
        assert a["tier"] in {"free", "build", "scale", "enterprise"}
    assert len({a["email"] for a in accounts.values()}) == len(accounts)
    for row in labels.values():
        is_farm = row["population"].startswith("farm_")
        assert row["label"] == ("farm" if is_farm else "legit")
        assert bool(row["farm_id"]) == is_farm


def test_files_stay_small_and_scale_shrinks_the_tenant_base(sample, tmp_path):
    summary, _, _, _ = sample
    assert sum(p.stat().st_size for p in summary.files) < 10_000_000
    small = generate(tmp_path, scale=0.2, seed=7)
    assert 0.12 * summary.accounts <= small.accounts <= 0.3 * summary.accounts
    assert small.requests < 0.35 * summary.requests
    assert all(n >= 1 for n in small.populations.values())


def test_crude_farm_shares_one_prefix_and_one_card(sample):
    _, requests, accounts, labels = sample
    crude = _members(labels, "farm_crude")
    assert len({_prefix24(r["ip"]) for r in requests if r["account_id"] in crude}) == 1
    assert len({_prefix24(accounts[a]["signup_ip"]) for a in crude}) == 1
    assert len({accounts[a]["payment_fingerprint"] for a in crude}) == 1
    assert len({r["user_agent"] for r in requests if r["account_id"] in crude}) == 1


def test_careful_farm_stays_under_the_daily_limit_from_many_prefixes(sample):
    _, requests, accounts, labels = sample
    careful = _members(labels, "farm_careful")
    per_day = Counter((r["account_id"], r["ts"][:10]) for r in requests if r["account_id"] in careful)
    assert max(per_day.values()) <= 26
    prefixes = defaultdict(set)
    for r in requests:
        if r["account_id"] in careful:
            prefixes[r["account_id"]].add(_prefix24(r["ip"]))
    assert len(set().union(*prefixes.values())) >= 100
    assert sorted(len(p) for p in prefixes.values())[len(prefixes) // 2] >= 10
    bins = Counter(accounts[a]["card_bin"] for a in careful)                # many cards, shared BIN
    assert bins.most_common(1)[0][1] >= 0.75 * len(careful)
    assert Counter(accounts[a]["payment_fingerprint"] for a in careful).most_common(1)[0][1] >= 3


def test_campus_class_shares_one_nat_ip_but_is_legit(sample):
    _, requests, accounts, labels = sample
    campus = _members(labels, "campus_nat")
    nat = {accounts[a]["signup_ip"] for a in campus}
    assert len(nat) == 1
    assert len({accounts[a]["email"].split("@")[1] for a in campus}) == 1
    campus_requests = [r for r in requests if r["account_id"] in campus]
    on_nat = [r for r in campus_requests if r["ip"] in nat]
    assert len(on_nat) > 0.6 * len(campus_requests)                       # the odd request from home
    active = {r["account_id"] for r in campus_requests}
    assert len({r["account_id"] for r in on_nat}) >= 0.9 * len(active)
    assert {labels[a]["label"] for a in campus} == {"legit"}


def test_enterprise_is_one_verified_org_on_one_card(sample):
    _, _, accounts, labels = sample
    members = [accounts[a] for a in _members(labels, "enterprise")]
    assert len({a["org_id"] for a in members}) == 1 and len({a["payment_fingerprint"] for a in members}) == 1
    assert {a["verified"] for a in members} == {"true"}
    assert {labels[a["account_id"]]["label"] for a in members} == {"legit"}
