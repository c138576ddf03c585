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
