"""Redaction of a case file for sharing outside the team: emails, IPs and prompt text.

Emails and IPs are replaced by `sha256:<hex>` of their normalised text (emails lowercased, IPs in
their canonical form), unsalted, so another provider can match them against its own accounts
without either side disclosing the values. (An unsalted hash of an IPv4 address can be reversed by
trying all 2^32; redact IPs for a reader you would not show them to, not for secrecy against a
determined one.) Prompt text is dropped: sample prompts, template examples and patterns. A
template's `pattern_sha256` stays, as its key.

Free text (notes, reasons' details and evidence, the case description) is scanned for emails and
IPs as well, so a note that names an address does not leak it.

Not here: what the case file holds (`model.py`), writing it (`export.py`).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import ipaddress
import re

from farmhound.casefile.model import CaseData

KINDS = ("emails", "ips", "prompts")
DROPPED = "[redacted]"

_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
# Candidate IPv4/IPv6 addresses (with an optional /prefix); each is checked with `ipaddress`.
_IP = re.compile(r"(?<![\w:.])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?:/\d{1,3})?(?![\w:.])")


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def hash_email(email: str | None) -> str | None:
    return None if email is None else digest(email.strip().lower())


def hash_ip(ip: str | None) -> str | None:
    if ip is None:
        return None
    try:
        canonical = str(ipaddress.ip_network(ip, strict=False) if "/" in ip else ipaddress.ip_address(ip))
    except ValueError:
        canonical = ip
    return digest(canonical)


def check(kinds: list[str]) -> list[str]:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"cannot redact {', '.join(unknown)}: choose from {', '.join(KINDS)}")
    return [k for k in KINDS if k in kinds]


def redact(data: CaseData, kinds: list[str]) -> CaseData:
    """`data` (a copy if anything is redacted) with `kinds` (emails, ips, prompts) hashed or dropped everywhere."""
    kinds = check(kinds)
    if not kinds:
        return dataclasses.replace(data, redacted=[])
    out = copy.deepcopy(data)
    out.redacted = kinds
    emails, ips, prompts = ("emails" in kinds), ("ips" in kinds), ("prompts" in kinds)

    def scrub(text):
        if not isinstance(text, str):
            return text
        if emails:
            text = _EMAIL.sub(lambda m: hash_email(m.group()), text)
        if ips:
            text = _IP.sub(lambda m: hash_ip(m.group()) if _is_ip(m.group()) else m.group(), text)
        return text

    for m in out.members:
        if emails:
            m.email = hash_email(m.email)
        if ips:
            m.signup_ip = hash_ip(m.signup_ip)
            m.ips = [hash_ip(ip) for ip in m.ips]
        m.reasons = [scrub(r) for r in m.reasons]
        m.user_agents = [scrub(u) for u in m.user_agents]
    for s in out.samples:
        if ips:
            s.ip = hash_ip(s.ip)
        s.prompt = DROPPED if prompts and s.prompt is not None else scrub(s.prompt)
        s.user_agent = scrub(s.user_agent)
    for t in out.templates:
        t.pattern = DROPPED if prompts else scrub(t.pattern)
        t.examples = [] if prompts else [scrub(e) for e in t.examples]
    for c in out.clusters:
        for r in c.reasons:
            r["detail"] = scrub(r.get("detail"))
            r["evidence"] = [scrub(e) for e in r.get("evidence") or []]
    for n in out.notes:
        n.text = scrub(n.text)
    out.description = scrub(out.description)
    return out


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False) if "/" in text else ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
