"""Redaction of a case file for sharing outside the team: emails, IPs and prompt text.

Emails and IPs are replaced by `sha256:<hex>` of their normalised text (emails lowercased, IPs in
their canonical form, without a port), unsalted, so another provider can match them against its own
accounts without either side disclosing the values. (An unsalted hash of an IPv4 address can be
reversed by trying all 2^32; redact IPs for a reader you would not show them to, not for secrecy
against a determined one.) Prompt text is dropped: sample prompts, template examples and patterns.
A template's `pattern_sha256` stays, as its key.

Every other string of the case file is scanned for emails and IPs too: account ids (an export may
key accounts by email), how each member joined (a pivot on an IP), notes, the case description,
reasons' details and evidence, user agents. The same value always hashes the same, so a redacted
account id still joins a member to its sample requests.

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

# The local part as RFC 5322 allows it unquoted; the domain may be a single label (root@localhost).
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*")
# The same in two halves, for `_hash_emails`: `_EMAIL.sub` retries the local part at every position
# of a long run of its characters that no @ ends (an attacker's 1 MB token took hours).
_LOCAL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+")
_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)*")
# Candidate addresses, each checked with `ipaddress`: IPv6 first (it may embed an IPv4), then IPv4.
# Bounded by what cannot continue an address, so "ip:10.1.2.3.", "10.1.2.3:8080" and
# "host_10.1.2.3" are found; an optional /prefix is part of the match.
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?:/\d{1,3})?(?![0-9A-Fa-f:])")
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?![\d])")


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def hash_email(email: str | None) -> str | None:
    return None if email is None else digest(email.strip().lower())


def _canonical_ip(text: str) -> str | None:
    """The canonical form of an address or network, or None if `text` is neither."""
    try:
        return str(ipaddress.ip_network(text, strict=False) if "/" in text else ipaddress.ip_address(text))
    except ValueError:
        return None


def hash_ip(ip: str | None) -> str | None:
    if ip is None:
        return None
    return digest(_canonical_ip(ip) or ip)


def check(kinds: list[str]) -> list[str]:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"cannot redact {', '.join(unknown)}: choose from {', '.join(KINDS)}")
    return [k for k in KINDS if k in kinds]


def _hash_emails(text: str) -> str:
    """`_EMAIL.sub(hash)` in linear time: the same matches, found from each @ outwards (the local
    part by matching backwards over the reversed text)."""
    at = text.find("@")
    if at < 0:
        return text
    n, rev, out, done = len(text), text[::-1], [], 0
    while at >= 0:
        domain = _DOMAIN.match(text, at + 1)
        local = _LOCAL.match(rev, n - at, n - done) if domain else None
        if local:
            start = at - len(local.group())
            out += [text[done:start], hash_email(text[start : domain.end()])]
            done = domain.end()
        at = text.find("@", max(at + 1, done))
    return "".join(out) + text[done:]


def scrubber(kinds: list[str]):
    """A function hashing every email and/or IP found inside a string (others pass through)."""
    emails, ips = "emails" in kinds, "ips" in kinds

    def ip(m: re.Match) -> str:
        canonical = _canonical_ip(m.group())
        return digest(canonical) if canonical else m.group()

    def scrub(text):
        if not isinstance(text, str):
            return text
        if emails:
            text = _hash_emails(text)
        if ips:
            text = _IPV4.sub(ip, _IPV6.sub(ip, text))
        return text

    return scrub


def redact(data: CaseData, kinds: list[str]) -> CaseData:
    """`data` (a copy if anything is redacted) with `kinds` (emails, ips, prompts) hashed or dropped
    everywhere."""
    kinds = check(kinds)
    if not kinds:
        return dataclasses.replace(data, redacted=[])
    out = copy.deepcopy(data)
    out.redacted = kinds
    prompts = "prompts" in kinds
    scrub = scrubber(kinds)
    for m in out.members:
        if "emails" in kinds:
            m.email = hash_email(m.email)
        if "ips" in kinds:
            m.signup_ip = hash_ip(m.signup_ip)
            m.ips = [hash_ip(ip) for ip in m.ips]
        m.account_id, m.via = scrub(m.account_id), scrub(m.via)
        m.reasons = [scrub(r) for r in m.reasons]
        m.tags = [scrub(t) for t in m.tags]
        m.user_agents = [scrub(u) for u in m.user_agents]
    for s in out.samples:
        if "ips" in kinds:
            s.ip = hash_ip(s.ip)
        s.account_id, s.user_agent = scrub(s.account_id), scrub(s.user_agent)
        s.prompt = DROPPED if prompts and s.prompt is not None else scrub(s.prompt)
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
