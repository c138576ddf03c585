"""Readable `<*>` patterns of templates, and step 4: templates -> families (close fixed wording, or
long payloads sent under both)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

import xxhash
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, Postfix, Prefix

from farmhound.templates.model import TemplateConfig
from farmhound.templates.skeletons import _EDGE_PUNCT, SLOT


# ----------------------------------------------------------------------------- patterns
def _pattern(texts: list[str]) -> str:
    """Align members token by token: tokens common to all kept, differing runs -> <*>."""
    pat: list[str] = texts[0].split()
    for other in texts[1:]:
        out: list[str] = []
        for op in Indel.opcodes([t.lower() for t in pat], other.lower().split()):
            if op.tag == "equal":
                out.extend(pat[op.src_start: op.src_end])
            elif not out or out[-1] != SLOT:
                out.append(SLOT)
        pat = out
    return " ".join(t for i, t in enumerate(pat) if not (t == SLOT and i and pat[i - 1] == SLOT))


def _spread(items: list, k: int) -> list:
    """k items evenly spaced over a sorted list (deterministic, and more diverse than the first k)."""
    if len(items) <= k:
        return items
    return [items[i * (len(items) - 1) // (k - 1)] for i in range(k)] if k > 1 else items[:1]


# ----------------------------------------------------------------------------- families
class _DSU:
    def __init__(self, n: int):
        self.p = list(range(n))

    def find(self, x: int) -> int:
        while self.p[x] != x:
            self.p[x] = self.p[self.p[x]]
            x = self.p[x]
        return x

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.p[max(a, b)] = min(a, b)


_STOP = frozenset("the and for with your you this that then are from not just each all every "
                  "please what how can".split())


def _pairs(groups: Iterable[list[int]]) -> Counter[tuple[int, int]]:
    out: Counter[tuple[int, int]] = Counter()
    for ids in groups:
        for x in range(len(ids)):
            for y in range(x + 1, len(ids)):
                out[(ids[x], ids[y])] += 1
    return out


def _families(fixed: list[str], payloads: list[set[int]], cfg: TemplateConfig) -> _DSU:
    """Unite templates whose fixed wording is close, or that wrap several of the same payloads."""
    dsu = _DSU(len(fixed))
    words = [[w for w in dict.fromkeys(f.split()) if len(w) > 2 and w not in _STOP]
             if len(f.split()) >= cfg.family_min_words else [] for f in fixed]
    df = Counter(w for ws in words for w in ws)
    by_word: dict[str, list[int]] = defaultdict(list)
    for i, ws in enumerate(words):
        for w in sorted((w for w in ws if 1 < df[w] <= cfg.family_max_df), key=lambda w: (df[w], w))[: cfg.family_keys]:
            by_word[w].append(i)
    for a, b in sorted(_pairs(by_word.values())):
        la, lb = len(fixed[a]), len(fixed[b])
        if min(la, lb) >= 0.5 * max(la, lb) and fuzz.token_set_ratio(fixed[a], fixed[b], score_cutoff=cfg.family_ratio):
            dsu.union(a, b)
    owners: dict[int, list[int]] = defaultdict(list)
    for i, ps in enumerate(payloads):
        for p in ps:
            owners[p].append(i)
    shared = _pairs(ids for ids in owners.values() if len(ids) <= cfg.family_max_df)
    for (a, b), n in sorted(shared.items()):
        if n >= cfg.family_payloads and n >= cfg.family_overlap * max(len(payloads[a]), len(payloads[b])):
            dsu.union(a, b)
    return dsu


def _payloads(low: list[str], pick: list[int], cfg: TemplateConfig) -> set[int]:
    """Hashes of what a template's members wrap: each (lowercased) text minus the head and tail
    that the picked members all share. Raw text, so numbers keep one maths problem apart from
    another."""
    sample = [low[i] for i in pick]
    head, tail = _common(sample), _common([x[::-1] for x in sample])[::-1]
    out, h64 = set(), xxhash.xxh3_64_intdigest
    for x in low:
        cut = Prefix.similarity(head, x)
        p = x[cut: len(x) - min(Postfix.similarity(tail, x), len(x) - cut)].strip(_EDGE_PUNCT)
        if len(p) >= cfg.min_payload_chars:
            out.add(h64(p.encode()))
    return out


def _common(xs: list[str]) -> str:
    lo, hi = min(xs), max(xs)
    return lo[: Prefix.similarity(lo, hi)]


