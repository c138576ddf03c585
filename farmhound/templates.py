"""Prompt-template mining: group distinct prompts into templates, and templates into families.

Responsible for: turning (prompt hash, text) pairs into templates (prompts that share their fixed
wording and differ in slots), each with a readable `<*>` pattern, and templates into families
(rewordings of one another, or wrappers sent around the same payloads). Pure functions: no store,
no UI, no account data; the same input gives the same output whatever its order.

Not responsible for: counting uses per account or scoring (signals work from `assignment`),
storing results, or meaning: without embeddings, rewordings that share neither words nor payloads
stay in separate families.

Method (DESIGN §5, detection-signals §4):
1. Each prompt is cut to a head+tail excerpt; code blocks, URLs, emails, quoted strings, anything
   holding a digit and identifiers are masked, and the text lowercased: its *skeleton*. Equal
   skeletons cost nothing more (pyarrow/RE2 does this part in C++).
2. Skeletons are blocked by their first and by their last `key_chars` characters. Blocks are
   visited largest first; inside one, a skeleton is compared only with *leaders* (one member per
   template): it joins when the first/last `side_chars` characters are close (fuzz.ratio) or an
   exact shared head+tail is long enough, on the side the template is anchored on. A skeleton
   joins one template only, so a wrapper shared by thousands of prompts claims them before a
   smaller block keyed on their payload can, and nothing chains through union-find.
3. A block whose leaders keep missing (free text that merely starts alike) is split by twice
   longer keys, at most `max_depth` times; leaders per block are capped. Each skeleton is thus
   compared a bounded number of times: cost grows about linearly, never with all pairs.
4. Families: templates of two prompts or more are united when their fixed wording is close
   (candidates share a rare word; token_set_ratio verifies) or when several long payloads were
   sent under both (a farm rotating rewordings over one task list).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, Postfix, Prefix

__all__ = ["Mined", "Template", "TemplateConfig", "mine"]


@dataclass(frozen=True)
class TemplateConfig:
    """Knobs of `mine`; the triage config TOML fills them (`[templates]`)."""

    head_chars: int = 200         # a prompt longer than head+tail+20 characters keeps its first
    tail_chars: int = 100         # head_chars and last tail_chars; the middle becomes " … "
    key_chars: int = 16           # blocking keys: first / last characters of the skeleton
    side_chars: int = 40          # same template when the first (or last) side_chars characters
    side_ratio: float = 80.0      # reach this fuzz.ratio (a wrapper, slots allowed inside) ...
    min_edge_chars: int = 16      # ... or when an exact shared head (tail) of this many characters
    edge_share: float = 0.3       # plus the shared tail (head) cover this share of the shorter
    edge_window: int = 120        # skeleton, counting at most edge_window characters of it
    max_leaders: int = 16         # templates a skeleton is compared with inside one block
    max_misses: int = 2           # leaders in a row that attract nobody before a block is split
    max_depth: int = 2            # splits by longer keys (x2 each); what is left stays single
    family_ratio: float = 75.0    # token_set_ratio of two templates' fixed wording -> one family
    family_min_words: int = 4     # fixed wording shorter than this never joins by wording
    family_keys: int = 3          # rarest words of a template used to find wording candidates
    family_max_df: int = 50       # words (payloads) in more templates than this are no key
    family_payloads: int = 3      # distinct long payloads sent under both templates -> family,
    family_overlap: float = 0.06  # if also >= this share of the distinct payloads of each one
    min_payload_chars: int = 40   # shorter payloads are too generic to link templates
    pattern_members: int = 8      # members aligned to build a pattern
    examples: int = 5             # example prompt hashes kept per template


@dataclass(slots=True)
class Template:
    id: int                 # dense ids 1..n, ordered by size desc then pattern
    family_id: int          # id of the largest template of its family
    pattern: str            # readable, volatile parts as <*>
    prompts: int            # distinct prompt texts in it
    examples: list[int] = field(default_factory=list)   # up to 5 prompt hashes (members)


@dataclass
class Mined:
    assignment: dict[int, int]   # prompt hash -> template id; every input prompt has one
    templates: list[Template]


SLOT = "<*>"
_PH = "\x1a"              # placeholder in skeletons: one character, so ratios stay fair
_GAP = " \u2026 "         # where the middle of a long prompt was cut out
_CHUNK = 1 << 17
_VOLATILE = (             # RE2 syntax (pyarrow), no lookarounds; each match -> one placeholder
    r"```(?s:.*?)(?:```|$)"                                        # code blocks, even unterminated
    r"|(?:https?://|www\.)[^\s<>\"')\]]+"                          # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"                               # emails
    r"|\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”|`[^`\n]{1,200}`"         # quoted strings, inline code
    r"|\w*\d(?:[\w^]|[.,:/-]\w)*"                                  # numbers, ids, versions, hex
    r"|\b[A-Za-z]+(?:_[A-Za-z0-9]+)+\b"                            # snake_case
    r"|\b[a-z]+[A-Z][A-Za-z]*\b|\b[A-Z]+[a-z]+[A-Z][A-Za-z]*\b"    # camelCase, PascalCase
    r"|\b[A-Za-z]\w+(?:\.[A-Za-z]\w+)+\b"                          # dotted names: os.path, a.csv
)
_SQUOTE = r"(^|[^\w'])'[^'\n]{1,200}'"      # 'quoted', but not it's ... don't
_EDGE_PUNCT = " \t\n.,:;!?()[]{}\"'`\u2026-"


# ----------------------------------------------------------------------------- skeletons
def _excerpt(text: str, head: int, tail: int) -> str:
    if len(text) <= head + tail + 20:
        return text
    gap = _GAP
    if "```" in text and text.count("```", head, len(text) - tail) % 2:
        gap = " ```" + _GAP             # a code block opens or closes in the cut-out middle
    return text[:head] + gap + text[-tail:]


def _mask(texts, ph: str):
    """Volatile parts -> ph, whitespace collapsed, neighbouring placeholders merged (arrow in/out)."""
    out = pc.replace_substring_regex(texts, _VOLATILE, ph)
    out = pc.replace_substring_regex(out, _SQUOTE, r"\1" + ph)
    out = pc.utf8_trim_whitespace(pc.replace_substring_regex(out, r"\s\s+|[\t\n\r\f\v]", " "))
    esc = "".join(c if c.isalnum() else "\\" + c for c in ph)
    return pc.replace_substring_regex(out, f"{esc}(?:[^\\w{esc}]{{0,3}}{esc})+", ph)


def _read(prompts: Iterable[tuple[int, str]], cfg: TemplateConfig) -> tuple[list[int], pa.ChunkedArray]:
    """Distinct hashes, sorted (so input order never matters), and their excerpts."""
    seen: set[int] = set()
    hashes: list[int] = []
    chunks, buf = [], []
    for h, text in prompts:
        if h not in seen:
            seen.add(h)
            hashes.append(h)
            buf.append(_excerpt(text, cfg.head_chars, cfg.tail_chars))
            if len(buf) == _CHUNK:
                chunks.append(pa.array(buf, pa.string()))
                buf = []
    chunks.append(pa.array(buf, pa.string()))
    del seen
    try:
        order = np.argsort(np.array(hashes, dtype=np.int64), kind="stable")
    except OverflowError:
        order = np.array(sorted(range(len(hashes)), key=hashes.__getitem__), dtype=np.int64)
    excerpts = pa.chunked_array(chunks).take(pa.array(order))
    return [hashes[i] for i in order.tolist()], excerpts


# ----------------------------------------------------------------------------- templates
class _Grouper:
    """Greedy leader clustering of distinct skeletons inside blocks (see the module docstring)."""

    def __init__(self, sk: list[str], counts: list[int], cfg: TemplateConfig):
        self.sk, self.counts, self.cfg = sk, counts, cfg
        self.tmpl = [-1] * len(sk)                       # template per skeleton
        self.leader: list[int] = []                      # template -> leading skeleton
        self.anchor: list[str] = []                      # "h" or "t": the side it was found on
        self.size: list[int] = []                        # template -> prompts so far

    def fits(self, s: str, t: int) -> bool:
        cfg, lead, w = self.cfg, self.sk[self.leader[t]], self.cfg.side_chars
        if self.anchor[t] == "h":
            if fuzz.ratio(s[:w], lead[:w], score_cutoff=cfg.side_ratio):
                return True
            side, other = Prefix.similarity(s, lead), Postfix.similarity(s, lead)
        else:
            if fuzz.ratio(s[-w:], lead[-w:], score_cutoff=cfg.side_ratio):
                return True
            side, other = Postfix.similarity(s, lead), Prefix.similarity(s, lead)
        short = min(len(s), len(lead))
        return side >= cfg.min_edge_chars and min(side + other, short) >= cfg.edge_share * min(short, cfg.edge_window)

    def join(self, m: int, t: int) -> None:
        self.tmpl[m] = t
        self.size[t] += self.counts[m]

    def block(self, kind: str, members: list[int], depth: int = 0, carry: tuple[int, ...] = ()) -> None:
        cfg, sk, tmpl = self.cfg, self.sk, self.tmpl
        todo = [m for m in members if tmpl[m] < 0]
        if not todo:
            return
        present = sorted({tmpl[m] for m in members if tmpl[m] >= 0} | set(carry), key=lambda t: (-self.size[t], t))
        leaders = present[: cfg.max_leaders]
        if leaders:
            rest = []
            for m in todo:
                s = sk[m]
                for t in leaders:
                    if self.fits(s, t):
                        self.join(m, t)
                        break
                else:
                    rest.append(m)
            todo = rest
        made, misses = [], 0
        while len(todo) > 1 and misses < cfg.max_misses and len(made) + len(leaders) < cfg.max_leaders:
            t = len(self.leader)
            self.leader.append(todo[0])
            self.anchor.append(kind)
            self.size.append(0)
            rest = []
            for m in todo[1:]:
                if self.fits(sk[m], t):
                    self.join(m, t)
                else:
                    rest.append(m)
            if len(rest) < len(todo) - 1:
                self.join(todo[0], t)
                made.append(t)
                misses = 0
            else:                                        # attracted nobody: no template
                self.leader.pop(), self.anchor.pop(), self.size.pop()
                misses += 1
            todo = rest
        if len(todo) > 1 and depth < cfg.max_depth:      # free text that starts alike: split
            width = cfg.key_chars << (depth + 1)
            sub: dict[str, list[int]] = defaultdict(list)
            for m in todo:
                sub[sk[m][:width] if kind == "h" else sk[m][-width:]].append(m)
            for key in sorted(sub, key=lambda k: (-len(sub[k]), k)):
                if len(sub[key]) > 1:
                    self.block(kind, sub[key], depth + 1, tuple(made + leaders))


def _group(sk: pa.Array, counts: np.ndarray, cfg: TemplateConfig) -> np.ndarray:
    """Template index per distinct skeleton."""
    strs, cnt = sk.to_pylist(), counts.tolist()
    grouper = _Grouper(strs, cnt, cfg)
    blocks = []
    for kind, keys in (("h", pc.utf8_slice_codeunits(sk, 0, cfg.key_chars)),
                       ("t", pc.utf8_slice_codeunits(sk, -cfg.key_chars))):
        ids = pc.dictionary_encode(keys).indices.to_numpy(zero_copy_only=False)
        order = np.argsort(ids, kind="stable")
        bounds = np.flatnonzero(np.diff(ids[order])) + 1
        for grp in np.split(order, bounds):
            if len(grp) > 1:
                members = grp.tolist()
                members.sort(key=(lambda i: (-cnt[i], strs[i])) if kind == "h" else
                             (lambda i: (-cnt[i], strs[i][::-1])))
                blocks.append((-sum(cnt[i] for i in members), kind, strs[members[0]][:cfg.key_chars]
                               if kind == "h" else strs[members[0]][-cfg.key_chars:], members))
    blocks.sort(key=lambda b: b[:3])
    for _, kind, _, members in blocks:
        grouper.block(kind, members)
    tmpl = np.array(grouper.tmpl, dtype=np.int64)
    rest = np.flatnonzero(tmpl < 0)                      # never matched: their own template
    tmpl[rest] = np.arange(len(grouper.leader), len(grouper.leader) + len(rest))
    return tmpl


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


def _payloads(members: list[str], sample: list[str], cfg: TemplateConfig) -> set[int]:
    """Hashes of what the members wrap: each text minus the head and tail that the sampled members
    all share. Raw text, so numbers keep one maths problem apart from another."""
    low = [" ".join(m.lower().split()) for m in sample]
    head, tail = _common(low), _common([x[::-1] for x in low])[::-1]
    out = set()
    for m in members:
        x = " ".join(m.lower().split())
        cut = Prefix.similarity(head, x)
        p = x[cut: len(x) - min(Postfix.similarity(tail, x), len(x) - cut)].strip(_EDGE_PUNCT)
        if len(p) >= cfg.min_payload_chars:
            out.add(xxhash.xxh3_64_intdigest(p.encode()))
    return out


def _common(xs: list[str]) -> str:
    lo, hi = min(xs), max(xs)
    return lo[: Prefix.similarity(lo, hi)]


# ----------------------------------------------------------------------------- entry point
def mine(prompts: Iterable[tuple[int, str]], config: TemplateConfig = TemplateConfig()) -> Mined:
    """Group distinct prompts into templates and templates into families.

    Args:
        prompts: (prompt hash, text) pairs; a hash names one distinct text (a repeated hash keeps
            its first text). Consumed once; only a head+tail excerpt of each text is kept.
        config: thresholds and caps, see TemplateConfig.
    Returns:
        Every prompt's template id, and the templates: ids 1..n by size desc then pattern; a prompt
        that matched nothing is a template of its own.
    """
    cfg = config
    hashes, excerpts = _read(prompts, cfg)
    if not hashes:
        return Mined({}, [])
    enc = pc.dictionary_encode(pc.utf8_lower(_mask(excerpts, _PH)))
    sk_of = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in enc.chunks])
    skeletons = enc.chunks[0].dictionary
    del enc
    t_of = _group(skeletons, np.bincount(sk_of, minlength=len(skeletons)), cfg)[sk_of]
    del skeletons, sk_of
    order = np.argsort(t_of, kind="stable")              # members of a template stay in hash order
    groups = np.split(order, np.flatnonzero(np.diff(t_of[order])) + 1)

    multi = [g.tolist() for g in groups if len(g) > 1]
    picks = [_spread(list(range(len(g))), cfg.pattern_members) for g in multi]
    flat = [g[i] for g, pick in zip(multi, picks) for i in pick]
    shown = iter(_mask(excerpts.take(pa.array(flat, pa.int64())), SLOT).to_pylist() if flat else [])
    patterns = [_pattern([next(shown) for _ in pick]) for pick in picks]
    fixed = [" ".join(w for w in pat.lower().split() if w != SLOT) for pat in patterns]
    payloads: list[set[int]] = []
    start = size = 0
    for n, g in enumerate(multi):                        # payloads, a bounded batch of texts at a time
        size += len(g)
        if size >= _CHUNK or n + 1 == len(multi):
            texts = excerpts.take(pa.array([p for b in multi[start: n + 1] for p in b], pa.int64())).to_pylist()
            for b in range(start, n + 1):
                own, texts = texts[: len(multi[b])], texts[len(multi[b]):]
                payloads.append(_payloads(own, [own[i] for i in picks[b]], cfg) if len(own) > 2 else set())
            start, size = n + 1, 0
    dsu = _families(fixed, payloads, cfg)

    singles = [int(g[0]) for g in groups if len(g) == 1]
    single_shown = _mask(excerpts.take(pa.array(singles, pa.int64())), SLOT).to_pylist() if singles else []
    del excerpts, groups
    rows = [(len(g), patterns[i], hashes[g[0]], i, g) for i, g in enumerate(multi)]
    rows += [(1, pat, hashes[p], -1, [p]) for p, pat in zip(singles, single_shown)]
    rows.sort(key=lambda r: (-r[0], r[1], r[2]))
    fam_id: dict[int, int] = {}
    templates, assignment = [], {}
    for tid, (size, pat, _, i, g) in enumerate(rows, 1):
        fid = tid if i < 0 else fam_id.setdefault(dsu.find(i), tid)
        members = [hashes[p] for p in g]
        templates.append(Template(tid, fid, pat, size, _spread(members, cfg.examples)))
        assignment.update(dict.fromkeys(members, tid))
    return Mined(assignment, templates)
