"""Prompt-template mining: group distinct prompts into templates, and templates into families.

Responsible for: turning (prompt hash, text) pairs into templates (prompts that share their fixed
wording and differ in slots), each with a readable `<*>` pattern, and templates into families
(rewordings of one another, or wrappers sent around the same payloads). Pure function, no store, no
UI, no account data; the same input gives the same output whatever its order.

Not responsible for: counting uses per account or scoring (signals work from `assignment`),
storing results, or meaning: without embeddings, rewordings that share neither words nor payloads
stay in separate families.

Method (DESIGN §5, detection-signals §4):
1. Skeletons. Each prompt is cut to a head+tail excerpt; code blocks, URLs, emails, quoted
   strings, anything holding a digit and identifiers are masked, and the text lowercased (pyarrow,
   RE2, both cores). Equal skeletons are one group for free.
2. Templates. Skeletons are blocked by their first and by their last `key_chars` characters.
   Blocks are visited largest first; inside one, a skeleton is compared only with *leaders* (one
   member per template) and joins when, on the side the template is anchored on, the first/last
   `side_chars` characters are close (fuzz.ratio) or an exact shared head+tail is long enough.
   A skeleton joins one template only: a wrapper shared by thousands of prompts claims them before
   a smaller block keyed on their payload can, and nothing chains through union-find.
3. Caps. Leaders per block are capped (`max_leaders`); a block whose new leaders keep attracting
   nobody (`max_misses`: free text that merely starts alike) is split by twice longer keys, at
   most `max_depth` times; what is left stays single. Each skeleton is compared a bounded number of
   times, long lists through process.cdist: cost grows about linearly, never with all pairs.
4. Families, over templates of two prompts or more: close fixed wording (candidates share one of
   their rarer words; token_set_ratio verifies) or several long payloads sent under both (a farm
   rotating rewordings over one task list).
Measured (benchmarks/templates.py, 2 cores): 1M distinct ~640-character prompts in ~14 s, +0.83 GB RSS.
"""

from __future__ import annotations

import ctypes
import gc
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel, Postfix, Prefix

__all__ = ["Mined", "Template", "TemplateConfig", "mine"]


@dataclass(frozen=True)
class TemplateConfig:
    """Knobs of `mine`; the triage config TOML fills them (`[templates]`)."""

    head_chars: int = 200         # a prompt longer than head+tail+20 characters keeps its first
    tail_chars: int = 100         # head_chars and last tail_chars; the middle becomes " [...] "
    key_chars: int = 16           # blocking keys: first / last characters of the skeleton
    side_chars: int = 40          # same template when the first (or last) side_chars characters
    side_ratio: float = 80.0      # reach this fuzz.ratio (a wrapper, slots allowed inside) ...
    min_edge_chars: int = 16      # ... or when an exact shared head (tail) of this many characters
    edge_share: float = 0.5       # plus the shared tail (head) cover this share of the shorter
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

    def __post_init__(self):
        for name in ("side_ratio", "family_ratio"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"templates.{name} must be within 0..100, got {getattr(self, name)}")
        for name in ("edge_share", "family_overlap"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"templates.{name} must be within 0..1, got {getattr(self, name)}")
        small = [n for n in ("head_chars", "tail_chars", "key_chars", "side_chars", "edge_window", "max_leaders",
                             "max_misses", "pattern_members", "examples") if getattr(self, n) < 1]
        if small or self.max_depth < 0:
            raise ValueError(f"templates.{(small or ['max_depth'])[0]} is too small")


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
_GAP = " [...] "          # where the middle of a long prompt was cut out (ASCII: keeps strings compact)
_CHUNK = 1 << 15
_VOLATILE = (             # RE2 syntax (pyarrow), no lookarounds; each match -> one placeholder
    r"```(?s:.*?)(?:```|$)"                                        # code blocks, even unterminated
    r"|(?:https?://|www\.)[^\s<>\"')\]]+"                          # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"                               # emails
    r"|\"[^\"\n]+\"|“[^”\n]+”|`[^`\n]+`"                          # quoted strings, inline code
    r"|\w*\d(?:[\w^]|[.,:/-]\w)*"                                  # numbers, ids, versions, hex
    r"|\b[A-Za-z]+(?:_[A-Za-z0-9]+)+\b"                            # snake_case
    r"|\b[a-z]+[A-Z][A-Za-z]*\b|\b[A-Z]+[a-z]+[A-Z][A-Za-z]*\b"    # camelCase, PascalCase
    r"|\b[A-Za-z]\w+(?:\.[A-Za-z]\w+)+\b"                          # dotted names: os.path, a.csv
)
_SQUOTE = r"(^|[^\w'])'[^'\n]+'"           # 'quoted', but not it's ... don't
# (RE2 turns a bounded repeat like {1,200} into a big automaton: 6x slower. Excerpts are short and
# newlines end a quote, so unbounded is safe.)


def _pool() -> pa.MemoryPool:
    """jemalloc told to return freed pages at once, so RSS follows live data (the default mimalloc
    pool and glibc keep hundreds of MB of freed buffers at 1M prompts); system malloc elsewhere."""
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
        return pool
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return pa.system_memory_pool()


_POOL = _pool()


def _release() -> None:
    """Hand freed heap memory back to the OS (glibc only; elsewhere a no-op). Big numpy, list and
    rapidfuzz buffers freed between phases otherwise stay in the heap: ~300 MB at 1M prompts,
    which the next phase's small Python objects cannot reuse."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


_SPACES = r"\s\s+|[\t\n\r\f\v]"     # 4x faster than \s+, which also rewrites every single space
_EDGE_PUNCT = " \t\n.,:;!?()[]{}\"'`-"


# ----------------------------------------------------------------------------- skeletons
def _mask(texts, ph: str):
    """Volatile parts -> ph, whitespace collapsed, neighbouring placeholders merged (arrow in/out)."""
    esc = "".join(c if c.isalnum() else "\\" + c for c in ph)
    steps = ((_VOLATILE, ph), (_SQUOTE, r"\1" + ph), (_SPACES, " "),
             (f"{esc}(?:[^\\w{esc}]{{0,3}}{esc})+", ph))
    for pattern, by in steps:
        texts = pc.replace_substring_regex(texts, pattern, by, memory_pool=_POOL)
    return pc.utf8_trim_whitespace(texts, memory_pool=_POOL)


def _cut(text: str, head: int, tail: int) -> str:
    gap = _GAP
    if "```" in text and text.count("```", head, len(text) - tail) % 2:
        gap = " ```" + _GAP             # a code block opens or closes in the cut-out middle
    return text[:head] + gap + text[-tail:]


def _take(arr: pa.ChunkedArray, rows: np.ndarray) -> list:
    """arr[rows] as Python values, chunk by chunk (ChunkedArray.take would concatenate them all)."""
    bounds = np.cumsum([0] + [len(c) for c in arr.chunks])
    which = np.searchsorted(bounds, rows, side="right") - 1
    first = int(which[0]) if len(rows) else 0
    if (which == first).all():
        return arr.chunk(first).take(rows - bounds[first]).to_pylist() if len(rows) else []
    out: list = [None] * len(rows)
    for c in np.unique(which).tolist():
        sel = np.flatnonzero(which == c)
        for i, v in zip(sel.tolist(), arr.chunk(c).take(rows[sel] - bounds[c]).to_pylist()):
            out[i] = v
    return out


def _read(prompts: Iterable[tuple[int, str]], cfg: TemplateConfig) -> tuple[np.ndarray, np.ndarray, pa.ChunkedArray]:
    """(distinct hashes sorted, so input order never matters; where each one's excerpt is; the
    excerpts in input order). Texts go to arrow a chunk at a time: no Python object per prompt
    outlives its chunk, and nothing is copied to reorder them."""
    head, tail = cfg.head_chars, cfg.tail_chars
    most = head + tail + 20
    hashes, texts, hs, buf = [], [], [], []

    def flush() -> None:
        try:
            hashes.append(np.array(hs, dtype=np.int64))
        except OverflowError:                            # hashes beyond 64 bits: slower, still fine
            hashes.append(np.array(hs, dtype=object))
        texts.append(pa.array(buf, pa.string(), memory_pool=_POOL))
        hs.clear(), buf.clear()

    for h, text in prompts:
        hs.append(h)
        buf.append(text if len(text) <= most else _cut(text, head, tail))
        if len(buf) == _CHUNK:
            flush()
    flush()
    uniq, src = np.unique(np.concatenate(hashes), return_index=True)   # a repeated hash keeps its first text
    return uniq, src.astype(np.int64), pa.chunked_array(texts, pa.string())


def _skeletons(excerpts: pa.ChunkedArray, src: np.ndarray, cfg: TemplateConfig
               ) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """(distinct skeleton per prompt; the distinct skeletons, numbered by their first prompt in hash
    order; their blocking keys as ids, "h" and "t"). Both cores mask, a slice each. Equal skeletons
    are found by a 64-bit hash of their text (a collision is ~1e-8 likely at 1M skeletons)."""
    k, h64 = cfg.key_chars, xxhash.xxh3_64_intdigest

    def work(part: pa.ChunkedArray) -> tuple[list[str], np.ndarray, pa.ChunkedArray, pa.ChunkedArray]:
        sk = pc.utf8_lower(_mask(part, _PH), memory_pool=_POOL)
        strs = sk.to_pylist()
        return (strs, np.fromiter((h64(x.encode()) for x in strs), np.uint64, len(strs)),
                pc.utf8_slice_codeunits(sk, 0, k, memory_pool=_POOL),
                pc.utf8_slice_codeunits(sk, -k, None, memory_pool=_POOL))

    parts = [excerpts.slice(a, _CHUNK) for a in range(0, len(excerpts), _CHUNK)]
    with ThreadPoolExecutor(2) as pool:                  # arrow releases the GIL while masking
        done = list(pool.map(work, parts))
    flat = [x for d in done for x in d[0]] + [""]
    _, first, inverse = np.unique(np.concatenate([d[1] for d in done])[src], return_index=True, return_inverse=True)
    canon = np.argsort(first, kind="stable")             # number skeletons by their first prompt
    label = np.empty(len(canon), dtype=np.int64)
    label[canon] = np.arange(len(canon))
    rows = src[first[canon]]                             # a row (input order) of each distinct one
    keys = {}
    for n, kind in ((2, "h"), (3, "t")):
        enc = pc.dictionary_encode(pa.chunked_array([c for d in done for c in d[n].chunks], pa.string()))
        keys[kind] = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in enc.chunks])[rows]
    del done
    alone = (np.bincount(keys["h"])[keys["h"]] == 1) & (np.bincount(keys["t"])[keys["t"]] == 1)
    distinct = [flat[r] for r in np.where(alone, -1, rows).tolist()]   # in no block: text not needed
    return label[inverse.ravel()], distinct, keys


# ----------------------------------------------------------------------------- templates
class _Grouper:
    """Greedy leader clustering of distinct skeletons inside blocks (see the module docstring)."""

    def __init__(self, sk: list[str], counts: np.ndarray, cfg: TemplateConfig):
        self.sk, self.counts, self.cfg = sk, counts.tolist(), cfg
        self.tmpl = np.full(len(sk), -1, dtype=np.int64)   # template per distinct skeleton
        self.lead: list[str] = []                          # template -> its leader's skeleton
        self.anchor: list[str] = []                        # "h" or "t": the side it was found on
        self.size: list[int] = []                          # template -> prompts so far

    def fits(self, s: str, lead: str, head: bool) -> bool:
        """Does skeleton s join the template led by `lead`, anchored on its head (or tail)? A close
        side window, or a long exact shared head+tail including the anchored side."""
        cfg, w = self.cfg, self.cfg.side_chars
        if fuzz.ratio(s[:w] if head else s[-w:], lead[:w] if head else lead[-w:], score_cutoff=cfg.side_ratio):
            return True
        side = Prefix.similarity(s, lead) if head else Postfix.similarity(s, lead)
        if side < cfg.min_edge_chars:
            return False
        short = min(len(s), len(lead))
        other = Postfix.similarity(s, lead) if head else Prefix.similarity(s, lead)
        return min(side + other, short) >= cfg.edge_share * min(short, cfg.edge_window)

    def hits(self, t: int, strs: list[str]) -> list[bool]:
        """fits() for many skeletons; through process.cdist (C++, no Python per pair) when long."""
        cfg, lead, w, head = self.cfg, self.lead[t], self.cfg.side_chars, self.anchor[t] == "h"
        if len(strs) < 64:
            return [self.fits(x, lead, head) for x in strs]
        win = [x[:w] for x in strs] if head else [x[-w:] for x in strs]
        close = process.cdist(win, [lead[:w] if head else lead[-w:]], scorer=fuzz.ratio,
                              score_cutoff=cfg.side_ratio)[:, 0] > 0
        pre = process.cdist(strs, [lead], scorer=Prefix.similarity)[:, 0]
        post = process.cdist(strs, [lead], scorer=Postfix.similarity)[:, 0]
        side, other = (pre, post) if head else (post, pre)
        short = np.minimum(np.fromiter(map(len, strs), np.int64, len(strs)), len(lead))
        long = (side >= cfg.min_edge_chars) & (np.minimum(side + other, short) >=
                                                cfg.edge_share * np.minimum(short, cfg.edge_window))
        return (close | long).tolist()

    def claim(self, t: int, ms: list[int], strs: list[str], hit: list[bool]) -> tuple[list[int], list[str]]:
        """Members hit join template t; returns the others."""
        rest_m, rest_s = [], []
        for m, x, h in zip(ms, strs, hit):
            if h:
                self.tmpl[m] = t
                self.size[t] += self.counts[m]
            else:
                rest_m.append(m)
                rest_s.append(x)
        return rest_m, rest_s

    def block(self, kind: str, members: np.ndarray) -> None:
        own = self.tmpl[members]
        todo = members[own < 0].tolist()
        if todo:
            self._run(kind, todo, [self.sk[i] for i in todo], set(own[own >= 0].tolist()), 0)

    def _run(self, kind: str, ms: list[int], strs: list[str], leaders: set[int], depth: int) -> None:
        cfg = self.cfg
        for t in sorted(leaders, key=lambda t: (-self.size[t], t))[: cfg.max_leaders]:
            if not ms:                                   # templates already present, or carried
                return
            ms, strs = self.claim(t, ms, strs, self.hits(t, strs))
        made, misses = [], 0
        while len(ms) > 1 and misses < cfg.max_misses and len(made) + len(leaders) < cfg.max_leaders:
            t = len(self.lead)                           # next leader: the first one left
            self.lead.append(strs[0]), self.anchor.append(kind), self.size.append(0)
            hit = self.hits(t, strs[1:])
            if any(hit):
                ms, strs = self.claim(t, ms, strs, [True] + hit)
                made.append(t)
                misses = 0
            else:                                        # attracted nobody: no template after all
                self.lead.pop(), self.anchor.pop(), self.size.pop()
                ms, strs = ms[1:], strs[1:]
                misses += 1
        if len(ms) > 1 and depth < cfg.max_depth:        # free text that merely starts alike: split
            width = cfg.key_chars << (depth + 1)
            sub: dict[str, list[int]] = defaultdict(list)
            for i, x in enumerate(strs):
                sub[x[:width] if kind == "h" else x[-width:]].append(i)
            for key in sorted(sub, key=lambda k: (-len(sub[k]), k)):
                if len(sub[key]) > 1:
                    idx = sub[key]
                    self._run(kind, [ms[i] for i in idx], [strs[i] for i in idx], leaders | set(made), depth + 1)


def _group(sk: list[str], counts: np.ndarray, keys: dict[str, np.ndarray], cfg: TemplateConfig) -> np.ndarray:
    """Template index per distinct skeleton, given its blocking keys (ids)."""
    n, grouper, blocks = len(sk), _Grouper(sk, counts, cfg), []
    for kind in "ht":
        ids = keys[kind]
        order = np.lexsort((-counts, ids))               # by key, most prompts first, then stable
        sid = ids[order]
        starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
        sizes = np.diff(np.r_[starts, n])
        totals = np.add.reduceat(counts[order], starts)
        for s, z, tot in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), totals[sizes > 1].tolist()):
            blocks.append((-tot, kind, int(order[s]), order[s: s + z]))
    blocks.sort(key=lambda b: b[:3])
    for _, kind, _, members in blocks:
        grouper.block(kind, members)
    tmpl = grouper.tmpl
    rest = np.flatnonzero(tmpl < 0)                      # never matched: their own template
    tmpl[rest] = np.arange(len(grouper.lead), len(grouper.lead) + len(rest))
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
    was_enabled = gc.isenabled()
    gc.disable()          # millions of new containers, no cycles: the collector would only rescan them
    try:
        return _mine(prompts, config)
    finally:
        if was_enabled:
            gc.enable()


def _mine(prompts: Iterable[tuple[int, str]], cfg: TemplateConfig) -> Mined:
    hashes, src, excerpts = _read(prompts, cfg)
    if len(hashes) == 0:
        return Mined({}, [])
    sk_of, skeletons, keys = _skeletons(excerpts, src, cfg)
    t_of = _group(skeletons, np.bincount(sk_of), keys, cfg)[sk_of]
    del skeletons, sk_of, keys
    _release()
    order = np.argsort(t_of, kind="stable")              # members of a template stay in hash order
    starts = np.flatnonzero(np.r_[True, np.diff(t_of[order]) != 0])
    sizes = np.diff(np.r_[starts, len(order)])
    multi = [order[a: a + z].tolist() for a, z in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist())]
    singles = order[starts[sizes == 1]]
    del order, t_of
    patterns, families = _describe(multi, excerpts, src, cfg)
    _release()
    singles = singles[np.argsort(src[singles], kind="stable")]   # storage order: one take per chunk
    shown = _shown(excerpts, src[singles])
    del excerpts
    return _assemble(hashes, multi, patterns, families, singles, shown, cfg)


def _describe(multi: list[list[int]], excerpts: pa.ChunkedArray, src: np.ndarray, cfg: TemplateConfig
              ) -> tuple[list[str], _DSU]:
    """Patterns of the templates of two prompts or more, and their families."""
    picks = [_spread(list(range(len(g))), cfg.pattern_members) for g in multi]
    flat = [g[i] for g, pick in zip(multi, picks) for i in pick]
    shown = iter(_mask(pa.array(_take(excerpts, src[flat]), pa.string()), SLOT).to_pylist() if flat else [])
    patterns = [_pattern([next(shown) for _ in pick]) for pick in picks]
    payloads: list[set[int]] = []
    first = size = 0
    for n, g in enumerate(multi):                        # payloads, a bounded batch of texts at a time
        size += len(g)
        if size >= _CHUNK or n + 1 == len(multi):
            batch = pa.array(_take(excerpts, src[[p for b in multi[first: n + 1] for p in b]]), pa.string())
            batch = pc.utf8_lower(pc.replace_substring_regex(batch, _SPACES, " ")).to_pylist()
            at = 0
            for b, pick in zip(multi[first: n + 1], picks[first: n + 1]):
                own, at = batch[at: at + len(b)], at + len(b)
                payloads.append(_payloads(own, pick, cfg) if len(own) > 2 else set())
            first, size = n + 1, 0
    fixed = [" ".join(w for w in pat.lower().split() if w != SLOT) for pat in patterns]
    return patterns, _families(fixed, payloads, cfg)


def _shown(excerpts: pa.ChunkedArray, rows: np.ndarray) -> pa.ChunkedArray:
    """Masked excerpts (volatile parts as <*>) of rows given in storage order: one take per chunk."""
    bounds = np.cumsum([0] + [len(c) for c in excerpts.chunks])
    cut = np.searchsorted(rows, bounds)
    parts = [excerpts.chunk(c).take(rows[cut[c]: cut[c + 1]] - bounds[c])
             for c in range(excerpts.num_chunks) if cut[c + 1] > cut[c]]
    with ThreadPoolExecutor(2) as pool:
        return pa.chunked_array(list(pool.map(lambda part: _mask(part, SLOT), parts)), pa.string())


def _assemble(hashes: np.ndarray, multi: list[list[int]], patterns: list[str], families: _DSU,
              singles: np.ndarray, shown: pa.ChunkedArray, cfg: TemplateConfig) -> Mined:
    """Dense ids (size desc, then pattern, then first hash), families, and every prompt's id."""
    tid_of = np.zeros(len(hashes), dtype=np.int64)
    templates, fam_id = [], {}
    for tid, i in enumerate(sorted(range(len(multi)), key=lambda i: (-len(multi[i]), patterns[i],
                                                                     hashes[multi[i][0]])), 1):
        tid_of[multi[i]] = tid
        fid = fam_id.setdefault(families.find(i), tid)
        examples = _spread(hashes[multi[i]].tolist(), cfg.examples)
        templates.append(Template(tid, fid, patterns[i], len(multi[i]), examples))
    single_h = hashes[singles]
    if single_h.dtype == object or not len(singles):    # hashes beyond 64 bits: a Python sort
        texts = shown.to_pylist()
        by = sorted(range(len(singles)), key=lambda i: (texts[i], single_h[i]))
    else:
        by = pc.sort_indices(pa.table({"p": shown, "h": single_h}),
                             sort_keys=[("p", "ascending"), ("h", "ascending")]).to_numpy().tolist()
        texts = shown.to_pylist()
    del shown
    base = len(templates) + 1
    tid_of[singles[by]] = np.arange(base, base + len(singles))
    hs = single_h.tolist()
    templates.extend(Template(base + k, base + k, texts[i], 1, [hs[i]]) for k, i in enumerate(by))
    return Mined(dict(zip(hashes.tolist(), tid_of.tolist())), templates)
