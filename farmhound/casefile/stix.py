"""The case file's STIX 2.1 bundle (`indicators.json`): a case, for sharing with other organisations.

Built with the `stix2` library from one `CaseData` (already redacted), it holds:

- the producer's `identity` (`created_by_ref` of every SDO);
- the TLP marking named by `data.tlp`, referenced by every SDO and SCO (see "TLP" below);
- an `extension-definition` for farmhound's property extension, which carries what STIX has no
  property for (scores, reason codes, hashed payment fingerprints, ...);
- one `user-account` per member, an `ipv4-addr`/`ipv6-addr` per distinct IP and an `email-addr` per
  distinct email; redacted values (`sha256:<hex>`) are not addresses, so their hashes go in the
  account's extension instead;
- one `indicator` per prompt template (`pattern_type` "farmhound-template", the pattern as text);
- a `grouping` (context "suspicious-activity") named after the case that refers to all of these.

Ids are derived, never random: SCOs get the spec's UUIDv5 ids from their id-contributing properties
(the library does it), SDOs a UUIDv5 over a farmhound namespace, the case name and the object's key.
So exporting a case again gives the same ids; `modified` is `data.generated_at` and `created` the
case's creation time, so a later export is a newer version of the same objects.

TLP: farmhound's levels are TLP 2.0 (clear, green, amber, amber+strict, red). `stix2` ships only the
TLP 1.0 marking definitions (white, green, amber, red) and the STIX 2.1 specification predefines only
those; TLP 2.0 is defined by the OASIS CTI TC in `cti-stix-common-objects`
(`extension-definition-specifications/tlp-2.0`) as fixed marking definitions carrying the extension
`extension-definition--60a3c5c5-...`. Every level is marked with that published TLP 2.0 object (same
id, created time and content), included in the bundle since it is not predefined. A TLP 1.0 marking is
not added beside it: amber+strict has no TLP 1.0 equivalent, and two TLP markings on one object invite
a consumer to pick the wrong one.

Attacker-written strings (account ids, emails, user agents, template text) stay verbatim: they are
JSON string values, and the serializer escapes quotes, control characters and non-ASCII (`\\uXXXX`),
so the output is plain ASCII.

Not here: redaction (`redact.py`), writing the file (`export.py`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import uuid
from datetime import UTC, datetime

from stix2 import v21
from stix2.utils import parse_into_datetime

from farmhound.casefile.model import CaseData, Member, TemplateEntry

# Every SDO id is a UUIDv5 in this namespace.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://farmhound.invalid/stix")
EXTENSION_VERSION = "1.0"
REDACTED_PREFIX = "sha256:"
# Created time of the producer's identity, which outlives any one case.
IDENTITY_CREATED = "2020-01-01T00:00:00.000Z"
# Share of a template's platform-wide senders that must be case members for it to indicate the farm
# ("malicious-activity") rather than a pattern the farm shares with ordinary users ("anomalous-activity").
MALICIOUS_MEMBER_SHARE = 0.5

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
# As published by OASIS (cti-stix-common-objects, tlp-2.0): marking-definition id and name per level.
TLP2 = {
    "clear": ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"),
    "green": ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN"),
    "amber": ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER"),
    "amber+strict": ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT"),
    "red": ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED"),
}

_SCHEMA = """\
farmhound case properties (property-extension), version 1.0. All properties are optional.
On user-account: payment_fingerprint_sha256 (hex SHA-256 of the payment fingerprint), card_bin,
billing_country, email_domain, email_ref (the email-addr) or email_sha256 (the redacted email: hex
SHA-256 of the lowercased address), ip_refs (ipv4-addr/ipv6-addr it sent requests from, most used
first), ips_sha256 (redacted IPs: hex SHA-256 of the canonical address), signup_ip_ref or
signup_ip_sha256, created_at (a signup time that is not a valid timestamp), score (float), level
(low|medium|high|critical), cluster_id (int, in the producer's latest triage run), reasons (reason
codes with points, e.g. "S3 +2.0"), tags, requests (int), first_seen, last_seen, user_agents.
On indicator (pattern_type farmhound-template: a prompt template, volatile parts as <*>):
pattern_sha256, accounts and requests (platform-wide), member_accounts and member_requests (in the
case), cot_share (share of uses asking for reasoning traces), added (added to the case by hand).
On grouping: case_status, tlp, redacted, tool_version, triage_run, triage_config_hash, members,
requests, clusters ([{id, run, score, level, size, links, reasons}])."""


def tlp_marking(level: str) -> v21.MarkingDefinition:
    """The published TLP 2.0 marking definition for `level` (clear|green|amber|amber+strict|red).

    "white" is accepted as the TLP 1.0 name of clear; a "TLP:" prefix and case are ignored.
    """
    key = level.strip().lower().removeprefix("tlp:")
    key = "clear" if key == "white" else key
    if key not in TLP2:
        raise ValueError(f"unknown TLP level {level!r}: choose from {', '.join(TLP2)}")
    marking_id, name = TLP2[key]
    return v21.MarkingDefinition(
        id=marking_id,
        created=TLP2_CREATED,
        name=name,
        extensions={TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": key}},
    )


def build_bundle(data: CaseData, identity_name: str = "farmhound") -> v21.Bundle:
    """The case as a STIX 2.1 bundle.

    Args:
        data: the case, after redaction.
        identity_name: the producer, named by the `identity` every SDO is created by.

    Returns:
        A `stix2.v21.Bundle`; the same `data` always gives the same bundle.
    """
    marking = tlp_marking(data.tlp)
    marks = [marking.id]
    modified = _timestamp(data.generated_at)
    if modified is None:
        raise ValueError(f"generated_at is not a timestamp: {data.generated_at!r}")
    created = min(_timestamp(data.created_at) or modified, modified)

    identity = v21.Identity(
        id="identity--" + _uuid("identity", identity_name),
        name=identity_name,
        identity_class="organization",
        created=IDENTITY_CREATED,
        modified=max(modified, parse_into_datetime(IDENTITY_CREATED)),
        object_marking_refs=marks,
    )
    extension = v21.ExtensionDefinition(
        id="extension-definition--" + _uuid("extension-definition", identity_name, EXTENSION_VERSION),
        created_by_ref=identity.id,
        created=IDENTITY_CREATED,
        modified=IDENTITY_CREATED,
        name="farmhound case properties",
        description="Scores, reason codes and hashed identifiers of accounts and prompt templates "
        "in a farmhound case (suspected distillation farm).",
        schema=_SCHEMA,
        version=EXTENSION_VERSION,
        extension_types=["property-extension"],
    )

    accounts, addresses, emails = _observables(data.members, extension.id, marks)
    indicators = [
        _indicator(data, t, extension.id, identity.id, marks, created, modified) for t in _unique_templates(data)
    ]
    observables = [*accounts, *addresses.values(), *emails.values()]
    grouping = v21.Grouping(
        id="grouping--" + _uuid("grouping", data.name),
        created_by_ref=identity.id,
        created=created,
        modified=modified,
        name=data.name,
        description=_summary(data, len(accounts), len(addresses), len(emails), len(indicators)),
        context="suspicious-activity",
        object_refs=[o.id for o in [*observables, *indicators]] or [identity.id],
        object_marking_refs=marks,
        extensions={extension.id: _grouping_extension(data)},
    )
    return _bundle(
        "bundle--" + _uuid("bundle", data.name, data.generated_at),
        [marking, identity, extension],
        observables,
        [*indicators, grouping],
    )


def bundle_json(data: CaseData, identity_name: str = "farmhound") -> str:
    """`build_bundle(data)` as indented JSON (ASCII; properties in the specification's order)."""
    # Not `serialize(pretty=True)`: its key ordering searches the whole bundle for every key, which is
    # quadratic (minutes for 20,000 objects). The library already keeps each object's properties in
    # the specification's order, so plain indentation gives the same layout.
    return build_bundle(data, identity_name).serialize(indent=4, separators=(",", ": "))


def _bundle(bundle_id: str, head: list, observables: list, tail: list) -> v21.Bundle:
    """A bundle of `head + observables + tail`, without validating the observables twice.

    `Bundle` accepts SDOs, SROs and markings as they are, but turns every SCO back into a dict and
    parses it again (its object property does not recognise them), which doubled the time for a large
    case (10,000 members: 17 s instead of 9 s). The SCOs were validated when they were built, so the
    bundle is made from the rest and they are placed in its `objects` list afterwards.
    """
    bundle = v21.Bundle(id=bundle_id, objects=[*head, *tail])
    objects = bundle.get("objects")
    if not isinstance(objects, list):  # a future stix2 that stores them otherwise: the slow, sure way
        return v21.Bundle(id=bundle_id, objects=[*head, *observables, *tail])
    objects[len(head) : len(head)] = observables
    return bundle


def _uuid(*key: str) -> str:
    # JSON-encoding the parts keeps the key unambiguous whatever the case name contains.
    return str(uuid.uuid5(NAMESPACE, json.dumps(key)))


def _observables(members: list[Member], ext_id: str, marks: list[str]):
    """User accounts, IP addresses by value and emails by value; one pass over the members."""
    accounts: list[v21.UserAccount] = []
    addresses: dict[str, v21.IPv4Address | v21.IPv6Address] = {}
    emails: dict[str, v21.EmailAddress] = {}
    seen: set[str] = set()

    def address(value: str | None) -> tuple[str | None, str | None]:
        """(SCO id, None) for an IP, (None, hash) for a redacted one, (None, None) otherwise."""
        if not value:
            return None, None
        if value.startswith(REDACTED_PREFIX):
            return None, value.removeprefix(REDACTED_PREFIX)
        try:
            ip = ipaddress.ip_address(value.strip())
        except ValueError:
            return None, None  # not an address (the store keeps whatever the log said)
        text = str(ip)
        if text not in addresses:
            cls = v21.IPv4Address if ip.version == 4 else v21.IPv6Address
            addresses[text] = cls(value=text, object_marking_refs=marks)
        return addresses[text].id, None

    for m in members:
        if m.account_id in seen:
            continue
        seen.add(m.account_id)
        ext: dict = {"extension_type": "property-extension"}
        if m.payment_fingerprint is not None:
            ext["payment_fingerprint_sha256"] = _sha256(m.payment_fingerprint)
        _put(ext, "card_bin", m.card_bin)
        _put(ext, "billing_country", m.billing_country)
        _put(ext, "email_domain", m.email_domain)
        if m.email and m.email.startswith(REDACTED_PREFIX):
            ext["email_sha256"] = m.email.removeprefix(REDACTED_PREFIX)
        elif m.email:
            if m.email not in emails:
                emails[m.email] = v21.EmailAddress(value=m.email, object_marking_refs=marks)
            ext["email_ref"] = emails[m.email].id
        refs, hashes = [], []
        for value in dict.fromkeys(m.ips):
            ref, digest = address(value)
            if ref and ref not in refs:
                refs.append(ref)
            if digest and digest not in hashes:
                hashes.append(digest)
        if refs:
            ext["ip_refs"] = refs
        if hashes:
            ext["ips_sha256"] = hashes
        ref, digest = address(m.signup_ip)
        _put(ext, "signup_ip_ref", ref)
        _put(ext, "signup_ip_sha256", digest)
        account_created = _timestamp(m.created_at)
        if account_created is None:
            _put(ext, "created_at", m.created_at)
        _put(ext, "score", _finite(m.score))
        _put(ext, "level", m.level)
        _put(ext, "cluster_id", m.cluster_id)
        ext["reasons"] = list(m.reasons)
        ext["tags"] = list(m.tags)
        ext["requests"] = m.requests
        _put(ext, "first_seen", m.first_seen)
        _put(ext, "last_seen", m.last_seen)
        if m.user_agents:
            ext["user_agents"] = list(m.user_agents)
        accounts.append(
            v21.UserAccount(
                user_id=m.account_id,
                account_type="api",
                account_created=account_created,
                object_marking_refs=marks,
                extensions={ext_id: ext},
            )
        )
    return accounts, addresses, emails


def _unique_templates(data: CaseData) -> list[TemplateEntry]:
    seen: set[str] = set()
    out = []
    for t in data.templates:
        if t.pattern_sha256 not in seen:
            seen.add(t.pattern_sha256)
            out.append(t)
    return out


def _indicator(data: CaseData, t: TemplateEntry, ext_id: str, identity_id: str, marks, created, modified):
    farm_like = t.added or (t.accounts > 0 and t.member_accounts / t.accounts >= MALICIOUS_MEMBER_SHARE)
    cot = _finite(t.cot_share)
    description = (
        f"Prompt template sent by {t.member_accounts} account(s) of the case ({t.member_requests} requests); "
        f"{t.accounts} account(s) and {t.requests} requests platform-wide."
    )
    if cot is not None:
        description += f" {cot:.0%} of its uses ask for reasoning traces."
    if t.added:
        description += " Added to the case by an analyst."
    ext = {
        "extension_type": "property-extension",
        "pattern_sha256": t.pattern_sha256,
        "member_accounts": t.member_accounts,
        "member_requests": t.member_requests,
        "accounts": t.accounts,
        "requests": t.requests,
    }
    _put(ext, "cot_share", cot)
    if t.added:
        ext["added"] = True
    return v21.Indicator(
        id="indicator--" + _uuid("indicator", data.name, t.pattern_sha256),
        created_by_ref=identity_id,
        created=created,
        modified=modified,
        name=f"Prompt template {t.pattern_sha256[:12]}",
        description=description,
        indicator_types=["malicious-activity" if farm_like else "anomalous-activity"],
        pattern=t.pattern,
        pattern_type="farmhound-template",
        valid_from=created,
        object_marking_refs=marks,
        extensions={ext_id: ext},
    )


def _summary(data: CaseData, accounts: int, ips: int, emails: int, templates: int) -> str:
    text = (
        f"Suspected distillation farm: {accounts} accounts, {data.requests} requests, {ips} IP addresses, "
        f"{emails} email addresses, {templates} prompt templates, {len(data.clusters)} candidate farm(s). "
        f"Case status: {data.status}. Exported by farmhound {data.tool_version} at {data.generated_at}."
    )
    if data.redacted:
        text += f" Redacted: {', '.join(data.redacted)}."
    if data.description:
        text += "\n\n" + data.description
    return text


def _grouping_extension(data: CaseData) -> dict:
    ext: dict = {
        "extension_type": "property-extension",
        "case_status": data.status,
        "tlp": data.tlp,
        "redacted": list(data.redacted),
        "tool_version": data.tool_version,
        "members": len(data.members),
        "requests": data.requests,
    }
    if data.triage:
        _put(ext, "triage_run", data.triage.get("run"))
        _put(ext, "triage_config_hash", data.triage.get("config_hash"))
    ext["clusters"] = [
        {
            "id": c.id,
            "run": c.run,
            "score": _finite(c.score),
            "level": c.level,
            "size": c.size,
            "links": dict(c.links),
            "reasons": [r.get("code") for r in c.reasons if isinstance(r, dict) and r.get("code")],
        }
        for c in data.clusters
    ]
    return ext


def _timestamp(value: str | None):
    """A STIX timestamp (millisecond precision, UTC) from ISO 8601 text; None if it is not one."""
    if not value or not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # the store's times are UTC
    return parse_into_datetime(when.astimezone(UTC), precision="millisecond")


def _finite(value: float | None) -> float | None:
    # NaN and infinities are not JSON.
    return value if value is not None and math.isfinite(value) else None


def _put(d: dict, key: str, value) -> None:
    if value is not None:
        d[key] = value


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
