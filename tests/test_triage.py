"""`farmhound triage` as an analyst runs it: on the shipped sample logs the planted farms come first
with readable reasons, look-alikes stay below high, results land in the store, and the config
decides the numbers."""

import csv
import io
import shutil
from pathlib import Path

import orjson
import pytest
from helpers import cli, cli_json, one, q

from farmhound.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_logs"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    """The shipped sample logs, ingested and triaged once for this module."""
    db = tmp_path_factory.mktemp("triage") / "sample.db"
    cli("ingest", SAMPLE, "--db", db)
    result = cli_json("triage", "--db", db, "--json", "--top", "50")
    return db, result


def labels() -> dict[str, dict]:
    with open(SAMPLE / "labels.csv", newline="") as f:
        return {r["account_id"]: r for r in csv.DictReader(f)}


def test_the_planted_farms_are_the_top_candidates(sample_db):
    _, result = sample_db
    truth = labels()
    flagged = [c for c in result["clusters"] if c["level"] in ("high", "critical")]
    assert flagged, "no cluster reached high"
    for c in flagged:
        farm_share = sum(truth[a]["label"] == "farm" for a in c["accounts"]) / len(c["accounts"])
        assert farm_share >= 0.9, (c["id"], c["level"], farm_share)
    farms = {r["farm_id"] for r in truth.values() if r["label"] == "farm"}
    reached = {truth[a]["farm_id"] for c in flagged for a in c["accounts"] if truth[a]["label"] == "farm"}
    assert reached == farms


def test_every_flagged_account_is_a_farm_member_reached_through_a_cluster(sample_db):
    _, result = sample_db
    truth = labels()
    flagged = [a for a in result["accounts"] if a["level"] in ("high", "critical")]
    assert all(a["cluster_id"] is not None for a in flagged)
    wrong = [a["account_id"] for a in flagged if truth[a["account_id"]]["label"] != "farm"]
    assert len(wrong) <= 0.03 * len(flagged), wrong
    farm_accounts = [a for a, r in truth.items() if r["label"] == "farm"]
    assert len(flagged) - len(wrong) >= 0.9 * len(farm_accounts)


def test_look_alike_populations_stay_below_high(sample_db):
    _, result = sample_db
    truth = labels()
    level = {a["account_id"]: a["level"] for a in result["accounts"]}
    for population in ("campus_nat", "enterprise", "saas", "eval_harness", "individual"):
        members = [a for a, r in truth.items() if r["population"] == population]
        high = [a for a in members if level.get(a) in ("high", "critical")]
        assert len(high) <= 0.01 * len(members), (population, high)


def test_reasons_name_signal_value_threshold_points_and_evidence(sample_db):
    _, result = sample_db
    top = result["clusters"][0]
    assert set(top) >= {"id", "score", "level", "accounts", "reasons"}
    r = top["reasons"][0]
    assert set(r) >= {"code", "name", "family", "value", "threshold", "points", "detail", "evidence"}
    families = {r["family"] for r in top["reasons"] if r["points"] > 0}
    assert len(families) >= 2  # a high cluster is corroborated by at least two families
    account = next(a for a in result["accounts"] if a["cluster_id"] == top["id"])
    assert set(account) == {"account_id", "score", "level", "cluster_id", "reasons"}


def test_results_are_in_the_store_stamped_with_the_config_hash(sample_db):
    db, result = sample_db
    with Store(db) as store:
        assert one(store, "SELECT count(*) FROM clusters") == len(q(store, "SELECT id FROM clusters"))
        assert store.info().templates > 0 and store.info().clusters > 0
        hashes = {h for (h,) in q(store, "SELECT DISTINCT config_hash FROM account_scores")}
        assert hashes == {result["config_hash"]}
        assert one(store, "SELECT config_hash FROM triage_runs ORDER BY id DESC LIMIT 1") == result["config_hash"]


def test_table_output_shows_farms_with_reasons(sample_db):
    db, _ = sample_db
    out = cli("triage", "--db", db, "--top", "3").output
    assert "Candidate farms" in out and ("critical" in out or "high" in out)
    assert "S" in out and "+" in out  # reason codes with their points


def test_a_config_override_changes_the_numbers_and_the_hash(sample_db, tmp_path):
    db, result = sample_db
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    strict = tmp_path / "strict.toml"
    strict.write_text("[scoring]\nhigh = 99.0\ncritical = 99.0\n")
    out = cli_json("triage", "--db", copy, "--json", "--config", strict)
    assert out["config_hash"] != result["config_hash"]
    assert not [a for a in out["accounts"] if a["level"] in ("high", "critical")]


@pytest.mark.parametrize("text, message", [
    ("[scoring]\nhihg = 1.0\n", "unknown setting 'scoring.hihg'"),
    ("[scoring]\nhigh = 'x'\n", "scoring.high must be float"),
    ("[scoring\n", "not valid TOML"),
])  # fmt: skip
def test_a_bad_config_is_a_usage_error_naming_the_setting(sample_db, tmp_path, text, message):
    db, _ = sample_db
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert message in cli("triage", "--db", db, "--config", path, expect=2).output


def test_csv_output_cannot_run_as_a_spreadsheet_formula(tmp_path):
    rows = [{"request_id": f"r{i}", "ts": 1_776_816_000 + i * 60, "account_id": "=HYPERLINK(\"http://x\")",
             "prompt": f"q {i}"} for i in range(3)]  # fmt: skip
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    cli("ingest", path, "--db", tmp_path / "s.db")
    out = cli("triage", "--db", tmp_path / "s.db", "--csv").output
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["account_id"].startswith("'=")


def test_triage_of_a_missing_or_empty_store_says_what_to_do(tmp_path):
    assert "no such store" in cli("triage", "--db", tmp_path / "none.db", expect=1).output
    Store(tmp_path / "empty.db").close()
    assert "holds no requests" in cli("triage", "--db", tmp_path / "empty.db", expect=1).output


def test_shipped_config_holds_every_default_of_the_code():
    """default_config.toml is what analysts edit: it must not drift from the code's defaults."""
    import dataclasses

    from farmhound.config import load_config
    from farmhound.signals import DEFAULT_SETTINGS, SIGNALS
    from farmhound.templates import TemplateConfig

    cfg = load_config()
    assert cfg["templates"] == {f.name: f.default for f in dataclasses.fields(TemplateConfig)}
    for key, value in DEFAULT_SETTINGS.items():
        assert cfg["signals"][key] == value, key
    for code, sig in SIGNALS.items():
        assert cfg["signals"][code] == {"notice": sig.notice, "strong": sig.strong, "weight": sig.weight,
                                        "gate": sig.gate.minimum}, code  # fmt: skip


T_CLASS = 1_777_000_000  # 2026-04-24, a Friday


def _class_and_farm_rows():
    """A class of 24 students behind one campus NAT (signed up within an hour, one assignment
    template, human rhythm: a lab slot, then evenings) and a farm of 24 accounts (residential
    proxies, shared cards, one CoT template, machine timing round the clock)."""
    import random

    rng = random.Random(5)
    requests, accounts = [], []
    topics = ["linked lists", "binary search", "hash maps", "recursion", "sorting", "graphs", "queues"]
    for s in range(24):
        acct = f"student{s:02d}"
        accounts.append({"account_id": acct, "created_at": (T_CLASS + rng.randrange(3600)) * 1000,
                         "email": f"s{1000000 + s * 7}@cs.example.edu", "signup_ip": "171.64.9.20",
                         "payment_fingerprint": "", "org_id": "", "tier": "free", "verified": "false"})  # fmt: skip
        for day in range(14):
            for _ in range(rng.randrange(0, 5) if day % 7 < 5 else 0):
                hour = rng.choice([14, 15, 19, 20, 21, 22])
                ts = T_CLASS + day * 86400 + hour * 3600 + rng.randrange(3600)
                requests.append({"ts": ts, "account_id": acct, "ip": f"171.64.9.{rng.randrange(2, 250)}",
                                 "prompt": f"Homework 3: explain {rng.choice(topics)} with an example in Python, "
                                           f"question {rng.randrange(1, 9)}"})  # fmt: skip
    cards = ["pf_farm_a", "pf_farm_b", "pf_farm_c"]
    for f in range(24):
        acct = f"bot{f:02d}"
        accounts.append({"account_id": acct, "created_at": (T_CLASS + f * 600) * 1000,
                         "email": f"user{rng.randrange(10**6)}@gmail.com", "signup_ip": f"45.137.21.{f + 2}",
                         "payment_fingerprint": cards[f % 3], "org_id": f"org{f}", "tier": "build",
                         "verified": "false"})  # fmt: skip
        ts = T_CLASS + 7200 + f * 37
        prefixes = [f"{rng.randrange(40, 200)}.{rng.randrange(256)}" for _ in range(6)]
        while ts < T_CLASS + 5 * 86400:
            ts += int(rng.gauss(3300, 200))
            requests.append({"ts": ts, "account_id": acct, "ip": f"{rng.choice(prefixes)}.{rng.randrange(256)}.7",
                             "prompt": f"Solve the following task. Think step by step and show your full "
                                       f"reasoning before the answer. Task #{rng.randrange(10**6)}: implement "
                                       f"{rng.choice(topics)} in Rust."})  # fmt: skip
    for i, r in enumerate(requests):
        r["request_id"] = f"q{i}"
    return requests, accounts


def test_a_class_behind_one_nat_stays_below_high_while_a_farm_is_flagged(tmp_path):
    from helpers import write_csv, write_jsonl

    requests, accounts = _class_and_farm_rows()
    db = tmp_path / "s.db"
    cli("ingest", write_jsonl(tmp_path / "r.jsonl", requests), write_csv(tmp_path / "a.csv", accounts), "--db", db)
    out = cli_json("triage", "--db", db, "--json")
    level = {a["account_id"]: a["level"] for a in out["accounts"]}
    students = [a for a in level if a.startswith("student")]
    bots = [a for a in level if a.startswith("bot")]
    assert not [a for a in students if level[a] in ("high", "critical")]
    assert all(level[a] in ("high", "critical") for a in bots)
    # the class's cluster shows the institutional domain as a visible deduction
    student_cluster = next(a["cluster_id"] for a in out["accounts"] if a["account_id"] == students[0])
    reasons = next(c["reasons"] for c in out["clusters"] if c["id"] == student_cluster)
    assert [r["code"] for r in reasons if r["points"] < 0] == ["N2"]


def test_a_schema_1_store_is_migrated_on_open_and_keeps_its_rows(tmp_path):
    import sqlite3

    from farmhound.store import DERIVED_TABLES, SCHEMA_VERSION

    db = tmp_path / "old.db"
    cli("ingest", SAMPLE / "accounts.csv", "--db", db)
    c = sqlite3.connect(db)  # as a farmhound of schema 1 left it: no derived tables
    for table in (*DERIVED_TABLES, "triage_runs", "tag_events", "tags", "case_events", "case_items", "cases"):
        c.execute(f"DROP TABLE {table}")
    c.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    c.commit()
    c.close()
    with Store(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.info().account_records == 504 and store.info().templates == 0


def test_accounts_linked_only_by_their_records_do_not_break_triage(tmp_path):
    from helpers import write_csv, write_jsonl

    accounts = [{"account_id": f"idle{i}", "payment_fingerprint": "pf_shared", "email": f"x{i}@example.org"}
                for i in range(3)]  # fmt: skip
    requests = [{"request_id": f"r{i}", "ts": T_CLASS + i, "account_id": "busy", "prompt": f"hello {i}"} for i in range(5)]
    db = tmp_path / "s.db"
    cli("ingest", write_jsonl(tmp_path / "r.jsonl", requests), write_csv(tmp_path / "a.csv", accounts), "--db", db)
    out = cli_json("triage", "--db", db, "--json")
    [cluster] = out["clusters"]
    assert sorted(cluster["accounts"]) == ["idle0", "idle1", "idle2"] and cluster["links"] == {"payment": 2}


def test_an_org_carried_by_requests_counts_as_the_accounts_billing_org(tmp_path):
    """Exports carry the billing entity on each request (a LiteLLM team, a Bedrock AWS account):
    one customer's keys that share a card are deducted as one org, as with account records."""
    from helpers import write_csv, write_jsonl

    accounts = [{"account_id": f"key{i}", "payment_fingerprint": "pf_corp", "email": f"k{i}@gmail.com"}
                for i in range(4)]  # fmt: skip
    requests = [{"request_id": f"r{k}", "ts": T_CLASS + k * 97, "account_id": f"key{k % 4}", "org_id": "team_acme",
                 "prompt": f"summarise ticket {k}"} for k in range(40)]  # fmt: skip
    db = tmp_path / "s.db"
    cli("ingest", write_jsonl(tmp_path / "r.jsonl", requests), write_csv(tmp_path / "a.csv", accounts), "--db", db)
    [cluster] = cli_json("triage", "--db", db, "--json")["clusters"]
    n1 = [r for r in cluster["reasons"] if r["code"] == "N1"]
    assert n1 and "team_acme" in n1[0]["detail"]
