"""The case file's STIX 2.1 bundle: parses back, carries its TLP marking, hides raw identifiers."""

import hashlib
import json

import pytest
import stix2

from farmhound.casefile.model import CaseData, ClusterEntry, Member, TemplateEntry
from farmhound.casefile.stix import TLP2, build_bundle, bundle_json

FINGERPRINT = "fp_card_4242_raw_secret"
HOSTILE = '"}]\u0000<script>alert(1)</script>\u202e\x1b[31m'
REDACTED_EMAIL = "sha256:" + "ab" * 32
REDACTED_IP = "sha256:" + "cd" * 32
# Objects that are neither SDOs nor SCOs: not themselves marked.
META = {"marking-definition", "extension-definition"}


def make_case(tlp="amber", **changes) -> CaseData:
    members = [
        Member(
            account_id="acct_1",
            via="cluster 4 (run 7)",
            email="a1@mail.test",
            payment_fingerprint=FINGERPRINT,
            card_bin="424242",
            signup_ip="198.51.100.7",
            created_at="2026-04-30T08:00:00Z",
            cluster_id=4,
            score=7.5,
            level="high",
            reasons=["S3 +2.0", "L1 +1.5"],
            tags=["suspected"],
            requests=120,
            ips=["198.51.100.7", "203.0.113.9", "203.0.113.9"],
            user_agents=["python-httpx/0.27"],
        ),
        Member(
            account_id="acct_2",
            via="cluster 4 (run 7)",
            email="a2@mail.test",
            payment_fingerprint=FINGERPRINT,
            created_at="not a time",
            cluster_id=4,
            score=6.0,
            level="medium",
            requests=80,
            ips=["2001:db8::1", "203.0.113.9", "not-an-ip"],
        ),
        Member(
            account_id="acct_3",
            via="account",
            email=REDACTED_EMAIL,
            requests=5,
            ips=[REDACTED_IP],
        ),
        Member(account_id=HOSTILE, via="tagged confirmed", email=HOSTILE, user_agents=[HOSTILE]),
    ]
    cluster = ClusterEntry(
        id=4,
        run=7,
        score=7.0,
        level="high",
        size=2,
        links={"payment": 1, "ip": 1},
        families={"payment": 2.0},
        reasons=[{"code": "S3", "name": "shared card", "points": 2.0}],
        current=True,
    )
    templates = [
        TemplateEntry(
            pattern="Explain step by step: <*>",
            pattern_sha256="1" * 64,
            template_id=3,
            accounts=3,
            requests=190,
            member_accounts=2,
            member_requests=180,
            cot_share=0.9,
            examples=["Explain step by step: gravity"],
        ),
        TemplateEntry(
            pattern=HOSTILE + " <*>",
            pattern_sha256="2" * 64,
            template_id=None,
            accounts=40,
            requests=900,
            member_accounts=1,
            member_requests=10,
            cot_share=None,
            examples=[],
        ),
    ]
    data = CaseData(
        name="farm-2026-05 " + HOSTILE,
        status="open",
        created_at="2026-05-01T09:00:00Z",
        created_by="ana",
        description="Card-sharing farm.",
        notes=[],
        generated_at="2026-05-02T12:00:00Z",
        analyst="ana",
        tool_version="0.1.0",
        tlp=tlp,
        redacted=[],
        triage={"run": 7, "config_hash": "c0ffee"},
        members=members,
        clusters=[cluster],
        templates=templates,
        timeline=[],
        signups=[],
        samples=[],
        sources=[],
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


def parsed(data: CaseData) -> stix2.v21.Bundle:
    return stix2.parse(bundle_json(data), allow_custom=True)


def by_type(bundle) -> dict[str, list]:
    out: dict[str, list] = {}
    for obj in bundle.objects:
        out.setdefault(obj.type, []).append(obj)
    return out


def farmhound_ext(obj) -> dict:
    [ext] = obj.extensions.values()
    return ext


def test_bundle_parses_back_with_every_object_type_and_count():
    bundle = parsed(make_case())
    assert isinstance(bundle, stix2.v21.Bundle)
    objects = by_type(bundle)
    assert {t: len(v) for t, v in objects.items()} == {
        "marking-definition": 1,
        "identity": 1,
        "extension-definition": 1,
        "user-account": 4,
        "ipv4-addr": 2,  # 198.51.100.7 (requests and signup) and 203.0.113.9, once each
        "ipv6-addr": 1,
        "email-addr": 3,  # the redacted one is not an address
        "indicator": 2,
        "grouping": 1,
    }
    assert {a.value for a in objects["ipv4-addr"]} == {"198.51.100.7", "203.0.113.9"}
    assert objects["ipv6-addr"][0].value == "2001:db8::1"
    assert {u.user_id for u in objects["user-account"]} == {"acct_1", "acct_2", "acct_3", HOSTILE}
    # Nothing custom: the strict parser accepts it too.
    stix2.parse(bundle_json(make_case()))


def test_accounts_carry_the_extension_and_link_their_addresses():
    bundle = parsed(make_case())
    ids = {o.id: o for o in bundle.objects}
    accounts = {u.user_id: u for u in by_type(bundle)["user-account"]}
    ext_def = by_type(bundle)["extension-definition"][0]

    one = accounts["acct_1"]
    ext = one.extensions[ext_def.id]
    assert ext["extension_type"] == "property-extension"
    assert ext["payment_fingerprint_sha256"] == hashlib.sha256(FINGERPRINT.encode()).hexdigest()
    assert (ext["card_bin"], ext["score"], ext["level"], ext["cluster_id"]) == ("424242", 7.5, "high", 4)
    assert ext["reasons"] == ["S3 +2.0", "L1 +1.5"] and ext["tags"] == ["suspected"]
    assert [ids[r].value for r in ext["ip_refs"]] == ["198.51.100.7", "203.0.113.9"]
    assert ids[ext["email_ref"]].value == "a1@mail.test"
    assert str(one.account_created).startswith("2026-04-30 08:00:00")

    two = accounts["acct_2"]
    assert "account_created" not in two
    assert two.extensions[ext_def.id]["created_at"] == "not a time"

    three = accounts["acct_3"].extensions[ext_def.id]
    assert three["email_sha256"] == REDACTED_EMAIL.removeprefix("sha256:")
    assert three["ips_sha256"] == [REDACTED_IP.removeprefix("sha256:")]
    assert "email_ref" not in three and "ip_refs" not in three


def test_no_raw_payment_fingerprint_in_the_json():
    text = bundle_json(make_case())
    assert FINGERPRINT not in text
    assert hashlib.sha256(FINGERPRINT.encode()).hexdigest() in text


@pytest.mark.parametrize("tlp", ["clear", "green", "amber", "amber+strict", "red"])
def test_every_sdo_and_sco_carries_the_tlp_marking(tlp):
    bundle = parsed(make_case(tlp=tlp))
    marking_id, name = TLP2[tlp]
    [marking] = by_type(bundle)["marking-definition"]
    assert (marking.id, marking.name) == (marking_id, name)
    for obj in bundle.objects:
        if obj.type not in META:
            assert obj.object_marking_refs == [marking_id], obj.type


def test_white_means_clear_and_unknown_levels_are_refused():
    assert by_type(parsed(make_case(tlp="TLP:WHITE")))["marking-definition"][0].name == "TLP:CLEAR"
    with pytest.raises(ValueError, match="unknown TLP level"):
        build_bundle(make_case(tlp="purple"))


def test_grouping_refers_to_objects_in_the_bundle():
    bundle = parsed(make_case())
    ids = {o.id for o in bundle.objects}
    [grouping] = by_type(bundle)["grouping"]
    assert grouping.context == "suspicious-activity"
    assert grouping.name == make_case().name
    assert set(grouping.object_refs) <= ids
    wanted = {o.id for o in bundle.objects if o.type not in META | {"identity", "grouping"}}
    assert set(grouping.object_refs) == wanted
    assert "4 accounts" in grouping.description
    identity = by_type(bundle)["identity"][0]
    for obj in bundle.objects:
        if obj.type in {"grouping", "indicator", "extension-definition"}:
            assert obj.created_by_ref == identity.id


def test_indicators_hold_the_templates():
    indicators = {farmhound_ext(i)["pattern_sha256"]: i for i in by_type(parsed(make_case()))["indicator"]}
    farm, shared = indicators["1" * 64], indicators["2" * 64]
    assert farm.pattern_type == "farmhound-template"
    assert farm.pattern == "Explain step by step: <*>"
    assert farm.indicator_types == ["malicious-activity"]  # 2 of its 3 senders are members
    assert shared.indicator_types == ["anomalous-activity"]  # 1 of 40
    ext = farmhound_ext(farm)
    assert (ext["member_accounts"], ext["accounts"], ext["requests"], ext["cot_share"]) == (2, 3, 190, 0.9)
    assert "cot_share" not in farmhound_ext(shared)
    assert str(farm.valid_from).startswith("2026-05-01 09:00:00")


def test_building_twice_gives_identical_json():
    assert bundle_json(make_case()) == bundle_json(make_case())


def test_ids_stay_across_exports_and_versions_move_on():
    first = parsed(make_case())
    later = parsed(make_case(generated_at="2026-06-01T00:00:00Z"))
    assert [o.id for o in first.objects] == [o.id for o in later.objects]
    assert first.id != later.id
    [g1], [g2] = by_type(first)["grouping"], by_type(later)["grouping"]
    assert g1.created == g2.created and g2.modified > g1.modified


def test_hostile_strings_round_trip_as_data():
    data = make_case()
    text = bundle_json(data)
    assert text.isascii()
    assert "<script>" in json.loads(text)["objects"][-1]["name"]  # data, verbatim, not markup
    bundle = stix2.parse(text, allow_custom=True)
    objects = by_type(bundle)
    assert HOSTILE in {u.user_id for u in objects["user-account"]}
    assert HOSTILE in {e.value for e in objects["email-addr"]}
    assert HOSTILE + " <*>" in {i.pattern for i in objects["indicator"]}
    assert objects["grouping"][0].name == data.name
    hostile = next(u for u in objects["user-account"] if u.user_id == HOSTILE)
    assert farmhound_ext(hostile)["user_agents"] == [HOSTILE]


def test_a_case_without_members_or_templates_is_still_valid():
    data = make_case(members=[], templates=[], clusters=[])
    bundle = parsed(data)
    [grouping] = by_type(bundle)["grouping"]
    assert set(grouping.object_refs) <= {o.id for o in bundle.objects}


def test_the_producer_is_named_by_the_caller():
    bundle = build_bundle(make_case(), identity_name="Example Trust & Safety")
    [identity] = by_type(bundle)["identity"]
    assert (identity.name, identity.identity_class) == ("Example Trust & Safety", "organization")
    assert by_type(bundle)["grouping"][0].created_by_ref == identity.id
